/* conn_internal.h: what conn.c (the connection on the loop thread) and conn_job.c (its requests
 * on the executor threads) share: the layouts of a connection, its instances and jobs, and the
 * functions each calls of the other. Private to the daemon's connection code. */
#ifndef CONN_INTERNAL_H
#define CONN_INTERNAL_H

#include "clock.h"
#include "conn.h"

#include "exec_pool.h"
#include "mtcall.h"
#include "proto.h"
#include "worker.h"

#include <event2/util.h>
#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct job;

/* A pool's requests waiting for a free slot (pool_wait), oldest first. */
struct conn_waitq {
    pthread_mutex_t mu;
    struct job *head;
    struct event *ev; /* fires at the head's deadline (loop thread) */
};

/* What a worker's connections share (any thread unless noted): the bounds that keep one
 * client from starving or exhausting the others. */
struct conn_fair {
    struct worker *w;
    struct conn_waitq *waits; /* one per module */
    size_t nmods;
    struct uid_count *uids; /* open connections per client uid (loop thread) */
    size_t nuids, uids_cap;
};

/* An instance owned by a connection. */
struct inst {
    struct inst *next;
    char handle[PROTO_HANDLE_MAX];
    struct modset_instance mi;
    size_t charged;            /* its memory's size, counted in conn_fair.mem */
    bool busy;                 /* one of its jobs is queued on the executors or running */
    bool terminating;          /* a terminate was accepted: the handle is gone for new requests */
    struct job *qhead, *qtail; /* jobs waiting behind the busy one, run in order */
};

/* A request handed to the executor threads. */
struct job {
    struct exec_job ej; /* first: the executor hands this pointer back */
    struct conn *c;
    struct proto_request req;
    size_t mod;
    struct inst *inst;             /* run, terminate */
    struct wasmslot_exec *running; /* set while guest code runs, so a close can interrupt it */
    struct job *rnext, *rprev;     /* the connection's list of running jobs */
    struct job *qnext;             /* an instance's waiting list */
    struct mtcall *mt;             /* a call with threads: its other threads, interrupted with it */
    size_t reserve;                /* what it adds to c->reserved until it is freed */
    unsigned unlimited;            /* executor threads it runs on without a deadline */
    uint64_t wait_t0, wait_until;  /* pool_wait: since when, and until when, it waits */
    struct job *wnext;             /* its pool's list of waiting requests */
    uint64_t read_ns;              /* when its request line was read (the queue wait's start) */
};

struct conn {
    struct worker *w;
    int fd;
    struct event *rev, *wev;
    struct proto_framer *fr;
    atomic_int refs;     /* the loop thread's, plus one per job */
    struct exec_queue q; /* its jobs waiting for an executor (exec_pool's lock) */

    pthread_mutex_t mu; /* guards everything below */
    struct evbuffer *out;
    bool closed;
    bool read_eof;       /* the client shut its sending side: close once everything is answered */
    bool read_paused;    /* replies pile up unread: stop reading requests for a while */
    bool backlog;        /* loop thread: complete lines wait in the framer for another turn */
    bool eof_pending;    /* loop thread: the peer's end of input came behind the backlog */
    unsigned inflight;   /* jobs not yet finished */
    unsigned ninstances; /* live instances plus instantiations under way */
    unsigned *held;      /* the same, per module (max_instances_per_connection of a pool) */
    size_t out_charged;  /* the part of out counted in conn_fair.mem */
    uid_t uid;           /* the client's, from SO_PEERCRED; (uid_t)-1 when unknown */
    struct inst *insts;
    struct job *running;
    struct job *spare_job;   /* a finished job kept for the next request */
    size_t reserved;         /* worst-case bytes of its WASI replies in flight */
    bool peek;               /* requests are peeked (SO_PEEK_OFF) and consumed after a reply */
    size_t unconsumed;       /* bytes peeked and not yet consumed from the socket */
    uint64_t last_active_ns; /* last request bytes read, reply bytes taken or run finished */
    struct event *idle_ev;   /* idle_timeout's timer (loop thread); NULL when there is none */

    struct conn *prev, *next; /* the worker's list (loop thread) */
};

/* An instance of module mod of c is gone, or its instantiation failed. Caller holds c->mu. */
static inline void conn__do_held_drop(struct conn *c, size_t mod)
{
    c->ninstances--;
    c->held[mod]--;
}

/* Count delta bytes in (or out of) the worker's memory total (any thread). */
static inline void conn__mem_add(struct conn *c, int64_t delta)
{
    atomic_fetch_add_explicit(&c->w->st->memory_bytes, (uint64_t)delta, memory_order_relaxed);
}

/* Whether the worker's memory total has reached max_total_memory (any thread). */
bool conn__mem_full(const struct conn *c, size_t more);

/* A slot of pool mod was released (any thread): the oldest request waiting for one
 * (pool_wait) tries again. */
void conn__pool_freed(struct worker *w, size_t mod);

/* pool_wait's timer of a pool (loop thread): answer pool_exhausted to the requests that
 * waited their time. */
void conn__pool_wait_expire(evutil_socket_t fd, short what, void *arg);

/* ---------------------------------------------------------------- conn.c */

/* The counters of the pool the thread is answering a request for (NULL: none), so that
 * conn__send_line counts an error reply for the pool as well as for the worker. */
extern _Thread_local struct stats_pool_counters *conn__reply_pool;

/* The counters of pool mod of w's worker number. */
static inline struct stats_pool_counters *conn__pool_ctr(const struct worker *w, size_t mod)
{
    return stats_shm_pool_counters(w->args->shm, w->args->index, mod);
}

/* Slots of pool mod held by w's instances change by delta; instances_open with them. */
static inline void conn__hold(struct worker *w, size_t mod, int delta)
{
    if (delta > 0)
        atomic_fetch_add_explicit(&w->st->instances_open, (uint64_t)delta, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&w->st->instances_open, (uint64_t)-delta, memory_order_relaxed);
    stats_shm_pool_hold(w->args->shm, w->args->index, mod, delta);
}

/* Drop one reference to c (any thread); the last one frees it. */
void conn__unref(struct conn *c);

/* Send one complete reply line of len bytes (any thread), counting its error code. Writes
 * straight to the socket when nothing is queued, so a reply from an executor thread does not
 * wait for the loop thread; the rest waits in c->out for the loop thread. */
void conn__send_line(struct conn *c, const char *line, size_t len, enum proto_err code);

/* Render msg (a reference taken over; NULL for out of memory) and send it (any thread). */
void conn__reply(struct conn *c, json_t *msg, enum proto_err code);

/* Send an error reply to request id with a printf-style message (any thread). */
void conn__reply_error(struct conn *c, const json_t *id, enum proto_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Send the error reply for the library's error code rc, with an optional detail (any thread). */
void conn__reply_wasm_error(struct conn *c, const json_t *id, int rc, const char *detail);

/* A job's reply is out: give back its reserve bytes of the reply budget, and have the loop
 * thread read the connection again if only that held it. Caller holds c->mu. */
void conn__reply_budget_release(struct conn *c, size_t reserve);

/* ---------------------------------------------------------------- conn_job.c */

/* Terminate an instance that is no longer on c's list (any thread): release its slot. */
void conn__inst_destroy(struct conn *c, struct inst *in);

/* Unlink in from c's list of instances. Caller holds c->mu. */
void conn__do_inst_unlink(struct conn *c, struct inst *in);

/* c's instance named handle, not being terminated; NULL if none. Caller holds c->mu. */
struct inst *conn__do_inst_find(struct conn *c, const char *handle);

/* The executor's run hook of a job (an executor thread): instantiate, call, run or terminate,
 * reply, then free the job. */
void conn__job_run(struct exec_job *ej, struct wasmslot_exec *ex);

/* A reply rendered by proto_render_*() into a stack buffer (no json_t, no malloc); len 0
 * means the fast renderer declined, and msg() builds the reply for jansson instead. */
#define REPLY_FAST(c, code, render, msg)                                                           \
    do {                                                                                           \
        char fast_[512];                                                                           \
        size_t flen_ = render;                                                                     \
        if (flen_ != 0)                                                                            \
            conn__send_line((c), fast_, flen_, (code));                                            \
        else                                                                                       \
            conn__reply((c), (msg), (code));                                                       \
    } while (0)

#endif
