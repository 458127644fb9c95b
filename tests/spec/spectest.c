/* spectest.c: the "spectest" host module that spec scripts import from: print functions,
 * constant globals, a funcref table and two memories (one shared). */
#include "config.h"

#include "spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One print function: its name and parameter types. */
struct print_def {
    const char *name;
    uint32_t nparams;
    enum wasmslot_valtype params[2];
};

static const struct print_def print_defs[] = {
    {"print", 0, {0, 0}},
    {"print_i32", 1, {WASMSLOT_I32, 0}},
    {"print_i64", 1, {WASMSLOT_I64, 0}},
    {"print_f32", 1, {WASMSLOT_F32, 0}},
    {"print_f64", 1, {WASMSLOT_F64, 0}},
    {"print_i32_f32", 2, {WASMSLOT_I32, WASMSLOT_F32}},
    {"print_f64_f64", 2, {WASMSLOT_F64, WASMSLOT_F64}},
};

#define NPRINTS (sizeof(print_defs) / sizeof(print_defs[0]))

/* The env of a print function: what it needs to report its call. */
struct print_env {
    const struct print_def *def;
    const struct spec_report *report;
};

enum { G_I32, G_I64, G_F32, G_F64, NGLOBALS };

static const char *const global_names[NGLOBALS] = {"global_i32", "global_i64", "global_f32",
                                                   "global_f64"};

struct spectest {
    struct wasmslot_func *prints[NPRINTS];
    struct print_env envs[NPRINTS];
    struct wasmslot_global *globals[NGLOBALS];
    struct wasmslot_table *table;
    struct wasmslot_memory *memory;
    struct wasmslot_memory *shared_memory;
};

/* Print functions do nothing unless -v asked to see their arguments. */
static int print_fn(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                    struct wasmslot_value *results)
{
    const struct print_env *pe = env;
    char text[160];
    size_t used = 0;

    (void)ctx;
    (void)results;
    if (pe->report == NULL || !pe->report->verbose)
        return 0;
    for (uint32_t i = 0; i < pe->def->nparams && used < sizeof(text); i++) {
        spec_value_format(pe->def->params[i], &args[i], text + used, sizeof(text) - used);
        used += strlen(text + used);
        if (i + 1 < pe->def->nparams && used + 2 < sizeof(text)) {
            memcpy(text + used, ", ", 3);
            used += 2;
        }
    }
    text[used < sizeof(text) ? used : sizeof(text) - 1] = '\0';
    spec_report_send(pe->report, 'V', "spectest.%s(%s)", pe->def->name, text);
    return 0;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    return u;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

struct spectest *spectest_new(const struct spec_report *report, struct wasmslot_error *err)
{
    struct spectest *st = calloc(1, sizeof(*st));
    struct wasmslot_value v;

    if (st == NULL) {
        if (err != NULL) {
            err->code = -ENOMEM;
            snprintf(err->message, sizeof(err->message), "out of memory");
        }
        return NULL;
    }
    for (size_t i = 0; i < NPRINTS; i++) {
        struct wasmslot_functype ft = {.nparams = print_defs[i].nparams,
                                       .nresults = 0,
                                       .params = print_defs[i].params,
                                       .results = NULL};

        st->envs[i].def = &print_defs[i];
        st->envs[i].report = report;
        st->prints[i] = wasmslot_func_new_host(&ft, print_fn, &st->envs[i], NULL, err);
        if (st->prints[i] == NULL)
            goto fail;
    }

    memset(&v, 0, sizeof(v));
    v.type = WASMSLOT_I32;
    v.of.i32 = 666;
    if ((st->globals[G_I32] = wasmslot_global_new(&v, false, err)) == NULL)
        goto fail;
    memset(&v, 0, sizeof(v));
    v.type = WASMSLOT_I64;
    v.of.i64 = 666;
    if ((st->globals[G_I64] = wasmslot_global_new(&v, false, err)) == NULL)
        goto fail;
    memset(&v, 0, sizeof(v));
    v.type = WASMSLOT_F32;
    v.of.f32 = f32_bits(666.6f);
    if ((st->globals[G_F32] = wasmslot_global_new(&v, false, err)) == NULL)
        goto fail;
    memset(&v, 0, sizeof(v));
    v.type = WASMSLOT_F64;
    v.of.f64 = f64_bits(666.6);
    if ((st->globals[G_F64] = wasmslot_global_new(&v, false, err)) == NULL)
        goto fail;

    if ((st->table = wasmslot_table_new(WASMSLOT_FUNCREF, 10, 20, true, err)) == NULL)
        goto fail;
    if ((st->memory = wasmslot_memory_new(1, 2, false, err)) == NULL)
        goto fail;
    if ((st->shared_memory = wasmslot_memory_new(1, 2, true, err)) == NULL)
        goto fail;
    return st;

fail:
    spectest_free(st);
    return NULL;
}

void spectest_free(struct spectest *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < NPRINTS; i++)
        wasmslot_func_free_host(st->prints[i]);
    for (size_t i = 0; i < NGLOBALS; i++)
        wasmslot_global_unref(st->globals[i]);
    wasmslot_table_unref(st->table);
    wasmslot_memory_unref(st->memory);
    wasmslot_memory_unref(st->shared_memory);
    free(st);
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

int spectest_lookup(const struct spectest *st, const char *name, size_t name_len,
                    struct wasmslot_extern *out)
{
    for (size_t i = 0; i < NPRINTS; i++) {
        if (name_is(name, name_len, print_defs[i].name)) {
            out->kind = WASMSLOT_EXTERN_FUNC;
            out->of.func = st->prints[i];
            return 0;
        }
    }
    for (size_t i = 0; i < NGLOBALS; i++) {
        if (name_is(name, name_len, global_names[i])) {
            out->kind = WASMSLOT_EXTERN_GLOBAL;
            out->of.global = st->globals[i];
            return 0;
        }
    }
    if (name_is(name, name_len, "table")) {
        out->kind = WASMSLOT_EXTERN_TABLE;
        out->of.table = st->table;
        return 0;
    }
    if (name_is(name, name_len, "memory")) {
        out->kind = WASMSLOT_EXTERN_MEMORY;
        out->of.memory = st->memory;
        return 0;
    }
    if (name_is(name, name_len, "shared_memory")) {
        out->kind = WASMSLOT_EXTERN_MEMORY;
        out->of.memory = st->shared_memory;
        return 0;
    }
    return -WASMSLOT_ENOTFOUND;
}
