/* modcode.c: the compiled code of a config's modules, built in the master before fork. Files are
 * read in config order; the ones neither unchanged since the serving generation nor named
 * twice are compiled by a few threads at once (compiling is most of a start's time with the
 * native tier); then the results are taken in config order, so the first failure reported is
 * the first in the file. */
#include "config.h"

#include "modcode.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Threads compiling at once, at most. */
#define MAX_THREADS 16

/* Read a whole file; returns 0 or -errno. */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t got = 0;
    int fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        goto fail;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (buf == NULL)
        goto fail;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            goto fail;
        }
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
fail:
    e = errno;
    free(buf);
    close(fd);
    return -e;
}

/* A module's code and the bytes it was made from (kept to recognise an unchanged file). */
struct held {
    struct modcode code;
    unsigned char *bytes;
    size_t len;
};

static struct held *held_of(const struct modcode *code)
{
    return (struct held *)((char *)code - offsetof(struct held, code));
}

static bool same_source(const struct modcode *code, const struct cfg_module *cm,
                        const unsigned char *bytes, size_t len)
{
    const struct held *h = held_of(code);
    return code->asked == cm->engine && strcmp(code->path, cm->path) == 0 && h->len == len &&
           memcmp(h->bytes, bytes, len) == 0;
}

void modcode_put(struct modcode *code)
{
    if (code == NULL || --code->refs > 0)
        return;
    struct held *h = held_of(code);
    wasmslot_image_free(code->image);
    wasmslot_module_free(code->module);
    free(code->path);
    free(h->bytes);
    free(h);
}

/* One section's part of a load. */
struct job {
    const struct cfg_module *cm;
    uint64_t read_ns; /* reading its file took */
    struct held *h;  /* to build (bytes read), or NULL */
    int shares;      /* MODCODE_SHARED: the earlier section's index */
    char err[512];   /* the build's failure, if any */
    bool failed;
};

struct load {
    const struct config *cfg;
    struct job *jobs;
    size_t njobs;
    _Atomic size_t next;
};

/* Compile and image one module: 0, or -1 with the reason in j->err. */
static int build(const struct config *cfg, struct job *j)
{
    const struct cfg_module *cm = j->cm;
    const struct wasmslot_compile_options opts = {.engine = cm->engine,
                                                  .cache_dir = cfg->cache_dir};
    struct wasmslot_error werr = {0};
    struct modcode *code = &j->h->code;
    const uint64_t t0 = mono_ns();

    code->module = wasmslot_module_compile(j->h->bytes, j->h->len, &opts, &werr);
    if (code->module == NULL) {
        snprintf(j->err, sizeof(j->err), "%s:%d: module '%s': %s: %s", cfg->file, cm->line,
                 cm->name, cm->path,
                 werr.message[0] ? werr.message : wasmslot_strerror(werr.code));
        return -1;
    }
    code->image = wasmslot_image_new(code->module, &werr);
    if (code->image == NULL) {
        snprintf(j->err, sizeof(j->err), "%s:%d: module '%s': cannot build its memory image: %s",
                 cfg->file, cm->line, cm->name,
                 werr.message[0] ? werr.message : wasmslot_strerror(werr.code));
        return -1;
    }
    code->load_ns = j->read_ns + (mono_ns() - t0);
    return 0;
}

static void *build_thread(void *arg)
{
    struct load *l = arg;

    for (;;) {
        size_t i = atomic_fetch_add(&l->next, 1);
        if (i >= l->njobs)
            return NULL;
        struct job *j = &l->jobs[i];
        if (j->h != NULL && !j->failed && build(l->cfg, j) < 0)
            j->failed = true;
    }
}

/* How many threads may compile: the CPUs this process may run on, at most MAX_THREADS and
 * at most one per module to build. */
static unsigned thread_count(size_t nbuild)
{
    cpu_set_t set;
    unsigned n = 1;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = (unsigned)CPU_COUNT(&set);
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    if (n > nbuild)
        n = (unsigned)nbuild;
    return n > 0 ? n : 1;
}

static void build_all(struct load *l, size_t nbuild)
{
    pthread_t tid[MAX_THREADS];
    unsigned n = thread_count(nbuild), started = 0;

    /* This thread is one of them; a thread that cannot start leaves its share to the others. */
    for (unsigned i = 1; i < n; i++)
        if (pthread_create(&tid[started], NULL, build_thread, l) == 0)
            started++;
    build_thread(l);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}

/* Read cm's file and decide where its code comes from. 0, or -1 with err filled. */
static int plan(const struct config *cfg, struct modcode *const *prev, size_t nprev,
                struct job *jobs, size_t i, struct modcode **out, enum modcode_origin *origin,
                char *err, size_t errlen)
{
    const struct cfg_module *cm = &cfg->modules[i];
    struct job *j = &jobs[i];
    unsigned char *bytes = NULL;
    size_t len = 0;
    int r;

    j->cm = cm;
    const uint64_t t0 = mono_ns();
    r = read_file(cm->path, &bytes, &len);
    j->read_ns = mono_ns() - t0;
    if (r < 0) {
        snprintf(err, errlen, "%s:%d: module '%s': cannot read %s: %s", cfg->file, cm->line,
                 cm->name, cm->path, strerror(-r));
        return -1;
    }
    for (size_t k = 0; k < nprev; k++) {
        if (prev[k] != NULL && same_source(prev[k], cm, bytes, len)) {
            free(bytes);
            prev[k]->refs++;
            out[i] = prev[k];
            origin[i] = MODCODE_KEPT;
            return 0;
        }
    }
    for (size_t k = 0; k < i; k++) {
        if (jobs[k].h != NULL && same_source(&jobs[k].h->code, cm, bytes, len)) {
            free(bytes);
            j->shares = (int)k;
            origin[i] = MODCODE_SHARED;
            return 0;
        }
    }
    j->h = calloc(1, sizeof(*j->h));
    if (j->h == NULL || (j->h->code.path = strdup(cm->path)) == NULL) {
        free(j->h);
        j->h = NULL;
        free(bytes);
        snprintf(err, errlen, "%s:%d: module '%s': out of memory", cfg->file, cm->line, cm->name);
        return -1;
    }
    j->h->bytes = bytes;
    j->h->len = len;
    j->h->code.refs = 1;
    j->h->code.asked = cm->engine;
    origin[i] = MODCODE_BUILT;
    return 0;
}

int modcode_load(const struct config *cfg, struct modcode *const *prev, size_t nprev,
                 struct modcode **out, enum modcode_origin *origin, char *err, size_t errlen)
{
    struct load l = {.cfg = cfg, .njobs = cfg->nmodules};
    size_t nbuild = 0, i;
    int rc = 0;

    memset(out, 0, cfg->nmodules * sizeof(*out));
    l.jobs = calloc(cfg->nmodules ? cfg->nmodules : 1, sizeof(*l.jobs));
    if (l.jobs == NULL) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        return -1;
    }
    for (i = 0; i < cfg->nmodules && rc == 0; i++) {
        rc = plan(cfg, prev, nprev, l.jobs, i, out, origin, err, errlen);
        nbuild += l.jobs[i].h != NULL;
    }
    if (rc == 0 && nbuild > 0)
        build_all(&l, nbuild);
    /* In config order: the first failure is the one reported. */
    for (size_t k = 0; rc == 0 && k < cfg->nmodules; k++) {
        struct job *j = &l.jobs[k];
        if (j->failed) {
            snprintf(err, errlen, "%s", j->err);
            rc = -1;
        } else if (j->h != NULL) {
            out[k] = &j->h->code;
            j->h = NULL; /* out[k] holds the reference now */
        } else if (origin[k] == MODCODE_SHARED) {
            out[k] = out[j->shares];
            out[k]->refs++;
        }
    }
    if (rc < 0) {
        for (size_t k = 0; k < cfg->nmodules; k++) {
            modcode_put(out[k]);
            out[k] = NULL;
        }
    }
    for (size_t k = 0; k < i; k++)
        if (l.jobs[k].h != NULL)
            modcode_put(&l.jobs[k].h->code);
    free(l.jobs);
    return rc;
}

void modcode_describe(const struct modcode *code, enum modcode_origin origin, char *buf,
                      size_t len)
{
    const struct wasmslot_module *m = code->module;
    const char *engine = wasmslot_engine_name(wasmslot_module_engine(m));
    const char *fallback = wasmslot_module_fallback(m);
    enum wasmslot_cache_state cache = wasmslot_module_cache_state(m);
    char cached[48] = "";

    if (origin == MODCODE_KEPT) {
        snprintf(buf, len, "unchanged, kept its compiled code (engine %s)", engine);
        return;
    }
    if (cache != WASMSLOT_CACHE_NONE)
        snprintf(cached, sizeof(cached), ", code cache %s", wasmslot_cache_state_name(cache));
    if (fallback != NULL)
        snprintf(buf, len, "engine %s (%s asked, fell back: %s), loaded in %.1f ms%s", engine,
                 wasmslot_engine_name(code->asked), fallback, code->load_ns / 1e6,
                 origin == MODCODE_SHARED ? ", shared with an earlier section" : "");
    else
        snprintf(buf, len, "engine %s, loaded in %.1f ms (compile %.1f ms%s)%s", engine,
                 code->load_ns / 1e6, wasmslot_module_compile_ns(m) / 1e6, cached,
                 origin == MODCODE_SHARED ? ", shared with an earlier section" : "");
}
