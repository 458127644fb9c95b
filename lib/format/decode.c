/* format/decode.c: turns a WebAssembly binary into a struct wasmslot_module, checking everything
 * the binary format itself decides (structure, encodings, section order, names, counts). */
#include "config.h"

#include "format/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Locals per function beyond which a body is refused. The spec allows 2^32-1, but every local
 * takes room in each frame and in the decoded form; engines cap it (V8 uses 50000), and a
 * tiny binary must not make us allocate gigabytes. */
#define DECODE_MAX_LOCALS 50000u

/* Section ids of the binary format. */
enum {
    SEC_CUSTOM = 0,
    SEC_TYPE = 1,
    SEC_IMPORT = 2,
    SEC_FUNCTION = 3,
    SEC_TABLE = 4,
    SEC_MEMORY = 5,
    SEC_GLOBAL = 6,
    SEC_EXPORT = 7,
    SEC_START = 8,
    SEC_ELEMENT = 9,
    SEC_CODE = 10,
    SEC_DATA = 11,
    SEC_DATACOUNT = 12,
};

/* Decoding state beyond the module itself: what was seen, and the defined tables and memories
 * until they are merged after the imported ones. */
struct decoder {
    struct wasmslot_reader r;
    struct wasmslot_module *m;
    struct wasmslot_error *err;
    bool seen_code, seen_data;
    uint32_t ntables_def, nmems_def;
    struct wasmslot_tabletype *tables_def;
    struct wasmslot_limits *mems_def;
};

/* Rank of a non-custom section in the required order (datacount sits before code). */
static int section_rank(uint8_t id)
{
    switch (id) {
    case SEC_DATACOUNT:
        return 10;
    case SEC_CODE:
        return 11;
    case SEC_DATA:
        return 12;
    default:
        return id;
    }
}

static int oom(struct decoder *d)
{
    return wasmslot_error_set(d->err, -ENOMEM, "out of memory while decoding");
}

/* Zeroed array of n elements; never returns NULL for n == 0, so that pointer arithmetic on
 * the result is always defined. */
static void *alloc_array(size_t n, size_t size)
{
    return calloc(n == 0 ? 1 : n, size);
}

/* Read a vector length; every element takes at least one byte, so a count larger than what is
 * left cannot be honoured and is refused before anything is allocated for it. */
static int read_count(struct wasmslot_reader *r, uint32_t *n)
{
    int rc = wasmslot_rd_u32(r, n);

    if (rc < 0)
        return rc;
    if (*n > wasmslot_rd_left(r)) {
        r->p = r->end;
        return wasmslot_rd_eof(r);
    }
    return 0;
}

static int read_valtype(struct wasmslot_reader *r, enum wasmslot_valtype *t)
{
    uint8_t b;
    int rc = wasmslot_rd_u8(r, &b);

    if (rc < 0)
        return rc;
    switch (b) {
    case WASMSLOT_I32:
    case WASMSLOT_I64:
    case WASMSLOT_F32:
    case WASMSLOT_F64:
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        *t = (enum wasmslot_valtype)b;
        return 0;
    case WASMSLOT_V128:
        r->p--;
        return wasmslot_rd_fail(r, "malformed value type: v128 (SIMD) is not supported");
    default:
        r->p--;
        return wasmslot_rd_fail(r, "malformed value type");
    }
}

static int read_reftype(struct wasmslot_reader *r, enum wasmslot_valtype *t)
{
    uint8_t b;
    int rc = wasmslot_rd_u8(r, &b);

    if (rc < 0)
        return rc;
    if (b != WASMSLOT_FUNCREF && b != WASMSLOT_EXTERNREF) {
        r->p--;
        return wasmslot_rd_fail(r, "malformed reference type");
    }
    *t = (enum wasmslot_valtype)b;
    return 0;
}

/* Limits: flags (bit 0: has maximum; bit 1, memories only: shared), then u32 min and max.
 * The spec reads the flags as a one-byte LEB128, hence its wording for bad ones. */
static int read_limits(struct wasmslot_reader *r, bool memory, struct wasmslot_limits *lim)
{
    uint8_t flags;
    uint32_t v;
    int rc = wasmslot_rd_u8(r, &flags);

    if (rc < 0)
        return rc;
    if (flags & 0x80) {
        r->p--;
        return wasmslot_rd_fail(r, "integer representation too long");
    }
    if (flags > (memory ? 3 : 1)) {
        r->p--;
        return wasmslot_rd_fail(r, "integer too large");
    }
    lim->has_max = flags & 1;
    lim->shared = (flags & 2) != 0;
    if ((rc = wasmslot_rd_u32(r, &v)) < 0)
        return rc;
    lim->min = v;
    lim->max = 0;
    if (lim->has_max) {
        if ((rc = wasmslot_rd_u32(r, &v)) < 0)
            return rc;
        lim->max = v;
    }
    return 0;
}

static int read_tabletype(struct wasmslot_reader *r, struct wasmslot_tabletype *t)
{
    int rc = read_reftype(r, &t->elem);

    return rc < 0 ? rc : read_limits(r, false, &t->limits);
}

static int read_globaltype(struct wasmslot_reader *r, struct wasmslot_globaltype *g)
{
    uint8_t mut;
    int rc = read_valtype(r, &g->type);

    if (rc < 0 || (rc = wasmslot_rd_u8(r, &mut)) < 0)
        return rc;
    if (mut > 1) {
        r->p--;
        return wasmslot_rd_fail(r, "malformed mutability");
    }
    g->mutable_ = mut;
    return 0;
}

/* True when op starts an instruction of the supported feature set (0xfc and 0xfe are
 * prefixes). Lets a constant expression tell an unknown opcode (malformed) from a known one that
 * is not constant (invalid). */
static bool opcode_exists(uint8_t op)
{
    return op <= 0x05 || (op >= 0x0b && op <= 0x11) || (op >= 0x1a && op <= 0x1c) ||
           (op >= 0x20 && op <= 0x26) || (op >= 0x28 && op <= 0xc4) || (op >= 0xd0 && op <= 0xd2) ||
           op == 0xfc || op == 0xfe;
}

/* A constant expression: exactly one constant instruction and `end`. Any other instruction
 * makes the module invalid ("constant expression required"); since we do not decode general
 * instructions here, decoding stops there with -WASMSLOT_EINVALID. Zero or several values is the
 * validator's "type mismatch", reported the same way. */
static int read_constexpr(struct wasmslot_reader *r, struct wasmslot_constexpr *ce)
{
    unsigned n = 0;

    for (;;) {
        struct wasmslot_constexpr cur;
        uint8_t op;
        uint64_t v;
        int rc = wasmslot_rd_u8(r, &op);

        if (rc < 0)
            return rc;
        switch (op) {
        case 0x0b: /* end */
            if (n != 1)
                return wasmslot_error_set(r->err, WASMSLOT_EINVALID,
                                          "type mismatch: constant expression must yield one value "
                                          "(at offset %zu)",
                                          wasmslot_rd_offset(r) - 1);
            return 0;
        case 0x41: /* i32.const */
            cur.kind = WASMSLOT_CONST_I32;
            rc = wasmslot_rd_s32(r, &cur.u.i32);
            break;
        case 0x42: /* i64.const */
            cur.kind = WASMSLOT_CONST_I64;
            rc = wasmslot_rd_s64(r, &cur.u.i64);
            break;
        case 0x43: /* f32.const */
            cur.kind = WASMSLOT_CONST_F32;
            rc = wasmslot_rd_fixed(r, 4, &v);
            cur.u.f32 = (uint32_t)v;
            break;
        case 0x44: /* f64.const */
            cur.kind = WASMSLOT_CONST_F64;
            rc = wasmslot_rd_fixed(r, 8, &cur.u.f64);
            break;
        case 0x23: /* global.get */
            cur.kind = WASMSLOT_CONST_GLOBAL_GET;
            rc = wasmslot_rd_u32(r, &cur.u.index);
            break;
        case 0xd0: /* ref.null */
            cur.kind = WASMSLOT_CONST_REF_NULL;
            rc = read_reftype(r, &cur.u.type);
            break;
        case 0xd2: /* ref.func */
            cur.kind = WASMSLOT_CONST_REF_FUNC;
            rc = wasmslot_rd_u32(r, &cur.u.index);
            break;
        default:
            if (!opcode_exists(op)) {
                r->p--;
                return wasmslot_rd_fail(r, "illegal opcode");
            }
            return wasmslot_error_set(r->err, WASMSLOT_EINVALID,
                                      "constant expression required (opcode 0x%02x at offset %zu)",
                                      op, wasmslot_rd_offset(r) - 1);
        }
        if (rc < 0)
            return rc;
        if (n++ == 0)
            *ce = cur;
    }
}

/* A NUL-terminated heap copy of a name (names may contain NUL, so lengths are kept too). */
static int read_name_copy(struct decoder *d, char **out, size_t *len)
{
    const uint8_t *s;
    uint32_t n;
    int rc = wasmslot_rd_name(&d->r, &s, &n);

    if (rc < 0)
        return rc;
    if ((*out = malloc((size_t)n + 1)) == NULL)
        return oom(d);
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    *len = n;
    return 0;
}

static int decode_types(struct decoder *d)
{
    struct wasmslot_reader *r = &d->r;
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(r, &n);

    if (rc < 0)
        return rc;
    if ((m->types = alloc_array(n, sizeof(*m->types))) == NULL)
        return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_type *t = &m->types[i];
        uint32_t np, nr;
        uint8_t form;
        const uint8_t *params_at;

        if ((rc = wasmslot_rd_u8(r, &form)) < 0)
            return rc;
        if (form != 0x60) {
            r->p--;
            /* The form is a signed LEB128 in the spec's grammar. */
            if (form & 0x80)
                return wasmslot_rd_fail(r, "integer representation too long");
            return wasmslot_rd_fail(r, "malformed function type");
        }
        /* Count both vectors first so that one allocation holds them. */
        if ((rc = read_count(r, &np)) < 0)
            return rc;
        params_at = r->p;
        for (uint32_t k = 0; k < np; k++) {
            enum wasmslot_valtype vt;

            if ((rc = read_valtype(r, &vt)) < 0)
                return rc;
        }
        if ((rc = read_count(r, &nr)) < 0)
            return rc;
        if ((t->storage = alloc_array((size_t)np + nr, sizeof(*t->storage))) == NULL)
            return oom(d);
        m->ntypes = i + 1;
        for (uint32_t k = 0; k < nr; k++)
            if ((rc = read_valtype(r, &t->storage[np + k])) < 0)
                return rc;
        for (uint32_t k = 0; k < np; k++)
            t->storage[k] = (enum wasmslot_valtype)params_at[k];
        t->ft.nparams = np;
        t->ft.nresults = nr;
        t->ft.params = t->storage;
        t->ft.results = t->storage + np;
    }
    m->ntypes = n;
    return 0;
}

static int decode_imports(struct decoder *d)
{
    struct wasmslot_reader *r = &d->r;
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(r, &n);

    if (rc < 0)
        return rc;
    if ((m->imports = alloc_array(n, sizeof(*m->imports))) == NULL)
        return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_import *im = &m->imports[i];
        uint8_t kind;

        m->nimports = i + 1;
        if ((rc = read_name_copy(d, &im->module, &im->module_len)) < 0 ||
            (rc = read_name_copy(d, &im->name, &im->name_len)) < 0 ||
            (rc = wasmslot_rd_u8(r, &kind)) < 0)
            return rc;
        switch (kind) {
        case WASMSLOT_EXTERN_FUNC:
            rc = wasmslot_rd_u32(r, &im->u.func_type);
            m->nfunc_imports++;
            break;
        case WASMSLOT_EXTERN_TABLE:
            rc = read_tabletype(r, &im->u.table);
            m->ntable_imports++;
            break;
        case WASMSLOT_EXTERN_MEMORY:
            rc = read_limits(r, true, &im->u.memory);
            m->nmemory_imports++;
            break;
        case WASMSLOT_EXTERN_GLOBAL:
            rc = read_globaltype(r, &im->u.global);
            m->nglobal_imports++;
            break;
        default:
            r->p--;
            return wasmslot_rd_fail(r, "malformed import kind");
        }
        if (rc < 0)
            return rc;
        im->kind = (enum wasmslot_externkind)kind;
    }
    return 0;
}

static int decode_functions(struct decoder *d)
{
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((m->funcs = alloc_array(n, sizeof(*m->funcs))) == NULL)
        return oom(d);
    m->nfuncs = n;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = wasmslot_rd_u32(&d->r, &m->funcs[i].type)) < 0)
            return rc;
    return 0;
}

static int decode_tables(struct decoder *d)
{
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((d->tables_def = alloc_array(n, sizeof(*d->tables_def))) == NULL)
        return oom(d);
    d->ntables_def = n;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = read_tabletype(&d->r, &d->tables_def[i])) < 0)
            return rc;
    return 0;
}

static int decode_memories(struct decoder *d)
{
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((d->mems_def = alloc_array(n, sizeof(*d->mems_def))) == NULL)
        return oom(d);
    d->nmems_def = n;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = read_limits(&d->r, true, &d->mems_def[i])) < 0)
            return rc;
    return 0;
}

static int decode_globals(struct decoder *d)
{
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((m->globals = alloc_array(n, sizeof(*m->globals))) == NULL)
        return oom(d);
    m->nglobals = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_global_def *g = &m->globals[i];

        if ((rc = read_globaltype(&d->r, &g->type)) < 0 ||
            (rc = read_constexpr(&d->r, &g->init)) < 0)
            return rc;
    }
    return 0;
}

static int decode_exports(struct decoder *d)
{
    struct wasmslot_reader *r = &d->r;
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(r, &n);

    if (rc < 0)
        return rc;
    if ((m->exports = alloc_array(n, sizeof(*m->exports))) == NULL)
        return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_export *ex = &m->exports[i];
        uint8_t kind;

        m->nexports = i + 1;
        if ((rc = read_name_copy(d, &ex->name, &ex->name_len)) < 0 ||
            (rc = wasmslot_rd_u8(r, &kind)) < 0)
            return rc;
        if (kind > WASMSLOT_EXTERN_GLOBAL) {
            r->p--;
            return wasmslot_rd_fail(r, "malformed export kind");
        }
        ex->kind = (enum wasmslot_externkind)kind;
        if ((rc = wasmslot_rd_u32(r, &ex->index)) < 0)
            return rc;
    }
    return 0;
}

/* Element items given as bare function indices (encodings 0..3). */
static int read_elem_funcidxs(struct decoder *d, struct wasmslot_elem *e)
{
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((e->items = alloc_array(n, sizeof(*e->items))) == NULL)
        return oom(d);
    e->count = n;
    for (uint32_t i = 0; i < n; i++) {
        e->items[i].kind = WASMSLOT_CONST_REF_FUNC;
        if ((rc = wasmslot_rd_u32(&d->r, &e->items[i].u.index)) < 0)
            return rc;
    }
    return 0;
}

/* Element items given as constant expressions (encodings 4..7). */
static int read_elem_exprs(struct decoder *d, struct wasmslot_elem *e)
{
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((e->items = alloc_array(n, sizeof(*e->items))) == NULL)
        return oom(d);
    e->count = n;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = read_constexpr(&d->r, &e->items[i])) < 0)
            return rc;
    return 0;
}

/* The elemkind byte of encodings 1..3: only 0x00 (funcref) exists. */
static int read_elemkind(struct wasmslot_reader *r, struct wasmslot_elem *e)
{
    uint8_t b;
    int rc = wasmslot_rd_u8(r, &b);

    if (rc < 0)
        return rc;
    if (b != 0x00) {
        r->p--;
        return wasmslot_rd_fail(r, "malformed element kind");
    }
    e->type = WASMSLOT_FUNCREF;
    return 0;
}

/* One element segment. The flags value's bits say: 0 passive/declarative (else active),
 * 1 explicit table index (active) or declarative (otherwise), 2 items are expressions. */
static int read_elem(struct decoder *d, struct wasmslot_elem *e)
{
    struct wasmslot_reader *r = &d->r;
    uint32_t flags;
    int rc = wasmslot_rd_u32(r, &flags);

    if (rc < 0)
        return rc;
    if (flags > 7)
        return wasmslot_rd_fail(r, "malformed elements segment kind");
    e->type = WASMSLOT_FUNCREF;
    if (flags & 1)
        e->mode = (flags & 2) ? WASMSLOT_SEG_DECLARATIVE : WASMSLOT_SEG_PASSIVE;
    else
        e->mode = WASMSLOT_SEG_ACTIVE;
    if (e->mode == WASMSLOT_SEG_ACTIVE) {
        if ((flags & 2) && (rc = wasmslot_rd_u32(r, &e->table)) < 0)
            return rc;
        if ((rc = read_constexpr(r, &e->offset)) < 0)
            return rc;
    }
    /* Encodings 0 and 4 imply funcref; the others name the kind or type explicitly. */
    if (flags != 0 && flags != 4) {
        rc = (flags & 4) ? read_reftype(r, &e->type) : read_elemkind(r, e);
        if (rc < 0)
            return rc;
    }
    return (flags & 4) ? read_elem_exprs(d, e) : read_elem_funcidxs(d, e);
}

static int decode_elems(struct decoder *d)
{
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if ((m->elems = alloc_array(n, sizeof(*m->elems))) == NULL)
        return oom(d);
    for (uint32_t i = 0; i < n; i++) {
        m->nelems = i + 1;
        if ((rc = read_elem(d, &m->elems[i])) < 0)
            return rc;
    }
    return 0;
}

/* One code entry: the local declarations (read twice: once to count and check the total,
 * once to fill the array) and the body. */
static int read_code_entry(struct decoder *d, struct wasmslot_func_def *f)
{
    struct wasmslot_reader *r = &d->r;
    const uint8_t *outer_end = r->end, *decls;
    uint32_t size, ndecl;
    uint64_t total = 0;
    int rc = wasmslot_rd_u32(r, &size);

    if (rc < 0)
        return rc;
    if (size > wasmslot_rd_left(r)) {
        r->p = r->end;
        return wasmslot_rd_eof(r);
    }
    r->end = r->p + size;
    if ((rc = read_count(r, &ndecl)) < 0)
        goto out;
    decls = r->p;
    for (uint32_t i = 0; i < ndecl; i++) {
        uint32_t cnt;
        enum wasmslot_valtype t;

        if ((rc = wasmslot_rd_u32(r, &cnt)) < 0 || (rc = read_valtype(r, &t)) < 0)
            goto out;
        total += cnt;
        if (total > UINT32_MAX) {
            rc = wasmslot_rd_fail(r, "too many locals");
            goto out;
        }
    }
    if (total > DECODE_MAX_LOCALS) {
        rc = wasmslot_rd_fail(r, "too many locals (implementation limit)");
        goto out;
    }
    if ((f->locals = alloc_array(total, sizeof(*f->locals))) == NULL) {
        rc = oom(d);
        goto out;
    }
    f->nlocals = (uint32_t)total;
    {
        /* Second pass over bytes already checked: no failure is possible. */
        struct wasmslot_reader again = *r;
        uint32_t k = 0;

        again.p = decls;
        for (uint32_t i = 0; i < ndecl; i++) {
            uint32_t cnt = 0; /* gcc -O3 cannot see that the read succeeds this time */
            enum wasmslot_valtype t;

            (void)wasmslot_rd_u32(&again, &cnt);
            (void)read_valtype(&again, &t);
            for (uint32_t j = 0; j < cnt; j++)
                f->locals[k++] = t;
        }
    }
    f->body = r->p;
    f->body_len = wasmslot_rd_left(r);
    f->body_offset = wasmslot_rd_offset(r);
    /* The body's last instruction must be its final `end`. Whether an earlier 0x0b is an `end`
     * or an immediate byte only the body compiler can tell. */
    if (f->body_len == 0 || f->body[f->body_len - 1] != 0x0b) {
        /* Word it as a decoder reading on for the missing `end` would: into the next entry,
         * past the end of the binary, or into the next section. */
        const char *msg = "END opcode expected";

        if (r->end == outer_end)
            msg = outer_end == d->m->bytes + d->m->len ? "unexpected end of section or function"
                                                       : "section size mismatch";
        r->p = r->end;
        rc = wasmslot_rd_fail(r, msg);
        goto out;
    }
    r->p = r->end;
out:
    r->end = outer_end;
    return rc;
}

static int decode_code(struct decoder *d)
{
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = wasmslot_rd_u32(&d->r, &n);

    if (rc < 0)
        return rc;
    if (n != m->nfuncs)
        return wasmslot_rd_fail(&d->r, "function and code section have inconsistent lengths");
    d->seen_code = true;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = read_code_entry(d, &m->funcs[i])) < 0)
            return rc;
    return 0;
}

static int read_data(struct decoder *d, struct wasmslot_data *s)
{
    struct wasmslot_reader *r = &d->r;
    uint32_t flags;
    int rc = wasmslot_rd_u32(r, &flags);

    if (rc < 0)
        return rc;
    if (flags > 2)
        return wasmslot_rd_fail(r, "malformed data segment kind");
    s->mode = flags == 1 ? WASMSLOT_SEG_PASSIVE : WASMSLOT_SEG_ACTIVE;
    if (flags == 2 && (rc = wasmslot_rd_u32(r, &s->memory)) < 0)
        return rc;
    if (s->mode == WASMSLOT_SEG_ACTIVE && (rc = read_constexpr(r, &s->offset)) < 0)
        return rc;
    if ((rc = wasmslot_rd_u32(r, &s->len)) < 0)
        return rc;
    return wasmslot_rd_bytes(r, s->len, &s->bytes);
}

static int decode_datas(struct decoder *d)
{
    struct wasmslot_module *m = d->m;
    uint32_t n;
    int rc = read_count(&d->r, &n);

    if (rc < 0)
        return rc;
    if (m->has_data_count && n != m->data_count)
        return wasmslot_rd_fail(&d->r, "data count and data section have inconsistent lengths");
    d->seen_data = true;
    if ((m->datas = alloc_array(n, sizeof(*m->datas))) == NULL)
        return oom(d);
    m->ndatas = n;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = read_data(d, &m->datas[i])) < 0)
            return rc;
    return 0;
}

static int decode_section(struct decoder *d, uint8_t id)
{
    struct wasmslot_module *m = d->m;
    const uint8_t *name;
    uint32_t len;
    int rc;

    switch (id) {
    case SEC_CUSTOM:
        /* Only the name is checked; the contents belong to whoever reads them. */
        if ((rc = wasmslot_rd_name(&d->r, &name, &len)) < 0)
            return rc;
        d->r.p = d->r.end;
        return 0;
    case SEC_TYPE:
        return decode_types(d);
    case SEC_IMPORT:
        return decode_imports(d);
    case SEC_FUNCTION:
        return decode_functions(d);
    case SEC_TABLE:
        return decode_tables(d);
    case SEC_MEMORY:
        return decode_memories(d);
    case SEC_GLOBAL:
        return decode_globals(d);
    case SEC_EXPORT:
        return decode_exports(d);
    case SEC_START:
        m->has_start = true;
        return wasmslot_rd_u32(&d->r, &m->start);
    case SEC_ELEMENT:
        return decode_elems(d);
    case SEC_DATACOUNT:
        m->has_data_count = true;
        return wasmslot_rd_u32(&d->r, &m->data_count);
    case SEC_CODE:
        return decode_code(d);
    case SEC_DATA:
        return decode_datas(d);
    }
    return wasmslot_rd_fail(&d->r, "malformed section id");
}

/* Sections one after the other, each sized, in order, at most once (custom ones anywhere). */
static int decode_sections(struct decoder *d)
{
    struct wasmslot_reader *r = &d->r;
    int last_rank = 0;

    while (r->p < r->end) {
        const uint8_t *sec_end;
        uint8_t id;
        uint32_t size;
        int rc;

        if ((rc = wasmslot_rd_u8(r, &id)) < 0)
            return rc;
        if (id > SEC_DATACOUNT) {
            r->p--;
            return wasmslot_rd_fail(r, "malformed section id");
        }
        if ((rc = wasmslot_rd_u32(r, &size)) < 0)
            return rc;
        if (size > wasmslot_rd_left(r))
            return wasmslot_rd_fail(r, "length out of bounds");
        if (id != SEC_CUSTOM) {
            if (section_rank(id) <= last_rank)
                return wasmslot_rd_fail(r, "unexpected content after last section");
            last_rank = section_rank(id);
        }
        sec_end = r->p + size;
        r->end = sec_end;
        r->in_section = true;
        rc = decode_section(d, id);
        if (rc == 0 && r->p != sec_end)
            rc = wasmslot_rd_fail(r, "section size mismatch");
        r->end = d->m->bytes + d->m->len;
        r->in_section = false;
        if (rc < 0)
            return rc;
        r->p = sec_end;
    }
    return 0;
}

/* Set bit i of the declared-functions bitmap when i names a function. */
static void declare_func(struct wasmslot_module *m, uint32_t i)
{
    if (i < m->nfuncs_total)
        m->declared_funcs[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Build the index spaces (imports first) and the set of functions ref.func may name. */
static int finish(struct decoder *d)
{
    struct wasmslot_module *m = d->m;
    uint64_t nf = (uint64_t)m->nfunc_imports + m->nfuncs;
    uint64_t nt = (uint64_t)m->ntable_imports + d->ntables_def;
    uint64_t nm = (uint64_t)m->nmemory_imports + d->nmems_def;
    uint64_t ng = (uint64_t)m->nglobal_imports + m->nglobals;
    uint32_t fi = 0, ti = 0, mi = 0, gi = 0;

    if (nf > UINT32_MAX || nt > UINT32_MAX || nm > UINT32_MAX || ng > UINT32_MAX)
        return wasmslot_error_set(d->err, WASMSLOT_EMALFORMED, "too many definitions");
    m->nfuncs_total = (uint32_t)nf;
    m->ntables_total = (uint32_t)nt;
    m->nmemories_total = (uint32_t)nm;
    m->nglobals_total = (uint32_t)ng;
    m->func_types = alloc_array(nf, sizeof(*m->func_types));
    m->tables = alloc_array(nt, sizeof(*m->tables));
    m->memories = alloc_array(nm, sizeof(*m->memories));
    m->global_types = alloc_array(ng, sizeof(*m->global_types));
    m->declared_funcs = alloc_array((nf + 7) / 8, 1);
    if (!m->func_types || !m->tables || !m->memories || !m->global_types || !m->declared_funcs)
        return oom(d);

    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasmslot_import *im = &m->imports[i];

        switch (im->kind) {
        case WASMSLOT_EXTERN_FUNC:
            m->func_types[fi++] = im->u.func_type;
            break;
        case WASMSLOT_EXTERN_TABLE:
            m->tables[ti++] = im->u.table;
            break;
        case WASMSLOT_EXTERN_MEMORY:
            m->memories[mi++] = im->u.memory;
            break;
        case WASMSLOT_EXTERN_GLOBAL:
            m->global_types[gi++] = im->u.global;
            break;
        }
    }
    for (uint32_t i = 0; i < m->nfuncs; i++)
        m->func_types[fi++] = m->funcs[i].type;
    for (uint32_t i = 0; i < d->ntables_def; i++)
        m->tables[ti++] = d->tables_def[i];
    for (uint32_t i = 0; i < d->nmems_def; i++)
        m->memories[mi++] = d->mems_def[i];
    for (uint32_t i = 0; i < m->nglobals; i++)
        m->global_types[gi++] = m->globals[i].type;

    /* C.refs: functions named by ref.func outside function bodies, and exported ones. */
    for (uint32_t i = 0; i < m->nglobals; i++)
        if (m->globals[i].init.kind == WASMSLOT_CONST_REF_FUNC)
            declare_func(m, m->globals[i].init.u.index);
    for (uint32_t i = 0; i < m->nelems; i++)
        for (uint32_t k = 0; k < m->elems[i].count; k++)
            if (m->elems[i].items[k].kind == WASMSLOT_CONST_REF_FUNC)
                declare_func(m, m->elems[i].items[k].u.index);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WASMSLOT_EXTERN_FUNC)
            declare_func(m, m->exports[i].index);
    return 0;
}

int wasmslot_decode(struct wasmslot_module *m, const uint8_t *bytes, size_t len,
                    struct wasmslot_error *err)
{
    static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
    static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
    struct decoder d = {.m = m, .err = err};
    const uint8_t *hdr;
    int rc;

    if ((m->bytes = malloc(len == 0 ? 1 : len)) == NULL) {
        rc = oom(&d);
        goto done;
    }
    if (len > 0)
        memcpy(m->bytes, bytes, len);
    m->len = len;
    wasmslot_rd_init(&d.r, m->bytes, len, err);

    if ((rc = wasmslot_rd_bytes(&d.r, 4, &hdr)) < 0)
        goto done;
    if (memcmp(hdr, magic, 4) != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EMALFORMED, "magic header not detected");
        goto done;
    }
    if ((rc = wasmslot_rd_bytes(&d.r, 4, &hdr)) < 0)
        goto done;
    if (memcmp(hdr, version, 4) != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EMALFORMED, "unknown binary version");
        goto done;
    }
    if ((rc = decode_sections(&d)) < 0)
        goto done;
    if (!d.seen_code && m->nfuncs != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EMALFORMED,
                                "function and code section have inconsistent lengths");
        goto done;
    }
    if (!d.seen_data && m->has_data_count && m->data_count != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EMALFORMED,
                                "data count and data section have inconsistent lengths");
        goto done;
    }
    rc = finish(&d);
done:
    /* The defined tables and memories live on in m->tables/m->memories after finish(). */
    free(d.tables_def);
    free(d.mems_def);
    return rc;
}

void wasmslot_module_clear(struct wasmslot_module *m)
{
    if (m == NULL)
        return;
    for (uint32_t i = 0; i < m->ntypes; i++)
        free(m->types[i].storage);
    free(m->types);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].module);
        free(m->imports[i].name);
    }
    free(m->imports);
    free(m->func_types);
    for (uint32_t i = 0; i < m->nfuncs; i++)
        free(m->funcs[i].locals);
    free(m->funcs);
    free(m->tables);
    free(m->memories);
    free(m->global_types);
    free(m->globals);
    for (uint32_t i = 0; i < m->nexports; i++)
        free(m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++)
        free(m->elems[i].items);
    free(m->elems);
    free(m->datas);
    free(m->declared_funcs);
    free(m->bytes);
    memset(m, 0, sizeof(*m));
}
