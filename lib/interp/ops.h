/* interp/ops.h: the internal instruction set shared by the compiler (interp/compile.c) and the
 * dispatch loop (interp/interp.c), plus the compiled-function layout (private to the interpreter).
 */
#ifndef INTERP_OPS_H
#define INTERP_OPS_H

#include "interp/atomic.h"
#include "runtime/runtime.h"

#include <stdint.h>

/*
 * Internal code is an array of 32-bit units. An instruction is its handler (the offset of its
 * label from the dispatch loop's base label, so dispatch is one add and an indirect jump)
 * followed by its operands. Operands are frame slot indices (a frame is an array of 64-bit
 * cells: locals, then the function's constants, then the operand stack), pre-decoded
 * immediates, or branch displacements relative to the displacement's own unit.
 */

/* Numeric instructions: X(wasm opcode, NAME, UN|BIN, operand type, result type, C expression
 * of a (and b)). The types name the validation types; the interpreter reads operands as
 * uint32_t (I32), uint64_t (I64), float (F32) or double (F64). */
#define INTERP_NUMOPS(X)                                                                           \
    X(0x45, I32_EQZ, UN, I32, I32, a == 0)                                                         \
    X(0x46, I32_EQ, BIN, I32, I32, a == b)                                                         \
    X(0x47, I32_NE, BIN, I32, I32, a != b)                                                         \
    X(0x48, I32_LT_S, BIN, I32, I32, (int32_t)a < (int32_t)b)                                      \
    X(0x49, I32_LT_U, BIN, I32, I32, a < b)                                                        \
    X(0x4a, I32_GT_S, BIN, I32, I32, (int32_t)a > (int32_t)b)                                      \
    X(0x4b, I32_GT_U, BIN, I32, I32, a > b)                                                        \
    X(0x4c, I32_LE_S, BIN, I32, I32, (int32_t)a <= (int32_t)b)                                     \
    X(0x4d, I32_LE_U, BIN, I32, I32, a <= b)                                                       \
    X(0x4e, I32_GE_S, BIN, I32, I32, (int32_t)a >= (int32_t)b)                                     \
    X(0x4f, I32_GE_U, BIN, I32, I32, a >= b)                                                       \
    X(0x50, I64_EQZ, UN, I64, I32, a == 0)                                                         \
    X(0x51, I64_EQ, BIN, I64, I32, a == b)                                                         \
    X(0x52, I64_NE, BIN, I64, I32, a != b)                                                         \
    X(0x53, I64_LT_S, BIN, I64, I32, (int64_t)a < (int64_t)b)                                      \
    X(0x54, I64_LT_U, BIN, I64, I32, a < b)                                                        \
    X(0x55, I64_GT_S, BIN, I64, I32, (int64_t)a > (int64_t)b)                                      \
    X(0x56, I64_GT_U, BIN, I64, I32, a > b)                                                        \
    X(0x57, I64_LE_S, BIN, I64, I32, (int64_t)a <= (int64_t)b)                                     \
    X(0x58, I64_LE_U, BIN, I64, I32, a <= b)                                                       \
    X(0x59, I64_GE_S, BIN, I64, I32, (int64_t)a >= (int64_t)b)                                     \
    X(0x5a, I64_GE_U, BIN, I64, I32, a >= b)                                                       \
    X(0x5b, F32_EQ, BIN, F32, I32, a == b)                                                         \
    X(0x5c, F32_NE, BIN, F32, I32, a != b)                                                         \
    X(0x5d, F32_LT, BIN, F32, I32, a < b)                                                          \
    X(0x5e, F32_GT, BIN, F32, I32, a > b)                                                          \
    X(0x5f, F32_LE, BIN, F32, I32, a <= b)                                                         \
    X(0x60, F32_GE, BIN, F32, I32, a >= b)                                                         \
    X(0x61, F64_EQ, BIN, F64, I32, a == b)                                                         \
    X(0x62, F64_NE, BIN, F64, I32, a != b)                                                         \
    X(0x63, F64_LT, BIN, F64, I32, a < b)                                                          \
    X(0x64, F64_GT, BIN, F64, I32, a > b)                                                          \
    X(0x65, F64_LE, BIN, F64, I32, a <= b)                                                         \
    X(0x66, F64_GE, BIN, F64, I32, a >= b)                                                         \
    X(0x67, I32_CLZ, UN, I32, I32, a ? (uint32_t)__builtin_clz(a) : 32u)                           \
    X(0x68, I32_CTZ, UN, I32, I32, a ? (uint32_t)__builtin_ctz(a) : 32u)                           \
    X(0x69, I32_POPCNT, UN, I32, I32, (uint32_t)__builtin_popcount(a))                             \
    X(0x6a, I32_ADD, BIN, I32, I32, a + b)                                                         \
    X(0x6b, I32_SUB, BIN, I32, I32, a - b)                                                         \
    X(0x6c, I32_MUL, BIN, I32, I32, a *b)                                                          \
    X(0x6d, I32_DIV_S, BIN, I32, I32, DIV_S(int32_t, INT32_MIN, a, b))                             \
    X(0x6e, I32_DIV_U, BIN, I32, I32, DIV_U(a, b))                                                 \
    X(0x6f, I32_REM_S, BIN, I32, I32, REM_S(int32_t, INT32_MIN, a, b))                             \
    X(0x70, I32_REM_U, BIN, I32, I32, REM_U(a, b))                                                 \
    X(0x71, I32_AND, BIN, I32, I32, a &b)                                                          \
    X(0x72, I32_OR, BIN, I32, I32, a | b)                                                          \
    X(0x73, I32_XOR, BIN, I32, I32, a ^ b)                                                         \
    X(0x74, I32_SHL, BIN, I32, I32, a << (b & 31))                                                 \
    X(0x75, I32_SHR_S, BIN, I32, I32, (uint32_t)((int32_t)a >> (b & 31)))                          \
    X(0x76, I32_SHR_U, BIN, I32, I32, a >> (b & 31))                                               \
    X(0x77, I32_ROTL, BIN, I32, I32, (a << (b & 31)) | (a >> ((32 - b) & 31)))                     \
    X(0x78, I32_ROTR, BIN, I32, I32, (a >> (b & 31)) | (a << ((32 - b) & 31)))                     \
    X(0x79, I64_CLZ, UN, I64, I64, a ? (uint64_t)__builtin_clzll(a) : 64u)                         \
    X(0x7a, I64_CTZ, UN, I64, I64, a ? (uint64_t)__builtin_ctzll(a) : 64u)                         \
    X(0x7b, I64_POPCNT, UN, I64, I64, (uint64_t)__builtin_popcountll(a))                           \
    X(0x7c, I64_ADD, BIN, I64, I64, a + b)                                                         \
    X(0x7d, I64_SUB, BIN, I64, I64, a - b)                                                         \
    X(0x7e, I64_MUL, BIN, I64, I64, a *b)                                                          \
    X(0x7f, I64_DIV_S, BIN, I64, I64, DIV_S(int64_t, INT64_MIN, a, b))                             \
    X(0x80, I64_DIV_U, BIN, I64, I64, DIV_U(a, b))                                                 \
    X(0x81, I64_REM_S, BIN, I64, I64, REM_S(int64_t, INT64_MIN, a, b))                             \
    X(0x82, I64_REM_U, BIN, I64, I64, REM_U(a, b))                                                 \
    X(0x83, I64_AND, BIN, I64, I64, a &b)                                                          \
    X(0x84, I64_OR, BIN, I64, I64, a | b)                                                          \
    X(0x85, I64_XOR, BIN, I64, I64, a ^ b)                                                         \
    X(0x86, I64_SHL, BIN, I64, I64, a << (b & 63))                                                 \
    X(0x87, I64_SHR_S, BIN, I64, I64, (uint64_t)((int64_t)a >> (b & 63)))                          \
    X(0x88, I64_SHR_U, BIN, I64, I64, a >> (b & 63))                                               \
    X(0x89, I64_ROTL, BIN, I64, I64, (a << (b & 63)) | (a >> ((64 - b) & 63)))                     \
    X(0x8a, I64_ROTR, BIN, I64, I64, (a >> (b & 63)) | (a << ((64 - b) & 63)))                     \
    X(0x8b, F32_ABS, UN, F32, F32, f32_bits_op(a, 0x7fffffffu, 0))                                 \
    X(0x8c, F32_NEG, UN, F32, F32, f32_bits_op(a, 0xffffffffu, 0x80000000u))                       \
    X(0x8d, F32_CEIL, UN, F32, F32, f32_round(a, __builtin_ceilf(a)))                              \
    X(0x8e, F32_FLOOR, UN, F32, F32, f32_round(a, __builtin_floorf(a)))                            \
    X(0x8f, F32_TRUNC, UN, F32, F32, f32_round(a, __builtin_truncf(a)))                            \
    X(0x90, F32_NEAREST, UN, F32, F32, f32_round(a, __builtin_rintf(a)))                           \
    X(0x91, F32_SQRT, UN, F32, F32, __builtin_sqrtf(a))                                            \
    X(0x92, F32_ADD, BIN, F32, F32, a + b)                                                         \
    X(0x93, F32_SUB, BIN, F32, F32, a - b)                                                         \
    X(0x94, F32_MUL, BIN, F32, F32, a *b)                                                          \
    X(0x95, F32_DIV, BIN, F32, F32, a / b)                                                         \
    X(0x96, F32_MIN, BIN, F32, F32, f32_min(a, b))                                                 \
    X(0x97, F32_MAX, BIN, F32, F32, f32_max(a, b))                                                 \
    X(0x98, F32_COPYSIGN, BIN, F32, F32, f32_copysign(a, b))                                       \
    X(0x99, F64_ABS, UN, F64, F64, f64_bits_op(a, 0x7fffffffffffffffull, 0))                       \
    X(0x9a, F64_NEG, UN, F64, F64, f64_bits_op(a, ~0ull, 0x8000000000000000ull))                   \
    X(0x9b, F64_CEIL, UN, F64, F64, f64_round(a, __builtin_ceil(a)))                               \
    X(0x9c, F64_FLOOR, UN, F64, F64, f64_round(a, __builtin_floor(a)))                             \
    X(0x9d, F64_TRUNC, UN, F64, F64, f64_round(a, __builtin_trunc(a)))                             \
    X(0x9e, F64_NEAREST, UN, F64, F64, f64_round(a, __builtin_rint(a)))                            \
    X(0x9f, F64_SQRT, UN, F64, F64, __builtin_sqrt(a))                                             \
    X(0xa0, F64_ADD, BIN, F64, F64, a + b)                                                         \
    X(0xa1, F64_SUB, BIN, F64, F64, a - b)                                                         \
    X(0xa2, F64_MUL, BIN, F64, F64, a *b)                                                          \
    X(0xa3, F64_DIV, BIN, F64, F64, a / b)                                                         \
    X(0xa4, F64_MIN, BIN, F64, F64, f64_min(a, b))                                                 \
    X(0xa5, F64_MAX, BIN, F64, F64, f64_max(a, b))                                                 \
    X(0xa6, F64_COPYSIGN, BIN, F64, F64, f64_copysign(a, b))                                       \
    X(0xa7, I32_WRAP_I64, UN, I64, I32, (uint32_t)a)                                               \
    X(0xa8, I32_TRUNC_F32_S, UN, F32, I32, TRUNC(int32_t, a, -2147483904.0f, 2147483648.0f))       \
    X(0xa9, I32_TRUNC_F32_U, UN, F32, I32, TRUNC(uint32_t, a, -1.0f, 4294967296.0f))               \
    X(0xaa, I32_TRUNC_F64_S, UN, F64, I32, TRUNC(int32_t, a, -2147483649.0, 2147483648.0))         \
    X(0xab, I32_TRUNC_F64_U, UN, F64, I32, TRUNC(uint32_t, a, -1.0, 4294967296.0))                 \
    X(0xac, I64_EXTEND_I32_S, UN, I32, I64, (uint64_t)(int64_t)(int32_t)a)                         \
    X(0xad, I64_EXTEND_I32_U, UN, I32, I64, (uint64_t)a)                                           \
    X(0xae, I64_TRUNC_F32_S, UN, F32, I64,                                                         \
      TRUNC(int64_t, a, -9223373136366403584.0f, 9223372036854775808.0f))                          \
    X(0xaf, I64_TRUNC_F32_U, UN, F32, I64, TRUNC(uint64_t, a, -1.0f, 18446744073709551616.0f))     \
    X(0xb0, I64_TRUNC_F64_S, UN, F64, I64,                                                         \
      TRUNC(int64_t, a, -9223372036854777856.0, 9223372036854775808.0))                            \
    X(0xb1, I64_TRUNC_F64_U, UN, F64, I64, TRUNC(uint64_t, a, -1.0, 18446744073709551616.0))       \
    X(0xb2, F32_CONVERT_I32_S, UN, I32, F32, (float)(int32_t)a)                                    \
    X(0xb3, F32_CONVERT_I32_U, UN, I32, F32, (float)a)                                             \
    X(0xb4, F32_CONVERT_I64_S, UN, I64, F32, (float)(int64_t)a)                                    \
    X(0xb5, F32_CONVERT_I64_U, UN, I64, F32, (float)a)                                             \
    X(0xb6, F32_DEMOTE_F64, UN, F64, F32, (float)a)                                                \
    X(0xb7, F64_CONVERT_I32_S, UN, I32, F64, (double)(int32_t)a)                                   \
    X(0xb8, F64_CONVERT_I32_U, UN, I32, F64, (double)a)                                            \
    X(0xb9, F64_CONVERT_I64_S, UN, I64, F64, (double)(int64_t)a)                                   \
    X(0xba, F64_CONVERT_I64_U, UN, I64, F64, (double)a)                                            \
    X(0xbb, F64_PROMOTE_F32, UN, F32, F64, (double)a)                                              \
    X(0xc0, I32_EXTEND8_S, UN, I32, I32, (uint32_t)(int32_t)(int8_t)a)                             \
    X(0xc1, I32_EXTEND16_S, UN, I32, I32, (uint32_t)(int32_t)(int16_t)a)                           \
    X(0xc2, I64_EXTEND8_S, UN, I64, I64, (uint64_t)(int64_t)(int8_t)a)                             \
    X(0xc3, I64_EXTEND16_S, UN, I64, I64, (uint64_t)(int64_t)(int16_t)a)                           \
    X(0xc4, I64_EXTEND32_S, UN, I64, I64, (uint64_t)(int64_t)(int32_t)a)

/* The 0xFC 0..7 saturating truncations, same shape; the first field is the sub-opcode. */
#define INTERP_SATOPS(X)                                                                           \
    X(0, I32_TRUNC_SAT_F32_S, UN, F32, I32, SAT(int32_t, a, INT32_MIN, INT32_MAX, float))          \
    X(1, I32_TRUNC_SAT_F32_U, UN, F32, I32, SAT(uint32_t, a, 0, UINT32_MAX, float))                \
    X(2, I32_TRUNC_SAT_F64_S, UN, F64, I32, SAT(int32_t, a, INT32_MIN, INT32_MAX, double))         \
    X(3, I32_TRUNC_SAT_F64_U, UN, F64, I32, SAT(uint32_t, a, 0, UINT32_MAX, double))               \
    X(4, I64_TRUNC_SAT_F32_S, UN, F32, I64, SAT(int64_t, a, INT64_MIN, INT64_MAX, float))          \
    X(5, I64_TRUNC_SAT_F32_U, UN, F32, I64, SAT(uint64_t, a, 0, UINT64_MAX, float))                \
    X(6, I64_TRUNC_SAT_F64_S, UN, F64, I64, SAT(int64_t, a, INT64_MIN, INT64_MAX, double))         \
    X(7, I64_TRUNC_SAT_F64_U, UN, F64, I64, SAT(uint64_t, a, 0, UINT64_MAX, double))

/* i32 comparisons fused with a conditional branch: X(NAME, C condition on a, b). */
#define INTERP_BRCMPS(X)                                                                           \
    X(EQ, a == b)                                                                                  \
    X(NE, a != b)                                                                                  \
    X(LT_S, (int32_t)a < (int32_t)b)                                                               \
    X(LT_U, a < b)                                                                                 \
    X(GT_S, (int32_t)a > (int32_t)b)                                                               \
    X(GT_U, a > b)                                                                                 \
    X(LE_S, (int32_t)a <= (int32_t)b)                                                              \
    X(LE_U, a <= b)                                                                                \
    X(GE_S, (int32_t)a >= (int32_t)b)                                                              \
    X(GE_U, a >= b)

/* Memory accesses: X(wasm opcode, NAME, natural alignment log2, value type, C type read or
 * written, conversion of the loaded C value to a cell). */
#define INTERP_LOADS(X)                                                                            \
    X(0x28, I32_LOAD, 2, I32, uint32_t, (uint64_t)v)                                               \
    X(0x29, I64_LOAD, 3, I64, uint64_t, v)                                                         \
    X(0x2a, F32_LOAD, 2, F32, uint32_t, (uint64_t)v)                                               \
    X(0x2b, F64_LOAD, 3, F64, uint64_t, v)                                                         \
    X(0x2c, I32_LOAD8_S, 0, I32, int8_t, (uint32_t)(int32_t)v)                                     \
    X(0x2d, I32_LOAD8_U, 0, I32, uint8_t, (uint64_t)v)                                             \
    X(0x2e, I32_LOAD16_S, 1, I32, int16_t, (uint32_t)(int32_t)v)                                   \
    X(0x2f, I32_LOAD16_U, 1, I32, uint16_t, (uint64_t)v)                                           \
    X(0x30, I64_LOAD8_S, 0, I64, int8_t, (uint64_t)(int64_t)v)                                     \
    X(0x31, I64_LOAD8_U, 0, I64, uint8_t, (uint64_t)v)                                             \
    X(0x32, I64_LOAD16_S, 1, I64, int16_t, (uint64_t)(int64_t)v)                                   \
    X(0x33, I64_LOAD16_U, 1, I64, uint16_t, (uint64_t)v)                                           \
    X(0x34, I64_LOAD32_S, 2, I64, int32_t, (uint64_t)(int64_t)v)                                   \
    X(0x35, I64_LOAD32_U, 2, I64, uint32_t, (uint64_t)v)

#define INTERP_STORES(X)                                                                           \
    X(0x36, I32_STORE, 2, I32, uint32_t)                                                           \
    X(0x37, I64_STORE, 3, I64, uint64_t)                                                           \
    X(0x38, F32_STORE, 2, F32, uint32_t)                                                           \
    X(0x39, F64_STORE, 3, F64, uint64_t)                                                           \
    X(0x3a, I32_STORE8, 0, I32, uint8_t)                                                           \
    X(0x3b, I32_STORE16, 1, I32, uint16_t)                                                         \
    X(0x3c, I64_STORE8, 0, I64, uint8_t)                                                           \
    X(0x3d, I64_STORE16, 1, I64, uint16_t)                                                         \
    X(0x3e, I64_STORE32, 2, I64, uint32_t)

/*
 * Every other instruction, with its operand layout (s = slot, i = immediate, r = branch
 * displacement, p = pointer in two units):
 *   UNREACHABLE                      BR r                BR_IF s r           BR_UNLESS s r
 *   BR_TABLE s n r0..rn              RET                 EXIT
 *   CALL base p(func)                CALL_IMPORT base funcidx top
 *   CALL_INDIRECT base s(elem) table typeidx top        COPY dst s          CONST dst lo hi
 *   SELECT dst a b cond              GLOBAL_GET dst idx  GLOBAL_SET idx s    REF_FUNC dst idx
 *   MEMORY_SIZE dst                  MEMORY_GROW dst s   MEMORY_FILL d v n   MEMORY_COPY d s n
 *   MEMORY_INIT d s n seg            DATA_DROP seg       TABLE_GET dst i t   TABLE_SET i v t
 *   TABLE_SIZE dst t                 TABLE_GROW dst init n t                 TABLE_FILL i v n t
 *   TABLE_COPY d s n dt st           TABLE_INIT d s n t seg                  ELEM_DROP seg
 *   BR_<cmp> a b r (i32 compare and branch)
 *   <load> dst addr off              <store> addr v off
 *   ADD_BR_<cmp> d x y b r (d = x + y as i32, then compare d with b and branch: a loop latch)
 *   <load>_X dst a b off             <store>_X a b v off   (address (u32)(a + b), a fused i32.add)
 * Forms with an immediate (k, in the code: one unit for i32/f32, two for i64/f64, low first)
 * in place of a constant slot, so that a function whose constants are all immediates needs
 * none copied into its frames:
 *   <binop>_I dst a k                BR_<cmp>_I a k r
 *   ADD_BR_<cmp>_I d x k b r         ADD_BR_<cmp>_II d x k kb r     ADD_BR_<cmp>_SI d x y kb r
 *   <load>_XI dst a k off            <store>_XI a k v off
 *   <load>_AL dst l x k off          (l = x + k as i32, then load from l + off: a pointer bump)
 *   <store>_PA l v off y             <store>_PAI l v off k   (store at l + off, then l += y / k)
 * f64 arithmetic whose second operand is loaded from memory (a fused f64.load):
 *   F64_<op>_M dst a addr off        F64_<op>_MXI dst a x k off   (address (u32)(x + k) + off)
 * f64.add whose first operand is a product just computed (rounded before the add, no FMA):
 *   F64_MULADD dst a b c             (dst = a * b + c)
 *   F64_MULM_ADD dst a addr off c    F64_MULMXI_ADD dst a x k off c   (b loaded as above)
 */
#define INTERP_MISCOPS(X)                                                                          \
    X(UNREACHABLE)                                                                                 \
    X(BR)                                                                                          \
    X(BR_IF)                                                                                       \
    X(BR_UNLESS)                                                                                   \
    X(BR_TABLE)                                                                                    \
    X(RET)                                                                                         \
    X(EXIT)                                                                                        \
    X(CALL)                                                                                        \
    X(CALL_IMPORT)                                                                                 \
    X(CALL_INDIRECT)                                                                               \
    X(COPY)                                                                                        \
    X(CONST)                                                                                       \
    X(SELECT)                                                                                      \
    X(GLOBAL_GET)                                                                                  \
    X(GLOBAL_SET)                                                                                  \
    X(REF_FUNC)                                                                                    \
    X(MEMORY_SIZE)                                                                                 \
    X(MEMORY_GROW)                                                                                 \
    X(MEMORY_FILL)                                                                                 \
    X(MEMORY_COPY)                                                                                 \
    X(MEMORY_INIT)                                                                                 \
    X(DATA_DROP)                                                                                   \
    X(TABLE_GET)                                                                                   \
    X(TABLE_SET)                                                                                   \
    X(TABLE_SIZE)                                                                                  \
    X(TABLE_GROW)                                                                                  \
    X(TABLE_FILL)                                                                                  \
    X(TABLE_COPY)                                                                                  \
    X(TABLE_INIT)                                                                                  \
    X(ELEM_DROP)

/* f64 binary ops that absorb a load of their second operand: X(NAME, C expression). */
#define INTERP_FMEMOPS(X)                                                                          \
    X(F64_ADD, a + b)                                                                              \
    X(F64_SUB, a - b)                                                                              \
    X(F64_MUL, a *b)

/* clang-format off */
enum interp_op {
#define INTERP_X_MISC(name)                             IOP_##name,
#define INTERP_X_NUM(code, name, kind, tin, tout, expr) IOP_##name,
#define INTERP_X_MEM(code, name, ...)                   IOP_##name,
#define INTERP_X_MEMX(code, name, ...)                  IOP_##name##_X,
#define INTERP_X_BRCMP(name, cond)                      IOP_BR_##name,
#define INTERP_X_ADDBR(name, cond)                      IOP_ADD_BR_##name,
#define INTERP_X_NUMI(code, name, kind, tin, tout, expr) IOP_##name##_I,
#define INTERP_X_MEMXI(code, name, ...)                 IOP_##name##_XI,
#define INTERP_X_BRCMPI(name, cond)                     IOP_BR_##name##_I,
#define INTERP_X_ADDBRI(name, cond)                     IOP_ADD_BR_##name##_I,
#define INTERP_X_ADDBRII(name, cond)                    IOP_ADD_BR_##name##_II,
#define INTERP_X_ADDBRSI(name, cond)                    IOP_ADD_BR_##name##_SI,
#define INTERP_X_MEMAL(code, name, ...)                 IOP_##name##_AL,
#define INTERP_X_MEMPA(code, name, ...)                 IOP_##name##_PA,
#define INTERP_X_MEMPAI(code, name, ...)                IOP_##name##_PAI,
#define INTERP_X_FMEM(name, expr)                       IOP_##name##_M,
#define INTERP_X_FMEMXI(name, expr)                     IOP_##name##_MXI,
    INTERP_MISCOPS(INTERP_X_MISC)
    INTERP_NUMOPS(INTERP_X_NUM)
    INTERP_SATOPS(INTERP_X_NUM)
    INTERP_LOADS(INTERP_X_MEM)
    INTERP_STORES(INTERP_X_MEM)
    INTERP_BRCMPS(INTERP_X_BRCMP)
    INTERP_LOADS(INTERP_X_MEMX)
    INTERP_STORES(INTERP_X_MEMX)
    INTERP_BRCMPS(INTERP_X_ADDBR)
    INTERP_ATOMIC_OPS(INTERP_X_MEM)
    INTERP_NUMOPS(INTERP_X_NUMI) /* unary ones have no handler: never emitted */
    INTERP_BRCMPS(INTERP_X_BRCMPI)
    INTERP_BRCMPS(INTERP_X_ADDBRI)
    INTERP_BRCMPS(INTERP_X_ADDBRII)
    INTERP_BRCMPS(INTERP_X_ADDBRSI)
    INTERP_LOADS(INTERP_X_MEMXI)
    INTERP_STORES(INTERP_X_MEMXI)
    INTERP_LOADS(INTERP_X_MEMAL)
    INTERP_STORES(INTERP_X_MEMPA)
    INTERP_STORES(INTERP_X_MEMPAI)
    INTERP_FMEMOPS(INTERP_X_FMEM)
    INTERP_FMEMOPS(INTERP_X_FMEMXI)
    IOP_F64_MULADD,
    IOP_F64_MULM_ADD,
    IOP_F64_MULMXI_ADD,
#undef INTERP_X_FMEM
#undef INTERP_X_MEMPA
#undef INTERP_X_MEMPAI
#undef INTERP_X_MEMAL
#undef INTERP_X_FMEMXI
#undef INTERP_X_NUMI
#undef INTERP_X_MEMXI
#undef INTERP_X_BRCMPI
#undef INTERP_X_ADDBRI
#undef INTERP_X_ADDBRII
#undef INTERP_X_ADDBRSI
#undef INTERP_X_MISC
#undef INTERP_X_NUM
#undef INTERP_X_MEM
#undef INTERP_X_MEMX
#undef INTERP_X_BRCMP
#undef INTERP_X_ADDBR
    IOP__COUNT
};
/* clang-format on */

/* A compiled function body. Immutable after interp_compile_module. */
struct interp_func {
    const uint32_t *code;
    uint32_t ncode;
    uint32_t nparams, nresults;
    uint32_t nlocals;    /* params + declared locals */
    uint32_t const_base; /* first constant slot (= nlocals); the operand stack follows them */
    uint32_t nconsts;
    uint32_t frame_cells; /* nlocals + nconsts + maximum operand height (at least nresults
                             and nparams + INTERP_ZERO_CELLS) */
    const wasmslot_cell *consts;
    const struct wasmslot_functype *type;
};

/* A call zeroes this many cells after the arguments with straight stores (then loops over any
 * further locals): frames are at least this big, so the stores stay inside the frame. */
#define INTERP_ZERO_CELLS 4

/* Handler offsets of every internal op, indexed by enum interp_op (filled on first use). */
const int32_t *interp__handlers(void);

/* Run compiled code until the EXIT sentinel: the frame at fp holds fn's arguments; on return
 * 0 its results are in fp[0..nresults). Returns 0 or a negative trap code. */
int interp__run(struct wasmslot_exec *ex, const struct interp_func *fn, wasmslot_cell *fp,
                struct wasmslot_instance *inst);

#endif
