/* conn.c: a client connection: splits its bytes into request lines, answers the quick ops on
 * the loop thread, hands guest code to the executor threads, owns the instances it created. */
#include "config.h"

#include "conn.h"

#include "exec_pool.h"
#include "log.h"
#include "proto.h"
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

struct job;

/* An instance owned by a connection. */
struct inst {
    struct inst *next;
    char handle[PROTO_HANDLE_MAX];
    struct modset_instance mi;
    bool busy;                 /* one of its jobs is queued on the executors or running */
    bool terminating;          /* a terminate was accepted: the handle is gone for new requests */
    struct job *qhead, *qtail; /* jobs waiting behind the busy one, run in order */
};

/* A request handed to the executor threads. */
struct job {
    struct exec_job ej; /* first: the executor hands this pointer back */
    struct conn *c;
    struct proto_request req;
    size_t mod;
    struct inst *inst;         /* run, terminate */
    struct wasm_exec *running; /* set while guest code runs, so a close can interrupt it */
    struct job *rnext, *rprev; /* the connection's list of running jobs */
    struct job *qnext;         /* an instance's waiting list */
    struct mtcall *mt;         /* a call with threads: its other threads, interrupted with it */
    size_t reserve;            /* what it adds to c->reserved until it is freed */
};

struct conn {
    struct worker *w;
    int fd;
    struct event *rev, *wev;
    struct proto_framer *fr;
    atomic_int refs; /* the loop thread's, plus one per job */

    pthread_mutex_t mu; /* guards everything below */
    struct evbuffer *out;
    bool closed;
    bool read_eof;       /* the client shut its sending side: close once everything is answered */
    bool read_paused;    /* replies pile up unread: stop reading requests for a while */
    bool backlog;        /* loop thread: complete lines wait in the framer for another turn */
    bool eof_pending;    /* loop thread: the peer's end of input came behind the backlog */
    unsigned inflight;   /* jobs not yet finished */
    unsigned ninstances; /* live instances plus instantiations under way */
    struct inst *insts;
    struct job *running;
    size_t reserved;         /* worst-case bytes of its WASI replies in flight */
    uint64_t last_active_ns; /* last request bytes read, reply bytes taken or run finished */
    struct event *idle_ev;   /* idle_timeout's timer (loop thread); NULL when there is none */

    struct conn *prev, *next; /* the worker's list (loop thread) */
};

/* Handles are numbers unique in the daemon (a per-worker counter times 256 plus the worker's
 * index), so one connection can never name another's instance by accident, and clients may
 * send them back as JSON integers. */
static atomic_uint_fast64_t next_handle = 1;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
    pthread_mutex_destroy(&c->mu);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void conn_unref(struct conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        conn_free(c);
}

/* The connection did something (loop thread): request bytes came in. */
static void conn_touch(struct conn *c)
{
    if (c->idle_ev == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->last_active_ns = mono_ns();
    pthread_mutex_unlock(&c->mu);
}

/* Send one reply (any thread). Writes straight to the socket when nothing is queued, so a
 * reply from an executor thread does not wait for the loop thread. */
static void send_line(struct conn *c, const char *line, size_t len, enum proto_err code);

static void reply(struct conn *c, json_t *msg, enum proto_err code)
{
    size_t len = 0;
    char *line = proto_line(msg, &len);

    if (line == NULL) {
        /* Out of memory while rendering: say so with a line that needs no allocation. */
        static const char oom[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
                                  "\"internal_error\",\"message\":\"out of memory\"}}\n";
        log_error("cannot render a reply: out of memory");
        send_line(c, oom, sizeof(oom) - 1, code);
        return;
    }
    send_line(c, line, len, code);
    free(line);
}

/* A reply rendered by proto_render_*() into a stack buffer (no json_t, no malloc); len 0
 * means the fast renderer declined, and msg() builds the reply for jansson instead. */
#define REPLY_FAST(c, code, render, msg)                                                           \
    do {                                                                                           \
        char fast_[512];                                                                           \
        size_t flen_ = render;                                                                     \
        if (flen_ != 0)                                                                            \
            send_line((c), fast_, flen_, (code));                                                  \
        else                                                                                       \
            reply((c), (msg), (code));                                                             \
    } while (0)

/* Send one complete reply line (any thread), counting its error code. */
static void send_line(struct conn *c, const char *line, size_t len, enum proto_err code)
{
    struct stats_worker *st = c->w->st;
    size_t off = 0;

    if (code != PROTO_OK && (unsigned)code < STATS_ERR_CODES)
        atomic_fetch_add_explicit(&st->errors[code], 1, memory_order_relaxed);
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
    }
    pthread_mutex_unlock(&c->mu);
}

static void reply_error(struct conn *c, const json_t *id, enum proto_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reply_error(struct conn *c, const json_t *id, enum proto_err code, const char *fmt, ...)
{
    va_list ap;
    json_t *msg;

    va_start(ap, fmt);
    msg = proto_reply_verror(id, code, fmt, ap);
    va_end(ap);
    reply(c, msg, code);
}

static void reply_wasm_error(struct conn *c, const json_t *id, int rc, const char *detail)
{
    reply(c, proto_reply_wasm_error(id, rc, detail), proto_err_from_wasm(rc));
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
    atomic_fetch_add_explicit(&c->w->st->reply_buffer_pauses, 1, memory_order_relaxed);
    return true;
}

/* A job is accepted: a WASI command reserves its worst-case reply. */
static void reply_budget_take(struct conn *c, struct job *j)
{
    const struct modset_entry *e = &c->w->mods->e[j->mod];

    if ((j->req.op == PROTO_OP_CALL || j->req.op == PROTO_OP_RUN) && e->wasi != NULL &&
        j->req.export_len == 6 && memcmp(j->req.export_name, "_start", 6) == 0) {
        j->reserve = wasi_reply_max(c, j->mod);
        c->reserved += j->reserve;
    }
}

/* A job's reply is out (in c->out or sent): its reservation goes, and a connection that waits
 * only for it is read again, by on_write on the loop thread. */
static void reply_budget_release(struct conn *c, size_t reserve)
{
    if (reserve == 0)
        return;
    c->reserved -= reserve;
    if (c->read_paused && !c->closed && !reply_budget_full(c))
        event_active(c->wev, EV_WRITE, 1);
}

static void job_free(struct job *j)
{
    struct conn *c = j->c;

    pthread_mutex_lock(&c->mu);
    c->inflight--;
    if (c->inflight == 0)
        c->last_active_ns = mono_ns();
    reply_budget_release(c, j->reserve);
    /* A half-closed connection closes once its last reply is out: the loop thread does it. */
    if (c->read_eof && c->inflight == 0 && !c->closed)
        event_active(c->wev, EV_WRITE, 1);
    pthread_mutex_unlock(&c->mu);
    proto_request_release(&j->req);
    free(j);
    conn_unref(c);
}

/* Terminate an instance that is no longer on any list (any thread). */
static void inst_destroy(struct conn *c, struct inst *in)
{
    struct worker *w = c->w;
    size_t mod = in->mi.mod;
    int rc = modset_release(w->pools, &in->mi);

    if (rc < 0)
        log_warn("resetting a slot of module '%s' failed: %s (it is wiped before reuse)",
                 w->mods->e[mod].cfg->name, wasm_strerror(rc));
    atomic_fetch_sub_explicit(&w->st->instances_open, 1, memory_order_relaxed);
    free(in);
    worker_publish_pool(w, mod);
}

/* Unlink in from c's list; caller holds c->mu. */
static void do_inst_unlink(struct conn *c, struct inst *in)
{
    for (struct inst **pp = &c->insts; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == in) {
            *pp = in->next;
            c->ninstances--;
            return;
        }
    }
}

static struct inst *do_inst_find(struct conn *c, const char *handle)
{
    for (struct inst *in = c->insts; in != NULL; in = in->next)
        if (!in->terminating && strcmp(in->handle, handle) == 0)
            return in;
    return NULL;
}

/* Guest code is about to run on ex for j: a close from now on interrupts it. Returns false
 * when the connection is already closed (then nothing should run). */
static bool run_begin(struct job *j, struct wasm_exec *ex)
{
    struct conn *c = j->c;
    bool ok;

    pthread_mutex_lock(&c->mu);
    ok = !c->closed;
    if (ok) {
        j->running = ex;
        j->rprev = NULL;
        j->rnext = c->running;
        if (c->running != NULL)
            c->running->rprev = j;
        c->running = j;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static void run_end(struct job *j)
{
    struct conn *c = j->c;

    pthread_mutex_lock(&c->mu);
    if (j->rprev != NULL)
        j->rprev->rnext = j->rnext;
    else
        c->running = j->rnext;
    if (j->rnext != NULL)
        j->rnext->rprev = j->rprev;
    /* Unlisted, no close can interrupt it any more: drop a request that came after the guest
     * code ended, which the next job on this executor would otherwise inherit. */
    wasm_exec_clear_interrupt(j->running);
    j->running = NULL;
    pthread_mutex_unlock(&c->mu);
}

/* The monotonic time ms milliseconds from now; 0 (none) for 0. A deadline past 2^63 ns
 * (292 years) is none too: ms * 10^6 would wrap around to a time already passed. */
static uint64_t deadline_ns(uint64_t ms)
{
    if (ms == 0 || ms > (UINT64_C(1) << 63) / 1000000u)
        return 0;
    return mono_ns() + ms * 1000000u;
}

/* The run's deadline: the request's, capped by the module's configured one (0: none). */
static void set_deadline(struct job *j, struct wasm_exec *ex)
{
    uint64_t ms = j->c->w->mods->e[j->mod].cfg->deadline_ms;

    if (j->req.has_deadline && (ms == 0 || j->req.deadline_ms < ms))
        ms = j->req.deadline_ms;
    wasm_exec_set_deadline(ex, deadline_ns(ms));
}

static void count_run(struct worker *w, uint64_t t0)
{
    atomic_fetch_add_explicit(&w->st->runs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->st->run_nanoseconds, mono_ns() - t0, memory_order_relaxed);
}

/* Guest code of a WASI module may call WASI functions outside `_start` (a start function, a
 * library export): give them the thread's state, with its output thrown away. */
static void wasi_bind(struct worker *w, size_t mod, struct wasm_exec *ex)
{
    struct wasi *ws;

    if (w->mods->e[mod].wasi == NULL)
        return;
    ws = wasirun_state(mod, w->mods->n, w->mods->e[mod].cfg);
    /* wasi_reset keeps the argv, environment and stdin of the thread's last command, which
     * may have been another connection's: this guest code gets none (without a state, its
     * WASI calls fail instead). */
    if (ws != NULL && (wasi_set_args(ws, 0, NULL) < 0 || wasi_set_env(ws, 0, NULL) < 0 ||
                       wasi_set_stdin(ws, "", 0) < 0))
        ws = NULL;
    if (ws != NULL)
        wasi_reset(ws);
    wasm_exec_set_user(ex, ws);
}

/* A call's instance is finished with once its run has ended: its slot goes back before the
 * reply, so a client that sends its next request on reading the reply finds the slot free (a
 * one-slot pool serves call after call). job_run's release afterwards is then a no-op. */
static void call_release(struct job *j, struct modset_instance *mi)
{
    if (j->req.op == PROTO_OP_CALL && modset_release(j->c->w->pools, mi) < 0)
        log_warn("resetting a slot of module '%s' failed (it is wiped before reuse)",
                 j->c->w->mods->e[mi->mod].cfg->name);
}

/* `_start` of a WASI module: a command with argv, env, stdin, exit code and output. */
static void run_command(struct job *j, struct wasm_exec *ex, struct modset_instance *mi)
{
    struct worker *w = j->c->w;
    const struct modset_entry *e = &w->mods->e[mi->mod];
    enum proto_err code = PROTO_OK;
    json_t *msg;
    uint64_t t0;
    int rc = 0;

    if (j->req.nargs != 0) {
        reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                    "_start takes no arguments (give the program argv instead)");
        return;
    }
    if (!run_begin(j, ex))
        return;
    set_deadline(j, ex);
    t0 = mono_ns();
    msg = wasirun_start(&j->req, mi->mod, w->mods->n, e->cfg, e->module, mi->inst, ex, &code, &rc);
    run_end(j);
    count_run(w, t0);
    call_release(j, mi);
    if (wasm_is_trap(rc))
        modset_count_trap(w->pools, mi->mod, rc);
    reply(j->c, msg, code);
}

/* Instantiate j->mod on ex. Returns 0 with *mi filled, or replies the error itself. */
static int instantiate_on(struct job *j, struct wasm_exec *ex, struct modset_instance *mi)
{
    struct worker *w = j->c->w;
    struct wasm_error err = {0};
    int rc;

    if (!run_begin(j, ex))
        return -ECANCELED;
    /* The deadline covers the start function too. */
    set_deadline(j, ex);
    wasi_bind(w, j->mod, ex);
    rc = modset_instantiate(w->pools, j->mod, ex, mi, &err);
    wasm_exec_set_user(ex, NULL);
    run_end(j);
    /* A call publishes once, after its release. */
    if (rc < 0 || j->req.op == PROTO_OP_INSTANTIATE)
        worker_publish_pool(w, j->mod);
    if (rc < 0) {
        if (rc == -WASM_EEXHAUSTED)
            reply_error(j->c, j->req.id, PROTO_E_POOL_EXHAUSTED,
                        "pool '%s' has no free slot (%u slots)", w->mods->e[j->mod].cfg->name,
                        w->mods->e[j->mod].cfg->slots);
        else
            reply_wasm_error(j->c, j->req.id, rc, wasm_is_trap(rc) ? NULL : err.message);
        return rc;
    }
    return 0;
}

static bool wire_type(enum wasm_valtype t)
{
    return t == WASM_I32 || t == WASM_I64 || t == WASM_F32 || t == WASM_F64;
}

/* Check args against the export's signature, so the message can say what was expected. */
static bool args_match(struct job *j, const struct wasm_functype *ft)
{
    char want[256], got[256];
    size_t wn = 0, gn = 0;
    bool ok = j->req.nargs == ft->nparams;

    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (!wire_type(ft->params[i])) {
            reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                        "export '%s' takes a %s, which the protocol cannot carry",
                        j->req.export_name, wasm_valtype_name(ft->params[i]));
            return false;
        }
    }
    for (uint32_t i = 0; i < ft->nresults; i++) {
        if (!wire_type(ft->results[i])) {
            reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                        "export '%s' returns a %s, which the protocol cannot carry",
                        j->req.export_name, wasm_valtype_name(ft->results[i]));
            return false;
        }
    }

    for (uint32_t i = 0; ok && i < ft->nparams; i++)
        ok = j->req.args[i].type == ft->params[i];
    if (ok)
        return true;
    want[0] = got[0] = '\0';
    for (uint32_t i = 0; i < ft->nparams && wn < sizeof(want); i++)
        wn += (size_t)snprintf(want + wn, sizeof(want) - wn, "%s%s", i ? ", " : "",
                               wasm_valtype_name(ft->params[i]));
    for (uint32_t i = 0; i < j->req.nargs && gn < sizeof(got); i++)
        gn += (size_t)snprintf(got + gn, sizeof(got) - gn, "%s%s", i ? ", " : "",
                               wasm_valtype_name(j->req.args[i].type));
    reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS, "export '%s' takes (%s), got (%s)",
                j->req.export_name, want, got);
    return false;
}

/* Run the requested export on instance mi and reply. */
static void run_on(struct job *j, struct wasm_exec *ex, struct modset_instance *mi)
{
    struct worker *w = j->c->w;
    struct wasm_value small[8], *results = small;
    const struct wasm_functype *ft;
    struct wasm_extern ext;
    uint64_t t0;
    int rc;

    if (w->mods->e[mi->mod].wasi != NULL && j->req.export_len == 6 &&
        memcmp(j->req.export_name, "_start", 6) == 0) {
        run_command(j, ex, mi);
        return;
    }
    if (wasm_instance_export(mi->inst, j->req.export_name, j->req.export_len, &ext) < 0 ||
        ext.kind != WASM_EXTERN_FUNC) {
        reply_error(j->c, j->req.id, PROTO_E_UNKNOWN_EXPORT, "module '%s' exports no function '%s'",
                    w->mods->e[mi->mod].cfg->name, j->req.export_name);
        return;
    }
    ft = wasm_func_type(ext.of.func);
    if (!args_match(j, ft))
        return;
    if (ft->nresults > sizeof(small) / sizeof(small[0])) {
        results = calloc(ft->nresults, sizeof(*results));
        if (results == NULL) {
            reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
            return;
        }
    }
    if (!run_begin(j, ex))
        goto done;
    set_deadline(j, ex);
    wasi_bind(w, mi->mod, ex);
    t0 = mono_ns();
    rc = wasm_call(ex, ext.of.func, j->req.args, j->req.nargs, results, ft->nresults);
    wasm_exec_set_user(ex, NULL);
    run_end(j);
    count_run(w, t0);
    call_release(j, mi);
    if (rc == 0) {
        REPLY_FAST(j->c, PROTO_OK,
                   proto_render_results(fast_, sizeof(fast_), j->req.id, results, ft->nresults),
                   proto_reply_results(j->req.id, results, ft->nresults));
    } else {
        if (wasm_is_trap(rc))
            modset_count_trap(w->pools, mi->mod, rc);
        reply_wasm_error(j->c, j->req.id, rc, NULL);
    }
done:
    if (results != small)
        free(results);
}

/* ---------------------------------------------------------------- calls with threads */

/* mtcall's prepare hook: WASI functions of the module find the thread's state. */
static void thread_prepare(void *arg, struct wasm_exec *ex)
{
    struct job *j = arg;

    wasi_bind(j->c->w, j->mod, ex);
}

/* The export of a threaded call takes the thread index first (an i32), then the request's
 * args. Replies the error itself and returns false when the signature does not fit. */
static bool thread_args_match(struct job *j, const struct wasm_functype *ft)
{
    bool ok = ft->nparams == j->req.nargs + 1 && ft->params[0] == WASM_I32;

    for (uint32_t i = 0; i < ft->nresults; i++) {
        if (!wire_type(ft->results[i])) {
            reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                        "export '%s' returns a %s, which the protocol cannot carry",
                        j->req.export_name, wasm_valtype_name(ft->results[i]));
            return false;
        }
    }
    for (uint32_t i = 0; ok && i < j->req.nargs; i++)
        ok = j->req.args[i].type == ft->params[i + 1];
    if (!ok)
        reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                    "with threads, export '%s' must take (i32 thread_index, then the %u "
                    "argument(s) of the request) with matching types",
                    j->req.export_name, j->req.nargs);
    return ok;
}

/* Reply to a threaded call: every thread's results in thread order, or the first failure of
 * the lowest thread index. */
static void reply_threads(struct job *j, const struct mtcall_thread *t, unsigned n)
{
    json_t *msg, *arr;

    for (unsigned i = 0; i < n; i++) {
        if (t[i].rc != 0) {
            char detail[224];
            snprintf(detail, sizeof(detail), "thread %u: %s", i, wasm_strerror(t[i].rc));
            msg = proto_reply_wasm_error(j->req.id, t[i].rc, detail);
            if (msg != NULL && json_object_get(msg, "error") != NULL)
                json_object_set_new(json_object_get(msg, "error"), "thread", json_integer(i));
            reply(j->c, msg, proto_err_from_wasm(t[i].rc));
            return;
        }
    }
    msg = proto_reply_new(j->req.id, true);
    arr = json_array();
    for (unsigned i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, proto_values_to_json(t[i].results, t[i].nresults)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (msg == NULL || arr == NULL || json_object_set_new(msg, "thread_results", arr) < 0) {
        json_decref(msg);
        reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    reply(j->c, msg, PROTO_OK);
}

/* A call with "threads": N instances of the module (N slots of its pool), the export called
 * in each at once on N executor threads with the thread index as its first argument. */
static void call_threads(struct job *j, struct wasm_exec *ex)
{
    struct worker *w = j->c->w;
    const struct modset_entry *e = &w->mods->e[j->mod];
    unsigned n = j->req.threads, made = 0;
    struct modset_instance *mi = NULL;
    struct mtcall_thread *t = NULL;
    struct wasm_value *argv = NULL;
    const struct wasm_functype *ft = NULL;
    struct wasm_value *res = NULL;
    struct wasm_error err = {0};
    struct wasm_extern ext;
    uint64_t t0, deadline_ms;
    bool ran = false;
    int rc = 0;

    if (n > w->cfg->executor_threads) {
        reply_error(j->c, j->req.id, PROTO_E_BAD_FIELD, "threads %u exceeds executor_threads (%u)",
                    n, w->cfg->executor_threads);
        return;
    }
    if (n > e->cfg->slots) {
        reply_error(j->c, j->req.id, PROTO_E_POOL_EXHAUSTED,
                    "threads %u needs %u slots, pool '%s' has %u", n, n, e->cfg->name,
                    e->cfg->slots);
        return;
    }
    if (e->wasi != NULL && j->req.export_len == 6 && memcmp(j->req.export_name, "_start", 6) == 0) {
        reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                    "a WASI command (_start) cannot be called with threads");
        return;
    }
    mi = calloc(n, sizeof(*mi));
    t = calloc(n, sizeof(*t));
    j->mt = mtcall_new(n);
    if (mi == NULL || t == NULL || j->mt == NULL) {
        reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
        goto out;
    }
    if (!run_begin(j, ex))
        goto out;
    /* The deadline covers the start functions too. */
    set_deadline(j, ex);
    wasi_bind(w, j->mod, ex);
    for (made = 0; made < n; made++) {
        rc = modset_instantiate(w->pools, j->mod, ex, &mi[made], &err);
        if (rc < 0)
            break;
        atomic_fetch_add_explicit(&w->st->instances_open, 1, memory_order_relaxed);
    }
    wasm_exec_set_user(ex, NULL);
    if (rc < 0) {
        run_end(j);
        if (rc == -WASM_EEXHAUSTED)
            reply_error(j->c, j->req.id, PROTO_E_POOL_EXHAUSTED,
                        "threads %u needs %u free slots, pool '%s' had %u", n, n, e->cfg->name,
                        made);
        else
            reply_wasm_error(j->c, j->req.id, rc, wasm_is_trap(rc) ? NULL : err.message);
        goto out;
    }
    if (wasm_instance_export(mi[0].inst, j->req.export_name, j->req.export_len, &ext) < 0 ||
        ext.kind != WASM_EXTERN_FUNC) {
        run_end(j);
        reply_error(j->c, j->req.id, PROTO_E_UNKNOWN_EXPORT, "module '%s' exports no function '%s'",
                    e->cfg->name, j->req.export_name);
        goto out;
    }
    ft = wasm_func_type(ext.of.func);
    if (!thread_args_match(j, ft)) {
        run_end(j);
        goto out;
    }
    argv = calloc((size_t)n * (j->req.nargs + 1), sizeof(*argv));
    res = calloc((size_t)n * (ft->nresults ? ft->nresults : 1), sizeof(*res));
    if (argv == NULL || res == NULL) {
        run_end(j);
        reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        struct wasm_value *a = &argv[(size_t)i * (j->req.nargs + 1)];
        wasm_instance_export(mi[i].inst, j->req.export_name, j->req.export_len, &ext);
        a[0].type = WASM_I32;
        a[0].of.i32 = i;
        if (j->req.nargs > 0)
            memcpy(&a[1], j->req.args, j->req.nargs * sizeof(*a));
        t[i] = (struct mtcall_thread){.func = ext.of.func,
                                      .args = a,
                                      .nargs = j->req.nargs + 1,
                                      .results = &res[(size_t)i * ft->nresults],
                                      .nresults = ft->nresults};
    }
    deadline_ms = e->cfg->deadline_ms;
    if (j->req.has_deadline && (deadline_ms == 0 || j->req.deadline_ms < deadline_ms))
        deadline_ms = j->req.deadline_ms;
    t0 = mono_ns();
    mtcall_run(j->mt, w->exec, ex, t, deadline_ns(deadline_ms), thread_prepare, j);
    run_end(j);
    for (unsigned i = 0; i < n; i++) {
        count_run(w, t0);
        if (wasm_is_trap(t[i].rc))
            modset_count_trap(w->pools, j->mod, t[i].rc);
    }
    ran = true;
out:
    for (unsigned i = 0; i < made; i++) {
        if (modset_release(w->pools, &mi[i]) < 0)
            log_warn("resetting a slot of module '%s' failed (it is wiped before reuse)",
                     e->cfg->name);
        atomic_fetch_sub_explicit(&w->st->instances_open, 1, memory_order_relaxed);
    }
    if (made > 0 || rc < 0)
        worker_publish_pool(w, j->mod);
    /* After the release, as for a plain call: the client's next request finds the slots free.
     * The results live in res, not in the instances. */
    if (ran)
        reply_threads(j, t, n);
    pthread_mutex_lock(&j->c->mu);
    mtcall_free(j->mt);
    j->mt = NULL;
    pthread_mutex_unlock(&j->c->mu);
    free(argv);
    free(res);
    free(t);
    free(mi);
}

/* After a job of instance in finished: start the next one waiting, or release the instance
 * when its connection has closed. */
static void inst_job_done(struct conn *c, struct inst *in)
{
    struct job *next = NULL, *drop = NULL;
    bool destroy = false;

    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        drop = in->qhead;
        in->qhead = in->qtail = NULL;
        do_inst_unlink(c, in);
        destroy = true;
    } else if (in->qhead != NULL) {
        next = in->qhead;
        in->qhead = next->qnext;
        if (in->qhead == NULL)
            in->qtail = NULL;
    } else {
        in->busy = false;
    }
    pthread_mutex_unlock(&c->mu);
    if (next != NULL)
        exec_pool_submit(c->w->exec, &next->ej);
    while (drop != NULL) {
        struct job *d = drop;
        drop = d->qnext;
        job_free(d);
    }
    if (destroy)
        inst_destroy(c, in);
}

static void job_run(struct exec_job *ej, struct wasm_exec *ex)
{
    struct job *j = (struct job *)ej;
    struct conn *c = j->c;
    struct modset_instance mi;

    switch (j->req.op) {
    case PROTO_OP_INSTANTIATE: {
        struct inst *in = calloc(1, sizeof(*in));
        bool closed;

        if (in == NULL) {
            pthread_mutex_lock(&c->mu);
            c->ninstances--;
            pthread_mutex_unlock(&c->mu);
            reply_error(c, j->req.id, PROTO_E_INTERNAL, "out of memory");
            break;
        }
        if (instantiate_on(j, ex, &in->mi) < 0) {
            pthread_mutex_lock(&c->mu);
            c->ninstances--;
            pthread_mutex_unlock(&c->mu);
            free(in);
            break;
        }
        atomic_fetch_add_explicit(&c->w->st->instances_open, 1, memory_order_relaxed);
        snprintf(in->handle, sizeof(in->handle), "%" PRIuFAST64,
                 atomic_fetch_add(&next_handle, 1) * 256 + (c->w->args->index & 255));
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        if (!closed) {
            in->next = c->insts;
            c->insts = in;
        } else {
            c->ninstances--;
        }
        pthread_mutex_unlock(&c->mu);
        if (closed)
            inst_destroy(c, in);
        else
            reply(c, proto_reply_instance(j->req.id, in->handle), PROTO_OK);
        break;
    }
    case PROTO_OP_CALL:
        if (j->req.threads > 0) {
            call_threads(j, ex);
            break;
        }
        if (instantiate_on(j, ex, &mi) < 0)
            break;
        atomic_fetch_add_explicit(&c->w->st->instances_open, 1, memory_order_relaxed);
        run_on(j, ex, &mi);
        if (modset_release(c->w->pools, &mi) < 0)
            log_warn("resetting a slot of module '%s' failed (it is wiped before reuse)",
                     c->w->mods->e[j->mod].cfg->name);
        atomic_fetch_sub_explicit(&c->w->st->instances_open, 1, memory_order_relaxed);
        worker_publish_pool(c->w, j->mod);
        break;
    case PROTO_OP_RUN: {
        struct inst *in = j->inst;
        bool closed;
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        pthread_mutex_unlock(&c->mu);
        if (!closed)
            run_on(j, ex, &in->mi);
        inst_job_done(c, in);
        break;
    }
    case PROTO_OP_TERMINATE: {
        struct inst *in = j->inst;
        bool closed;
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        if (!closed)
            do_inst_unlink(c, in);
        pthread_mutex_unlock(&c->mu);
        if (closed) {
            inst_job_done(c, in); /* releases it with the connection's other instances */
        } else {
            inst_destroy(c, in);
            reply(c, proto_reply_ok(j->req.id), PROTO_OK);
        }
        break;
    }
    case PROTO_OP_PING:
    case PROTO_OP_STATS:
    case PROTO_OP_MODULES:
        break;
    }
    job_free(j);
}

/* ---------------------------------------------------------------- loop-thread ops */

static void stats_worker_cb(void *arg, unsigned worker, pid_t pid, const struct stats_worker *sw)
{
    struct proto_stats *st = arg;
    char num[16];

    snprintf(num, sizeof(num), "%u", worker);
    proto_stats_clear_labels(st);
    proto_stats_set_label(st, "worker", num);
    proto_stats_add(st, "worker_pid", STATS_GAUGE, (uint64_t)(pid > 0 ? pid : 0));
    for (unsigned op = 0; op < STATS_OPS; op++) {
        uint64_t n = atomic_load(&sw->requests[op]);
        if (n == 0 && op > PROTO_OP_MODULES)
            continue;
        proto_stats_set_label(
            st, "op", op <= PROTO_OP_MODULES ? proto_op_name((enum proto_op)op) : "invalid");
        proto_stats_add(st, "requests", STATS_COUNTER, n);
    }
    proto_stats_set_label(st, "op", NULL);
    proto_stats_add(st, "connections", STATS_COUNTER, atomic_load(&sw->connections));
    proto_stats_add(st, "connections_open", STATS_GAUGE, atomic_load(&sw->connections_open));
    proto_stats_add(st, "connections_refused", STATS_COUNTER,
                    atomic_load(&sw->connections_refused));
    proto_stats_add(st, "connections_idle_closed", STATS_COUNTER,
                    atomic_load(&sw->connections_idle_closed));
    proto_stats_add(st, "reply_buffer_pauses", STATS_COUNTER,
                    atomic_load(&sw->reply_buffer_pauses));
    proto_stats_add(st, "instances_open", STATS_GAUGE, atomic_load(&sw->instances_open));
    proto_stats_add(st, "runs", STATS_COUNTER, atomic_load(&sw->runs));
    proto_stats_add(st, "run_nanoseconds", STATS_COUNTER, atomic_load(&sw->run_nanoseconds));
    for (unsigned e = 1; e < STATS_ERR_CODES && e <= PROTO_E_INTERNAL; e++) {
        uint64_t n = atomic_load(&sw->errors[e]);
        if (n == 0)
            continue;
        proto_stats_set_label(st, "code", proto_err_code((enum proto_err)e));
        proto_stats_add(st, "errors", STATS_COUNTER, n);
    }
    proto_stats_set_label(st, "code", NULL);
}

static void stats_pool_cb(void *arg, unsigned worker, const char *pool, const char *name, int kind,
                          uint64_t value)
{
    struct proto_stats *st = arg;

    proto_stats_set_label(st, "pool", pool);
    proto_stats_add(st, name, kind == STATS_GAUGE ? STATS_GAUGE : STATS_COUNTER, value);
}

static void op_stats(struct conn *c, const struct proto_request *req)
{
    struct worker *w = c->w;
    struct stats_global *g = w->args->global;
    struct proto_stats *st = proto_stats_new();
    struct stats_visitor v = {.arg = st, .worker = stats_worker_cb, .pool_sample = stats_pool_cb};

    if (st == NULL) {
        reply_error(c, req->id, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    proto_stats_add(st, "generation", STATS_GAUGE, atomic_load(&g->generation));
    proto_stats_add(st, "workers", STATS_GAUGE, stats_shm_nworkers(w->args->shm));
    proto_stats_add(st, "worker_restarts", STATS_COUNTER, atomic_load(&g->worker_restarts));
    proto_stats_add(st, "reloads", STATS_COUNTER, atomic_load(&g->reloads));
    proto_stats_add(st, "reloads_failed", STATS_COUNTER, atomic_load(&g->reloads_failed));
    /* This worker's own pools are current; the others published theirs as they changed. */
    for (size_t i = 0; i < w->mods->n; i++)
        worker_publish_pool(w, i);
    stats_shm_visit(w->args->shm, &v);
    shm_stats_add(w->mods, st);
    reply(c, proto_reply_stats(req->id, st, req->stats_format), PROTO_OK);
    proto_stats_free(st);
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
        json_object_set_new(o, "deadline_ms", json_integer((json_int_t)cm->deadline_ms));
        json_object_set_new(o, "max_memory", json_integer((json_int_t)cm->max_memory));
        json_object_set_new(o, "max_request_size", json_integer((json_int_t)cm->max_request_size));
        json_array_append_new(arr, o);
    }
    if (arr == NULL) {
        reply_error(c, req->id, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    reply(c, proto_reply_modules(req->id, arr), PROTO_OK);
}

static struct job *job_new(struct conn *c, struct proto_request *req)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        return NULL;
    j->ej.run = job_run;
    j->c = c;
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
    atomic_fetch_add_explicit(&w->st->requests[e == PROTO_OK ? (unsigned)req.op : STATS_OPS - 1], 1,
                              memory_order_relaxed);
    if (e != PROTO_OK) {
        reply(c, proto_reply_request_error(&req), e);
        goto out;
    }
    if (req.module != NULL) {
        mod = modset_find(w->mods, req.module);
        if (mod < 0) {
            reply_error(c, req.id, PROTO_E_UNKNOWN_MODULE, "no module '%s'", req.module);
            goto out;
        }
        if (len > w->mods->e[mod].cfg->max_request_size) {
            reply_error(c, req.id, PROTO_E_TOO_LARGE,
                        "request of %zu bytes exceeds module '%s' max_request_size of %zu", len,
                        req.module, w->mods->e[mod].cfg->max_request_size);
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
        in = do_inst_find(c, req.instance);
        if (in == NULL) {
            pthread_mutex_unlock(&c->mu);
            reply_error(c, req.id, PROTO_E_UNKNOWN_INSTANCE, "no instance '%s' on this connection",
                        req.instance);
            goto out;
        }
        mod = (int)in->mi.mod;
        if (len > w->mods->e[mod].cfg->max_request_size) {
            pthread_mutex_unlock(&c->mu);
            reply_error(c, req.id, PROTO_E_TOO_LARGE,
                        "request of %zu bytes exceeds module '%s' max_request_size of %zu", len,
                        w->mods->e[mod].cfg->name, w->mods->e[mod].cfg->max_request_size);
            goto out;
        }
        if (req.op == PROTO_OP_TERMINATE && !in->busy) {
            /* Nothing runs on it: terminate here, it is two system calls. */
            do_inst_unlink(c, in);
            pthread_mutex_unlock(&c->mu);
            inst_destroy(c, in);
            reply(c, proto_reply_ok(req.id), PROTO_OK);
            goto out;
        }
    }
    if (c->inflight >= w->cfg->max_inflight_per_connection) {
        pthread_mutex_unlock(&c->mu);
        reply_error(c, req.id, PROTO_E_TOO_MANY_REQUESTS,
                    "%u requests of this connection are in flight (max_inflight_per_connection)",
                    w->cfg->max_inflight_per_connection);
        goto out;
    }
    if (req.op == PROTO_OP_INSTANTIATE && c->ninstances >= w->cfg->max_instances_per_connection) {
        pthread_mutex_unlock(&c->mu);
        reply_error(c, req.id, PROTO_E_TOO_MANY_INSTANCES,
                    "this connection already has %u instances (max_instances_per_connection)",
                    w->cfg->max_instances_per_connection);
        goto out;
    }
    j = job_new(c, &req);
    if (j == NULL) {
        pthread_mutex_unlock(&c->mu);
        reply_error(c, req.id, PROTO_E_INTERNAL, "out of memory");
        goto out;
    }
    j->mod = (size_t)mod;
    j->inst = in;
    reply_budget_take(c, j);
    c->inflight++;
    if (j->req.op == PROTO_OP_INSTANTIATE)
        c->ninstances++;
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
    if (j != NULL)
        exec_pool_submit(w->exec, &j->ej);
out:
    proto_request_release(&req);
}

/* ---------------------------------------------------------------- socket events */

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
    struct conn *c = arg;
    char buf[65536];
    ssize_t n;
    bool eof = false, paused;

    pthread_mutex_lock(&c->mu);
    paused = c->read_paused;
    pthread_mutex_unlock(&c->mu);
    if (paused) {
        /* on_write adds the event again once the client has read enough. */
        event_del(c->rev);
        return;
    }
    /* Lines left from an earlier turn are served before anything more is read. */
    if (c->backlog)
        goto lines;
    n = recv(fd, buf, sizeof(buf), 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0)
        conn_touch(c);
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
        reply_error(c, NULL, PROTO_E_INTERNAL, "out of memory");
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
            atomic_fetch_add_explicit(&c->w->st->requests[STATS_OPS - 1], 1, memory_order_relaxed);
            reply_error(c, NULL, PROTO_E_TOO_LARGE,
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
    }
    conn_unref(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    bool failed = false, done = false;

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
        }
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
}

/* One error line to a connection over max_connections, then close it: it has not sent
 * anything yet, so the line is the whole conversation (PROTOCOL.md 6). */
static void conn_refuse(struct worker *w, int fd)
{
    static uint64_t last_warn_ns;
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":"
                     "\"this worker already serves %u connections (max_connections)\"}}\n",
                     proto_err_code(PROTO_E_TOO_MANY_CONNS), w->cfg->max_connections);
    uint64_t now = mono_ns();

    /* A fresh socket's send buffer takes one short line; if not, the client loses only the
     * explanation. */
    if (n > 0 && (size_t)n < sizeof(line) &&
        send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("refusing a connection: %s", strerror(errno));
    close(fd);
    atomic_fetch_add_explicit(&w->st->connections_refused, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->st->errors[PROTO_E_TOO_MANY_CONNS], 1, memory_order_relaxed);
    /* One warning every 10 s at most: a flood of refusals must not flood the log. */
    if (last_warn_ns == 0 || now - last_warn_ns > UINT64_C(10000000000)) {
        last_warn_ns = now;
        log_warn("refusing connections: %u are open in this worker (max_connections)",
                 w->cfg->max_connections);
    }
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
    atomic_fetch_add_explicit(&c->w->st->connections_idle_closed, 1, memory_order_relaxed);
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

    if (w->nconns >= w->cfg->max_connections) {
        conn_refuse(w, fd);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->w = w;
    c->fd = fd;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    c->fr = proto_framer_new(w->cfg->max_request_size);
    c->out = evbuffer_new();
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (c->fr == NULL || c->out == NULL || c->rev == NULL || c->wev == NULL ||
        idle_timer_new(c) < 0 || event_add(c->rev, NULL) < 0) {
        log_error("cannot set up a connection: out of memory");
        conn_free(c);
        return NULL;
    }
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&w->st->connections, 1, memory_order_relaxed);
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
    event_del(c->rev);
    event_del(c->wev);
    if (c->idle_ev != NULL)
        event_del(c->idle_ev);
    /* Runs in flight end as soon as the interpreter notices; their instances are released
     * by the executor thread when they do. */
    for (struct job *j = c->running; j != NULL; j = j->rnext) {
        /* Sticky: the job may be between run_begin and its wasm_call (mapping a slot, say),
         * and a plain request would be cleared as stale when the guest code starts. */
        wasm_exec_interrupt_sticky(j->running);
        if (j->mt != NULL)
            mtcall_interrupt(j->mt);
    }
    for (pp = &c->insts; *pp != NULL;) {
        struct inst *in = *pp;
        if (!in->busy) {
            *pp = in->next;
            c->ninstances--;
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
        inst_destroy(c, in);
    }
    shutdown(c->fd, SHUT_RDWR);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub_explicit(&w->st->connections_open, 1, memory_order_relaxed);
    conn_unref(c);
    worker_conn_gone(w);
}
