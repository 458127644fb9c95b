"""fcgilib.py: a small FastCGI 1.0 client for the end-to-end tests: records, name-value
pairs, requests on one connection (multiplexed or not), raw bytes for hostile input."""

import socket
import struct

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR, DATA, \
    GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = range(1, 12)
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP_CONN = 1


def record(rtype, rid, content=b"", padding=0):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), padding, 0) + content + \
        b"\0" * padding


def nv_len(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def nv(pairs):
    out = b""
    for k, v in pairs:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += nv_len(len(k)) + nv_len(len(v)) + k + v
    return out


def nv_parse(b):
    out, i = {}, 0
    while i < len(b):
        lens = []
        for _ in range(2):
            if b[i] & 0x80:
                lens.append(struct.unpack(">I", b[i:i + 4])[0] & 0x7fffffff)
                i += 4
            else:
                lens.append(b[i])
                i += 1
        out[b[i:i + lens[0]].decode()] = b[i + lens[0]:i + lens[0] + lens[1]].decode()
        i += lens[0] + lens[1]
    return out


def stream(rtype, rid, data, chunk=65535):
    out = b""
    for i in range(0, len(data), chunk):
        out += record(rtype, rid, data[i:i + chunk])
    return out + record(rtype, rid)


def request_records(rid, params, body=b"", keep=True, role=RESPONDER, chunk=65535):
    """The records of one request, as a list (to interleave with another's)."""
    begin = struct.pack(">HB5x", role, KEEP_CONN if keep else 0)
    out = [record(BEGIN_REQUEST, rid, begin)]
    for rtype, data in ((PARAMS, nv(params)), (STDIN, body)):
        out += [record(rtype, rid, data[i:i + chunk]) for i in range(0, len(data), chunk)]
        out.append(record(rtype, rid))
    return out


def request_bytes(rid, params, body=b"", keep=True, role=RESPONDER):
    return b"".join(request_records(rid, params, body, keep, role))


def cgi_params(script, method="GET", query="", body=b"", extra=()):
    p = [("GATEWAY_INTERFACE", "CGI/1.1"), ("REQUEST_METHOD", method),
         ("SCRIPT_NAME", script), ("QUERY_STRING", query),
         ("REQUEST_URI", script + ("?" + query if query else "")),
         ("SERVER_PROTOCOL", "HTTP/1.1"), ("SERVER_NAME", "localhost"),
         ("SERVER_PORT", "80"), ("REMOTE_ADDR", "127.0.0.1")]
    if body:
        p += [("CONTENT_LENGTH", str(len(body))), ("CONTENT_TYPE", "text/plain")]
    return p + list(extra)


class Conn:
    """One FastCGI connection to host:port (TCP) or a Unix socket path."""

    def __init__(self, addr, timeout=10):
        if isinstance(addr, str):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(addr)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def read_record(self):
        """The next record as (type, id, content), or None at the end of the stream."""
        while True:
            if len(self.buf) >= 8:
                _, t, rid, clen, plen, _ = struct.unpack(">BBHHBB", self.buf[:8])
                if len(self.buf) >= 8 + clen + plen:
                    content = self.buf[8:8 + clen]
                    self.buf = self.buf[8 + clen + plen:]
                    return t, rid, content
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d

    def response(self, rid=None):
        """Read until END_REQUEST of rid (the first request's when None): returns a dict with
        stdout, stderr, app_status, protocol_status; None when the connection closed first.
        Records of other requests are kept in self.others."""
        out, err = {}, {}
        self.others = getattr(self, "others", [])
        while True:
            r = self.read_record()
            if r is None:
                return None
            t, i, c = r
            if rid is not None and i != rid:
                self.others.append(r)
                continue
            if t == STDOUT:
                out[i] = out.get(i, b"") + c
            elif t == STDERR:
                err[i] = err.get(i, b"") + c
            elif t == END_REQUEST:
                app, ps = struct.unpack(">IB3x", c)
                return {"id": i, "stdout": out.get(i, b""), "stderr": err.get(i, b""),
                        "app_status": app, "protocol_status": ps}

    def request(self, rid, params, body=b"", keep=True):
        self.send(request_bytes(rid, params, body, keep))
        return self.response(rid)

    def closed(self):
        """True when the peer closed the connection (reads EOF)."""
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return True

    def close(self):
        self.s.close()


def http_status(stdout):
    """The HTTP status a front end would derive from a CGI response."""
    head = stdout.split(b"\n\n", 1)[0] if b"\r\n\r\n" not in stdout else \
        stdout.split(b"\r\n\r\n", 1)[0]
    for line in head.replace(b"\r", b"").split(b"\n"):
        if line.lower().startswith(b"status:"):
            return int(line.split()[1])
    return 200


def http_body(stdout):
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in stdout:
            return stdout.split(sep, 1)[1]
    return b""
