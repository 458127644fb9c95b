/* fcgi_wire.c: FastCGI 1.0 records and name-value pairs, and the check of a CGI response's header
 * section: pure functions over byte buffers. */
#include "config.h"

#include "fcgi_wire.h"

#include <string.h>
#include <strings.h>

long fcgi_record_parse(const uint8_t *buf, size_t len, struct fcgi_record *rec)
{
    size_t clen, total;

    if (len < FCGI_HEADER_LEN)
        return 0;
    if (buf[0] != FCGI_VERSION_1)
        return -1;
    clen = (size_t)buf[4] << 8 | buf[5];
    total = FCGI_HEADER_LEN + clen + buf[6];
    if (len < total)
        return 0;
    rec->type = buf[1];
    rec->id = (uint16_t)(buf[2] << 8 | buf[3]);
    rec->len = (uint16_t)clen;
    rec->content = buf + FCGI_HEADER_LEN;
    return (long)total;
}

void fcgi_header_put(uint8_t *out, enum fcgi_type type, uint16_t id, uint16_t clen, uint8_t plen)
{
    out[0] = FCGI_VERSION_1;
    out[1] = (uint8_t)type;
    out[2] = (uint8_t)(id >> 8);
    out[3] = (uint8_t)id;
    out[4] = (uint8_t)(clen >> 8);
    out[5] = (uint8_t)clen;
    out[6] = plen;
    out[7] = 0;
}

size_t fcgi_stream_size(size_t n)
{
    return n + (n + FCGI_MAX_CONTENT - 1) / FCGI_MAX_CONTENT * FCGI_HEADER_LEN;
}

size_t fcgi_stream_put(uint8_t *out, enum fcgi_type type, uint16_t id, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t w = 0;

    while (n > 0) {
        uint16_t chunk = (uint16_t)(n < FCGI_MAX_CONTENT ? n : FCGI_MAX_CONTENT);
        fcgi_header_put(out + w, type, id, chunk, 0);
        memcpy(out + w + FCGI_HEADER_LEN, p, chunk);
        w += FCGI_HEADER_LEN + chunk;
        p += chunk;
        n -= chunk;
    }
    return w;
}

void fcgi_end_request_put(uint8_t *out, uint16_t id, uint32_t app_status,
                          enum fcgi_protocol_status ps)
{
    fcgi_header_put(out, FCGI_END_REQUEST, id, 8, 0);
    out[8] = (uint8_t)(app_status >> 24);
    out[9] = (uint8_t)(app_status >> 16);
    out[10] = (uint8_t)(app_status >> 8);
    out[11] = (uint8_t)app_status;
    out[12] = (uint8_t)ps;
    memset(out + 13, 0, 3);
}

/* A length of a name-value pair: one byte below 128, else four with the top bit set. */
static int nv_len(const uint8_t *p, size_t len, size_t *off, size_t *out)
{
    if (*off >= len)
        return -1;
    if ((p[*off] & 0x80) == 0) {
        *out = p[(*off)++];
        return 0;
    }
    if (len - *off < 4)
        return -1;
    *out = ((size_t)(p[*off] & 0x7f) << 24) | ((size_t)p[*off + 1] << 16) |
           ((size_t)p[*off + 2] << 8) | p[*off + 3];
    *off += 4;
    return 0;
}

int fcgi_nv_next(const uint8_t *p, size_t len, size_t *off, const uint8_t **name, size_t *nlen,
                 const uint8_t **value, size_t *vlen)
{
    size_t o = *off, nl, vl;

    if (o >= len)
        return 0;
    if (nv_len(p, len, &o, &nl) < 0 || nv_len(p, len, &o, &vl) < 0)
        return -1;
    /* Compared by subtraction: nl + vl may be close to 2^32 each. */
    if (nl > len - o || vl > len - o - nl)
        return -1;
    *name = p + o;
    *nlen = nl;
    *value = p + o + nl;
    *vlen = vl;
    *off = o + nl + vl;
    return 1;
}

static size_t nv_len_put(uint8_t *out, size_t n)
{
    if (n < 128) {
        out[0] = (uint8_t)n;
        return 1;
    }
    out[0] = (uint8_t)(0x80 | (n >> 24));
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    return 4;
}

size_t fcgi_nv_put(uint8_t *out, size_t cap, const char *name, size_t nlen, const char *value,
                   size_t vlen)
{
    size_t need = (nlen < 128 ? 1 : 4) + (vlen < 128 ? 1 : 4) + nlen + vlen;
    size_t w;

    if (need > cap)
        return need;
    w = nv_len_put(out, nlen);
    w += nv_len_put(out + w, vlen);
    memcpy(out + w, name, nlen);
    memcpy(out + w + nlen, value, vlen);
    return need;
}

/* RFC 7230's tchar: what a header field name may be made of. */
static bool tchar(uint8_t ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool name_is(const uint8_t *p, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp((const char *)p, want, n) == 0;
}

/* "Status: 404 Not Found": three digits, 100-999, then a space and a reason or nothing. */
static int parse_status(const uint8_t *v, size_t n, unsigned *status)
{
    if (n < 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' || v[2] < '0' || v[2] > '9')
        return -1;
    if (n > 3 && v[3] != ' ')
        return -1;
    *status = (unsigned)(v[0] - '0') * 100 + (unsigned)(v[1] - '0') * 10 + (unsigned)(v[2] - '0');
    return 0;
}

int cgi_response_parse(const uint8_t *out, size_t len, struct cgi_response *r, const char **why)
{
    size_t pos = 0;
    bool has_status = false;

    memset(r, 0, sizeof(*r));
    r->status = 200;
    if (len == 0) {
        *why = "no output";
        return -1;
    }
    for (;;) {
        const uint8_t *line = out + pos, *nl = memchr(line, '\n', len - pos);
        size_t n, name_end, v;

        if (nl == NULL) {
            *why = "no blank line after the headers";
            return -1;
        }
        n = (size_t)(nl - line);
        pos += n + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* the blank line */
        for (name_end = 0; name_end < n && tchar(line[name_end]); name_end++)
            ;
        if (name_end == 0 || name_end == n || line[name_end] != ':') {
            *why = "a header line is not 'Name: value'";
            return -1;
        }
        for (size_t i = name_end + 1; i < n; i++) {
            if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f) {
                *why = "a control character in a header value";
                return -1;
            }
        }
        v = name_end + 1;
        while (v < n && (line[v] == ' ' || line[v] == '\t'))
            v++;
        if (name_is(line, name_end, "Status")) {
            if (has_status || parse_status(line + v, n - v, &r->status) < 0) {
                *why = "a malformed or repeated Status header";
                return -1;
            }
            has_status = true;
        } else if (name_is(line, name_end, "Content-Type")) {
            r->has_type = true;
        } else if (name_is(line, name_end, "Location")) {
            r->has_location = true;
        }
        r->nheaders++;
    }
    if (!has_status && !r->has_type && !r->has_location) {
        *why = "no Content-Type, Location or Status header";
        return -1;
    }
    if (r->has_location && !has_status)
        r->status = 302;
    r->header_len = pos;
    return 0;
}
