#!/usr/bin/env python3
"""test_wasi_programs.py: C programs compiled by clang for wasm32-wasi at -O0, -O2, -Os and -O3
(tests/wasi/real/) run as WASI commands through the daemon, and each one's stdout, stderr and
exit code must equal, byte for byte, what node's own WASI gives for the same module, arguments
and stdin. Skipped, with a SKIP line, when node or the programs are missing."""

import base64
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import BUILDDIR, SKIP, SRCDIR, Conn, Daemon, check_eq, run_main

LEVELS = ("O0", "O2", "Os", "O3")

# name: (argv after argv[0], stdin bytes)
PROGRAMS = {
    "bytecode": ([], b""),
    "lexer": ([], b"while (n-- > 0) { s += \"a\\\"b\"; /* c */ x = 0x7f >> 2.5e1; } @\n"),
    # 50,000 deep; at -O0, whose frames clang makes several times larger, 20,000 (node needs
    # a larger stack than its default for that too).
    "recurse": (["50000"], b""),
    "mutual": ([], b""),
    "errors": ([], b""),
    "floatfmt": ([], b""),
    "sorting": ([], b""),
    "tables": ([], b""),
    "dispatch": ([], b""),
    "bigint": ([], b""),
    "wordfreq": ([], b""),
    "regex": ([], b""),
    "sudoku": ([], b""),
    "life": ([], b""),
    "utf8": ([], "na\u00efve \u65e5\u672c \U0001F600 \xff".encode("utf-8", "surrogateescape")),
}


def path(name, level):
    return os.path.join(BUILDDIR, "tests", "wasi", "real", "%s-%s.wasm" % (name, level))


def program_args(name, level):
    argv, stdin = PROGRAMS[name]
    if name == "recurse" and level == "O0":
        argv = ["20000"]
    return argv, stdin


def node_run(node, name, level):
    argv, stdin = program_args(name, level)
    p = subprocess.run([node, "--no-warnings", "--stack-size=7000",
                        os.path.join(SRCDIR, "tests", "e2e", "wasi_node.js"), path(name, level),
                        name] + argv, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    return p.stdout, p.stderr, p.returncode


def stream(r, key):
    v = r.get(key)
    if isinstance(v, dict):
        return base64.b64decode(v["base64"])
    return (v or "").encode("utf-8")


def main():
    node = shutil.which("node")
    if node is None:
        print("SKIP: node is not installed; the WASI programs need it as their reference")
        sys.exit(SKIP)
    if not all(os.path.exists(path(n, l)) for n in PROGRAMS for l in LEVELS):
        print("SKIP: the WASI programs were not built (no wasm32-wasi C compiler)")
        sys.exit(SKIP)
    mods = {"%s_%s" % (n, l): {"path": path(n, l), "slots": "1", "deadline": "60s"}
            for n in PROGRAMS for l in LEVELS}
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "2"})
    c = Conn(d.sock, timeout=120)
    with ThreadPoolExecutor(max_workers=2) as pool:
        want = {(n, l): pool.submit(node_run, node, n, l) for n in PROGRAMS for l in LEVELS}
        for n in PROGRAMS:
            for l in LEVELS:
                argv, stdin = program_args(n, l)
                t0 = time.monotonic()
                r = c.call("%s_%s" % (n, l), "_start", argv=[n] + argv,
                           stdin={"base64": base64.b64encode(stdin).decode()})
                took = time.monotonic() - t0
                got = (stream(r, "stdout"), stream(r, "stderr"),
                       r.get("exit_code") if r.get("ok") else r.get("error"))
                out, err, rc = want[(n, l)].result()
                check_eq(got, (out, err, rc), "%s -%s: stdout (%d bytes), stderr (%d bytes) and "
                         "exit code %s as under node (%.2f s)" % (n, l, len(out), len(err), rc, took))


run_main(main)
