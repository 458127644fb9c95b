/* wasi/fs.c: the one directory a WASI run may be granted, read-only: its preopen, path_open
 * confined by the kernel (openat2 with RESOLVE_BENEATH), reading files and directories. */
#include "config.h"

#include "wasi/fs.h"

#include "format/module.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int wasi__errno(int e)
{
    switch (e) {
    case 0:
        return WASI_ESUCCESS;
    case EACCES:
        return WASI_EACCES;
    case EAGAIN:
        return WASI_EAGAIN;
    case EBADF:
        return WASI_EBADF;
    case EBUSY:
        return WASI_EBUSY;
    case EEXIST:
        return WASI_EEXIST;
    case EFBIG:
        return WASI_EFBIG;
    case EINVAL:
        return WASI_EINVAL;
    case EISDIR:
        return WASI_EISDIR;
    case ELOOP:
        return WASI_ELOOP;
    case EMFILE:
    case ENFILE:
        return WASI_EMFILE;
    case ENAMETOOLONG:
        return WASI_ENAMETOOLONG;
    case ENOENT:
        return WASI_ENOENT;
    case ENOMEM:
        return WASI_ENOMEM;
    case ENOSPC:
        return WASI_ENOSPC;
    case ENOSYS:
        return WASI_ENOSYS;
    case ENOTDIR:
        return WASI_ENOTDIR;
    case ENOTEMPTY:
        return WASI_ENOTEMPTY;
    case EOPNOTSUPP:
        return WASI_ENOTSUP;
    case EOVERFLOW:
        return WASI_EOVERFLOW;
    case EPERM:
        return WASI_EPERM;
    case EROFS:
        return WASI_EROFS;
    case ESPIPE:
        return WASI_ESPIPE;
    case EXDEV:
        /* RESOLVE_BENEATH's answer to a path that would leave the directory. */
        return WASI_ENOTCAPABLE;
    }
    return WASI_EIO;
}

int wasi__fs_grant(struct wasmslot_wasi *w, const char *host_dir, const char *guest_name,
                   struct wasmslot_error *err)
{
    /* O_PATH: the descriptor only anchors lookups; every file the guest reads is opened
     * beneath it with the guest's own request. */
    int fd = open(host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;

        return wasmslot_error_set(err, e, "cannot open the granted directory %s: %s", host_dir,
                                  strerror(e));
    }
    w->dir_name = strdup(guest_name);
    if (!w->dir_name) {
        close(fd);
        return wasmslot_error_set(err, ENOMEM, "out of memory for the WASI state");
    }
    w->dir = fd;
    return 0;
}

void wasi__fs_close_all(struct wasmslot_wasi *w)
{
    for (int i = 0; i < w->fd_top; i++) {
        struct wasi__fd *f = &w->fds[i];

        if (f->kind == WASI_FD_DIR || f->kind == WASI_FD_FILE) {
            close(f->host);
            memset(f, 0, sizeof(*f));
        }
    }
}

int wasi__fs_read(const struct wasi__call *c, struct wasi__fd *f, const struct wasi__iov *iov,
                  uint32_t n, uint32_t *nread)
{
    uint32_t done = 0;

    /* Straight into guest memory: every range was checked, and the kernel reports a bad
     * address as EFAULT rather than faulting. */
    for (uint32_t i = 0; i < n; i++) {
        ssize_t r;

        if (iov[i].len == 0)
            continue;
        do
            r = read(f->host, c->base + iov[i].off, iov[i].len);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (done > 0)
                break;
            return wasi__errno(errno);
        }
        done += (uint32_t)r;
        if ((uint32_t)r < iov[i].len)
            break;
    }
    *nread = done;
    return WASI_ESUCCESS;
}

int wasi__fs_seek(struct wasi__fd *f, int64_t offset, uint32_t whence, uint64_t *newoff)
{
    static const int host_whence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    off_t r;

    if (f->kind != WASI_FD_FILE)
        return WASI_EISDIR; /* directories are read with cookies, not offsets */
    r = lseek(f->host, (off_t)offset, host_whence[whence]);
    if (r < 0)
        return wasi__errno(errno);
    *newoff = (uint64_t)r;
    return WASI_ESUCCESS;
}

static uint8_t filetype_of(mode_t mode)
{
    if (S_ISREG(mode))
        return WASI_FILETYPE_REGULAR_FILE;
    if (S_ISDIR(mode))
        return WASI_FILETYPE_DIRECTORY;
    if (S_ISLNK(mode))
        return WASI_FILETYPE_SYMBOLIC_LINK;
    if (S_ISCHR(mode))
        return WASI_FILETYPE_CHARACTER_DEVICE;
    if (S_ISBLK(mode))
        return WASI_FILETYPE_BLOCK_DEVICE;
    if (S_ISSOCK(mode))
        return WASI_FILETYPE_SOCKET_STREAM;
    return WASI_FILETYPE_UNKNOWN;
}

static uint64_t ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

int wasi__fs_filestat(int host, uint8_t *p)
{
    struct stat st;

    if (fstat(host, &st) != 0)
        return wasi__errno(errno);
    memset(p, 0, WASI_FILESTAT_SIZE);
    wasi__put_u64(p, (uint64_t)st.st_dev);
    wasi__put_u64(p + 8, (uint64_t)st.st_ino);
    wasi__put_u8(p + 16, filetype_of(st.st_mode));
    wasi__put_u64(p + 24, (uint64_t)st.st_nlink);
    wasi__put_u64(p + 32, (uint64_t)st.st_size);
    wasi__put_u64(p + 40, ts_ns(&st.st_atim));
    wasi__put_u64(p + 48, ts_ns(&st.st_mtim));
    wasi__put_u64(p + 56, ts_ns(&st.st_ctim));
    return WASI_ESUCCESS;
}

/* The directory descriptor fd names, for calls that resolve a path beneath it. */
static int dir_of(struct wasmslot_wasi *w, uint32_t fd, struct wasi__fd **out)
{
    struct wasi__fd *f = wasi__fd(w, fd);

    if (!f)
        return WASI_EBADF;
    if (f->kind != WASI_FD_PREOPEN && f->kind != WASI_FD_DIR)
        return WASI_ENOTDIR;
    *out = f;
    return WASI_ESUCCESS;
}

/* Copy the guest's path (ptr, len) into buf of PATH_MAX bytes, NUL-terminated. */
static int guest_path(const struct wasi__call *c, uint32_t ptr, uint32_t len, char *buf)
{
    const uint8_t *p = wasi__gmem(c, ptr, len);

    if (!p)
        return WASI_EFAULT;
    if (len >= PATH_MAX)
        return WASI_ENAMETOOLONG;
    /* A NUL inside would make the host see a shorter path than the guest sent. */
    if (memchr(p, 0, len))
        return WASI_EINVAL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return WASI_ESUCCESS;
}

/* Open path beneath dir. The kernel refuses, with EXDEV, any resolution that would leave
 * dir: "..", absolute paths, and symbolic links (absolute or climbing out), checked at
 * every step, so a rename racing the lookup cannot help either. */
static int open_beneath(int dir, const char *path, uint64_t flags)
{
    struct open_how how = {
        .flags = flags | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long r;

    do
        r = syscall(SYS_openat2, dir, path, &how, sizeof(how));
    while (r < 0 && errno == EINTR);
    return (int)r;
}

int wasi__path_open(struct wasi__call *c, const struct wasmslot_value *a)
{
    uint32_t dirflags = a[1].of.i32, oflags = a[4].of.i32, fdflags = a[7].of.i32;
    uint64_t rights = a[5].of.i64;
    const uint64_t write_rights =
        WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE;
    uint8_t *pfd = wasi__gmem(c, a[8].of.i32, 4);
    char path[PATH_MAX];
    struct wasi__fd *dir;
    struct stat st;
    uint32_t slot;
    int e, h;

    if (!pfd || !wasi__gmem(c, a[2].of.i32, a[3].of.i32))
        return WASI_EFAULT;
    e = guest_path(c, a[2].of.i32, a[3].of.i32, path);
    if (e == WASI_ESUCCESS)
        e = dir_of(c->w, a[0].of.i32, &dir);
    if (e != WASI_ESUCCESS)
        return e;
    if (oflags & ~(WASI_O_CREAT | WASI_O_DIRECTORY | WASI_O_EXCL | WASI_O_TRUNC))
        return WASI_EINVAL;
    /* The grant is read-only: refuse at open what would write, as a read-only mount does. */
    if ((oflags & (WASI_O_CREAT | WASI_O_EXCL | WASI_O_TRUNC)) || (rights & write_rights) ||
        (fdflags & WASI_FDFLAG_APPEND))
        return WASI_EROFS;
    for (slot = 0; slot < WASI_MAX_FDS && c->w->fds[slot].kind != WASI_FD_FREE; slot++)
        ;
    if (slot == WASI_MAX_FDS)
        return WASI_EMFILE;
    /* O_NONBLOCK: opening a FIFO must not hang the run; it is refused below anyway. */
    h = open_beneath(dir->host, path,
                     O_RDONLY | O_NOCTTY | O_NONBLOCK |
                         (dirflags & WASI_LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW) |
                         (oflags & WASI_O_DIRECTORY ? O_DIRECTORY : 0));
    if (h < 0)
        return wasi__errno(errno);
    if (fstat(h, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        /* Devices, FIFOs and sockets stay out of reach even inside the directory. */
        close(h);
        return WASI_EACCES;
    }
    c->w->fds[slot].kind = S_ISDIR(st.st_mode) ? WASI_FD_DIR : WASI_FD_FILE;
    c->w->fds[slot].host = h;
    c->w->fds[slot].flags = (uint16_t)(fdflags & WASI_FDFLAG_NONBLOCK);
    if ((int)slot >= c->w->fd_top)
        c->w->fd_top = (int)slot + 1;
    wasi__put_u32(pfd, slot);
    return WASI_ESUCCESS;
}

int wasi__path_filestat_get(struct wasi__call *c, const struct wasmslot_value *a)
{
    uint8_t *p = wasi__gmem(c, a[4].of.i32, WASI_FILESTAT_SIZE);
    char path[PATH_MAX];
    struct wasi__fd *dir;
    int e, h;

    if (!p || !wasi__gmem(c, a[2].of.i32, a[3].of.i32))
        return WASI_EFAULT;
    e = guest_path(c, a[2].of.i32, a[3].of.i32, path);
    if (e == WASI_ESUCCESS)
        e = dir_of(c->w, a[0].of.i32, &dir);
    if (e != WASI_ESUCCESS)
        return e;
    /* O_PATH reaches anything, a symbolic link itself included, without reading it. */
    h = open_beneath(dir->host, path,
                     O_PATH | (a[1].of.i32 & WASI_LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW));
    if (h < 0)
        return wasi__errno(errno);
    e = wasi__fs_filestat(h, p);
    close(h);
    return e;
}

static uint8_t dirent_type(unsigned char t)
{
    switch (t) {
    case DT_REG:
        return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR:
        return WASI_FILETYPE_DIRECTORY;
    case DT_LNK:
        return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR:
        return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK:
        return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK:
        return WASI_FILETYPE_SOCKET_STREAM;
    }
    return WASI_FILETYPE_UNKNOWN;
}

/* Entries are numbered in the order the host lists them; the cookie of an entry is the
 * number of the next one. Each call lists from the start again, which keeps no state
 * between calls and is exact as long as the directory does not change (it is read-only). */
int wasi__fd_readdir(struct wasi__call *c, const struct wasmslot_value *a)
{
    uint32_t buf_len = a[2].of.i32;
    uint8_t *buf = wasi__gmem(c, a[1].of.i32, buf_len);
    uint8_t *pused = wasi__gmem(c, a[4].of.i32, 4);
    uint64_t cookie = a[3].of.i64, index = 0;
    struct wasi__fd *f;
    struct dirent *de;
    uint32_t used = 0;
    DIR *d;
    int e, h;

    if (!buf || !pused)
        return WASI_EFAULT;
    e = dir_of(c->w, a[0].of.i32, &f);
    if (e != WASI_ESUCCESS)
        return e;
    h = open_beneath(f->host, ".", O_RDONLY | O_DIRECTORY);
    if (h < 0)
        return wasi__errno(errno);
    d = fdopendir(h);
    if (!d) {
        e = wasi__errno(errno);
        close(h);
        return e;
    }
    while (used < buf_len && (de = readdir(d)) != NULL) {
        uint8_t ent[24];
        size_t namelen = strlen(de->d_name), n;

        if (index++ < cookie)
            continue;
        memset(ent, 0, sizeof(ent));
        wasi__put_u64(ent, index);
        wasi__put_u64(ent + 8, (uint64_t)de->d_ino);
        wasi__put_u32(ent + 16, (uint32_t)namelen);
        wasi__put_u8(ent + 20, dirent_type(de->d_type));
        /* An entry that does not fit is cut: the guest sees a full buffer and asks again
         * from that entry's cookie with more room, as preview1 specifies. */
        n = sizeof(ent) < buf_len - used ? sizeof(ent) : buf_len - used;
        memcpy(buf + used, ent, n);
        used += (uint32_t)n;
        n = namelen < buf_len - used ? namelen : buf_len - used;
        memcpy(buf + used, de->d_name, n);
        used += (uint32_t)n;
    }
    closedir(d);
    wasi__put_u32(pused, used);
    return WASI_ESUCCESS;
}

int wasi__fd_prestat_get(struct wasi__call *c, const struct wasmslot_value *a)
{
    uint8_t *p = wasi__gmem(c, a[1].of.i32, WASI_PRESTAT_SIZE);
    struct wasi__fd *f = wasi__fd(c->w, a[0].of.i32);

    if (!p)
        return WASI_EFAULT;
    /* BADF for anything but the preopen: it is how wasi-libc's scan of fds 3, 4, ... ends. */
    if (!f || f->kind != WASI_FD_PREOPEN)
        return WASI_EBADF;
    memset(p, 0, WASI_PRESTAT_SIZE);
    wasi__put_u8(p, 0); /* preopentype dir */
    wasi__put_u32(p + 4, (uint32_t)strlen(c->w->dir_name));
    return WASI_ESUCCESS;
}

int wasi__fd_prestat_dir_name(struct wasi__call *c, const struct wasmslot_value *a)
{
    uint8_t *p = wasi__gmem(c, a[1].of.i32, a[2].of.i32);
    struct wasi__fd *f = wasi__fd(c->w, a[0].of.i32);
    size_t len;

    if (!p)
        return WASI_EFAULT;
    if (!f || f->kind != WASI_FD_PREOPEN)
        return WASI_EBADF;
    len = strlen(c->w->dir_name);
    if (a[2].of.i32 < len)
        return WASI_ENAMETOOLONG;
    memcpy(p, c->w->dir_name, len);
    return WASI_ESUCCESS;
}

int wasi__path_readonly(struct wasi__call *c, const struct wasmslot_value *a)
{
    struct wasi__fd *dir;
    int e;

    if (!wasi__gmem(c, a[1].of.i32, a[2].of.i32))
        return WASI_EFAULT;
    e = dir_of(c->w, a[0].of.i32, &dir);
    return e != WASI_ESUCCESS ? e : WASI_EROFS;
}
