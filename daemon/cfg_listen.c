/* cfg_listen.c: the [listen NAME] sections of wasmslotd.conf: a FastCGI socket (Unix or TCP)
 * and how its requests map to module pools. */
#include "config.h"

#include "cfg_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_DEFAULT_LISTEN_HOST "127.0.0.1"

int cfg__listen_section(struct cfg__parser *p, const char *name)
{
    struct config *c = p->cfg;
    struct cfg_listen *ls;

    if (!cfg__valid_name(name))
        return cfg__perr(p, "[listen NAME]: the name must be 1-64 characters of A-Z a-z 0-9 _ . -");
    for (size_t i = 0; i < c->nlistens; i++)
        if (strcmp(c->listens[i].name, name) == 0)
            return cfg__perr(p, "listen '%s' is defined twice", name);
    ls = realloc(c->listens, (c->nlistens + 1) * sizeof(*ls));
    if (ls == NULL)
        return cfg__perr(p, "out of memory");
    c->listens = ls;
    memset(&ls[c->nlistens], 0, sizeof(*ls));
    ls[c->nlistens].line = p->line;
    ls[c->nlistens].socket_mode = 0660;
    ls[c->nlistens].script_name = true;
    ls[c->nlistens].name = strdup(name);
    c->nlistens++;
    if (ls[c->nlistens - 1].name == NULL)
        return cfg__perr(p, "out of memory");
    p->sec = SEC_LISTEN;
    return 0;
}

/* tcp = PORT | ADDR:PORT | [IPV6]:PORT: numeric addresses only, so the daemon never waits on a
 * resolver at start-up and the file says exactly what is exposed. */
static int parse_tcp(struct cfg__parser *p, struct cfg_listen *l, const char *v)
{
    char host[64];
    const char *port;
    unsigned char addr[16];
    unsigned long n;
    char *end;
    int af = AF_INET;

    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - v - 1) >= sizeof(host))
            return cfg__perr(p, "tcp: '%s' is not [IPV6]:PORT", v);
        memcpy(host, v + 1, (size_t)(close - v - 1));
        host[close - v - 1] = '\0';
        port = close + 2;
        af = AF_INET6;
    } else if (strchr(v, ':') != NULL) {
        const char *colon = strrchr(v, ':');
        if ((size_t)(colon - v) >= sizeof(host))
            return cfg__perr(p, "tcp: '%s': address too long", v);
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
        port = colon + 1;
    } else {
        snprintf(host, sizeof(host), "%s", CFG_DEFAULT_LISTEN_HOST);
        port = v;
    }
    if (inet_pton(af, host, addr) != 1)
        return cfg__perr(p, "tcp: '%s' is not a numeric IPv4 address or a bracketed IPv6 address",
                         host);
    errno = 0;
    n = strtoul(port, &end, 10);
    if (*port == '\0' || *end != '\0' || errno != 0 || n == 0 || n > 65535 ||
        !isdigit((unsigned char)*port))
        return cfg__perr(p, "tcp: port '%s' is not a number from 1 to 65535", port);
    free(l->tcp_host);
    l->tcp_host = strdup(host);
    if (l->tcp_host == NULL)
        return cfg__perr(p, "out of memory");
    l->tcp_port = (uint16_t)n;
    return 0;
}

/* route = PREFIX MODULE */
static int parse_route(struct cfg__parser *p, struct cfg_listen *l, const char *v)
{
    const char *sp = v;
    struct cfg_route *r;
    size_t plen;

    while (*sp && !isspace((unsigned char)*sp))
        sp++;
    plen = (size_t)(sp - v);
    while (isspace((unsigned char)*sp))
        sp++;
    if (v[0] != '/' || *sp == '\0')
        return cfg__perr(p, "route: '%s' is not 'PREFIX MODULE' with PREFIX starting '/'", v);
    if (!cfg__valid_name(sp))
        return cfg__perr(p, "route: '%s' is not a module name", sp);
    /* "/app/" and "/app" are one prefix: matching is by whole path segments. */
    while (plen > 1 && v[plen - 1] == '/')
        plen--;
    for (size_t i = 0; i < l->nroutes; i++)
        if (strlen(l->routes[i].prefix) == plen && memcmp(l->routes[i].prefix, v, plen) == 0)
            return cfg__perr(p, "route: prefix '%.*s' is routed twice", (int)plen, v);
    r = realloc(l->routes, (l->nroutes + 1) * sizeof(*r));
    if (r == NULL)
        return cfg__perr(p, "out of memory");
    l->routes = r;
    r[l->nroutes].prefix = strndup(v, plen);
    r[l->nroutes].module = strdup(sp);
    r[l->nroutes].line = p->line;
    l->nroutes++;
    if (r[l->nroutes - 1].prefix == NULL || r[l->nroutes - 1].module == NULL)
        return cfg__perr(p, "out of memory");
    return 0;
}

int cfg__listen_key(struct cfg__parser *p, const char *k, const char *v)
{
    struct cfg_listen *l = &p->cfg->listens[p->cfg->nlistens - 1];

    if (strcmp(k, "socket") == 0) {
        if (v[0] != '/')
            return cfg__perr(p, "socket: '%s' must be an absolute path", v);
        if (strlen(v) >= 108)
            return cfg__perr(p, "socket: path is longer than 107 bytes");
        free(l->socket_path);
        l->socket_path = strdup(v);
        return l->socket_path == NULL ? cfg__perr(p, "out of memory") : 0;
    }
    if (strcmp(k, "socket_mode") == 0) {
        char *end;
        unsigned long mode;
        errno = 0;
        mode = strtoul(v, &end, 8);
        if (*v == '\0' || *end != '\0' || errno != 0 || mode > 0777)
            return cfg__perr(p, "socket_mode: '%s' is not an octal mode up to 0777", v);
        l->socket_mode = (mode_t)mode;
        return 0;
    }
    if (strcmp(k, "tcp") == 0)
        return parse_tcp(p, l, v);
    if (strcmp(k, "route") == 0)
        return parse_route(p, l, v);
    if (strcmp(k, "script_name") == 0) {
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0)
            l->script_name = true;
        else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0)
            l->script_name = false;
        else
            return cfg__perr(p, "script_name: '%s' is not yes or no", v);
        return 0;
    }
    return cfg__perr(p,
                     "unknown directive '%s' in [listen %s] (expected socket, socket_mode, tcp, "
                     "route or script_name)",
                     k, l->name);
}

int cfg__listen_check(struct cfg__parser *p)
{
    const struct config *c = p->cfg;

    for (size_t i = 0; i < c->nlistens; i++) {
        const struct cfg_listen *l = &c->listens[i];

        p->line = l->line;
        if ((l->socket_path == NULL) == (l->tcp_host == NULL))
            return cfg__perr(p, "[listen %s] needs exactly one of 'socket' and 'tcp'", l->name);
        if (l->socket_path != NULL && strcmp(l->socket_path, c->socket_path) == 0)
            return cfg__perr(p, "[listen %s] socket %s is the daemon's own socket", l->name,
                             l->socket_path);
        if (l->nroutes == 0 && !l->script_name)
            return cfg__perr(
                p, "[listen %s] has no 'route' and script_name = no: no request could run",
                l->name);
        for (size_t k = 0; k < i; k++) {
            const struct cfg_listen *o = &c->listens[k];
            bool same = l->socket_path != NULL
                            ? o->socket_path != NULL && strcmp(o->socket_path, l->socket_path) == 0
                            : o->tcp_host != NULL && o->tcp_port == l->tcp_port &&
                                  strcmp(o->tcp_host, l->tcp_host) == 0;
            if (same)
                return cfg__perr(p, "[listen %s] uses the socket of [listen %s]", l->name, o->name);
        }
        for (size_t r = 0; r < l->nroutes; r++) {
            p->line = l->routes[r].line;
            if (cfg_module_find(c, l->routes[r].module) == NULL)
                return cfg__perr(p, "route %s: no [module %s] section", l->routes[r].prefix,
                                 l->routes[r].module);
        }
    }
    return 0;
}

void cfg__listen_free(struct config *c)
{
    for (size_t i = 0; i < c->nlistens; i++) {
        struct cfg_listen *l = &c->listens[i];
        free(l->name);
        free(l->socket_path);
        free(l->tcp_host);
        for (size_t r = 0; r < l->nroutes; r++) {
            free(l->routes[r].prefix);
            free(l->routes[r].module);
        }
        free(l->routes);
    }
    free(c->listens);
    c->listens = NULL;
    c->nlistens = 0;
}
