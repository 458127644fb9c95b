/* mem/pagemap.c: finds the pages a process wrote in a private file mapping, with
 * ioctl(PAGEMAP_SCAN) where the kernel has it and by reading /proc/self/pagemap elsewhere. */
#include "config.h"

#include "mem/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * Why "private" is what a reset needs: a slot maps both of its memfds MAP_PRIVATE and nothing
 * ever writes the files, so a page holds bytes of an instance exactly when the kernel replaced
 * the file's page with an anonymous copy. Such a page is present, or swapped out (or briefly a
 * migration entry); a page never touched is absent and one only read maps the file's page.
 * Written-but-not-present pages count: a scan that looked for present pages alone would leave
 * a swapped-out page of the previous instance in place for the next one to read.
 *
 * The ABI of the ioctl (Linux 6.7, include/uapi/linux/fs.h), declared here because the C
 * library headers of older distributions do not have it. Prefixed, so that newer headers
 * included elsewhere cannot clash.
 */
#define WS_PAGE_IS_FILE    (1u << 2)
#define WS_PAGE_IS_PRESENT (1u << 3)
#define WS_PAGE_IS_SWAPPED (1u << 4)

struct ws_page_region {
    uint64_t start, end, categories;
};

struct ws_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define WS_PAGEMAP_SCAN _IOWR('f', 16, struct ws_pm_scan_arg)

/* /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_ENTRY_PRESENT (UINT64_C(1) << 63)
#define PM_ENTRY_SWAPPED (UINT64_C(1) << 62)
#define PM_ENTRY_FILE    (UINT64_C(1) << 61) /* file page or shared anonymous */

static int pm_fd = -1;
static _Atomic int pm_method = PAGEMAP_M_NONE;
static pthread_once_t pm_once = PTHREAD_ONCE_INIT;

static size_t os_page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

const char *pagemap__method_name(enum pagemap_method m)
{
    switch (m) {
    case PAGEMAP_M_NONE:
        return "none";
    case PAGEMAP_M_IOCTL:
        return "scan";
    case PAGEMAP_M_READ:
        return "read";
    }
    return "?";
}

/* The child of a fork: the inherited descriptor reads the parent's page tables. Reopened over
 * the same number, so nothing holding it needs to know; without a file, no method. */
static void pm_atfork_child(void)
{
    int fd;

    if (pm_fd < 0)
        return;
    fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, pm_fd) < 0)
        atomic_store(&pm_method, PAGEMAP_M_NONE);
    if (fd >= 0 && fd != pm_fd)
        close(fd);
}

static void pm_probe(void)
{
    const char *force = getenv("WASMSLOT_PAGEMAP");
    uintptr_t here = (uintptr_t)&force & ~(uintptr_t)(os_page() - 1);
    struct ws_pm_scan_arg a = {
        .size = sizeof(a),
        .start = here,
        .end = here, /* empty: only asks whether the ioctl exists */
        .category_mask = WS_PAGE_IS_PRESENT,
        .return_mask = WS_PAGE_IS_PRESENT,
    };
    enum pagemap_method m;

    if (force != NULL && strcmp(force, "none") == 0)
        return;
    pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm_fd < 0)
        return;
    m = PAGEMAP_M_READ;
    if ((force == NULL || strcmp(force, "read") != 0) &&
        ioctl(pm_fd, WS_PAGEMAP_SCAN, &a) == 0)
        m = PAGEMAP_M_IOCTL;
    pthread_atfork(NULL, NULL, pm_atfork_child);
    atomic_store(&pm_method, m);
}

enum pagemap_method pagemap__method(void)
{
    pthread_once(&pm_once, pm_probe);
    return (enum pagemap_method)atomic_load_explicit(&pm_method, memory_order_relaxed);
}

/* Append [s, e) to runs, merging with the last run when adjacent. Returns false when full. */
static bool add_run(struct pagemap_run *runs, int cap, int *n, uint8_t *s, uint8_t *e, bool swapped)
{
    if (*n > 0 && runs[*n - 1].end == s) {
        runs[*n - 1].end = e;
        runs[*n - 1].swapped |= swapped;
        return true;
    }
    if (*n == cap)
        return false;
    runs[(*n)++] = (struct pagemap_run){.start = s, .end = e, .swapped = swapped};
    return true;
}

static int runs_by_ioctl(uint8_t *start, uint8_t *end, struct pagemap_run *runs, int cap,
                         uint8_t **more)
{
    /* Zeroed although only the first regions the ioctl returns are read: memcheck does not know
     * this ioctl and would take every region the kernel filled for uninitialised (~20 ns). */
    struct ws_page_region vec[64] = {0};
    struct ws_pm_scan_arg a = {
        .size = sizeof(a),
        .end = (uintptr_t)end,
        .vec = (uintptr_t)vec,
        .vec_len = sizeof(vec) / sizeof(vec[0]),
        /* Not the file's page (inverted), and present or swapped. */
        .category_inverted = WS_PAGE_IS_FILE,
        .category_mask = WS_PAGE_IS_FILE,
        .category_anyof_mask = WS_PAGE_IS_PRESENT | WS_PAGE_IS_SWAPPED,
        .return_mask = WS_PAGE_IS_PRESENT | WS_PAGE_IS_SWAPPED,
    };
    uint8_t *at = start;
    int n = 0;

    *more = end;
    while (at < end) {
        int got;

        a.start = (uintptr_t)at;
        a.walk_end = 0;
        got = ioctl(pm_fd, WS_PAGEMAP_SCAN, &a);
        if (got < 0)
            return -errno;
        for (int i = 0; i < got; i++) {
            uint8_t *s = (uint8_t *)(uintptr_t)vec[i].start, *e = (uint8_t *)(uintptr_t)vec[i].end;

            if (!add_run(runs, cap, &n, s, e, (vec[i].categories & WS_PAGE_IS_PRESENT) == 0)) {
                *more = s;
                return n;
            }
        }
        /* The region buffer filled before the range ended: go on from where the walk
         * stopped, never treat the rest as clean. */
        if ((uint8_t *)(uintptr_t)a.walk_end <= at)
            return -EIO;
        at = (uint8_t *)(uintptr_t)a.walk_end;
    }
    return n;
}

static int runs_by_read(uint8_t *start, uint8_t *end, struct pagemap_run *runs, int cap,
                        uint8_t **more)
{
    uint64_t ent[512];
    size_t pg = os_page();
    uint8_t *at = start;
    int n = 0;

    *more = end;
    while (at < end) {
        size_t want = (size_t)(end - at) / pg;
        ssize_t got;

        if (want > sizeof(ent) / sizeof(ent[0]))
            want = sizeof(ent) / sizeof(ent[0]);
        got = pread(pm_fd, ent, want * sizeof(ent[0]), (off_t)((uintptr_t)at / pg * sizeof(ent[0])));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got < (ssize_t)sizeof(ent[0]))
            return -EIO;
        want = (size_t)got / sizeof(ent[0]);
        for (size_t i = 0; i < want; i++, at += pg) {
            uint64_t e = ent[i];

            if ((e & (PM_ENTRY_PRESENT | PM_ENTRY_SWAPPED)) == 0 || (e & PM_ENTRY_FILE) != 0)
                continue;
            if (!add_run(runs, cap, &n, at, at + pg, (e & PM_ENTRY_PRESENT) == 0)) {
                *more = at;
                return n;
            }
        }
    }
    return n;
}

int pagemap__private_runs(enum pagemap_method m, uint8_t *start, uint8_t *end,
                          struct pagemap_run *runs, int cap, uint8_t **more)
{
    switch (m) {
    case PAGEMAP_M_IOCTL:
        return runs_by_ioctl(start, end, runs, cap, more);
    case PAGEMAP_M_READ:
        return runs_by_read(start, end, runs, cap, more);
    case PAGEMAP_M_NONE:
        break;
    }
    return -ENOTSUP;
}
