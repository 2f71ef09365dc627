#!/usr/bin/python3
"""A counting proxy for oci-push's tests.

    push_proxy.py PORT UPSTREAM FAULT LOG

Listens on 127.0.0.1:PORT and forwards every request, body and all, to
UPSTREAM (host:port, plain HTTP), keeping the Host header so that the
registry's Location headers lead back through the proxy.  Each request is
logged to LOG as "METHOD PATH?QUERY -> STATUS" (distribution's long _state
parameter left out).  FAULT "none" forwards everything; "500" answers 500 to the first PUT that
closes an upload of each blob (by its digest=) instead of forwarding it.
The other FAULTs make the upload side lie, for every request they touch:
  nolocation    POST …/blobs/uploads/ answers 202 with no Location
  filelocation  … with Location: file:///etc/passwd
  always401     every request answers 401 with a Basic challenge
  hugeheader    every HEAD answers with a 1 MB header line
  escapes       every POST answers 400 with terminal escapes in its error
  baddigest     a manifest PUT answers 201 with another Docker-Content-Digest
FAULT "429once" answers each request (method and path, an upload's id and
_state left out) the first time it comes with 429, "Retry-After: 1" and a
RateLimit-Limit, and forwards it the next;
its log lines then begin with the time (seconds since the epoch).
"""
import re
import sys
import threading
import time

from http_helper import Handler, append, forward, serve

PORT, UPSTREAM, FAULT, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
hurt = set()
lock = threading.Lock()


def log(line):
    append(LOG, "%.3f %s" % (time.time(), line) if FAULT == "429once" else line)


class Proxy(Handler):
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
                return self.answer(500, [("Content-Type", "application/json")],
                                   b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}')
        if FAULT == "429once":
            with lock:
                key = (self.command, re.sub(r"/blobs/uploads/[^?&]+", "/blobs/uploads/ID", shown))
                first = key not in hurt
                hurt.add(key)
            if first:
                log("%s %s -> 429" % (self.command, shown))
                return self.answer(429, [("Retry-After", "1"), ("RateLimit-Limit", "100;w=21600"),
                                         ("Content-Type", "application/json")],
                                   b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}')
        if self.lie(shown):
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        status, keep, data, _ = forward(UPSTREAM, self.command, self.path, headers, body, timeout=60)
        log("%s %s -> %d" % (self.command, shown, status))
        self.answer(status, keep, data)

    def reply(self, shown, code, headers=(), body=b""):
        log("%s %s -> %d (%s)" % (self.command, shown, code, FAULT))
        self.answer(code, headers, body)
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


serve(PORT, Proxy)
