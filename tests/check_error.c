/* check_error.c: unit tests of the library's error codes, names and messages. */
#include "config.h"

#include "format/module.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_trap_codes_are_traps)
{
    for (int c = WASMSLOT_TRAP_UNREACHABLE; c <= WASMSLOT_TRAP_UNLINKED_IMPORT; c++) {
        ck_assert(wasmslot_is_trap(-c));
        ck_assert(wasmslot_is_trap(c));
        ck_assert_str_ne(wasmslot_errname(-c), "unknown_error");
        ck_assert_str_ne(wasmslot_strerror(-c), "unknown error");
    }
    ck_assert(!wasmslot_is_trap(-WASMSLOT_EMALFORMED));
    ck_assert(!wasmslot_is_trap(-ENOMEM));
    ck_assert(!wasmslot_is_trap(0));
}
END_TEST

START_TEST(test_messages_follow_the_spec_wording)
{
    ck_assert_str_eq(wasmslot_strerror(-WASMSLOT_TRAP_DIV_ZERO), "integer divide by zero");
    ck_assert_str_eq(wasmslot_strerror(-WASMSLOT_TRAP_OOB_MEMORY), "out of bounds memory access");
    ck_assert_str_eq(wasmslot_strerror(-WASMSLOT_TRAP_STACK_EXHAUSTED), "call stack exhausted");
    ck_assert_str_eq(wasmslot_strerror(-WASMSLOT_EEXHAUSTED), "pool exhausted");
    ck_assert_str_eq(wasmslot_errname(-WASMSLOT_TRAP_TIMEOUT), "timeout");
    ck_assert_str_eq(wasmslot_strerror(-ENOMEM), strerror(ENOMEM));
    ck_assert_str_eq(wasmslot_errname(-ENOMEM), "system_error");
    ck_assert_str_eq(wasmslot_strerror(0), "success");
    ck_assert_str_eq(wasmslot_strerror(-99999), "unknown error");
}
END_TEST

START_TEST(test_error_set_formats_and_negates)
{
    struct wasmslot_error e;

    ck_assert_int_eq(
        wasmslot_error_set(&e, WASMSLOT_EMALFORMED, "section %u: %s", 3u, "unexpected end"),
        -WASMSLOT_EMALFORMED);
    ck_assert_int_eq(e.code, -WASMSLOT_EMALFORMED);
    ck_assert_str_eq(e.message, "section 3: unexpected end");
    ck_assert_int_eq(wasmslot_error_set(NULL, -WASMSLOT_EINVALID, "x"), -WASMSLOT_EINVALID);

    /* Long messages are truncated, never overflow. */
    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wasmslot_error_set(&e, WASMSLOT_EINVALID, "%s", big);
    ck_assert_uint_eq(strlen(e.message), sizeof(e.message) - 1);
}
END_TEST

START_TEST(test_valtype_names)
{
    ck_assert_str_eq(wasmslot_valtype_name(WASMSLOT_I32), "i32");
    ck_assert_str_eq(wasmslot_valtype_name(WASMSLOT_EXTERNREF), "externref");
    ck_assert_ptr_null(wasmslot_valtype_name((enum wasmslot_valtype)0x40));
}
END_TEST

/* The header's WASMSLOT_VERSION_* macros, the library's wasmslot_version() and configure's
 * AC_INIT version (which names the tarball and wasmslot.pc) must move together. */
START_TEST(test_version_agrees_with_the_package)
{
    char header[32];

    snprintf(header, sizeof header, "%d.%d.%d", WASMSLOT_VERSION_MAJOR, WASMSLOT_VERSION_MINOR,
             WASMSLOT_VERSION_PATCH);
    ck_assert_str_eq(wasmslot_version(), header);
    ck_assert_str_eq(wasmslot_version(), PACKAGE_VERSION);
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("codes");

    tcase_add_test(tc, test_trap_codes_are_traps);
    tcase_add_test(tc, test_messages_follow_the_spec_wording);
    tcase_add_test(tc, test_error_set_formats_and_negates);
    tcase_add_test(tc, test_valtype_names);
    tcase_add_test(tc, test_version_agrees_with_the_package);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(error_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
