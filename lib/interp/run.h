/* interp/run.h: what the dispatch loop (interp/interp.c) and the interpreter's entry
 * (interp/tier.c) share about frames (private to the interpreter). */
#ifndef INTERP_RUN_H
#define INTERP_RUN_H

#include "interp/ops.h"

/* A suspended caller: where to continue, its frame and its instance. One lives in each record
 * of the exec's frame array, which the runtime sizes without knowing this layout. */
struct interp_frame {
    const uint32_t *ip;
    wasmslot_cell *fp;
    struct wasmslot_instance *inst;
};
_Static_assert(sizeof(struct interp_frame) == WASMSLOT_FRAME_BYTES,
               "runtime/runtime.h sizes ex->frames for struct interp_frame");

/* The one-instruction code that ends a run (EXIT); the return address of an entry frame. */
extern const uint32_t *interp__exit_code;

/* The names native/rt.c still uses for what moved to runtime/runtime.h; remove these once it
 * uses WASMSLOT_MAX_NESTING and wasmslot_cells__to_values/from_values (and drops this
 * include, an exception tests/layout/check-includes.py lists until then). */
#define INTERP_MAX_NESTING      WASMSLOT_MAX_NESTING
#define interp__cells_to_values wasmslot_cells__to_values
#define interp__values_to_cells wasmslot_cells__from_values

#endif
