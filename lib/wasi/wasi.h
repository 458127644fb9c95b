/* wasi/wasi.h: the table of WASI preview1 host functions (wasi/wasi.c), private to libwasmslot;
 * embedders use the WASI section of wasmslot.h. The ABI and the run's state are in
 * wasi/state.h. */
#ifndef WASI_H
#define WASI_H

#include "wasi/state.h"
#include "wasmslot.h"

#include <stddef.h>

/* One preview1 function: its name, host implementation and signature, written as the
 * parameter types then ':' then the result types, 'i' for i32 and 'I' for i64 ("iIii:i"). */
struct wasi__fn {
    const char *name;
    wasmslot_host_fn fn;
    const char *sig;
};

/* The function of that name (not NUL-terminated, len bytes), or NULL when preview1 has no
 * such function here. */
const struct wasi__fn *wasi__lookup(const char *name, size_t len);

/* The host function linked to a preview1 name this library does not implement: returns
 * WASI_ENOSYS as its i32 result (and zero for any other result). */
int wasi__nosys(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                struct wasmslot_value *results);

#endif
