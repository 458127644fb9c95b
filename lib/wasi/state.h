/* wasi/state.h: what wasi/wasi.c and wasi/fs.c share: the WASI preview1 ABI (errno values,
 * layouts) and the state of one run, with the accessors of guest memory (private). */
#ifndef WASI_STATE_H
#define WASI_STATE_H

#include "wasmslot.h"

#include <stdbool.h>
#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The import module name every preview1 function lives in. */
#define WASI_MODULE_NAME "wasi_snapshot_preview1"

/* WASI errno values returned (as i32) by the host functions; they are not the host's. */
enum wasi_errno {
    WASI_ESUCCESS = 0,
    WASI_E2BIG = 1,
    WASI_EACCES = 2,
    WASI_EAGAIN = 6,
    WASI_EBADF = 8,
    WASI_EBUSY = 10,
    WASI_EEXIST = 20,
    WASI_EFAULT = 21,
    WASI_EFBIG = 22,
    WASI_EINVAL = 28,
    WASI_EIO = 29,
    WASI_EISDIR = 31,
    WASI_ELOOP = 32,
    WASI_EMFILE = 33,
    WASI_ENAMETOOLONG = 37,
    WASI_ENOENT = 44,
    WASI_ENOMEM = 48,
    WASI_ENOSPC = 51,
    WASI_ENOSYS = 52,
    WASI_ENOTDIR = 54,
    WASI_ENOTEMPTY = 55,
    WASI_ENOTSUP = 58,
    WASI_EOVERFLOW = 61,
    WASI_EPERM = 63,
    WASI_EROFS = 69,
    WASI_ESPIPE = 70,
    WASI_ENOTCAPABLE = 76,
};

enum wasi_filetype {
    WASI_FILETYPE_UNKNOWN = 0,
    WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4,
    WASI_FILETYPE_SOCKET_STREAM = 6,
    WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

enum wasi_clockid {
    WASI_CLOCK_REALTIME = 0,
    WASI_CLOCK_MONOTONIC = 1,
    WASI_CLOCK_PROCESS_CPUTIME = 2,
    WASI_CLOCK_THREAD_CPUTIME = 3,
};

enum wasi_fdflags {
    WASI_FDFLAG_APPEND = 1 << 0,
    WASI_FDFLAG_DSYNC = 1 << 1,
    WASI_FDFLAG_NONBLOCK = 1 << 2,
    WASI_FDFLAG_RSYNC = 1 << 3,
    WASI_FDFLAG_SYNC = 1 << 4,
};

/* Rights bits reported by fd_fdstat_get for the standard streams. */
#define WASI_RIGHT_FD_READ              ((uint64_t)1 << 1)
#define WASI_RIGHT_FD_SEEK              ((uint64_t)1 << 2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS  ((uint64_t)1 << 3)
#define WASI_RIGHT_FD_TELL              ((uint64_t)1 << 5)
#define WASI_RIGHT_FD_WRITE             ((uint64_t)1 << 6)
#define WASI_RIGHT_FD_FILESTAT_GET      ((uint64_t)1 << 21)
#define WASI_RIGHT_FD_ALLOCATE          ((uint64_t)1 << 8)
#define WASI_RIGHT_PATH_OPEN            ((uint64_t)1 << 13)
#define WASI_RIGHT_FD_READDIR           ((uint64_t)1 << 14)
#define WASI_RIGHT_PATH_READLINK        ((uint64_t)1 << 15)
#define WASI_RIGHT_PATH_FILESTAT_GET    ((uint64_t)1 << 18)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE ((uint64_t)1 << 22)
#define WASI_RIGHT_POLL_FD_READWRITE    ((uint64_t)1 << 27)

/* path_open's oflags and lookupflags. */
#define WASI_O_CREAT               1u
#define WASI_O_DIRECTORY           2u
#define WASI_O_EXCL                4u
#define WASI_O_TRUNC               8u
#define WASI_LOOKUP_SYMLINK_FOLLOW 1u

enum wasi_eventtype {
    WASI_EVENT_CLOCK = 0,
    WASI_EVENT_FD_READ = 1,
    WASI_EVENT_FD_WRITE = 2,
};

#define WASI_SUBCLOCK_ABSTIME 1u

/* Sizes of the guest-memory structures the host functions read or write. */
#define WASI_IOVEC_SIZE    8u  /* { u32 buf; u32 buf_len } */
#define WASI_FDSTAT_SIZE   24u /* u8 filetype @0, u16 flags @2, u64 rights @8, @16 */
#define WASI_FILESTAT_SIZE 64u /* dev, ino, u8 filetype @16, nlink, size, atim, mtim, ctim */
#define WASI_PRESTAT_SIZE  8u  /* u8 tag @0, u32 name_len @4 */
#define WASI_SUBSCRIPTION_SIZE                                                                     \
    48u /* u64 userdata, u8 tag @8, clock {id @16, timeout @24,                                    \
           precision @32, u16 flags @40} or fd @16 */
#define WASI_EVENT_SIZE                                                                            \
    32u /* u64 userdata, u16 error @8, u8 type @10, u64 nbytes @16,                                \
           u16 flags @24 */

/* Most iovecs one fd_read/fd_write accepts, as the host's IOV_MAX. */
#define WASI_IOV_MAX 1024u

/* Descriptors a run can have open at once, the standard streams and the preopen included. */
#define WASI_MAX_FDS 64

enum wasi__fdkind {
    WASI_FD_FREE = 0,
    WASI_FD_STDIN,
    WASI_FD_STDOUT,
    WASI_FD_STDERR,
    WASI_FD_PREOPEN, /* the granted directory, fd 3; its host fd belongs to the state */
    WASI_FD_DIR,     /* a directory the guest opened */
    WASI_FD_FILE,    /* a regular file the guest opened, read-only */
};

struct wasi__fd {
    enum wasi__fdkind kind;
    int host; /* host descriptor of PREOPEN, DIR and FILE */
    uint16_t flags;
};

/* Strings packed NUL-terminated one after the other, as args_get/environ_get hand them out. */
struct wasi__strlist {
    char *buf;
    uint32_t size; /* bytes in buf, NULs included */
    uint32_t n;
    uint32_t *off; /* n offsets into buf */
    size_t buf_cap, off_cap; /* bytes of buf and entries of off allocated, reused by later sets */
};

/* A captured output stream: grows on demand, never past max. */
struct wasi__outbuf {
    uint8_t *data;
    size_t len, cap, max;
    bool truncated;
};

struct wasmslot_wasi {
    struct wasi__strlist args, env;
    uint8_t *in;
    size_t in_len, in_pos;
    struct wasi__outbuf out[2]; /* fd 1 and fd 2 */
    struct wasi__fd fds[WASI_MAX_FDS];
    int fd_top;     /* one past the highest slot a run opened a file in (0: none), so a reset
                       visits only those */
    int dir;        /* host descriptor (O_PATH) of the granted directory, -1 when none */
    char *dir_name; /* the name the guest sees for it */
    bool exited;
    int exit_code;
    uint64_t cpu_base_ns; /* thread CPU time at the run's first CPU-time reading; 0: none yet */
};

/* One host call: the state it serves and a snapshot of the caller's memory. The size is read
 * once; a memory only grows during a run, so a range checked against the snapshot stays
 * accessible for the whole call, and nothing past it (the faulting reservation) is touched. */
struct wasi__call {
    struct wasmslot_wasi *w;
    struct wasmslot_exec *ex;
    uint8_t *base;
    uint64_t size;
};

/* Guest bytes [ptr, ptr + len), or NULL when any of them is outside the memory. The sum is
 * done in 64 bits so a range that wraps around 2^32 is refused, never folded back. */
static inline uint8_t *wasi__gmem(const struct wasi__call *c, uint32_t ptr, uint64_t len)
{
    if (!c->base || (uint64_t)ptr + len > c->size)
        return NULL;
    return c->base + ptr;
}

/* Guest memory is little-endian whatever the host is; these never assume alignment. */
static inline void wasi__put_u8(uint8_t *p, uint8_t v)
{
    *p = v;
}

static inline void wasi__put_u16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static inline void wasi__put_u32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static inline void wasi__put_u64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint16_t wasi__get_u16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static inline uint32_t wasi__get_u32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static inline uint64_t wasi__get_u64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

/* The descriptor fd of w, or NULL when it is not open. */
static inline struct wasi__fd *wasi__fd(struct wasmslot_wasi *w, uint32_t fd)
{
    if (fd >= WASI_MAX_FDS || w->fds[fd].kind == WASI_FD_FREE)
        return NULL;
    return &w->fds[fd];
}

/* An iovec taken out of guest memory and checked: guest offset and length. */
struct wasi__iov {
    uint32_t off;
    uint32_t len;
};

#endif
