/* mem/shmem.c: shared memories (a memfd mapped MAP_SHARED at a fixed base, with its size, grow lock
 * and waiter queues in a process-shared header) and memory.atomic.wait/notify for every shared
 * memory. */
#include "config.h"

#include "mem/shmem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* helgrind models neither C11 atomics nor futexes: the published size and the waiters' futex
 * words are declared benign races and their release/acquire pairs described explicitly (a few
 * instructions each, nothing without valgrind's header). */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#endif
#endif
#ifndef ANNOTATE_HAPPENS_BEFORE
#define ANNOTATE_HAPPENS_BEFORE(obj) ((void)0)
#define ANNOTATE_HAPPENS_AFTER(obj)  ((void)0)
#endif
#ifndef ANNOTATE_BENIGN_RACE_SIZED
#define ANNOTATE_BENIGN_RACE_SIZED(obj, size, why) ((void)0)
#endif

#define SHMEM_SPAN (WASMSLOT_MEM_RESERVE + WASMSLOT_MEM_GUARD)

/* How often a waiter with an execution context looks at its interruption flag. */
#define WAIT_POLL_NS 10000000ull

/*
 * Waiter queues.
 *
 * Every waiter takes a slot of a fixed table and, under its key's bucket lock, compares the
 * value and links the slot at the tail of the bucket's FIFO; then it sleeps on the slot's own
 * futex word (its state) with the lock released. A notifier takes the same lock, unlinks up to
 * count slots of its key and marks them woken, and wakes their futexes after releasing the
 * lock (so a woken waiter never runs into a lock still held for it).
 *
 * Why no wake-up is lost: a notifier writes the value before it takes the lock, so a waiter
 * that compared before the notifier held the lock is already queued when the notifier looks,
 * and one that compares afterwards sees the new value; and a waiter only sleeps while its
 * state is still "waiting" (FUTEX_WAIT compares it atomically), so a wake that comes before it
 * sleeps is not missed. Why the count is exact: only a notifier marks a slot woken (under the
 * lock, so at most one does), and a waiter whose timeout races with a notify rechecks under
 * the lock and reports "ok" when it finds itself woken, so every waiter a notifier counted
 * returns "ok" and no other does. A wake may reach a slot already reused by another waiter:
 * that waiter sees its own state still "waiting" and sleeps again.
 *
 * Everything in the table is indices and plain integers, so the same table works in a
 * process-shared header (robust process-shared mutexes, futexes without FUTEX_PRIVATE_FLAG, so
 * they work across processes on the MAP_SHARED page) and in process-private memory (the one
 * table for the plain shared memories of the process, keyed by address).
 */

#define WQ_NONE UINT32_MAX

enum { W_FREE, W_WAITING, W_WOKEN };

struct wq_waiter {
    uint64_t key;
    uint32_t next;          /* next in the bucket's FIFO, or in the free list */
    _Atomic uint32_t state; /* W_*, the futex word; changed under the bucket's lock */
    pid_t pid;              /* the waiting process, to drop waiters of dead processes */
};

/* Everything in a bucket is under its lock, the statistics too (summed over the buckets when
 * read), so that no counter is a shared cache line bounced between unrelated waiters. */
struct wq_bucket {
    pthread_mutex_t lock;
    uint32_t head, tail; /* FIFO of waiting slots, oldest first */
    uint32_t nwaiting;
    uint64_t waits, wakeups, timeouts, notifies;
};

struct waitq {
    struct wq_bucket buckets[SHMEM__BUCKETS];
    pthread_mutex_t free_lock; /* guards free_head and the free list's links */
    uint32_t free_head;
    int futex_private; /* FUTEX_PRIVATE_FLAG for a process-private table, else 0 */
    struct wq_waiter waiters[WASMSLOT_SHMEM_MAX_WAITERS];
};

/* The process-shared header of a wasmslot_shmem_new memory, in its own MAP_SHARED anonymous mapping
 * so that fork() shares it with the children. */
struct shmem_hdr {
    pthread_mutex_t grow_lock; /* robust, process-shared: serialises grows of every process */
    _Atomic size_t size;       /* the current size: the authority for every process */
    size_t file_size;          /* the memfd's size; under grow_lock */
    uint64_t grows;            /* under grow_lock */
    struct waitq q;
};

/* A wasmslot_shmem_new memory: per process (each process has its own copy after fork). */
struct shmem {
    struct wasmslot_memory mem;
    int fd;
    struct shmem_hdr *hdr;
    size_t hdr_len;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Take a robust mutex. If its owner died holding it, the state it guards is made consistent
 * again as it stands: grows publish the size last and queue updates are short, so at worst a
 * waiter of the dead process stays queued. */
static void lock_robust(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) == EOWNERDEAD)
        pthread_mutex_consistent(m);
}

static int wq_init(struct waitq *q, bool pshared)
{
    pthread_mutexattr_t ma;
    int rc = 0;

    pthread_mutexattr_init(&ma);
    if (pshared) {
        rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        if (rc == 0)
            rc = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    }
    for (uint32_t i = 0; rc == 0 && i < SHMEM__BUCKETS; i++) {
        memset(&q->buckets[i], 0, sizeof(q->buckets[i]));
        q->buckets[i].head = q->buckets[i].tail = WQ_NONE;
        rc = pthread_mutex_init(&q->buckets[i].lock, &ma);
    }
    if (rc == 0)
        rc = pthread_mutex_init(&q->free_lock, &ma);
    for (uint32_t i = 0; i < WASMSLOT_SHMEM_MAX_WAITERS; i++) {
        q->waiters[i].next = i + 1 < WASMSLOT_SHMEM_MAX_WAITERS ? i + 1 : WQ_NONE;
        atomic_init(&q->waiters[i].state, W_FREE);
        /* Read outside the lock on purpose (the futex protocol above). */
        ANNOTATE_BENIGN_RACE_SIZED(&q->waiters[i].state, sizeof(q->waiters[i].state), "futex word");
    }
    q->free_head = 0;
    q->futex_private = pshared ? 0 : FUTEX_PRIVATE_FLAG;
    pthread_mutexattr_destroy(&ma);
    /* Nothing to undo on failure: the mutexes hold no resources, and the memory holding them
     * is unmapped by the caller. */
    return -rc;
}

/* Sleep while *word is val, until the absolute CLOCK_MONOTONIC time `until` (UINT64_MAX:
 * forever). Any return may be early or spurious; the caller looks again. */
static void futex_wait_until(_Atomic uint32_t *word, uint32_t val, uint64_t until, int priv)
{
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
                          .tv_nsec = (long)(until % 1000000000ull)};

    /* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC. */
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET | priv, val, until == UINT64_MAX ? NULL : &ts, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

static void futex_wake_one(_Atomic uint32_t *word, int priv)
{
    syscall(SYS_futex, word, FUTEX_WAKE | priv, 1, NULL, NULL, 0);
}

static struct wq_bucket *wq_bucket(struct waitq *q, uint64_t key)
{
    /* Fibonacci hashing: neighbouring words (the usual case) land in different buckets. */
    return &q->buckets[(key * 0x9e3779b97f4a7c15ull) >> (64 - 6)];
}
_Static_assert(SHMEM__BUCKETS == 64, "wq_bucket takes the top 6 bits");

static uint32_t wq_alloc(struct waitq *q)
{
    uint32_t i;

    lock_robust(&q->free_lock);
    i = q->free_head;
    if (i != WQ_NONE)
        q->free_head = q->waiters[i].next;
    pthread_mutex_unlock(&q->free_lock);
    return i;
}

static void wq_free(struct waitq *q, uint32_t i)
{
    lock_robust(&q->free_lock);
    q->waiters[i].next = q->free_head;
    q->free_head = i;
    pthread_mutex_unlock(&q->free_lock);
}

/* Remove waiter i from b's FIFO; the caller holds b's lock. */
static void do_wq_unlink(struct waitq *q, struct wq_bucket *b, uint32_t i)
{
    uint32_t prev = WQ_NONE;

    for (uint32_t j = b->head; j != WQ_NONE; prev = j, j = q->waiters[j].next) {
        if (j != i)
            continue;
        if (prev == WQ_NONE)
            b->head = q->waiters[i].next;
        else
            q->waiters[prev].next = q->waiters[i].next;
        if (b->tail == i)
            b->tail = prev;
        return;
    }
}

/* Whether the run on ex must stop: interrupted, or at its deadline. */
static bool exec_must_stop(struct wasmslot_exec *ex, uint64_t now)
{
    return atomic_load_explicit(&ex->interrupt, memory_order_relaxed) ||
           (ex->deadline_ns != 0 && now >= ex->deadline_ns);
}

static int wq_wait(struct waitq *q, uint64_t key, void *addr, bool is64, uint64_t expected,
                   int64_t timeout_ns, struct wasmslot_exec *ex)
{
    struct wq_bucket *b = wq_bucket(q, key);
    uint64_t now = now_ns(), until = UINT64_MAX, cur;
    struct wq_waiter *w;
    uint32_t i;
    int rc;

    if (timeout_ns >= 0)
        until = (uint64_t)timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)timeout_ns;
    i = wq_alloc(q);
    if (i == WQ_NONE)
        return -WASMSLOT_ELIMIT;
    w = &q->waiters[i];

    lock_robust(&b->lock);
    /* Sequentially consistent, like the guest's own atomics on the same word. */
    if (is64)
        cur = atomic_load((_Atomic uint64_t *)addr);
    else
        cur = atomic_load((_Atomic uint32_t *)addr);
    if (cur != expected) {
        pthread_mutex_unlock(&b->lock);
        rc = WASMSLOT_SHMEM_WAIT_NOT_EQUAL;
        goto out;
    }
    w->key = key;
    w->next = WQ_NONE;
    w->pid = getpid();
    atomic_store_explicit(&w->state, W_WAITING, memory_order_relaxed);
    if (b->tail == WQ_NONE)
        b->head = i;
    else
        q->waiters[b->tail].next = i;
    b->tail = i;
    b->waits++;
    b->nwaiting++;
    pthread_mutex_unlock(&b->lock);
    /* The run is about to sleep: whoever watches its length (wasmslot_exec_set_notify) learns
     * it now rather than when it wakes. */
    wasmslot_exec__blocking(ex);

    for (;;) {
        uint64_t wake = until;

        /* Pairs with the release store of the notifier that unlinked this waiter. */
        if (atomic_load_explicit(&w->state, memory_order_acquire) == W_WOKEN) {
            ANNOTATE_HAPPENS_AFTER(&w->state);
            rc = WASMSLOT_SHMEM_WAIT_OK;
            break;
        }
        rc = ex != NULL && exec_must_stop(ex, now) ? -WASMSLOT_TRAP_TIMEOUT
             : now >= until                        ? WASMSLOT_SHMEM_WAIT_TIMED_OUT
                                                   : 0;
        if (rc != 0) {
            /* Leave the queue, unless a notifier took this waiter out meanwhile: then it
             * counted it, and the wait is "ok". */
            lock_robust(&b->lock);
            if (atomic_load_explicit(&w->state, memory_order_relaxed) == W_WOKEN) {
                rc = WASMSLOT_SHMEM_WAIT_OK;
            } else {
                do_wq_unlink(q, b, i);
                b->nwaiting--;
                if (rc == WASMSLOT_SHMEM_WAIT_TIMED_OUT)
                    b->timeouts++;
            }
            pthread_mutex_unlock(&b->lock);
            break;
        }
        if (ex != NULL) {
            /* Nothing wakes a waiter when its run is interrupted, so it looks now and then,
             * and it never sleeps past the run's deadline. */
            if (wake - now > WAIT_POLL_NS)
                wake = now + WAIT_POLL_NS;
            if (ex->deadline_ns != 0 && wake > ex->deadline_ns)
                wake = ex->deadline_ns;
        }
        futex_wait_until(&w->state, W_WAITING, wake, q->futex_private);
        now = now_ns();
    }
out:
    atomic_store_explicit(&w->state, W_FREE, memory_order_relaxed);
    wq_free(q, i);
    return rc;
}

/* Whether waiter w belongs to a process that no longer exists (killed while it waited): only
 * in a process-shared table, and only for another process (kill(0) is one cheap syscall). */
static bool wq_waiter_dead(const struct waitq *q, const struct wq_waiter *w, pid_t self)
{
    return q->futex_private == 0 && w->pid != self && kill(w->pid, 0) != 0 && errno == ESRCH;
}

static int wq_notify(struct waitq *q, uint64_t key, uint32_t count)
{
    struct wq_bucket *b = wq_bucket(q, key);
    uint32_t prev = WQ_NONE, i, next, woken[64], dead[16];
    int n = 0, nw = 0, nd = 0;
    pid_t self = getpid();

    lock_robust(&b->lock);
    for (i = b->head; i != WQ_NONE && (uint32_t)n < count; i = next) {
        struct wq_waiter *w = &q->waiters[i];
        bool is_dead;

        next = w->next;
        if (w->key != key) {
            prev = i;
            continue;
        }
        /* A waiter whose process died is not woken nor counted: it leaves the queue and its
         * slot goes back to the free list (nobody else would free it). */
        is_dead = wq_waiter_dead(q, w, self);
        if (is_dead && nd == (int)(sizeof dead / sizeof dead[0])) {
            prev = i; /* no room to free it now; a later notify will */
            continue;
        }
        if (prev == WQ_NONE)
            b->head = next;
        else
            q->waiters[prev].next = next;
        if (b->tail == i)
            b->tail = prev;
        if (is_dead) {
            atomic_store_explicit(&w->state, W_FREE, memory_order_relaxed);
            b->nwaiting--;
            dead[nd++] = i;
            continue;
        }
        ANNOTATE_HAPPENS_BEFORE(&w->state);
        atomic_store_explicit(&w->state, W_WOKEN, memory_order_release);
        /* Woken after the unlock, so it does not wake into a held lock; past the local
         * array's room (a rare mass notify) it is woken at once. */
        if (nw < (int)(sizeof woken / sizeof woken[0]))
            woken[nw++] = i;
        else
            futex_wake_one(&w->state, q->futex_private);
        n++;
    }
    b->nwaiting -= (uint32_t)n;
    b->notifies++;
    b->wakeups += (uint64_t)n;
    pthread_mutex_unlock(&b->lock);
    for (int k = 0; k < nw; k++)
        futex_wake_one(&q->waiters[woken[k]].state, q->futex_private);
    for (int k = 0; k < nd; k++)
        wq_free(q, dead[k]);
    return n;
}

/* The queues of the plain shared memories of this process (wasmslot_memory_new with shared=true),
 * keyed by host address since such a memory is never seen by another process. */
static struct waitq local_q;
static int local_q_rc;

/* Made before main, on the main thread, rather than lazily: every thread that can wait starts
 * after it, with no pthread_once on the wait path (which helgrind cannot see through either). */
__attribute__((constructor)) static void local_q_init(void)
{
    local_q_rc = wq_init(&local_q, false);
}

struct wq_sums {
    uint64_t nwaiting, waits, wakeups, timeouts, notifies;
};

static void wq_sum(struct waitq *q, struct wq_sums *s)
{
    memset(s, 0, sizeof(*s));
    for (uint32_t i = 0; i < SHMEM__BUCKETS; i++) {
        struct wq_bucket *b = &q->buckets[i];

        lock_robust(&b->lock);
        s->nwaiting += b->nwaiting;
        s->waits += b->waits;
        s->wakeups += b->wakeups;
        s->timeouts += b->timeouts;
        s->notifies += b->notifies;
        pthread_mutex_unlock(&b->lock);
    }
}

/* ---------------------------------------------------------------- the memory object */

static size_t shmem_size(const struct wasmslot_memory *mem)
{
    const struct shmem *sh = mem->owner;

    /* Pairs with the release store in shmem_grow_pages, possibly made by another process. */
    size_t size = atomic_load_explicit(&sh->hdr->size, memory_order_acquire);

    ANNOTATE_HAPPENS_AFTER(&sh->hdr->size);
    return size;
}

/* Take the grow lock of every process sharing the memory. */
static void lock_grow(struct shmem *sh)
{
    struct shmem_hdr *h = sh->hdr;

    if (pthread_mutex_lock(&h->grow_lock) == EOWNERDEAD) {
        struct stat st;

        /* The dead owner may have grown the file without publishing the size; the file is
         * sealed against shrinking, so the next grow starts from its real size. */
        if (fstat(sh->fd, &st) == 0 && (size_t)st.st_size > h->file_size)
            h->file_size = (size_t)st.st_size;
        pthread_mutex_consistent(&h->grow_lock);
    }
}

static int shmem_grow_pages(struct wasmslot_memory *mem, uint32_t delta_pages, uint32_t *old_pages)
{
    struct shmem *sh = mem->owner;
    struct shmem_hdr *h = sh->hdr;
    size_t old_size, new_size;
    uint64_t new_pages;
    int rc = 0;

    lock_grow(sh);
    /* Under the lock no process changes the size; relaxed is enough. */
    old_size = atomic_load_explicit(&h->size, memory_order_relaxed);
    new_pages = (uint64_t)(old_size / WASMSLOT_PAGE_SIZE) + delta_pages;
    if (new_pages > mem->max_pages) {
        rc = -WASMSLOT_ELIMIT;
        goto out;
    }
    if (delta_pages > 0) {
        new_size = (size_t)new_pages * WASMSLOT_PAGE_SIZE;
        if (new_size > h->file_size) {
            if (ftruncate(sh->fd, (off_t)new_size) != 0) {
                rc = -errno;
                goto out;
            }
            h->file_size = new_size;
        }
        /* Published only now that the pages are there: every process maps [0, maximum) of the
         * memfd already, so they are accessible everywhere once the file has grown. */
        ANNOTATE_HAPPENS_BEFORE(&h->size);
        atomic_store_explicit(&h->size, new_size, memory_order_release);
        atomic_store_explicit(&mem->size, new_size, memory_order_release);
        h->grows++;
        atomic_fetch_add_explicit(&mem->grows, 1, memory_order_relaxed);
    }
    if (old_pages != NULL)
        *old_pages = (uint32_t)(old_size / WASMSLOT_PAGE_SIZE);
out:
    pthread_mutex_unlock(&h->grow_lock);
    return rc;
}

/* Only reached if a caller bypasses wasmslot_memory_grow, which delegates to shmem_grow_pages. */
static int shmem_grow(struct wasmslot_memory *mem, size_t new_size)
{
    (void)mem;
    (void)new_size;
    return -ENOTSUP;
}

static void shmem_destroy(struct wasmslot_memory *mem)
{
    struct shmem *sh = mem->owner;

    /* Only this process's mappings go: other processes sharing the memory keep theirs, and the
     * kernel frees the pages with the last mapping. The header's locks are not destroyed for
     * the same reason. */
    munmap(mem->base, SHMEM_SPAN);
    close(sh->fd);
    munmap(sh->hdr, sh->hdr_len);
    free(sh);
}

static const struct wasmslot_memory_ops shmem_ops = {
    .grow = shmem_grow,
    .destroy = shmem_destroy,
    .size = shmem_size,
    .grow_pages = shmem_grow_pages,
};

bool shmem__owns(const struct wasmslot_memory *mem)
{
    return mem != NULL && mem->ops == &shmem_ops;
}

bool wasmslot_shmem_is_shmem(const struct wasmslot_memory *mem)
{
    return shmem__owns(mem);
}

static int hdr_init(struct shmem_hdr *h, size_t size)
{
    pthread_mutexattr_t ma;
    int rc;

    pthread_mutexattr_init(&ma);
    rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(&h->grow_lock, &ma);
    pthread_mutexattr_destroy(&ma);
    if (rc != 0)
        return -rc;
    atomic_init(&h->size, size);
    ANNOTATE_BENIGN_RACE_SIZED(&h->size, sizeof(h->size), "C11 atomic");
    h->file_size = size;
    h->grows = 0;
    return wq_init(&h->q, true);
}

struct wasmslot_memory *wasmslot_shmem_new(const char *name, uint32_t min_pages, uint32_t max_pages,
                                           struct wasmslot_error *err)
{
    struct shmem *sh = NULL;
    void *base = MAP_FAILED, *hdr = MAP_FAILED;
    size_t size = (size_t)min_pages * WASMSLOT_PAGE_SIZE,
           max_bytes = (size_t)max_pages * WASMSLOT_PAGE_SIZE;
    size_t hdr_len = (sizeof(struct shmem_hdr) + 4095) & ~(size_t)4095;
    int fd = -1, rc;
    const char *what;

    if (max_pages > 65536 || min_pages > max_pages) {
        wasmslot_error_set(err, EINVAL, "shared memory limits %u..%u pages are out of range",
                           min_pages, max_pages);
        return NULL;
    }
    sh = calloc(1, sizeof(*sh));
    if (sh == NULL) {
        rc = -ENOMEM;
        what = "allocate";
        goto fail;
    }
    /* Sealing against shrinking: a page below the published size can never disappear under a
     * guest that is using it, whatever another process does with the fd. */
    what = "memfd_create";
    fd = memfd_create(name != NULL ? name : "wasmslot-shmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        goto fail_errno;
    what = "ftruncate";
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail_errno;
    what = "seal";
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
        goto fail_errno;
    what = "map the header of";
    hdr = mmap(NULL, hdr_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (hdr == MAP_FAILED)
        goto fail_errno;
    rc = hdr_init(hdr, size);
    if (rc < 0) {
        what = "initialise the locks of";
        goto fail;
    }
    /* One reservation for the memory's whole life, so the base never moves and every access
     * past the maximum faults; the memfd covers [0, maximum) from the start, so a grow is a
     * mere ftruncate, seen at once by every thread and process that maps it. */
    what = "reserve";
    base = mmap(NULL, SHMEM_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        goto fail_errno;
    what = "map";
    if (max_bytes > 0 &&
        mmap(base, max_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
        goto fail_errno;

    sh->fd = fd;
    sh->hdr = hdr;
    sh->hdr_len = hdr_len;
    wasmslot_memory__init(&sh->mem, base, size, max_pages, true, &shmem_ops, sh);
    return &sh->mem;

fail_errno:
    rc = -errno;
fail:
    wasmslot_error_set(err, -rc, "cannot %s a shared memory: %s", what, wasmslot_strerror(rc));
    if (base != MAP_FAILED)
        munmap(base, SHMEM_SPAN);
    if (hdr != MAP_FAILED)
        munmap(hdr, hdr_len);
    if (fd >= 0)
        close(fd);
    free(sh);
    return NULL;
}

/* ---------------------------------------------------------------- wait / notify */

/* The checks every wait and notify makes, in the order of the threads proposal's tests. */
static int check_access(const struct wasmslot_memory *mem, uint64_t offset, uint64_t width)
{
    if (offset > UINT64_MAX - width || offset + width > wasmslot_memory__size(mem))
        return -WASMSLOT_TRAP_OOB_MEMORY;
    if (offset % width != 0)
        return -WASMSLOT_TRAP_UNALIGNED_ATOMIC;
    return 0;
}

/* The queue and key of a word: a wasmslot_shmem_new memory's own queue keyed by offset (the same in
 * every process), or the process's queue keyed by address. */
static struct waitq *queue_of(struct wasmslot_memory *mem, uint64_t offset, uint64_t *key)
{
    if (shmem__owns(mem)) {
        *key = offset;
        return &((struct shmem *)mem->owner)->hdr->q;
    }
    if (local_q_rc != 0)
        return NULL;
    *key = (uint64_t)(uintptr_t)(mem->base + offset);
    return &local_q;
}

static int do_wait(struct wasmslot_memory *mem, uint64_t offset, bool is64, uint64_t expected,
                   int64_t timeout_ns, struct wasmslot_exec *ex)
{
    uint64_t key;
    struct waitq *q;
    int rc = check_access(mem, offset, is64 ? 8 : 4);

    if (rc < 0)
        return rc;
    if (!mem->shared)
        return -WASMSLOT_TRAP_EXPECTED_SHARED;
    q = queue_of(mem, offset, &key);
    if (q == NULL)
        return local_q_rc;
    return wq_wait(q, key, mem->base + offset, is64, expected, timeout_ns, ex);
}

int wasmslot_shmem_wait32(struct wasmslot_memory *mem, uint64_t offset, uint32_t expected,
                          int64_t timeout_ns, struct wasmslot_exec *ex)
{
    return do_wait(mem, offset, false, expected, timeout_ns, ex);
}

int wasmslot_shmem_wait64(struct wasmslot_memory *mem, uint64_t offset, uint64_t expected,
                          int64_t timeout_ns, struct wasmslot_exec *ex)
{
    return do_wait(mem, offset, true, expected, timeout_ns, ex);
}

int wasmslot_shmem_notify(struct wasmslot_memory *mem, uint64_t offset, uint32_t count)
{
    uint64_t key;
    struct waitq *q;
    int rc = check_access(mem, offset, 4);

    if (rc < 0)
        return rc;
    if (!mem->shared || count == 0)
        return 0;
    q = queue_of(mem, offset, &key);
    if (q == NULL)
        return 0;
    return wq_notify(q, key, count);
}

void wasmslot_shmem_stats(const struct wasmslot_memory *mem, wasmslot_stats_sink_fn sink, void *arg)
{
    struct wasmslot_memory *m = (struct wasmslot_memory *)mem; /* locks and atomics inside */
    struct waitq *q = NULL;
    struct wq_sums sums;
    uint64_t grows = atomic_load_explicit(&m->grows, memory_order_relaxed);

    if (shmem__owns(m)) {
        struct shmem *sh = m->owner;

        q = &sh->hdr->q;
        lock_grow(sh);
        grows = sh->hdr->grows;
        pthread_mutex_unlock(&sh->hdr->grow_lock);
    } else if (m->shared && local_q_rc == 0) {
        q = &local_q;
    }
    sink(arg, "size_bytes", WASMSLOT_STATS_GAUGE, wasmslot_memory__size(m));
    sink(arg, "max_bytes", WASMSLOT_STATS_GAUGE, (uint64_t)m->max_pages * WASMSLOT_PAGE_SIZE);
    sink(arg, "grows", WASMSLOT_STATS_COUNTER, grows);
    if (q == NULL)
        return;
    wq_sum(q, &sums);
    sink(arg, "waiters", WASMSLOT_STATS_GAUGE, sums.nwaiting);
    sink(arg, "waits", WASMSLOT_STATS_COUNTER, sums.waits);
    sink(arg, "wakeups", WASMSLOT_STATS_COUNTER, sums.wakeups);
    sink(arg, "wait_timeouts", WASMSLOT_STATS_COUNTER, sums.timeouts);
    sink(arg, "notifies", WASMSLOT_STATS_COUNTER, sums.notifies);
}
