/* regex.c: a WASI test program: a backtracking matcher for a small regular-expression language
 * (literals, ., [], [^], *, +, ?, ^, $), recursive in the pattern and the text, run over a
 * table of patterns and subjects. */
#include <stdio.h>
#include <string.h>

static int match_here(const char *re, const char *text);

/* Length of the single-character item at re (a literal, '.', or a class). */
static int item_len(const char *re)
{
    if (*re == '[') {
        const char *p = re + 1;
        if (*p == '^')
            p++;
        if (*p == ']')
            p++;
        while (*p && *p != ']')
            p++;
        return (int)(p - re) + (*p == ']');
    }
    if (*re == '\\' && re[1])
        return 2;
    return 1;
}

static int item_matches(const char *re, char c)
{
    if (c == '\0')
        return 0;
    if (*re == '.')
        return 1;
    if (*re == '\\')
        return re[1] == c;
    if (*re == '[') {
        const char *p = re + 1;
        int neg = 0, hit = 0;
        if (*p == '^') {
            neg = 1;
            p++;
        }
        do {
            if (p[1] == '-' && p[2] && p[2] != ']') {
                hit |= c >= p[0] && c <= p[2];
                p += 3;
            } else
                hit |= *p++ == c;
        } while (*p && *p != ']');
        return hit != neg;
    }
    return *re == c;
}

static int match_star(const char *item, int len, const char *re, const char *text, int min)
{
    const char *t = text;
    while (item_matches(item, *t))
        t++;
    /* Greedy: try the longest run first, back off one character at a time. */
    for (; t >= text + min; t--)
        if (match_here(re, t))
            return 1;
    (void)len;
    return 0;
}

static int match_here(const char *re, const char *text)
{
    if (*re == '\0')
        return 1;
    if (*re == '$' && re[1] == '\0')
        return *text == '\0';
    int len = item_len(re);
    char op = re[len];
    if (op == '*')
        return match_star(re, len, re + len + 1, text, 0);
    if (op == '+')
        return match_star(re, len, re + len + 1, text, 1);
    if (op == '?')
        return (item_matches(re, *text) && match_here(re + len + 1, text + 1)) ||
               match_here(re + len + 1, text);
    if (item_matches(re, *text))
        return match_here(re + len, text + 1);
    return 0;
}

/* Position of the first match, or -1. */
static int search(const char *re, const char *text)
{
    if (*re == '^')
        return match_here(re + 1, text) ? 0 : -1;
    const char *t = text;
    do {
        if (match_here(re, t))
            return (int)(t - text);
    } while (*t++);
    return -1;
}

int main(void)
{
    static const char *const patterns[] = {
        "abc", "^abc", "abc$", "a.c", "a*b", "a+b", "colou?r", "[0-9]+", "[^a-z ]+", "^[a-z]+@[a-z]+\\.[a-z]+$",
        "x*y*z*$", "(", "a[bc]*d", ".*q",
    };
    static const char *const texts[] = {
        "abc", "xxabcxx", "aaab", "b", "color and colour", "order 66 and 4077",
        "Hello World!", "someone@example.org", "no match here", "abcbcbcd", "",
    };
    unsigned matches = 0;
    for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
        printf("%-28s", patterns[p]);
        for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
            int at = search(patterns[p], texts[t]);
            printf(" %3d", at);
            matches += at >= 0;
        }
        putchar('\n');
    }
    /* A pathological pattern: exponential backtracking kept small. */
    char subject[24];
    memset(subject, 'a', sizeof(subject) - 1);
    subject[sizeof(subject) - 1] = '\0';
    printf("a*a*a*a*b on a^23: %d\n", search("a*a*a*a*b", subject));
    printf("%u matches\n", matches);
    return 0;
}
