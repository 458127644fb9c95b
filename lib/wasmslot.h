/* wasmslot.h: the one public header of libwasmslot, the WebAssembly engine and slot pools. */
#ifndef WASMSLOT_H
#define WASMSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions of this API
 * - Functions that can fail return 0 or a negative error code: -errno for system errors, or
 *   -WASM_E* below. wasm_strerror() names any of them.
 * - Constructors return NULL on failure and, when given a struct wasm_error, fill it with the
 *   code and a readable message (the WebAssembly spec's wording where it has one, such as
 *   "unexpected end" or "type mismatch").
 * - Nothing here prints, logs or exits.
 */

/* Library error codes; returned negated. Traps are errors too, so a caller sees one code. */
enum wasm_errcode {
    WASM_EMALFORMED = 1000, /* the binary does not decode */
    WASM_EINVALID,          /* the module decodes but does not validate */
    WASM_EUNLINKABLE,       /* an import is missing or has the wrong type */
    WASM_ENOTFOUND,         /* unknown export / import name */
    WASM_EARGS,             /* wrong number or types of arguments */
    WASM_EEXHAUSTED,        /* a pool has no free slot */
    WASM_ELIMIT,            /* a configured limit was reached */
    WASM_EEXIT,             /* the guest called proc_exit (not a trap); see wasm_exec_exit_code */

    /* Traps: the run ended with a named trap. */
    WASM_TRAP_UNREACHABLE = 1100,
    WASM_TRAP_OOB_MEMORY,       /* "out of bounds memory access" */
    WASM_TRAP_OOB_TABLE,        /* "out of bounds table access" */
    WASM_TRAP_DIV_ZERO,         /* "integer divide by zero" */
    WASM_TRAP_INT_OVERFLOW,     /* "integer overflow" */
    WASM_TRAP_BAD_CONVERSION,   /* "invalid conversion to integer" */
    WASM_TRAP_UNDEFINED_ELEM,   /* "undefined element" */
    WASM_TRAP_UNINIT_ELEM,      /* "uninitialized element" */
    WASM_TRAP_INDIRECT_MISMATCH, /* "indirect call type mismatch" */
    WASM_TRAP_STACK_EXHAUSTED,  /* "call stack exhausted" */
    WASM_TRAP_TIMEOUT,          /* the run's deadline passed or it was interrupted */
    WASM_TRAP_UNALIGNED_ATOMIC, /* "unaligned atomic" */
    WASM_TRAP_EXPECTED_SHARED,  /* "expected shared memory" (wait on an unshared memory) */
    WASM_TRAP_HOST,             /* a host function reported a failure */
};

/* Name of any code this library returns (negative or positive). Never NULL. */
const char *wasm_strerror(int err);

/* True when err (negative or positive) is one of the WASM_TRAP_* codes. */
bool wasm_is_trap(int err);

/* Short stable name of a trap or error code, e.g. "unreachable", "out_of_bounds_memory",
 * used by the wire protocol. Never NULL. */
const char *wasm_errname(int err);

/* A constructor's reason for failing. */
struct wasm_error {
    int code;          /* negative code, as above */
    char message[192]; /* NUL-terminated, readable */
};

/* ---------------------------------------------------------------- values */

enum wasm_valtype {
    WASM_I32 = 0x7f,
    WASM_I64 = 0x7e,
    WASM_F32 = 0x7d,
    WASM_F64 = 0x7c,
    WASM_V128 = 0x7b, /* decoded so it can be rejected with a clear message; never executed */
    WASM_FUNCREF = 0x70,
    WASM_EXTERNREF = 0x6f,
};

/* Name of a value type ("i32", "funcref", ...); NULL for a byte that is no type. */
const char *wasm_valtype_name(enum wasm_valtype t);

struct wasm_func;

/* A typed value. f32/f64 are carried as bit patterns so NaN payloads survive every copy.
 * funcref is a struct wasm_func * (NULL = null); externref is an opaque host pointer
 * (NULL = null). */
struct wasm_value {
    enum wasm_valtype type;
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32; /* IEEE-754 binary32 bits */
        uint64_t f64; /* IEEE-754 binary64 bits */
        struct wasm_func *funcref;
        void *externref;
    } of;
};

/* ---------------------------------------------------------------- modules */

/* A decoded, validated and compiled module. Immutable once built: it can be shared by any
 * number of threads and, after fork, processes. */
struct wasm_module;

enum wasm_externkind {
    WASM_EXTERN_FUNC = 0,
    WASM_EXTERN_TABLE = 1,
    WASM_EXTERN_MEMORY = 2,
    WASM_EXTERN_GLOBAL = 3,
};

struct wasm_limits {
    uint64_t min;
    uint64_t max; /* meaningful when has_max */
    bool has_max;
    bool shared; /* memories only: the threads proposal's shared flag */
};

/* A function signature. Arrays are owned by whoever built the struct. */
struct wasm_functype {
    uint32_t nparams;
    uint32_t nresults;
    const enum wasm_valtype *params;
    const enum wasm_valtype *results;
};

/* Describes one import or export of a module, for linking and for introspection. */
struct wasm_extern_desc {
    const char *module; /* imports only; NUL-terminated copy of the (UTF-8) name */
    const char *name;   /* NUL-terminated; names may contain NUL, then use name_len */
    size_t module_len, name_len;
    enum wasm_externkind kind;
    struct wasm_functype func;      /* WASM_EXTERN_FUNC */
    enum wasm_valtype elem_type;    /* WASM_EXTERN_TABLE */
    struct wasm_limits limits;      /* WASM_EXTERN_TABLE, WASM_EXTERN_MEMORY */
    enum wasm_valtype global_type;  /* WASM_EXTERN_GLOBAL */
    bool global_mutable;            /* WASM_EXTERN_GLOBAL */
};

/* Decode, validate and compile a binary module. The bytes are copied; the caller keeps
 * ownership of `bytes`. Returns NULL and fills err (code WASM_EMALFORMED or WASM_EINVALID,
 * or -ENOMEM) on failure. */
struct wasm_module *wasm_module_new(const void *bytes, size_t len, struct wasm_error *err);

/* Free a module. Every instance of it must be gone. Accepts NULL. */
void wasm_module_free(struct wasm_module *m);

uint32_t wasm_module_import_count(const struct wasm_module *m);
uint32_t wasm_module_export_count(const struct wasm_module *m);
/* Fill *out for import/export i (0-based). Returns 0 or -WASM_ENOTFOUND. The strings stay
 * valid as long as the module. */
int wasm_module_import(const struct wasm_module *m, uint32_t i, struct wasm_extern_desc *out);
int wasm_module_export(const struct wasm_module *m, uint32_t i, struct wasm_extern_desc *out);

/* The module's own (not imported) memory, if it defines one: returns 0 and fills *lim, or
 * -WASM_ENOTFOUND when it has none (no memory, or an imported one). */
int wasm_module_memory(const struct wasm_module *m, struct wasm_limits *lim);

/* ---------------------------------------------------------------- linear memories */

/* A linear memory: plain (created by the engine), a pool slot, or a shared memory. Every
 * memory is one virtual reservation of WASM_MEM_RESERVE bytes, so the interpreter needs no
 * bounds checks: an access beyond the current size faults and becomes a trap. */
struct wasm_memory;

#define WASM_PAGE_SIZE 65536u
/* Every 33-bit effective address (32-bit base + 32-bit offset + access size) falls inside. */
#define WASM_MEM_RESERVE ((size_t)1 << 33)
#define WASM_MEM_GUARD ((size_t)1 << 16) /* one more page past the reservation, so 8-byte accesses at the very top fault */

/* A plain memory of `min` pages growing up to `max` pages (max <= 65536). shared=true makes
 * a memory usable by several threads (atomics, wait/notify) but still private to the process;
 * cross-process shared memories come from shmem_*. Returns NULL and sets err on failure. */
struct wasm_memory *wasm_memory_new(uint32_t min_pages, uint32_t max_pages, bool shared,
                                    struct wasm_error *err);

/* Take / drop a reference. The memory is freed when the last reference goes, from whichever
 * thread that happens on. Both accept NULL. */
struct wasm_memory *wasm_memory_ref(struct wasm_memory *mem);
void wasm_memory_unref(struct wasm_memory *mem);

uint8_t *wasm_memory_base(const struct wasm_memory *mem);
/* Current size in bytes (an atomic read for shared memories). */
size_t wasm_memory_size(const struct wasm_memory *mem);
uint32_t wasm_memory_max_pages(const struct wasm_memory *mem);
bool wasm_memory_is_shared(const struct wasm_memory *mem);
/* memory.grow: on success returns 0 and sets *old_pages; -WASM_ELIMIT past the maximum;
 * -errno when the backing store could not grow. */
int wasm_memory_grow(struct wasm_memory *mem, uint32_t delta_pages, uint32_t *old_pages);

/* ---------------------------------------------------------------- tables, globals */

struct wasm_table;
struct wasm_global;

struct wasm_table *wasm_table_new(enum wasm_valtype elem, uint32_t min, uint32_t max, bool has_max,
                                  struct wasm_error *err);
void wasm_table_unref(struct wasm_table *t);
uint32_t wasm_table_size(const struct wasm_table *t);

struct wasm_global *wasm_global_new(const struct wasm_value *init, bool mutable_,
                                    struct wasm_error *err);
void wasm_global_unref(struct wasm_global *g);
void wasm_global_get(const struct wasm_global *g, struct wasm_value *out);

/* ---------------------------------------------------------------- functions */

/* Context handed to a host function while it runs: which instance called it, its memory, and
 * the execution context (to read the deadline or stash an exit code). */
struct wasm_call_ctx;
struct wasm_instance;
struct wasm_exec;

/* A host function. args has type->nparams values, results room for type->nresults. Returns 0,
 * or a negative code: a WASM_TRAP_* code traps, -WASM_EEXIT ends the run with an exit code
 * (wasm_exec_set_exit_code first). */
typedef int (*wasm_host_fn)(struct wasm_call_ctx *ctx, void *env, const struct wasm_value *args,
                            struct wasm_value *results);

/* Make a host function. The type's arrays are copied. env_free (may be NULL) runs on env
 * when the function is freed. */
struct wasm_func *wasm_func_new_host(const struct wasm_functype *type, wasm_host_fn fn, void *env,
                                     void (*env_free)(void *), struct wasm_error *err);
/* Free a host function made by wasm_func_new_host. Functions of instances are freed with
 * their instance. Accepts NULL. */
void wasm_func_free_host(struct wasm_func *f);
const struct wasm_functype *wasm_func_type(const struct wasm_func *f);

struct wasm_instance *wasm_call_ctx_instance(struct wasm_call_ctx *ctx);
/* The calling instance's memory (NULL if it has none). Host functions must bounds-check every
 * guest pointer against wasm_memory_size() before touching wasm_memory_base(). */
struct wasm_memory *wasm_call_ctx_memory(struct wasm_call_ctx *ctx);
struct wasm_exec *wasm_call_ctx_exec(struct wasm_call_ctx *ctx);

/* ---------------------------------------------------------------- instances */

/* One value for an import: the caller fills kind and the matching pointer. */
struct wasm_extern {
    enum wasm_externkind kind;
    union {
        struct wasm_func *func;
        struct wasm_table *table;
        struct wasm_memory *memory;
        struct wasm_global *global;
    } of;
};

struct wasm_instance_options {
    /* Values for the module's imports, in the module's import order (nimports must equal
     * wasm_module_import_count). Types are checked: a mismatch fails with WASM_EUNLINKABLE
     * ("incompatible import type"). */
    const struct wasm_extern *imports;
    uint32_t nimports;
    /* Memory for the module's own (defined) memory. NULL: the engine makes a plain one.
     * Otherwise the caller passes a memory of the module's initial size and a reference is
     * taken. */
    struct wasm_memory *memory;
    /* The memory already holds the module's active data segments (a slot mapped from the
     * module's image): they are not copied again, only dropped. */
    bool data_preloaded;
    /* Execution context used to run the start function; NULL makes a temporary one. */
    struct wasm_exec *exec;
};

/* Instantiate: link imports, make globals/tables/memory, apply element and data segments,
 * run the start function. Returns NULL and fills err: WASM_EUNLINKABLE for link errors, a
 * WASM_TRAP_* code when a segment is out of bounds or the start function traps. */
struct wasm_instance *wasm_instance_new(const struct wasm_module *m,
                                        const struct wasm_instance_options *opt,
                                        struct wasm_error *err);

/* Free an instance and drop its references (memory, tables, globals). Accepts NULL. */
void wasm_instance_free(struct wasm_instance *inst);

const struct wasm_module *wasm_instance_module(const struct wasm_instance *inst);
struct wasm_memory *wasm_instance_memory(const struct wasm_instance *inst);

/* Look up an export by name. Returns 0 and fills *out, or -WASM_ENOTFOUND. The objects stay
 * owned by the instance (take a reference to keep a memory/table/global longer). */
int wasm_instance_export(const struct wasm_instance *inst, const char *name, size_t name_len,
                         struct wasm_extern *out);

/* ---------------------------------------------------------------- execution */

/* An execution context: the interpreter's value stack, call-depth limit, deadline and
 * interruption flag. One per thread that runs guest code; reusable across calls. */
struct wasm_exec_options {
    size_t stack_bytes;       /* value-stack size (default 1 MiB when 0) */
    uint32_t max_call_depth;  /* nested calls before "call stack exhausted" (default 10000) */
};

struct wasm_exec *wasm_exec_new(const struct wasm_exec_options *opt, struct wasm_error *err);
void wasm_exec_free(struct wasm_exec *ex);

/* Absolute deadline in CLOCK_MONOTONIC nanoseconds for the next calls; 0 = none. The
 * interpreter checks it at loop back-edges and calls and ends the run with WASM_TRAP_TIMEOUT. */
void wasm_exec_set_deadline(struct wasm_exec *ex, uint64_t deadline_ns);
/* Ask the current run on ex to stop with WASM_TRAP_TIMEOUT. Safe from any thread. */
void wasm_exec_interrupt(struct wasm_exec *ex);
/* Exit code set by a host function before returning -WASM_EEXIT (WASI proc_exit). */
void wasm_exec_set_exit_code(struct wasm_exec *ex, int code);
int wasm_exec_exit_code(const struct wasm_exec *ex);
/* Opaque per-run user pointer, e.g. the WASI state of the request being served. */
void wasm_exec_set_user(struct wasm_exec *ex, void *user);
void *wasm_exec_user(const struct wasm_exec *ex);

/* Call f with nargs typed args; on success stores its results in results[0..nresults). Returns
 * 0, -WASM_EARGS for a wrong count or type, a negative WASM_TRAP_* code when the guest
 * trapped, or -WASM_EEXIT. Any thread may call with its own ex. */
int wasm_call(struct wasm_exec *ex, struct wasm_func *f, const struct wasm_value *args,
              uint32_t nargs, struct wasm_value *results, uint32_t nresults);

#ifdef __cplusplus
}
#endif

#endif
