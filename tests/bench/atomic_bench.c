/* atomic_bench.c: shared memories measured next to native C in the same run: contended atomic
 * increments, wait/notify round trips (threads and processes) against a raw futex ping-pong,
 * and one computation split over 1 and 2 threads, native and as guest code; then the same
 * cases run by the interpreter's atomic instructions (tests/wat/atomic_guest.wat).
 * Usage: atomic-bench [shmem_guest.wasm [atomic_guest.wasm]] */
#include "config.h"

#include "wasmslot.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SHMEM_GUEST_WASM
#define SHMEM_GUEST_WASM "tests/wat/shmem_guest.wasm"
#endif

#define TRIALS      7
#define INCS        2000000u /* increments per thread per trial */
#define ROUND_TRIPS 20000u
#define WORK_PAGES  16u /* the computation's memory: 1 MiB */
#define WORK_ROUNDS 32u /* mixing steps per 32-bit word */

/* Wall time: these cases are about threads running at once. The machine is shared, so every
 * case runs once per trial, the cases of a table taking turns, and keeps its best trial. */
#define KEEP_MIN(var, expr)                                                                        \
    do {                                                                                           \
        double v_ = (expr);                                                                        \
        if (v_ < (var))                                                                            \
            (var) = v_;                                                                            \
    } while (0)

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "atomic-bench: %s: %s\n", what, why);
    exit(1);
}

/* ---------------------------------------------------------------- contended increments */

struct inc_arg {
    _Atomic uint32_t *word;
    pthread_barrier_t *start;
};

static void *inc_thread(void *arg)
{
    struct inc_arg *a = arg;

    pthread_barrier_wait(a->start);
    for (uint32_t i = 0; i < INCS; i++)
        atomic_fetch_add(a->word, 1);
    return NULL;
}

/* One trial: ns per increment over all threads. */
static double run_incs(_Atomic uint32_t *word, int nthreads)
{
    pthread_barrier_t start;
    pthread_t th[2];
    struct inc_arg a = {word, &start};
    uint64_t t0;

    pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
    atomic_store(word, 0);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, inc_thread, &a) != 0)
            die("pthread_create", strerror(errno));
    pthread_barrier_wait(&start);
    t0 = now_ns();
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    double ns = (double)(now_ns() - t0) / ((double)INCS * nthreads);
    if (atomic_load(word) != INCS * (uint32_t)nthreads)
        die("increments", "lost an increment");
    pthread_barrier_destroy(&start);
    return ns;
}

/* ---------------------------------------------------------------- ping-pong */

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* The two players of a ping-pong: the one with parity p moves when the counter is 2r + p. */
struct pp_arg {
    struct wasmslot_memory *mem; /* NULL: the native futex version on word */
    _Atomic uint32_t *word;
    _Atomic uint32_t *sleepers; /* native: players inside FUTEX_WAIT (next word to word) */
    uint64_t off;
    uint32_t parity;
    int futex_op_private;
};

static void pp_play(struct pp_arg *a)
{
    for (uint32_t r = 0; r < ROUND_TRIPS; r++) {
        uint32_t mine = 2 * r + a->parity, v;
        while ((v = atomic_load(a->word)) != mine) {
            if (a->mem != NULL) {
                wasmslot_shmem_wait32(a->mem, a->off, v, -1, NULL);
            } else {
                /* The native floor: FUTEX_WAKE only when someone may sleep (seq_cst on both
                 * sides, so either the waker sees the sleeper or the sleeper sees the value). */
                atomic_fetch_add(a->sleepers, 1);
                futex(a->word, FUTEX_WAIT | a->futex_op_private, v);
                atomic_fetch_sub(a->sleepers, 1);
            }
        }
        atomic_store(a->word, mine + 1);
        if (a->mem != NULL)
            wasmslot_shmem_notify(a->mem, a->off, 1);
        else if (atomic_load(a->sleepers) != 0)
            futex(a->word, FUTEX_WAKE | a->futex_op_private, 1);
    }
}

static void *pp_thread(void *arg)
{
    pp_play(arg);
    return NULL;
}

/* One trial: microseconds per round trip (two hand-offs); the second player runs on a
 * thread, or in a child process when fork_it. */
static double run_pingpong(struct wasmslot_memory *mem, _Atomic uint32_t *word, uint64_t off,
                           int private_flag, int fork_it)
{
    struct pp_arg a = {mem, word, word + 1, off, 0, private_flag},
                  b = {mem, word, word + 1, off, 1, private_flag};
    pthread_t th;
    pid_t pid = -1;
    uint64_t t0;

    atomic_store(word, 0);
    atomic_store(word + 1, 0);
    t0 = now_ns();
    if (fork_it) {
        pid = fork();
        if (pid < 0)
            die("fork", strerror(errno));
        if (pid == 0) {
            pp_play(&b);
            _exit(0);
        }
    } else if (pthread_create(&th, NULL, pp_thread, &b) != 0) {
        die("pthread_create", strerror(errno));
    }
    pp_play(&a);
    if (fork_it) {
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("ping-pong", "the child failed");
    } else {
        pthread_join(th, NULL);
    }
    double us = (double)(now_ns() - t0) / 1000.0 / ROUND_TRIPS;
    if (atomic_load(word) != 2 * ROUND_TRIPS)
        die("ping-pong", "wrong final count");
    return us;
}

/* ---------------------------------------------------------------- parallel computation */

/* The same kernel as the guest's "mix" export (tests/wat/shmem_guest.wat). */
static uint64_t native_mix(uint8_t *base, uint32_t from, uint32_t to, uint32_t rounds)
{
    uint64_t sum = 0;

    for (uint32_t p = from; p < to; p += 4) {
        uint32_t x;
        memcpy(&x, base + p, 4);
        for (uint32_t r = rounds; r != 0; r--) {
            x ^= x << 13;
            x ^= x >> 17;
            x *= 0x2545f491u;
        }
        memcpy(base + p, &x, 4);
        sum += x;
    }
    return sum;
}

struct work_arg {
    uint8_t *base;
    struct wasmslot_instance *inst; /* NULL: native */
    struct wasmslot_exec *ex;
    uint32_t from, to;
    uint64_t sum;
    uint64_t cpu_ns; /* the thread's CPU time */
    int rc;
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void do_work(struct work_arg *w)
{
    if (w->inst == NULL) {
        w->sum = native_mix(w->base, w->from, w->to, WORK_ROUNDS);
        return;
    }
    struct wasmslot_extern e;
    struct wasmslot_value args[3] = {{.type = WASMSLOT_I32, .of.i32 = w->from},
                                     {.type = WASMSLOT_I32, .of.i32 = w->to},
                                     {.type = WASMSLOT_I32, .of.i32 = WORK_ROUNDS}};
    struct wasmslot_value res = {.type = WASMSLOT_I64};

    w->rc = wasmslot_instance_export(w->inst, "mix", 3, &e);
    if (w->rc == 0)
        w->rc = wasmslot_call(w->ex, e.of.func, args, 3, &res, 1);
    w->sum = res.of.i64;
}

static void *work_thread(void *arg)
{
    struct work_arg *w = arg;
    uint64_t c0 = thread_cpu_ns();

    do_work(w);
    w->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

static void seed(uint8_t *base)
{
    for (uint32_t i = 0; i < WORK_PAGES * WASMSLOT_PAGE_SIZE / 4; i++) {
        uint32_t v = i * 2654435761u + 1;
        memcpy(base + 4 * (size_t)i, &v, 4);
    }
}

/* One trial: milliseconds for the whole memory split over nthreads; *sum gets the
 * checksum (the same for every split and for guest and native). */
static double run_work(struct wasmslot_memory *mem, struct wasmslot_instance **insts,
                       struct wasmslot_exec **exs, int nthreads, uint64_t *sum, double *cpu_ms)
{
    const uint32_t bytes = WORK_PAGES * WASMSLOT_PAGE_SIZE;
    struct work_arg w[2];
    pthread_t th[2];
    uint64_t t0;

    seed(wasmslot_memory_base(mem));
    t0 = now_ns();
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct work_arg){.base = wasmslot_memory_base(mem),
                                 .inst = insts ? insts[i] : NULL,
                                 .ex = exs ? exs[i] : NULL,
                                 .from = bytes / (uint32_t)nthreads * (uint32_t)i,
                                 .to = bytes / (uint32_t)nthreads * (uint32_t)(i + 1)};
        if (pthread_create(&th[i], NULL, work_thread, &w[i]) != 0)
            die("pthread_create", strerror(errno));
    }
    *sum = 0;
    uint64_t cpu = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        if (w[i].rc != 0)
            die("guest mix", wasmslot_strerror(w[i].rc));
        *sum += w[i].sum;
        if (w[i].cpu_ns > cpu)
            cpu = w[i].cpu_ns;
    }
    double ms = (double)(now_ns() - t0) / 1e6;
    /* The longest thread's CPU time: the wall time the split would take on idle cores. */
    KEEP_MIN(*cpu_ms, (double)cpu / 1e6);
    return ms;
}

static struct wasmslot_module *load_guest(const char *path)
{
    struct wasmslot_error err = {0, ""};
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t len;

    if (f == NULL)
        return NULL;
    len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct wasmslot_module *m = wasmslot_module_new(buf, len, &err);
    if (m == NULL)
        die(path, err.message);
    return m;
}

/* ---------------------------------------------------------------- guest atomics (interpreter) */

#ifndef ATOMIC_GUEST_WASM
#define ATOMIC_GUEST_WASM "tests/wat/atomic_guest.wasm"
#endif

#define WORK_CHUNK 4096u /* bytes a guest worker takes from the shared counter at a time */

/* One guest call on a thread of its own: its instance and exec on the one shared memory. */
struct gcall {
    struct wasmslot_instance *inst;
    struct wasmslot_exec *ex;
    const char *fn;
    struct wasmslot_value args[6];
    uint32_t nargs;
    struct wasmslot_value result;
    pthread_barrier_t *start;
    uint64_t cpu_ns;
    int rc;
};

static void *gcall_thread(void *arg)
{
    struct gcall *g = arg;
    struct wasmslot_extern e;

    g->rc = wasmslot_instance_export(g->inst, g->fn, strlen(g->fn), &e);
    pthread_barrier_wait(g->start);
    uint64_t c0 = thread_cpu_ns();
    if (g->rc == 0)
        g->rc = wasmslot_call(g->ex, e.of.func, g->args, g->nargs, &g->result,
                              wasmslot_func_type(e.of.func)->nresults);
    g->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

/* Run g[0..n) at once, each on its own thread; returns the wall time in ns from the moment all
 * are ready, and *cpu_ns the longest thread's CPU time. */
static uint64_t run_gcalls(struct gcall *g, int n, uint64_t *cpu_ns)
{
    pthread_barrier_t start;
    pthread_t th[2];
    uint64_t t0;

    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        g[i].start = &start;
        if (pthread_create(&th[i], NULL, gcall_thread, &g[i]) != 0)
            die("pthread_create", strerror(errno));
    }
    pthread_barrier_wait(&start);
    t0 = now_ns();
    *cpu_ns = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (g[i].rc != 0)
            die(g[i].fn, wasmslot_strerror(g[i].rc));
        if (g[i].cpu_ns > *cpu_ns)
            *cpu_ns = g[i].cpu_ns;
    }
    uint64_t ns = now_ns() - t0;
    pthread_barrier_destroy(&start);
    return ns;
}

static struct wasmslot_value i32v(uint32_t v)
{
    return (struct wasmslot_value){.type = WASMSLOT_I32, .of.i32 = v};
}

/* The guest's "inc" (i32.atomic.rmw.add in a loop) on nthreads: ns per increment. */
static double guest_incs(struct gcall *g, struct wasmslot_memory *mem, uint32_t off, int nthreads)
{
    _Atomic uint32_t *word = (_Atomic uint32_t *)(wasmslot_memory_base(mem) + off);
    uint64_t cpu;

    atomic_store(word, 0);
    for (int i = 0; i < nthreads; i++) {
        g[i].fn = "inc";
        g[i].args[0] = i32v(off);
        g[i].args[1] = i32v(INCS);
        g[i].nargs = 2;
    }
    double ns = (double)run_gcalls(g, nthreads, &cpu) / ((double)INCS * nthreads);
    if (atomic_load(word) != INCS * (uint32_t)nthreads)
        die("guest increments", "lost an increment");
    return ns;
}

/* The guest's "pingpong" (wait32 / store / notify) on two threads: us per round trip. */
static double guest_pingpong(struct gcall *g, struct wasmslot_memory *mem, uint32_t off)
{
    _Atomic uint32_t *word = (_Atomic uint32_t *)(wasmslot_memory_base(mem) + off);
    uint64_t cpu;

    atomic_store(word, 0);
    for (int i = 0; i < 2; i++) {
        g[i].fn = "pingpong";
        g[i].args[0] = i32v(off);
        g[i].args[1] = i32v((uint32_t)i);
        g[i].args[2] = i32v(ROUND_TRIPS);
        g[i].nargs = 3;
    }
    double us = (double)run_gcalls(g, 2, &cpu) / 1000.0 / ROUND_TRIPS;
    if (atomic_load(word) != 2 * ROUND_TRIPS || g[0].result.of.i32 != ROUND_TRIPS)
        die("guest ping-pong", "wrong final count");
    return us;
}

/* The guest's "work" on nthreads over the first WORK_PAGES pages of mem (seeded as for the
 * native mix), taking WORK_CHUNK bytes at a time from an atomic counter; its i64 total must be
 * the native checksum. Returns ms; *cpu_ms keeps the best longest-thread CPU time. */
static double guest_work(struct gcall *g, struct wasmslot_memory *mem, int nthreads, uint64_t want,
                         double *cpu_ms)
{
    const uint32_t bytes = WORK_PAGES * WASMSLOT_PAGE_SIZE;
    uint8_t *base = wasmslot_memory_base(mem);
    uint64_t cpu, total;

    seed(base);
    memset(base + bytes, 0, 16); /* the chunk counter, then the i64 total */
    for (int i = 0; i < nthreads; i++) {
        g[i].fn = "work";
        g[i].args[0] = i32v(bytes);
        g[i].args[1] = i32v(0);
        g[i].args[2] = i32v(bytes);
        g[i].args[3] = i32v(WORK_CHUNK);
        g[i].args[4] = i32v(WORK_ROUNDS);
        g[i].args[5] = i32v(bytes + 8);
        g[i].nargs = 6;
    }
    double ms = (double)run_gcalls(g, nthreads, &cpu) / 1e6;
    memcpy(&total, base + bytes + 8, 8);
    if (total != want)
        die("guest work", "checksum differs from native");
    KEEP_MIN(*cpu_ms, (double)cpu / 1e6);
    return ms;
}

/* The guest section: the same cases as above, executed by the interpreter's atomic
 * instructions, next to the native numbers of this run. */
static void guest_section(const char *path, double n1, double n2, double f_priv, double f_shared,
                          double c1, double c2, double cc1, double cc2, uint64_t native_sum)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_module *m = load_guest(path);
    /* One page more than the computation's data, for its counter and total. */
    struct wasmslot_memory *mem =
        wasmslot_shmem_new("atomic-bench-guest", WORK_PAGES + 1, 64, &err);
    struct wasmslot_memory *plain = wasmslot_memory_new(WORK_PAGES + 1, 64, true, &err);
    struct gcall gs[2], gp[2];

    printf("\nguest code (interpreter, %s)\n", path);
    if (m == NULL) {
        printf("  not found, skipped\n");
        return;
    }
    if (mem == NULL || plain == NULL)
        die("guest memory", err.message);
    memset(gs, 0, sizeof gs);
    memset(gp, 0, sizeof gp);
    for (int i = 0; i < 2; i++) {
        struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = mem};
        struct wasmslot_instance_options o = {.imports = &imp, .nimports = 1};
        gs[i].inst = wasmslot_instance_new(m, &o, &err);
        imp.of.memory = plain;
        gp[i].inst = wasmslot_instance_new(m, &o, &err);
        gs[i].ex = wasmslot_exec_new(NULL, &err);
        gp[i].ex = wasmslot_exec_new(NULL, &err);
        if (!gs[i].inst || !gp[i].inst || !gs[i].ex || !gp[i].ex)
            die("guest instance", err.message);
    }

    double i1 = 1e30, i2 = 1e30, p1 = 1e30, p2 = 1e30;
    for (int t = 0; t < TRIALS; t++) {
        KEEP_MIN(i1, guest_incs(gs, mem, 128, 1));
        KEEP_MIN(p1, guest_incs(gp, plain, 128, 1));
        KEEP_MIN(i2, guest_incs(gs, mem, 128, 2));
        KEEP_MIN(p2, guest_incs(gp, plain, 128, 2));
    }
    printf("contended i32.atomic.rmw.add (ns/op)  native C11   guest shmem   ratio   guest plain   "
           "ratio\n");
    printf("  1 thread                            %10.2f   %11.2f   %5.2f   %11.2f   %5.2f\n", n1,
           i1, i1 / n1, p1, p1 / n1);
    printf("  2 threads                           %10.2f   %11.2f   %5.2f   %11.2f   %5.2f\n\n", n2,
           i2, i2 / n2, p2, p2 / n2);

    double ws = 1e30, wp = 1e30;
    for (int t = 0; t < TRIALS; t++) {
        KEEP_MIN(ws, guest_pingpong(gs, mem, 256));
        KEEP_MIN(wp, guest_pingpong(gp, plain, 256));
    }
    printf("guest wait32/notify round trip (us)               us   vs native futex\n");
    printf("  native futex, private, 2 threads           %8.2f\n", f_priv);
    printf("  native futex, shared, 2 threads            %8.2f\n", f_shared);
    printf("  guest, shmem, 2 threads                    %8.2f   %5.2f (shared)\n", ws,
           ws / f_shared);
    printf("  guest, plain shared, 2 threads             %8.2f   %5.2f (private)\n\n", wp,
           wp / f_priv);

    double g1 = 1e30, g2 = 1e30, gc1 = 1e30, gc2 = 1e30;
    for (int t = 0; t < TRIALS; t++) {
        KEEP_MIN(g1, guest_work(gs, mem, 1, native_sum, &gc1));
        KEEP_MIN(g2, guest_work(gs, mem, 2, native_sum, &gc2));
    }
    printf("parallel guest work: mix in %u-byte chunks taken with i32.atomic.rmw.add, total with "
           "i64.atomic.rmw.add\n",
           WORK_CHUNK);
    printf("                       wall: 1 thread   2 threads   speed-up | CPU-bound: speed-up\n");
    printf("  native C (mix)       %11.2f ms %8.2f ms %9.2f  | %19.2f\n", c1, c2, c1 / c2,
           cc1 / cc2);
    printf("  guest work           %11.2f ms %8.2f ms %9.2f  | %19.2f\n", g1, g2, g1 / g2,
           gc1 / gc2);
    printf("  checksum matches native: %016llx\n", (unsigned long long)native_sum);

    for (int i = 0; i < 2; i++) {
        wasmslot_instance_free(gs[i].inst);
        wasmslot_instance_free(gp[i].inst);
        wasmslot_exec_free(gs[i].ex);
        wasmslot_exec_free(gp[i].ex);
    }
    wasmslot_memory_unref(plain);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const char *wasmslot_path = argc > 1 ? argv[1] : SHMEM_GUEST_WASM;
    struct wasmslot_error err = {0, ""};
    struct wasmslot_memory *mem = wasmslot_shmem_new("atomic-bench", WORK_PAGES, 64, &err);
    struct wasmslot_memory *plain = wasmslot_memory_new(1, 1, true, &err);
    _Atomic uint32_t *native;

    if (mem == NULL || plain == NULL)
        die("wasmslot_shmem_new", err.message);
    if (posix_memalign((void **)&native, 64, 64) != 0)
        die("posix_memalign", "out of memory");

    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("atomic-bench: %u increments per thread, %u round trips, best of %d trials, wall "
           "time; %ld CPUs online, load average %.2f\n\n",
           INCS, ROUND_TRIPS, TRIALS, sysconf(_SC_NPROCESSORS_ONLN), load[0]);

    /* Host code doing atomics on the shared memory's bytes: what the interpreter's atomic
     * opcodes will execute, minus the dispatch. */
    _Atomic uint32_t *sword = (_Atomic uint32_t *)(wasmslot_memory_base(mem) + 128);
    double n1 = 1e30, n2 = 1e30, s1 = 1e30, s2 = 1e30;
    for (int t = 0; t < TRIALS; t++) {
        KEEP_MIN(n1, run_incs(native, 1));
        KEEP_MIN(s1, run_incs(sword, 1));
        KEEP_MIN(n2, run_incs(native, 2));
        KEEP_MIN(s2, run_incs(sword, 2));
    }
    printf("contended atomic increment (ns/op)   native C11   shmem memory   ratio\n");
    printf("  1 thread                           %10.2f   %12.2f   %5.2f\n", n1, s1, s1 / n1);
    printf("  2 threads                          %10.2f   %12.2f   %5.2f\n\n", n2, s2, s2 / n2);

    /* The native process case runs on an anonymous MAP_SHARED page, like the shmem header. */
    _Atomic uint32_t *procword =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (procword == MAP_FAILED)
        die("mmap", strerror(errno));
    _Atomic uint32_t *mword = (_Atomic uint32_t *)(wasmslot_memory_base(mem) + 256);
    _Atomic uint32_t *pword = (_Atomic uint32_t *)(wasmslot_memory_base(plain) + 256);
    double f_priv = 1e30, f_shared = 1e30, f_proc = 1e30, w_thr = 1e30, w_plain = 1e30,
           w_proc = 1e30;
    for (int t = 0; t < TRIALS; t++) {
        KEEP_MIN(f_priv, run_pingpong(NULL, native, 0, FUTEX_PRIVATE_FLAG, 0));
        KEEP_MIN(f_shared, run_pingpong(NULL, native, 0, 0, 0));
        KEEP_MIN(f_proc, run_pingpong(NULL, procword, 0, 0, 1));
        KEEP_MIN(w_thr, run_pingpong(mem, mword, 256, 0, 0));
        KEEP_MIN(w_plain, run_pingpong(plain, pword, 256, 0, 0));
        KEEP_MIN(w_proc, run_pingpong(mem, mword, 256, 0, 1));
    }
    printf("wait/notify round trip (us)                          us   vs native futex\n");
    printf("  native futex, private, 2 threads              %8.2f\n", f_priv);
    printf("  native futex, shared, 2 threads               %8.2f\n", f_shared);
    printf("  native futex, shared, 2 processes             %8.2f\n", f_proc);
    printf("  wasmslot_shmem_wait32/notify, shmem, 2 threads         %8.2f   %5.2f (shared)\n",
           w_thr, w_thr / f_shared);
    printf("  wasmslot_shmem_wait32/notify, plain shared, 2 threads  %8.2f   %5.2f (private)\n",
           w_plain, w_plain / f_priv);
    printf("  wasmslot_shmem_wait32/notify, shmem, 2 processes       %8.2f   %5.2f (processes)\n\n",
           w_proc, w_proc / f_proc);

    uint64_t sum1 = 0, sum2 = 0, gsum1 = 0, gsum2 = 0;
    double c1 = 1e30, c2 = 1e30, g1 = 1e30, g2 = 1e30;
    double cc1 = 1e30, cc2 = 1e30, gc1 = 1e30, gc2 = 1e30; /* CPU-time bounds */
    struct wasmslot_module *m = load_guest(wasmslot_path);
    struct wasmslot_instance *insts[2] = {NULL, NULL};
    struct wasmslot_exec *exs[2] = {NULL, NULL};
    if (m != NULL) {
        struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = mem};
        struct wasmslot_instance_options o = {.imports = &imp, .nimports = 1};

        /* Two instances of the module import the one memory, one per thread. */
        for (int i = 0; i < 2; i++) {
            insts[i] = wasmslot_instance_new(m, &o, &err);
            exs[i] = wasmslot_exec_new(NULL, &err);
            if (insts[i] == NULL || exs[i] == NULL)
                die("instance", err.message);
        }
    }
    for (int t = 0; t < TRIALS; t++) {
        KEEP_MIN(c1, run_work(mem, NULL, NULL, 1, &sum1, &cc1));
        KEEP_MIN(c2, run_work(mem, NULL, NULL, 2, &sum2, &cc2));
        if (m != NULL) {
            KEEP_MIN(g1, run_work(mem, insts, exs, 1, &gsum1, &gc1));
            KEEP_MIN(g2, run_work(mem, insts, exs, 2, &gsum2, &gc2));
        }
    }
    if (sum1 != sum2)
        die("native mix", "checksums differ");
    if (m != NULL && (gsum1 != sum1 || gsum2 != sum1))
        die("guest mix", "checksum differs from native");
    for (int i = 0; i < 2; i++) {
        wasmslot_instance_free(insts[i]);
        wasmslot_exec_free(exs[i]);
    }
    wasmslot_module_free(m);

    printf("parallel mix over one shared memory (%u KiB, %u rounds/word, 2 instances)\n",
           WORK_PAGES * WASMSLOT_PAGE_SIZE / 1024, WORK_ROUNDS);
    printf("                       wall: 1 thread   2 threads   speed-up | CPU-bound: speed-up\n");
    printf("  native C             %11.2f ms %8.2f ms %9.2f  | %19.2f\n", c1, c2, c1 / c2,
           cc1 / cc2);
    if (m != NULL)
        printf("  guest (interpreter)  %11.2f ms %8.2f ms %9.2f  | %19.2f\n", g1, g2, g1 / g2,
               gc1 / gc2);
    else
        printf("  guest: %s not found, skipped\n", wasmslot_path);
    if (m != NULL)
        printf("  guest/native, 1 thread: %.1fx (wall), %.1fx (CPU)\n", g1 / c1, gc1 / cc1);
    printf(
        "  (CPU-bound: 1-thread CPU time over the longest thread's CPU time in the 2-thread\n"
        "   run, i.e. the speed-up on two idle cores; wall speed-up needs a second free core)\n");
    printf("checksum %016llx\n", (unsigned long long)sum1);

    guest_section(argc > 2 ? argv[2] : ATOMIC_GUEST_WASM, n1, n2, f_priv, f_shared, c1, c2, cc1,
                  cc2, sum1);

    munmap((void *)procword, 4096);
    free((void *)native);
    wasmslot_memory_unref(plain);
    wasmslot_memory_unref(mem);
    return 0;
}
