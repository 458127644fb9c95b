/* runtime/tiers.c: which execution tiers this build has: the one file of the runtime that names
 * them (tests/layout/check-includes.py allows its includes of interp/ and native/). */
#include "config.h"

#include "runtime/tiers.h"
#include "runtime/trap.h"

#include "interp/interp.h"
#ifdef HAVE_LLVM
#include "native/native.h"
#endif

const struct wasmslot_tier *tier__for(enum wasmslot_engine engine)
{
    switch (engine) {
    case WASMSLOT_ENGINE_INTERP:
        return &interp__tier;
    case WASMSLOT_ENGINE_NATIVE:
#ifdef HAVE_LLVM
        if (!native__available())
            return NULL;
        /* Before the tier compiles anything: a fault in its code is a guest's. */
        trap__set_code_test(native__pc_in_code);
        return &native__tier;
#else
        return NULL;
#endif
    }
    return NULL;
}
