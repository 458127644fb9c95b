/* wasm_instance.c: modules as embedders see them, and instantiation: linking imports, making
 * functions, tables, the memory and globals, applying segments, running the start function. */
#include "config.h"

#include "interp.h"
#include "wasm_objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- modules */

struct wasm_module *wasm_module_new(const void *bytes, size_t len, struct wasm_error *err)
{
    struct wasm_module *m = calloc(1, sizeof(*m));

    if (m == NULL) {
        wasm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    /* The decoder copies the bytes into m->bytes; everything else points into that copy. */
    if (wasm_decode(m, bytes, len, err) < 0)
        goto fail;
    if (wasm_validate_module(m, err) < 0)
        goto fail;
    if (interp_compile_module(m, err) < 0)
        goto fail;
    return m;

fail:
    wasm_module_free(m);
    return NULL;
}

void wasm_module_free(struct wasm_module *m)
{
    if (m == NULL)
        return;
    interp_free_module(m);
    wasm_module_clear(m);
    free(m);
}

/* ---------------------------------------------------------------- constant expressions */

wasm_cell wasm_instance__const_eval(const struct wasm_instance *inst,
                                    const struct wasm_constexpr *e)
{
    switch (e->kind) {
    case WASM_CONST_I32:
        return e->u.i32;
    case WASM_CONST_I64:
        return e->u.i64;
    case WASM_CONST_F32:
        return e->u.f32;
    case WASM_CONST_F64:
        return e->u.f64;
    case WASM_CONST_GLOBAL_GET:
        return inst->globals[e->u.index]->value;
    case WASM_CONST_REF_NULL:
        return 0;
    case WASM_CONST_REF_FUNC:
        return (wasm_cell)(uintptr_t)inst->funcs[e->u.index];
    }
    return 0;
}

/* ---------------------------------------------------------------- import matching */

/* The spec's limits subtyping: the provided object's current size and maximum must fit inside
 * what the import declares. */
static bool limits_match(uint64_t have_min, bool have_has_max, uint64_t have_max,
                         const struct wasm_limits *want)
{
    if (have_min < want->min)
        return false;
    if (want->has_max && (!have_has_max || have_max > want->max))
        return false;
    return true;
}

static bool import_matches(const struct wasm_module *m, const struct wasm_import *imp,
                           const struct wasm_extern *ext)
{
    if (ext->kind != imp->kind)
        return false;
    switch (imp->kind) {
    case WASM_EXTERN_FUNC:
        return wasm_functype_equal(ext->of.func->type, &m->types[imp->u.func_type].ft);
    case WASM_EXTERN_TABLE: {
        const struct wasm_table *t = ext->of.table;
        return t->elem == imp->u.table.elem &&
               limits_match(t->size, t->has_max, t->max, &imp->u.table.limits);
    }
    case WASM_EXTERN_MEMORY: {
        const struct wasm_memory *mem = ext->of.memory;
        return mem->shared == imp->u.memory.shared &&
               limits_match(wasm_memory_size(mem) / WASM_PAGE_SIZE, mem->has_max, mem->max_pages,
                            &imp->u.memory);
    }
    case WASM_EXTERN_GLOBAL:
        return ext->of.global->type == imp->u.global.type &&
               ext->of.global->mutable_ == imp->u.global.mutable_;
    }
    return false;
}

static bool extern_is_null(const struct wasm_extern *ext)
{
    switch (ext->kind) {
    case WASM_EXTERN_FUNC:
        return ext->of.func == NULL;
    case WASM_EXTERN_TABLE:
        return ext->of.table == NULL;
    case WASM_EXTERN_MEMORY:
        return ext->of.memory == NULL;
    case WASM_EXTERN_GLOBAL:
        return ext->of.global == NULL;
    }
    return true;
}

static int check_imports(const struct wasm_module *m, const struct wasm_instance_options *opt,
                         struct wasm_error *err)
{
    if (opt->nimports != m->nimports)
        return wasm_error_set(err, WASM_EUNLINKABLE,
                              "unknown import: the module has %u imports, %u given", m->nimports,
                              opt->nimports);
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasm_import *imp = &m->imports[i];
        const struct wasm_extern *ext = &opt->imports[i];

        /* A NULL object is how a linker says it found nothing under that name. */
        if (extern_is_null(ext))
            return wasm_error_set(err, WASM_EUNLINKABLE, "unknown import \"%s\" \"%s\"",
                                  imp->module, imp->name);
        if (!import_matches(m, imp, ext))
            return wasm_error_set(err, WASM_EUNLINKABLE,
                                  "incompatible import type for \"%s\" \"%s\"", imp->module,
                                  imp->name);
    }
    return 0;
}

/* ---------------------------------------------------------------- instances */

/* One allocation holds the instance and all its per-instance arrays: instantiation is on the
 * hot path of every request, and the arrays live exactly as long as the instance. Pointer and
 * struct arrays come first, byte arrays last, so every part stays aligned. */
static struct wasm_instance *instance_alloc(const struct wasm_module *m)
{
    size_t funcs = (size_t)m->nfuncs_total * sizeof(struct wasm_func *);
    size_t own = (size_t)m->nfuncs * sizeof(struct wasm_func);
    size_t tables = (size_t)m->ntables_total * sizeof(struct wasm_table *);
    size_t globals = (size_t)m->nglobals_total * sizeof(struct wasm_global *);
    size_t total =
        sizeof(struct wasm_instance) + funcs + own + tables + globals + m->nelems + m->ndatas;
    struct wasm_instance *inst = calloc(1, total);
    uint8_t *p;

    if (inst == NULL)
        return NULL;
    p = (uint8_t *)(inst + 1);
    inst->funcs = (struct wasm_func **)p;
    p += funcs;
    inst->own_funcs = (struct wasm_func *)p;
    p += own;
    inst->tables = (struct wasm_table **)p;
    p += tables;
    inst->globals = (struct wasm_global **)p;
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
static void instance_destroy(struct wasm_instance *inst)
{
    /* The keeper may be imported twice; only one of those references was given up. */
    bool skipped = inst->keeper == NULL;

    for (uint32_t i = 0; i < inst->ntables; i++) {
        if (!skipped && inst->tables[i] == inst->keeper)
            skipped = true;
        else
            wasm_table_unref(inst->tables[i]);
    }
    for (uint32_t i = 0; i < inst->nglobals; i++) {
        if (!skipped && (void *)inst->globals[i] == inst->keeper)
            skipped = true;
        else
            wasm_global_unref(inst->globals[i]);
    }
    wasm_memory_unref(inst->memory);
    free(inst);
}

void wasm_instance__free_orphans(struct wasm_instance *list)
{
    while (list != NULL) {
        struct wasm_instance *next = list->next_orphan;
        instance_destroy(list);
        list = next;
    }
}

void wasm_instance_free(struct wasm_instance *inst)
{
    if (inst != NULL)
        instance_destroy(inst);
}

/* A failed instantiation may already have stored references to its functions in objects it
 * imported (element segments into an imported table, a start function writing a table or a
 * funcref global), and the spec says those writes stay visible: linking.wast calls such a
 * function afterwards. So instead of freeing, hand the instance to the first such object, which
 * frees it with itself. The instance gives up its reference to that keeper to avoid a cycle. */
static void orphan_or_free(struct wasm_instance *inst)
{
    const struct wasm_module *m = inst->module;

    for (uint32_t i = 0; i < m->ntable_imports; i++) {
        struct wasm_table *t = inst->tables[i];
        if (t->elem != WASM_FUNCREF)
            continue;
        inst->keeper = t;
        inst->next_orphan = t->orphans;
        t->orphans = inst;
        wasm_table_unref(t);
        return;
    }
    for (uint32_t i = 0; i < m->nglobal_imports; i++) {
        struct wasm_global *g = inst->globals[i];
        if (g->type != WASM_FUNCREF || !g->mutable_)
            continue;
        inst->keeper = g;
        inst->next_orphan = g->orphans;
        g->orphans = inst;
        wasm_global_unref(g);
        return;
    }
    instance_destroy(inst);
}

static int link_imports(struct wasm_instance *inst, const struct wasm_instance_options *opt)
{
    const struct wasm_module *m = inst->module;
    uint32_t nfunc = 0, ntable = 0, nglobal = 0;

    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasm_extern *ext = &opt->imports[i];
        switch (ext->kind) {
        case WASM_EXTERN_FUNC:
            inst->funcs[nfunc++] = ext->of.func;
            break;
        case WASM_EXTERN_TABLE:
            inst->tables[ntable++] = wasm_table_ref(ext->of.table);
            break;
        case WASM_EXTERN_MEMORY:
            inst->memory = wasm_memory_ref(ext->of.memory);
            break;
        case WASM_EXTERN_GLOBAL:
            inst->globals[nglobal++] = wasm_global_ref(ext->of.global);
            break;
        }
    }
    return 0;
}

static int make_memory(struct wasm_instance *inst, const struct wasm_instance_options *opt,
                       struct wasm_error *err)
{
    const struct wasm_module *m = inst->module;
    const struct wasm_limits *lim;
    uint32_t max;

    if (m->nmemories_total == 0 || m->nmemory_imports > 0)
        return 0;
    lim = &m->memories[0];
    if (opt->memory != NULL) {
        if (wasm_memory_size(opt->memory) < lim->min * WASM_PAGE_SIZE ||
            opt->memory->max_pages < lim->min)
            return wasm_error_set(err, WASM_EARGS,
                                  "the memory given is smaller than the module's %u pages",
                                  (unsigned)lim->min);
        inst->memory = wasm_memory_ref(opt->memory);
        return 0;
    }
    max = lim->has_max ? (uint32_t)lim->max : 65536;
    inst->memory = wasm_memory_new((uint32_t)lim->min, max, lim->shared, err);
    if (inst->memory == NULL)
        return err->code;
    /* 65536 pages is only the engine's ceiling here, not a declared maximum. */
    inst->memory->has_max = lim->has_max;
    return 0;
}

static int make_objects(struct wasm_instance *inst, struct wasm_error *err)
{
    const struct wasm_module *m = inst->module;

    for (uint32_t k = 0; k < m->nfuncs; k++) {
        struct wasm_func *f = &inst->own_funcs[k];
        uint32_t index = m->nfunc_imports + k;

        f->type = wasm_module_functype(m, index);
        f->inst = inst;
        f->index = index;
        f->def = &m->funcs[k];
        inst->funcs[index] = f;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables_total; i++) {
        const struct wasm_tabletype *tt = &m->tables[i];
        inst->tables[i] = wasm_table_new(tt->elem, (uint32_t)tt->limits.min,
                                         (uint32_t)tt->limits.max, tt->limits.has_max, err);
        if (inst->tables[i] == NULL)
            return err->code;
    }
    /* Globals are evaluated in order; an initialiser can read imported globals and refer to
     * any function, both of which exist by now. */
    for (uint32_t k = 0; k < m->nglobals; k++) {
        const struct wasm_global_def *def = &m->globals[k];
        struct wasm_global *g = calloc(1, sizeof(*g));

        if (g == NULL)
            return wasm_error_set(err, ENOMEM, "out of memory");
        atomic_init(&g->refs, 1);
        g->type = def->type.type;
        g->mutable_ = def->type.mutable_;
        g->value = wasm_instance__const_eval(inst, &def->init);
        inst->globals[m->nglobal_imports + k] = g;
    }
    return 0;
}

/* Active element segments behave like table.init followed by elem.drop; declarative ones are
 * only dropped. A segment out of bounds traps and ends instantiation, leaving the effects of
 * the earlier ones in place. */
static int apply_elems(struct wasm_instance *inst, struct wasm_error *err)
{
    const struct wasm_module *m = inst->module;

    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        struct wasm_table *t;
        uint32_t offset;

        if (e->mode == WASM_SEG_DECLARATIVE)
            inst->elem_dropped[i] = 1;
        if (e->mode != WASM_SEG_ACTIVE)
            continue;
        t = inst->tables[e->table];
        offset = (uint32_t)wasm_instance__const_eval(inst, &e->offset);
        if ((uint64_t)offset + e->count > t->size)
            return wasm_error_set(err, WASM_TRAP_OOB_TABLE, "out of bounds table access");
        for (uint32_t j = 0; j < e->count; j++)
            t->elems[offset + j] = (void *)(uintptr_t)wasm_instance__const_eval(inst, &e->items[j]);
        inst->elem_dropped[i] = 1;
    }
    return 0;
}

static int apply_datas(struct wasm_instance *inst, bool preloaded, struct wasm_error *err)
{
    const struct wasm_module *m = inst->module;

    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasm_data *d = &m->datas[i];
        uint32_t offset;

        if (d->mode != WASM_SEG_ACTIVE)
            continue;
        /* A preloaded memory was built from the module's image, which only exists when every
         * segment fits; the copies are already there. */
        if (!preloaded) {
            offset = (uint32_t)wasm_instance__const_eval(inst, &d->offset);
            if ((uint64_t)offset + d->len > wasm_memory_size(inst->memory))
                return wasm_error_set(err, WASM_TRAP_OOB_MEMORY, "out of bounds memory access");
            if (d->len > 0)
                memcpy(wasm_memory_base(inst->memory) + offset, d->bytes, d->len);
        }
        inst->data_dropped[i] = 1;
    }
    return 0;
}

static int run_start(struct wasm_instance *inst, struct wasm_exec *ex, struct wasm_error *err)
{
    const struct wasm_module *m = inst->module;
    struct wasm_exec *tmp = NULL;
    int rc;

    if (!m->has_start)
        return 0;
    if (ex == NULL) {
        struct wasm_exec_options eo;
        memset(&eo, 0, sizeof(eo));
        tmp = wasm_exec_new(&eo, err);
        if (tmp == NULL)
            return err->code;
        ex = tmp;
    }
    rc = wasm_call(ex, inst->funcs[m->start], NULL, 0, NULL, 0);
    wasm_exec_free(tmp);
    if (rc < 0)
        return wasm_error_set(err, rc, "start function: %s", wasm_strerror(rc));
    return 0;
}

/* The embedder's cap on the module's own tables (opt->max_table_elements): one over it at the
 * start fails, the others get it as their maximum, so table.grow past it returns -1 like a
 * memory.grow past the pool's max_memory. Runs before any segment is applied. */
static int cap_tables(struct wasm_instance *inst, const struct wasm_instance_options *opt,
                      struct wasm_error *err)
{
    uint32_t cap = opt->max_table_elements;

    if (cap == 0)
        return 0;
    for (uint32_t i = inst->module->ntable_imports; i < inst->ntables; i++) {
        struct wasm_table *t = inst->tables[i];

        if (t->size > cap)
            return wasm_error_set(err, WASM_ELIMIT,
                                  "table %u starts with %u entries, more than the limit of %u", i,
                                  t->size, cap);
        if (t->max > cap)
            t->max = cap;
    }
    return 0;
}

struct wasm_instance *wasm_instance_new(const struct wasm_module *m,
                                        const struct wasm_instance_options *opt,
                                        struct wasm_error *err)
{
    static const struct wasm_instance_options no_options;
    struct wasm_instance *inst = NULL;
    struct wasm_error local_err;
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
    wasm_error_set(err, ENOMEM, "out of memory");
fail:
    if (inst != NULL) {
        if (effects)
            orphan_or_free(inst);
        else
            instance_destroy(inst);
    }
    return NULL;
}

const struct wasm_module *wasm_instance_module(const struct wasm_instance *inst)
{
    return inst->module;
}

struct wasm_memory *wasm_instance_memory(const struct wasm_instance *inst)
{
    return inst->memory;
}

int wasm_instance_export(const struct wasm_instance *inst, const char *name, size_t name_len,
                         struct wasm_extern *out)
{
    const struct wasm_module *m = inst->module;

    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wasm_export *e = &m->exports[i];

        /* Names may hold NUL bytes: compare lengths, then bytes. */
        if (e->name_len != name_len || memcmp(e->name, name, name_len) != 0)
            continue;
        out->kind = e->kind;
        switch (e->kind) {
        case WASM_EXTERN_FUNC:
            out->of.func = inst->funcs[e->index];
            break;
        case WASM_EXTERN_TABLE:
            out->of.table = inst->tables[e->index];
            break;
        case WASM_EXTERN_MEMORY:
            out->of.memory = inst->memory;
            break;
        case WASM_EXTERN_GLOBAL:
            out->of.global = inst->globals[e->index];
            break;
        }
        return 0;
    }
    return -WASM_ENOTFOUND;
}
