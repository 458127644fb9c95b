/* cfg_listen.h: the [listen NAME] sections of wasmslotd.conf (FastCGI sockets), parsed for
 * cfg.c. Private to the config module: cfg.c reports the messages as `file:line: message`. */
#ifndef CFG_LISTEN_H
#define CFG_LISTEN_H

#include "cfg.h"

/* Start section [listen name] at line. Returns 0, or -1 with a message in msg. */
int cfg__listen_section(struct config *c, const char *name, int line, char *msg, size_t msglen);

/* One directive k = v of the last [listen] section. Returns 0, or -1 with a message. */
int cfg__listen_key(struct config *c, const char *k, const char *v, int line, char *msg,
                    size_t msglen);

/* Checks once the whole file is read (every route names a module, no two sockets alike).
 * Returns 0, or -1 with a message and the line it is about in *line. */
int cfg__listen_finish(const struct config *c, int *line, char *msg, size_t msglen);

/* Free the [listen] sections of c. */
void cfg__listen_free(struct config *c);

#endif
