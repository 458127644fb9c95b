/* interp/compile_stack.c: the function-body compiler's machinery: reading the body, the
 * validator's operand and control stacks, and code emission with slot fixups and the peephole
 * state (see interp/compile.h); the instructions themselves are compiled in interp/compile.c. */
#include "config.h"

#include "interp/compile.h"

#include <stdlib.h>
#include <string.h>

static const enum wasmslot_valtype one_type[256] = {
    [WASMSLOT_I32] = WASMSLOT_I32,         [WASMSLOT_I64] = WASMSLOT_I64,
    [WASMSLOT_F32] = WASMSLOT_F32,         [WASMSLOT_F64] = WASMSLOT_F64,
    [WASMSLOT_FUNCREF] = WASMSLOT_FUNCREF, [WASMSLOT_EXTERNREF] = WASMSLOT_EXTERNREF,
};

static void fail(struct comp *c, int code, const char *msg) __attribute__((noreturn));
static void fail(struct comp *c, int code, const char *msg)
{
    wasmslot_error_set(c->err, code, "%s (function %u, offset 0x%zx)", msg,
                       c->fidx + c->m->nfunc_imports,
                       c->m->funcs[c->fidx].body_offset + (size_t)(c->p - c->body));
    c->rc = -code;
    longjmp(c->fail, 1);
}

void interp__invalid(struct comp *c, const char *msg)
{
    fail(c, WASMSLOT_EINVALID, msg);
}

void interp__malformed(struct comp *c, const char *msg)
{
    fail(c, WASMSLOT_EMALFORMED, msg);
}

void *interp__grow(struct comp *c, void *p, size_t *cap, size_t need, size_t elsize)
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

uint8_t interp__rd_u8(struct comp *c)
{
    if (c->p >= c->end)
        interp__malformed(c, "unexpected end");
    return *c->p++;
}

uint64_t interp__rd_leb(struct comp *c, unsigned bits, bool sign)
{
    uint64_t r = 0;
    unsigned shift = 0, maxbytes = (bits + 6) / 7;
    uint8_t b;

    for (unsigned i = 0;; i++) {
        b = interp__rd_u8(c);
        if (i == maxbytes - 1) {
            unsigned used = bits - shift;
            if (b & 0x80)
                interp__malformed(c, "integer representation too long");
            if (used < 7) {
                if (!sign) {
                    if (b >> used)
                        interp__malformed(c, "integer too large");
                } else {
                    uint8_t mask = (uint8_t)((0x7fu >> (used - 1)) << (used - 1)) & 0x7f;
                    if ((b & mask) != 0 && (b & mask) != mask)
                        interp__malformed(c, "integer too large");
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

uint32_t interp__rd_u32(struct comp *c)
{
    return (uint32_t)interp__rd_leb(c, 32, false);
}

uint8_t interp__rd_valtype(struct comp *c)
{
    uint8_t b = interp__rd_u8(c);
    if (b == WASMSLOT_I32 || b == WASMSLOT_I64 || b == WASMSLOT_F32 || b == WASMSLOT_F64 ||
        b == WASMSLOT_FUNCREF || b == WASMSLOT_EXTERNREF)
        return b;
    interp__malformed(c, "malformed value type");
}

uint8_t interp__rd_zero(struct comp *c)
{
    uint8_t b = interp__rd_u8(c);
    if (b != 0)
        interp__malformed(c, "zero byte expected");
    return b;
}

struct sig interp__rd_blocktype(struct comp *c)
{
    struct sig s = {0, 0, NULL, NULL};
    if (c->p >= c->end)
        interp__malformed(c, "unexpected end");
    uint8_t b = *c->p;
    if (b == 0x40) {
        c->p++;
        return s;
    }
    if (b == WASMSLOT_I32 || b == WASMSLOT_I64 || b == WASMSLOT_F32 || b == WASMSLOT_F64 ||
        b == WASMSLOT_FUNCREF || b == WASMSLOT_EXTERNREF) {
        c->p++;
        s.nr = 1;
        s.r = &one_type[b];
        return s;
    }
    int64_t idx = (int64_t)interp__rd_leb(c, 33, true);
    if (idx < 0)
        interp__malformed(c, "malformed value type");
    if ((uint64_t)idx >= c->m->ntypes)
        interp__invalid(c, "unknown type");
    const struct wasmslot_functype *ft = &c->m->types[idx].ft;
    s.np = ft->nparams;
    s.nr = ft->nresults;
    s.p = ft->params;
    s.r = ft->results;
    return s;
}

/* ------------------------------------------------------------------ emitting code */

bool interp__dead(const struct comp *c)
{
    const struct ctl *t = &c->ctl[c->nctl - 1];
    return t->unreachable || t->dead_entry;
}

void interp__emit_u(struct comp *c, uint32_t v)
{
    c->code = interp__grow(c, c->code, &c->capcode, c->ncode + 1, sizeof *c->code);
    c->code[c->ncode++] = v;
}

void interp__emit_op(struct comp *c, enum interp_op op)
{
    interp__emit_u(c, (uint32_t)c->h[op]);
}

void interp__emit_slot(struct comp *c, uint32_t slot)
{
    if (slot & (SLOT_CONST | SLOT_STACK)) {
        c->fix = interp__grow(c, c->fix, &c->capfix, c->nfix + 1, sizeof *c->fix);
        c->fix[c->nfix++] = (uint32_t)c->ncode;
    }
    interp__emit_u(c, slot);
}

void interp__emit_ptr(struct comp *c, const void *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p;
    interp__emit_u(c, (uint32_t)v);
    interp__emit_u(c, (uint32_t)(v >> 32));
}

void interp__forget_last(struct comp *c)
{
    c->last_end = SIZE_MAX;
    c->set_end = SIZE_MAX;
    c->st_end = SIZE_MAX;
}

bool interp__last_valid(const struct comp *c)
{
    return c->last_end == c->ncode;
}

void interp__note_result(struct comp *c, size_t start, size_t dstpos, int op, uint32_t a,
                         uint32_t b)
{
    c->last_start = start;
    c->last_dst = dstpos;
    c->last_end = c->ncode;
    c->last_op = op;
    c->last_a = a;
    c->last_b = b;
}

/* Remove the last instruction (its fixups too), for fusing it into the next one. */
void interp__rewind_last(struct comp *c)
{
    c->ncode = c->last_start;
    while (c->nfix && c->fix[c->nfix - 1] >= c->ncode)
        c->nfix--;
    interp__forget_last(c);
}

/* Make the last instruction write local (or result) slot l instead of its stack slot. */
void interp__retarget_last(struct comp *c, uint32_t l)
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
    interp__forget_last(c);
}

/* ------------------------------------------------------------------ the operand stack */

uint32_t interp__canon(uint32_t h)
{
    return SLOT_STACK | h;
}

void interp__push(struct comp *c, uint8_t type, uint32_t slot)
{
    c->st = interp__grow(c, c->st, &c->capst, c->sp + 1, sizeof *c->st);
    c->st[c->sp].type = type;
    c->st[c->sp].slot = slot;
    c->sp++;
    if (c->sp > c->maxh)
        c->maxh = c->sp;
}

/* Push a value computed into its canonical slot; returns that slot. */
uint32_t interp__push_new(struct comp *c, uint8_t type)
{
    uint32_t s = interp__canon(c->sp);
    interp__push(c, type, s);
    return s;
}

struct ent interp__pop_any(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    if (c->sp == t->height) {
        if (t->unreachable)
            return (struct ent){T_UNKNOWN, interp__canon(c->sp)};
        interp__invalid(c, "type mismatch");
    }
    return c->st[--c->sp];
}

struct ent interp__pop_t(struct comp *c, uint8_t want)
{
    struct ent e = interp__pop_any(c);
    if (e.type != want && e.type != T_UNKNOWN && want != T_UNKNOWN)
        interp__invalid(c, "type mismatch");
    return e;
}

bool interp__is_ref(uint8_t t)
{
    return t == WASMSLOT_FUNCREF || t == WASMSLOT_EXTERNREF;
}

/* Pop n values of the given types (last type on top). */
void interp__pop_vals(struct comp *c, const enum wasmslot_valtype *types, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        interp__pop_t(c, (uint8_t)types[i]);
}

/* br_if: pop the label's values and push them back with the label's types (on a
 * polymorphic stack this turns unknown values into typed ones, as the spec requires). */
void interp__pop_repush(struct comp *c, const enum wasmslot_valtype *types, uint32_t n)
{
    uint32_t save = c->sp;
    interp__pop_vals(c, types, n);
    uint32_t h = c->sp;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t slot = h + i < save ? c->st[h + i].slot : interp__canon(h + i);
        interp__push(c, (uint8_t)types[i], slot);
    }
}

/* Check the top n values against types without popping them (used by br_table). */
void interp__check_vals(struct comp *c, const enum wasmslot_valtype *types, uint32_t n)
{
    uint32_t save = c->sp;
    interp__pop_vals(c, types, n);
    c->sp = save;
}

void interp__emit_copy(struct comp *c, uint32_t dst, uint32_t src)
{
    if (dst == src || interp__dead(c))
        return;
    if (interp__is_const(src)) {
        /* An immediate instead of the constant's slot: fewer constants to copy per call. */
        uint64_t bits = interp__const_bits(c, src);
        interp__emit_op(c, IOP_CONST);
        interp__emit_slot(c, dst);
        interp__emit_u(c, (uint32_t)bits);
        interp__emit_u(c, (uint32_t)(bits >> 32));
        return;
    }
    interp__emit_op(c, IOP_COPY);
    interp__emit_slot(c, dst);
    interp__emit_slot(c, src);
}

/* Make stack entries [from, sp) live in their own canonical slots. */
void interp__materialize(struct comp *c, uint32_t from)
{
    for (uint32_t i = from; i < c->sp; i++) {
        if (c->st[i].slot != interp__canon(i)) {
            interp__emit_copy(c, interp__canon(i), c->st[i].slot);
            c->st[i].slot = interp__canon(i);
        }
    }
}

/* Before local l changes, copy out every pending read of it (except entry `except`). */
bool interp__local_referenced(struct comp *c, uint32_t l, uint32_t except)
{
    for (uint32_t i = 0; i < c->sp; i++)
        if (i != except && c->st[i].slot == l)
            return true;
    return false;
}

void interp__spill_local(struct comp *c, uint32_t l, uint32_t except)
{
    for (uint32_t i = 0; i < c->sp; i++) {
        if (i != except && c->st[i].slot == l) {
            interp__emit_copy(c, interp__canon(i), l);
            c->st[i].slot = interp__canon(i);
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

void interp__push_const(struct comp *c, uint8_t type, uint64_t bits)
{
    uint32_t s = intern_const(c, bits);
    if (s != NO_PATCH) {
        interp__push(c, type, s);
        return;
    }
    uint32_t d = interp__push_new(c, type);
    if (interp__dead(c))
        return;
    interp__emit_op(c, IOP_CONST);
    interp__emit_slot(c, d);
    interp__emit_u(c, (uint32_t)bits);
    interp__emit_u(c, (uint32_t)(bits >> 32));
}

/* ------------------------------------------------------------------ control */

struct ctl *interp__push_ctl(struct comp *c, enum ctl_kind kind, struct sig s)
{
    bool was_dead = c->nctl ? interp__dead(c) : false;
    c->ctl = interp__grow(c, c->ctl, &c->capctl, c->nctl + 1, sizeof *c->ctl);
    struct ctl *t = &c->ctl[c->nctl++];
    t->kind = kind;
    t->unreachable = false;
    t->dead_entry = was_dead;
    t->height = c->sp - s.np;
    t->sig = s;
    t->loop_pos = 0;
    t->patch = NO_PATCH;
    t->else_patch = NO_PATCH;
    interp__forget_last(c);
    c->add_end = SIZE_MAX;
    return t;
}

void interp__set_unreachable(struct comp *c)
{
    struct ctl *t = &c->ctl[c->nctl - 1];
    c->sp = t->height;
    t->unreachable = true;
    interp__forget_last(c);
}

struct ctl *interp__label(struct comp *c, uint32_t depth)
{
    if (depth >= c->nctl)
        interp__invalid(c, "unknown label");
    return &c->ctl[c->nctl - 1 - depth];
}

uint32_t interp__label_arity(const struct ctl *L)
{
    return L->kind == CTL_LOOP ? L->sig.np : L->sig.nr;
}

const enum wasmslot_valtype *interp__label_types(const struct ctl *L)
{
    return L->kind == CTL_LOOP ? L->sig.p : L->sig.r;
}

/* Point the displacement at code[pos] at label L (now for loops, at L's end otherwise). */
void interp__link_label(struct comp *c, struct ctl *L, uint32_t pos)
{
    if (L->kind == CTL_LOOP) {
        c->code[pos] = (uint32_t)((int32_t)L->loop_pos - (int32_t)pos);
    } else {
        c->code[pos] = L->patch;
        L->patch = pos;
    }
}

void interp__resolve_chain(struct comp *c, uint32_t chain, uint32_t target)
{
    c->add_end = SIZE_MAX; /* a label here: nothing before it may be fused with what follows */
    while (chain != NO_PATCH) {
        uint32_t next = c->code[chain];
        c->code[chain] = (uint32_t)((int32_t)target - (int32_t)chain);
        chain = next;
    }
}

/* Do the top n entries already sit where label L expects its values? */
bool interp__needs_moves(struct comp *c, const struct ctl *L, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (c->st[c->sp - n + i].slot != interp__canon(L->height + i))
            return true;
    return false;
}

void interp__emit_moves(struct comp *c, const struct ctl *L, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        interp__emit_copy(c, interp__canon(L->height + i), c->st[c->sp - n + i].slot);
}
