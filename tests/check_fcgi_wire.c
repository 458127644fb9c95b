/* check_fcgi_wire.c: unit tests of the FastCGI record reader and writer and of the CGI
 * response check (proto/fcgi_wire.c), on byte vectors written out by hand from the
 * FastCGI 1.0 specification and RFC 3875. */
#include "config.h"

#include "fcgi_wire.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_record_parse)
{
    /* BEGIN_REQUEST id 0x0102, 8 content bytes, 3 padding bytes, then one more byte. */
    static const uint8_t rec[] = {1, 1, 1, 2, 0, 8, 3, 0, 0, 1, 1, 0, 0, 0, 0, 0, 9, 9, 9, 7};
    struct fcgi_record r;

    ck_assert_int_eq(fcgi_record_parse(rec, sizeof(rec), &r), 19);
    ck_assert_int_eq(r.type, FCGI_BEGIN_REQUEST);
    ck_assert_int_eq(r.id, 0x0102);
    ck_assert_int_eq(r.len, 8);
    ck_assert_ptr_eq(r.content, rec + 8);
    /* Incomplete: the header, the content or the padding is missing. */
    for (size_t n = 0; n < 19; n++)
        ck_assert_int_eq(fcgi_record_parse(rec, n, &r), 0);
    {
        uint8_t bad[sizeof(rec)];
        memcpy(bad, rec, sizeof(rec));
        bad[0] = 2; /* not FastCGI 1.0 */
        ck_assert_int_eq(fcgi_record_parse(bad, sizeof(bad), &r), -1);
    }
}
END_TEST

START_TEST(test_nv_pairs)
{
    /* "A"="" with 1-byte lengths, then a 200-byte name and a 3-byte value (4-byte length). */
    uint8_t buf[512], name[200];
    size_t off = 0, nl, vl, w;
    const uint8_t *n, *v;

    memset(name, 'N', sizeof(name));
    w = fcgi_nv_put(buf, sizeof(buf), "A", 1, "", 0);
    ck_assert_int_eq(w, 3);
    ck_assert_int_eq(buf[0], 1);
    ck_assert_int_eq(buf[1], 0);
    w += fcgi_nv_put(buf + w, sizeof(buf) - w, (const char *)name, sizeof(name), "val", 3);
    ck_assert_int_eq(w, 3 + 4 + 1 + 200 + 3);
    ck_assert_int_eq(buf[3], 0x80);
    ck_assert_int_eq(buf[6], 200);
    ck_assert_int_eq(fcgi_nv_next(buf, w, &off, &n, &nl, &v, &vl), 1);
    ck_assert(nl == 1 && n[0] == 'A' && vl == 0);
    ck_assert_int_eq(fcgi_nv_next(buf, w, &off, &n, &nl, &v, &vl), 1);
    ck_assert(nl == 200 && vl == 3 && memcmp(v, "val", 3) == 0);
    ck_assert_int_eq(fcgi_nv_next(buf, w, &off, &n, &nl, &v, &vl), 0);
    /* Too small a buffer: the size needed, nothing written. */
    ck_assert_int_eq(fcgi_nv_put(buf, 2, "A", 1, "", 0), 3);
    /* Lengths running past the end, a 4-byte length cut short. */
    {
        static const uint8_t past[] = {5, 1, 'a', 'b'};
        static const uint8_t cut[] = {0x80, 0};
        static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        off = 0;
        ck_assert_int_eq(fcgi_nv_next(past, sizeof(past), &off, &n, &nl, &v, &vl), -1);
        off = 0;
        ck_assert_int_eq(fcgi_nv_next(cut, sizeof(cut), &off, &n, &nl, &v, &vl), -1);
        off = 0;
        ck_assert_int_eq(fcgi_nv_next(huge, sizeof(huge), &off, &n, &nl, &v, &vl), -1);
    }
}
END_TEST

START_TEST(test_stream_and_end)
{
    size_t n = 65535 + 10, cap = fcgi_stream_size(n);
    uint8_t *data = malloc(n), *out = malloc(cap), end[16];
    struct fcgi_record r;
    long used;

    ck_assert_int_eq(cap, n + 16); /* two records */
    memset(data, 'x', n);
    ck_assert_int_eq(fcgi_stream_put(out, FCGI_STDOUT, 3, data, n), cap);
    used = fcgi_record_parse(out, cap, &r);
    ck_assert_int_eq(used, 8 + 65535);
    ck_assert(r.type == FCGI_STDOUT && r.id == 3 && r.len == 65535);
    ck_assert_int_eq(fcgi_record_parse(out + used, cap - (size_t)used, &r), 18);
    ck_assert_int_eq(r.len, 10);
    ck_assert_int_eq(fcgi_stream_size(0), 0);
    fcgi_end_request_put(end, 3, 0x01020304, FCGI_OVERLOADED);
    ck_assert_int_eq(fcgi_record_parse(end, sizeof(end), &r), 16);
    ck_assert(r.type == FCGI_END_REQUEST && r.len == 8);
    ck_assert(r.content[0] == 1 && r.content[3] == 4 && r.content[4] == FCGI_OVERLOADED);
    free(data);
    free(out);
}
END_TEST

/* cgi_response_parse on a C string. */
static int cgi(const char *s, struct cgi_response *r, const char **why)
{
    return cgi_response_parse((const uint8_t *)s, strlen(s), r, why);
}

START_TEST(test_cgi_response)
{
    struct cgi_response r;
    const char *why = NULL;

    ck_assert_int_eq(cgi("Content-Type: text/plain\r\n\r\nbody", &r, &why), 0);
    ck_assert(r.status == 200 && r.has_type && r.header_len == 28 && r.nheaders == 1);
    ck_assert_int_eq(cgi("Status: 404 Not Found\nContent-Type: a/b\n\n", &r, &why), 0);
    ck_assert_int_eq(r.status, 404);
    ck_assert_int_eq(cgi("Location: /elsewhere\n\n", &r, &why), 0);
    ck_assert(r.status == 302 && r.has_location);
    ck_assert_int_eq(cgi("status:201\nX-Y: z\n\n", &r, &why), 0);
    ck_assert_int_eq(r.status, 201);
    /* Not a CGI response. */
    static const char *const bad[] = {
        "",                                         /* no output at all */
        "hello world\n",                            /* no header */
        "Content-Type: text/plain\r\nbody",         /* no blank line */
        "X-Only: yes\n\n",                          /* neither type, location nor status */
        "Status: 99\n\n",                           /* not three digits */
        "Status: 2000\n\n",                         /* four */
        "Status: 200 OK\nStatus: 404\n\n",          /* twice */
        "Bad Name: x\nContent-Type: a\n\n",         /* a space in the name */
        ": no name\n\n",                            /* no name */
        "Content-Type: a\x01" "b\n\n",              /* a control character */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        ck_assert_msg(cgi(bad[i], &r, &why) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

static Suite *fcgi_suite(void)
{
    Suite *s = suite_create("fcgi_wire");
    TCase *tc = tcase_create("records");

    tcase_add_test(tc, test_record_parse);
    tcase_add_test(tc, test_nv_pairs);
    tcase_add_test(tc, test_stream_and_end);
    suite_add_tcase(s, tc);
    tc = tcase_create("cgi");
    tcase_add_test(tc, test_cgi_response);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fcgi_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
