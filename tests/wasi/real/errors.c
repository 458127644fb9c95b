/* errors.c: a WASI test program: error paths without setjmp: a configuration parser whose
 * functions return error codes that callers propagate through cleanup labels, errno and
 * strerror, and an exit status that says what failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum err { E_OK, E_SYNTAX, E_RANGE, E_DUP, E_NOMEM, E_MISSING };

static const char *err_name(enum err e)
{
    switch (e) {
    case E_OK: return "ok";
    case E_SYNTAX: return "syntax error";
    case E_RANGE: return "value out of range";
    case E_DUP: return "duplicate key";
    case E_NOMEM: return "out of memory";
    case E_MISSING: return "missing key";
    }
    return "?";
}

struct entry {
    char *key;
    long value;
    struct entry *next;
};

static void free_entries(struct entry *e)
{
    while (e) {
        struct entry *n = e->next;
        free(e->key);
        free(e);
        e = n;
    }
}

static enum err parse_value(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (end == s || *end != '\0')
        return E_SYNTAX;
    if (errno == ERANGE || v < -1000000 || v > 1000000)
        return E_RANGE;
    *out = v;
    return E_OK;
}

static enum err parse_line(char *line, struct entry **list, int lineno)
{
    enum err rc;
    struct entry *e = NULL;
    char *eq = strchr(line, '=');
    long v;

    if (eq == NULL || eq == line)
        return E_SYNTAX;
    *eq = '\0';
    rc = parse_value(eq + 1, &v);
    if (rc != E_OK)
        goto fail;
    for (struct entry *p = *list; p; p = p->next)
        if (strcmp(p->key, line) == 0) {
            rc = E_DUP;
            goto fail;
        }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(line)) == NULL) {
        rc = E_NOMEM;
        goto fail;
    }
    e->value = v;
    e->next = *list;
    *list = e;
    return E_OK;
fail:
    fprintf(stderr, "line %d: %s: %s\n", lineno, line, err_name(rc));
    free(e);
    return rc;
}

static enum err parse(const char *text, struct entry **out)
{
    char *copy = strdup(text), *save = NULL;
    enum err rc = E_OK, first = E_OK;
    int lineno = 0;

    if (copy == NULL)
        return E_NOMEM;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#')
            continue;
        rc = parse_line(line, out, lineno);
        if (rc != E_OK && first == E_OK)
            first = rc;
    }
    free(copy);
    return first;
}

static enum err lookup(const struct entry *e, const char *key, long *v)
{
    for (; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            *v = e->value;
            return E_OK;
        }
    return E_MISSING;
}

int main(void)
{
    static const char *const configs[] = {
        "# good\nworkers=4\nslots=0x40\ndeadline=-5\n",
        "workers=4\nworkers=5\n",
        "a=1\nb=2x\nc=99999999999\n=3\nnoequals\n",
    };
    int status = 0;

    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        struct entry *list = NULL;
        long v;
        enum err rc = parse(configs[i], &list);
        printf("config %zu: %s\n", i, err_name(rc));
        if (rc == E_OK) {
            static const char *const keys[] = {"workers", "slots", "deadline", "absent"};
            for (size_t k = 0; k < 4; k++) {
                enum err lr = lookup(list, keys[k], &v);
                if (lr == E_OK)
                    printf("  %s = %ld\n", keys[k], v);
                else
                    printf("  %s: %s\n", keys[k], err_name(lr));
            }
        } else
            status = status ? status : 10 + (int)rc;
        free_entries(list);
    }
    errno = 0;
    FILE *f = fopen("/no/such/file", "r");
    printf("fopen: %s, errno %s\n", f ? "opened" : "failed", errno ? "set" : "unset");
    printf("strerror(ERANGE): %s\n", strerror(ERANGE));
    printf("strerror(EINVAL): %s\n", strerror(EINVAL));
    return status;
}
