/* mem/image.c: builds a module's memory image, its constant data segments laid into a sealed memfd.
 */
#include "config.h"

#include "mem/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct wasmslot_image {
    struct image_layout l;
    const char *reason; /* why the copy fallback is used; NULL when imaged */
};

/* Starts at 1 so that 0 can mean "no image" in a slot. */
static atomic_uint_fast64_t image_next_id = 1;

static size_t os_page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Why the active segments of m cannot be laid into an image, or NULL. Also finds the span
 * [*lo, *hi) of memory that holds their non-zero bytes (*lo >= *hi when there is none): bytes
 * outside it are zero in every segment, so whatever order the segments are applied in, the
 * memory there is zero and need not be stored. */
static const char *image_plan(const struct wasmslot_module *m, uint64_t min_bytes, uint64_t *lo,
                              uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasmslot_data *d = &m->datas[i];
        uint32_t first, last;

        if (d->mode != WASMSLOT_SEG_ACTIVE)
            continue;
        /* A global.get offset is only known at instantiation. */
        if (d->offset.kind != WASMSLOT_CONST_I32)
            return "segment offset is not a constant";
        /* Instantiation traps on such a segment; only the copying path reproduces that
         * (including the writes of earlier segments it must not skip). */
        if ((uint64_t)d->offset.u.i32 + d->len > min_bytes)
            return "segment out of bounds of the initial memory";
        for (first = 0; first < d->len && d->bytes[first] == 0; first++)
            ;
        if (first == d->len)
            continue;
        for (last = d->len; d->bytes[last - 1] == 0; last--)
            ;
        if ((uint64_t)d->offset.u.i32 + first < *lo)
            *lo = (uint64_t)d->offset.u.i32 + first;
        if ((uint64_t)d->offset.u.i32 + last > *hi)
            *hi = (uint64_t)d->offset.u.i32 + last;
    }
    return NULL;
}

static int write_all(int fd, const uint8_t *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Lay the segments into a new memfd holding memory [ds, de), then seal it. Every segment is
 * written in order, clipped to the span, so later segments overwrite earlier ones exactly as
 * instantiation would; interior pages no segment writes stay holes. */
static int image_fill(struct wasmslot_image *img, const struct wasmslot_module *m,
                      struct wasmslot_error *err)
{
    size_t ds = img->l.data_start, de = img->l.data_end;
    int fd, rc;

    fd = memfd_create("wasmslot-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        rc = -errno;
        wasmslot_error_set(err, rc, "memfd_create: %s", wasmslot_strerror(rc));
        goto fail;
    }
    if (ftruncate(fd, (off_t)(de - ds)) != 0) {
        rc = -errno;
        wasmslot_error_set(err, rc, "ftruncate of the image: %s", wasmslot_strerror(rc));
        goto fail;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasmslot_data *d = &m->datas[i];
        size_t from, to;

        if (d->mode != WASMSLOT_SEG_ACTIVE)
            continue;
        from = d->offset.u.i32;
        to = from + d->len;
        if (from < ds)
            from = ds;
        if (to > de)
            to = de;
        if (from >= to)
            continue;
        rc = write_all(fd, d->bytes + (from - d->offset.u.i32), to - from, (off_t)(from - ds));
        if (rc < 0) {
            wasmslot_error_set(err, rc, "writing the image: %s", wasmslot_strerror(rc));
            goto fail;
        }
    }
    /* Sealed, the contents can never change again: slots map it MAP_PRIVATE, so a guest's
     * writes land in private copies, and nobody (not even a bug here) can alter what the next
     * instance starts from. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
        rc = -errno;
        wasmslot_error_set(err, rc, "sealing the image: %s", wasmslot_strerror(rc));
        goto fail;
    }
    img->l.fd = fd;
    return 0;

fail:
    if (fd >= 0)
        close(fd);
    return rc;
}

struct wasmslot_image *wasmslot_image_new(const struct wasmslot_module *m,
                                          struct wasmslot_error *err)
{
    struct wasmslot_image *img = calloc(1, sizeof(*img));
    const struct wasmslot_limits *lim;
    uint64_t lo, hi;
    size_t pg = os_page();

    if (img == NULL) {
        wasmslot_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    img->l.id = atomic_fetch_add(&image_next_id, 1);
    img->l.fd = -1;
    if (m->nmemory_imports > 0) {
        img->reason = "imported memory";
        return img;
    }
    if (m->nmemories_total == 0) {
        img->l.imaged = true; /* nothing to copy, so nothing to fall back from */
        return img;
    }
    lim = &m->memories[0];
    if (lim->shared) {
        img->reason = "shared memory";
        return img;
    }
    img->l.has_memory = true;
    img->l.min_pages = (uint32_t)lim->min;
    img->l.max_pages = lim->has_max ? (uint32_t)lim->max : 65536;
    img->reason = image_plan(m, (uint64_t)lim->min * WASMSLOT_PAGE_SIZE, &lo, &hi);
    if (img->reason != NULL || lo >= hi) {
        img->l.imaged = img->reason == NULL;
        return img;
    }
    img->l.data_start = (size_t)lo & ~(pg - 1);
    img->l.data_end = ((size_t)hi + pg - 1) & ~(pg - 1);
    if (image_fill(img, m, err) < 0) {
        free(img);
        return NULL;
    }
    img->l.imaged = true;
    return img;
}

void wasmslot_image_free(struct wasmslot_image *img)
{
    if (img == NULL)
        return;
    if (img->l.fd >= 0)
        close(img->l.fd);
    free(img);
}

bool wasmslot_image_is_imaged(const struct wasmslot_image *img)
{
    return img->l.imaged;
}

const char *wasmslot_image_fallback_reason(const struct wasmslot_image *img)
{
    return img->reason;
}

void wasmslot_image_stats(const struct wasmslot_image *img, wasmslot_stats_sink_fn sink, void *arg)
{
    sink(arg, "image_imaged", WASMSLOT_STATS_GAUGE, img->l.imaged ? 1 : 0);
    sink(arg, "image_stored_bytes", WASMSLOT_STATS_GAUGE, img->l.data_end - img->l.data_start);
}

const struct image_layout *image__layout(const struct wasmslot_image *img)
{
    return &img->l;
}
