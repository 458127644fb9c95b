/* client.h: internal interfaces of the wasmslot command-line client (connection, commands). */
#ifndef WASMSLOT_CLIENT_H
#define WASMSLOT_CLIENT_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses, documented in wasmslot(1). */
enum {
    CLIENT_EXIT_OK = 0,
    CLIENT_EXIT_ERROR = 1, /* an error reply, or a usage error */
    CLIENT_EXIT_CONN = 2,  /* could not connect, or the connection failed or timed out */
    CLIENT_EXIT_TRAP = 3,  /* the guest trapped */
};

/* One connection to wasmslotd. */
struct client_conn {
    int fd;
    int timeout_ms; /* for connecting and for each reply; -1: wait forever */
    struct proto_framer *framer;
    long long next_id;
    bool eof;
};

/* Connect to the socket at path. Returns 0, or -errno (ETIMEDOUT, ENAMETOOLONG, ...). */
int client_connect(struct client_conn *c, const char *path, int timeout_ms);

/* Close the connection and free what it holds. Accepts a closed one. */
void client_close(struct client_conn *c);

/* Write all len bytes. Returns 0 or -errno. */
int client_send(struct client_conn *c, const char *buf, size_t len);

/* Read the next reply line into *line and *len (valid until the next call). Returns 1 for a line,
 * 0 at end of stream, -ETIMEDOUT, -EMSGSIZE (a reply over the framer's limit) or -errno. */
int client_read_line(struct client_conn *c, const char **line, size_t *len);

/* Send a request (adding a fresh integer "id"; the request is consumed) and wait for the reply
 * with that id, parsed into *rep (release it afterwards). Returns 0 or -errno as above;
 * -EPROTO when a reply cannot be parsed. */
int client_request(struct client_conn *c, json_t *req, struct proto_reply *rep);

/* The reply timeout when neither -t nor $WASMSLOT_TIMEOUT gives one: long enough for any run
 * a module's deadline allows by default, short enough that a hung daemon does not hang a
 * script for ever. */
#define CLIENT_DEFAULT_TIMEOUT_MS   60000
#define CLIENT_DEFAULT_TIMEOUT_TEXT "60"
#define CLIENT_TIMEOUT_ENV          "WASMSLOT_TIMEOUT"

/* Print why connecting to socket failed (err: a -errno of client_connect), with a hint when
 * no daemon seems to listen there. Returns CLIENT_EXIT_CONN. */
int client_connect_failed(const char *socket, int err);

/* Whether a command's arguments (argv[0] is the command) ask for its help (-h or --help
 * before any "--"). */
bool client_wants_help(int argc, char **argv);

/* Print the help of command name on stdout; returns the exit status, or -1 when there is no
 * such command. */
int client_command_help(const char *name);

/* Options common to every command. */
struct client_opts {
    const char *socket;
    int timeout_ms;
    long long deadline_ms; /* 0: the pool's default */
    unsigned threads;      /* call: "threads" (-T); 0: a plain call */
    bool json;             /* call, run, modules --json: print the reply's fields as JSON */
};

/* Print a reply's fields (all but "id") as one line of JSON on stdout. */
void client_print_json_reply(const struct proto_reply *rep);

/* Commands; each returns an exit status. argv[0] is the command name. */
/* Print "wasmslot: " and the formatted message on stderr, with a newline. */
void client_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int client_cmd_simple(const struct client_opts *o, int argc, char **argv);

/* Helpers of the stats views: a number field of a JSON object (0 when absent or negative), a
 * string field ("?" when absent), and a time for a person ("-" for none, "42us", "1.5ms",
 * "2.10s") written into buf. */
uint64_t client_num(const json_t *o, const char *key);
const char *client_str(const json_t *o, const char *key);
const char *client_time_text(double s, char *buf, size_t len);

/* Print a stats array for a person: one line per pool (summed over the workers), the
 * daemon's lines and its shared memories; with workers, a line per worker and per pool of
 * each worker too. Returns an exit status. */
int client_print_stats(const json_t *stats, bool workers);

/* `top [-n COUNT] [-i SECONDS]`: the stats every second as rates, until q (or COUNT frames). */
int client_cmd_top(const struct client_opts *o, int argc, char **argv);
int client_cmd_session(const struct client_opts *o);
int client_cmd_raw(const struct client_opts *o);

/* Whether "run ..." (argv[0] is "run") is the WASI command form "run MODULE [OPTION]...
 * [-- ARG...]" (client/run.c) rather than "run INSTANCE EXPORT [ARG...]": a module alone, or
 * a word starting with '-' right after it ("--", -n, --env, ...). */
bool client_run_is_wasi(int argc, char **argv);

/* Run MODULE's `_start` as a WASI command: the client's stdin in, the program's stdout and
 * stderr out on the client's own, its exit code as the exit status (124 timeout, 125 error,
 * 126 connection failure, 134 other traps; see wasmslot(1)). */
int client_cmd_wasi_run(const struct client_opts *o, int argc, char **argv);

#endif
