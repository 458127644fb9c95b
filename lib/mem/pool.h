/* mem/pool.h: the test hooks of slot pools (private). */
#ifndef POOL_H
#define POOL_H

#include "mem/slot.h"
#include "wasmslot.h"

/* Failures tests can inject (mem/slot.h): the next operation of that kind on the pool fails
 * with -EIO without doing its work. */
enum pool_fault {
    POOL_FAULT_RESET = SLOT_FAULT_RESET,
    POOL_FAULT_MAP = SLOT_FAULT_MAP,
    POOL_FAULT_GROW = SLOT_FAULT_GROW,
    POOL_FAULT_WIPE = SLOT_FAULT_WIPE,
};

/* Arm the faults in the mask (test hook). */
void pool__inject_fault(struct wasmslot_pool *p, unsigned faults);

#endif
