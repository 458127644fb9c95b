/* run.c: the client's WASI command mode, `wasmslot run MODULE [OPTION]... [-- ARG...]`: its
 * own stdin goes into a `call` of `_start`, the program's stdout, stderr and exit code come
 * back out, so running a module feels like running a local program. */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exit statuses of this mode (wasmslot(1), EXIT STATUS). Every value 0..255 may also be the
 * program's own, so the client's outcomes take the ones shells and tools such as env(1) and
 * timeout(1) already use for "the wrapper failed", rather than 1..3, which programs use for
 * their own failures all the time. */
enum {
    RUN_EXIT_TIMEOUT = 124, /* the deadline ended the program (trap "timeout") */
    RUN_EXIT_ERROR = 125,   /* usage, an error reply, stdin too large, output cut */
    RUN_EXIT_CONN = 126,    /* the daemon could not be reached or the connection failed */
    RUN_EXIT_TRAP = 134,    /* any other trap: 128 + SIGABRT, as a local crash would give */
};

/* The most stdin a run sends: the largest max_request_size a daemon accepts. The module's own
 * limit is the daemon's to apply: asking for it first would cost a second round trip on every
 * run, so a request over it is answered request_too_large, naming the limit. */
#define RUN_STDIN_MAX ((size_t)1 << 30)

/* What the command line asks for. */
struct run_args {
    const char *module;
    const char *argv0; /* NULL: the module name */
    bool no_stdin;
    int nenv;
    char **env; /* points into the command line */
    int nargs;
    char **args;
};

static bool is_env_opt(const char *s)
{
    return strcmp(s, "-e") == 0 || strcmp(s, "--env") == 0 || strncmp(s, "--env=", 6) == 0;
}

static bool is_argv0_opt(const char *s)
{
    return strcmp(s, "--argv0") == 0 || strncmp(s, "--argv0=", 8) == 0;
}

bool client_run_is_wasi(int argc, char **argv)
{
    /* Export names do not start with '-' in practice, so an option there means this form,
     * and a misspelt one gets this form's usage message. */
    return argc == 2 || (argc >= 3 && argv[2][0] == '-');
}

/* The value of an option written "--opt VALUE" or "--opt=VALUE"; NULL when it is missing. */
static const char *opt_value(int argc, char **argv, int *i, size_t prefix)
{
    if (argv[*i][prefix] == '=')
        return argv[*i] + prefix + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Parse "run MODULE [OPTION]... [-- ARG...]" (argv[0] is "run"). Returns 0 or -EINVAL after
 * saying why. */
static int parse(int argc, char **argv, struct run_args *ra)
{
    int i;

    memset(ra, 0, sizeof(*ra));
    ra->module = argv[1];
    ra->env = calloc((size_t)argc, sizeof(*ra->env));
    if (ra->env == NULL) {
        client_say("out of memory");
        return -EINVAL;
    }
    for (i = 2; i < argc; i++) {
        const char *val;

        if (strcmp(argv[i], "--") == 0) {
            ra->args = argv + i + 1;
            ra->nargs = argc - i - 1;
            return 0;
        }
        if (strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--no-stdin") == 0) {
            ra->no_stdin = true;
        } else if (is_env_opt(argv[i])) {
            val = opt_value(argc, argv, &i, argv[i][1] == 'e' ? 2 : 5);
            if (val == NULL || strchr(val, '=') == NULL || val[0] == '=') {
                client_say("usage: --env KEY=VALUE (got \"%s\")", val != NULL ? val : "");
                return -EINVAL;
            }
            ra->env[ra->nenv++] = (char *)val;
        } else if (is_argv0_opt(argv[i])) {
            val = opt_value(argc, argv, &i, 7);
            if (val == NULL) {
                client_say("usage: --argv0 NAME");
                return -EINVAL;
            }
            ra->argv0 = val;
        } else {
            client_say("run: unexpected \"%s\" (the program's arguments go after --)", argv[i]);
            client_say("usage: run MODULE [--env KEY=VALUE]... [--argv0 NAME] [-n] [-- ARG...]");
            return -EINVAL;
        }
    }
    return 0;
}

/* An array of JSON strings, or NULL (not UTF-8, or out of memory). */
static json_t *string_array(const char *first, char **v, int n)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    if (first != NULL && json_array_append_new(arr, json_string(first)) != 0)
        goto fail;
    for (int i = 0; i < n; i++)
        if (json_array_append_new(arr, json_string(v[i])) != 0)
            goto fail;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

/* Read all of stdin, binary safe, but never more than max + 1 bytes: one byte past the limit
 * is enough to know the request cannot fit. A closed stdin reads as empty. */
static int read_stdin(size_t max, uint8_t **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);

    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t r;

        if (n == cap) {
            uint8_t *nb;

            if (cap > max)
                break;
            cap *= 2;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
        }
        r = read(STDIN_FILENO, buf + n, cap - n > max + 1 - n ? max + 1 - n : cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EBADF)
            break;
        if (r < 0) {
            int err = -errno;

            free(buf);
            return err;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max)
            break;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Put stdin into req: text when it is UTF-8, else base64 (PROTOCOL.md, WASI). Returns 0, or
 * -ENOMEM. */
static int set_stdin(json_t *req, const uint8_t *in, size_t len)
{
    json_t *j = proto_bytes_to_json(in != NULL ? in : (const uint8_t *)"", len);

    if (j == NULL || json_object_set_new(req, "stdin", j) != 0)
        return -ENOMEM;
    return 0;
}

/* Write all len bytes to fd. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write a reply's stream (absent: nothing) to fd exactly as the program wrote it. */
static int emit(const json_t *data, int fd, const char *name)
{
    uint8_t *bytes;
    size_t len;
    int rc;

    if (data == NULL)
        return 0;
    if (proto_bytes_from_json(data, &bytes, &len) < 0) {
        client_say("malformed %s in the reply", name);
        return -EINVAL;
    }
    rc = write_all(fd, bytes, len);
    free(bytes);
    return rc;
}

/* The exit status for a reply, after its output was written. */
static int outcome(const struct proto_reply *rep, const char *module)
{
    if (rep->ok) {
        /* A shell sees the low 8 bits of a local program's status too: exit(-1) is 255. */
        return rep->has_exit_code ? (int)((unsigned)rep->exit_code & 0xffu) : CLIENT_EXIT_OK;
    }
    if (rep->error == PROTO_E_TRAP) {
        const char *trap = rep->trap != NULL ? rep->trap : "?";

        client_say("trap: %s (%s)", trap, rep->message);
        return strcmp(trap, "timeout") == 0 ? RUN_EXIT_TIMEOUT : RUN_EXIT_TRAP;
    }
    if (rep->error == PROTO_E_LIMIT && rep->has_exit_code) {
        client_say("output cut: %s (the program exited with %d)", rep->message, rep->exit_code);
        return RUN_EXIT_ERROR;
    }
    if (rep->error == PROTO_E_TOO_LARGE) {
        client_say("%s: %s (standard input too large for module %s)", rep->error_code,
                   rep->message, module);
        return RUN_EXIT_ERROR;
    }
    if (rep->error == PROTO_E_SHUTTING_DOWN) {
        client_say("shutting_down: the daemon is stopping or reloading, and the program was not "
                   "run (%s)",
                   rep->message);
        return RUN_EXIT_ERROR;
    }
    client_say("%s: %s", rep->error_code, rep->message);
    return RUN_EXIT_ERROR;
}

/* Build the request: a call of _start with argv, env and the deadline; stdin comes later.
 * NULL when a string is not UTF-8 (or out of memory). */
static json_t *build(const struct client_opts *o, const struct run_args *ra)
{
    json_t *req = proto_request_new(NULL, PROTO_OP_CALL);

    if (req == NULL)
        return NULL;
    /* json_object_set_new takes (and on failure drops) the value, NULL included. */
    if (json_object_set_new(req, "module", json_string(ra->module)) != 0 ||
        json_object_set_new(req, "export", json_string("_start")) != 0 ||
        json_object_set_new(
            req, "argv",
            string_array(ra->argv0 != NULL ? ra->argv0 : ra->module, ra->args, ra->nargs)) != 0 ||
        json_object_set_new(req, "env", string_array(NULL, ra->env, ra->nenv)) != 0 ||
        (o->deadline_ms > 0 &&
         json_object_set_new(req, "deadline_ms", json_integer(o->deadline_ms)) != 0)) {
        json_decref(req);
        return NULL;
    }
    return req;
}

int client_cmd_wasi_run(const struct client_opts *o, int argc, char **argv)
{
    struct client_conn c = {.fd = -1};
    struct proto_reply rep;
    struct run_args ra;
    uint8_t *in = NULL;
    size_t in_len = 0;
    json_t *req = NULL;
    int rc, status = RUN_EXIT_ERROR;

    if (parse(argc, argv, &ra) < 0)
        goto out;
    req = build(o, &ra);
    if (req == NULL) {
        client_say("module name, arguments and environment must be valid UTF-8");
        goto out;
    }
    rc = client_connect(&c, o->socket, o->timeout_ms);
    if (rc < 0) {
        client_connect_failed(o->socket, rc);
        status = RUN_EXIT_CONN;
        goto out;
    }
    /* One run, one request: stdin goes in the call itself. */
    if (!ra.no_stdin) {
        rc = read_stdin(RUN_STDIN_MAX, &in, &in_len);
        if (rc < 0) {
            client_say("reading standard input: %s", strerror(-rc));
            goto out;
        }
    }
    if (in_len > RUN_STDIN_MAX) {
        client_say("standard input too large: over %zu bytes, more than any request may carry "
                   "(max_request_size is at most 1G)",
                   RUN_STDIN_MAX);
        goto out;
    }
    if (set_stdin(req, in, in_len) < 0) {
        client_say("out of memory");
        goto out;
    }
    rc = client_request(&c, req, &rep);
    req = NULL; /* consumed */
    if (rc < 0) {
        client_say("%s: %s", o->socket, strerror(-rc));
        status = RUN_EXIT_CONN;
        goto out;
    }
    /* The program's output first, then wasmslot's own word about how it ended. */
    if (o->json) {
        client_print_json_reply(&rep);
        status = outcome(&rep, ra.module);
    } else if (emit(rep.stdout_data, STDOUT_FILENO, "stdout") < 0 ||
               emit(rep.stderr_data, STDERR_FILENO, "stderr") < 0)
        status = RUN_EXIT_ERROR;
    else
        status = outcome(&rep, ra.module);
    proto_reply_release(&rep);
out:
    json_decref(req);
    free(in);
    free(ra.env);
    client_close(&c);
    return status;
}
