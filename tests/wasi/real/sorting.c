/* sorting.c: a WASI test program: qsort and bsearch through function pointers with several
 * comparators over structs and strings (indirect calls from the libc into the program). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    char name[12];
    int age;
    double score;
    uint32_t id;
};

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int by_age(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->age > y->age) - (x->age < y->age);
}

static int by_score_desc(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

static int by_name_then_id(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int by_id(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

typedef int (*cmp_fn)(const void *, const void *);

int main(void)
{
    enum { N = 500 };
    static struct rec recs[N];
    static const char *const syll[] = {"ka", "to", "mi", "ra", "ne", "su", "lo", "vi"};
    static const struct {
        const char *name;
        cmp_fn fn;
    } orders[] = {{"age", by_age}, {"score", by_score_desc}, {"name", by_name_then_id},
                  {"id", by_id}};

    for (int i = 0; i < N; i++) {
        snprintf(recs[i].name, sizeof(recs[i].name), "%s%s%s", syll[rng() % 8], syll[rng() % 8],
                 syll[rng() % 8]);
        recs[i].age = (int)(rng() % 90);
        recs[i].score = (double)(rng() % 100000) / 7.0;
        recs[i].id = rng();
    }
    for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
        qsort(recs, N, sizeof(recs[0]), orders[o].fn);
        int sorted = 1;
        for (int i = 1; i < N; i++)
            sorted &= orders[o].fn(&recs[i - 1], &recs[i]) <= 0;
        printf("by %s (%s): first %s/%d/%.3f last %s/%d/%.3f\n", orders[o].name,
               sorted ? "sorted" : "NOT SORTED", recs[0].name, recs[0].age, recs[0].score,
               recs[N - 1].name, recs[N - 1].age, recs[N - 1].score);
    }
    /* recs are sorted by id now: look every one up, and some that are absent. */
    int found = 0, absent = 0;
    for (int i = 0; i < N; i++) {
        struct rec key = {.id = recs[i].id};
        found += bsearch(&key, recs, N, sizeof(recs[0]), by_id) == &recs[i];
        key.id = recs[i].id + 1;
        absent += bsearch(&key, recs, N, sizeof(recs[0]), by_id) == NULL;
    }
    printf("bsearch: %d found, %d absent\n", found, absent);

    static const char *words[] = {"pear", "apple", "fig", "banana", "kiwi", "cherry", "date",
                                  "elderberry", "grape", "honeydew", "lime", "mango"};
    size_t nw = sizeof(words) / sizeof(words[0]);
    qsort(words, nw, sizeof(words[0]), cmp_str);
    for (size_t i = 0; i < nw; i++)
        printf("%s%s", words[i], i + 1 < nw ? " " : "\n");
    const char *k = "kiwi";
    const char **hit = bsearch(&k, words, nw, sizeof(words[0]), cmp_str);
    printf("kiwi at %ld\n", hit ? (long)(hit - words) : -1L);

    static uint64_t big[4000];
    for (int i = 0; i < 4000; i++)
        big[i] = (uint64_t)rng() << 32 | rng();
    qsort(big, 4000, sizeof(big[0]), cmp_u64);
    uint64_t h = 0;
    for (int i = 0; i < 4000; i++)
        h = h * 31 + big[i];
    printf("u64 sort: min %llu max %llu hash %llu\n", (unsigned long long)big[0],
           (unsigned long long)big[3999], (unsigned long long)h);
    return 0;
}
