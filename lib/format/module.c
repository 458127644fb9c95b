/* format/module.c: the public introspection of a decoded module (its imports, exports, own
 * memory and tables) for embedders and the linker. */
#include "config.h"

#include "format/module.h"

#include <string.h>

uint32_t wasmslot_module_import_count(const struct wasmslot_module *m)
{
    return m->nimports;
}

uint32_t wasmslot_module_export_count(const struct wasmslot_module *m)
{
    return m->nexports;
}

int wasmslot_module_import(const struct wasmslot_module *m, uint32_t i,
                           struct wasmslot_extern_desc *out)
{
    const struct wasmslot_import *im;

    if (i >= m->nimports)
        return -WASMSLOT_ENOTFOUND;
    im = &m->imports[i];
    memset(out, 0, sizeof(*out));
    out->module = im->module;
    out->module_len = im->module_len;
    out->name = im->name;
    out->name_len = im->name_len;
    out->kind = im->kind;
    switch (im->kind) {
    case WASMSLOT_EXTERN_FUNC:
        out->func = m->types[im->u.func_type].ft;
        break;
    case WASMSLOT_EXTERN_TABLE:
        out->elem_type = im->u.table.elem;
        out->limits = im->u.table.limits;
        break;
    case WASMSLOT_EXTERN_MEMORY:
        out->limits = im->u.memory;
        break;
    case WASMSLOT_EXTERN_GLOBAL:
        out->global_type = im->u.global.type;
        out->global_mutable = im->u.global.mutable_;
        break;
    }
    return 0;
}

int wasmslot_module_export(const struct wasmslot_module *m, uint32_t i,
                           struct wasmslot_extern_desc *out)
{
    const struct wasmslot_export *ex;

    if (i >= m->nexports)
        return -WASMSLOT_ENOTFOUND;
    ex = &m->exports[i];
    memset(out, 0, sizeof(*out));
    out->name = ex->name;
    out->name_len = ex->name_len;
    out->kind = ex->kind;
    /* Indices were checked by validation, which every module handed out has passed. */
    switch (ex->kind) {
    case WASMSLOT_EXTERN_FUNC:
        out->func = *wasmslot_module_functype(m, ex->index);
        break;
    case WASMSLOT_EXTERN_TABLE:
        out->elem_type = m->tables[ex->index].elem;
        out->limits = m->tables[ex->index].limits;
        break;
    case WASMSLOT_EXTERN_MEMORY:
        out->limits = m->memories[ex->index];
        break;
    case WASMSLOT_EXTERN_GLOBAL:
        out->global_type = m->global_types[ex->index].type;
        out->global_mutable = m->global_types[ex->index].mutable_;
        break;
    }
    return 0;
}

int wasmslot_module_memory(const struct wasmslot_module *m, struct wasmslot_limits *lim)
{
    if (m->nmemories_total == 0 || m->nmemory_imports != 0)
        return -WASMSLOT_ENOTFOUND;
    *lim = m->memories[0];
    return 0;
}

uint32_t wasmslot_module_table_count(const struct wasmslot_module *m)
{
    return m->ntables_total;
}

int wasmslot_module_table(const struct wasmslot_module *m, uint32_t index,
                          struct wasmslot_limits *lim)
{
    if (index < m->ntable_imports || index >= m->ntables_total)
        return -WASMSLOT_ENOTFOUND;
    *lim = m->tables[index].limits;
    return 0;
}
