#!/usr/bin/env python3
"""test_client_ops.py: the client as a script sees it: --help and -h of every command on
stdout with status 0 and no connection, the hint when no daemon listens, and the default
reply timeout ($WASMSLOT_TIMEOUT, -t) that keeps a hung daemon from hanging a script."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_client import CLIENT, Stub, check, check_eq, client, failures  # noqa: E402

COMMANDS = ["call", "instantiate", "run", "terminate", "session", "stats", "modules", "ping",
            "raw"]


def main():
    if not os.access(CLIENT, os.X_OK):
        print("SKIP: %s not built" % CLIENT)
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="wasmslot-client-ops-")
    path = os.path.join(tmp, "s.sock")
    stub = Stub(path)
    S = ["-s", path]

    for opt in ("--help", "-h"):
        rc, out, err = client([opt])
        check(rc == 0 and out.startswith("usage: wasmslot") and err == "",
              "wasmslot %s: usage on stdout, exit 0" % opt, (rc, err))
    conns = stub.connections
    for cmd in COMMANDS:
        for opt in ("--help", "-h"):
            rc, out, err = client(S + [cmd, opt])
            check(rc == 0 and out.startswith("usage: wasmslot [OPTION]... " + cmd)
                  and err == "", "wasmslot %s %s: its usage on stdout, exit 0" % (cmd, opt),
                  (rc, out[:200], err))
    rc, out, err = client(S + ["call", "add", "add", "--help"])
    check(rc == 0 and out.startswith("usage: wasmslot [OPTION]... call"),
          "--help after a command's arguments", (rc, out[:100]))
    rc, out, err = client(S + ["help", "stats"])
    check(rc == 0 and "--prometheus" in out, "wasmslot help COMMAND", out)
    check_eq(stub.connections, conns, "no help connects to the daemon")
    rc, out, err = client(S + ["run", "add", "--", "--help"])
    check(stub.connections == conns + 1 and "usage" not in out,
          "run MODULE -- --help passes --help to the program", (rc, out, err))

    gone = os.path.join(tmp, "none.sock")
    rc, out, err = client(["-s", gone, "ping"])
    check(rc == 2 and "is wasmslotd running? socket %s" % gone in err,
          "no daemon: the error says `is wasmslotd running? socket PATH`", err)
    rc, out, err = client(["-s", gone, "run", "add", "-n"])
    check(rc == 126 and "is wasmslotd running? socket %s" % gone in err,
          "run MODULE: the same hint (status 126)", (rc, err))
    rc, out, err = client(["-s", gone, "session"], stdin="ping\n")
    check(rc == 2 and "is wasmslotd running?" in err, "session: the same hint", err)

    rc, out, err = client(["--help"])
    check("else 60 s" in out and "WASMSLOT_TIMEOUT" in out,
          "--help documents the default timeout and its variable", out)
    env = dict(os.environ, WASMSLOT_TIMEOUT="0.3")
    env.pop("WASMSLOT_SOCKET", None)
    t0 = time.monotonic()
    r = subprocess.run([CLIENT] + S + ["call", "add", "silent"], capture_output=True, text=True,
                       env=env, timeout=20)
    dt = time.monotonic() - t0
    check(r.returncode == 2 and dt < 5, "$WASMSLOT_TIMEOUT bounds the wait for a reply",
          (r.returncode, dt, r.stderr))
    r = subprocess.run([CLIENT] + S + ["-t", "0.2", "call", "add", "silent"],
                       capture_output=True, text=True, env=dict(env, WASMSLOT_TIMEOUT="1000"),
                       timeout=20)
    check_eq(r.returncode, 2, "-t wins over $WASMSLOT_TIMEOUT")
    r = subprocess.run([CLIENT] + S + ["ping"], capture_output=True, text=True,
                       env=dict(env, WASMSLOT_TIMEOUT="soon"), timeout=20)
    check(r.returncode == 1 and "WASMSLOT_TIMEOUT" in r.stderr, "a bad $WASMSLOT_TIMEOUT",
          r.stderr)

    print("%d failed" % len(failures))
    for f in failures:
        print("  failed: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
