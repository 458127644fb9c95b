/* exec_pool.c: leader/followers threads sharing one libevent loop, and the owners' job queues
 * served round-robin. */
#include "config.h"

#include "clock.h"
#include "exec_pool.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a job may run on the thread that led the loop before the standby thread takes the
 * loop over: the most a long run of guest code can delay the other connections' requests.
 *
 * How the standby learns it, at no cost to short jobs: the leader's execution context calls
 * handoff_notify() when its run reaches this age (the interpreter reads the clock where it
 * checks the deadline, wasmslot_exec_set_notify) or blocks in a wait or a sleep. No timer is
 * armed per job (two system calls each), and the standby does not poll on a short tick
 * either: a timed wake-up costs ~9 us of CPU in a VM, and at 200 us that was ~0.7 us of
 * every request at 60,000 requests per second. */
#define EXEC_HANDOFF_NS 200000

/* While jobs keep coming the standby also looks every EXEC_TICK_NS, for the host work the
 * hook cannot see (instantiating a big module, say); after EXEC_IDLE_TICKS looks without a
 * new job it sleeps until the next one signals it. */
#define EXEC_TICK_NS    2000000
#define EXEC_IDLE_TICKS 25

struct exec_thread {
    pthread_t tid;
    struct exec_pool *pool;
    struct wasmslot_exec *ex;
    bool started;
};

struct exec_pool {
    struct event_base *base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t standby_cv;        /* wakes the standby: a long run, a job after idling, stop */
    struct exec_job *head, *tail;     /* waiting jobs that go first (exec_pool_submit_wake) */
    struct exec_queue *rhead, *rtail; /* the ring of owners' queues with waiting jobs */
    unsigned nrunners;                /* jobs that may run at once */
    unsigned running;                 /* jobs running now */
    unsigned idle;                    /* threads waiting on cv */
    bool leader;                      /* a thread is in the event loop */
    bool standby;                     /* a thread watches the leader, on standby_cv */
    bool deep;                        /* the standby sleeps until a job signals standby_cv */
    unsigned lead_jobs;               /* jobs running on threads that led the loop */
    uint64_t lead_t0;                 /* when the latest of them started (CLOCK_MONOTONIC ns) */
    uint64_t lead_seq;                /* jobs started by threads that led the loop, so far */
    bool stop;
    bool loop_failed;
    const char *stop_reason;
    unsigned n; /* threads started by the pool */
    struct exec_thread *t;
    struct exec_thread main; /* the thread of exec_pool_run */
};

/* Caller holds mu: whether a job waits. */
static bool do_waiting(const struct exec_pool *p)
{
    return p->head != NULL || p->rhead != NULL;
}

/* Caller holds mu: pop the next job when a runner is free: the urgent ones first, then one of
 * the queue at the head of the ring, which goes to the tail if it has more. */
static struct exec_job *do_take(struct exec_pool *p)
{
    struct exec_job *j = p->head;
    struct exec_queue *q = p->rhead;

    if (p->running >= p->nrunners)
        return NULL;
    if (j != NULL) {
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
    } else if (q != NULL) {
        j = q->head;
        q->head = j->next;
        if (q->head == NULL)
            q->tail = NULL;
        p->rhead = q->next;
        if (p->rhead == NULL)
            p->rtail = NULL;
        q->next = NULL;
        if (q->head != NULL) {
            if (p->rtail != NULL)
                p->rtail->next = q;
            else
                p->rhead = q;
            p->rtail = q;
        }
    } else {
        return NULL;
    }
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

/* The leader's run has gone on for EXEC_HANDOFF_NS, or blocks (called on its thread, by the
 * interpreter): wake the standby to take the loop over. */
static void handoff_notify(void *arg)
{
    struct exec_pool *p = arg;

    pthread_mutex_lock(&p->mu);
    if (p->standby)
        pthread_cond_signal(&p->standby_cv);
    pthread_mutex_unlock(&p->mu);
}

/* Caller holds mu: run one iteration of the event loop, then, if it queued guest code, run
 * the first job here while another thread takes the loop over. */
static void lead(struct exec_pool *p, struct exec_thread *t)
{
    struct exec_job *j;
    int rc;

    p->leader = true;
    pthread_mutex_unlock(&p->mu);
    /* Callbacks answer quick requests themselves and queue guest code. */
    rc = event_base_loop(p->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
    pthread_mutex_lock(&p->mu);
    p->leader = false;
    if (rc < 0) {
        p->loop_failed = true;
        p->stop = true;
        p->stop_reason = "event loop failed";
    }
    j = do_take(p);
    if (j == NULL)
        return; /* nothing to run: lead again */
    p->lead_jobs++;
    p->lead_seq++;
    p->lead_t0 = mono_ns();
    if (p->standby) {
        /* A sleeping standby starts watching: jobs are coming again. */
        if (p->deep)
            pthread_cond_signal(&p->standby_cv);
    } else {
        do_wake(p);
    }
    wasmslot_exec_set_notify(t->ex, p->lead_t0 + EXEC_HANDOFF_NS, handoff_notify, p);
    /* Then every job the iteration queued that no other thread took: going back to the loop
     * would leave them waiting for a request that may never come (with one runner, no other
     * thread would run them). The loop is unattended meanwhile, so lead_t0 stays the first
     * job's start: the standby takes the loop over once the whole run gets too long, and
     * then wakes an idle thread for the jobs still queued (see standby()). Not waking one
     * per queued job here: short jobs run back to back on this thread cost no futex
     * wake-up and context switch each, and no contention on mu and the connections'
     * locks; on a machine with few cores the woken thread mostly competed for the same
     * CPU. Only when there is no standby does an idle thread get them now. */
    do {
        if (do_waiting(p) && !p->standby)
            do_wake(p);
        run_job(p, t, j);
    } while ((j = do_take(p)) != NULL && (p->lead_seq++, true));
    wasmslot_exec_set_notify(t->ex, 0, NULL, NULL);
    p->lead_jobs--;
}

/* Caller holds mu: be the standby until a job that led the loop has run for EXEC_HANDOFF_NS
 * (then return, and the caller takes the loop over) or the pool stops. Woken by the
 * leader's handoff_notify(), by a job after a quiet spell ("deep"), or by its own tick while
 * jobs keep coming. */
static void standby(struct exec_pool *p)
{
    uint64_t seq = p->lead_seq;
    unsigned idle = 0;

    p->standby = true;
    while (!p->stop) {
        /* Nothing to take over while another thread leads (one took the loop over from the
         * same long run, say): wait for the next long run's notice instead. */
        if (!p->leader && p->lead_jobs > 0 && mono_ns() - p->lead_t0 >= EXEC_HANDOFF_NS) {
            /* The leader's run is too long for the jobs queued behind it too (lead() does
             * not wake anyone for them while a standby watches): an idle thread runs them
             * while this one takes the loop over. */
            if (do_waiting(p))
                do_wake(p);
            break;
        }
        if (p->deep) {
            pthread_cond_wait(&p->standby_cv, &p->mu);
            if (p->lead_seq != seq) {
                /* A job woke it: jobs are coming, watch them. */
                p->deep = false;
                idle = 0;
                seq = p->lead_seq;
            }
            continue;
        }
        {
            uint64_t until = mono_ns() + EXEC_TICK_NS;
            struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
                                  .tv_nsec = (long)(until % 1000000000u)};
            pthread_cond_timedwait(&p->standby_cv, &p->mu, &ts);
        }
        if (p->lead_seq != seq || p->lead_jobs > 0) {
            seq = p->lead_seq;
            idle = 0;
        } else if (++idle >= EXEC_IDLE_TICKS) {
            p->deep = true;
        }
    }
    p->standby = false;
}

static void member(struct exec_thread *t)
{
    struct exec_pool *p = t->pool;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct exec_job *j;

        if (p->stop && !do_waiting(p)) {
            /* Let the others see it too, then leave. */
            pthread_cond_broadcast(&p->cv);
            break;
        }
        /* The loop first: someone must always be there to read requests. */
        if (!p->leader && !p->stop) {
            lead(p, t);
            continue;
        }
        j = do_take(p);
        if (j != NULL) {
            run_job(p, t, j);
            continue;
        }
        if (!p->standby && !p->stop) {
            standby(p);
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
    struct wasmslot_error werr = {0};

    if (p == NULL || (p->t = calloc(nrunners, sizeof(*p->t))) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(p);
        return NULL;
    }
    p->base = base;
    p->nrunners = nrunners;
    p->deep = true;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    {
        /* The standby's ticks are monotonic times: a clock step must not stretch them. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->standby_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    p->main.pool = p;
    p->main.ex = wasmslot_exec_new(NULL, &werr);
    if (p->main.ex == NULL)
        goto fail_exec;
    p->n = nrunners;
    for (unsigned i = 0; i < nrunners; i++) {
        p->t[i].pool = p;
        p->t[i].ex = wasmslot_exec_new(NULL, &werr);
        if (p->t[i].ex == NULL)
            goto fail_exec;
    }
    return p;
fail_exec:
    snprintf(err, errlen, "execution context: %s",
             werr.message[0] ? werr.message : wasmslot_strerror(werr.code));
    exec_pool_free(p);
    return NULL;
}

/* Caller holds mu: append job to the FIFO queue. */
static void do_enqueue(struct exec_pool *p, struct exec_job *job)
{
    job->next = NULL;
    if (p->tail != NULL)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
}

void exec_pool_submit(struct exec_pool *p, struct exec_queue *q, struct exec_job *job)
{
    pthread_mutex_lock(&p->mu);
    job->next = NULL;
    if (q->tail != NULL) {
        q->tail->next = job;
    } else {
        /* The queue had nothing waiting: it joins the ring's tail. */
        q->head = job;
        q->next = NULL;
        if (p->rtail != NULL)
            p->rtail->next = q;
        else
            p->rhead = q;
        p->rtail = q;
    }
    q->tail = job;
    /* No wake-up: jobs are submitted by the loop's callbacks (the leader runs the job when its
     * iteration ends) or by a job (its thread takes the next one when it finishes). */
    pthread_mutex_unlock(&p->mu);
}

int exec_pool_run(struct exec_pool *p)
{
    /* The threads start only now, once the caller has added its events to the base. */
    for (unsigned i = 0; i < p->n; i++) {
        int rc = pthread_create(&p->t[i].tid, NULL, thread_main, &p->t[i]);
        if (rc != 0) {
            pthread_mutex_lock(&p->mu);
            p->stop_reason = "cannot start the executor threads";
            pthread_mutex_unlock(&p->mu);
            exec_pool_stop(p);
            return -1;
        }
        p->t[i].started = true;
    }
    member(&p->main);
    return p->loop_failed ? -1 : 0;
}

const char *exec_pool_stop_reason(struct exec_pool *p)
{
    return p->stop_reason != NULL ? p->stop_reason : "stopped";
}

void exec_pool_stop(struct exec_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    if (p->stop_reason == NULL)
        p->stop_reason = "asked to stop";
    pthread_cond_broadcast(&p->cv);
    pthread_cond_broadcast(&p->standby_cv);
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
        wasmslot_exec_free(p->t[i].ex);
    }
    /* Jobs queued after every thread left (none should be) still get their run. */
    pthread_mutex_lock(&p->mu);
    p->nrunners = p->running + 1;
    for (struct exec_job *j; (j = do_take(p)) != NULL;)
        run_job(p, &p->main, j);
    pthread_mutex_unlock(&p->mu);
    wasmslot_exec_free(p->main.ex);
    pthread_cond_destroy(&p->standby_cv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->t);
    free(p);
}

void exec_pool_submit_wake(struct exec_pool *p, struct exec_job *job)
{
    bool nobody;

    pthread_mutex_lock(&p->mu);
    do_enqueue(p, job);
    nobody = p->idle == 0;
    do_wake(p);
    pthread_mutex_unlock(&p->mu);
    /* No thread waits for work: the leader takes the job once its loop iteration ends, so end
     * it now rather than at the next request. */
    if (nobody)
        event_base_loopbreak(p->base);
}
