#!/usr/bin/env python3
"""test_fastcgi.py: the FastCGI responder spoken raw against a real wasmslotd: CGI handlers
(environment, body, Status:, JSON), routing by prefix and by SCRIPT_NAME, traps, deadlines and
malformed responses as 500/504 without guest detail, keep-alive and FCGI_KEEP_CONN, multiplexed
requests, FCGI_GET_VALUES, unknown roles and types, aborts, oversized params and bodies,
malformed records, a front end that stops reading, the TCP listener on loopback, stats, reload
and the config checks."""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import BUILDDIR, DAEMON, Conn, Daemon, check, check_eq, run_main, stat_sum
import fcgilib as F


def prog(name):
    p = os.path.join(BUILDDIR, "tests", "fcgi", name + ".wasm")
    return p if os.path.exists(p) else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stats(d):
    c = Conn(d.sock)
    r = c.rq({"op": "stats"})
    c.close()
    return r["stats"]


def config_checks(d):
    """-t rejects broken [listen] sections with file:line."""
    base = d.conf_text(extra="")
    cases = [
        ("[listen a]\nroute = /x echo\n", "exactly one of 'socket' and 'tcp'"),
        ("[listen a]\ntcp = 1234\nroute = /x nosuch\n", "no [module nosuch] section"),
        ("[listen a]\ntcp = localhost:80\n", "not a numeric IPv4"),
        ("[listen a]\ntcp = 70000\n", "port '70000'"),
        ("[listen a]\ntcp = 1234\nscript_name = no\n", "no request could run"),
        ("[listen a]\ntcp = 1234\n[listen b]\ntcp = 127.0.0.1:1234\n", "uses the socket of"),
        ("[listen a]\nsocket = rel.sock\n", "absolute path"),
        ("[listen a]\ntcp = 1234\nbogus = 1\n", "unknown directive 'bogus'"),
    ]
    for extra, want in cases:
        path = os.path.join(d.dir, "bad.conf")
        with open(path, "w") as f:
            f.write(base + extra)
        r = subprocess.run([DAEMON, "-t", "-c", path], capture_output=True, text=True)
        check(r.returncode == 1 and want in r.stderr and "bad.conf:" in r.stderr,
              "-t rejects %r" % extra.strip().replace("\n", " | "), r.stderr.strip())


def main():
    need = ("cgi_echo", "cgi_json", "cgi_notfound", "cgi_trap", "cgi_bad", "cgi_spin", "cgi_slow")
    if any(prog(n) is None for n in need):
        print("SKIP: the CGI test handlers were not built (no wasm32-wasi compiler)")
        sys.exit(77)
    port = free_port()
    mods = {
        "echo": {"path": prog("cgi_echo"), "slots": "4"},
        "small": {"path": prog("cgi_echo"), "max_request_size": "4096"},
        "capped": {"path": prog("cgi_echo"), "wasi_output_max": "200"},
        "json": {"path": prog("cgi_json")},
        "notfound": {"path": prog("cgi_notfound")},
        "trap": {"path": prog("cgi_trap")},
        "bad": {"path": prog("cgi_bad")},
        "spin": {"path": prog("cgi_spin"), "deadline": "200ms"},
        "longspin": {"path": prog("cgi_spin"), "deadline": "20s"},
        "slow": {"path": prog("cgi_slow"), "deadline": "10s"},
    }
    d = Daemon(modules=mods, start=False, daemon={"max_request_size": "65536"})
    fsock = os.path.join(d.dir, "f.sock")
    d.extra = ("[listen web]\nsocket = %s\nroute = /api json\n"
               "[listen tcp]\ntcp = %d\nscript_name = no\nroute = / echo\n" % (fsock, port))
    d.write_conf()
    config_checks(d)
    d.start()

    def req(script, method="GET", query="", body=b"", extra=(), keep=True, rid=1):
        c = F.Conn(fsock)
        r = c.request(rid, F.cgi_params(script, method, query, body, extra), body, keep)
        c.close()
        return r

    # --- CGI handlers: environment, body, stderr, Status:, JSON
    r = req("/echo/more/path", "POST", "a=1&b=2", b"the request body")
    out = r["stdout"]
    check_eq(F.http_status(out), 200, "echo: 200")
    check(b"env REQUEST_METHOD=POST\n" in out and b"env QUERY_STRING=a=1&b=2\n" in out,
          "echo: the request's meta-variables are the program's environment", out)
    check(b"env SCRIPT_NAME=/echo\n" in out and b"env PATH_INFO=/more/path\n" in out,
          "echo: SCRIPT_NAME's first segment names the module, the rest is PATH_INFO", out)
    check(b"env CONTENT_LENGTH=16\n" in out and b"body the request body\nend" in out,
          "echo: the body is the program's stdin", out)
    check(b"X-Handler: echo" in out, "echo: the program's own headers pass through")
    check_eq(r["stderr"], b"echo handler served POST\n", "echo: stderr comes as FCGI_STDERR")
    check_eq((r["app_status"], r["protocol_status"]), (0, 0), "echo: exit 0, REQUEST_COMPLETE")

    r = req("/api/v1/things", query="q=x")
    check_eq(F.http_status(r["stdout"]), 200, "json: 200 through the /api route")
    check(b"application/json" in r["stdout"] and b'"query":"q=x"' in r["stdout"],
          "json: the JSON response", r["stdout"])
    r = req("/notfound")
    check_eq(F.http_status(r["stdout"]), 404, "a handler's Status: 404 is the status")
    check(b"no such thing here" in r["stdout"], "the 404 keeps the handler's body")
    r = req("/nosuchmodule")
    check_eq(F.http_status(r["stdout"]), 404, "SCRIPT_NAME naming no module: 404")

    # --- failures: 500/504 with nothing of the guest's output for the client
    r = req("/trap")
    check_eq(F.http_status(r["stdout"]), 500, "a trap: 500")
    check(b"SECRET" not in r["stdout"] and b"unreachable" not in r["stdout"],
          "a trap leaks nothing of the guest to the client", r["stdout"])
    check(b"about to trap" in r["stderr"], "a trap's stderr still goes to FCGI_STDERR")
    r = req("/bad")
    check_eq(F.http_status(r["stdout"]), 500, "a malformed CGI response: 500")
    check(b"just some text" not in r["stdout"], "the malformed output is not passed on")
    t0 = time.time()
    r = req("/spin")
    check_eq(F.http_status(r["stdout"]), 504, "a run past its deadline: 504")
    check(time.time() - t0 < 3, "the 504 comes at the deadline", time.time() - t0)
    r = req("/capped", body=b"y" * 300, method="POST")
    check_eq(F.http_status(r["stdout"]), 500, "output beyond wasi_output_max: 500")
    time.sleep(0.2)
    log = d.log_text()
    check("fastcgi /trap: module 'trap': unreachable" in log, "the trap's detail is logged")
    check("gave a malformed CGI response" in log, "the malformed response is logged")
    check("fastcgi /spin: module 'spin': deadline passed" in log, "the deadline is logged")
    check("wrote more than wasi_output_max" in log, "the output cap is logged")

    # --- limits: oversized params (431) and bodies (413), connection kept
    c = F.Conn(fsock)
    r = c.request(1, F.cgi_params("/echo", extra=[("HTTP_X_BIG", "z" * 70000)]))
    check_eq(F.http_status(r["stdout"]), 431, "params beyond max_request_size: 431")
    r = c.request(2, F.cgi_params("/small", "POST", body=b"b" * 5000), b"b" * 5000)
    check_eq(F.http_status(r["stdout"]), 413, "a body beyond the module's max_request_size: 413")
    r = c.request(3, F.cgi_params("/echo", "POST", body=b"b" * 70000), b"b" * 70000)
    check_eq(F.http_status(r["stdout"]), 413, "a body beyond the daemon's max_request_size: 413")
    r = c.request(4, F.cgi_params("/echo"))
    check_eq(F.http_status(r["stdout"]), 200, "the connection serves on after 431 and 413s")
    c.close()

    # --- keep-alive: many requests on one connection; without KEEP_CONN the daemon closes
    c = F.Conn(fsock)
    ok = all(F.http_status(c.request(1, F.cgi_params("/json"))["stdout"]) == 200
             for _ in range(20))
    check(ok, "20 requests on one kept connection")
    r = c.request(1, F.cgi_params("/json"), keep=False)
    check_eq(F.http_status(r["stdout"]), 200, "a request without FCGI_KEEP_CONN is answered")
    check(c.closed(), "... and then the daemon closes the connection")
    c.close()

    # --- a front end that shuts its sending side still gets its answers, then the close
    c = F.Conn(fsock)
    c.send(F.request_bytes(1, F.cgi_params("/slow", query="ms=300")) +
           F.request_bytes(2, F.cgi_params("/echo"))[:40])  # the second one stops half-way
    c.s.shutdown(socket.SHUT_WR)
    r = c.response(1)
    check(r is not None and b"served-by slow" in r["stdout"],
          "after a half-close the complete request is answered", r)
    check(c.closed(), "... and the connection closes, the cut-off request dropped")
    c.close()

    # --- multiplexing: interleaved records of two requests, answered by id
    c = F.Conn(fsock)
    a = F.request_records(5, F.cgi_params("/echo", query="which=five"), b"x" * 100, chunk=30)
    b = F.request_records(9, F.cgi_params("/json", query="which=nine"), chunk=40)
    mixed = []
    while a or b:
        mixed += a[:1] + b[:1]
        a, b = a[1:], b[1:]
    c.send(b"".join(mixed))
    got = {}
    for _ in range(2):
        r = c.response()
        got[r["id"]] = r["stdout"]
    check(b"which=five" in got.get(5, b"") and b"which=nine" in got.get(9, b""),
          "two multiplexed requests, each answered under its own id", got)

    # --- management records and roles
    c.send(F.record(F.GET_VALUES, 0, F.nv([("FCGI_MPXS_CONNS", ""), ("FCGI_MAX_CONNS", ""),
                                           ("FCGI_MAX_REQS", ""), ("X_UNKNOWN", "")])))
    t, rid, content = c.read_record()
    vals = F.nv_parse(content) if t == F.GET_VALUES_RESULT else {}
    check(t == F.GET_VALUES_RESULT and rid == 0 and vals.get("FCGI_MPXS_CONNS") == "1" and
          int(vals.get("FCGI_MAX_CONNS", "0")) > 0 and int(vals.get("FCGI_MAX_REQS", "0")) > 0
          and "X_UNKNOWN" not in vals, "FCGI_GET_VALUES answers what it knows", (t, vals))
    c.send(F.record(200, 0, b""))
    t, rid, content = c.read_record()
    check(t == F.UNKNOWN_TYPE and content[:1] == b"\xc8",
          "an unknown management record gets FCGI_UNKNOWN_TYPE", (t, content))
    c.send(F.record(F.BEGIN_REQUEST, 3, struct.pack(">HB5x", F.AUTHORIZER, 1)))
    r = c.response(3)
    check_eq(r and r["protocol_status"], 3, "an Authorizer request: FCGI_UNKNOWN_ROLE")
    r = c.request(4, F.cgi_params("/json"))
    check_eq(F.http_status(r["stdout"]), 200, "the connection serves on after them")

    # --- aborts: while the params come in, and while the program runs
    c.send(F.record(F.BEGIN_REQUEST, 6, struct.pack(">HB5x", F.RESPONDER, 1)) +
           F.record(F.PARAMS, 6, F.nv(F.cgi_params("/echo"))) + F.record(F.ABORT_REQUEST, 6))
    r = c.response(6)
    check(r is not None and r["stdout"] == b"", "an abort before the body ends the request", r)
    t0 = time.time()
    c.send(F.request_bytes(7, F.cgi_params("/longspin")))
    time.sleep(0.3)
    c.send(F.record(F.ABORT_REQUEST, 7))
    r = c.response(7)
    check(r is not None and r["stdout"] == b"" and time.time() - t0 < 5,
          "an abort stops a running program and ends its request", (r, time.time() - t0))
    r = c.request(8, F.cgi_params("/json"))
    check_eq(F.http_status(r["stdout"]), 200, "the connection serves on after aborts")
    c.close()

    # --- malformed records: a clean close, nothing else disturbed
    pids = sorted(d.workers())
    bystander = F.Conn(fsock)
    bystander.send(F.request_bytes(1, F.cgi_params("/longspin"))[:-8])  # body not finished
    for bad, what in [
            (b"\x02" + F.record(F.BEGIN_REQUEST, 1, b"\0\1\1\0\0\0\0\0")[1:], "a wrong version"),
            (F.record(F.BEGIN_REQUEST, 1, b"\0\1"), "a short FCGI_BEGIN_REQUEST"),
            (F.record(F.BEGIN_REQUEST, 1, struct.pack(">HB5x", 1, 1)) +
             F.record(F.PARAMS, 1, b"\x05\x7fab") + F.record(F.PARAMS, 1),
             "malformed name-value pairs"),
            (F.record(F.BEGIN_REQUEST, 1, struct.pack(">HB5x", 1, 1)) +
             F.record(F.BEGIN_REQUEST, 1, struct.pack(">HB5x", 1, 1)), "a request id begun twice"),
            (F.record(F.STDOUT, 1, b"x"), "a record type only a responder sends")]:
        c = F.Conn(fsock)
        c.send(bad)
        check(c.closed(), "%s: the connection is closed" % what)
        c.close()
    r = req("/json")
    check_eq(F.http_status(r["stdout"]), 200, "other connections are served after them")
    bystander.send(F.record(F.ABORT_REQUEST, 1))
    r = bystander.response(1)
    check(r is not None, "a connection in the middle of a request is undisturbed", r)
    bystander.close()
    check_eq(sorted(d.workers()), pids, "no worker died")

    # --- a front end that sends and never reads: bounded, the others go on
    flood = F.Conn(fsock)
    flood.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = b"f" * 60000
    flood.s.setblocking(False)
    pending = b""
    try:
        for i in range(1, 400):
            pending += F.request_bytes(i, F.cgi_params("/echo", "POST", body=body), body)
            while pending:
                pending = pending[flood.s.send(pending):]
    except BlockingIOError:
        pass
    time.sleep(0.5)
    t0 = time.time()
    r = req("/json")
    check(F.http_status(r["stdout"]) == 200 and time.time() - t0 < 2,
          "a front end that stops reading does not stall the others", time.time() - t0)
    flood.close()

    # --- the TCP listener: loopback by default, route "/" with script_name = no
    t = F.Conn(("127.0.0.1", port))
    r = t.request(1, F.cgi_params("/anything/at/all"))
    check(F.http_status(r["stdout"]) == 200 and b"env PATH_INFO=/anything/at/all" in r["stdout"],
          "tcp = PORT listens on 127.0.0.1; route / serves every path", r["stdout"][:200])
    t.close()
    listening = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True,
                               text=True).stdout
    check(listening == "" or "127.0.0.1:%d" % port in listening,
          "the TCP socket is bound to loopback only", listening)

    # --- stats: the same counters as the JSON protocol
    st0 = stats(d)
    for _ in range(3):
        req("/json")
    req("/trap")
    st1 = stats(d)
    check_eq(stat_sum(st1, "run_seconds") - stat_sum(st0, "run_seconds"), 4,
             "stats: four FastCGI runs in the run-time histogram")
    check_eq(stat_sum(st1, "instantiations", pool="json") -
             stat_sum(st0, "instantiations", pool="json"), 3,
             "stats: the json pool's instantiations")
    check_eq(stat_sum(st1, "traps", pool="trap") - stat_sum(st0, "traps", pool="trap"), 1,
             "stats: the trap pool's traps")
    check_eq(stat_sum(st1, "fastcgi_responses", status="2xx") -
             stat_sum(st0, "fastcgi_responses", status="2xx"), 3, "stats: fastcgi_responses 2xx")
    check_eq(stat_sum(st1, "fastcgi_responses", status="5xx") -
             stat_sum(st0, "fastcgi_responses", status="5xx"), 1, "stats: fastcgi_responses 5xx")

    # --- reload: the FastCGI sockets stay, requests go on
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    r = req("/json")
    check_eq(F.http_status(r["stdout"]), 200, "after SIGHUP the Unix FastCGI socket serves")
    t = F.Conn(("127.0.0.1", port))
    r = t.request(1, F.cgi_params("/x"))
    check_eq(F.http_status(r["stdout"]), 200, "after SIGHUP the TCP FastCGI socket serves")
    t.close()
    check("reload rejected" not in d.log_text(), "the reload was accepted")

    # --- stopping: the FastCGI sockets close at once, a run in flight gets its grace period
    busy = F.Conn(fsock)
    busy.send(F.request_bytes(1, F.cgi_params("/slow", query="ms=1000")))
    time.sleep(0.3)
    d.signal(signal.SIGTERM)
    time.sleep(0.3)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    check(refused, "a stopping daemon refuses new FastCGI connections at once")
    check(not os.path.exists(fsock), "... and its Unix FastCGI socket is gone")
    r = busy.response(1)
    check(r is not None and b"served-by slow" in r["stdout"],
          "the request in flight is answered within the grace period", r)
    busy.close()
    d.stop()
    check(not os.path.exists(fsock), "the FastCGI Unix socket is removed at exit")

    # --- runs without a deadline take one of max_unlimited_runs, as in the JSON protocol
    u = Daemon(modules={"forever": {"path": prog("cgi_spin"), "deadline": "0"}}, start=False,
               daemon={"workers": "1", "executor_threads": "2", "max_unlimited_runs": "1"})
    usock = os.path.join(u.dir, "f.sock")
    u.extra = "[listen web]\nsocket = %s\n" % usock
    u.write_conf()
    u.start()
    first = F.Conn(usock)
    first.send(F.request_bytes(1, F.cgi_params("/forever")))
    time.sleep(0.3)
    r = F.Conn(usock).request(1, F.cgi_params("/forever"))
    check_eq(F.http_status(r["stdout"]), 503,
             "a second run without a deadline past max_unlimited_runs: 503")
    first.send(F.record(F.ABORT_REQUEST, 1))
    r = first.response(1)
    check(r is not None and r["stdout"] == b"", "the endless run ends by FCGI_ABORT_REQUEST")
    first.close()
    later = F.Conn(usock)
    later.send(F.request_bytes(1, F.cgi_params("/forever")))
    time.sleep(0.3)
    later.send(F.record(F.ABORT_REQUEST, 1))
    r = later.response(1)
    check(r is not None and r["stdout"] == b"", "its place is free again after the abort", r)
    later.close()


run_main(main)
