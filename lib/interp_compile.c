/* interp_compile.c: validates every function body with the spec's algorithm and, in the same
 * pass, compiles it instruction by instruction to the register-slot internal code that interp.c
 * runs (the stacks and emission helpers are in interp_compile_stack.c, branches and block ends
 * in interp_compile_ctl.c). */
#include "config.h"

#include "interp.h"
#include "interp_compile.h"
#include "interp_ops.h"

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ instructions */

static const struct wasm_functype *func_type(struct comp *c, uint32_t f)
{
    if (f >= c->m->nfuncs_total)
        interp__invalid(c, "unknown function");
    return wasm_module_functype(c->m, f);
}

static void do_call_args(struct comp *c, const struct wasm_functype *ft, uint32_t *base)
{
    interp__pop_vals(c, ft->params, ft->nparams);
    uint32_t h = c->sp;
    /* Arguments go to the canonical slots where the callee's frame starts. */
    if (!interp__dead(c))
        for (uint32_t i = 0; i < ft->nparams; i++)
            interp__emit_copy(c, interp__canon(h + i), c->st[h + i].slot);
    *base = interp__canon(h);
}

static void push_results(struct comp *c, const struct wasm_functype *ft)
{
    for (uint32_t i = 0; i < ft->nresults; i++)
        interp__push_new(c, (uint8_t)ft->results[i]);
}

static void check_memory(struct comp *c)
{
    if (c->m->nmemories_total == 0)
        interp__invalid(c, "unknown memory");
}

static uint32_t rd_memarg(struct comp *c, unsigned natural)
{
    uint32_t align = interp__rd_u32(c);
    uint32_t offset = interp__rd_u32(c);
    check_memory(c);
    if (align >= 32 || align > natural)
        interp__invalid(c, "alignment must not be larger than natural");
    return offset;
}

static uint32_t table_index(struct comp *c, uint32_t t)
{
    if (t >= c->m->ntables_total)
        interp__invalid(c, "unknown table");
    return t;
}

static void check_data(struct comp *c, uint32_t d)
{
    if (!c->m->has_data_count)
        interp__malformed(c, "data count section required");
    if (d >= c->m->data_count)
        interp__invalid(c, "unknown data segment");
}

static void check_elem(struct comp *c, uint32_t e)
{
    if (e >= c->m->nelems)
        interp__invalid(c, "unknown elem segment");
}

/* Binary numeric ops: the code units of an immediate second operand (0: no _I form). */
static uint8_t imm_units[IOP__COUNT];
/* Binary numeric ops whose operands may be swapped (to make a constant the immediate). */
static bool commutes[IOP__COUNT];

/* One generic emitter for "dst = op(srcs)" with the peephole bookkeeping. */
static void emit_val_op(struct comp *c, enum interp_op op, uint32_t dst, const uint32_t *srcs,
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
#define I32 WASM_I32
#define I64 WASM_I64
#define F32 WASM_F32
#define F64 WASM_F64

static void init_tables(void)
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
    uint32_t d = interp__push_new(c, WASM_F64);
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
    uint32_t d = interp__push_new(c, WASM_F64);
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
        emit_val_op(c, ni->op, d, &a.slot, 1);
    } else {
        struct ent b = interp__pop_t(c, ni->tin);
        struct ent a = interp__pop_t(c, ni->tin);
        if (fuse_f64_muladd(c, ni->op, a, b) || fuse_f64_load(c, ni->op, a, b))
            return;
        uint32_t d = interp__push_new(c, ni->tout);
        uint32_t s[2] = {a.slot, b.slot};
        emit_val_op(c, ni->op, d, s, 2);
    }
}

static bool fuse_store_bump(struct comp *c, uint32_t l);

static void do_local_set(struct comp *c, uint32_t l, bool tee)
{
    if (l >= c->nlocals)
        interp__invalid(c, "unknown local");
    struct ent v = interp__pop_t(c, (uint8_t)c->ltypes[l]);
    if (interp__dead(c)) {
        if (tee)
            interp__push(c, (uint8_t)c->ltypes[l], interp__canon(c->sp));
        return;
    }
    /* The value was just computed into its canonical slot: have that instruction write the
     * local directly, unless older stack entries still need the local's old value. */
    if (interp__last_valid(c) && v.slot == interp__canon(c->sp) && c->code[c->last_dst] == v.slot &&
        !interp__local_referenced(c, l, UINT32_MAX)) {
        if (fuse_store_bump(c, l))
            goto pushed;
        size_t start = c->last_start;
        interp__retarget_last(c, l);
        if (c->code[start] == (uint32_t)c->h[IOP_I32_ADD_I]) {
            c->set_start = start;
            c->set_end = c->ncode;
            c->set_local = l;
        }
    } else {
        interp__spill_local(c, l, UINT32_MAX);
        interp__emit_copy(c, l, v.slot);
        interp__forget_last(c);
    }
pushed:
    if (tee)
        interp__push(c, (uint8_t)c->ltypes[l], l);
}

/* Was the address a just computed by an i32.add that nothing else reads? Then the access
 * can do the (wrapping) addition itself. a was just popped: it sat at height c->sp. */
static bool fusable_add(struct comp *c, struct ent a)
{
    return interp__last_valid(c) && c->last_op == IOP_I32_ADD && a.slot == interp__canon(c->sp) &&
           c->code[c->last_dst] == a.slot;
}

static void do_load(struct comp *c, enum interp_op op, unsigned natural, uint8_t type)
{
    uint32_t off = rd_memarg(c, natural);
    struct ent a = interp__pop_t(c, WASM_I32);
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

static void do_store(struct comp *c, enum interp_op op, unsigned natural, uint8_t type)
{
    uint32_t off = rd_memarg(c, natural);
    struct ent v = interp__pop_t(c, type);
    struct ent a = interp__pop_t(c, WASM_I32);
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
static bool fuse_store_bump(struct comp *c, uint32_t l)
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

static void do_prefix_fc(struct comp *c)
{
    uint32_t sub = interp__rd_u32(c);
    if (sub < 8) {
        do_numeric(c, &sattab[sub]);
        return;
    }
    struct ent a, b, n;
    uint32_t x, y, d;
    switch (sub) {
    case 8: /* memory.init */
        x = interp__rd_u32(c);
        check_memory(c);
        interp__rd_zero(c);
        check_data(c, x);
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, WASM_I32);
        a = interp__pop_t(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_MEMORY_INIT);
            interp__emit_slot(c, a.slot);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
            interp__emit_u(c, x);
        }
        break;
    case 9: /* data.drop */
        x = interp__rd_u32(c);
        check_data(c, x);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_DATA_DROP);
            interp__emit_u(c, x);
        }
        break;
    case 10: /* memory.copy */
        interp__rd_zero(c);
        interp__rd_zero(c);
        check_memory(c);
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, WASM_I32);
        a = interp__pop_t(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_MEMORY_COPY);
            interp__emit_slot(c, a.slot);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
        }
        break;
    case 11: /* memory.fill */
        interp__rd_zero(c);
        check_memory(c);
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, WASM_I32);
        a = interp__pop_t(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_MEMORY_FILL);
            interp__emit_slot(c, a.slot);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
        }
        break;
    case 12: /* table.init elem table */
        x = interp__rd_u32(c);
        y = table_index(c, interp__rd_u32(c));
        check_elem(c, x);
        if (c->m->elems[x].type != c->m->tables[y].elem)
            interp__invalid(c, "type mismatch");
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, WASM_I32);
        a = interp__pop_t(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_TABLE_INIT);
            interp__emit_slot(c, a.slot);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
            interp__emit_u(c, y);
            interp__emit_u(c, x);
        }
        break;
    case 13: /* elem.drop */
        x = interp__rd_u32(c);
        check_elem(c, x);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_ELEM_DROP);
            interp__emit_u(c, x);
        }
        break;
    case 14: /* table.copy dst src */
        x = table_index(c, interp__rd_u32(c));
        y = table_index(c, interp__rd_u32(c));
        if (c->m->tables[x].elem != c->m->tables[y].elem)
            interp__invalid(c, "type mismatch");
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, WASM_I32);
        a = interp__pop_t(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_TABLE_COPY);
            interp__emit_slot(c, a.slot);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
            interp__emit_u(c, x);
            interp__emit_u(c, y);
        }
        break;
    case 15: /* table.grow */
        x = table_index(c, interp__rd_u32(c));
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, (uint8_t)c->m->tables[x].elem);
        d = interp__push_new(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_TABLE_GROW);
            interp__emit_slot(c, d);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
            interp__emit_u(c, x);
        }
        break;
    case 16: /* table.size */
        x = table_index(c, interp__rd_u32(c));
        d = interp__push_new(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_TABLE_SIZE);
            interp__emit_slot(c, d);
            interp__emit_u(c, x);
        }
        break;
    case 17: /* table.fill */
        x = table_index(c, interp__rd_u32(c));
        n = interp__pop_t(c, WASM_I32);
        b = interp__pop_t(c, (uint8_t)c->m->tables[x].elem);
        a = interp__pop_t(c, WASM_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_TABLE_FILL);
            interp__emit_slot(c, a.slot);
            interp__emit_slot(c, b.slot);
            interp__emit_slot(c, n.slot);
            interp__emit_u(c, x);
        }
        break;
    default:
        interp__malformed(c, "illegal opcode");
    }
    interp__forget_last(c);
}

/* The 0xFE (threads) instructions, compiled with the helpers above. */
#include "interp_atomic_compile.h"

static void compile_body(struct comp *c)
{
    const struct wasm_module *m = c->m;
    struct sig fs = {0, c->ft->nresults, NULL, c->ft->results};
    interp__push_ctl(c, CTL_FUNC, fs);

    while (c->nctl > 0) {
        uint8_t opc = interp__rd_u8(c);
        struct ent a, b, e;
        uint32_t x, y, d;
        struct sig s;
        const struct wasm_functype *ft;

        switch (opc) {
        case 0x00: /* unreachable */
            if (!interp__dead(c))
                interp__emit_op(c, IOP_UNREACHABLE);
            interp__set_unreachable(c);
            break;
        case 0x01: /* nop */
            break;
        case 0x02: /* block */
        case 0x03: /* loop */
            s = interp__rd_blocktype(c);
            interp__pop_repush(c, s.p, s.np);
            if (!interp__dead(c))
                interp__materialize(c, 0);
            {
                struct ctl *t = interp__push_ctl(c, opc == 0x02 ? CTL_BLOCK : CTL_LOOP, s);
                /* No instruction marks the loop: its back-edges poll for interruption. */
                if (opc == 0x03)
                    t->loop_pos = (uint32_t)c->ncode;
            }
            break;
        case 0x04: /* if */
            s = interp__rd_blocktype(c);
            e = interp__pop_t(c, WASM_I32);
            interp__pop_repush(c, s.p, s.np);
            {
                bool was_dead = interp__dead(c);
                uint32_t pos = NO_PATCH;
                if (!was_dead) {
                    bool need = false;
                    for (uint32_t i = 0; i < c->sp; i++)
                        need |= c->st[i].slot != interp__canon(i);
                    if (need) {
                        /* copies would separate a compare from the jump: keep the simple
                         * form, the condition still sits in its own slot */
                        interp__materialize(c, 0);
                        interp__forget_last(c);
                    }
                    pos = interp__emit_cond_jump(c, e, false);
                }
                struct ctl *t = interp__push_ctl(c, CTL_IF, s);
                t->else_patch = pos;
            }
            break;
        case 0x05:
            interp__do_else(c);
            break;
        case 0x0b:
            interp__do_end(c);
            break;
        case 0x0c: /* br */
            x = interp__rd_u32(c);
            {
                struct ctl *L = interp__label(c, x);
                interp__check_vals(c, interp__label_types(L), interp__label_arity(L));
                interp__emit_br(c, x);
            }
            interp__set_unreachable(c);
            break;
        case 0x0d:
            interp__do_br_if(c, interp__rd_u32(c));
            break;
        case 0x0e:
            interp__do_br_table(c);
            break;
        case 0x0f: /* return */
            interp__check_vals(c, c->ft->results, c->ft->nresults);
            interp__emit_return(c);
            interp__set_unreachable(c);
            break;
        case 0x10: /* call */
            x = interp__rd_u32(c);
            ft = func_type(c, x);
            do_call_args(c, ft, &d);
            if (!interp__dead(c)) {
                if (x >= m->nfunc_imports) {
                    interp__emit_op(c, IOP_CALL);
                    interp__emit_slot(c, d);
                    interp__emit_ptr(c, &c->all[x - m->nfunc_imports]);
                } else {
                    interp__emit_op(c, IOP_CALL_IMPORT);
                    interp__emit_slot(c, d);
                    interp__emit_u(c, x);
                    interp__emit_slot(c, SLOT_FRAMETOP);
                }
            }
            push_results(c, ft);
            interp__forget_last(c);
            break;
        case 0x11: /* call_indirect */
            y = interp__rd_u32(c);
            x = interp__rd_u32(c);
            table_index(c, x);
            if (y >= m->ntypes)
                interp__invalid(c, "unknown type");
            if (m->tables[x].elem != WASM_FUNCREF)
                interp__invalid(c, "type mismatch");
            ft = &m->types[y].ft;
            e = interp__pop_t(c, WASM_I32);
            do_call_args(c, ft, &d);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_CALL_INDIRECT);
                interp__emit_slot(c, d);
                interp__emit_slot(c, e.slot);
                interp__emit_u(c, x);
                interp__emit_u(c, y);
                interp__emit_slot(c, SLOT_FRAMETOP);
            }
            push_results(c, ft);
            interp__forget_last(c);
            break;
        case 0x1a: /* drop */
            interp__pop_any(c);
            break;
        case 0x1b: /* select */
        case 0x1c: /* select t */
            if (opc == 0x1c) {
                if (interp__rd_u32(c) != 1)
                    interp__invalid(c, "invalid result arity");
                x = interp__rd_valtype(c);
            }
            e = interp__pop_t(c, WASM_I32);
            if (opc == 0x1c) {
                b = interp__pop_t(c, (uint8_t)x);
                a = interp__pop_t(c, (uint8_t)x);
            } else {
                b = interp__pop_any(c);
                a = interp__pop_any(c);
                if (interp__is_ref(a.type) || interp__is_ref(b.type))
                    interp__invalid(c, "type mismatch");
                if (a.type != b.type && a.type != T_UNKNOWN && b.type != T_UNKNOWN)
                    interp__invalid(c, "type mismatch");
                x = a.type != T_UNKNOWN ? a.type : b.type;
            }
            d = interp__push_new(c, (uint8_t)x);
            {
                uint32_t srcs[3] = {a.slot, b.slot, e.slot};
                emit_val_op(c, IOP_SELECT, d, srcs, 3);
            }
            break;
        case 0x20: /* local.get */
            x = interp__rd_u32(c);
            if (x >= c->nlocals)
                interp__invalid(c, "unknown local");
            interp__push(c, (uint8_t)c->ltypes[x], x);
            break;
        case 0x21:
        case 0x22:
            do_local_set(c, interp__rd_u32(c), opc == 0x22);
            break;
        case 0x23: /* global.get */
            x = interp__rd_u32(c);
            if (x >= m->nglobals_total)
                interp__invalid(c, "unknown global");
            d = interp__push_new(c, (uint8_t)m->global_types[x].type);
            if (!interp__dead(c)) {
                size_t start = c->ncode;
                interp__emit_op(c, IOP_GLOBAL_GET);
                interp__emit_slot(c, d);
                interp__emit_u(c, x);
                interp__note_result(c, start, start + 1, IOP_GLOBAL_GET, 0, 0);
            }
            break;
        case 0x24: /* global.set */
            x = interp__rd_u32(c);
            if (x >= m->nglobals_total)
                interp__invalid(c, "unknown global");
            if (!m->global_types[x].mutable_)
                interp__invalid(c, "global is immutable");
            a = interp__pop_t(c, (uint8_t)m->global_types[x].type);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_GLOBAL_SET);
                interp__emit_u(c, x);
                interp__emit_slot(c, a.slot);
            }
            interp__forget_last(c);
            break;
        case 0x25: /* table.get */
            x = table_index(c, interp__rd_u32(c));
            a = interp__pop_t(c, WASM_I32);
            d = interp__push_new(c, (uint8_t)m->tables[x].elem);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_TABLE_GET);
                interp__emit_slot(c, d);
                interp__emit_slot(c, a.slot);
                interp__emit_u(c, x);
            }
            interp__forget_last(c);
            break;
        case 0x26: /* table.set */
            x = table_index(c, interp__rd_u32(c));
            b = interp__pop_t(c, (uint8_t)m->tables[x].elem);
            a = interp__pop_t(c, WASM_I32);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_TABLE_SET);
                interp__emit_slot(c, a.slot);
                interp__emit_slot(c, b.slot);
                interp__emit_u(c, x);
            }
            interp__forget_last(c);
            break;
#define X(code, name, natural, type, ctype, conv)                                                  \
    case code:                                                                                     \
        do_load(c, IOP_##name, natural, type);                                                     \
        break;
            INTERP_LOADS(X)
#undef X
#define X(code, name, natural, type, ctype)                                                        \
    case code:                                                                                     \
        do_store(c, IOP_##name, natural, type);                                                    \
        break;
            INTERP_STORES(X)
#undef X
        case 0x3f: /* memory.size */
            interp__rd_zero(c);
            check_memory(c);
            d = interp__push_new(c, WASM_I32);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_MEMORY_SIZE);
                interp__emit_slot(c, d);
            }
            interp__forget_last(c);
            break;
        case 0x40: /* memory.grow */
            interp__rd_zero(c);
            check_memory(c);
            a = interp__pop_t(c, WASM_I32);
            d = interp__push_new(c, WASM_I32);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_MEMORY_GROW);
                interp__emit_slot(c, d);
                interp__emit_slot(c, a.slot);
            }
            interp__forget_last(c);
            break;
        case 0x41:
            interp__push_const(c, WASM_I32, (uint32_t)(int32_t)interp__rd_leb(c, 32, true));
            break;
        case 0x42:
            interp__push_const(c, WASM_I64, interp__rd_leb(c, 64, true));
            break;
        case 0x43:
        case 0x44: {
            unsigned nb = opc == 0x43 ? 4 : 8;
            uint64_t v = 0;
            if ((size_t)(c->end - c->p) < nb)
                interp__malformed(c, "unexpected end");
            for (unsigned i = 0; i < nb; i++)
                v |= (uint64_t)c->p[i] << (8 * i);
            c->p += nb;
            interp__push_const(c, opc == 0x43 ? WASM_F32 : WASM_F64, v);
            break;
        }
        case 0xbc: /* i32.reinterpret_f32: the cell's bits already are the result */
        case 0xbd:
        case 0xbe:
        case 0xbf: {
            static const uint8_t from[4] = {WASM_F32, WASM_F64, WASM_I32, WASM_I64};
            static const uint8_t to[4] = {WASM_I32, WASM_I64, WASM_F32, WASM_F64};
            a = interp__pop_t(c, from[opc - 0xbc]);
            interp__push(c, to[opc - 0xbc], a.slot);
            break;
        }
        case 0xd0: /* ref.null */
            x = interp__rd_u8(c);
            if (x != WASM_FUNCREF && x != WASM_EXTERNREF)
                interp__malformed(c, "malformed reference type");
            interp__push_const(c, (uint8_t)x, 0);
            break;
        case 0xd1: /* ref.is_null */
            a = interp__pop_any(c);
            if (!interp__is_ref(a.type) && a.type != T_UNKNOWN)
                interp__invalid(c, "type mismatch");
            d = interp__push_new(c, WASM_I32);
            emit_val_op(c, IOP_I64_EQZ, d, &a.slot, 1);
            interp__forget_last(c);
            break;
        case 0xd2: /* ref.func */
            x = interp__rd_u32(c);
            func_type(c, x);
            if (!m->declared_funcs || !(m->declared_funcs[x / 8] & (1u << (x % 8))))
                interp__invalid(c, "undeclared function reference");
            d = interp__push_new(c, WASM_FUNCREF);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_REF_FUNC);
                interp__emit_slot(c, d);
                interp__emit_u(c, x);
            }
            interp__forget_last(c);
            break;
        case 0xfc:
            do_prefix_fc(c);
            break;
        case 0xfe:
            do_prefix_fe(c);
            break;
        default:
            if (numtab[opc].kind) {
                do_numeric(c, &numtab[opc]);
                break;
            }
            interp__malformed(c, "illegal opcode");
        }
    }
    if (c->p != c->end)
        interp__malformed(c, "section size mismatch");
}

/* Rewrite encoded slots into the frame layout [locals | constants | operand stack]. */
static void finish_function(struct comp *c, struct interp_func *f)
{
    /* Keep only the constants some slot operand still names (most became immediates). */
    uint32_t remap[MAX_CONSTS], used = 0;
    bool live[MAX_CONSTS] = {false};
    for (size_t i = 0; i < c->nfix; i++) {
        uint32_t u = c->code[c->fix[i]];
        if (interp__is_const(u))
            live[u & ~SLOT_CONST] = true;
    }
    for (uint32_t k = 0; k < c->nconsts; k++) {
        if (live[k]) {
            remap[k] = used;
            c->consts[used++] = c->consts[k];
        }
    }
    c->nconsts = used;
    for (size_t i = 0; i < c->nfix; i++) {
        uint32_t *u = &c->code[c->fix[i]];
        if (interp__is_const(*u))
            *u = SLOT_CONST | remap[*u & ~SLOT_CONST];
    }
    uint32_t cbase = c->nlocals, sbase = c->nlocals + c->nconsts;
    uint32_t frame = sbase + c->maxh;
    if (frame < c->ft->nresults)
        frame = c->ft->nresults;
    if (frame < c->ft->nparams + INTERP_ZERO_CELLS)
        frame = c->ft->nparams + INTERP_ZERO_CELLS;
    for (size_t i = 0; i < c->nfix; i++) {
        uint32_t *u = &c->code[c->fix[i]];
        if (*u == SLOT_FRAMETOP)
            *u = frame;
        else if (*u & SLOT_STACK)
            *u = sbase + (*u & ~SLOT_STACK);
        else if (*u & SLOT_CONST)
            *u = cbase + (*u & ~SLOT_CONST);
    }
    f->nparams = c->ft->nparams;
    f->nresults = c->ft->nresults;
    f->nlocals = c->nlocals;
    f->const_base = cbase;
    f->nconsts = c->nconsts;
    f->frame_cells = frame;
    f->type = c->ft;
}

static int compile_function(struct comp *c, uint32_t k, struct interp_func *f)
{
    const struct wasm_module *m = c->m;
    const struct wasm_func_def *def = &m->funcs[k];
    int rc = 0;

    c->fidx = k;
    c->ft = &m->types[def->type].ft;
    c->body = c->p = def->body;
    c->end = def->body + def->body_len;
    c->ncode = c->nfix = 0;
    c->sp = c->maxh = 0;
    c->nctl = 0;
    c->nconsts = 0;
    c->ltypes = NULL;
    c->add_end = SIZE_MAX;
    interp__forget_last(c);

    c->rc = 0;
    if (setjmp(c->fail)) {
        rc = c->rc ? c->rc : -ENOMEM;
        goto fail;
    }
    if ((uint64_t)c->ft->nparams + def->nlocals > MAX_LOCALS)
        interp__malformed(c, "too many locals");
    c->nlocals = c->ft->nparams + def->nlocals;
    c->ltypes = malloc(((size_t)c->nlocals + 1) * sizeof *c->ltypes);
    if (!c->ltypes)
        longjmp(c->fail, 2);
    memcpy(c->ltypes, c->ft->params, c->ft->nparams * sizeof *c->ltypes);
    memcpy(c->ltypes + c->ft->nparams, def->locals, def->nlocals * sizeof *c->ltypes);

    compile_body(c);
    finish_function(c, f);

    uint32_t *code = malloc(c->ncode * sizeof *code + 1);
    wasm_cell *consts = malloc(c->nconsts * sizeof *consts + 1);
    if (!code || !consts) {
        free(code);
        free(consts);
        longjmp(c->fail, 2);
    }
    memcpy(code, c->code, c->ncode * sizeof *code);
    memcpy(consts, c->consts, c->nconsts * sizeof *consts);
    f->code = code;
    f->ncode = (uint32_t)c->ncode;
    f->consts = consts;
fail:
    free(c->ltypes);
    c->ltypes = NULL;
    return rc;
}

int interp_compile_module(struct wasm_module *m, struct wasm_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct comp c;
    int rc = 0;

    pthread_once(&once, init_tables);
    if (m->nfuncs == 0)
        return 0;
    struct interp_func *all = calloc(m->nfuncs, sizeof *all);
    if (!all)
        return wasm_error_set(err, ENOMEM, "out of memory");
    for (uint32_t k = 0; k < m->nfuncs; k++)
        m->funcs[k].compiled = &all[k];

    memset(&c, 0, sizeof c);
    c.m = m;
    c.err = err;
    c.h = interp__handlers();
    c.all = all;
    if (err)
        err->code = 0;
    for (uint32_t k = 0; k < m->nfuncs && rc == 0; k++)
        rc = compile_function(&c, k, &all[k]);
    free(c.code);
    free(c.fix);
    free(c.st);
    free(c.ctl);
    free(c.tg);
    if (rc < 0) {
        if (rc == -ENOMEM)
            wasm_error_set(err, ENOMEM, "out of memory compiling function %u", c.fidx);
        interp_free_module(m);
    }
    return rc;
}

void interp_free_module(struct wasm_module *m)
{
    if (!m || m->nfuncs == 0 || !m->funcs || !m->funcs[0].compiled)
        return;
    struct interp_func *all = m->funcs[0].compiled;
    for (uint32_t k = 0; k < m->nfuncs; k++) {
        free((void *)all[k].code);
        free((void *)all[k].consts);
        m->funcs[k].compiled = NULL;
    }
    free(all);
}
