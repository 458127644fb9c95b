/* worker.c: a worker process: builds its pools and executor threads after fork, accepts on the
 * shared socket with libevent, and retires gracefully on SIGTERM. */
#include "config.h"

#include "worker.h"

#include "conn.h"
#include "exec_pool.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a worker stops accepting after accept() failed (out of descriptors, memory). */
#define ACCEPT_PAUSE_US 100000

void worker_publish_pool(struct worker *w, size_t mod)
{
    struct stats_publisher pub = {.shm = w->args->shm, .worker = w->args->index, .pool = mod};

    pthread_mutex_lock(&w->stats_mu);
    stats_publish_begin(&pub);
    modset_pool_stats(w->pools, mod, stats_publish_sample, &pub);
    stats_publish_end(&pub);
    pthread_mutex_unlock(&w->stats_mu);
}

void worker_conn_gone(struct worker *w)
{
    if (w->stopping && w->nconns == 0)
        exec_pool_stop(w->exec);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct worker *w = arg;

    if (w->stopping) {
        close(fd);
        return;
    }
    conn_new(w, fd);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    if (!w->stopping)
        evconnlistener_enable(w->listener);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct worker *w = arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval pause = {0, ACCEPT_PAUSE_US};

    /* Out of descriptors or memory: the pending connection keeps the socket readable, so
     * accepting again at once would spin. Pause, log once per pause, then try again. */
    log_warn("accept: %s; pausing accepts for %d ms", evutil_socket_error_to_string(e),
             ACCEPT_PAUSE_US / 1000);
    if (w->accept_ev == NULL)
        w->accept_ev = evtimer_new(w->base, on_accept_resume, w);
    if (w->accept_ev != NULL && evtimer_add(w->accept_ev, &pause) == 0)
        evconnlistener_disable(l);
}

/* The grace period is over: close what is left; runs in flight are interrupted. */
static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    if (w->nconns > 0)
        log_info("grace period over: closing %u connection(s)", w->nconns);
    while (w->conns != NULL)
        conn_close(w->conns);
    exec_pool_stop(w->exec);
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tv;

    if (w->stopping)
        return;
    w->stopping = true;
    /* Stop accepting: the next generation (or nobody, when stopping) takes new clients. */
    evconnlistener_disable(w->listener);
    if (w->nconns == 0) {
        exec_pool_stop(w->exec);
        return;
    }
    log_debug("retiring: %u connection(s) may finish within %llu ms", w->nconns,
              (unsigned long long)w->cfg->grace_period_ms);
    tv.tv_sec = (time_t)(w->cfg->grace_period_ms / 1000);
    tv.tv_usec = (suseconds_t)(w->cfg->grace_period_ms % 1000) * 1000;
    w->grace_ev = evtimer_new(w->base, on_grace, w);
    if (w->grace_ev == NULL || evtimer_add(w->grace_ev, &tv) < 0)
        on_grace(-1, 0, w);
}

int worker_main(const struct worker_args *a)
{
    struct worker w = {.args = a, .cfg = a->cfg, .mods = a->mods};
    char err[512];
    int status = 1;

    /* The master ignores SIGPIPE and blocks the signals it reads from its signalfd; a worker
     * wants SIGINT from a terminal's Ctrl-C to leave it to the master, which sends SIGTERM. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    w.st = stats_shm_worker(a->shm, a->index);
    pthread_mutex_init(&w.stats_mu, NULL);
    if (evthread_use_pthreads() < 0) {
        log_error("libevent threads: cannot enable");
        return 1;
    }
    w.base = event_base_new();
    if (w.base == NULL) {
        log_error("event_base_new failed");
        return 1;
    }
    w.pools = modset_pools_new(a->mods, err, sizeof(err));
    if (w.pools == NULL) {
        log_error("%s", err);
        goto out;
    }
    for (size_t i = 0; i < a->mods->n; i++)
        worker_publish_pool(&w, i);
    w.exec = exec_pool_new(w.base, a->cfg->executor_threads, err, sizeof(err));
    if (w.exec == NULL) {
        log_error("executor threads: %s", err);
        goto out;
    }
    /* backlog 0: the master already listens on the socket. */
    w.listener = evconnlistener_new(w.base, on_accept, &w, LEV_OPT_CLOSE_ON_EXEC, 0, a->listen_fd);
    w.sigterm_ev = evsignal_new(w.base, SIGTERM, on_sigterm, &w);
    if (w.listener == NULL || w.sigterm_ev == NULL || evsignal_add(w.sigterm_ev, NULL) < 0) {
        log_error("cannot set up the event loop");
        goto out;
    }
    evconnlistener_set_error_cb(w.listener, on_accept_error);
    /* This thread joins the executor threads: whichever is free runs the event loop. */
    if (exec_pool_run(w.exec) < 0) {
        log_error("%s", exec_pool_stop_reason(w.exec));
        goto out;
    }
    log_debug("leaving: %s", exec_pool_stop_reason(w.exec));
    if (!w.stopping)
        log_error("event loop ended unexpectedly: %s", exec_pool_stop_reason(w.exec));
    status = 0;
out:
    while (w.conns != NULL)
        conn_close(w.conns);
    /* Joining the executors lets interrupted runs end and release their slots. */
    exec_pool_free(w.exec);
    if (w.listener != NULL)
        evconnlistener_free(w.listener);
    if (w.sigterm_ev != NULL)
        event_free(w.sigterm_ev);
    if (w.grace_ev != NULL)
        event_free(w.grace_ev);
    if (w.accept_ev != NULL)
        event_free(w.accept_ev);
    modset_pools_free(w.pools);
    event_base_free(w.base);
    pthread_mutex_destroy(&w.stats_mu);
    return status;
}
