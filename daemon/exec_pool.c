/* exec_pool.c: leader/followers threads sharing one libevent loop and one FIFO job queue. */
#include "config.h"

#include "exec_pool.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct exec_thread {
    pthread_t tid;
    struct exec_pool *pool;
    struct wasm_exec *ex;
    bool started;
};

struct exec_pool {
    struct event_base *base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct exec_job *head, *tail; /* waiting jobs */
    unsigned nrunners;            /* jobs that may run at once */
    unsigned running;             /* jobs running now */
    unsigned idle;                /* threads waiting on cv */
    bool leader;                  /* a thread is in the event loop */
    bool stop;
    bool loop_failed;
    unsigned n; /* threads started by the pool */
    struct exec_thread *t;
    struct exec_thread main; /* the thread of exec_pool_run */
};

/* Caller holds mu: pop the next job when a runner is free. */
static struct exec_job *do_take(struct exec_pool *p)
{
    struct exec_job *j = p->head;

    if (j == NULL || p->running >= p->nrunners)
        return NULL;
    p->head = j->next;
    if (p->head == NULL)
        p->tail = NULL;
    p->running++;
    return j;
}

/* Caller holds mu: wake one idle thread, if any, to lead or to run a job. */
static void do_wake(struct exec_pool *p)
{
    if (p->idle > 0)
        pthread_cond_signal(&p->cv);
}

static void run_job(struct exec_pool *p, struct exec_thread *t, struct exec_job *j)
{
    pthread_mutex_unlock(&p->mu);
    j->next = NULL;
    j->run(j, t->ex);
    pthread_mutex_lock(&p->mu);
    p->running--;
}

static void member(struct exec_thread *t)
{
    struct exec_pool *p = t->pool;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct exec_job *j = do_take(p);

        if (j != NULL) {
            run_job(p, t, j);
            /* This runner is free again: a job waiting for one can go. */
            if (p->head != NULL)
                do_wake(p);
            continue;
        }
        if (p->stop && p->head == NULL) {
            /* Let the others see it too, then leave. */
            pthread_cond_broadcast(&p->cv);
            break;
        }
        if (!p->leader && !p->stop) {
            int rc;
            p->leader = true;
            pthread_mutex_unlock(&p->mu);
            /* Callbacks answer quick requests themselves and queue guest code. */
            rc = event_base_loop(p->base, EVLOOP_ONCE);
            pthread_mutex_lock(&p->mu);
            if (rc < 0) {
                p->loop_failed = true;
                p->stop = true;
            }
            /* rc 1: no event left to wait for; leading again would spin. */
            if (rc == 1)
                p->stop = true;
            if (event_base_got_exit(p->base) || event_base_got_break(p->base))
                p->stop = true;
            j = do_take(p);
            if (j == NULL)
                continue; /* nothing to run: lead again */
            /* Hand the loop to another thread and run the job here, without a wake-up on the
             * request's path. */
            p->leader = false;
            do_wake(p);
            run_job(p, t, j);
            if (p->head != NULL)
                do_wake(p);
            continue;
        }
        p->idle++;
        pthread_cond_wait(&p->cv, &p->mu);
        p->idle--;
    }
    pthread_mutex_unlock(&p->mu);
}

static void *thread_main(void *arg)
{
    member(arg);
    return NULL;
}

struct exec_pool *exec_pool_new(struct event_base *base, unsigned nrunners, char *err,
                                size_t errlen)
{
    struct exec_pool *p = calloc(1, sizeof(*p));
    struct wasm_error werr = {0};

    if (p == NULL || (p->t = calloc(nrunners, sizeof(*p->t))) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(p);
        return NULL;
    }
    p->base = base;
    p->nrunners = nrunners;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->main.pool = p;
    p->main.ex = wasm_exec_new(NULL, &werr);
    if (p->main.ex == NULL)
        goto fail_exec;
    p->n = nrunners;
    for (unsigned i = 0; i < nrunners; i++) {
        int rc;

        p->t[i].pool = p;
        p->t[i].ex = wasm_exec_new(NULL, &werr);
        if (p->t[i].ex == NULL)
            goto fail_exec;
        rc = pthread_create(&p->t[i].tid, NULL, thread_main, &p->t[i]);
        if (rc != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(rc));
            goto fail;
        }
        p->t[i].started = true;
    }
    return p;
fail_exec:
    snprintf(err, errlen, "execution context: %s",
             werr.message[0] ? werr.message : wasm_strerror(werr.code));
fail:
    exec_pool_stop(p);
    exec_pool_free(p);
    return NULL;
}

void exec_pool_submit(struct exec_pool *p, struct exec_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail != NULL)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    /* The leader picks it up when its loop iteration ends; an idle thread can take it now. */
    if (p->running < p->nrunners)
        do_wake(p);
    pthread_mutex_unlock(&p->mu);
}

int exec_pool_run(struct exec_pool *p)
{
    member(&p->main);
    return p->loop_failed ? -1 : 0;
}

void exec_pool_stop(struct exec_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* A thread blocked in the loop returns from it. */
    event_base_loopbreak(p->base);
}

void exec_pool_free(struct exec_pool *p)
{
    if (p == NULL)
        return;
    exec_pool_stop(p);
    for (unsigned i = 0; i < p->n; i++) {
        if (p->t[i].started)
            pthread_join(p->t[i].tid, NULL);
        wasm_exec_free(p->t[i].ex);
    }
    /* Jobs queued after every thread left (none should be) still get their run. */
    while (p->head != NULL) {
        struct exec_job *j = p->head;
        p->head = j->next;
        p->running++;
        pthread_mutex_lock(&p->mu);
        run_job(p, &p->main, j);
        pthread_mutex_unlock(&p->mu);
    }
    wasm_exec_free(p->main.ex);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->t);
    free(p);
}
