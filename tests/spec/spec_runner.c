/* spec_runner.c: the driver of `make spec`: finds the .wast scripts, converts each with
 * wast2json, runs it in a forked child, and prints per-file and total results. */
#include "config.h"

#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct runner_options {
    const char *wast2json;
    unsigned timeout_s;  /* per file; 0 = none */
    size_t max_failures; /* failure lines printed per file without -v */
    bool verbose;
    bool fork;
    bool pool;
    bool no_fallback; /* a module that falls back to another engine is a failure */
    enum wasmslot_engine engine;
};

/* One line kept for printing under a file's result line. */
struct note {
    char kind; /* 'F' or 'V' */
    char *text;
};

/* What the driver learned about one file. */
struct file_result {
    size_t total;
    bool have_total;
    size_t passed, failed, skipped;
    size_t fallbacks; /* modules that ran on another engine than --engine */
    long cur_line;    /* command in progress when the child died */
    char cur_type[64];
    bool in_command;
    struct note *notes;
    size_t nnotes, cap_notes;
};

/* ---------------------------------------------------------------- report channel */

void spec_report_send(const struct spec_report *r, char kind, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;
    size_t len, off = 0;

    buf[0] = kind;
    buf[1] = ' ';
    va_start(ap, fmt);
    n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
    va_end(ap);
    len = 2 + (n < 0 ? 0 : (size_t)n < sizeof(buf) - 3 ? (size_t)n : sizeof(buf) - 4);
    for (size_t i = 2; i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0')
            buf[i] = ' ';
    }
    buf[len++] = '\n';
    /* One write per record, so a crash right after it cannot lose it. */
    while (off < len) {
        ssize_t w = write(r->fd, buf + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

/* ---------------------------------------------------------------- finding scripts */

static char **found;
static size_t nfound, cap_found;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t len = strlen(path);
    char **p;

    (void)st;
    (void)ftw;
    if (flag != FTW_F || len < 5 || strcmp(path + len - 5, ".wast") != 0)
        return 0;
    if (nfound == cap_found) {
        cap_found = cap_found != 0 ? cap_found * 2 : 128;
        p = realloc(found, cap_found * sizeof(*found));
        if (p == NULL)
            return -1;
        found = p;
    }
    if ((found[nfound] = strdup(path)) == NULL)
        return -1;
    nfound++;
    return 0;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---------------------------------------------------------------- results */

static void add_note(struct file_result *fr, char kind, const char *text)
{
    struct note *p;

    if (fr->nnotes == fr->cap_notes) {
        size_t ncap = fr->cap_notes != 0 ? fr->cap_notes * 2 : 32;

        p = realloc(fr->notes, ncap * sizeof(*p));
        if (p == NULL)
            return;
        fr->notes = p;
        fr->cap_notes = ncap;
    }
    fr->notes[fr->nnotes].kind = kind;
    fr->notes[fr->nnotes].text = strdup(text);
    if (fr->notes[fr->nnotes].text != NULL)
        fr->nnotes++;
}

/* Add one record of the report channel to fr. */
static void take_record(const struct runner_options *ro, struct file_result *fr, char *rec)
{
    size_t len = strlen(rec);
    char *text;

    if (len > 0 && rec[len - 1] == '\n')
        rec[--len] = '\0';
    if (len == 0)
        return;
    text = len > 2 ? rec + 2 : rec + len;
    switch (rec[0]) {
    case 'T':
        fr->total = strtoul(text, NULL, 10);
        fr->have_total = true;
        break;
    case 'C':
        fr->cur_line = strtol(text, &text, 10);
        snprintf(fr->cur_type, sizeof(fr->cur_type), "%s", *text == ' ' ? text + 1 : text);
        fr->in_command = true;
        break;
    case 'P':
        fr->passed++;
        fr->in_command = false;
        break;
    case 'S':
        fr->skipped++;
        fr->in_command = false;
        break;
    case 'F':
        fr->failed++;
        fr->in_command = false;
        add_note(fr, 'F', text);
        break;
    case 'E':
        fr->failed++;
        fr->total++;
        add_note(fr, 'F', text);
        break;
    case 'V':
        add_note(fr, 'V', text);
        break;
    case 'N':
        fr->fallbacks++;
        if (ro->no_fallback) {
            /* One more failed command, as for 'E'. */
            fr->failed++;
            fr->total++;
            add_note(fr, 'F', text);
        } else {
            add_note(fr, 'V', text);
        }
        break;
    default:
        add_note(fr, 'V', rec);
        break;
    }
}

static void read_records(const struct runner_options *ro, struct file_result *fr, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;

    while (getline(&line, &cap, f) >= 0)
        take_record(ro, fr, line);
    free(line);
}

/* The script did not finish: what it did not report counts as failed. */
static void account_abort(struct file_result *fr, const char *why)
{
    size_t done = fr->passed + fr->failed + fr->skipped;
    size_t missing = fr->have_total && fr->total > done ? fr->total - done : 1;
    char text[512];

    if (fr->in_command)
        snprintf(text, sizeof(text), "line %ld: %s: %s; %zu command(s) not completed", fr->cur_line,
                 fr->cur_type, why, missing);
    else
        snprintf(text, sizeof(text), "%s; %zu command(s) not completed", why, missing);
    add_note(fr, 'F', text);
    fr->failed += missing;
}

/* ---------------------------------------------------------------- one file */

/* Convert path to dir/base.json with wast2json; 0 or -1 with the tool's first line in msg. */
static int convert(const struct runner_options *ro, const char *path, const char *dir,
                   const char *json, char *msg, size_t msglen)
{
    char log[PATH_MAX];
    pid_t pid;
    int status;
    FILE *f;

    if (snprintf(log, sizeof(log), "%s/wast2json.log", dir) >= (int)sizeof(log)) {
        snprintf(msg, msglen, "path too long");
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(msg, msglen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp(ro->wast2json, ro->wast2json, "--enable-threads", path, "-o", json, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", ro->wast2json, strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    snprintf(msg, msglen, "wast2json failed");
    f = fopen(log, "r");
    if (f != NULL) {
        char line[400];

        if (fgets(line, sizeof(line), f) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(msg, msglen, "wast2json failed: %s", line);
        }
        fclose(f);
    }
    return -1;
}

/* Run the converted script in a child that reports through a pipe. */
static void run_forked(const struct runner_options *ro, struct spec_script_options *so,
                       struct file_result *fr)
{
    int fds[2];
    pid_t pid;
    int status;
    FILE *in;
    char why[128];

    if (pipe(fds) < 0) {
        account_abort(fr, "pipe failed");
        return;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        account_abort(fr, "fork failed");
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        so->report.fd = fds[1];
        /* A hung engine must not stall the whole run. */
        if (ro->timeout_s > 0)
            alarm(ro->timeout_s);
        spec_script_run(so);
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    if (in != NULL) {
        read_records(ro, fr, in);
        fclose(in);
    } else {
        close(fds[0]);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        if (WTERMSIG(status) == SIGALRM)
            snprintf(why, sizeof(why), "timed out after %u s", ro->timeout_s);
        else
            snprintf(why, sizeof(why), "crashed with signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        account_abort(fr, why);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
        account_abort(fr, why);
    } else if (!fr->have_total || fr->passed + fr->failed + fr->skipped != fr->total) {
        account_abort(fr, "stopped early");
    }
}

/* Run the converted script in this process (--no-fork: for valgrind and debuggers); records go
 * through a file in the temporary directory. */
static void run_inline(const struct runner_options *ro, struct spec_script_options *so,
                       const char *dir, struct file_result *fr)
{
    char path[PATH_MAX];
    FILE *in;

    if (snprintf(path, sizeof(path), "%s/records.txt", dir) >= (int)sizeof(path))
        so->report.fd = -1;
    else
        so->report.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (so->report.fd < 0) {
        account_abort(fr, "cannot create the records file");
        return;
    }
    spec_script_run(so);
    close(so->report.fd);
    in = fopen(path, "r");
    if (in == NULL) {
        account_abort(fr, "cannot read the records file");
        return;
    }
    read_records(ro, fr, in);
    fclose(in);
    if (!fr->have_total || fr->passed + fr->failed + fr->skipped != fr->total)
        account_abort(fr, "stopped early");
}

static void print_result(const struct runner_options *ro, const char *display,
                         const struct file_result *fr)
{
    size_t shown = 0, hidden = 0;

    printf("%s: %zu passed, %zu failed, %zu skipped", display, fr->passed, fr->failed, fr->skipped);
    if (fr->fallbacks > 0)
        printf(", %zu module(s) fell back", fr->fallbacks);
    putchar('\n');
    for (size_t i = 0; i < fr->nnotes; i++) {
        const struct note *n = &fr->notes[i];

        if (n->kind == 'V') {
            if (ro->verbose)
                printf("    %s\n", n->text);
            continue;
        }
        if (!ro->verbose && shown >= ro->max_failures) {
            hidden++;
            continue;
        }
        printf("  %s\n", n->text);
        shown++;
    }
    if (hidden > 0)
        printf("  ... %zu more failure line(s), use -v to see all\n", hidden);
    fflush(stdout);
}

static void run_file(const struct runner_options *ro, const char *path, const char *display,
                     struct file_result *fr)
{
    char dir[PATH_MAX], json[PATH_MAX], msg[512];
    const char *tmp = getenv("TMPDIR");
    const char *base = strrchr(path, '/');
    struct spec_script_options so;
    size_t blen;

    memset(fr, 0, sizeof(*fr));
    base = base != NULL ? base + 1 : path;
    blen = strlen(base) - 5; /* without ".wast" */
    snprintf(dir, sizeof(dir), "%s/spec-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        snprintf(msg, sizeof(msg), "mkdtemp: %s", strerror(errno));
        account_abort(fr, msg);
        return;
    }
    if (snprintf(json, sizeof(json), "%s/%.*s.json", dir, (int)blen, base) >= (int)sizeof(json)) {
        account_abort(fr, "path too long");
    } else if (convert(ro, path, dir, json, msg, sizeof(msg)) < 0) {
        account_abort(fr, msg);
    } else {
        memset(&so, 0, sizeof(so));
        so.json_path = json;
        so.dir = dir;
        so.report.verbose = ro->verbose;
        so.pool = ro->pool;
        so.engine = ro->engine;
        if (ro->fork)
            run_forked(ro, &so, fr);
        else
            run_inline(ro, &so, dir, fr);
    }
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void free_result(struct file_result *fr)
{
    for (size_t i = 0; i < fr->nnotes; i++)
        free(fr->notes[i].text);
    free(fr->notes);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f, "usage: spec_runner [-v] [--wast2json PATH] [--timeout SECONDS] [--no-fork]\n"
               "                   [--max-failures N] [--pool] [--engine interp|native]\n"
               "                   [--no-fallback] DIR|FILE.wast...\n"
               "Runs every .wast script under each DIR (recursively) against libwasmslot.\n"
               "--no-fallback: a module the engine hands to another one is a failure.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"verbose", no_argument, NULL, 'v'},       {"wast2json", required_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 't'}, {"max-failures", required_argument, NULL, 'm'},
        {"no-fork", no_argument, NULL, 'n'},       {"pool", no_argument, NULL, 'p'},
        {"engine", required_argument, NULL, 'e'},  {"no-fallback", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct runner_options ro = {
        .wast2json = "wast2json", .timeout_s = 300, .max_failures = 20, .fork = true};
    size_t passed = 0, failed = 0, skipped = 0, fallbacks = 0;
    int c;

    if (getenv("WAST2JSON") != NULL && *getenv("WAST2JSON") != '\0')
        ro.wast2json = getenv("WAST2JSON");
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'v':
            ro.verbose = true;
            break;
        case 'w':
            ro.wast2json = optarg;
            break;
        case 't':
            ro.timeout_s = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            ro.max_failures = strtoul(optarg, NULL, 10);
            break;
        case 'n':
            ro.fork = false;
            break;
        case 'p':
            ro.pool = true;
            break;
        case 'f':
            ro.no_fallback = true;
            break;
        case 'e':
            if (strcmp(optarg, "interp") == 0) {
                ro.engine = WASMSLOT_ENGINE_INTERP;
            } else if (strcmp(optarg, "native") == 0) {
                ro.engine = WASMSLOT_ENGINE_NATIVE;
            } else {
                fprintf(stderr, "spec_runner: --engine: interp or native\n");
                return 2;
            }
            if (!wasmslot_engine_available(ro.engine)) {
                fprintf(stderr, "spec_runner: this build has no %s engine\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }

    for (int a = optind; a < argc; a++) {
        const char *root = argv[a];
        size_t rlen = strlen(root);
        size_t first = nfound;
        struct stat st;

        if (stat(root, &st) < 0) {
            fprintf(stderr, "spec_runner: %s: %s\n", root, strerror(errno));
            return 2;
        }
        if (nftw(root, collect, 16, FTW_PHYS) != 0) {
            fprintf(stderr, "spec_runner: cannot list %s\n", root);
            return 2;
        }
        qsort(found + first, nfound - first, sizeof(*found), cmp_paths);
        for (size_t i = first; i < nfound; i++) {
            const char *display = found[i];
            struct file_result fr;

            /* Name files relative to the directory given, like "core/i32.wast". */
            if (S_ISDIR(st.st_mode) && strncmp(display, root, rlen) == 0) {
                display += rlen;
                while (*display == '/')
                    display++;
            }
            run_file(&ro, found[i], display, &fr);
            print_result(&ro, display, &fr);
            passed += fr.passed;
            failed += fr.failed;
            skipped += fr.skipped;
            fallbacks += fr.fallbacks;
            free_result(&fr);
        }
    }
    for (size_t i = 0; i < nfound; i++)
        free(found[i]);
    free(found);

    /* The fallback count is part of the native tier's figure: its passes only count for the
     * modules it compiled. */
    if (ro.engine != WASMSLOT_ENGINE_INTERP)
        printf("spec: %zu module(s) fell back from the %s engine\n", fallbacks,
               wasmslot_engine_name(ro.engine));
    printf("spec: %zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
    return failed > 0 ? 1 : 0;
}
