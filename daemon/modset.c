/* modset.c: loads and compiles the configured modules in the master and gives each worker its
 * own pools of instances for them. */
#include "config.h"

#include "modset.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A module whose own table starts larger than max_table_elements could never be
 * instantiated: refuse it at load, like a memory starting above max_memory. */
static bool table_over_cap(const struct cfg_module *cm, const struct wasmslot_module *m, char *err,
                           size_t errlen, const char *file)
{
    struct wasmslot_limits lim;

    for (uint32_t i = 0; i < wasmslot_module_table_count(m); i++) {
        if (cm->max_table_elements != 0 && wasmslot_module_table(m, i, &lim) == 0 &&
            lim.min > cm->max_table_elements) {
            snprintf(err, errlen,
                     "%s:%d: module '%s': its table %u starts with %llu entries, more than "
                     "max_table_elements (%u)",
                     file, cm->line, cm->name, i, (unsigned long long)lim.min,
                     cm->max_table_elements);
            return true;
        }
    }
    return false;
}

struct modset *modset_load(const struct config *cfg, char *err, size_t errlen)
{
    return modset_load_reusing(cfg, NULL, err, errlen);
}

struct modset *modset_load_reusing(const struct config *cfg, const struct modset *prev, char *err,
                                   size_t errlen)
{
    struct modset *ms = calloc(1, sizeof(*ms));
    struct modcode **codes = NULL, **prev_codes = NULL;
    enum modcode_origin *origin = NULL;

    if (ms == NULL || (ms->e = calloc(cfg->nmodules, sizeof(*ms->e))) == NULL) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        goto fail;
    }
    /* Before the modules: their import lists hold the memories. */
    if (shm_create(ms, cfg, prev, err, errlen) < 0)
        goto fail;
    if ((codes = calloc(cfg->nmodules ? cfg->nmodules : 1, sizeof(*codes))) == NULL ||
        (origin = calloc(cfg->nmodules ? cfg->nmodules : 1, sizeof(*origin))) == NULL ||
        (prev_codes = calloc(prev != NULL && prev->n ? prev->n : 1, sizeof(*prev_codes))) == NULL) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        goto fail;
    }
    for (size_t i = 0; prev != NULL && i < prev->n; i++)
        prev_codes[i] = prev->e[i].code;
    if (modcode_load(cfg, prev_codes, prev != NULL ? prev->n : 0, codes, origin, err, errlen) < 0)
        goto fail;
    /* Every entry holds its code from here on: modset_free releases them. */
    for (size_t i = 0; i < cfg->nmodules; i++) {
        ms->e[i].code = codes[i];
        ms->e[i].origin = origin[i];
        ms->e[i].module = codes[i]->module;
        ms->e[i].image = codes[i]->image;
        ms->e[i].cfg = &cfg->modules[i];
    }
    ms->n = cfg->nmodules;
    for (size_t i = 0; i < cfg->nmodules; i++) {
        const struct cfg_module *cm = &cfg->modules[i];
        struct modset_entry *e = &ms->e[i];
        struct wasmslot_limits lim;
        char msg[256];
        int line;

        for (uint32_t k = 0; k < wasmslot_module_import_count(e->module); k++) {
            struct wasmslot_extern_desc d;
            if (wasmslot_module_import(e->module, k, &d) == 0 && d.module_len == 22 &&
                memcmp(d.module, "wasi_snapshot_preview1", 22) == 0)
                e->wasi_guest = true;
        }
        line = cm->line;
        if (shm_imports(ms, cm, e, &line, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s:%d: module '%s': %s", cfg->file, line, cm->name, msg);
            goto fail;
        }
        if (cm->max_memory != 0 && wasmslot_module_memory(e->module, &lim) == 0 &&
            lim.min * WASMSLOT_PAGE_SIZE > cm->max_memory) {
            snprintf(err, errlen,
                     "%s:%d: module '%s': its memory starts at %llu pages, more than max_memory "
                     "(%llu pages)",
                     cfg->file, cm->line, cm->name, (unsigned long long)lim.min,
                     (unsigned long long)(cm->max_memory / WASMSLOT_PAGE_SIZE));
            goto fail;
        }
        if (table_over_cap(cm, e->module, err, errlen, cfg->file))
            goto fail;
    }
    free(codes);
    free(origin);
    free(prev_codes);
    return ms;
fail:
    free(codes);
    free(origin);
    free(prev_codes);
    modset_free(ms);
    return NULL;
}

void modset_free(struct modset *ms)
{
    if (ms == NULL)
        return;
    for (size_t i = 0; i < ms->n; i++) {
        wasmslot_wasi_imports_free(ms->e[i].wasi);
        for (size_t k = 0; k < ms->e[i].nstubs; k++) {
            wasmslot_func_free_host(ms->e[i].stubs[k].func);
            free(ms->e[i].stubs[k].name);
        }
        free(ms->e[i].stubs);
        modcode_put(ms->e[i].code);
    }
    shm_release(ms);
    free(ms->e);
    free(ms);
}

int modset_find(const struct modset *ms, const char *name)
{
    for (size_t i = 0; i < ms->n; i++)
        if (strcmp(ms->e[i].cfg->name, name) == 0)
            return (int)i;
    return -1;
}

struct modset_pools {
    const struct modset *ms;
    struct wasmslot_pool **pools; /* one per module */
    pthread_mutex_t publish_mu;   /* serialises publications of pool samples */
};

struct modset_pools *modset_pools_new(const struct modset *ms, char *err, size_t errlen)
{
    struct modset_pools *mp = calloc(1, sizeof(*mp));

    if (mp == NULL || (mp->pools = calloc(ms->n ? ms->n : 1, sizeof(*mp->pools))) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(mp);
        return NULL;
    }
    mp->ms = ms;
    pthread_mutex_init(&mp->publish_mu, NULL);
    for (size_t i = 0; i < ms->n; i++) {
        const struct cfg_module *cm = ms->e[i].cfg;
        struct wasmslot_pool_options o = {
            .slots = cm->slots,
            .max_pages = (uint32_t)(cm->max_memory / WASMSLOT_PAGE_SIZE),
            .reset = cm->reset,
            .keep_max_bytes = cm->reset_keep_max,
        };
        struct wasmslot_error werr = {0};
        mp->pools[i] = wasmslot_pool_new(&o, &werr);
        if (mp->pools[i] == NULL) {
            snprintf(err, errlen, "module '%s': cannot make a pool of %u slots: %s", cm->name,
                     cm->slots, werr.message[0] ? werr.message : wasmslot_strerror(werr.code));
            modset_pools_free(mp);
            return NULL;
        }
    }
    return mp;
}

void modset_pools_free(struct modset_pools *mp)
{
    if (mp == NULL)
        return;
    for (size_t i = 0; i < mp->ms->n; i++)
        wasmslot_pool_free(mp->pools[i]);
    pthread_mutex_destroy(&mp->publish_mu);
    free(mp->pools);
    free(mp);
}

int modset_instantiate(struct modset_pools *mp, size_t mod, struct wasmslot_exec *ex,
                       struct modset_instance *out, struct wasmslot_error *err)
{
    const struct modset_entry *e = &mp->ms->e[mod];
    struct wasmslot_instance_options opt = {.exec = ex,
                                            .max_table_elements = e->cfg->max_table_elements};
    struct wasmslot_slot *s;
    int rc;

    out->mod = mod;
    out->inst = NULL;
    s = wasmslot_pool_acquire(mp->pools[mod], e->image, err);
    if (s == NULL)
        return err->code < 0 ? err->code : -WASMSLOT_EEXHAUSTED;
    if (e->wasi != NULL)
        opt.imports = wasmslot_wasi_imports_externs(e->wasi, &opt.nimports);
    opt.memory = wasmslot_slot_memory(s);
    opt.data_preloaded = opt.memory != NULL && wasmslot_slot_preloaded(s);
    out->inst = wasmslot_instance_new(e->module, &opt, err);
    if (out->inst == NULL) {
        rc = err->code < 0 ? err->code : -WASMSLOT_EUNLINKABLE;
        goto fail;
    }
    /* A WASI reactor exports _initialize (its constructors, its libc's set-up): the ABI calls
     * it once, before any other export. A command has _start instead, which does that itself. */
    if (e->wasi_guest) {
        struct wasmslot_extern init;
        if (wasmslot_instance_export(out->inst, "_initialize", 11, &init) == 0 &&
            init.kind == WASMSLOT_EXTERN_FUNC &&
            wasmslot_func_type(init.of.func)->nparams == 0 &&
            wasmslot_func_type(init.of.func)->nresults == 0) {
            rc = wasmslot_call(ex, init.of.func, NULL, 0, NULL, 0);
            if (rc < 0) {
                err->code = rc;
                snprintf(err->message, sizeof(err->message), "_initialize: %s",
                         wasmslot_strerror(rc));
                wasmslot_instance_free(out->inst);
                out->inst = NULL;
                goto fail;
            }
        }
    }
    out->slot = s;
    return 0;
fail:
    if (wasmslot_is_trap(rc))
        wasmslot_pool_count_trap(mp->pools[mod], rc);
    wasmslot_pool_release(mp->pools[mod], s);
    return rc;
}

void modset_count_trap(struct modset_pools *mp, size_t mod, int rc)
{
    wasmslot_pool_count_trap(mp->pools[mod], rc);
}

int modset_release(struct modset_pools *mp, struct modset_instance *mi)
{
    int rc = 0;

    /* The instance first: it holds a reference to the slot's memory. */
    wasmslot_instance_free(mi->inst);
    mi->inst = NULL;
    if (mi->slot != NULL)
        rc = wasmslot_pool_release(mp->pools[mi->mod], mi->slot);
    mi->slot = NULL;
    return rc;
}

void modset_pool_values(struct modset_pools *mp, size_t mod,
                        uint64_t out[WASMSLOT_POOL_STATS_SAMPLES])
{
    wasmslot_pool_stats_values(mp->pools[mod], out);
}

void modset_pool_stats(struct modset_pools *mp, size_t mod, wasmslot_stats_sink_fn sink, void *arg)
{
    wasmslot_pool_stats(mp->pools[mod], sink, arg);
    wasmslot_image_stats(mp->ms->e[mod].image, sink, arg);
}

void modset_pool_publish(struct modset_pools *mp, size_t mod, struct stats_shm *shm,
                         unsigned worker)
{
    struct stats_publisher pub = {.shm = shm, .worker = worker, .pool = mod};
    uint64_t v[WASMSLOT_POOL_STATS_SAMPLES];

    /* After every call: the names went out with the first publication, so only the values
     * are copied. Read under publish_mu, so that a slower thread cannot overwrite newer values
     * with the older ones it read. */
    pthread_mutex_lock(&mp->publish_mu);
    modset_pool_values(mp, mod, v);
    stats_publish_begin(&pub);
    if (!stats_publish_values(&pub, v, WASMSLOT_POOL_STATS_SAMPLES))
        modset_pool_stats(mp, mod, stats_publish_sample, &pub);
    stats_publish_end(&pub);
    pthread_mutex_unlock(&mp->publish_mu);
}

void modset_stats_add(const struct modset *ms, struct proto_stats *st)
{
    proto_stats_clear_labels(st);
    for (size_t i = 0; i < ms->n; i++) {
        const struct wasmslot_module *m = ms->e[i].module;
        proto_stats_set_label(st, "pool", ms->e[i].cfg->name);
        proto_stats_set_label(st, "engine", wasmslot_engine_name(wasmslot_module_engine(m)));
        proto_stats_add_ns(st, "module_compile_seconds", WASMSLOT_STATS_GAUGE,
                           wasmslot_module_cache_state(m) == WASMSLOT_CACHE_HIT
                               ? 0
                               : wasmslot_module_compile_ns(m));
        proto_stats_add_ns(st, "module_load_seconds", WASMSLOT_STATS_GAUGE,
                           ms->e[i].code->load_ns);
    }
    proto_stats_clear_labels(st);
}
