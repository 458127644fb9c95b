/* format/validate.c: the module-level validation rules of WebAssembly, everything outside function
 * bodies (which the body compiler validates). */
#include "config.h"

#include "format/module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* 65536 pages of 64 KiB: the whole 32-bit address space. */
#define MAX_MEMORY_PAGES 65536u

/* Always -WASMSLOT_EINVALID, visibly to the compiler, so callers' outputs count as set on 0. */
static int invalid(struct wasmslot_error *err, const char *msg)
{
    wasmslot_error_set(err, WASMSLOT_EINVALID, "%s", msg);
    return -WASMSLOT_EINVALID;
}

static int check_table_limits(const struct wasmslot_limits *lim, struct wasmslot_error *err)
{
    if (lim->has_max && lim->min > lim->max)
        return invalid(err, "size minimum must not be greater than maximum");
    return 0;
}

static int check_memory_limits(const struct wasmslot_limits *lim, struct wasmslot_error *err)
{
    if (lim->min > MAX_MEMORY_PAGES || (lim->has_max && lim->max > MAX_MEMORY_PAGES))
        return invalid(err, "memory size must be at most 65536 pages (4GiB)");
    if (lim->has_max && lim->min > lim->max)
        return invalid(err, "size minimum must not be greater than maximum");
    if (lim->shared && !lim->has_max)
        return invalid(err, "shared memory must have maximum");
    return 0;
}

/* The type of a constant expression. global.get may only read an imported, immutable global:
 * defined globals are not initialised yet when constant expressions are evaluated. */
static int constexpr_type(const struct wasmslot_module *m, const struct wasmslot_constexpr *ce,
                          enum wasmslot_valtype *t, struct wasmslot_error *err)
{
    switch (ce->kind) {
    case WASMSLOT_CONST_I32:
        *t = WASMSLOT_I32;
        return 0;
    case WASMSLOT_CONST_I64:
        *t = WASMSLOT_I64;
        return 0;
    case WASMSLOT_CONST_F32:
        *t = WASMSLOT_F32;
        return 0;
    case WASMSLOT_CONST_F64:
        *t = WASMSLOT_F64;
        return 0;
    case WASMSLOT_CONST_GLOBAL_GET:
        if (ce->u.index >= m->nglobal_imports) {
            wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown global %u", ce->u.index);
            return -WASMSLOT_EINVALID;
        }
        if (m->global_types[ce->u.index].mutable_)
            return invalid(err, "constant expression required");
        *t = m->global_types[ce->u.index].type;
        return 0;
    case WASMSLOT_CONST_REF_NULL:
        *t = ce->u.type;
        return 0;
    case WASMSLOT_CONST_REF_FUNC:
        if (ce->u.index >= m->nfuncs_total) {
            wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown function %u", ce->u.index);
            return -WASMSLOT_EINVALID;
        }
        *t = WASMSLOT_FUNCREF;
        return 0;
    }
    return invalid(err, "constant expression required");
}

/* Check that a constant expression is valid and yields `want`. */
static int check_constexpr(const struct wasmslot_module *m, const struct wasmslot_constexpr *ce,
                           enum wasmslot_valtype want, struct wasmslot_error *err)
{
    enum wasmslot_valtype t;
    int rc = constexpr_type(m, ce, &t, err);

    if (rc < 0)
        return rc;
    if (t != want)
        return wasmslot_error_set(err, WASMSLOT_EINVALID, "type mismatch: expected %s, got %s",
                                  wasmslot_valtype_name(want), wasmslot_valtype_name(t));
    return 0;
}

static int check_imports(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasmslot_import *im = &m->imports[i];
        int rc = 0;

        switch (im->kind) {
        case WASMSLOT_EXTERN_FUNC:
            if (im->u.func_type >= m->ntypes)
                return wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown type %u",
                                          im->u.func_type);
            break;
        case WASMSLOT_EXTERN_TABLE:
            rc = check_table_limits(&im->u.table.limits, err);
            break;
        case WASMSLOT_EXTERN_MEMORY:
            rc = check_memory_limits(&im->u.memory, err);
            break;
        case WASMSLOT_EXTERN_GLOBAL:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_definitions(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    int rc;

    for (uint32_t i = 0; i < m->nfuncs; i++)
        if (m->funcs[i].type >= m->ntypes)
            return wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown type %u", m->funcs[i].type);
    for (uint32_t i = m->ntable_imports; i < m->ntables_total; i++)
        if ((rc = check_table_limits(&m->tables[i].limits, err)) < 0)
            return rc;
    if (m->nmemories_total > 1)
        return invalid(err, "multiple memories");
    for (uint32_t i = m->nmemory_imports; i < m->nmemories_total; i++)
        if ((rc = check_memory_limits(&m->memories[i], err)) < 0)
            return rc;
    for (uint32_t i = 0; i < m->nglobals; i++)
        if ((rc = check_constexpr(m, &m->globals[i].init, m->globals[i].type.type, err)) < 0)
            return rc;
    return 0;
}

static int cmp_export_names(const void *a, const void *b)
{
    const struct wasmslot_export *x = *(const struct wasmslot_export *const *)a;
    const struct wasmslot_export *y = *(const struct wasmslot_export *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);

    if (c != 0)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int check_exports(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    static const char *const kind_names[] = {"function", "table", "memory", "global"};
    const struct wasmslot_export **sorted;
    int rc = 0;

    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wasmslot_export *ex = &m->exports[i];
        uint32_t limit = 0;

        switch (ex->kind) {
        case WASMSLOT_EXTERN_FUNC:
            limit = m->nfuncs_total;
            break;
        case WASMSLOT_EXTERN_TABLE:
            limit = m->ntables_total;
            break;
        case WASMSLOT_EXTERN_MEMORY:
            limit = m->nmemories_total;
            break;
        case WASMSLOT_EXTERN_GLOBAL:
            limit = m->nglobals_total;
            break;
        }
        if (ex->index >= limit)
            return wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown %s %u", kind_names[ex->kind],
                                      ex->index);
    }
    if (m->nexports < 2)
        return 0;
    /* Sorting pointers finds duplicates in n log n, whatever the number of exports. */
    if ((sorted = malloc(m->nexports * sizeof(*sorted))) == NULL)
        return wasmslot_error_set(err, -ENOMEM, "out of memory while validating exports");
    for (uint32_t i = 0; i < m->nexports; i++)
        sorted[i] = &m->exports[i];
    qsort(sorted, m->nexports, sizeof(*sorted), cmp_export_names);
    for (uint32_t i = 1; i < m->nexports; i++) {
        if (cmp_export_names(&sorted[i - 1], &sorted[i]) == 0) {
            rc = invalid(err, "duplicate export name");
            break;
        }
    }
    free(sorted);
    return rc;
}

static int check_start(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    const struct wasmslot_functype *ft;

    if (!m->has_start)
        return 0;
    if (m->start >= m->nfuncs_total)
        return wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown function %u", m->start);
    ft = wasmslot_module_functype(m, m->start);
    if (ft->nparams != 0 || ft->nresults != 0)
        return invalid(err, "start function must have type [] -> []");
    return 0;
}

static int check_elems(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    int rc;

    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasmslot_elem *e = &m->elems[i];

        if (e->mode == WASMSLOT_SEG_ACTIVE) {
            if (e->table >= m->ntables_total)
                return wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown table %u", e->table);
            if ((rc = check_constexpr(m, &e->offset, WASMSLOT_I32, err)) < 0)
                return rc;
            if (m->tables[e->table].elem != e->type)
                return invalid(err, "type mismatch: element segment does not match its table");
        }
        for (uint32_t k = 0; k < e->count; k++)
            if ((rc = check_constexpr(m, &e->items[k], e->type, err)) < 0)
                return rc;
    }
    return 0;
}

static int check_datas(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    int rc;

    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasmslot_data *s = &m->datas[i];

        if (s->mode != WASMSLOT_SEG_ACTIVE)
            continue;
        if (s->memory >= m->nmemories_total)
            return wasmslot_error_set(err, WASMSLOT_EINVALID, "unknown memory %u", s->memory);
        if ((rc = check_constexpr(m, &s->offset, WASMSLOT_I32, err)) < 0)
            return rc;
    }
    return 0;
}

int wasmslot_validate_module(const struct wasmslot_module *m, struct wasmslot_error *err)
{
    int rc;

    /* Imports come first: the function index space is only usable once their type indices
     * are known to be in range. */
    if ((rc = check_imports(m, err)) < 0 || (rc = check_definitions(m, err)) < 0 ||
        (rc = check_elems(m, err)) < 0 || (rc = check_datas(m, err)) < 0 ||
        (rc = check_start(m, err)) < 0 || (rc = check_exports(m, err)) < 0)
        return rc;
    return 0;
}
