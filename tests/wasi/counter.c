/* counter.c: a WASI test program that shows whether anything survived from an earlier run in
 * its memory: a counter and a large array in .bss, a string in .data it overwrites, and heap
 * past the initial memory it fills with a pattern. A pristine instance prints the same line
 * on every run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAP ((size_t)4 << 20)

static volatile int runs;
static char note[16] = "pristine";
static unsigned char bss[1 << 20];

int main(void)
{
    unsigned char *heap = malloc(HEAP);
    size_t dirty_bss = 0, old_pattern = 0;

    if (!heap)
        return 1;
    runs++;
    for (size_t i = 0; i < sizeof(bss); i++)
        dirty_bss += bss[i] != 0;
    /* malloc's own bookkeeping may sit in the heap; the pattern of a previous run may not. */
    for (size_t i = 0; i < HEAP; i++)
        old_pattern += heap[i] == 0xa5;
    printf("runs=%d note=%s bss=%zu heap=%zu\n", runs, note, dirty_bss, old_pattern);
    memset(bss, 0xa5, sizeof(bss));
    memset(heap, 0xa5, HEAP);
    strcpy(note, "used");
    return 0;
}
