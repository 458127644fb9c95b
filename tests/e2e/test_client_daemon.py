#!/usr/bin/env python3
"""test_client_daemon.py: the wasmslot client against a real wasmslotd: every op, typed
arguments and results, exit statuses for traps and errors, stats in all three forms."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (CLIENT, DAEMON, SKIP, SRCDIR, Daemon, check, check_eq, fixture, run_main,
                    wait_until)


def main():
    if not os.access(CLIENT, os.X_OK):
        print("SKIP: %s not built" % CLIENT)
        sys.exit(SKIP)
    d = Daemon(modules={"e2e": {"path": fixture("e2e"), "deadline": "200ms"},
                        "add": {"path": fixture("add")}})

    def ws(*args, stdin=None):
        r = subprocess.run([CLIENT, "-s", d.sock] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout, r.stderr

    rc, out, _ = ws("ping")
    check_eq(rc, 0, "wasmslot ping exits 0")
    rc, out, _ = ws("call", "add", "add", "2", "40")
    check_eq((rc, out.strip()), (0, "i32:42"), "wasmslot call add add 2 40 prints i32:42")
    rc, out, _ = ws("call", "e2e", "swap", "i32:1", "i64:-2", "f32:1.5", "f64:-0.25")
    check_eq((rc, out.split()), (0, ["f64:-0.25", "f32:1.5", "i64:-2", "i32:1"]),
             "typed args and multi-value results through the client")
    rc, out, _ = ws("call", "e2e", "id_i64", "i64:9223372036854775807")
    check_eq(out.strip(), "i64:9223372036854775807", "i64 maximum through the client")
    rc, out, _ = ws("call", "e2e", "id_f64", "f64:0x7ff0000000000001")
    check_eq(out.strip(), "f64:0x7ff0000000000001", "an f64 NaN payload through the client")
    rc, out, err = ws("call", "add", "div", "1", "0")
    check_eq(rc, 3, "a guest trap exits 3")
    check("integer_divide_by_zero" in out + err, "   and names the trap", out + err)
    rc, out, err = ws("call", "e2e", "spin")
    check(rc == 3 and "timeout" in out + err, "a runaway loop: timeout trap, exit 3", (rc, err))
    rc, out, err = ws("call", "nope", "f")
    check(rc == 1 and "unknown_module" in out + err, "an error reply exits 1", (rc, err))
    rc, out, err = ws("call", "add", "add", "1")
    check(rc == 1 and "bad_arguments" in out + err, "wrong argument count exits 1", (rc, err))
    rc, out, _ = ws("modules")
    check(rc == 0 and "add" in out and "gcd" in out, "wasmslot modules lists exports", out)
    rc, out, _ = ws("instantiate", "e2e")
    check(rc == 0 and out.strip() != "", "wasmslot instantiate prints a handle", out)
    # A handle lives on its connection only: a later client invocation cannot use it.
    rc2, out2, err2 = ws("run", out.strip(), "incr")
    check(rc2 == 1 and "unknown_instance" in out2 + err2,
          "a handle from another connection is unknown_instance", (rc2, err2))
    # A session keeps one connection for instantiate/run/terminate scripting.
    script = ("instantiate e2e\nrun $_ poke i64:99\nrun $1 peek\nrun $1 incr\nrun $1 incr\n"
              "run $1 trap_div_zero 0\nrun $1 incr\nterminate $1\nrun $1 incr\n")
    rc, out, err = ws("session", stdin=script)
    lines = out.splitlines()
    check(len(lines) == 9, "a session answers every line", out)
    if len(lines) == 9:
        check(lines[0].startswith("ok "), "session: instantiate gives a handle", lines[0])
        check_eq(lines[1:5], ["ok", "ok i64:99", "ok i32:1", "ok i32:2"],
                 "session: runs on one instance keep its state")
        check(lines[5].startswith("trap integer_divide_by_zero"), "session: a trap", lines[5])
        check_eq(lines[6:8], ["ok i32:3", "ok"], "session: the instance runs on after the trap, "
                 "then terminates")
        check(lines[8].startswith("error unknown_instance"),
              "session: a terminated handle is unknown", lines[8])
    rc, out, err = ws("raw", stdin='{"id":1,"op":"ping"}\nnot json\n')
    check(rc in (0, 1) and '"pong":true' in out and "bad_json" in out,
          "raw mode passes lines through", out)
    for _ in range(5):
        ws("call", "add", "add", "1", "1")
    rc, out, _ = ws("stats")
    check(rc == 0 and out.startswith("POOL") and "\nadd " in out,
          "wasmslot stats prints a line per pool", out[:300])
    rc, out, _ = ws("stats", "--json")
    check(rc == 0 and out.lstrip()[:1] in ("[", "{"),
          "wasmslot stats --json prints JSON", out[:200])
    rc, out, _ = ws("stats", "--prometheus")
    check(rc == 0 and "# TYPE wasmslot_warm_hits_total counter" in out,
          "wasmslot stats --prometheus prints the Prometheus text format", out[-200:])
    rc, out, _ = ws("call", "--json", "add", "add", "2", "40")
    check(rc == 0 and json.loads(out) == {"ok": True, "results": [{"type": "i32", "value": 42}]},
          "call --json prints the reply's fields", out)
    rc, out, _ = ws("call", "--json", "add", "div", "1", "0")
    check(rc == 3 and json.loads(out)["error"]["trap"] == "integer_divide_by_zero",
          "call --json prints an error reply too, with the usual exit status", (rc, out))
    rc, out, _ = ws("modules", "--json")
    check(rc == 0 and "add" in [m["name"] for m in json.loads(out)["modules"]],
          "modules --json prints the modules array", out[:200])
    rc, out, _ = ws("stats", "--openmetrics")
    check(rc == 0 and "# TYPE wasmslot_warm_hits counter" in out and
          out.rstrip().endswith("# EOF"), "wasmslot stats --openmetrics prints OpenMetrics",
          out[-200:])
    check_eq(d.stop(), 0, "the daemon stops cleanly")
    quick_start()


def quick_start():
    """The README's quick start: the shipped example config and example modules, on a socket
    given with -s, and one call through the client."""
    d = Daemon(start=False)
    ex = os.path.join(d.dir, "etc")
    os.makedirs(os.path.join(ex, "examples"))
    shutil.copy(os.path.join(SRCDIR, "etc", "wasmslotd.conf"), ex)
    for m in ("add", "hello", "counter"):
        shutil.copy(fixture(m), os.path.join(ex, "examples"))
    sock = os.path.join(d.dir, "quick.sock")
    p = subprocess.Popen([DAEMON, "-f", "-c", os.path.join(ex, "wasmslotd.conf"), "-s", sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ok = wait_until(lambda: os.path.exists(sock), timeout=5)
        r = subprocess.run([CLIENT, "-s", sock, "call", "add", "add", "2", "40"],
                           capture_output=True, text=True, timeout=10)
        check(ok and r.returncode == 0 and r.stdout.strip() == "i32:42",
              "quick start: example config, -s socket, `wasmslot call add add 2 40` = i32:42",
              (r.returncode, r.stdout, r.stderr))
        r = subprocess.run([CLIENT, "-s", sock, "call", "hello", "count"], capture_output=True,
                           text=True, timeout=10)
        check_eq(r.stdout.strip(), "i32:1", "quick start: the hello example answers")
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        r = subprocess.run([CLIENT, "-s", sock, "ping"], capture_output=True, timeout=10)
        check_eq(r.returncode, 0, "-s stays in force after a reload")
    finally:
        p.send_signal(signal.SIGTERM)
        check_eq(p.wait(10), 0, "quick start: the daemon stops cleanly")


run_main(main)
