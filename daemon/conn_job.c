/* conn_job.c: a connection's requests on the executor threads: its instances, runs with their
 * deadlines and WASI state, argument checks, calls with threads. */
#include "config.h"

#include "conn_internal.h"

#include "accesslog.h"
#include "exec_pool.h"
#include "log.h"
#include "mtcall.h"
#include "proto.h"
#include "shm.h"
#include "wasirun.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Handles are numbers unique in the daemon (a per-worker counter times 256 plus the worker's
 * index), so one connection can never name another's instance by accident, and clients may
 * send them back as JSON integers. */
static atomic_uint_fast64_t next_handle = 1;

static void job_free(struct job *j)
{
    struct conn *c = j->c;
    bool keep;

    proto_request_release(&j->req);
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    if (c->inflight == 0)
        c->last_active_ns = mono_ns();
    conn__reply_budget_release(c, j->reserve);
    /* A half-closed connection closes once its last reply is out: the loop thread does it. */
    if ((c->read_eof || atomic_load_explicit(&c->w->stopping, memory_order_relaxed)) &&
        c->inflight == 0 && !c->closed)
        event_active(c->wev, EV_WRITE, 1);
    /* The connection's next request reuses it: no calloc and free per request. */
    keep = c->spare_job == NULL;
    if (keep)
        c->spare_job = j;
    pthread_mutex_unlock(&c->mu);
    if (!keep)
        free(j);
    conn__unref(c);
}

/* Terminate an instance that is no longer on any list (any thread). */
void conn__inst_destroy(struct conn *c, struct inst *in)
{
    struct worker *w = c->w;
    size_t mod = in->mi.mod;
    int rc = modset_release(w->pools, &in->mi);

    if (rc < 0)
        log_warn("resetting a slot of module '%s' failed: %s (it is wiped before reuse)",
                 w->mods->e[mod].cfg->name, wasmslot_strerror(rc));
    conn__hold(w, mod, -1);
    conn__mem_add(c, -(int64_t)in->charged);
    free(in);
    worker_publish_pool(w, mod);
    conn__pool_freed(w, mod);
}

/* Count in's memory, at its size now, in the worker's total (max_total_memory). A shared
 * memory is not the instance's and is not counted. */
static void inst_charge(struct conn *c, struct inst *in)
{
    struct wasmslot_memory *m = in->mi.slot != NULL ? wasmslot_slot_memory(in->mi.slot) : NULL;
    size_t size = m != NULL ? wasmslot_memory_size(m) : 0;

    conn__mem_add(c, (int64_t)size - (int64_t)in->charged);
    in->charged = size;
}

/* Unlink in from c's list; caller holds c->mu. */
void conn__do_inst_unlink(struct conn *c, struct inst *in)
{
    for (struct inst **pp = &c->insts; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == in) {
            *pp = in->next;
            conn__do_held_drop(c, in->mi.mod);
            return;
        }
    }
}

struct inst *conn__do_inst_find(struct conn *c, const char *handle)
{
    for (struct inst *in = c->insts; in != NULL; in = in->next)
        if (!in->terminating && strcmp(in->handle, handle) == 0)
            return in;
    return NULL;
}

static void set_deadline(struct job *j, struct wasmslot_exec *ex);
static uint64_t run_deadline_ms(const struct job *j);
static void unlimited_end(struct job *j);

/* Guest code is about to run on ex for j (start functions included): a close from now on
 * interrupts it, and the run's deadline starts. Returns false when the connection is already
 * closed (then nothing should run). One listing covers the whole job: a call's instantiation
 * and its export together. */
static bool run_begin(struct job *j, struct wasmslot_exec *ex)
{
    struct conn *c = j->c;
    struct worker *w = c->w;
    bool ok, cut = false;

    /* Runs without a deadline may never end: they take at most max_unlimited_runs executor
     * threads, so the runs that do end always find one. */
    if (run_deadline_ms(j) == 0) {
        unsigned n = j->req.threads > 0 ? j->req.threads : 1;
        uint64_t was = atomic_fetch_add_explicit(&w->st->unlimited_runs, n, memory_order_relaxed);

        if (was + n > w->cfg->max_unlimited_runs) {
            atomic_fetch_sub_explicit(&w->st->unlimited_runs, n, memory_order_relaxed);
            conn__reply_error(c, j->req.id, PROTO_E_LIMIT,
                              "%u executor thread(s) of this worker already run guest code "
                              "without a deadline (max_unlimited_runs); give the request a "
                              "deadline_ms, or try again later",
                              w->cfg->max_unlimited_runs);
            return false;
        }
        j->unlimited = n;
    }

    pthread_mutex_lock(&c->mu);
    ok = !c->closed;
    /* After the grace period nothing starts: a request still queued is answered instead.
     * Read under c->mu, which conn_cut takes after setting it: a job listed before that
     * is interrupted by it. */
    if (ok && atomic_load(&c->w->cut)) {
        ok = false;
        cut = true;
    }
    if (ok) {
        j->running = ex;
        j->rprev = NULL;
        j->rnext = c->running;
        if (c->running != NULL)
            c->running->rprev = j;
        c->running = j;
    }
    pthread_mutex_unlock(&c->mu);
    if (ok)
        set_deadline(j, ex);
    else
        unlimited_end(j);
    if (cut)
        conn__reply_error(c, j->req.id, PROTO_E_SHUTTING_DOWN,
                          "this worker stopped at the end of its grace period: the request was "
                          "not run; send it again on a new connection");
    return ok;
}

/* The job no longer runs without a deadline. */
static void unlimited_end(struct job *j)
{
    if (j->unlimited > 0)
        atomic_fetch_sub_explicit(&j->c->w->st->unlimited_runs, j->unlimited, memory_order_relaxed);
    j->unlimited = 0;
}

static void run_end(struct job *j)
{
    struct conn *c = j->c;

    unlimited_end(j);
    pthread_mutex_lock(&c->mu);
    if (j->rprev != NULL)
        j->rprev->rnext = j->rnext;
    else
        c->running = j->rnext;
    if (j->rnext != NULL)
        j->rnext->rprev = j->rprev;
    /* Unlisted, no close can interrupt it any more: drop a request that came after the guest
     * code ended, which the next job on this executor would otherwise inherit. */
    wasmslot_exec_clear_interrupt(j->running);
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

/* The run's deadline in ms: the request's, capped by the module's configured one (0: none). */
static uint64_t run_deadline_ms(const struct job *j)
{
    uint64_t ms = j->c->w->mods->e[j->mod].cfg->deadline_ms;

    if (j->req.has_deadline && (ms == 0 || j->req.deadline_ms < ms))
        ms = j->req.deadline_ms;
    return ms;
}

/* The run's deadline, and the module's stack size: the executor's contexts serve every
 * module, so each run sets its own (no system call unless a larger stack than ever before is
 * needed; if that allocation fails the run keeps the previous size, which bounds it all the
 * same). */
static void set_deadline(struct job *j, struct wasmslot_exec *ex)
{
    (void)wasmslot_exec_set_stack_size(ex, j->c->w->mods->e[j->mod].cfg->stack_size);
    wasmslot_exec_set_deadline(ex, deadline_ns(run_deadline_ms(j)));
}

static void count_run(struct worker *w, size_t mod, uint64_t t0)
{
    stats_pool_run(conn__pool_ctr(w, mod), mono_ns() - t0);
}

/* Guest code of a WASI module may call WASI functions outside `_start` (a start function, a
 * library export): give them the thread's state, with its output thrown away. */
static struct wasmslot_wasi *wasi_bind(struct worker *w, size_t mod, struct wasmslot_exec *ex)
{
    struct wasmslot_wasi *ws;

    if (w->mods->e[mod].wasi == NULL)
        return NULL;
    ws = wasirun_state(mod, w->mods->n, w->mods->e[mod].cfg);
    /* wasmslot_wasi_reset keeps the argv, environment and stdin of the thread's last command, which
     * may have been another connection's: this guest code gets none (without a state, its
     * WASI calls fail instead). */
    if (ws != NULL &&
        (wasmslot_wasi_set_args(ws, 0, NULL) < 0 || wasmslot_wasi_set_env(ws, 0, NULL) < 0 ||
         wasmslot_wasi_set_stdin(ws, "", 0) < 0))
        ws = NULL;
    if (ws != NULL)
        wasmslot_wasi_reset(ws);
    wasmslot_exec_set_user(ex, ws);
    return ws;
}

/* The guest code bound by wasi_bind has ended: what it opened is closed now, not when the
 * thread next runs this module (an idle worker would hold the descriptors of every thread
 * and module meanwhile). */
static void wasi_unbind(struct wasmslot_exec *ex, struct wasmslot_wasi *ws)
{
    wasmslot_exec_set_user(ex, NULL);
    if (ws != NULL)
        wasmslot_wasi_reset(ws);
}

/* A call's instance is finished with once its run has ended: its slot goes back before the
 * reply, so a client that sends its next request on reading the reply finds the slot free (a
 * one-slot pool serves call after call). job_run's release afterwards is then a no-op. */
static void call_release(struct job *j, struct modset_instance *mi)
{
    if (j->req.op != PROTO_OP_CALL || (mi->inst == NULL && mi->slot == NULL))
        return;
    if (modset_release(j->c->w->pools, mi) < 0)
        log_warn("resetting a slot of module '%s' failed (it is wiped before reuse)",
                 j->c->w->mods->e[mi->mod].cfg->name);
    conn__pool_freed(j->c->w, mi->mod);
}

/* `_start` of a WASI module: a command with argv, env, stdin, exit code and output. */
static void run_command(struct job *j, struct wasmslot_exec *ex, struct modset_instance *mi)
{
    struct worker *w = j->c->w;
    const struct modset_entry *e = &w->mods->e[mi->mod];
    enum proto_err code = PROTO_OK;
    char fast[1024];
    size_t fast_len;
    json_t *msg;
    uint64_t t0;
    int rc = 0;

    if (j->req.nargs != 0) {
        conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                          "_start takes no arguments (give the program argv instead)");
        return;
    }
    t0 = mono_ns();
    msg = wasirun_start(&j->req, mi->mod, w->mods->n, e->cfg, e->module, mi->inst, ex, &code, &rc,
                        fast, sizeof(fast), &fast_len);
    count_run(w, mi->mod, t0);
    call_release(j, mi);
    if (wasmslot_is_trap(rc))
        modset_count_trap(w->pools, mi->mod, rc);
    if (rc == -WASMSLOT_TRAP_TIMEOUT && atomic_load(&w->cut)) {
        json_decref(msg);
        conn__reply_wasm_error(j->c, j->req.id, rc, NULL);
        return;
    }
    if (fast_len != 0)
        conn__send_line(j->c, fast, fast_len, code);
    else
        conn__reply(j->c, msg, code);
}

/* ---------------------------------------------------------------- pool_wait */

/* Park j, whose instantiation found its pool exhausted, until a slot of the pool is released
 * or its pool_wait has passed (then it is answered pool_exhausted). Its executor thread goes
 * on to other work meanwhile. False when its time is already up. */
static bool pool_wait_park(struct job *j)
{
    struct worker *w = j->c->w;
    struct conn_waitq *q = &w->fair->waits[j->mod];
    uint64_t now = mono_ns();
    struct job **pp;
    struct timeval tv;

    if (j->wait_t0 == 0) {
        j->wait_t0 = now;
        j->wait_until = now + w->mods->e[j->mod].cfg->pool_wait_ms * 1000000u;
        stats_pool_wait_begin(conn__pool_ctr(w, j->mod));
    }
    if (now >= j->wait_until)
        return false;
    pthread_mutex_lock(&q->mu);
    /* Oldest deadline first: one that woke and lost the slot to another goes back in place. */
    for (pp = &q->head; *pp != NULL && (*pp)->wait_until <= j->wait_until; pp = &(*pp)->wnext)
        ;
    j->wnext = *pp;
    *pp = j;
    now = mono_ns();
    tv.tv_sec = 0;
    tv.tv_usec = q->head->wait_until > now ? (suseconds_t)((q->head->wait_until - now) / 1000) : 0;
    tv.tv_sec = tv.tv_usec / 1000000;
    tv.tv_usec %= 1000000;
    event_add(q->ev, &tv);
    pthread_mutex_unlock(&q->mu);
    return true;
}

/* j waited for a slot and got one, or gave up (timed_out). */
static void pool_wait_done(struct job *j, bool timed_out)
{
    stats_pool_wait_end(conn__pool_ctr(j->c->w, j->mod), mono_ns() - j->wait_t0, timed_out);
    j->wait_t0 = 0;
}

void conn__pool_freed(struct worker *w, size_t mod)
{
    struct conn_waitq *q = &w->fair->waits[mod];
    struct job *j;

    if (q->ev == NULL)
        return; /* no pool_wait */
    pthread_mutex_lock(&q->mu);
    j = q->head;
    if (j != NULL)
        q->head = j->wnext;
    pthread_mutex_unlock(&q->mu);
    if (j != NULL) {
        atomic_fetch_add_explicit(&w->st->executor_queue, 1, memory_order_relaxed);
        exec_pool_submit(w->exec, &j->c->q, &j->ej);
    }
}

void conn__pool_wait_expire(evutil_socket_t fd, short what, void *arg)
{
    struct conn_waitq *q = arg;
    struct job *expired = NULL, **tail = &expired;
    uint64_t now = mono_ns();

    (void)fd;
    (void)what;
    pthread_mutex_lock(&q->mu);
    while (q->head != NULL && q->head->wait_until <= now) {
        *tail = q->head;
        q->head = q->head->wnext;
        tail = &(*tail)->wnext;
    }
    *tail = NULL;
    if (q->head != NULL) {
        uint64_t us = (q->head->wait_until - now) / 1000;
        struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
                             .tv_usec = (suseconds_t)(us % 1000000)};
        event_add(q->ev, &tv);
    }
    pthread_mutex_unlock(&q->mu);
    /* Their time is up: they run once more, and are answered pool_exhausted unless a slot
     * has come free after all. */
    while (expired != NULL) {
        struct job *j = expired;
        expired = j->wnext;
        atomic_fetch_add_explicit(&j->c->w->st->executor_queue, 1, memory_order_relaxed);
        exec_pool_submit(j->c->w->exec, &j->c->q, &j->ej);
    }
}

/* Instantiate j->mod on ex, the run listed by the caller (run_begin). Returns 0 with *mi
 * filled, or replies the error itself; -EINPROGRESS when j waits for a slot (pool_wait) and
 * will run again. */
static int instantiate_on(struct job *j, struct wasmslot_exec *ex, struct modset_instance *mi)
{
    struct worker *w = j->c->w;
    struct wasmslot_error err = {0};
    int rc;

    struct wasmslot_wasi *ws = wasi_bind(w, j->mod, ex);

    rc = modset_instantiate(w->pools, j->mod, ex, mi, &err);
    wasi_unbind(ex, ws);
    /* A call publishes once, after its release. */
    if (rc < 0 || j->req.op == PROTO_OP_INSTANTIATE)
        worker_publish_pool(w, j->mod);
    if (rc == -WASMSLOT_EEXHAUSTED && w->mods->e[j->mod].cfg->pool_wait_ms > 0 && pool_wait_park(j))
        return -EINPROGRESS;
    if (j->wait_t0 != 0)
        pool_wait_done(j, rc == -WASMSLOT_EEXHAUSTED);
    if (rc < 0) {
        if (rc == -WASMSLOT_EEXHAUSTED)
            conn__reply_error(
                j->c, j->req.id, PROTO_E_POOL_EXHAUSTED, "pool '%s' has no free slot (%u slots)%s",
                w->mods->e[j->mod].cfg->name, w->mods->e[j->mod].cfg->slots,
                w->mods->e[j->mod].cfg->pool_wait_ms > 0 ? " within its pool_wait" : "");
        else
            conn__reply_wasm_error(j->c, j->req.id, rc, wasmslot_is_trap(rc) ? NULL : err.message);
        return rc;
    }
    accesslog_note_warm(mi->slot != NULL && wasmslot_slot_warm(mi->slot));
    return 0;
}

static bool wire_type(enum wasmslot_valtype t)
{
    return t == WASMSLOT_I32 || t == WASMSLOT_I64 || t == WASMSLOT_F32 || t == WASMSLOT_F64;
}

/* Check args against the export's signature, so the message can say what was expected. */
static bool args_match(struct job *j, const struct wasmslot_functype *ft)
{
    char want[256], got[256];
    size_t wn = 0, gn = 0;
    bool ok = j->req.nargs == ft->nparams;

    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (!wire_type(ft->params[i])) {
            conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                              "export '%s' takes a %s, which the protocol cannot carry",
                              j->req.export_name, wasmslot_valtype_name(ft->params[i]));
            return false;
        }
    }
    for (uint32_t i = 0; i < ft->nresults; i++) {
        if (!wire_type(ft->results[i])) {
            conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                              "export '%s' returns a %s, which the protocol cannot carry",
                              j->req.export_name, wasmslot_valtype_name(ft->results[i]));
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
                               wasmslot_valtype_name(ft->params[i]));
    for (uint32_t i = 0; i < j->req.nargs && gn < sizeof(got); i++)
        gn += (size_t)snprintf(got + gn, sizeof(got) - gn, "%s%s", i ? ", " : "",
                               wasmslot_valtype_name(j->req.args[i].type));
    conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS, "export '%s' takes (%s), got (%s)",
                      j->req.export_name, want, got);
    return false;
}

/* Run the requested export on instance mi and reply, the run listed by the caller. */
static void run_on(struct job *j, struct wasmslot_exec *ex, struct modset_instance *mi)
{
    struct worker *w = j->c->w;
    struct wasmslot_value small[8], *results = small;
    struct wasmslot_wasi *ws;
    const struct wasmslot_functype *ft;
    struct wasmslot_extern ext;
    uint64_t t0;
    int rc;

    if (w->mods->e[mi->mod].wasi != NULL && j->req.export_len == 6 &&
        memcmp(j->req.export_name, "_start", 6) == 0) {
        run_command(j, ex, mi);
        return;
    }
    if (wasmslot_instance_export(mi->inst, j->req.export_name, j->req.export_len, &ext) < 0 ||
        ext.kind != WASMSLOT_EXTERN_FUNC) {
        conn__reply_error(j->c, j->req.id, PROTO_E_UNKNOWN_EXPORT,
                          "module '%s' exports no function '%s'", w->mods->e[mi->mod].cfg->name,
                          j->req.export_name);
        return;
    }
    ft = wasmslot_func_type(ext.of.func);
    if (!args_match(j, ft))
        return;
    if (ft->nresults > sizeof(small) / sizeof(small[0])) {
        results = calloc(ft->nresults, sizeof(*results));
        if (results == NULL) {
            conn__reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
            return;
        }
    }
    ws = wasi_bind(w, mi->mod, ex);
    t0 = mono_ns();
    rc = wasmslot_call(ex, ext.of.func, j->req.args, j->req.nargs, results, ft->nresults);
    /* An export of a WASI guest (a reactor's function) may write to stdout and stderr: the
     * reply carries that output as a command's does, taken before wasi_unbind forgets it. */
    json_t *out = NULL;
    if (ws != NULL && w->mods->e[mi->mod].wasi_guest &&
        !(rc == -WASMSLOT_TRAP_TIMEOUT && atomic_load(&w->cut))) {
        out = rc == 0 ? proto_reply_results(j->req.id, results, ft->nresults)
                      : proto_reply_wasm_error(j->req.id, rc, shm_trap_detail(rc));
        wasirun_add_output(out, ws);
    }
    wasi_unbind(ex, ws);
    count_run(w, mi->mod, t0);
    call_release(j, mi);
    if (rc != 0 && wasmslot_is_trap(rc))
        modset_count_trap(w->pools, mi->mod, rc);
    if (out != NULL) {
        conn__reply(j->c, out, rc == 0 ? PROTO_OK : proto_err_from_wasm(rc));
    } else if (rc == 0) {
        REPLY_FAST(j->c, PROTO_OK,
                   proto_render_results(fast_, sizeof(fast_), j->req.id, results, ft->nresults),
                   proto_reply_results(j->req.id, results, ft->nresults));
    } else {
        conn__reply_wasm_error(j->c, j->req.id, rc, NULL);
    }
    if (results != small)
        free(results);
}

/* ---------------------------------------------------------------- calls with threads */

/* mtcall's prepare hook: WASI functions of the module find the thread's state. */
static void thread_prepare(void *arg, struct wasmslot_exec *ex)
{
    struct job *j = arg;

    (void)wasmslot_exec_set_stack_size(ex, j->c->w->mods->e[j->mod].cfg->stack_size);
    wasi_bind(j->c->w, j->mod, ex);
}

/* mtcall's finish hook: what the thread's run opened is closed on the thread that ran it, as
 * for any other guest code, not at that thread's next run of the module. */
static void thread_finish(void *arg, struct wasmslot_exec *ex)
{
    (void)arg;
    wasi_unbind(ex, wasmslot_exec_user(ex));
}

/* The export of a threaded call takes the thread index first (an i32), then the request's
 * args. Replies the error itself and returns false when the signature does not fit. */
static bool thread_args_match(struct job *j, const struct wasmslot_functype *ft)
{
    bool ok = ft->nparams == j->req.nargs + 1 && ft->params[0] == WASMSLOT_I32;

    for (uint32_t i = 0; i < ft->nresults; i++) {
        if (!wire_type(ft->results[i])) {
            conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                              "export '%s' returns a %s, which the protocol cannot carry",
                              j->req.export_name, wasmslot_valtype_name(ft->results[i]));
            return false;
        }
    }
    for (uint32_t i = 0; ok && i < j->req.nargs; i++)
        ok = j->req.args[i].type == ft->params[i + 1];
    if (!ok)
        conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
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
        if (t[i].rc == -WASMSLOT_TRAP_TIMEOUT && atomic_load(&j->c->w->cut)) {
            conn__reply_wasm_error(j->c, j->req.id, t[i].rc, NULL);
            return;
        }
        if (t[i].rc != 0) {
            char detail[224];
            snprintf(detail, sizeof(detail), "thread %u: %s", i, wasmslot_strerror(t[i].rc));
            msg = proto_reply_wasm_error(j->req.id, t[i].rc, detail);
            if (msg != NULL && json_object_get(msg, "error") != NULL)
                json_object_set_new(json_object_get(msg, "error"), "thread", json_integer(i));
            conn__reply(j->c, msg, proto_err_from_wasm(t[i].rc));
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
        conn__reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    conn__reply(j->c, msg, PROTO_OK);
}

/* A call with "threads": N instances of the module (N slots of its pool), the export called
 * in each at once on N executor threads with the thread index as its first argument. */
static void call_threads(struct job *j, struct wasmslot_exec *ex)
{
    struct worker *w = j->c->w;
    const struct modset_entry *e = &w->mods->e[j->mod];
    unsigned n = j->req.threads, made = 0;
    struct modset_instance *mi = NULL;
    struct mtcall_thread *t = NULL;
    struct wasmslot_value *argv = NULL;
    const struct wasmslot_functype *ft = NULL;
    struct wasmslot_value *res = NULL;
    struct wasmslot_error err = {0};
    struct wasmslot_extern ext;
    struct wasmslot_wasi *ws;
    uint64_t t0, deadline_ms;
    bool ran = false;
    int rc = 0;

    if (n > w->cfg->executor_threads) {
        conn__reply_error(j->c, j->req.id, PROTO_E_BAD_FIELD,
                          "threads %u exceeds executor_threads (%u)", n, w->cfg->executor_threads);
        return;
    }
    if (n > e->cfg->slots) {
        conn__reply_error(j->c, j->req.id, PROTO_E_POOL_EXHAUSTED,
                          "threads %u needs %u slots, pool '%s' has %u", n, n, e->cfg->name,
                          e->cfg->slots);
        return;
    }
    if (e->wasi != NULL && j->req.export_len == 6 && memcmp(j->req.export_name, "_start", 6) == 0) {
        conn__reply_error(j->c, j->req.id, PROTO_E_BAD_ARGUMENTS,
                          "a WASI command (_start) cannot be called with threads");
        return;
    }
    mi = calloc(n, sizeof(*mi));
    t = calloc(n, sizeof(*t));
    j->mt = mtcall_new(n);
    if (mi == NULL || t == NULL || j->mt == NULL) {
        conn__reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
        goto out;
    }
    if (!run_begin(j, ex))
        goto out;
    ws = wasi_bind(w, j->mod, ex);
    for (made = 0; made < n; made++) {
        rc = modset_instantiate(w->pools, j->mod, ex, &mi[made], &err);
        if (rc < 0)
            break;
        conn__hold(w, j->mod, 1);
    }
    wasi_unbind(ex, ws);
    if (rc < 0) {
        run_end(j);
        if (rc == -WASMSLOT_EEXHAUSTED)
            conn__reply_error(j->c, j->req.id, PROTO_E_POOL_EXHAUSTED,
                              "threads %u needs %u free slots, pool '%s' had %u", n, n,
                              e->cfg->name, made);
        else
            conn__reply_wasm_error(j->c, j->req.id, rc, wasmslot_is_trap(rc) ? NULL : err.message);
        goto out;
    }
    if (wasmslot_instance_export(mi[0].inst, j->req.export_name, j->req.export_len, &ext) < 0 ||
        ext.kind != WASMSLOT_EXTERN_FUNC) {
        run_end(j);
        conn__reply_error(j->c, j->req.id, PROTO_E_UNKNOWN_EXPORT,
                          "module '%s' exports no function '%s'", e->cfg->name, j->req.export_name);
        goto out;
    }
    ft = wasmslot_func_type(ext.of.func);
    if (!thread_args_match(j, ft)) {
        run_end(j);
        goto out;
    }
    argv = calloc((size_t)n * (j->req.nargs + 1), sizeof(*argv));
    res = calloc((size_t)n * (ft->nresults ? ft->nresults : 1), sizeof(*res));
    if (argv == NULL || res == NULL) {
        run_end(j);
        conn__reply_error(j->c, j->req.id, PROTO_E_INTERNAL, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        struct wasmslot_value *a = &argv[(size_t)i * (j->req.nargs + 1)];
        wasmslot_instance_export(mi[i].inst, j->req.export_name, j->req.export_len, &ext);
        a[0].type = WASMSLOT_I32;
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
    mtcall_run(j->mt, w->exec, ex, t, deadline_ns(deadline_ms), thread_prepare, thread_finish,
               j);
    run_end(j);
    for (unsigned i = 0; i < n; i++) {
        count_run(w, j->mod, t0);
        if (wasmslot_is_trap(t[i].rc))
            modset_count_trap(w->pools, j->mod, t[i].rc);
    }
    ran = true;
out:
    for (unsigned i = 0; i < made; i++) {
        if (modset_release(w->pools, &mi[i]) < 0)
            log_warn("resetting a slot of module '%s' failed (it is wiped before reuse)",
                     e->cfg->name);
        conn__hold(w, j->mod, -1);
        conn__pool_freed(w, j->mod);
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
        conn__do_inst_unlink(c, in);
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
    if (next != NULL) {
        atomic_fetch_add_explicit(&c->w->st->executor_queue, 1, memory_order_relaxed);
        exec_pool_submit(c->w->exec, &c->q, &next->ej);
    }
    while (drop != NULL) {
        struct job *d = drop;
        drop = d->qnext;
        job_free(d);
    }
    if (destroy)
        conn__inst_destroy(c, in);
}

void conn__job_run(struct exec_job *ej, struct wasmslot_exec *ex)
{
    struct job *j = (struct job *)ej;
    struct conn *c = j->c;
    struct modset_instance mi;
    uint64_t waited = mono_ns() - j->read_ns;
    /* A request that may wait for a slot (pool_wait) and run again counts its queue wait
     * once, when it starts for good: the wait then covers the time it waited for the slot. */
    bool may_park = (j->req.op == PROTO_OP_INSTANTIATE ||
                     (j->req.op == PROTO_OP_CALL && j->req.threads == 0)) &&
                    c->w->mods->e[j->mod].cfg->pool_wait_ms > 0;

    accesslog_begin(c->fd, &j->req, true, c->w->mods->e[j->mod].cfg->name);
    atomic_fetch_sub_explicit(&c->w->st->executor_queue, 1, memory_order_relaxed);
    conn__reply_pool = conn__pool_ctr(c->w, j->mod);
    if (!may_park)
        stats_pool_wait(conn__reply_pool, waited);
    switch (j->req.op) {
    case PROTO_OP_INSTANTIATE: {
        struct inst *in = calloc(1, sizeof(*in));
        bool closed;
        int rc;

        if (in == NULL) {
            pthread_mutex_lock(&c->mu);
            conn__do_held_drop(c, j->mod);
            pthread_mutex_unlock(&c->mu);
            conn__reply_error(c, j->req.id, PROTO_E_INTERNAL, "out of memory");
            break;
        }
        rc = -ECANCELED;
        if (run_begin(j, ex)) {
            rc = instantiate_on(j, ex, &in->mi);
            run_end(j);
        }
        if (rc == -EINPROGRESS) {
            free(in);
            conn__reply_pool = NULL;
            return; /* waits for a slot, and runs again */
        }
        if (may_park)
            stats_pool_wait(conn__reply_pool, waited);
        if (rc < 0) {
            pthread_mutex_lock(&c->mu);
            conn__do_held_drop(c, j->mod);
            pthread_mutex_unlock(&c->mu);
            free(in);
            break;
        }
        conn__hold(c->w, j->mod, 1);
        inst_charge(c, in);
        snprintf(in->handle, sizeof(in->handle), "%" PRIuFAST64,
                 atomic_fetch_add(&next_handle, 1) * 256 + (c->w->args->index & 255));
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        if (!closed) {
            in->next = c->insts;
            c->insts = in;
        } else {
            conn__do_held_drop(c, j->mod);
        }
        pthread_mutex_unlock(&c->mu);
        if (closed)
            conn__inst_destroy(c, in);
        else
            conn__reply(c, proto_reply_instance(j->req.id, in->handle), PROTO_OK);
        break;
    }
    case PROTO_OP_CALL:
        if (j->req.threads > 0) {
            call_threads(j, ex);
            break;
        }
        if (!run_begin(j, ex))
            break;
        switch (instantiate_on(j, ex, &mi)) {
        case 0:
            if (may_park)
                stats_pool_wait(conn__reply_pool, waited);
            break;
        case -EINPROGRESS:
            run_end(j);
            conn__reply_pool = NULL;
            return; /* waits for a slot, and runs again */
        default:
            run_end(j);
            if (may_park)
                stats_pool_wait(conn__reply_pool, waited);
            goto done;
        }
        conn__hold(c->w, j->mod, 1);
        run_on(j, ex, &mi);
        run_end(j);
        call_release(j, &mi);
        conn__hold(c->w, j->mod, -1);
        worker_publish_pool(c->w, j->mod);
        break;
    case PROTO_OP_RUN:
        /* run_begin refuses when the connection closed: its instances are going. */
        if (run_begin(j, ex)) {
            run_on(j, ex, &j->inst->mi);
            run_end(j);
            inst_charge(c, j->inst); /* it may have grown */
        }
        inst_job_done(c, j->inst);
        break;
    case PROTO_OP_TERMINATE: {
        struct inst *in = j->inst;
        bool closed;
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        if (!closed)
            conn__do_inst_unlink(c, in);
        pthread_mutex_unlock(&c->mu);
        if (closed) {
            inst_job_done(c, in); /* releases it with the connection's other instances */
        } else {
            conn__inst_destroy(c, in);
            conn__reply(c, proto_reply_ok(j->req.id), PROTO_OK);
        }
        break;
    }
    case PROTO_OP_PING:
    case PROTO_OP_STATS:
    case PROTO_OP_MODULES:
        break;
    }
done:
    accesslog_end();
    conn__reply_pool = NULL;
    job_free(j);
}
