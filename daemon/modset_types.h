/* modset_types.h: what a module set is made of (struct modset: its modules and shared
 * memories). Apart from modset.h so that shm.c, which fills the shared memories and the import
 * lists, and modset.c, which calls it, both build on the data without including each other. */
#ifndef MODSET_TYPES_H
#define MODSET_TYPES_H

#include "cfg.h"
#include "modcode.h"
#include "wasmslot.h"

#include <stdbool.h>
#include <stddef.h>

/* A function made for an import nothing provides (unknown_imports = trap): calling it traps
 * unlinked_import, naming the import. */
struct modset_stub {
    struct wasmslot_func *func;
    char *name; /* "MODULE.NAME" */
};

/* One configured module: its section and what the master built from it. */
struct modset_entry {
    const struct cfg_module *cfg;       /* borrowed from the config the set was loaded from */
    struct modcode *code;               /* shared with other sections and generations */
    enum modcode_origin origin;         /* compiled for this set, kept, or shared */
    struct wasmslot_module *module;     /* code->module */
    struct wasmslot_image *image;       /* code->image */
    struct wasmslot_wasi_imports *wasi; /* its WASI import list, NULL when it imports nothing */
    bool wasi_guest;                    /* it imports wasi_snapshot_preview1: calls of its
                                           exports reply with their stdout and stderr */
    struct modset_stub *stubs;          /* its stubbed imports, in import order */
    size_t nstubs;
};

/* One shared memory of a set ([shmem NAME] section; shm.h). */
struct modset_shm {
    const struct cfg_shmem *cfg; /* borrowed from the set's config */
    struct wasmslot_memory *mem; /* the set's reference */
    bool kept;                   /* taken over from the previous generation (same bytes) */
    unsigned bindings;           /* module imports bound to it in this config */
};

/* Every module of a config, in config order, and its shared memories. */
struct modset {
    size_t n;
    struct modset_entry *e;
    size_t nshm;
    struct modset_shm *shm; /* [shmem] sections, in config order */
};

#endif
