/* shm.c: the daemon's shared memories: made before fork, kept across reloads, bound to module
 * imports, and their statistics. */
#include "config.h"

#include "shm.h"

#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The memory prev holds for a section equal to sh (same name, min and max), or NULL. */
static struct wasmslot_memory *find_kept(const struct modset *prev, const struct cfg_shmem *sh)
{
    if (prev == NULL)
        return NULL;
    for (size_t i = 0; i < prev->nshm; i++) {
        const struct cfg_shmem *o = prev->shm[i].cfg;
        if (strcmp(o->name, sh->name) == 0 && o->min == sh->min && o->max == sh->max)
            return prev->shm[i].mem;
    }
    return NULL;
}

int shm_create(struct modset *ms, const struct config *cfg, const struct modset *prev, char *err,
               size_t errlen)
{
    if (cfg->nshmems == 0)
        return 0;
    ms->shm = calloc(cfg->nshmems, sizeof(*ms->shm));
    if (ms->shm == NULL) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        return -1;
    }
    for (size_t i = 0; i < cfg->nshmems; i++) {
        const struct cfg_shmem *sh = &cfg->shmems[i];
        struct modset_shm *s = &ms->shm[i];
        struct wasmslot_memory *old = find_kept(prev, sh);
        struct wasmslot_error werr = {0};
        char memfd_name[80];

        s->cfg = sh;
        for (size_t m = 0; m < cfg->nmodules; m++)
            for (size_t k = 0; k < cfg->modules[m].nimports; k++)
                if (strcmp(cfg->modules[m].imports[k].shmem, sh->name) == 0)
                    s->bindings++;
        if (old != NULL) {
            /* An unchanged section keeps its bytes: the old generation's workers and the new
             * one's map the same memfd until the old ones exit. */
            s->mem = wasmslot_memory_ref(old);
            s->kept = true;
            ms->nshm = i + 1;
            continue;
        }
        snprintf(memfd_name, sizeof(memfd_name), "wasmslotd-shmem-%s", sh->name);
        s->mem = wasmslot_shmem_new(memfd_name, (uint32_t)(sh->min / WASMSLOT_PAGE_SIZE),
                                    (uint32_t)(sh->max / WASMSLOT_PAGE_SIZE), &werr);
        if (s->mem == NULL) {
            snprintf(err, errlen, "%s:%d: shmem '%s': cannot make it: %s", cfg->file, sh->line,
                     sh->name, werr.message[0] ? werr.message : wasmslot_strerror(werr.code));
            return -1;
        }
        ms->nshm = i + 1;
    }
    return 0;
}

void shm_release(struct modset *ms)
{
    for (size_t i = 0; i < ms->nshm; i++)
        wasmslot_memory_unref(ms->shm[i].mem);
    free(ms->shm);
    ms->shm = NULL;
    ms->nshm = 0;
}

int shm_find(const struct modset *ms, const char *name)
{
    for (size_t i = 0; i < ms->nshm; i++)
        if (strcmp(ms->shm[i].cfg->name, name) == 0)
            return (int)i;
    return -1;
}

/* What the last stub called on this thread said: the reply is built on the thread that ran the
 * guest, right after the run. */
static __thread char unlinked_detail[192];

/* The function of every stubbed import: env is its "MODULE.NAME". */
static int unlinked_import(struct wasmslot_call_ctx *ctx, void *env,
                           const struct wasmslot_value *args, struct wasmslot_value *results)
{
    (void)ctx;
    (void)args;
    (void)results;
    snprintf(unlinked_detail, sizeof(unlinked_detail),
             "unlinked import %s was called (the pool has unknown_imports = trap)",
             (const char *)env);
    return -WASMSLOT_TRAP_UNLINKED_IMPORT;
}

const char *shm_trap_detail(int rc)
{
    return rc == -WASMSLOT_TRAP_UNLINKED_IMPORT && unlinked_detail[0] != '\0' ? unlinked_detail
                                                                              : NULL;
}

/* Give function import i (described by d) of e a stub in others[i]. Returns 0, or -1 with
 * err filled. */
static int stub_one(struct modset_entry *e, uint32_t n, const struct wasmslot_extern_desc *d,
                    struct wasmslot_extern *other, char *err, size_t errlen)
{
    struct wasmslot_error werr = {0};
    struct modset_stub *s;

    if (e->stubs == NULL && (e->stubs = calloc(n, sizeof(*e->stubs))) == NULL)
        goto nomem;
    s = &e->stubs[e->nstubs];
    if (asprintf(&s->name, "%.*s.%.*s", (int)d->module_len, d->module, (int)d->name_len,
                 d->name) < 0) {
        s->name = NULL;
        goto nomem;
    }
    s->func = wasmslot_func_new_host(&d->func, unlinked_import, s->name, NULL, &werr);
    if (s->func == NULL) {
        free(s->name);
        s->name = NULL;
        goto nomem;
    }
    e->nstubs++;
    other->kind = WASMSLOT_EXTERN_FUNC;
    other->of.func = s->func;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static bool is_wasi(const struct wasmslot_extern_desc *d)
{
    static const char wasi[] = "wasi_snapshot_preview1";
    return d->module_len == sizeof(wasi) - 1 && memcmp(d->module, wasi, d->module_len) == 0;
}

static bool names_equal(const struct wasmslot_extern_desc *d, const struct cfg_import *im)
{
    return d->module_len == strlen(im->module) &&
           memcmp(d->module, im->module, d->module_len) == 0 && d->name_len == strlen(im->name) &&
           memcmp(d->name, im->name, d->name_len) == 0;
}

static const char *kind_name(enum wasmslot_externkind k)
{
    switch (k) {
    case WASMSLOT_EXTERN_FUNC:
        return "function";
    case WASMSLOT_EXTERN_TABLE:
        return "table";
    case WASMSLOT_EXTERN_MEMORY:
        return "memory";
    case WASMSLOT_EXTERN_GLOBAL:
        return "global";
    }
    return "?";
}

/* Check binding im of module m against the shared memory sh; fill *slot with the memory and
 * return 0, or -1 with a reason in err. */
static int bind_one(const struct wasmslot_module *m, const struct cfg_import *im,
                    const struct modset_shm *sh, struct wasmslot_extern *others, char *err,
                    size_t errlen)
{
    uint32_t n = wasmslot_module_import_count(m);
    uint64_t min_pages = sh->cfg->min / WASMSLOT_PAGE_SIZE,
             max_pages = sh->cfg->max / WASMSLOT_PAGE_SIZE;

    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_extern_desc d;
        if (wasmslot_module_import(m, i, &d) < 0 || !names_equal(&d, im))
            continue;
        if (d.kind != WASMSLOT_EXTERN_MEMORY) {
            snprintf(err, errlen, "import = %s.%s: that import is a %s, not a memory", im->module,
                     im->name, kind_name(d.kind));
            return -1;
        }
        if (!d.limits.shared) {
            snprintf(err, errlen,
                     "import = %s.%s: the module imports an unshared memory; only a "
                     "memory declared shared can be bound to a [shmem]",
                     im->module, im->name);
            return -1;
        }
        if (d.limits.min > min_pages) {
            snprintf(err, errlen,
                     "import = %s.%s: the module needs at least %llu pages, shmem '%s' "
                     "starts at %llu",
                     im->module, im->name, (unsigned long long)d.limits.min, sh->cfg->name,
                     (unsigned long long)min_pages);
            return -1;
        }
        if (d.limits.has_max && d.limits.max < max_pages) {
            snprintf(err, errlen,
                     "import = %s.%s: shmem '%s' may grow to %llu pages, more than the "
                     "import's maximum of %llu",
                     im->module, im->name, sh->cfg->name, (unsigned long long)max_pages,
                     (unsigned long long)d.limits.max);
            return -1;
        }
        others[i].kind = WASMSLOT_EXTERN_MEMORY;
        others[i].of.memory = sh->mem;
        return 0;
    }
    snprintf(err, errlen, "import = %s.%s: the module has no import %s.%s", im->module, im->name,
             im->module, im->name);
    return -1;
}

int shm_imports(struct modset *ms, const struct cfg_module *cm, struct modset_entry *e,
                int *line, char *err, size_t errlen)
{
    const struct wasmslot_module *m = e->module;
    struct wasmslot_wasi_imports **out = &e->wasi;
    uint32_t n = wasmslot_module_import_count(m);
    struct wasmslot_extern *others = NULL;
    struct wasmslot_error werr = {0};
    int rc = -1;

    *out = NULL;
    if (n == 0 && cm->nimports == 0)
        return 0;
    others = calloc(n ? n : 1, sizeof(*others));
    if (others == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < cm->nimports; k++) {
        int s = shm_find(ms, cm->imports[k].shmem);
        if (s < 0) {
            /* cfg_load checked it; a set loaded from another config would be a bug. */
            snprintf(err, errlen, "import = %s.%s: no shmem '%s'", cm->imports[k].module,
                     cm->imports[k].name, cm->imports[k].shmem);
            goto done;
        }
        if (bind_one(m, &cm->imports[k], &ms->shm[s], others, err, errlen) < 0) {
            *line = cm->imports[k].line;
            goto done;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_extern_desc d;
        if (wasmslot_module_import(m, i, &d) < 0 || is_wasi(&d) ||
            (d.kind == WASMSLOT_EXTERN_MEMORY && others[i].of.memory != NULL))
            continue;
        if (d.kind == WASMSLOT_EXTERN_FUNC && cm->unknown_imports_trap) {
            if (stub_one(e, n, &d, &others[i], err, errlen) < 0)
                goto done;
            continue;
        }
        if (d.kind == WASMSLOT_EXTERN_MEMORY)
            snprintf(err, errlen,
                     "it imports the memory %.*s.%.*s: bind it to a shared memory with "
                     "'import = %.*s.%.*s shmem:NAME' and a [shmem NAME] section",
                     (int)d.module_len, d.module, (int)d.name_len, d.name, (int)d.module_len,
                     d.module, (int)d.name_len, d.name);
        else
            snprintf(err, errlen,
                     "unknown import %.*s::%.*s (wasmslotd provides wasi_snapshot_preview1 and "
                     "[shmem] memories only; unknown_imports = trap links a function import "
                     "that nothing provides to one that traps when called)",
                     (int)d.module_len, d.module, (int)d.name_len, d.name);
        goto done;
    }
    *out = wasmslot_wasi_imports_new(m, NULL, others, &werr);
    if (*out == NULL) {
        snprintf(err, errlen, "%s (wasmslotd provides wasi_snapshot_preview1 only)",
                 werr.message[0] ? werr.message : wasmslot_strerror(werr.code));
        goto done;
    }
    rc = 0;
done:
    free(others);
    return rc;
}

void shm_stats(const struct modset *ms, size_t i, wasmslot_stats_sink_fn sink, void *arg)
{
    const struct modset_shm *s = &ms->shm[i];

    wasmslot_shmem_stats(s->mem, sink, arg);
    sink(arg, "bindings", WASMSLOT_STATS_GAUGE, s->bindings);
    /* The reference count is per process (wasmslot.h): the config's own reference plus one per
     * live instance of the answering worker. */
    sink(arg, "references", WASMSLOT_STATS_GAUGE, wasmslot_memory_refs(s->mem));
}

/* A wasmslot_stats_sink_fn prefixing "shmem_" to every name. */
static void shmem_sample(void *arg, const char *name, enum wasmslot_stats_kind kind, uint64_t value)
{
    char full[64];

    snprintf(full, sizeof(full), "shmem_%s", name);
    proto_stats_add(arg, full, kind, value);
}

void shm_stats_add(const struct modset *ms, struct proto_stats *st)
{
    proto_stats_clear_labels(st);
    for (size_t i = 0; i < ms->nshm; i++) {
        proto_stats_set_label(st, "shmem", ms->shm[i].cfg->name);
        shm_stats(ms, i, shmem_sample, st);
    }
    proto_stats_clear_labels(st);
}
