/* interp_compile.c: validates every function body with the spec's algorithm and, in the same
 * pass, compiles it to the register-slot internal code that interp.c runs. */
#include "config.h"

#include "interp.h"
#include "interp_ops.h"

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/*
 * Slots during compilation are encoded so that the final frame layout can be decided at the
 * end, when the number of constants and the maximum operand height are known:
 *   local l: l;  constant k: SLOT_CONST | k;  operand-stack height h: SLOT_STACK | h.
 * Every slot operand written to the code is recorded in a fixup list and rewritten by
 * finish_function() into the frame layout [locals | constants | operand stack].
 */
#define SLOT_CONST    0x40000000u
#define SLOT_STACK    0x80000000u
#define SLOT_FRAMETOP 0xffffffffu /* operand replaced by the frame size */
#define NO_PATCH      0xffffffffu
#define MAX_CONSTS    128 /* constants are copied into each frame at call time: keep it small */
#define MAX_LOCALS    (1u << 20)

#define T_UNKNOWN 0 /* the polymorphic stack's "any type" */

struct sig {
    uint32_t np, nr;
    const enum wasm_valtype *p, *r;
};

struct ent {
    uint8_t type;
    uint32_t slot;
};

enum ctl_kind { CTL_FUNC, CTL_BLOCK, CTL_LOOP, CTL_IF, CTL_ELSE };

struct ctl {
    enum ctl_kind kind;
    bool unreachable;
    bool dead_entry; /* the construct itself is in unreachable code: emit nothing */
    uint32_t height;
    struct sig sig;
    uint32_t loop_pos;   /* loops: where back-edges go */
    uint32_t patch;      /* chain of forward branch displacements to the end */
    uint32_t else_patch; /* ifs: the condition's jump to else/end */
};

struct comp {
    const struct wasm_module *m;
    struct wasm_error *err;
    uint32_t fidx;
    const uint8_t *body, *p, *end;
    jmp_buf fail;
    int rc; /* the error code when fail is taken */

    const int32_t *h;
    uint32_t *code;
    size_t ncode, capcode;
    uint32_t *fix;
    size_t nfix, capfix;

    struct ent *st;
    uint32_t sp, maxh;
    size_t capst;
    struct ctl *ctl;
    uint32_t nctl;
    size_t capctl;

    uint32_t *tg; /* br_table targets */
    size_t captg;

    uint64_t consts[MAX_CONSTS];
    uint32_t nconsts;

    uint32_t nlocals;
    enum wasm_valtype *ltypes;
    const struct wasm_functype *ft;
    struct interp_func *all; /* the module's compiled functions (for direct calls) */

    /* The last i32.add emitted, kept through a retarget of its result to a local, so that a
     * following compare-and-branch on its result can absorb it (a loop latch). Valid while
     * add_end == ncode and no label was bound since. */
    size_t add_start, add_end;

    /* Peephole state: the last value-producing instruction, valid while ncode == last_end. */
    size_t last_start, last_dst, last_end;
    int last_op;
    uint32_t last_a, last_b;
};

static const enum wasm_valtype one_type[256] = {
    [WASM_I32] = WASM_I32, [WASM_I64] = WASM_I64,         [WASM_F32] = WASM_F32,
    [WASM_F64] = WASM_F64, [WASM_FUNCREF] = WASM_FUNCREF, [WASM_EXTERNREF] = WASM_EXTERNREF,
};

static void fail(struct comp *c, int code, const char *msg) __attribute__((noreturn));
static void fail(struct comp *c, int code, const char *msg)
{
    wasm_error_set(c->err, code, "%s (function %u, offset 0x%zx)", msg,
                   c->fidx + c->m->nfunc_imports,
                   c->m->funcs[c->fidx].body_offset + (size_t)(c->p - c->body));
    c->rc = -code;
    longjmp(c->fail, 1);
}

static void invalid(struct comp *c, const char *msg) __attribute__((noreturn));
static void invalid(struct comp *c, const char *msg)
{
    fail(c, WASM_EINVALID, msg);
}

static void malformed(struct comp *c, const char *msg) __attribute__((noreturn));
static void malformed(struct comp *c, const char *msg)
{
    fail(c, WASM_EMALFORMED, msg);
}

static void *grow(struct comp *c, void *p, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elsize);
    if (!q)
        longjmp(c->fail, 2);
    *cap = n;
    return q;
}

/* ------------------------------------------------------------------ reading the body */

static uint8_t rd_u8(struct comp *c)
{
    if (c->p >= c->end)
        malformed(c, "unexpected end");
    return *c->p++;
}

static uint64_t rd_leb(struct comp *c, unsigned bits, bool sign)
{
    uint64_t r = 0;
    unsigned shift = 0, maxbytes = (bits + 6) / 7;
    uint8_t b;

    for (unsigned i = 0;; i++) {
        b = rd_u8(c);
        if (i == maxbytes - 1) {
            unsigned used = bits - shift;
            if (b & 0x80)
                malformed(c, "integer representation too long");
            if (used < 7) {
                if (!sign) {
                    if (b >> used)
                        malformed(c, "integer too large");
                } else {
                    uint8_t mask = (uint8_t)((0x7fu >> (used - 1)) << (used - 1)) & 0x7f;
                    if ((b & mask) != 0 && (b & mask) != mask)
                        malformed(c, "integer too large");
                }
            }
            r |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            break;
        }
        r |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (sign && shift < 64 && (b & 0x40))
        r |= ~0ull << shift;
    return r;
}

static uint32_t rd_u32(struct comp *c)
{
    return (uint32_t)rd_leb(c, 32, false);
}

static uint8_t rd_valtype(struct comp *c)
{
    uint8_t b = rd_u8(c);
    if (b == WASM_I32 || b == WASM_I64 || b == WASM_F32 || b == WASM_F64 || b == WASM_FUNCREF ||
        b == WASM_EXTERNREF)
        return b;
    malformed(c, "malformed value type");
}

static uint8_t rd_zero(struct comp *c)
{
    uint8_t b = rd_u8(c);
    if (b != 0)
        malformed(c, "zero byte expected");
    return b;
}

static struct sig rd_blocktype(struct comp *c)
{
    struct sig s = {0, 0, NULL, NULL};
    if (c->p >= c->end)
        malformed(c, "unexpected end");
    uint8_t b = *c->p;
    if (b == 0x40) {
        c->p++;
        return s;
    }
    if (b == WASM_I32 || b == WASM_I64 || b == WASM_F32 || b == WASM_F64 || b == WASM_FUNCREF ||
        b == WASM_EXTERNREF) {
        c->p++;
        s.nr = 1;
        s.r = &one_type[b];
        return s;
    }
    int64_t idx = (int64_t)rd_leb(c, 33, true);
    if (idx < 0)
        malformed(c, "malformed value type");
    if ((uint64_t)idx >= c->m->ntypes)
        invalid(c, "unknown type");
    const struct wasm_functype *ft = &c->m->types[idx].ft;
    s.np = ft->nparams;
    s.nr = ft->nresults;
    s.p = ft->params;
    s.r = ft->results;
    return s;
}

/* ------------------------------------------------------------------ emitting code */

static bool dead(const struct comp *c)
{
    const struct ctl *t = &c->ctl[c->nctl - 1];
    return t->unreachable || t->dead_entry;
}

static void emit_u(struct comp *c, uint32_t v)
{
    c->code = grow(c, c->code, &c->capcode, c->ncode + 1, sizeof *c->code);
    c->code[c->ncode++] = v;
}

static void emit_op(struct comp *c, enum interp_op op)
{
    emit_u(c, (uint32_t)c->h[op]);
}

static void emit_slot(struct comp *c, uint32_t slot)
{
    if (slot & (SLOT_CONST | SLOT_STACK)) {
        c->fix = grow(c, c->fix, &c->capfix, c->nfix + 1, sizeof *c->fix);
        c->fix[c->nfix++] = (uint32_t)c->ncode;
    }
    emit_u(c, slot);
}

static void emit_ptr(struct comp *c, const void *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p;
    emit_u(c, (uint32_t)v);
    emit_u(c, (uint32_t)(v >> 32));
}

static void forget_last(struct comp *c)
{
    c->last_end = SIZE_MAX;
}

static bool last_valid(const struct comp *c)
{
    return c->last_end == c->ncode;
}

static void note_result(struct comp *c, size_t start, size_t dstpos, int op, uint32_t a, uint32_t b)
{
    c->last_start = start;
    c->last_dst = dstpos;
    c->last_end = c->ncode;
    c->last_op = op;
    c->last_a = a;
    c->last_b = b;
}

/* Remove the last instruction (its fixups too), for fusing it into the next one. */
static void rewind_last(struct comp *c)
{
    c->ncode = c->last_start;
    while (c->nfix && c->fix[c->nfix - 1] >= c->ncode)
        c->nfix--;
    forget_last(c);
}

/* Make the last instruction write local (or result) slot l instead of its stack slot. */
static void retarget_last(struct comp *c, uint32_t l)
{
    c->code[c->last_dst] = l;
    /* Drop the operand's fixup, keeping the list sorted (rewind_last relies on it). */
    for (size_t i = c->nfix; i-- > 0;) {
        if (c->fix[i] == c->last_dst) {
            memmove(&c->fix[i], &c->fix[i + 1], (c->nfix - i - 1) * sizeof *c->fix);
            c->nfix--;
            break;
        }
    }
    forget_last(c);
}

/* ------------------------------------------------------------------ the operand stack */

static uint32_t canon(uint32_t h)
{
    return SLOT_STACK | h;
}

static void push(struct comp *c, uint8_t type, uint32_t slot)
{
    c->st = grow(c, c->st, &c->capst, c->sp + 1, sizeof *c->st);
    c->st[c->sp].type = type;
    c->st[c->sp].slot = slot;
    c->sp++;
    if (c->sp > c->maxh)
        c->maxh = c->sp;
}

/* Push a value computed into its canonical slot; returns that slot. */
static uint32_t push_new(struct comp *c, uint8_t type)
{
    uint32_t s = canon(c->sp);
    push(c, type, s);
    return s;
}

static struct ent pop_any(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    if (c->sp == t->height) {
        if (t->unreachable)
            return (struct ent){T_UNKNOWN, canon(c->sp)};
        invalid(c, "type mismatch");
    }
    return c->st[--c->sp];
}

static struct ent pop_t(struct comp *c, uint8_t want)
{
    struct ent e = pop_any(c);
    if (e.type != want && e.type != T_UNKNOWN && want != T_UNKNOWN)
        invalid(c, "type mismatch");
    return e;
}

static bool is_ref(uint8_t t)
{
    return t == WASM_FUNCREF || t == WASM_EXTERNREF;
}

/* Pop n values of the given types (last type on top). */
static void pop_vals(struct comp *c, const enum wasm_valtype *types, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        pop_t(c, (uint8_t)types[i]);
}

/* br_if: pop the label's values and push them back with the label's types (on a
 * polymorphic stack this turns unknown values into typed ones, as the spec requires). */
static void pop_repush(struct comp *c, const enum wasm_valtype *types, uint32_t n)
{
    uint32_t save = c->sp;
    pop_vals(c, types, n);
    uint32_t h = c->sp;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t slot = h + i < save ? c->st[h + i].slot : canon(h + i);
        push(c, (uint8_t)types[i], slot);
    }
}

/* Check the top n values against types without popping them (used by br_table). */
static void check_vals(struct comp *c, const enum wasm_valtype *types, uint32_t n)
{
    uint32_t save = c->sp;
    pop_vals(c, types, n);
    c->sp = save;
}

static void emit_copy(struct comp *c, uint32_t dst, uint32_t src)
{
    if (dst == src || dead(c))
        return;
    emit_op(c, IOP_COPY);
    emit_slot(c, dst);
    emit_slot(c, src);
}

/* Make stack entries [from, sp) live in their own canonical slots. */
static void materialize(struct comp *c, uint32_t from)
{
    for (uint32_t i = from; i < c->sp; i++) {
        if (c->st[i].slot != canon(i)) {
            emit_copy(c, canon(i), c->st[i].slot);
            c->st[i].slot = canon(i);
        }
    }
}

/* Before local l changes, copy out every pending read of it (except entry `except`). */
static bool local_referenced(struct comp *c, uint32_t l, uint32_t except)
{
    for (uint32_t i = 0; i < c->sp; i++)
        if (i != except && c->st[i].slot == l)
            return true;
    return false;
}

static void spill_local(struct comp *c, uint32_t l, uint32_t except)
{
    for (uint32_t i = 0; i < c->sp; i++) {
        if (i != except && c->st[i].slot == l) {
            emit_copy(c, canon(i), l);
            c->st[i].slot = canon(i);
        }
    }
}

static uint32_t intern_const(struct comp *c, uint64_t bits)
{
    for (uint32_t k = 0; k < c->nconsts; k++)
        if (c->consts[k] == bits)
            return SLOT_CONST | k;
    if (c->nconsts == MAX_CONSTS)
        return NO_PATCH;
    c->consts[c->nconsts] = bits;
    return SLOT_CONST | c->nconsts++;
}

static void push_const(struct comp *c, uint8_t type, uint64_t bits)
{
    uint32_t s = intern_const(c, bits);
    if (s != NO_PATCH) {
        push(c, type, s);
        return;
    }
    uint32_t d = push_new(c, type);
    if (dead(c))
        return;
    emit_op(c, IOP_CONST);
    emit_slot(c, d);
    emit_u(c, (uint32_t)bits);
    emit_u(c, (uint32_t)(bits >> 32));
}

/* ------------------------------------------------------------------ control */

static struct ctl *push_ctl(struct comp *c, enum ctl_kind kind, struct sig s)
{
    bool was_dead = c->nctl ? dead(c) : false;
    c->ctl = grow(c, c->ctl, &c->capctl, c->nctl + 1, sizeof *c->ctl);
    struct ctl *t = &c->ctl[c->nctl++];
    t->kind = kind;
    t->unreachable = false;
    t->dead_entry = was_dead;
    t->height = c->sp - s.np;
    t->sig = s;
    t->loop_pos = 0;
    t->patch = NO_PATCH;
    t->else_patch = NO_PATCH;
    forget_last(c);
    c->add_end = SIZE_MAX;
    return t;
}

static void set_unreachable(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    c->sp = t->height;
    t->unreachable = true;
    forget_last(c);
}

static struct ctl *label(struct comp *c, uint32_t depth)
{
    if (depth >= c->nctl)
        invalid(c, "unknown label");
    return &c->ctl[c->nctl - 1 - depth];
}

static uint32_t label_arity(const struct ctl *L)
{
    return L->kind == CTL_LOOP ? L->sig.np : L->sig.nr;
}

static const enum wasm_valtype *label_types(const struct ctl *L)
{
    return L->kind == CTL_LOOP ? L->sig.p : L->sig.r;
}

/* Point the displacement at code[pos] at label L (now for loops, at L's end otherwise). */
static void link_label(struct comp *c, struct ctl *L, uint32_t pos)
{
    if (L->kind == CTL_LOOP) {
        c->code[pos] = (uint32_t)((int32_t)L->loop_pos - (int32_t)pos);
    } else {
        c->code[pos] = L->patch;
        L->patch = pos;
    }
}

static void resolve_chain(struct comp *c, uint32_t chain, uint32_t target)
{
    c->add_end = SIZE_MAX; /* a label here: nothing before it may be fused with what follows */
    while (chain != NO_PATCH) {
        uint32_t next = c->code[chain];
        c->code[chain] = (uint32_t)((int32_t)target - (int32_t)chain);
        chain = next;
    }
}

/* Do the top n entries already sit where label L expects its values? */
static bool needs_moves(struct comp *c, const struct ctl *L, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (c->st[c->sp - n + i].slot != canon(L->height + i))
            return true;
    return false;
}

static void emit_moves(struct comp *c, const struct ctl *L, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        emit_copy(c, canon(L->height + i), c->st[c->sp - n + i].slot);
}

static void emit_return(struct comp *c)
{
    uint32_t n = c->ft->nresults;
    if (dead(c))
        return;
    if (n == 1) {
        uint32_t src = c->st[c->sp - 1].slot;
        if (last_valid(c) && src == canon(c->sp - 1) && c->code[c->last_dst] == src) {
            /* the value was just computed: compute it straight into the result slot */
            retarget_last(c, 0);
        } else {
            emit_copy(c, 0, src);
        }
    } else if (n > 1) {
        /* Through the canonical slots, so that no result overwrites a local another one
         * still reads; the entries stay as they are (a br_if falls through with them). */
        for (uint32_t i = 0; i < n; i++)
            emit_copy(c, canon(c->sp - n + i), c->st[c->sp - n + i].slot);
        for (uint32_t i = 0; i < n; i++)
            emit_copy(c, i, canon(c->sp - n + i));
    }
    emit_op(c, IOP_RET);
}

/* Unconditional branch to label depth d with its values on top of the stack. */
static void emit_br(struct comp *c, uint32_t d)
{
    struct ctl *L = label(c, d);
    if (dead(c))
        return;
    if (L == &c->ctl[0]) {
        emit_return(c);
        return;
    }
    emit_moves(c, L, label_arity(L));
    emit_op(c, IOP_BR);
    emit_u(c, 0);
    link_label(c, L, (uint32_t)c->ncode - 1);
}

static bool is_i32_cmp(int op)
{
    return op >= IOP_I32_EQ && op <= IOP_I32_GE_U;
}

/* Emit a jump taken when cond is true (when_true) or false; the condition was just popped.
 * Fuses a preceding i32 comparison or eqz that produced it. Returns the displacement's
 * position for the caller to link. */
static uint32_t emit_cond_jump(struct comp *c, struct ent cond, bool when_true)
{
    static const enum interp_op inverse[] = {
        [IOP_I32_EQ - IOP_I32_EQ] = IOP_BR_NE,     [IOP_I32_NE - IOP_I32_EQ] = IOP_BR_EQ,
        [IOP_I32_LT_S - IOP_I32_EQ] = IOP_BR_GE_S, [IOP_I32_LT_U - IOP_I32_EQ] = IOP_BR_GE_U,
        [IOP_I32_GT_S - IOP_I32_EQ] = IOP_BR_LE_S, [IOP_I32_GT_U - IOP_I32_EQ] = IOP_BR_LE_U,
        [IOP_I32_LE_S - IOP_I32_EQ] = IOP_BR_GT_S, [IOP_I32_LE_U - IOP_I32_EQ] = IOP_BR_GT_U,
        [IOP_I32_GE_S - IOP_I32_EQ] = IOP_BR_LT_S, [IOP_I32_GE_U - IOP_I32_EQ] = IOP_BR_LT_U,
    };
    bool fusable = last_valid(c) && cond.slot == canon(c->sp) && c->code[c->last_dst] == cond.slot;
    if (fusable && is_i32_cmp(c->last_op)) {
        int op = c->last_op;
        uint32_t a = c->last_a, b = c->last_b;
        rewind_last(c);
        enum interp_op j =
            when_true ? (enum interp_op)(IOP_BR_EQ + (op - IOP_I32_EQ)) : inverse[op - IOP_I32_EQ];
        if (c->add_end == c->ncode && c->code[c->add_start + 1] == a) {
            /* i32.add; [local.tee]; i32.<cmp>; br_if: one instruction */
            uint32_t d = c->code[c->add_start + 1], x = c->code[c->add_start + 2],
                     y = c->code[c->add_start + 3];
            c->ncode = c->add_start;
            while (c->nfix && c->fix[c->nfix - 1] >= c->ncode)
                c->nfix--;
            c->add_end = SIZE_MAX;
            emit_op(c, (enum interp_op)(IOP_ADD_BR_EQ + (j - IOP_BR_EQ)));
            emit_slot(c, d);
            emit_slot(c, x);
            emit_slot(c, y);
            emit_slot(c, b);
            emit_u(c, NO_PATCH);
            return (uint32_t)c->ncode - 1;
        }
        emit_op(c, j);
        emit_slot(c, a);
        emit_slot(c, b);
        emit_u(c, NO_PATCH);
        return (uint32_t)c->ncode - 1;
    }
    if (fusable && c->last_op == IOP_I32_EQZ) {
        uint32_t a = c->last_a;
        rewind_last(c);
        emit_op(c, when_true ? IOP_BR_UNLESS : IOP_BR_IF);
        emit_slot(c, a);
        emit_u(c, NO_PATCH);
        return (uint32_t)c->ncode - 1;
    }
    emit_op(c, when_true ? IOP_BR_IF : IOP_BR_UNLESS);
    emit_slot(c, cond.slot);
    emit_u(c, NO_PATCH);
    forget_last(c);
    return (uint32_t)c->ncode - 1;
}

static void do_br_if(struct comp *c, uint32_t d)
{
    struct ctl *L = label(c, d);
    struct ent cond = pop_t(c, WASM_I32);
    uint32_t n = label_arity(L);
    pop_repush(c, label_types(L), n);
    if (dead(c))
        return;
    if (c->sp < n) /* only possible on a polymorphic stack, which is dead code */
        return;
    if (L != &c->ctl[0] && !needs_moves(c, L, n)) {
        uint32_t pos = emit_cond_jump(c, cond, true);
        link_label(c, L, pos);
        return;
    }
    uint32_t skip = emit_cond_jump(c, cond, false);
    emit_br(c, d);
    resolve_chain(c, skip, (uint32_t)c->ncode);
    forget_last(c);
}

static void do_br_table(struct comp *c)
{
    uint32_t n = rd_u32(c);
    if ((size_t)(c->end - c->p) < n)
        malformed(c, "unexpected end");
    c->tg = grow(c, c->tg, &c->captg, (size_t)n + 1, sizeof *c->tg);
    uint32_t *targets = c->tg;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t d = rd_u32(c);
        if (d >= c->nctl)
            invalid(c, "unknown label");
        targets[i] = d;
    }
    struct ent idx = pop_t(c, WASM_I32);
    uint32_t arity = label_arity(label(c, targets[n]));
    for (uint32_t i = 0; i <= n; i++) {
        struct ctl *L = label(c, targets[i]);
        if (label_arity(L) != arity)
            invalid(c, "type mismatch");
        check_vals(c, label_types(L), arity);
    }
    if (!dead(c) && c->sp >= arity) {
        emit_op(c, IOP_BR_TABLE);
        emit_slot(c, idx.slot);
        emit_u(c, n);
        size_t table = c->ncode;
        for (uint32_t i = 0; i <= n; i++)
            emit_u(c, NO_PATCH);
        for (uint32_t i = 0; i <= n; i++) {
            struct ctl *L = label(c, targets[i]);
            if (L != &c->ctl[0] && !needs_moves(c, L, arity)) {
                link_label(c, L, (uint32_t)(table + i));
            } else {
                /* A stub after the table moves the values, then jumps. */
                c->code[table + i] = (uint32_t)(c->ncode - (table + i));
                emit_br(c, targets[i]);
            }
        }
    }
    set_unreachable(c);
}

/* ------------------------------------------------------------------ instructions */

static const struct wasm_functype *func_type(struct comp *c, uint32_t f)
{
    if (f >= c->m->nfuncs_total)
        invalid(c, "unknown function");
    return wasm_module_functype(c->m, f);
}

static void do_call_args(struct comp *c, const struct wasm_functype *ft, uint32_t *base)
{
    pop_vals(c, ft->params, ft->nparams);
    uint32_t h = c->sp;
    /* Arguments go to the canonical slots where the callee's frame starts. */
    if (!dead(c))
        for (uint32_t i = 0; i < ft->nparams; i++)
            emit_copy(c, canon(h + i), c->st[h + i].slot);
    *base = canon(h);
}

static void push_results(struct comp *c, const struct wasm_functype *ft)
{
    for (uint32_t i = 0; i < ft->nresults; i++)
        push_new(c, (uint8_t)ft->results[i]);
}

static void check_memory(struct comp *c)
{
    if (c->m->nmemories_total == 0)
        invalid(c, "unknown memory");
}

static uint32_t rd_memarg(struct comp *c, unsigned natural)
{
    uint32_t align = rd_u32(c);
    uint32_t offset = rd_u32(c);
    check_memory(c);
    if (align >= 32 || align > natural)
        invalid(c, "alignment must not be larger than natural");
    return offset;
}

static uint32_t table_index(struct comp *c, uint32_t t)
{
    if (t >= c->m->ntables_total)
        invalid(c, "unknown table");
    return t;
}

static void check_data(struct comp *c, uint32_t d)
{
    if (!c->m->has_data_count)
        malformed(c, "data count section required");
    if (d >= c->m->data_count)
        invalid(c, "unknown data segment");
}

static void check_elem(struct comp *c, uint32_t e)
{
    if (e >= c->m->nelems)
        invalid(c, "unknown elem segment");
}

/* One generic emitter for "dst = op(srcs)" with the peephole bookkeeping. */
static void emit_val_op(struct comp *c, enum interp_op op, uint32_t dst, const uint32_t *srcs,
                        unsigned n)
{
    if (dead(c))
        return;
    size_t start = c->ncode;
    emit_op(c, op);
    size_t dpos = c->ncode;
    emit_slot(c, dst);
    for (unsigned i = 0; i < n; i++)
        emit_slot(c, srcs[i]);
    note_result(c, start, dpos, op, n > 0 ? srcs[0] : 0, n > 1 ? srcs[1] : 0);
    if (op == IOP_I32_ADD) {
        c->add_start = start;
        c->add_end = c->ncode;
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
}

static void do_numeric(struct comp *c, const struct numinfo *ni)
{
    if (ni->kind == UN) {
        struct ent a = pop_t(c, ni->tin);
        uint32_t d = push_new(c, ni->tout);
        emit_val_op(c, ni->op, d, &a.slot, 1);
    } else {
        struct ent b = pop_t(c, ni->tin);
        struct ent a = pop_t(c, ni->tin);
        uint32_t d = push_new(c, ni->tout);
        uint32_t s[2] = {a.slot, b.slot};
        emit_val_op(c, ni->op, d, s, 2);
    }
}

static void do_local_set(struct comp *c, uint32_t l, bool tee)
{
    if (l >= c->nlocals)
        invalid(c, "unknown local");
    struct ent v = pop_t(c, (uint8_t)c->ltypes[l]);
    if (dead(c)) {
        if (tee)
            push(c, (uint8_t)c->ltypes[l], canon(c->sp));
        return;
    }
    /* The value was just computed into its canonical slot: have that instruction write the
     * local directly, unless older stack entries still need the local's old value. */
    if (last_valid(c) && v.slot == canon(c->sp) && c->code[c->last_dst] == v.slot &&
        !local_referenced(c, l, UINT32_MAX)) {
        retarget_last(c, l);
    } else {
        spill_local(c, l, UINT32_MAX);
        emit_copy(c, l, v.slot);
        forget_last(c);
    }
    if (tee)
        push(c, (uint8_t)c->ltypes[l], l);
}

/* Was the address a just computed by an i32.add that nothing else reads? Then the access
 * can do the (wrapping) addition itself. a was just popped: it sat at height c->sp. */
static bool fusable_add(struct comp *c, struct ent a)
{
    return last_valid(c) && c->last_op == IOP_I32_ADD && a.slot == canon(c->sp) &&
           c->code[c->last_dst] == a.slot;
}

static void do_load(struct comp *c, enum interp_op op, unsigned natural, uint8_t type)
{
    uint32_t off = rd_memarg(c, natural);
    struct ent a = pop_t(c, WASM_I32);
    bool fuse = fusable_add(c, a);
    uint32_t d = push_new(c, type);
    if (dead(c))
        return;
    if (fuse) {
        uint32_t x = c->last_a, y = c->last_b;
        rewind_last(c);
        size_t start = c->ncode;
        enum interp_op opx = (enum interp_op)(IOP_I32_LOAD_X + (op - IOP_I32_LOAD));
        emit_op(c, opx);
        emit_slot(c, d);
        emit_slot(c, x);
        emit_slot(c, y);
        emit_u(c, off);
        note_result(c, start, start + 1, opx, x, y);
        return;
    }
    size_t start = c->ncode;
    emit_op(c, op);
    size_t dpos = c->ncode;
    emit_slot(c, d);
    emit_slot(c, a.slot);
    emit_u(c, off);
    note_result(c, start, dpos, op, a.slot, 0);
}

static void do_store(struct comp *c, enum interp_op op, unsigned natural, uint8_t type)
{
    uint32_t off = rd_memarg(c, natural);
    struct ent v = pop_t(c, type);
    struct ent a = pop_t(c, WASM_I32);
    if (dead(c))
        return;
    if (fusable_add(c, a) && v.slot != a.slot) {
        uint32_t x = c->last_a, y = c->last_b;
        rewind_last(c);
        emit_op(c, (enum interp_op)(IOP_I32_STORE_X + (op - IOP_I32_STORE)));
        emit_slot(c, x);
        emit_slot(c, y);
        emit_slot(c, v.slot);
        emit_u(c, off);
        forget_last(c);
        return;
    }
    emit_op(c, op);
    emit_slot(c, a.slot);
    emit_slot(c, v.slot);
    emit_u(c, off);
    forget_last(c);
}

static void do_prefix_fc(struct comp *c)
{
    uint32_t sub = rd_u32(c);
    if (sub < 8) {
        do_numeric(c, &sattab[sub]);
        return;
    }
    struct ent a, b, n;
    uint32_t x, y, d;
    switch (sub) {
    case 8: /* memory.init */
        x = rd_u32(c);
        check_memory(c);
        rd_zero(c);
        check_data(c, x);
        n = pop_t(c, WASM_I32);
        b = pop_t(c, WASM_I32);
        a = pop_t(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_MEMORY_INIT);
            emit_slot(c, a.slot);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
            emit_u(c, x);
        }
        break;
    case 9: /* data.drop */
        x = rd_u32(c);
        check_data(c, x);
        if (!dead(c)) {
            emit_op(c, IOP_DATA_DROP);
            emit_u(c, x);
        }
        break;
    case 10: /* memory.copy */
        rd_zero(c);
        rd_zero(c);
        check_memory(c);
        n = pop_t(c, WASM_I32);
        b = pop_t(c, WASM_I32);
        a = pop_t(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_MEMORY_COPY);
            emit_slot(c, a.slot);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
        }
        break;
    case 11: /* memory.fill */
        rd_zero(c);
        check_memory(c);
        n = pop_t(c, WASM_I32);
        b = pop_t(c, WASM_I32);
        a = pop_t(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_MEMORY_FILL);
            emit_slot(c, a.slot);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
        }
        break;
    case 12: /* table.init elem table */
        x = rd_u32(c);
        y = table_index(c, rd_u32(c));
        check_elem(c, x);
        if (c->m->elems[x].type != c->m->tables[y].elem)
            invalid(c, "type mismatch");
        n = pop_t(c, WASM_I32);
        b = pop_t(c, WASM_I32);
        a = pop_t(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_TABLE_INIT);
            emit_slot(c, a.slot);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
            emit_u(c, y);
            emit_u(c, x);
        }
        break;
    case 13: /* elem.drop */
        x = rd_u32(c);
        check_elem(c, x);
        if (!dead(c)) {
            emit_op(c, IOP_ELEM_DROP);
            emit_u(c, x);
        }
        break;
    case 14: /* table.copy dst src */
        x = table_index(c, rd_u32(c));
        y = table_index(c, rd_u32(c));
        if (c->m->tables[x].elem != c->m->tables[y].elem)
            invalid(c, "type mismatch");
        n = pop_t(c, WASM_I32);
        b = pop_t(c, WASM_I32);
        a = pop_t(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_TABLE_COPY);
            emit_slot(c, a.slot);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
            emit_u(c, x);
            emit_u(c, y);
        }
        break;
    case 15: /* table.grow */
        x = table_index(c, rd_u32(c));
        n = pop_t(c, WASM_I32);
        b = pop_t(c, (uint8_t)c->m->tables[x].elem);
        d = push_new(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_TABLE_GROW);
            emit_slot(c, d);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
            emit_u(c, x);
        }
        break;
    case 16: /* table.size */
        x = table_index(c, rd_u32(c));
        d = push_new(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_TABLE_SIZE);
            emit_slot(c, d);
            emit_u(c, x);
        }
        break;
    case 17: /* table.fill */
        x = table_index(c, rd_u32(c));
        n = pop_t(c, WASM_I32);
        b = pop_t(c, (uint8_t)c->m->tables[x].elem);
        a = pop_t(c, WASM_I32);
        if (!dead(c)) {
            emit_op(c, IOP_TABLE_FILL);
            emit_slot(c, a.slot);
            emit_slot(c, b.slot);
            emit_slot(c, n.slot);
            emit_u(c, x);
        }
        break;
    default:
        malformed(c, "illegal opcode");
    }
    forget_last(c);
}

/* The 0xFE (threads) instructions, compiled with the helpers above. */
#include "interp_atomic_compile.h"

/* The end of a block's instructions: exactly its results must be on the stack. They stay
 * there (when the stack was polymorphic, only real entries are kept: the code is dead). */
static void check_end(struct comp *c, const struct ctl *t)
{
    uint32_t save = c->sp;
    pop_vals(c, t->sig.r, t->sig.nr);
    if (c->sp != t->height)
        invalid(c, "type mismatch");
    c->sp = save;
}

static void do_end(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    check_end(c, t);
    if (t->kind == CTL_IF) {
        if (t->sig.np != t->sig.nr)
            invalid(c, "type mismatch");
        for (uint32_t i = 0; i < t->sig.np; i++)
            if (t->sig.p[i] != t->sig.r[i])
                invalid(c, "type mismatch");
    }
    if (t->kind != CTL_FUNC && !dead(c))
        materialize(c, t->height);
    if (t->kind == CTL_FUNC) {
        emit_return(c);
        c->nctl--;
        return;
    }
    if (t->else_patch != NO_PATCH)
        resolve_chain(c, t->else_patch, (uint32_t)c->ncode);
    resolve_chain(c, t->patch, (uint32_t)c->ncode);
    uint32_t h = t->height;
    struct sig s = t->sig;
    c->nctl--;
    c->sp = h;
    for (uint32_t i = 0; i < s.nr; i++)
        push(c, (uint8_t)s.r[i], canon(h + i));
    forget_last(c);
}

static void do_else(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    if (t->kind != CTL_IF)
        malformed(c, "else without if");
    check_end(c, t);
    if (!dead(c)) {
        materialize(c, t->height);
        emit_op(c, IOP_BR);
        emit_u(c, 0);
        link_label(c, t, (uint32_t)c->ncode - 1);
    }
    if (t->else_patch != NO_PATCH)
        resolve_chain(c, t->else_patch, (uint32_t)c->ncode);
    t->else_patch = NO_PATCH;
    t->kind = CTL_ELSE;
    t->unreachable = false;
    c->sp = t->height;
    for (uint32_t i = 0; i < t->sig.np; i++)
        push(c, (uint8_t)t->sig.p[i], canon(t->height + i));
    forget_last(c);
}

static void compile_body(struct comp *c)
{
    const struct wasm_module *m = c->m;
    struct sig fs = {0, c->ft->nresults, NULL, c->ft->results};
    push_ctl(c, CTL_FUNC, fs);

    while (c->nctl > 0) {
        uint8_t opc = rd_u8(c);
        struct ent a, b, e;
        uint32_t x, y, d;
        struct sig s;
        const struct wasm_functype *ft;

        switch (opc) {
        case 0x00: /* unreachable */
            if (!dead(c))
                emit_op(c, IOP_UNREACHABLE);
            set_unreachable(c);
            break;
        case 0x01: /* nop */
            break;
        case 0x02: /* block */
        case 0x03: /* loop */
            s = rd_blocktype(c);
            pop_repush(c, s.p, s.np);
            if (!dead(c))
                materialize(c, 0);
            {
                struct ctl *t = push_ctl(c, opc == 0x02 ? CTL_BLOCK : CTL_LOOP, s);
                /* No instruction marks the loop: its back-edges poll for interruption. */
                if (opc == 0x03)
                    t->loop_pos = (uint32_t)c->ncode;
            }
            break;
        case 0x04: /* if */
            s = rd_blocktype(c);
            e = pop_t(c, WASM_I32);
            pop_repush(c, s.p, s.np);
            {
                bool was_dead = dead(c);
                uint32_t pos = NO_PATCH;
                if (!was_dead) {
                    bool need = false;
                    for (uint32_t i = 0; i < c->sp; i++)
                        need |= c->st[i].slot != canon(i);
                    if (need) {
                        /* copies would separate a compare from the jump: keep the simple
                         * form, the condition still sits in its own slot */
                        materialize(c, 0);
                        forget_last(c);
                    }
                    pos = emit_cond_jump(c, e, false);
                }
                struct ctl *t = push_ctl(c, CTL_IF, s);
                t->else_patch = pos;
            }
            break;
        case 0x05:
            do_else(c);
            break;
        case 0x0b:
            do_end(c);
            break;
        case 0x0c: /* br */
            x = rd_u32(c);
            {
                struct ctl *L = label(c, x);
                check_vals(c, label_types(L), label_arity(L));
                emit_br(c, x);
            }
            set_unreachable(c);
            break;
        case 0x0d:
            do_br_if(c, rd_u32(c));
            break;
        case 0x0e:
            do_br_table(c);
            break;
        case 0x0f: /* return */
            check_vals(c, c->ft->results, c->ft->nresults);
            emit_return(c);
            set_unreachable(c);
            break;
        case 0x10: /* call */
            x = rd_u32(c);
            ft = func_type(c, x);
            do_call_args(c, ft, &d);
            if (!dead(c)) {
                if (x >= m->nfunc_imports) {
                    emit_op(c, IOP_CALL);
                    emit_slot(c, d);
                    emit_ptr(c, &c->all[x - m->nfunc_imports]);
                } else {
                    emit_op(c, IOP_CALL_IMPORT);
                    emit_slot(c, d);
                    emit_u(c, x);
                    emit_slot(c, SLOT_FRAMETOP);
                }
            }
            push_results(c, ft);
            forget_last(c);
            break;
        case 0x11: /* call_indirect */
            y = rd_u32(c);
            x = rd_u32(c);
            table_index(c, x);
            if (y >= m->ntypes)
                invalid(c, "unknown type");
            if (m->tables[x].elem != WASM_FUNCREF)
                invalid(c, "type mismatch");
            ft = &m->types[y].ft;
            e = pop_t(c, WASM_I32);
            do_call_args(c, ft, &d);
            if (!dead(c)) {
                emit_op(c, IOP_CALL_INDIRECT);
                emit_slot(c, d);
                emit_slot(c, e.slot);
                emit_u(c, x);
                emit_u(c, y);
                emit_slot(c, SLOT_FRAMETOP);
            }
            push_results(c, ft);
            forget_last(c);
            break;
        case 0x1a: /* drop */
            pop_any(c);
            break;
        case 0x1b: /* select */
        case 0x1c: /* select t */
            if (opc == 0x1c) {
                if (rd_u32(c) != 1)
                    invalid(c, "invalid result arity");
                x = rd_valtype(c);
            }
            e = pop_t(c, WASM_I32);
            if (opc == 0x1c) {
                b = pop_t(c, (uint8_t)x);
                a = pop_t(c, (uint8_t)x);
            } else {
                b = pop_any(c);
                a = pop_any(c);
                if (is_ref(a.type) || is_ref(b.type))
                    invalid(c, "type mismatch");
                if (a.type != b.type && a.type != T_UNKNOWN && b.type != T_UNKNOWN)
                    invalid(c, "type mismatch");
                x = a.type != T_UNKNOWN ? a.type : b.type;
            }
            d = push_new(c, (uint8_t)x);
            {
                uint32_t srcs[3] = {a.slot, b.slot, e.slot};
                emit_val_op(c, IOP_SELECT, d, srcs, 3);
            }
            break;
        case 0x20: /* local.get */
            x = rd_u32(c);
            if (x >= c->nlocals)
                invalid(c, "unknown local");
            push(c, (uint8_t)c->ltypes[x], x);
            break;
        case 0x21:
        case 0x22:
            do_local_set(c, rd_u32(c), opc == 0x22);
            break;
        case 0x23: /* global.get */
            x = rd_u32(c);
            if (x >= m->nglobals_total)
                invalid(c, "unknown global");
            d = push_new(c, (uint8_t)m->global_types[x].type);
            if (!dead(c)) {
                size_t start = c->ncode;
                emit_op(c, IOP_GLOBAL_GET);
                emit_slot(c, d);
                emit_u(c, x);
                note_result(c, start, start + 1, IOP_GLOBAL_GET, 0, 0);
            }
            break;
        case 0x24: /* global.set */
            x = rd_u32(c);
            if (x >= m->nglobals_total)
                invalid(c, "unknown global");
            if (!m->global_types[x].mutable_)
                invalid(c, "global is immutable");
            a = pop_t(c, (uint8_t)m->global_types[x].type);
            if (!dead(c)) {
                emit_op(c, IOP_GLOBAL_SET);
                emit_u(c, x);
                emit_slot(c, a.slot);
            }
            forget_last(c);
            break;
        case 0x25: /* table.get */
            x = table_index(c, rd_u32(c));
            a = pop_t(c, WASM_I32);
            d = push_new(c, (uint8_t)m->tables[x].elem);
            if (!dead(c)) {
                emit_op(c, IOP_TABLE_GET);
                emit_slot(c, d);
                emit_slot(c, a.slot);
                emit_u(c, x);
            }
            forget_last(c);
            break;
        case 0x26: /* table.set */
            x = table_index(c, rd_u32(c));
            b = pop_t(c, (uint8_t)m->tables[x].elem);
            a = pop_t(c, WASM_I32);
            if (!dead(c)) {
                emit_op(c, IOP_TABLE_SET);
                emit_slot(c, a.slot);
                emit_slot(c, b.slot);
                emit_u(c, x);
            }
            forget_last(c);
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
            rd_zero(c);
            check_memory(c);
            d = push_new(c, WASM_I32);
            if (!dead(c)) {
                emit_op(c, IOP_MEMORY_SIZE);
                emit_slot(c, d);
            }
            forget_last(c);
            break;
        case 0x40: /* memory.grow */
            rd_zero(c);
            check_memory(c);
            a = pop_t(c, WASM_I32);
            d = push_new(c, WASM_I32);
            if (!dead(c)) {
                emit_op(c, IOP_MEMORY_GROW);
                emit_slot(c, d);
                emit_slot(c, a.slot);
            }
            forget_last(c);
            break;
        case 0x41:
            push_const(c, WASM_I32, (uint32_t)(int32_t)rd_leb(c, 32, true));
            break;
        case 0x42:
            push_const(c, WASM_I64, rd_leb(c, 64, true));
            break;
        case 0x43:
        case 0x44: {
            unsigned nb = opc == 0x43 ? 4 : 8;
            uint64_t v = 0;
            if ((size_t)(c->end - c->p) < nb)
                malformed(c, "unexpected end");
            for (unsigned i = 0; i < nb; i++)
                v |= (uint64_t)c->p[i] << (8 * i);
            c->p += nb;
            push_const(c, opc == 0x43 ? WASM_F32 : WASM_F64, v);
            break;
        }
        case 0xbc: /* i32.reinterpret_f32: the cell's bits already are the result */
        case 0xbd:
        case 0xbe:
        case 0xbf: {
            static const uint8_t from[4] = {WASM_F32, WASM_F64, WASM_I32, WASM_I64};
            static const uint8_t to[4] = {WASM_I32, WASM_I64, WASM_F32, WASM_F64};
            a = pop_t(c, from[opc - 0xbc]);
            push(c, to[opc - 0xbc], a.slot);
            break;
        }
        case 0xd0: /* ref.null */
            x = rd_u8(c);
            if (x != WASM_FUNCREF && x != WASM_EXTERNREF)
                malformed(c, "malformed reference type");
            push_const(c, (uint8_t)x, 0);
            break;
        case 0xd1: /* ref.is_null */
            a = pop_any(c);
            if (!is_ref(a.type) && a.type != T_UNKNOWN)
                invalid(c, "type mismatch");
            d = push_new(c, WASM_I32);
            emit_val_op(c, IOP_I64_EQZ, d, &a.slot, 1);
            forget_last(c);
            break;
        case 0xd2: /* ref.func */
            x = rd_u32(c);
            func_type(c, x);
            if (!m->declared_funcs || !(m->declared_funcs[x / 8] & (1u << (x % 8))))
                invalid(c, "undeclared function reference");
            d = push_new(c, WASM_FUNCREF);
            if (!dead(c)) {
                emit_op(c, IOP_REF_FUNC);
                emit_slot(c, d);
                emit_u(c, x);
            }
            forget_last(c);
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
            malformed(c, "illegal opcode");
        }
    }
    if (c->p != c->end)
        malformed(c, "section size mismatch");
}

/* Rewrite encoded slots into the frame layout [locals | constants | operand stack]. */
static void finish_function(struct comp *c, struct interp_func *f)
{
    uint32_t cbase = c->nlocals, sbase = c->nlocals + c->nconsts;
    uint32_t frame = sbase + c->maxh;
    if (frame < c->ft->nresults)
        frame = c->ft->nresults;
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
    forget_last(c);

    c->rc = 0;
    if (setjmp(c->fail)) {
        rc = c->rc ? c->rc : -ENOMEM;
        goto fail;
    }
    if ((uint64_t)c->ft->nparams + def->nlocals > MAX_LOCALS)
        malformed(c, "too many locals");
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
