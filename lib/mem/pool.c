/* mem/pool.c: pools of slots: which free slot serves an image, locking, and statistics. */
#include "config.h"

#include "mem/pool.h"

#include "mem/image.h"
#include "mem/pagemap.h"
#include "mem/slot.h"
#include "format/module.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SLOT_SPAN (WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)

/* Free slots holding one image, most recently released first (its pages and page tables are
 * the likeliest to be warm). */
struct bucket {
    uint64_t image_id; /* 0: unused bucket */
    struct wasmslot_slot *head;
    uint32_t count;
};

struct wasmslot_pool {
    pthread_mutex_t lock; /* guards the lists, the gauges and slot states */
    uint8_t *slab;
    size_t slab_bytes;
    uint32_t nslots;
    uint32_t max_pages;
    enum wasmslot_reset_mode reset;
    size_t keep_max; /* bytes of written pages a free slot may keep resident */
    struct wasmslot_slot *slots;

    struct wasmslot_slot *fresh;   /* never used */
    struct wasmslot_slot *unknown; /* a syscall failed: wipe before use */
    /* At most one bucket per free slot exists, so nslots buckets never run out. */
    struct bucket *buckets;
    uint32_t nbuckets; /* high-water mark of used entries */
    uint32_t nfresh, nunknown, nwarm, nbusy;

    /* Counters, bumped with relaxed atomics so grows and traps need no lock. */
    atomic_uint_fast64_t instantiations, warm_hits, cold_maps, wipes, resets, reset_failures,
        reset_discarded_bytes, grows, traps, timeouts, exhaustions, reset_restored_pages,
        reset_dropped_pages, reset_faults_avoided;
    atomic_uint faults; /* armed test faults (enum pool_fault) */
};

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void pool__inject_fault(struct wasmslot_pool *p, unsigned faults)
{
    atomic_fetch_or(&p->faults, faults);
}

static bool pool_take_fault(struct wasmslot_slot *s, enum slot_fault fault)
{
    struct wasmslot_pool *p = s->pool;

    /* A plain load first keeps the common path free of a locked instruction. */
    if ((atomic_load_explicit(&p->faults, memory_order_relaxed) & fault) == 0)
        return false;
    return (atomic_fetch_and(&p->faults, ~(unsigned)fault) & (unsigned)fault) != 0;
}

static void pool_count_grow(struct wasmslot_slot *s)
{
    count(&s->pool->grows, 1);
}

static int pool_recycle(struct wasmslot_slot *s);

static const struct slot_owner pool_slot_owner = {
    .take_fault = pool_take_fault,
    .count_grow = pool_count_grow,
    .recycle = pool_recycle,
};

struct wasmslot_pool *wasmslot_pool_new(const struct wasmslot_pool_options *o,
                                        struct wasmslot_error *err)
{
    struct wasmslot_pool *p = NULL;
    uint32_t max_pages = o->max_pages == 0 ? 65536 : o->max_pages;

    if (o->slots == 0 || max_pages > 65536) {
        wasmslot_error_set(err, EINVAL,
                           "a pool needs 1 or more slots and a cap of at most 65536 pages");
        goto fail;
    }
    if (o->reset != WASMSLOT_RESET_AUTO && o->reset != WASMSLOT_RESET_MADVISE &&
        o->reset != WASMSLOT_RESET_KEEP) {
        wasmslot_error_set(err, EINVAL, "unknown reset mode %d", (int)o->reset);
        goto fail;
    }
    /* Probed now rather than at the first reset, so that a reset never opens a file. */
    pagemap__method();
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto fail_nomem;
    p->slab = MAP_FAILED;
    p->nslots = o->slots;
    p->max_pages = max_pages;
    p->reset = o->reset;
    p->keep_max = o->keep_max_bytes != 0 ? o->keep_max_bytes : WASMSLOT_RESET_KEEP_DEFAULT;
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
        wasmslot_error_set(err, e, "cannot reserve %zu bytes of address space for %u slots: %s",
                           p->slab_bytes, o->slots, wasmslot_strerror(-e));
        goto fail;
    }
    pthread_mutex_init(&p->lock, NULL);
    /* Hand out low slots first: the list is built backwards. */
    for (uint32_t i = o->slots; i-- > 0;) {
        struct wasmslot_slot *s = &p->slots[i];

        s->owner = &pool_slot_owner;
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
    wasmslot_error_set(err, ENOMEM, "out of memory");
fail:
    if (p != NULL) {
        free(p->slots);
        free(p->buckets);
        free(p);
    }
    return NULL;
}

void wasmslot_pool_free(struct wasmslot_pool *p)
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

static struct bucket *do_find_bucket(struct wasmslot_pool *p, uint64_t id)
{
    for (uint32_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i].image_id == id)
            return &p->buckets[i];
    return NULL;
}

static struct wasmslot_slot *do_pop(struct wasmslot_slot **list, uint32_t *n)
{
    struct wasmslot_slot *s = *list;

    *list = s->next;
    s->next = NULL;
    (*n)--;
    return s;
}

static struct wasmslot_slot *do_pop_bucket(struct wasmslot_pool *p, struct bucket *b)
{
    struct wasmslot_slot *s = do_pop(&b->head, &b->count);

    p->nwarm--;
    if (b->count == 0)
        b->image_id = 0; /* reusable by another image */
    return s;
}

/* The free slot that should serve image id, in the order of preference the pool promises;
 * *warm tells whether it already holds the image. NULL when every slot is busy. */
static struct wasmslot_slot *do_take(struct wasmslot_pool *p, uint64_t id, bool *warm)
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

static void do_put(struct wasmslot_pool *p, struct wasmslot_slot *s, enum slot_state state)
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

struct wasmslot_slot *wasmslot_pool_acquire(struct wasmslot_pool *p,
                                            const struct wasmslot_image *img,
                                            struct wasmslot_error *err)
{
    const struct image_layout *l = image__layout(img);
    uint32_t max_pages = l->max_pages < p->max_pages ? l->max_pages : p->max_pages;
    struct wasmslot_slot *s;
    bool warm, unknown = false;
    int rc;

    if (l->has_memory && l->min_pages > max_pages) {
        wasmslot_error_set(err, WASMSLOT_ELIMIT,
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
        wasmslot_error_set(err, WASMSLOT_EEXHAUSTED, "pool exhausted: all %u slots are busy",
                           p->nslots);
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
    s->warm = warm;
    slot__start(s);
    count(&p->instantiations, 1);
    return s;

fail:
    wasmslot_error_set(err, rc, "cannot map a slot: %s", wasmslot_strerror(rc));
    s->image_id = 0;
    pthread_mutex_lock(&p->lock);
    p->nbusy--;
    do_put(p, s, SLOT_UNKNOWN);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int wasmslot_pool_release(struct wasmslot_pool *p, struct wasmslot_slot *s)
{
    (void)p;
    return slot__drop(s);
}

static int pool_recycle(struct wasmslot_slot *s)
{
    struct wasmslot_pool *p = s->pool;
    struct slot_reset_stats st;
    int rc;

    /* The reset runs outside the lock: it is the expensive part and touches only this slot. */
    rc = slot__reset(s, p->reset, p->keep_max, &st);
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
    count(&p->reset_discarded_bytes, st.discarded_bytes);
    count(&p->reset_restored_pages, st.restored_pages);
    count(&p->reset_dropped_pages, st.dropped_pages);
    count(&p->reset_faults_avoided, st.faults_avoided);
    return 0;
}

void wasmslot_pool_count_trap(struct wasmslot_pool *p, int err)
{
    if (!wasmslot_is_trap(err))
        return;
    count(&p->traps, 1);
    if (err == -WASMSLOT_TRAP_TIMEOUT || err == WASMSLOT_TRAP_TIMEOUT)
        count(&p->timeouts, 1);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* wasmslot_pool_stats' samples, in the order wasmslot_pool_stats_values fills them. */
static const struct {
    const char *name;
    enum wasmslot_stats_kind kind;
} pool_samples[WASMSLOT_POOL_STATS_SAMPLES] = {
    {"slots", WASMSLOT_STATS_GAUGE},
    {"slots_busy", WASMSLOT_STATS_GAUGE},
    {"slots_free", WASMSLOT_STATS_GAUGE},
    {"slots_warm", WASMSLOT_STATS_GAUGE},
    {"slots_unknown", WASMSLOT_STATS_GAUGE},
    {"instantiations", WASMSLOT_STATS_COUNTER},
    {"warm_hits", WASMSLOT_STATS_COUNTER},
    {"cold_maps", WASMSLOT_STATS_COUNTER},
    {"wipes", WASMSLOT_STATS_COUNTER},
    {"resets", WASMSLOT_STATS_COUNTER},
    {"reset_failures", WASMSLOT_STATS_COUNTER},
    {"reset_discarded_bytes", WASMSLOT_STATS_COUNTER},
    {"grows", WASMSLOT_STATS_COUNTER},
    {"traps", WASMSLOT_STATS_COUNTER},
    {"timeouts", WASMSLOT_STATS_COUNTER},
    {"exhaustions", WASMSLOT_STATS_COUNTER},
    {"reset_restored_pages", WASMSLOT_STATS_COUNTER},
    {"reset_dropped_pages", WASMSLOT_STATS_COUNTER},
    {"reset_faults_avoided", WASMSLOT_STATS_COUNTER},
};

void wasmslot_pool_stats_values(struct wasmslot_pool *p, uint64_t out[WASMSLOT_POOL_STATS_SAMPLES])
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
    out[16] = get(&p->reset_restored_pages);
    out[17] = get(&p->reset_dropped_pages);
    out[18] = get(&p->reset_faults_avoided);
}

const char *wasmslot_reset_mode_name(enum wasmslot_reset_mode m)
{
    switch (m) {
    case WASMSLOT_RESET_AUTO:
        return "auto";
    case WASMSLOT_RESET_MADVISE:
        return "madvise";
    case WASMSLOT_RESET_KEEP:
        return "keep";
    }
    return "?";
}

const char *wasmslot_reset_method(void)
{
    return pagemap__method_name(pagemap__method());
}

void wasmslot_pool_stats(struct wasmslot_pool *p, wasmslot_stats_sink_fn sink, void *arg)
{
    uint64_t v[WASMSLOT_POOL_STATS_SAMPLES];

    wasmslot_pool_stats_values(p, v);
    for (size_t i = 0; i < WASMSLOT_POOL_STATS_SAMPLES; i++)
        sink(arg, pool_samples[i].name, pool_samples[i].kind, v[i]);
}
