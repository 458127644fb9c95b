/* native/native.h: the native tier, WebAssembly compiled to machine code with LLVM, as the
 * runtime sees it (private to libwasmslot; built only with LLVM). */
#ifndef NATIVE_H
#define NATIVE_H

#include "runtime/tier.h"

#include <stdbool.h>
#include <stdint.h>

/* The tier (runtime/tier.h). Its compile validates and compiles the bodies for the
 * interpreter as well (which validates them, runs calls made by interpreted callers, and is the
 * fallback), then translates them to LLVM IR, optimises them (O2), emits an object for the host
 * CPU and links it into read+execute pages. A module with an instruction the translator does
 * not know stays on the interpreter, with the reason in m->tier_fallback. */
extern const struct wasmslot_tier native__tier;

/* Whether the native tier can run here (LLVM knows the host CPU). */
bool native__available(void);

/* Whether pc lies in generated code: a fault there with a trap__run active is a guest's
 * out-of-bounds access. Async-signal-safe. */
bool native__pc_in_code(uintptr_t pc);

#endif
