/* wasirun.h: WASI commands in the daemon: runs of `_start` with a request's argv, env and stdin,
 * output captured for the reply. (A module's import list is built by shm_imports, shm.h.) */
#ifndef WASIRUN_H
#define WASIRUN_H

#include "cfg.h"
#include "proto.h"
#include "wasmslot.h"

/* The calling thread's WASI state for module index mod (of nmods), made on first use with
 * the module's options; reset for a new run. NULL when it cannot be made. */
struct wasmslot_wasi *wasirun_state(size_t mod, size_t nmods, const struct cfg_module *cm);

/* Add what the guest wrote to stdout and stderr in w's current run to reply: "stdout" and
 * "stderr", and "stdout_truncated" / "stderr_truncated" when a stream reached its cap
 * (PROTOCOL.md, WASI). A NULL reply is left alone. */
void wasirun_add_output(json_t *reply, struct wasmslot_wasi *w);

/* Run `_start` of inst (module m, config cm, index mod of nmods) on ex as a WASI command with
 * req's argv/env/stdin. Returns the reply (new reference) and its error code in *code; *rc
 * gets wasmslot_wasi_run's result (a trap code to count, or 0). The common reply (the program
 * ended, short plain-text output) is rendered into fast[0, fast_cap) instead, without a json_t:
 * then NULL is returned and *fast_len is its length (0 otherwise). */
json_t *wasirun_start(const struct proto_request *req, size_t mod, size_t nmods,
                      const struct cfg_module *cm, const struct wasmslot_module *m,
                      struct wasmslot_instance *inst, struct wasmslot_exec *ex,
                      enum proto_err *code, int *rc, char *fast, size_t fast_cap,
                      size_t *fast_len);

#endif
