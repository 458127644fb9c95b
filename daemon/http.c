/* http.c: the master's HTTP endpoint: GET /metrics (Prometheus text, or OpenMetrics when the
 * scraper asks for it), /status (the JSON summary wasmslot stats prints) and /health, nothing
 * else, on a thread of its own with its own event loop. */
#include "config.h"

#include "http.h"

#include "log.h"
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct http {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    int fd;      /* the listening socket */
    bool owned;  /* evhttp has taken the socket over (and closes it) */
    int stop_fd; /* an eventfd: written by http_stop */
    pthread_t tid;
    http_collect_fn collect;
    void *arg;
};

int http_parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                    size_t errlen)
{
    char host[64] = "127.0.0.1";
    const char *port = s, *colon = strrchr(s, ':');
    unsigned long p;
    char *end;

    memset(sa, 0, sizeof(*sa));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            goto bad;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else if (colon != NULL) {
        if ((size_t)(colon - s) >= sizeof(host) || colon == s)
            goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    errno = 0;
    p = strtoul(port, &end, 10);
    if (*port == '\0' || *end != '\0' || errno != 0 || p == 0 || p > 65535)
        goto bad;
    if (s[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            goto bad;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        *salen = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)sa;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            goto bad;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        *salen = sizeof(*a);
    }
    return 0;
bad:
    snprintf(err, errlen,
             "http_listen: expected PORT, IPV4:PORT or [IPV6]:PORT (addresses as numbers), "
             "got '%s'",
             s);
    return -1;
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
                       const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

/* The daemon's samples, or NULL when out of memory (the request is answered then). */
static struct proto_stats *samples(struct http *h, struct evhttp_request *req)
{
    struct proto_stats *st = proto_stats_new();

    if (st == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return NULL;
    }
    h->collect(h->arg, st);
    return st;
}

static void serve_metrics(struct http *h, struct evhttp_request *req)
{
    const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
    /* A Prometheus server asks for OpenMetrics first; curl and promtool get the classic
     * text format, the one promtool check metrics reads. */
    bool om = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
    struct proto_stats *st = samples(h, req);
    size_t len;
    char *text;

    if (st == NULL)
        return;
    text = proto_stats_render(st, om ? PROTO_STATS_OPENMETRICS : PROTO_STATS_PROMETHEUS, &len);
    proto_stats_free(st);
    if (text == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    reply_text(req, HTTP_OK, "OK",
               om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                  : "text/plain; version=0.0.4; charset=utf-8",
               text, len);
    free(text);
}

static void serve_status(struct http *h, struct evhttp_request *req)
{
    struct proto_stats *st = samples(h, req);
    json_t *arr, *sum = NULL;
    char *text = NULL;

    if (st == NULL)
        return;
    arr = proto_stats_to_json(st);
    proto_stats_free(st);
    if (arr != NULL)
        sum = proto_stats_summary(arr);
    json_decref(arr);
    if (sum != NULL)
        text = json_dumps(sum, JSON_INDENT(1));
    json_decref(sum);
    if (text == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    reply_text(req, HTTP_OK, "OK", "application/json", text, strlen(text));
    free(text);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    size_t n = strcspn(uri, "?");

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    if (n == 8 && memcmp(uri, "/metrics", 8) == 0)
        serve_metrics(h, req);
    else if (n == 7 && memcmp(uri, "/status", 7) == 0)
        serve_status(h, req);
    else if (n == 7 && memcmp(uri, "/health", 7) == 0)
        reply_text(req, HTTP_OK, "OK", "text/plain; charset=utf-8", "ok\n", 3);
    else
        evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct http *h = arg;

    (void)fd;
    (void)what;
    event_base_loopbreak(h->base);
}

static void *thread_main(void *arg)
{
    struct http *h = arg;

    event_base_dispatch(h->base);
    return NULL;
}

static void http_free(struct http *h)
{
    if (h->http != NULL)
        evhttp_free(h->http);
    if (h->stop_ev != NULL)
        event_free(h->stop_ev);
    if (h->base != NULL)
        event_base_free(h->base);
    if (h->stop_fd >= 0)
        close(h->stop_fd);
    if (h->fd >= 0 && !h->owned)
        close(h->fd);
    free(h);
}

struct http *http_start(const char *addr, http_collect_fn collect, void *arg, char *err,
                        size_t errlen)
{
    struct http *h = calloc(1, sizeof(*h));
    struct sockaddr_storage sa;
    socklen_t salen;

    if (h == NULL) {
        snprintf(err, errlen, "http: out of memory");
        return NULL;
    }
    h->fd = h->stop_fd = -1;
    h->collect = collect;
    h->arg = arg;
    if (http_parse_addr(addr, &sa, &salen, err, errlen) < 0)
        goto fail;
    h->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)) < 0 ||
        bind(h->fd, (struct sockaddr *)&sa, salen) < 0 || listen(h->fd, 64) < 0) {
        snprintf(err, errlen, "http_listen %s: %s", addr, strerror(errno));
        goto fail;
    }
    h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h->base = event_base_new();
    h->http = h->base != NULL ? evhttp_new(h->base) : NULL;
    h->stop_ev = h->base != NULL && h->stop_fd >= 0
                     ? event_new(h->base, h->stop_fd, EV_READ, on_stop, h)
                     : NULL;
    if (h->http == NULL || h->stop_ev == NULL || event_add(h->stop_ev, NULL) < 0 ||
        evhttp_accept_socket(h->http, h->fd) < 0) {
        snprintf(err, errlen, "http_listen %s: cannot set up the HTTP server", addr);
        goto fail;
    }
    h->owned = true; /* evhttp closes it when freed */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(h->http, 16384);
    evhttp_set_max_body_size(h->http, 0);
    evhttp_set_timeout(h->http, 10);
    evhttp_set_gencb(h->http, on_request, h);
    if (pthread_create(&h->tid, NULL, thread_main, h) != 0) {
        snprintf(err, errlen, "http: cannot start its thread");
        goto fail;
    }
    return h;
fail:
    http_free(h);
    return NULL;
}

void http_child_close(struct http *h)
{
    if (h != NULL)
        close(h->fd);
}

void http_stop(struct http *h)
{
    uint64_t one = 1;

    if (h == NULL)
        return;
    if (write(h->stop_fd, &one, sizeof(one)) < 0)
        log_warn("http: cannot stop its thread: %s", strerror(errno));
    pthread_join(h->tid, NULL);
    http_free(h);
}
