/* exec_pool.h: a worker's executor threads, each with its own execution context, so a long
 * guest run never stalls the event loop or the other connections. */
#ifndef EXEC_POOL_H
#define EXEC_POOL_H

#include "wasmslot.h"

/* A unit of work. Embed it in your own job struct; run() owns the job once called. */
struct exec_job {
    struct exec_job *next;
    /* Called on an executor thread with that thread's execution context. */
    void (*run)(struct exec_job *job, struct wasm_exec *ex);
};

struct exec_pool;

/* Start nthreads threads. NULL and a message in err on failure. */
struct exec_pool *exec_pool_new(unsigned nthreads, char *err, size_t errlen);

/* Queue a job; some thread runs it soon, in submission order. Thread-safe. */
void exec_pool_submit(struct exec_pool *p, struct exec_job *job);

/* Run every job already queued, then stop and join the threads and free the pool. Accepts
 * NULL. */
void exec_pool_free(struct exec_pool *p);

#endif
