#!/usr/bin/env python3
"""fastcgi_bench.py (make bench-fastcgi): requests per second and median latency through one
nginx of a WASI hello handler in wasmslotd (FastCGI), against nginx serving a static file and
against php-fpm running <?php echo "hello"; (FastCGI). The load generator is wrk (Debian's
package). The three run back to back in rounds, and the ratios are the medians of the
per-round ratios: the machines are shared and noisy, so only same-run ratios mean anything.

Environment: FASTCGI_BENCH_SECONDS (per measurement, default 4), FASTCGI_BENCH_ROUNDS (3),
FASTCGI_BENCH_CONNECTIONS (wrk -c, 8), FASTCGI_BENCH_WORKERS (wasmslotd workers and php-fpm
children, 2)."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2elib  # noqa: E402
import nginxlib  # noqa: E402

SECONDS = int(os.environ.get("FASTCGI_BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("FASTCGI_BENCH_ROUNDS", "3"))
CONNS = int(os.environ.get("FASTCGI_BENCH_CONNECTIONS", "8"))
WORKERS = int(os.environ.get("FASTCGI_BENCH_WORKERS", "2"))


def find_php_fpm():
    for name in ("php-fpm", "php-fpm8.2", "php-fpm8.3", "php-fpm8.1", "php-fpm7.4"):
        for p in (shutil.which(name), "/usr/sbin/" + name):
            if p and os.access(p, os.X_OK):
                return p
    return None


def wrk(url):
    """(requests per second, p50 latency in ms) of one wrk run."""
    out = subprocess.run(["wrk", "-t1", "-c%d" % CONNS, "-d%ds" % SECONDS, "--latency", url],
                         capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    m = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p50 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if non2xx:
        raise RuntimeError("%s: %s error responses:\n%s" % (url, non2xx.group(1), out))
    return rps, p50


def start_php_fpm(php, d):
    conf = os.path.join(d, "php-fpm.conf")
    sock = os.path.join(d, "php.sock")
    with open(conf, "w") as f:
        f.write("""[global]
pid = %s/php-fpm.pid
error_log = %s/php-fpm.log
daemonize = no
[hello]
listen = %s
listen.mode = 0666
pm = static
pm.max_children = %d
pm.max_requests = 0
""" % (d, d, sock, WORKERS))
        if os.geteuid() == 0:
            f.write("user = nobody\ngroup = nogroup\n")
    args = [php, "-F", "-y", conf] + (["-R"] if os.geteuid() == 0 else [])
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            return p, sock
        time.sleep(0.02)
    p.kill()
    raise RuntimeError("php-fpm did not start (see %s/php-fpm.log)" % d)


def main():
    if shutil.which("wrk") is None:
        print("bench-fastcgi: needs wrk (apt-get install wrk)")
        return 1
    if nginxlib.find_nginx() is None:
        print("bench-fastcgi: needs nginx (apt-get install nginx-light)")
        return 1
    hello = os.path.join(e2elib.BUILDDIR, "tests", "fcgi", "cgi_hello.wasm")
    if not os.path.exists(hello):
        print("bench-fastcgi: %s is not built (no wasm32-wasi compiler?)" % hello)
        return 1
    php = find_php_fpm()

    d = e2elib.Daemon(modules={"hello": {"path": hello, "slots": "16"}}, start=False,
                      daemon={"workers": str(WORKERS), "executor_threads": "1",
                              "log_level": "warning"})
    os.chmod(d.dir, 0o755)
    fsock = os.path.join(d.dir, "fcgi.sock")
    d.extra = "[listen web]\nsocket = %s\nsocket_mode = 0666\n" % fsock
    d.write_conf()
    port = nginxlib.free_port()
    ng = nginxlib.Nginx("""
    upstream wasmslot {
        server unix:%(fsock)s;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:%(port)d;
        root %(dir)s/html;
        location = /static/hello.txt { }
        location = /hello.php {
%(params)s
            fastcgi_param SCRIPT_FILENAME %(dir)s/html/hello.php;
            # php-fpm as it is deployed: a child serves one connection until it closes, so
            # kept-alive connections would hold its few children (and stall the others).
            fastcgi_pass unix:%(dir)s/php.sock;
        }
        location / {
%(params)s
            fastcgi_pass wasmslot;
            fastcgi_keep_conn on;
        }
    }
""" % {"fsock": fsock, "port": port, "params": nginxlib.FASTCGI_PARAMS, "dir": "%(ngdir)s"})
    # The prefix directory is known only once made: fill it in.
    with open(ng.conf) as f:
        text = f.read().replace("%(ngdir)s", ng.dir)
    with open(ng.conf, "w") as f:
        f.write(text)
    os.makedirs(os.path.join(ng.dir, "html", "static"))
    ng.html("static/hello.txt", "hello")
    ng.html("hello.php", '<?php echo "hello";\n')
    fpm = None
    try:
        d.start()
        if php is not None:
            fpm, _ = start_php_fpm(php, ng.dir)
        ng.start([port])
        base = "http://127.0.0.1:%d" % port
        targets = [("static", base + "/static/hello.txt"), ("hello", base + "/hello")]
        if fpm is not None:
            targets.append(("php-fpm", base + "/hello.php"))
        for name, url in targets:
            out = subprocess.run(["curl", "-s", url], capture_output=True).stdout
            if out != b"hello":
                raise RuntimeError("%s answers %r, not b'hello'" % (url, out[:200]))
        print("bench-fastcgi: wrk -t1 -c%d -d%ds, %d rounds; wasmslotd %d workers x 1 "
              "executor thread, php-fpm %s; nginx 1 worker, keep-alive to wasmslotd" %
              (CONNS, SECONDS, ROUNDS, WORKERS,
               "%d static children (%s)" % (WORKERS, php) if php else "not installed"))
        res = {name: [] for name, _ in targets}
        for r in range(ROUNDS):
            line = []
            for name, url in targets:
                rps, p50 = wrk(url)
                res[name].append((rps, p50))
                line.append("%s rps=%.0f p50=%.3fms" % (name, rps, p50))
            print("round %d: %s" % (r + 1, "  ".join(line)))
            sys.stdout.flush()
        for name, _ in targets:
            print("%-8s median rps=%.0f p50=%.3fms" % (
                name, statistics.median(x[0] for x in res[name]),
                statistics.median(x[1] for x in res[name])))
        ratio_static = statistics.median(res["hello"][i][0] / res["static"][i][0]
                                         for i in range(ROUNDS))
        if fpm is not None:
            ratio_php = "%.2f" % statistics.median(res["hello"][i][0] / res["php-fpm"][i][0]
                                                   for i in range(ROUNDS))
            p50_php = "%.2f" % statistics.median(res["hello"][i][1] / res["php-fpm"][i][1]
                                                 for i in range(ROUNDS))
        else:
            ratio_php = p50_php = "n/a (php-fpm not installed)"
        print("p50 ratio hello/static=%.2f hello/php-fpm=%s" % (
            statistics.median(res["hello"][i][1] / res["static"][i][1] for i in range(ROUNDS)),
            p50_php))
        print("fastcgi-bench: hello/static rps=%.2f hello/php-fpm rps=%s" %
              (ratio_static, ratio_php))
        return 0
    finally:
        ng.stop()
        if fpm is not None:
            fpm.terminate()
            fpm.wait()
        d.stop()


sys.exit(main())
