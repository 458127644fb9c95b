/* native/stack.c: the machine stack generated code runs on: the exec's own (sized from its
 * stack_size, so the pool's limit, not the thread's stack, bounds a native recursion), entered
 * through a small trampoline. */
#include "config.h"

#include "native/native_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Stack kept free below generated code for host functions, helpers and the signal path. */
#define STACK_RESERVE ((uintptr_t)256 * 1024)

/* Machine stack per byte of the exec's stack_size: a native frame of a small function takes
 * about as much as the interpreter's WASMSLOT_CALL_BYTES; twice that leaves room for larger
 * frames before the depth limit, and a deeper run still ends as call_stack_exhausted. */
#define STACK_PER_BYTE 2

/* The stack's top, where every run touches pages, ends on this boundary: page tables cover
 * 2 MiB each, and one shared with the mapping above (typically a pool's slab, mapped earlier)
 * would make that slot's reset walk the stack's page table entries in the pagemap scan of its
 * range, about 70 ns per request. */
#define STACK_ALIGN ((size_t)2 << 20)

/* void native__on_stack(void *arg, void (*fn)(void *), void *top): call fn(arg) with the stack
 * pointer at top (16-byte aligned), and return on the caller's stack. A trap leaves through
 * siglongjmp to trap__run, on the caller's stack, which restores the stack pointer. */
__asm__(".text\n"
        ".globl native__on_stack\n"
        ".hidden native__on_stack\n"
        ".type native__on_stack, @function\n"
        "native__on_stack:\n"
        ".cfi_startproc\n"
        "    push %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "    mov %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "    mov %rdx, %rsp\n"
        "    call *%rsi\n"
        "    mov %rbp, %rsp\n"
        "    pop %rbp\n"
        ".cfi_def_cfa %rsp, 8\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size native__on_stack, .-native__on_stack\n");

/* The exec's machine stack, mapped (or remapped, when stack_size grew) to fit its stack_size;
 * false when it cannot be mapped (the run then uses the thread's stack, bounded by it). */
static bool ensure_stack(struct wasmslot_exec *ex, size_t page)
{
    size_t want = ex->stack_bytes * STACK_PER_BYTE + STACK_RESERVE + page;
    want = (want + page - 1) / page * page;
    if (ex->native_stack != NULL && ex->native_stack_size >= want)
        return true;
    if (ex->native_stack != NULL)
        munmap(ex->native_stack, ex->native_stack_size);
    ex->native_stack = NULL;
    /* Only what a run touches is ever backed: MAP_NORESERVE, no MAP_POPULATE. Mapped with
     * STACK_ALIGN to spare, then trimmed so that the top ends on a STACK_ALIGN boundary. */
    uint8_t *m = mmap(NULL, want + STACK_ALIGN, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return false;
    uint8_t *top = (uint8_t *)(((uintptr_t)m + want + STACK_ALIGN) & ~(uintptr_t)(STACK_ALIGN - 1));
    uint8_t *p = top - want;
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (top < m + want + STACK_ALIGN)
        munmap(top, (size_t)(m + want + STACK_ALIGN - top));
    mprotect(p, page, PROT_NONE); /* the guard page */
    ex->native_stack = p;
    ex->native_stack_size = want;
    return true;
}

/* The lowest address generated code may use on this thread's own stack (the fallback when the
 * exec's stack cannot be mapped). */
static uintptr_t thread_stack_limit(void)
{
    static __thread uintptr_t limit;
    if (limit == 0) {
        pthread_attr_t attr;
        void *lo = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &lo, &size);
            pthread_attr_destroy(&attr);
        }
        if (lo == NULL || size == 0) {
            /* Unknown: allow 1 MiB below the current frame. */
            uintptr_t here = (uintptr_t)__builtin_frame_address(0);
            limit = here - ((uintptr_t)1 << 20);
        } else {
            uintptr_t reserve = size / 2 < STACK_RESERVE ? size / 2 : STACK_RESERVE;
            limit = (uintptr_t)lo + reserve;
        }
    }
    return limit;
}

uintptr_t native__stack_enter(struct wasmslot_exec *ex)
{
    const uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    const uintptr_t lo = (uintptr_t)ex->native_stack;

    if (lo != 0 && here > lo && here < lo + ex->native_stack_size)
        return 0; /* re-entered from a host function: stay, under the limit already set */
    /* Asked once: this runs on every call from C. */
    static _Atomic size_t page_size;
    size_t page = atomic_load_explicit(&page_size, memory_order_relaxed);
    if (page == 0) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page_size, page, memory_order_relaxed);
    }
    if (!ensure_stack(ex, page)) {
        ex->native_stack_limit = thread_stack_limit();
        return 0;
    }
    const uintptr_t base = (uintptr_t)ex->native_stack;
    ex->native_stack_limit = base + page + STACK_RESERVE;
    return (base + ex->native_stack_size) & ~(uintptr_t)15;
}
