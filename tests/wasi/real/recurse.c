/* recurse.c: a WASI test program: deep recursion, deeper than the engine's old 10,000-call
 * limit (50,000 calls by default, the test gives 20,000 at -O0), at every optimisation level:
 * a list summed recursively, a recursive tree walk, Ackermann's function. The program's stack is enlarged at link time to hold the frames
 * clang keeps in linear memory at -O0. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    long value;
    struct node *next;
};

/* Not a tail call: the addition happens after the return. */
static long sum_list(const struct node *n)
{
    if (n == NULL)
        return 0;
    return n->value + sum_list(n->next);
}

static unsigned ackermann(unsigned m, unsigned n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

struct tree {
    int key;
    struct tree *left, *right;
};

static struct tree *insert(struct tree *t, struct tree *n)
{
    if (t == NULL)
        return n;
    if (n->key < t->key)
        t->left = insert(t->left, n);
    else
        t->right = insert(t->right, n);
    return t;
}

static int height(const struct tree *t)
{
    if (t == NULL)
        return 0;
    int l = height(t->left), r = height(t->right);
    return 1 + (l > r ? l : r);
}

int main(int argc, char **argv)
{
    long depth = argc > 1 ? atol(argv[1]) : 50000;
    struct node *list = NULL;

    for (long i = 0; i < depth; i++) {
        struct node *n = malloc(sizeof(*n));
        if (n == NULL)
            return 2;
        n->value = i % 1000;
        n->next = list;
        list = n;
    }
    printf("sum of %ld nodes: %ld\n", depth, sum_list(list));
    printf("ackermann(2, 300) = %u\n", ackermann(2, 300));
    printf("ackermann(3, 4) = %u\n", ackermann(3, 4));

    /* A degenerate tree (sorted keys): height = number of nodes, walked recursively. */
    struct tree *root = NULL;
    static struct tree nodes[1500];
    for (int i = 0; i < 1500; i++) {
        nodes[i].key = i;
        root = insert(root, &nodes[i]);
    }
    printf("tree height %d\n", height(root));
    return 0;
}
