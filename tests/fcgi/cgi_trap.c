/* cgi_trap.c: a CGI handler that writes part of a response and a secret, then traps: the
 * client must get a plain 500 and none of it. */
#include <stdio.h>

int main(void)
{
    printf("Content-Type: text/plain\r\n\r\nSECRET-PARTIAL-OUTPUT\n");
    fflush(stdout);
    fprintf(stderr, "cgi_trap: about to trap\n");
    __builtin_trap();
}
