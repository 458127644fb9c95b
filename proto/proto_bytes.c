/* proto_bytes.c: byte strings on the wire (WASI stdin, stdout, stderr): JSON text when they are
 * UTF-8, base64 otherwise. */
#include "config.h"

#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *base64_json(const uint8_t *p, size_t len)
{
    size_t olen = (len + 2) / 3 * 4;
    char *s = malloc(olen + 1), *o = s;
    json_t *j;

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64[v & 63] : '=';
    }
    *o = '\0';
    j = json_pack("{s:s#}", "base64", s, olen);
    free(s);
    return j;
}

json_t *proto_bytes_to_json(const void *data, size_t len)
{
    /* json_stringn validates UTF-8 and keeps NUL bytes, so any text survives as text. */
    json_t *j = json_stringn(len > 0 ? data : "", len);

    if (j != NULL)
        return j;
    return base64_json(data, len);
}

static int b64_value(char c)
{
    const char *p = c != '\0' ? strchr(b64, c) : NULL;

    return p != NULL ? (int)(p - b64) : -1;
}

/* Strict RFC 4648 decoding: padded to a multiple of 4, no whitespace. */
static int base64_decode(const char *s, size_t slen, uint8_t **out, size_t *len)
{
    uint8_t *buf, *o;

    if (slen % 4 != 0)
        return -EINVAL;
    buf = malloc(slen / 4 * 3 + 1);
    if (buf == NULL)
        return -ENOMEM;
    o = buf;
    for (size_t i = 0; i < slen; i += 4) {
        int a = b64_value(s[i]), b = b64_value(s[i + 1]);
        int c = s[i + 2] == '=' ? -2 : b64_value(s[i + 2]);
        int d = s[i + 3] == '=' ? -2 : b64_value(s[i + 3]);
        bool last = i + 4 == slen;

        if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) ||
            ((c == -2 || d == -2) && !last))
            goto fail;
        *o++ = (uint8_t)(a << 2 | b >> 4);
        if (c >= 0)
            *o++ = (uint8_t)(b << 4 | c >> 2);
        if (d >= 0)
            *o++ = (uint8_t)(c << 6 | d);
    }
    *out = buf;
    *len = (size_t)(o - buf);
    return 0;
fail:
    free(buf);
    return -EINVAL;
}

int proto_bytes_from_json(const json_t *j, uint8_t **out, size_t *len)
{
    const json_t *b;

    *out = NULL;
    *len = 0;
    if (json_is_string(j)) {
        size_t n = json_string_length(j);
        uint8_t *buf = malloc(n + 1);

        if (buf == NULL)
            return -ENOMEM;
        memcpy(buf, json_string_value(j), n + 1);
        *out = buf;
        *len = n;
        return 0;
    }
    b = json_object_get(j, "base64");
    if (!json_is_object(j) || !json_is_string(b))
        return -EINVAL;
    return base64_decode(json_string_value(b), json_string_length(b), out, len);
}
