/* check_cache.c: the native tier's on-disk code cache through the public API: an entry is
 * stored, then loaded (in this process and in another, with another address layout) and runs
 * exactly like freshly compiled code; an entry that is corrupt, truncated, for another key,
 * writable by others, owned by another user or a symbolic link is never executed; a cache that
 * cannot be used costs only the compile. Skipped in a build without the native tier. */
#include "config.h"

#include "runtime/sha256.h"
#include "wasmslot.h"

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef WAT_DIR
#error "WAT_DIR must name the directory of the built .wasm fixtures"
#endif

/* The entry header's size (lib/native/cache.c): the payload starts there; the payload's length
 * is at byte 48, its SHA-256 at byte 56. */
#define HDR_SIZE 96

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return bytes;
}

static void write_file(const char *path, const uint8_t *bytes, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

/* Compile WAT_DIR/name.wasm for the native tier with the cache in dir. */
static struct wasmslot_module *compile(const char *name, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.wasm", WAT_DIR, name);
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    struct wasmslot_compile_options opts = {.engine = WASMSLOT_ENGINE_NATIVE, .cache_dir = dir};
    struct wasmslot_error err = {0, ""};
    struct wasmslot_module *m = wasmslot_module_compile(bytes, len, &opts, &err);
    free(bytes);
    ck_assert_msg(m != NULL, "%s: %s", path, err.message);
    return m;
}

/* Compile cache_code and check that it ended in cache state `want`, on the native tier. */
static struct wasmslot_module *compile_code(const char *dir, enum wasmslot_cache_state want)
{
    struct wasmslot_module *m = compile("cache_code", dir);
    ck_assert_int_eq(wasmslot_module_engine(m), WASMSLOT_ENGINE_NATIVE);
    const char *note = wasmslot_module_cache_note(m);
    ck_assert_msg(wasmslot_module_cache_state(m) == want, "cache state %s, not %s (%s)",
                  wasmslot_cache_state_name(wasmslot_module_cache_state(m)),
                  wasmslot_cache_state_name(want), note ? note : "no note");
    if (want == WASMSLOT_CACHE_HIT || want == WASMSLOT_CACHE_STORED)
        ck_assert_ptr_null(note);
    else
        ck_assert_ptr_nonnull(note);
    return m;
}

static void note_has(const struct wasmslot_module *m, const char *what)
{
    const char *note = wasmslot_module_cache_note(m);
    ck_assert_msg(note != NULL && strstr(note, what) != NULL, "note \"%s\" lacks \"%s\"",
                  note ? note : "(none)", what);
}

static int host_add(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                    struct wasmslot_value *results)
{
    (void)ctx;
    (void)env;
    results[0].type = WASMSLOT_I32;
    results[0].of.i32 = args[0].of.i32 + args[1].of.i32;
    return 0;
}

struct run {
    struct wasmslot_instance *inst;
    struct wasmslot_exec *ex;
    struct wasmslot_func *host;
};

/* Call export name with up to three i32 (or i64) arguments; returns the call's code and
 * stores its one result (if any) in *result. */
static int call(struct run *r, const char *name, int nargs, uint64_t a, uint64_t b, uint64_t c,
                uint64_t *result)
{
    struct wasmslot_extern e;
    ck_assert_int_eq(wasmslot_instance_export(r->inst, name, strlen(name), &e), 0);
    const struct wasmslot_functype *ft = wasmslot_func_type(e.of.func);
    struct wasmslot_value args[3], res[1];
    const uint64_t v[3] = {a, b, c};
    for (int i = 0; i < nargs; i++) {
        args[i].type = ft->params[i];
        if (ft->params[i] == WASMSLOT_I64)
            args[i].of.i64 = v[i];
        else
            args[i].of.i32 = (uint32_t)v[i];
    }
    int rc = wasmslot_call(r->ex, e.of.func, args, (uint32_t)nargs, res, ft->nresults);
    if (rc == 0 && ft->nresults == 1)
        *result = ft->results[0] == WASMSLOT_I64 ? res[0].of.i64 : res[0].of.i32;
    return rc;
}

#define CALL_OK(r, name, n, a, b, c, want)                                                         \
    do {                                                                                           \
        uint64_t got_ = 0;                                                                         \
        ck_assert_int_eq(call(r, name, n, a, b, c, &got_), 0);                                     \
        ck_assert_uint_eq(got_, (uint64_t)(want));                                                 \
    } while (0)
#define CALL_TRAP(r, name, n, a, b, c, trap)                                                       \
    do {                                                                                           \
        uint64_t got_ = 0;                                                                         \
        ck_assert_int_eq(call(r, name, n, a, b, c, &got_), -(trap));                               \
    } while (0)

/* Everything cache_code does, results and traps, as the interpreter would do it. */
static void check_behaviour(const struct wasmslot_module *m)
{
    struct wasmslot_error err = {0, ""};
    enum wasmslot_valtype ii[2] = {WASMSLOT_I32, WASMSLOT_I32};
    struct wasmslot_functype ft = {2, 1, ii, ii};
    struct run r;
    r.host = wasmslot_func_new_host(&ft, host_add, NULL, NULL, &err);
    ck_assert_ptr_nonnull(r.host);
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_FUNC, .of.func = r.host};
    struct wasmslot_instance_options io = {.imports = &imp, .nimports = 1};
    r.inst = wasmslot_instance_new(m, &io, &err);
    ck_assert_msg(r.inst != NULL, "%s", err.message);
    r.ex = wasmslot_exec_new(NULL, &err);
    ck_assert_ptr_nonnull(r.ex);

    CALL_OK(&r, "indirect", 2, 0, 21, 0, 42);
    CALL_OK(&r, "indirect", 2, 1, 7, 0, 49);
    CALL_TRAP(&r, "indirect", 2, 2, 7, 0, WASMSLOT_TRAP_INDIRECT_MISMATCH);
    CALL_TRAP(&r, "indirect", 2, 3, 7, 0, WASMSLOT_TRAP_INDIRECT_MISMATCH);
    CALL_TRAP(&r, "indirect", 2, 4, 7, 0, WASMSLOT_TRAP_UNINIT_ELEM);
    CALL_TRAP(&r, "indirect", 2, 5, 7, 0, WASMSLOT_TRAP_UNDEFINED_ELEM);
    CALL_OK(&r, "host", 2, 40, 2, 0, 42);
    CALL_OK(&r, "load", 1, 16, 0, 0, 0x68636163); /* "cach" */
    CALL_TRAP(&r, "load", 1, 65533, 0, 0, WASMSLOT_TRAP_OOB_MEMORY);
    CALL_TRAP(&r, "load", 1, 0xfffffff0u, 0, 0, WASMSLOT_TRAP_OOB_MEMORY);
    CALL_OK(&r, "size", 0, 0, 0, 0, 1);
    CALL_OK(&r, "grow", 1, 1, 0, 0, 1);
    CALL_OK(&r, "grow", 1, 1, 0, 0, 0xffffffffu);
    CALL_OK(&r, "size", 0, 0, 0, 0, 2);
    ck_assert_int_eq(call(&r, "store", 2, 65536 + 100, 0x01020304, 0, NULL), 0);
    CALL_OK(&r, "load", 1, 65536 + 100, 0, 0, 0x01020304);
    ck_assert_int_eq(call(&r, "fill", 3, 65536 + 100, 0xab, 4, NULL), 0);
    CALL_OK(&r, "load", 1, 65536 + 100, 0, 0, 0xabababab);
    CALL_TRAP(&r, "fill", 3, 2 * 65536 - 2, 0, 4, WASMSLOT_TRAP_OOB_MEMORY);
    CALL_TRAP(&r, "load", 1, 2 * 65536 - 2, 0, 0, WASMSLOT_TRAP_OOB_MEMORY);
    CALL_OK(&r, "div", 2, (uint32_t)-42, 7, 0, (uint32_t)-6);
    CALL_TRAP(&r, "div", 2, 1, 0, 0, WASMSLOT_TRAP_DIV_ZERO);
    CALL_TRAP(&r, "div", 2, 0x80000000u, 0xffffffffu, 0, WASMSLOT_TRAP_INT_OVERFLOW);
    CALL_TRAP(&r, "unreachable", 0, 0, 0, 0, WASMSLOT_TRAP_UNREACHABLE);
    CALL_OK(&r, "fib", 1, 90, 0, 0, 2880067194370816120ull);
    CALL_TRAP(&r, "down", 1, 0, 0, 0, WASMSLOT_TRAP_STACK_EXHAUSTED);
    /* After the traps, the instance still runs. */
    CALL_OK(&r, "indirect", 2, 1, 9, 0, 81);

    wasmslot_exec_free(r.ex);
    wasmslot_instance_free(r.inst);
    wasmslot_func_free_host(r.host);
}

/* A new cache directory (0700, ours). */
static void make_dir(char dir[64])
{
    snprintf(dir, 64, "/tmp/wasmslot-cache-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* The path of the one entry in dir. */
static void entry_path(const char *dir, char path[512])
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".wsc") == 0) {
            snprintf(path, 512, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    ck_assert_int_eq(n, 1);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A cache made by a first compile: its directory and entry. */
static void stored(char dir[64], char entry[512])
{
    make_dir(dir);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_STORED);
    check_behaviour(m);
    wasmslot_module_free(m);
    entry_path(dir, entry);
    struct stat st;
    ck_assert_int_eq(stat(entry, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_int_gt(st.st_size, HDR_SIZE);
}

/* The entry was rewritten: the next compile hits, and runs. */
static void hits_again(const char *dir)
{
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_HIT);
    check_behaviour(m);
    wasmslot_module_free(m);
}

START_TEST(test_store_then_hit)
{
    char dir[64], entry[512];
    stored(dir, entry);
    struct wasmslot_module *a = compile_code(dir, WASMSLOT_CACHE_HIT);
    check_behaviour(a);
    /* The same cached code linked twice at once: every module has its own names. */
    struct wasmslot_module *b = compile_code(dir, WASMSLOT_CACHE_HIT);
    check_behaviour(b);
    check_behaviour(a);
    wasmslot_module_free(a);
    check_behaviour(b);
    wasmslot_module_free(b);
    ck_assert_int_eq(count_files(dir), 1);
    /* Without a cache, nothing is said about one. */
    b = compile("cache_code", NULL);
    ck_assert_int_eq(wasmslot_module_cache_state(b), WASMSLOT_CACHE_NONE);
    ck_assert_ptr_null(wasmslot_module_cache_note(b));
    check_behaviour(b);
    wasmslot_module_free(b);
    remove_dir(dir);
}
END_TEST

struct racer {
    pthread_t thread;
    const char *dir;
    uint8_t *bytes;
    size_t len;
    struct wasmslot_module *m;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct wasmslot_compile_options opts = {.engine = WASMSLOT_ENGINE_NATIVE, .cache_dir = r->dir};
    r->m = wasmslot_module_compile(r->bytes, r->len, &opts, NULL);
    return NULL;
}

/* Threads compiling one module into one cache at once: each stores or hits, every one runs. */
START_TEST(test_concurrent_compiles)
{
    char dir[64], path[512];
    make_dir(dir);
    snprintf(path, sizeof path, "%s/cache_code.wasm", WAT_DIR);
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    struct racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct racer){.dir = dir, .bytes = bytes, .len = len};
        ck_assert_int_eq(pthread_create(&r[i].thread, NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(r[i].thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(r[i].m);
        enum wasmslot_cache_state st = wasmslot_module_cache_state(r[i].m);
        ck_assert(st == WASMSLOT_CACHE_STORED || st == WASMSLOT_CACHE_HIT);
        check_behaviour(r[i].m);
    }
    for (int i = 0; i < 4; i++)
        wasmslot_module_free(r[i].m);
    free(bytes);
    ck_assert_int_eq(count_files(dir), 1);
    hits_again(dir);
    remove_dir(dir);
}
END_TEST

static char *self_exe;

/* The object holds no address of the process that made it: an entry stored by another process,
 * started afresh (its own address layout under ASLR), runs here. */
START_TEST(test_entry_from_another_process)
{
    char dir[64];
    make_dir(dir);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        execl(self_exe, self_exe, "--store", dir, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = "";
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the storing process failed");
    ck_assert_int_gt(n, 0);
    line[n] = '\0';
    /* Where that process had the library's code, to see that the layouts differ. */
    void *theirs = NULL;
    ck_assert_int_eq(sscanf(line, "%p", &theirs), 1);
    FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
    int aslr = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &aslr) != 1)
            aslr = 0;
        fclose(f);
    }
    if (aslr != 0)
        ck_assert_ptr_ne(theirs, (void *)(uintptr_t)&wasmslot_module_compile);

    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_HIT);
    check_behaviour(m);
    wasmslot_module_free(m);
    remove_dir(dir);
}
END_TEST

START_TEST(test_corrupt_payload_is_rejected)
{
    char dir[64], entry[512];
    stored(dir, entry);
    size_t len;
    uint8_t *bytes = read_file(entry, &len);
    bytes[HDR_SIZE + (len - HDR_SIZE) / 2] ^= 0x01;
    write_file(entry, bytes, len, 0600);
    free(bytes);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "checksum");
    check_behaviour(m);
    wasmslot_module_free(m);
    hits_again(dir);
    remove_dir(dir);
}
END_TEST

START_TEST(test_corrupt_header_is_rejected)
{
    char dir[64], entry[512];
    stored(dir, entry);
    size_t len;
    uint8_t *bytes = read_file(entry, &len);
    bytes[0] ^= 0x20; /* the magic */
    write_file(entry, bytes, len, 0600);
    free(bytes);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "not a wasmslot code cache entry");
    check_behaviour(m);
    wasmslot_module_free(m);
    hits_again(dir);
    remove_dir(dir);
}
END_TEST

START_TEST(test_truncated_entry_is_rejected)
{
    char dir[64], entry[512];
    stored(dir, entry);
    size_t len;
    uint8_t *bytes = read_file(entry, &len);
    /* Cut in the payload, then in the header, then empty. */
    const size_t cuts[] = {len - 1, HDR_SIZE + (len - HDR_SIZE) / 3, HDR_SIZE, HDR_SIZE / 2, 0};
    const char *notes[] = {"length", "length", "length", "truncated header", "truncated header"};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(entry, bytes, cuts[i], 0600);
        struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
        note_has(m, notes[i]);
        check_behaviour(m);
        wasmslot_module_free(m);
        hits_again(dir);
    }
    free(bytes);
    remove_dir(dir);
}
END_TEST

START_TEST(test_entry_of_another_key_is_rejected)
{
    char dir[64], entry[512], other_dir[64], other_entry[512];
    stored(dir, entry);
    make_dir(other_dir);
    struct wasmslot_module *o = compile("cache_other", other_dir);
    ck_assert_int_eq(wasmslot_module_cache_state(o), WASMSLOT_CACHE_STORED);
    wasmslot_module_free(o);
    entry_path(other_dir, other_entry);
    ck_assert_str_ne(strrchr(entry, '/'), strrchr(other_entry, '/'));
    size_t len;
    uint8_t *bytes = read_file(other_entry, &len);
    write_file(entry, bytes, len, 0600);
    free(bytes);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "another key");
    check_behaviour(m);
    wasmslot_module_free(m);
    hits_again(dir);
    remove_dir(dir);
    remove_dir(other_dir);
}
END_TEST

/* An entry that passes every check (a forged one: another module's object under this key,
 * with a header that matches) but does not link: rejected, and the failed link leaves nothing
 * behind that would stop the fresh code from linking. */
START_TEST(test_entry_that_does_not_link_is_rejected)
{
    char dir[64], entry[512], other_dir[64], other_entry[512];
    stored(dir, entry);
    make_dir(other_dir);
    struct wasmslot_module *o = compile("cache_other", other_dir);
    ck_assert_int_eq(wasmslot_module_cache_state(o), WASMSLOT_CACHE_STORED);
    wasmslot_module_free(o);
    entry_path(other_dir, other_entry);
    size_t len, olen;
    uint8_t *bytes = read_file(entry, &len), *obytes = read_file(other_entry, &olen);
    /* This entry's header, the other's payload, then the length and hash that fit. */
    uint8_t *forged = malloc(olen);
    ck_assert_ptr_nonnull(forged);
    memcpy(forged, bytes, HDR_SIZE);
    memcpy(forged + HDR_SIZE, obytes + HDR_SIZE, olen - HDR_SIZE);
    for (int i = 0; i < 8; i++)
        forged[48 + i] = (uint8_t)((uint64_t)(olen - HDR_SIZE) >> (8 * i));
    sha256(forged + HDR_SIZE, olen - HDR_SIZE, forged + 56);
    write_file(entry, forged, olen, 0600);
    free(forged);
    free(obytes);
    free(bytes);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "does not link");
    check_behaviour(m);
    wasmslot_module_free(m);
    hits_again(dir);
    remove_dir(dir);
    remove_dir(other_dir);
}
END_TEST

START_TEST(test_entry_writable_by_others_is_not_run)
{
    char dir[64], entry[512];
    stored(dir, entry);
    const mode_t modes[] = {0666, 0620, 0602};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        ck_assert_int_eq(chmod(entry, modes[i]), 0);
        struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
        note_has(m, "writable by group or others");
        check_behaviour(m);
        wasmslot_module_free(m);
        struct stat st;
        ck_assert_int_eq(stat(entry, &st), 0);
        ck_assert_uint_eq(st.st_mode & 0777, 0600);
        hits_again(dir);
    }
    remove_dir(dir);
}
END_TEST

START_TEST(test_entry_of_another_user_is_not_run)
{
    if (geteuid() != 0)
        return; /* only root can give a file away */
    char dir[64], entry[512];
    stored(dir, entry);
    ck_assert_int_eq(chown(entry, 65534, 65534), 0);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "owned by uid 65534");
    check_behaviour(m);
    wasmslot_module_free(m);
    hits_again(dir);
    remove_dir(dir);
}
END_TEST

START_TEST(test_symlink_entry_is_not_followed)
{
    char dir[64], entry[512], target[600];
    stored(dir, entry);
    /* A good entry, moved aside and linked to: still not followed. */
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    ck_assert_int_eq(rename(entry, target), 0);
    ck_assert_int_eq(symlink(target, entry), 0);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "symbolic link");
    check_behaviour(m);
    wasmslot_module_free(m);
    /* The link was replaced, not written through. */
    struct stat st;
    ck_assert_int_eq(lstat(entry, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(lstat(target, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    hits_again(dir);
    remove_dir(dir);
}
END_TEST

START_TEST(test_entry_that_is_not_a_file_is_rejected)
{
    char dir[64], entry[512];
    stored(dir, entry);
    ck_assert_int_eq(unlink(entry), 0);
    ck_assert_int_eq(mkfifo(entry, 0600), 0);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_REJECTED);
    note_has(m, "not a regular file");
    check_behaviour(m);
    wasmslot_module_free(m);
    hits_again(dir);
    remove_dir(dir);
}
END_TEST

START_TEST(test_untrusted_dir_fails)
{
    char dir[64], entry[512];
    stored(dir, entry);
    ck_assert_int_eq(chmod(dir, 0770), 0);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_FAILED);
    note_has(m, "cache directory");
    note_has(m, "writable by group or others");
    check_behaviour(m);
    wasmslot_module_free(m);
    ck_assert_int_eq(count_files(dir), 1);
    if (geteuid() == 0) {
        ck_assert_int_eq(chmod(dir, 0700), 0);
        ck_assert_int_eq(chown(dir, 65534, 65534), 0);
        m = compile_code(dir, WASMSLOT_CACHE_FAILED);
        note_has(m, "owned by uid 65534");
        check_behaviour(m);
        wasmslot_module_free(m);
    }
    remove_dir(dir);
}
END_TEST

START_TEST(test_missing_dir_fails)
{
    struct wasmslot_module *m = compile_code("/nonexistent/wasmslot-cache", WASMSLOT_CACHE_FAILED);
    note_has(m, "No such file or directory");
    check_behaviour(m);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_unwritable_dir_fails)
{
    char dir[64];
    make_dir(dir);
    if (geteuid() == 0) {
        /* Root writes anywhere: become an ordinary user that owns the directory. */
        ck_assert_int_eq(chown(dir, 65534, 65534), 0);
        ck_assert_int_eq(setgid(65534), 0);
        ck_assert_int_eq(setuid(65534), 0);
    }
    ck_assert_int_eq(chmod(dir, 0500), 0);
    struct wasmslot_module *m = compile_code(dir, WASMSLOT_CACHE_FAILED);
    note_has(m, "creating");
    check_behaviour(m);
    wasmslot_module_free(m);
    ck_assert_int_eq(count_files(dir), 0);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A module the native tier leaves to the interpreter has no machine code, so nothing cached
 * and no cache state. (cache_atomic fell back when this was written; once the tier translates
 * atomics, it is cached like any other module.) */
START_TEST(test_interpreted_module_has_no_cache_state)
{
    char dir[64];
    make_dir(dir);
    struct wasmslot_module *m = compile("cache_atomic", dir);
    bool native = wasmslot_module_engine(m) == WASMSLOT_ENGINE_NATIVE;
    ck_assert_int_eq(wasmslot_module_cache_state(m),
                     native ? WASMSLOT_CACHE_STORED : WASMSLOT_CACHE_NONE);
    ck_assert_ptr_null(wasmslot_module_cache_note(m));
    wasmslot_module_free(m);
    ck_assert_int_eq(count_files(dir), native ? 1 : 0);
    /* With a cache that would fail. */
    m = compile("cache_atomic", "/nonexistent/wasmslot-cache");
    ck_assert_int_eq(wasmslot_module_cache_state(m),
                     native ? WASMSLOT_CACHE_FAILED : WASMSLOT_CACHE_NONE);
    ck_assert(native == (wasmslot_module_cache_note(m) != NULL));
    wasmslot_module_free(m);
    remove_dir(dir);
}
END_TEST

/* --store DIR: compile cache_code into DIR, print where this process has the library's code.
 * (No ck_assert here: this process runs no test.) */
static int store_and_exit(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cache_code.wasm", WAT_DIR);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 1;
    static uint8_t bytes[1 << 16];
    size_t len = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    struct wasmslot_compile_options opts = {.engine = WASMSLOT_ENGINE_NATIVE, .cache_dir = dir};
    struct wasmslot_module *m = wasmslot_module_compile(bytes, len, &opts, NULL);
    int ok = m != NULL && wasmslot_module_cache_state(m) == WASMSLOT_CACHE_STORED;
    wasmslot_module_free(m);
    printf("%p\n", (void *)(uintptr_t)&wasmslot_module_compile);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--store") == 0)
        return store_and_exit(argv[2]);
    if (!wasmslot_engine_available(WASMSLOT_ENGINE_NATIVE)) {
        printf("check_cache: this build has no native tier; skipping\n");
        return 77;
    }
    self_exe = realpath("/proc/self/exe", NULL);
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("entries");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_store_then_hit);
    tcase_add_test(tc, test_concurrent_compiles);
    tcase_add_test(tc, test_entry_from_another_process);
    tcase_add_test(tc, test_corrupt_payload_is_rejected);
    tcase_add_test(tc, test_corrupt_header_is_rejected);
    tcase_add_test(tc, test_truncated_entry_is_rejected);
    tcase_add_test(tc, test_entry_of_another_key_is_rejected);
    tcase_add_test(tc, test_entry_that_does_not_link_is_rejected);
    tcase_add_test(tc, test_entry_writable_by_others_is_not_run);
    tcase_add_test(tc, test_entry_of_another_user_is_not_run);
    tcase_add_test(tc, test_symlink_entry_is_not_followed);
    tcase_add_test(tc, test_entry_that_is_not_a_file_is_rejected);
    tcase_add_test(tc, test_untrusted_dir_fails);
    tcase_add_test(tc, test_missing_dir_fails);
    tcase_add_test(tc, test_unwritable_dir_fails);
    tcase_add_test(tc, test_interpreted_module_has_no_cache_state);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(self_exe);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
