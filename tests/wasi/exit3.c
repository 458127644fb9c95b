/* exit3.c: a WASI test program that prints on both streams and ends with exit(3). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("about to exit"); /* no newline: exit() must flush it */
    fprintf(stderr, "exiting with 3\n");
    exit(3);
}
