/* check_instance.c: unit tests of the runtime: tables, globals, host functions, linking,
 * instantiation (segments, start function, exports) and calls through instances. */
#include "config.h"

#include "runtime/objects.h"
#include "wasm_fixture.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WAT_DIR
#define WAT_DIR "tests/wat"
#endif

/* ---------------------------------------------------------------- helpers */

static struct wasmslot_extern get_export(const struct wasmslot_instance *inst, const char *name,
                                         enum wasmslot_externkind kind)
{
    struct wasmslot_extern ext;

    ck_assert_int_eq(wasmslot_instance_export(inst, name, strlen(name), &ext), 0);
    ck_assert_int_eq(ext.kind, kind);
    return ext;
}

static struct wasmslot_value i32v(uint32_t v)
{
    struct wasmslot_value x;

    memset(&x, 0, sizeof(x));
    x.type = WASMSLOT_I32;
    x.of.i32 = v;
    return x;
}

static struct wasmslot_exec *new_exec(void)
{
    struct wasmslot_exec_options eo;

    memset(&eo, 0, sizeof(eo));
    return wasmslot_exec_new(&eo, NULL);
}

/* Calls f(args) -> i32 on a fresh exec; returns wasmslot_call's code and stores the result. */
static int call_i32(struct wasmslot_func *f, const struct wasmslot_value *args, uint32_t nargs,
                    uint32_t *result)
{
    struct wasmslot_exec *ex = new_exec();
    struct wasmslot_value res;
    int rc;

    ck_assert_ptr_nonnull(ex);
    memset(&res, 0, sizeof(res));
    rc = wasmslot_call(ex, f, args, nargs, &res, 1);
    if (rc == 0) {
        ck_assert_int_eq(res.type, WASMSLOT_I32);
        *result = res.of.i32;
    }
    wasmslot_exec_free(ex);
    return rc;
}

static const enum wasmslot_valtype t_i32[] = {WASMSLOT_I32, WASMSLOT_I32};
static const enum wasmslot_valtype t_i64[] = {WASMSLOT_I64};

/* ---------------------------------------------------------------- tables */

START_TEST(test_table_new_and_grow)
{
    struct wasmslot_error err;
    struct wasmslot_table *t = wasmslot_table_new(WASMSLOT_FUNCREF, 2, 5, true, &err);
    int marker;
    uint32_t old = 99;

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(wasmslot_table_size(t), 2);
    ck_assert_ptr_null(t->elems[0]);
    ck_assert_ptr_null(t->elems[1]);
    ck_assert_int_eq(wasmslot_table__grow(t, 3, &marker, &old), 0);
    ck_assert_uint_eq(old, 2);
    ck_assert_uint_eq(wasmslot_table_size(t), 5);
    ck_assert_ptr_null(t->elems[1]);
    for (int i = 2; i < 5; i++)
        ck_assert_ptr_eq(t->elems[i], &marker);
    /* Past the maximum: an error, never a change. */
    ck_assert_int_eq(wasmslot_table__grow(t, 1, NULL, &old), -WASMSLOT_ELIMIT);
    ck_assert_int_eq(wasmslot_table__grow(t, UINT32_MAX, NULL, &old), -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(wasmslot_table_size(t), 5);
    ck_assert_int_eq(wasmslot_table__grow(t, 0, NULL, &old), 0);
    ck_assert_uint_eq(old, 5);
    ck_assert_ptr_eq(wasmslot_table_ref(t), t);
    wasmslot_table_unref(t);
    ck_assert_uint_eq(wasmslot_table_size(t), 5);
    wasmslot_table_unref(t);
    wasmslot_table_unref(NULL);
}
END_TEST

START_TEST(test_table_without_max)
{
    struct wasmslot_table *t = wasmslot_table_new(WASMSLOT_EXTERNREF, 0, 0, false, NULL);
    uint32_t old = 99;

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(wasmslot_table_size(t), 0);
    ck_assert_int_eq(wasmslot_table__grow(t, 16, NULL, &old), 0);
    ck_assert_uint_eq(old, 0);
    /* 2^32 - 1 entries would be 32 GiB of pointers: refused by the implementation limit, and
     * anything past 2^32 - 1 by the spec. */
    ck_assert_int_eq(wasmslot_table__grow(t, UINT32_MAX - 16, NULL, &old), -WASMSLOT_ELIMIT);
    ck_assert_int_eq(wasmslot_table__grow(t, UINT32_MAX, NULL, &old), -WASMSLOT_ELIMIT);
    ck_assert_int_eq(wasmslot_table__grow(t, WASMSLOT_TABLE_MAX_ENTRIES, NULL, &old),
                     -WASMSLOT_ELIMIT);
    ck_assert_uint_eq(wasmslot_table_size(t), 16);
    wasmslot_table_unref(t);
}
END_TEST

START_TEST(test_table_bad_arguments)
{
    struct wasmslot_error err;

    ck_assert_ptr_null(wasmslot_table_new(WASMSLOT_I32, 1, 1, true, &err));
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_ptr_null(wasmslot_table_new(WASMSLOT_FUNCREF, 3, 2, true, &err));
    ck_assert_int_eq(err.code, -EINVAL);
    ck_assert_ptr_null(wasmslot_table_new(WASMSLOT_FUNCREF, UINT32_MAX, 0, false, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_ELIMIT);
}
END_TEST

/* ---------------------------------------------------------------- globals */

START_TEST(test_globals_keep_values_bit_exact)
{
    struct wasmslot_value v, out;
    struct wasmslot_global *g;
    int marker;

    memset(&v, 0, sizeof(v));
    v.type = WASMSLOT_F32;
    v.of.f32 = 0x7fa00001; /* a signalling NaN with a payload */
    g = wasmslot_global_new(&v, false, NULL);
    ck_assert_ptr_nonnull(g);
    wasmslot_global_get(g, &out);
    ck_assert_int_eq(out.type, WASMSLOT_F32);
    ck_assert_uint_eq(out.of.f32, 0x7fa00001);
    ck_assert(!g->mutable_);
    wasmslot_global_unref(g);

    v.type = WASMSLOT_I64;
    v.of.i64 = 0x8000000000000001ull;
    g = wasmslot_global_new(&v, true, NULL);
    ck_assert(g->mutable_);
    wasmslot_global_get(g, &out);
    ck_assert_uint_eq(out.of.i64, 0x8000000000000001ull);
    ck_assert_ptr_eq(wasmslot_global_ref(g), g);
    wasmslot_global_unref(g);
    wasmslot_global_unref(g);

    v.type = WASMSLOT_EXTERNREF;
    v.of.externref = &marker;
    g = wasmslot_global_new(&v, true, NULL);
    wasmslot_global_get(g, &out);
    ck_assert_int_eq(out.type, WASMSLOT_EXTERNREF);
    ck_assert_ptr_eq(out.of.externref, &marker);
    wasmslot_global_unref(g);

    v.type = WASMSLOT_I32;
    v.of.i64 = 0;
    v.of.i32 = 0xffffffff;
    g = wasmslot_global_new(&v, false, NULL);
    wasmslot_global_get(g, &out);
    ck_assert_uint_eq(out.of.i32, 0xffffffff);
    wasmslot_global_unref(g);

    v.type = WASMSLOT_V128;
    ck_assert_ptr_null(wasmslot_global_new(&v, false, NULL));
}
END_TEST

/* ---------------------------------------------------------------- host functions */

static int env_frees;

static void count_free(void *env)
{
    ck_assert_ptr_eq(env, &env_frees);
    env_frees++;
}

static int double_it(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                     struct wasmslot_value *results)
{
    (void)ctx;
    (void)env;
    results[0] = i32v(args[0].of.i32 * 2);
    return 0;
}

START_TEST(test_host_function_copies_its_type)
{
    enum wasmslot_valtype params[2] = {WASMSLOT_I32, WASMSLOT_F64};
    enum wasmslot_valtype results[1] = {WASMSLOT_I64};
    struct wasmslot_functype ft = {2, 1, params, results};
    struct wasmslot_func *f = wasmslot_func_new_host(&ft, double_it, &env_frees, count_free, NULL);
    const struct wasmslot_functype *got;

    ck_assert_ptr_nonnull(f);
    params[1] = WASMSLOT_I32;
    results[0] = WASMSLOT_F32;
    got = wasmslot_func_type(f);
    ck_assert_uint_eq(got->nparams, 2);
    ck_assert_uint_eq(got->nresults, 1);
    ck_assert_int_eq(got->params[0], WASMSLOT_I32);
    ck_assert_int_eq(got->params[1], WASMSLOT_F64);
    ck_assert_int_eq(got->results[0], WASMSLOT_I64);
    ck_assert_ptr_null(f->inst);

    env_frees = 0;
    wasmslot_func_free_host(f);
    ck_assert_int_eq(env_frees, 1);
    wasmslot_func_free_host(NULL);

    /* No params, no results, no env_free. */
    ft.nparams = 0;
    ft.nresults = 0;
    ft.params = NULL;
    ft.results = NULL;
    f = wasmslot_func_new_host(&ft, double_it, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(wasmslot_func_type(f)->nparams, 0);
    wasmslot_func_free_host(f);

    ck_assert_ptr_null(wasmslot_func_new_host(&ft, NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(test_functype_equality_is_structural)
{
    enum wasmslot_valtype a[] = {WASMSLOT_I32, WASMSLOT_I64}, b[] = {WASMSLOT_I32, WASMSLOT_I64};
    struct wasmslot_functype x = {1, 1, a, a + 1}, y = {1, 1, b, b + 1}, z = {2, 0, a, NULL};

    ck_assert(wasmslot_functype_equal(&x, &y));
    ck_assert(!wasmslot_functype_equal(&x, &z));
    b[1] = WASMSLOT_F64;
    ck_assert(!wasmslot_functype_equal(&x, &y));
}
END_TEST

/* ---------------------------------------------------------------- instances */

START_TEST(test_exports_of_every_kind)
{
    struct wasmslot_module *m = fixture_module("inst_exports");
    struct wasmslot_error err;
    struct wasmslot_instance *inst = wasmslot_instance_new(m, NULL, &err);
    struct wasmslot_extern add, e;
    struct wasmslot_value v, args[2];
    uint32_t r;

    ck_assert_msg(inst != NULL, "%s", err.message);
    ck_assert_ptr_eq(wasmslot_instance_module(inst), m);

    add = get_export(inst, "add", WASMSLOT_EXTERN_FUNC);
    ck_assert_uint_eq(wasmslot_func_type(add.of.func)->nparams, 2);
    ck_assert_uint_eq(wasmslot_func_type(add.of.func)->nresults, 1);
    ck_assert_ptr_eq(add.of.func->inst, inst);

    e = get_export(inst, "tab", WASMSLOT_EXTERN_TABLE);
    ck_assert_uint_eq(wasmslot_table_size(e.of.table), 2);
    ck_assert_uint_eq(e.of.table->max, 5);
    ck_assert_int_eq(e.of.table->elem, WASMSLOT_FUNCREF);

    e = get_export(inst, "mem", WASMSLOT_EXTERN_MEMORY);
    ck_assert_ptr_eq(e.of.memory, wasmslot_instance_memory(inst));
    ck_assert_uint_eq(wasmslot_memory_size(e.of.memory), WASMSLOT_PAGE_SIZE);
    ck_assert_uint_eq(wasmslot_memory_max_pages(e.of.memory), 3);
    ck_assert(e.of.memory->has_max);

    e = get_export(inst, "g", WASMSLOT_EXTERN_GLOBAL);
    wasmslot_global_get(e.of.global, &v);
    ck_assert_int_eq(v.type, WASMSLOT_I32);
    ck_assert_uint_eq(v.of.i32, 42);
    ck_assert(e.of.global->mutable_);

    e = get_export(inst, "gf", WASMSLOT_EXTERN_GLOBAL);
    wasmslot_global_get(e.of.global, &v);
    ck_assert_int_eq(v.type, WASMSLOT_F64);
    ck_assert_uint_eq(v.of.f64, 0x3ff8000000000000ull);
    ck_assert(!e.of.global->mutable_);

    e = get_export(inst, "fr", WASMSLOT_EXTERN_GLOBAL);
    wasmslot_global_get(e.of.global, &v);
    ck_assert_int_eq(v.type, WASMSLOT_FUNCREF);
    ck_assert_ptr_eq(v.of.funcref, add.of.func);

    /* Several names for one function give the same object; names are compared with their
     * length, so one holding a NUL byte is found and its prefix is not. */
    e = get_export(inst, "add again", WASMSLOT_EXTERN_FUNC);
    ck_assert_ptr_eq(e.of.func, add.of.func);
    ck_assert_int_eq(wasmslot_instance_export(inst, "a\0b", 3, &e), 0);
    ck_assert_ptr_eq(e.of.func, add.of.func);
    ck_assert_int_eq(wasmslot_instance_export(inst, "a\0b", 1, &e), -WASMSLOT_ENOTFOUND);
    ck_assert_int_eq(wasmslot_instance_export(inst, "ad", 2, &e), -WASMSLOT_ENOTFOUND);
    ck_assert_int_eq(wasmslot_instance_export(inst, "nope", 4, &e), -WASMSLOT_ENOTFOUND);

    args[0] = i32v(2);
    args[1] = i32v(40);
    ck_assert_int_eq(call_i32(add.of.func, args, 2, &r), 0);
    ck_assert_uint_eq(r, 42);

    wasmslot_instance_free(inst);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_exported_objects_outlive_their_instance)
{
    struct wasmslot_module *m = fixture_module("inst_exports");
    struct wasmslot_instance *inst = wasmslot_instance_new(m, NULL, NULL);
    struct wasmslot_table *t;
    struct wasmslot_global *g;
    struct wasmslot_memory *mem;
    struct wasmslot_value v;

    ck_assert_ptr_nonnull(inst);
    t = wasmslot_table_ref(get_export(inst, "tab", WASMSLOT_EXTERN_TABLE).of.table);
    g = wasmslot_global_ref(get_export(inst, "g", WASMSLOT_EXTERN_GLOBAL).of.global);
    mem = wasmslot_memory_ref(get_export(inst, "mem", WASMSLOT_EXTERN_MEMORY).of.memory);
    wasmslot_instance_free(inst);
    wasmslot_module_free(m);

    ck_assert_uint_eq(wasmslot_table_size(t), 2);
    wasmslot_global_get(g, &v);
    ck_assert_uint_eq(v.of.i32, 42);
    wasmslot_memory_base(mem)[0] = 1;
    ck_assert_int_eq(atomic_load(&mem->refs), 1);
    wasmslot_table_unref(t);
    wasmslot_global_unref(g);
    wasmslot_memory_unref(mem);
}
END_TEST

START_TEST(test_start_function_runs)
{
    struct wasmslot_module *m = fixture_module("inst_start");
    struct wasmslot_error err;
    struct wasmslot_instance *inst = wasmslot_instance_new(m, NULL, &err);
    struct wasmslot_value v;
    uint32_t word;

    ck_assert_msg(inst != NULL, "%s", err.message);
    wasmslot_global_get(get_export(inst, "g", WASMSLOT_EXTERN_GLOBAL).of.global, &v);
    ck_assert_uint_eq(v.of.i32, 7);
    memcpy(&word, wasmslot_memory_base(wasmslot_instance_memory(inst)) + 8, 4);
    ck_assert_uint_eq(word, 0x11223344);
    wasmslot_instance_free(inst);

    /* With the caller's exec as well. */
    {
        struct wasmslot_exec *ex = new_exec();
        struct wasmslot_instance_options opt;

        memset(&opt, 0, sizeof(opt));
        opt.exec = ex;
        inst = wasmslot_instance_new(m, &opt, &err);
        ck_assert_msg(inst != NULL, "%s", err.message);
        wasmslot_instance_free(inst);
        wasmslot_exec_free(ex);
    }
    wasmslot_module_free(m);
}
END_TEST

/* (module (table (export "t") 2 funcref)
 *   (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow 0)) */
static const uint8_t table_grow_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f,
    0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x04, 0x04, 0x01, 0x70, 0x00, 0x02, 0x07, 0x0c,
    0x02, 0x01, 0x74, 0x01, 0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00, 0x0a, 0x0b,
    0x01, 0x09, 0x00, 0xd0, 0x70, 0x20, 0x00, 0xfc, 0x0f, 0x00, 0x0b};

START_TEST(test_max_table_elements)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_module *m = wasmslot_module_new(table_grow_wasm, sizeof(table_grow_wasm), &err);
    struct wasmslot_instance_options opt;
    struct wasmslot_instance *inst;
    struct wasmslot_func *grow;
    struct wasmslot_value a;
    uint32_t r = 0;

    ck_assert_msg(m != NULL, "%s", err.message);
    memset(&opt, 0, sizeof(opt));

    /* A cap below the initial size of 2 fails instantiation, with a message. */
    opt.max_table_elements = 1;
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_ptr_null(inst);
    ck_assert_int_eq(err.code, -WASMSLOT_ELIMIT);
    ck_assert_msg(strstr(err.message, "limit of 1") != NULL, "%s", err.message);

    /* A cap of 10: growing to exactly 10 works, one more returns -1 and the size stays. */
    opt.max_table_elements = 10;
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_msg(inst != NULL, "%s", err.message);
    grow = get_export(inst, "grow", WASMSLOT_EXTERN_FUNC).of.func;
    a = i32v(8);
    ck_assert_int_eq(call_i32(grow, &a, 1, &r), 0);
    ck_assert_uint_eq(r, 2);
    a = i32v(1);
    ck_assert_int_eq(call_i32(grow, &a, 1, &r), 0);
    ck_assert_uint_eq(r, 0xffffffffu);
    ck_assert_uint_eq(wasmslot_table_size(get_export(inst, "t", WASMSLOT_EXTERN_TABLE).of.table),
                      10);
    wasmslot_instance_free(inst);

    /* 0 leaves only the engine's ceiling: the same grow succeeds. */
    opt.max_table_elements = 0;
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_msg(inst != NULL, "%s", err.message);
    grow = get_export(inst, "grow", WASMSLOT_EXTERN_FUNC).of.func;
    a = i32v(100);
    ck_assert_int_eq(call_i32(grow, &a, 1, &r), 0);
    ck_assert_uint_eq(r, 2);
    wasmslot_instance_free(inst);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_start_function_trap_fails_instantiation)
{
    struct wasmslot_module *m = fixture_module("inst_start_trap");
    struct wasmslot_error err;

    ck_assert_ptr_null(wasmslot_instance_new(m, NULL, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_TRAP_UNREACHABLE);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_segments_are_applied_and_dropped)
{
    struct wasmslot_module *m = fixture_module("inst_segments");
    struct wasmslot_error err;
    struct wasmslot_instance *inst = wasmslot_instance_new(m, NULL, &err);
    struct wasmslot_table *t;
    struct wasmslot_func *a, *b, *call;
    struct wasmslot_value arg;
    uint8_t *base;
    uint32_t r;

    ck_assert_msg(inst != NULL, "%s", err.message);
    t = get_export(inst, "tab", WASMSLOT_EXTERN_TABLE).of.table;
    a = get_export(inst, "a", WASMSLOT_EXTERN_FUNC).of.func;
    b = get_export(inst, "b", WASMSLOT_EXTERN_FUNC).of.func;
    ck_assert_ptr_null(t->elems[0]);
    ck_assert_ptr_eq(t->elems[1], a);
    ck_assert_ptr_eq(t->elems[2], b);
    ck_assert_ptr_null(t->elems[3]);
    /* Active and declarative segments are dropped, passive ones stay. */
    ck_assert_uint_eq(inst->elem_dropped[0], 1);
    ck_assert_uint_eq(inst->elem_dropped[1], 0);
    ck_assert_uint_eq(inst->elem_dropped[2], 1);
    ck_assert_uint_eq(inst->elem_dropped[3], 1);
    ck_assert_uint_eq(inst->data_dropped[0], 1);
    ck_assert_uint_eq(inst->data_dropped[1], 1);
    ck_assert_uint_eq(inst->data_dropped[2], 0);

    base = wasmslot_memory_base(wasmslot_instance_memory(inst));
    ck_assert_int_eq(memcmp(base + 16, "hello", 5), 0);
    ck_assert_int_eq(memcmp(base + 65531, "world", 5), 0);
    ck_assert_uint_eq(base[15], 0);

    call = get_export(inst, "call", WASMSLOT_EXTERN_FUNC).of.func;
    arg = i32v(2);
    ck_assert_int_eq(call_i32(call, &arg, 1, &r), 0);
    ck_assert_uint_eq(r, 2);
    arg = i32v(3);
    ck_assert_int_eq(call_i32(call, &arg, 1, &r), -WASMSLOT_TRAP_UNINIT_ELEM);

    wasmslot_instance_free(inst);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_given_memory_and_preloaded_data)
{
    struct wasmslot_module *m = fixture_module("inst_segments");
    struct wasmslot_memory *mem = wasmslot_memory_new(1, 2, false, NULL);
    struct wasmslot_instance_options opt;
    struct wasmslot_error err;
    struct wasmslot_instance *inst;

    memset(&opt, 0, sizeof(opt));
    opt.memory = mem;
    opt.data_preloaded = true;
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_msg(inst != NULL, "%s", err.message);
    ck_assert_ptr_eq(wasmslot_instance_memory(inst), mem);
    ck_assert_int_eq(atomic_load(&mem->refs), 2);
    /* Preloaded: nothing copied (this memory holds no image), but the segments count as
     * dropped exactly as if they had been. */
    ck_assert_uint_eq(wasmslot_memory_base(mem)[16], 0);
    ck_assert_uint_eq(inst->data_dropped[0], 1);
    ck_assert_uint_eq(inst->data_dropped[2], 0);
    wasmslot_instance_free(inst);
    ck_assert_int_eq(atomic_load(&mem->refs), 1);

    /* Not preloaded: copied into the given memory. */
    opt.data_preloaded = false;
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_msg(inst != NULL, "%s", err.message);
    ck_assert_int_eq(memcmp(wasmslot_memory_base(mem) + 16, "hello", 5), 0);
    wasmslot_instance_free(inst);
    wasmslot_memory_unref(mem);

    /* A memory smaller than the module's initial size is refused. */
    mem = wasmslot_memory_new(0, 2, false, NULL);
    opt.memory = mem;
    ck_assert_ptr_null(wasmslot_instance_new(m, &opt, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_EARGS);
    ck_assert_int_eq(atomic_load(&mem->refs), 1);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_elem_out_of_bounds_keeps_earlier_writes)
{
    struct wasmslot_module *m = fixture_module("inst_oob_elem");
    struct wasmslot_table *t = wasmslot_table_new(WASMSLOT_FUNCREF, 4, 0, false, NULL);
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_TABLE, .of.table = t};
    struct wasmslot_instance_options opt = {.imports = &imp, .nimports = 1};
    struct wasmslot_error err;
    uint32_t r;

    ck_assert_ptr_null(wasmslot_instance_new(m, &opt, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_TRAP_OOB_TABLE);
    ck_assert_str_eq(err.message, "out of bounds table access");
    /* The first segment's write stays, the failing one wrote nothing, and the function it
     * stored can still be called: the table keeps the failed instance alive. */
    ck_assert_ptr_nonnull(t->elems[0]);
    ck_assert_ptr_null(t->elems[3]);
    ck_assert_ptr_nonnull(t->orphans);
    ck_assert_int_eq(call_i32(t->elems[0], NULL, 0, &r), 0);
    ck_assert_uint_eq(r, 5);
    ck_assert_int_eq(atomic_load(&t->refs), 1);
    /* The module must outlive the failed instance, which goes with the table. */
    wasmslot_table_unref(t);
    wasmslot_module_free(m);
}
END_TEST

START_TEST(test_data_out_of_bounds_keeps_earlier_writes)
{
    struct wasmslot_module *m = fixture_module("inst_oob_data");
    struct wasmslot_memory *mem = wasmslot_memory_new(1, 1, false, NULL);
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = mem};
    struct wasmslot_instance_options opt = {.imports = &imp, .nimports = 1};
    struct wasmslot_error err;

    ck_assert_ptr_null(wasmslot_instance_new(m, &opt, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(memcmp(wasmslot_memory_base(mem), "ok", 2), 0);
    ck_assert_uint_eq(wasmslot_memory_base(mem)[65535], 0);
    /* No table or funcref global to keep it: the failed instance is freed at once. */
    ck_assert_int_eq(atomic_load(&mem->refs), 1);
    wasmslot_memory_unref(mem);
    wasmslot_module_free(m);
}
END_TEST

/* ---- linking */

struct env {
    struct wasmslot_func *f;
    struct wasmslot_table *tab;
    struct wasmslot_memory *mem;
    struct wasmslot_global *g, *mg;
    struct wasmslot_extern ext[5];
};

static void env_init(struct env *e)
{
    struct wasmslot_functype ft = {1, 1, t_i32, t_i32};
    struct wasmslot_value v;

    memset(e, 0, sizeof(*e));
    e->f = wasmslot_func_new_host(&ft, double_it, NULL, NULL, NULL);
    /* Subtypes of what the module declares: a larger minimum, a smaller maximum. */
    e->tab = wasmslot_table_new(WASMSLOT_FUNCREF, 3, 8, true, NULL);
    e->mem = wasmslot_memory_new(2, 4, false, NULL);
    v = i32v(9);
    e->g = wasmslot_global_new(&v, false, NULL);
    v.type = WASMSLOT_I64;
    v.of.i64 = 1;
    e->mg = wasmslot_global_new(&v, true, NULL);
    e->ext[0] = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_FUNC, .of.func = e->f};
    e->ext[1] = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_TABLE, .of.table = e->tab};
    e->ext[2] = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = e->mem};
    e->ext[3] = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = e->g};
    e->ext[4] = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = e->mg};
}

static void env_fini(struct env *e)
{
    wasmslot_func_free_host(e->f);
    wasmslot_table_unref(e->tab);
    wasmslot_memory_unref(e->mem);
    wasmslot_global_unref(e->g);
    wasmslot_global_unref(e->mg);
}

START_TEST(test_link_all_kinds)
{
    struct wasmslot_module *m = fixture_module("inst_imports");
    struct env e;
    struct wasmslot_instance_options opt;
    struct wasmslot_error err;
    struct wasmslot_instance *inst;
    struct wasmslot_value v;
    struct wasmslot_extern x;
    uint32_t r;

    env_init(&e);
    memset(&opt, 0, sizeof(opt));
    opt.imports = e.ext;
    opt.nimports = 5;
    inst = wasmslot_instance_new(m, &opt, &err);
    ck_assert_msg(inst != NULL, "%s", err.message);
    ck_assert_ptr_eq(wasmslot_instance_memory(inst), e.mem);
    ck_assert_ptr_eq(inst->tables[0], e.tab);
    ck_assert_ptr_eq(inst->globals[1], e.mg);
    ck_assert_int_eq(atomic_load(&e.tab->refs), 2);
    ck_assert_int_eq(atomic_load(&e.mem->refs), 2);
    ck_assert_int_eq(atomic_load(&e.g->refs), 2);
    /* A global initialised from an imported one. */
    wasmslot_global_get(get_export(inst, "copy", WASMSLOT_EXTERN_GLOBAL).of.global, &v);
    ck_assert_uint_eq(v.of.i32, 9);
    /* A re-exported import is the very same object. */
    x = get_export(inst, "f_again", WASMSLOT_EXTERN_FUNC);
    ck_assert_ptr_eq(x.of.func, e.f);

    v = i32v(21);
    ck_assert_int_eq(call_i32(get_export(inst, "call_f", WASMSLOT_EXTERN_FUNC).of.func, &v, 1, &r),
                     0);
    ck_assert_uint_eq(r, 42);

    wasmslot_instance_free(inst);
    ck_assert_int_eq(atomic_load(&e.tab->refs), 1);
    ck_assert_int_eq(atomic_load(&e.mem->refs), 1);
    ck_assert_int_eq(atomic_load(&e.g->refs), 1);
    ck_assert_int_eq(atomic_load(&e.mg->refs), 1);
    env_fini(&e);
    wasmslot_module_free(m);
}
END_TEST

/* Instantiates inst_imports with import `slot` replaced by `repl` and expects a link error
 * whose message starts with `msg`. */
static void expect_unlinkable(const struct wasmslot_module *m, int slot,
                              struct wasmslot_extern repl, const char *msg)
{
    struct env e;
    struct wasmslot_instance_options opt;
    struct wasmslot_error err;

    env_init(&e);
    e.ext[slot] = repl;
    memset(&opt, 0, sizeof(opt));
    opt.imports = e.ext;
    opt.nimports = 5;
    ck_assert_ptr_null(wasmslot_instance_new(m, &opt, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_EUNLINKABLE);
    ck_assert_msg(strncmp(err.message, msg, strlen(msg)) == 0, "slot %d: \"%s\"", slot,
                  err.message);
    /* Nothing kept a reference. */
    ck_assert_int_eq(atomic_load(&e.tab->refs), 1);
    ck_assert_int_eq(atomic_load(&e.mem->refs), 1);
    env_fini(&e);
}

static const char *const incompatible = "incompatible import type";

START_TEST(test_link_errors)
{
    struct wasmslot_module *m = fixture_module("inst_imports");
    struct wasmslot_functype ft;
    struct wasmslot_func *f1, *f2, *f3;
    struct wasmslot_table *t1, *t2, *t3, *t4;
    struct wasmslot_memory *m1, *m2, *m3, *m4;
    struct wasmslot_global *g1, *g2, *g3;
    struct wasmslot_value v;
    struct wasmslot_extern x;
    struct env e;
    struct wasmslot_instance_options opt;
    struct wasmslot_error err;

    /* Missing (NULL) import, and a wrong count. */
    x = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_FUNC, .of.func = NULL};
    expect_unlinkable(m, 0, x, "unknown import");
    env_init(&e);
    memset(&opt, 0, sizeof(opt));
    opt.imports = e.ext;
    opt.nimports = 4;
    ck_assert_ptr_null(wasmslot_instance_new(m, &opt, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_EUNLINKABLE);

    /* Wrong kind. */
    x = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = e.g};
    expect_unlinkable(m, 0, x, incompatible);
    x = (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = e.mem};
    expect_unlinkable(m, 1, x, incompatible);

    /* Function types must match exactly. */
    ft = (struct wasmslot_functype){1, 1, t_i32, t_i64};
    f1 = wasmslot_func_new_host(&ft, double_it, NULL, NULL, NULL);
    ft = (struct wasmslot_functype){1, 1, t_i64, t_i32};
    f2 = wasmslot_func_new_host(&ft, double_it, NULL, NULL, NULL);
    ft = (struct wasmslot_functype){2, 1, t_i32, t_i32};
    f3 = wasmslot_func_new_host(&ft, double_it, NULL, NULL, NULL);
    expect_unlinkable(m, 0, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_FUNC, .of.func = f1},
                      incompatible);
    expect_unlinkable(m, 0, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_FUNC, .of.func = f2},
                      incompatible);
    expect_unlinkable(m, 0, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_FUNC, .of.func = f3},
                      incompatible);

    /* Tables (declared 2..10 funcref): element type, minimum too small, no maximum, maximum
     * too large. */
    t1 = wasmslot_table_new(WASMSLOT_EXTERNREF, 3, 8, true, NULL);
    t2 = wasmslot_table_new(WASMSLOT_FUNCREF, 1, 8, true, NULL);
    t3 = wasmslot_table_new(WASMSLOT_FUNCREF, 3, 0, false, NULL);
    t4 = wasmslot_table_new(WASMSLOT_FUNCREF, 3, 11, true, NULL);
    expect_unlinkable(m, 1, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_TABLE, .of.table = t1},
                      incompatible);
    expect_unlinkable(m, 1, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_TABLE, .of.table = t2},
                      incompatible);
    expect_unlinkable(m, 1, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_TABLE, .of.table = t3},
                      incompatible);
    expect_unlinkable(m, 1, (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_TABLE, .of.table = t4},
                      incompatible);

    /* Memories (declared 1..4, unshared): too small now, maximum too large, no declared
     * maximum, shared. */
    m1 = wasmslot_memory_new(0, 4, false, NULL);
    m2 = wasmslot_memory_new(1, 5, false, NULL);
    m3 = wasmslot_memory_new(1, 65536, false, NULL);
    m3->has_max = false;
    m4 = wasmslot_memory_new(1, 4, true, NULL);
    expect_unlinkable(m, 2,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = m1},
                      incompatible);
    expect_unlinkable(m, 2,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = m2},
                      incompatible);
    expect_unlinkable(m, 2,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = m3},
                      incompatible);
    expect_unlinkable(m, 2,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_MEMORY, .of.memory = m4},
                      incompatible);
    /* The current size counts: grown to 1 page, m1 fits. */
    ck_assert_int_eq(wasmslot_memory_grow(m1, 1, NULL), 0);
    {
        struct env ok;
        struct wasmslot_instance *inst;

        env_init(&ok);
        ok.ext[2].of.memory = m1;
        memset(&opt, 0, sizeof(opt));
        opt.imports = ok.ext;
        opt.nimports = 5;
        inst = wasmslot_instance_new(m, &opt, &err);
        ck_assert_msg(inst != NULL, "%s", err.message);
        wasmslot_instance_free(inst);
        env_fini(&ok);
    }

    /* Globals: value type and mutability must both match. */
    v = i32v(1);
    g1 = wasmslot_global_new(&v, true, NULL); /* mutable i32 for an immutable i32 */
    v.type = WASMSLOT_I64;
    v.of.i64 = 1;
    g2 = wasmslot_global_new(&v, false, NULL); /* immutable i64 for a mutable i64 / for an i32 */
    v.type = WASMSLOT_F64;
    g3 = wasmslot_global_new(&v, true, NULL); /* mutable f64 for a mutable i64 */
    expect_unlinkable(m, 3,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = g1},
                      incompatible);
    expect_unlinkable(m, 3,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = g2},
                      incompatible);
    expect_unlinkable(m, 4,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = g2},
                      incompatible);
    expect_unlinkable(m, 4,
                      (struct wasmslot_extern){.kind = WASMSLOT_EXTERN_GLOBAL, .of.global = g3},
                      incompatible);

    wasmslot_func_free_host(f1);
    wasmslot_func_free_host(f2);
    wasmslot_func_free_host(f3);
    wasmslot_table_unref(t1);
    wasmslot_table_unref(t2);
    wasmslot_table_unref(t3);
    wasmslot_table_unref(t4);
    wasmslot_memory_unref(m1);
    wasmslot_memory_unref(m2);
    wasmslot_memory_unref(m3);
    wasmslot_memory_unref(m4);
    wasmslot_global_unref(g1);
    wasmslot_global_unref(g2);
    wasmslot_global_unref(g3);
    env_fini(&e);
    wasmslot_module_free(m);
}
END_TEST

/* ---- host functions called from wasm */

struct peek_env {
    struct wasmslot_instance *expect_inst;
    int calls;
};

static int peek(struct wasmslot_call_ctx *ctx, void *envp, const struct wasmslot_value *args,
                struct wasmslot_value *results)
{
    struct peek_env *env = envp;
    struct wasmslot_memory *mem = wasmslot_call_ctx_memory(ctx);
    uint32_t addr = args[0].of.i32;

    env->calls++;
    ck_assert_ptr_eq(wasmslot_call_ctx_instance(ctx), env->expect_inst);
    ck_assert_ptr_nonnull(wasmslot_call_ctx_exec(ctx));
    ck_assert_ptr_nonnull(mem);
    /* Guest pointers are checked against the current size before the base is touched. */
    if ((uint64_t)addr + 1 > wasmslot_memory_size(mem))
        return -WASMSLOT_TRAP_OOB_MEMORY;
    results[0] = i32v(wasmslot_memory_base(mem)[addr]);
    return 0;
}

START_TEST(test_host_function_reads_guest_memory)
{
    struct wasmslot_module *m = fixture_module("inst_host");
    struct wasmslot_functype ft = {1, 1, t_i32, t_i32};
    struct peek_env env = {NULL, 0};
    struct wasmslot_func *f = wasmslot_func_new_host(&ft, peek, &env, NULL, NULL);
    struct wasmslot_extern imp = {.kind = WASMSLOT_EXTERN_FUNC, .of.func = f};
    struct wasmslot_instance_options opt = {.imports = &imp, .nimports = 1};
    struct wasmslot_error err;
    struct wasmslot_instance *inst = wasmslot_instance_new(m, &opt, &err);
    struct wasmslot_func *run;
    struct wasmslot_value arg;
    uint32_t r;

    ck_assert_msg(inst != NULL, "%s", err.message);
    env.expect_inst = inst;
    run = get_export(inst, "run", WASMSLOT_EXTERN_FUNC).of.func;
    arg = i32v(100);
    ck_assert_int_eq(call_i32(run, &arg, 1, &r), 0);
    ck_assert_uint_eq(r, 42);
    arg = i32v(WASMSLOT_PAGE_SIZE);
    ck_assert_int_eq(call_i32(run, &arg, 1, &r), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(env.calls, 2);

    wasmslot_instance_free(inst);
    wasmslot_func_free_host(f);
    wasmslot_module_free(m);
}
END_TEST

static Suite *instance_suite(void)
{
    Suite *s = suite_create("instance");
    TCase *objects = tcase_create("objects");
    TCase *inst = tcase_create("instances");
    TCase *link = tcase_create("linking");

    tcase_add_test(objects, test_table_new_and_grow);
    tcase_add_test(objects, test_table_without_max);
    tcase_add_test(objects, test_table_bad_arguments);
    tcase_add_test(objects, test_globals_keep_values_bit_exact);
    tcase_add_test(objects, test_host_function_copies_its_type);
    tcase_add_test(objects, test_functype_equality_is_structural);
    suite_add_tcase(s, objects);

    tcase_set_timeout(inst, 30);
    tcase_add_test(inst, test_exports_of_every_kind);
    tcase_add_test(inst, test_exported_objects_outlive_their_instance);
    tcase_add_test(inst, test_start_function_runs);
    tcase_add_test(inst, test_start_function_trap_fails_instantiation);
    tcase_add_test(inst, test_segments_are_applied_and_dropped);
    tcase_add_test(inst, test_given_memory_and_preloaded_data);
    tcase_add_test(inst, test_elem_out_of_bounds_keeps_earlier_writes);
    tcase_add_test(inst, test_data_out_of_bounds_keeps_earlier_writes);
    tcase_add_test(inst, test_host_function_reads_guest_memory);
    tcase_add_test(inst, test_max_table_elements);
    suite_add_tcase(s, inst);

    tcase_set_timeout(link, 30);
    tcase_add_test(link, test_link_all_kinds);
    tcase_add_test(link, test_link_errors);
    suite_add_tcase(s, link);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(instance_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
