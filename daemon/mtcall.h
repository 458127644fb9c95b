/* mtcall.h: one export called on several instances at once, each on its own executor thread:
 * the `threads` of a call (PROTOCOL.md "Threads"). */
#ifndef MTCALL_H
#define MTCALL_H

#include "exec_pool.h"
#include "wasmslot.h"

#include <stdint.h>

/* One thread of a call: what to call and where its outcome goes. */
struct mtcall_thread {
    struct wasmslot_func *func;
    const struct wasmslot_value *args;
    uint32_t nargs;
    struct wasmslot_value *results; /* room for nresults values */
    uint32_t nresults;
    int rc; /* filled by mtcall_run: wasmslot_call's result */
};

/* The shared state of one multi-threaded call (reference counted: the pool may still hold a
 * thread's job after the call ended). */
struct mtcall;

/* A call of n threads. NULL when out of memory. */
struct mtcall *mtcall_new(unsigned n);

/* Drop the caller's reference. Accepts NULL. */
void mtcall_free(struct mtcall *mt);

/* Run t[0..n): t[0] on the calling thread with ex, the others as jobs of pool, each on the
 * executor thread that picks it up, with that thread's execution context. A job no thread has
 * started by the time t[0] ended is run by the caller itself, so the call always ends, even
 * when every executor is busy (the threads then run one after the other). prepare (may be
 * NULL) is called on each context before its run, e.g. to bind the thread's WASI state, and
 * finish (may be NULL) on it right after, on the same thread, e.g. to close what the run
 * opened; deadline_ns (CLOCK_MONOTONIC, 0: none) applies to every thread. Returns once every
 * thread has ended, with t[i].rc filled. Call it once per mtcall. */
void mtcall_run(struct mtcall *mt, struct exec_pool *pool, struct wasmslot_exec *ex,
                struct mtcall_thread *t, uint64_t deadline_ns,
                void (*prepare)(void *arg, struct wasmslot_exec *ex),
                void (*finish)(void *arg, struct wasmslot_exec *ex), void *arg);

/* Stop the call: threads running now end with WASMSLOT_TRAP_TIMEOUT, threads not yet started do
 * not run (rc -WASMSLOT_TRAP_TIMEOUT). Any thread, while the caller's reference is held. */
void mtcall_interrupt(struct mtcall *mt);

#endif
