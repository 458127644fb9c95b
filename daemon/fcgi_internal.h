/* fcgi_internal.h: what fcgi.c (FastCGI connections on the loop thread) and fcgi_cgi.c (their
 * requests run as CGI programs on the executor threads) share. Private to the daemon. */
#ifndef FCGI_INTERNAL_H
#define FCGI_INTERNAL_H

#include "fcgi.h"

#include "exec_pool.h"
#include "fcgi_wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fcgi_conn;

/* Where a request is: reading its params, reading its body, or handed to the executors (from
 * then on its job owns it, and the loop thread may only abort it). */
enum fcgi_req_state {
    FCGI_REQ_PARAMS,
    FCGI_REQ_STDIN,
    FCGI_REQ_QUEUED,
};

/* One FastCGI request (a FCGI_BEGIN_REQUEST and what followed it). */
struct fcgi_req {
    struct exec_job ej; /* first: the executor hands this pointer back */
    struct fcgi_conn *c;
    uint16_t id;
    bool keep_conn;
    enum fcgi_req_state state;
    unsigned reject;               /* an HTTP status to answer without running (413, 431) */
    size_t mod;                    /* the module pool it runs in */
    size_t script_len;             /* bytes of SCRIPT_NAME that name the handler (routing) */
    bool unlimited;                /* it holds one of max_unlimited_runs until its run ends */
    bool aborted;                  /* c->mu: FCGI_ABORT_REQUEST or the connection closed */
    struct wasmslot_exec *running; /* c->mu: set while guest code runs, to interrupt it */
    uint8_t *params;               /* FCGI_PARAMS content, concatenated */
    size_t plen, pcap;
    uint8_t *body; /* FCGI_STDIN content, concatenated */
    size_t blen, bcap;
    struct fcgi_req *prev, *next; /* c->mu: the connection's requests */
};

struct fcgi_conn {
    struct worker *w;
    const struct cfg_listen *l;
    int fd;
    struct event *rev, *wev, *idle_ev;
    atomic_int refs; /* the loop thread's, plus one per queued request */
    struct exec_queue q; /* its requests waiting for an executor (served round-robin) */
    uint8_t *in;     /* loop thread: received bytes not yet parsed into records */
    size_t in_len;

    pthread_mutex_t mu; /* guards everything below */
    struct evbuffer *out;
    bool closed;
    bool read_paused;        /* replies pile up unread: no records are read meanwhile */
    bool close_when_flushed; /* a request without FCGI_KEEP_CONN was answered */
    bool retiring;           /* the worker retires: close once no request is left */
    bool read_eof;           /* the front end shut its sending side: the same */
    unsigned nreqs;          /* requests on the list */
    uint64_t last_active_ns; /* bytes read or written, or a request finished */
    struct fcgi_req *reqs;

    struct fcgi_conn *prev, *next; /* the server's list (loop thread) */
};

/* ---------------------------------------------------------------- fcgi.c */

/* Queue bytes (whole records) for c's peer (any thread): straight to the socket when nothing
 * waits, the rest later from the loop thread. end_conn: the peer did not ask to keep the
 * connection, close it once everything is out. */
void fcgi__send(struct fcgi_conn *c, const uint8_t *bytes, size_t len, bool end_conn);

/* Send r's last records (any thread), ending with its FCGI_END_REQUEST, and take r off its
 * connection's list at the same time: the front end may reuse the id at once. Closes the
 * connection afterwards when r did not ask to keep it. */
void fcgi__send_final(struct fcgi_req *r, const uint8_t *bytes, size_t len);

/* Drop one reference to c (any thread); the last one frees it. */
void fcgi__unref(struct fcgi_conn *c);

/* The value of parameter name in r's params, or NULL; *len gets its length. */
const uint8_t *fcgi__param(const struct fcgi_req *r, const char *name, size_t *len);

/* Free a request no list holds any more. */
void fcgi__req_free(struct fcgi_req *r);

/* ---------------------------------------------------------------- fcgi_cgi.c */

/* Answer r with a short error page of HTTP status (any thread), then FCGI_END_REQUEST; r
 * leaves its connection's list (fcgi__send_final). */
void fcgi__reply_status(struct fcgi_req *r, unsigned status);

/* The executor's run hook of a request: run its module as a CGI program, stream the
 * response back (which unlists the request) and free the request. */
void fcgi__job_run(struct exec_job *ej, struct wasmslot_exec *ex);

#endif
