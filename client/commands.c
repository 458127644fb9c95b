/* commands.c: the wasmslot client's commands: one-shot requests, the session mode and raw
 * mode. */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum stats_mode { STATS_TABLE, STATS_WORKERS, STATS_JSON, STATS_PROM, STATS_OM };

/* What a command line asks for, once built into a request. */
struct built {
    enum proto_op op;
    enum stats_mode stats;
    bool json; /* --json: print the reply's fields as JSON */
    json_t *req;
};

void client_say(const char *fmt, ...)
{
    va_list ap;

    fputs("wasmslot: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int conn_failed(const char *what, int err)
{
    client_say("%s: %s", what, strerror(-err));
    return CLIENT_EXIT_CONN;
}

/* Typed arguments from "i32:5"-style words. */
static int add_args(json_t *req, int argc, char **argv, char *err, size_t errlen)
{
    json_t *args = json_array();

    if (args == NULL || json_object_set_new(req, "args", args) != 0)
        return -ENOMEM;
    for (int i = 0; i < argc; i++) {
        struct wasmslot_value v;

        if (proto_value_parse_text(argv[i], &v) < 0) {
            snprintf(err, errlen,
                     "bad argument \"%s\" (expected TYPE:VALUE such as i32:5, f64:1.5, or a "
                     "plain i32)",
                     argv[i]);
            return -EINVAL;
        }
        if (json_array_append_new(args, proto_value_to_json(&v)) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Build the request for argv (argv[0] is the command). Returns 0, or -EINVAL with a usage
 * message in err, or -ENOMEM. */
static int build(const struct client_opts *o, int argc, char **argv, struct built *b, char *err,
                 size_t errlen)
{
    const char *cmd = argv[0];
    int rc = 0;

    memset(b, 0, sizeof(*b));
#define NEED(cond, usage)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(err, errlen, "usage: %s", usage);                                             \
            return -EINVAL;                                                                        \
        }                                                                                          \
    } while (0)

    if (strcmp(cmd, "ping") == 0) {
        NEED(argc == 1, "ping");
        b->op = PROTO_OP_PING;
    } else if (strcmp(cmd, "modules") == 0) {
        NEED(argc == 1, "modules");
        b->op = PROTO_OP_MODULES;
    } else if (strcmp(cmd, "stats") == 0) {
        b->op = PROTO_OP_STATS;
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                b->stats = STATS_JSON;
            else if (strcmp(argv[i], "--workers") == 0)
                b->stats = STATS_WORKERS;
            else if (strcmp(argv[i], "--prometheus") == 0)
                b->stats = STATS_PROM;
            else if (strcmp(argv[i], "--openmetrics") == 0)
                b->stats = STATS_OM;
            else
                NEED(false, "stats [--workers|--json|--prometheus|--openmetrics]");
        }
    } else if (strcmp(cmd, "instantiate") == 0) {
        NEED(argc == 2, "instantiate MODULE");
        b->op = PROTO_OP_INSTANTIATE;
    } else if (strcmp(cmd, "terminate") == 0) {
        NEED(argc == 2, "terminate INSTANCE");
        b->op = PROTO_OP_TERMINATE;
    } else if (strcmp(cmd, "run") == 0) {
        /* "run MODULE [--env K=V]... [-- ARG...]" is the WASI command form, which
         * wasmslot.c sends to client_cmd_wasi_run (run.c); it streams the client's own stdin,
         * which a session reads its commands from. "run INSTANCE EXPORT [ARG...]" calls an
         * export of an instance. */
        if (argc >= 2 && client_run_is_wasi(argc, argv)) {
            snprintf(err, errlen,
                     "run MODULE -- ARGS (WASI programs) works as a command only, "
                     "not in a session");
            return -EINVAL;
        }
        NEED(argc >= 3, "run INSTANCE EXPORT [ARG...]");
        b->op = PROTO_OP_RUN;
    } else if (strcmp(cmd, "call") == 0) {
        NEED(argc >= 3, "call MODULE EXPORT [ARG...]");
        b->op = PROTO_OP_CALL;
    } else {
        snprintf(err, errlen, "unknown command \"%s\"", cmd);
        return -EINVAL;
    }
#undef NEED

    b->req = proto_request_new(NULL, b->op);
    if (b->req == NULL)
        return -ENOMEM;
    switch (b->op) {
    case PROTO_OP_PING:
    case PROTO_OP_MODULES:
    case PROTO_OP_STATS:
        break;
    case PROTO_OP_INSTANTIATE:
        rc = json_object_set_new(b->req, "module", json_string(argv[1]));
        break;
    case PROTO_OP_TERMINATE:
        rc = json_object_set_new(b->req, "instance", json_string(argv[1]));
        break;
    case PROTO_OP_RUN:
    case PROTO_OP_CALL:
        rc = json_object_set_new(b->req, b->op == PROTO_OP_RUN ? "instance" : "module",
                                 json_string(argv[1]));
        if (rc == 0)
            rc = json_object_set_new(b->req, "export", json_string(argv[2]));
        if (rc == 0 && o->deadline_ms > 0)
            rc = json_object_set_new(b->req, "deadline_ms", json_integer(o->deadline_ms));
        if (rc == 0 && o->threads > 0 && b->op == PROTO_OP_CALL)
            rc = json_object_set_new(b->req, "threads", json_integer(o->threads));
        if (rc == 0) {
            rc = add_args(b->req, argc - 3, argv + 3, err, errlen);
            if (rc == -EINVAL) {
                json_decref(b->req);
                b->req = NULL;
                return rc;
            }
        }
        break;
    }
    if (rc != 0) {
        /* json_string() fails on text that is not UTF-8. */
        snprintf(err, errlen, "names must be valid UTF-8");
        json_decref(b->req);
        b->req = NULL;
        return -EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------- printing */

static int failure_status(const struct proto_reply *rep)
{
    return rep->error == PROTO_E_TRAP ? CLIENT_EXIT_TRAP : CLIENT_EXIT_ERROR;
}

static void print_types(const json_t *arr)
{
    size_t i;
    json_t *t;

    fputc('(', stdout);
    json_array_foreach(arr, i, t)
    {
        printf("%s%s", i > 0 ? ", " : "", json_is_string(t) ? json_string_value(t) : "?");
    }
    fputc(')', stdout);
}

static void print_modules(const json_t *mods)
{
    size_t i, k;
    json_t *m, *e;

    json_array_foreach(mods, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));

        printf("%s\n", name != NULL ? name : "?");
        json_array_foreach(json_object_get(m, "exports"), k, e)
        {
            const char *en = json_string_value(json_object_get(e, "name"));

            printf("  %s ", en != NULL ? en : "?");
            print_types(json_object_get(e, "params"));
            fputs(" -> ", stdout);
            print_types(json_object_get(e, "results"));
            fputc('\n', stdout);
        }
        json_array_foreach(json_object_get(m, "stubbed_imports"), k, e)
        {
            const char *sn = json_string_value(e);

            printf("  stubbed import %s (traps unlinked_import when called)\n",
                   sn != NULL ? sn : "?");
        }
    }
}

static int print_stats(const struct proto_reply *rep, enum stats_mode mode)
{
    if (rep->stats == NULL) {
        client_say("stats reply without \"stats\"");
        return CLIENT_EXIT_ERROR;
    }
    if (mode == STATS_JSON) {
        char *s = json_dumps(rep->stats, JSON_INDENT(2));

        if (s == NULL)
            return CLIENT_EXIT_ERROR;
        printf("%s\n", s);
        free(s);
    } else if (mode == STATS_PROM || mode == STATS_OM) {
        struct proto_stats *st = NULL;
        char *text;

        if (proto_stats_from_json(rep->stats, &st) < 0) {
            client_say("malformed stats in the reply");
            return CLIENT_EXIT_ERROR;
        }
        text = proto_stats_render(
            st, mode == STATS_OM ? PROTO_STATS_OPENMETRICS : PROTO_STATS_PROMETHEUS, NULL);
        proto_stats_free(st);
        if (text == NULL)
            return CLIENT_EXIT_ERROR;
        fputs(text, stdout);
        free(text);
    } else {
        return client_print_stats(rep->stats, mode == STATS_WORKERS);
    }
    return CLIENT_EXIT_OK;
}

/* A call with threads: one line per thread, "thread I:" and its results as TYPE:VALUE.
 * Returns false when the reply has no "thread_results". */
static bool print_thread_results(const struct proto_reply *rep)
{
    json_t *arr = rep->root != NULL ? json_object_get(rep->root, "thread_results") : NULL;
    size_t i;
    json_t *res;

    if (!json_is_array(arr))
        return false;
    json_array_foreach(arr, i, res)
    {
        struct wasmslot_value *v = NULL;
        uint32_t n = 0;
        char buf[64];

        printf("thread %zu:", i);
        if (proto_values_from_json(res, &v, &n, NULL, 0) == PROTO_OK) {
            for (uint32_t k = 0; k < n; k++) {
                proto_value_format_text(&v[k], buf, sizeof(buf));
                printf(" %s", buf);
            }
        } else {
            printf(" ?");
        }
        fputc('\n', stdout);
        free(v);
    }
    return true;
}

/* Print the reply of a one-shot command; returns the exit status. */
void client_print_json_reply(const struct proto_reply *rep)
{
    json_t *copy = rep->root != NULL ? json_copy(rep->root) : NULL;
    char *text;

    json_object_del(copy, "id");
    text = copy != NULL ? json_dumps(copy, JSON_COMPACT) : NULL;
    printf("%s\n", text != NULL ? text : "null");
    free(text);
    json_decref(copy);
}

static int print_reply(const struct built *b, const struct proto_reply *rep)
{
    char buf[64];

    if (b->json && (b->op == PROTO_OP_CALL || b->op == PROTO_OP_RUN || b->op == PROTO_OP_MODULES)) {
        client_print_json_reply(rep);
        return rep->ok ? CLIENT_EXIT_OK : failure_status(rep);
    }

    if (!rep->ok) {
        if (rep->error == PROTO_E_TRAP)
            client_say("trap: %s (%s)", rep->trap != NULL ? rep->trap : "?", rep->message);
        else if (rep->error == PROTO_E_SHUTTING_DOWN)
            client_say("shutting_down: the daemon is stopping or reloading, and the request was "
                       "not run (%s)",
                       rep->message);
        else
            client_say("%s: %s", rep->error_code, rep->message);
        return failure_status(rep);
    }
    switch (b->op) {
    case PROTO_OP_PING:
        printf("pong\n");
        break;
    case PROTO_OP_INSTANTIATE:
        printf("%s\n", rep->instance != NULL ? rep->instance : "?");
        break;
    case PROTO_OP_TERMINATE:
        break;
    case PROTO_OP_RUN:
    case PROTO_OP_CALL:
        if (print_thread_results(rep))
            break;
        for (uint32_t i = 0; i < rep->nresults; i++) {
            proto_value_format_text(&rep->results[i], buf, sizeof(buf));
            printf("%s\n", buf);
        }
        break;
    case PROTO_OP_MODULES:
        print_modules(rep->modules);
        break;
    case PROTO_OP_STATS:
        return print_stats(rep, b->stats);
    }
    return CLIENT_EXIT_OK;
}

int client_cmd_simple(const struct client_opts *o, int argc, char **argv)
{
    struct client_conn c;
    struct proto_reply rep;
    struct built b;
    json_t *again;
    char err[256];
    int rc;

    rc = build(o, argc, argv, &b, err, sizeof(err));
    b.json = o->json;
    if (rc < 0) {
        client_say("%s", rc == -EINVAL ? err : strerror(-rc));
        return CLIENT_EXIT_ERROR;
    }
    rc = client_connect(&c, o->socket, o->timeout_ms);
    if (rc < 0) {
        json_decref(b.req);
        return client_connect_failed(o->socket, rc);
    }
    again = json_deep_copy(b.req);
    rc = client_request(&c, b.req, &rep);
    client_close(&c);
    if (rc < 0) {
        json_decref(again);
        return conn_failed(o->socket, rc);
    }
    /* A retiring worker answers shutting_down to a request it did not run; after a reload
     * the next generation serves a new connection, so the request goes once more. When the
     * daemon stops, that first answer is the one to report. */
    if (!rep.ok && rep.error == PROTO_E_SHUTTING_DOWN && again != NULL &&
        client_connect(&c, o->socket, o->timeout_ms) == 0) {
        struct proto_reply rep2;

        if (client_request(&c, again, &rep2) == 0) {
            proto_reply_release(&rep);
            rep = rep2;
        }
        again = NULL;
        client_close(&c);
    }
    json_decref(again);
    rc = print_reply(&b, &rep);
    proto_reply_release(&rep);
    if (fflush(stdout) != 0)
        return CLIENT_EXIT_ERROR;
    return rc;
}

/* ---------------------------------------------------------------- session mode */

struct session {
    char **handles; /* every handle instantiate returned, for $1, $2, ... and $_ */
    size_t nhandles;
    int status;
};

/* Replace "$_" and "$N" words by the handles this session was given. */
static int substitute(struct session *s, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        char *end;
        unsigned long n;

        if (argv[i][0] != '$')
            continue;
        if (strcmp(argv[i], "$_") == 0) {
            if (s->nhandles == 0) {
                snprintf(err, errlen, "$_: no instance yet");
                return -EINVAL;
            }
            argv[i] = s->handles[s->nhandles - 1];
            continue;
        }
        n = strtoul(argv[i] + 1, &end, 10);
        if (*end != '\0' || end == argv[i] + 1 || n == 0 || n > s->nhandles) {
            snprintf(err, errlen, "%s: no such instance in this session", argv[i]);
            return -EINVAL;
        }
        argv[i] = s->handles[n - 1];
    }
    return 0;
}

static void session_result(const struct built *b, const struct proto_reply *rep, struct session *s)
{
    char buf[64];

    if (!rep->ok) {
        if (rep->error == PROTO_E_TRAP)
            printf("trap %s %s\n", rep->trap != NULL ? rep->trap : "?", rep->message);
        else
            printf("error %s %s\n", rep->error_code, rep->message);
        s->status = failure_status(rep);
        return;
    }
    switch (b->op) {
    case PROTO_OP_PING:
        printf("ok pong\n");
        break;
    case PROTO_OP_INSTANTIATE: {
        char **nh = realloc(s->handles, (s->nhandles + 1) * sizeof(*nh));
        const char *h = rep->instance != NULL ? rep->instance : "?";

        if (nh != NULL) {
            s->handles = nh;
            nh[s->nhandles] = strdup(h);
            if (nh[s->nhandles] != NULL)
                s->nhandles++;
        }
        printf("ok %s\n", h);
        break;
    }
    case PROTO_OP_TERMINATE:
        printf("ok\n");
        break;
    case PROTO_OP_RUN:
    case PROTO_OP_CALL:
        fputs("ok", stdout);
        for (uint32_t i = 0; i < rep->nresults; i++) {
            proto_value_format_text(&rep->results[i], buf, sizeof(buf));
            printf(" %s", buf);
        }
        fputc('\n', stdout);
        break;
    case PROTO_OP_MODULES:
    case PROTO_OP_STATS: {
        char *j = json_dumps(b->op == PROTO_OP_STATS ? rep->stats : rep->modules, JSON_COMPACT);

        printf("ok %s\n", j != NULL ? j : "null");
        free(j);
        break;
    }
    }
}

#define SESSION_MAX_WORDS 1024

int client_cmd_session(const struct client_opts *o)
{
    struct client_conn c;
    struct session s = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc;

    rc = client_connect(&c, o->socket, o->timeout_ms);
    if (rc < 0)
        return client_connect_failed(o->socket, rc);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        char *words[SESSION_MAX_WORDS];
        int argc = 0;
        char err[256];
        struct built b;
        struct proto_reply rep;

        for (char *tok = strtok(line, " \t\r\n"); tok != NULL && argc < SESSION_MAX_WORDS;
             tok = strtok(NULL, " \t\r\n"))
            words[argc++] = tok;
        if (argc == 0 || words[0][0] == '#')
            continue;
        if (strcmp(words[0], "stats") == 0 && argc > 1) {
            printf("error usage stats takes no options in a session (its line is JSON)\n");
            s.status = CLIENT_EXIT_ERROR;
            fflush(stdout);
            continue;
        }
        if (substitute(&s, argc, words, err, sizeof(err)) < 0 ||
            (rc = build(o, argc, words, &b, err, sizeof(err))) < 0) {
            printf("error usage %s\n", err);
            s.status = CLIENT_EXIT_ERROR;
            fflush(stdout);
            continue;
        }
        rc = client_request(&c, b.req, &rep);
        if (rc < 0) {
            fflush(stdout);
            s.status = conn_failed(o->socket, rc);
            break;
        }
        session_result(&b, &rep, &s);
        proto_reply_release(&rep);
        /* Each result is flushed at once so a script driving the session (a coprocess) can
         * read it before sending the next command. */
        fflush(stdout);
    }
    free(line);
    for (size_t i = 0; i < s.nhandles; i++)
        free(s.handles[i]);
    free(s.handles);
    client_close(&c);
    return s.status;
}

/* ---------------------------------------------------------------- raw mode */

/* Copy stdin to the socket as-is while printing every reply line, so input and output flow at
 * once (a large input cannot deadlock against unread replies). Ends when every line sent has
 * its reply, or the daemon closes. */
int client_cmd_raw(const struct client_opts *o)
{
    struct client_conn c;
    char out[65536];
    size_t out_len = 0, out_off = 0;
    unsigned long long sent = 0, got = 0;
    bool in_eof = false, last_nl = true, shut = false;
    int rc;

    rc = client_connect(&c, o->socket, o->timeout_ms);
    if (rc < 0)
        return client_connect_failed(o->socket, rc);
    for (;;) {
        struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                              {.fd = c.fd, .events = POLLIN}};
        const char *line;
        size_t len;

        if (in_eof && out_off == out_len && !shut) {
            shutdown(c.fd, SHUT_WR);
            shut = true;
        }
        if (shut && got >= sent)
            break;
        if (in_eof || out_off < out_len)
            p[0].fd = -1;
        if (out_off < out_len)
            p[1].events |= POLLOUT;
        rc = poll(p, 2, in_eof ? o->timeout_ms : -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            rc = -errno;
            break;
        }
        if (rc == 0) {
            rc = -ETIMEDOUT;
            break;
        }
        if (p[0].revents != 0) {
            ssize_t n = read(STDIN_FILENO, out, sizeof(out));

            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                rc = -errno;
                break;
            }
            if (n == 0) {
                in_eof = true;
                /* A last line without its newline is still a request. */
                if (!last_nl) {
                    out[0] = '\n';
                    out_len = 1;
                    out_off = 0;
                    sent++;
                }
            } else if (n > 0) {
                out_len = (size_t)n;
                out_off = 0;
                for (ssize_t i = 0; i < n; i++)
                    sent += out[i] == '\n';
                last_nl = out[n - 1] == '\n';
            }
        }
        if (p[1].revents & POLLOUT) {
            ssize_t n = send(c.fd, out + out_off, out_len - out_off, MSG_NOSIGNAL);

            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                rc = -errno;
                break;
            }
            if (n > 0)
                out_off += (size_t)n;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            /* One recv through the framer, then print whatever lines are complete. */
            int saved = c.timeout_ms;

            c.timeout_ms = 0;
            for (;;) {
                rc = client_read_line(&c, &line, &len);
                if (rc != 1)
                    break;
                fwrite(line, 1, len, stdout);
                fputc('\n', stdout);
                got++;
            }
            fflush(stdout);
            c.timeout_ms = saved;
            if (rc == 0)
                break; /* the daemon closed */
            if (rc < 0 && rc != -ETIMEDOUT)
                break;
            rc = 0;
        }
    }
    client_close(&c);
    if (rc < 0)
        return conn_failed(o->socket, rc);
    if (got < sent) {
        client_say("%llu of %llu replies received before the daemon closed", got, sent);
        return CLIENT_EXIT_CONN;
    }
    return CLIENT_EXIT_OK;
}
