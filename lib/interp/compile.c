/* interp/compile.c: validates every function body with the spec's algorithm and, in the same
 * pass, compiles it instruction by instruction to the register-slot internal code that
 * interp/interp.c runs (the stacks and emission helpers are in interp/compile_stack.c, branches and
 * block ends in interp/compile_ctl.c, numeric and memory instructions in interp/compile_value.c).
 */
#include "config.h"

#include "interp/interp.h"
#include "interp/compile.h"
#include "interp/ops.h"

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ instructions */

static const struct wasmslot_functype *func_type(struct comp *c, uint32_t f)
{
    if (f >= c->m->nfuncs_total)
        interp__invalid(c, "unknown function");
    return wasmslot_module_functype(c->m, f);
}

static void do_call_args(struct comp *c, const struct wasmslot_functype *ft, uint32_t *base)
{
    interp__pop_vals(c, ft->params, ft->nparams);
    uint32_t h = c->sp;
    /* Arguments go to the canonical slots where the callee's frame starts. */
    if (!interp__dead(c))
        for (uint32_t i = 0; i < ft->nparams; i++)
            interp__emit_copy(c, interp__canon(h + i), c->st[h + i].slot);
    *base = interp__canon(h);
}

static void push_results(struct comp *c, const struct wasmslot_functype *ft)
{
    for (uint32_t i = 0; i < ft->nresults; i++)
        interp__push_new(c, (uint8_t)ft->results[i]);
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
        if (interp__fuse_store_bump(c, l))
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

/* The bulk memory and table instructions take three i32 operands (destination, source or
 * value, length): pop them and emit op with their slots. Returns false in dead code, where
 * nothing is emitted and the caller must not emit the op's immediates either. */
static bool emit_bulk3(struct comp *c, enum interp_op op)
{
    struct ent n = interp__pop_t(c, WASMSLOT_I32);
    struct ent b = interp__pop_t(c, WASMSLOT_I32);
    struct ent a = interp__pop_t(c, WASMSLOT_I32);

    if (interp__dead(c))
        return false;
    interp__emit_op(c, op);
    interp__emit_slot(c, a.slot);
    interp__emit_slot(c, b.slot);
    interp__emit_slot(c, n.slot);
    return true;
}

static void do_prefix_fc(struct comp *c)
{
    uint32_t sub = interp__rd_u32(c);
    if (sub < 8) {
        interp__do_saturating(c, sub);
        return;
    }
    struct ent a, b, n;
    uint32_t x, y, d;
    switch (sub) {
    case 8: /* memory.init */
        x = interp__rd_u32(c);
        interp__check_memory(c);
        interp__rd_zero(c);
        check_data(c, x);
        if (emit_bulk3(c, IOP_MEMORY_INIT)) {
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
        interp__check_memory(c);
        emit_bulk3(c, IOP_MEMORY_COPY);
        break;
    case 11: /* memory.fill */
        interp__rd_zero(c);
        interp__check_memory(c);
        emit_bulk3(c, IOP_MEMORY_FILL);
        break;
    case 12: /* table.init elem table */
        x = interp__rd_u32(c);
        y = table_index(c, interp__rd_u32(c));
        check_elem(c, x);
        if (c->m->elems[x].type != c->m->tables[y].elem)
            interp__invalid(c, "type mismatch");
        if (emit_bulk3(c, IOP_TABLE_INIT)) {
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
        if (emit_bulk3(c, IOP_TABLE_COPY)) {
            interp__emit_u(c, x);
            interp__emit_u(c, y);
        }
        break;
    case 15: /* table.grow */
        x = table_index(c, interp__rd_u32(c));
        n = interp__pop_t(c, WASMSLOT_I32);
        b = interp__pop_t(c, (uint8_t)c->m->tables[x].elem);
        d = interp__push_new(c, WASMSLOT_I32);
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
        d = interp__push_new(c, WASMSLOT_I32);
        if (!interp__dead(c)) {
            interp__emit_op(c, IOP_TABLE_SIZE);
            interp__emit_slot(c, d);
            interp__emit_u(c, x);
        }
        break;
    case 17: /* table.fill */
        x = table_index(c, interp__rd_u32(c));
        n = interp__pop_t(c, WASMSLOT_I32);
        b = interp__pop_t(c, (uint8_t)c->m->tables[x].elem);
        a = interp__pop_t(c, WASMSLOT_I32);
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
#include "interp/atomic_compile.h"

static void compile_body(struct comp *c)
{
    const struct wasmslot_module *m = c->m;
    struct sig fs = {0, c->ft->nresults, NULL, c->ft->results};
    interp__push_ctl(c, CTL_FUNC, fs);

    while (c->nctl > 0) {
        uint8_t opc = interp__rd_u8(c);
        struct ent a, b, e;
        uint32_t x, y, d;
        struct sig s;
        const struct wasmslot_functype *ft;

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
            e = interp__pop_t(c, WASMSLOT_I32);
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
            if (m->tables[x].elem != WASMSLOT_FUNCREF)
                interp__invalid(c, "type mismatch");
            ft = &m->types[y].ft;
            e = interp__pop_t(c, WASMSLOT_I32);
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
            e = interp__pop_t(c, WASMSLOT_I32);
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
                interp__emit_val_op(c, IOP_SELECT, d, srcs, 3);
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
            a = interp__pop_t(c, WASMSLOT_I32);
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
            a = interp__pop_t(c, WASMSLOT_I32);
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
        interp__do_load(c, IOP_##name, natural, WASMSLOT_##type);                                  \
        break;
            INTERP_LOADS(X)
#undef X
#define X(code, name, natural, type, ctype)                                                        \
    case code:                                                                                     \
        interp__do_store(c, IOP_##name, natural, WASMSLOT_##type);                                 \
        break;
            INTERP_STORES(X)
#undef X
        case 0x3f: /* memory.size */
            interp__rd_zero(c);
            interp__check_memory(c);
            d = interp__push_new(c, WASMSLOT_I32);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_MEMORY_SIZE);
                interp__emit_slot(c, d);
            }
            interp__forget_last(c);
            break;
        case 0x40: /* memory.grow */
            interp__rd_zero(c);
            interp__check_memory(c);
            a = interp__pop_t(c, WASMSLOT_I32);
            d = interp__push_new(c, WASMSLOT_I32);
            if (!interp__dead(c)) {
                interp__emit_op(c, IOP_MEMORY_GROW);
                interp__emit_slot(c, d);
                interp__emit_slot(c, a.slot);
            }
            interp__forget_last(c);
            break;
        case 0x41:
            interp__push_const(c, WASMSLOT_I32, (uint32_t)(int32_t)interp__rd_leb(c, 32, true));
            break;
        case 0x42:
            interp__push_const(c, WASMSLOT_I64, interp__rd_leb(c, 64, true));
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
            interp__push_const(c, opc == 0x43 ? WASMSLOT_F32 : WASMSLOT_F64, v);
            break;
        }
        case 0xbc: /* i32.reinterpret_f32: the cell's bits already are the result */
        case 0xbd:
        case 0xbe:
        case 0xbf: {
            static const uint8_t from[4] = {WASMSLOT_F32, WASMSLOT_F64, WASMSLOT_I32, WASMSLOT_I64};
            static const uint8_t to[4] = {WASMSLOT_I32, WASMSLOT_I64, WASMSLOT_F32, WASMSLOT_F64};
            a = interp__pop_t(c, from[opc - 0xbc]);
            interp__push(c, to[opc - 0xbc], a.slot);
            break;
        }
        case 0xd0: /* ref.null */
            x = interp__rd_u8(c);
            if (x != WASMSLOT_FUNCREF && x != WASMSLOT_EXTERNREF)
                interp__malformed(c, "malformed reference type");
            interp__push_const(c, (uint8_t)x, 0);
            break;
        case 0xd1: /* ref.is_null */
            a = interp__pop_any(c);
            if (!interp__is_ref(a.type) && a.type != T_UNKNOWN)
                interp__invalid(c, "type mismatch");
            d = interp__push_new(c, WASMSLOT_I32);
            interp__emit_val_op(c, IOP_I64_EQZ, d, &a.slot, 1);
            interp__forget_last(c);
            break;
        case 0xd2: /* ref.func */
            x = interp__rd_u32(c);
            func_type(c, x);
            if (!m->declared_funcs || !(m->declared_funcs[x / 8] & (1u << (x % 8))))
                interp__invalid(c, "undeclared function reference");
            d = interp__push_new(c, WASMSLOT_FUNCREF);
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
            if (interp__do_numeric_opcode(c, opc))
                break;
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
    const struct wasmslot_module *m = c->m;
    const struct wasmslot_func_def *def = &m->funcs[k];
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
    wasmslot_cell *consts = malloc(c->nconsts * sizeof *consts + 1);
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

int interp_compile_module(struct wasmslot_module *m, struct wasmslot_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct comp c;
    int rc = 0;

    pthread_once(&once, interp__init_value_tables);
    if (m->nfuncs == 0)
        return 0;
    struct interp_func *all = calloc(m->nfuncs, sizeof *all);
    if (!all)
        return wasmslot_error_set(err, ENOMEM, "out of memory");
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
            wasmslot_error_set(err, ENOMEM, "out of memory compiling function %u", c.fidx);
        interp_free_module(m);
    }
    return rc;
}

void interp_free_module(struct wasmslot_module *m)
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
