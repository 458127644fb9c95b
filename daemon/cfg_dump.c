/* cfg_dump.c: prints a parsed configuration back in wasmslotd.conf syntax, every default filled
 * in (`wasmslotd -T`). */
#include "config.h"

#include "cfg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A size the way the file would say it: the largest unit that divides it. */
static const char *size_str(char *buf, size_t cap, uint64_t n)
{
    if (n != 0 && n % (1u << 30) == 0)
        snprintf(buf, cap, "%" PRIu64 "G", n >> 30);
    else if (n != 0 && n % (1u << 20) == 0)
        snprintf(buf, cap, "%" PRIu64 "M", n >> 20);
    else if (n != 0 && n % (1u << 10) == 0)
        snprintf(buf, cap, "%" PRIu64 "K", n >> 10);
    else
        snprintf(buf, cap, "%" PRIu64, n);
    return buf;
}

/* A duration: 0, or the largest of m, s and ms that divides it. */
static const char *dur_str(char *buf, size_t cap, uint64_t ms)
{
    if (ms == 0)
        snprintf(buf, cap, "0");
    else if (ms % 60000 == 0)
        snprintf(buf, cap, "%" PRIu64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(buf, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(buf, cap, "%" PRIu64 "ms", ms);
    return buf;
}

static const char *reset_name(enum wasmslot_reset_mode r)
{
    switch (r) {
    case WASMSLOT_RESET_MADVISE:
        return "madvise";
    case WASMSLOT_RESET_KEEP:
        return "keep";
    default:
        return "auto";
    }
}

static void dump_listen(const struct cfg_listen *l, FILE *f)
{
    fprintf(f, "\n[listen %s]\n", l->name);
    if (l->socket_path != NULL) {
        fprintf(f, "socket = %s\n", l->socket_path);
        fprintf(f, "socket_mode = %04o\n", (unsigned)l->socket_mode);
    } else if (strchr(l->tcp_host, ':') != NULL) {
        fprintf(f, "tcp = [%s]:%u\n", l->tcp_host, (unsigned)l->tcp_port);
    } else {
        fprintf(f, "tcp = %s:%u\n", l->tcp_host, (unsigned)l->tcp_port);
    }
    fprintf(f, "script_name = %s\n", l->script_name ? "yes" : "no");
    for (size_t k = 0; k < l->nroutes; k++)
        fprintf(f, "route = %s %s\n", l->routes[k].prefix, l->routes[k].module);
}

void cfg_dump(const struct config *c, FILE *f)
{
    char a[32];

    fprintf(f, "[daemon]\n");
    fprintf(f, "socket = %s\n", c->socket_path);
    if (c->socket_owner_set)
        fprintf(f, "socket_owner = %u\n", (unsigned)c->socket_uid);
    else
        fprintf(f, "socket_owner =\n");
    if (c->socket_group_set)
        fprintf(f, "socket_group = %u\n", (unsigned)c->socket_gid);
    else
        fprintf(f, "socket_group =\n");
    fprintf(f, "socket_mode = %04o\n", (unsigned)c->socket_mode);
    fprintf(f, "user = %s\n", c->user_set ? c->user_name : "");
    if (c->group_set)
        fprintf(f, "group = %s\n", c->group_name);
    else
        fprintf(f, "group =\n");
    fprintf(f, "workers = %u\n", c->workers);
    fprintf(f, "executor_threads = %u\n", c->executor_threads);
    fprintf(f, "log = %s\n",
            c->log_target == CFG_LOG_FILE     ? c->log_file
            : c->log_target == CFG_LOG_SYSLOG ? "syslog"
                                              : "stderr");
    fprintf(f, "log_level = %s\n", cfg_log_level_name(c->log_level));
    fprintf(f, "access_log = %s\n", c->access_log != NULL ? c->access_log : "off");
    fprintf(f, "slow_log_threshold = %s\n", dur_str(a, sizeof(a), c->slow_log_threshold_ms));
    fprintf(f, "pid_file = %s\n", c->pid_file != NULL ? c->pid_file : "");
    fprintf(f, "max_request_size = %s\n", size_str(a, sizeof(a), c->max_request_size));
    fprintf(f, "max_instances_per_connection = %u\n", c->max_instances_per_connection);
    fprintf(f, "max_inflight_per_connection = %u\n", c->max_inflight_per_connection);
    fprintf(f, "max_connections = %u\n", c->max_connections);
    fprintf(f, "idle_timeout = %s\n", dur_str(a, sizeof(a), c->idle_timeout_ms));
    fprintf(f, "max_reply_buffer = %s\n", size_str(a, sizeof(a), c->max_reply_buffer));
    fprintf(f, "grace_period = %s\n", dur_str(a, sizeof(a), c->grace_period_ms));
    fprintf(f, "max_connections_per_uid = %u\n", c->max_connections_per_uid);
    fprintf(f, "max_total_memory = %s\n", size_str(a, sizeof(a), c->max_total_memory));
    fprintf(f, "max_unlimited_runs = %u\n", c->max_unlimited_runs);
    fprintf(f, "http_listen = %s\n", c->http_listen != NULL ? c->http_listen : "");
    fprintf(f, "cache_dir = %s\n", c->cache_dir != NULL ? c->cache_dir : "");
    for (size_t i = 0; i < c->nshmems; i++) {
        const struct cfg_shmem *sh = &c->shmems[i];
        fprintf(f, "\n[shmem %s]\n", sh->name);
        fprintf(f, "min = %s\n", size_str(a, sizeof(a), sh->min));
        fprintf(f, "max = %s\n", size_str(a, sizeof(a), sh->max));
    }
    for (size_t i = 0; i < c->nmodules; i++) {
        const struct cfg_module *m = &c->modules[i];
        fprintf(f, "\n[module %s]\n", m->name);
        fprintf(f, "path = %s\n", m->path);
        for (size_t k = 0; k < m->nimports; k++)
            fprintf(f, "import = %s.%s shmem:%s\n", m->imports[k].module, m->imports[k].name,
                    m->imports[k].shmem);
        fprintf(f, "slots = %u\n", m->slots);
        fprintf(f, "max_memory = %s\n", size_str(a, sizeof(a), m->max_memory));
        fprintf(f, "max_table_elements = %u\n", m->max_table_elements);
        fprintf(f, "deadline = %s\n", dur_str(a, sizeof(a), m->deadline_ms));
        fprintf(f, "max_request_size = %s\n", size_str(a, sizeof(a), m->max_request_size));
        fprintf(f, "wasi_dir = %s\n", m->wasi_dir != NULL ? m->wasi_dir : "");
        fprintf(f, "wasi_output_max = %s\n", size_str(a, sizeof(a), m->wasi_output_max));
        fprintf(f, "engine = %s\n", wasmslot_engine_name(m->engine));
        fprintf(f, "stack_size = %s\n", size_str(a, sizeof(a), m->stack_size));
        fprintf(f, "unknown_imports = %s\n", m->unknown_imports_trap ? "trap" : "reject");
        fprintf(f, "reset = %s\n", reset_name(m->reset));
        fprintf(f, "reset_keep_max = %s\n", size_str(a, sizeof(a), m->reset_keep_max));
        fprintf(f, "max_instances_per_connection = %u\n", m->max_instances_per_connection);
        fprintf(f, "pool_wait = %s\n", dur_str(a, sizeof(a), m->pool_wait_ms));
    }
    for (size_t i = 0; i < c->nlistens; i++)
        dump_listen(&c->listens[i], f);
}
