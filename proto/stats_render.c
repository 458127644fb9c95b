/* stats_render.c: collects labelled stats samples and renders them as JSON or OpenMetrics text. */
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
    enum wasmslot_stats_kind kind;
    uint64_t value;
    size_t labels; /* index into sets */
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
    for (size_t i = 0; i < st->n; i++)
        free(st->samples[i].name);
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

int proto_stats_add(struct proto_stats *st, const char *name, enum wasmslot_stats_kind kind,
                    uint64_t value)
{
    size_t len;
    char *copy;

    if (!valid_name(name))
        return -EINVAL;
    len = strlen(name);
    if (kind == WASMSLOT_STATS_COUNTER && len > 6 && strcmp(name + len - 6, "_total") == 0)
        len -= 6;
    if (st->n == st->cap) {
        size_t cap = st->cap != 0 ? st->cap * 2 : 64;
        struct sample *ns = realloc(st->samples, cap * sizeof(*ns));

        if (ns == NULL)
            return -ENOMEM;
        st->samples = ns;
        st->cap = cap;
    }
    copy = strndup(name, len);
    if (copy == NULL)
        return -ENOMEM;
    st->samples[st->n++] =
        (struct sample){.name = copy, .kind = kind, .value = value, .labels = st->nsets - 1};
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

static const char *kind_name(enum wasmslot_stats_kind k)
{
    switch (k) {
    case WASMSLOT_STATS_COUNTER:
        return "counter";
    case WASMSLOT_STATS_GAUGE:
        return "gauge";
    }
    return "unknown";
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
        o = json_pack("{s:s, s:s, s:o, s:o}", "name", s->name, "kind", kind_name(s->kind), "labels",
                      labels, "value", u64_json(s->value));
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
        enum wasmslot_stats_kind k;
        uint64_t v;
        const char *key;
        json_t *lv;

        if (!json_is_string(name) || !json_is_string(kind) ||
            value_from_json(json_object_get(e, "value"), &v) < 0)
            goto fail;
        if (strcmp(json_string_value(kind), "counter") == 0)
            k = WASMSLOT_STATS_COUNTER;
        else if (strcmp(json_string_value(kind), "gauge") == 0)
            k = WASMSLOT_STATS_GAUGE;
        else
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
        rc = proto_stats_add(st, json_string_value(name), k, v);
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

/* ---------------------------------------------------------------- OpenMetrics */

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

/* A label value with the three escapes OpenMetrics defines. */
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

static void sb_sample(struct strbuf *b, const struct proto_stats *st, const struct sample *s)
{
    const struct labelset *ls = &st->sets[s->labels];
    char num[32];

    sb_str(b, OM_PREFIX);
    sb_str(b, s->name);
    if (s->kind == WASMSLOT_STATS_COUNTER)
        sb_str(b, "_total");
    if (ls->n > 0) {
        sb_str(b, "{");
        for (unsigned k = 0; k < ls->n; k++) {
            if (k > 0)
                sb_str(b, ",");
            sb_str(b, ls->names[k]);
            sb_str(b, "=\"");
            sb_label_value(b, ls->values[k]);
            sb_str(b, "\"");
        }
        sb_str(b, "}");
    }
    snprintf(num, sizeof(num), " %" PRIu64 "\n", s->value);
    sb_str(b, num);
}

/* OpenMetrics wants every sample of a family right after its one TYPE line, so samples are
 * grouped by name in the order the names first appear, whatever order they were added in. */
static void render_openmetrics(struct strbuf *b, const struct proto_stats *st)
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
        sb_str(b, "# TYPE " OM_PREFIX);
        sb_str(b, s->name);
        sb_str(b, s->kind == WASMSLOT_STATS_COUNTER ? " counter\n" : " gauge\n");
        for (size_t j = i; j < st->n; j++) {
            if (!done[j] && strcmp(st->samples[j].name, s->name) == 0) {
                done[j] = true;
                sb_sample(b, st, &st->samples[j]);
            }
        }
    }
    sb_str(b, "# EOF\n");
    free(done);
}

char *proto_stats_render(const struct proto_stats *st, enum proto_stats_format fmt, size_t *len)
{
    struct strbuf b = {0};

    if (st->failed)
        return NULL;
    if (fmt == PROTO_STATS_OPENMETRICS) {
        render_openmetrics(&b, st);
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

    if (fmt == PROTO_STATS_OPENMETRICS) {
        char *text = proto_stats_render(st, fmt, NULL);

        if (text == NULL)
            return NULL;
        r = proto_reply_new(id, true);
        if (r == NULL || json_object_set_new(r, "format", json_string("openmetrics")) != 0 ||
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
