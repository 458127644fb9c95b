/* wasirun.c: WASI commands for the daemon: per-thread WASI states, request argv/env/stdin in,
 * exit code and captured stdout/stderr out (as UTF-8 text, or base64 when they are not). */
#include "config.h"

#include "wasirun.h"

#include "shm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Each executor thread keeps one state per module (the modules' options differ), freed with
 * the thread. */
struct thread_states {
    size_t n;
    struct wasmslot_wasi **w;
};

static pthread_key_t states_key;
static pthread_once_t states_once = PTHREAD_ONCE_INIT;

static void states_free(void *arg)
{
    struct thread_states *ts = arg;

    for (size_t i = 0; i < ts->n; i++)
        wasmslot_wasi_free(ts->w[i]);
    free(ts->w);
    free(ts);
}

static void states_init(void)
{
    pthread_key_create(&states_key, states_free);
}

struct wasmslot_wasi *wasirun_state(size_t mod, size_t nmods, const struct cfg_module *cm)
{
    struct thread_states *ts;

    pthread_once(&states_once, states_init);
    ts = pthread_getspecific(states_key);
    if (ts == NULL) {
        ts = calloc(1, sizeof(*ts));
        if (ts == NULL || (ts->w = calloc(nmods, sizeof(*ts->w))) == NULL) {
            free(ts);
            return NULL;
        }
        ts->n = nmods;
        pthread_setspecific(states_key, ts);
    }
    if (mod >= ts->n)
        return NULL;
    if (ts->w[mod] == NULL) {
        struct wasmslot_wasi_options o = {
            .stdout_max = cm->wasi_output_max,
            .stderr_max = cm->wasi_output_max,
            .dir = cm->wasi_dir,
        };
        struct wasmslot_error werr = {0};
        ts->w[mod] = wasmslot_wasi_new(&o, &werr);
    }
    return ts->w[mod];
}

/* Copy a JSON array of strings into a malloc'd vector. */
static const char **strings(const json_t *arr, size_t *n)
{
    const char **v;
    size_t i;
    json_t *x;

    *n = json_array_size(arr);
    v = calloc(*n ? *n : 1, sizeof(*v));
    if (v == NULL)
        return NULL;
    json_array_foreach(arr, i, x)
    {
        v[i] = json_string_value(x);
    }
    return v;
}

/* Give w the request's arguments, environment and stdin. Returns 0 or -errno. */
static int prepare(struct wasmslot_wasi *w, const struct proto_request *req, const char *name)
{
    const char **v;
    size_t n;
    int rc;

    if (req->argv != NULL) {
        v = strings(req->argv, &n);
        if (v == NULL)
            return -ENOMEM;
        rc = wasmslot_wasi_set_args(w, (uint32_t)n, v);
        free(v);
    } else {
        rc = wasmslot_wasi_set_args(w, 1, &name);
    }
    if (rc < 0)
        return rc;
    if (req->env != NULL) {
        v = strings(req->env, &n);
        if (v == NULL)
            return -ENOMEM;
        rc = wasmslot_wasi_set_env(w, (uint32_t)n, v);
        free(v);
    } else {
        rc = wasmslot_wasi_set_env(w, 0, NULL);
    }
    if (rc < 0)
        return rc;
    if (req->stdin_data == NULL)
        return wasmslot_wasi_set_stdin(w, "", 0);
    {
        /* The same decoding as every other byte string of the protocol: strict, padded
         * base64, so a malformed one is refused rather than silently shortened. */
        uint8_t *buf;
        size_t len;

        rc = proto_bytes_from_json(req->stdin_data, &buf, &len);
        if (rc < 0)
            return rc == -EINVAL ? -EBADMSG : rc;
        rc = wasmslot_wasi_set_stdin(w, buf, len);
        free(buf);
        return rc;
    }
}

void wasirun_add_output(json_t *reply, struct wasmslot_wasi *w)
{
    size_t n;
    const uint8_t *p;

    p = wasmslot_wasi_stdout(w, &n);
    json_object_set_new(reply, "stdout", proto_bytes_to_json(n ? p : (const uint8_t *)"", n));
    p = wasmslot_wasi_stderr(w, &n);
    json_object_set_new(reply, "stderr", proto_bytes_to_json(n ? p : (const uint8_t *)"", n));
    /* Only when true, so the common reply stays short; a trap reply needs them most, as its
     * code cannot say that the output was cut too. */
    if (wasmslot_wasi_stdout_truncated(w))
        json_object_set_new(reply, "stdout_truncated", json_true());
    if (wasmslot_wasi_stderr_truncated(w))
        json_object_set_new(reply, "stderr_truncated", json_true());
}

json_t *wasirun_start(const struct proto_request *req, size_t mod, size_t nmods,
                      const struct cfg_module *cm, const struct wasmslot_module *m,
                      struct wasmslot_instance *inst, struct wasmslot_exec *ex,
                      enum proto_err *code, int *rc, char *fast, size_t fast_cap,
                      size_t *fast_len)
{
    struct wasmslot_wasi *w = wasirun_state(mod, nmods, cm);
    struct wasmslot_error werr = {0};
    json_t *reply;
    int exit_code = 0, r;

    *rc = 0;
    *fast_len = 0;
    if (w == NULL) {
        *code = PROTO_E_INTERNAL;
        return proto_reply_error(req->id, *code, "cannot set up the WASI state of module '%s'",
                                 cm->name);
    }
    r = prepare(w, req, cm->name);
    if (r == -EBADMSG) {
        *code = PROTO_E_BAD_FIELD;
        return proto_reply_error(req->id, *code,
                                 "field \"stdin\": malformed base64 (RFC 4648, padded)");
    }
    if (r < 0) {
        *code = r == -EINVAL || r == -E2BIG ? PROTO_E_BAD_FIELD : PROTO_E_INTERNAL;
        return proto_reply_error(req->id, *code, "argv, env or stdin: %s", strerror(-r));
    }
    r = wasmslot_wasi_run(w, ex, m, inst, &exit_code, &werr);
    *rc = r;
    if (r == 0 && (wasmslot_wasi_stdout_truncated(w) || wasmslot_wasi_stderr_truncated(w))) {
        *code = PROTO_E_LIMIT;
        reply = proto_reply_error(req->id, *code,
                                  "the program wrote more than wasi_output_max (%zu bytes)",
                                  cm->wasi_output_max);
        json_object_set_new(reply, "exit_code", json_integer(exit_code));
    } else if (r == 0) {
        const uint8_t *out, *err;
        size_t out_len, err_len;

        *code = PROTO_OK;
        out = wasmslot_wasi_stdout(w, &out_len);
        err = wasmslot_wasi_stderr(w, &err_len);
        *fast_len = proto_render_command(fast, fast_cap, req->id, exit_code, out, out_len, err,
                                         err_len);
        if (*fast_len != 0) {
            wasmslot_wasi_reset(w); /* as below: the output is in fast now */
            return NULL;
        }
        reply = proto_reply_new(req->id, true);
        json_object_set_new(reply, "exit_code", json_integer(exit_code));
    } else {
        *code = proto_err_from_wasm(r);
        if (r == -WASMSLOT_ENOTFOUND)
            *code = PROTO_E_UNKNOWN_EXPORT;
        reply = proto_reply_wasm_error(req->id, r,
                                       wasmslot_is_trap(r) ? shm_trap_detail(r) : werr.message);
    }
    if (reply != NULL)
        wasirun_add_output(reply, w);
    /* The reply holds the output now. What the program left open is closed at once, rather
     * than when this thread next runs the module. */
    wasmslot_wasi_reset(w);
    return reply;
}
