/* worker.h: a wasmslotd worker process: a libevent loop on the shared socket, executor threads,
 * connections owning their instances. */
#ifndef WORKER_H
#define WORKER_H

#include "cfg.h"
#include "exec_pool.h"
#include "modset.h"
#include "stats.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Everything a worker inherits from the master at fork. */
struct worker_args {
    const struct config *cfg;
    const struct modset *mods;
    int listen_fd;
    const int *fcgi_fds; /* the FastCGI sockets of cfg->listens, in its order (listen.h) */
    size_t nfcgi;
    struct stats_shm *shm;
    struct stats_global *global;
    unsigned index;      /* worker number in its generation, 0-based */
    unsigned generation; /* the master's generation counter */
};

struct event_base;
struct event;
struct exec_pool;
struct conn;
struct conn_fair;
struct fcgi_server;

/* A worker process's state, shared by the loop thread and (read-only, except the noted
 * fields) the executor threads. */
struct worker {
    const struct worker_args *args;
    const struct config *cfg;
    const struct modset *mods;
    struct modset_pools *pools;
    struct exec_pool *exec;
    struct event_base *base;
    struct event *listen_ev; /* the shared socket: a connection is waiting */
    struct event *accept_ev; /* accepting again after a pause or a deferral */
    bool backing;            /* standing back for less loaded siblings */
    uint64_t back_since_ns;  /* since then */
    uint64_t back_siblings;  /* the siblings' open connections then */
    uint64_t stuck_until_ns; /* the siblings took none for ACCEPT_DEFER_NS: no waiting until */
    struct event *sigterm_ev, *grace_ev;
    struct stats_worker *st;           /* what is true now of this worker (shared) */
    struct stats_worker_counters *ctr; /* this worker number's counters (shared) */
    struct conn_fair *fair;            /* what the connections share: limits and queues */
    struct fcgi_server *fcgi;          /* the FastCGI listeners and their connections (fcgi.h) */
    struct conn *conns;                /* loop thread only */
    unsigned nconns;                   /* loop thread only; FastCGI connections included */
    struct event *flush_ev;  /* after the grace period: the last replies' time to go out */
    struct event *linger_ev; /* a stopping daemon: refuse until the siblings are done too */
    /* Retiring (SIGTERM): no new work; every request read from now on is answered with
     * shutting_down, and each connection is closed once its runs are answered. Set on the
     * loop thread, read by the executor threads too. */
    atomic_bool stopping;
    /* The whole daemon stops (not a reload): new connections get one shutting_down line,
     * since no other generation will take them. Loop thread only. */
    bool refusing;
    /* The grace period is over: runs in flight are interrupted and answered with
     * shutting_down, and queued requests are answered with it without running. */
    atomic_bool cut;
};

/* What the connections (conn.c, conn_job.c) do to their worker's state. Inline here rather
 * than in worker.c, so that the connection code, which worker.c drives, never calls back up
 * into it. */

/* Publish pool mod's samples to the shared region (any thread). */
static inline void worker_publish_pool(struct worker *w, size_t mod)
{
    modset_pool_publish(w->pools, mod, w->args->shm, w->args->index);
}

/* A connection of w closed (loop thread): a stopping worker exits with its last one (when the
 * daemon stops, once its siblings have none either: see on_linger in worker.c). */
static inline void worker_conn_gone(struct worker *w)
{
    if (!atomic_load(&w->stopping) || w->nconns > 0)
        return;
    if (w->refusing)
        event_active(w->linger_ev, EV_TIMEOUT, 1);
    else
        exec_pool_stop(w->exec);
}

/* The worker's main: serve until SIGTERM (take no new work; let the runs in flight finish for
 * the grace period, then interrupt them; answer every request read with a reply or
 * shutting_down, then close) or until the master dies. Returns the exit status. */
int worker_main(const struct worker_args *a);

#endif
