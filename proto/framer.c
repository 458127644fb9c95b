/* framer.c: splits a received byte stream into protocol lines, enforcing the line limit. */
#include "config.h"

#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct proto_framer {
    char *buf;
    size_t cap;
    size_t start;    /* first byte not yet returned */
    size_t end;      /* one past the last byte received */
    size_t scanned;  /* bytes from start known to hold no '\n' */
    size_t max_line; /* bytes before the '\n' */
    bool discarding; /* inside an oversized line already reported: drop up to its '\n' */
};

struct proto_framer *proto_framer_new(size_t max_line)
{
    struct proto_framer *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->max_line = max_line != 0 ? max_line : PROTO_DEFAULT_MAX_LINE;
    return f;
}

void proto_framer_free(struct proto_framer *f)
{
    if (f == NULL)
        return;
    free(f->buf);
    free(f);
}

/* Make room for n more bytes after end: slide the unread bytes to the front, then grow. */
static int reserve(struct proto_framer *f, size_t n)
{
    if (f->end + n <= f->cap)
        return 0;
    if (f->start > 0) {
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
        if (f->end + n <= f->cap)
            return 0;
    }
    size_t cap = f->cap != 0 ? f->cap : 4096;
    while (cap < f->end + n + 1)
        cap *= 2;
    char *nb = realloc(f->buf, cap);
    if (nb == NULL)
        return -ENOMEM;
    f->buf = nb;
    f->cap = cap;
    return 0;
}

int proto_framer_feed(struct proto_framer *f, const void *data, size_t len)
{
    const char *p = data;

    if (f->discarding) {
        const char *nl = memchr(p, '\n', len);

        if (nl == NULL)
            return 0;
        f->discarding = false;
        len -= (size_t)(nl + 1 - p);
        p = nl + 1;
    }
    if (len == 0)
        return 0;
    /* One spare byte so a line can always be NUL-terminated in place. */
    if (reserve(f, len + 1) < 0)
        return -ENOMEM;
    memcpy(f->buf + f->end, p, len);
    f->end += len;
    return 0;
}

enum proto_frame proto_framer_next(struct proto_framer *f, const char **line, size_t *len)
{
    size_t avail = f->end - f->start;
    char *base;
    char *nl;

    if (avail == 0)
        return PROTO_FRAME_NONE;
    base = f->buf + f->start; /* only now: before the first feed buf is NULL (UB even + 0) */
    nl = memchr(base + f->scanned, '\n', avail - f->scanned);
    if (nl == NULL) {
        if (avail <= f->max_line) {
            f->scanned = avail;
            return PROTO_FRAME_NONE;
        }
        /* Report now rather than when the newline finally comes, so a peer that never sends
         * one still gets its answer; the rest of the line is dropped in feed(). */
        f->start = f->end = f->scanned = 0;
        f->discarding = true;
        return PROTO_FRAME_TOO_LARGE;
    }

    size_t n = (size_t)(nl - base);
    f->start += n + 1;
    f->scanned = 0;
    if (f->start == f->end)
        f->start = f->end = 0; /* the line's bytes stay in place until the next feed */
    if (n > f->max_line)
        return PROTO_FRAME_TOO_LARGE;
    if (n > 0 && base[n - 1] == '\r')
        n--;
    base[n] = '\0';
    *line = base;
    *len = n;
    return PROTO_FRAME_LINE;
}

size_t proto_framer_pending(const struct proto_framer *f)
{
    return f->end - f->start;
}
