#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The built-in registry of a real kubed against the OCI distribution
spec v1.1, in the four categories of the OCI conformance suite (pull,
push, content discovery, content management), plus what the spec leaves
to us: bad input (names with "..", wrong digests, truncated and broken-off
uploads, huge manifests) gets a spec error and leaves nothing
half-written; a pushed image is in the store at once.  No root needed.

usage: test_registry_conformance.py KUBED KUBE"""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

KUBED = os.path.abspath(sys.argv[1])
KUBE = os.path.abspath(sys.argv[2])
passed = failed = 0


def check(ok, what, detail=None):
    global passed, failed
    if ok:
        passed += 1
        print("ok", what)
    else:
        failed += 1
        print("FAIL", what, "" if detail is None else detail)


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Resp:
    def __init__(self, r):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.getheaders()}
        self.body = r.read()

    def h(self, name):
        return self.headers.get(name.lower())

    def code(self):
        try:
            return json.loads(self.body)["errors"][0]["code"]
        except Exception:
            return None

    def __repr__(self):
        return "%d %s %r" % (self.status, self.headers, self.body[:300])


def req(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = Resp(c.getresponse())
    c.close()
    return r


def raw(data, wait_reply=True):
    """Send raw bytes, then close (a client that gives up mid-body)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.sendall(data)
    out = b""
    if wait_reply:
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
    s.close()
    return out


def push_blob(repo, data):
    d = sha(data)
    r = req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), data,
            {"Content-Type": "application/octet-stream"})
    return d, r


def manifest(config, layers, subject=None, artifact_type=None):
    m = {"schemaVersion": 2,
         "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha(config), "size": len(config)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                     "digest": sha(l), "size": len(l)} for l in layers]}
    if subject:
        m["subject"] = subject
    if artifact_type:
        m["artifactType"] = artifact_type
    return json.dumps(m).encode()


MT = "application/vnd.oci.image.manifest.v1+json"


def put_manifest(repo, ref, body, ctype=MT):
    return req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body,
               {"Content-Type": ctype})


def uploads_left():
    return sorted(os.listdir(os.path.join(data, "images.d", "uploads")))


def blob_file(d):
    return os.path.join(data, "images", "blobs", "sha256", d[7:])


tmp = tempfile.mkdtemp(prefix="kube-regconf-")
data = os.path.join(tmp, "data")
PORT = free_port()
TLS_PORT = free_port()
log = open(os.path.join(tmp, "kubed.log"), "w")
proc = subprocess.Popen(
    [KUBED, "server", "--data-dir", data, "--store", "memory",
     "--listen", "unix:" + os.path.join(tmp, "kubed.sock"), "--no-scheduler",
     "--no-node",
     "--registry-listen", "tcp:127.0.0.1:%d" % PORT,
     # a wildcard listener is not loopback: TLS and the token (the test
     # talks to it over loopback all the same)
     "--registry-listen", "tcp:0.0.0.0:%d" % TLS_PORT],
    stdout=log, stderr=subprocess.STDOUT)
try:
    for _ in range(200):
        try:
            if req("GET", "/v2/").status == 200:
                break
        except OSError:
            time.sleep(0.05)
    r = req("GET", "/v2/")
    check(r.status == 200 and r.h("Docker-Distribution-API-Version") == "registry/2.0",
          "GET /v2/ answers 200 with the API version header", r)

    # ---------------------------------------------------------------- push
    layer_a = os.urandom(3000)
    layer_b = os.urandom(70000)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha(layer_a), sha(layer_b)]}}).encode()
    d_cfg, r = push_blob("conf/app", config)
    check(r.status == 201 and r.h("Location") == "/v2/conf/app/blobs/" + d_cfg and
          r.h("Docker-Content-Digest") == d_cfg, "monolithic POST ?digest= gives 201 + Location", r)

    # POST then PUT with the whole body
    r = req("POST", "/v2/conf/app/blobs/uploads/")
    loc = r.h("Location")
    check(r.status == 202 and loc and loc.startswith("/v2/conf/app/blobs/uploads/") and
          r.h("Docker-Upload-UUID"), "POST opens an upload session (202, Location)", r)
    d_a = sha(layer_a)
    r = req("PUT", "%s?digest=%s" % (loc, d_a), layer_a,
            {"Content-Type": "application/octet-stream"})
    check(r.status == 201 and r.h("Docker-Content-Digest") == d_a, "POST + PUT monolithic upload", r)

    # chunked: PATCH, PATCH, status, PUT
    r = req("POST", "/v2/conf/app/blobs/uploads/")
    loc = r.h("Location")
    c1, c2 = layer_b[:40000], layer_b[40000:]
    r = req("PATCH", loc, c1, {"Content-Type": "application/octet-stream",
                               "Content-Range": "0-%d" % (len(c1) - 1),
                               "Content-Length": str(len(c1))})
    check(r.status == 202 and r.h("Range") == "0-%d" % (len(c1) - 1), "PATCH chunk 1 (Range 0-39999)", r)
    loc = r.h("Location") or loc
    r = req("PATCH", loc, c2, {"Content-Range": "10-%d" % (10 + len(c2) - 1)})
    check(r.status == 416 and r.h("Range") == "0-%d" % (len(c1) - 1),
          "an out-of-order chunk is refused with 416 and the current Range", r)
    r = req("PATCH", loc, c2, {"Content-Range": "%d-%d" % (len(c1), len(c1) + 9),
                               "Content-Length": str(len(c2))})
    check(r.status == 400 and r.code() == "SIZE_INVALID",
          "Content-Length disagreeing with Content-Range: 400 SIZE_INVALID", r)
    # a chunk that breaks off half way is dropped whole: resumable
    hdr = ("PATCH %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
           "Content-Range: %d-%d\r\nContent-Length: %d\r\n\r\n"
           % (loc, len(c1), len(layer_b) - 1, len(c2))).encode()
    raw(hdr + c2[:1000], wait_reply=False)
    time.sleep(0.3)
    r = req("GET", loc)
    check(r.status == 204 and r.h("Range") == "0-%d" % (len(c1) - 1),
          "after a chunk broke off the session still ends at the last whole chunk", r)
    r = req("PATCH", loc, c2, {"Content-Range": "%d-%d" % (len(c1), len(layer_b) - 1)})
    check(r.status == 202 and r.h("Range") == "0-%d" % (len(layer_b) - 1), "the chunk resent", r)
    d_b = sha(layer_b)
    r = req("PUT", "%s?digest=%s" % (loc, d_b))
    check(r.status == 201 and r.h("Docker-Content-Digest") == d_b, "PUT closes a chunked upload", r)
    check(uploads_left() == [], "no session files left after the uploads", uploads_left())

    # chunked transfer encoding on PATCH (podman's way)
    r = req("POST", "/v2/conf/app/blobs/uploads/")
    loc = r.h("Location")
    layer_c = os.urandom(100000)
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.putrequest("PATCH", loc)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    for i in range(0, len(layer_c), 30000):
        piece = layer_c[i:i + 30000]
        c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    c.send(b"0\r\n\r\n")
    r = Resp(c.getresponse())
    c.close()
    check(r.status == 202 and r.h("Range") == "0-%d" % (len(layer_c) - 1), "PATCH with a chunked body", r)
    r = req("PUT", "%s?digest=%s" % (r.h("Location"), sha(layer_c)))
    check(r.status == 201, "PUT after a chunked-encoding PATCH", r)

    # bad uploads
    r = req("POST", "/v2/conf/app/blobs/uploads/")
    loc = r.h("Location")
    wrong = sha(b"something else")
    r = req("PUT", "%s?digest=%s" % (loc, wrong), b"the real content")
    check(r.status == 400 and r.code() == "DIGEST_INVALID", "a wrong digest: 400 DIGEST_INVALID", r)
    check(not os.path.exists(blob_file(wrong)) and not os.path.exists(blob_file(sha(b"the real content"))),
          "a wrong digest stores nothing")
    r = req("GET", loc)
    check(r.status == 404 and r.code() == "BLOB_UPLOAD_UNKNOWN", "the failed session is gone", r)
    r = req("PUT", "%s?digest=sha256:zz" % loc, b"x")
    check(r.status == 400 and r.code() == "DIGEST_INVALID", "a malformed digest: DIGEST_INVALID", r)
    trunc = os.urandom(5000)
    raw(("POST /v2/conf/app/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: x\r\n"
         "Content-Length: %d\r\n\r\n" % (sha(trunc), len(trunc))).encode() + trunc[:2000],
        wait_reply=False)
    time.sleep(0.3)
    check(not os.path.exists(blob_file(sha(trunc))) and uploads_left() == [],
          "a truncated monolithic upload leaves no blob and no session", uploads_left())
    r = req("GET", "/v2/conf/app/blobs/uploads/" + "0" * 32)
    check(r.status == 404 and r.code() == "BLOB_UPLOAD_UNKNOWN", "unknown session: BLOB_UPLOAD_UNKNOWN", r)
    r = req("GET", "/v2/conf/app/blobs/uploads/../../x")
    check(r.status in (400, 404), "a session id with .. is refused", r)
    r = req("POST", "/v2/conf/other/blobs/uploads/")
    other_loc = r.h("Location")
    r = req("PATCH", loc.replace("conf/app", "conf/other") if False else
            other_loc.replace("conf/other", "conf/app"), b"abc")
    check(r.status == 404 and r.code() == "BLOB_UPLOAD_UNKNOWN",
          "a session is not reachable through another repository", r)
    req("DELETE", other_loc)

    # manifests
    body = manifest(config, [layer_a, layer_b])
    r = put_manifest("conf/app", "v1", body)
    d_m = sha(body)
    check(r.status == 201 and r.h("Docker-Content-Digest") == d_m and
          r.h("Location") == "/v2/conf/app/manifests/" + d_m, "PUT manifest by tag: 201", r)
    r = put_manifest("conf/app", d_m, body)
    check(r.status == 201, "PUT manifest by its digest: 201", r)
    missing = manifest(config, [layer_a, b"never pushed"])
    r = put_manifest("conf/app", "broken", missing)
    check(r.status == 400 and r.code() == "MANIFEST_BLOB_UNKNOWN",
          "a manifest with a missing layer: MANIFEST_BLOB_UNKNOWN", r)
    r = put_manifest("conf/app", "bad", b"{not json")
    check(r.status == 400 and r.code() == "MANIFEST_INVALID", "invalid JSON: MANIFEST_INVALID", r)
    r = put_manifest("conf/app", "bad", body, "application/vnd.oci.image.index.v1+json")
    check(r.status == 400 and r.code() == "MANIFEST_INVALID",
          "Content-Type disagreeing with mediaType: MANIFEST_INVALID", r)
    r = put_manifest("conf/app", sha(b"other"), body)
    check(r.status == 400 and r.code() == "DIGEST_INVALID", "PUT by a digest it does not hash to", r)
    huge = b'{"schemaVersion":2,"x":"' + b"a" * (5 << 20) + b'"}'
    r = put_manifest("conf/app", "huge", huge)
    check(r.status == 413 and r.code() == "SIZE_INVALID", "a 5 MiB manifest: 413", r)
    r = put_manifest("conf/app", "-badtag", body)
    check(r.status == 400 and r.code() == "MANIFEST_INVALID", "an invalid tag: MANIFEST_INVALID", r)
    for bad in ("/v2/../etc/manifests/latest", "/v2/conf/../app/manifests/v1",
                "/v2/Conf/app/manifests/v1", "/v2/conf//app/manifests/v1",
                "/v2/%2e%2e/x/manifests/v1"):
        r = req("GET", bad)
        check(r.status == 400 and r.code() == "NAME_INVALID", "NAME_INVALID for " + bad, r)
    check(sorted(os.listdir(os.path.join(data, "images", "blobs", "sha256"))) ==
          sorted(x[7:] for x in {d_cfg, d_a, d_b, sha(layer_c), d_m}),
          "only the accepted blobs and manifest are in the store")

    # a pushed image is in the store at once
    p = subprocess.run([KUBE, "image", "inspect", "docker.io/conf/app:v1", "--data-dir", data],
                       capture_output=True, text=True)
    check(p.returncode == 0 and d_m in p.stdout, "the pushed tag is a store image at once",
          p.stdout[-300:] + p.stderr)

    # ---------------------------------------------------------------- pull
    for method in ("GET", "HEAD"):
        for ref in ("v1", d_m):
            r = req(method, "/v2/conf/app/manifests/" + ref,
                    headers={"Accept": MT})
            ok = (r.status == 200 and r.h("Docker-Content-Digest") == d_m and
                  r.h("Content-Type") == MT and r.h("Content-Length") == str(len(body)) and
                  r.body == (body if method == "GET" else b""))
            check(ok, "%s manifest by %s" % (method, "tag" if ref == "v1" else "digest"), r)
    r = req("GET", "/v2/conf/app/manifests/nope")
    check(r.status == 404 and r.code() == "MANIFEST_UNKNOWN", "unknown tag: MANIFEST_UNKNOWN", r)
    r = req("GET", "/v2/conf/app/manifests/" + sha(b"nothing"))
    check(r.status == 404 and r.code() == "MANIFEST_UNKNOWN", "unknown digest: MANIFEST_UNKNOWN", r)
    r = req("GET", "/v2/conf/nothere/manifests/v1")
    check(r.status == 404, "a manifest of an unknown repository: 404", r)
    r = req("GET", "/v2/conf/app/blobs/" + d_b)
    check(r.status == 200 and r.body == layer_b and r.h("Docker-Content-Digest") == d_b, "GET blob", r)
    r = req("HEAD", "/v2/conf/app/blobs/" + d_b)
    check(r.status == 200 and r.h("Content-Length") == str(len(layer_b)) and r.body == b"", "HEAD blob", r)
    r = req("GET", "/v2/conf/app/blobs/" + d_b, headers={"Range": "bytes=10-19"})
    check(r.status == 206 and r.body == layer_b[10:20] and
          r.h("Content-Range") == "bytes 10-19/%d" % len(layer_b), "Range bytes=10-19: 206", r)
    r = req("GET", "/v2/conf/app/blobs/" + d_b, headers={"Range": "bytes=-5"})
    check(r.status == 206 and r.body == layer_b[-5:], "Range bytes=-5 (suffix)", r)
    r = req("GET", "/v2/conf/app/blobs/" + d_b, headers={"Range": "bytes=%d-" % (len(layer_b) + 5)})
    check(r.status == 416, "an unsatisfiable range: 416", r)
    r = req("GET", "/v2/conf/app/blobs/" + sha(b"nope"))
    check(r.status == 404 and r.code() == "BLOB_UNKNOWN", "unknown blob: BLOB_UNKNOWN", r)
    r = req("GET", "/v2/conf/stranger/blobs/" + d_b)
    check(r.status == 404 and r.code() == "BLOB_UNKNOWN", "a blob is not visible in a repository that lacks it", r)
    r = req("GET", "/v2/conf/app/blobs/sha256:1234")
    check(r.status == 400 and r.code() == "DIGEST_INVALID", "a malformed blob digest: DIGEST_INVALID", r)
    # keep-alive: several requests on one connection
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    ok = True
    for _ in range(3):
        c.request("GET", "/v2/conf/app/blobs/" + d_a)
        rr = c.getresponse()
        ok = ok and rr.read() == layer_a
    c.close()
    check(ok, "three blob GETs on one keep-alive connection")

    # cross-repository mount
    r = req("POST", "/v2/conf/mounted/blobs/uploads/?mount=%s&from=conf/app" % d_b)
    check(r.status == 201 and r.h("Location") == "/v2/conf/mounted/blobs/" + d_b, "mount from conf/app: 201", r)
    r = req("HEAD", "/v2/conf/mounted/blobs/" + d_b)
    check(r.status == 200, "the mounted blob is visible", r)
    r = req("POST", "/v2/conf/mounted/blobs/uploads/?mount=%s&from=conf/stranger" % d_a)
    check(r.status == 202 and r.h("Location"), "mount from a repository without it: a new session (202)", r)
    req("DELETE", r.h("Location"))

    # ---------------------------------------------------- content discovery
    for t in ("a", "c", "b", "e", "d"):
        check(put_manifest("conf/tags", t, body).status == 201 or
              (push_blob("conf/tags", config), push_blob("conf/tags", layer_a),
               push_blob("conf/tags", layer_b), put_manifest("conf/tags", t, body))[-1].status == 201,
              "tag conf/tags:" + t)
    r = req("GET", "/v2/conf/tags/tags/list")
    check(r.status == 200 and json.loads(r.body) == {"name": "conf/tags", "tags": ["a", "b", "c", "d", "e"]},
          "tags/list sorted", r)
    r = req("GET", "/v2/conf/tags/tags/list?n=2")
    check(r.status == 200 and json.loads(r.body)["tags"] == ["a", "b"] and
          'rel="next"' in (r.h("Link") or "") and "last=b" in r.h("Link"), "tags/list?n=2 with a Link", r)
    r = req("GET", "/v2/conf/tags/tags/list?n=2&last=b")
    check(r.status == 200 and json.loads(r.body)["tags"] == ["c", "d"], "tags/list?n=2&last=b", r)
    r = req("GET", "/v2/conf/tags/tags/list?last=d")
    check(json.loads(r.body)["tags"] == ["e"] and not r.h("Link"), "tags/list?last=d: the rest, no Link", r)
    r = req("GET", "/v2/conf/tags/tags/list?n=0")
    check(r.status == 200 and json.loads(r.body)["tags"] == [], "tags/list?n=0", r)
    r = req("GET", "/v2/conf/none/tags/list")
    check(r.status == 404 and r.code() == "NAME_UNKNOWN", "tags of an unknown repository: NAME_UNKNOWN", r)
    r = req("GET", "/v2/_catalog")
    repos = json.loads(r.body).get("repositories", [])
    check(r.status == 200 and {"conf/app", "conf/tags", "conf/mounted"} <= set(repos) and repos == sorted(repos),
          "_catalog lists the repositories, sorted", r)
    r = req("GET", "/v2/_catalog?n=1")
    check(len(json.loads(r.body)["repositories"]) == 1 and r.h("Link"), "_catalog?n=1 pages", r)

    # referrers
    sig_cfg = b"{}"
    push_blob("conf/app", sig_cfg)
    sig_layer = b"signature"
    push_blob("conf/app", sig_layer)
    subject = {"mediaType": MT, "digest": d_m, "size": len(body)}
    sig = json.loads(manifest(sig_cfg, [sig_layer], subject, "application/vnd.example.sig"))
    sig["config"]["mediaType"] = "application/vnd.oci.empty.v1+json"
    sig["annotations"] = {"org.example": "yes"}
    sig = json.dumps(sig).encode()
    r = put_manifest("conf/app", sha(sig), sig)
    check(r.status == 201 and r.h("OCI-Subject") == d_m, "a manifest with a subject: OCI-Subject", r)
    r = req("GET", "/v2/conf/app/referrers/" + d_m)
    idx = json.loads(r.body) if r.status == 200 else {}
    ms = idx.get("manifests", [])
    check(r.status == 200 and r.h("Content-Type") == "application/vnd.oci.image.index.v1+json" and
          len(ms) == 1 and ms[0]["digest"] == sha(sig) and
          ms[0]["artifactType"] == "application/vnd.example.sig" and
          ms[0]["annotations"] == {"org.example": "yes"}, "referrers lists it", r)
    r = req("GET", "/v2/conf/app/referrers/%s?artifactType=application/other" % d_m)
    check(r.status == 200 and json.loads(r.body)["manifests"] == [] and
          r.h("OCI-Filters-Applied") == "artifactType", "referrers filtered by artifactType", r)
    r = req("GET", "/v2/conf/app/referrers/" + sha(b"x"))
    check(r.status == 200 and json.loads(r.body)["manifests"] == [], "referrers of an unknown digest: empty", r)

    # -------------------------------------------------- content management
    r = req("DELETE", "/v2/conf/tags/manifests/e")
    check(r.status == 202, "DELETE a tag: 202", r)
    r = req("GET", "/v2/conf/tags/manifests/e")
    check(r.status == 404, "the deleted tag is gone", r)
    check(req("GET", "/v2/conf/tags/manifests/d").status == 200, "the other tags stay")
    r = req("DELETE", "/v2/conf/app/manifests/v1")
    check(r.status == 202, "untag conf/app:v1", r)
    r = req("GET", "/v2/conf/app/manifests/" + d_m)
    check(r.status == 200, "an untagged manifest is still there by digest", r)
    r = req("DELETE", "/v2/conf/app/manifests/" + d_m)
    check(r.status == 202, "DELETE manifest by digest: 202", r)
    r = req("GET", "/v2/conf/app/manifests/" + d_m)
    check(r.status == 404 and r.code() == "MANIFEST_UNKNOWN", "the deleted manifest is gone", r)
    r = req("DELETE", "/v2/conf/app/manifests/" + d_m)
    check(r.status == 404 and r.code() == "MANIFEST_UNKNOWN", "deleting it again: 404", r)
    r = req("DELETE", "/v2/conf/app/blobs/" + d_a)
    check(r.status == 202, "DELETE blob: 202", r)
    r = req("GET", "/v2/conf/app/blobs/" + d_a)
    check(r.status == 404 and r.code() == "BLOB_UNKNOWN", "the deleted blob is gone", r)
    r = req("DELETE", "/v2/conf/app/blobs/" + sha(b"never"))
    check(r.status == 404 and r.code() == "BLOB_UNKNOWN", "DELETE an unknown blob: 404", r)
    r = req("POST", "/v2/conf/app/blobs/uploads/")
    loc = r.h("Location")
    r = req("DELETE", loc)
    check(r.status == 204, "DELETE an upload session: 204", r)
    check(req("GET", loc).status == 404, "the cancelled session is gone")
    r = req("PUT", "/v2/conf/app/tags/list")
    check(r.status == 405 and r.code() == "UNSUPPORTED", "a method a route does not take: 405 UNSUPPORTED", r)
    p = subprocess.run([KUBE, "image", "ls", "--data-dir", data], capture_output=True, text=True)
    check(p.returncode == 0 and "conf/app " not in p.stdout, "kube image ls no longer lists the deleted tag", p.stdout)

    # off loopback: TLS, and the token as Bearer, Basic, or from /v2/token
    import base64
    import ssl
    with open(os.path.join(data, "token")) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=os.path.join(data, "tls.crt"))
    ctx.check_hostname = False

    def treq(path, auth=None):
        c = http.client.HTTPSConnection("127.0.0.1", TLS_PORT, timeout=30, context=ctx)
        c.request("GET", path, headers={"Authorization": auth} if auth else {})
        r = Resp(c.getresponse())
        c.close()
        return r
    r = treq("/v2/")
    ch = r.h("WWW-Authenticate") or ""
    check(r.status == 401 and r.code() == "UNAUTHORIZED" and ch.startswith("Bearer realm=\"https://") and
          "/v2/token" in ch, "TLS listener: 401 with a Bearer challenge", r)
    check(treq("/v2/_catalog", "Bearer wrong").status == 401, "a wrong token: 401")
    check(treq("/v2/_catalog", "Bearer " + token).status == 200, "Bearer token: 200")
    basic = "Basic " + base64.b64encode(("anyone:" + token).encode()).decode()
    check(treq("/v2/_catalog", basic).status == 200, "Basic with the token as password: 200")
    r = treq("/v2/token?service=libkube-registry&scope=repository:conf/app:pull", basic)
    issued = json.loads(r.body).get("token") if r.status == 200 else None
    check(issued and treq("/v2/_catalog", "Bearer " + issued).status == 200,
          "the token endpoint issues a token that works", r)
    r = treq("/v2/token", "Basic " + base64.b64encode(b"anyone:nope").decode())
    check(r.status == 401, "the token endpoint refuses a wrong password", r)

    # our own client over HTTPS: the CA and the credentials from
    # registries.yaml, the Bearer challenge answered through /v2/token
    T = os.path.join(tmp, "tlsclient")
    os.makedirs(T)
    tls_host = "127.0.0.1:%d" % TLS_PORT
    with open(os.path.join(T, "registries.yaml"), "w") as f:
        f.write('configs:\n  "%s":\n    auth:\n      username: anyone\n'
                '      password: "%s"\n    tls:\n      ca_file: "%s"\n'
                % (tls_host, token, os.path.join(data, "tls.crt")))
    p = subprocess.run([KUBE, "image", "pull", "--data-dir", T, tls_host + "/conf/tags:d"],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and p.stdout.strip().startswith("sha256:"),
          "kube image pull over HTTPS with the token from registries.yaml", p.stdout + p.stderr)
    U = os.path.join(tmp, "tlsnoauth")
    os.makedirs(U)
    with open(os.path.join(U, "registries.yaml"), "w") as f:
        f.write('configs:\n  "%s":\n    tls:\n      ca_file: "%s"\n'
                % (tls_host, os.path.join(data, "tls.crt")))
    p = subprocess.run([KUBE, "image", "pull", "--data-dir", U, tls_host + "/conf/tags:d"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, DOCKER_CONFIG=os.path.join(tmp, "nodocker")))
    check(p.returncode != 0 and ("401" in p.stderr or "UNAUTHORIZED" in p.stderr),
          "over HTTPS without credentials: refused, clearly", p.stderr)
    p = subprocess.run([KUBE, "image", "pull", "--data-dir", os.path.join(tmp, "tlsnoca"),
                        tls_host + "/conf/tags:d"], capture_output=True, text=True, timeout=120)
    check(p.returncode != 0 and p.stderr.strip(), "an unknown CA: refused", p.stderr)

    # the settings ConfigMap carries the address
    kc = os.path.join(tmp, "kc.yaml")
    p = subprocess.run([KUBE, "--server", "unix:" + os.path.join(tmp, "kubed.sock"),
                        "get", "configmap", "libkube-cluster", "-n", "kube-system",
                        "-o", "jsonpath={.data.registry}"], capture_output=True, text=True)
    check(p.stdout.strip() == "127.0.0.1:%d" % PORT, "ConfigMap kube-system/libkube-cluster has the registry",
          p.stdout + p.stderr)
    with open(os.path.join(data, "registries.yaml")) as f:
        check("http://127.0.0.1:%d" % PORT in f.read(), "registries.yaml mirrors every registry to it")
finally:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    if failed:
        with open(os.path.join(tmp, "kubed.log")) as f:
            print(f.read()[-3000:])
    shutil.rmtree(tmp, ignore_errors=True)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
