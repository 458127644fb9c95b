/* cgi_slow.c: a CGI handler that works for QUERY_STRING "ms=N" milliseconds, then says which
 * module (argv[0]) served it: for requests that are in flight when a daemon dies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    const char *q = getenv("QUERY_STRING");
    double ms = q != NULL && strncmp(q, "ms=", 3) == 0 ? atof(q + 3) : 0, t0 = now_ms();

    while (now_ms() - t0 < ms)
        ;
    printf("Content-Type: text/plain\r\n\r\nserved-by %s\n", argc > 0 ? argv[0] : "?");
    return 0;
}
