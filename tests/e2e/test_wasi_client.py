#!/usr/bin/env python3
"""test_wasi_client.py: WASI programs end to end through `wasmslot run MODULE -- ARGS` and the
raw protocol: stdin (text and binary) in, stdout, stderr and the exit status out as if the
program ran locally; args and env; memory growth; exit(3); a trap after output; clocks and
random; a one-slot pool giving identical output to the same program twice; out-of-bounds
pointers in every WASI call; the client's own statuses and limits. test_wasi.py covers the
rest of the protocol side (output caps, deadlines, the granted directory)."""

import base64
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (BUILDDIR, CLIENT, SKIP, SRCDIR, Conn, Daemon, check, check_eq, err_code,
                    run_main, stat_sum, trap_name)

PROGS = ("filter", "argsenv", "grow", "exit3", "trap", "clockrand", "counter")


def wasm(name):
    return os.path.join(BUILDDIR, "tests", "wasi", name + ".wasm")


def upper(data):
    """What filter.c writes for data: ASCII letters upper-cased, every other byte as is."""
    return bytes(x - 32 if 97 <= x <= 122 else x for x in data)


def grow_checksum():
    """The checksum grow.c prints, computed the same way."""
    s, m = 0, (1 << 64) - 1
    for rnd in range(2):
        for i in range(64):
            for _ in range(0, 512 * 1024, 4096):
                s = (s * 31 + ((i * 7 + rnd) & 0xff)) & m
    return (s + sum(range(100000))) & m


class Native:
    """The test programs compiled for the host, when a C compiler is at hand: `wasmslot run`
    must give what running the program locally gives."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wasmslot-native-")
        self.cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")

    def build(self, name):
        if self.cc is None:
            return None
        exe = os.path.join(self.dir, name)
        r = subprocess.run([self.cc, "-O1", "-o", exe,
                            os.path.join(SRCDIR, "tests", "wasi", name + ".c")],
                           capture_output=True)
        return exe if r.returncode == 0 else None

    def run(self, exe, args=(), env=None, stdin=b""):
        r = subprocess.run([exe] + list(args), input=stdin, capture_output=True, env=env or {},
                           timeout=30)
        return r.returncode, r.stdout, r.stderr

    def close(self):
        shutil.rmtree(self.dir, True)


def main():
    if not os.access(CLIENT, os.X_OK):
        print("SKIP: %s not built" % CLIENT)
        sys.exit(SKIP)
    if not all(os.path.exists(wasm(p)) for p in PROGS):
        print("SKIP: the WASI test programs were not built (no clang for wasm32-wasi)")
        sys.exit(SKIP)
    # One worker with one executor thread and one slot per pool: consecutive programs of a
    # pool run in the very same slot, on the very same WASI state.
    mods = {p: {"path": wasm(p), "slots": "1", "deadline": "10s"} for p in PROGS}
    mods["bounds"] = {"path": wasm("guest_bounds"), "slots": "1"}
    mods["sleep"] = {"path": wasm("guest_sleep"), "slots": "1", "deadline": "5s"}
    mods["small"] = {"path": wasm("filter"), "slots": "1", "wasi_output_max": "16",
                     "max_request_size": "4096"}
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "1"})

    def ws(*args, stdin=b"", opts=()):
        """Run the client; returns (status, stdout bytes, stderr bytes)."""
        r = subprocess.run([CLIENT, "-s", d.sock] + list(opts) + list(args), input=stdin,
                           capture_output=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    native = Native()

    # --- a filter over stdin: text, then bytes that are not UTF-8
    got = ws("run", "filter", stdin=b"hello\nworld\n")
    check_eq(got, (0, b"HELLO\nWORLD\n", b"12 bytes, 2 lines\n"),
             "run filter: stdin in, stdout, stderr and status 0 out")
    raw = bytes(range(256)) * 3 + b"\xff\xfe\x00tail"
    got = ws("run", "filter", stdin=raw)
    check_eq(got, (0, upper(raw), b"%d bytes, 3 lines\n" % len(raw)),
             "run filter: binary stdin and stdout byte for byte (base64 on the wire)")
    text_nul = b"a\x00b\xc3\xa9\n"
    got = ws("run", "filter", stdin=text_nul)
    check_eq(got[:2], (0, b"A\x00B\xc3\xa9\n"), "run filter: UTF-8 text with a NUL byte")
    big = b"".join(b"line %d of a larger input\n" % i for i in range(20000))
    got = ws("run", "filter", stdin=big)
    check_eq(got, (0, upper(big), b"%d bytes, 20000 lines\n" % len(big)),
             "run filter: %d bytes of stdin" % len(big))
    got = ws("run", "filter", "-n", stdin=b"not read")
    check_eq(got, (0, b"", b"0 bytes, 0 lines\n"), "run -n: empty stdin, the client's unread")
    exe = native.build("filter")
    if exe:
        check_eq(ws("run", "filter", stdin=raw), native.run(exe, stdin=raw),
                 "run filter gives what the program compiled for the host gives")

    # --- args and environment
    want = (b"argc=4\nargv[0]=argsenv\nargv[1]=a b\nargv[2]=\nargv[3]=\xc3\xa9t\xc3\xa9\n"
            b"env GREETING=hi\nenv X=1=2\nGREETING=hi\n")
    got = ws("run", "argsenv", "--env", "GREETING=hi", "--env=X=1=2", "--", "a b", "",
             "\u00e9t\u00e9", stdin=b"")
    check_eq(got, (0, want, b""), "run argsenv: argv[0] is the module, args after --, env in order")
    got = ws("run", "argsenv", "--argv0", "prog", "-n")
    check_eq(got[:2], (0, b"argc=1\nargv[0]=prog\nGREETING=(unset)\n"),
             "run --argv0 names argv[0]; without --env the environment is empty")
    got = ws("run", "argsenv", "-e", "GREETING=x", "-n", "--", "--env", "-n")
    check(got[0] == 0 and b"argv[1]=--env\nargv[2]=-n\n" in got[1] and
          b"GREETING=x\n" in got[1], "words after -- are the program's, even option-like", got)
    exe = native.build("argsenv")
    if exe:
        args, env = ["x", "y z"], {"GREETING": "hi", "A": "b"}
        # argv[0] of the local run is "argsenv" too: subprocess sets it with `executable`.
        r = subprocess.run(["argsenv"] + args, executable=exe, env=env, capture_output=True)
        local = (r.returncode, r.stdout, r.stderr)
        got = ws("run", "argsenv", "--env", "GREETING=hi", "--env", "A=b", "--", *args)
        check_eq(got, local, "run argsenv gives what the native program gives")

    # --- malloc-heavy work that grows memory
    got = ws("run", "grow", "-n")
    check_eq(got, (0, b"checksum %d\ngrew yes\n" % grow_checksum(), b""),
             "run grow: tens of MiB malloc'd, memory grown, checksum right")

    # --- exit(3)
    got = ws("run", "exit3", "-n")
    check_eq(got, (3, b"about to exit", b"exiting with 3\n"),
             "run exit3: status 3, both streams flushed by exit()")
    exe = native.build("exit3")
    if exe:
        check_eq(got, native.run(exe), "run exit3 gives what the native program gives")

    # --- a trap after printing
    rc, out, err = ws("run", "trap", "-n")
    check_eq((rc, out), (134, b"line before the trap\n"), "run trap: status 134, stdout kept")
    check(err.startswith(b"error line before the trap\n") and
          b"wasmslot: trap: unreachable" in err, "   stderr kept, then the trap named", err)

    # --- clocks and random bytes
    clock_out = b"realtime ok\nclock_getres ok\nslept ok\nrandom ok\n"
    check_eq(ws("run", "clockrand", "-n"), (0, clock_out, b""),
             "run clockrand: realtime, resolution, a sleep and random bytes")

    # --- the same program twice in a row in the same (only) slot
    first = ws("run", "counter", "-n")
    second = ws("run", "counter", "-n")
    check_eq(first, (0, b"runs=1 note=pristine bss=0 heap=0\n", b""),
             "run counter: a pristine instance")
    check_eq(second, first, "   the same program again in the same slot: identical output")
    ws("run", "filter", stdin=b"secret input\n")
    check_eq(ws("run", "filter", "-n"), (0, b"", b"0 bytes, 0 lines\n"),
             "nothing of the previous run's stdin or output reaches the next one")

    # --- out-of-bounds pointers in every WASI call
    got = ws("run", "bounds", "-n")
    check_eq(got, (0, b"bounds ok\n", b""),
             "run bounds: every WASI call with out-of-bounds pointers returns EFAULT")

    # --- the client's own outcomes
    rc, out, err = ws("run", "sleep", "-n", opts=["-d", "200"])
    check_eq((rc, out), (124, b"sleeping\n"), "a program ended by the deadline: status 124")
    check(b"trap: timeout" in err, "   and says so", err)
    rc, out, err = ws("run", "small", stdin=b"x" * 100)
    check_eq((rc, out), (125, b"X" * 16), "output cut at wasi_output_max: status 125, kept part")
    check(b"output cut" in err, "   and says so", err)
    # Issue 11: a run is one request, a call; it used to ask for `modules` first, every time.
    s0 = Conn(d.sock).stats()
    check_eq(ws("run", "filter", stdin=b"one\n")[0], 0, "a run with stdin")
    check_eq(ws("run", "filter", "-n")[0], 0, "a run with -n")
    s1 = Conn(d.sock).stats()
    check_eq((stat_sum(s1, "requests", op="call") - stat_sum(s0, "requests", op="call"),
              stat_sum(s1, "requests", op="modules") - stat_sum(s0, "requests", op="modules")),
             (2, 0), "   two runs are two call requests and no modules request")
    rc, out, err = ws("run", "small", stdin=b"y" * 5000)
    check_eq((rc, out), (125, b""), "stdin over the module's max_request_size: status 125")
    check(b"standard input too large" in err and b"4096" in err, "   with the limit named", err)
    check_eq(stat_sum(Conn(d.sock).stats(), "runs"), stat_sum(s1, "runs"),
             "   refused by the daemon before anything runs")
    rc, out, err = ws("run", "small", stdin=b"y" * 3000)
    check_eq((rc, out[:4]), (125, b"YYYY"), "stdin that fits the limit is sent")
    rc, out, err = ws("run", "nope", "-n")
    check(rc == 125 and b"unknown_module" in err, "an unknown module: status 125", (rc, err))
    r = subprocess.run([CLIENT, "-s", os.path.join(d.dir, "none.sock"), "run", "filter", "-n"],
                       capture_output=True, timeout=20)
    check_eq(r.returncode, 126, "no daemon at the socket: status 126")
    rc, out, err = ws("run", "filter", "--frob")
    check_eq((rc, out), (125, b""), "a bad run option: status 125")

    # --- the same through raw JSON (what test_wasi.py does not already cover)
    c = Conn(d.sock)
    r = c.call("clockrand", "_start")
    check_eq((r.get("ok"), r.get("exit_code"), r.get("stdout"), r.get("stderr")),
             (True, 0, clock_out.decode(), ""), "raw: clockrand")
    outs = [c.call("counter", "_start") for _ in range(2)]
    check(outs[0].get("ok") and outs[0] == dict(outs[1], id=outs[0]["id"]),
          "raw: counter twice in the one slot, identical replies", outs)
    r = c.call("bounds", "_start")
    check_eq((r.get("ok"), r.get("exit_code"), r.get("stdout")), (True, 0, "bounds ok\n"),
             "raw: every WASI call with out-of-bounds pointers returns EFAULT")
    r = c.call("filter", "_start", stdin="a\u0000b")
    check_eq(r.get("stdout"), "A\u0000B", "raw: NUL bytes in text stdin and stdout")
    r = c.call("filter", "_start", stdin={"base64": base64.b64encode(b"\xffab").decode()})
    check_eq(r.get("stdout"), {"base64": base64.b64encode(b"\xffAB").decode()},
             "raw: non-UTF-8 output as padded base64")
    for bad in ("QQ=", "Q===", "QQ==QQ==", "@@@@", 5):
        r = c.call("filter", "_start", stdin={"base64": bad})
        check_eq(err_code(r), "bad_field", "raw: malformed base64 stdin %r is bad_field" % (bad,))
    r = c.call("argsenv", "_start", argv=[])
    check_eq(r.get("stdout"), "argc=0\nGREETING=(unset)\n", "raw: argv [] gives no arguments")
    r = c.call("filter", "_start", env=["NOEQUALS"])
    check_eq(err_code(r), "bad_field", "raw: an env entry without = is bad_field")
    r = c.call("small", "_start", stdin="z" * 40)
    check_eq((err_code(r), r.get("exit_code"), r.get("stdout"), r.get("stdout_truncated"),
              r.get("stderr"), r.get("stderr_truncated")),
             ("limit_reached", 0, "Z" * 16, True, "40 bytes, 0 line", True),
             "raw: cut streams are flagged with stdout_truncated and stderr_truncated")
    r = c.call("filter", "_start", stdin="ok")
    check("stdout_truncated" not in r and "stderr_truncated" not in r,
          "raw: no truncation flags when nothing was cut", r)
    r = c.call("sleep", "_start", deadline_ms=100)
    check_eq((trap_name(r), r.get("stdout"), "exit_code" in r), ("timeout", "sleeping\n", False),
             "raw: a trap reply has the output and no exit_code")

    # The daemon served all of that without a worker dying.
    check_eq(c.rq({"op": "ping"}).get("ok"), True, "the daemon still answers")
    s = c.stats()
    check_eq(stat_sum(s, "worker_restarts"), 0, "no worker was restarted")
    check_eq(ws("run", "filter", stdin=b"still\n")[:2], (0, b"STILL\n"),
             "and still runs programs")
    c.close()
    native.close()
    check_eq(d.stop(), 0, "the daemon stops cleanly")


run_main(main)
