/* fuzz_decode.c: the libFuzzer entry point that feeds arbitrary bytes to the decoder, the
 * module validator and (built with -DFUZZ_COMPILE) the body compiler. */
#include "config.h"

#include "wasm_module.h"
#ifdef FUZZ_COMPILE
#include "interp.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every input must end in a clean success or a clean error: the sanitizers and the leak
 * checker judge the rest. The error must always carry a message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wasm_module m;
    struct wasm_error err;
    int rc;

    memset(&m, 0, sizeof(m));
    memset(&err, 0, sizeof(err));
    rc = wasm_decode(&m, data, size, &err);
    if (rc == 0)
        rc = wasm_validate_module(&m, &err);
#ifdef FUZZ_COMPILE
    if (rc == 0)
        rc = interp_compile_module(&m, &err);
#endif
    if (rc < 0 && (err.code != rc || err.message[0] == '\0'))
        __builtin_trap();
    wasm_module_clear(&m);
    return 0;
}
