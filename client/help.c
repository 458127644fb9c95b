/* help.c: `wasmslot COMMAND --help`: each command's usage on stdout, without connecting. */
#include "config.h"

#include "client.h"

#include <stdio.h>
#include <string.h>

struct command_help {
    const char *name;
    const char *text;
};

static const struct command_help helps[] = {
    {"call", "usage: wasmslot [OPTION]... call MODULE EXPORT [ARG...]\n"
             "Instantiate MODULE, run EXPORT with the arguments and terminate the instance, in\n"
             "one round trip. Arguments are TYPE:VALUE (i32:5, i64:-1, f32:1.5, f64:nan) or\n"
             "plain i32 numbers; results print one per line as TYPE:VALUE.\n"
             "  -d MS   deadline of the run (at most the module's own)\n"
             "  -T N    run it on N instances at once, the thread index passed first;\n"
             "          results print one line per thread\n"
             "exit status: 0 ok, 1 error reply, 2 connection failure, 3 trap\n"},
    {"instantiate", "usage: wasmslot [OPTION]... instantiate MODULE\n"
                    "Make an instance of MODULE and print its handle. The instance ends with\n"
                    "the connection, that is at once: use it in a session.\n"},
    {"run", "usage: wasmslot [OPTION]... run MODULE [--env K=V]... [--argv0 NAME] [-n] "
            "[-- ARG...]\n"
            "       wasmslot [OPTION]... run INSTANCE EXPORT [ARG...]\n"
            "The first form runs MODULE as a WASI program: wasmslot's standard input is its\n"
            "stdin, its stdout and stderr are written out, and its exit code is wasmslot's\n"
            "(124 timeout, 125 error, 126 connection failure, 134 other traps).\n"
            "  --env K=V     an environment variable (repeatable)\n"
            "  --argv0 NAME  the program's argv[0] (default: MODULE)\n"
            "  -n            no standard input\n"
            "  --            the program's arguments follow\n"
            "The second form runs EXPORT of an instance made on the same connection (in a\n"
            "session).\n"},
    {"terminate", "usage: wasmslot [OPTION]... terminate INSTANCE\n"
                  "End an instance made on the same connection (in a session).\n"},
    {"session", "usage: wasmslot [OPTION]... session\n"
                "Read commands from standard input, one per line, and run them on one\n"
                "connection, printing one line per command: `ok ...`, `error CODE message` or\n"
                "`trap NAME message`. $1, $2, ... are the handles instantiate returned, $_ the\n"
                "latest. Exit status: that of the last failed command, 2 when the connection\n"
                "failed.\n"},
    {"stats", "usage: wasmslot [OPTION]... stats [--workers|--json|--prometheus|--openmetrics]\n"
              "Print the daemon's statistics: one line per pool summed over the workers, then\n"
              "the daemon and its shared memories (default); --workers adds a line per worker\n"
              "and per pool of each worker; --json the samples; --prometheus the Prometheus\n"
              "text format (what promtool checks); --openmetrics OpenMetrics.\n"},
    {"top", "usage: wasmslot [OPTION]... top [-n COUNT] [-i SECONDS]\n"
            "A live view, redrawn every second (-i: 0.1 to 3600): per pool requests and\n"
            "errors per second, warm hits, busy slots, run and queue-wait percentiles; per\n"
            "worker its load. q quits; -n stops after COUNT refreshes.\n"},
    {"modules", "usage: wasmslot [OPTION]... modules [--json]\n"
                "List the daemon's modules and the signatures of their exports (--json: the\n"
                "reply's fields as JSON, as for call and run).\n"},
    {"ping", "usage: wasmslot [OPTION]... ping\n"
             "Check that the daemon answers: prints pong, exit status 0.\n"},
    {"raw", "usage: wasmslot [OPTION]... raw\n"
            "Send standard input's lines to the daemon as they are (JSON requests, see\n"
            "PROTOCOL.md) and print the replies as they come.\n"},
};

bool client_wants_help(int argc, char **argv)
{
    /* Up to "--": what follows belongs to a WASI program. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

int client_command_help(const char *name)
{
    for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
        if (strcmp(helps[i].name, name) == 0) {
            fputs(helps[i].text, stdout);
            fputs("options: -s SOCKET, -t TIMEOUT (seconds, default " CLIENT_DEFAULT_TIMEOUT_TEXT
                  ", 0: none), -d DEADLINE_MS (see wasmslot --help)\n",
                  stdout);
            return fflush(stdout) == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_ERROR;
        }
    }
    return -1;
}
