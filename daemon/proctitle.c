/* proctitle.c: rewrites the process's argv area, which `ps` and /proc/PID/cmdline show. */
#include "config.h"

#include "proctitle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static char *title;      /* argv[0]'s memory */
static size_t title_cap; /* bytes from argv[0] to the end of the last contiguous string */

void proctitle_init(int argc, char **argv)
{
    char *end, **env;
    size_t n = 0;

    if (argc < 1 || argv[0] == NULL || title != NULL)
        return;
    /* The kernel lays argv's strings and then the environment's out back to back; the title
     * may use all of it that is contiguous. */
    end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] == end)
            end = argv[i] + strlen(argv[i]) + 1;
    for (n = 0; environ[n] != NULL; n++)
        ;
    env = calloc(n + 1, sizeof(*env));
    if (env == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (environ[i] == end)
            end = environ[i] + strlen(environ[i]) + 1;
        env[i] = strdup(environ[i]);
        if (env[i] == NULL) {
            while (i > 0)
                free(env[--i]);
            free(env);
            return;
        }
    }
    environ = env;
    title = argv[0];
    title_cap = (size_t)(end - argv[0]);
    /* No argv[1] any more: whatever reads argv after this point would find the title. */
    if (argc > 1)
        argv[1] = NULL;
}

void proctitle_set(const char *fmt, ...)
{
    va_list ap;
    int n;

    if (title == NULL || title_cap < 2)
        return;
    va_start(ap, fmt);
    n = vsnprintf(title, title_cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= title_cap)
        n = (int)title_cap - 1;
    /* NULs to the end: /proc/PID/cmdline shows only the title, not a tail of the old argv. */
    memset(title + n, 0, title_cap - (size_t)n);
}
