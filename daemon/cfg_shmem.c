/* cfg_shmem.c: the [shmem NAME] sections: shared memories, given by their minimum and
 * maximum sizes. */
#include "config.h"

#include "cfg_internal.h"

#include <stdlib.h>
#include <string.h>

/* A size of a [shmem] section: whole 64 KiB pages, at most 4 GiB (65536 pages). */
static int shmem_size(struct cfg__parser *p, const char *k, const char *v, uint64_t *out)
{
    unsigned long long n = 0; /* gcc -O3 cannot see that perr returns -1 */

    if (cfg__parse_size(p, k, v, 0, 1ULL << 32, &n) < 0)
        return -1;
    if (n % 65536 != 0)
        return cfg__perr(p, "%s: %llu is not a multiple of the 64K page size", k, n);
    *out = n;
    return 0;
}

int cfg__shmem_key(struct cfg__parser *p, const char *k, const char *v)
{
    struct cfg_shmem *sh = &p->cfg->shmems[p->cfg->nshmems - 1];

    if (strcmp(k, "min") == 0)
        return shmem_size(p, k, v, &sh->min);
    if (strcmp(k, "max") == 0)
        return shmem_size(p, k, v, &sh->max);
    return cfg__perr(p, "unknown directive '%s' in [shmem %s] (expected min or max)", k, sh->name);
}

int cfg__shmem_section(struct cfg__parser *p, const char *name)
{
    struct config *c = p->cfg;
    struct cfg_shmem *shs;

    if (!cfg__valid_name(name))
        return cfg__perr(p, "[shmem NAME]: the name must be 1-64 characters of A-Z a-z 0-9 _ . -");
    if (cfg_shmem_find(c, name) != NULL)
        return cfg__perr(p, "shmem '%s' is defined twice", name);
    shs = realloc(c->shmems, (c->nshmems + 1) * sizeof(*shs));
    if (shs == NULL)
        return cfg__perr(p, "out of memory");
    c->shmems = shs;
    memset(&shs[c->nshmems], 0, sizeof(*shs));
    shs[c->nshmems].min = CFG_DEFAULT_SHMEM_MIN;
    shs[c->nshmems].line = p->line;
    shs[c->nshmems].name = strdup(name);
    c->nshmems++;
    if (shs[c->nshmems - 1].name == NULL)
        return cfg__perr(p, "out of memory");
    p->sec = SEC_SHMEM;
    return 0;
}
