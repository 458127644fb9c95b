/* native/cache.c: entries of the native tier's code cache: <dir>/<hex key>.wsc, a header
 * (magic, format, key, payload length and SHA-256) then the object, trusted only after every
 * check passed. */
#include "config.h"

#include "native/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The header, little-endian:
 *   0  magic "WSLTCODE"      16  key[32]                   56  payload SHA-256[32]
 *   8  u32 format            48  u64 payload length        88  u64 zero
 *  12  u32 header size (96)  96  the payload: an ELF object
 */
#define HDR_SIZE    96
#define OFF_FORMAT  8
#define OFF_HDRSIZE 12
#define OFF_KEY     16
#define OFF_LEN     48
#define OFF_HASH    56
static const uint8_t magic[8] = {'W', 'S', 'L', 'T', 'C', 'O', 'D', 'E'};

/* Larger entries are not read: no object of ours comes near. */
#define MAX_ENTRY ((uint64_t)1 << 30)

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* "<hex key>.wsc" */
#define NAME_MAX_ (2 * SHA256_BYTES + 5)
static void entry_name(const uint8_t key[SHA256_BYTES], char name[NAME_MAX_])
{
    for (int i = 0; i < SHA256_BYTES; i++)
        snprintf(name + 2 * i, 3, "%02x", key[i]);
    memcpy(name + 2 * SHA256_BYTES, ".wsc", 5);
}

/* Whether st (of the directory, or of its entry `name`) is the effective user's and writable by
 * no one else: what another user could have written is never executed. */
static bool trusted(const struct stat *st, const char *dir, const char *name,
                    char why[CACHE_WHY_MAX])
{
    const char *what = name ? "entry" : "cache directory", *sep = name ? "/" : "";
    if (name == NULL)
        name = "";
    if (st->st_uid != geteuid()) {
        snprintf(why, CACHE_WHY_MAX, "%s %s%s%s is owned by uid %u, not by uid %u", what, dir, sep,
                 name, (unsigned)st->st_uid, (unsigned)geteuid());
        return false;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, CACHE_WHY_MAX, "%s %s%s%s is writable by group or others (mode %04o)", what,
                 dir, sep, name, (unsigned)(st->st_mode & 07777));
        return false;
    }
    return true;
}

/* The cache directory, opened and checked; -1 with why. */
static int open_dir(const char *dir, char why[CACHE_WHY_MAX])
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, CACHE_WHY_MAX, "cache directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(why, CACHE_WHY_MAX, "cache directory %s: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    if (!trusted(&st, dir, NULL, why)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read exactly len bytes; -1 with errno (0 when the file ended first). */
static int read_all(int fd, uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Check an entry's bytes against key; NULL when good, else what is wrong. */
static const char *check_entry(const uint8_t *e, size_t size, const uint8_t key[SHA256_BYTES])
{
    if (size < HDR_SIZE)
        return "truncated header";
    if (memcmp(e, magic, sizeof magic) != 0)
        return "not a wasmslot code cache entry";
    if (get32(e + OFF_FORMAT) != CACHE_FORMAT)
        return "another entry format";
    if (get32(e + OFF_HDRSIZE) != HDR_SIZE)
        return "bad header size";
    if (memcmp(e + OFF_KEY, key, SHA256_BYTES) != 0)
        return "entry for another key";
    if (get64(e + OFF_LEN) != size - HDR_SIZE)
        return "payload length does not match the file (truncated?)";
    uint8_t h[SHA256_BYTES];
    sha256(e + HDR_SIZE, size - HDR_SIZE, h);
    if (memcmp(e + OFF_HASH, h, SHA256_BYTES) != 0)
        return "payload checksum mismatch";
    return NULL;
}

enum cache_lookup cache_load(const char *dir, const uint8_t key[SHA256_BYTES], void **data,
                             size_t *len, char why[CACHE_WHY_MAX])
{
    char name[NAME_MAX_];
    enum cache_lookup res = CACHE_UNUSABLE;
    uint8_t *buf = NULL;
    int fd = -1;

    *data = NULL;
    *len = 0;
    why[0] = '\0';
    int dfd = open_dir(dir, why);
    if (dfd < 0)
        return CACHE_UNUSABLE;
    entry_name(key, name);
    /* O_NOFOLLOW: a symbolic link is never followed; O_NONBLOCK: a FIFO planted under the
     * name does not block the open (fstat then refuses it). */
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) {
            res = CACHE_ABSENT;
        } else {
            snprintf(why, CACHE_WHY_MAX, "entry %s/%s: %s", dir, name,
                     e == ELOOP ? "a symbolic link, not followed" : strerror(e));
            /* An entry we may not open (a link, no read permission) can still be replaced. */
            res = e == ELOOP || e == EACCES ? CACHE_BAD : CACHE_UNUSABLE;
        }
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(why, CACHE_WHY_MAX, "entry %s/%s: %s", dir, name, strerror(errno));
        goto out;
    }
    res = CACHE_BAD;
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, CACHE_WHY_MAX, "entry %s/%s is not a regular file", dir, name);
        goto out;
    }
    if (!trusted(&st, dir, name, why))
        goto out;
    if ((uint64_t)st.st_size > MAX_ENTRY) {
        snprintf(why, CACHE_WHY_MAX, "entry %s/%s is too large", dir, name);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        snprintf(why, CACHE_WHY_MAX, "entry %s/%s: out of memory", dir, name);
        res = CACHE_UNUSABLE;
        goto out;
    }
    if (read_all(fd, buf, size) < 0) {
        int e = errno;
        snprintf(why, CACHE_WHY_MAX, "entry %s/%s: %s", dir, name, e ? strerror(e) : "truncated");
        res = e ? CACHE_UNUSABLE : CACHE_BAD;
        goto out;
    }
    const char *wrong = check_entry(buf, size, key);
    if (wrong != NULL) {
        snprintf(why, CACHE_WHY_MAX, "entry %s/%s: %s", dir, name, wrong);
        goto out;
    }
    /* The payload moves to the front: the caller frees one block. */
    memmove(buf, buf + HDR_SIZE, size - HDR_SIZE);
    *data = buf;
    *len = size - HDR_SIZE;
    buf = NULL;
    res = CACHE_FOUND;

out:
    free(buf);
    if (fd >= 0)
        close(fd);
    close(dfd);
    return res;
}

int cache_store(const char *dir, const uint8_t key[SHA256_BYTES], const void *data, size_t len,
                char why[CACHE_WHY_MAX])
{
    static _Atomic unsigned seq;
    char name[NAME_MAX_], tmp[NAME_MAX_ + 48];
    int rc = 0, fd = -1;
    bool created = false;

    why[0] = '\0';
    int dfd = open_dir(dir, why);
    if (dfd < 0)
        return -EPERM;
    entry_name(key, name);

    uint8_t hdr[HDR_SIZE];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, magic, sizeof magic);
    put32(hdr + OFF_FORMAT, CACHE_FORMAT);
    put32(hdr + OFF_HDRSIZE, HDR_SIZE);
    memcpy(hdr + OFF_KEY, key, SHA256_BYTES);
    put64(hdr + OFF_LEN, len);
    sha256(data, len, hdr + OFF_HASH);

    /* A name no one else uses: a file left by a crashed process of the same pid is skipped. */
    const char *step = "creating";
    for (int tries = 0; fd < 0 && tries < 8; tries++) {
        snprintf(tmp, sizeof tmp, ".%.16s.%ld.%u.tmp", name, (long)getpid(),
                 atomic_fetch_add(&seq, 1));
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        goto fail;
    created = true;
    step = "writing";
    if (write_all(fd, hdr, sizeof hdr) < 0 || write_all(fd, data, len) < 0)
        goto fail;
    step = "syncing";
    if (fsync(fd) < 0)
        goto fail;
    step = "closing";
    int cfd = fd;
    fd = -1;
    if (close(cfd) < 0)
        goto fail;
    step = "renaming";
    if (renameat(dfd, tmp, dfd, name) < 0)
        goto fail;
    close(dfd);
    return 0;

fail:
    rc = -errno;
    snprintf(why, CACHE_WHY_MAX, "%s %s/%s: %s", step, dir, tmp, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (created)
        unlinkat(dfd, tmp, 0);
    close(dfd);
    return rc;
}
