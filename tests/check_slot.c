/* check_slot.c: unit tests of memory images, slots and pools: isolation, bounds, affinity. */
#include "config.h"

#include "mem/image.h"
#include "mem/pool.h"
#include "mem/slot.h"
#include "runtime/runtime.h"
#include "wasm_fixture.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The probes below fault on purpose; under valgrind their reports are switched off. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_ENABLE_ERROR_REPORTING
#endif

#define PAGE WASMSLOT_PAGE_SIZE

/* ---------------------------------------------------------------- hand-made modules */

/* A module with one memory and up to 4 data segments, built without the decoder: images only
 * read memories[] and datas[]. */
struct fake {
    struct wasmslot_module m;
    struct wasmslot_limits mem;
    struct wasmslot_data datas[4];
};

static void fake_init(struct fake *f, uint32_t min, uint32_t max)
{
    memset(f, 0, sizeof(*f));
    f->mem.min = min;
    f->mem.max = max;
    f->mem.has_max = true;
    f->m.nmemories_total = 1;
    f->m.memories = &f->mem;
    f->m.datas = f->datas;
}

static void fake_data(struct fake *f, uint32_t off, const void *bytes, uint32_t len)
{
    struct wasmslot_data *d = &f->datas[f->m.ndatas++];

    d->mode = WASMSLOT_SEG_ACTIVE;
    d->offset.kind = WASMSLOT_CONST_I32;
    d->offset.u.i32 = off;
    d->bytes = bytes;
    d->len = len;
}

static struct wasmslot_image *image_ok(const struct wasmslot_module *m)
{
    struct wasmslot_error err = {0};
    struct wasmslot_image *img = wasmslot_image_new(m, &err);

    ck_assert_msg(img != NULL, "wasmslot_image_new: %s", err.message);
    return img;
}

static struct wasmslot_pool *pool_ok(uint32_t slots, uint32_t max_pages)
{
    struct wasmslot_pool_options o = {.slots = slots, .max_pages = max_pages};
    struct wasmslot_error err = {0};
    struct wasmslot_pool *p = wasmslot_pool_new(&o, &err);

    ck_assert_msg(p != NULL, "wasmslot_pool_new: %s", err.message);
    return p;
}

static struct wasmslot_slot *acquire_ok(struct wasmslot_pool *p, const struct wasmslot_image *img)
{
    struct wasmslot_error err = {0};
    struct wasmslot_slot *s = wasmslot_pool_acquire(p, img, &err);

    ck_assert_msg(s != NULL, "wasmslot_pool_acquire: %s", err.message);
    return s;
}

/* ---------------------------------------------------------------- fault probes */

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_armed;
/* Loads go here: valgrind drops a load whose value is unused, and with it the fault. */
static volatile uint8_t probe_value;

static void probe_handler(int sig)
{
    if (!probe_armed)
        abort();
    siglongjmp(probe_jmp, sig);
}

/* Touch one byte (read, or write when value >= 0). Returns 0 when it worked, SIGSEGV or SIGBUS
 * when it faulted. */
static int probe(uint8_t *p, int value)
{
    struct sigaction sa, old_segv, old_bus;
    volatile uint8_t *vp = p;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = probe_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    VALGRIND_DISABLE_ERROR_REPORTING;
    sig = sigsetjmp(probe_jmp, 1);
    if (sig == 0) {
        probe_armed = 1;
        if (value >= 0)
            *vp = (uint8_t)value;
        else
            probe_value = *vp;
    }
    probe_armed = 0;
    VALGRIND_ENABLE_ERROR_REPORTING;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return sig;
}

/* ---------------------------------------------------------------- statistics */

struct stat_set {
    char names[24][32];
    uint64_t values[24];
    enum wasmslot_stats_kind kinds[24];
    int n;
};

static void stat_sink(void *arg, const char *name, enum wasmslot_stats_kind kind, uint64_t value)
{
    struct stat_set *st = arg;

    ck_assert_int_lt(st->n, 24);
    snprintf(st->names[st->n], sizeof(st->names[0]), "%s", name);
    st->kinds[st->n] = kind;
    st->values[st->n++] = value;
}

static uint64_t stat(struct wasmslot_pool *p, const char *name)
{
    struct stat_set st = {0};

    wasmslot_pool_stats(p, stat_sink, &st);
    for (int i = 0; i < st.n; i++)
        if (strcmp(st.names[i], name) == 0)
            return st.values[i];
    ck_abort_msg("no statistic %s", name);
    return 0;
}

/* True when [from, to) of mem equals expect (NULL: zeros). */
static bool mem_is(const uint8_t *mem, size_t from, size_t to, const uint8_t *expect)
{
    for (size_t i = from; i < to; i++)
        if (mem[i] != (expect != NULL ? expect[i] : 0))
            return false;
    return true;
}

/* ---------------------------------------------------------------- images */

static const uint8_t hello[] = "hello, image";
static const uint8_t world[] = "world";

START_TEST(test_image_fallbacks)
{
    struct fake f;
    struct wasmslot_import imp;
    struct wasmslot_image *img;

    /* Constant segments in bounds: imaged; only the pages holding non-zero bytes are stored. */
    fake_init(&f, 4, 8);
    fake_data(&f, PAGE + 100, hello, sizeof(hello));
    fake_data(&f, 2 * PAGE + 10, world, sizeof(world));
    img = image_ok(&f.m);
    ck_assert(wasmslot_image_is_imaged(img));
    ck_assert_ptr_null(wasmslot_image_fallback_reason(img));
    ck_assert_uint_eq(image__layout(img)->data_start, PAGE);
    ck_assert_uint_eq(image__layout(img)->data_end, 2 * PAGE + 4096);
    wasmslot_image_free(img);

    /* A global-based offset. */
    f.datas[1].offset.kind = WASMSLOT_CONST_GLOBAL_GET;
    img = image_ok(&f.m);
    ck_assert(!wasmslot_image_is_imaged(img));
    ck_assert_str_eq(wasmslot_image_fallback_reason(img), "segment offset is not a constant");
    wasmslot_image_free(img);

    /* A segment past the initial memory (even by one byte). */
    f.datas[1].offset.kind = WASMSLOT_CONST_I32;
    f.datas[1].offset.u.i32 = 4 * PAGE - sizeof(world) + 1;
    img = image_ok(&f.m);
    ck_assert(!wasmslot_image_is_imaged(img));
    ck_assert_str_eq(wasmslot_image_fallback_reason(img),
                     "segment out of bounds of the initial memory");
    wasmslot_image_free(img);

    /* Only zero bytes: nothing to store, still imaged. */
    fake_init(&f, 1, 1);
    fake_data(&f, 0, "\0\0\0\0", 4);
    img = image_ok(&f.m);
    ck_assert(wasmslot_image_is_imaged(img));
    ck_assert_uint_eq(image__layout(img)->data_end, image__layout(img)->data_start);
    wasmslot_image_free(img);

    /* A shared memory, an imported memory, no memory. */
    fake_init(&f, 1, 1);
    f.mem.shared = true;
    img = image_ok(&f.m);
    ck_assert(!wasmslot_image_is_imaged(img));
    ck_assert_str_eq(wasmslot_image_fallback_reason(img), "shared memory");
    wasmslot_image_free(img);

    memset(&imp, 0, sizeof(imp));
    imp.kind = WASMSLOT_EXTERN_MEMORY;
    fake_init(&f, 1, 1);
    f.m.nimports = 1;
    f.m.imports = &imp;
    f.m.nmemory_imports = 1;
    img = image_ok(&f.m);
    ck_assert(!wasmslot_image_is_imaged(img));
    ck_assert_str_eq(wasmslot_image_fallback_reason(img), "imported memory");
    wasmslot_image_free(img);

    fake_init(&f, 0, 0);
    f.m.nmemories_total = 0;
    img = image_ok(&f.m);
    ck_assert(wasmslot_image_is_imaged(img));
    wasmslot_image_free(img);
}
END_TEST

START_TEST(test_image_later_segments_win)
{
    static const uint8_t zeros[8];
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    uint8_t *mem;

    fake_init(&f, 1, 1);
    fake_data(&f, 0, "AAAAAAAA", 8);
    fake_data(&f, 2, zeros, 4);   /* zeros overwrite part of the A's */
    fake_data(&f, 4000, "BB", 2); /* the span ends in the first OS page */
    fake_data(&f, 6, "CC", 2);
    img = image_ok(&f.m);
    s = acquire_ok(p, img);
    ck_assert(wasmslot_slot_preloaded(s));
    mem = wasmslot_memory_base(wasmslot_slot_memory(s));
    ck_assert_mem_eq(mem, "AA\0\0\0\0CC", 8);
    ck_assert_mem_eq(mem + 4000, "BB", 2);
    ck_assert(mem_is(mem, 4002, PAGE, NULL));
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}
END_TEST

/* ---------------------------------------------------------------- isolation */

/* The image the isolation tests expect in a fresh memory of `size` bytes. */
static uint8_t *expected_memory(const struct fake *f, size_t size)
{
    uint8_t *e = calloc(1, size);

    for (uint32_t i = 0; i < f->m.ndatas; i++)
        memcpy(e + f->datas[i].offset.u.i32, f->datas[i].bytes, f->datas[i].len);
    return e;
}

START_TEST(test_secret_does_not_survive_a_reset)
{
    static const char secret[] = "the secret";
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s, *s2;
    struct wasmslot_memory *m;
    uint8_t *mem, *expect;
    uint32_t old;

    fake_init(&f, 2, 6);
    fake_data(&f, 100, hello, sizeof(hello));
    fake_data(&f, PAGE + 5000, world, sizeof(world));
    img = image_ok(&f.m);
    expect = expected_memory(&f, 2 * PAGE);

    s = acquire_ok(p, img);
    m = wasmslot_slot_memory(s);
    mem = wasmslot_memory_base(m);
    ck_assert_uint_eq(wasmslot_memory_size(m), 2 * PAGE);
    ck_assert_uint_eq(wasmslot_memory_max_pages(m), 6);
    ck_assert(mem_is(mem, 0, 2 * PAGE, expect));
    /* Secrets in the image's pages, in a zero page of the initial memory, and in grown memory. */
    memcpy(mem + 100, secret, sizeof(secret));
    memcpy(mem + PAGE + 5000 - 4, secret, sizeof(secret));
    memcpy(mem + 40000, secret, sizeof(secret));
    ck_assert_int_eq(wasmslot_memory_grow(m, 3, &old), 0);
    ck_assert_uint_eq(old, 2);
    memcpy(mem + 2 * PAGE, secret, sizeof(secret));
    memcpy(mem + 5 * PAGE - sizeof(secret), secret, sizeof(secret));
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    /* The memory grew: everything written is dropped, and only that is counted (five OS
     * pages), unless there is no pagemap to say what was written. */
    ck_assert_uint_eq(stat(p, "reset_discarded_bytes"),
                      strcmp(wasmslot_reset_method(), "none") == 0 ? 5 * PAGE
                                                                   : 5 * (size_t)sysconf(_SC_PAGESIZE));

    /* The same slot again: the image and zeros are back, the grown pages are gone. */
    s2 = acquire_ok(p, img);
    ck_assert_ptr_eq(s2, s);
    ck_assert_uint_eq(stat(p, "warm_hits"), 1);
    m = wasmslot_slot_memory(s2);
    ck_assert_uint_eq(wasmslot_memory_size(m), 2 * PAGE);
    ck_assert(mem_is(mem, 0, 2 * PAGE, expect));
    ck_assert_int_eq(probe(mem + 2 * PAGE, -1), SIGBUS);
    ck_assert_int_eq(wasmslot_memory_grow(m, 4, &old), 0);
    ck_assert(mem_is(mem, 2 * PAGE, 6 * PAGE, NULL));
    ck_assert_int_eq(wasmslot_pool_release(p, s2), 0);

    ck_assert_uint_eq(stat(p, "grows"), 2);
    ck_assert_uint_eq(stat(p, "resets"), 2);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
    free(expect);
}
END_TEST

START_TEST(test_copy_fallback_memory_is_zeroed)
{
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    uint8_t *mem;

    fake_init(&f, 1, 2);
    fake_data(&f, 0, hello, sizeof(hello));
    f.datas[0].offset.kind = WASMSLOT_CONST_GLOBAL_GET;
    img = image_ok(&f.m);
    for (int round = 0; round < 2; round++) {
        s = acquire_ok(p, img);
        ck_assert(!wasmslot_slot_preloaded(s));
        mem = wasmslot_memory_base(wasmslot_slot_memory(s));
        ck_assert(mem_is(mem, 0, PAGE, NULL));
        /* What wasmslot_instance_new would copy, then a guest's writes. */
        memcpy(mem, hello, sizeof(hello));
        memset(mem + 1000, 0x5a, 3000);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}
END_TEST

/* ---------------------------------------------------------------- bounds */

START_TEST(test_bounds_before_and_after_grow)
{
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    struct wasmslot_memory *m;
    uint8_t *mem;
    uint32_t old = 99;

    fake_init(&f, 1, 3);
    fake_data(&f, PAGE - 2, "xy", 2);
    img = image_ok(&f.m);
    s = acquire_ok(p, img);
    m = wasmslot_slot_memory(s);
    mem = wasmslot_memory_base(m);

    ck_assert_int_eq(probe(mem + PAGE - 1, -1), 0);
    ck_assert_int_eq(mem[PAGE - 1], 'y');
    ck_assert_int_eq(probe(mem + PAGE - 1, 7), 0);
    ck_assert_int_eq(probe(mem + PAGE, -1), SIGBUS);
    ck_assert_int_eq(probe(mem + PAGE, 7), SIGBUS);

    ck_assert_int_eq(wasmslot_memory_grow(m, 1, &old), 0);
    ck_assert_uint_eq(old, 1);
    ck_assert_int_eq(probe(mem + 2 * PAGE - 1, 7), 0);
    ck_assert_int_eq(probe(mem + 2 * PAGE, -1), SIGBUS);

    /* Up to the maximum, and one page past it. */
    ck_assert_int_eq(wasmslot_memory_grow(m, 1, &old), 0);
    ck_assert_uint_eq(old, 2);
    ck_assert_int_eq(wasmslot_memory_grow(m, 1, &old), -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(wasmslot_memory_size(m), 3 * PAGE);
    ck_assert_int_eq(probe(mem + 3 * PAGE - 1, 7), 0);
    ck_assert_int_eq(probe(mem + 3 * PAGE, -1), SIGSEGV);
    /* Far out and at the very top of the reservation: the guard. */
    ck_assert_int_eq(probe(mem + ((size_t)1 << 32), -1), SIGSEGV);
    ck_assert_int_eq(probe(mem + WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD - 1, -1), SIGSEGV);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

    /* After the reset the bound is back at the initial size. */
    s = acquire_ok(p, img);
    ck_assert_int_eq(probe(mem + PAGE - 1, -1), 0);
    ck_assert_int_eq(mem[PAGE - 1], 'y');
    ck_assert_int_eq(probe(mem + PAGE, -1), SIGBUS);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}
END_TEST

START_TEST(test_pool_cap_limits_maximum)
{
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 2);
    struct wasmslot_error err = {0};
    struct wasmslot_slot *s;
    uint32_t old;

    fake_init(&f, 1, 10);
    img = image_ok(&f.m);
    s = acquire_ok(p, img);
    ck_assert_uint_eq(wasmslot_memory_max_pages(wasmslot_slot_memory(s)), 2);
    ck_assert_int_eq(wasmslot_memory_grow(wasmslot_slot_memory(s), 1, &old), 0);
    ck_assert_int_eq(wasmslot_memory_grow(wasmslot_slot_memory(s), 1, &old), -WASMSLOT_ELIMIT);
    ck_assert_int_eq(probe(wasmslot_memory_base(wasmslot_slot_memory(s)) + 2 * PAGE, -1), SIGSEGV);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_image_free(img);

    /* An initial memory above the cap cannot be served at all. */
    fake_init(&f, 3, 10);
    img = image_ok(&f.m);
    ck_assert_ptr_null(wasmslot_pool_acquire(p, img, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_ELIMIT);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}
END_TEST

/* ---------------------------------------------------------------- affinity */

START_TEST(test_slot_moves_between_modules)
{
    struct fake fa, fb;
    struct wasmslot_image *a, *b;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    uint8_t *mem, *ea, *eb;

    fake_init(&fa, 3, 8);
    fake_data(&fa, 10, hello, sizeof(hello));
    fake_data(&fa, 2 * PAGE + 7, world, sizeof(world));
    fake_init(&fb, 1, 1);
    fake_data(&fb, 20, world, sizeof(world));
    a = image_ok(&fa.m);
    b = image_ok(&fb.m);
    ea = expected_memory(&fa, 3 * PAGE);
    eb = expected_memory(&fb, PAGE);

    for (int round = 0; round < 2; round++) {
        s = acquire_ok(p, a);
        mem = wasmslot_memory_base(wasmslot_slot_memory(s));
        ck_assert(mem_is(mem, 0, 3 * PAGE, ea));
        memset(mem, 0xee, 3 * PAGE);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

        s = acquire_ok(p, b);
        ck_assert_ptr_eq(wasmslot_memory_base(wasmslot_slot_memory(s)), mem);
        ck_assert(mem_is(mem, 0, PAGE, eb));
        /* A's larger range is guard again, not A's bytes. */
        ck_assert_int_eq(probe(mem + PAGE, -1), SIGSEGV);
        ck_assert_int_eq(probe(mem + 2 * PAGE + 7, -1), SIGSEGV);
        memset(mem, 0xdd, PAGE);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }
    ck_assert_uint_eq(stat(p, "cold_maps"), 4);
    ck_assert_uint_eq(stat(p, "warm_hits"), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(a);
    wasmslot_image_free(b);
    free(ea);
    free(eb);
}
END_TEST

START_TEST(test_affinity_order)
{
    struct fake fa, fb;
    struct wasmslot_image *a, *b;
    struct wasmslot_pool *p = pool_ok(3, 0);
    struct wasmslot_error err = {0};
    struct wasmslot_slot *s0, *s1, *s2, *t;

    fake_init(&fa, 1, 1);
    fake_data(&fa, 0, "A", 1);
    fake_init(&fb, 1, 1);
    fake_data(&fb, 0, "B", 1);
    a = image_ok(&fa.m);
    b = image_ok(&fb.m);

    s0 = acquire_ok(p, a);
    ck_assert_int_eq(wasmslot_pool_release(p, s0), 0);
    /* Another image prefers a never-used slot to A's warm one. */
    s1 = acquire_ok(p, b);
    ck_assert_ptr_ne(s1, s0);
    ck_assert_int_eq(wasmslot_pool_release(p, s1), 0);
    /* A gets its warm slot back. */
    t = acquire_ok(p, a);
    ck_assert_ptr_eq(t, s0);
    /* With A's slot busy: the never-used slot, then B's slot (re-imaged), then nothing. */
    s2 = acquire_ok(p, a);
    ck_assert_ptr_ne(s2, s0);
    ck_assert_ptr_ne(s2, s1);
    t = acquire_ok(p, a);
    ck_assert_ptr_eq(t, s1);
    ck_assert_int_eq(wasmslot_memory_base(wasmslot_slot_memory(t))[0], 'A');
    ck_assert_ptr_null(wasmslot_pool_acquire(p, a, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_EEXHAUSTED);
    ck_assert_str_eq(wasmslot_strerror(err.code), "pool exhausted");
    ck_assert_ptr_nonnull(strstr(err.message, "pool exhausted"));

    ck_assert_uint_eq(stat(p, "slots_busy"), 3);
    ck_assert_uint_eq(stat(p, "slots_free"), 0);
    ck_assert_uint_eq(stat(p, "exhaustions"), 1);
    ck_assert_uint_eq(stat(p, "warm_hits"), 1);
    ck_assert_uint_eq(stat(p, "cold_maps"), 4);
    ck_assert_int_eq(wasmslot_pool_release(p, s0), 0);
    ck_assert_int_eq(wasmslot_pool_release(p, s1), 0);
    ck_assert_int_eq(wasmslot_pool_release(p, s2), 0);
    ck_assert_uint_eq(stat(p, "slots_warm"), 3);
    wasmslot_pool_free(p);
    wasmslot_image_free(a);
    wasmslot_image_free(b);
}
END_TEST

/* ---------------------------------------------------------------- failures */

START_TEST(test_failed_reset_wipes_the_slot)
{
    static const char secret[] = "the secret";
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    uint8_t *mem, *expect;
    uint32_t old;

    fake_init(&f, 1, 4);
    fake_data(&f, 8, hello, sizeof(hello));
    img = image_ok(&f.m);
    expect = expected_memory(&f, PAGE);

    s = acquire_ok(p, img);
    mem = wasmslot_memory_base(wasmslot_slot_memory(s));
    memcpy(mem + 8, secret, sizeof(secret));
    memcpy(mem + 30000, secret, sizeof(secret));
    ck_assert_int_eq(wasmslot_memory_grow(wasmslot_slot_memory(s), 2, &old), 0);
    memcpy(mem + PAGE, secret, sizeof(secret));
    /* The reset "fails" without discarding anything: the worst case. */
    pool__inject_fault(p, POOL_FAULT_RESET);
    ck_assert_int_eq(wasmslot_pool_release(p, s), -EIO);
    ck_assert_uint_eq(stat(p, "slots_unknown"), 1);
    ck_assert_uint_eq(stat(p, "reset_failures"), 1);

    s = acquire_ok(p, img);
    ck_assert_uint_eq(stat(p, "wipes"), 1);
    ck_assert_uint_eq(stat(p, "slots_unknown"), 0);
    ck_assert_ptr_eq(wasmslot_memory_base(wasmslot_slot_memory(s)), mem);
    ck_assert_uint_eq(wasmslot_memory_size(wasmslot_slot_memory(s)), PAGE);
    ck_assert(mem_is(mem, 0, PAGE, expect));
    ck_assert_int_eq(probe(mem + PAGE, -1), SIGBUS);
    ck_assert_int_eq(wasmslot_memory_grow(wasmslot_slot_memory(s), 3, &old), 0);
    ck_assert(mem_is(mem, PAGE, 4 * PAGE, NULL));
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

    /* A failed map: the acquire fails cleanly, the slot is wiped on the next one. */
    pool__inject_fault(p, POOL_FAULT_MAP | POOL_FAULT_RESET);
    s = acquire_ok(p, img); /* warm: no map needed */
    memcpy(mem + 8, secret, sizeof(secret));
    ck_assert_int_eq(wasmslot_pool_release(p, s), -EIO);
    {
        struct wasmslot_error err = {0};
        ck_assert_ptr_null(wasmslot_pool_acquire(p, img, &err));
        ck_assert_int_eq(err.code, -EIO);
    }
    s = acquire_ok(p, img);
    ck_assert(mem_is(mem, 0, PAGE, expect));
    ck_assert_uint_eq(stat(p, "wipes"), 2);

    /* A failed grow leaves the memory as it was. */
    pool__inject_fault(p, POOL_FAULT_GROW);
    ck_assert_int_eq(wasmslot_memory_grow(wasmslot_slot_memory(s), 1, &old), -EIO);
    ck_assert_uint_eq(wasmslot_memory_size(wasmslot_slot_memory(s)), PAGE);
    ck_assert_int_eq(probe(mem + PAGE, -1), SIGBUS);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
    free(expect);
}
END_TEST

START_TEST(test_wipe_leaves_nothing_mapped)
{
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    uint8_t *mem;

    fake_init(&f, 2, 2);
    fake_data(&f, 0, hello, sizeof(hello));
    img = image_ok(&f.m);
    s = acquire_ok(p, img);
    mem = wasmslot_memory_base(wasmslot_slot_memory(s));
    mem[PAGE] = 0x42;
    pool__inject_fault(p, POOL_FAULT_RESET);
    ck_assert_int_eq(wasmslot_pool_release(p, s), -EIO);
    /* The slot is free and unknown; nobody else uses this pool, so wipe it by hand. */
    ck_assert_int_eq(slot__wipe(s), 0);
    ck_assert_int_eq(s->ext_fd, -1);
    ck_assert_ptr_null(wasmslot_slot_memory(s));
    ck_assert_int_eq(probe(mem, -1), SIGSEGV);
    ck_assert_int_eq(probe(mem + PAGE, -1), SIGSEGV);
    /* Mapped again from nothing: image and zeros. */
    s = acquire_ok(p, img);
    ck_assert_ptr_eq(wasmslot_memory_base(wasmslot_slot_memory(s)), mem);
    ck_assert_mem_eq(mem, hello, sizeof(hello));
    ck_assert_int_eq(mem[PAGE], 0);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}
END_TEST

START_TEST(test_release_waits_for_the_last_reference)
{
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;
    struct wasmslot_memory *m;
    uint8_t *mem;

    fake_init(&f, 1, 1);
    fake_data(&f, 0, "I", 1);
    img = image_ok(&f.m);
    s = acquire_ok(p, img);
    m = wasmslot_memory_ref(wasmslot_slot_memory(s)); /* what an instance not yet freed holds */
    mem = wasmslot_memory_base(m);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    /* Still in use: not reset, not free. */
    mem[0] = 'S';
    ck_assert_uint_eq(stat(p, "slots_busy"), 1);
    ck_assert_uint_eq(stat(p, "resets"), 0);
    wasmslot_memory_unref(m);
    ck_assert_uint_eq(stat(p, "slots_busy"), 0);
    ck_assert_uint_eq(stat(p, "resets"), 1);
    s = acquire_ok(p, img);
    ck_assert_int_eq(wasmslot_memory_base(wasmslot_slot_memory(s))[0], 'I');
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}
END_TEST

START_TEST(test_module_without_memory)
{
    struct fake f, g;
    struct wasmslot_image *none, *img;
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_slot *s;

    fake_init(&f, 0, 0);
    f.m.nmemories_total = 0;
    none = image_ok(&f.m);
    fake_init(&g, 1, 1);
    fake_data(&g, 0, "G", 1);
    img = image_ok(&g.m);

    s = acquire_ok(p, img);
    wasmslot_memory_base(wasmslot_slot_memory(s))[1] = 'x';
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    s = acquire_ok(p, none);
    ck_assert_ptr_null(wasmslot_slot_memory(s));
    ck_assert(!wasmslot_slot_preloaded(s));
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    s = acquire_ok(p, img);
    ck_assert_mem_eq(wasmslot_memory_base(wasmslot_slot_memory(s)), "G\0", 2);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(none);
    wasmslot_image_free(img);
}
END_TEST

/* ---------------------------------------------------------------- statistics, threads */

START_TEST(test_stats_add_up)
{
    struct fake fa, fb;
    struct wasmslot_image *a, *b;
    struct wasmslot_pool *p = pool_ok(3, 0);
    struct wasmslot_slot *held[3];
    struct stat_set st = {0};
    unsigned releases = 0;
    struct wasmslot_error err;

    fake_init(&fa, 1, 2);
    fake_data(&fa, 0, "A", 1);
    fake_init(&fb, 1, 2);
    fake_data(&fb, 0, "B", 1);
    a = image_ok(&fa.m);
    b = image_ok(&fb.m);
    for (int i = 0; i < 20; i++) {
        int n = 1 + i % 3;

        for (int k = 0; k < n; k++)
            held[k] = acquire_ok(p, (i + k) % 4 == 0 ? b : a);
        if (n == 3)
            ck_assert_ptr_null(wasmslot_pool_acquire(p, a, &err));
        if (i % 5 == 0)
            pool__inject_fault(p, POOL_FAULT_RESET);
        for (int k = 0; k < n; k++, releases++)
            wasmslot_pool_release(p, held[k]);
    }
    wasmslot_pool_count_trap(p, -WASMSLOT_TRAP_OOB_MEMORY);
    wasmslot_pool_count_trap(p, -WASMSLOT_TRAP_TIMEOUT);
    wasmslot_pool_count_trap(p, -WASMSLOT_EARGS);

    wasmslot_pool_stats(p, stat_sink, &st);
    for (int i = 0; i < st.n; i++) {
        bool gauge = strncmp(st.names[i], "slots", 5) == 0;
        ck_assert_int_eq(st.kinds[i], gauge ? WASMSLOT_STATS_GAUGE : WASMSLOT_STATS_COUNTER);
    }
    ck_assert_uint_eq(stat(p, "slots"), 3);
    ck_assert_uint_eq(stat(p, "slots_busy") + stat(p, "slots_free"), 3);
    ck_assert_uint_eq(stat(p, "slots_free"), stat(p, "slots_warm") + stat(p, "slots_unknown"));
    ck_assert_uint_eq(stat(p, "instantiations"), releases);
    ck_assert_uint_eq(stat(p, "warm_hits") + stat(p, "cold_maps"), stat(p, "instantiations"));
    ck_assert_uint_eq(stat(p, "resets") + stat(p, "reset_failures"), releases);
    ck_assert_uint_eq(stat(p, "reset_failures"), 4);
    ck_assert_uint_eq(stat(p, "exhaustions"), 6);
    ck_assert_uint_eq(stat(p, "traps"), 2);
    ck_assert_uint_eq(stat(p, "timeouts"), 1);
    ck_assert_uint_ge(stat(p, "wipes"), 1);

    memset(&st, 0, sizeof(st));
    wasmslot_image_stats(a, stat_sink, &st);
    ck_assert_str_eq(st.names[0], "image_imaged");
    ck_assert_uint_eq(st.values[0], 1);
    ck_assert_str_eq(st.names[1], "image_stored_bytes");
    ck_assert_uint_eq(st.values[1], 4096);
    wasmslot_pool_free(p);
    wasmslot_image_free(a);
    wasmslot_image_free(b);
}
END_TEST

struct worker {
    struct wasmslot_pool *pool;
    struct wasmslot_image *img[2];
    const uint8_t *expect[2];
    int failures;
};

/* Cycles on a pool shared with another thread, switching images every few rounds so that both
 * the warm path and re-imaging run concurrently. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 200; i++) {
        struct wasmslot_error err;
        int which = (i / 7) % 2;
        struct wasmslot_slot *s = wasmslot_pool_acquire(w->pool, w->img[which], &err);
        uint8_t *mem;
        uint32_t old;

        if (s == NULL) {
            w->failures++;
            continue;
        }
        mem = wasmslot_memory_base(wasmslot_slot_memory(s));
        if (!mem_is(mem, 0, 2 * PAGE, w->expect[which]))
            w->failures++;
        memset(mem, i, 3 * 4096);
        if (i % 3 == 0 && wasmslot_memory_grow(wasmslot_slot_memory(s), 1, &old) == 0)
            mem[2 * PAGE] = 1;
        if (wasmslot_pool_release(w->pool, s) != 0)
            w->failures++;
    }
    return NULL;
}

START_TEST(test_threads_share_a_pool)
{
    struct fake fa, fb;
    struct wasmslot_pool *p = pool_ok(2, 0);
    struct worker w[2];
    pthread_t t[2];
    struct wasmslot_image *a, *b;
    uint8_t *ea, *eb;

    fake_init(&fa, 2, 3);
    fake_data(&fa, 123, hello, sizeof(hello));
    fake_init(&fb, 2, 3);
    fake_data(&fb, PAGE + 9, world, sizeof(world));
    a = image_ok(&fa.m);
    b = image_ok(&fb.m);
    ea = expected_memory(&fa, 2 * PAGE);
    eb = expected_memory(&fb, 2 * PAGE);
    for (int i = 0; i < 2; i++) {
        /* The threads start on different images. */
        w[i] = (struct worker){
            .pool = p, .img = {i ? b : a, i ? a : b}, .expect = {i ? eb : ea, i ? ea : eb}};
        pthread_create(&t[i], NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    ck_assert_uint_eq(stat(p, "instantiations"), 400);
    ck_assert_uint_eq(stat(p, "resets"), 400);
    ck_assert_uint_eq(stat(p, "slots_busy"), 0);
    ck_assert_uint_eq(stat(p, "warm_hits") + stat(p, "cold_maps"), 400);
    wasmslot_pool_free(p);
    wasmslot_image_free(a);
    wasmslot_image_free(b);
    free(ea);
    free(eb);
}
END_TEST

START_TEST(test_pool_options_are_checked)
{
    struct wasmslot_pool_options o = {.slots = 0};
    struct wasmslot_error err = {0};

    ck_assert_ptr_null(wasmslot_pool_new(&o, &err));
    ck_assert_int_eq(err.code, -EINVAL);
    o.slots = 1;
    o.max_pages = 65537;
    ck_assert_ptr_null(wasmslot_pool_new(&o, &err));
    wasmslot_pool_free(NULL);
    wasmslot_image_free(NULL);
}
END_TEST


/* ---------------------------------------------------------------- reset modes */

/* What the tests below write into a slot, and from where. */
struct writer {
    uint8_t *mem;
    size_t from, to, step;
    uint8_t value;
};

static void *writer_run(void *arg)
{
    struct writer *w = arg;

    for (size_t off = w->from; off < w->to; off += w->step)
        w->mem[off] = w->value;
    return NULL;
}

/* One instance's worth of writes into the slot memory mem of size bytes (at least 16 wasm
 * pages), round r: every other OS page of the image (more disjoint runs than one scan buffer
 * holds), zeros over a page of image bytes, secrets in zero pages of the initial memory, pages
 * written by another thread, by the kernel (read(2) from a pipe, as a host call reading into
 * guest memory does), and a written page then paged out (swapped out when there is swap; a
 * private page stays present without). */
static void write_everywhere(uint8_t *mem, size_t size, int r)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    struct writer w = {.mem = mem, .from = 8 * PAGE + 3, .to = 10 * PAGE, .step = pg,
                       .value = (uint8_t)(0x80 | r)};
    char buf[64];
    pthread_t t;
    int fds[2];

    for (size_t off = 5; off < 8 * PAGE; off += 2 * pg)
        mem[off] = (uint8_t)(0xa0 + r);
    memset(mem + 6 * PAGE, 0, pg);
    memset(mem + 12 * PAGE + 100, 0x5a, 3 * pg);
    mem[size - 1] = 0x77;
    /* Away from both ends of a page, where a reset looks before comparing the whole page. */
    mem[2 * PAGE + pg + pg / 2 + 7] ^= 0x10;
    mem[11 * PAGE + 5 * pg + pg / 2] = 0x42;
    ck_assert_int_eq(pthread_create(&t, NULL, writer_run, &w), 0);
    pthread_join(t, NULL);
    memset(buf, 'k', sizeof(buf));
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
    ck_assert_int_eq(read(fds[0], mem + 14 * PAGE + pg - 10, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fds[0]);
    close(fds[1]);
    mem[15 * PAGE + 9] = 0x99;
    madvise(mem + 15 * PAGE, pg, MADV_PAGEOUT);
}

/* Every byte written by one instance is gone for the next, in reset mode `mode`, whatever
 * method the process finds written pages with (method: the WASMSLOT_PAGEMAP value to ask for
 * before the first pool of the process probes it). Also across a grow, and with a cap smaller
 * than what was written. */
static void isolation_case(enum wasmslot_reset_mode mode, const char *method, size_t keep_max)
{
    static uint8_t image[16 * PAGE];
    struct wasmslot_pool_options o = {.slots = 1, .reset = mode, .keep_max_bytes = keep_max};
    struct wasmslot_error err = {0};
    struct wasmslot_pool *p;
    struct wasmslot_image *img;
    struct fake f;
    uint8_t *expect;
    uint32_t old;

    setenv("WASMSLOT_PAGEMAP", method, 1);
    p = wasmslot_pool_new(&o, &err);
    ck_assert_msg(p != NULL, "wasmslot_pool_new: %s", err.message);
    for (size_t i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i * 13 + 7) | 1;
    fake_init(&f, 16, 20);
    /* The image covers wasm pages 0-9; 10-15 are zeros of the extension. */
    fake_data(&f, 0, image, 10 * PAGE);
    img = image_ok(&f.m);
    expect = expected_memory(&f, 16 * PAGE);
    for (int r = 0; r < 12; r++) {
        struct wasmslot_slot *s = acquire_ok(p, img);
        struct wasmslot_memory *m = wasmslot_slot_memory(s);
        uint8_t *mem = wasmslot_memory_base(m);

        ck_assert_uint_eq(wasmslot_memory_size(m), 16 * PAGE);
        ck_assert_msg(mem_is(mem, 0, 16 * PAGE, expect), "mode %s method %s round %d: not pristine",
                      wasmslot_reset_mode_name(mode), wasmslot_reset_method(), r);
        ck_assert_int_eq(probe(mem + 16 * PAGE, -1), SIGBUS);
        /* Some rounds write little (a trim and the cap have something to do), some grow. */
        if (r % 3 == 2)
            mem[20] = (uint8_t)r;
        else
            write_everywhere(mem, 16 * PAGE, r);
        if (r % 4 == 3) {
            ck_assert_int_eq(wasmslot_memory_grow(m, 2, &old), 0);
            memset(mem + 16 * PAGE, 0x33, 2 * PAGE);
        }
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }
    ck_assert_uint_eq(stat(p, "resets"), 12);
    ck_assert_uint_eq(stat(p, "reset_failures"), 0);
    ck_assert_uint_eq(stat(p, "reset_discarded_bytes") % 4096, 0);
    if (mode == WASMSLOT_RESET_MADVISE || strcmp(wasmslot_reset_method(), "none") == 0) {
        ck_assert_uint_eq(stat(p, "reset_restored_pages"), 0);
        ck_assert_uint_eq(stat(p, "reset_faults_avoided"), 0);
    } else {
        ck_assert_uint_gt(stat(p, "reset_restored_pages"), 0);
        ck_assert_uint_gt(stat(p, "reset_faults_avoided"), 0);
    }
    ck_assert_uint_gt(stat(p, "reset_dropped_pages"), 0);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
    free(expect);
}

START_TEST(test_isolation_auto_scan)
{
    isolation_case(WASMSLOT_RESET_AUTO, "scan", 0);
}
END_TEST

START_TEST(test_isolation_keep_scan)
{
    isolation_case(WASMSLOT_RESET_KEEP, "scan", 0);
}
END_TEST

START_TEST(test_isolation_keep_scan_small_cap)
{
    isolation_case(WASMSLOT_RESET_KEEP, "scan", 16 * 4096);
}
END_TEST

START_TEST(test_isolation_madvise_scan)
{
    isolation_case(WASMSLOT_RESET_MADVISE, "scan", 0);
}
END_TEST

START_TEST(test_isolation_auto_read)
{
    isolation_case(WASMSLOT_RESET_AUTO, "read", 0);
}
END_TEST

START_TEST(test_isolation_keep_read)
{
    isolation_case(WASMSLOT_RESET_KEEP, "read", 16 * 4096);
}
END_TEST

START_TEST(test_isolation_madvise_read)
{
    isolation_case(WASMSLOT_RESET_MADVISE, "read", 0);
}
END_TEST

START_TEST(test_isolation_keep_none)
{
    isolation_case(WASMSLOT_RESET_KEEP, "none", 0);
}
END_TEST

/* The counts say what a reset really did: one page written in a 32 MiB image is one page
 * discarded (madvise) or restored (keep), not the whole memory. */
START_TEST(test_reset_counts_written_pages)
{
    static const uint8_t one = 1;
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool_options o = {.slots = 1, .reset = WASMSLOT_RESET_MADVISE};
    struct wasmslot_error err = {0};
    struct wasmslot_pool *pm, *pk;
    struct wasmslot_slot *s;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);

    if (strcmp(wasmslot_reset_method(), "none") == 0)
        return; /* no pagemap: the whole memory is discarded, as documented */
    fake_init(&f, 544, 544);
    fake_data(&f, 0, &one, 1);
    fake_data(&f, 32 * 1024 * 1024 - 1, &one, 1);
    img = image_ok(&f.m);
    pm = wasmslot_pool_new(&o, &err);
    o.reset = WASMSLOT_RESET_KEEP;
    pk = wasmslot_pool_new(&o, &err);
    ck_assert(pm != NULL && pk != NULL);
    for (int i = 0; i < 3; i++) {
        s = acquire_ok(pm, img);
        wasmslot_memory_base(wasmslot_slot_memory(s))[5 * PAGE] = 9;
        ck_assert_int_eq(wasmslot_pool_release(pm, s), 0);
        s = acquire_ok(pk, img);
        wasmslot_memory_base(wasmslot_slot_memory(s))[5 * PAGE] = (uint8_t)(9 + i);
        ck_assert_int_eq(wasmslot_pool_release(pk, s), 0);
    }
    ck_assert_uint_eq(stat(pm, "reset_discarded_bytes"), 3 * pg);
    ck_assert_uint_eq(stat(pm, "reset_dropped_pages"), 3);
    ck_assert_uint_eq(stat(pm, "reset_restored_pages"), 0);
    ck_assert_uint_eq(stat(pk, "reset_discarded_bytes"), 0);
    ck_assert_uint_eq(stat(pk, "reset_restored_pages"), 3);
    /* The first write made the copy; the next two found it resident. */
    ck_assert_uint_eq(stat(pk, "reset_faults_avoided"), 2);
    wasmslot_pool_free(pm);
    wasmslot_pool_free(pk);
    wasmslot_image_free(img);
}
END_TEST

/* A slot whose instance once wrote many pages and whose later instances write one does not
 * keep comparing the leftovers at every reset, in auto and in keep mode alike: the unchanged
 * span is shed once (counted as dropped), and the page still written stays resident. */
static void sheds_leftovers(enum wasmslot_reset_mode mode)
{
    struct fake f;
    struct wasmslot_image *img;
    struct wasmslot_pool_options o = {.slots = 1, .reset = mode, .keep_max_bytes = 8 << 20};
    struct wasmslot_error err = {0};
    struct wasmslot_pool *p;
    struct wasmslot_slot *s;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m;

    if (strcmp(wasmslot_reset_method(), "none") == 0)
        return;
    fake_init(&f, 80, 80); /* 5 MiB: 256 pages four apart fit */
    img = image_ok(&f.m);
    p = wasmslot_pool_new(&o, &err);
    ck_assert_msg(p != NULL, "%s", err.message);
    s = acquire_ok(p, img);
    m = wasmslot_memory_base(wasmslot_slot_memory(s));
    for (size_t i = 1; i <= 256; i++)
        m[4 * i * pg] = 1;
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    ck_assert_uint_eq(stat(p, "reset_restored_pages"), 256);
    ck_assert_uint_eq(stat(p, "reset_dropped_pages"), 0);
    for (int r = 0; r < 4; r++) {
        s = acquire_ok(p, img);
        m = wasmslot_memory_base(wasmslot_slot_memory(s));
        ck_assert_uint_eq(m[4 * pg], 0);
        m[0] = (uint8_t)(r + 1);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }
    /* The first of these resets found 256 unchanged kept pages and shed them. */
    ck_assert_uint_eq(stat(p, "reset_dropped_pages"), 256);
    ck_assert_uint_eq(stat(p, "reset_restored_pages"), 256 + 4);
    /* Page 0 was a fresh copy once, then found resident three times. */
    ck_assert_uint_eq(stat(p, "reset_faults_avoided"), 3);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
}

START_TEST(test_reset_auto_sheds_leftovers)
{
    sheds_leftovers(WASMSLOT_RESET_AUTO);
}
END_TEST

START_TEST(test_reset_keep_sheds_leftovers)
{
    sheds_leftovers(WASMSLOT_RESET_KEEP);
}
END_TEST

/* ---------------------------------------------------------------- through wasm instances */

#ifndef WAT_DIR
#define WAT_DIR "tests/wat"
#endif

/* An instance of m in slot s, as the daemon makes it. */
static struct wasmslot_instance *instantiate(const struct wasmslot_module *m,
                                             struct wasmslot_slot *s,
                                             const struct wasmslot_extern *imports,
                                             uint32_t nimports, struct wasmslot_error *err)
{
    struct wasmslot_instance_options o = {
        .imports = imports,
        .nimports = nimports,
        .memory = wasmslot_slot_memory(s),
        .data_preloaded = wasmslot_slot_preloaded(s),
    };

    return wasmslot_instance_new(m, &o, err);
}

static struct wasmslot_instance *instantiate_ok(const struct wasmslot_module *m,
                                                struct wasmslot_slot *s)
{
    struct wasmslot_error err = {0};
    struct wasmslot_instance *inst = instantiate(m, s, NULL, 0, &err);

    ck_assert_msg(inst != NULL, "wasmslot_instance_new: %s", err.message);
    return inst;
}

/* Call export `name` with up to two i32 arguments; returns wasmslot_call's code, *out the first
 * result (if any). */
static int call(struct wasmslot_exec *ex, struct wasmslot_instance *inst, const char *name,
                int nargs, uint32_t a, uint32_t b, uint64_t *out)
{
    struct wasmslot_extern e;
    struct wasmslot_value args[2] = {{.type = WASMSLOT_I32, .of.i32 = a},
                                     {.type = WASMSLOT_I32, .of.i32 = b}};
    struct wasmslot_value res[1] = {{0}};
    const struct wasmslot_functype *ft;
    int rc;

    ck_assert_int_eq(wasmslot_instance_export(inst, name, strlen(name), &e), 0);
    ck_assert_int_eq(e.kind, WASMSLOT_EXTERN_FUNC);
    ft = wasmslot_func_type(e.of.func);
    rc = wasmslot_call(ex, e.of.func, args, (uint32_t)nargs, res, ft->nresults);
    if (rc == 0 && ft->nresults > 0 && out != NULL)
        *out = res[0].type == WASMSLOT_I64 ? res[0].of.i64 : res[0].of.i32;
    return rc;
}

static uint64_t call_ok(struct wasmslot_exec *ex, struct wasmslot_instance *inst, const char *name,
                        int nargs, uint32_t a, uint32_t b)
{
    uint64_t v = 0;
    int rc = call(ex, inst, name, nargs, a, b, &v);

    ck_assert_msg(rc == 0, "%s: %s", name, wasmslot_strerror(rc));
    return v;
}

/* A call that must end in an out-of-bounds trap. The guest's faulting access is the point, so
 * valgrind is told not to report it. */
static int call_oob(struct wasmslot_exec *ex, struct wasmslot_instance *inst, const char *name,
                    int nargs, uint32_t a, uint32_t b)
{
    int rc;

    VALGRIND_DISABLE_ERROR_REPORTING;
    rc = call(ex, inst, name, nargs, a, b, NULL);
    VALGRIND_ENABLE_ERROR_REPORTING;
    ck_assert_msg(rc == -WASMSLOT_TRAP_OOB_MEMORY, "%s(%u): %s", name, a, wasmslot_strerror(rc));
    return rc;
}

static struct wasmslot_exec *exec_ok(void)
{
    struct wasmslot_error err = {0};
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, &err);

    ck_assert_msg(ex != NULL, "wasmslot_exec_new: %s", err.message);
    return ex;
}

START_TEST(test_instance_secret_is_gone)
{
    static const uint32_t where[] = {100, 104, 40000, 70000, 2 * PAGE + 8, 4 * PAGE - 8};
    struct wasmslot_module *m = fixture_module("slot_secret");
    struct wasmslot_image *img = image_ok(m);
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_exec *ex = exec_ok();
    struct wasmslot_instance *inst;
    struct wasmslot_slot *s;
    const char *image = "pristine image data";

    ck_assert(wasmslot_image_is_imaged(img));
    s = acquire_ok(p, img);
    ck_assert(wasmslot_slot_preloaded(s));
    inst = instantiate_ok(m, s);
    ck_assert_ptr_eq(wasmslot_instance_memory(inst), wasmslot_slot_memory(s));
    ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 100, 0), 'p');
    ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 70000, 0), 's');
    ck_assert_uint_eq(call_ok(ex, inst, "grow", 1, 2, 0), 2);
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
        call_ok(ex, inst, "write_secret", 1, where[i], 0);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 4 * PAGE - 8, 0), 0x2121544552434553ull);
    /* A passive segment is not part of the image but still works. */
    call_ok(ex, inst, "init_passive", 1, 200, 0);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 200, 0), 0x2165766973736170ull);
    wasmslot_instance_free(inst);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

    /* The next instance, in the same slot with no mmap, sees the image and zeros. */
    ck_assert_ptr_eq(acquire_ok(p, img), s);
    ck_assert_uint_eq(stat(p, "warm_hits"), 1);
    inst = instantiate_ok(m, s);
    ck_assert_uint_eq(call_ok(ex, inst, "size", 0, 0, 0), 2);
    for (uint32_t i = 0; i < strlen(image); i++)
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 100 + i, 0), (uint8_t)image[i]);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 40000, 0), 0);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 200, 0), 0);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 70000, 0), 0x7020646e6f636573ull);
    call_oob(ex, inst, "load64", 1, 2 * PAGE + 8, 0);
    ck_assert_uint_eq(call_ok(ex, inst, "grow", 1, 2, 0), 2);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 2 * PAGE + 8, 0), 0);
    ck_assert_uint_eq(call_ok(ex, inst, "load64", 1, 4 * PAGE - 8, 0), 0);
    wasmslot_instance_free(inst);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

    wasmslot_exec_free(ex);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_instance_bounds_trap)
{
    struct wasmslot_module *m = fixture_module("slot_secret");
    struct wasmslot_image *img = image_ok(m);
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_exec *ex = exec_ok();
    struct wasmslot_instance *inst;
    struct wasmslot_slot *s;

    for (int round = 0; round < 2; round++) {
        s = acquire_ok(p, img);
        inst = instantiate_ok(m, s);
        for (uint32_t pages = 2; pages <= 4; pages++) {
            uint32_t size = pages * PAGE;

            /* The last byte works and one byte further traps (SIGBUS past the extension's end,
             * SIGSEGV in the guard once at the maximum), also for an 8-byte access. */
            ck_assert_int_eq(call(ex, inst, "store8", 2, size - 1, 0x77, NULL), 0);
            ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, size - 1, 0), 0x77);
            wasmslot_pool_count_trap(p, call_oob(ex, inst, "load8", 1, size, 0));
            call_oob(ex, inst, "store8", 2, size, 1);
            ck_assert_int_eq(call(ex, inst, "load64", 1, size - 8, 0, NULL), 0);
            call_oob(ex, inst, "load64", 1, size - 7, 0);
            call_oob(ex, inst, "load8", 1, 0xffffffffu, 0);
            if (pages < 4)
                ck_assert_uint_eq(call_ok(ex, inst, "grow", 1, 1, 0), pages);
        }
        /* One page past the maximum fails cleanly. */
        ck_assert_uint_eq(call_ok(ex, inst, "grow", 1, 1, 0), 0xffffffffu);
        ck_assert_uint_eq(call_ok(ex, inst, "size", 0, 0, 0), 4);
        wasmslot_instance_free(inst);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }
    ck_assert_uint_eq(stat(p, "traps"), 6);
    ck_assert_uint_eq(stat(p, "grows"), 4);
    wasmslot_exec_free(ex);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_instance_slot_moves_between_modules)
{
    struct wasmslot_module *a = fixture_module("slot_secret"), *b = fixture_module("slot_other");
    struct wasmslot_image *ia = image_ok(a), *ib = image_ok(b);
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_exec *ex = exec_ok();
    struct wasmslot_instance *inst;
    struct wasmslot_slot *s;

    for (int round = 0; round < 3; round++) {
        s = acquire_ok(p, ia);
        inst = instantiate_ok(a, s);
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 100, 0), 'p');
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 70000, 0), 's');
        call_ok(ex, inst, "store8", 2, 101, 'X');
        wasmslot_instance_free(inst);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

        s = acquire_ok(p, ib);
        inst = instantiate_ok(b, s);
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 100, 0), 'O');
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 101, 0), 'T');
        call_oob(ex, inst, "load8", 1, 70000, 0);
        call_ok(ex, inst, "store8", 2, 100, 'Y');
        wasmslot_instance_free(inst);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }
    ck_assert_uint_eq(stat(p, "cold_maps"), 6);
    wasmslot_exec_free(ex);
    wasmslot_pool_free(p);
    wasmslot_image_free(ia);
    wasmslot_image_free(ib);
    wasmslot_module_free(a);
    wasmslot_module_free(b);
}
END_TEST

START_TEST(test_instance_copy_fallbacks)
{
    struct wasmslot_module *m = fixture_module("slot_global"), *oob = fixture_module("slot_oob");
    struct wasmslot_image *img = image_ok(m), *ioob = image_ok(oob);
    struct wasmslot_pool *p = pool_ok(1, 0);
    struct wasmslot_exec *ex = exec_ok();
    struct wasmslot_value off = {.type = WASMSLOT_I32, .of.i32 = 300};
    struct wasmslot_error err = {0};
    struct wasmslot_global *g = wasmslot_global_new(&off, false, &err);
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = g};
    struct wasmslot_instance *inst;
    struct wasmslot_slot *s;

    ck_assert_ptr_nonnull(g);
    ck_assert(!wasmslot_image_is_imaged(img));
    ck_assert_str_eq(wasmslot_image_fallback_reason(img), "segment offset is not a constant");
    for (int round = 0; round < 2; round++) {
        s = acquire_ok(p, img);
        ck_assert(!wasmslot_slot_preloaded(s));
        inst = instantiate(m, s, &imp, 1, &err);
        ck_assert_msg(inst != NULL, "%s", err.message);
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 300, 0), 'c');
        ck_assert_uint_eq(call_ok(ex, inst, "load8", 1, 1000, 0), 0);
        call_ok(ex, inst, "store8", 2, 1000, 0x99);
        wasmslot_instance_free(inst);
        ck_assert_int_eq(wasmslot_pool_release(p, s), 0);
    }

    /* Out of bounds: not imaged, and instantiation traps as it would without a pool. */
    ck_assert_str_eq(wasmslot_image_fallback_reason(ioob),
                     "segment out of bounds of the initial memory");
    s = acquire_ok(p, ioob);
    ck_assert_ptr_null(instantiate(oob, s, NULL, 0, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(wasmslot_pool_release(p, s), 0);

    wasmslot_global_unref(g);
    wasmslot_exec_free(ex);
    wasmslot_pool_free(p);
    wasmslot_image_free(img);
    wasmslot_image_free(ioob);
    wasmslot_module_free(m);
    wasmslot_module_free(oob);
}
END_TEST

static Suite *slot_suite(void)
{
    Suite *s = suite_create("slot");
    TCase *tc = tcase_create("direct");

    tcase_add_test(tc, test_image_fallbacks);
    tcase_add_test(tc, test_image_later_segments_win);
    tcase_add_test(tc, test_secret_does_not_survive_a_reset);
    tcase_add_test(tc, test_copy_fallback_memory_is_zeroed);
    tcase_add_test(tc, test_bounds_before_and_after_grow);
    tcase_add_test(tc, test_pool_cap_limits_maximum);
    tcase_add_test(tc, test_slot_moves_between_modules);
    tcase_add_test(tc, test_affinity_order);
    tcase_add_test(tc, test_failed_reset_wipes_the_slot);
    tcase_add_test(tc, test_wipe_leaves_nothing_mapped);
    tcase_add_test(tc, test_release_waits_for_the_last_reference);
    tcase_add_test(tc, test_module_without_memory);
    tcase_add_test(tc, test_stats_add_up);
    tcase_add_test(tc, test_threads_share_a_pool);
    tcase_add_test(tc, test_pool_options_are_checked);
    suite_add_tcase(s, tc);

    tc = tcase_create("reset");
    /* A few hundred syscalls and 12 MiB of compares each: seconds on a loaded 2-core VM. */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_isolation_auto_scan);
    tcase_add_test(tc, test_isolation_keep_scan);
    tcase_add_test(tc, test_isolation_keep_scan_small_cap);
    tcase_add_test(tc, test_isolation_madvise_scan);
    tcase_add_test(tc, test_isolation_auto_read);
    tcase_add_test(tc, test_isolation_keep_read);
    tcase_add_test(tc, test_isolation_madvise_read);
    tcase_add_test(tc, test_isolation_keep_none);
    tcase_add_test(tc, test_reset_counts_written_pages);
    tcase_add_test(tc, test_reset_auto_sheds_leftovers);
    tcase_add_test(tc, test_reset_keep_sheds_leftovers);
    suite_add_tcase(s, tc);

    tc = tcase_create("instances");
    tcase_add_test(tc, test_instance_secret_is_gone);
    tcase_add_test(tc, test_instance_bounds_trap);
    tcase_add_test(tc, test_instance_slot_moves_between_modules);
    tcase_add_test(tc, test_instance_copy_fallbacks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(slot_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
