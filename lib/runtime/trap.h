/* runtime/trap.h: turning guest memory faults (SIGSEGV/SIGBUS in a memory's reservation) into
 * out-of-bounds traps for the thread that runs the guest (private to libwasmslot). */
#ifndef TRAP_H
#define TRAP_H

#include "interp/ops.h"

#include <setjmp.h>
#include <stdbool.h>

/* What the fault handler needs to know about the current thread. */
struct trap_tls {
    sigjmp_buf *jmp;             /* where a guest fault jumps to; NULL outside wasmslot_call */
    struct wasmslot_memory *mem; /* the running instance's memory (NULL: none) */
    bool in_guest;               /* false while a host function runs */
};

extern __thread struct trap_tls trap__tls;

/* Run fn on a frame at fp with fault recovery: installs the handlers (once per process) and
 * an alternate signal stack (once per thread), publishes the jump buffer and inst's memory,
 * and restores the previous state afterwards (so re-entry nests). Returns interp__run's
 * result, or -WASMSLOT_TRAP_OOB_MEMORY when the guest faulted in its memory. */
int trap__run(struct wasmslot_exec *ex, const struct interp_func *fn, wasmslot_cell *fp,
              struct wasmslot_instance *inst);

#endif
