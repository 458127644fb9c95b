/* cgi_bad.c: a CGI handler whose output is not a CGI response (no header section). */
#include <stdio.h>

int main(void)
{
    printf("just some text without headers\n");
    return 0;
}
