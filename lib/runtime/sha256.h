/* runtime/sha256.h: SHA-256 (FIPS 180-4), for keys and checksums of the native tier's code
 * cache (private to libwasmslot). */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

/* A hash being computed. The layout is public so that one lives on the stack; only these
 * functions touch it. */
struct sha256 {
    uint32_t h[8];
    uint64_t nbytes;   /* message bytes so far */
    uint8_t block[64]; /* the partial block */
};

/* Start a new hash. */
void sha256_init(struct sha256 *s);

/* Append len bytes to the message. */
void sha256_update(struct sha256 *s, const void *data, size_t len);

/* Finish the message and write its digest; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);

/* The digest of one buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_BYTES]);

#endif
