/* native/tier.c: the native tier as the runtime sees it (runtime/tier.h): compile (the
 * interpreter's validation and code first, then machine code), free, and enter a function
 * from C on the running thread's stack. */
#include "config.h"

#include "interp/interp.h"
#include "native/native.h"
#include "native/native_int.h"
#include "runtime/trap.h"

#include <pthread.h>

/* Stack kept free below generated code for host functions, helpers and the signal path. */
#define STACK_RESERVE ((uintptr_t)256 * 1024)

/* Machine code for m: translated, emitted, linked. Returns 0; 1 when m stays on the
 * interpreter (the reason in m->tier_fallback); or a negative code with err. */
static int compile_code(struct wasmslot_module *m, struct wasmslot_error *err)
{
    LLVMMemoryBufferRef obj = NULL;
    int rc = native__emit(m, &obj, err);
    if (rc != 0)
        return rc;
    rc = native__load(m, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), err);
    LLVMDisposeMemoryBuffer(obj);
    return rc;
}

static int native_compile(struct wasmslot_module *m, const struct wasmslot_compile_options *opts,
                          struct wasmslot_error *err)
{
    (void)opts; /* TODO(issue 13): opts->cache_dir, the on-disk code cache */
    /* The interpreter validates every body, and its code serves interpreted callers (another
     * module's interpreter calling into this one) and the fallback. */
    int rc = interp_compile_module(m, err);
    if (rc < 0)
        return rc;
    rc = compile_code(m, err);
    if (rc < 0)
        return rc;
    m->tier = rc == 0 ? &native__tier : &interp__tier;
    return 0;
}

static void native_free(struct wasmslot_module *m)
{
    native__release(m);
    interp_free_module(m);
}

/* The lowest address generated code may use on this thread's stack. */
static uintptr_t stack_limit(void)
{
    static __thread uintptr_t limit;
    if (limit == 0) {
        pthread_attr_t attr;
        void *lo = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &lo, &size);
            pthread_attr_destroy(&attr);
        }
        if (lo == NULL || size == 0) {
            /* Unknown: allow 1 MiB below the current frame. */
            uintptr_t here = (uintptr_t)__builtin_frame_address(0);
            limit = here - ((uintptr_t)1 << 20);
        } else {
            uintptr_t reserve = size / 2 < STACK_RESERVE ? size / 2 : STACK_RESERVE;
            limit = (uintptr_t)lo + reserve;
        }
    }
    return limit;
}

struct native_entry {
    void (*entry)(struct wasmslot_exec *, struct wasmslot_instance *, wasmslot_cell *);
    struct wasmslot_instance *inst;
    wasmslot_cell *cells;
};

static int run_entry(struct wasmslot_exec *ex, void *arg)
{
    const struct native_entry *e = arg;
    e->entry(ex, e->inst, e->cells);
    return 0;
}

static int native_call(struct wasmslot_exec *ex, struct wasmslot_func *f, wasmslot_cell *cells)
{
    struct native_entry e = {
        .entry = (void (*)(struct wasmslot_exec *, struct wasmslot_instance *,
                           wasmslot_cell *))f->def->native_entry,
        .inst = f->inst,
        .cells = cells,
    };
    const uint32_t saved_depth = ex->depth;
    ex->native_stack_limit = stack_limit();
    int rc = trap__run(ex, f->inst->memory, run_entry, &e);
    ex->depth = saved_depth;
    return rc;
}

const struct wasmslot_tier native__tier = {
    .name = "native",
    .compile = native_compile,
    .free = native_free,
    .call = native_call,
};
