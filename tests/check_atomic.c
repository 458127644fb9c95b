/* check_atomic.c: unit tests of the threads proposal's instructions on every tier the build has:
 * every load, store, read-modify-write and compare-exchange against a model, guest atomic
 * counters and a cmpxchg spin-lock on several threads, a guest wait/notify ping-pong between
 * threads and between processes, wait results, notify counts, deadlines and traps, and the
 * validation of 0xFE instructions. */
#include "config.h"

#include "wasmslot.h"
#include "wasm_fixture.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under valgrind (helgrind, drd) everything is much slower: fewer rounds. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef WAT_DIR
#define WAT_DIR "tests/wat"
#endif

#define NTHREADS 4
#define SCALE(n) (RUNNING_ON_VALGRIND ? (n) / 50 : (n))

/* Offsets in the shared memory used by the tests. */
#define OFF_COUNTER  64
#define OFF_LOCK     128
#define OFF_PLAIN    192
#define OFF_PINGPONG 256

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The memory of a loop test's iteration: 0 a plain shared memory (wasmslot_memory_new), 1 a
 * cross-process one (wasmslot_shmem_new). */
static struct wasmslot_memory *new_shared(int kind)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_memory *mem = kind == 0 ? wasmslot_memory_new(1, 64, true, &err)
                                            : wasmslot_shmem_new("check-atomic", 1, 64, &err);
    ck_assert_msg(mem != NULL, "memory: %s", err.message);
    ck_assert(wasmslot_memory_is_shared(mem));
    return mem;
}

static struct wasmslot_instance *instantiate(const struct wasmslot_module *m,
                                             struct wasmslot_memory *mem)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = mem};
    struct wasmslot_instance_options o = {.imports = &imp, .nimports = mem ? 1 : 0};
    struct wasmslot_instance *inst = wasmslot_instance_new(m, &o, &err);

    ck_assert_msg(inst != NULL, "instantiate: %s", err.message);
    return inst;
}

static struct wasmslot_value i32v(uint32_t v)
{
    return (struct wasmslot_value){.type = WASMSLOT_I32, .of.i32 = v};
}

static struct wasmslot_value i64v(uint64_t v)
{
    return (struct wasmslot_value){.type = WASMSLOT_I64, .of.i64 = v};
}

/* Call export name with the given arguments; returns wasmslot_call's code and puts the result (if
 * the function has one) in *out. Safe from any thread (no Check assertion on failure paths that
 * a worker thread could hit is needed: the caller checks the code). */
static int call(struct wasmslot_exec *ex, struct wasmslot_instance *inst, const char *name,
                const struct wasmslot_value *args, uint32_t nargs, struct wasmslot_value *out)
{
    struct wasmslot_extern e;
    struct wasmslot_value res;
    int rc = wasmslot_instance_export(inst, name, strlen(name), &e);

    if (rc != 0 || e.kind != WASMSLOT_EXTERN_FUNC)
        return rc != 0 ? rc : -WASMSLOT_ENOTFOUND;
    uint32_t nres = wasmslot_func_type(e.of.func)->nresults;
    rc = wasmslot_call(ex, e.of.func, args, nargs, &res, nres);
    if (out != NULL && nres == 1)
        *out = res;
    return rc;
}

/* One worker thread: its own exec and instance of the module on the one shared memory. */
struct worker {
    pthread_t th;
    struct wasmslot_exec *ex;
    struct wasmslot_instance *inst;
    const char *fn;
    struct wasmslot_value args[6];
    uint32_t nargs;
    struct wasmslot_value result;
    pthread_barrier_t *start;
    int rc;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    pthread_barrier_wait(w->start);
    w->rc = call(w->ex, w->inst, w->fn, w->args, w->nargs, &w->result);
    return NULL;
}

/* Run n workers at once, each calling fn with the given arguments (p, when not 0, becomes the
 * second argument's value i % 2 for a per-thread parity); returns after all have finished and
 * checks every call succeeded. */
static void run_workers(const struct wasmslot_module *m, struct wasmslot_memory *mem, int n,
                        const char *fn, const struct wasmslot_value *args, uint32_t nargs,
                        bool parity, struct wasmslot_value *results)
{
    struct worker w[NTHREADS];
    pthread_barrier_t start;

    ck_assert_int_le(n, NTHREADS);
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        w[i].ex = wasmslot_exec_new(NULL, NULL);
        ck_assert_ptr_nonnull(w[i].ex);
        w[i].inst = instantiate(m, mem);
        w[i].fn = fn;
        memcpy(w[i].args, args, nargs * sizeof *args);
        if (parity)
            w[i].args[1] = i32v((uint32_t)i % 2);
        w[i].nargs = nargs;
        w[i].start = &start;
        w[i].rc = -1;
        ck_assert_int_eq(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].th, NULL);
        ck_assert_msg(w[i].rc == 0, "worker %d: %s", i, wasmslot_strerror(w[i].rc));
        if (results != NULL)
            results[i] = w[i].result;
        wasmslot_instance_free(w[i].inst);
        wasmslot_exec_free(w[i].ex);
    }
    pthread_barrier_destroy(&start);
}

static uint32_t peek32(struct wasmslot_memory *mem, uint32_t off)
{
    uint32_t v;
    memcpy(&v, wasmslot_memory_base(mem) + off, 4);
    return v;
}

START_TEST(test_rmw_add_counts_exactly)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    const uint32_t k = SCALE(1000000);
    struct wasmslot_value args[2] = {i32v(OFF_COUNTER), i32v(k)};

    run_workers(m, mem, NTHREADS, "inc", args, 2, false, NULL);
    ck_assert_uint_eq(peek32(mem, OFF_COUNTER), NTHREADS * k);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_spinlock_protects_plain_counter)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    const uint32_t k = SCALE(200000);
    struct wasmslot_value args[3] = {i32v(OFF_LOCK), i32v(OFF_PLAIN), i32v(k)};

    run_workers(m, mem, NTHREADS, "locked_inc", args, 3, false, NULL);
    ck_assert_uint_eq(peek32(mem, OFF_PLAIN), NTHREADS * k);
    ck_assert_uint_eq(peek32(mem, OFF_LOCK), 0);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_guest_pingpong)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    const uint32_t rounds = SCALE(5000);
    struct wasmslot_value args[3] = {i32v(OFF_PINGPONG), i32v(0), i32v(rounds)}, res[2];

    run_workers(m, mem, 2, "pingpong", args, 3, true, res);
    ck_assert_uint_eq(res[0].of.i32, rounds);
    ck_assert_uint_eq(res[1].of.i32, rounds);
    ck_assert_uint_eq(peek32(mem, OFF_PINGPONG), 2 * rounds);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

/* The ping-pong between two processes on a wasmslot_shmem_new memory: its waiter queue lives in
 * the memory's shared header, so one process's guest notify wakes the other's guest wait. */
START_TEST(test_guest_pingpong_two_processes)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(1);
    const uint32_t rounds = SCALE(2000);
    struct wasmslot_value args[3] = {i32v(OFF_PINGPONG), i32v(1), i32v(rounds)}, r = {0};
    struct wasmslot_error err;
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = mem};
    struct wasmslot_instance_options o = {.imports = &imp, .nimports = 1};
    int st = 0;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* No Check assertion in the child: its exit status says how it went. */
        struct wasmslot_exec *cex = wasmslot_exec_new(NULL, NULL);
        struct wasmslot_instance *cinst = wasmslot_instance_new(m, &o, &err);
        int rc = cex && cinst ? call(cex, cinst, "pingpong", args, 3, &r) : -1;
        _exit(rc == 0 && r.of.i32 == rounds ? 0 : 1);
    }
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    args[1] = i32v(0);
    ck_assert_int_eq(call(ex, inst, "pingpong", args, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, rounds);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the other process's player failed");
    ck_assert_uint_eq(peek32(mem, OFF_PINGPONG), 2 * rounds);
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_wait_results_and_timeouts)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    struct wasmslot_value r;
    uint64_t t0;

    ck_assert_ptr_nonnull(ex);
    wasmslot_memory_base(mem)[OFF_COUNTER] = 7;
    /* not-equal at once, even with no timeout */
    struct wasmslot_value ne[3] = {i32v(OFF_COUNTER), i32v(8), i64v((uint64_t)-1)};
    ck_assert_int_eq(call(ex, inst, "wait32", ne, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, 1);
    /* equal: sleeps 20 ms, then timed-out */
    struct wasmslot_value eq[3] = {i32v(OFF_COUNTER), i32v(7), i64v(20000000)};
    t0 = now_ns();
    ck_assert_int_eq(call(ex, inst, "wait32", eq, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, 2);
    ck_assert_uint_ge(now_ns() - t0, 20000000u);
    struct wasmslot_value eq64[3] = {i32v(OFF_COUNTER), i64v(7), i64v(1000000)};
    ck_assert_int_eq(call(ex, inst, "wait64", eq64, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, 2);
    /* timeout 0: no sleep */
    struct wasmslot_value z[3] = {i32v(OFF_COUNTER), i32v(7), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait32", z, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, 2);
    /* notify with no waiter wakes nobody */
    struct wasmslot_value n[2] = {i32v(OFF_COUNTER), i32v(5)};
    ck_assert_int_eq(call(ex, inst, "notify", n, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 0);
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

/* A waiter woken by a guest notify returns 0 ("ok") and notify counts it. */
struct waiter_arg {
    const struct wasmslot_module *m;
    struct wasmslot_memory *mem;
    int rc;
    uint32_t result;
};

static void *waiter_main(void *arg)
{
    struct waiter_arg *a = arg;
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_error err;
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = a->mem};
    struct wasmslot_instance_options o = {.imports = &imp, .nimports = 1};
    struct wasmslot_instance *inst = wasmslot_instance_new(a->m, &o, &err);
    struct wasmslot_value args[3] = {i32v(OFF_COUNTER), i32v(0), i64v((uint64_t)-1)}, r = {0};

    a->rc = (ex && inst) ? call(ex, inst, "wait32", args, 3, &r) : -1;
    a->result = r.of.i32;
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    return NULL;
}

START_TEST(test_notify_wakes_guest_waiter)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    struct waiter_arg a = {m, mem, -1, 99};
    struct wasmslot_value r = {0};
    pthread_t th;
    int woken = 0;

    ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &a), 0);
    /* Notify until the waiter was there to be woken (it may not have started waiting yet). */
    for (int i = 0; i < 2000 && woken == 0; i++) {
        struct wasmslot_value n[2] = {i32v(OFF_COUNTER), i32v(1)};
        ck_assert_int_eq(call(ex, inst, "notify", n, 2, &r), 0);
        woken = (int)r.of.i32;
        if (woken == 0)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(woken, 1);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_uint_eq(a.result, 0);
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

struct interrupter {
    struct wasmslot_exec *ex;
    uint64_t after_ns;
};

static void *interrupter_main(void *arg)
{
    struct interrupter *it = arg;
    nanosleep(&(struct timespec){0, (long)it->after_ns}, NULL);
    wasmslot_exec_interrupt(it->ex);
    return NULL;
}

START_TEST(test_wait_forever_ends_with_deadline_or_interrupt)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    struct wasmslot_value args[3] = {i32v(OFF_COUNTER), i32v(0), i64v((uint64_t)-1)}, r;
    uint64_t t0 = now_ns();

    /* No timeout, but the run has a deadline 50 ms from now: the timeout trap. */
    wasmslot_exec_set_deadline(ex, t0 + 50000000u);
    ck_assert_int_eq(call(ex, inst, "wait32", args, 3, &r), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_ge(now_ns() - t0, 50000000u);
    ck_assert_uint_lt(now_ns() - t0, 5000000000u);

    /* No deadline; another thread interrupts the run. */
    wasmslot_exec_set_deadline(ex, 0);
    struct interrupter it = {ex, 30000000u};
    pthread_t th;
    t0 = now_ns();
    ck_assert_int_eq(pthread_create(&th, NULL, interrupter_main, &it), 0);
    ck_assert_int_eq(call(ex, inst, "wait32", args, 3, &r), -WASMSLOT_TRAP_TIMEOUT);
    pthread_join(th, NULL);
    ck_assert_uint_ge(now_ns() - t0, 30000000u);

    /* The exec stays usable. */
    struct wasmslot_value z[3] = {i32v(OFF_COUNTER), i32v(0), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait32", z, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, 2);
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_values_and_traps)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    const uint32_t size = WASMSLOT_PAGE_SIZE;
    struct wasmslot_value r;

    /* Results of the narrow forms are zero-extended; cmpxchg16 compares only 16 bits of the
     * expected value. */
    struct wasmslot_value st[2] = {i32v(16), i32v(0xfffe)};
    ck_assert_int_eq(call(ex, inst, "store16", st, 2, NULL), 0);
    struct wasmslot_value s8[2] = {i32v(16), i32v(0xff)};
    ck_assert_int_eq(call(ex, inst, "sub8", s8, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 0xfe);
    ck_assert_uint_eq(peek32(mem, 16), 0xffff);
    struct wasmslot_value c16[3] = {i32v(16), i32v(0x1234ffff), i32v(0xabcd0042)};
    ck_assert_int_eq(call(ex, inst, "cmpxchg16", c16, 3, &r), 0);
    ck_assert_uint_eq(r.of.i32, 0xffff);
    ck_assert_uint_eq(peek32(mem, 16), 0x0042);
    struct wasmslot_value x[2] = {i32v(24), i64v(0x1122334455667788ull)};
    ck_assert_int_eq(call(ex, inst, "xchg64_32", x, 2, &r), 0);
    ck_assert_uint_eq(r.of.i64, 0);
    ck_assert_int_eq(call(ex, inst, "xchg64_32", x, 2, &r), 0);
    ck_assert_uint_eq(r.of.i64, 0x55667788u);
    ck_assert_int_eq(call(ex, inst, "fence", NULL, 0, NULL), 0);

    /* Unaligned addresses trap, in bounds or with an offset. */
    struct wasmslot_value a1[1] = {i32v(1)};
    ck_assert_int_eq(call(ex, inst, "load", a1, 1, &r), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    struct wasmslot_value a4[1] = {i32v(4)}; /* 4 + offset 8 is not a multiple of 8 */
    ck_assert_int_eq(call(ex, inst, "load64_off", a4, 1, &r), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    struct wasmslot_value ad[2] = {i32v(2), i32v(1)};
    ck_assert_int_eq(call(ex, inst, "add", ad, 2, &r), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    struct wasmslot_value cx[3] = {i32v(6), i32v(0), i32v(1)};
    ck_assert_int_eq(call(ex, inst, "cmpxchg", cx, 3, &r), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    struct wasmslot_value w[3] = {i32v(3), i32v(0), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait32", w, 3, &r), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    struct wasmslot_value nt[2] = {i32v(5), i32v(0)};
    ck_assert_int_eq(call(ex, inst, "notify", nt, 2, &r), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);

    /* Out of bounds is checked first: past the end and misaligned is out of bounds. */
    struct wasmslot_value oob[1] = {i32v(size)};
    ck_assert_int_eq(call(ex, inst, "load", oob, 1, &r), -WASMSLOT_TRAP_OOB_MEMORY);
    struct wasmslot_value oob2[1] = {i32v(size - 2)};
    ck_assert_int_eq(call(ex, inst, "load", oob2, 1, &r), -WASMSLOT_TRAP_OOB_MEMORY);
    struct wasmslot_value last[1] = {i32v(size - 4)};
    ck_assert_int_eq(call(ex, inst, "load", last, 1, &r), 0);
    struct wasmslot_value big[1] = {i32v(0xfffffff8u)};
    ck_assert_int_eq(call(ex, inst, "load64_off", big, 1, &r), -WASMSLOT_TRAP_OOB_MEMORY);
    struct wasmslot_value wo[3] = {i32v(size), i32v(0), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait32", wo, 3, &r), -WASMSLOT_TRAP_OOB_MEMORY);
    /* After a grow, the new page is in bounds for atomics too. */
    uint32_t old = 0;
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), 0);
    ck_assert_int_eq(call(ex, inst, "load", oob, 1, &r), 0);
    ck_assert_uint_eq(r.of.i32, 0);

    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_unshared_memory)
{
    struct wasmslot_module *m = fixture_module("atomic_unshared");
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, NULL);
    struct wasmslot_value r;

    ck_assert(!wasmslot_memory_is_shared(wasmslot_instance_memory(inst)));
    /* Even a wait that would not block (the value differs) traps. */
    struct wasmslot_value w[3] = {i32v(0), i32v(1), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait32", w, 3, &r), -WASMSLOT_TRAP_EXPECTED_SHARED);
    struct wasmslot_value w64[3] = {i32v(0), i64v(0), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait64", w64, 3, &r), -WASMSLOT_TRAP_EXPECTED_SHARED);
    /* Out of bounds and misalignment come first. */
    struct wasmslot_value wo[3] = {i32v(WASMSLOT_PAGE_SIZE), i32v(0), i64v(0)};
    ck_assert_int_eq(call(ex, inst, "wait32", wo, 3, &r), -WASMSLOT_TRAP_OOB_MEMORY);
    struct wasmslot_value n[2] = {i32v(0), i32v(10)};
    ck_assert_int_eq(call(ex, inst, "notify", n, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 0);
    struct wasmslot_value a[2] = {i32v(8), i32v(3)};
    ck_assert_int_eq(call(ex, inst, "add", a, 2, &r), 0);
    ck_assert_int_eq(call(ex, inst, "add", a, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 3);
    ck_assert_str_eq(wasmslot_strerror(-WASMSLOT_TRAP_EXPECTED_SHARED), "expected shared memory");
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_module_free(m);
}
END_TEST

/* ---------------------------------------------------------------- every instruction */

enum op_kind { OP_LOAD, OP_STORE, OP_RMW, OP_CMPXCHG };

static const char *const rmw_names[] = {"add", "sub", "and", "or", "xor", "xchg"};

#define OPS_AT 1024 /* where the accesses go; the 8 bytes on either side must stay as they were */

/* The name atomic_ops.wat exports the instruction under: type i<t>, access width n bits. */
static void op_name(char *buf, size_t len, enum op_kind k, unsigned rmw, unsigned t, unsigned n)
{
    char w[4] = "";
    const char *u = n != t ? "_u" : "";

    if (n != t)
        snprintf(w, sizeof w, "%u", n);
    switch (k) {
    case OP_LOAD:
        snprintf(buf, len, "i%u.atomic.load%s%s", t, w, u);
        break;
    case OP_STORE:
        snprintf(buf, len, "i%u.atomic.store%s", t, w);
        break;
    case OP_RMW:
        snprintf(buf, len, "i%u.atomic.rmw%s.%s%s", t, w, rmw_names[rmw], u);
        break;
    case OP_CMPXCHG:
        snprintf(buf, len, "i%u.atomic.rmw%s.cmpxchg%s", t, w, u);
        break;
    }
}

static uint64_t mask_bits(unsigned n)
{
    return n == 64 ? ~0ull : (1ull << n) - 1;
}

/* The model: what the read-modify-write rmw stores, from the old value and the operand. */
static uint64_t rmw_model(unsigned rmw, uint64_t old, uint64_t v)
{
    switch (rmw) {
    case 0:
        return old + v;
    case 1:
        return old - v;
    case 2:
        return old & v;
    case 3:
        return old | v;
    case 4:
        return old ^ v;
    default:
        return v;
    }
}

/* The n-bit little-endian integer at off, and back (the host is little-endian, as wasm is). */
static uint64_t get_bits(struct wasmslot_memory *mem, uint32_t off, unsigned n)
{
    uint64_t v = 0;
    memcpy(&v, wasmslot_memory_base(mem) + off, n / 8);
    return v;
}

static void put_bits(uint8_t *b, uint32_t off, unsigned n, uint64_t v)
{
    memcpy(b + off, &v, n / 8);
}

static struct wasmslot_value int_of(unsigned t, uint64_t v)
{
    return t == 32 ? i32v((uint32_t)v) : i64v(v);
}

static uint64_t int_val(unsigned t, const struct wasmslot_value *v)
{
    return t == 32 ? v->of.i32 : v->of.i64;
}

/* Fill the bytes around OPS_AT with pattern p and copy them to want (the expected bytes). */
static void ops_fill(struct wasmslot_memory *mem, uint64_t p, uint8_t want[24])
{
    uint8_t *b = wasmslot_memory_base(mem) + OPS_AT - 8;

    for (int i = 0; i < 24; i++)
        b[i] = (uint8_t)(p >> (8 * (i % 8))) ^ (uint8_t)(i * 0x11);
    memcpy(want, b, 24);
}

static void ops_check(struct wasmslot_memory *mem, const uint8_t want[24], const char *name,
                      uint64_t p, uint64_t v)
{
    ck_assert_msg(memcmp(wasmslot_memory_base(mem) + OPS_AT - 8, want, 24) == 0,
                  "%s: memory differs from the model (pattern %#llx, operand %#llx)", name,
                  (unsigned long long)p, (unsigned long long)v);
}

/* One instruction on several memory patterns and operands: its result and the memory around
 * it after the call against the model (narrow results zero-extended, narrow operands wrapped,
 * a narrow cmpxchg comparing only its own bytes), then its traps: out of bounds (aligned, far,
 * and misaligned at the end: bounds come first) and misaligned, which write nothing. */
static void check_op(struct wasmslot_exec *ex, struct wasmslot_instance *inst,
                     struct wasmslot_memory *mem, enum op_kind k, unsigned rmw, unsigned t,
                     unsigned n)
{
    static const uint64_t patterns[] = {0x8899aabbccddeeffull, 0x0123456789abcdefull, 0,
                                        0xffffffffffffffffull, 0x7f80807f00ff00ffull};
    static const uint64_t operands[] = {1, 0xffffffffffffffffull, 0x8000000000000001ull,
                                        0x123456789abcdef0ull, 0xfedcba9876543210ull};
    const uint32_t size = (uint32_t)wasmslot_memory_size(mem);
    char name[48];
    uint8_t want[24];
    struct wasmslot_value args[3], r;
    int rc;

    op_name(name, sizeof name, k, rmw, t, n);
    for (size_t pi = 0; pi < sizeof patterns / sizeof patterns[0]; pi++) {
        for (size_t vi = 0; vi < sizeof operands / sizeof operands[0]; vi++) {
            uint64_t p = patterns[pi], v = operands[vi] & mask_bits(t);
            ops_fill(mem, p, want);
            uint64_t old = get_bits(mem, OPS_AT, n);
            args[0] = i32v(OPS_AT);
            args[1] = int_of(t, v);
            memset(&r, 0, sizeof r);
            switch (k) {
            case OP_LOAD:
                rc = call(ex, inst, name, args, 1, &r);
                ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
                ck_assert_msg(int_val(t, &r) == old, "%s: %#llx, want %#llx", name,
                              (unsigned long long)int_val(t, &r), (unsigned long long)old);
                break;
            case OP_STORE:
                rc = call(ex, inst, name, args, 2, NULL);
                ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
                put_bits(want, 8, n, v);
                break;
            case OP_RMW:
                rc = call(ex, inst, name, args, 2, &r);
                ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
                ck_assert_msg(int_val(t, &r) == old, "%s: %#llx, want %#llx", name,
                              (unsigned long long)int_val(t, &r), (unsigned long long)old);
                put_bits(want, 8, n, rmw_model(rmw, old, v & mask_bits(n)));
                break;
            case OP_CMPXCHG:
                /* Expected = the old bytes with other bits above them: it matches. */
                args[1] = int_of(t, (old | (~mask_bits(n) & operands[vi])) & mask_bits(t));
                args[2] = int_of(t, v);
                rc = call(ex, inst, name, args, 3, &r);
                ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
                ck_assert_msg(int_val(t, &r) == old, "%s: %#llx, want %#llx", name,
                              (unsigned long long)int_val(t, &r), (unsigned long long)old);
                put_bits(want, 8, n, v);
                ops_check(mem, want, name, p, v);
                /* Now the bytes are v: an expected value differing in its lowest bit leaves
                 * them, and the result is still the old value. */
                old = v & mask_bits(n);
                args[1] = int_of(t, old ^ 1);
                args[2] = int_of(t, ~v);
                rc = call(ex, inst, name, args, 3, &r);
                ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
                ck_assert_msg(int_val(t, &r) == old, "%s (no match): %#llx, want %#llx", name,
                              (unsigned long long)int_val(t, &r), (unsigned long long)old);
                break;
            }
            ops_check(mem, want, name, p, v);
        }
    }

    /* Traps, with the memory left as it was. */
    uint32_t nargs = k == OP_LOAD ? 1 : k == OP_CMPXCHG ? 3 : 2;
    const struct {
        uint32_t addr;
        int trap;
    } bad[] = {
        {size, WASMSLOT_TRAP_OOB_MEMORY},
        {0xffffffffu & ~(n / 8 - 1), WASMSLOT_TRAP_OOB_MEMORY},
        {size - n / 8 + 1, n > 8 ? WASMSLOT_TRAP_OOB_MEMORY : 0},
        {OPS_AT + 1, n > 8 ? WASMSLOT_TRAP_UNALIGNED_ATOMIC : 0},
        {OPS_AT + n / 16, n > 8 ? WASMSLOT_TRAP_UNALIGNED_ATOMIC : 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i].trap == 0)
            continue;
        ops_fill(mem, patterns[0], want);
        args[0] = i32v(bad[i].addr);
        args[1] = int_of(t, 0x5a5a5a5a5a5a5a5aull);
        args[2] = args[1];
        rc = call(ex, inst, name, args, nargs, &r);
        ck_assert_msg(rc == -bad[i].trap, "%s at %#x: %s, want %s", name, bad[i].addr,
                      wasmslot_strerror(rc), wasmslot_strerror(-bad[i].trap));
        ops_check(mem, want, name, patterns[0], 0);
    }
}

START_TEST(test_every_instruction_against_the_model)
{
    struct wasmslot_module *m = fixture_module("atomic_ops");
    struct wasmslot_memory *mem = new_shared(_i);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    static const unsigned widths32[] = {32, 8, 16}, widths64[] = {64, 8, 16, 32};
    int nops = 0;

    ck_assert_ptr_nonnull(ex);
    for (unsigned t = 32; t <= 64; t += 32) {
        const unsigned *w = t == 32 ? widths32 : widths64;
        unsigned nw = t == 32 ? 3 : 4;
        for (unsigned i = 0; i < nw; i++) {
            check_op(ex, inst, mem, OP_LOAD, 0, t, w[i]);
            check_op(ex, inst, mem, OP_STORE, 0, t, w[i]);
            for (unsigned rmw = 0; rmw < sizeof rmw_names / sizeof rmw_names[0]; rmw++)
                check_op(ex, inst, mem, OP_RMW, rmw, t, w[i]);
            check_op(ex, inst, mem, OP_CMPXCHG, 0, t, w[i]);
            nops += 3 + (int)(sizeof rmw_names / sizeof rmw_names[0]);
        }
    }
    ck_assert_int_eq(nops, 63); /* every 0xFE access but wait and notify */
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

/* ---------------------------------------------------------------- notify counts */

struct stat_pick {
    const char *name;
    uint64_t value;
};

static void pick_sink(void *arg, const char *name, enum wasmslot_stats_kind kind, uint64_t value)
{
    struct stat_pick *p = arg;

    (void)kind;
    if (strcmp(name, p->name) == 0)
        p->value = value;
}

static uint64_t waiters_on(struct wasmslot_memory *mem)
{
    struct stat_pick p = {"waiters", 0};

    wasmslot_shmem_stats(mem, pick_sink, &p);
    return p.value;
}

/* Three guests wait on one word: a guest notify of 2 wakes (and counts) two of them, the next
 * one the last, and a third nobody; every waiter returns "ok". */
START_TEST(test_notify_counts_guest_waiters)
{
    struct wasmslot_module *m = fixture_module("atomic_guest");
    struct wasmslot_memory *mem = new_shared(_i);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst = instantiate(m, mem);
    struct waiter_arg a[3];
    pthread_t th[3];
    struct wasmslot_value r = {0};
    uint32_t woken = 0;

    for (int i = 0; i < 3; i++) {
        a[i] = (struct waiter_arg){m, mem, -1, 99};
        ck_assert_int_eq(pthread_create(&th[i], NULL, waiter_main, &a[i]), 0);
    }
    for (int i = 0; i < 10000 && waiters_on(mem) < 3; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    ck_assert_uint_eq(waiters_on(mem), 3);
    struct wasmslot_value n2[2] = {i32v(OFF_COUNTER), i32v(2)};
    ck_assert_int_eq(call(ex, inst, "notify", n2, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 2);
    woken += r.of.i32;
    ck_assert_int_eq(call(ex, inst, "notify", n2, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 1);
    woken += r.of.i32;
    ck_assert_int_eq(call(ex, inst, "notify", n2, 2, &r), 0);
    ck_assert_uint_eq(r.of.i32, 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(a[i].rc, 0);
        ck_assert_uint_eq(a[i].result, 0);
    }
    ck_assert_uint_eq(woken, 3);
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

/* ---------------------------------------------------------------- validation */

/* A module with one function () -> () whose body (without locals, with its final end) is code,
 * and a shared memory of one page when with_memory. */
static struct wasmslot_module *module_with_body(const uint8_t *code, size_t n, bool with_memory,
                                                struct wasmslot_error *err)
{
    uint8_t b[256];
    size_t len = 0;
    static const uint8_t head[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00,
                                   0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, /* type () -> () */
                                   0x03, 0x02, 0x01, 0x00};                  /* one function */
    static const uint8_t memsec[] = {0x05, 0x04, 0x01, 0x03, 0x01, 0x01};    /* shared 1..1 */

    ck_assert_uint_lt(n, 100);
    memcpy(b, head, sizeof head);
    len = sizeof head;
    if (with_memory) {
        memcpy(b + len, memsec, sizeof memsec);
        len += sizeof memsec;
    }
    b[len++] = 0x0a;             /* code section */
    b[len++] = (uint8_t)(n + 3); /* size */
    b[len++] = 0x01;             /* one body */
    b[len++] = (uint8_t)(n + 1); /* body size */
    b[len++] = 0x00;             /* no locals */
    memcpy(b + len, code, n);
    len += n;
    return wasmslot_module_new_engine(b, len, fixture_engine, err);
}

START_TEST(test_validation)
{
    struct wasmslot_error err;
    struct wasmslot_module *m;

    /* i32.const 0; i32.atomic.load align=2; drop; end: valid with a memory */
    uint8_t load[] = {0x41, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x1a, 0x0b};
    m = module_with_body(load, sizeof load, true, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    wasmslot_module_free(m);
    /* without one: unknown memory */
    m = module_with_body(load, sizeof load, false, &err);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, -WASMSLOT_EINVALID);
    ck_assert_msg(strstr(err.message, "unknown memory") != NULL, "%s", err.message);
    /* alignment below and above the natural one */
    for (uint8_t align = 0; align < 4; align++) {
        if (align == 2)
            continue;
        load[4] = align;
        m = module_with_body(load, sizeof load, true, &err);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(err.code, -WASMSLOT_EINVALID);
        ck_assert_msg(strstr(err.message, "atomic alignment must be natural") != NULL, "%s",
                      err.message);
    }
    /* i64.atomic.rmw8.add_u needs align 0 and an i64 operand */
    uint8_t rmw8[] = {0x41, 0x00, 0x42, 0x01, 0xfe, 0x22, 0x00, 0x00, 0x1a, 0x0b};
    m = module_with_body(rmw8, sizeof rmw8, true, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    wasmslot_module_free(m);
    rmw8[2] = 0x41; /* an i32 operand instead */
    m = module_with_body(rmw8, sizeof rmw8, true, &err);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err.message, "type mismatch") != NULL, "%s", err.message);
    /* atomic.fence needs no memory; its byte must be zero */
    uint8_t fence[] = {0xfe, 0x03, 0x00, 0x0b};
    m = module_with_body(fence, sizeof fence, false, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    wasmslot_module_free(m);
    fence[2] = 0x01;
    m = module_with_body(fence, sizeof fence, false, &err);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, -WASMSLOT_EMALFORMED);
    /* unknown sub-opcodes */
    uint8_t bad[] = {0xfe, 0x4f, 0x0b};
    m = module_with_body(bad, sizeof bad, true, &err);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, -WASMSLOT_EMALFORMED);
    ck_assert_msg(strstr(err.message, "illegal opcode") != NULL, "%s", err.message);
    bad[1] = 0x04;
    m = module_with_body(bad, sizeof bad, true, &err);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, -WASMSLOT_EMALFORMED);
    /* Atomics in unreachable code are validated but not compiled. */
    uint8_t deadcode[] = {0x00, 0x41, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x1a, 0x0b};
    m = module_with_body(deadcode, sizeof deadcode, true, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    wasmslot_module_free(m);
}
END_TEST

static Suite *atomic_suite(const char *name)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 240);
    /* Each loop test runs on a plain shared memory (0) and on a wasmslot_shmem_new memory (1). */
    tcase_add_loop_test(tc, test_rmw_add_counts_exactly, 0, 2);
    tcase_add_loop_test(tc, test_spinlock_protects_plain_counter, 0, 2);
    tcase_add_loop_test(tc, test_guest_pingpong, 0, 2);
    tcase_add_test(tc, test_guest_pingpong_two_processes);
    tcase_add_loop_test(tc, test_notify_wakes_guest_waiter, 0, 2);
    tcase_add_loop_test(tc, test_notify_counts_guest_waiters, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("single");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_wait_results_and_timeouts, 0, 2);
    tcase_add_loop_test(tc, test_wait_forever_ends_with_deadline_or_interrupt, 0, 2);
    tcase_add_loop_test(tc, test_values_and_traps, 0, 2);
    tcase_add_loop_test(tc, test_every_instruction_against_the_model, 0, 2);
    tcase_add_test(tc, test_unshared_memory);
    tcase_add_test(tc, test_validation);
    suite_add_tcase(s, tc);
    return s;
}

/* The same tests on every tier this build has: the native tier's atomics must behave exactly
 * as the interpreter's (fixture_module fails a test whose module falls back). */
int main(void)
{
    int failed = 0;

    for (int e = WASMSLOT_ENGINE_INTERP; e <= WASMSLOT_ENGINE_NATIVE; e++) {
        if (!wasmslot_engine_available(e))
            continue;
        fixture_engine = e;
        SRunner *sr = srunner_create(atomic_suite(wasmslot_engine_name(e)));
        srunner_run_all(sr, CK_NORMAL);
        failed += srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
