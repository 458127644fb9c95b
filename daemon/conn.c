/* conn.c: a client connection: splits its bytes into request lines, answers the quick ops on
 * the loop thread, hands guest code to the executor threads, owns the instances it created. */
#include "config.h"

#include "clock.h"
#include "conn.h"
#include "conn_internal.h"

#include "accesslog.h"
#include "exec_pool.h"
#include "log.h"
#include "proto.h"
#include "shm.h"
#include "mtcall.h"
#include "wasirun.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Unsent reply bytes above which a connection's requests are no longer read, and below
 * which reading resumes. */
#define OUT_HIGH (4u << 20)
#define OUT_LOW  (1u << 20)

/* Request lines served per read event before the loop turns to other connections. */
#define LINES_PER_TURN 128u

_Thread_local struct stats_pool_counters *conn__reply_pool;

static void conn_free(struct conn *c)
{
    if (c->idle_ev != NULL)
        event_free(c->idle_ev);
    if (c->rev != NULL)
        event_free(c->rev);
    if (c->wev != NULL)
        event_free(c->wev);
    if (c->out != NULL)
        evbuffer_free(c->out);
    proto_framer_free(c->fr);
    free(c->spare_job);
    free(c->held);
    pthread_mutex_destroy(&c->mu);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

void conn__unref(struct conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        conn_free(c);
}

/* Send one reply (any thread). Writes straight to the socket when nothing is queued, so a
 * reply from an executor thread does not wait for the loop thread. */
void conn__reply(struct conn *c, json_t *msg, enum proto_err code)
{
    size_t len = 0;
    char *line = proto_line(msg, &len);

    if (line == NULL) {
        /* Out of memory while rendering: say so with a line that needs no allocation. */
        static const char oom[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
                                  "\"internal_error\",\"message\":\"out of memory\"}}\n";
        log_error("cannot render a reply: out of memory");
        conn__send_line(c, oom, sizeof(oom) - 1, code);
        return;
    }
    conn__send_line(c, line, len, code);
    free(line);
}

/* Consume the request bytes peeked so far from the socket (any thread; caller holds c->mu).
 *
 * Why requests are peeked: taking bytes off a Unix socket wakes every thread sleeping on the
 * sending socket (unix_write_space), and a client blocked in read() for its reply is such a
 * thread. Consumed on arrival, each request would wake its client for nothing while the
 * daemon works on it; the client sleeps again, and is woken once more by the reply: two
 * sleeps and wake-ups per request instead of one (socket-bench shows the client's context
 * switches per request). Peeked first and consumed once the reply is out, the bytes leave
 * when the reply's wake-up has already taken the client off the wait queue. */
static void do_consume(struct conn *c)
{
    static _Thread_local char sink[16384];

    while (c->unconsumed > 0) {
        size_t want = c->unconsumed < sizeof(sink) ? c->unconsumed : sizeof(sink);
        ssize_t n = recv(c->fd, sink, want, MSG_DONTWAIT);

        if (n <= 0) {
            /* Only a reset connection loses peeked bytes; its reader closes it. */
            c->unconsumed = 0;
            break;
        }
        c->unconsumed -= (size_t)n;
    }
}

/* Count c's unsent replies in the worker's memory total as they are now (caller holds c->mu;
 * a closed connection's are gone). */
static void do_charge_out(struct conn *c)
{
    size_t now = c->closed ? 0 : evbuffer_get_length(c->out);

    conn__mem_add(c, (int64_t)now - (int64_t)c->out_charged);
    c->out_charged = now;
}

bool conn__mem_full(const struct conn *c, size_t more)
{
    int64_t used = (int64_t)atomic_load_explicit(&c->w->st->memory_bytes, memory_order_relaxed);

    return used > 0 && ((uint64_t)used >= c->w->cfg->max_total_memory ||
                        (uint64_t)used + more > c->w->cfg->max_total_memory);
}

/* Send one complete reply line (any thread), counting its error code. */
void conn__send_line(struct conn *c, const char *line, size_t len, enum proto_err code)
{
    struct stats_worker_counters *ctr = c->w->ctr;
    size_t off = 0;

    if (code != PROTO_OK && (unsigned)code < STATS_ERR_CODES) {
        atomic_fetch_add_explicit(&ctr->errors[code], 1, memory_order_relaxed);
        stats_pool_error(conn__reply_pool, (unsigned)code);
    }
    accesslog_note_code(code);
    pthread_mutex_lock(&c->mu);
    if (!c->closed) {
        if (evbuffer_get_length(c->out) == 0) {
            ssize_t n = send(c->fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                off = (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                off = len; /* the peer is gone; the read side will notice and close */
        }
        if (off < len) {
            evbuffer_add(c->out, line + off, len - off);
            do_charge_out(c);
            event_add(c->wev, NULL);
            /* A client that sends without reading must not make the daemon buffer replies
             * without bound: read its requests again once it has caught up. */
            /* The read event itself is removed by on_read, on the loop thread: deleting it
             * here could wait for its running callback, which may wait for c->mu. */
            if (!c->read_paused && !c->read_eof && evbuffer_get_length(c->out) > OUT_HIGH) {
                c->read_paused = true;
                log_debug("a client leaves %zu bytes of replies unread: pausing its requests",
                          evbuffer_get_length(c->out));
            }
        }
        do_consume(c);
    }
    pthread_mutex_unlock(&c->mu);
}

void conn__reply_error(struct conn *c, const json_t *id, enum proto_err code, const char *fmt, ...)
{
    va_list ap;
    json_t *msg;

    va_start(ap, fmt);
    msg = proto_reply_verror(id, code, fmt, ap);
    va_end(ap);
    conn__reply(c, msg, code);
}

void conn__reply_wasm_error(struct conn *c, const json_t *id, int rc, const char *detail)
{
    accesslog_note_wasm(rc);
    /* A run cut off by the end of the grace period did not fail: it was not let finish. */
    if (rc == -WASMSLOT_TRAP_TIMEOUT && atomic_load(&c->w->cut)) {
        conn__reply_error(c, id, PROTO_E_SHUTTING_DOWN,
                          "this worker stopped at the end of its grace period and interrupted "
                          "the run; send the request again on a new connection");
        return;
    }
    if (detail == NULL)
        detail = shm_trap_detail(rc);
    conn__reply(c, proto_reply_wasm_error(id, rc, detail), proto_err_from_wasm(rc));
}

/* ---------------------------------------------------------------- max_reply_buffer
 *
 * Reading stops at OUT_HIGH unsent bytes, but the requests already in flight still reply, and
 * a WASI command's reply holds two streams of up to wasi_output_max bytes each, which JSON may
 * write six bytes per byte (\u0000): with max_inflight_per_connection of them the buffer would
 * have no useful bound. So each WASI command reserves its worst case while in flight, and no
 * more request lines are taken while unsent bytes plus reservations reach max_reply_buffer.
 * One line is always taken when nothing is buffered or reserved, so the total stays under
 * max_reply_buffer plus one command's worst case (plus the small replies of other requests).
 * All of these run with c->mu held. */

/* The worst-case reply of a WASI command of mod: two streams at six bytes per byte. */
static size_t wasi_reply_max(const struct conn *c, size_t mod)
{
    return 2 * 6 * c->w->mods->e[mod].cfg->wasi_output_max + 4096;
}

static bool reply_budget_full(const struct conn *c)
{
    size_t used = evbuffer_get_length(c->out) + c->reserved;

    return used > 0 && used >= c->w->cfg->max_reply_buffer;
}

/* The loop thread is about to take a request line: whether it must wait instead. */
static bool reply_budget_pause(struct conn *c)
{
    if (!reply_budget_full(c))
        return false;
    /* on_write or job_free resumes it once the total falls below the limit. */
    c->read_paused = true;
    atomic_fetch_add_explicit(&c->w->ctr->reply_buffer_pauses, 1, memory_order_relaxed);
    return true;
}

/* Whether req (of module mod) runs a WASI command. */
static bool is_command(const struct conn *c, size_t mod, const struct proto_request *req)
{
    return (req->op == PROTO_OP_CALL || req->op == PROTO_OP_RUN) &&
           c->w->mods->e[mod].wasi != NULL && req->export_len == 6 &&
           memcmp(req->export_name, "_start", 6) == 0;
}

/* A job is accepted: a WASI command reserves its worst-case reply. */
static void reply_budget_take(struct conn *c, struct job *j)
{
    if (is_command(c, j->mod, &j->req)) {
        j->reserve = wasi_reply_max(c, j->mod);
        c->reserved += j->reserve;
        conn__mem_add(c, (int64_t)j->reserve);
    }
}

/* A job's reply is out (in c->out or sent): its reservation goes, and a connection that waits
 * only for it is read again, by on_write on the loop thread. */
void conn__reply_budget_release(struct conn *c, size_t reserve)
{
    if (reserve == 0)
        return;
    c->reserved -= reserve;
    conn__mem_add(c, -(int64_t)reserve);
    if (c->read_paused && !c->closed && !reply_budget_full(c))
        event_active(c->wev, EV_WRITE, 1);
}

/* ---------------------------------------------------------------- loop-thread ops */

static void op_stats(struct conn *c, const struct proto_request *req)
{
    struct worker *w = c->w;
    struct proto_stats *st = proto_stats_new();

    if (st == NULL) {
        conn__reply_error(c, req->id, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    /* This worker's own pools are current; the others published theirs as they changed. */
    for (size_t i = 0; i < w->mods->n; i++)
        worker_publish_pool(w, i);
    stats_collect(st, w->args->global, w->args->shm);
    shm_stats_add(w->mods, st);
    modset_stats_add(w->mods, st);
    conn__reply(c, proto_reply_stats(req->id, st, req->stats_format), PROTO_OK);
    proto_stats_free(st);
}

/* The modules reply's fields on a module's code: the engine running it, the one its section
 * asked for when it fell back and why, what compiling it cost, what the code cache did. */
static void code_json(json_t *o, const struct modset_entry *e)
{
    const struct wasmslot_module *m = e->module;
    const char *fallback = wasmslot_module_fallback(m);

    json_object_set_new(o, "engine", json_string(wasmslot_engine_name(wasmslot_module_engine(m))));
    if (fallback != NULL) {
        json_object_set_new(o, "engine_asked",
                            json_string(wasmslot_engine_name(e->code->asked)));
        json_object_set_new(o, "engine_fallback", json_string(fallback));
    }
    json_object_set_new(o, "compile_ms", json_real(wasmslot_module_compile_ns(m) / 1e6));
    json_object_set_new(o, "code_cache",
                        json_string(wasmslot_cache_state_name(wasmslot_module_cache_state(m))));
}

static void op_modules(struct conn *c, const struct proto_request *req)
{
    const struct modset *ms = c->w->mods;
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < ms->n; i++) {
        const struct cfg_module *cm = ms->e[i].cfg;
        json_t *o = proto_module_json(cm->name, ms->e[i].module);
        if (o == NULL) {
            json_decref(arr);
            arr = NULL;
            break;
        }
        json_object_set_new(o, "slots", json_integer(cm->slots));
        code_json(o, &ms->e[i]);
        json_object_set_new(o, "deadline_ms", json_integer((json_int_t)cm->deadline_ms));
        json_object_set_new(o, "max_memory", json_integer((json_int_t)cm->max_memory));
        json_object_set_new(o, "max_request_size", json_integer((json_int_t)cm->max_request_size));
        if (ms->e[i].nstubs > 0) {
            json_t *stubs = json_array();
            for (size_t k = 0; stubs != NULL && k < ms->e[i].nstubs; k++)
                json_array_append_new(stubs, json_string(ms->e[i].stubs[k].name));
            json_object_set_new(o, "stubbed_imports", stubs);
        }
        json_array_append_new(arr, o);
    }
    if (arr == NULL) {
        conn__reply_error(c, req->id, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    conn__reply(c, proto_reply_modules(req->id, arr), PROTO_OK);
}

/* A job for req (loop thread; caller holds c->mu): the connection's spare one if it has it. */
static struct job *job_new(struct conn *c, struct proto_request *req)
{
    struct job *j = c->spare_job;

    if (j != NULL) {
        c->spare_job = NULL;
        memset(j, 0, sizeof(*j));
    } else if ((j = calloc(1, sizeof(*j))) == NULL) {
        return NULL;
    }
    j->ej.run = conn__job_run;
    j->c = c;
    j->read_ns = mono_ns();
    j->req = *req; /* the job takes the parsed request over */
    memset(req, 0, sizeof(*req));
    atomic_fetch_add(&c->refs, 1);
    return j;
}

static void handle_line(struct conn *c, const char *line, size_t len)
{
    struct worker *w = c->w;
    struct proto_request req;
    struct job *j = NULL;
    struct inst *in = NULL;
    enum proto_err e;
    int mod = -1;

    memset(&req, 0, sizeof(req));
    e = proto_request_parse(&req, line, len, w->cfg->max_request_size);
    atomic_fetch_add_explicit(&w->ctr->requests[e == PROTO_OK ? (unsigned)req.op : STATS_OPS - 1],
                              1, memory_order_relaxed);
    accesslog_begin(c->fd, &req, e == PROTO_OK, NULL);
    if (e != PROTO_OK) {
        conn__reply(c, proto_reply_request_error(&req), e);
        goto out;
    }
    if (atomic_load_explicit(&w->stopping, memory_order_relaxed)) {
        conn__reply_error(c, req.id, PROTO_E_SHUTTING_DOWN,
                          "this worker is retiring (reload or stop): the request was not run; "
                          "send it again on a new connection");
        goto out;
    }
    if (req.module != NULL) {
        mod = modset_find(w->mods, req.module);
        if (mod < 0) {
            conn__reply_error(c, req.id, PROTO_E_UNKNOWN_MODULE, "no module '%s'", req.module);
            goto out;
        }
        conn__reply_pool = conn__pool_ctr(w, (size_t)mod);
        stats_pool_request(conn__reply_pool, (unsigned)req.op);
        if (len > w->mods->e[mod].cfg->max_request_size) {
            conn__reply_error(c, req.id, PROTO_E_TOO_LARGE,
                              "request of %zu bytes exceeds module '%s' max_request_size of %zu",
                              len, req.module, w->mods->e[mod].cfg->max_request_size);
            goto out;
        }
    }
    switch (req.op) {
    case PROTO_OP_PING:
        REPLY_FAST(c, PROTO_OK, proto_render_pong(fast_, sizeof(fast_), req.id),
                   proto_reply_pong(req.id));
        goto out;
    case PROTO_OP_MODULES:
        op_modules(c, &req);
        goto out;
    case PROTO_OP_STATS:
        op_stats(c, &req);
        goto out;
    case PROTO_OP_INSTANTIATE:
    case PROTO_OP_CALL:
    case PROTO_OP_RUN:
    case PROTO_OP_TERMINATE:
        break;
    }

    pthread_mutex_lock(&c->mu);
    if (req.op == PROTO_OP_RUN || req.op == PROTO_OP_TERMINATE) {
        in = conn__do_inst_find(c, req.instance);
        if (in == NULL) {
            pthread_mutex_unlock(&c->mu);
            conn__reply_error(c, req.id, PROTO_E_UNKNOWN_INSTANCE,
                              "no instance '%s' on this connection", req.instance);
            goto out;
        }
        mod = (int)in->mi.mod;
        conn__reply_pool = conn__pool_ctr(w, (size_t)mod);
        stats_pool_request(conn__reply_pool, (unsigned)req.op);
        if (len > w->mods->e[mod].cfg->max_request_size) {
            pthread_mutex_unlock(&c->mu);
            conn__reply_error(c, req.id, PROTO_E_TOO_LARGE,
                              "request of %zu bytes exceeds module '%s' max_request_size of %zu",
                              len, w->mods->e[mod].cfg->name,
                              w->mods->e[mod].cfg->max_request_size);
            goto out;
        }
        if (req.op == PROTO_OP_TERMINATE && !in->busy) {
            /* Nothing runs on it: terminate here, it is two system calls. */
            conn__do_inst_unlink(c, in);
            pthread_mutex_unlock(&c->mu);
            conn__inst_destroy(c, in);
            conn__reply(c, proto_reply_ok(req.id), PROTO_OK);
            goto out;
        }
    }
    if (c->inflight >= w->cfg->max_inflight_per_connection) {
        pthread_mutex_unlock(&c->mu);
        conn__reply_error(
            c, req.id, PROTO_E_TOO_MANY_REQUESTS,
            "%u requests of this connection are in flight (max_inflight_per_connection)",
            w->cfg->max_inflight_per_connection);
        goto out;
    }
    if (req.op == PROTO_OP_INSTANTIATE && c->ninstances >= w->cfg->max_instances_per_connection) {
        pthread_mutex_unlock(&c->mu);
        conn__reply_error(c, req.id, PROTO_E_TOO_MANY_INSTANCES,
                          "this connection already has %u instances (max_instances_per_connection)",
                          w->cfg->max_instances_per_connection);
        goto out;
    }
    if (req.op == PROTO_OP_INSTANTIATE && w->mods->e[mod].cfg->max_instances_per_connection > 0 &&
        c->held[mod] >= w->mods->e[mod].cfg->max_instances_per_connection) {
        pthread_mutex_unlock(&c->mu);
        conn__reply_error(c, req.id, PROTO_E_TOO_MANY_INSTANCES,
                          "this connection already holds %u instances of pool '%s' (its "
                          "max_instances_per_connection)",
                          c->held[mod], w->mods->e[mod].cfg->name);
        goto out;
    }
    /* Past max_total_memory no new work starts; what runs already is not touched. A WASI
     * command counts the largest reply it may make. */
    if (req.op != PROTO_OP_TERMINATE &&
        conn__mem_full(c, is_command(c, (size_t)mod, &req) ? wasi_reply_max(c, (size_t)mod) : 0)) {
        pthread_mutex_unlock(&c->mu);
        conn__reply_error(c, req.id, PROTO_E_LIMIT,
                          "this worker's guest memories and reply buffers are at "
                          "max_total_memory (%" PRIu64 " bytes): try again later",
                          w->cfg->max_total_memory);
        goto out;
    }
    j = job_new(c, &req);
    if (j == NULL) {
        pthread_mutex_unlock(&c->mu);
        conn__reply_error(c, req.id, PROTO_E_INTERNAL, "out of memory");
        goto out;
    }
    j->mod = (size_t)mod;
    j->inst = in;
    reply_budget_take(c, j);
    c->inflight++;
    if (j->req.op == PROTO_OP_INSTANTIATE) {
        c->ninstances++;
        c->held[mod]++;
    }
    if (j->req.op == PROTO_OP_TERMINATE)
        in->terminating = true;
    if (in != NULL && in->busy) {
        /* Requests on one instance run in the order they came. */
        if (in->qtail != NULL)
            in->qtail->qnext = j;
        else
            in->qhead = j;
        in->qtail = j;
        j = NULL;
    } else if (in != NULL) {
        in->busy = true;
    }
    pthread_mutex_unlock(&c->mu);
    /* The executor thread that runs the job records it. */
    accesslog_handoff();
    if (j != NULL) {
        atomic_fetch_add_explicit(&w->st->executor_queue, 1, memory_order_relaxed);
        exec_pool_submit(w->exec, &c->q, &j->ej);
    }
out:
    accesslog_end();
    conn__reply_pool = NULL;
    proto_request_release(&req);
}

/* ---------------------------------------------------------------- socket events */

/* Lines a retiring connection still answers with shutting_down in its goodbye (bounded: a
 * client that floods must not make the goodbye last). */
#define GOODBYE_LINES 1024u

/* Whether retiring c has answered everything it read (caller holds c->mu). */
static bool do_drained(const struct conn *c)
{
    return !c->closed && c->inflight == 0 && evbuffer_get_length(c->out) == 0;
}

/* A retiring connection with nothing left in flight (loop thread): answer what the client
 * has sent meanwhile with shutting_down, then one last shutting_down line with "id":null,
 * which answers every request of the client still without a reply (none of them was run),
 * and close. Reading what is pending first also keeps the client from seeing its connection
 * reset, which a close with unread bytes would do. */
static void conn_goodbye(struct conn *c)
{
    static _Thread_local char buf[16384];
    static const char bye[] =
        "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"shutting_down\",\"message\":"
        "\"this worker is retiring (reload or stop): requests without a reply were not run; "
        "send them again on a new connection\"}}\n";
    unsigned lines = 0;

    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_lock(&c->mu);
    do_consume(c);
    c->peek = false;
    pthread_mutex_unlock(&c->mu);
    while (lines < GOODBYE_LINES) {
        const char *line;
        size_t len;
        enum proto_frame f = proto_framer_next(c->fr, &line, &len);

        if (f == PROTO_FRAME_LINE) {
            handle_line(c, line, len);
            lines++;
            continue;
        }
        if (f == PROTO_FRAME_TOO_LARGE) {
            conn__reply_error(c, NULL, PROTO_E_TOO_LARGE,
                              "request line longer than max_request_size (%zu bytes)",
                              c->w->cfg->max_request_size);
            lines++;
            continue;
        }
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0 || proto_framer_feed(c->fr, buf, (size_t)n) < 0)
            break;
    }
    conn__send_line(c, bye, sizeof(bye) - 1, PROTO_E_SHUTTING_DOWN);
    conn_close(c);
    conn__unref(c);
}

/* A retiring c says goodbye once everything it read is answered (loop thread). */
static void retire_check(struct conn *c)
{
    bool drained;

    if (!atomic_load_explicit(&c->w->stopping, memory_order_relaxed) || c->backlog)
        return;
    pthread_mutex_lock(&c->mu);
    drained = do_drained(c);
    pthread_mutex_unlock(&c->mu);
    if (drained)
        conn_goodbye(c);
}

void conn_retire(struct conn *c)
{
    retire_check(c);
}

void conn_cut(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    for (struct job *j = c->running; j != NULL; j = j->rnext) {
        wasmslot_exec_interrupt_sticky(j->running);
        if (j->mt != NULL)
            mtcall_interrupt(j->mt);
    }
    pthread_mutex_unlock(&c->mu);
    retire_check(c);
}

/* The client shut its sending side: answer what it sent, then close (PROTOCOL.md 1). */
static void read_eof(struct conn *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
    bool done;

    /* A peer that closed both directions (POLLHUP) is gone: no one will read the replies, so
     * interrupt its runs now rather than let them finish. */
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)) != 0) {
        conn_close(c);
        return;
    }
    event_del(c->rev);
    pthread_mutex_lock(&c->mu);
    c->read_eof = true;
    done = c->inflight == 0 && evbuffer_get_length(c->out) == 0;
    pthread_mutex_unlock(&c->mu);
    if (done)
        conn_close(c);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    /* Whichever thread leads the loop reads here; off the stack, which it would have to probe
     * page by page on every call. */
    static _Thread_local char buf[65536];
    struct conn *c = arg;
    ssize_t n;
    bool eof = false, paused;

    /* Locks are taken as few times as the request path allows: each is two atomic
     * operations, and a `call` crosses c->mu on several threads. */
    pthread_mutex_lock(&c->mu);
    paused = c->read_paused;
    /* Bytes peeked before and still not consumed (their replies are not out yet, or there
     * were none) go now; the peek offset starts after them either way. */
    if (!paused && !c->backlog)
        do_consume(c);
    pthread_mutex_unlock(&c->mu);
    if (paused) {
        /* on_write adds the event again once the client has read enough. */
        event_del(c->rev);
        return;
    }
    /* Lines left from an earlier turn are served before anything more is read. */
    if (c->backlog)
        goto lines;
    n = recv(fd, buf, sizeof(buf), c->peek ? MSG_PEEK : 0);
    if (n > 0 && (c->peek || c->idle_ev != NULL)) {
        pthread_mutex_lock(&c->mu);
        if (c->peek)
            c->unconsumed += (size_t)n;
        if (c->idle_ev != NULL)
            c->last_active_ns = mono_ns();
        pthread_mutex_unlock(&c->mu);
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        if (errno != ECONNRESET)
            log_debug("connection read: %s", strerror(errno));
        conn_close(c);
        return;
    }
    if (n == 0) {
        /* A last line without its '\n' is still a request. */
        if (proto_framer_pending(c->fr) == 0) {
            read_eof(c);
            return;
        }
        buf[0] = '\n';
        n = 1;
        eof = true;
    }
    if (proto_framer_feed(c->fr, buf, (size_t)n) < 0) {
        conn__reply_error(c, NULL, PROTO_E_INTERNAL, "out of memory");
        conn_close(c);
        return;
    }
    c->eof_pending = eof;
lines:
    c->backlog = false;
    /* Hold a reference: a reply may fail and the loop below must not see c freed. */
    atomic_fetch_add(&c->refs, 1);
    for (unsigned turn = 0;; turn++) {
        const char *line;
        size_t len;
        enum proto_frame f;

        /* One 64K read can hold thousands of requests. Serve a bounded number per turn, so
         * the other connections of this worker are not stalled, and none while the client
         * leaves its replies unread, so they cannot pile up without bound: the rest wait in
         * the framer until on_write resumes reading. */
        if (proto_framer_pending(c->fr) == 0)
            break; /* the common case: the one line read has been served */
        pthread_mutex_lock(&c->mu);
        paused = c->read_paused || c->closed || reply_budget_pause(c);
        pthread_mutex_unlock(&c->mu);
        if (paused || turn == LINES_PER_TURN) {
            c->backlog = proto_framer_pending(c->fr) > 0;
            break;
        }
        f = proto_framer_next(c->fr, &line, &len);
        if (f == PROTO_FRAME_NONE)
            break;
        if (f == PROTO_FRAME_TOO_LARGE) {
            atomic_fetch_add_explicit(&c->w->ctr->requests[STATS_OPS - 1], 1, memory_order_relaxed);
            conn__reply_error(c, NULL, PROTO_E_TOO_LARGE,
                              "request line longer than max_request_size (%zu bytes)",
                              c->w->cfg->max_request_size);
            continue;
        }
        handle_line(c, line, len);
    }
    if (c->backlog) {
        /* Another turn once the loop has served the others (when not paused: on_write
         * resumes a paused one). */
        if (!paused)
            event_active(c->rev, EV_READ, 0);
    } else if (c->eof_pending) {
        c->eof_pending = false;
        read_eof(c);
    } else {
        retire_check(c);
    }
    conn__unref(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    bool failed = false, done = false, drained = false;

    pthread_mutex_lock(&c->mu);
    if (!c->closed) {
        size_t before = evbuffer_get_length(c->out);

        if (evbuffer_get_length(c->out) > 0 && evbuffer_write(c->out, fd) < 0 && errno != EAGAIN &&
            errno != EINTR)
            failed = true;
        if (evbuffer_get_length(c->out) < before)
            c->last_active_ns = mono_ns();
        if (failed || evbuffer_get_length(c->out) == 0) {
            evbuffer_drain(c->out, evbuffer_get_length(c->out));
            event_del(c->wev);
            done = c->read_eof && c->inflight == 0;
            drained = do_drained(c);
        }
        do_charge_out(c);
        if (c->read_paused && evbuffer_get_length(c->out) < OUT_LOW && !reply_budget_full(c)) {
            c->read_paused = false;
            if (!c->read_eof)
                event_add(c->rev, NULL);
            /* Lines already received may be all the client sends: serve them now. */
            if (c->backlog)
                event_active(c->rev, EV_READ, 0);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (failed || done)
        conn_close(c);
    else if (drained)
        retire_check(c);
}

void conn_refuse(struct worker *w, int fd, enum proto_err code, const char *why)
{
    static uint64_t last_warn_ns;
    char line[512], sink[4096];
    int n = snprintf(line, sizeof(line),
                     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
                     proto_err_code(code), why);
    uint64_t now = mono_ns();

    /* A fresh socket's send buffer takes one short line; if not, the client loses only the
     * explanation. */
    if (n > 0 && (size_t)n < sizeof(line) &&
        send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("refusing a connection: %s", strerror(errno));
    /* A client that wrote its first request at once would see its connection reset, not the
     * line, if it were closed with those bytes unread. */
    while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
        ;
    close(fd);
    atomic_fetch_add_explicit(&w->ctr->connections_refused, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->ctr->errors[code], 1, memory_order_relaxed);
    if (code == PROTO_E_SHUTTING_DOWN)
        return;
    /* One warning every 10 s at most: a flood of refusals must not flood the log. */
    if (last_warn_ns == 0 || now - last_warn_ns > UINT64_C(10000000000)) {
        last_warn_ns = now;
        log_warn("refusing connections: %s", why);
    }
}

/* ---------------------------------------------------------------- what connections share */

/* Open connections of one client uid (max_connections_per_uid). */
struct uid_count {
    uid_t uid;
    unsigned n;
};

/* Connections of uid open now (loop thread). A linear scan: there are rarely more than a
 * few uids, and one scan of max_connections entries at most costs well under a
 * microsecond per accepted connection. */
static unsigned uid_count(const struct conn_fair *f, uid_t uid)
{
    for (size_t i = 0; i < f->nuids; i++)
        if (f->uids[i].uid == uid)
            return f->uids[i].n;
    return 0;
}

/* One more connection of uid (loop thread; only counted under max_connections_per_uid).
 * Returns 0 or -1 when out of memory. */
static int uid_take(struct conn_fair *f, uid_t uid)
{
    if (f->w->cfg->max_connections_per_uid == 0)
        return 0;
    for (size_t i = 0; i < f->nuids; i++) {
        if (f->uids[i].uid == uid) {
            f->uids[i].n++;
            return 0;
        }
    }
    if (f->nuids == f->uids_cap) {
        size_t cap = f->uids_cap ? 2 * f->uids_cap : 16;
        struct uid_count *u = realloc(f->uids, cap * sizeof(*u));
        if (u == NULL)
            return -1;
        f->uids = u;
        f->uids_cap = cap;
    }
    f->uids[f->nuids++] = (struct uid_count){.uid = uid, .n = 1};
    return 0;
}

/* A connection of uid closed (loop thread). */
static void uid_release(struct conn_fair *f, uid_t uid)
{
    if (f->w->cfg->max_connections_per_uid == 0)
        return;
    for (size_t i = 0; i < f->nuids; i++) {
        if (f->uids[i].uid == uid) {
            if (--f->uids[i].n == 0)
                f->uids[i] = f->uids[--f->nuids];
            return;
        }
    }
}

struct conn_fair *conn_fair_new(struct worker *w)
{
    struct conn_fair *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->w = w;
    f->nmods = w->mods->n;
    f->waits = calloc(f->nmods, sizeof(*f->waits));
    if (f->waits == NULL) {
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < f->nmods; i++) {
        pthread_mutex_init(&f->waits[i].mu, NULL);
        if (w->mods->e[i].cfg->pool_wait_ms == 0)
            continue;
        f->waits[i].ev = evtimer_new(w->base, conn__pool_wait_expire, &f->waits[i]);
        if (f->waits[i].ev == NULL) {
            conn_fair_free(f);
            return NULL;
        }
    }
    return f;
}

void conn_fair_free(struct conn_fair *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nmods; i++) {
        if (f->waits[i].ev != NULL)
            event_free(f->waits[i].ev);
        pthread_mutex_destroy(&f->waits[i].mu);
    }
    free(f->waits);
    free(f->uids);
    free(f);
}

static void idle_arm(struct conn *c, uint64_t ns)
{
    struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000u),
                         .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};

    event_add(c->idle_ev, &tv);
}

/* idle_timeout's timer (loop thread). A connection is idle when no request of it is in flight
 * and, for the whole timeout, it sent no bytes and took no reply bytes; the instances it holds
 * do not count (PROTOCOL.md 6): it is closed and they are terminated. The timer is not moved
 * on every read: it fires, looks at the last activity and sleeps for what is left. */
static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    uint64_t timeout = c->w->cfg->idle_timeout_ms * 1000000u, now = mono_ns(), left = 0;
    bool idle, closed;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&c->mu);
    if (c->inflight > 0)
        left = timeout;
    else if (now - c->last_active_ns < timeout)
        left = timeout - (now - c->last_active_ns);
    idle = left == 0;
    closed = c->closed;
    pthread_mutex_unlock(&c->mu);
    if (closed)
        return;
    if (!idle) {
        idle_arm(c, left);
        return;
    }
    atomic_fetch_add_explicit(&c->w->ctr->connections_idle_closed, 1, memory_order_relaxed);
    log_debug("closing a connection idle for %" PRIu64 " ms (idle_timeout)",
              c->w->cfg->idle_timeout_ms);
    conn_close(c);
}

/* Start c's idle timer, when idle_timeout is set. */
static int idle_timer_new(struct conn *c)
{
    c->last_active_ns = mono_ns();
    if (c->w->cfg->idle_timeout_ms == 0)
        return 0;
    c->idle_ev = evtimer_new(c->w->base, on_idle, c);
    if (c->idle_ev == NULL)
        return -1;
    idle_arm(c, c->w->cfg->idle_timeout_ms * 1000000u);
    return 0;
}

struct conn *conn_new(struct worker *w, int fd)
{
    struct conn *c;

    struct ucred cred;
    socklen_t credlen = sizeof(cred);
    uid_t uid = (uid_t)-1;
    char why[160];

    if (w->nconns >= w->cfg->max_connections) {
        snprintf(why, sizeof(why), "this worker already serves %u connections (max_connections)",
                 w->cfg->max_connections);
        conn_refuse(w, fd, PROTO_E_TOO_MANY_CONNS, why);
        return NULL;
    }
    if (w->cfg->max_connections_per_uid > 0) {
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0)
            uid = cred.uid;
        if (uid_count(w->fair, uid) >= w->cfg->max_connections_per_uid) {
            snprintf(why, sizeof(why),
                     "uid %ld already has %u connections to this worker "
                     "(max_connections_per_uid)",
                     uid == (uid_t)-1 ? -1L : (long)uid, w->cfg->max_connections_per_uid);
            conn_refuse(w, fd, PROTO_E_TOO_MANY_CONNS, why);
            return NULL;
        }
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->held = calloc(w->mods->n, sizeof(*c->held))) == NULL ||
        uid_take(w->fair, uid) < 0) {
        if (c != NULL)
            free(c->held);
        free(c);
        close(fd);
        return NULL;
    }
    c->w = w;
    c->fd = fd;
    c->uid = uid;
    /* See do_consume(). Without a peek offset each peek would return the same bytes again. */
    c->peek = setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &(int){0}, sizeof(int)) == 0;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    c->fr = proto_framer_new(w->cfg->max_request_size);
    c->out = evbuffer_new();
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (c->fr == NULL || c->out == NULL || c->rev == NULL || c->wev == NULL ||
        idle_timer_new(c) < 0 || event_add(c->rev, NULL) < 0) {
        log_error("cannot set up a connection: out of memory");
        uid_release(w->fair, uid);
        conn_free(c);
        return NULL;
    }
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&w->ctr->connections, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->st->connections_open, 1, memory_order_relaxed);
    return c;
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

void conn_close(struct conn *c)
{
    struct worker *w = c->w;
    struct inst *idle = NULL, **pp;

    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->closed = true;
    do_charge_out(c);
    event_del(c->rev);
    event_del(c->wev);
    if (c->idle_ev != NULL)
        event_del(c->idle_ev);
    /* Runs in flight end as soon as the interpreter notices; their instances are released
     * by the executor thread when they do. */
    for (struct job *j = c->running; j != NULL; j = j->rnext) {
        /* Sticky: the job may be between run_begin and its wasmslot_call (mapping a slot, say),
         * and a plain request would be cleared as stale when the guest code starts. */
        wasmslot_exec_interrupt_sticky(j->running);
        if (j->mt != NULL)
            mtcall_interrupt(j->mt);
    }
    for (pp = &c->insts; *pp != NULL;) {
        struct inst *in = *pp;
        if (!in->busy) {
            *pp = in->next;
            conn__do_held_drop(c, in->mi.mod);
            in->next = idle;
            idle = in;
        } else {
            pp = &in->next;
        }
    }
    pthread_mutex_unlock(&c->mu);
    while (idle != NULL) {
        struct inst *in = idle;
        idle = in->next;
        conn__inst_destroy(c, in);
    }
    shutdown(c->fd, SHUT_RDWR);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->nconns--;
    uid_release(w->fair, c->uid);
    atomic_fetch_sub_explicit(&w->st->connections_open, 1, memory_order_relaxed);
    conn__unref(c);
    worker_conn_gone(w);
}
