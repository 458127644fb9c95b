/* modset.h: the modules of one configuration, compiled (and imaged) in the master before fork,
 * and the per-worker slot pools built from them after fork. The set's data (struct modset) is
 * in modset_types.h, its shared memories and import lists in shm.h. */
#ifndef MODSET_H
#define MODSET_H

#include "cfg.h"
#include "modcode.h"
#include "modset_types.h"
#include "shm.h"
#include "stats.h"
#include "wasmslot.h"

#include <stddef.h>

/* Read, compile and image every module of cfg (which must outlive the set). Returns NULL and
 * `file:line: module 'name': reason` in err on the first failure. */
struct modset *modset_load(const struct config *cfg, char *err, size_t errlen);

/* modset_load for a reload: the shared memories of prev (the serving generation's set; NULL:
 * none) whose [shmem] section is unchanged are taken over rather than made anew (shm.h), and so
 * is the compiled code of every module whose file and engine did not change. */
struct modset *modset_load_reusing(const struct config *cfg, const struct modset *prev, char *err,
                                   size_t errlen);

/* Add each module's engine (a label) and what its code cost the master to a stats reply:
 * module_compile_seconds and module_load_seconds{pool, engine}. */
void modset_stats_add(const struct modset *ms, struct proto_stats *st);

/* Free the set and its modules. Every instance must be gone. Accepts NULL. */
void modset_free(struct modset *ms);

/* Index of module name, or -1. */
int modset_find(const struct modset *ms, const char *name);

/* A worker's pools: one per module, created after fork (a slot is never shared between
 * processes). Thread-safe: executor threads acquire and release concurrently. */
struct modset_pools;

/* Build the pools of ms. NULL and a message in err on failure. */
struct modset_pools *modset_pools_new(const struct modset *ms, char *err, size_t errlen);

/* Free the pools. Every instance must have been released. Accepts NULL. */
void modset_pools_free(struct modset_pools *mp);

/* A live instance of one module, with the slot that backs it. */
struct modset_instance {
    size_t mod;
    struct wasmslot_instance *inst;
    struct wasmslot_slot *slot; /* the pool slot backing its memory */
};

/* Instantiate module mod on a slot of its pool, running its start function on ex (whose
 * deadline the caller has set). Returns 0, or a negative code with err filled: -WASMSLOT_EEXHAUSTED
 * when the pool is empty, a trap code when the start function trapped, ... */
int modset_instantiate(struct modset_pools *mp, size_t mod, struct wasmslot_exec *ex,
                       struct modset_instance *out, struct wasmslot_error *err);

/* Terminate: free the instance and give its slot back (the reset fastpath). Returns 0 or the
 * reset's -errno (the slot is released anyway and wiped before reuse). */
int modset_release(struct modset_pools *mp, struct modset_instance *mi);

/* Count a run of module mod that ended with trap code rc in its pool's statistics. */
void modset_count_trap(struct modset_pools *mp, size_t mod, int rc);

/* Feed the samples of module mod's pool and image to sink: the pool's WASMSLOT_POOL_STATS_SAMPLES
 * first, then the image's. */
void modset_pool_stats(struct modset_pools *mp, size_t mod, wasmslot_stats_sink_fn sink, void *arg);

/* The values of module mod's pool samples, in the order modset_pool_stats passes them (the
 * image's do not change once loaded). */
void modset_pool_values(struct modset_pools *mp, size_t mod,
                        uint64_t out[WASMSLOT_POOL_STATS_SAMPLES]);

/* Publish module mod's pool samples to shm as worker `worker` sees them (any thread; one
 * publication at a time per set of pools). */
void modset_pool_publish(struct modset_pools *mp, size_t mod, struct stats_shm *shm,
                         unsigned worker);

#endif
