/* clockrand.c: a WASI test program that reads the clocks, sleeps, and draws random bytes,
 * checking each result and printing only verdicts, so its output is the same every run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t ns(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void)
{
    uint64_t real = ns(CLOCK_REALTIME), m0 = ns(CLOCK_MONOTONIC), m1;
    unsigned char a[32], b[32], zero[32] = {0};
    struct timespec res, nap = {0, 5000000};
    int bad = 0;

    /* 2020-01-01 as a floor for a host clock that is set at all. */
    printf("realtime %s\n", real > 1577836800ull * 1000000000u ? "ok" : "BAD");
    bad |= !(real > 1577836800ull * 1000000000u);
    printf("clock_getres %s\n",
           clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0 ? "ok"
                                                                                          : "BAD");
    nanosleep(&nap, NULL);
    m1 = ns(CLOCK_MONOTONIC);
    printf("slept %s\n", m1 >= m0 + 5000000u ? "ok" : "BAD");
    bad |= !(m1 >= m0 + 5000000u);
    if (getentropy(a, sizeof(a)) != 0 || getentropy(b, sizeof(b)) != 0) {
        printf("getentropy BAD\n");
        return 1;
    }
    printf("random %s\n",
           memcmp(a, b, sizeof(a)) != 0 && memcmp(a, zero, sizeof(a)) != 0 ? "ok" : "BAD");
    bad |= memcmp(a, b, sizeof(a)) == 0;
    return bad;
}
