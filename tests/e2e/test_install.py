#!/usr/bin/env python3
"""test_install.py: the tree `make install DESTDIR=...` makes, run as installed: the config in
sysconfdir (never overwritten), its modules found, `wasmslotd -t` passing on it, the systemd
unit with configure's paths passing `systemd-analyze verify` and rating 3.0 or better in
`systemd-analyze security`, the docs (PROTOCOL.md included), man pages and bash completion,
and the installed daemon and client answering a call. The parts that run the installed
binaries at their installed paths do so in a private mount namespace (unshare) with the
DESTDIR tree mounted over the prefix and a tmpfs on /run, as systemd's RuntimeDirectory
would make it."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import AS_ROOT, BUILDDIR, SKIP, check, check_eq, finish


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def make_env():
    # Not the jobserver of the `make check` that runs this test.
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def install_dirs():
    r = sh([os.environ.get("MAKE", "make"), "-s", "-C", BUILDDIR, "print-install-dirs"],
           env=make_env())
    return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)


def main():
    if not os.path.exists(os.path.join(BUILDDIR, "Makefile")):
        print("SKIP: no build tree")
        sys.exit(SKIP)
    dirs = install_dirs()
    dest = tempfile.mkdtemp(prefix="wasmslot-install-")
    try:
        run(dest, dirs)
    finally:
        if not os.environ.get("WASMSLOT_E2E_KEEP"):
            shutil.rmtree(dest, True)
    finish()


def install(dest):
    return sh([os.environ.get("MAKE", "make"), "-C", BUILDDIR, "install", "DESTDIR=" + dest],
              env=make_env())


def run(dest, dirs):
    D = lambda p: dest + p  # noqa: E731
    r = install(dest)
    check_eq(r.returncode, 0, "make install DESTDIR=... succeeds")
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        return
    sbin, sysconf, share = dirs["sbindir"], dirs["sysconfdir"], dirs["pkgdatadir"]
    conf = sysconf + "/wasmslotd.conf"
    for p in (sbin + "/wasmslotd", dirs["bindir"] + "/wasmslot", conf,
              share + "/examples/add.wasm", share + "/examples/hello.wasm",
              share + "/examples/counter.wasm", share + "/examples/wasmslotd.conf",
              share + "/examples/wasmslotd.service", dirs["docdir"] + "/PROTOCOL.md",
              dirs["docdir"] + "/README", dirs["mandir"] + "/man8/wasmslotd.8",
              dirs["mandir"] + "/man5/wasmslotd.conf.5", dirs["mandir"] + "/man1/wasmslot.1",
              dirs["bashcompletiondir"] + "/wasmslot", dirs["bashcompletiondir"] + "/wasmslotd"):
        check(os.path.exists(D(p)), "installed: " + p)
    text = open(D(conf)).read()
    paths = re.findall(r"^path = (.*)$", text, re.M)
    check(paths and all(p.startswith(share + "/examples/") and os.path.exists(D(p))
                        for p in paths),
          "the installed config's module paths name the installed examples", paths)
    check(re.search(r"^user = nobody$", text, re.M), "the installed config drops to nobody")
    unitdir = dirs.get("systemdsystemunitdir", "")
    unit = None
    if unitdir:
        unit = D(unitdir + "/wasmslotd.service")
        check(os.path.exists(unit), "the unit is installed into systemd's unit directory " +
              unitdir)
    else:
        print("note: configure found no systemd unit directory; the unit is an example only")
        unit = D(share + "/examples/wasmslotd.service")
    utext = open(unit).read()
    check("ExecStart=%s/wasmslotd -c %s\n" % (sbin, conf) in utext and "@" not in
          "".join(l for l in utext.splitlines() if l.startswith("Exec")),
          "the unit's ExecStart has configure's paths", utext[:600])

    # A second install keeps an edited config and puts the new one beside it.
    with open(D(conf), "a") as f:
        f.write("# edited by the operator\n")
    r = install(dest)
    check(r.returncode == 0 and open(D(conf)).read().endswith("# edited by the operator\n"),
          "make install again keeps an existing config", r.stdout[-500:])
    check(os.path.exists(D(conf + ".default")), "and installs the new one as .default")

    # The completion file loads in bash and completes the subcommands.
    r = sh(["bash", "-c", 'source "$1"; COMP_WORDS=(wasmslot st); COMP_CWORD=1; _wasmslot; '
            'echo "${COMPREPLY[@]}"; complete -p wasmslotd', "x",
            D(dirs["bashcompletiondir"] + "/wasmslot")])
    check(r.returncode == 0 and "stats" in r.stdout and "_wasmslotd" in r.stdout,
          "the bash completion loads and completes `wasmslot st` to stats", (r.stdout, r.stderr))

    # systemd-analyze on the installed unit.
    if shutil.which("systemd-analyze"):
        r = sh(["systemd-analyze", "security", "--offline=yes", unit])
        m = re.search(r"Overall exposure level for .*: (\d+\.\d+)", r.stdout + r.stderr)
        score = float(m.group(1)) if m else 99.0
        print("systemd-analyze security: %s" % (m.group(0) if m else r.stderr[-300:]))
        check(score <= 3.0, "systemd-analyze security rates the installed unit 3.0 or better",
              score)
    else:
        print("note: no systemd-analyze; the unit's rating is not checked")

    # Run the installed binaries at their installed paths.
    prefix = dirs["prefix"]
    if not (os.path.isdir(prefix) and sysconf.startswith(prefix + "/") and
            sbin.startswith(prefix + "/") and share.startswith(prefix + "/")):
        print("note: the install directories are not all under an existing prefix; the "
              "installed tree is not run")
        return
    script = r'''
set -u
mount --bind "$DEST$PREFIX" "$PREFIX" || exit 90
mount -t tmpfs tmpfs /run || exit 91
"$SBIN/wasmslotd" -t -c "$CONF"; echo "T=$?"
if [ -n "$UNIT" ] && command -v systemd-analyze >/dev/null; then
    man=--man=no; command -v man >/dev/null && man --path wasmslotd >/dev/null 2>&1 && man=
    systemd-analyze verify $man "$UNIT"; echo "VERIFY=$?"
fi
[ "$START" = 1 ] || exit 0
"$SBIN/wasmslotd" -f -c "$CONF" 2>/run/daemon.log &
pid=$!
for i in $(seq 100); do [ -S /run/wasmslot/wasmslotd.sock ] && break; sleep 0.05; done
"$BIN/wasmslot" call add add 2 40; echo "CALL=$?"
"$BIN/wasmslot" call hello count; echo "CALL2=$?"
ps -o user=,args= --ppid "$pid"
kill -TERM "$pid"; wait "$pid"; echo "STOP=$?"
'''
    env = dict(os.environ, DEST=dest, PREFIX=prefix, SBIN=sbin, BIN=dirs["bindir"], CONF=conf,
               UNIT=(unitdir + "/wasmslotd.service") if unitdir else "",
               START="1" if AS_ROOT else "0")
    # Unprivileged, a user namespace maps us to root in it (its uid 65534 is not mapped, so
    # the daemon is only checked, not started).
    cmd = ["unshare", "-m"] if AS_ROOT else ["unshare", "-r", "-m"]
    if unitdir and not unitdir.startswith(prefix + "/"):
        # The unit's own directory is outside the prefix: verify a copy beside it.
        os.makedirs(D(prefix + "/lib/systemd-test"), exist_ok=True)
        shutil.copy(unit, D(prefix + "/lib/systemd-test/wasmslotd.service"))
        env["UNIT"] = prefix + "/lib/systemd-test/wasmslotd.service"
    r = sh(cmd + ["sh", "-c", script], env=env)
    out = r.stdout + r.stderr
    if r.returncode in (90, 91) or "unshare failed" in out or "Operation not permitted" in out:
        print("note: cannot make a mount namespace here; the installed tree is not run:\n" + out)
        return
    print(out)
    check("T=0" in out and "ok (3 module(s)" in out,
          "wasmslotd -t passes on the installed config, at the installed paths", out)
    if env["UNIT"] and "VERIFY=" in out:
        check("VERIFY=0" in out, "systemd-analyze verify passes on the installed unit", out)
    if AS_ROOT:
        check("i32:42\nCALL=0" in out and "i32:1\nCALL2=0" in out,
              "the installed daemon, on the installed config, answers the installed client",
              out)
        check(re.search(r"^nobody\s+wasmslotd: worker 0 \(generation 1\)", out, re.M),
              "its workers run as nobody", out)
        check("STOP=0" in out, "and it stops cleanly")


main()
