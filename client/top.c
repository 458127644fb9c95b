/* top.c: `wasmslot top`, a live view of the daemon: every second, per pool the request and
 * error rates, warm hits, busy slots and run and queue-wait percentiles over that second, per
 * worker its load; plain terminal escape sequences, q to quit. */
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

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
    (void)sig;
    top_stop = 1;
}

/* The element of arr whose key field equals that of like; NULL when there is none. */
static const json_t *find(const json_t *arr, const char *key, const json_t *like)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i,
                       e) if (strcmp(client_str(e, key), client_str(like, key)) == 0) return e;
    return NULL;
}

/* now - before of a counter (0 when it went down: a reset the daemon should never show). */
static uint64_t delta(const json_t *now, const json_t *before, const char *key)
{
    uint64_t a = client_num(now, key), b = before != NULL ? client_num(before, key) : 0;

    return a > b ? a - b : 0;
}

/* The q-quantiles of what a histogram counted between two summaries. */
static void interval_quantiles(const json_t *now, const json_t *before, const char *key,
                               double *p50, double *p99)
{
    uint64_t cum[PROTO_STATS_BUCKETS + 1];
    const json_t *a = json_object_get(now, key);
    const json_t *b = before != NULL ? json_object_get(before, key) : NULL;

    for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++) {
        uint64_t x = json_is_integer(json_array_get(a, i))
                         ? (uint64_t)json_integer_value(json_array_get(a, i))
                         : 0;
        uint64_t y = json_is_integer(json_array_get(b, i))
                         ? (uint64_t)json_integer_value(json_array_get(b, i))
                         : 0;
        cum[i] = x > y ? x - y : 0;
    }
    *p50 = proto_stats_quantile(cum, 0.5);
    *p99 = proto_stats_quantile(cum, 0.99);
}

static void frame(const char *socket, const json_t *sum, const json_t *prev, double dt)
{
    const json_t *d = json_object_get(sum, "daemon");
    size_t i;
    json_t *p, *w;
    char a[16], b[16], c[16], e[16], run[40], wait[40], ratio[16];

    /* Home, clear to the end of the screen: no flicker from clearing first. */
    fputs("\033[H", stdout);
    printf(
        "wasmslot top - %s - generation %llu, %llu workers, up %llus, executor queue %llu\033[K\n",
        socket, (unsigned long long)client_num(d, "generation"),
        (unsigned long long)client_num(d, "workers"),
        (unsigned long long)client_num(d, "uptime_seconds"),
        (unsigned long long)client_num(d, "executor_queue"));
    printf("%s; press q to quit\033[K\n\033[K\n",
           prev == NULL ? "rates from the next refresh" : "rates per second over the last refresh");
    printf("%-12s %9s %7s %6s %9s %5s %15s %15s %6s %6s\033[K\n", "POOL", "REQ/s", "ERR/s", "WARM%",
           "BUSY", "PEAK", "RUN p50/p99", "WAIT p50/p99", "TRAPS", "EXH");
    json_array_foreach(json_object_get(sum, "pools"), i, p)
    {
        const json_t *q = prev != NULL ? find(json_object_get(prev, "pools"), "pool", p) : NULL;
        uint64_t inst = delta(p, q, "instantiations");
        double r50, r99, w50, w99;
        char busy[32];

        interval_quantiles(p, q, "run_hist", &r50, &r99);
        interval_quantiles(p, q, "wait_hist", &w50, &w99);
        snprintf(run, sizeof(run), "%s/%s", client_time_text(r50, a, sizeof(a)),
                 client_time_text(r99, b, sizeof(b)));
        snprintf(wait, sizeof(wait), "%s/%s", client_time_text(w50, c, sizeof(c)),
                 client_time_text(w99, e, sizeof(e)));
        if (inst > 0)
            snprintf(ratio, sizeof(ratio), "%.1f%%",
                     100.0 * (double)delta(p, q, "warm_hits") / (double)inst);
        else
            snprintf(ratio, sizeof(ratio), "-");
        snprintf(busy, sizeof(busy), "%llu/%llu", (unsigned long long)client_num(p, "slots_busy"),
                 (unsigned long long)client_num(p, "slots"));
        printf("%-12s %9.1f %7.1f %6s %9s %5llu %15s %15s %6llu %6llu\033[K\n",
               client_str(p, "pool"), prev != NULL ? (double)delta(p, q, "requests") / dt : 0,
               prev != NULL ? (double)delta(p, q, "errors") / dt : 0, ratio, busy,
               (unsigned long long)client_num(p, "slots_busy_peak"), run, wait,
               (unsigned long long)client_num(p, "traps"),
               (unsigned long long)client_num(p, "exhaustions"));
    }
    printf("\033[K\n%-7s %8s %9s %6s %9s %5s %5s\033[K\n", "WORKER", "PID", "REQ/s", "CONNS",
           "INSTANCES", "QUEUE", "BUSY");
    json_array_foreach(json_object_get(sum, "workers"), i, w)
    {
        const json_t *q = prev != NULL ? find(json_object_get(prev, "workers"), "worker", w) : NULL;

        if (client_num(w, "pid") == 0 && client_num(w, "requests") == 0)
            continue;
        printf("%-7s %8llu %9.1f %6llu %9llu %5llu %5llu\033[K\n", client_str(w, "worker"),
               (unsigned long long)client_num(w, "pid"),
               prev != NULL ? (double)delta(w, q, "requests") / dt : 0,
               (unsigned long long)client_num(w, "connections_open"),
               (unsigned long long)client_num(w, "instances_open"),
               (unsigned long long)client_num(w, "executor_queue"),
               (unsigned long long)client_num(w, "slots_busy"));
    }
    fputs("\033[J", stdout);
    fflush(stdout);
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One stats request; its summary, or NULL after saying why (*status set). */
static json_t *fetch(struct client_conn *c, const char *socket, int *status)
{
    struct proto_reply rep;
    json_t *req = proto_request_new(NULL, PROTO_OP_STATS), *sum;
    int rc;

    if (req == NULL) {
        *status = CLIENT_EXIT_ERROR;
        return NULL;
    }
    rc = client_request(c, req, &rep);
    if (rc < 0) {
        client_say("%s: %s", socket, strerror(-rc));
        *status = CLIENT_EXIT_CONN;
        return NULL;
    }
    if (!rep.ok || rep.stats == NULL) {
        client_say("%s: %s", rep.error_code != NULL ? rep.error_code : "stats",
                   rep.message != NULL ? rep.message : "no stats in the reply");
        proto_reply_release(&rep);
        *status = CLIENT_EXIT_ERROR;
        return NULL;
    }
    sum = proto_stats_summary(rep.stats);
    proto_reply_release(&rep);
    if (sum == NULL) {
        client_say("out of memory");
        *status = CLIENT_EXIT_ERROR;
    }
    return sum;
}

int client_cmd_top(const struct client_opts *o, int argc, char **argv)
{
    struct client_conn c;
    struct termios saved, raw;
    struct sigaction sa = {.sa_handler = on_signal};
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    bool in_open = true;
    long count = -1;
    double interval = 1, then = 0;
    json_t *prev = NULL;
    int status = CLIENT_EXIT_OK, rc;

    for (int i = 1; i < argc; i++) {
        char *end = NULL;

        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            count = strtol(argv[++i], &end, 10);
        else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc)
            interval = strtod(argv[++i], &end);
        if (end == NULL || *end != '\0' || count == 0 || !(interval >= 0.1 && interval <= 3600)) {
            client_say("usage: top [-n COUNT] [-i SECONDS (0.1-3600)]");
            return CLIENT_EXIT_ERROR;
        }
    }
    rc = client_connect(&c, o->socket, o->timeout_ms);
    if (rc < 0) {
        client_say("%s: %s", o->socket, strerror(-rc));
        return CLIENT_EXIT_CONN;
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (tty) {
        raw = saved;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    /* The alternate screen, cursor hidden: the terminal comes back as it was. */
    fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
    while (!top_stop) {
        json_t *sum = fetch(&c, o->socket, &status);
        double now = mono_s();
        struct pollfd pfd = {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN};
        double wait_until;

        if (sum == NULL)
            break;
        frame(o->socket, sum, prev, now - then);
        json_decref(prev);
        prev = sum;
        then = now;
        if (count > 0 && --count == 0)
            break;
        wait_until = now + interval;
        while (!top_stop && (now = mono_s()) < wait_until) {
            char ch[16];
            ssize_t n;

            if (poll(&pfd, 1, (int)((wait_until - now) * 1000) + 1) <= 0)
                continue;
            n = read(STDIN_FILENO, ch, sizeof(ch));
            if (n <= 0 && n != -1) {
                in_open = false; /* stdin ended: only a signal or -n stops it now */
                pfd.fd = -1;
                continue;
            }
            for (ssize_t k = 0; k < n; k++)
                if (ch[k] == 'q' || ch[k] == 'Q')
                    top_stop = 1;
        }
    }
    fputs("\033[?25h\033[?1049l", stdout);
    fflush(stdout);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    json_decref(prev);
    client_close(&c);
    return status;
}
