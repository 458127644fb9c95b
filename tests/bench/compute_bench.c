/* compute_bench.c: the engine's speed on the project's own C kernels, run on each tier (from
 * kernels.wasm) and natively (the same kernels.c linked in) in one process, side by side. */
#include "config.h"

#include "compute/kernels.h"
#include "wasmslot.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef COMPUTE_KERNELS_WASM
#define COMPUTE_KERNELS_WASM "tests/bench/compute/kernels.wasm"
#endif

/* How a kernel's work grows with n, for calibration. */
enum growth {
    GROWTH_LINEAR,      /* n is a round count */
    GROWTH_EXPONENTIAL, /* fib: each +1 costs about 1.618 times more */
};

struct kernel {
    const char *name;
    enum wasmslot_valtype result;
    int (*native_i32)(int);
    long long (*native_i64)(int);
    double (*native_f64)(int);
    int n_start;
    int n_max;
    enum growth growth;
};

static const struct kernel kernels[] = {
    {"fib", WASMSLOT_I32, kernel_fib, NULL, NULL, 20, 40, GROWTH_EXPONENTIAL},
    {"sieve", WASMSLOT_I32, kernel_sieve, NULL, NULL, 1, 1 << 20, GROWTH_LINEAR},
    {"crc32", WASMSLOT_I32, kernel_crc32, NULL, NULL, 1, 1 << 20, GROWTH_LINEAR},
    {"matmul", WASMSLOT_F64, NULL, NULL, kernel_matmul, 1, 1 << 20, GROWTH_LINEAR},
    {"nbody", WASMSLOT_F64, NULL, NULL, kernel_nbody, 1000, 1 << 28, GROWTH_LINEAR},
    {"hash", WASMSLOT_I64, NULL, kernel_hash, NULL, 1, 1 << 20, GROWTH_LINEAR},
    {"sort", WASMSLOT_I64, NULL, kernel_sort, NULL, 1, 1 << 20, GROWTH_LINEAR},
};

#define NKERNELS (sizeof(kernels) / sizeof(kernels[0]))

/* The tiers measured: the interpreter always, the native tier when the build has it. */
#define NENGINES 2

struct bench {
    struct wasmslot_module *module[NENGINES];
    struct wasmslot_instance *inst[NENGINES];
    struct wasmslot_exec *exec;
    int nengines;
    int reps;
    double target_s; /* calibrate n until one engine run takes at least this long */
    int fixed_n;     /* > 0: skip calibration and use this n everywhere (smoke runs) */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A checksum as a bit pattern, so doubles compare exactly. */
static uint64_t run_native(const struct kernel *k, int n)
{
    double d;
    uint64_t bits;

    switch (k->result) {
    case WASMSLOT_I32:
        return (uint32_t)k->native_i32(n);
    case WASMSLOT_I64:
        return (uint64_t)k->native_i64(n);
    default:
        d = k->native_f64(n);
        memcpy(&bits, &d, sizeof(bits));
        return bits;
    }
}

static int run_wasm(struct bench *b, int e, const struct kernel *k, int n, uint64_t *out)
{
    char name[64];
    struct wasmslot_extern ext;
    struct wasmslot_value arg, res;
    int rc;

    snprintf(name, sizeof(name), "kernel_%s", k->name);
    if (wasmslot_instance_export(b->inst[e], name, strlen(name), &ext) < 0 ||
        ext.kind != WASMSLOT_EXTERN_FUNC) {
        fprintf(stderr, "compute-bench: kernels.wasm exports no function %s\n", name);
        return -1;
    }
    memset(&arg, 0, sizeof(arg));
    arg.type = WASMSLOT_I32;
    arg.of.i32 = (uint32_t)n;
    memset(&res, 0, sizeof(res));
    res.type = k->result;
    rc = wasmslot_call(b->exec, ext.of.func, &arg, 1, &res, 1);
    if (rc < 0) {
        fprintf(stderr, "compute-bench: %s(%d) on %s: %s\n", name, n,
                wasmslot_engine_name(e), wasmslot_strerror(rc));
        return -1;
    }
    *out = k->result == WASMSLOT_I32 ? res.of.i32 : res.of.i64; /* f64 bits share the i64 slot */
    return 0;
}

/* Grow n until one run on the interpreter takes target_s; returns n, or -1 on an engine
 * error. */
static int calibrate(struct bench *b, const struct kernel *k)
{
    int n = k->n_start;
    uint64_t sum;

    for (;;) {
        double t0 = now_s(), t;

        if (run_wasm(b, WASMSLOT_ENGINE_INTERP, k, n, &sum) < 0)
            return -1;
        t = now_s() - t0;
        if (t >= b->target_s || n >= k->n_max)
            return n;
        if (k->growth == GROWTH_EXPONENTIAL) {
            double steps = t > 1e-6 ? log(b->target_s * 1.3 / t) / log(1.618) : 4.0;

            n += steps < 1.0 ? 1 : (int)steps;
        } else {
            double f = t > 1e-6 ? b->target_s * 1.3 / t : 64.0;

            if (f > 64.0)
                f = 64.0;
            n = f * n > (double)k->n_max ? k->n_max : (int)(f * n) + 1;
        }
        if (n > k->n_max)
            n = k->n_max;
    }
}

/* Best-of-reps times of one kernel natively and on each tier, interleaved; 0, or -1 on an
 * error or a mismatch. */
static int measure(struct bench *b, const struct kernel *k, int n, double *native_s,
                   double *wasm_s)
{
    *native_s = INFINITY;
    for (int e = 0; e < b->nengines; e++)
        wasm_s[e] = INFINITY;
    for (int r = 0; r < b->reps; r++) {
        uint64_t want, got;
        double t0 = now_s(), t1;

        want = run_native(k, n);
        t1 = now_s();
        if (t1 - t0 < *native_s)
            *native_s = t1 - t0;
        for (int e = 0; e < b->nengines; e++) {
            t0 = now_s();
            if (run_wasm(b, e, k, n, &got) < 0)
                return -1;
            t1 = now_s();
            if (got != want) {
                fprintf(stderr,
                        "compute-bench: %s(%d) on %s: checksum 0x%016" PRIx64
                        " != native 0x%016" PRIx64 "\n",
                        k->name, n, wasmslot_engine_name(e), got, want);
                return -1;
            }
            if (t1 - t0 < wasm_s[e])
                wasm_s[e] = t1 - t0;
        }
    }
    return 0;
}

static int load(struct bench *b, const char *path)
{
    struct wasmslot_instance_options opt;
    struct wasmslot_error err;
    FILE *f = fopen(path, "rb");
    uint8_t *bytes = NULL;
    long len;

    if (f == NULL) {
        fprintf(stderr, "compute-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (bytes = malloc((size_t)len)) == NULL || fread(bytes, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "compute-bench: cannot read %s\n", path);
        goto fail;
    }
    memset(&err, 0, sizeof(err));
    b->exec = wasmslot_exec_new(NULL, &err);
    if (b->exec == NULL)
        goto fail_err;
    b->nengines = wasmslot_engine_available(WASMSLOT_ENGINE_NATIVE) ? 2 : 1;
    for (int e = 0; e < b->nengines; e++) {
        b->module[e] = wasmslot_module_new_engine(bytes, (size_t)len, e, &err);
        if (b->module[e] == NULL)
            goto fail_err;
        if (wasmslot_module_engine(b->module[e]) != (enum wasmslot_engine)e) {
            fprintf(stderr, "compute-bench: %s runs on %s: %s\n", path,
                    wasmslot_engine_name(wasmslot_module_engine(b->module[e])),
                    wasmslot_module_fallback(b->module[e]));
            goto fail;
        }
        if (wasmslot_module_import_count(b->module[e]) != 0) {
            fprintf(stderr, "compute-bench: %s has imports; build it with -nostdlib\n", path);
            goto fail;
        }
        memset(&opt, 0, sizeof(opt));
        opt.exec = b->exec;
        b->inst[e] = wasmslot_instance_new(b->module[e], &opt, &err);
        if (b->inst[e] == NULL)
            goto fail_err;
    }
    free(bytes);
    fclose(f);
    return 0;

fail_err:
    fprintf(stderr, "compute-bench: %s: %s\n", path, err.message);
fail:
    free(bytes);
    fclose(f);
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: compute_bench [--reps N] [--target SECONDS] [--n N] [--kernel NAME]\n"
               "                     [KERNELS.wasm]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"reps", required_argument, NULL, 'r'}, {"target", required_argument, NULL, 't'},
        {"n", required_argument, NULL, 'n'},    {"kernel", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    struct bench b = {.reps = 5, .target_s = 0.25};
    const char *only = NULL, *path = COMPUTE_KERNELS_WASM;
    double log_sum[NENGINES] = {0.0, 0.0};
    int measured = 0, status = 1, c;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            b.reps = atoi(optarg) > 0 ? atoi(optarg) : 1;
            break;
        case 't':
            b.target_s = atof(optarg);
            break;
        case 'n':
            b.fixed_n = atoi(optarg);
            break;
        case 'k':
            only = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        path = argv[optind];
    if (load(&b, path) < 0)
        goto out;

    printf("%-8s %10s %10s %8s %10s %8s %10s\n", "kernel", "native_ms", "interp_ms", "interp_x",
           "jit_ms", "jit_x", "n");
    for (size_t i = 0; i < NKERNELS; i++) {
        const struct kernel *k = &kernels[i];
        double native_s, wasm_s[NENGINES], ratio[NENGINES];
        int n;

        if (only != NULL && strcmp(only, k->name) != 0)
            continue;
        n = b.fixed_n > 0 ? b.fixed_n : calibrate(&b, k);
        if (n < 0 || measure(&b, k, n, &native_s, wasm_s) < 0)
            goto out;
        printf("%-8s %10.3f", k->name, native_s * 1e3);
        for (int e = 0; e < NENGINES; e++) {
            if (e >= b.nengines) {
                printf(" %10s %8s", "-", "-");
                continue;
            }
            /* A native time below the clock's resolution would make the ratio meaningless. */
            ratio[e] = wasm_s[e] / (native_s > 1e-7 ? native_s : 1e-7);
            printf(" %10.3f %8.2f", wasm_s[e] * 1e3, ratio[e]);
            log_sum[e] += log(ratio[e]);
        }
        printf(" %10d\n", n);
        fflush(stdout);
        measured++;
    }
    if (measured == 0) {
        fprintf(stderr, "compute-bench: no kernel named %s\n", only != NULL ? only : "?");
        goto out;
    }
    if (b.nengines > 1)
        printf("compute-bench: engine=native geomean slowdown=%.2f interp=%.2f\n",
               exp(log_sum[1] / measured), exp(log_sum[0] / measured));
    else
        printf("compute-bench: engine=interp geomean slowdown=%.2f (no native tier in this build)\n",
               exp(log_sum[0] / measured));
    status = 0;
out:
    for (int e = 0; e < NENGINES; e++) {
        wasmslot_instance_free(b.inst[e]);
        wasmslot_module_free(b.module[e]);
    }
    wasmslot_exec_free(b.exec);
    return status;
}
