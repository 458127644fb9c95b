/* mem/slot.h: one slot of a pool, the virtual reservation an instance's memory lives in (private).
 */
#ifndef SLOT_H
#define SLOT_H

#include "mem/image.h"
#include "runtime/runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wasmslot_pool;
struct wasmslot_slot;

/* Faults tests can arm on a pool: the next slot operation of that kind fails with -EIO without
 * doing its work, which is the worst case for isolation. */
enum slot_fault {
    SLOT_FAULT_RESET = 1, /* slot__reset: nothing is discarded */
    SLOT_FAULT_MAP = 2,   /* slot__map */
    SLOT_FAULT_GROW = 4,  /* the slot memory's grow */
    SLOT_FAULT_WIPE = 8,  /* slot__wipe */
};

/* What a slot asks of the pool that owns it (mem/pool.c provides one). The slot calls up only
 * through these, so mem/slot.c depends on nothing of mem/pool.c and the two form no circle. */
struct slot_owner {
    /* True (and disarms it) when fault is armed on the slot's pool. */
    bool (*take_fault)(struct wasmslot_slot *s, enum slot_fault fault);
    /* The slot's memory grew (statistics). */
    void (*count_grow)(struct wasmslot_slot *s);
    /* Reset a slot nobody uses any more and put it back on the free lists (as unknown when the
     * reset failed). Returns 0 or the reset's -errno. Called once the slot's memory has no
     * reference left. */
    int (*recycle)(struct wasmslot_slot *s);
};

enum slot_state {
    SLOT_NEW,     /* never mapped: the whole reservation is PROT_NONE */
    SLOT_FREE,    /* pristine, holding image_id's layout and image */
    SLOT_BUSY,    /* handed out by wasmslot_pool_acquire */
    SLOT_UNKNOWN, /* a syscall failed on it: wiped whole before it is used again */
};

/* The layout is shared with mem/pool.c, which threads free slots onto its lists; everything that
 * touches the mappings is in mem/slot.c. */
struct wasmslot_slot {
    /* Initialised at every acquire with the pool's reference; an instance adds its own. When
     * the last one goes, the slot is reset and returns to the pool's free lists. */
    struct wasmslot_memory mem;
    const struct slot_owner *owner;
    struct wasmslot_pool *pool; /* the owner's, for its callbacks; the slot never reads it */
    uint8_t *base; /* WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD bytes inside the pool's slab */
    int ext_fd;    /* heap-extension memfd, -1 until the slot is first mapped */
    enum slot_state state;      /* changed by the pool under its lock */
    uint64_t image_id;          /* image whose layout is mapped (0: none) */
    bool has_memory;            /* the image's module has a memory this slot backs */
    bool preloaded;             /* that memory holds the module's data */
    bool warm;                  /* the last acquire found the image mapped already */
    uint32_t max_pages;         /* the memory's maximum */
    size_t mapped_bytes;        /* [0, mapped_bytes) is mapped read-write; the rest is PROT_NONE */
    size_t initial_bytes;       /* memory size an instance starts with */
    size_t ext_bytes;           /* current size of the extension memfd */
    /* A read-only view of the image's bytes [data_start, data_end) of memory, which a reset
     * copies written pages back from; the slot's own mapping, so it outlives the image. */
    const uint8_t *view;
    size_t data_start, data_end;
    size_t kept_pages;          /* private pages the last reset left in place (resident, pristine) */
    /* The auto and keep modes' shedding of unchanged pages (mem/slot.c): resets to wait before the
     * next, the wait after it, and what the last one dropped until the next reset judges it. */
    uint32_t trim_wait, trim_backoff;
    size_t trimmed;
    struct wasmslot_slot *next; /* pool free lists */
};

/* What one reset did, for the pool's statistics. */
struct slot_reset_stats {
    size_t discarded_bytes; /* written bytes dropped (the range handed to madvise without pagemap) */
    size_t restored_pages;  /* pages the instance changed, restored in place */
    size_t dropped_pages;   /* written pages dropped by madvise or truncation */
    size_t faults_avoided;  /* pages it changed that were resident already: written without a fault */
};

/* Lay the slot out for image l with a maximum of max_pages: the extension memfd mapped over
 * the accessible range and sized to the initial memory, the image mapped over it, PROT_NONE
 * beyond. The slot must be NEW, FREE (reset) or freshly wiped. Returns 0 or -errno; on
 * failure the slot's mappings are in an unknown state. */
int slot__map(struct wasmslot_slot *s, const struct image_layout *l, uint32_t max_pages);

/* The fastpath: make a released slot pristine again. The pages the instance wrote are found in
 * the page tables (mem/pagemap.h) and restored in place, at most keep_max bytes of them and
 * none in WASMSLOT_RESET_MADVISE mode, or after a grow in WASMSLOT_RESET_AUTO; the rest are
 * dropped with one madvise, and an ftruncate undoes a grow. Without a pagemap, one madvise over
 * everything the instance could have written. Fills *st. Returns 0 or -errno (the slot is then
 * in an unknown state). */
int slot__reset(struct wasmslot_slot *s, enum wasmslot_reset_mode mode, size_t keep_max,
                struct slot_reset_stats *st);

/* Map fresh PROT_NONE over the whole reservation and replace the extension memfd, so nothing
 * of the slot's past survives. Returns 0 or -errno (the slot stays unknown). */
int slot__wipe(struct wasmslot_slot *s);

/* Make the slot's memory ready for a new instance (size = initial, one reference). */
void slot__start(struct wasmslot_slot *s);

/* Drop the pool's reference to the slot's memory. When it was the last one the slot is
 * recycled (the owner's recycle) right here and its result returned; otherwise returns 0 and the
 * slot is recycled when the last holder lets go. */
int slot__drop(struct wasmslot_slot *s);

/* Close the slot's file descriptors and unmap its image view (the pool unmaps the slab). */
void slot__close(struct wasmslot_slot *s);

#endif
