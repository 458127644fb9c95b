/* proto_fast.c: the request path's fast lane: a strict, allocation-light reader for the common
 * request shapes and a snprintf renderer for the common replies, both byte-for-byte equivalent
 * to the jansson path, which they hand every other form to. */
#include "config.h"

#include "proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why a second parser: jansson builds a tree with one malloc per value and key, which cost
 * more than the whole rest of a `call`. This reader builds struct proto_request directly.
 * It is deliberately narrow: it accepts only what it can prove the jansson path accepts with
 * the very same result (only the fields id, op, module, export, instance, args and
 * deadline_ms; ASCII strings without escapes; integers of at most 18 digits; shallow nesting)
 * and answers "not mine" for anything else, valid or not. Every error
 * reply therefore still comes from the jansson path, with its exact codes and messages.
 */

#define FP_MAX_DEPTH  8  /* deeper values go to the jansson path */
#define FP_MAX_KEYS   24 /* keys per object checked for duplicates */
#define FP_MAX_DIGITS 18 /* an integer of up to 18 digits always fits an int64 */
#define FP_MAX_ARGS   64 /* typed values decoded on the stack */

enum fp_kind { FP_STR, FP_INT, FP_TRUE, FP_FALSE, FP_NULL, FP_ARRAY, FP_OBJECT };

/* One scanned value: strings point into the line (no escapes, so no copy is needed). */
struct fp_val {
    enum fp_kind kind;
    const char *s; /* FP_STR: the bytes between the quotes; FP_ARRAY/FP_OBJECT: the '[' / '{' */
    size_t n;
    int64_t i; /* FP_INT */
};

struct fp {
    const char *p, *end;
};

static void fp_ws(struct fp *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
        f->p++;
}

/* At f->p (past whitespace), consume c. */
static bool fp_eat(struct fp *f, char c)
{
    fp_ws(f);
    if (f->p < f->end && *f->p == c) {
        f->p++;
        return true;
    }
    return false;
}

/* A string of printable ASCII without escapes; anything else is "not mine". */
static int fp_string(struct fp *f, const char **s, size_t *n)
{
    const char *q;

    if (f->p >= f->end || *f->p != '"')
        return -1;
    q = ++f->p;
    while (q < f->end && *q != '"') {
        unsigned char ch = (unsigned char)*q;
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            return -1;
        q++;
    }
    if (q >= f->end)
        return -1;
    *s = f->p;
    *n = (size_t)(q - f->p);
    f->p = q + 1;
    return 0;
}

/* An integer literal as JSON writes it; a fraction or exponent (a real) is not mine. */
static int fp_int(struct fp *f, int64_t *out)
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

static int fp_literal(struct fp *f, const char *word, size_t n)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
        return -1;
    f->p += n;
    return 0;
}

static int fp_value(struct fp *f, struct fp_val *v, int depth);

/* Remember key (s, n) of an object; a repeated key makes the line bad_json, which is the
 * jansson path's to say, as is an object with more keys than we track. */
static int fp_key_seen(const char **keys, size_t *klen, unsigned *nkeys, const char *s, size_t n)
{
    for (unsigned i = 0; i < *nkeys; i++)
        if (klen[i] == n && memcmp(keys[i], s, n) == 0)
            return -1;
    if (*nkeys >= FP_MAX_KEYS)
        return -1;
    keys[*nkeys] = s;
    klen[*nkeys] = n;
    (*nkeys)++;
    return 0;
}

/* Skip an array or object whose opening bracket is at f->p, checking it strictly. */
static int fp_container(struct fp *f, int depth)
{
    bool obj = *f->p == '{';
    const char *keys[FP_MAX_KEYS];
    size_t klen[FP_MAX_KEYS];
    unsigned nkeys = 0;
    struct fp_val v;

    if (depth >= FP_MAX_DEPTH)
        return -1;
    f->p++;
    if (fp_eat(f, obj ? '}' : ']'))
        return 0;
    for (;;) {
        if (obj) {
            const char *s;
            size_t n;

            fp_ws(f);
            if (fp_string(f, &s, &n) < 0 || fp_key_seen(keys, klen, &nkeys, s, n) < 0 ||
                !fp_eat(f, ':'))
                return -1;
        }
        if (fp_value(f, &v, depth + 1) < 0)
            return -1;
        if (fp_eat(f, ','))
            continue;
        return fp_eat(f, obj ? '}' : ']') ? 0 : -1;
    }
}

/* Any value; containers are checked and skipped (v->s marks where they start). */
static int fp_value(struct fp *f, struct fp_val *v, int depth)
{
    fp_ws(f);
    if (f->p >= f->end)
        return -1;
    v->s = f->p;
    switch (*f->p) {
    case '"':
        v->kind = FP_STR;
        return fp_string(f, &v->s, &v->n);
    case '{':
        v->kind = FP_OBJECT;
        return fp_container(f, depth);
    case '[':
        v->kind = FP_ARRAY;
        return fp_container(f, depth);
    case 't':
        v->kind = FP_TRUE;
        return fp_literal(f, "true", 4);
    case 'f':
        v->kind = FP_FALSE;
        return fp_literal(f, "false", 5);
    case 'n':
        v->kind = FP_NULL;
        return fp_literal(f, "null", 4);
    default:
        v->kind = FP_INT;
        return fp_int(f, &v->i);
    }
}

static bool fp_is(const struct fp_val *v, const char *s)
{
    size_t n = strlen(s);
    return v->kind == FP_STR && v->n == n && memcmp(v->s, s, n) == 0;
}

/* One typed value {"type": "i32", "value": 42} with an integer value, converted exactly as
 * proto_value_from_json converts it. */
static int fp_typed(struct fp *f, struct wasm_value *out)
{
    const char *keys[FP_MAX_KEYS];
    size_t klen[FP_MAX_KEYS];
    unsigned nkeys = 0;
    struct fp_val type = {.kind = FP_NULL}, val = {.kind = FP_NULL}, v;
    bool has_type = false, has_val = false;
    double d;
    float fl;

    if (!fp_eat(f, '{'))
        return -1;
    if (fp_eat(f, '}'))
        return -1;
    for (;;) {
        const char *s;
        size_t n;

        fp_ws(f);
        if (fp_string(f, &s, &n) < 0 || fp_key_seen(keys, klen, &nkeys, s, n) < 0 ||
            !fp_eat(f, ':') || fp_value(f, &v, 3) < 0)
            return -1;
        if (n == 4 && memcmp(s, "type", 4) == 0) {
            type = v;
            has_type = true;
        } else if (n == 5 && memcmp(s, "value", 5) == 0) {
            val = v;
            has_val = true;
        }
        if (fp_eat(f, ','))
            continue;
        if (!fp_eat(f, '}'))
            return -1;
        break;
    }
    if (!has_type || !has_val || val.kind != FP_INT)
        return -1;
    memset(out, 0, sizeof(*out));
    if (fp_is(&type, "i32")) {
        if (val.i < INT32_MIN || val.i > (int64_t)UINT32_MAX)
            return -1;
        out->type = WASM_I32;
        out->of.i32 = (uint32_t)((uint64_t)val.i & UINT32_MAX);
    } else if (fp_is(&type, "i64")) {
        out->type = WASM_I64;
        out->of.i64 = (uint64_t)val.i;
    } else if (fp_is(&type, "f32")) {
        /* Through double, as the jansson path does: the same rounding. */
        d = (double)val.i;
        fl = (float)d;
        out->type = WASM_F32;
        memcpy(&out->of.f32, &fl, sizeof(fl));
    } else if (fp_is(&type, "f64")) {
        d = (double)val.i;
        out->type = WASM_F64;
        memcpy(&out->of.f64, &d, sizeof(d));
    } else {
        return -1;
    }
    return 0;
}

/* The "args" array, its '[' at f->p. */
static int fp_args(struct fp *f, struct wasm_value *vals, uint32_t *n)
{
    *n = 0;
    if (!fp_eat(f, '['))
        return -1;
    if (fp_eat(f, ']'))
        return 0;
    for (;;) {
        if (*n >= FP_MAX_ARGS || fp_typed(f, &vals[*n]) < 0)
            return -1;
        (*n)++;
        if (fp_eat(f, ','))
            continue;
        return fp_eat(f, ']') ? 0 : -1;
    }
}

/* A name field as get_name() in proto.c accepts it (ASCII here, so no NUL inside). */
static bool fp_name_ok(const struct fp_val *v)
{
    return v->kind == FP_STR && v->n > 0 && v->n < PROTO_NAME_MAX;
}

/* The request's known top-level fields, as scanned. */
struct fp_req {
    struct fp_val id, op, module, export_, instance, deadline;
    bool has_id, has_op, has_module, has_export, has_instance, has_deadline, has_args;
    const char *args; /* the '[' of "args" */
};

/* Record one top-level field; fields the fast lane does not handle send the line away. */
static int fp_field(struct fp_req *r, const char *k, size_t n, const struct fp_val *v)
{
#define KEY(s) (n == sizeof(s) - 1 && memcmp(k, s, sizeof(s) - 1) == 0)
    if (KEY("id")) {
        r->id = *v;
        r->has_id = true;
    } else if (KEY("op")) {
        r->op = *v;
        r->has_op = true;
    } else if (KEY("module")) {
        r->module = *v;
        r->has_module = true;
    } else if (KEY("export")) {
        r->export_ = *v;
        r->has_export = true;
    } else if (KEY("instance")) {
        r->instance = *v;
        r->has_instance = true;
    } else if (KEY("deadline_ms")) {
        r->deadline = *v;
        r->has_deadline = true;
    } else if (KEY("args")) {
        if (v->kind != FP_ARRAY)
            return -1;
        r->args = v->s;
        r->has_args = true;
    } else {
        /* Any other field goes to the jansson path: the stats "format", the WASI fields,
         * "threads", fields added later, and fields the protocol says to ignore. A field the
         * fast lane skipped but the jansson path reads would silently change a request. */
        return -1;
    }
#undef KEY
    return 0;
}

static int fp_instance(struct proto_request *req, const struct fp_val *v)
{
    if (v->kind == FP_INT && v->i >= 0) {
        snprintf(req->instance, sizeof(req->instance), "%" PRId64, v->i);
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
    case FP_ARRAY:
    case FP_OBJECT:
        break;
    }
    return NULL;
}

static bool fp_op(const struct fp_val *v, enum proto_op *op)
{
    if (v->kind != FP_STR)
        return false;
    for (int o = PROTO_OP_PING; o <= PROTO_OP_MODULES; o++) {
        const char *name = proto_op_name((enum proto_op)o);
        if (strlen(name) == v->n && memcmp(name, v->s, v->n) == 0) {
            *op = (enum proto_op)o;
            return true;
        }
    }
    return false;
}

int proto_request_parse_fast(struct proto_request *req, const char *line, size_t len)
{
    struct fp f = {.p = line, .end = line + len};
    struct fp_req r;
    struct wasm_value vals[FP_MAX_ARGS];
    const char *keys[FP_MAX_KEYS];
    size_t klen[FP_MAX_KEYS], need = 0, off;
    unsigned nkeys = 0;
    uint32_t nargs = 0;
    bool names;
    char *buf = NULL;

    memset(req, 0, sizeof(*req));
    memset(&r, 0, sizeof(r));
    if (!fp_eat(&f, '{') || fp_eat(&f, '}'))
        return 0;
    for (;;) {
        struct fp_val v;
        const char *k;
        size_t n;

        fp_ws(&f);
        if (fp_string(&f, &k, &n) < 0 || fp_key_seen(keys, klen, &nkeys, k, n) < 0 ||
            !fp_eat(&f, ':') || fp_value(&f, &v, 1) < 0 || fp_field(&r, k, n, &v) < 0)
            return 0;
        if (fp_eat(&f, ','))
            continue;
        if (!fp_eat(&f, '}'))
            return 0;
        break;
    }
    fp_ws(&f);
    if (f.p != f.end)
        return 0; /* trailing bytes: bad_json, the jansson path's to say */

    /* The line is valid JSON; now the checks of proto_request_parse, in the same order. */
    if (!r.has_op || !fp_op(&r.op, &req->op))
        return 0;
    if (r.has_id && (r.id.kind == FP_ARRAY || r.id.kind == FP_OBJECT))
        return 0;
    names = req->op == PROTO_OP_INSTANTIATE || req->op == PROTO_OP_CALL;
    switch (req->op) {
    case PROTO_OP_PING:
    case PROTO_OP_MODULES:
    case PROTO_OP_STATS: /* "format" was sent away above */
        break;
    case PROTO_OP_INSTANTIATE:
        if (!r.has_module || !fp_name_ok(&r.module))
            return 0;
        need = r.module.n + 1;
        break;
    case PROTO_OP_TERMINATE:
        if (!r.has_instance || fp_instance(req, &r.instance) < 0)
            return 0;
        break;
    case PROTO_OP_RUN:
    case PROTO_OP_CALL:
        if (req->op == PROTO_OP_RUN && (!r.has_instance || fp_instance(req, &r.instance) < 0))
            goto fallback;
        if (req->op == PROTO_OP_CALL && (!r.has_module || !fp_name_ok(&r.module)))
            goto fallback;
        if (!r.has_export || !fp_name_ok(&r.export_))
            goto fallback;
        if (r.has_args) {
            struct fp af = {.p = r.args, .end = line + len};
            if (fp_args(&af, vals, &nargs) < 0)
                goto fallback;
        }
        if (r.has_deadline) {
            if (r.deadline.kind != FP_INT || r.deadline.i < 1 ||
                r.deadline.i > (INT64_C(1) << 53) - 1)
                goto fallback;
            req->has_deadline = true;
            req->deadline_ms = (uint64_t)r.deadline.i;
        }
        need = nargs * sizeof(struct wasm_value) + r.export_.n + 1 + (names ? r.module.n + 1 : 0);
        break;
    }

    /* One block holds the args and the names: the request outlives the line. */
    if (need > 0) {
        buf = malloc(need);
        if (buf == NULL)
            goto fallback;
        off = nargs * sizeof(struct wasm_value);
        if (nargs > 0)
            memcpy(buf, vals, off);
        if (names) {
            memcpy(buf + off, r.module.s, r.module.n);
            buf[off + r.module.n] = '\0';
            req->module = buf + off;
            off += r.module.n + 1;
        }
        if (req->op == PROTO_OP_RUN || req->op == PROTO_OP_CALL) {
            memcpy(buf + off, r.export_.s, r.export_.n);
            buf[off + r.export_.n] = '\0';
            req->export_name = buf + off;
            req->export_len = r.export_.n;
        }
        /* proto_request_release frees args; the block goes there when it starts with args. */
        if (nargs > 0) {
            req->args = (struct wasm_value *)(void *)buf;
            req->nargs = nargs;
        } else {
            req->fast_buf = buf;
        }
    }
    if (r.has_id) {
        req->fast_id = fp_id_json(&r.id);
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
                            const struct wasm_value *results, uint32_t n)
{
    size_t off;

    if (!fr_head(buf, cap, &off, id) || !fr_put(buf, cap, &off, ",\"results\":["))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct wasm_value *v = &results[i];
        bool ok;

        if (i > 0 && !fr_put(buf, cap, &off, ","))
            return 0;
        if (v->type == WASM_I32) {
            ok = fr_put(buf, cap, &off, "{\"type\":\"i32\",\"value\":") &&
                 fr_int(buf, cap, &off, (int32_t)v->of.i32) && fr_put(buf, cap, &off, "}");
        } else if (v->type == WASM_I64) {
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
