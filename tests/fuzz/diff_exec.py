#!/usr/bin/env python3
"""diff_exec.py: differential execution testing of wasmslot's engine against two oracles.

binaryen's `wasm-opt -ttf` turns random bytes into a valid module; binaryen's own interpreter
(`wasm-opt --fuzz-exec-before`) and node's V8 (diff_v8.js) run every export of it; wasmslot's
engine runs it through diff_run. Where both oracles agree and wasmslot does not (a result's bits,
a trap where they return or the reverse, a logged value; NaNs match any NaN of their type, as
the spec lets payloads vary), that is a failure, and the module is kept with what the oracles
agreed on (NAME.wasm + NAME.expect) so that the corpus replays it without either oracle.

Once the oracles disagree about an event (a NaN's bits leaking into an integer, the stack depth
at which each gives up, a trap message), that module is compared no further: the instances'
states may have parted.

Modes (one or more; in this order):
  --replay DIR     run every DIR/*.wasm and compare with DIR/*.expect (needs diff_run only)
  --count N        generate N modules from seeds SEED, SEED+1, ... and compare them
  --time S         keep generating (from SEED on) for S seconds
--threads lets binaryen generate the threads proposal too (a shared memory, atomic accesses,
fences, notify), for the tiers' atomics; binaryen's single-threaded modules never block.
--save DIR keeps each discrepancy in DIR (make fuzz-diff keeps them in tests/fuzz/diff_corpus);
without it they go to --fail-dir. Exit status: 0 all matched, 1 a discrepancy, 77 when a
generating mode was asked for and wasm-opt or node is missing (replay alone never skips)."""

import argparse
import glob
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# What wasmslot's engine implements, and what binaryen 108 generates in a form V8 (node 20)
# accepts: not reference types (binaryen 108 then emits typed function references), nor SIMD,
# exception handling, tail calls, GC, memory64 or the extended-const proposal.
FEATURES = ["--mvp-features", "--enable-sign-ext", "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int", "--enable-bulk-memory", "--enable-multivalue"]
# --threads adds the threads proposal, which both oracles run too.
THREADS = ["--enable-threads"]

TIMEOUT = 60


def tool(name):
    return shutil.which(name)


# ---------------------------------------------------------------- normalising binaryen's output

def float_bits(text, ty):
    """binaryen's printed float (shortest round-trip decimal, JS-style hex integers, inf, nan:P)
    as the tester's value."""
    if "nan" in text:
        return ty + ":nan"
    neg = text.startswith("-")
    body = text[1:] if neg else text
    if body == "inf":
        x = float("inf")
    elif body.startswith("0x"):
        x = float(int(body, 16))
    else:
        x = float(body)
    if neg:
        x = -x
    if ty == "f32":
        return "f32:0x%08x" % struct.unpack("<I", struct.pack("<f", x))[0]
    return "f64:0x%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def typed(tokens, types, log):
    """binaryen's value tokens, read with the types of V8's line (None when they do not fit).
    binaryen logs an i64 as two i32 tokens, low then high."""
    out, k = [], 0
    try:
        for ty in types:
            if ty == "i32":
                out.append("i32:%d" % (int(tokens[k]) & 0xffffffff))
                k += 1
            elif ty == "i64" and log:
                lo, hi = int(tokens[k]) & 0xffffffff, int(tokens[k + 1]) & 0xffffffff
                out.append("i64:%d" % (lo | hi << 32))
                k += 2
            elif ty == "i64":
                out.append("i64:%d" % (int(tokens[k]) & 0xffffffffffffffff))
                k += 1
            elif ty in ("f32", "f64"):
                out.append(float_bits(tokens[k], ty))
                k += 1
            elif ty == "ref":
                out.append("ref:null" if tokens[k] == "null" else None)
                k += 1
            else:
                return None
    except (IndexError, ValueError, OverflowError, struct.error):
        return None
    return out if k == len(tokens) else None


def binaryen_events(text):
    """binaryen's --fuzz-exec lines as raw events: ("call", name), ("log", tokens),
    ("result", tokens), ("trap", msg), ("other", line). An export whose result is void prints
    no line: its empty result is made explicit."""
    ev, open_call = [], False
    for line in text.splitlines():
        if line.startswith("[fuzz-exec] calling "):
            if open_call:
                ev.append(("result", []))
            ev.append(("call", line[len("[fuzz-exec] calling "):]))
            open_call = True
        elif line.startswith("[fuzz-exec] note result: "):
            # Several results print as a tuple: "(1, -nan:0x7fb025, 2)".
            text = line.split(" => ", 1)[1].strip("()").replace(",", " ")
            ev.append(("result", text.split()))
            open_call = False
        elif line.startswith("[LoggingExternalInterface logging"):
            ev.append(("log", line[len("[LoggingExternalInterface logging"):-1].split()))
        elif line.startswith("[trap "):
            ev.append(("trap", line[6:-1]) if open_call or ev else ("instantiate-trap", ""))
            open_call = False
        elif line.startswith("["):
            ev.append(("other", line))
            open_call = False
    if open_call:
        ev.append(("result", []))
    return ev


def vtypes(line):
    return [w.split(":", 1)[0] for w in line.split()[1:]]


def agreed_prefix(bev, v8lines):
    """The lines on which binaryen and V8 agree, from the start up to the first disagreement,
    and whether they agreed to the end."""
    out = []
    for i, line in enumerate(v8lines):
        if i >= len(bev):
            return out, False
        kind, data = bev[i]
        word = line.split(" ", 1)[0]
        if kind == "call" and line == "call " + data:
            out.append(line)
        elif kind in ("log", "result") and word == kind:
            vals = typed(data, vtypes(line), kind == "log")
            if vals is None or " ".join([kind] + vals) != line:
                return out, False
            out.append(line)
        elif kind == "trap" and word == "trap":
            out.append("trap")
        elif kind == "instantiate-trap" and line == "instantiate-trap":
            out.append(line)
        else:
            return out, False
    return out, len(bev) == len(v8lines)


def same(want, got):
    if want == "trap":
        return got.split(" ", 1)[0] == "trap"
    return want == got


def compare(expect, ours):
    """Index of the first expected line ours does not match, or None."""
    for i, want in enumerate(expect):
        if i >= len(ours) or not same(want, ours[i]):
            return i
    return None


# ---------------------------------------------------------------- running

def run(cmd, what):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, what + " timed out"
    note = None
    if p.returncode != 0:
        note = "%s exited with %d: %s" % (what, p.returncode,
                                          p.stderr.decode("utf-8", "replace").strip()[-300:])
    return p.stdout.decode("utf-8", "replace"), note


def run_ours(args, wasm):
    out, note = run([args.runner, "--engine", args.engine, wasm], "diff_run")
    return (out or "").splitlines(), note


class Stats:
    def __init__(self):
        self.modules = self.compared_modules = self.calls = self.skipped = 0
        self.oracle_disagreements = self.failures = 0


def report_failure(args, stats, name, expect, ours, note, wasm, seed=None):
    stats.failures += 1
    i = compare(expect, ours)
    print("FAIL %s: wasmslot differs from both oracles at line %s" % (name, i))
    if i is not None:
        lo = max(0, i - 3)
        for k in range(lo, min(len(expect), i + 2)):
            print("   oracles: %s" % expect[k])
        for k in range(lo, min(len(ours), i + 2)):
            print("  wasmslot: %s" % ours[k])
    if note:
        print("  " + note)
    dest = args.save or args.fail_dir
    if dest:
        os.makedirs(dest, exist_ok=True)
        base = os.path.join(dest, name)
        shutil.copyfile(wasm, base + ".wasm")
        with open(base + ".expect", "w") as f:
            if seed is not None:
                f.write("# diff_exec.py seed %d: what binaryen and V8 agreed on\n" % seed)
            f.write("\n".join(expect) + "\n")
        print("  kept as %s.wasm (+ .expect)" % base)


def check_generated(args, stats, seed, work):
    rng = random.Random(seed)
    raw = os.path.join(work, "in.bin")
    wasm = os.path.join(work, "m.wasm")
    with open(raw, "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(rng.randint(1024, 16384))))
    # --denan: a NaN an operation returns may carry any payload the spec allows (V8, binaryen and
    # wasmslot each pick their own), and once stored to memory or reinterpreted those bits
    # differ in the logs without any engine being wrong (seed 228808442: f64.min of a NaN
    # stored, then memory hashed). binaryen's own fuzzer instruments modules the same way.
    _, note = run([args.wasm_opt, raw, "-ttf", "--denan"] + args.features + ["-o", wasm],
                  "wasm-opt -ttf")
    if note:
        print("seed %d: %s" % (seed, note))
        stats.skipped += 1
        return
    stats.modules += 1
    bout, bnote = run([args.wasm_opt, wasm] + args.features + ["--fuzz-exec-before"], "binaryen")
    vout, vnote = run([args.node, os.path.join(HERE, "diff_v8.js"), wasm], "node")
    if bout is None or vout is None or vnote:
        print("seed %d: oracle failed: %s" % (seed, bnote or vnote))
        stats.skipped += 1
        return
    v8 = vout.splitlines()
    if v8 and v8[0].split(" ", 1)[0] in ("compile-error", "unsupported-import", "error"):
        stats.skipped += 1
        return
    expect, whole = agreed_prefix(binaryen_events(bout), v8)
    if not whole:
        stats.oracle_disagreements += 1
    ours, note = run_ours(args, wasm)
    count(stats, expect)
    if compare(expect, ours) is not None:
        digest = hashlib.sha1(open(wasm, "rb").read()).hexdigest()[:12]
        report_failure(args, stats, "seed%d-%s" % (seed, digest), expect, ours, note, wasm,
                       seed)


def count(stats, expect):
    if expect:
        stats.compared_modules += 1
    # An export call counts once its outcome is among the lines compared.
    stats.calls += sum(1 for line in expect if line.split(" ", 1)[0] in ("result", "trap"))


def replay(args, stats):
    files = sorted(glob.glob(os.path.join(args.replay, "*.wasm")))
    for wasm in files:
        name = os.path.basename(wasm)[:-5]
        with open(wasm[:-5] + ".expect") as f:
            expect = [l for l in f.read().splitlines() if l and not l.startswith("#")]
        ours, note = run_ours(args, wasm)
        stats.modules += 1
        count(stats, expect)
        if compare(expect, ours) is not None:
            stats.failures += 1
            i = compare(expect, ours)
            print("FAIL corpus %s at line %d: want %r, got %r%s" % (
                name, i, expect[i], ours[i] if i < len(ours) else "(nothing)",
                "; " + note if note else ""))
    print("corpus: %d modules replayed, %d export calls compared, %d failures" % (
        len(files), stats.calls, stats.failures))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", required=True, help="path of diff_run")
    ap.add_argument("--engine", default="interp", help="diff_run's --engine")
    ap.add_argument("--replay", metavar="DIR")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--time", type=float, default=0)
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: from the clock)")
    ap.add_argument("--threads", action="store_true",
                    help="generate the threads proposal's shared memory and atomics too")
    ap.add_argument("--save", metavar="DIR", help="keep discrepancies here")
    ap.add_argument("--fail-dir", metavar="DIR", help="where discrepancies go without --save")
    args = ap.parse_args()

    args.features = FEATURES + (THREADS if args.threads else [])
    stats = Stats()
    if args.replay:
        replay(args, stats)
    if args.count or args.time:
        args.wasm_opt, args.node = tool("wasm-opt"), tool("node")
        if not args.wasm_opt or not args.node:
            print("SKIP: differential run needs wasm-opt (binaryen) and node; missing: %s" %
                  " ".join(n for n, p in (("wasm-opt", args.wasm_opt), ("node", args.node))
                           if not p))
            sys.exit(1 if stats.failures else 77)
        seed = args.seed if args.seed is not None else int(time.time()) % 1000000 * 1000
        print("seeds from %d, engine %s%s" % (seed, args.engine,
                                              ", threads" if args.threads else ""))
        before = stats.calls
        stats.compared_modules = 0
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="diff_exec.") as work:
            n = 0
            while (args.count and n < args.count) or \
                    (args.time and time.monotonic() - start < args.time):
                check_generated(args, stats, seed + n, work)
                n += 1
        print("generated: %d seeds, %d modules compared, %d export calls compared, "
              "%d with oracles parting, %d skipped, %d failures, %.0f s" % (
                  n, stats.compared_modules, stats.calls - before,
                  stats.oracle_disagreements, stats.skipped, stats.failures,
                  time.monotonic() - start))
    sys.exit(1 if stats.failures else 0)


if __name__ == "__main__":
    main()
