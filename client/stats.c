/* stats.c: the client's human views of the daemon's statistics: `wasmslot stats` (one line
 * per pool, then the daemon and its shared memories; per worker with --workers) and
 * `wasmslot top` (the same, live, as rates over the last refresh). */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

uint64_t client_num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_integer(v) && json_integer_value(v) > 0)
        return (uint64_t)json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) > 0)
        return (uint64_t)json_real_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

static double real(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : 0;
}

const char *client_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "?";
}

const char *client_time_text(double s, char *buf, size_t len)
{
    if (s <= 0)
        snprintf(buf, len, "-");
    else if (s < 1e-3)
        snprintf(buf, len, "%.0fus", s * 1e6);
    else if (s < 1)
        snprintf(buf, len, "%.1fms", s * 1e3);
    else
        snprintf(buf, len, "%.2fs", s);
    return buf;
}

static const char *duration_text(uint64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
    return buf;
}

static const char *bytes_text(uint64_t b, char *buf, size_t len)
{
    if (b < 1024)
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    else if (b < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", (double)b / 1024);
    else if (b < (uint64_t)1024 * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", (double)b / (1024 * 1024));
    else
        snprintf(buf, len, "%.1f GiB", (double)b / (1024.0 * 1024 * 1024));
    return buf;
}

static const char *ratio_text(const json_t *v, char *buf, size_t len)
{
    if (!json_is_number(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%%", json_number_value(v) * 100);
    return buf;
}

#define POOL_FMT "%-10s %5s %4s %4s %4s %8s %6s %6s %7s %5s %5s %4s %4s %13s %13s\n"
#define POOL_HEAD                                                                                  \
    POOL_FMT, "POOL", "SLOTS", "BUSY", "FREE", "WARM", "REQUESTS", "ERRORS", "WARM%", "RESETS",    \
        "TRAPS", "TMOUT", "EXH", "PEAK", "RUN p50/p99", "WAIT p50/p99"

/* One pool's line of the table, under name ("add", or "add/3" for worker 3 alone). */
static void pool_line(const json_t *p, const char *name)
{
    static const char *const keys[] = {"slots",    "slots_busy", "slots_free",  "slots_warm",
                                       "requests", "errors",     NULL,          "resets",
                                       "traps",    "timeouts",   "exhaustions", "slots_busy_peak"};
    char v[12][24], r50[16], r99[16], w50[16], w99[16], run[40], wait[40];

    for (size_t i = 0; i < 12; i++) {
        if (keys[i] == NULL)
            ratio_text(json_object_get(p, "warm_hit_ratio"), v[i], sizeof(v[i]));
        else
            snprintf(v[i], sizeof(v[i]), "%llu", (unsigned long long)client_num(p, keys[i]));
    }
    snprintf(run, sizeof(run), "%s/%s", client_time_text(real(p, "run_p50"), r50, sizeof(r50)),
             client_time_text(real(p, "run_p99"), r99, sizeof(r99)));
    snprintf(wait, sizeof(wait), "%s/%s", client_time_text(real(p, "wait_p50"), w50, sizeof(w50)),
             client_time_text(real(p, "wait_p99"), w99, sizeof(w99)));
    printf(POOL_FMT, name, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
           run, wait);
}

static void daemon_lines(const json_t *sum)
{
    const json_t *d = json_object_get(sum, "daemon");
    size_t i;
    json_t *s;
    char up[32], a[32], b[32];

    printf("daemon: generation %llu, %llu workers, up %s, %llu reloads (%llu failed), %llu worker "
           "restarts\n",
           (unsigned long long)client_num(d, "generation"),
           (unsigned long long)client_num(d, "workers"),
           duration_text((uint64_t)real(d, "uptime_seconds"), up, sizeof(up)),
           (unsigned long long)client_num(d, "reloads"),
           (unsigned long long)client_num(d, "reloads_failed"),
           (unsigned long long)client_num(d, "worker_restarts"));
    printf("        %llu connections open, %llu instances, executor queue %llu, %llu requests, "
           "%llu errors\n",
           (unsigned long long)client_num(d, "connections_open"),
           (unsigned long long)client_num(d, "instances_open"),
           (unsigned long long)client_num(d, "executor_queue"),
           (unsigned long long)client_num(d, "requests"),
           (unsigned long long)client_num(d, "errors"));
    json_array_foreach(json_object_get(sum, "shmem"), i, s)
    {
        printf("shmem %s: %s of %s, %llu grows, %llu waits, %llu notifies, %llu bindings\n",
               client_str(s, "shmem"), bytes_text(client_num(s, "size_bytes"), a, sizeof(a)),
               bytes_text(client_num(s, "max_bytes"), b, sizeof(b)),
               (unsigned long long)client_num(s, "grows"),
               (unsigned long long)client_num(s, "waits"),
               (unsigned long long)client_num(s, "notifies"),
               (unsigned long long)client_num(s, "bindings"));
    }
}

/* The samples of one worker (and the unlabelled ones), to summarise a worker alone. */
static json_t *only_worker(const json_t *stats, const char *worker)
{
    json_t *out = json_array();
    size_t i;
    json_t *s;

    json_array_foreach(stats, i, s)
    {
        const char *w = json_string_value(json_object_get(json_object_get(s, "labels"), "worker"));

        if (w != NULL && strcmp(w, worker) == 0)
            json_array_append(out, s);
    }
    return out;
}

int client_print_stats(const json_t *stats, bool workers)
{
    json_t *sum = proto_stats_summary(stats);
    size_t i, k;
    json_t *p, *w;

    if (sum == NULL) {
        client_say("out of memory");
        return CLIENT_EXIT_ERROR;
    }
    printf(POOL_HEAD);
    json_array_foreach(json_object_get(sum, "pools"), i, p) pool_line(p, client_str(p, "pool"));
    daemon_lines(sum);
    if (workers) {
        printf("\n%-7s %8s %6s %9s %6s %9s %5s %5s %9s\n", "WORKER", "PID", "CONNS", "REQUESTS",
               "ERRORS", "INSTANCES", "QUEUE", "BUSY", "RUNS");
        json_array_foreach(json_object_get(sum, "workers"), i, w)
        {
            printf("%-7s %8llu %6llu %9llu %6llu %9llu %5llu %5llu %9llu\n",
                   client_str(w, "worker"), (unsigned long long)client_num(w, "pid"),
                   (unsigned long long)client_num(w, "connections_open"),
                   (unsigned long long)client_num(w, "requests"),
                   (unsigned long long)client_num(w, "errors"),
                   (unsigned long long)client_num(w, "instances_open"),
                   (unsigned long long)client_num(w, "executor_queue"),
                   (unsigned long long)client_num(w, "slots_busy"),
                   (unsigned long long)client_num(w, "runs"));
        }
        printf("\n" POOL_HEAD);
        json_array_foreach(json_object_get(sum, "workers"), i, w)
        {
            json_t *mine = only_worker(stats, client_str(w, "worker"));
            json_t *ws = mine != NULL ? proto_stats_summary(mine) : NULL;
            char name[80];

            json_array_foreach(json_object_get(ws, "pools"), k, p)
            {
                snprintf(name, sizeof(name), "%s/%s", client_str(p, "pool"),
                         client_str(w, "worker"));
                pool_line(p, name);
            }
            json_decref(ws);
            json_decref(mine);
        }
    }
    json_decref(sum);
    return CLIENT_EXIT_OK;
}
