/* clock.c: the daemon's one reading of the monotonic clock. */
#include "config.h"

#include "clock.h"

#include <time.h>

uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
