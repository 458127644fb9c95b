/* native/tier.c: the native tier as the runtime sees it (runtime/tier.h): compile (the
 * interpreter's validation and code first, then machine code), free, and enter a function
 * from C on the running thread's stack. */
#include "config.h"

#include "interp/interp.h"
#include "native/cache.h"
#include "native/native.h"
#include "native/native_int.h"
#include "runtime/trap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Machine code for m: translated, emitted, linked. Returns 0; 1 when m stays on the
 * interpreter (the reason in m->tier_fallback); or a negative code with err. When obj is not
 * NULL, *obj keeps the linked object for the cache. */
static int compile_code(struct wasmslot_module *m, LLVMMemoryBufferRef *obj,
                        struct wasmslot_error *err)
{
    LLVMMemoryBufferRef o = NULL;
    int rc = native__emit(m, &o, err);
    if (rc != 0)
        return rc;
    rc = native__load(m, LLVMGetBufferStart(o), LLVMGetBufferSize(o), err);
    if (rc == 0 && obj != NULL)
        *obj = o;
    else
        LLVMDisposeMemoryBuffer(o);
    return rc;
}

static void set_note(struct wasmslot_module *m, const char *why)
{
    free(m->cache_note);
    m->cache_note = strdup(why);
}

/* compile_code through the cache in dir: an entry for m's key is linked instead when it passes
 * every check, else the code is compiled and the entry (re)written. The cache never fails the
 * module: its errors only cost the compile, and m->cache_state and m->cache_note say what
 * happened. */
static int cached_code(struct wasmslot_module *m, const char *dir, struct wasmslot_error *err)
{
    uint8_t key[SHA256_BYTES];
    char why[CACHE_WHY_MAX];
    enum wasmslot_cache_state state = WASMSLOT_CACHE_STORED;

    if (native__cache_key(m, key) < 0)
        return wasmslot_error_set(err, ENOMEM, "out of memory");
    void *data = NULL;
    size_t len = 0;
    switch (cache_load(dir, key, &data, &len, why)) {
    case CACHE_FOUND: {
        struct wasmslot_error lerr = {0, ""};
        int rc = native__load(m, data, len, &lerr);
        free(data);
        if (rc == 0) {
            m->cache_state = WASMSLOT_CACHE_HIT;
            return 0;
        }
        /* Checked, yet it does not link: compile, and replace it. */
        snprintf(why, sizeof why, "cached code does not link: %s", lerr.message);
        state = WASMSLOT_CACHE_REJECTED;
        break;
    }
    case CACHE_ABSENT:
        break;
    case CACHE_BAD:
        state = WASMSLOT_CACHE_REJECTED;
        break;
    case CACHE_UNUSABLE:
        state = WASMSLOT_CACHE_FAILED;
        break;
    }
    if (state != WASMSLOT_CACHE_STORED)
        set_note(m, why);

    LLVMMemoryBufferRef obj = NULL;
    int rc = compile_code(m, &obj, err);
    if (rc != 0)
        return rc; /* an error, or the interpreter (state NONE: no machine code to keep) */
    if (state != WASMSLOT_CACHE_FAILED &&
        cache_store(dir, key, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), why) < 0) {
        state = WASMSLOT_CACHE_FAILED;
        set_note(m, why);
    }
    LLVMDisposeMemoryBuffer(obj);
    m->cache_state = state;
    return 0;
}

static int native_compile(struct wasmslot_module *m, const struct wasmslot_compile_options *opts,
                          struct wasmslot_error *err)
{
    /* The interpreter validates every body, and its code serves interpreted callers (another
     * module's interpreter calling into this one) and the fallback. */
    int rc = interp_compile_module(m, err);
    if (rc < 0)
        return rc;
    m->cache_state = WASMSLOT_CACHE_NONE;
    rc =
        opts->cache_dir != NULL ? cached_code(m, opts->cache_dir, err) : compile_code(m, NULL, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        /* On the interpreter: the cache had nothing to do with it. */
        m->cache_state = WASMSLOT_CACHE_NONE;
        free(m->cache_note);
        m->cache_note = NULL;
    }
    m->tier = rc == 0 ? &native__tier : &interp__tier;
    return 0;
}

static void native_free(struct wasmslot_module *m)
{
    native__release(m);
    interp_free_module(m);
}

struct native_entry {
    void (*entry)(struct wasmslot_exec *, struct wasmslot_instance *, wasmslot_cell *);
    struct wasmslot_exec *ex;
    struct wasmslot_instance *inst;
    wasmslot_cell *cells;
    void *top; /* switch to this stack first; NULL: run where we are */
};

static void enter(void *arg)
{
    const struct native_entry *e = arg;
    e->entry(e->ex, e->inst, e->cells);
}

static int run_entry(struct wasmslot_exec *ex, void *arg)
{
    struct native_entry *e = arg;
    e->ex = ex;
    if (e->top != NULL)
        native__on_stack(e, enter, e->top);
    else
        enter(e);
    return 0;
}

static int native_call(struct wasmslot_exec *ex, struct wasmslot_func *f, wasmslot_cell *cells)
{
    const uint32_t saved_depth = ex->depth;
    const uintptr_t saved_limit = ex->native_stack_limit;
    struct native_entry e = {
        .entry = (void (*)(struct wasmslot_exec *, struct wasmslot_instance *,
                           wasmslot_cell *))f->def->native_entry,
        .inst = f->inst,
        .cells = cells,
        .top = (void *)native__stack_enter(ex),
    };
    /* A request made before the run (a sticky one) is seen at its first poll point. */
    if (atomic_load_explicit(&ex->interrupt, memory_order_relaxed))
        ex->poll_countdown = 0;
    int rc = trap__run(ex, f->inst->memory, run_entry, &e);
    ex->depth = saved_depth;
    ex->native_stack_limit = saved_limit;
    return rc;
}

const struct wasmslot_tier native__tier = {
    .name = "native",
    .compile = native_compile,
    .free = native_free,
    .call = native_call,
};
