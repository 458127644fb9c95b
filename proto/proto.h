/* proto.h: the wasmslot wire protocol (proto/PROTOCOL.md): request parsing, reply building,
 * typed values, line framing and stats rendering, shared by wasmslotd and the wasmslot client. */
#ifndef WASMSLOT_PROTO_H
#define WASMSLOT_PROTO_H

#include "wasmslot.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Conventions of this module
 * - Everything here is pure: no I/O, no printing, no logging, no global state. Functions
 *   return 0 / -errno, or an enum proto_err for protocol-level outcomes.
 * - JSON objects are jansson json_t. A function that "returns a new reference" hands the
 *   caller one reference to drop with json_decref(); "borrowed" pointers stay owned by the
 *   object they came from.
 * - Wire lines are compact JSON followed by exactly one '\n' (proto_line()).
 */

/* ---------------------------------------------------------------- constants */

/* Default socket path, shared by wasmslotd and wasmslot. The client overrides it with -s or
 * $WASMSLOT_SOCKET; the daemon with its config file. */
#ifndef PROTO_DEFAULT_SOCKET
#define PROTO_DEFAULT_SOCKET "/run/wasmslot/wasmslotd.sock"
#endif
#define PROTO_SOCKET_ENV "WASMSLOT_SOCKET"

/* Default limits (PROTOCOL.md "Limits"); the daemon's config may change them. */
#define PROTO_DEFAULT_MAX_LINE      (1024u * 1024u) /* bytes in one request line, '\n' excluded */
#define PROTO_DEFAULT_MAX_INSTANCES 64u             /* live instances per connection */
#define PROTO_DEFAULT_MAX_INFLIGHT  64u             /* requests per connection without a reply */

/* Hard limits of the protocol itself. */
#define PROTO_MAX_VALUES 1000u /* args (or results) in one request (the WebAssembly limit) */
#define PROTO_HANDLE_MAX 64u   /* bytes of an instance handle, NUL included */
#define PROTO_NAME_MAX   1024u /* bytes of a module or export name */

/* "threads" of a call, at most (the daemon's own cap, its executor_threads, is lower). */
#define PROTO_MAX_THREADS 1024u

/* ---------------------------------------------------------------- ops and error codes */

enum proto_op {
    PROTO_OP_PING = 0,
    PROTO_OP_INSTANTIATE,
    PROTO_OP_RUN,
    PROTO_OP_TERMINATE,
    PROTO_OP_CALL,
    PROTO_OP_STATS,
    PROTO_OP_MODULES,
};

/* Wire name of an op ("ping", "instantiate", ...). Never NULL. */
const char *proto_op_name(enum proto_op op);

/* Every error a reply can carry. The wire names (proto_err_code) are stable: clients match on
 * them. PROTOCOL.md lists when each is used. */
enum proto_err {
    PROTO_OK = 0,
    PROTO_E_BAD_JSON,           /* "bad_json": the line is not valid JSON (or not UTF-8) */
    PROTO_E_NOT_OBJECT,         /* "not_an_object": valid JSON, but not an object */
    PROTO_E_UNKNOWN_OP,         /* "unknown_op": op is a string but names no op */
    PROTO_E_MISSING_FIELD,      /* "missing_field": a required field is absent */
    PROTO_E_BAD_FIELD,          /* "bad_field": a field has the wrong JSON type or range */
    PROTO_E_BAD_VALUE,          /* "bad_value": a typed value is malformed or out of range */
    PROTO_E_TOO_LARGE,          /* "request_too_large": the line exceeds the line limit */
    PROTO_E_UNKNOWN_MODULE,     /* "unknown_module": no pool of that name */
    PROTO_E_UNKNOWN_EXPORT,     /* "unknown_export": no exported function of that name */
    PROTO_E_UNKNOWN_INSTANCE,   /* "unknown_instance": no such instance on this connection */
    PROTO_E_BAD_ARGUMENTS,      /* "bad_arguments": argument count/types differ from the
                                   export's signature */
    PROTO_E_TRAP,               /* "trap": the guest trapped; error.trap names the trap */
    PROTO_E_POOL_EXHAUSTED,     /* "pool_exhausted": the module's pool has no free slot */
    PROTO_E_TOO_MANY_INSTANCES, /* "too_many_instances": per-connection instance limit */
    PROTO_E_TOO_MANY_REQUESTS,  /* "too_many_requests": per-connection in-flight limit */
    PROTO_E_INSTANTIATE_FAILED, /* "instantiate_failed": linking or start-up failed */
    PROTO_E_LIMIT,              /* "limit_reached": another configured limit was reached */
    PROTO_E_SHUTTING_DOWN,      /* "shutting_down": the worker is stopping */
    PROTO_E_TOO_MANY_CONNS,     /* "too_many_connections": the worker's max_connections */
    PROTO_E_INTERNAL,           /* "internal_error": the daemon failed (out of memory, ...) */
};

/* Stable snake_case wire name of a code ("bad_json", "trap", ...). Never NULL. */
const char *proto_err_code(enum proto_err e);

/* The code for a wire name; returns -1 when the name is unknown (e.g. from a newer daemon). */
int proto_err_from_code(const char *code);

/* Map a libwasmslot result (a negative WASMSLOT_* code, WASMSLOT_TRAP_* code or -errno) to the
 * error code a reply carries: traps -> PROTO_E_TRAP, -WASMSLOT_ENOTFOUND -> PROTO_E_UNKNOWN_EXPORT,
 * -WASMSLOT_EARGS -> PROTO_E_BAD_ARGUMENTS, -WASMSLOT_EEXHAUSTED -> PROTO_E_POOL_EXHAUSTED,
 * -WASMSLOT_ELIMIT -> PROTO_E_LIMIT, link/module errors -> PROTO_E_INSTANTIATE_FAILED, -errno ->
 * PROTO_E_INTERNAL. 0 gives PROTO_OK. */
enum proto_err proto_err_from_wasm(int err);

/* ---------------------------------------------------------------- typed values */

/* Encode one value as {"type": "i32", "value": ...} (PROTOCOL.md "Typed values"): i32 and i64
 * as signed JSON integers (i64 beyond +-2^53 as a decimal string), f32/f64 finite values as
 * JSON numbers that convert back to the exact same bits, infinities as "inf"/"-inf", the
 * canonical positive NaN as "nan" and every other NaN as its bit pattern "0x7fc00001".
 * Returns a new reference, or NULL for a type the protocol does not carry (reference types,
 * v128) or when out of memory. */
json_t *proto_value_to_json(const struct wasmslot_value *v);

/* Decode one typed value object. Accepts every form proto_value_to_json produces plus: i32 in
 * [-2^31, 2^32-1], i64 as a number or a decimal string in [-2^63, 2^64-1], any integer as a
 * "0x..." bit-pattern string, floats as any JSON number (f32 rounded to nearest). Returns
 * PROTO_OK, or PROTO_E_BAD_VALUE with a reason in msg (may be NULL) of msglen bytes. */
enum proto_err proto_value_from_json(const json_t *j, struct wasmslot_value *out, char *msg,
                                     size_t msglen);

/* Encode n values as a JSON array of typed values. New reference, NULL on failure. */
json_t *proto_values_to_json(const struct wasmslot_value *v, size_t n);

/* Decode a JSON array of typed values into a new malloc'd array (*out, free() it; NULL when
 * n is 0) of *n values. At most PROTO_MAX_VALUES. Returns PROTO_OK, PROTO_E_BAD_FIELD when j
 * is not an array or too long, PROTO_E_BAD_VALUE for a bad element (msg says which), or
 * PROTO_E_INTERNAL when out of memory. */
enum proto_err proto_values_from_json(const json_t *j, struct wasmslot_value **out, uint32_t *n,
                                      char *msg, size_t msglen);

/* Command-line text form used by the client: "i32:42", "i64:-1", "f32:1.5", "f64:nan",
 * "f64:0x7ff8000000000001"; a plain number without a type is an i32. Returns 0 or -EINVAL. */
int proto_value_parse_text(const char *s, struct wasmslot_value *out);

/* Format a value as "type:value" into buf (at most len bytes, NUL-terminated): integers
 * signed decimal, floats in the shortest "%g" form that reads back to the same bits, "inf",
 * "-inf", "nan" (canonical positive NaN) or the bit pattern "0x..." (any other NaN). Returns
 * the length snprintf would have written, or -EINVAL for a type without text form. */
int proto_value_format_text(const struct wasmslot_value *v, char *buf, size_t len);

/* Bytes on the wire (WASI stdin, stdout, stderr; PROTOCOL.md "WASI commands"): a JSON string
 * when they are valid UTF-8 (NUL bytes included), else {"base64": "..."} (RFC 4648, padded).
 * New reference, or NULL when out of memory. */
json_t *proto_bytes_to_json(const void *data, size_t len);

/* Decode either form into a new malloc'd buffer (*out, free() it; NUL-terminated for
 * convenience, not counted in *len). Returns 0, -EINVAL when j is neither form or the base64
 * is malformed, -ENOMEM. */
int proto_bytes_from_json(const json_t *j, uint8_t **out, size_t *len);

/* ---------------------------------------------------------------- requests */

/* Output formats of the stats op and of proto_stats_render(). */
enum proto_stats_format {
    PROTO_STATS_JSON = 0,    /* the "stats" array of samples (default) */
    PROTO_STATS_OPENMETRICS, /* OpenMetrics 1.0 text exposition */
    PROTO_STATS_PROMETHEUS,  /* Prometheus text exposition 0.0.4 (what promtool checks) */
};

/* A parsed request. Strings and JSON pointers are borrowed from `root`, so they live until
 * proto_request_release(). */
struct proto_request {
    json_t *root;     /* the whole request object (one reference), NULL if not an object */
    json_t *id;       /* borrowed; NULL when absent or not usable. Echo it with the reply. */
    enum proto_op op; /* valid when parsing succeeded */

    const char *module;      /* instantiate, call */
    const char *export_name; /* run, call */
    size_t export_len;       /* bytes of export_name (names may contain NUL) */
    /* run, terminate: the instance handle as given; a JSON integer handle is turned into its
     * decimal string, so the daemon always compares strings. */
    char instance[PROTO_HANDLE_MAX];

    struct wasmslot_value *args; /* run, call: owned (malloc'd), nargs values; NULL when none */
    uint32_t nargs;
    bool has_deadline; /* run, call: "deadline_ms" was given */
    uint64_t deadline_ms;

    enum proto_stats_format stats_format; /* stats: "format" ("json", "openmetrics",
                                             "prometheus") */

    /* call: "threads" (PROTOCOL.md "Threads"), 1..PROTO_MAX_THREADS; 0 when absent (a plain
     * call). run rejects the field. */
    uint32_t threads;

    /* WASI commands (run/call of "_start"; PROTOCOL.md "WASI"): borrowed, validated shapes.
     * argv: array of strings; env: array of "KEY=VALUE" strings; stdin: string, or an object
     * {"base64": "..."}. NULL when absent. */
    const json_t *argv;
    const json_t *env;
    const json_t *stdin_data;

    /* When parsing failed: the code and a readable message for the error reply. */
    enum proto_err error;
    char message[192];

    /* Set by the fast parser (root is NULL then): its own reference to id, and the block
     * holding the names when there are no args (with args, the block is args). */
    json_t *fast_id;
    void *fast_buf;
};

/* Parse and validate one request line (len bytes, without the '\n'; need not be
 * NUL-terminated). Unknown fields are ignored. Fills *req (always: release it afterwards)
 * and returns PROTO_OK, or the error code also stored in req->error with req->message; even
 * then req->id holds the id when the line was an object with a usable id, so the error reply
 * echoes it (proto_reply_request_error). A line longer than max_line bytes (0: the default
 * PROTO_DEFAULT_MAX_LINE) gives PROTO_E_TOO_LARGE without being parsed. */
enum proto_err proto_request_parse(struct proto_request *req, const char *line, size_t len,
                                   size_t max_line);

/* Free what a parsed request holds; the struct can be parsed into again. Accepts a zeroed
 * struct. */
void proto_request_release(struct proto_request *req);

/* The jansson parser behind proto_request_parse: it takes every line, and it is the reference
 * the fast parser is tested against. Same contract as proto_request_parse. */
enum proto_err proto_request_parse_json(struct proto_request *req, const char *line, size_t len,
                                        size_t max_line);

/* The fast parser proto_request_parse tries first (proto_fast.c): a strict reader for the
 * common request shapes (only the fields id, op, module, export, instance, args and
 * deadline_ms; ASCII names without escapes; integer values) that fills *req exactly as
 * proto_request_parse_json would and returns 1, or returns 0 with *req zeroed for any line it does
 * not take, valid or not (so every error comes from the jansson parser). It does not check the line
 * length. */
int proto_request_parse_fast(struct proto_request *req, const char *line, size_t len);

/* Build a request object (for the client and tests): {"id": id, "op": op}. id is borrowed
 * (NULL: no id). Add fields with json_object_set_new. New reference or NULL. */
json_t *proto_request_new(const json_t *id, enum proto_op op);

/* ---------------------------------------------------------------- replies (daemon side) */

/* Base of every reply: {"id": id, "ok": ok}. id is borrowed; NULL gives "id": null. Add
 * op-specific fields with json_object_set_new. New reference or NULL. */
json_t *proto_reply_new(const json_t *id, bool ok);

/* {"id", "ok": false, "error": {"code": proto_err_code(code), "message": <fmt...>}}. */
json_t *proto_reply_error(const json_t *id, enum proto_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
json_t *proto_reply_verror(const json_t *id, enum proto_err code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* The error reply for a request that failed to parse: req->id, req->error, req->message. */
json_t *proto_reply_request_error(const struct proto_request *req);

/* Error reply for a libwasmslot failure `err` (negative code), via proto_err_from_wasm. A
 * trap gives {"code": "trap", "trap": wasmslot_errname(err), "message": wasmslot_strerror(err)};
 * others carry message `detail` when not NULL (e.g. a struct wasmslot_error's message) or
 * wasmslot_strerror(err). */
json_t *proto_reply_wasm_error(const json_t *id, int err, const char *detail);

/* ping: {"id", "ok": true, "pong": true, "version": PACKAGE_VERSION}. */
json_t *proto_reply_pong(const json_t *id);

/* instantiate: {"id", "ok": true, "instance": handle}. */
json_t *proto_reply_instance(const json_t *id, const char *handle);

/* run, call: {"id", "ok": true, "results": [typed values]}. */
json_t *proto_reply_results(const json_t *id, const struct wasmslot_value *results, uint32_t n);

/* terminate: {"id", "ok": true}. */
json_t *proto_reply_ok(const json_t *id);

/* One entry of the modules reply for module `name`: {"name", "exports": [{"name",
 * "params": ["i32", ...], "results": [...]}, ...]} listing exported functions only. The
 * daemon may add fields (e.g. "slots", "max_memory_pages") before putting it in the array.
 * New reference or NULL. */
json_t *proto_module_json(const char *name, const struct wasmslot_module *m);

/* modules: {"id", "ok": true, "modules": array}. Steals the reference to `modules`. */
json_t *proto_reply_modules(const json_t *id, json_t *modules);

/* A complete reply line for when building one failed for lack of memory: the request still
 * gets an answer, though its id is lost. */
#define PROTO_OOM_REPLY_LINE                                                                       \
    "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal_error\",\"message\":\"out of "       \
    "memory\"}}\n"

/* Fast renderers of the common replies straight into buf (cap bytes), no json_t: the same
 * bytes as proto_line() of proto_reply_results / proto_reply_pong / proto_reply_ok, '\n'
 * included. Return the length, or 0 when the reply needs the jansson renderer (a float
 * result, an id string that needs escaping, buf too small). */
size_t proto_render_results(char *buf, size_t cap, const json_t *id,
                            const struct wasmslot_value *results, uint32_t n);
/* The reply of a WASI command that ran to its end without cutting its output: exit_code, then
 * stdout and stderr as text (0 when either holds bytes other than printable ASCII, tab, CR and
 * LF: jansson then checks them as UTF-8, or base64 encodes them). */
size_t proto_render_command(char *buf, size_t cap, const json_t *id, int exit_code,
                            const uint8_t *out, size_t out_len, const uint8_t *err, size_t err_len);
size_t proto_render_pong(char *buf, size_t cap, const json_t *id);
size_t proto_render_ok(char *buf, size_t cap, const json_t *id);

/* Dump a message as one wire line: compact JSON, UTF-8, ending in '\n'. Steals `msg` (also on
 * failure). Returns a malloc'd NUL-terminated string (free() it) and its length without the
 * NUL in *len, or NULL when out of memory or msg is NULL. */
char *proto_line(json_t *msg, size_t *len);

/* ---------------------------------------------------------------- replies (client side) */

/* A parsed reply. Pointers are borrowed from root. */
struct proto_reply {
    json_t *root; /* one reference */
    json_t *id;   /* borrowed; JSON null when the reply said null */
    bool ok;
    /* ok == false: */
    enum proto_err error;   /* -1 cast when the code is unknown to this version */
    const char *error_code; /* the wire code as received */
    const char *message;    /* "" when absent */
    const char *trap;       /* error == PROTO_E_TRAP: the trap name, else NULL */
    /* ok == true, op-specific (NULL/0 when absent): */
    const char *instance;           /* instantiate: handle (a number handle is printed into inst) */
    struct wasmslot_value *results; /* run/call: owned (malloc'd) */
    uint32_t nresults;
    bool has_results;
    json_t *stats;    /* stats: the "stats" array (borrowed) */
    const char *text; /* stats with format openmetrics or prometheus: the text */
    json_t *modules;  /* modules: the "modules" array (borrowed) */
    /* WASI commands (also on a trap reply): "exit_code", "stdout", "stderr" (borrowed; decode
     * them with proto_bytes_from_json). */
    bool has_exit_code;
    int exit_code;
    json_t *stdout_data;
    json_t *stderr_data;
    char inst[PROTO_HANDLE_MAX];
};

/* Parse one reply line. Returns 0, or -EINVAL when the line is not a reply object with a bool
 * "ok" or its results do not decode (msg, when not NULL, says why). Release it afterwards in
 * every case. */
int proto_reply_parse(struct proto_reply *rep, const char *line, size_t len, char *msg,
                      size_t msglen);

/* Free what a parsed reply holds. Accepts a zeroed struct. */
void proto_reply_release(struct proto_reply *rep);

/* ---------------------------------------------------------------- line framing */

/* Splits a byte stream into lines with a length limit. Used by the client and tests, and
 * usable by the daemon on bytes it has read. */
struct proto_framer;

/* A framer for lines of at most max_line bytes ('\n' excluded; 0: PROTO_DEFAULT_MAX_LINE).
 * NULL when out of memory. */
struct proto_framer *proto_framer_new(size_t max_line);
void proto_framer_free(struct proto_framer *f);

/* Append received bytes. Returns 0 or -ENOMEM. Bytes belonging to an oversized line are
 * dropped here, so the buffer never holds much more than one maximal line. */
int proto_framer_feed(struct proto_framer *f, const void *data, size_t len);

enum proto_frame {
    PROTO_FRAME_NONE = 0,  /* no complete line buffered: feed more */
    PROTO_FRAME_LINE,      /* *line and *len hold one line, '\n' (and a '\r' before it) removed */
    PROTO_FRAME_TOO_LARGE, /* a line went over the limit: answer request_too_large; its rest,
                              up to and including its '\n', is discarded as it arrives */
};

/* Take the next event. For PROTO_FRAME_LINE, *line points into the framer (NUL-terminated,
 * valid until the next call on f). PROTO_FRAME_TOO_LARGE is reported once per oversized line,
 * as soon as the limit is passed, in order with the lines around it. */
enum proto_frame proto_framer_next(struct proto_framer *f, const char **line, size_t *len);

/* Bytes buffered but not yet returned as a line (a partial line at EOF). */
size_t proto_framer_pending(const struct proto_framer *f);

/* ---------------------------------------------------------------- stats */

/* A list of stats samples (labels, name, kind, value) to render. The daemon sets the labels
 * (e.g. pool="add", worker="1"), then feeds samples, typically by passing proto_stats_sink and
 * the list to wasmslot_pool_stats() and its own counters. Besides counters and gauges of
 * integers, a sample may be a time (nanoseconds, shown in seconds) or a histogram. */
struct proto_stats;

#define PROTO_STATS_MAX_LABELS 4

/* The bucket bounds of the daemon's histograms, in nanoseconds (upper bounds, "le"), from
 * 10 us to 10 s; a last bucket (+Inf) follows them. */
#define PROTO_STATS_BUCKETS 19
extern const uint64_t proto_stats_bucket_ns[PROTO_STATS_BUCKETS];

/* What a sample is. */
enum proto_stats_type {
    PROTO_STATS_TYPE_COUNTER,
    PROTO_STATS_TYPE_GAUGE,
    PROTO_STATS_TYPE_HISTOGRAM,
};

struct proto_stats *proto_stats_new(void);
void proto_stats_free(struct proto_stats *st);

/* Set (or with value NULL remove) one label of the current label set; samples added from now
 * on carry the current set. Names must match [a-zA-Z_][a-zA-Z0-9_]*; values are any UTF-8.
 * Returns 0, -EINVAL for a bad name, -E2BIG past PROTO_STATS_MAX_LABELS, -ENOMEM. */
int proto_stats_set_label(struct proto_stats *st, const char *name, const char *value);

/* Remove every label of the current label set. */
void proto_stats_clear_labels(struct proto_stats *st);

/* Add one sample with the current labels. name: [a-zA-Z_][a-zA-Z0-9_]*, lower snake_case,
 * units in the name ("_bytes", "_seconds"). Counters are named without "_total" (as
 * wasmslot_stats_sink_fn says); a "_total" suffix given anyway is removed, and the text
 * renderings add it back. Returns 0, -EINVAL for a bad name, -ENOMEM. */
int proto_stats_add(struct proto_stats *st, const char *name, enum wasmslot_stats_kind kind,
                    uint64_t value);

/* Add a time: ns nanoseconds, rendered in seconds; name ends in "_seconds". Returns as
 * proto_stats_add. */
int proto_stats_add_ns(struct proto_stats *st, const char *name, enum wasmslot_stats_kind kind,
                       uint64_t ns);

/* Add a histogram of times (name ends in "_seconds"): counts[i] observations fell in bucket i
 * (at most proto_stats_bucket_ns[i], over the previous bound), counts[PROTO_STATS_BUCKETS]
 * above the last bound; sum_ns is the sum of the observations. Returns as proto_stats_add. */
int proto_stats_add_histogram(struct proto_stats *st, const char *name,
                              const uint64_t counts[PROTO_STATS_BUCKETS + 1], uint64_t sum_ns);

/* A wasmslot_stats_sink_fn: arg is a struct proto_stats *. A failure is remembered and returned by
 * proto_stats_render / proto_stats_to_json. */
void proto_stats_sink(void *arg, const char *name, enum wasmslot_stats_kind kind, uint64_t value);

/* Number of samples held. */
size_t proto_stats_count(const struct proto_stats *st);

/* The samples as a JSON array, in the order added: [{"name": "instantiations",
 * "kind": "counter"|"gauge", "labels": {"pool": "add"}, "value": 3}, ...] (a value above
 * 2^63-1 as a decimal string; a time as a real number of seconds). A histogram is {"name",
 * "kind": "histogram", "labels", "buckets": [{"le": "0.00001", "count": N}, ...,
 * {"le": "+Inf", "count": N}] (cumulative), "count": N, "sum": seconds}. New reference, or
 * NULL (out of memory, or an earlier add failed). */
json_t *proto_stats_to_json(const struct proto_stats *st);

/* Rebuild a list from such an array (client side). Returns 0, -EINVAL for a malformed
 * array, -ENOMEM. On success *out is a new list to free. */
int proto_stats_from_json(const json_t *arr, struct proto_stats **out);

/* Render as a malloc'd NUL-terminated text (free() it; *len its length when len is not
 * NULL). PROTO_STATS_JSON: the compact JSON array. PROTO_STATS_OPENMETRICS: samples grouped
 * into families by name (first-seen order), each with "# HELP", "# TYPE" and, for names
 * ending in a unit, "# UNIT" lines; counter samples named wasmslot_<name>_total, histograms
 * as _bucket/_sum/_count, labels escaped, and a final "# EOF\n". PROTO_STATS_PROMETHEUS: the
 * same in the Prometheus text format 0.0.4 (HELP and TYPE name counters with "_total"; no
 * UNIT, no EOF). Returns NULL when out of memory or an earlier add failed. */
char *proto_stats_render(const struct proto_stats *st, enum proto_stats_format fmt, size_t *len);

/* The HELP text of a family (name without prefix or "_total"), or NULL for a name this
 * version does not know (it is then rendered with a generic text). */
const char *proto_stats_help(const char *name);

/* stats: {"id", "ok": true, "stats": [...]} for PROTO_STATS_JSON, or {"id", "ok": true,
 * "format": "openmetrics"|"prometheus", "text": "..."} for the text formats. */
json_t *proto_reply_stats(const json_t *id, const struct proto_stats *st,
                          enum proto_stats_format fmt);

/* The daemon at a glance, from a stats JSON array (the "stats" of a reply). Returns
 * {"daemon": {...}, "pools": [...], "workers": [...], "shmem": [...]}:
 * - daemon: the unlabelled samples (generation, workers, uptime_seconds, reloads, ...) plus
 *   connections_open, instances_open, executor_queue, requests and errors summed over workers;
 * - pools, one per "pool" label: every sample of the pool summed over the workers (a gauge of
 *   the module's image, and slots_busy_peak, as the largest instead), "requests" and "errors"
 *   summed over ops and codes, "runs" and "waits" (observations), "warm_hit_ratio"
 *   (warm_hits / instantiations, null before any), "run_p50", "run_p99", "wait_p50",
 *   "wait_p99" (seconds, from the histograms summed over workers), and "run_hist" and
 *   "wait_hist": those cumulative bucket counts, for rates between two summaries;
 * - workers, one per "worker" label: pid, connections_open, instances_open, executor_queue,
 *   requests, errors, slots_busy (over its pools) and runs;
 * - shmem, one per "shmem" label: its samples without the "shmem_" prefix.
 * New reference, NULL when out of memory. */
json_t *proto_stats_summary(const json_t *stats);

/* The q-quantile (0 < q < 1) of a histogram given as cumulative bucket counts (like
 * "run_hist"), in seconds, interpolated linearly inside its bucket; 0 without observations.
 * One that falls in the +Inf bucket is the last bound. */
double proto_stats_quantile(const uint64_t cum[PROTO_STATS_BUCKETS + 1], double q);

#endif
