/* wasi/fs.h: the one directory a WASI run may be granted (wasi/fs.c), as wasi/wasi.c calls it
 * (private). */
#ifndef WASI_FS_H
#define WASI_FS_H

#include "wasi/state.h"

/* The WASI errno for a host errno. */
int wasi__errno(int host_errno);

/* Open the granted directory of w. Returns 0 or a negative code with err filled. */
int wasi__fs_grant(struct wasmslot_wasi *w, const char *host_dir, const char *guest_name,
                   struct wasmslot_error *err);

/* Close every descriptor the guest opened (not the granted directory itself). */
void wasi__fs_close_all(struct wasmslot_wasi *w);

/* fd_read on a FILE: read into the checked iovecs, *nread bytes. Returns a WASI errno. */
int wasi__fs_read(const struct wasi__call *c, struct wasi__fd *f, const struct wasi__iov *iov,
                  uint32_t n, uint32_t *nread);

/* fd_seek on a FILE or DIR descriptor. Returns a WASI errno. */
int wasi__fs_seek(struct wasi__fd *f, int64_t offset, uint32_t whence, uint64_t *newoff);

/* Fill a filestat (WASI_FILESTAT_SIZE bytes at p) for the host descriptor. WASI errno. */
int wasi__fs_filestat(int host, uint8_t *p);

/* Implementations of the directory calls: take the call and its arguments, return a WASI
 * errno (wasi/wasi.c wraps them as host functions). */
int wasi__path_open(struct wasi__call *c, const struct wasmslot_value *a);
int wasi__path_filestat_get(struct wasi__call *c, const struct wasmslot_value *a);
int wasi__fd_readdir(struct wasi__call *c, const struct wasmslot_value *a);
int wasi__fd_prestat_get(struct wasi__call *c, const struct wasmslot_value *a);
int wasi__fd_prestat_dir_name(struct wasi__call *c, const struct wasmslot_value *a);
/* path_create_directory, path_unlink_file, path_remove_directory: the grant is read-only. */
int wasi__path_readonly(struct wasi__call *c, const struct wasmslot_value *a);

#endif
