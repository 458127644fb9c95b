/* conn.h: one client connection of a worker: line framing, request dispatch, the instances it
 * owns, replies written in whatever order runs finish. */
#ifndef CONN_H
#define CONN_H

struct conn;
struct worker;

/* Serve the accepted socket fd (non-blocking) on w's loop. NULL (fd closed) on failure. */
struct conn *conn_new(struct worker *w, int fd);

/* Close c from the loop thread: no more replies, runs in flight are interrupted, and every
 * instance is terminated (now, or when its run ends). */
void conn_close(struct conn *c);

/* Next connection in w's list (for closing them all). */
struct conn *conn_next(const struct conn *c);

#endif
