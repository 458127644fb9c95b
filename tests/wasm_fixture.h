/* wasm_fixture.h: loads the Check tests' WebAssembly fixtures (tests/wat/NAME.wat, built into
 * WAT_DIR/NAME.wasm by make) as compiled modules. */
#ifndef WASMSLOT_FIXTURE_H
#define WASMSLOT_FIXTURE_H

#include "wasmslot.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef WAT_DIR
#error "WAT_DIR must name the directory of the built .wasm fixtures"
#endif

/* The engine fixture_module compiles for. A test program that runs its suite on both tiers
 * sets it before each run (Check forks each test after that). */
static enum wasmslot_engine fixture_engine __attribute__((unused)) = WASMSLOT_ENGINE_INTERP;

/* Decode, validate and compile WAT_DIR/name.wasm with fixture_engine; the calling test fails if
 * that does not work, or if the module falls back to another engine. The caller frees the
 * module with wasmslot_module_free. */
static inline struct wasmslot_module *fixture_module(const char *name)
{
    char path[512];
    struct wasmslot_error err = {0, ""};
    struct wasmslot_module *m;
    uint8_t *bytes;
    long len;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.wasm", WAT_DIR, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    bytes = malloc(len > 0 ? (size_t)len : 1);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    m = wasmslot_module_new_engine(bytes, (size_t)len, fixture_engine, &err);
    free(bytes);
    ck_assert_msg(m != NULL, "%s: %s", path, err.message);
    ck_assert_msg(wasmslot_module_engine(m) == fixture_engine, "%s runs on %s: %s", path,
                  wasmslot_engine_name(wasmslot_module_engine(m)),
                  wasmslot_module_fallback(m) ? wasmslot_module_fallback(m) : "?");
    return m;
}

#endif
