/* stats.c: the shared-memory counters of a daemon generation, with a per-pool seqlock so a
 * reader in another process never sees a half-written set of pool samples. */
#include "config.h"

#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct stats_sample {
    char name[STATS_NAME_MAX];
    _Atomic uint64_t value;
    _Atomic int kind;
};

struct stats_pool {
    _Atomic uint64_t seq; /* odd while the worker rewrites the samples */
    _Atomic uint32_t n;
    struct stats_sample s[STATS_POOL_SAMPLES];
};

#define POOL_NAME_MAX 72

struct stats_shm {
    size_t map_len;
    unsigned nworkers;
    size_t npools;
    size_t worker_stride; /* bytes per worker block: counters then npools pool blocks */
    char (*names)[POOL_NAME_MAX];
    unsigned char *blocks;
};

static struct stats_pool *pool_block(struct stats_shm *s, unsigned w, size_t p)
{
    unsigned char *b = s->blocks + (size_t)w * s->worker_stride;
    return (struct stats_pool *)(b + sizeof(struct stats_worker)) + p;
}

struct stats_shm *stats_shm_new(unsigned nworkers, const char *const *names, size_t npools)
{
    struct stats_shm *s;
    size_t head, stride, len;
    unsigned char *map;

    /* struct stats_worker's size is a multiple of 8 and so is struct stats_pool's. */
    stride = sizeof(struct stats_worker) + npools * sizeof(struct stats_pool);
    head = (sizeof(struct stats_shm) + npools * POOL_NAME_MAX + 63) & ~(size_t)63;
    len = head + (size_t)nworkers * stride;
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    s = (struct stats_shm *)map;
    s->map_len = len;
    s->nworkers = nworkers;
    s->npools = npools;
    s->worker_stride = stride;
    s->names = (char(*)[POOL_NAME_MAX])(map + sizeof(*s));
    s->blocks = map + head;
    for (size_t i = 0; i < npools; i++)
        snprintf(s->names[i], POOL_NAME_MAX, "%s", names[i]);
    return s;
}

void stats_shm_free(struct stats_shm *s)
{
    if (s != NULL)
        munmap(s, s->map_len);
}

struct stats_global *stats_global_new(void)
{
    void *p = mmap(NULL, sizeof(struct stats_global), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

struct stats_worker *stats_shm_worker(struct stats_shm *s, unsigned i)
{
    return (struct stats_worker *)(s->blocks + (size_t)i * s->worker_stride);
}

unsigned stats_shm_nworkers(const struct stats_shm *s)
{
    return s->nworkers;
}

void stats_shm_worker_reset(struct stats_shm *s, unsigned i, pid_t pid)
{
    struct stats_worker *w = stats_shm_worker(s, i);

    atomic_store(&w->pid, pid);
    atomic_store(&w->connections_open, 0);
    atomic_store(&w->instances_open, 0);
    atomic_store(&w->memory_bytes, 0);
    atomic_store(&w->unlimited_runs, 0);
    for (size_t p = 0; p < s->npools; p++) {
        struct stats_pool *b = pool_block(s, i, p);
        atomic_fetch_add(&b->seq, 1);
        atomic_store(&b->n, 0);
        atomic_fetch_add(&b->seq, 1);
    }
}

void stats_publish_begin(struct stats_publisher *pub)
{
    pub->block = pool_block(pub->shm, pub->worker, pub->pool);
    atomic_fetch_add(&pub->block->seq, 1);
}

void stats_publish_sample(void *arg, const char *name, enum wasmslot_stats_kind kind,
                          uint64_t value)
{
    struct stats_publisher *pub = arg;
    struct stats_pool *b = pub->block;
    uint32_t n = atomic_load_explicit(&b->n, memory_order_relaxed);

    /* The same names come back in the same order every time, so look there first. */
    if (pub->cursor < n && strcmp(b->s[pub->cursor].name, name) == 0) {
        atomic_store_explicit(&b->s[pub->cursor].value, value, memory_order_relaxed);
        pub->cursor++;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(b->s[i].name, name) == 0) {
            atomic_store_explicit(&b->s[i].value, value, memory_order_relaxed);
            pub->cursor = i + 1;
            return;
        }
    }
    if (n >= STATS_POOL_SAMPLES)
        return;
    snprintf(b->s[n].name, STATS_NAME_MAX, "%s", name);
    atomic_store_explicit(&b->s[n].kind, (int)kind, memory_order_relaxed);
    atomic_store_explicit(&b->s[n].value, value, memory_order_relaxed);
    atomic_store_explicit(&b->n, n + 1, memory_order_release);
    pub->cursor = n + 1;
}

bool stats_publish_values(struct stats_publisher *pub, const uint64_t *values, uint32_t n)
{
    struct stats_pool *b = pub->block;

    if (atomic_load_explicit(&b->n, memory_order_relaxed) < n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        atomic_store_explicit(&b->s[i].value, values[i], memory_order_relaxed);
    return true;
}

void stats_publish_end(struct stats_publisher *pub)
{
    atomic_fetch_add(&pub->block->seq, 1);
}

/* Copy one pool's samples under its seqlock; gives up on a torn copy after a few tries (the
 * writer is mid-update and the last copy is close enough). */
static uint32_t copy_pool(struct stats_pool *b, struct stats_sample *out)
{
    uint32_t n = 0;

    for (int tries = 0; tries < 100; tries++) {
        uint64_t s1 = atomic_load_explicit(&b->seq, memory_order_acquire);
        if (s1 & 1)
            continue;
        n = atomic_load_explicit(&b->n, memory_order_acquire);
        if (n > STATS_POOL_SAMPLES)
            n = STATS_POOL_SAMPLES;
        for (uint32_t i = 0; i < n; i++) {
            memcpy(out[i].name, b->s[i].name, STATS_NAME_MAX);
            out[i].name[STATS_NAME_MAX - 1] = '\0';
            atomic_store_explicit(&out[i].value,
                                  atomic_load_explicit(&b->s[i].value, memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&out[i].kind,
                                  atomic_load_explicit(&b->s[i].kind, memory_order_relaxed),
                                  memory_order_relaxed);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&b->seq, memory_order_relaxed) == s1)
            break;
    }
    return n;
}

void stats_shm_visit(struct stats_shm *s, const struct stats_visitor *v)
{
    struct stats_sample copy[STATS_POOL_SAMPLES];

    for (unsigned w = 0; w < s->nworkers; w++) {
        struct stats_worker *sw = stats_shm_worker(s, w);
        pid_t pid = (pid_t)atomic_load(&sw->pid);
        if (v->worker != NULL)
            v->worker(v->arg, w, pid, sw);
        if (v->pool_sample == NULL)
            continue;
        for (size_t p = 0; p < s->npools; p++) {
            uint32_t n = copy_pool(pool_block(s, w, p), copy);
            for (uint32_t i = 0; i < n; i++)
                v->pool_sample(v->arg, w, s->names[p], copy[i].name, atomic_load(&copy[i].kind),
                               atomic_load(&copy[i].value));
        }
    }
}
