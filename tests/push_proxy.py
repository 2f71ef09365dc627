#!/usr/bin/python3
"""A counting proxy for oci-push's tests.

    push_proxy.py PORT UPSTREAM LOG [FAULT]

Listens on 127.0.0.1:PORT and forwards every request, body and all, to
UPSTREAM (host:port, plain HTTP), keeping the Host header so that the
registry's Location headers lead back through the proxy.  Each request is
logged to LOG as "METHOD PATH?QUERY -> STATUS" (distribution's long _state
parameter left out).  FAULT "500" answers 500 to the first PUT that
closes an upload of each blob (by its digest=) instead of forwarding it.
"""
import http.client
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
FAULT = sys.argv[4] if len(sys.argv) > 4 else "none"
hurt = set()
lock = threading.Lock()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_ANY(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        shown = re.sub(r"[?&]_state=[^&]*", "", self.path)
        blob = re.search(r"[?&]digest=([^&]*)", self.path)
        if FAULT == "500" and self.command == "PUT" and "/blobs/uploads/" in self.path and blob:
            with lock:
                first = blob.group(1) not in hurt
                hurt.add(blob.group(1))
            if first:
                log("%s %s -> 500" % (self.command, shown))
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                msg = b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}'
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        up = http.client.HTTPConnection(UPSTREAM, timeout=60)
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        data = resp.read()
        up.close()
        log("%s %s -> %d" % (self.command, shown, resp.status))
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_ANY


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Proxy).serve_forever()
