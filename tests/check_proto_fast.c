/* check_proto_fast.c: differential tests of the fast request parser and reply renderer
 * (proto/proto_fast.c) against the jansson ones they must agree with byte for byte. */
#include "config.h"

#include "proto.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static bool same_json(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    /* json_equal treats 1 and 1.0 as different types, as the wire does. */
    return json_equal((json_t *)a, (json_t *)b);
}

/* Parse line with the full entry point (fast first) and with the jansson parser alone, and
 * require the same outcome in every field. Returns whether the fast parser took the line. */
static int differ(const char *line, size_t len)
{
    struct proto_request a, b, f;
    enum proto_err ea = proto_request_parse(&a, line, len, 0);
    enum proto_err eb = proto_request_parse_json(&b, line, len, 0);
    int took = proto_request_parse_fast(&f, line, len);

    proto_request_release(&f);
    ck_assert_msg(ea == eb, "%.*s: %s vs %s", (int)len, line, proto_err_code(ea),
                  proto_err_code(eb));
    ck_assert_int_eq(a.error, b.error);
    ck_assert_str_eq(a.message, b.message);
    ck_assert_msg(same_json(a.id, b.id), "%.*s: id differs", (int)len, line);
    if (ea == PROTO_OK) {
        ck_assert_int_eq(a.op, b.op);
        ck_assert_msg((a.module == NULL) == (b.module == NULL), "%.*s: module", (int)len, line);
        if (a.module != NULL)
            ck_assert_str_eq(a.module, b.module);
        ck_assert_msg((a.export_name == NULL) == (b.export_name == NULL), "%.*s: export", (int)len,
                      line);
        ck_assert_uint_eq(a.export_len, b.export_len);
        if (a.export_name != NULL)
            ck_assert(memcmp(a.export_name, b.export_name, a.export_len) == 0);
        ck_assert_str_eq(a.instance, b.instance);
        ck_assert_uint_eq(a.nargs, b.nargs);
        ck_assert((a.args == NULL) == (b.args == NULL));
        for (uint32_t i = 0; i < a.nargs; i++) {
            ck_assert_int_eq(a.args[i].type, b.args[i].type);
            /* Both zero the value before storing it: the whole union compares. */
            ck_assert(a.args[i].of.i64 == b.args[i].of.i64);
        }
        ck_assert_int_eq(a.has_deadline, b.has_deadline);
        ck_assert(a.deadline_ms == b.deadline_ms);
        ck_assert_int_eq(a.stats_format, b.stats_format);
        ck_assert_uint_eq(a.threads, b.threads);
        ck_assert(same_json(a.argv, b.argv));
        ck_assert(same_json(a.env, b.env));
        ck_assert(same_json(a.stdin_data, b.stdin_data));
    }
    proto_request_release(&a);
    proto_request_release(&b);
    return took;
}

static int differ_s(const char *line)
{
    return differ(line, strlen(line));
}

START_TEST(test_fast_takes_common_shapes)
{
    /* The benchmark's line and the other everyday requests go through the fast parser. */
    ck_assert_int_eq(differ_s("{\"id\":1,\"op\":\"call\",\"module\":\"add\",\"export\":\"add\","
                              "\"args\":[{\"type\":\"i32\",\"value\":1},{\"type\":\"i32\","
                              "\"value\":2}]}"),
                     1);
    ck_assert_int_eq(differ_s("{\"id\":1,\"op\":\"ping\"}"), 1);
    ck_assert_int_eq(differ_s(" { \"op\" : \"ping\" } \r\n\t"), 1);
    ck_assert_int_eq(differ_s("{\"id\":\"a/b\",\"op\":\"instantiate\",\"module\":\"add\"}"), 1);
    ck_assert_int_eq(differ_s("{\"id\":null,\"op\":\"run\",\"instance\":\"i1\",\"export\":\"f\","
                              "\"args\":[],\"deadline_ms\":100}"),
                     1);
    ck_assert_int_eq(differ_s("{\"id\":true,\"op\":\"run\",\"instance\":256,\"export\":\"f\"}"), 1);
    ck_assert_int_eq(differ_s("{\"id\":-7,\"op\":\"terminate\",\"instance\":\"12\"}"), 1);
    ck_assert_int_eq(differ_s("{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\","
                              "\"args\":[{\"type\":\"i64\",\"value\":-9},{\"value\":3,"
                              "\"type\":\"f64\"},{\"type\":\"f32\",\"value\":16777217,\"z\":0},"
                              "{\"type\":\"i32\",\"value\":4294967295}]}"),
                     1);
    ck_assert_int_eq(differ_s("{\"op\":\"stats\"}"), 1);
    ck_assert_int_eq(differ_s("{\"op\":\"modules\",\"id\":false}"), 1);
    /* Fields outside its list, known or not, always go to the jansson parser: one it skipped
     * but the jansson path reads ("threads") would change the request. */
    ck_assert_int_eq(differ_s("{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"threads\":2}"),
                     0);
    ck_assert_int_eq(differ_s("{\"op\":\"ping\",\"x\":[1,{\"y\":null}]}"), 0);
}
END_TEST

START_TEST(test_fast_hands_over_the_rest)
{
    /* Valid but rare forms and every error go to the jansson parser, with its results. */
    static const char *const lines[] = {
        "",
        "{}",
        "[]",
        "42",
        "{\"op\":\"ping\"} x",
        "{\"op\":\"ping\",}",
        "{\"op\":\"ping\",\"op\":\"ping\"}",
        "{\"op\":\"ping\",\"a\":{\"b\":1,\"b\":2}}",
        "{\"op\":\"p\\u0069ng\"}",
        "{\"op\":\"pong\"}",
        "{\"op\":5}",
        "{\"id\":[1],\"op\":\"ping\"}",
        "{\"id\":{},\"op\":\"ping\"}",
        "{\"id\":1.5,\"op\":\"ping\"}",
        "{\"id\":1e3,\"op\":\"ping\"}",
        "{\"id\":01,\"op\":\"ping\"}",
        "{\"id\":-,\"op\":\"ping\"}",
        "{\"id\":123456789012345678901234,\"op\":\"ping\"}",
        "{\"id\":1234567890123456789,\"op\":\"ping\"}",
        "{\"id\":\"\xc3\xa9\",\"op\":\"ping\"}",
        "{\"id\":\"\xff\",\"op\":\"ping\"}",
        "{\"id\":tru,\"op\":\"ping\"}",
        "{\"id\":nul,\"op\":\"ping\"}",
        "{\"op\":\"stats\",\"format\":\"openmetrics\"}",
        "{\"op\":\"stats\",\"format\":\"xml\"}",
        "{\"op\":\"instantiate\"}",
        "{\"op\":\"instantiate\",\"module\":\"\"}",
        "{\"op\":\"instantiate\",\"module\":7}",
        "{\"op\":\"instantiate\",\"module\":\"a\\u0000b\"}",
        "{\"op\":\"terminate\",\"instance\":-1}",
        "{\"op\":\"terminate\",\"instance\":\"\"}",
        "{\"op\":\"terminate\"}",
        "{\"op\":\"run\",\"instance\":\"1\"}",
        "{\"op\":\"run\",\"export\":\"f\"}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":{}}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[1]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"i32\"}]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"i8\",\"value\":1}"
        "]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"i32\",\"value\":"
        "4294967296}]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"i32\",\"value\":"
        "-2147483649}]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"i32\",\"value\":"
        "\"0x10\"}]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"f32\",\"value\":"
        "1.5}]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"args\":[{\"type\":\"i32\",\"type\":"
        "\"i32\",\"value\":1}]}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"deadline_ms\":0}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"deadline_ms\":9007199254740992}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"f\",\"deadline_ms\":9007199254740991}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"_start\",\"argv\":[\"a\"],\"env\":[\"A=1\"]"
        ","
        "\"stdin\":\"x\"}",
        "{\"op\":\"call\",\"module\":\"m\",\"export\":\"a\\u0000b\"}",
        "{\"op\":\"ping\",\"deep\":[[[[[[[[[[[[1]]]]]]]]]]]]}",
        "{\"op\":\"ping\"\x01}",
        "{\"op\":\"ping\"}\n",
        "{\"op\":\"ping\" }\r",
    };

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        differ_s(lines[i]);
    /* A NUL byte inside the line. */
    differ("{\"op\":\"ping\"}\0", 14);
    differ("{\"op\":\"pi\0g\"}", 13);
}
END_TEST

/* Random requests made of valid and invalid pieces, and scrambled copies of them. */
START_TEST(test_fast_random)
{
    static const char *const ids[] = {"1",
                                      "-3",
                                      "0",
                                      "\"abc\"",
                                      "null",
                                      "true",
                                      "[]",
                                      "{}",
                                      "1.0",
                                      "\"a\\\"\"",
                                      "99999999999999999999",
                                      "-0",
                                      "\"\"",
                                      "false"};
    static const char *const ops[] = {"\"call\"",      "\"run\"",         "\"ping\"",
                                      "\"terminate\"", "\"instantiate\"", "\"stats\"",
                                      "\"modules\"",   "\"nope\"",        "1"};
    static const char *const names[] = {"\"add\"", "\"\"", "\"x y\"", "7", "null", "\"\\n\""};
    static const char *const insts[] = {"\"i1\"", "12", "-1", "\"\"", "1.5", "[]"};
    static const char *const types[] = {"\"i32\"", "\"i64\"",  "\"f32\"",
                                        "\"f64\"", "\"v128\"", "3"};
    static const char *const vals[] = {
        "0",          "-1",         "2147483647",  "-2147483648",
        "4294967295", "4294967296", "-2147483649", "123456789012345678",
        "\"5\"",      "1.25",       "true",        "9007199254740993"};
    static const char *const ws[] = {"", " ", "\t", "\r\n", ""};
    char line[2048];
    int taken = 0;

    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        int nf = (int)rnd(7);

#define PUT(...) n += (size_t)snprintf(line + n, sizeof(line) - n, __VA_ARGS__)
        PUT("%s{", ws[rnd(5)]);
        for (int k = 0; k < nf && n < sizeof(line) - 400; k++) {
            if (k > 0)
                PUT(",%s", ws[rnd(5)]);
            switch (rnd(9)) {
            case 0:
                PUT("\"id\":%s", ids[rnd(sizeof(ids) / sizeof(ids[0]))]);
                break;
            case 1:
            case 2:
                PUT("\"op\"%s:%s", ws[rnd(5)], ops[rnd(sizeof(ops) / sizeof(ops[0]))]);
                break;
            case 3:
                PUT("\"module\":%s", names[rnd(sizeof(names) / sizeof(names[0]))]);
                break;
            case 4:
                PUT("\"export\":%s", names[rnd(sizeof(names) / sizeof(names[0]))]);
                break;
            case 5:
                PUT("\"instance\":%s", insts[rnd(sizeof(insts) / sizeof(insts[0]))]);
                break;
            case 6: {
                int na = (int)rnd(4);
                PUT("\"args\":[");
                for (int a = 0; a < na; a++)
                    PUT("%s{\"type\":%s,\"value\":%s}", a ? "," : "",
                        types[rnd(sizeof(types) / sizeof(types[0]))],
                        vals[rnd(sizeof(vals) / sizeof(vals[0]))]);
                PUT("]");
                break;
            }
            case 7:
                PUT("\"deadline_ms\":%s", vals[rnd(sizeof(vals) / sizeof(vals[0]))]);
                break;
            default:
                PUT("\"%s\":%s", rnd(2) ? "other" : "threads",
                    vals[rnd(sizeof(vals) / sizeof(vals[0]))]);
                break;
            }
        }
        PUT("}%s", ws[rnd(5)]);
#undef PUT
        taken += differ(line, n);
        /* The same line with one byte changed, dropped or doubled. */
        if (n > 1) {
            size_t at = rnd((uint32_t)n);
            char save = line[at];

            line[at] = "{}[]\":,0-e.a\\ \x01\xc3"[rnd(16)];
            differ(line, n);
            line[at] = save;
            differ(line, at); /* truncated */
        }
    }
    /* Enough random lines were valid fast-path shapes for the comparison to mean something. */
    fprintf(stderr, "check_proto_fast: the fast parser took %d of 20000 random lines\n", taken);
    ck_assert_int_ge(taken, 500);
}
END_TEST

/* ---------------------------------------------------------------- rendering */

static void same_render(size_t fast, char *buf, json_t *msg)
{
    size_t len = 0;
    char *ref = proto_line(msg, &len);

    ck_assert_ptr_nonnull(ref);
    if (fast != 0) {
        ck_assert_msg(fast == len && memcmp(buf, ref, len) == 0, "fast %.*s vs jansson %s",
                      (int)fast, buf, ref);
    }
    free(ref);
}

START_TEST(test_fast_render)
{
    static const int64_t ints[] = {0,
                                   1,
                                   -1,
                                   INT32_MAX,
                                   INT32_MIN,
                                   (INT64_C(1) << 53),
                                   -(INT64_C(1) << 53),
                                   (INT64_C(1) << 53) + 1,
                                   -(INT64_C(1) << 53) - 1,
                                   INT64_MAX,
                                   INT64_MIN};
    json_t *idv[] = {NULL,
                     json_null(),
                     json_true(),
                     json_false(),
                     json_integer(7),
                     json_integer(-123456789012345),
                     json_string("abc/def"),
                     json_string(""),
                     json_string("q\"uote"),
                     json_string("tab\t"),
                     json_string("\xc3\xa9"),
                     json_real(1.5)};
    char buf[4096];
    size_t took = 0;

    for (size_t k = 0; k < sizeof(idv) / sizeof(idv[0]); k++) {
        const json_t *id = idv[k];
        struct wasm_value v[12];
        size_t nv = 0, r;

        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
            memset(&v[nv], 0, sizeof(v[nv]));
            v[nv].type = i % 2 ? WASM_I64 : WASM_I32;
            if (v[nv].type == WASM_I32)
                v[nv].of.i32 = (uint32_t)ints[i];
            else
                v[nv].of.i64 = (uint64_t)ints[i];
            nv++;
        }
        for (size_t n = 0; n <= nv; n++) {
            r = proto_render_results(buf, sizeof(buf), id, v, (uint32_t)n);
            took += r != 0;
            same_render(r, buf, proto_reply_results(id, v, (uint32_t)n));
        }
        /* Every value once, also as i64 (the 2^53 boundary both ways). */
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
            struct wasm_value one = {.type = WASM_I64, .of.i64 = (uint64_t)ints[i]};
            r = proto_render_results(buf, sizeof(buf), id, &one, 1);
            same_render(r, buf, proto_reply_results(id, &one, 1));
        }
        r = proto_render_pong(buf, sizeof(buf), id);
        took += r != 0;
        same_render(r, buf, proto_reply_pong(id));
        r = proto_render_ok(buf, sizeof(buf), id);
        same_render(r, buf, proto_reply_ok(id));
        /* Too small a buffer is "use jansson", never a cut line. */
        ck_assert_uint_eq(proto_render_results(buf, 20, id, v, (uint32_t)nv), 0);
    }
    /* The common cases do take the fast path. */
    ck_assert_uint_ge(took, 7 * 14);
    {
        struct wasm_value f = {.type = WASM_F64};
        ck_assert_uint_eq(proto_render_results(buf, sizeof(buf), idv[4], &f, 1), 0);
    }
    for (size_t k = 0; k < sizeof(idv) / sizeof(idv[0]); k++)
        json_decref(idv[k]);
}
END_TEST

static Suite *proto_fast_suite(void)
{
    Suite *s = suite_create("proto_fast");
    TCase *tc = tcase_create("parse");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fast_takes_common_shapes);
    tcase_add_test(tc, test_fast_hands_over_the_rest);
    tcase_add_test(tc, test_fast_random);
    suite_add_tcase(s, tc);
    tc = tcase_create("render");
    tcase_add_test(tc, test_fast_render);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_fast_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
