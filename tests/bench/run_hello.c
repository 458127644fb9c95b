/* run_hello.c: the smallest WASI command, the guest of run-bench's wasi-hello row. */
#include <stdio.h>

int main(void)
{
    puts("hello");
    return 0;
}
