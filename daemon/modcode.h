/* modcode.h: the compiled code of a config's modules, built in the master before fork: read,
 * decoded, validated, compiled by the pool's engine and imaged, on as many threads as the
 * master may use; shared with the serving generation when a file did not change. */
#ifndef MODCODE_H
#define MODCODE_H

#include "cfg.h"
#include "wasmslot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One module's code. The master alone counts its references (workers only read it). */
struct modcode {
    unsigned refs;
    char *path;                     /* the file it was read from */
    enum wasmslot_engine asked;     /* the section's engine; the module may have fallen back */
    uint64_t load_ns;               /* read, decode, validate, compile (or load from the code
                                       cache), image: what the master spent on it */
    struct wasmslot_module *module; /* immutable, shared by every worker after fork */
    struct wasmslot_image *image;   /* its memory image (sealed memfd), shared the same way */
};

/* How one section got its code. */
enum modcode_origin {
    MODCODE_BUILT,  /* compiled for this load */
    MODCODE_KEPT,   /* the previous generation's: same file, same bytes, same engine */
    MODCODE_SHARED, /* an earlier section of this config names the same file and engine */
};

/* The code of every module of cfg: out[i] and origin[i] for cfg->modules[i]. prev (nprev
 * codes, the serving generation's; may be NULL) are taken over where unchanged. Modules to
 * compile are compiled in parallel. Returns 0, or -1 with the first failure in config order
 * in err as `file:line: module 'name': reason` (nothing is then held). */
int modcode_load(const struct config *cfg, struct modcode *const *prev, size_t nprev,
                 struct modcode **out, enum modcode_origin *origin, char *err, size_t errlen);

/* Drop one reference. Accepts NULL. */
void modcode_put(struct modcode *code);

/* One line on how the master got the code, for -t and the log: "engine native, loaded in
 * 12.3 ms (compile 12.1 ms, code cache stored)", "engine interp (native asked, fell back:
 * ...)", "unchanged, kept its compiled code (engine native)". */
void modcode_describe(const struct modcode *code, enum modcode_origin origin, char *buf,
                      size_t len);

#endif
