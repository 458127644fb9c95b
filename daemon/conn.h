/* conn.h: one client connection of a worker: line framing, request dispatch, the instances it
 * owns, replies written in whatever order runs finish. */
#ifndef CONN_H
#define CONN_H

#include "proto.h"

struct conn;
struct worker;

/* Serve the accepted socket fd (non-blocking) on w's loop. NULL (fd closed) on failure. */
struct conn *conn_new(struct worker *w, int fd);

/* The state w's connections share: pool wait queues, client uids (after w's pools are made,
 * before any connection). NULL when out of memory. */
struct conn_fair *conn_fair_new(struct worker *w);

/* Free it, once every connection is gone. Accepts NULL. */
void conn_fair_free(struct conn_fair *f);

/* Close c from the loop thread: no more replies, runs in flight are interrupted, and every
 * instance is terminated (now, or when its run ends). */
void conn_close(struct conn *c);

/* The worker began retiring (loop thread): close c at once if nothing of it is in flight,
 * else once its last reply is out (see conn_close_when_drained). */
void conn_retire(struct conn *c);

/* After the grace period (loop thread): interrupt c's runs in flight; they are answered with
 * shutting_down, and c closes once they are. */
void conn_cut(struct conn *c);

/* Refuse a fresh connection fd (loop thread): one error line of code with "id":null, then
 * close; the line is the whole conversation (PROTOCOL.md 6). */
void conn_refuse(struct worker *w, int fd, enum proto_err code, const char *why);

/* Next connection in w's list (for closing them all). */
struct conn *conn_next(const struct conn *c);

#endif
