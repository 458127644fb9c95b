/* shm.h: the shared memories of a configuration ([shmem NAME] sections): made by the master
 * before fork (so every worker maps the same bytes), kept across a reload when their section
 * is unchanged, bound to the memory imports of modules, and their statistics. */
#ifndef SHM_H
#define SHM_H

#include "cfg.h"
#include "modset_types.h"
#include "wasmslot.h"

#include <stddef.h>

/* Make the shared memories of cfg into ms->shm. A section whose name, min and max equal those
 * of a memory of prev (the generation being replaced; may be NULL) takes that memory over
 * (one more reference, same bytes); any other is made afresh with wasmslot_shmem_new. Returns 0, or
 * -1 with `file:line: shmem 'name': reason` in err. */
int shm_create(struct modset *ms, const struct config *cfg, const struct modset *prev, char *err,
               size_t errlen);

/* Drop the set's references to its shared memories. The memory itself goes with the last
 * reference (an instance may still hold one). */
void shm_release(struct modset *ms);

/* Index of shared memory name in ms, or -1. */
int shm_find(const struct modset *ms, const char *name);

/* Build the import list of e->module, of section cm, into e->wasi: its wasi_snapshot_preview1
 * functions and, for each `import = MODULE.NAME shmem:SHMEM` of cm, that shared memory; with
 * unknown_imports = trap, every other function import gets a stub (e->stubs) that traps
 * unlinked_import. Checks that every binding names a shared-memory import of m whose limits
 * the memory satisfies (its min at least the import's minimum, its max at most the import's
 * maximum) and that every memory import is bound. e->wasi stays NULL for a module without
 * imports. Returns 0, or -1 with a reason in err (without the file:line prefix) and, when an
 * `import =` line is at fault, its line in *line (left alone otherwise). */
int shm_imports(struct modset *ms, const struct cfg_module *cm, struct modset_entry *e,
                int *line, char *err, size_t errlen);

/* For a run that ended with rc on this thread: a message naming the import when rc is the
 * unlinked_import trap of a stub (for the reply's error message), else NULL. Valid until the
 * thread's next run. */
const char *shm_trap_detail(int rc);

/* Samples of shared memory i of ms: wasmslot_shmem_stats()'s, plus "bindings" (gauge: module
 * imports bound to it in the serving config) and "references" (gauge: references held in the
 * calling process: the config's, plus one per live instance importing it). */
void shm_stats(const struct modset *ms, size_t i, wasmslot_stats_sink_fn sink, void *arg);

struct proto_stats;

/* Add the samples of every shared memory of ms to st, named "shmem_" + shm_stats()'s name and
 * labelled shmem="NAME" (the other labels are cleared first). The values come from each
 * memory's process-shared header, so any worker answers for all of them. */
void shm_stats_add(const struct modset *ms, struct proto_stats *st);

#endif
