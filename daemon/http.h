/* http.h: the optional HTTP endpoint ([daemon] http_listen): /metrics, /status and /health,
 * served by a thread of the master with libevent's evhttp, so it answers while every
 * executor thread of every worker is busy. */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <sys/socket.h>

struct proto_stats;
struct http;

/* Fills st with the daemon's samples (called on the HTTP thread). */
typedef void (*http_collect_fn)(void *arg, struct proto_stats *st);

/* Parse an http_listen value: "PORT" (loopback, 127.0.0.1), "IPV4:PORT" or "[IPV6]:PORT".
 * Returns 0, or -1 with a message in err. */
int http_parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                    size_t errlen);

/* Bind addr (an http_listen value) and start the serving thread. collect(arg, st) gives the
 * samples for each request. NULL with a message in err when the address cannot be bound or
 * the thread not started. */
struct http *http_start(const char *addr, http_collect_fn collect, void *arg, char *err,
                        size_t errlen);

/* In a child process after fork: close the listening socket (the thread is not there). */
void http_child_close(struct http *h);

/* Stop the thread, close the socket and free. Accepts NULL. */
void http_stop(struct http *h);

#endif
