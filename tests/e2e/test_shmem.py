#!/usr/bin/env python3
"""test_shmem.py: shared memories through the daemon: [shmem] sections and `import =` bindings
checked by -t, calls with "threads" (results in thread order, a trap with its thread index,
the limits), N threads adding to an atomic counter giving exactly N*K, a second module and
other connections seeing the same bytes, per-memory statistics, and reloads that keep an
unchanged memory and replace a changed one."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (DAEMON, USER_LINE, Conn, Daemon, check, check_eq, err_code, fixture, i32,
                    run_main, stat_sum, trap_name, wait_until)

THREADS = 3  # executor_threads of the test daemon
K = 20000    # additions per thread


def t(conf):
    r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def results(r):
    return [x["value"] for x in (r.get("results") or [])]


def thread_results(r):
    return [[x["value"] for x in res] for res in (r.get("thread_results") or [])]


SHMEM = "[shmem counter]\nmin = 64K\nmax = 1M\n"

BAD = [
    # (config text after [daemon], line of the error, words of the message)
    ("[shmem s]\nmin = 64K\n[module m]\npath = %(e2e)s\n", 2, "[shmem s] has no 'max'"),
    ("[shmem s]\nmax = 100000\n", 3, "max: 100000 is not a multiple of the 64K page size"),
    ("[shmem s]\nmin = 2M\nmax = 1M\n", 2, "min 2097152 is larger than max 1048576"),
    ("[shmem s]\nmax = 8G\n", 3, "out of range"),
    ("[shmem s]\nmax = 1M\nsize = 1M\n", 4, "unknown directive 'size' in [shmem s]"),
    ("[shmem s]\nmax = 1M\n[shmem s]\nmax = 1M\n", 4, "shmem 's' is defined twice"),
    ("[shmem]\n", 2, "the name must be"),
    # A binding to a shmem that does not exist.
    ("[module m]\npath = %(reader)s\nimport = env.memory shmem:nope\n", 4,
     "import env.memory: no [shmem nope] section"),
    ("[module m]\npath = %(reader)s\nimport = env.memory counter\n", 4,
     "import: expected 'MODULE.NAME shmem:SHMEM'"),
    (SHMEM + "[module m]\npath = %(reader)s\nimport = env.memory shmem:counter\n"
     "import = env.memory shmem:counter\n", 8, "import: env.memory is bound twice"),
    # A module without that import.
    (SHMEM + "[module m]\npath = %(e2e)s\nimport = env.memory shmem:counter\n", 7,
     "module 'm': import = env.memory: the module has no import env.memory"),
    (SHMEM + "[module m]\npath = %(reader)s\nimport = env.mem shmem:counter\n", 7,
     "the module has no import env.mem"),
    # Imports it cannot be given.
    (SHMEM + "[module m]\npath = %(unshared)s\nimport = env.memory shmem:counter\n", 7,
     "imports an unshared memory"),
    ("[shmem big]\nmax = 2M\n[module m]\npath = %(reader)s\nimport = env.memory shmem:big\n", 6,
     "shmem 'big' may grow to 32 pages, more than the import's maximum of 16"),
    (SHMEM + "[module m]\npath = %(reader)s\n", 5, "it imports the memory env.memory: bind it"),
]


def test_check(d):
    conf = os.path.join(d.dir, "bad.conf")
    fx = {"e2e": fixture("e2e"), "reader": fixture("shm_reader"),
          "unshared": fixture("shm_unshared")}
    for text, line, words in BAD:
        body = "[daemon]\n" + text % fx
        if "[module" not in body:
            body += "[module ok]\npath = %s\n" % fixture("e2e")
        with open(conf, "w") as f:
            f.write(body)
        rc, out = t(conf)
        where = "%s:%d: " % (conf, line)
        check(rc == 1 and out.startswith(where) and words in out,
              "-t rejects %r with %s... %s" % (text.strip().replace("\n", " | "), where, words),
              out)
    with open(conf, "w") as f:
        f.write("[daemon]\n" + USER_LINE + SHMEM + "[module r]\npath = %s\nimport = env.memory shmem:counter\n"
                % fixture("shm_reader"))
    rc, out = t(conf)
    check_eq((rc, "ok" in out), (0, True), "-t accepts a shmem and a module bound to it")


def test_threads(d):
    c = Conn(d.sock)
    r = c.call("reader", "mark", [i32(7)], threads=THREADS)
    check_eq(thread_results(r), [[10 * i] for i in range(THREADS)],
             "call with threads: every thread's results in thread order (index passed first)")
    seen = [results(c.call("reader", "peek", [i32(i)])) for i in range(THREADS)]
    check_eq(seen, [[7]] * THREADS, "later instances see what the threads wrote")
    r = c.call("reader", "mark", [i32(9)], threads=1)
    check_eq(thread_results(r), [[0]], "threads=1 is a call on one thread with index 0")
    r = c.call("reader", "trap_if", [i32(1)], threads=THREADS)
    check_eq((err_code(r), trap_name(r), (r.get("error") or {}).get("thread")),
             ("trap", "unreachable", 1), "a trap in one thread is reported with its index")
    r = c.call("reader", "mark", [i32(1)], threads=THREADS + 1)
    check_eq(err_code(r), "bad_field", "threads above executor_threads is rejected")
    r = c.call("reader", "mark", [i32(1)], threads=0)
    check_eq(err_code(r), "bad_field", "threads=0 is rejected")
    r = c.call("reader", "mark", [i32(1)], threads="2")
    check_eq(err_code(r), "bad_field", "threads must be an integer")
    r = c.call("reader", "get", [], threads=2)
    check_eq(err_code(r), "bad_arguments", "an export without the (i32 index) parameter")
    r = c.call("small", "mark", [i32(1)], threads=2)
    check_eq(err_code(r), "pool_exhausted", "threads above the pool's slots: pool_exhausted")
    held = [c.instantiate("reader")["instance"] for _ in range(3)]
    r = c.call("reader", "mark", [i32(1)], threads=2)
    check_eq(err_code(r), "pool_exhausted", "threads above the free slots: pool_exhausted")
    check_eq(thread_results(c.call("reader", "mark", [i32(3)], threads=1)), [[0]],
             "   and the slot taken meanwhile was given back")
    for x in held:
        c.terminate(x)
    h = c.instantiate("reader")["instance"]
    r = c.run(h, "mark", [i32(0), i32(1)], threads=2)
    check_eq(err_code(r), "bad_field", "run takes no threads (an instance is one thread)")
    c.terminate(h)
    c.close()


def test_counter(d):
    c = Conn(d.sock)
    if not d.has_atomics:
        print("SKIP atomic counter: the engine does not compile counter.wasm yet (needs the "
              "threads proposal's atomics in the interpreter)")
        return
    c.call("counter", "reset")
    r = c.call("counter", "add", [i32(K)], threads=THREADS)
    check_eq(thread_results(r), [[i] for i in range(THREADS)],
             "%d threads add %d each to the shared counter" % (THREADS, K))
    check_eq(results(c.call("counter", "get")), [THREADS * K],
             "the counter is exactly threads * iterations (%d)" % (THREADS * K))
    check_eq(results(c.call("reader", "get")), [THREADS * K],
             "another module bound to the same shmem reads the same counter")
    # Connections are spread over both workers: every one sees the same value.
    conns = [Conn(d.sock) for _ in range(6)]
    vals = [results(x.call("reader", "get"))[0] for x in conns]
    check_eq(vals, [THREADS * K] * 6, "connections served by any worker see the same bytes")
    for x in conns:
        x.close()
    # Threads really run at the same time: each waits until the others have arrived.
    r = c.call("counter", "rendezvous", [i32(2)], threads=2, deadline_ms=5000)
    check(sorted(sum(thread_results(r), [])) == [0, 1],
          "two threads meet in a rendezvous (memory.atomic.wait32/notify)", r)
    s = c.stats()
    check(stat_sum(s, "shmem_notifies", shmem="counter") >= 1,
          "stats count the rendezvous' notify")
    check(stat_sum(s, "shmem_waits", shmem="counter") >= 1, "   and the wait that slept")
    # Waiting for a third thread that never comes: every thread ends at the deadline.
    c.call("counter", "reset")
    t0 = time.time()
    r = c.call("counter", "rendezvous", [i32(3)], threads=2, deadline_ms=300)
    check_eq((err_code(r), trap_name(r), (r.get("error") or {}).get("thread")),
             ("trap", "timeout", 0), "threads waiting past the deadline end with timeout")
    check(time.time() - t0 < 5, "   at the deadline")
    r = c.call("counter", "add", [i32(10)], threads=2)
    check_eq(thread_results(r), [[0], [1]], "the slots serve the next threaded call")
    c.close()


def test_stats(d, bindings):
    c = Conn(d.sock)
    s = c.stats()
    check_eq((stat_sum(s, "shmem_size_bytes", shmem="counter"),
              stat_sum(s, "shmem_max_bytes", shmem="counter"),
              stat_sum(s, "shmem_grows", shmem="counter"),
              stat_sum(s, "shmem_bindings", shmem="counter")),
             (65536, 1 << 20, 0, bindings), "stats: the shmem's size, max, grows and bindings")
    check(stat_sum(s, "shmem_references", shmem="counter") >= 1, "stats: its references")
    check_eq(results(c.call("reader", "grow", [i32(1)])), [1], "a guest grows the shmem")
    s = c.stats()
    check_eq((stat_sum(s, "shmem_size_bytes", shmem="counter"),
              stat_sum(s, "shmem_grows", shmem="counter")), (131072, 1),
             "stats show the new size and the grow")
    check_eq(results(Conn(d.sock).call("reader", "pages")), [2],
             "every instance sees the grown memory")
    text = c.rq({"op": "stats", "format": "openmetrics"}).get("text") or ""
    check('shmem_size_bytes{shmem="counter"} 131072' in text and
          'shmem_grows_total{shmem="counter"} 1' in text,
          "OpenMetrics has the shmem samples", text[:400])
    c.close()


def generation(d):
    # A connection that a retiring worker accepted just before it retired is answered
    # shutting_down (or closed before the request went): the new generation is not serving
    # it yet.
    try:
        c = Conn(d.sock)
        r = c.rq({"op": "stats"})
        c.close()
    except (OSError, EOFError):
        return None
    return stat_sum(r["stats"], "generation") if r.get("ok") else None


def reload(d, gen, **kw):
    old = set(d.workers())
    d.write_conf(**kw)
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: generation(d) == gen, timeout=5), "reload to generation %d" % gen)
    # Only the new generation accepts once the old workers have left.
    wait_until(lambda: not (set(d.workers()) & old), timeout=8)


def test_reload(d):
    c = Conn(d.sock)
    c.call("reader", "set", [i32(424242)])
    c.close()
    mods = dict(d.modules)
    mods["reader"] = dict(mods["reader"], deadline="2s")
    reload(d, 2, modules=mods)
    c = Conn(d.sock)
    check_eq(results(c.call("reader", "get")), [424242],
             "a reload with the [shmem] section unchanged keeps its bytes")
    check_eq(results(c.call("reader", "pages")), [2], "   and its grown size")
    c.close()
    check("shmem 'counter': kept across the reload" in d.log_text(), "the log says it was kept")
    reload(d, 3, extra="[shmem counter]\nmin = 128K\nmax = 1M\n")
    c = Conn(d.sock)
    check_eq((results(c.call("reader", "get")), results(c.call("reader", "pages"))), ([0], [2]),
             "a changed [shmem] section gives a new, empty memory of its new size")
    c.close()
    check("is released when its last worker exits" in d.log_text(),
          "the log says the old memory is released with the old generation")


def main():
    probe = Daemon(modules={"counter": {"path": fixture("counter"), "slots": "4",
                                        "import": "env.memory shmem:counter"}},
                   extra=SHMEM, start=False)
    has_atomics = subprocess.run([DAEMON, "-t", "-c", probe.conf],
                                 capture_output=True).returncode == 0
    mods = {
        "reader": {"path": fixture("shm_reader"), "slots": "4",
                   "import": "env.memory shmem:counter"},
        "small": {"path": fixture("shm_reader"), "slots": "1",
                  "import": "env.memory shmem:counter"},
    }
    if has_atomics:
        mods["counter"] = {"path": fixture("counter"), "slots": "4",
                           "import": "env.memory shmem:counter"}
    d = Daemon(modules=mods, extra=SHMEM, daemon={"workers": "2",
                                                  "executor_threads": str(THREADS)})
    d.has_atomics = has_atomics
    test_check(d)
    test_threads(d)
    test_counter(d)
    test_stats(d, len(mods))
    test_reload(d)
    check_eq(d.stop(), 0, "SIGTERM stops the daemon with status 0")


run_main(main)
