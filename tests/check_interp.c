/* check_interp.c: unit tests of the function-body validator/compiler and the interpreter:
 * arithmetic edge cases, every trap, recursion limits, timeouts and interruption, re-entry,
 * multi-value, and guest memory faults becoming traps while other faults still crash. */
#include "config.h"

#include "interp/interp.h"
#include "wasm_fixture.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WAT_DIR
#define WAT_DIR "tests/wat"
#endif

/* ---------------------------------------------------------------- fixture */

struct fixture {
    struct wasmslot_module *m;
    struct wasmslot_instance *inst;
    struct wasmslot_func *host;
    struct wasmslot_exec *ex;
    struct wasmslot_func *reenter; /* used by the host callback */
    int host_mode;                 /* 0: re-enter, 1: crash on purpose */
};

static struct fixture fx;

static struct wasmslot_func *fn(const char *name)
{
    struct wasmslot_extern e;
    ck_assert_int_eq(wasmslot_instance_export(fx.inst, name, strlen(name), &e), 0);
    ck_assert_int_eq(e.kind, WASMSLOT_EXTERN_FUNC);
    return e.of.func;
}

/* The import env.callback(n): re-enters "reenter"(n - 1) on the same exec and adds one. */
static int callback(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                    struct wasmslot_value *results)
{
    struct fixture *f = env;
    if (f->host_mode == 1) {
        /* A host bug touching the guest's reservation past its size: the fault is the host's,
         * so it must crash, not become the guest's trap. */
        volatile uint8_t *p = wasmslot_memory_base(wasmslot_call_ctx_memory(ctx)) + 3 * 65536;
        *p = 1;
    }
    struct wasmslot_value a = {.type = WASMSLOT_I32, .of.i32 = args[0].of.i32 - 1};
    struct wasmslot_value r;
    int rc = wasmslot_call(wasmslot_call_ctx_exec(ctx), f->reenter, &a, 1, &r, 1);
    if (rc < 0)
        return rc;
    results[0].type = WASMSLOT_I32;
    results[0].of.i32 = r.of.i32 + 1;
    return 0;
}

static void setup(void)
{
    static const enum wasmslot_valtype i32[1] = {WASMSLOT_I32};
    struct wasmslot_functype ft = {1, 1, i32, i32};
    struct wasmslot_error err = {0, ""};

    memset(&fx, 0, sizeof fx);
    fx.m = fixture_module("interp_ops");
    fx.host = wasmslot_func_new_host(&ft, callback, &fx, NULL, &err);
    ck_assert_ptr_nonnull(fx.host);
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_FUNC, .of.func = fx.host};
    struct wasmslot_instance_options opt = {.imports = &imp, .nimports = 1};
    fx.inst = wasmslot_instance_new(fx.m, &opt, &err);
    ck_assert_msg(fx.inst != NULL, "%s", err.message);
    fx.ex = wasmslot_exec_new(NULL, &err);
    ck_assert_ptr_nonnull(fx.ex);
    fx.reenter = fn("reenter");
}

static void teardown(void)
{
    wasmslot_exec_free(fx.ex);
    wasmslot_instance_free(fx.inst);
    wasmslot_func_free_host(fx.host);
    wasmslot_module_free(fx.m);
}

static struct wasmslot_value I32(uint32_t v) {
    return (struct wasmslot_value){.type = WASMSLOT_I32, .of.i32 = v};
}

static struct wasmslot_value
I64(uint64_t v) {
    return (struct wasmslot_value){.type = WASMSLOT_I64, .of.i64 = v};
}

static struct wasmslot_value
F32(float f) {
    struct wasmslot_value v = {.type = WASMSLOT_F32};
    memcpy(&v.of.f32, &f, 4);
    return v;
}

static struct wasmslot_value
F32BITS(uint32_t bits) {
    return (struct wasmslot_value){.type = WASMSLOT_F32, .of.f32 = bits};
}

static struct wasmslot_value
F64(double f) {
    struct wasmslot_value v = {.type = WASMSLOT_F64};
    memcpy(&v.of.f64, &f, 8);
    return v;
}

/* Call export name with n args and one result; returns wasmslot_call's code. */
static int
call1(const char *name, struct wasmslot_value *r, uint32_t n, ...)
{
    struct wasmslot_value args[4];
    va_list ap;
    va_start(ap, n);
    for (uint32_t i = 0; i < n; i++)
        args[i] = va_arg(ap, struct wasmslot_value);
    va_end(ap);
    struct wasmslot_func *f = fn(name);
    return wasmslot_call(fx.ex, f, args, n, r, wasmslot_func_type(f)->nresults);
}

static uint32_t call_i32(const char *name, uint32_t n, ...)
{
    struct wasmslot_value args[4], r;
    va_list ap;
    va_start(ap, n);
    for (uint32_t i = 0; i < n; i++)
        args[i] = va_arg(ap, struct wasmslot_value);
    va_end(ap);
    int rc = wasmslot_call(fx.ex, fn(name), args, n, &r, 1);
    ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
    ck_assert_int_eq(r.type, WASMSLOT_I32);
    return r.of.i32;
}

static float as_f32(const struct wasmslot_value *v)
{
    float f;
    memcpy(&f, &v->of.f32, 4);
    return f;
}

static double as_f64(const struct wasmslot_value *v)
{
    double f;
    memcpy(&f, &v->of.f64, 8);
    return f;
}

/* ---------------------------------------------------------------- arithmetic */

START_TEST(test_integer_edge_cases)
{
    struct wasmslot_value r;
    ck_assert_uint_eq(call_i32("div_s", 2, I32(-7), I32(2)), (uint32_t)-3);
    ck_assert_uint_eq(call_i32("rem_s", 2, I32(0x80000000u), I32(-1)), 0);
    ck_assert_uint_eq(call_i32("rem_s", 2, I32(-7), I32(2)), (uint32_t)-1);
    ck_assert_uint_eq(call_i32("rotl", 2, I32(0x80000001u), I32(33)), 3);
    ck_assert_uint_eq(call_i32("extend8", 1, I32(0x80)), 0xffffff80u);
    ck_assert_int_eq(call1("div_u64", &r, 2, I64(~0ull), I64(2)), 0);
    ck_assert_uint_eq(r.of.i64, 0x7fffffffffffffffull);
    ck_assert_int_eq(call1("clz64", &r, 1, I64(1)), 0);
    ck_assert_uint_eq(r.of.i64, 63);
    ck_assert_int_eq(call1("clz64", &r, 1, I64(0)), 0);
    ck_assert_uint_eq(r.of.i64, 64);
}
END_TEST

START_TEST(test_float_edge_cases)
{
    struct wasmslot_value r;
    ck_assert_int_eq(call1("f32_min", &r, 2, F32(0.0f), F32(-0.0f)), 0);
    ck_assert_uint_eq(r.of.f32, 0x80000000u);
    ck_assert_int_eq(call1("f64_max", &r, 2, F64(-0.0), F64(0.0)), 0);
    ck_assert_uint_eq(r.of.f64, 0);
    ck_assert_int_eq(call1("f64_max", &r, 2, F64(1.0), F64(NAN)), 0);
    ck_assert(isnan(as_f64(&r)));
    /* neg is a bit operation: a signalling NaN's payload survives */
    ck_assert_int_eq(call1("f32_neg", &r, 1, F32BITS(0x7fa00001u)), 0);
    ck_assert_uint_eq(r.of.f32, 0xffa00001u);
    ck_assert_int_eq(call1("f64_nearest", &r, 1, F64(2.5)), 0);
    ck_assert(as_f64(&r) == 2.0);
    ck_assert_int_eq(call1("f64_nearest", &r, 1, F64(-3.5)), 0);
    ck_assert(as_f64(&r) == -4.0);
    /* single precision stays single precision */
    ck_assert_int_eq(call1("f32_add", &r, 2, F32(16777216.0f), F32(1.0f)), 0);
    ck_assert(as_f32(&r) == 16777216.0f);
    ck_assert_uint_eq(call_i32("trunc_f32_s", 1, F32(-2147483648.0f)), 0x80000000u);
    ck_assert_uint_eq(call_i32("sat_f64_s", 1, F64(1e12)), 0x7fffffffu);
    ck_assert_uint_eq(call_i32("sat_f64_s", 1, F64(NAN)), 0);
    ck_assert_int_eq(call1("trunc_f64_u64", &r, 1, F64(18446744073709549568.0)), 0);
    ck_assert_uint_eq(r.of.i64, 18446744073709549568ull);
}
END_TEST

START_TEST(test_loops_and_local_fusion)
{
    struct wasmslot_value r;
    ck_assert_int_eq(call1("sum", &r, 1, I32(100000)), 0);
    ck_assert_uint_eq(r.of.i64, 5000050000ull);
    ck_assert_uint_eq(call_i32("swap_pending", 2, I32(7), I32(3)), 3007);
    ck_assert_uint_eq(call_i32("latch", 1, I32(0)), 5);
    ck_assert_uint_eq(call_i32("latch", 1, I32(10)), 100);
    ck_assert_uint_eq(call_i32("latch_tee", 1, I32(0)), 30);
    ck_assert_int_eq(call1("fac", &r, 1, I64(20)), 0);
    ck_assert_uint_eq(r.of.i64, 2432902008176640000ull);
}
END_TEST

/* Constants that became immediates, and the fused f64 forms, give the plain results. */
START_TEST(test_immediates_and_fused_f64)
{
    struct wasmslot_value r;
    ck_assert_uint_eq(call_i32("imm_i32", 1, I32(10)), (10 - 5 + 7) * 4 * 3);
    ck_assert_int_eq(call1("imm_i64", &r, 1, I64(0xffffffffull)), 0);
    ck_assert_uint_eq(r.of.i64, ~0x200000000ull);
    ck_assert_int_eq(call1("imm_f64", &r, 1, F64(1.0)), 0);
    ck_assert(as_f64(&r) == 0.75);
    ck_assert_uint_eq(call_i32("count_to", 2, I32(35), I32(0)), 10 + 5);
    ck_assert_uint_eq(call_i32("count_to", 2, I32(0), I32(101)), (uint32_t)-1);
    ck_assert_uint_eq(call_i32("step_to", 1, I32(7)), 8);
    ck_assert_uint_eq(call_i32("step_to", 1, I32(50)), 1);
    /* 0xfffffff0 + 32 wraps to 16: the access lands at 20, not past 4 GiB */
    ck_assert_uint_eq(call_i32("xi_store_load", 1, I32(0xfffffff0u)), 0x5a5a);
    ck_assert_uint_eq(call_i32("xi_store_load", 1, I32(64)), 0x5a5a);
    /* (0x40000000 << 2) + 16 wraps to 16: the word stored at 16 + 4 above */
    ck_assert_uint_eq(call_i32("elem_load", 1, I32(0x40000000u)), 0x5a5a);
    ck_assert_uint_eq(call_i32("elem_load", 1, I32(20)), 0x5a5a);
    ck_assert_uint_eq(call_i32("bump_load", 1, I32(4)), 0x5a5a + 20);
    ck_assert_uint_eq(call_i32("fill_words", 3, I32(1000), I32(5), I32(8)), 1040u << 8 | 14);
    ck_assert_uint_eq(call_i32("fill_bytes", 2, I32(2000), I32(3)), 2003 * 256 + 3 * 16 + 1);
    ck_assert_int_eq(call1("set_f64", &r, 2, I32(256), F64(0.1)), 0);
    ck_assert_int_eq(call1("set_f64", &r, 2, I32(264), F64(10.0)), 0);
    /* 0.1 * 10 rounds to exactly 1, so the sum is 0; a fused multiply-add would not round */
    ck_assert_int_eq(call1("muladd", &r, 2, I32(256), F64(-1.0)), 0);
    ck_assert(as_f64(&r) == 0.0);
    ck_assert_int_eq(call1("muladd_regs", &r, 3, F64(0.1), F64(10.0), F64(-1.0)), 0);
    ck_assert(as_f64(&r) == 0.0);
    ck_assert_int_eq(call1("mul_load", &r, 2, I32(256), F64(12.5)), 0);
    ck_assert(as_f64(&r) == 2.5);
    /* a fused load still faults into a trap */
    ck_assert_int_eq(call1("muladd", &r, 2, I32(0xfffffff8u), F64(0.0)), -WASMSLOT_TRAP_OOB_MEMORY);
}
END_TEST

/* ---------------------------------------------------------------- traps */

START_TEST(test_each_trap)
{
    struct wasmslot_value r;
    ck_assert_int_eq(call1("unreachable", &r, 0), -WASMSLOT_TRAP_UNREACHABLE);
    ck_assert_int_eq(call1("div_s", &r, 2, I32(1), I32(0)), -WASMSLOT_TRAP_DIV_ZERO);
    ck_assert_int_eq(call1("div_s", &r, 2, I32(0x80000000u), I32(-1)), -WASMSLOT_TRAP_INT_OVERFLOW);
    ck_assert_int_eq(call1("rem_s", &r, 2, I32(1), I32(0)), -WASMSLOT_TRAP_DIV_ZERO);
    ck_assert_int_eq(call1("trunc_f32_s", &r, 1, F32(NAN)), -WASMSLOT_TRAP_BAD_CONVERSION);
    ck_assert_int_eq(call1("trunc_f32_s", &r, 1, F32(2147483648.0f)), -WASMSLOT_TRAP_INT_OVERFLOW);
    ck_assert_int_eq(call1("trunc_f64_u64", &r, 1, F64(-1.0)), -WASMSLOT_TRAP_INT_OVERFLOW);
    ck_assert_int_eq(call1("call_ind", &r, 2, I32(41), I32(0)), 0);
    ck_assert_uint_eq(r.of.i32, 42);
    ck_assert_int_eq(call1("call_ind", &r, 2, I32(0), I32(1)), -WASMSLOT_TRAP_INDIRECT_MISMATCH);
    ck_assert_int_eq(call1("call_ind", &r, 2, I32(0), I32(2)), -WASMSLOT_TRAP_UNINIT_ELEM);
    ck_assert_int_eq(call1("call_ind", &r, 2, I32(0), I32(4)), -WASMSLOT_TRAP_UNDEFINED_ELEM);
    ck_assert_uint_eq(call_i32("table_get_null", 1, I32(3)), 1);
    ck_assert_int_eq(call1("table_get_null", &r, 1, I32(4)), -WASMSLOT_TRAP_OOB_TABLE);
    ck_assert_int_eq(call1("fill", &r, 3, I32(65530), I32(1), I32(7)), -WASMSLOT_TRAP_OOB_MEMORY);
    /* the range is checked before writing: nothing was filled */
    ck_assert_uint_eq(call_i32("load", 1, I32(65532)), 0);
}
END_TEST

START_TEST(test_memory_faults_become_traps)
{
    struct wasmslot_value r;
    ck_assert_int_eq(call1("store", &r, 2, I32(65532), I32(0x01020304)), 0);
    ck_assert_uint_eq(call_i32("load", 1, I32(65532)), 0x01020304);
    ck_assert_int_eq(call1("load", &r, 1, I32(65533)), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(call1("load", &r, 1, I32(0xffffffffu)), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(call1("load_far", &r, 1, I32(0xfffffff0u)), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(call1("store", &r, 2, I32(65536), I32(1)), -WASMSLOT_TRAP_OOB_MEMORY);
    /* 0xfffffffc + 8 wraps to 4 before the offset is added */
    ck_assert_int_eq(call1("store_wrap", &r, 2, I32(0xfffffffcu), I32(0xabcdef01u)), 0);
    ck_assert_uint_eq(call_i32("load", 1, I32(4)), 0xabcdef01u);
    ck_assert_uint_eq(call_i32("load_wrap", 1, I32(0xfffffff8u)), 0xabcdef01u);
    ck_assert_int_eq(call1("load_wrap", &r, 1, I32(65530)), -WASMSLOT_TRAP_OOB_MEMORY);
    /* the exec is usable after the jump out of the signal handler */
    ck_assert_uint_eq(call_i32("grow", 1, I32(1)), 1);
    ck_assert_uint_eq(call_i32("load", 1, I32(65536)), 0);
    ck_assert_int_eq(call1("load", &r, 1, I32(2 * 65536)), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_uint_eq(call_i32("grow", 1, I32(10)), 0xffffffffu);
    ck_assert_uint_eq(call_i32("div_s", 2, I32(9), I32(3)), 3);
}
END_TEST

/* Runs body in a child process and returns its wait status. */
static int in_child(void (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static void crash_outside_guest(void)
{
    struct wasmslot_value r;
    /* Run guest code first so the handlers are installed, then fault in plain C. */
    if (call1("load", &r, 1, I32(65533)) != -WASMSLOT_TRAP_OOB_MEMORY)
        _exit(3);
    volatile int *p = NULL;
    *p = 1;
    _exit(4);
}

static void crash_in_host_function(void)
{
    struct wasmslot_value r;
    fx.host_mode = 1;
    call1("reenter", &r, 1, I32(1));
    _exit(5);
}

/* The child died of the fault: killed by SIGSEGV, or, under AddressSanitizer (whose handler
 * ours chains to), exited with the sanitizer's status 1, or aborted after its report when
 * ASAN_OPTIONS/UBSAN_OPTIONS ask for abort_on_error=1. */
static bool died_of_fault(int st)
{
    return (WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGABRT)) ||
           (WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

START_TEST(test_other_faults_are_not_swallowed)
{
    int st = in_child(crash_outside_guest);
    ck_assert_msg(died_of_fault(st), "status %#x", st);
    st = in_child(crash_in_host_function);
    ck_assert_msg(died_of_fault(st), "status %#x", st);
}
END_TEST

/* A fault in the guest's memory on another thread is that thread's trap only. */
static void *thread_oob(void *arg)
{
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_value a = I32(70000), r;
    intptr_t rc = wasmslot_call(ex, arg, &a, 1, &r, 1);
    wasmslot_exec_free(ex);
    return (void *)rc;
}

START_TEST(test_fault_on_another_thread)
{
    pthread_t t;
    void *rc;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_oob, fn("load")), 0);
    ck_assert_int_eq(pthread_join(t, &rc), 0);
    ck_assert_int_eq((int)(intptr_t)rc, -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_uint_eq(call_i32("load", 1, I32(0)), 0);
}
END_TEST

/* ---------------------------------------------------------------- limits and time */

/* Issue 11: a br_table entry that jumps backwards added its unsigned index to the negative
 * displacement in 32 bits, so the taken branch landed gigabytes away and the process died. */
START_TEST(test_br_table_jumps_back_to_a_loop)
{
    ck_assert_uint_eq(call_i32("count", 1, I32(5)), 5);
    ck_assert_uint_eq(call_i32("count", 1, I32(0)), 1);
    ck_assert_uint_eq(call_i32("backtable", 1, I32(4)), 1 + 2 + 3 + 4);
}
END_TEST

START_TEST(test_deep_recursion_exhausts_the_stack)
{
    struct wasmslot_value r;
    ck_assert_int_eq(call1("runaway", &r, 1, I32(0)), -WASMSLOT_TRAP_STACK_EXHAUSTED);
    ck_assert_int_eq(call1("fac", &r, 1, I64(5)), 0);
    ck_assert_uint_eq(r.of.i64, 120);

    /* A small value stack runs out before the call-depth limit does. */
    struct wasmslot_exec_options o = {.stack_bytes = 4096, .max_call_depth = 100000};
    struct wasmslot_exec *small = wasmslot_exec_new(&o, NULL);
    struct wasmslot_value a = I32(0);
    ck_assert_int_eq(wasmslot_call(small, fn("runaway"), &a, 1, &r, 1),
                     -WASMSLOT_TRAP_STACK_EXHAUSTED);
    wasmslot_exec_free(small);
}
END_TEST

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Issue 11: the default stack lets a plain recursion run 50,000 deep (it stopped at 10,000),
 * a runaway recursion still ends as a trap within a second, and wasmslot_exec_set_stack_size
 * moves the limit both ways on the same context. */
START_TEST(test_stack_size_sets_the_depth)
{
    struct wasmslot_value r;
    ck_assert_int_eq(call1("down", &r, 1, I32(50000)), 0);
    ck_assert_uint_eq(r.of.i32, 50000);

    uint64_t t0 = now_ns();
    ck_assert_int_eq(call1("runaway", &r, 1, I32(0)), -WASMSLOT_TRAP_STACK_EXHAUSTED);
    ck_assert_uint_lt(now_ns() - t0, 1000000000u);

    ck_assert_int_eq(wasmslot_exec_set_stack_size(fx.ex, 64 * 1024), 0);
    ck_assert_int_eq(call1("down", &r, 1, I32(50000)), -WASMSLOT_TRAP_STACK_EXHAUSTED);
    ck_assert_int_eq(call1("down", &r, 1, I32(1000)), 0);
    /* Both tiers: stack_size, not the running thread's stack, bounds the depth (the native
     * tier runs on the exec's own machine stack). */
    ck_assert_int_eq(wasmslot_exec_set_stack_size(fx.ex, 16u << 20), 0);
    ck_assert_int_eq(call1("down", &r, 1, I32(200000)), 0);
    ck_assert_uint_eq(r.of.i32, 200000);
    ck_assert_int_eq(call1("runaway", &r, 1, I32(0)), -WASMSLOT_TRAP_STACK_EXHAUSTED);
    /* Back to a small size: the deep run is refused again, cleanly. */
    ck_assert_int_eq(wasmslot_exec_set_stack_size(fx.ex, 64 * 1024), 0);
    ck_assert_int_eq(call1("down", &r, 1, I32(50000)), -WASMSLOT_TRAP_STACK_EXHAUSTED);
}
END_TEST

static void *deep_on_small_thread(void *arg)
{
    struct wasmslot_value r;
    (void)arg;
    ck_assert_int_eq(wasmslot_exec_set_stack_size(fx.ex, 16u << 20), 0);
    int rc = call1("down", &r, 1, I32(200000));
    return (void *)(intptr_t)(rc == 0 && r.of.i32 == 200000);
}

/* A thread with a 128 KiB stack runs the same 200,000-deep recursion: neither tier uses the
 * thread's stack for guest frames. */
START_TEST(test_depth_does_not_depend_on_the_thread_stack)
{
    pthread_attr_t attr;
    pthread_t t;
    void *ok = NULL;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    ck_assert_int_eq(pthread_create(&t, &attr, deep_on_small_thread, NULL), 0);
    pthread_join(t, &ok);
    pthread_attr_destroy(&attr);
    ck_assert_msg(ok != NULL, "200,000 calls deep on a thread with a 128 KiB stack");
}
END_TEST

START_TEST(test_deadline_ends_an_infinite_loop)
{
    struct wasmslot_value r;
    uint64_t t0 = now_ns();
    wasmslot_exec_set_deadline(fx.ex, t0 + 50 * 1000000ull);
    ck_assert_int_eq(call1("spin", &r, 0), -WASMSLOT_TRAP_TIMEOUT);
    uint64_t took = now_ns() - t0;
    ck_assert_uint_ge(took, 50 * 1000000ull);
    ck_assert_uint_lt(took, 5000 * 1000000ull);
    wasmslot_exec_set_deadline(fx.ex, 0);
    ck_assert_uint_eq(call_i32("div_s", 2, I32(8), I32(2)), 4);
}
END_TEST

/* Where reading the precise clock is a system call, the checks read the coarse one: the
 * deadline still holds, never early. Forced here, whatever this host's clock costs. */
START_TEST(test_deadline_with_the_coarse_clock)
{
    struct wasmslot_value r;
    uint64_t t0;

    setenv("WASMSLOT_CLOCK", "coarse", 1);
    /* Probed once per process: without a fork per test an earlier test chose already. */
    if (getenv("CK_FORK") == NULL || strcmp(getenv("CK_FORK"), "no") != 0)
        ck_assert(wasmslot_exec__clock_coarse());
    t0 = now_ns();
    wasmslot_exec_set_deadline(fx.ex, t0 + 30 * 1000000ull);
    ck_assert_int_eq(call1("spin", &r, 0), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_ge(now_ns() - t0, 30 * 1000000ull);
    ck_assert_uint_lt(now_ns() - t0, 5000 * 1000000ull);
    wasmslot_exec_set_deadline(fx.ex, 0);
}
END_TEST

static void *interrupter(void *arg)
{
    struct timespec ts = {0, 30 * 1000000};
    nanosleep(&ts, NULL);
    wasmslot_exec_interrupt(arg);
    return NULL;
}

START_TEST(test_interrupt_from_another_thread)
{
    struct wasmslot_value r;
    pthread_t t;
    wasmslot_exec_interrupt(fx.ex); /* a stale request is cleared by the next call */
    ck_assert_int_eq(pthread_create(&t, NULL, interrupter, fx.ex), 0);
    ck_assert_int_eq(call1("spin", &r, 0), -WASMSLOT_TRAP_TIMEOUT);
    pthread_join(t, NULL);
}
END_TEST

/* A run without a single loop (2^60 calls, never deeper than 61) is polled at its calls: a
 * deadline and an interrupt from another thread end it too. */
START_TEST(test_deadline_and_interrupt_end_a_recursion_without_loops)
{
    struct wasmslot_value r;
    pthread_t t;
    uint64_t t0 = now_ns();
    wasmslot_exec_set_deadline(fx.ex, t0 + 50 * 1000000ull);
    ck_assert_int_eq(call1("tree", &r, 1, I32(60)), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_ge(now_ns() - t0, 50 * 1000000ull);
    ck_assert_uint_lt(now_ns() - t0, 5000 * 1000000ull);
    wasmslot_exec_set_deadline(fx.ex, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, interrupter, fx.ex), 0);
    ck_assert_int_eq(call1("tree", &r, 1, I32(60)), -WASMSLOT_TRAP_TIMEOUT);
    pthread_join(t, NULL);
}
END_TEST

START_TEST(test_reentry_through_a_host_function)
{
    struct wasmslot_value r;
    ck_assert_uint_eq(call_i32("reenter", 1, I32(5)), 105);
    /* unbounded re-entry ends cleanly */
    ck_assert_int_eq(call1("reenter", &r, 1, I32(1000000)), -WASMSLOT_TRAP_STACK_EXHAUSTED);
    ck_assert_uint_eq(call_i32("reenter", 1, I32(3)), 103);
    /* a fault three host calls deep is a trap that unwinds through the host functions */
    fx.reenter = fn("reenter_trap");
    ck_assert_int_eq(call1("reenter_trap", &r, 1, I32(3)), -WASMSLOT_TRAP_OOB_MEMORY);
    fx.reenter = fn("reenter");
    ck_assert_uint_eq(call_i32("reenter", 1, I32(2)), 102);
}
END_TEST

START_TEST(test_multi_value)
{
    struct wasmslot_value r[2];
    struct wasmslot_func *f = fn("swap");
    struct wasmslot_value args[2] = {I32(7), I64(0x100000000ull)};
    ck_assert_int_eq(wasmslot_call(fx.ex, f, args, 2, r, 2), 0);
    ck_assert_int_eq(r[0].type, WASMSLOT_I64);
    ck_assert_uint_eq(r[0].of.i64, 0x100000000ull);
    ck_assert_uint_eq(r[1].of.i32, 7);

    struct wasmslot_value dm[2] = {I32(17), I32(5)};
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("divmod"), dm, 2, r, 2), 0);
    ck_assert_uint_eq(r[0].of.i32, 3);
    ck_assert_uint_eq(r[1].of.i32, 2);
    dm[1] = I32(0);
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("divmod"), dm, 2, r, 2), 0);
    ck_assert_uint_eq(r[0].of.i32, 0xffffffffu);
    ck_assert_uint_eq(r[1].of.i32, 0xffffffffu);

    struct wasmslot_value p = I32(0);
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("pick"), &p, 1, r, 2), 0);
    ck_assert_uint_eq(r[0].of.i32, 1);
    ck_assert_uint_eq(r[1].of.i32, 12);
    p = I32(1);
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("pick"), &p, 1, r, 2), 0);
    ck_assert_uint_eq(r[0].of.i32, 1);
    ck_assert_uint_eq(r[1].of.i32, 2);
}
END_TEST

START_TEST(test_call_checks_arguments)
{
    struct wasmslot_value r[2];
    struct wasmslot_value args[2] = {I32(1), I32(2)};
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("div_s"), args, 1, r, 1), -WASMSLOT_EARGS);
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("div_s"), args, 2, r, 2), -WASMSLOT_EARGS);
    args[1] = I64(2);
    ck_assert_int_eq(wasmslot_call(fx.ex, fn("div_s"), args, 2, r, 1), -WASMSLOT_EARGS);
}
END_TEST

/* ---------------------------------------------------------------- validation */

/* A module with one function of type [] -> [i32], optionally a memory, and the given body
 * (without the final end). */
static int compile_body(const uint8_t *body, size_t n, bool memory, struct wasmslot_error *err)
{
    uint8_t buf[256];
    size_t k = 0;
    static const uint8_t head[] = {0, 'a',  's', 'm', 1,    0, 0, 0, 1, 5,
                                   1, 0x60, 0,   1,   0x7f, 3, 2, 1, 0};
    ck_assert_uint_lt(n, 200);
    memcpy(buf, head, sizeof head);
    k = sizeof head;
    if (memory) {
        static const uint8_t mem[] = {5, 3, 1, 0, 1};
        memcpy(buf + k, mem, sizeof mem);
        k += sizeof mem;
    }
    buf[k++] = 10;
    buf[k++] = (uint8_t)(n + 4);
    buf[k++] = 1;
    buf[k++] = (uint8_t)(n + 2);
    buf[k++] = 0;
    memcpy(buf + k, body, n);
    k += n;
    buf[k++] = 0x0b;
    struct wasmslot_module *m = wasmslot_module_new(buf, k, err);
    if (m) {
        wasmslot_module_free(m);
        return 0;
    }
    return err->code;
}

START_TEST(test_validation_messages)
{
    struct wasmslot_error err;
    static const uint8_t ok[] = {0x41, 1};
    ck_assert_int_eq(compile_body(ok, sizeof ok, false, &err), 0);

    static const uint8_t mismatch[] = {0x41, 1, 0x42, 1, 0x6a};
    ck_assert_int_eq(compile_body(mismatch, sizeof mismatch, false, &err), -WASMSLOT_EINVALID);
    ck_assert_msg(strstr(err.message, "type mismatch"), "%s", err.message);

    static const uint8_t local[] = {0x20, 3};
    ck_assert_int_eq(compile_body(local, sizeof local, false, &err), -WASMSLOT_EINVALID);
    ck_assert_msg(strstr(err.message, "unknown local"), "%s", err.message);

    static const uint8_t label[] = {0x41, 1, 0x0c, 2};
    ck_assert_int_eq(compile_body(label, sizeof label, false, &err), -WASMSLOT_EINVALID);
    ck_assert_msg(strstr(err.message, "unknown label"), "%s", err.message);

    static const uint8_t nomem[] = {0x41, 0, 0x28, 2, 0};
    ck_assert_int_eq(compile_body(nomem, sizeof nomem, false, &err), -WASMSLOT_EINVALID);
    ck_assert_msg(strstr(err.message, "unknown memory"), "%s", err.message);

    static const uint8_t align[] = {0x41, 0, 0x28, 3, 0};
    ck_assert_int_eq(compile_body(align, sizeof align, true, &err), -WASMSLOT_EINVALID);
    ck_assert_msg(strstr(err.message, "alignment must not be larger than natural"), "%s",
                  err.message);

    static const uint8_t zero[] = {0x3f, 1};
    ck_assert_int_eq(compile_body(zero, sizeof zero, true, &err), -WASMSLOT_EMALFORMED);
    ck_assert_msg(strstr(err.message, "zero byte expected"), "%s", err.message);

    static const uint8_t illegal[] = {0x41, 1, 0xff};
    ck_assert_int_eq(compile_body(illegal, sizeof illegal, false, &err), -WASMSLOT_EMALFORMED);
    ck_assert_msg(strstr(err.message, "illegal opcode"), "%s", err.message);

    /* after unreachable the stack is polymorphic: this validates */
    static const uint8_t poly[] = {0x00, 0x6a};
    ck_assert_int_eq(compile_body(poly, sizeof poly, false, &err), 0);
}
END_TEST

static Suite *interp_suite(const char *name)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("run");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_integer_edge_cases);
    tcase_add_test(tc, test_float_edge_cases);
    tcase_add_test(tc, test_loops_and_local_fusion);
    tcase_add_test(tc, test_immediates_and_fused_f64);
    tcase_add_test(tc, test_each_trap);
    tcase_add_test(tc, test_memory_faults_become_traps);
    tcase_add_test(tc, test_other_faults_are_not_swallowed);
    tcase_add_test(tc, test_fault_on_another_thread);
    tcase_add_test(tc, test_br_table_jumps_back_to_a_loop);
    tcase_add_test(tc, test_deep_recursion_exhausts_the_stack);
    tcase_add_test(tc, test_stack_size_sets_the_depth);
    tcase_add_test(tc, test_depth_does_not_depend_on_the_thread_stack);
    tcase_add_test(tc, test_deadline_ends_an_infinite_loop);
    tcase_add_test(tc, test_deadline_with_the_coarse_clock);
    tcase_add_test(tc, test_interrupt_from_another_thread);
    tcase_add_test(tc, test_deadline_and_interrupt_end_a_recursion_without_loops);
    tcase_add_test(tc, test_reentry_through_a_host_function);
    tcase_add_test(tc, test_multi_value);
    tcase_add_test(tc, test_call_checks_arguments);
    suite_add_tcase(s, tc);

    TCase *tv = tcase_create("validate");
    tcase_add_test(tv, test_validation_messages);
    suite_add_tcase(s, tv);
    return s;
}

/* The same tests on every tier this build has: the native tier must behave exactly as the
 * interpreter does. */
int main(void)
{
    int failed = 0;
    for (int e = WASMSLOT_ENGINE_INTERP; e <= WASMSLOT_ENGINE_NATIVE; e++) {
        if (!wasmslot_engine_available(e))
            continue;
        fixture_engine = e;
        SRunner *sr = srunner_create(interp_suite(wasmslot_engine_name(e)));
        srunner_run_all(sr, CK_NORMAL);
        failed += srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
