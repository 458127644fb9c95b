/* mutual.c: a WASI test program: mutual recursion: a recursive-descent parser and evaluator of
 * arithmetic expressions (expr -> term -> factor -> expr), and even/odd by mutual calls. */
#include <stdio.h>
#include <string.h>

struct parser {
    const char *s;
    int err;
};

static long expr(struct parser *p);

static void skip(struct parser *p)
{
    while (*p->s == ' ')
        p->s++;
}

static long factor(struct parser *p)
{
    skip(p);
    if (*p->s == '(') {
        p->s++;
        long v = expr(p);
        skip(p);
        if (*p->s != ')') {
            p->err = 1;
            return 0;
        }
        p->s++;
        return v;
    }
    if (*p->s == '-') {
        p->s++;
        return -factor(p);
    }
    if (*p->s < '0' || *p->s > '9') {
        p->err = 2;
        return 0;
    }
    long v = 0;
    while (*p->s >= '0' && *p->s <= '9')
        v = v * 10 + (*p->s++ - '0');
    return v;
}

static long term(struct parser *p)
{
    long v = factor(p);
    for (;;) {
        skip(p);
        char op = *p->s;
        if (op != '*' && op != '/' && op != '%')
            return v;
        p->s++;
        long r = factor(p);
        if ((op == '/' || op == '%') && r == 0) {
            p->err = 3;
            return 0;
        }
        v = op == '*' ? v * r : op == '/' ? v / r : v % r;
    }
}

static long expr(struct parser *p)
{
    long v = term(p);
    for (;;) {
        skip(p);
        char op = *p->s;
        if (op != '+' && op != '-')
            return v;
        p->s++;
        long r = term(p);
        v = op == '+' ? v + r : v - r;
    }
}

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

int main(void)
{
    static const char *const inputs[] = {
        "1 + 2 * 3", "(1 + 2) * 3", "-(4 - 10) * -2", "100 / 7 % 5", "2 * (3 + (4 * (5 + 6)))",
        "1 / 0", "(1 + 2", "7 * * 3", "((((((((((1))))))))))",
    };
    static char nested[4096];
    size_t k = 0;

    for (int i = 0; i < 1000; i++)
        nested[k++] = '(';
    nested[k++] = '7';
    for (int i = 0; i < 1000; i++) {
        memcpy(nested + k, "+1)", 3);
        k += 3;
    }
    nested[k] = 0;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct parser p = {inputs[i], 0};
        long v = expr(&p);
        if (p.err)
            fprintf(stderr, "%s: error %d\n", inputs[i], p.err);
        else
            printf("%s = %ld\n", inputs[i], v);
    }
    struct parser p = {nested, 0};
    long v = expr(&p);
    printf("1000 nested parentheses: %ld (error %d)\n", v, p.err);
    printf("is_even(12345) = %d, is_odd(7777) = %d\n", is_even(12345), is_odd(7777));
    return 0;
}
