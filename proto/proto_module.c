/* proto_module.c: the description of a module's exported functions in the modules reply. */
#include "config.h"

#include "proto.h"

/* Kept apart from proto.c so that programs which never describe modules (the client) do not
 * pull the module introspection part of libwasmslot into their link. */

static json_t *types_json(const enum wasmslot_valtype *types, uint32_t n)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const char *name = wasmslot_valtype_name(types[i]);

        if (json_array_append_new(arr, json_string(name != NULL ? name : "unknown")) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *proto_module_json(const char *name, const struct wasmslot_module *m)
{
    json_t *exports = json_array();
    json_t *mod = NULL;
    uint32_t n = wasmslot_module_export_count(m);

    if (exports == NULL)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_extern_desc d;
        json_t *e;

        if (wasmslot_module_export(m, i, &d) != 0 || d.kind != WASMSLOT_EXTERN_FUNC)
            continue;
        e = json_pack("{s:s%, s:o, s:o}", "name", d.name, d.name_len, "params",
                      types_json(d.func.params, d.func.nparams), "results",
                      types_json(d.func.results, d.func.nresults));
        /* A name that is not valid UTF-8 cannot be said in JSON; such an export is left out
         * rather than failing the whole listing. */
        if (e != NULL && json_array_append_new(exports, e) != 0)
            goto fail;
    }
    mod = json_pack("{s:s, s:o}", "name", name, "exports", exports);
    return mod;
fail:
    json_decref(exports);
    return NULL;
}
