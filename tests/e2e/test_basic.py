#!/usr/bin/env python3
"""test_basic.py: every op through raw JSON on the socket, typed values of all four number
types, pipelining, bad input of every kind, limits, and connections owning their instances."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (Conn, Daemon, check, check_eq, err_code, fixture, i32, run_main, stat_sum,
                    trap_name, v, wait_until)


def test_ops(d):
    c = Conn(d.sock)
    r = c.rq({"id": 1, "op": "ping"})
    check(r == {"id": 1, "ok": True, "pong": True, "version": r.get("version")} and r.get("pong"),
          "ping answers pong with the id", r)

    r = c.rq({"id": "m", "op": "modules"})
    mods = {m["name"]: m for m in r.get("modules", [])}
    check(r["ok"] and set(mods) == {"e2e", "small"}, "modules lists both pools", r)
    add = [e for e in mods["e2e"]["exports"] if e["name"] == "add"]
    check_eq(add, [{"name": "add", "params": ["i32", "i32"], "results": ["i32"]}],
             "modules shows the signature of add")
    check_eq(mods["small"].get("slots"), 2, "modules shows the pool's slots")

    r = c.instantiate("e2e")
    check(r["ok"] and isinstance(r.get("instance"), str), "instantiate gives a handle", r)
    h = r["instance"]
    r = c.run(h, "add", [i32(2), i32(40)])
    check_eq(r.get("results"), [i32(42)], "run add(2, 40) = 42")
    r = c.run(h, "incr")
    r2 = c.run(h, "incr")
    check_eq((r.get("results"), r2.get("results")), ([i32(1)], [i32(2)]),
             "an instance keeps its state between runs")
    r = c.run(h, "nop")
    check_eq(r.get("results"), [], "a function without results gives []")
    r = c.terminate(h)
    check(r == {"id": r["id"], "ok": True}, "terminate answers ok", r)
    r = c.run(h, "add", [i32(1), i32(1)])
    check_eq(err_code(r), "unknown_instance", "a terminated handle is unknown")
    r = c.terminate(h)
    check_eq(err_code(r), "unknown_instance", "terminating twice is unknown_instance")

    r = c.call("e2e", "add", [i32(-5), i32(3)])
    check_eq(r.get("results"), [i32(-2)], "call add(-5, 3) = -2")
    r = c.call("e2e", "incr")
    check_eq(r.get("results"), [i32(1)], "call always starts from a fresh instance")
    r = c.rq({"id": 9, "op": "call", "module": "e2e", "export": "add",
              "args": [i32(1), i32(2)], "extra_field": [1, 2]})
    check_eq(r.get("results"), [i32(3)], "unknown fields are ignored")
    r = c.rq({"op": "call", "module": "e2e", "export": "nop", "id": None})
    check(r.get("ok") and r.get("id") is None, "a null id is echoed as null", r)
    c.close()


def test_types(d):
    c = Conn(d.sock)
    big = "9007199254740993"  # 2^53 + 1: only exact as a string
    r = c.call("e2e", "add_i64", [v("i64", big), v("i64", 1)])
    check_eq(r.get("results"), [v("i64", "9007199254740994")], "i64 beyond 2^53 as a string")
    r = c.call("e2e", "add_i64", [v("i64", -3), v("i64", "-4")])
    check_eq(r.get("results"), [v("i64", -7)], "i64 small values as numbers, strings accepted")
    r = c.call("e2e", "id_i64", [v("i64", "-9223372036854775808")])
    check_eq(r.get("results"), [v("i64", "-9223372036854775808")], "i64 minimum round-trips")
    r = c.call("e2e", "id_i32", [v("i32", 4294967295)])
    check_eq(r.get("results"), [v("i32", -1)], "i32 2^32-1 is read as the bits of -1")
    r = c.call("e2e", "mul_f32", [v("f32", 1.5), v("f32", -2)])
    check_eq(r.get("results"), [v("f32", -3)], "f32 multiply")
    r = c.call("e2e", "id_f32", [v("f32", 0.1)])
    got = r.get("results", [{}])[0].get("value")
    check(isinstance(got, float) and abs(got - 0.1) < 1e-7 and got != 0.1,
          "f32 0.1 is rounded to the nearest f32", r)
    r = c.call("e2e", "div_f64", [v("f64", 1), v("f64", 0)])
    check_eq(r.get("results"), [v("f64", "inf")], "f64 1/0 = inf")
    r = c.call("e2e", "div_f64", [v("f64", -1), v("f64", 0)])
    check_eq(r.get("results"), [v("f64", "-inf")], "f64 -1/0 = -inf")
    r = c.call("e2e", "div_f64", [v("f64", 0), v("f64", 0)])
    check(r.get("ok") and r["results"][0]["type"] == "f64" and
          str(r["results"][0]["value"]).lstrip("-") in ("nan", "0x7ff8000000000000",
                                                         "0xfff8000000000000"),
          "f64 0/0 is a NaN", r)
    r = c.call("e2e", "id_f64", [v("f64", "0x7ff0000000000001")])
    check_eq(r.get("results"), [v("f64", "0x7ff0000000000001")],
             "an f64 NaN payload survives as its bit pattern")
    r = c.call("e2e", "id_f32", [v("f32", "0x7fa00001")])
    check_eq(r.get("results"), [v("f32", "0x7fa00001")], "an f32 NaN payload survives")
    r = c.call("e2e", "id_f64", [v("f64", -0.0)])
    val = r.get("results", [{}])[0].get("value")
    check(val == 0 and str(val).startswith("-"), "f64 -0.0 keeps its sign", r)
    r = c.call("e2e", "swap", [i32(1), v("i64", 2), v("f32", 3.5), v("f64", 4.25)])
    check_eq(r.get("results"), [v("f64", 4.25), v("f32", 3.5), v("i64", 2), i32(1)],
             "multi-value results in order, all four types")
    c.close()


def test_pipelining(d):
    c = Conn(d.sock)
    h = c.instantiate("e2e")["instance"]
    reqs = []
    for k in range(20):
        reqs.append({"id": "p%d" % k, "op": "call", "module": "e2e", "export": "add",
                     "args": [i32(k), i32(1000)]})
    # Runs of one instance happen in order: incr must count 1..10 in the order sent.
    for k in range(10):
        reqs.append({"id": "inc%d" % k, "op": "run", "instance": h, "export": "incr"})
    reqs.append({"id": "term", "op": "terminate", "instance": h})
    reqs.append({"id": "pong", "op": "ping"})
    c.send_raw("".join(json.dumps(r) + "\n" for r in reqs))  # one write
    order = []
    replies = {}
    while len(replies) < len(reqs):
        r = c.read_line()
        replies[r["id"]] = r
        order.append(r["id"])
    check(all(replies["p%d" % k].get("results") == [i32(k + 1000)] for k in range(20)),
          "20 pipelined calls each get their own result")
    check_eq([replies["inc%d" % k].get("results") for k in range(10)],
             [[i32(k + 1)] for k in range(10)], "pipelined runs of one instance run in order")
    inc_order = [x for x in order if x.startswith("inc") or x == "term"]
    check_eq(inc_order, ["inc%d" % k for k in range(10)] + ["term"],
             "replies of one instance come in order, terminate after its runs")
    check(replies["term"].get("ok"), "pipelined terminate after runs succeeds", replies["term"])
    c.close()


def test_bad_input(d):
    c = Conn(d.sock)
    h = c.instantiate("e2e")["instance"]
    c.run(h, "poke", [v("i64", 12345)])
    cases = [
        ("not JSON", "hello", "bad_json"),
        ("empty line", "", "bad_json"),
        ("truncated JSON", '{"id":1,"op":"ping"', "bad_json"),
        ("JSON that is not an object (array)", "[1,2]", "not_an_object"),
        ("JSON that is not an object (number)", "42", "not_an_object"),
        ("JSON that is not an object (string)", '"ping"', "not_an_object"),
        ("unknown op", '{"id":1,"op":"fly"}', "unknown_op"),
        ("missing op", '{"id":1}', "missing_field"),
        ("op not a string", '{"id":1,"op":7}', "bad_field"),
        ("run without instance", '{"id":1,"op":"run","export":"add"}', "missing_field"),
        ("run without export", '{"id":1,"op":"run","instance":"%s"}' % h, "missing_field"),
        ("call without module", '{"id":1,"op":"call","export":"add"}', "missing_field"),
        ("module not a string", '{"id":1,"op":"call","module":5,"export":"add"}', "bad_field"),
        ("args not an array", '{"id":1,"op":"call","module":"e2e","export":"add","args":{}}',
         "bad_field"),
        ("value of the wrong form",
         '{"id":1,"op":"call","module":"e2e","export":"add","args":[{"type":"i32","value":"x"}]}',
         "bad_value"),
        ("unknown value type",
         '{"id":1,"op":"call","module":"e2e","export":"add","args":[{"type":"i33","value":1}]}',
         "bad_value"),
        ("i32 out of range",
         '{"id":1,"op":"call","module":"e2e","export":"id_i32","args":[{"type":"i32","value":4294967296}]}',
         "bad_value"),
        ("deadline_ms zero",
         '{"id":1,"op":"call","module":"e2e","export":"nop","deadline_ms":0}', "bad_field"),
        ("id that is an object", '{"id":{"a":1},"op":"ping"}', "bad_field"),
        ("unknown module", '{"id":1,"op":"call","module":"nope","export":"add"}',
         "unknown_module"),
        ("instantiate unknown module", '{"id":1,"op":"instantiate","module":"nope"}',
         "unknown_module"),
        ("unknown export", '{"id":1,"op":"run","instance":"%s","export":"nope"}' % h,
         "unknown_export"),
        ("export that is not a function",
         '{"id":1,"op":"run","instance":"%s","export":"memory"}' % h, "unknown_export"),
        ("unknown instance", '{"id":1,"op":"run","instance":"no-such","export":"add"}',
         "unknown_instance"),
        ("wrong argument count",
         '{"id":1,"op":"run","instance":"%s","export":"add","args":[{"type":"i32","value":1}]}' % h,
         "bad_arguments"),
        ("wrong argument types",
         '{"id":1,"op":"run","instance":"%s","export":"add","args":[{"type":"i64","value":1},{"type":"i32","value":1}]}' % h,
         "bad_arguments"),
        ("call with wrong argument types",
         '{"id":1,"op":"call","module":"e2e","export":"add","args":[{"type":"f32","value":1},{"type":"f64","value":1}]}',
         "bad_arguments"),
        ("export with a funcref result",
         '{"id":1,"op":"run","instance":"%s","export":"trap_oob_table"}' % h, "bad_arguments"),
    ]
    for what, line, code in cases:
        c.send_raw(line + "\n")
        r = c.read_line()
        check_eq((r.get("ok"), err_code(r)), (False, code), "bad input: %s -> %s" % (what, code))
        check(isinstance((r.get("error") or {}).get("message"), str), "   with a message")
    # The connection and its instance survived all of it.
    r = c.run(h, "peek")
    check_eq(r.get("results"), [v("i64", 12345)], "the instance survived every bad request")
    check(c.rq({"id": 2, "op": "ping"}).get("ok"), "the connection survived every bad request")
    r = c.rq({"id": 3, "op": "run", "instance": int(h) if h.isdigit() else h, "export": "peek"})
    check_eq(r.get("results"), [v("i64", 12345)], "a handle may be sent as a JSON integer")
    c.close()


def test_oversized(d):
    c = Conn(d.sock)
    h = c.instantiate("e2e")["instance"]
    c.run(h, "poke", [v("i64", 777)])
    big = '{"id":"big","op":"call","module":"e2e","export":"add","args":[' + \
        ",".join(['{"type":"i32","value":1}'] * 2000) + "]}"
    check(len(big) > 16384, "the oversized line is over the 16K limit")
    c.send_raw(big + "\n" + '{"id":"after","op":"ping"}\n')
    r1 = c.read_line()
    r2 = c.read_line()
    check_eq((r1.get("id"), err_code(r1)), (None, "request_too_large"),
             "an oversized line gets request_too_large with a null id")
    check_eq((r2.get("id"), r2.get("ok")), ("after", True),
             "the line after the oversized one is answered")
    # Sent in pieces, with the rest of the line arriving later.
    c.send_raw(big[:10000])
    time.sleep(0.05)
    c.send_raw(big[10000:] + "\n")
    r = c.read_line()
    check_eq(err_code(r), "request_too_large", "an oversized line sent in pieces")
    r = c.run(h, "peek")
    check_eq(r.get("results"), [v("i64", 777)], "the instance survived oversized lines")
    # The per-module limit is lower for "small".
    line = '{"id":"sm","op":"call","module":"small","export":"nop","pad":"%s"}' % ("x" * 3000)
    c.send_raw(line + "\n")
    r = c.read_line()
    check_eq(err_code(r), "request_too_large", "a module's own max_request_size applies")
    c.close()


def test_ownership(d):
    a = Conn(d.sock)
    b = Conn(d.sock)
    ha = a.instantiate("e2e")["instance"]
    hb = b.instantiate("e2e")["instance"]
    check(ha != hb, "two connections get different handles", (ha, hb))
    a.run(ha, "poke", [v("i64", 1)])
    r = b.run(ha, "peek")
    check_eq(err_code(r), "unknown_instance", "another connection cannot run my instance")
    r = b.terminate(ha)
    check_eq(err_code(r), "unknown_instance", "another connection cannot terminate my instance")
    r = a.run(ha, "peek")
    check_eq(r.get("results"), [v("i64", 1)], "my instance is untouched")
    a.close()
    b.close()


def busy_slots(d, pool):
    c = Conn(d.sock)
    n = stat_sum(c.stats(), "slots_busy", pool=pool)
    c.close()
    return n


def test_release_on_close(d):
    # Connections of earlier tests are released as their workers see them close.
    check(wait_until(lambda: busy_slots(d, "e2e") == 0), "no slot busy before the test")
    before = busy_slots(d, "e2e")
    c = Conn(d.sock)
    for _ in range(3):
        check(c.instantiate("e2e").get("ok"), "instantiate for the close test")
    check_eq(busy_slots(d, "e2e"), before + 3, "3 slots busy while the connection lives")
    c.close()
    check(wait_until(lambda: busy_slots(d, "e2e") == before), "closing the connection frees "
          "its slots", busy_slots(d, "e2e"))


def test_limits(d):
    c = Conn(d.sock)
    hs = [c.instantiate("small") for _ in range(2)]
    check(all(r.get("ok") for r in hs), "the 2 slots of 'small' can be taken")
    r = c.instantiate("small")
    check_eq(err_code(r), "pool_exhausted", "a third instance of a 2-slot pool: pool_exhausted")
    r = c.call("small", "nop")
    check_eq(err_code(r), "pool_exhausted", "call on an exhausted pool: pool_exhausted")
    c.terminate(hs[0]["instance"])
    r = c.call("small", "nop")
    check(r.get("ok"), "a freed slot serves again", r)
    more = [c.instantiate("e2e") for _ in range(4)]  # one instance of "small" is still alive
    check_eq([x.get("ok") for x in more], [True, True, True, False],
             "max_instances_per_connection (4) stops the 5th instance")
    check_eq(err_code(more[3]), "too_many_instances", "   with too_many_instances")
    c.terminate(more[0]["instance"])
    check(c.instantiate("e2e").get("ok"), "after a terminate there is room again")
    c.close()

    c = Conn(d.sock)
    reqs = [{"id": k, "op": "call", "module": "e2e", "export": "spin", "deadline_ms": 300}
            for k in range(6)]
    c.send_raw("".join(json.dumps(r) + "\n" for r in reqs))
    replies = [c.read_line() for _ in reqs]
    codes = sorted(err_code(r) or "ok" for r in replies)
    check_eq(codes.count("too_many_requests"), 1,
             "the request past max_inflight_per_connection (5) gets too_many_requests")
    check_eq(codes.count("trap"), 5, "the 5 in flight run to their deadline")
    c.close()


def test_stats(d):
    c = Conn(d.sock)
    s0 = c.stats()
    for _ in range(10):
        c.call("e2e", "add", [i32(1), i32(2)])
    s1 = c.stats()
    warm = stat_sum(s1, "warm_hits", pool="e2e") - stat_sum(s0, "warm_hits", pool="e2e")
    check(warm >= 9, "10 calls on one connection give at least 9 warm hits", warm)
    calls = stat_sum(s1, "requests", op="call") - stat_sum(s0, "requests", op="call")
    check_eq(calls, 10, "requests{op=call} counted 10 calls")
    check(stat_sum(s1, "errors", code="unknown_instance") >= 1,
          "errors are counted by code")
    check(any(s["name"] == "worker_restarts" and s["labels"] == {} for s in s1),
          "worker_restarts is reported")
    check_eq(stat_sum(s1, "worker_restarts"), 0, "no worker died during these tests")
    check_eq(len({s["labels"].get("worker") for s in s1 if "worker" in s["labels"]}), 2,
             "stats cover both workers")
    r = c.rq({"id": "om", "op": "stats", "format": "openmetrics"})
    text = r.get("text", "")
    check(r.get("ok") and text.endswith("# EOF\n") and "wasmslot_warm_hits_total{" in text,
          "stats in OpenMetrics text", text[:200])
    r = c.rq({"id": "bad", "op": "stats", "format": "xml"})
    check_eq(err_code(r), "bad_field", "an unknown stats format is bad_field")
    c.close()


def test_half_close(d):
    c = Conn(d.sock)
    c.send_raw('{"id":1,"op":"call","module":"e2e","export":"add","args":'
               '[{"type":"i32","value":1},{"type":"i32","value":1}]}\n{"id":2,"op":"ping"}')
    c.s.shutdown(1)  # SHUT_WR: the daemon answers, then closes
    got = {}
    try:
        while True:
            r = c.read_line()
            got[r["id"]] = r
    except EOFError:
        pass
    check_eq(sorted(got), [1, 2], "after SHUT_WR every request (even without a final newline) "
             "is answered, then the daemon closes")
    c.close()


def test_backpressure(d):
    """A client that writes without reading: the daemon stops reading it while its replies
    pile up, resumes when they are read, and answers every request."""
    c = Conn(d.sock, timeout=30)
    n = 150000
    data = "".join('{"id":%d,"op":"ping"}\n' % k for k in range(n)).encode()
    t = threading.Thread(target=c.send_raw, args=(data,))
    t.start()
    time.sleep(1.0)  # let the unsent replies reach the daemon's high-water mark
    f = c.s.makefile("rb")
    seen = 0
    last = -1
    ordered = True
    for line in f:
        r = json.loads(line)
        if not r.get("ok") or r.get("id") != last + 1:
            ordered = False
        last = r.get("id")
        seen += 1
        if seen == n:
            break
    t.join()
    check_eq(seen, n, "150000 pipelined pings sent without reading are all answered")
    check(ordered, "   in order, none failed")
    check(c.rq({"id": "after", "op": "ping"}).get("ok"), "   and the connection still works")
    c.close()


def main():
    mods = {
        "e2e": {"path": fixture("e2e"), "slots": "16", "deadline": "2s"},
        "small": {"path": fixture("e2e"), "slots": "2", "max_request_size": "2K"},
    }
    d = Daemon(modules=mods, daemon={"max_request_size": "16K"})
    test_ops(d)
    test_types(d)
    test_pipelining(d)
    test_bad_input(d)
    test_oversized(d)
    test_ownership(d)
    test_release_on_close(d)
    test_stats(d)
    test_half_close(d)
    test_backpressure(d)
    check_eq(d.stop(), 0, "SIGTERM stops the daemon with status 0")
    d2 = Daemon(modules=mods, daemon={"max_instances_per_connection": "4",
                                      "max_inflight_per_connection": "5"})
    test_limits(d2)
    check_eq(d2.stop(), 0, "SIGTERM stops the second daemon with status 0")


run_main(main)
