/* check_memory.c: unit tests of linear memories: plain memories, growth, limits, guard faults,
 * reference counting across threads, and the generic protocol other backing stores use. */
#include "config.h"

#include "runtime/runtime.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Under valgrind the deliberate faults below are reported as invalid reads; skip them there. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

START_TEST(test_new_grow_to_max_and_past)
{
    struct wasmslot_error err;
    struct wasmslot_memory *mem = wasmslot_memory_new(1, 4, false, &err);
    uint32_t old = 99;

    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(wasmslot_memory_base(mem));
    ck_assert_uint_eq(wasmslot_memory_size(mem), WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(wasmslot_memory_max_pages(mem), 4);
    ck_assert(!wasmslot_memory_is_shared(mem));
    /* Fresh pages read as zero and are writable. */
    ck_assert_uint_eq(wasmslot_memory_base(mem)[WASMSLOT_PAGE_SIZE - 1], 0);
    wasmslot_memory_base(mem)[WASMSLOT_PAGE_SIZE - 1] = 0xab;

    ck_assert_int_eq(wasmslot_memory_grow(mem, 0, &old), 0);
    ck_assert_uint_eq(old, 1);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 2, &old), 0);
    ck_assert_uint_eq(old, 1);
    ck_assert_uint_eq(wasmslot_memory_size(mem), 3 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[WASMSLOT_PAGE_SIZE - 1], 0xab);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[3 * WASMSLOT_PAGE_SIZE - 1], 0);
    wasmslot_memory_base(mem)[3 * WASMSLOT_PAGE_SIZE - 1] = 1;

    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), 0);
    ck_assert_uint_eq(old, 3);
    /* One page past the maximum fails and changes nothing. */
    old = 99;
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(old, 99);
    ck_assert_int_eq(wasmslot_memory_grow(mem, UINT32_MAX, &old), -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(wasmslot_memory_size(mem), 4 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(atomic_load(&mem->grows), 2);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_zero_pages)
{
    struct wasmslot_memory *mem = wasmslot_memory_new(0, 2, false, NULL);
    uint32_t old = 99;

    ck_assert_ptr_nonnull(mem);
    ck_assert_uint_eq(wasmslot_memory_size(mem), 0);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), 0);
    ck_assert_uint_eq(old, 0);
    wasmslot_memory_base(mem)[0] = 7;
    ck_assert_uint_eq(wasmslot_memory_base(mem)[0], 7);
    wasmslot_memory_unref(mem);

    /* A memory that can never grow is fine too. */
    mem = wasmslot_memory_new(0, 0, false, NULL);
    ck_assert_ptr_nonnull(mem);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), -WASMSLOT_ELIMIT);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 0, &old), 0);
    ck_assert_uint_eq(old, 0);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_grow_to_4gib)
{
    struct wasmslot_memory *mem = wasmslot_memory_new(0, 65536, false, NULL);
    uint32_t old = 99;
    uint8_t *top;

    ck_assert_ptr_nonnull(mem);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 65536, &old), 0);
    ck_assert_uint_eq(old, 0);
    ck_assert_uint_eq(wasmslot_memory_size(mem), (size_t)1 << 32);
    /* Touch only the last page: the rest stays unbacked. */
    top = wasmslot_memory_base(mem) + ((size_t)1 << 32) - 8;
    memcpy(top, "12345678", 8);
    ck_assert_int_eq(memcmp(top, "12345678", 8), 0);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), -WASMSLOT_ELIMIT);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_bad_limits)
{
    struct wasmslot_error err;

    ck_assert_ptr_null(wasmslot_memory_new(2, 1, false, &err));
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_ptr_null(wasmslot_memory_new(0, 65537, false, &err));
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_ptr_null(wasmslot_memory_new(0, 65537, false, NULL));
}
END_TEST

/* ---- faults past the current size */

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
    siglongjmp(fault_jmp, sig);
}

/* Returns the signal a read of *p raised, or 0 when it did not fault. */
static int probe(volatile uint8_t *p)
{
    struct sigaction sa, old_segv, old_bus;
    volatile int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    sig = sigsetjmp(fault_jmp, 1);
    if (sig == 0)
        (void)*p;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return sig;
}

START_TEST(test_accesses_past_size_fault)
{
    struct wasmslot_memory *mem = wasmslot_memory_new(1, 3, false, NULL);
    uint8_t *base = wasmslot_memory_base(mem);

    if (RUNNING_ON_VALGRIND) {
        wasmslot_memory_unref(mem);
        return;
    }
    ck_assert_int_eq(probe(base + WASMSLOT_PAGE_SIZE - 1), 0);
    ck_assert_int_ne(probe(base + WASMSLOT_PAGE_SIZE), 0);
    /* The far end of the reservation and its guard fault as well, even past the maximum. */
    ck_assert_int_ne(probe(base + WASMSLOT_MEM_RESERVE - 1), 0);
    ck_assert_int_ne(probe(base + WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD - 1), 0);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, NULL), 0);
    ck_assert_int_eq(probe(base + WASMSLOT_PAGE_SIZE), 0);
    ck_assert_int_ne(probe(base + 2 * WASMSLOT_PAGE_SIZE), 0);
    wasmslot_memory_unref(mem);
}
END_TEST

/* ---- reference counting and the backing-store protocol */

struct fake_store {
    struct wasmslot_memory mem;
    uint8_t *pages;
    size_t grown_to;
    int destroyed;
    pthread_t destroyer;
};

static int fake_grow(struct wasmslot_memory *mem, size_t new_size)
{
    struct fake_store *fs = mem->owner;

    /* The generic code must call us before it publishes the new size. */
    ck_assert_uint_lt(wasmslot_memory_size(mem), new_size);
    if (new_size > 2 * WASMSLOT_PAGE_SIZE)
        return -ENOSPC;
    fs->grown_to = new_size;
    return 0;
}

static void fake_destroy(struct wasmslot_memory *mem)
{
    struct fake_store *fs = mem->owner;

    fs->destroyed++;
    fs->destroyer = pthread_self();
}

static const struct wasmslot_memory_ops fake_ops = {.grow = fake_grow, .destroy = fake_destroy};

static void *unref_thread(void *arg)
{
    wasmslot_memory_unref(arg);
    return NULL;
}

START_TEST(test_backing_store_protocol)
{
    struct fake_store fs;
    uint32_t old;
    pthread_t th;

    memset(&fs, 0, sizeof(fs));
    wasmslot_memory__init(&fs.mem, (uint8_t *)&fs, 0, 8, true, &fake_ops, &fs);
    ck_assert(fs.mem.has_max);
    ck_assert(wasmslot_memory_is_shared(&fs.mem));
    ck_assert_int_eq(wasmslot_memory_grow(&fs.mem, 2, &old), 0);
    ck_assert_uint_eq(fs.grown_to, 2 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(wasmslot_memory_size(&fs.mem), 2 * WASMSLOT_PAGE_SIZE);
    /* A backing store's failure is returned as is and leaves the size alone. */
    ck_assert_int_eq(wasmslot_memory_grow(&fs.mem, 1, &old), -ENOSPC);
    ck_assert_uint_eq(wasmslot_memory_size(&fs.mem), 2 * WASMSLOT_PAGE_SIZE);
    ck_assert_int_eq(wasmslot_memory_grow(&fs.mem, 7, &old), -WASMSLOT_ELIMIT);

    ck_assert_uint_eq(wasmslot_memory_refs(&fs.mem), 1);
    ck_assert_ptr_eq(wasmslot_memory_ref(&fs.mem), &fs.mem);
    ck_assert_uint_eq(wasmslot_memory_refs(&fs.mem), 2);
    ck_assert_ptr_null(wasmslot_memory_ref(NULL));
    wasmslot_memory_unref(NULL);
    wasmslot_memory_unref(&fs.mem);
    ck_assert_uint_eq(wasmslot_memory_refs(&fs.mem), 1);
    ck_assert_int_eq(fs.destroyed, 0);
    /* The last reference dropped on another thread destroys it there. */
    ck_assert_int_eq(pthread_create(&th, NULL, unref_thread, &fs.mem), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(fs.destroyed, 1);
    ck_assert(pthread_equal(fs.destroyer, th));
}
END_TEST

START_TEST(test_plain_freed_by_other_thread)
{
    struct wasmslot_memory *mem = wasmslot_memory_new(1, 1, false, NULL);
    pthread_t th;

    ck_assert_ptr_nonnull(mem);
    wasmslot_memory_ref(mem);
    wasmslot_memory_unref(mem);
    /* valgrind's leak check sees whether this really released the memory. */
    ck_assert_int_eq(pthread_create(&th, NULL, unref_thread, mem), 0);
    pthread_join(th, NULL);
}
END_TEST

#define GROWERS    4
#define GROWS_EACH 25

static void *grow_thread(void *arg)
{
    struct wasmslot_memory *mem = arg;

    for (int i = 0; i < GROWS_EACH; i++) {
        uint32_t old;
        ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), 0);
        /* A grow makes its page usable before any reader can see the new size. */
        wasmslot_memory_base(mem)[(size_t)old * WASMSLOT_PAGE_SIZE] = 1;
    }
    return NULL;
}

START_TEST(test_concurrent_grows)
{
    struct wasmslot_memory *mem = wasmslot_memory_new(0, GROWERS * GROWS_EACH, true, NULL);
    pthread_t th[GROWERS];

    ck_assert_ptr_nonnull(mem);
    for (int i = 0; i < GROWERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, grow_thread, mem), 0);
    for (int i = 0; i < GROWERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(wasmslot_memory_size(mem), (size_t)GROWERS * GROWS_EACH * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(atomic_load(&mem->grows), GROWERS * GROWS_EACH);
    for (size_t p = 0; p < GROWERS * GROWS_EACH; p++)
        ck_assert_uint_eq(wasmslot_memory_base(mem)[p * WASMSLOT_PAGE_SIZE], 1);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, NULL), -WASMSLOT_ELIMIT);
    wasmslot_memory_unref(mem);
}
END_TEST

static Suite *memory_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("plain");

    /* Growing to 4 GiB and probing the guard take a moment under valgrind. */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_new_grow_to_max_and_past);
    tcase_add_test(tc, test_zero_pages);
    tcase_add_test(tc, test_grow_to_4gib);
    tcase_add_test(tc, test_bad_limits);
    tcase_add_test(tc, test_accesses_past_size_fault);
    tcase_add_test(tc, test_backing_store_protocol);
    tcase_add_test(tc, test_plain_freed_by_other_thread);
    tcase_add_test(tc, test_concurrent_grows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(memory_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
