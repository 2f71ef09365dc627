#!/usr/bin/python3
"""A counting proxy for oci-push's tests.

    push_proxy.py PORT UPSTREAM LOG [FAULT]

Listens on 127.0.0.1:PORT and forwards every request, body and all, to
UPSTREAM (host:port, plain HTTP), keeping the Host header so that the
registry's Location headers lead back through the proxy.  Each request is
logged to LOG as "METHOD PATH?QUERY -> STATUS" (distribution's long _state
parameter left out).  FAULT "500" answers 500 to the first PUT that
closes an upload of each blob (by its digest=) instead of forwarding it.
The other FAULTs make the upload side lie, for every request they touch:
  nolocation    POST …/blobs/uploads/ answers 202 with no Location
  filelocation  … with Location: file:///etc/passwd
  always401     every request answers 401 with a Basic challenge
  hugeheader    every HEAD answers with a 1 MB header line
  escapes       every POST answers 400 with terminal escapes in its error
  baddigest     a manifest PUT answers 201 with another Docker-Content-Digest
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
        if self.lie(shown):
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

    def reply(self, shown, code, headers=(), body=b""):
        log("%s %s -> %d (%s)" % (self.command, shown, code, FAULT))
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return True

    def lie(self, shown):
        upload = self.command == "POST" and "/blobs/uploads/" in self.path
        if FAULT == "nolocation" and upload:
            return self.reply(shown, 202)
        if FAULT == "filelocation" and upload:
            return self.reply(shown, 202, [("Location", "file:///etc/passwd")])
        if FAULT == "always401" and self.path != "/v2/":
            return self.reply(shown, 401, [("WWW-Authenticate", 'Basic realm="lies"')])
        if FAULT == "hugeheader" and self.command == "HEAD":
            return self.reply(shown, 200, [("X-Filler", "x" * (1 << 20))])
        if FAULT == "escapes" and self.command == "POST":
            body = b'{"errors":[{"code":"DENIED","message":"\\u001b[2J\\u001b]0;pwned\\u0007gone"}]}'
            return self.reply(shown, 400, [("Content-Type", "application/json")], body)
        if FAULT == "baddigest" and self.command == "PUT" and "/manifests/" in self.path:
            return self.reply(shown, 201, [("Docker-Content-Digest", "sha256:" + "0" * 64)])
        return False

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_ANY


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Proxy).serve_forever()
