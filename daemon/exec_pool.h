/* exec_pool.h: a worker's threads, in the leader/followers pattern: one thread at a time runs
 * the event loop; when it finds guest code to run it hands the loop to an idle thread and runs
 * the job itself, so a request never waits for a thread wake-up and a long run never stalls
 * the loop or the other connections. */
#ifndef EXEC_POOL_H
#define EXEC_POOL_H

#include "wasmslot.h"

#include <stddef.h>

struct event_base;

/* A unit of work. Embed it in your own job struct; run() owns the job once called. */
struct exec_job {
    struct exec_job *next;
    /* Called on one of the pool's threads with that thread's execution context. */
    void (*run)(struct exec_job *job, struct wasmslot_exec *ex);
};

/* The jobs of one owner (a connection), waiting in order. The pool takes the owners' jobs in
 * turn, one each, so that one owner's backlog cannot hold up another's next job by more
 * than the runs already under way. Embed it in the owner, zeroed; it must stay valid while
 * any of its jobs waits. */
struct exec_queue {
    struct exec_job *head, *tail;
    struct exec_queue *next; /* in the pool's ring of queues with waiting jobs */
};

struct exec_pool;

/* A pool for base whose jobs run on at most nrunners threads at once: exec_pool_run() starts
 * nrunners threads and the calling thread makes nrunners + 1, so one is always free to run
 * the loop. NULL and a message in err on failure. */
struct exec_pool *exec_pool_new(struct event_base *base, unsigned nrunners, char *err,
                                size_t errlen);

/* Queue a job of owner q; it runs soon. Jobs of one queue run in submission order; the
 * queues with waiting jobs are served round-robin, one job each. Thread-safe. */
void exec_pool_submit(struct exec_pool *p, struct exec_queue *q, struct exec_job *job);

/* Queue a job ahead of every queue's and wake an idle thread to run it now (exec_pool_submit
 * wakes nobody: the submitting loop or job picks it up when it is done). For jobs that must
 * run at the same time as the submitter's, such as the other threads of a multi-threaded
 * call. Thread-safe. */
void exec_pool_submit_wake(struct exec_pool *p, struct exec_job *job);

/* Start the threads and take part from the calling thread (the worker's main thread) until
 * exec_pool_stop(); returns 0, or -1 when the threads or the event loop failed (see
 * exec_pool_stop_reason). Add the base's events before calling it. */
int exec_pool_run(struct exec_pool *p);

/* Why the pool stopped, for the log. */
const char *exec_pool_stop_reason(struct exec_pool *p);

/* Make every thread leave once the queue is empty (call from an event callback or any thread). */
void exec_pool_stop(struct exec_pool *p);

/* Run what is still queued, join the threads and free the pool. Accepts NULL. */
void exec_pool_free(struct exec_pool *p);

#endif
