/* mem/image.h: the library-internal view of memory images, what a slot needs to map one. */
#ifndef IMAGE_H
#define IMAGE_H

#include "format/module.h"
#include "wasmslot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a slot lays out memory for an image. Offsets are bytes of linear memory. */
struct image_layout {
    /* Unique among every image of the process and never reused, so a slot can remember which
     * image it holds even after that image is freed and its address recycled. */
    uint64_t id;
    bool has_memory; /* the module defines an unshared memory a slot can back */
    bool imaged;     /* the active data segments are in fd (or there are none) */
    int fd;          /* sealed memfd holding memory bytes [data_start, data_end), or -1 */
    size_t data_start, data_end; /* multiples of the OS page size; equal when nothing stored */
    uint32_t min_pages;          /* module's initial memory */
    uint32_t max_pages;          /* module's maximum, 65536 when it declares none */
};

/* The layout of img, valid as long as img. */
const struct image_layout *image__layout(const struct wasmslot_image *img);

#endif
