/* check_decode.c: unit tests of the binary reader, the decoder, the module validator and the
 * module introspection functions. */
#include "config.h"

#include "format/module.h"
#include "format/reader.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00
/* A module: the header, then the given section bytes. */
#define MOD(...)                                                                                   \
    {                                                                                              \
        HDR, __VA_ARGS__                                                                           \
    }

/* Decode and validate; return the first failure (0 when both pass). The module is cleared. */
static int load(const uint8_t *b, size_t n, struct wasmslot_error *err)
{
    struct wasmslot_module m;
    int rc;

    memset(&m, 0, sizeof(m));
    memset(err, 0, sizeof(*err));
    rc = wasmslot_decode(&m, b, n, err);
    if (rc == 0)
        rc = wasmslot_validate_module(&m, err);
    wasmslot_module_clear(&m);
    return rc;
}

/* Assert that b fails with code and a message starting with msg. */
static void expect_fail_at(const uint8_t *b, size_t n, int code, const char *msg, int line)
{
    struct wasmslot_error err;
    int rc = load(b, n, &err);

    ck_assert_msg(rc == -code, "line %d: rc %d, wanted %d (%s)", line, rc, -code, err.message);
    ck_assert_int_eq(err.code, rc);
    ck_assert_msg(strncmp(err.message, msg, strlen(msg)) == 0, "line %d: message '%s', wanted '%s'",
                  line, err.message, msg);
}

#define EXPECT_MALFORMED(msg, ...)                                                                 \
    do {                                                                                           \
        static const uint8_t b_[] = MOD(__VA_ARGS__);                                              \
        expect_fail_at(b_, sizeof(b_), WASMSLOT_EMALFORMED, msg, __LINE__);                        \
    } while (0)

#define EXPECT_INVALID(msg, ...)                                                                   \
    do {                                                                                           \
        static const uint8_t b_[] = MOD(__VA_ARGS__);                                              \
        expect_fail_at(b_, sizeof(b_), WASMSLOT_EINVALID, msg, __LINE__);                          \
    } while (0)

#define EXPECT_OK(...)                                                                             \
    do {                                                                                           \
        static const uint8_t b_[] = MOD(__VA_ARGS__);                                              \
        struct wasmslot_error e_;                                                                  \
        int rc_ = load(b_, sizeof(b_), &e_);                                                       \
        ck_assert_msg(rc_ == 0, "line %d: %s", __LINE__, e_.message);                              \
    } while (0)

/* Read a whole fixture built from tests/wat into memory. */
static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    uint8_t *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", DECODE_FIXTURES, name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Decode and validate a fixture into *m, which the caller clears. */
static void load_fixture(const char *name, struct wasmslot_module *m)
{
    struct wasmslot_error err;
    size_t len;
    uint8_t *b = read_fixture(name, &len);

    memset(m, 0, sizeof(*m));
    ck_assert_msg(wasmslot_decode(m, b, len, &err) == 0, "%s: %s", name, err.message);
    ck_assert_msg(wasmslot_validate_module(m, &err) == 0, "%s: %s", name, err.message);
    /* The module keeps its own copy. */
    memset(b, 0xff, len);
    free(b);
}

/* ------------------------------------------------------------------ reader */

static int read_leb(const uint8_t *b, size_t n, int kind, uint64_t *out, struct wasmslot_error *err)
{
    struct wasmslot_reader r;
    uint32_t v32;
    int64_t v33;
    int rc;

    wasmslot_rd_init(&r, b, n, err);
    switch (kind) {
    case 0:
        rc = wasmslot_rd_u32(&r, &v32);
        *out = v32;
        break;
    case 1:
        rc = wasmslot_rd_s32(&r, &v32);
        *out = v32;
        break;
    case 2:
        rc = wasmslot_rd_s33(&r, &v33);
        *out = (uint64_t)v33;
        break;
    case 3:
        rc = wasmslot_rd_u64(&r, out);
        break;
    default:
        rc = wasmslot_rd_s64(&r, out);
        break;
    }
    if (rc == 0)
        ck_assert_msg(r.p == r.end, "LEB128 did not consume its bytes");
    return rc;
}

struct leb_case {
    int kind; /* 0 u32, 1 s32, 2 s33, 3 u64, 4 s64 */
    uint8_t bytes[12];
    size_t len;
    const char *error; /* NULL: decodes to value */
    uint64_t value;
};

static const struct leb_case leb_cases[] = {
    {0, {0x00}, 1, NULL, 0},
    {0, {0xe5, 0x8e, 0x26}, 3, NULL, 624485},
    {0, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5, NULL, 0xffffffffu},
    {0, {0x80, 0x80, 0x80, 0x80, 0x00}, 5, NULL, 0},
    {0, {0xff, 0xff, 0xff, 0xff, 0x1f}, 5, "integer too large", 0},
    {0, {0x82, 0x80, 0x80, 0x80, 0x70}, 5, "integer too large", 0},
    {0, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 6, "integer representation too long", 0},
    {0, {0x80, 0x80}, 2, "unexpected end", 0},
    {1, {0x7f}, 1, NULL, 0xffffffffu},
    {1, {0xc0, 0xbb, 0x78}, 3, NULL, (uint32_t)-123456},
    {1, {0xff, 0xff, 0xff, 0xff, 0x7f}, 5, NULL, 0xffffffffu},
    {1, {0x80, 0x80, 0x80, 0x80, 0x78}, 5, NULL, 0x80000000u},
    {1, {0xff, 0xff, 0xff, 0xff, 0x07}, 5, NULL, 0x7fffffffu},
    {1, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5, "integer too large", 0},
    {1, {0x80, 0x80, 0x80, 0x80, 0x70}, 5, "integer too large", 0},
    {1, {0xff, 0xff, 0xff, 0xff, 0x4f}, 5, "integer too large", 0},
    {1, {0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 6, "integer representation too long", 0},
    {2, {0x40}, 1, NULL, (uint64_t)-64},
    {2, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5, NULL, 0xffffffffu},
    {2, {0x80, 0x80, 0x80, 0x80, 0x70}, 5, NULL, (uint64_t)INT64_C(-4294967296)},
    {2, {0xff, 0xff, 0xff, 0xff, 0x1f}, 5, "integer too large", 0},
    {3, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10, NULL, UINT64_MAX},
    {3, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03}, 10, "integer too large", 0},
    {4, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 10, NULL, UINT64_MAX},
    {4,
     {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f},
     10,
     NULL,
     UINT64_C(0x8000000000000000)},
    {4, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7e}, 10, "integer too large", 0},
    {4, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10, "integer too large", 0},
    {4,
     {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
     11,
     "integer representation too long",
     0},
};

START_TEST(test_leb128)
{
    const struct leb_case *c = &leb_cases[_i];
    struct wasmslot_error err;
    uint64_t v = 0;
    int rc;

    memset(&err, 0, sizeof(err));
    rc = read_leb(c->bytes, c->len, c->kind, &v, &err);
    if (c->error == NULL) {
        ck_assert_msg(rc == 0, "case %d: %s", _i, err.message);
        ck_assert_msg(v == c->value, "case %d: got %llx wanted %llx", _i, (unsigned long long)v,
                      (unsigned long long)c->value);
    } else {
        ck_assert_int_eq(rc, -WASMSLOT_EMALFORMED);
        ck_assert_msg(strncmp(err.message, c->error, strlen(c->error)) == 0,
                      "case %d: '%s' wanted '%s'", _i, err.message, c->error);
    }
}
END_TEST

START_TEST(test_utf8)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"", true},
        {"plain ascii", true},
        {"\xc3\xa9t\xc3\xa9", true},     /* été */
        {"\xe2\x82\xac", true},          /* U+20AC */
        {"\xf0\x9f\x98\x80", true},      /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", true},      /* U+10FFFF */
        {"\xc0\x80", false},             /* overlong NUL */
        {"\xc1\xbf", false},             /* overlong */
        {"\xe0\x9f\xbf", false},         /* overlong 3-byte */
        {"\xf0\x8f\xbf\xbf", false},     /* overlong 4-byte */
        {"\xed\xa0\x80", false},         /* surrogate U+D800 */
        {"\xed\xbf\xbf", false},         /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", false},     /* U+110000 */
        {"\xf8\x88\x80\x80\x80", false}, /* 5-byte form */
        {"\x80", false},                 /* lone continuation */
        {"\xc3", false},                 /* truncated */
        {"\xe2\x82", false},             /* truncated */
        {"\xe2\x28\xa1", false},         /* bad continuation */
        {"\xff", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(wasmslot_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)) ==
                          cases[i].ok,
                      "case %zu", i);
}
END_TEST

/* ------------------------------------------------------------------ structure */

START_TEST(test_header)
{
    static const uint8_t empty[] = {0};
    static const uint8_t short_magic[] = {0x00, 0x61, 0x73};
    static const uint8_t bad_magic[] = {0x00, 0x41, 0x53, 0x4d, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t no_version[] = {0x00, 0x61, 0x73, 0x6d, 0x01};
    static const uint8_t bad_version[] = {0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00};
    static const uint8_t ok[] = {HDR};

    expect_fail_at(empty, 0, WASMSLOT_EMALFORMED, "unexpected end", __LINE__);
    expect_fail_at(short_magic, sizeof(short_magic), WASMSLOT_EMALFORMED, "unexpected end",
                   __LINE__);
    expect_fail_at(bad_magic, sizeof(bad_magic), WASMSLOT_EMALFORMED, "magic header not detected",
                   __LINE__);
    expect_fail_at(no_version, sizeof(no_version), WASMSLOT_EMALFORMED, "unexpected end", __LINE__);
    expect_fail_at(bad_version, sizeof(bad_version), WASMSLOT_EMALFORMED, "unknown binary version",
                   __LINE__);

    struct wasmslot_module m;
    struct wasmslot_error err;

    memset(&m, 0, sizeof(m));
    ck_assert_int_eq(wasmslot_decode(&m, ok, sizeof(ok), &err), 0);
    ck_assert_int_eq(wasmslot_validate_module(&m, &err), 0);
    ck_assert_uint_eq(m.ntypes + m.nimports + m.nfuncs + m.nexports + m.nelems + m.ndatas, 0);
    ck_assert_uint_eq(m.nfuncs_total + m.ntables_total + m.nmemories_total + m.nglobals_total, 0);
    ck_assert(!m.has_start && !m.has_data_count);
    ck_assert_uint_eq(m.len, sizeof(ok));
    wasmslot_module_clear(&m);
    ck_assert_ptr_null(m.bytes);
}
END_TEST

START_TEST(test_sections)
{
    /* Section ids past 12 and non-byte ids. */
    EXPECT_MALFORMED("malformed section id", 0x0d, 0x00);
    EXPECT_MALFORMED("malformed section id", 0x80, 0x00, 0x01, 0x00);
    /* Size past the end of the binary. */
    EXPECT_MALFORMED("length out of bounds", 0x01, 0x07, 0x02, 0x60, 0x00, 0x00);
    /* Concatenated modules: the second magic reads as a custom section of size 0x61. */
    EXPECT_MALFORMED("length out of bounds", HDR);
    /* Type section of size 7 holding one 3-byte type: bytes left over. */
    EXPECT_MALFORMED("section size mismatch", 0x01, 0x07, 0x01, 0x60, 0x00, 0x00, 0x60, 0x00, 0x00);
    /* A count larger than the section. */
    EXPECT_MALFORMED("unexpected end of section or function", 0x05, 0x01, 0x01);
    EXPECT_MALFORMED("unexpected end of section or function", 0x06, 0x06, 0x02, 0x7f, 0x00, 0x41,
                     0x00, 0x0b);
    /* Order: memory before table, and a section twice. */
    EXPECT_MALFORMED("unexpected content after last section", 0x05, 0x01, 0x00, 0x04, 0x01, 0x00);
    EXPECT_MALFORMED("unexpected content after last section", 0x01, 0x01, 0x00, 0x01, 0x01, 0x00);
    /* Data count must come before code and data, code before data. */
    EXPECT_MALFORMED("unexpected content after last section", 0x0b, 0x01, 0x00, 0x0c, 0x01, 0x00);
    EXPECT_MALFORMED("unexpected content after last section", 0x0b, 0x01, 0x00, 0x0a, 0x01, 0x00);
    EXPECT_OK(0x0c, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x0b, 0x01, 0x00);
    /* Custom sections anywhere, with a valid UTF-8 name and any payload. */
    EXPECT_OK(0x00, 0x05, 0x01, 'a', 0xff, 0xfe, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
              0x04, 0x00, 'x', 'y', 'z');
    EXPECT_MALFORMED("malformed UTF-8 encoding", 0x00, 0x03, 0x02, 0xc0, 0x80);
    EXPECT_MALFORMED("unexpected end", 0x00, 0x00);
    EXPECT_MALFORMED("unexpected end", 0x00, 0x02, 0x05, 'a');
    /* Section size itself truncated. */
    EXPECT_MALFORMED("unexpected end", 0x01, 0x80);
}
END_TEST

START_TEST(test_types_imports_exports)
{
    /* Function type form byte. */
    EXPECT_MALFORMED("malformed function type", 0x01, 0x04, 0x01, 0x61, 0x00, 0x00);
    EXPECT_MALFORMED("integer representation too long", 0x01, 0x05, 0x01, 0xe0, 0x7f, 0x00, 0x00);
    /* Value types: an unknown byte, and v128 (SIMD is not supported). */
    EXPECT_MALFORMED("malformed value type", 0x01, 0x05, 0x01, 0x60, 0x01, 0x40, 0x00);
    EXPECT_MALFORMED("malformed value type", 0x01, 0x05, 0x01, 0x60, 0x01, 0x7b, 0x00);
    EXPECT_OK(0x01, 0x0a, 0x01, 0x60, 0x03, 0x7f, 0x70, 0x6f, 0x03, 0x7e, 0x7d, 0x7c);
    /* Import kinds 0..3 only. */
    EXPECT_MALFORMED("malformed import kind", 0x02, 0x04, 0x01, 0x00, 0x00, 0x04);
    EXPECT_MALFORMED("malformed import kind", 0x02, 0x05, 0x01, 0x00, 0x00, 0x80, 0x00);
    /* Import names must be UTF-8. */
    EXPECT_MALFORMED("malformed UTF-8 encoding", 0x02, 0x08, 0x01, 0x01, 0xff, 0x01, 'x', 0x03,
                     0x7f, 0x00);
    /* Global import mutability byte. */
    EXPECT_MALFORMED("malformed mutability", 0x02, 0x06, 0x01, 0x00, 0x00, 0x03, 0x7f, 0x02);
    /* Function import of an unknown type. */
    EXPECT_INVALID("unknown type", 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00);
    /* Export kinds and names. */
    EXPECT_MALFORMED("malformed export kind", 0x07, 0x04, 0x01, 0x00, 0x04, 0x00);
    EXPECT_INVALID("unknown function 0", 0x07, 0x04, 0x01, 0x00, 0x00, 0x00);
    EXPECT_INVALID("unknown table 0", 0x07, 0x04, 0x01, 0x00, 0x01, 0x00);
    EXPECT_INVALID("unknown memory 0", 0x07, 0x04, 0x01, 0x00, 0x02, 0x00);
    EXPECT_INVALID("unknown global 0", 0x07, 0x04, 0x01, 0x00, 0x03, 0x00);
    /* Two exports named "a". */
    EXPECT_INVALID("duplicate export name", 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x09, 0x02, 0x01,
                   'a', 0x02, 0x00, 0x01, 'a', 0x02, 0x00);
    /* "a" and "a\0" differ. */
    EXPECT_OK(0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x0a, 0x02, 0x01, 'a', 0x02, 0x00, 0x02, 'a',
              0x00, 0x02, 0x00);
}
END_TEST

START_TEST(test_limits)
{
    /* Table limits flags 0/1, memory flags 0..3; anything else. */
    EXPECT_MALFORMED("integer too large", 0x04, 0x04, 0x01, 0x70, 0x02, 0x00);
    EXPECT_MALFORMED("integer representation too long", 0x04, 0x05, 0x01, 0x70, 0x81, 0x00, 0x00);
    EXPECT_MALFORMED("integer too large", 0x05, 0x03, 0x01, 0x04, 0x00);
    EXPECT_MALFORMED("malformed reference type", 0x04, 0x04, 0x01, 0x7f, 0x00, 0x00);
    /* A memory limit over 32 bits. */
    EXPECT_MALFORMED("integer too large", 0x05, 0x07, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x70);
    /* min > max, for tables and memories. */
    EXPECT_INVALID("size minimum must not be greater than maximum", 0x04, 0x05, 0x01, 0x70, 0x01,
                   0x02, 0x01);
    EXPECT_INVALID("size minimum must not be greater than maximum", 0x05, 0x04, 0x01, 0x01, 0x02,
                   0x01);
    /* Memory sizes up to 65536 pages; table sizes up to 2^32-1. */
    EXPECT_OK(0x05, 0x06, 0x01, 0x01, 0x00, 0x80, 0x80, 0x04);
    EXPECT_INVALID("memory size must be at most 65536 pages (4GiB)", 0x05, 0x05, 0x01, 0x00, 0x81,
                   0x80, 0x04);
    EXPECT_INVALID("memory size must be at most 65536 pages (4GiB)", 0x05, 0x06, 0x01, 0x01, 0x00,
                   0x81, 0x80, 0x04);
    EXPECT_OK(0x04, 0x09, 0x01, 0x70, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f);
    /* Shared memories need a maximum. */
    EXPECT_OK(0x05, 0x04, 0x01, 0x03, 0x01, 0x02);
    EXPECT_INVALID("shared memory must have maximum", 0x05, 0x03, 0x01, 0x02, 0x01);
    /* One memory at most, imported or defined. */
    EXPECT_INVALID("multiple memories", 0x05, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01);
    EXPECT_INVALID("multiple memories", 0x02, 0x06, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x05, 0x03,
                   0x01, 0x00, 0x00);
    /* Several tables are fine (reference types). */
    EXPECT_OK(0x04, 0x07, 0x02, 0x70, 0x00, 0x00, 0x6f, 0x00, 0x01);
}
END_TEST

START_TEST(test_globals_and_constexprs)
{
    /* i32 global initialised by each constant kind. */
    EXPECT_OK(0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x7f, 0x0b);
    EXPECT_OK(0x06, 0x09, 0x01, 0x7d, 0x01, 0x43, 0x00, 0x00, 0xc0, 0x3f, 0x0b);
    EXPECT_INVALID("type mismatch", 0x06, 0x06, 0x01, 0x7e, 0x00, 0x41, 0x00, 0x0b);
    /* Empty, and two values. */
    EXPECT_INVALID("type mismatch", 0x06, 0x04, 0x01, 0x7f, 0x00, 0x0b);
    EXPECT_INVALID("type mismatch", 0x06, 0x08, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b);
    /* Not a constant instruction (i32.add; nop), and an opcode that does not exist. */
    EXPECT_INVALID("constant expression required", 0x06, 0x07, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x6a,
                   0x0b);
    EXPECT_INVALID("constant expression required", 0x06, 0x05, 0x01, 0x7f, 0x00, 0x01, 0x0b);
    EXPECT_MALFORMED("illegal opcode", 0x06, 0x05, 0x01, 0x7f, 0x00, 0xff, 0x0b);
    /* Truncated: malformed, not invalid. */
    EXPECT_MALFORMED("unexpected end", 0x06, 0x05, 0x01, 0x7f, 0x00, 0x41, 0x00);
    /* Signed immediates: unused bits must be sign copies. */
    EXPECT_MALFORMED("integer too large", 0x06, 0x0a, 0x01, 0x7f, 0x00, 0x41, 0x80, 0x80, 0x80,
                     0x80, 0x70, 0x0b);
    /* global.get: imported immutable globals only. */
    EXPECT_OK(0x02, 0x06, 0x01, 0x00, 0x00, 0x03, 0x7f, 0x00, 0x06, 0x06, 0x01, 0x7f, 0x00, 0x23,
              0x00, 0x0b);
    EXPECT_INVALID("constant expression required", 0x02, 0x06, 0x01, 0x00, 0x00, 0x03, 0x7f, 0x01,
                   0x06, 0x06, 0x01, 0x7f, 0x00, 0x23, 0x00, 0x0b);
    EXPECT_INVALID("unknown global 0", 0x06, 0x0b, 0x02, 0x7f, 0x00, 0x41, 0x00, 0x0b, 0x7f, 0x00,
                   0x23, 0x00, 0x0b);
    EXPECT_INVALID("type mismatch", 0x02, 0x06, 0x01, 0x00, 0x00, 0x03, 0x7e, 0x00, 0x06, 0x06,
                   0x01, 0x7f, 0x00, 0x23, 0x00, 0x0b);
    /* References: ref.null of each type, ref.func of a known function. */
    EXPECT_OK(0x06, 0x0b, 0x02, 0x70, 0x00, 0xd0, 0x70, 0x0b, 0x6f, 0x00, 0xd0, 0x6f, 0x0b);
    EXPECT_INVALID("type mismatch", 0x06, 0x06, 0x01, 0x70, 0x00, 0xd0, 0x6f, 0x0b);
    EXPECT_MALFORMED("malformed reference type", 0x06, 0x06, 0x01, 0x70, 0x00, 0xd0, 0x7f, 0x0b);
    EXPECT_INVALID("unknown function 0", 0x06, 0x06, 0x01, 0x70, 0x00, 0xd2, 0x00, 0x0b);
    EXPECT_MALFORMED("malformed mutability", 0x06, 0x06, 0x01, 0x7f, 0x02, 0x41, 0x00, 0x0b);
}
END_TEST

/* Type (func), function, table and code sections of a module with one function 0: [] -> [],
 * followed by more sections, in the right order. */
#define ONE_FUNC_TYPE 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00
#define ONE_TABLE     0x04, 0x04, 0x01, 0x70, 0x00, 0x01
#define ONE_CODE      0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b

START_TEST(test_functions_and_code)
{
    EXPECT_OK(ONE_FUNC_TYPE, ONE_CODE);
    EXPECT_INVALID("unknown type", 0x03, 0x02, 0x01, 0x00, ONE_CODE);
    EXPECT_MALFORMED("function and code section have inconsistent lengths", ONE_FUNC_TYPE);
    EXPECT_MALFORMED("function and code section have inconsistent lengths", 0x0a, 0x04, 0x01, 0x02,
                     0x00, 0x0b);
    EXPECT_MALFORMED("function and code section have inconsistent lengths", ONE_FUNC_TYPE, 0x0a,
                     0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b);
    /* Body without its final end: between two functions, at the end of the binary, and
     * before another section (the spec's wording for each). */
    EXPECT_MALFORMED("END opcode expected", 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x03, 0x02,
                     0x00, 0x00, 0x0a, 0x0c, 0x02, 0x04, 0x00, 0x41, 0x01, 0x1a, 0x05, 0x00, 0x41,
                     0x01, 0x1a, 0x0b);
    EXPECT_MALFORMED("unexpected end of section or function", ONE_FUNC_TYPE, 0x0a, 0x06, 0x01, 0x04,
                     0x00, 0x41, 0x01, 0x1a);
    EXPECT_MALFORMED("section size mismatch", ONE_FUNC_TYPE, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41,
                     0x01, 0x1a, 0x0b, 0x03, 0x01, 0x01, 0x00);
    EXPECT_MALFORMED("unexpected end of section or function", ONE_FUNC_TYPE, 0x0a, 0x03, 0x01, 0x01,
                     0x00);
    /* Entry size past the section. */
    EXPECT_MALFORMED("unexpected end of section or function", ONE_FUNC_TYPE, 0x0a, 0x04, 0x01, 0x05,
                     0x00, 0x0b);
    /* 0xFFFFFFFF + 2 locals. */
    EXPECT_MALFORMED("too many locals", ONE_FUNC_TYPE, 0x0a, 0x0c, 0x01, 0x0a, 0x02, 0xff, 0xff,
                     0xff, 0xff, 0x0f, 0x7f, 0x02, 0x7e, 0x0b);
    /* 4 x 0x40000000 = 2^32 locals. */
    EXPECT_MALFORMED("too many locals", ONE_FUNC_TYPE, 0x0a, 0x1c, 0x01, 0x1a, 0x04, 0x80, 0x80,
                     0x80, 0x80, 0x04, 0x7f, 0x80, 0x80, 0x80, 0x80, 0x04, 0x7e, 0x80, 0x80, 0x80,
                     0x80, 0x04, 0x7d, 0x80, 0x80, 0x80, 0x80, 0x04, 0x7c, 0x0b);
    /* 50000 locals are accepted, 60000 exceed the implementation limit. */
    EXPECT_OK(ONE_FUNC_TYPE, 0x0a, 0x08, 0x01, 0x06, 0x01, 0xd0, 0x86, 0x03, 0x7f, 0x0b);
    EXPECT_MALFORMED("too many locals", ONE_FUNC_TYPE, 0x0a, 0x08, 0x01, 0x06, 0x01, 0xe0, 0xd4,
                     0x03, 0x7f, 0x0b);
    /* Zero-count declarations are fine. */
    EXPECT_OK(ONE_FUNC_TYPE, 0x0a, 0x0a, 0x01, 0x08, 0x03, 0x00, 0x7f, 0x00, 0x7e, 0x02, 0x7d,
              0x0b);
    EXPECT_MALFORMED("malformed value type", ONE_FUNC_TYPE, 0x0a, 0x06, 0x01, 0x04, 0x01, 0x01,
                     0x40, 0x0b);
    /* Start function: known, of type [] -> []. */
    EXPECT_OK(ONE_FUNC_TYPE, 0x08, 0x01, 0x00, ONE_CODE);
    EXPECT_INVALID("unknown function 1", ONE_FUNC_TYPE, 0x08, 0x01, 0x01, ONE_CODE);
    EXPECT_INVALID("start function", 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01,
                   0x00, 0x08, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x00, 0x0b);
}
END_TEST

START_TEST(test_elements)
{
    /* Each of the 8 encodings, well-formed and valid. */
    EXPECT_OK(ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,
              ONE_CODE);
    EXPECT_OK(ONE_FUNC_TYPE, 0x09, 0x05, 0x01, 0x01, 0x00, 0x01, 0x00, ONE_CODE);
    EXPECT_OK(ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x09, 0x01, 0x02, 0x00, 0x41, 0x00, 0x0b, 0x00, 0x01,
              0x00, ONE_CODE);
    EXPECT_OK(ONE_FUNC_TYPE, 0x09, 0x05, 0x01, 0x03, 0x00, 0x01, 0x00, ONE_CODE);
    EXPECT_OK(ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x0c, 0x01, 0x04, 0x41, 0x00, 0x0b, 0x02, 0xd2, 0x00,
              0x0b, 0xd0, 0x70, 0x0b, ONE_CODE);
    EXPECT_OK(0x09, 0x07, 0x01, 0x05, 0x6f, 0x01, 0xd0, 0x6f, 0x0b);
    EXPECT_OK(0x04, 0x04, 0x01, 0x6f, 0x00, 0x01, 0x09, 0x0b, 0x01, 0x06, 0x00, 0x41, 0x00, 0x0b,
              0x6f, 0x01, 0xd0, 0x6f, 0x0b);
    EXPECT_OK(ONE_FUNC_TYPE, 0x09, 0x07, 0x01, 0x07, 0x70, 0x01, 0xd2, 0x00, 0x0b, ONE_CODE);
    /* Bad flags, elemkind and reftype. */
    EXPECT_MALFORMED("malformed elements segment kind", 0x09, 0x03, 0x01, 0x08, 0x00);
    EXPECT_MALFORMED("malformed element kind", 0x09, 0x04, 0x01, 0x01, 0x01, 0x00);
    EXPECT_MALFORMED("malformed reference type", 0x09, 0x04, 0x01, 0x05, 0x7f, 0x00);
    /* Validation: table index, offset type, item types, function indices. */
    EXPECT_INVALID("unknown table 0", ONE_FUNC_TYPE, 0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01,
                   0x00, ONE_CODE);
    EXPECT_INVALID("unknown table 1", ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x09, 0x01, 0x02, 0x01, 0x41,
                   0x00, 0x0b, 0x00, 0x01, 0x00, ONE_CODE);
    EXPECT_INVALID("type mismatch", ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x07, 0x01, 0x00, 0x42, 0x00,
                   0x0b, 0x01, 0x00, ONE_CODE);
    EXPECT_INVALID("unknown function 1", ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x07, 0x01, 0x00, 0x41,
                   0x00, 0x0b, 0x01, 0x01, ONE_CODE);
    /* An externref segment for a funcref table, and a funcref item in an externref segment. */
    EXPECT_INVALID("type mismatch", ONE_TABLE, 0x09, 0x0b, 0x01, 0x06, 0x00, 0x41, 0x00, 0x0b, 0x6f,
                   0x01, 0xd0, 0x6f, 0x0b);
    EXPECT_INVALID("type mismatch", 0x09, 0x07, 0x01, 0x05, 0x6f, 0x01, 0xd0, 0x70, 0x0b);
    /* Non-constant item. */
    EXPECT_INVALID("constant expression required", 0x09, 0x06, 0x01, 0x05, 0x70, 0x01, 0x01, 0x0b);
    /* Count larger than what follows: 2 declared, 1 given. */
    EXPECT_MALFORMED("unexpected end", ONE_FUNC_TYPE, ONE_TABLE, 0x09, 0x07, 0x02, 0x00, 0x41, 0x00,
                     0x0b, 0x01, 0x00);
}
END_TEST

/* A memory of one page. */
#define ONE_MEMORY 0x05, 0x03, 0x01, 0x00, 0x01

START_TEST(test_data)
{
    EXPECT_OK(ONE_MEMORY, 0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 'a');
    EXPECT_OK(0x0b, 0x04, 0x01, 0x01, 0x01, 'a');
    EXPECT_OK(ONE_MEMORY, 0x0b, 0x08, 0x01, 0x02, 0x00, 0x41, 0x00, 0x0b, 0x01, 'a');
    EXPECT_MALFORMED("malformed data segment kind", 0x0b, 0x04, 0x01, 0x03, 0x00, 0x00);
    EXPECT_INVALID("unknown memory 0", 0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 'a');
    EXPECT_INVALID("unknown memory 1", ONE_MEMORY, 0x0b, 0x08, 0x01, 0x02, 0x01, 0x41, 0x00, 0x0b,
                   0x01, 'a');
    EXPECT_INVALID("type mismatch", ONE_MEMORY, 0x0b, 0x07, 0x01, 0x00, 0x42, 0x00, 0x0b, 0x01,
                   'a');
    /* Segment longer than the section. */
    EXPECT_MALFORMED("unexpected end of section or function", ONE_MEMORY, 0x0b, 0x0c, 0x01, 0x00,
                     0x41, 0x03, 0x0b, 0x07, 'a', 'b', 'c', 'd', 'e', 'f');
    /* Data count agreement, with and without a data section. */
    EXPECT_OK(0x0c, 0x01, 0x01, 0x0b, 0x04, 0x01, 0x01, 0x01, 'a');
    EXPECT_MALFORMED("data count and data section have inconsistent lengths", 0x0c, 0x01, 0x02,
                     0x0b, 0x04, 0x01, 0x01, 0x01, 'a');
    EXPECT_MALFORMED("data count and data section have inconsistent lengths", 0x0c, 0x01, 0x01);
    EXPECT_OK(0x0c, 0x01, 0x00);
}
END_TEST

/* Every prefix of a valid module either decodes (cut at a section boundary) or is malformed;
 * never invalid, never a crash. */
START_TEST(test_truncations)
{
    size_t len;
    uint8_t *b = read_fixture("decode_full.wasm", &len);

    for (size_t n = 0; n < len; n++) {
        struct wasmslot_module m;
        struct wasmslot_error err;
        int rc;

        memset(&m, 0, sizeof(m));
        rc = wasmslot_decode(&m, b, n, &err);
        ck_assert_msg(rc == 0 || rc == -WASMSLOT_EMALFORMED, "prefix %zu: %d %s", n, rc,
                      err.message);
        if (rc < 0)
            ck_assert_int_eq(err.code, rc);
        wasmslot_module_clear(&m);
    }
    free(b);
}
END_TEST

/* ------------------------------------------------------------------ decoded contents */

static bool declared(const struct wasmslot_module *m, uint32_t f)
{
    return (m->declared_funcs[f / 8] >> (f % 8)) & 1;
}

START_TEST(test_full_module_contents)
{
    struct wasmslot_module m;

    load_fixture("decode_full.wasm", &m);

    ck_assert_uint_eq(m.ntypes, 3);
    ck_assert_uint_eq(m.types[2].ft.nparams, 3);
    ck_assert_uint_eq(m.types[2].ft.nresults, 3);
    ck_assert_int_eq(m.types[2].ft.params[1], WASMSLOT_F32);
    ck_assert_int_eq(m.types[2].ft.results[0], WASMSLOT_F64);
    ck_assert_int_eq(m.types[2].ft.results[2], WASMSLOT_I64);

    /* Imports and index spaces, imports first. */
    ck_assert_uint_eq(m.nimports, 5);
    ck_assert_uint_eq(m.nfunc_imports, 1);
    ck_assert_uint_eq(m.ntable_imports, 1);
    ck_assert_uint_eq(m.nmemory_imports, 0);
    ck_assert_uint_eq(m.nglobal_imports, 3);
    ck_assert_str_eq(m.imports[0].module, "env");
    ck_assert_str_eq(m.imports[0].name, "add");
    ck_assert_uint_eq(m.imports[0].name_len, 3);
    ck_assert_uint_eq(m.nfuncs, 5);
    ck_assert_uint_eq(m.nfuncs_total, 6);
    ck_assert_uint_eq(m.func_types[0], 1);
    ck_assert_uint_eq(m.func_types[1], 0);
    ck_assert_uint_eq(m.func_types[3], 2);
    ck_assert_uint_eq(wasmslot_module_functype(&m, 2)->nparams, 2);
    ck_assert_uint_eq(m.ntables_total, 3);
    ck_assert_uint_eq(m.tables[0].limits.min, 2);
    ck_assert_uint_eq(m.tables[0].limits.max, 10);
    ck_assert_int_eq(m.tables[2].elem, WASMSLOT_EXTERNREF);
    ck_assert_uint_eq(m.nmemories_total, 1);
    ck_assert_uint_eq(m.memories[0].min, 1);
    ck_assert_uint_eq(m.memories[0].max, 4);
    ck_assert(m.memories[0].has_max && !m.memories[0].shared);
    ck_assert_uint_eq(m.nglobals_total, 10);
    ck_assert(m.global_types[1].mutable_);
    ck_assert_int_eq(m.global_types[2].type, WASMSLOT_EXTERNREF);

    /* Globals and their constant expressions. */
    ck_assert_uint_eq(m.nglobals, 7);
    ck_assert_int_eq(m.globals[0].init.kind, WASMSLOT_CONST_I32);
    ck_assert_uint_eq(m.globals[0].init.u.i32, (uint32_t)-7);
    ck_assert_uint_eq(m.globals[1].init.u.i64, UINT64_C(0x123456789));
    ck_assert(m.globals[1].type.mutable_);
    ck_assert_uint_eq(m.globals[2].init.u.f32, 0x3fc00000u);
    ck_assert_uint_eq(m.globals[3].init.u.f64, UINT64_C(0xc002000000000000));
    ck_assert_int_eq(m.globals[4].init.kind, WASMSLOT_CONST_GLOBAL_GET);
    ck_assert_uint_eq(m.globals[4].init.u.index, 0);
    ck_assert_int_eq(m.globals[5].init.kind, WASMSLOT_CONST_REF_FUNC);
    ck_assert_uint_eq(m.globals[5].init.u.index, 1);
    ck_assert_int_eq(m.globals[6].init.kind, WASMSLOT_CONST_REF_NULL);
    ck_assert_int_eq(m.globals[6].init.u.type, WASMSLOT_EXTERNREF);

    /* Bodies: locals expanded, body ends with its end and lies inside the module's copy. */
    ck_assert_uint_eq(m.funcs[1].nlocals, 4);
    ck_assert_int_eq(m.funcs[1].locals[0], WASMSLOT_I64);
    ck_assert_int_eq(m.funcs[1].locals[2], WASMSLOT_F32);
    ck_assert_int_eq(m.funcs[1].locals[3], WASMSLOT_F64);
    for (uint32_t i = 0; i < m.nfuncs; i++) {
        const struct wasmslot_func_def *f = &m.funcs[i];

        ck_assert(f->body >= m.bytes && f->body + f->body_len <= m.bytes + m.len);
        ck_assert_uint_eq(f->body[f->body_len - 1], 0x0b);
        ck_assert_uint_eq(f->body_offset, (size_t)(f->body - m.bytes));
        ck_assert_ptr_null(f->compiled);
    }
    ck_assert_uint_eq(m.funcs[0].body_len, 1);

    /* Exports, start. */
    ck_assert_uint_eq(m.nexports, 5);
    ck_assert_str_eq(m.exports[1].name, "mem");
    ck_assert_int_eq(m.exports[1].kind, WASMSLOT_EXTERN_MEMORY);
    ck_assert_uint_eq(m.exports[4].name_len, 0);
    ck_assert(m.has_start);
    ck_assert_uint_eq(m.start, 1);

    /* Element segments: modes, tables, types, items. */
    ck_assert_uint_eq(m.nelems, 8);
    ck_assert_int_eq(m.elems[0].mode, WASMSLOT_SEG_ACTIVE);
    ck_assert_uint_eq(m.elems[0].table, 0);
    ck_assert_uint_eq(m.elems[0].count, 2);
    ck_assert_int_eq(m.elems[0].items[1].kind, WASMSLOT_CONST_REF_FUNC);
    ck_assert_uint_eq(m.elems[0].items[1].u.index, 3);
    ck_assert_int_eq(m.elems[1].mode, WASMSLOT_SEG_PASSIVE);
    ck_assert_int_eq(m.elems[2].mode, WASMSLOT_SEG_ACTIVE);
    ck_assert_uint_eq(m.elems[2].table, 1);
    ck_assert_uint_eq(m.elems[2].offset.u.i32, 2);
    ck_assert_int_eq(m.elems[3].mode, WASMSLOT_SEG_DECLARATIVE);
    ck_assert_int_eq(m.elems[4].items[1].kind, WASMSLOT_CONST_REF_NULL);
    ck_assert_int_eq(m.elems[5].type, WASMSLOT_EXTERNREF);
    ck_assert_int_eq(m.elems[5].mode, WASMSLOT_SEG_PASSIVE);
    ck_assert_uint_eq(m.elems[6].table, 2);
    ck_assert_int_eq(m.elems[6].type, WASMSLOT_EXTERNREF);

    /* C.refs: element items, global initialisers and exports; not merely called functions. */
    ck_assert(declared(&m, 1));  /* ref.func in a global */
    ck_assert(declared(&m, 2));  /* element segments and export */
    ck_assert(declared(&m, 3));  /* element segments */
    ck_assert(declared(&m, 4));  /* export "" and element segment */
    ck_assert(declared(&m, 5));  /* declarative segment */
    ck_assert(!declared(&m, 0)); /* the import, never referenced */

    /* Data: count section, modes, bytes pointing into the copy. */
    ck_assert(m.has_data_count);
    ck_assert_uint_eq(m.data_count, 3);
    ck_assert_uint_eq(m.ndatas, 3);
    ck_assert_int_eq(m.datas[0].mode, WASMSLOT_SEG_ACTIVE);
    ck_assert_uint_eq(m.datas[0].offset.u.i32, 16);
    ck_assert_uint_eq(m.datas[0].len, 5);
    ck_assert(memcmp(m.datas[0].bytes, "hello", 5) == 0);
    ck_assert_int_eq(m.datas[1].mode, WASMSLOT_SEG_PASSIVE);
    ck_assert_int_eq(m.datas[2].offset.kind, WASMSLOT_CONST_GLOBAL_GET);
    ck_assert(m.datas[2].bytes >= m.bytes && m.datas[2].bytes + 3 <= m.bytes + m.len);

    wasmslot_module_clear(&m);
    ck_assert_ptr_null(m.bytes);
    ck_assert_uint_eq(m.nfuncs, 0);
}
END_TEST

START_TEST(test_introspection)
{
    struct wasmslot_module m;
    struct wasmslot_extern_desc d;
    struct wasmslot_limits lim;

    load_fixture("decode_full.wasm", &m);
    ck_assert_uint_eq(wasmslot_module_import_count(&m), 5);
    ck_assert_uint_eq(wasmslot_module_export_count(&m), 5);

    ck_assert_int_eq(wasmslot_module_import(&m, 0, &d), 0);
    ck_assert_str_eq(d.module, "env");
    ck_assert_str_eq(d.name, "add");
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_FUNC);
    ck_assert_uint_eq(d.func.nparams, 2);
    ck_assert_int_eq(d.func.results[0], WASMSLOT_I32);
    ck_assert_int_eq(wasmslot_module_import(&m, 1, &d), 0);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_TABLE);
    ck_assert_int_eq(d.elem_type, WASMSLOT_FUNCREF);
    ck_assert_uint_eq(d.limits.max, 10);
    ck_assert_int_eq(wasmslot_module_import(&m, 3, &d), 0);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_GLOBAL);
    ck_assert_int_eq(d.global_type, WASMSLOT_I64);
    ck_assert(d.global_mutable);
    ck_assert_int_eq(wasmslot_module_import(&m, 5, &d), -WASMSLOT_ENOTFOUND);

    ck_assert_int_eq(wasmslot_module_export(&m, 0, &d), 0);
    ck_assert_str_eq(d.name, "f1");
    ck_assert_ptr_null(d.module);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_FUNC);
    ck_assert_uint_eq(d.func.nparams, 2);
    ck_assert_int_eq(wasmslot_module_export(&m, 1, &d), 0);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_MEMORY);
    ck_assert_uint_eq(d.limits.min, 1);
    ck_assert_int_eq(wasmslot_module_export(&m, 2, &d), 0);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_TABLE);
    ck_assert_uint_eq(d.limits.min, 4);
    ck_assert_int_eq(wasmslot_module_export(&m, 3, &d), 0);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_GLOBAL);
    ck_assert_int_eq(d.global_type, WASMSLOT_I32);
    ck_assert(!d.global_mutable);
    ck_assert_int_eq(wasmslot_module_export(&m, 4, &d), 0);
    ck_assert_uint_eq(d.name_len, 0);
    ck_assert_str_eq(d.name, "");
    ck_assert_int_eq(wasmslot_module_export(&m, 5, &d), -WASMSLOT_ENOTFOUND);

    ck_assert_int_eq(wasmslot_module_memory(&m, &lim), 0);
    ck_assert_uint_eq(lim.min, 1);
    ck_assert_uint_eq(lim.max, 4);

    /* Tables: the whole index space is counted, imported first; limits only for its own. */
    ck_assert_uint_eq(wasmslot_module_table_count(&m), 3);
    ck_assert_int_eq(wasmslot_module_table(&m, 0, &lim), -WASMSLOT_ENOTFOUND);
    ck_assert_int_eq(wasmslot_module_table(&m, 1, &lim), 0);
    ck_assert_uint_eq(lim.min, 4);
    ck_assert(!lim.has_max);
    ck_assert_int_eq(wasmslot_module_table(&m, 2, &lim), 0);
    ck_assert_uint_eq(lim.min, 1);
    ck_assert(lim.has_max);
    ck_assert_uint_eq(lim.max, 2);
    ck_assert_int_eq(wasmslot_module_table(&m, 3, &lim), -WASMSLOT_ENOTFOUND);
    wasmslot_module_clear(&m);

    /* An imported (shared) memory is not the module's own. */
    load_fixture("decode_shared.wasm", &m);
    ck_assert_int_eq(wasmslot_module_memory(&m, &lim), -WASMSLOT_ENOTFOUND);
    ck_assert_int_eq(wasmslot_module_import(&m, 0, &d), 0);
    ck_assert_int_eq(d.kind, WASMSLOT_EXTERN_MEMORY);
    ck_assert(d.limits.shared && d.limits.has_max);
    ck_assert_uint_eq(d.limits.max, 16);
    ck_assert(m.memories[0].shared);
    wasmslot_module_clear(&m);

    load_fixture("decode_min.wasm", &m);
    ck_assert_int_eq(wasmslot_module_memory(&m, &lim), -WASMSLOT_ENOTFOUND);
    ck_assert_uint_eq(wasmslot_module_table_count(&m), 0);
    ck_assert_int_eq(wasmslot_module_table(&m, 0, &lim), -WASMSLOT_ENOTFOUND);
    ck_assert_uint_eq(wasmslot_module_import_count(&m), 0);
    ck_assert(declared(&m, 0));
    wasmslot_module_clear(&m);
}
END_TEST

START_TEST(test_names_with_nul)
{
    /* An export named "a\0b": the copy keeps all three bytes and a terminator. */
    static const uint8_t b[] =
        MOD(0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x07, 0x01, 0x03, 'a', 0x00, 'b', 0x02, 0x00);
    struct wasmslot_module m;
    struct wasmslot_error err;

    memset(&m, 0, sizeof(m));
    ck_assert_int_eq(wasmslot_decode(&m, b, sizeof(b), &err), 0);
    ck_assert_int_eq(wasmslot_validate_module(&m, &err), 0);
    ck_assert_uint_eq(m.exports[0].name_len, 3);
    ck_assert(memcmp(m.exports[0].name, "a\0b", 4) == 0);
    wasmslot_module_clear(&m);
    /* Clearing twice is harmless. */
    wasmslot_module_clear(&m);
    wasmslot_module_clear(NULL);
}
END_TEST

START_TEST(test_error_without_err)
{
    /* err may be NULL: the code still comes back. */
    static const uint8_t b[] = MOD(0x0d, 0x00);
    struct wasmslot_module m;

    memset(&m, 0, sizeof(m));
    ck_assert_int_eq(wasmslot_decode(&m, b, sizeof(b), NULL), -WASMSLOT_EMALFORMED);
    wasmslot_module_clear(&m);
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("reader");

    tcase_add_loop_test(tc, test_leb128, 0, (int)(sizeof(leb_cases) / sizeof(leb_cases[0])));
    tcase_add_test(tc, test_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_test(tc, test_header);
    tcase_add_test(tc, test_sections);
    tcase_add_test(tc, test_types_imports_exports);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_globals_and_constexprs);
    tcase_add_test(tc, test_functions_and_code);
    tcase_add_test(tc, test_elements);
    tcase_add_test(tc, test_data);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_error_without_err);
    suite_add_tcase(s, tc);

    tc = tcase_create("contents");
    tcase_add_test(tc, test_full_module_contents);
    tcase_add_test(tc, test_introspection);
    tcase_add_test(tc, test_names_with_nul);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(decode_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
