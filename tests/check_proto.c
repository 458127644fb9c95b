/* check_proto.c: unit tests of the wire protocol library (proto/): requests, replies, typed
 * values, framing and stats rendering. */
#include "config.h"

#include "proto.h"

#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parse a NUL-terminated request line. */
static enum proto_err parse(struct proto_request *req, const char *line)
{
    return proto_request_parse(req, line, strlen(line), 0);
}

/* Parse a line that must fail with `code`; also checks the error reply it produces. */
static void expect_error(const char *line, enum proto_err code, const char *id_json)
{
    struct proto_request req;
    enum proto_err e = parse(&req, line);
    char *reply;
    json_t *j, *id;

    ck_assert_msg(e == code, "%s: got %s, want %s (%s)", line, proto_err_code(e),
                  proto_err_code(code), req.message);
    ck_assert_int_eq(req.error, code);
    ck_assert_msg(req.message[0] != '\0', "%s: no message", line);
    reply = proto_line(proto_reply_request_error(&req), NULL);
    ck_assert_ptr_nonnull(reply);
    j = json_loads(reply, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_false(json_object_get(j, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     proto_err_code(code));
    id = json_object_get(j, "id");
    ck_assert_ptr_nonnull(id);
    {
        char *ids = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);

        ck_assert_str_eq(ids, id_json);
        free(ids);
    }
    json_decref(j);
    free(reply);
    proto_request_release(&req);
}

/* ---------------------------------------------------------------- parsing every op */

START_TEST(test_parse_ping_modules)
{
    struct proto_request req;

    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"ping\"}"), PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_PING);
    ck_assert(json_integer_value(req.id) == 1);
    proto_request_release(&req);

    ck_assert_int_eq(parse(&req, "{\"op\":\"modules\",\"extra\":[1,2]}"), PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_MODULES);
    ck_assert_ptr_null(req.id);
    proto_request_release(&req);

    /* Any scalar is an id. */
    ck_assert_int_eq(parse(&req, "{\"id\":\"abc\",\"op\":\"ping\"}"), PROTO_OK);
    ck_assert_str_eq(json_string_value(req.id), "abc");
    proto_request_release(&req);
    ck_assert_int_eq(parse(&req, "{\"id\":null,\"op\":\"ping\"}"), PROTO_OK);
    ck_assert(json_is_null(req.id));
    proto_request_release(&req);
    ck_assert_int_eq(parse(&req, " {\"id\":2.5,\"op\":\"ping\"}\r"), PROTO_OK);
    ck_assert(json_is_real(req.id));
    proto_request_release(&req);
}
END_TEST

START_TEST(test_parse_instantiate_terminate)
{
    struct proto_request req;

    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"instantiate\",\"module\":\"add\"}"), PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_INSTANTIATE);
    ck_assert_str_eq(req.module, "add");
    proto_request_release(&req);

    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"terminate\",\"instance\":\"i7\"}"), PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_TERMINATE);
    ck_assert_str_eq(req.instance, "i7");
    proto_request_release(&req);

    /* An integer handle is compared as its decimal text. */
    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"terminate\",\"instance\":12}"), PROTO_OK);
    ck_assert_str_eq(req.instance, "12");
    proto_request_release(&req);
}
END_TEST

START_TEST(test_parse_run_call)
{
    struct proto_request req;

    ck_assert_int_eq(parse(&req, "{\"id\":\"r\",\"op\":\"run\",\"instance\":\"i1\",\"export\":"
                                 "\"add\",\"args\":[{\"type\":\"i32\",\"value\":2},{\"type\":"
                                 "\"i64\",\"value\":\"-3\"}],\"deadline_ms\":250}"),
                     PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_RUN);
    ck_assert_str_eq(req.instance, "i1");
    ck_assert_str_eq(req.export_name, "add");
    ck_assert_uint_eq(req.export_len, 3);
    ck_assert_uint_eq(req.nargs, 2);
    ck_assert_int_eq(req.args[0].type, WASMSLOT_I32);
    ck_assert_uint_eq(req.args[0].of.i32, 2);
    ck_assert_int_eq(req.args[1].type, WASMSLOT_I64);
    ck_assert_uint_eq(req.args[1].of.i64, (uint64_t)-3);
    ck_assert(req.has_deadline);
    ck_assert_uint_eq(req.deadline_ms, 250);
    proto_request_release(&req);

    ck_assert_int_eq(parse(&req, "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\"}"), PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_CALL);
    ck_assert_str_eq(req.module, "m");
    ck_assert_str_eq(req.export_name, "f");
    ck_assert_uint_eq(req.nargs, 0);
    ck_assert_ptr_null(req.args);
    ck_assert(!req.has_deadline);
    proto_request_release(&req);

    /* Export names may hold NUL; the length tells. */
    ck_assert_int_eq(parse(&req, "{\"op\":\"call\",\"module\":\"m\",\"export\":\"a\\u0000b\"}"),
                     PROTO_OK);
    ck_assert_uint_eq(req.export_len, 3);
    ck_assert_int_eq(memcmp(req.export_name, "a\0b", 3), 0);
    proto_request_release(&req);

    /* WASI fields. */
    ck_assert_int_eq(parse(&req, "{\"op\":\"call\",\"module\":\"m\",\"export\":\"_start\","
                                 "\"argv\":[\"m\",\"x\"],\"env\":[\"A=1\"],\"stdin\":{\"base64\":"
                                 "\"aGk=\"}}"),
                     PROTO_OK);
    ck_assert_uint_eq(json_array_size(req.argv), 2);
    ck_assert_uint_eq(json_array_size(req.env), 1);
    ck_assert(json_is_object(req.stdin_data));
    proto_request_release(&req);
}
END_TEST

START_TEST(test_parse_stats)
{
    struct proto_request req;

    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"stats\"}"), PROTO_OK);
    ck_assert_int_eq(req.op, PROTO_OP_STATS);
    ck_assert_int_eq(req.stats_format, PROTO_STATS_JSON);
    proto_request_release(&req);
    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"stats\",\"format\":\"prometheus\"}"),
                     PROTO_OK);
    ck_assert_int_eq(req.stats_format, PROTO_STATS_PROMETHEUS);
    proto_request_release(&req);
    ck_assert_int_eq(parse(&req, "{\"id\":1,\"op\":\"stats\",\"format\":\"openmetrics\"}"),
                     PROTO_OK);
    ck_assert_int_eq(req.stats_format, PROTO_STATS_OPENMETRICS);
    proto_request_release(&req);
}
END_TEST

/* "threads" of a call (PROTOCOL.md 4.6.1): an integer in [1, PROTO_MAX_THREADS], call only. */
START_TEST(test_parse_threads)
{
    struct proto_request req;

    ck_assert_int_eq(parse(&req, "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\"}"), PROTO_OK);
    ck_assert_uint_eq(req.threads, 0);
    proto_request_release(&req);
    ck_assert_int_eq(parse(&req, "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\","
                                 "\"args\":[{\"type\":\"i32\",\"value\":5}],\"threads\":4}"),
                     PROTO_OK);
    ck_assert_uint_eq(req.threads, 4);
    ck_assert_uint_eq(req.nargs, 1);
    proto_request_release(&req);
    ck_assert_int_eq(parse(&req, "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\","
                                 "\"threads\":1024}"),
                     PROTO_OK);
    ck_assert_uint_eq(req.threads, PROTO_MAX_THREADS);
    proto_request_release(&req);
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"threads\":0}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"threads\":1025}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"threads\":\"2\"}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"threads\":1.5}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"run\",\"instance\":\"7\",\"export\":\"f\",\"threads\":2}",
                 PROTO_E_BAD_FIELD, "1");
}
END_TEST

/* ---------------------------------------------------------------- every error */

START_TEST(test_not_json)
{
    expect_error("hello", PROTO_E_BAD_JSON, "null");
    expect_error("", PROTO_E_BAD_JSON, "null");
    expect_error("{\"id\":1,\"op\":\"ping\"", PROTO_E_BAD_JSON, "null");
    expect_error("{\"id\":1,\"op\":\"ping\"} {}", PROTO_E_BAD_JSON, "null");
    expect_error("{\"id\":1,\"op\":\"ping\",\"op\":\"stats\"}", PROTO_E_BAD_JSON, "null");
    expect_error("{\"id\":\"\xff\xfe\",\"op\":\"ping\"}", PROTO_E_BAD_JSON, "null");
}
END_TEST

START_TEST(test_not_object)
{
    expect_error("5", PROTO_E_NOT_OBJECT, "null");
    expect_error("[1,2]", PROTO_E_NOT_OBJECT, "null");
    expect_error("\"ping\"", PROTO_E_NOT_OBJECT, "null");
    expect_error("null", PROTO_E_NOT_OBJECT, "null");
}
END_TEST

START_TEST(test_bad_op)
{
    expect_error("{\"id\":1,\"op\":\"fly\"}", PROTO_E_UNKNOWN_OP, "1");
    expect_error("{\"id\":1,\"op\":\"PING\"}", PROTO_E_UNKNOWN_OP, "1");
    expect_error("{\"id\":1}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":\"x\",\"op\":7}", PROTO_E_BAD_FIELD, "\"x\"");
    expect_error("{\"id\":{\"a\":1},\"op\":\"ping\"}", PROTO_E_BAD_FIELD, "null");
    expect_error("{\"id\":[1],\"op\":\"ping\"}", PROTO_E_BAD_FIELD, "null");
}
END_TEST

START_TEST(test_missing_and_mistyped_fields)
{
    expect_error("{\"id\":1,\"op\":\"instantiate\"}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"instantiate\",\"module\":3}", PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"instantiate\",\"module\":\"\"}", PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"instantiate\",\"module\":\"a\\u0000b\"}", PROTO_E_BAD_FIELD,
                 "1");
    expect_error("{\"id\":1,\"op\":\"terminate\"}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"terminate\",\"instance\":true}", PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"terminate\",\"instance\":-1}", PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"terminate\",\"instance\":\"\"}", PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"terminate\",\"instance\":"
                 "\"0123456789012345678901234567890123456789012345678901234567890123\"}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"run\",\"export\":\"f\"}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"run\",\"instance\":\"i1\"}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"run\",\"instance\":\"i1\",\"export\":[]}", PROTO_E_BAD_FIELD,
                 "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"export\":\"f\"}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\"}", PROTO_E_MISSING_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":{}}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"deadline_ms\":0}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"deadline_ms\":1.5}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"deadline_ms\":"
                 "\"10\"}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"argv\":[1]}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"env\":[\"A\"]}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"stdin\":5}",
                 PROTO_E_BAD_FIELD, "1");
    expect_error("{\"id\":1,\"op\":\"stats\",\"format\":\"xml\"}", PROTO_E_BAD_FIELD, "1");
}
END_TEST

START_TEST(test_bad_typed_values)
{
    static const char *const bad[] = {
        "5",
        "{\"value\":1}",
        "{\"type\":\"i33\",\"value\":1}",
        "{\"type\":\"funcref\",\"value\":null}",
        "{\"type\":\"i32\"}",
        "{\"type\":\"i32\",\"value\":4294967296}",
        "{\"type\":\"i32\",\"value\":-2147483649}",
        "{\"type\":\"i32\",\"value\":1.0}",
        "{\"type\":\"i32\",\"value\":\"x\"}",
        "{\"type\":\"i32\",\"value\":\"0x123456789\"}",
        "{\"type\":\"i32\",\"value\":true}",
        "{\"type\":\"i64\",\"value\":\"18446744073709551616\"}",
        "{\"type\":\"i64\",\"value\":\"-9223372036854775809\"}",
        "{\"type\":\"i64\",\"value\":\"12abc\"}",
        "{\"type\":\"i64\",\"value\":\"\"}",
        "{\"type\":\"i64\",\"value\":null}",
        "{\"type\":\"f32\",\"value\":1e300}",
        "{\"type\":\"f32\",\"value\":\"nan(1)\"}",
        "{\"type\":\"f32\",\"value\":\"0x1p3\"}",
        "{\"type\":\"f64\",\"value\":\"0x12345678123456789\"}",
        "{\"type\":\"f64\",\"value\":[]}",
        "{\"type\":\"f64\",\"value\":\"infinity\"}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[256];

        snprintf(line, sizeof(line),
                 "{\"id\":9,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[%s]}",
                 bad[i]);
        expect_error(line, PROTO_E_BAD_VALUE, "9");
    }
}
END_TEST

START_TEST(test_oversize)
{
    struct proto_request req;
    size_t n = 100;
    char *line = malloc(n + 1);

    memset(line, ' ', n);
    memcpy(line, "{\"op\":\"ping\"}", 13);
    line[n] = '\0';
    ck_assert_int_eq(proto_request_parse(&req, line, n, 99), PROTO_E_TOO_LARGE);
    ck_assert_ptr_null(req.id);
    proto_request_release(&req);
    ck_assert_int_eq(proto_request_parse(&req, line, n, 100), PROTO_OK);
    proto_request_release(&req);
    free(line);

    /* The default limit. */
    n = PROTO_DEFAULT_MAX_LINE + 1;
    line = malloc(n);
    memset(line, ' ', n);
    ck_assert_int_eq(proto_request_parse(&req, line, n, 0), PROTO_E_TOO_LARGE);
    proto_request_release(&req);
    free(line);

    /* Too many arguments. */
    {
        json_t *args = json_array();
        json_t *r = json_pack("{s:s, s:s, s:s}", "op", "call", "module", "m", "export", "f");
        char *s;

        for (unsigned i = 0; i <= PROTO_MAX_VALUES; i++)
            json_array_append_new(args, json_pack("{s:s, s:i}", "type", "i32", "value", 1));
        json_object_set_new(r, "args", args);
        s = json_dumps(r, JSON_COMPACT);
        ck_assert_int_eq(parse(&req, s), PROTO_E_BAD_FIELD);
        proto_request_release(&req);
        free(s);
        json_decref(r);
    }
}
END_TEST

/* ---------------------------------------------------------------- typed values */

static struct wasmslot_value mk(enum wasmslot_valtype t, uint64_t bits)
{
    struct wasmslot_value v;

    memset(&v, 0, sizeof(v));
    v.type = t;
    if (t == WASMSLOT_I32)
        v.of.i32 = (uint32_t)bits;
    else if (t == WASMSLOT_F32)
        v.of.f32 = (uint32_t)bits;
    else if (t == WASMSLOT_I64)
        v.of.i64 = bits;
    else
        v.of.f64 = bits;
    return v;
}

static uint64_t bits_of(const struct wasmslot_value *v)
{
    return v->type == WASMSLOT_I32   ? v->of.i32
           : v->type == WASMSLOT_F32 ? v->of.f32
           : v->type == WASMSLOT_I64 ? v->of.i64
                                     : v->of.f64;
}

/* Encode, dump to a wire line, parse the line back, decode: the bits must survive. Returns the
 * JSON text of the value field for further checks (static buffer). */
static const char *round_trip(enum wasmslot_valtype t, uint64_t bits)
{
    static char text[128];
    struct wasmslot_value v = mk(t, bits), back;
    json_t *j = proto_value_to_json(&v), *again;
    char *s, *vs;
    char why[128];

    ck_assert_ptr_nonnull(j);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    again = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(proto_value_from_json(again, &back, why, sizeof(why)), PROTO_OK);
    ck_assert_int_eq(back.type, t);
    ck_assert_msg(bits_of(&back) == bits, "%s: %s came back as %llx", s, wasmslot_valtype_name(t),
                  (unsigned long long)bits_of(&back));
    vs = json_dumps(json_object_get(again, "value"), JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(text, sizeof(text), "%s", vs);
    free(vs);
    json_decref(again);
    free(s);
    return text;
}

static uint32_t f32b(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static uint64_t f64b(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

START_TEST(test_int_round_trips)
{
    ck_assert_str_eq(round_trip(WASMSLOT_I32, 0), "0");
    ck_assert_str_eq(round_trip(WASMSLOT_I32, 42), "42");
    ck_assert_str_eq(round_trip(WASMSLOT_I32, 0xffffffffu), "-1");
    ck_assert_str_eq(round_trip(WASMSLOT_I32, 0x80000000u), "-2147483648");
    ck_assert_str_eq(round_trip(WASMSLOT_I32, 0x7fffffffu), "2147483647");

    ck_assert_str_eq(round_trip(WASMSLOT_I64, 0), "0");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, (uint64_t)INT64_MAX), "\"9223372036854775807\"");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, (uint64_t)INT64_MIN), "\"-9223372036854775808\"");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, UINT64_MAX), "-1");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, (uint64_t)1 << 53), "9007199254740992");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, ((uint64_t)1 << 53) + 1), "\"9007199254740993\"");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, (uint64_t) - ((int64_t)1 << 53)),
                     "-9007199254740992");
    ck_assert_str_eq(round_trip(WASMSLOT_I64, (uint64_t) - (((int64_t)1 << 53) + 1)),
                     "\"-9007199254740993\"");
}
END_TEST

START_TEST(test_float_round_trips)
{
    static const uint32_t f32s[] = {
        0x00000000, 0x80000000,                         /* +0, -0 */
        0x3f800000, 0xbfc00000,                         /* 1, -1.5 */
        0x3dcccccd,                                     /* 0.1f */
        0x00000001, 0x807fffff,                         /* denormals */
        0x7f7fffff, 0x00800000,                         /* FLT_MAX, FLT_MIN */
        0x7f800000, 0xff800000,                         /* +-inf */
        0x7fc00000, 0xffc00000,                         /* canonical NaNs */
        0x7fc00001, 0x7f800001, 0xffffffff, 0x7fa5a5a5, /* NaN payloads, signalling too */
    };
    static const uint64_t f64s[] = {
        0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0x3fb999999999999a,
        0x0000000000000001, 0x7fefffffffffffff, 0x0010000000000000, 0x7ff0000000000000,
        0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000000000001,
        0x7ff0000000000001, 0xffffffffffffffff, 0x7ff4000000000000,
    };

    for (size_t i = 0; i < sizeof(f32s) / sizeof(f32s[0]); i++)
        round_trip(WASMSLOT_F32, f32s[i]);
    for (size_t i = 0; i < sizeof(f64s) / sizeof(f64s[0]); i++)
        round_trip(WASMSLOT_F64, f64s[i]);

    ck_assert_str_eq(round_trip(WASMSLOT_F32, 0x80000000), "-0.0");
    ck_assert_str_eq(round_trip(WASMSLOT_F64, 0x8000000000000000), "-0.0");
    ck_assert_str_eq(round_trip(WASMSLOT_F32, 0x7fc00000), "\"nan\"");
    ck_assert_str_eq(round_trip(WASMSLOT_F32, 0xffc00000), "\"0xffc00000\"");
    ck_assert_str_eq(round_trip(WASMSLOT_F32, 0x7fc00001), "\"0x7fc00001\"");
    ck_assert_str_eq(round_trip(WASMSLOT_F64, 0x7ff8000000000000), "\"nan\"");
    ck_assert_str_eq(round_trip(WASMSLOT_F64, 0x7ff8000000000001), "\"0x7ff8000000000001\"");
    ck_assert_str_eq(round_trip(WASMSLOT_F64, 0xfff0000000000000), "\"-inf\"");
    ck_assert_str_eq(round_trip(WASMSLOT_F64, f64b(1.5)), "1.5");
}
END_TEST

static uint64_t decode_ok(const char *json)
{
    json_error_t jerr;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &jerr);
    struct wasmslot_value v;
    char why[128];

    ck_assert_msg(j != NULL, "%s: %s", json, jerr.text);
    ck_assert_msg(proto_value_from_json(j, &v, why, sizeof(why)) == PROTO_OK, "%s: %s", json, why);
    json_decref(j);
    return bits_of(&v);
}

START_TEST(test_value_input_forms)
{
    ck_assert_uint_eq(decode_ok("{\"type\":\"i32\",\"value\":4294967295}"), 0xffffffffu);
    ck_assert_uint_eq(decode_ok("{\"type\":\"i32\",\"value\":\"-1\"}"), 0xffffffffu);
    ck_assert_uint_eq(decode_ok("{\"type\":\"i32\",\"value\":\"0x80000000\"}"), 0x80000000u);
    ck_assert_uint_eq(decode_ok("{\"type\":\"i64\",\"value\":\"18446744073709551615\"}"),
                      UINT64_MAX);
    ck_assert_uint_eq(decode_ok("{\"type\":\"i64\",\"value\":-9223372036854775808}"),
                      (uint64_t)INT64_MIN);
    ck_assert_uint_eq(decode_ok("{\"type\":\"i64\",\"value\":\"0xffffffffffffffff\"}"), UINT64_MAX);
    ck_assert_uint_eq(decode_ok("{\"type\":\"f32\",\"value\":0.1}"), f32b(0.1f));
    ck_assert_uint_eq(decode_ok("{\"type\":\"f32\",\"value\":3}"), f32b(3.0f));
    ck_assert_uint_eq(decode_ok("{\"type\":\"f32\",\"value\":\"-inf\"}"), 0xff800000u);
    ck_assert_uint_eq(decode_ok("{\"type\":\"f32\",\"value\":\"-nan\"}"), 0xffc00000u);
    ck_assert_uint_eq(decode_ok("{\"type\":\"f32\",\"value\":\"2.5\"}"), f32b(2.5f));
    ck_assert_uint_eq(decode_ok("{\"type\":\"f64\",\"value\":-0.0}"), 0x8000000000000000u);
    ck_assert_uint_eq(decode_ok("{\"type\":\"f64\",\"value\":\"+inf\"}"), 0x7ff0000000000000u);
    ck_assert_uint_eq(decode_ok("{\"type\":\"f64\",\"value\":1e308}"), f64b(1e308));
    ck_assert_uint_eq(decode_ok("{\"type\":\"f64\",\"value\":\"0x7ff0000000000001\"}"),
                      0x7ff0000000000001u);
}
END_TEST

START_TEST(test_value_text)
{
    struct wasmslot_value v;
    char buf[64];

    ck_assert_int_eq(proto_value_parse_text("42", &v), 0);
    ck_assert_int_eq(v.type, WASMSLOT_I32);
    ck_assert_uint_eq(v.of.i32, 42);
    ck_assert_int_eq(proto_value_parse_text("-7", &v), 0);
    ck_assert_uint_eq(v.of.i32, (uint32_t)-7);
    ck_assert_int_eq(proto_value_parse_text("i64:-9223372036854775808", &v), 0);
    ck_assert_int_eq(v.type, WASMSLOT_I64);
    ck_assert_uint_eq(v.of.i64, (uint64_t)INT64_MIN);
    ck_assert_int_eq(proto_value_parse_text("f64:1.5", &v), 0);
    ck_assert_int_eq(v.type, WASMSLOT_F64);
    ck_assert_uint_eq(v.of.f64, f64b(1.5));
    ck_assert_int_eq(proto_value_parse_text("f32:0x7fa00000", &v), 0);
    ck_assert_uint_eq(v.of.f32, 0x7fa00000u);
    ck_assert_int_eq(proto_value_parse_text("f32:-0", &v), 0);
    ck_assert_uint_eq(v.of.f32, 0x80000000u);

    ck_assert_int_eq(proto_value_parse_text("1.5", &v), -EINVAL);
    ck_assert_int_eq(proto_value_parse_text("i32:", &v), -EINVAL);
    ck_assert_int_eq(proto_value_parse_text("i32:4294967296", &v), -EINVAL);
    ck_assert_int_eq(proto_value_parse_text("x32:1", &v), -EINVAL);
    ck_assert_int_eq(proto_value_parse_text("f64:abc", &v), -EINVAL);

    v = mk(WASMSLOT_I32, 0xffffffd6u);
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "i32:-42");
    v = mk(WASMSLOT_I64, (uint64_t)INT64_MAX);
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "i64:9223372036854775807");
    v = mk(WASMSLOT_F32, f32b(0.1f));
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f32:0.1");
    v = mk(WASMSLOT_F64, f64b(0.1));
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f64:0.1");
    v = mk(WASMSLOT_F64, 0x8000000000000000u);
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f64:-0");
    v = mk(WASMSLOT_F32, 0x7fc00000u);
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f32:nan");
    v = mk(WASMSLOT_F32, 0x7fc00001u);
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f32:0x7fc00001");
    v = mk(WASMSLOT_F64, 0xfff0000000000000u);
    proto_value_format_text(&v, buf, sizeof(buf));
    ck_assert_str_eq(buf, "f64:-inf");

    /* Text round trips, every float kind. */
    {
        static const uint64_t f64s[] = {0x3fb999999999999a, 0x0000000000000001, 0x7fefffffffffffff,
                                        0x7ff8000000000001};

        for (size_t i = 0; i < 4; i++) {
            struct wasmslot_value back;

            v = mk(WASMSLOT_F64, f64s[i]);
            proto_value_format_text(&v, buf, sizeof(buf));
            ck_assert_int_eq(proto_value_parse_text(buf, &back), 0);
            ck_assert_uint_eq(back.of.f64, f64s[i]);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- replies */

START_TEST(test_replies)
{
    json_t *id = json_string("q1");
    struct wasmslot_value res[2] = {mk(WASMSLOT_I32, 42), mk(WASMSLOT_F64, f64b(-2.5))};
    struct proto_reply rep;
    char *line;
    size_t len;

    line = proto_line(proto_reply_results(id, res, 2), &len);
    ck_assert_str_eq(line,
                     "{\"id\":\"q1\",\"ok\":true,\"results\":[{\"type\":\"i32\",\"value\":42},"
                     "{\"type\":\"f64\",\"value\":-2.5}]}\n");
    ck_assert_uint_eq(len, strlen(line));
    ck_assert_int_eq(proto_reply_parse(&rep, line, len - 1, NULL, 0), 0);
    ck_assert(rep.ok);
    ck_assert(rep.has_results);
    ck_assert_uint_eq(rep.nresults, 2);
    ck_assert_uint_eq(rep.results[0].of.i32, 42);
    ck_assert_uint_eq(rep.results[1].of.f64, f64b(-2.5));
    ck_assert_str_eq(json_string_value(rep.id), "q1");
    proto_reply_release(&rep);
    free(line);

    line = proto_line(proto_reply_wasm_error(id, -WASMSLOT_TRAP_DIV_ZERO, NULL), &len);
    ck_assert_str_eq(line, "{\"id\":\"q1\",\"ok\":false,\"error\":{\"code\":\"trap\",\"trap\":"
                           "\"integer_divide_by_zero\",\"message\":\"integer divide by zero\"}}\n");
    ck_assert_int_eq(proto_reply_parse(&rep, line, len, NULL, 0), 0);
    ck_assert(!rep.ok);
    ck_assert_int_eq(rep.error, PROTO_E_TRAP);
    ck_assert_str_eq(rep.trap, "integer_divide_by_zero");
    proto_reply_release(&rep);
    free(line);

    line = proto_line(proto_reply_wasm_error(NULL, -WASMSLOT_EEXHAUSTED, NULL), NULL);
    ck_assert_str_eq(line, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"pool_exhausted\","
                           "\"message\":\"pool exhausted\"}}\n");
    free(line);

    line = proto_line(proto_reply_error(id, PROTO_E_UNKNOWN_MODULE, "no module \"%s\"", "x"), NULL);
    ck_assert_str_eq(line, "{\"id\":\"q1\",\"ok\":false,\"error\":{\"code\":\"unknown_module\","
                           "\"message\":\"no module \\\"x\\\"\"}}\n");
    ck_assert_int_eq(proto_reply_parse(&rep, line, strlen(line), NULL, 0), 0);
    ck_assert_int_eq(rep.error, PROTO_E_UNKNOWN_MODULE);
    ck_assert_str_eq(rep.message, "no module \"x\"");
    ck_assert_ptr_null(rep.trap);
    proto_reply_release(&rep);
    free(line);

    line = proto_line(proto_reply_instance(id, "i3"), &len);
    ck_assert_str_eq(line, "{\"id\":\"q1\",\"ok\":true,\"instance\":\"i3\"}\n");
    ck_assert_int_eq(proto_reply_parse(&rep, line, len, NULL, 0), 0);
    ck_assert_str_eq(rep.instance, "i3");
    proto_reply_release(&rep);
    free(line);

    line = proto_line(proto_reply_ok(id), NULL);
    ck_assert_str_eq(line, "{\"id\":\"q1\",\"ok\":true}\n");
    free(line);

    line = proto_line(proto_reply_pong(NULL), NULL);
    ck_assert_str_eq(line, "{\"id\":null,\"ok\":true,\"pong\":true,\"version\":\"" PACKAGE_VERSION
                           "\"}\n");
    free(line);

    /* A message with a newline stays on one line. */
    line = proto_line(proto_reply_error(id, PROTO_E_INTERNAL, "a\nb"), &len);
    ck_assert_ptr_null(memchr(line, '\n', len - 1));
    free(line);

    ck_assert_int_eq(
        proto_reply_parse(&rep, PROTO_OOM_REPLY_LINE, strlen(PROTO_OOM_REPLY_LINE) - 1, NULL, 0),
        0);
    ck_assert_int_eq(rep.error, PROTO_E_INTERNAL);
    ck_assert(json_is_null(rep.id));
    proto_reply_release(&rep);

    ck_assert_int_eq(proto_reply_parse(&rep, "{\"id\":1}", 8, NULL, 0), -EINVAL);
    proto_reply_release(&rep);
    ck_assert_int_eq(proto_reply_parse(&rep, "nope", 4, NULL, 0), -EINVAL);
    proto_reply_release(&rep);
    json_decref(id);
}
END_TEST

START_TEST(test_error_codes)
{
    for (int e = PROTO_OK; e <= PROTO_E_INTERNAL; e++)
        ck_assert_int_eq(proto_err_from_code(proto_err_code((enum proto_err)e)), e);
    ck_assert_int_eq(proto_err_from_code("no_such_code"), -1);
    ck_assert_int_eq(proto_err_from_wasm(0), PROTO_OK);
    ck_assert_int_eq(proto_err_from_wasm(-WASMSLOT_TRAP_TIMEOUT), PROTO_E_TRAP);
    ck_assert_int_eq(proto_err_from_wasm(-WASMSLOT_ENOTFOUND), PROTO_E_UNKNOWN_EXPORT);
    ck_assert_int_eq(proto_err_from_wasm(-WASMSLOT_EARGS), PROTO_E_BAD_ARGUMENTS);
    ck_assert_int_eq(proto_err_from_wasm(-WASMSLOT_EUNLINKABLE), PROTO_E_INSTANTIATE_FAILED);
    ck_assert_int_eq(proto_err_from_wasm(-ENOMEM), PROTO_E_INTERNAL);
    ck_assert_str_eq(proto_err_code(PROTO_E_TOO_LARGE), "request_too_large");
    for (int o = PROTO_OP_PING; o <= PROTO_OP_MODULES; o++) {
        struct proto_request req;
        char line[64];

        snprintf(line, sizeof(line), "{\"op\":\"%s\"}", proto_op_name((enum proto_op)o));
        parse(&req, line);
        ck_assert_int_ne(req.error, PROTO_E_UNKNOWN_OP);
        proto_request_release(&req);
    }
}
END_TEST

START_TEST(test_bytes)
{
    static const struct {
        const char *data;
        size_t len;
        const char *json;
    } cases[] = {
        {"", 0, "\"\""},
        {"hello\n", 6, "\"hello\\n\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\xc3\xa9t\xc3\xa9", 5, "\"\xc3\xa9t\xc3\xa9\""},
        {"\xff", 1, "{\"base64\":\"/w==\"}"},
        {"\xff\xfe", 2, "{\"base64\":\"//4=\"}"},
        {"\xff\xfe\xfd", 3, "{\"base64\":\"//79\"}"},
        {"abc\x80", 4, "{\"base64\":\"YWJjgA==\"}"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = proto_bytes_to_json(cases[i].data, cases[i].len), *back;
        char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        uint8_t *out;
        size_t len;

        ck_assert_str_eq(s, cases[i].json);
        back = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ck_assert_int_eq(proto_bytes_from_json(back, &out, &len), 0);
        ck_assert_uint_eq(len, cases[i].len);
        ck_assert_int_eq(memcmp(out, cases[i].data, len), 0);
        free(out);
        free(s);
        json_decref(back);
        json_decref(j);
    }

    /* Malformed base64 and wrong shapes are refused. */
    {
        static const char *const bad[] = {
            "{\"base64\":\"abc\"}",
            "{\"base64\":\"a===\"}",
            "{\"base64\":\"ab=c\"}",
            "{\"base64\":\"ab==abcd\"}",
            "{\"base64\":\"ab c\"}",
            "{\"base64\":5}",
            "5",
            "[]",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
            uint8_t *out;
            size_t len;

            ck_assert_ptr_nonnull(j);
            ck_assert_msg(proto_bytes_from_json(j, &out, &len) == -EINVAL, "%s", bad[i]);
            json_decref(j);
        }
    }

    /* A reply carrying WASI output, with a NUL byte, parses. */
    {
        struct proto_reply rep;
        const char *line = "{\"id\":1,\"ok\":true,\"exit_code\":3,\"stdout\":\"a\\u0000\","
                           "\"stderr\":{\"base64\":\"/w==\"}}";
        uint8_t *out;
        size_t len;

        ck_assert_int_eq(proto_reply_parse(&rep, line, strlen(line), NULL, 0), 0);
        ck_assert(rep.has_exit_code);
        ck_assert_int_eq(rep.exit_code, 3);
        ck_assert_int_eq(proto_bytes_from_json(rep.stdout_data, &out, &len), 0);
        ck_assert_uint_eq(len, 2);
        free(out);
        ck_assert_int_eq(proto_bytes_from_json(rep.stderr_data, &out, &len), 0);
        ck_assert_uint_eq(len, 1);
        ck_assert_uint_eq(out[0], 0xff);
        free(out);
        proto_reply_release(&rep);
    }
}
END_TEST

/* ---------------------------------------------------------------- framing */

START_TEST(test_framer_lines)
{
    struct proto_framer *f = proto_framer_new(16);
    const char *line;
    size_t len;

    ck_assert_int_eq(proto_framer_feed(f, "ab", 2), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);
    ck_assert_int_eq(proto_framer_feed(f, "c\nde\r\n\nfg", 9), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "abc");
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "de");
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);
    ck_assert_uint_eq(proto_framer_pending(f), 2);
    ck_assert_int_eq(proto_framer_feed(f, "\n", 1), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "fg");
    ck_assert_uint_eq(proto_framer_pending(f), 0);
    proto_framer_free(f);
}
END_TEST

START_TEST(test_framer_oversize)
{
    struct proto_framer *f = proto_framer_new(8);
    const char *line;
    size_t len;

    /* Exactly the limit is fine. */
    ck_assert_int_eq(proto_framer_feed(f, "12345678\n", 9), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "12345678");

    /* A complete oversized line in one piece, between two good ones. */
    ck_assert_int_eq(proto_framer_feed(f, "a\n123456789\nb\n", 14), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "a");
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_TOO_LARGE);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "b");
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);

    /* An oversized line arriving in pieces is reported once, as soon as it is too long, and
     * its rest is dropped. */
    ck_assert_int_eq(proto_framer_feed(f, "xxxxx", 5), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);
    ck_assert_int_eq(proto_framer_feed(f, "xxxxx", 5), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_TOO_LARGE);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(proto_framer_feed(f, "yyyyyyyyyy", 10), 0);
    ck_assert_uint_eq(proto_framer_pending(f), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);
    ck_assert_int_eq(proto_framer_feed(f, "yy\nok\n", 6), 0);
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_LINE);
    ck_assert_str_eq(line, "ok");
    ck_assert_int_eq(proto_framer_next(f, &line, &len), PROTO_FRAME_NONE);
    proto_framer_free(f);
}
END_TEST

/* ---------------------------------------------------------------- stats */

static struct proto_stats *sample_stats(void)
{
    struct proto_stats *st = proto_stats_new();

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(proto_stats_set_label(st, "pool", "add"), 0);
    ck_assert_int_eq(proto_stats_set_label(st, "worker", "0"), 0);
    proto_stats_sink(st, "warm_hits", WASMSLOT_STATS_COUNTER, 41);
    proto_stats_sink(st, "slots_free", WASMSLOT_STATS_GAUGE, 16);
    ck_assert_int_eq(proto_stats_set_label(st, "worker", "1"), 0);
    proto_stats_sink(st, "warm_hits_total", WASMSLOT_STATS_COUNTER, 2);
    proto_stats_sink(st, "slots_free", WASMSLOT_STATS_GAUGE, 15);
    proto_stats_clear_labels(st);
    ck_assert_int_eq(proto_stats_set_label(st, "pool", "we\"ird\\\n"), 0);
    proto_stats_sink(st, "reset_discarded_bytes", WASMSLOT_STATS_COUNTER, UINT64_MAX);
    proto_stats_clear_labels(st);
    proto_stats_sink(st, "worker_restarts", WASMSLOT_STATS_COUNTER, 0);
    return st;
}

static const char expected_om[] =
    "# HELP wasmslot_warm_hits Slots handed out warm (the fast path: no mmap).\n"
    "# TYPE wasmslot_warm_hits counter\n"
    "wasmslot_warm_hits_total{pool=\"add\",worker=\"0\"} 41\n"
    "wasmslot_warm_hits_total{pool=\"add\",worker=\"1\"} 2\n"
    "# HELP wasmslot_slots_free Slots free now.\n"
    "# TYPE wasmslot_slots_free gauge\n"
    "wasmslot_slots_free{pool=\"add\",worker=\"0\"} 16\n"
    "wasmslot_slots_free{pool=\"add\",worker=\"1\"} 15\n"
    "# HELP wasmslot_reset_discarded_bytes Bytes of written pages dropped by resets.\n"
    "# TYPE wasmslot_reset_discarded_bytes counter\n"
    "# UNIT wasmslot_reset_discarded_bytes bytes\n"
    "wasmslot_reset_discarded_bytes_total{pool=\"we\\\"ird\\\\\\n\"} 18446744073709551615\n"
    "# HELP wasmslot_worker_restarts Workers that died and were started again.\n"
    "# TYPE wasmslot_worker_restarts counter\n"
    "wasmslot_worker_restarts_total 0\n"
    "# EOF\n";

/* The same in the Prometheus text format: counters' metadata name them with "_total". */
static const char expected_prom[] =
    "# HELP wasmslot_warm_hits_total Slots handed out warm (the fast path: no mmap).\n"
    "# TYPE wasmslot_warm_hits_total counter\n"
    "wasmslot_warm_hits_total{pool=\"add\",worker=\"0\"} 41\n"
    "wasmslot_warm_hits_total{pool=\"add\",worker=\"1\"} 2\n"
    "# HELP wasmslot_slots_free Slots free now.\n"
    "# TYPE wasmslot_slots_free gauge\n"
    "wasmslot_slots_free{pool=\"add\",worker=\"0\"} 16\n"
    "wasmslot_slots_free{pool=\"add\",worker=\"1\"} 15\n"
    "# HELP wasmslot_reset_discarded_bytes_total Bytes of written pages dropped by resets.\n"
    "# TYPE wasmslot_reset_discarded_bytes_total counter\n"
    "wasmslot_reset_discarded_bytes_total{pool=\"we\\\"ird\\\\\\n\"} 18446744073709551615\n"
    "# HELP wasmslot_worker_restarts_total Workers that died and were started again.\n"
    "# TYPE wasmslot_worker_restarts_total counter\n"
    "wasmslot_worker_restarts_total 0\n";

START_TEST(test_stats_openmetrics)
{
    struct proto_stats *st = sample_stats();
    size_t len;
    char *text = proto_stats_render(st, PROTO_STATS_OPENMETRICS, &len);

    ck_assert_uint_eq(proto_stats_count(st), 6);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, expected_om);
    ck_assert_uint_eq(len, strlen(expected_om));
    free(text);

    text = proto_stats_render(st, PROTO_STATS_PROMETHEUS, NULL);
    ck_assert_str_eq(text, expected_prom);
    free(text);

    /* Empty list: just the end marker. */
    proto_stats_free(st);
    st = proto_stats_new();
    text = proto_stats_render(st, PROTO_STATS_OPENMETRICS, NULL);
    ck_assert_str_eq(text, "# EOF\n");
    free(text);
    proto_stats_free(st);
}
END_TEST

START_TEST(test_stats_json)
{
    struct proto_stats *st = sample_stats(), *back = NULL;
    json_t *arr = proto_stats_to_json(st);
    char *s = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
    char *text;
    json_t *reply;

    ck_assert_str_eq(s, "{\"name\":\"warm_hits\",\"kind\":\"counter\",\"labels\":{\"pool\":"
                        "\"add\",\"worker\":\"0\"},\"value\":41}");
    free(s);
    ck_assert_uint_eq(json_array_size(arr), 6);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 2), "name")),
                     "warm_hits");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 4), "value")),
                     "18446744073709551615");
    ck_assert_int_eq(json_object_size(json_object_get(json_array_get(arr, 5), "labels")), 0);

    /* Through the wire and back: the same OpenMetrics text comes out. */
    ck_assert_int_eq(proto_stats_from_json(arr, &back), 0);
    text = proto_stats_render(back, PROTO_STATS_OPENMETRICS, NULL);
    ck_assert_str_eq(text, expected_om);
    free(text);
    proto_stats_free(back);
    json_decref(arr);

    reply = proto_reply_stats(NULL, st, PROTO_STATS_OPENMETRICS);
    ck_assert_str_eq(json_string_value(json_object_get(reply, "text")), expected_om);
    ck_assert_str_eq(json_string_value(json_object_get(reply, "format")), "openmetrics");
    json_decref(reply);
    reply = proto_reply_stats(NULL, st, PROTO_STATS_JSON);
    ck_assert_uint_eq(json_array_size(json_object_get(reply, "stats")), 6);
    json_decref(reply);

    /* Malformed arrays are refused. */
    arr = json_loads("[{\"name\":\"x\",\"kind\":\"meter\",\"value\":1}]", 0, NULL);
    ck_assert_int_eq(proto_stats_from_json(arr, &back), -EINVAL);
    json_decref(arr);
    arr = json_loads("[{\"name\":\"x\",\"kind\":\"gauge\",\"value\":-1}]", 0, NULL);
    ck_assert_int_eq(proto_stats_from_json(arr, &back), -EINVAL);
    json_decref(arr);
    proto_stats_free(st);
}
END_TEST

/* Times and histograms: seconds in every rendering, cumulative buckets, and the same text
 * after a trip through JSON. */
START_TEST(test_stats_histogram)
{
    struct proto_stats *st = proto_stats_new(), *back = NULL;
    uint64_t counts[PROTO_STATS_BUCKETS + 1] = {0};
    json_t *arr, *h;
    char *om, *om2, *prom;

    counts[0] = 2;                   /* <= 10 us */
    counts[6] = 1;                   /* <= 1 ms */
    counts[PROTO_STATS_BUCKETS] = 1; /* > 10 s */
    ck_assert_int_eq(proto_stats_set_label(st, "pool", "add"), 0);
    ck_assert_int_eq(proto_stats_add_histogram(st, "run_seconds", counts, 12000500000u), 0);
    proto_stats_clear_labels(st);
    ck_assert_int_eq(proto_stats_add_ns(st, "uptime_seconds", WASMSLOT_STATS_GAUGE, 1500000000u),
                     0);
    om = proto_stats_render(st, PROTO_STATS_OPENMETRICS, NULL);
    ck_assert_ptr_nonnull(strstr(om,
                                 "# TYPE wasmslot_run_seconds histogram\n"
                                 "# UNIT wasmslot_run_seconds seconds\n"
                                 "wasmslot_run_seconds_bucket{pool=\"add\",le=\"0.00001\"} 2\n"
                                 "wasmslot_run_seconds_bucket{pool=\"add\",le=\"0.000025\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(om, "wasmslot_run_seconds_bucket{pool=\"add\",le=\"0.001\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(om, "wasmslot_run_seconds_bucket{pool=\"add\",le=\"10\"} 3\n"
                                     "wasmslot_run_seconds_bucket{pool=\"add\",le=\"+Inf\"} 4\n"
                                     "wasmslot_run_seconds_count{pool=\"add\"} 4\n"
                                     "wasmslot_run_seconds_sum{pool=\"add\"} 12.0005\n"));
    ck_assert_ptr_nonnull(strstr(om, "# UNIT wasmslot_uptime_seconds seconds\n"
                                     "wasmslot_uptime_seconds 1.5\n# EOF\n"));
    prom = proto_stats_render(st, PROTO_STATS_PROMETHEUS, NULL);
    ck_assert_ptr_null(strstr(prom, "# UNIT"));
    ck_assert_ptr_null(strstr(prom, "# EOF"));

    arr = proto_stats_to_json(st);
    h = json_array_get(arr, 0);
    ck_assert_str_eq(json_string_value(json_object_get(h, "kind")), "histogram");
    ck_assert_int_eq(json_integer_value(json_object_get(h, "count")), 4);
    ck_assert(json_real_value(json_object_get(h, "sum")) > 12.0 &&
              json_real_value(json_object_get(h, "sum")) < 12.001);
    ck_assert(json_real_value(json_object_get(json_array_get(arr, 1), "value")) == 1.5);
    ck_assert_int_eq(proto_stats_from_json(arr, &back), 0);
    om2 = proto_stats_render(back, PROTO_STATS_OPENMETRICS, NULL);
    ck_assert_str_eq(om2, om);
    /* Buckets must be cumulative, with this version's bounds. */
    json_object_set_new(json_array_get(json_object_get(h, "buckets"), 1), "count", json_integer(1));
    proto_stats_free(back);
    ck_assert_int_eq(proto_stats_from_json(arr, &back), -EINVAL);
    free(om);
    free(om2);
    free(prom);
    json_decref(arr);
    proto_stats_free(st);
}
END_TEST

/* The quantiles interpolate inside the bucket they fall in. */
START_TEST(test_stats_quantile)
{
    uint64_t cum[PROTO_STATS_BUCKETS + 1] = {0};

    ck_assert(proto_stats_quantile(cum, 0.5) == 0);
    /* 10 observations in (1 ms, 2.5 ms]: the median is halfway, 1.75 ms. */
    for (unsigned i = 7; i <= PROTO_STATS_BUCKETS; i++)
        cum[i] = 10;
    ck_assert(proto_stats_quantile(cum, 0.5) > 0.00174 && proto_stats_quantile(cum, 0.5) < 0.00176);
    /* Past the last bound: the last bound. */
    memset(cum, 0, sizeof(cum));
    cum[PROTO_STATS_BUCKETS] = 3;
    ck_assert(proto_stats_quantile(cum, 0.99) == 10.0);
}
END_TEST

/* The summary adds each pool up over the workers and keeps the largest peak. */
START_TEST(test_stats_summary)
{
    struct proto_stats *st = proto_stats_new();
    uint64_t counts[PROTO_STATS_BUCKETS + 1] = {0};
    json_t *arr, *sum, *pool, *w1;

    for (int w = 0; w < 2; w++) {
        proto_stats_clear_labels(st);
        proto_stats_set_label(st, "worker", w == 0 ? "0" : "1");
        proto_stats_add(st, "requests", WASMSLOT_STATS_COUNTER, 10 + (uint64_t)w);
        proto_stats_set_label(st, "pool", "add");
        proto_stats_add(st, "slots", WASMSLOT_STATS_GAUGE, 4);
        proto_stats_add(st, "instantiations", WASMSLOT_STATS_COUNTER, 4);
        proto_stats_add(st, "warm_hits", WASMSLOT_STATS_COUNTER, 3 - (uint64_t)w * 3);
        proto_stats_add(st, "slots_busy_peak", WASMSLOT_STATS_GAUGE, 2 + (uint64_t)w);
        proto_stats_set_label(st, "op", "call");
        proto_stats_add(st, "pool_requests", WASMSLOT_STATS_COUNTER, 5);
        proto_stats_set_label(st, "op", NULL);
        counts[7] = 1;
        proto_stats_add_histogram(st, "run_seconds", counts, 2000000);
    }
    arr = proto_stats_to_json(st);
    sum = proto_stats_summary(arr);
    ck_assert_ptr_nonnull(sum);
    pool = json_array_get(json_object_get(sum, "pools"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(pool, "pool")), "add");
    ck_assert_int_eq(json_integer_value(json_object_get(pool, "slots")), 8);
    ck_assert_int_eq(json_integer_value(json_object_get(pool, "requests")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(pool, "slots_busy_peak")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(pool, "runs")), 2);
    ck_assert(json_real_value(json_object_get(pool, "warm_hit_ratio")) == 3.0 / 8);
    w1 = json_array_get(json_object_get(sum, "workers"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(w1, "worker")), "1");
    ck_assert_int_eq(json_integer_value(json_object_get(w1, "requests")), 11);
    ck_assert_int_eq(json_integer_value(json_object_get(w1, "runs")), 1);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(sum, "daemon"), "requests")), 21);
    json_decref(sum);
    json_decref(arr);
    proto_stats_free(st);
}
END_TEST

START_TEST(test_stats_bad_names)
{
    struct proto_stats *st = proto_stats_new();

    ck_assert_int_eq(proto_stats_add(st, "bad-name", WASMSLOT_STATS_GAUGE, 1), -EINVAL);
    ck_assert_int_eq(proto_stats_add(st, "9lives", WASMSLOT_STATS_GAUGE, 1), -EINVAL);
    ck_assert_int_eq(proto_stats_set_label(st, "a b", "x"), -EINVAL);
    ck_assert_int_eq(proto_stats_set_label(st, "a", "1"), 0);
    ck_assert_int_eq(proto_stats_set_label(st, "b", "1"), 0);
    ck_assert_int_eq(proto_stats_set_label(st, "c", "1"), 0);
    ck_assert_int_eq(proto_stats_set_label(st, "d", "1"), 0);
    ck_assert_int_eq(proto_stats_set_label(st, "e", "1"), -E2BIG);
    ck_assert_int_eq(proto_stats_set_label(st, "d", NULL), 0);
    ck_assert_int_eq(proto_stats_set_label(st, "e", "1"), 0);
    /* A failed sink call poisons the rendering rather than silently dropping a sample. */
    proto_stats_sink(st, "bad name", WASMSLOT_STATS_COUNTER, 1);
    ck_assert_ptr_null(proto_stats_render(st, PROTO_STATS_OPENMETRICS, NULL));
    ck_assert_ptr_null(proto_stats_to_json(st));
    proto_stats_free(st);
}
END_TEST

/* Mutated and truncated versions of valid requests: whatever the bytes, parsing answers with
 * a code and a message, and releasing is clean (the sanitizer build checks the memory). */
START_TEST(test_parse_garbage)
{
    static const char *const seeds[] = {
        "{\"id\":1,\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":"
        "\"f64\",\"value\":\"0x7ff8000000000001\"},{\"type\":\"i64\",\"value\":\"-1\"}],"
        "\"deadline_ms\":5}",
        "{\"id\":\"x\",\"op\":\"run\",\"instance\":\"i1\",\"export\":\"g\",\"args\":[]}",
        "{\"op\":\"stats\",\"format\":\"openmetrics\"}",
    };
    unsigned seed = 12345;

    for (int round = 0; round < 3000; round++) {
        const char *src = seeds[round % 3];
        size_t len = strlen(src);
        char buf[256];
        struct proto_request req;
        enum proto_err e;

        memcpy(buf, src, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] = (char)(seed >> 20);
        }
        seed = seed * 1103515245u + 12345u;
        if (round % 5 == 0)
            len = (seed >> 8) % len;
        e = proto_request_parse(&req, buf, len, 0);
        ck_assert(e == PROTO_OK || (req.error == e && req.message[0] != '\0'));
        if (e == PROTO_OK)
            ck_assert(req.op <= PROTO_OP_MODULES);
        proto_request_release(&req);
    }
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc;

    tc = tcase_create("requests");
    tcase_add_test(tc, test_parse_ping_modules);
    tcase_add_test(tc, test_parse_instantiate_terminate);
    tcase_add_test(tc, test_parse_run_call);
    tcase_add_test(tc, test_parse_stats);
    tcase_add_test(tc, test_parse_threads);
    tcase_add_test(tc, test_not_json);
    tcase_add_test(tc, test_not_object);
    tcase_add_test(tc, test_bad_op);
    tcase_add_test(tc, test_missing_and_mistyped_fields);
    tcase_add_test(tc, test_bad_typed_values);
    tcase_add_test(tc, test_oversize);
    tcase_add_test(tc, test_error_codes);
    tcase_add_test(tc, test_parse_garbage);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_int_round_trips);
    tcase_add_test(tc, test_float_round_trips);
    tcase_add_test(tc, test_value_input_forms);
    tcase_add_test(tc, test_value_text);
    tcase_add_test(tc, test_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("replies");
    tcase_add_test(tc, test_replies);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_test(tc, test_framer_lines);
    tcase_add_test(tc, test_framer_oversize);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats");
    tcase_add_test(tc, test_stats_openmetrics);
    tcase_add_test(tc, test_stats_json);
    tcase_add_test(tc, test_stats_bad_names);
    tcase_add_test(tc, test_stats_histogram);
    tcase_add_test(tc, test_stats_quantile);
    tcase_add_test(tc, test_stats_summary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
