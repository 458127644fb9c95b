/* interp/tier.c: the interpreter as an execution tier (runtime/tier.h): compile a module to
 * internal code, free it, enter a function on a frame at the exec's free stack. */
#include "config.h"

#include "interp/interp.h"
#include "interp/run.h"
#include "runtime/tier.h"
#include "runtime/trap.h"

#include <string.h>

static int interp_tier_compile(struct wasmslot_module *m,
                               const struct wasmslot_compile_options *opts,
                               struct wasmslot_error *err)
{
    (void)opts; /* the interpreter's code is cheap to build: nothing to cache */
    m->tier = &interp__tier;
    return interp_compile_module(m, err);
}

struct interp_entry {
    const struct interp_func *cf;
    wasmslot_cell *fp;
    struct wasmslot_instance *inst;
};

static int run_entry(struct wasmslot_exec *ex, void *arg)
{
    const struct interp_entry *e = arg;
    return interp__run(ex, e->cf, e->fp, e->inst);
}

int interp__call(struct wasmslot_exec *ex, struct wasmslot_func *f, wasmslot_cell *base)
{
    const struct interp_func *cf = f->def->compiled;
    if (ex->depth >= ex->max_call_depth || (size_t)(ex->stack_end - base) < cf->frame_cells)
        return -WASMSLOT_TRAP_STACK_EXHAUSTED;

    for (uint32_t i = cf->nparams; i < cf->nlocals; i++)
        base[i] = 0;
    memcpy(base + cf->const_base, cf->consts, cf->nconsts * sizeof *base);

    /* The entry frame returns to EXIT, which ends interp__run. */
    const uint32_t saved_depth = ex->depth;
    wasmslot_cell *const saved_sp = ex->sp;
    struct interp_frame *fr = (struct interp_frame *)ex->frames + ex->depth;
    interp__handlers(); /* makes sure the EXIT code is ready */
    fr->ip = interp__exit_code;
    fr->fp = base;
    fr->inst = f->inst;
    ex->depth++;

    struct interp_entry e = {.cf = cf, .fp = base, .inst = f->inst};
    int rc = trap__run(ex, f->inst->memory, run_entry, &e);

    ex->depth = saved_depth;
    ex->sp = saved_sp;
    return rc;
}

const struct wasmslot_tier interp__tier = {
    .name = "interp",
    .compile = interp_tier_compile,
    .free = interp_free_module,
    .call = interp__call,
};
