/* runtime/instance.c: modules as embedders see them, and instantiation: linking imports, making
 * functions, tables, the memory and globals, applying segments, running the start function. */
#include "config.h"

#include "runtime/objects.h"
#include "runtime/tiers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- modules */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *wasmslot_engine_name(enum wasmslot_engine engine)
{
    switch (engine) {
    case WASMSLOT_ENGINE_INTERP:
        return "interp";
    case WASMSLOT_ENGINE_NATIVE:
        return "native";
    }
    return "?";
}

bool wasmslot_engine_available(enum wasmslot_engine engine)
{
    return tier__for(engine) != NULL;
}

/* The one loading pipeline: decode, validate the module, then let the tier validate and
 * compile the bodies. */
struct wasmslot_module *wasmslot_module_compile(const void *bytes, size_t len,
                                                const struct wasmslot_compile_options *opts,
                                                struct wasmslot_error *err)
{
    static const struct wasmslot_compile_options defaults;
    if (opts == NULL)
        opts = &defaults;
    const enum wasmslot_engine engine = opts->engine;
    const struct wasmslot_tier *tier = tier__for(engine);
    if (tier == NULL) {
        wasmslot_error_set(err, WASMSLOT_EARGS, "this build has no %s engine",
                           wasmslot_engine_name(engine));
        return NULL;
    }
    struct wasmslot_module *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        wasmslot_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    /* The decoder copies the bytes into m->bytes; everything else points into that copy. */
    if (wasmslot_decode(m, bytes, len, err) < 0)
        goto fail;
    if (wasmslot_validate_module(m, err) < 0)
        goto fail;
    uint64_t t0 = mono_ns();
    m->tier = tier; /* so that a failed compile is released by the same tier */
    if (tier->compile(m, opts, err) < 0)
        goto fail;
    m->compile_ns = mono_ns() - t0;
    return m;

fail:
    wasmslot_module_free(m);
    return NULL;
}

struct wasmslot_module *wasmslot_module_new_engine(const void *bytes, size_t len,
                                                   enum wasmslot_engine engine,
                                                   struct wasmslot_error *err)
{
    const struct wasmslot_compile_options opts = {.engine = engine};
    return wasmslot_module_compile(bytes, len, &opts, err);
}

struct wasmslot_module *wasmslot_module_new(const void *bytes, size_t len,
                                            struct wasmslot_error *err)
{
    return wasmslot_module_compile(bytes, len, NULL, err);
}

enum wasmslot_cache_state wasmslot_module_cache_state(const struct wasmslot_module *m)
{
    return m->cache_state;
}

const char *wasmslot_module_cache_note(const struct wasmslot_module *m)
{
    return m->cache_note;
}

const char *wasmslot_cache_state_name(enum wasmslot_cache_state state)
{
    switch (state) {
    case WASMSLOT_CACHE_NONE:
        return "none";
    case WASMSLOT_CACHE_HIT:
        return "hit";
    case WASMSLOT_CACHE_STORED:
        return "stored";
    case WASMSLOT_CACHE_REJECTED:
        return "rejected";
    case WASMSLOT_CACHE_FAILED:
        return "failed";
    }
    return "?";
}

enum wasmslot_engine wasmslot_module_engine(const struct wasmslot_module *m)
{
    return m->tier == tier__for(WASMSLOT_ENGINE_INTERP) ? WASMSLOT_ENGINE_INTERP
                                                        : WASMSLOT_ENGINE_NATIVE;
}

const char *wasmslot_module_fallback(const struct wasmslot_module *m)
{
    return m->tier_fallback;
}

uint64_t wasmslot_module_compile_ns(const struct wasmslot_module *m)
{
    return m->compile_ns;
}

void wasmslot_module_free(struct wasmslot_module *m)
{
    if (m == NULL)
        return;
    if (m->tier != NULL)
        m->tier->free(m);
    free(m->tier_fallback);
    free(m->cache_note);
    wasmslot_module_clear(m);
    free(m);
}

/* ---------------------------------------------------------------- constant expressions */

wasmslot_cell wasmslot_instance__const_eval(const struct wasmslot_instance *inst,
                                            const struct wasmslot_constexpr *e)
{
    switch (e->kind) {
    case WASMSLOT_CONST_I32:
        return e->u.i32;
    case WASMSLOT_CONST_I64:
        return e->u.i64;
    case WASMSLOT_CONST_F32:
        return e->u.f32;
    case WASMSLOT_CONST_F64:
        return e->u.f64;
    case WASMSLOT_CONST_GLOBAL_GET:
        return inst->globals[e->u.index]->value;
    case WASMSLOT_CONST_REF_NULL:
        return 0;
    case WASMSLOT_CONST_REF_FUNC:
        return (wasmslot_cell)(uintptr_t)inst->funcs[e->u.index];
    }
    return 0;
}

/* ---------------------------------------------------------------- import matching */

/* The spec's limits subtyping: the provided object's current size and maximum must fit inside
 * what the import declares. */
static bool limits_match(uint64_t have_min, bool have_has_max, uint64_t have_max,
                         const struct wasmslot_limits *want)
{
    if (have_min < want->min)
        return false;
    if (want->has_max && (!have_has_max || have_max > want->max))
        return false;
    return true;
}

static bool import_matches(const struct wasmslot_module *m, const struct wasmslot_import *imp,
                           const struct wasmslot_extern *ext)
{
    if (ext->kind != imp->kind)
        return false;
    switch (imp->kind) {
    case WASMSLOT_EXTERN_FUNC:
        return wasmslot_functype_equal(ext->of.func->type, &m->types[imp->u.func_type].ft);
    case WASMSLOT_EXTERN_TABLE: {
        const struct wasmslot_table *t = ext->of.table;
        return t->elem == imp->u.table.elem &&
               limits_match(t->size, t->has_max, t->max, &imp->u.table.limits);
    }
    case WASMSLOT_EXTERN_MEMORY: {
        const struct wasmslot_memory *mem = ext->of.memory;
        return mem->shared == imp->u.memory.shared &&
               limits_match(wasmslot_memory_size(mem) / WASMSLOT_PAGE_SIZE, mem->has_max,
                            mem->max_pages, &imp->u.memory);
    }
    case WASMSLOT_EXTERN_GLOBAL:
        return ext->of.global->type == imp->u.global.type &&
               ext->of.global->mutable_ == imp->u.global.mutable_;
    }
    return false;
}

static bool extern_is_null(const struct wasmslot_extern *ext)
{
    switch (ext->kind) {
    case WASMSLOT_EXTERN_FUNC:
        return ext->of.func == NULL;
    case WASMSLOT_EXTERN_TABLE:
        return ext->of.table == NULL;
    case WASMSLOT_EXTERN_MEMORY:
        return ext->of.memory == NULL;
    case WASMSLOT_EXTERN_GLOBAL:
        return ext->of.global == NULL;
    }
    return true;
}

static int check_imports(const struct wasmslot_module *m,
                         const struct wasmslot_instance_options *opt, struct wasmslot_error *err)
{
    if (opt->nimports != m->nimports)
        return wasmslot_error_set(err, WASMSLOT_EUNLINKABLE,
                                  "unknown import: the module has %u imports, %u given",
                                  m->nimports, opt->nimports);
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasmslot_import *imp = &m->imports[i];
        const struct wasmslot_extern *ext = &opt->imports[i];

        /* A NULL object is how a linker says it found nothing under that name. */
        if (extern_is_null(ext))
            return wasmslot_error_set(err, WASMSLOT_EUNLINKABLE, "unknown import \"%s\" \"%s\"",
                                      imp->module, imp->name);
        if (!import_matches(m, imp, ext))
            return wasmslot_error_set(err, WASMSLOT_EUNLINKABLE,
                                      "incompatible import type for \"%s\" \"%s\"", imp->module,
                                      imp->name);
    }
    return 0;
}

/* ---------------------------------------------------------------- instances */

/* One allocation holds the instance and all its per-instance arrays: instantiation is on the
 * hot path of every request, and the arrays live exactly as long as the instance. Pointer and
 * struct arrays come first, byte arrays last, so every part stays aligned. */
static struct wasmslot_instance *instance_alloc(const struct wasmslot_module *m)
{
    size_t funcs = (size_t)m->nfuncs_total * sizeof(struct wasmslot_func *);
    size_t own = (size_t)m->nfuncs * sizeof(struct wasmslot_func);
    size_t tables = (size_t)m->ntables_total * sizeof(struct wasmslot_table *);
    size_t globals = (size_t)m->nglobals_total * sizeof(struct wasmslot_global *);
    size_t total =
        sizeof(struct wasmslot_instance) + funcs + own + tables + globals + m->nelems + m->ndatas;
    struct wasmslot_instance *inst = calloc(1, total);
    uint8_t *p;

    if (inst == NULL)
        return NULL;
    p = (uint8_t *)(inst + 1);
    inst->funcs = (struct wasmslot_func **)p;
    p += funcs;
    inst->own_funcs = (struct wasmslot_func *)p;
    p += own;
    inst->tables = (struct wasmslot_table **)p;
    p += tables;
    inst->globals = (struct wasmslot_global **)p;
    p += globals;
    inst->elem_dropped = p;
    p += m->nelems;
    inst->data_dropped = p;
    inst->module = m;
    inst->ntables = m->ntables_total;
    inst->nglobals = m->nglobals_total;
    return inst;
}

/* Release everything inst holds, except the reference it gave up to its keeper. */
static void instance_destroy(struct wasmslot_instance *inst)
{
    /* The keeper may be imported twice; only one of those references was given up. */
    bool skipped = inst->keeper == NULL;

    for (uint32_t i = 0; i < inst->ntables; i++) {
        if (!skipped && inst->tables[i] == inst->keeper)
            skipped = true;
        else
            wasmslot_table_unref(inst->tables[i]);
    }
    for (uint32_t i = 0; i < inst->nglobals; i++) {
        if (!skipped && (void *)inst->globals[i] == inst->keeper)
            skipped = true;
        else
            wasmslot_global_unref(inst->globals[i]);
    }
    wasmslot_memory_unref(inst->memory);
    free(inst);
}

void wasmslot_instance__free_orphans(struct wasmslot_instance *list)
{
    while (list != NULL) {
        struct wasmslot_instance *next = list->next_orphan;
        instance_destroy(list);
        list = next;
    }
}

void wasmslot_instance_free(struct wasmslot_instance *inst)
{
    if (inst != NULL)
        instance_destroy(inst);
}

/* A failed instantiation may already have stored references to its functions in objects it
 * imported (element segments into an imported table, a start function writing a table or a
 * funcref global), and the spec says those writes stay visible: linking.wast calls such a
 * function afterwards. So instead of freeing, hand the instance to the first such object, which
 * frees it with itself. The instance gives up its reference to that keeper to avoid a cycle. */
static void orphan_or_free(struct wasmslot_instance *inst)
{
    const struct wasmslot_module *m = inst->module;

    for (uint32_t i = 0; i < m->ntable_imports; i++) {
        struct wasmslot_table *t = inst->tables[i];
        if (t->elem != WASMSLOT_FUNCREF)
            continue;
        inst->keeper = t;
        inst->next_orphan = t->orphans;
        t->orphans = inst;
        wasmslot_table_unref(t);
        return;
    }
    for (uint32_t i = 0; i < m->nglobal_imports; i++) {
        struct wasmslot_global *g = inst->globals[i];
        if (g->type != WASMSLOT_FUNCREF || !g->mutable_)
            continue;
        inst->keeper = g;
        inst->next_orphan = g->orphans;
        g->orphans = inst;
        wasmslot_global_unref(g);
        return;
    }
    instance_destroy(inst);
}

static int link_imports(struct wasmslot_instance *inst, const struct wasmslot_instance_options *opt)
{
    const struct wasmslot_module *m = inst->module;
    uint32_t nfunc = 0, ntable = 0, nglobal = 0;

    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasmslot_extern *ext = &opt->imports[i];
        switch (ext->kind) {
        case WASMSLOT_EXTERN_FUNC:
            inst->funcs[nfunc++] = ext->of.func;
            break;
        case WASMSLOT_EXTERN_TABLE:
            inst->tables[ntable++] = wasmslot_table_ref(ext->of.table);
            break;
        case WASMSLOT_EXTERN_MEMORY:
            inst->memory = wasmslot_memory_ref(ext->of.memory);
            break;
        case WASMSLOT_EXTERN_GLOBAL:
            inst->globals[nglobal++] = wasmslot_global_ref(ext->of.global);
            break;
        }
    }
    return 0;
}

static int make_memory(struct wasmslot_instance *inst, const struct wasmslot_instance_options *opt,
                       struct wasmslot_error *err)
{
    const struct wasmslot_module *m = inst->module;
    const struct wasmslot_limits *lim;
    uint32_t max;

    if (m->nmemories_total == 0 || m->nmemory_imports > 0)
        return 0;
    lim = &m->memories[0];
    if (opt->memory != NULL) {
        if (wasmslot_memory_size(opt->memory) < lim->min * WASMSLOT_PAGE_SIZE ||
            opt->memory->max_pages < lim->min)
            return wasmslot_error_set(err, WASMSLOT_EARGS,
                                      "the memory given is smaller than the module's %u pages",
                                      (unsigned)lim->min);
        inst->memory = wasmslot_memory_ref(opt->memory);
        return 0;
    }
    max = lim->has_max ? (uint32_t)lim->max : 65536;
    inst->memory = wasmslot_memory_new((uint32_t)lim->min, max, lim->shared, err);
    if (inst->memory == NULL)
        return err->code;
    /* 65536 pages is only the engine's ceiling here, not a declared maximum. */
    inst->memory->has_max = lim->has_max;
    return 0;
}

static int make_objects(struct wasmslot_instance *inst, struct wasmslot_error *err)
{
    const struct wasmslot_module *m = inst->module;

    for (uint32_t k = 0; k < m->nfuncs; k++) {
        struct wasmslot_func *f = &inst->own_funcs[k];
        uint32_t index = m->nfunc_imports + k;

        f->type = wasmslot_module_functype(m, index);
        f->inst = inst;
        f->index = index;
        f->def = &m->funcs[k];
        inst->funcs[index] = f;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables_total; i++) {
        const struct wasmslot_tabletype *tt = &m->tables[i];
        inst->tables[i] = wasmslot_table_new(tt->elem, (uint32_t)tt->limits.min,
                                             (uint32_t)tt->limits.max, tt->limits.has_max, err);
        if (inst->tables[i] == NULL)
            return err->code;
    }
    /* Globals are evaluated in order; an initialiser can read imported globals and refer to
     * any function, both of which exist by now. */
    for (uint32_t k = 0; k < m->nglobals; k++) {
        const struct wasmslot_global_def *def = &m->globals[k];
        struct wasmslot_global *g = calloc(1, sizeof(*g));

        if (g == NULL)
            return wasmslot_error_set(err, ENOMEM, "out of memory");
        atomic_init(&g->refs, 1);
        g->type = def->type.type;
        g->mutable_ = def->type.mutable_;
        g->value = wasmslot_instance__const_eval(inst, &def->init);
        inst->globals[m->nglobal_imports + k] = g;
    }
    return 0;
}

/* Active element segments behave like table.init followed by elem.drop; declarative ones are
 * only dropped. A segment out of bounds traps and ends instantiation, leaving the effects of
 * the earlier ones in place. */
static int apply_elems(struct wasmslot_instance *inst, struct wasmslot_error *err)
{
    const struct wasmslot_module *m = inst->module;

    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasmslot_elem *e = &m->elems[i];
        struct wasmslot_table *t;
        uint32_t offset;

        if (e->mode == WASMSLOT_SEG_DECLARATIVE)
            inst->elem_dropped[i] = 1;
        if (e->mode != WASMSLOT_SEG_ACTIVE)
            continue;
        t = inst->tables[e->table];
        offset = (uint32_t)wasmslot_instance__const_eval(inst, &e->offset);
        if ((uint64_t)offset + e->count > t->size)
            return wasmslot_error_set(err, WASMSLOT_TRAP_OOB_TABLE, "out of bounds table access");
        for (uint32_t j = 0; j < e->count; j++)
            t->elems[offset + j] =
                (void *)(uintptr_t)wasmslot_instance__const_eval(inst, &e->items[j]);
        inst->elem_dropped[i] = 1;
    }
    return 0;
}

static int apply_datas(struct wasmslot_instance *inst, bool preloaded, struct wasmslot_error *err)
{
    const struct wasmslot_module *m = inst->module;

    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasmslot_data *d = &m->datas[i];
        uint32_t offset;

        if (d->mode != WASMSLOT_SEG_ACTIVE)
            continue;
        /* A preloaded memory was built from the module's image, which only exists when every
         * segment fits; the copies are already there. */
        if (!preloaded) {
            offset = (uint32_t)wasmslot_instance__const_eval(inst, &d->offset);
            if ((uint64_t)offset + d->len > wasmslot_memory_size(inst->memory))
                return wasmslot_error_set(err, WASMSLOT_TRAP_OOB_MEMORY,
                                          "out of bounds memory access");
            if (d->len > 0)
                memcpy(wasmslot_memory_base(inst->memory) + offset, d->bytes, d->len);
        }
        inst->data_dropped[i] = 1;
    }
    return 0;
}

static int run_start(struct wasmslot_instance *inst, struct wasmslot_exec *ex,
                     struct wasmslot_error *err)
{
    const struct wasmslot_module *m = inst->module;
    struct wasmslot_exec *tmp = NULL;
    int rc;

    if (!m->has_start)
        return 0;
    if (ex == NULL) {
        struct wasmslot_exec_options eo;
        memset(&eo, 0, sizeof(eo));
        tmp = wasmslot_exec_new(&eo, err);
        if (tmp == NULL)
            return err->code;
        ex = tmp;
    }
    rc = wasmslot_call(ex, inst->funcs[m->start], NULL, 0, NULL, 0);
    wasmslot_exec_free(tmp);
    if (rc < 0)
        return wasmslot_error_set(err, rc, "start function: %s", wasmslot_strerror(rc));
    return 0;
}

/* The embedder's cap on the module's own tables (opt->max_table_elements): one over it at the
 * start fails, the others get it as their maximum, so table.grow past it returns -1 like a
 * memory.grow past the pool's max_memory. Runs before any segment is applied. */
static int cap_tables(struct wasmslot_instance *inst, const struct wasmslot_instance_options *opt,
                      struct wasmslot_error *err)
{
    uint32_t cap = opt->max_table_elements;

    if (cap == 0)
        return 0;
    for (uint32_t i = inst->module->ntable_imports; i < inst->ntables; i++) {
        struct wasmslot_table *t = inst->tables[i];

        if (t->size > cap)
            return wasmslot_error_set(err, WASMSLOT_ELIMIT,
                                      "table %u starts with %u entries, more than the limit of %u",
                                      i, t->size, cap);
        if (t->max > cap)
            t->max = cap;
    }
    return 0;
}

struct wasmslot_instance *wasmslot_instance_new(const struct wasmslot_module *m,
                                                const struct wasmslot_instance_options *opt,
                                                struct wasmslot_error *err)
{
    static const struct wasmslot_instance_options no_options;
    struct wasmslot_instance *inst = NULL;
    struct wasmslot_error local_err;
    bool effects = false; /* past the point where imported objects may have been written */
    bool preloaded;

    if (opt == NULL)
        opt = &no_options;
    /* The helpers pass codes on through err, so there always is one. */
    if (err == NULL)
        err = &local_err;
    if (check_imports(m, opt, err) < 0)
        goto fail;
    inst = instance_alloc(m);
    if (inst == NULL)
        goto nomem;
    if (link_imports(inst, opt) < 0 || make_memory(inst, opt, err) < 0 ||
        make_objects(inst, err) < 0 || cap_tables(inst, opt, err) < 0)
        goto fail;
    effects = true;
    /* Only a memory the caller handed in for the module's own memory can hold its image. */
    preloaded = opt->data_preloaded && opt->memory != NULL && inst->memory == opt->memory &&
                m->nmemory_imports == 0;
    if (apply_elems(inst, err) < 0 || apply_datas(inst, preloaded, err) < 0 ||
        run_start(inst, opt->exec, err) < 0)
        goto fail;
    return inst;

nomem:
    wasmslot_error_set(err, ENOMEM, "out of memory");
fail:
    if (inst != NULL) {
        if (effects)
            orphan_or_free(inst);
        else
            instance_destroy(inst);
    }
    return NULL;
}

const struct wasmslot_module *wasmslot_instance_module(const struct wasmslot_instance *inst)
{
    return inst->module;
}

struct wasmslot_memory *wasmslot_instance_memory(const struct wasmslot_instance *inst)
{
    return inst->memory;
}

int wasmslot_instance_export(const struct wasmslot_instance *inst, const char *name,
                             size_t name_len, struct wasmslot_extern *out)
{
    const struct wasmslot_module *m = inst->module;

    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wasmslot_export *e = &m->exports[i];

        /* Names may hold NUL bytes: compare lengths, then bytes. */
        if (e->name_len != name_len || memcmp(e->name, name, name_len) != 0)
            continue;
        out->kind = e->kind;
        switch (e->kind) {
        case WASMSLOT_EXTERN_FUNC:
            out->of.func = inst->funcs[e->index];
            break;
        case WASMSLOT_EXTERN_TABLE:
            out->of.table = inst->tables[e->index];
            break;
        case WASMSLOT_EXTERN_MEMORY:
            out->of.memory = inst->memory;
            break;
        case WASMSLOT_EXTERN_GLOBAL:
            out->of.global = inst->globals[e->index];
            break;
        }
        return 0;
    }
    return -WASMSLOT_ENOTFOUND;
}
