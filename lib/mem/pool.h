/* mem/pool.h: internals of slot pools shared with mem/slot.c and the tests (private). */
#ifndef POOL_H
#define POOL_H

#include "wasmslot.h"

#include <stdbool.h>

/* Failures tests can inject: the next operation of that kind on the pool fails with -EIO
 * without doing its work, which is the worst case for isolation. */
enum pool_fault {
    POOL_FAULT_RESET = 1, /* slot__reset: nothing is discarded */
    POOL_FAULT_MAP = 2,   /* slot__map */
    POOL_FAULT_GROW = 4,  /* the slot memory's grow */
    POOL_FAULT_WIPE = 8,  /* slot__wipe */
};

/* Arm the faults in the mask (test hook). */
void pool__inject_fault(struct wasmslot_pool *p, unsigned faults);

/* True (and disarms it) when fault is armed. */
bool pool__take_fault(struct wasmslot_pool *p, unsigned fault);

/* A slot's memory grew (statistics). */
void pool__count_grow(struct wasmslot_pool *p);

struct wasmslot_slot;

/* Reset a slot nobody uses any more and put it back on the free lists (as unknown when the
 * reset failed). Returns 0 or the reset's -errno. Called from mem/slot.c once the slot's memory
 * has no reference left. */
int pool__recycle(struct wasmslot_pool *p, struct wasmslot_slot *s);

#endif
