/* interp/atomic_run.h: the dispatch loop's handlers of the threads proposal's 0xFE
 * instructions. Included once, inside interp__run (interp/interp.c), whose labels, frame macros
 * (S, RI32, WI32, TRAP, NEXT) and state (ip, fp, mem, mb, ex) it uses. */
#ifndef INTERP_ATOMIC_RUN_H
#define INTERP_ATOMIC_RUN_H

/* The host address of an atomic access of type T at operand addr_k + immediate off_k. Bounds
 * are checked explicitly rather than left to the guard region, because the proposal checks
 * them before alignment: a misaligned access past the end is out of bounds, not unaligned.
 * The size is read as every bounds check reads it (acquire, the shared header for shmem). */
#define ATOMIC_PTR(T, addr_k, off_k)                                                               \
    ({                                                                                             \
        uint64_t ea_ = (uint64_t)RI32(addr_k) + ip[off_k];                                         \
        if (unlikely(ea_ + sizeof(T) > wasmslot_memory__size(mem)))                                \
            TRAP(OOB_MEMORY);                                                                      \
        if (unlikely(ea_ & (sizeof(T) - 1)))                                                       \
            TRAP(UNALIGNED_ATOMIC);                                                                \
        (T *)(void *)(mb + ea_);                                                                   \
    })

/* Every access is sequentially consistent, as the proposal requires. The narrow forms' results
 * are zero-extended by the conversion of the unsigned C type to the 64-bit cell. */
#define X(code, name, lg, type, ctype)                                                             \
    L_##name:                                                                                      \
    {                                                                                              \
        ctype *p_ = ATOMIC_PTR(ctype, 2, 3);                                                       \
        S(1) = (uint64_t)__atomic_load_n(p_, __ATOMIC_SEQ_CST);                                    \
        ip += 4;                                                                                   \
        NEXT();                                                                                    \
    }
INTERP_ATOMIC_LOADS(X)
#undef X

#define X(code, name, lg, type, ctype)                                                             \
    L_##name:                                                                                      \
    {                                                                                              \
        ctype *p_ = ATOMIC_PTR(ctype, 1, 3);                                                       \
        __atomic_store_n(p_, (ctype)S(2), __ATOMIC_SEQ_CST);                                       \
        ip += 4;                                                                                   \
        NEXT();                                                                                    \
    }
INTERP_ATOMIC_STORES(X)
#undef X

#define X(code, name, lg, type, ctype, fn)                                                         \
    L_##name:                                                                                      \
    {                                                                                              \
        ctype *p_ = ATOMIC_PTR(ctype, 2, 4);                                                       \
        ctype v_ = (ctype)S(3);                                                                    \
        S(1) = (uint64_t)__atomic_##fn(p_, v_, __ATOMIC_SEQ_CST);                                  \
        ip += 5;                                                                                   \
        NEXT();                                                                                    \
    }
INTERP_ATOMIC_RMWS(X)
#undef X

/* The expected value is wrapped to the access width; after the builtin, e_ holds the old
 * value whether or not the exchange happened. */
#define X(code, name, lg, type, ctype)                                                             \
    L_##name:                                                                                      \
    {                                                                                              \
        ctype *p_ = ATOMIC_PTR(ctype, 2, 5);                                                       \
        ctype e_ = (ctype)S(3), r_ = (ctype)S(4);                                                  \
        __atomic_compare_exchange_n(p_, &e_, r_, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);       \
        S(1) = (uint64_t)e_;                                                                       \
        ip += 6;                                                                                   \
        NEXT();                                                                                    \
    }
INTERP_ATOMIC_CMPXCHGS(X)
#undef X

#undef ATOMIC_PTR

/* wait/notify: mem/shmem.c checks bounds, then alignment, then (wait only) that the memory is
 * shared, and returns those traps negated. A wait sleeps at most until the run's deadline and
 * notices wasmslot_exec_interrupt, ending with -WASMSLOT_TRAP_TIMEOUT; -WASMSLOT_ELIMIT (too many
 * waiters) ends the run with that code. */
L_ATOMIC_NOTIFY:
{
    int rc_ = wasmslot_shmem_notify(mem, (uint64_t)RI32(2) + ip[4], RI32(3));
    if (unlikely(rc_ < 0)) {
        trapc = -rc_;
        goto trap;
    }
    WI32(1, (uint32_t)rc_);
    ip += 5;
    NEXT();
}
L_ATOMIC_WAIT32:
{
    int rc_ = wasmslot_shmem_wait32(mem, (uint64_t)RI32(2) + ip[5], RI32(3), (int64_t)RI64(4), ex);
    if (unlikely(rc_ < 0)) {
        trapc = -rc_;
        goto trap;
    }
    WI32(1, (uint32_t)rc_);
    ip += 6;
    NEXT();
}
L_ATOMIC_WAIT64:
{
    int rc_ = wasmslot_shmem_wait64(mem, (uint64_t)RI32(2) + ip[5], RI64(3), (int64_t)RI64(4), ex);
    if (unlikely(rc_ < 0)) {
        trapc = -rc_;
        goto trap;
    }
    WI32(1, (uint32_t)rc_);
    ip += 6;
    NEXT();
}
L_ATOMIC_FENCE:
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ip += 1;
    NEXT();
}

#endif
