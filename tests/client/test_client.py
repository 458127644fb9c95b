#!/usr/bin/env python3
"""test_client.py: tests of the wasmslot client against a scripted stand-in for the daemon:
the requests it builds, how it prints replies, its exit statuses, session and raw modes."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

_here = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("WASMSLOT_BUILDDIR") or os.path.normpath(os.path.join(_here, "..", ".."))
CLIENT = os.path.join(BUILDDIR, "client", "wasmslot")

STATS = [
    {"name": "warm_hits", "kind": "counter", "labels": {"pool": "add", "worker": "0"}, "value": 41},
    {"name": "slots_free", "kind": "gauge", "labels": {"pool": "add", "worker": "0"}, "value": 16},
    {"name": "warm_hits", "kind": "counter", "labels": {"pool": "add", "worker": "1"}, "value": 2},
    {"name": "instantiations", "kind": "counter", "labels": {"pool": "add", "worker": "0"},
     "value": 43},
    {"name": "instantiations", "kind": "counter", "labels": {"pool": "add", "worker": "1"},
     "value": 2},
    {"name": "big", "kind": "counter", "labels": {}, "value": "18446744073709551615"},
]
MODULES = [{"name": "add", "exports": [
    {"name": "add", "params": ["i32", "i32"], "results": ["i32"]},
    {"name": "nop", "params": [], "results": []}]}]

failures = []
checks = 0


def check(cond, what, detail=None):
    global checks
    checks += 1
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or detail is None else ": %r" % (detail,)))
    sys.stdout.flush()
    if not cond:
        failures.append(what)


def check_eq(got, want, what):
    check(got == want, what, {"got": got, "want": want})


class Stub:
    """A Unix-socket server answering like wasmslotd, recording every request it reads."""

    def __init__(self, path):
        self.path = path
        self.requests = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        insts, buf, lock = {}, b"", threading.Lock()
        held = []  # replies delayed to show out-of-order delivery

        def send(obj):
            with lock:
                c.sendall((json.dumps(obj, separators=(",", ":")) + "\n").encode())

        while True:
            try:
                d = c.recv(65536)
            except OSError:
                break
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    r = json.loads(line)
                except ValueError:
                    send({"id": None, "ok": False, "error": {"code": "bad_json", "message": "not JSON"}})
                    continue
                self.requests.append(r)
                rid, op = r.get("id"), r.get("op")
                err = lambda code, msg: send({"id": rid, "ok": False, "error": {"code": code, "message": msg}})
                if op == "ping":
                    send({"id": rid, "ok": True, "pong": True, "version": "0.1.0"})
                elif op == "instantiate":
                    if r.get("module") != "add":
                        err("unknown_module", "no module '%s'" % r.get("module"))
                        continue
                    h = "i%d" % (len(insts) + 1)
                    insts[h] = True
                    send({"id": rid, "ok": True, "instance": h})
                elif op == "terminate":
                    if insts.pop(r.get("instance"), None):
                        send({"id": rid, "ok": True})
                    else:
                        err("unknown_instance", "no instance")
                elif op in ("run", "call"):
                    if op == "run" and r.get("instance") not in insts:
                        err("unknown_instance", "no instance")
                        continue
                    if op == "call" and r.get("module") != "add":
                        err("unknown_module", "no module '%s'" % r.get("module"))
                        continue
                    ex = r.get("export")
                    if ex == "div":
                        send({"id": rid, "ok": False, "error": {"code": "trap", "trap": "integer_divide_by_zero",
                                                                 "message": "integer divide by zero"}})
                    elif ex == "slow":
                        held.append(rid)  # answered after the next request
                    elif ex == "hangup":
                        c.close()
                        return
                    elif ex == "silent":
                        pass
                    else:  # echo the arguments back as results
                        send({"id": rid, "ok": True, "results": r.get("args", [])})
                elif op == "stats":
                    send({"id": rid, "ok": True, "stats": STATS})
                elif op == "modules":
                    send({"id": rid, "ok": True, "modules": MODULES})
                else:
                    err("unknown_op", "unknown op")
                while held and op != "run" and op != "call":
                    send({"id": held.pop(0), "ok": True, "results": []})
        c.close()


def client(args, stdin=None, env_socket=None, timeout=10):
    env = dict(os.environ)
    env.pop("WASMSLOT_SOCKET", None)
    if env_socket is not None:
        env["WASMSLOT_SOCKET"] = env_socket
    p = subprocess.run([CLIENT] + args, input=stdin, capture_output=True, text=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def main():
    if not os.access(CLIENT, os.X_OK):
        print("SKIP: %s not built" % CLIENT)
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="wasmslot-client-")
    path = os.path.join(tmp, "s.sock")
    stub = Stub(path)
    S = ["-s", path]

    rc, out, err = client(S + ["ping"])
    check_eq((rc, out), (0, "pong\n"), "ping prints pong")
    check(isinstance(stub.requests[-1].get("id"), int), "requests carry an integer id")

    rc, out, err = client(["ping"], env_socket=path)
    check_eq(rc, 0, "$WASMSLOT_SOCKET is used without -s")

    rc, out, err = client(S + ["call", "add", "add", "7", "i32:4294967295", "i64:-9223372036854775808",
                               "i64:9007199254740993", "f32:0.1", "f32:0x7fa00001", "f64:-0",
                               "f64:nan", "f64:-inf", "-5"])
    check_eq(stub.requests[-1]["args"], [
        {"type": "i32", "value": 7}, {"type": "i32", "value": -1},
        {"type": "i64", "value": "-9223372036854775808"}, {"type": "i64", "value": "9007199254740993"},
        {"type": "f32", "value": 0.10000000149011612}, {"type": "f32", "value": "0x7fa00001"},
        {"type": "f64", "value": -0.0}, {"type": "f64", "value": "nan"}, {"type": "f64", "value": "-inf"},
        {"type": "i32", "value": -5}], "call sends typed args of all four types")
    check(str(stub.requests[-1]["args"][6]["value"]) == "-0.0", "-0.0 keeps its sign on the wire")
    check_eq((rc, out), (0, "i32:7\ni32:-1\ni64:-9223372036854775808\ni64:9007199254740993\nf32:0.1\n"
                            "f32:0x7fa00001\nf64:-0\nf64:nan\nf64:-inf\ni32:-5\n"),
             "call prints one TYPE:VALUE result per line")
    check("deadline_ms" not in stub.requests[-1], "no deadline unless asked")

    rc, out, err = client(S + ["-d", "250", "call", "add", "nop"])
    check_eq((rc, out, stub.requests[-1].get("deadline_ms")), (0, "", 250), "-d sets deadline_ms")

    rc, out, err = client(S + ["call", "add", "div", "1", "0"])
    check_eq(rc, 3, "a trap exits with 3")
    check("integer_divide_by_zero" in err, "the trap name is on stderr", err)

    rc, out, err = client(S + ["call", "nope", "f"])
    check_eq(rc, 1, "an error reply exits with 1")
    check("unknown_module" in err, "the error code is on stderr", err)

    rc, out, err = client(S + ["instantiate", "add"])
    check_eq((rc, out), (0, "i1\n"), "instantiate prints the handle")
    rc, out, err = client(S + ["terminate", "i1"])
    check_eq(rc, 1, "an instance does not outlive its connection")

    rc, out, err = client(["-s", os.path.join(tmp, "none.sock"), "ping"])
    check_eq(rc, 2, "no daemon exits with 2")
    rc, out, err = client(S + ["call", "add", "hangup"])
    check_eq(rc, 2, "a connection closed before the reply exits with 2")
    t0 = time.monotonic()
    rc, out, err = client(S + ["-t", "0.3", "call", "add", "silent"])
    check_eq(rc, 2, "-t: no reply in time exits with 2")
    check(time.monotonic() - t0 < 3, "-t gives up in time")

    for args, what in ((["frobnicate"], "unknown command"), (["call", "add"], "missing export"),
                       (["call", "add", "add", "x:1"], "bad argument"), (["call", "add", "add", "1.5"], "untyped float"),
                       (["stats", "--xml"], "bad stats option"),
                       ([], "no command")):
        n = len(stub.requests)
        rc, out, err = client(S + args)
        check_eq((rc, len(stub.requests)), (1, n), "usage error exits 1 and sends nothing: " + what)

    # `run MODULE` (a WASI program) has its own statuses, so that the program's 1, 2, 3 stay
    # its own: a usage error there is 125, still before anything is sent.
    for args, what in ((["run", "add", "--env", "NOEQUALS", "--", "x"], "env without ="),
                       (["run", "add", "--bogus"], "unknown run option"),
                       (["run", "add", "--env"], "--env without a value")):
        n = len(stub.requests)
        rc, out, err = client(S + args)
        check_eq((rc, len(stub.requests)), (125, n), "run MODULE usage error exits 125: " + what)
    rc, out, err = client(S + ["session"], stdin="run add -- x\n")
    check("error usage" in out and "session" in out, "run MODULE is refused in a session", out)

    rc, out, err = client(S + ["stats"])
    lines = out.splitlines()
    check_eq(lines[0].split()[:6], ["POOL", "SLOTS", "BUSY", "FREE", "WARM", "REQUESTS"],
             "stats table header")
    row = lines[1].split()
    check_eq((row[0], row[7]), ("add", "95.6%"),
             "stats: one line per pool, warm hits over both workers (43 of 43+2)")
    check(lines[2].startswith("daemon:"), "stats: the daemon's line follows the pools", lines)
    rc, out, err = client(S + ["stats", "--workers"])
    check("add/0" in out and "add/1" in out, "stats --workers shows each worker's pool", out)
    rc, out, err = client(S + ["stats", "--json"])
    check_eq(json.loads(out), STATS, "stats --json prints the samples")
    rc, out, err = client(S + ["stats", "--openmetrics"])
    check_eq(out, "# HELP wasmslot_warm_hits Slots handed out warm (the fast path: no mmap).\n"
                  "# TYPE wasmslot_warm_hits counter\n"
                  "wasmslot_warm_hits_total{pool=\"add\",worker=\"0\"} 41\n"
                  "wasmslot_warm_hits_total{pool=\"add\",worker=\"1\"} 2\n"
                  "# HELP wasmslot_slots_free Slots free now.\n"
                  "# TYPE wasmslot_slots_free gauge\n"
                  "wasmslot_slots_free{pool=\"add\",worker=\"0\"} 16\n"
                  "# HELP wasmslot_instantiations Slots handed out for instances.\n"
                  "# TYPE wasmslot_instantiations counter\n"
                  "wasmslot_instantiations_total{pool=\"add\",worker=\"0\"} 43\n"
                  "wasmslot_instantiations_total{pool=\"add\",worker=\"1\"} 2\n"
                  "# HELP wasmslot_big wasmslot statistic big (see PROTOCOL.md).\n"
                  "# TYPE wasmslot_big counter\n"
                  "wasmslot_big_total 18446744073709551615\n"
                  "# EOF\n", "stats --openmetrics prints OpenMetrics")
    rc, out, err = client(S + ["stats", "--prometheus"])
    check(out.startswith("# HELP wasmslot_warm_hits_total Slots handed out warm")
          and "# EOF" not in out, "stats --prometheus prints the Prometheus text format", out)

    rc, out, err = client(S + ["modules"])
    check_eq(out, "add\n  add (i32, i32) -> (i32)\n  nop () -> ()\n", "modules lists signatures")

    conns = stub.connections
    script = ("# a comment\n\ninstantiate add\ninstantiate add\nrun $_ add i32:7 i64:8\nrun $1 div\n"
              "run $1 nop\nterminate $2\nterminate $2\nbogus\nrun $7 add\nping\nstats\n")
    rc, out, err = client(S + ["session"], stdin=script)
    lines = out.splitlines()
    check_eq(lines[:10], ["ok i1", "ok i2", "ok i32:7 i64:8", "trap integer_divide_by_zero integer divide by zero",
                          "ok", "ok", "error unknown_instance no instance", "error usage unknown command \"bogus\"",
                          "error usage $7: no such instance in this session", "ok pong"],
             "session prints one line per command")
    check_eq(json.loads(lines[10][3:]), STATS, "session stats line is JSON")
    check_eq(stub.requests[-7].get("instance"), "i2", "$_ is the latest handle")
    check_eq(rc, 1, "session exits with its last failure")
    check_eq(stub.connections, conns + 1, "a session is one connection")
    rc, out, err = client(S + ["session"], stdin="instantiate add\nrun $_ div\n")
    check_eq(rc, 3, "session ending on a trap exits 3")
    rc, out, err = client(S + ["session"], stdin="ping\n")
    check_eq((rc, out), (0, "ok pong\n"), "clean session exits 0")

    # raw: pipelined; the stub answers "slow" only after the next request, so replies cross.
    raw_in = ('{"id":1,"op":"call","module":"add","export":"slow"}\n'
              'hello\n'
              '{"id":3,"op":"ping"}\n'
              '{"id":4,"op":"modules"}')  # no final newline
    rc, out, err = client(S + ["-t", "5", "raw"], stdin=raw_in)
    replies = [json.loads(l) for l in out.splitlines()]
    check_eq(rc, 0, "raw exits 0")
    check_eq(sorted(str(r["id"]) for r in replies), ["1", "3", "4", "None"], "raw prints every reply")
    ids = [r["id"] for r in replies]
    check(3 in ids and 1 in ids and ids.index(3) < ids.index(1), "raw prints replies as they come, out of order", ids)
    big = "x" * 300000
    rc, out, err = client(S + ["-t", "5", "raw"], stdin="".join('{"id":%d,"op":"ping","pad":"%s"}\n' % (i, big)
                                                               for i in range(20)))
    check_eq((rc, len(out.splitlines())), (0, 20), "raw streams large input without deadlock")

    print("%d checks, %d failed" % (checks, len(failures)))
    for f in failures:
        print("  failed: " + f)
    try:
        os.unlink(path)
        os.rmdir(tmp)
    except OSError:
        pass
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
