/* fcgi_cgi.c: a FastCGI request run as a CGI program (RFC 3875) on an executor thread: its
 * meta-variables become the WASI environment, its body stdin; the program's stdout, checked
 * to be a CGI response, goes back as FCGI_STDOUT records and its stderr as FCGI_STDERR. */
#include "config.h"

#include "clock.h"
#include "fcgi_internal.h"

#include "log.h"
#include "modset.h"
#include "wasirun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The response of an HTTP status the daemon gives itself. The body says no more than the
 * status line: what went wrong inside the guest is for the error log only. */
static const char *status_page(unsigned status)
{
    switch (status) {
    case 404:
        return "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nNot Found\n";
    case 413:
        return "Status: 413 Content Too Large\r\nContent-Type: text/plain\r\n\r\n"
               "Content Too Large\n";
    case 431:
        return "Status: 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n\r\n"
               "Request Header Fields Too Large\n";
    case 503:
        return "Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n"
               "Service Unavailable\n";
    case 504:
        return "Status: 504 Gateway Timeout\r\nContent-Type: text/plain\r\n\r\nGateway Timeout\n";
    default:
        return "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
               "Internal Server Error\n";
    }
}

/* Send stdout bytes (a whole CGI response of HTTP status; 0: none, the request was aborted),
 * stderr bytes (may be empty) and the end of r, as one piece so no other request's records
 * come between; r leaves its connection's list. */
static void respond(struct fcgi_req *r, unsigned status, const void *out, size_t outn,
                    const void *err, size_t errn, uint32_t app_status)
{
    size_t len = fcgi_stream_size(outn) + FCGI_HEADER_LEN + 16;
    uint8_t *buf, *p;

    atomic_fetch_add_explicit(&r->c->w->ctr->fastcgi_responses[status / 100 < 6 ? status / 100 : 0],
                              1, memory_order_relaxed);

    if (errn > 0)
        len += fcgi_stream_size(errn) + FCGI_HEADER_LEN;
    buf = malloc(len);
    if (buf == NULL) {
        /* Out of memory: the front end at least learns that the request ended. */
        uint8_t end[16];
        log_error("fastcgi: cannot build a response of %zu bytes: out of memory", len);
        fcgi_end_request_put(end, r->id, 1, FCGI_REQUEST_COMPLETE);
        fcgi__send_final(r, end, sizeof(end));
        return;
    }
    p = buf;
    p += fcgi_stream_put(p, FCGI_STDOUT, r->id, out, outn);
    fcgi_header_put(p, FCGI_STDOUT, r->id, 0, 0);
    p += FCGI_HEADER_LEN;
    if (errn > 0) {
        p += fcgi_stream_put(p, FCGI_STDERR, r->id, err, errn);
        fcgi_header_put(p, FCGI_STDERR, r->id, 0, 0);
        p += FCGI_HEADER_LEN;
    }
    fcgi_end_request_put(p, r->id, app_status, FCGI_REQUEST_COMPLETE);
    p += 16;
    fcgi__send_final(r, buf, (size_t)(p - buf));
    free(buf);
}

void fcgi__reply_status(struct fcgi_req *r, unsigned status)
{
    const char *page = status_page(status);

    respond(r, status, page, strlen(page), NULL, 0, 0);
}

/* SCRIPT_NAME of r, printable, for a log line. */
static const char *script_for_log(const struct fcgi_req *r, char *buf, size_t len)
{
    size_t n = 0, i;
    const uint8_t *s = fcgi__param(r, "SCRIPT_NAME", &n);

    if (s == NULL)
        return "(no SCRIPT_NAME)";
    for (i = 0; i < n && i + 1 < len; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* Whether name-value pair (n, v) can be an environment string "NAME=value". */
static bool env_ok(const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
    return nl > 0 && memchr(n, '=', nl) == NULL && memchr(n, '\0', nl) == NULL &&
           memchr(v, '\0', vl) == NULL;
}

static bool name_is(const uint8_t *n, size_t nl, const char *want)
{
    return nl == strlen(want) && memcmp(n, want, nl) == 0;
}

/* Give ws the request's meta-variables as its environment, its body as stdin and the module's
 * name as argv[0]. Where routing took only the start of SCRIPT_NAME to name the handler and
 * the front end sent no PATH_INFO, the rest of it becomes PATH_INFO (RFC 3875 4.1.5). */
static int prepare(struct fcgi_req *r, struct wasmslot_wasi *ws, const char *module)
{
    size_t off = 0, nl, vl, total = 0, n = 0, sl = 0, pl = 0;
    const uint8_t *nm, *v, *script = fcgi__param(r, "SCRIPT_NAME", &sl);
    const uint8_t *pinfo = fcgi__param(r, "PATH_INFO", &pl);
    bool split = script != NULL && r->script_len < sl && (pinfo == NULL || pl == 0);
    bool has_gi = fcgi__param(r, "GATEWAY_INTERFACE", &vl) != NULL;
    const char **env;
    char *buf, *p;
    int rc;

    while (fcgi_nv_next(r->params, r->plen, &off, &nm, &nl, &v, &vl) == 1) {
        total += nl + vl + 2;
        n++;
    }
    /* Room for SCRIPT_NAME, PATH_INFO and GATEWAY_INTERFACE added here. */
    total += 2 * sl + 64;
    env = calloc(n + 3, sizeof(*env));
    buf = malloc(total);
    if (env == NULL || buf == NULL) {
        free(env);
        free(buf);
        return -ENOMEM;
    }
    p = buf;
    n = 0;
    off = 0;
    while (fcgi_nv_next(r->params, r->plen, &off, &nm, &nl, &v, &vl) == 1) {
        if (!env_ok(nm, nl, v, vl))
            continue;
        if (split && (name_is(nm, nl, "SCRIPT_NAME") || name_is(nm, nl, "PATH_INFO")))
            continue;
        env[n++] = p;
        p += sprintf(p, "%.*s=%.*s", (int)nl, (const char *)nm, (int)vl, (const char *)v) + 1;
    }
    if (split && memchr(script, '\0', sl) == NULL) {
        env[n++] = p;
        p += sprintf(p, "SCRIPT_NAME=%.*s", (int)r->script_len, (const char *)script) + 1;
        env[n++] = p;
        p += sprintf(p, "PATH_INFO=%.*s", (int)(sl - r->script_len),
                     (const char *)script + r->script_len) +
             1;
    }
    if (!has_gi)
        env[n++] = "GATEWAY_INTERFACE=CGI/1.1";
    rc = wasmslot_wasi_set_env(ws, (uint32_t)n, env);
    free(env);
    free(buf);
    if (rc == 0)
        rc = wasmslot_wasi_set_args(ws, 1, &module);
    if (rc == 0)
        rc = wasmslot_wasi_set_stdin(ws, r->blen > 0 ? (const void *)r->body : "", r->blen);
    return rc;
}

/* The monotonic time ms milliseconds from now; 0 (none) for 0 or one too far to represent. */
static uint64_t deadline_ns(uint64_t ms)
{
    if (ms == 0 || ms > (UINT64_C(1) << 63) / 1000000u)
        return 0;
    return mono_ns() + ms * 1000000u;
}

/* The run is over: no abort can interrupt it any more. Returns whether it was aborted. */
static bool run_end(struct fcgi_req *r, struct wasmslot_exec *ex)
{
    struct fcgi_conn *c = r->c;
    bool aborted;

    /* Before the answer: a front end that sends the next request on reading it must find
     * the place free. */
    if (r->unlimited)
        atomic_fetch_sub_explicit(&c->w->st->unlimited_runs, 1, memory_order_relaxed);
    r->unlimited = false;
    pthread_mutex_lock(&c->mu);
    r->running = NULL;
    aborted = r->aborted;
    /* An abort that came after the guest code ended must not hit this executor's next run. */
    wasmslot_exec_clear_interrupt(ex);
    pthread_mutex_unlock(&c->mu);
    return aborted;
}

/* Add n (may be negative) to the worker's memory in use (max_total_memory). */
static void mem_add(struct worker *w, int64_t n)
{
    atomic_fetch_add_explicit(&w->st->memory_bytes, (uint64_t)n, memory_order_relaxed);
}

/* Run r's module as a CGI program and answer. */
static void cgi(struct fcgi_req *r, struct wasmslot_exec *ex)
{
    struct fcgi_conn *c = r->c;
    struct worker *w = c->w;
    const struct modset_entry *e = &w->mods->e[r->mod];
    struct wasmslot_error err = {0};
    struct modset_instance mi;
    struct wasmslot_wasi *ws;
    struct cgi_response resp;
    const uint8_t *out, *errout;
    size_t outn = 0, errn = 0;
    const char *why = NULL;
    char sname[128];
    int rc, exit_code = 0;
    uint64_t t0;
    size_t msize;
    bool aborted;

    ws = wasirun_state(r->mod, w->mods->n, e->cfg);
    rc = ws == NULL ? -ENOMEM : prepare(r, ws, e->cfg->name);
    if (rc < 0) {
        run_end(r, ex);
        log_error("fastcgi %s: module '%s': cannot set up the WASI state: %s",
                  script_for_log(r, sname, sizeof(sname)), e->cfg->name, strerror(-rc));
        fcgi__reply_status(r, 500);
        return;
    }
    /* One deadline covers the start function and the program. */
    wasmslot_exec_set_deadline(ex, deadline_ns(e->cfg->deadline_ms));
    wasmslot_exec_set_user(ex, ws);
    rc = modset_instantiate(w->pools, r->mod, ex, &mi, &err);
    wasmslot_exec_set_user(ex, NULL);
    if (rc < 0) {
        aborted = run_end(r, ex);
        worker_publish_pool(w, r->mod);
        if (aborted) {
            respond(r, 0, NULL, 0, NULL, 0, 0);
            return;
        }
        if (rc == -WASMSLOT_EEXHAUSTED) {
            log_warn("fastcgi %s: pool '%s' has no free slot (%u slots): 503",
                     script_for_log(r, sname, sizeof(sname)), e->cfg->name, e->cfg->slots);
            fcgi__reply_status(r, 503);
            return;
        }
        log_warn("fastcgi %s: module '%s' failed to instantiate: %s",
                 script_for_log(r, sname, sizeof(sname)), e->cfg->name,
                 err.message[0] && !wasmslot_is_trap(rc) ? err.message : wasmslot_strerror(rc));
        fcgi__reply_status(r, rc == -WASMSLOT_TRAP_TIMEOUT ? 504 : 500);
        return;
    }
    atomic_fetch_add_explicit(&w->st->instances_open, 1, memory_order_relaxed);
    msize = mi.slot != NULL ? wasmslot_memory_size(wasmslot_slot_memory(mi.slot)) : 0;
    mem_add(w, (int64_t)msize);
    stats_shm_pool_hold(w->args->shm, w->args->index, r->mod, 1);
    t0 = mono_ns();
    rc = wasmslot_wasi_run(ws, ex, e->module, mi.inst, &exit_code, &err);
    stats_pool_run(stats_shm_pool_counters(w->args->shm, w->args->index, r->mod), mono_ns() - t0);
    aborted = run_end(r, ex);
    if (wasmslot_is_trap(rc))
        modset_count_trap(w->pools, r->mod, rc);
    /* The slot goes back before the answer (the output is the thread's WASI state's), so a
     * front end that sends its next request on reading this one finds it free. */
    if (modset_release(w->pools, &mi) < 0)
        log_warn("resetting a slot of module '%s' failed (it is wiped before reuse)",
                 e->cfg->name);
    atomic_fetch_sub_explicit(&w->st->instances_open, 1, memory_order_relaxed);
    mem_add(w, -(int64_t)msize);
    stats_shm_pool_hold(w->args->shm, w->args->index, r->mod, -1);
    worker_publish_pool(w, r->mod);
    out = wasmslot_wasi_stdout(ws, &outn);
    errout = wasmslot_wasi_stderr(ws, &errn);
    if (aborted) {
        respond(r, 0, NULL, 0, NULL, 0, 0);
    } else if (rc < 0) {
        /* The guest's stderr still goes to the front end's error log, never to the client. */
        const char *page = status_page(rc == -WASMSLOT_TRAP_TIMEOUT ? 504 : 500);
        log_warn("fastcgi %s: module '%s': %s", script_for_log(r, sname, sizeof(sname)),
                 e->cfg->name,
                 rc == -WASMSLOT_TRAP_TIMEOUT ? "deadline passed"
                 : wasmslot_is_trap(rc) || !err.message[0] ? wasmslot_strerror(rc)
                                                           : err.message);
        respond(r, rc == -WASMSLOT_TRAP_TIMEOUT ? 504 : 500, page, strlen(page), errout, errn, 1);
    } else if (wasmslot_wasi_stdout_truncated(ws)) {
        const char *page = status_page(500);
        log_warn("fastcgi %s: module '%s' wrote more than wasi_output_max (%zu bytes)",
                 script_for_log(r, sname, sizeof(sname)), e->cfg->name, e->cfg->wasi_output_max);
        respond(r, 500, page, strlen(page), errout, errn, 1);
    } else if (cgi_response_parse(out, outn, &resp, &why) < 0) {
        const char *page = status_page(500);
        log_warn("fastcgi %s: module '%s' gave a malformed CGI response: %s",
                 script_for_log(r, sname, sizeof(sname)), e->cfg->name, why);
        respond(r, 500, page, strlen(page), errout, errn, 1);
    } else {
        respond(r, resp.status, out, outn, errout, errn, (uint32_t)exit_code);
    }
}

/* cgi() within the worker's limits: runs without a deadline take one of max_unlimited_runs
 * (they may never end, and the runs that do must always find an executor thread), and the
 * request's buffered bytes count in max_total_memory while it runs. */
static void run_cgi(struct fcgi_req *r, struct wasmslot_exec *ex)
{
    struct worker *w = r->c->w;
    const struct cfg_module *cm = w->mods->e[r->mod].cfg;
    int64_t charged = (int64_t)(r->pcap + r->bcap);

    if (cm->deadline_ms == 0 && atomic_fetch_add_explicit(&w->st->unlimited_runs, 1, memory_order_relaxed) >=
                         w->cfg->max_unlimited_runs) {
        char sname[128];
        atomic_fetch_sub_explicit(&w->st->unlimited_runs, 1, memory_order_relaxed);
        run_end(r, ex);
        log_warn("fastcgi %s: module '%s' has no deadline and max_unlimited_runs (%u) run "
                 "already: 503",
                 script_for_log(r, sname, sizeof(sname)), cm->name, w->cfg->max_unlimited_runs);
        fcgi__reply_status(r, 503);
        return;
    }
    r->unlimited = cm->deadline_ms == 0; /* given back by run_end */
    mem_add(w, charged);
    cgi(r, ex);
    mem_add(w, -charged);
}

void fcgi__job_run(struct exec_job *ej, struct wasmslot_exec *ex)
{
    struct fcgi_req *r = (struct fcgi_req *)ej;
    struct fcgi_conn *c = r->c;
    bool aborted;

    pthread_mutex_lock(&c->mu);
    aborted = r->aborted;
    if (!aborted)
        r->running = ex;
    pthread_mutex_unlock(&c->mu);
    if (aborted)
        respond(r, 0, NULL, 0, NULL, 0, 0); /* dropped when the connection is closed */
    else
        run_cgi(r, ex);
    fcgi__req_free(r);
    fcgi__unref(c);
}
