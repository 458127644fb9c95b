/* check_wasi.c: unit tests of the WASI preview1 host functions, called directly on a real
 * linear memory: behaviour, and EFAULT for every guest pointer or length out of range. */
#include "config.h"

#include "wasi/wasi.h"
#include "runtime/runtime.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The fixture: a state, a one-page memory (growable to four) and a hand-made call context
 * whose exec carries the state, as wasmslot_wasi_run arranges for a real run. */
static struct wasmslot_wasi *w;
static struct wasmslot_memory *mem;
static struct wasmslot_instance inst;
static struct wasmslot_exec ex;
static struct wasmslot_call_ctx ctx;
static uint8_t *M;
static void *bound; /* env passed to the host functions; NULL = the exec's user pointer */

static const char *const test_argv[] = {"prog", "one", "two words"};
static const char *const test_env[] = {"GREETING=hello", "EMPTY="};
static const char test_stdin[] = "hello world\nsecond line\n";

static void setup(void)
{
    struct wasmslot_error err;

    w = wasmslot_wasi_new(NULL, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 3, test_argv), 0);
    ck_assert_int_eq(wasmslot_wasi_set_env(w, 2, test_env), 0);
    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, test_stdin, strlen(test_stdin)), 0);
    mem = wasmslot_memory_new(1, 4, false, &err);
    ck_assert_msg(mem != NULL, "wasmslot_memory_new: %s", err.message);
    M = wasmslot_memory_base(mem);
    memset(&inst, 0, sizeof(inst));
    inst.memory = mem;
    memset(&ex, 0, sizeof(ex));
    wasmslot_exec_set_user(&ex, w);
    ctx.exec = &ex;
    ctx.inst = &inst;
    bound = NULL;
}

static void teardown(void)
{
    wasmslot_memory_unref(mem);
    wasmslot_wasi_free(w);
}

static uint32_t msize(void)
{
    return (uint32_t)wasmslot_memory_size(mem);
}

static uint32_t rd32(uint32_t p)
{
    uint32_t v;

    memcpy(&v, M + p, 4);
    return v;
}

static uint64_t rd64(uint32_t p)
{
    uint64_t v;

    memcpy(&v, M + p, 8);
    return v;
}

static void wr32(uint32_t p, uint32_t v)
{
    memcpy(M + p, &v, 4);
}

static void wr64(uint32_t p, uint64_t v)
{
    memcpy(M + p, &v, 8);
}

/* Call preview1 function `name` with n raw arguments typed from its signature. Returns the
 * WASI errno, or the negative code the host function returned. */
static int call_fn(const char *name, const uint64_t *vals, uint32_t n)
{
    const struct wasi__fn *fn = wasi__lookup(name, strlen(name));
    struct wasmslot_value args[16], res[1];
    uint32_t i = 0;
    int rc;

    ck_assert_msg(fn != NULL, "no WASI function %s", name);
    for (const char *p = fn->sig; *p && *p != ':'; p++, i++) {
        ck_assert_uint_lt(i, n);
        args[i].type = *p == 'I' ? WASMSLOT_I64 : WASMSLOT_I32;
        if (*p == 'I')
            args[i].of.i64 = vals[i];
        else
            args[i].of.i32 = (uint32_t)vals[i];
    }
    ck_assert_uint_eq(i, n);
    res[0].type = WASMSLOT_I32;
    res[0].of.i32 = 0xdeadbeef;
    rc = fn->fn(&ctx, bound, args, res);
    if (rc < 0)
        return rc;
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res[0].type, WASMSLOT_I32);
    return (int)res[0].of.i32;
}

#define CALL(name, ...)                                                                            \
    call_fn(name, (const uint64_t[]){__VA_ARGS__},                                                 \
            sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

static size_t out_len(int fd)
{
    size_t n;

    if (fd == 1)
        wasmslot_wasi_stdout(w, &n);
    else
        wasmslot_wasi_stderr(w, &n);
    return n;
}

static bool out_is(int fd, const char *s)
{
    size_t n;
    const uint8_t *p = fd == 1 ? wasmslot_wasi_stdout(w, &n) : wasmslot_wasi_stderr(w, &n);

    return n == strlen(s) && (n == 0 || memcmp(p, s, n) == 0);
}

/* ------------------------------------------------------------------ the table */

START_TEST(test_lookup_and_signatures)
{
    const char *names[] = {
        "args_get",
        "args_sizes_get",
        "environ_get",
        "environ_sizes_get",
        "fd_read",
        "fd_write",
        "fd_close",
        "fd_fdstat_get",
        "fd_fdstat_set_flags",
        "fd_seek",
        "fd_tell",
        "fd_filestat_get",
        "fd_prestat_get",
        "fd_prestat_dir_name",
        "clock_time_get",
        "clock_res_get",
        "random_get",
        "proc_exit",
        "sched_yield",
        "poll_oneoff",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_msg(wasi__lookup(names[i], strlen(names[i])) != NULL, "%s missing", names[i]);
    ck_assert_str_eq(wasi__lookup("fd_seek", 7)->sig, "iIii:i");
    ck_assert_str_eq(wasi__lookup("clock_time_get", 14)->sig, "iIi:i");
    ck_assert_str_eq(wasi__lookup("proc_exit", 9)->sig, "i:");
    ck_assert_ptr_null(wasi__lookup("sock_accept", 11));
    ck_assert_ptr_null(wasi__lookup("fd_renumber", 11));
    ck_assert_ptr_null(wasi__lookup("fd_write_", 9));
    ck_assert_ptr_null(wasi__lookup("fd_writ", 7));
}
END_TEST

START_TEST(test_nosys_stub)
{
    struct wasmslot_value res[1];

    ck_assert_int_eq(wasi__nosys(&ctx, NULL, NULL, res), 0);
    ck_assert_uint_eq(res[0].of.i32, WASI_ENOSYS);
}
END_TEST

/* ------------------------------------------------------------------ args, environ */

START_TEST(test_args)
{
    ck_assert_int_eq(CALL("args_sizes_get", 100, 104), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(100), 3);
    ck_assert_uint_eq(rd32(104), sizeof("prog") + sizeof("one") + sizeof("two words"));
    ck_assert_int_eq(CALL("args_get", 1000, 2000), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(1000), 2000);
    ck_assert_str_eq((char *)M + rd32(1000), "prog");
    ck_assert_str_eq((char *)M + rd32(1004), "one");
    ck_assert_str_eq((char *)M + rd32(1008), "two words");
}
END_TEST

START_TEST(test_environ)
{
    ck_assert_int_eq(CALL("environ_sizes_get", 100, 104), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(100), 2);
    ck_assert_uint_eq(rd32(104), sizeof("GREETING=hello") + sizeof("EMPTY="));
    ck_assert_int_eq(CALL("environ_get", 1000, 2000), WASI_ESUCCESS);
    ck_assert_str_eq((char *)M + rd32(1000), "GREETING=hello");
    ck_assert_str_eq((char *)M + rd32(1004), "EMPTY=");
}
END_TEST

START_TEST(test_empty_args_and_env)
{
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 0, NULL), 0);
    ck_assert_int_eq(wasmslot_wasi_set_env(w, 0, NULL), 0);
    ck_assert_int_eq(CALL("args_sizes_get", 100, 104), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(100), 0);
    ck_assert_uint_eq(rd32(104), 0);
    /* Nothing to write: even the very end of memory is a valid place for nothing. */
    ck_assert_int_eq(CALL("args_get", msize(), msize()), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("environ_get", msize(), msize()), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("environ_get", msize() + 1, 0), WASI_EFAULT);
}
END_TEST

START_TEST(test_set_args_errors)
{
    const char *const with_null[] = {"a", NULL};

    ck_assert_int_eq(wasmslot_wasi_set_args(w, 2, NULL), -EINVAL);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 2, with_null), -EINVAL);
    /* The previous arguments are kept after a failure. */
    ck_assert_int_eq(CALL("args_sizes_get", 100, 104), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(100), 3);
}
END_TEST

/* ------------------------------------------------------------------ bounds, every pointer */

/* A call with valid arguments, and one argument that is a guest pointer to len bytes. */
struct ptrcase {
    const char *name;
    uint64_t args[9];
    uint32_t nargs;
    uint32_t ptr; /* index of the pointer argument */
    uint64_t len; /* bytes the call reads or writes there */
};

/* Lay out the guest data the valid calls below need. */
static void prepare_guest(void)
{
    wr32(300, 500); /* iovec: buf 500, len 10 */
    wr32(304, 10);
    memset(M + 3000, 0, 48); /* subscription: clock, relative 0, fires at once */
    M[3008] = WASI_EVENT_CLOCK;
    wr32(3016, WASI_CLOCK_MONOTONIC);
}

static const uint32_t args_size = sizeof("prog") + sizeof("one") + sizeof("two words");
static const uint32_t env_size = sizeof("GREETING=hello") + sizeof("EMPTY=");

static const struct ptrcase ptrcases[] = {
    {"args_sizes_get", {100, 200}, 2, 0, 4},
    {"args_sizes_get", {100, 200}, 2, 1, 4},
    {"args_get", {1000, 2000}, 2, 0, 3 * 4},
    {"args_get", {1000, 2000}, 2, 1, sizeof("prog") + sizeof("one") + sizeof("two words")},
    {"environ_sizes_get", {100, 200}, 2, 0, 4},
    {"environ_sizes_get", {100, 200}, 2, 1, 4},
    {"environ_get", {1000, 2000}, 2, 0, 2 * 4},
    {"environ_get", {1000, 2000}, 2, 1, sizeof("GREETING=hello") + sizeof("EMPTY=")},
    {"clock_res_get", {WASI_CLOCK_MONOTONIC, 100}, 2, 1, 8},
    {"clock_time_get", {WASI_CLOCK_REALTIME, 0, 100}, 3, 2, 8},
    {"random_get", {100, 16}, 2, 0, 16},
    {"fd_fdstat_get", {1, 100}, 2, 1, 24},
    {"fd_filestat_get", {1, 100}, 2, 1, 64},
    {"fd_seek", {1, 0, 0, 100}, 4, 3, 8},
    {"fd_tell", {1, 100}, 2, 1, 8},
    {"fd_prestat_get", {3, 100}, 2, 1, 8},
    {"fd_prestat_dir_name", {3, 100, 16}, 3, 1, 16},
    {"fd_read", {0, 300, 1, 400}, 4, 1, 8},
    {"fd_read", {0, 300, 1, 400}, 4, 3, 4},
    {"fd_write", {1, 300, 1, 400}, 4, 1, 8},
    {"fd_write", {1, 300, 1, 400}, 4, 3, 4},
    {"poll_oneoff", {3000, 4000, 1, 5000}, 4, 0, 48},
    {"poll_oneoff", {3000, 4000, 1, 5000}, 4, 1, 32},
    {"poll_oneoff", {3000, 4000, 1, 5000}, 4, 3, 4},
};

/* Pointers for which [p, p + len) is not inside a memory of `size` bytes: straddling the
 * end, at the end, past it, at the top of the address space, and wrapping around 2^32. */
static uint32_t bad_pointers(uint32_t size, uint64_t len, uint32_t *out)
{
    uint32_t n = 0;

    out[n++] = (uint32_t)(size - len + 1);
    out[n++] = size;
    out[n++] = size + 4096;
    out[n++] = UINT32_MAX;
    out[n++] = (uint32_t)(((uint64_t)1 << 32) - len / 2 - 1); /* p + len wraps to a small value */
    out[n++] = (uint32_t)(((uint64_t)1 << 32) - len);         /* p + len == 2^32 exactly */
    return n;
}

START_TEST(test_every_pointer_is_checked)
{
    const struct ptrcase *pc = &ptrcases[_i];
    uint8_t *before = malloc(msize());
    uint32_t bad[8], nbad;

    ck_assert_ptr_nonnull(before);
    prepare_guest();
    /* The valid call succeeds (or fails for another reason than EFAULT)... */
    ck_assert_int_ne(call_fn(pc->name, pc->args, pc->nargs), WASI_EFAULT);
    wasmslot_wasi_reset(w);
    prepare_guest();
    nbad = bad_pointers(msize(), pc->len, bad);
    for (uint32_t k = 0; k < nbad; k++) {
        uint64_t args[9];

        memcpy(args, pc->args, sizeof(args));
        args[pc->ptr] = bad[k];
        memcpy(before, M, msize());
        ck_assert_msg(call_fn(pc->name, args, pc->nargs) == WASI_EFAULT,
                      "%s arg %u = 0x%x (len %llu) is not EFAULT", pc->name, pc->ptr, bad[k],
                      (unsigned long long)pc->len);
        /* ...and a refused call changed nothing: no half-done writes, no output. */
        ck_assert_msg(memcmp(before, M, msize()) == 0, "%s wrote memory before EFAULT", pc->name);
        ck_assert_uint_eq(out_len(1), 0);
    }
    free(before);
}
END_TEST

START_TEST(test_lengths_are_checked)
{
    /* Lengths that push a valid pointer past the end, or around 2^32. */
    ck_assert_int_eq(CALL("random_get", 0, msize() + 1), WASI_EFAULT);
    ck_assert_int_eq(CALL("random_get", 16, UINT32_MAX), WASI_EFAULT);
    ck_assert_int_eq(CALL("random_get", msize() - 8, 9), WASI_EFAULT);
    ck_assert_int_eq(CALL("random_get", msize() - 8, 8), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("random_get", msize(), 0), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_prestat_dir_name", 3, 100, UINT32_MAX), WASI_EFAULT);
    /* iovs_len large enough that iovs + 8 * iovs_len passes 2^32. */
    ck_assert_int_eq(CALL("fd_write", 1, 300, 0x20000000u, 400), WASI_EFAULT);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 0x1fffffffu, 400), WASI_EFAULT);
    /* 48 * nsubscriptions and 32 * nsubscriptions overflow 32 bits. */
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 0x10000000u, 5000), WASI_EFAULT);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, UINT32_MAX, 5000), WASI_EFAULT);
    ck_assert_int_eq(CALL("args_get", 1000, msize() - args_size + 1), WASI_EFAULT);
    ck_assert_int_eq(CALL("args_get", 1000, msize() - args_size), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("environ_get", msize() - 7, 2000), WASI_EFAULT);
    ck_assert_int_eq(CALL("environ_get", 1000, msize() - env_size), WASI_ESUCCESS);
}
END_TEST

START_TEST(test_iovec_buffers_are_checked)
{
    /* Each iovec's own buffer: past the end, straddling it, wrapping around 2^32. An iovec
     * that is bad anywhere in the array fails the whole call before anything moves. */
    const uint32_t bufs[][2] = {
        {0, msize() + 1}, {msize() - 4, 5}, {msize() + 1, 0}, {UINT32_MAX, 2}, {0xffffff00u, 0x200},
    };

    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        wr32(300, 500); /* a good first iovec */
        wr32(304, 5);
        wr32(308, bufs[i][0]);
        wr32(312, bufs[i][1]);
        memcpy(M + 500, "abcde", 5);
        wr32(400, 77);
        ck_assert_int_eq(CALL("fd_write", 1, 300, 2, 400), WASI_EFAULT);
        ck_assert_int_eq(CALL("fd_read", 0, 300, 2, 400), WASI_EFAULT);
        ck_assert_uint_eq(rd32(400), 77);
        ck_assert_uint_eq(out_len(1), 0);
        ck_assert_int_eq(memcmp(M + 500, "abcde", 5), 0); /* stdin not consumed into it */
    }
    /* A zero-length iovec right at the end is fine. */
    wr32(308, msize());
    wr32(312, 0);
    ck_assert_int_eq(CALL("fd_write", 1, 300, 2, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 5);
    ck_assert(out_is(1, "abcde"));
}
END_TEST

START_TEST(test_checks_follow_memory_growth)
{
    uint32_t old;

    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_REALTIME, 0, 65536), WASI_EFAULT);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), 0);
    M = wasmslot_memory_base(mem);
    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_REALTIME, 0, 65536), WASI_ESUCCESS);
    ck_assert_uint_gt(rd64(65536), 0);
    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_REALTIME, 0, 2 * 65536 - 4), WASI_EFAULT);
}
END_TEST

START_TEST(test_no_memory_is_efault)
{
    inst.memory = NULL;
    ck_assert_int_eq(CALL("args_sizes_get", 0, 4), WASI_EFAULT);
    ck_assert_int_eq(CALL("fd_write", 1, 0, 0, 0), WASI_EFAULT);
    ck_assert_int_eq(call_fn("sched_yield", NULL, 0), WASI_ESUCCESS);
}
END_TEST

/* ------------------------------------------------------------------ fd_write, fd_read */

START_TEST(test_fd_write_gathers)
{
    memcpy(M + 500, "Hello, ", 7);
    memcpy(M + 600, "world\n", 6);
    wr32(300, 500);
    wr32(304, 7);
    wr32(308, 600);
    wr32(312, 6);
    ck_assert_int_eq(CALL("fd_write", 1, 300, 2, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 13);
    ck_assert_int_eq(CALL("fd_write", 2, 308, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 6);
    ck_assert(out_is(1, "Hello, world\n"));
    ck_assert(out_is(2, "world\n"));
    /* Zero iovecs write nothing and succeed. */
    ck_assert_int_eq(CALL("fd_write", 1, 300, 0, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 0);
    /* stdin is not writable, other descriptors do not exist. */
    ck_assert_int_eq(CALL("fd_write", 0, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_write", 3, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_write", UINT32_MAX, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_write", 1, 300, WASI_IOV_MAX + 1, 400), WASI_EINVAL);
    ck_assert(out_is(1, "Hello, world\n"));
}
END_TEST

START_TEST(test_fd_write_cap)
{
    struct wasmslot_wasi_options opt = {.stdout_max = 10, .stderr_max = 3};
    struct wasmslot_error err;

    wasmslot_wasi_free(w);
    w = wasmslot_wasi_new(&opt, &err);
    ck_assert_ptr_nonnull(w);
    wasmslot_exec_set_user(&ex, w);
    memcpy(M + 500, "abcdef", 6);
    wr32(300, 500);
    wr32(304, 6);
    ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 6);
    ck_assert(!wasmslot_wasi_stdout_truncated(w));
    /* The write that crosses the cap is short, the next one is refused. */
    ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 4);
    ck_assert(wasmslot_wasi_stdout_truncated(w));
    ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_EFBIG);
    ck_assert(out_is(1, "abcdefabcd"));
    ck_assert_int_eq(CALL("fd_write", 2, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 3);
    ck_assert(out_is(2, "abc"));
    ck_assert(wasmslot_wasi_stderr_truncated(w));
    /* A new run starts empty and untruncated. */
    wasmslot_wasi_reset(w);
    ck_assert(out_is(1, ""));
    ck_assert(!wasmslot_wasi_stdout_truncated(w));
    ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_ESUCCESS);
    ck_assert(out_is(1, "abcdef"));
}
END_TEST

START_TEST(test_fd_write_large_output)
{
    /* Output grows its buffer many times up to the default cap. */
    memset(M + 1024, 'x', 60000);
    wr32(300, 1024);
    wr32(304, 60000);
    for (int i = 0; i < 17; i++)
        ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(out_len(1), 17u * 60000);
    ck_assert_int_eq(M[1024], 'x');
}
END_TEST

START_TEST(test_fd_read_scatters_then_eof)
{
    const size_t total = strlen(test_stdin);

    wr32(300, 500);
    wr32(304, 3);
    wr32(308, 600);
    wr32(312, 4);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 2, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 7);
    ck_assert_int_eq(memcmp(M + 500, "hel", 3), 0);
    ck_assert_int_eq(memcmp(M + 600, "lo w", 4), 0);
    wr32(304, 1000);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), total - 7);
    ck_assert_int_eq(memcmp(M + 500, test_stdin + 7, total - 7), 0);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 0); /* end of file */
    ck_assert_int_eq(CALL("fd_read", 1, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_read", 5, 300, 1, 400), WASI_EBADF);
    /* The next run reads stdin from the start again. */
    wasmslot_wasi_reset(w);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), total);
}
END_TEST

START_TEST(test_fd_read_binary_and_empty_stdin)
{
    const uint8_t bin[] = {0, 0xff, 0, 0x80, '\n'};

    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, bin, sizeof(bin)), 0);
    wr32(300, 500);
    wr32(304, 100);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), sizeof(bin));
    ck_assert_int_eq(memcmp(M + 500, bin, sizeof(bin)), 0);
    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, NULL, 0), 0);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(400), 0);
}
END_TEST

/* ------------------------------------------------------------------ other fd calls */

START_TEST(test_fd_close)
{
    wr32(300, 500);
    wr32(304, 1);
    ck_assert_int_eq(CALL("fd_close", 1), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_close", 1), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_fdstat_get", 1, 100), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_close", 0), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_close", 3), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_write", 2, 300, 1, 400), WASI_ESUCCESS);
    wasmslot_wasi_reset(w);
    ck_assert_int_eq(CALL("fd_write", 1, 300, 1, 400), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_read", 0, 300, 1, 400), WASI_ESUCCESS);
}
END_TEST

START_TEST(test_fd_fdstat)
{
    memset(M + 100, 0xaa, 24);
    ck_assert_int_eq(CALL("fd_fdstat_get", 1, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[100], WASI_FILETYPE_CHARACTER_DEVICE);
    ck_assert_uint_eq(M[101], 0); /* padding cleared */
    ck_assert_uint_eq(M[102] | M[103] << 8, 0);
    ck_assert(rd64(108) & WASI_RIGHT_FD_WRITE);
    ck_assert(!(rd64(108) & WASI_RIGHT_FD_READ));
    /* Like a terminal: no seek, no tell, so wasi-libc line-buffers stdout. */
    ck_assert(!(rd64(108) & (WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL)));
    ck_assert_uint_eq(rd64(116), 0);
    ck_assert_int_eq(CALL("fd_fdstat_get", 0, 100), WASI_ESUCCESS);
    ck_assert(rd64(108) & WASI_RIGHT_FD_READ);
    ck_assert(!(rd64(108) & WASI_RIGHT_FD_WRITE));
    ck_assert_int_eq(CALL("fd_fdstat_get", 3, 100), WASI_EBADF);

    ck_assert_int_eq(CALL("fd_fdstat_set_flags", 1, WASI_FDFLAG_APPEND), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_fdstat_get", 1, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[102], WASI_FDFLAG_APPEND);
    ck_assert_int_eq(CALL("fd_fdstat_set_flags", 1, WASI_FDFLAG_NONBLOCK), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_fdstat_set_flags", 1, WASI_FDFLAG_SYNC), WASI_ENOTSUP);
    ck_assert_int_eq(CALL("fd_fdstat_set_flags", 1, 0x100), WASI_EINVAL);
    ck_assert_int_eq(CALL("fd_fdstat_set_flags", 7, 0), WASI_EBADF);
    wasmslot_wasi_reset(w);
    ck_assert_int_eq(CALL("fd_fdstat_get", 1, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[102], 0);
}
END_TEST

START_TEST(test_fd_seek_tell_filestat)
{
    ck_assert_int_eq(CALL("fd_seek", 0, 0, 0, 100), WASI_ESPIPE);
    ck_assert_int_eq(CALL("fd_seek", 1, (uint64_t)-5, 1, 100), WASI_ESPIPE);
    ck_assert_int_eq(CALL("fd_seek", 1, 0, 3, 100), WASI_EINVAL);
    ck_assert_int_eq(CALL("fd_seek", 4, 0, 0, 100), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_tell", 2, 100), WASI_ESPIPE);
    ck_assert_int_eq(CALL("fd_tell", 3, 100), WASI_EBADF);
    memset(M + 200, 0xaa, 64);
    ck_assert_int_eq(CALL("fd_filestat_get", 2, 200), WASI_ESUCCESS);
    ck_assert_uint_eq(M[216], WASI_FILETYPE_CHARACTER_DEVICE);
    ck_assert_uint_eq(rd64(200), 0);
    ck_assert_uint_eq(rd64(232), 0); /* size */
    ck_assert_int_eq(CALL("fd_filestat_get", 9, 200), WASI_EBADF);
}
END_TEST

START_TEST(test_no_preopened_directories)
{
    for (uint32_t fd = 0; fd < 8; fd++)
        ck_assert_int_eq(CALL("fd_prestat_get", fd, 100), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_prestat_dir_name", 3, 100, 10), WASI_EBADF);
}
END_TEST

/* ------------------------------------------------------------------ clocks, random */

static uint64_t host_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

START_TEST(test_clocks)
{
    uint64_t before = host_ns(CLOCK_REALTIME), t0, t1;

    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_REALTIME, 1, 100), WASI_ESUCCESS);
    ck_assert_uint_ge(rd64(100), before);
    ck_assert_uint_le(rd64(100), host_ns(CLOCK_REALTIME));
    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_MONOTONIC, 1, 100), WASI_ESUCCESS);
    t0 = rd64(100);
    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_MONOTONIC, 1, 100), WASI_ESUCCESS);
    t1 = rd64(100);
    ck_assert_uint_ge(t1, t0);
    /* CPU time counts from the start of the run only. */
    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_PROCESS_CPUTIME, 1, 100), WASI_ESUCCESS);
    ck_assert_uint_lt(rd64(100), 5000000000ull);
    ck_assert_int_eq(CALL("clock_time_get", WASI_CLOCK_THREAD_CPUTIME, 1, 100), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("clock_time_get", 4, 1, 100), WASI_EINVAL);
    ck_assert_int_eq(CALL("clock_time_get", UINT32_MAX, 1, 100), WASI_EINVAL);
    ck_assert_int_eq(CALL("clock_res_get", WASI_CLOCK_MONOTONIC, 100), WASI_ESUCCESS);
    ck_assert_uint_gt(rd64(100), 0);
    ck_assert_uint_le(rd64(100), 1000000);
    ck_assert_int_eq(CALL("clock_res_get", 4, 100), WASI_EINVAL);
}
END_TEST

START_TEST(test_random)
{
    uint8_t zero[64] = {0};

    memset(M + 99, 0x5a, 66);
    ck_assert_int_eq(CALL("random_get", 100, 64), WASI_ESUCCESS);
    ck_assert_int_ne(memcmp(M + 100, zero, 64), 0);
    ck_assert_uint_eq(M[99], 0x5a); /* exactly the range asked for */
    ck_assert_uint_eq(M[164], 0x5a);
    ck_assert_int_eq(CALL("random_get", 200, 64), WASI_ESUCCESS);
    ck_assert_int_ne(memcmp(M + 100, M + 200, 64), 0);
    ck_assert_int_eq(CALL("random_get", 0, msize()), WASI_ESUCCESS);
}
END_TEST

START_TEST(test_random_large_respects_interrupt)
{
    struct wasmslot_memory *big = wasmslot_memory_new(64, 64, false, NULL);

    ck_assert_ptr_nonnull(big);
    inst.memory = big;
    ck_assert_int_eq(CALL("random_get", 0, 64 * 65536), WASI_ESUCCESS);
    /* A fill of more than one step stops at an interrupt, as a timeout trap. */
    ex.interrupt = 1;
    ck_assert_int_eq(CALL("random_get", 0, 64 * 65536), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_int_eq(CALL("random_get", 0, 4096), WASI_ESUCCESS);
    inst.memory = mem;
    wasmslot_memory_unref(big);
}
END_TEST

START_TEST(test_sched_yield)
{
    ck_assert_int_eq(call_fn("sched_yield", NULL, 0), WASI_ESUCCESS);
}
END_TEST

/* ------------------------------------------------------------------ poll_oneoff */

static void put_clock_sub(uint32_t at, uint64_t userdata, uint32_t clock, uint64_t timeout,
                          uint16_t flags)
{
    memset(M + at, 0, 48);
    wr64(at, userdata);
    M[at + 8] = WASI_EVENT_CLOCK;
    wr32(at + 16, clock);
    wr64(at + 24, timeout);
    memcpy(M + at + 40, &flags, 2);
}

static void put_fd_sub(uint32_t at, uint64_t userdata, uint8_t type, uint32_t fd)
{
    memset(M + at, 0, 48);
    wr64(at, userdata);
    M[at + 8] = type;
    wr32(at + 16, fd);
}

START_TEST(test_poll_relative_clock_sleeps)
{
    uint64_t t0 = host_ns(CLOCK_MONOTONIC), dt;

    put_clock_sub(3000, 0x1122334455667788ull, WASI_CLOCK_MONOTONIC, 20000000, 0);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 1, 5000), WASI_ESUCCESS);
    dt = host_ns(CLOCK_MONOTONIC) - t0;
    ck_assert_uint_ge(dt, 20000000);
    ck_assert_uint_lt(dt, 2000000000);
    ck_assert_uint_eq(rd32(5000), 1);
    ck_assert_uint_eq(rd64(4000), 0x1122334455667788ull);
    ck_assert_uint_eq(M[4008] | M[4009] << 8, 0);
    ck_assert_uint_eq(M[4010], WASI_EVENT_CLOCK);
}
END_TEST

START_TEST(test_poll_earliest_of_two_clocks)
{
    uint64_t t0 = host_ns(CLOCK_MONOTONIC);

    put_clock_sub(3000, 1, WASI_CLOCK_REALTIME, 5000000000ull, 0);
    put_clock_sub(3048, 2, WASI_CLOCK_MONOTONIC, host_ns(CLOCK_MONOTONIC) + 15000000,
                  WASI_SUBCLOCK_ABSTIME);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 2, 5000), WASI_ESUCCESS);
    ck_assert_uint_ge(host_ns(CLOCK_MONOTONIC) - t0, 15000000);
    ck_assert_uint_lt(host_ns(CLOCK_MONOTONIC) - t0, 2000000000);
    ck_assert_uint_eq(rd32(5000), 1);
    ck_assert_uint_eq(rd64(4000), 2);
}
END_TEST

START_TEST(test_poll_fd_ready_at_once)
{
    uint64_t t0 = host_ns(CLOCK_MONOTONIC);

    put_clock_sub(3000, 1, WASI_CLOCK_MONOTONIC, 10000000000ull, 0);
    put_fd_sub(3048, 2, WASI_EVENT_FD_READ, 0);
    put_fd_sub(3096, 3, WASI_EVENT_FD_WRITE, 1);
    put_fd_sub(3144, 4, WASI_EVENT_FD_READ, 9);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 4, 5000), WASI_ESUCCESS);
    ck_assert_uint_lt(host_ns(CLOCK_MONOTONIC) - t0, 1000000000);
    ck_assert_uint_eq(rd32(5000), 3);
    ck_assert_uint_eq(rd64(4000), 2);
    ck_assert_uint_eq(M[4010], WASI_EVENT_FD_READ);
    ck_assert_uint_eq(rd64(4016), strlen(test_stdin));
    ck_assert_uint_eq(rd64(4032), 3);
    ck_assert_uint_eq(M[4042], WASI_EVENT_FD_WRITE);
    ck_assert_uint_eq(rd64(4064), 4);
    ck_assert_uint_eq(M[4072], WASI_EBADF);
}
END_TEST

START_TEST(test_poll_errors)
{
    put_clock_sub(3000, 1, WASI_CLOCK_MONOTONIC, 0, 0);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 0, 5000), WASI_EINVAL);
    /* A clock that cannot be slept on is an error event, not a hang. */
    put_clock_sub(3000, 1, 42, 1000000000, 0);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 1, 5000), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(5000), 1);
    ck_assert_uint_eq(M[4008], WASI_EINVAL);
    put_clock_sub(3000, 1, WASI_CLOCK_PROCESS_CPUTIME, 1, WASI_SUBCLOCK_ABSTIME);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 1, 5000), WASI_ESUCCESS);
    ck_assert_uint_eq(M[4008], WASI_ENOTSUP);
    /* An unknown subscription tag. */
    put_fd_sub(3000, 9, 7, 0);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 1, 5000), WASI_ESUCCESS);
    ck_assert_uint_eq(M[4008], WASI_EINVAL);
}
END_TEST

START_TEST(test_poll_respects_the_run_deadline)
{
    uint64_t t0 = host_ns(CLOCK_MONOTONIC);

    /* A guest that sleeps for an hour still ends on its deadline, as a timeout trap. */
    ex.deadline_ns = t0 + 50000000;
    put_clock_sub(3000, 1, WASI_CLOCK_MONOTONIC, 3600000000000ull, 0);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 1, 5000), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_ge(host_ns(CLOCK_MONOTONIC) - t0, 50000000);
    ck_assert_uint_lt(host_ns(CLOCK_MONOTONIC) - t0, 2000000000);
}
END_TEST

START_TEST(test_poll_interrupted)
{
    ex.interrupt = 1;
    put_clock_sub(3000, 1, WASI_CLOCK_MONOTONIC, 3600000000000ull, 0);
    ck_assert_int_eq(CALL("poll_oneoff", 3000, 4000, 1, 5000), -WASMSLOT_TRAP_TIMEOUT);
}
END_TEST

/* ------------------------------------------------------------------ proc_exit, state */

START_TEST(test_proc_exit)
{
    int code = -1;

    ck_assert(!wasmslot_wasi_exited(w, &code));
    ck_assert_int_eq(CALL("proc_exit", 7), -WASMSLOT_EEXIT);
    ck_assert(wasmslot_wasi_exited(w, &code));
    ck_assert_int_eq(code, 7);
    ck_assert_int_eq(wasmslot_exec_exit_code(&ex), 7);
    wasmslot_wasi_reset(w);
    ck_assert(!wasmslot_wasi_exited(w, NULL));
}
END_TEST

START_TEST(test_state_from_env_or_exec)
{
    struct wasmslot_wasi *other = wasmslot_wasi_new(NULL, NULL);
    int code;

    ck_assert_ptr_nonnull(other);
    /* Bound functions serve their own state whatever the exec carries. */
    bound = other;
    ck_assert_int_eq(CALL("proc_exit", 5), -WASMSLOT_EEXIT);
    ck_assert(wasmslot_wasi_exited(other, &code));
    ck_assert_int_eq(code, 5);
    ck_assert(!wasmslot_wasi_exited(w, NULL));
    /* Unbound ones need a state in the exec: without one the run ends with a host trap. */
    bound = NULL;
    wasmslot_exec_set_user(&ex, NULL);
    ck_assert_int_eq(CALL("args_sizes_get", 100, 104), -WASMSLOT_TRAP_HOST);
    ck_assert_int_eq(CALL("proc_exit", 1), -WASMSLOT_TRAP_HOST);
    wasmslot_wasi_free(other);
}
END_TEST

/* ------------------------------------------------------------------ a granted directory */

/* The tree: <tmp>/secret.txt outside the grant, <tmp>/root granted, with files, a
 * subdirectory, symbolic links that stay inside and ones that lead out, and a FIFO. */
static char tmpdir[64], rootdir[96];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    FILE *f;

    ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, name), (int)sizeof(path));
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void link_at(const char *target, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", rootdir, name);
    ck_assert_int_eq(symlink(target, path), 0);
}

static void dir_setup(void)
{
    struct wasmslot_wasi_options opt = {.dir = NULL};
    struct wasmslot_error err;
    char path[256];

    setup();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_wasi.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(rootdir, sizeof(rootdir), "%s/root", tmpdir);
    ck_assert_int_eq(mkdir(rootdir, 0755), 0);
    snprintf(path, sizeof(path), "%s/sub", rootdir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    write_file(tmpdir, "secret.txt", "top secret\n");
    write_file(rootdir, "a.txt", "alpha\n");
    write_file(path, "b.txt", "bravo");
    link_at("../secret.txt", "escape");
    snprintf(path, sizeof(path), "%s/secret.txt", tmpdir);
    link_at(path, "abs");
    link_at("/etc", "etc");
    link_at("a.txt", "inlink");
    link_at("../a.txt", "sub/up");
    link_at("sub/../../secret.txt", "sneaky");
    snprintf(path, sizeof(path), "%s/fifo", rootdir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);

    wasmslot_wasi_free(w);
    opt.dir = rootdir;
    w = wasmslot_wasi_new(&opt, &err);
    ck_assert_msg(w != NULL, "%s", err.message);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 3, test_argv), 0);
    wasmslot_exec_set_user(&ex, w);
}

static void dir_teardown(void)
{
    teardown();
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define PATH_AT  6000u
#define FDOUT_AT 7000u

/* path_open(dirfd, path) with the given flags; the new fd goes to *fd. */
static int open_at(uint32_t dirfd, const char *path, uint32_t lookup, uint32_t oflags,
                   uint64_t rights, uint32_t fdflags, uint32_t *fd)
{
    int e;

    memcpy(M + PATH_AT, path, strlen(path));
    wr32(FDOUT_AT, 0xdddddddd);
    e = CALL("path_open", dirfd, lookup, PATH_AT, strlen(path), oflags, rights, 0, fdflags,
             FDOUT_AT);
    if (fd)
        *fd = rd32(FDOUT_AT);
    if (e != WASI_ESUCCESS)
        ck_assert_uint_eq(rd32(FDOUT_AT), 0xdddddddd);
    return e;
}

static int open_ro(const char *path, uint32_t *fd)
{
    return open_at(3, path, WASI_LOOKUP_SYMLINK_FOLLOW, 0, WASI_RIGHT_FD_READ, 0, fd);
}

/* Read all of fd into a string (at most 255 bytes). */
static const char *read_all(uint32_t fd)
{
    static char text[256];
    size_t len = 0;

    for (;;) {
        wr32(300, 500);
        wr32(304, 16);
        ck_assert_int_eq(CALL("fd_read", fd, 300, 1, 400), WASI_ESUCCESS);
        if (rd32(400) == 0)
            break;
        ck_assert_uint_lt(len + rd32(400), sizeof(text));
        memcpy(text + len, M + 500, rd32(400));
        len += rd32(400);
    }
    text[len] = '\0';
    return text;
}

START_TEST(test_dir_preopen)
{
    ck_assert_int_eq(CALL("fd_prestat_get", 3, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[100], 0);
    ck_assert_uint_eq(rd32(104), 1);
    ck_assert_int_eq(CALL("fd_prestat_dir_name", 3, 200, 1), WASI_ESUCCESS);
    ck_assert_int_eq(M[200], '/');
    ck_assert_int_eq(CALL("fd_prestat_dir_name", 3, 200, 0), WASI_ENAMETOOLONG);
    ck_assert_int_eq(CALL("fd_prestat_get", 4, 100), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_prestat_get", 0, 100), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_fdstat_get", 3, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[100], WASI_FILETYPE_DIRECTORY);
    ck_assert(rd64(108) & WASI_RIGHT_PATH_OPEN);
    ck_assert_int_eq(CALL("fd_filestat_get", 3, 200), WASI_ESUCCESS);
    ck_assert_uint_eq(M[216], WASI_FILETYPE_DIRECTORY);
    ck_assert_int_eq(CALL("fd_read", 3, 300, 0, 400), WASI_EISDIR);
}
END_TEST

START_TEST(test_dir_guest_name_and_missing_dir)
{
    struct wasmslot_wasi_options opt = {.dir = rootdir, .dir_guest_name = "/data"};
    struct wasmslot_error err;
    struct wasmslot_wasi *other = wasmslot_wasi_new(&opt, &err);

    ck_assert_ptr_nonnull(other);
    bound = other;
    ck_assert_int_eq(CALL("fd_prestat_get", 3, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(rd32(104), 5);
    ck_assert_int_eq(CALL("fd_prestat_dir_name", 3, 200, 5), WASI_ESUCCESS);
    ck_assert_int_eq(memcmp(M + 200, "/data", 5), 0);
    bound = NULL;
    wasmslot_wasi_free(other);
    opt.dir = "/nonexistent/wasmslot/dir";
    ck_assert_ptr_null(wasmslot_wasi_new(&opt, &err));
    ck_assert_int_eq(err.code, -ENOENT);
}
END_TEST

START_TEST(test_dir_open_and_read)
{
    uint32_t fd;

    ck_assert_int_eq(open_ro("a.txt", &fd), WASI_ESUCCESS);
    ck_assert_uint_eq(fd, 4);
    ck_assert_str_eq(read_all(fd), "alpha\n");
    ck_assert_int_eq(CALL("fd_seek", fd, 1, 0, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(rd64(100), 1);
    ck_assert_int_eq(CALL("fd_seek", fd, (uint64_t)-2, 2, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(rd64(100), 4);
    ck_assert_int_eq(CALL("fd_tell", fd, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(rd64(100), 4);
    ck_assert_str_eq(read_all(fd), "a\n");
    ck_assert_int_eq(CALL("fd_seek", fd, (uint64_t)-100, 1, 100), WASI_EINVAL);
    ck_assert_int_eq(CALL("fd_filestat_get", fd, 200), WASI_ESUCCESS);
    ck_assert_uint_eq(M[216], WASI_FILETYPE_REGULAR_FILE);
    ck_assert_uint_eq(rd64(232), 6);
    ck_assert_int_eq(CALL("fd_fdstat_get", fd, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[100], WASI_FILETYPE_REGULAR_FILE);
    ck_assert(!(rd64(108) & WASI_RIGHT_FD_WRITE));
    wr32(300, 500);
    wr32(304, 3);
    ck_assert_int_eq(CALL("fd_write", fd, 300, 1, 400), WASI_EBADF);
    ck_assert_int_eq(CALL("fd_close", fd), WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_read", fd, 300, 1, 400), WASI_EBADF);
    /* The fd number is reused, and paths that stay inside all work. */
    ck_assert_int_eq(open_ro("sub/b.txt", &fd), WASI_ESUCCESS);
    ck_assert_uint_eq(fd, 4);
    ck_assert_str_eq(read_all(fd), "bravo");
    ck_assert_int_eq(open_ro("sub/../a.txt", &fd), WASI_ESUCCESS);
    ck_assert_str_eq(read_all(fd), "alpha\n");
    ck_assert_int_eq(open_ro("./a.txt", &fd), WASI_ESUCCESS);
    ck_assert_int_eq(open_ro("inlink", &fd), WASI_ESUCCESS);
    ck_assert_str_eq(read_all(fd), "alpha\n");
    ck_assert_int_eq(open_ro("sub/up", &fd), WASI_ESUCCESS);
    ck_assert_str_eq(read_all(fd), "alpha\n");
    ck_assert_int_eq(open_ro("missing.txt", &fd), WASI_ENOENT);
    ck_assert_int_eq(open_ro("a.txt/x", &fd), WASI_ENOTDIR);
    ck_assert_int_eq(open_at(3, "a.txt", 0, WASI_O_DIRECTORY, WASI_RIGHT_FD_READ, 0, &fd),
                     WASI_ENOTDIR);
    /* Without SYMLINK_FOLLOW a final symbolic link is not followed. */
    ck_assert_int_eq(open_at(3, "inlink", 0, 0, WASI_RIGHT_FD_READ, 0, &fd), WASI_ELOOP);
}
END_TEST

START_TEST(test_dir_paths_cannot_leave)
{
    /* Every way out: "..", absolute paths, links to outside (relative, absolute, to a
     * directory, through a subdirectory), at the start, in the middle or at the end. */
    char abs_secret[128];
    const char *paths[] = {
        "..",
        "../secret.txt",
        "sub/../../secret.txt",
        "sub/../..",
        "/etc/passwd",
        abs_secret,
        "/",
        "escape",
        "abs",
        "etc/passwd",
        "etc",
        "sneaky",
        "./../root/a.txt",
    };
    uint32_t fd;

    snprintf(abs_secret, sizeof(abs_secret), "%s/secret.txt", tmpdir);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        ck_assert_msg(open_ro(paths[i], &fd) == WASI_ENOTCAPABLE, "open %s: %d", paths[i],
                      open_ro(paths[i], &fd));
        memcpy(M + PATH_AT, paths[i], strlen(paths[i]));
        ck_assert_msg(CALL("path_filestat_get", 3, WASI_LOOKUP_SYMLINK_FOLLOW, PATH_AT,
                           strlen(paths[i]), 200) == WASI_ENOTCAPABLE,
                      "stat %s", paths[i]);
    }
    /* Nothing was opened by the refused calls. */
    ck_assert_int_eq(CALL("fd_fdstat_get", 4, 100), WASI_EBADF);
    /* A link's own metadata lives inside: stat without following sees the link. */
    memcpy(M + PATH_AT, "escape", 6);
    ck_assert_int_eq(CALL("path_filestat_get", 3, 0, PATH_AT, 6, 200), WASI_ESUCCESS);
    ck_assert_uint_eq(M[216], WASI_FILETYPE_SYMBOLIC_LINK);
    /* A NUL inside the path would hide its tail from the host. */
    ck_assert_int_eq(open_at(3, "a.txt\0/../../secret.txt", 0, 0, 0, 0, &fd), WASI_ESUCCESS);
    memcpy(M + PATH_AT, "a.txt\0x", 7);
    ck_assert_int_eq(CALL("path_open", 3, 0, PATH_AT, 7, 0, WASI_RIGHT_FD_READ, 0, 0, FDOUT_AT),
                     WASI_EINVAL);
}
END_TEST

START_TEST(test_dir_nested_descriptor)
{
    uint32_t sub, fd, file;

    ck_assert_int_eq(open_at(3, "sub", 0, WASI_O_DIRECTORY, WASI_RIGHT_FD_READDIR, 0, &sub),
                     WASI_ESUCCESS);
    ck_assert_int_eq(CALL("fd_fdstat_get", sub, 100), WASI_ESUCCESS);
    ck_assert_uint_eq(M[100], WASI_FILETYPE_DIRECTORY);
    ck_assert_int_eq(open_at(sub, "b.txt", 0, 0, WASI_RIGHT_FD_READ, 0, &file), WASI_ESUCCESS);
    ck_assert_str_eq(read_all(file), "bravo");
    /* A descriptor is a capability for what is beneath it only. */
    ck_assert_int_eq(open_at(sub, "../a.txt", 0, 0, WASI_RIGHT_FD_READ, 0, &fd), WASI_ENOTCAPABLE);
    ck_assert_int_eq(open_at(sub, "up", WASI_LOOKUP_SYMLINK_FOLLOW, 0, WASI_RIGHT_FD_READ, 0, &fd),
                     WASI_ENOTCAPABLE);
    ck_assert_int_eq(open_at(file, "x", 0, 0, WASI_RIGHT_FD_READ, 0, NULL), WASI_ENOTDIR);
    ck_assert_int_eq(open_at(1, "x", 0, 0, WASI_RIGHT_FD_READ, 0, NULL), WASI_ENOTDIR);
    ck_assert_int_eq(open_at(40, "x", 0, 0, WASI_RIGHT_FD_READ, 0, NULL), WASI_EBADF);
}
END_TEST

START_TEST(test_dir_is_read_only)
{
    char path[256];
    uint32_t fd;

    ck_assert_int_eq(open_at(3, "new.txt", 0, WASI_O_CREAT, WASI_RIGHT_FD_READ, 0, &fd),
                     WASI_EROFS);
    ck_assert_int_eq(open_at(3, "a.txt", 0, WASI_O_TRUNC, WASI_RIGHT_FD_READ, 0, &fd), WASI_EROFS);
    ck_assert_int_eq(open_at(3, "a.txt", 0, 0, WASI_RIGHT_FD_WRITE, 0, &fd), WASI_EROFS);
    ck_assert_int_eq(open_at(3, "a.txt", 0, 0, WASI_RIGHT_FD_READ, WASI_FDFLAG_APPEND, &fd),
                     WASI_EROFS);
    ck_assert_int_eq(open_at(3, "a.txt", 0, 0x10, WASI_RIGHT_FD_READ, 0, &fd), WASI_EINVAL);
    memcpy(M + PATH_AT, "a.txt", 5);
    ck_assert_int_eq(CALL("path_unlink_file", 3, PATH_AT, 5), WASI_EROFS);
    ck_assert_int_eq(CALL("path_create_directory", 3, PATH_AT, 5), WASI_EROFS);
    ck_assert_int_eq(CALL("path_remove_directory", 3, PATH_AT, 5), WASI_EROFS);
    ck_assert_int_eq(CALL("path_unlink_file", 9, PATH_AT, 5), WASI_EBADF);
    snprintf(path, sizeof(path), "%s/new.txt", rootdir);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(open_ro("a.txt", &fd), WASI_ESUCCESS);
    ck_assert_str_eq(read_all(fd), "alpha\n");
}
END_TEST

START_TEST(test_dir_special_files_refused)
{
    uint32_t fd;

    /* Opening a FIFO must neither hang the run nor hand out a descriptor. */
    ck_assert_int_eq(open_ro("fifo", &fd), WASI_EACCES);
    ck_assert_int_eq(CALL("fd_fdstat_get", 4, 100), WASI_EBADF);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List fd with fd_readdir from cookie into a buffer of buf_len bytes: the complete entries'
 * names, sorted and joined by spaces, go to names; *used gets the bytes filled. */
static int list_dir(uint32_t fd, uint64_t cookie, uint32_t buf_len, char *names, size_t cap,
                    uint32_t *used)
{
    char *v[64];
    uint32_t n = 0, off = 0;
    int e = CALL("fd_readdir", fd, 8192, buf_len, cookie, 400);

    names[0] = '\0';
    if (e != WASI_ESUCCESS)
        return e;
    *used = rd32(400);
    ck_assert_uint_le(*used, buf_len);
    while (off + 24 <= *used) {
        uint32_t namelen = rd32(8192 + off + 16);

        if (off + 24 + namelen > *used)
            break;
        ck_assert_uint_lt(n, 64);
        v[n] = strndup((char *)M + 8192 + off + 24, namelen);
        ck_assert_ptr_nonnull(v[n]);
        n++;
        off += 24 + namelen;
    }
    qsort(v, n, sizeof(v[0]), cmp_str);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            strncat(names, " ", cap - strlen(names) - 1);
        strncat(names, v[i], cap - strlen(names) - 1);
        free(v[i]);
    }
    return WASI_ESUCCESS;
}

START_TEST(test_dir_readdir)
{
    char names[512];
    uint32_t used, sub, fd;

    ck_assert_int_eq(list_dir(3, 0, 4096, names, sizeof(names), &used), WASI_ESUCCESS);
    ck_assert_str_eq(names, ". .. a.txt abs escape etc fifo inlink sneaky sub");
    ck_assert_uint_lt(used, 4096);
    /* The first entry's cookie lists all but it. */
    ck_assert_uint_eq(rd64(8192), 1);
    ck_assert_int_eq(list_dir(3, 1, 4096, names, sizeof(names), &used), WASI_ESUCCESS);
    ck_assert_uint_eq(strlen(names) > 0, 1);
    ck_assert_int_eq(list_dir(3, 10, 4096, names, sizeof(names), &used), WASI_ESUCCESS);
    ck_assert_uint_eq(used, 0);
    /* A short buffer comes back full, the entry that did not fit cut. */
    ck_assert_int_eq(list_dir(3, 0, 30, names, sizeof(names), &used), WASI_ESUCCESS);
    ck_assert_uint_eq(used, 30);
    ck_assert_int_eq(open_at(3, "sub", 0, WASI_O_DIRECTORY, WASI_RIGHT_FD_READDIR, 0, &sub),
                     WASI_ESUCCESS);
    ck_assert_int_eq(list_dir(sub, 0, 4096, names, sizeof(names), &used), WASI_ESUCCESS);
    ck_assert_str_eq(names, ". .. b.txt up");
    ck_assert_int_eq(open_ro("a.txt", &fd), WASI_ESUCCESS);
    ck_assert_int_eq(list_dir(fd, 0, 4096, names, sizeof(names), &used), WASI_ENOTDIR);
    ck_assert_int_eq(list_dir(1, 0, 4096, names, sizeof(names), &used), WASI_ENOTDIR);
    ck_assert_int_eq(list_dir(50, 0, 4096, names, sizeof(names), &used), WASI_EBADF);
}
END_TEST

static int open_host_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

START_TEST(test_dir_fd_limit_and_reset)
{
    int before = open_host_fds();
    uint32_t fd, opened = 0;

    while (open_ro("a.txt", &fd) == WASI_ESUCCESS)
        opened++;
    ck_assert_uint_eq(opened, WASI_MAX_FDS - 4);
    ck_assert_int_eq(open_ro("a.txt", &fd), WASI_EMFILE);
    ck_assert_int_eq(open_host_fds(), before + (int)opened);
    /* A new run starts with fds 0-3 only, and the host descriptors are gone. */
    ck_assert_int_eq(CALL("fd_close", 3), WASI_ESUCCESS);
    wasmslot_wasi_reset(w);
    ck_assert_int_eq(open_host_fds(), before);
    ck_assert_int_eq(CALL("fd_fdstat_get", 5, 100), WASI_EBADF);
    ck_assert_int_eq(open_ro("a.txt", &fd), WASI_ESUCCESS);
    ck_assert_uint_eq(fd, 4);
    ck_assert_int_eq(CALL("fd_prestat_get", 3, 100), WASI_ESUCCESS);
}
END_TEST

/* Every pointer of the directory calls, as test_every_pointer_is_checked does for the
 * others; a refused path_open must not leave a descriptor behind. */
static const struct ptrcase dir_ptrcases[] = {
    {"path_open", {3, 0, PATH_AT, 5, 0, WASI_RIGHT_FD_READ, 0, 0, FDOUT_AT}, 9, 2, 5},
    {"path_open", {3, 0, PATH_AT, 5, 0, WASI_RIGHT_FD_READ, 0, 0, FDOUT_AT}, 9, 8, 4},
    {"path_filestat_get", {3, 0, PATH_AT, 5, 200}, 5, 2, 5},
    {"path_filestat_get", {3, 0, PATH_AT, 5, 200}, 5, 4, 64},
    {"fd_readdir", {3, 8192, 256, 0, 400}, 5, 1, 256},
    {"fd_readdir", {3, 8192, 256, 0, 400}, 5, 4, 4},
    {"fd_prestat_get", {3, 100}, 2, 1, 8},
    {"fd_prestat_dir_name", {3, 100, 1}, 3, 1, 1},
    {"path_create_directory", {3, PATH_AT, 5}, 3, 1, 5},
    {"path_unlink_file", {3, PATH_AT, 5}, 3, 1, 5},
    {"path_remove_directory", {3, PATH_AT, 5}, 3, 1, 5},
};

START_TEST(test_dir_every_pointer_is_checked)
{
    const struct ptrcase *pc = &dir_ptrcases[_i];
    uint8_t *before = malloc(msize());
    uint32_t bad[8], nbad = bad_pointers(msize(), pc->len, bad);

    ck_assert_ptr_nonnull(before);
    memcpy(M + PATH_AT, "a.txt", 5);
    ck_assert_int_ne(call_fn(pc->name, pc->args, pc->nargs), WASI_EFAULT);
    wasmslot_wasi_reset(w);
    for (uint32_t k = 0; k < nbad; k++) {
        uint64_t args[9];

        memcpy(args, pc->args, sizeof(args));
        args[pc->ptr] = bad[k];
        memcpy(before, M, msize());
        ck_assert_msg(call_fn(pc->name, args, pc->nargs) == WASI_EFAULT,
                      "%s arg %u = 0x%x (len %llu) is not EFAULT", pc->name, pc->ptr, bad[k],
                      (unsigned long long)pc->len);
        ck_assert_msg(memcmp(before, M, msize()) == 0, "%s wrote memory before EFAULT", pc->name);
        ck_assert_int_eq(CALL("fd_fdstat_get", 4, 100), WASI_EBADF);
    }
    /* A length that wraps the path around 2^32. */
    ck_assert_int_eq(
        CALL("path_open", 3, 0, PATH_AT, UINT32_MAX - PATH_AT + 2, 0, 0, 0, 0, FDOUT_AT),
        WASI_EFAULT);
    free(before);
}
END_TEST

static Suite *wasi_suite(void)
{
    Suite *s = suite_create("wasi");
    TCase *tc = tcase_create("host");
    TCase *td;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lookup_and_signatures);
    tcase_add_test(tc, test_nosys_stub);
    tcase_add_test(tc, test_args);
    tcase_add_test(tc, test_environ);
    tcase_add_test(tc, test_empty_args_and_env);
    tcase_add_test(tc, test_set_args_errors);
    tcase_add_loop_test(tc, test_every_pointer_is_checked, 0,
                        (int)(sizeof(ptrcases) / sizeof(ptrcases[0])));
    tcase_add_test(tc, test_lengths_are_checked);
    tcase_add_test(tc, test_iovec_buffers_are_checked);
    tcase_add_test(tc, test_checks_follow_memory_growth);
    tcase_add_test(tc, test_no_memory_is_efault);
    tcase_add_test(tc, test_fd_write_gathers);
    tcase_add_test(tc, test_fd_write_cap);
    tcase_add_test(tc, test_fd_write_large_output);
    tcase_add_test(tc, test_fd_read_scatters_then_eof);
    tcase_add_test(tc, test_fd_read_binary_and_empty_stdin);
    tcase_add_test(tc, test_fd_close);
    tcase_add_test(tc, test_fd_fdstat);
    tcase_add_test(tc, test_fd_seek_tell_filestat);
    tcase_add_test(tc, test_no_preopened_directories);
    tcase_add_test(tc, test_clocks);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_random_large_respects_interrupt);
    tcase_add_test(tc, test_sched_yield);
    tcase_add_test(tc, test_poll_relative_clock_sleeps);
    tcase_add_test(tc, test_poll_earliest_of_two_clocks);
    tcase_add_test(tc, test_poll_fd_ready_at_once);
    tcase_add_test(tc, test_poll_errors);
    tcase_add_test(tc, test_poll_respects_the_run_deadline);
    tcase_add_test(tc, test_poll_interrupted);
    tcase_add_test(tc, test_proc_exit);
    tcase_add_test(tc, test_state_from_env_or_exec);
    suite_add_tcase(s, tc);

    td = tcase_create("dir");
    tcase_add_checked_fixture(td, dir_setup, dir_teardown);
    tcase_add_test(td, test_dir_preopen);
    tcase_add_test(td, test_dir_guest_name_and_missing_dir);
    tcase_add_test(td, test_dir_open_and_read);
    tcase_add_test(td, test_dir_paths_cannot_leave);
    tcase_add_test(td, test_dir_nested_descriptor);
    tcase_add_test(td, test_dir_is_read_only);
    tcase_add_test(td, test_dir_special_files_refused);
    tcase_add_test(td, test_dir_readdir);
    tcase_add_test(td, test_dir_fd_limit_and_reset);
    tcase_add_loop_test(td, test_dir_every_pointer_is_checked, 0,
                        (int)(sizeof(dir_ptrcases) / sizeof(dir_ptrcases[0])));
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wasi_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
