#!/usr/bin/env python3
"""test_ops.py: operating the daemon as an nginx or php-fpm operator would: SIGUSR1 reopens the
log files and does nothing else, a relative -c survives detaching and reloads, no symbolic link
is followed (socket, pid file, log files), the socket's mode whatever the umask, process titles,
--help, -T, the checks of -t, the privilege drop, `log = stderr` without -f, the access log,
the slow log and the rate-limited trap lines."""

import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (AS_ROOT, DAEMON, USER_LINE, Conn, Daemon, check, check_eq, err_code,
                    fixture, i32, run_main, stat_sum, wait_until)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def t(conf, *opts):
    r = subprocess.run([DAEMON, *opts, "-c", conf], capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout, r.stderr


def ping_ok(sock):
    try:
        c = Conn(sock, timeout=2)
        ok = c.rq({"op": "ping"}).get("ok")
        c.close()
        return ok
    except (OSError, EOFError):
        return False


def cmdline(pid):
    return read("/proc/%d/cmdline" % pid).replace("\0", " ").strip()


def test_sigusr1():
    """Defect: SIGUSR1 killed the master. It must reopen the logs and do nothing else."""
    d = Daemon(foreground=False, start=False)
    log = os.path.join(d.dir, "daemon.log")
    acc = os.path.join(d.dir, "access.log")
    pidfile = os.path.join(d.dir, "pid")
    d.write_conf(daemon={"log": log, "access_log": acc, "pid_file": pidfile})
    d.start()
    pid = int(read(pidfile))
    d.proc.pid = pid  # stop() signals the detached master
    c = Conn(d.sock)
    check_eq(c.call("e2e", "add", [i32(1), i32(2)]).get("results"), [i32(3)], "a call before")
    # The master publishes the generation shortly after the workers start serving: wait for
    # it, or the comparison below could read 0 before SIGUSR1 and 1 after (seen in CI runs).
    wait_until(lambda: stat_sum(c.stats(), "generation") >= 1, timeout=5)
    s0 = c.stats()
    workers0 = sorted(d.workers())
    # logrotate: move the files away, then kill -USR1 the master.
    os.rename(log, log + ".1")
    os.rename(acc, acc + ".1")
    os.kill(pid, signal.SIGUSR1)
    check(wait_until(lambda: "log files reopened" in read(log), timeout=5),
          "after SIGUSR1 the master writes to a new error log", read(log + ".1")[-400:])
    time.sleep(0.2)
    check(os.path.exists("/proc/%d" % pid), "the master survives SIGUSR1")
    check_eq(sorted(d.workers()), workers0, "the same workers serve on (no reload, no restart)")
    check_eq(c.call("e2e", "add", [i32(2), i32(3)]).get("results"), [i32(5)],
             "the connection opened before SIGUSR1 is served")
    s1 = c.stats()
    check_eq((stat_sum(s1, "generation"), stat_sum(s1, "reloads")),
             (stat_sum(s0, "generation"), stat_sum(s0, "reloads")), "SIGUSR1 is not a reload")
    check(stat_sum(s1, "requests") > stat_sum(s0, "requests"),
          "statistics are not reset by SIGUSR1", (stat_sum(s0, "requests"), stat_sum(s1, "requests")))
    c.close()
    check(wait_until(lambda: "op=call" in read(acc), timeout=5),
          "the workers write the access log to the new file", read(acc))
    check("add" in read(acc + ".1") and read(acc + ".1").count("op=call") == 1,
          "the rotated access log holds the lines from before", read(acc + ".1"))
    # A worker's error log line after the rotation goes to the new file too.
    c = Conn(d.sock)
    c.call("e2e", "trap_unreachable")
    c.close()
    check(wait_until(lambda: re.search(r"worker \d+\.\d+: info: trap", read(log)), timeout=5),
          "a worker's error log lines go to the new file", read(log)[-500:])
    os.kill(pid, signal.SIGTERM)
    check(wait_until(lambda: not os.path.exists(pidfile), timeout=10),
          "SIGTERM still stops it, removing the pid file")


def test_relative_conf():
    """Defect: with a relative -c, a detached daemon (chdir /) could not reload."""
    d = Daemon(foreground=False, start=False)
    pidfile = os.path.join(d.dir, "pid")
    log = os.path.join(d.dir, "daemon.log")
    with open(os.path.join(d.dir, "d2.conf"), "w") as f:
        f.write(d.conf_text(daemon={"pid_file": pidfile, "log": log}))
    r = subprocess.run([DAEMON, "-c", "d2.conf"], cwd=d.dir, capture_output=True, text=True,
                       timeout=10)
    check_eq(r.returncode, 0, "wasmslotd -c d2.conf (relative) starts and detaches")
    pid = int(read(pidfile))
    os.kill(pid, signal.SIGHUP)
    check(wait_until(lambda: "reloaded" in read(log) or "cannot open" in read(log), timeout=5)
          and "reloaded" in read(log), "SIGHUP reloads the relative config after detaching",
          read(log)[-400:])
    check(os.path.join(d.dir, "d2.conf") in cmdline(pid),
          "the master's title names the config by its absolute path", cmdline(pid))
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not os.path.exists(pidfile), timeout=10)


def test_socket_symlink():
    """Defect: on reload, chmod/chown of the socket path followed a planted symbolic link."""
    d = Daemon(daemon={"socket_mode": "0660"})
    victim = os.path.join(d.dir, "victim")
    with open(victim, "w") as f:
        f.write("secret\n")
    os.chmod(victim, 0o600)
    # The daemon's socket is replaced by a link to another file, then the config asks for 0666.
    os.unlink(d.sock)
    os.symlink(victim, d.sock)
    d.write_conf(daemon={"socket_mode": "0666"})
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: "reload rejected" in d.log_text(), timeout=5),
          "a reload whose socket path became a symbolic link is rejected", d.log_text()[-400:])
    check_eq(stat.S_IMODE(os.stat(victim).st_mode), 0o600, "the link's target keeps mode 0600")
    check("no longer the socket this daemon made" in d.log_text(), "and the log says why")
    check(not re.search(r"reloaded: generation 2", d.log_text()), "the log does not say reloaded")
    d.stop()


def test_socket_mode_umask():
    """The socket has its mode before anyone can connect, whatever the umask; nothing is left in
    the directory but the socket."""
    for um, mode in ((0o000, "0660"), (0o077, "0666"), (0o777, "0600")):
        d = Daemon(start=False, daemon={"socket_mode": mode})
        old = os.umask(um)
        try:
            d.start()
        finally:
            os.umask(old)
        st = os.lstat(d.sock)
        check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == int(mode, 8),
              "umask %04o: the socket has socket_mode %s" % (um, mode), oct(st.st_mode))
        check_eq(sorted(x for x in os.listdir(d.dir) if x.startswith(".wasmslotd")), [],
                 "umask %04o: no private directory is left beside the socket" % um)
        d.stop()
    # A socket directory that does not exist yet is made (one level).
    d = Daemon(start=False)
    d.sock = os.path.join(d.dir, "run", "s.sock")
    d.write_conf(daemon={"socket": d.sock})
    d.start()
    check(ping_ok(d.sock), "a missing socket directory is made at start-up")
    d.stop()


def test_listen_socket_symlink():
    """Defect: a [listen] section's Unix socket was given its mode by a chmod of its path, after
    bind and again on every reload, which followed a symbolic link planted at that path."""
    d = Daemon(start=False)
    fsock = os.path.join(d.dir, "f.sock")
    listen = "[listen web]\nsocket = " + fsock + "\nsocket_mode = %s\nroute = /x e2e\n"
    d.extra = listen % "0660"
    d.write_conf()
    old = os.umask(0o077)
    try:
        d.start()
    finally:
        os.umask(old)
    st = os.lstat(fsock)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
          "umask 0077: the FastCGI socket is made with socket_mode 0660", oct(st.st_mode))
    # A changed mode applies to the socket kept across a reload.
    d.extra = listen % "0666"
    d.write_conf()
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: "reloaded: generation 2" in d.log_text(), timeout=30),
          "the reload to socket_mode 0666 is done", d.log_text()[-400:])
    check_eq(stat.S_IMODE(os.lstat(fsock).st_mode), 0o666,
             "a reload gives the FastCGI socket kept its new socket_mode")
    # The socket is replaced by a link to another file, then the config asks for 0660.
    victim = os.path.join(d.dir, "victim")
    with open(victim, "w") as f:
        f.write("secret\n")
    os.chmod(victim, 0o600)
    os.unlink(fsock)
    os.symlink(victim, fsock)
    d.extra = listen % "0660"
    d.write_conf()
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: "reloaded: generation 3" in d.log_text(), timeout=30),
          "a reload whose FastCGI socket path became a symbolic link goes on",
          d.log_text()[-400:])
    check_eq(stat.S_IMODE(os.stat(victim).st_mode), 0o600, "the link's target keeps mode 0600")
    check("[listen web] socket %s: no longer the socket this daemon made" % fsock in d.log_text(),
          "and the log says why the FastCGI socket's mode was not changed")
    check(ping_ok(d.sock), "the daemon serves after that reload")
    d.stop()


def test_pid_file_symlink():
    """Defect: the pid file was written through <pid_file>.tmp with O_TRUNC, following links."""
    d = Daemon(start=False)
    victim = os.path.join(d.dir, "victim")
    victim2 = os.path.join(d.dir, "victim2")
    for v in (victim, victim2):
        with open(v, "w") as f:
            f.write("precious\n")
    pidfile = os.path.join(d.dir, "pid")
    os.symlink(victim, pidfile + ".tmp")
    os.symlink(victim2, pidfile)
    d.write_conf(daemon={"pid_file": pidfile})
    d.start()
    check_eq((read(victim), read(victim2)), ("precious\n", "precious\n"),
             "links planted at the pid file and its .tmp are not written through")
    check(not os.path.islink(pidfile) and read(pidfile).strip() == str(d.pid),
          "the pid file is a regular file with the master's pid", read(pidfile))
    check(not os.path.lexists(pidfile + ".tmp"), "no .tmp is left")
    d.stop()
    # The error log is not opened through a symbolic link either.
    d = Daemon(start=False, foreground=False)
    log = os.path.join(d.dir, "daemon.log")
    os.symlink(victim, log)
    d.write_conf(daemon={"log": log})
    rc, out, err = t(d.conf, "-t")
    check(rc == 1 and "symbolic link" in err, "-t refuses a log file that is a symbolic link",
          err)
    r = subprocess.run([DAEMON, "-c", d.conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and read(victim) == "precious\n",
          "the daemon refuses to log through a symbolic link", (r.returncode, r.stderr))


def test_titles(d):
    master = cmdline(d.pid)
    check_eq(master, "wasmslotd: master process -c %s" % d.conf, "the master's process title")
    titles = sorted(cmdline(p) for p in d.workers())
    check_eq(titles, ["wasmslotd: worker 0 (generation 1)", "wasmslotd: worker 1 (generation 1)"],
             "the workers' titles")
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: sorted(cmdline(p) for p in d.workers()) ==
                     ["wasmslotd: worker 0 (generation 2)", "wasmslotd: worker 1 (generation 2)"],
                     timeout=5), "after a reload the titles name generation 2",
          [cmdline(p) for p in d.workers()])


def test_help():
    for opt in ("--help", "-h"):
        r = subprocess.run([DAEMON, opt], capture_output=True, text=True, timeout=5)
        check(r.returncode == 0 and r.stdout.startswith("usage: wasmslotd") and r.stderr == "",
              "wasmslotd %s prints the usage on stdout and exits 0" % opt, r)
    r = subprocess.run([DAEMON, "--version"], capture_output=True, text=True, timeout=5)
    check(r.returncode == 0 and r.stdout.startswith("wasmslotd "), "wasmslotd --version")


def test_dump(d):
    rc, out, err = t(d.conf, "-T")
    check_eq(rc, 0, "-T exits 0 on a good config")
    for line in ("socket = %s" % d.sock, "workers = 2", "max_connections = 1024",
                 "idle_timeout = 5m", "access_log = off", "[module e2e]", "slots = 16",
                 "deadline = 1s", "max_table_elements = 100000", "wasi_output_max = 1M"):
        check(line + "\n" in out, "-T shows %r (defaults filled in)" % line, out)
    dumped = os.path.join(d.dir, "dumped.conf")
    with open(dumped, "w") as f:
        f.write(out)
    rc2, out2, err2 = t(dumped, "-T")
    check(rc2 == 0 and out2.split("\n", 1)[1] == out.split("\n", 1)[1],
          "-T's output is itself a config, read back to the same effective configuration", err2)


def test_check_paths(d):
    """-t checks what a start needs, besides the file itself."""
    cases = [
        ({"socket": "/nonexistent-dir/sub/s.sock"}, "socket: directory /nonexistent-dir"),
        ({"log": os.path.join(d.dir, "no", "such", "log")}, "log: directory"),
        ({"access_log": os.path.join(d.dir, "no", "access.log")}, "access_log: directory"),
        ({"pid_file": os.path.join(d.dir, "no", "pid")}, "pid_file: directory"),
        ({"socket": d.conf}, "exists and is not a socket"),
    ]
    for opts, words in cases:
        conf = os.path.join(d.dir, "paths.conf")
        with open(conf, "w") as f:
            f.write(d.conf_text(daemon=opts))
        rc, out, err = t(conf, "-t")
        check(rc == 1 and words in err, "-t fails on %s: %s" % (opts, words), err)
    conf = os.path.join(d.dir, "user.conf")
    with open(conf, "w") as f:
        f.write(d.conf_text(daemon={"user": "no-such-user-xyz"}))
    rc, out, err = t(conf, "-t")
    check(rc == 1 and "unknown user 'no-such-user-xyz'" in err, "-t: an unknown user", err)
    with open(conf, "w") as f:
        f.write(d.conf_text(daemon={"group": "no-such-group-xyz"}))
    rc, out, err = t(conf, "-t")
    check(rc == 1 and "unknown group 'no-such-group-xyz'" in err, "-t: an unknown group", err)


def test_privileges():
    if not AS_ROOT:
        # Not root: no switch is possible, and a `user` other than oneself says so.
        d = Daemon(start=False, daemon={"user": "root"})
        rc, out, err = t(d.conf, "-t")
        check(rc == 0 and "warning: `user` and `group` are ignored" in err,
              "not root: -t warns that `user` is ignored (as nginx and php-fpm do)", err)
        print("skip: the privilege drop itself needs root")
        return
    d = Daemon(start=False)
    d.write_conf(daemon={"user": ""})
    rc, out, err = t(d.conf, "-t")
    check(rc == 1 and "guest code would run as root" in err, "as root, -t refuses no `user`", err)
    r = subprocess.run([DAEMON, "-f", "-c", d.conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "guest code would run as root" in r.stderr,
          "as root, the daemon refuses to start without `user`", r.stderr)
    nobody = pwd.getpwnam("nobody")
    d.write_conf(daemon={"user": "nobody"})
    os.chmod(d.dir, 0o755)
    d.start()
    # The readiness ping proves one worker serves; another may still be between its fork and
    # its drop (it runs no guest code before it), so wait for every worker to be past it.
    def dropped():
        try:
            return all(re.search(r"^Uid:\s+(\d+)", read("/proc/%d/status" % p), re.M).group(1)
                       != "0" for p in d.workers())
        except (OSError, AttributeError):
            return False
    wait_until(dropped, timeout=10)
    uids = {}
    for p in d.workers():
        st = read("/proc/%d/status" % p)
        uids[p] = (re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split(),
                   re.search(r"^Gid:\s+(.*)$", st, re.M).group(1).split(),
                   re.search(r"^Groups:\s*(.*)$", st, re.M).group(1).split())
    want = ([str(nobody.pw_uid)] * 4, [str(nobody.pw_gid)] * 4)
    check(uids and all(u[:2] == want and "0" not in u[2] for u in uids.values()),
          "user = nobody: every worker runs as nobody (real, effective, saved; no root group)",
          uids)
    check(read("/proc/%d/status" % d.pid).find("Uid:\t0") >= 0, "the master stays root")
    c = Conn(d.sock)
    check_eq(c.call("e2e", "add", [i32(20), i32(22)]).get("results"), [i32(42)],
             "the unprivileged workers serve calls")
    c.close()
    # Kill a worker: its replacement drops too.
    old = d.workers()
    os.kill(old[0], signal.SIGKILL)
    wait_until(lambda: len(set(d.workers()) - set(old)) == 1, timeout=5)
    new = list(set(d.workers()) - set(old))
    check(new and "Uid:\t%d" % nobody.pw_uid in read("/proc/%d/status" % new[0]),
          "a restarted worker drops as well")
    d.stop()


def test_stderr_detached():
    """`log = stderr` without -f: the lines go on to the stderr the daemon was started with."""
    d = Daemon(foreground=False, start=False)
    pidfile = os.path.join(d.dir, "pid")
    d.write_conf(daemon={"log": "stderr", "pid_file": pidfile})
    errf = os.path.join(d.dir, "stderr")
    with open(errf, "wb") as f:
        r = subprocess.run([DAEMON, "-c", d.conf], stdout=subprocess.DEVNULL, stderr=f,
                           timeout=10)
    check_eq(r.returncode, 0, "a daemon with log = stderr detaches")
    pid = int(read(pidfile))
    os.kill(pid, signal.SIGHUP)
    check(wait_until(lambda: "reloaded" in read(errf), timeout=5),
          "its log lines still reach the stderr it was started with", read(errf))
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not os.path.exists(pidfile), timeout=10)


def test_access_log():
    d = Daemon(start=False)
    acc = os.path.join(d.dir, "access.log")
    d.write_conf(daemon={"access_log": acc, "slow_log_threshold": "50ms", "log_level": "info"})
    d.start()
    c = Conn(d.sock)
    c.call("e2e", "add", [i32(1), i32(2)])
    c.call("e2e", "add", [i32(1), i32(2)])
    c.call("e2e", "trap_unreachable")
    c.call("e2e", "no such\nexport")
    c.rq({"op": "ping"})
    c.call("e2e", "spin", deadline_ms=80)
    c.rq({"op": "call"})  # malformed: no module
    c.close()
    # The first line is the ping of Daemon.start's readiness check.
    check(wait_until(lambda: read(acc).count("\n") >= 8, timeout=5), "7 requests, 7 more lines",
          read(acc))
    # Each worker writes its lines when its reply is out, so the readiness ping's line is not
    # always the first: drop the first ping line wherever it is.
    lines = read(acc).splitlines()
    first_ping = next(i for i, l in enumerate(lines) if " op=ping " in l)
    lines = lines[:first_ping] + lines[first_ping + 1:]
    me = "uid=%d pid=%d" % (os.getuid(), os.getpid())
    check(all(me in l for l in lines), "each line has the peer's uid and pid (SO_PEERCRED)",
          lines)
    pat = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z uid=\d+ pid=\d+ op=\S+ module=\S+ "
                     r"export=\S+ result=\S+ time_us=\d+ warm=(yes|no|-)$")
    check(all(pat.match(l) for l in lines), "every line has the documented fields", lines)
    # A line is written once the reply is out, so the client's next request may be logged
    # first: the lines are matched by content.
    def has(pattern):
        return [l for l in lines if re.search(pattern, l)]
    check(len(has(r"op=call module=e2e export=add result=ok .* warm=no$")) == 1 and
          len(has(r"op=call module=e2e export=add result=ok .* warm=yes$")) == 1,
          "calls: ok, the first slot cold and the next one warm", lines)
    check(has(r"export=trap_unreachable result=trap:unreachable "), "a trap and its kind", lines)
    check(has(r"export=no\\x20such\\x0aexport result=unknown_export "),
          "an export name is escaped (no forged fields or lines)", lines)
    check(has(r"op=ping module=- export=- result=ok "), "a ping", lines)
    check(has(r"export=spin result=trap:timeout time_us=(\d{5,})"), "a timeout", lines)
    check(has(r"op=- module=- export=- result=missing_field "), "a malformed request", lines)
    log = d.log_text()
    check(re.search(r"warning: slow request: call e2e spin took \d+ ms", log),
          "the slow log: a run over slow_log_threshold is a warning", log[-600:])
    check(re.search(r"info: trap: call e2e trap_unreachable: trap:unreachable, peer uid \d+", log),
          "a trap is logged at info", log[-600:])
    check(re.search(r"info: timeout: call e2e spin", log), "a timeout is logged at info")
    # A flood of traps: at most 20 lines per 10 s per worker, and a note of what was dropped.
    c = Conn(d.sock)
    for _ in range(60):
        c.call("e2e", "trap_unreachable")
    c.close()
    time.sleep(0.3)
    n = d.log_text().count("info: trap: call e2e trap_unreachable")
    check(n <= 2 * 20, "60 traps: the error log has at most 20 lines per worker", n)
    d.stop()


def test_hygiene(d):
    conf = os.path.join(d.dir, "h.conf")
    e2e = fixture("e2e")

    def check_text(text, want_rc, words, what):
        with open(conf, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        rc, out, err = t(conf, "-t")
        check(rc == want_rc and words in out + err, what, out + err)

    check_text("[daemon]\n%sworkers = 2\nlog_level = info\nworkers = 3\n[module m]\npath = %s\n"
               % (USER_LINE, e2e), 1,
               "%s:%d: 'workers' is set twice in this section (first at line %d)"
               % (conf, 5 if USER_LINE else 4, 3 if USER_LINE else 2),
               "a directive set twice in a section: an error with both line numbers")
    check_text("[daemon]\n%s[module a]\npath = %s\nslots = 2\n[module b]\npath = %s\nslots = 2\n"
               % (USER_LINE, e2e, e2e), 0, "ok", "the same directive in two sections is fine")
    check_text(b"\xef\xbb\xbf[daemon]\n" + USER_LINE.encode() +
               ("[module m]\npath = %s\n" % e2e).encode(), 0, "ok",
               "a UTF-8 byte order mark at the start is accepted")
    check_text("[daemon]\n%s[module m]\npath = %s\ndeadline = 1.5s\n" % (USER_LINE, e2e), 1,
               "deadline: '1.5s': fractions are not accepted; give a whole number of ms, s or m "
               "(1500ms rather than 1.5s)", "deadline = 1.5s says what it accepts")
    # include = conf.d/*.conf, relative to the including file, in name order.
    cd = os.path.join(d.dir, "conf.d")
    os.makedirs(cd, exist_ok=True)
    with open(os.path.join(cd, "10-a.conf"), "w") as f:
        f.write("[module a]\npath = %s\n" % e2e)
    with open(os.path.join(cd, "20-b.conf"), "w") as f:
        f.write("[module b]\npath = %s\nslots = 1\n" % e2e)
    with open(os.path.join(cd, "20-b.conf~"), "w") as f:
        f.write("garbage\n")
    check_text("[daemon]\n%sinclude = conf.d/*.conf\n" % USER_LINE, 0, "2 module(s)",
               "include = conf.d/*.conf reads the matching files (not editor backups)")
    rc, out, err = t(conf, "-T")
    check(out.index("[module a]") < out.index("[module b]"), "in name order", out)
    check_text("[daemon]\n%sinclude = empty.d/*.conf\n[module m]\npath = %s\n"
               % (USER_LINE, e2e), 0, "ok", "a pattern matching nothing is fine")
    check_text("[daemon]\n%sinclude = missing.conf\n" % USER_LINE, 1,
               os.path.join(d.dir, "missing.conf") + ": cannot open",
               "an include naming a missing file is an error")
    with open(os.path.join(cd, "30-bad.conf"), "w") as f:
        f.write("[module c]\npath = %s\nslots = zero\n" % e2e)
    check_text("[daemon]\n%sinclude = conf.d/*.conf\n" % USER_LINE, 1,
               os.path.join(cd, "30-bad.conf") + ":3: slots: expected a number",
               "an error in an included file names that file and line")
    os.unlink(os.path.join(cd, "30-bad.conf"))
    with open(os.path.join(cd, "05-dup.conf"), "w") as f:
        f.write("workers = 3\n")
    check_text("[daemon]\n%sworkers = 2\ninclude = conf.d/*.conf\n" % USER_LINE, 1,
               "'workers' is set twice in this section (first at %s:%d)"
               % (conf, 3 if USER_LINE else 2), "a duplicate across files names both places")
    os.unlink(os.path.join(cd, "05-dup.conf"))
    with open(os.path.join(d.dir, "loop.conf"), "w") as f:
        f.write("include = loop.conf\n")
    check_text("[daemon]\n%sinclude = loop.conf\n" % USER_LINE, 1, "nested more than 8 deep",
               "a file that includes itself is refused")


def main():
    test_help()
    test_sigusr1()
    test_relative_conf()
    test_socket_symlink()
    test_socket_mode_umask()
    test_listen_socket_symlink()
    test_pid_file_symlink()
    d = Daemon()
    test_titles(d)
    test_dump(d)
    test_check_paths(d)
    test_hygiene(d)
    d.stop()
    test_privileges()
    test_stderr_detached()
    test_access_log()


run_main(main)
