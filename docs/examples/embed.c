/* embed.c: embedding libwasmslot: load a module, run it on a pool slot, call an export, and
 * see a trap. Build against an installed library with
 *
 *     cc embed.c $(pkg-config --cflags --libs wasmslot) -o embed
 *     ./embed embed.wasm        # embed.wasm: wat2wasm embed.wat
 */
#include <wasmslot.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read a whole file into a malloc()ed buffer. */
static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc(n ? (size_t)n : 1)) != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Call the export `name` of inst with up to two i32 arguments; returns wasmslot_call's code. */
static int call_i32(struct wasmslot_exec *ex, struct wasmslot_instance *inst, const char *name,
                    const uint32_t *args, uint32_t nargs, uint32_t *result)
{
    struct wasmslot_extern e;
    struct wasmslot_value a[2], r;
    int rc = wasmslot_instance_export(inst, name, strlen(name), &e);

    if (rc < 0 || e.kind != WASMSLOT_EXTERN_FUNC)
        return rc < 0 ? rc : -WASMSLOT_ENOTFOUND;
    for (uint32_t i = 0; i < nargs; i++)
        a[i] = (struct wasmslot_value){.type = WASMSLOT_I32, .of.i32 = args[i]};
    rc = wasmslot_call(ex, e.of.func, a, nargs, &r, 1);
    if (rc == 0)
        *result = r.of.i32;
    return rc;
}

int main(int argc, char **argv)
{
    struct wasmslot_error err = {0};
    struct wasmslot_module *m = NULL;
    struct wasmslot_image *img = NULL;
    struct wasmslot_pool *pool = NULL;
    struct wasmslot_exec *ex = NULL;
    unsigned char *bytes = NULL;
    size_t len = 0;
    int status = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: embed MODULE.wasm\n");
        return 2;
    }
    printf("libwasmslot %s (header %d.%d.%d)\n", wasmslot_version(), WASMSLOT_VERSION_MAJOR,
           WASMSLOT_VERSION_MINOR, WASMSLOT_VERSION_PATCH);

    /* The library turns a guest's out-of-bounds access into a trap with SIGSEGV/SIGBUS
     * handlers; a program installs them itself, before any handlers of its own. */
    int rc = wasmslot_trap_handlers_install();
    if (rc < 0) {
        fprintf(stderr, "embed: trap handlers: %s\n", wasmslot_strerror(rc));
        return 1;
    }

    if ((bytes = read_file(argv[1], &len)) == NULL) {
        fprintf(stderr, "embed: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    /* Decode, validate and compile once; then an image of its initial memory, which every
     * slot of the pool maps copy-on-write, and a pool of two slots. */
    struct wasmslot_pool_options po = {.slots = 2};
    if ((m = wasmslot_module_new(bytes, len, &err)) == NULL ||
        (img = wasmslot_image_new(m, &err)) == NULL ||
        (pool = wasmslot_pool_new(&po, &err)) == NULL ||
        (ex = wasmslot_exec_new(NULL, &err)) == NULL) {
        fprintf(stderr, "embed: %s\n", err.message[0] ? err.message : wasmslot_strerror(err.code));
        goto out;
    }

    /* Two instances in turn on the pool: the second gets the slot the first released, reset
     * to the image, so its counter starts again at 42. */
    for (int round = 1; round <= 2; round++) {
        struct wasmslot_slot *s = wasmslot_pool_acquire(pool, img, &err);
        if (s == NULL) {
            fprintf(stderr, "embed: acquire: %s\n", err.message);
            goto out;
        }
        struct wasmslot_instance_options io = {
            .memory = wasmslot_slot_memory(s),
            .data_preloaded = wasmslot_slot_preloaded(s),
            .exec = ex,
        };
        struct wasmslot_instance *inst = wasmslot_instance_new(m, &io, &err);
        if (inst == NULL) {
            fprintf(stderr, "embed: instantiate: %s\n", err.message);
            wasmslot_pool_release(pool, s);
            goto out;
        }

        uint32_t v = 0, args[2] = {2, 40};
        if ((rc = call_i32(ex, inst, "add", args, 2, &v)) == 0)
            printf("round %d: add(2, 40) = %u\n", round, v);
        if (rc == 0 && (rc = call_i32(ex, inst, "bump", NULL, 0, &v)) == 0)
            printf("round %d: bump() = %u\n", round, v);
        /* 1 MiB is past the memory's one page: the load faults and comes back as a trap; the
         * instance and the slot stay usable. */
        args[0] = 1u << 20;
        if (rc == 0) {
            rc = call_i32(ex, inst, "peek", args, 1, &v);
            if (wasmslot_is_trap(rc)) {
                printf("round %d: peek(1048576) trapped: %s (%s)\n", round, wasmslot_strerror(rc),
                       wasmslot_errname(rc));
                wasmslot_pool_count_trap(pool, rc);
                rc = 0;
            } else if (rc == 0) {
                printf("round %d: peek(1048576) = %u, expected a trap\n", round, v);
                rc = -1;
            }
        }
        wasmslot_instance_free(inst); /* first: it holds a reference on the slot's memory */
        wasmslot_pool_release(pool, s);
        if (rc < 0) {
            fprintf(stderr, "embed: call: %s\n", wasmslot_strerror(rc));
            goto out;
        }
    }
    status = 0;
out:
    wasmslot_exec_free(ex);
    wasmslot_pool_free(pool);
    wasmslot_image_free(img);
    wasmslot_module_free(m);
    free(bytes);
    return status;
}
