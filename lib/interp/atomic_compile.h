/* interp/atomic_compile.h: validation and compilation of the threads proposal's 0xFE
 * instructions. Included once by interp/compile.c; uses the operand-stack and emit helpers of
 * interp/compile.h like the other instructions do. */
#ifndef INTERP_ATOMIC_COMPILE_H
#define INTERP_ATOMIC_COMPILE_H

#include "interp/atomic.h"

enum atomic_kind {
    ATOMIC_NONE = 0, /* no such sub-opcode */
    ATOMIC_LOAD,
    ATOMIC_STORE,
    ATOMIC_RMW,
    ATOMIC_CMPXCHG,
    ATOMIC_NOTIFY,
    ATOMIC_WAIT,
    ATOMIC_FENCE,
};

struct atomic_info {
    uint8_t kind; /* enum atomic_kind */
    uint8_t log2; /* access size log2 = the required alignment */
    uint8_t type; /* value type accessed (the expected value's type for waits) */
    uint16_t op;  /* enum interp_op */
};

#define ATOMIC_SUBOPS 0x4f /* sub-opcodes 0x00..0x4e */

/* clang-format off */
static const struct atomic_info atomic_tab[ATOMIC_SUBOPS] = {
    [0x00] = {ATOMIC_NOTIFY, 2, WASMSLOT_I32, IOP_ATOMIC_NOTIFY},
    [0x01] = {ATOMIC_WAIT, 2, WASMSLOT_I32, IOP_ATOMIC_WAIT32},
    [0x02] = {ATOMIC_WAIT, 3, WASMSLOT_I64, IOP_ATOMIC_WAIT64},
    [0x03] = {ATOMIC_FENCE, 0, 0, IOP_ATOMIC_FENCE},
#define ATOMIC_ENTRY(kind, code, name, lg, vt) [code] = {kind, lg, vt, IOP_##name},
#define X(code, name, lg, type, ...) ATOMIC_ENTRY(ATOMIC_LOAD, code, name, lg, WASMSLOT_##type)
    INTERP_ATOMIC_LOADS(X)
#undef X
#define X(code, name, lg, type, ...) ATOMIC_ENTRY(ATOMIC_STORE, code, name, lg, WASMSLOT_##type)
    INTERP_ATOMIC_STORES(X)
#undef X
#define X(code, name, lg, type, ...) ATOMIC_ENTRY(ATOMIC_RMW, code, name, lg, WASMSLOT_##type)
    INTERP_ATOMIC_RMWS(X)
#undef X
#define X(code, name, lg, type, ...) ATOMIC_ENTRY(ATOMIC_CMPXCHG, code, name, lg, WASMSLOT_##type)
    INTERP_ATOMIC_CMPXCHGS(X)
#undef X
#undef ATOMIC_ENTRY
};
/* clang-format on */

/* Emit op with the given slot operands and the memory offset; a value-producing op (dst is
 * the first slot) is noted for the peephole, so a following local.set or return can make it
 * write its target directly (the handlers read every operand before writing dst). */
static void emit_atomic(struct comp *c, const struct atomic_info *ai, const uint32_t *slots,
                        unsigned n, uint32_t off, bool has_dst)
{
    if (interp__dead(c))
        return;
    size_t start = c->ncode;
    interp__emit_op(c, (enum interp_op)ai->op);
    for (unsigned i = 0; i < n; i++)
        interp__emit_slot(c, slots[i]);
    interp__emit_u(c, off);
    if (has_dst)
        interp__note_result(c, start, start + 1, ai->op, slots[1], 0);
    else
        interp__forget_last(c);
}

/* One 0xFE instruction: the sub-opcode, then a memory argument whose alignment must be exactly
 * the access size (or, for atomic.fence, one zero byte). */
static void do_prefix_fe(struct comp *c)
{
    uint32_t sub = interp__rd_u32(c);
    const struct atomic_info *ai = sub < ATOMIC_SUBOPS ? &atomic_tab[sub] : NULL;
    if (!ai || ai->kind == ATOMIC_NONE)
        interp__malformed(c, "illegal opcode");
    if (ai->kind == ATOMIC_FENCE) {
        interp__rd_zero(c);
        if (!interp__dead(c))
            interp__emit_op(c, IOP_ATOMIC_FENCE);
        interp__forget_last(c);
        return;
    }

    uint32_t align = interp__rd_u32(c);
    uint32_t off = interp__rd_u32(c);
    interp__check_memory(c);
    if (align != ai->log2)
        interp__invalid(c, "atomic alignment must be natural");

    struct ent a, v, w;
    uint32_t s[5];
    switch ((enum atomic_kind)ai->kind) {
    case ATOMIC_LOAD:
        a = interp__pop_t(c, WASMSLOT_I32);
        s[0] = interp__push_new(c, ai->type);
        s[1] = a.slot;
        emit_atomic(c, ai, s, 2, off, true);
        break;
    case ATOMIC_STORE:
        v = interp__pop_t(c, ai->type);
        a = interp__pop_t(c, WASMSLOT_I32);
        s[0] = a.slot;
        s[1] = v.slot;
        emit_atomic(c, ai, s, 2, off, false);
        break;
    case ATOMIC_RMW:
    case ATOMIC_NOTIFY: /* the count is an i32 like the i32 RMW operand */
        v = interp__pop_t(c, ai->type);
        a = interp__pop_t(c, WASMSLOT_I32);
        s[0] = interp__push_new(c, ai->type);
        s[1] = a.slot;
        s[2] = v.slot;
        emit_atomic(c, ai, s, 3, off, true);
        break;
    case ATOMIC_CMPXCHG:
        w = interp__pop_t(c, ai->type); /* replacement */
        v = interp__pop_t(c, ai->type); /* expected */
        a = interp__pop_t(c, WASMSLOT_I32);
        s[0] = interp__push_new(c, ai->type);
        s[1] = a.slot;
        s[2] = v.slot;
        s[3] = w.slot;
        emit_atomic(c, ai, s, 4, off, true);
        break;
    case ATOMIC_WAIT:
        w = interp__pop_t(c, WASMSLOT_I64); /* timeout in ns, negative: forever */
        v = interp__pop_t(c, ai->type);     /* expected */
        a = interp__pop_t(c, WASMSLOT_I32);
        s[0] = interp__push_new(c, WASMSLOT_I32);
        s[1] = a.slot;
        s[2] = v.slot;
        s[3] = w.slot;
        emit_atomic(c, ai, s, 4, off, true);
        break;
    case ATOMIC_NONE:
    case ATOMIC_FENCE:
        break;
    }
}

#endif
