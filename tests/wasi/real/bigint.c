/* bigint.c: a WASI test program: arbitrary-precision integers in 32-bit limbs with 64-bit
 * intermediates (what multi-precision code compiles to: i64 multiply, shifts, carries,
 * division by small numbers): factorials, powers of two and a Fibonacci number in decimal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LIMBS 1200

struct big {
    uint32_t d[LIMBS];
    int n;
};

static void big_set(struct big *b, uint32_t v)
{
    memset(b, 0, sizeof(*b));
    b->d[0] = v;
    b->n = 1;
}

static void big_mul_small(struct big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->d[i] * m + carry;
        b->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry)
        b->d[b->n++] = (uint32_t)carry;
}

static void big_add(struct big *r, const struct big *a, const struct big *b)
{
    uint64_t carry = 0;
    int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        uint64_t t = (uint64_t)a->d[i] + b->d[i] + carry;
        r->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    r->n = n;
    if (carry)
        r->d[r->n++] = (uint32_t)carry;
}

static uint32_t big_divmod_small(struct big *b, uint32_t m)
{
    uint64_t rem = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        uint64_t cur = rem << 32 | b->d[i];
        b->d[i] = (uint32_t)(cur / m);
        rem = cur % m;
    }
    while (b->n > 1 && b->d[b->n - 1] == 0)
        b->n--;
    return (uint32_t)rem;
}

static void big_print(const char *label, const struct big *b)
{
    static struct big t;
    static char digits[LIMBS * 10 + 1];
    int k = 0;
    t = *b;
    do
        {
            uint32_t r = big_divmod_small(&t, 1000000000u);
            for (int j = 0; j < 9; j++) {
                digits[k++] = (char)('0' + r % 10);
                r /= 10;
            }
        }
    while (t.n > 1 || t.d[0] != 0);
    while (k > 1 && digits[k - 1] == '0')
        k--;
    printf("%s (%d digits): ", label, k);
    for (int i = k - 1; i >= 0; i--)
        putchar(digits[i]);
    putchar('\n');
}

int main(void)
{
    static struct big a, b, c;

    big_set(&a, 1);
    for (uint32_t i = 2; i <= 300; i++)
        big_mul_small(&a, i);
    big_print("300!", &a);

    big_set(&a, 1);
    for (int i = 0; i < 1000; i++)
        big_mul_small(&a, 2);
    big_print("2^1000", &a);

    big_set(&a, 0);
    big_set(&b, 1);
    for (int i = 0; i < 2000; i++) {
        big_add(&c, &a, &b);
        a = b;
        b = c;
    }
    big_print("fib(2000)", &a);

    uint64_t x = 0x123456789abcdefull, h = 0;
    for (int i = 0; i < 100000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        h ^= (x >> 17) * (x | 1) / ((x >> 40) | 1);
        h = h << 7 | h >> 57;
    }
    printf("lcg %llu hash %llu\n", (unsigned long long)x, (unsigned long long)h);
    int64_t s = -7;
    printf("signed %lld %lld %lld %lld\n", (long long)(s / 2), (long long)(s % 2),
           (long long)(s >> 1), (long long)((uint64_t)s >> 60));
    return 0;
}
