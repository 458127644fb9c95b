/* kernels.c: the compute benchmark's kernels; compiled natively into compute_bench and to
 * wasm32 (no libc: only the compiler's builtins) so both run exactly the same C. */
#include "kernels.h"

/* Fixed-width types without libc headers: int is 32 bits and long long 64 bits on both
 * targets (long is not: 32 bits on wasm32). */
typedef unsigned int u32;
typedef unsigned long long u64;

/* A small deterministic generator shared by the kernels (Numerical Recipes' LCG constants). */
static u32 lcg_next(u32 *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

/* ---------------------------------------------------------------- fib */

static int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int kernel_fib(int n)
{
    return fib(n);
}

/* ---------------------------------------------------------------- sieve */

#define SIEVE_N 131072
/* Stamped with the round number instead of cleared, so no round needs a memset. */
static u32 sieve_mark[SIEVE_N];
static u32 sieve_round;

int kernel_sieve(int n)
{
    u32 sum = 0;

    for (int r = 0; r < n; r++) {
        u32 stamp = ++sieve_round;
        u32 count = 0, last = 0;

        for (u32 i = 2; i < SIEVE_N; i++) {
            if (sieve_mark[i] == stamp)
                continue;
            count++;
            last = i;
            if (i > SIEVE_N / i)
                continue; /* i * i is past the end: nothing left to mark */
            for (u32 j = i * i; j < SIEVE_N; j += i)
                sieve_mark[j] = stamp;
        }
        sum = sum * 31u + count + last;
    }
    return (int)sum;
}

/* ---------------------------------------------------------------- crc32 */

#define CRC_BYTES 16384
static unsigned char crc_buf[CRC_BYTES];

int kernel_crc32(int n)
{
    u32 seed = 12345u, acc = 0;

    for (u32 i = 0; i < CRC_BYTES; i++)
        crc_buf[i] = (unsigned char)(lcg_next(&seed) >> 24);
    for (int r = 0; r < n; r++) {
        u32 crc = 0xffffffffu ^ (u32)r;

        for (u32 i = 0; i < CRC_BYTES; i++) {
            crc ^= crc_buf[i];
            for (int b = 0; b < 8; b++)
                crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
        acc ^= ~crc;
    }
    return (int)acc;
}

/* ---------------------------------------------------------------- matmul */

#define MAT_N 64
static double mat_a[MAT_N * MAT_N], mat_b[MAT_N * MAT_N], mat_c[MAT_N * MAT_N];

double kernel_matmul(int n)
{
    double sum = 0.0;

    for (int i = 0; i < MAT_N; i++) {
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i * MAT_N + j] = (double)((i * 7 + j * 3) % 17) / 8.0 - 1.0;
            mat_b[i * MAT_N + j] = (double)((i * 5 + j * 11) % 13) / 4.0 - 1.5;
        }
    }
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < MAT_N; i++) {
            for (int j = 0; j < MAT_N; j++) {
                double s = 0.0;

                for (int k = 0; k < MAT_N; k++)
                    s += mat_a[i * MAT_N + k] * mat_b[k * MAT_N + j];
                mat_c[i * MAT_N + j] = s;
            }
        }
        sum += mat_c[(r * 131) % (MAT_N * MAT_N)];
        /* Change the input a little so no round repeats the previous one. */
        mat_a[(r * 17) % (MAT_N * MAT_N)] += 0.25;
    }
    return sum;
}

/* ---------------------------------------------------------------- nbody */

#define BODIES 5

struct body {
    double x, y, z, vx, vy, vz, mass;
};

static struct body bodies[BODIES];

static double energy(void)
{
    double e = 0.0;

    for (int i = 0; i < BODIES; i++) {
        const struct body *b = &bodies[i];

        e += 0.5 * b->mass * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
        for (int j = i + 1; j < BODIES; j++) {
            double dx = b->x - bodies[j].x, dy = b->y - bodies[j].y, dz = b->z - bodies[j].z;

            e -= b->mass * bodies[j].mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

double kernel_nbody(int n)
{
    const double dt = 0.001;

    /* A heavy centre and four lighter bodies on rough orbits. */
    for (int i = 0; i < BODIES; i++) {
        double r = (double)i * 1.5;

        bodies[i].x = r;
        bodies[i].y = (double)(i % 2) * 0.25;
        bodies[i].z = (double)(i % 3) * 0.125;
        bodies[i].vx = 0.0;
        bodies[i].vy = i == 0 ? 0.0 : 1.0 / __builtin_sqrt(r);
        bodies[i].vz = (double)i * 0.01;
        bodies[i].mass = i == 0 ? 40.0 : 0.01 * (double)i;
    }
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < BODIES; i++) {
            struct body *a = &bodies[i];

            for (int j = i + 1; j < BODIES; j++) {
                struct body *b = &bodies[j];
                double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * __builtin_sqrt(d2));

                a->vx -= dx * b->mass * mag;
                a->vy -= dy * b->mass * mag;
                a->vz -= dz * b->mass * mag;
                b->vx += dx * a->mass * mag;
                b->vy += dy * a->mass * mag;
                b->vz += dz * a->mass * mag;
            }
        }
        for (int i = 0; i < BODIES; i++) {
            bodies[i].x += dt * bodies[i].vx;
            bodies[i].y += dt * bodies[i].vy;
            bodies[i].z += dt * bodies[i].vz;
        }
    }
    return energy();
}

/* ---------------------------------------------------------------- hash */

#define HASH_BITS    16
#define HASH_SLOTS   (1u << HASH_BITS)
#define HASH_INSERTS 40000
#define HASH_LOOKUPS 80000

/* A slot is in use when its generation is the current one, so a round starts with an empty
 * table without clearing it. */
static u32 hash_key[HASH_SLOTS], hash_val[HASH_SLOTS], hash_gen[HASH_SLOTS];
static u32 hash_round;

static u32 hash_slot(u32 key)
{
    return (key * 2654435769u) >> (32 - HASH_BITS);
}

long long kernel_hash(int n)
{
    u64 sum = 0;

    for (int r = 0; r < n; r++) {
        u32 gen = ++hash_round, seed = (u32)r * 7919u + 1u;

        for (u32 i = 0; i < HASH_INSERTS; i++) {
            u32 key = (lcg_next(&seed) >> 8) % 100000u + 1u;
            u32 s = hash_slot(key);

            while (hash_gen[s] == gen && hash_key[s] != key)
                s = (s + 1) & (HASH_SLOTS - 1);
            if (hash_gen[s] != gen) {
                hash_gen[s] = gen;
                hash_key[s] = key;
                hash_val[s] = 0;
            }
            hash_val[s] += i;
        }
        for (u32 i = 0; i < HASH_LOOKUPS; i++) {
            u32 key = (lcg_next(&seed) >> 8) % 100000u + 1u;
            u32 s = hash_slot(key);

            while (hash_gen[s] == gen && hash_key[s] != key)
                s = (s + 1) & (HASH_SLOTS - 1);
            sum += hash_gen[s] == gen ? hash_val[s] : 1u;
        }
    }
    return (long long)sum;
}

/* ---------------------------------------------------------------- sort */

#define SORT_N 16384
static int sort_data[SORT_N];

static void insertion_sort(int *a, int lo, int hi)
{
    for (int i = lo + 1; i <= hi; i++) {
        int v = a[i], j = i - 1;

        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(int *a, int lo, int hi)
{
    while (hi - lo > 16) {
        int mid = lo + (hi - lo) / 2, pivot, i = lo, j = hi, t;

        /* Median of three keeps sorted runs from going quadratic. */
        if (a[mid] < a[lo]) {
            t = a[mid];
            a[mid] = a[lo];
            a[lo] = t;
        }
        if (a[hi] < a[lo]) {
            t = a[hi];
            a[hi] = a[lo];
            a[lo] = t;
        }
        if (a[hi] < a[mid]) {
            t = a[hi];
            a[hi] = a[mid];
            a[mid] = t;
        }
        pivot = a[mid];
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* Recurse into the smaller half, loop on the larger: the depth stays logarithmic. */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

long long kernel_sort(int n)
{
    u64 sum = 0;

    for (int r = 0; r < n; r++) {
        u32 seed = (u32)r + 99u;

        for (int i = 0; i < SORT_N; i++)
            sort_data[i] = (int)(lcg_next(&seed) >> 1) - 0x20000000;
        quicksort(sort_data, 0, SORT_N - 1);
        for (int i = 0; i < SORT_N; i += 97)
            sum = sum * 1099511628211ull + (u64)(u32)sort_data[i];
        for (int i = 1; i < SORT_N; i++)
            sum += sort_data[i - 1] > sort_data[i]; /* an unsorted pair changes the checksum */
    }
    return (long long)sum;
}
