/* interp/compile_ctl.c: compilation of structured control: returns, branches with their value
 * moves, conditional jumps fused with the comparison before them, br_table, else and end. */
#include "config.h"

#include "interp/compile.h"

#include <stdlib.h>
#include <string.h>

void interp__emit_return(struct comp *c)
{
    uint32_t n = c->ft->nresults;
    if (interp__dead(c))
        return;
    if (n == 1) {
        uint32_t src = c->st[c->sp - 1].slot;
        if (interp__last_valid(c) && src == interp__canon(c->sp - 1) &&
            c->code[c->last_dst] == src) {
            /* the value was just computed: compute it straight into the result slot */
            interp__retarget_last(c, 0);
        } else {
            interp__emit_copy(c, 0, src);
        }
    } else if (n > 1) {
        /* Through the canonical slots, so that no result overwrites a local another one
         * still reads; the entries stay as they are (a br_if falls through with them). */
        for (uint32_t i = 0; i < n; i++)
            interp__emit_copy(c, interp__canon(c->sp - n + i), c->st[c->sp - n + i].slot);
        for (uint32_t i = 0; i < n; i++)
            interp__emit_copy(c, i, interp__canon(c->sp - n + i));
    }
    interp__emit_op(c, IOP_RET);
}

/* Unconditional branch to label depth d with its values on top of the stack. */
void interp__emit_br(struct comp *c, uint32_t d)
{
    struct ctl *L = interp__label(c, d);
    if (interp__dead(c))
        return;
    if (L == &c->ctl[0]) {
        interp__emit_return(c);
        return;
    }
    interp__emit_moves(c, L, interp__label_arity(L));
    interp__emit_op(c, IOP_BR);
    interp__emit_u(c, 0);
    interp__link_label(c, L, (uint32_t)c->ncode - 1);
}

static bool is_i32_cmp(int op)
{
    return op >= IOP_I32_EQ && op <= IOP_I32_GE_U;
}

/* Emit a jump taken when cond is true (when_true) or false; the condition was just popped.
 * Fuses a preceding i32 comparison or eqz that produced it. Returns the displacement's
 * position for the caller to link. */
uint32_t interp__emit_cond_jump(struct comp *c, struct ent cond, bool when_true)
{
    static const enum interp_op inverse[] = {
        [IOP_I32_EQ - IOP_I32_EQ] = IOP_BR_NE,     [IOP_I32_NE - IOP_I32_EQ] = IOP_BR_EQ,
        [IOP_I32_LT_S - IOP_I32_EQ] = IOP_BR_GE_S, [IOP_I32_LT_U - IOP_I32_EQ] = IOP_BR_GE_U,
        [IOP_I32_GT_S - IOP_I32_EQ] = IOP_BR_LE_S, [IOP_I32_GT_U - IOP_I32_EQ] = IOP_BR_LE_U,
        [IOP_I32_LE_S - IOP_I32_EQ] = IOP_BR_GT_S, [IOP_I32_LE_U - IOP_I32_EQ] = IOP_BR_GT_U,
        [IOP_I32_GE_S - IOP_I32_EQ] = IOP_BR_LT_S, [IOP_I32_GE_U - IOP_I32_EQ] = IOP_BR_LT_U,
    };
    bool fusable = interp__last_valid(c) && cond.slot == interp__canon(c->sp) &&
                   c->code[c->last_dst] == cond.slot;
    if (fusable && is_i32_cmp(c->last_op)) {
        int op = c->last_op;
        uint32_t a = c->last_a, b = c->last_b;
        interp__rewind_last(c);
        enum interp_op j =
            when_true ? (enum interp_op)(IOP_BR_EQ + (op - IOP_I32_EQ)) : inverse[op - IOP_I32_EQ];
        uint32_t k = j - IOP_BR_EQ;
        if (c->add_end == c->ncode && c->code[c->add_start + 1] == a) {
            /* i32.add; [local.tee]; i32.<cmp>; br_if: one instruction */
            uint32_t d = c->code[c->add_start + 1], x = c->add_x, y = c->add_y;
            c->ncode = c->add_start;
            while (c->nfix && c->fix[c->nfix - 1] >= c->ncode)
                c->nfix--;
            c->add_end = SIZE_MAX;
            if (!interp__is_const(y)) {
                bool bimm = interp__is_const(b);
                interp__emit_op(c, (enum interp_op)((bimm ? IOP_ADD_BR_EQ_SI : IOP_ADD_BR_EQ) + k));
                interp__emit_slot(c, d);
                interp__emit_slot(c, x);
                interp__emit_slot(c, y);
                if (bimm)
                    interp__emit_u(c, (uint32_t)interp__const_bits(c, b));
                else
                    interp__emit_slot(c, b);
            } else {
                bool bimm = interp__is_const(b);
                interp__emit_op(c,
                                (enum interp_op)((bimm ? IOP_ADD_BR_EQ_II : IOP_ADD_BR_EQ_I) + k));
                interp__emit_slot(c, d);
                interp__emit_slot(c, x);
                interp__emit_u(c, (uint32_t)interp__const_bits(c, y));
                if (bimm)
                    interp__emit_u(c, (uint32_t)interp__const_bits(c, b));
                else
                    interp__emit_slot(c, b);
            }
            interp__emit_u(c, NO_PATCH);
            return (uint32_t)c->ncode - 1;
        }
        if (interp__is_const(b)) {
            interp__emit_op(c, (enum interp_op)(IOP_BR_EQ_I + k));
            interp__emit_slot(c, a);
            interp__emit_u(c, (uint32_t)interp__const_bits(c, b));
        } else {
            interp__emit_op(c, j);
            interp__emit_slot(c, a);
            interp__emit_slot(c, b);
        }
        interp__emit_u(c, NO_PATCH);
        return (uint32_t)c->ncode - 1;
    }
    if (fusable && c->last_op == IOP_I32_EQZ) {
        uint32_t a = c->last_a;
        interp__rewind_last(c);
        interp__emit_op(c, when_true ? IOP_BR_UNLESS : IOP_BR_IF);
        interp__emit_slot(c, a);
        interp__emit_u(c, NO_PATCH);
        return (uint32_t)c->ncode - 1;
    }
    interp__emit_op(c, when_true ? IOP_BR_IF : IOP_BR_UNLESS);
    interp__emit_slot(c, cond.slot);
    interp__emit_u(c, NO_PATCH);
    interp__forget_last(c);
    return (uint32_t)c->ncode - 1;
}

void interp__do_br_if(struct comp *c, uint32_t d)
{
    struct ctl *L = interp__label(c, d);
    struct ent cond = interp__pop_t(c, WASMSLOT_I32);
    uint32_t n = interp__label_arity(L);
    interp__pop_repush(c, interp__label_types(L), n);
    if (interp__dead(c))
        return;
    if (c->sp < n) /* only possible on a polymorphic stack, which is dead code */
        return;
    if (L != &c->ctl[0] && !interp__needs_moves(c, L, n)) {
        uint32_t pos = interp__emit_cond_jump(c, cond, true);
        interp__link_label(c, L, pos);
        return;
    }
    uint32_t skip = interp__emit_cond_jump(c, cond, false);
    interp__emit_br(c, d);
    interp__resolve_chain(c, skip, (uint32_t)c->ncode);
    interp__forget_last(c);
}

void interp__do_br_table(struct comp *c)
{
    uint32_t n = interp__rd_u32(c);
    if ((size_t)(c->end - c->p) < n)
        interp__malformed(c, "unexpected end");
    c->tg = interp__grow(c, c->tg, &c->captg, (size_t)n + 1, sizeof *c->tg);
    uint32_t *targets = c->tg;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t d = interp__rd_u32(c);
        if (d >= c->nctl)
            interp__invalid(c, "unknown label");
        targets[i] = d;
    }
    struct ent idx = interp__pop_t(c, WASMSLOT_I32);
    uint32_t arity = interp__label_arity(interp__label(c, targets[n]));
    for (uint32_t i = 0; i <= n; i++) {
        struct ctl *L = interp__label(c, targets[i]);
        if (interp__label_arity(L) != arity)
            interp__invalid(c, "type mismatch");
        interp__check_vals(c, interp__label_types(L), arity);
    }
    if (!interp__dead(c) && c->sp >= arity) {
        interp__emit_op(c, IOP_BR_TABLE);
        interp__emit_slot(c, idx.slot);
        interp__emit_u(c, n);
        size_t table = c->ncode;
        for (uint32_t i = 0; i <= n; i++)
            interp__emit_u(c, NO_PATCH);
        for (uint32_t i = 0; i <= n; i++) {
            struct ctl *L = interp__label(c, targets[i]);
            if (L != &c->ctl[0] && !interp__needs_moves(c, L, arity)) {
                interp__link_label(c, L, (uint32_t)(table + i));
            } else {
                /* A stub after the table moves the values, then jumps. */
                c->code[table + i] = (uint32_t)(c->ncode - (table + i));
                interp__emit_br(c, targets[i]);
            }
        }
    }
    interp__set_unreachable(c);
}

/* The end of a block's instructions: exactly its results must be on the stack. They stay
 * there (when the stack was polymorphic, only real entries are kept: the code is dead). */
static void check_end(struct comp *c, const struct ctl *t)
{
    uint32_t save = c->sp;
    interp__pop_vals(c, t->sig.r, t->sig.nr);
    if (c->sp != t->height)
        interp__invalid(c, "type mismatch");
    c->sp = save;
}

void interp__do_end(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    check_end(c, t);
    if (t->kind == CTL_IF) {
        if (t->sig.np != t->sig.nr)
            interp__invalid(c, "type mismatch");
        for (uint32_t i = 0; i < t->sig.np; i++)
            if (t->sig.p[i] != t->sig.r[i])
                interp__invalid(c, "type mismatch");
    }
    if (t->kind != CTL_FUNC && !interp__dead(c))
        interp__materialize(c, t->height);
    if (t->kind == CTL_FUNC) {
        interp__emit_return(c);
        c->nctl--;
        return;
    }
    if (t->else_patch != NO_PATCH)
        interp__resolve_chain(c, t->else_patch, (uint32_t)c->ncode);
    interp__resolve_chain(c, t->patch, (uint32_t)c->ncode);
    uint32_t h = t->height;
    struct sig s = t->sig;
    c->nctl--;
    c->sp = h;
    for (uint32_t i = 0; i < s.nr; i++)
        interp__push(c, (uint8_t)s.r[i], interp__canon(h + i));
    interp__forget_last(c);
}

void interp__do_else(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    if (t->kind != CTL_IF)
        interp__malformed(c, "else without if");
    check_end(c, t);
    if (!interp__dead(c)) {
        interp__materialize(c, t->height);
        interp__emit_op(c, IOP_BR);
        interp__emit_u(c, 0);
        interp__link_label(c, t, (uint32_t)c->ncode - 1);
    }
    if (t->else_patch != NO_PATCH)
        interp__resolve_chain(c, t->else_patch, (uint32_t)c->ncode);
    t->else_patch = NO_PATCH;
    t->kind = CTL_ELSE;
    t->unreachable = false;
    c->sp = t->height;
    for (uint32_t i = 0; i < t->sig.np; i++)
        interp__push(c, (uint8_t)t->sig.p[i], interp__canon(t->height + i));
    interp__forget_last(c);
}
