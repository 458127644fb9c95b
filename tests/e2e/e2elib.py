"""e2elib.py: helpers of the end-to-end tests: start a real wasmslotd on a temporary socket,
speak the protocol on raw sockets, assert, and clean up whatever happens."""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77  # automake's "skipped" exit status

# Run as root, wasmslotd refuses to run guest code as root unless the config says `user =
# root`: configs of tests that start a daemon (or check one with -t) carry USER_LINE.
AS_ROOT = os.geteuid() == 0
USER_LINE = "user = root\n" if AS_ROOT else ""

_here = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("WASMSLOT_SRCDIR") or os.path.normpath(os.path.join(_here, "..", ".."))
BUILDDIR = os.environ.get("WASMSLOT_BUILDDIR") or SRCDIR
DAEMON = os.path.join(BUILDDIR, "daemon", "wasmslotd")
CLIENT = os.path.join(BUILDDIR, "client", "wasmslot")

# The daemons of the e2e tests share one native code cache (cache_dir), so a module compiled
# by one test is loaded by the next instead of compiled again; it also puts the cache under
# many processes at once. WASMSLOT_E2E_NO_CACHE=1 turns it off. Only for daemons started by
# this user: the cache trusts only a directory of the master's own user.
CODE_CACHE = os.path.join(BUILDDIR, "tests", "e2e", "code-cache")
if not os.environ.get("WASMSLOT_E2E_NO_CACHE"):
    os.makedirs(CODE_CACHE, mode=0o700, exist_ok=True)
    os.chmod(CODE_CACHE, 0o700)


def fixture(name):
    """Path of a built .wasm: tests/e2e/NAME.wasm or etc/examples/NAME.wasm."""
    for d in ("tests/e2e", "etc/examples"):
        p = os.path.join(BUILDDIR, d, name + ".wasm")
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name + ".wasm (run make check, which builds the fixtures)")


_failures = []
_checks = 0


def check(cond, what, detail=None):
    """Record one assertion; the test fails at the end if any failed."""
    global _checks
    _checks += 1
    if cond:
        print("ok   %s" % what)
    else:
        _failures.append(what)
        print("FAIL %s%s" % (what, "" if detail is None else ": %r" % (detail,)))
    sys.stdout.flush()
    return cond


def check_eq(got, want, what):
    return check(got == want, what, {"got": got, "want": want})


def finish():
    """Exit with the status automake expects."""
    print("%d checks, %d failed" % (_checks, len(_failures)))
    for f in _failures:
        print("  failed: " + f)
    sys.exit(1 if _failures else 0)


def run_main(fn):
    """Run a test body; an exception is a failure with its traceback."""
    if not os.access(DAEMON, os.X_OK):
        print("SKIP: %s not built" % DAEMON)
        sys.exit(SKIP)
    try:
        fn()
    except Exception:
        traceback.print_exc()
        _failures.append("exception: %s" % sys.exc_info()[1])
    finally:
        Daemon.stop_all()
    finish()


class Daemon:
    """A wasmslotd in the foreground on a socket in a fresh temporary directory."""

    _all = []

    def __init__(self, modules=None, daemon=None, extra="", start=True, foreground=True,
                 env=None):
        self.dir = tempfile.mkdtemp(prefix="wasmslot-e2e-")
        # WASMSLOT_E2E_KEEP=1 keeps the directories (configs, logs) for a post-mortem.
        if not os.environ.get("WASMSLOT_E2E_KEEP"):
            atexit.register(shutil.rmtree, self.dir, True)
        self.sock = os.path.join(self.dir, "s.sock")
        self.conf = os.path.join(self.dir, "wasmslotd.conf")
        self.log = os.path.join(self.dir, "log")
        self.proc = None
        self.foreground = foreground
        self.env = env
        d = {"socket": self.sock, "workers": "2", "executor_threads": "2", "log_level": "debug",
             "grace_period": "2s"}
        if AS_ROOT:
            d["user"] = "root"
        if not os.environ.get("WASMSLOT_E2E_NO_CACHE"):
            d["cache_dir"] = CODE_CACHE
        d.update(daemon or {})
        self.daemon_opts = d
        self.modules = modules if modules is not None else {"e2e": {"path": fixture("e2e")}}
        self.extra = extra
        self.write_conf()
        Daemon._all.append(self)
        if start:
            self.start()

    def conf_text(self, daemon=None, modules=None, extra=None):
        d = dict(self.daemon_opts)
        d.update(daemon or {})
        lines = ["[daemon]"] + ["%s = %s" % kv for kv in d.items()]
        for name, opts in (modules if modules is not None else self.modules).items():
            lines.append("[module %s]" % name)
            lines += ["%s = %s" % kv for kv in opts.items()]
        lines.append(self.extra if extra is None else extra)
        return "\n".join(lines) + "\n"

    def write_conf(self, text=None, **kw):
        with open(self.conf, "w") as f:
            f.write(text if text is not None else self.conf_text(**kw))

    def start(self, wait=True):
        args = [DAEMON, "-c", self.conf] + (["-f"] if self.foreground else [])
        self.logf = open(self.log, "ab")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.update(self.env or {})
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()
        return self.proc

    def wait_ready(self, timeout=120.0):
        end = time.time() + timeout
        while time.time() < end:
            try:
                c = Conn(self.sock, timeout=2)
                r = c.rq({"id": "ready", "op": "ping"})
                c.close()
                if r.get("ok"):
                    return True
            except OSError:
                pass
            if self.proc is not None and self.proc.poll() is not None and self.foreground:
                raise RuntimeError("wasmslotd exited with %s:\n%s" % (self.proc.returncode,
                                                                     self.log_text()))
            time.sleep(0.02)
        raise RuntimeError("wasmslotd did not answer within %ss:\n%s" % (timeout,
                                                                        self.log_text()))

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid

    def workers(self):
        """Pids of the master's children."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.pid)],
                             capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for p in self.workers():
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.kill()
            self.proc.wait()
            return None

    @classmethod
    def stop_all(cls):
        for d in cls._all:
            try:
                d.stop()
            except Exception:
                pass
            log = d.log_text()
            # A sanitizer build reports memory errors in the log, even of a worker that the
            # master quietly restarted.
            bad = [l for l in log.splitlines()
                   if "AddressSanitizer" in l or "runtime error:" in l or "LeakSanitizer" in l]
            check(not bad, "no sanitizer report in the daemon's log (%s)" % d.dir, bad[:3])
            if bad or (d.proc is not None and d.proc.returncode not in (0, None)):
                print("--- daemon log (%s) ---\n%s" % (d.dir, log))


class Conn:
    """One client connection speaking JSON lines."""

    _next_id = 0

    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.pending = {}  # replies read while waiting for another id

    def close(self):
        self.s.close()

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj) + "\n")

    def read_line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed by the daemon")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line.decode())

    def read_reply(self, rid):
        """The reply with id rid, keeping others that arrive first."""
        key = json.dumps(rid)
        while key not in self.pending:
            r = self.read_line()
            # A retiring worker's last line (id null, shutting_down) answers every request
            # still without a reply (PROTOCOL.md section 1).
            if r.get("id") is None and (r.get("error") or {}).get("code") == "shutting_down":
                return r
            self.pending[json.dumps(r.get("id"))] = r
        return self.pending.pop(key)

    def rq(self, obj):
        if "id" not in obj:
            Conn._next_id += 1
            obj = dict(obj, id="r%d" % Conn._next_id)
        try:
            self.send(obj)
        except (BrokenPipeError, ConnectionResetError):
            # The daemon closed the connection before the request went (a retiring worker,
            # too_many_connections): the line it left is still the answer, as in client/conn.c.
            pass
        return self.read_reply(obj["id"])

    # Shorthands of the ops.
    def instantiate(self, module):
        return self.rq({"op": "instantiate", "module": module})

    def run(self, inst, export, args=(), **kw):
        return self.rq(dict({"op": "run", "instance": inst, "export": export,
                             "args": list(args)}, **kw))

    def call(self, module, export, args=(), **kw):
        return self.rq(dict({"op": "call", "module": module, "export": export,
                             "args": list(args)}, **kw))

    def terminate(self, inst):
        return self.rq({"op": "terminate", "instance": inst})

    def stats(self):
        return self.rq({"op": "stats"})["stats"]


def v(t, x):
    """A typed value."""
    return {"type": t, "value": x}


def i32(x):
    return v("i32", x)


def err_code(r):
    return (r.get("error") or {}).get("code")


def trap_name(r):
    return (r.get("error") or {}).get("trap")


def stat_sum(stats, name, **labels):
    """Sum of the samples called name whose labels include labels (a histogram's count)."""
    total = 0
    for s in stats:
        if s["name"] != name:
            continue
        if all(s["labels"].get(k) == val for k, val in labels.items()):
            total += int(s["count"] if s["kind"] == "histogram" else s["value"])
    return total


def wait_until(pred, timeout=3.0, step=0.02):
    end = time.time() + timeout
    while True:
        r = pred()
        if r or time.time() > end:
            return r
        time.sleep(step)
