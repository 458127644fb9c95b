/* mem/pagemap.h: which pages of a range the process has written, from the kernel's page tables
 * (private). */
#ifndef PAGEMAP_H
#define PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the pages are found. */
enum pagemap_method {
    PAGEMAP_M_NONE,  /* no way on this host: a reset drops the whole range */
    PAGEMAP_M_IOCTL, /* ioctl(PAGEMAP_SCAN) on /proc/self/pagemap (Linux 6.7+) */
    PAGEMAP_M_READ,  /* read(2) of /proc/self/pagemap, one 64-bit entry per page (any Linux) */
};

/* "none", "scan" or "read". */
const char *pagemap__method_name(enum pagemap_method m);

/* The best method this process has, probed once (the first call opens /proc/self/pagemap and,
 * for PAGEMAP_M_IOCTL, tries the ioctl on an empty range). The environment variable
 * WASMSLOT_PAGEMAP=scan|read|none, read at that probe, forces a method (tests run the fallbacks
 * with it; a forced scan the kernel lacks gives read). After fork the child reopens the file,
 * which would otherwise still describe the parent. */
enum pagemap_method pagemap__method(void);

/* One run of private pages: [start, end), and whether one of them is swapped out (or under
 * migration) rather than present. */
struct pagemap_run {
    uint8_t *start, *end;
    bool swapped;
};

/*
 * Find the private pages of [start, end) (both page-aligned) of a MAP_PRIVATE file mapping:
 * every page the process wrote, whose copy-on-write copy is now an anonymous page, present or
 * swapped out. Pages never touched, or only read (the file's own page), are not reported.
 *
 * Fills runs[0, cap) in address order and returns how many, or -errno. When more runs exist
 * than fit, *more is set to where the unreported part begins (everything from there to end must
 * be treated as written); otherwise *more is end.
 */
int pagemap__private_runs(enum pagemap_method m, uint8_t *start, uint8_t *end,
                          struct pagemap_run *runs, int cap, uint8_t **more);

#endif
