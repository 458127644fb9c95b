/* check_signals.c: the library's signal contract (wasmslot.h, "Signals"): a guest's
 * out-of-bounds access stays a trap when the host installs SIGSEGV handlers of its own, before
 * or after the library's, and the host's own faults still reach the host. Linked against the
 * shared library, through the public header only. Each test runs in its own process (Check
 * forks), so each starts with the default handlers. */
#include "config.h"

#include "wasm_fixture.h"
#include "wasmslot.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the host */

/* A page of the host's own that faults until the host's handler opens it, as a host's guard
 * page or lazily mapped region would. */
static volatile char *host_page;
static volatile int host_faults;
static volatile int host_foreign; /* faults the host's handler did not recognise */
static struct sigaction host_displaced;
static bool host_chains;

static void host_handler(int sig, siginfo_t *si, void *uc)
{
    char *p = (char *)host_page;
    if ((char *)si->si_addr >= p && (char *)si->si_addr < p + 4096) {
        host_faults++;
        mprotect(p, 4096, PROT_READ | PROT_WRITE);
        return;
    }
    host_foreign++;
    if (host_foreign > 1)
        _exit(42); /* called round in a loop: the chain came back to us */
    if (host_chains && (host_displaced.sa_flags & SA_SIGINFO) && host_displaced.sa_sigaction) {
        host_displaced.sa_sigaction(sig, si, uc);
        return;
    }
    /* A host that does not chain: a guest fault reaching it is the failure under test. */
    _exit(43);
}

static void host_install(bool chains)
{
    struct sigaction sa;

    host_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(host_page != MAP_FAILED);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = host_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    host_chains = chains;
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, &host_displaced), 0);
}

/* The host touches its own page: its handler must see the fault, whatever the library did. */
static void host_touches_its_page(void)
{
    int before = host_faults;
    host_page[100] = 7;
    ck_assert_int_eq(host_faults, before + 1);
    ck_assert_int_eq(host_page[100], 7);
}

/* ---------------------------------------------------------------- the guest */

static struct wasmslot_exec *new_exec(void)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_exec *ex = wasmslot_exec_new(NULL, &err);
    ck_assert_msg(ex != NULL, "exec: %s", err.message);
    return ex;
}

/* Run peek(addr) of signals.wat on a fresh instance on ex (NULL: a new one); returns
 * wasmslot_call's code. */
static int guest_peek_on(struct wasmslot_exec *given, uint32_t addr)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_module *m = fixture_module("signals");
    struct wasmslot_exec *ex = given != NULL ? given : new_exec();
    struct wasmslot_instance *inst = wasmslot_instance_new(m, NULL, &err);
    ck_assert_msg(inst != NULL, "instance: %s", err.message);
    struct wasmslot_extern e;
    ck_assert_int_eq(wasmslot_instance_export(inst, "peek", 4, &e), 0);
    struct wasmslot_value arg = {.type = WASMSLOT_I32, .of.i32 = addr}, res;
    int rc = wasmslot_call(ex, e.of.func, &arg, 1, &res, 1);
    wasmslot_instance_free(inst);
    if (given == NULL)
        wasmslot_exec_free(ex);
    wasmslot_module_free(m);
    return rc;
}

static int guest_peek(uint32_t addr)
{
    return guest_peek_on(NULL, addr);
}

#define OOB (1u << 20) /* past the one page of signals.wat's memory */

/* ---------------------------------------------------------------- tests */

START_TEST(test_host_before_library)
{
    host_install(false);
    ck_assert_int_eq(wasmslot_trap_handlers_install(), 0);
    ck_assert_int_eq(guest_peek(OOB), -WASMSLOT_TRAP_OOB_MEMORY);
    host_touches_its_page(); /* the library passed the host's fault on */
    ck_assert_int_eq(host_foreign, 0);
}
END_TEST

START_TEST(test_lazy_install_on_first_call)
{
    ck_assert_int_eq(wasmslot_trap_handlers_check(), 0); /* nothing installed yet: fine */
    ck_assert_int_eq(guest_peek(OOB), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(guest_peek(8), 0);
}
END_TEST

/* The host installs a chaining handler after the library, and runs guests on an execution
 * context made before: guest faults go host -> library and end as traps; the host's own
 * faults stay the host's. */
START_TEST(test_host_after_library_chaining)
{
    ck_assert_int_eq(wasmslot_trap_handlers_install(), 0);
    struct wasmslot_exec *ex = new_exec();
    host_install(true);
    ck_assert_int_eq(guest_peek_on(ex, OOB), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(host_foreign, 1); /* it saw the guest's fault and passed it on */
    host_touches_its_page();
    wasmslot_exec_free(ex);
}
END_TEST

/* A host handler that does not chain, installed after the library: the library says so
 * (wasmslot_trap_handlers_check, wasmslot_exec_new) instead of letting a guest's fault reach
 * it; once the host calls install again, guest faults are traps and its own faults are its. */
START_TEST(test_host_after_library_reinstall)
{
    struct wasmslot_error err = {0, ""};

    ck_assert_int_eq(wasmslot_trap_handlers_install(), 0);
    host_install(false);
    ck_assert_int_eq(wasmslot_trap_handlers_check(), -WASMSLOT_ESIGNALS);
    ck_assert_ptr_null(wasmslot_exec_new(NULL, &err));
    ck_assert_int_eq(err.code, -WASMSLOT_ESIGNALS);
    ck_assert_msg(strstr(err.message, "wasmslot_trap_handlers_install") != NULL, "%s",
                  err.message);

    ck_assert_int_eq(wasmslot_trap_handlers_install(), 0);
    ck_assert_int_eq(wasmslot_trap_handlers_check(), 0);
    ck_assert_int_eq(guest_peek(OOB), -WASMSLOT_TRAP_OOB_MEMORY);
    ck_assert_int_eq(host_foreign, 0);
    host_touches_its_page();
    ck_assert_int_eq(guest_peek(OOB), -WASMSLOT_TRAP_OOB_MEMORY);
}
END_TEST

/* Library, then a chaining host, then the library in front again: the host chains back to the
 * library's handler, which must send a fault nobody owns on to the default action (death by
 * SIGSEGV), not round the loop (the host's handler would _exit(42)). */
START_TEST(test_chain_loop_ends_in_default_action)
{
    ck_assert_int_eq(wasmslot_trap_handlers_install(), 0);
    host_install(true);
    ck_assert_int_eq(wasmslot_trap_handlers_install(), 0);
    ck_assert_int_eq(guest_peek(OOB), -WASMSLOT_TRAP_OOB_MEMORY);
    volatile char *nobody = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(nobody != MAP_FAILED);
    nobody[0] = 1; /* nobody's fault */
}
END_TEST

static Suite *signals_suite(void)
{
    Suite *s = suite_create("signals");
    TCase *tc = tcase_create("contract");

    tcase_add_test(tc, test_host_before_library);
    tcase_add_test(tc, test_lazy_install_on_first_call);
    tcase_add_test(tc, test_host_after_library_chaining);
    tcase_add_test(tc, test_host_after_library_reinstall);
    tcase_add_test_raise_signal(tc, test_chain_loop_ends_in_default_action, SIGSEGV);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(signals_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
