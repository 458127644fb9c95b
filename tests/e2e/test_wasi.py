#!/usr/bin/env python3
"""test_wasi.py: WASI commands (`_start`) through the daemon: argv, env, stdin in; exit code,
stdout and stderr out; traps keep the output; the deadline ends a sleeping program; output
caps; a granted directory is read-only; slots come back pristine between programs."""

import base64
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (BUILDDIR, Conn, Daemon, check, check_eq, err_code, i32, run_main,
                    stat_sum, trap_name)


def prog(name):
    p = os.path.join(BUILDDIR, "tests", "wasi", name + ".wasm")
    return p if os.path.exists(p) else None


def main():
    mods = {}
    for name in ("filter", "argsenv", "exit3", "trap", "counter", "grow", "catfile", "reactor"):
        if prog(name):
            mods[name] = {"path": prog(name), "slots": "4", "deadline": "5s"}
    if prog("guest_sleep"):
        mods["sleep"] = {"path": prog("guest_sleep"), "slots": "2", "deadline": "300ms"}
    if not mods:
        print("SKIP: no WASI test programs were built")
        sys.exit(77)
    if "filter" in mods:
        mods["small"] = {"path": prog("filter"), "wasi_output_max": "16"}
    if "reactor" in mods:
        mods["reactor_small"] = {"path": prog("reactor"), "wasi_output_max": "100"}
    grant = None
    if "catfile" in mods:
        d0 = Daemon(start=False)
        grant = os.path.join(d0.dir, "grant")
        os.makedirs(grant)
        with open(os.path.join(grant, "hello.txt"), "w") as f:
            f.write("hello from the host\n")
        mods["catfile"]["wasi_dir"] = grant
    d = Daemon(modules=mods, daemon={"workers": "1"})
    c = Conn(d.sock)

    if "filter" in mods:
        r = c.call("filter", "_start", stdin="hello\nworld\n")
        check_eq((r.get("ok"), r.get("exit_code"), r.get("stdout"), r.get("stderr")),
                 (True, 0, "HELLO\nWORLD\n", "12 bytes, 2 lines\n"),
                 "stdin in, stdout and stderr out")
        raw = bytes(range(256))
        r = c.call("filter", "_start", stdin={"base64": base64.b64encode(raw).decode()})
        out = r.get("stdout")
        check(isinstance(out, dict) and "base64" in out, "non-UTF-8 output comes as base64", r)
        if isinstance(out, dict):
            want = bytes(x - 32 if 97 <= x <= 122 else x for x in raw)
            check_eq(base64.b64decode(out["base64"]), want, "binary stdin and stdout round-trip")
        r = c.call("small", "_start", stdin="x" * 100)
        check_eq(err_code(r), "limit_reached", "output past wasi_output_max is limit_reached")
        check_eq(r.get("stdout"), "X" * 16, "   with the output up to the cap")
        r = c.call("filter", "_start", args=[i32(1)])
        check_eq(err_code(r), "bad_arguments", "_start with arguments is bad_arguments")
        r = c.rq({"op": "call", "module": "filter", "export": "_start", "argv": "x"})
        check_eq(err_code(r), "bad_field", "argv that is not an array is bad_field")
        h = c.instantiate("filter")["instance"]
        r = c.run(h, "_start", stdin="abc")
        check_eq(r.get("stdout"), "ABC", "run of _start on an instance")
        c.terminate(h)

    if "reactor" in mods:
        # Issue 11: what a reactor's export prints comes back in the reply, as for _start.
        r = c.call("reactor", "greet", [i32(2)])
        check_eq((r.get("ok"), r.get("results"), r.get("stdout"), r.get("stderr")),
                 (True, [i32(4)], "hello 1\nhello 2\n", ""),
                 "a reactor export's stdout comes back with its results")
        r = c.call("reactor", "complain")
        check_eq((r.get("results"), r.get("stdout"), r.get("stderr")),
                 ([i32(7)], "", "something is off\n"), "   and its stderr")
        check_eq(c.call("reactor", "constructed").get("results"), [i32(42)],
                 "   _initialize ran (the reactor's constructors) before the export")
        r = c.call("reactor", "quiet", [i32(41)])
        check_eq((r.get("results"), r.get("stdout"), r.get("stderr")), ([i32(42)], "", ""),
                 "   an export that prints nothing: empty streams")
        r = c.call("reactor", "crash")
        check_eq((trap_name(r), r.get("stdout")), ("unreachable", "about to trap\n"),
                 "   a trap keeps what was printed before it")
        r = c.call("reactor_small", "flood", [i32(1000)])
        check_eq((r.get("results"), r.get("stdout"), r.get("stdout_truncated")),
                 ([i32(1000)], "z" * 100, True), "   capped at wasi_output_max, and flagged")
        h = c.instantiate("reactor")["instance"]
        check_eq(c.run(h, "greet", [i32(1)]).get("stdout"), "hello 1\n",
                 "   a run on an instance too")
        check_eq(c.run(h, "greet", [i32(1)]).get("stdout"), "hello 1\n",
                 "   each run returns its own output only")
        c.terminate(h)

    if "argsenv" in mods:
        r = c.call("argsenv", "_start", argv=["prog", "a b", "c"], env=["GREETING=hi", "X=1"])
        check_eq(r.get("stdout"), "argc=3\nargv[0]=prog\nargv[1]=a b\nargv[2]=c\n"
                 "env GREETING=hi\nenv X=1\nGREETING=hi\n", "argv and env reach the program")
        r = c.call("argsenv", "_start")
        check("argv[0]=argsenv\n" in (r.get("stdout") or "") and "GREETING=(unset)" in
              (r.get("stdout") or ""), "default argv is the module name, env is empty", r)

    if "exit3" in mods:
        r = c.call("exit3", "_start")
        check_eq((r.get("ok"), r.get("exit_code")), (True, 3), "exit(3) is ok with exit_code 3")
        check(r.get("stdout") and r.get("stderr"), "   with both streams", r)

    if "trap" in mods:
        r = c.call("trap", "_start")
        check_eq(err_code(r), "trap", "a trapping program gets a trap reply")
        check(r.get("stdout"), "   which carries the output written before the trap", r)

    if "counter" in mods:
        outs = [c.call("counter", "_start").get("stdout") for _ in range(3)]
        check(outs[0] and outs[0] == outs[1] == outs[2],
              "a slot reused by the next program is pristine", outs)

    if "grow" in mods:
        r = c.call("grow", "_start")
        check_eq((r.get("ok"), r.get("exit_code")), (True, 0), "a program growing its memory", )

    if "catfile" in mods:
        r = c.call("catfile", "_start", argv=["cat", "hello.txt", "../etc/passwd", "/etc/passwd"])
        out = r.get("stdout") or ""
        check("hello.txt: hello from the host" in out, "a granted directory can be read", out)
        check("../etc/passwd: hello" not in out and "root:" not in out,
              "paths cannot leave the granted directory", out)
        check("create: ok" not in out, "the granted directory is read-only", out)
        check(not os.path.exists(os.path.join(grant, "new.txt")), "   nothing was created")

    if "sleep" in mods:
        t0 = time.time()
        r = c.call("sleep", "_start")
        dt = time.time() - t0
        check_eq(trap_name(r), "timeout", "a program sleeping past its deadline: timeout")
        check(dt < 2, "   at the deadline (300ms)", dt)
        check(r.get("stdout"), "   keeping its output", r)

    s = c.stats()
    check(stat_sum(s, "requests", op="call") > 0, "WASI calls are counted")
    c.close()
    check_eq(d.stop(), 0, "the daemon stops cleanly")


run_main(main)
