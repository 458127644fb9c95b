/* runtime/objects.c: the small run-time objects an instance links against: tables, globals, host
 * functions, and what a host function can learn about its caller. */
#include "config.h"

#include "runtime/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- values */

wasmslot_cell wasmslot_value__to_cell(const struct wasmslot_value *v)
{
    switch (v->type) {
    case WASMSLOT_I32:
        return v->of.i32;
    case WASMSLOT_I64:
        return v->of.i64;
    case WASMSLOT_F32:
        return v->of.f32;
    case WASMSLOT_F64:
        return v->of.f64;
    case WASMSLOT_FUNCREF:
        return (wasmslot_cell)(uintptr_t)v->of.funcref;
    case WASMSLOT_EXTERNREF:
        return (wasmslot_cell)(uintptr_t)v->of.externref;
    case WASMSLOT_V128:
        break;
    }
    return 0;
}

void wasmslot_value__from_cell(struct wasmslot_value *out, enum wasmslot_valtype type,
                               wasmslot_cell c)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    switch (type) {
    case WASMSLOT_I32:
        out->of.i32 = (uint32_t)c;
        break;
    case WASMSLOT_I64:
        out->of.i64 = c;
        break;
    case WASMSLOT_F32:
        out->of.f32 = (uint32_t)c;
        break;
    case WASMSLOT_F64:
        out->of.f64 = c;
        break;
    case WASMSLOT_FUNCREF:
        out->of.funcref = (struct wasmslot_func *)(uintptr_t)c;
        break;
    case WASMSLOT_EXTERNREF:
        out->of.externref = (void *)(uintptr_t)c;
        break;
    case WASMSLOT_V128:
        break;
    }
}

static bool is_value_type(enum wasmslot_valtype t)
{
    switch (t) {
    case WASMSLOT_I32:
    case WASMSLOT_I64:
    case WASMSLOT_F32:
    case WASMSLOT_F64:
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        return true;
    case WASMSLOT_V128:
        return false;
    }
    return false;
}

/* ---------------------------------------------------------------- tables */

struct wasmslot_table *wasmslot_table_new(enum wasmslot_valtype elem, uint32_t min, uint32_t max,
                                          bool has_max, struct wasmslot_error *err)
{
    struct wasmslot_table *t = NULL;

    if (elem != WASMSLOT_FUNCREF && elem != WASMSLOT_EXTERNREF) {
        wasmslot_error_set(err, EINVAL, "table element type must be a reference type");
        goto fail;
    }
    if (has_max && min > max) {
        wasmslot_error_set(err, EINVAL, "table minimum %u is larger than its maximum %u", min, max);
        goto fail;
    }
    if (min > WASMSLOT_TABLE_MAX_ENTRIES) {
        wasmslot_error_set(err, WASMSLOT_ELIMIT, "table of %u entries is over the limit of %u", min,
                           (unsigned)WASMSLOT_TABLE_MAX_ENTRIES);
        goto fail;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto nomem;
    /* At least one entry so that a 0-entry table still has an array to realloc. */
    t->elems = calloc(min > 0 ? min : 1, sizeof(*t->elems));
    if (t->elems == NULL)
        goto nomem;
    atomic_init(&t->refs, 1);
    t->elem = elem;
    t->size = min;
    t->has_max = has_max;
    t->max = has_max ? max : UINT32_MAX;
    return t;

nomem:
    wasmslot_error_set(err, ENOMEM, "out of memory");
fail:
    if (t != NULL)
        free(t->elems);
    free(t);
    return NULL;
}

struct wasmslot_table *wasmslot_table_ref(struct wasmslot_table *t)
{
    if (t != NULL)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void wasmslot_table_unref(struct wasmslot_table *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    wasmslot_instance__free_orphans(t->orphans);
    free(t->elems);
    free(t);
}

uint32_t wasmslot_table_size(const struct wasmslot_table *t)
{
    return t->size;
}

int wasmslot_table__grow(struct wasmslot_table *t, uint32_t delta, void *init, uint32_t *old_size)
{
    uint64_t new_size = (uint64_t)t->size + delta;
    void **elems;

    /* table.grow reports -1 for all of these; it never traps. */
    if (new_size > t->max || new_size > UINT32_MAX || new_size > WASMSLOT_TABLE_MAX_ENTRIES)
        return -WASMSLOT_ELIMIT;
    if (delta > 0) {
        elems = realloc(t->elems, (size_t)new_size * sizeof(*elems));
        if (elems == NULL)
            return -ENOMEM;
        for (uint64_t i = t->size; i < new_size; i++)
            elems[i] = init;
        t->elems = elems;
    }
    if (old_size != NULL)
        *old_size = t->size;
    t->size = (uint32_t)new_size;
    return 0;
}

/* ---------------------------------------------------------------- globals */

struct wasmslot_global *wasmslot_global_new(const struct wasmslot_value *init, bool mutable_,
                                            struct wasmslot_error *err)
{
    struct wasmslot_global *g;

    if (!is_value_type(init->type)) {
        wasmslot_error_set(err, EINVAL, "global of an unsupported value type");
        return NULL;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        wasmslot_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&g->refs, 1);
    g->type = init->type;
    g->mutable_ = mutable_;
    g->value = wasmslot_value__to_cell(init);
    return g;
}

struct wasmslot_global *wasmslot_global_ref(struct wasmslot_global *g)
{
    if (g != NULL)
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void wasmslot_global_unref(struct wasmslot_global *g)
{
    if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    wasmslot_instance__free_orphans(g->orphans);
    free(g);
}

void wasmslot_global_get(const struct wasmslot_global *g, struct wasmslot_value *out)
{
    wasmslot_value__from_cell(out, g->type, g->value);
}

/* ---------------------------------------------------------------- host functions */

struct wasmslot_func *wasmslot_func_new_host(const struct wasmslot_functype *type,
                                             wasmslot_host_fn fn, void *env,
                                             void (*env_free)(void *), struct wasmslot_error *err)
{
    struct wasmslot_func *f = NULL;
    enum wasmslot_valtype *types = NULL;
    size_t n = (size_t)type->nparams + type->nresults;

    if (fn == NULL) {
        wasmslot_error_set(err, EINVAL, "host function without a callback");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        enum wasmslot_valtype t =
            i < type->nparams ? type->params[i] : type->results[i - type->nparams];
        if (!is_value_type(t)) {
            wasmslot_error_set(err, EINVAL, "host function type holds an unsupported value type");
            goto fail;
        }
    }
    f = calloc(1, sizeof(*f));
    /* One array holds params then results, as the decoder stores module types. */
    types = calloc(n > 0 ? n : 1, sizeof(*types));
    if (f == NULL || types == NULL) {
        wasmslot_error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    if (type->nparams > 0)
        memcpy(types, type->params, type->nparams * sizeof(*types));
    if (type->nresults > 0)
        memcpy(types + type->nparams, type->results, type->nresults * sizeof(*types));
    f->owned_type.nparams = type->nparams;
    f->owned_type.nresults = type->nresults;
    f->owned_type.params = types;
    f->owned_type.results = types + type->nparams;
    f->type = &f->owned_type;
    f->host = fn;
    f->env = env;
    f->env_free = env_free;
    return f;

fail:
    free(types);
    free(f);
    return NULL;
}

void wasmslot_func_free_host(struct wasmslot_func *f)
{
    /* Functions of instances belong to their instance; only host functions are freed here. */
    if (f == NULL || f->host == NULL)
        return;
    if (f->env_free != NULL)
        f->env_free(f->env);
    free((void *)f->owned_type.params);
    free(f);
}

const struct wasmslot_functype *wasmslot_func_type(const struct wasmslot_func *f)
{
    return f->type;
}

bool wasmslot_functype_equal(const struct wasmslot_functype *a, const struct wasmslot_functype *b)
{
    if (a == b)
        return true;
    if (a->nparams != b->nparams || a->nresults != b->nresults)
        return false;
    for (uint32_t i = 0; i < a->nparams; i++)
        if (a->params[i] != b->params[i])
            return false;
    for (uint32_t i = 0; i < a->nresults; i++)
        if (a->results[i] != b->results[i])
            return false;
    return true;
}

/* ---------------------------------------------------------------- call contexts */

struct wasmslot_instance *wasmslot_call_ctx_instance(struct wasmslot_call_ctx *ctx)
{
    return ctx->inst;
}

struct wasmslot_memory *wasmslot_call_ctx_memory(struct wasmslot_call_ctx *ctx)
{
    return ctx->inst != NULL ? ctx->inst->memory : NULL;
}

struct wasmslot_exec *wasmslot_call_ctx_exec(struct wasmslot_call_ctx *ctx)
{
    return ctx->exec;
}
