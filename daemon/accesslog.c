/* accesslog.c: one record per request (thread-local while it is handled), written as an access
 * log line, a slow log line and, for traps, timeouts and exhausted pools, an error log line. */
#include "config.h"

#include "clock.h"
#include "accesslog.h"

#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* At most EVENT_BURST lines of each kind (events, slow requests) per EVENT_WINDOW_NS in a
 * worker; what is suppressed is counted and said in the window's first line after it. */
#define EVENT_BURST     20
#define EVENT_WINDOW_NS UINT64_C(10000000000)

static int access_fd = -1;
static char *access_path;
static uid_t access_owner = (uid_t)-1;
static unsigned access_reopen_seen; /* log_reopen_generation() when last reopened */
static atomic_flag access_reopen_busy = ATOMIC_FLAG_INIT;
static const struct config *conf;

/* A rate limit of one kind of line. */
struct limit {
    atomic_flag busy;
    uint64_t window_start;
    unsigned used;
    unsigned long suppressed;
};
static struct limit event_limit = {ATOMIC_FLAG_INIT, 0, 0, 0};
static struct limit slow_limit = {ATOMIC_FLAG_INIT, 0, 0, 0};

struct record {
    bool active;
    int fd;
    uint64_t t0_ns;
    const char *op;
    char module[72];
    char export[136];
    enum proto_err code;
    bool has_code;
    int wasm_rc;
    int warm; /* -1: no slot taken */
};
static _Thread_local struct record rec;

int accesslog_open(const char *path, uid_t owner)
{
    char *copy = NULL;
    int fd = -1;

    if (path != NULL) {
        copy = strdup(path);
        if (copy == NULL)
            return -ENOMEM;
        fd = log_open_file(path, owner);
        if (fd < 0) {
            free(copy);
            return fd;
        }
    }
    accesslog_close();
    access_fd = fd;
    access_path = copy;
    access_owner = owner;
    access_reopen_seen = log_reopen_generation();
    return 0;
}

int accesslog_reopen(void)
{
    if (access_fd < 0)
        return 0;
    return log_reopen_fd(access_fd, access_path, access_owner);
}

void accesslog_close(void)
{
    if (access_fd >= 0)
        close(access_fd);
    access_fd = -1;
    free(access_path);
    access_path = NULL;
}

void accesslog_init(const struct config *cfg)
{
    conf = cfg;
}

/* Whether anything would be written of a request: the access log, the slow log, or the
 * info lines of the error log. */
static bool wanted(void)
{
    return access_fd >= 0 || (conf != NULL && conf->slow_log_threshold_ms > 0) ||
           (conf != NULL && conf->log_level >= CFG_LOG_INFO);
}

/* Copy a name for a log line: printable ASCII except blanks, '"' and '\\' as is, the rest as
 * \xHH, so that a client's export name cannot forge a line or a field. */
static void clean(char *dst, size_t cap, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (src == NULL || len == 0) {
        snprintf(dst, cap, "-");
        return;
    }
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\') {
            dst[o++] = (char)ch;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    dst[o] = '\0';
}

void accesslog_begin(int fd, const struct proto_request *req, bool parsed, const char *module)
{
    rec.active = false;
    if (!wanted())
        return;
    rec.active = true;
    rec.fd = fd;
    rec.t0_ns = mono_ns();
    rec.op = parsed ? proto_op_name(req->op) : "-";
    if (module == NULL && parsed)
        module = req->module;
    clean(rec.module, sizeof(rec.module), module, module != NULL ? strlen(module) : 0);
    clean(rec.export, sizeof(rec.export), parsed ? req->export_name : NULL,
          parsed ? req->export_len : 0);
    rec.has_code = false;
    rec.code = PROTO_OK;
    rec.wasm_rc = 0;
    rec.warm = -1;
}

void accesslog_handoff(void)
{
    rec.active = false;
}

void accesslog_note_code(enum proto_err code)
{
    if (rec.active && !rec.has_code) {
        rec.has_code = true;
        rec.code = code;
    }
}

void accesslog_note_wasm(int rc)
{
    if (rec.active && rec.wasm_rc == 0)
        rec.wasm_rc = rc;
}

void accesslog_note_warm(bool warm)
{
    if (rec.active)
        rec.warm = warm;
}

/* Whether one more line of kind l may be written now; *suppressed gets what was held back
 * since the last line written. */
static bool allow(struct limit *l, unsigned long *suppressed)
{
    uint64_t now = mono_ns();
    bool ok;

    *suppressed = 0;
    while (atomic_flag_test_and_set(&l->busy))
        ;
    if (l->window_start == 0 || now - l->window_start >= EVENT_WINDOW_NS) {
        l->window_start = now;
        l->used = 0;
    }
    ok = l->used < EVENT_BURST;
    if (ok) {
        l->used++;
        *suppressed = l->suppressed;
        l->suppressed = 0;
    } else {
        l->suppressed++;
    }
    atomic_flag_clear(&l->busy);
    return ok;
}

/* The result field: ok, the error code, or trap:KIND. */
static const char *result_of(char *buf, size_t cap)
{
    if (!rec.has_code)
        return "closed"; /* no reply: the connection went first */
    if (rec.code == PROTO_OK)
        return "ok";
    if (rec.code == PROTO_E_TRAP && rec.wasm_rc != 0) {
        snprintf(buf, cap, "trap:%s", wasmslot_errname(rec.wasm_rc));
        return buf;
    }
    return proto_err_code(rec.code);
}

static void write_access(const char *result, uint64_t ns, const struct ucred *cr, bool have_cr)
{
    char when[32], line[512];
    struct timespec ts;
    struct tm tm;
    int n;

    if (log_reopen_generation() != access_reopen_seen &&
        !atomic_flag_test_and_set(&access_reopen_busy)) {
        access_reopen_seen = log_reopen_generation();
        accesslog_reopen();
        atomic_flag_clear(&access_reopen_busy);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line),
                 "%s.%03ldZ uid=%s%u pid=%s%d op=%s module=%s export=%s "
                 "result=%s time_us=%" PRIu64 " warm=%s\n",
                 when, ts.tv_nsec / 1000000, have_cr ? "" : "-", have_cr ? (unsigned)cr->uid : 0,
                 have_cr ? "" : "-", have_cr ? (int)cr->pid : 0, rec.op, rec.module, rec.export,
                 result, ns / 1000,
                 rec.warm < 0 ? "-"
                 : rec.warm   ? "yes"
                              : "no");
    if (n > (int)sizeof(line) - 1) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* One write per line: O_APPEND keeps the lines of all workers whole. */
    if (write(access_fd, line, (size_t)n) < 0) {
        /* Nowhere to report it but the error log, which would flood: the line is lost. */
    }
}

void accesslog_end(void)
{
    struct ucred cr = {0};
    socklen_t crlen = sizeof(cr);
    unsigned long suppressed;
    bool have_cr;
    char buf[64];
    const char *result;
    uint64_t ns;

    if (!rec.active)
        return;
    rec.active = false;
    ns = mono_ns() - rec.t0_ns;
    result = result_of(buf, sizeof(buf));
    have_cr = getsockopt(rec.fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0;
    if (access_fd >= 0)
        write_access(result, ns, &cr, have_cr);
    if (conf == NULL)
        return;
    if (conf->slow_log_threshold_ms > 0 && ns >= conf->slow_log_threshold_ms * 1000000u &&
        allow(&slow_limit, &suppressed)) {
        if (suppressed)
            log_warn("(%lu slow request lines were not logged: rate limit of %d per %d s)",
                     suppressed, EVENT_BURST, (int)(EVENT_WINDOW_NS / 1000000000u));
        log_warn("slow request: %s %s %s took %" PRIu64 " ms (slow_log_threshold %" PRIu64
                 " ms), result %s, peer uid %u pid %d",
                 rec.op, rec.module, rec.export, ns / 1000000, conf->slow_log_threshold_ms, result,
                 (unsigned)cr.uid, (int)cr.pid);
    }
    if (rec.has_code && (rec.code == PROTO_E_TRAP || rec.code == PROTO_E_POOL_EXHAUSTED) &&
        conf->log_level >= CFG_LOG_INFO && allow(&event_limit, &suppressed)) {
        const char *what = rec.code == PROTO_E_POOL_EXHAUSTED      ? "pool exhausted"
                           : rec.wasm_rc == -WASMSLOT_TRAP_TIMEOUT ? "timeout"
                                                                   : "trap";
        if (suppressed)
            log_info("(%lu trap, timeout or exhaustion lines were not logged: rate limit of %d "
                     "per %d s)",
                     suppressed, EVENT_BURST, (int)(EVENT_WINDOW_NS / 1000000000u));
        log_info("%s: %s %s %s: %s, peer uid %u pid %d", what, rec.op, rec.module, rec.export,
                 result, (unsigned)cr.uid, (int)cr.pid);
    }
}
