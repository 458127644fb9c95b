/* dispatch.c: a WASI test program: indirect calls: a shape hierarchy through structs of
 * function pointers (the vtable pattern), an event dispatcher with a handler table, and
 * callbacks of several signatures. */
#include <stdio.h>
#include <string.h>

struct shape;

struct shape_ops {
    const char *name;
    double (*area)(const struct shape *);
    double (*perimeter)(const struct shape *);
    void (*scale)(struct shape *, double);
};

struct shape {
    const struct shape_ops *ops;
    double a, b;
};

static double rect_area(const struct shape *s) { return s->a * s->b; }
static double rect_perim(const struct shape *s) { return 2 * (s->a + s->b); }
static void rect_scale(struct shape *s, double k) { s->a *= k; s->b *= k; }
static double circ_area(const struct shape *s) { return 3.14159265358979 * s->a * s->a; }
static double circ_perim(const struct shape *s) { return 2 * 3.14159265358979 * s->a; }
static void circ_scale(struct shape *s, double k) { s->a *= k; }
static double tri_area(const struct shape *s) { return 0.5 * s->a * s->b; }
static double tri_perim(const struct shape *s)
{
    double c = s->a * s->a + s->b * s->b, r = c;
    for (int i = 0; i < 30; i++)
        r = 0.5 * (r + c / r);
    return s->a + s->b + r;
}

static const struct shape_ops rect_ops = {"rect", rect_area, rect_perim, rect_scale};
static const struct shape_ops circ_ops = {"circle", circ_area, circ_perim, circ_scale};
static const struct shape_ops tri_ops = {"triangle", tri_area, tri_perim, rect_scale};

enum event { EV_OPEN, EV_READ, EV_WRITE, EV_CLOSE, EV_ERROR, EV_COUNT };

struct conn {
    int state;
    long bytes;
    int errors;
};

typedef int (*handler)(struct conn *, long);

static int on_open(struct conn *c, long arg) { c->state = 1; return (int)arg; }
static int on_read(struct conn *c, long arg) { c->bytes += arg; return c->state == 1 ? 0 : -1; }
static int on_write(struct conn *c, long arg) { c->bytes -= arg / 2; return 0; }
static int on_close(struct conn *c, long arg) { (void)arg; c->state = 0; return 0; }
static int on_error(struct conn *c, long arg) { c->errors++; return (int)-arg; }

static const handler handlers[EV_COUNT] = {on_open, on_read, on_write, on_close, on_error};

static long apply(long (*f)(long, long), long x, long y) { return f(x, y); }
static long add(long x, long y) { return x + y; }
static long mul(long x, long y) { return x * y; }
static long sub(long x, long y) { return x - y; }

int main(void)
{
    struct shape shapes[9];
    const struct shape_ops *kinds[3] = {&rect_ops, &circ_ops, &tri_ops};
    for (int i = 0; i < 9; i++) {
        shapes[i].ops = kinds[i % 3];
        shapes[i].a = 1.5 + i;
        shapes[i].b = 0.25 * (i + 1);
    }
    double total = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 9; i++) {
            struct shape *s = &shapes[(i * 4 + round) % 9];
            printf("%-8s area %10.4f perimeter %9.4f\n", s->ops->name, s->ops->area(s),
                   s->ops->perimeter(s));
            total += s->ops->area(s);
            s->ops->scale(s, 1.25);
        }
    printf("total area %.6f\n", total);

    struct conn c = {0, 0, 0};
    int rc_sum = 0;
    for (unsigned i = 0; i < 1000; i++) {
        enum event ev = (enum event)((i * 7 + i / 13) % EV_COUNT);
        rc_sum += handlers[ev](&c, (long)i);
    }
    printf("conn state %d bytes %ld errors %d rc %d\n", c.state, c.bytes, c.errors, rc_sum);

    long (*const ops[])(long, long) = {add, mul, sub};
    long acc = 1;
    for (int i = 0; i < 30; i++)
        acc = apply(ops[i % 3], acc, i + 2);
    printf("acc %ld\n", acc);
    return 0;
}
