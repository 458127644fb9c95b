/* wasmslot.c: the wasmslot command-line client of wasmslotd: option parsing and dispatch. */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wasmslot [-s SOCKET] [-t TIMEOUT] [-d DEADLINE_MS] [-T THREADS] COMMAND "
            "[ARG...]\n"
            "\n"
            "commands:\n"
            "  call MODULE EXPORT [ARG...]    instantiate, run and terminate in one round trip\n"
            "                                 (-T N: on N instances at once, thread index first)\n"
            "  instantiate MODULE             make an instance, print its handle\n"
            "  run MODULE [--env K=V]... [--argv0 NAME] [-n] [-- ARG...]\n"
            "                                 run a WASI program: stdin in, stdout/stderr out,\n"
            "                                 its exit code as wasmslot's\n"
            "  run INSTANCE EXPORT [ARG...]   run an export of an instance of this connection\n"
            "  terminate INSTANCE             end an instance\n"
            "  session                        read commands from stdin on one connection\n"
            "  stats [--workers|--json|--prometheus|--openmetrics]\n"
            "                                 the daemon's statistics, one line per pool\n"
            "  top [-n COUNT] [-i SECONDS]    live view of the pools and workers; q quits\n"
            "  modules                        list the modules and their exports\n"
            "  ping                           check that the daemon answers\n"
            "  raw                            send stdin lines as-is, print the replies\n"
            "\n"
            "arguments are TYPE:VALUE (i32:5, i64:-1, f32:1.5, f64:nan, f64:0x7ff8000000000001)\n"
            "or plain i32 numbers. Results print one per line as TYPE:VALUE.\n"
            "socket: -s, else $" PROTO_SOCKET_ENV ", else " PROTO_DEFAULT_SOCKET "\n"
            "timeout: -t SECONDS (0: wait for ever), else $" CLIENT_TIMEOUT_ENV
            ", else " CLIENT_DEFAULT_TIMEOUT_TEXT " s,\n"
            "  for connecting and for each reply (longer when -d asks for more)\n"
            "COMMAND --help prints the help of a command\n"
            "exit status: 0 ok, 1 error reply or usage, 2 connection failure, 3 guest trap;\n"
            "run MODULE: the program's exit code, 124 timeout, 125 error, 126 connection\n"
            "failure, 134 other traps\n");
}

/* Seconds (a decimal number) to milliseconds; 0 means no timeout. */
static int parse_timeout(const char *s, int *ms)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(d >= 0) || d > 86400.0 * 365)
        return -EINVAL;
    *ms = d == 0 ? -1 : (int)ceil(d * 1000);
    return 0;
}

int main(int argc, char **argv)
{
    struct client_opts o = {.socket = NULL, .timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS};
    const char *env_timeout = getenv(CLIENT_TIMEOUT_ENV);
    bool timeout_given = false;
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"deadline", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"threads", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    /* "+": options end at the command, so arguments such as -5 reach it untouched. */
    while ((ch = getopt_long(argc, argv, "+s:t:d:T:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o.socket = optarg;
            break;
        case 't':
            if (parse_timeout(optarg, &o.timeout_ms) < 0) {
                fprintf(stderr, "wasmslot: bad timeout \"%s\" (seconds)\n", optarg);
                return CLIENT_EXIT_ERROR;
            }
            timeout_given = true;
            break;
        case 'd': {
            char *end;

            errno = 0;
            o.deadline_ms = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || o.deadline_ms <= 0) {
                fprintf(stderr, "wasmslot: bad deadline \"%s\" (milliseconds)\n", optarg);
                return CLIENT_EXIT_ERROR;
            }
            break;
        }
        case 'T': {
            char *end;
            unsigned long n;

            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || n < 1 || n > PROTO_MAX_THREADS) {
                fprintf(stderr, "wasmslot: bad thread count \"%s\" (1-%u)\n", optarg,
                        PROTO_MAX_THREADS);
                return CLIENT_EXIT_ERROR;
            }
            o.threads = (unsigned)n;
            break;
        }
        case 'h':
            usage(stdout);
            return CLIENT_EXIT_OK;
        case 'V':
            printf("wasmslot %s\n", PACKAGE_VERSION);
            return CLIENT_EXIT_OK;
        default:
            usage(stderr);
            return CLIENT_EXIT_ERROR;
        }
    }
    if (o.socket == NULL) {
        o.socket = getenv(PROTO_SOCKET_ENV);
        if (o.socket == NULL || o.socket[0] == '\0')
            o.socket = PROTO_DEFAULT_SOCKET;
    }
    if (!timeout_given && env_timeout != NULL && env_timeout[0] != '\0') {
        if (parse_timeout(env_timeout, &o.timeout_ms) < 0) {
            fprintf(stderr, "wasmslot: bad $%s \"%s\" (seconds)\n", CLIENT_TIMEOUT_ENV,
                    env_timeout);
            return CLIENT_EXIT_ERROR;
        }
        timeout_given = true;
    }
    /* A run may last as long as -d asks: the default timeout does not cut it short. */
    if (!timeout_given && o.deadline_ms > 0 && o.deadline_ms + 10000 > o.timeout_ms)
        o.timeout_ms = o.deadline_ms > INT_MAX - 10000 ? -1 : (int)o.deadline_ms + 10000;
    if (optind >= argc) {
        usage(stderr);
        return CLIENT_EXIT_ERROR;
    }
    argc -= optind;
    argv += optind;
    /* "call --json ...", "run --json ...", "modules --json": the reply's fields as JSON. */
    if (argc >= 2 && strcmp(argv[1], "--json") == 0 &&
        (strcmp(argv[0], "call") == 0 || strcmp(argv[0], "run") == 0 ||
         strcmp(argv[0], "modules") == 0)) {
        o.json = true;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    /* Help never connects. A command without an entry in help.c handles its own. */
    if (client_wants_help(argc, argv)) {
        int rc = client_command_help(argv[0]);
        if (rc >= 0)
            return rc;
    }
    if (strcmp(argv[0], "help") == 0) {
        if (argc > 1 && client_command_help(argv[1]) >= 0)
            return CLIENT_EXIT_OK;
        usage(stdout);
        return CLIENT_EXIT_OK;
    }
    if (strcmp(argv[0], "session") == 0 || strcmp(argv[0], "raw") == 0) {
        if (argc != 1) {
            fprintf(stderr, "wasmslot: usage: %s (commands come from stdin)\n", argv[0]);
            return CLIENT_EXIT_ERROR;
        }
        return argv[0][0] == 's' ? client_cmd_session(&o) : client_cmd_raw(&o);
    }
    if (strcmp(argv[0], "top") == 0)
        return client_cmd_top(&o, argc, argv);
    if (strcmp(argv[0], "run") == 0 && client_run_is_wasi(argc, argv))
        return client_cmd_wasi_run(&o, argc, argv);
    return client_cmd_simple(&o, argc, argv);
}
