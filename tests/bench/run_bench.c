/* run_bench.c: what one request costs the worker that serves it (CPU time and page faults),
 * for a trivial call, a WASI hello, a session and a 32 MiB image, in every slot reset mode. */
#include "config.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * One daemon per reset mode, each with one worker and one executor thread, all started at
 * once; one client connection to each sends one request at a time. The modes take turns inside
 * every round, so a burst of load from the rest of the machine hits them alike, and each row's
 * figure is the median over the rounds. Worker CPU is the sum of the worker's threads' run time
 * (/proc/PID/task/TID/schedstat, nanoseconds); faults are its minor + major faults
 * (/proc/PID/stat). Both are read around a batch of requests, so they include the socket and
 * the event loop, not only the guest.
 */

#define MAX_MODES 4
#define MAX_ROUNDS 25

static const char *const row_names[] = {"call", "wasi-hello", "session", "big-1", "big-16",
                                        "big-256"};
enum { ROW_CALL, ROW_HELLO, ROW_SESSION, ROW_BIG1, ROW_BIG16, ROW_BIG256, NROWS };

struct daemon {
    const char *mode; /* the pools' `reset` directive; "-": none (the daemon's default) */
    char sock[128];
    pid_t master, worker;
    int fd;
    double cpu_us[NROWS][MAX_ROUNDS], faults[NROWS][MAX_ROUNDS];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "run-bench: %s: %s\n", what, strerror(errno));
    exit(1);
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

/* Send line and read its one-line reply into buf; exits when the reply is not a success. */
static void round_trip(struct daemon *d, const char *line, char *buf, size_t cap)
{
    size_t len = strlen(line), got = 0;

    if (write(d->fd, line, len) != (ssize_t)len)
        die("write");
    for (;;) {
        ssize_t n = read(d->fd, buf + got, cap - 1 - got);

        if (n <= 0)
            die("read");
        got += (size_t)n;
        if (buf[got - 1] == '\n')
            break;
        if (got == cap - 1) {
            fprintf(stderr, "run-bench: reply too long\n");
            exit(1);
        }
    }
    buf[got] = '\0';
    if (strstr(buf, "\"ok\":true") == NULL) {
        fprintf(stderr, "run-bench: %s: request %s got %s", d->mode, line, buf);
        exit(1);
    }
}

/* One request of a row (a session is three). */
static void request(struct daemon *d, int row)
{
    char buf[4096], line[256], handle[64], *h, *e;

    switch (row) {
    case ROW_CALL:
        round_trip(d,
                   "{\"id\":1,\"op\":\"call\",\"module\":\"add\",\"export\":\"add\",\"args\":["
                   "{\"type\":\"i32\",\"value\":2},{\"type\":\"i32\",\"value\":40}]}\n",
                   buf, sizeof(buf));
        return;
    case ROW_HELLO:
        round_trip(d, "{\"id\":1,\"op\":\"call\",\"module\":\"hello\",\"export\":\"_start\"}\n",
                   buf, sizeof(buf));
        if (strstr(buf, "\"stdout\":\"hello\\n\"") == NULL) {
            fprintf(stderr, "run-bench: the hello printed something else: %s", buf);
            exit(1);
        }
        return;
    case ROW_SESSION:
        round_trip(d, "{\"id\":1,\"op\":\"instantiate\",\"module\":\"hello\"}\n", buf,
                   sizeof(buf));
        h = strstr(buf, "\"instance\":\"");
        e = h != NULL ? strchr(h + 12, '"') : NULL;
        if (e == NULL) {
            fprintf(stderr, "run-bench: no handle in %s", buf);
            exit(1);
        }
        *e = '\0';
        snprintf(handle, sizeof(handle), "%s", h + 12);
        snprintf(line, sizeof(line), "{\"id\":2,\"op\":\"run\",\"instance\":\"%s\",\"export\":"
                 "\"_start\"}\n", handle);
        round_trip(d, line, buf, sizeof(buf));
        snprintf(line, sizeof(line), "{\"id\":3,\"op\":\"terminate\",\"instance\":\"%s\"}\n",
                 handle);
        round_trip(d, line, buf, sizeof(buf));
        return;
    default:
        snprintf(line, sizeof(line),
                 "{\"id\":1,\"op\":\"call\",\"module\":\"big\",\"export\":\"touch\",\"args\":["
                 "{\"type\":\"i32\",\"value\":%d}]}\n",
                 row == ROW_BIG1 ? 1 : row == ROW_BIG16 ? 16 : 256);
        round_trip(d, line, buf, sizeof(buf));
        return;
    }
}

/* ---------------------------------------------------------------- the worker's counters */

/* Run time in nanoseconds of every thread of pid. */
static double worker_cpu_ns(pid_t pid)
{
    char path[320];
    unsigned long long ns, sum = 0;
    struct dirent *de;
    DIR *dir;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    dir = opendir(path);
    if (dir == NULL)
        die(path);
    while ((de = readdir(dir)) != NULL) {
        FILE *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue; /* a thread that just ended */
        if (fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    closedir(dir);
    return (double)sum;
}

/* Minor plus major page faults of process pid. */
static double worker_faults(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long minflt = 0, majflt = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        die(path);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    /* After the name: state (3), ppid, pgrp, session, tty, tpgid, flags, minflt (10),
     * cminflt, majflt (12). */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %llu %*u %llu", &minflt,
                            &majflt) != 2) {
        fprintf(stderr, "run-bench: cannot parse %s\n", path);
        exit(1);
    }
    return (double)(minflt + majflt);
}

/* ---------------------------------------------------------------- the daemons */

/*
 * The client and the daemons all run on one CPU (the first the bench may use). Left to the
 * scheduler, one daemon's worker shared the client's CPU for a whole run and another did not,
 * and the same work (the call row, whose module has no memory to reset) differed by 5-15%
 * between modes; with the worker on another CPU than the client, every request also paid for
 * waking an idle virtual CPU (~20 us on the 2-core VM), which swamped what a request itself
 * costs. On one CPU a request is a wake-up on the same run queue, and the figures repeat
 * within 1-2%.
 */
static void pin(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &set)) {
            CPU_ZERO(&set);
            CPU_SET(c, &set);
            sched_setaffinity(0, sizeof(set), &set);
            return;
        }
    }
}

static void start_daemon(struct daemon *d, const char *daemon, const char *dir, int idx,
                         const char *wasm_dir, const char *etc_dir, const char *engine)
{
    char conf[256], reset[96] = "", path[160];
    FILE *f;

    snprintf(d->sock, sizeof(d->sock), "%s/s%d.sock", dir, idx);
    snprintf(conf, sizeof(conf), "%s/d%d.conf", dir, idx);
    if (strcmp(d->mode, "-") != 0)
        snprintf(reset, sizeof(reset), "reset = %s\n", d->mode);
    if (engine != NULL)
        snprintf(reset + strlen(reset), sizeof(reset) - strlen(reset), "engine = %s\n", engine);
    f = fopen(conf, "w");
    if (f == NULL)
        die(conf);
    fprintf(f,
            "[daemon]\nsocket = %s\nworkers = 1\nexecutor_threads = 1\nlog = stderr\n"
            "log_level = warning\ngrace_period = 1s\n%s"
            "[module add]\npath = %s/add.wasm\nslots = 4\n%s"
            "[module hello]\npath = %s/run_hello.wasm\nslots = 4\n%s"
            "[module big]\npath = %s/run_big.wasm\nslots = 4\n%s",
            d->sock,
            /* Run as root (a CI machine), the daemon wants to be told that guest code may run
             * as root: the benchmark measures the daemon, not the privilege drop. */
            geteuid() == 0 ? "user = root\n" : "", etc_dir, reset, wasm_dir, reset, wasm_dir, reset);
    fclose(f);
    d->master = fork();
    if (d->master < 0)
        die("fork");
    if (d->master == 0) {
        /* A bench that dies takes its daemons with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(daemon, "wasmslotd", "-f", "-c", conf, (char *)NULL);
        fprintf(stderr, "run-bench: cannot run %s: %s\n", daemon, strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        d->fd = connect_to(d->sock);
        if (d->fd >= 0)
            break;
        if (waitpid(d->master, NULL, WNOHANG) == d->master) {
            fprintf(stderr, "run-bench: wasmslotd (reset mode %s) exited at start-up\n", d->mode);
            exit(1);
        }
        usleep(10000);
    }
    if (d->fd < 0) {
        fprintf(stderr, "run-bench: wasmslotd did not come up\n");
        exit(1);
    }
    /* The only child of the master is the one worker (the socket may accept before the
     * master forked it). */
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)d->master, (int)d->master);
    for (int i = 0; d->worker <= 0; i++) {
        f = fopen(path, "r");
        if (f != NULL && fscanf(f, "%d", &d->worker) != 1)
            d->worker = 0;
        if (f != NULL)
            fclose(f);
        if (d->worker <= 0 && i == 500) {
            fprintf(stderr, "run-bench: cannot find the worker of %d\n", (int)d->master);
            exit(1);
        }
        if (d->worker <= 0)
            usleep(10000);
    }
}

/* Requests of row for about budget_s seconds (at least min_n); the worker's CPU microseconds
 * and faults per request go into round r's cell. */
static void measure(struct daemon *d, int row, int r, double budget_s)
{
    double t0, cpu0, f0;
    unsigned n = 0;

    for (int i = 0; i < 20; i++) /* warm: the pool's slot, the worker's caches */
        request(d, row);
    cpu0 = worker_cpu_ns(d->worker);
    f0 = worker_faults(d->worker);
    t0 = now_s();
    do {
        for (int i = 0; i < 20; i++, n++)
            request(d, row);
    } while (now_s() - t0 < budget_s);
    d->cpu_us[row][r] = (worker_cpu_ns(d->worker) - cpu0) / 1e3 / n;
    d->faults[row][r] = (worker_faults(d->worker) - f0) / n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[MAX_ROUNDS];

    memcpy(s, v, sizeof(*v) * (size_t)n);
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: run-bench [-d WASMSLOTD] [-w WASM_DIR] [-e EXAMPLES_DIR] [-m MODES] [-r ROUNDS]\n"
            "                 [-t SECONDS] [-E ENGINE]\n"
            "-m the reset modes to compare, comma-separated (auto, madvise, keep; `-` for no\n"
            "   directive at all); -r rounds (the modes take turns in each); -t seconds of\n"
            "   requests per row, mode and round; -E the modules' engine (native or interp;\n"
            "   default: the daemon's)\n"
            "defaults: -d daemon/wasmslotd -w tests/bench -e etc/examples -m auto,madvise,keep\n"
            "          -r 9 -t 0.2 (paths relative to the build directory)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *daemon = "daemon/wasmslotd", *wasm_dir = "tests/bench", *etc_dir = "etc/examples";
    const char *engine = NULL;
    char modes_buf[128] = "auto,madvise,keep", dir[] = "/tmp/run-bench-XXXXXX";
    char absdaemon[4096], abswasm[4096], absetc[4096];
    struct daemon d[MAX_MODES];
    int nd = 0, rounds = 9, opt, ref = -1, first = 0;
    double budget = 0.2;

    while ((opt = getopt(argc, argv, "d:w:e:m:r:t:E:h")) != -1) {
        switch (opt) {
        case 'E':
            engine = optarg;
            break;
        case 'd':
            daemon = optarg;
            break;
        case 'w':
            wasm_dir = optarg;
            break;
        case 'e':
            etc_dir = optarg;
            break;
        case 'm':
            snprintf(modes_buf, sizeof(modes_buf), "%s", optarg);
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        case 't':
            budget = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || budget <= 0)
        usage();
    for (char *tok = strtok(modes_buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (nd == MAX_MODES)
            usage();
        d[nd++] = (struct daemon){.mode = tok, .fd = -1};
    }
    if (nd == 0)
        usage();
    if (realpath(daemon, absdaemon) == NULL || realpath(wasm_dir, abswasm) == NULL ||
        realpath(etc_dir, absetc) == NULL) {
        fprintf(stderr, "run-bench: run from the build directory or give -d, -w and -e\n");
        return 1;
    }
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    signal(SIGPIPE, SIG_IGN);
    pin(); /* the daemons inherit it */
    for (int i = 0; i < nd; i++)
        start_daemon(&d[i], absdaemon, dir, i, abswasm, absetc, engine);

    for (int r = 0; r < rounds; r++)
        for (int row = 0; row < NROWS; row++)
            for (int i = 0; i < nd; i++)
                measure(&d[(i + r) % nd], row, r, budget);

    printf("run-bench: worker CPU (us) and page faults per request, median of %d rounds; one "
           "worker, one executor thread, one client\n",
           rounds);
    printf("%-11s", "row");
    for (int i = 0; i < nd; i++)
        printf(" %9s-cpu %8s-flt", d[i].mode, d[i].mode);
    for (int i = 0; i < nd; i++)
        if (strcmp(d[i].mode, "madvise") == 0)
            ref = i;
    if (ref >= 0)
        for (int i = 0; i < nd; i++)
            if (i != ref)
                printf(" %6s/mdv", d[i].mode);
    printf("\n");
    for (int row = 0; row < NROWS; row++) {
        printf("%-11s", row_names[row]);
        for (int i = 0; i < nd; i++)
            printf(" %13.2f %12.2f", median(d[i].cpu_us[row], rounds),
                   median(d[i].faults[row], rounds));
        if (ref >= 0)
            for (int i = 0; i < nd; i++)
                if (i != ref)
                    printf(" %10.2f", median(d[i].cpu_us[row], rounds) /
                                          median(d[ref].cpu_us[row], rounds));
        printf("\n");
    }
    printf("run-bench: session = instantiate + run _start + terminate of the WASI hello; big-N = "
           "a call writing N pages spread over a 32 MiB data image\n");
    for (int i = 0; i < nd; i++) {
        kill(d[i].master, SIGTERM);
        close(d[i].fd);
    }
    for (int i = 0; i < nd; i++)
        waitpid(d[i].master, NULL, 0);
    snprintf(absdaemon, sizeof(absdaemon), "rm -rf '%s'", dir);
    if (system(absdaemon) != 0)
        fprintf(stderr, "run-bench: could not remove %s\n", dir);
    /* The headline is the first mode given (auto by default): what a pool gets without a
     * directive. */
    printf("run-bench: wasi-hello/call cpu=%.2f faults=%.2f\n",
           median(d[first].cpu_us[ROW_HELLO], rounds) / median(d[first].cpu_us[ROW_CALL], rounds),
           median(d[first].faults[ROW_HELLO], rounds));
    return 0;
}
