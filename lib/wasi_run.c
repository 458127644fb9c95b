/* wasi_run.c: linking a module's imports to the WASI host functions, and running a WASI
 * command's _start with a state, an exec and a fresh or given instance. */
#include "config.h"

#include "wasi.h"

#include "wasm_module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ imports */

struct wasi_imports {
    uint32_t n;
    struct wasm_extern *ext;
    struct wasm_func **owned; /* host functions made here, n entries (NULL where none) */
};

#define SIG_MAX 16

/* The function type a signature string describes, into arrays of SIG_MAX entries. */
static void sig_type(const char *sig, struct wasm_functype *ft, enum wasm_valtype *params,
                     enum wasm_valtype *results)
{
    uint32_t *count = &ft->nparams;
    enum wasm_valtype *dst = params;

    ft->nparams = ft->nresults = 0;
    ft->params = params;
    ft->results = results;
    for (const char *p = sig; *p; p++) {
        if (*p == ':') {
            count = &ft->nresults;
            dst = results;
            continue;
        }
        dst[(*count)++] = *p == 'I' ? WASM_I64 : WASM_I32;
    }
}

/* The host function for WASI import d, or NULL with err filled. */
static struct wasm_func *wasi_import_func(const struct wasm_extern_desc *d, struct wasi *bound,
                                          struct wasm_error *err)
{
    const struct wasi__fn *fn = wasi__lookup(d->name, d->name_len);
    enum wasm_valtype params[SIG_MAX], results[SIG_MAX];
    struct wasm_functype ft;

    if (d->kind != WASM_EXTERN_FUNC) {
        wasm_error_set(err, WASM_EUNLINKABLE, "%s::%.*s: incompatible import type",
                       WASI_MODULE_NAME, (int)d->name_len, d->name);
        return NULL;
    }
    if (fn) {
        sig_type(fn->sig, &ft, params, results);
        if (!wasm_functype_equal(&ft, &d->func)) {
            wasm_error_set(err, WASM_EUNLINKABLE, "%s::%.*s: incompatible import type",
                           WASI_MODULE_NAME, (int)d->name_len, d->name);
            return NULL;
        }
        return wasm_func_new_host(&ft, fn->fn, bound, NULL, err);
    }
    /* A preview1 function this library does not implement: link it anyway so the program
     * runs, and answer NOSYS if it is ever called. Every preview1 function returns one
     * errno, so anything else is not a WASI function at all. */
    if (d->func.nresults != 1 || d->func.results[0] != WASM_I32) {
        wasm_error_set(err, WASM_EUNLINKABLE, "%s::%.*s: incompatible import type",
                       WASI_MODULE_NAME, (int)d->name_len, d->name);
        return NULL;
    }
    return wasm_func_new_host(&d->func, wasi__nosys, bound, NULL, err);
}

struct wasi_imports *wasi_imports_new(const struct wasm_module *m, struct wasi *bound,
                                      const struct wasm_extern *others, struct wasm_error *err)
{
    struct wasi_imports *wi = calloc(1, sizeof(*wi));
    uint32_t n = wasm_module_import_count(m);

    if (!wi)
        goto nomem;
    wi->ext = calloc(n ? n : 1, sizeof(*wi->ext));
    wi->owned = calloc(n ? n : 1, sizeof(*wi->owned));
    if (!wi->ext || !wi->owned)
        goto nomem;
    wi->n = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_extern_desc d;
        int rc = wasm_module_import(m, i, &d);

        if (rc < 0) {
            wasm_error_set(err, rc, "import %u: %s", i, wasm_strerror(rc));
            goto fail;
        }
        if (d.module_len == strlen(WASI_MODULE_NAME) &&
            memcmp(d.module, WASI_MODULE_NAME, d.module_len) == 0) {
            wi->owned[i] = wasi_import_func(&d, bound, err);
            if (!wi->owned[i])
                goto fail;
            wi->ext[i].kind = WASM_EXTERN_FUNC;
            wi->ext[i].of.func = wi->owned[i];
        } else if (others) {
            wi->ext[i] = others[i];
        } else {
            wasm_error_set(err, WASM_EUNLINKABLE, "unknown import %.*s::%.*s", (int)d.module_len,
                           d.module, (int)d.name_len, d.name);
            goto fail;
        }
    }
    return wi;
nomem:
    wasm_error_set(err, ENOMEM, "out of memory for the WASI imports");
fail:
    wasi_imports_free(wi);
    return NULL;
}

const struct wasm_extern *wasi_imports_externs(const struct wasi_imports *wi, uint32_t *n)
{
    *n = wi->n;
    return wi->ext;
}

void wasi_imports_free(struct wasi_imports *wi)
{
    if (!wi)
        return;
    if (wi->owned)
        for (uint32_t i = 0; i < wi->n; i++)
            wasm_func_free_host(wi->owned[i]);
    free(wi->owned);
    free(wi->ext);
    free(wi);
}

/* ------------------------------------------------------------------ running a command */

int wasi_run(struct wasi *w, struct wasm_exec *ex, const struct wasm_module *m,
             struct wasm_instance *inst, int *exit_code, struct wasm_error *err)
{
    struct wasm_error local;
    struct wasi_imports *wi = NULL;
    struct wasm_instance *own = NULL;
    struct wasm_extern start;
    const struct wasm_functype *ft;
    void *saved;
    int rc;

    if (!err)
        err = &local;
    if (!w || !ex || !exit_code || (!m && !inst))
        return wasm_error_set(err, EINVAL, "wasi_run: missing state, exec or module");
    wasi_reset(w);
    saved = wasm_exec_user(ex);
    wasm_exec_set_user(ex, w);
    if (!inst) {
        struct wasm_instance_options opt = {0};

        wi = wasi_imports_new(m, NULL, NULL, err);
        if (!wi) {
            rc = err->code < 0 ? err->code : -WASM_EUNLINKABLE;
            goto out;
        }
        opt.imports = wasi_imports_externs(wi, &opt.nimports);
        opt.exec = ex;
        own = wasm_instance_new(m, &opt, err);
        if (!own) {
            rc = err->code < 0 ? err->code : -WASM_EUNLINKABLE;
            /* proc_exit inside a start function still ends the program normally. */
            if (rc == -WASM_EEXIT)
                goto exited;
            goto out;
        }
        inst = own;
    }
    rc = wasm_instance_export(inst, "_start", 6, &start);
    if (rc < 0 || start.kind != WASM_EXTERN_FUNC) {
        rc = wasm_error_set(err, WASM_ENOTFOUND, "the module exports no function \"_start\"");
        goto out;
    }
    ft = wasm_func_type(start.of.func);
    if (ft->nparams != 0 || ft->nresults != 0) {
        rc = wasm_error_set(err, WASM_EARGS, "\"_start\" must take and return nothing");
        goto out;
    }
    rc = wasm_call(ex, start.of.func, NULL, 0, NULL, 0);
    if (rc == 0) {
        *exit_code = 0;
        goto out;
    }
    if (rc != -WASM_EEXIT) {
        wasm_error_set(err, rc, "%s", wasm_strerror(rc));
        goto out;
    }
exited:
    *exit_code = w->exited ? w->exit_code : wasm_exec_exit_code(ex);
    rc = 0;
out:
    wasm_instance_free(own);
    wasi_imports_free(wi);
    wasm_exec_set_user(ex, saved);
    return rc;
}
