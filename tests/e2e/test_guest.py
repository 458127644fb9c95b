#!/usr/bin/env python3
"""test_guest.py: guest code through the daemon: a trap reply for each trap kind with the
instance and slot usable afterwards, deadlines, long runs not stalling other connections,
interrupted runs of closed connections, and slots reset between instances."""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (DAEMON, Conn, Daemon, check, check_eq, err_code, fixture, i32, run_main, stat_sum,
                    trap_name, v, wait_until)

PRISTINE = int.from_bytes(b"pristine", "little")  # the data segment, read as an i64


def i64_result(r):
    """The single i64 result of a reply (numbers beyond 2^53 come as strings), or None."""
    res = r.get("results") or [{}]
    return int(res[0]["value"]) if res[0].get("type") == "i64" else None


TRAPS = [
    ("trap_unreachable", [], "unreachable"),
    ("trap_oob_memory", [], "out_of_bounds_memory"),
    ("trap_oob_table2", [], "out_of_bounds_table"),
    ("trap_div_zero", [i32(0)], "integer_divide_by_zero"),
    ("trap_overflow", [], "integer_overflow"),
    ("trap_conversion", [], "invalid_conversion"),
    ("trap_undefined_element", [], "undefined_element"),
    ("trap_uninitialized_element", [], "uninitialized_element"),
    ("trap_indirect_mismatch", [], "indirect_call_type_mismatch"),
    ("trap_stack", [], "call_stack_exhausted"),
]
ATOMIC_TRAPS = [
    ("trap_unaligned_atomic", [], "unaligned_atomic"),
    ("trap_expected_shared", [], "expected_shared_memory"),
]


def test_traps(d):
    c = Conn(d.sock)
    h = c.instantiate("e2e")["instance"]
    c.run(h, "poke", [v("i64", 4242)])
    for export, args, name in TRAPS:
        r = c.run(h, export, args)
        check_eq((r.get("ok"), err_code(r), trap_name(r)), (False, "trap", name),
                 "run %s traps with %s" % (export, name))
        r = c.run(h, "add", [i32(20), i32(22)])
        check_eq(r.get("results"), [i32(42)], "   the instance still runs after %s" % name)
        r = c.call("e2e", export, args)
        check_eq((err_code(r), trap_name(r)), ("trap", name), "call %s traps with %s" %
                 (export, name))
    r = c.run(h, "peek")
    check_eq(i64_result(r), 4242, "traps left the instance's memory as it was")
    r = c.run(h, "call_table", [i32(0)])
    check_eq(r.get("results"), [i32(7)], "its table still works")
    check(c.terminate(h).get("ok"), "a trapped-on instance terminates normally")
    # The slot is usable afterwards: every slot of the pool still instantiates and runs.
    hs = [c.instantiate("e2e")["instance"] for _ in range(4)]
    check(all(i64_result(c.run(x, "peek")) == PRISTINE for x in hs),
          "slots used by trapping instances serve pristine instances")
    for x in hs:
        c.terminate(x)

    if not d.has_atomics:
        print("SKIP atomics traps: the engine does not compile atomics.wasm yet (needs the "
              "threads proposal in the interpreter)")
    for export, args, name in (ATOMIC_TRAPS if d.has_atomics else []):
        r = c.call("atomics", export, args)
        check_eq((err_code(r), trap_name(r)), ("trap", name), "call %s traps with %s" %
                 (export, name))

    r = c.instantiate("start_trap")
    check_eq((err_code(r), trap_name(r)), ("trap", "unreachable"),
             "a start function that traps fails instantiate with its trap")
    r = c.call("start_trap", "f")
    check_eq(err_code(r), "trap", "call of a module whose start traps")
    s = c.stats()
    check_eq(stat_sum(s, "slots_busy", pool="start_trap"), 0,
             "a failed instantiation gives its slot back")
    check(stat_sum(s, "traps", pool="e2e") >= 2 * len(TRAPS), "pool stats count the traps",
          stat_sum(s, "traps", pool="e2e"))
    c.close()


def test_deadline(d):
    c = Conn(d.sock)
    t0 = time.time()
    r = c.call("e2e", "spin")
    dt = time.time() - t0
    check_eq((err_code(r), trap_name(r)), ("trap", "timeout"),
             "a runaway loop ends with the timeout trap")
    check(0.25 <= dt < 1.5, "   at the pool's deadline of 300ms", dt)
    h = c.instantiate("e2e")["instance"]
    t0 = time.time()
    r = c.run(h, "spin_i32", deadline_ms=50)
    dt = time.time() - t0
    check_eq(trap_name(r), "timeout", "run with deadline_ms=50 times out")
    check(0.04 <= dt < 1.0, "   after about 50ms", dt)
    r = c.run(h, "incr")
    check_eq(r.get("results"), [i32(1)], "the instance runs again after a timeout")
    r = c.run(h, "spin", deadline_ms=60000)
    dt = time.time() - t0
    check(trap_name(r) == "timeout" and dt < 1.5,
          "a request cannot extend the pool's deadline", dt)
    s = c.stats()
    check(stat_sum(s, "timeouts", pool="e2e") >= 3, "pool stats count timeouts")
    c.close()


def test_no_stall(d):
    """A long run on one connection does not stall the others."""
    a = Conn(d.sock)
    results = {}

    def spin():
        results["spin"] = a.call("slow", "spin", deadline_ms=2000)

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.03)
    lat = []
    for k in range(5):
        b = Conn(d.sock)
        t0 = time.time()
        r = b.call("e2e", "add", [i32(k), i32(1)])
        lat.append(time.time() - t0)
        check_eq(r.get("results"), [i32(k + 1)], "call %d during a long run" % k)
        b.close()
    t.join()
    check(max(lat) < 1.0, "calls on other connections are not stalled by a 2s run", lat)
    check_eq(trap_name(results.get("spin", {})), "timeout", "the long run ended by its deadline")
    a.close()


def busy(d, pool="e2e"):
    c = Conn(d.sock)
    n = stat_sum(c.stats(), "slots_busy", pool=pool)
    c.close()
    return n


def test_interrupt_on_close(d):
    check(wait_until(lambda: busy(d, "slow") == 0), "no slot of 'slow' busy at first")
    c = Conn(d.sock)
    h = c.instantiate("slow")["instance"]
    c.send({"id": 1, "op": "run", "instance": h, "export": "spin"})  # deadline 30s
    c.send({"id": 2, "op": "call", "module": "slow", "export": "spin"})
    time.sleep(0.2)
    check_eq(busy(d, "slow"), 2, "two slots busy while runs spin")
    t0 = time.time()
    c.close()
    ok = wait_until(lambda: busy(d, "slow") == 0, timeout=3)
    check(ok, "closing the connection interrupts its runs and frees their slots")
    check(time.time() - t0 < 2, "   well before their 30s deadline", time.time() - t0)


def test_isolation(d):
    c = Conn(d.sock)
    for k in range(3):
        h = c.instantiate("e2e")["instance"]
        r = c.run(h, "peek")
        check_eq(i64_result(r), PRISTINE, "instance %d sees the pristine image" % k)
        c.run(h, "poke", [v("i64", 0x5ec2e7 + k)])
        r = c.run(h, "grow", [i32(2)])
        check_eq(r.get("results"), [i32(1)], "memory.grow from 1 page")
        c.terminate(h)
    h = c.instantiate("e2e")["instance"]
    check_eq(c.run(h, "size").get("results"), [i32(1)], "a new instance starts at 1 page again")
    c.close()


def main():
    mods = {
        "e2e": {"path": fixture("e2e"), "slots": "8", "deadline": "300ms"},
        "slow": {"path": fixture("e2e"), "slots": "4", "deadline": "30s"},
        "start_trap": {"path": fixture("start_trap"), "slots": "2"},
    }
    probe = Daemon(modules={"atomics": {"path": fixture("atomics"), "slots": "1"}}, start=False)
    has_atomics = subprocess.run([DAEMON, "-t", "-c", probe.conf],
                                 capture_output=True).returncode == 0
    if has_atomics:
        mods["atomics"] = {"path": fixture("atomics"), "slots": "2"}
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "3"})
    d.has_atomics = has_atomics
    test_traps(d)
    test_deadline(d)
    test_no_stall(d)
    test_interrupt_on_close(d)
    test_isolation(d)
    check_eq(d.stop(), 0, "SIGTERM stops the daemon with status 0")


run_main(main)
