#!/usr/bin/env python3
"""test_nginx.py: a real nginx in front of wasmslotd's FastCGI responder: curl GET and POST
reach clang-built WASI CGI handlers (env and body echo, JSON, a 404 by Status:, a trap as 500);
keep-alive reuses FastCGI connections; two daemons as one upstream share the requests, and
killing one loses only the requests it had in flight. SKIP where nginx or curl is missing."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import BUILDDIR, Daemon, check, check_eq, run_main, stat_sum
import nginxlib


def prog(name):
    p = os.path.join(BUILDDIR, "tests", "fcgi", name + ".wasm")
    return p if os.path.exists(p) else None


def curl(url, data=None, timeout=30):
    """(status, headers dict (lower-case names), body bytes) of one request with curl."""
    args = ["curl", "-s", "-D", "-", "-o", "-", "--max-time", str(timeout), url]
    if data is not None:
        args[1:1] = ["--data-binary", data]
    out = subprocess.run(args, capture_output=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    m = re.match(r"HTTP/\S+ (\d+)", lines[0]) if lines and lines[0] else None
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return (int(m.group(1)) if m else 0), headers, body


def daemon_stats(d):
    from e2elib import Conn
    c = Conn(d.sock)
    st = c.rq({"op": "stats"})["stats"]
    c.close()
    return st


def kill_daemon(d, workers):
    """SIGKILL a daemon, master and workers, so nothing it had in flight is answered (a
    stopped master cannot restart them, and its workers never see a graceful SIGTERM)."""
    os.kill(d.pid, signal.SIGSTOP)
    for p in workers:
        os.kill(p, signal.SIGKILL)
    os.kill(d.pid, signal.SIGKILL)
    d.proc.wait()


def main():
    if nginxlib.find_nginx() is None or shutil.which("curl") is None:
        print("SKIP: nginx or curl is not installed (apt-get install nginx-light curl)")
        sys.exit(77)
    if any(prog(n) is None for n in ("cgi_echo", "cgi_json", "cgi_notfound", "cgi_trap",
                                     "cgi_slow")):
        print("SKIP: the CGI test handlers were not built (no wasm32-wasi compiler)")
        sys.exit(77)

    # Daemon A serves FastCGI on a loopback TCP port, daemon B on a Unix socket.
    fa = nginxlib.free_port()
    common = {"echo": {"path": prog("cgi_echo")}, "json": {"path": prog("cgi_json")},
              "notfound": {"path": prog("cgi_notfound")}, "trap": {"path": prog("cgi_trap")}}
    a = Daemon(modules=dict(common, slowa={"path": prog("cgi_slow"), "deadline": "20s"}),
               start=False)
    a.extra = "[listen web]\ntcp = %d\nroute = /slow slowa\n" % fa
    a.write_conf()
    b = Daemon(modules=dict(common, slowb={"path": prog("cgi_slow"), "deadline": "20s"}),
               start=False)
    os.chmod(b.dir, 0o755)  # nginx's workers (nobody, when the test runs as root) reach it
    fb = os.path.join(b.dir, "fcgi.sock")
    b.extra = "[listen web]\nsocket = %s\nsocket_mode = 0666\nroute = /slow slowb\n" % fb
    b.write_conf()
    a.start()
    b.start()

    p1, p2 = nginxlib.free_port(), nginxlib.free_port()
    params = nginxlib.FASTCGI_PARAMS
    ng = nginxlib.Nginx("""
    upstream one {
        server 127.0.0.1:%(fa)d;
        keepalive 8;
    }
    upstream both {
        server 127.0.0.1:%(fa)d max_fails=1 fail_timeout=30s;
        server unix:%(fb)s max_fails=1 fail_timeout=30s;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:%(p1)d;
        location /nokeep/ {
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param SCRIPT_NAME /json;
            fastcgi_pass 127.0.0.1:%(fa)d;
        }
        location / {
%(params)s
            fastcgi_pass one;
            fastcgi_keep_conn on;
        }
    }
    server {
        listen 127.0.0.1:%(p2)d;
        location / {
%(params)s
            fastcgi_pass both;
            fastcgi_keep_conn on;
            add_header X-Upstream $upstream_addr always;
        }
    }
""" % {"fa": fa, "fb": fb, "p1": p1, "p2": p2, "params": params})
    try:
        ng.start([p1, p2])
        body(a, b, fa, fb, p1, p2, ng)
    finally:
        ng.stop()


def body(a, b, fa, fb, p1, p2, ng):
    u1 = "http://127.0.0.1:%d" % p1
    u2 = "http://127.0.0.1:%d" % p2

    # --- curl GET and POST reach the handlers
    st, h, out = curl(u1 + "/echo/sub?x=1&y=two")
    check_eq(st, 200, "GET /echo/sub: 200")
    check(b"env REQUEST_METHOD=GET\n" in out and b"env QUERY_STRING=x=1&y=two\n" in out and
          b"env SCRIPT_NAME=/echo\n" in out and b"env PATH_INFO=/sub\n" in out,
          "GET: nginx's meta-variables are the handler's environment", out[:400])
    check_eq(h.get("x-handler"), "echo", "GET: the handler's header reaches the client")
    st, h, out = curl(u1 + "/echo", data=b"posted through nginx")
    check(st == 200 and b"body posted through nginx\nend" in out and
          b"env CONTENT_LENGTH=20\n" in out, "POST: the body is the handler's stdin", out[-200:])
    st, h, out = curl(u1 + "/json?k=v")
    check(st == 200 and h.get("content-type") == "application/json" and
          b'"answer":42' in out and b'"query":"k=v"' in out, "GET /json: a JSON response", out)
    st, h, out = curl(u1 + "/notfound")
    check(st == 404 and b"no such thing here" in out, "Status: 404 becomes HTTP 404", (st, out))
    st, h, out = curl(u1 + "/trap")
    check(st == 500 and b"SECRET" not in out, "a trap becomes a plain HTTP 500", (st, out))
    time.sleep(0.2)
    check("FastCGI sent in stderr: \"cgi_trap: about to trap\"" in ng.errors(),
          "the handler's stderr lands in nginx's error log")
    check("module 'trap': unreachable" in a.log_text(), "the trap's detail is in the daemon's log")

    # --- keep-alive: fastcgi_keep_conn + upstream keepalive reuse FastCGI connections
    def conns():
        return stat_sum(daemon_stats(a), "connections")
    c0 = conns()
    ok = all(curl(u1 + "/json")[0] == 200 for _ in range(30))
    used = conns() - c0 - 1  # less the stats connection of the second count
    check(ok and used <= 2, "30 requests through nginx keep-alive use <= 2 FastCGI connections",
          used)
    c0 = conns()
    ok = [curl(u1 + "/nokeep/x")[0] for _ in range(10)]
    used = conns() - c0 - 1
    check(ok == [200] * 10 and used >= 10,
          "without keep-alive every request opens a connection (control)", (ok, used))

    # --- two daemons as one upstream: requests spread over both
    served = {}
    for _ in range(20):
        st, h, out = curl(u2 + "/slow?ms=0")
        served[out.strip()] = served.get(out.strip(), 0) + 1
    check(served.get(b"served-by slowa", 0) > 0 and served.get(b"served-by slowb", 0) > 0 and
          sum(served.values()) == 20, "20 requests spread over both daemons", served)

    # --- killing one daemon loses only the requests it had in flight
    results = []
    lock = threading.Lock()

    def one():
        r = curl(u2 + "/slow?ms=3000", data=b"x")  # POST: nginx never retries it elsewhere
        with lock:
            results.append(r + (time.time(),))

    workers = a.workers()  # listed now: ps is slow on a loaded machine
    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    time.sleep(1.0)
    t_kill = time.time()
    kill_daemon(a, workers)
    for t in threads:
        t.join()
    # $upstream_addr lists every server nginx tried: "A, B" when it took a request that A
    # had not begun to answer to B instead. Where a request ended is what counts.
    def last(r):
        return r[1].get("x-upstream", "").split(",")[-1].strip()
    on_a = [r for r in results if last(r) == "127.0.0.1:%d" % fa]
    on_b = [r for r in results if last(r) == "unix:" + fb]
    check(len(on_a) > 0 and len(on_b) > 0 and len(on_a) + len(on_b) == 8,
          "the 8 slow requests went to both daemons",
          [(r[0], r[1].get("x-upstream")) for r in results])
    # A request that the loaded machine let finish before the kill was not in flight.
    inflight_a = [r for r in on_a if r[3] >= t_kill]
    check(len(inflight_a) > 0 and all(r[0] == 502 for r in inflight_a),
          "the killed daemon's in-flight requests fail",
          [(r[0], r[2][:20], r[3] - t_kill) for r in on_a])
    check(all(r[0] == 200 and r[2].strip() == b"served-by slowb" for r in on_b),
          "the other daemon's in-flight requests all succeed", [(r[0], r[2]) for r in on_b])
    after = [curl(u2 + "/slow?ms=0") for _ in range(10)]
    check(all(r[0] == 200 and r[2].strip() == b"served-by slowb" for r in after),
          "after the kill every request is served by the other daemon",
          [(r[0], r[2][:40]) for r in after])


run_main(main)
