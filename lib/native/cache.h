/* native/cache.h: the native tier's on-disk code cache: one file per key in a directory the
 * user owns, checked before its code is trusted, replaced atomically (private to lib/native/).
 */
#ifndef NATIVE_CACHE_H
#define NATIVE_CACHE_H

#include "runtime/sha256.h"

#include <stddef.h>
#include <stdint.h>

/* The entry format; part of every key too, so a new format never reads an old entry. */
#define CACHE_FORMAT 1

/* Room for a reason (a path and an error). */
#define CACHE_WHY_MAX 320

enum cache_lookup {
    CACHE_FOUND,    /* the entry is good: its object is in *data */
    CACHE_ABSENT,   /* no entry for the key */
    CACHE_BAD,      /* an entry that must not run (foreign, corrupt, another key): replace it */
    CACHE_UNUSABLE, /* the directory is not to be trusted, or cannot be read */
};

/* Look up the entry for key in dir. CACHE_FOUND: *data (malloc()ed, the caller frees it) and
 * *len are the object, whose length and SHA-256 the entry's header confirmed. Otherwise why says
 * what was wrong (CACHE_BAD, CACHE_UNUSABLE). An entry is used only when it is a regular file,
 * not a symbolic link, owned by the effective user and writable by no one else, in a directory
 * of the same kind. */
enum cache_lookup cache_load(const char *dir, const uint8_t key[SHA256_BYTES], void **data,
                             size_t *len, char why[CACHE_WHY_MAX]);

/* Write the entry for key: a new file in dir (O_EXCL), synced, then renamed over the entry's
 * name, so a reader sees the old entry or the whole new one. Returns 0, or -errno with why. */
int cache_store(const char *dir, const uint8_t key[SHA256_BYTES], const void *data, size_t len,
                char why[CACHE_WHY_MAX]);

#endif
