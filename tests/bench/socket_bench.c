/* socket_bench.c: request latency and throughput of `call` through a real wasmslotd, against
 * the floor of a bare Unix-socket ping-pong of lines of the same sizes, at 1 and 8 clients. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define MAX_ROUNDS  100

static const char ping_request[] = "{\"id\":1,\"op\":\"ping\"}\n";
static const char call_request[] =
    "{\"id\":1,\"op\":\"call\",\"module\":\"add\",\"export\":\"add\","
    "\"args\":[{\"type\":\"i32\",\"value\":1},{\"type\":\"i32\","
    "\"value\":2}]}\n";
/* What the daemon answers; the ping-pong server sends the very same bytes. */
static const char reply[] = "{\"id\":1,\"ok\":true,\"results\":[{\"type\":\"i32\",\"value\":3}]}\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The request every client sends: the call, or a ping for the loop's own cost (-p). */
static const char *request = call_request;
static size_t request_len = sizeof(call_request) - 1;

/* Send one request and read until its reply's newline. Returns 0 or -1. */
static int round_trip(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    if (write(fd, request, request_len) != (ssize_t)request_len)
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        if (buf[got - 1] == '\n')
            return 0;
        if (got == cap)
            return -1;
    }
}

/* ---------------------------------------------------------------- the ping-pong floor */

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];

    /* Answer each complete line with the daemon's reply: same sizes, no work in between. */
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n' && write(fd, reply, sizeof(reply) - 1) < 0)
                goto out;
    }
out:
    close(fd);
    return NULL;
}

/* A child process serving the ping-pong on path, one thread per connection. */
static pid_t start_echo(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    pid_t pid;
    int lfd;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
        perror("socket-bench: echo server");
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        for (;;) {
            pthread_t t;
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0)
                continue;
            if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd) == 0)
                pthread_detach(t);
            else
                close(fd);
        }
    }
    close(lfd);
    return pid;
}

/* ---------------------------------------------------------------- the daemon */

static pid_t start_daemon(const char *daemon, const char *dir, const char *sock, const char *module,
                          unsigned workers, unsigned threads)
{
    char conf[512];
    FILE *f;
    pid_t pid;

    snprintf(conf, sizeof(conf), "%s/bench.conf", dir);
    f = fopen(conf, "w");
    if (f == NULL) {
        perror(conf);
        exit(1);
    }
    fprintf(f,
            "[daemon]\nsocket = %s\nworkers = %u\nexecutor_threads = %u\nlog = stderr\n"
            "log_level = warning\ngrace_period = 1s\nmax_inflight_per_connection = 1000\n"
            "[module add]\npath = %s\nslots = 64\n",
            sock, workers, threads, module);
    fclose(f);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        execl(daemon, "wasmslotd", "-f", "-c", conf, (char *)NULL);
        fprintf(stderr, "socket-bench: cannot run %s: %s\n", daemon, strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        int fd = connect_to(sock);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "socket-bench: wasmslotd exited at start-up\n");
            exit(1);
        }
        usleep(10000);
    }
    fprintf(stderr, "socket-bench: wasmslotd did not come up\n");
    kill(pid, SIGKILL);
    exit(1);
}

/* ---------------------------------------------------------------- server CPU time */

/* User + system CPU seconds of process pid (its exited threads included), or 0. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The fields after the command name: state is field 3, utime 14, stime 15. */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of pid and of its children (the daemon's workers), recursively. Latency on a
 * shared machine moves with everyone else's load; the server's CPU time per request much
 * less, so both are printed. */
static double tree_cpu_s(pid_t pid)
{
    char path[64];
    double sum = proc_cpu_s(pid);
    FILE *f;
    int child;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return sum;
    while (fscanf(f, "%d", &child) == 1)
        sum += tree_cpu_s((pid_t)child);
    fclose(f);
    return sum;
}

/* ---------------------------------------------------------------- clients */

struct client {
    pthread_t tid;
    const char *path;
    unsigned n;
    double *lat; /* seconds per request */
    pthread_barrier_t *go;
    double done_at;
    long csw; /* context switches of the client thread while measured */
    bool failed;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    char buf[4096];
    struct rusage ru0, ru1;
    int fd = connect_to(c->path);

    if (fd < 0) {
        c->failed = true;
        pthread_barrier_wait(c->go);
        return NULL;
    }
    /* Warm up: connection set-up, the pool's first (cold) slot, caches. */
    for (unsigned i = 0; i < 200 && !c->failed; i++)
        c->failed = round_trip(fd, buf, sizeof(buf)) < 0;
    pthread_barrier_wait(c->go);
    getrusage(RUSAGE_THREAD, &ru0);
    for (unsigned i = 0; i < c->n && !c->failed; i++) {
        double t0 = now_s();
        c->failed = round_trip(fd, buf, sizeof(buf)) < 0;
        c->lat[i] = now_s() - t0;
    }
    c->done_at = now_s();
    getrusage(RUSAGE_THREAD, &ru1);
    c->csw = (ru1.ru_nvcsw - ru0.ru_nvcsw) + (ru1.ru_nivcsw - ru0.ru_nivcsw);
    close(fd);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct result {
    double p50_us, p99_us, rps;
    double cpu_us; /* server CPU time per request */
};

static struct result measure(const char *name, const char *path, pid_t server, unsigned nclients,
                             unsigned n)
{
    struct client cl[MAX_CLIENTS];
    pthread_barrier_t go;
    double *all = malloc(sizeof(double) * nclients * n);
    double start, end = 0, cpu0;
    long csw = 0;
    struct result r;

    if (all == NULL) {
        perror("malloc");
        exit(1);
    }
    pthread_barrier_init(&go, NULL, nclients + 1);
    for (unsigned i = 0; i < nclients; i++) {
        cl[i] = (struct client){.path = path, .n = n, .lat = all + (size_t)i * n, .go = &go};
        if (pthread_create(&cl[i].tid, NULL, client_main, &cl[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    pthread_barrier_wait(&go);
    start = now_s();
    cpu0 = tree_cpu_s(server);
    for (unsigned i = 0; i < nclients; i++) {
        pthread_join(cl[i].tid, NULL);
        if (cl[i].failed) {
            fprintf(stderr, "socket-bench: %s: a client failed\n", name);
            exit(1);
        }
        if (cl[i].done_at > end)
            end = cl[i].done_at;
        csw += cl[i].csw;
    }
    /* Warm-up requests ended before the barrier, so this is the measured requests' share. */
    r.cpu_us = (tree_cpu_s(server) - cpu0) * 1e6 / ((double)nclients * n);
    pthread_barrier_destroy(&go);
    qsort(all, (size_t)nclients * n, sizeof(double), cmp_double);
    r.p50_us = all[(size_t)nclients * n / 2] * 1e6;
    r.p99_us = all[(size_t)nclients * n * 99 / 100] * 1e6;
    r.rps = (double)nclients * n / (end - start);
    printf("%-9s clients=%-2u requests=%-7u p50=%8.2fus p99=%8.2fus rps=%10.0f "
           "server-cpu/req=%6.2fus client-csw/req=%.2f\n",
           name, nclients, nclients * n, r.p50_us, r.p99_us, r.rps, r.cpu_us,
           (double)csw / ((double)nclients * n));
    fflush(stdout);
    free(all);
    return r;
}

/* The median of v[0..n) (sorts v). */
static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void)
{
    fprintf(stderr, "usage: socket-bench [-d WASMSLOTD] [-m ADD.WASM] [-n REQUESTS] [-c CLIENTS]\n"
                    "                    [-w WORKERS] [-t EXECUTOR_THREADS] [-r ROUNDS] [-p]\n"
                    "-n requests per measurement, split over the rounds (at least 1000 per\n"
                    "   client and round); -r rounds of floor and daemon measured back to back,\n"
                    "   the ratios being their medians; -p also measures `ping` through the\n"
                    "   daemon (its loop without guest code)\n"
                    "defaults: -d daemon/wasmslotd -m etc/examples/add.wasm -n 100000 -c 8\n"
                    "          -w 2 -t 2 -r 5 (paths relative to the build directory)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *daemon = "daemon/wasmslotd", *module = "etc/examples/add.wasm";
    unsigned n = 100000, many = 8, workers = 2, threads = 2;
    char dir[] = "/tmp/socket-bench-XXXXXX", echo_sock[64], daemon_sock[64], absmod[4096];
    double p50_1[MAX_ROUNDS], rps_1[MAX_ROUNDS], p50_8[MAX_ROUNDS], rps_8[MAX_ROUNDS];
    double cpu_pp1[MAX_ROUNDS], cpu_call1[MAX_ROUNDS], cpu_pp8[MAX_ROUNDS], cpu_call8[MAX_ROUNDS];
    unsigned rounds = 5, per1, per8;
    bool ping_too = false;
    pid_t echo, wsd;
    int opt;

    while ((opt = getopt(argc, argv, "d:m:n:c:w:t:r:ph")) != -1) {
        switch (opt) {
        case 'r':
            rounds = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            ping_too = true;
            break;
        case 'd':
            daemon = optarg;
            break;
        case 'm':
            module = optarg;
            break;
        case 'n':
            n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'c':
            many = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'w':
            workers = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            usage();
        }
    }
    if (n == 0 || many == 0 || many > MAX_CLIENTS || workers == 0 || threads == 0 || rounds == 0 ||
        rounds > MAX_ROUNDS)
        usage();
    /* Each phase of a round: n / rounds requests in all, at least 1000 per client. */
    per1 = n / rounds > 1000 ? n / rounds : 1000;
    per8 = n / rounds / many > 1000 ? n / rounds / many : 1000;
    if (realpath(module, absmod) == NULL) {
        fprintf(stderr, "socket-bench: %s: %s (run from the build directory or use -m)\n", module,
                strerror(errno));
        return 1;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(echo_sock, sizeof(echo_sock), "%s/pingpong.sock", dir);
    snprintf(daemon_sock, sizeof(daemon_sock), "%s/wasmslotd.sock", dir);
    echo = start_echo(echo_sock);
    wsd = start_daemon(daemon, dir, daemon_sock, absmod, workers, threads);
    printf("socket-bench: %u round(s) of %u requests (1 client) and %u x %u (%u clients); "
           "wasmslotd with %u worker(s) x %u executor thread(s); request %zu bytes, reply %zu "
           "bytes\n",
           rounds, per1, many, per8, many, workers, threads, sizeof(call_request) - 1,
           sizeof(reply) - 1);

    /* The machines are shared and noisy: load from elsewhere moves both sides of a ratio
     * only when it lasts across the pair. So the floor and the daemon are measured back to
     * back in each round, and the ratios are the median over the rounds. */
    for (unsigned r = 0; r < rounds; r++) {
        struct result pp1, call1, pp8, call8;

        printf("-- round %u\n", r + 1);
        pp1 = measure("pingpong", echo_sock, echo, 1, per1);
        call1 = measure("call", daemon_sock, wsd, 1, per1);
        if (ping_too) {
            /* The daemon's own floor: a request answered by the event loop, no guest code. */
            request = ping_request;
            request_len = sizeof(ping_request) - 1;
            measure("ping", daemon_sock, wsd, 1, per1);
            request = call_request;
            request_len = sizeof(call_request) - 1;
        }
        pp8 = measure("pingpong", echo_sock, echo, many, per8);
        call8 = measure("call", daemon_sock, wsd, many, per8);
        if (ping_too) {
            request = ping_request;
            request_len = sizeof(ping_request) - 1;
            measure("ping", daemon_sock, wsd, many, per8);
            request = call_request;
            request_len = sizeof(call_request) - 1;
        }
        p50_1[r] = call1.p50_us / pp1.p50_us;
        rps_1[r] = call1.rps / pp1.rps;
        p50_8[r] = call8.p50_us / pp8.p50_us;
        rps_8[r] = call8.rps / pp8.rps;
        cpu_pp1[r] = pp1.cpu_us;
        cpu_call1[r] = call1.cpu_us;
        cpu_pp8[r] = pp8.cpu_us;
        cpu_call8[r] = call8.cpu_us;
        printf("   round %u: 1 client p50=%.2f rps=%.2f; %u clients p50=%.2f rps=%.2f\n", r + 1,
               p50_1[r], rps_1[r], many, p50_8[r], rps_8[r]);
    }

    kill(echo, SIGKILL);
    waitpid(echo, NULL, 0);
    kill(wsd, SIGTERM);
    waitpid(wsd, NULL, 0);
    unlink(echo_sock);
    unlink(daemon_sock);
    {
        char conf[256];
        snprintf(conf, sizeof(conf), "%s/bench.conf", dir);
        unlink(conf);
    }
    rmdir(dir);

    printf("socket-bench: server CPU per request (medians): pingpong %.2fus, call %.2fus "
           "(1 client); pingpong %.2fus, call %.2fus (%u clients)\n",
           median(cpu_pp1, rounds), median(cpu_call1, rounds), median(cpu_pp8, rounds),
           median(cpu_call8, rounds), many);
    printf("socket-bench: %u clients: call/pingpong p50=%.2f rps=%.2f (medians of %u rounds)\n",
           many, median(p50_8, rounds), median(rps_8, rounds), rounds);
    printf("socket-bench: call/pingpong p50=%.2f rps=%.2f\n", median(p50_1, rounds),
           median(rps_1, rounds));
    return 0;
}
