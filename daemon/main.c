/* main.c: wasmslotd's command line: run the daemon, or check a config file with -t. */
#include "config.h"

#include "master.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WASMSLOTD_CONF
#define WASMSLOTD_CONF "/etc/wasmslotd.conf"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: wasmslotd [-f] [-c FILE] [-s SOCKET]\n"
               "       wasmslotd -t [-c FILE]\n"
               "  -c FILE    config file (default " WASMSLOTD_CONF ")\n"
               "  -f         stay in the foreground and log to stderr\n"
               "  -s SOCKET  listen on SOCKET instead of the config's socket\n"
               "  -t         check the config file and its modules, then exit 0 (good) or 1\n"
               "  -V         print the version\n"
               "  -h         this help\n");
}

int main(int argc, char **argv)
{
    const char *conf = WASMSLOTD_CONF, *sock = NULL;
    bool foreground = false, test = false;
    int c;

    while ((c = getopt(argc, argv, "c:fs:tVh")) != -1) {
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
        return master_check_config(conf);
    return master_run(conf, foreground, sock);
}
