/* cfg_daemon.c: the directives of the [daemon] section: the socket, workers and threads,
 * logging, the limits that keep clients apart, and who runs guest code. */
#include "config.h"

#include "cfg_internal.h"

#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

/* `user`: a user name or number; empty: none. Sets the group to the user's primary group
 * unless `group` is given (in any order). */
static int ops_user(struct cfg__parser *p, const char *v)
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
        if (cfg__parse_uint(p, "user", v, 0, UINT32_MAX - 1, &n) < 0)
            return -1;
        pw = getpwuid((uid_t)n);
        if (pw == NULL)
            return cfg__perr(p, "user: no user has uid %llu (the workers need its primary group)",
                             n);
    }
    if (pw == NULL)
        return cfg__perr(p, "user: unknown user '%s'", v);
    c->user_uid = pw->pw_uid;
    if (!c->group_set)
        c->user_gid = pw->pw_gid;
    c->user_set = true;
    return cfg__set_str(p, &c->user_name, pw->pw_name);
}

/* `group`: a group name or number; empty: the user's primary group. */
static int ops_group(struct cfg__parser *p, const char *v)
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
        if (cfg__parse_uint(p, "group", v, 0, UINT32_MAX - 1, &n) < 0)
            return -1;
        c->user_gid = (gid_t)n;
        gr = getgrgid((gid_t)n);
    } else if (gr == NULL) {
        return cfg__perr(p, "group: unknown group '%s'", v);
    } else {
        c->user_gid = gr->gr_gid;
    }
    c->group_set = true;
    return cfg__set_str(p, &c->group_name, gr != NULL ? gr->gr_name : v);
}

/* The [daemon] directives of operation: the workers' user and group, the access and slow
 * logs. */
static int daemon_ops_key(struct cfg__parser *p, const char *k, const char *v)
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
            return cfg__perr(p, "access_log: expected an absolute file path or off, got '%s'", v);
        return cfg__set_str(p, &c->access_log, v);
    }
    if (strcmp(k, "slow_log_threshold") == 0)
        return cfg__parse_duration(p, k, v, 3600 * 1000, &c->slow_log_threshold_ms);
    return cfg__perr(p, "unknown directive '%s' in [daemon]", k);
}

/* The [daemon] directives that keep one client from starving or exhausting the others. */
static int daemon_fair_key(struct cfg__parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;

    if (strcmp(k, "max_connections_per_uid") == 0) {
        if (cfg__parse_uint(p, k, v, 0, 1000000, &n) < 0)
            return -1;
        c->max_connections_per_uid = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_total_memory") == 0) {
        if (cfg__parse_size(p, k, v, 16ULL << 20, 1ULL << 50, &n) < 0)
            return -1;
        c->max_total_memory = n;
        return 0;
    }
    if (strcmp(k, "max_unlimited_runs") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 1024, &n) < 0)
            return -1;
        c->max_unlimited_runs = (unsigned)n;
        return 0;
    }
    return daemon_ops_key(p, k, v);
}

/* The [daemon] limits on connections: how many, how long idle, how many unsent bytes. */
static int daemon_limit_key(struct cfg__parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "max_connections") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 1000000, &n) < 0)
            return -1;
        c->max_connections = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "idle_timeout") == 0) {
        if (cfg__parse_duration(p, k, v, 24 * 3600 * 1000, &ms) < 0)
            return -1;
        c->idle_timeout_ms = ms;
        return 0;
    }
    if (strcmp(k, "max_reply_buffer") == 0) {
        /* At least the 4 MiB above which a connection's requests are no longer read. */
        if (cfg__parse_size(p, k, v, 4ULL << 20, 1ULL << 32, &n) < 0)
            return -1;
        c->max_reply_buffer = (size_t)n;
        return 0;
    }
    return daemon_fair_key(p, k, v);
}

int cfg__daemon_key(struct cfg__parser *p, const char *k, const char *v)
{
    struct config *c = p->cfg;
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "socket") == 0) {
        if (v[0] != '/')
            return cfg__perr(p, "socket: '%s' must be an absolute path", v);
        /* sun_path holds 108 bytes including the terminating NUL. */
        if (strlen(v) >= 108)
            return cfg__perr(p, "socket: path is longer than 107 bytes");
        return cfg__set_str(p, &c->socket_path, v);
    }
    if (strcmp(k, "socket_owner") == 0) {
        struct passwd *pw;
        if (*v == '\0') {
            c->socket_owner_set = false;
            return 0;
        }
        pw = getpwnam(v);
        if (pw == NULL) {
            if (cfg__parse_uint(p, k, v, 0, UINT32_MAX - 1, &n) < 0)
                return cfg__perr(p, "socket_owner: unknown user '%s'", v);
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
            if (cfg__parse_uint(p, k, v, 0, UINT32_MAX - 1, &n) < 0)
                return cfg__perr(p, "socket_group: unknown group '%s'", v);
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
            return cfg__perr(p, "socket_mode: expected an octal mode such as 0660, got '%s'", v);
        if ((m & 0600) != 0600)
            return cfg__perr(p, "socket_mode: %04lo leaves the owner unable to connect", m);
        c->socket_mode = (mode_t)m;
        return 0;
    }
    if (strcmp(k, "workers") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 256, &n) < 0)
            return -1;
        c->workers = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "executor_threads") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 256, &n) < 0)
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
            return cfg__set_str(p, &c->log_file, v);
        } else {
            return cfg__perr(p, "log: expected stderr, syslog or an absolute file path, got '%s'",
                             v);
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
        return cfg__perr(p, "log_level: expected error, warning, info or debug, got '%s'", v);
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
            return cfg__perr(p, "%s", err);
        return cfg__set_str(p, &c->http_listen, v);
    }
    if (strcmp(k, "cache_dir") == 0) {
        free(c->cache_dir);
        c->cache_dir = NULL;
        if (*v == '\0')
            return 0;
        if (v[0] != '/')
            return cfg__perr(p, "cache_dir: '%s' must be an absolute path", v);
        return cfg__set_str(p, &c->cache_dir, v);
    }
    if (strcmp(k, "pid_file") == 0) {
        if (*v == '\0') {
            free(c->pid_file);
            c->pid_file = NULL;
            return 0;
        }
        if (v[0] != '/')
            return cfg__perr(p, "pid_file: '%s' must be an absolute path", v);
        return cfg__set_str(p, &c->pid_file, v);
    }
    if (strcmp(k, "max_request_size") == 0) {
        if (cfg__parse_size(p, k, v, 256, 1ULL << 30, &n) < 0)
            return -1;
        c->max_request_size = (size_t)n;
        return 0;
    }
    if (strcmp(k, "max_instances_per_connection") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 1000000, &n) < 0)
            return -1;
        c->max_instances_per_connection = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_inflight_per_connection") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 1000000, &n) < 0)
            return -1;
        c->max_inflight_per_connection = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "grace_period") == 0) {
        if (cfg__parse_duration(p, k, v, 3600 * 1000, &ms) < 0)
            return -1;
        c->grace_period_ms = ms;
        return 0;
    }
    return daemon_limit_key(p, k, v);
}
