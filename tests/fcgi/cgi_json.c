/* cgi_json.c: a CGI handler that answers with a small JSON document built from the query
 * string. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const char *q = getenv("QUERY_STRING");

    printf("Content-Type: application/json\n\n");
    printf("{\"ok\":true,\"query\":\"");
    for (; q != NULL && *q; q++)
        if (*q != '"' && *q != '\\')
            putchar(*q);
    printf("\",\"answer\":42}\n");
    return 0;
}
