/* stats.h: the daemon's counters in memory shared by the master and every worker, so any
 * worker (or the master's HTTP endpoint) can report the whole daemon. */
#ifndef STATS_H
#define STATS_H

#include "proto.h"
#include "wasmslot.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATS_NAME_MAX     48  /* bytes of a pool sample name, NUL included */
#define STATS_POOL_SAMPLES 48  /* samples kept per pool and worker */
#define STATS_LIB_COUNTERS 32  /* of which counters carried across reloads (the first ones) */
#define STATS_ERR_CODES    32  /* error counters per worker, indexed by enum proto_err */
#define STATS_OPS          8   /* request counters per worker: enum proto_op, then "invalid" */
#define STATS_MAX_WORKERS  256 /* worker numbers whose counters are kept (cfg's limit) */
#define STATS_MAX_POOLS    128 /* pool names whose counters are kept over the master's life */
#define STATS_HIST         (PROTO_STATS_BUCKETS + 1)

/*
 * Two kinds of shared memory:
 * - the ledger (struct stats_global), mapped once by the master before any fork: every
 *   counter, by worker number and by pool name, so that what a generation counted stays
 *   counted after a reload (old and new worker i add to the same counters) or a restart;
 * - one region per generation (struct stats_shm): what is true now (pids, open connections,
 *   the pools' slots) and the names of its pools' samples.
 */

/* A histogram of times: counts by proto_stats_bucket_ns bucket, and their sum. */
struct stats_hist {
    _Atomic uint64_t count[STATS_HIST];
    _Atomic uint64_t sum_ns;
};

/* Counters of one worker number. */
struct stats_worker_counters {
    _Atomic uint64_t requests[STATS_OPS];     /* request lines read, by enum proto_op; the last
                                                 entry counts lines that did not parse */
    _Atomic uint64_t errors[STATS_ERR_CODES]; /* error replies by enum proto_err */
    _Atomic uint64_t connections;             /* connections accepted */
    _Atomic uint64_t connections_refused;     /* over max_connections: refused */
    _Atomic uint64_t connections_idle_closed; /* closed after idle_timeout */
    _Atomic uint64_t reply_buffer_pauses;     /* reading stopped at max_reply_buffer */
    _Atomic uint64_t fastcgi_responses[6];    /* FastCGI requests answered, by HTTP status /
                                                 100; [0]: aborted, ended without an answer */
};

/* Counters of one pool in one worker number. */
struct stats_pool_counters {
    _Atomic uint64_t requests[STATS_OPS];     /* requests naming the pool, by enum proto_op */
    _Atomic uint64_t errors[STATS_ERR_CODES]; /* their error replies, by enum proto_err */
    struct stats_hist run;                    /* time in guest code per run */
    struct stats_hist wait;                   /* time from reading a request to starting it */
    _Atomic uint64_t pool_waits;              /* instantiations that waited for a free slot */
    _Atomic uint64_t pool_wait_timeouts;      /* of those, answered pool_exhausted in the end */
    _Atomic uint64_t pool_wait_ns;            /* time they spent waiting */
    _Atomic uint64_t busy_peak;               /* most slots held at once */
    _Atomic uint64_t lib[STATS_LIB_COUNTERS]; /* the library's counters, by sample position */
};

/* The ledger: counters kept for the whole life of the master. */
struct stats_global {
    _Atomic uint64_t worker_restarts; /* workers that died and were started again */
    _Atomic uint64_t reloads;         /* successful reloads */
    _Atomic uint64_t reloads_failed;  /* SIGHUPs whose new config was rejected */
    _Atomic uint64_t generation;      /* current generation number (1 at start) */
    uint64_t start_ns;                /* CLOCK_MONOTONIC when the master started */
    _Atomic unsigned nworkers_max;    /* highest worker count of any generation so far */
    unsigned npools;                  /* pool names with a number (master only writes) */
    char pool_names[STATS_MAX_POOLS][72];
    struct stats_worker_counters worker[STATS_MAX_WORKERS];
    struct stats_pool_counters pool[STATS_MAX_POOLS][STATS_MAX_WORKERS];
};

/* One generation's region: a block per worker plus the names of its pools. */
struct stats_shm;
struct stats_pool;

/* What is true now of one worker, written by that worker only (relaxed atomics: readers in
 * other processes read them as they are). */
struct stats_worker {
    _Atomic int64_t pid;
    _Atomic uint64_t connections_open; /* connections open now */
    _Atomic uint64_t instances_open;   /* instances alive now */
    _Atomic uint64_t executor_queue;   /* requests waiting for an executor thread now */
    _Atomic uint64_t memory_bytes;     /* guest memories + unsent replies + WASI reply reserves:
                                          what max_total_memory bounds (deltas wrap around) */
    _Atomic uint64_t unlimited_runs;   /* executor threads running without a deadline now */
};

/* The ledger: mapped once by the master at start-up, before any fork. NULL when out of
 * memory. */
struct stats_global *stats_global_new(void);

/* Map a region for nworkers workers of a generation whose pools are named names[0..npools),
 * giving each pool name its counters in the ledger g (a name seen before keeps its own).
 * Must be called in the master, before the generation's forks; the mapping is MAP_SHARED.
 * NULL when out of memory. A pool past STATS_MAX_POOLS names is served but not counted. */
struct stats_shm *stats_shm_new(struct stats_global *g, unsigned nworkers, const char *const *names,
                                size_t npools);

/* Unmap it (in the master once the generation is gone; workers just exit). Accepts NULL. */
void stats_shm_free(struct stats_shm *s);

/* What is true now of worker i. */
struct stats_worker *stats_shm_worker(struct stats_shm *s, unsigned i);

/* The counters of worker i (in the ledger). */
struct stats_worker_counters *stats_shm_worker_counters(struct stats_shm *s, unsigned i);

/* The counters of pool p in worker i (in the ledger); NULL for a pool past
 * STATS_MAX_POOLS names. */
struct stats_pool_counters *stats_shm_pool_counters(struct stats_shm *s, unsigned i, size_t p);

/* Clear what a dead worker left behind (open counts, pool samples) before its replacement
 * starts; the counters are kept. */
void stats_shm_worker_reset(struct stats_shm *s, unsigned i, pid_t pid);

/* Slots of pool p held by worker i's instances changed by delta (+1 taken, -1 given back):
 * keeps the pool's peak. */
void stats_shm_pool_hold(struct stats_shm *s, unsigned i, size_t p, int delta);

/* Record one observation of ns nanoseconds in h. Thread-safe, lock-free. */
void stats_hist_observe(struct stats_hist *h, uint64_t ns);

/* The hooks of the request path (any thread; c may be NULL for an uncounted pool): */
static inline void stats_pool_request(struct stats_pool_counters *c, unsigned op)
{
    if (c != NULL && op < STATS_OPS)
        atomic_fetch_add_explicit(&c->requests[op], 1, memory_order_relaxed);
}
static inline void stats_pool_error(struct stats_pool_counters *c, unsigned code)
{
    if (c != NULL && code < STATS_ERR_CODES)
        atomic_fetch_add_explicit(&c->errors[code], 1, memory_order_relaxed);
}
static inline void stats_pool_run(struct stats_pool_counters *c, uint64_t ns)
{
    if (c != NULL)
        stats_hist_observe(&c->run, ns);
}
/* A request waited ns from being read to being started (executor queue, a busy instance, or
 * a wait for a slot). */
static inline void stats_pool_wait(struct stats_pool_counters *c, uint64_t ns)
{
    if (c != NULL)
        stats_hist_observe(&c->wait, ns);
}
/* A request found the pool full and starts waiting for a slot (pool_wait). */
static inline void stats_pool_wait_begin(struct stats_pool_counters *c)
{
    if (c != NULL)
        atomic_fetch_add_explicit(&c->pool_waits, 1, memory_order_relaxed);
}
/* Its wait for a slot ended after ns, with a slot or (timed_out) without one. */
static inline void stats_pool_wait_end(struct stats_pool_counters *c, uint64_t ns, bool timed_out)
{
    if (c == NULL)
        return;
    atomic_fetch_add_explicit(&c->pool_wait_ns, ns, memory_order_relaxed);
    if (timed_out)
        atomic_fetch_add_explicit(&c->pool_wait_timeouts, 1, memory_order_relaxed);
}

/* Publish one sample of pool p as seen by worker i; a wasmslot_stats_sink_fn-shaped callback
 * whose arg is a struct stats_publisher. Samples of one publication are framed by
 * stats_publish_begin/end so readers never see a torn set. Counters among the first
 * STATS_LIB_COUNTERS samples also add what they grew by to the ledger. */
struct stats_publisher {
    struct stats_shm *shm;
    unsigned worker;
    size_t pool;
    uint32_t cursor;          /* where the next sample is expected (they come in the same order) */
    struct stats_pool *block; /* set by stats_publish_begin */
};
void stats_publish_begin(struct stats_publisher *pub);
/* A wasmslot_stats_sink_fn: arg is the struct stats_publisher. */
void stats_publish_sample(void *arg, const char *name, enum wasmslot_stats_kind kind,
                          uint64_t value);
void stats_publish_end(struct stats_publisher *pub);
/* Between begin and end: refresh the values of the first n samples of an earlier full
 * publication (same names, same order) without naming them. False when there was none yet;
 * then publish every sample with stats_publish_sample. */
bool stats_publish_values(struct stats_publisher *pub, const uint64_t *values, uint32_t n);

unsigned stats_shm_nworkers(const struct stats_shm *s);

/* Add every sample of the daemon to st (PROTOCOL.md "Statistics"): the daemon's, each worker
 * number's (those of generation s, and the counters of any number used since the master
 * started), and each pool's of s per worker. Shared memories are the caller's
 * (shm_stats_add). */
void stats_collect(struct proto_stats *st, struct stats_global *g, struct stats_shm *s);

#endif
