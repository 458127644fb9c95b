/* check_interrupt.c: unit tests of interrupt requests on an execution context: a plain one
 * sent before a run is stale and cleared, a sticky one stops the run it was meant for even when
 * sent before wasmslot_call starts, stays until cleared, and is never weakened by a plain one; and
 * the notify hook (wasmslot_exec_set_notify): once, on the running thread, after its time, with or
 * without a deadline, never for runs that end first. */
#include "config.h"

#include "wasmslot.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* (func "spin" (loop br 0)) and (func "answer" (result i32) i32.const 42). */
static const uint8_t module_bytes[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                   /* header */
    0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f,       /* types */
    0x03, 0x03, 0x02, 0x00, 0x01,                                     /* functions */
    0x07, 0x11, 0x02, 0x04, 's',  'p',  'i',  'n',  0x00, 0x00, 0x06, /* exports */
    'a',  'n',  's',  'w',  'e',  'r',  0x00, 0x01,                   /* */
    0x0a, 0x0e, 0x02, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, /* code: spin */
    0x04, 0x00, 0x41, 0x2a, 0x0b};                                    /* answer */

static struct wasmslot_module *mod;
static struct wasmslot_instance *inst;
static struct wasmslot_exec *ex;

static void setup(void)
{
    struct wasmslot_error err = {0};

    mod = wasmslot_module_new(module_bytes, sizeof(module_bytes), &err);
    ck_assert_msg(mod != NULL, "module: %s", err.message);
    inst = wasmslot_instance_new(mod, NULL, &err);
    ck_assert_msg(inst != NULL, "instance: %s", err.message);
    ex = wasmslot_exec_new(NULL, &err);
    ck_assert_ptr_nonnull(ex);
}

static void teardown(void)
{
    wasmslot_exec_free(ex);
    wasmslot_instance_free(inst);
    wasmslot_module_free(mod);
}

static struct wasmslot_func *func(const char *name)
{
    struct wasmslot_extern e;

    ck_assert_int_eq(wasmslot_instance_export(inst, name, strlen(name), &e), 0);
    ck_assert_int_eq(e.kind, WASMSLOT_EXTERN_FUNC);
    return e.of.func;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run "spin" with a deadline of limit_ms; returns its code and the milliseconds it took. */
static int spin_for(uint64_t *ms, uint64_t limit_ms)
{
    struct timespec ts;
    uint64_t t0 = now_ms();
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    wasmslot_exec_set_deadline(ex, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                                       limit_ms * 1000000u);
    rc = wasmslot_call(ex, func("spin"), NULL, 0, NULL, 0);
    wasmslot_exec_set_deadline(ex, 0);
    *ms = now_ms() - t0;
    return rc;
}

/* "spin" with a 5 s safety deadline. */
static int spin(uint64_t *ms)
{
    return spin_for(ms, 5000);
}

static int answer(void)
{
    struct wasmslot_value r;
    int rc = wasmslot_call(ex, func("answer"), NULL, 0, &r, 1);

    return rc < 0 ? rc : (int)r.of.i32;
}

START_TEST(test_plain_request_before_a_run_is_stale)
{
    wasmslot_exec_interrupt(ex);
    ck_assert_int_eq(answer(), 42);
}
END_TEST

START_TEST(test_sticky_request_before_a_run_stops_it)
{
    uint64_t ms;

    /* As when a daemon's connection closes after the run was registered, before wasmslot_call. */
    wasmslot_exec_interrupt_sticky(ex);
    ck_assert_int_eq(spin(&ms), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_lt(ms, 1000);
    /* It stays for later calls too, until the embedder clears it. */
    ck_assert_int_eq(spin(&ms), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_lt(ms, 1000);
    wasmslot_exec_clear_interrupt(ex);
    ck_assert_int_eq(answer(), 42);
}
END_TEST

START_TEST(test_plain_request_does_not_weaken_a_sticky_one)
{
    uint64_t ms;

    wasmslot_exec_interrupt_sticky(ex);
    wasmslot_exec_interrupt(ex);
    ck_assert_int_eq(spin(&ms), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_lt(ms, 1000);
    wasmslot_exec_clear_interrupt(ex);
    ck_assert_int_eq(answer(), 42);
}
END_TEST

static void *sticky_later(void *arg)
{
    struct timespec ts = {0, 30 * 1000000};

    nanosleep(&ts, NULL);
    wasmslot_exec_interrupt_sticky(arg);
    return NULL;
}

START_TEST(test_sticky_request_during_a_run)
{
    pthread_t t;
    uint64_t ms;

    ck_assert_int_eq(pthread_create(&t, NULL, sticky_later, ex), 0);
    ck_assert_int_eq(spin(&ms), -WASMSLOT_TRAP_TIMEOUT);
    pthread_join(t, NULL);
    ck_assert_uint_lt(ms, 1000);
    wasmslot_exec_clear_interrupt(ex);
    ck_assert_int_eq(answer(), 42);
}
END_TEST

/* ---------------------------------------------------------------- the notify hook */

struct notice {
    int calls;
    uint64_t at_ms;
    pthread_t thread;
    bool interrupt; /* end the run from the hook (as a scheduler might) */
};

static void on_notice(void *arg)
{
    struct notice *n = arg;

    n->calls++;
    n->at_ms = now_ms();
    n->thread = pthread_self();
    if (n->interrupt)
        wasmslot_exec_interrupt(ex);
}

static uint64_t mono_ns_in(uint64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ms * 1000000u;
}

START_TEST(test_notify_during_a_long_run)
{
    struct notice n = {0};
    uint64_t t0 = now_ms(), ms;
    int rc;

    wasmslot_exec_set_notify(ex, mono_ns_in(20), on_notice, &n);
    wasmslot_exec_set_deadline(ex, mono_ns_in(150));
    rc = wasmslot_call(ex, func("spin"), NULL, 0, NULL, 0);
    wasmslot_exec_set_deadline(ex, 0);
    ms = now_ms() - t0;
    ck_assert_int_eq(rc, -WASMSLOT_TRAP_TIMEOUT);
    /* Once, on the running thread, after its time and well before the run's end. */
    ck_assert_int_eq(n.calls, 1);
    ck_assert(pthread_equal(n.thread, pthread_self()));
    ck_assert_uint_ge(n.at_ms - t0, 19);
    ck_assert_uint_lt(n.at_ms - t0, 140);
    ck_assert_uint_ge(ms, 140);
    /* One-shot: the next run does not hear of it again. */
    ck_assert_int_eq(answer(), 42);
    ck_assert_int_eq(n.calls, 1);
}
END_TEST

START_TEST(test_notify_without_a_deadline)
{
    struct notice n = {.interrupt = true};
    uint64_t ms;
    int rc;

    /* The clock is read for the hook alone; here the hook ends the run. */
    wasmslot_exec_set_notify(ex, mono_ns_in(20), on_notice, &n);
    {
        uint64_t t0 = now_ms();
        rc = wasmslot_call(ex, func("spin"), NULL, 0, NULL, 0);
        ms = now_ms() - t0;
    }
    ck_assert_int_eq(rc, -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_int_eq(n.calls, 1);
    ck_assert_uint_ge(ms, 19);
    ck_assert_uint_lt(ms, 2000);
}
END_TEST

START_TEST(test_notify_not_for_short_runs)
{
    struct notice n = {0};

    wasmslot_exec_set_notify(ex, mono_ns_in(50), on_notice, &n);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(answer(), 42);
    wasmslot_exec_set_notify(ex, 0, NULL, NULL);
    ck_assert_int_eq(n.calls, 0);
    /* Cleared: a long run later is not reported either. */
    {
        uint64_t ms;
        ck_assert_int_eq(spin_for(&ms, 100), -WASMSLOT_TRAP_TIMEOUT);
    }
    ck_assert_int_eq(n.calls, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("interrupt");
    TCase *tc = tcase_create("requests");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plain_request_before_a_run_is_stale);
    tcase_add_test(tc, test_sticky_request_before_a_run_stops_it);
    tcase_add_test(tc, test_plain_request_does_not_weaken_a_sticky_one);
    tcase_add_test(tc, test_sticky_request_during_a_run);
    tcase_add_test(tc, test_notify_during_a_long_run);
    tcase_add_test(tc, test_notify_without_a_deadline);
    tcase_add_test(tc, test_notify_not_for_short_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
