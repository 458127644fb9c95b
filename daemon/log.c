/* log.c: writes the daemon's log lines to stderr, syslog or an append-only file. */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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
static char *log_path;              /* CFG_LOG_FILE: the file, for log_reopen() */
static uid_t log_owner = (uid_t)-1; /* who gets the files the daemon creates (the workers' user) */
static volatile sig_atomic_t reopen_signals; /* SIGUSR1s received (a worker's handler counts) */
static sig_atomic_t reopen_seen;             /* ... of which the error log has acted on */
static atomic_flag reopen_busy = ATOMIC_FLAG_INIT;

int log_open_file(const char *path, uid_t owner)
{
    /* Never through a symbolic link: as root, a link planted where the log goes would make
     * the daemon append to (and create) any file. */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);

    if (fd < 0)
        return -errno;
    /* Workers running as `user` reopen the file after a rotation: it must be theirs. */
    if (owner != (uid_t)-1 && geteuid() == 0 && fchown(fd, owner, (gid_t)-1) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int log_reopen_fd(int fd, const char *path, uid_t owner)
{
    int nfd = log_open_file(path, owner);

    if (nfd < 0)
        return nfd;
    /* dup3 swaps the file under the same descriptor number: a thread writing a line at this
     * moment writes to the old file or the new one, never to a descriptor closed under it. */
    if (dup3(nfd, fd, O_CLOEXEC) < 0) {
        int e = errno;
        close(nfd);
        return -e;
    }
    close(nfd);
    return 0;
}

void log_set_owner(uid_t owner)
{
    log_owner = owner;
}

uid_t log_owner_uid(void)
{
    return log_owner;
}

int log_reopen(void)
{
    if (log_target != CFG_LOG_FILE || log_path == NULL || log_fd <= 2)
        return 0;
    return log_reopen_fd(log_fd, log_path, log_owner);
}

static void on_reopen_signal(int sig)
{
    (void)sig;
    reopen_signals++;
}

int log_reopen_on_signal(int sig)
{
    struct sigaction sa = {.sa_handler = on_reopen_signal, .sa_flags = SA_RESTART};

    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

unsigned log_reopen_generation(void)
{
    return (unsigned)reopen_signals;
}

/* In a worker: a reopen was asked for by signal; the next line written does it, on whichever
 * thread writes it (a signal handler may not open files). */
static void reopen_if_requested(void)
{
    sig_atomic_t n = reopen_signals;

    if (n == reopen_seen || atomic_flag_test_and_set(&reopen_busy))
        return;
    reopen_seen = n;
    log_reopen();
    atomic_flag_clear(&reopen_busy);
}

int log_open(enum cfg_log_target target, const char *file, enum cfg_log_level level)
{
    if (target == CFG_LOG_FILE) {
        char *path = strdup(file);
        int fd;
        if (path == NULL)
            return -ENOMEM;
        fd = log_open_file(file, log_owner);
        if (fd < 0) {
            free(path);
            return fd;
        }
        if (log_fd > 2)
            close(log_fd);
        log_fd = fd;
        free(log_path);
        log_path = path;
    } else {
        if (log_fd > 2)
            close(log_fd);
        log_fd = 2;
        free(log_path);
        log_path = NULL;
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
    free(log_path);
    log_path = NULL;
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
    reopen_if_requested();
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
