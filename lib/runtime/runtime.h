/* runtime/runtime.h: layouts of the run-time objects (functions, tables, globals, memories,
 * instances, execution contexts) shared by the runtime and its tiers (private). */
#ifndef WASMSLOT_RUNTIME_H
#define WASMSLOT_RUNTIME_H

#include "format/module.h"
#include "wasmslot.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>

/* Every value lives in one 64-bit cell: i32 in the low half (upper half unspecified),
 * i64, f32 bits in the low half, f64 bits, a reference as a pointer (NULL = null). */
typedef uint64_t wasmslot_cell;

/* A function instance; a funcref points at one. */
struct wasmslot_func {
    const struct wasmslot_functype *type;
    struct wasmslot_instance *inst;      /* NULL for host functions */
    uint32_t index;                      /* index in inst's module, for wasm functions */
    const struct wasmslot_func_def *def; /* NULL for host functions */
    wasmslot_host_fn host;               /* host functions only */
    void *env;
    void (*env_free)(void *);
    struct wasmslot_functype owned_type; /* host functions: the copied type */
};

struct wasmslot_table {
    _Atomic int refs;
    enum wasmslot_valtype elem;
    uint32_t size;
    uint32_t max; /* 0xffffffff when the table has no maximum */
    bool has_max;
    void **elems; /* size entries: struct wasmslot_func * or externref, NULL = null */
    /* Instances whose instantiation failed after they stored their functions here; the table
     * keeps them alive (see runtime/instance.c) and frees them with itself. */
    struct wasmslot_instance *orphans;
};

struct wasmslot_global {
    _Atomic int refs;
    enum wasmslot_valtype type;
    bool mutable_;
    wasmslot_cell value;
    struct wasmslot_instance *orphans; /* as for tables: a funcref global can hold them too */
};

/* What a memory's backing store must do: plain memories, pool slots and shared memories
 * each provide these. */
struct wasmslot_memory_ops {
    /* Make [old size, new_size) accessible. Called with the memory's grow lock held; returns 0
     * or -errno. The caller publishes the new size afterwards. */
    int (*grow)(struct wasmslot_memory *mem, size_t new_size);
    /* Last reference dropped: release the backing store and mem itself. */
    void (*destroy)(struct wasmslot_memory *mem);
    /* Optional; NULL for memories private to one process. A memory shared across processes
     * (mem/shmem.c) keeps its authoritative size in a process-shared header, because the `size`
     * field below is per process and would miss a grow made by another process.
     * size: the current size, read with acquire semantics (see wasmslot_memory__size).
     * grow_pages: all of memory.grow (limit check, growth, publication) under the store's own
     * cross-process lock; wasmslot_memory_grow delegates to it and `grow` is then unused. */
    size_t (*size)(const struct wasmslot_memory *mem);
    int (*grow_pages)(struct wasmslot_memory *mem, uint32_t delta_pages, uint32_t *old_pages);
};

struct wasmslot_memory {
    uint8_t *base;       /* reservation of WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD bytes */
    _Atomic size_t size; /* current accessible bytes, a multiple of WASMSLOT_PAGE_SIZE */
    uint32_t max_pages;  /* hard limit, <= 65536 */
    bool shared;
    _Atomic int refs;
    pthread_mutex_t grow_lock;  /* serialises grows */
    atomic_uint_fast64_t grows; /* successful grows, for statistics */
    const struct wasmslot_memory_ops *ops;
    void *owner; /* the backing store's own state (slot, shmem, ...) */
    /* Whether max_pages is a declared maximum (true after wasmslot_memory__init) or only the 4 GiB
     * ceiling of a memory declared without one; import matching needs the difference. */
    bool has_max;
};

/* The current size of mem in bytes, as memory.size and every bounds check must read it: the
 * backing store's size when it keeps one (a memory shared across processes), else `size`. The
 * acquire load pairs with the release store of a grow, so the pages below the size returned are
 * accessible. */
static inline size_t wasmslot_memory__size(const struct wasmslot_memory *mem)
{
    if (__builtin_expect(mem->ops->size != NULL, 0))
        return mem->ops->size(mem);
    return atomic_load_explicit(&((struct wasmslot_memory *)mem)->size, memory_order_acquire);
}

/* Initialise the common part of a memory made by a backing store. */
void wasmslot_memory__init(struct wasmslot_memory *mem, uint8_t *base, size_t size,
                           uint32_t max_pages, bool shared, const struct wasmslot_memory_ops *ops,
                           void *owner);

struct wasmslot_instance {
    const struct wasmslot_module *module;
    struct wasmslot_memory *memory;   /* NULL when the module has no memory */
    struct wasmslot_func **funcs;     /* nfuncs_total entries; imports point at foreign objects */
    struct wasmslot_func *own_funcs;  /* module->nfuncs entries */
    struct wasmslot_table **tables;   /* ntables_total entries, each holding one reference */
    struct wasmslot_global **globals; /* nglobals_total entries, each holding one reference */
    uint8_t *elem_dropped;            /* nelems flags */
    uint8_t *data_dropped;            /* ndatas flags */
    /* (The arrays above live in the instance's own allocation; see runtime/instance.c.) */
    /* A failed instantiation whose functions may still be reachable through an imported table
     * or global is kept alive by that object (the keeper, whose reference the instance gives
     * up) on its orphans list, linked through next_orphan. */
    void *keeper;
    struct wasmslot_instance *next_orphan;
    /* Copies of the module's counts, so that freeing never reads the module (a kept failed
     * instance may be freed after its module). */
    uint32_t ntables, nglobals;
};

/* Why a run is being unwound; see interp. */
struct wasmslot_call_ctx {
    struct wasmslot_exec *exec;
    struct wasmslot_instance *inst; /* the calling wasm instance */
};

/* One thread's execution context. */
struct wasmslot_exec {
    wasmslot_cell *stack; /* value stack: locals, operands, spill area of every frame */
    wasmslot_cell *stack_end; /* the current runs' limit, at most stack + stack_cap */
    size_t stack_cap;         /* cells allocated */
    size_t stack_bytes;
    uint32_t max_call_depth;
    uint32_t depth;          /* current nesting of calls */
    _Atomic int interrupt;   /* set by wasmslot_exec_interrupt() or a passed deadline */
    uint64_t deadline_ns;    /* CLOCK_MONOTONIC; 0 = none */
    int32_t poll_countdown;  /* native tier: polls until the clock is read again */
    uint64_t notify_ns;      /* wasmslot_exec_set_notify: when to call notify_fn; 0 = never */
    void (*notify_fn)(void *arg);
    void *notify_arg;
    int exit_code;
    void *user;

    /* Interpreter state (interp/interp.c): call frames and the re-entry watermark. */
    void *frames; /* frames_cap (>= max_call_depth + 1) records of WASMSLOT_FRAME_BYTES */
    size_t frames_cap;
    wasmslot_cell *sp; /* first free cell: where a (re-entered) wasmslot_call puts its frame */
    uint32_t nesting;  /* wasmslot_call re-entries through host functions */

    /* Native tier (native/): generated code traps with "call stack exhausted" when the stack
     * pointer goes below this address. Generated code runs on the exec's own machine stack
     * (sized from stack_bytes, mapped at the first native call, a guard page below it, freed
     * with the exec), so a pool's stack_size bounds both tiers alike, whatever thread runs. */
    uintptr_t native_stack_limit;
    void *native_stack;       /* the mapping, guard page included; NULL until needed */
    size_t native_stack_size; /* its length in bytes */
};

/* wasmslot_call re-entries (a host function calling back into wasm) before "call stack
 * exhausted": each one costs C stack, whichever tier runs the code. */
#define WASMSLOT_MAX_NESTING 200

/* Bytes of one record of an exec's frame array (ex->frames), pointer-aligned. The runtime only
 * allocates the array; the interpreter keeps a suspended caller in each record (interp/run.h
 * checks that its struct interp_frame is this size), so the runtime needs no tier's layout. */
#define WASMSLOT_FRAME_BYTES (3 * sizeof(void *))

/* Convert n cells to typed values (types[i] gives each one's type) and back: the boundary
 * between wasmslot_call's values and a tier's cells, used by every tier for host calls. */
void wasmslot_cells__to_values(const wasmslot_cell *c, const enum wasmslot_valtype *types,
                               uint32_t n, struct wasmslot_value *out);
void wasmslot_cells__from_values(const struct wasmslot_value *v, uint32_t n, wasmslot_cell *out);

/* Where a run reads the clock (every POLL_PERIOD polls of the interpreter, and in host
 * functions that sleep): call the notify hook if its time has come, and say whether the
 * deadline has passed. now_ns is CLOCK_MONOTONIC time, best read with wasmslot_exec__now_ns. */
bool wasmslot_exec__clock_check(struct wasmslot_exec *ex, uint64_t now_ns);

/* CLOCK_MONOTONIC nanoseconds read the cheapest way this host allows, for the deadline checks:
 * the precise clock when it is read in user space, else CLOCK_MONOTONIC_COARSE (never ahead of
 * the precise clock, at most one kernel tick behind), chosen by timing it at the first call. */
uint64_t wasmslot_exec__now_ns(void);

/* Whether wasmslot_exec__now_ns reads the coarse clock (tests). */
bool wasmslot_exec__clock_coarse(void);

/* A host function is about to block the run (a wait, a sleep): call the notify hook now, if
 * one is set, since the run will take long. ex may be NULL. */
void wasmslot_exec__blocking(struct wasmslot_exec *ex);

/* ---- internals the runtime (runtime/instance.c, runtime/memory.c) provides to the interpreter */

/* table.grow: on success returns 0 and sets *old_size; -WASMSLOT_ELIMIT past the maximum,
 * -ENOMEM. New entries are set to init. */
int wasmslot_table__grow(struct wasmslot_table *t, uint32_t delta, void *init, uint32_t *old_size);

/* Evaluate a constant expression in the context of inst (globals, functions). */
wasmslot_cell wasmslot_instance__const_eval(const struct wasmslot_instance *inst,
                                            const struct wasmslot_constexpr *e);

#endif
