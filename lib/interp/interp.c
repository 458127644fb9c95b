/* interp/interp.c: the interpreter's dispatch loop: runs compiled code with frames on the exec's
 * value stack (no C recursion between wasm functions), calls host functions, raises traps. */

/*
 * How a run works
 * - A frame is a window of the exec's value stack: [locals | constants | operand slots] of the
 *   running function (see interp/ops.h). A call's arguments already sit in the caller's top
 *   operand slots, so the callee's frame simply starts there; its results come back in the
 *   same cells. Nothing is copied but the callee's zeroed locals and its constants.
 * - Calls between wasm functions push an interp_frame (return code address, caller frame,
 *   caller instance) on the exec's frame array and jump: the C stack does not grow, and depth
 *   is bounded by max_call_depth and by the value stack's end ("call stack exhausted").
 * - Host functions are called from here with a wasmslot_call_ctx; they may re-enter wasmslot_call
 * on the same exec, which then stacks its frames above the caller's frame (ex->sp, ex->depth).
 * - Memory accesses use the instance memory's base pointer, which never moves (a reservation
 *   of WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD bytes): no bounds checks; an access past the size
 *   faults and runtime/trap.c turns the fault into a trap. Bulk operations check their whole range.
 * - Traps end interp__run with a negative code; the exec stays usable. Back-edges (branches
 *   with a non-positive displacement) and calls poll the interrupt flag and, every
 *   POLL_PERIOD polls, the deadline.
 * - The code is only read here, never written: one compiled module serves every thread and,
 *   after fork, every process. The atomics of the threads proposal (0xFE) will be compiled to
 *   more handlers of this same loop.
 */
#include "config.h"

#include "interp/interp.h"
#include "interp/ops.h"
#include "interp/run.h"
#include "runtime/trap.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Back-edges and calls between two readings of the clock when a deadline is set. */
#define POLL_PERIOD 1024

static const int32_t *handler_table;
static uint32_t exit_code_storage[1];
const uint32_t *interp__exit_code = exit_code_storage;

static inline float f32_from(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline double f64_from(uint64_t u)
{
    double f;
    memcpy(&f, &u, 8);
    return f;
}

static inline uint64_t f64_bits(double f)
{
    uint64_t u;
    memcpy(&u, &f, 8);
    return u;
}

/* Sign and magnitude operations work on bits so NaN payloads pass through unchanged. */
static inline float f32_bits_op(float a, uint32_t and_mask, uint32_t xor_mask)
{
    return f32_from((f32_bits(a) & and_mask) ^ xor_mask);
}

static inline double f64_bits_op(double a, uint64_t and_mask, uint64_t xor_mask)
{
    return f64_from((f64_bits(a) & and_mask) ^ xor_mask);
}

static inline float f32_copysign(float a, float b)
{
    return f32_from((f32_bits(a) & 0x7fffffffu) | (f32_bits(b) & 0x80000000u));
}

static inline double f64_copysign(double a, double b)
{
    return f64_from((f64_bits(a) & 0x7fffffffffffffffull) | (f64_bits(b) & 0x8000000000000000ull));
}

/* Rounding a signalling NaN must give a quiet one, which the libm functions do not promise. */
static inline float f32_round(float a, float r)
{
    return a != a ? a + a : r;
}

static inline double f64_round(double a, double r)
{
    return a != a ? a + a : r;
}

/* min/max: NaN in gives NaN out (a + b quiets it), and -0 < +0. */
static inline float f32_min(float a, float b)
{
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (f32_bits(a) >> 31) ? a : b;
    return a < b ? a : b;
}

static inline float f32_max(float a, float b)
{
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (f32_bits(a) >> 31) ? b : a;
    return a > b ? a : b;
}

static inline double f64_min(double a, double b)
{
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (f64_bits(a) >> 63) ? a : b;
    return a < b ? a : b;
}

static inline double f64_max(double a, double b)
{
    if (a != a || b != b)
        return a + b;
    if (a == 0 && b == 0)
        return (f64_bits(a) >> 63) ? b : a;
    return a > b ? a : b;
}

static uint64_t now_ns(void)
{
    return wasmslot_exec__now_ns();
}

static void init_handlers(void)
{
    interp__run(NULL, NULL, NULL, NULL);
    exit_code_storage[0] = (uint32_t)handler_table[IOP_EXIT];
}

const int32_t *interp__handlers(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_handlers);
    return handler_table;
}

#define HOST_INLINE_VALUES 16

/* Call host function f from wasm: arguments at args[0..nparams), results written back there.
 * Nested wasmslot_calls made by the host put their frames at top. */
static int call_host(struct wasmslot_exec *ex, struct wasmslot_func *f,
                     struct wasmslot_instance *inst, wasmslot_cell *args, wasmslot_cell *top,
                     uint32_t depth)
{
    const struct wasmslot_functype *ft = f->type;
    struct wasmslot_value inline_buf[2 * HOST_INLINE_VALUES];
    struct wasmslot_value *a = inline_buf, *r = inline_buf + HOST_INLINE_VALUES;
    void *heap = NULL;
    int rc;

    if (ft->nparams > HOST_INLINE_VALUES || ft->nresults > HOST_INLINE_VALUES) {
        heap = calloc((size_t)ft->nparams + ft->nresults + 1, sizeof *a);
        if (!heap)
            return -WASMSLOT_TRAP_HOST;
        a = heap;
        r = a + ft->nparams;
    }
    wasmslot_cells__to_values(args, ft->params, ft->nparams, a);
    for (uint32_t i = 0; i < ft->nresults; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].type = ft->results[i];
    }

    struct wasmslot_call_ctx ctx = {.exec = ex, .inst = inst};
    wasmslot_cell *saved_sp = ex->sp;
    uint32_t saved_depth = ex->depth;
    ex->sp = top;
    ex->depth = depth;
    trap__tls.in_guest = false;
    rc = f->host(&ctx, f->env, a, r);
    trap__tls.in_guest = true;
    trap__tls.mem = inst->memory;
    ex->sp = saved_sp;
    ex->depth = saved_depth;

    if (rc == 0) {
        for (uint32_t i = 0; i < ft->nresults; i++) {
            if (r[i].type != ft->results[i]) {
                rc = -WASMSLOT_TRAP_HOST;
                break;
            }
            wasmslot_cells__from_values(&r[i], 1, &args[i]);
        }
    } else if (rc > 0) {
        rc = -WASMSLOT_TRAP_HOST;
    }
    free(heap);
    return rc;
}

/* Readers and writers of frame slots named by the operand at ip[k]. */
#define S(k)       fp[ip[k]]
#define RI32(k)    ((uint32_t)S(k))
#define RI64(k)    ((uint64_t)S(k))
#define RF32(k)    f32_from((uint32_t)S(k))
#define RF64(k)    f64_from(S(k))
#define WI32(k, v) (S(k) = (uint32_t)(v))
#define WI64(k, v) (S(k) = (uint64_t)(v))
#define WF32(k, v) (S(k) = f32_bits(v))
#define WF64(k, v) (S(k) = f64_bits(v))
#define CT_I32     uint32_t
#define CT_I64     uint64_t
#define CT_F32     float
#define CT_F64     double

#define TRAP(name)                                                                                 \
    do {                                                                                           \
        trapc = WASMSLOT_TRAP_##name;                                                              \
        goto trap;                                                                                 \
    } while (0)

#define DIV_S(T, MIN, a, b)                                                                        \
    ({                                                                                             \
        if (unlikely(b == 0))                                                                      \
            TRAP(DIV_ZERO);                                                                        \
        if (unlikely((T)a == MIN && (T)b == -1))                                                   \
            TRAP(INT_OVERFLOW);                                                                    \
        (T) a / (T)b;                                                                              \
    })
#define DIV_U(a, b)                                                                                \
    ({                                                                                             \
        if (unlikely(b == 0))                                                                      \
            TRAP(DIV_ZERO);                                                                        \
        a / b;                                                                                     \
    })
#define REM_S(T, MIN, a, b)                                                                        \
    ({                                                                                             \
        if (unlikely(b == 0))                                                                      \
            TRAP(DIV_ZERO);                                                                        \
        (T) b == -1 ? (T)0 : (T)a % (T)b;                                                          \
    })
#define REM_U(a, b)                                                                                \
    ({                                                                                             \
        if (unlikely(b == 0))                                                                      \
            TRAP(DIV_ZERO);                                                                        \
        a % b;                                                                                     \
    })
#define TRUNC(T, a, lo, hi)                                                                        \
    ({                                                                                             \
        if (unlikely(a != a))                                                                      \
            TRAP(BAD_CONVERSION);                                                                  \
        if (unlikely(!(a > lo && a < hi)))                                                         \
            TRAP(INT_OVERFLOW);                                                                    \
        (T) a;                                                                                     \
    })
#define SAT(T, a, MIN, MAX, FT)                                                                    \
    ({                                                                                             \
        T r_;                                                                                      \
        if (a != a)                                                                                \
            r_ = 0;                                                                                \
        else if (a < (FT)MIN)                                                                      \
            r_ = MIN;                                                                              \
        else if (a >= (FT)MAX)                                                                     \
            r_ = MAX;                                                                              \
        else                                                                                       \
            r_ = (T)a;                                                                             \
        r_;                                                                                        \
    })

/* Immediate operands (the _I forms): one unit for 32-bit types, two for 64-bit ones. */
#define IMM_I32(k)  ((uint32_t)ip[k])
#define IMM_F32(k)  f32_from((uint32_t)ip[k])
#define IMM_I64(k)  ((uint64_t)ip[k] | (uint64_t)ip[(k) + 1] << 32)
#define IMM_F64(k)  f64_from(IMM_I64(k))
#define ADV_IMM_I32 4
#define ADV_IMM_F32 4
#define ADV_IMM_I64 5
#define ADV_IMM_F64 5
/* Unary ops have no _I form: their table entry is the UNREACHABLE handler, never emitted. */
#define HANDLER_I_UN(name)  0
#define HANDLER_I_BIN(name) (int32_t)(&&L_##name##_I - &&L_base)

#define LOAD_B_UN(t)
#define LOAD_B_BIN(t) CT_##t b = R##t(3);
#define ADV_UN        3
#define ADV_BIN       4

#define NEXT() goto *(const void *)((const char *)&&L_base + (int32_t)*ip)

#define POLL()                                                                                     \
    do {                                                                                           \
        if (unlikely(atomic_load_explicit(&ex->interrupt, memory_order_relaxed)))                  \
            TRAP(TIMEOUT);                                                                         \
        if (unlikely(--poll == 0)) {                                                               \
            poll = POLL_PERIOD;                                                                    \
            if ((ex->deadline_ns | ex->notify_ns) != 0 &&                                          \
                wasmslot_exec__clock_check(ex, now_ns()))                                          \
                TRAP(TIMEOUT);                                                                     \
        }                                                                                          \
    } while (0)

/* Take the branch whose displacement is operand k. A branch backwards is a loop's back-edge,
 * where a run can be interrupted. k may be unsigned (br_table's 3 + index): the sum is taken
 * in ptrdiff_t so that a negative displacement stays negative. */
#define JUMP(k)                                                                                    \
    do {                                                                                           \
        int32_t d_ = (int32_t)ip[k];                                                               \
        ip += (ptrdiff_t)(k) + d_;                                                                 \
        if (d_ <= 0)                                                                               \
            POLL();                                                                                \
        NEXT();                                                                                    \
    } while (0)

#define SWITCH_INSTANCE(ni)                                                                        \
    do {                                                                                           \
        inst = (ni);                                                                               \
        mem = inst->memory;                                                                        \
        mb = mem ? mem->base : NULL;                                                               \
        trap__tls.mem = mem;                                                                       \
    } while (0)

static inline const void *read_ptr(const uint32_t *p)
{
    uint64_t v = (uint64_t)p[0] | (uint64_t)p[1] << 32;
    return (const void *)(uintptr_t)v;
}

/* Frames have few locals and constants: plain loops beat the memset/memcpy calls that GCC
 * would otherwise turn them into (and spill registers around). */
#if defined(__GNUC__) && !defined(__clang__)
#define INTERP_PLAIN_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define INTERP_PLAIN_LOOPS
#endif

INTERP_PLAIN_LOOPS int interp__run(struct wasmslot_exec *ex, const struct interp_func *fn,
                                   wasmslot_cell *fp, struct wasmslot_instance *inst)
{
    /* clang-format off */
    static const int32_t handlers[IOP__COUNT] = {
#define X_MISC(name)            [IOP_##name] = (int32_t)(&&L_##name - &&L_base),
#define X_NUM(code, name, ...)  [IOP_##name] = (int32_t)(&&L_##name - &&L_base),
#define X_BR(name, cond)        [IOP_BR_##name] = (int32_t)(&&L_BR_##name - &&L_base),
#define X_MEMX(code, name, ...) [IOP_##name##_X] = (int32_t)(&&L_##name##_X - &&L_base),
#define X_ADDBR(name, cond)     [IOP_ADD_BR_##name] = (int32_t)(&&L_ADD_BR_##name - &&L_base),
#define X_NUMI(code, name, kind, ...) [IOP_##name##_I] = HANDLER_I_##kind(name),
#define X_BRI(name, cond)       [IOP_BR_##name##_I] = (int32_t)(&&L_BR_##name##_I - &&L_base),
#define X_ADDBRI(name, cond)    [IOP_ADD_BR_##name##_I] = (int32_t)(&&L_ADD_BR_##name##_I - &&L_base),
#define X_ADDBRSI(name, cond)   [IOP_ADD_BR_##name##_SI] = (int32_t)(&&L_ADD_BR_##name##_SI - &&L_base),
#define X_ADDBRII(name, cond)   [IOP_ADD_BR_##name##_II] = (int32_t)(&&L_ADD_BR_##name##_II - &&L_base),
#define X_MEMXI(code, name, ...) [IOP_##name##_XI] = (int32_t)(&&L_##name##_XI - &&L_base),
#define X_MEMAL(code, name, ...) [IOP_##name##_AL] = (int32_t)(&&L_##name##_AL - &&L_base),
#define X_MEMPA(code, name, ...) [IOP_##name##_PA] = (int32_t)(&&L_##name##_PA - &&L_base), \
                                 [IOP_##name##_PAI] = (int32_t)(&&L_##name##_PAI - &&L_base),
#define X_FMEM(name, expr)      [IOP_##name##_M] = (int32_t)(&&L_##name##_M - &&L_base), \
                                [IOP_##name##_MXI] = (int32_t)(&&L_##name##_MXI - &&L_base),
        INTERP_MISCOPS(X_MISC)
        INTERP_NUMOPS(X_NUM)
        INTERP_SATOPS(X_NUM)
        INTERP_LOADS(X_NUM)
        INTERP_STORES(X_NUM)
        INTERP_BRCMPS(X_BR)
        INTERP_LOADS(X_MEMX)
        INTERP_STORES(X_MEMX)
        INTERP_BRCMPS(X_ADDBR)
        INTERP_ATOMIC_OPS(X_NUM)
        INTERP_NUMOPS(X_NUMI)
        INTERP_BRCMPS(X_BRI)
        INTERP_BRCMPS(X_ADDBRI)
        INTERP_BRCMPS(X_ADDBRII)
        INTERP_BRCMPS(X_ADDBRSI)
        INTERP_LOADS(X_MEMXI)
        INTERP_STORES(X_MEMXI)
        INTERP_LOADS(X_MEMAL)
        INTERP_STORES(X_MEMPA)
        INTERP_FMEMOPS(X_FMEM)
        [IOP_F64_MULADD] = (int32_t)(&&L_F64_MULADD - &&L_base),
        [IOP_F64_MULM_ADD] = (int32_t)(&&L_F64_MULM_ADD - &&L_base),
        [IOP_F64_MULMXI_ADD] = (int32_t)(&&L_F64_MULMXI_ADD - &&L_base),
#undef X_FMEM
#undef X_MEMPA
#undef X_MEMAL
#undef X_NUMI
#undef X_BRI
#undef X_ADDBRI
#undef X_ADDBRII
#undef X_ADDBRSI
#undef X_MEMXI
#undef X_MISC
#undef X_NUM
#undef X_BR
#undef X_MEMX
#undef X_ADDBR
    };
    /* clang-format on */
    if (!ex) {
        handler_table = handlers;
        return 0;
    }

    struct interp_frame *frames = ex->frames;
    /* The next free frame; frames_end is max_call_depth frames in. */
    struct interp_frame *frp = frames + ex->depth;
    struct interp_frame *const frames_end = frames + ex->max_call_depth;
    wasmslot_cell *const stack_end = ex->stack_end;
    struct wasmslot_memory *mem = inst->memory;
    uint8_t *mb = mem ? mem->base : NULL;
    uint32_t poll = POLL_PERIOD;
    int trapc = 0;
    const uint32_t *ip = fn->code;

    /* The state carried into the shared call paths below. */
    const struct interp_func *cf;
    struct wasmslot_func *callee;
    wasmslot_cell *nfp, *top;
    const uint32_t *ret_ip;
    struct wasmslot_instance *ninst;

    NEXT();

L_base:
L_UNREACHABLE:
    TRAP(UNREACHABLE);

L_BR:
    JUMP(1);
L_BR_IF:
    if (RI32(1))
        JUMP(2);
    ip += 3;
    NEXT();
L_BR_UNLESS:
    if (!RI32(1))
        JUMP(2);
    ip += 3;
    NEXT();
#define X(name, cond)                                                                              \
    L_BR_##name:                                                                                   \
    {                                                                                              \
        uint32_t a = RI32(1), b = RI32(2);                                                         \
        if (cond)                                                                                  \
            JUMP(3);                                                                               \
        ip += 4;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_BRCMPS(X)
#undef X
#define X(name, cond)                                                                              \
    L_ADD_BR_##name:                                                                               \
    {                                                                                              \
        uint32_t a = RI32(2) + RI32(3);                                                            \
        WI32(1, a);                                                                                \
        uint32_t b = RI32(4);                                                                      \
        if (cond)                                                                                  \
            JUMP(5);                                                                               \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_BRCMPS(X)
#undef X
#define X(name, cond)                                                                              \
    L_BR_##name##_I:                                                                               \
    {                                                                                              \
        uint32_t a = RI32(1), b = ip[2];                                                           \
        if (cond)                                                                                  \
            JUMP(3);                                                                               \
        ip += 4;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_BRCMPS(X)
#undef X
#define X(name, cond)                                                                              \
    L_ADD_BR_##name##_I:                                                                           \
    {                                                                                              \
        uint32_t a = RI32(2) + ip[3];                                                              \
        WI32(1, a);                                                                                \
        uint32_t b = RI32(4);                                                                      \
        if (cond)                                                                                  \
            JUMP(5);                                                                               \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }                                                                                              \
    L_ADD_BR_##name##_SI:                                                                          \
    {                                                                                              \
        uint32_t a = RI32(2) + RI32(3);                                                            \
        WI32(1, a);                                                                                \
        uint32_t b = ip[4];                                                                        \
        if (cond)                                                                                  \
            JUMP(5);                                                                               \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }                                                                                              \
    L_ADD_BR_##name##_II:                                                                          \
    {                                                                                              \
        uint32_t a = RI32(2) + ip[3];                                                              \
        WI32(1, a);                                                                                \
        uint32_t b = ip[4];                                                                        \
        if (cond)                                                                                  \
            JUMP(5);                                                                               \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_BRCMPS(X)
#undef X
L_BR_TABLE : {
    uint32_t i = RI32(1), n = ip[2];
    if (i > n)
        i = n;
    JUMP(3 + i);
}

L_CALL:
    cf = read_ptr(ip + 2);
    nfp = fp + ip[1];
    ret_ip = ip + 4;
    ninst = inst;
    goto call_wasm;

L_CALL_IMPORT:
    callee = inst->funcs[ip[2]];
    nfp = fp + ip[1];
    top = fp + ip[3];
    ret_ip = ip + 4;
    goto call_func;

L_CALL_INDIRECT : {
    struct wasmslot_table *t = inst->tables[ip[3]];
    uint32_t i = RI32(2);
    if (unlikely(i >= t->size))
        TRAP(UNDEFINED_ELEM);
    callee = t->elems[i];
    if (unlikely(!callee))
        TRAP(UNINIT_ELEM);
    const struct wasmslot_functype *want = &inst->module->types[ip[4]].ft;
    if (unlikely(callee->type != want && !wasmslot_functype_equal(callee->type, want)))
        TRAP(INDIRECT_MISMATCH);
    nfp = fp + ip[1];
    top = fp + ip[5];
    ret_ip = ip + 6;
    goto call_func;
}

call_func:
    if (callee->host) {
        if (unlikely(frp >= frames_end || ex->nesting >= WASMSLOT_MAX_NESTING))
            TRAP(STACK_EXHAUSTED);
        POLL();
        int rc = call_host(ex, callee, inst, nfp, top, (uint32_t)(frp - frames));
        if (unlikely(rc != 0)) {
            ex->depth = (uint32_t)(frp - frames);
            return rc;
        }
        if (unlikely(atomic_load_explicit(&ex->interrupt, memory_order_relaxed)))
            TRAP(TIMEOUT);
        ip = ret_ip;
        NEXT();
    }
    cf = callee->def->compiled;
    ninst = callee->inst;
    goto call_wasm;

call_wasm:
    if (unlikely(frp >= frames_end || nfp + cf->frame_cells > stack_end))
        TRAP(STACK_EXHAUSTED);
    POLL();
    frp->ip = ret_ip;
    frp->fp = fp;
    frp->inst = inst;
    frp++;
    {
        /* Most functions have few locals: straight stores (harmless on the constant and
         * operand cells they may reach, which are written before they are read). */
        wasmslot_cell *z = nfp + cf->nparams;
        for (unsigned i = 0; i < INTERP_ZERO_CELLS; i++)
            z[i] = 0;
        for (uint32_t i = cf->nparams + INTERP_ZERO_CELLS; i < cf->nlocals; i++)
            nfp[i] = 0;
    }
    /* Constants that the compiler could not turn into immediates (usually none). */
    for (uint32_t i = 0; i < cf->nconsts; i++)
        nfp[cf->const_base + i] = cf->consts[i];
    if (ninst != inst)
        SWITCH_INSTANCE(ninst);
    fp = nfp;
    ip = cf->code;
    NEXT();

L_RET : {
    struct interp_frame *fr = --frp;
    ip = fr->ip;
    fp = fr->fp;
    if (unlikely(fr->inst != inst))
        SWITCH_INSTANCE(fr->inst);
    NEXT();
}
L_EXIT:
    ex->depth = (uint32_t)(frp - frames);
    return 0;

L_COPY:
    S(1) = S(2);
    ip += 3;
    NEXT();
L_CONST:
    S(1) = (uint64_t)ip[2] | (uint64_t)ip[3] << 32;
    ip += 4;
    NEXT();
L_SELECT:
    S(1) = RI32(4) ? S(2) : S(3);
    ip += 5;
    NEXT();
L_GLOBAL_GET:
    S(1) = inst->globals[ip[2]]->value;
    ip += 3;
    NEXT();
L_GLOBAL_SET:
    inst->globals[ip[1]]->value = S(2);
    ip += 3;
    NEXT();
L_REF_FUNC:
    S(1) = (uintptr_t)inst->funcs[ip[2]];
    ip += 3;
    NEXT();

L_MEMORY_SIZE:
    /* wasmslot_memory__size, not mem->size: a memory shared across processes (shmem) keeps its
     * size in a process-shared header; the same for the bounds checks below. */
    WI32(1, wasmslot_memory__size(mem) / WASMSLOT_PAGE_SIZE);
    ip += 2;
    NEXT();
L_MEMORY_GROW : {
    uint32_t old = 0;
    /* Not guest code: a fault in there (holding the grow lock) must not become a trap. */
    trap__tls.in_guest = false;
    int rc = wasmslot_memory_grow(mem, RI32(2), &old);
    trap__tls.in_guest = true;
    WI32(1, rc == 0 ? old : 0xffffffffu);
    ip += 3;
    NEXT();
}
L_MEMORY_FILL : {
    uint64_t d = RI32(1), n = RI32(3);
    uint8_t v = (uint8_t)RI32(2);
    if (unlikely(d + n > wasmslot_memory__size(mem)))
        TRAP(OOB_MEMORY);
    memset(mb + d, v, n);
    ip += 4;
    NEXT();
}
L_MEMORY_COPY : {
    uint64_t d = RI32(1), s = RI32(2), n = RI32(3);
    size_t size = wasmslot_memory__size(mem);
    if (unlikely(d + n > size || s + n > size))
        TRAP(OOB_MEMORY);
    memmove(mb + d, mb + s, n);
    ip += 4;
    NEXT();
}
L_MEMORY_INIT : {
    uint64_t d = RI32(1), s = RI32(2), n = RI32(3);
    uint32_t seg = ip[4];
    const struct wasmslot_data *data = &inst->module->datas[seg];
    uint64_t len = (data->mode != WASMSLOT_SEG_PASSIVE || inst->data_dropped[seg]) ? 0 : data->len;
    if (unlikely(s + n > len || d + n > wasmslot_memory__size(mem)))
        TRAP(OOB_MEMORY);
    memcpy(mb + d, data->bytes + s, n);
    ip += 5;
    NEXT();
}
L_DATA_DROP:
    inst->data_dropped[ip[1]] = 1;
    ip += 2;
    NEXT();

L_TABLE_GET : {
    struct wasmslot_table *t = inst->tables[ip[3]];
    uint32_t i = RI32(2);
    if (unlikely(i >= t->size))
        TRAP(OOB_TABLE);
    S(1) = (uintptr_t)t->elems[i];
    ip += 4;
    NEXT();
}
L_TABLE_SET : {
    struct wasmslot_table *t = inst->tables[ip[3]];
    uint32_t i = RI32(1);
    if (unlikely(i >= t->size))
        TRAP(OOB_TABLE);
    t->elems[i] = (void *)(uintptr_t)S(2);
    ip += 4;
    NEXT();
}
L_TABLE_SIZE:
    WI32(1, inst->tables[ip[2]]->size);
    ip += 3;
    NEXT();
L_TABLE_GROW : {
    uint32_t old = 0;
    int rc = wasmslot_table__grow(inst->tables[ip[4]], RI32(3), (void *)(uintptr_t)S(2), &old);
    WI32(1, rc == 0 ? old : 0xffffffffu);
    ip += 5;
    NEXT();
}
L_TABLE_FILL : {
    struct wasmslot_table *t = inst->tables[ip[4]];
    uint64_t i = RI32(1), n = RI32(3);
    void *v = (void *)(uintptr_t)S(2);
    if (unlikely(i + n > t->size))
        TRAP(OOB_TABLE);
    for (uint64_t k = 0; k < n; k++)
        t->elems[i + k] = v;
    ip += 5;
    NEXT();
}
L_TABLE_COPY : {
    struct wasmslot_table *dt = inst->tables[ip[4]], *st = inst->tables[ip[5]];
    uint64_t d = RI32(1), s = RI32(2), n = RI32(3);
    if (unlikely(d + n > dt->size || s + n > st->size))
        TRAP(OOB_TABLE);
    memmove(dt->elems + d, st->elems + s, n * sizeof *dt->elems);
    ip += 6;
    NEXT();
}
L_TABLE_INIT : {
    struct wasmslot_table *t = inst->tables[ip[4]];
    uint32_t seg = ip[5];
    const struct wasmslot_elem *e = &inst->module->elems[seg];
    uint64_t d = RI32(1), s = RI32(2), n = RI32(3);
    uint64_t len = (e->mode != WASMSLOT_SEG_PASSIVE || inst->elem_dropped[seg]) ? 0 : e->count;
    if (unlikely(s + n > len || d + n > t->size))
        TRAP(OOB_TABLE);
    for (uint64_t k = 0; k < n; k++)
        t->elems[d + k] = (void *)(uintptr_t)wasmslot_instance__const_eval(inst, &e->items[s + k]);
    ip += 6;
    NEXT();
}
L_ELEM_DROP:
    inst->elem_dropped[ip[1]] = 1;
    ip += 2;
    NEXT();

#define X(code, name, kind, ti, to, expr)                                                          \
    L_##name:                                                                                      \
    {                                                                                              \
        CT_##ti a = R##ti(2);                                                                      \
        LOAD_B_##kind(ti) W##to(1, (expr));                                                        \
        ip += ADV_##kind;                                                                          \
        NEXT();                                                                                    \
    }
    INTERP_NUMOPS(X)
    INTERP_SATOPS(X)
#undef X

    /* Binary ops whose second operand is an immediate. */
#define X_UN(name, ti, to, expr)
#define X_BIN(name, ti, to, expr)                                                                  \
    L_##name##_I:                                                                                  \
    {                                                                                              \
        CT_##ti a = R##ti(2);                                                                      \
        CT_##ti b = IMM_##ti(3);                                                                   \
        W##to(1, (expr));                                                                          \
        ip += ADV_IMM_##ti;                                                                        \
        NEXT();                                                                                    \
    }
#define X(code, name, kind, ti, to, expr) X_##kind(name, ti, to, expr)
    INTERP_NUMOPS(X)
#undef X
#undef X_UN
#undef X_BIN

#define X(code, name, natural, type, ctype, conv)                                                  \
    L_##name:                                                                                      \
    {                                                                                              \
        ctype v;                                                                                   \
        memcpy(&v, mb + (uint64_t)RI32(2) + ip[3], sizeof v);                                      \
        S(1) = (conv);                                                                             \
        ip += 4;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_LOADS(X)
#undef X
#define X(code, name, natural, type, ctype)                                                        \
    L_##name:                                                                                      \
    {                                                                                              \
        ctype v = (ctype)S(2);                                                                     \
        memcpy(mb + (uint64_t)RI32(1) + ip[3], &v, sizeof v);                                      \
        ip += 4;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_STORES(X)
#undef X

    /* The same with the address computed by a fused i32.add (wrapping at 32 bits). */
#define X(code, name, natural, type, ctype, conv)                                                  \
    L_##name##_X:                                                                                  \
    {                                                                                              \
        ctype v;                                                                                   \
        memcpy(&v, mb + (uint64_t)(uint32_t)(RI32(2) + RI32(3)) + ip[4], sizeof v);                \
        S(1) = (conv);                                                                             \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_LOADS(X)
#undef X
#define X(code, name, natural, type, ctype)                                                        \
    L_##name##_X:                                                                                  \
    {                                                                                              \
        ctype v = (ctype)S(3);                                                                     \
        memcpy(mb + (uint64_t)(uint32_t)(RI32(1) + RI32(2)) + ip[4], &v, sizeof v);                \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_STORES(X)
#undef X

    /* The same with an immediate addend (k in the code). */
#define X(code, name, natural, type, ctype, conv)                                                  \
    L_##name##_XI:                                                                                 \
    {                                                                                              \
        ctype v;                                                                                   \
        memcpy(&v, mb + (uint64_t)(uint32_t)(RI32(2) + ip[3]) + ip[4], sizeof v);                  \
        S(1) = (conv);                                                                             \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_LOADS(X)
#undef X
#define X(code, name, natural, type, ctype)                                                        \
    L_##name##_XI:                                                                                 \
    {                                                                                              \
        ctype v = (ctype)S(3);                                                                     \
        memcpy(mb + (uint64_t)(uint32_t)(RI32(1) + ip[2]) + ip[4], &v, sizeof v);                  \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_STORES(X)
#undef X

    /* Loads through a pointer bumped just before: l = x + k, then the access at l + off. */
#define X(code, name, natural, type, ctype, conv)                                                  \
    L_##name##_AL:                                                                                 \
    {                                                                                              \
        ctype v;                                                                                   \
        uint32_t l = RI32(3) + ip[4];                                                              \
        WI32(2, l);                                                                                \
        memcpy(&v, mb + (uint64_t)l + ip[5], sizeof v);                                            \
        S(1) = (conv);                                                                             \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_LOADS(X)
#undef X

    /* Stores through a local that then advances it (a post-increment). */
#define X(code, name, natural, type, ctype)                                                        \
    L_##name##_PA:                                                                                 \
    {                                                                                              \
        ctype v = (ctype)S(2);                                                                     \
        uint32_t l = RI32(1);                                                                      \
        memcpy(mb + (uint64_t)l + ip[3], &v, sizeof v);                                            \
        WI32(1, l + RI32(4));                                                                      \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }                                                                                              \
    L_##name##_PAI:                                                                                \
    {                                                                                              \
        ctype v = (ctype)S(2);                                                                     \
        uint32_t l = RI32(1);                                                                      \
        memcpy(mb + (uint64_t)l + ip[3], &v, sizeof v);                                            \
        WI32(1, l + ip[4]);                                                                        \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_STORES(X)
#undef X

    /* f64 arithmetic with a fused load of the second operand. */
#define X(name, expr)                                                                              \
    L_##name##_M:                                                                                  \
    {                                                                                              \
        uint64_t u;                                                                                \
        memcpy(&u, mb + (uint64_t)RI32(3) + ip[4], sizeof u);                                      \
        double a = RF64(2), b = f64_from(u);                                                       \
        WF64(1, (expr));                                                                           \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }                                                                                              \
    L_##name##_MXI:                                                                                \
    {                                                                                              \
        uint64_t u;                                                                                \
        memcpy(&u, mb + (uint64_t)(uint32_t)(RI32(3) + ip[4]) + ip[5], sizeof u);                  \
        double a = RF64(2), b = f64_from(u);                                                       \
        WF64(1, (expr));                                                                           \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }
    INTERP_FMEMOPS(X)
#undef X

    /* Multiply-add as two roundings, as wasm requires: the empty asm keeps the compiler from
     * contracting the product and the sum into one FMA. */
#if defined(__x86_64__) || defined(__i386__)
#define MULADD_REG "+x"
#elif defined(__aarch64__)
#define MULADD_REG "+w"
#else
#define MULADD_REG "+g"
#endif
#define MULADD(a, b, c)                                                                            \
    ({                                                                                             \
        double p_ = (a) * (b);                                                                     \
        __asm__("" : MULADD_REG(p_));                                                              \
        p_ + (c);                                                                                  \
    })
L_F64_MULADD:
    WF64(1, MULADD(RF64(2), RF64(3), RF64(4)));
    ip += 5;
    NEXT();
L_F64_MULM_ADD : {
    uint64_t u;
    memcpy(&u, mb + (uint64_t)RI32(3) + ip[4], sizeof u);
    WF64(1, MULADD(RF64(2), f64_from(u), RF64(5)));
    ip += 6;
    NEXT();
}
L_F64_MULMXI_ADD : {
    uint64_t u;
    memcpy(&u, mb + (uint64_t)(uint32_t)(RI32(3) + ip[4]) + ip[5], sizeof u);
    WF64(1, MULADD(RF64(2), f64_from(u), RF64(6)));
    ip += 7;
    NEXT();
}
#undef MULADD
#undef MULADD_REG

/* The threads proposal's atomics, wait/notify and fence. */
#include "interp/atomic_run.h"

trap:
    ex->depth = (uint32_t)(frp - frames);
    return -trapc;
}
