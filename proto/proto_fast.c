/* proto_fast.c: the request path's fast lane: a strict, allocation-light reader for the common
 * request shapes and a snprintf renderer for the common replies, both byte-for-byte equivalent
 * to the jansson path, which they hand every other form to. */
#include "config.h"

#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why a second parser: jansson builds a tree with one malloc per value and key, which cost
 * more than the whole rest of a `call`. This reader builds struct proto_request directly.
 * It is deliberately narrow: it accepts only what it can prove the jansson path accepts with
 * the very same result (only the fields id, op, module, export, instance, args and
 * deadline_ms; ASCII strings without escapes; integers of at most 18 digits; no containers
 * but "args" and its typed values) and answers "not mine" for anything else, valid or not. Every
 * error reply therefore still comes from the jansson path, with its exact codes and messages.
 */

#define FP_MAX_DIGITS 18 /* an integer of up to 18 digits always fits an int64 */
#define FP_MAX_ARGS   64 /* typed values decoded on the stack */
#define FP_MAX_OTHER  4  /* unknown keys of one typed value checked for duplicates */

/*
 * How it stays cheap: one pass over the line, no recursion and no generic skipping. Only
 * scalars are read as values; the one container it takes, "args", is decoded into typed values
 * as it is met. Any other container, an unknown top-level key or a repeated one is "not mine"
 * at once, so duplicates of the known keys are a bitmask. Known keys, ops and value types are
 * matched as whole literals, closing quote included, so they are never scanned; other strings
 * are scanned with a class table, one load per byte. Whitespace is looked for only where a
 * token starts (fp_next), and every byte JSON gives meaning to is above ' ', so compact JSON
 * costs one comparison there.
 */

/* Everything the reader calls is inlined into proto_request_parse_fast, so the cursor stays in a
 * register instead of being reloaded through a pointer around every token. */
#define FP_INLINE static inline __attribute__((always_inline))

enum { FP_C_STR = 1, FP_C_WS = 2 };
#define S  FP_C_STR
#define W  FP_C_WS
#define SW (FP_C_STR | FP_C_WS)

/* FP_C_STR: printable ASCII other than '"' and '\\' (0x20..0x7e), a string byte taken as is;
 * FP_C_WS: JSON whitespace (space, tab, LF, CR). Bytes from 0x80 up are neither. */
static const unsigned char fp_cls[256] = {
    0,  0, 0, 0, 0, 0, 0, 0, 0, W, W, 0, 0, W, 0, 0, /* 0x00 */
    0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    SW, S, 0, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x20 */
    S,  S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x30 */
    S,  S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x40 */
    S,  S, S, S, S, S, S, S, S, S, S, S, 0, S, S, S, /* 0x50 */
    S,  S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x60 */
    S,  S, S, S, S, S, S, S, S, S, S, S, S, S, S, 0, /* 0x70 */
};
#undef S
#undef W
#undef SW

enum fp_kind { FP_STR, FP_INT, FP_TRUE, FP_FALSE, FP_NULL };

/* One scanned scalar: strings point into the line (no escapes, so no copy is needed). */
struct fp_val {
    enum fp_kind kind;
    const char *s; /* FP_STR: the bytes between the quotes */
    size_t n;
    int64_t i; /* FP_INT */
};

struct fp {
    const char *p, *end;
};

/* Skip whitespace at f->p; return the byte there, or -1 at the end of the line. */
FP_INLINE int fp_next(struct fp *f)
{
    if (f->p < f->end && (unsigned char)*f->p > ' ')
        return (unsigned char)*f->p;
    while (f->p < f->end && (fp_cls[(unsigned char)*f->p] & FP_C_WS))
        f->p++;
    return f->p < f->end ? (unsigned char)*f->p : -1;
}

/* Consume c, after any whitespace. */
FP_INLINE bool fp_eat(struct fp *f, char c)
{
    if (fp_next(f) != (unsigned char)c)
        return false;
    f->p++;
    return true;
}

/* Consume the n bytes of lit (2 to 16, a constant once inlined) when the line continues with
 * them. Two overlapping word loads each side, as libc's memcmp is a call for most lengths. */
FP_INLINE bool fp_lit(struct fp *f, const char *lit, size_t n)
{
    uint64_t a, b, c, d;

    if ((size_t)(f->end - f->p) < n)
        return false;
    if (n >= 8) {
        memcpy(&a, f->p, 8);
        memcpy(&b, lit, 8);
        memcpy(&c, f->p + n - 8, 8);
        memcpy(&d, lit + n - 8, 8);
    } else if (n >= 4) {
        uint32_t w[4];

        memcpy(&w[0], f->p, 4);
        memcpy(&w[1], lit, 4);
        memcpy(&w[2], f->p + n - 4, 4);
        memcpy(&w[3], lit + n - 4, 4);
        a = w[0], b = w[1], c = w[2], d = w[3];
    } else {
        uint16_t w[4];

        memcpy(&w[0], f->p, 2);
        memcpy(&w[1], lit, 2);
        memcpy(&w[2], f->p + n - 2, 2);
        memcpy(&w[3], lit + n - 2, 2);
        a = w[0], b = w[1], c = w[2], d = w[3];
    }
    if (a != b || c != d)
        return false;
    f->p += n;
    return true;
}
#define FP_LIT(f, lit) fp_lit((f), (lit), sizeof(lit) - 1)

/* A string of printable ASCII without escapes, its '"' at f->p; anything else is "not mine". */
FP_INLINE int fp_string(struct fp *f, const char **s, size_t *n)
{
    const char *q = f->p + 1, *end = f->end;

    while (q < end && (fp_cls[(unsigned char)*q] & FP_C_STR))
        q++;
    if (q >= end || *q != '"')
        return -1;
    *s = f->p + 1;
    *n = (size_t)(q - *s);
    f->p = q + 1;
    return 0;
}

/* An integer literal as JSON writes it, at f->p; a fraction or exponent (a real) is not mine. */
FP_INLINE int fp_int(struct fp *f, int64_t *out)
{
    const char *q = f->p;
    bool neg = false;
    int64_t v = 0;
    int nd = 0;

    if (q < f->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= f->end || *q < '0' || *q > '9')
        return -1;
    if (*q == '0') {
        q++;
        nd = 1;
    } else {
        while (q < f->end && *q >= '0' && *q <= '9') {
            if (++nd > FP_MAX_DIGITS)
                return -1;
            v = v * 10 + (*q++ - '0');
        }
    }
    /* "01", "1.5", "1e3": the jansson path decides. */
    if (q < f->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E'))
        return -1;
    *out = neg ? -v : v;
    f->p = q;
    return 0;
}

/* A scalar, after any whitespace; a container is not mine. */
FP_INLINE int fp_scalar(struct fp *f, struct fp_val *v)
{
    switch (fp_next(f)) {
    case '"':
        v->kind = FP_STR;
        return fp_string(f, &v->s, &v->n);
    case 't':
        v->kind = FP_TRUE;
        return FP_LIT(f, "true") ? 0 : -1;
    case 'f':
        v->kind = FP_FALSE;
        return FP_LIT(f, "false") ? 0 : -1;
    case 'n':
        v->kind = FP_NULL;
        return FP_LIT(f, "null") ? 0 : -1;
    default:
        v->kind = FP_INT;
        return fp_int(f, &v->i);
    }
}

/* The value type of a typed value, "i32" and the like, after any whitespace. */
FP_INLINE int fp_valtype(struct fp *f, enum wasmslot_valtype *t)
{
    if (fp_next(f) != '"')
        return -1;
    if (FP_LIT(f, "\"i32\""))
        *t = WASMSLOT_I32;
    else if (FP_LIT(f, "\"i64\""))
        *t = WASMSLOT_I64;
    else if (FP_LIT(f, "\"f32\""))
        *t = WASMSLOT_F32;
    else if (FP_LIT(f, "\"f64\""))
        *t = WASMSLOT_F64;
    else
        return -1; /* v128, reference types, escapes: the jansson path says what they are */
    return 0;
}

/* One typed value {"type": "i32", "value": 42} with an integer value, after any whitespace,
 * converted exactly as proto_value_from_json converts it. Other keys with scalar values are
 * allowed, as the jansson path ignores them; a repeated key is bad_json, the jansson path's to
 * say. */
FP_INLINE int fp_typed(struct fp *f, struct wasmslot_value *out)
{
    const char *other[FP_MAX_OTHER];
    size_t olen[FP_MAX_OTHER];
    unsigned nother = 0, seen = 0;
    enum wasmslot_valtype type = WASMSLOT_I32;
    int64_t i = 0;
    double d;
    float fl;

    if (!fp_eat(f, '{'))
        return -1;
    for (;;) {
        int c;

        /* A key ("{}" is not a typed value: the jansson path's to say so). */
        if (fp_next(f) != '"')
            return -1;
        if (FP_LIT(f, "\"type\"")) {
            if ((seen & 1u) != 0 || !fp_eat(f, ':') || fp_valtype(f, &type) < 0)
                return -1;
            seen |= 1u;
        } else if (FP_LIT(f, "\"value\"")) {
            if ((seen & 2u) != 0 || !fp_eat(f, ':') || fp_next(f) < 0 || fp_int(f, &i) < 0)
                return -1;
            seen |= 2u;
        } else {
            /* Rare: a short list is enough. */
            struct fp_val v;
            const char *k;
            size_t n;

            if (fp_string(f, &k, &n) < 0)
                return -1;
            for (unsigned j = 0; j < nother; j++)
                if (olen[j] == n && memcmp(other[j], k, n) == 0)
                    return -1;
            if (nother >= FP_MAX_OTHER || !fp_eat(f, ':') || fp_scalar(f, &v) < 0)
                return -1;
            other[nother] = k;
            olen[nother++] = n;
        }
        c = fp_next(f);
        if (c != ',' && c != '}')
            return -1;
        f->p++;
        if (c == '}')
            break;
    }
    if (seen != 3u)
        return -1;
    memset(out, 0, sizeof(*out));
    out->type = type;
    switch (type) {
    case WASMSLOT_I32:
        if (i < INT32_MIN || i > (int64_t)UINT32_MAX)
            return -1;
        out->of.i32 = (uint32_t)((uint64_t)i & UINT32_MAX);
        break;
    case WASMSLOT_I64:
        out->of.i64 = (uint64_t)i;
        break;
    case WASMSLOT_F32:
        /* Through double, as the jansson path does: the same rounding. */
        d = (double)i;
        fl = (float)d;
        memcpy(&out->of.f32, &fl, sizeof(fl));
        break;
    case WASMSLOT_F64:
        d = (double)i;
        memcpy(&out->of.f64, &d, sizeof(d));
        break;
    default:
        return -1;
    }
    return 0;
}

/* The "args" array, after any whitespace, decoded as it is read (whatever the op: an array
 * that is not all typed integer values sends even a ping away, which costs only speed). */
FP_INLINE int fp_args(struct fp *f, struct wasmslot_value *vals, uint32_t *n)
{
    *n = 0;
    if (!fp_eat(f, '['))
        return -1;
    if (fp_eat(f, ']'))
        return 0;
    for (;;) {
        int c;

        if (*n >= FP_MAX_ARGS || fp_typed(f, &vals[*n]) < 0)
            return -1;
        (*n)++;
        c = fp_next(f);
        if (c != ',' && c != ']')
            return -1;
        f->p++;
        if (c == ']')
            return 0;
    }
}

/* A name field as get_name() in proto.c accepts it (ASCII here, so no NUL inside). */
FP_INLINE bool fp_name_ok(const struct fp_val *v)
{
    return v->kind == FP_STR && v->n > 0 && v->n < PROTO_NAME_MAX;
}

/* The request's known top-level fields: their slots in struct fp_req, and 1 << slot is their
 * bit in its seen mask. op and args have no fp_val: they are decoded where they are met. */
enum { FP_ID, FP_MODULE, FP_EXPORT, FP_INSTANCE, FP_DEADLINE, FP_OP, FP_ARGS, FP_NONE };
#define FP_F_ID       (1u << FP_ID)
#define FP_F_MODULE   (1u << FP_MODULE)
#define FP_F_EXPORT   (1u << FP_EXPORT)
#define FP_F_INSTANCE (1u << FP_INSTANCE)
#define FP_F_DEADLINE (1u << FP_DEADLINE)
#define FP_F_OP       (1u << FP_OP)

/* The request's known top-level fields, as scanned (valid when their bit is in seen). */
struct fp_req {
    struct fp_val v[FP_OP];
    unsigned seen;
};

/* The top-level key at f->p (its '"'), consumed with its closing quote: its slot, or FP_NONE
 * for any key the fast lane does not take. Those go to the jansson path: the stats "format",
 * the WASI fields, "threads", fields added later, and fields the protocol says to ignore (a
 * field the fast lane skipped but the jansson path reads would silently change a request), as
 * do keys with escapes. */
FP_INLINE unsigned fp_field(struct fp *f)
{
    if (f->end - f->p < 4)
        return FP_NONE;
    switch (f->p[1]) {
    case 'i':
        return FP_LIT(f, "\"id\"") ? FP_ID : FP_LIT(f, "\"instance\"") ? FP_INSTANCE : FP_NONE;
    case 'o':
        return FP_LIT(f, "\"op\"") ? FP_OP : FP_NONE;
    case 'm':
        return FP_LIT(f, "\"module\"") ? FP_MODULE : FP_NONE;
    case 'e':
        return FP_LIT(f, "\"export\"") ? FP_EXPORT : FP_NONE;
    case 'a':
        return FP_LIT(f, "\"args\"") ? FP_ARGS : FP_NONE;
    case 'd':
        return FP_LIT(f, "\"deadline_ms\"") ? FP_DEADLINE : FP_NONE;
    default:
        return FP_NONE;
    }
}

/* The op, after any whitespace: a string naming one exactly as proto_op_name() spells it
 * (check_proto_fast tries each). Anything else is unknown_op or bad_field: not mine. */
FP_INLINE int fp_op(struct fp *f, enum proto_op *op)
{
    if (fp_next(f) != '"' || f->end - f->p < 2)
        return -1;
    switch (f->p[1]) {
    case 'c':
        *op = PROTO_OP_CALL;
        return FP_LIT(f, "\"call\"") ? 0 : -1;
    case 'p':
        *op = PROTO_OP_PING;
        return FP_LIT(f, "\"ping\"") ? 0 : -1;
    case 'r':
        *op = PROTO_OP_RUN;
        return FP_LIT(f, "\"run\"") ? 0 : -1;
    case 'i':
        *op = PROTO_OP_INSTANTIATE;
        return FP_LIT(f, "\"instantiate\"") ? 0 : -1;
    case 't':
        *op = PROTO_OP_TERMINATE;
        return FP_LIT(f, "\"terminate\"") ? 0 : -1;
    case 's':
        *op = PROTO_OP_STATS;
        return FP_LIT(f, "\"stats\"") ? 0 : -1;
    case 'm':
        *op = PROTO_OP_MODULES;
        return FP_LIT(f, "\"modules\"") ? 0 : -1;
    default:
        return -1;
    }
}

FP_INLINE int fp_instance(struct proto_request *req, const struct fp_val *v)
{
    if (v->kind == FP_INT && v->i >= 0) {
        /* "%" PRId64 of a non-negative number, without snprintf's cost. */
        char tmp[24];
        size_t n = 0, o = 0;
        uint64_t m = (uint64_t)v->i;

        do {
            tmp[n++] = (char)('0' + m % 10);
            m /= 10;
        } while (m != 0);
        while (n > 0)
            req->instance[o++] = tmp[--n];
        req->instance[o] = '\0';
        return 0;
    }
    if (v->kind == FP_STR && v->n > 0 && v->n < sizeof(req->instance)) {
        memcpy(req->instance, v->s, v->n);
        req->instance[v->n] = '\0';
        return 0;
    }
    return -1;
}

static json_t *fp_id_json(const struct fp_val *v)
{
    switch (v->kind) {
    case FP_INT:
        return json_integer((json_int_t)v->i);
    case FP_STR:
        return json_stringn(v->s, v->n);
    case FP_TRUE:
        return json_true();
    case FP_FALSE:
        return json_false();
    case FP_NULL:
        return json_null();
    }
    return NULL;
}

int proto_request_parse_fast(struct proto_request *req, const char *line, size_t len)
{
    struct fp f = {.p = line, .end = line + len};
    struct fp_req r;
    struct wasmslot_value vals[FP_MAX_ARGS];
    size_t need = 0, off;
    uint32_t nargs = 0;
    enum proto_op op = PROTO_OP_PING;
    bool names;
    char *buf = NULL;

    memset(req, 0, sizeof(*req));
    r.seen = 0;
    if (!fp_eat(&f, '{'))
        return 0;
    for (;;) {
        unsigned slot;
        int rc, c;

        /* A key ("{}" has no op: the jansson path's to say so). */
        if (fp_next(&f) != '"')
            return 0;
        slot = fp_field(&f);
        /* An unknown key, or a repeated one (bad_json): the jansson path's. */
        if (slot == FP_NONE || (r.seen & (1u << slot)) != 0 || !fp_eat(&f, ':'))
            return 0;
        r.seen |= 1u << slot;
        if (slot == FP_OP)
            rc = fp_op(&f, &op);
        else if (slot == FP_ARGS)
            rc = fp_args(&f, vals, &nargs);
        else
            rc = fp_scalar(&f, &r.v[slot]);
        if (rc < 0)
            return 0;
        c = fp_next(&f);
        if (c != ',' && c != '}')
            return 0;
        f.p++;
        if (c == '}')
            break;
    }
    if (fp_next(&f) != -1)
        return 0; /* trailing bytes: bad_json, the jansson path's to say */

    /* The line is valid JSON; now the checks of proto_request_parse, in the same order. (An
     * "id" that is a container was sent away as any container is; so was an op that is not
     * one of the op names.) */
    if (!(r.seen & FP_F_OP))
        return 0;
    req->op = op;
    names = req->op == PROTO_OP_INSTANTIATE || req->op == PROTO_OP_CALL;
    switch (req->op) {
    case PROTO_OP_PING:
    case PROTO_OP_MODULES:
    case PROTO_OP_STATS: /* "format" was sent away above */
        nargs = 0;       /* args mean nothing to these ops */
        break;
    case PROTO_OP_INSTANTIATE:
        if (!(r.seen & FP_F_MODULE) || !fp_name_ok(&r.v[FP_MODULE]))
            goto fallback;
        nargs = 0;
        need = r.v[FP_MODULE].n + 1;
        break;
    case PROTO_OP_TERMINATE:
        if (!(r.seen & FP_F_INSTANCE) || fp_instance(req, &r.v[FP_INSTANCE]) < 0)
            goto fallback;
        nargs = 0;
        break;
    case PROTO_OP_RUN:
    case PROTO_OP_CALL:
        if (req->op == PROTO_OP_RUN &&
            (!(r.seen & FP_F_INSTANCE) || fp_instance(req, &r.v[FP_INSTANCE]) < 0))
            goto fallback;
        if (req->op == PROTO_OP_CALL && (!(r.seen & FP_F_MODULE) || !fp_name_ok(&r.v[FP_MODULE])))
            goto fallback;
        if (!(r.seen & FP_F_EXPORT) || !fp_name_ok(&r.v[FP_EXPORT]))
            goto fallback;
        if (r.seen & FP_F_DEADLINE) {
            if (r.v[FP_DEADLINE].kind != FP_INT || r.v[FP_DEADLINE].i < 1 ||
                r.v[FP_DEADLINE].i > (INT64_C(1) << 53) - 1)
                goto fallback;
            req->has_deadline = true;
            req->deadline_ms = (uint64_t)r.v[FP_DEADLINE].i;
        }
        need = nargs * sizeof(struct wasmslot_value) + r.v[FP_EXPORT].n + 1 +
               (names ? r.v[FP_MODULE].n + 1 : 0);
        break;
    }

    /* One block holds the args and the names: the request outlives the line. */
    if (need > 0) {
        buf = malloc(need);
        if (buf == NULL)
            goto fallback;
        off = nargs * sizeof(struct wasmslot_value);
        if (nargs > 0)
            memcpy(buf, vals, off);
        if (names) {
            memcpy(buf + off, r.v[FP_MODULE].s, r.v[FP_MODULE].n);
            buf[off + r.v[FP_MODULE].n] = '\0';
            req->module = buf + off;
            off += r.v[FP_MODULE].n + 1;
        }
        if (req->op == PROTO_OP_RUN || req->op == PROTO_OP_CALL) {
            memcpy(buf + off, r.v[FP_EXPORT].s, r.v[FP_EXPORT].n);
            buf[off + r.v[FP_EXPORT].n] = '\0';
            req->export_name = buf + off;
            req->export_len = r.v[FP_EXPORT].n;
        }
        /* proto_request_release frees args; the block goes there when it starts with args. */
        if (nargs > 0) {
            req->args = (struct wasmslot_value *)(void *)buf;
            req->nargs = nargs;
        } else {
            req->fast_buf = buf;
        }
    }
    if (r.seen & FP_F_ID) {
        req->fast_id = fp_id_json(&r.v[FP_ID]);
        if (req->fast_id == NULL)
            goto fallback;
        req->id = req->fast_id;
    }
    req->stats_format = PROTO_STATS_JSON;
    return 1;

fallback:
    free(buf);
    memset(req, 0, sizeof(*req));
    return 0;
}

/* ---------------------------------------------------------------- replies */

static bool fr_int(char *buf, size_t cap, size_t *off, int64_t v);

/* Append the id as jansson's compact dump writes it; false when it needs escaping (or is not
 * a scalar), so the caller uses the jansson renderer. */
static bool fr_id(char *buf, size_t cap, size_t *off, const json_t *id)
{
    int n;

    if (id == NULL || json_is_null(id)) {
        n = snprintf(buf + *off, cap - *off, "null");
    } else if (json_is_true(id)) {
        n = snprintf(buf + *off, cap - *off, "true");
    } else if (json_is_false(id)) {
        n = snprintf(buf + *off, cap - *off, "false");
    } else if (json_is_integer(id)) {
        return fr_int(buf, cap, off, (int64_t)json_integer_value(id));
    } else if (json_is_string(id)) {
        const char *s = json_string_value(id);
        size_t len = json_string_length(id);

        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"' ||
                s[i] == '\\')
                return false;
        if (len + 2 >= cap - *off)
            return false;
        buf[(*off)++] = '"';
        memcpy(buf + *off, s, len);
        *off += len;
        buf[(*off)++] = '"';
        return true;
    } else {
        return false;
    }
    if (n < 0 || (size_t)n >= cap - *off)
        return false;
    *off += (size_t)n;
    return true;
}

static bool fr_put(char *buf, size_t cap, size_t *off, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap - *off)
        return false;
    memcpy(buf + *off, s, n);
    *off += n;
    return true;
}

/* A signed decimal integer, as printf's %lld writes it; snprintf was most of the render's cost. */
static bool fr_int(char *buf, size_t cap, size_t *off, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    /* The magnitude as unsigned, so INT64_MIN needs no special case. */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0)
        tmp[n++] = '-';
    if (n >= cap - *off)
        return false;
    while (n > 0)
        buf[(*off)++] = tmp[--n];
    return true;
}

/* {"id":<id>,"ok":true then the rest. */
static bool fr_head(char *buf, size_t cap, size_t *off, const json_t *id)
{
    *off = 0;
    return fr_put(buf, cap, off, "{\"id\":") && fr_id(buf, cap, off, id) &&
           fr_put(buf, cap, off, ",\"ok\":true");
}

size_t proto_render_results(char *buf, size_t cap, const json_t *id,
                            const struct wasmslot_value *results, uint32_t n)
{
    size_t off;

    if (!fr_head(buf, cap, &off, id) || !fr_put(buf, cap, &off, ",\"results\":["))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct wasmslot_value *v = &results[i];
        bool ok;

        if (i > 0 && !fr_put(buf, cap, &off, ","))
            return 0;
        if (v->type == WASMSLOT_I32) {
            ok = fr_put(buf, cap, &off, "{\"type\":\"i32\",\"value\":") &&
                 fr_int(buf, cap, &off, (int32_t)v->of.i32) && fr_put(buf, cap, &off, "}");
        } else if (v->type == WASMSLOT_I64) {
            int64_t s = (int64_t)v->of.i64;
            /* Beyond +-2^53 a decimal string, as proto_value_to_json writes it. */
            const char *q = s > (INT64_C(1) << 53) || s < -(INT64_C(1) << 53) ? "\"" : "";

            ok = fr_put(buf, cap, &off, "{\"type\":\"i64\",\"value\":") &&
                 fr_put(buf, cap, &off, q) && fr_int(buf, cap, &off, s) &&
                 fr_put(buf, cap, &off, q) && fr_put(buf, cap, &off, "}");
        } else {
            return 0; /* floats: jansson's real formatting is the reference */
        }
        if (!ok)
            return 0;
    }
    if (!fr_put(buf, cap, &off, "]}\n"))
        return 0;
    return off;
}

/* Append bytes as a JSON string, escaped as jansson's dump does; false for bytes it would
 * treat otherwise (non-ASCII text, which it checks as UTF-8, or needs base64) or when full. */
static bool fr_text(char *buf, size_t cap, size_t *off, const uint8_t *p, size_t n)
{
    if (cap - *off < 2)
        return false;
    buf[(*off)++] = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        char esc = 0;

        switch (c) {
        case '"':
            esc = '"';
            break;
        case '\\':
            esc = '\\';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        case '\t':
            esc = 't';
            break;
        default:
            if (c < 0x20 || c > 0x7e)
                return false;
        }
        if (cap - *off < 4)
            return false;
        if (esc != 0) {
            buf[(*off)++] = '\\';
            buf[(*off)++] = esc;
        } else {
            buf[(*off)++] = (char)c;
        }
    }
    if (cap - *off < 2)
        return false;
    buf[(*off)++] = '"';
    return true;
}

size_t proto_render_command(char *buf, size_t cap, const json_t *id, int exit_code,
                            const uint8_t *out, size_t out_len, const uint8_t *err, size_t err_len)
{
    size_t off;

    if (!fr_head(buf, cap, &off, id) || !fr_put(buf, cap, &off, ",\"exit_code\":") ||
        !fr_int(buf, cap, &off, exit_code) || !fr_put(buf, cap, &off, ",\"stdout\":") ||
        !fr_text(buf, cap, &off, out, out_len) || !fr_put(buf, cap, &off, ",\"stderr\":") ||
        !fr_text(buf, cap, &off, err, err_len) || !fr_put(buf, cap, &off, "}\n"))
        return 0;
    return off;
}

size_t proto_render_pong(char *buf, size_t cap, const json_t *id)
{
    size_t off;

    if (!fr_head(buf, cap, &off, id) ||
        !fr_put(buf, cap, &off, ",\"pong\":true,\"version\":\"" PACKAGE_VERSION "\"}\n"))
        return 0;
    return off;
}

size_t proto_render_ok(char *buf, size_t cap, const json_t *id)
{
    size_t off;

    if (!fr_head(buf, cap, &off, id) || !fr_put(buf, cap, &off, "}\n"))
        return 0;
    return off;
}
