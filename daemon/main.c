/* main.c: wasmslotd's command line: run the daemon, or check a config file with -t or -T. */
#include "config.h"

#include "master.h"
#include "proctitle.h"
#include "wasmslot.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WASMSLOTD_CONF
#define WASMSLOTD_CONF "/etc/wasmslotd.conf"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: wasmslotd [-f] [-c FILE] [-s SOCKET]\n"
               "       wasmslotd -t|-T [-c FILE] [-s SOCKET]\n"
               "  -c, --config FILE   config file (default " WASMSLOTD_CONF ")\n"
               "  -f, --foreground    stay in the foreground and log to stderr\n"
               "  -s, --socket SOCKET listen on SOCKET instead of the config's socket\n"
               "  -t, --test          check the config file, its modules and what a start needs\n"
               "                      (socket and pid file directories, log files, user and\n"
               "                      group), then exit 0 (good) or 1\n"
               "  -T, --dump          as -t, then print the effective configuration with every\n"
               "                      default filled in\n"
               "  -V, --version       print the version\n"
               "  -h, --help          this help\n"
               "signals: HUP reload, TERM/INT stop, USR1 reopen the log files\n");
}

/* The config file's absolute path: the daemon chdirs to / when it detaches, and a reload
 * reads the file again. A relative path is taken against the current directory now. */
static char *absolute(const char *path)
{
    char cwd[PATH_MAX], *out;

    if (path[0] == '/')
        return strdup(path);
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    if (asprintf(&out, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0)
        return NULL;
    return out;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"socket", required_argument, NULL, 's'}, {"test", no_argument, NULL, 't'},
        {"dump", no_argument, NULL, 'T'},         {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *conf = WASMSLOTD_CONF, *sock = NULL;
    bool foreground = false, test = false, dump = false;
    char *abs_conf, *own_sock = NULL;
    int c, rc;

    while ((c = getopt_long(argc, argv, "c:fs:tTVh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (optarg[0] != '/' || strlen(optarg) >= 108) {
                fprintf(stderr, "wasmslotd: -s: the socket must be an absolute path of at most "
                                "107 bytes\n");
                return 2;
            }
            sock = optarg;
            break;
        case 'c':
            conf = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 't':
            test = true;
            break;
        case 'T':
            test = dump = true;
            break;
        case 'V':
            printf("wasmslotd %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (test)
        return master_check_config(conf, sock, dump);
    abs_conf = absolute(conf);
    if (abs_conf == NULL || (sock != NULL && (own_sock = strdup(sock)) == NULL)) {
        fprintf(stderr, "wasmslotd: %s: %s\n", conf, strerror(errno));
        return 1;
    }
    /* The library's SIGSEGV/SIGBUS handlers turn a guest's out-of-bounds access into a trap
     * (wasmslot.h, "Signals"): installed once, here, so every worker inherits them at fork. */
    rc = wasmslot_trap_handlers_install();
    if (rc < 0) {
        fprintf(stderr, "wasmslotd: cannot install the trap handlers: %s\n", wasmslot_strerror(rc));
        free(abs_conf);
        free(own_sock);
        return 1;
    }
    /* From here on argv's memory holds the process title. */
    proctitle_init(argc, argv);
    rc = master_run(abs_conf, foreground, own_sock);
    free(abs_conf);
    free(own_sock);
    return rc;
}
