/* stats_summary.c: a stats array condensed into one line per pool, worker and shared memory,
 * for people (wasmslot stats, wasmslot top) and for the daemon's /status page. */
#include "config.h"

#include "proto.h"

#include <stdlib.h>
#include <string.h>

double proto_stats_quantile(const uint64_t cum[PROTO_STATS_BUCKETS + 1], double q)
{
    uint64_t total = cum[PROTO_STATS_BUCKETS];
    double rank = q * (double)total;

    if (total == 0)
        return 0;
    for (unsigned i = 0; i < PROTO_STATS_BUCKETS; i++) {
        if ((double)cum[i] >= rank) {
            uint64_t below = i > 0 ? cum[i - 1] : 0;
            double lo = i > 0 ? (double)proto_stats_bucket_ns[i - 1] : 0;
            double hi = (double)proto_stats_bucket_ns[i];
            double in = (double)(cum[i] - below);

            return (lo + (hi - lo) * (in > 0 ? (rank - (double)below) / in : 1)) / 1e9;
        }
    }
    return (double)proto_stats_bucket_ns[PROTO_STATS_BUCKETS - 1] / 1e9;
}

static uint64_t num(const json_t *v)
{
    if (json_is_integer(v) && json_integer_value(v) > 0)
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

/* o[key] += v (or o[key] = max(o[key], v)). */
static void acc(json_t *o, const char *key, uint64_t v, bool max)
{
    uint64_t old = num(json_object_get(o, key));

    json_object_set_new(o, key, json_integer((json_int_t)(max ? (v > old ? v : old) : old + v)));
}

/* The object of a "pool"/"worker"/"shmem" label value in map, made on first use; its key
 * field is set to the value. */
static json_t *entry(json_t *map, const char *keyname, const char *value)
{
    json_t *o = json_object_get(map, value);

    if (o == NULL) {
        o = json_object();
        json_object_set_new(o, keyname, json_string(value));
        json_object_set_new(map, value, o);
    }
    return o;
}

/* Add a histogram sample's cumulative counts to o[key] (an array). */
static void acc_hist(json_t *o, const char *key, const json_t *sample)
{
    const json_t *b = json_object_get(sample, "buckets");
    json_t *arr = json_object_get(o, key);

    if (!json_is_array(b) || json_array_size(b) != PROTO_STATS_BUCKETS + 1)
        return;
    if (arr == NULL) {
        arr = json_array();
        for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++)
            json_array_append_new(arr, json_integer(0));
        json_object_set_new(o, key, arr);
    }
    for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++) {
        uint64_t c = num(json_object_get(json_array_get(b, i), "count"));
        json_array_set_new(arr, i, json_integer((json_int_t)(num(json_array_get(arr, i)) + c)));
    }
}

static bool hist_of(const json_t *o, const char *key, uint64_t cum[PROTO_STATS_BUCKETS + 1])
{
    const json_t *arr = json_object_get(o, key);

    memset(cum, 0, (PROTO_STATS_BUCKETS + 1) * sizeof(*cum));
    if (!json_is_array(arr))
        return false;
    for (unsigned i = 0; i <= PROTO_STATS_BUCKETS; i++)
        cum[i] = num(json_array_get(arr, i));
    return true;
}

/* A pool's derived numbers, once every sample is in. */
static void pool_finish(json_t *p)
{
    uint64_t cum[PROTO_STATS_BUCKETS + 1];
    uint64_t inst = num(json_object_get(p, "instantiations"));

    json_object_set_new(p, "warm_hit_ratio",
                        inst > 0
                            ? json_real((double)num(json_object_get(p, "warm_hits")) / (double)inst)
                            : json_null());
    hist_of(p, "run_hist", cum);
    json_object_set_new(p, "runs", json_integer((json_int_t)cum[PROTO_STATS_BUCKETS]));
    json_object_set_new(p, "run_p50", json_real(proto_stats_quantile(cum, 0.5)));
    json_object_set_new(p, "run_p99", json_real(proto_stats_quantile(cum, 0.99)));
    hist_of(p, "wait_hist", cum);
    json_object_set_new(p, "waits", json_integer((json_int_t)cum[PROTO_STATS_BUCKETS]));
    json_object_set_new(p, "wait_p50", json_real(proto_stats_quantile(cum, 0.5)));
    json_object_set_new(p, "wait_p99", json_real(proto_stats_quantile(cum, 0.99)));
    if (json_object_get(p, "requests") == NULL)
        json_object_set_new(p, "requests", json_integer(0));
    if (json_object_get(p, "errors") == NULL)
        json_object_set_new(p, "errors", json_integer(0));
}

/* Gauges that are the same in every worker, or a peak: the largest, not the sum. */
static bool gauge_max(const char *name)
{
    return strncmp(name, "image_", 6) == 0 || strcmp(name, "slots_busy_peak") == 0;
}

/* One sample that carries a "pool" label. */
static void pool_sample(json_t *pools, json_t *workers, const char *pool, const char *worker,
                        const char *name, const char *kind, const json_t *s)
{
    json_t *p = entry(pools, "pool", pool);
    json_t *w = worker != NULL ? entry(workers, "worker", worker) : NULL;
    uint64_t v = num(json_object_get(s, "value"));

    if (strcmp(kind, "histogram") == 0) {
        if (strcmp(name, "run_seconds") == 0) {
            acc_hist(p, "run_hist", s);
            if (w != NULL)
                acc(w, "runs", num(json_object_get(s, "count")), false);
        } else if (strcmp(name, "queue_wait_seconds") == 0) {
            acc_hist(p, "wait_hist", s);
        }
        return;
    }
    if (!json_is_integer(json_object_get(s, "value")) &&
        !json_is_string(json_object_get(s, "value")))
        return;
    if (strcmp(name, "pool_requests") == 0) {
        acc(p, "requests", v, false);
        return;
    }
    if (strcmp(name, "pool_errors") == 0) {
        acc(p, "errors", v, false);
        return;
    }
    if (strcmp(name, "slots_busy") == 0 && w != NULL)
        acc(w, "slots_busy", v, false);
    acc(p, name, v, strcmp(kind, "gauge") == 0 && gauge_max(name));
}

/* The values of a map of objects, as an array in key order (pools sort by name, workers by
 * number). */
static json_t *values_sorted(json_t *map, bool numeric)
{
    size_t n = json_object_size(map), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    json_t *arr = json_array();
    const char *k;
    json_t *v;

    if (keys == NULL || arr == NULL) {
        free(keys);
        json_decref(arr);
        return NULL;
    }
    json_object_foreach(map, k, v) keys[i++] = k;
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0; b--) {
            bool less = numeric ? strtoul(keys[b], NULL, 10) < strtoul(keys[b - 1], NULL, 10)
                                : strcmp(keys[b], keys[b - 1]) < 0;
            const char *t;

            if (!less)
                break;
            t = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = t;
        }
    }
    for (i = 0; i < n; i++)
        json_array_append(arr, json_object_get(map, keys[i]));
    free(keys);
    return arr;
}

json_t *proto_stats_summary(const json_t *stats)
{
    json_t *daemon = json_object(), *pools = json_object(), *workers = json_object();
    json_t *shmem = json_object(), *out = NULL;
    const char *key;
    size_t i;
    json_t *s, *v;

    if (daemon == NULL || pools == NULL || workers == NULL || shmem == NULL)
        goto done;
    json_array_foreach(stats, i, s)
    {
        const json_t *labels = json_object_get(s, "labels");
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *kind = json_string_value(json_object_get(s, "kind"));
        const char *pool = json_string_value(json_object_get(labels, "pool"));
        const char *worker = json_string_value(json_object_get(labels, "worker"));
        const char *sh = json_string_value(json_object_get(labels, "shmem"));
        const json_t *value = json_object_get(s, "value");

        if (name == NULL || kind == NULL)
            continue;
        if (pool != NULL) {
            pool_sample(pools, workers, pool, worker, name, kind, s);
        } else if (sh != NULL) {
            json_t *o = entry(shmem, "shmem", sh);
            json_object_set(o, strncmp(name, "shmem_", 6) == 0 ? name + 6 : name, (json_t *)value);
        } else if (worker != NULL) {
            json_t *w = entry(workers, "worker", worker);

            if (strcmp(name, "worker_pid") == 0) {
                json_object_set_new(w, "pid", json_integer((json_int_t)num(value)));
            } else if (strcmp(name, "requests") == 0 || strcmp(name, "errors") == 0 ||
                       strcmp(name, "connections_open") == 0 ||
                       strcmp(name, "instances_open") == 0 || strcmp(name, "executor_queue") == 0 ||
                       strcmp(name, "connections") == 0) {
                acc(w, name, num(value), false);
                acc(daemon, name, num(value), false);
            }
        } else if (value != NULL) {
            json_object_set(daemon, name, (json_t *)value);
        }
    }
    json_object_foreach(pools, key, v) pool_finish(v);
    json_object_foreach(workers, key, v)
    {
        static const char *const zero[] = {
            "requests",   "errors", "connections_open", "instances_open", "executor_queue",
            "slots_busy", "runs"};
        for (size_t k = 0; k < sizeof(zero) / sizeof(zero[0]); k++)
            if (json_object_get(v, zero[k]) == NULL)
                json_object_set_new(v, zero[k], json_integer(0));
    }
    out = json_pack("{s:O, s:o, s:o, s:o}", "daemon", daemon, "pools", values_sorted(pools, false),
                    "workers", values_sorted(workers, true), "shmem", values_sorted(shmem, false));
done:
    json_decref(daemon);
    json_decref(pools);
    json_decref(workers);
    json_decref(shmem);
    return out;
}
