#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A tiny registry for tests: the OCI distribution endpoints the client
uses, in memory, on 127.0.0.1 (port 0).  Auth: none, basic, or the bearer
token flow (a /token realm that checks basic credentials).  Faults on
demand: fail the Nth PATCH after taking part of its body (resumable
uploads), corrupt a blob, count mounts.

    r = Registry(auth="token", user="u", password="p"); r.start(); ...
"""
import base64
import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = r"(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
ROUTES = [
    ("manifest", re.compile(r"^/v2/" + NAME + r"/manifests/(?P<ref>[^/]+)$")),
    ("upload", re.compile(r"^/v2/" + NAME + r"/blobs/uploads/(?P<uuid>[0-9a-f-]*)$")),
    ("blob", re.compile(r"^/v2/" + NAME + r"/blobs/(?P<digest>sha256:[0-9a-f]{64})$")),
    ("tags", re.compile(r"^/v2/" + NAME + r"/tags/list$")),
]


class Registry:
    def __init__(self, auth=None, user="u", password="p"):
        self.auth, self.user, self.password = auth, user, password
        self.blobs = {}        # digest -> bytes (global, repos share)
        self.repo_blobs = {}   # name -> set(digest)
        self.manifests = {}    # (name, ref) -> (content type, bytes)
        self.uploads = {}      # uuid -> (name, bytearray)
        self.stats = {"mounts": 0, "patches": 0, "blob_gets": 0, "tokens": 0,
                      "manifest_puts": 0, "failed_patches": 0}
        self.fail_patch = 0    # fail the Nth PATCH (1-based), 0: never
        self.corrupt = set()   # digests served with a flipped byte
        self.lock = threading.Lock()
        self.tokens = set()

    # -- helpers for tests ------------------------------------------------
    def put_manifest(self, name, ref, ctype, body):
        with self.lock:
            self.manifests[(name, ref)] = (ctype, body)
            self.manifests[(name, "sha256:" + hashlib.sha256(body).hexdigest())] = (ctype, body)

    def put_blob(self, name, data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.lock:
            self.blobs[d] = data
            self.repo_blobs.setdefault(name, set()).add(d)
        return d

    def start(self):
        reg = self

        class H(Handler):
            registry = reg
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = "127.0.0.1:%d" % self.port
        t = threading.Thread(target=self.server.serve_forever, daemon=True)
        t.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    registry = None

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", headers=None, ctype=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, code, ecode, msg, headers=None):
        body = json.dumps({"errors": [{"code": ecode, "message": msg}]}).encode()
        self.send(code, body, headers, "application/json")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        r = self.registry
        h = self.headers.get("Authorization", "")
        if r.auth is None:
            return True
        if r.auth == "basic":
            want = "Basic " + base64.b64encode(("%s:%s" % (r.user, r.password)).encode()).decode()
            if h == want:
                return True
            self.error(401, "UNAUTHORIZED", "authentication required",
                       {"WWW-Authenticate": 'Basic realm="test"'})
            return False
        if h.startswith("Bearer ") and h[7:] in r.tokens:
            return True
        self.error(401, "UNAUTHORIZED", "authentication required",
                   {"WWW-Authenticate": 'Bearer realm="http://%s/token",service="test"' % r.host})
        return False

    def token(self):
        r = self.registry
        want = "Basic " + base64.b64encode(("%s:%s" % (r.user, r.password)).encode()).decode()
        if self.headers.get("Authorization") != want:
            return self.error(401, "UNAUTHORIZED", "bad credentials")
        t = uuid.uuid4().hex
        with r.lock:
            r.tokens.add(t)
            r.stats["tokens"] += 1
        self.send(200, json.dumps({"token": t}).encode(), ctype="application/json")

    def route(self):
        path, _, query = self.path.partition("?")
        q = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/token":
            return self.token()
        if path == "/_stats":
            return self.send(200, json.dumps(self.registry.stats).encode())
        if not self.authorized():
            return
        if path in ("/v2/", "/v2"):
            return self.send(200, b"{}", ctype="application/json")
        for kind, rx in ROUTES:
            m = rx.match(path)
            if m:
                return getattr(self, "do_" + kind)(m, q)
        self.error(404, "NOT_FOUND", "no route " + path)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = route

    def do_manifest(self, m, q):
        r, name, ref = self.registry, m["name"], m["ref"]
        if self.command == "PUT":
            body = self.body()
            ctype = self.headers.get("Content-Type", "")
            doc = json.loads(body)
            for d in [doc.get("config")] + doc.get("layers", []) + doc.get("manifests", []):
                if d and d["digest"] not in r.blobs and ("manifests" not in doc):
                    return self.error(400, "MANIFEST_BLOB_UNKNOWN", d["digest"])
            r.put_manifest(name, ref, ctype, body)
            with r.lock:
                r.stats["manifest_puts"] += 1
            d = "sha256:" + hashlib.sha256(body).hexdigest()
            return self.send(201, b"", {"Docker-Content-Digest": d,
                                        "Location": "/v2/%s/manifests/%s" % (name, d)})
        with r.lock:
            got = r.manifests.get((name, ref))
        if not got:
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        ctype, body = got
        d = "sha256:" + hashlib.sha256(body).hexdigest()
        self.send(200, body, {"Docker-Content-Digest": d}, ctype)

    def do_blob(self, m, q):
        r, name, d = self.registry, m["name"], m["digest"]
        with r.lock:
            data = r.blobs.get(d) if d in r.repo_blobs.get(name, ()) else None
            if self.command == "GET":
                r.stats["blob_gets"] += 1
        if data is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        if d in r.corrupt and data:
            data = bytes([data[0] ^ 0xff]) + data[1:]
        self.send(200, data, {"Docker-Content-Digest": d}, "application/octet-stream")

    def do_upload(self, m, q):
        r, name, u = self.registry, m["name"], m["uuid"]
        if self.command == "POST" and not u:
            self.body()
            if "mount" in q and "from" in q:
                with r.lock:
                    if q["mount"] in r.repo_blobs.get(q["from"], ()):
                        r.repo_blobs.setdefault(name, set()).add(q["mount"])
                        r.stats["mounts"] += 1
                        return self.send(201, b"", {"Docker-Content-Digest": q["mount"],
                                                    "Location": "/v2/%s/blobs/%s" % (name, q["mount"])})
            u = str(uuid.uuid4())
            with r.lock:
                r.uploads[u] = (name, bytearray())
            return self.send(202, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (name, u),
                                        "Range": "0-0", "Docker-Upload-UUID": u})
        with r.lock:
            up = r.uploads.get(u)
        if not up or up[0] != name:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
        buf = up[1]
        loc = {"Location": "/v2/%s/blobs/uploads/%s" % (name, u), "Docker-Upload-UUID": u}
        if self.command == "GET":
            return self.send(204, b"", dict(loc, Range="0-%d" % (len(buf) - 1)))
        if self.command == "PATCH":
            data = self.body()
            cr = self.headers.get("Content-Range")
            if cr:
                start = int(cr.split("-")[0])
                if start != len(buf):
                    return self.error(416, "BLOB_UPLOAD_INVALID", "range %s, have %d" % (cr, len(buf)),
                                      dict(loc, Range="0-%d" % (len(buf) - 1)))
            with r.lock:
                r.stats["patches"] += 1
                fail = r.fail_patch and r.stats["patches"] == r.fail_patch
            if fail:
                # take half the chunk, then fail: the client must resume
                buf.extend(data[:len(data) // 2])
                with r.lock:
                    r.stats["failed_patches"] += 1
                return self.error(500, "UNKNOWN", "injected failure")
            buf.extend(data)
            return self.send(202, b"", dict(loc, Range="0-%d" % (len(buf) - 1)))
        if self.command == "PUT":
            buf.extend(self.body())
            d = "sha256:" + hashlib.sha256(bytes(buf)).hexdigest()
            if q.get("digest") != d:
                return self.error(400, "DIGEST_INVALID", "have %s" % d)
            with r.lock:
                r.blobs[d] = bytes(buf)
                r.repo_blobs.setdefault(name, set()).add(d)
                del r.uploads[u]
            return self.send(201, b"", {"Docker-Content-Digest": d,
                                        "Location": "/v2/%s/blobs/%s" % (name, d)})
        self.error(405, "UNSUPPORTED", self.command)

    def do_tags(self, m, q):
        r, name = self.registry, m["name"]
        with r.lock:
            tags = sorted({ref for (n, ref) in r.manifests if n == name and not ref.startswith("sha256:")})
        self.send(200, json.dumps({"name": name, "tags": tags}).encode(), ctype="application/json")
