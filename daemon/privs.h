/* privs.h: who runs guest code (the `user` and `group` the workers drop to), and the checks of
 * what a start needs that `wasmslotd -t` runs as well. */
#ifndef PRIVS_H
#define PRIVS_H

#include "cfg.h"

#include <stdbool.h>

#include <sys/types.h>

/* A worker that could not drop its privileges exits with this status (and never runs guest
 * code). */
#define PRIVS_EXIT 78

/* Run as root, the daemon refuses to run guest code as root unless `user = root` says so.
 * Returns 0, or -1 with err filled. */
int privs_check(const struct config *cfg, char *err, size_t errlen);

/* Run as another user, the daemon cannot switch, and ignores `user` and `group` as nginx and
 * php-fpm do: true, with a warning for the operator in msg, when they name someone else. */
bool privs_ignored(const struct config *cfg, char *msg, size_t len);

/* In a new worker, before any guest code: become cfg's user and group (supplementary groups
 * those of the user), and check that root cannot be had back. A no-op when the daemon does
 * not run as root. Returns 0, or -1 with the reason in err. */
int privs_drop(const struct config *cfg, char *err, size_t errlen);

/* In a new worker: refuse for the rest of its life any mapping that is, or ever becomes,
 * executable unless it was so at fork (Linux 6.3's PR_SET_MDWE, what systemd's
 * MemoryDenyWriteExecute gives a whole service). The master compiled every module's machine
 * code before forking, so a worker never needs to; a guest escaping into the worker still
 * cannot make new code. Returns 0, or -errno (-EINVAL: a kernel without it; the worker runs
 * anyway, as before). */
int privs_deny_exec_gain(void);

/* The uid log files should belong to, so the workers can reopen them: cfg's user when the
 * daemon runs as root and drops to someone else; -1 otherwise. */
uid_t privs_log_owner(const struct config *cfg);

/* Make the socket's directory (one level, mode 0755) when it is missing. Returns 0, or -1 with
 * err filled. */
int privs_make_socket_dir(const char *socket_path, char *err, size_t errlen);

/* What else a start needs of the file system: the socket's directory (or its parent, to make
 * it), the log and access log files (or their directories), the pid file's directory.
 * Returns 0, or -1 with err filled. */
int privs_check_paths(const struct config *cfg, char *err, size_t errlen);

#endif
