/* runtime/memory.c: linear memories: the generic grow/refcount protocol every backing store shares,
 * and plain memories backed by one PROT_NONE anonymous reservation. */
#include "config.h"

#include "runtime/runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Bytes reserved per memory: every 33-bit effective address plus a guard page. */
#define MEM_MAPPING (WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)

void wasmslot_memory__init(struct wasmslot_memory *mem, uint8_t *base, size_t size,
                           uint32_t max_pages, bool shared, const struct wasmslot_memory_ops *ops,
                           void *owner)
{
    mem->base = base;
    atomic_init(&mem->size, size);
    mem->max_pages = max_pages;
    mem->shared = shared;
    atomic_init(&mem->refs, 1);
    pthread_mutex_init(&mem->grow_lock, NULL);
    atomic_init(&mem->grows, 0);
    mem->ops = ops;
    mem->owner = owner;
    mem->has_max = true;
}

struct wasmslot_memory *wasmslot_memory_ref(struct wasmslot_memory *mem)
{
    if (mem != NULL)
        atomic_fetch_add_explicit(&mem->refs, 1, memory_order_relaxed);
    return mem;
}

void wasmslot_memory_unref(struct wasmslot_memory *mem)
{
    if (mem == NULL)
        return;
    /* acq_rel: the thread that frees must see every write other holders made before their
     * unref. */
    if (atomic_fetch_sub_explicit(&mem->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Nobody can grow any more; the common part is torn down here so that backing stores
     * only release what they own. */
    pthread_mutex_destroy(&mem->grow_lock);
    mem->ops->destroy(mem);
}

unsigned wasmslot_memory_refs(const struct wasmslot_memory *mem)
{
    return (unsigned)atomic_load_explicit(&mem->refs, memory_order_relaxed);
}

uint8_t *wasmslot_memory_base(const struct wasmslot_memory *mem)
{
    return mem->base;
}

size_t wasmslot_memory_size(const struct wasmslot_memory *mem)
{
    /* Pairs with the release store in wasmslot_memory_grow: a reader that sees the new size also
     * sees the pages made accessible for it. (shmem hook: a memory shared across processes
     * reads its size from its process-shared header; see wasmslot_memory__size.) */
    return wasmslot_memory__size(mem);
}

uint32_t wasmslot_memory_max_pages(const struct wasmslot_memory *mem)
{
    return mem->max_pages;
}

bool wasmslot_memory_is_shared(const struct wasmslot_memory *mem)
{
    return mem->shared;
}

int wasmslot_memory_grow(struct wasmslot_memory *mem, uint32_t delta_pages, uint32_t *old_pages)
{
    size_t old_size, new_size;
    uint64_t new_pages;
    int rc = 0;

    /* shmem hook: a memory shared across processes grows under its own cross-process lock and
     * publishes its size in its process-shared header (ops->grow_pages, mem/shmem.c). */
    if (mem->ops->grow_pages != NULL)
        return mem->ops->grow_pages(mem, delta_pages, old_pages);
    pthread_mutex_lock(&mem->grow_lock);
    /* Under the lock nobody else changes the size; relaxed is enough. */
    old_size = atomic_load_explicit(&mem->size, memory_order_relaxed);
    new_pages = (uint64_t)(old_size / WASMSLOT_PAGE_SIZE) + delta_pages;
    if (new_pages > mem->max_pages) {
        rc = -WASMSLOT_ELIMIT;
        goto out;
    }
    if (delta_pages > 0) {
        new_size = (size_t)new_pages * WASMSLOT_PAGE_SIZE;
        rc = mem->ops->grow(mem, new_size);
        if (rc < 0)
            goto out;
        atomic_store_explicit(&mem->size, new_size, memory_order_release);
        atomic_fetch_add_explicit(&mem->grows, 1, memory_order_relaxed);
    }
    if (old_pages != NULL)
        *old_pages = (uint32_t)(old_size / WASMSLOT_PAGE_SIZE);
out:
    pthread_mutex_unlock(&mem->grow_lock);
    return rc;
}

/* ---------------------------------------------------------------- plain memories */

static int plain_grow(struct wasmslot_memory *mem, size_t new_size)
{
    size_t old_size = atomic_load_explicit(&mem->size, memory_order_relaxed);

    /* Anonymous pages read as zero the first time they are touched, so making them
     * accessible is all a grow needs. */
    if (mprotect(mem->base + old_size, new_size - old_size, PROT_READ | PROT_WRITE) != 0)
        return -errno;
    return 0;
}

static void plain_destroy(struct wasmslot_memory *mem)
{
    munmap(mem->base, MEM_MAPPING);
    free(mem);
}

static const struct wasmslot_memory_ops plain_ops = {
    .grow = plain_grow,
    .destroy = plain_destroy,
};

struct wasmslot_memory *wasmslot_memory_new(uint32_t min_pages, uint32_t max_pages, bool shared,
                                            struct wasmslot_error *err)
{
    struct wasmslot_memory *mem = NULL;
    void *base = MAP_FAILED;
    size_t size = (size_t)min_pages * WASMSLOT_PAGE_SIZE;

    if (max_pages > 65536 || min_pages > max_pages) {
        wasmslot_error_set(err, EINVAL, "memory limits %u..%u pages are out of range", min_pages,
                           max_pages);
        goto fail;
    }
    mem = calloc(1, sizeof(*mem));
    if (mem == NULL) {
        wasmslot_error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    /* One reservation for the memory's whole life: the base never moves, and everything past
     * the current size faults, which is how the interpreter avoids bounds checks. */
    base = mmap(NULL, MEM_MAPPING, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        wasmslot_error_set(err, e, "cannot reserve memory: %s", wasmslot_strerror(-e));
        goto fail;
    }
    if (size > 0 && mprotect(base, size, PROT_READ | PROT_WRITE) != 0) {
        int e = errno;
        wasmslot_error_set(err, e, "cannot map %u pages: %s", min_pages, wasmslot_strerror(-e));
        goto fail;
    }
    wasmslot_memory__init(mem, base, size, max_pages, shared, &plain_ops, NULL);
    return mem;

fail:
    if (base != MAP_FAILED)
        munmap(base, MEM_MAPPING);
    free(mem);
    return NULL;
}
