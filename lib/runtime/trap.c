/* runtime/trap.c: SIGSEGV/SIGBUS handlers that turn a guest's out-of-bounds access (a fault inside
 * its memory's reservation while it runs) into a trap, and leave every other fault alone. */
#include "config.h"

/* Traps leave generated code, which runs on an exec's own stack (native/tier.c), through
 * siglongjmp to trap__run on the thread's stack: a jump between stacks that glibc's fortified
 * siglongjmp would take for a corrupt one. */
#undef _FORTIFY_SOURCE

#include "runtime/trap.h"

#ifdef HAVE_LLVM
#include <ucontext.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__thread struct trap_tls trap__tls;

/* The handlers the library displaced: `first_*` at its first install (what the process had
 * before the library), `old_*` at its latest (the same, or a host's handler it went back in
 * front of). Written under install_mu before the library's handler goes in, so the handler
 * reads settled values. */
static struct sigaction first_segv, first_bus, old_segv, old_bus;
static pthread_mutex_t install_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool installed;
static pthread_key_t altstack_key;
static __thread bool altstack_checked;
/* This thread is inside a handler the library chained to: if that handler chains back to the
 * library's (it displaced it), the fault goes on down the chain instead of round it. */
static __thread bool chaining;

#define ALTSTACK_SIZE (64 * 1024)

/* trap__set_code_test's test, read by the handler (a lock-free atomic load is
 * async-signal-safe). Set before any generated code exists, so before it can fault. */
static _Atomic(bool (*)(uintptr_t)) code_test;

void trap__set_code_test(bool (*is_code)(uintptr_t pc))
{
    atomic_store_explicit(&code_test, is_code, memory_order_release);
}

static void on_fault(int sig, siginfo_t *si, void *uc);

static bool is_ours(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_fault;
}

/* Pass a fault that is not a guest's to handler `old`, or give it the default action. */
static void chain_to(int sig, siginfo_t *si, void *uc, const struct sigaction *old)
{
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        chaining = true;
        old->sa_sigaction(sig, si, uc);
        chaining = false;
        return;
    }
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        chaining = true;
        old->sa_handler(sig);
        chaining = false;
        return;
    }
    /* Default action: restore it and return, so the faulting instruction runs again and the
     * process dies with the real signal (a core dump shows the real crash site). */
    signal(sig, SIG_DFL);
}

/* Whether the fault is the running guest's out-of-bounds access: a fault inside the
 * reservation of the memory of the instance that runs, while guest code (not a host function)
 * runs under trap__run on this thread. A tier whose generated code can fault elsewhere says
 * so through trap__set_code_test. */
static bool guest_fault(const struct trap_tls *t, const siginfo_t *si, const void *uc)
{
    if (!t->jmp || !t->in_guest)
        return false;
#ifdef HAVE_LLVM
    /* The native tier's code calls other instances' code directly, without publishing their
     * memory: a fault whose PC is in generated code is a guest access to some instance's
     * memory. */
    bool (*is_code)(uintptr_t) = atomic_load_explicit(&code_test, memory_order_acquire);
    if (is_code != NULL && is_code((uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP]))
        return true;
#endif
    if (!t->mem)
        return false;
    uintptr_t a = (uintptr_t)si->si_addr, b = (uintptr_t)t->mem->base;
    return a >= b && a - b < WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    struct trap_tls *t = &trap__tls;
    if (guest_fault(t, si, uc))
        siglongjmp(*t->jmp, WASMSLOT_TRAP_OOB_MEMORY);
    if (chaining) {
        /* Back from a handler we chained to: on to what the process had before us. */
        chaining = false;
        chain_to(sig, si, uc, sig == SIGSEGV ? &first_segv : &first_bus);
        return;
    }
    chain_to(sig, si, uc, sig == SIGSEGV ? &old_segv : &old_bus);
}

static void free_altstack(void *p)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(p);
}

/* Put the library's handler for sig in front, remembering the one it displaces. */
static int install_one(int sig, struct sigaction *first, struct sigaction *old)
{
    struct sigaction cur, sa;

    if (sigaction(sig, NULL, &cur) < 0)
        return -errno;
    if (is_ours(&cur))
        return 0;
    *old = cur;
    if (!atomic_load_explicit(&installed, memory_order_relaxed))
        *first = cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

int wasmslot_trap_handlers_install(void)
{
    int rc;

    pthread_mutex_lock(&install_mu);
    if (!atomic_load_explicit(&installed, memory_order_relaxed) &&
        (rc = pthread_key_create(&altstack_key, free_altstack)) != 0) {
        pthread_mutex_unlock(&install_mu);
        return -rc;
    }
    rc = install_one(SIGSEGV, &first_segv, &old_segv);
    if (rc == 0)
        rc = install_one(SIGBUS, &first_bus, &old_bus);
    if (rc == 0)
        atomic_store_explicit(&installed, true, memory_order_release);
    pthread_mutex_unlock(&install_mu);
    return rc;
}

int wasmslot_trap_handlers_check(void)
{
    struct sigaction cur;

    if (!atomic_load_explicit(&installed, memory_order_acquire))
        return 0;
    if (sigaction(SIGSEGV, NULL, &cur) < 0 || !is_ours(&cur) || sigaction(SIGBUS, NULL, &cur) < 0 ||
        !is_ours(&cur))
        return -WASMSLOT_ESIGNALS;
    return 0;
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
    if (!atomic_load_explicit(&installed, memory_order_acquire)) {
        int irc = wasmslot_trap_handlers_install();
        if (irc < 0)
            return irc;
    }
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
