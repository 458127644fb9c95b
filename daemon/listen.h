/* listen.h: the master's FastCGI sockets, one per [listen NAME] section: bound before the
 * workers fork (they inherit and accept on them) and kept open across reloads while their
 * address does not change. */
#ifndef LISTEN_H
#define LISTEN_H

#include "cfg.h"

#include <stddef.h>

struct listen_socks;

/* Bind and listen on the socket of every [listen] section of cfg, in its order. A socket of
 * prev (the serving set; NULL: none) with the same address is duplicated rather than bound
 * again, so a reload never refuses a connection. Returns the set, or NULL with a message in
 * err (nothing of prev is touched). */
struct listen_socks *listen_socks_open(const struct config *cfg, const struct listen_socks *prev,
                                       char *err, size_t errlen);

/* The listening descriptors, in the order of cfg->listens; *n gets their number. */
const int *listen_socks_fds(const struct listen_socks *s, size_t *n);

/* Close the set's descriptors and remove its Unix socket files, except the files that keep
 * (the set that goes on serving; NULL: none) also listens on. Accepts NULL. */
void listen_socks_close(struct listen_socks *s, const struct listen_socks *keep);

#endif
