#!/usr/bin/env python3
"""test_reset.py: every byte one instance wrote is gone for the next user of its slot, in
every reset mode (auto, madvise, keep, and keep with a cap below what was written) and with
every way of finding written pages (PAGEMAP_SCAN, reading /proc/self/pagemap, none): the
guest's own writes, bytes a WASI host call (fd_read) wrote into guest memory, a grown page;
and the statistics say what the resets did."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Conn, Daemon, check, check_eq, fixture, i32, run_main, stat_sum

ROUNDS = 6


def one(mode, method, keep_max=None):
    opts = {"path": fixture("reset_guest"), "slots": "1", "deadline": "5s", "reset": mode}
    if keep_max:
        opts["reset_keep_max"] = keep_max
    d = Daemon(modules={"g": opts}, daemon={"workers": "1", "executor_threads": "1"},
               env={"WASMSLOT_PAGEMAP": method})
    c = Conn(d.sock)
    what = "reset = %s%s, pagemap %s" % (mode, " (cap %s)" % keep_max if keep_max else "",
                                         method)
    check_eq(c.call("g", "scan").get("results"), [i32(0)], "%s: a fresh slot is pristine" % what)
    for r in range(ROUNDS):
        got = c.call("g", "plant", [i32(0x40 + r)])
        check(got.get("ok"), "%s: plant" % what, got)
        check_eq(c.call("g", "scan").get("results"), [i32(0)],
                 "%s: round %d: nothing of the guest's writes survives" % (what, r))
        got = c.call("g", "_start", stdin="SECRET-STDIN-%04d" % r + "x" * 3000)
        check(got.get("ok"), "%s: the command ran" % what, got)
        check_eq(c.call("g", "scan").get("results"), [i32(0)],
                 "%s: round %d: nothing fd_read wrote survives" % (what, r))
    st = c.stats()
    restored = stat_sum(st, "reset_restored_pages", pool="g")
    if mode == "madvise" or method == "none":
        check_eq(restored, 0, "%s: nothing restored in place" % what)
    else:
        check(restored > 0, "%s: pages restored in place" % what, restored)
    check(stat_sum(st, "reset_dropped_pages", pool="g") > 0, "%s: pages dropped" % what)
    check_eq(stat_sum(st, "reset_failures", pool="g"), 0, "%s: no reset failed" % what)
    c.close()
    check_eq(d.stop(), 0, "%s: the daemon stops" % what)


def main():
    for method in ("scan", "read", "none"):
        for mode in ("auto", "madvise", "keep"):
            one(mode, method)
    one("keep", "scan", keep_max="8K")
    one("auto", "read", keep_max="4K")


run_main(main)
