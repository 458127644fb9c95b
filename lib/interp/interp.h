/* interp/interp.h: the compiler of function bodies to internal code and the interpreter that runs
 * it (private to libwasmslot). */
#ifndef INTERP_H
#define INTERP_H

#include "format/module.h"
#include "runtime/tier.h"

/* The interpreter as a tier (runtime/tier.h): every build has it. runtime/tiers.c hands it out
 * for WASMSLOT_ENGINE_INTERP; the native tier falls back to it. */
extern const struct wasmslot_tier interp__tier;

/* Validate every function body of m against the spec's typing rules and compile it to the
 * interpreter's internal code, storing the result in m->funcs[i].compiled. Returns 0, or
 * -WASMSLOT_EINVALID / -WASMSLOT_EMALFORMED (a body that does not decode, e.g. "illegal opcode",
 * "zero byte expected") / -ENOMEM with a message naming the function in err. */
int interp_compile_module(struct wasmslot_module *m, struct wasmslot_error *err);

/* Free what interp_compile_module stored in m (safe on a partly compiled module). */
void interp_free_module(struct wasmslot_module *m);

/* Run wasm function f, compiled by the interpreter, with its arguments in base[0, nparams) (the
 * exec's free stack), leaving its results there: the tier's call entry (runtime/tier.h). Other
 * tiers use it to call a function the interpreter runs. */
int interp__call(struct wasmslot_exec *ex, struct wasmslot_func *f, wasmslot_cell *base);

#endif
