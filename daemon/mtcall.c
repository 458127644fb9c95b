/* mtcall.c: a multi-threaded call: the caller runs thread 0 and hands the others to idle
 * executor threads, running itself whatever no thread picked up. */
#include "config.h"

#include "mtcall.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* A thread of the call queued on the pool. */
struct mt_sub {
    struct exec_job ej; /* first: the pool hands this pointer back */
    struct mtcall *mt;
    unsigned idx;
    atomic_int claimed; /* 1 once a pool thread or the caller took it */
};

struct mtcall {
    atomic_int refs; /* the caller's plus one per queued sub-job */
    unsigned n;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    unsigned done;
    bool interrupted;
    struct wasmslot_exec **running; /* n entries: the context running thread i, or NULL */
    /* Valid during mtcall_run only. */
    struct mtcall_thread *t;
    uint64_t deadline_ns;
    void (*prepare)(void *arg, struct wasmslot_exec *ex);
    void (*finish)(void *arg, struct wasmslot_exec *ex);
    void *arg;
    struct mt_sub *subs; /* n entries; subs[0] is unused (the caller runs thread 0) */
};

struct mtcall *mtcall_new(unsigned n)
{
    struct mtcall *mt = calloc(1, sizeof(*mt));

    if (mt == NULL)
        return NULL;
    mt->running = calloc(n, sizeof(*mt->running));
    mt->subs = calloc(n, sizeof(*mt->subs));
    if (mt->running == NULL || mt->subs == NULL) {
        free(mt->running);
        free(mt->subs);
        free(mt);
        return NULL;
    }
    mt->n = n;
    atomic_init(&mt->refs, 1);
    pthread_mutex_init(&mt->mu, NULL);
    pthread_cond_init(&mt->cv, NULL);
    return mt;
}

void mtcall_free(struct mtcall *mt)
{
    if (mt == NULL || atomic_fetch_sub(&mt->refs, 1) != 1)
        return;
    pthread_cond_destroy(&mt->cv);
    pthread_mutex_destroy(&mt->mu);
    free(mt->running);
    free(mt->subs);
    free(mt);
}

/* Run thread i of the call on ex (any thread). */
static void run_thread(struct mtcall *mt, unsigned i, struct wasmslot_exec *ex)
{
    struct mtcall_thread *t = &mt->t[i];
    bool stop;

    pthread_mutex_lock(&mt->mu);
    stop = mt->interrupted;
    if (!stop)
        mt->running[i] = ex;
    pthread_mutex_unlock(&mt->mu);
    if (stop) {
        t->rc = -WASMSLOT_TRAP_TIMEOUT;
    } else {
        if (mt->prepare != NULL)
            mt->prepare(mt->arg, ex);
        wasmslot_exec_set_deadline(ex, mt->deadline_ns);
        t->rc = wasmslot_call(ex, t->func, t->args, t->nargs, t->results, t->nresults);
        if (mt->finish != NULL)
            mt->finish(mt->arg, ex);
        wasmslot_exec_set_user(ex, NULL);
    }
    pthread_mutex_lock(&mt->mu);
    /* Unlisted, no interrupt can come any more: drop one that came after the guest code
     * ended, so the next job on this executor does not inherit it. */
    if (!stop)
        wasmslot_exec_clear_interrupt(ex);
    mt->running[i] = NULL;
    mt->done++;
    pthread_cond_broadcast(&mt->cv);
    pthread_mutex_unlock(&mt->mu);
}

static void sub_run(struct exec_job *ej, struct wasmslot_exec *ex)
{
    struct mt_sub *s = (struct mt_sub *)ej;
    struct mtcall *mt = s->mt;

    if (atomic_exchange(&s->claimed, 1) == 0)
        run_thread(mt, s->idx, ex);
    mtcall_free(mt);
}

void mtcall_run(struct mtcall *mt, struct exec_pool *pool, struct wasmslot_exec *ex,
                struct mtcall_thread *t, uint64_t deadline_ns,
                void (*prepare)(void *arg, struct wasmslot_exec *ex),
                void (*finish)(void *arg, struct wasmslot_exec *ex), void *arg)
{
    mt->t = t;
    mt->deadline_ns = deadline_ns;
    mt->prepare = prepare;
    mt->finish = finish;
    mt->arg = arg;
    for (unsigned i = 1; i < mt->n; i++) {
        struct mt_sub *s = &mt->subs[i];
        s->ej.run = sub_run;
        s->mt = mt;
        s->idx = i;
        atomic_init(&s->claimed, 0);
        atomic_fetch_add(&mt->refs, 1);
        exec_pool_submit_wake(pool, &s->ej);
    }
    run_thread(mt, 0, ex);
    /* Whatever no executor has started yet runs here: waiting for it could wait for a thread
     * that is itself waiting for its own call's threads. */
    for (unsigned i = 1; i < mt->n; i++)
        if (atomic_exchange(&mt->subs[i].claimed, 1) == 0)
            run_thread(mt, i, ex);
    pthread_mutex_lock(&mt->mu);
    while (mt->done < mt->n)
        pthread_cond_wait(&mt->cv, &mt->mu);
    pthread_mutex_unlock(&mt->mu);
}

void mtcall_interrupt(struct mtcall *mt)
{
    pthread_mutex_lock(&mt->mu);
    mt->interrupted = true;
    /* Sticky: thread i may be listed but not yet in its wasmslot_call, which would clear a plain
     * request as stale. */
    for (unsigned i = 0; i < mt->n; i++)
        if (mt->running[i] != NULL)
            wasmslot_exec_interrupt_sticky(mt->running[i]);
    pthread_mutex_unlock(&mt->mu);
}
