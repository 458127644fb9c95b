#!/usr/bin/env python3
"""test_hostile.py: hostile input against a real wasmslotd: mutated and malformed request
lines, line-limit edges, floods and clients that never read or vanish mid-line or mid-run,
forged instance handles, secrets left in a slot by trapped, timed-out, interrupted or
abandoned instances (and by start functions and threaded calls that trap), a WASI command's
input left for the next user of the thread, WASI calls with pointers outside the memory,
malformed modules in the config, runaway guests and far deadlines. After every batch the
daemon must answer a fresh connection and a bystander's instance must be untouched."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (DAEMON, USER_LINE, Conn, Daemon, check, check_eq, err_code, fixture, i32,
                    run_main, stat_sum, trap_name, v, wait_until)

SEED = 20261121
MAX_LINE = 1048576  # the protocol's default line limit

CODES = {"bad_json", "not_an_object", "unknown_op", "missing_field", "bad_field", "bad_value",
         "request_too_large", "unknown_module", "unknown_export", "unknown_instance",
         "bad_arguments", "trap", "pool_exhausted", "too_many_instances", "too_many_requests",
         "instantiate_failed", "limit_reached", "shutting_down", "internal_error"}


def is_reply(r):
    """A well-formed reply: an object with a boolean ok, and a known error code on failure."""
    if not isinstance(r, dict) or not isinstance(r.get("ok"), bool) or "id" not in r:
        return False
    if r["ok"]:
        return True
    e = r.get("error")
    return isinstance(e, dict) and e.get("code") in CODES and isinstance(e.get("message"), str)


def read_raw_line(c):
    """The next reply line as bytes (checked to be UTF-8 JSON by the caller)."""
    while b"\n" not in c.buf:
        d = c.s.recv(65536)
        if not d:
            raise EOFError("connection closed by the daemon")
        c.buf += d
    line, c.buf = c.buf.split(b"\n", 1)
    return line


def read_replies(c, n):
    """n reply lines, each parsed strictly (valid UTF-8, valid JSON); None for a bad one."""
    out = []
    for _ in range(n):
        line = read_raw_line(c)
        try:
            out.append(json.loads(line.decode("utf-8")))
        except ValueError:
            out.append(None)
    return out


class Bystander:
    """A connection with an instance holding a value: every batch must leave both alone."""

    def __init__(self, d):
        self.d = d
        self.c = Conn(d.sock)
        self.h = self.c.instantiate("e2e")["instance"]
        self.c.run(self.h, "poke", [v("i64", 0x0B57A4D)])
        self.n = 0

    def verify(self, after):
        f = Conn(self.d.sock, timeout=5)
        r = f.rq({"op": "ping"})
        f.close()
        check(r.get("ok") is True, "after %s: a fresh connection gets its pong" % after, r)
        r = self.c.run(self.h, "peek")
        check_eq(r.get("results"), [v("i64", 0x0B57A4D)],
                 "after %s: the bystander's instance keeps its memory" % after)
        self.n += 1
        r = self.c.run(self.h, "incr")
        check_eq(r.get("results"), [i32(self.n)], "after %s: and still runs" % after)


# ------------------------------------------------------------------ request lines

BASE = [
    '{"id":1,"op":"ping"}',
    '{"id":"x","op":"call","module":"e2e","export":"add","args":[{"type":"i32","value":1},'
    '{"type":"i32","value":2}]}',
    '{"id":3,"op":"call","module":"e2e","export":"id_i64","args":[{"type":"i64",'
    '"value":"18446744073709551615"}],"deadline_ms":100}',
    '{"id":4,"op":"call","module":"e2e","export":"id_f64","args":[{"type":"f64","value":1.5e3}]}',
    '{"id":[5],"op":"modules"}',
    '{"id":6,"op":"run","instance":"1","export":"add","args":[]}',
    '{"id":7,"op":"terminate","instance":42}',
    '{"id":8,"op":"stats","format":"json"}',
    '{"id":9,"op":"instantiate","module":"e2e"}',
    '{"id":null,"op":"call","module":"e2e","export":"nop","threads":2,"args":[]}',
]


def mutate(rng, line):
    b = bytearray(line.encode())
    for _ in range(rng.randint(1, 4)):
        k = rng.randrange(7)
        pos = rng.randrange(len(b) + 1)
        if k == 0 and len(b) > 1:  # truncate
            del b[rng.randrange(1, len(b)):]
        elif k == 1 and b:  # flip one byte to anything (NUL, 0xff, quotes, brackets...)
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif k == 2:  # insert a hostile byte sequence
            b[pos:pos] = rng.choice([b"\0", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\u0000",
                                     b"\\ud800", b'"', b"{", b"[", b"]", b"}", b",", b":",
                                     b"1e400", b"-", b"99999999999999999999", b"\r", b" "])
        elif k == 3 and b:  # duplicate a slice
            a = rng.randrange(len(b))
            b[pos:pos] = b[a:a + rng.randint(1, 20)]
        elif k == 4 and b:  # delete a slice
            del b[pos:pos + rng.randint(1, 8)]
        elif k == 5:  # a duplicate key
            b[1:1] = b'"op":"ping",'
        else:  # a huge number somewhere
            b[pos:pos] = rng.choice([b"1" * 400, b"-9" * 30, b"1e999999", b"0." + b"0" * 500])
    return bytes(b.replace(b"\n", b" "))


def test_random_lines(d, by):
    rng = random.Random(SEED)
    lines = [mutate(rng, rng.choice(BASE)) for _ in range(600)]
    c = Conn(d.sock, timeout=20)
    # Sent in groups of 50 so the in-flight limit leaves most of them executable.
    bad = []
    for k in range(0, len(lines), 50):
        group = lines[k:k + 50]
        c.send_raw(b"".join(x + b"\n" for x in group))
        for x, r in zip(group, read_replies(c, len(group))):
            if not is_reply(r):
                bad.append((x, r))
    check_eq(bad[:3], [], "600 mutated lines: each gets exactly one well-formed reply")
    check(c.rq({"op": "ping"}).get("ok"), "the fuzzed connection still works")
    c.close()
    by.verify("600 mutated lines")


def test_nasty_lines(d, by):
    c = Conn(d.sock, timeout=20)
    add = '{"id":%s,"op":"call","module":"e2e","export":"add","args":[%s]}'
    cases = [
        ("deep nesting, 100000 [", b"[" * 100000, "bad_json"),
        ("deep nesting as the id", b'{"op":"ping","id":' + b"[" * 100000 + b"]" * 100000 + b"}",
         None),
        ("deep nesting in args", (add % ("1", "[" * 50000 + "]" * 50000)).encode(), None),
        ("deep objects", b'{"a":' * 30000 + b"1" + b"}" * 30000, None),
        ("a huge integer id", b'{"id":123456789012345678901234567890,"op":"ping"}', "bad_json"),
        ("a real beyond double", b'{"id":1e400,"op":"ping"}', "bad_json"),
        ("i64 beyond 2^64 as string", (add % ("1", '{"type":"i64","value":"18446744073709551616"}'
                                             )).encode(), "bad_value"),
        ("a 400-digit integer value", (add % ("1", '{"type":"i32","value":%s}' % ("9" * 400))
                                       ).encode(), "bad_json"),
        ("raw NUL bytes", b'{"id":1,"op":"pi\0ng"}', "bad_json"),
        ("a lone NUL", b"\0", "bad_json"),
        ("invalid UTF-8 in a string", b'{"id":"\xff\xfe","op":"ping"}', "bad_json"),
        ("overlong UTF-8", b'{"id":"\xc0\xaf","op":"ping"}', "bad_json"),
        ("a UTF-8 surrogate", b'{"id":"\xed\xa0\x80","op":"ping"}', "bad_json"),
        ("a lone surrogate escape", b'{"id":"\\ud800","op":"ping"}', "bad_json"),
        ("invalid UTF-8 outside strings", b'{"id":1,\xff"op":"ping"}', "bad_json"),
        ("only a carriage return", b"\r", "bad_json"),
        ("only spaces", b"     ", "bad_json"),
        ("op with a NUL", b'{"id":1,"op":"ping\\u0000"}', "unknown_op"),
        ("module with a NUL", b'{"id":1,"op":"instantiate","module":"e2e\\u0000x"}', "bad_field"),
        ("export with a NUL", b'{"id":1,"op":"call","module":"e2e","export":"add\\u0000"}',
         "unknown_export"),
        ("a 1023-byte export name", ('{"id":1,"op":"call","module":"e2e","export":"%s"}' %
                                     ("e" * 1023)).encode(), "unknown_export"),
        ("a 1024-byte export name", ('{"id":1,"op":"call","module":"e2e","export":"%s"}' %
                                     ("e" * 1024)).encode(), "bad_field"),
        ("1001 arguments", (add % ("1", ",".join(['{"type":"i32","value":1}'] * 1001))).encode(),
         "bad_field"),
        ("1000 arguments", (add % ("1", ",".join(['{"type":"i32","value":1}'] * 1000))).encode(),
         "bad_arguments"),
        ("a typed value that is an array", (add % ("1", "[1,2]")).encode(), "bad_value"),
        ("a typed value without value", (add % ("1", '{"type":"i32"}')).encode(), "bad_value"),
        ("deadline_ms negative", b'{"id":1,"op":"call","module":"e2e","export":"nop",'
         b'"deadline_ms":-1}', "bad_field"),
        ("deadline_ms 2^53", b'{"id":1,"op":"call","module":"e2e","export":"nop",'
         b'"deadline_ms":9007199254740992}', "bad_field"),
        ("deadline_ms a string", b'{"id":1,"op":"call","module":"e2e","export":"nop",'
         b'"deadline_ms":"5"}', "bad_field"),
        ("deadline_ms a real", b'{"id":1,"op":"call","module":"e2e","export":"nop",'
         b'"deadline_ms":1.5}', "bad_field"),
        ("threads 0", b'{"id":1,"op":"call","module":"e2e","export":"nop","threads":0}',
         "bad_field"),
        ("threads 1025", b'{"id":1,"op":"call","module":"e2e","export":"nop","threads":1025}',
         "bad_field"),
        ("threads above executor_threads", b'{"id":1,"op":"call","module":"e2e",'
         b'"export":"id_i32","threads":3}', "bad_field"),
        ("threads on a run", b'{"id":1,"op":"run","instance":"1","export":"nop","threads":1}',
         "bad_field"),
        ("op of the wrong case", b'{"id":1,"op":"PING"}', "unknown_op"),
        ("a duplicate key", b'{"id":1,"op":"ping","op":"stats"}', "bad_json"),
        ("trailing garbage", b'{"id":1,"op":"ping"} x', "bad_json"),
        ("two objects on a line", b'{"id":1,"op":"ping"}{"id":2,"op":"ping"}', "bad_json"),
    ]
    for what, line, code in cases:
        c.send_raw(line + b"\n")
        r = read_replies(c, 1)[0]
        ok = is_reply(r) and r["ok"] is False and (code is None or err_code(r) == code)
        check(ok, "nasty line: %s -> %s" % (what, code or "an error"), r)
    # Every id shape comes back as sent.
    for idv in ['"\\u0000"', '"\\u2028 \\"q\\" \\\\"', "-0", "1e3", "true", "null",
                "9223372036854775807", '"%s"' % ("i" * 5000)]:
        c.send_raw('{"id":%s,"op":"ping"}\n' % idv)
        r = read_replies(c, 1)[0]
        check(is_reply(r) and r["ok"] and r["id"] == json.loads(idv),
              "the id %s is echoed" % idv[:40], r)
    c.close()
    by.verify("nasty lines")


def test_line_limit(d, by):
    c = Conn(d.sock, timeout=20)
    pad = lambda n: ('{"id":"edge","op":"ping","pad":"%s"}' % ("x" * n))
    base = len(pad(0))
    line = pad(MAX_LINE - base)
    check_eq(len(line), MAX_LINE, "the edge line is exactly at the limit")
    c.send_raw(line + "\n")
    r = c.read_line()
    check_eq((r.get("id"), r.get("ok")), ("edge", True), "a line of exactly 1 MiB is served")
    c.send_raw(line + "\r\n")
    r = c.read_line()
    check(is_reply(r), "1 MiB plus CR LF gets a reply", r)
    line = pad(MAX_LINE - base + 1)
    c.send_raw(line + "\n" + '{"id":"after","op":"ping"}\n')
    r = c.read_line()
    check_eq((r.get("id"), err_code(r)), (None, "request_too_large"),
             "one byte past the limit: request_too_large with a null id")
    r = c.read_line()
    check_eq((r.get("id"), r.get("ok")), ("after", True), "   and the next line is served")
    # The reply comes as soon as the limit is passed, before the line ends.
    c.send_raw(b"[" * (MAX_LINE + 10))
    r = c.read_line()
    check_eq(err_code(r), "request_too_large", "an endless line is refused before its end")
    c.send_raw(b"]" * (3 * MAX_LINE))  # the rest of it is dropped unread
    c.send_raw(b'\n{"id":"after2","op":"ping"}\n')
    r = c.read_line()
    check_eq((r.get("id"), r.get("ok")), ("after2", True), "   and the line after it is served")
    # The module's own smaller limit answers with the id.
    line = '{"id":"sm","op":"call","module":"small","export":"nop","pad":"%s"}' % ("x" * 5000)
    c.send_raw(line + "\n")
    r = c.read_line()
    check_eq((r.get("id"), err_code(r)), ("sm", "request_too_large"),
             "a module's max_request_size: request_too_large with the id")
    c.close()
    by.verify("lines at the limit")


def test_flood(d, by):
    c = Conn(d.sock, timeout=30)
    n = 5000
    data = "".join('{"id":%d,"op":"ping"}\n' % k for k in range(n)).encode()
    t = threading.Thread(target=c.send_raw, args=(data,))
    t.start()
    ids = [r.get("id") for r in read_replies(c, n)]
    t.join()
    check_eq(ids, list(range(n)), "5000 pipelined pings: 5000 pongs in order")
    n = 2000
    data = "".join(json.dumps({"id": k, "op": "call", "module": "e2e", "export": "add",
                               "args": [i32(k), i32(1)]}) + "\n" for k in range(n)).encode()
    t = threading.Thread(target=c.send_raw, args=(data,))
    t.start()
    replies = read_replies(c, n)
    t.join()
    good = all(is_reply(r) and (r["ok"] and r["results"] == [i32(r["id"] + 1)] or
                                err_code(r) == "too_many_requests") for r in replies)
    check(good, "2000 pipelined calls: each answered, right or too_many_requests")
    check_eq(sorted(r["id"] for r in replies), list(range(n)), "   exactly one reply each")
    c.close()
    # Many lines, then the end of input: all answered (a last one without its newline too),
    # then the daemon closes.
    c = Conn(d.sock, timeout=30)
    n = 3000
    c.send_raw("".join('{"id":%d,"op":"ping"}\n' % k for k in range(n)) + '{"id":"last","op":"ping"}')
    c.s.shutdown(socket.SHUT_WR)
    ids = [r.get("id") for r in read_replies(c, n + 1)]
    check_eq(ids, list(range(n)) + ["last"], "3001 pings then SHUT_WR: all answered in order")
    try:
        c.read_line()
        check(False, "   then the daemon closes")
    except EOFError:
        check(True, "   then the daemon closes")
    c.close()
    by.verify("the flood")


def asan_build():
    """True when the daemon was built with AddressSanitizer (./configure --enable-sanitizers)."""
    with open(DAEMON, "rb") as f:
        return b"__asan_init" in f.read()


def worker_rss_kb(d):
    total = 0
    for p in d.workers():
        try:
            with open("/proc/%d/status" % p) as f:
                for l in f:
                    if l.startswith("VmRSS:"):
                        total += int(l.split()[1])
        except OSError:
            pass
    return total


def test_never_reads(d, by):
    """A client that sends big-reply requests and never reads: the daemon's buffer stays
    bounded, and other connections are served meanwhile."""
    rss0 = worker_rss_kb(d)
    c = Conn(d.sock)
    c.s.setblocking(False)
    req = b'{"op":"stats"}\n' * 4000
    sent = 0
    t_end = time.time() + 2.0
    while time.time() < t_end:
        try:
            sent += c.s.send(req)
        except BlockingIOError:
            time.sleep(0.01)
    lat = []
    for _ in range(5):
        f = Conn(d.sock, timeout=5)
        t0 = time.time()
        ok = f.rq({"op": "ping"}).get("ok")
        lat.append(time.time() - t0)
        f.close()
        check(ok, "a ping while another client does not read")
    check(max(lat) < 1.0, "   answered at once", lat)
    rss1 = worker_rss_kb(d)
    print("   the non-reader sent %d bytes of stats requests; worker RSS %d -> %d kB" %
          (sent, rss0, rss1))
    # AddressSanitizer keeps freed memory in a quarantine of up to 256 MiB, so in a sanitizer
    # build RSS says little about what the daemon holds: allow for the quarantine there.
    limit = 64 * 1024 + (256 * 1024 if asan_build() else 0)
    check(rss1 - rss0 < limit, "the daemon does not buffer a non-reader's replies without "
          "bound (RSS growth under %d MiB)" % (limit // 1024), (rss0, rss1))
    by.verify("a client that never reads")
    c.close()
    by.verify("closing the non-reader")
    # A client that reads late: requests left unserved while it did not read are all served
    # once it does, though it sends nothing more.
    c = Conn(d.sock, timeout=20)
    c.send_raw(b'{"op":"stats"}\n')
    size = len(read_raw_line(c))
    # Twice the daemon's 4 MiB high-water mark of unsent replies, so it does pause.
    n = min(4000, 2 * (4 << 20) // size + 10)
    c.send_raw(b'{"op":"stats","id":0}\n' + b'{"op":"stats"}\n' * (n - 2) +
               b'{"op":"ping","id":"end"}\n')
    time.sleep(0.5)
    replies = read_replies(c, n)
    check(all(is_reply(r) and r["ok"] for r in replies) and replies[-1].get("id") == "end",
          "a late reader gets all %d replies (of %d bytes), the last one last" % (n, size))
    c.close()


def test_disconnects(d, by):
    for part in (b'{"id":1,"op":"ca', b'{"id":1,"op":"call","module":"e2e","export":"add","ar',
                 b"[" * 5000, b"\xff\xfe"):
        c = Conn(d.sock)
        c.send_raw(part)
        c.close()
    c = Conn(d.sock)
    c.send_raw(b"x" * (MAX_LINE + 100))  # closes inside an oversized line
    c.close()
    by.verify("disconnects mid-line")
    check(wait_until(lambda: busy(d, "slow") == 0), "no slot of 'slow' busy at first")
    c = Conn(d.sock)
    h = c.instantiate("slow")["instance"]
    for k in range(3):  # one runs, two wait behind it
        c.send({"id": k, "op": "run", "instance": h, "export": "spin"})
    c.send({"id": "t", "op": "terminate", "instance": h})
    c.send({"id": "c", "op": "call", "module": "slow", "export": "spin"})
    c.send_raw(b'{"id":"half","op":"ca')
    time.sleep(0.2)
    check_eq(busy(d, "slow"), 2, "two slots of 'slow' spin (30s deadline)")
    t0 = time.time()
    c.close()
    check(wait_until(lambda: busy(d, "slow") == 0, timeout=3),
          "a close mid-run interrupts the runs, drops the queued ones and frees the slots")
    check(time.time() - t0 < 3, "   at once", time.time() - t0)
    by.verify("disconnects mid-run")


def busy(d, pool):
    c = Conn(d.sock)
    n = stat_sum(c.stats(), "slots_busy", pool=pool)
    c.close()
    return n


# ------------------------------------------------------------------ handles

def test_handles(d, by):
    a = Conn(d.sock)
    b = Conn(d.sock)
    ha = a.instantiate("e2e")["instance"]
    a.run(ha, "poke", [v("i64", 99)])
    forged = [ha, " " + ha, ha + " ", ha.upper(), "0" + ha]
    if ha.isdigit():
        forged += [int(ha)]
    for f in forged:
        r = b.run(f, "peek")
        check_eq(err_code(r), "unknown_instance", "another connection's handle %r: run" % (f,))
        r = b.terminate(f)
        check_eq(err_code(r), "unknown_instance", "another connection's handle %r: terminate"
                 % (f,))
    hb = b.instantiate("e2e")["instance"]
    # Sequential guesses around both handles, pipelined.
    guesses = []
    for base in (ha, hb):
        if base.isdigit():
            k = int(base)
            guesses += [str(x) for x in range(max(0, k - 1500), k + 1500) if str(x) != hb]
            guesses += [x for x in range(max(0, k - 300), k + 300) if str(x) != hb]
        else:
            guesses += [base[:-1] + ch for ch in "0123456789abcdefxyz" if base[:-1] + ch != hb]
    guesses += ["i%d" % k for k in range(200)] + ["1", "0", "255", "256", "257"]
    guesses = [g for g in guesses if str(g) != hb]
    data = "".join(json.dumps({"id": k, "op": "run", "instance": g, "export": "peek"}) + "\n"
                   for k, g in enumerate(guesses))
    t = threading.Thread(target=b.send_raw, args=(data,))
    t.start()
    replies = read_replies(b, len(guesses))
    t.join()
    codes = {err_code(r) for r in replies}
    check_eq(codes, {"unknown_instance"}, "%d guessed handles: all unknown_instance" %
             len(guesses))
    for f, code in ((2 ** 63 - 1, "unknown_instance"), ("9" * 63, "unknown_instance"),
                    ("9" * 64, "bad_field"), (-1, "bad_field"), (-(2 ** 63), "bad_field"),
                    (1.0, "bad_field"), (True, "bad_field"), (None, "bad_field"),
                    ([ha], "bad_field"), ({"h": ha}, "bad_field"), ("", "bad_field"),
                    ("\u0000", "bad_field"), (ha + "\u0000", "bad_field")):
        r = b.run(f, "peek")
        check_eq(err_code(r), code, "handle %r -> %s" % (f if not isinstance(f, str) else
                                                         f[:12], code))
    b.send_raw('{"id":"big","op":"run","instance":%s,"export":"peek"}\n' % ("9" * 30))
    r = read_replies(b, 1)[0]
    check_eq(err_code(r), "bad_json", "a handle beyond 64 bits is bad_json")
    r = a.run(ha, "peek")
    check_eq(r.get("results"), [v("i64", 99)], "the owner's instance is untouched")
    check(a.terminate(ha).get("ok"), "the owner terminates it")
    r = a.run(ha, "peek")
    check_eq(err_code(r), "unknown_instance", "a terminated handle is unknown to its owner too")
    a.close()
    b.close()
    by.verify("handle forgery")


# ------------------------------------------------------------------ isolation

def scan(c, pool):
    """Instantiate pool (1 slot: always the same one) and count non-pristine words."""
    r = c.instantiate(pool)
    if not r.get("ok"):
        return ("instantiate", r)
    h = r["instance"]
    r = c.run(h, "scan")
    c.terminate(h)
    return (r.get("results") or [{}])[0].get("value", r)


def test_isolation(d, by):
    c = Conn(d.sock)
    check_eq(scan(c, "secret"), 0, "a fresh slot scans pristine")
    cases = [("plant", "returns", None), ("plant_trap", "traps", "unreachable"),
             ("plant_oob", "traps out of bounds", "out_of_bounds_memory"),
             ("plant_stack", "exhausts the stack", "call_stack_exhausted"),
             ("plant_spin", "times out", "timeout")]
    for export, what, trap in cases:
        h = c.instantiate("secret")["instance"]
        r = c.run(h, export)
        check_eq(trap_name(r), trap, "the planting run %s" % what)
        c.terminate(h)
        check_eq(scan(c, "secret"), 0, "no secret after an instance that %s" % what)
        r = c.call("secret", export)
        check_eq(trap_name(r), trap, "a planting call %s" % what)
        check_eq(scan(c, "secret"), 0, "no secret after a call that %s" % what)
    # An instance still alive when its connection closes.
    x = Conn(d.sock)
    x.run(x.instantiate("secret")["instance"], "plant")
    x.close()
    check(wait_until(lambda: busy(d, "secret") == 0), "the closed connection's slot is freed")
    check_eq(scan(c, "secret"), 0, "no secret after a connection closed with its instance")
    # Interrupted mid-run by the close (the pool's deadline is 30s).
    for kind in ("run", "call"):
        x = Conn(d.sock)
        if kind == "run":
            x.send({"id": 1, "op": "run", "instance": x.instantiate("secret_slow")["instance"],
                    "export": "plant_spin"})
        else:
            x.send({"id": 1, "op": "call", "module": "secret_slow", "export": "plant_spin"})
        time.sleep(0.15)
        x.close()
        check(wait_until(lambda: busy(d, "secret_slow") == 0, timeout=3),
              "a %s interrupted by its connection's close frees the slot" % kind)
        check_eq(scan(c, "secret_slow"), 0, "no secret after a %s interrupted by a close" % kind)
    # Terminated while a run is queued behind it.
    h = c.instantiate("secret")["instance"]
    c.send({"id": "p", "op": "run", "instance": h, "export": "plant_spin", "deadline_ms": 100})
    c.send({"id": "t", "op": "terminate", "instance": h})
    c.read_reply("p")
    check(c.read_reply("t").get("ok"), "terminate queued behind a spinning run")
    check_eq(scan(c, "secret"), 0, "no secret after terminate behind a timed-out run")
    # A start function that plants and traps (on a coin toss) fails the instantiation; the
    # instances that do start get the same slot and must find it pristine.
    outcomes = []
    for _ in range(16):
        r = c.instantiate("start_plant")
        if r.get("ok"):
            res = c.run(r["instance"], "scan").get("results") or [{}]
            outcomes.append(("scan", res[0].get("value")))
            c.terminate(r["instance"])
        else:
            outcomes.append((err_code(r), trap_name(r)))
    check(("trap", "unreachable") in outcomes and ("scan", 0) in outcomes and
          set(outcomes) <= {("trap", "unreachable"), ("scan", 0)},
          "no secret after a start function that trapped, in 16 instantiations", outcomes)
    # Threads: thread 1 traps, the others plant and return.
    r = c.call("secret2", "plant_thread", threads=2)
    check_eq((err_code(r), (r.get("error") or {}).get("thread")), ("trap", 1),
             "a threaded call where thread 1 traps")
    hs = [c.instantiate("secret2")["instance"] for _ in range(2)]
    res = [c.run(h, "scan").get("results") for h in hs]
    check_eq(res, [[i32(0)], [i32(0)]], "no secret in either slot after the threaded call")
    for h in hs:
        c.terminate(h)
    c.close()
    by.verify("the isolation probes")


# ------------------------------------------------------------------ WASI

def test_wasi(d, by):
    a = Conn(d.sock)
    b = Conn(d.sock)
    leaks = []
    for k in range(8):
        r = a.call("wasi", "_start", argv=["prog", "SECRET-ARG-%d" % k], env=["KEY=SECRET"],
                   stdin="SECRET-STDIN-%d" % k)
        check_eq((r.get("ok"), r.get("stdout")), (True, "SECRET-STDIN-%d" % k),
                 "a command reads its own stdin")
        for export in ("leak_stdin", "leak_args"):
            r = b.call("wasi", export)
            leaks.append((export, (r.get("results") or [{}])[0].get("value", r)))
    check_eq([x for x in leaks if x[1] != 0], [], "library exports run after another "
             "connection's commands see none of their stdin, argv or environment")
    for export in ("efault_iovs", "efault_iov_buf", "efault_iov_wrap", "efault_iovs_len",
                   "efault_nwritten", "efault_args", "efault_sizes", "efault_poll"):
        r = b.call("wasi", export)
        check_eq(r.get("results"), [i32(21)], "WASI %s: EFAULT" % export)
    a.close()
    b.close()
    by.verify("WASI probes")


# ------------------------------------------------------------------ runaway guests

def test_runaway(d, by):
    c = Conn(d.sock, timeout=20)
    h = c.instantiate("runaway")["instance"]
    cases = [("spin", [], ("trap", "timeout")),
             ("recurse", [], ("trap", "call_stack_exhausted")),
             ("recurse_wide", [], ("trap", "call_stack_exhausted")),
             ("grow_max", [], [i32(256)]),
             ("grow_huge", [], [i32(-1)]),
             ("table_grow_huge", [], [i32(-1)]),
             ("table_grow_big", [], [i32(-1)])]
    for export, args, want in cases:
        t0 = time.time()
        r = c.call("runaway", export, args)
        got = (err_code(r), trap_name(r)) if not r.get("ok") else r.get("results")
        check_eq(got, want, "runaway %s (call)" % export)
        check(time.time() - t0 < 3, "   ends in time", time.time() - t0)
        r = c.run(h, export, args)
        got = (err_code(r), trap_name(r)) if not r.get("ok") else r.get("results")
        if export not in ("grow_max",):
            check_eq(got, want, "runaway %s (run)" % export)
        check_eq(c.run(h, "ok").get("results"), [i32(42)], "   the instance runs afterwards")
    r = c.call("runaway", "grow_touch")
    check_eq(r.get("results"), [i32(241)], "grow by 16 pages to the 16M cap, touching every page")
    r = c.call("runaway", "table_grow_loop")
    check(r.get("ok") or err_code(r) == "trap", "a table grown in a loop up to the engine's "
          "limit", r)
    t0 = time.time()
    r = c.instantiate("start_loop")
    check_eq((err_code(r), trap_name(r)), ("trap", "timeout"),
             "a start function that loops forever ends at the deadline")
    check(time.time() - t0 < 2, "   in time", time.time() - t0)
    r = c.call("start_loop", "f")
    check_eq(trap_name(r), "timeout", "   also through call")
    check(wait_until(lambda: busy(d, "start_loop") == 0), "   and its slot is freed")
    check_eq(c.run(h, "ok").get("results"), [i32(42)], "the runaway instance still works")
    # Far deadlines on a pool without one: 584 years of nanoseconds wrap 64 bits, and must
    # not turn into a deadline already passed.
    for ms in (18446744073710, 2 ** 53 - 1, 10 ** 13):
        r = c.call("nodeadline", "count", [i32(2000000)], deadline_ms=ms)
        check_eq(r.get("results"), [i32(2000000)], "deadline_ms %d on a pool without one" % ms)
        r = c.call("nodeadline", "count_t", [i32(2000000)], deadline_ms=ms, threads=2)
        check_eq(r.get("thread_results") or r, [[i32(2000000)]] * 2,
                 "   also for a call with threads")
    c.close()
    by.verify("runaway guests")


# ------------------------------------------------------------------ malformed modules

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sect(id_, body):
    return bytes([id_]) + leb(len(body)) + body


HDR = b"\0asm\1\0\0\0"
# A valid one-function module, (func (result i32) i32.const 1) exported as "f".
TYPE = sect(1, b"\x01\x60\x00\x01\x7f")
FUNC = sect(3, b"\x01\x00")
EXPORT = sect(7, b"\x01\x01f\x00\x00")
CODE = sect(10, b"\x01\x04\x00\x41\x01\x0b")
BAD_MODULES = [
    ("empty file", b""),
    ("bad magic", b"\0asn\1\0\0\0"),
    ("bad version", b"\0asm\2\0\0\0"),
    ("truncated header", b"\0as"),
    ("a section size beyond the file", HDR + b"\x01\xff\xff\xff\x0f\x01"),
    ("an overlong LEB128", HDR + b"\x01\x80\x80\x80\x80\x80\x80\x01"),
    ("a type count of 2^32-1", HDR + sect(1, b"\xff\xff\xff\xff\x0f")),
    ("functions without bodies", HDR + TYPE + FUNC + EXPORT),
    ("an invalid opcode", HDR + TYPE + FUNC + EXPORT + sect(10, b"\x01\x04\x00\xff\x01\x0b")),
    ("a type error", HDR + TYPE + FUNC + EXPORT + sect(10, b"\x01\x04\x00\x42\x01\x0b")),
    ("a body without end", HDR + TYPE + FUNC + EXPORT + sect(10, b"\x01\x03\x00\x41\x01")),
    ("memory min above max", HDR + sect(5, b"\x01\x01\x02\x01")),
    ("memory of 65537 pages", HDR + sect(5, b"\x01\x00\x81\x80\x04")),
    ("an unknown section", HDR + sect(99, b"")),
    ("sections out of order", HDR + FUNC + TYPE + EXPORT + CODE),
    ("a call to a missing function", HDR + TYPE + FUNC + EXPORT +
     sect(10, b"\x01\x04\x00\x10\x05\x0b")),
    ("an import nobody provides", HDR + TYPE + sect(2, b"\x01\x03env\x03foo\x00\x00") + EXPORT),
]


def test_bad_modules(d, by):
    good = fixture("e2e")
    paths = [(what, write(os.path.join(d.dir, "bad%d.wasm" % k), data))
             for k, (what, data) in enumerate(BAD_MODULES)]
    p = os.path.join(d.dir, "adir.wasm")
    os.mkdir(p)
    paths += [("a directory as path", p), ("/dev/zero as path", "/dev/zero"),
              ("a missing file", os.path.join(d.dir, "missing.wasm"))]
    for k, (what, p) in enumerate(paths):
        conf = os.path.join(d.dir, "bad%d.conf" % k)
        with open(conf, "w") as f:
            f.write("[daemon]\nsocket = %s/x%d.sock\n[module ok]\npath = %s\n"
                    "[module bad]\npath = %s\n" % (d.dir, k, good, p))
        try:
            r = subprocess.run([DAEMON, "-t", "-c", conf], capture_output=True, text=True,
                               timeout=10)
            out = r.stdout + r.stderr
            check(r.returncode == 1 and "bad" in out and "Sanitizer" not in out,
                  "-t rejects a module with %s" % what, (r.returncode, out[-300:]))
        except subprocess.TimeoutExpired:
            check(False, "-t rejects a module with %s (timed out)" % what)
    # Starting on a bad module fails with a message, and nothing is left behind.
    what, p = paths[8]
    conf = os.path.join(d.dir, "start.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\n%ssocket = %s/st.sock\n[module bad]\npath = %s\n"
                % (USER_LINE, d.dir, p))
    r = subprocess.run([DAEMON, "-f", "-c", conf], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "bad" in r.stderr, "the daemon refuses to start on a module "
          "with %s" % what, (r.returncode, r.stderr[-300:]))
    # Reload with each bad module (a few, to stay fast): rejected, the old config serves on.
    good_text = d.conf_text()
    failed0 = reloads_failed(d)
    for n, (what, p) in enumerate([paths[0], paths[4], paths[9], paths[-3], paths[-2]]):
        d.write_conf(text=good_text + "[module bad]\npath = %s\n" % p)
        d.signal(signal.SIGHUP)
        ok = wait_until(lambda: reloads_failed(d) >= failed0 + n + 1, timeout=5)
        check(ok, "a reload with a module with %s is rejected" % what)
        c = Conn(d.sock)
        r = c.call("e2e", "add", [i32(2), i32(3)])
        check_eq(r.get("results"), [i32(5)], "   the old config keeps serving")
        c.close()
    d.write_conf(text=good_text)
    by.verify("bad modules on reload")


def reloads_failed(d):
    c = Conn(d.sock)
    n = stat_sum(c.stats(), "reloads_failed")
    c.close()
    return n


def main():
    mods = {
        "e2e": {"path": fixture("e2e"), "slots": "8", "deadline": "2s"},
        "small": {"path": fixture("e2e"), "slots": "1", "max_request_size": "4K"},
        "slow": {"path": fixture("e2e"), "slots": "4", "deadline": "30s"},
        "secret": {"path": fixture("hostile_secret"), "slots": "1", "deadline": "200ms"},
        "secret_slow": {"path": fixture("hostile_secret"), "slots": "1", "deadline": "30s"},
        "secret2": {"path": fixture("hostile_secret"), "slots": "2", "deadline": "1s"},
        "runaway": {"path": fixture("hostile_runaway"), "slots": "2", "deadline": "300ms",
                    "max_memory": "16M"},
        "nodeadline": {"path": fixture("hostile_runaway"), "slots": "2", "deadline": "0"},
        "start_loop": {"path": fixture("hostile_start_loop"), "slots": "1", "deadline": "200ms"},
        "wasi": {"path": fixture("hostile_wasi"), "slots": "2", "deadline": "1s"},
        "start_plant": {"path": fixture("hostile_start_plant"), "slots": "1",
                        "deadline": "1s"},
    }
    # One worker: the bystander shares it with every hostile connection.
    d = Daemon(modules=mods, daemon={"workers": "1", "executor_threads": "2",
                                     "log_level": "info"})
    by = Bystander(d)
    t0 = time.time()
    for test in (test_random_lines, test_nasty_lines, test_line_limit, test_flood,
                 test_handles, test_isolation, test_wasi, test_runaway, test_disconnects, test_never_reads,
                 test_bad_modules):
        t = time.time()
        test(d, by)
        print("   (%s: %.1fs)" % (test.__name__, time.time() - t))
    check(time.time() - t0 < 50, "the hostile batches took under 50s", time.time() - t0)
    c = Conn(d.sock)
    check_eq(stat_sum(c.stats(), "worker_restarts"), 0, "no worker died during all of it")
    c.close()
    check_eq(d.stop(), 0, "SIGTERM stops the daemon with status 0")


run_main(main)
