/* cfg.h: the one parser and validator of wasmslotd.conf, shared by the daemon and `-t`. */
#ifndef CFG_H
#define CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cfg_log.h"
#include "wasmslot.h"

/* One `[shmem NAME]` section: a shared memory made by the master before fork and imported by
 * the modules that bind it (see cfg_import). */
struct cfg_shmem {
    char *name;   /* [A-Za-z0-9_.-]{1,64}, unique among the [shmem] sections */
    uint64_t min; /* bytes, a multiple of 64 KiB (default 64K) */
    uint64_t max; /* bytes, a multiple of 64 KiB, >= min, <= 4G; required */
    int line;     /* line of the section header, for messages */
};

/* One `import = MODULE.NAME shmem:SHMEM` directive of a [module] section: the module's memory
 * import MODULE.NAME is given the shared memory of section [shmem SHMEM]. */
struct cfg_import {
    char *module; /* the import's module name (no '.', no blanks) */
    char *name;   /* the import's field name */
    char *shmem;  /* name of a [shmem] section (checked once the whole file is read) */
    int line;
};

/* One `[module NAME]` section: a pool of slots for one compiled module. */
struct cfg_module {
    char *name;              /* [A-Za-z0-9_.-]{1,64}, unique in the file */
    char *path;              /* absolute path of the .wasm (relative paths are resolved
                                against the config file's directory) */
    uint32_t slots;          /* slots in the pool of each worker */
    uint64_t max_memory;     /* bytes, a multiple of 64 KiB (default 256 MiB); 0 = the
                                module's own maximum */
    uint64_t deadline_ms;    /* default run deadline; 0 = none */
    size_t max_request_size; /* longest request line naming this module */
    char *wasi_dir;          /* WASI commands: a directory granted read-only, or NULL */
    size_t wasi_output_max;  /* WASI commands: bytes of stdout and of stderr kept */
    int line;                /* line of the section header, for messages */
    /* `import =` directives, in file order */
    struct cfg_import *imports;
    size_t nimports;
    /* entries of each table an instance defines (its own maximum still applies) */
    uint32_t max_table_elements;
    /* instances of this pool one connection may hold; 0 = only the daemon's limit */
    unsigned max_instances_per_connection;
    /* how long an instantiation waits for a free slot before pool_exhausted; 0 = not at all */
    uint64_t pool_wait_ms;
    /* bytes of guest stack a run may use (value cells; calls at WASMSLOT_CALL_BYTES each) */
    size_t stack_size;
    /* unknown_imports = trap: a function import nothing provides links to a function that
     * traps unlinked_import when called; false (reject, the default): the module fails to load */
    bool unknown_imports_trap;
    enum wasmslot_reset_mode reset; /* how a released slot drops what its instance wrote */
    size_t reset_keep_max;          /* bytes of written pages a free slot keeps resident */
    enum wasmslot_engine engine;    /* the tier that runs its code (default: native if built) */
};

/* A `route = PREFIX MODULE` directive of a [listen] section: requests whose SCRIPT_NAME is
 * PREFIX or starts with PREFIX followed by '/' run module MODULE. */
struct cfg_route {
    char *prefix; /* starts with '/', no trailing '/' unless it is "/" */
    char *module; /* a [module] section (checked once the whole file is read) */
    int line;
};

/* One `[listen NAME]` section: a FastCGI socket whose requests run WASI programs as CGI
 * handlers (daemon/fcgi.c). Exactly one of socket_path and tcp_host is set. */
struct cfg_listen {
    char *name;        /* [A-Za-z0-9_.-]{1,64}, unique among the [listen] sections */
    char *socket_path; /* a Unix socket, or NULL */
    mode_t socket_mode;
    char *tcp_host;    /* a numeric IPv4 or IPv6 address (127.0.0.1 unless configured), or NULL */
    uint16_t tcp_port;
    bool script_name;  /* no route matches: SCRIPT_NAME's first segment names the module */
    struct cfg_route *routes; /* in file order; the longest matching prefix wins */
    size_t nroutes;
    int line;
};

/* The whole file, fully validated. The parser is cfg.c and a file per kind of section
 * (cfg_daemon.c, cfg_module.c, cfg_shmem.c, cfg_listen.c), with cfg_value.c's value parsers and
 * cfg_check.c's checks across sections (cfg_internal.h). */
struct config {
    char *file; /* the path it was read from */

    /* [daemon] */
    char *socket_path;
    bool socket_owner_set, socket_group_set;
    uid_t socket_uid;
    gid_t socket_gid;
    mode_t socket_mode;
    unsigned workers;
    unsigned executor_threads;
    enum cfg_log_target log_target;
    char *log_file; /* CFG_LOG_FILE only */
    enum cfg_log_level log_level;
    char *pid_file;          /* NULL: none */
    char *http_listen;       /* the HTTP endpoint's address (http.h); NULL: none */
    size_t max_request_size; /* longest request line, any module */
    unsigned max_instances_per_connection;
    unsigned max_inflight_per_connection;
    uint64_t grace_period_ms;         /* how long retiring workers may finish their connections */
    unsigned max_connections;         /* open connections per worker; more are refused */
    uint64_t idle_timeout_ms;         /* a connection idle this long is closed; 0 = never */
    size_t max_reply_buffer;          /* unsent reply bytes per connection before it is closed */
    unsigned max_connections_per_uid; /* per worker and client uid (SO_PEERCRED); 0 = none */
    uint64_t max_total_memory;        /* per worker: guest memories plus reply buffers */
    unsigned max_unlimited_runs;      /* runs of deadline-0 pools at once, per worker */

    /* Operation: who runs guest code, and the logs of requests. */
    bool user_set, group_set; /* `user`, `group`: the workers' identity (root: see privs.h) */
    char *user_name;          /* as written in the file, for initgroups and messages */
    char *group_name;
    uid_t user_uid;
    gid_t user_gid;                 /* `group`, else the user's primary group */
    char *access_log;               /* one line per request; NULL: none */
    uint64_t slow_log_threshold_ms; /* requests taking longer are logged; 0: off */

    /* The native tier's compiled code across restarts (wasmslot_compile_options); NULL: none */
    char *cache_dir;

    /* [module NAME] sections, in file order */
    struct cfg_module *modules;
    size_t nmodules;

    /* [shmem NAME] sections, in file order */
    struct cfg_shmem *shmems;
    size_t nshmems;

    /* [listen NAME] sections, in file order (cfg_listen.c) */
    struct cfg_listen *listens;
    size_t nlistens;
};

/* Defaults, also shown in etc/wasmslotd.conf and wasmslotd.conf(5). */
#define CFG_DEFAULT_SOCKET           "/run/wasmslot/wasmslotd.sock"
#define CFG_DEFAULT_SOCKET_MODE      0660
#define CFG_DEFAULT_WORKERS          2
#define CFG_DEFAULT_EXECUTOR_THREADS 2
#define CFG_DEFAULT_MAX_REQUEST      (1024 * 1024)
#define CFG_DEFAULT_MAX_INSTANCES    64
#define CFG_DEFAULT_MAX_INFLIGHT     128
#define CFG_DEFAULT_GRACE_MS         10000
#define CFG_DEFAULT_MAX_CONNECTIONS  1024
#define CFG_DEFAULT_IDLE_TIMEOUT_MS  300000
#define CFG_DEFAULT_MAX_REPLY_BUFFER (16u * 1024 * 1024)
#define CFG_DEFAULT_MAX_TABLE        100000
#define CFG_DEFAULT_STACK_SIZE       (8u * 1024 * 1024)
#define CFG_DEFAULT_SLOTS            16
#define CFG_DEFAULT_DEADLINE_MS      1000
#define CFG_DEFAULT_WASI_OUTPUT_MAX  (1024 * 1024)
#define CFG_DEFAULT_SHMEM_MIN        65536
#define CFG_DEFAULT_MAX_MEMORY       (256u * 1024 * 1024)
#define CFG_DEFAULT_MAX_TOTAL_MEMORY (2ULL << 30)

#define CFG_DEFAULT_SLOW_LOG_MS 0

/* Read and validate the file at path. Returns a config, or NULL with a message of the form
 * `file:line: message` (or `file: message`) in err. Nothing is logged. */
struct config *cfg_load(const char *path, char *err, size_t errlen);

/* Free a config. Accepts NULL. */
void cfg_free(struct config *cfg);

/* The module section called name, or NULL. */
const struct cfg_module *cfg_module_find(const struct config *cfg, const char *name);

/* The shmem section called name, or NULL. */
const struct cfg_shmem *cfg_shmem_find(const struct config *cfg, const char *name);

/* Print cfg in the file's syntax, every default filled in (wasmslotd -T; cfg_dump.c). The
 * output is itself a valid config file. */
void cfg_dump(const struct config *cfg, FILE *f);

#endif
