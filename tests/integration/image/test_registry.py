#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kube image pull/push against a registry on 127.0.0.1 (registry.py):
token and basic auth, chunked uploads that resume after a failed chunk,
cross-repository mounts, pulls by tag and digest, OCI indexes and Docker
manifest lists (platform selection), Docker schema2 manifests, mirrors
with rewrites from registries.yaml, corrupt blobs refused, credentials
from a Docker config.json.  No root needed.

usage: test_registry.py KUBE"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import Registry  # noqa: E402

KUBE = os.path.abspath(sys.argv[1])
passed = failed = 0


def check(ok, what, detail=None):
    global passed, failed
    if ok:
        passed += 1
        print("ok", what)
    else:
        failed += 1
        print("FAIL", what, detail if detail is not None else "")


def kube(*args, env=None):
    e = dict(os.environ, HOME=tmp, DOCKER_CONFIG=os.path.join(tmp, "nodocker"))
    e.update(env or {})
    p = subprocess.run([KUBE] + list(args), capture_output=True, text=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1
            t.addfile(ti, io.BytesIO(data))
    raw = raw.getvalue()
    return gzip.compress(raw, mtime=0), sha(raw)


def oci_archive(path, name, layers):
    """An oci-archive of one image with the given layers (dicts of files)."""
    blobs, descs, diffs = {}, [], []
    for files in layers:
        gz, diff = layer(files)
        blobs[sha(gz)] = gz
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": sha(gz), "size": len(gz)})
        diffs.append(diff)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    blobs[sha(config)] = config
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha(config), "size": len(config)},
                           "layers": descs}).encode()
    blobs[sha(manifest)] = manifest
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": name}}]}).encode()
    with tarfile.open(path, "w") as t:
        def add(n, data):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", index)
        for d, data in blobs.items():
            add("blobs/sha256/" + d[7:], data)
    return sha(config), manifest, config, descs


def image_id(data, ref):
    rc, out, err = kube("image", "inspect", "--data-dir", data, ref)
    if rc != 0:
        return None
    return json.loads(out)[0]["Id"]


tmp = tempfile.mkdtemp(prefix="kube-img-registry-")
regs = []
try:
    A = os.path.join(tmp, "a")
    # three layers, each bigger than the upload chunk set below
    layers = [{"etc/l%d/f%d" % (i, k): os.urandom(3000) for k in range(3)} for i in range(3)]
    arch = os.path.join(tmp, "img.tar")
    cfg_digest, manifest, config, descs = oci_archive(arch, "example.com/img:1", layers)
    rc, out, err = kube("image", "import", "--data-dir", A, arch)
    check(rc == 0 and "example.com/img:1" in out, "import an oci-archive", (out, err))
    check(image_id(A, "example.com/img:1") == cfg_digest, "image ID is the config digest")

    # ---- token auth, chunked upload with a failed chunk ---------------------
    r = Registry(auth="token").start()
    regs.append(r)
    r.fail_patch = 2
    dst = r.host + "/team/app:v1"
    chunk = {"KUBE_IMAGE_UPLOAD_CHUNK": "4000"}
    rc, out, err = kube("push", "--data-dir", A, "example.com/img:1", dst, "--creds", "u:p",
                        env=chunk)
    check(rc == 0 and "Pushed" in out, "push with token auth", (rc, out, err))
    check(r.stats["tokens"] >= 1, "bearer token fetched", r.stats)
    check(r.stats["failed_patches"] == 1 and r.stats["patches"] > 4,
          "chunked upload resumed after a failed chunk", r.stats)
    ref_body = r.manifests.get(("team/app", "v1"), (None, None))[1]
    check(ref_body == manifest, "manifest pushed byte for byte")
    check(all(d["digest"] in r.repo_blobs.get("team/app", ()) for d in descs), "all layers pushed")
    rc, out, err = kube("image", "ls", "--data-dir", A)
    check(r.host + "/team/app" in out, "the pushed name is kept locally", out)
    # again: the registry has everything, nothing is uploaded
    before = r.stats["patches"]
    rc, out, err = kube("push", "--data-dir", A, dst, "--creds", "u:p", env=chunk)
    check(rc == 0 and r.stats["patches"] == before, "push again skips existing blobs",
          (rc, err, r.stats))
    # to another repository of the same registry: layers are mounted
    rc, out, err = kube("push", "--data-dir", A, dst, r.host + "/team/other:v1", "--creds", "u:p")
    check(rc == 0 and r.stats["mounts"] == 3, "cross-repository mount", (rc, err, r.stats))
    rc, out, err = kube("push", "--data-dir", A, dst, r.host + "/team/app:v2", "--creds", "u:wrong")
    check(rc == 1 and ("Unauthorized" in err or "refused" in err or "401" in err),
          "wrong password is refused", err)

    # ---- pulls ----------------------------------------------------------------
    B = os.path.join(tmp, "b")
    rc, out, err = kube("image", "pull", "--data-dir", B, dst, "--creds", "u:p")
    check(rc == 0 and out.strip() == cfg_digest, "pull by tag", (rc, out, err))
    check(err.count("done") >= 3, "progress per layer", err)
    gets = r.stats["blob_gets"]
    rc, out, err = kube("image", "pull", "--data-dir", B, dst, "--creds", "u:p")
    check(rc == 0 and r.stats["blob_gets"] == gets, "pull again fetches nothing", r.stats)
    C = os.path.join(tmp, "c")
    mdig = sha(manifest)
    rc, out, err = kube("image", "pull", "--data-dir", C, r.host + "/team/app@" + mdig,
                        "--creds", "u:p")
    check(rc == 0 and image_id(C, r.host + "/team/app@" + mdig) == cfg_digest, "pull by digest",
          (rc, err))
    rc, out, err = kube("image", "inspect", "--data-dir", B, dst)
    info = json.loads(out)[0] if rc == 0 else {}
    check(info.get("RepoDigests") == [r.host + "/team/app@" + mdig], "repo digest recorded", info)

    # an OCI index and a Docker manifest list: the linux/amd64 entry
    other = json.dumps({"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:" + "0" * 64,
                        "size": 1}, "layers": []}).encode()
    r.put_manifest("team/app", sha(other), "application/vnd.oci.image.manifest.v1+json", other)
    for kind, mt, lmt in (("index", "application/vnd.oci.image.index.v1+json",
                           "application/vnd.oci.image.manifest.v1+json"),
                          ("list", "application/vnd.docker.distribution.manifest.list.v2+json",
                           "application/vnd.oci.image.manifest.v1+json")):
        idx = json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": [
            {"mediaType": lmt, "digest": sha(other), "size": len(other),
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": lmt, "digest": mdig, "size": len(manifest),
             "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
        r.put_manifest("team/app", kind, mt, idx)
        D = os.path.join(tmp, "d-" + kind)
        rc, out, err = kube("image", "pull", "--data-dir", D, r.host + "/team/app:" + kind,
                            "--creds", "u:p", "--platform", "linux/amd64")
        check(rc == 0 and out.strip() == cfg_digest, "pull through an " + kind, (rc, out, err))
        rc, out, err = kube("image", "inspect", "--data-dir", D, r.host + "/team/app:" + kind)
        rd = json.loads(out)[0]["RepoDigests"] if rc == 0 else None
        check(rd == [r.host + "/team/app@" + sha(idx)], kind + ": repo digest is the index's", rd)
    rc, out, err = kube("image", "pull", "--data-dir", os.path.join(tmp, "e"),
                        r.host + "/team/app:index", "--creds", "u:p", "--platform", "linux/s390x")
    check(rc == 1 and "no image for platform linux/s390x" in err, "platform not in the index", err)

    # Docker schema2
    d2 = json.loads(manifest)
    d2["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    d2["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    for lay in d2["layers"]:
        lay["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    d2 = json.dumps(d2).encode()
    r.put_manifest("team/app", "docker", "application/vnd.docker.distribution.manifest.v2+json", d2)
    E = os.path.join(tmp, "e")
    rc, out, err = kube("image", "pull", "--data-dir", E, r.host + "/team/app:docker",
                        "--creds", "u:p")
    check(rc == 0 and out.strip() == cfg_digest, "pull a Docker schema2 manifest", (rc, out, err))

    # a corrupt blob: refused, nothing named, nothing half stored
    r.corrupt.add(descs[1]["digest"])
    F = os.path.join(tmp, "f")
    rc, out, err = kube("image", "pull", "--data-dir", F, dst, "--creds", "u:p")
    check(rc == 1 and "digest mismatch" in err, "corrupt blob refused", err)
    rc, out, err = kube("image", "ls", "--data-dir", F, "-q")
    check(rc == 0 and out.strip() == "", "nothing named after a failed pull", out)
    check(not os.path.exists(os.path.join(F, "images", "blobs", "sha256", descs[1]["digest"][7:])),
          "corrupt blob not stored")
    check(os.listdir(os.path.join(F, "images.d", "tmp")) == [], "no temporary files left")
    r.corrupt.clear()
    rc, out, err = kube("image", "pull", "--data-dir", F, r.host + "/team/nope:1", "--creds", "u:p")
    check(rc == 1 and "MANIFEST_UNKNOWN" in err, "unknown manifest", err)

    # ---- mirrors --------------------------------------------------------------
    G = os.path.join(tmp, "g")
    os.makedirs(G)
    with open(os.path.join(G, "registries.yaml"), "w") as f:
        f.write('mirrors:\n  docker.io:\n    endpoint:\n      - "http://%s"\n'
                '    rewrite:\n      "^library/(.*)": "team/$1"\n'
                'configs:\n  "%s":\n    auth:\n      username: u\n      password: p\n'
                % (r.host, r.host))
    rc, out, err = kube("image", "pull", "--data-dir", G, "app:v1")
    check(rc == 0 and out.strip() == cfg_digest, "pull docker.io/library/app through a mirror "
          "with a rewrite and registries.yaml credentials", (rc, out, err))
    rc, out, err = kube("image", "ls", "--data-dir", G)
    check("docker.io/library/app" in out, "named as asked", out)

    # ---- basic auth, credentials from a Docker config.json ---------------------
    rb = Registry(auth="basic", user="alice", password="s3cret").start()
    regs.append(rb)
    authfile = os.path.join(tmp, "auth.json")
    with open(authfile, "w") as f:
        json.dump({"auths": {rb.host: {"auth": "YWxpY2U6czNjcmV0"}}}, f)
    rc, out, err = kube("push", "--data-dir", A, "example.com/img:1", rb.host + "/x/y:1",
                        "--authfile", authfile)
    check(rc == 0, "push with basic auth from an auth file", (rc, err))
    H = os.path.join(tmp, "h")
    os.makedirs(os.path.join(tmp, "docker"))
    shutil.copy(authfile, os.path.join(tmp, "docker", "config.json"))
    rc, out, err = kube("image", "pull", "--data-dir", H, rb.host + "/x/y:1",
                        env={"DOCKER_CONFIG": os.path.join(tmp, "docker")})
    check(rc == 0 and out.strip() == cfg_digest, "pull with $DOCKER_CONFIG credentials", (rc, err))
    rc, out, err = kube("image", "pull", "--data-dir", os.path.join(tmp, "i"), rb.host + "/x/y:1")
    check(rc == 1 and "401" in err, "no credentials: refused", err)

    # ---- nothing listens ------------------------------------------------------
    rc, out, err = kube("image", "pull", "--data-dir", os.path.join(tmp, "j"),
                        "127.0.0.1:1/a/b:c")
    check(rc == 1 and "127.0.0.1:1" in err, "registry down: a clear error", err)
finally:
    for r in regs:
        r.stop()
    shutil.rmtree(tmp, ignore_errors=True)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
