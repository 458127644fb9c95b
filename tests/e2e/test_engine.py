#!/usr/bin/env python3
"""test_engine.py: the per-pool `engine` directive. Pools of the native tier (when the build has
it) and of the interpreter side by side in one daemon give the same answers; `modules`,
`stats` and `-t` say which tier runs each pool and what compiling it cost; a reload compiles
again only the modules whose file or engine changed."""
import os
import re
import shutil
import signal
import subprocess

from e2elib import (DAEMON, Conn, Daemon, check, check_eq, fixture, i32, run_main, trap_name,
                    wait_until)


def native_available(d):
    """Whether this build has the native tier: -t on a config that asks for it."""
    conf = os.path.join(d.dir, "probe.conf")
    with open(conf, "w") as f:
        f.write(d.conf_text(modules={"m": {"path": fixture("e2e"), "engine": "native"}}))
    r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        check("engine: this build has no native tier" in r.stderr,
              "engine = native in a build without LLVM is refused with the reason", r.stderr)
    return r.returncode == 0


def test_bad_value(d):
    conf = os.path.join(d.dir, "bad.conf")
    with open(conf, "w") as f:
        f.write(d.conf_text(modules={"m": {"path": fixture("e2e"), "engine": "jit"}}))
    r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and "engine: 'jit' is neither 'native' nor 'interp'" in r.stderr,
          "engine = jit is refused with the accepted values", r.stderr)


def test_parallel_load(d):
    """Modules are compiled on several threads; sections naming the same file share one compile,
    and the failure reported is the first in the file whatever thread finished first."""
    bad = os.path.join(d.dir, "bad.wasm")
    with open(bad, "wb") as f:
        f.write(b"\0asm\1\0\0\0\xff")
    bad2 = os.path.join(d.dir, "bad2.wasm")
    with open(bad2, "wb") as f:
        f.write(b"not wasm at all")
    conf = os.path.join(d.dir, "par.conf")
    mods = {"a": {"path": fixture("e2e")}, "b": {"path": fixture("e2e")},
            "c": {"path": fixture("other")}}
    with open(conf, "w") as f:
        f.write(d.conf_text(modules=mods))
    r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and
          re.search(r"^module 'b': .*shared with an earlier section$", r.stdout, re.M) and
          not re.search(r"^module '[ac]': .*shared", r.stdout, re.M),
          "a second section naming the same file shares the first one's code", r.stdout)
    mods = {"ok": {"path": fixture("e2e")}, "first": {"path": bad}, "ok2": {"path": fixture("other")},
            "second": {"path": bad2}}
    with open(conf, "w") as f:
        f.write(d.conf_text(modules=mods))
    r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and "module 'first'" in r.stderr and "module 'second'" not in r.stderr,
          "two bad modules: the first in the file is the one reported", r.stderr)


def test_cache_dir(native):
    """cache_dir: the first start compiles and stores, a restart loads the code instead."""
    if not native:
        return
    d = Daemon(start=False, daemon={"cache_dir": ""})
    cache = os.path.join(d.dir, "cache")
    os.mkdir(cache, 0o700)
    d.write_conf(daemon={"cache_dir": cache}, modules={"m": {"path": fixture("e2e")}})
    states = []
    for _ in range(2):
        d.start()
        c = Conn(d.sock)
        states.append(modules_by_name(c)["m"]["code_cache"])
        check_eq(c.call("m", "add", [i32(2), i32(3)]).get("results"), [i32(5)],
                 "the module runs (code cache %s)" % states[-1])
        c.close()
        d.stop()
    check_eq(states, ["stored", "hit"], "cache_dir: stored at the first start, a hit at the next")
    check(any(n.endswith(".wsc") for n in os.listdir(cache)), "the entry is in cache_dir",
          os.listdir(cache))


def modules_by_name(c):
    return {m["name"]: m for m in c.rq({"op": "modules"})["modules"]}


def test_side_by_side(d, native):
    want = "native" if native else "interp"
    c = Conn(d.sock)
    mods = modules_by_name(c)
    check_eq(mods["dflt"]["engine"], want, "a pool without `engine` runs on the build's best tier")
    check_eq(mods["slow"]["engine"], "interp", "engine = interp runs on the interpreter")
    for name in ("dflt", "slow"):
        check(isinstance(mods[name].get("compile_ms"), (int, float)) and
              mods[name]["compile_ms"] >= 0, "modules gives %s's compile_ms" % name, mods[name])
        check_eq(mods[name].get("code_cache"), "none", "no cache_dir: code_cache none")
    for name in ("dflt", "slow"):
        check_eq(c.call(name, "add", [i32(40), i32(2)]).get("results"), [i32(42)],
                 "%s: add gives the same answer" % name)
        check_eq(trap_name(c.call(name, "trap_oob_memory")), "out_of_bounds_memory",
                 "%s: an out-of-bounds load traps the same way" % name)
        check_eq(trap_name(c.call(name, "trap_unreachable")), "unreachable",
                 "%s: unreachable traps the same way" % name)
    stats = c.stats()
    engines = {s["labels"].get("pool"): s["labels"].get("engine") for s in stats
               if s["name"] == "module_compile_seconds"}
    check_eq(engines, {"dflt": want, "slow": "interp"},
             "stats: module_compile_seconds per pool, labelled with its engine")
    c.close()


def test_reload_keeps_unchanged_code(d, native):
    log_before = len(d.log_text())
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: "reloaded" in d.log_text()[log_before:], timeout=30),
          "SIGHUP reloads", d.log_text()[-600:])
    new = d.log_text()[log_before:]
    check("module 'dflt': unchanged, kept its compiled code" in new and
          "module 'slow': unchanged, kept its compiled code" in new,
          "a reload with unchanged files compiles nothing again", new[-600:])

    # Another file at dflt's path, and slow switched to the other tier: both are compiled anew.
    shutil.copy(fixture("other"), d.dflt_path)
    d.write_conf(modules={"dflt": {"path": d.dflt_path},
                          "slow": {"path": fixture("e2e"),
                                   "engine": "native" if native else "interp"}})
    log_before = len(d.log_text())
    d.signal(signal.SIGHUP)
    check(wait_until(lambda: "reloaded" in d.log_text()[log_before:], timeout=30),
          "the second SIGHUP reloads", d.log_text()[-600:])
    new = d.log_text()[log_before:]
    check(re.search(r"module 'dflt': engine \w+, loaded in", new) is not None,
          "a changed file is compiled again", new[-600:])
    if native:
        check(re.search(r"module 'slow': engine native, loaded in", new) is not None,
              "a pool switched to engine = native is compiled again, natively", new[-600:])
    def serves_new_file():
        c = Conn(d.sock)
        r = c.rq({"op": "modules"})
        c.close()
        if "modules" not in r:
            print("modules reply during the reload: %r" % r)
        mods = {m["name"]: m for m in r.get("modules", [])}
        return mods.get("dflt", {}).get("exports", [{}])[0].get("name") == "answer"
    check(wait_until(serves_new_file, timeout=10), "the new generation serves the new file")

    def runs_it():
        # Until the old generation has retired, a new connection may still reach it.
        c = Conn(d.sock)
        r = c.call("dflt", "answer")
        c.close()
        return r.get("results") == [i32(42)]
    check(wait_until(runs_it, timeout=10), "and runs it")


def main():
    d = Daemon(start=False, daemon={"cache_dir": ""})
    native = native_available(d)
    test_bad_value(d)
    test_parallel_load(d)
    d.dflt_path = os.path.join(d.dir, "dflt.wasm")
    shutil.copy(fixture("e2e"), d.dflt_path)
    d.write_conf(modules={"dflt": {"path": d.dflt_path},
                          "slow": {"path": fixture("e2e"), "engine": "interp"}})
    d.start()
    r = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
    check(re.search(r"^module 'slow': engine interp, loaded in", r.stdout, re.M) is not None,
          "-t names each module's engine and load time", r.stdout)
    test_side_by_side(d, native)
    test_reload_keeps_unchanged_code(d, native)
    d.stop()
    test_cache_dir(native)


if __name__ == "__main__":
    run_main(main)
