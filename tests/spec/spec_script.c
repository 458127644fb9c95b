/* spec_script.c: runs the commands of one wast2json script against the engine's public API
 * (modules, linking against spectest and registered instances, invocations, assertions). */
#include "config.h"

#include "spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Values per call are bounded; no spec function comes near. */
#define MAX_VALUES 256
/* A runaway guest (an engine bug) ends as a timeout trap instead of hanging the file. */
#define CALL_DEADLINE_NS (60ull * 1000000000ull)

/* A module the script loaded and, when instantiation succeeded, its instance. Both live until
 * the script ends, because tables of other instances can still hold its functions. */
struct loaded {
    struct wasmslot_module *module;
    struct wasmslot_instance *inst;
    char *name; /* "$name" of a named module command, or NULL */
};

/* An instance made importable under a module name by a register command. */
struct registration {
    char *as;
    size_t as_len;
    struct wasmslot_instance *inst;
};

/* --pool: a slot taken for one module's memory, and the image it was taken for. */
struct held_slot {
    struct wasmslot_image *image;
    struct wasmslot_slot *slot;
};

struct script {
    const struct spec_script_options *opt;
    const struct spec_report *rep;
    struct wasmslot_exec *exec;
    struct spectest *spectest;

    struct loaded *loaded;
    size_t nloaded, cap_loaded;
    struct registration *regs;
    size_t nregs, cap_regs;
    struct wasmslot_instance *current; /* target of actions that name no module */

    /* --pool: modules with their own memory get it from a slot of this pool, acquired for
     * the module's image; slots are released when the script ends. */
    struct wasmslot_pool *pool;
    uint32_t pool_slots; /* instantiations the script may attempt: enough slots for all */
    struct held_slot *held;
    size_t nheld, cap_held;

    /* The command being run, for failure lines. */
    long line;
    const char *type;
};

/* What happened when instantiating. */
enum inst_outcome {
    INST_OK,
    INST_LINK,  /* an import could not be resolved or the engine said WASMSLOT_EUNLINKABLE */
    INST_TRAP,  /* a segment or the start function trapped */
    INST_ERROR, /* anything else */
};

/* What an action did. */
struct outcome {
    bool setup_failed; /* the action could not be attempted; msg says why */
    int rc;            /* wasmslot_call's (or the get's) result */
    uint32_t nresults;
    const enum wasmslot_valtype *types; /* nresults declared result types */
    enum wasmslot_valtype global_type;  /* storage for types of a get */
    struct wasmslot_value results[MAX_VALUES];
    char msg[256];
};

static void pass(struct script *s)
{
    spec_report_send(s->rep, 'P', "%s", "");
}

static void skip(struct script *s)
{
    spec_report_send(s->rep, 'S', "%s", "");
}

static void fail(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct script *s, const char *fmt, ...)
{
    char text[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    spec_report_send(s->rep, 'F', "line %ld: %s: %s", s->line, s->type, text);
}

static void verbose(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void verbose(struct script *s, const char *fmt, ...)
{
    char text[768];
    va_list ap;

    if (!s->rep->verbose)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    spec_report_send(s->rep, 'V', "line %ld: %s: %s", s->line, s->type, text);
}

/* Wording differences are not failures; -v shows them so engine messages can be improved. */
static void check_text(struct script *s, const char *expected, const char *got)
{
    if (expected == NULL || got == NULL)
        return;
    if (strstr(got, expected) == NULL && strstr(expected, got) == NULL)
        verbose(s, "message differs: expected \"%s\", got \"%s\"", expected, got);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    void *p;
    size_t ncap;

    if (n < *cap)
        return 0;
    ncap = *cap != 0 ? *cap * 2 : 16;
    p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Remember a module (and its instance, if any) until the script ends. */
static struct loaded *keep(struct script *s, struct wasmslot_module *m,
                           struct wasmslot_instance *inst, const char *name)
{
    struct loaded *l;

    if (grow((void **)&s->loaded, &s->cap_loaded, s->nloaded, sizeof(*s->loaded)) < 0)
        return NULL;
    l = &s->loaded[s->nloaded++];
    l->module = m;
    l->inst = inst;
    l->name = name != NULL ? strdup(name) : NULL;
    return l;
}

/* ---------------------------------------------------------------- loading and linking */

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;

    if (f == NULL)
        return -errno;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto fail;
    fclose(f);
    *out = buf;
    *len = (size_t)size;
    return 0;

fail:
    free(buf);
    fclose(f);
    return -EIO;
}

/* Load the binary module `filename` of the script. On failure returns NULL with err filled. */
static struct wasmslot_module *load(struct script *s, const char *filename,
                                    struct wasmslot_error *err)
{
    char path[4096];
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct wasmslot_module *m;
    int rc;

    memset(err, 0, sizeof(*err));
    if (filename == NULL) {
        err->code = -ENOENT;
        snprintf(err->message, sizeof(err->message), "command names no file");
        return NULL;
    }
    if (snprintf(path, sizeof(path), "%s/%s", s->opt->dir, filename) >= (int)sizeof(path))
        rc = -ENAMETOOLONG;
    else
        rc = read_file(path, &bytes, &len);
    if (rc < 0) {
        err->code = rc;
        snprintf(err->message, sizeof(err->message), "cannot read %s: %s", filename, strerror(-rc));
        return NULL;
    }
    m = wasmslot_module_new_engine(bytes, len, s->opt->engine, err);
    free(bytes);
    /* Counted by the driver whatever the verbosity: a module that falls back is not tested on
     * the engine asked for. */
    if (m != NULL && wasmslot_module_fallback(m) != NULL)
        spec_report_send(s->rep, 'N', "line %ld: %s runs on the %s engine: %s", s->line, filename,
                         wasmslot_engine_name(wasmslot_module_engine(m)),
                         wasmslot_module_fallback(m));
    return m;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Find the value for one import: registered instances first (newest registration wins), then
 * the spectest module. */
static enum inst_outcome resolve(struct script *s, const struct wasmslot_extern_desc *d,
                                 struct wasmslot_extern *out, char *msg, size_t msglen)
{
    int rc = -WASMSLOT_ENOTFOUND;
    bool module_found = false;

    for (size_t i = s->nregs; i-- > 0;) {
        if (same_name(s->regs[i].as, s->regs[i].as_len, d->module, d->module_len)) {
            module_found = true;
            rc = wasmslot_instance_export(s->regs[i].inst, d->name, d->name_len, out);
            break;
        }
    }
    if (!module_found && same_name("spectest", 8, d->module, d->module_len)) {
        module_found = true;
        rc = spectest_lookup(s->spectest, d->name, d->name_len, out);
    }
    if (rc < 0) {
        snprintf(msg, msglen, "unknown import \"%s\".\"%s\"%s", d->module, d->name,
                 module_found ? "" : " (no such module registered)");
        return INST_LINK;
    }
    if (out->kind != d->kind) {
        snprintf(msg, msglen, "incompatible import type for \"%s\".\"%s\"", d->module, d->name);
        return INST_LINK;
    }
    return INST_OK;
}

/* --pool: take a slot for m's own memory and put it into opt. Returns 0 or -1 with msg. */
static int take_slot(struct script *s, const struct wasmslot_module *m,
                     struct wasmslot_instance_options *opt, char *msg, size_t msglen)
{
    struct wasmslot_pool_options po = {.slots = s->pool_slots, .max_pages = 0};
    struct wasmslot_error err;
    struct held_slot *h;

    memset(&err, 0, sizeof(err));
    if (s->pool == NULL && (s->pool = wasmslot_pool_new(&po, &err)) == NULL)
        goto fail;
    if (grow((void **)&s->held, &s->cap_held, s->nheld, sizeof(*s->held)) < 0) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    h = &s->held[s->nheld];
    h->slot = NULL;
    h->image = wasmslot_image_new(m, &err);
    if (h->image == NULL)
        goto fail;
    s->nheld++;
    if (!wasmslot_image_is_imaged(h->image))
        verbose(s, "image uses the copy fallback: %s", wasmslot_image_fallback_reason(h->image));
    h->slot = wasmslot_pool_acquire(s->pool, h->image, &err);
    if (h->slot == NULL)
        goto fail;
    opt->memory = wasmslot_slot_memory(h->slot);
    opt->data_preloaded = wasmslot_slot_preloaded(h->slot);
    verbose(s, "memory from a pool slot%s",
            opt->memory == NULL   ? " (none: not imaged)"
            : opt->data_preloaded ? ", data preloaded"
                                  : "");
    return 0;

fail:
    snprintf(msg, msglen, "pool: %s (%s)", err.message, wasmslot_errname(err.code));
    return -1;
}

/* Link and instantiate m. On success stores the instance in *out. */
static enum inst_outcome instantiate(struct script *s, const struct wasmslot_module *m,
                                     struct wasmslot_instance **out, char *msg, size_t msglen)
{
    uint32_t n = wasmslot_module_import_count(m);
    struct wasmslot_extern *imports = calloc(n > 0 ? n : 1, sizeof(*imports));
    struct wasmslot_instance_options opt;
    struct wasmslot_limits lim;
    struct wasmslot_error err;
    enum inst_outcome res = INST_ERROR;

    *out = NULL;
    if (imports == NULL) {
        snprintf(msg, msglen, "out of memory");
        return INST_ERROR;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct wasmslot_extern_desc d;

        if (wasmslot_module_import(m, i, &d) < 0) {
            snprintf(msg, msglen, "wasmslot_module_import(%u) failed", i);
            goto out;
        }
        res = resolve(s, &d, &imports[i], msg, msglen);
        if (res != INST_OK)
            goto out;
    }

    memset(&opt, 0, sizeof(opt));
    opt.imports = imports;
    opt.nimports = n;
    opt.exec = s->exec;
    if (s->opt->pool && wasmslot_module_memory(m, &lim) == 0 &&
        take_slot(s, m, &opt, msg, msglen) < 0) {
        res = INST_ERROR;
        goto out;
    }
    memset(&err, 0, sizeof(err));
    *out = wasmslot_instance_new(m, &opt, &err);
    if (*out != NULL) {
        res = INST_OK;
    } else {
        snprintf(msg, msglen, "%s (%s)", err.message, wasmslot_errname(err.code));
        if (err.code == -WASMSLOT_EUNLINKABLE)
            res = INST_LINK;
        else if (wasmslot_is_trap(err.code))
            res = INST_TRAP;
        else
            res = INST_ERROR;
    }
out:
    free(imports);
    return res;
}

static const char *outcome_name(enum inst_outcome o)
{
    switch (o) {
    case INST_OK:
        return "instantiated";
    case INST_LINK:
        return "link error";
    case INST_TRAP:
        return "trap";
    case INST_ERROR:
        return "error";
    }
    return "?";
}

/* ---------------------------------------------------------------- actions */

static struct wasmslot_instance *target(struct script *s, const json_t *action, char *msg,
                                        size_t msglen)
{
    const char *name = json_string_value(json_object_get(action, "module"));

    if (name == NULL) {
        if (s->current == NULL)
            snprintf(msg, msglen, "no module to act on (the last module failed)");
        return s->current;
    }
    for (size_t i = s->nloaded; i-- > 0;) {
        if (s->loaded[i].name != NULL && strcmp(s->loaded[i].name, name) == 0) {
            if (s->loaded[i].inst == NULL)
                snprintf(msg, msglen, "module %s failed to instantiate", name);
            return s->loaded[i].inst;
        }
    }
    snprintf(msg, msglen, "no module named %s", name);
    return NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Run an invoke or get action; the outcome says whether it could be attempted and what the
 * engine returned. */
static void run_action(struct script *s, const json_t *action, struct outcome *o)
{
    const char *kind = json_string_value(json_object_get(action, "type"));
    const json_t *field = json_object_get(action, "field");
    const char *name = json_string_value(field);
    size_t name_len = json_string_length(field);
    struct wasmslot_instance *inst;
    struct wasmslot_extern ext;
    const struct wasmslot_functype *ft;
    struct wasmslot_value args[MAX_VALUES];
    const json_t *jargs;
    size_t nargs;

    memset(o, 0, offsetof(struct outcome, results));
    o->msg[0] = '\0';
    o->setup_failed = true;
    if (kind == NULL || name == NULL) {
        snprintf(o->msg, sizeof(o->msg), "action without type or field");
        return;
    }
    inst = target(s, action, o->msg, sizeof(o->msg));
    if (inst == NULL)
        return;
    if (wasmslot_instance_export(inst, name, name_len, &ext) < 0) {
        snprintf(o->msg, sizeof(o->msg), "no export \"%s\"", name);
        return;
    }

    if (strcmp(kind, "get") == 0) {
        if (ext.kind != WASMSLOT_EXTERN_GLOBAL) {
            snprintf(o->msg, sizeof(o->msg), "export \"%s\" is not a global", name);
            return;
        }
        wasmslot_global_get(ext.of.global, &o->results[0]);
        o->global_type = o->results[0].type;
        o->types = &o->global_type;
        o->nresults = 1;
        o->setup_failed = false;
        return;
    }
    if (strcmp(kind, "invoke") != 0) {
        snprintf(o->msg, sizeof(o->msg), "unknown action type \"%s\"", kind);
        return;
    }
    if (ext.kind != WASMSLOT_EXTERN_FUNC) {
        snprintf(o->msg, sizeof(o->msg), "export \"%s\" is not a function", name);
        return;
    }
    ft = wasmslot_func_type(ext.of.func);
    jargs = json_object_get(action, "args");
    nargs = json_array_size(jargs);
    if (nargs > MAX_VALUES || ft->nresults > MAX_VALUES) {
        snprintf(o->msg, sizeof(o->msg), "too many values");
        return;
    }
    for (size_t i = 0; i < nargs; i++) {
        if (spec_value_parse(json_array_get(jargs, i), &args[i], o->msg, sizeof(o->msg)) < 0)
            return;
    }
    for (uint32_t i = 0; i < ft->nresults; i++) {
        memset(&o->results[i], 0, sizeof(o->results[i]));
        o->results[i].type = ft->results[i];
    }
    o->types = ft->results;
    o->nresults = ft->nresults;
    o->setup_failed = false;
    wasmslot_exec_set_deadline(s->exec, now_ns() + CALL_DEADLINE_NS);
    o->rc = wasmslot_call(s->exec, ext.of.func, args, (uint32_t)nargs, o->results, ft->nresults);
    wasmslot_exec_set_deadline(s->exec, 0);
}

/* Describe an action's results for a failure line. */
static void format_results(const struct outcome *o, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < o->nresults && used + 1 < len; i++) {
        snprintf(buf + used, len - used, "%s", i > 0 ? " " : "");
        used += strlen(buf + used);
        spec_value_format(o->types[i], &o->results[i], buf + used, len - used);
        used += strlen(buf + used);
    }
    if (o->nresults == 0)
        snprintf(buf, len, "(none)");
}

static const char *action_field(const json_t *cmd)
{
    const char *f = json_string_value(json_object_get(json_object_get(cmd, "action"), "field"));

    return f != NULL ? f : "?";
}

/* Compare results against the command's "expected" list; true when all match. */
static bool check_results(struct script *s, const json_t *cmd, const struct outcome *o)
{
    const json_t *exp = json_object_get(cmd, "expected");
    size_t n = json_array_size(exp);
    char got[512], want[128], msg[256];

    if (n != o->nresults) {
        format_results(o, got, sizeof(got));
        fail(s, "%s: expected %zu results, got %u: %s", action_field(cmd), n, o->nresults, got);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        struct spec_expect e;

        if (spec_expect_parse(json_array_get(exp, i), &e, msg, sizeof(msg)) < 0) {
            fail(s, "%s", msg);
            return false;
        }
        if (!spec_expect_match(&e, o->types[i], &o->results[i])) {
            format_results(o, got, sizeof(got));
            spec_expect_format(&e, want, sizeof(want));
            fail(s, "%s: result %zu: expected %s, got %s", action_field(cmd), i, want, got);
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- commands */

static void cmd_module(struct script *s, const json_t *cmd)
{
    const char *name = json_string_value(json_object_get(cmd, "name"));
    struct wasmslot_error err;
    struct wasmslot_module *m = load(s, json_string_value(json_object_get(cmd, "filename")), &err);
    struct wasmslot_instance *inst = NULL;
    enum inst_outcome res;
    char msg[512];

    /* A failed module leaves no default target, so later commands fail clearly instead of
     * running against an older module. */
    s->current = NULL;
    if (m == NULL) {
        fail(s, "cannot load: %s (%s)", err.message, wasmslot_errname(err.code));
        return;
    }
    res = instantiate(s, m, &inst, msg, sizeof(msg));
    if (keep(s, m, inst, name) == NULL) {
        wasmslot_instance_free(inst);
        wasmslot_module_free(m);
        fail(s, "out of memory");
        return;
    }
    if (res != INST_OK) {
        fail(s, "cannot instantiate: %s: %s", outcome_name(res), msg);
        return;
    }
    s->current = inst;
    pass(s);
}

static void cmd_register(struct script *s, const json_t *cmd)
{
    const json_t *as = json_object_get(cmd, "as");
    const char *name = json_string_value(json_object_get(cmd, "name"));
    struct wasmslot_instance *inst = s->current;
    struct registration *r;

    if (name != NULL) {
        inst = NULL;
        for (size_t i = s->nloaded; i-- > 0;) {
            if (s->loaded[i].name != NULL && strcmp(s->loaded[i].name, name) == 0) {
                inst = s->loaded[i].inst;
                break;
            }
        }
    }
    /* register is not counted, so a failure only shows in -v; the imports that need it fail. */
    if (inst == NULL || json_string_value(as) == NULL) {
        verbose(s, "nothing to register as \"%s\"",
                json_string_value(as) != NULL ? json_string_value(as) : "?");
        return;
    }
    if (grow((void **)&s->regs, &s->cap_regs, s->nregs, sizeof(*s->regs)) < 0)
        return;
    r = &s->regs[s->nregs];
    r->as_len = json_string_length(as);
    r->as = malloc(r->as_len + 1);
    if (r->as == NULL)
        return;
    memcpy(r->as, json_string_value(as), r->as_len + 1);
    r->inst = inst;
    s->nregs++;
}

static void cmd_action(struct script *s, const json_t *cmd, bool assert_return)
{
    struct outcome *o = malloc(sizeof(*o));

    if (o == NULL) {
        fail(s, "out of memory");
        return;
    }
    run_action(s, json_object_get(cmd, "action"), o);
    if (o->setup_failed)
        fail(s, "%s", o->msg);
    else if (o->rc != 0)
        fail(s, "%s: %s (%s)", action_field(cmd), wasmslot_strerror(o->rc),
             wasmslot_errname(o->rc));
    else if (!assert_return || check_results(s, cmd, o))
        pass(s);
    free(o);
}

static void cmd_assert_trap(struct script *s, const json_t *cmd, bool exhaustion)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    struct outcome *o = malloc(sizeof(*o));
    char got[512];

    if (o == NULL) {
        fail(s, "out of memory");
        return;
    }
    run_action(s, json_object_get(cmd, "action"), o);
    if (o->setup_failed) {
        fail(s, "%s", o->msg);
    } else if (o->rc == 0) {
        format_results(o, got, sizeof(got));
        fail(s, "%s: expected trap \"%s\", returned %s", action_field(cmd), text ? text : "?", got);
    } else if (exhaustion ? o->rc != -WASMSLOT_TRAP_STACK_EXHAUSTED : !wasmslot_is_trap(o->rc)) {
        fail(s, "%s: expected %s \"%s\", got %s (%s)", action_field(cmd),
             exhaustion ? "exhaustion" : "trap", text ? text : "?", wasmslot_strerror(o->rc),
             wasmslot_errname(o->rc));
    } else {
        check_text(s, text, wasmslot_strerror(o->rc));
        pass(s);
    }
    free(o);
}

/* assert_invalid / assert_malformed: the binary must not load. */
static void cmd_assert_invalid(struct script *s, const json_t *cmd, bool malformed)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
    struct wasmslot_error err;
    struct wasmslot_module *m;

    /* The engine takes binaries only; text-format cases test wast2json's parser. */
    if (mtype != NULL && strcmp(mtype, "text") == 0) {
        skip(s);
        return;
    }
    /* Written before reference types, which made several tables valid. */
    if (!malformed && text != NULL && strcmp(text, "multiple tables") == 0) {
        skip(s);
        return;
    }
    m = load(s, json_string_value(json_object_get(cmd, "filename")), &err);
    if (m != NULL) {
        wasmslot_module_free(m);
        fail(s, "module loaded, expected \"%s\"", text ? text : "?");
        return;
    }
    if (err.code != (malformed ? -WASMSLOT_EMALFORMED : -WASMSLOT_EINVALID))
        verbose(s, "rejected as %s, not %s", wasmslot_errname(err.code),
                malformed ? "malformed" : "invalid");
    check_text(s, text, err.message);
    pass(s);
}

/* assert_unlinkable / assert_uninstantiable: loads, then instantiation fails the named way. */
static void cmd_assert_instantiation(struct script *s, const json_t *cmd, enum inst_outcome want)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    struct wasmslot_error err;
    struct wasmslot_module *m = load(s, json_string_value(json_object_get(cmd, "filename")), &err);
    struct wasmslot_instance *inst = NULL;
    enum inst_outcome res;
    char msg[512];

    if (m == NULL) {
        fail(s, "cannot load: %s (%s)", err.message, wasmslot_errname(err.code));
        return;
    }
    res = instantiate(s, m, &inst, msg, sizeof(msg));
    /* Kept even when it failed as expected: a failed instantiation may already have put its
     * functions into imported tables. */
    if (keep(s, m, inst, NULL) == NULL) {
        wasmslot_instance_free(inst);
        wasmslot_module_free(m);
        fail(s, "out of memory");
        return;
    }
    if (res == want) {
        check_text(s, text, msg);
        pass(s);
    } else if (res == INST_OK) {
        fail(s, "instantiated, expected %s \"%s\"", outcome_name(want), text ? text : "?");
    } else {
        fail(s, "expected %s \"%s\", got %s: %s", outcome_name(want), text ? text : "?",
             outcome_name(res), msg);
    }
}

static void run_command(struct script *s, const json_t *cmd)
{
    const char *t = s->type;

    if (strcmp(t, "module") == 0)
        cmd_module(s, cmd);
    else if (strcmp(t, "action") == 0)
        cmd_action(s, cmd, false);
    else if (strcmp(t, "assert_return") == 0)
        cmd_action(s, cmd, true);
    else if (strcmp(t, "assert_trap") == 0 && json_object_get(cmd, "filename") != NULL)
        cmd_assert_instantiation(s, cmd, INST_TRAP);
    else if (strcmp(t, "assert_trap") == 0)
        cmd_assert_trap(s, cmd, false);
    else if (strcmp(t, "assert_exhaustion") == 0)
        cmd_assert_trap(s, cmd, true);
    else if (strcmp(t, "assert_invalid") == 0)
        cmd_assert_invalid(s, cmd, false);
    else if (strcmp(t, "assert_malformed") == 0)
        cmd_assert_invalid(s, cmd, true);
    else if (strcmp(t, "assert_unlinkable") == 0)
        cmd_assert_instantiation(s, cmd, INST_LINK);
    else if (strcmp(t, "assert_uninstantiable") == 0)
        cmd_assert_instantiation(s, cmd, INST_TRAP);
    else
        fail(s, "unknown command type");
}

static void script_free(struct script *s)
{
    bool pool_idle = true;

    /* Instances first: any of them may hold references into another's tables or memory. */
    for (size_t i = s->nloaded; i-- > 0;)
        wasmslot_instance_free(s->loaded[i].inst);
    /* The spectest table may keep failed instantiations alive (they wrote into it); they go
     * with it and still need their modules and slots. */
    spectest_free(s->spectest);
    for (size_t i = 0; i < s->nheld; i++) {
        int rc = s->held[i].slot != NULL ? wasmslot_pool_release(s->pool, s->held[i].slot) : 0;

        if (rc == -EBUSY)
            pool_idle = false;
        if (rc < 0)
            spec_report_send(s->rep, 'E', "line 0: pool: releasing a slot: %s",
                             wasmslot_strerror(rc));
        wasmslot_image_free(s->held[i].image);
    }
    free(s->held);
    /* A slot that could not be released is still in use: leak the pool rather than unmap it. */
    if (pool_idle)
        wasmslot_pool_free(s->pool);
    for (size_t i = s->nloaded; i-- > 0;) {
        wasmslot_module_free(s->loaded[i].module);
        free(s->loaded[i].name);
    }
    free(s->loaded);
    for (size_t i = 0; i < s->nregs; i++)
        free(s->regs[i].as);
    free(s->regs);
    wasmslot_exec_free(s->exec);
}

/* Commands that instantiate a module: the most slots --pool can need. */
static uint32_t count_instantiations(const json_t *cmds)
{
    uint32_t n = 0;

    for (size_t i = 0; i < json_array_size(cmds); i++) {
        const json_t *cmd = json_array_get(cmds, i);
        const char *t = json_string_value(json_object_get(cmd, "type"));

        if (t != NULL &&
            (strcmp(t, "module") == 0 || strcmp(t, "assert_unlinkable") == 0 ||
             strcmp(t, "assert_uninstantiable") == 0 ||
             (strcmp(t, "assert_trap") == 0 && json_object_get(cmd, "filename") != NULL)))
            n++;
    }
    return n > 0 ? n : 1;
}

int spec_script_run(const struct spec_script_options *opt)
{
    struct script s;
    json_error_t jerr;
    json_t *root, *cmds;
    struct wasmslot_error err;
    size_t ncounted = 0;
    int rc = -1;

    memset(&s, 0, sizeof(s));
    s.opt = opt;
    s.rep = &opt->report;
    s.type = "script";
    root = json_load_file(opt->json_path, JSON_ALLOW_NUL, &jerr);
    cmds = json_object_get(root, "commands");
    if (!json_is_array(cmds)) {
        spec_report_send(s.rep, 'T', "1");
        spec_report_send(s.rep, 'F', "cannot read %s: %s", opt->json_path,
                         root == NULL ? jerr.text : "no commands array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(cmds, i), "type"));

        if (t == NULL || strcmp(t, "register") != 0)
            ncounted++;
    }
    spec_report_send(s.rep, 'T', "%zu", ncounted);
    s.pool_slots = count_instantiations(cmds);

    memset(&err, 0, sizeof(err));
    s.exec = wasmslot_exec_new(NULL, &err);
    if (s.exec != NULL)
        s.spectest = spectest_new(s.rep, &err);
    if (s.exec == NULL || s.spectest == NULL) {
        /* Without an execution context nothing can run: every command fails. */
        for (size_t i = 0; i < ncounted; i++)
            spec_report_send(s.rep, 'F', "line 0: setup: %s (%s)", err.message,
                             wasmslot_errname(err.code));
        goto out;
    }

    for (size_t i = 0; i < json_array_size(cmds); i++) {
        const json_t *cmd = json_array_get(cmds, i);
        const char *t = json_string_value(json_object_get(cmd, "type"));

        s.line = (long)json_integer_value(json_object_get(cmd, "line"));
        s.type = t != NULL ? t : "(no type)";
        if (t != NULL && strcmp(t, "register") == 0) {
            cmd_register(&s, cmd);
            continue;
        }
        spec_report_send(s.rep, 'C', "%ld %s", s.line, s.type);
        run_command(&s, cmd);
    }
    rc = 0;
out:
    script_free(&s);
    json_decref(root);
    return rc;
}
