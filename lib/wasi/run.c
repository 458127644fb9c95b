/* wasi/run.c: linking a module's imports to the WASI host functions, and running a WASI
 * command's _start with a state, an exec and a fresh or given instance. */
#include "config.h"

#include "wasi/wasi.h"

#include "format/module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ imports */

struct wasmslot_wasi_imports {
    uint32_t n;
    struct wasmslot_extern *ext;
    struct wasmslot_func **owned; /* host functions made here, n entries (NULL where none) */
};

#define SIG_MAX 16

/* The function type a signature string describes, into arrays of SIG_MAX entries. */
static void sig_type(const char *sig, struct wasmslot_functype *ft, enum wasmslot_valtype *params,
                     enum wasmslot_valtype *results)
{
    uint32_t *count = &ft->nparams;
    enum wasmslot_valtype *dst = params;

    ft->nparams = ft->nresults = 0;
    ft->params = params;
    ft->results = results;
    for (const char *p = sig; *p; p++) {
        if (*p == ':') {
            count = &ft->nresults;
            dst = results;
            continue;
        }
        dst[(*count)++] = *p == 'I' ? WASMSLOT_I64 : WASMSLOT_I32;
    }
}

/* The host function for WASI import d, or NULL with err filled. */
static struct wasmslot_func *wasi_import_func(const struct wasmslot_extern_desc *d,
                                              struct wasmslot_wasi *bound,
                                              struct wasmslot_error *err)
{
    const struct wasi__fn *fn = wasi__lookup(d->name, d->name_len);
    enum wasmslot_valtype params[SIG_MAX], results[SIG_MAX];
    struct wasmslot_functype ft;

    if (d->kind != WASMSLOT_EXTERN_FUNC) {
        wasmslot_error_set(err, WASMSLOT_EUNLINKABLE, "%s::%.*s: incompatible import type",
                           WASI_MODULE_NAME, (int)d->name_len, d->name);
        return NULL;
    }
    if (fn) {
        sig_type(fn->sig, &ft, params, results);
        if (!wasmslot_functype_equal(&ft, &d->func)) {
            wasmslot_error_set(err, WASMSLOT_EUNLINKABLE, "%s::%.*s: incompatible import type",
                               WASI_MODULE_NAME, (int)d->name_len, d->name);
            return NULL;
        }
        return wasmslot_func_new_host(&ft, fn->fn, bound, NULL, err);
    }
    /* A preview1 function this library does not implement: link it anyway so the program
     * runs, and answer NOSYS if it is ever called. Every preview1 function returns one
     * errno, so anything else is not a WASI function at all. */
    if (d->func.nresults != 1 || d->func.results[0] != WASMSLOT_I32) {
        wasmslot_error_set(err, WASMSLOT_EUNLINKABLE, "%s::%.*s: incompatible import type",
                           WASI_MODULE_NAME, (int)d->name_len, d->name);
        return NULL;
    }
    return wasmslot_func_new_host(&d->func, wasi__nosys, bound, NULL, err);
}

struct wasmslot_wasi_imports *wasmslot_wasi_imports_new(const struct wasmslot_module *m,
                                                        struct wasmslot_wasi *bound,
                                                        const struct wasmslot_extern *others,
                                                        struct wasmslot_error *err)
{
    struct wasmslot_wasi_imports *wi = calloc(1, sizeof(*wi));
    uint32_t n = wasmslot_module_import_count(m);

    if (!wi)
        goto nomem;
    wi->ext = calloc(n ? n : 1, sizeof(*wi->ext));
    wi->owned = calloc(n ? n : 1, sizeof(*wi->owned));
    if (!wi->ext || !wi->owned)
        goto nomem;
    wi->n = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_extern_desc d;
        int rc = wasmslot_module_import(m, i, &d);

        if (rc < 0) {
            wasmslot_error_set(err, rc, "import %u: %s", i, wasmslot_strerror(rc));
            goto fail;
        }
        if (d.module_len == strlen(WASI_MODULE_NAME) &&
            memcmp(d.module, WASI_MODULE_NAME, d.module_len) == 0) {
            wi->owned[i] = wasi_import_func(&d, bound, err);
            if (!wi->owned[i])
                goto fail;
            wi->ext[i].kind = WASMSLOT_EXTERN_FUNC;
            wi->ext[i].of.func = wi->owned[i];
        } else if (others) {
            wi->ext[i] = others[i];
        } else {
            wasmslot_error_set(err, WASMSLOT_EUNLINKABLE, "unknown import %.*s::%.*s",
                               (int)d.module_len, d.module, (int)d.name_len, d.name);
            goto fail;
        }
    }
    return wi;
nomem:
    wasmslot_error_set(err, ENOMEM, "out of memory for the WASI imports");
fail:
    wasmslot_wasi_imports_free(wi);
    return NULL;
}

const struct wasmslot_extern *wasmslot_wasi_imports_externs(const struct wasmslot_wasi_imports *wi,
                                                            uint32_t *n)
{
    *n = wi->n;
    return wi->ext;
}

void wasmslot_wasi_imports_free(struct wasmslot_wasi_imports *wi)
{
    if (!wi)
        return;
    if (wi->owned)
        for (uint32_t i = 0; i < wi->n; i++)
            wasmslot_func_free_host(wi->owned[i]);
    free(wi->owned);
    free(wi->ext);
    free(wi);
}

/* ------------------------------------------------------------------ running a command */

int wasmslot_wasi_run(struct wasmslot_wasi *w, struct wasmslot_exec *ex,
                      const struct wasmslot_module *m, struct wasmslot_instance *inst,
                      int *exit_code, struct wasmslot_error *err)
{
    struct wasmslot_error local;
    struct wasmslot_wasi_imports *wi = NULL;
    struct wasmslot_instance *own = NULL;
    struct wasmslot_extern start;
    const struct wasmslot_functype *ft;
    void *saved;
    int rc;

    if (!err)
        err = &local;
    if (!w || !ex || !exit_code || (!m && !inst))
        return wasmslot_error_set(err, EINVAL, "wasmslot_wasi_run: missing state, exec or module");
    wasmslot_wasi_reset(w);
    saved = wasmslot_exec_user(ex);
    wasmslot_exec_set_user(ex, w);
    if (!inst) {
        struct wasmslot_instance_options opt = {0};

        wi = wasmslot_wasi_imports_new(m, NULL, NULL, err);
        if (!wi) {
            rc = err->code < 0 ? err->code : -WASMSLOT_EUNLINKABLE;
            goto out;
        }
        opt.imports = wasmslot_wasi_imports_externs(wi, &opt.nimports);
        opt.exec = ex;
        own = wasmslot_instance_new(m, &opt, err);
        if (!own) {
            rc = err->code < 0 ? err->code : -WASMSLOT_EUNLINKABLE;
            /* proc_exit inside a start function still ends the program normally. */
            if (rc == -WASMSLOT_EEXIT)
                goto exited;
            goto out;
        }
        inst = own;
    }
    rc = wasmslot_instance_export(inst, "_start", 6, &start);
    if (rc < 0 || start.kind != WASMSLOT_EXTERN_FUNC) {
        rc = wasmslot_error_set(err, WASMSLOT_ENOTFOUND,
                                "the module exports no function \"_start\"");
        goto out;
    }
    ft = wasmslot_func_type(start.of.func);
    if (ft->nparams != 0 || ft->nresults != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EARGS, "\"_start\" must take and return nothing");
        goto out;
    }
    rc = wasmslot_call(ex, start.of.func, NULL, 0, NULL, 0);
    if (rc == 0) {
        *exit_code = 0;
        goto out;
    }
    if (rc != -WASMSLOT_EEXIT) {
        wasmslot_error_set(err, rc, "%s", wasmslot_strerror(rc));
        goto out;
    }
exited:
    *exit_code = w->exited ? w->exit_code : wasmslot_exec_exit_code(ex);
    rc = 0;
out:
    wasmslot_instance_free(own);
    wasmslot_wasi_imports_free(wi);
    wasmslot_exec_set_user(ex, saved);
    return rc;
}
