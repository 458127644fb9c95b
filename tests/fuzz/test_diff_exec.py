#!/usr/bin/env python3
"""test_diff_exec.py: `make check`'s part of the differential execution testing: replay the
corpus of past discrepancies (tests/fuzz/diff_corpus) on wasmslot's engine, then compare a few
modules of fixed seeds against binaryen's interpreter and node's V8 (skipped, visibly, when
either tool is missing; the corpus replay never needs them)."""

import os
import subprocess
import sys

BUILDDIR = os.environ.get("WASMSLOT_BUILDDIR", ".")
SRCDIR = os.environ.get("WASMSLOT_SRCDIR", ".")

# Seeds whose modules diff_exec.py compares in every `make check`: deterministic, a few seconds.
SEED, COUNT = 11000, 12

cmd = [sys.executable, os.path.join(SRCDIR, "tests", "fuzz", "diff_exec.py"),
       "--runner", os.path.join(BUILDDIR, "tests", "fuzz", "diff_run"),
       "--replay", os.path.join(SRCDIR, "tests", "fuzz", "diff_corpus"),
       "--count", str(COUNT), "--seed", str(SEED),
       "--fail-dir", os.path.join(BUILDDIR, "tests", "fuzz", "diff-failures")]
sys.exit(subprocess.run(cmd).returncode)
