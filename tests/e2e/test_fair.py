#!/usr/bin/env python3
"""test_fair.py: one connection cannot starve or exhaust the others: executor threads serve
connections in turn, a pool can cap the instances one connection holds
(max_instances_per_connection), and pool_wait lets an instantiation wait for a slot to free,
counted in stats."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Conn, Daemon, check, check_eq, err_code, fixture, i32, run_main, stat_sum


def test_round_robin():
    """A pipelines 10 runs of 300 ms on a worker with 2 executor threads; B's trivial call
    must not wait behind A's backlog, only behind the runs already under way."""
    d = Daemon(daemon={"workers": "1", "executor_threads": "2"},
               modules={"e2e": {"path": fixture("e2e"), "slots": "16", "deadline": "10s"}})
    a, b = Conn(d.sock, timeout=20), Conn(d.sock, timeout=20)
    n = 10
    for i in range(n):
        a.send({"id": i, "op": "call", "module": "e2e", "export": "spin", "deadline_ms": 300})
    time.sleep(0.1)
    t0 = time.time()
    r = b.call("e2e", "add", [i32(2), i32(3)])
    dt = time.time() - t0
    print("a trivial call behind another connection's 10 x 300 ms backlog took %.3f s" % dt)
    check_eq(r.get("results"), [i32(5)], "the other connection's call is answered")
    check(dt < 0.45, "within one run (300 ms) of the backlog, not behind all of it", dt)
    for _ in range(n):
        a.read_line()
    a.close()
    b.close()
    d.stop()


def test_instances_per_connection():
    d = Daemon(daemon={"workers": "1"},
               modules={"e2e": {"path": fixture("e2e"), "slots": "16",
                                "max_instances_per_connection": "4"}})
    hogs = [Conn(d.sock) for _ in range(2)]
    taken = 0
    for h in hogs:
        for _ in range(16):
            r = h.instantiate("e2e")
            if r.get("ok"):
                taken += 1
            else:
                last = r
    check_eq(taken, 8, "two greedy connections hold 4 instances each, not the whole pool")
    check_eq(err_code(last), "too_many_instances", "the fifth gets too_many_instances")
    served = 0
    others = [Conn(d.sock) for _ in range(8)]
    for o in others:
        if o.call("e2e", "add", [i32(1), i32(1)]).get("ok"):
            served += 1
    print("with 2 greedy connections: %d of 8 other clients served" % served)
    check_eq(served, 8, "every other client is served")
    for c in hogs + others:
        c.close()
    d.stop()


def test_pool_wait():
    d = Daemon(daemon={"workers": "1", "executor_threads": "2"},
               modules={"e2e": {"path": fixture("e2e"), "slots": "1", "pool_wait": "300ms"},
                        "nowait": {"path": fixture("e2e"), "slots": "1"}})
    holder = Conn(d.sock)
    h = holder.instantiate("e2e")["instance"]
    other = Conn(d.sock)
    # The holder lets go after 100 ms: the waiting call gets the slot.
    freer = threading.Timer(0.1, lambda: holder.terminate(h))
    freer.start()
    t0 = time.time()
    r = other.call("e2e", "add", [i32(1), i32(2)])
    dt = time.time() - t0
    print("a call on a full pool with pool_wait = 300ms, slot freed after 100 ms: %s in %.3f s"
          % (r.get("results") or err_code(r), dt))
    check_eq(r.get("results"), [i32(3)], "a call waits for the slot that frees")
    check(0.05 < dt < 0.3, "and gets it as soon as it is free", dt)
    # The timer's terminate must have read its reply before this thread uses holder again:
    # two threads reading one connection could each take the other's reply.
    freer.join()
    h = holder.instantiate("e2e")["instance"]
    t0 = time.time()
    r = other.call("e2e", "add", [i32(1), i32(2)])
    dt = time.time() - t0
    check_eq(err_code(r), "pool_exhausted", "without a free slot within pool_wait: pool_exhausted")
    check(0.28 < dt < 0.8, "after pool_wait (300 ms)", dt)
    # Meanwhile other requests of the connection are served.
    other.send({"id": "w", "op": "instantiate", "module": "e2e"})
    r2 = other.rq({"op": "ping"})
    check(r2.get("ok"), "a connection with a request waiting for a slot is served otherwise")
    check_eq(err_code(other.read_reply("w")), "pool_exhausted", "and the wait ends")
    s = other.stats()
    check_eq(stat_sum(s, "pool_waits"), 3, "stats count the waits")
    check_eq(stat_sum(s, "pool_wait_timeouts"), 2, "and those that timed out")
    waited = sum(x["value"] for x in s if x["name"] == "pool_wait_seconds")
    check(waited > 0.6, "and the time spent waiting", waited)
    holder.instantiate("nowait")
    t0 = time.time()
    r = other.call("nowait", "add", [i32(1), i32(2)])
    check(err_code(r) == "pool_exhausted" and time.time() - t0 < 0.1,
          "a pool without pool_wait answers pool_exhausted at once")
    holder.close()
    other.close()
    d.stop()


def main():
    test_round_robin()
    test_instances_per_connection()
    test_pool_wait()


if __name__ == "__main__":
    run_main(main)
