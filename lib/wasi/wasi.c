/* wasi/wasi.c: WASI preview1 host functions for command programs: args, environ, stdin, captured
 * stdout/stderr, descriptors, clocks, random, poll on clocks, proc_exit, and their table. */
#include "config.h"

#include "wasi/wasi.h"

#include "format/module.h"
#include "runtime/runtime.h"
#include "wasi/fs.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ state */

static uint64_t ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static uint64_t now_ns(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return ts_ns(&ts);
}

struct wasmslot_wasi *wasmslot_wasi_new(const struct wasmslot_wasi_options *opt,
                                        struct wasmslot_error *err)
{
    struct wasmslot_wasi *w = calloc(1, sizeof(*w));

    if (!w) {
        wasmslot_error_set(err, ENOMEM, "out of memory for the WASI state");
        return NULL;
    }
    w->out[0].max = opt && opt->stdout_max ? opt->stdout_max : WASMSLOT_WASI_DEFAULT_OUTPUT_MAX;
    w->out[1].max = opt && opt->stderr_max ? opt->stderr_max : WASMSLOT_WASI_DEFAULT_OUTPUT_MAX;
    w->dir = -1;
    if (opt && opt->dir &&
        wasi__fs_grant(w, opt->dir, opt->dir_guest_name ? opt->dir_guest_name : "/", err) < 0) {
        wasmslot_wasi_free(w);
        return NULL;
    }
    wasmslot_wasi_reset(w);
    return w;
}

static void strlist_clear(struct wasi__strlist *l)
{
    free(l->buf);
    free(l->off);
    memset(l, 0, sizeof(*l));
}

void wasmslot_wasi_free(struct wasmslot_wasi *w)
{
    if (!w)
        return;
    wasi__fs_close_all(w);
    if (w->dir >= 0)
        close(w->dir);
    free(w->dir_name);
    strlist_clear(&w->args);
    strlist_clear(&w->env);
    free(w->in);
    free(w->out[0].data);
    free(w->out[1].data);
    free(w);
}

/* Replace *l with copies of the n strings; *l is unchanged on failure. The buffers are kept
 * and reused while they are large enough: the daemon sets the lists at every run, mostly to
 * what they were. */
static int strlist_set(struct wasi__strlist *l, uint32_t n, const char *const *v)
{
    struct wasi__strlist old = *l;
    uint64_t total = 0;
    uint32_t size = 0;
    bool alias = false;

    if (n > 0 && !v)
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        if (!v[i])
            return -EINVAL;
        total += strlen(v[i]) + 1;
        /* A string of the list itself: copied into new buffers, the old freed after. */
        alias |= (uintptr_t)v[i] - (uintptr_t)l->buf < l->buf_cap;
    }
    /* The guest learns the count and the size as u32 and needs 4 bytes per pointer. */
    if (total > UINT32_MAX || n > UINT32_MAX / 4)
        return -E2BIG;
    if (alias || total > l->buf_cap || n > l->off_cap) {
        size_t bcap = total > l->buf_cap ? (size_t)total : l->buf_cap;
        size_t ocap = n > l->off_cap ? n : l->off_cap;
        char *buf = malloc(bcap ? bcap : 1);
        uint32_t *off = malloc(ocap ? ocap * sizeof(*off) : 1);

        if (!buf || !off) {
            free(buf);
            free(off);
            return -ENOMEM;
        }
        l->buf = buf;
        l->off = off;
        l->buf_cap = bcap;
        l->off_cap = ocap;
    } else {
        old.buf = NULL;
        old.off = NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;

        l->off[i] = size;
        memcpy(l->buf + size, v[i], len);
        size += (uint32_t)len;
    }
    l->size = size;
    l->n = n;
    free(old.buf);
    free(old.off);
    return 0;
}

int wasmslot_wasi_set_args(struct wasmslot_wasi *w, uint32_t argc, const char *const *argv)
{
    return strlist_set(&w->args, argc, argv);
}

int wasmslot_wasi_set_env(struct wasmslot_wasi *w, uint32_t n, const char *const *env)
{
    return strlist_set(&w->env, n, env);
}

int wasmslot_wasi_set_stdin(struct wasmslot_wasi *w, const void *bytes, size_t len)
{
    uint8_t *copy;

    if (len == 0 && w->in != NULL) {
        /* No input, as most runs: the buffer stays for the next run that has some. */
        w->in_len = 0;
        w->in_pos = 0;
        return 0;
    }
    copy = malloc(len ? len : 1);

    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, bytes, len);
    free(w->in);
    w->in = copy;
    w->in_len = len;
    w->in_pos = 0;
    return 0;
}

void wasmslot_wasi_reset(struct wasmslot_wasi *w)
{
    w->in_pos = 0;
    for (int i = 0; i < 2; i++) {
        /* Keep the allocation for the next run but never its bytes. */
        w->out[i].len = 0;
        w->out[i].truncated = false;
    }
    /* Whatever the last run opened is closed: a run starts with the standard streams and
     * the granted directory, and nothing else. */
    wasi__fs_close_all(w);
    /* Past fd 3 only the slots a run opened files in can be in use. */
    memset(w->fds, 0, (size_t)(w->fd_top > 4 ? w->fd_top : 4) * sizeof(w->fds[0]));
    w->fd_top = 0;
    w->fds[0].kind = WASI_FD_STDIN;
    w->fds[1].kind = WASI_FD_STDOUT;
    w->fds[2].kind = WASI_FD_STDERR;
    if (w->dir >= 0) {
        w->fds[3].kind = WASI_FD_PREOPEN;
        w->fds[3].host = w->dir;
    }
    w->exited = false;
    w->exit_code = 0;
    /* Read at the run's first CPU-time reading, not here: a thread CPU clock is a system call
     * (no vDSO), which every run would pay for the few guests that ask. */
    w->cpu_base_ns = 0;
}

const uint8_t *wasmslot_wasi_stdout(const struct wasmslot_wasi *w, size_t *len)
{
    *len = w->out[0].len;
    return w->out[0].data;
}

const uint8_t *wasmslot_wasi_stderr(const struct wasmslot_wasi *w, size_t *len)
{
    *len = w->out[1].len;
    return w->out[1].data;
}

bool wasmslot_wasi_stdout_truncated(const struct wasmslot_wasi *w)
{
    return w->out[0].truncated;
}

bool wasmslot_wasi_stderr_truncated(const struct wasmslot_wasi *w)
{
    return w->out[1].truncated;
}

bool wasmslot_wasi_exited(const struct wasmslot_wasi *w, int *code)
{
    if (code)
        *code = w->exit_code;
    return w->exited;
}

/* ------------------------------------------------------------------ host calls */

/* An implementation returns a WASI errno (>= 0), stored as the i32 result, or a negative
 * engine code (a trap, -WASMSLOT_EEXIT) that ends the run. */
typedef int (*impl_fn)(struct wasi__call *c, const struct wasmslot_value *a);

static int host_enter(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                      struct wasmslot_value *results, impl_fn impl)
{
    struct wasmslot_memory *mem = wasmslot_call_ctx_memory(ctx);
    struct wasi__call c = {
        .w = env,
        .ex = wasmslot_call_ctx_exec(ctx),
        .base = mem ? wasmslot_memory_base(mem) : NULL,
        .size = mem ? wasmslot_memory_size(mem) : 0,
    };
    int rc;

    if (!c.w && c.ex)
        c.w = wasmslot_exec_user(c.ex);
    /* A WASI import called outside a WASI run is the embedder's mistake, not the guest's:
     * end the run instead of guessing a state. */
    if (!c.w)
        return -WASMSLOT_TRAP_HOST;
    rc = impl(&c, args);
    if (rc < 0)
        return rc;
    results[0].type = WASMSLOT_I32;
    results[0].of.i32 = (uint32_t)rc;
    return 0;
}

/* Declares host function `name` whose body, name##_impl, returns a WASI errno. */
#define WASI_HOST(name)                                                                            \
    static int name##_impl(struct wasi__call *c, const struct wasmslot_value *a);                  \
    static int name(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,   \
                    struct wasmslot_value *results)                                                \
    {                                                                                              \
        return host_enter(ctx, env, args, results, name##_impl);                                   \
    }                                                                                              \
    static int name##_impl(struct wasi__call *c, const struct wasmslot_value *a)

#define A32(i) (a[i].of.i32)
#define A64(i) (a[i].of.i64)

/* ------------------------------------------------------------------ args, environ */

static int strlist_sizes(struct wasi__call *c, const struct wasi__strlist *l, uint32_t count_ptr,
                         uint32_t size_ptr)
{
    uint8_t *pc = wasi__gmem(c, count_ptr, 4), *ps = wasi__gmem(c, size_ptr, 4);

    if (!pc || !ps)
        return WASI_EFAULT;
    wasi__put_u32(pc, l->n);
    wasi__put_u32(ps, l->size);
    return WASI_ESUCCESS;
}

static int strlist_get(struct wasi__call *c, const struct wasi__strlist *l, uint32_t vec_ptr,
                       uint32_t buf_ptr)
{
    uint8_t *pv = wasi__gmem(c, vec_ptr, (uint64_t)l->n * 4), *pb = wasi__gmem(c, buf_ptr, l->size);

    if (!pv || !pb)
        return WASI_EFAULT;
    /* buf_ptr + size <= memory size <= 2^32, so every guest pointer below fits in 32 bits. */
    for (uint32_t i = 0; i < l->n; i++)
        wasi__put_u32(pv + (size_t)i * 4, buf_ptr + l->off[i]);
    memcpy(pb, l->buf, l->size);
    return WASI_ESUCCESS;
}

WASI_HOST(h_args_sizes_get)
{
    return strlist_sizes(c, &c->w->args, A32(0), A32(1));
}

WASI_HOST(h_args_get)
{
    return strlist_get(c, &c->w->args, A32(0), A32(1));
}

WASI_HOST(h_environ_sizes_get)
{
    return strlist_sizes(c, &c->w->env, A32(0), A32(1));
}

WASI_HOST(h_environ_get)
{
    return strlist_get(c, &c->w->env, A32(0), A32(1));
}

/* ------------------------------------------------------------------ clocks, random, sched */

/* The host clock behind a WASI clock id. CPU-time clocks measure the calling thread, which
 * runs the whole program, relative to the start of the run (see clock_time). */
static int host_clock(uint32_t id, clockid_t *out)
{
    switch (id) {
    case WASI_CLOCK_REALTIME:
        *out = CLOCK_REALTIME;
        return 0;
    case WASI_CLOCK_MONOTONIC:
        *out = CLOCK_MONOTONIC;
        return 0;
    case WASI_CLOCK_PROCESS_CPUTIME:
    case WASI_CLOCK_THREAD_CPUTIME:
        *out = CLOCK_THREAD_CPUTIME_ID;
        return 0;
    }
    return -1;
}

WASI_HOST(h_clock_res_get)
{
    uint8_t *p = wasi__gmem(c, A32(1), 8);
    clockid_t id;
    struct timespec ts;

    if (!p)
        return WASI_EFAULT;
    if (host_clock(A32(0), &id) != 0)
        return WASI_EINVAL;
    if (clock_getres(id, &ts) != 0)
        return WASI_EIO;
    wasi__put_u64(p, ts_ns(&ts));
    return WASI_ESUCCESS;
}

WASI_HOST(h_clock_time_get)
{
    uint8_t *p = wasi__gmem(c, A32(2), 8);
    clockid_t id;
    uint64_t t;

    if (!p)
        return WASI_EFAULT;
    if (host_clock(A32(0), &id) != 0)
        return WASI_EINVAL;
    t = now_ns(id);
    /* The executor thread served earlier runs: count only this run's CPU time (from its first
     * reading), so a guest learns nothing about who ran before it. */
    if (id == CLOCK_THREAD_CPUTIME_ID) {
        if (c->w->cpu_base_ns == 0)
            c->w->cpu_base_ns = t != 0 ? t : 1;
        t = t >= c->w->cpu_base_ns ? t - c->w->cpu_base_ns : 0;
    }
    wasi__put_u64(p, t);
    return WASI_ESUCCESS;
}

/* Whether the run on ex must stop now (interrupted, or past its deadline). */
static bool run_expired(struct wasmslot_exec *ex)
{
    if (!ex)
        return false;
    return atomic_load(&ex->interrupt) ||
           (ex->deadline_ns && now_ns(CLOCK_MONOTONIC) >= ex->deadline_ns);
}

WASI_HOST(h_random_get)
{
    uint8_t *p = wasi__gmem(c, A32(0), A32(1));
    size_t left = A32(1);

    if (!p)
        return WASI_EFAULT;
    while (left > 0) {
        /* In 1 MiB steps: filling gigabytes takes seconds, and the run's deadline still
         * holds meanwhile. */
        ssize_t n = getrandom(p, left < ((size_t)1 << 20) ? left : (size_t)1 << 20, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return WASI_EIO;
        }
        p += n;
        left -= (size_t)n;
        if (left > 0 && run_expired(c->ex))
            return -WASMSLOT_TRAP_TIMEOUT;
    }
    return WASI_ESUCCESS;
}

WASI_HOST(h_sched_yield)
{
    sched_yield();
    return WASI_ESUCCESS;
}

static int h_proc_exit(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                       struct wasmslot_value *results)
{
    struct wasmslot_exec *ex = wasmslot_call_ctx_exec(ctx);
    struct wasmslot_wasi *w = env ? env : ex ? wasmslot_exec_user(ex) : NULL;

    (void)results; /* proc_exit returns nothing */
    if (!w)
        return -WASMSLOT_TRAP_HOST;
    w->exited = true;
    w->exit_code = (int)args[0].of.i32;
    if (ex)
        wasmslot_exec_set_exit_code(ex, w->exit_code);
    return -WASMSLOT_EEXIT;
}

/* ------------------------------------------------------------------ file descriptors */

static bool is_stream(const struct wasi__fd *f)
{
    return f->kind == WASI_FD_STDIN || f->kind == WASI_FD_STDOUT || f->kind == WASI_FD_STDERR;
}

WASI_HOST(h_fd_close)
{
    struct wasi__fd *f = wasi__fd(c->w, A32(0));

    if (!f)
        return WASI_EBADF;
    /* The granted directory's host descriptor outlives the run; files are the guest's. */
    if (f->kind == WASI_FD_DIR || f->kind == WASI_FD_FILE)
        close(f->host);
    memset(f, 0, sizeof(*f));
    return WASI_ESUCCESS;
}

/* What a descriptor may do. The standard streams are character devices without seek/tell,
 * which is what a terminal looks like to wasi-libc: stdout is then line-buffered, so the
 * lines a program printed before it trapped are in the reply. */
static uint64_t fd_rights(const struct wasi__fd *f, uint64_t *inheriting)
{
    const uint64_t common =
        WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE;
    const uint64_t file = common | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL;
    const uint64_t dir =
        common | WASI_RIGHT_PATH_OPEN | WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_FILESTAT_GET;

    *inheriting = 0;
    switch (f->kind) {
    case WASI_FD_STDIN:
        return common | WASI_RIGHT_FD_READ;
    case WASI_FD_STDOUT:
    case WASI_FD_STDERR:
        return common | WASI_RIGHT_FD_WRITE;
    case WASI_FD_FILE:
        return file;
    case WASI_FD_PREOPEN:
    case WASI_FD_DIR:
        /* Write rights are offered for inheritance so that wasi-libc asks for them when a
         * program opens for writing, and path_open can answer ROFS instead of handing out
         * a descriptor that fails later. */
        *inheriting = file | dir | WASI_RIGHT_FD_WRITE;
        return dir;
    case WASI_FD_FREE:
        break;
    }
    return 0;
}

static uint8_t fd_filetype(const struct wasi__fd *f)
{
    switch (f->kind) {
    case WASI_FD_STDIN:
    case WASI_FD_STDOUT:
    case WASI_FD_STDERR:
        return WASI_FILETYPE_CHARACTER_DEVICE;
    case WASI_FD_PREOPEN:
    case WASI_FD_DIR:
        return WASI_FILETYPE_DIRECTORY;
    case WASI_FD_FILE:
        return WASI_FILETYPE_REGULAR_FILE;
    case WASI_FD_FREE:
        break;
    }
    return WASI_FILETYPE_UNKNOWN;
}

WASI_HOST(h_fd_fdstat_get)
{
    uint8_t *p = wasi__gmem(c, A32(1), WASI_FDSTAT_SIZE);
    struct wasi__fd *f = wasi__fd(c->w, A32(0));
    uint64_t inheriting, rights;

    if (!p)
        return WASI_EFAULT;
    if (!f)
        return WASI_EBADF;
    rights = fd_rights(f, &inheriting);
    memset(p, 0, WASI_FDSTAT_SIZE);
    wasi__put_u8(p, fd_filetype(f));
    wasi__put_u16(p + 2, f->flags);
    wasi__put_u64(p + 8, rights);
    wasi__put_u64(p + 16, inheriting);
    return WASI_ESUCCESS;
}

WASI_HOST(h_fd_fdstat_set_flags)
{
    struct wasi__fd *f = wasi__fd(c->w, A32(0));
    uint32_t flags = A32(1);
    const uint32_t all = WASI_FDFLAG_APPEND | WASI_FDFLAG_DSYNC | WASI_FDFLAG_NONBLOCK |
                         WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC;

    if (!f)
        return WASI_EBADF;
    if (flags & ~all)
        return WASI_EINVAL;
    /* APPEND and NONBLOCK change nothing for in-memory streams and read-only files; the
     * sync flags promise a durability these descriptors cannot have. */
    if (flags & (WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
        return WASI_ENOTSUP;
    f->flags = (uint16_t)flags;
    return WASI_ESUCCESS;
}

WASI_HOST(h_fd_filestat_get)
{
    uint8_t *p = wasi__gmem(c, A32(1), WASI_FILESTAT_SIZE);
    struct wasi__fd *f = wasi__fd(c->w, A32(0));

    if (!p)
        return WASI_EFAULT;
    if (!f)
        return WASI_EBADF;
    if (!is_stream(f))
        return wasi__fs_filestat(f->host, p);
    memset(p, 0, WASI_FILESTAT_SIZE);
    wasi__put_u8(p + 16, WASI_FILETYPE_CHARACTER_DEVICE);
    wasi__put_u64(p + 24, 1); /* nlink */
    return WASI_ESUCCESS;
}

WASI_HOST(h_fd_seek)
{
    uint8_t *p = wasi__gmem(c, A32(3), 8);
    struct wasi__fd *f = wasi__fd(c->w, A32(0));
    uint64_t pos;
    int e;

    if (!p)
        return WASI_EFAULT;
    if (!f)
        return WASI_EBADF;
    if (A32(2) > 2)
        return WASI_EINVAL;
    if (is_stream(f))
        return WASI_ESPIPE; /* streams, as a pipe would be */
    e = wasi__fs_seek(f, (int64_t)A64(1), A32(2), &pos);
    if (e == WASI_ESUCCESS)
        wasi__put_u64(p, pos);
    return e;
}

WASI_HOST(h_fd_tell)
{
    uint8_t *p = wasi__gmem(c, A32(1), 8);
    struct wasi__fd *f = wasi__fd(c->w, A32(0));
    uint64_t pos;
    int e;

    if (!p)
        return WASI_EFAULT;
    if (!f)
        return WASI_EBADF;
    if (is_stream(f))
        return WASI_ESPIPE;
    e = wasi__fs_seek(f, 0, 1, &pos);
    if (e == WASI_ESUCCESS)
        wasi__put_u64(p, pos);
    return e;
}

/* Load and check iovs_len iovecs at iovs into out; the total length goes to *total. Copying
 * them first means a guest thread rewriting the array (shared memories) cannot change a
 * range after its check. Returns a WASI errno. */
static int load_iovs(const struct wasi__call *c, uint32_t iovs, uint32_t iovs_len,
                     struct wasi__iov *out, uint64_t *total)
{
    const uint8_t *arr = wasi__gmem(c, iovs, (uint64_t)iovs_len * WASI_IOVEC_SIZE);

    *total = 0;
    if (!arr)
        return WASI_EFAULT;
    if (iovs_len > WASI_IOV_MAX)
        return WASI_EINVAL;
    for (uint32_t i = 0; i < iovs_len; i++) {
        out[i].off = wasi__get_u32(arr + (size_t)i * WASI_IOVEC_SIZE);
        out[i].len = wasi__get_u32(arr + (size_t)i * WASI_IOVEC_SIZE + 4);
        if (!wasi__gmem(c, out[i].off, out[i].len))
            return WASI_EFAULT;
        *total += out[i].len;
    }
    return WASI_ESUCCESS;
}

WASI_HOST(h_fd_read)
{
    struct wasi__iov iov[WASI_IOV_MAX];
    uint8_t *pn = wasi__gmem(c, A32(3), 4);
    struct wasi__fd *f = wasi__fd(c->w, A32(0));
    struct wasmslot_wasi *w = c->w;
    uint64_t total;
    uint32_t done = 0;
    int e;

    if (!pn)
        return WASI_EFAULT;
    e = load_iovs(c, A32(1), A32(2), iov, &total);
    if (e != WASI_ESUCCESS)
        return e;
    if (!f)
        return WASI_EBADF;
    if (f->kind == WASI_FD_FILE) {
        e = wasi__fs_read(c, f, iov, A32(2), &done);
        if (e == WASI_ESUCCESS)
            wasi__put_u32(pn, done);
        return e;
    }
    if (f->kind == WASI_FD_PREOPEN || f->kind == WASI_FD_DIR)
        return WASI_EISDIR;
    if (f->kind != WASI_FD_STDIN)
        return WASI_EBADF;
    for (uint32_t i = 0; i < A32(2) && w->in_pos < w->in_len; i++) {
        size_t n = w->in_len - w->in_pos;

        if (n > iov[i].len)
            n = iov[i].len;
        memcpy(c->base + iov[i].off, w->in + w->in_pos, n);
        w->in_pos += n;
        done += (uint32_t)n;
    }
    wasi__put_u32(pn, done);
    return WASI_ESUCCESS;
}

/* Make room for `need` more bytes in b (need <= b->max - b->len). Returns false on ENOMEM. */
static bool outbuf_reserve(struct wasi__outbuf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 4096;
    uint8_t *p;

    if (b->len + need <= b->cap)
        return true;
    while (cap < b->len + need)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

WASI_HOST(h_fd_write)
{
    struct wasi__iov iov[WASI_IOV_MAX];
    uint8_t *pn = wasi__gmem(c, A32(3), 4);
    struct wasi__fd *f = wasi__fd(c->w, A32(0));
    struct wasi__outbuf *b;
    uint64_t total;
    size_t room, left;
    int e;

    if (!pn)
        return WASI_EFAULT;
    e = load_iovs(c, A32(1), A32(2), iov, &total);
    if (e != WASI_ESUCCESS)
        return e;
    if (!f || (f->kind != WASI_FD_STDOUT && f->kind != WASI_FD_STDERR))
        return WASI_EBADF; /* stdin, and files opened read-only, as on the host */
    b = &c->w->out[f->kind == WASI_FD_STDOUT ? 0 : 1];
    room = b->max - b->len;
    /* Past the cap the guest gets a short write, then FBIG, as a file at its size limit
     * would: a program learns its output was cut and the daemon's memory stays bounded. */
    if (total > room) {
        b->truncated = true;
        if (room == 0)
            return WASI_EFBIG;
    }
    left = total < room ? (size_t)total : room;
    if (!outbuf_reserve(b, left))
        return WASI_EIO;
    wasi__put_u32(pn, (uint32_t)left);
    for (uint32_t i = 0; i < A32(2) && left > 0; i++) {
        size_t n = iov[i].len < left ? iov[i].len : left;

        memcpy(b->data + b->len, c->base + iov[i].off, n);
        b->len += n;
        left -= n;
    }
    return WASI_ESUCCESS;
}

/* ------------------------------------------------------------------ poll_oneoff */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* The CLOCK_MONOTONIC time at which clock subscription s (guest bytes) fires, or -1 with
 * *err set when its clock cannot be waited on. */
static int sub_clock_deadline(const uint8_t *s, uint64_t mono_now, uint64_t real_now,
                              uint64_t *deadline, uint16_t *err)
{
    uint32_t id = wasi__get_u32(s + 16);
    uint64_t timeout = wasi__get_u64(s + 24);
    bool abs = wasi__get_u16(s + 40) & WASI_SUBCLOCK_ABSTIME;

    if (!abs) {
        if (id > WASI_CLOCK_THREAD_CPUTIME) {
            *err = WASI_EINVAL;
            return -1;
        }
        /* A relative timeout is a duration whatever the clock; measure it on the
         * monotonic one. */
        *deadline = sat_add(mono_now, timeout);
        return 0;
    }
    switch (id) {
    case WASI_CLOCK_MONOTONIC:
        *deadline = timeout;
        return 0;
    case WASI_CLOCK_REALTIME:
        *deadline = timeout <= real_now ? mono_now : sat_add(mono_now, timeout - real_now);
        return 0;
    }
    *err = WASI_ENOTSUP; /* an absolute CPU time cannot be slept until */
    return -1;
}

/* Sleep until the monotonic time `until`, but never past the run's deadline: a sleeping
 * guest still ends with a timeout trap on time, and an interrupt cuts the sleep short. */
static int sleep_until(struct wasmslot_exec *ex, uint64_t until)
{
    if (now_ns(CLOCK_MONOTONIC) < until)
        wasmslot_exec__blocking(ex); /* see wasmslot_exec_set_notify */
    for (;;) {
        uint64_t now = now_ns(CLOCK_MONOTONIC), wake = until;
        struct timespec ts;

        if (run_expired(ex))
            return -WASMSLOT_TRAP_TIMEOUT;
        if (now >= until)
            return 0;
        /* Wake at least every 10 ms to notice an interrupt from another thread. */
        if (wake > now + 10000000u)
            wake = now + 10000000u;
        if (ex && ex->deadline_ns && wake > ex->deadline_ns)
            wake = ex->deadline_ns;
        ts.tv_sec = (time_t)(wake / 1000000000u);
        ts.tv_nsec = (long)(wake % 1000000000u);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Whether subscription s (not a clock) is ready at once, its event error and byte count. */
static void sub_fd_state(struct wasmslot_wasi *w, const uint8_t *s, uint8_t tag, uint16_t *err,
                         uint64_t *nbytes)
{
    struct wasi__fd *f = wasi__fd(w, wasi__get_u32(s + 16));

    *err = WASI_ESUCCESS;
    *nbytes = 0;
    if (!f)
        *err = WASI_EBADF;
    else if (tag == WASI_EVENT_FD_READ && f->kind == WASI_FD_STDIN)
        *nbytes = w->in_len - w->in_pos;
    else if (tag == WASI_EVENT_FD_WRITE && f->kind == WASI_FD_STDOUT)
        *nbytes = w->out[0].max - w->out[0].len;
    else if (tag == WASI_EVENT_FD_WRITE && f->kind == WASI_FD_STDERR)
        *nbytes = w->out[1].max - w->out[1].len;
    else if (tag == WASI_EVENT_FD_READ && f->kind == WASI_FD_FILE)
        *nbytes = 0; /* a regular file is always readable; the size is not needed */
    else
        *err = WASI_EBADF;
}

static void put_event(uint8_t *e, const uint8_t *s, uint16_t err, uint8_t type, uint64_t nbytes)
{
    memset(e, 0, WASI_EVENT_SIZE);
    memcpy(e, s, 8); /* userdata, copied as is */
    wasi__put_u16(e + 8, err);
    wasi__put_u8(e + 10, type);
    wasi__put_u64(e + 16, nbytes);
}

/* Reads and stdout/stderr writes on in-memory streams never block, so only clock
 * subscriptions wait; the guest's stdin is complete before the run starts. */
WASI_HOST(h_poll_oneoff)
{
    uint32_t n = A32(2);
    const uint8_t *in = wasi__gmem(c, A32(0), (uint64_t)n * WASI_SUBSCRIPTION_SIZE);
    uint8_t *out = wasi__gmem(c, A32(1), (uint64_t)n * WASI_EVENT_SIZE);
    uint8_t *pn = wasi__gmem(c, A32(3), 4);
    uint64_t mono = now_ns(CLOCK_MONOTONIC), real = now_ns(CLOCK_REALTIME);
    uint64_t earliest = UINT64_MAX, now;
    uint32_t ready = 0, k = 0;
    int rc;

    if (!in || !out || !pn)
        return WASI_EFAULT;
    if (n == 0)
        return WASI_EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = in + (size_t)i * WASI_SUBSCRIPTION_SIZE;
        uint16_t err;
        uint64_t d;

        /* An fd subscription is ready now (or an error event), and so is a clock that
         * cannot be waited on. */
        if (s[8] != WASI_EVENT_CLOCK || sub_clock_deadline(s, mono, real, &d, &err) != 0)
            ready++;
        else if (d < earliest)
            earliest = d;
    }
    if (ready == 0) {
        rc = sleep_until(c->ex, earliest);
        if (rc < 0)
            return rc;
    }
    /* Deadlines are computed from the times taken on entry, so a relative timeout is not
     * pushed back by the sleep itself. */
    now = now_ns(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = in + (size_t)i * WASI_SUBSCRIPTION_SIZE;
        uint8_t tag = s[8];
        uint16_t err = WASI_ESUCCESS;
        uint64_t d, nb = 0;

        if (tag == WASI_EVENT_CLOCK) {
            if (sub_clock_deadline(s, mono, real, &d, &err) == 0 && d > now)
                continue;
        } else if (tag == WASI_EVENT_FD_READ || tag == WASI_EVENT_FD_WRITE) {
            sub_fd_state(c->w, s, tag, &err, &nb);
        } else {
            err = WASI_EINVAL;
        }
        put_event(out + (size_t)k * WASI_EVENT_SIZE, s, err, tag, nb);
        k++;
    }
    wasi__put_u32(pn, k);
    return WASI_ESUCCESS;
}

/* ------------------------------------------------------------------ the table */

/* Host functions of the directory calls implemented in wasi/fs.c. */
#define WASI_WRAP(name, impl)                                                                      \
    static int name(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,   \
                    struct wasmslot_value *results)                                                \
    {                                                                                              \
        return host_enter(ctx, env, args, results, impl);                                          \
    }

WASI_WRAP(h_fd_prestat_get, wasi__fd_prestat_get)
WASI_WRAP(h_fd_prestat_dir_name, wasi__fd_prestat_dir_name)
WASI_WRAP(h_fd_readdir, wasi__fd_readdir)
WASI_WRAP(h_path_open, wasi__path_open)
WASI_WRAP(h_path_filestat_get, wasi__path_filestat_get)
WASI_WRAP(h_path_readonly, wasi__path_readonly)

int wasi__nosys(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                struct wasmslot_value *results)
{
    (void)ctx;
    (void)env;
    (void)args;
    results[0].type = WASMSLOT_I32;
    results[0].of.i32 = WASI_ENOSYS;
    return 0;
}

/* Sorted by name for the reader; looked up linearly (a few dozen entries, at link time). */
static const struct wasi__fn wasi_fns[] = {
    {"args_get", h_args_get, "ii:i"},
    {"args_sizes_get", h_args_sizes_get, "ii:i"},
    {"clock_res_get", h_clock_res_get, "ii:i"},
    {"clock_time_get", h_clock_time_get, "iIi:i"},
    {"environ_get", h_environ_get, "ii:i"},
    {"environ_sizes_get", h_environ_sizes_get, "ii:i"},
    {"fd_close", h_fd_close, "i:i"},
    {"fd_fdstat_get", h_fd_fdstat_get, "ii:i"},
    {"fd_fdstat_set_flags", h_fd_fdstat_set_flags, "ii:i"},
    {"fd_filestat_get", h_fd_filestat_get, "ii:i"},
    {"fd_prestat_dir_name", h_fd_prestat_dir_name, "iii:i"},
    {"fd_prestat_get", h_fd_prestat_get, "ii:i"},
    {"fd_read", h_fd_read, "iiii:i"},
    {"fd_readdir", h_fd_readdir, "iiiIi:i"},
    {"fd_seek", h_fd_seek, "iIii:i"},
    {"fd_tell", h_fd_tell, "ii:i"},
    {"fd_write", h_fd_write, "iiii:i"},
    {"path_create_directory", h_path_readonly, "iii:i"},
    {"path_filestat_get", h_path_filestat_get, "iiiii:i"},
    {"path_open", h_path_open, "iiiiiIIii:i"},
    {"path_remove_directory", h_path_readonly, "iii:i"},
    {"path_unlink_file", h_path_readonly, "iii:i"},
    {"poll_oneoff", h_poll_oneoff, "iiii:i"},
    {"proc_exit", h_proc_exit, "i:"},
    {"random_get", h_random_get, "ii:i"},
    {"sched_yield", h_sched_yield, ":i"},
};

const struct wasi__fn *wasi__lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(wasi_fns) / sizeof(wasi_fns[0]); i++)
        if (strlen(wasi_fns[i].name) == len && memcmp(wasi_fns[i].name, name, len) == 0)
            return &wasi_fns[i];
    return NULL;
}
