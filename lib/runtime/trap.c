/* runtime/trap.c: SIGSEGV/SIGBUS handlers that turn a guest's out-of-bounds access (a fault inside
 * its memory's reservation while it runs) into a trap, and leave every other fault alone. */
#include "config.h"

#include "runtime/trap.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__thread struct trap_tls trap__tls;

static struct sigaction old_segv, old_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static __thread bool altstack_checked;

#define ALTSTACK_SIZE (64 * 1024)

static void chain(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Default action: restore it and return, so the faulting instruction runs again and the
     * process dies with the real signal (a core dump shows the real crash site). */
    signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    struct trap_tls *t = &trap__tls;
    if (t->jmp && t->in_guest && t->mem) {
        uintptr_t a = (uintptr_t)si->si_addr, b = (uintptr_t)t->mem->base;
        if (a >= b && a - b < WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)
            siglongjmp(*t->jmp, WASMSLOT_TRAP_OOB_MEMORY);
    }
    chain(sig, si, uc);
}

static void free_altstack(void *p)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(p);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    pthread_key_create(&altstack_key, free_altstack);
}

/* The handler runs on an alternate stack so that it still works when a host function has
 * exhausted the thread's own stack. */
static void ensure_altstack(void)
{
    stack_t old;
    if (altstack_checked)
        return;
    altstack_checked = true;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
        return;
    void *mem = malloc(ALTSTACK_SIZE);
    if (!mem)
        return;
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        free(mem);
        return;
    }
    pthread_setspecific(altstack_key, mem);
}

int trap__run(struct wasmslot_exec *ex, struct wasmslot_memory *mem,
              int (*run)(struct wasmslot_exec *ex, void *arg), void *arg)
{
    pthread_once(&install_once, install);
    ensure_altstack();

    const struct trap_tls saved = trap__tls;
    sigjmp_buf jb;
    int rc, code;
    if ((code = sigsetjmp(jb, 0)) == 0) {
        trap__tls.jmp = &jb;
        trap__tls.mem = mem;
        trap__tls.in_guest = true;
        rc = run(ex, arg);
    } else {
        rc = -code;
    }
    trap__tls = saved;
    return rc;
}

void trap__raise(int code)
{
    siglongjmp(*trap__tls.jmp, code);
}
