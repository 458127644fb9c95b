/* interp/run.h: what the dispatch loop (interp/interp.c) and the entry points (runtime/exec.c)
 * share about frames and value conversion (private to the interpreter). */
#ifndef INTERP_RUN_H
#define INTERP_RUN_H

#include "interp/ops.h"

/* A suspended caller: where to continue, its frame and its instance. */
struct interp_frame {
    const uint32_t *ip;
    wasmslot_cell *fp;
    struct wasmslot_instance *inst;
};

/* wasmslot_call re-entries (host function calling back into wasm) before "call stack exhausted":
 * each one costs C stack. */
#define INTERP_MAX_NESTING 200

/* The one-instruction code that ends a run (EXIT); the return address of an entry frame. */
extern const uint32_t *interp__exit_code;

/* Convert n cells to typed values and back. */
void interp__cells_to_values(const wasmslot_cell *c, const enum wasmslot_valtype *types, uint32_t n,
                             struct wasmslot_value *out);
void interp__values_to_cells(const struct wasmslot_value *v, uint32_t n, wasmslot_cell *out);

#endif
