#!/usr/bin/env python3
"""test_spec_tiers.py: the spec scripts through both tiers, as part of `make check`.

Every script under SPEC_DIR runs on the interpreter; a set of scripts that covers every kind of
instruction the native tier translates (control flow, calls, call_indirect, memory, traps,
conversions, floats, tables, linking between modules, shared memories and atomics) runs on the
native tier when the build has it, where a module that falls back to the interpreter is a
failure (--no-fallback). `make spec ENGINE=native` runs all of them natively. Skipped (77) when
SPEC_DIR has no scripts."""
import os
import subprocess
import sys

NATIVE_SET = [
    "core/br_table.wast", "core/call_indirect.wast", "core/conversions.wast", "core/f64.wast",
    "core/float_exprs.wast", "core/i64.wast", "core/linking.wast", "core/loop.wast",
    "core/memory_trap.wast", "core/skip-stack-guard-page.wast", "core/traps.wast",
    "core/unwind.wast", "core/left-to-right.wast", "core/fac.wast", "core/memory_grow.wast",
    "core/table_copy.wast", "core/bulk.wast", "core/global.wast", "core/select.wast",
    "threads/atomic.wast", "threads/exports.wast", "threads/imports.wast", "threads/memory.wast",
]


def main():
    build = os.environ.get("WASMSLOT_BUILDDIR", ".")
    spec = os.environ.get("WASMSLOT_SPEC_DIR", "")
    runner = os.path.join(build, "tests", "spec", "spec_runner")
    wast2json = os.environ.get("WAST2JSON", "wast2json")
    if not spec or not os.path.isdir(os.path.join(spec, "core")):
        print("no spec scripts in %r: skipped" % spec)
        return 77
    base = [runner, "--wast2json", wast2json]
    rc = subprocess.call(base + ["--engine", "interp", spec])
    if rc != 0:
        return 1
    probe = subprocess.run(base + ["--engine", "native", "--help"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        print("this build has no native tier: interpreter only")
        return 0
    scripts = [os.path.join(spec, f) for f in NATIVE_SET if os.path.exists(os.path.join(spec, f))]
    rc = subprocess.call(base + ["--engine", "native", "--no-fallback"] + scripts)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
