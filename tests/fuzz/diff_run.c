/* diff_run.c: the engine side of the differential tester (diff_exec.py): runs every export of a
 * module on wasmslot's engine exactly as the oracles do (binaryen's --fuzz-exec and
 * diff_v8.js), and prints what happened in the tester's line format.
 *
 * Usage: diff_run [--engine NAME] MODULE.wasm
 *
 * One instance; every exported function in export order, each with zero arguments, each after
 * a call of the export "hangLimitInitializer" when the module has one (binaryen's generated
 * modules count loop iterations and calls down from a limit that export resets). Function
 * imports log their arguments. The lines, one event each, are those of diff_v8.js:
 *   call NAME / log V... / result V... / trap NAME / exhausted / instantiate-trap
 * and, when the module cannot be run at all: compile-error MSG, unsupported-import MOD NAME,
 * link-error MSG. A value is i32:U, i64:U (unsigned decimal), f32:0xBITS, f64:0xBITS,
 * f32:nan / f64:nan (any NaN: the spec lets payloads vary), ref:null, ref:func, ref:extern.
 *
 * --engine names the execution tier under test ("interp", or "native" in builds with LLVM);
 * the tester compares a tier by running this tool with its name (diff_exec.py --engine). */
#include "config.h"

#include "wasmslot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each run of an export gets this long; binaryen's hang limit ends generated loops far sooner,
 * so reaching it means the engine loops where the oracles do not. */
#define CALL_DEADLINE_NS (10ull * 1000 * 1000 * 1000)

static const enum wasmslot_engine engines[] = {WASMSLOT_ENGINE_INTERP, WASMSLOT_ENGINE_NATIVE};

/* Append the tester's form of one value to out (a line being built). */
static void put_value(FILE *out, const struct wasmslot_value *v)
{
    switch (v->type) {
    case WASMSLOT_I32:
        fprintf(out, " i32:%" PRIu32, v->of.i32);
        return;
    case WASMSLOT_I64:
        fprintf(out, " i64:%" PRIu64, v->of.i64);
        return;
    case WASMSLOT_F32:
        if ((v->of.f32 & 0x7f800000u) == 0x7f800000u && (v->of.f32 & 0x007fffffu) != 0)
            fputs(" f32:nan", out);
        else
            fprintf(out, " f32:0x%08" PRIx32, v->of.f32);
        return;
    case WASMSLOT_F64:
        if ((v->of.f64 & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
            (v->of.f64 & 0x000fffffffffffffull) != 0)
            fputs(" f64:nan", out);
        else
            fprintf(out, " f64:0x%016" PRIx64, v->of.f64);
        return;
    case WASMSLOT_FUNCREF:
        fputs(v->of.funcref == NULL ? " ref:null" : " ref:func", out);
        return;
    case WASMSLOT_EXTERNREF:
        fputs(v->of.externref == NULL ? " ref:null" : " ref:extern", out);
        return;
    case WASMSLOT_V128:
        fputs(" v128", out);
        return;
    }
}

/* Every imported function: print its arguments as a "log" line and return nothing. */
static int log_import(struct wasmslot_call_ctx *ctx, void *env, const struct wasmslot_value *args,
                      struct wasmslot_value *results)
{
    const struct wasmslot_functype *t = env;

    (void)ctx;
    (void)results;
    fputs("log", stdout);
    for (uint32_t i = 0; i < t->nparams; i++)
        put_value(stdout, &args[i]);
    fputc('\n', stdout);
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto fail;
    fclose(f);
    *len = (size_t)n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

/* Call f with zero arguments and print its "result" or "trap" line. */
static void run_export(struct wasmslot_exec *ex, struct wasmslot_func *f,
                       struct wasmslot_func *hang)
{
    const struct wasmslot_functype *t = wasmslot_func_type(f);
    struct wasmslot_value *args = calloc(t->nparams + 1, sizeof(*args));
    struct wasmslot_value *results = calloc(t->nresults + 1, sizeof(*results));
    int rc = 0;

    if (args == NULL || results == NULL) {
        puts("error out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < t->nparams; i++)
        args[i].type = t->params[i];
    wasmslot_exec_set_deadline(ex, now_ns() + CALL_DEADLINE_NS);
    if (hang != NULL)
        rc = wasmslot_call(ex, hang, NULL, 0, NULL, 0);
    if (rc == 0)
        rc = wasmslot_call(ex, f, args, t->nparams, results, t->nresults);
    if (rc == 0) {
        fputs("result", stdout);
        for (uint32_t i = 0; i < t->nresults; i++)
            put_value(stdout, &results[i]);
        fputc('\n', stdout);
    } else if (rc == -WASMSLOT_TRAP_STACK_EXHAUSTED) {
        puts("exhausted");
    } else {
        printf("trap %s\n", wasmslot_errname(rc));
    }
out:
    free(args);
    free(results);
}

static int usage(void)
{
    fputs("usage: diff_run [--engine interp|native] MODULE.wasm\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *engine = "interp";
    enum wasmslot_engine eng = WASMSLOT_ENGINE_INTERP;
    struct wasmslot_module *m = NULL;
    struct wasmslot_instance *inst = NULL;
    struct wasmslot_exec *ex = NULL;
    struct wasmslot_functype *types = NULL;
    struct wasmslot_func **funcs = NULL;
    struct wasmslot_extern *imports = NULL;
    struct wasmslot_error err = {0};
    uint32_t nimports = 0;
    size_t len = 0;
    void *bytes;
    bool known = false;
    int status = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
        else
            return usage();
    }
    if (path == NULL)
        return usage();
    for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
        if (wasmslot_engine_available(engines[i]) &&
            strcmp(engine, wasmslot_engine_name(engines[i])) == 0) {
            known = true;
            eng = engines[i];
        }
    if (!known) {
        fprintf(stderr, "diff_run: unknown engine '%s'\n", engine);
        return 2;
    }
    bytes = read_file(path, &len);
    if (bytes == NULL) {
        fprintf(stderr, "diff_run: %s: %s\n", path, strerror(errno));
        return 1;
    }
    /* Fully buffered, and flushed before every exit: a crash of the engine then shows as
     * missing lines, which the tester reports. */
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    m = wasmslot_module_new_engine(bytes, len, eng, &err);
    free(bytes);
    if (m == NULL) {
        printf("compile-error %s\n", err.message);
        status = 0;
        goto out;
    }
    nimports = wasmslot_module_import_count(m);
    types = calloc(nimports + 1, sizeof(*types));
    funcs = calloc(nimports + 1, sizeof(*funcs));
    imports = calloc(nimports + 1, sizeof(*imports));
    if (types == NULL || funcs == NULL || imports == NULL)
        goto out;
    for (uint32_t i = 0; i < nimports; i++) {
        struct wasmslot_extern_desc d;

        wasmslot_module_import(m, i, &d);
        if (d.kind != WASMSLOT_EXTERN_FUNC) {
            printf("unsupported-import %s %s\n", d.module, d.name);
            status = 0;
            goto out;
        }
        types[i] = d.func; /* its arrays live as long as the module */
        funcs[i] = wasmslot_func_new_host(&d.func, log_import, &types[i], NULL, &err);
        if (funcs[i] == NULL)
            goto fail;
        imports[i].kind = WASMSLOT_EXTERN_FUNC;
        imports[i].of.func = funcs[i];
    }
    ex = wasmslot_exec_new(NULL, &err);
    if (ex == NULL)
        goto fail;
    inst = wasmslot_instance_new(
        m,
        &(struct wasmslot_instance_options){.imports = imports, .nimports = nimports, .exec = ex},
        &err);
    if (inst == NULL) {
        if (wasmslot_is_trap(err.code))
            puts("instantiate-trap");
        else
            printf("link-error %s\n", err.message);
        status = 0;
        goto out;
    }

    struct wasmslot_extern hang = {0};
    uint32_t nexports = wasmslot_module_export_count(m);

    if (wasmslot_instance_export(inst, "hangLimitInitializer", strlen("hangLimitInitializer"),
                                 &hang) != 0 ||
        hang.kind != WASMSLOT_EXTERN_FUNC)
        hang.of.func = NULL;
    for (uint32_t i = 0; i < nexports; i++) {
        struct wasmslot_extern_desc d;
        struct wasmslot_extern e;

        wasmslot_module_export(m, i, &d);
        if (d.kind != WASMSLOT_EXTERN_FUNC ||
            wasmslot_instance_export(inst, d.name, d.name_len, &e) != 0)
            continue;
        printf("call %s\n", d.name);
        run_export(ex, e.of.func, hang.of.func);
    }
    status = 0;
    goto out;
fail:
    fprintf(stderr, "diff_run: %s: %s\n", path, err.message);
out:
    fflush(stdout);
    wasmslot_instance_free(inst);
    wasmslot_exec_free(ex);
    for (uint32_t i = 0; funcs != NULL && i < nimports; i++)
        wasmslot_func_free_host(funcs[i]);
    free(funcs);
    free(imports);
    free(types);
    wasmslot_module_free(m);
    return status;
}
