/* master.c: the master process: binds the socket, pre-forks workers in generations, restarts
 * the ones that die, reloads on SIGHUP, stops on SIGTERM/SIGINT, talks to systemd. */
#include "config.h"

#include "master.h"

#include "cfg.h"
#include "accesslog.h"
#include "listen.h"
#include "http.h"
#include "log.h"
#include "modset.h"
#include "privs.h"
#include "proctitle.h"
#include "stats.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Crash-loop brake: when a worker slot has died BRAKE_DEATHS times within BRAKE_WINDOW_MS,
 * its next start waits, doubling from BRAKE_MIN_MS up to BRAKE_MAX_MS. */
#define BRAKE_DEATHS    5
#define BRAKE_WINDOW_MS 10000
#define BRAKE_MIN_MS    500
#define BRAKE_MAX_MS    30000
/* Workers still alive this long after their grace period are killed. */
#define KILL_SLACK_MS 2000

struct wslot {
    pid_t pid;                     /* 0 when not running */
    uint64_t started_ms;           /* when the current process was forked */
    uint64_t deaths[BRAKE_DEATHS]; /* ring of recent death times */
    unsigned ndeaths;
    uint64_t restart_at; /* 0: no restart pending */
    uint64_t backoff_ms;
};

/* A set of workers forked from one config. Reload makes a new one and retires the old. */
struct generation {
    unsigned id;
    struct config *cfg;
    struct modset *mods;
    struct stats_shm *shm;
    int listen_fd; /* the socket its workers accept on (owned by the master's listener) */
    struct wslot *w;
    unsigned nw;
    unsigned alive;
    bool retiring;
    uint64_t kill_at; /* retiring: SIGKILL the stragglers then */
    struct generation *next;
};

struct master {
    pid_t pid;
    int sigfd;
    int listen_fd;
    char *listen_path;
    struct listen_socks *fcgi; /* the [listen] sections' FastCGI sockets (listen.c) */
    dev_t listen_dev; /* the socket file the daemon made at listen_path, to recognise it */
    ino_t listen_ino;
    struct generation *cur;
    struct generation *old; /* retiring generations */
    struct stats_global *global;
    unsigned next_gen;
    bool foreground;
    const char *socket_override; /* -s: replaces every config's socket path */
    bool stopping;
    uint64_t stop_kill_at;
    int ready_fd; /* daemon mode: tell the waiting parent we are up, then close */
    /* [daemon] http_listen: its thread reads cur under cur_mu, which the main thread holds
     * while it changes cur. */
    struct http *http;
    pthread_mutex_t cur_mu;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* systemd's readiness protocol: one datagram to $NOTIFY_SOCKET; no libsystemd needed. */
static void sd_notify_msg(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n;
    socklen_t salen;
    int fd;

    if (path == NULL || (path[0] != '/' && path[0] != '@'))
        return;
    n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
        log_warn("sd_notify: %s", strerror(errno));
    close(fd);
}

/* Give the socket file name (in directory dirfd, which only the master can enter) cfg's mode,
 * owner and group. */
static int socket_perms_at(int dirfd, const char *name, const struct config *cfg)
{
    if (fchmodat(dirfd, name, cfg->socket_mode, 0) < 0)
        return -1;
    if ((cfg->socket_owner_set || cfg->socket_group_set) &&
        fchownat(dirfd, name, cfg->socket_owner_set ? cfg->socket_uid : (uid_t)-1,
                 cfg->socket_group_set ? cfg->socket_gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    return 0;
}

/* Bind and listen on cfg's socket. A stale socket file is replaced; a live one (another
 * daemon answers on it) is an error. Returns the fd or -1 with err filled; *dev and *ino
 * identify the socket file made.
 *
 * The socket is made in a private directory (mode 0700, next to the final path), given its
 * mode, owner and group there, and only then renamed into place: no client can connect
 * before the mode is right, whatever the umask, and nothing is done through a path another
 * user could have replaced with a symbolic link (rename replaces a link, never follows it). */
static int bind_socket(const struct config *cfg, dev_t *dev, ino_t *ino, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[4096], priv[4096];
    struct stat st;
    int fd = -1, dirfd = -1, cwd = -1, e;
    mode_t old_umask;
    bool moved = false;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->socket_path);
    if (lstat(cfg->socket_path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "socket %s: exists and is not a socket", cfg->socket_path);
            return -1;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            snprintf(err, errlen, "socket %s: another daemon is listening on it", cfg->socket_path);
            return -1;
        }
        if (probe >= 0)
            close(probe);
    }
    if (privs_make_socket_dir(cfg->socket_path, err, errlen) < 0)
        return -1;
    snprintf(dir, sizeof(dir), "%s", cfg->socket_path);
    snprintf(priv, sizeof(priv), "%s/.wasmslotd-XXXXXX", dirname(dir));
    if (mkdtemp(priv) == NULL) {
        snprintf(err, errlen, "socket %s: cannot make a private directory next to it: %s",
                 cfg->socket_path, strerror(errno));
        return -1;
    }
    dirfd = open(priv, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (dirfd < 0 || cwd < 0 || fd < 0)
        goto fail;
    /* bind() takes a path of at most 107 bytes: bound by a short name relative to the
     * private directory, the socket's final path may use all of them. The master is one
     * thread here, so changing its directory and umask for a moment is safe. */
    if (fchdir(dirfd) < 0)
        goto fail;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "s");
    old_umask = umask(0077);
    e = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    if (fchdir(cwd) < 0)
        goto fail;
    if (e < 0 || socket_perms_at(dirfd, "s", cfg) < 0 || fstatat(dirfd, "s", &st, 0) < 0 ||
        listen(fd, SOMAXCONN) < 0)
        goto fail;
    if (renameat(dirfd, "s", AT_FDCWD, cfg->socket_path) < 0)
        goto fail;
    moved = true;
    rmdir(priv);
    close(dirfd);
    close(cwd);
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
fail:
    snprintf(err, errlen, "socket %s: %s", cfg->socket_path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0) {
        if (!moved)
            unlinkat(dirfd, "s", 0);
        close(dirfd);
    }
    rmdir(priv);
    if (cwd >= 0)
        close(cwd);
    return -1;
}

/* Reload with the same socket: apply the new mode, owner and group to the socket the daemon
 * made, and to nothing else -- the path is opened without following a link, and must still
 * be that socket file. Returns 0 or -1 with err filled. */
static int socket_perms_again(const struct master *m, const struct config *cfg, char *err,
                              size_t errlen)
{
    int fd = open(m->listen_path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    char proc[64];
    struct stat st;

    if (fd < 0) {
        snprintf(err, errlen, "socket %s: %s", m->listen_path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_dev != m->listen_dev ||
        st.st_ino != m->listen_ino) {
        snprintf(err, errlen,
                 "socket %s: no longer the socket this daemon made (replaced by another file or "
                 "a symbolic link): its mode and owner were not changed",
                 m->listen_path);
        close(fd);
        return -1;
    }
    /* chmod has no form that takes an O_PATH descriptor; its /proc link names the very inode
     * opened above. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (chmod(proc, cfg->socket_mode) < 0 ||
        ((cfg->socket_owner_set || cfg->socket_group_set) &&
         fchownat(fd, "", cfg->socket_owner_set ? cfg->socket_uid : (uid_t)-1,
                  cfg->socket_group_set ? cfg->socket_gid : (gid_t)-1, AT_EMPTY_PATH) < 0)) {
        snprintf(err, errlen, "socket %s: %s", m->listen_path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Write the pid file through a temporary file made with O_EXCL (never an existing file or a
 * symbolic link), renamed over the path (which replaces a link there, never follows it). */
static int write_pid_file(const char *path)
{
    char tmp[4096], buf[32];
    int fd, n;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* left by a crash, or planted */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    /* 0644 whatever the umask. */
    if (fchmod(fd, 0644) < 0)
        goto fail;
    n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (write(fd, buf, (size_t)n) != n)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    return 0;
fail : {
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -e;
}
}

static void free_generation(struct generation *g)
{
    if (g == NULL)
        return;
    modset_free(g->mods);
    cfg_free(g->cfg);
    stats_shm_free(g->shm);
    free(g->w);
    free(g);
}

/* A generation for cfg and mods (taken over: freed with it). NULL when out of memory. */
static struct generation *new_generation(struct master *m, struct config *cfg, struct modset *mods)
{
    struct generation *g = calloc(1, sizeof(*g));
    const char **names = NULL;

    if (g == NULL)
        goto fail;
    g->cfg = cfg;
    g->mods = mods;
    g->id = ++m->next_gen;
    g->nw = cfg->workers;
    g->w = calloc(g->nw, sizeof(*g->w));
    names = calloc(mods->n ? mods->n : 1, sizeof(*names));
    if (g->w == NULL || names == NULL)
        goto fail;
    for (size_t i = 0; i < mods->n; i++)
        names[i] = mods->e[i].cfg->name;
    g->shm = stats_shm_new(m->global, g->nw, names, mods->n);
    if (g->shm == NULL)
        goto fail;
    free(names);
    g->listen_fd = m->listen_fd;
    return g;
fail:
    free(names);
    if (g != NULL) {
        free(g->w);
        free(g);
    }
    modset_free(mods);
    cfg_free(cfg);
    return NULL;
}

static void fork_worker(struct master *m, struct generation *g, unsigned i)
{
    struct wslot *ws = &g->w[i];
    pid_t pid;

    ws->restart_at = 0;
    stats_shm_worker_reset(g->shm, i, 0);
    pid = fork();
    if (pid < 0) {
        log_error("generation %u: cannot fork worker %u: %s; retrying in 1s", g->id, i,
                  strerror(errno));
        ws->restart_at = now_ms() + 1000;
        return;
    }
    if (pid == 0) {
        struct worker_args a = {
            .cfg = g->cfg,
            .mods = g->mods,
            .listen_fd = g->listen_fd,
            .shm = g->shm,
            .global = m->global,
            .index = i,
            .generation = g->id,
        };
        sigset_t all;
        char role[48];

        /* Only the newest generation forks: m->fcgi matches its config. */
        a.fcgi_fds = listen_socks_fds(m->fcgi, &a.nfcgi);
        close(m->sigfd);
        http_child_close(m->http);
        if (m->ready_fd >= 0)
            close(m->ready_fd);
        snprintf(role, sizeof(role), "worker %u.%u", g->id, i);
        log_set_role(role);
        proctitle_set("wasmslotd: worker %u (generation %u)", i, g->id);
        /* SIGUSR1 (blocked until here) reopens the log files: the next line does it. */
        log_reopen_on_signal(SIGUSR1);
        accesslog_init(g->cfg);
        /* Guest code never runs with the master's privileges. */
        if (privs_drop(g->cfg, role, sizeof(role)) < 0) {
            log_error("%s", role);
            _exit(PRIVS_EXIT);
        }
        int mdwe = privs_deny_exec_gain();
        if (mdwe < 0)
            log_debug("no memory-deny-write-execute for this worker: %s", strerror(-mdwe));
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        /* A worker must not outlive its master (after the drop, which clears this). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != m->pid)
            _exit(0);
        _exit(worker_main(&a));
    }
    ws->pid = pid;
    ws->started_ms = now_ms();
    atomic_store(&stats_shm_worker(g->shm, i)->pid, pid);
    g->alive++;
    log_debug("generation %u: worker %u started (pid %d)", g->id, i, (int)pid);
}

static void start_generation(struct master *m, struct generation *g)
{
    for (unsigned i = 0; i < g->nw; i++)
        fork_worker(m, g, i);
    atomic_store(&m->global->generation, g->id);
}

static void signal_generation(struct generation *g, int sig)
{
    for (unsigned i = 0; i < g->nw; i++)
        if (g->w[i].pid > 0)
            kill(g->w[i].pid, sig);
}

/* Ask g's workers to finish their connections and exit; killed if still there afterwards. */
static void retire_generation(struct master *m, struct generation *g)
{
    g->retiring = true;
    g->kill_at = now_ms() + g->cfg->grace_period_ms + KILL_SLACK_MS;
    for (unsigned i = 0; i < g->nw; i++)
        g->w[i].restart_at = 0;
    signal_generation(g, SIGTERM);
    if (g->alive == 0) {
        free_generation(g);
        return;
    }
    g->next = m->old;
    m->old = g;
}

/* When should worker slot ws start again after dying now? Applies the crash-loop brake. */
static uint64_t restart_time(struct wslot *ws, uint64_t now)
{
    uint64_t oldest;

    ws->deaths[ws->ndeaths % BRAKE_DEATHS] = now;
    ws->ndeaths++;
    if (now - ws->started_ms > BRAKE_WINDOW_MS)
        ws->backoff_ms = 0;
    if (ws->ndeaths < BRAKE_DEATHS)
        return now;
    oldest = ws->deaths[ws->ndeaths % BRAKE_DEATHS];
    if (now - oldest > BRAKE_WINDOW_MS)
        return now;
    ws->backoff_ms = ws->backoff_ms ? ws->backoff_ms * 2 : BRAKE_MIN_MS;
    if (ws->backoff_ms > BRAKE_MAX_MS)
        ws->backoff_ms = BRAKE_MAX_MS;
    return now + ws->backoff_ms;
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "ended (status 0x%x)", status);
}

/* Find the generation and slot of a child pid. */
static struct generation *find_pid(struct master *m, pid_t pid, unsigned *idx,
                                   struct generation ***link)
{
    struct generation **pp;

    if (m->cur != NULL) {
        for (unsigned i = 0; i < m->cur->nw; i++) {
            if (m->cur->w[i].pid == pid) {
                *idx = i;
                *link = NULL;
                return m->cur;
            }
        }
    }
    for (pp = &m->old; *pp != NULL; pp = &(*pp)->next) {
        for (unsigned i = 0; i < (*pp)->nw; i++) {
            if ((*pp)->w[i].pid == pid) {
                *idx = i;
                *link = pp;
                return *pp;
            }
        }
    }
    return NULL;
}

static void reap(struct master *m)
{
    pid_t pid;
    int status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct generation **link;
        struct generation *g;
        unsigned i;
        char how[96];

        g = find_pid(m, pid, &i, &link);
        if (g == NULL)
            continue;
        g->w[i].pid = 0;
        g->alive--;
        describe_status(status, how, sizeof(how));
        if (g->retiring || m->stopping) {
            log_debug("generation %u: worker %u (pid %d) %s", g->id, i, (int)pid, how);
            if (g->alive == 0 && link != NULL) {
                *link = g->next;
                log_info("generation %u: all workers gone", g->id);
                free_generation(g);
            }
            continue;
        }
        /* A worker of the serving generation died: the others keep serving; restart it. */
        g->w[i].restart_at = restart_time(&g->w[i], now_ms());
        atomic_fetch_add(&m->global->worker_restarts, 1);
        if (g->w[i].restart_at > now_ms())
            log_error("worker %u (pid %d) %s; it keeps dying, restarting in %llu ms", i, (int)pid,
                      how, (unsigned long long)g->w[i].backoff_ms);
        else
            log_error("worker %u (pid %d) %s; restarting it", i, (int)pid, how);
    }
}

/* Apply -s to a freshly loaded config. Returns 0 or -1 (out of memory). */
static int override_socket(struct config *cfg, const char *path)
{
    char *s;

    if (path == NULL)
        return 0;
    s = strdup(path);
    if (s == NULL)
        return -1;
    free(cfg->socket_path);
    cfg->socket_path = s;
    return 0;
}

/* Say what a reload does to each shared memory: kept (same bytes), made anew, or left to the
 * old generation, which releases it when its last worker exits. */
static void log_shm_reload(const struct modset *old, const struct modset *cur)
{
    for (size_t i = 0; i < cur->nshm; i++)
        log_info("shmem '%s': %s", cur->shm[i].cfg->name,
                 cur->shm[i].kept ? "kept across the reload (same bytes)"
                                  : "new (empty) for this generation");
    for (size_t i = 0; i < old->nshm; i++) {
        int j = shm_find(cur, old->shm[i].cfg->name);
        if (j < 0 || !cur->shm[j].kept)
            log_info("shmem '%s' of the old generation is released when its last worker exits",
                     old->shm[i].cfg->name);
    }
}

/* Point the error log where cfg says (stderr in the foreground) and open its access log;
 * at start-up a failure is fatal, on reload the old files stay in use. */
static int open_logs(struct master *m, const struct config *cfg, char *err, size_t errlen)
{
    int rc;

    if (m->foreground)
        rc = log_open(CFG_LOG_STDERR, NULL, cfg->log_level);
    else
        rc = log_open(cfg->log_target, cfg->log_file, cfg->log_level);
    if (rc < 0) {
        snprintf(err, errlen, "log file %s: %s", cfg->log_file, strerror(-rc));
        return -1;
    }
    rc = accesslog_open(cfg->access_log, log_owner_uid());
    if (rc < 0) {
        snprintf(err, errlen, "access_log %s: %s", cfg->access_log, strerror(-rc));
        return -1;
    }
    return 0;
}

/* How the master got each module's code (compiled, from the cache, kept across a reload). */
static void log_modules(const struct modset *mods)
{
    for (size_t i = 0; i < mods->n; i++) {
        char what[512];
        modcode_describe(mods->e[i].code, mods->e[i].origin, what, sizeof(what));
        log_info("module '%s': %s", mods->e[i].cfg->name, what);
    }
}

/* SIGUSR1: reopen the log files (after logrotate moved them), in the master and, by passing
 * the signal on, in every worker. Nothing else: no reload, no statistics reset. */
static void reopen_logs(struct master *m)
{
    int rc = log_reopen();

    if (rc == 0)
        rc = accesslog_reopen();
    if (rc < 0)
        log_error("SIGUSR1: cannot reopen the log files: %s (the old ones stay in use)",
                  strerror(-rc));
    else
        log_info("SIGUSR1: log files reopened");
    signal_generation(m->cur, SIGUSR1);
    for (struct generation *g = m->old; g != NULL; g = g->next)
        signal_generation(g, SIGUSR1);
}

static void reload(struct master *m)
{
    char err[1024];
    struct config *cfg;
    struct modset *mods;
    struct generation *g;
    struct listen_socks *fcgi;
    int newfd = -1;
    dev_t new_dev = 0;
    ino_t new_ino = 0;
    bool new_path;

    sd_notify_msg("RELOADING=1");
    log_info("SIGHUP: reloading %s", m->cur->cfg->file);
    cfg = cfg_load(m->cur->cfg->file, err, sizeof(err));
    if (cfg == NULL) {
        log_error("reload rejected, still serving the old config: %s", err);
        atomic_fetch_add(&m->global->reloads_failed, 1);
        goto done;
    }
    if (override_socket(cfg, m->socket_override) < 0) {
        log_error("reload failed: out of memory");
        cfg_free(cfg);
        goto done;
    }
    /* Shared memories whose [shmem] section did not change are kept, bytes and all. */
    mods = modset_load_reusing(cfg, m->cur->mods, err, sizeof(err));
    if (mods == NULL) {
        log_error("reload rejected, still serving the old config: %s", err);
        atomic_fetch_add(&m->global->reloads_failed, 1);
        cfg_free(cfg);
        goto done;
    }
    log_modules(mods);
    if (privs_check(cfg, err, sizeof(err)) < 0) {
        log_error("reload rejected, still serving the old config: %s", err);
        atomic_fetch_add(&m->global->reloads_failed, 1);
        modset_free(mods);
        cfg_free(cfg);
        goto done;
    }
    /* FastCGI sockets whose address did not change stay open (listen.c). */
    fcgi = listen_socks_open(cfg, m->fcgi, err, sizeof(err));
    if (fcgi == NULL) {
        log_error("reload rejected, still serving the old config: %s", err);
        atomic_fetch_add(&m->global->reloads_failed, 1);
        modset_free(mods);
        cfg_free(cfg);
        goto done;
    }
    new_path = strcmp(cfg->socket_path, m->listen_path) != 0;
    if (new_path) {
        newfd = bind_socket(cfg, &new_dev, &new_ino, err, sizeof(err));
        if (newfd < 0) {
            log_error("reload rejected, still serving the old config: %s", err);
            atomic_fetch_add(&m->global->reloads_failed, 1);
            listen_socks_close(fcgi, m->fcgi);
            modset_free(mods);
            cfg_free(cfg);
            goto done;
        }
    } else if (socket_perms_again(m, cfg, err, sizeof(err)) < 0) {
        /* Same socket: it stays open, so no client ever sees a refused connection. */
        log_error("reload rejected, still serving the old config: %s", err);
        atomic_fetch_add(&m->global->reloads_failed, 1);
        listen_socks_close(fcgi, m->fcgi);
        modset_free(mods);
        cfg_free(cfg);
        goto done;
    }
    log_set_owner(privs_log_owner(cfg));
    if (open_logs(m, cfg, err, sizeof(err)) < 0)
        log_warn("%s (the old log files stay in use)", err);
    if (new_path) {
        char *path = strdup(cfg->socket_path);
        if (path == NULL) {
            log_error("reload rejected: out of memory");
            close(newfd);
            unlink(cfg->socket_path);
            listen_socks_close(fcgi, m->fcgi);
            modset_free(mods);
            cfg_free(cfg);
            goto done;
        }
        /* The old workers keep their own copy of the old socket until they retire. */
        unlink(m->listen_path);
        close(m->listen_fd);
        free(m->listen_path);
        m->listen_fd = newfd;
        m->listen_path = path;
        m->listen_dev = new_dev;
        m->listen_ino = new_ino;
    }
    /* The old workers keep their own copies of the sockets that go until they retire. */
    listen_socks_close(m->fcgi, fcgi);
    m->fcgi = fcgi;
    g = new_generation(m, cfg, mods);
    if (g == NULL) {
        log_error("reload failed: out of memory");
        goto done;
    }
    log_shm_reload(m->cur->mods, g->mods);
    if ((cfg->http_listen == NULL) != (m->cur->cfg->http_listen == NULL) ||
        (cfg->http_listen != NULL && strcmp(cfg->http_listen, m->cur->cfg->http_listen) != 0))
        log_warn("http_listen: a new value takes effect when the daemon restarts");
    start_generation(m, g);
    pthread_mutex_lock(&m->cur_mu);
    retire_generation(m, m->cur);
    m->cur = g;
    pthread_mutex_unlock(&m->cur_mu);
    atomic_fetch_add(&m->global->reloads, 1);
    log_info("reloaded: generation %u serves %zu module(s) with %u worker(s) on %s", g->id,
             g->mods->n, g->nw, m->listen_path);
done:
    sd_notify_msg("READY=1");
}

static void begin_stop(struct master *m, int sig)
{
    uint64_t grace = m->cur->cfg->grace_period_ms;

    if (m->stopping) {
        /* A second signal: do not wait for the grace period. */
        log_info("%s again: killing the workers", strsignal(sig));
        m->stop_kill_at = now_ms();
        return;
    }
    log_info("%s: stopping", strsignal(sig));
    sd_notify_msg("STOPPING=1");
    m->stopping = true;
    m->stop_kill_at = now_ms() + grace + KILL_SLACK_MS;
    /* FastCGI front ends learn at once that this daemon takes nothing new (the workers close
     * their copies too): a refused connection sends nginx to the next server of its upstream,
     * while one left in the backlog would be reset with its request in it. */
    listen_socks_close(m->fcgi, NULL);
    m->fcgi = NULL;
    signal_generation(m->cur, SIGTERM);
    for (struct generation *g = m->old; g != NULL; g = g->next)
        signal_generation(g, SIGTERM);
}

static unsigned alive_total(struct master *m)
{
    unsigned n = m->cur->alive;
    for (struct generation *g = m->old; g != NULL; g = g->next)
        n += g->alive;
    return n;
}

/* Run due timers; returns the poll timeout until the next one (-1: none). */
static int timers(struct master *m)
{
    uint64_t now = now_ms(), next = UINT64_MAX;

    if (!m->stopping) {
        for (unsigned i = 0; i < m->cur->nw; i++) {
            struct wslot *ws = &m->cur->w[i];
            if (ws->pid != 0 || ws->restart_at == 0)
                continue;
            if (ws->restart_at <= now)
                fork_worker(m, m->cur, i);
            if (ws->restart_at != 0 && ws->restart_at < next)
                next = ws->restart_at;
        }
    } else {
        if (now >= m->stop_kill_at) {
            signal_generation(m->cur, SIGKILL);
            for (struct generation *g = m->old; g != NULL; g = g->next)
                signal_generation(g, SIGKILL);
            m->stop_kill_at = now + 1000;
        }
        next = m->stop_kill_at;
    }
    for (struct generation *g = m->old; g != NULL; g = g->next) {
        if (now >= g->kill_at) {
            log_warn("generation %u: workers still busy after the grace period, killing them",
                     g->id);
            signal_generation(g, SIGKILL);
            g->kill_at = now + 1000;
        }
        if (g->kill_at < next)
            next = g->kill_at;
    }
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void tell_parent(struct master *m, char status)
{
    if (m->ready_fd < 0)
        return;
    if (write(m->ready_fd, &status, 1) < 0) {
        /* The parent is gone; nothing to tell. */
    }
    close(m->ready_fd);
    m->ready_fd = -1;
}

/* Detach from the terminal. The parent waits until the daemon is ready (or failed), so
 * `wasmslotd -c FILE` returns only once the socket answers, with a meaningful status. */
static void daemonize(struct master *m, bool keep_stderr)
{
    int pfd[2], devnull;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0)
        fatal("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        fatal("fork: %s", strerror(errno));
    if (pid > 0) {
        char st = 1;
        close(pfd[1]);
        while (read(pfd[0], &st, 1) < 0 && errno == EINTR)
            ;
        _exit(st);
    }
    close(pfd[0]);
    m->ready_fd = pfd[1];
    setsid();
    if (chdir("/") < 0)
        fatal("chdir /: %s", strerror(errno));
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        /* `log = stderr` without -f: the lines go on to the stderr the daemon was started
         * with, rather than vanish. */
        if (!keep_stderr)
            dup2(devnull, 2);
        if (devnull > 2)
            close(devnull);
    }
}

int master_check_config(const char *path, const char *socket, bool dump)
{
    char err[1024];
    struct config *cfg = cfg_load(path, err, sizeof(err));
    struct modset *mods;

    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    mods = modset_load(cfg, err, sizeof(err));
    if (mods == NULL) {
        fprintf(stderr, "%s\n", err);
        cfg_free(cfg);
        return 1;
    }
    if (override_socket(cfg, socket) < 0) {
        fprintf(stderr, "%s: out of memory\n", path);
        modset_free(mods);
        cfg_free(cfg);
        return 1;
    }
    if (privs_ignored(cfg, err, sizeof(err)))
        fprintf(stderr, "%s: warning: %s\n", path, err);
    /* What the start would need besides a good file: -t passing means the start does not
     * fail on these. */
    if (privs_check(cfg, err, sizeof(err)) < 0 || privs_check_paths(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        modset_free(mods);
        cfg_free(cfg);
        return 1;
    }
    if (dump) {
        printf("# %s: effective configuration, defaults filled in\n", path);
        cfg_dump(cfg, stdout);
    } else {
        printf("%s: ok (%zu module(s), %u worker(s), socket %s)\n", path, mods->n, cfg->workers,
               cfg->socket_path);
    }
    for (size_t i = 0; i < mods->n && !dump; i++) {
        char what[512];
        modcode_describe(mods->e[i].code, mods->e[i].origin, what, sizeof(what));
        printf("module '%s': %s\n", mods->e[i].cfg->name, what);
    }
    for (size_t i = 0; i < mods->n; i++)
        for (size_t k = 0; k < mods->e[i].nstubs; k++)
            /* After -T, as comments: the output stays a config file. */
            printf("%smodule '%s': import %s is not provided: calling it traps unlinked_import "
                   "(unknown_imports = trap)\n",
                   dump ? "# " : "", mods->e[i].cfg->name, mods->e[i].stubs[k].name);
    modset_free(mods);
    cfg_free(cfg);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* The HTTP thread's samples: the same as a worker's stats reply, read from the master's own
 * mappings of the ledger and of the serving generation's region. */
static void collect_stats(void *arg, struct proto_stats *st)
{
    struct master *m = arg;

    pthread_mutex_lock(&m->cur_mu);
    stats_collect(st, m->global, m->cur->shm);
    shm_stats_add(m->cur->mods, st);
    modset_stats_add(m->cur->mods, st);
    pthread_mutex_unlock(&m->cur_mu);
}

int master_run(const char *path, bool foreground, const char *socket)
{
    struct master m = {.sigfd = -1,
                       .listen_fd = -1,
                       .ready_fd = -1,
                       .foreground = foreground,
                       .socket_override = socket,
                       .cur_mu = PTHREAD_MUTEX_INITIALIZER};
    char err[1024];
    struct config *cfg;
    struct modset *mods;
    sigset_t set;
    bool detach;

    cfg = cfg_load(path, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "wasmslotd: %s\n", err);
        return 1;
    }
    if (override_socket(cfg, socket) < 0) {
        fprintf(stderr, "wasmslotd: out of memory\n");
        cfg_free(cfg);
        return 1;
    }
    detach = !foreground && getenv("NOTIFY_SOCKET") == NULL;
    if (privs_check(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "wasmslotd: %s: %s\n", path, err);
        cfg_free(cfg);
        return 1;
    }
    log_set_owner(privs_log_owner(cfg));
    if (open_logs(&m, cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "wasmslotd: %s\n", err);
        cfg_free(cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    proctitle_set("wasmslotd: master process -c %s", path);
    if (privs_ignored(cfg, err, sizeof(err)))
        log_warn("%s", err);

    /* Until the daemon detaches, start-up errors also go to the terminal. */
    mods = modset_load(cfg, err, sizeof(err));
    if (mods == NULL) {
        if (!foreground)
            fprintf(stderr, "wasmslotd: %s\n", err);
        fatal("%s", err);
    }
    log_modules(mods);
    m.listen_fd = bind_socket(cfg, &m.listen_dev, &m.listen_ino, err, sizeof(err));
    if (m.listen_fd < 0) {
        if (!foreground)
            fprintf(stderr, "wasmslotd: %s\n", err);
        modset_free(mods); /* else LeakSanitizer reports it at the exit (clang builds) */
        fatal("%s", err);
    }
    m.listen_path = strdup(cfg->socket_path);
    if (m.listen_path == NULL)
        fatal("out of memory");
    m.fcgi = listen_socks_open(cfg, NULL, err, sizeof(err));
    if (m.fcgi == NULL) {
        if (!foreground)
            fprintf(stderr, "wasmslotd: %s\n", err);
        close(m.listen_fd);
        unlink(m.listen_path);
        modset_free(mods);
        fatal("%s", err);
    }
    if (detach)
        daemonize(&m, cfg->log_target == CFG_LOG_STDERR);
    m.pid = getpid();
    if (cfg->pid_file != NULL && write_pid_file(cfg->pid_file) < 0)
        fatal("pid file %s: %s", cfg->pid_file, strerror(errno));

    /* Signals are read from a signalfd in the loop, never handled asynchronously. */
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        fatal("sigprocmask: %s", strerror(errno));
    m.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m.sigfd < 0)
        fatal("signalfd: %s", strerror(errno));
    m.global = stats_global_new();
    if (m.global == NULL)
        fatal("stats region: %s", strerror(errno));

    m.cur = new_generation(&m, cfg, mods);
    if (m.cur == NULL)
        fatal("out of memory");
    start_generation(&m, m.cur);
    if (cfg->http_listen != NULL) {
        m.http = http_start(cfg->http_listen, collect_stats, &m, err, sizeof(err));
        if (m.http == NULL)
            fatal("%s", err);
        log_info("serving /metrics, /status and /health on http://%s", cfg->http_listen);
    }
    log_info("wasmslotd %s ready: %zu module(s), %u worker(s) x %u executor thread(s), socket %s",
             PACKAGE_VERSION, m.cur->mods->n, m.cur->nw, cfg->executor_threads, m.listen_path);
    {
        char msg[64];
        snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d", (int)m.pid);
        sd_notify_msg(msg);
    }
    tell_parent(&m, 0);

    for (;;) {
        struct pollfd pfd = {.fd = m.sigfd, .events = POLLIN};
        struct signalfd_siginfo si;
        int timeout = timers(&m);

        if (m.stopping && alive_total(&m) == 0)
            break;
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            continue;
        }
        while (read(m.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            switch (si.ssi_signo) {
            case SIGCHLD:
                reap(&m);
                break;
            case SIGHUP:
                if (!m.stopping)
                    reload(&m);
                break;
            case SIGTERM:
            case SIGINT:
                begin_stop(&m, (int)si.ssi_signo);
                break;
            case SIGUSR1:
                reopen_logs(&m);
                break;
            default:
                break;
            }
        }
        /* A SIGCHLD can merge with one already read; reaping is cheap. */
        reap(&m);
    }

    unlink(m.listen_path);
    close(m.listen_fd);
    listen_socks_close(m.fcgi, NULL);
    if (m.cur->cfg->pid_file != NULL)
        unlink(m.cur->cfg->pid_file);
    log_info("stopped");
    http_stop(m.http);
    while (m.old != NULL) {
        struct generation *g = m.old;
        m.old = g->next;
        free_generation(g);
    }
    free_generation(m.cur);
    free(m.listen_path);
    close(m.sigfd);
    accesslog_close();
    log_close();
    return 0;
}
