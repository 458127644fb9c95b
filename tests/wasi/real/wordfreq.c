/* wordfreq.c: a WASI test program: string processing with the heap: counts the words of stdin
 * (or of a built-in text) in a chained hash table that grows with realloc, then prints the most
 * frequent ones, sorted, with snprintf-built columns. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word {
    char *text;
    unsigned count;
    struct word *next;
};

struct table {
    struct word **buckets;
    size_t nbuckets, nwords;
};

static unsigned long hash(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 ^ (unsigned char)*s++;
    return h;
}

static int grow(struct table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 8;
    struct word **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (struct word *w = t->buckets[i], *next; w; w = next) {
            next = w->next;
            size_t k = hash(w->text) % n;
            w->next = b[k];
            b[k] = w;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

static int add(struct table *t, const char *text)
{
    if (t->nwords >= t->nbuckets && grow(t) != 0)
        return -1;
    size_t k = hash(text) % t->nbuckets;
    for (struct word *w = t->buckets[k]; w; w = w->next)
        if (strcmp(w->text, text) == 0) {
            w->count++;
            return 0;
        }
    struct word *w = malloc(sizeof(*w));
    if (w == NULL || (w->text = strdup(text)) == NULL) {
        free(w);
        return -1;
    }
    w->count = 1;
    w->next = t->buckets[k];
    t->buckets[k] = w;
    t->nwords++;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const struct word *x = *(struct word *const *)a, *y = *(struct word *const *)b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->text, y->text);
}

static const char builtin[] =
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was "
    "the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it "
    "was the season of Light, it was the season of Darkness, it was the spring of hope, it was "
    "the winter of despair, we had everything before us, we had nothing before us, we were all "
    "going direct to Heaven, we were all going direct the other way.";

int main(void)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t n;
    struct table t = {0};

    if (text == NULL)
        return 1;
    while ((n = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *bigger = realloc(text, cap * 2);
            if (bigger == NULL)
                return 1;
            text = bigger;
            cap *= 2;
        }
    }
    if (len == 0) {
        /* Repeat the built-in text with variations so the table grows several times. */
        for (int i = 0; i < 40; i++) {
            char line[600];
            int k = snprintf(line, sizeof(line), "%s round%d x%d ", builtin, i % 7, i * i);
            while (len + (size_t)k + 1 > cap) {
                char *bigger = realloc(text, cap * 2);
                if (bigger == NULL)
                    return 1;
                text = bigger;
                cap *= 2;
            }
            memcpy(text + len, line, (size_t)k);
            len += (size_t)k;
        }
    }
    text[len] = '\0';
    for (char *p = text; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : ' ';
    char *save = NULL;
    unsigned total = 0;
    for (char *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (add(&t, w) != 0)
            return 1;
        total++;
    }
    struct word **all = malloc(t.nwords * sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < t.nbuckets; i++)
        for (struct word *w = t.buckets[i]; w; w = w->next)
            all[k++] = w;
    qsort(all, k, sizeof(*all), by_count);
    printf("%u words, %zu distinct, %zu buckets\n", total, t.nwords, t.nbuckets);
    for (size_t i = 0; i < k && i < 15; i++) {
        char col[32];
        snprintf(col, sizeof(col), "[%s]", all[i]->text);
        printf("%-16s %5u %6.2f%%\n", col, all[i]->count, 100.0 * all[i]->count / total);
    }
    for (size_t i = 0; i < t.nbuckets; i++)
        for (struct word *w = t.buckets[i], *next; w; w = next) {
            next = w->next;
            free(w->text);
            free(w);
        }
    free(t.buckets);
    free(all);
    free(text);
    return 0;
}
