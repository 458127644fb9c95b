/* wasmslot.h: the one public header of libwasmslot, the WebAssembly engine and slot pools. */
#ifndef WASMSLOT_H
#define WASMSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; wasmslot_version() gives the library's. */
#define WASMSLOT_VERSION_MAJOR 0
#define WASMSLOT_VERSION_MINOR 1
#define WASMSLOT_VERSION_PATCH 0

/* Marks what libwasmslot.so exports. The library is built with -fvisibility=hidden, so every
 * name without it (the internals shared between the library's files) stays inside. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define WASMSLOT_API __attribute__((visibility("default")))
#else
#define WASMSLOT_API
#endif

/*
 * Conventions of this API
 * - Functions that can fail return 0 or a negative error code: -errno for system errors, or
 *   -WASMSLOT_E* below. wasmslot_strerror() names any of them.
 * - Constructors return NULL on failure and, when given a struct wasmslot_error, fill it with the
 *   code and a readable message (the WebAssembly spec's wording where it has one, such as
 *   "unexpected end" or "type mismatch").
 * - Nothing here prints, logs or exits.
 */

/* The version of the library linked in, "MAJOR.MINOR.PATCH" (compare with the
 * WASMSLOT_VERSION_* macros of the header compiled against). */
WASMSLOT_API const char *wasmslot_version(void);

/*
 * Signals
 *
 * Guest loads and stores are not bounds checked: every linear memory is a reservation of
 * 8 GiB + 64 KiB whose pages past the memory's size fault. The library turns such a fault into
 * the trap WASMSLOT_TRAP_OOB_MEMORY with handlers for SIGSEGV and SIGBUS (SA_SIGINFO,
 * SA_ONSTACK, SA_NODEFER; each thread that runs guest code gets a 64 KiB alternate signal stack
 * unless it has one). These are the only signals the library handles; it never blocks, sends
 * or waits for a signal.
 *
 * When: wasmslot_trap_handlers_install() installs them; the first wasmslot_call of the process
 * installs them too if nobody did, so a program that never thinks of signals still gets traps.
 * A program that sets up its own signal handling should call wasmslot_trap_handlers_install()
 * itself, at a point it chooses (the daemon does so at start-up).
 *
 * Chaining: on install the library remembers the handler it displaces and passes it every
 * fault that is not a guest's out-of-bounds access (or, when it displaced SIG_DFL, lets the
 * fault kill the process as it would have). A host that installs a SIGSEGV or SIGBUS handler
 * of its own *after* the library must call wasmslot_trap_handlers_install() again afterwards:
 * the library's handler then runs first again and passes the host's faults on to the host's
 * handler. Until the host does, wasmslot_trap_handlers_check() and wasmslot_exec_new() fail with
 * WASMSLOT_ESIGNALS, rather than let a guest's out-of-bounds access reach the host's handler.
 * (An execution context made earlier still runs; its guest's faults then reach the host's
 * handler first, which keeps them traps only if it passes faults it does not recognise to the
 * handler it displaced, as well-behaved handlers do.) A handler that passes faults back to the
 * library's is recognised: a fault nobody owns goes on to the handler the process had before
 * the library, not round in a loop. Install while no other thread runs guest code.
 */

/* Install (or put back in front) the SIGSEGV and SIGBUS handlers described above. The
 * handlers found there, unless they are the library's own, become the ones faults that are not
 * the guest's are passed to. Thread-safe; call it again after installing a handler of your own
 * that does not chain. Returns 0 or -errno. */
WASMSLOT_API int wasmslot_trap_handlers_install(void);

/* 0 when the library's SIGSEGV and SIGBUS handlers are the installed ones, or when they were
 * never installed (wasmslot_call will install them); -WASMSLOT_ESIGNALS when another handler
 * replaced them after they were installed. */
WASMSLOT_API int wasmslot_trap_handlers_check(void);

/* Library error codes; returned negated. Traps are errors too, so a caller sees one code. */
enum wasmslot_errcode {
    WASMSLOT_EMALFORMED = 1000, /* the binary does not decode */
    WASMSLOT_EINVALID,          /* the module decodes but does not validate */
    WASMSLOT_EUNLINKABLE,       /* an import is missing or has the wrong type */
    WASMSLOT_ENOTFOUND,         /* unknown export / import name */
    WASMSLOT_EARGS,             /* wrong number or types of arguments */
    WASMSLOT_EEXHAUSTED,        /* a pool has no free slot */
    WASMSLOT_ELIMIT,            /* a configured limit was reached */
    WASMSLOT_EEXIT, /* the guest called proc_exit (not a trap); see wasmslot_exec_exit_code */
    WASMSLOT_ESIGNALS, /* a later handler replaced the library's SIGSEGV/SIGBUS handler */

    /* Traps: the run ended with a named trap. */
    WASMSLOT_TRAP_UNREACHABLE = 1100,
    WASMSLOT_TRAP_OOB_MEMORY,        /* "out of bounds memory access" */
    WASMSLOT_TRAP_OOB_TABLE,         /* "out of bounds table access" */
    WASMSLOT_TRAP_DIV_ZERO,          /* "integer divide by zero" */
    WASMSLOT_TRAP_INT_OVERFLOW,      /* "integer overflow" */
    WASMSLOT_TRAP_BAD_CONVERSION,    /* "invalid conversion to integer" */
    WASMSLOT_TRAP_UNDEFINED_ELEM,    /* "undefined element" */
    WASMSLOT_TRAP_UNINIT_ELEM,       /* "uninitialized element" */
    WASMSLOT_TRAP_INDIRECT_MISMATCH, /* "indirect call type mismatch" */
    WASMSLOT_TRAP_STACK_EXHAUSTED,   /* "call stack exhausted" */
    WASMSLOT_TRAP_TIMEOUT,           /* the run's deadline passed or it was interrupted */
    WASMSLOT_TRAP_UNALIGNED_ATOMIC,  /* "unaligned atomic" */
    WASMSLOT_TRAP_EXPECTED_SHARED,   /* "expected shared memory" (wait on an unshared memory) */
    WASMSLOT_TRAP_HOST,              /* a host function reported a failure */
    WASMSLOT_TRAP_UNLINKED_IMPORT,   /* an import the embedder left unlinked was called (a
                                        host function returns it; the engine never does) */
};

/* Name of any code this library returns (negative or positive). Never NULL. */
WASMSLOT_API const char *wasmslot_strerror(int err);

/* True when err (negative or positive) is one of the WASMSLOT_TRAP_* codes. */
WASMSLOT_API bool wasmslot_is_trap(int err);

/* Short stable name of a trap or error code, e.g. "unreachable", "out_of_bounds_memory",
 * used by the wire protocol. Never NULL. */
WASMSLOT_API const char *wasmslot_errname(int err);

/* A constructor's reason for failing. */
struct wasmslot_error {
    int code;          /* negative code, as above */
    char message[192]; /* NUL-terminated, readable */
};

/* ---------------------------------------------------------------- values */

enum wasmslot_valtype {
    WASMSLOT_I32 = 0x7f,
    WASMSLOT_I64 = 0x7e,
    WASMSLOT_F32 = 0x7d,
    WASMSLOT_F64 = 0x7c,
    WASMSLOT_V128 = 0x7b, /* decoded so it can be rejected with a clear message; never executed */
    WASMSLOT_FUNCREF = 0x70,
    WASMSLOT_EXTERNREF = 0x6f,
};

/* Name of a value type ("i32", "funcref", ...); NULL for a byte that is no type. */
WASMSLOT_API const char *wasmslot_valtype_name(enum wasmslot_valtype t);

struct wasmslot_func;

/* A typed value. f32/f64 are carried as bit patterns so NaN payloads survive every copy.
 * funcref is a struct wasmslot_func * (NULL = null); externref is an opaque host pointer
 * (NULL = null). */
struct wasmslot_value {
    enum wasmslot_valtype type;
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32; /* IEEE-754 binary32 bits */
        uint64_t f64; /* IEEE-754 binary64 bits */
        struct wasmslot_func *funcref;
        void *externref;
    } of;
};

/* ---------------------------------------------------------------- modules */

/* A decoded, validated and compiled module. Immutable once built: it can be shared by any
 * number of threads and, after fork, processes. */
struct wasmslot_module;

enum wasmslot_externkind {
    WASMSLOT_EXTERN_FUNC = 0,
    WASMSLOT_EXTERN_TABLE = 1,
    WASMSLOT_EXTERN_MEMORY = 2,
    WASMSLOT_EXTERN_GLOBAL = 3,
};

struct wasmslot_limits {
    uint64_t min;
    uint64_t max; /* meaningful when has_max */
    bool has_max;
    bool shared; /* memories only: the threads proposal's shared flag */
};

/* A function signature. Arrays are owned by whoever built the struct. */
struct wasmslot_functype {
    uint32_t nparams;
    uint32_t nresults;
    const enum wasmslot_valtype *params;
    const enum wasmslot_valtype *results;
};

/* Describes one import or export of a module, for linking and for introspection. */
struct wasmslot_extern_desc {
    const char *module; /* imports only; NUL-terminated copy of the (UTF-8) name */
    const char *name;   /* NUL-terminated; names may contain NUL, then use name_len */
    size_t module_len, name_len;
    enum wasmslot_externkind kind;
    struct wasmslot_functype func;     /* WASMSLOT_EXTERN_FUNC */
    enum wasmslot_valtype elem_type;   /* WASMSLOT_EXTERN_TABLE */
    struct wasmslot_limits limits;     /* WASMSLOT_EXTERN_TABLE, WASMSLOT_EXTERN_MEMORY */
    enum wasmslot_valtype global_type; /* WASMSLOT_EXTERN_GLOBAL */
    bool global_mutable;               /* WASMSLOT_EXTERN_GLOBAL */
};

/* Decode, validate and compile a binary module. The bytes are copied; the caller keeps
 * ownership of `bytes`. Returns NULL and fills err (code WASMSLOT_EMALFORMED or WASMSLOT_EINVALID,
 * or -ENOMEM) on failure. */
WASMSLOT_API struct wasmslot_module *wasmslot_module_new(const void *bytes, size_t len,
                                                         struct wasmslot_error *err);

/* Which execution tier compiles and runs a module's function bodies. */
enum wasmslot_engine {
    WASMSLOT_ENGINE_INTERP, /* the portable interpreter (always available) */
    WASMSLOT_ENGINE_NATIVE, /* machine code through LLVM (builds configured --with-llvm) */
};

/* Name of an engine ("interp", "native"). */
WASMSLOT_API const char *wasmslot_engine_name(enum wasmslot_engine engine);

/* Whether this build can run engine (the native tier needs a build with LLVM on x86-64). */
WASMSLOT_API bool wasmslot_engine_available(enum wasmslot_engine engine);

/* wasmslot_module_new with the engine chosen. A module that asks for the native tier but
 * uses something it does not translate runs on the interpreter; wasmslot_module_fallback says
 * why. An engine this build lacks fails with WASMSLOT_EARGS. Modules of different engines
 * may import each other's functions, tables, memories and globals. */
WASMSLOT_API struct wasmslot_module *wasmslot_module_new_engine(const void *bytes, size_t len,
                                                                enum wasmslot_engine engine,
                                                                struct wasmslot_error *err);

/* How wasmslot_module_compile builds a module. Zero-initialised: the interpreter, no cache. */
struct wasmslot_compile_options {
    enum wasmslot_engine engine;
    /* The native tier's on-disk code cache: a directory owned by the calling user and writable
     * by no one else, or NULL for none. An entry is keyed by the module's bytes, this library's
     * version, the LLVM version and the host CPU's features; an entry that is corrupt, foreign
     * (another owner, other permissions) or built for another key is never executed: the module
     * is compiled again and the entry rewritten. A cache that cannot be read or written only
     * costs the compile (wasmslot_module_cache_state says what happened). */
    const char *cache_dir;
};

/* What the code cache did for a module. */
enum wasmslot_cache_state {
    WASMSLOT_CACHE_NONE,     /* no cache asked for, or the module runs on the interpreter */
    WASMSLOT_CACHE_HIT,      /* its machine code was loaded from the cache, not compiled */
    WASMSLOT_CACHE_STORED,   /* compiled, and the entry written */
    WASMSLOT_CACHE_REJECTED, /* an entry was there but unusable (corrupt, foreign, stale):
                                compiled again and the entry rewritten */
    WASMSLOT_CACHE_FAILED,   /* compiled, but the cache could not be read or written */
};

/* wasmslot_module_new with options (opts NULL: the defaults). */
WASMSLOT_API struct wasmslot_module *
wasmslot_module_compile(const void *bytes, size_t len, const struct wasmslot_compile_options *opts,
                        struct wasmslot_error *err);

/* What the code cache did when m was compiled. */
WASMSLOT_API enum wasmslot_cache_state wasmslot_module_cache_state(const struct wasmslot_module *m);

/* Why the code cache rejected an entry or failed when m was compiled (which check an entry
 * failed, which file operation went wrong, and on what path); NULL for the other states. The
 * string lives as long as m. */
WASMSLOT_API const char *wasmslot_module_cache_note(const struct wasmslot_module *m);

/* Name of a cache state ("none", "hit", "stored", "rejected", "failed"). */
WASMSLOT_API const char *wasmslot_cache_state_name(enum wasmslot_cache_state state);

/* The engine that runs m's function bodies. */
WASMSLOT_API enum wasmslot_engine wasmslot_module_engine(const struct wasmslot_module *m);

/* Why m, compiled for another engine, runs on the one wasmslot_module_engine names; NULL
 * when it runs where it was asked to. The string lives as long as m. */
WASMSLOT_API const char *wasmslot_module_fallback(const struct wasmslot_module *m);

/* Nanoseconds its tier took to compile m's function bodies (validation included). */
WASMSLOT_API uint64_t wasmslot_module_compile_ns(const struct wasmslot_module *m);

/* Free a module. Every instance of it must be gone. Accepts NULL. */
WASMSLOT_API void wasmslot_module_free(struct wasmslot_module *m);

WASMSLOT_API uint32_t wasmslot_module_import_count(const struct wasmslot_module *m);
WASMSLOT_API uint32_t wasmslot_module_export_count(const struct wasmslot_module *m);
/* Fill *out for import/export i (0-based). Returns 0 or -WASMSLOT_ENOTFOUND. The strings stay
 * valid as long as the module. */
WASMSLOT_API int wasmslot_module_import(const struct wasmslot_module *m, uint32_t i,
                                        struct wasmslot_extern_desc *out);
WASMSLOT_API int wasmslot_module_export(const struct wasmslot_module *m, uint32_t i,
                                        struct wasmslot_extern_desc *out);

/* The module's own (not imported) memory, if it defines one: returns 0 and fills *lim, or
 * -WASMSLOT_ENOTFOUND when it has none (no memory, or an imported one). */
WASMSLOT_API int wasmslot_module_memory(const struct wasmslot_module *m,
                                        struct wasmslot_limits *lim);

/* How many tables m has, imported ones included: its table index space, imported tables first. */
WASMSLOT_API uint32_t wasmslot_module_table_count(const struct wasmslot_module *m);

/* Table `index` of m (0-based, imported tables first), if m defines it: returns 0 and fills
 * *lim with its limits (min and max in elements), or -WASMSLOT_ENOTFOUND when the table is
 * imported (its limits are the import's, see wasmslot_module_import) or index is not below
 * wasmslot_module_table_count(m). */
WASMSLOT_API int wasmslot_module_table(const struct wasmslot_module *m, uint32_t index,
                                       struct wasmslot_limits *lim);

/* ---------------------------------------------------------------- linear memories */

/* A linear memory: plain (created by the engine), a pool slot, or a shared memory. Every
 * memory is one virtual reservation of WASMSLOT_MEM_RESERVE bytes, so the interpreter needs no
 * bounds checks: an access beyond the current size faults and becomes a trap. */
struct wasmslot_memory;

#define WASMSLOT_PAGE_SIZE 65536u
/* Every 33-bit effective address (32-bit base + 32-bit offset + access size) falls inside. */
#define WASMSLOT_MEM_RESERVE ((size_t)1 << 33)
#define WASMSLOT_MEM_GUARD                                                                         \
    ((size_t)1                                                                                     \
     << 16) /* one more page past the reservation, so 8-byte accesses at the very top fault */

/* A plain memory of `min` pages growing up to `max` pages (max <= 65536). shared=true makes
 * a memory usable by several threads (atomics, wait/notify) but still private to the process;
 * cross-process shared memories come from shmem_*. Returns NULL and sets err on failure. */
WASMSLOT_API struct wasmslot_memory *wasmslot_memory_new(uint32_t min_pages, uint32_t max_pages,
                                                         bool shared, struct wasmslot_error *err);

/* Take / drop a reference. The memory is freed when the last reference goes, from whichever
 * thread that happens on. Both accept NULL. */
WASMSLOT_API struct wasmslot_memory *wasmslot_memory_ref(struct wasmslot_memory *mem);
WASMSLOT_API void wasmslot_memory_unref(struct wasmslot_memory *mem);
/* How many references to mem are held in this process (for statistics: other threads may take
 * or drop one at any moment). A shared memory's references are counted per process. */
WASMSLOT_API unsigned wasmslot_memory_refs(const struct wasmslot_memory *mem);

WASMSLOT_API uint8_t *wasmslot_memory_base(const struct wasmslot_memory *mem);
/* Current size in bytes (an atomic read for shared memories). */
WASMSLOT_API size_t wasmslot_memory_size(const struct wasmslot_memory *mem);
WASMSLOT_API uint32_t wasmslot_memory_max_pages(const struct wasmslot_memory *mem);
WASMSLOT_API bool wasmslot_memory_is_shared(const struct wasmslot_memory *mem);
/* memory.grow: on success returns 0 and sets *old_pages; -WASMSLOT_ELIMIT past the maximum;
 * -errno when the backing store could not grow. */
WASMSLOT_API int wasmslot_memory_grow(struct wasmslot_memory *mem, uint32_t delta_pages,
                                      uint32_t *old_pages);

/* ---------------------------------------------------------------- tables, globals */

struct wasmslot_table;
struct wasmslot_global;

/* A table of min null entries of type elem (WASMSLOT_FUNCREF or WASMSLOT_EXTERNREF) that may grow
 * to max when has_max, for a module to import. Returns NULL and fills err on failure. The caller
 * holds one reference. */
WASMSLOT_API struct wasmslot_table *wasmslot_table_new(enum wasmslot_valtype elem, uint32_t min,
                                                       uint32_t max, bool has_max,
                                                       struct wasmslot_error *err);
/* Drop a reference; the table is freed with the last one. Accepts NULL. */
WASMSLOT_API void wasmslot_table_unref(struct wasmslot_table *t);
/* Current number of entries. */
WASMSLOT_API uint32_t wasmslot_table_size(const struct wasmslot_table *t);
/* Take a reference to a table (e.g. one got from wasmslot_instance_export, to keep it after its
 * instance is freed); drop it with wasmslot_table_unref. Accepts NULL, returns t. */
WASMSLOT_API struct wasmslot_table *wasmslot_table_ref(struct wasmslot_table *t);

/* A global of init's type and value, mutable or not, for a module to import. Returns NULL and
 * fills err on failure. The caller holds one reference. */
WASMSLOT_API struct wasmslot_global *wasmslot_global_new(const struct wasmslot_value *init,
                                                         bool mutable_, struct wasmslot_error *err);
/* Drop a reference; the global is freed with the last one. Accepts NULL. */
WASMSLOT_API void wasmslot_global_unref(struct wasmslot_global *g);
/* Read the global's current typed value into *out. */
WASMSLOT_API void wasmslot_global_get(const struct wasmslot_global *g, struct wasmslot_value *out);
/* Take a reference to a global; drop it with wasmslot_global_unref. Accepts NULL, returns g. */
WASMSLOT_API struct wasmslot_global *wasmslot_global_ref(struct wasmslot_global *g);

/* ---------------------------------------------------------------- functions */

/* Context handed to a host function while it runs: which instance called it, its memory, and
 * the execution context (to read the deadline or stash an exit code). */
struct wasmslot_call_ctx;
struct wasmslot_instance;
struct wasmslot_exec;

/* A host function. args has type->nparams values, results room for type->nresults. Returns 0,
 * or a negative code: a WASMSLOT_TRAP_* code traps, -WASMSLOT_EEXIT ends the run with an exit code
 * (wasmslot_exec_set_exit_code first). */
typedef int (*wasmslot_host_fn)(struct wasmslot_call_ctx *ctx, void *env,
                                const struct wasmslot_value *args, struct wasmslot_value *results);

/* Make a host function. The type's arrays are copied. env_free (may be NULL) runs on env
 * when the function is freed. */
WASMSLOT_API struct wasmslot_func *wasmslot_func_new_host(const struct wasmslot_functype *type,
                                                          wasmslot_host_fn fn, void *env,
                                                          void (*env_free)(void *),
                                                          struct wasmslot_error *err);
/* Free a host function made by wasmslot_func_new_host. Functions of instances are freed with
 * their instance. Accepts NULL. */
WASMSLOT_API void wasmslot_func_free_host(struct wasmslot_func *f);
WASMSLOT_API const struct wasmslot_functype *wasmslot_func_type(const struct wasmslot_func *f);
/* True when a and b have the same parameter and result types (the structural equality that
 * import matching and call_indirect use). */
WASMSLOT_API bool wasmslot_functype_equal(const struct wasmslot_functype *a,
                                          const struct wasmslot_functype *b);

WASMSLOT_API struct wasmslot_instance *wasmslot_call_ctx_instance(struct wasmslot_call_ctx *ctx);
/* The calling instance's memory (NULL if it has none). Host functions must bounds-check every
 * guest pointer against wasmslot_memory_size() before touching wasmslot_memory_base(). */
WASMSLOT_API struct wasmslot_memory *wasmslot_call_ctx_memory(struct wasmslot_call_ctx *ctx);
WASMSLOT_API struct wasmslot_exec *wasmslot_call_ctx_exec(struct wasmslot_call_ctx *ctx);

/* ---------------------------------------------------------------- instances */

/* One value for an import: the caller fills kind and the matching pointer. */
struct wasmslot_extern {
    enum wasmslot_externkind kind;
    union {
        struct wasmslot_func *func;
        struct wasmslot_table *table;
        struct wasmslot_memory *memory;
        struct wasmslot_global *global;
    } of;
};

struct wasmslot_instance_options {
    /* Values for the module's imports, in the module's import order (nimports must equal
     * wasmslot_module_import_count). Types are checked: a mismatch fails with WASMSLOT_EUNLINKABLE
     * ("incompatible import type"). */
    const struct wasmslot_extern *imports;
    uint32_t nimports;
    /* Memory for the module's own (defined) memory. NULL: the engine makes a plain one.
     * Otherwise the caller passes a memory of the module's initial size and a reference is
     * taken (-WASMSLOT_EARGS when it is smaller). Ignored when the module defines no memory. */
    struct wasmslot_memory *memory;
    /* The memory already holds the module's active data segments (a slot mapped from the
     * module's image): they are not copied again, only dropped. */
    bool data_preloaded;
    /* Execution context used to run the start function; NULL makes a temporary one. */
    struct wasmslot_exec *exec;
    /* Cap on the entries of each table the module defines (imported tables are not touched):
     * a table whose initial size is larger fails instantiation with WASMSLOT_ELIMIT, and
     * table.grow past it returns -1. The module's own maximum still applies when smaller.
     * 0 = only the engine's ceiling (10M entries). */
    uint32_t max_table_elements;
};

/* Instantiate: link imports, make globals/tables/memory, apply element and data segments,
 * run the start function. Returns NULL and fills err: WASMSLOT_EUNLINKABLE for link errors, a
 * WASMSLOT_TRAP_* code when a segment is out of bounds or the start function traps. */
WASMSLOT_API struct wasmslot_instance *
wasmslot_instance_new(const struct wasmslot_module *m, const struct wasmslot_instance_options *opt,
                      struct wasmslot_error *err);

/* Free an instance and drop its references (memory, tables, globals). Accepts NULL.
 *
 * Lifetime rule: a funcref stored in a table or global keeps pointing at a function of the
 * instance it came from, so an instance must outlive every table and global that holds one of
 * its functions (e.g. an imported table its element segments wrote into). The embedder keeps
 * such instances alive; the daemon's instances never share tables. (A failed instantiation
 * that may have written its functions into an imported table or funcref global is kept alive
 * by that object and freed with it.) */
WASMSLOT_API void wasmslot_instance_free(struct wasmslot_instance *inst);

WASMSLOT_API const struct wasmslot_module *
wasmslot_instance_module(const struct wasmslot_instance *inst);
WASMSLOT_API struct wasmslot_memory *wasmslot_instance_memory(const struct wasmslot_instance *inst);

/* Look up an export by name. Returns 0 and fills *out, or -WASMSLOT_ENOTFOUND. The objects stay
 * owned by the instance (take a reference to keep a memory/table/global longer). */
WASMSLOT_API int wasmslot_instance_export(const struct wasmslot_instance *inst, const char *name,
                                          size_t name_len, struct wasmslot_extern *out);

/* ---------------------------------------------------------------- execution */

/* An execution context: the interpreter's value stack, call-depth limit, deadline and
 * interruption flag. One per thread that runs guest code; reusable across calls.
 *
 * The guest's stack is two arrays that the engine allocates and never lets a run outgrow:
 * value cells (every frame's locals, operands and spills) and call records. A run that needs
 * more ends with "call stack exhausted", however deep it recurses; no native stack grows with
 * the guest's calls. */
struct wasmslot_exec_options {
    size_t stack_bytes;      /* value-stack size (default 8 MiB when 0) */
    uint32_t max_call_depth; /* nested calls before "call stack exhausted"
                                (default 0: stack_bytes / WASMSLOT_CALL_BYTES) */
};

/* What one call is counted to cost, in bytes of stack: its call record (24 bytes) plus a few
 * value cells, what the smallest functions need. A stack of N bytes allows
 * N / WASMSLOT_CALL_BYTES nested calls, so a runaway recursion of small functions ends after
 * that many, and one with larger frames when the values fill. */
#define WASMSLOT_CALL_BYTES 64u

/* A new execution context (opt may be NULL for the defaults). Returns NULL and fills err on
 * failure. */
WASMSLOT_API struct wasmslot_exec *wasmslot_exec_new(const struct wasmslot_exec_options *opt,
                                                     struct wasmslot_error *err);
/* Free an execution context that no call is using. Accepts NULL. */
WASMSLOT_API void wasmslot_exec_free(struct wasmslot_exec *ex);

/* Size the stack of the next runs on ex: stack_bytes of value stack and at most
 * stack_bytes / WASMSLOT_CALL_BYTES nested calls (at least 16 cells and one call). The
 * allocation grows when needed and never shrinks (a smaller size lowers the limits only), so
 * an embedder whose runs need different sizes (the daemon's pools) sets it before each run
 * at no cost. Returns 0, or -ENOMEM with ex unchanged. Call it when no run is under way on
 * ex. */
int wasmslot_exec_set_stack_size(struct wasmslot_exec *ex, size_t stack_bytes);

/* Absolute deadline in CLOCK_MONOTONIC nanoseconds for the next calls; 0 = none. The
 * interpreter checks it at loop back-edges and calls and ends the run with WASMSLOT_TRAP_TIMEOUT:
 * never before the deadline; after it by microseconds, or by up to one kernel tick (1-10 ms)
 * on a host where reading CLOCK_MONOTONIC is a system call (the checks then read
 * CLOCK_MONOTONIC_COARSE; WASMSLOT_CLOCK=precise in the environment forces the precise one).
 */
WASMSLOT_API void wasmslot_exec_set_deadline(struct wasmslot_exec *ex, uint64_t deadline_ns);
/* Call fn(arg) once, on the thread running guest code on ex, if a run is still going at
 * notify_ns (CLOCK_MONOTONIC; checked where the deadline is, so some microseconds late), or
 * as soon as the run blocks in a host function (a wait, a sleep) after it was set. fn may
 * call wasmslot_exec_interrupt(ex), nothing else on ex. For a scheduler that wants to know when a
 * run turns out long, at no cost to short ones: no timer, no system call. fn NULL or notify_ns 0
 * clears it. */
WASMSLOT_API void wasmslot_exec_set_notify(struct wasmslot_exec *ex, uint64_t notify_ns,
                                           void (*fn)(void *arg), void *arg);
/* Ask the current run on ex to stop with WASMSLOT_TRAP_TIMEOUT. Safe from any thread. */
WASMSLOT_API void wasmslot_exec_interrupt(struct wasmslot_exec *ex);
/* Like wasmslot_exec_interrupt, but also for a run about to start: the next outermost wasmslot_call
 * on ex keeps this request instead of clearing it as stale, so an embedder that registers a run
 * before calling wasmslot_call cannot lose an interrupt sent in between. It stays until
 * wasmslot_exec_clear_interrupt. Safe from any thread. */
WASMSLOT_API void wasmslot_exec_interrupt_sticky(struct wasmslot_exec *ex);
/* Drop any interrupt request on ex, sticky or not. Call it when no run is under way on ex. */
WASMSLOT_API void wasmslot_exec_clear_interrupt(struct wasmslot_exec *ex);
/* Exit code set by a host function before returning -WASMSLOT_EEXIT (WASI proc_exit). */
WASMSLOT_API void wasmslot_exec_set_exit_code(struct wasmslot_exec *ex, int code);
WASMSLOT_API int wasmslot_exec_exit_code(const struct wasmslot_exec *ex);
/* Opaque per-run user pointer, e.g. the WASI state of the request being served. */
WASMSLOT_API void wasmslot_exec_set_user(struct wasmslot_exec *ex, void *user);
WASMSLOT_API void *wasmslot_exec_user(const struct wasmslot_exec *ex);

/* Call f with nargs typed args; on success stores its results in results[0..nresults). Returns
 * 0, -WASMSLOT_EARGS for a wrong count or type, a negative WASMSLOT_TRAP_* code when the guest
 * trapped, or -WASMSLOT_EEXIT. Any thread may call with its own ex. */
WASMSLOT_API int wasmslot_call(struct wasmslot_exec *ex, struct wasmslot_func *f,
                               const struct wasmslot_value *args, uint32_t nargs,
                               struct wasmslot_value *results, uint32_t nresults);

/* ---------------------------------------------------------------- WASI preview1 */

/*
 * The state of one WASI command run (wasi_snapshot_preview1): arguments, environment, the
 * stdin bytes of the request, stdout/stderr captured into buffers with a cap, the exit code.
 * It holds no file system unless the options grant one directory, read-only. A struct wasmslot_wasi
 * serves one run at a time; reuse it for the next run.
 *
 * Host functions find the state of the run in the execution context's user pointer
 * (wasmslot_exec_set_user; wasmslot_wasi_run sets it) unless the import list was bound to one
 * state.
 */
struct wasmslot_wasi;

#define WASMSLOT_WASI_DEFAULT_OUTPUT_MAX ((size_t)1 << 20) /* bytes kept per stream by default */

struct wasmslot_wasi_options {
    /* Bytes of stdout / stderr kept for the reply; 0 = WASMSLOT_WASI_DEFAULT_OUTPUT_MAX. A guest
     * that writes past the cap gets a short write, then the WASI error FBIG; the daemon's memory
     * stays bounded. */
    size_t stdout_max;
    size_t stderr_max;
    /* A host directory the guest may read, preopened as fd 3; NULL: no file system at all.
     * The kernel resolves every guest path beneath it (openat2 with RESOLVE_BENEATH): "..",
     * absolute paths and symbolic links cannot leave it. Read-only: opening for writing,
     * creating, truncating or removing fails with the WASI error ROFS. */
    const char *dir;
    /* The name the guest sees for that directory; NULL: "/". */
    const char *dir_guest_name;
};

/* A new state with no arguments, no environment and empty stdin. opt may be NULL (defaults).
 * Returns NULL and fills err on failure (-ENOMEM; -errno when opt->dir cannot be opened). */
WASMSLOT_API struct wasmslot_wasi *wasmslot_wasi_new(const struct wasmslot_wasi_options *opt,
                                                     struct wasmslot_error *err);

/* Free a state. Accepts NULL. */
WASMSLOT_API void wasmslot_wasi_free(struct wasmslot_wasi *w);

/* Set the arguments (argv[0] is the program name by convention). The strings are copied.
 * Returns 0, -EINVAL for argc > 0 with argv NULL, -E2BIG when the total does not fit the
 * 32-bit sizes of the ABI, -ENOMEM. */
WASMSLOT_API int wasmslot_wasi_set_args(struct wasmslot_wasi *w, uint32_t argc,
                                        const char *const *argv);

/* Set the environment as "NAME=value" strings, copied. Same returns as wasmslot_wasi_set_args. */
WASMSLOT_API int wasmslot_wasi_set_env(struct wasmslot_wasi *w, uint32_t n, const char *const *env);

/* Set the bytes fd 0 reads (copied; len may be 0 for an empty stdin). Returns 0 or -ENOMEM. */
WASMSLOT_API int wasmslot_wasi_set_stdin(struct wasmslot_wasi *w, const void *bytes, size_t len);

/* Prepare for a new run: forget captured output and the exit code, rewind stdin, close what
 * the guest opened, reopen fds 0-3. Arguments, environment and stdin bytes are kept.
 * wasmslot_wasi_run calls it itself. */
WASMSLOT_API void wasmslot_wasi_reset(struct wasmslot_wasi *w);

/* Captured output of the current / last run; *len gets its length. The pointer (NULL when
 * nothing was ever written) stays valid until the next write, run or wasmslot_wasi_free; the bytes
 * are not NUL-terminated. */
WASMSLOT_API const uint8_t *wasmslot_wasi_stdout(const struct wasmslot_wasi *w, size_t *len);
WASMSLOT_API const uint8_t *wasmslot_wasi_stderr(const struct wasmslot_wasi *w, size_t *len);

/* True when the guest tried to write more than the cap to stdout / stderr. */
WASMSLOT_API bool wasmslot_wasi_stdout_truncated(const struct wasmslot_wasi *w);
WASMSLOT_API bool wasmslot_wasi_stderr_truncated(const struct wasmslot_wasi *w);

/* The code passed to proc_exit in the current / last run, and whether it was called. */
WASMSLOT_API bool wasmslot_wasi_exited(const struct wasmslot_wasi *w, int *code);

/* The values for every import of a module, for wasmslot_instance_new. Owns the host functions it
 * made: free it after the instances that use it. */
struct wasmslot_wasi_imports;

/* Build the import values of m: every wasi_snapshot_preview1 function gets its host
 * function (one it does not know returns the WASI error NOSYS, so programs still
 * instantiate); a known name with a wrong signature fails. Imports of other modules are
 * taken from others[i] (an array of wasmslot_module_import_count(m) entries in import order;
 * only the entries of non-WASI imports are read) or, when others is NULL, fail.
 * bound: the state the functions serve; NULL means the state in the exec's user pointer at
 * call time, so one import list can serve every run of a module. Returns NULL and fills err
 * (-WASMSLOT_EUNLINKABLE naming the import, -ENOMEM) on failure. */
WASMSLOT_API struct wasmslot_wasi_imports *
wasmslot_wasi_imports_new(const struct wasmslot_module *m, struct wasmslot_wasi *bound,
                          const struct wasmslot_extern *others, struct wasmslot_error *err);

/* The import values, in m's import order, and their number (what wasmslot_instance_new takes). */
WASMSLOT_API const struct wasmslot_extern *
wasmslot_wasi_imports_externs(const struct wasmslot_wasi_imports *wi, uint32_t *n);

/* Free the import list and its host functions. Accepts NULL. */
WASMSLOT_API void wasmslot_wasi_imports_free(struct wasmslot_wasi_imports *wi);

/* Run a WASI command: resets w (wasmslot_wasi_reset), makes w the exec's user pointer for the run
 * (the previous one is restored afterwards) and calls the export "_start" of inst, or, when
 * inst is NULL, of a fresh instance of m with a plain memory and wasmslot_wasi_imports_new(m, NULL,
 * NULL) as imports, freed before returning.
 * Returns 0 when the program ended (returned from _start: *exit_code = 0; or called
 * proc_exit(n): *exit_code = n); a negative WASMSLOT_TRAP_* code when it trapped; another
 * negative code when it could not start (-WASMSLOT_ENOTFOUND: no "_start" function,
 * -WASMSLOT_EARGS: _start has parameters or results, instantiation errors), with err filled when
 * not NULL. In every case the output written before the end stays readable with
 * wasmslot_wasi_stdout/stderr. */
WASMSLOT_API int wasmslot_wasi_run(struct wasmslot_wasi *w, struct wasmslot_exec *ex,
                                   const struct wasmslot_module *m, struct wasmslot_instance *inst,
                                   int *exit_code, struct wasmslot_error *err);

/* ---------------------------------------------------------------- statistics */

enum wasmslot_stats_kind {
    WASMSLOT_STATS_COUNTER, /* events since the object was made; only ever grows */
    WASMSLOT_STATS_GAUGE,   /* a current level, e.g. busy slots */
};

/* Receives statistics one sample at a time. Names are lower snake_case with the unit in the
 * name where there is one (e.g. "reset_discarded_bytes") and without a "_total" suffix: a
 * renderer adds that to counters for OpenMetrics. Called on the caller's thread, synchronously;
 * the name is only valid during the call. */
typedef void (*wasmslot_stats_sink_fn)(void *arg, const char *name, enum wasmslot_stats_kind kind,
                                       uint64_t value);

/* ---------------------------------------------------------------- memory images and slot pools */

/*
 * A memory image is a module's initial memory contents (its active data segments with
 * constant offsets), laid out once in a sealed memfd. A pool owns a fixed number of slots;
 * a slot is one WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD reservation that maps an image
 * copy-on-write plus a heap extension. Releasing a slot resets it: the pages the instance wrote
 * are found in the page tables and either restored in place (copied back from the image, or
 * zeroed: the next instance takes no page fault on them) or dropped with madvise(MADV_DONTNEED)
 * (plus an ftruncate() after a grow), after which the slot holds the pristine image again and
 * serves the next instance of the same module without any mmap.
 *
 * Typical use, from any thread:
 *
 *     struct wasmslot_slot *s = wasmslot_pool_acquire(pool, img, &err);       // NULL: err says why
 *     struct wasmslot_instance_options o = { ..., .memory = wasmslot_slot_memory(s),
 *                                        .data_preloaded = wasmslot_slot_preloaded(s) };
 *     struct wasmslot_instance *inst = wasmslot_instance_new(module, &o, &err);
 *     ... wasmslot_call(...); on a trap: wasmslot_pool_count_trap(pool, rc) ...
 *     wasmslot_instance_free(inst);    // first: drops its memory reference
 *     wasmslot_pool_release(pool, s);  // the reset fastpath
 *
 * docs/examples/embed.c is a complete program that does this.
 */
struct wasmslot_image;
struct wasmslot_pool;
struct wasmslot_slot;

/* Build the memory image of m. Modules whose data cannot be imaged (an imported memory, a
 * segment offset that is not a constant, a segment out of bounds of the initial memory, a
 * shared memory) get an image that says so (wasmslot_image_is_imaged() is false): their segments
 * are then copied by wasmslot_instance_new, with the same observable behaviour. The image keeps no
 * pointer into m; it may be used by any number of pools and threads. Returns NULL and fills
 * err (-ENOMEM, or -errno of memfd_create/ftruncate/pwrite/fcntl) on failure. */
WASMSLOT_API struct wasmslot_image *wasmslot_image_new(const struct wasmslot_module *m,
                                                       struct wasmslot_error *err);

/* Free an image. Slots still holding it keep their mapping (the kernel keeps the memfd alive)
 * and are re-imaged before another module uses them. Accepts NULL. */
WASMSLOT_API void wasmslot_image_free(struct wasmslot_image *img);

/* True when the module's data segments are in the image (or it has none), so slots hand out a
 * memory that already holds them; false for the copy fallback. */
WASMSLOT_API bool wasmslot_image_is_imaged(const struct wasmslot_image *img);

/* Why an image uses the copy fallback ("imported memory", "segment offset is not a constant",
 * "segment out of bounds of the initial memory", "shared memory"); NULL when imaged. */
WASMSLOT_API const char *wasmslot_image_fallback_reason(const struct wasmslot_image *img);

/* Samples of one image: "image_imaged" (gauge, 1 or 0) and "image_stored_bytes" (gauge, bytes
 * of the memfd; leading and trailing zero pages are not stored). */
WASMSLOT_API void wasmslot_image_stats(const struct wasmslot_image *img,
                                       wasmslot_stats_sink_fn sink, void *arg);

/* How a released slot gets rid of the pages its instance wrote. Isolation is the same in every
 * mode: no byte an instance wrote survives for the next one. */
enum wasmslot_reset_mode {
    /* Restore the written pages in place while that is the cheaper way (they are fewer than
     * the cap and not many more than one instance writes); drop them otherwise, and always
     * after the memory grew. The default. */
    WASMSLOT_RESET_AUTO = 0,
    /* Drop every written page (madvise): nothing stays resident, the next instance faults in
     * the pages it touches. */
    WASMSLOT_RESET_MADVISE,
    /* Restore written pages in place up to the cap, drop only those beyond it. */
    WASMSLOT_RESET_KEEP,
};

/* "auto", "madvise" or "keep". */
WASMSLOT_API const char *wasmslot_reset_mode_name(enum wasmslot_reset_mode m);

/* How this process finds the pages an instance wrote: "scan" (ioctl PAGEMAP_SCAN, Linux
 * 6.7+), "read" (reading /proc/self/pagemap, the fallback) or "none" (no pagemap: every reset
 * drops the whole memory, whatever the mode). Probed once; the environment variable
 * WASMSLOT_PAGEMAP=scan|read|none, read then, forces one (for tests). */
WASMSLOT_API const char *wasmslot_reset_method(void);

struct wasmslot_pool_options {
    uint32_t slots;     /* number of slots, >= 1; each reserves 8 GiB of address space */
    uint32_t max_pages; /* cap on any memory's maximum in 64 KiB pages; 0 = 65536 (4 GiB) */
    enum wasmslot_reset_mode reset;
    /* Cap on the bytes of written pages a free slot keeps resident (restored in place) in the
     * auto and keep modes; 0 = WASMSLOT_RESET_KEEP_DEFAULT. */
    size_t keep_max_bytes;
};

#define WASMSLOT_RESET_KEEP_DEFAULT ((size_t)1 << 20)

/* Make a pool: one PROT_NONE, MAP_NORESERVE slab holding all the slots, never unmapped while
 * the pool lives. Returns NULL and fills err (-EINVAL for bad options, -ENOMEM when the address
 * space cannot be reserved) on failure. */
WASMSLOT_API struct wasmslot_pool *wasmslot_pool_new(const struct wasmslot_pool_options *o,
                                                     struct wasmslot_error *err);

/* Free a pool and unmap its slab. Every slot must have been released and every instance on one
 * freed (their memories are gone with the slab). Accepts NULL. */
WASMSLOT_API void wasmslot_pool_free(struct wasmslot_pool *p);

/* Take a slot for an instance of img's module: its memory is at the module's initial size,
 * its maximum is the module's (or the pool's cap, whichever is smaller), and its contents are
 * pristine (the image, zeros elsewhere). Prefers a free slot already holding img (no syscall
 * at all), then a never-used slot, then a slot in unknown state (wiped first), then a free slot
 * of another image (re-imaged: the cold path). Thread-safe. Returns NULL and fills err:
 * -WASMSLOT_EEXHAUSTED ("pool exhausted") when every slot is busy, -WASMSLOT_ELIMIT when the
 * module's initial memory exceeds the pool's cap, -errno when mapping failed (the slot is then
 * marked unknown and wiped before its next use). */
WASMSLOT_API struct wasmslot_slot *wasmslot_pool_acquire(struct wasmslot_pool *p,
                                                         const struct wasmslot_image *img,
                                                         struct wasmslot_error *err);

/* Give a slot back: drops the pool's reference to the slot's memory. Once no reference is left
 * (normally at once: free the instance first) the slot is reset, outside the pool's lock:
 * madvise(MADV_DONTNEED) over what the instance could have dirtied, and ftruncate of the heap
 * extension back to the initial size if it grew. If something (an instance not yet freed, a
 * reference taken with wasmslot_memory_ref) still holds the memory, the reset waits until it lets
 * go, on that thread, and the slot counts as busy until then. If a reset syscall fails the
 * slot is marked unknown and wiped whole before its next use, so no data can leak. Returns 0,
 * or the reset's -errno (the slot is released all the same, as unknown). s is not valid after
 * the call. */
WASMSLOT_API int wasmslot_pool_release(struct wasmslot_pool *p, struct wasmslot_slot *s);

/* The slot's memory, for wasmslot_instance_options.memory; NULL when the module has no memory of
 * its own (none, imported or shared), then the engine does what it does without a pool. Valid
 * until wasmslot_pool_release. */
WASMSLOT_API struct wasmslot_memory *wasmslot_slot_memory(const struct wasmslot_slot *s);

/* True when the slot's memory already holds the module's data (for
 * wasmslot_instance_options.data_preloaded); false for the copy fallback. */
WASMSLOT_API bool wasmslot_slot_preloaded(const struct wasmslot_slot *s);

/* True when the wasmslot_pool_acquire that returned s found it holding the image already (a
 * warm hit: no mapping needed), false when it had to map it (cold). For request logs. */
bool wasmslot_slot_warm(const struct wasmslot_slot *s);

/* Count a run on a slot of this pool that ended in a trap (err: the negative WASMSLOT_TRAP_* code
 * wasmslot_call returned; WASMSLOT_TRAP_TIMEOUT is counted as a timeout as well). Other codes are
 * ignored. Thread-safe. */
WASMSLOT_API void wasmslot_pool_count_trap(struct wasmslot_pool *p, int err);

/* Samples of a pool, a consistent snapshot. Gauges: "slots", "slots_busy", "slots_free",
 * "slots_warm" (free and holding an image), "slots_unknown" (free, to be wiped). Counters:
 * "instantiations" (successful wasmslot_pool_acquire), "warm_hits" (no mmap needed), "cold_maps"
 * (a slot mapped for an image: first use, re-image or after a wipe), "wipes", "resets",
 * "reset_failures", "reset_discarded_bytes" (bytes of written pages dropped; without a pagemap,
 * the whole range handed to madvise), "grows" (memory.grow served by a slot), "traps",
 * "timeouts", "exhaustions" (acquires refused), "reset_restored_pages" (pages an instance changed,
 * restored in place by a copy or a zeroing), "reset_dropped_pages" (written pages dropped by
 * madvise or truncation), "reset_faults_avoided" (pages instances changed that an earlier reset
 * had kept resident, so they were written without a page fault; reads are not counted).
 * Thread-safe. */
WASMSLOT_API void wasmslot_pool_stats(struct wasmslot_pool *p, wasmslot_stats_sink_fn sink,
                                      void *arg);

/* Number of samples wasmslot_pool_stats passes. */
#define WASMSLOT_POOL_STATS_SAMPLES 19

/* The values wasmslot_pool_stats would pass, in the same order, without the names: for a publisher
 * that has the names from an earlier wasmslot_pool_stats and refreshes the values after every
 * request. Thread-safe. */
WASMSLOT_API void wasmslot_pool_stats_values(struct wasmslot_pool *p,
                                             uint64_t out[WASMSLOT_POOL_STATS_SAMPLES]);

/* ---------------------------------------------------------------- shared memories */

/*
 * A shared memory (threads proposal) is made by the embedder, never by an instance, and
 * imported by any number of instances of any modules, running on any threads at once.
 *
 * Layout: one reservation of WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD bytes (PROT_NONE), with a
 * memfd mapped MAP_SHARED over [0, maximum); the memfd is sized to the current size with ftruncate
 * (sealed against shrinking), so an access in [size, maximum) raises SIGBUS, one beyond the
 * maximum SIGSEGV, and both become "out of bounds memory access" traps. The base never moves.
 *
 * Growth: the current size, the grow lock (a robust, process-shared mutex) and the waiter
 * queues live in a small process-shared header. memory.grow takes the lock, ftruncates the
 * memfd, then publishes the new size with a release store; memory.size reads it with an
 * acquire load, so a size is never seen before its pages are accessible.
 *
 * Threads and processes: within a process every thread sees the same bytes and size. A memory
 * made before fork() is shared with the children too: the same bytes (MAP_SHARED), the same
 * size and lock (the header), and wait/notify work across processes (waiters are queued in the
 * header by offset and sleep on futexes without FUTEX_PRIVATE_FLAG). A memory made after
 * fork() is private to the process that made it. Plain shared memories (wasmslot_memory_new with
 * shared=true, what a module that defines a shared memory gets) are private to their process:
 * a child of fork() gets a copy-on-write copy, not the same bytes.
 *
 * References: wasmslot_shmem_new returns the creator's reference; every instance that imports the
 * memory takes one (wasmslot_instance_new does that); wasmslot_memory_unref drops one, and the last
 * unref, on whichever thread, unmaps and closes everything. References are counted per process:
 * a child of fork() inherits the references its parent held and drops them on its own.
 *
 * Limits: at most WASMSLOT_SHMEM_MAX_WAITERS threads wait on one memory at a time (a further wait
 * fails with -WASMSLOT_ELIMIT). A process killed while one of its threads waits leaves that waiter
 * queued until a notify on its address finds it: that notify drops it without counting it (unless
 * its pid was reused meanwhile, then it is counted once). A process killed while holding the grow
 * lock or a queue lock does not block the others (robust mutexes).
 */

#define WASMSLOT_SHMEM_MAX_WAITERS 1024

/* Make a shared memory of min_pages pages that can grow to max_pages (<= 65536; the threads
 * proposal requires a maximum). name (may be NULL) names the memfd, for /proc/PID/maps.
 * Returns the memory with one reference (the creator's), or NULL with err filled: -EINVAL for
 * bad limits, -errno of memfd_create/ftruncate/mmap. */
WASMSLOT_API struct wasmslot_memory *wasmslot_shmem_new(const char *name, uint32_t min_pages,
                                                        uint32_t max_pages,
                                                        struct wasmslot_error *err);

/* True when mem was made by wasmslot_shmem_new (so it is shared with the children of a later fork).
 */
WASMSLOT_API bool wasmslot_shmem_is_shmem(const struct wasmslot_memory *mem);

/* Results of wasmslot_shmem_wait32/64, as memory.atomic.wait32/64 returns them. */
enum wasmslot_shmem_wait_result {
    WASMSLOT_SHMEM_WAIT_OK = 0,        /* "ok": woken by a notify */
    WASMSLOT_SHMEM_WAIT_NOT_EQUAL = 1, /* "not-equal": the value was not the expected one */
    WASMSLOT_SHMEM_WAIT_TIMED_OUT = 2, /* "timed-out" */
};

/* memory.atomic.wait32 / wait64 on any memory (wasmslot_shmem_new, or wasmslot_memory_new with
 * shared=true): if the 4- / 8-byte value at byte offset equals expected, sleep until a
 * wasmslot_shmem_notify on that offset wakes this waiter or timeout_ns nanoseconds pass (negative:
 * forever). The comparison and the queueing are atomic with respect to wasmslot_shmem_notify, so no
 * wake-up is lost. Returns a shmem_wait_result, or a negative code: -WASMSLOT_TRAP_OOB_MEMORY when
 * [offset, offset + 4/8) is not inside the current size, -WASMSLOT_TRAP_UNALIGNED_ATOMIC when
 * offset is not a multiple of 4/8, -WASMSLOT_TRAP_EXPECTED_SHARED when the memory is not shared
 * (checked in that order), -WASMSLOT_ELIMIT when WASMSLOT_SHMEM_MAX_WAITERS threads already wait,
 * and -WASMSLOT_TRAP_TIMEOUT when ex (may be NULL) is interrupted or reaches its deadline
 * meanwhile: the wait sleeps until ex's deadline at the latest and polls its interruption flag
 * every 10 ms, so a guest that waits forever still ends with a timeout trap. Callable from the
 * thread running guest code. */
WASMSLOT_API int wasmslot_shmem_wait32(struct wasmslot_memory *mem, uint64_t offset,
                                       uint32_t expected, int64_t timeout_ns,
                                       struct wasmslot_exec *ex);
WASMSLOT_API int wasmslot_shmem_wait64(struct wasmslot_memory *mem, uint64_t offset,
                                       uint64_t expected, int64_t timeout_ns,
                                       struct wasmslot_exec *ex);

/* memory.atomic.notify: wake at most count of the threads waiting on offset (of any process
 * sharing the memory), oldest first. Returns how many were woken (0 on an unshared memory,
 * where nobody can wait), or -WASMSLOT_TRAP_OOB_MEMORY / -WASMSLOT_TRAP_UNALIGNED_ATOMIC as for a
 * 4-byte wait (even when count is 0). */
WASMSLOT_API int wasmslot_shmem_notify(struct wasmslot_memory *mem, uint64_t offset,
                                       uint32_t count);

/* Samples of a shared memory. Gauges: "size_bytes", "max_bytes", "waiters" (waiting now).
 * Counters: "grows", "waits" (waits that slept), "wakeups" (waiters woken by a notify),
 * "wait_timeouts", "notifies". For a wasmslot_shmem_new memory the counters sum every process
 * sharing it; for a plain shared memory the wait counters are those of all such memories of the
 * process. */
WASMSLOT_API void wasmslot_shmem_stats(const struct wasmslot_memory *mem,
                                       wasmslot_stats_sink_fn sink, void *arg);

#ifdef __cplusplus
}
#endif

#endif
