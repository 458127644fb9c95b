/* proto.c: the wire protocol's ops and error codes, request parsing and reply building. */
#include "config.h"

#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- names */

const char *proto_op_name(enum proto_op op)
{
    switch (op) {
    case PROTO_OP_PING:
        return "ping";
    case PROTO_OP_INSTANTIATE:
        return "instantiate";
    case PROTO_OP_RUN:
        return "run";
    case PROTO_OP_TERMINATE:
        return "terminate";
    case PROTO_OP_CALL:
        return "call";
    case PROTO_OP_STATS:
        return "stats";
    case PROTO_OP_MODULES:
        return "modules";
    }
    return "unknown";
}

/* Exhaustive switch without default, so -Wswitch reports a code added without a name. */
static const char *err_code_or_null(enum proto_err e)
{
    switch (e) {
    case PROTO_OK:
        return "ok";
    case PROTO_E_BAD_JSON:
        return "bad_json";
    case PROTO_E_NOT_OBJECT:
        return "not_an_object";
    case PROTO_E_UNKNOWN_OP:
        return "unknown_op";
    case PROTO_E_MISSING_FIELD:
        return "missing_field";
    case PROTO_E_BAD_FIELD:
        return "bad_field";
    case PROTO_E_BAD_VALUE:
        return "bad_value";
    case PROTO_E_TOO_LARGE:
        return "request_too_large";
    case PROTO_E_UNKNOWN_MODULE:
        return "unknown_module";
    case PROTO_E_UNKNOWN_EXPORT:
        return "unknown_export";
    case PROTO_E_UNKNOWN_INSTANCE:
        return "unknown_instance";
    case PROTO_E_BAD_ARGUMENTS:
        return "bad_arguments";
    case PROTO_E_TRAP:
        return "trap";
    case PROTO_E_POOL_EXHAUSTED:
        return "pool_exhausted";
    case PROTO_E_TOO_MANY_INSTANCES:
        return "too_many_instances";
    case PROTO_E_TOO_MANY_REQUESTS:
        return "too_many_requests";
    case PROTO_E_INSTANTIATE_FAILED:
        return "instantiate_failed";
    case PROTO_E_LIMIT:
        return "limit_reached";
    case PROTO_E_SHUTTING_DOWN:
        return "shutting_down";
    case PROTO_E_TOO_MANY_CONNS:
        return "too_many_connections";
    case PROTO_E_INTERNAL:
        return "internal_error";
    }
    return NULL;
}

const char *proto_err_code(enum proto_err e)
{
    const char *s = err_code_or_null(e);

    return s != NULL ? s : "internal_error";
}

int proto_err_from_code(const char *code)
{
    for (int e = PROTO_OK; e <= PROTO_E_INTERNAL; e++)
        if (strcmp(err_code_or_null((enum proto_err)e), code) == 0)
            return e;
    return -1;
}

enum proto_err proto_err_from_wasm(int err)
{
    int c = err < 0 ? -err : err;

    if (c == 0)
        return PROTO_OK;
    if (wasmslot_is_trap(c))
        return PROTO_E_TRAP;
    switch (c) {
    case WASMSLOT_ENOTFOUND:
        return PROTO_E_UNKNOWN_EXPORT;
    case WASMSLOT_EARGS:
        return PROTO_E_BAD_ARGUMENTS;
    case WASMSLOT_EEXHAUSTED:
        return PROTO_E_POOL_EXHAUSTED;
    case WASMSLOT_ELIMIT:
        return PROTO_E_LIMIT;
    case WASMSLOT_EMALFORMED:
    case WASMSLOT_EINVALID:
    case WASMSLOT_EUNLINKABLE:
        return PROTO_E_INSTANTIATE_FAILED;
    default:
        return PROTO_E_INTERNAL;
    }
}

/* ---------------------------------------------------------------- request parsing */

static enum proto_err req_fail(struct proto_request *req, enum proto_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum proto_err req_fail(struct proto_request *req, enum proto_err e, const char *fmt, ...)
{
    va_list ap;

    req->error = e;
    va_start(ap, fmt);
    vsnprintf(req->message, sizeof(req->message), fmt, ap);
    va_end(ap);
    return e;
}

/* A required or optional string field that must be a non-empty name without NUL bytes. */
static enum proto_err get_name(struct proto_request *req, const char *field, bool required,
                               const char **out, size_t *outlen)
{
    json_t *j = json_object_get(req->root, field);
    size_t n;

    *out = NULL;
    if (j == NULL) {
        if (required)
            return req_fail(req, PROTO_E_MISSING_FIELD, "missing field \"%s\"", field);
        return PROTO_OK;
    }
    if (!json_is_string(j))
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"%s\" must be a string", field);
    n = json_string_length(j);
    if (n == 0 || n >= PROTO_NAME_MAX)
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"%s\" must be 1 to %u bytes long", field,
                        PROTO_NAME_MAX - 1);
    if (outlen != NULL)
        *outlen = n;
    else if (strlen(json_string_value(j)) != n)
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"%s\" must not contain NUL", field);
    *out = json_string_value(j);
    return PROTO_OK;
}

static enum proto_err get_instance(struct proto_request *req)
{
    json_t *j = json_object_get(req->root, "instance");

    if (j == NULL)
        return req_fail(req, PROTO_E_MISSING_FIELD, "missing field \"instance\"");
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        snprintf(req->instance, sizeof(req->instance), "%" PRId64, (int64_t)json_integer_value(j));
        return PROTO_OK;
    }
    if (json_is_string(j)) {
        size_t n = json_string_length(j);

        if (n > 0 && n < sizeof(req->instance) && strlen(json_string_value(j)) == n) {
            memcpy(req->instance, json_string_value(j), n + 1);
            return PROTO_OK;
        }
    }
    return req_fail(req, PROTO_E_BAD_FIELD,
                    "field \"instance\" must be a handle (a string of 1 to %u bytes or a "
                    "non-negative integer)",
                    PROTO_HANDLE_MAX - 1);
}

static enum proto_err get_args(struct proto_request *req)
{
    json_t *j = json_object_get(req->root, "args");
    char why[160];
    enum proto_err e;

    if (j == NULL)
        return PROTO_OK;
    e = proto_values_from_json(j, &req->args, &req->nargs, why, sizeof(why));
    if (e != PROTO_OK)
        return req_fail(req, e, "field \"args\": %s", why);
    return PROTO_OK;
}

/* deadline_ms: 1 ms up to 2^53-1 ms, so every JSON implementation reads it exactly. */
static enum proto_err get_deadline(struct proto_request *req)
{
    json_t *j = json_object_get(req->root, "deadline_ms");

    if (j == NULL)
        return PROTO_OK;
    if (!json_is_integer(j) || json_integer_value(j) < 1 ||
        json_integer_value(j) > (INT64_C(1) << 53) - 1)
        return req_fail(req, PROTO_E_BAD_FIELD,
                        "field \"deadline_ms\" must be a positive integer (milliseconds)");
    req->has_deadline = true;
    req->deadline_ms = (uint64_t)json_integer_value(j);
    return PROTO_OK;
}

/* threads: a call on N instances at once, 1..PROTO_MAX_THREADS (the daemon caps it further);
 * run names one instance, so it takes no threads. */
static enum proto_err get_threads(struct proto_request *req)
{
    json_t *j = json_object_get(req->root, "threads");

    if (j == NULL)
        return PROTO_OK;
    if (req->op != PROTO_OP_CALL)
        return req_fail(req, PROTO_E_BAD_FIELD,
                        "field \"threads\" is a field of call only (an instance is one thread)");
    if (!json_is_integer(j) || json_integer_value(j) < 1 ||
        json_integer_value(j) > (json_int_t)PROTO_MAX_THREADS)
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"threads\" must be an integer in [1, %u]",
                        PROTO_MAX_THREADS);
    req->threads = (uint32_t)json_integer_value(j);
    return PROTO_OK;
}

static bool is_string_array(const json_t *j, bool need_equals)
{
    size_t i;
    json_t *e;

    if (!json_is_array(j))
        return false;
    json_array_foreach(j, i, e)
    {
        if (!json_is_string(e))
            return false;
        if (need_equals && strchr(json_string_value(e), '=') == NULL)
            return false;
    }
    return true;
}

/* The WASI fields of run/call: only their shapes are checked here. */
static enum proto_err get_wasi(struct proto_request *req)
{
    json_t *argv = json_object_get(req->root, "argv");
    json_t *env = json_object_get(req->root, "env");
    json_t *in = json_object_get(req->root, "stdin");

    if (argv != NULL && !is_string_array(argv, false))
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"argv\" must be an array of strings");
    if (env != NULL && !is_string_array(env, true))
        return req_fail(req, PROTO_E_BAD_FIELD,
                        "field \"env\" must be an array of \"KEY=VALUE\" strings");
    if (in != NULL && !json_is_string(in) &&
        !(json_is_object(in) && json_is_string(json_object_get(in, "base64"))))
        return req_fail(req, PROTO_E_BAD_FIELD,
                        "field \"stdin\" must be a string or {\"base64\": \"...\"}");
    req->argv = argv;
    req->env = env;
    req->stdin_data = in;
    return PROTO_OK;
}

static enum proto_err get_stats_format(struct proto_request *req)
{
    json_t *j = json_object_get(req->root, "format");

    req->stats_format = PROTO_STATS_JSON;
    if (j == NULL)
        return PROTO_OK;
    if (json_is_string(j) && json_string_length(j) == 4 &&
        strcmp(json_string_value(j), "json") == 0)
        return PROTO_OK;
    if (json_is_string(j) && json_string_length(j) == 11 &&
        strcmp(json_string_value(j), "openmetrics") == 0) {
        req->stats_format = PROTO_STATS_OPENMETRICS;
        return PROTO_OK;
    }
    if (json_is_string(j) && json_string_length(j) == 10 &&
        strcmp(json_string_value(j), "prometheus") == 0) {
        req->stats_format = PROTO_STATS_PROMETHEUS;
        return PROTO_OK;
    }
    return req_fail(req, PROTO_E_BAD_FIELD,
                    "field \"format\" must be \"json\", \"openmetrics\" or \"prometheus\"");
}

static bool op_from_name(const char *s, enum proto_op *op)
{
    for (int o = PROTO_OP_PING; o <= PROTO_OP_MODULES; o++) {
        if (strcmp(s, proto_op_name((enum proto_op)o)) == 0) {
            *op = (enum proto_op)o;
            return true;
        }
    }
    return false;
}

enum proto_err proto_request_parse(struct proto_request *req, const char *line, size_t len,
                                   size_t max_line)
{
    /* The common shapes skip jansson's tree; the fast parser hands everything else back. */
    if (len <= (max_line != 0 ? max_line : PROTO_DEFAULT_MAX_LINE) &&
        proto_request_parse_fast(req, line, len) == 1)
        return PROTO_OK;
    return proto_request_parse_json(req, line, len, max_line);
}

enum proto_err proto_request_parse_json(struct proto_request *req, const char *line, size_t len,
                                        size_t max_line)
{
    json_error_t jerr;
    json_t *root, *id, *op;
    enum proto_err e = PROTO_OK;

    memset(req, 0, sizeof(*req));
    if (max_line == 0)
        max_line = PROTO_DEFAULT_MAX_LINE;
    if (len > max_line)
        return req_fail(req, PROTO_E_TOO_LARGE, "request of %zu bytes exceeds the limit of %zu",
                        len, max_line);

    /* JSON_DECODE_ANY: a scalar or array is valid JSON and must get not_an_object, not
     * bad_json. Duplicate keys make a request ambiguous, so they are rejected. NUL is allowed
     * in strings because export names may hold it; every other name is checked for it. */
    root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL)
        return req_fail(req, PROTO_E_BAD_JSON, "not JSON: %s (column %d)", jerr.text, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return req_fail(req, PROTO_E_NOT_OBJECT, "a request must be a JSON object");
    }
    req->root = root;

    id = json_object_get(root, "id");
    if (id != NULL && (json_is_object(id) || json_is_array(id)))
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"id\" must be a JSON scalar");
    req->id = id;

    op = json_object_get(root, "op");
    if (op == NULL)
        return req_fail(req, PROTO_E_MISSING_FIELD, "missing field \"op\"");
    if (!json_is_string(op))
        return req_fail(req, PROTO_E_BAD_FIELD, "field \"op\" must be a string");
    if (strlen(json_string_value(op)) != json_string_length(op) ||
        !op_from_name(json_string_value(op), &req->op))
        return req_fail(req, PROTO_E_UNKNOWN_OP, "unknown op \"%.64s\"", json_string_value(op));

    switch (req->op) {
    case PROTO_OP_PING:
    case PROTO_OP_MODULES:
        break;
    case PROTO_OP_STATS:
        e = get_stats_format(req);
        break;
    case PROTO_OP_INSTANTIATE:
        e = get_name(req, "module", true, &req->module, NULL);
        break;
    case PROTO_OP_TERMINATE:
        e = get_instance(req);
        break;
    case PROTO_OP_RUN:
    case PROTO_OP_CALL:
        if (req->op == PROTO_OP_RUN)
            e = get_instance(req);
        else
            e = get_name(req, "module", true, &req->module, NULL);
        if (e == PROTO_OK)
            e = get_name(req, "export", true, &req->export_name, &req->export_len);
        if (e == PROTO_OK)
            e = get_args(req);
        if (e == PROTO_OK)
            e = get_deadline(req);
        if (e == PROTO_OK)
            e = get_wasi(req);
        if (e == PROTO_OK)
            e = get_threads(req);
        break;
    }
    return e;
}

void proto_request_release(struct proto_request *req)
{
    free(req->args);
    free(req->fast_buf);
    json_decref(req->fast_id);
    json_decref(req->root);
    memset(req, 0, sizeof(*req));
}

json_t *proto_request_new(const json_t *id, enum proto_op op)
{
    json_t *r = json_object();

    if (r == NULL)
        return NULL;
    if ((id != NULL && json_object_set(r, "id", (json_t *)id) != 0) ||
        json_object_set_new(r, "op", json_string(proto_op_name(op))) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* ---------------------------------------------------------------- reply building */

json_t *proto_reply_new(const json_t *id, bool ok)
{
    json_t *r = json_object();

    if (r == NULL)
        return NULL;
    /* json_object_set takes its own reference; the cast only drops const for the API. */
    if (json_object_set(r, "id", id != NULL ? (json_t *)id : json_null()) != 0 ||
        json_object_set_new(r, "ok", json_boolean(ok)) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Attach an error object to a fresh failure reply; NULL when out of memory. */
static json_t *error_reply(const json_t *id, enum proto_err code, const char *message,
                           const char *trap)
{
    json_t *r = proto_reply_new(id, false);
    json_t *err = json_object();

    if (r == NULL || err == NULL)
        goto fail;
    if (json_object_set_new(err, "code", json_string(proto_err_code(code))) != 0)
        goto fail;
    if (trap != NULL && json_object_set_new(err, "trap", json_string(trap)) != 0)
        goto fail;
    /* A message is readable text; invalid UTF-8 from a guest name is replaced, not dropped. */
    if (json_object_set_new(err, "message", json_string(message)) != 0 &&
        json_object_set_new(err, "message", json_string("(message not valid UTF-8)")) != 0)
        goto fail;
    if (json_object_set_new(r, "error", err) != 0) {
        err = NULL;
        goto fail;
    }
    return r;
fail:
    json_decref(err);
    json_decref(r);
    return NULL;
}

json_t *proto_reply_verror(const json_t *id, enum proto_err code, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    return error_reply(id, code, msg, NULL);
}

json_t *proto_reply_error(const json_t *id, enum proto_err code, const char *fmt, ...)
{
    va_list ap;
    json_t *r;

    va_start(ap, fmt);
    r = proto_reply_verror(id, code, fmt, ap);
    va_end(ap);
    return r;
}

json_t *proto_reply_request_error(const struct proto_request *req)
{
    enum proto_err e = req->error != PROTO_OK ? req->error : PROTO_E_INTERNAL;

    return error_reply(req->id, e, req->message, NULL);
}

json_t *proto_reply_wasm_error(const json_t *id, int err, const char *detail)
{
    enum proto_err e = proto_err_from_wasm(err);

    if (e == PROTO_OK)
        e = PROTO_E_INTERNAL;
    if (e == PROTO_E_TRAP)
        return error_reply(id, e, detail != NULL ? detail : wasmslot_strerror(err),
                           wasmslot_errname(err));
    return error_reply(id, e, detail != NULL ? detail : wasmslot_strerror(err), NULL);
}

/* Add one field to a fresh success reply, stealing val. */
static json_t *ok_with(const json_t *id, const char *key, json_t *val)
{
    json_t *r;

    if (val == NULL)
        return NULL;
    r = proto_reply_new(id, true);
    if (r == NULL || json_object_set_new(r, key, val) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *proto_reply_ok(const json_t *id)
{
    return proto_reply_new(id, true);
}

json_t *proto_reply_pong(const json_t *id)
{
    json_t *r = ok_with(id, "pong", json_true());

    if (r != NULL && json_object_set_new(r, "version", json_string(PACKAGE_VERSION)) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *proto_reply_instance(const json_t *id, const char *handle)
{
    return ok_with(id, "instance", json_string(handle));
}

json_t *proto_reply_results(const json_t *id, const struct wasmslot_value *results, uint32_t n)
{
    return ok_with(id, "results", proto_values_to_json(results, n));
}

json_t *proto_reply_modules(const json_t *id, json_t *modules)
{
    return ok_with(id, "modules", modules);
}

char *proto_line(json_t *msg, size_t *len)
{
    char *s, *line;
    size_t n;

    if (msg == NULL)
        return NULL;
    /* Compact output never contains a raw newline: jansson escapes control characters. */
    s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (s == NULL)
        return NULL;
    n = strlen(s);
    line = realloc(s, n + 2);
    if (line == NULL) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    if (len != NULL)
        *len = n + 1;
    return line;
}

/* ---------------------------------------------------------------- reply parsing */

static int rep_fail(char *msg, size_t msglen, const char *why)
{
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, "%s", why);
    return -EINVAL;
}

int proto_reply_parse(struct proto_reply *rep, const char *line, size_t len, char *msg,
                      size_t msglen)
{
    json_error_t jerr;
    json_t *root, *ok, *j;

    memset(rep, 0, sizeof(*rep));
    rep->message = "";
    /* NUL is allowed: program output may hold it. */
    root = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (root == NULL)
        return rep_fail(msg, msglen, "reply is not JSON");
    rep->root = root;
    if (!json_is_object(root))
        return rep_fail(msg, msglen, "reply is not a JSON object");
    rep->id = json_object_get(root, "id");
    if (rep->id == NULL)
        rep->id = json_null();
    ok = json_object_get(root, "ok");
    if (!json_is_boolean(ok))
        return rep_fail(msg, msglen, "reply has no boolean \"ok\"");
    rep->ok = json_is_true(ok);
    rep->stdout_data = json_object_get(root, "stdout");
    rep->stderr_data = json_object_get(root, "stderr");
    j = json_object_get(root, "exit_code");
    if (json_is_integer(j)) {
        rep->has_exit_code = true;
        rep->exit_code = (int)json_integer_value(j);
    }

    if (!rep->ok) {
        json_t *err = json_object_get(root, "error");
        json_t *code = json_object_get(err, "code");
        json_t *m = json_object_get(err, "message");
        json_t *trap = json_object_get(err, "trap");

        if (!json_is_string(code))
            return rep_fail(msg, msglen, "error reply has no \"error.code\"");
        rep->error_code = json_string_value(code);
        rep->error = (enum proto_err)proto_err_from_code(rep->error_code);
        if (json_is_string(m))
            rep->message = json_string_value(m);
        if (json_is_string(trap))
            rep->trap = json_string_value(trap);
        return 0;
    }

    j = json_object_get(root, "instance");
    if (json_is_string(j)) {
        rep->instance = json_string_value(j);
    } else if (json_is_integer(j)) {
        snprintf(rep->inst, sizeof(rep->inst), "%" PRId64, (int64_t)json_integer_value(j));
        rep->instance = rep->inst;
    }
    j = json_object_get(root, "results");
    if (j != NULL) {
        char why[160];

        if (proto_values_from_json(j, &rep->results, &rep->nresults, why, sizeof(why)) != PROTO_OK)
            return rep_fail(msg, msglen, why);
        rep->has_results = true;
    }
    j = json_object_get(root, "stats");
    if (json_is_array(j))
        rep->stats = j;
    j = json_object_get(root, "text");
    if (json_is_string(j))
        rep->text = json_string_value(j);
    j = json_object_get(root, "modules");
    if (json_is_array(j))
        rep->modules = j;
    return 0;
}

void proto_reply_release(struct proto_reply *rep)
{
    free(rep->results);
    json_decref(rep->root);
    memset(rep, 0, sizeof(*rep));
}
