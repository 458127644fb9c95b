/* native/translate_atomic.h: the threads proposal's 0xFE instructions as LLVM IR. Included once
 * by native/translate.c, whose translator state (struct xl) and IR helpers it uses, as
 * interp/atomic_compile.h is by the interpreter's compiler. */
#ifndef NATIVE_TRANSLATE_ATOMIC_H
#define NATIVE_TRANSLATE_ATOMIC_H

/*
 * - Every access is sequentially consistent, as the proposal requires, at
 *   base + zext(address) + offset with its natural alignment; it is volatile too, like the
 *   plain guest accesses, so that one whose result is unused still traps.
 * - Out of bounds comes before misaligned, as in the interpreter (interp/atomic_run.h) and the
 *   proposal. The address is tested for alignment only: a naturally aligned access lies in
 *   one page, so it is either wholly in bounds or faults in the reservation past the size,
 *   which the fault handler turns into "out of bounds memory access" (its PC is in generated
 *   code, as for a plain access). A misaligned access never runs: its cold path calls
 *   NH_ATOMIC_ADDR, which checks bounds first and then raises "unaligned atomic".
 * - wait and notify call, through NH_WAIT32/NH_WAIT64/NH_NOTIFY, the very functions the
 *   interpreter calls (mem/shmem.c): the same checks (bounds, alignment, a shared memory for
 *   wait), the same timeouts, notify hook, deadline and interruption.
 */

enum xa_kind { XA_NONE = 0, XA_LOAD, XA_STORE, XA_RMW, XA_CMPXCHG, XA_NOTIFY, XA_WAIT, XA_FENCE };

struct xa_info {
    enum xa_kind kind;
    unsigned log2;              /* access size log2 = the alignment */
    enum wasmslot_valtype type; /* the value type (the expected value's for waits) */
    LLVMAtomicRMWBinOp binop;   /* read-modify-writes */
};

/* Sub-opcodes 0x10..0x4e are nine groups of seven: loads, stores, the read-modify-writes add,
 * sub, and, or, xor, xchg, then cmpxchg; each group lists its forms in the order of xa_forms. */
static const struct {
    unsigned log2;
    enum wasmslot_valtype type;
} xa_forms[7] = {
    {2, WASMSLOT_I32}, {3, WASMSLOT_I64}, {0, WASMSLOT_I32}, {1, WASMSLOT_I32},
    {0, WASMSLOT_I64}, {1, WASMSLOT_I64}, {2, WASMSLOT_I64},
};

static const LLVMAtomicRMWBinOp xa_rmw_ops[6] = {
    LLVMAtomicRMWBinOpAdd, LLVMAtomicRMWBinOpSub, LLVMAtomicRMWBinOpAnd,
    LLVMAtomicRMWBinOpOr,  LLVMAtomicRMWBinOpXor, LLVMAtomicRMWBinOpXchg,
};

/* What sub-opcode sub does; kind XA_NONE when it names no instruction. */
static struct xa_info xa_decode(uint32_t sub)
{
    struct xa_info ai = {XA_NONE, 0, WASMSLOT_I32, LLVMAtomicRMWBinOpAdd};
    switch (sub) {
    case 0x00: /* memory.atomic.notify */
        ai.kind = XA_NOTIFY;
        ai.log2 = 2;
        return ai;
    case 0x01: /* memory.atomic.wait32 */
    case 0x02: /* memory.atomic.wait64 */
        ai.kind = XA_WAIT;
        ai.log2 = sub + 1;
        ai.type = sub == 0x01 ? WASMSLOT_I32 : WASMSLOT_I64;
        return ai;
    case 0x03: /* atomic.fence */
        ai.kind = XA_FENCE;
        return ai;
    default:
        break;
    }
    if (sub < 0x10 || sub > 0x4e)
        return ai;
    unsigned group = (sub - 0x10) / 7, form = (sub - 0x10) % 7;
    ai.log2 = xa_forms[form].log2;
    ai.type = xa_forms[form].type;
    ai.kind = group == 0 ? XA_LOAD : group == 1 ? XA_STORE : group == 8 ? XA_CMPXCHG : XA_RMW;
    if (ai.kind == XA_RMW)
        ai.binop = xa_rmw_ops[group - 2];
    return ai;
}

/* The effective address a32 + off as an i64 (at most 2^33 - 2: inside the reservation). */
static LLVMValueRef atomic_ea(struct xl *x, LLVMValueRef a32, uint64_t off)
{
    LLVMValueRef ea = LLVMBuildZExt(x->B, a32, x->i64, "");
    return off != 0 ? LLVMBuildNUWAdd(x->B, ea, ci64(x, off), "") : ea;
}

/* The host address of an access of 1 << lg bytes at a32 + off, past the alignment check. */
static LLVMValueRef atomic_addr(struct xl *x, LLVMValueRef a32, uint64_t off, unsigned lg)
{
    LLVMValueRef ea = atomic_ea(x, a32, off);
    if (lg > 0) {
        LLVMValueRef low = LLVMBuildAnd(x->B, ea, ci64(x, (1u << lg) - 1), "");
        LLVMBasicBlockRef bad = new_bb(x, "unaligned"), ok = new_bb(x, "aligned");
        LLVMBuildCondBr(x->B, LLVMBuildICmp(x->B, LLVMIntNE, low, ci64(x, 0), ""), bad, ok);
        LLVMPositionBuilderAtEnd(x->B, bad);
        /* Out of bounds or unaligned: it raises one of the two and never returns here. */
        LLVMValueRef args[3] = {x->inst, ea, ci32(x, 1u << lg)};
        LLVMValueRef call = helper(x, NH_ATOMIC_ADDR, args, 3);
        add_fn_attr(x, call, true, "cold");
        LLVMBuildUnreachable(x->B);
        LLVMPositionBuilderAtEnd(x->B, ok);
    }
    return LLVMBuildGEP2(x->B, x->i8, x->membase, &ea, 1, "");
}

/* Sequentially consistent, volatile, naturally aligned. */
static void atomic_flags(LLVMValueRef inst, unsigned lg, bool set_ordering)
{
    if (set_ordering)
        LLVMSetOrdering(inst, LLVMAtomicOrderingSequentiallyConsistent);
    LLVMSetVolatile(inst, 1);
    LLVMSetAlignment(inst, 1u << lg);
}

/* v as the n-bit integer of a narrow access (wrapped, as the proposal reads the operand). */
static LLVMValueRef narrow(struct xl *x, LLVMValueRef v, LLVMTypeRef nt)
{
    return LLVMTypeOf(v) == nt ? v : LLVMBuildTrunc(x->B, v, nt, "");
}

/* A narrow access's result, zero-extended to the instruction's type. */
static LLVMValueRef widen(struct xl *x, LLVMValueRef v, LLVMTypeRef to)
{
    return LLVMTypeOf(v) == to ? v : LLVMBuildZExt(x->B, v, to, "");
}

/* One 0xFE instruction (the prefix byte already read). False, with x->unsupported set, when its
 * bytes do not decode or name no instruction. */
static bool translate_atomic(struct xl *x, struct wasmslot_reader *r)
{
    uint32_t sub, align;
    uint64_t off;
    uint8_t zero;

    if (wasmslot_rd_u32(r, &sub) < 0)
        goto malformed;
    const struct xa_info info = xa_decode(sub), *ai = &info;
    if (ai->kind == XA_NONE) {
        x->unsupported = "an unknown 0xfe instruction";
        return false;
    }
    if (ai->kind == XA_FENCE) {
        if (wasmslot_rd_u8(r, &zero) < 0)
            goto malformed;
        if (!x->dead)
            LLVMBuildFence(x->B, LLVMAtomicOrderingSequentiallyConsistent, 0, "");
        return true;
    }
    if (wasmslot_rd_u32(r, &align) < 0 || wasmslot_rd_u64(r, &off) < 0)
        goto malformed;
    if (x->dead)
        return true;

    LLVMTypeRef vty = vt(x, ai->type);
    LLVMTypeRef nt = LLVMIntTypeInContext(x->C, 8u << ai->log2);
    LLVMValueRef a, v, e, p, res;
    switch (ai->kind) {
    case XA_LOAD:
        p = atomic_addr(x, pop(x), off, ai->log2);
        res = LLVMBuildLoad2(x->B, nt, p, "");
        atomic_flags(res, ai->log2, true);
        push(x, widen(x, res, vty));
        break;
    case XA_STORE:
        v = pop(x);
        p = atomic_addr(x, pop(x), off, ai->log2);
        atomic_flags(LLVMBuildStore(x->B, narrow(x, v, nt), p), ai->log2, true);
        break;
    case XA_RMW:
        v = pop(x);
        p = atomic_addr(x, pop(x), off, ai->log2);
        res = LLVMBuildAtomicRMW(x->B, ai->binop, p, narrow(x, v, nt),
                                 LLVMAtomicOrderingSequentiallyConsistent, 0);
        atomic_flags(res, ai->log2, false);
        push(x, widen(x, res, vty));
        break;
    case XA_CMPXCHG:
        /* The expected value is wrapped to the access width, so a narrow cmpxchg compares
         * only the bytes it accesses; the result is the old value either way. */
        v = pop(x);
        e = pop(x);
        p = atomic_addr(x, pop(x), off, ai->log2);
        res = LLVMBuildAtomicCmpXchg(x->B, p, narrow(x, e, nt), narrow(x, v, nt),
                                     LLVMAtomicOrderingSequentiallyConsistent,
                                     LLVMAtomicOrderingSequentiallyConsistent, 0);
        atomic_flags(res, ai->log2, false);
        push(x, widen(x, LLVMBuildExtractValue(x->B, res, 0, ""), vty));
        break;
    case XA_NOTIFY: {
        v = pop(x);
        a = pop(x);
        LLVMValueRef args[3] = {x->inst, atomic_ea(x, a, off), v};
        push(x, helper(x, NH_NOTIFY, args, 3));
        break;
    }
    case XA_WAIT: {
        LLVMValueRef timeout = pop(x);
        e = pop(x);
        a = pop(x);
        LLVMValueRef args[5] = {x->ex, x->inst, atomic_ea(x, a, off), e, timeout};
        push(x, helper(x, ai->log2 == 3 ? NH_WAIT64 : NH_WAIT32, args, 5));
        break;
    }
    case XA_NONE:
    case XA_FENCE:
        break;
    }
    (void)align; /* validated: exactly log2 */
    return true;

malformed:
    x->unsupported = "a body that does not decode";
    return false;
}

#endif
