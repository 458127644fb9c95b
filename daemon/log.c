/* log.c: writes the daemon's log lines to stderr, syslog or an append-only file. */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum cfg_log_target log_target = CFG_LOG_STDERR;
static enum cfg_log_level log_level = CFG_LOG_INFO;
static int log_fd = 2;
static char log_role[32];

int log_open(enum cfg_log_target target, const char *file, enum cfg_log_level level)
{
    if (target == CFG_LOG_FILE) {
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return -errno;
        if (log_fd > 2)
            close(log_fd);
        log_fd = fd;
    } else {
        if (log_fd > 2)
            close(log_fd);
        log_fd = 2;
    }
    if (target == CFG_LOG_SYSLOG && log_target != CFG_LOG_SYSLOG)
        openlog("wasmslotd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_target = target;
    log_level = level;
    return 0;
}

void log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role != NULL ? role : "");
}

void log_close(void)
{
    if (log_target == CFG_LOG_SYSLOG)
        closelog();
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
    log_target = CFG_LOG_STDERR;
}

/* The format attribute lets the compiler check vsnprintf's use of fmt (clang's
 * -Wformat-nonliteral asks for it; gcc's -Wformat=2 does not). */
__attribute__((format(printf, 2, 0))) static void vlog(enum cfg_log_level level, const char *fmt,
                                                       va_list ap)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char msg[1024], line[1200];
    int n;

    if (level > log_level)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_target == CFG_LOG_SYSLOG) {
        if (log_role[0])
            syslog(prio[level], "%s: %s", log_role, msg);
        else
            syslog(prio[level], "%s", msg);
        return;
    }
    if (log_target == CFG_LOG_FILE) {
        struct timespec ts;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        n = snprintf(line, sizeof(line), "%s.%03ldZ wasmslotd[%d]: %s%s%s: %s\n", when,
                     ts.tv_nsec / 1000000, (int)getpid(), log_role, log_role[0] ? ": " : "",
                     cfg_log_level_name(level), msg);
    } else {
        n = snprintf(line, sizeof(line), "wasmslotd[%d]: %s%s%s: %s\n", (int)getpid(), log_role,
                     log_role[0] ? ": " : "", cfg_log_level_name(level), msg);
    }
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    /* One write per line so lines of several processes never interleave. */
    if (write(log_fd, line, (size_t)n) < 0) {
        /* Nowhere left to report it. */
    }
}

void log_msg(enum cfg_log_level level, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
    errno = saved;
}

void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(CFG_LOG_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}
