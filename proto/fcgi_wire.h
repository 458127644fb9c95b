/* fcgi_wire.h: the FastCGI 1.0 wire format (records, name-value pairs) and the header section of a
 * CGI response (RFC 3875 section 6), parsed and written without any I/O, so that the daemon and
 * the fuzz harness use the very same code. */
#ifndef FCGI_WIRE_H
#define FCGI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FCGI_VERSION_1   1
#define FCGI_HEADER_LEN  8
#define FCGI_MAX_CONTENT 65535u
/* The longest record: header, the largest content and the largest padding. */
#define FCGI_MAX_RECORD (FCGI_HEADER_LEN + FCGI_MAX_CONTENT + 255u)

/* Record types. */
enum fcgi_type {
    FCGI_BEGIN_REQUEST = 1,
    FCGI_ABORT_REQUEST = 2,
    FCGI_END_REQUEST = 3,
    FCGI_PARAMS = 4,
    FCGI_STDIN = 5,
    FCGI_STDOUT = 6,
    FCGI_STDERR = 7,
    FCGI_DATA = 8,
    FCGI_GET_VALUES = 9,
    FCGI_GET_VALUES_RESULT = 10,
    FCGI_UNKNOWN_TYPE = 11,
};

/* Roles of FCGI_BEGIN_REQUEST, and its one flag. */
#define FCGI_RESPONDER  1
#define FCGI_AUTHORIZER 2
#define FCGI_FILTER     3
#define FCGI_KEEP_CONN  1

/* protocolStatus of FCGI_END_REQUEST. */
enum fcgi_protocol_status {
    FCGI_REQUEST_COMPLETE = 0,
    FCGI_CANT_MPX_CONN = 1,
    FCGI_OVERLOADED = 2,
    FCGI_UNKNOWN_ROLE = 3,
};

/* One record as received; content points into the caller's buffer. */
struct fcgi_record {
    uint8_t type;
    uint16_t id; /* 0: a management record */
    uint16_t len;
    const uint8_t *content;
};

/* Read the record at the start of buf[0..len). Returns the bytes it takes (header, content and
 * padding) with *rec filled, 0 when buf holds only part of it, or -1 when it is not a FastCGI
 * 1.0 record (a wrong version byte: the stream cannot be resynchronised). */
long fcgi_record_parse(const uint8_t *buf, size_t len, struct fcgi_record *rec);

/* Write a record header for clen content bytes and plen padding bytes into out[0..8). */
void fcgi_header_put(uint8_t *out, enum fcgi_type type, uint16_t id, uint16_t clen, uint8_t plen);

/* The bytes fcgi_stream_put writes for n bytes of a stream (its records, without the empty
 * record that ends the stream). */
size_t fcgi_stream_size(size_t n);

/* Write n bytes of stream type (FCGI_STDOUT, FCGI_STDERR) for request id as records of at most
 * FCGI_MAX_CONTENT bytes into out, which has room for fcgi_stream_size(n). Returns the bytes
 * written. */
size_t fcgi_stream_put(uint8_t *out, enum fcgi_type type, uint16_t id, const void *data, size_t n);

/* Write an FCGI_END_REQUEST record (16 bytes) into out. */
void fcgi_end_request_put(uint8_t *out, uint16_t id, uint32_t app_status,
                          enum fcgi_protocol_status ps);

/* Decode the name-value pair at p[*off..len) (FCGI_PARAMS, FCGI_GET_VALUES). Returns 1 with the
 * pair in name/nlen, value/vlen and *off moved past it, 0 at the end of the content, -1 when
 * the pair is malformed (a length that runs past the end). */
int fcgi_nv_next(const uint8_t *p, size_t len, size_t *off, const uint8_t **name, size_t *nlen,
                 const uint8_t **value, size_t *vlen);

/* Write a name-value pair into out[0..cap). Returns the bytes it takes (written only when they
 * fit in cap). */
size_t fcgi_nv_put(uint8_t *out, size_t cap, const char *name, size_t nlen, const char *value,
                   size_t vlen);

/* What the header section of a CGI response says. */
struct cgi_response {
    unsigned status;    /* from "Status:", or 302 for a Location without one, else 200 */
    size_t header_len;  /* bytes of the header section, blank line included */
    bool has_type;      /* a Content-Type header */
    bool has_location;  /* a Location header */
    unsigned nheaders;  /* header fields */
};

/* Check that out[0..len) is a CGI response: header fields "Name: value" (a token, a colon,
 * printable text) each ending in LF or CRLF, at least one of Content-Type, Location or Status,
 * then an empty line, then the body. Returns 0 with *r filled, or -1 with a reason (for the
 * log, never for the client) in *why. */
int cgi_response_parse(const uint8_t *out, size_t len, struct cgi_response *r, const char **why);

#endif
