/* stats.h: the daemon's counters in memory shared by the master and every worker, so any
 * worker can answer `stats` for the whole daemon. */
#ifndef STATS_H
#define STATS_H

#include "wasmslot.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATS_NAME_MAX     48 /* bytes of a pool sample name, NUL included */
#define STATS_POOL_SAMPLES 48 /* samples kept per pool and worker */
#define STATS_ERR_CODES    32 /* error counters per worker, indexed by enum proto_err */
#define STATS_OPS          8  /* request counters per worker: enum proto_op, then "invalid" */

/* Counters kept for the whole life of the daemon (across reloads), written by the master. */
struct stats_global {
    _Atomic uint64_t worker_restarts; /* workers that died and were started again */
    _Atomic uint64_t reloads;         /* successful reloads */
    _Atomic uint64_t reloads_failed;  /* SIGHUPs whose new config was rejected */
    _Atomic uint64_t generation;      /* current generation number (1 at start) */
};

/* One generation's region: a block per worker plus the names of its pools. */
struct stats_shm;
struct stats_pool;

/* Per-worker counters, written by that worker only (relaxed atomics: readers in other
 * processes add them up). */
struct stats_worker {
    _Atomic int64_t pid;
    _Atomic uint64_t requests[STATS_OPS];     /* request lines read, by enum proto_op; the last
                                                 entry counts lines that did not parse */
    _Atomic uint64_t connections;             /* connections accepted */
    _Atomic uint64_t connections_open;        /* connections open now */
    _Atomic uint64_t instances_open;          /* instances alive now */
    _Atomic uint64_t runs;                    /* exports run (run and call requests) */
    _Atomic uint64_t run_nanoseconds;         /* time spent in guest runs */
    _Atomic uint64_t errors[STATS_ERR_CODES]; /* error replies by enum proto_err */
    _Atomic uint64_t connections_refused;     /* over max_connections: refused */
    _Atomic uint64_t connections_idle_closed; /* closed after idle_timeout */
    _Atomic uint64_t reply_buffer_pauses;     /* reading stopped at max_reply_buffer */
    _Atomic uint64_t pool_waits;              /* instantiations that waited for a slot */
    _Atomic uint64_t pool_wait_timeouts;      /* of those, answered pool_exhausted in the end */
    _Atomic uint64_t pool_wait_nanoseconds;   /* time they spent waiting */
    _Atomic uint64_t memory_bytes;   /* guest memories + unsent replies + WASI reply reserves:
                                        what max_total_memory bounds (deltas wrap around) */
    _Atomic uint64_t unlimited_runs; /* executor threads running without a deadline now */
    _Atomic uint64_t fastcgi_responses[6]; /* FastCGI requests answered, by HTTP status / 100;
                                              [0]: aborted, ended without an answer */
};

/* Map a region for nworkers workers of a generation whose pools are named names[0..npools).
 * Must be called before fork; the mapping is MAP_SHARED. NULL when out of memory. */
struct stats_shm *stats_shm_new(unsigned nworkers, const char *const *names, size_t npools);

/* Unmap it (in the master once the generation is gone; workers just exit). Accepts NULL. */
void stats_shm_free(struct stats_shm *s);

/* The global counters: mapped once by the master at start-up, before any fork. */
struct stats_global *stats_global_new(void);

/* Counters of worker i. */
struct stats_worker *stats_shm_worker(struct stats_shm *s, unsigned i);

/* Clear what a dead worker left behind (open counts, pool samples) before its replacement
 * starts; the cumulative counters are kept. */
void stats_shm_worker_reset(struct stats_shm *s, unsigned i, pid_t pid);

/* Publish one sample of pool p as seen by worker i; a wasmslot_stats_sink_fn-shaped callback whose
 * arg is a struct stats_publisher. Samples of one publication are framed by stats_publish_begin/end
 * so readers never see a torn set. */
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

/* Walk everything: for each worker (index, pid) its counters and, per pool, a consistent
 * copy of its samples. The callbacks get the worker index, pool index / name. */
struct stats_visitor {
    void *arg;
    void (*worker)(void *arg, unsigned worker, pid_t pid, const struct stats_worker *w);
    void (*pool_sample)(void *arg, unsigned worker, const char *pool, const char *name, int kind,
                        uint64_t value);
};
void stats_shm_visit(struct stats_shm *s, const struct stats_visitor *v);

unsigned stats_shm_nworkers(const struct stats_shm *s);

#endif
