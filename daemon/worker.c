/* worker.c: a worker process: builds its pools and executor threads after fork, accepts on the
 * shared socket with libevent, and retires gracefully on SIGTERM. */
#include "config.h"

#include "worker.h"

#include "clock.h"

#include "conn.h"
#include "exec_pool.h"
#include "fcgi.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a worker stops accepting after accept() failed (out of descriptors, memory). */
#define ACCEPT_PAUSE_US 100000

/* Stop listening for us microseconds, after which on_accept_resume takes over. */
static void accept_pause(struct worker *w, suseconds_t us)
{
    struct timeval tv = {0, us};

    event_del(w->listen_ev);
    if (evtimer_add(w->accept_ev, &tv) < 0)
        event_add(w->listen_ev, NULL); /* no timer: listen on rather than never again */
}

/* How long a worker leaves waiting connections to less loaded siblings that take none of
 * them (they are busy with guest code on their loop thread) before it takes them itself. */
#define ACCEPT_DEFER_NS (5 * 1000 * 1000ull)

/* After such a wait, how long a worker takes connections without waiting again, as long as
 * the siblings still take none. */
#define ACCEPT_STUCK_NS (20 * 1000 * 1000ull)

/* How long a worker standing back stops listening before it looks again. */
#define ACCEPT_BACK_US 200

/* Connections taken in one wake-up at most, so the loop's other events are not starved. */
#define ACCEPT_BATCH 64

/* How many connections more than a sibling a worker may have before it stands back: one while
 * there are few (8 clients spread 4/4), up to 1/32 more with many, since handing over after
 * every connection costs two context switches per connection in a burst. */
#define ACCEPT_SLACK(open) (1 + (open) / 32)

/* Whether a running sibling of this generation serves ACCEPT_SLACK(w's) fewer connections than
 * w or more; *sum is what the running siblings have open together. */
static bool sibling_less_loaded(const struct worker *w, uint64_t *sum)
{
    struct stats_shm *shm = w->args->shm;
    unsigned n = stats_shm_nworkers(shm);
    uint64_t mine = atomic_load_explicit(&w->st->connections_open, memory_order_relaxed);
    bool less = false;

    *sum = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct stats_worker *s = stats_shm_worker(shm, i);
        if (i == w->args->index || atomic_load_explicit(&s->pid, memory_order_relaxed) == 0)
            continue;
        uint64_t open = atomic_load_explicit(&s->connections_open, memory_order_relaxed);
        *sum += open;
        less |= open + ACCEPT_SLACK(mine) <= mine;
    }
    return less;
}

/* Accept one pending connection, if there is one: true when it took one. */
static bool accept_one(struct worker *w)
{
    int fd = accept4(w->args->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd >= 0) {
        conn_new(w, fd);
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
        return false; /* a sibling took it, or the client gave up */
    /* Out of descriptors or memory: the pending connection keeps the socket readable, so
     * accepting again at once would spin. Pause, log once per pause, then try again. */
    log_warn("accept: %s; pausing accepts for %d ms", strerror(errno), ACCEPT_PAUSE_US / 1000);
    accept_pause(w, ACCEPT_PAUSE_US);
    return false;
}

/* The accept pause is over: listen again. A worker that stood back and finds nothing waiting
 * any more (a sibling took it) ends that episode: the next connection starts a new wait. */
static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct pollfd p = {.fd = w->args->listen_fd, .events = POLLIN};

    if (atomic_load(&w->stopping) && !w->refusing)
        return;
    if (w->backing && poll(&p, 1, 0) == 0)
        w->backing = false;
    event_add(w->listen_ev, NULL);
}

/* Whether w should leave the waiting connections to a less loaded sibling for now: while the
 * siblings keep taking connections, and for at most ACCEPT_DEFER_NS when they take none. */
static bool stand_back(struct worker *w)
{
    uint64_t sum, now;

    if (!sibling_less_loaded(w, &sum)) {
        w->backing = false;
        return false;
    }
    now = mono_ns();
    /* They left the last connection to us and have taken none since: do not wait again. */
    if (now < w->stuck_until_ns && sum == w->back_siblings)
        return false;
    /* A new episode, or the siblings are accepting: (re)start the wait. */
    if (!w->backing || sum != w->back_siblings) {
        w->backing = true;
        w->back_since_ns = now;
        w->back_siblings = sum;
        return true;
    }
    if (now - w->back_since_ns < ACCEPT_DEFER_NS)
        return true;
    /* They took none: take it, and the next ones while they still take none. */
    w->backing = false;
    w->stuck_until_ns = now + ACCEPT_STUCK_NS;
    return false;
}

/* The shared socket has a connection waiting (every worker is told).
 *
 * Every worker waits on the one socket, and the kernel does not share connections out: the
 * first worker to wake takes whatever is pending, so eight clients that connect together
 * could all land on one worker and leave the others idle (socket-bench saw 8/0 and 7/1
 * splits). So a worker takes connections (a batch at most) only while no running sibling has
 * fewer open connections. A more loaded worker stands back as long as its siblings keep
 * taking connections, and takes them itself when they took none for ACCEPT_DEFER_NS (they
 * are busy). It stands back ACCEPT_BACK_US at a time, so a connection never waits for a
 * sibling much longer than it takes that sibling to accept it. */
static void on_listen(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    if (atomic_load(&w->stopping)) {
        /* The daemon stops: nobody will serve a new client, so tell it rather than leave it
         * to a reset when the socket closes. */
        int cfd = accept4(w->args->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0)
            conn_refuse(w, cfd, PROTO_E_SHUTTING_DOWN,
                        "the daemon is stopping and takes no new connections");
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (stand_back(w)) {
            /* Not listening meanwhile: a loop spinning on the readable socket would take the
             * CPU from the sibling that is accepting. */
            accept_pause(w, ACCEPT_BACK_US);
            return;
        }
        if (!accept_one(w) || evtimer_pending(w->accept_ev, NULL))
            return;
    }
}

/* How long the last replies may take to go out after the grace period, before the remaining
 * connections are closed (well within the master's slack before it kills the worker). */
#define FLUSH_MS 500

/* The replies of the cut runs had their time: close whatever is left. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    if (w->nconns > 0)
        log_info("closing %u connection(s) that did not take their last replies", w->nconns);
    while (w->conns != NULL)
        conn_close(w->conns);
    fcgi_server_close_all(w);
    exec_pool_stop(w->exec);
}

/* The grace period is over: runs in flight are interrupted and, like the requests still
 * queued, answered with shutting_down; each connection closes once answered. */
static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tv = {0, FLUSH_MS * 1000};

    if (w->nconns > 0)
        log_info("grace period over: interrupting the runs of %u connection(s)", w->nconns);
    atomic_store(&w->cut, true);
    /* FastCGI has no shutting_down answer: its front end sees the close and, for a request
     * that had not started, may try another server of its upstream. */
    fcgi_server_close_all(w);
    for (struct conn *c = w->conns, *next; c != NULL; c = next) {
        next = conn_next(c);
        conn_cut(c);
    }
    if (w->nconns == 0)
        return; /* the last close stopped the pool */
    w->flush_ev = evtimer_new(w->base, on_flush, w);
    if (w->flush_ev == NULL || evtimer_add(w->flush_ev, &tv) < 0)
        on_flush(-1, 0, w);
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tv;

    if (atomic_load(&w->stopping))
        return;
    atomic_store(&w->stopping, true);
    /* The master starts the next generation before it retires this one, so an unchanged
     * generation number means the daemon stops (or the master died): then this worker
     * keeps answering new connections, with shutting_down. On a reload the next generation
     * takes them. */
    w->refusing = atomic_load(&w->args->global->generation) == (uint64_t)w->args->generation;
    if (!w->refusing)
        event_del(w->listen_ev);
    else if (!evtimer_pending(w->accept_ev, NULL))
        event_add(w->listen_ev, NULL);
    /* Connections with nothing in flight say goodbye now; the others when answered. */
    for (struct conn *c = w->conns, *next; c != NULL; c = next) {
        next = conn_next(c);
        conn_retire(c);
    }
    fcgi_server_retire(w);
    if (w->nconns == 0) {
        worker_conn_gone(w);
        return;
    }
    log_debug("retiring: %u connection(s) may finish their runs within %llu ms", w->nconns,
              (unsigned long long)w->cfg->grace_period_ms);
    tv.tv_sec = (time_t)(w->cfg->grace_period_ms / 1000);
    tv.tv_usec = (suseconds_t)(w->cfg->grace_period_ms % 1000) * 1000;
    w->grace_ev = evtimer_new(w->base, on_grace, w);
    if (w->grace_ev == NULL || evtimer_add(w->grace_ev, &tv) < 0)
        on_grace(-1, 0, w);
}

/* How often a stopping worker without connections looks whether its siblings are done. */
#define LINGER_US 10000

/* The daemon stops and this worker has no connection left: it keeps answering new clients
 * with shutting_down while a sibling still serves some (leaving would remove the socket
 * under them, see refuse_the_rest), and leaves once none does. A sibling that hangs is
 * killed by the master after the grace period. */
static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct stats_shm *shm = w->args->shm;
    struct timeval tv = {0, LINGER_US};

    for (unsigned i = 0; i < stats_shm_nworkers(shm); i++) {
        const struct stats_worker *s = stats_shm_worker(shm, i);
        if (i != w->args->index && atomic_load(&s->pid) != 0 &&
            atomic_load(&s->connections_open) > 0) {
            evtimer_add(w->linger_ev, &tv);
            return;
        }
    }
    exec_pool_stop(w->exec);
}

/* The daemon stops and this worker leaves (its last connection is gone): take the socket's
 * name away, so no client can queue a connection that nobody would answer (it finds no
 * daemon instead), then answer those already queued with shutting_down rather than leave
 * them to a reset when the last descriptor of the socket closes. */
static void refuse_the_rest(struct worker *w)
{
    int fd;

    /* By the configured path (-s applied): the socket was bound under a private name and
     * renamed into place (master.c), so getsockname() does not know where it is. A worker
     * that dropped to an unprivileged user may not be allowed to; the master unlinks it
     * when the last worker is gone. */
    if (unlink(w->cfg->socket_path) < 0 && errno != ENOENT)
        log_debug("unlink %s: %s", w->cfg->socket_path, strerror(errno));
    while ((fd = accept4(w->args->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        conn_refuse(w, fd, PROTO_E_SHUTTING_DOWN,
                    "the daemon is stopping and takes no new connections");
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
    w.ctr = stats_shm_worker_counters(a->shm, a->index);
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
    w.fair = conn_fair_new(&w);
    if (w.fair == NULL) {
        log_error("out of memory");
        goto out;
    }
    w.exec = exec_pool_new(w.base, a->cfg->executor_threads, err, sizeof(err));
    if (w.exec == NULL) {
        log_error("executor threads: %s", err);
        goto out;
    }
    /* The master listens on the socket (non-blocking); workers accept on it. */
    w.listen_ev = event_new(w.base, a->listen_fd, EV_READ | EV_PERSIST, on_listen, &w);
    w.accept_ev = evtimer_new(w.base, on_accept_resume, &w);
    w.sigterm_ev = evsignal_new(w.base, SIGTERM, on_sigterm, &w);
    w.linger_ev = evtimer_new(w.base, on_linger, &w);
    if (w.listen_ev == NULL || w.accept_ev == NULL || w.sigterm_ev == NULL || w.linger_ev == NULL ||
        event_add(w.listen_ev, NULL) < 0 || evsignal_add(w.sigterm_ev, NULL) < 0) {
        log_error("cannot set up the event loop");
        goto out;
    }
    if (fcgi_server_start(&w, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto out;
    }
    /* This thread joins the executor threads: whichever is free runs the event loop. */
    if (exec_pool_run(w.exec) < 0) {
        log_error("%s", exec_pool_stop_reason(w.exec));
        goto out;
    }
    log_debug("leaving: %s", exec_pool_stop_reason(w.exec));
    if (w.refusing)
        refuse_the_rest(&w);
    if (!atomic_load(&w.stopping))
        log_error("event loop ended unexpectedly: %s", exec_pool_stop_reason(w.exec));
    status = 0;
out:
    while (w.conns != NULL)
        conn_close(w.conns);
    fcgi_server_close_all(&w);
    /* Joining the executors lets interrupted runs end and release their slots. */
    exec_pool_free(w.exec);
    conn_fair_free(w.fair);
    fcgi_server_free(&w);
    if (w.listen_ev != NULL)
        event_free(w.listen_ev);
    if (w.sigterm_ev != NULL)
        event_free(w.sigterm_ev);
    if (w.grace_ev != NULL)
        event_free(w.grace_ev);
    if (w.flush_ev != NULL)
        event_free(w.flush_ev);
    if (w.linger_ev != NULL)
        event_free(w.linger_ev);
    if (w.accept_ev != NULL)
        event_free(w.accept_ev);
    modset_pools_free(w.pools);
    event_base_free(w.base);
    return status;
}
