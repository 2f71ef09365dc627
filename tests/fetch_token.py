#!/usr/bin/python3
"""A token service for docker-registry's "auth: token", for oci-fetch's tests.

    fetch_token.py PORT KEY CERT LOG

GET /token?service=…&scope=repository:NAME:pull answers Docker's token
protocol: {"token": …, "access_token": …, "expires_in": …}.  The token is a
JWT signed with KEY, with CERT in its x5c header, so that a registry whose
rootcertbundle is CERT trusts it.  Anyone may pull repositories under
"public/"; the user in $TOKEN_USER ("name:password", sent as Basic) may
pull and push anything.  $TOKEN_TTL sets expires_in (default 300).  Each request
is logged to LOG as "token scope=… user=…".

POST /token with grant_type=refresh_token (distribution's OAuth2 token
authentication, what docker does with an identity token) gives the same token
for the refresh token $TOKEN_REFRESH ("alice-refresh-token", standing for that
user) and 401 for any other; it is logged as "token scope=… user=…
grant=refresh_token".  A refresh token in the URL is refused with 400.
"""
import base64
import json
import os
import sys
import time
import uuid
from urllib.parse import parse_qs, urlparse

import jwt

from http_helper import Handler, append, serve

PORT, KEY, CERT, LOG = int(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]
USER = os.environ.get("TOKEN_USER", "alice:wonderland")
REFRESH = os.environ.get("TOKEN_REFRESH", "alice-refresh-token")
with open(CERT) as f:
    pem = f.read()
X5C = "".join(pem.split("-----")[2].split())  # the certificate's DER, base64


class Tokens(Handler):
    def reply(self, status, doc):
        self.answer(status, [("Content-Type", "application/json")], json.dumps(doc).encode())

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
        if "refresh_token" in parse_qs(urlparse(self.path).query):
            return self.reply(400, {"details": "a refresh token belongs in the form, not the URL"})
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [REFRESH]:
            append(LOG, "token refused grant=%s" % ",".join(form.get("grant_type", [])))
            return self.reply(401, {"details": "unknown refresh token"})
        self.grant(form, USER.split(":")[0], " grant=refresh_token")

    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            given = base64.b64decode(auth[6:]).decode()
            if given != USER:
                append(LOG, "token refused user=%s" % given.split(":")[0])
                return self.reply(401, {"details": "wrong user name or password"})
            user = given.split(":")[0]
        self.grant(q, user, "")

    def grant(self, q, user, note):
        access = []
        for scope in q.get("scope", []):
            kind, name, actions = scope.split(":")
            if kind == "repository" and user:
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            elif kind == "repository" and name.startswith("public/"):
                access.append({"type": kind, "name": name, "actions": ["pull"]})
        append(LOG, "token scope=%s user=%s%s" % (",".join(q.get("scope", [])), user or "anonymous", note))
        try:
            ttl = int(open(LOG + ".ttl").read())
        except OSError:
            ttl = 300
        now = int(time.time())
        claims = {"iss": "oci-test-issuer", "sub": user or "", "aud": q.get("service", [""])[0],
                  "exp": now + ttl, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex,
                  "access": access}
        token = jwt.encode(claims, KEY, algorithm="RS256", headers={"x5c": [X5C]})
        self.reply(200, {"token": token, "access_token": token, "expires_in": ttl})


serve(PORT, Tokens)
