/* cgi_hello.c: the smallest CGI handler, for bench-fastcgi: "hello". */
#include <unistd.h>

int main(void)
{
    static const char r[] = "Content-Type: text/plain\r\n\r\nhello";
    write(1, r, sizeof(r) - 1);
    return 0;
}
