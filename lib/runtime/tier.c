/* runtime/tier.c: which execution tiers this build has. */
#include "config.h"

#include "runtime/tier.h"

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
        return native__available() ? &native__tier : NULL;
#else
        return NULL;
#endif
    }
    return NULL;
}
