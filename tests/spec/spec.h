/* spec.h: the parts of the spec-test runner (tests/spec) that its files share: the report
 * channel from a script run back to the driver, value parsing and the spectest host module. */
#ifndef SPEC_H
#define SPEC_H

#include "wasmslot.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- report channel */

/*
 * A script runs in a forked child; it tells the driver what happens through a pipe, one
 * record per line, written with one write() each so nothing is lost when the child crashes:
 *   "T <n>"            the script has n counted commands (everything but register)
 *   "C <line> <type>"  a command starts (names the culprit if the child dies inside it)
 *   "P" / "S"          the command passed / was skipped
 *   "F <text>"         the command failed, text says where and why
 *   "E <text>"         a failure outside any command (e.g. cleaning up), counted as one more
 *   "V <text>"         extra detail, printed only with -v
 *   "N <text>"         a module runs on another engine than the one asked for (the tier's
 *                      fallback), text says which and why
 */
struct spec_report {
    int fd;       /* write end of the pipe (or stdout with --no-fork) */
    bool verbose; /* send "V" records too */
};

/* Send one record: kind is one of 'T', 'C', 'P', 'S', 'F', 'E', 'V', 'N'; the text may be empty.
 * Newlines in the text are replaced so one record stays one line. */
void spec_report_send(const struct spec_report *r, char kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- values */

/* How an expected result is compared. */
enum spec_match {
    SPEC_MATCH_EXACT,          /* same type, same bits (floats by bit pattern) */
    SPEC_MATCH_NAN_CANONICAL,  /* the canonical quiet NaN of either sign */
    SPEC_MATCH_NAN_ARITHMETIC, /* any quiet NaN: the top mantissa bit set */
};

struct spec_expect {
    struct wasmslot_value value; /* type always set; the payload when match is EXACT */
    enum spec_match match;
};

/* Value type named by a JSON "type" string ("i32", "externref", ...); 0 if unknown. */
enum wasmslot_valtype spec_type_parse(const char *name);

/* Parse a JSON argument {"type", "value"} into *out. Returns 0, or -1 with a reason in msg. */
int spec_value_parse(const json_t *j, struct wasmslot_value *out, char *msg, size_t msglen);

/* Parse a JSON expected result (which may be a NaN pattern) into *out. Returns 0 or -1. */
int spec_expect_parse(const json_t *j, struct spec_expect *out, char *msg, size_t msglen);

/* Does the value got (of type `type`, the callee's declared result type) match e? */
bool spec_expect_match(const struct spec_expect *e, enum wasmslot_valtype type,
                       const struct wasmslot_value *got);

/* Readable form of a value of type `type`, e.g. "i32:42" or "f32:0x7fc00000 (nan)". */
void spec_value_format(enum wasmslot_valtype type, const struct wasmslot_value *v, char *buf,
                       size_t len);

/* Readable form of an expectation. */
void spec_expect_format(const struct spec_expect *e, char *buf, size_t len);

/* The externref the JSON host handle h stands for, and back. Handles map to small non-NULL
 * pointers that are never dereferenced. */
void *spec_externref_of_handle(uint64_t h);
uint64_t spec_handle_of_externref(const void *ref);

/* ---------------------------------------------------------------- spectest module */

/* The "spectest" host module every spec script may import from. */
struct spectest;

/* Make the spectest module's functions, globals, table and memories. report (may be NULL)
 * receives the print functions' output as "V" records. Returns NULL and fills err on failure. */
struct spectest *spectest_new(const struct spec_report *report, struct wasmslot_error *err);

/* Free everything spectest_new made. Every instance that imported from it must be gone.
 * Accepts NULL. */
void spectest_free(struct spectest *st);

/* Resolve spectest.<name>: returns 0 and fills *out, or -WASMSLOT_ENOTFOUND. */
int spectest_lookup(const struct spectest *st, const char *name, size_t name_len,
                    struct wasmslot_extern *out);

/* ---------------------------------------------------------------- one script */

struct spec_script_options {
    const char *json_path; /* the wast2json output */
    const char *dir;       /* where its .wasm files are */
    struct spec_report report;
    bool pool; /* give modules with their own memory a pool slot (--pool) */
    enum wasmslot_engine engine; /* the tier that compiles every module (--engine) */
};

/* Run every command of one converted script, reporting through opt->report. Returns 0 when the
 * script could be read (whatever its commands did), -1 when it could not (already reported). */
int spec_script_run(const struct spec_script_options *opt);

#endif
