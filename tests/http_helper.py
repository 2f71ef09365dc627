"""What the tests' HTTP servers share (tests/fetch_proxy.py, push_proxy.py,
fetch_faults.py, fetch_token.py import it; it runs nothing itself).

    Handler       a request handler that speaks HTTP/1.1 and keeps quiet
    append(F, L)  one line to the log file F, whole, whatever thread writes it
    forward(…)    one request sent on to the upstream registry, its answer read whole
    serve(P, H)   handler H on 127.0.0.1:P until the test stops it
"""
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Headers that describe one connection's framing, not the answer: the proxies
# set their own.
HOP_BY_HOP = ("content-length", "connection", "transfer-encoding")
_lock = threading.Lock()


def append(path, line):
    with _lock, open(path, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass  # the servers keep logs of their own

    def answer(self, status, headers, body, length=None):
        """STATUS with HEADERS and BODY; a HEAD answer has no body but says, in
        LENGTH, how long the GET's would be."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", length if length is not None else str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def forward(upstream, method, path, headers, body=None, timeout=30):
    """METHOD PATH sent to UPSTREAM (host:port, plain HTTP).  Returns the status,
    the answer's headers less HOP_BY_HOP, its body, and its Content-Length."""
    up = http.client.HTTPConnection(upstream, timeout=timeout)
    up.request(method, path, body=body, headers=headers)
    resp = up.getresponse()
    data = resp.read()
    up.close()
    keep = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
    return resp.status, keep, data, resp.getheader("Content-Length", "0")


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up on a damaged answer are expected


def serve(port, handler, ready=None):
    """HANDLER on 127.0.0.1:PORT; READY() is called once it listens."""
    server = Server(("127.0.0.1", port), handler)
    if ready:
        ready()
    server.serve_forever()
