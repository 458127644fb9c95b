/* native/translate.c: validated WebAssembly function bodies to LLVM IR, one LLVM module per
 * WebAssembly module, with the interpreter's semantics (traps, polls, limits). */

/*
 * How a body becomes IR
 * - Every function takes (exec, instance, budget, fuel, params...) and returns a struct of its
 *   results and the fuel left (NFIXED). Instance state (memory base, globals, tables,
 *   functions) is loaded through the instance pointer, so one compiled module serves every
 *   instance.
 * - Locals are allocas (promoted to registers by the optimiser); the operand stack is a stack
 *   of SSA values; blocks, ifs and the function end merge their results with phis, loops take
 *   their parameters through phis at the header. Code after br, return or unreachable is
 *   skipped up to the end of its block.
 * - Guest loads and stores are volatile (a dead out-of-bounds load must still trap) at
 *   base + zext(address) + offset, with no bounds check: the memory's reservation and guard
 *   make a bad access fault, and the fault handler turns it into a trap (runtime/trap.c).
 *   Atomic accesses are the same, sequentially consistent, after an alignment check
 *   (native/translate_atomic.h); wait and notify call the runtime.
 * - Explicit traps branch to a cold block per trap kind that calls NH_TRAP, which longjmps out
 *   of the run (no cleanup is needed: generated frames hold no resources).
 * - The call depth travels as the budget, a parameter: max_call_depth less the depth, as the
 *   interpreter counts it; a function entered with 0 traps "call stack exhausted", and passes
 *   one less to its callees. Functions that call wasm code (or may have a large frame) also
 *   compare the stack pointer with exec->native_stack_limit. Both checks live in the callee, so
 *   a tail call, or a self-recursion the optimiser turns into a loop, still counts every level.
 * - Loop headers, and calls outside any loop of their function, are poll points: the fuel, a
 *   parameter and result, counts them down in a register to NH_POLL, which reads the clock and
 *   the interrupt flag (see poll()).
 * - Calls inside the module are direct; a function calling itself calls a twin of itself, which
 *   the optimiser inlines (twin()). Calls through imports and tables go to the callee's own
 *   machine code when its module was compiled by this tier, else through NH_CALL (host
 *   functions, interpreter).
 */
#include "config.h"

#include "format/reader.h"
#include "native/native_int.h"
#include "runtime/objects.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every function's first parameters: exec, instance, the depth budget (calls it may still
 * nest, its own included: 0 means "call stack exhausted") and the fuel (poll points left before
 * the slow poll). It returns a struct of its results and the fuel left. */
#define NFIXED 4

/* Locals plus body bytes (which bound the operand stack) of a function that calls no wasm code
 * and yet checks the native stack at entry: a smaller one's frame stays well inside the reserve
 * kept below the stack limit (native/stack.c). */
#define LEAF_FRAME_MAX 4096

/* Body bytes of the largest self-recursive function given a twin (twin()): beyond a few dozen
 * instructions the inliner would not take it, and the copy would only cost compile time. */
#define TWIN_BODY_MAX 256

struct sig {
    uint32_t np, nr;
    const enum wasmslot_valtype *p, *r;
};

enum ctl_kind { K_BLOCK, K_LOOP, K_IF, K_FUNC };

struct ctl {
    enum ctl_kind kind;
    struct sig sig;
    LLVMBasicBlockRef merge;   /* where results flow (after the end) */
    LLVMBasicBlockRef header;  /* loops: the branch target */
    LLVMBasicBlockRef else_bb; /* ifs until their else */
    LLVMValueRef *mphis;       /* sig.nr phis in merge */
    LLVMValueRef *hphis;       /* loops: sig.np phis in header */
    LLVMValueRef *ifparams;    /* ifs: the parameters, for the else arm */
    uint32_t height;           /* operand stack height below the parameters */
    uint32_t nincoming;        /* edges into merge so far */
};

struct xl {
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMBuilderRef B;  /* the body */
    LLVMBuilderRef AB; /* allocas, at the end of the entry block */
    const struct wasmslot_module *m;
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, ptr, vd;
    LLVMTypeRef *ftypes; /* per type index */
    LLVMValueRef *fns;   /* per defined function */
    LLVMTypeRef htype[NH__COUNT];
    unsigned md_invariant;
    LLVMValueRef md_empty;
    const char *unsupported;

    /* The function being translated. */
    LLVMValueRef fn, ex, inst, membase;
    LLVMValueRef budget; /* what its callees may still nest (i32): its own budget less one */
    LLVMValueRef fuel;   /* alloca: polls left before the slow poll (ex->poll_countdown) */
    bool calls;          /* whether it calls anything that may run wasm code */
    bool self_calls;     /* whether it calls itself directly */
    LLVMBasicBlockRef entry;
    uint32_t nlocals;
    LLVMValueRef *locals;
    LLVMTypeRef *ltypes;
    LLVMValueRef *vs;
    uint32_t nvs, cvs;
    struct ctl *cs;
    uint32_t ncs, ccs;
    bool dead;
    uint32_t dead_depth;
    LLVMBasicBlockRef trap_bb[WASMSLOT_TRAP_HOST - WASMSLOT_TRAP_UNREACHABLE + 1];
    LLVMValueRef cells; /* alloca of cells for generic calls, made on first use */
    uint32_t ncells;
};

static const enum wasmslot_valtype one_type[] = {
    WASMSLOT_I32,     WASMSLOT_I64,     WASMSLOT_F32,      WASMSLOT_F64,
    WASMSLOT_FUNCREF, WASMSLOT_EXTERNREF, WASMSLOT_V128,
};

static const enum wasmslot_valtype *type_ptr(enum wasmslot_valtype t)
{
    for (size_t i = 0; i < sizeof one_type / sizeof one_type[0]; i++)
        if (one_type[i] == t)
            return &one_type[i];
    return NULL;
}

/* ------------------------------------------------------------------ small helpers */

static LLVMTypeRef vt(struct xl *x, enum wasmslot_valtype t)
{
    switch (t) {
    case WASMSLOT_I32:
        return x->i32;
    case WASMSLOT_I64:
        return x->i64;
    case WASMSLOT_F32:
        return x->f32;
    case WASMSLOT_F64:
        return x->f64;
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        return x->ptr;
    case WASMSLOT_V128:
        break;
    }
    return x->i64;
}

static LLVMValueRef ci32(struct xl *x, uint64_t v)
{
    return LLVMConstInt(x->i32, v, 0);
}

static LLVMValueRef ci64(struct xl *x, uint64_t v)
{
    return LLVMConstInt(x->i64, v, 0);
}

static void push(struct xl *x, LLVMValueRef v)
{
    if (x->nvs == x->cvs) {
        x->cvs = x->cvs ? 2 * x->cvs : 64;
        x->vs = realloc(x->vs, x->cvs * sizeof *x->vs);
        if (x->vs == NULL)
            abort();
    }
    x->vs[x->nvs++] = v;
}

static LLVMValueRef pop(struct xl *x)
{
    return x->vs[--x->nvs];
}

static LLVMValueRef top(struct xl *x)
{
    return x->vs[x->nvs - 1];
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (p == NULL)
        abort();
    return p;
}

/* A pointer field at byte offset off of the object at p. */
static LLVMValueRef field(struct xl *x, LLVMValueRef p, size_t off)
{
    if (off == 0)
        return p;
    LLVMValueRef o = ci64(x, off);
    return LLVMBuildGEP2(x->B, x->i8, p, &o, 1, "");
}

static LLVMValueRef load(struct xl *x, LLVMTypeRef t, LLVMValueRef p, size_t off)
{
    return LLVMBuildLoad2(x->B, t, field(x, p, off), "");
}

/* A load of something that never changes during the run (instance layout, memory base). */
static LLVMValueRef load_inv(struct xl *x, LLVMTypeRef t, LLVMValueRef p, size_t off)
{
    LLVMValueRef l = load(x, t, p, off);
    LLVMSetMetadata(l, x->md_invariant, x->md_empty);
    return l;
}

static void store(struct xl *x, LLVMValueRef v, LLVMValueRef p, size_t off)
{
    LLVMBuildStore(x->B, v, field(x, p, off));
}

/* A call to a runtime helper, an external function the JIT resolves when it links the code:
 * the object holds no address of this process, so another process may load it from the code
 * cache. */
static LLVMValueRef helper(struct xl *x, enum native_helper h, LLVMValueRef *args, unsigned n)
{
    char name[NATIVE_HELPER_NAME_MAX];
    native__helper_name(h, name);
    LLVMValueRef fn = LLVMGetNamedFunction(x->M, name);
    if (fn == NULL)
        fn = LLVMAddFunction(x->M, name, x->htype[h]);
    return LLVMBuildCall2(x->B, x->htype[h], fn, args, n, "");
}

static void add_fn_attr(struct xl *x, LLVMValueRef fn_or_call, bool call, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAttributeRef a = LLVMCreateEnumAttribute(x->C, kind, 0);
    if (call)
        LLVMAddCallSiteAttribute(fn_or_call, LLVMAttributeFunctionIndex, a);
    else
        LLVMAddAttributeAtIndex(fn_or_call, LLVMAttributeFunctionIndex, a);
}

static LLVMValueRef intrinsic(struct xl *x, const char *name, LLVMTypeRef *types, unsigned nt,
                              LLVMValueRef *args, unsigned na)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    if (!LLVMIntrinsicIsOverloaded(id))
        nt = 0;
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(x->M, id, types, nt);
    LLVMTypeRef ft = LLVMIntrinsicGetType(x->C, id, types, nt);
    return LLVMBuildCall2(x->B, ft, f, args, na, "");
}

static LLVMValueRef intr1(struct xl *x, const char *name, LLVMValueRef a)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    return intrinsic(x, name, &t, 1, &a, 1);
}

static LLVMValueRef intr2(struct xl *x, const char *name, LLVMValueRef a, LLVMValueRef b)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[2] = {a, b};
    return intrinsic(x, name, &t, 1, args, 2);
}

static LLVMBasicBlockRef new_bb(struct xl *x, const char *name)
{
    return LLVMAppendBasicBlockInContext(x->C, x->fn, name);
}

/* The cold block that raises trap `code`, one per kind and function. */
static LLVMBasicBlockRef trap_block(struct xl *x, int code)
{
    unsigned k = (unsigned)(code - WASMSLOT_TRAP_UNREACHABLE);
    if (x->trap_bb[k] != NULL)
        return x->trap_bb[k];
    LLVMBasicBlockRef here = LLVMGetInsertBlock(x->B);
    LLVMBasicBlockRef bb = new_bb(x, "trap");
    LLVMPositionBuilderAtEnd(x->B, bb);
    LLVMValueRef args[2] = {x->ex, ci32(x, (uint64_t)code)};
    LLVMValueRef call = helper(x, NH_TRAP, args, 2);
    add_fn_attr(x, call, true, "noreturn");
    add_fn_attr(x, call, true, "cold");
    LLVMBuildUnreachable(x->B);
    LLVMPositionBuilderAtEnd(x->B, here);
    x->trap_bb[k] = bb;
    return bb;
}

static void trap_if(struct xl *x, LLVMValueRef cond, int code)
{
    LLVMBasicBlockRef cont = new_bb(x, "ok");
    LLVMBuildCondBr(x->B, cond, trap_block(x, code), cont);
    LLVMPositionBuilderAtEnd(x->B, cont);
}

/* Interruption and deadlines. A countdown of poll points to the slow poll (NH_POLL: the clock,
 * then the interrupt flag) passes from function to function in a register, as a parameter and
 * a result (the "fuel"), so a poll on the fast path is a decrement and a branch, and calls add no
 * memory traffic. ex->poll_countdown holds it while C code runs (the entry from C, NH_CALL). */
static LLVMValueRef fuel_ptr(struct xl *x)
{
    return field(x, x->ex, offsetof(struct wasmslot_exec, poll_countdown));
}

static void poll(struct xl *x)
{
    LLVMValueRef c = LLVMBuildSub(x->B, LLVMBuildLoad2(x->B, x->i32, x->fuel, ""), ci32(x, 1), "");
    LLVMBuildStore(x->B, c, x->fuel);
    LLVMBasicBlockRef slow = new_bb(x, "poll"), cont = new_bb(x, "polled");
    LLVMBuildCondBr(x->B, LLVMBuildICmp(x->B, LLVMIntSLE, c, ci32(x, 0), ""), slow, cont);
    LLVMPositionBuilderAtEnd(x->B, slow);
    LLVMValueRef call = helper(x, NH_POLL, &x->ex, 1);
    add_fn_attr(x, call, true, "cold");
    LLVMBuildStore(x->B, ci32(x, NATIVE_POLL_PERIOD), x->fuel);
    LLVMBuildBr(x->B, cont);
    LLVMPositionBuilderAtEnd(x->B, cont);
}

/* Before a call that may run wasm code. Every cycle of a run must pass a poll point: a loop's
 * passes its header; a recursion passes the call, which polls unless it lies in a loop of the
 * function, whose header every activation passes before reaching it. */
static void before_call(struct xl *x)
{
    x->calls = true;
    for (uint32_t i = 0; i < x->ncs; i++)
        if (x->cs[i].kind == K_LOOP)
            return;
    poll(x);
}

/* Values and 64-bit cells (the runtime's calling convention for generic calls). */
static LLVMValueRef to_cell(struct xl *x, LLVMValueRef v, enum wasmslot_valtype t)
{
    switch (t) {
    case WASMSLOT_I32:
        return LLVMBuildZExt(x->B, v, x->i64, "");
    case WASMSLOT_F32:
        return LLVMBuildZExt(x->B, LLVMBuildBitCast(x->B, v, x->i32, ""), x->i64, "");
    case WASMSLOT_F64:
        return LLVMBuildBitCast(x->B, v, x->i64, "");
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        return LLVMBuildPtrToInt(x->B, v, x->i64, "");
    case WASMSLOT_I64:
    case WASMSLOT_V128:
        break;
    }
    return v;
}

static LLVMValueRef from_cell(struct xl *x, LLVMValueRef c, enum wasmslot_valtype t)
{
    switch (t) {
    case WASMSLOT_I32:
        return LLVMBuildTrunc(x->B, c, x->i32, "");
    case WASMSLOT_F32:
        return LLVMBuildBitCast(x->B, LLVMBuildTrunc(x->B, c, x->i32, ""), x->f32, "");
    case WASMSLOT_F64:
        return LLVMBuildBitCast(x->B, c, x->f64, "");
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
        return LLVMBuildIntToPtr(x->B, c, x->ptr, "");
    case WASMSLOT_I64:
    case WASMSLOT_V128:
        break;
    }
    return c;
}

static LLVMTypeRef func_type(struct xl *x, const struct wasmslot_functype *ft)
{
    LLVMTypeRef *ps = xcalloc(ft->nparams + NFIXED, sizeof *ps);
    ps[0] = x->ptr;
    ps[1] = x->ptr;
    ps[2] = x->i32;
    ps[3] = x->i32;
    for (uint32_t i = 0; i < ft->nparams; i++)
        ps[NFIXED + i] = vt(x, ft->params[i]);
    LLVMTypeRef *rs = xcalloc(ft->nresults + 1, sizeof *rs);
    for (uint32_t i = 0; i < ft->nresults; i++)
        rs[i] = vt(x, ft->results[i]);
    rs[ft->nresults] = x->i32;
    LLVMTypeRef ret = LLVMStructTypeInContext(x->C, rs, ft->nresults + 1, 0);
    free(rs);
    LLVMTypeRef t = LLVMFunctionType(ret, ps, ft->nparams + NFIXED, 0);
    free(ps);
    return t;
}

/* Push the results of a call returning `ret` with wasm type ft, and take the fuel back. */
static void push_results(struct xl *x, LLVMValueRef ret, const struct wasmslot_functype *ft)
{
    for (uint32_t i = 0; i < ft->nresults; i++)
        push(x, LLVMBuildExtractValue(x->B, ret, i, ""));
    LLVMBuildStore(x->B, LLVMBuildExtractValue(x->B, ret, ft->nresults, ""), x->fuel);
}

static LLVMValueRef cells_buf(struct xl *x, uint32_t n)
{
    if (n < 1)
        n = 1;
    if (x->cells == NULL || x->ncells < n) {
        uint32_t k = n < 16 ? 16 : n;
        x->cells = LLVMBuildAlloca(x->AB, LLVMArrayType(x->i64, k), "cells");
        x->ncells = k;
    }
    return x->cells;
}

/* A call through a struct wasmslot_func *fp of type ft, with the arguments popped: straight to
 * its machine code when its module has some, else through the runtime. */
static void call_funcref(struct xl *x, LLVMValueRef fp, const struct wasmslot_functype *ft,
                         LLVMTypeRef fty)
{
    uint32_t np = ft->nparams, nr = ft->nresults;
    LLVMValueRef *args = xcalloc(np + NFIXED, sizeof *args);
    for (uint32_t i = np; i-- > 0;)
        args[NFIXED + i] = pop(x);
    before_call(x);

    LLVMBasicBlockRef chk = new_bb(x, "chk"), nat = new_bb(x, "native"), gen = new_bb(x, "generic"),
                      done = new_bb(x, "called");
    LLVMValueRef def = load(x, x->ptr, fp, offsetof(struct wasmslot_func, def));
    LLVMBuildCondBr(x->B, LLVMBuildIsNull(x->B, def, ""), gen, chk);

    LLVMPositionBuilderAtEnd(x->B, chk);
    LLVMValueRef code = load(x, x->ptr, def, offsetof(struct wasmslot_func_def, native_code));
    LLVMBuildCondBr(x->B, LLVMBuildIsNull(x->B, code, ""), gen, nat);

    LLVMPositionBuilderAtEnd(x->B, nat);
    args[0] = x->ex;
    args[1] = load(x, x->ptr, fp, offsetof(struct wasmslot_func, inst));
    args[2] = x->budget;
    args[3] = LLVMBuildLoad2(x->B, x->i32, x->fuel, "");
    LLVMValueRef r = LLVMBuildCall2(x->B, fty, code, args, np + NFIXED, "");
    LLVMValueRef *rn = xcalloc(nr + 1, sizeof *rn), *rg = xcalloc(nr + 1, sizeof *rg);
    for (uint32_t i = 0; i <= nr; i++)
        rn[i] = LLVMBuildExtractValue(x->B, r, i, "");
    LLVMBasicBlockRef nat_end = LLVMGetInsertBlock(x->B);
    LLVMBuildBr(x->B, done);

    LLVMPositionBuilderAtEnd(x->B, gen);
    LLVMValueRef cells = cells_buf(x, np > nr ? np : nr);
    for (uint32_t i = 0; i < np; i++) {
        LLVMValueRef idx = ci64(x, i);
        LLVMBuildStore(x->B, to_cell(x, args[NFIXED + i], ft->params[i]),
                       LLVMBuildGEP2(x->B, x->i64, cells, &idx, 1, ""));
    }
    /* The runtime counts depth in ex->depth: this function's frame is in it. */
    LLVMValueRef maxd = load(x, x->i32, x->ex, offsetof(struct wasmslot_exec, max_call_depth));
    store(x, LLVMBuildSub(x->B, maxd, x->budget, ""), x->ex, offsetof(struct wasmslot_exec, depth));
    LLVMBuildStore(x->B, LLVMBuildLoad2(x->B, x->i32, x->fuel, ""), fuel_ptr(x));
    LLVMValueRef hargs[4] = {x->ex, x->inst, fp, cells};
    helper(x, NH_CALL, hargs, 4);
    rg[nr] = LLVMBuildLoad2(x->B, x->i32, fuel_ptr(x), "");
    for (uint32_t i = 0; i < nr; i++) {
        LLVMValueRef idx = ci64(x, i);
        LLVMValueRef c = LLVMBuildLoad2(x->B, x->i64, LLVMBuildGEP2(x->B, x->i64, cells, &idx, 1, ""),
                                        "");
        rg[i] = from_cell(x, c, ft->results[i]);
    }
    LLVMBasicBlockRef gen_end = LLVMGetInsertBlock(x->B);
    LLVMBuildBr(x->B, done);

    LLVMPositionBuilderAtEnd(x->B, done);
    for (uint32_t i = 0; i <= nr; i++) {
        LLVMValueRef phi = LLVMBuildPhi(x->B, i < nr ? vt(x, ft->results[i]) : x->i32, "");
        LLVMValueRef vals[2] = {rn[i], rg[i]};
        LLVMBasicBlockRef bbs[2] = {nat_end, gen_end};
        LLVMAddIncoming(phi, vals, bbs, 2);
        if (i < nr)
            push(x, phi);
        else
            LLVMBuildStore(x->B, phi, x->fuel);
    }
    free(args);
    free(rn);
    free(rg);
}

/* ------------------------------------------------------------------ control */

static struct ctl *push_ctl(struct xl *x, enum ctl_kind kind, struct sig sig)
{
    if (x->ncs == x->ccs) {
        x->ccs = x->ccs ? 2 * x->ccs : 16;
        x->cs = realloc(x->cs, x->ccs * sizeof *x->cs);
        if (x->cs == NULL)
            abort();
    }
    struct ctl *c = &x->cs[x->ncs++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->sig = sig;
    c->height = x->nvs - sig.np;
    c->merge = new_bb(x, kind == K_FUNC ? "ret" : "end");
    c->mphis = xcalloc(sig.nr, sizeof *c->mphis);
    LLVMBasicBlockRef here = LLVMGetInsertBlock(x->B);
    LLVMPositionBuilderAtEnd(x->B, c->merge);
    for (uint32_t i = 0; i < sig.nr; i++)
        c->mphis[i] = LLVMBuildPhi(x->B, vt(x, sig.r[i]), "");
    LLVMPositionBuilderAtEnd(x->B, here);
    return c;
}

static void free_ctl(struct ctl *c)
{
    free(c->mphis);
    free(c->hphis);
    free(c->ifparams);
}

/* Add the top values as incoming edges of the label of c, from the current block. Returns
 * the block to branch to. */
static LLVMBasicBlockRef label_edge(struct xl *x, struct ctl *c)
{
    LLVMBasicBlockRef from = LLVMGetInsertBlock(x->B);
    if (c->kind == K_LOOP) {
        for (uint32_t i = 0; i < c->sig.np; i++) {
            LLVMValueRef v = x->vs[x->nvs - c->sig.np + i];
            LLVMAddIncoming(c->hphis[i], &v, &from, 1);
        }
        return c->header;
    }
    for (uint32_t i = 0; i < c->sig.nr; i++) {
        LLVMValueRef v = x->vs[x->nvs - c->sig.nr + i];
        LLVMAddIncoming(c->mphis[i], &v, &from, 1);
    }
    c->nincoming++;
    return c->merge;
}

static void go_dead(struct xl *x)
{
    x->dead = true;
    x->dead_depth = 0;
    x->nvs = x->cs[x->ncs - 1].height;
}

static void build_return(struct xl *x, const struct wasmslot_functype *ft, LLVMValueRef *vals)
{
    LLVMValueRef *rv = xcalloc(ft->nresults + 1, sizeof *rv);
    memcpy(rv, vals, ft->nresults * sizeof *rv);
    rv[ft->nresults] = LLVMBuildLoad2(x->B, x->i32, x->fuel, "");
    LLVMBuildAggregateRet(x->B, rv, ft->nresults + 1);
    free(rv);
}

/* The end of c's block: merge, continue after it (or stay dead when nothing reaches it). */
static void end_ctl(struct xl *x)
{
    struct ctl *c = &x->cs[x->ncs - 1];
    if (!x->dead) {
        /* Fall through to the merge (for a loop too: its label is the header, not the end). */
        LLVMBasicBlockRef from = LLVMGetInsertBlock(x->B);
        for (uint32_t i = 0; i < c->sig.nr; i++) {
            LLVMValueRef v = x->vs[x->nvs - c->sig.nr + i];
            LLVMAddIncoming(c->mphis[i], &v, &from, 1);
        }
        c->nincoming++;
        LLVMBuildBr(x->B, c->merge);
    }
    if (c->kind == K_IF && c->else_bb != NULL) {
        /* No else: the parameters pass through as results. */
        LLVMPositionBuilderAtEnd(x->B, c->else_bb);
        for (uint32_t i = 0; i < c->sig.nr; i++)
            LLVMAddIncoming(c->mphis[i], &c->ifparams[i], &c->else_bb, 1);
        c->nincoming++;
        LLVMBuildBr(x->B, c->merge);
    }
    x->nvs = c->height;
    LLVMPositionBuilderAtEnd(x->B, c->merge);
    if (c->nincoming == 0) {
        for (uint32_t i = 0; i < c->sig.nr; i++)
            LLVMInstructionEraseFromParent(c->mphis[i]);
        LLVMBuildUnreachable(x->B);
        x->dead = true;
        x->dead_depth = 0;
    } else {
        x->dead = false;
        for (uint32_t i = 0; i < c->sig.nr; i++)
            push(x, c->mphis[i]);
    }
    free_ctl(c);
    x->ncs--;
    if (x->dead && x->ncs > 0)
        x->nvs = x->cs[x->ncs - 1].height;
}

/* ------------------------------------------------------------------ numeric */

static LLVMValueRef icmp(struct xl *x, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildZExt(x->B, LLVMBuildICmp(x->B, p, a, b, ""), x->i32, "");
}

static LLVMValueRef fcmp(struct xl *x, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildZExt(x->B, LLVMBuildFCmp(x->B, p, a, b, ""), x->i32, "");
}

static LLVMValueRef shift_amount(struct xl *x, LLVMValueRef b, unsigned bits)
{
    return LLVMBuildAnd(x->B, b, LLVMConstInt(LLVMTypeOf(b), bits - 1, 0), "");
}

static LLVMValueRef div_rem(struct xl *x, int op, LLVMValueRef a, LLVMValueRef b, unsigned bits)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), m1 = LLVMConstAllOnes(t);
    trap_if(x, LLVMBuildICmp(x->B, LLVMIntEQ, b, zero, ""), WASMSLOT_TRAP_DIV_ZERO);
    switch (op) {
    case 0: { /* div_s */
        LLVMValueRef min = LLVMConstInt(t, 1ull << (bits - 1), 0);
        LLVMValueRef ovf = LLVMBuildAnd(x->B, LLVMBuildICmp(x->B, LLVMIntEQ, a, min, ""),
                                        LLVMBuildICmp(x->B, LLVMIntEQ, b, m1, ""), "");
        trap_if(x, ovf, WASMSLOT_TRAP_INT_OVERFLOW);
        return LLVMBuildSDiv(x->B, a, b, "");
    }
    case 1:
        return LLVMBuildUDiv(x->B, a, b, "");
    case 2: { /* rem_s: x % -1 is 0, and INT_MIN % -1 must not reach srem */
        LLVMValueRef is_m1 = LLVMBuildICmp(x->B, LLVMIntEQ, b, m1, "");
        LLVMValueRef bb = LLVMBuildSelect(x->B, is_m1, LLVMConstInt(t, 1, 0), b, "");
        return LLVMBuildSRem(x->B, a, bb, "");
    }
    default:
        return LLVMBuildURem(x->B, a, b, "");
    }
}

/* Float to int with the interpreter's traps: NaN, then the exclusive bounds lo < a < hi. */
static LLVMValueRef trunc_checked(struct xl *x, LLVMValueRef a, double lo, double hi,
                                  LLVMTypeRef to, bool is_signed)
{
    LLVMTypeRef ft = LLVMTypeOf(a);
    trap_if(x, LLVMBuildFCmp(x->B, LLVMRealUNO, a, a, ""), WASMSLOT_TRAP_BAD_CONVERSION);
    LLVMValueRef in = LLVMBuildAnd(x->B, LLVMBuildFCmp(x->B, LLVMRealOGT, a, LLVMConstReal(ft, lo), ""),
                                   LLVMBuildFCmp(x->B, LLVMRealOLT, a, LLVMConstReal(ft, hi), ""), "");
    trap_if(x, LLVMBuildNot(x->B, in, ""), WASMSLOT_TRAP_INT_OVERFLOW);
    return is_signed ? LLVMBuildFPToSI(x->B, a, to, "") : LLVMBuildFPToUI(x->B, a, to, "");
}

static LLVMValueRef trunc_sat(struct xl *x, LLVMValueRef a, LLVMTypeRef to, bool is_signed)
{
    LLVMTypeRef types[2] = {to, LLVMTypeOf(a)};
    return intrinsic(x, is_signed ? "llvm.fptosi.sat" : "llvm.fptoui.sat", types, 2, &a, 1);
}

/* Whether c is the float constant with these bits (an identity the optimiser would fold away
 * although wasm requires the operation to quiet a signalling NaN). */
static bool is_fconst(LLVMValueRef c, double want)
{
    if (!LLVMIsAConstantFP(c))
        return false;
    LLVMBool lossy;
    double d = LLVMConstRealGetDouble(c, &lossy);
    return d == want && signbit(d) == signbit(want);
}

/* x op identity must still quiet a signalling NaN, but the optimiser folds x - 0.0, x + -0.0,
 * x * 1.0 and x / 1.0 to x
 * (and -0.0 - x, x * -1.0, x / -1.0 to a negation, a bit operation). An empty asm hides the constant from it (one register move). */
static LLVMValueRef opaque(struct xl *x, LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMTypeRef ft = LLVMFunctionType(t, &t, 1, 0);
    LLVMValueRef asm_ = LLVMGetInlineAsm(ft, "", 0, "=x,0", 4, 0, 0, LLVMInlineAsmDialectATT, 0);
    return LLVMBuildCall2(x->B, ft, asm_, &v, 1, "");
}

static LLVMValueRef fbin(struct xl *x, LLVMOpcode op, LLVMValueRef a, LLVMValueRef b)
{
    if ((op == LLVMFSub && is_fconst(b, 0.0)) || (op == LLVMFAdd && is_fconst(b, -0.0)) ||
        ((op == LLVMFMul || op == LLVMFDiv) && (is_fconst(b, 1.0) || is_fconst(b, -1.0))))
        b = opaque(x, b);
    if ((op == LLVMFSub && is_fconst(a, -0.0)) || (op == LLVMFMul && is_fconst(a, -1.0)) ||
        (op == LLVMFMul && is_fconst(a, 1.0)) || (op == LLVMFAdd && is_fconst(a, -0.0)))
        a = opaque(x, a);
    return LLVMBuildBinOp(x->B, op, a, b, "");
}

/* min/max: a NaN operand gives a quiet NaN (a + b quiets it), else llvm.minimum/maximum, which
 * order -0 below +0. */
static LLVMValueRef fminmax(struct xl *x, const char *name, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef nan = LLVMBuildFCmp(x->B, LLVMRealUNO, a, b, "");
    return LLVMBuildSelect(x->B, nan, LLVMBuildFAdd(x->B, a, b, ""), intr2(x, name, a, b), "");
}

/* One numeric instruction 0x45..0xc4; false if op is not one. */
static bool numeric(struct xl *x, uint8_t op)
{
    LLVMBuilderRef B = x->B;
    LLVMValueRef a, b, r;
    /* Unary or binary by opcode range. */
    bool unary = op == 0x45 || op == 0x50 || (op >= 0x67 && op <= 0x69) ||
                 (op >= 0x79 && op <= 0x7b) || (op >= 0x8b && op <= 0x91) ||
                 (op >= 0x99 && op <= 0x9f) || op >= 0xa7;
    if (op < 0x45 || op > 0xc4 || (op > 0xbf && op < 0xc0))
        return false;
    b = unary ? NULL : pop(x);
    a = pop(x);
    switch (op) {
    case 0x45:
        r = icmp(x, LLVMIntEQ, a, ci32(x, 0));
        break;
    case 0x46:
    case 0x51:
        r = icmp(x, LLVMIntEQ, a, b);
        break;
    case 0x47:
    case 0x52:
        r = icmp(x, LLVMIntNE, a, b);
        break;
    case 0x48:
    case 0x53:
        r = icmp(x, LLVMIntSLT, a, b);
        break;
    case 0x49:
    case 0x54:
        r = icmp(x, LLVMIntULT, a, b);
        break;
    case 0x4a:
    case 0x55:
        r = icmp(x, LLVMIntSGT, a, b);
        break;
    case 0x4b:
    case 0x56:
        r = icmp(x, LLVMIntUGT, a, b);
        break;
    case 0x4c:
    case 0x57:
        r = icmp(x, LLVMIntSLE, a, b);
        break;
    case 0x4d:
    case 0x58:
        r = icmp(x, LLVMIntULE, a, b);
        break;
    case 0x4e:
    case 0x59:
        r = icmp(x, LLVMIntSGE, a, b);
        break;
    case 0x4f:
    case 0x5a:
        r = icmp(x, LLVMIntUGE, a, b);
        break;
    case 0x50:
        r = icmp(x, LLVMIntEQ, a, ci64(x, 0));
        break;
    case 0x5b:
    case 0x61:
        r = fcmp(x, LLVMRealOEQ, a, b);
        break;
    case 0x5c:
    case 0x62:
        r = fcmp(x, LLVMRealUNE, a, b);
        break;
    case 0x5d:
    case 0x63:
        r = fcmp(x, LLVMRealOLT, a, b);
        break;
    case 0x5e:
    case 0x64:
        r = fcmp(x, LLVMRealOGT, a, b);
        break;
    case 0x5f:
    case 0x65:
        r = fcmp(x, LLVMRealOLE, a, b);
        break;
    case 0x60:
    case 0x66:
        r = fcmp(x, LLVMRealOGE, a, b);
        break;
    case 0x67:
    case 0x79:
        r = intr2(x, "llvm.ctlz", a, LLVMConstInt(x->i1, 0, 0));
        break;
    case 0x68:
    case 0x7a:
        r = intr2(x, "llvm.cttz", a, LLVMConstInt(x->i1, 0, 0));
        break;
    case 0x69:
    case 0x7b:
        r = intr1(x, "llvm.ctpop", a);
        break;
    case 0x6a:
    case 0x7c:
        r = LLVMBuildAdd(B, a, b, "");
        break;
    case 0x6b:
    case 0x7d:
        r = LLVMBuildSub(B, a, b, "");
        break;
    case 0x6c:
    case 0x7e:
        r = LLVMBuildMul(B, a, b, "");
        break;
    case 0x6d:
    case 0x6e:
    case 0x6f:
    case 0x70:
        r = div_rem(x, op - 0x6d, a, b, 32);
        break;
    case 0x7f:
    case 0x80:
    case 0x81:
    case 0x82:
        r = div_rem(x, op - 0x7f, a, b, 64);
        break;
    case 0x71:
    case 0x83:
        r = LLVMBuildAnd(B, a, b, "");
        break;
    case 0x72:
    case 0x84:
        r = LLVMBuildOr(B, a, b, "");
        break;
    case 0x73:
    case 0x85:
        r = LLVMBuildXor(B, a, b, "");
        break;
    case 0x74:
        r = LLVMBuildShl(B, a, shift_amount(x, b, 32), "");
        break;
    case 0x75:
        r = LLVMBuildAShr(B, a, shift_amount(x, b, 32), "");
        break;
    case 0x76:
        r = LLVMBuildLShr(B, a, shift_amount(x, b, 32), "");
        break;
    case 0x86:
        r = LLVMBuildShl(B, a, shift_amount(x, b, 64), "");
        break;
    case 0x87:
        r = LLVMBuildAShr(B, a, shift_amount(x, b, 64), "");
        break;
    case 0x88:
        r = LLVMBuildLShr(B, a, shift_amount(x, b, 64), "");
        break;
    case 0x77:
    case 0x89: {
        LLVMTypeRef t = LLVMTypeOf(a);
        LLVMValueRef args[3] = {a, a, b};
        r = intrinsic(x, "llvm.fshl", &t, 1, args, 3);
        break;
    }
    case 0x78:
    case 0x8a: {
        LLVMTypeRef t = LLVMTypeOf(a);
        LLVMValueRef args[3] = {a, a, b};
        r = intrinsic(x, "llvm.fshr", &t, 1, args, 3);
        break;
    }
    case 0x8b:
    case 0x99:
        r = intr1(x, "llvm.fabs", a);
        break;
    case 0x8c:
    case 0x9a:
        r = LLVMBuildFNeg(B, a, "");
        break;
    case 0x8d:
    case 0x9b:
        r = intr1(x, "llvm.ceil", a);
        break;
    case 0x8e:
    case 0x9c:
        r = intr1(x, "llvm.floor", a);
        break;
    case 0x8f:
    case 0x9d:
        r = intr1(x, "llvm.trunc", a);
        break;
    case 0x90:
    case 0x9e:
        r = intr1(x, "llvm.roundeven", a);
        break;
    case 0x91:
    case 0x9f:
        r = intr1(x, "llvm.sqrt", a);
        break;
    case 0x92:
    case 0xa0:
        r = fbin(x, LLVMFAdd, a, b);
        break;
    case 0x93:
    case 0xa1:
        r = fbin(x, LLVMFSub, a, b);
        break;
    case 0x94:
    case 0xa2:
        r = fbin(x, LLVMFMul, a, b);
        break;
    case 0x95:
    case 0xa3:
        r = fbin(x, LLVMFDiv, a, b);
        break;
    case 0x96:
    case 0xa4:
        r = fminmax(x, "llvm.minimum", a, b);
        break;
    case 0x97:
    case 0xa5:
        r = fminmax(x, "llvm.maximum", a, b);
        break;
    case 0x98:
    case 0xa6:
        r = intr2(x, "llvm.copysign", a, b);
        break;
    case 0xa7:
        r = LLVMBuildTrunc(B, a, x->i32, "");
        break;
    case 0xa8:
        r = trunc_checked(x, a, -2147483904.0, 2147483648.0, x->i32, true);
        break;
    case 0xa9:
        r = trunc_checked(x, a, -1.0, 4294967296.0, x->i32, false);
        break;
    case 0xaa:
        r = trunc_checked(x, a, -2147483649.0, 2147483648.0, x->i32, true);
        break;
    case 0xab:
        r = trunc_checked(x, a, -1.0, 4294967296.0, x->i32, false);
        break;
    case 0xac:
        r = LLVMBuildSExt(B, a, x->i64, "");
        break;
    case 0xad:
        r = LLVMBuildZExt(B, a, x->i64, "");
        break;
    case 0xae:
        r = trunc_checked(x, a, -9223373136366403584.0, 9223372036854775808.0, x->i64, true);
        break;
    case 0xaf:
        r = trunc_checked(x, a, -1.0, 18446744073709551616.0, x->i64, false);
        break;
    case 0xb0:
        r = trunc_checked(x, a, -9223372036854777856.0, 9223372036854775808.0, x->i64, true);
        break;
    case 0xb1:
        r = trunc_checked(x, a, -1.0, 18446744073709551616.0, x->i64, false);
        break;
    case 0xb2:
    case 0xb4:
        r = LLVMBuildSIToFP(B, a, x->f32, "");
        break;
    case 0xb3:
    case 0xb5:
        r = LLVMBuildUIToFP(B, a, x->f32, "");
        break;
    case 0xb6:
        /* demote(promote(x)) must quiet a signalling NaN too. */
        if (LLVMIsAInstruction(a) && LLVMGetInstructionOpcode(a) == LLVMFPExt)
            a = opaque(x, a);
        r = LLVMBuildFPTrunc(B, a, x->f32, "");
        break;
    case 0xb7:
    case 0xb9:
        r = LLVMBuildSIToFP(B, a, x->f64, "");
        break;
    case 0xb8:
    case 0xba:
        r = LLVMBuildUIToFP(B, a, x->f64, "");
        break;
    case 0xbb:
        r = LLVMBuildFPExt(B, a, x->f64, "");
        break;
    case 0xbc:
        r = LLVMBuildBitCast(B, a, x->i32, "");
        break;
    case 0xbd:
        r = LLVMBuildBitCast(B, a, x->i64, "");
        break;
    case 0xbe:
        r = LLVMBuildBitCast(B, a, x->f32, "");
        break;
    case 0xbf:
        r = LLVMBuildBitCast(B, a, x->f64, "");
        break;
    case 0xc0:
        r = LLVMBuildSExt(B, LLVMBuildTrunc(B, a, x->i8, ""), x->i32, "");
        break;
    case 0xc1:
        r = LLVMBuildSExt(B, LLVMBuildTrunc(B, a, x->i16, ""), x->i32, "");
        break;
    case 0xc2:
        r = LLVMBuildSExt(B, LLVMBuildTrunc(B, a, x->i8, ""), x->i64, "");
        break;
    case 0xc3:
        r = LLVMBuildSExt(B, LLVMBuildTrunc(B, a, x->i16, ""), x->i64, "");
        break;
    case 0xc4:
        r = LLVMBuildSExt(B, LLVMBuildTrunc(B, a, x->i32, ""), x->i64, "");
        break;
    default:
        return false;
    }
    push(x, r);
    return true;
}

/* ------------------------------------------------------------------ memory */

static LLVMValueRef guest_addr(struct xl *x, LLVMValueRef a32, uint64_t off)
{
    LLVMValueRef e = LLVMBuildZExt(x->B, a32, x->i64, "");
    if (off != 0)
        e = LLVMBuildNUWAdd(x->B, e, ci64(x, off), "");
    return LLVMBuildGEP2(x->B, x->i8, x->membase, &e, 1, "");
}

static void guest_load(struct xl *x, uint8_t op, uint64_t off)
{
    static const struct {
        uint8_t bytes;
        bool sign;
        enum wasmslot_valtype to;
    } L[] = {
        [0x28 - 0x28] = {4, false, WASMSLOT_I32}, [0x29 - 0x28] = {8, false, WASMSLOT_I64},
        [0x2a - 0x28] = {4, false, WASMSLOT_F32}, [0x2b - 0x28] = {8, false, WASMSLOT_F64},
        [0x2c - 0x28] = {1, true, WASMSLOT_I32},  [0x2d - 0x28] = {1, false, WASMSLOT_I32},
        [0x2e - 0x28] = {2, true, WASMSLOT_I32},  [0x2f - 0x28] = {2, false, WASMSLOT_I32},
        [0x30 - 0x28] = {1, true, WASMSLOT_I64},  [0x31 - 0x28] = {1, false, WASMSLOT_I64},
        [0x32 - 0x28] = {2, true, WASMSLOT_I64},  [0x33 - 0x28] = {2, false, WASMSLOT_I64},
        [0x34 - 0x28] = {4, true, WASMSLOT_I64},  [0x35 - 0x28] = {4, false, WASMSLOT_I64},
    };
    unsigned k = op - 0x28;
    LLVMValueRef p = guest_addr(x, pop(x), off);
    LLVMTypeRef to = vt(x, L[k].to);
    LLVMTypeRef lt = L[k].to == WASMSLOT_F32 || L[k].to == WASMSLOT_F64
                         ? to
                         : LLVMIntTypeInContext(x->C, 8u * L[k].bytes);
    LLVMValueRef v = LLVMBuildLoad2(x->B, lt, p, "");
    LLVMSetVolatile(v, 1);
    LLVMSetAlignment(v, 1);
    if (lt != to)
        v = L[k].sign ? LLVMBuildSExt(x->B, v, to, "") : LLVMBuildZExt(x->B, v, to, "");
    push(x, v);
}

static void guest_store(struct xl *x, uint8_t op, uint64_t off)
{
    static const uint8_t bytes[] = {4, 8, 4, 8, 1, 2, 1, 2, 4};
    LLVMValueRef v = pop(x);
    LLVMValueRef p = guest_addr(x, pop(x), off);
    unsigned n = bytes[op - 0x36];
    LLVMTypeRef vt_ = LLVMTypeOf(v);
    if (LLVMGetTypeKind(vt_) == LLVMIntegerTypeKind && LLVMGetIntTypeWidth(vt_) != 8u * n)
        v = LLVMBuildTrunc(x->B, v, LLVMIntTypeInContext(x->C, 8u * n), "");
    LLVMValueRef s = LLVMBuildStore(x->B, v, p);
    LLVMSetVolatile(s, 1);
    LLVMSetAlignment(s, 1);
}

#include "native/translate_atomic.h"

/* ------------------------------------------------------------------ globals, tables */

static LLVMValueRef global_cell(struct xl *x, uint32_t g)
{
    LLVMValueRef arr = load_inv(x, x->ptr, x->inst, offsetof(struct wasmslot_instance, globals));
    LLVMValueRef gp = load_inv(x, x->ptr, arr, (size_t)g * sizeof(void *));
    return field(x, gp, offsetof(struct wasmslot_global, value));
}

static LLVMValueRef table_ptr(struct xl *x, uint32_t t)
{
    LLVMValueRef arr = load_inv(x, x->ptr, x->inst, offsetof(struct wasmslot_instance, tables));
    return load_inv(x, x->ptr, arr, (size_t)t * sizeof(void *));
}

static void call_indirect(struct xl *x, uint32_t typeidx, uint32_t tableidx)
{
    const struct wasmslot_functype *ft = &x->m->types[typeidx].ft;
    LLVMValueRef i = pop(x);
    LLVMValueRef tab = table_ptr(x, tableidx);
    LLVMValueRef size = load(x, x->i32, tab, offsetof(struct wasmslot_table, size));
    trap_if(x, LLVMBuildICmp(x->B, LLVMIntUGE, i, size, ""), WASMSLOT_TRAP_UNDEFINED_ELEM);
    LLVMValueRef elems = load(x, x->ptr, tab, offsetof(struct wasmslot_table, elems));
    LLVMValueRef idx = LLVMBuildZExt(x->B, i, x->i64, "");
    LLVMValueRef fp = LLVMBuildLoad2(x->B, x->ptr, LLVMBuildGEP2(x->B, x->ptr, elems, &idx, 1, ""), "");
    trap_if(x, LLVMBuildIsNull(x->B, fp, ""), WASMSLOT_TRAP_UNINIT_ELEM);
    LLVMValueRef have = load(x, x->ptr, fp, offsetof(struct wasmslot_func, type));
    LLVMValueRef mod = load_inv(x, x->ptr, x->inst, offsetof(struct wasmslot_instance, module));
    LLVMValueRef types = load_inv(x, x->ptr, mod, offsetof(struct wasmslot_module, types));
    LLVMValueRef want = field(x, types, (size_t)typeidx * sizeof(struct wasmslot_type) +
                                            offsetof(struct wasmslot_type, ft));
    LLVMBasicBlockRef slow = new_bb(x, "sigslow"), ok = new_bb(x, "sigok");
    LLVMBuildCondBr(x->B, LLVMBuildICmp(x->B, LLVMIntEQ, have, want, ""), ok, slow);
    LLVMPositionBuilderAtEnd(x->B, slow);
    LLVMValueRef sargs[2] = {have, want};
    LLVMValueRef eq = helper(x, NH_SIG_EQ, sargs, 2);
    LLVMBuildCondBr(x->B, LLVMBuildICmp(x->B, LLVMIntEQ, eq, ci32(x, 0), ""),
                    trap_block(x, WASMSLOT_TRAP_INDIRECT_MISMATCH), ok);
    LLVMPositionBuilderAtEnd(x->B, ok);
    call_funcref(x, fp, ft, x->ftypes[typeidx]);
}

/* ------------------------------------------------------------------ bodies */

static struct sig blocktype(struct xl *x, struct wasmslot_reader *r, bool *ok)
{
    struct sig s = {0, 0, NULL, NULL};
    int64_t bt;
    if (wasmslot_rd_s33(r, &bt) < 0) {
        *ok = false;
        return s;
    }
    if (bt == -0x40)
        return s;
    if (bt < 0) {
        s.nr = 1;
        s.r = type_ptr((enum wasmslot_valtype)(bt & 0x7f));
        if (s.r == NULL)
            *ok = false;
        return s;
    }
    const struct wasmslot_functype *ft = &x->m->types[bt].ft;
    s.np = ft->nparams;
    s.p = ft->params;
    s.nr = ft->nresults;
    s.r = ft->results;
    return s;
}

#define RD(call)                                                                                   \
    do {                                                                                           \
        if ((call) < 0)                                                                            \
            goto malformed;                                                                        \
    } while (0)

static bool translate_body(struct xl *x, uint32_t k, LLVMValueRef into)
{
    const struct wasmslot_module *m = x->m;
    const struct wasmslot_func_def *d = &m->funcs[k];
    const struct wasmslot_functype *ft = &m->types[d->type].ft;
    struct wasmslot_error rerr;
    struct wasmslot_reader r;
    wasmslot_rd_init(&r, d->body, d->body_len, &rerr);
    r.in_section = true;

    x->fn = into;
    x->self_calls = false;
    x->ex = LLVMGetParam(x->fn, 0);
    x->inst = LLVMGetParam(x->fn, 1);
    x->nvs = 0;
    x->ncs = 0;
    x->dead = false;
    x->cells = NULL;
    x->ncells = 0;
    x->fuel = NULL;
    x->calls = false;
    memset(x->trap_bb, 0, sizeof x->trap_bb);

    x->entry = new_bb(x, "entry");
    LLVMBasicBlockRef body = new_bb(x, "body");
    LLVMPositionBuilderAtEnd(x->AB, x->entry);
    LLVMPositionBuilderAtEnd(x->B, x->entry);

    x->nlocals = ft->nparams + d->nlocals;
    x->locals = xcalloc(x->nlocals, sizeof *x->locals);
    x->ltypes = xcalloc(x->nlocals, sizeof *x->ltypes);
    for (uint32_t i = 0; i < x->nlocals; i++) {
        enum wasmslot_valtype t = i < ft->nparams ? ft->params[i] : d->locals[i - ft->nparams];
        x->ltypes[i] = vt(x, t);
        x->locals[i] = LLVMBuildAlloca(x->AB, x->ltypes[i], "");
    }
    LLVMPositionBuilderAtEnd(x->B, body);
    for (uint32_t i = 0; i < x->nlocals; i++)
        LLVMBuildStore(x->B,
                       i < ft->nparams ? LLVMGetParam(x->fn, NFIXED + i)
                                       : LLVMConstNull(x->ltypes[i]),
                       x->locals[i]);

    /* The call depth, in a register: as the interpreter counts it, this frame included. */
    LLVMValueRef budget = LLVMGetParam(x->fn, 2);
    trap_if(x, LLVMBuildICmp(x->B, LLVMIntEQ, budget, ci32(x, 0), ""),
            WASMSLOT_TRAP_STACK_EXHAUSTED);
    x->budget = LLVMBuildSub(x->B, budget, ci32(x, 1), "");
    x->fuel = LLVMBuildAlloca(x->AB, x->i32, "fuel");
    LLVMBuildStore(x->B, LLVMGetParam(x->fn, 3), x->fuel);
    x->membase = NULL;
    if (m->nmemories_total > 0) {
        LLVMValueRef mem = load_inv(x, x->ptr, x->inst, offsetof(struct wasmslot_instance, memory));
        x->membase = load_inv(x, x->ptr, mem, offsetof(struct wasmslot_memory, base));
    }

    struct sig fsig = {0, ft->nresults, NULL, ft->results};
    push_ctl(x, K_FUNC, fsig);

    while (x->ncs > 0) {
        uint8_t op;
        RD(wasmslot_rd_u8(&r, &op));
        uint32_t a1 = 0, a2 = 0;
        uint64_t off = 0;
        bool ok = true;
        switch (op) {
        case 0x00: /* unreachable */
            if (x->dead)
                break;
            LLVMBuildBr(x->B, trap_block(x, WASMSLOT_TRAP_UNREACHABLE));
            go_dead(x);
            break;
        case 0x01: /* nop */
            break;
        case 0x02:   /* block */
        case 0x03: { /* loop */
            struct sig s = blocktype(x, &r, &ok);
            if (!ok)
                goto malformed;
            if (x->dead) {
                x->dead_depth++;
                break;
            }
            struct ctl *c = push_ctl(x, op == 0x02 ? K_BLOCK : K_LOOP, s);
            if (op == 0x03) {
                c->header = new_bb(x, "loop");
                c->hphis = xcalloc(s.np, sizeof *c->hphis);
                LLVMBasicBlockRef from = LLVMGetInsertBlock(x->B);
                LLVMBuildBr(x->B, c->header);
                LLVMPositionBuilderAtEnd(x->B, c->header);
                for (uint32_t i = 0; i < s.np; i++) {
                    LLVMValueRef *slot = &x->vs[x->nvs - s.np + i];
                    c->hphis[i] = LLVMBuildPhi(x->B, vt(x, s.p[i]), "");
                    LLVMAddIncoming(c->hphis[i], slot, &from, 1);
                    *slot = c->hphis[i];
                }
                poll(x);
            }
            break;
        }
        case 0x04: { /* if */
            struct sig s = blocktype(x, &r, &ok);
            if (!ok)
                goto malformed;
            if (x->dead) {
                x->dead_depth++;
                break;
            }
            LLVMValueRef cond = pop(x);
            struct ctl *c = push_ctl(x, K_IF, s);
            c->ifparams = xcalloc(s.np > s.nr ? s.np : s.nr, sizeof *c->ifparams);
            for (uint32_t i = 0; i < s.np; i++)
                c->ifparams[i] = x->vs[x->nvs - s.np + i];
            LLVMBasicBlockRef then_bb = new_bb(x, "then");
            c->else_bb = new_bb(x, "else");
            LLVMBuildCondBr(x->B, LLVMBuildICmp(x->B, LLVMIntNE, cond, ci32(x, 0), ""), then_bb,
                            c->else_bb);
            LLVMPositionBuilderAtEnd(x->B, then_bb);
            break;
        }
        case 0x05: { /* else */
            if (x->dead && x->dead_depth > 0)
                break;
            struct ctl *c = &x->cs[x->ncs - 1];
            if (!x->dead)
                LLVMBuildBr(x->B, label_edge(x, c));
            x->nvs = c->height;
            for (uint32_t i = 0; i < c->sig.np; i++)
                push(x, c->ifparams[i]);
            LLVMPositionBuilderAtEnd(x->B, c->else_bb);
            c->else_bb = NULL;
            x->dead = false;
            break;
        }
        case 0x0b: /* end */
            if (x->dead && x->dead_depth > 0) {
                x->dead_depth--;
                break;
            }
            if (x->ncs == 1) {
                /* The function's end: return the merged results. */
                struct ctl *c = &x->cs[0];
                if (!x->dead) {
                    LLVMBuildBr(x->B, label_edge(x, c));
                }
                LLVMPositionBuilderAtEnd(x->B, c->merge);
                if (c->nincoming == 0) {
                    for (uint32_t i = 0; i < c->sig.nr; i++)
                        LLVMInstructionEraseFromParent(c->mphis[i]);
                    LLVMBuildUnreachable(x->B);
                } else {
                    build_return(x, ft, c->mphis);
                }
                free_ctl(c);
                x->ncs = 0;
                break;
            }
            end_ctl(x);
            break;
        case 0x0c:   /* br */
        case 0x0d: { /* br_if */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            struct ctl *c = &x->cs[x->ncs - 1 - a1];
            if (op == 0x0c) {
                LLVMBuildBr(x->B, label_edge(x, c));
                go_dead(x);
            } else {
                LLVMValueRef cond = pop(x);
                LLVMBasicBlockRef cont = new_bb(x, "brif");
                LLVMBasicBlockRef target = label_edge(x, c);
                LLVMBuildCondBr(x->B, LLVMBuildICmp(x->B, LLVMIntNE, cond, ci32(x, 0), ""), target,
                                cont);
                LLVMPositionBuilderAtEnd(x->B, cont);
            }
            break;
        }
        case 0x0e: { /* br_table */
            uint32_t n;
            RD(wasmslot_rd_u32(&r, &n));
            uint32_t *labels = xcalloc((size_t)n + 1, sizeof *labels);
            for (uint32_t i = 0; i <= n; i++) {
                if (wasmslot_rd_u32(&r, &labels[i]) < 0) {
                    free(labels);
                    goto malformed;
                }
            }
            if (x->dead) {
                free(labels);
                break;
            }
            LLVMValueRef idx = pop(x);
            /* One edge block per distinct label, so each phi gets one entry per block. */
            LLVMBasicBlockRef *edge = xcalloc(x->ncs, sizeof *edge);
            LLVMBasicBlockRef here = LLVMGetInsertBlock(x->B);
            for (uint32_t i = 0; i <= n; i++) {
                uint32_t l = labels[i];
                if (edge[l] != NULL)
                    continue;
                edge[l] = new_bb(x, "brt");
                LLVMPositionBuilderAtEnd(x->B, edge[l]);
                LLVMBuildBr(x->B, label_edge(x, &x->cs[x->ncs - 1 - l]));
            }
            LLVMPositionBuilderAtEnd(x->B, here);
            LLVMValueRef sw = LLVMBuildSwitch(x->B, idx, edge[labels[n]], n);
            for (uint32_t i = 0; i < n; i++)
                if (labels[i] != labels[n])
                    LLVMAddCase(sw, ci32(x, i), edge[labels[i]]);
            free(edge);
            free(labels);
            go_dead(x);
            break;
        }
        case 0x0f: /* return */
            if (x->dead)
                break;
            LLVMBuildBr(x->B, label_edge(x, &x->cs[0]));
            go_dead(x);
            break;
        case 0x10: { /* call */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            const struct wasmslot_functype *cft = wasmslot_module_functype(m, a1);
            if (a1 < m->nfunc_imports) {
                LLVMValueRef arr =
                    load_inv(x, x->ptr, x->inst, offsetof(struct wasmslot_instance, funcs));
                LLVMValueRef fp = load_inv(x, x->ptr, arr, (size_t)a1 * sizeof(void *));
                call_funcref(x, fp, cft, x->ftypes[m->func_types[a1]]);
                break;
            }
            uint32_t np = cft->nparams;
            LLVMValueRef *args = xcalloc(np + NFIXED, sizeof *args);
            args[0] = x->ex;
            args[1] = x->inst;
            args[2] = x->budget;
            for (uint32_t i = np; i-- > 0;)
                args[NFIXED + i] = pop(x);
            before_call(x);
            args[3] = LLVMBuildLoad2(x->B, x->i32, x->fuel, "");
            if (a1 - m->nfunc_imports == k)
                x->self_calls = true;
            LLVMValueRef call = LLVMBuildCall2(x->B, x->ftypes[m->func_types[a1]],
                                               x->fns[a1 - m->nfunc_imports], args, np + NFIXED, "");
            free(args);
            push_results(x, call, cft);
            break;
        }
        case 0x11: /* call_indirect */
            RD(wasmslot_rd_u32(&r, &a1));
            RD(wasmslot_rd_u32(&r, &a2));
            if (x->dead)
                break;
            call_indirect(x, a1, a2);
            break;
        case 0x1a: /* drop */
            if (!x->dead)
                pop(x);
            break;
        case 0x1c: /* select t* */
            RD(wasmslot_rd_u32(&r, &a1));
            for (uint32_t i = 0; i < a1; i++) {
                uint8_t t;
                RD(wasmslot_rd_u8(&r, &t));
            }
            /* fall through */
        case 0x1b: { /* select */
            if (x->dead)
                break;
            LLVMValueRef c = pop(x), b = pop(x), a = pop(x);
            push(x, LLVMBuildSelect(x->B, LLVMBuildICmp(x->B, LLVMIntNE, c, ci32(x, 0), ""), a, b,
                                    ""));
            break;
        }
        case 0x20: /* local.get */
            RD(wasmslot_rd_u32(&r, &a1));
            if (!x->dead)
                push(x, LLVMBuildLoad2(x->B, x->ltypes[a1], x->locals[a1], ""));
            break;
        case 0x21: /* local.set */
            RD(wasmslot_rd_u32(&r, &a1));
            if (!x->dead)
                LLVMBuildStore(x->B, pop(x), x->locals[a1]);
            break;
        case 0x22: /* local.tee */
            RD(wasmslot_rd_u32(&r, &a1));
            if (!x->dead)
                LLVMBuildStore(x->B, top(x), x->locals[a1]);
            break;
        case 0x23: { /* global.get */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            enum wasmslot_valtype t = m->global_types[a1].type;
            LLVMValueRef cell = global_cell(x, a1);
            LLVMValueRef v = LLVMBuildLoad2(x->B, x->i64, cell, "");
            if (!m->global_types[a1].mutable_)
                LLVMSetMetadata(v, x->md_invariant, x->md_empty);
            push(x, from_cell(x, v, t));
            break;
        }
        case 0x24: { /* global.set */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            enum wasmslot_valtype t = m->global_types[a1].type;
            LLVMBuildStore(x->B, to_cell(x, pop(x), t), global_cell(x, a1));
            break;
        }
        case 0x25: { /* table.get */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            LLVMValueRef args[3] = {x->inst, ci32(x, a1), pop(x)};
            push(x, helper(x, NH_TABLE_GET, args, 3));
            break;
        }
        case 0x26: { /* table.set */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            LLVMValueRef v = pop(x), i = pop(x);
            LLVMValueRef args[4] = {x->inst, ci32(x, a1), i, v};
            helper(x, NH_TABLE_SET, args, 4);
            break;
        }
        case 0x28:
        case 0x29:
        case 0x2a:
        case 0x2b:
        case 0x2c:
        case 0x2d:
        case 0x2e:
        case 0x2f:
        case 0x30:
        case 0x31:
        case 0x32:
        case 0x33:
        case 0x34:
        case 0x35:
            RD(wasmslot_rd_u32(&r, &a1));
            RD(wasmslot_rd_u64(&r, &off));
            if (!x->dead)
                guest_load(x, op, off);
            break;
        case 0x36:
        case 0x37:
        case 0x38:
        case 0x39:
        case 0x3a:
        case 0x3b:
        case 0x3c:
        case 0x3d:
        case 0x3e:
            RD(wasmslot_rd_u32(&r, &a1));
            RD(wasmslot_rd_u64(&r, &off));
            if (!x->dead)
                guest_store(x, op, off);
            break;
        case 0x3f: { /* memory.size */
            uint8_t z;
            RD(wasmslot_rd_u8(&r, &z));
            if (!x->dead)
                push(x, helper(x, NH_MEM_SIZE, &x->inst, 1));
            break;
        }
        case 0x40: { /* memory.grow */
            uint8_t z;
            RD(wasmslot_rd_u8(&r, &z));
            if (x->dead)
                break;
            LLVMValueRef args[2] = {x->inst, pop(x)};
            push(x, helper(x, NH_MEM_GROW, args, 2));
            break;
        }
        case 0x41: { /* i32.const */
            uint32_t v;
            RD(wasmslot_rd_s32(&r, &v));
            if (!x->dead)
                push(x, ci32(x, v));
            break;
        }
        case 0x42: { /* i64.const */
            uint64_t v;
            RD(wasmslot_rd_s64(&r, &v));
            if (!x->dead)
                push(x, ci64(x, v));
            break;
        }
        case 0x43: { /* f32.const */
            uint64_t v;
            RD(wasmslot_rd_fixed(&r, 4, &v));
            if (!x->dead)
                push(x, LLVMConstBitCast(ci32(x, v), x->f32));
            break;
        }
        case 0x44: { /* f64.const */
            uint64_t v;
            RD(wasmslot_rd_fixed(&r, 8, &v));
            if (!x->dead)
                push(x, LLVMConstBitCast(ci64(x, v), x->f64));
            break;
        }
        case 0xd0: { /* ref.null */
            uint8_t t;
            RD(wasmslot_rd_u8(&r, &t));
            if (!x->dead)
                push(x, LLVMConstNull(x->ptr));
            break;
        }
        case 0xd1: /* ref.is_null */
            if (!x->dead)
                push(x, LLVMBuildZExt(x->B, LLVMBuildIsNull(x->B, pop(x), ""), x->i32, ""));
            break;
        case 0xd2: { /* ref.func */
            RD(wasmslot_rd_u32(&r, &a1));
            if (x->dead)
                break;
            LLVMValueRef arr = load_inv(x, x->ptr, x->inst, offsetof(struct wasmslot_instance, funcs));
            push(x, load_inv(x, x->ptr, arr, (size_t)a1 * sizeof(void *)));
            break;
        }
        case 0xfc: {
            uint32_t sub;
            RD(wasmslot_rd_u32(&r, &sub));
            if (sub <= 7) {
                if (x->dead)
                    break;
                LLVMValueRef a = pop(x);
                bool sgn = (sub & 1) == 0;
                push(x, trunc_sat(x, a, sub < 4 ? x->i32 : x->i64, sgn));
                break;
            }
            switch (sub) {
            case 8: { /* memory.init seg 0 */
                uint8_t z;
                RD(wasmslot_rd_u32(&r, &a1));
                RD(wasmslot_rd_u8(&r, &z));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), s = pop(x), dd = pop(x);
                LLVMValueRef args[5] = {x->inst, ci32(x, a1), dd, s, n};
                helper(x, NH_MEM_INIT, args, 5);
                break;
            }
            case 9: { /* data.drop */
                RD(wasmslot_rd_u32(&r, &a1));
                if (x->dead)
                    break;
                LLVMValueRef args[2] = {x->inst, ci32(x, a1)};
                helper(x, NH_DATA_DROP, args, 2);
                break;
            }
            case 10: { /* memory.copy 0 0 */
                uint8_t z;
                RD(wasmslot_rd_u8(&r, &z));
                RD(wasmslot_rd_u8(&r, &z));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), s = pop(x), dd = pop(x);
                LLVMValueRef args[4] = {x->inst, dd, s, n};
                helper(x, NH_MEM_COPY, args, 4);
                break;
            }
            case 11: { /* memory.fill 0 */
                uint8_t z;
                RD(wasmslot_rd_u8(&r, &z));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), v = pop(x), dd = pop(x);
                LLVMValueRef args[4] = {x->inst, dd, v, n};
                helper(x, NH_MEM_FILL, args, 4);
                break;
            }
            case 12: { /* table.init seg t */
                RD(wasmslot_rd_u32(&r, &a1));
                RD(wasmslot_rd_u32(&r, &a2));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), s = pop(x), dd = pop(x);
                LLVMValueRef args[6] = {x->inst, ci32(x, a2), ci32(x, a1), dd, s, n};
                helper(x, NH_TABLE_INIT, args, 6);
                break;
            }
            case 13: { /* elem.drop */
                RD(wasmslot_rd_u32(&r, &a1));
                if (x->dead)
                    break;
                LLVMValueRef args[2] = {x->inst, ci32(x, a1)};
                helper(x, NH_ELEM_DROP, args, 2);
                break;
            }
            case 14: { /* table.copy dst src */
                RD(wasmslot_rd_u32(&r, &a1));
                RD(wasmslot_rd_u32(&r, &a2));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), s = pop(x), dd = pop(x);
                LLVMValueRef args[6] = {x->inst, ci32(x, a1), ci32(x, a2), dd, s, n};
                helper(x, NH_TABLE_COPY, args, 6);
                break;
            }
            case 15: { /* table.grow */
                RD(wasmslot_rd_u32(&r, &a1));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), v = pop(x);
                LLVMValueRef args[4] = {x->inst, ci32(x, a1), v, n};
                push(x, helper(x, NH_TABLE_GROW, args, 4));
                break;
            }
            case 16: { /* table.size */
                RD(wasmslot_rd_u32(&r, &a1));
                if (x->dead)
                    break;
                LLVMValueRef args[2] = {x->inst, ci32(x, a1)};
                push(x, helper(x, NH_TABLE_SIZE, args, 2));
                break;
            }
            case 17: { /* table.fill */
                RD(wasmslot_rd_u32(&r, &a1));
                if (x->dead)
                    break;
                LLVMValueRef n = pop(x), v = pop(x), i = pop(x);
                LLVMValueRef args[5] = {x->inst, ci32(x, a1), i, v, n};
                helper(x, NH_TABLE_FILL, args, 5);
                break;
            }
            default:
                x->unsupported = "an unknown 0xfc instruction";
                goto fail;
            }
            break;
        }
        case 0xfe:
            if (!translate_atomic(x, &r))
                goto fail;
            break;
        default:
            if (x->dead) {
                if (op >= 0x45 && op <= 0xc4)
                    break;
                x->unsupported = "an unknown instruction";
                goto fail;
            }
            if (!numeric(x, op)) {
                x->unsupported = "an unknown instruction";
                goto fail;
            }
            break;
        }
    }
    /* The entry, now that the body says what it needs: the countdown when it polls, and the
     * native stack's limit when it calls wasm code or may have a large frame (a leaf with a
     * small one fits in the reserve below the limit, as helpers do). */
    LLVMPositionBuilderAtEnd(x->B, x->entry);
    if (x->calls || (uint64_t)x->nlocals + d->body_len > LEAF_FRAME_MAX) {
        LLVMTypeRef pt = x->ptr;
        LLVMValueRef sp = intrinsic(x, "llvm.stacksave", &pt, 1, NULL, 0);
        LLVMValueRef lim =
            load(x, x->i64, x->ex, offsetof(struct wasmslot_exec, native_stack_limit));
        trap_if(x, LLVMBuildICmp(x->B, LLVMIntULT, LLVMBuildPtrToInt(x->B, sp, x->i64, ""), lim, ""),
                WASMSLOT_TRAP_STACK_EXHAUSTED);
    }
    LLVMBuildBr(x->B, body);
    free(x->locals);
    free(x->ltypes);
    return true;

malformed:
    x->unsupported = "a body that does not decode";
fail:
    while (x->ncs > 0)
        free_ctl(&x->cs[--x->ncs]);
    free(x->locals);
    free(x->ltypes);
    return false;
}

/* ------------------------------------------------------------------ module */


static void declare_helpers(struct xl *x)
{
    LLVMTypeRef P = x->ptr, I = x->i32, L = x->i64, V = x->vd;
#define T(h, ret, ...)                                                                             \
    do {                                                                                           \
        LLVMTypeRef ps_[] = {__VA_ARGS__};                                                         \
        x->htype[h] = LLVMFunctionType(ret, ps_, sizeof ps_ / sizeof ps_[0], 0);                   \
    } while (0)
    T(NH_TRAP, V, P, I);
    T(NH_POLL, V, P);
    T(NH_MEM_SIZE, I, P);
    T(NH_MEM_GROW, I, P, I);
    T(NH_MEM_FILL, V, P, I, I, I);
    T(NH_MEM_COPY, V, P, I, I, I);
    T(NH_MEM_INIT, V, P, I, I, I, I);
    T(NH_DATA_DROP, V, P, I);
    T(NH_TABLE_GET, P, P, I, I);
    T(NH_TABLE_SET, V, P, I, I, P);
    T(NH_TABLE_SIZE, I, P, I);
    T(NH_TABLE_GROW, I, P, I, P, I);
    T(NH_TABLE_FILL, V, P, I, I, P, I);
    T(NH_TABLE_COPY, V, P, I, I, I, I, I);
    T(NH_TABLE_INIT, V, P, I, I, I, I, I);
    T(NH_ELEM_DROP, V, P, I);
    T(NH_SIG_EQ, I, P, P);
    T(NH_CALL, V, P, P, P, P);
    T(NH_ATOMIC_ADDR, P, P, L, I);
    T(NH_WAIT32, I, P, P, L, I, L);
    T(NH_WAIT64, I, P, P, L, L, L);
    T(NH_NOTIFY, I, P, L, I);
#undef T
}

static void set_fn_attrs(struct xl *x, LLVMValueRef fn)
{
    add_fn_attr(x, fn, false, "nounwind");
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(x->C, "no-builtins", 11, "", 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(x->C, "probe-stack", 11, "inline-asm", 10));
}

/* A small function that calls itself directly calls a twin instead, a private copy of its body
 * that calls the function back. LLVM's inliner never inlines a function into itself, but it
 * inlines the twin, which unrolls the recursion one level (what gcc's recursive inlining does for
 * native code): half the calls, and the values of two levels in registers. Each level still
 * checks the depth and the stack and polls. The twin is added before the entries, so its code
 * lies within the module's code range should it stay a function (jit.c, add_range). */
static bool twin(struct xl *x, uint32_t k)
{
    if (!x->self_calls || x->m->funcs[k].body_len > TWIN_BODY_MAX)
        return true;
    LLVMValueRef f = x->fns[k];
    char name[64];
    snprintf(name, sizeof name, "%s.twin", LLVMGetValueName2(f, &(size_t){0}));
    LLVMValueRef g = LLVMAddFunction(x->M, name, LLVMGlobalGetValueType(f));
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    set_fn_attrs(x, g);
    if (!translate_body(x, k, g))
        return false;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
            if (LLVMIsACallInst(i) && LLVMGetCalledValue(i) == f)
                LLVMSetOperand(i, LLVMGetNumOperands(i) - 1, g);
    return true;
}

/* The entry from C: void (exec, instance, cells), arguments read from the cells and results
 * written back to them. */
static void build_entry(struct xl *x, uint32_t k, const char *name)
{
    const struct wasmslot_module *m = x->m;
    const struct wasmslot_functype *ft = &m->types[m->funcs[k].type].ft;
    LLVMTypeRef ps[3] = {x->ptr, x->ptr, x->ptr};
    LLVMValueRef e = LLVMAddFunction(x->M, name, LLVMFunctionType(x->vd, ps, 3, 0));
    set_fn_attrs(x, e);
    LLVMPositionBuilderAtEnd(x->B, LLVMAppendBasicBlockInContext(x->C, e, "entry"));
    LLVMValueRef cells = LLVMGetParam(e, 2);
    LLVMValueRef *args = xcalloc(ft->nparams + NFIXED, sizeof *args);
    args[0] = LLVMGetParam(e, 0);
    args[1] = LLVMGetParam(e, 1);
    /* The budget from the depth the runtime counts: max_call_depth - depth, 0 at or past it. */
    LLVMValueRef maxd = load(x, x->i32, args[0], offsetof(struct wasmslot_exec, max_call_depth));
    LLVMValueRef depth = load(x, x->i32, args[0], offsetof(struct wasmslot_exec, depth));
    args[2] = LLVMBuildSelect(x->B, LLVMBuildICmp(x->B, LLVMIntUGT, maxd, depth, ""),
                              LLVMBuildSub(x->B, maxd, depth, ""), ci32(x, 0), "");
    LLVMValueRef fuel = field(x, args[0], offsetof(struct wasmslot_exec, poll_countdown));
    args[3] = LLVMBuildLoad2(x->B, x->i32, fuel, "");
    for (uint32_t i = 0; i < ft->nparams; i++) {
        LLVMValueRef idx = ci64(x, i);
        LLVMValueRef c = LLVMBuildLoad2(x->B, x->i64, LLVMBuildGEP2(x->B, x->i64, cells, &idx, 1, ""),
                                        "");
        args[NFIXED + i] = from_cell(x, c, ft->params[i]);
    }
    LLVMValueRef r = LLVMBuildCall2(x->B, x->ftypes[m->funcs[k].type], x->fns[k], args,
                                    ft->nparams + NFIXED, "");
    for (uint32_t i = 0; i < ft->nresults; i++) {
        LLVMValueRef v = LLVMBuildExtractValue(x->B, r, i, "");
        LLVMValueRef idx = ci64(x, i);
        LLVMBuildStore(x->B, to_cell(x, v, ft->results[i]),
                       LLVMBuildGEP2(x->B, x->i64, cells, &idx, 1, ""));
    }
    LLVMBuildStore(x->B, LLVMBuildExtractValue(x->B, r, ft->nresults, ""), fuel);
    LLVMBuildRetVoid(x->B);
    free(args);
}

LLVMModuleRef native__translate(const struct wasmslot_module *m, const char *prefix,
                                LLVMContextRef C, LLVMTargetMachineRef tm,
                                const char **unsupported)
{
    struct xl x;
    memset(&x, 0, sizeof x);
    x.C = C;
    x.m = m;
    x.M = LLVMModuleCreateWithNameInContext(prefix, C);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetModuleDataLayout(x.M, td);
    LLVMSetTarget(x.M, triple);
    LLVMDisposeMessage(triple);
    LLVMDisposeTargetData(td);
    x.B = LLVMCreateBuilderInContext(C);
    x.AB = LLVMCreateBuilderInContext(C);
    x.i1 = LLVMInt1TypeInContext(C);
    x.i8 = LLVMInt8TypeInContext(C);
    x.i16 = LLVMInt16TypeInContext(C);
    x.i32 = LLVMInt32TypeInContext(C);
    x.i64 = LLVMInt64TypeInContext(C);
    x.f32 = LLVMFloatTypeInContext(C);
    x.f64 = LLVMDoubleTypeInContext(C);
    x.ptr = LLVMPointerTypeInContext(C, 0);
    x.vd = LLVMVoidTypeInContext(C);
    x.md_invariant = LLVMGetMDKindIDInContext(C, "invariant.load", 14);
    x.md_empty = LLVMMetadataAsValue(C, LLVMMDNodeInContext2(C, NULL, 0));
    declare_helpers(&x);

    for (uint32_t i = 0; i < m->ntypes; i++) {
        for (uint32_t j = 0; j < m->types[i].ft.nparams; j++)
            if (m->types[i].ft.params[j] == WASMSLOT_V128)
                x.unsupported = "v128 values";
        for (uint32_t j = 0; j < m->types[i].ft.nresults; j++)
            if (m->types[i].ft.results[j] == WASMSLOT_V128)
                x.unsupported = "v128 values";
    }
    if (x.unsupported != NULL)
        goto fail;
    x.ftypes = xcalloc(m->ntypes, sizeof *x.ftypes);
    for (uint32_t i = 0; i < m->ntypes; i++)
        x.ftypes[i] = func_type(&x, &m->types[i].ft);
    x.fns = xcalloc(m->nfuncs, sizeof *x.fns);
    char name[64];
    for (uint32_t k = 0; k < m->nfuncs; k++) {
        snprintf(name, sizeof name, "%sf%u", prefix, k);
        x.fns[k] = LLVMAddFunction(x.M, name, x.ftypes[m->funcs[k].type]);
        set_fn_attrs(&x, x.fns[k]);
    }
    for (uint32_t k = 0; k < m->nfuncs; k++)
        if (!translate_body(&x, k, x.fns[k]) || !twin(&x, k))
            goto fail;
    for (uint32_t k = 0; k < m->nfuncs; k++) {
        snprintf(name, sizeof name, "%se%u", prefix, k);
        build_entry(&x, k, name);
    }
    LLVMDisposeBuilder(x.B);
    LLVMDisposeBuilder(x.AB);
    free(x.ftypes);
    free(x.fns);
    free(x.vs);
    free(x.cs);
    return x.M;

fail:
    *unsupported = x.unsupported;
    LLVMDisposeBuilder(x.B);
    LLVMDisposeBuilder(x.AB);
    LLVMDisposeModule(x.M);
    free(x.ftypes);
    free(x.fns);
    free(x.vs);
    free(x.cs);
    return NULL;
}
