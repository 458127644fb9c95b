/* trap.c: a WASI test program that prints lines on both streams and then traps, so the
 * output produced before the trap must reach the reply. */
#include <stdio.h>

int main(void)
{
    printf("line before the trap\n");
    fprintf(stderr, "error line before the trap\n");
    __builtin_trap();
}
