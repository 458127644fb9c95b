/* master.h: the wasmslotd master process: socket, pre-forked workers, supervision, reload. */
#ifndef MASTER_H
#define MASTER_H

#include <stdbool.h>

/* Run the daemon on config file `path` until SIGTERM/SIGINT. foreground: stay attached and
 * log to stderr (otherwise detach, unless started by systemd with NOTIFY_SOCKET set, and
 * log where the config says). socket: when not NULL, listen there instead of the configured
 * socket (also after reloads). Returns the process exit status. */
int master_run(const char *path, bool foreground, const char *socket);

/* Check the config file at path with the daemon's own parser, compile its modules, and check
 * what a start needs (on socket instead of the configured one when not NULL) (the socket's and the pid file's directories, the log files, the user
 * and group); prints `file:line: message` to stderr on failure. dump: print the effective
 * configuration, defaults filled in, to stdout. Returns 0 when all is good, 1 otherwise. */
int master_check_config(const char *path, const char *socket, bool dump);

#endif
