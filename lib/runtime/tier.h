/* runtime/tier.h: the seam between the runtime and an execution tier: how a decoded, validated
 * module gets compiled, freed and entered (private to libwasmslot). */
#ifndef TIER_H
#define TIER_H

#include "format/module.h"
#include "runtime/runtime.h"

/* An execution tier. The runtime owns the pipeline (decode, validate, compile with the chosen
 * tier, in runtime/instance.c) and calls the tier only through these three entries. Which
 * tiers a build has is runtime/tiers.h's business, so this header names none of them. */
struct wasmslot_tier {
    const char *name; /* "interp", "native": what stats and logs show */
    /* Validate every function body of m and compile it. Returns 0 (m->tier is then set to the
     * tier that runs the module, which may be another tier the compiler fell back to, with the
     * reason in m->tier_fallback), or a negative code with a message in err. opts is never
     * NULL; a tier with a code cache honours opts->cache_dir and sets m->cache_state. */
    int (*compile)(struct wasmslot_module *m, const struct wasmslot_compile_options *opts,
                   struct wasmslot_error *err);
    /* Release what compile stored in m (safe on a partly compiled module). */
    void (*free)(struct wasmslot_module *m);
    /* Run wasm function f (its module compiled by this tier) on ex: the arguments are in
     * cells[0, nparams), the results are written to cells[0, nresults). cells is ex->sp, and
     * holds at least max(nparams, nresults) cells. Called by wasmslot_call after its checks;
     * returns 0 or a negative WASMSLOT_TRAP_* (or -WASMSLOT_EEXIT, ...) code. */
    int (*call)(struct wasmslot_exec *ex, struct wasmslot_func *f, wasmslot_cell *cells);
};

#endif
