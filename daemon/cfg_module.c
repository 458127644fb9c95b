/* cfg_module.c: the [module NAME] sections: a pool of slots for one compiled module, with
 * its limits, reset mode, engine and the shared memories bound to its imports. */
#include "config.h"

#include "cfg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The [module] directives that share a pool between connections. */
static int module_fair_key(struct cfg__parser *p, struct cfg_module *m, const char *k,
                           const char *v)
{
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "max_instances_per_connection") == 0) {
        if (cfg__parse_uint(p, k, v, 0, 1000000, &n) < 0)
            return -1;
        m->max_instances_per_connection = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "pool_wait") == 0) {
        if (cfg__parse_duration(p, k, v, 10 * 1000, &ms) < 0)
            return -1;
        m->pool_wait_ms = ms;
        return 0;
    }
    return cfg__perr(p, "unknown directive '%s' in [module %s]", k, m->name);
}

/* `import = MODULE.NAME shmem:SHMEM`: bind a memory import of the module to a shared memory.
 * The import's module name ends at the first '.'; the section's existence is checked by
 * cfg__check(), and whether the module really has such an import by modset_load(). */
static int module_import(struct cfg__parser *p, struct cfg_module *m, const char *v)
{
    static const char usage[] = "import: expected 'MODULE.NAME shmem:SHMEM' (e.g. "
                                "'env.memory shmem:counter'), got '%s'";
    const char *sp = v, *dot, *target;
    struct cfg_import *imps, *im;

    while (*sp && !isspace((unsigned char)*sp))
        sp++;
    target = sp;
    while (isspace((unsigned char)*target))
        target++;
    dot = memchr(v, '.', (size_t)(sp - v));
    if (*sp == '\0' || dot == NULL || dot == v || dot + 1 == sp ||
        strncmp(target, "shmem:", 6) != 0)
        return cfg__perr(p, usage, v);
    target += 6;
    if (!cfg__valid_name(target))
        return cfg__perr(
            p, "import: '%s' is not a shmem name (1-64 characters of A-Z a-z 0-9 _ . -)", target);
    for (size_t i = 0; i < m->nimports; i++)
        if (strlen(m->imports[i].module) == (size_t)(dot - v) &&
            strncmp(m->imports[i].module, v, (size_t)(dot - v)) == 0 &&
            strlen(m->imports[i].name) == (size_t)(sp - dot - 1) &&
            strncmp(m->imports[i].name, dot + 1, (size_t)(sp - dot - 1)) == 0)
            return cfg__perr(p, "import: %.*s is bound twice", (int)(sp - v), v);
    imps = realloc(m->imports, (m->nimports + 1) * sizeof(*imps));
    if (imps == NULL)
        return cfg__perr(p, "out of memory");
    m->imports = imps;
    im = &imps[m->nimports++];
    im->module = strndup(v, (size_t)(dot - v));
    im->name = strndup(dot + 1, (size_t)(sp - dot - 1));
    im->shmem = strdup(target);
    im->line = p->line;
    if (im->module == NULL || im->name == NULL || im->shmem == NULL)
        return cfg__perr(p, "out of memory");
    return 0;
}

int cfg__module_key(struct cfg__parser *p, const char *k, const char *v)
{
    struct cfg_module *m = &p->cfg->modules[p->cfg->nmodules - 1];
    unsigned long long n;
    uint64_t ms;

    if (strcmp(k, "path") == 0) {
        char *full;
        if (*v == '\0')
            return cfg__perr(p, "path: empty");
        if (v[0] == '/') {
            full = strdup(v);
        } else if (asprintf(&full, "%s/%s", p->dir, v) < 0) {
            full = NULL;
        }
        if (full == NULL)
            return cfg__perr(p, "out of memory");
        if (access(full, R_OK) != 0) {
            int e = errno;
            cfg__perr(p, "path: cannot read '%s': %s", full, strerror(e));
            free(full);
            return -1;
        }
        free(m->path);
        m->path = full;
        return 0;
    }
    if (strcmp(k, "slots") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 65536, &n) < 0)
            return -1;
        m->slots = (uint32_t)n;
        return 0;
    }
    if (strcmp(k, "max_table_elements") == 0) {
        if (cfg__parse_uint(p, k, v, 1, 10000000, &n) < 0)
            return -1;
        m->max_table_elements = (uint32_t)n;
        return 0;
    }
    if (strcmp(k, "unknown_imports") == 0) {
        if (strcmp(v, "reject") == 0)
            m->unknown_imports_trap = false;
        else if (strcmp(v, "trap") == 0)
            m->unknown_imports_trap = true;
        else
            return cfg__perr(p, "unknown_imports: '%s' is neither 'reject' nor 'trap'", v);
        return 0;
    }
    if (strcmp(k, "stack_size") == 0) {
        if (cfg__parse_size(p, k, v, 64 * 1024, 1ULL << 30, &n) < 0)
            return -1;
        m->stack_size = (size_t)n;
        return 0;
    }
    if (strcmp(k, "max_memory") == 0) {
        if (cfg__parse_size(p, k, v, 0, 1ULL << 32, &n) < 0)
            return -1;
        if (n % 65536 != 0)
            return cfg__perr(p, "max_memory: %llu is not a multiple of the 64K page size", n);
        m->max_memory = n;
        return 0;
    }
    if (strcmp(k, "deadline") == 0) {
        if (cfg__parse_duration(p, k, v, 3600 * 1000, &ms) < 0)
            return -1;
        m->deadline_ms = ms;
        return 0;
    }
    if (strcmp(k, "max_request_size") == 0) {
        if (cfg__parse_size(p, k, v, 256, 1ULL << 30, &n) < 0)
            return -1;
        m->max_request_size = (size_t)n;
        return 0;
    }
    if (strcmp(k, "wasi_dir") == 0) {
        struct stat st;
        char *full;
        if (*v == '\0') {
            free(m->wasi_dir);
            m->wasi_dir = NULL;
            return 0;
        }
        if (v[0] == '/')
            full = strdup(v);
        else if (asprintf(&full, "%s/%s", p->dir, v) < 0)
            full = NULL;
        if (full == NULL)
            return cfg__perr(p, "out of memory");
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode)) {
            cfg__perr(p, "wasi_dir: '%s' is not a directory", full);
            free(full);
            return -1;
        }
        free(m->wasi_dir);
        m->wasi_dir = full;
        return 0;
    }
    if (strcmp(k, "wasi_output_max") == 0) {
        if (cfg__parse_size(p, k, v, 1, 1ULL << 30, &n) < 0)
            return -1;
        m->wasi_output_max = (size_t)n;
        return 0;
    }
    if (strcmp(k, "reset") == 0) {
        if (strcmp(v, "auto") == 0)
            m->reset = WASMSLOT_RESET_AUTO;
        else if (strcmp(v, "madvise") == 0)
            m->reset = WASMSLOT_RESET_MADVISE;
        else if (strcmp(v, "keep") == 0)
            m->reset = WASMSLOT_RESET_KEEP;
        else
            return cfg__perr(p, "reset: '%s' is not auto, madvise or keep", v);
        return 0;
    }
    if (strcmp(k, "engine") == 0) {
        if (strcmp(v, "interp") == 0)
            m->engine = WASMSLOT_ENGINE_INTERP;
        else if (strcmp(v, "native") == 0)
            m->engine = WASMSLOT_ENGINE_NATIVE;
        else
            return cfg__perr(p, "engine: '%s' is neither 'native' nor 'interp'", v);
        if (!wasmslot_engine_available(m->engine))
            return cfg__perr(p,
                             "engine: this build has no %s tier (configured --without-llvm, or a "
                             "CPU LLVM does not know)",
                             v);
        return 0;
    }
    if (strcmp(k, "reset_keep_max") == 0) {
        if (cfg__parse_size(p, k, v, 4096, 1ULL << 32, &n) < 0)
            return -1;
        m->reset_keep_max = (size_t)n;
        return 0;
    }
    if (strcmp(k, "import") == 0)
        return module_import(p, m, v);
    return module_fair_key(p, m, k, v);
}

int cfg__module_section(struct cfg__parser *p, const char *name)
{
    struct config *c = p->cfg;
    struct cfg_module *mods;

    if (!cfg__valid_name(name))
        return cfg__perr(p, "[module NAME]: the name must be 1-64 characters of A-Z a-z 0-9 _ . -");
    if (cfg_module_find(c, name) != NULL)
        return cfg__perr(p, "module '%s' is defined twice", name);
    mods = realloc(c->modules, (c->nmodules + 1) * sizeof(*mods));
    if (mods == NULL)
        return cfg__perr(p, "out of memory");
    c->modules = mods;
    memset(&mods[c->nmodules], 0, sizeof(*mods));
    mods[c->nmodules].name = strdup(name);
    mods[c->nmodules].slots = CFG_DEFAULT_SLOTS;
    mods[c->nmodules].deadline_ms = CFG_DEFAULT_DEADLINE_MS;
    mods[c->nmodules].max_request_size = 0; /* the daemon's, filled in at the end */
    mods[c->nmodules].wasi_output_max = CFG_DEFAULT_WASI_OUTPUT_MAX;
    mods[c->nmodules].max_table_elements = CFG_DEFAULT_MAX_TABLE;
    mods[c->nmodules].max_memory = CFG_DEFAULT_MAX_MEMORY;
    mods[c->nmodules].stack_size = CFG_DEFAULT_STACK_SIZE;
    mods[c->nmodules].reset = WASMSLOT_RESET_AUTO;
    mods[c->nmodules].reset_keep_max = WASMSLOT_RESET_KEEP_DEFAULT;
    mods[c->nmodules].engine = wasmslot_engine_available(WASMSLOT_ENGINE_NATIVE)
                                   ? WASMSLOT_ENGINE_NATIVE
                                   : WASMSLOT_ENGINE_INTERP;
    mods[c->nmodules].line = p->line;
    c->nmodules++;
    if (mods[c->nmodules - 1].name == NULL)
        return cfg__perr(p, "out of memory");
    p->sec = SEC_MODULE;
    return 0;
}
