/* slot_bench.c: measures the slot fastpath (acquire, touch pages, release) against the raw
 * syscall floor, a fresh mmap per instance and a memcpy of the image per instance. */
#include "config.h"

#include "mem/image.h"
#include "mem/slot.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define OS_PAGE  4096u
#define TRIALS   5
#define TRIAL_NS 30000000ull /* each trial runs about this long */
#define SPAN     (WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The tables measure the CPU time of the measuring thread (user + system, page faults
 * included): the machine this runs on is shared, and wall time would count the time other
 * processes held the CPU. */
static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void die(const char *what)
{
    fprintf(stderr, "slot-bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* One benchmark case: an image of image_bytes in a memory of mem_bytes, `dirty` pages touched
 * per cycle, spread evenly over the memory. */
struct bcase {
    size_t image_bytes, mem_bytes;
    unsigned dirty;
    size_t stride;
    uint8_t *bytes; /* the image's contents */
    struct fake_module {
        struct wasmslot_module m;
        struct wasmslot_limits lim;
        struct wasmslot_data data;
    } fm;
    struct wasmslot_image *img;
    struct wasmslot_pool *pool;
    /* baselines */
    int ext_fd, shared_fd;
    uint8_t *floor_base, *shared_base;
    uint8_t *copy_mem;
};

static void touch(uint8_t *mem, const struct bcase *c, unsigned round)
{
    for (unsigned i = 0; i < c->dirty; i++)
        mem[(size_t)i * c->stride] = (uint8_t)(round + i + 1);
}

/* ---------------------------------------------------------------- the cycles */

static void cycle_fastpath(struct bcase *c, unsigned round)
{
    struct wasmslot_error err;
    struct wasmslot_slot *s = wasmslot_pool_acquire(c->pool, c->img, &err);

    if (s == NULL) {
        fprintf(stderr, "slot-bench: wasmslot_pool_acquire: %s\n", err.message);
        exit(1);
    }
    touch(wasmslot_memory_base(wasmslot_slot_memory(s)), c, round);
    if (wasmslot_pool_release(c->pool, s) != 0) {
        fprintf(stderr, "slot-bench: wasmslot_pool_release failed\n");
        exit(1);
    }
}

/* The floor: the same mappings as a slot, and only the syscalls of a reset. */
static void cycle_floor(struct bcase *c, unsigned round)
{
    touch(c->floor_base, c, round);
    if (madvise(c->floor_base, c->mem_bytes, MADV_DONTNEED) != 0)
        die("madvise");
    if (ftruncate(c->ext_fd, (off_t)c->mem_bytes) != 0)
        die("ftruncate");
}

/* The alternative slot layout: the extension mapped MAP_SHARED. Guest writes then land in the
 * file, so the reset must punch them out of it; only the image part needs madvise. */
static void cycle_floor_shared(struct bcase *c, unsigned round)
{
    const struct image_layout *l = image__layout(c->img);

    touch(c->shared_base, c, round);
    if (madvise(c->shared_base + l->data_start, l->data_end - l->data_start, MADV_DONTNEED) != 0)
        die("madvise");
    if (fallocate(c->shared_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  (off_t)c->mem_bytes) != 0)
        die("fallocate");
}

/* Without slots: reserve, map the image and anonymous zeros, touch, unmap. */
static void cycle_fresh(struct bcase *c, unsigned round)
{
    const struct image_layout *l = image__layout(c->img);
    uint8_t *base = mmap(NULL, SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (base == MAP_FAILED)
        die("mmap");
    if (mmap(base, c->mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) == MAP_FAILED)
        die("mmap");
    if (mmap(base + l->data_start, l->data_end - l->data_start, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_FIXED, l->fd, 0) == MAP_FAILED)
        die("mmap");
    touch(base, c, round);
    munmap(base, SPAN);
}

/* Without mappings: copy the image into a memory kept across instances, zero the rest. */
static void cycle_memcpy(struct bcase *c, unsigned round)
{
    memcpy(c->copy_mem, c->bytes, c->image_bytes);
    memset(c->copy_mem + c->image_bytes, 0, c->mem_bytes - c->image_bytes);
    touch(c->copy_mem, c, round);
}

typedef void (*cycle_fn)(struct bcase *c, unsigned round);

/* Per-cycle nanoseconds of one trial of fn, about TRIAL_NS long. */
static double trial(cycle_fn fn, struct bcase *c)
{
    uint64_t start = now_ns(), end;
    unsigned n = 0;

    do {
        for (unsigned k = 0; k < 16; k++, n++)
            fn(c, n);
        end = now_ns();
    } while (end - start < TRIAL_NS);
    return (double)(end - start) / n;
}

/* Best per-cycle time of each method over TRIALS rounds. The methods take turns inside every
 * round so that a burst of load from other processes on the machine hits them alike. */
static void measure(struct bcase *c, const cycle_fn *fns, double *best, unsigned nfns)
{
    for (unsigned f = 0; f < nfns; f++) {
        best[f] = 1e30;
        for (unsigned r = 0; r < 20; r++) /* warm-up: map the slot, fault in the image */
            fns[f](c, r);
    }
    for (int t = 0; t < TRIALS; t++)
        for (unsigned f = 0; f < nfns; f++) {
            double ns = trial(fns[f], c);

            if (ns < best[f])
                best[f] = ns;
        }
}

/* ---------------------------------------------------------------- set-up */

static void case_init(struct bcase *c, size_t image_bytes, unsigned dirty, uint32_t slots)
{
    struct wasmslot_error err;
    struct wasmslot_pool_options po = {.slots = slots};
    const struct image_layout *l;

    memset(c, 0, sizeof(*c));
    c->image_bytes = image_bytes;
    c->mem_bytes = image_bytes > ((size_t)1 << 20) ? image_bytes : (size_t)1 << 20;
    c->dirty = dirty;
    c->stride = c->mem_bytes / dirty / OS_PAGE * OS_PAGE;
    c->bytes = malloc(image_bytes);
    if (c->bytes == NULL)
        die("malloc");
    for (size_t i = 0; i < image_bytes; i++)
        c->bytes[i] = (uint8_t)(i * 7 + 1) | 1;
    c->fm.lim = (struct wasmslot_limits){.min = c->mem_bytes / WASMSLOT_PAGE_SIZE,
                                         .max = c->mem_bytes / WASMSLOT_PAGE_SIZE + 16,
                                         .has_max = true};
    c->fm.data = (struct wasmslot_data){.mode = WASMSLOT_SEG_ACTIVE,
                                        .offset = {.kind = WASMSLOT_CONST_I32},
                                        .bytes = c->bytes,
                                        .len = (uint32_t)image_bytes};
    c->fm.m.nmemories_total = 1;
    c->fm.m.memories = &c->fm.lim;
    c->fm.m.ndatas = 1;
    c->fm.m.datas = &c->fm.data;
    c->img = wasmslot_image_new(&c->fm.m, &err);
    c->pool = c->img != NULL ? wasmslot_pool_new(&po, &err) : NULL;
    if (c->pool == NULL) {
        fprintf(stderr, "slot-bench: %s\n", err.message);
        exit(1);
    }
    l = image__layout(c->img);

    /* The floor's own slot-like mapping: extension memfd, image over it. */
    c->ext_fd = memfd_create("slot-bench-floor", MFD_CLOEXEC);
    if (c->ext_fd < 0 || ftruncate(c->ext_fd, (off_t)c->mem_bytes) != 0)
        die("memfd");
    c->floor_base = mmap(NULL, c->mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, c->ext_fd, 0);
    if (c->floor_base == MAP_FAILED)
        die("mmap");
    if (mmap(c->floor_base + l->data_start, l->data_end - l->data_start, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_FIXED, l->fd, 0) == MAP_FAILED)
        die("mmap");

    c->shared_fd = memfd_create("slot-bench-shared", MFD_CLOEXEC);
    if (c->shared_fd < 0 || ftruncate(c->shared_fd, (off_t)c->mem_bytes) != 0)
        die("memfd");
    c->shared_base = mmap(NULL, c->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, c->shared_fd, 0);
    if (c->shared_base == MAP_FAILED)
        die("mmap");
    if (mmap(c->shared_base + l->data_start, l->data_end - l->data_start, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_FIXED, l->fd, 0) == MAP_FAILED)
        die("mmap");

    c->copy_mem =
        mmap(NULL, c->mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c->copy_mem == MAP_FAILED)
        die("mmap");
}

static void case_free(struct bcase *c)
{
    wasmslot_pool_free(c->pool);
    wasmslot_image_free(c->img);
    munmap(c->floor_base, c->mem_bytes);
    munmap(c->copy_mem, c->mem_bytes);
    munmap(c->shared_base, c->mem_bytes);
    close(c->ext_fd);
    close(c->shared_fd);
    free(c->bytes);
}

/* ---------------------------------------------------------------- threads */

struct runner {
    struct bcase *c;
    pthread_barrier_t *go;
    uint64_t cycles, wall_ns, cpu_ns;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    uint64_t wall, cpu;
    unsigned n = 0;

    pthread_barrier_wait(r->go);
    wall = clock_ns(CLOCK_MONOTONIC);
    cpu = now_ns();
    do {
        for (unsigned k = 0; k < 16; k++, n++)
            cycle_fastpath(r->c, n);
    } while (now_ns() - cpu < 10 * TRIAL_NS);
    r->cpu_ns = now_ns() - cpu;
    r->wall_ns = clock_ns(CLOCK_MONOTONIC) - wall;
    r->cycles = n;
    return NULL;
}

/* Per-cycle cost (CPU and wall time, the worse thread's) with `threads` threads cycling on
 * one pool at once. */
static void threaded(struct bcase *c, unsigned threads, double *cpu, double *wall)
{
    pthread_t t[2];
    struct runner r[2];
    pthread_barrier_t go;

    *cpu = *wall = 0;
    pthread_barrier_init(&go, NULL, threads);
    for (unsigned i = 0; i < threads; i++) {
        r[i] = (struct runner){.c = c, .go = &go};
        pthread_create(&t[i], NULL, runner_main, &r[i]);
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if ((double)r[i].cpu_ns / r[i].cycles > *cpu)
            *cpu = (double)r[i].cpu_ns / r[i].cycles;
        if ((double)r[i].wall_ns / r[i].cycles > *wall)
            *wall = (double)r[i].wall_ns / r[i].cycles;
    }
    pthread_barrier_destroy(&go);
}

/* ---------------------------------------------------------------- whole instances */

static size_t put_leb(uint8_t *p, uint32_t v)
{
    size_t n = 0;

    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    return n;
}

/* The binary of a module with a memory of mem_bytes, one active segment holding `image` at
 * offset 0, and an export "touch" that stores one byte at address 0. */
static uint8_t *module_binary(const uint8_t *image, uint32_t image_len, uint32_t mem_pages,
                              size_t *len)
{
    static const uint8_t head[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* magic, version */
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type 0: [] -> [] */
        0x03, 0x02, 0x01, 0x00,                         /* func 0: type 0 */
    };
    static const uint8_t tail[] = {
        0x07, 0x09, 0x01, 0x05, 't',  'o',  'u',  'c',  'h',  0x00, 0x00, /* export "touch" */
        0x0a, 0x0b, 0x01, 0x09, 0x00, 0x41, 0x00, 0x41, 0x01, 0x3a, 0x00, 0x00, 0x0b,
    };
    uint8_t *b = malloc(sizeof(head) + sizeof(tail) + image_len + 64), *p;
    uint8_t leb[5];
    size_t n;

    if (b == NULL)
        die("malloc");
    memcpy(b, head, sizeof(head));
    p = b + sizeof(head);
    /* memory 0: min = max = mem_pages */
    n = put_leb(leb, mem_pages);
    *p++ = 0x05;
    *p++ = (uint8_t)(2 + 2 * n);
    *p++ = 0x01;
    *p++ = 0x01;
    memcpy(p, leb, n);
    p += n;
    memcpy(p, leb, n);
    p += n;
    memcpy(p, tail, sizeof(tail));
    p += sizeof(tail);
    /* data: one active segment at i32.const 0 */
    n = put_leb(leb, image_len);
    *p++ = 0x0b;
    p += put_leb(p, (uint32_t)(1 + 1 + 3 + n + image_len));
    *p++ = 0x01;
    *p++ = 0x00;
    *p++ = 0x41;
    *p++ = 0x00;
    *p++ = 0x0b;
    memcpy(p, leb, n);
    p += n;
    memcpy(p, image, image_len);
    p += image_len;
    *len = (size_t)(p - b);
    return b;
}

struct icase {
    struct bcase *c;
    struct wasmslot_module *m;
    struct wasmslot_exec *ex;
};

static void instance_cycle(struct icase *ic, struct wasmslot_slot *s)
{
    struct wasmslot_instance_options o = {0};
    struct wasmslot_error err;
    struct wasmslot_instance *inst;
    struct wasmslot_extern e;

    if (s != NULL) {
        o.memory = wasmslot_slot_memory(s);
        o.data_preloaded = wasmslot_slot_preloaded(s);
    }
    inst = wasmslot_instance_new(ic->m, &o, &err);
    if (inst == NULL) {
        fprintf(stderr, "slot-bench: wasmslot_instance_new: %s\n", err.message);
        exit(1);
    }
    if (wasmslot_instance_export(inst, "touch", 5, &e) != 0 ||
        wasmslot_call(ic->ex, e.of.func, NULL, 0, NULL, 0) != 0) {
        fprintf(stderr, "slot-bench: calling touch failed\n");
        exit(1);
    }
    wasmslot_instance_free(inst);
}

static struct icase *current_icase;

/* acquire, instantiate on the slot, call, free, release */
static void cycle_instance_slot(struct bcase *c, unsigned round)
{
    struct wasmslot_error err;
    struct wasmslot_slot *s = wasmslot_pool_acquire(c->pool, current_icase->c->img, &err);

    if (s == NULL) {
        fprintf(stderr, "slot-bench: wasmslot_pool_acquire: %s\n", err.message);
        exit(1);
    }
    instance_cycle(current_icase, s);
    wasmslot_pool_release(c->pool, s);
}

/* the engine's own memory: fresh reservation, segments copied */
static void cycle_instance_plain(struct bcase *c, unsigned round)
{
    instance_cycle(current_icase, NULL);
}

int main(void)
{
    static const size_t images[] = {64 << 10, 1 << 20, 16 << 20};
    static const unsigned dirties[] = {1, 16, 256};
    double key_fast = 0, key_floor = 0, key_fresh = 0;

    printf("slot-bench: per-cycle CPU time in microseconds (best of %d trials)\n", TRIALS);
    printf("%8s %8s %6s %10s %10s %10s %10s %9s %9s %12s\n", "image", "memory", "dirty", "fastpath",
           "floor", "fresh-mmap", "memcpy", "/floor", "/fresh", "shared-floor");
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
        for (size_t d = 0; d < sizeof(dirties) / sizeof(dirties[0]); d++) {
            static const cycle_fn fns[] = {cycle_fastpath, cycle_floor, cycle_fresh, cycle_memcpy,
                                           cycle_floor_shared};
            struct bcase c;
            double best[5], fast, fl, fresh, copy;

            case_init(&c, images[i], dirties[d], 1);
            measure(&c, fns, best, 5);
            fast = best[0];
            fl = best[1];
            fresh = best[2];
            copy = best[3];
            printf("%7zuK %7zuK %6u %10.2f %10.2f %10.2f %10.2f %9.2f %9.2f %12.2f\n",
                   images[i] >> 10, c.mem_bytes >> 10, dirties[d], fast / 1e3, fl / 1e3,
                   fresh / 1e3, copy / 1e3, fast / fl, fast / fresh, best[4] / 1e3);
            if (images[i] == (1 << 20) && dirties[d] == 1) {
                key_fast = fast;
                key_floor = fl;
                key_fresh = fresh;
            }
            case_free(&c);
        }
    }

    {
        struct bcase c;
        double cpu, wall;

        case_init(&c, 1 << 20, 1, 2);
        for (unsigned n = 1; n <= 2; n++) {
            threaded(&c, n, &cpu, &wall);
            printf("slot-bench: %u thread%s on one pool, 1 MiB image, 1 dirty page: "
                   "%.2f us/cycle CPU, %.2f us/cycle wall, on each thread\n",
                   n, n > 1 ? "s" : "", cpu / 1e3, wall / 1e3);
        }
        case_free(&c);
    }

    {
        static const cycle_fn fns[] = {cycle_instance_slot, cycle_instance_plain};
        struct bcase c;
        struct icase ic = {.c = &c};
        struct wasmslot_error err;
        uint8_t *bin;
        size_t len;
        double best[2];

        case_init(&c, 1 << 20, 1, 1);
        bin = module_binary(c.bytes, (uint32_t)c.image_bytes,
                            (uint32_t)(c.mem_bytes / WASMSLOT_PAGE_SIZE), &len);
        ic.m = wasmslot_module_new(bin, len, &err);
        free(bin);
        ic.ex = ic.m != NULL ? wasmslot_exec_new(NULL, &err) : NULL;
        if (ic.ex == NULL) {
            fprintf(stderr, "slot-bench: %s\n", err.message);
            return 1;
        }
        /* The bench's image came from a hand-made module; use the real module's own image. */
        wasmslot_image_free(c.img);
        c.img = wasmslot_image_new(ic.m, &err);
        if (c.img == NULL) {
            fprintf(stderr, "slot-bench: %s\n", err.message);
            return 1;
        }
        current_icase = &ic;
        measure(&c, fns, best, 2);
        printf("slot-bench: wasmslot_instance_new + call + wasmslot_instance_free, 1 MiB image, 1 "
               "dirty "
               "page: on a pool slot %.2f us, on a plain memory (segments copied) %.2f us\n",
               best[0] / 1e3, best[1] / 1e3);
        wasmslot_exec_free(ic.ex);
        wasmslot_module_free(ic.m);
        case_free(&c);
    }

    printf("slot-bench: shared-floor: the floor with the extension mapped MAP_SHARED (reset = "
           "madvise of the image part + hole punch), the layout the slots do not use\n");
    printf("slot-bench: note: the fastpath skips the ftruncate when the memory did not grow "
           "(nothing past the initial size was accessible); the floor always does it\n");
    printf("slot-bench: fastpath/floor=%.2f fastpath/fresh-mmap=%.2f\n", key_fast / key_floor,
           key_fast / key_fresh);
    return 0;
}
