/* compile_bench.c: what compiling one (large) module costs: the interpreter's compile, the
 * native tier's compile from scratch (storing its code cache entry), and the native tier's
 * load from that entry; wall time and peak RSS of each, all in one run. Not a test: it
 * measures and prints (make bench-compile).
 *
 * Each phase runs in a child process of its own, so its peak RSS (from wait4) is what a
 * daemon's master compiling that module that way would reach, not the largest phase so far.
 */
#include "config.h"

#include "wasmslot.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint8_t *read_module(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "compile-bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
    if (bytes == NULL || fread(bytes, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "compile-bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return bytes;
}

static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

/* The code section's size and its count of bodies (the module is valid: the compile says so). */
static void code_section(const uint8_t *bytes, size_t len, uint64_t *size, uint64_t *count)
{
    const uint8_t *p = bytes + 8, *end = bytes + len;
    *size = *count = 0;
    while (p < end) {
        uint8_t id = *p++;
        uint64_t n = uleb(&p, end);
        if (id == 10) {
            const uint8_t *q = p;
            *size = n;
            *count = uleb(&q, end);
            return;
        }
        p += n;
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct phase {
    double ms;
    int state; /* enum wasmslot_cache_state */
    int engine;
    char note[200];
};

/* Compile the module once in a child; its wall time, cache state and peak RSS (KiB). */
static int run_phase(const uint8_t *bytes, size_t len, enum wasmslot_engine engine,
                     const char *cache_dir, struct phase *out, long *maxrss_kib)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        struct phase ph;
        memset(&ph, 0, sizeof ph);
        struct wasmslot_compile_options opts = {.engine = engine, .cache_dir = cache_dir};
        struct wasmslot_error err = {0, ""};
        double t0 = now_ms();
        struct wasmslot_module *m = wasmslot_module_compile(bytes, len, &opts, &err);
        ph.ms = now_ms() - t0;
        if (m == NULL) {
            snprintf(ph.note, sizeof ph.note, "compile failed: %s", err.message);
            ph.state = -1;
        } else {
            ph.state = wasmslot_module_cache_state(m);
            ph.engine = wasmslot_module_engine(m);
            const char *note = wasmslot_module_cache_note(m);
            if (note == NULL)
                note = wasmslot_module_fallback(m);
            snprintf(ph.note, sizeof ph.note, "%s", note ? note : "");
        }
        ssize_t w = write(fds[1], &ph, sizeof ph);
        _exit(w == (ssize_t)sizeof ph && m != NULL ? 0 : 1);
    }
    close(fds[1]);
    ssize_t r = read(fds[0], out, sizeof *out);
    close(fds[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return -1;
    *maxrss_kib = ru.ru_maxrss;
    if (r != (ssize_t)sizeof *out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "compile-bench: %s\n", r == (ssize_t)sizeof *out ? out->note : "child died");
        return -1;
    }
    return 0;
}

static double mib(long kib)
{
    return kib / 1024.0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: compile-bench MODULE.wasm\n");
        return 2;
    }
    size_t len;
    uint8_t *bytes = read_module(argv[1], &len);
    uint64_t code_size, nfuncs;
    code_section(bytes, len, &code_size, &nfuncs);
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    printf("compile-bench: module %s: %.2f MB, code section %.2f MB, %llu functions; "
           "the machine may be loaded: compare ratios\n",
           argv[1], len / 1e6, code_size / 1e6, (unsigned long long)nfuncs);
    printf("compile-bench: baseline peak RSS (this process, module read) %.1f MiB\n",
           mib(self.ru_maxrss));

    struct phase interp, cold, hit;
    long rss_interp, rss_cold, rss_hit;
    if (run_phase(bytes, len, WASMSLOT_ENGINE_INTERP, NULL, &interp, &rss_interp) < 0)
        return 1;
    printf("compile-bench: interp compile        %10.1f ms  peak RSS %7.1f MiB\n", interp.ms,
           mib(rss_interp));
    if (!wasmslot_engine_available(WASMSLOT_ENGINE_NATIVE)) {
        printf("compile-bench: this build has no native tier\n");
        return 0;
    }

    char dir[] = "/tmp/wasmslot-compile-bench-XXXXXX", cmd[128];
    if (mkdtemp(dir) == NULL) {
        perror("compile-bench: mkdtemp");
        return 1;
    }
    int rc = 1;
    if (run_phase(bytes, len, WASMSLOT_ENGINE_NATIVE, dir, &cold, &rss_cold) < 0)
        goto out;
    if (cold.engine != WASMSLOT_ENGINE_NATIVE || cold.state != WASMSLOT_CACHE_STORED) {
        fprintf(stderr, "compile-bench: the cold compile ran on %s, cache %s: %s\n",
                wasmslot_engine_name(cold.engine), wasmslot_cache_state_name(cold.state),
                cold.note);
        goto out;
    }
    printf("compile-bench: native compile, cold  %10.1f ms  peak RSS %7.1f MiB  (cache: %s)\n",
           cold.ms, mib(rss_cold), wasmslot_cache_state_name(cold.state));
    if (run_phase(bytes, len, WASMSLOT_ENGINE_NATIVE, dir, &hit, &rss_hit) < 0)
        goto out;
    if (hit.state != WASMSLOT_CACHE_HIT) {
        fprintf(stderr, "compile-bench: the second compile did not hit: %s\n", hit.note);
        goto out;
    }
    printf("compile-bench: native load, cache hit %9.1f ms  peak RSS %7.1f MiB  (cache: %s)\n",
           hit.ms, mib(rss_hit), wasmslot_cache_state_name(hit.state));

    snprintf(cmd, sizeof cmd, "du -b %s/*.wsc | cut -f1", dir);
    FILE *du = popen(cmd, "r");
    unsigned long long entry = 0;
    if (du != NULL) {
        if (fscanf(du, "%llu", &entry) != 1)
            entry = 0;
        pclose(du);
    }
    printf("compile-bench: cache entry %.2f MB; hit/cold time %.4f, hit/interp time %.2f, "
           "cold/interp peak RSS %.2f\n",
           entry / 1e6, hit.ms / cold.ms, hit.ms / interp.ms, (double)rss_cold / rss_interp);
    rc = 0;

out:
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "compile-bench: could not remove %s\n", dir);
    free(bytes);
    return rc;
}
