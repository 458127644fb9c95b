/* pool.c: pools of slots: which free slot serves an image, locking, and statistics. */
#include "config.h"

#include "pool.h"

#include "image.h"
#include "slot.h"
#include "wasm_module.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SLOT_SPAN (WASM_MEM_RESERVE + WASM_MEM_GUARD)

/* Free slots holding one image, most recently released first (its pages and page tables are
 * the likeliest to be warm). */
struct bucket {
    uint64_t image_id; /* 0: unused bucket */
    struct slot *head;
    uint32_t count;
};

struct pool {
    pthread_mutex_t lock; /* guards the lists, the gauges and slot states */
    uint8_t *slab;
    size_t slab_bytes;
    uint32_t nslots;
    uint32_t max_pages;
    struct slot *slots;

    struct slot *fresh;   /* never used */
    struct slot *unknown; /* a syscall failed: wipe before use */
    /* At most one bucket per free slot exists, so nslots buckets never run out. */
    struct bucket *buckets;
    uint32_t nbuckets; /* high-water mark of used entries */
    uint32_t nfresh, nunknown, nwarm, nbusy;

    /* Counters, bumped with relaxed atomics so grows and traps need no lock. */
    atomic_uint_fast64_t instantiations, warm_hits, cold_maps, wipes, resets, reset_failures,
        reset_discarded_bytes, grows, traps, timeouts, exhaustions;
    atomic_uint faults; /* armed test faults (enum pool_fault) */
};

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void pool__inject_fault(struct pool *p, unsigned faults)
{
    atomic_fetch_or(&p->faults, faults);
}

bool pool__take_fault(struct pool *p, unsigned fault)
{
    /* A plain load first keeps the common path free of a locked instruction. */
    if ((atomic_load_explicit(&p->faults, memory_order_relaxed) & fault) == 0)
        return false;
    return (atomic_fetch_and(&p->faults, ~fault) & fault) != 0;
}

void pool__count_grow(struct pool *p)
{
    count(&p->grows, 1);
}

struct pool *pool_new(const struct pool_options *o, struct wasm_error *err)
{
    struct pool *p = NULL;
    uint32_t max_pages = o->max_pages == 0 ? 65536 : o->max_pages;

    if (o->slots == 0 || max_pages > 65536) {
        wasm_error_set(err, EINVAL,
                       "a pool needs 1 or more slots and a cap of at most 65536 pages");
        goto fail;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto fail_nomem;
    p->slab = MAP_FAILED;
    p->nslots = o->slots;
    p->max_pages = max_pages;
    p->slots = calloc(o->slots, sizeof(*p->slots));
    p->buckets = calloc(o->slots, sizeof(*p->buckets));
    if (p->slots == NULL || p->buckets == NULL)
        goto fail_nomem;
    /* One reservation for every slot, taken once: later mappings replace parts of it with
     * MAP_FIXED and nothing inside is ever unmapped, so the slab cannot be fragmented by other
     * mappings of the process. */
    p->slab_bytes = (size_t)o->slots * SLOT_SPAN;
    p->slab =
        mmap(NULL, p->slab_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p->slab == MAP_FAILED) {
        int e = errno;
        wasm_error_set(err, e, "cannot reserve %zu bytes of address space for %u slots: %s",
                       p->slab_bytes, o->slots, wasm_strerror(-e));
        goto fail;
    }
    pthread_mutex_init(&p->lock, NULL);
    /* Hand out low slots first: the list is built backwards. */
    for (uint32_t i = o->slots; i-- > 0;) {
        struct slot *s = &p->slots[i];

        s->pool = p;
        s->base = p->slab + (size_t)i * SLOT_SPAN;
        s->ext_fd = -1;
        s->state = SLOT_NEW;
        s->next = p->fresh;
        p->fresh = s;
    }
    p->nfresh = o->slots;
    return p;

fail_nomem:
    wasm_error_set(err, ENOMEM, "out of memory");
fail:
    if (p != NULL) {
        free(p->slots);
        free(p->buckets);
        free(p);
    }
    return NULL;
}

void pool_free(struct pool *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->nslots; i++)
        slot__close(&p->slots[i]);
    munmap(p->slab, p->slab_bytes);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p->buckets);
    free(p);
}

static struct bucket *do_find_bucket(struct pool *p, uint64_t id)
{
    for (uint32_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i].image_id == id)
            return &p->buckets[i];
    return NULL;
}

static struct slot *do_pop(struct slot **list, uint32_t *n)
{
    struct slot *s = *list;

    *list = s->next;
    s->next = NULL;
    (*n)--;
    return s;
}

static struct slot *do_pop_bucket(struct pool *p, struct bucket *b)
{
    struct slot *s = do_pop(&b->head, &b->count);

    p->nwarm--;
    if (b->count == 0)
        b->image_id = 0; /* reusable by another image */
    return s;
}

/* The free slot that should serve image id, in the order of preference the pool promises;
 * *warm tells whether it already holds the image. NULL when every slot is busy. */
static struct slot *do_take(struct pool *p, uint64_t id, bool *warm)
{
    struct bucket *b = do_find_bucket(p, id), *big = NULL;

    *warm = b != NULL;
    if (b != NULL)
        return do_pop_bucket(p, b);
    if (p->fresh != NULL)
        return do_pop(&p->fresh, &p->nfresh);
    if (p->unknown != NULL)
        return do_pop(&p->unknown, &p->nunknown);
    /* Re-image a slot of the image with the most free slots: that one can spare it best. */
    for (uint32_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i].count > 0 && (big == NULL || p->buckets[i].count > big->count))
            big = &p->buckets[i];
    return big != NULL ? do_pop_bucket(p, big) : NULL;
}

static void do_put(struct pool *p, struct slot *s, enum slot_state state)
{
    struct bucket *b;

    /* A slot that holds no image has no warm bucket to go to (0 marks unused buckets); it can
     * only have got here through a failure, so it is treated as one. */
    if (s->image_id == 0)
        state = SLOT_UNKNOWN;
    s->state = state;
    if (state == SLOT_UNKNOWN) {
        s->next = p->unknown;
        p->unknown = s;
        p->nunknown++;
        return;
    }
    b = do_find_bucket(p, s->image_id);
    if (b == NULL) {
        b = do_find_bucket(p, 0);
        if (b == NULL)
            b = &p->buckets[p->nbuckets++];
        b->image_id = s->image_id;
    }
    s->next = b->head;
    b->head = s;
    b->count++;
    p->nwarm++;
}

struct slot *pool_acquire(struct pool *p, const struct image *img, struct wasm_error *err)
{
    const struct image_layout *l = image__layout(img);
    uint32_t max_pages = l->max_pages < p->max_pages ? l->max_pages : p->max_pages;
    struct slot *s;
    bool warm, unknown = false;
    int rc;

    if (l->has_memory && l->min_pages > max_pages) {
        wasm_error_set(err, WASM_ELIMIT,
                       "initial memory of %u pages exceeds the pool's cap of %u pages",
                       l->min_pages, max_pages);
        return NULL;
    }
    pthread_mutex_lock(&p->lock);
    s = do_take(p, l->id, &warm);
    if (s != NULL) {
        unknown = s->state == SLOT_UNKNOWN;
        s->state = SLOT_BUSY;
        p->nbusy++;
    }
    pthread_mutex_unlock(&p->lock);
    if (s == NULL) {
        count(&p->exhaustions, 1);
        wasm_error_set(err, WASM_EEXHAUSTED, "pool exhausted: all %u slots are busy", p->nslots);
        return NULL;
    }
    /* The slot is ours now: the mapping syscalls run outside the lock. */
    if (!warm) {
        if (unknown) {
            /* A failed map or reset may have left anything anywhere in it: start over. */
            rc = slot__wipe(s);
            if (rc < 0)
                goto fail;
        }
        rc = slot__map(s, l, max_pages);
        if (rc < 0)
            goto fail;
        count(&p->cold_maps, 1);
        if (unknown)
            count(&p->wipes, 1);
    } else {
        count(&p->warm_hits, 1);
    }
    slot__start(s);
    count(&p->instantiations, 1);
    return s;

fail:
    wasm_error_set(err, rc, "cannot map a slot: %s", wasm_strerror(rc));
    s->image_id = 0;
    pthread_mutex_lock(&p->lock);
    p->nbusy--;
    do_put(p, s, SLOT_UNKNOWN);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int pool_release(struct pool *p, struct slot *s)
{
    (void)p;
    return slot__drop(s);
}

int pool__recycle(struct pool *p, struct slot *s)
{
    size_t discarded = 0;
    int rc;

    /* The reset runs outside the lock: it is the expensive part and touches only this slot. */
    rc = slot__reset(s, &discarded);
    if (rc < 0)
        s->image_id = 0;
    pthread_mutex_lock(&p->lock);
    p->nbusy--;
    do_put(p, s, rc < 0 ? SLOT_UNKNOWN : SLOT_FREE);
    pthread_mutex_unlock(&p->lock);
    if (rc < 0) {
        count(&p->reset_failures, 1);
        return rc;
    }
    count(&p->resets, 1);
    count(&p->reset_discarded_bytes, discarded);
    return 0;
}

void pool_count_trap(struct pool *p, int err)
{
    if (!wasm_is_trap(err))
        return;
    count(&p->traps, 1);
    if (err == -WASM_TRAP_TIMEOUT || err == WASM_TRAP_TIMEOUT)
        count(&p->timeouts, 1);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* pool_stats' samples, in the order pool_stats_values fills them. */
static const struct {
    const char *name;
    enum stats_kind kind;
} pool_samples[POOL_STATS_SAMPLES] = {
    {"slots", STATS_GAUGE},
    {"slots_busy", STATS_GAUGE},
    {"slots_free", STATS_GAUGE},
    {"slots_warm", STATS_GAUGE},
    {"slots_unknown", STATS_GAUGE},
    {"instantiations", STATS_COUNTER},
    {"warm_hits", STATS_COUNTER},
    {"cold_maps", STATS_COUNTER},
    {"wipes", STATS_COUNTER},
    {"resets", STATS_COUNTER},
    {"reset_failures", STATS_COUNTER},
    {"reset_discarded_bytes", STATS_COUNTER},
    {"grows", STATS_COUNTER},
    {"traps", STATS_COUNTER},
    {"timeouts", STATS_COUNTER},
    {"exhaustions", STATS_COUNTER},
};

void pool_stats_values(struct pool *p, uint64_t out[POOL_STATS_SAMPLES])
{
    uint32_t busy, fresh, warm, unknown;

    /* Copied under the lock so that busy + free == slots in every snapshot. */
    pthread_mutex_lock(&p->lock);
    busy = p->nbusy;
    fresh = p->nfresh;
    warm = p->nwarm;
    unknown = p->nunknown;
    pthread_mutex_unlock(&p->lock);
    out[0] = p->nslots;
    out[1] = busy;
    out[2] = fresh + warm + unknown;
    out[3] = warm;
    out[4] = unknown;
    out[5] = get(&p->instantiations);
    out[6] = get(&p->warm_hits);
    out[7] = get(&p->cold_maps);
    out[8] = get(&p->wipes);
    out[9] = get(&p->resets);
    out[10] = get(&p->reset_failures);
    out[11] = get(&p->reset_discarded_bytes);
    out[12] = get(&p->grows);
    out[13] = get(&p->traps);
    out[14] = get(&p->timeouts);
    out[15] = get(&p->exhaustions);
}

void pool_stats(struct pool *p, stats_sink_fn sink, void *arg)
{
    uint64_t v[POOL_STATS_SAMPLES];

    pool_stats_values(p, v);
    for (size_t i = 0; i < POOL_STATS_SAMPLES; i++)
        sink(arg, pool_samples[i].name, pool_samples[i].kind, v[i]);
}
