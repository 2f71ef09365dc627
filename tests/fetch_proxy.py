#!/usr/bin/python3
"""A faulty reverse proxy for oci-fetch's tests.

    fetch_proxy.py PORT UPSTREAM MODE LOG

Listens on 127.0.0.1:PORT and forwards every request to UPSTREAM (host:port,
plain HTTP), except that answers to GET /v2/.../blobs/... (or .../manifests/...
with "MODE@manifests") are damaged as MODE says.  "MODE" hurts the first
answer for each path; "MODE-always" every one:

    truncate   send the headers and half the body, then close the connection
    reset      send half the body, then reset the connection (TCP RST)
    corrupt    flip one byte in the middle of the body
    huge       pad a JSON body to over 5 MB
    500        answer 500 instead
    429        answer 429 with Retry-After: 1 instead
    endless    answer 404 with a chunked error body that never ends
    redirect   answer 307 to http://localhost:PORT/redirected/... (another host
               name), which is served with UPSTREAM_AUTH (an Authorization
               value from the environment) and logs whether the client sent
               its own Authorization there
    ratelimit  add Docker Hub's rate-limit headers (RateLimit-Limit,
               RateLimit-Remaining, Docker-RateLimit-Source) to the answer
    slow       send the body 64 KiB at a time, 20 ms apart (about 3 MB/s)
    none       no fault

Each request is logged to LOG as "METHOD PATH range=… auth=yes|no -> STATUS".
"""
import os
import socket
import struct
import sys
import threading
import time

from http_helper import Handler, append, forward, serve

PORT, UPSTREAM, MODE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
MODE, _, WHAT = MODE.partition("@")
FAULT, ALWAYS, WHAT = MODE.removesuffix("-always"), MODE.endswith("-always"), "/%s/" % (WHAT or "blobs")
hits = {}
lock = threading.Lock()


def log(line):
    append(LOG, line)


class Proxy(Handler):
    def do_HEAD(self):
        self.forward()

    def do_GET(self):
        self.forward()

    def forward(self):
        path = self.path
        redirected = path.startswith("/redirected/")
        if redirected:
            path = path[len("/redirected"):]
        blob = WHAT in path and path.startswith("/v2/") and self.command == "GET" and not redirected
        with lock:
            hits[path] = hits.get(path, 0) + 1
            hurt = blob and FAULT != "none" and (ALWAYS or hits[path] == 1)
        note = "%s %s range=%s auth=%s" % (self.command, self.path, self.headers.get("Range", "-"),
                                           "yes" if self.headers.get("Authorization") else "no")
        if hurt and FAULT == "500":
            log(note + " -> 500")
            return self.answer(500, [("Content-Type", "application/json")],
                              b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}')
        if hurt and FAULT == "429":
            log(note + " -> 429")
            return self.answer(429, [("Retry-After", "1")], b"slow down\n")
        if hurt and FAULT == "endless":
            log(note + " -> 404")
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if hurt and FAULT == "redirect":
            log(note + " -> 307")
            return self.answer(307, [("Location", "http://localhost:%d/redirected%s" % (PORT, path))], b"")
        headers = {}
        for k, v in self.headers.items():
            # a header sent more than once (Accept, by skopeo and docker-registry) is one list
            if k.lower() not in ("host", "connection"):
                headers[k] = headers[k] + ", " + v if k in headers else v
        if redirected:
            headers.pop("Authorization", None)
            if os.environ.get("UPSTREAM_AUTH"):
                headers["Authorization"] = os.environ["UPSTREAM_AUTH"]
        status, keep, body, length = forward(UPSTREAM, self.command, path, headers)
        log(note + " -> %d" % status)
        if hurt and FAULT == "ratelimit":
            keep += [("RateLimit-Limit", "100;w=21600"), ("RateLimit-Remaining", "%d;w=21600" % (100 - hits[path])),
                     ("Docker-RateLimit-Source", "127.0.0.1")]
        if self.command == "HEAD":
            return self.answer(status, keep, body, length)
        if not hurt or FAULT == "ratelimit" or status not in (200, 206) or len(body) < 2:
            return self.answer(status, keep, body)
        if FAULT == "huge":
            return self.answer(status, keep, body.rstrip()[:-1] + b',"pad":"' + b"x" * 5000000 + b'"}')
        if FAULT == "slow":
            self.send_response(status)
            for k, v in keep:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])
                self.wfile.flush()
                time.sleep(0.02)
            return
        if FAULT == "corrupt":
            mid = len(body) // 2
            return self.answer(status, keep, body[:mid] + bytes([body[mid] ^ 0x55]) + body[mid + 1:])
        # truncate or reset: promise the whole body, send half of it
        self.send_response(status)
        for k, v in keep:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        if FAULT == "reset":
            # linger 0: close() sends RST, not FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        self.close_connection = True


serve(PORT, Proxy)
