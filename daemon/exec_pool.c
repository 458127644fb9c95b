/* exec_pool.c: executor threads fed from one FIFO queue under a mutex and condition variable. */
#include "config.h"

#include "exec_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct exec_thread {
    pthread_t tid;
    struct wasm_exec *ex;
    struct exec_pool *pool;
    bool started;
};

struct exec_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct exec_job *head, *tail;
    unsigned idle; /* threads waiting on cv */
    bool stop;
    unsigned n;
    struct exec_thread *t;
};

static void *exec_thread_main(void *arg)
{
    struct exec_thread *t = arg;
    struct exec_pool *p = t->pool;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct exec_job *j;

        while (p->head == NULL && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        if (p->head == NULL)
            break; /* stopping and drained */
        j = p->head;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->next = NULL;
        j->run(j, t->ex);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct exec_pool *exec_pool_new(unsigned nthreads, char *err, size_t errlen)
{
    struct exec_pool *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->t = calloc(nthreads, sizeof(*p->t))) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->n = nthreads;
    for (unsigned i = 0; i < nthreads; i++) {
        struct wasm_error werr = {0};
        int rc;

        p->t[i].pool = p;
        p->t[i].ex = wasm_exec_new(NULL, &werr);
        if (p->t[i].ex == NULL) {
            snprintf(err, errlen, "execution context: %s",
                     werr.message[0] ? werr.message : wasm_strerror(werr.code));
            goto fail;
        }
        rc = pthread_create(&p->t[i].tid, NULL, exec_thread_main, &p->t[i]);
        if (rc != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(rc));
            goto fail;
        }
        p->t[i].started = true;
    }
    return p;
fail:
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
    /* Only wake a thread when one is waiting: a busy one picks the job up itself. */
    if (p->idle > 0)
        pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void exec_pool_free(struct exec_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++) {
        if (p->t[i].started)
            pthread_join(p->t[i].tid, NULL);
        wasm_exec_free(p->t[i].ex);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->t);
    free(p);
}
