/* cgi_echo.c: a CGI handler that answers with its environment (sorted as received) and its
 * request body, so a test can see exactly what the program was given. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(void)
{
    char buf[4096];
    size_t n;

    printf("Content-Type: text/plain\r\n");
    printf("X-Handler: echo\r\n\r\n");
    for (char **e = environ; e != NULL && *e != NULL; e++)
        printf("env %s\n", *e);
    printf("body ");
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        fwrite(buf, 1, n, stdout);
    printf("\nend\n");
    fprintf(stderr, "echo handler served %s\n", getenv("REQUEST_METHOD") ? getenv("REQUEST_METHOD") : "?");
    return 0;
}
