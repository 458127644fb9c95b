/* fcgi.h: a worker's FastCGI responder: the [listen] sockets it accepts on, and connections
 * whose requests run WASI programs as CGI handlers on the same executor threads and pools as
 * the JSON protocol. */
#ifndef FCGI_SERVER_H
#define FCGI_SERVER_H

#include "worker.h"

#include <stddef.h>

/* Start accepting on the worker's FastCGI sockets (w->args->fcgi_fds), before the event loop
 * runs; sets w->fcgi (NULL when there are none). Returns 0, or -1 with a message in err. */
int fcgi_server_start(struct worker *w, char *err, size_t errlen);

/* A retiring worker (SIGTERM): accept no new FastCGI connections (and, when the daemon stops
 * rather than reloads, close this worker's copies of the sockets so front ends are refused at
 * once); close the idle connections, and each of the others once it has answered what it was
 * sent (requests that arrive meanwhile are still served, within the grace period). */
void fcgi_server_retire(struct worker *w);

/* Close every FastCGI connection (loop thread): runs in flight are interrupted and their
 * replies dropped. */
void fcgi_server_close_all(struct worker *w);

/* Free the listeners' events and w->fcgi, once the executor threads are gone. */
void fcgi_server_free(struct worker *w);

#endif
