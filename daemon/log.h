/* log.h: the daemon's log lines (stderr, syslog or a file) and fatal() for start-up errors. */
#ifndef LOG_H
#define LOG_H

#include "cfg.h"

/* Send log lines to target (file is used with CFG_LOG_FILE) at or above level. Safe to call
 * again (reload); returns 0 or -errno when the file cannot be opened (the old target stays). */
int log_open(enum cfg_log_target target, const char *file, enum cfg_log_level level);

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
