/* format/reader.h: a bounds-checked cursor over WebAssembly binary bytes (LEB128 integers,
 * fixed-width values, UTF-8 names) reporting errors in the spec's wording (private to the
 * library). */
#ifndef WASMSLOT_READER_H
#define WASMSLOT_READER_H

#include "format/module.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A cursor: reads advance p and never go past end. A failed read stores its message in err and
 * returns -WASMSLOT_EMALFORMED; callers stop and propagate that first failure. */
struct wasmslot_reader {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *base; /* start of the whole binary, for offsets in messages */
    bool in_section;     /* running off `end` is then "unexpected end of section or function" */
    struct wasmslot_error *err;
};

/* Start reading bytes[0..len) from the top level of a binary. */
static inline void wasmslot_rd_init(struct wasmslot_reader *r, const uint8_t *bytes, size_t len,
                                    struct wasmslot_error *err)
{
    r->p = bytes;
    r->end = bytes + len;
    r->base = bytes;
    r->in_section = false;
    r->err = err;
}

/* Bytes left before the reader's end. */
static inline size_t wasmslot_rd_left(const struct wasmslot_reader *r)
{
    return (size_t)(r->end - r->p);
}

/* Offset of the cursor from the start of the binary. */
static inline size_t wasmslot_rd_offset(const struct wasmslot_reader *r)
{
    return (size_t)(r->p - r->base);
}

/* Report a malformed binary at the cursor; returns -WASMSLOT_EMALFORMED. */
static inline int wasmslot_rd_fail(struct wasmslot_reader *r, const char *msg)
{
    /* A constant return value lets the compiler see that outputs are set whenever 0 is
     * returned. */
    wasmslot_error_set(r->err, WASMSLOT_EMALFORMED, "%s (at offset %zu)", msg,
                       wasmslot_rd_offset(r));
    return -WASMSLOT_EMALFORMED;
}

/* Report reading past the end of the current region; the wording depends on the region. */
static inline int wasmslot_rd_eof(struct wasmslot_reader *r)
{
    return wasmslot_rd_fail(r, r->in_section ? "unexpected end of section or function"
                                             : "unexpected end");
}

/* Read one byte. */
static inline int wasmslot_rd_u8(struct wasmslot_reader *r, uint8_t *out)
{
    if (r->p >= r->end)
        return wasmslot_rd_eof(r);
    *out = *r->p++;
    return 0;
}

/* Read an unsigned or signed LEB128 of at most `bits` bits. The last byte a `bits`-bit number
 * may use carries only (bits % 7) significant bits; the rest must be zero (unsigned) or copies
 * of the sign bit (signed), else "integer too large". More bytes than ceil(bits/7) is "integer
 * representation too long". */
static inline int wasmslot_rd_leb(struct wasmslot_reader *r, unsigned bits, bool is_signed,
                                  uint64_t *out)
{
    unsigned maxbytes = (bits + 6) / 7;
    uint64_t v = 0;

    for (unsigned i = 0;; i++) {
        uint8_t b;

        if (r->p >= r->end)
            return wasmslot_rd_eof(r);
        b = *r->p++;
        if (i + 1 == maxbytes) {
            unsigned used = bits - 7 * i; /* significant bits in this byte, 1..7 */

            if (b & 0x80)
                return wasmslot_rd_fail(r, "integer representation too long");
            if (used < 7) {
                uint8_t extra = (uint8_t)(b & 0x7f) >> used;
                uint8_t ones = (uint8_t)(0x7f >> used);

                if (!is_signed && extra != 0)
                    return wasmslot_rd_fail(r, "integer too large");
                if (is_signed) {
                    bool neg = (b >> (used - 1)) & 1;

                    if (extra != (neg ? ones : 0))
                        return wasmslot_rd_fail(r, "integer too large");
                }
            }
            v |= (uint64_t)(b & 0x7f) << (7 * i);
            if (is_signed && (b & 0x40) && 7 * (i + 1) < 64)
                v |= ~(uint64_t)0 << (7 * (i + 1));
            break;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (is_signed && (b & 0x40))
                v |= ~(uint64_t)0 << (7 * (i + 1));
            break;
        }
    }
    *out = v;
    return 0;
}

/* Read an unsigned 32-bit LEB128. */
static inline int wasmslot_rd_u32(struct wasmslot_reader *r, uint32_t *out)
{
    uint64_t v;
    int rc = wasmslot_rd_leb(r, 32, false, &v);

    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

/* Read an unsigned 64-bit LEB128. */
static inline int wasmslot_rd_u64(struct wasmslot_reader *r, uint64_t *out)
{
    return wasmslot_rd_leb(r, 64, false, out);
}

/* Read a signed 32-bit LEB128 (returned as its two's complement bits). */
static inline int wasmslot_rd_s32(struct wasmslot_reader *r, uint32_t *out)
{
    uint64_t v;
    int rc = wasmslot_rd_leb(r, 32, true, &v);

    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

/* Read a signed 33-bit LEB128 (block types), sign-extended to 64 bits. */
static inline int wasmslot_rd_s33(struct wasmslot_reader *r, int64_t *out)
{
    uint64_t v;
    int rc = wasmslot_rd_leb(r, 33, true, &v);

    if (rc == 0)
        *out = (int64_t)v;
    return rc;
}

/* Read a signed 64-bit LEB128 (returned as its two's complement bits). */
static inline int wasmslot_rd_s64(struct wasmslot_reader *r, uint64_t *out)
{
    return wasmslot_rd_leb(r, 64, true, out);
}

/* Read n raw bytes; *out points at them in the input. */
static inline int wasmslot_rd_bytes(struct wasmslot_reader *r, size_t n, const uint8_t **out)
{
    if (n > wasmslot_rd_left(r)) {
        r->p = r->end;
        return wasmslot_rd_eof(r);
    }
    *out = r->p;
    r->p += n;
    return 0;
}

/* Read a little-endian fixed-width value of n <= 8 bytes (float bit patterns). */
static inline int wasmslot_rd_fixed(struct wasmslot_reader *r, unsigned n, uint64_t *out)
{
    const uint8_t *b;
    uint64_t v = 0;
    int rc = wasmslot_rd_bytes(r, n, &b);

    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    *out = v;
    return 0;
}

/* True when s[0..len) is well-formed UTF-8: shortest forms only, no surrogates, at most
 * U+10FFFF. */
static inline bool wasmslot_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t c = s[i];
        uint32_t cp;
        size_t n;

        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Read a name: a u32 length, then that many bytes of valid UTF-8. */
static inline int wasmslot_rd_name(struct wasmslot_reader *r, const uint8_t **s, uint32_t *len)
{
    int rc = wasmslot_rd_u32(r, len);

    if (rc < 0)
        return rc;
    if ((rc = wasmslot_rd_bytes(r, *len, s)) < 0)
        return rc;
    if (!wasmslot_utf8_valid(*s, *len))
        return wasmslot_rd_fail(r, "malformed UTF-8 encoding");
    return 0;
}

#endif
