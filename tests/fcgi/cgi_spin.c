/* cgi_spin.c: a CGI handler that never ends, for the deadline (504). */
int main(void)
{
    for (volatile unsigned i = 0;; i++)
        ;
}
