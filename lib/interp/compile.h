/* interp/compile.h: what the parts of the function-body compiler share: the validator's operand
 * and control stacks with the code emission helpers (interp/compile_stack.c), structured control
 * (interp/compile_ctl.c) and numeric and memory instructions (interp/compile_value.c), used by
 * the instruction-by-instruction compiler (interp/compile.c, interp/atomic_compile.h). Private
 * to the interpreter. */
#ifndef INTERP_COMPILE_H
#define INTERP_COMPILE_H

#include "interp/ops.h"
#include "format/module.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    const enum wasmslot_valtype *p, *r;
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
    const struct wasmslot_module *m;
    struct wasmslot_error *err;
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
    enum wasmslot_valtype *ltypes;
    const struct wasmslot_functype *ft;
    struct interp_func *all; /* the module's compiled functions (for direct calls) */

    /* The last i32.add emitted, kept through a retarget of its result to a local, so that a
     * following compare-and-branch on its result can absorb it (a loop latch). Valid while
     * add_end == ncode and no label was bound since. */
    size_t add_start, add_end;
    uint32_t add_x, add_y; /* its operands (y may be a constant slot) */

    /* Peephole state: the last value-producing instruction, valid while ncode == last_end. */
    size_t last_start, last_dst, last_end;
    int last_op;
    uint32_t last_a, last_b;

    /* The last instruction was an i32.add of an immediate written straight into local set_local
     * (by local.set or local.tee), a pointer bump a following load from that local can absorb.
     * Valid while set_end == ncode; interp__forget_last ends it. */
    size_t set_start, set_end;
    uint32_t set_local;

    /* The last instruction was a plain store through local st_local (valid while st_end is the
     * start of the instruction after it): a following `l = l + y` can join it (a post-increment).
     * interp__forget_last ends it. */
    size_t st_start, st_end;
    uint32_t st_local;
    int st_op;
};

/* ------------------------------------------------------------------ errors and memory */

/* Fail validation with "msg" as -WASMSLOT_EINVALID / -WASMSLOT_EMALFORMED: records the message with
 * the function index and body offset in c->err and longjmps to c->fail. */
void interp__invalid(struct comp *c, const char *msg) __attribute__((noreturn));
void interp__malformed(struct comp *c, const char *msg) __attribute__((noreturn));

/* Grow array p (capacity *cap elements of elsize bytes) to hold need elements; on allocation
 * failure longjmps to c->fail with -ENOMEM. Returns the (possibly moved) array. */
void *interp__grow(struct comp *c, void *p, size_t *cap, size_t need, size_t elsize);

/* ------------------------------------------------------------------ reading the body */

/* Readers of the body at c->p; a truncated or over-long encoding fails as malformed. */
uint8_t interp__rd_u8(struct comp *c);
uint64_t interp__rd_leb(struct comp *c, unsigned bits, bool sign);
uint32_t interp__rd_u32(struct comp *c);
/* A value type byte (numeric or reference). */
uint8_t interp__rd_valtype(struct comp *c);
/* A reserved byte that must be zero (memory and table indices of MVP instructions). */
uint8_t interp__rd_zero(struct comp *c);
/* A block type: empty, one value type, or a type index. */
struct sig interp__rd_blocktype(struct comp *c);

/* ------------------------------------------------------------------ emitting code */

/* Is the current code unreachable (nothing must be emitted)? */
bool interp__dead(const struct comp *c);
/* Append one code unit / an op's handler offset / a slot operand (recorded for fixup when it
 * is a constant or stack slot) / a pointer in two units. */
void interp__emit_u(struct comp *c, uint32_t v);
void interp__emit_op(struct comp *c, enum interp_op op);
void interp__emit_slot(struct comp *c, uint32_t slot);
void interp__emit_ptr(struct comp *c, const void *p);
/* Emit COPY dst src unless it is a no-op or the code is dead. */
void interp__emit_copy(struct comp *c, uint32_t dst, uint32_t src);

/* Peephole state: forget the last value-producing instruction / is it still the last thing
 * emitted / record it (its start, the position of its dst operand, op and first two sources). */
void interp__forget_last(struct comp *c);
bool interp__last_valid(const struct comp *c);
void interp__note_result(struct comp *c, size_t start, size_t dstpos, int op, uint32_t a,
                         uint32_t b);
/* Remove the last instruction (its fixups too), for fusing it into the next one. */
void interp__rewind_last(struct comp *c);
/* Make the last instruction write local (or result) slot l instead of its stack slot. */
void interp__retarget_last(struct comp *c, uint32_t l);

/* ------------------------------------------------------------------ the operand stack */

/* The encoded slot of operand-stack height h. */
uint32_t interp__canon(uint32_t h);
/* Push a value of the given type living in slot. */
void interp__push(struct comp *c, uint8_t type, uint32_t slot);
/* Push a value computed into its canonical slot; returns that slot. */
uint32_t interp__push_new(struct comp *c, uint8_t type);
/* Pop any value / a value of type want (T_UNKNOWN matches anything); on a polymorphic stack an
 * empty pop gives T_UNKNOWN, otherwise an underflow or mismatch fails validation. */
struct ent interp__pop_any(struct comp *c);
struct ent interp__pop_t(struct comp *c, uint8_t want);
/* Is t a reference type? */
bool interp__is_ref(uint8_t t);
/* Pop n values of the given types (last type on top). */
void interp__pop_vals(struct comp *c, const enum wasmslot_valtype *types, uint32_t n);
/* br_if: pop the label's values and push them back with the label's types (on a
 * polymorphic stack this turns unknown values into typed ones, as the spec requires). */
void interp__pop_repush(struct comp *c, const enum wasmslot_valtype *types, uint32_t n);
/* Check the top n values against types without popping them (used by br_table). */
void interp__check_vals(struct comp *c, const enum wasmslot_valtype *types, uint32_t n);
/* Make stack entries [from, sp) live in their own canonical slots. */
void interp__materialize(struct comp *c, uint32_t from);
/* Does a stack entry other than `except` read local l? */
bool interp__local_referenced(struct comp *c, uint32_t l, uint32_t except);
/* Before local l changes, copy out every pending read of it (except entry `except`). */
void interp__spill_local(struct comp *c, uint32_t l, uint32_t except);
/* Push a constant: a slot of the function's constant table, or a CONST instruction when the
 * table is full. */
void interp__push_const(struct comp *c, uint8_t type, uint64_t bits);

/* Is slot an (encoded) constant slot? Its value is then interp__const_bits(c, slot). */
static inline bool interp__is_const(uint32_t slot)
{
    return (slot & (SLOT_CONST | SLOT_STACK)) == SLOT_CONST;
}

static inline uint64_t interp__const_bits(const struct comp *c, uint32_t slot)
{
    return c->consts[slot & ~SLOT_CONST];
}

/* ------------------------------------------------------------------ control */

/* Enter a block, loop, if or the function body with signature s (its params on the stack). */
struct ctl *interp__push_ctl(struct comp *c, enum ctl_kind kind, struct sig s);
/* After br, return, unreachable...: the rest of the block is polymorphic and dead. */
void interp__set_unreachable(struct comp *c);
/* The control entry of label depth (0 is the innermost); unknown labels fail validation. */
struct ctl *interp__label(struct comp *c, uint32_t depth);
/* The values a branch to L carries: a loop's params, otherwise its results. */
uint32_t interp__label_arity(const struct ctl *L);
const enum wasmslot_valtype *interp__label_types(const struct ctl *L);
/* Point the displacement at code[pos] at label L (now for loops, at L's end otherwise). */
void interp__link_label(struct comp *c, struct ctl *L, uint32_t pos);
/* Resolve a chain of forward displacements to target (and stop fusing across the label). */
void interp__resolve_chain(struct comp *c, uint32_t chain, uint32_t target);
/* Do the top n entries already sit where label L expects its values? */
bool interp__needs_moves(struct comp *c, const struct ctl *L, uint32_t n);
/* Copy the top n entries to where label L expects its values. */
void interp__emit_moves(struct comp *c, const struct ctl *L, uint32_t n);

/* ------------------------------------------------------------------ structured control
 * (interp/compile_ctl.c) */

/* return: move the results to the frame's first cells and emit RET. */
void interp__emit_return(struct comp *c);
/* br d: move the label's values where it expects them and jump (a return for the function). */
void interp__emit_br(struct comp *c, uint32_t d);
/* A jump taken when cond (just popped) is true (when_true) or false, fused with the i32
 * comparison, eqz or add+compare that produced it; returns the displacement's position for the
 * caller to link. */
uint32_t interp__emit_cond_jump(struct comp *c, struct ent cond, bool when_true);
/* br_if d / br_table (reads its immediates) / else / end. */
void interp__do_br_if(struct comp *c, uint32_t d);
void interp__do_br_table(struct comp *c);
void interp__do_else(struct comp *c);
void interp__do_end(struct comp *c);

/* ------------------------------------------------------------------ numeric and memory
 * instructions (interp/compile_value.c) */

/* Fill the opcode tables (once, before any compilation). */
void interp__init_value_tables(void);
/* Validation fails with "unknown memory" when the module has no memory. */
void interp__check_memory(struct comp *c);
/* Emit "dst = op(srcs)" (n sources) with the peephole bookkeeping; a binary numeric op whose
 * second source is a constant gets its _I form with the constant as an immediate. */
void interp__emit_val_op(struct comp *c, enum interp_op op, uint32_t dst, const uint32_t *srcs,
                         unsigned n);
/* Compile numeric opcode opc if it is one (returns false otherwise) / the saturating
 * truncation 0xFC sub (0..7). */
bool interp__do_numeric_opcode(struct comp *c, uint8_t opc);
void interp__do_saturating(struct comp *c, uint32_t sub);
/* A load / store of the given op, natural alignment log2 and value type (reads the memarg). */
void interp__do_load(struct comp *c, enum interp_op op, unsigned natural, uint8_t type);
void interp__do_store(struct comp *c, enum interp_op op, unsigned natural, uint8_t type);
/* local.set l of the last instruction's `l + y` right after a store through l: rewrite both
 * as one post-increment store. Returns whether it did. */
bool interp__fuse_store_bump(struct comp *c, uint32_t l);

#endif
