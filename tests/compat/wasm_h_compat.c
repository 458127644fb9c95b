/* wasm_h_compat.c: wasmslot.h and the standard wasm.h in one translation unit. Before the
 * wasmslot_ prefix this did not compile (WASM_I32 redeclared; wasm_module_new,
 * wasm_instance_new and wasm_memory_new with conflicting types), so building it is the test;
 * running it checks that both sets of names mean what their headers say. */
#include "wasm.h"
#include "wasmslot.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    /* The standard's enumerators and wasmslot's are distinct names with their own values. */
    if (WASM_I32 != 0 || WASMSLOT_I32 != 0x7f || WASM_FUNCREF != 129)
        return 1;
    /* Pointers to functions of both APIs, so that the compiler checks their declarations. */
    wasm_module_t *(*std_module_new)(wasm_store_t *, const wasm_byte_vec_t *) = wasm_module_new;
    struct wasmslot_module *(*own_module_new)(const void *, size_t, struct wasmslot_error *) =
        wasmslot_module_new;
    (void)std_module_new;
    (void)own_module_new;
    if (strcmp(wasmslot_valtype_name(WASMSLOT_I32), "i32") != 0)
        return 1;
    puts("wasmslot.h and wasm.h: compiled together");
    return 0;
}
