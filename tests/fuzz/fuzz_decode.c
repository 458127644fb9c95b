/* fuzz_decode.c: the libFuzzer entry point that feeds arbitrary bytes to the decoder, the
 * module validator and (built with -DFUZZ_COMPILE) the body compiler. */
#include "config.h"

#include "format/module.h"
#ifdef FUZZ_COMPILE
#include "interp/interp.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every input must end in a clean success or a clean error: the sanitizers and the leak
 * checker judge the rest. The error must always carry a message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wasmslot_module m;
    struct wasmslot_error err;
    int rc;

    memset(&m, 0, sizeof(m));
    memset(&err, 0, sizeof(err));
    rc = wasmslot_decode(&m, data, size, &err);
    if (rc == 0)
        rc = wasmslot_validate_module(&m, &err);
    if (rc == 0) {
        /* A valid module must be describable: every import and export, and its memory. */
        struct wasmslot_extern_desc d;
        struct wasmslot_limits lim;

        for (uint32_t i = 0; i < wasmslot_module_import_count(&m); i++)
            if (wasmslot_module_import(&m, i, &d) != 0 || d.name == NULL)
                __builtin_trap();
        for (uint32_t i = 0; i < wasmslot_module_export_count(&m); i++)
            if (wasmslot_module_export(&m, i, &d) != 0 || d.name == NULL)
                __builtin_trap();
        (void)wasmslot_module_memory(&m, &lim);
    }
#ifdef FUZZ_COMPILE
    if (rc == 0)
        rc = interp_compile_module(&m, &err);
#endif
    if (rc < 0 && (err.code != rc || err.message[0] == '\0'))
        __builtin_trap();
#ifdef FUZZ_COMPILE
    interp_free_module(&m); /* as wasmslot_module_free does */
#endif
    wasmslot_module_clear(&m);
    return 0;
}
