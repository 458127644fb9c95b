/* grow.c: a WASI test program that allocates, fills, checks and frees tens of megabytes, so
 * linear memory has to grow many times, and prints a checksum that does not depend on
 * where malloc put things. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBLOCKS 64
#define BLOCK   ((size_t)512 * 1024)

int main(void)
{
    unsigned char *blocks[NBLOCKS];
    size_t pages_before = __builtin_wasm_memory_size(0);
    uint64_t sum = 0;

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NBLOCKS; i++) {
            blocks[i] = malloc(BLOCK);
            if (!blocks[i]) {
                fprintf(stderr, "malloc failed at block %d\n", i);
                return 1;
            }
            memset(blocks[i], (i * 7 + round) & 0xff, BLOCK);
        }
        for (int i = 0; i < NBLOCKS; i++) {
            for (size_t j = 0; j < BLOCK; j += 4096)
                sum = sum * 31 + blocks[i][j];
            free(blocks[i]);
        }
    }
    /* Many small allocations too, in a linked list. */
    struct node {
        struct node *next;
        uint32_t v;
    } *head = NULL;
    for (uint32_t i = 0; i < 100000; i++) {
        struct node *n = malloc(sizeof(*n));
        if (!n)
            return 1;
        n->v = i;
        n->next = head;
        head = n;
    }
    while (head) {
        struct node *n = head;
        sum += n->v;
        head = n->next;
        free(n);
    }
    printf("checksum %llu\n", (unsigned long long)sum);
    printf("grew %s\n", __builtin_wasm_memory_size(0) > pages_before + 256 ? "yes" : "no");
    return 0;
}
