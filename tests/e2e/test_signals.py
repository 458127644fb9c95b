#!/usr/bin/env python3
"""test_signals.py: the master under signals: kill -9 of a worker (answered again within a
second), SIGHUP with a changed and with a broken config, SIGTERM, the pid file, systemd's
readiness notifications, and detaching without -f."""

import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (DAEMON, Conn, Daemon, check, check_eq, err_code, fixture, i32, run_main,
                    stat_sum, wait_until)


def ping_ok(d):
    try:
        c = Conn(d.sock, timeout=1)
        ok = c.rq({"op": "ping"}).get("ok")
        c.close()
        return ok
    except (OSError, EOFError):
        return False


def test_kill_worker(d):
    workers = d.workers()
    check_eq(len(workers), 2, "two workers run")
    for victim in workers:
        os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    answered = wait_until(lambda: ping_ok(d), timeout=3, step=0.01)
    dt = time.time() - t0
    check(answered and dt < 1.0, "after kill -9 of every worker the daemon answers within 1s",
          dt)
    check(wait_until(lambda: len(d.workers()) == 2), "both workers were restarted")
    check(not set(d.workers()) & set(workers), "by new processes")
    c = Conn(d.sock)
    s = c.stats()
    check(stat_sum(s, "worker_restarts") >= 2, "stats count the worker restarts",
          stat_sum(s, "worker_restarts"))
    r = c.call("e2e", "add", [i32(1), i32(2)])
    check_eq(r.get("results"), [i32(3)], "the restarted workers serve calls")
    c.close()
    # One worker killed while another connection is busy: that connection keeps working.
    a = Conn(d.sock)
    h = a.instantiate("e2e")["instance"]
    mine = stat_sum(a.stats(), "worker_pid")  # sum of both pids, just to have them
    pids = d.workers()
    # Kill the worker that does not hold connection a: find it by its open connection count.
    s = a.stats()
    idle = [int(x["value"]) for x in s if x["name"] == "worker_pid" and
            stat_sum(s, "connections_open", worker=x["labels"]["worker"]) == 0]
    if idle:
        os.kill(idle[0], signal.SIGKILL)
        time.sleep(0.1)
        r = a.run(h, "add", [i32(5), i32(5)])
        check_eq(r.get("results"), [i32(10)],
                 "a connection of a surviving worker is unaffected by another's death")
    check(mine > 0 and pids, "worker pids are reported in stats")
    a.close()


def test_reload(d):
    old = Conn(d.sock)
    h = old.instantiate("e2e")["instance"]
    r = old.call("other", "answer")
    check_eq(err_code(r), "unknown_module", "before the reload 'other' is unknown")
    workers = set(d.workers())

    # A changed config: one more module, one worker more.
    d.modules["other"] = {"path": fixture("other")}
    d.write_conf(daemon={"workers": "3"})
    stop = [False]
    refused = []

    d.signal(signal.SIGHUP)
    t_end = time.time() + 1.0
    # Clients connecting during the switch never see a refused connection. One accepted by
    # an old worker just before it retired is answered shutting_down, and the same request
    # on a new connection is served.
    retried = 0
    while time.time() < t_end:
        try:
            c = Conn(d.sock, timeout=2)
            r = c.rq({"op": "ping"})
            c.close()
            if err_code(r) == "shutting_down":
                retried += 1
                c = Conn(d.sock, timeout=2)
                r = c.rq({"op": "ping"})
                c.close()
            if not r.get("ok"):
                refused.append(r)
        except (OSError, EOFError) as e:
            refused.append(repr(e))
    check_eq(refused, [], "no connection refused or dropped during the reload (%d retried after "
             "shutting_down)" % retried)
    c = Conn(d.sock)
    r = c.call("other", "answer")
    check_eq(r.get("results"), [i32(42)], "after SIGHUP a new connection sees the new module")
    s = c.stats()
    check_eq(stat_sum(s, "reloads"), 1, "stats count the reload")
    check_eq(stat_sum(s, "workers"), 3, "the new generation has 3 workers")
    c.close()
    # The old connection, idle, was told goodbye by its retiring worker: one shutting_down
    # line with a null id, then the end of the connection.
    r = old.read_line()
    check(r.get("id") is None and err_code(r) == "shutting_down",
          "an idle old connection gets a shutting_down goodbye", r)
    try:
        old.rq({"op": "ping"})
        check(False, "and is closed")
    except (OSError, EOFError):
        check(True, "and is closed")
    old.close()
    check(wait_until(lambda: len(d.workers()) == 3 and not (set(d.workers()) & workers),
                     timeout=6), "the old workers retire", d.workers())

    # A broken config: rejected, the old one keeps serving.
    good = d.conf_text(daemon={"workers": "3"})
    d.write_conf(text=good + "[module broken]\nslots = lots\n")
    workers = set(d.workers())
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    log = d.log_text()
    check("reload rejected" in log and "wasmslotd.conf:%d: slots" % (good.count("\n") + 2) in log,
          "a broken config is rejected with file:line: message in the log")
    check_eq(set(d.workers()), workers, "the workers of the good config keep running")
    c = Conn(d.sock)
    r = c.call("other", "answer")
    check_eq(r.get("results"), [i32(42)], "the daemon still serves the last good config")
    check_eq(stat_sum(c.stats(), "reloads_failed"), 1, "stats count the rejected reload")
    c.close()
    # A config whose module does not compile is rejected too.
    bad_wasm = os.path.join(d.dir, "bad.wasm")
    with open(bad_wasm, "wb") as f:
        f.write(b"\0asm\1\0\0\0\x01\x05")  # a type section cut short
    d.write_conf(text=good + "[module bad]\npath = %s\n" % bad_wasm)
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    check("module 'bad'" in d.log_text(), "a module that does not compile is rejected on reload")
    check(ping_ok(d), "and the daemon answers")
    d.write_conf(text=good)


def test_stop(d):
    sock = d.sock
    check_eq(d.stop(), 0, "SIGTERM: the master exits 0")
    check(not os.path.exists(sock), "the socket file is removed")
    check(not os.path.exists(os.path.join(d.dir, "pid")), "the pid file is removed")


def test_notify():
    ns = os.path.join(os.environ.get("TMPDIR", "/tmp"), "wasmslot-notify-%d" % os.getpid())
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(ns)
    srv.settimeout(10)
    try:
        # No -f: with NOTIFY_SOCKET the daemon stays in the foreground, as Type=notify needs.
        d = Daemon(foreground=False, env={"NOTIFY_SOCKET": ns}, start=False)
        d.write_conf(daemon={"pid_file": os.path.join(d.dir, "pid")})
        d.start(wait=False)
        msg = srv.recv(4096).decode()
        check("READY=1" in msg and "MAINPID=%d" % d.pid in msg,
              "READY=1 with MAINPID is sent to NOTIFY_SOCKET", msg)
        check(ping_ok(d), "the daemon answers once it said READY")
        with open(os.path.join(d.dir, "pid")) as f:
            check_eq(int(f.read()), d.pid, "the pid file holds the master's pid")
        d.signal(signal.SIGHUP)
        msgs = [srv.recv(4096).decode(), srv.recv(4096).decode()]
        check_eq(msgs, ["RELOADING=1", "READY=1"], "a reload says RELOADING=1 then READY=1")
        d.proc.send_signal(signal.SIGTERM)
        check_eq(srv.recv(4096).decode(), "STOPPING=1", "SIGTERM says STOPPING=1")
        check_eq(d.proc.wait(10), 0, "and the daemon exits 0")
        check(not os.path.exists(os.path.join(d.dir, "pid")), "the pid file is removed")
    finally:
        srv.close()
        os.unlink(ns)


def test_detach():
    d = Daemon(foreground=False, start=False)
    pidfile = os.path.join(d.dir, "pid")
    d.write_conf(daemon={"pid_file": pidfile, "log": os.path.join(d.dir, "daemon.log")})
    t0 = time.time()
    rc = subprocess.run([DAEMON, "-c", d.conf], timeout=10).returncode
    check_eq(rc, 0, "without -f the command returns 0 once the daemon is ready")
    check(ping_ok(d), "and the detached daemon answers at once", time.time() - t0)
    pid = int(open(pidfile).read())
    check(pid > 0 and os.getsid(pid) == pid, "the detached master leads its own session")
    os.kill(pid, signal.SIGTERM)
    check(wait_until(lambda: not os.path.exists(pidfile), timeout=5),
          "SIGTERM stops the detached daemon")
    log = open(os.path.join(d.dir, "daemon.log")).read()
    check("ready" in log and "stopped" in log, "it logged to the configured file", log[-300:])
    # A daemon that cannot start says why and exits 1 before detaching.
    d.write_conf(daemon={"pid_file": pidfile, "log": os.path.join(d.dir, "daemon.log")},
                 modules={"x": {"path": os.path.join(d.dir, "daemon.log")}})
    r = subprocess.run([DAEMON, "-c", d.conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "module 'x'" in r.stderr,
          "a start-up failure is reported on stderr with status 1", (r.returncode, r.stderr))
    # Another daemon on the same socket is refused.
    d2 = Daemon()
    r = subprocess.run([DAEMON, "-f", "-c", d2.conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "another daemon" in r.stderr,
          "a second daemon on a live socket is refused", r.stderr)
    check(ping_ok(d2), "and the first one keeps serving")
    d2.stop()


def main():
    d = Daemon(modules={"e2e": {"path": fixture("e2e"), "slots": "4"}})
    test_kill_worker(d)
    test_reload(d)
    test_stop(d)
    test_notify()
    test_detach()


run_main(main)
