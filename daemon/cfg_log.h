/* cfg_log.h: the log settings a config names (where lines go, from which severity), shared by
 * the config (cfg.h) and the logger (log.h), so that logging does not depend on the config. */
#ifndef CFG_LOG_H
#define CFG_LOG_H

/* Where log lines go. */
enum cfg_log_target {
    CFG_LOG_STDERR,
    CFG_LOG_SYSLOG,
    CFG_LOG_FILE,
};

/* Log severities, most severe first (syslog's order). */
enum cfg_log_level {
    CFG_LOG_ERROR,
    CFG_LOG_WARNING,
    CFG_LOG_INFO,
    CFG_LOG_DEBUG,
};

/* Name of a log level ("error", ...), as the config file and the log lines write it. */
const char *cfg_log_level_name(enum cfg_log_level l);

#endif
