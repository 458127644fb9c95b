/* wasm_objects.c: the small run-time objects an instance links against: tables, globals, host
 * functions, and what a host function can learn about its caller. */
#include "config.h"

#include "wasm_objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- values */

wasm_cell wasm_value__to_cell(const struct wasm_value *v)
{
    switch (v->type) {
    case WASM_I32:
        return v->of.i32;
    case WASM_I64:
        return v->of.i64;
    case WASM_F32:
        return v->of.f32;
    case WASM_F64:
        return v->of.f64;
    case WASM_FUNCREF:
        return (wasm_cell)(uintptr_t)v->of.funcref;
    case WASM_EXTERNREF:
        return (wasm_cell)(uintptr_t)v->of.externref;
    case WASM_V128:
        break;
    }
    return 0;
}

void wasm_value__from_cell(struct wasm_value *out, enum wasm_valtype type, wasm_cell c)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    switch (type) {
    case WASM_I32:
        out->of.i32 = (uint32_t)c;
        break;
    case WASM_I64:
        out->of.i64 = c;
        break;
    case WASM_F32:
        out->of.f32 = (uint32_t)c;
        break;
    case WASM_F64:
        out->of.f64 = c;
        break;
    case WASM_FUNCREF:
        out->of.funcref = (struct wasm_func *)(uintptr_t)c;
        break;
    case WASM_EXTERNREF:
        out->of.externref = (void *)(uintptr_t)c;
        break;
    case WASM_V128:
        break;
    }
}

static bool is_value_type(enum wasm_valtype t)
{
    switch (t) {
    case WASM_I32:
    case WASM_I64:
    case WASM_F32:
    case WASM_F64:
    case WASM_FUNCREF:
    case WASM_EXTERNREF:
        return true;
    case WASM_V128:
        return false;
    }
    return false;
}

/* ---------------------------------------------------------------- tables */

struct wasm_table *wasm_table_new(enum wasm_valtype elem, uint32_t min, uint32_t max, bool has_max,
                                  struct wasm_error *err)
{
    struct wasm_table *t = NULL;

    if (elem != WASM_FUNCREF && elem != WASM_EXTERNREF) {
        wasm_error_set(err, EINVAL, "table element type must be a reference type");
        goto fail;
    }
    if (has_max && min > max) {
        wasm_error_set(err, EINVAL, "table minimum %u is larger than its maximum %u", min, max);
        goto fail;
    }
    if (min > WASM_TABLE_MAX_ENTRIES) {
        wasm_error_set(err, WASM_ELIMIT, "table of %u entries is over the limit of %u", min,
                       (unsigned)WASM_TABLE_MAX_ENTRIES);
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
    wasm_error_set(err, ENOMEM, "out of memory");
fail:
    if (t != NULL)
        free(t->elems);
    free(t);
    return NULL;
}

struct wasm_table *wasm_table_ref(struct wasm_table *t)
{
    if (t != NULL)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void wasm_table_unref(struct wasm_table *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    wasm_instance__free_orphans(t->orphans);
    free(t->elems);
    free(t);
}

uint32_t wasm_table_size(const struct wasm_table *t)
{
    return t->size;
}

int wasm_table__grow(struct wasm_table *t, uint32_t delta, void *init, uint32_t *old_size)
{
    uint64_t new_size = (uint64_t)t->size + delta;
    void **elems;

    /* table.grow reports -1 for all of these; it never traps. */
    if (new_size > t->max || new_size > UINT32_MAX || new_size > WASM_TABLE_MAX_ENTRIES)
        return -WASM_ELIMIT;
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

struct wasm_global *wasm_global_new(const struct wasm_value *init, bool mutable_,
                                    struct wasm_error *err)
{
    struct wasm_global *g;

    if (!is_value_type(init->type)) {
        wasm_error_set(err, EINVAL, "global of an unsupported value type");
        return NULL;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        wasm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&g->refs, 1);
    g->type = init->type;
    g->mutable_ = mutable_;
    g->value = wasm_value__to_cell(init);
    return g;
}

struct wasm_global *wasm_global_ref(struct wasm_global *g)
{
    if (g != NULL)
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void wasm_global_unref(struct wasm_global *g)
{
    if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    wasm_instance__free_orphans(g->orphans);
    free(g);
}

void wasm_global_get(const struct wasm_global *g, struct wasm_value *out)
{
    wasm_value__from_cell(out, g->type, g->value);
}

/* ---------------------------------------------------------------- host functions */

struct wasm_func *wasm_func_new_host(const struct wasm_functype *type, wasm_host_fn fn, void *env,
                                     void (*env_free)(void *), struct wasm_error *err)
{
    struct wasm_func *f = NULL;
    enum wasm_valtype *types = NULL;
    size_t n = (size_t)type->nparams + type->nresults;

    if (fn == NULL) {
        wasm_error_set(err, EINVAL, "host function without a callback");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        enum wasm_valtype t =
            i < type->nparams ? type->params[i] : type->results[i - type->nparams];
        if (!is_value_type(t)) {
            wasm_error_set(err, EINVAL, "host function type holds an unsupported value type");
            goto fail;
        }
    }
    f = calloc(1, sizeof(*f));
    /* One array holds params then results, as the decoder stores module types. */
    types = calloc(n > 0 ? n : 1, sizeof(*types));
    if (f == NULL || types == NULL) {
        wasm_error_set(err, ENOMEM, "out of memory");
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

void wasm_func_free_host(struct wasm_func *f)
{
    /* Functions of instances belong to their instance; only host functions are freed here. */
    if (f == NULL || f->host == NULL)
        return;
    if (f->env_free != NULL)
        f->env_free(f->env);
    free((void *)f->owned_type.params);
    free(f);
}

const struct wasm_functype *wasm_func_type(const struct wasm_func *f)
{
    return f->type;
}

bool wasm_functype_equal(const struct wasm_functype *a, const struct wasm_functype *b)
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

struct wasm_instance *wasm_call_ctx_instance(struct wasm_call_ctx *ctx)
{
    return ctx->inst;
}

struct wasm_memory *wasm_call_ctx_memory(struct wasm_call_ctx *ctx)
{
    return ctx->inst != NULL ? ctx->inst->memory : NULL;
}

struct wasm_exec *wasm_call_ctx_exec(struct wasm_call_ctx *ctx)
{
    return ctx->exec;
}
