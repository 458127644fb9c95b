/* check_wasi_run.c: WASI programs run in-process through wasmslot_wasi_imports_new and
 * wasmslot_wasi_run: link rules, guest-visible bounds checks, and C programs compiled to
 * wasm32-wasi whose stdout, stderr and exit code are compared with the expected ones, twice in a
 * row. */
#include "config.h"

#include "wasmslot.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef WASI_DIR
#error "WASI_DIR must name the directory of the built test programs"
#endif

static struct wasmslot_module *load(const char *name)
{
    char path[512];
    struct wasmslot_error err;
    struct wasmslot_module *m;
    FILE *f;
    long len;
    void *buf;

    snprintf(path, sizeof(path), "%s/%s", WASI_DIR, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    ck_assert_int_gt(len, 0);
    rewind(f);
    buf = malloc((size_t)len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    m = wasmslot_module_new(buf, (size_t)len, &err);
    ck_assert_msg(m != NULL, "%s: %s", name, err.message);
    free(buf);
    return m;
}

/* What a run produced. */
struct result {
    int rc;
    int exit_code;
    char *out, *err;
    size_t out_len, err_len;
    char message[192];
};

static void result_clear(struct result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    ck_assert_ptr_nonnull(s);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Run m's _start with w in a fresh instance (inst NULL) or in inst, on a new exec whose
 * deadline is deadline_ms from now (0: none). */
static void run(struct wasmslot_module *m, struct wasmslot_instance *inst, struct wasmslot_wasi *w,
                unsigned deadline_ms, struct result *r)
{
    struct wasmslot_error err = {0};
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, &err);
    const uint8_t *p;

    ck_assert_msg(ex != NULL, "wasmslot_exec_new: %s", err.message);
    if (deadline_ms) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        wasmslot_exec_set_deadline(ex, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                                           (uint64_t)deadline_ms * 1000000u);
    }
    memset(r, 0, sizeof(*r));
    r->exit_code = -12345;
    r->rc = wasmslot_wasi_run(w, ex, m, inst, &r->exit_code, &err);
    if (r->rc != 0)
        snprintf(r->message, sizeof(r->message), "%s", err.message);
    p = wasmslot_wasi_stdout(w, &r->out_len);
    r->out = dup_bytes(p, r->out_len);
    p = wasmslot_wasi_stderr(w, &r->err_len);
    r->err = dup_bytes(p, r->err_len);
    /* The run leaves the exec as it found it. */
    ck_assert_ptr_null(wasmslot_exec_user(ex));
    wasmslot_exec_free(ex);
}

/* A program's run: arguments, environment, stdin, and what it must produce. */
struct expect {
    const char *file;
    uint32_t argc;
    const char *const *argv;
    uint32_t envc;
    const char *const *env;
    const char *in;
    const char *dir; /* granted directory, or NULL */
    int rc;          /* 0 or the trap */
    int exit_code;   /* when rc == 0 */
    const char *out, *err;
};

static void check_result(const struct expect *e, const struct result *r, int round)
{
    ck_assert_msg(r->rc == e->rc, "%s round %d: rc %d (%s), want %d", e->file, round, r->rc,
                  r->message, e->rc);
    if (e->rc == 0)
        ck_assert_msg(r->exit_code == e->exit_code, "%s: exit %d, want %d", e->file, r->exit_code,
                      e->exit_code);
    ck_assert_msg(r->out_len == strlen(e->out) && strcmp(r->out, e->out) == 0,
                  "%s round %d: stdout \"%s\", want \"%s\"", e->file, round, r->out, e->out);
    ck_assert_msg(r->err_len == strlen(e->err) && strcmp(r->err, e->err) == 0,
                  "%s round %d: stderr \"%s\", want \"%s\"", e->file, round, r->err, e->err);
}

/* Run the program twice with one state, each time in a fresh instance, once more in an
 * instance made the way the daemon makes it (shared unbound imports), and twice in the same
 * pool slot; every run must give exactly the expected output: nothing leaks from one run
 * into the next. */
static void check_program(const struct expect *e)
{
    struct wasmslot_module *m = load(e->file);
    struct wasmslot_wasi_options wopt = {.dir = e->dir};
    struct wasmslot_wasi *w = wasmslot_wasi_new(&wopt, NULL);
    struct wasmslot_wasi_imports *wi;
    struct wasmslot_instance_options opt = {0};
    struct wasmslot_instance *inst;
    struct wasmslot_pool_options popt = {.slots = 1};
    struct wasmslot_image *img;
    struct wasmslot_pool *pool;
    struct wasmslot_error err;
    struct result r;

    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, e->argc, e->argv), 0);
    ck_assert_int_eq(wasmslot_wasi_set_env(w, e->envc, e->env), 0);
    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, e->in, strlen(e->in)), 0);
    for (int round = 0; round < 2; round++) {
        run(m, NULL, w, 20000, &r);
        check_result(e, &r, round);
        result_clear(&r);
    }
    wi = wasmslot_wasi_imports_new(m, NULL, NULL, &err);
    ck_assert_msg(wi != NULL, "%s", err.message);
    opt.imports = wasmslot_wasi_imports_externs(wi, &opt.nimports);
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_msg(inst != NULL, "%s: %s", e->file, err.message);
    run(m, inst, w, 20000, &r);
    check_result(e, &r, 2);
    result_clear(&r);
    wasmslot_instance_free(inst);
    /* Twice more in one pool slot, as the daemon runs them: the second run gets the slot
     * the first one dirtied, reset. */
    img = wasmslot_image_new(m, &err);
    ck_assert_msg(img != NULL, "%s", err.message);
    pool = wasmslot_pool_new(&popt, &err);
    ck_assert_msg(pool != NULL, "%s", err.message);
    for (int round = 3; round < 5; round++) {
        struct wasmslot_slot *s = wasmslot_pool_acquire(pool, img, &err);

        ck_assert_msg(s != NULL, "%s", err.message);
        opt.memory = wasmslot_slot_memory(s);
        opt.data_preloaded = wasmslot_slot_preloaded(s);
        inst = wasmslot_instance_new(m, &opt, &err);
        ck_assert_msg(inst != NULL, "%s: %s", e->file, err.message);
        run(m, inst, w, 20000, &r);
        check_result(e, &r, round);
        result_clear(&r);
        wasmslot_instance_free(inst);
        ck_assert_int_eq(wasmslot_pool_release(pool, s), 0);
    }
    wasmslot_pool_free(pool);
    wasmslot_image_free(img);
    wasmslot_wasi_imports_free(wi);
    wasmslot_wasi_free(w);
    wasmslot_module_free(m);
}

/* ------------------------------------------------------------------ linking */

START_TEST(test_imports_link)
{
    struct wasmslot_module *m = load("imports_ok.wasm");
    struct wasmslot_value v = {.type = WASMSLOT_I32, .of.i32 = 42};
    struct wasmslot_global *g = wasmslot_global_new(&v, false, NULL);
    struct wasmslot_extern others[4] = {0};
    struct wasmslot_error err;
    struct wasmslot_wasi_imports *wi;
    const struct wasmslot_extern *ext;
    uint32_t n;

    ck_assert_ptr_nonnull(g);
    /* Without values for the "env" import, linking names what is missing. */
    ck_assert_ptr_null(wasmslot_wasi_imports_new(m, NULL, NULL, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_EUNLINKABLE);
    ck_assert_ptr_nonnull(strstr(err.message, "env::answer"));

    others[1].kind = WASMSLOT_EXTERN_GLOBAL;
    others[1].of.global = g;
    wi = wasmslot_wasi_imports_new(m, NULL, others, &err);
    ck_assert_msg(wi != NULL, "%s", err.message);
    ext = wasmslot_wasi_imports_externs(wi, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(ext[0].kind, WASMSLOT_EXTERN_FUNC);
    ck_assert_uint_eq(wasmslot_func_type(ext[0].of.func)->nparams, 4);
    ck_assert_int_eq(ext[1].kind, WASMSLOT_EXTERN_GLOBAL);
    ck_assert_ptr_eq(ext[1].of.global, g);
    ck_assert_int_eq(ext[2].kind, WASMSLOT_EXTERN_FUNC); /* sock_accept: a NOSYS stub */
    ck_assert_uint_eq(wasmslot_func_type(ext[2].of.func)->nparams, 3);
    ck_assert_uint_eq(wasmslot_func_type(ext[3].of.func)->nresults, 0);
    wasmslot_wasi_imports_free(wi);
    wasmslot_global_unref(g);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_imports_refused)
{
    const char *files[] = {"imports_badsig.wasm", "imports_badkind.wasm", "imports_badstub.wasm"};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct wasmslot_module *m = load(files[i]);
        struct wasmslot_error err;

        ck_assert_ptr_null(wasmslot_wasi_imports_new(m, NULL, NULL, &err));
        ck_assert_int_eq(err.code, -WASMSLOT_EUNLINKABLE);
        ck_assert_msg(strstr(err.message, "wasi_snapshot_preview1::") != NULL, "%s", err.message);
        wasmslot_module_free(m);
    }
}
END_TEST

START_TEST(test_run_errors_before_start)
{
    struct wasmslot_module *bad = load("imports_badstub.wasm");
    struct wasmslot_module *nostart = load("no_start.wasm");
    struct wasmslot_wasi *w = wasmslot_wasi_new(NULL, NULL);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_error err;
    int code = -1;

    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(ex);
    /* A program that does not link is a link error, not a trap, and has no exit code. */
    ck_assert_int_eq(wasmslot_wasi_run(w, ex, bad, NULL, &code, &err), -WASMSLOT_EUNLINKABLE);
    ck_assert_int_eq(code, -1);
    ck_assert_int_eq(wasmslot_wasi_run(w, ex, nostart, NULL, &code, &err), -WASMSLOT_ENOTFOUND);
    ck_assert_int_eq(err.code, -WASMSLOT_ENOTFOUND);
    ck_assert_int_eq(code, -1);
    ck_assert_int_eq(wasmslot_wasi_run(w, ex, NULL, NULL, &code, NULL), -EINVAL);
    wasmslot_exec_free(ex);
    wasmslot_wasi_free(w);
    wasmslot_module_free(nostart);
    wasmslot_module_free(bad);
}
END_TEST

/* ------------------------------------------------------------------ guests in wat */

static const char *const guest_argv[] = {"guest", "arg"};

START_TEST(test_guest_sees_efault)
{
    const struct expect e = {
        .file = "guest_bounds.wasm",
        .argc = 2,
        .argv = guest_argv,
        .in = "",
        .out = "bounds ok\n",
        .err = "",
    };

    check_program(&e);
}
END_TEST

START_TEST(test_sleep_ends_at_deadline)
{
    struct wasmslot_module *m = load("guest_sleep.wasm");
    struct wasmslot_wasi *w = wasmslot_wasi_new(NULL, NULL);
    struct timespec t0, t1;
    struct result r;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    run(m, NULL, w, 100, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_int_eq(r.rc, -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_str_eq(r.out, "sleeping\n");
    ck_assert_msg(dt >= 0.09 && dt < 5, "slept %.3f s", dt);
    result_clear(&r);
    wasmslot_wasi_free(w);
    wasmslot_module_free(m);
}
END_TEST

#ifdef HAVE_WASI_PROGRAMS
/* ------------------------------------------------------------------ C programs */

START_TEST(test_filter)
{
    static const char *const argv[] = {"filter"};
    const struct expect e = {
        .file = "filter.wasm",
        .argc = 1,
        .argv = argv,
        .in = "hello, world\nsecond line\n",
        .out = "HELLO, WORLD\nSECOND LINE\n",
        .err = "25 bytes, 2 lines\n",
    };

    check_program(&e);
}
END_TEST

START_TEST(test_filter_empty_stdin)
{
    const struct expect e = {
        .file = "filter.wasm",
        .in = "",
        .out = "",
        .err = "0 bytes, 0 lines\n",
    };

    check_program(&e);
}
END_TEST

START_TEST(test_filter_output_cap)
{
    struct wasmslot_wasi_options opt = {.stdout_max = 5};
    struct wasmslot_module *m = load("filter.wasm");
    struct wasmslot_wasi *w = wasmslot_wasi_new(&opt, NULL);
    struct result r;

    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, "abcdefghij\n", 11), 0);
    run(m, NULL, w, 20000, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(r.out, "ABCDE");
    ck_assert(wasmslot_wasi_stdout_truncated(w));
    ck_assert_str_eq(r.err, "11 bytes, 1 lines\n");
    result_clear(&r);
    wasmslot_wasi_free(w);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_args_and_env)
{
    static const char *const argv[] = {"argsenv", "one", "two words", ""};
    static const char *const env[] = {"GREETING=hi there", "EMPTY="};
    const struct expect e = {
        .file = "argsenv.wasm",
        .argc = 4,
        .argv = argv,
        .envc = 2,
        .env = env,
        .in = "",
        .out = "argc=4\nargv[0]=argsenv\nargv[1]=one\nargv[2]=two words\nargv[3]=\n"
               "env GREETING=hi there\nenv EMPTY=\nGREETING=hi there\n",
        .err = "",
    };

    check_program(&e);
}
END_TEST

/* One state across runs whose lists and stdin grow, shrink and come back, as the daemon's
 * threads reuse theirs: every run sees exactly its own (the buffers are reused in place). */
START_TEST(test_lists_replaced_between_runs)
{
    static const char *const long_argv[] = {"argsenv", "a rather longer argument", "x"};
    static const char *const short_argv[] = {"a"};
    static const char *const env[] = {"K=v"};
    struct wasmslot_module *m = load("argsenv.wasm");
    struct wasmslot_module *f = load("filter.wasm");
    struct wasmslot_wasi *w = wasmslot_wasi_new(NULL, NULL);
    struct result r;

    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 3, long_argv), 0);
    ck_assert_int_eq(wasmslot_wasi_set_env(w, 1, env), 0);
    run(m, NULL, w, 20000, &r);
    ck_assert_str_eq(r.out, "argc=3\nargv[0]=argsenv\nargv[1]=a rather longer argument\n"
                            "argv[2]=x\nenv K=v\nGREETING=(unset)\n");
    result_clear(&r);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 1, short_argv), 0);
    ck_assert_int_eq(wasmslot_wasi_set_env(w, 0, NULL), 0);
    run(m, NULL, w, 20000, &r);
    ck_assert_str_eq(r.out, "argc=1\nargv[0]=a\nGREETING=(unset)\n");
    result_clear(&r);
    ck_assert_int_eq(wasmslot_wasi_set_args(w, 3, long_argv), 0);
    run(m, NULL, w, 20000, &r);
    ck_assert_str_eq(r.out, "argc=3\nargv[0]=argsenv\nargv[1]=a rather longer argument\n"
                            "argv[2]=x\nGREETING=(unset)\n");
    result_clear(&r);
    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, "abc\n", 4), 0);
    run(f, NULL, w, 20000, &r);
    ck_assert_str_eq(r.err, "4 bytes, 1 lines\n");
    result_clear(&r);
    ck_assert_int_eq(wasmslot_wasi_set_stdin(w, "", 0), 0);
    run(f, NULL, w, 20000, &r);
    ck_assert_str_eq(r.err, "0 bytes, 0 lines\n");
    result_clear(&r);
    wasmslot_wasi_free(w);
    wasmslot_module_free(f);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_malloc_heavy)
{
    const struct expect e = {
        .file = "grow.wasm",
        .in = "",
        .out = "checksum 13988472840971169456\ngrew yes\n",
        .err = "",
    };

    check_program(&e);
}
END_TEST

START_TEST(test_exit3)
{
    const struct expect e = {
        .file = "exit3.wasm",
        .in = "",
        .exit_code = 3,
        .out = "about to exit",
        .err = "exiting with 3\n",
    };

    check_program(&e);
}
END_TEST

START_TEST(test_trap_keeps_output)
{
    const struct expect e = {
        .file = "trap.wasm",
        .in = "",
        .rc = -WASMSLOT_TRAP_UNREACHABLE,
        .out = "line before the trap\n",
        .err = "error line before the trap\n",
    };

    check_program(&e);
}
END_TEST

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_granted_directory)
{
    static const char *const argv[] = {"catfile",        "a.txt",  "sub/b.txt",   "../secret.txt",
                                       "/../secret.txt", "escape", "/etc/passwd", "sub"};
    char tmp[64] = "/tmp/check_wasi_run.XXXXXX", root[128], path[256];
    struct expect e = {
        .file = "catfile.wasm",
        .argc = 8,
        .argv = argv,
        .in = "",
        .dir = root,
        .out = "a.txt: alpha\nsub/b.txt: bravo\n../secret.txt: ENOTCAPABLE\n"
               "/../secret.txt: ENOTCAPABLE\nescape: ENOTCAPABLE\n/etc/passwd: ENOENT\n"
               "sub: read EISDIR\ncreate: EROFS\nls: a.txt escape sub\n",
        .err = "",
    };

    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(root, sizeof(root), "%s/root", tmp);
    ck_assert_int_eq(mkdir(root, 0755), 0);
    snprintf(path, sizeof(path), "%s/sub", root);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/secret.txt", tmp);
    put_file(path, "top secret\n");
    snprintf(path, sizeof(path), "%s/a.txt", root);
    put_file(path, "alpha\n");
    snprintf(path, sizeof(path), "%s/sub/b.txt", root);
    put_file(path, "bravo\n");
    snprintf(path, sizeof(path), "%s/escape", root);
    ck_assert_int_eq(symlink("../secret.txt", path), 0);
    check_program(&e);
    snprintf(path, sizeof(path), "%s/new.txt", root);
    ck_assert_int_ne(access(path, F_OK), 0);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

START_TEST(test_no_state_survives_a_run)
{
    const struct expect e = {
        .file = "counter.wasm",
        .in = "",
        .out = "runs=1 note=pristine bss=0 heap=0\n",
        .err = "",
    };

    check_program(&e);
}
END_TEST

START_TEST(test_clock_and_random)
{
    const struct expect e = {
        .file = "clockrand.wasm",
        .in = "",
        .out = "realtime ok\nclock_getres ok\nslept ok\nrandom ok\n",
        .err = "",
    };

    check_program(&e);
}
END_TEST
#endif

static Suite *wasi_run_suite(void)
{
    Suite *s = suite_create("wasmslot_wasi_run");
    TCase *tc = tcase_create("link");
    TCase *tg = tcase_create("guests");

    tcase_add_test(tc, test_imports_link);
    tcase_add_test(tc, test_imports_refused);
    tcase_add_test(tc, test_run_errors_before_start);
    suite_add_tcase(s, tc);
    tcase_set_timeout(tg, 60);
    tcase_add_test(tg, test_guest_sees_efault);
    tcase_add_test(tg, test_sleep_ends_at_deadline);
#ifdef HAVE_WASI_PROGRAMS
    tcase_add_test(tg, test_filter);
    tcase_add_test(tg, test_filter_empty_stdin);
    tcase_add_test(tg, test_filter_output_cap);
    tcase_add_test(tg, test_args_and_env);
    tcase_add_test(tg, test_lists_replaced_between_runs);
    tcase_add_test(tg, test_malloc_heavy);
    tcase_add_test(tg, test_exit3);
    tcase_add_test(tg, test_trap_keeps_output);
    tcase_add_test(tg, test_clock_and_random);
    tcase_add_test(tg, test_granted_directory);
    tcase_add_test(tg, test_no_state_survives_a_run);
#endif
    suite_add_tcase(s, tg);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wasi_run_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
