#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Keeping the data (issue 14), against real kubed and kube binaries on
loopback, each step also cut by a kill -9 at varying points:

- `kube backup FILE` while kubed serves and a writer keeps creating: FILE
  is a SQLite snapshot (mode 0600) holding a prefix of the writer's
  objects (consistent); non-admins are refused; a `kube backup` killed
  mid-way leaves no FILE or a whole one;
- an etcd-backed cluster's snapshot (its keys at one revision) restores
  into a sqlite one;
- `kubed server --restore FILE` into a fresh data directory serves every
  object of the snapshot; killed mid-restore, the data directory holds no
  store (the restore runs again) or the whole one; an existing store is
  never overwritten;
- `kube migrate --to etcd --etcd-endpoints URL` moves a running sqlite
  cluster to a private etcd and kubed restarts on it with every object;
  kubed killed mid-migration starts again on the intact sqlite store or
  on the complete etcd one, never half, and a new migration then
  finishes.  Skipped (exit 77) without /usr/bin/etcd.

usage: test_keeping.py KUBED KUBE"""
import os
import random
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kubed_harness import Etcd, Failures, Kubed, free_port  # noqa: E402

PAD = "p" * 3000  # objects big enough that copies take a while


def cm(name):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"pad": PAD}}


def fill(k, prefix, n):
    for i in range(n):
        r = k.unix_request("POST", "/api/v1/namespaces/default/configmaps",
                           cm("%s-%d" % (prefix, i)))
        if r.status != 201:
            raise RuntimeError("create %s-%d: %r" % (prefix, i, r))


def names(k, prefix):
    r = k.unix_request("GET", "/api/v1/namespaces/default/configmaps")
    if r.status != 200:
        return None
    return {i["metadata"]["name"] for i in r.json()["items"]
            if i["metadata"]["name"].startswith(prefix + "-")}


def kube(kube_bin, k, *args, timeout=60):
    env = dict(os.environ, KUBECONFIG=os.path.join(k.data, "kubeconfig.yaml"))
    return subprocess.run([kube_bin] + list(args), env=env,
                          capture_output=True, text=True, timeout=timeout)


def snapshot_ok(path):
    """A whole snapshot: quick_check passes and the tables are there."""
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        ok = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        n = db.execute("SELECT count(*) FROM kv").fetchone()[0]
        db.close()
        return ok and n > 0
    except sqlite3.Error:
        return False


def test_backup(kubed, kube_bin, t, tmp):
    k = Kubed(kubed, store="sqlite", data_dir=os.path.join(tmp, "a"),
              extra=["--no-registry", "--no-scheduler"])
    os.makedirs(k.tmp)
    k.start()
    fill(k, "base", 400)
    stop = threading.Event()
    written = []

    def writer():
        i = 0
        while not stop.is_set():
            r = k.unix_request("POST",
                               "/api/v1/namespaces/default/configmaps",
                               cm("w-%d" % i))
            if r.status == 201:
                written.append(i)
            i += 1

    th = threading.Thread(target=writer)
    th.start()
    snap = os.path.join(tmp, "snap.db")
    try:
        time.sleep(0.2)
        p = kube(kube_bin, k, "backup", snap)
    finally:
        stop.set()
        th.join()
    t.check(p.returncode == 0 and "backup written" in p.stdout,
            "kube backup while a writer runs", p.stderr)
    t.check(os.path.exists(snap) and
            stat.S_IMODE(os.stat(snap).st_mode) == 0o600 and snapshot_ok(snap),
            "the snapshot is a whole SQLite database, mode 0600")
    db = sqlite3.connect(snap)
    keys = {r[0] for r in db.execute("SELECT key FROM kv")}
    db.close()
    got = sorted(int(x.rsplit("-", 1)[1]) for x in keys
                 if x.startswith("/registry/core/configmaps/default/w-"))
    t.check(len([x for x in keys if "/base-" in x]) == 400,
            "every object written before is in it", len(keys))
    t.check(got == list(range(len(got))), "consistent: a prefix of the "
            "writer's objects", got[:5] + ["..."] + got[-5:])
    print("backup: %d of the writer's %d objects in the snapshot" %
          (len(got), len(written)))
    # Non-admins are refused (a bearer token that is not the admin's gets
    # 401 before; an anonymous TCP request is refused too).
    r = k.request("GET", "/libkube/v1/backup", token=False)
    t.check(r.status in (401, 403), "backup refused without credentials", r)
    # kill -9 of `kube backup` at varying points: no file or a whole one.
    for delay in (0.0, 0.02, 0.05, 0.1):
        path = os.path.join(tmp, "cut-%s.db" % delay)
        env = dict(os.environ,
                   KUBECONFIG=os.path.join(k.data, "kubeconfig.yaml"))
        proc = subprocess.Popen([kube_bin, "backup", path], env=env,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t.check(not os.path.exists(path) or snapshot_ok(path),
                "kube backup killed after %.2fs: no file or a whole one" %
                delay)
    t.check(k.stop() == 0, "SIGTERM exits 0")
    # No snapshot left behind in the data directory.
    left = [f for f in os.listdir(k.data) if f.startswith("backup-")]
    t.check(not left, "no temporary snapshot left", left)
    # The test's own ConfigMaps (not kube-root-ca.crt, the controllers').
    return snap, set(x.rsplit("/", 1)[1] for x in keys
                     if x.startswith(("/registry/core/configmaps/default/base-",
                                      "/registry/core/configmaps/default/w-")))


def start_restore(kubed, tmp, name, snap, extra=()):
    k = Kubed(kubed, store="sqlite", data_dir=os.path.join(tmp, name),
              extra=["--no-registry", "--no-scheduler", "--restore", snap] +
              list(extra))
    os.makedirs(k.tmp, exist_ok=True)
    return k


def test_restore(kubed, t, tmp, snap, want):
    k = start_restore(kubed, tmp, "r", snap)
    k.start()
    got = names(k, "base") | names(k, "w")
    t.check(got == want, "--restore serves every object of the snapshot",
            len(got ^ want))
    t.check("restored" in k.read_log(), "the log says it restored")
    t.check(k.stop() == 0, "SIGTERM exits 0 (restored)")
    # Again: the store exists now, so the restore is refused.
    p = subprocess.run([kubed, "server", "--data-dir", k.data, "--listen",
                        "unix:" + k.sock, "--store", "sqlite",
                        "--no-registry", "--no-node", "--no-scheduler", "--restore", snap],
                       capture_output=True, text=True, timeout=20)
    t.check(p.returncode != 0 and "exists" in p.stderr,
            "an existing store is never overwritten", p.stderr[-300:])
    # kill -9 in the middle of restores.
    outcomes = []
    for i, delay in enumerate((0.005, 0.02, 0.04, 0.08)):
        k = start_restore(kubed, tmp, "cut%d" % i, snap)
        os.makedirs(k.data, exist_ok=True)
        proc = subprocess.Popen(
            [kubed, "server", "--data-dir", k.data, "--listen",
             "unix:" + k.sock, "--store", "sqlite", "--no-registry", "--no-node",
             "--no-scheduler", "--restore", snap],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        db = os.path.join(k.data, "store.db")
        whole = os.path.exists(db)
        outcomes.append("whole" if whole else "none")
        # No store: the restore runs again; a store: it is served as is.
        k2 = start_restore(kubed, tmp, "cut%d" % i, snap) if not whole else \
            Kubed(kubed, store="sqlite", data_dir=k.tmp,
                  extra=["--no-registry", "--no-scheduler"])
        k2.start()
        got = names(k2, "base") | names(k2, "w")
        t.check(got == want, "restore killed after %.3fs, then started: "
                "every object (%s)" % (delay, outcomes[-1]), len(got ^ want))
        k2.stop()
    print("restore cut by kill -9:", outcomes)


def test_backup_etcd(kubed, kube_bin, t, tmp):
    """A snapshot of an etcd-backed cluster (its keys at one revision)
    restores into a sqlite one."""
    k = Kubed(kubed, store="etcd", data_dir=os.path.join(tmp, "e"),
              extra=["--no-registry", "--no-scheduler"])
    os.makedirs(k.tmp)
    try:
        k.start()
        fill(k, "e", 50)
        snap = os.path.join(tmp, "etcd-snap.db")
        p = kube(kube_bin, k, "backup", snap)
        t.check(p.returncode == 0 and snapshot_ok(snap),
                "kube backup of an etcd cluster", p.stderr)
    finally:
        k.cleanup()
    k2 = start_restore(kubed, tmp, "e2", snap)
    k2.start()
    t.check(names(k2, "e") == {"e-%d" % i for i in range(50)},
            "the etcd cluster's snapshot restores into sqlite")
    k2.cleanup()


def migrate_round(kubed, kube_bin, t, tmp, name, delay, n_objects):
    base = os.path.join(tmp, name)
    os.makedirs(base)
    etcd = Etcd(base).start()
    port = free_port()
    args = ["--listen", "tcp:127.0.0.1:%d" % port, "--no-registry",
            "--no-scheduler"]
    k = Kubed(kubed, store="sqlite", data_dir=base, extra=args)
    try:
        k.start()
        fill(k, "m", n_objects)
        want = names(k, "m")
        env = dict(os.environ,
                   KUBECONFIG=os.path.join(k.data, "kubeconfig.yaml"))
        mig = subprocess.Popen([kube_bin, "migrate", "--to", "etcd",
                                "--etcd-endpoints", etcd.endpoint], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        if delay is None:
            t0 = time.monotonic()
            out, err = mig.communicate(timeout=120)
            print("migration of %d objects answered in %.2f s" %
                  (n_objects, time.monotonic() - t0))
            t.check(mig.returncode == 0 and "migrated" in out,
                    "kube migrate finishes", err)
            # kubed restarts itself (same pid) on etcd.
            deadline = time.time() + 30
            ok = False
            while time.time() < deadline and not ok:
                time.sleep(0.2)
                ok = "serving with the etcd store" in k.read_log()
            t.check(ok, "kubed restarted on etcd", k.read_log()[-500:])
            deadline = time.time() + 20
            got = None
            while time.time() < deadline:
                try:
                    got = names(k, "m")
                    if got is not None:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            t.check(got == want, "every object is served from etcd",
                    None if got is None else len(got ^ want))
            r = k.unix_request("POST", "/api/v1/namespaces/default/configmaps",
                               cm("after"))
            t.check(r.status == 201, "writes go on after the migration", r)
            t.check(k.stop() == 0, "SIGTERM exits 0 (on etcd)")
            return "complete"
        time.sleep(delay)
        k.proc.send_signal(signal.SIGKILL)
        k.proc.wait()
        mig.wait(timeout=30)
        k.stop()
        conf = os.path.exists(os.path.join(k.data, "store.conf"))
        # Started again as an operator would: plain command line.
        k2 = Kubed(kubed, store="sqlite" if not conf else "etcd",
                   data_dir=base, extra=args)
        k2.etcd = etcd  # its endpoint, not a new etcd
        k2.start()
        got = names(k2, "m")
        log = k2.read_log()
        on = "etcd" if "serving with the etcd store" in log else "sqlite"
        t.check(got == want and on == ("etcd" if conf else "sqlite"),
                "kill -9 after %.2fs of migration: all objects on %s" %
                (delay, on), None if got is None else len(got ^ want))
        if on == "sqlite":
            # The interrupted copy is cleared by the next migration.
            env = dict(os.environ,
                       KUBECONFIG=os.path.join(k2.data, "kubeconfig.yaml"))
            p = subprocess.run([kube_bin, "migrate", "--to", "etcd",
                                "--etcd-endpoints", etcd.endpoint], env=env,
                               capture_output=True, text=True, timeout=120)
            t.check(p.returncode == 0, "a new migration finishes", p.stderr)
            deadline = time.time() + 30
            got = None
            while time.time() < deadline:
                time.sleep(0.3)
                try:
                    if "serving with the etcd store" in k2.read_log():
                        got = names(k2, "m")
                        if got is not None:
                            break
                except OSError:
                    pass
            t.check(got == want, "after it, every object on etcd",
                    None if got is None else len(got ^ want))
        k2.stop()
        return "complete" if conf else "old intact"
    finally:
        k.cleanup()
        etcd.stop()


def main():
    kubed, kube_bin = sys.argv[1], sys.argv[2]
    t = Failures()
    tmp = tempfile.mkdtemp(prefix="kubed-keep-")
    try:
        snap, want = test_backup(kubed, kube_bin, t, tmp)
        test_restore(kubed, t, tmp, snap, want)
        if not Etcd.available():
            print("SKIP: the migration checks need %s" % Etcd.BINARY)
            print("%d checks passed, %d failed (migration skipped)" %
                  (t.passed, len(t.failed)))
            return 1 if t.failed else 77
        test_backup_etcd(kubed, kube_bin, t, tmp)
        migrate_round(kubed, kube_bin, t, tmp, "mig-full", None, 1500)
        outcomes = []
        for i, delay in enumerate((0.3, 2.0, 4.5, 5.2, 9.0)):
            outcomes.append(migrate_round(kubed, kube_bin, t, tmp,
                                          "mig-cut%d" % i, delay, 1500))
        print("migration cut by kill -9:", outcomes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
