/* check_shmem.c: unit tests of shared memories: limits and faults, concurrent growth, probing
 * while others grow, wait/notify (ping-pong, timeouts, counts, interruption), release from
 * another thread, sharing with a forked process, and guest code on a shared memory. */
#include "config.h"

#include "mem/shmem.h"
#include "wasm_fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under valgrind the deliberate faults are reported as invalid accesses (skipped there), and
 * everything is slower (fewer rounds). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#endif
#endif
/* ThreadSanitizer does not let the engine's fault handler (lib/trap.c) unwind a guest's fault. */
#if defined(__SANITIZE_THREAD__)
#define GUEST_FAULTS_WORK 0
#else
#define GUEST_FAULTS_WORK (!RUNNING_ON_VALGRIND)
#endif
#ifndef VALGRIND_HG_DISABLE_CHECKING
#define VALGRIND_HG_DISABLE_CHECKING(a, n) ((void)0)
#endif

#ifndef WAT_DIR
#define WAT_DIR "tests/wat"
#endif

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static _Atomic uint32_t *word32(struct wasmslot_memory *mem, uint64_t off)
{
    return (_Atomic uint32_t *)(wasmslot_memory_base(mem) + off);
}

/* ---------------------------------------------------------------- probing for faults */

static __thread sigjmp_buf *volatile probe_jmp;
static __thread volatile sig_atomic_t probe_sig;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void on_probe_fault(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (probe_jmp != NULL) {
        probe_sig = sig;
        siglongjmp(*probe_jmp, 1);
    }
    signal(sig, SIG_DFL);
}

static void probe_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_probe_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* Read then write back the byte at p; returns 0, or the signal the access raised. */
static int probe(volatile uint8_t *p)
{
    sigjmp_buf jb;

    pthread_once(&probe_once, probe_install);
    probe_sig = 0;
    if (sigsetjmp(jb, 1) == 0) {
        probe_jmp = &jb;
        uint8_t v = *p;
        *p = v;
    }
    probe_jmp = NULL;
    return probe_sig;
}

/* ---------------------------------------------------------------- statistics */

struct stat_pick {
    const char *name;
    uint64_t value;
    int seen;
};

static void pick_sink(void *arg, const char *name, enum wasmslot_stats_kind kind, uint64_t value)
{
    struct stat_pick *p = arg;

    (void)kind;
    if (strcmp(name, p->name) == 0) {
        p->value = value;
        p->seen++;
    }
}

static uint64_t stat_of(struct wasmslot_memory *mem, const char *name)
{
    struct stat_pick p = {name, 0, 0};

    wasmslot_shmem_stats(mem, pick_sink, &p);
    ck_assert_msg(p.seen == 1, "statistic %s reported %d times", name, p.seen);
    return p.value;
}

/* ---------------------------------------------------------------- objects, growth, faults */

START_TEST(test_new_limits_grow)
{
    struct wasmslot_error err;
    struct wasmslot_memory *mem = wasmslot_shmem_new("check-shmem", 1, 4, &err);
    uint32_t old = 99;

    ck_assert_ptr_nonnull(mem);
    ck_assert(wasmslot_shmem_is_shmem(mem));
    ck_assert(wasmslot_memory_is_shared(mem));
    ck_assert_uint_eq(wasmslot_memory_size(mem), WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(wasmslot_memory_max_pages(mem), 4);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[WASMSLOT_PAGE_SIZE - 1], 0);
    wasmslot_memory_base(mem)[WASMSLOT_PAGE_SIZE - 1] = 0xab;

    ck_assert_int_eq(wasmslot_memory_grow(mem, 0, &old), 0);
    ck_assert_uint_eq(old, 1);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 2, &old), 0);
    ck_assert_uint_eq(old, 1);
    ck_assert_uint_eq(wasmslot_memory_size(mem), 3 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[WASMSLOT_PAGE_SIZE - 1], 0xab);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[3 * WASMSLOT_PAGE_SIZE - 1], 0);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), 0);
    ck_assert_uint_eq(old, 3);
    old = 99;
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), -WASMSLOT_ELIMIT);
    ck_assert_int_eq(wasmslot_memory_grow(mem, UINT32_MAX, &old), -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(old, 99);
    ck_assert_uint_eq(wasmslot_memory_size(mem), 4 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(stat_of(mem, "grows"), 2);
    ck_assert_uint_eq(stat_of(mem, "size_bytes"), 4 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(stat_of(mem, "max_bytes"), 4 * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    wasmslot_memory_unref(mem);

    /* Bad limits. */
    ck_assert_ptr_null(wasmslot_shmem_new(NULL, 2, 1, &err));
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_ptr_null(wasmslot_shmem_new(NULL, 0, 65537, &err));
    ck_assert_int_eq(err.code, -EINVAL);

    /* Zero pages, and a memory that cannot grow at all. */
    mem = wasmslot_shmem_new(NULL, 0, 0, &err);
    ck_assert_ptr_nonnull(mem);
    ck_assert_uint_eq(wasmslot_memory_size(mem), 0);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &old), -WASMSLOT_ELIMIT);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_faults_past_size_and_max)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 2, NULL);
    uint8_t *b;

    if (RUNNING_ON_VALGRIND) {
        wasmslot_memory_unref(mem);
        return;
    }
    ck_assert_ptr_nonnull(mem);
    b = wasmslot_memory_base(mem);
    ck_assert_int_eq(probe(b), 0);
    ck_assert_int_eq(probe(b + WASMSLOT_PAGE_SIZE - 1), 0);
    /* Past the memfd's end: SIGBUS; past the maximum: the PROT_NONE reservation. */
    ck_assert_int_eq(probe(b + WASMSLOT_PAGE_SIZE), SIGBUS);
    ck_assert_int_eq(probe(b + 2 * WASMSLOT_PAGE_SIZE), SIGSEGV);
    ck_assert_int_eq(probe(b + WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD - 1), SIGSEGV);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, NULL), 0);
    ck_assert_int_eq(probe(b + 2 * WASMSLOT_PAGE_SIZE - 1), 0);
    ck_assert_int_eq(probe(b + 2 * WASMSLOT_PAGE_SIZE), SIGSEGV);
    wasmslot_memory_unref(mem);
}
END_TEST

#define GROW_THREADS 4
#define GROWS_EACH   64

struct grower {
    struct wasmslot_memory *mem;
    uint32_t olds[GROWS_EACH];
    int rc;
};

static void *grow_thread(void *arg)
{
    struct grower *g = arg;

    for (int i = 0; i < GROWS_EACH && g->rc == 0; i++)
        g->rc = wasmslot_memory_grow(g->mem, 1, &g->olds[i]);
    return NULL;
}

START_TEST(test_concurrent_grow_distinct_increasing)
{
    const uint32_t min = 3, total = GROW_THREADS * GROWS_EACH;
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, min, min + total, NULL);
    struct grower g[GROW_THREADS];
    pthread_t t[GROW_THREADS];
    static uint8_t seen[GROW_THREADS * GROWS_EACH + 3];

    ck_assert_ptr_nonnull(mem);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < GROW_THREADS; i++) {
        g[i] = (struct grower){.mem = mem};
        ck_assert_int_eq(pthread_create(&t[i], NULL, grow_thread, &g[i]), 0);
    }
    for (int i = 0; i < GROW_THREADS; i++)
        pthread_join(t[i], NULL);
    /* Each grow saw a different old size, each thread's in increasing order, and together
     * they are exactly min .. min + total - 1. */
    for (int i = 0; i < GROW_THREADS; i++) {
        ck_assert_int_eq(g[i].rc, 0);
        for (int k = 0; k < GROWS_EACH; k++) {
            uint32_t o = g[i].olds[k];
            ck_assert_uint_ge(o, min);
            ck_assert_uint_lt(o, min + total);
            ck_assert_msg(!seen[o], "old size %u returned twice", o);
            seen[o] = 1;
            if (k > 0)
                ck_assert_uint_gt(o, g[i].olds[k - 1]);
        }
    }
    ck_assert_uint_eq(wasmslot_memory_size(mem), (size_t)(min + total) * WASMSLOT_PAGE_SIZE);
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, NULL), -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(stat_of(mem, "grows"), total);
    /* Every page is there. */
    wasmslot_memory_base(mem)[(size_t)(min + total) * WASMSLOT_PAGE_SIZE - 1] = 1;
    wasmslot_memory_unref(mem);
}
END_TEST

struct prober {
    struct wasmslot_memory *mem;
    _Atomic int growers_left;
    long probes, faults;
};

static void *probe_grow_thread(void *arg)
{
    struct prober *p = arg;

    while (wasmslot_memory_grow(p->mem, 1, NULL) == 0)
        ;
    atomic_fetch_sub(&p->growers_left, 1);
    return NULL;
}

START_TEST(test_probe_last_page_while_growing)
{
    struct prober p = {.mem = wasmslot_shmem_new(NULL, 1, RUNNING_ON_VALGRIND ? 128 : 1024, NULL)};
    pthread_t t[2];

    if (RUNNING_ON_VALGRIND) {
        /* A spurious fault would be reported by valgrind, but the probe's handler cannot run
         * there; the growth itself is still exercised. */
    }
    ck_assert_ptr_nonnull(p.mem);
    atomic_init(&p.growers_left, 2);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, probe_grow_thread, &p), 0);
    /* The size read must never be ahead of the pages: touch the last byte and the first byte
     * of the last page of whatever size is published, as fast as possible. */
    do {
        size_t size = wasmslot_memory_size(p.mem);
        uint8_t *b = wasmslot_memory_base(p.mem);
        if (!RUNNING_ON_VALGRIND) {
            p.faults += probe(b + size - 1) != 0;
            p.faults += probe(b + size - WASMSLOT_PAGE_SIZE) != 0;
        } else {
            b[size - 1]++;
        }
        p.probes++;
    } while (atomic_load(&p.growers_left) > 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(p.faults, 0);
    ck_assert_int_gt(p.probes, 0);
    ck_assert_uint_eq(wasmslot_memory_size(p.mem),
                      (size_t)wasmslot_memory_max_pages(p.mem) * WASMSLOT_PAGE_SIZE);
    wasmslot_memory_unref(p.mem);
}
END_TEST

/* ---------------------------------------------------------------- wait / notify */

struct pingpong {
    struct wasmslot_memory *mem;
    uint64_t off;
    uint32_t rounds;
    uint32_t parity; /* 0: moves on even values, 1: on odd */
    uint32_t oks, bad;
};

/* One player: wait for its turn (the counter's parity), take it, wake the other. */
static void *pingpong_thread(void *arg)
{
    struct pingpong *p = arg;
    _Atomic uint32_t *c = word32(p->mem, p->off);

    for (uint32_t r = 0; r < p->rounds; r++) {
        uint32_t mine = 2 * r + p->parity, v;
        while ((v = atomic_load(c)) != mine) {
            int rc = wasmslot_shmem_wait32(p->mem, p->off, v, -1, NULL);
            if (rc == WASMSLOT_SHMEM_WAIT_OK)
                p->oks++;
            else if (rc != WASMSLOT_SHMEM_WAIT_NOT_EQUAL)
                p->bad++;
        }
        atomic_store(c, mine + 1);
        if (wasmslot_shmem_notify(p->mem, p->off, 1) < 0)
            p->bad++;
    }
    return NULL;
}

static void run_pingpong(struct wasmslot_memory *mem, uint64_t off, uint32_t rounds)
{
    struct pingpong a = {mem, off, rounds, 0, 0, 0}, b = {mem, off, rounds, 1, 0, 0};
    pthread_t ta, tb;

    atomic_store(word32(mem, off), 0);
    ck_assert_int_eq(pthread_create(&ta, NULL, pingpong_thread, &a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, pingpong_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ck_assert_uint_eq(atomic_load(word32(mem, off)), 2 * rounds);
    ck_assert_uint_eq(a.bad + b.bad, 0);
    /* With a waiter sleeping on nearly every turn, most turns went through a real wake-up. */
    ck_assert_uint_gt(a.oks + b.oks, 0);
}

START_TEST(test_pingpong_thousands_of_rounds)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    uint32_t rounds = RUNNING_ON_VALGRIND ? 2000 : 20000;

    ck_assert_ptr_nonnull(mem);
    run_pingpong(mem, 64, rounds);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    ck_assert_uint_gt(stat_of(mem, "waits"), 0);
    ck_assert_uint_eq(stat_of(mem, "wakeups"), stat_of(mem, "waits"));
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_pingpong_plain_shared_memory)
{
    /* A memory a module defines as shared is a plain one: the process's own queue serves it. */
    struct wasmslot_memory *mem = wasmslot_memory_new(1, 1, true, NULL);

    ck_assert_ptr_nonnull(mem);
    run_pingpong(mem, 4096, RUNNING_ON_VALGRIND ? 1000 : 5000);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_wait_not_equal_and_timeouts)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    uint64_t t0;

    ck_assert_ptr_nonnull(mem);
    atomic_store(word32(mem, 0), 7);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 6, -1, NULL), WASMSLOT_SHMEM_WAIT_NOT_EQUAL);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 7, 0, NULL), WASMSLOT_SHMEM_WAIT_TIMED_OUT);

    t0 = now_ns();
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 7, 30000000, NULL),
                     WASMSLOT_SHMEM_WAIT_TIMED_OUT);
    ck_assert_uint_ge(now_ns() - t0, 30000000);

    /* wait64 compares all 64 bits: a difference in the high half alone is not equal. */
    atomic_store((_Atomic uint64_t *)(wasmslot_memory_base(mem) + 8), 0x100000005ull);
    ck_assert_int_eq(wasmslot_shmem_wait64(mem, 8, 5, -1, NULL), WASMSLOT_SHMEM_WAIT_NOT_EQUAL);
    ck_assert_int_eq(wasmslot_shmem_wait64(mem, 8, 0x200000005ull, -1, NULL),
                     WASMSLOT_SHMEM_WAIT_NOT_EQUAL);
    t0 = now_ns();
    ck_assert_int_eq(wasmslot_shmem_wait64(mem, 8, 0x100000005ull, 20000000, NULL),
                     WASMSLOT_SHMEM_WAIT_TIMED_OUT);
    ck_assert_uint_ge(now_ns() - t0, 20000000);
    ck_assert_uint_eq(stat_of(mem, "wait_timeouts"), 3);
    /* Nobody waits: notify wakes nobody. */
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 0, 5), 0);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_wait_notify_checks)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 2, NULL);
    struct wasmslot_memory *plain = wasmslot_memory_new(1, 1, false, NULL);
    const uint64_t end = WASMSLOT_PAGE_SIZE;

    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(plain);
    /* The threads proposal's own cases (threads/atomic.wast). */
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, end, 0, 0, NULL), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_shmem_wait64(mem, end, 0, 0, NULL), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, end - 4 + 2, 0, 0, NULL),
                     -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_shmem_wait64(mem, UINT64_MAX - 3, 0, 0, NULL),
                     -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, end, 0), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 65531, 0, 0, NULL),
                     -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    ck_assert_int_eq(wasmslot_shmem_wait64(mem, 65524, 0, 0, NULL),
                     -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 65531, 0), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 0, 0, NULL), WASMSLOT_SHMEM_WAIT_TIMED_OUT);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 0, 0), 0);
    /* After a grow the new page can be waited on. */
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, NULL), 0);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, end, 0, 0, NULL), WASMSLOT_SHMEM_WAIT_TIMED_OUT);

    ck_assert_int_eq(wasmslot_shmem_wait32(plain, 0, 0, 0, NULL), -WASMSLOT_TRAP_EXPECTED_SHARED);
    ck_assert_int_eq(wasmslot_shmem_wait64(plain, 0, 0, 0, NULL), -WASMSLOT_TRAP_EXPECTED_SHARED);
    ck_assert_int_eq(wasmslot_shmem_notify(plain, 0, 10), 0);
    ck_assert_int_eq(wasmslot_shmem_notify(plain, end, 0), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_shmem_notify(plain, 65531, 0), -WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    wasmslot_memory_unref(plain);
    wasmslot_memory_unref(mem);
}
END_TEST

struct waiter_arg {
    struct wasmslot_memory *mem;
    uint64_t off;
    bool is64;
    int64_t timeout;
    struct wasmslot_exec *ex;
    int rc;
    uint64_t elapsed;
};

static void *waiter_thread(void *arg)
{
    struct waiter_arg *w = arg;
    uint64_t t0 = now_ns();

    if (w->is64)
        w->rc = wasmslot_shmem_wait64(w->mem, w->off, 0, w->timeout, w->ex);
    else
        w->rc = wasmslot_shmem_wait32(w->mem, w->off, 0, w->timeout, w->ex);
    w->elapsed = now_ns() - t0;
    return NULL;
}

static void wait_for_waiters(struct wasmslot_memory *mem, uint64_t n)
{
    for (int i = 0; i < 10000 && stat_of(mem, "waiters") < n; i++)
        usleep(1000);
    ck_assert_uint_eq(stat_of(mem, "waiters"), n);
}

START_TEST(test_notify_counts_exactly)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    struct waiter_arg w[5];
    pthread_t t[5];

    ck_assert_ptr_nonnull(mem);
    /* Three waiters on offset 8 (one of them a wait64), one on 16, one on 12. */
    const uint64_t offs[5] = {8, 8, 8, 16, 12};
    for (int i = 0; i < 5; i++) {
        w[i] = (struct waiter_arg){.mem = mem, .off = offs[i], .is64 = i == 2, .timeout = -1};
        ck_assert_int_eq(pthread_create(&t[i], NULL, waiter_thread, &w[i]), 0);
    }
    wait_for_waiters(mem, 5);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 4, 10), 0);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 8, 2), 2);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 8, 0), 0);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 8, 5), 1);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 8, 5), 0);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 16, UINT32_MAX), 1);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 12, 1), 1);
    for (int i = 0; i < 5; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].rc, WASMSLOT_SHMEM_WAIT_OK);
    }
    ck_assert_uint_eq(stat_of(mem, "wakeups"), 5);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    wasmslot_memory_unref(mem);
}
END_TEST

struct racer {
    struct wasmslot_memory *mem;
    uint32_t rounds;
    uint32_t oks, timeouts, bad;
    _Atomic int *left;
};

static void *race_waiter(void *arg)
{
    struct racer *r = arg;

    for (uint32_t i = 0; i < r->rounds; i++) {
        /* Timeouts of 0 to 63 us: about as long as a notify takes to come. */
        int rc = wasmslot_shmem_wait32(r->mem, 32, 0, (int64_t)(i * 7919 % 64) * 1000, NULL);
        if (rc == WASMSLOT_SHMEM_WAIT_OK)
            r->oks++;
        else if (rc == WASMSLOT_SHMEM_WAIT_TIMED_OUT)
            r->timeouts++;
        else
            r->bad++;
    }
    atomic_fetch_sub(r->left, 1);
    return NULL;
}

START_TEST(test_timeouts_racing_notifies_count_exactly)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    _Atomic int left = 2;
    struct racer r[2];
    pthread_t t[2];
    uint64_t notified = 0;

    ck_assert_ptr_nonnull(mem);
    for (int i = 0; i < 2; i++) {
        r[i] =
            (struct racer){.mem = mem, .rounds = RUNNING_ON_VALGRIND ? 300 : 3000, .left = &left};
        ck_assert_int_eq(pthread_create(&t[i], NULL, race_waiter, &r[i]), 0);
    }
    /* Every waiter a notify counts must return "ok", and no other: the totals match. */
    while (atomic_load(&left) > 0) {
        int n = wasmslot_shmem_notify(mem, 32, 1);
        ck_assert_int_ge(n, 0);
        notified += (uint64_t)n;
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ck_assert_uint_eq(r[i].bad, 0);
        ck_assert_uint_eq(r[i].oks + r[i].timeouts, r[i].rounds);
    }
    /* Both outcomes happened, so the races were really run. */
    ck_assert_uint_gt(r[0].oks + r[1].oks, 0);
    ck_assert_uint_gt(r[0].timeouts + r[1].timeouts, 0);
    ck_assert_uint_eq(notified, r[0].oks + r[1].oks);
    ck_assert_uint_eq(stat_of(mem, "wakeups"), notified);
    ck_assert_uint_eq(stat_of(mem, "wait_timeouts"), r[0].timeouts + r[1].timeouts);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_wait_ends_with_exec_deadline_or_interrupt)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct waiter_arg w = {.mem = mem, .off = 0, .timeout = -1, .ex = ex};
    pthread_t t;
    uint64_t t0;

    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(ex);
    /* The interruption flag is a relaxed C11 atomic, which helgrind does not model. */
    VALGRIND_HG_DISABLE_CHECKING(&ex->interrupt, sizeof(ex->interrupt));
    /* A wait forever in a run with a deadline ends with the run's timeout trap, on time. */
    t0 = now_ns();
    wasmslot_exec_set_deadline(ex, t0 + 50000000);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 0, -1, ex), -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_ge(now_ns() - t0, 50000000);
    ck_assert_uint_lt(now_ns() - t0, 2000000000);
    /* A shorter timeout of its own still wins. */
    wasmslot_exec_set_deadline(ex, now_ns() + 5000000000ull);
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 0, 1000000, ex), WASMSLOT_SHMEM_WAIT_TIMED_OUT);

    /* Interrupted from another thread while waiting forever, without a deadline. */
    wasmslot_exec_set_deadline(ex, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, waiter_thread, &w), 0);
    wait_for_waiters(mem, 1);
    wasmslot_exec_interrupt(ex);
    pthread_join(t, NULL);
    ck_assert_int_eq(w.rc, -WASMSLOT_TRAP_TIMEOUT);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    /* The interrupted waiter left the queue: a notify finds nobody. */
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 0, 1), 0);
    wasmslot_exec_free(ex);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_too_many_waiters)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    enum { N = WASMSLOT_SHMEM_MAX_WAITERS };
    static struct waiter_arg w[N];
    static pthread_t t[N];
    pthread_attr_t a;
    int started = 0;

    if (RUNNING_ON_VALGRIND) {
        wasmslot_memory_unref(mem);
        return;
    }
    ck_assert_ptr_nonnull(mem);
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    for (int i = 0; i < N; i++) {
        w[i] = (struct waiter_arg){.mem = mem, .off = 4 * (uint64_t)(i % 16), .timeout = -1};
        if (pthread_create(&t[i], &a, waiter_thread, &w[i]) != 0)
            break;
        started++;
    }
    pthread_attr_destroy(&a);
    wait_for_waiters(mem, (uint64_t)started);
    if (started == N)
        ck_assert_int_eq(wasmslot_shmem_wait32(mem, 0, 0, -1, NULL), -WASMSLOT_ELIMIT);
    int woken = 0;
    for (uint64_t off = 0; off < 64; off += 4)
        woken += wasmslot_shmem_notify(mem, off, UINT32_MAX);
    ck_assert_int_eq(woken, started);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].rc, WASMSLOT_SHMEM_WAIT_OK);
    }
    wasmslot_memory_unref(mem);
}
END_TEST

/* ---------------------------------------------------------------- references */

/* Whether the memfd named name is still mapped or open in this process. */
static bool memfd_alive(const char *name)
{
    char line[512], pat[128];
    bool found = false;
    FILE *f = fopen("/proc/self/maps", "r");

    snprintf(pat, sizeof pat, "/memfd:%s ", name);
    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, pat) != NULL;
    fclose(f);
    return found;
}

static void *last_release_thread(void *arg)
{
    struct wasmslot_memory *mem = arg;

    wasmslot_memory_base(mem)[10] = 42;
    ck_assert_int_eq(wasmslot_memory_grow(mem, 1, NULL), 0);
    wasmslot_memory_unref(mem); /* the last reference: frees on this thread */
    return NULL;
}

START_TEST(test_last_release_on_another_thread)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new("check-shmem-release", 1, 4, NULL);
    pthread_t t;

    ck_assert_ptr_nonnull(mem);
    ck_assert(memfd_alive("check-shmem-release"));
    /* The "instance" thread takes its reference, then the creator lets go of its own. */
    ck_assert_ptr_eq(wasmslot_memory_ref(mem), mem);
    wasmslot_memory_unref(mem);
    ck_assert(memfd_alive("check-shmem-release"));
    ck_assert_int_eq(pthread_create(&t, NULL, last_release_thread, mem), 0);
    pthread_join(t, NULL);
    ck_assert(!memfd_alive("check-shmem-release"));
}
END_TEST

/* ---------------------------------------------------------------- across processes */

static int wait_child(pid_t pid)
{
    int st = 0;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_two_processes_bytes_size_wait_notify)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new("check-shmem-fork", 1, 8, NULL);
    pid_t pid;
    uint8_t *b;

    ck_assert_ptr_nonnull(mem);
    b = wasmslot_memory_base(mem);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Child: write, grow, write into the new pages, tell the parent, then wait to be woken
         * by it. Its exit code says what went wrong. */
        uint32_t old = 0;
        memcpy(b + 100, "hello", 6);
        if (wasmslot_memory_grow(mem, 2, &old) != 0 || old != 1)
            _exit(2);
        b[2 * WASMSLOT_PAGE_SIZE + 5] = 0x5a;
        atomic_store(word32(mem, 4), 1);
        if (wasmslot_shmem_notify(mem, 4, 1) < 0)
            _exit(3);
        int rc = wasmslot_shmem_wait32(mem, 0, 0, 10000000000ll, NULL);
        bool seen = b[6 * WASMSLOT_PAGE_SIZE - 1] == 0x77;
        /* The child drops the reference it inherited: only its own mappings go. */
        wasmslot_memory_unref(mem);
        _exit(rc == WASMSLOT_SHMEM_WAIT_OK && seen ? 0 : 10 + rc);
    }
    /* Parent: wait for the child's signal (it may already be there: not-equal). */
    int rc = wasmslot_shmem_wait32(mem, 4, 0, 10000000000ll, NULL);
    ck_assert(rc == WASMSLOT_SHMEM_WAIT_OK || rc == WASMSLOT_SHMEM_WAIT_NOT_EQUAL);
    ck_assert_uint_eq(atomic_load(word32(mem, 4)), 1);
    /* The child's grow is seen here, through the shared header, and its bytes too. */
    ck_assert_uint_eq(wasmslot_memory_size(mem), 3 * WASMSLOT_PAGE_SIZE);
    ck_assert_str_eq((const char *)b + 100, "hello");
    ck_assert_uint_eq(b[2 * WASMSLOT_PAGE_SIZE + 5], 0x5a);
    /* A grow here continues from the child's size, and the child sees its pages. */
    uint32_t old = 0;
    ck_assert_int_eq(wasmslot_memory_grow(mem, 3, &old), 0);
    ck_assert_uint_eq(old, 3);
    b[6 * WASMSLOT_PAGE_SIZE - 1] = 0x77;
    /* Wake the child once it sleeps: exactly one waiter, in the other process. */
    wait_for_waiters(mem, 1);
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 0, 1), 1);
    ck_assert_int_eq(wait_child(pid), 0);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_two_processes_grow_concurrently)
{
    enum { EACH = 40 };
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1 + 2 * EACH, NULL);
    uint32_t *child_olds, mine[EACH];
    static uint8_t seen[1 + 2 * EACH];
    pid_t pid;

    ck_assert_ptr_nonnull(mem);
    /* The child reports its old sizes in the first page of the memory itself. */
    child_olds = (uint32_t *)(wasmslot_memory_base(mem) + 1024);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int rc = 0;
        for (int i = 0; i < EACH && rc == 0; i++)
            rc = wasmslot_memory_grow(mem, 1, &child_olds[i]);
        wasmslot_memory_unref(mem);
        _exit(rc == 0 ? 0 : 1);
    }
    for (int i = 0; i < EACH; i++)
        ck_assert_int_eq(wasmslot_memory_grow(mem, 1, &mine[i]), 0);
    ck_assert_int_eq(wait_child(pid), 0);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < EACH; i++) {
        ck_assert(mine[i] >= 1 && mine[i] <= 2 * EACH && !seen[mine[i]]);
        seen[mine[i]] = 1;
        ck_assert(child_olds[i] >= 1 && child_olds[i] <= 2 * EACH && !seen[child_olds[i]]);
        seen[child_olds[i]] = 1;
        if (i > 0) {
            ck_assert_uint_gt(mine[i], mine[i - 1]);
            ck_assert_uint_gt(child_olds[i], child_olds[i - 1]);
        }
    }
    ck_assert_uint_eq(wasmslot_memory_size(mem), (size_t)(1 + 2 * EACH) * WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(stat_of(mem, "grows"), 2 * EACH);
    wasmslot_memory_unref(mem);
}
END_TEST

/* ---------------------------------------------------------------- guest code */

static struct wasmslot_instance *instantiate(const struct wasmslot_module *m,
                                             struct wasmslot_memory *mem)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = mem};
    struct wasmslot_instance_options o = {.imports = &imp, .nimports = 1};
    struct wasmslot_instance *inst = wasmslot_instance_new(m, &o, &err);

    ck_assert_msg(inst != NULL, "instantiate: %s", err.message);
    return inst;
}

/* Call export name with up to three i32 arguments; returns wasmslot_call's code, *out the i32
 * result (if any). */
static int guest(struct wasmslot_exec *ex, struct wasmslot_instance *inst, const char *name,
                 uint32_t nargs, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t *out)
{
    struct wasmslot_extern e;
    struct wasmslot_value args[3] = {{.type = WASMSLOT_I32, .of.i32 = a0},
                                     {.type = WASMSLOT_I32, .of.i32 = a1},
                                     {.type = WASMSLOT_I32, .of.i32 = a2}};
    struct wasmslot_value res = {.type = WASMSLOT_I32};
    int rc;

    ck_assert_int_eq(wasmslot_instance_export(inst, name, strlen(name), &e), 0);
    ck_assert_int_eq(e.kind, WASMSLOT_EXTERN_FUNC);
    rc = wasmslot_call(ex, e.of.func, args, nargs, &res, wasmslot_func_type(e.of.func)->nresults);
    if (out != NULL)
        *out = res.of.i32;
    return rc;
}

START_TEST(test_guest_on_shmem)
{
    struct wasmslot_module *m = fixture_module("shmem_guest");
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 64, NULL);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *a, *b;
    uint32_t v = 0;

    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(ex);
    /* Two instances import the memory; each holds a reference. */
    a = instantiate(m, mem);
    b = instantiate(m, mem);
    ck_assert_int_eq(guest(ex, a, "size", 0, 0, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(guest(ex, a, "grow", 1, 2, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(guest(ex, b, "size", 0, 0, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(guest(ex, b, "store", 2, 3 * WASMSLOT_PAGE_SIZE - 4, 0xfeedu, 0, NULL), 0);
    ck_assert_int_eq(guest(ex, a, "load", 1, 3 * WASMSLOT_PAGE_SIZE - 4, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 0xfeed);
    ck_assert_int_eq(
        guest(ex, a, "fill", 3, WASMSLOT_PAGE_SIZE, 0x11, 2 * WASMSLOT_PAGE_SIZE, NULL), 0);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[3 * WASMSLOT_PAGE_SIZE - 1], 0x11);
    ck_assert_int_eq(
        guest(ex, a, "fill", 3, WASMSLOT_PAGE_SIZE, 0, 2 * WASMSLOT_PAGE_SIZE + 1, NULL),
        -WASMSLOT_TRAP_OOB_MEMORY);
    if (GUEST_FAULTS_WORK) {
        /* Past the size: SIGBUS in the memfd mapping; past the maximum: the reservation. */
        ck_assert_int_eq(guest(ex, a, "load", 1, 3 * WASMSLOT_PAGE_SIZE, 0, 0, &v),
                         -WASMSLOT_TRAP_OOB_MEMORY);
        ck_assert_int_eq(guest(ex, a, "load", 1, 64 * WASMSLOT_PAGE_SIZE, 0, 0, &v),
                         -WASMSLOT_TRAP_OOB_MEMORY);
    }
    ck_assert_int_eq(guest(ex, a, "grow", 1, 62, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 0xffffffffu);
    ck_assert_int_eq(guest(ex, a, "grow", 1, 61, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(guest(ex, a, "grow", 1, 1, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 0xffffffffu);
    /* The creator lets go first; the instances keep the memory alive. */
    wasmslot_memory_unref(mem);
    ck_assert_int_eq(guest(ex, b, "size", 0, 0, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 64);
    wasmslot_instance_free(a);
    wasmslot_instance_free(b);
    wasmslot_exec_free(ex);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_guest_two_processes)
{
    struct wasmslot_module *m = fixture_module("shmem_guest");
    struct wasmslot_memory *mem = wasmslot_shmem_new("check-shmem-guest", 1, 64, NULL);
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, NULL);
    struct wasmslot_instance *inst;
    uint32_t v = 0;
    pid_t pid;

    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(ex);
    inst = instantiate(m, mem);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The child's guest grows the memory and writes into the new pages. */
        int rc = guest(ex, inst, "grow", 1, 4, 0, 0, &v);
        if (rc == 0 && v == 1)
            rc = guest(ex, inst, "store", 2, 5 * WASMSLOT_PAGE_SIZE - 4, 1234, 0, NULL);
        wasmslot_instance_free(inst);
        wasmslot_memory_unref(mem);
        wasmslot_exec_free(ex);
        wasmslot_module_free(m);
        _exit(rc == 0 && v == 1 ? 0 : 1);
    }
    ck_assert_int_eq(wait_child(pid), 0);
    /* This process's guest sees the new size, the bytes, and may use the pages at once. */
    ck_assert_int_eq(guest(ex, inst, "size", 0, 0, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 5);
    ck_assert_int_eq(guest(ex, inst, "load", 1, 5 * WASMSLOT_PAGE_SIZE - 4, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 1234);
    ck_assert_int_eq(
        guest(ex, inst, "fill", 3, WASMSLOT_PAGE_SIZE, 7, 4 * WASMSLOT_PAGE_SIZE - 4, NULL), 0);
    ck_assert_int_eq(guest(ex, inst, "grow", 1, 1, 0, 0, &v), 0);
    ck_assert_uint_eq(v, 5);
    wasmslot_instance_free(inst);
    wasmslot_memory_unref(mem);
    wasmslot_exec_free(ex);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_waiter_of_killed_process_is_dropped)
{
    struct wasmslot_memory *mem = wasmslot_shmem_new(NULL, 1, 1, NULL);
    pid_t pid;

    ck_assert_ptr_nonnull(mem);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        wasmslot_shmem_wait32(mem, 40, 0, -1, NULL); /* forever: killed while waiting */
        _exit(1);
    }
    wait_for_waiters(mem, 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(wait_child(pid), 128 + SIGKILL);
    /* The dead waiter is not counted as woken, and leaves the queue. */
    ck_assert_int_eq(wasmslot_shmem_notify(mem, 40, 1), 0);
    ck_assert_uint_eq(stat_of(mem, "waiters"), 0);
    /* The queue still works on that address. */
    ck_assert_int_eq(wasmslot_shmem_wait32(mem, 40, 0, 1000, NULL), WASMSLOT_SHMEM_WAIT_TIMED_OUT);
    wasmslot_memory_unref(mem);
}
END_TEST

static Suite *shmem_suite(void)
{
    Suite *s = suite_create("shmem");
    TCase *tc = tcase_create("objects");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_new_limits_grow);
    tcase_add_test(tc, test_faults_past_size_and_max);
    tcase_add_test(tc, test_concurrent_grow_distinct_increasing);
    tcase_add_test(tc, test_probe_last_page_while_growing);
    tcase_add_test(tc, test_last_release_on_another_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("wait_notify");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pingpong_thousands_of_rounds);
    tcase_add_test(tc, test_pingpong_plain_shared_memory);
    tcase_add_test(tc, test_wait_not_equal_and_timeouts);
    tcase_add_test(tc, test_wait_notify_checks);
    tcase_add_test(tc, test_notify_counts_exactly);
    tcase_add_test(tc, test_timeouts_racing_notifies_count_exactly);
    tcase_add_test(tc, test_wait_ends_with_exec_deadline_or_interrupt);
    tcase_add_test(tc, test_too_many_waiters);
    suite_add_tcase(s, tc);

    tc = tcase_create("processes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_two_processes_bytes_size_wait_notify);
    tcase_add_test(tc, test_two_processes_grow_concurrently);
    tcase_add_test(tc, test_waiter_of_killed_process_is_dropped);
    suite_add_tcase(s, tc);

    return s;
}

/* Guest code on a cross-process memory, on the tier fixture_engine names. */
static Suite *guest_suite(const char *name)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("guest");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_guest_on_shmem);
    tcase_add_test(tc, test_guest_two_processes);
    suite_add_tcase(s, tc);
    return s;
}

static int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

/* The memory's own tests once; the guest's on every tier the build has (a native guest's
 * accesses past the size fault in generated code, which must trap as on the interpreter). */
int main(void)
{
    int failed = run_suite(shmem_suite());

    for (int e = WASMSLOT_ENGINE_INTERP; e <= WASMSLOT_ENGINE_NATIVE; e++) {
        if (!wasmslot_engine_available(e))
            continue;
        fixture_engine = e;
        failed += run_suite(guest_suite(wasmslot_engine_name(e)));
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
