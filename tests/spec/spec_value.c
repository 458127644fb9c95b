/* spec_value.c: typed values of the spec scripts' JSON: parsing arguments and expected results,
 * bit-exact comparison with the NaN patterns, and readable formatting for failure lines. */
#include "config.h"

#include "spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F32_SIGN  0x80000000u
#define F32_EXP   0x7f800000u
#define F32_QUIET 0x00400000u
#define F32_MANT  0x007fffffu
#define F64_SIGN  0x8000000000000000ull
#define F64_EXP   0x7ff0000000000000ull
#define F64_QUIET 0x0008000000000000ull
#define F64_MANT  0x000fffffffffffffull

enum wasmslot_valtype spec_type_parse(const char *name)
{
    static const struct {
        const char *name;
        enum wasmslot_valtype type;
    } types[] = {
        {"i32", WASMSLOT_I32},
        {"i64", WASMSLOT_I64},
        {"f32", WASMSLOT_F32},
        {"f64", WASMSLOT_F64},
        {"v128", WASMSLOT_V128},
        {"funcref", WASMSLOT_FUNCREF},
        {"externref", WASMSLOT_EXTERNREF},
    };

    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].name, name) == 0)
            return types[i].type;
    }
    return 0;
}

void *spec_externref_of_handle(uint64_t h)
{
    /* +1 keeps handle 0 distinct from the null reference. */
    return (void *)(uintptr_t)(h + 1);
}

uint64_t spec_handle_of_externref(const void *ref)
{
    return (uint64_t)(uintptr_t)ref - 1;
}

/* Parse an unsigned decimal no larger than max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The "type" and "value" strings of a JSON value; value may be absent (NULL). */
static int split(const json_t *j, enum wasmslot_valtype *type, const char **value, char *msg,
                 size_t msglen)
{
    const char *tname;
    const json_t *v;

    if (!json_is_object(j)) {
        snprintf(msg, msglen, "value is not a JSON object");
        return -1;
    }
    tname = json_string_value(json_object_get(j, "type"));
    *type = spec_type_parse(tname);
    if (*type == 0) {
        snprintf(msg, msglen, "unknown value type \"%s\"", tname != NULL ? tname : "(none)");
        return -1;
    }
    v = json_object_get(j, "value");
    *value = json_string_value(v);
    if (v != NULL && *value == NULL) {
        snprintf(msg, msglen, "%s value is not a string", tname);
        return -1;
    }
    return 0;
}

static int parse_payload(enum wasmslot_valtype type, const char *s, struct wasmslot_value *out,
                         char *msg, size_t msglen)
{
    uint64_t v;

    memset(out, 0, sizeof(*out));
    out->type = type;
    if (s == NULL) {
        snprintf(msg, msglen, "%s value missing", wasmslot_valtype_name(type));
        return -1;
    }
    switch (type) {
    case WASMSLOT_I32:
    case WASMSLOT_F32:
        if (parse_uint(s, UINT32_MAX, &v) < 0)
            goto bad;
        out->of.i32 = (uint32_t)v; /* f32 shares the i32 slot of the union */
        return 0;
    case WASMSLOT_I64:
    case WASMSLOT_F64:
        if (parse_uint(s, UINT64_MAX, &v) < 0)
            goto bad;
        out->of.i64 = v;
        return 0;
    case WASMSLOT_EXTERNREF:
        if (strcmp(s, "null") == 0) {
            out->of.externref = NULL;
            return 0;
        }
        if (parse_uint(s, UINT32_MAX, &v) < 0)
            goto bad;
        out->of.externref = spec_externref_of_handle(v);
        return 0;
    case WASMSLOT_FUNCREF:
        /* Scripts can only name the null function reference. */
        if (strcmp(s, "null") != 0)
            goto bad;
        out->of.funcref = NULL;
        return 0;
    case WASMSLOT_V128:
        break;
    }
bad:
    snprintf(msg, msglen, "cannot parse %s value \"%s\"", wasmslot_valtype_name(type), s);
    return -1;
}

int spec_value_parse(const json_t *j, struct wasmslot_value *out, char *msg, size_t msglen)
{
    enum wasmslot_valtype type;
    const char *s;

    if (split(j, &type, &s, msg, msglen) < 0)
        return -1;
    return parse_payload(type, s, out, msg, msglen);
}

int spec_expect_parse(const json_t *j, struct spec_expect *out, char *msg, size_t msglen)
{
    enum wasmslot_valtype type;
    const char *s;

    if (split(j, &type, &s, msg, msglen) < 0)
        return -1;
    out->match = SPEC_MATCH_EXACT;
    if (s != NULL && (type == WASMSLOT_F32 || type == WASMSLOT_F64)) {
        if (strcmp(s, "nan:canonical") == 0)
            out->match = SPEC_MATCH_NAN_CANONICAL;
        else if (strcmp(s, "nan:arithmetic") == 0)
            out->match = SPEC_MATCH_NAN_ARITHMETIC;
        if (out->match != SPEC_MATCH_EXACT) {
            memset(&out->value, 0, sizeof(out->value));
            out->value.type = type;
            return 0;
        }
    }
    return parse_payload(type, s, &out->value, msg, msglen);
}

bool spec_expect_match(const struct spec_expect *e, enum wasmslot_valtype type,
                       const struct wasmslot_value *got)
{
    if (e->value.type != type)
        return false;
    switch (e->match) {
    case SPEC_MATCH_NAN_CANONICAL:
        if (type == WASMSLOT_F32)
            return (got->of.f32 & ~F32_SIGN) == (F32_EXP | F32_QUIET);
        return (got->of.f64 & ~F64_SIGN) == (F64_EXP | F64_QUIET);
    case SPEC_MATCH_NAN_ARITHMETIC:
        if (type == WASMSLOT_F32)
            return (got->of.f32 & (F32_EXP | F32_QUIET)) == (F32_EXP | F32_QUIET);
        return (got->of.f64 & (F64_EXP | F64_QUIET)) == (F64_EXP | F64_QUIET);
    case SPEC_MATCH_EXACT:
        break;
    }
    switch (type) {
    case WASMSLOT_I32:
        return got->of.i32 == e->value.of.i32;
    case WASMSLOT_F32:
        return got->of.f32 == e->value.of.f32;
    case WASMSLOT_I64:
        return got->of.i64 == e->value.of.i64;
    case WASMSLOT_F64:
        return got->of.f64 == e->value.of.f64;
    case WASMSLOT_FUNCREF:
        return got->of.funcref == e->value.of.funcref;
    case WASMSLOT_EXTERNREF:
        return got->of.externref == e->value.of.externref;
    case WASMSLOT_V128:
        break;
    }
    return false;
}

void spec_value_format(enum wasmslot_valtype type, const struct wasmslot_value *v, char *buf,
                       size_t len)
{
    const char *name = wasmslot_valtype_name(type);

    switch (type) {
    case WASMSLOT_I32:
        snprintf(buf, len, "i32:%" PRIu32, v->of.i32);
        return;
    case WASMSLOT_I64:
        snprintf(buf, len, "i64:%" PRIu64, v->of.i64);
        return;
    case WASMSLOT_F32:
        snprintf(buf, len, "f32:0x%08" PRIx32 "%s", v->of.f32,
                 (v->of.f32 & F32_EXP) == F32_EXP && (v->of.f32 & F32_MANT) != 0 ? " (nan)" : "");
        return;
    case WASMSLOT_F64:
        snprintf(buf, len, "f64:0x%016" PRIx64 "%s", v->of.f64,
                 (v->of.f64 & F64_EXP) == F64_EXP && (v->of.f64 & F64_MANT) != 0 ? " (nan)" : "");
        return;
    case WASMSLOT_FUNCREF:
        if (v->of.funcref == NULL)
            snprintf(buf, len, "funcref:null");
        else
            snprintf(buf, len, "funcref:%p", (void *)v->of.funcref);
        return;
    case WASMSLOT_EXTERNREF:
        if (v->of.externref == NULL)
            snprintf(buf, len, "externref:null");
        else
            snprintf(buf, len, "externref:%" PRIu64, spec_handle_of_externref(v->of.externref));
        return;
    case WASMSLOT_V128:
        break;
    }
    snprintf(buf, len, "%s:?", name != NULL ? name : "?");
}

void spec_expect_format(const struct spec_expect *e, char *buf, size_t len)
{
    const char *name = wasmslot_valtype_name(e->value.type);

    switch (e->match) {
    case SPEC_MATCH_NAN_CANONICAL:
        snprintf(buf, len, "%s:nan:canonical", name);
        return;
    case SPEC_MATCH_NAN_ARITHMETIC:
        snprintf(buf, len, "%s:nan:arithmetic", name);
        return;
    case SPEC_MATCH_EXACT:
        break;
    }
    spec_value_format(e->value.type, &e->value, buf, len);
}
