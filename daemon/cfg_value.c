/* cfg_value.c: the config parser's error messages (`file:line: message`) and the parsers of
 * its values: numbers, sizes, durations and section names. */
#include "config.h"

#include "cfg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg__perr(struct cfg__parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->line > 0)
        snprintf(p->err, p->errlen, "%s:%d: %s", p->file, p->line, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    return -1;
}

int cfg__set_str(struct cfg__parser *p, char **dst, const char *v)
{
    char *s = strdup(v);

    if (s == NULL)
        return cfg__perr(p, "out of memory");
    free(*dst);
    *dst = s;
    return 0;
}

int cfg__parse_uint(struct cfg__parser *p, const char *key, const char *v, unsigned long long min,
                    unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)*v))
        return cfg__perr(p, "%s: expected a number, got '%s'", key, v);
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return cfg__perr(p, "%s: expected a number, got '%s'", key, v);
    if (n < min || n > max)
        return cfg__perr(p, "%s: %llu is out of range [%llu, %llu]", key, n, min, max);
    *out = n;
    return 0;
}

int cfg__parse_size(struct cfg__parser *p, const char *key, const char *v, unsigned long long min,
                    unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long n, mul = 1;

    if (!isdigit((unsigned char)*v))
        return cfg__perr(p, "%s: expected a size such as 65536, 64K or 16M, got '%s'", key, v);
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0)
        return cfg__perr(p, "%s: '%s' is too large", key, v);
    if (*end != '\0') {
        switch (toupper((unsigned char)*end)) {
        case 'K':
            mul = 1ULL << 10;
            break;
        case 'M':
            mul = 1ULL << 20;
            break;
        case 'G':
            mul = 1ULL << 30;
            break;
        default:
            return cfg__perr(p, "%s: unknown size unit in '%s' (use K, M or G)", key, v);
        }
        if (end[1] != '\0' && !((end[1] == 'i' || end[1] == 'B') && end[2] == '\0') &&
            !(end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))
            return cfg__perr(p, "%s: unknown size unit in '%s' (use K, M or G)", key, v);
    }
    if (n > ULLONG_MAX / mul)
        return cfg__perr(p, "%s: '%s' is too large", key, v);
    n *= mul;
    if (n < min || n > max)
        return cfg__perr(p, "%s: %llu bytes is out of range [%llu, %llu]", key, n, min, max);
    *out = n;
    return 0;
}

int cfg__parse_duration(struct cfg__parser *p, const char *key, const char *v, uint64_t max_ms,
                        uint64_t *out_ms)
{
    char *end;
    unsigned long long n;
    uint64_t ms;

    if (!isdigit((unsigned char)*v))
        return cfg__perr(p, "%s: expected a duration such as 500ms or 2s, got '%s'", key, v);
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || n > UINT32_MAX)
        return cfg__perr(p, "%s: '%s' is too large", key, v);
    if (*end == '.' || *end == ',')
        return cfg__perr(p,
                         "%s: '%s': fractions are not accepted; give a whole number of ms, s or m "
                         "(1500ms rather than 1.5s)",
                         key, v);
    if (strcmp(end, "ms") == 0)
        ms = n;
    else if (strcmp(end, "s") == 0)
        ms = n * 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        ms = n * 60000;
    else if (*end == '\0' && n == 0)
        ms = 0;
    else
        return cfg__perr(p, "%s: '%s' needs a unit: ms, s or m", key, v);
    if (ms > max_ms)
        return cfg__perr(p, "%s: '%s' is longer than the maximum of %llus", key, v,
                         (unsigned long long)(max_ms / 1000));
    *out_ms = ms;
    return 0;
}

bool cfg__valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}
