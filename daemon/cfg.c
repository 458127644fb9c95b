/* cfg.c: reads wasmslotd.conf: lines, [sections] and `include`, each directive handed to its
 * section's file (cfg_daemon.c, cfg_module.c, cfg_shmem.c, cfg_listen.c), then cfg_check.c;
 * every error reported as file:line. Also the config's life: defaults, lookups, free. */
#include "config.h"

#include "cfg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How deep `include` may nest (a file including itself is refused at this depth). */
#define INCLUDE_DEPTH 8

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A line [KIND NAME]: start a section of that kind. */
static int section_header(struct cfg__parser *p, char *s)
{
    char *end = strchr(s, ']');
    char *kind, *name;

    if (end == NULL)
        return cfg__perr(p, "section header lacks its closing ']'");
    if (*trim(end + 1) != '\0')
        return cfg__perr(p, "unexpected text after the section header");
    *end = '\0';
    p->nseen = 0;
    kind = trim(s + 1);
    name = kind;
    while (*name && !isspace((unsigned char)*name))
        name++;
    if (*name)
        *name++ = '\0';
    name = trim(name);

    if (strcmp(kind, "daemon") == 0) {
        if (*name)
            return cfg__perr(p, "[daemon] takes no name");
        if (p->seen_daemon)
            return cfg__perr(p, "second [daemon] section");
        p->seen_daemon = true;
        p->sec = SEC_DAEMON;
        return 0;
    }
    if (strcmp(kind, "module") == 0)
        return cfg__module_section(p, name);
    if (strcmp(kind, "shmem") == 0)
        return cfg__shmem_section(p, name);
    if (strcmp(kind, "listen") == 0)
        return cfg__listen_section(p, name);
    return cfg__perr(p,
                     "unknown section [%s] (expected [daemon], [module NAME], [shmem NAME] or "
                     "[listen NAME])",
                     kind);
}

static int parse_file(struct cfg__parser *p, const char *path);

/* A directive set twice in one section is a mistake (which one would win?): an error with
 * both places. `import` lines bind one memory each and may repeat. */
static int seen_twice(struct cfg__parser *p, const char *k)
{
    struct cfg__seen *ns;

    if (strcmp(k, "import") == 0)
        return 0;
    for (size_t i = 0; i < p->nseen; i++) {
        if (strcmp(p->seen[i].key, k) != 0)
            continue;
        if (strcmp(p->seen[i].file, p->file) == 0)
            return cfg__perr(p, "'%s' is set twice in this section (first at line %d)", k,
                             p->seen[i].line);
        return cfg__perr(p, "'%s' is set twice in this section (first at %s:%d)", k,
                         p->seen[i].file, p->seen[i].line);
    }
    ns = realloc(p->seen, (p->nseen + 1) * sizeof(*ns));
    if (ns == NULL)
        return cfg__perr(p, "out of memory");
    p->seen = ns;
    snprintf(ns[p->nseen].key, sizeof(ns[p->nseen].key), "%s", k);
    ns[p->nseen].file = p->file;
    ns[p->nseen].line = p->line;
    p->nseen++;
    return 0;
}

/* `include = PATTERN`: read the files matching PATTERN (a glob(7) pattern, relative to this
 * file's directory), in name order, as if their text stood here. A pattern with no wildcard
 * must name an existing file; one with wildcards may match none (an empty conf.d/). */
static int include(struct cfg__parser *p, const char *v)
{
    bool wild = strpbrk(v, "*?[") != NULL;
    char *pattern = NULL;
    glob_t g;
    int rc;

    if (*v == '\0')
        return cfg__perr(p, "include: expected a file or a pattern such as conf.d/*.conf");
    if (p->depth >= INCLUDE_DEPTH)
        return cfg__perr(p, "include: nested more than %d deep (does a file include itself?)",
                         INCLUDE_DEPTH);
    if (v[0] == '/')
        pattern = strdup(v);
    else if (asprintf(&pattern, "%s/%s", p->dir, v) < 0)
        pattern = NULL;
    if (pattern == NULL)
        return cfg__perr(p, "out of memory");
    rc = glob(pattern, wild ? 0 : GLOB_NOCHECK, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        free(pattern);
        return 0;
    }
    if (rc != 0) {
        cfg__perr(p, "include: cannot read the files of '%s'", pattern);
        free(pattern);
        return -1;
    }
    free(pattern);
    rc = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        const char *file = p->file, *dot;
        char *dir = p->dir;
        int line = p->line;

        /* Editors' backups and the like are not read by a pattern. */
        dot = strrchr(g.gl_pathv[i], '~');
        if (wild && dot != NULL && dot[1] == '\0')
            continue;
        p->depth++;
        rc = parse_file(p, g.gl_pathv[i]);
        p->depth--;
        p->file = file;
        p->line = line;
        free(p->dir);
        p->dir = dir;
    }
    globfree(&g);
    return rc;
}

static int parse_line(struct cfg__parser *p, char *raw)
{
    char *s = trim(raw);
    char *eq, *k, *v;

    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[')
        return section_header(p, s);
    eq = strchr(s, '=');
    if (eq == NULL)
        return cfg__perr(p, "expected 'key = value' or a [section]");
    *eq = '\0';
    k = trim(s);
    v = trim(eq + 1);
    /* A value may carry a trailing comment after whitespace. */
    for (char *h = v; (h = strchr(h, '#')) != NULL; h++) {
        if (h > v && isspace((unsigned char)h[-1])) {
            *h = '\0';
            v = trim(v);
            break;
        }
    }
    if (*k == '\0')
        return cfg__perr(p, "missing directive name before '='");
    if (v[0] == '"') {
        size_t n = strlen(v);
        if (n < 2 || v[n - 1] != '"')
            return cfg__perr(p, "%s: unterminated quoted value", k);
        v[n - 1] = '\0';
        v++;
    }
    if (strcmp(k, "include") == 0)
        return include(p, v);
    if (p->sec != SEC_NONE && seen_twice(p, k) < 0)
        return -1;
    switch (p->sec) {
    case SEC_NONE:
        return cfg__perr(p, "directive '%s' outside any section", k);
    case SEC_DAEMON:
        return cfg__daemon_key(p, k, v);
    case SEC_MODULE:
        return cfg__module_key(p, k, v);
    case SEC_SHMEM:
        return cfg__shmem_key(p, k, v);
    case SEC_LISTEN:
        return cfg__listen_key(p, k, v);
    }
    return cfg__perr(p, "internal error");
}

/* Cross-field checks once every line has been read. */

static void parser_free(struct cfg__parser *p)
{
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    free(p->seen);
    free(p->dir);
}

/* Read the lines of the file at path into p (the top-level file or an included one). */
static int parse_file(struct cfg__parser *p, const char *path)
{
    char **files, *name, *slash, *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;
    int rc = 0;

    files = realloc(p->files, (p->nfiles + 1) * sizeof(*files));
    if (files == NULL)
        return cfg__perr(p, "out of memory");
    p->files = files;
    name = strdup(path);
    p->dir = NULL;
    if (name == NULL || (p->dir = strdup(path)) == NULL) {
        free(name);
        return cfg__perr(p, "out of memory");
    }
    files[p->nfiles++] = name;
    p->file = name;
    p->line = 0;
    slash = strrchr(p->dir, '/');
    if (slash == NULL)
        strcpy(p->dir, ".");
    else if (slash == p->dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    f = fopen(path, "re");
    if (f == NULL)
        return cfg__perr(p, "cannot open: %s", strerror(errno));
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        char *line = buf;
        p->line++;
        if ((size_t)n != strlen(buf)) {
            rc = cfg__perr(p, "NUL byte in the file");
            break;
        }
        /* A UTF-8 byte order mark, which some editors write, is not part of the text. */
        if (p->line == 1 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
            line += 3;
        rc = parse_line(p, line);
    }
    if (rc == 0 && ferror(f)) {
        p->line = 0;
        rc = cfg__perr(p, "read error: %s", strerror(errno));
    }
    fclose(f);
    free(buf);
    return rc;
}

struct config *cfg_load(const char *path, char *err, size_t errlen)
{
    struct cfg__parser p = {.file = path, .err = err, .errlen = errlen};
    struct config *c = NULL;

    if (errlen > 0)
        err[0] = '\0';
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        cfg__perr(&p, "out of memory");
        goto fail;
    }
    p.cfg = c;
    c->file = strdup(path);
    c->socket_path = strdup(CFG_DEFAULT_SOCKET);
    if (c->file == NULL || c->socket_path == NULL) {
        cfg__perr(&p, "out of memory");
        goto fail;
    }
    c->socket_mode = CFG_DEFAULT_SOCKET_MODE;
    c->workers = CFG_DEFAULT_WORKERS;
    c->executor_threads = CFG_DEFAULT_EXECUTOR_THREADS;
    c->log_target = CFG_LOG_SYSLOG;
    c->log_level = CFG_LOG_INFO;
    c->max_request_size = CFG_DEFAULT_MAX_REQUEST;
    c->max_instances_per_connection = CFG_DEFAULT_MAX_INSTANCES;
    c->max_inflight_per_connection = CFG_DEFAULT_MAX_INFLIGHT;
    c->grace_period_ms = CFG_DEFAULT_GRACE_MS;
    c->max_connections = CFG_DEFAULT_MAX_CONNECTIONS;
    c->idle_timeout_ms = CFG_DEFAULT_IDLE_TIMEOUT_MS;
    c->max_reply_buffer = CFG_DEFAULT_MAX_REPLY_BUFFER;
    c->max_total_memory = CFG_DEFAULT_MAX_TOTAL_MEMORY;
    c->slow_log_threshold_ms = CFG_DEFAULT_SLOW_LOG_MS;

    if (parse_file(&p, path) < 0)
        goto fail;
    p.file = path;
    if (cfg__check(&p) < 0)
        goto fail;
    parser_free(&p);
    return c;
fail:
    parser_free(&p);
    cfg_free(c);
    return NULL;
}

void cfg_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->nmodules; i++) {
        free(cfg->modules[i].name);
        free(cfg->modules[i].path);
        free(cfg->modules[i].wasi_dir);
        for (size_t k = 0; k < cfg->modules[i].nimports; k++) {
            free(cfg->modules[i].imports[k].module);
            free(cfg->modules[i].imports[k].name);
            free(cfg->modules[i].imports[k].shmem);
        }
        free(cfg->modules[i].imports);
    }
    free(cfg->modules);
    for (size_t i = 0; i < cfg->nshmems; i++)
        free(cfg->shmems[i].name);
    free(cfg->shmems);
    cfg__listen_free(cfg);
    free(cfg->file);
    free(cfg->socket_path);
    free(cfg->log_file);
    free(cfg->pid_file);
    free(cfg->cache_dir);
    free(cfg->http_listen);
    free(cfg->user_name);
    free(cfg->group_name);
    free(cfg->access_log);
    free(cfg);
}

const struct cfg_module *cfg_module_find(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nmodules; i++)
        if (strcmp(cfg->modules[i].name, name) == 0)
            return &cfg->modules[i];
    return NULL;
}

const struct cfg_shmem *cfg_shmem_find(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nshmems; i++)
        if (strcmp(cfg->shmems[i].name, name) == 0)
            return &cfg->shmems[i];
    return NULL;
}
