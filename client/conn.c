/* conn.c: the client's connection to wasmslotd: connect, send, and read reply lines with a
 * timeout. */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Replies can be large (stats of many pools), so the client accepts longer lines than the
 * daemon does. */
#define CLIENT_MAX_REPLY (64u * 1024u * 1024u)

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for `events` or the absolute deadline (ms, -1: none) passes. */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int left = -1, rc;

        if (deadline >= 0) {
            long long l = deadline - now_ms();

            if (l <= 0)
                return -ETIMEDOUT;
            left = l > 1000000000 ? 1000000000 : (int)l;
        }
        rc = poll(&p, 1, left);
        if (rc > 0)
            return 0;
        if (rc == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static long long deadline_of(const struct client_conn *c)
{
    return c->timeout_ms < 0 ? -1 : now_ms() + c->timeout_ms;
}

int client_connect_failed(const char *socket, int err)
{
    client_say("%s: %s", socket, strerror(-err));
    if (err == -ENOENT || err == -ECONNREFUSED)
        client_say("is wasmslotd running? socket %s", socket);
    return CLIENT_EXIT_CONN;
}

int client_connect(struct client_conn *c, const char *path, int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = -1, rc;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->framer = proto_framer_new(CLIENT_MAX_REPLY);
    if (c->framer == NULL)
        return -ENOMEM;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = 0;
        socklen_t el = sizeof(err);

        /* A Unix socket whose backlog is full answers EAGAIN: wait and try once more. */
        if (errno != EINPROGRESS && errno != EAGAIN) {
            rc = -errno;
            goto fail;
        }
        if (errno == EAGAIN) {
            rc = wait_fd(fd, POLLOUT, deadline_of(c));
            if (rc < 0)
                goto fail;
            if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EISCONN) {
                rc = -errno;
                goto fail;
            }
        } else {
            rc = wait_fd(fd, POLLOUT, deadline_of(c));
            if (rc < 0)
                goto fail;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
                rc = err != 0 ? -err : -errno;
                goto fail;
            }
        }
    }
    c->fd = fd;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    proto_framer_free(c->framer);
    c->framer = NULL;
    return rc;
}

void client_close(struct client_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    proto_framer_free(c->framer);
    c->framer = NULL;
}

int client_send(struct client_conn *c, const char *buf, size_t len)
{
    long long deadline = deadline_of(c);

    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int rc = wait_fd(c->fd, POLLOUT, deadline);

                if (rc < 0)
                    return rc;
                continue;
            }
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int client_read_line(struct client_conn *c, const char **line, size_t *len)
{
    long long deadline = deadline_of(c);

    for (;;) {
        char buf[65536];
        ssize_t n;

        switch (proto_framer_next(c->framer, line, len)) {
        case PROTO_FRAME_LINE:
            return 1;
        case PROTO_FRAME_TOO_LARGE:
            return -EMSGSIZE;
        case PROTO_FRAME_NONE:
            break;
        }
        if (c->eof)
            return 0;
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int rc = wait_fd(c->fd, POLLIN, deadline);

                if (rc < 0)
                    return rc;
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            c->eof = true;
            continue;
        }
        if (proto_framer_feed(c->framer, buf, (size_t)n) < 0)
            return -ENOMEM;
    }
}

int client_request(struct client_conn *c, json_t *req, struct proto_reply *rep)
{
    long long id = c->next_id++;
    char *line;
    size_t len;
    int rc, sent;

    memset(rep, 0, sizeof(*rep));
    if (req == NULL || json_object_set_new(req, "id", json_integer(id)) != 0) {
        json_decref(req);
        return -ENOMEM;
    }
    line = proto_line(req, &len);
    if (line == NULL)
        return -ENOMEM;
    sent = client_send(c, line, len);
    free(line);
    /* A daemon that refused the connection (too_many_connections, shutting_down) may have
     * closed it before the request went: the line it left is still the answer. */
    if (sent < 0 && sent != -EPIPE && sent != -ECONNRESET)
        return sent;
    for (;;) {
        const char *l;
        size_t n;

        rc = client_read_line(c, &l, &n);
        if (rc <= 0)
            return sent < 0 ? sent : rc == 0 ? -ECONNRESET : rc;
        if (proto_reply_parse(rep, l, n, NULL, 0) < 0) {
            proto_reply_release(rep);
            return -EPROTO;
        }
        /* This client sends one request at a time, so an error reply with a null id (the
         * daemon could not read our id, e.g. request_too_large) is the answer too. Anything
         * else is not ours and is skipped. */
        if (json_is_integer(rep->id) && json_integer_value(rep->id) == id)
            return 0;
        if (json_is_null(rep->id) && !rep->ok)
            return 0;
        proto_reply_release(rep);
    }
}
