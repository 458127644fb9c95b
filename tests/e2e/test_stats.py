#!/usr/bin/env python3
"""test_stats.py: what an operator sees of a real daemon: `wasmslot stats` with eight workers
(short, and its per-pool totals equal the sums over the workers), counters that only grow
across a reload, a queued request in the queue-wait histogram, an exposition that promtool
(or prometheus_client's parser) accepts, `wasmslot top` under tmux, and the HTTP endpoint
(http_listen) answering while every executor thread is busy."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (CLIENT, DAEMON, SRCDIR, Conn, Daemon, check, check_eq, fixture, i32,
                    run_main, stat_sum, wait_until)


def ws(sock, *args, stdin=None):
    p = subprocess.run([CLIENT, "-s", sock] + list(args), input=stdin, capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def example_daemon(workers):
    """The shipped example config and modules, with this many workers."""
    d = Daemon(start=False)
    ex = os.path.join(d.dir, "etc")
    os.makedirs(os.path.join(ex, "examples"))
    with open(os.path.join(SRCDIR, "etc", "wasmslotd.conf")) as f:
        conf = re.sub(r"(?m)^workers = \d+$", "workers = %d" % workers, f.read())
    conf = re.sub(r"(?m)^log = .*$", "log = stderr", conf)
    d.conf = os.path.join(ex, "wasmslotd.conf")
    with open(d.conf, "w") as f:
        f.write(conf)
    for m in ("add", "hello", "counter"):
        shutil.copy(fixture(m), os.path.join(ex, "examples"))
    d.logf = open(d.log, "ab")
    d.proc = subprocess.Popen([DAEMON, "-f", "-c", d.conf, "-s", d.sock], stdout=d.logf,
                              stderr=subprocess.STDOUT)
    d.wait_ready()
    return d


def table_rows(out):
    """The pool lines of `wasmslot stats`: {pool: {column: text}}."""
    lines = out.splitlines()
    head = re.split(r"\s{1,}(?=\S)", lines[0].strip())
    # The header's last two columns are "RUN p50/p99" and "WAIT p50/p99": one word each.
    cols = []
    for h in head:
        if h.startswith("p50/p99") and cols:
            cols[-1] += " " + h
        else:
            cols.append(h)
    rows = {}
    for line in lines[1:]:
        if not line or line.startswith(("daemon:", " ", "shmem", "WORKER", "POOL")):
            continue
        vals = line.split()
        if len(vals) == len(cols):
            rows[vals[0]] = dict(zip(cols, vals))
    return rows


def pool_sum(stats, name, pool):
    return stat_sum(stats, name, pool=pool)


def test_summary(d):
    for k in range(20):
        ws(d.sock, "call", "add", "add", str(k), "1")
    ws(d.sock, "call", "add", "div", "1", "0")
    ws(d.sock, "call", "counter", "add", "5")
    rc, out, _ = ws(d.sock, "stats")
    lines = out.splitlines()
    print("   wasmslot stats with 8 workers, %d lines:\n%s" % (len(lines), out))
    check(rc == 0 and 3 <= len(lines) <= 30, "8 workers: wasmslot stats prints at most 30 lines",
          len(lines))
    rows = table_rows(out)
    check_eq(sorted(rows), ["add", "counter", "hello"], "one line per pool")
    rc, js, _ = ws(d.sock, "stats", "--json")
    stats = json.loads(js)
    workers = {s["labels"]["worker"] for s in stats if "worker" in s["labels"]}
    check_eq(len(workers), 8, "the JSON has all 8 workers")
    for pool in ("add", "counter"):
        for col, name in (("SLOTS", "slots"), ("REQUESTS", "pool_requests"),
                          ("RESETS", "resets"), ("TRAPS", "traps")):
            want = pool_sum(stats, name, pool)
            check_eq(int(rows.get(pool, {}).get(col, -1)), want,
                     "pool %s: %s is the sum over the workers' %s" % (pool, col, name))
    check_eq(pool_sum(stats, "pool_requests", "add"), 21, "pool add counted its 21 requests")
    check_eq(stat_sum(stats, "pool_errors", pool="add", code="trap"), 1,
             "pool add counted its trap reply by code")
    check_eq(stat_sum(stats, "run_seconds", pool="add"), 21, "21 runs in add's run histogram")
    # The --workers lines add up to the summary too.
    rc, out, _ = ws(d.sock, "stats", "--workers")
    per = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+)/(\d+)\s+(\d+)\s+\d+\s+\d+\s+\d+\s+(\d+)", line)
        if m:
            per.setdefault(m.group(1), []).append((int(m.group(3)), int(m.group(4))))
    check_eq(len(per.get("add", [])), 8, "stats --workers: a line per worker for pool add")
    check_eq(sum(r for _, r in per.get("add", [])), int(rows["add"]["REQUESTS"]),
             "stats --workers: the workers' requests add up to the pool's line")
    check_eq(sum(s for s, _ in per.get("add", [])), int(rows["add"]["SLOTS"]),
             "stats --workers: the workers' slots add up to the pool's line")


def counters(stats):
    """Every counter and histogram count by (name, labels)."""
    out = {}
    for s in stats:
        key = (s["name"], tuple(sorted(s["labels"].items())))
        if s["kind"] == "counter":
            out[key] = int(s["value"])
        elif s["kind"] == "histogram":
            out[key] = int(s["count"])
    return out


def generation(d):
    """The serving generation; 0 when a retiring worker answered (shutting_down)."""
    try:
        c = Conn(d.sock)
        r = c.rq({"op": "stats"})
        c.close()
    except (OSError, EOFError):
        return 0  # a retiring worker closed the connection: ask again
    return stat_sum(r["stats"], "generation") if r.get("ok") else 0


def test_reload(d):
    c = Conn(d.sock)
    before = counters(c.stats())
    c.close()
    d.signal(signal.SIGHUP)
    ok = wait_until(lambda: generation(d) == 2, timeout=10)
    check(ok, "the reload started generation 2")
    # Let the old workers leave, then count some more.
    wait_until(lambda: len(d.workers()) == 8, timeout=10)
    for k in range(4):
        ws(d.sock, "call", "add", "add", str(k), "1")
    c = Conn(d.sock)
    after = counters(c.stats())
    c.close()
    went_down = [(k, v, after.get(k)) for k, v in before.items() if after.get(k, -1) < v]
    check(len(before) > 100, "many counters to compare", len(before))
    check(not went_down, "no counter went down across the reload", went_down[:5])
    key = ("pool_requests", (("op", "call"), ("pool", "add")))
    total = lambda s: sum(v for (n, l), v in s.items()
                          if n == "pool_requests" and ("pool", "add") in l and ("op", "call") in l)
    check_eq(total(after) - total(before), 4, "the new generation counts on from the old total")


def exposition_check(prom, om):
    """promtool on the Prometheus text when installed, else prometheus_client's parser; the
    OpenMetrics text with prometheus_client's OpenMetrics parser when it is installed."""
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=prom, capture_output=True,
                           text=True)
        print("   exposition checked with %s: exit %d %s" % (promtool, p.returncode,
                                                            (p.stdout + p.stderr).strip()))
        check_eq(p.returncode, 0, "promtool check metrics accepts the exposition")
    script = ("import sys\nfrom prometheus_client.%s import text_string_to_metric_families\n"
              "n = sum(1 for _ in text_string_to_metric_families(sys.stdin.read()))\n"
              "print(n)\n")
    pythons = [sys.executable, "/usr/bin/python3"]
    for mod, text, what in (("parser", prom, "Prometheus text"),
                            ("openmetrics.parser", om, "OpenMetrics")):
        if promtool and mod == "parser":
            continue
        done = False
        for py in pythons:
            if not os.access(py, os.X_OK):
                continue
            p = subprocess.run([py, "-c", script % mod], input=text, capture_output=True,
                               text=True)
            if "No module named 'prometheus_client'" in p.stderr:
                continue
            print("   %s checked with prometheus_client's %s parser (%s): %s" %
                  (what, mod, py, (p.stdout + p.stderr).strip()[-300:]))
            check(p.returncode == 0 and int(p.stdout or 0) > 20,
                  "prometheus_client parses the %s exposition" % what)
            done = True
            break
        if not done:
            print("   %s: neither promtool nor prometheus_client is installed; not checked"
                  % what)


def test_exposition(d):
    rc, prom, _ = ws(d.sock, "stats", "--prometheus")
    rc2, om, _ = ws(d.sock, "stats", "--openmetrics")
    check(rc == 0 and rc2 == 0 and om.endswith("# EOF\n"), "both text expositions render")
    families = re.findall(r"(?m)^# TYPE (\S+) ", om)
    helps = re.findall(r"(?m)^# HELP (\S+) ", om)
    check(families and families == helps, "every family has HELP and TYPE")
    generic = [l for l in om.splitlines() if l.startswith("# HELP") and "statistic" in l]
    check(not generic, "every family the daemon sends has its own HELP text", generic[:3])
    check("# UNIT wasmslot_run_seconds seconds" in om and "_nanoseconds" not in om,
          "times are in seconds, with their UNIT")
    exposition_check(prom, om)


def test_queue_wait():
    mods = {"e2e": {"path": fixture("e2e"), "slots": "4", "deadline": "400ms"}}
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "1"})
    slow, fast, look = Conn(d.sock), Conn(d.sock), Conn(d.sock)
    slow.send({"id": 1, "op": "call", "module": "e2e", "export": "spin"})
    time.sleep(0.1)
    fast.send({"id": 2, "op": "call", "module": "e2e", "export": "add",
               "args": [i32(1), i32(2)]})
    time.sleep(0.05)
    queued = stat_sum(look.stats(), "executor_queue")
    check_eq(queued, 1, "the second call waits in the executor queue (one executor thread)")
    r1, r2 = slow.read_reply(1), fast.read_reply(2)
    check((r1.get("error") or {}).get("trap") == "timeout" and r2.get("ok"),
          "the spin times out and the queued call then runs", (r1, r2))
    st = look.stats()
    h = [s for s in st if s["name"] == "queue_wait_seconds" and s["labels"].get("pool") == "e2e"]
    check_eq(len(h), 1, "pool e2e has a queue-wait histogram")
    if h:
        under = {b["le"]: b["count"] for b in h[0]["buckets"]}
        check(h[0]["count"] >= 2 and under["0.1"] < h[0]["count"] and h[0]["sum"] >= 0.2,
              "the queued call shows in the wait histogram above 0.1 s", h[0])
    check_eq(stat_sum(st, "executor_queue"), 0, "the executor queue is empty again")
    for c in (slow, fast, look):
        c.close()
    d.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path, method="GET", accept=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, headers={"Accept": accept} if accept else {})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type") or "", body


def test_http():
    port = free_port()
    mods = {"e2e": {"path": fixture("e2e"), "slots": "4", "deadline": "1500ms"}}
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "1",
                                     "http_listen": "127.0.0.1:%d" % port})
    c = Conn(d.sock)
    c.call("e2e", "add", [i32(1), i32(2)])
    # Every executor thread busy: the master's HTTP thread answers all the same.
    busy = Conn(d.sock)
    busy.send({"id": "spin", "op": "call", "module": "e2e", "export": "spin"})
    time.sleep(0.2)
    t0 = time.time()
    status, ctype, prom = http_get(port, "/metrics")
    dt = time.time() - t0
    print("   GET /metrics while the only executor thread spins: %d in %.3f s" % (status, dt))
    check(status == 200 and dt < 1.0, "/metrics answers while every executor is busy", dt)
    check(ctype.startswith("text/plain; version=0.0.4"), "/metrics: Prometheus text by default",
          ctype)
    check("wasmslot_pool_requests_total{worker=\"0\",pool=\"e2e\",op=\"call\"} 2" in prom,
          "/metrics counts the calls (the spinning one too)", prom[-300:])
    status, ctype, om = http_get(port, "/metrics",
                                 accept="application/openmetrics-text; version=1.0.0")
    check(status == 200 and ctype.startswith("application/openmetrics-text") and
          om.endswith("# EOF\n"), "/metrics: OpenMetrics when the scraper asks for it", ctype)
    exposition_check(prom, om)
    status, ctype, body = http_get(port, "/status")
    st = json.loads(body) if status == 200 else {}
    pools = {p["pool"]: p for p in st.get("pools", [])}
    check(ctype == "application/json" and pools.get("e2e", {}).get("requests") == 2 and
          st.get("daemon", {}).get("executor_queue") is not None,
          "/status: the JSON summary, one entry per pool", body[:300])
    check_eq(http_get(port, "/health")[:3:2], (200, "ok\n"), "/health says ok")
    check_eq(http_get(port, "/other")[0], 404, "any other path is 404")
    check_eq(http_get(port, "/metrics", method="POST")[0], 405, "any other method is 405")
    r = busy.read_reply("spin")
    check((r.get("error") or {}).get("trap") == "timeout", "the spin ends at its deadline")
    for x in (c, busy):
        x.close()
    d.stop()
    bad = Daemon(start=False, daemon={"http_listen": "localhost:99999"})
    p = subprocess.run([DAEMON, "-t", "-c", bad.conf], capture_output=True, text=True)
    check(p.returncode == 1 and "http_listen" in p.stderr, "-t rejects a bad http_listen",
          p.stderr)


def test_top(d):
    tmux = shutil.which("tmux")
    if tmux is None:
        print("   tmux is not installed: wasmslot top not checked")
        return
    tsock = os.path.join(d.dir, "tmux.sock")
    t = [tmux, "-S", tsock]
    subprocess.run(t + ["new-session", "-d", "-s", "top", "-x", "150", "-y", "40",
                        "%s -s %s top; sleep 30" % (CLIENT, d.sock)], check=True)
    try:
        screen = ""
        end = time.time() + 5
        while time.time() < end and "rates per second" not in screen:
            time.sleep(0.3)
            screen = subprocess.run(t + ["capture-pane", "-p", "-t", "top"], capture_output=True,
                                    text=True).stdout
        print("   wasmslot top under tmux:\n" + "\n".join(
            "   | " + l for l in screen.rstrip().splitlines()[:14]))
        check("wasmslot top" in screen and re.search(r"(?m)^add\s+\d", screen) and
              "WORKER" in screen, "top renders the pools and workers", screen)
        check("rates per second" in screen, "top refreshes (a second frame)")
        subprocess.run(t + ["send-keys", "-t", "top", "q"], check=True)
        gone = wait_until(lambda: "wasmslot" not in subprocess.run(
            t + ["capture-pane", "-p", "-t", "top"], capture_output=True, text=True).stdout,
            timeout=3)
        check(gone, "q ends top and gives the terminal back")
    finally:
        subprocess.run(t + ["kill-server"], capture_output=True)


def main():
    d = example_daemon(8)
    test_summary(d)
    test_exposition(d)
    test_top(d)
    test_reload(d)
    d.stop()
    test_queue_wait()
    test_http()


run_main(main)
