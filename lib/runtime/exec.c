/* runtime/exec.c: execution contexts (struct wasmslot_exec) and wasmslot_call, the entry from C
 * into guest code, with argument checking, re-entry from host functions and trap recovery. */
#include "config.h"

#include "runtime/tier.h"
#include "runtime/trap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* The default stack: 8 MiB of value stack and, at WASMSLOT_CALL_BYTES a call, up to 131,072
 * nested calls: a plain recursive C function runs 50,000 deep (20,000 at clang -O0, whose
 * frames are several times larger), and a runaway recursion ends after touching at most
 * ~11 MiB: the first touch of fresh pages is what such a run costs. Memory is only touched
 * as deep as runs go. */
#define DEFAULT_STACK_BYTES ((size_t)8 << 20)

/* Make the value stack hold `cells` cells and the frame array `depth` + 1 frames, keeping
 * what is there when it is already as large. Returns 0 or -ENOMEM (ex unchanged). */
static int reserve(struct wasmslot_exec *ex, size_t cells, size_t depth)
{
    if (cells > ex->stack_cap) {
        wasmslot_cell *st = malloc(cells * sizeof(wasmslot_cell));
        if (st == NULL)
            return -ENOMEM;
        free(ex->stack);
        ex->stack = ex->sp = st;
        ex->stack_cap = cells;
    }
    if (depth + 1 > ex->frames_cap) {
        void *fr = malloc((depth + 1) * WASMSLOT_FRAME_BYTES);
        if (fr == NULL)
            return -ENOMEM;
        free(ex->frames);
        ex->frames = fr;
        ex->frames_cap = depth + 1;
    }
    return 0;
}

/* Set the limits of the next runs: cells of value stack and nested calls, both already
 * reserved. */
static void set_limits(struct wasmslot_exec *ex, size_t cells, size_t depth)
{
    ex->stack_end = ex->stack + cells;
    ex->sp = ex->stack;
    ex->stack_bytes = cells * sizeof(wasmslot_cell);
    ex->max_call_depth = (uint32_t)depth;
}

static size_t depth_for(size_t stack_bytes)
{
    size_t d = stack_bytes / WASMSLOT_CALL_BYTES;
    return d < 1 ? 1 : d > UINT32_MAX - 1 ? UINT32_MAX - 1 : d;
}

struct wasmslot_exec *wasmslot_exec_new(const struct wasmslot_exec_options *opt,
                                        struct wasmslot_error *err)
{
    /* Where an embedder learns that its own SIGSEGV/SIGBUS handler displaced the library's
     * (wasmslot.h, "Signals"): here, once per execution context, rather than as a crash on a
     * guest's first out-of-bounds access. */
    if (wasmslot_trap_handlers_check() < 0) {
        wasmslot_error_set(err, WASMSLOT_ESIGNALS, "%s", wasmslot_strerror(-WASMSLOT_ESIGNALS));
        return NULL;
    }
    struct wasmslot_exec *ex = calloc(1, sizeof *ex);
    if (!ex)
        goto fail;
    size_t bytes = opt && opt->stack_bytes ? opt->stack_bytes : DEFAULT_STACK_BYTES;
    size_t depth = opt && opt->max_call_depth ? opt->max_call_depth : depth_for(bytes);
    size_t cells = bytes / sizeof(wasmslot_cell);
    if (cells < 16)
        cells = 16;
    if (reserve(ex, cells, depth) != 0)
        goto fail;
    set_limits(ex, cells, depth);
    atomic_init(&ex->interrupt, 0);
    ex->poll_countdown = 0;
    return ex;
fail:
    wasmslot_exec_free(ex);
    wasmslot_error_set(err, ENOMEM, "out of memory");
    return NULL;
}

int wasmslot_exec_set_stack_size(struct wasmslot_exec *ex, size_t stack_bytes)
{
    size_t cells = stack_bytes / sizeof(wasmslot_cell);
    size_t depth = depth_for(stack_bytes);

    if (cells < 16)
        cells = 16;
    if (cells == (size_t)(ex->stack_end - ex->stack) && depth == ex->max_call_depth)
        return 0;
    int rc = reserve(ex, cells, depth);
    if (rc != 0)
        return rc;
    set_limits(ex, cells, depth);
    return 0;
}

void wasmslot_exec_free(struct wasmslot_exec *ex)
{
    if (!ex)
        return;
    if (ex->native_stack != NULL)
        munmap(ex->native_stack, ex->native_stack_size);
    free(ex->stack);
    free(ex->frames);
    free(ex);
}

void wasmslot_exec_set_deadline(struct wasmslot_exec *ex, uint64_t deadline_ns)
{
    ex->deadline_ns = deadline_ns;
}

void wasmslot_exec_set_notify(struct wasmslot_exec *ex, uint64_t notify_ns, void (*fn)(void *arg),
                              void *arg)
{
    ex->notify_fn = fn;
    ex->notify_arg = arg;
    ex->notify_ns = fn != NULL ? notify_ns : 0;
}

/* The hook is one-shot: cleared before it is called. */
static void notify_now(struct wasmslot_exec *ex)
{
    void (*fn)(void *) = ex->notify_fn;

    ex->notify_ns = 0;
    if (fn != NULL)
        fn(ex->notify_arg);
}

/*
 * The clock a run's deadline is checked with. CLOCK_MONOTONIC is read in user space (vDSO)
 * on most hosts, ~20-50 ns; where the clocksource cannot be (some VMs), every reading is a
 * system call, ~1.5-6 us on the VM this was measured on. The first reading times a few of
 * them: above EXEC_CLOCK_SLOW_NS, the checks read CLOCK_MONOTONIC_COARSE instead (always in
 * user space; it lags by at most one kernel tick, 1-10 ms). The deadline itself is set from
 * the precise clock by the embedder, and the coarse one is never ahead of it, so a run is never
 * stopped early, only up to one tick late. WASMSLOT_CLOCK=precise|coarse forces either.
 */
#define EXEC_CLOCK_SLOW_NS 400
#define EXEC_CLOCK_PROBES  16

static _Atomic int exec_clock = -1; /* a clockid_t once probed */

static uint64_t clock_read(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static clockid_t exec_clock_probe(void)
{
    const char *force = getenv("WASMSLOT_CLOCK");
    uint64_t t0, t1;

    if (force != NULL && strcmp(force, "coarse") == 0)
        return CLOCK_MONOTONIC_COARSE;
    if (force != NULL && strcmp(force, "precise") == 0)
        return CLOCK_MONOTONIC;
    t0 = clock_read(CLOCK_MONOTONIC);
    for (int i = 0; i < EXEC_CLOCK_PROBES; i++)
        clock_read(CLOCK_MONOTONIC);
    t1 = clock_read(CLOCK_MONOTONIC);
    return (t1 - t0) / EXEC_CLOCK_PROBES > EXEC_CLOCK_SLOW_NS ? CLOCK_MONOTONIC_COARSE
                                                             : CLOCK_MONOTONIC;
}

uint64_t wasmslot_exec__now_ns(void)
{
    int id = atomic_load_explicit(&exec_clock, memory_order_relaxed);

    /* Racing first readers probe alike; either result is right. */
    if (__builtin_expect(id < 0, 0)) {
        id = (int)exec_clock_probe();
        atomic_store_explicit(&exec_clock, id, memory_order_relaxed);
    }
    return clock_read((clockid_t)id);
}

bool wasmslot_exec__clock_coarse(void)
{
    wasmslot_exec__now_ns();
    return atomic_load_explicit(&exec_clock, memory_order_relaxed) == CLOCK_MONOTONIC_COARSE;
}

bool wasmslot_exec__clock_check(struct wasmslot_exec *ex, uint64_t now_ns)
{
    if (ex->notify_ns != 0 && now_ns >= ex->notify_ns)
        notify_now(ex);
    return ex->deadline_ns != 0 && now_ns >= ex->deadline_ns;
}

void wasmslot_exec__blocking(struct wasmslot_exec *ex)
{
    if (ex != NULL && ex->notify_ns != 0)
        notify_now(ex);
}

/* Values of ex->interrupt: the interpreter stops on any non-zero one; wasmslot_call clears only
 * a plain request on entry, since a sticky one may have been meant for the run it starts. */
#define INTERRUPT_PLAIN  1
#define INTERRUPT_STICKY 2

void wasmslot_exec_interrupt(struct wasmslot_exec *ex)
{
    int none = 0;

    /* A sticky request is never weakened into one the next call would clear. */
    atomic_compare_exchange_strong_explicit(&ex->interrupt, &none, INTERRUPT_PLAIN,
                                            memory_order_relaxed, memory_order_relaxed);
}

void wasmslot_exec_interrupt_sticky(struct wasmslot_exec *ex)
{
    atomic_store_explicit(&ex->interrupt, INTERRUPT_STICKY, memory_order_relaxed);
}

void wasmslot_exec_clear_interrupt(struct wasmslot_exec *ex)
{
    atomic_store_explicit(&ex->interrupt, 0, memory_order_relaxed);
}

void wasmslot_exec_set_exit_code(struct wasmslot_exec *ex, int code)
{
    ex->exit_code = code;
}

int wasmslot_exec_exit_code(const struct wasmslot_exec *ex)
{
    return ex->exit_code;
}

void wasmslot_exec_set_user(struct wasmslot_exec *ex, void *user)
{
    ex->user = user;
}

void *wasmslot_exec_user(const struct wasmslot_exec *ex)
{
    return ex->user;
}

static void cell_to_value(wasmslot_cell c, enum wasmslot_valtype t, struct wasmslot_value *v)
{
    v->type = t;
    switch (t) {
    case WASMSLOT_I32:
    case WASMSLOT_F32:
        v->of.i64 = 0;
        v->of.i32 = (uint32_t)c;
        break;
    case WASMSLOT_I64:
    case WASMSLOT_F64:
    case WASMSLOT_V128:
        v->of.i64 = c;
        break;
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        v->of.externref = (void *)(uintptr_t)c;
        break;
    }
}

static wasmslot_cell value_to_cell(const struct wasmslot_value *v)
{
    switch (v->type) {
    case WASMSLOT_I32:
    case WASMSLOT_F32:
        return v->of.i32;
    case WASMSLOT_I64:
    case WASMSLOT_F64:
    case WASMSLOT_V128:
        return v->of.i64;
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        return (uintptr_t)v->of.externref;
    }
    return 0;
}

void wasmslot_cells__to_values(const wasmslot_cell *c, const enum wasmslot_valtype *types,
                               uint32_t n, struct wasmslot_value *out)
{
    for (uint32_t i = 0; i < n; i++)
        cell_to_value(c[i], types[i], &out[i]);
}

void wasmslot_cells__from_values(const struct wasmslot_value *v, uint32_t n, wasmslot_cell *out)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = value_to_cell(&v[i]);
}

static bool arg_type_ok(const struct wasmslot_value *v, enum wasmslot_valtype want)
{
    return v->type == want;
}

static int call_host_from_c(struct wasmslot_exec *ex, struct wasmslot_func *f,
                            const struct wasmslot_value *args, struct wasmslot_value *results)
{
    const struct wasmslot_functype *ft = f->type;
    struct wasmslot_call_ctx ctx = {.exec = ex, .inst = NULL};
    for (uint32_t i = 0; i < ft->nresults; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].type = ft->results[i];
    }
    int rc = f->host(&ctx, f->env, args, results);
    if (rc > 0)
        rc = -WASMSLOT_TRAP_HOST;
    return rc;
}

int wasmslot_call(struct wasmslot_exec *ex, struct wasmslot_func *f,
                  const struct wasmslot_value *args, uint32_t nargs, struct wasmslot_value *results,
                  uint32_t nresults)
{
    if (!ex || !f)
        return -WASMSLOT_EARGS;
    const struct wasmslot_functype *ft = f->type;
    if (nargs != ft->nparams || nresults != ft->nresults || (nargs && !args) ||
        (nresults && !results))
        return -WASMSLOT_EARGS;
    for (uint32_t i = 0; i < nargs; i++)
        if (!arg_type_ok(&args[i], ft->params[i]))
            return -WASMSLOT_EARGS;

    bool outermost = ex->nesting == 0;
    if (outermost) {
        int stale = INTERRUPT_PLAIN;
        atomic_compare_exchange_strong_explicit(&ex->interrupt, &stale, 0, memory_order_relaxed,
                                                memory_order_relaxed);
        ex->depth = 0;
        ex->sp = ex->stack;
    }
    if (ex->nesting >= WASMSLOT_MAX_NESTING)
        return -WASMSLOT_TRAP_STACK_EXHAUSTED;
    if (f->host) {
        ex->nesting++;
        int rc = call_host_from_c(ex, f, args, results);
        ex->nesting--;
        return rc;
    }

    /* The arguments go where the tier expects them: the first free cells of the value stack
     * (the interpreter's frame starts there; the native tier reads and writes them in place). */
    wasmslot_cell *base = ex->sp;
    size_t need = nargs > nresults ? nargs : nresults;
    if ((size_t)(ex->stack_end - base) < need)
        return -WASMSLOT_TRAP_STACK_EXHAUSTED;
    wasmslot_cells__from_values(args, nargs, base);
    ex->nesting++;
    int rc = f->inst->module->tier->call(ex, f, base);
    ex->nesting--;
    if (rc == 0)
        wasmslot_cells__to_values(base, ft->results, nresults, results);
    return rc;
}
