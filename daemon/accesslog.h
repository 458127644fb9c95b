/* accesslog.h: what the daemon records of each request: the access log (one line per request),
 * the slow log, and traps, timeouts and pool exhaustion in the error log, rate limited. */
#ifndef ACCESSLOG_H
#define ACCESSLOG_H

#include "cfg.h"
#include "proto.h"

#include <stdbool.h>
#include <sys/types.h>

/* In the master: open the access log at path (NULL: none, closing one that was open), owned by
 * owner when not -1 (log_open_file). The workers forked afterwards inherit it. Returns 0 or
 * -errno (the old file stays). */
int accesslog_open(const char *path, uid_t owner);

/* Reopen the access log file at its path under the same descriptor (SIGUSR1). 0 or -errno. */
int accesslog_reopen(void);

/* Close the access log (the master at exit). */
void accesslog_close(void);

/* In a worker, before it serves: the thresholds and names of cfg (which must outlive it). */
void accesslog_init(const struct config *cfg);

/* The request records, one per thread: a request is begun where it is handled (the loop
 * thread, or an executor thread for a job) and ended there; what happens in between on the
 * same thread (the reply's code, a trap, whether the slot was warm) is noted on it. */

/* Begin the record of a request of connection fd (peer credentials come from it): op and
 * names from req (module may be NULL: then req->module is used). parsed: req is valid. */
void accesslog_begin(int fd, const struct proto_request *req, bool parsed, const char *module);

/* The request is handed to an executor thread, which begins its own record: forget this one. */
void accesslog_handoff(void);

/* Note the error code of the reply being sent (the first one counts). */
void accesslog_note_code(enum proto_err code);

/* Note the library's code of a failed run (a trap kind names the result). */
void accesslog_note_wasm(int rc);

/* Note whether the slot the instance got was warm (held the module's image already). */
void accesslog_note_warm(bool warm);

/* End the record: write the access log line, the slow log line, and the error log line of a
 * trap, timeout or exhausted pool (rate limited). A no-op when nothing was begun. */
void accesslog_end(void);

#endif
