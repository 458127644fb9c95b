#!/usr/bin/env python3
"""soak.py: a long mixed load on a real wasmslotd while it is reloaded, broken and stopped
under it (`make soak SOAK_TIME=300`; not part of make check).

24 clients loop over calls, sessions (instantiate, runs, terminate), WASI commands, stats,
traps and timeouts, checking every reply. Meanwhile, every 60 s: a good SIGHUP, a SIGHUP
with a broken config, kill -9 of a worker, SIGSTOP of a worker for 2 s, and another good
SIGHUP. A request that was sent and whose connection ended without a reply (and without the
goodbye line of a retiring worker) is lost, unless the connection ended within a second of a
kill -9 (counted as cut: the worker holding it died); a reply that does not match its
request is wrong. Ends with `soak: requests=N lost=L wrong=W rss_growth=G%`, and exits 1
unless lost = 0, wrong = 0 and the daemon's RSS grew by less than 10%."""

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "..", "e2e"))
from e2elib import Conn, Daemon, err_code, fixture, i32, trap_name  # noqa: E402

NCLIENTS = 24


class Tally:
    def __init__(self):
        self.mu = threading.Lock()
        self.requests = self.lost = self.cut = self.wrong = self.retried = 0
        self.errors = {}
        self.lat = []
        self.wrong_samples = []

    def add(self, **kw):
        with self.mu:
            for k, n in kw.items():
                setattr(self, k, getattr(self, k) + n)

    def error(self, code):
        with self.mu:
            self.errors[code] = self.errors.get(code, 0) + 1

    def bad(self, what):
        with self.mu:
            self.wrong += 1
            if len(self.wrong_samples) < 5:
                self.wrong_samples.append(what)


class Gone(Exception):
    """The connection ended before the reply: lost, or cut by a kill -9."""


class Retire(Exception):
    """A retiring worker answered shutting_down: the request was not run; reconnect."""


class Soak:
    def __init__(self, seconds):
        self.seconds = seconds
        self.t = Tally()
        self.stop = threading.Event()
        self.kills = []  # times of kill -9
        self.kmu = threading.Lock()
        grant_parent = Daemon(start=False)
        grant = os.path.join(grant_parent.dir, "grant")
        os.makedirs(grant)
        with open(os.path.join(grant, "f.txt"), "w") as f:
            f.write("soak\n")
        self.mods = {
            "e2e": {"path": fixture("e2e"), "slots": "32", "deadline": "1s",
                    "pool_wait": "100ms"},
            "fds": {"path": fixture("wasi_fds"), "wasi_dir": grant, "slots": "8"},
        }
        self.d = Daemon(modules=self.mods,
                        daemon={"workers": "2", "executor_threads": "2", "grace_period": "2s",
                                "log_level": "info", "max_inflight_per_connection": "16"})

    # ------------------------------------------------------------ clients

    def rq(self, c, obj):
        """One request; its reply, or Gone / Retire."""
        t0 = time.time()
        self.t.add(requests=1)
        try:
            c.send(obj)
        except OSError:
            pass  # the daemon closed first: its goodbye line (if any) is there to read
        try:
            r = self.read_for(c, obj["id"])
        except (OSError, EOFError, ValueError):
            raise Gone()
        with self.t.mu:
            self.t.lat.append(time.time() - t0)
        if err_code(r) == "shutting_down":
            self.t.add(retried=1)
            raise Retire()
        return r

    @staticmethod
    def read_for(c, rid):
        while True:
            r = c.read_line()
            if r.get("id") == rid or (r.get("id") is None and not r.get("ok")):
                return r

    def client(self, k):
        rnd = random.Random(k)
        n = 0
        kinds = ["call", "session", "wasi", "stats", "trap", "timeout"]
        kind = kinds[k % len(kinds)]
        c = None
        while not self.stop.is_set():
            if c is None:
                try:
                    c = Conn(self.d.sock, timeout=15)
                except OSError:
                    time.sleep(0.05)
                    continue
            try:
                n += 1
                self.one(c, kind, rnd, "%d.%d" % (k, n))
            except Retire:
                c.close()
                c = None
            except Gone:
                t = time.time()
                with self.kmu:
                    cut = any(0 <= t - kt < 1.0 for kt in self.kills)
                self.t.add(**({"cut": 1} if cut else {"lost": 1}))
                if not cut:
                    print("soak: lost a reply of client %d (%s) at %.1f s" %
                          (k, kind, t - self.t0), flush=True)
                c.close()
                c = None
        if c is not None:
            c.close()

    def one(self, c, kind, rnd, rid):
        if kind == "call":
            a, b = rnd.randrange(1 << 20), rnd.randrange(1 << 20)
            r = self.rq(c, {"id": rid, "op": "call", "module": "e2e", "export": "add",
                            "args": [i32(a), i32(b)]})
            self.expect(r.get("results") == [i32(a + b)], r, "add")
        elif kind == "session":
            r = self.rq(c, {"id": rid + "i", "op": "instantiate", "module": "e2e"})
            if not r.get("ok"):
                self.t.error(err_code(r))
                return
            h = r["instance"]
            for i in range(1, 6):
                r = self.rq(c, {"id": "%s.%d" % (rid, i), "op": "run", "instance": h,
                                "export": "incr"})
                self.expect(r.get("results") == [i32(i)], r, "incr %d" % i)
            r = self.rq(c, {"id": rid + "t", "op": "terminate", "instance": h})
            self.expect(r.get("ok") is True, r, "terminate")
        elif kind == "wasi":
            r = self.rq(c, {"id": rid, "op": "call", "module": "fds", "export": "_start"})
            self.expect(r.get("ok") is True and r.get("exit_code") == 0, r, "wasi")
        elif kind == "stats":
            r = self.rq(c, {"id": rid, "op": "stats"})
            self.expect(r.get("ok") is True and isinstance(r.get("stats"), list), r, "stats")
        elif kind == "trap":
            r = self.rq(c, {"id": rid, "op": "call", "module": "e2e", "export": "trap_div_zero",
                            "args": [i32(0)]})
            self.expect(trap_name(r) == "integer_divide_by_zero", r, "trap")
        else:
            r = self.rq(c, {"id": rid, "op": "call", "module": "e2e", "export": "spin",
                            "deadline_ms": 20})
            self.expect(trap_name(r) == "timeout", r, "timeout")

    def expect(self, ok, r, what):
        if ok:
            return
        code = err_code(r)
        # Refusals for load are errors, not wrong answers.
        if code in ("pool_exhausted", "too_many_requests", "limit_reached", "internal_error"):
            self.t.error(code)
        else:
            self.t.bad("%s: %r" % (what, r))

    # ------------------------------------------------------------ the daemon

    def rss_kb(self, pids=None):
        total = 0
        for pid in pids if pids is not None else [self.d.pid] + self.d.workers():
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def reload(self, broken=False):
        if broken:
            self.d.write_conf(text=self.d.conf_text() + "[module broken]\nslots = lots\n")
        else:
            self.d.write_conf()
        self.d.signal(signal.SIGHUP)
        if broken:
            time.sleep(0.5)
            self.d.write_conf()

    def events(self):
        """Every 60 s: good SIGHUP, broken SIGHUP, kill -9, SIGSTOP for 2 s, good SIGHUP."""
        plan = [(10, "sighup"), (20, "broken sighup"), (30, "kill -9"), (40, "sigstop"),
                (50, "sighup")]
        base = self.t0
        while not self.stop.is_set():
            for at, what in plan:
                while time.time() < base + at:
                    if self.stop.wait(0.1):
                        return
                workers = self.d.workers()
                if what == "sighup":
                    self.reload()
                elif what == "broken sighup":
                    self.reload(broken=True)
                elif what == "kill -9" and workers:
                    with self.kmu:
                        self.kills.append(time.time())
                    os.kill(random.choice(workers), signal.SIGKILL)
                elif what == "sigstop" and workers:
                    victim = random.choice(workers)
                    os.kill(victim, signal.SIGSTOP)
                    self.stop.wait(2.0)
                    os.kill(victim, signal.SIGCONT)
                print("soak: %5.1f s: %s" % (time.time() - self.t0, what), flush=True)
            base += 60

    def run(self):
        self.t0 = time.time()
        ts = [threading.Thread(target=self.client, args=(k,)) for k in range(NCLIENTS)]
        for x in ts:
            x.start()
        ev = threading.Thread(target=self.events)
        ev.start()
        # RSS is compared at the same point of each minute: 9 s in, before its first event,
        # when one generation serves and its workers have run for a while (a reload or a
        # restart replaces them, with pools that warm up again).
        samples = []
        at = min(9.0, self.seconds / 2)
        while at < self.seconds:
            time.sleep(max(0.0, self.t0 + at - time.time()))
            samples.append((at, self.rss_kb([self.d.pid]), self.rss_kb()))
            at += 60
        time.sleep(max(0.0, self.t0 + self.seconds - time.time()))
        self.stop.set()
        ev.join()
        for x in ts:
            x.join(30)
        status = self.d.stop(timeout=20)
        t = self.t
        lat = sorted(t.lat)
        p50 = lat[len(lat) // 2] * 1000 if lat else 0
        p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else 0
        rss0, rss1 = samples[0][2], samples[-1][2]
        growth = 100.0 * (rss1 - rss0) / rss0 if rss0 else 0.0
        print("soak: %.0f s, %d clients; daemon exit status %s" % (self.seconds, NCLIENTS,
                                                                  status))
        print("soak: requests %d, answered shutting_down and retried %d, errors %s" %
              (t.requests, t.retried, t.errors or "none"))
        print("soak: replies lost %d, cut by kill -9 %d, wrong %d %s" %
              (t.lost, t.cut, t.wrong, t.wrong_samples or ""))
        print("soak: latency p50 %.2f ms, p99 %.2f ms" % (p50, p99))
        print("soak: daemon RSS (master + workers) at 9 s into each minute: %s" %
              ", ".join("%d s: %d kB (master %d)" % (a, tot, m) for a, m, tot in samples))
        print("soak: daemon RSS %d kB at the start, %d kB at the end" % (rss0, rss1))
        print("soak: requests=%d lost=%d wrong=%d rss_growth=%.1f%%" %
              (t.requests, t.lost, t.wrong, growth))
        return 0 if t.lost == 0 and t.wrong == 0 and growth < 10 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=300, help="seconds (default 300)")
    a = ap.parse_args()
    try:
        rc = Soak(a.time).run()
    finally:
        Daemon.stop_all()
    sys.exit(rc)


if __name__ == "__main__":
    main()
