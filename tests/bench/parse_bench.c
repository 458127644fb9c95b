/* parse_bench.c: a microbenchmark of request parsing (proto_request_parse, fast path first) on
 * the everyday request lines, printing nanoseconds per parse; run it under callgrind for the
 * instruction count, which is steadier than wall time on a shared machine. */
#include "config.h"

#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const bench_lines[] = {
    "{\"id\":1,\"op\":\"call\",\"module\":\"add\",\"export\":\"add\",\"args\":[{\"type\":\"i32\","
    "\"value\":1},{\"type\":\"i32\",\"value\":2}]}",
    "{\"id\":1,\"op\":\"ping\"}",
    "{\"id\":7,\"op\":\"run\",\"instance\":\"i12\",\"export\":\"step\",\"args\":[{\"type\":\"i64\","
    "\"value\":-5}],\"deadline_ms\":250}",
};

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"call", "ping", "run"};
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    const char *only = argc > 2 ? argv[2] : NULL; /* one line, e.g. for callgrind */

    if (n <= 0) {
        fprintf(stderr, "usage: parse-bench [ITERATIONS [call|ping|run]]\n");
        return EXIT_FAILURE;
    }
    for (size_t k = 0; k < sizeof(bench_lines) / sizeof(bench_lines[0]); k++) {
        const char *line = bench_lines[k];
        size_t len = strlen(line);
        struct proto_request req;
        double t0, t1;

        if (only != NULL && strcmp(only, names[k]) != 0)
            continue;

        /* Every line must parse; a benchmark of the error path would measure the wrong thing. */
        if (proto_request_parse(&req, line, len, 0) != PROTO_OK) {
            fprintf(stderr, "parse-bench: line %zu does not parse: %s\n", k, req.message);
            proto_request_release(&req);
            return EXIT_FAILURE;
        }
        proto_request_release(&req);
        t0 = bench_now();
        for (long i = 0; i < n; i++) {
            proto_request_parse(&req, line, len, 0);
            proto_request_release(&req);
        }
        t1 = bench_now();
        printf("%-8s %8.1f ns/parse (parse + release, %ld iterations)\n",
               k == 0   ? "call"
               : k == 1 ? "ping"
                        : "run",
               (t1 - t0) / (double)n, n);
    }
    return EXIT_SUCCESS;
}
