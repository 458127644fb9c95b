/* interp_run.h: what the dispatch loop (interp.c) and the entry points (exec.c) share about
 * frames and value conversion (private to the interpreter). */
#ifndef INTERP_RUN_H
#define INTERP_RUN_H

#include "interp_ops.h"

/* A suspended caller: where to continue, its frame and its instance. */
struct interp_frame {
    const uint32_t *ip;
    wasm_cell *fp;
    struct wasm_instance *inst;
};

/* wasm_call re-entries (host function calling back into wasm) before "call stack exhausted":
 * each one costs C stack. */
#define INTERP_MAX_NESTING 200

/* The one-instruction code that ends a run (EXIT); the return address of an entry frame. */
extern const uint32_t *interp__exit_code;

/* Convert n cells to typed values and back. */
void interp__cells_to_values(const wasm_cell *c, const enum wasm_valtype *types, uint32_t n,
                             struct wasm_value *out);
void interp__values_to_cells(const struct wasm_value *v, uint32_t n, wasm_cell *out);

#endif
