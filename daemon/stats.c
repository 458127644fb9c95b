/* stats.c: the daemon's shared-memory counters: the ledger kept for the master's life, a
 * region per generation with a per-pool seqlock so a reader in another process never sees a
 * half-written set of pool samples, and the walk that turns both into samples. */
#include "config.h"

#include "clock.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

struct stats_sample {
    char name[STATS_NAME_MAX];
    _Atomic uint64_t value;
    _Atomic int kind;
};

struct stats_pool {
    _Atomic uint64_t seq; /* odd while the worker rewrites the samples */
    _Atomic uint32_t n;
    _Atomic uint64_t held; /* slots held by the worker's instances now */
    struct stats_sample s[STATS_POOL_SAMPLES];
};

#define POOL_NAME_MAX 72

struct stats_shm {
    size_t map_len;
    struct stats_global *g;
    unsigned nworkers;
    size_t npools;
    size_t worker_stride; /* bytes per worker block: counters then npools pool blocks */
    char (*names)[POOL_NAME_MAX];
    int *slot; /* each pool's number in the ledger; -1: not counted */
    unsigned char *blocks;
};

static struct stats_pool *pool_block(struct stats_shm *s, unsigned w, size_t p)
{
    unsigned char *b = s->blocks + (size_t)w * s->worker_stride;
    return (struct stats_pool *)(b + sizeof(struct stats_worker)) + p;
}

struct stats_global *stats_global_new(void)
{
    /* Most of it is never touched (workers and pools not configured), so it costs no memory. */
    struct stats_global *g = mmap(NULL, sizeof(struct stats_global), PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (g == MAP_FAILED)
        return NULL;
    g->start_ns = mono_ns();
    return g;
}

/* The ledger number of a pool name: its old one, or the next free; -1 when full. */
static int pool_slot(struct stats_global *g, const char *name)
{
    for (unsigned i = 0; i < g->npools; i++)
        if (strcmp(g->pool_names[i], name) == 0)
            return (int)i;
    if (g->npools == STATS_MAX_POOLS)
        return -1;
    snprintf(g->pool_names[g->npools], sizeof(g->pool_names[0]), "%s", name);
    return (int)g->npools++;
}

struct stats_shm *stats_shm_new(struct stats_global *g, unsigned nworkers, const char *const *names,
                                size_t npools)
{
    struct stats_shm *s;
    size_t head, stride, len;
    unsigned char *map;

    /* struct stats_worker's size is a multiple of 8 and so is struct stats_pool's. */
    stride = sizeof(struct stats_worker) + npools * sizeof(struct stats_pool);
    head = (sizeof(struct stats_shm) + npools * (POOL_NAME_MAX + sizeof(int)) + 63) & ~(size_t)63;
    len = head + (size_t)nworkers * stride;
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    s = (struct stats_shm *)map;
    s->map_len = len;
    s->g = g;
    s->nworkers = nworkers;
    s->npools = npools;
    s->worker_stride = stride;
    s->names = (char(*)[POOL_NAME_MAX])(map + sizeof(*s));
    s->slot = (int *)(map + sizeof(*s) + npools * POOL_NAME_MAX);
    s->blocks = map + head;
    for (size_t i = 0; i < npools; i++) {
        snprintf(s->names[i], POOL_NAME_MAX, "%s", names[i]);
        s->slot[i] = pool_slot(g, names[i]);
    }
    if (nworkers > STATS_MAX_WORKERS)
        nworkers = STATS_MAX_WORKERS;
    if (atomic_load(&g->nworkers_max) < nworkers)
        atomic_store(&g->nworkers_max, nworkers);
    return s;
}

void stats_shm_free(struct stats_shm *s)
{
    if (s != NULL)
        munmap(s, s->map_len);
}

struct stats_worker *stats_shm_worker(struct stats_shm *s, unsigned i)
{
    return (struct stats_worker *)(s->blocks + (size_t)i * s->worker_stride);
}

struct stats_worker_counters *stats_shm_worker_counters(struct stats_shm *s, unsigned i)
{
    return &s->g->worker[i];
}

struct stats_pool_counters *stats_shm_pool_counters(struct stats_shm *s, unsigned i, size_t p)
{
    return s->slot[p] < 0 ? NULL : &s->g->pool[s->slot[p]][i];
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
    atomic_store(&w->executor_queue, 0);
    for (size_t p = 0; p < s->npools; p++) {
        struct stats_pool *b = pool_block(s, i, p);
        atomic_fetch_add(&b->seq, 1);
        atomic_store(&b->n, 0);
        atomic_store(&b->held, 0);
        atomic_fetch_add(&b->seq, 1);
    }
}

void stats_shm_pool_hold(struct stats_shm *s, unsigned i, size_t p, int delta)
{
    struct stats_pool *b = pool_block(s, i, p);
    struct stats_pool_counters *c = stats_shm_pool_counters(s, i, p);
    uint64_t now, peak;

    if (delta < 0) {
        atomic_fetch_sub_explicit(&b->held, (uint64_t)-delta, memory_order_relaxed);
        return;
    }
    now = atomic_fetch_add_explicit(&b->held, (uint64_t)delta, memory_order_relaxed) +
          (uint64_t)delta;
    if (c == NULL)
        return;
    peak = atomic_load_explicit(&c->busy_peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(
                             &c->busy_peak, &peak, now, memory_order_relaxed, memory_order_relaxed))
        ;
}

void stats_hist_observe(struct stats_hist *h, uint64_t ns)
{
    unsigned i = 0;

    while (i < PROTO_STATS_BUCKETS && ns > proto_stats_bucket_ns[i])
        i++;
    atomic_fetch_add_explicit(&h->count[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void stats_publish_begin(struct stats_publisher *pub)
{
    pub->block = pool_block(pub->shm, pub->worker, pub->pool);
    atomic_fetch_add(&pub->block->seq, 1);
}

/* Sample i of the publisher's block goes from its old value to value: a counter among the
 * first STATS_LIB_COUNTERS adds its growth to the ledger (a pool starts at 0 in a new worker
 * process, whose first publication follows a reset of the block). */
static void set_value(struct stats_publisher *pub, uint32_t i, uint64_t value)
{
    struct stats_sample *s = &pub->block->s[i];
    uint64_t old = atomic_load_explicit(&s->value, memory_order_relaxed);

    if (i < STATS_LIB_COUNTERS && value > old &&
        atomic_load_explicit(&s->kind, memory_order_relaxed) == WASMSLOT_STATS_COUNTER) {
        struct stats_pool_counters *c = stats_shm_pool_counters(pub->shm, pub->worker, pub->pool);
        if (c != NULL)
            atomic_fetch_add_explicit(&c->lib[i], value - old, memory_order_relaxed);
    }
    atomic_store_explicit(&s->value, value, memory_order_relaxed);
}

void stats_publish_sample(void *arg, const char *name, enum wasmslot_stats_kind kind,
                          uint64_t value)
{
    struct stats_publisher *pub = arg;
    struct stats_pool *b = pub->block;
    uint32_t n = atomic_load_explicit(&b->n, memory_order_relaxed);

    /* The same names come back in the same order every time, so look there first. */
    if (pub->cursor < n && strcmp(b->s[pub->cursor].name, name) == 0) {
        set_value(pub, pub->cursor, value);
        pub->cursor++;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(b->s[i].name, name) == 0) {
            set_value(pub, i, value);
            pub->cursor = i + 1;
            return;
        }
    }
    if (n >= STATS_POOL_SAMPLES)
        return;
    snprintf(b->s[n].name, STATS_NAME_MAX, "%s", name);
    atomic_store_explicit(&b->s[n].kind, (int)kind, memory_order_relaxed);
    atomic_store_explicit(&b->s[n].value, 0, memory_order_relaxed);
    set_value(pub, n, value);
    atomic_store_explicit(&b->n, n + 1, memory_order_release);
    pub->cursor = n + 1;
}

bool stats_publish_values(struct stats_publisher *pub, const uint64_t *values, uint32_t n)
{
    struct stats_pool *b = pub->block;

    if (atomic_load_explicit(&b->n, memory_order_relaxed) < n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        set_value(pub, i, values[i]);
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

/* ---------------------------------------------------------------- collecting */

static uint64_t ld(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void add_hist(struct proto_stats *st, const char *name, struct stats_hist *h)
{
    uint64_t counts[STATS_HIST];

    for (unsigned i = 0; i < STATS_HIST; i++)
        counts[i] = ld(&h->count[i]);
    proto_stats_add_histogram(st, name, counts, ld(&h->sum_ns));
}

static const char *op_label(unsigned op)
{
    return op <= PROTO_OP_MODULES ? proto_op_name((enum proto_op)op) : "invalid";
}

static void add_errors(struct proto_stats *st, const char *name, _Atomic uint64_t *errors)
{
    for (unsigned e = 1; e < STATS_ERR_CODES && e <= PROTO_E_INTERNAL; e++) {
        uint64_t n = ld(&errors[e]);
        if (n == 0)
            continue;
        proto_stats_set_label(st, "code", proto_err_code((enum proto_err)e));
        proto_stats_add(st, name, WASMSLOT_STATS_COUNTER, n);
    }
    proto_stats_set_label(st, "code", NULL);
}

static void collect_worker(struct proto_stats *st, struct stats_shm *s, unsigned w)
{
    struct stats_worker_counters *c = &s->g->worker[w];
    char num[16];

    snprintf(num, sizeof(num), "%u", w);
    proto_stats_clear_labels(st);
    proto_stats_set_label(st, "worker", num);
    if (w < s->nworkers) {
        struct stats_worker *sw = stats_shm_worker(s, w);
        int64_t pid = atomic_load(&sw->pid);

        proto_stats_add(st, "worker_pid", WASMSLOT_STATS_GAUGE, (uint64_t)(pid > 0 ? pid : 0));
        proto_stats_add(st, "connections_open", WASMSLOT_STATS_GAUGE, ld(&sw->connections_open));
        proto_stats_add(st, "instances_open", WASMSLOT_STATS_GAUGE, ld(&sw->instances_open));
        proto_stats_add(st, "executor_queue", WASMSLOT_STATS_GAUGE, ld(&sw->executor_queue));
        /* Deltas of memory_bytes may be added out of order: a moment's negative total is 0. */
        proto_stats_add(st, "memory_bytes", WASMSLOT_STATS_GAUGE,
                        (int64_t)ld(&sw->memory_bytes) > 0 ? ld(&sw->memory_bytes) : 0);
        proto_stats_add(st, "unlimited_runs", WASMSLOT_STATS_GAUGE, ld(&sw->unlimited_runs));
    }
    for (unsigned op = 0; op < STATS_OPS; op++) {
        uint64_t n = ld(&c->requests[op]);
        if (n == 0 && op > PROTO_OP_MODULES)
            continue;
        proto_stats_set_label(st, "op", op_label(op));
        proto_stats_add(st, "requests", WASMSLOT_STATS_COUNTER, n);
    }
    proto_stats_set_label(st, "op", NULL);
    proto_stats_add(st, "connections", WASMSLOT_STATS_COUNTER, ld(&c->connections));
    proto_stats_add(st, "connections_refused", WASMSLOT_STATS_COUNTER, ld(&c->connections_refused));
    proto_stats_add(st, "connections_idle_closed", WASMSLOT_STATS_COUNTER,
                    ld(&c->connections_idle_closed));
    proto_stats_add(st, "reply_buffer_pauses", WASMSLOT_STATS_COUNTER, ld(&c->reply_buffer_pauses));
    for (unsigned k = 0; k < 6; k++) {
        static const char *const cls[] = {"aborted", "1xx", "2xx", "3xx", "4xx", "5xx"};
        uint64_t n = ld(&c->fastcgi_responses[k]);

        /* Only a worker that speaks FastCGI has any. */
        if (n == 0)
            continue;
        proto_stats_set_label(st, "status", cls[k]);
        proto_stats_add(st, "fastcgi_responses", WASMSLOT_STATS_COUNTER, n);
    }
    proto_stats_set_label(st, "status", NULL);
    add_errors(st, "errors", c->errors);
}

/* Pool p as worker w sees it: the library's samples (gauges as published, counters from the
 * ledger), then the daemon's own. names: the samples' names and kinds from any worker of s
 * (the same in all), n of them. */
static void collect_pool(struct proto_stats *st, struct stats_shm *s, unsigned w, size_t p,
                         const struct stats_sample *names, uint32_t n)
{
    struct stats_sample mine[STATS_POOL_SAMPLES];
    struct stats_pool_counters *c = stats_shm_pool_counters(s, w, p);
    uint32_t nmine = w < s->nworkers ? copy_pool(pool_block(s, w, p), mine) : 0;
    char num[16];

    snprintf(num, sizeof(num), "%u", w);
    proto_stats_clear_labels(st);
    proto_stats_set_label(st, "worker", num);
    proto_stats_set_label(st, "pool", s->names[p]);
    for (uint32_t i = 0; i < n; i++) {
        int kind = atomic_load(&names[i].kind);
        bool counter = kind == WASMSLOT_STATS_COUNTER;

        if (counter && i < STATS_LIB_COUNTERS && c != NULL)
            proto_stats_add(st, names[i].name, WASMSLOT_STATS_COUNTER, ld(&c->lib[i]));
        else if (i < nmine)
            proto_stats_add(st, names[i].name,
                            counter ? WASMSLOT_STATS_COUNTER : WASMSLOT_STATS_GAUGE,
                            atomic_load(&mine[i].value));
    }
    if (c == NULL)
        return;
    for (unsigned op = PROTO_OP_INSTANTIATE; op <= PROTO_OP_CALL; op++) {
        proto_stats_set_label(st, "op", op_label(op));
        proto_stats_add(st, "pool_requests", WASMSLOT_STATS_COUNTER, ld(&c->requests[op]));
    }
    proto_stats_set_label(st, "op", NULL);
    add_errors(st, "pool_errors", c->errors);
    add_hist(st, "run_seconds", &c->run);
    add_hist(st, "queue_wait_seconds", &c->wait);
    proto_stats_add(st, "slots_busy_peak", WASMSLOT_STATS_GAUGE, ld(&c->busy_peak));
    proto_stats_add(st, "pool_waits", WASMSLOT_STATS_COUNTER, ld(&c->pool_waits));
    proto_stats_add(st, "pool_wait_timeouts", WASMSLOT_STATS_COUNTER, ld(&c->pool_wait_timeouts));
    proto_stats_add_ns(st, "pool_wait_seconds", WASMSLOT_STATS_COUNTER, ld(&c->pool_wait_ns));
}

void stats_collect(struct proto_stats *st, struct stats_global *g, struct stats_shm *s)
{
    unsigned nw = atomic_load(&g->nworkers_max);
    struct stats_sample names[STATS_POOL_SAMPLES];

    if (nw < s->nworkers)
        nw = s->nworkers;
    proto_stats_clear_labels(st);
    proto_stats_add(st, "generation", WASMSLOT_STATS_GAUGE, atomic_load(&g->generation));
    proto_stats_add(st, "workers", WASMSLOT_STATS_GAUGE, s->nworkers);
    proto_stats_add_ns(st, "uptime_seconds", WASMSLOT_STATS_GAUGE, mono_ns() - g->start_ns);
    proto_stats_add(st, "worker_restarts", WASMSLOT_STATS_COUNTER,
                    atomic_load(&g->worker_restarts));
    proto_stats_add(st, "reloads", WASMSLOT_STATS_COUNTER, atomic_load(&g->reloads));
    proto_stats_add(st, "reloads_failed", WASMSLOT_STATS_COUNTER, atomic_load(&g->reloads_failed));
    /* Worker numbers of an earlier, larger generation keep their counters. */
    for (unsigned w = 0; w < nw; w++)
        collect_worker(st, s, w);
    for (size_t p = 0; p < s->npools; p++) {
        uint32_t n = 0;

        for (unsigned w = 0; w < s->nworkers && n == 0; w++)
            n = copy_pool(pool_block(s, w, p), names);
        for (unsigned w = 0; w < nw; w++)
            collect_pool(st, s, w, p, names, n);
    }
    proto_stats_clear_labels(st);
}
