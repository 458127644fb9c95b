/* runtime/tiers.h: which execution tiers this build has (private to libwasmslot). runtime/tiers.c
 * is the one file of the runtime that names the tiers (interp/, native/):
 * tests/layout/check-includes.py allows those two includes and no other upward one. */
#ifndef TIERS_H
#define TIERS_H

#include "runtime/tier.h"

/* The tier for an engine choice, or NULL when this build lacks it (native without LLVM, or
 * LLVM does not know the host CPU). */
const struct wasmslot_tier *tier__for(enum wasmslot_engine engine);

#endif
