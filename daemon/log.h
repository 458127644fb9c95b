/* log.h: the daemon's log lines (stderr, syslog or a file) and fatal() for start-up errors. */
#ifndef LOG_H
#define LOG_H

#include "cfg_log.h"

#include <sys/types.h>

/* Send log lines to target (file is used with CFG_LOG_FILE) at or above level. Safe to call
 * again (reload); returns 0 or -errno when the file cannot be opened (the old target stays). */
int log_open(enum cfg_log_target target, const char *file, enum cfg_log_level level);

/* Open a log file for appending (created 0640), never through a symbolic link; when the
 * daemon runs as root and owner is not -1, the file is made owner's, so that workers running
 * as that user can reopen it after a rotation. Returns the fd or -errno. */
int log_open_file(const char *path, uid_t owner);

/* Reopen the file at path (log_open_file) under the existing descriptor fd, with dup3, so
 * threads writing through fd never see it closed. Returns 0 or -errno (fd unchanged). */
int log_reopen_fd(int fd, const char *path, uid_t owner);

/* The user that log files created from now on belong to (-1: the daemon's own). */
void log_set_owner(uid_t owner);
uid_t log_owner_uid(void);

/* Reopen the log file (after logrotate moved it away); a no-op for stderr and syslog.
 * Returns 0 or -errno (the old file stays in use). */
int log_reopen(void);

/* In a worker: make signal sig ask for a reopen, which the next line logged carries out
 * (see log_reopen_generation for other files). Returns 0 or -errno. */
int log_reopen_on_signal(int sig);

/* How many reopen signals this process received: a file kept elsewhere (the access log)
 * reopens when this changed since it last looked. */
unsigned log_reopen_generation(void);

/* Name the process in every line from now on, e.g. "worker 3"; NULL for the master. */
void log_set_role(const char *role);

/* Close the log target (the master at exit). */
void log_close(void);

/* Write one line at level; thread-safe. */
void log_msg(enum cfg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(CFG_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(CFG_LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(CFG_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(CFG_LOG_DEBUG, __VA_ARGS__)

/* Log an error and exit(1). Only during start-up: afterwards failures are replies and counters. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
