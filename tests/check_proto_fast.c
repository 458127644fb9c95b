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
    static const struct proto_request zero;

    /* A line it does not take leaves nothing behind (not even the op it had read). */
    if (!took)
        ck_assert_msg(memcmp(&f, &zero, sizeof(f)) == 0, "%.*s: not zeroed", (int)len, line);
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

/* The benchmark line, with a given byte or whitespace between the tokens. */
static const char *const bench_tokens[] = {
    "{", "\"id\"",   ":", "1",          ",", "\"op\"",    ":", "\"call\"", ",", "\"module\"",
    ":", "\"add\"",  ",", "\"export\"", ":", "\"add\"",   ",", "\"args\"", ":", "[",
    "{", "\"type\"", ":", "\"i32\"",    ",", "\"value\"", ":", "1",        "}", ",",
    "{", "\"type\"", ":", "\"i32\"",    ",", "\"value\"", ":", "2",        "}", "]",
    "}"};
#define NTOK (sizeof(bench_tokens) / sizeof(bench_tokens[0]))

START_TEST(test_fast_whitespace_everywhere)
{
    static const char *const ws[] = {"", " ", "\t", "\n", "\r", " \r\n\t "};
    char line[1024];

    /* Whitespace of every kind before, between and after all tokens: still the fast path. */
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = 0;

        for (size_t t = 0; t < NTOK; t++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", ws[rnd(6)], bench_tokens[t]);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", ws[rnd(6)]);
        ck_assert_int_eq(differ(line, n), 1);
    }
    /* One whitespace-like byte that JSON does not allow (form feed, vertical tab, NUL, 0x1f,
     * 0xa0) at each gap: never taken, and the same error as the jansson path. */
    for (size_t gap = 0; gap <= NTOK; gap++) {
        static const char bad[] = {'\f', '\v', '\0', 0x1f, (char)0xa0};

        for (size_t b = 0; b < sizeof(bad); b++) {
            size_t n = 0;

            for (size_t t = 0; t < NTOK; t++) {
                if (t == gap)
                    line[n++] = bad[b];
                n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", bench_tokens[t]);
            }
            if (gap == NTOK)
                line[n++] = bad[b];
            ck_assert_int_eq(differ(line, n), 0);
        }
    }
}
END_TEST

/* Shuffle n pointers with the test's generator. */
static void shuffle(const char **v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd((uint32_t)i);
        const char *t = v[i - 1];

        v[i - 1] = v[j];
        v[j] = t;
    }
}

START_TEST(test_fast_any_key_order)
{
    char line[1024];

    for (int iter = 0; iter < 2000; iter++) {
        const char *top[] = {"\"id\":7", "\"op\":\"call\"",  "\"module\":\"m\"", "\"export\":\"e\"",
                             NULL,       "\"deadline_ms\":5"};
        const char *t1[] = {"\"type\":\"i64\"", "\"value\":-4", "\"z\":null", "\"w\":\"x\""};
        const char *t2[] = {"\"value\":9", "\"type\":\"f32\""};
        char args[256];
        size_t n = 0;

        shuffle(t1, 2 + rnd(3));
        shuffle(t2, 2);
        snprintf(args, sizeof(args), "\"args\":[{%s,%s,%s,%s},{%s,%s}]", t1[0], t1[1], t1[2], t1[3],
                 t2[0], t2[1]);
        top[4] = args;
        shuffle(top, 6);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "{%s", top[0]);
        for (size_t k = 1; k < 6; k++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, ",%s", top[k]);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "}");
        ck_assert_int_eq(differ(line, n), 1);
    }
}
END_TEST

START_TEST(test_fast_duplicates)
{
    /* Every repeated key, at the top level and in a typed value, is bad_json (jansson's). */
    static const char *const dups[] = {
        "{\"id\":1,\"id\":1,\"op\":\"ping\"}",
        "{\"op\":\"ping\",\"op\":\"ping\"}",
        "{\"op\":\"instantiate\",\"module\":\"a\",\"module\":\"a\"}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"export\":\"e\"}",
        "{\"op\":\"run\",\"instance\":\"1\",\"instance\":\"1\",\"export\":\"e\"}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"deadline_ms\":1,\"deadline_ms\":1}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[],\"args\":[]}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
        "\"value\":1}],\"args\":[{\"type\":\"i32\",\"value\":1}]}",
        "{\"op\":\"ping\",\"args\":[],\"args\":[]}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
        "\"value\":1,\"value\":1}]}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
        "\"value\":1,\"z\":1,\"z\":2}]}",
        "{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[{\"z\":1,\"type\":\"i32\","
        "\"y\":0,\"value\":1,\"z\":2}]}",
    };

    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        struct proto_request req;

        ck_assert_int_eq(differ_s(dups[i]), 0);
        ck_assert_int_eq(proto_request_parse(&req, dups[i], strlen(dups[i]), 0), PROTO_E_BAD_JSON);
        proto_request_release(&req);
    }
    /* Up to four other keys in a typed value are tracked; a fifth sends the line away. */
    ck_assert_int_eq(differ_s("{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[{"
                              "\"a\":1,\"b\":true,\"type\":\"i32\",\"c\":null,\"value\":1,"
                              "\"d\":\"x\"}]}"),
                     1);
    ck_assert_int_eq(differ_s("{\"op\":\"call\",\"module\":\"a\",\"export\":\"e\",\"args\":[{"
                              "\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"type\":\"i32\","
                              "\"value\":1}]}"),
                     0);
}
END_TEST

START_TEST(test_fast_string_bytes)
{
    char line[512];

    /* Each byte alone as a module name: 0x20..0x7e but '"' and '\\' are the fast path's, the
     * rest (controls, DEL, bytes of UTF-8 sequences) the jansson path's, whatever it says. */
    for (int b = 0; b < 256; b++) {
        int n = snprintf(line, sizeof(line), "{\"op\":\"instantiate\",\"module\":\"%c\"}", b);
        bool mine = b >= 0x20 && b <= 0x7e && b != '"' && b != '\\';

        ck_assert_int_eq(differ(line, (size_t)n), mine);
    }
    /* Every allowed byte in one name, the boundaries 0x20 and 0x7e first and last, and in an
     * export name, a string id and a handle. */
    {
        char all[128];
        size_t n = 0;

        for (int b = 0x20; b <= 0x7e; b++)
            if (b != '"' && b != '\\')
                all[n++] = (char)b;
        all[n] = '\0';
        snprintf(line, sizeof(line), "{\"op\":\"instantiate\",\"module\":\"%s\"}", all);
        ck_assert_int_eq(differ_s(line), 1);
        snprintf(line, sizeof(line),
                 "{\"id\":\"%s\",\"op\":\"call\",\"module\":\"m\","
                 "\"export\":\"%s\"}",
                 all, all);
        ck_assert_int_eq(differ_s(line), 1);
        snprintf(line, sizeof(line), "{\"op\":\"terminate\",\"instance\":\"%.63s\"}", all);
        ck_assert_int_eq(differ_s(line), 1);
        snprintf(line, sizeof(line), "{\"op\":\"terminate\",\"instance\":\"%.64s\"}", all);
        ck_assert_int_eq(differ_s(line), 0); /* a handle of 64 bytes is too long */
    }
    /* Near misses of the keys, ops and types matched as literals. */
    {
        static const char *const near[] = {
            "{\"i\":1,\"op\":\"ping\"}",
            "{\"idx\":1,\"op\":\"ping\"}",
            "{\"ID\":1,\"op\":\"ping\"}",
            "{\"o\":\"ping\"}",
            "{\"opp\":\"ping\"}",
            "{\"op\":\"pin\"}",
            "{\"op\":\"pingg\"}",
            "{\"op\":\"Ping\"}",
            "{\"op\":\"p\"}",
            "{\"op\":\"\"}",
            "{\"op\":\"cal\",\"module\":\"m\",\"export\":\"e\"}",
            "{\"op\":\"calls\",\"module\":\"m\",\"export\":\"e\"}",
            "{\"op\":\"instantiat\",\"module\":\"m\"}",
            "{\"op\":\"terminat\",\"instance\":\"1\"}",
            "{\"op\":\"statss\"}",
            "{\"op\":\"module\"}",
            "{\"op\":\"runn\",\"instance\":\"1\",\"export\":\"e\"}",
            "{\"op\":\"call\",\"modul\":\"m\",\"export\":\"e\"}",
            "{\"op\":\"call\",\"module\":\"m\",\"exports\":\"e\"}",
            "{\"op\":\"run\",\"instanc\":\"1\",\"export\":\"e\"}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"deadline\":5}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"deadline_msx\":5}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"arg\":[]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"argss\":[]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"typ\":\"i32\","
            "\"value\":1}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
            "\"values\":1}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i3\","
            "\"value\":1}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i322\","
            "\"value\":1}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"I32\","
            "\"value\":1}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"\\u0069"
            "32\",\"value\":1}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
            "\"value\":1},]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
            "\"value\":1,}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[,]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
            "\"value\":[1]}]}",
            "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[{\"type\":\"i32\","
            "\"value\":1,\"z\":{}}]}",
            "{\"op\":\"ping\",\"args\":[1]}",
            "{\"op\":\"ping\",\"args\":{}}",
            "{\"op\":\"ping\",\"id\":{\"a\":1}}",
            "{\"op\":\"ping\",\"module\":[]}",
        };

        for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++)
            differ_s(near[i]);
    }
}
END_TEST

START_TEST(test_fast_each_op)
{
    char line[256];

    /* Every op by its proto_op_name spelling, with the fields it needs. */
    for (int o = PROTO_OP_PING; o <= PROTO_OP_MODULES; o++) {
        struct proto_request req;
        int n = snprintf(line, sizeof(line),
                         "{\"op\":\"%s\",\"module\":\"m\",\"export\":\"e\",\"instance\":\"1\"}",
                         proto_op_name((enum proto_op)o));

        ck_assert_int_eq(differ(line, (size_t)n), 1);
        ck_assert_int_eq(proto_request_parse_fast(&req, line, (size_t)n), 1);
        ck_assert_int_eq(req.op, o);
        proto_request_release(&req);
    }
}
END_TEST

START_TEST(test_fast_args_edges)
{
    char line[8192];

    /* 64 typed values are the fast path's, 65 the jansson path's; both the same result. */
    for (int na = 0; na <= 66; na++) {
        size_t n = (size_t)snprintf(
            line, sizeof(line), "{\"op\":\"call\",\"module\":\"m\",\"export\":\"e\",\"args\":[");
        for (int a = 0; a < na; a++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s{\"type\":\"%s\",\"value\":%d}",
                                  a ? "," : "", a % 2 ? "i64" : "i32", a - 30);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "]}");
        ck_assert_int_eq(differ(line, n), na <= 64);
    }
    /* Every prefix of the benchmark line, and the line with each byte replaced. */
    {
        size_t n = 0;

        for (size_t t = 0; t < NTOK; t++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", bench_tokens[t]);
        for (size_t k = 0; k < n; k++)
            ck_assert_int_eq(differ(line, k), 0);
        for (size_t k = 0; k < n; k++) {
            static const char repl[] = "{}[]\":, 0-.eE\\\x01\x7f\xc3tfnaiz9";
            char save = line[k];

            for (size_t r = 0; r < sizeof(repl) - 1; r++) {
                line[k] = repl[r];
                differ(line, n);
            }
            line[k] = save;
        }
        ck_assert_int_eq(differ(line, n), 1);
    }
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
        struct wasmslot_value v[12];
        size_t nv = 0, r;

        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
            memset(&v[nv], 0, sizeof(v[nv]));
            v[nv].type = i % 2 ? WASMSLOT_I64 : WASMSLOT_I32;
            if (v[nv].type == WASMSLOT_I32)
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
            struct wasmslot_value one = {.type = WASMSLOT_I64, .of.i64 = (uint64_t)ints[i]};
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
        struct wasmslot_value f = {.type = WASMSLOT_F64};
        ck_assert_uint_eq(proto_render_results(buf, sizeof(buf), idv[4], &f, 1), 0);
    }
    for (size_t k = 0; k < sizeof(idv) / sizeof(idv[0]); k++)
        json_decref(idv[k]);
}
END_TEST

/* A WASI command's reply, as wasirun builds it with jansson: every byte value in the output
 * either renders exactly as jansson does or hands over to it. */
START_TEST(test_fast_render_command)
{
    json_t *id = json_integer(42);
    char buf[4096], text[300];
    size_t took = 0, r;

    for (int c = 0; c < 256; c++) {
        json_t *msg;
        size_t n = (size_t)snprintf(text, sizeof(text), "a%cb\n", c);

        text[1] = (char)c;
        r = proto_render_command(buf, sizeof(buf), id, c - 3, (const uint8_t *)text, n,
                                 (const uint8_t *)"err\t", 4);
        took += r != 0;
        msg = proto_reply_new(id, true);
        json_object_set_new(msg, "exit_code", json_integer(c - 3));
        json_object_set_new(msg, "stdout", proto_bytes_to_json(text, n));
        json_object_set_new(msg, "stderr", proto_bytes_to_json("err\t", 4));
        same_render(r, buf, msg);
    }
    /* Printable ASCII, tab, CR and LF take the fast path. */
    ck_assert_uint_ge(took, 95 + 3);
    r = proto_render_command(buf, sizeof(buf), id, 0, (const uint8_t *)"", 0, NULL, 0);
    ck_assert_uint_gt(r, 0);
    ck_assert_uint_eq(proto_render_command(buf, 40, id, 0, (const uint8_t *)text, 30, NULL, 0), 0);
    json_decref(id);
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
    tcase_add_test(tc, test_fast_whitespace_everywhere);
    tcase_add_test(tc, test_fast_any_key_order);
    tcase_add_test(tc, test_fast_duplicates);
    tcase_add_test(tc, test_fast_render_command);
    tcase_add_test(tc, test_fast_string_bytes);
    tcase_add_test(tc, test_fast_each_op);
    tcase_add_test(tc, test_fast_args_edges);
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
