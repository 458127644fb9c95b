/* stats_render.c: collects labelled stats samples (counters, gauges, times, histograms) and
 * renders them as JSON, OpenMetrics text or the Prometheus text format. */
#include "config.h"

#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OM_PREFIX "wasmslot_"

/* One label set. Samples refer to sets by index; changing a label makes a new set, so the
 * samples already added keep theirs. */
struct labelset {
    unsigned n;
    char *names[PROTO_STATS_MAX_LABELS];
    char *values[PROTO_STATS_MAX_LABELS];
};

struct sample {
    char *name; /* counters without "_total" */
    enum proto_stats_type type;
    bool ns;        /* value is a time in nanoseconds, shown in seconds */
    uint64_t value; /* histograms: the sum of the observations, in nanoseconds */
    uint64_t *cum;  /* histograms: cumulative counts, PROTO_STATS_BUCKETS + 1 of them */
    size_t labels;  /* index into sets */
};

const uint64_t proto_stats_bucket_ns[PROTO_STATS_BUCKETS] = {
    10000,     25000,      50000,      100000,     250000,      500000,    1000000,
    2500000,   5000000,    10000000,   25000000,   50000000,    100000000, 250000000,
    500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

struct proto_stats {
    struct sample *samples;
    size_t n, cap;
    struct labelset *sets;
    size_t nsets, capsets;
    bool failed; /* an add through the sink failed: rendering must not hide it */
};

struct proto_stats *proto_stats_new(void)
{
    struct proto_stats *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return NULL;
    /* Set 0 is the empty set, current until a label is set. */
    st->sets = calloc(1, sizeof(*st->sets));
    if (st->sets == NULL) {
        free(st);
        return NULL;
    }
    st->nsets = st->capsets = 1;
    return st;
}

static void labelset_clear(struct labelset *ls)
{
    for (unsigned i = 0; i < ls->n; i++) {
        free(ls->names[i]);
        free(ls->values[i]);
    }
    ls->n = 0;
}

void proto_stats_free(struct proto_stats *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free(st->samples[i].name);
        free(st->samples[i].cum);
    }
    for (size_t i = 0; i < st->nsets; i++)
        labelset_clear(&st->sets[i]);
    free(st->samples);
    free(st->sets);
    free(st);
}

static bool valid_name(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static struct labelset *current(struct proto_stats *st)
{
    return &st->sets[st->nsets - 1];
}

/* Start a new current set as a copy of the old one, unless no sample uses the current one. */
static int new_set(struct proto_stats *st)
{
    struct labelset *cur = current(st);
    struct labelset copy = {0};

    if (st->n == 0 || st->samples[st->n - 1].labels != st->nsets - 1)
        return 0;
    for (unsigned i = 0; i < cur->n; i++) {
        copy.names[i] = strdup(cur->names[i]);
        copy.values[i] = strdup(cur->values[i]);
        copy.n = i + 1;
        if (copy.names[i] == NULL || copy.values[i] == NULL)
            goto fail;
    }
    if (st->nsets == st->capsets) {
        size_t cap = st->capsets * 2;
        struct labelset *ns = realloc(st->sets, cap * sizeof(*ns));

        if (ns == NULL)
            goto fail;
        st->sets = ns;
        st->capsets = cap;
    }
    st->sets[st->nsets++] = copy;
    return 0;
fail:
    labelset_clear(&copy);
    return -ENOMEM;
}

int proto_stats_set_label(struct proto_stats *st, const char *name, const char *value)
{
    struct labelset *ls;
    unsigned i;
    char *v = NULL, *nm = NULL;

    if (!valid_name(name))
        return -EINVAL;
    ls = current(st);
    for (i = 0; i < ls->n; i++)
        if (strcmp(ls->names[i], name) == 0)
            break;
    /* Setting what is already there is common (a label set before every sample) and must not
     * copy the set each time. */
    if (value == NULL ? i == ls->n : i < ls->n && strcmp(ls->values[i], value) == 0)
        return 0;
    if (new_set(st) < 0)
        return -ENOMEM;
    ls = current(st); /* new_set may have moved the array; the copy keeps the order */
    if (value == NULL) {
        if (i < ls->n) {
            free(ls->names[i]);
            free(ls->values[i]);
            ls->n--;
            ls->names[i] = ls->names[ls->n];
            ls->values[i] = ls->values[ls->n];
        }
        return 0;
    }
    if (i == ls->n && ls->n == PROTO_STATS_MAX_LABELS)
        return -E2BIG;
    v = strdup(value);
    if (v == NULL)
        return -ENOMEM;
    if (i < ls->n) {
        free(ls->values[i]);
        ls->values[i] = v;
        return 0;
    }
    nm = strdup(name);
    if (nm == NULL) {
        free(v);
        return -ENOMEM;
    }
    ls->names[ls->n] = nm;
    ls->values[ls->n] = v;
    ls->n++;
    return 0;
}

void proto_stats_clear_labels(struct proto_stats *st)
{
    if (new_set(st) < 0) {
        /* Out of memory: the samples added next would carry the wrong labels. */
        st->failed = true;
        return;
    }
    labelset_clear(current(st));
}

/* Append a sample named name (a "_total" suffix of a counter dropped). */
static struct sample *add_sample(struct proto_stats *st, const char *name,
                                 enum proto_stats_type type, int *rc)
{
    size_t len;
    char *copy;

    *rc = -EINVAL;
    if (!valid_name(name))
        return NULL;
    *rc = -ENOMEM;
    len = strlen(name);
    if (type == PROTO_STATS_TYPE_COUNTER && len > 6 && strcmp(name + len - 6, "_total") == 0)
        len -= 6;
    if (st->n == st->cap) {
        size_t cap = st->cap != 0 ? st->cap * 2 : 64;
        struct sample *ns = realloc(st->samples, cap * sizeof(*ns));

        if (ns == NULL)
            return NULL;
        st->samples = ns;
        st->cap = cap;
    }
    copy = strndup(name, len);
    if (copy == NULL)
        return NULL;
    *rc = 0;
    st->samples[st->n] = (struct sample){.name = copy, .type = type, .labels = st->nsets - 1};
    return &st->samples[st->n++];
}

static enum proto_stats_type type_of(enum wasmslot_stats_kind kind)
{
    switch (kind) {
    case WASMSLOT_STATS_COUNTER:
        return PROTO_STATS_TYPE_COUNTER;
    case WASMSLOT_STATS_GAUGE:
        return PROTO_STATS_TYPE_GAUGE;
    }
    return PROTO_STATS_TYPE_GAUGE;
}

int proto_stats_add(struct proto_stats *st, const char *name, enum wasmslot_stats_kind kind,
                    uint64_t value)
{
    int rc;
    struct sample *s = add_sample(st, name, type_of(kind), &rc);

    if (s != NULL)
        s->value = value;
    return rc;
}

int proto_stats_add_ns(struct proto_stats *st, const char *name, enum wasmslot_stats_kind kind,
                       uint64_t ns)
{
    int rc;
    struct sample *s = add_sample(st, name, type_of(kind), &rc);

    if (s != NULL) {
        s->value = ns;
        s->ns = true;
    }
    return rc;
}

int proto_stats_add_histogram(struct proto_stats *st, const char *name,
                              const uint64_t counts[PROTO_STATS_BUCKETS + 1], uint64_t sum_ns)
{
    uint64_t *cum = malloc((PROTO_STATS_BUCKETS + 1) * sizeof(*cum));
    uint64_t run = 0;
    struct sample *s;
    int rc;

    if (cum == NULL)
        return -ENOMEM;
    for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++)
        cum[i] = run += counts[i];
    s = add_sample(st, name, PROTO_STATS_TYPE_HISTOGRAM, &rc);
    if (s == NULL) {
        free(cum);
        return rc;
    }
    s->value = sum_ns;
    s->ns = true;
    s->cum = cum;
    return 0;
}

void proto_stats_sink(void *arg, const char *name, enum wasmslot_stats_kind kind, uint64_t value)
{
    struct proto_stats *st = arg;

    if (proto_stats_add(st, name, kind, value) < 0)
        st->failed = true;
}

size_t proto_stats_count(const struct proto_stats *st)
{
    return st->n;
}

static const char *type_name(enum proto_stats_type t)
{
    switch (t) {
    case PROTO_STATS_TYPE_COUNTER:
        return "counter";
    case PROTO_STATS_TYPE_GAUGE:
        return "gauge";
    case PROTO_STATS_TYPE_HISTOGRAM:
        return "histogram";
    }
    return "unknown";
}

/* Nanoseconds as a decimal number of seconds, without trailing zeros ("0.00025", "2", "1.5"). */
static void seconds_text(uint64_t ns, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);

    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

/* A bucket bound's "le" text; the last one is "+Inf". */
static void le_text(unsigned i, char *buf, size_t len)
{
    if (i == PROTO_STATS_BUCKETS)
        snprintf(buf, len, "+Inf");
    else
        seconds_text(proto_stats_bucket_ns[i], buf, len);
}

/* ---------------------------------------------------------------- JSON */

static json_t *u64_json(uint64_t v)
{
    char buf[24];

    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_string(buf);
}

static json_t *seconds_json(uint64_t ns)
{
    return json_real((double)ns / 1e9);
}

static json_t *histogram_json(const struct sample *s)
{
    json_t *arr = json_array();
    char le[32];

    for (unsigned i = 0; arr != NULL && i <= PROTO_STATS_BUCKETS; i++) {
        le_text(i, le, sizeof(le));
        if (json_array_append_new(
                arr, json_pack("{s:s, s:o}", "le", le, "count", u64_json(s->cum[i]))) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *proto_stats_to_json(const struct proto_stats *st)
{
    json_t *arr;

    if (st->failed)
        return NULL;
    arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < st->n; i++) {
        const struct sample *s = &st->samples[i];
        const struct labelset *ls = &st->sets[s->labels];
        json_t *labels = json_object();
        json_t *o;

        for (unsigned k = 0; labels != NULL && k < ls->n; k++)
            if (json_object_set_new(labels, ls->names[k], json_string(ls->values[k])) != 0) {
                json_decref(labels);
                labels = NULL;
            }
        if (s->type == PROTO_STATS_TYPE_HISTOGRAM)
            o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", s->name, "kind",
                          type_name(s->type), "labels", labels, "buckets", histogram_json(s),
                          "count", u64_json(s->cum[PROTO_STATS_BUCKETS]), "sum",
                          seconds_json(s->value));
        else
            o = json_pack("{s:s, s:s, s:o, s:o}", "name", s->name, "kind", type_name(s->type),
                          "labels", labels, "value",
                          s->ns ? seconds_json(s->value) : u64_json(s->value));
        if (json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int value_from_json(const json_t *j, uint64_t *out)
{
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *out = (uint64_t)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;

        if (*s < '0' || *s > '9')
            return -EINVAL;
        errno = 0;
        *out = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
            return -EINVAL;
        return 0;
    }
    return -EINVAL;
}

/* Seconds (a JSON number) back to nanoseconds. */
static int ns_from_json(const json_t *j, uint64_t *out)
{
    double d;

    if (!json_is_number(j))
        return -EINVAL;
    d = json_number_value(j) * 1e9;
    if (!(d >= 0) || d > 1.8e19)
        return -EINVAL;
    *out = (uint64_t)(d + 0.5);
    return 0;
}

/* One histogram sample of a stats array back into st. */
static int histogram_from_json(struct proto_stats *st, const char *name, const json_t *e)
{
    const json_t *b = json_object_get(e, "buckets");
    uint64_t counts[PROTO_STATS_BUCKETS + 1], prev = 0, sum;
    char want[32];

    if (!json_is_array(b) || json_array_size(b) != PROTO_STATS_BUCKETS + 1 ||
        ns_from_json(json_object_get(e, "sum"), &sum) < 0)
        return -EINVAL;
    for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++) {
        const json_t *le = json_object_get(json_array_get(b, i), "le");
        uint64_t c;

        le_text(i, want, sizeof(want));
        if (!json_is_string(le) || strcmp(json_string_value(le), want) != 0 ||
            value_from_json(json_object_get(json_array_get(b, i), "count"), &c) < 0 || c < prev)
            return -EINVAL;
        counts[i] = c - prev;
        prev = c;
    }
    return proto_stats_add_histogram(st, name, counts, sum);
}

int proto_stats_from_json(const json_t *arr, struct proto_stats **out)
{
    struct proto_stats *st;
    size_t i;
    json_t *e;
    int rc = -EINVAL;

    *out = NULL;
    if (!json_is_array(arr))
        return -EINVAL;
    st = proto_stats_new();
    if (st == NULL)
        return -ENOMEM;
    json_array_foreach(arr, i, e)
    {
        json_t *name = json_object_get(e, "name");
        json_t *kind = json_object_get(e, "kind");
        json_t *labels = json_object_get(e, "labels");
        json_t *value = json_object_get(e, "value");
        enum wasmslot_stats_kind k;
        const char *kn;
        uint64_t v;
        const char *key;
        json_t *lv;

        if (!json_is_string(name) || !json_is_string(kind))
            goto fail;
        if (labels != NULL && !json_is_object(labels))
            goto fail;
        proto_stats_clear_labels(st);
        json_object_foreach(labels, key, lv)
        {
            if (!json_is_string(lv) ||
                (rc = proto_stats_set_label(st, key, json_string_value(lv))) < 0)
                goto fail;
        }
        kn = json_string_value(kind);
        if (strcmp(kn, "histogram") == 0) {
            rc = histogram_from_json(st, json_string_value(name), e);
        } else {
            if (strcmp(kn, "counter") == 0)
                k = WASMSLOT_STATS_COUNTER;
            else if (strcmp(kn, "gauge") == 0)
                k = WASMSLOT_STATS_GAUGE;
            else
                goto fail;
            if (json_is_real(value)) {
                if (ns_from_json(value, &v) < 0)
                    goto fail;
                rc = proto_stats_add_ns(st, json_string_value(name), k, v);
            } else {
                if (value_from_json(value, &v) < 0)
                    goto fail;
                rc = proto_stats_add(st, json_string_value(name), k, v);
            }
        }
        if (rc < 0 || st->failed)
            goto fail;
        rc = -EINVAL;
    }
    *out = st;
    return 0;
fail:
    proto_stats_free(st);
    return rc == -ENOMEM || rc == -E2BIG ? rc : -EINVAL;
}

/* ---------------------------------------------------------------- HELP texts */

/* Every family the daemon exposes, with its HELP text; PROTOCOL.md lists the same, and so do
 * wasmslot(1) and wasmslotd.conf(5). Names are without the prefix and "_total". */
static const struct {
    const char *name;
    const char *help;
} helps[] = {
    /* the daemon */
    {"generation", "Generation of workers serving now (1 at start, one more per reload)."},
    {"workers", "Worker processes of the serving generation."},
    {"uptime_seconds", "Time since the master process started."},
    {"worker_restarts", "Workers that died and were started again."},
    {"reloads", "Reloads that started a new generation."},
    {"reloads_failed", "Reloads whose new configuration was rejected."},
    /* per worker */
    {"worker_pid", "Process id of the worker (0 while it is not running)."},
    {"requests", "Request lines read, by op (invalid: lines that did not parse)."},
    {"errors", "Error replies, by error code."},
    {"connections", "Connections accepted."},
    {"connections_open", "Connections open now."},
    {"connections_refused", "Connections refused over max_connections."},
    {"connections_idle_closed", "Connections closed after idle_timeout."},
    {"reply_buffer_pauses", "Times reading a connection paused at max_reply_buffer."},
    {"instances_open", "Instances alive now."},
    {"executor_queue", "Requests waiting for an executor thread now."},
    {"fastcgi_responses",
     "FastCGI requests answered, by HTTP status class (aborted: ended without an answer)."},
    {"memory_bytes",
     "Instance memories, unsent replies and WASI reply reserves now (max_total_memory)."},
    {"unlimited_runs", "Executor threads running without a deadline now (max_unlimited_runs)."},
    /* per pool and worker: the daemon's */
    {"pool_requests", "Requests for the pool, by op."},
    {"pool_errors", "Error replies to requests for the pool, by error code."},
    {"run_seconds", "Time in guest code per run (call, run, and each thread of a call)."},
    {"queue_wait_seconds",
     "Time from reading a request to starting it (executor queue, busy instance, pool_wait)."},
    {"slots_busy_peak", "Most slots of the pool held at once since the master started."},
    {"pool_waits", "Requests that found the pool full and waited for a slot (pool_wait)."},
    {"pool_wait_timeouts", "Of those, the ones answered pool_exhausted in the end."},
    {"pool_wait_seconds", "Time requests spent waiting for a slot (pool_wait)."},
    /* per pool and worker: the library's (wasmslot_pool_stats, wasmslot_image_stats) */
    {"slots", "Slots of the pool."},
    {"slots_busy", "Slots held by instances now."},
    {"slots_free", "Slots free now."},
    {"slots_warm", "Free slots holding an image, ready without any system call."},
    {"slots_unknown", "Free slots in unknown state, wiped before reuse."},
    {"instantiations", "Slots handed out for instances."},
    {"warm_hits", "Slots handed out warm (the fast path: no mmap)."},
    {"cold_maps", "Slots mapped for an image (first use, re-image, after a wipe)."},
    {"wipes", "Slots wiped whole before reuse."},
    {"resets", "Slots reset (madvise + ftruncate) after an instance ended."},
    {"reset_failures", "Resets whose system call failed (the slot is wiped before reuse)."},
    {"reset_discarded_bytes", "Bytes of written pages dropped by resets."},
    {"reset_restored_pages", "Pages an instance changed that its reset restored in place."},
    {"reset_dropped_pages", "Written pages resets dropped (madvise or truncation)."},
    {"reset_faults_avoided",
     "Pages instances changed that an earlier reset had kept resident: no page fault."},
    {"grows", "memory.grow operations served by a slot."},
    {"traps", "Runs in the pool that ended in a trap."},
    {"timeouts", "Runs in the pool stopped at their deadline."},
    {"exhaustions", "Requests refused because every slot of the pool was busy."},
    {"image_imaged", "1 when the module's data is in its memory image, 0 for the copy fallback."},
    {"image_stored_bytes", "Bytes of the module's memory image."},
    /* per shared memory */
    {"module_compile_seconds",
     "Time the master spent compiling the pool's module (0 when loaded from the code cache)."},
    {"module_load_seconds",
     "Time the master spent reading, compiling and imaging the pool's module."},
    {"shmem_size_bytes", "Current size of the shared memory."},
    {"shmem_max_bytes", "Maximum size of the shared memory."},
    {"shmem_grows", "Grows of the shared memory."},
    {"shmem_waiters", "Threads waiting in memory.atomic.wait now."},
    {"shmem_waits", "memory.atomic.wait operations that blocked."},
    {"shmem_wakeups", "Waiters woken by memory.atomic.notify."},
    {"shmem_wait_timeouts", "Waits that ended at their timeout."},
    {"shmem_notifies", "memory.atomic.notify operations."},
    {"shmem_bindings", "Module imports bound to the shared memory."},
    {"shmem_references", "References to the shared memory in the answering worker."},
};

const char *proto_stats_help(const char *name)
{
    for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
        if (strcmp(helps[i].name, name) == 0)
            return helps[i].help;
    return NULL;
}

/* ---------------------------------------------------------------- text expositions */

struct strbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 1024;
        char *ns;

        while (cap < b->len + n + 1)
            cap *= 2;
        ns = realloc(b->s, cap);
        if (ns == NULL) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(struct strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* A label value with the three escapes both text formats define. */
static void sb_label_value(struct strbuf *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\')
            sb_str(b, "\\\\");
        else if (*v == '"')
            sb_str(b, "\\\"");
        else if (*v == '\n')
            sb_str(b, "\\n");
        else
            sb_add(b, v, 1);
    }
}

/* One sample line: prefix, name, suffix, the labels plus an optional extra one, the value. */
static void sb_line(struct strbuf *b, const struct labelset *ls, const char *name,
                    const char *suffix, const char *extra_name, const char *extra_value,
                    const char *value)
{
    bool any = ls->n > 0 || extra_name != NULL;

    sb_str(b, OM_PREFIX);
    sb_str(b, name);
    sb_str(b, suffix);
    if (any) {
        sb_str(b, "{");
        for (unsigned k = 0; k < ls->n; k++) {
            if (k > 0)
                sb_str(b, ",");
            sb_str(b, ls->names[k]);
            sb_str(b, "=\"");
            sb_label_value(b, ls->values[k]);
            sb_str(b, "\"");
        }
        if (extra_name != NULL) {
            if (ls->n > 0)
                sb_str(b, ",");
            sb_str(b, extra_name);
            sb_str(b, "=\"");
            sb_str(b, extra_value);
            sb_str(b, "\"");
        }
        sb_str(b, "}");
    }
    sb_str(b, " ");
    sb_str(b, value);
    sb_str(b, "\n");
}

static void value_text(const struct sample *s, uint64_t v, char *buf, size_t len)
{
    if (s->ns)
        seconds_text(v, buf, len);
    else
        snprintf(buf, len, "%" PRIu64, v);
}

static void sb_sample(struct strbuf *b, const struct proto_stats *st, const struct sample *s)
{
    const struct labelset *ls = &st->sets[s->labels];
    char num[40], le[32];

    switch (s->type) {
    case PROTO_STATS_TYPE_COUNTER:
        value_text(s, s->value, num, sizeof(num));
        sb_line(b, ls, s->name, "_total", NULL, NULL, num);
        break;
    case PROTO_STATS_TYPE_GAUGE:
        value_text(s, s->value, num, sizeof(num));
        sb_line(b, ls, s->name, "", NULL, NULL, num);
        break;
    case PROTO_STATS_TYPE_HISTOGRAM:
        for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++) {
            le_text(i, le, sizeof(le));
            snprintf(num, sizeof(num), "%" PRIu64, s->cum[i]);
            sb_line(b, ls, s->name, "_bucket", "le", le, num);
        }
        snprintf(num, sizeof(num), "%" PRIu64, s->cum[PROTO_STATS_BUCKETS]);
        sb_line(b, ls, s->name, "_count", NULL, NULL, num);
        value_text(s, s->value, num, sizeof(num));
        sb_line(b, ls, s->name, "_sum", NULL, NULL, num);
        break;
    }
}

/* The unit a family's name ends with ("seconds", "bytes"), or NULL. */
static const char *unit_of(const char *name)
{
    size_t n = strlen(name);

    if (n > 8 && strcmp(name + n - 8, "_seconds") == 0)
        return "seconds";
    if (n > 6 && strcmp(name + n - 6, "_bytes") == 0)
        return "bytes";
    return NULL;
}

/* HELP text: backslashes and newlines escaped, as both formats want. */
static void sb_help(struct strbuf *b, const char *name)
{
    const char *h = proto_stats_help(name);
    char generic[160];

    if (h == NULL) {
        snprintf(generic, sizeof(generic), "wasmslot statistic %s (see PROTOCOL.md).", name);
        h = generic;
    }
    for (; *h != '\0'; h++) {
        if (*h == '\\')
            sb_str(b, "\\\\");
        else if (*h == '\n')
            sb_str(b, "\\n");
        else
            sb_add(b, h, 1);
    }
}

/* One family's metadata lines. OpenMetrics names a family without "_total"; the Prometheus
 * text format names a counter by its sample name, with it. */
static void sb_meta(struct strbuf *b, const struct sample *s, bool om)
{
    const char *total = !om && s->type == PROTO_STATS_TYPE_COUNTER ? "_total" : "";
    const char *unit = unit_of(s->name);

    sb_str(b, "# HELP " OM_PREFIX);
    sb_str(b, s->name);
    sb_str(b, total);
    sb_str(b, " ");
    sb_help(b, s->name);
    sb_str(b, "\n# TYPE " OM_PREFIX);
    sb_str(b, s->name);
    sb_str(b, total);
    sb_str(b, " ");
    sb_str(b, type_name(s->type));
    sb_str(b, "\n");
    if (om && unit != NULL) {
        sb_str(b, "# UNIT " OM_PREFIX);
        sb_str(b, s->name);
        sb_str(b, " ");
        sb_str(b, unit);
        sb_str(b, "\n");
    }
}

/* Both formats want every sample of a family right after its metadata, so samples are
 * grouped by name in the order the names first appear, whatever order they were added in. */
static void render_text(struct strbuf *b, const struct proto_stats *st, bool om)
{
    bool *done = calloc(st->n + 1, sizeof(*done));

    if (done == NULL) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < st->n; i++) {
        const struct sample *s = &st->samples[i];

        if (done[i])
            continue;
        sb_meta(b, s, om);
        for (size_t j = i; j < st->n; j++) {
            /* A name given twice with different types is one family of the first type. */
            if (!done[j] && strcmp(st->samples[j].name, s->name) == 0 &&
                st->samples[j].type == s->type) {
                done[j] = true;
                sb_sample(b, st, &st->samples[j]);
            } else if (!done[j] && strcmp(st->samples[j].name, s->name) == 0) {
                done[j] = true;
            }
        }
    }
    if (om)
        sb_str(b, "# EOF\n");
    free(done);
}

char *proto_stats_render(const struct proto_stats *st, enum proto_stats_format fmt, size_t *len)
{
    struct strbuf b = {0};

    if (st->failed)
        return NULL;
    if (fmt == PROTO_STATS_OPENMETRICS || fmt == PROTO_STATS_PROMETHEUS) {
        render_text(&b, st, fmt == PROTO_STATS_OPENMETRICS);
        if (b.s == NULL && !b.failed)
            sb_str(&b, "");
    } else {
        json_t *arr = proto_stats_to_json(st);
        char *s;

        if (arr == NULL)
            return NULL;
        s = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        if (s == NULL)
            return NULL;
        b.s = s;
        b.len = strlen(s);
    }
    if (b.failed || b.s == NULL) {
        free(b.s);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.s;
}

json_t *proto_reply_stats(const json_t *id, const struct proto_stats *st,
                          enum proto_stats_format fmt)
{
    json_t *r = NULL;

    if (fmt == PROTO_STATS_OPENMETRICS || fmt == PROTO_STATS_PROMETHEUS) {
        char *text = proto_stats_render(st, fmt, NULL);

        if (text == NULL)
            return NULL;
        r = proto_reply_new(id, true);
        if (r == NULL ||
            json_object_set_new(
                r, "format",
                json_string(fmt == PROTO_STATS_OPENMETRICS ? "openmetrics" : "prometheus")) != 0 ||
            json_object_set_new(r, "text", json_string(text)) != 0) {
            json_decref(r);
            r = NULL;
        }
        free(text);
        return r;
    }
    json_t *arr = proto_stats_to_json(st);

    if (arr == NULL)
        return NULL;
    r = proto_reply_new(id, true);
    if (r == NULL || json_object_set_new(r, "stats", arr) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}
