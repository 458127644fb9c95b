#!/usr/bin/env python3
"""test_config.py: `wasmslotd -t` with the daemon's own parser: good files exit 0, every kind
of bad value exits 1 with `file:line: message`, and the daemon refuses to start on them; and
unknown_imports, the policy for imports the daemon does not provide."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (AS_ROOT, BUILDDIR, USER_LINE, DAEMON, SRCDIR, Conn, Daemon, check, check_eq,
                    err_code, fixture, i32, run_main, trap_name)


def t(conf):
    r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def test_example(d):
    # The shipped example, with its example modules beside it as in the source tree.
    ex = os.path.join(d.dir, "example")
    os.makedirs(os.path.join(ex, "examples"))
    shutil.copy(os.path.join(SRCDIR, "etc", "wasmslotd.conf"), ex)
    for m in ("add", "hello", "counter"):
        shutil.copy(fixture(m), os.path.join(ex, "examples"))
    rc, out = t(os.path.join(ex, "wasmslotd.conf"))
    check_eq(rc, 0, "the example etc/wasmslotd.conf passes -t")
    check("3 module(s)" in out, "   and names its 3 modules", out)


def test_good(d):
    rc, out = t(d.conf)
    check_eq(rc, 0, "-t on a good config exits 0")
    check("ok" in out, "   and says ok", out)
    minimal = os.path.join(d.dir, "minimal.conf")
    with open(minimal, "w") as f:
        f.write("[module m]\npath = %s\n" % fixture("e2e"))
    if AS_ROOT:
        rc, out = t(minimal)
        check(rc == 1 and "guest code would run as root" in out,
              "as root, a config without `user` is refused (guest code would run as root)", out)
        with open(minimal, "w") as f:
            f.write("[daemon]\nuser = root\n[module m]\npath = %s\n" % fixture("e2e"))
    check_eq(t(minimal)[0], 0, "a module section alone is a complete config (all defaults)")
    rel = os.path.join(d.dir, "rel.conf")
    shutil.copy(fixture("e2e"), os.path.join(d.dir, "rel.wasm"))
    with open(rel, "w") as f:
        f.write("# comment\n; comment\n\n[daemon]\n" + USER_LINE + "workers = 3   # trailing comment\n"
                "socket = \"/tmp/x.sock\"\n[module m]\npath = rel.wasm\nslots=1\n"
                "max_memory = 4M\ndeadline = 0\n")
    rc, out = t(rel)
    check_eq(rc, 0, "relative module paths, quotes, comments, 0 deadline")
    check(re.search(r"^module 'm': engine (native|interp), loaded in [0-9.]+ ms \(compile [0-9.]+ ms\)$",
                    out, re.M) is not None,
          "-t reports each module's engine and what compiling it cost", out)


BAD = [
    # (text after a good [daemon] header, line of the error, words of the message)
    ("workers = 0\n", 2, "workers: 0 is out of range"),
    ("workers = two\n", 2, "workers: expected a number"),
    ("executor_threads = 1000\n", 2, "executor_threads"),
    ("socket = relative.sock\n", 2, "absolute path"),
    ("socket_mode = 0999\n", 2, "socket_mode"),
    ("socket_mode = 0060\n", 2, "owner unable"),
    ("socket_owner = no-such-user-xyz\n", 2, "unknown user"),
    ("log = somewhere\n", 2, "log: expected stderr, syslog"),
    ("log_level = loud\n", 2, "log_level"),
    ("max_request_size = 10\n", 2, "max_request_size"),
    ("max_request_size = 5X\n", 2, "unknown size unit"),
    ("grace_period = 10\n", 2, "needs a unit"),
    ("pid_file = pid\n", 2, "pid_file"),
    ("frobnicate = 1\n", 2, "unknown directive 'frobnicate'"),
    ("just words\n", 2, "expected 'key = value'"),
    ("[daemon]\n", 2, "second [daemon]"),
    ("[module]\n", 2, "the name must be"),
    ("[module a b]\n", 2, "the name must be"),
    ("[modules x]\n", 2, "unknown section"),
    ("[shmem s]\n", 2, "[shmem s] has no 'max'"),
    ("[module m\n", 2, "closing ']'"),
    ("[module m]\nslots = 0\n", 3, "slots: 0 is out of range"),
    ("[module m]\nmax_memory = 100000\n", 3, "multiple of the 64K"),
    ("[module m]\ndeadline = 2h\n", 3, "needs a unit"),
    ("[module m]\npath = /no/such.wasm\n", 3, "cannot read '/no/such.wasm'"),
    ("[module m]\nslots = 1\n", 2, "[module m] has no 'path'"),
    ("[module m]\npath = %(e2e)s\n[module m]\n", 4, "defined twice"),
    ("[module m]\npath = %(e2e)s\nmax_request_size = 2M\n", 2, "exceeds the daemon's"),
    ("[module m]\npath = %(e2e)s\ncolour = blue\n", 4, "unknown directive 'colour' in [module m]"),
    ("[module m]\npath = %(bad)s\n", 2, "module 'm'"),
    ("", 0, "no [module NAME] section"),
]


def test_bad(d):
    bad_wasm = os.path.join(d.dir, "bad.wasm")
    with open(bad_wasm, "wb") as f:
        f.write(b"\0asm\1\0\0\0\x0a\x02\x01")  # a code section cut short
    conf = os.path.join(d.dir, "bad.conf")
    for text, line, words in BAD:
        body = "[daemon]\n" + text % {"e2e": fixture("e2e"), "bad": bad_wasm}
        # Files without a module section get one at the end when the error is elsewhere.
        if "[module" not in text and line:
            body += "[module ok]\npath = %s\n" % fixture("e2e")
        with open(conf, "w") as f:
            f.write(body)
        rc, out = t(conf)
        where = "%s:%d: " % (conf, line) if line else "%s: " % conf
        check(rc == 1 and out.startswith(where) and words in out,
              "-t rejects %r with %s... %s" % (text.strip(), where, words), out)
    with open(conf, "w") as f:
        f.write("[daemon]\nworkers = 0\n")
    r = subprocess.run([DAEMON, "-f", "-c", conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "%s:2: workers" % conf in r.stderr,
          "the daemon refuses to start on a bad config, with file:line", r.stderr)
    rc, out = t(os.path.join(d.dir, "missing.conf"))
    check(rc == 1 and "missing.conf: cannot open" in out, "-t on a missing file exits 1", out)
    r = subprocess.run([DAEMON, "-x"], capture_output=True, text=True)
    check(r.returncode == 2 and "usage" in r.stderr, "a bad option prints the usage")


def test_unknown_imports(d):
    """Issue 11: a module importing what wasmslotd does not provide loads when its pool says
    unknown_imports = trap; its stubs trap unlinked_import, naming the import, when called."""
    conf = os.path.join(d.dir, "unknown.conf")
    with open(conf, "w") as f:
        f.write(d.conf_text(modules={"m": {"path": fixture("unlinked")}}))
    rc, out = t(conf)
    check(rc == 1 and "unknown import env::host_log" in out and "unknown_imports" in out,
          "by default (reject) -t refuses an unknown import and points to unknown_imports", out)
    for policy, want in (("reject", 1), ("trap", 0), ("maybe", 1)):
        with open(conf, "w") as f:
            f.write(d.conf_text(modules={"m": {"path": fixture("unlinked"),
                                               "unknown_imports": policy}}))
        rc, out = t(conf)
        check_eq(rc, want, "unknown_imports = %s: -t exits %d" % (policy, want))
        if policy == "trap":
            check("import env.host_log is not provided" in out and
                  "import env.host_sum is not provided" in out and "proc_exit" not in out,
                  "   and lists the stubbed imports (not the WASI one)", out)
    with open(conf, "w") as f:
        f.write(d.conf_text(modules={"g": {"path": fixture("unlinked_global"),
                                           "unknown_imports": "trap"}}))
    rc, out = t(conf)
    check(rc == 1 and "env::limit" in out, "a global import is refused even with trap", out)

    srv = Daemon(modules={"m": {"path": fixture("unlinked"), "unknown_imports": "trap"}},
                 daemon={"workers": "1"})
    c = Conn(srv.sock)
    check_eq(c.call("m", "add", [i32(2), i32(40)]).get("results"), [i32(42)],
             "an export that never calls a stub runs")
    r = c.call("m", "uses_log", [i32(1)])
    check_eq((err_code(r), trap_name(r)), ("trap", "unlinked_import"),
             "calling a stub traps unlinked_import")
    check("env.host_log" in (r.get("error") or {}).get("message", ""),
          "   and the message names the import", r)
    r = c.call("m", "uses_sum")
    check("env.host_sum" in (r.get("error") or {}).get("message", ""),
          "   each stub names its own import", r)
    mods = c.rq({"op": "modules"}).get("modules") or []
    check_eq([m.get("stubbed_imports") for m in mods], [["env.host_log", "env.host_sum"]],
             "modules lists the stubbed imports")
    r = subprocess.run([os.path.join(BUILDDIR, "client", "wasmslot"), "-s", srv.sock, "modules"],
                       capture_output=True, text=True, timeout=10)
    check("stubbed import env.host_log" in r.stdout, "   and so does `wasmslot modules`", r.stdout)
    c.close()
    srv.stop()


def main():
    d = Daemon(start=False)
    test_example(d)
    test_good(d)
    test_bad(d)
    test_unknown_imports(d)


run_main(main)
