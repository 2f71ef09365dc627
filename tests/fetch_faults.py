#!/usr/bin/python3
"""A registry that lies, for tests/registry-faults.bats.

    fetch_faults.py PORT CASE LOG

Serves one valid image on 127.0.0.1:PORT (plain HTTP): repository "img",
tag "1", an OCI manifest with a config and two gzip layers made here; and,
for the index cases, an image index tagged "1" over it.  Every reply is
damaged the way CASE says (the table FAULTS below: one fault per case).
/token is the registry's token service; the "other host" of a redirect
is the same server reached as localhost instead of 127.0.0.1.

Each request is logged to LOG as "HOST METHOD PATH auth=SCHEME|- ae=ACCEPT-ENCODING".
Once listening, the server writes LOG.ready: the digest of a layer it has.
"""
import gzip
import hashlib
import io
import json
import socket
import sys
import tarfile
import threading
import time

from http_helper import Handler, append, serve

PORT, CASE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
lock = threading.Lock()
hits = {}


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def desc(media_type, b):
    return {"mediaType": media_type, "digest": digest(b), "size": len(b)}


def layer(name, text):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(text), 0, 0o644
        t.addfile(info, io.BytesIO(text))
    return gzip.compress(raw.getvalue(), mtime=0), digest(raw.getvalue())


def canon(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


# ---- the valid image

BLOBS = {}
LAYER_MT = "application/vnd.oci.image.layer.v1.tar+gzip"
layers = [layer("hello", b"hello\n"), layer("world", b"world\n")]
config = canon({"architecture": "amd64", "os": "linux", "config": {},
                "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}})
BLOBS[digest(config)] = config
for gz, _ in layers:
    BLOBS[digest(gz)] = gz


def manifest_with(layer_descs, cfg=None):
    return canon({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                  "config": cfg or desc("application/vnd.oci.image.config.v1+json", config),
                  "layers": layer_descs})


GOOD_LAYERS = [desc(LAYER_MT, gz) for gz, _ in layers]
MANIFEST = manifest_with(GOOD_LAYERS)
MANIFEST_UNTYPED = canon({k: v for k, v in json.loads(MANIFEST).items() if k != "mediaType"})
MANIFESTS = {}      # digest -> (bytes, media type)
TAG = None          # what tag "1" names


def add_manifest(b, mt=OCI_MANIFEST):
    MANIFESTS[digest(b)] = (b, mt)
    return b


def index_over(entry):
    e = dict(entry)
    e["platform"] = {"architecture": "amd64", "os": "linux"}
    return canon({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [e]})


# ---- per-case documents

def many_blobs(n):
    descs = []
    for i in range(n):
        b = b"blob %d\n" % i
        BLOBS[digest(b)] = b
        descs.append(desc(LAYER_MT, b))
    return descs


def tamper(field, value):
    d = dict(GOOD_LAYERS[0])
    d[field] = value
    return manifest_with([d, GOOD_LAYERS[1]])


def build():
    """The document tagged 1 for this case."""
    global TAG
    if CASE == "many-layers":
        # as many descriptors as fit under the 4 MiB cap (~27000)
        n = (4 * 1024 * 1024 - 1000) // (len(canon(GOOD_LAYERS[0])) + 1)
        TAG = add_manifest(manifest_with([GOOD_LAYERS[0]] * n))
    elif CASE == "many-duplicates":
        TAG = add_manifest(manifest_with([GOOD_LAYERS[0]] * 999 + [GOOD_LAYERS[1]]))
    elif CASE == "many-blobs":
        TAG = add_manifest(manifest_with(many_blobs(100)))
    elif CASE == "desc-negative":
        TAG = add_manifest(tamper("size", -1))
    elif CASE == "desc-max":
        TAG = add_manifest(tamper("size", 2**63 - 1))
    elif CASE == "desc-2p63":
        TAG = add_manifest(tamper("size", 2**63))
    elif CASE == "desc-wrong-size":
        TAG = add_manifest(tamper("size", GOOD_LAYERS[0]["size"] + 1))
    elif CASE == "desc-twice":
        d = dict(GOOD_LAYERS[0], size=GOOD_LAYERS[0]["size"] + 1)
        TAG = add_manifest(manifest_with(GOOD_LAYERS + [d]))
    elif CASE == "desc-bad-digest":
        TAG = add_manifest(tamper("digest", "sha256:../../../../etc/passwd"))
    elif CASE == "desc-wrong-digest":
        # the right size, the digest of other bytes, which the registry serves anyway
        other = digest(b"something else")
        BLOBS[other] = layers[0][0]
        TAG = add_manifest(tamper("digest", other))
    elif CASE == "json-deep":
        TAG = add_manifest(b"[" * 100000 + b"]" * 100000)
    elif CASE == "json-array":
        TAG = add_manifest(MANIFEST[:-1] + b',"annotations":{"x":[' + b"0," * 2000000 + b"0]}}")
    elif CASE == "json-string":
        TAG = add_manifest(MANIFEST[:-1] + b',"annotations":{"x":"' + b"x" * 4000000 + b'"}}')
    elif CASE == "index-chain":
        doc = add_manifest(MANIFEST)
        mt = OCI_MANIFEST
        for _ in range(10):
            doc = add_manifest(index_over(desc(mt, doc)), OCI_INDEX)
            mt = OCI_INDEX
        TAG = doc
    elif CASE == "index-loop":
        # an entry that names a digest whose bytes are the index itself again
        loop = digest(b"loop")
        top = index_over({"mediaType": OCI_INDEX, "digest": loop, "size": 0})
        top = index_over({"mediaType": OCI_INDEX, "digest": loop, "size": len(top)})
        MANIFESTS[loop] = (top, OCI_INDEX)
        TAG = add_manifest(top, OCI_INDEX)
    else:
        TAG = add_manifest(MANIFEST)
    add_manifest(MANIFEST)


build()


def log(h, path):
    auth = h.headers.get("Authorization", "-").split(" ")[0]
    append(LOG, "%s %s %s auth=%s ae=%s" % (h.headers.get("Host", "-"), h.command, path, auth,
                                            h.headers.get("Accept-Encoding", "-")))


def first_time(key):
    with lock:
        hits[key] = hits.get(key, 0) + 1
        return hits[key] == 1


class Registry(Handler):
    def handle(self):
        # A TLS ClientHello (the HTTPS probe) is turned away at once, except in tls-silent.
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":
            if CASE == "tls-silent":
                time.sleep(30)
            return
        super().handle()

    def raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def reply(self, status, body=b"", headers=(), ctype="application/json"):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.reply(status, canon({"errors": [{"code": code, "message": message}]}))

    def content(self, body, ctype, headers=()):
        """A 200, or a 206 for a Range, as a registry serves content."""
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                return self.reply(416, b"", [("Content-Range", "bytes */%d" % len(body))])
            return self.reply(206, body[start:], list(headers) + [
                ("Content-Range", "bytes %d-%d/%d" % (start, len(body) - 1, len(body)))], ctype)
        self.reply(200, body, headers, ctype)

    def do_GET(self):
        path = self.path
        log(self, path)
        host = self.headers.get("Host", "")
        if path.startswith("/token"):
            return self.token()
        if host.startswith("localhost:"):
            return self.elsewhere(path)
        if path == "/v2/":
            kind, ref = "ping", ""
        elif path.startswith("/v2/img/manifests/"):
            kind, ref = "manifest", path.rsplit("/", 1)[1]
        elif path.startswith("/v2/img/blobs/"):
            kind, ref = "blob", path.rsplit("/", 1)[1]
        else:
            return self.error(404, "NAME_UNKNOWN", "no such repository")
        fault = FAULTS.get(CASE)
        if fault and fault(self, kind, ref):
            return
        self.serve(kind, ref)

    def serve(self, kind, ref, headers=()):
        if kind == "ping":
            return self.reply(200, b"{}", [("Docker-Distribution-Api-Version", "registry/2.0")])
        if kind == "manifest":
            body, mt = MANIFESTS[digest(TAG)] if ref == "1" else MANIFESTS.get(ref, (None, None))
            if body is None:
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return self.content(body, mt, [("Docker-Content-Digest", digest(body))] + list(headers))
        body = BLOBS.get(ref)
        if body is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        return self.content(body, "application/octet-stream", headers)

    def elsewhere(self, path):
        """Blob storage on another host (localhost), where redirects lead."""
        if CASE == "redirect-401":
            return self.reply(401, b"", [("WWW-Authenticate",
                                          'Bearer realm="http://localhost:%d/token",service=x' % PORT)])
        ref = path.rsplit("/", 1)[1]
        self.serve("blob", ref)

    def token(self):
        if CASE == "token-huge":
            return self.reply(200, b'{"token":"' + b"t" * 2000000 + b'"}')
        if CASE == "token-not-json":
            return self.reply(200, b"<html>this is not a token</html>", ctype="text/html")
        if CASE == "token-missing":
            return self.reply(200, b'{"expires_in":60}')
        if CASE == "token-crlf":
            return self.reply(200, b'{"token":"abc\\r\\nX-Injected: 1"}')
        if CASE == "token-redirect":
            return self.reply(302, b"", [("Location", "http://localhost:%d/token" % PORT)])
        if CASE == "token-slow":
            time.sleep(30)
            return
        ttl = b"1e30" if CASE == "token-ttl-huge" else b"300"
        self.reply(200, b'{"token":"good-token","expires_in":' + ttl + b'}')


# ---- the faults: f(handler, kind, ref) -> True when it answered

def on(kinds, answer):
    def fault(h, kind, ref):
        if kind in kinds:
            answer(h, kind, ref)
            return True
        return False
    return fault


def once(kinds, answer):
    def fault(h, kind, ref):
        if kind in kinds and first_time(kind + ref):
            answer(h, kind, ref)
            return True
        return False
    return fault


def header_digest(value):
    def answer(h, kind, ref):
        h.reply(200, TAG, [("Docker-Content-Digest", value(TAG))], OCI_MANIFEST)
    return answer


def drip(data, then_close=True):
    def answer(h, kind, ref):
        for i in range(len(data)):
            h.wfile.write(data[i:i + 1])
            h.wfile.flush()
            time.sleep(1)
        h.close_connection = then_close
    return answer


def hang(h, kind, ref):
    time.sleep(30)
    h.close_connection = True


def body_of(kind, ref):
    return TAG if kind == "manifest" else BLOBS[ref]


def length_lie(delta):
    def answer(h, kind, ref):
        body = body_of(kind, ref)
        head = b"Docker-Content-Digest: %s\r\n" % digest(body).encode() if kind == "manifest" else b""
        h.raw(b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n" % (head, len(body) + delta) + body)
    return answer


def challenge(value, kinds=("ping", "manifest", "blob")):
    def fault(h, kind, ref):
        if kind in kinds and not h.headers.get("Authorization"):
            h.reply(401, canon({"errors": [{"code": "UNAUTHORIZED", "message": "authenticate"}]}),
                    [("WWW-Authenticate", value)])
            return True
        return False
    return fault


def bearer(realm):
    return 'Bearer realm="%s",service="faults",scope="repository:img:pull"' % realm


TOKEN_REALM = bearer("http://127.0.0.1:%d/token" % PORT)


def gzipped(h, kind, ref):
    body = gzip.compress(BLOBS[ref], mtime=0)
    h.reply(200, body, [("Content-Encoding", "gzip")], "application/octet-stream")


FAULTS = {
    # the Docker-Content-Digest header, on /v2/ and on manifests
    "digest-upper": lambda h, kind, ref: kind in ("ping", "manifest") and (
        h.reply(200, TAG if kind == "manifest" else b"{}",
                [("Docker-Content-Digest", digest(TAG).upper())], OCI_MANIFEST) or True),
    "digest-junk": on(["manifest"], header_digest(lambda b: "sha256:\x1b[31mpwned\x07")),
    "digest-other": on(["manifest"], header_digest(lambda b: digest(b"other bytes"))),
    # replies cut off, held, dripped
    "cut-headers": on(["manifest"], lambda h, k, r: h.raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Le")),
    "cut-headers-once": once(["manifest"], lambda h, k, r: h.raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")),
    "hang": on(["manifest"], hang),
    "hang-blob": on(["blob"], hang),
    "drip-headers": on(["manifest"], drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 5)),
    "drip-manifest": on(["manifest"], lambda h, k, r: drip(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(TAG), False)(h, k, r)),
    "drip-blob": on(["blob"], lambda h, k, r: (
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BLOBS[r])),
        drip(BLOBS[r])(h, k, r))),
    "tls-silent": None,
    # limits on waiting
    "retry-after-long": on(["manifest"], lambda h, k, r: h.reply(
        429, b"slow down\n", [("Retry-After", "3600")], "text/plain")),
    "retry-after-date": on(["blob"], lambda h, k, r: h.reply(
        429, b"slow down\n", [("Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT")], "text/plain")),
    "retry-after-1": on(["blob"], lambda h, k, r: h.reply(
        429, b"slow down\n", [("Retry-After", "1")], "text/plain")),
    "retry-after-junk": on(["manifest"], lambda h, k, r: h.reply(
        503, b"", [("Retry-After", "banana")], "text/plain")),
    # headers too big
    "huge-header": on(["manifest"], lambda h, k, r: h.raw(
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 1000000 + b"\r\nContent-Length: 2\r\n\r\n{}")),
    "endless-headers": on(["manifest"], lambda h, k, r: h.raw(
        b"HTTP/1.1 200 OK\r\n" + b"X-More: " + b"m" * 1000 + b"\r\n" * 1 + b"".join(
            b"X-More-%d: %s\r\n" % (i, b"m" * 1000) for i in range(2000)))),
    # bodies that are not what the descriptor says
    "blob-short": on(["blob"], lambda h, k, r: h.reply(200, BLOBS[r][:-3], ctype="application/octet-stream")),
    "blob-long": on(["blob"], lambda h, k, r: h.reply(200, BLOBS[r] + b"tail", ctype="application/octet-stream")),
    "length-long": on(["manifest", "blob"], length_lie(+100)),
    "length-short": on(["manifest"], length_lie(-10)),
    "chunked-bad": on(["blob"], lambda h, k, r: h.raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n")),
    "gzip": on(["blob"], gzipped),
    "encoding-unknown": on(["blob"], lambda h, k, r: h.reply(
        200, BLOBS[r], [("Content-Encoding", "x-squash")], "application/octet-stream")),
    # redirects
    "redirect-loop": on(["blob"], lambda h, k, r: h.reply(
        307, b"", [("Location", "/v2/img/blobs/" + r)])),
    "redirect-file": on(["blob"], lambda h, k, r: h.reply(302, b"", [("Location", "file:///etc/passwd")])),
    "redirect-ftp": on(["blob"], lambda h, k, r: h.reply(302, b"", [("Location", "ftp://127.0.0.1/x")])),
    "redirect-elsewhere": on(["blob"], lambda h, k, r: h.reply(
        307, b"", [("Location", "http://localhost:%d/storage/%s" % (PORT, r))])),
    "redirect-401": on(["blob"], lambda h, k, r: h.reply(
        307, b"", [("Location", "http://localhost:%d/storage/%s" % (PORT, r))])),
    # authentication challenges and token services
    "auth-basic": challenge('Basic realm="faults"'),
    "auth-negotiate": challenge("Negotiate"),
    "auth-scheme-long": challenge("X" * 100 + ' realm="x"'),
    "auth-huge": challenge(bearer("http://127.0.0.1:%d/token" % PORT) + ",x=" + "y" * 90000),
    "auth-unterminated": challenge('Bearer realm="http://127.0.0.1:%d/token' % PORT),
    "auth-no-realm": challenge('Bearer service="faults"'),
    "auth-realm-file": challenge(bearer("file:///etc/passwd")),
    "auth-realm-plain-remote": challenge(bearer("http://registry.example.invalid/token")),
    "auth-realm-elsewhere": challenge(bearer("http://localhost:%d/token" % PORT)),
    "token-huge": challenge(TOKEN_REALM),
    "token-not-json": challenge(TOKEN_REALM),
    "token-missing": challenge(TOKEN_REALM),
    "token-crlf": challenge(TOKEN_REALM),
    "token-redirect": challenge(TOKEN_REALM),
    "token-slow": challenge(TOKEN_REALM),
    "token-ttl-huge": challenge(TOKEN_REALM),
    # words for the terminal
    "content-type-ctl": on(["manifest"], lambda h, k, r: h.reply(
        200, MANIFEST_UNTYPED, [("Docker-Content-Digest", digest(MANIFEST_UNTYPED))],
        OCI_MANIFEST + "\x1b[31m")),
    "control-chars": on(["manifest"], lambda h, k, r: h.error(
        404, "MANIFEST_UNKNOWN", "\x1b]2;pwned\x07\x1b[2J\x1b[31mred")),
    "location-inject": lambda h, k, r: k == "blob" and r in BLOBS and (h.reply(
        302, b"", [("Location", "/v2/img/blobs/%0d%0aAuthorization:%20Basic%20eA==")]) or True),
}


def ready():
    with open(LOG + ".ready", "w") as f:
        f.write(GOOD_LAYERS[0]["digest"] + "\n")   # a blob for --blob


serve(PORT, Registry, ready)
