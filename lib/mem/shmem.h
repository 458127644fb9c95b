/* mem/shmem.h: internals of shared memories and of memory.atomic.wait/notify (private to
 * libwasmslot; the embedder's API is the shmem_* section of wasmslot.h). */
#ifndef SHMEM_H
#define SHMEM_H

#include "runtime/runtime.h"

#include <stdbool.h>

/* Waiter queues: a waiter is hashed by its key (the guest offset for a memory shared across
 * processes, the host address otherwise) into one of SHMEM__BUCKETS lists. */
#define SHMEM__BUCKETS 64

/* True when mem was made by wasmslot_shmem_new (its size and lock live in a process-shared header).
 */
bool shmem__owns(const struct wasmslot_memory *mem);

#endif
