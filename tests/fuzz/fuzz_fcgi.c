/* fuzz_fcgi.c: the libFuzzer entry point for the FastCGI reader (proto/fcgi_wire.c): records,
 * name-value pairs and CGI response headers from arbitrary bytes, with round trips through
 * the writers. */
#include "config.h"

#include "fcgi_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash, so the fuzzer and the replay both report it. */
#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_fcgi: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Every pair must lie inside the content, and writing it back must read back the same. */
static void pairs(const uint8_t *p, size_t len)
{
    size_t off = 0, nl, vl;
    const uint8_t *n, *v;
    int rc;

    while ((rc = fcgi_nv_next(p, len, &off, &n, &nl, &v, &vl)) == 1) {
        uint8_t *buf;
        size_t need = fcgi_nv_put(NULL, 0, (const char *)n, nl, (const char *)v, vl), o2 = 0;
        const uint8_t *n2, *v2;
        size_t nl2, vl2;

        MUST(n >= p && n + nl <= p + len && v >= n + nl && v + vl <= p + len);
        MUST(off <= len);
        buf = malloc(need);
        MUST(buf != NULL);
        MUST(fcgi_nv_put(buf, need, (const char *)n, nl, (const char *)v, vl) == need);
        MUST(fcgi_nv_next(buf, need, &o2, &n2, &nl2, &v2, &vl2) == 1 && o2 == need);
        MUST(nl2 == nl && vl2 == vl && memcmp(n2, n, nl) == 0 && memcmp(v2, v, vl) == 0);
        free(buf);
    }
    MUST(rc == 0 || rc == -1);
}

static void response(const uint8_t *p, size_t len)
{
    struct cgi_response r;
    const char *why = NULL;

    if (cgi_response_parse(p, len, &r, &why) == 0) {
        MUST(r.header_len <= len && r.status >= 100 && r.status <= 999);
        MUST(r.header_len >= 1 && p[r.header_len - 1] == '\n');
    } else {
        MUST(why != NULL);
    }
}

/* The input written as a stream of records must parse back into the same bytes. */
static void stream_round_trip(const uint8_t *data, size_t size)
{
    size_t cap = fcgi_stream_size(size), pos = 0, got = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    struct fcgi_record rec;
    long n;

    MUST(buf != NULL);
    MUST(fcgi_stream_put(buf, FCGI_STDOUT, 7, data, size) == cap);
    while ((n = fcgi_record_parse(buf + pos, cap - pos, &rec)) > 0) {
        MUST(rec.type == FCGI_STDOUT && rec.id == 7 && rec.len > 0);
        MUST(memcmp(rec.content, data + got, rec.len) == 0);
        got += rec.len;
        pos += (size_t)n;
    }
    MUST(n == 0 && pos == cap && got == size);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fcgi_record rec;
    size_t pos = 0;
    long n;

    while ((n = fcgi_record_parse(data + pos, size - pos, &rec)) > 0) {
        MUST((size_t)n <= size - pos && (size_t)n >= FCGI_HEADER_LEN + (size_t)rec.len);
        MUST(rec.content == data + pos + FCGI_HEADER_LEN);
        if (rec.type == FCGI_PARAMS || rec.type == FCGI_GET_VALUES)
            pairs(rec.content, rec.len);
        if (rec.type == FCGI_STDOUT)
            response(rec.content, rec.len);
        pos += (size_t)n;
    }
    MUST(n == 0 || n == -1);
    /* The whole input as one parameter block and as a program's output. */
    pairs(data, size);
    response(data, size);
    if (size <= 256 * 1024)
        stream_round_trip(data, size);
    return 0;
}
