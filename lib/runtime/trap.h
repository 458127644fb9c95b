/* runtime/trap.h: turning guest memory faults (SIGSEGV/SIGBUS in a memory's reservation) into
 * out-of-bounds traps for the thread that runs the guest (private to libwasmslot). */
#ifndef TRAP_H
#define TRAP_H

#include "runtime/runtime.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

/* What the fault handler needs to know about the current thread. */
struct trap_tls {
    sigjmp_buf *jmp;             /* where a guest fault jumps to; NULL outside wasmslot_call */
    struct wasmslot_memory *mem; /* the running instance's memory (NULL: none) */
    bool in_guest;               /* false while a host function runs */
};

extern __thread struct trap_tls trap__tls;

/* Run run(ex, arg) with fault recovery: installs the handlers (if nobody did yet) and an
 * alternate signal stack (once per thread), publishes the jump buffer and the memory mem of the
 * instance that runs, and restores the previous state afterwards (so re-entry nests). Returns
 * run's result; -WASMSLOT_TRAP_OOB_MEMORY when the guest faulted in its memory; -code when the
 * guest left through trap__raise(code). */
int trap__run(struct wasmslot_exec *ex, struct wasmslot_memory *mem,
              int (*run)(struct wasmslot_exec *ex, void *arg), void *arg);

/* Tell the fault handler how to recognise a tier's generated code: a fault whose PC is_code
 * accepts, while guest code runs, is a guest's out-of-bounds access to some instance's memory
 * (generated code calls other instances' code without publishing their memory). is_code must
 * be async-signal-safe. runtime/tiers.c sets it before handing out a tier that generates code;
 * setting it again replaces it. Only the x86-64 build with LLVM reads it. */
void trap__set_code_test(bool (*is_code)(uintptr_t pc));

/* End the innermost trap__run of this thread with -code (a WASMSLOT_TRAP_* code). Only for
 * code that trap__run entered and that holds no resources: generated code and the runtime
 * helpers it calls. */
__attribute__((noreturn, cold)) void trap__raise(int code);

#endif
