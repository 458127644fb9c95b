/* wasm.h (test copy): the declarations of the standard WebAssembly C API (WebAssembly/wasm-c-api)
 * whose names collided with libwasmslot's before its wasmslot_ prefix, written from the
 * standard's signatures; only for tests/compat/wasm_h_compat.c to include beside wasmslot.h. */
#ifndef WASM_H
#define WASM_H

#include <stddef.h>
#include <stdint.h>

typedef char byte_t;
typedef struct wasm_byte_vec_t {
    size_t size;
    byte_t *data;
} wasm_byte_vec_t;

typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasm_store_t wasm_store_t;
typedef struct wasm_module_t wasm_module_t;
typedef struct wasm_instance_t wasm_instance_t;
typedef struct wasm_memory_t wasm_memory_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;
typedef struct wasm_extern_t wasm_extern_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasm_extern_vec_t {
    size_t size;
    wasm_extern_t **data;
} wasm_extern_vec_t;
typedef struct wasm_limits_t {
    uint32_t min;
    uint32_t max;
} wasm_limits_t;

typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
    WASM_I32,
    WASM_I64,
    WASM_F32,
    WASM_F64,
    WASM_ANYREF = 128,
    WASM_FUNCREF,
};

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum {
    WASM_CONST,
    WASM_VAR,
};

wasm_engine_t *wasm_engine_new(void);
wasm_store_t *wasm_store_new(wasm_engine_t *engine);
wasm_module_t *wasm_module_new(wasm_store_t *store, const wasm_byte_vec_t *binary);
void wasm_module_delete(wasm_module_t *module);
wasm_instance_t *wasm_instance_new(wasm_store_t *store, const wasm_module_t *module,
                                   const wasm_extern_vec_t *imports, wasm_trap_t **trap);
void wasm_instance_delete(wasm_instance_t *instance);
wasm_memorytype_t *wasm_memorytype_new(const wasm_limits_t *limits);
wasm_memory_t *wasm_memory_new(wasm_store_t *store, const wasm_memorytype_t *type);
byte_t *wasm_memory_data(wasm_memory_t *memory);
size_t wasm_memory_data_size(const wasm_memory_t *memory);

#endif
