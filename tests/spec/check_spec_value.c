/* check_spec_value.c: unit tests of the spec runner's value parsing and result matching
 * (NaN patterns, bit-exact floats, reference handles). */
#include "config.h"

#include "spec.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static json_t *val(const char *type, const char *value)
{
    return value != NULL ? json_pack("{s:s, s:s}", "type", type, "value", value)
                         : json_pack("{s:s}", "type", type);
}

static struct spec_expect expect(const char *type, const char *value)
{
    struct spec_expect e;
    char msg[128];
    json_t *j = val(type, value);

    ck_assert_int_eq(spec_expect_parse(j, &e, msg, sizeof(msg)), 0);
    json_decref(j);
    return e;
}

static struct wasmslot_value f32(uint32_t bits)
{
    struct wasmslot_value v = {.type = WASMSLOT_F32};

    v.of.f32 = bits;
    return v;
}

static struct wasmslot_value f64(uint64_t bits)
{
    struct wasmslot_value v = {.type = WASMSLOT_F64};

    v.of.f64 = bits;
    return v;
}

START_TEST(test_integers_parse_as_unsigned_bit_patterns)
{
    struct wasmslot_value v;
    char msg[128];
    json_t *j;

    j = val("i32", "4294967295");
    ck_assert_int_eq(spec_value_parse(j, &v, msg, sizeof(msg)), 0);
    ck_assert_int_eq(v.type, WASMSLOT_I32);
    ck_assert_uint_eq(v.of.i32, 0xffffffffu);
    json_decref(j);

    j = val("i64", "18446744073709551615");
    ck_assert_int_eq(spec_value_parse(j, &v, msg, sizeof(msg)), 0);
    ck_assert(v.of.i64 == UINT64_MAX);
    json_decref(j);

    j = val("i32", "4294967296"); /* one past the range */
    ck_assert_int_eq(spec_value_parse(j, &v, msg, sizeof(msg)), -1);
    json_decref(j);

    j = val("i32", "-1");
    ck_assert_int_eq(spec_value_parse(j, &v, msg, sizeof(msg)), -1);
    json_decref(j);

    j = val("v129", "0");
    ck_assert_int_eq(spec_value_parse(j, &v, msg, sizeof(msg)), -1);
    ck_assert_ptr_nonnull(strstr(msg, "v129"));
    json_decref(j);
}
END_TEST

START_TEST(test_floats_compare_by_bits)
{
    struct spec_expect e = expect("f32", "2143289344"); /* 0x7fc00000 */
    struct wasmslot_value v = f32(0x7fc00000u);

    ck_assert(spec_expect_match(&e, WASMSLOT_F32, &v));
    v = f32(0xffc00000u); /* same NaN, other sign: a different bit pattern */
    ck_assert(!spec_expect_match(&e, WASMSLOT_F32, &v));

    e = expect("f64", "9223372036854775808"); /* -0.0 */
    v = f64(0x8000000000000000ull);
    ck_assert(spec_expect_match(&e, WASMSLOT_F64, &v));
    v = f64(0);
    ck_assert(!spec_expect_match(&e, WASMSLOT_F64, &v));
    /* The declared type must agree too. */
    ck_assert(!spec_expect_match(&e, WASMSLOT_I64, &v));
}
END_TEST

START_TEST(test_nan_canonical_accepts_either_sign_only)
{
    struct spec_expect e = expect("f32", "nan:canonical");
    struct wasmslot_value v;

    ck_assert_int_eq(e.match, SPEC_MATCH_NAN_CANONICAL);
    v = f32(0x7fc00000u);
    ck_assert(spec_expect_match(&e, WASMSLOT_F32, &v));
    v = f32(0xffc00000u);
    ck_assert(spec_expect_match(&e, WASMSLOT_F32, &v));
    v = f32(0x7fc00001u); /* quiet, but with a payload */
    ck_assert(!spec_expect_match(&e, WASMSLOT_F32, &v));
    v = f32(0x7f800000u); /* infinity */
    ck_assert(!spec_expect_match(&e, WASMSLOT_F32, &v));

    e = expect("f64", "nan:canonical");
    v = f64(0xfff8000000000000ull);
    ck_assert(spec_expect_match(&e, WASMSLOT_F64, &v));
    v = f64(0x7ff8000000000001ull);
    ck_assert(!spec_expect_match(&e, WASMSLOT_F64, &v));
}
END_TEST

START_TEST(test_nan_arithmetic_needs_the_quiet_bit)
{
    struct spec_expect e = expect("f32", "nan:arithmetic");
    struct wasmslot_value v;

    v = f32(0x7fc00001u);
    ck_assert(spec_expect_match(&e, WASMSLOT_F32, &v));
    v = f32(0xffffffffu);
    ck_assert(spec_expect_match(&e, WASMSLOT_F32, &v));
    v = f32(0x7f800001u); /* signalling NaN */
    ck_assert(!spec_expect_match(&e, WASMSLOT_F32, &v));

    e = expect("f64", "nan:arithmetic");
    v = f64(0x7ff8000000000123ull);
    ck_assert(spec_expect_match(&e, WASMSLOT_F64, &v));
    v = f64(0x7ff0000000000001ull);
    ck_assert(!spec_expect_match(&e, WASMSLOT_F64, &v));
}
END_TEST

START_TEST(test_references_map_handles_to_non_null_pointers)
{
    struct spec_expect e = expect("externref", "0");
    struct wasmslot_value v = {.type = WASMSLOT_EXTERNREF};
    char buf[64];

    ck_assert_ptr_nonnull(e.value.of.externref);
    ck_assert(spec_handle_of_externref(spec_externref_of_handle(42)) == 42);
    v.of.externref = spec_externref_of_handle(0);
    ck_assert(spec_expect_match(&e, WASMSLOT_EXTERNREF, &v));
    v.of.externref = NULL;
    ck_assert(!spec_expect_match(&e, WASMSLOT_EXTERNREF, &v));

    e = expect("externref", "null");
    ck_assert(spec_expect_match(&e, WASMSLOT_EXTERNREF, &v));
    e = expect("funcref", "null");
    v.type = WASMSLOT_FUNCREF;
    v.of.funcref = NULL;
    ck_assert(spec_expect_match(&e, WASMSLOT_FUNCREF, &v));

    v.type = WASMSLOT_EXTERNREF;
    v.of.externref = spec_externref_of_handle(7);
    spec_value_format(WASMSLOT_EXTERNREF, &v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "externref:7");
}
END_TEST

START_TEST(test_format_names_nans)
{
    struct wasmslot_value v = f32(0x7fc00000u);
    struct spec_expect e = expect("f64", "nan:arithmetic");
    char buf[64];

    spec_value_format(WASMSLOT_F32, &v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f32:0x7fc00000 (nan)");
    spec_expect_format(&e, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f64:nan:arithmetic");
}
END_TEST

static Suite *spec_value_suite(void)
{
    Suite *s = suite_create("spec_value");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_integers_parse_as_unsigned_bit_patterns);
    tcase_add_test(tc, test_floats_compare_by_bits);
    tcase_add_test(tc, test_nan_canonical_accepts_either_sign_only);
    tcase_add_test(tc, test_nan_arithmetic_needs_the_quiet_bit);
    tcase_add_test(tc, test_references_map_handles_to_non_null_pointers);
    tcase_add_test(tc, test_format_names_nans);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spec_value_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
