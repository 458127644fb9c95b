/* cfg.c: reads wasmslotd.conf (INI-like sections), validates every value, reports file:line. */
#include "config.h"

#include "cfg.h"

#include "http.h"
#include "cfg_listen.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Which kind of section the parser is in. */
enum section {
    SEC_NONE,
    SEC_DAEMON,
    SEC_MODULE,
    SEC_SHMEM,
    SEC_LISTEN,
};

/* A directive already set in the current section, to refuse a second one. */
struct seen {
    char key[48];
    const char *file; /* a string of the parser's files list */
    int line;
};

/* How deep `include` may nest (a file including itself is refused at this depth). */
#define INCLUDE_DEPTH 8

struct parser {
    const char *file;
    int line;
    char *err;
    size_t errlen;
    struct config *cfg;
    enum section sec;
    bool seen_daemon;
    char *dir; /* directory of the file, for relative module paths */
    /* the directives of the current section so far */
    struct seen *seen;
    size_t nseen;
    /* every file read (an include's names outlive its reading, for the messages of seen) */
    char **files;
    size_t nfiles;
    int depth;
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record `file:line: message`; always returns -1 so callers can `return perr(...)`. */
static int perr(struct parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->line > 0)
        snprintf(p->err, p->errlen, "%s:%d: %s", p->file, p->line, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    return -1;
}

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

static int set_str(struct parser *p, char **dst, const char *v)
{
    char *s = strdup(v);

    if (s == NULL)
        return perr(p, "out of memory");
    free(*dst);
    *dst = s;
    return 0;
}

/* An unsigned integer in [min, max]. */
static int parse_uint(struct parser *p, const char *key, const char *v, unsigned long long min,
                      unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)*v))
        return perr(p, "%s: expected a number, got '%s'", key, v);
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return perr(p, "%s: expected a number, got '%s'", key, v);
    if (n < min || n > max)
        return perr(p, "%s: %llu is out of range [%llu, %llu]", key, n, min, max);
    *out = n;
    return 0;
}

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
static int parse_size(struct parser *p, const char *key, const char *v, unsigned long long min,
                      unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long n, mul = 1;

    if (!isdigit((unsigned char)*v))
        return perr(p, "%s: expected a size such as 65536, 64K or 16M, got '%s'", key, v);
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0)
        return perr(p, "%s: '%s' is too large", key, v);
    if (*end != '\0') {
        switch (toupper((unsigned char)*end)) {
        case 'K':
            mul = 1ULL << 10;
            break;
        case 'M':
            mul = 1ULL << 20;
            break;
        case 'G':
            mul = 1ULL << 30;
            break;
        default:
            return perr(p, "%s: unknown size unit in '%s' (use K, M or G)", key, v);
        }
        if (end[1] != '\0' && !((end[1] == 'i' || end[1] == 'B') && end[2] == '\0') &&
            !(end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))
            return perr(p, "%s: unknown size unit in '%s' (use K, M or G)", key, v);
    }
    if (n > ULLONG_MAX / mul)
        return perr(p, "%s: '%s' is too large", key, v);
    n *= mul;
    if (n < min || n > max)
        return perr(p, "%s: %llu bytes is out of range [%llu, %llu]", key, n, min, max);
    *out = n;
    return 0;
}

/* A duration: 0, or a number with a unit us, ms, s or m; stored in milliseconds. */
static int parse_duration(struct parser *p, const char *key, const char *v, uint64_t max_ms,
                          uint64_t *out_ms)
{
    char *end;
    unsigned long long n;
    uint64_t ms;

    if (!isdigit((unsigned char)*v))
        return perr(p, "%s: expected a duration such as 500ms or 2s, got '%s'", key, v);
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || n > UINT32_MAX)
        return perr(p, "%s: '%s' is too large", key, v);
    if (*end == '.' || *end == ',')
        return perr(p,
                    "%s: '%s': fractions are not accepted; give a whole number of ms, s or m "
                    "(1500ms rather than 1.5s)",
                    key, v);
    if (strcmp(end, "ms") == 0)
        ms = n;
    else if (strcmp(end, "s") == 0)
        ms = n * 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        ms = n * 60000;
    else if (*end == '\0' && n == 0)
        ms = 0;
    else
        return perr(p, "%s: '%s' needs a unit: ms, s or m", key, v);
    if (ms > max_ms)
        return perr(p, "%s: '%s' is longer than the maximum of %llus", key, v,
                    (unsigned long long)(max_ms / 1000));
    *out_ms = ms;
    return 0;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

/* `user`: a user name or number; empty: none. Sets the group to the user's primary group
 * unless `group` is given (in any order). */
static int ops_user(struct parser *p, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;
    struct passwd *pw;

    free(c->user_name);
    c->user_name = NULL;
    c->user_set = false;
    if (*v == '\0')
        return 0;
    pw = getpwnam(v);
    if (pw == NULL && isdigit((unsigned char)*v)) {
        if (parse_uint(p, "user", v, 0, UINT32_MAX - 1, &n) < 0)
            return -1;
        pw = getpwuid((uid_t)n);
        if (pw == NULL)
            return perr(p, "user: no user has uid %llu (the workers need its primary group)", n);
    }
    if (pw == NULL)
        return perr(p, "user: unknown user '%s'", v);
    c->user_uid = pw->pw_uid;
    if (!c->group_set)
        c->user_gid = pw->pw_gid;
    c->user_set = true;
    return set_str(p, &c->user_name, pw->pw_name);
}

/* `group`: a group name or number; empty: the user's primary group. */
static int ops_group(struct parser *p, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;
    struct group *gr;

    free(c->group_name);
    c->group_name = NULL;
    c->group_set = false;
    if (*v == '\0') {
        struct passwd *pw = c->user_set ? getpwuid(c->user_uid) : NULL;
        if (pw != NULL)
            c->user_gid = pw->pw_gid;
        return 0;
    }
    gr = getgrnam(v);
    if (gr == NULL && isdigit((unsigned char)*v)) {
        if (parse_uint(p, "group", v, 0, UINT32_MAX - 1, &n) < 0)
            return -1;
        c->user_gid = (gid_t)n;
        gr = getgrgid((gid_t)n);
    } else if (gr == NULL) {
        return perr(p, "group: unknown group '%s'", v);
    } else {
        c->user_gid = gr->gr_gid;
    }
    c->group_set = true;
    return set_str(p, &c->group_name, gr != NULL ? gr->gr_name : v);
}

/* The [daemon] directives of operation: the workers' user and group, the access and slow
 * logs. */
static int daemon_ops_key(struct parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;

    if (strcmp(k, "user") == 0)
        return ops_user(p, v);
    if (strcmp(k, "group") == 0)
        return ops_group(p, v);
    if (strcmp(k, "access_log") == 0) {
        free(c->access_log);
        c->access_log = NULL;
        if (*v == '\0' || strcmp(v, "off") == 0)
            return 0;
        if (v[0] != '/')
            return perr(p, "access_log: expected an absolute file path or off, got '%s'", v);
        return set_str(p, &c->access_log, v);
    }
    if (strcmp(k, "slow_log_threshold") == 0)
        return parse_duration(p, k, v, 3600 * 1000, &c->slow_log_threshold_ms);
    return perr(p, "unknown directive '%s' in [daemon]", k);
}

/* The [daemon] directives that keep one client from starving or exhausting the others. */
static int daemon_fair_key(struct parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;

    if (strcmp(k, "max_connections_per_uid") == 0) {
        if (parse_uint(p, k, v, 0, 1000000, &n) < 0)
            return -1;
        c->max_connections_per_uid = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_total_memory") == 0) {
        if (parse_size(p, k, v, 16ULL << 20, 1ULL << 50, &n) < 0)
            return -1;
        c->max_total_memory = n;
        return 0;
    }
    if (strcmp(k, "max_unlimited_runs") == 0) {
        if (parse_uint(p, k, v, 1, 1024, &n) < 0)
            return -1;
        c->max_unlimited_runs = (unsigned)n;
        return 0;
    }
    return daemon_ops_key(p, k, v);
}

/* The [module] directives that share a pool between connections. */
static int module_fair_key(struct parser *p, struct cfg_module *m, const char *k, const char *v)
{
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "max_instances_per_connection") == 0) {
        if (parse_uint(p, k, v, 0, 1000000, &n) < 0)
            return -1;
        m->max_instances_per_connection = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "pool_wait") == 0) {
        if (parse_duration(p, k, v, 10 * 1000, &ms) < 0)
            return -1;
        m->pool_wait_ms = ms;
        return 0;
    }
    return perr(p, "unknown directive '%s' in [module %s]", k, m->name);
}

/* The [daemon] limits on connections: how many, how long idle, how many unsent bytes. */
static int daemon_limit_key(struct parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "max_connections") == 0) {
        if (parse_uint(p, k, v, 1, 1000000, &n) < 0)
            return -1;
        c->max_connections = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "idle_timeout") == 0) {
        if (parse_duration(p, k, v, 24 * 3600 * 1000, &ms) < 0)
            return -1;
        c->idle_timeout_ms = ms;
        return 0;
    }
    if (strcmp(k, "max_reply_buffer") == 0) {
        /* At least the 4 MiB above which a connection's requests are no longer read. */
        if (parse_size(p, k, v, 4ULL << 20, 1ULL << 32, &n) < 0)
            return -1;
        c->max_reply_buffer = (size_t)n;
        return 0;
    }
    return daemon_fair_key(p, k, v);
}

static int daemon_key(struct parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "socket") == 0) {
        if (v[0] != '/')
            return perr(p, "socket: '%s' must be an absolute path", v);
        /* sun_path holds 108 bytes including the terminating NUL. */
        if (strlen(v) >= 108)
            return perr(p, "socket: path is longer than 107 bytes");
        return set_str(p, &c->socket_path, v);
    }
    if (strcmp(k, "socket_owner") == 0) {
        struct passwd *pw;
        if (*v == '\0') {
            c->socket_owner_set = false;
            return 0;
        }
        pw = getpwnam(v);
        if (pw == NULL) {
            if (parse_uint(p, k, v, 0, UINT32_MAX - 1, &n) < 0)
                return perr(p, "socket_owner: unknown user '%s'", v);
            c->socket_uid = (uid_t)n;
        } else {
            c->socket_uid = pw->pw_uid;
        }
        c->socket_owner_set = true;
        return 0;
    }
    if (strcmp(k, "socket_group") == 0) {
        struct group *gr;
        if (*v == '\0') {
            c->socket_group_set = false;
            return 0;
        }
        gr = getgrnam(v);
        if (gr == NULL) {
            if (parse_uint(p, k, v, 0, UINT32_MAX - 1, &n) < 0)
                return perr(p, "socket_group: unknown group '%s'", v);
            c->socket_gid = (gid_t)n;
        } else {
            c->socket_gid = gr->gr_gid;
        }
        c->socket_group_set = true;
        return 0;
    }
    if (strcmp(k, "socket_mode") == 0) {
        char *end;
        unsigned long m;
        errno = 0;
        m = strtoul(v, &end, 8);
        if (*v == '\0' || *end != '\0' || errno != 0 || m > 0777)
            return perr(p, "socket_mode: expected an octal mode such as 0660, got '%s'", v);
        if ((m & 0600) != 0600)
            return perr(p, "socket_mode: %04lo leaves the owner unable to connect", m);
        c->socket_mode = (mode_t)m;
        return 0;
    }
    if (strcmp(k, "workers") == 0) {
        if (parse_uint(p, k, v, 1, 256, &n) < 0)
            return -1;
        c->workers = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "executor_threads") == 0) {
        if (parse_uint(p, k, v, 1, 256, &n) < 0)
            return -1;
        c->executor_threads = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "log") == 0) {
        free(c->log_file);
        c->log_file = NULL;
        if (strcmp(v, "stderr") == 0) {
            c->log_target = CFG_LOG_STDERR;
        } else if (strcmp(v, "syslog") == 0) {
            c->log_target = CFG_LOG_SYSLOG;
        } else if (v[0] == '/') {
            c->log_target = CFG_LOG_FILE;
            return set_str(p, &c->log_file, v);
        } else {
            return perr(p, "log: expected stderr, syslog or an absolute file path, got '%s'", v);
        }
        return 0;
    }
    if (strcmp(k, "log_level") == 0) {
        static const char *const names[] = {"error", "warning", "info", "debug"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strcmp(v, names[i]) == 0) {
                c->log_level = (enum cfg_log_level)i;
                return 0;
            }
        }
        return perr(p, "log_level: expected error, warning, info or debug, got '%s'", v);
    }
    if (strcmp(k, "http_listen") == 0) {
        struct sockaddr_storage sa;
        socklen_t salen;
        char err[256];

        free(c->http_listen);
        c->http_listen = NULL;
        if (*v == '\0')
            return 0;
        if (http_parse_addr(v, &sa, &salen, err, sizeof(err)) < 0)
            return perr(p, "%s", err);
        return set_str(p, &c->http_listen, v);
    }
    if (strcmp(k, "cache_dir") == 0) {
        free(c->cache_dir);
        c->cache_dir = NULL;
        if (*v == '\0')
            return 0;
        if (v[0] != '/')
            return perr(p, "cache_dir: '%s' must be an absolute path", v);
        return set_str(p, &c->cache_dir, v);
    }
    if (strcmp(k, "pid_file") == 0) {
        if (*v == '\0') {
            free(c->pid_file);
            c->pid_file = NULL;
            return 0;
        }
        if (v[0] != '/')
            return perr(p, "pid_file: '%s' must be an absolute path", v);
        return set_str(p, &c->pid_file, v);
    }
    if (strcmp(k, "max_request_size") == 0) {
        if (parse_size(p, k, v, 256, 1ULL << 30, &n) < 0)
            return -1;
        c->max_request_size = (size_t)n;
        return 0;
    }
    if (strcmp(k, "max_instances_per_connection") == 0) {
        if (parse_uint(p, k, v, 1, 1000000, &n) < 0)
            return -1;
        c->max_instances_per_connection = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_inflight_per_connection") == 0) {
        if (parse_uint(p, k, v, 1, 1000000, &n) < 0)
            return -1;
        c->max_inflight_per_connection = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "grace_period") == 0) {
        if (parse_duration(p, k, v, 3600 * 1000, &ms) < 0)
            return -1;
        c->grace_period_ms = ms;
        return 0;
    }
    return daemon_limit_key(p, k, v);
}

/* `import = MODULE.NAME shmem:SHMEM`: bind a memory import of the module to a shared memory.
 * The import's module name ends at the first '.'; the section's existence is checked by
 * finish(), and whether the module really has such an import by modset_load(). */
static int module_import(struct parser *p, struct cfg_module *m, const char *v)
{
    static const char usage[] = "import: expected 'MODULE.NAME shmem:SHMEM' (e.g. "
                                "'env.memory shmem:counter'), got '%s'";
    const char *sp = v, *dot, *target;
    struct cfg_import *imps, *im;

    while (*sp && !isspace((unsigned char)*sp))
        sp++;
    target = sp;
    while (isspace((unsigned char)*target))
        target++;
    dot = memchr(v, '.', (size_t)(sp - v));
    if (*sp == '\0' || dot == NULL || dot == v || dot + 1 == sp ||
        strncmp(target, "shmem:", 6) != 0)
        return perr(p, usage, v);
    target += 6;
    if (!valid_name(target))
        return perr(p, "import: '%s' is not a shmem name (1-64 characters of A-Z a-z 0-9 _ . -)",
                    target);
    for (size_t i = 0; i < m->nimports; i++)
        if (strlen(m->imports[i].module) == (size_t)(dot - v) &&
            strncmp(m->imports[i].module, v, (size_t)(dot - v)) == 0 &&
            strlen(m->imports[i].name) == (size_t)(sp - dot - 1) &&
            strncmp(m->imports[i].name, dot + 1, (size_t)(sp - dot - 1)) == 0)
            return perr(p, "import: %.*s is bound twice", (int)(sp - v), v);
    imps = realloc(m->imports, (m->nimports + 1) * sizeof(*imps));
    if (imps == NULL)
        return perr(p, "out of memory");
    m->imports = imps;
    im = &imps[m->nimports++];
    im->module = strndup(v, (size_t)(dot - v));
    im->name = strndup(dot + 1, (size_t)(sp - dot - 1));
    im->shmem = strdup(target);
    im->line = p->line;
    if (im->module == NULL || im->name == NULL || im->shmem == NULL)
        return perr(p, "out of memory");
    return 0;
}

static int module_key(struct parser *p, const char *k, const char *v)
{
    struct cfg_module *m = &p->cfg->modules[p->cfg->nmodules - 1];
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "path") == 0) {
        char *full;
        if (*v == '\0')
            return perr(p, "path: empty");
        if (v[0] == '/') {
            full = strdup(v);
        } else if (asprintf(&full, "%s/%s", p->dir, v) < 0) {
            full = NULL;
        }
        if (full == NULL)
            return perr(p, "out of memory");
        if (access(full, R_OK) != 0) {
            int e = errno;
            perr(p, "path: cannot read '%s': %s", full, strerror(e));
            free(full);
            return -1;
        }
        free(m->path);
        m->path = full;
        return 0;
    }
    if (strcmp(k, "slots") == 0) {
        if (parse_uint(p, k, v, 1, 65536, &n) < 0)
            return -1;
        m->slots = (uint32_t)n;
        return 0;
    }
    if (strcmp(k, "max_table_elements") == 0) {
        if (parse_uint(p, k, v, 1, 10000000, &n) < 0)
            return -1;
        m->max_table_elements = (uint32_t)n;
        return 0;
    }
    if (strcmp(k, "unknown_imports") == 0) {
        if (strcmp(v, "reject") == 0)
            m->unknown_imports_trap = false;
        else if (strcmp(v, "trap") == 0)
            m->unknown_imports_trap = true;
        else
            return perr(p, "unknown_imports: '%s' is neither 'reject' nor 'trap'", v);
        return 0;
    }
    if (strcmp(k, "stack_size") == 0) {
        if (parse_size(p, k, v, 64 * 1024, 1ULL << 30, &n) < 0)
            return -1;
        m->stack_size = (size_t)n;
        return 0;
    }
    if (strcmp(k, "max_memory") == 0) {
        if (parse_size(p, k, v, 0, 1ULL << 32, &n) < 0)
            return -1;
        if (n % 65536 != 0)
            return perr(p, "max_memory: %llu is not a multiple of the 64K page size", n);
        m->max_memory = n;
        return 0;
    }
    if (strcmp(k, "deadline") == 0) {
        if (parse_duration(p, k, v, 3600 * 1000, &ms) < 0)
            return -1;
        m->deadline_ms = ms;
        return 0;
    }
    if (strcmp(k, "max_request_size") == 0) {
        if (parse_size(p, k, v, 256, 1ULL << 30, &n) < 0)
            return -1;
        m->max_request_size = (size_t)n;
        return 0;
    }
    if (strcmp(k, "wasi_dir") == 0) {
        struct stat st;
        char *full;
        if (*v == '\0') {
            free(m->wasi_dir);
            m->wasi_dir = NULL;
            return 0;
        }
        if (v[0] == '/')
            full = strdup(v);
        else if (asprintf(&full, "%s/%s", p->dir, v) < 0)
            full = NULL;
        if (full == NULL)
            return perr(p, "out of memory");
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode)) {
            perr(p, "wasi_dir: '%s' is not a directory", full);
            free(full);
            return -1;
        }
        free(m->wasi_dir);
        m->wasi_dir = full;
        return 0;
    }
    if (strcmp(k, "wasi_output_max") == 0) {
        if (parse_size(p, k, v, 1, 1ULL << 30, &n) < 0)
            return -1;
        m->wasi_output_max = (size_t)n;
        return 0;
    }
    if (strcmp(k, "reset") == 0) {
        if (strcmp(v, "auto") == 0)
            m->reset = WASMSLOT_RESET_AUTO;
        else if (strcmp(v, "madvise") == 0)
            m->reset = WASMSLOT_RESET_MADVISE;
        else if (strcmp(v, "keep") == 0)
            m->reset = WASMSLOT_RESET_KEEP;
        else
            return perr(p, "reset: '%s' is not auto, madvise or keep", v);
        return 0;
    }
    if (strcmp(k, "engine") == 0) {
        if (strcmp(v, "interp") == 0)
            m->engine = WASMSLOT_ENGINE_INTERP;
        else if (strcmp(v, "native") == 0)
            m->engine = WASMSLOT_ENGINE_NATIVE;
        else
            return perr(p, "engine: '%s' is neither 'native' nor 'interp'", v);
        if (!wasmslot_engine_available(m->engine))
            return perr(p, "engine: this build has no %s tier (configured --without-llvm, or a "
                           "CPU LLVM does not know)", v);
        return 0;
    }
    if (strcmp(k, "reset_keep_max") == 0) {
        if (parse_size(p, k, v, 4096, 1ULL << 32, &n) < 0)
            return -1;
        m->reset_keep_max = (size_t)n;
        return 0;
    }
    if (strcmp(k, "import") == 0)
        return module_import(p, m, v);
    return module_fair_key(p, m, k, v);
}

/* A size of a [shmem] section: whole 64 KiB pages, at most 4 GiB (65536 pages). */
static int shmem_size(struct parser *p, const char *k, const char *v, uint64_t *out)
{
    unsigned long long n = 0; /* gcc -O3 cannot see that perr returns -1 */

    if (parse_size(p, k, v, 0, 1ULL << 32, &n) < 0)
        return -1;
    if (n % 65536 != 0)
        return perr(p, "%s: %llu is not a multiple of the 64K page size", k, n);
    *out = n;
    return 0;
}

static int shmem_key(struct parser *p, const char *k, const char *v)
{
    struct cfg_shmem *sh = &p->cfg->shmems[p->cfg->nshmems - 1];

    if (strcmp(k, "min") == 0)
        return shmem_size(p, k, v, &sh->min);
    if (strcmp(k, "max") == 0)
        return shmem_size(p, k, v, &sh->max);
    return perr(p, "unknown directive '%s' in [shmem %s] (expected min or max)", k, sh->name);
}

static int shmem_section(struct parser *p, const char *name)
{
    struct config *c = p->cfg;
    struct cfg_shmem *shs;

    if (!valid_name(name))
        return perr(p, "[shmem NAME]: the name must be 1-64 characters of A-Z a-z 0-9 _ . -");
    if (cfg_shmem_find(c, name) != NULL)
        return perr(p, "shmem '%s' is defined twice", name);
    shs = realloc(c->shmems, (c->nshmems + 1) * sizeof(*shs));
    if (shs == NULL)
        return perr(p, "out of memory");
    c->shmems = shs;
    memset(&shs[c->nshmems], 0, sizeof(*shs));
    shs[c->nshmems].min = CFG_DEFAULT_SHMEM_MIN;
    shs[c->nshmems].line = p->line;
    shs[c->nshmems].name = strdup(name);
    c->nshmems++;
    if (shs[c->nshmems - 1].name == NULL)
        return perr(p, "out of memory");
    p->sec = SEC_SHMEM;
    return 0;
}

static int section_header(struct parser *p, char *s)
{
    struct config *c = p->cfg;
    char *end = strchr(s, ']');
    char *kind, *name;

    if (end == NULL)
        return perr(p, "section header lacks its closing ']'");
    if (*trim(end + 1) != '\0')
        return perr(p, "unexpected text after the section header");
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
            return perr(p, "[daemon] takes no name");
        if (p->seen_daemon)
            return perr(p, "second [daemon] section");
        p->seen_daemon = true;
        p->sec = SEC_DAEMON;
        return 0;
    }
    if (strcmp(kind, "module") == 0) {
        struct cfg_module *mods;
        if (!valid_name(name))
            return perr(p, "[module NAME]: the name must be 1-64 characters of A-Z a-z 0-9 _ . -");
        if (cfg_module_find(c, name) != NULL)
            return perr(p, "module '%s' is defined twice", name);
        mods = realloc(c->modules, (c->nmodules + 1) * sizeof(*mods));
        if (mods == NULL)
            return perr(p, "out of memory");
        c->modules = mods;
        memset(&mods[c->nmodules], 0, sizeof(*mods));
        mods[c->nmodules].name = strdup(name);
        mods[c->nmodules].slots = CFG_DEFAULT_SLOTS;
        mods[c->nmodules].deadline_ms = CFG_DEFAULT_DEADLINE_MS;
        mods[c->nmodules].max_request_size = 0; /* the daemon's, filled in at the end */
        mods[c->nmodules].wasi_output_max = CFG_DEFAULT_WASI_OUTPUT_MAX;
        mods[c->nmodules].max_table_elements = CFG_DEFAULT_MAX_TABLE;
        mods[c->nmodules].max_memory = CFG_DEFAULT_MAX_MEMORY;
        mods[c->nmodules].stack_size = CFG_DEFAULT_STACK_SIZE;
        mods[c->nmodules].reset = WASMSLOT_RESET_AUTO;
        mods[c->nmodules].reset_keep_max = WASMSLOT_RESET_KEEP_DEFAULT;
        mods[c->nmodules].engine = wasmslot_engine_available(WASMSLOT_ENGINE_NATIVE)
                                       ? WASMSLOT_ENGINE_NATIVE
                                       : WASMSLOT_ENGINE_INTERP;
        mods[c->nmodules].line = p->line;
        c->nmodules++;
        if (mods[c->nmodules - 1].name == NULL)
            return perr(p, "out of memory");
        p->sec = SEC_MODULE;
        return 0;
    }
    if (strcmp(kind, "shmem") == 0)
        return shmem_section(p, name);
    if (strcmp(kind, "listen") == 0) {
        char msg[256];
        if (cfg__listen_section(c, name, p->line, msg, sizeof(msg)) < 0)
            return perr(p, "%s", msg);
        p->sec = SEC_LISTEN;
        return 0;
    }
    return perr(p,
                "unknown section [%s] (expected [daemon], [module NAME], [shmem NAME] or "
                "[listen NAME])",
                kind);
}

static int parse_file(struct parser *p, const char *path);

/* A directive set twice in one section is a mistake (which one would win?): an error with
 * both places. `import` lines bind one memory each and may repeat. */
static int seen_twice(struct parser *p, const char *k)
{
    struct seen *ns;

    if (strcmp(k, "import") == 0)
        return 0;
    for (size_t i = 0; i < p->nseen; i++) {
        if (strcmp(p->seen[i].key, k) != 0)
            continue;
        if (strcmp(p->seen[i].file, p->file) == 0)
            return perr(p, "'%s' is set twice in this section (first at line %d)", k,
                        p->seen[i].line);
        return perr(p, "'%s' is set twice in this section (first at %s:%d)", k, p->seen[i].file,
                    p->seen[i].line);
    }
    ns = realloc(p->seen, (p->nseen + 1) * sizeof(*ns));
    if (ns == NULL)
        return perr(p, "out of memory");
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
static int include(struct parser *p, const char *v)
{
    bool wild = strpbrk(v, "*?[") != NULL;
    char *pattern = NULL;
    glob_t g;
    int rc;

    if (*v == '\0')
        return perr(p, "include: expected a file or a pattern such as conf.d/*.conf");
    if (p->depth >= INCLUDE_DEPTH)
        return perr(p, "include: nested more than %d deep (does a file include itself?)",
                    INCLUDE_DEPTH);
    if (v[0] == '/')
        pattern = strdup(v);
    else if (asprintf(&pattern, "%s/%s", p->dir, v) < 0)
        pattern = NULL;
    if (pattern == NULL)
        return perr(p, "out of memory");
    rc = glob(pattern, wild ? 0 : GLOB_NOCHECK, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        free(pattern);
        return 0;
    }
    if (rc != 0) {
        perr(p, "include: cannot read the files of '%s'", pattern);
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

static int parse_line(struct parser *p, char *raw)
{
    char *s = trim(raw);
    char *eq, *k, *v;

    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[')
        return section_header(p, s);
    eq = strchr(s, '=');
    if (eq == NULL)
        return perr(p, "expected 'key = value' or a [section]");
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
        return perr(p, "missing directive name before '='");
    if (v[0] == '"') {
        size_t n = strlen(v);
        if (n < 2 || v[n - 1] != '"')
            return perr(p, "%s: unterminated quoted value", k);
        v[n - 1] = '\0';
        v++;
    }
    if (strcmp(k, "include") == 0)
        return include(p, v);
    if (p->sec != SEC_NONE && seen_twice(p, k) < 0)
        return -1;
    switch (p->sec) {
    case SEC_NONE:
        return perr(p, "directive '%s' outside any section", k);
    case SEC_DAEMON:
        return daemon_key(p, k, v);
    case SEC_MODULE:
        return module_key(p, k, v);
    case SEC_SHMEM:
        return shmem_key(p, k, v);
    case SEC_LISTEN: {
        char msg[256];
        return cfg__listen_key(p->cfg, k, v, p->line, msg, sizeof(msg)) < 0 ? perr(p, "%s", msg)
                                                                            : 0;
    }
    }
    return perr(p, "internal error");
}

/* Cross-field checks once every line has been read. */
/* Runs without a deadline must leave an executor thread to the others: by default all but
 * one may run at once, and a pool with deadline = 0 needs at least two threads. */
static int finish_fair(struct parser *p)
{
    struct config *c = p->cfg;
    const struct cfg_module *unlimited = NULL;

    for (size_t i = 0; i < c->nmodules && unlimited == NULL; i++)
        if (c->modules[i].deadline_ms == 0)
            unlimited = &c->modules[i];
    if (c->max_unlimited_runs == 0)
        c->max_unlimited_runs = c->executor_threads > 1 ? c->executor_threads - 1 : 1;
    if (unlimited == NULL)
        return 0;
    p->line = unlimited->line;
    if (c->executor_threads < 2)
        return perr(p,
                    "[module %s] deadline = 0 needs executor_threads >= 2: its runs may never "
                    "end, and one thread must stay for the runs that do",
                    unlimited->name);
    if (c->max_unlimited_runs >= c->executor_threads)
        return perr(p,
                    "max_unlimited_runs %u must be below executor_threads (%u), so that runs "
                    "without a deadline cannot take every executor thread",
                    c->max_unlimited_runs, c->executor_threads);
    return 0;
}

static int finish(struct parser *p)
{
    struct config *c = p->cfg;

    p->line = 0;
    if (c->nmodules == 0)
        return perr(p, "no [module NAME] section: the daemon would have nothing to serve");
    for (size_t i = 0; i < c->nmodules; i++) {
        struct cfg_module *m = &c->modules[i];
        p->line = m->line;
        if (m->path == NULL)
            return perr(p, "[module %s] has no 'path'", m->name);
        if (m->max_request_size == 0)
            m->max_request_size = c->max_request_size;
        else if (m->max_request_size > c->max_request_size)
            return perr(p,
                        "[module %s] max_request_size %zu exceeds the daemon's max_request_size "
                        "%zu",
                        m->name, m->max_request_size, c->max_request_size);
        for (size_t k = 0; k < m->nimports; k++) {
            p->line = m->imports[k].line;
            if (cfg_shmem_find(c, m->imports[k].shmem) == NULL)
                return perr(p, "import %s.%s: no [shmem %s] section", m->imports[k].module,
                            m->imports[k].name, m->imports[k].shmem);
        }
    }
    for (size_t i = 0; i < c->nshmems; i++) {
        const struct cfg_shmem *sh = &c->shmems[i];
        p->line = sh->line;
        if (sh->max == 0)
            return perr(p, "[shmem %s] has no 'max' (a shared memory needs a maximum size)",
                        sh->name);
        if (sh->min > sh->max)
            return perr(p, "[shmem %s] min %llu is larger than max %llu", sh->name,
                        (unsigned long long)sh->min, (unsigned long long)sh->max);
    }
    if (finish_fair(p) < 0)
        return -1;
    {
        char msg[256];
        if (cfg__listen_finish(c, &p->line, msg, sizeof(msg)) < 0)
            return perr(p, "%s", msg);
    }
    p->line = 0;
    return 0;
}

static void parser_free(struct parser *p)
{
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    free(p->seen);
    free(p->dir);
}

/* Read the lines of the file at path into p (the top-level file or an included one). */
static int parse_file(struct parser *p, const char *path)
{
    char **files, *name, *slash, *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;
    int rc = 0;

    files = realloc(p->files, (p->nfiles + 1) * sizeof(*files));
    if (files == NULL)
        return perr(p, "out of memory");
    p->files = files;
    name = strdup(path);
    p->dir = NULL;
    if (name == NULL || (p->dir = strdup(path)) == NULL) {
        free(name);
        return perr(p, "out of memory");
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
        return perr(p, "cannot open: %s", strerror(errno));
    while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
        char *line = buf;
        p->line++;
        if ((size_t)n != strlen(buf)) {
            rc = perr(p, "NUL byte in the file");
            break;
        }
        /* A UTF-8 byte order mark, which some editors write, is not part of the text. */
        if (p->line == 1 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
            line += 3;
        rc = parse_line(p, line);
    }
    if (rc == 0 && ferror(f)) {
        p->line = 0;
        rc = perr(p, "read error: %s", strerror(errno));
    }
    fclose(f);
    free(buf);
    return rc;
}

struct config *cfg_load(const char *path, char *err, size_t errlen)
{
    struct parser p = {.file = path, .err = err, .errlen = errlen};
    struct config *c = NULL;

    if (errlen > 0)
        err[0] = '\0';
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        perr(&p, "out of memory");
        goto fail;
    }
    p.cfg = c;
    c->file = strdup(path);
    c->socket_path = strdup(CFG_DEFAULT_SOCKET);
    if (c->file == NULL || c->socket_path == NULL) {
        perr(&p, "out of memory");
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
    if (finish(&p) < 0)
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

const char *cfg_log_level_name(enum cfg_log_level l)
{
    switch (l) {
    case CFG_LOG_ERROR:
        return "error";
    case CFG_LOG_WARNING:
        return "warning";
    case CFG_LOG_INFO:
        return "info";
    case CFG_LOG_DEBUG:
        return "debug";
    }
    return "?";
}
