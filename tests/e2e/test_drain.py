#!/usr/bin/env python3
"""test_drain.py: no request is lost on a reload or a stop: every request the daemon has read
is run and answered or answered with shutting_down, a retiring worker answers what it reads
with shutting_down and says goodbye before it closes, and a new connection during a stop gets
a shutting_down line rather than a reset."""

import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Conn, Daemon, check, check_eq, err_code, i32, run_main, wait_until


class Counter:
    def __init__(self):
        self.mu = threading.Lock()
        self.sent = self.answered = self.lost = self.wrong = self.shutting = self.unsent = 0

    def add(self, **kw):
        with self.mu:
            for k, n in kw.items():
                setattr(self, k, getattr(self, k) + n)


def busy_client(path, stop, cnt, seed):
    """Sequential calls until stop; reconnects after shutting_down. A request whose
    connection ends without any answer to it (no reply, no goodbye line) is lost; one the
    socket would not take (EPIPE: the daemon had closed) was never sent."""
    n = 0
    while not stop.is_set():
        try:
            c = Conn(path, timeout=5)
        except OSError:
            time.sleep(0.01)
            continue
        try:
            while not stop.is_set():
                n += 1
                a, b = seed * 1000 + n, 7
                sent = False
                try:
                    c.send({"id": n, "op": "call", "module": "e2e", "export": "add",
                            "args": [i32(a), i32(b)]})
                    cnt.add(sent=1)
                    sent = True
                except OSError:
                    cnt.add(unsent=1)
                try:
                    r = c.read_line()
                except (EOFError, OSError):
                    if sent:
                        cnt.add(lost=1)
                    break
                cnt.add(answered=1)
                if err_code(r) == "shutting_down":
                    cnt.add(shutting=1)
                    break
                if not sent:
                    cnt.add(wrong=1)  # a reply to a request that never went
                elif r.get("id") != n or r.get("results") != [i32(a + b)]:
                    cnt.add(wrong=1)
        finally:
            c.close()


def run_busy(d, sig, nclients=8):
    stop = threading.Event()
    cnt = Counter()
    ts = [threading.Thread(target=busy_client, args=(d.sock, stop, cnt, i))
          for i in range(nclients)]
    for t in ts:
        t.start()
    wait_until(lambda: cnt.answered > 200, timeout=3)
    d.signal(sig)
    time.sleep(1.5)
    stop.set()
    for t in ts:
        t.join(10)
    return cnt


def test_reload_busy():
    d = Daemon(daemon={"grace_period": "1s"})
    cnt = run_busy(d, signal.SIGHUP)
    print("reload: sent=%d answered=%d shutting_down=%d lost=%d wrong=%d unsent=%d" %
          (cnt.sent, cnt.answered, cnt.shutting, cnt.lost, cnt.wrong, cnt.unsent))
    check_eq(cnt.lost, 0, "SIGHUP with 8 busy clients: no request lost")
    check_eq(cnt.wrong, 0, "and no wrong reply")
    check(cnt.shutting > 0, "the retiring workers answered shutting_down", cnt.shutting)
    c = Conn(d.sock)
    check_eq(c.call("e2e", "add", [i32(1), i32(2)]).get("results"), [i32(3)],
             "the new generation serves")
    c.close()
    d.stop()


def test_stop_busy():
    d = Daemon(daemon={"grace_period": "1s"})
    cnt = run_busy(d, signal.SIGTERM)
    print("stop: sent=%d answered=%d shutting_down=%d lost=%d unsent=%d" %
          (cnt.sent, cnt.answered, cnt.shutting, cnt.lost, cnt.unsent))
    check_eq(cnt.lost, 0, "SIGTERM with 8 busy clients: no request lost")
    check_eq(cnt.wrong, 0, "and no wrong reply")
    d.proc.wait(10)


def test_stop_queued_runs():
    """Long runs queued behind each other: those the grace period does not cover are answered
    with shutting_down, none dropped."""
    d = Daemon(daemon={"grace_period": "500ms", "workers": "1"})
    c = Conn(d.sock, timeout=10)
    n = 12
    for i in range(n):
        c.send({"id": i, "op": "call", "module": "e2e", "export": "spin", "deadline_ms": 300})
    time.sleep(0.1)
    d.signal(signal.SIGTERM)
    got, codes = {}, {}
    try:
        while len(got) < n:
            r = c.read_line()
            if r.get("id") is None:
                # The goodbye line answers everything still unanswered.
                for i in range(n):
                    got.setdefault(i, r)
                break
            got[r["id"]] = r
    except (EOFError, OSError) as e:
        print("connection ended: %s" % e)
    for r in got.values():
        codes[err_code(r)] = codes.get(err_code(r), 0) + 1
    print("queued runs at SIGTERM: %d of %d answered: %s" % (len(got), n, codes))
    check_eq(len(got), n, "SIGTERM with 12 long runs queued: every one answered")
    check(codes.get("shutting_down", 0) > 0 and codes.get("trap", 0) > 0,
          "those that ran ended, the rest got shutting_down", codes)
    c.close()
    d.proc.wait(10)


def test_retiring_answers_shutting_down():
    d = Daemon(daemon={"grace_period": "2s", "workers": "1"})
    idle = Conn(d.sock)
    check(idle.rq({"op": "ping"}).get("ok"), "an idle connection")
    busy = Conn(d.sock)
    busy.send({"id": "long", "op": "call", "module": "e2e", "export": "spin",
               "deadline_ms": 800})
    time.sleep(0.1)
    d.signal(signal.SIGHUP)
    # The idle connection is told goodbye at once, and closed.
    try:
        r = idle.read_line()
    except (EOFError, OSError) as e:
        r = {"exception": str(e)}
    check(r.get("id") is None and err_code(r) == "shutting_down",
          "an idle connection of a retiring worker gets a shutting_down goodbye line", r)
    # The busy one: its run goes on; a request sent now is answered with shutting_down.
    time.sleep(0.1)
    try:
        busy.send({"id": "late", "op": "ping"})
        r = busy.read_line()
    except (EOFError, OSError) as e:
        r = {"exception": str(e)}
    check(r.get("id") == "late" and err_code(r) == "shutting_down",
          "a request read by a retiring worker gets shutting_down", r)
    try:
        r = busy.read_line()
    except (EOFError, OSError) as e:
        r = {"exception": str(e)}
    check(r.get("id") == "long" and (r.get("error") or {}).get("trap") == "timeout",
          "the run in flight still ends and is answered", r)
    idle.close()
    busy.close()
    d.stop()


def test_new_connection_during_stop():
    d = Daemon(daemon={"grace_period": "2s"})
    busy = [Conn(d.sock) for _ in range(4)]
    for i, b in enumerate(busy):
        b.send({"id": i, "op": "call", "module": "e2e", "export": "spin", "deadline_ms": 1000})
    time.sleep(0.1)
    d.signal(signal.SIGTERM)
    time.sleep(0.1)
    lines = []
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect(d.sock)
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            lines.append(json.loads(data) if data else "EOF")
        except (OSError, ValueError) as e:
            lines.append(repr(e))
        s.close()
    # The client command says so plainly.
    import subprocess
    from e2elib import CLIENT
    p = subprocess.run([CLIENT, "-s", d.sock, "call", "e2e", "add", "1", "2"],
                       capture_output=True, text=True, timeout=10)
    print("wasmslot call during a stop: status %d, %r" % (p.returncode, p.stderr.strip()))
    check(p.returncode != 0 and "shutting_down" in p.stderr and "not run" in p.stderr,
          "wasmslot reports shutting_down and that the request was not run", p.stderr)
    print("new connections during a stop got: %s" % lines)
    check(all(isinstance(l, dict) and err_code(l) == "shutting_down" for l in lines),
          "a new connection during a stop gets a shutting_down line", lines)
    for b in busy:
        b.close()
    d.proc.wait(10)


def main():
    test_reload_busy()
    test_stop_busy()
    test_stop_queued_runs()
    test_retiring_answers_shutting_down()
    test_new_connection_during_stop()


if __name__ == "__main__":
    run_main(main)
