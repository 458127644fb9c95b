/* interp/compile_value.c: numeric and memory instructions, with the peephole fusions that turn
 * constants into immediates and merge address adds, loads into f64 arithmetic, multiply-adds
 * and pointer bumps into single instructions (the forms are listed in interp/ops.h). */
#include "config.h"

#include "interp/compile.h"

#include <string.h>

void interp__check_memory(struct comp *c)
{
    if (c->m->nmemories_total == 0)
        interp__invalid(c, "unknown memory");
}

static uint32_t rd_memarg(struct comp *c, unsigned natural)
{
    uint32_t align = interp__rd_u32(c);
    uint32_t offset = interp__rd_u32(c);
    interp__check_memory(c);
    if (align >= 32 || align > natural)
        interp__invalid(c, "alignment must not be larger than natural");
    return offset;
}

/* Binary numeric ops: the code units of an immediate second operand (0: no _I form). */
static uint8_t imm_units[IOP__COUNT];
/* Binary numeric ops whose operands may be swapped (to make a constant the immediate). */
static bool commutes[IOP__COUNT];

/* One generic emitter for "dst = op(srcs)" with the peephole bookkeeping. */
void interp__emit_val_op(struct comp *c, enum interp_op op, uint32_t dst, const uint32_t *srcs,
                         unsigned n)
{
    if (interp__dead(c))
        return;
    size_t start = c->ncode;
    uint32_t a = n > 0 ? srcs[0] : 0, b = n > 1 ? srcs[1] : 0;
    if (n == 2 && imm_units[op]) {
        if (interp__is_const(a) && !interp__is_const(b) && commutes[op]) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        if (interp__is_const(b)) {
            /* The constant as an immediate: the frame need not hold it. */
            uint64_t bits = interp__const_bits(c, b);
            interp__emit_op(c, (enum interp_op)(IOP_I32_EQZ_I + (op - IOP_I32_EQZ)));
            interp__emit_slot(c, dst);
            interp__emit_slot(c, a);
            interp__emit_u(c, (uint32_t)bits);
            if (imm_units[op] == 2)
                interp__emit_u(c, (uint32_t)(bits >> 32));
            goto done;
        }
    }
    interp__emit_op(c, op);
    interp__emit_slot(c, dst);
    if (n == 2) {
        interp__emit_slot(c, a);
        interp__emit_slot(c, b);
    } else {
        for (unsigned i = 0; i < n; i++)
            interp__emit_slot(c, srcs[i]);
    }
done:
    interp__note_result(c, start, start + 1, op, a, b);
    if (op == IOP_I32_ADD) {
        c->add_start = start;
        c->add_end = c->ncode;
        c->add_x = a;
        c->add_y = b;
    }
}

struct numinfo {
    uint8_t kind; /* 0 none, 1 unary, 2 binary */
    uint8_t tin, tout;
    uint16_t op;
};

static struct numinfo numtab[256];
static struct numinfo sattab[8];

#define UN  1
#define BIN 2
#define I32 WASMSLOT_I32
#define I64 WASMSLOT_I64
#define F32 WASMSLOT_F32
#define F64 WASMSLOT_F64

void interp__init_value_tables(void)
{
#define X(code, name, kind, ti, to, expr) numtab[code] = (struct numinfo){kind, ti, to, IOP_##name};
    INTERP_NUMOPS(X)
#undef X
#define X(code, name, kind, ti, to, expr) sattab[code] = (struct numinfo){kind, ti, to, IOP_##name};
    INTERP_SATOPS(X)
#undef X
#define X(code, name, kind, ti, to, expr)                                                          \
    if (kind == BIN)                                                                               \
        imm_units[IOP_##name] = ti == I32 || ti == F32 ? 1 : 2;
    INTERP_NUMOPS(X)
#undef X
    /* Integer ops only: swapping float operands could change which NaN comes out. */
    static const enum interp_op comm[] = {
        IOP_I32_EQ, IOP_I32_NE, IOP_I32_ADD, IOP_I32_MUL, IOP_I32_AND, IOP_I32_OR, IOP_I32_XOR,
        IOP_I64_EQ, IOP_I64_NE, IOP_I64_ADD, IOP_I64_MUL, IOP_I64_AND, IOP_I64_OR, IOP_I64_XOR,
    };
    for (size_t i = 0; i < sizeof comm / sizeof comm[0]; i++)
        commutes[comm[i]] = true;
}

/* f64.add/sub/mul whose second operand b is an f64.load just emitted (and read by nothing
 * else): one instruction loading it. a and b were just popped; b sat at height c->sp + 1. */
static bool fuse_f64_load(struct comp *c, enum interp_op op, struct ent a, struct ent b)
{
    enum interp_op m;
    if (op == IOP_F64_ADD)
        m = IOP_F64_ADD_M;
    else if (op == IOP_F64_SUB)
        m = IOP_F64_SUB_M;
    else if (op == IOP_F64_MUL)
        m = IOP_F64_MUL_M;
    else
        return false;
    if (interp__dead(c) || !interp__last_valid(c) ||
        (c->last_op != IOP_F64_LOAD && c->last_op != IOP_F64_LOAD_XI) ||
        b.slot != interp__canon(c->sp + 1) || c->code[c->last_dst] != b.slot || a.slot == b.slot)
        return false;
    bool xi = c->last_op == IOP_F64_LOAD_XI;
    uint32_t x = c->last_a, imm = 0, off;
    if (xi) {
        imm = (uint32_t)interp__const_bits(c, c->last_b);
        off = c->code[c->last_start + 4];
    } else {
        off = c->code[c->last_start + 3];
    }
    interp__rewind_last(c);
    uint32_t d = interp__push_new(c, WASMSLOT_F64);
    size_t start = c->ncode;
    enum interp_op fop = xi ? (enum interp_op)(m + (IOP_F64_ADD_MXI - IOP_F64_ADD_M)) : m;
    interp__emit_op(c, fop);
    interp__emit_slot(c, d);
    interp__emit_slot(c, a.slot);
    interp__emit_slot(c, x);
    if (xi)
        interp__emit_u(c, imm);
    interp__emit_u(c, off);
    interp__note_result(c, start, start + 1, fop, a.slot, x);
    return true;
}

/* f64.add whose first operand a is the product the last instruction (an f64.mul, possibly with
 * a fused load) just computed and nothing else reads: one multiply-add instruction. */
static bool fuse_f64_muladd(struct comp *c, enum interp_op op, struct ent a, struct ent b)
{
    if (op != IOP_F64_ADD || interp__dead(c) || !interp__last_valid(c) ||
        a.slot != interp__canon(c->sp) || c->code[c->last_dst] != a.slot || b.slot == a.slot)
        return false;
    /* The emitted form, not last_op: an f64.mul by a constant became F64_MUL_I. */
    const uint32_t *u = &c->code[c->last_start];
    enum interp_op fop;
    unsigned nsrc; /* slot operands after dst, then immediates up to the end */
    if (u[0] == (uint32_t)c->h[IOP_F64_MUL]) {
        fop = IOP_F64_MULADD;
        nsrc = 2;
    } else if (u[0] == (uint32_t)c->h[IOP_F64_MUL_M]) {
        fop = IOP_F64_MULM_ADD;
        nsrc = 2;
    } else if (u[0] == (uint32_t)c->h[IOP_F64_MUL_MXI]) {
        fop = IOP_F64_MULMXI_ADD;
        nsrc = 2;
    } else {
        return false;
    }
    uint32_t ops[4];
    size_t n = c->ncode - c->last_start - 2; /* the operands after dst */
    memcpy(ops, u + 2, n * sizeof *ops);
    interp__rewind_last(c);
    uint32_t d = interp__push_new(c, WASMSLOT_F64);
    size_t start = c->ncode;
    interp__emit_op(c, fop);
    interp__emit_slot(c, d);
    for (size_t i = 0; i < n; i++) {
        if (i < nsrc)
            interp__emit_slot(c, ops[i]);
        else
            interp__emit_u(c, ops[i]);
    }
    interp__emit_slot(c, b.slot);
    interp__note_result(c, start, start + 1, fop, ops[0], ops[1]);
    return true;
}

static void do_numeric(struct comp *c, const struct numinfo *ni)
{
    if (ni->kind == UN) {
        struct ent a = interp__pop_t(c, ni->tin);
        uint32_t d = interp__push_new(c, ni->tout);
        interp__emit_val_op(c, ni->op, d, &a.slot, 1);
    } else {
        struct ent b = interp__pop_t(c, ni->tin);
        struct ent a = interp__pop_t(c, ni->tin);
        if (fuse_f64_muladd(c, ni->op, a, b) || fuse_f64_load(c, ni->op, a, b))
            return;
        uint32_t d = interp__push_new(c, ni->tout);
        uint32_t s[2] = {a.slot, b.slot};
        interp__emit_val_op(c, ni->op, d, s, 2);
    }
}

/* Was the address a just computed by an i32.add that nothing else reads? Then the access
 * can do the (wrapping) addition itself. a was just popped: it sat at height c->sp. */
static bool fusable_add(struct comp *c, struct ent a)
{
    return interp__last_valid(c) && c->last_op == IOP_I32_ADD && a.slot == interp__canon(c->sp) &&
           c->code[c->last_dst] == a.slot;
}

void interp__do_load(struct comp *c, enum interp_op op, unsigned natural, uint8_t type)
{
    uint32_t off = rd_memarg(c, natural);
    struct ent a = interp__pop_t(c, WASMSLOT_I32);
    bool fuse = fusable_add(c, a);
    uint32_t d = interp__push_new(c, type);
    if (interp__dead(c))
        return;
    if (!fuse && c->set_end == c->ncode && a.slot == c->set_local) {
        /* l = x + k; load from l: one instruction that bumps the pointer and loads */
        uint32_t l = c->set_local, x = c->code[c->set_start + 2], k = c->code[c->set_start + 3];
        c->ncode = c->set_start;
        while (c->nfix && c->fix[c->nfix - 1] >= c->ncode)
            c->nfix--;
        interp__forget_last(c);
        c->add_end = SIZE_MAX;
        size_t start = c->ncode;
        enum interp_op opx = (enum interp_op)(IOP_I32_LOAD_AL + (op - IOP_I32_LOAD));
        interp__emit_op(c, opx);
        interp__emit_slot(c, d);
        interp__emit_slot(c, l);
        interp__emit_slot(c, x);
        interp__emit_u(c, k);
        interp__emit_u(c, off);
        interp__note_result(c, start, start + 1, opx, l, x);
        return;
    }
    if (fuse) {
        uint32_t x = c->last_a, y = c->last_b;
        interp__rewind_last(c);
        size_t start = c->ncode;
        bool imm = interp__is_const(y);
        enum interp_op opx =
            (enum interp_op)((imm ? IOP_I32_LOAD_XI : IOP_I32_LOAD_X) + (op - IOP_I32_LOAD));
        interp__emit_op(c, opx);
        interp__emit_slot(c, d);
        interp__emit_slot(c, x);
        if (imm)
            interp__emit_u(c, (uint32_t)interp__const_bits(c, y));
        else
            interp__emit_slot(c, y);
        interp__emit_u(c, off);
        interp__note_result(c, start, start + 1, opx, x, y);
        return;
    }
    size_t start = c->ncode;
    interp__emit_op(c, op);
    size_t dpos = c->ncode;
    interp__emit_slot(c, d);
    interp__emit_slot(c, a.slot);
    interp__emit_u(c, off);
    interp__note_result(c, start, dpos, op, a.slot, 0);
}

void interp__do_store(struct comp *c, enum interp_op op, unsigned natural, uint8_t type)
{
    uint32_t off = rd_memarg(c, natural);
    struct ent v = interp__pop_t(c, type);
    struct ent a = interp__pop_t(c, WASMSLOT_I32);
    if (interp__dead(c))
        return;
    if (fusable_add(c, a) && v.slot != a.slot) {
        uint32_t x = c->last_a, y = c->last_b;
        interp__rewind_last(c);
        bool imm = interp__is_const(y);
        interp__emit_op(
            c, (enum interp_op)((imm ? IOP_I32_STORE_XI : IOP_I32_STORE_X) + (op - IOP_I32_STORE)));
        interp__emit_slot(c, x);
        if (imm)
            interp__emit_u(c, (uint32_t)interp__const_bits(c, y));
        else
            interp__emit_slot(c, y);
        interp__emit_slot(c, v.slot);
        interp__emit_u(c, off);
        interp__forget_last(c);
        return;
    }
    size_t start = c->ncode;
    interp__emit_op(c, op);
    interp__emit_slot(c, a.slot);
    interp__emit_slot(c, v.slot);
    interp__emit_u(c, off);
    interp__forget_last(c);
    if (a.slot < c->nlocals && v.slot != a.slot) {
        c->st_start = start;
        c->st_end = c->ncode;
        c->st_local = a.slot;
        c->st_op = op;
    }
}

/* local.set l of `l + y` computed by the last instruction right after a store through l: one
 * store that then advances l. Called before the add is retargeted to l. */
bool interp__fuse_store_bump(struct comp *c, uint32_t l)
{
    const uint32_t *u = &c->code[c->last_start];
    bool imm = u[0] == (uint32_t)c->h[IOP_I32_ADD_I];
    if (c->st_end != c->last_start || c->st_local != l || u[2] != l ||
        (!imm && u[0] != (uint32_t)c->h[IOP_I32_ADD]))
        return false;
    uint32_t y = u[3], v = c->code[c->st_start + 2], off = c->code[c->st_start + 3];
    int op = c->st_op;
    c->ncode = c->st_start;
    while (c->nfix && c->fix[c->nfix - 1] >= c->ncode)
        c->nfix--;
    interp__forget_last(c);
    c->add_end = SIZE_MAX;
    interp__emit_op(
        c, (enum interp_op)((imm ? IOP_I32_STORE_PAI : IOP_I32_STORE_PA) + (op - IOP_I32_STORE)));
    interp__emit_slot(c, l);
    interp__emit_slot(c, v);
    interp__emit_u(c, off);
    if (imm)
        interp__emit_u(c, y);
    else
        interp__emit_slot(c, y);
    return true;
}

bool interp__do_numeric_opcode(struct comp *c, uint8_t opc)
{
    if (!numtab[opc].kind)
        return false;
    do_numeric(c, &numtab[opc]);
    return true;
}

void interp__do_saturating(struct comp *c, uint32_t sub)
{
    do_numeric(c, &sattab[sub]);
}
