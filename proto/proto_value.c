/* proto_value.c: typed WebAssembly values on the wire (JSON) and on the client's command line. */
#include "config.h"

#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F32_CANON_NAN UINT32_C(0x7fc00000)
#define F64_CANON_NAN UINT64_C(0x7ff8000000000000)
#define F32_INF       UINT32_C(0x7f800000)
#define F64_INF       UINT64_C(0x7ff0000000000000)
#define F32_SIGN      UINT32_C(0x80000000)
#define F64_SIGN      UINT64_C(0x8000000000000000)
/* Integers of magnitude up to 2^53 survive every JSON implementation's double conversion. */
#define JSON_SAFE_INT (INT64_C(1) << 53)

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof(b));
    return b;
}

static float f32_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof(f));
    return f;
}

static uint64_t f64_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static double f64_from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msglen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* Parse "0x" followed by 1..maxdigits hex digits, nothing else. */
static int parse_hex_bits(const char *s, unsigned maxdigits, uint64_t *out)
{
    uint64_t v = 0;
    unsigned n = 0;

    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -EINVAL;
    for (s += 2; *s != '\0'; s++, n++) {
        int d;

        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -EINVAL;
        if (n >= maxdigits)
            return -ERANGE;
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Parse an integer of `bits` (32 or 64) written as signed or unsigned decimal, or as a "0x"
 * bit pattern. Accepts [-2^(bits-1), 2^bits - 1]; the result is the two's complement bits. */
static int parse_int_text(const char *s, unsigned bits, uint64_t *out)
{
    const char *p = s;
    bool neg = false;
    uint64_t mag = 0;
    uint64_t umax = bits == 64 ? UINT64_MAX : UINT32_MAX;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return parse_hex_bits(s, bits / 4, out);
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p == '\0')
        return -EINVAL;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        if (mag > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -ERANGE;
        mag = mag * 10 + (uint64_t)(*p - '0');
    }
    if (neg) {
        uint64_t lim = (uint64_t)1 << (bits - 1);

        if (mag > lim)
            return -ERANGE;
        *out = (0 - mag) & umax;
    } else {
        if (mag > umax)
            return -ERANGE;
        *out = mag;
    }
    return 0;
}

/* True when s is made only of the characters of a decimal floating-point number. Keeps
 * strtod's hex floats and "nan(...)" forms out, so "0x..." always means a bit pattern. */
static bool is_decimal_float(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s) && strchr("+-.eE", *s) == NULL)
            return false;
    return true;
}

/* Parse a float of type t (WASMSLOT_F32/WASMSLOT_F64) from text: "nan", "-nan", "inf", "+inf",
 * "-inf", a "0x" bit pattern, or a decimal number. Stores the bits in *out. */
static int parse_float_text(const char *s, enum wasmslot_valtype t, uint64_t *out)
{
    bool is32 = t == WASMSLOT_F32;
    char *end;
    double d;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return parse_hex_bits(s, is32 ? 8 : 16, out);
    if (strcmp(s, "nan") == 0 || strcmp(s, "+nan") == 0) {
        *out = is32 ? F32_CANON_NAN : F64_CANON_NAN;
        return 0;
    }
    if (strcmp(s, "-nan") == 0) {
        *out = is32 ? (uint64_t)(F32_CANON_NAN | F32_SIGN) : (F64_CANON_NAN | F64_SIGN);
        return 0;
    }
    if (strcmp(s, "inf") == 0 || strcmp(s, "+inf") == 0) {
        *out = is32 ? F32_INF : F64_INF;
        return 0;
    }
    if (strcmp(s, "-inf") == 0) {
        *out = is32 ? (uint64_t)(F32_INF | F32_SIGN) : (F64_INF | F64_SIGN);
        return 0;
    }
    if (!is_decimal_float(s))
        return -EINVAL;
    errno = 0;
    if (is32) {
        float f = strtof(s, &end);

        if (*end != '\0')
            return -EINVAL;
        if (errno == ERANGE && isinf(f))
            return -ERANGE;
        *out = f32_bits(f);
    } else {
        d = strtod(s, &end);
        if (*end != '\0')
            return -EINVAL;
        if (errno == ERANGE && isinf(d))
            return -ERANGE;
        *out = f64_bits(d);
    }
    return 0;
}

static enum wasmslot_valtype type_from_name(const char *s)
{
    if (strcmp(s, "i32") == 0)
        return WASMSLOT_I32;
    if (strcmp(s, "i64") == 0)
        return WASMSLOT_I64;
    if (strcmp(s, "f32") == 0)
        return WASMSLOT_F32;
    if (strcmp(s, "f64") == 0)
        return WASMSLOT_F64;
    return (enum wasmslot_valtype)0;
}

static void store(struct wasmslot_value *v, enum wasmslot_valtype t, uint64_t bits)
{
    memset(v, 0, sizeof(*v));
    v->type = t;
    if (t == WASMSLOT_I32)
        v->of.i32 = (uint32_t)bits;
    else if (t == WASMSLOT_I64)
        v->of.i64 = bits;
    else if (t == WASMSLOT_F32)
        v->of.f32 = (uint32_t)bits;
    else
        v->of.f64 = bits;
}

/* ---------------------------------------------------------------- JSON */

/* Float bits as a JSON value: a number when finite, else one of the strings. */
static json_t *float_to_json(enum wasmslot_valtype t, uint64_t bits)
{
    char buf[24];
    bool is32 = t == WASMSLOT_F32;
    double d = is32 ? (double)f32_from_bits((uint32_t)bits) : f64_from_bits(bits);

    if (isfinite(d))
        return json_real(d);
    if (isinf(d))
        return json_string(d > 0 ? "inf" : "-inf");
    if (bits == (is32 ? F32_CANON_NAN : F64_CANON_NAN))
        return json_string("nan");
    if (is32)
        snprintf(buf, sizeof(buf), "0x%08" PRIx32, (uint32_t)bits);
    else
        snprintf(buf, sizeof(buf), "0x%016" PRIx64, bits);
    return json_string(buf);
}

json_t *proto_value_to_json(const struct wasmslot_value *v)
{
    json_t *val;
    const char *tname;

    switch (v->type) {
    case WASMSLOT_I32:
        val = json_integer((json_int_t)(int32_t)v->of.i32);
        break;
    case WASMSLOT_I64: {
        int64_t s = (int64_t)v->of.i64;

        if (s > JSON_SAFE_INT || s < -JSON_SAFE_INT) {
            char buf[24];

            snprintf(buf, sizeof(buf), "%" PRId64, s);
            val = json_string(buf);
        } else {
            val = json_integer((json_int_t)s);
        }
        break;
    }
    case WASMSLOT_F32:
        val = float_to_json(WASMSLOT_F32, v->of.f32);
        break;
    case WASMSLOT_F64:
        val = float_to_json(WASMSLOT_F64, v->of.f64);
        break;
    case WASMSLOT_V128:
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
    default:
        return NULL;
    }
    if (val == NULL)
        return NULL;
    tname = wasmslot_valtype_name(v->type);
    return json_pack("{s:s, s:o}", "type", tname, "value", val);
}

/* A JSON number (integer or real) as a float of type t. */
static enum proto_err float_from_number(const json_t *jv, enum wasmslot_valtype t, uint64_t *bits,
                                        char *msg, size_t msglen)
{
    double d = json_is_integer(jv) ? (double)json_integer_value(jv) : json_real_value(jv);

    if (t == WASMSLOT_F32) {
        if (isfinite(d) && fabs(d) > FLT_MAX) {
            set_msg(msg, msglen, "value %g is out of the f32 range", d);
            return PROTO_E_BAD_VALUE;
        }
        *bits = f32_bits((float)d);
    } else {
        *bits = f64_bits(d);
    }
    return PROTO_OK;
}

enum proto_err proto_value_from_json(const json_t *j, struct wasmslot_value *out, char *msg,
                                     size_t msglen)
{
    const json_t *jt, *jv;
    enum wasmslot_valtype t;
    uint64_t bits = 0;
    int rc;

    if (!json_is_object(j)) {
        set_msg(msg, msglen, "a typed value must be an object {\"type\": ..., \"value\": ...}");
        return PROTO_E_BAD_VALUE;
    }
    jt = json_object_get(j, "type");
    jv = json_object_get(j, "value");
    if (!json_is_string(jt)) {
        set_msg(msg, msglen, "a typed value needs a string \"type\"");
        return PROTO_E_BAD_VALUE;
    }
    t = type_from_name(json_string_value(jt));
    if (t == 0) {
        set_msg(msg, msglen, "unknown value type \"%.32s\" (expected i32, i64, f32 or f64)",
                json_string_value(jt));
        return PROTO_E_BAD_VALUE;
    }
    if (jv == NULL) {
        set_msg(msg, msglen, "a typed value needs a \"value\"");
        return PROTO_E_BAD_VALUE;
    }

    if (json_is_string(jv)) {
        const char *s = json_string_value(jv);

        if (strlen(s) != json_string_length(jv))
            rc = -EINVAL;
        else if (t == WASMSLOT_I32 || t == WASMSLOT_I64)
            rc = parse_int_text(s, t == WASMSLOT_I32 ? 32 : 64, &bits);
        else
            rc = parse_float_text(s, t, &bits);
        if (rc < 0) {
            set_msg(msg, msglen, "%s value \"%.40s\" is %s", wasmslot_valtype_name(t), s,
                    rc == -ERANGE ? "out of range" : "malformed");
            return PROTO_E_BAD_VALUE;
        }
    } else if (json_is_integer(jv) && (t == WASMSLOT_I32 || t == WASMSLOT_I64)) {
        json_int_t n = json_integer_value(jv);

        if (t == WASMSLOT_I32 && (n < INT32_MIN || n > (json_int_t)UINT32_MAX)) {
            set_msg(msg, msglen, "i32 value %lld is out of range", (long long)n);
            return PROTO_E_BAD_VALUE;
        }
        bits = (uint64_t)n;
        if (t == WASMSLOT_I32)
            bits &= UINT32_MAX;
    } else if (json_is_number(jv) && (t == WASMSLOT_F32 || t == WASMSLOT_F64)) {
        enum proto_err e = float_from_number(jv, t, &bits, msg, msglen);

        if (e != PROTO_OK)
            return e;
    } else {
        set_msg(msg, msglen, "%s value must be %s", wasmslot_valtype_name(t),
                t == WASMSLOT_I32 || t == WASMSLOT_I64 ? "an integer or a decimal string"
                                                       : "a number or a string");
        return PROTO_E_BAD_VALUE;
    }
    store(out, t, bits);
    return PROTO_OK;
}

json_t *proto_values_to_json(const struct wasmslot_value *v, size_t n)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, proto_value_to_json(&v[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

enum proto_err proto_values_from_json(const json_t *j, struct wasmslot_value **out, uint32_t *n,
                                      char *msg, size_t msglen)
{
    size_t count;
    struct wasmslot_value *vals = NULL;

    *out = NULL;
    *n = 0;
    if (!json_is_array(j)) {
        set_msg(msg, msglen, "expected an array of typed values");
        return PROTO_E_BAD_FIELD;
    }
    count = json_array_size(j);
    if (count > PROTO_MAX_VALUES) {
        set_msg(msg, msglen, "%zu values, at most %u are allowed", count, PROTO_MAX_VALUES);
        return PROTO_E_BAD_FIELD;
    }
    if (count == 0)
        return PROTO_OK;
    vals = calloc(count, sizeof(*vals));
    if (vals == NULL) {
        set_msg(msg, msglen, "out of memory");
        return PROTO_E_INTERNAL;
    }
    for (size_t i = 0; i < count; i++) {
        char why[128];
        enum proto_err e = proto_value_from_json(json_array_get(j, i), &vals[i], why, sizeof(why));

        if (e != PROTO_OK) {
            set_msg(msg, msglen, "value %zu: %s", i, why);
            free(vals);
            return e;
        }
    }
    *out = vals;
    *n = (uint32_t)count;
    return PROTO_OK;
}

/* ---------------------------------------------------------------- command-line text */

int proto_value_parse_text(const char *s, struct wasmslot_value *out)
{
    enum wasmslot_valtype t = WASMSLOT_I32;
    const char *colon = strchr(s, ':');
    uint64_t bits;
    int rc;

    if (colon != NULL) {
        char tname[4];
        size_t tl = (size_t)(colon - s);

        if (tl != 3)
            return -EINVAL;
        memcpy(tname, s, 3);
        tname[3] = '\0';
        t = type_from_name(tname);
        if (t == 0)
            return -EINVAL;
        s = colon + 1;
    }
    if (t == WASMSLOT_I32 || t == WASMSLOT_I64)
        rc = parse_int_text(s, t == WASMSLOT_I32 ? 32 : 64, &bits);
    else
        rc = parse_float_text(s, t, &bits);
    if (rc < 0)
        return -EINVAL;
    store(out, t, bits);
    return 0;
}

/* Shortest "%.*g" text of a finite float that reads back to the same bits. */
static void format_float(char *buf, size_t len, enum wasmslot_valtype t, uint64_t bits)
{
    if (t == WASMSLOT_F32) {
        float f = f32_from_bits((uint32_t)bits);

        for (int prec = 1; prec <= 9; prec++) {
            snprintf(buf, len, "%.*g", prec, (double)f);
            if (f32_bits(strtof(buf, NULL)) == (uint32_t)bits)
                return;
        }
    } else {
        double d = f64_from_bits(bits);

        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, d);
            if (f64_bits(strtod(buf, NULL)) == bits)
                return;
        }
    }
}

int proto_value_format_text(const struct wasmslot_value *v, char *buf, size_t len)
{
    char num[40];
    uint64_t bits;
    bool is32;
    double d;

    switch (v->type) {
    case WASMSLOT_I32:
        return snprintf(buf, len, "i32:%" PRId32, (int32_t)v->of.i32);
    case WASMSLOT_I64:
        return snprintf(buf, len, "i64:%" PRId64, (int64_t)v->of.i64);
    case WASMSLOT_F32:
    case WASMSLOT_F64:
        break;
    case WASMSLOT_V128:
    case WASMSLOT_FUNCREF:
    case WASMSLOT_EXTERNREF:
    default:
        return -EINVAL;
    }
    is32 = v->type == WASMSLOT_F32;
    bits = is32 ? v->of.f32 : v->of.f64;
    d = is32 ? (double)f32_from_bits((uint32_t)bits) : f64_from_bits(bits);
    if (isinf(d))
        snprintf(num, sizeof(num), "%s", d > 0 ? "inf" : "-inf");
    else if (isnan(d) && bits == (is32 ? F32_CANON_NAN : F64_CANON_NAN))
        snprintf(num, sizeof(num), "nan");
    else if (isnan(d) && is32)
        snprintf(num, sizeof(num), "0x%08" PRIx32, (uint32_t)bits);
    else if (isnan(d))
        snprintf(num, sizeof(num), "0x%016" PRIx64, bits);
    else
        format_float(num, sizeof(num), v->type, bits);
    return snprintf(buf, len, "%s:%s", is32 ? "f32" : "f64", num);
}
