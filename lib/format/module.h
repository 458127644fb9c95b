/* format/module.h: the decoded form of a module, shared by the decoder, validator, compiler and
 * runtime inside libwasmslot (private to the library). */
#ifndef WASMSLOT_MODULE_H
#define WASMSLOT_MODULE_H

#include "wasmslot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct interp_func;   /* compiled body, owned by the interpreter (interp/interp.h) */
struct wasmslot_tier; /* the execution tier that compiled a module (runtime/tier.h) */

/* A constant expression as allowed in global initialisers and segment offsets/items. */
enum wasmslot_const_kind {
    WASMSLOT_CONST_I32,
    WASMSLOT_CONST_I64,
    WASMSLOT_CONST_F32,
    WASMSLOT_CONST_F64,
    WASMSLOT_CONST_GLOBAL_GET, /* u.index = global index (an import, validated) */
    WASMSLOT_CONST_REF_NULL,   /* u.type = WASMSLOT_FUNCREF or WASMSLOT_EXTERNREF */
    WASMSLOT_CONST_REF_FUNC,   /* u.index = function index */
};

struct wasmslot_constexpr {
    enum wasmslot_const_kind kind;
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32; /* bits */
        uint64_t f64; /* bits */
        uint32_t index;
        enum wasmslot_valtype type;
    } u;
};

/* A type-section entry; params and results point into one allocation. */
struct wasmslot_type {
    struct wasmslot_functype ft;
    enum wasmslot_valtype *storage; /* nparams + nresults entries */
};

struct wasmslot_tabletype {
    enum wasmslot_valtype elem; /* WASMSLOT_FUNCREF or WASMSLOT_EXTERNREF */
    struct wasmslot_limits limits;
};

struct wasmslot_globaltype {
    enum wasmslot_valtype type;
    bool mutable_;
};

struct wasmslot_import {
    char *module; /* NUL-terminated copy; names may hold NUL bytes, hence the lengths */
    char *name;
    size_t module_len, name_len;
    enum wasmslot_externkind kind;
    union {
        uint32_t func_type; /* type index */
        struct wasmslot_tabletype table;
        struct wasmslot_limits memory;
        struct wasmslot_globaltype global;
    } u;
};

struct wasmslot_export {
    char *name;
    size_t name_len;
    enum wasmslot_externkind kind;
    uint32_t index;
};

/* A function defined by the module (imports are not here). */
struct wasmslot_func_def {
    uint32_t type;                 /* type index */
    uint32_t nlocals;              /* locals declared in the body, params excluded */
    enum wasmslot_valtype *locals; /* nlocals entries */
    const uint8_t *body;           /* the instruction bytes after the local declarations, up to and
                                      including the final `end`; points into wasmslot_module.bytes */
    size_t body_len;
    size_t body_offset;           /* offset of body in the binary, for error messages */
    struct interp_func *compiled; /* set by interp_compile_module() */
    /* Set by the native tier (native/native.h) when it compiled this body, else NULL: the
     * machine code with the function's own signature, and its entry from C (exec, instance,
     * cells). */
    void *native_code;
    void *native_entry;
};

struct wasmslot_global_def {
    struct wasmslot_globaltype type;
    struct wasmslot_constexpr init;
};

enum wasmslot_segment_mode {
    WASMSLOT_SEG_ACTIVE,
    WASMSLOT_SEG_PASSIVE,
    WASMSLOT_SEG_DECLARATIVE, /* element segments only */
};

struct wasmslot_elem {
    enum wasmslot_segment_mode mode;
    enum wasmslot_valtype type;       /* WASMSLOT_FUNCREF or WASMSLOT_EXTERNREF */
    uint32_t table;                   /* active only */
    struct wasmslot_constexpr offset; /* active only; i32 */
    uint32_t count;
    struct wasmslot_constexpr *items; /* count entries: REF_FUNC, REF_NULL or GLOBAL_GET */
};

struct wasmslot_data {
    enum wasmslot_segment_mode mode;  /* ACTIVE or PASSIVE */
    uint32_t memory;                  /* active only (always 0 without multi-memory) */
    struct wasmslot_constexpr offset; /* active only; i32 */
    const uint8_t *bytes;             /* points into wasmslot_module.bytes */
    uint32_t len;
};

struct wasmslot_module {
    uint8_t *bytes; /* owned copy of the binary */
    size_t len;

    uint32_t ntypes;
    struct wasmslot_type *types;

    uint32_t nimports;
    struct wasmslot_import *imports;
    /* Counts of imports per kind; imported entities come first in each index space. */
    uint32_t nfunc_imports, ntable_imports, nmemory_imports, nglobal_imports;

    /* Index spaces (imports first). For functions: func_types[i] is the type index of
     * function i for every i < nfuncs_total. */
    uint32_t nfuncs_total;
    uint32_t *func_types;

    uint32_t nfuncs; /* defined functions: index nfunc_imports + k is funcs[k] */
    struct wasmslot_func_def *funcs;

    uint32_t ntables_total;            /* imports + defined */
    struct wasmslot_tabletype *tables; /* ntables_total entries, imports first */

    uint32_t nmemories_total;         /* 0 or 1 (no multi-memory) */
    struct wasmslot_limits *memories; /* nmemories_total entries, imports first */

    uint32_t nglobals_total;
    struct wasmslot_globaltype *global_types; /* nglobals_total entries, imports first */
    uint32_t nglobals;                        /* defined globals */
    struct wasmslot_global_def *globals;      /* index nglobal_imports + k is globals[k] */

    uint32_t nexports;
    struct wasmslot_export *exports;

    bool has_start;
    uint32_t start;

    uint32_t nelems;
    struct wasmslot_elem *elems;

    bool has_data_count;
    uint32_t data_count;
    uint32_t ndatas;
    struct wasmslot_data *datas;

    /* Functions that may be referenced by ref.func in code: those in element segments,
     * exports and global initialisers (the spec's C.refs). Bitmap over nfuncs_total. */
    uint8_t *declared_funcs;

    void *image; /* the module's memory image, owned by mem/image.c (NULL until built) */

    /* The tier that compiled the bodies and runs them (NULL while the module is only decoded);
     * the tiers' own module-wide state; why a module asked for another tier runs on this one
     * (NULL when it does not); the time its bodies took to compile. */
    const struct wasmslot_tier *tier;
    void *tier_state;
    char *tier_fallback; /* malloc()ed, freed with the module */
    uint64_t compile_ns;
    int cache_state;  /* enum wasmslot_cache_state, set by the tier */
    char *cache_note; /* why the cache was rejected or failed; malloc()ed, freed with the module */
};

/* Decode a binary into *m (zeroed by the caller). Checks everything the binary format
 * decides: structure, LEB128 encodings, section order and sizes, UTF-8 names, counts that
 * must agree (function/code, data count). Returns 0, or -WASMSLOT_EMALFORMED / -ENOMEM with a
 * message in err. On failure *m may hold partial allocations: release with wasmslot_module_clear.
 */
int wasmslot_decode(struct wasmslot_module *m, const uint8_t *bytes, size_t len,
                    struct wasmslot_error *err);

/* Validate everything outside function bodies: type indices, limits, import/export kinds,
 * unique export names, constant expressions and their types, start function type, segment
 * indices, data count agreement. Returns 0 or -WASMSLOT_EINVALID with a message in err. */
int wasmslot_validate_module(const struct wasmslot_module *m, struct wasmslot_error *err);

/* Release everything wasmslot_decode allocated in *m, leaving it zeroed. A compiled module is
 * released by its tier first (runtime/instance.c, wasmslot_module_free). */
void wasmslot_module_clear(struct wasmslot_module *m);

/* Type of function index i (imports included). */
static inline const struct wasmslot_functype *
wasmslot_module_functype(const struct wasmslot_module *m, uint32_t funcidx)
{
    return &m->types[m->func_types[funcidx]].ft;
}

/* Format an error into err and return -code; printf-style. Used by every stage. */
int wasmslot_error_set(struct wasmslot_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
