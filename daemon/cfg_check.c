/* cfg_check.c: the checks across sections once the whole file is read (every module has a
 * path, every binding and route a target, limits agree with each other), and the defaults that
 * depend on other directives. */
#include "config.h"

#include "cfg_internal.h"

#include <string.h>

/* Runs without a deadline must leave an executor thread to the others: by default all but
 * one may run at once, and a pool with deadline = 0 needs at least two threads. */
static int check_fair(struct cfg__parser *p)
{
    struct config *c = p->cfg;
    const struct cfg_module *unlimited = NULL;

    for (size_t i = 0; i < c->nmodules && unlimited == NULL; i++)
        if (c->modules[i].deadline_ms == 0)
            unlimited = &c->modules[i];
    if (c->max_unlimited_runs == 0)
        c->max_unlimited_runs = c->executor_threads > 1 ? c->executor_threads - 1 : 1;
    if (unlimited == NULL)
        return 0;
    p->line = unlimited->line;
    if (c->executor_threads < 2)
        return cfg__perr(p,
                         "[module %s] deadline = 0 needs executor_threads >= 2: its runs may never "
                         "end, and one thread must stay for the runs that do",
                         unlimited->name);
    if (c->max_unlimited_runs >= c->executor_threads)
        return cfg__perr(p,
                         "max_unlimited_runs %u must be below executor_threads (%u), so that runs "
                         "without a deadline cannot take every executor thread",
                         c->max_unlimited_runs, c->executor_threads);
    return 0;
}

int cfg__check(struct cfg__parser *p)
{
    struct config *c = p->cfg;

    p->line = 0;
    if (c->nmodules == 0)
        return cfg__perr(p, "no [module NAME] section: the daemon would have nothing to serve");
    for (size_t i = 0; i < c->nmodules; i++) {
        struct cfg_module *m = &c->modules[i];
        p->line = m->line;
        if (m->path == NULL)
            return cfg__perr(p, "[module %s] has no 'path'", m->name);
        if (m->max_request_size == 0)
            m->max_request_size = c->max_request_size;
        else if (m->max_request_size > c->max_request_size)
            return cfg__perr(
                p,
                "[module %s] max_request_size %zu exceeds the daemon's max_request_size "
                "%zu",
                m->name, m->max_request_size, c->max_request_size);
        for (size_t k = 0; k < m->nimports; k++) {
            p->line = m->imports[k].line;
            if (cfg_shmem_find(c, m->imports[k].shmem) == NULL)
                return cfg__perr(p, "import %s.%s: no [shmem %s] section", m->imports[k].module,
                                 m->imports[k].name, m->imports[k].shmem);
        }
    }
    for (size_t i = 0; i < c->nshmems; i++) {
        const struct cfg_shmem *sh = &c->shmems[i];
        p->line = sh->line;
        if (sh->max == 0)
            return cfg__perr(p, "[shmem %s] has no 'max' (a shared memory needs a maximum size)",
                             sh->name);
        if (sh->min > sh->max)
            return cfg__perr(p, "[shmem %s] min %llu is larger than max %llu", sh->name,
                             (unsigned long long)sh->min, (unsigned long long)sh->max);
    }
    if (check_fair(p) < 0)
        return -1;
    if (cfg__listen_check(p) < 0)
        return -1;
    p->line = 0;
    return 0;
}
