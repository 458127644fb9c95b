/* fcgi.c: the FastCGI responder's loop-thread side: accepts on the [listen] sockets, reads
 * records, collects each request's params and body, routes it to a module pool and hands it
 * to the executor threads; answers management records itself. */
#include "config.h"

#include "clock.h"
#include "fcgi_internal.h"

#include "log.h"
#include "modset.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Unsent bytes above which a connection's records are no longer read, and below which
 * reading resumes (as for the JSON protocol). */
#define OUT_HIGH (4u << 20)
#define OUT_LOW  (1u << 20)

/* The receive buffer: room for one whole record and a read's worth more. */
#define IN_CAP (FCGI_MAX_RECORD + 16384u)

/* Connections accepted per wake-up of a listener, so one busy socket cannot hold the loop. */
#define ACCEPTS_PER_TURN 16

struct fcgi_listener {
    struct fcgi_server *srv;
    const struct cfg_listen *l;
    int fd;
    struct event *ev;
};

struct fcgi_server {
    struct worker *w;
    size_t n;
    struct fcgi_listener *ls;
    struct fcgi_conn *conns; /* loop thread */
};

void fcgi__req_free(struct fcgi_req *r)
{
    if (r == NULL)
        return;
    free(r->params);
    free(r->body);
    free(r);
}

static void conn_free(struct fcgi_conn *c)
{
    if (c->idle_ev != NULL)
        event_free(c->idle_ev);
    if (c->rev != NULL)
        event_free(c->rev);
    if (c->wev != NULL)
        event_free(c->wev);
    if (c->out != NULL)
        evbuffer_free(c->out);
    pthread_mutex_destroy(&c->mu);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c);
}

void fcgi__unref(struct fcgi_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        conn_free(c);
}

/* Caller holds c->mu: take r off c's list. */
static void do_req_unlink(struct fcgi_conn *c, struct fcgi_req *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->nreqs--;
    c->last_active_ns = mono_ns();
}

/* Caller holds c->mu: see fcgi__send. */
static void do_send(struct fcgi_conn *c, const uint8_t *bytes, size_t len, bool end_conn)
{
    size_t off = 0;

    if (c->closed)
        return;
    if (evbuffer_get_length(c->out) == 0) {
        ssize_t n = send(c->fd, bytes, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off = (size_t)n;
            c->last_active_ns = mono_ns();
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            off = len; /* the peer is gone; the reader notices and closes */
        }
    }
    if (off < len) {
        evbuffer_add(c->out, bytes + off, len - off);
        event_add(c->wev, NULL);
        if (!c->read_paused && evbuffer_get_length(c->out) > OUT_HIGH)
            c->read_paused = true; /* on_read stops reading; on_write resumes */
    }
    if (end_conn) {
        c->close_when_flushed = true;
        /* The loop thread closes it once the buffer is empty (now, when it is). */
        event_active(c->wev, EV_WRITE, 1);
    }
}

void fcgi__send(struct fcgi_conn *c, const uint8_t *bytes, size_t len, bool end_conn)
{
    pthread_mutex_lock(&c->mu);
    do_send(c, bytes, len, end_conn);
    pthread_mutex_unlock(&c->mu);
}

void fcgi__send_final(struct fcgi_req *r, const uint8_t *bytes, size_t len)
{
    struct fcgi_conn *c = r->c;

    /* Unlisted in the same critical section: the front end may reuse the id as soon as it
     * reads the FCGI_END_REQUEST, and must not find it still taken. */
    pthread_mutex_lock(&c->mu);
    do_req_unlink(c, r);
    /* A retiring worker's connection closes with its last answer (the front end opens its
     * next one to the new generation), and so does one whose front end sends no more. */
    do_send(c, bytes, len, !r->keep_conn || ((c->retiring || c->read_eof) && c->nreqs == 0));
    pthread_mutex_unlock(&c->mu);
}

const uint8_t *fcgi__param(const struct fcgi_req *r, const char *name, size_t *len)
{
    size_t off = 0, nl, vl, want = strlen(name);
    const uint8_t *n, *v;

    while (fcgi_nv_next(r->params, r->plen, &off, &n, &nl, &v, &vl) == 1) {
        if (nl == want && memcmp(n, name, nl) == 0) {
            *len = vl;
            return v;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- closing */

static void conn_close(struct fcgi_conn *c)
{
    struct worker *w = c->w;
    struct fcgi_server *srv = w->fcgi;
    struct fcgi_req *drop = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->closed = true;
    event_del(c->rev);
    event_del(c->wev);
    if (c->idle_ev != NULL)
        event_del(c->idle_ev);
    for (struct fcgi_req *r = c->reqs, *next; r != NULL; r = next) {
        next = r->next;
        if (r->state == FCGI_REQ_QUEUED) {
            /* Its job ends it: no reply goes anywhere, the run stops at once. */
            r->aborted = true;
            if (r->running != NULL)
                wasmslot_exec_interrupt_sticky(r->running);
            continue;
        }
        do_req_unlink(c, r);
        r->next = drop;
        drop = r;
    }
    pthread_mutex_unlock(&c->mu);
    while (drop != NULL) {
        struct fcgi_req *r = drop;
        drop = r->next;
        fcgi__req_free(r);
    }
    shutdown(c->fd, SHUT_RDWR);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub_explicit(&w->st->connections_open, 1, memory_order_relaxed);
    fcgi__unref(c);
    worker_conn_gone(w);
}

/* ---------------------------------------------------------------- requests */

/* c's request id, or NULL. Caller holds c->mu. */
static struct fcgi_req *do_req_find(struct fcgi_conn *c, uint16_t id)
{
    for (struct fcgi_req *r = c->reqs; r != NULL; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

/* An FCGI_END_REQUEST alone: refused or aborted before anything ran. */
static void send_end(struct fcgi_conn *c, uint16_t id, enum fcgi_protocol_status ps, bool end_conn)
{
    uint8_t rec[16];

    fcgi_end_request_put(rec, id, 0, ps);
    fcgi__send(c, rec, sizeof(rec), end_conn);
}

/* Append n bytes to a request buffer, unless that takes the request past limit bytes in all.
 * Returns false when it would (nothing is appended). */
static bool append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n,
                   size_t total, size_t limit)
{
    if (n > limit || total > limit - n)
        return false;
    if (*len + n > *cap) {
        size_t cap2 = *cap ? *cap : 1024;
        uint8_t *b;
        while (cap2 < *len + n)
            cap2 *= 2;
        b = realloc(*buf, cap2);
        if (b == NULL)
            return false;
        *buf = b;
        *cap = cap2;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return true;
}

/* Which module serves r (its params are complete): the longest route prefix that SCRIPT_NAME
 * starts with (whole path segments), else, when the listener allows it, the module named by
 * SCRIPT_NAME's first segment. -1: none. Sets r->script_len to the part of SCRIPT_NAME that
 * names the handler; the rest becomes PATH_INFO. */
static int route(struct fcgi_conn *c, struct fcgi_req *r)
{
    const struct cfg_listen *l = c->l;
    const struct modset *ms = c->w->mods;
    size_t sl = 0, best = 0;
    const uint8_t *s = fcgi__param(r, "SCRIPT_NAME", &sl);
    const struct cfg_route *hit = NULL;
    char name[65];
    size_t seg;

    if (s == NULL) {
        s = (const uint8_t *)"";
        sl = 0;
    }
    for (size_t i = 0; i < l->nroutes; i++) {
        const struct cfg_route *rt = &l->routes[i];
        size_t pl = strlen(rt->prefix);
        bool root = pl == 1;

        if (root && hit == NULL) {
            hit = rt;
            best = 0;
            continue;
        }
        if (sl >= pl && memcmp(s, rt->prefix, pl) == 0 && (sl == pl || s[pl] == '/') &&
            (hit == NULL || pl > best)) {
            hit = rt;
            best = pl;
        }
    }
    if (hit != NULL) {
        r->script_len = best;
        return modset_find(ms, hit->module);
    }
    if (!l->script_name || sl < 2 || s[0] != '/')
        return -1;
    for (seg = 1; seg < sl && s[seg] != '/'; seg++)
        ;
    if (seg - 1 >= sizeof(name))
        return -1;
    memcpy(name, s + 1, seg - 1);
    name[seg - 1] = '\0';
    r->script_len = seg;
    return modset_find(ms, name);
}

/* Whether the worker's memory (max_total_memory: instances, unsent replies, buffered
 * requests) has no room for more bytes. */
static bool mem_full(const struct worker *w, size_t more)
{
    int64_t used = (int64_t)atomic_load_explicit(&w->st->memory_bytes, memory_order_relaxed);

    return used > 0 && (uint64_t)used + more > w->cfg->max_total_memory;
}

/* r's body is complete: answer it here when it cannot run, else queue it. */
static void req_dispatch(struct fcgi_conn *c, struct fcgi_req *r)
{
    struct worker *w = c->w;
    int mod;

    if (r->reject == 0) {
        mod = route(c, r);
        if (mod < 0) {
            r->reject = 404;
        } else {
            r->mod = (size_t)mod;
            if (r->plen + r->blen > w->mods->e[mod].cfg->max_request_size)
                r->reject = 413;
        }
    }
    /* Past max_total_memory no new work starts, as for the JSON protocol. */
    if (r->reject == 0 && mem_full(w, r->plen + r->blen)) {
        log_debug("fastcgi: max_total_memory reached: 503");
        r->reject = 503;
    }
    if (r->reject != 0) {
        fcgi__reply_status(r, r->reject); /* unlists it */
        fcgi__req_free(r);
        return;
    }
    pthread_mutex_lock(&c->mu);
    r->state = FCGI_REQ_QUEUED;
    pthread_mutex_unlock(&c->mu);
    r->ej.run = fcgi__job_run;
    atomic_fetch_add(&c->refs, 1);
    exec_pool_submit(w->exec, &c->q, &r->ej);
}

/* FCGI_BEGIN_REQUEST. Returns -1 when the connection must close. */
static int on_begin(struct fcgi_conn *c, const struct fcgi_record *rec)
{
    const struct config *cfg = c->w->cfg;
    struct fcgi_req *r;
    uint16_t role;
    bool keep, full;

    if (rec->id == 0 || rec->len < 8)
        return -1;
    role = (uint16_t)(rec->content[0] << 8 | rec->content[1]);
    keep = (rec->content[2] & FCGI_KEEP_CONN) != 0;
    pthread_mutex_lock(&c->mu);
    r = do_req_find(c, rec->id);
    full = c->nreqs >= cfg->max_inflight_per_connection;
    pthread_mutex_unlock(&c->mu);
    if (r != NULL) {
        log_debug("fastcgi: request id %u begun twice on one connection", rec->id);
        return -1;
    }
    if (role != FCGI_RESPONDER) {
        send_end(c, rec->id, FCGI_UNKNOWN_ROLE, !keep);
        return 0;
    }
    if (full) {
        send_end(c, rec->id, FCGI_OVERLOADED, !keep);
        return 0;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        send_end(c, rec->id, FCGI_OVERLOADED, !keep);
        return 0;
    }
    r->c = c;
    r->id = rec->id;
    r->keep_conn = keep;
    r->state = FCGI_REQ_PARAMS;
    pthread_mutex_lock(&c->mu);
    r->next = c->reqs;
    if (c->reqs != NULL)
        c->reqs->prev = r;
    c->reqs = r;
    c->nreqs++;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* FCGI_PARAMS and FCGI_STDIN. Returns -1 when the connection must close. */
static int on_stream(struct fcgi_conn *c, const struct fcgi_record *rec)
{
    size_t limit = c->w->cfg->max_request_size;
    struct fcgi_req *r;

    pthread_mutex_lock(&c->mu);
    r = do_req_find(c, rec->id);
    pthread_mutex_unlock(&c->mu);
    /* Records of a request that is not active are ignored (FastCGI 1.0, 3.3). */
    if (r == NULL || r->state == FCGI_REQ_QUEUED)
        return 0;
    if (rec->type == FCGI_PARAMS) {
        if (r->state != FCGI_REQ_PARAMS)
            return -1; /* params after their end */
        if (rec->len == 0) {
            size_t off = 0, nl, vl;
            const uint8_t *n, *v;
            int rc;
            while ((rc = fcgi_nv_next(r->params, r->plen, &off, &n, &nl, &v, &vl)) == 1)
                ;
            /* Params cut at the limit end anywhere; the request is answered 431 anyway. */
            if (rc < 0 && r->reject == 0) {
                log_debug("fastcgi: malformed name-value pairs in FCGI_PARAMS");
                return -1;
            }
            r->state = FCGI_REQ_STDIN;
            return 0;
        }
        if (r->reject == 0 &&
            !append(&r->params, &r->plen, &r->pcap, rec->content, rec->len, r->plen, limit))
            r->reject = 431;
        return 0;
    }
    if (r->state != FCGI_REQ_STDIN)
        return -1; /* a body before the end of the params */
    if (rec->len == 0) {
        req_dispatch(c, r);
        return 0;
    }
    if (r->reject == 0 && !append(&r->body, &r->blen, &r->bcap, rec->content, rec->len,
                                  r->plen + r->blen, limit))
        r->reject = 413;
    return 0;
}

/* FCGI_ABORT_REQUEST: a request still being received ends here; a running one is
 * interrupted and its job sends the FCGI_END_REQUEST alone. */
static void on_abort(struct fcgi_conn *c, const struct fcgi_record *rec)
{
    struct fcgi_req *r;
    bool queued = false;

    pthread_mutex_lock(&c->mu);
    r = do_req_find(c, rec->id);
    if (r != NULL && r->state == FCGI_REQ_QUEUED) {
        queued = true;
        r->aborted = true;
        if (r->running != NULL)
            wasmslot_exec_interrupt_sticky(r->running);
    }
    pthread_mutex_unlock(&c->mu);
    if (r == NULL || queued)
        return;
    {
        uint8_t end[16];
        fcgi_end_request_put(end, r->id, 0, FCGI_REQUEST_COMPLETE);
        fcgi__send_final(r, end, sizeof(end));
    }
    fcgi__req_free(r);
}

/* FCGI_GET_VALUES: answer the variables this responder knows, skip the others. */
static void on_get_values(struct fcgi_conn *c, const struct fcgi_record *rec)
{
    const struct config *cfg = c->w->cfg;
    uint8_t out[FCGI_HEADER_LEN + 512];
    size_t off = 0, w = FCGI_HEADER_LEN, nl, vl;
    const uint8_t *n, *v;

    while (fcgi_nv_next(rec->content, rec->len, &off, &n, &nl, &v, &vl) == 1) {
        char val[24];
        const char *name = NULL;

        if (nl == 14 && memcmp(n, "FCGI_MAX_CONNS", 14) == 0) {
            name = "FCGI_MAX_CONNS";
            snprintf(val, sizeof(val), "%u", cfg->max_connections * cfg->workers);
        } else if (nl == 13 && memcmp(n, "FCGI_MAX_REQS", 13) == 0) {
            name = "FCGI_MAX_REQS";
            snprintf(val, sizeof(val), "%u",
                     cfg->max_connections * cfg->workers * cfg->max_inflight_per_connection);
        } else if (nl == 15 && memcmp(n, "FCGI_MPXS_CONNS", 15) == 0) {
            name = "FCGI_MPXS_CONNS";
            snprintf(val, sizeof(val), "1");
        }
        if (name == NULL)
            continue;
        if (w + fcgi_nv_put(out + w, 0, name, nl, val, strlen(val)) > sizeof(out))
            break;
        w += fcgi_nv_put(out + w, sizeof(out) - w, name, nl, val, strlen(val));
    }
    fcgi_header_put(out, FCGI_GET_VALUES_RESULT, 0, (uint16_t)(w - FCGI_HEADER_LEN), 0);
    fcgi__send(c, out, w, false);
}

/* One record. Returns -1 when the connection must close (a protocol error). */
static int on_record(struct fcgi_conn *c, const struct fcgi_record *rec)
{
    if (rec->id == 0) {
        uint8_t out[16];
        if (rec->type == FCGI_GET_VALUES) {
            on_get_values(c, rec);
            return 0;
        }
        /* Any other management record: FCGI_UNKNOWN_TYPE (FastCGI 1.0, 4.2). */
        fcgi_header_put(out, FCGI_UNKNOWN_TYPE, 0, 8, 0);
        memset(out + FCGI_HEADER_LEN, 0, 8);
        out[FCGI_HEADER_LEN] = rec->type;
        fcgi__send(c, out, sizeof(out), false);
        return 0;
    }
    switch (rec->type) {
    case FCGI_BEGIN_REQUEST:
        return on_begin(c, rec);
    case FCGI_ABORT_REQUEST:
        on_abort(c, rec);
        return 0;
    case FCGI_PARAMS:
    case FCGI_STDIN:
        return on_stream(c, rec);
    case FCGI_DATA:
        return 0; /* the Filter role's second stream: not a responder's */
    default:
        log_debug("fastcgi: unexpected record type %u from the front end", rec->type);
        return -1;
    }
}

/* ---------------------------------------------------------------- socket events */

/* End of input. A front end that closed both directions is gone: the caller closes, which
 * aborts what runs for it. One that only shut its sending side still reads: the requests it
 * sent completely are answered, then the connection closes. Returns true in that case. */
static bool half_closed(struct fcgi_conn *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
    struct fcgi_req *drop = NULL;
    bool done;

    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)) != 0)
        return false;
    event_del(c->rev);
    pthread_mutex_lock(&c->mu);
    c->read_eof = true;
    /* Requests whose records stopped half-way can never run. */
    for (struct fcgi_req *r = c->reqs, *next; r != NULL; r = next) {
        next = r->next;
        if (r->state == FCGI_REQ_QUEUED)
            continue;
        do_req_unlink(c, r);
        r->next = drop;
        drop = r;
    }
    done = c->nreqs == 0 && evbuffer_get_length(c->out) == 0;
    pthread_mutex_unlock(&c->mu);
    while (drop != NULL) {
        struct fcgi_req *r = drop;
        drop = r->next;
        fcgi__req_free(r);
    }
    if (done)
        conn_close(c);
    return true;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct fcgi_conn *c = arg;
    size_t pos = 0;
    ssize_t n;
    bool paused;

    (void)what;
    pthread_mutex_lock(&c->mu);
    paused = c->read_paused;
    pthread_mutex_unlock(&c->mu);
    if (paused) {
        event_del(c->rev); /* on_write adds it again once the peer has read enough */
        return;
    }
    n = recv(fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && half_closed(c))
        return;
    if (n <= 0) {
        /* The front end closed (or reset) the connection: whatever runs for it is aborted. */
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    pthread_mutex_lock(&c->mu);
    c->last_active_ns = mono_ns();
    pthread_mutex_unlock(&c->mu);
    /* A reference for the loop: a record's reply may fail and close c. */
    atomic_fetch_add(&c->refs, 1);
    for (;;) {
        struct fcgi_record rec;
        long used = fcgi_record_parse(c->in + pos, c->in_len - pos, &rec);

        if (used == 0)
            break;
        if (used < 0 || on_record(c, &rec) < 0) {
            log_debug("fastcgi: protocol error: closing the connection");
            conn_close(c);
            break;
        }
        pos += (size_t)used;
        if (c->closed)
            break;
    }
    if (!c->closed && pos > 0) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
    fcgi__unref(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct fcgi_conn *c = arg;
    bool failed = false, done = false;

    (void)what;
    pthread_mutex_lock(&c->mu);
    if (!c->closed) {
        size_t before = evbuffer_get_length(c->out);

        if (before > 0 && evbuffer_write(c->out, fd) < 0 && errno != EAGAIN && errno != EINTR)
            failed = true;
        if (evbuffer_get_length(c->out) < before)
            c->last_active_ns = mono_ns();
        if (failed || evbuffer_get_length(c->out) == 0) {
            event_del(c->wev);
            /* Without FCGI_KEEP_CONN the connection ends with its answer; others that the
             * front end multiplexed on it are aborted by the close. */
            done = c->close_when_flushed || (c->read_eof && c->nreqs == 0);
        }
        if (c->read_paused && evbuffer_get_length(c->out) < OUT_LOW) {
            c->read_paused = false;
            if (!c->read_eof)
                event_add(c->rev, NULL);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (failed || done)
        conn_close(c);
}

static void idle_arm(struct fcgi_conn *c, uint64_t ns)
{
    struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000u),
                         .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};

    event_add(c->idle_ev, &tv);
}

/* idle_timeout: a connection with nothing running that neither sent nor took a byte for the
 * whole timeout is closed: an idle keep-alive connection, or a front end that stopped
 * reading its answers. */
static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    struct fcgi_conn *c = arg;
    uint64_t timeout = c->w->cfg->idle_timeout_ms * 1000000u, now = mono_ns(), left = 0;
    bool running = false;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&c->mu);
    for (struct fcgi_req *r = c->reqs; r != NULL; r = r->next)
        running = running || r->state == FCGI_REQ_QUEUED;
    if (running)
        left = timeout;
    else if (now - c->last_active_ns < timeout)
        left = timeout - (now - c->last_active_ns);
    pthread_mutex_unlock(&c->mu);
    if (left > 0) {
        idle_arm(c, left);
        return;
    }
    atomic_fetch_add_explicit(&c->w->ctr->connections_idle_closed, 1, memory_order_relaxed);
    conn_close(c);
}

static void conn_new(struct fcgi_listener *li, int fd)
{
    struct worker *w = li->srv->w;
    struct fcgi_conn *c;

    if (w->nconns >= w->cfg->max_connections) {
        /* FastCGI has no greeting to refuse with: the front end sees the close and tries
         * another server of its upstream. */
        close(fd);
        atomic_fetch_add_explicit(&w->ctr->connections_refused, 1, memory_order_relaxed);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    c->w = w;
    c->l = li->l;
    c->fd = fd;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    c->in = malloc(IN_CAP);
    c->out = evbuffer_new();
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    c->last_active_ns = mono_ns();
    if (w->cfg->idle_timeout_ms != 0)
        c->idle_ev = evtimer_new(w->base, on_idle, c);
    if (c->in == NULL || c->out == NULL || c->rev == NULL || c->wev == NULL ||
        (w->cfg->idle_timeout_ms != 0 && c->idle_ev == NULL) || event_add(c->rev, NULL) < 0) {
        log_error("cannot set up a FastCGI connection: out of memory");
        conn_free(c);
        return;
    }
    if (c->idle_ev != NULL)
        idle_arm(c, w->cfg->idle_timeout_ms * 1000000u);
    c->next = li->srv->conns;
    if (c->next != NULL)
        c->next->prev = c;
    li->srv->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&w->ctr->connections, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->st->connections_open, 1, memory_order_relaxed);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct fcgi_listener *li = arg;

    (void)what;
    for (int i = 0; i < ACCEPTS_PER_TURN && !li->srv->w->stopping; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                log_warn("fastcgi [listen %s] accept: %s", li->l->name, strerror(errno));
            return;
        }
        conn_new(li, fd);
    }
}

/* ---------------------------------------------------------------- the server */

int fcgi_server_start(struct worker *w, char *err, size_t errlen)
{
    struct fcgi_server *srv;
    size_t n = w->args->nfcgi;

    w->fcgi = NULL;
    if (n == 0)
        return 0;
    if (n != w->cfg->nlistens) {
        snprintf(err, errlen, "fastcgi: %zu sockets for %zu [listen] sections", n,
                 w->cfg->nlistens);
        return -1;
    }
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL || (srv->ls = calloc(n, sizeof(*srv->ls))) == NULL) {
        free(srv);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    srv->w = w;
    srv->n = n;
    w->fcgi = srv;
    for (size_t i = 0; i < n; i++) {
        struct fcgi_listener *li = &srv->ls[i];
        li->srv = srv;
        li->l = &w->cfg->listens[i];
        li->fd = w->args->fcgi_fds[i];
        li->ev = event_new(w->base, li->fd, EV_READ | EV_PERSIST, on_accept, li);
        if (li->ev == NULL || event_add(li->ev, NULL) < 0) {
            snprintf(err, errlen, "fastcgi [listen %s]: cannot watch the socket", li->l->name);
            return -1;
        }
    }
    return 0;
}

void fcgi_server_retire(struct worker *w)
{
    if (w->fcgi == NULL)
        return;
    for (size_t i = 0; i < w->fcgi->n; i++) {
        struct fcgi_listener *li = &w->fcgi->ls[i];
        if (li->ev != NULL)
            event_del(li->ev);
        /* The daemon stops (not a reload, where the next generation accepts on them): with
         * the master's and every worker's copy closed, front ends are refused at once. */
        if (w->refusing && li->fd >= 0) {
            close(li->fd);
            li->fd = -1;
        }
    }
    for (struct fcgi_conn *c = w->fcgi->conns, *next; c != NULL; c = next) {
        bool now;
        next = c->next;
        pthread_mutex_lock(&c->mu);
        c->retiring = true;
        now = c->nreqs == 0;
        pthread_mutex_unlock(&c->mu);
        if (now)
            conn_close(c);
    }
}

void fcgi_server_close_all(struct worker *w)
{
    if (w->fcgi == NULL)
        return;
    while (w->fcgi->conns != NULL)
        conn_close(w->fcgi->conns);
}

void fcgi_server_free(struct worker *w)
{
    if (w->fcgi == NULL)
        return;
    fcgi_server_close_all(w);
    for (size_t i = 0; i < w->fcgi->n; i++)
        if (w->fcgi->ls[i].ev != NULL)
            event_free(w->fcgi->ls[i].ev);
    free(w->fcgi->ls);
    free(w->fcgi);
    w->fcgi = NULL;
}
