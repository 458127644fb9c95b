/* cgi_notfound.c: a CGI handler that chooses its HTTP status with a Status: header. */
#include <stdio.h>

int main(void)
{
    printf("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such thing here\n");
    return 0;
}
