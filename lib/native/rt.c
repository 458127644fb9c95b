/* native/rt.c: the runtime helpers generated code calls (traps, polls, memory and table
 * operations, calls to functions of other tiers), all running inside a trap__run. */
#include "config.h"

#include "interp/interp.h"
#include "interp/run.h"
#include "native/native_int.h"
#include "runtime/objects.h"
#include "runtime/trap.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static __attribute__((noreturn)) void rt_trap(struct wasmslot_exec *ex, int code)
{
    (void)ex;
    trap__raise(code);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The slow poll, every NATIVE_POLL_PERIOD poll points (generated code counts them in a
 * register and starts the count again): the clock, whose check may run the notify hook, then the
 * interrupt flag, which the hook may have set. */
static void rt_poll(struct wasmslot_exec *ex)
{
    if ((ex->deadline_ns | ex->notify_ns) != 0 && wasmslot_exec__clock_check(ex, now_ns()))
        trap__raise(WASMSLOT_TRAP_TIMEOUT);
    if (atomic_load_explicit(&ex->interrupt, memory_order_relaxed))
        trap__raise(WASMSLOT_TRAP_TIMEOUT);
}

static uint32_t rt_mem_size(struct wasmslot_instance *inst)
{
    return (uint32_t)(wasmslot_memory__size(inst->memory) / WASMSLOT_PAGE_SIZE);
}

static uint32_t rt_mem_grow(struct wasmslot_instance *inst, uint32_t delta)
{
    uint32_t old = 0;
    /* Not guest code: a fault in there (holding the grow lock) must not become a trap. */
    trap__tls.in_guest = false;
    int rc = wasmslot_memory_grow(inst->memory, delta, &old);
    trap__tls.in_guest = true;
    return rc == 0 ? old : 0xffffffffu;
}

static void rt_mem_fill(struct wasmslot_instance *inst, uint32_t d, uint32_t v, uint32_t n)
{
    if ((uint64_t)d + n > wasmslot_memory__size(inst->memory))
        trap__raise(WASMSLOT_TRAP_OOB_MEMORY);
    memset(inst->memory->base + d, (int)(uint8_t)v, n);
}

static void rt_mem_copy(struct wasmslot_instance *inst, uint32_t d, uint32_t s, uint32_t n)
{
    size_t size = wasmslot_memory__size(inst->memory);
    if ((uint64_t)d + n > size || (uint64_t)s + n > size)
        trap__raise(WASMSLOT_TRAP_OOB_MEMORY);
    memmove(inst->memory->base + d, inst->memory->base + s, n);
}

static void rt_mem_init(struct wasmslot_instance *inst, uint32_t seg, uint32_t d, uint32_t s,
                        uint32_t n)
{
    const struct wasmslot_data *data = &inst->module->datas[seg];
    uint64_t len =
        (data->mode != WASMSLOT_SEG_PASSIVE || inst->data_dropped[seg]) ? 0 : data->len;
    if ((uint64_t)s + n > len || (uint64_t)d + n > wasmslot_memory__size(inst->memory))
        trap__raise(WASMSLOT_TRAP_OOB_MEMORY);
    memcpy(inst->memory->base + d, data->bytes + s, n);
}

static void rt_data_drop(struct wasmslot_instance *inst, uint32_t seg)
{
    inst->data_dropped[seg] = 1;
}

static void *rt_table_get(struct wasmslot_instance *inst, uint32_t t, uint32_t i)
{
    struct wasmslot_table *tab = inst->tables[t];
    if (i >= tab->size)
        trap__raise(WASMSLOT_TRAP_OOB_TABLE);
    return tab->elems[i];
}

static void rt_table_set(struct wasmslot_instance *inst, uint32_t t, uint32_t i, void *v)
{
    struct wasmslot_table *tab = inst->tables[t];
    if (i >= tab->size)
        trap__raise(WASMSLOT_TRAP_OOB_TABLE);
    tab->elems[i] = v;
}

static uint32_t rt_table_size(struct wasmslot_instance *inst, uint32_t t)
{
    return inst->tables[t]->size;
}

static uint32_t rt_table_grow(struct wasmslot_instance *inst, uint32_t t, void *v, uint32_t n)
{
    uint32_t old = 0;
    int rc = wasmslot_table__grow(inst->tables[t], n, v, &old);
    return rc == 0 ? old : 0xffffffffu;
}

static void rt_table_fill(struct wasmslot_instance *inst, uint32_t t, uint32_t i, void *v,
                          uint32_t n)
{
    struct wasmslot_table *tab = inst->tables[t];
    if ((uint64_t)i + n > tab->size)
        trap__raise(WASMSLOT_TRAP_OOB_TABLE);
    for (uint32_t k = 0; k < n; k++)
        tab->elems[i + k] = v;
}

static void rt_table_copy(struct wasmslot_instance *inst, uint32_t dt, uint32_t st, uint32_t d,
                          uint32_t s, uint32_t n)
{
    struct wasmslot_table *dtab = inst->tables[dt], *stab = inst->tables[st];
    if ((uint64_t)d + n > dtab->size || (uint64_t)s + n > stab->size)
        trap__raise(WASMSLOT_TRAP_OOB_TABLE);
    memmove(dtab->elems + d, stab->elems + s, (size_t)n * sizeof *dtab->elems);
}

static void rt_table_init(struct wasmslot_instance *inst, uint32_t t, uint32_t seg, uint32_t d,
                          uint32_t s, uint32_t n)
{
    struct wasmslot_table *tab = inst->tables[t];
    const struct wasmslot_elem *e = &inst->module->elems[seg];
    uint64_t len = (e->mode != WASMSLOT_SEG_PASSIVE || inst->elem_dropped[seg]) ? 0 : e->count;
    if ((uint64_t)s + n > len || (uint64_t)d + n > tab->size)
        trap__raise(WASMSLOT_TRAP_OOB_TABLE);
    for (uint32_t k = 0; k < n; k++)
        tab->elems[d + k] =
            (void *)(uintptr_t)wasmslot_instance__const_eval(inst, &e->items[s + k]);
}

static void rt_elem_drop(struct wasmslot_instance *inst, uint32_t seg)
{
    inst->elem_dropped[seg] = 1;
}

static int32_t rt_sig_eq(const struct wasmslot_functype *a, const struct wasmslot_functype *b)
{
    return wasmslot_functype_equal(a, b);
}

#define HOST_INLINE_VALUES 16

/* A host function called from generated code: as the interpreter's call_host does it. */
static void call_host(struct wasmslot_exec *ex, struct wasmslot_instance *inst,
                      struct wasmslot_func *f, uint64_t *cells)
{
    const struct wasmslot_functype *ft = f->type;
    struct wasmslot_value inline_buf[2 * HOST_INLINE_VALUES];
    struct wasmslot_value *a = inline_buf, *r = inline_buf + HOST_INLINE_VALUES;
    void *heap = NULL;

    if (ex->depth >= ex->max_call_depth || ex->nesting >= INTERP_MAX_NESTING)
        trap__raise(WASMSLOT_TRAP_STACK_EXHAUSTED);
    rt_poll(ex);
    if (ft->nparams > HOST_INLINE_VALUES || ft->nresults > HOST_INLINE_VALUES) {
        heap = calloc((size_t)ft->nparams + ft->nresults + 1, sizeof *a);
        if (!heap)
            trap__raise(WASMSLOT_TRAP_HOST);
        a = heap;
        r = a + ft->nparams;
    }
    interp__cells_to_values(cells, ft->params, ft->nparams, a);
    for (uint32_t i = 0; i < ft->nresults; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].type = ft->results[i];
    }
    struct wasmslot_call_ctx ctx = {.exec = ex, .inst = inst};
    trap__tls.in_guest = false;
    int rc = f->host(&ctx, f->env, a, r);
    trap__tls.in_guest = true;
    trap__tls.mem = inst->memory;
    if (rc == 0) {
        for (uint32_t i = 0; i < ft->nresults; i++)
            if (r[i].type != ft->results[i])
                rc = -WASMSLOT_TRAP_HOST;
        if (rc == 0)
            interp__values_to_cells(r, ft->nresults, cells);
    } else if (rc > 0) {
        rc = -WASMSLOT_TRAP_HOST;
    }
    free(heap);
    if (rc < 0)
        trap__raise(-rc);
    if (atomic_load_explicit(&ex->interrupt, memory_order_relaxed))
        trap__raise(WASMSLOT_TRAP_TIMEOUT);
}

/* Any function from generated code: a host function, a function the interpreter runs (on
 * the exec's value stack, in a nested trap__run), or one with machine code (its entry). */
static void rt_call(struct wasmslot_exec *ex, struct wasmslot_instance *inst,
                    struct wasmslot_func *f, uint64_t *cells)
{
    if (f->host != NULL) {
        call_host(ex, inst, f, cells);
        return;
    }
    if (f->def->native_entry != NULL) {
        ((void (*)(struct wasmslot_exec *, struct wasmslot_instance *, uint64_t *))
             f->def->native_entry)(ex, f->inst, cells);
        return;
    }
    const struct wasmslot_functype *ft = f->type;
    uint32_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    wasmslot_cell *base = ex->sp;
    if (ex->nesting >= INTERP_MAX_NESTING || (size_t)(ex->stack_end - base) < n)
        trap__raise(WASMSLOT_TRAP_STACK_EXHAUSTED);
    memcpy(base, cells, ft->nparams * sizeof *base);
    ex->nesting++;
    int rc = interp__call(ex, f, base);
    ex->nesting--;
    trap__tls.mem = inst->memory;
    if (rc < 0)
        trap__raise(-rc);
    memcpy(cells, base, ft->nresults * sizeof *base);
}

static void *rt_atomic_addr(struct wasmslot_instance *inst, uint64_t ea, uint32_t size)
{
    if (ea + size > wasmslot_memory__size(inst->memory))
        trap__raise(WASMSLOT_TRAP_OOB_MEMORY);
    if (ea & (size - 1))
        trap__raise(WASMSLOT_TRAP_UNALIGNED_ATOMIC);
    return inst->memory->base + ea;
}

static int32_t rt_wait32(struct wasmslot_exec *ex, struct wasmslot_instance *inst, uint64_t ea,
                         uint32_t expected, int64_t timeout)
{
    int rc = wasmslot_shmem_wait32(inst->memory, ea, expected, timeout, ex);
    if (rc < 0)
        trap__raise(-rc);
    return rc;
}

static int32_t rt_wait64(struct wasmslot_exec *ex, struct wasmslot_instance *inst, uint64_t ea,
                         uint64_t expected, int64_t timeout)
{
    int rc = wasmslot_shmem_wait64(inst->memory, ea, expected, timeout, ex);
    if (rc < 0)
        trap__raise(-rc);
    return rc;
}

static int32_t rt_notify(struct wasmslot_instance *inst, uint64_t ea, uint32_t count)
{
    int rc = wasmslot_shmem_notify(inst->memory, ea, count);
    if (rc < 0)
        trap__raise(-rc);
    return rc;
}

void *const native__helpers[NH__COUNT] = {
    [NH_TRAP] = (void *)rt_trap,
    [NH_POLL] = (void *)rt_poll,
    [NH_MEM_SIZE] = (void *)rt_mem_size,
    [NH_MEM_GROW] = (void *)rt_mem_grow,
    [NH_MEM_FILL] = (void *)rt_mem_fill,
    [NH_MEM_COPY] = (void *)rt_mem_copy,
    [NH_MEM_INIT] = (void *)rt_mem_init,
    [NH_DATA_DROP] = (void *)rt_data_drop,
    [NH_TABLE_GET] = (void *)rt_table_get,
    [NH_TABLE_SET] = (void *)rt_table_set,
    [NH_TABLE_SIZE] = (void *)rt_table_size,
    [NH_TABLE_GROW] = (void *)rt_table_grow,
    [NH_TABLE_FILL] = (void *)rt_table_fill,
    [NH_TABLE_COPY] = (void *)rt_table_copy,
    [NH_TABLE_INIT] = (void *)rt_table_init,
    [NH_ELEM_DROP] = (void *)rt_elem_drop,
    [NH_SIG_EQ] = (void *)rt_sig_eq,
    [NH_CALL] = (void *)rt_call,
    [NH_ATOMIC_ADDR] = (void *)rt_atomic_addr,
    [NH_WAIT32] = (void *)rt_wait32,
    [NH_WAIT64] = (void *)rt_wait64,
    [NH_NOTIFY] = (void *)rt_notify,
};
