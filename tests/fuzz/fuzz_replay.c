/* fuzz_replay.c: runs the fuzz harness without libFuzzer, over seed files and simple mutations
 * of them (every truncation, every single-bit flip), so `make check` exercises it. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seed files in a directory are those whose names end with this. */
#ifndef FUZZ_SEED_SUFFIX
#define FUZZ_SEED_SUFFIX ".wasm"
#endif

/* Seeds are small fixtures; anything larger is not a seed. */
#define MAX_SEED (1u << 20)

static unsigned long runs;

static void run(const uint8_t *data, size_t size)
{
    LLVMFuzzerTestOneInput(data, size);
    runs++;
}

/* Feed one seed, its truncations, and its single-bit flips. */
static int replay_file(const char *path, int mutate)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    buf = malloc(MAX_SEED);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, MAX_SEED, f);
    fclose(f);
    run(buf, n);
    if (mutate) {
        for (size_t len = 0; len < n; len++)
            run(buf, len);
        for (size_t i = 0; i < n; i++) {
            for (int bit = 0; bit < 8; bit++) {
                buf[i] ^= (uint8_t)(1u << bit);
                run(buf, n);
                buf[i] ^= (uint8_t)(1u << bit);
            }
        }
    }
    free(buf);
    return 0;
}

/* A directory argument means every FUZZ_SEED_SUFFIX file in it whose name starts with prefix. */
static int replay_path(const char *path, const char *prefix, int mutate)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    int rc = 0;

    if (dir == NULL)
        return replay_file(path, mutate);
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        char full[4096];

        if (len < strlen(FUZZ_SEED_SUFFIX) ||
            strcmp(de->d_name + len - strlen(FUZZ_SEED_SUFFIX), FUZZ_SEED_SUFFIX) != 0)
            continue;
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
        if (replay_file(full, mutate) < 0)
            rc = -1;
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    int mutate = 1, rc = 0, first = 1;

    if (argc > 1 && strcmp(argv[1], "-n") == 0) {
        mutate = 0; /* replay exactly the given inputs, e.g. a crash file */
        first = 2;
    }
#ifdef FUZZ_SEED_DIR
    if (argc <= first)
        rc = replay_path(FUZZ_SEED_DIR, FUZZ_SEED_PREFIX, mutate);
#endif
    for (int i = first; i < argc; i++)
        if (replay_path(argv[i], "", mutate) < 0)
            rc = -1;
    printf("fuzz_replay: %lu inputs, no crash\n", runs);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
