/* reactor.c: a WASI reactor (built with -mexec-model=reactor: no _start, an _initialize, and
 * exports called one by one) whose functions print, for the test that a call of an export
 * returns what it wrote to stdout and stderr. */
#include <stdio.h>
#include <string.h>

/* Prints n numbered lines to stdout and returns 2n. */
__attribute__((export_name("greet"))) int greet(int n)
{
    for (int i = 1; i <= n; i++)
        printf("hello %d\n", i);
    fflush(stdout);
    return 2 * n;
}

/* Writes one line to stderr and returns 7. */
__attribute__((export_name("complain"))) int complain(void)
{
    fputs("something is off\n", stderr);
    return 7;
}

/* Prints, then traps. */
__attribute__((export_name("crash"))) int crash(void)
{
    puts("about to trap");
    fflush(stdout);
    __builtin_trap();
}

/* Writes n bytes of 'z' to stdout. */
__attribute__((export_name("flood"))) int flood(int n)
{
    static char buf[4096];
    memset(buf, 'z', sizeof(buf));
    int left = n;
    while (left > 0) {
        int k = left < (int)sizeof(buf) ? left : (int)sizeof(buf);
        fwrite(buf, 1, (size_t)k, stdout);
        left -= k;
    }
    fflush(stdout);
    return n;
}

/* Set by a constructor, which only _initialize runs in a reactor. */
static int constructed;

__attribute__((constructor)) static void construct(void)
{
    constructed = 42;
}

/* 42 when _initialize ran before this call, 0 when it did not. */
__attribute__((export_name("constructed"))) int was_constructed(void)
{
    return constructed;
}

/* Prints nothing. */
__attribute__((export_name("quiet"))) int quiet(int x)
{
    return x + 1;
}
