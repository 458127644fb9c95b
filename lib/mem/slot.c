/* mem/slot.c: the mappings of one pool slot: laying out an image, the reset fastpath, the wipe. */
#include "config.h"

#include "mem/slot.h"

#include "mem/pool.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Layout of a slot for a module whose memory may grow to M bytes:
 *
 *   [0, M)                extension memfd, MAP_PRIVATE at file offset == memory offset,
 *                         its file sized to the current memory size with ftruncate
 *   [ds, de) within that  the image memfd, MAP_PRIVATE|MAP_FIXED over the extension
 *   [M, RESERVE + GUARD)  PROT_NONE
 *
 * An access in [size, M) is past the extension file's end and raises SIGBUS; beyond M it hits
 * PROT_NONE and raises SIGSEGV; both become out-of-bounds traps (lib/trap.c).
 *
 * Why MAP_PRIVATE for the extension too: nothing ever writes either memfd, so every byte a
 * guest writes lives in a private copy-on-write page. Then a reset is exactly two syscalls:
 * madvise(MADV_DONTNEED) over [0, high-water mark) drops every private page (the image part
 * shows the sealed image again, the extension part the file's zeros), and ftruncate back to
 * the initial size removes the pages grows added, private copies included (truncation unmaps
 * them from every mapping). With MAP_SHARED the guest's writes would land in the file itself
 * and the reset would need fallocate(FALLOC_FL_PUNCH_HOLE) over the initial range. The
 * "shared-floor" column of tests/bench/slot-bench measures that layout: about the same when
 * the guest writes into the image, and slower (57 against 38 us for 16 pages, 825 against 637
 * us for 256, on the 2-core build machine) when it writes into the extension, so the hole
 * punch costs more than the page-cache page a private first write to a hole allocates. The
 * price of the choice: a touched extension page below the initial size keeps a zero page-cache
 * page after the reset (at most the initial memory per slot), which the next instance reuses.
 */

#define SLOT_SPAN (WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)

static int slot_mem_grow(struct wasmslot_memory *mem, size_t new_size)
{
    struct wasmslot_slot *s = mem->owner;

    /* wasmslot_memory_grow checks max_pages first; this protects the mapping if it did not. */
    if (new_size > s->mapped_bytes)
        return -ENOMEM;
    if (pool__take_fault(s->pool, POOL_FAULT_GROW))
        return -EIO;
    if (new_size > s->ext_bytes) {
        if (ftruncate(s->ext_fd, (off_t)new_size) != 0)
            return -errno;
        s->ext_bytes = new_size;
    }
    pool__count_grow(s->pool);
    return 0;
}

/* Result of the recycle run by the last slot_mem_destroy on this thread; RECYCLE_NOT_RUN
 * until then. A thread-local lets slot__drop learn the result without reading the slot, which
 * may already be serving another instance by the time it would look. */
#define RECYCLE_NOT_RUN 1
static __thread int slot_recycle_rc = RECYCLE_NOT_RUN;

/* The last reference is gone (the pool's, or an instance's that outlived wasmslot_pool_release):
 * nobody can touch the memory any more, so the slot is reset and handed back. */
static void slot_mem_destroy(struct wasmslot_memory *mem)
{
    struct wasmslot_slot *s = mem->owner;

    slot_recycle_rc = pool__recycle(s->pool, s);
}

static const struct wasmslot_memory_ops slot_memory_ops = {
    .grow = slot_mem_grow,
    .destroy = slot_mem_destroy,
};

int slot__map(struct wasmslot_slot *s, const struct image_layout *l, uint32_t max_pages)
{
    size_t max_bytes = (size_t)max_pages * WASMSLOT_PAGE_SIZE;
    size_t initial = (size_t)l->min_pages * WASMSLOT_PAGE_SIZE;
    int rc;

    if (pool__take_fault(s->pool, POOL_FAULT_MAP)) {
        rc = -EIO;
        goto fail;
    }
    if (!l->has_memory) {
        /* Nothing to map: the old layout (already reset) stays and is never exposed. */
        s->image_id = l->id;
        s->has_memory = false;
        s->preloaded = false;
        return 0;
    }
    if (s->ext_fd < 0) {
        s->ext_fd = memfd_create("wasmslot-slot", MFD_CLOEXEC);
        if (s->ext_fd < 0)
            goto fail_errno;
    }
    if (ftruncate(s->ext_fd, (off_t)initial) != 0)
        goto fail_errno;
    s->ext_bytes = initial;
    /* MAP_NORESERVE: up to 4 GiB per slot may become accessible, but only pages actually
     * touched cost memory. */
    if (max_bytes > 0 && mmap(s->base, max_bytes, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, s->ext_fd, 0) == MAP_FAILED)
        goto fail_errno;
    if (l->data_end > l->data_start &&
        mmap(s->base + l->data_start, l->data_end - l->data_start, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_FIXED, l->fd, 0) == MAP_FAILED)
        goto fail_errno;
    /* A previous, larger layout: give the rest back to the guard. */
    if (s->mapped_bytes > max_bytes &&
        mmap(s->base + max_bytes, s->mapped_bytes - max_bytes, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
        goto fail_errno;
    s->mapped_bytes = max_bytes;
    s->initial_bytes = initial;
    s->max_pages = max_pages;
    s->image_id = l->id;
    s->has_memory = true;
    s->preloaded = l->imaged;
    return 0;

fail_errno:
    rc = -errno;
fail:
    /* What was replaced is unknown now; a wipe must redo everything. */
    if (s->mapped_bytes < max_bytes)
        s->mapped_bytes = max_bytes;
    s->image_id = 0;
    return rc;
}

int slot__reset(struct wasmslot_slot *s, size_t *discarded)
{
    size_t hwm;

    *discarded = 0;
    if (!s->has_memory)
        return 0;
    if (pool__take_fault(s->pool, POOL_FAULT_RESET))
        return -EIO;
    /* The memory never shrinks, so its final size bounds everything the instance could have
     * written; ext_bytes covers a grow that failed after its ftruncate. */
    hwm = atomic_load_explicit(&s->mem.size, memory_order_relaxed);
    if (s->ext_bytes > hwm)
        hwm = s->ext_bytes;
    if (hwm > 0 && madvise(s->base, hwm, MADV_DONTNEED) != 0)
        return -errno;
    /* Without a grow the extension is still at its initial size: nothing past it was ever
     * accessible, so the second syscall is only needed after a grow. */
    if (s->ext_bytes != s->initial_bytes) {
        if (ftruncate(s->ext_fd, (off_t)s->initial_bytes) != 0)
            return -errno;
        s->ext_bytes = s->initial_bytes;
    }
    *discarded = hwm;
    return 0;
}

int slot__wipe(struct wasmslot_slot *s)
{
    if (pool__take_fault(s->pool, POOL_FAULT_WIPE))
        return -EIO;
    /* Mapping over the reservation (never unmapping it) keeps the slab whole: no other thread's
     * mmap can land inside it in between. */
    if (mmap(s->base, SLOT_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
             -1, 0) == MAP_FAILED)
        return -errno;
    /* A new extension file: whatever size a failed ftruncate left is forgotten with it. */
    if (s->ext_fd >= 0)
        close(s->ext_fd);
    s->ext_fd = -1;
    s->mapped_bytes = 0;
    s->ext_bytes = 0;
    s->image_id = 0;
    s->has_memory = false;
    s->preloaded = false;
    return 0;
}

void slot__start(struct wasmslot_slot *s)
{
    if (s->has_memory)
        wasmslot_memory__init(&s->mem, s->base, s->initial_bytes, s->max_pages, false,
                              &slot_memory_ops, s);
}

int slot__drop(struct wasmslot_slot *s)
{
    int rc;

    if (!s->has_memory)
        return pool__recycle(s->pool, s);
    slot_recycle_rc = RECYCLE_NOT_RUN;
    wasmslot_memory_unref(&s->mem);
    rc = slot_recycle_rc;
    slot_recycle_rc = RECYCLE_NOT_RUN;
    return rc == RECYCLE_NOT_RUN ? 0 : rc;
}

void slot__close(struct wasmslot_slot *s)
{
    if (s->ext_fd >= 0)
        close(s->ext_fd);
    s->ext_fd = -1;
}

struct wasmslot_memory *wasmslot_slot_memory(const struct wasmslot_slot *s)
{
    return s->has_memory ? (struct wasmslot_memory *)&s->mem : NULL;
}

bool wasmslot_slot_preloaded(const struct wasmslot_slot *s)
{
    return s->has_memory && s->preloaded;
}

bool wasmslot_slot_warm(const struct wasmslot_slot *s)
{
    return s->warm;
}
