/* filter.c: a WASI test program that upper-cases stdin to stdout and counts what it read on
 * stderr, like a small Unix filter. */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
    unsigned long bytes = 0, lines = 0;
    int ch;

    while ((ch = getchar()) != EOF) {
        bytes++;
        if (ch == '\n')
            lines++;
        putchar(toupper(ch));
    }
    fprintf(stderr, "%lu bytes, %lu lines\n", bytes, lines);
    return 0;
}
