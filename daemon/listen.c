/* listen.c: binds the FastCGI sockets of the [listen] sections (Unix or TCP) in the master. */
#include "config.h"

#include "listen.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct listen_sock {
    int fd;
    char *path; /* a Unix socket's file, or NULL */
    dev_t dev;  /* the socket file bind made, to know it again on a reload */
    ino_t ino;
    char *host; /* a TCP socket's address, or NULL */
    uint16_t port;
};

struct listen_socks {
    size_t n;
    struct listen_sock *s;
    int *fds;
};

/* The socket of prev listening where l asks, or NULL. */
static const struct listen_sock *find_same(const struct listen_socks *prev,
                                           const struct cfg_listen *l)
{
    for (size_t i = 0; prev != NULL && i < prev->n; i++) {
        const struct listen_sock *s = &prev->s[i];
        if (l->socket_path != NULL && s->path != NULL && strcmp(s->path, l->socket_path) == 0)
            return s;
        if (l->tcp_host != NULL && s->host != NULL && s->port == l->tcp_port &&
            strcmp(s->host, l->tcp_host) == 0)
            return s;
    }
    return NULL;
}

/* A Unix socket at l's path; a stale file is replaced, a live socket is an error. The file
 * bind makes is s's (s->dev, s->ino).
 *
 * The file is made with its mode: bind gives a socket file 0777 less the umask, so the umask
 * is set to what socket_mode leaves out around it, and no client can connect before the mode
 * is right. Nothing is done through the path after bind: another user who can write to the
 * directory could have put a symbolic link there, and a chmod by path would follow it. (The
 * master is one thread here but for the HTTP endpoint's, which makes no files; master.c binds
 * the daemon's own socket the same way.) */
static int bind_unix(const struct cfg_listen *l, struct listen_sock *s, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    mode_t old_umask;
    int fd, e;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->socket_path);
    if (lstat(l->socket_path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "[listen %s] socket %s: exists and is not a socket", l->name,
                     l->socket_path);
            return -1;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            snprintf(err, errlen, "[listen %s] socket %s: another process is listening on it",
                     l->name, l->socket_path);
            return -1;
        }
        if (probe >= 0)
            close(probe);
        unlink(l->socket_path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "[listen %s] socket %s: %s", l->name, l->socket_path,
                 strerror(errno));
        return -1;
    }
    old_umask = umask(~l->socket_mode & 0777);
    e = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    if (e < 0 || lstat(l->socket_path, &st) < 0 || listen(fd, SOMAXCONN) < 0) {
        snprintf(err, errlen, "[listen %s] socket %s: %s", l->name, l->socket_path,
                 strerror(errno));
        close(fd);
        if (e == 0)
            unlink(l->socket_path);
        return -1;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return fd;
}

/* Reload with the same socket: give the socket file kept (same, made by bind_unix) l's mode,
 * and nothing else: the path is opened without following a link and must still be that file.
 * A failure is logged, not a reason to refuse the reload (the socket goes on serving). */
static void perms_again(const struct cfg_listen *l, const struct listen_sock *same)
{
    int fd = open(l->socket_path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    char proc[64];
    struct stat st;

    if (fd < 0) {
        log_warn("[listen %s] socket %s: %s; its mode was not changed", l->name, l->socket_path,
                 strerror(errno));
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_dev != same->dev ||
        st.st_ino != same->ino) {
        log_warn("[listen %s] socket %s: no longer the socket this daemon made (replaced by "
                 "another file or a symbolic link): its mode was not changed",
                 l->name, l->socket_path);
        close(fd);
        return;
    }
    /* chmod has no form that takes an O_PATH descriptor; its /proc link names the very inode
     * opened above. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (chmod(proc, l->socket_mode) < 0)
        log_warn("[listen %s] socket %s: cannot change its mode: %s", l->name, l->socket_path,
                 strerror(errno));
    close(fd);
}

static int bind_tcp(const struct cfg_listen *l, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    memset(&ss, 0, sizeof(ss));
    if (strchr(l->tcp_host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(l->tcp_port);
        inet_pton(AF_INET6, l->tcp_host, &a->sin6_addr);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(l->tcp_port);
        inet_pton(AF_INET, l->tcp_host, &a->sin_addr);
        len = sizeof(*a);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* SO_REUSEADDR: a restarted daemon binds at once, whatever connections of the last one
     * linger in TIME_WAIT. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
        snprintf(err, errlen, "[listen %s] tcp %s%s%s:%u: %s", l->name,
                 ss.ss_family == AF_INET6 ? "[" : "", l->tcp_host,
                 ss.ss_family == AF_INET6 ? "]" : "", l->tcp_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

struct listen_socks *listen_socks_open(const struct config *cfg, const struct listen_socks *prev,
                                       char *err, size_t errlen)
{
    struct listen_socks *set = calloc(1, sizeof(*set));

    if (set == NULL || (set->s = calloc(cfg->nlistens + 1, sizeof(*set->s))) == NULL ||
        (set->fds = calloc(cfg->nlistens + 1, sizeof(*set->fds))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cfg->nlistens; i++) {
        const struct cfg_listen *l = &cfg->listens[i];
        const struct listen_sock *same = find_same(prev, l);
        struct listen_sock *s = &set->s[i];

        s->fd = -1;
        set->n = i + 1;
        if (same != NULL) {
            s->fd = fcntl(same->fd, F_DUPFD_CLOEXEC, 0);
            if (s->fd < 0) {
                snprintf(err, errlen, "[listen %s]: %s", l->name, strerror(errno));
                goto fail;
            }
            /* A changed socket_mode applies to the socket kept. */
            s->dev = same->dev;
            s->ino = same->ino;
            if (l->socket_path != NULL)
                perms_again(l, same);
        } else {
            s->fd =
                l->socket_path != NULL ? bind_unix(l, s, err, errlen) : bind_tcp(l, err, errlen);
            if (s->fd < 0)
                goto fail;
        }
        s->path = l->socket_path != NULL ? strdup(l->socket_path) : NULL;
        s->host = l->tcp_host != NULL ? strdup(l->tcp_host) : NULL;
        s->port = l->tcp_port;
        set->fds[i] = s->fd;
        if ((l->socket_path != NULL && s->path == NULL) ||
            (l->tcp_host != NULL && s->host == NULL)) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return set;
fail:
    listen_socks_close(set, prev);
    return NULL;
}

const int *listen_socks_fds(const struct listen_socks *s, size_t *n)
{
    *n = s != NULL ? s->n : 0;
    return s != NULL ? s->fds : NULL;
}

void listen_socks_close(struct listen_socks *s, const struct listen_socks *keep)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct listen_sock *ls = &s->s[i];
        bool kept = false;

        for (size_t k = 0; ls->path != NULL && keep != NULL && k < keep->n; k++)
            kept = kept || (keep->s[k].path != NULL && strcmp(keep->s[k].path, ls->path) == 0);
        if (ls->fd >= 0)
            close(ls->fd);
        if (ls->path != NULL && !kept)
            unlink(ls->path);
        free(ls->path);
        free(ls->host);
    }
    free(s->s);
    free(s->fds);
    free(s);
}
