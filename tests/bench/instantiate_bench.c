/* instantiate_bench.c: what one request costs the engine on each tier, in one process: acquire
 * a pool slot, instantiate, call a trivial export, free the instance, release the slot. */
#include "config.h"

#include "wasmslot.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef INSTANTIATE_WASM
#define INSTANTIATE_WASM "tests/bench/instantiate.wasm"
#endif

/*
 * The same module is compiled by each tier, each with a pool of its own (one slot, so every
 * acquire after the first is the warm path that serves requests) and one shared exec. A round
 * times a batch of iterations on each tier, the tiers taking turns to go first; a burst of load
 * from the rest of the machine then hits both alike, and the figures are medians over the
 * rounds: of each tier's time per iteration, and of the per-round ratio native / interp.
 */

#define NENGINES   2
#define MAX_ROUNDS 1000

struct tier {
    struct wasmslot_module *module;
    struct wasmslot_image *image;
    struct wasmslot_pool *pool;
    double ns[MAX_ROUNDS]; /* per iteration, each round */
};

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One request: 0, or -1 with a message. */
static int request(struct tier *t, struct wasmslot_exec *ex)
{
    struct wasmslot_error err = {0, ""};
    struct wasmslot_slot *s = wasmslot_pool_acquire(t->pool, t->image, &err);
    if (s == NULL) {
        fprintf(stderr, "instantiate-bench: acquire: %s\n", err.message);
        return -1;
    }
    struct wasmslot_instance_options io = {
        .memory = wasmslot_slot_memory(s),
        .data_preloaded = wasmslot_slot_preloaded(s),
        .exec = ex,
    };
    struct wasmslot_instance *inst = wasmslot_instance_new(t->module, &io, &err);
    if (inst == NULL) {
        fprintf(stderr, "instantiate-bench: instantiate: %s\n", err.message);
        wasmslot_pool_release(t->pool, s);
        return -1;
    }
    struct wasmslot_extern e;
    struct wasmslot_value r = {.type = WASMSLOT_I32};
    int rc = wasmslot_instance_export(inst, "answer", 6, &e);
    if (rc == 0)
        rc = wasmslot_call(ex, e.of.func, NULL, 0, &r, 1);
    wasmslot_instance_free(inst);
    wasmslot_pool_release(t->pool, s);
    if (rc < 0 || r.of.i32 != 42) {
        fprintf(stderr, "instantiate-bench: answer(): %s\n",
                rc < 0 ? wasmslot_strerror(rc) : "not 42");
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    void *bytes = NULL;
    long n;

    if (f == NULL) {
        fprintf(stderr, "instantiate-bench: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (bytes = malloc((size_t)n)) != NULL && fread(bytes, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        fprintf(stderr, "instantiate-bench: cannot read %s\n", path);
        free(bytes);
        bytes = NULL;
    }
    fclose(f);
    return bytes;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rounds", required_argument, NULL, 'r'},
        {"iterations", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = INSTANTIATE_WASM;
    int rounds = 40, iters = 2000, status = 1, c, nengines;
    struct tier tiers[NENGINES];
    struct wasmslot_exec *ex = NULL;
    struct wasmslot_error err = {0, ""};
    size_t len = 0;
    void *bytes;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rounds = atoi(optarg);
            break;
        case 'n':
            iters = atoi(optarg);
            break;
        case 'h':
            printf("usage: instantiate_bench [--rounds N] [--iterations N] [MODULE.wasm]\n");
            return 0;
        default:
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || iters < 1) {
        fprintf(stderr, "instantiate-bench: rounds 1..%d, iterations >= 1\n", MAX_ROUNDS);
        return 2;
    }
    if (optind < argc)
        path = argv[optind];
    memset(tiers, 0, sizeof tiers);
    if ((bytes = read_file(path, &len)) == NULL)
        return 1;
    nengines = wasmslot_engine_available(WASMSLOT_ENGINE_NATIVE) ? 2 : 1;
    if ((ex = wasmslot_exec_new(NULL, &err)) == NULL)
        goto fail_err;
    for (int e = 0; e < nengines; e++) {
        struct wasmslot_pool_options po = {.slots = 1};
        struct tier *t = &tiers[e];
        if ((t->module = wasmslot_module_new_engine(bytes, len, e, &err)) == NULL ||
            (t->image = wasmslot_image_new(t->module, &err)) == NULL ||
            (t->pool = wasmslot_pool_new(&po, &err)) == NULL)
            goto fail_err;
        if (wasmslot_module_engine(t->module) != (enum wasmslot_engine)e) {
            fprintf(stderr, "instantiate-bench: %s runs on %s: %s\n", path,
                    wasmslot_engine_name(wasmslot_module_engine(t->module)),
                    wasmslot_module_fallback(t->module));
            goto out;
        }
        /* Warm up: the slot mapped, the native tier's machine stack mapped. */
        for (int i = 0; i < 100; i++)
            if (request(t, ex) < 0)
                goto out;
    }

    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < nengines; k++) {
            int e = (r + k) % nengines;
            double t0 = now_ns();
            for (int i = 0; i < iters; i++)
                if (request(&tiers[e], ex) < 0)
                    goto out;
            tiers[e].ns[r] = (now_ns() - t0) / iters;
        }
    }

    double ratio[MAX_ROUNDS], med[NENGINES];
    for (int r = 0; nengines > 1 && r < rounds; r++)
        ratio[r] = tiers[1].ns[r] / tiers[0].ns[r];
    for (int e = 0; e < nengines; e++)
        med[e] = median(tiers[e].ns, rounds);
    if (nengines > 1)
        printf("instantiate-call-bench: interp=%.0f ns native=%.0f ns ratio=%.3f "
               "(medians of %d rounds x %d)\n",
               med[0], med[1], median(ratio, rounds), rounds, iters);
    else
        printf("instantiate-call-bench: interp=%.0f ns (no native tier in this build)\n", med[0]);
    status = 0;
    goto out;

fail_err:
    fprintf(stderr, "instantiate-bench: %s: %s\n", path, err.message);
out:
    for (int e = 0; e < NENGINES; e++) {
        wasmslot_pool_free(tiers[e].pool);
        wasmslot_image_free(tiers[e].image);
        wasmslot_module_free(tiers[e].module);
    }
    wasmslot_exec_free(ex);
    free(bytes);
    return status;
}
