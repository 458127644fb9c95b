"""nginxlib.py: a real nginx for the tests and bench-fastcgi: run unprivileged (or, as root,
with files its workers can read) in a temporary prefix directory, with a generated config, its
error log and pid file in that directory, on loopback ports."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# The CGI meta-variables nginx sends, as Debian's /etc/nginx/fastcgi_params sets them, written
# out so that the tests do not depend on that file; SCRIPT_NAME is the path of the request.
FASTCGI_PARAMS = """
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param CONTENT_TYPE $content_type;
        fastcgi_param CONTENT_LENGTH $content_length;
        fastcgi_param SCRIPT_NAME $fastcgi_script_name;
        fastcgi_param REQUEST_URI $request_uri;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_param SERVER_PROTOCOL $server_protocol;
        fastcgi_param REQUEST_SCHEME $scheme;
        fastcgi_param GATEWAY_INTERFACE CGI/1.1;
        fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
        fastcgi_param REMOTE_ADDR $remote_addr;
        fastcgi_param REMOTE_PORT $remote_port;
        fastcgi_param SERVER_ADDR $server_addr;
        fastcgi_param SERVER_PORT $server_port;
        fastcgi_param SERVER_NAME $server_name;
"""


def find_nginx():
    for p in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if p and os.access(p, os.X_OK):
            return p
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Nginx:
    """nginx in the foreground (daemon off) on a config made of the given http { } body."""

    def __init__(self, http_body, workers=1):
        self.bin = find_nginx()
        self.dir = tempfile.mkdtemp(prefix="wasmslot-nginx-")
        if not os.environ.get("WASMSLOT_E2E_KEEP"):
            import atexit
            atexit.register(shutil.rmtree, self.dir, True)
        # As root, nginx's workers run as nobody: they must reach the prefix directory.
        os.chmod(self.dir, 0o755)
        for d in ("tmp", "logs", "html"):
            os.makedirs(os.path.join(self.dir, d))
        self.error_log = os.path.join(self.dir, "error.log")
        self.conf = os.path.join(self.dir, "nginx.conf")
        t = os.path.join(self.dir, "tmp")
        with open(self.conf, "w") as f:
            f.write("""daemon off;
worker_processes %d;
pid %s/nginx.pid;
error_log %s info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %s/body;
    fastcgi_temp_path %s/fastcgi;
    proxy_temp_path %s/proxy;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
%s
}
""" % (workers, self.dir, self.error_log, t, t, t, t, t, http_body))
        self.proc = None

    def html(self, name, text):
        p = os.path.join(self.dir, "html", name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)
        return os.path.join(self.dir, "html")

    def start(self, ports):
        self.log = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen([self.bin, "-p", self.dir + "/", "-c", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for p in ports:
            if not wait_port(p):
                raise RuntimeError("nginx did not listen on %d:\n%s" % (p, self.errors()))

    def errors(self):
        try:
            with open(self.error_log, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
