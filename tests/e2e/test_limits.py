#!/usr/bin/env python3
"""test_limits.py: the per-worker and per-connection resource limits of a real wasmslotd:
max_connections, idle_timeout, max_reply_buffer (WASI replies included) and a pool's
max_table_elements and stack_size (PROTOCOL.md section 6, wasmslotd.conf(5))."""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2elib import (DAEMON, Conn, Daemon, check, check_eq, err_code, fixture, i32,  # noqa: E402
                    run_main, stat_sum, trap_name, wait_until)


def read_all(s, limit=64 << 20, timeout=10.0):
    """Bytes the daemon sends on s until it closes (or limit / timeout): (data, closed)."""
    s.settimeout(timeout)
    data = b""
    try:
        while len(data) < limit:
            d = s.recv(1 << 20)
            if not d:
                return data, True
            data += d
    except (socket.timeout, ConnectionResetError):
        pass
    return data, False


def stats_of(d):
    c = Conn(d.sock)
    st = c.stats()
    c.close()
    return st


# ------------------------------------------------------------------ max_connections

def test_max_connections():
    d = Daemon(daemon={"workers": "1", "max_connections": "3"})
    # The readiness probe's connection may still be closing in the worker.
    held = []

    def served():
        try:
            c = Conn(d.sock, timeout=2)
            if c.rq({"op": "ping"}).get("ok"):
                return c
        except (OSError, EOFError):
            pass
        return None
    for k in range(3):
        c = wait_until(served, timeout=3)
        check(c is not None, "connection %d of max_connections = 3 is served" % (k + 1))
        if c is not None:
            held.append(c)
    extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    extra.connect(d.sock)
    data, closed = read_all(extra, timeout=5)
    extra.close()
    check(closed, "a connection over max_connections is closed by the daemon")
    lines = [l for l in data.split(b"\n") if l]
    check_eq(len(lines), 1, "it gets exactly one line")
    if lines:
        r = json.loads(lines[0].decode())
        check_eq((r.get("ok"), err_code(r)), (False, "too_many_connections"),
                 "the line is a too_many_connections error")
    # The ones already open still work, and a freed place is usable again.
    check(held[0].rq({"op": "ping"}).get("ok"), "the open connections are unaffected")
    held.pop().close()

    def fresh_ok():
        try:
            c = Conn(d.sock, timeout=2)
            r = c.rq({"op": "ping"})
            c.close()
            return r.get("ok")
        except (OSError, EOFError):
            return False
    check(wait_until(fresh_ok, timeout=5), "a place freed by a close is taken by a new client")
    st = held[0].stats()
    check(stat_sum(st, "connections_refused") >= 1, "stats: connections_refused counts it",
          stat_sum(st, "connections_refused"))
    check(stat_sum(st, "errors", code="too_many_connections") >= 1,
          "stats: errors{code=too_many_connections}")
    for c in held:
        c.close()
    d.stop()


# ------------------------------------------------------------------ idle_timeout

def test_idle_timeout():
    mods = {"e2e": {"path": fixture("e2e"), "deadline": "5s"}}
    d = Daemon(modules=mods, daemon={"workers": "1", "idle_timeout": "1s"})
    idle = Conn(d.sock)
    r = idle.instantiate("e2e")
    check(r.get("ok"), "an instance on the connection that will go idle", r)
    talker = Conn(d.sock)
    runner = Conn(d.sock)
    # A run longer than the timeout: a connection with a request in flight is not idle.
    runner.send({"id": "spin", "op": "call", "module": "e2e", "export": "spin",
                 "deadline_ms": 1800})
    t0 = time.time()
    alive = True
    while time.time() - t0 < 2.5:
        alive = alive and talker.rq({"op": "ping"}).get("ok")
        time.sleep(0.3)
    check(alive, "a connection sending a ping every 0.3 s outlives idle_timeout = 1s")
    r = runner.read_reply("spin")
    check_eq(err_code(r), "trap", "a 1.8 s run outlives idle_timeout = 1s and gets its reply")
    check(runner.rq({"op": "ping"}).get("ok"), "its connection is still open after the run")
    data, closed = read_all(idle.s, timeout=3)
    check(closed and data == b"", "a silent connection is closed after idle_timeout",
          (closed, data[:100]))
    st = talker.stats()
    check(stat_sum(st, "connections_idle_closed") >= 1, "stats: connections_idle_closed",
          stat_sum(st, "connections_idle_closed"))
    check(wait_until(lambda: stat_sum(talker.stats(), "instances_open") == 0),
          "the idle connection's instance is terminated")
    for c in (idle, talker, runner):
        c.close()
    d.stop()

    # idle_timeout = 0: never.
    d = Daemon(modules=mods, daemon={"workers": "1", "idle_timeout": "0"})
    c = Conn(d.sock)
    time.sleep(1.2)
    check(c.rq({"op": "ping"}).get("ok"), "idle_timeout = 0 closes nothing")
    c.close()
    d.stop()


# ------------------------------------------------------------------ max_reply_buffer

def runs_of(d):
    return stat_sum(stats_of(d), "run_seconds")


def test_reply_buffer():
    cap = 8 << 20
    mods = {"limits": {"path": fixture("limits"), "slots": "4", "deadline": "5s"}}
    d = Daemon(modules=mods, daemon={"workers": "1", "max_reply_buffer": str(cap)})
    n = 30  # 30 replies of ~1.4 MB each: ~42 MB if nothing bounded them
    req = b"".join(b'{"id":%d,"op":"call","module":"limits","export":"_start"}\n' % k
                   for k in range(n))

    # A client that pipelines and reads as it goes gets every reply.
    good = Conn(d.sock, timeout=20)
    good.send_raw(req)
    got = 0
    for _ in range(n):
        r = good.read_line()
        got += 1 if r.get("ok") and (r.get("stdout") or {}).get("base64") else 0
    check_eq(got, n, "a pipelining client that reads gets all %d 1 MiB WASI replies" % n)
    good.close()

    # One that sends them all and does not read: the requests already dispatched are bounded
    # by the reply budget (each WASI command reserves its worst case, ~12 MiB here), so only
    # a few run until it reads; without the budget all 30 would run and be buffered.
    before = runs_of(d)
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bad.connect(d.sock)
    bad.sendall(req)
    time.sleep(2.5)
    ran = runs_of(d) - before
    check(1 <= ran <= 8, "a client that leaves WASI replies unread gets at most "
          "max_reply_buffer worth of them run and buffered (%d of %d)" % (ran, n), ran)
    st = stats_of(d)
    check(stat_sum(st, "reply_buffer_pauses") >= 1, "stats: reply_buffer_pauses",
          stat_sum(st, "reply_buffer_pauses"))
    # Back-pressure, not loss: once it reads, every reply comes.
    c = Conn.__new__(Conn)
    c.s, c.buf, c.pending = bad, b"", {}
    c.s.settimeout(20)
    ids = sorted(c.read_line().get("id") for _ in range(n))
    check_eq(ids, list(range(n)), "once it reads, it gets all %d replies" % n)
    bad.close()
    d.stop()


# ------------------------------------------------------------------ max_table_elements

def test_max_table_elements():
    mods = {"capped": {"path": fixture("limits"), "max_table_elements": "100"},
            "default": {"path": fixture("limits")}}
    d = Daemon(modules=mods, daemon={"workers": "1"})
    c = Conn(d.sock)
    r = c.instantiate("capped")
    check(r.get("ok"), "instantiate under max_table_elements = 100", r)
    h = r.get("instance")
    check_eq(c.run(h, "tgrow", [i32(90)]).get("results"), [i32(10)],
             "table.grow up to the cap works")
    check_eq(c.run(h, "tgrow", [i32(1)]).get("results"), [i32(-1)],
             "table.grow past max_table_elements returns -1")
    check_eq(c.run(h, "tsize").get("results"), [i32(100)], "the table keeps its size")
    check_eq(c.call("default", "tgrow", [i32(100000)]).get("results"), [i32(-1)],
             "the default max_table_elements (100000) caps a module without its own maximum")
    check_eq(c.call("default", "tgrow", [i32(99990)]).get("results"), [i32(10)],
             "growing to exactly the default cap works")
    c.close()
    d.stop()

    # A module whose table starts over the cap is rejected at load (-t and start-up).
    conf = d.conf_text(modules={"small": {"path": fixture("limits"),
                                          "max_table_elements": "5"}})
    path = os.path.join(d.dir, "small.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = subprocess.run([DAEMON, "-t", "-c", path], capture_output=True, text=True, timeout=10)
    check(p.returncode != 0, "wasmslotd -t rejects a table starting over max_table_elements")
    check("max_table_elements" in p.stderr + p.stdout, "the message names max_table_elements",
          p.stderr + p.stdout)
    for bad in ("0", "10000001", "x"):
        with open(path, "w") as f:
            f.write(d.conf_text(modules={"m": {"path": fixture("limits"),
                                               "max_table_elements": bad}}))
        p = subprocess.run([DAEMON, "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        check(p.returncode != 0, "max_table_elements = %s is rejected" % bad)
    for key, bad in (("max_connections", "0"), ("idle_timeout", "5"),
                     ("max_reply_buffer", "1M")):
        with open(path, "w") as f:
            f.write(d.conf_text(daemon={key: bad}))
        p = subprocess.run([DAEMON, "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        check(p.returncode != 0 and key in p.stderr + p.stdout, "%s = %s is rejected" % (key, bad),
              p.stderr + p.stdout)


# ------------------------------------------------------------------ stack_size

def test_stack_size():
    mods = {"small": {"path": fixture("limits"), "stack_size": "64K"},
            "big": {"path": fixture("limits"), "stack_size": "16M"},
            "default": {"path": fixture("limits")}}
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "1"})
    c = Conn(d.sock)
    check_eq(c.call("default", "down", [i32(50000)]).get("results"), [i32(50000)],
             "the default stack_size runs a recursion 50,000 deep")
    t0 = time.monotonic()
    r = c.call("default", "runaway", [i32(0)])
    took = time.monotonic() - t0
    check_eq(trap_name(r), "call_stack_exhausted", "a runaway recursion ends with a trap")
    check(took < 1.0, "   in well under a second (%.3f s)" % took)
    check_eq(trap_name(c.call("small", "down", [i32(50000)])), "call_stack_exhausted",
             "stack_size = 64K: the same recursion exhausts the stack")
    check_eq(c.call("small", "down", [i32(500)]).get("results"), [i32(500)],
             "   and a shallow one runs")
    check_eq(c.call("big", "down", [i32(200000)]).get("results"), [i32(200000)],
             "stack_size = 16M on the same executor: 200,000 calls deep")
    check_eq(c.call("default", "down", [i32(50000)]).get("results"), [i32(50000)],
             "   and the default pool still gets its own size after it")
    c.close()
    d.stop()
    for bad in ("1K", "2G", "x"):
        path = os.path.join(d.dir, "stack.conf")
        with open(path, "w") as f:
            f.write(d.conf_text(modules={"m": {"path": fixture("limits"), "stack_size": bad}}))
        p = subprocess.run([DAEMON, "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        check(p.returncode != 0 and "stack_size" in p.stderr + p.stdout,
              "stack_size = %s is rejected" % bad, p.stderr + p.stdout)


def main():
    test_max_connections()
    test_idle_timeout()
    test_reply_buffer()
    test_max_table_elements()
    test_stack_size()


if __name__ == "__main__":
    run_main(main)
