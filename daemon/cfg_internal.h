/* cfg_internal.h: what the files of the config parser share: the parser's state, its error
 * reporting and value parsers (cfg_value.c), and the parts for each kind of section. Private to
 * cfg*.c; everyone else includes cfg.h. */
#ifndef CFG_INTERNAL_H
#define CFG_INTERNAL_H

#include "cfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which kind of section the parser is in. */
enum cfg__section {
    SEC_NONE,
    SEC_DAEMON,
    SEC_MODULE,
    SEC_SHMEM,
    SEC_LISTEN,
};

/* A directive already set in the current section, to refuse a second one. */
struct cfg__seen {
    char key[48];
    const char *file; /* a string of the parser's files list */
    int line;
};

/* The state of one cfg_load: where it is (file, line, section) and what it has built. */
struct cfg__parser {
    const char *file;
    int line;
    char *err;
    size_t errlen;
    struct config *cfg;
    enum cfg__section sec;
    bool seen_daemon;
    char *dir; /* directory of the file, for relative module paths */
    /* the directives of the current section so far */
    struct cfg__seen *seen;
    size_t nseen;
    /* every file read (an include's names outlive its reading, for the messages of seen) */
    char **files;
    size_t nfiles;
    int depth;
};

/* Errors and values (cfg_value.c). */

/* Record `file:line: message` (or `file: message` when no line is current) in p's error
 * buffer; always returns -1 so callers can `return cfg__perr(...)`. */
int cfg__perr(struct cfg__parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replace the string *dst by a copy of v. Returns 0, or -1 (out of memory, reported). */
int cfg__set_str(struct cfg__parser *p, char **dst, const char *v);

/* An unsigned decimal integer in [min, max]. Returns 0, or -1 with the error reported. */
int cfg__parse_uint(struct cfg__parser *p, const char *key, const char *v, unsigned long long min,
                    unsigned long long max, unsigned long long *out);

/* A size in bytes with an optional K, M or G suffix (powers of 1024; Ki, KB and KiB too), in
 * [min, max]. Returns 0, or -1 with the error reported. */
int cfg__parse_size(struct cfg__parser *p, const char *key, const char *v, unsigned long long min,
                    unsigned long long max, unsigned long long *out);

/* A duration: 0, or a whole number with a unit ms, s or m (min), at most max_ms; stored in
 * milliseconds. Returns 0, or -1 with the error reported. */
int cfg__parse_duration(struct cfg__parser *p, const char *key, const char *v, uint64_t max_ms,
                        uint64_t *out_ms);

/* A section name: 1-64 characters of A-Z a-z 0-9 _ . - */
bool cfg__valid_name(const char *s);

/* The sections. A `_section` function starts a section whose header names it (and sets p->sec);
 * a `_key` function reads one directive k = v of the current section. Each returns 0, or -1
 * with the error reported. */

/* [daemon] (cfg_daemon.c) */
int cfg__daemon_key(struct cfg__parser *p, const char *k, const char *v);

/* [module NAME] (cfg_module.c) */
int cfg__module_section(struct cfg__parser *p, const char *name);
int cfg__module_key(struct cfg__parser *p, const char *k, const char *v);

/* [shmem NAME] (cfg_shmem.c) */
int cfg__shmem_section(struct cfg__parser *p, const char *name);
int cfg__shmem_key(struct cfg__parser *p, const char *k, const char *v);

/* [listen NAME] (cfg_listen.c) */
int cfg__listen_section(struct cfg__parser *p, const char *name);
int cfg__listen_key(struct cfg__parser *p, const char *k, const char *v);
/* The checks of the [listen] sections once the whole file is read (every route names a
 * module, no two sockets alike), with p->line set to what a message is about. */
int cfg__listen_check(struct cfg__parser *p);
/* Free the [listen] sections of c. */
void cfg__listen_free(struct config *c);

/* The cross-section checks and defaults once every line has been read (cfg_check.c). Returns
 * 0, or -1 with the error reported. */
int cfg__check(struct cfg__parser *p);

#endif
