/* interp/atomic.h: the threads proposal's 0xFE instructions as the interpreter's internal ops,
 * one list shared by the op enum, the compiler and the dispatch loop (private). */
#ifndef INTERP_ATOMIC_H
#define INTERP_ATOMIC_H

/*
 * Every list entry is X(0xFE sub-opcode, NAME, access size log2, value type, C type[, ...]).
 * The access size log2 is also the only alignment the memory argument may declare.
 *
 * Operand layouts (s = frame slot, i = immediate):
 *   <load>      dst addr off           <store>   addr v off
 *   <rmw>       dst addr v off         <cmpxchg> dst addr expected replacement off
 *   ATOMIC_NOTIFY dst addr count off   ATOMIC_WAIT32/64 dst addr expected timeout off
 *   ATOMIC_FENCE (no operands)
 * Every access checks bounds first, then alignment, as the proposal's execution rules do, so
 * an access that is both out of bounds and misaligned traps "out of bounds memory access".
 */

/* Sub-opcodes without a typed access of their own. */
#define INTERP_ATOMIC_MISC(X)                                                                      \
    X(0x00, ATOMIC_NOTIFY, 2, I32, uint32_t)                                                       \
    X(0x01, ATOMIC_WAIT32, 2, I32, uint32_t)                                                       \
    X(0x02, ATOMIC_WAIT64, 3, I64, uint64_t)                                                       \
    X(0x03, ATOMIC_FENCE, 0, I32, uint8_t)

/* Loads zero-extend, like the unsigned plain loads. */
#define INTERP_ATOMIC_LOADS(X)                                                                     \
    X(0x10, I32_ATOMIC_LOAD, 2, I32, uint32_t)                                                     \
    X(0x11, I64_ATOMIC_LOAD, 3, I64, uint64_t)                                                     \
    X(0x12, I32_ATOMIC_LOAD8_U, 0, I32, uint8_t)                                                   \
    X(0x13, I32_ATOMIC_LOAD16_U, 1, I32, uint16_t)                                                 \
    X(0x14, I64_ATOMIC_LOAD8_U, 0, I64, uint8_t)                                                   \
    X(0x15, I64_ATOMIC_LOAD16_U, 1, I64, uint16_t)                                                 \
    X(0x16, I64_ATOMIC_LOAD32_U, 2, I64, uint32_t)

#define INTERP_ATOMIC_STORES(X)                                                                    \
    X(0x17, I32_ATOMIC_STORE, 2, I32, uint32_t)                                                    \
    X(0x18, I64_ATOMIC_STORE, 3, I64, uint64_t)                                                    \
    X(0x19, I32_ATOMIC_STORE8, 0, I32, uint8_t)                                                    \
    X(0x1a, I32_ATOMIC_STORE16, 1, I32, uint16_t)                                                  \
    X(0x1b, I64_ATOMIC_STORE8, 0, I64, uint8_t)                                                    \
    X(0x1c, I64_ATOMIC_STORE16, 1, I64, uint16_t)                                                  \
    X(0x1d, I64_ATOMIC_STORE32, 2, I64, uint32_t)

/* Read-modify-write: the extra field names the GCC builtin (__atomic_<fn>) that does it. The
 * old value is the result, zero-extended for the narrow forms. */
#define INTERP_ATOMIC_RMW_GROUP(X, base, OP, fn)                                                   \
    X(base + 0, I32_ATOMIC_RMW_##OP, 2, I32, uint32_t, fn)                                         \
    X(base + 1, I64_ATOMIC_RMW_##OP, 3, I64, uint64_t, fn)                                         \
    X(base + 2, I32_ATOMIC_RMW8_##OP##_U, 0, I32, uint8_t, fn)                                     \
    X(base + 3, I32_ATOMIC_RMW16_##OP##_U, 1, I32, uint16_t, fn)                                   \
    X(base + 4, I64_ATOMIC_RMW8_##OP##_U, 0, I64, uint8_t, fn)                                     \
    X(base + 5, I64_ATOMIC_RMW16_##OP##_U, 1, I64, uint16_t, fn)                                   \
    X(base + 6, I64_ATOMIC_RMW32_##OP##_U, 2, I64, uint32_t, fn)

#define INTERP_ATOMIC_RMWS(X)                                                                      \
    INTERP_ATOMIC_RMW_GROUP(X, 0x1e, ADD, fetch_add)                                               \
    INTERP_ATOMIC_RMW_GROUP(X, 0x25, SUB, fetch_sub)                                               \
    INTERP_ATOMIC_RMW_GROUP(X, 0x2c, AND, fetch_and)                                               \
    INTERP_ATOMIC_RMW_GROUP(X, 0x33, OR, fetch_or)                                                 \
    INTERP_ATOMIC_RMW_GROUP(X, 0x3a, XOR, fetch_xor)                                               \
    INTERP_ATOMIC_RMW_GROUP(X, 0x41, XCHG, exchange_n)

/* Compare-exchange: the expected value is wrapped to the access width before comparing, so a
 * narrow cmpxchg compares only the bytes it accesses. */
#define INTERP_ATOMIC_CMPXCHGS(X)                                                                  \
    X(0x48, I32_ATOMIC_RMW_CMPXCHG, 2, I32, uint32_t)                                              \
    X(0x49, I64_ATOMIC_RMW_CMPXCHG, 3, I64, uint64_t)                                              \
    X(0x4a, I32_ATOMIC_RMW8_CMPXCHG_U, 0, I32, uint8_t)                                            \
    X(0x4b, I32_ATOMIC_RMW16_CMPXCHG_U, 1, I32, uint16_t)                                          \
    X(0x4c, I64_ATOMIC_RMW8_CMPXCHG_U, 0, I64, uint8_t)                                            \
    X(0x4d, I64_ATOMIC_RMW16_CMPXCHG_U, 1, I64, uint16_t)                                          \
    X(0x4e, I64_ATOMIC_RMW32_CMPXCHG_U, 2, I64, uint32_t)

/* Every atomic op, for the op enum and the handler table: X(sub-opcode, NAME, ...). */
#define INTERP_ATOMIC_OPS(X)                                                                       \
    INTERP_ATOMIC_MISC(X)                                                                          \
    INTERP_ATOMIC_LOADS(X)                                                                         \
    INTERP_ATOMIC_STORES(X)                                                                        \
    INTERP_ATOMIC_RMWS(X)                                                                          \
    INTERP_ATOMIC_CMPXCHGS(X)

#endif
