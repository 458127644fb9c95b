/* mem/slot.c: the mappings of one pool slot: laying out an image, the reset fastpath, the wipe. */
#include "config.h"

#include "mem/slot.h"

#include "mem/pagemap.h"

#include <errno.h>
#include <string.h>
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
 *
 * Dropping has a price of its own: the madvise (a TLB shootdown on every CPU the process ran
 * on) and, in the next instance, one page fault per page it touches again (a copy-on-write
 * fault, with another shootdown when the page was mapped read-only first). On the 2-core VM this
 * was measured on, madvise of one page cost ~45 us and a fault ~20 us, against ~0.1 us to copy
 * 4 KiB. So a reset first asks the page tables which pages are private copies (mem/pagemap.c:
 * one ioctl, ~3-10 us) and restores those in place: copied back from a read-only view of the
 * image, or zeroed outside it. They stay the slot's private pages, resident and mapped
 * writable, so the next instance touches them without any fault; the pages it only reads are
 * still the files' pages. A restored page is found private again at every later reset, so the
 * pages kept this way are capped (keep_max); past the cap, the rest is dropped as before. A
 * swapped-out written page is dropped, never left in place: it is as much the last instance's
 * as a present one.
 */

#define SLOT_SPAN (WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)

static int slot_mem_grow(struct wasmslot_memory *mem, size_t new_size)
{
    struct wasmslot_slot *s = mem->owner;

    /* wasmslot_memory_grow checks max_pages first; this protects the mapping if it did not. */
    if (new_size > s->mapped_bytes)
        return -ENOMEM;
    if (s->owner->take_fault(s, SLOT_FAULT_GROW))
        return -EIO;
    if (new_size > s->ext_bytes) {
        if (ftruncate(s->ext_fd, (off_t)new_size) != 0)
            return -errno;
        s->ext_bytes = new_size;
    }
    s->owner->count_grow(s);
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

    slot_recycle_rc = s->owner->recycle(s);
}

static const struct wasmslot_memory_ops slot_memory_ops = {
    .grow = slot_mem_grow,
    .destroy = slot_mem_destroy,
};

static void slot_unview(struct wasmslot_slot *s)
{
    if (s->view != NULL)
        munmap((void *)s->view, s->data_end - s->data_start);
    s->view = NULL;
    s->data_start = s->data_end = 0;
    s->kept_pages = 0;
    s->trimmed = 0;
    s->trim_wait = 0;
}

/* Map the view of l's bytes a reset copies from (none when the image stores nothing). */
static int slot_view(struct wasmslot_slot *s, const struct image_layout *l)
{
    void *v;

    slot_unview(s);
    if (l->fd < 0 || l->data_end <= l->data_start)
        return 0;
    v = mmap(NULL, l->data_end - l->data_start, PROT_READ, MAP_SHARED, l->fd, 0);
    if (v == MAP_FAILED)
        return -1;
    s->view = v;
    s->data_start = l->data_start;
    s->data_end = l->data_end;
    return 0;
}

int slot__map(struct wasmslot_slot *s, const struct image_layout *l, uint32_t max_pages)
{
    size_t max_bytes = (size_t)max_pages * WASMSLOT_PAGE_SIZE;
    size_t initial = (size_t)l->min_pages * WASMSLOT_PAGE_SIZE;
    int rc;

    if (s->owner->take_fault(s, SLOT_FAULT_MAP)) {
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
    if (slot_view(s, l) < 0)
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

/* The pristine bytes of the OS page at memory offset off: the image's, or NULL for zeros. */
static const uint8_t *slot_source(const struct wasmslot_slot *s, size_t off)
{
    if (s->view != NULL && off >= s->data_start && off < s->data_end)
        return s->view + (off - s->data_start);
    return NULL;
}

/* Zeros to compare a page with: never written, so its pages stay the kernel's one zero page
 * and cost a cache line a read, not memory. As large as the largest base page of x86-64,
 * arm64 and ppc64. */
static uint8_t slot_zeros[65536];

/* Whether the page at p holds src's bytes. A guest's stack grows down from the end of its
 * region, so a stack page it wrote differs in its last bytes, and a data or heap page mostly
 * in its first: both ends are looked at before the whole page, which then only pages that are
 * unchanged (or changed in the middle) read in full. The stack page of a WASI hello was read
 * twice over (8 KiB) before its first difference was found. */
static bool page_same(const uint8_t *p, const uint8_t *src, size_t pg)
{
    const size_t edge = 64;

    if (memcmp(p + pg - edge, src + pg - edge, edge) != 0 || memcmp(p, src, edge) != 0)
        return false;
    return memcmp(p, src, pg) == 0;
}

/* Make the written OS page at offset off pristine in place: a resident private copy, so no
 * fault and no system call. Returns whether it had to be written (the instance changed it). */
static bool slot_restore_page(struct wasmslot_slot *s, size_t off, size_t pg)
{
    const uint8_t *src = slot_source(s, off);
    uint8_t *dst = s->base + off;

    if (src == NULL) {
        /* Past slot_zeros (no such page size yet) the page is zeroed without a look. */
        if (pg <= sizeof(slot_zeros) && page_same(dst, slot_zeros, pg))
            return false;
        memset(dst, 0, pg);
        return true;
    }
    if (page_same(dst, src, pg))
        return false;
    memcpy(dst, src, pg);
    return true;
}

/* Runs of written pages fetched from the page tables at a time. */
#define SLOT_RUNS 64

/*
 * The auto and keep modes shed kept pages that look like leftovers: a slot that served a module
 * which wrote 256 pages, then one that writes 1, would otherwise compare 255 unchanged pages at
 * every reset (each ~0.2-0.4 us) forever; in keep mode that made such a reset 5-7x dearer than
 * madvise's. The scan cannot say who wrote a page, only whether its bytes
 * changed, and a page an instance writes with the bytes it had (zeros on a stack, say) looks
 * unchanged too. So a trim drops the unchanged span when at least AUTO_TRIM_MIN pages are
 * unchanged and more than twice as many as changed, and the next reset judges it: when about
 * as many pages came back as new copies as were dropped, the instances still write them, and
 * the wait before the next trim doubles (up to AUTO_TRIM_MAX_WAIT resets), so a guest that
 * rewrites pristine bytes costs a fault per page only once in that many resets.
 */
#define AUTO_TRIM_MIN      32
#define AUTO_TRIM_MIN_WAIT 8
#define AUTO_TRIM_MAX_WAIT 4096

int slot__reset(struct wasmslot_slot *s, enum wasmslot_reset_mode mode, size_t keep_max,
                struct slot_reset_stats *st)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), hwm, keep, total = 0, kept = 0, changed = 0,
           unchanged = 0, dropped = 0, fresh = 0, changed_before = 0, changed_at_last = 0;
    enum pagemap_method pm = pagemap__method();
    struct pagemap_run runs[SLOT_RUNS];
    uint8_t *at, *end, *lim, *cut = NULL, *cut_end = NULL, *stale = NULL, *stale_end = NULL;
    bool grew;

    memset(st, 0, sizeof(*st));
    if (!s->has_memory)
        return 0;
    if (s->owner->take_fault(s, SLOT_FAULT_RESET))
        return -EIO;
    /* The memory never shrinks, so its final size bounds everything the instance could have
     * written; ext_bytes covers a grow that failed after its ftruncate. */
    hwm = atomic_load_explicit(&s->mem.size, memory_order_relaxed);
    if (s->ext_bytes > hwm)
        hwm = s->ext_bytes;
    grew = s->ext_bytes != s->initial_bytes;
    if (pm == PAGEMAP_M_NONE)
        goto drop_all;

    /* Pages past the initial size go with the ftruncate below (truncation removes private
     * copies too), so only [0, initial) is restored or madvised; the rest is scanned for the
     * count alone. */
    keep = mode == WASMSLOT_RESET_MADVISE || (mode == WASMSLOT_RESET_AUTO && grew) ? 0
                                                                                  : keep_max / pg;
    at = s->base;
    end = s->base + hwm;
    lim = s->base + (s->initial_bytes < hwm ? s->initial_bytes : hwm);
    while (at < end) {
        uint8_t *more;
        int n = pagemap__private_runs(pm, at, end, runs, SLOT_RUNS, &more);

        if (n < 0)
            goto drop_all; /* what was restored so far is pristine; the rest is unknown */
        for (int i = 0; i < n; i++) {
            uint8_t *rs = runs[i].start, *re = runs[i].end;
            size_t pages = (size_t)(re - rs) / pg;

            total += pages;
            if (rs >= lim) {
                dropped += pages;
                continue;
            }
            if (re > lim) {
                dropped += (size_t)(re - lim) / pg;
                re = lim;
                pages = (size_t)(re - rs) / pg;
            }
            /* Restore in address order while under the cap; from the first run that is not
             * (or is swapped out: a copy would only read it back in), everything is dropped
             * with one madvise. */
            if (cut != NULL || runs[i].swapped || kept + pages > keep) {
                if (cut == NULL)
                    cut = rs;
                cut_end = re;
                dropped += pages;
                continue;
            }
            for (uint8_t *p = rs; p < re; p += pg) {
                if (slot_restore_page(s, (size_t)(p - s->base), pg)) {
                    changed++;
                    continue;
                }
                if (stale == NULL) {
                    stale = p;
                    changed_before = changed;
                }
                stale_end = p + pg;
                changed_at_last = changed;
                unchanged++;
            }
            kept += pages;
        }
        at = more;
    }
    fresh = total > s->kept_pages ? total - s->kept_pages : 0;
    if (s->trimmed > 0) {
        /* Judge the last trim: did the dropped pages come back as new copies? */
        if (fresh * 2 >= s->trimmed)
            s->trim_backoff = s->trim_backoff * 2 > AUTO_TRIM_MAX_WAIT ? AUTO_TRIM_MAX_WAIT
                                                                      : s->trim_backoff * 2;
        else
            s->trim_backoff = AUTO_TRIM_MIN_WAIT;
        s->trimmed = 0;
    }
    if (s->trim_wait > 0) {
        s->trim_wait--;
    } else if (mode != WASMSLOT_RESET_MADVISE && unchanged >= AUTO_TRIM_MIN &&
               unchanged > 2 * changed) {
        /* Shed the unchanged span (with the changed pages inside it, pristine already) so
         * that later resets stop comparing it. */
        if (madvise(stale, (size_t)(stale_end - stale), MADV_DONTNEED) != 0)
            return -errno;
        /* Only the pages the scan found count as dropped: the rest of the span was clean. */
        dropped += unchanged + (changed_at_last - changed_before);
        kept -= unchanged + (changed_at_last - changed_before);
        changed -= changed_at_last - changed_before;
        s->trimmed = unchanged + (changed_at_last - changed_before);
        if (s->trim_backoff == 0)
            s->trim_backoff = AUTO_TRIM_MIN_WAIT;
        s->trim_wait = s->trim_backoff;
    }
    if (cut != NULL && madvise(cut, (size_t)(cut_end - cut), MADV_DONTNEED) != 0)
        return -errno;
    st->discarded_bytes = dropped * pg;
    goto truncate;

drop_all:
    if (hwm > 0 && madvise(s->base, hwm, MADV_DONTNEED) != 0)
        return -errno;
    kept = changed = 0;
    fresh = total > s->kept_pages ? total - s->kept_pages : 0;
    dropped = hwm / pg;
    st->discarded_bytes = hwm;
truncate:
    /* Without a grow the extension is still at its initial size: nothing past it was ever
     * accessible, so the second syscall is only needed after a grow. */
    if (grew) {
        if (ftruncate(s->ext_fd, (off_t)s->initial_bytes) != 0)
            return -errno;
        s->ext_bytes = s->initial_bytes;
    }
    st->restored_pages = changed;
    st->dropped_pages = dropped;
    /* The pages the instance changed that were resident already were written without a fault;
     * the fresh ones were new private copies, each a fault. */
    st->faults_avoided = changed > fresh ? changed - fresh : 0;
    s->kept_pages = kept;
    return 0;
}

int slot__wipe(struct wasmslot_slot *s)
{
    if (s->owner->take_fault(s, SLOT_FAULT_WIPE))
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
    slot_unview(s);
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
        return s->owner->recycle(s);
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
    slot_unview(s);
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
