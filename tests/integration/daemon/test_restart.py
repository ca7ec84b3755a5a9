#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kubed restart: objects and their resourceVersions survive a SIGTERM
restart and a kill -9 restart (sqlite store, or the one given).

usage: test_restart.py KUBED [STORE]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Etcd, Failures, Kubed, pod  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"


def snapshot(k):
    out = {}
    for path in (PODS, "/api/v1/namespaces", "/api/v1/namespaces/default/configmaps",
                 "/apis/apps/v1/namespaces/default/deployments"):
        r = k.request("GET", path)
        for i in r.json()["items"]:
            m = i["metadata"]
            out[(path, m["name"])] = (m["resourceVersion"], m["uid"])
    return out


def main():
    kubed = sys.argv[1]
    store = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    if store == "etcd" and not Etcd.available():
        print("SKIP: %s is not installed" % Etcd.BINARY)
        return 77
    t = Failures()
    # No controllers: the Deployment would get their writes between the
    # snapshots.
    k = Kubed(kubed, store=store, extra=["--no-controllers"])
    try:
        k.start()
        for i in range(20):
            r = k.request("POST", PODS, pod("r%d" % i, {"i": str(i)}))
            t.check(r.status == 201, "create r%d" % i, r)
        k.request("POST", "/api/v1/namespaces/default/configmaps",
                  {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cm"}, "data": {"k": "v"}})
        k.request("POST", "/apis/apps/v1/namespaces/default/deployments",
                  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"selector": {"matchLabels": {"a": "b"}},
                            "template": {"metadata": {"labels": {"a": "b"}},
                                         "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
        cur = k.request("GET", PODS + "/r3").json()
        cur["metadata"]["labels"]["updated"] = "yes"
        k.request("PUT", PODS + "/r3", cur)
        k.request("DELETE", PODS + "/r4")
        before = snapshot(k)
        t.check(len(before) >= 25, "objects created", len(before))
        rc = k.stop()
        t.check(rc == 0, "SIGTERM exit status 0", rc)

        k.start()
        after = snapshot(k)
        t.check(after == before, "same objects and resourceVersions after SIGTERM",
                set(before.items()) ^ set(after.items()))
        t.check(k.request("GET", PODS + "/r4").status == 404, "deleted stays deleted")
        t.check(k.request("GET", PODS + "/r3").json()["metadata"]["labels"].get("updated")
                == "yes", "update survived")
        # Write more, then kill -9 right after the acknowledgements.
        acked = []
        for i in range(20, 40):
            r = k.request("POST", PODS, pod("r%d" % i))
            if r.status == 201:
                acked.append(("r%d" % i, r.json()["metadata"]["resourceVersion"]))
        before = snapshot(k)
        k.stop(kill=True)

        k.start()
        after = snapshot(k)
        t.check(after == before, "same objects and resourceVersions after kill -9",
                set(before.items()) ^ set(after.items()))
        lost = [n for n, rv in acked
                if k.request("GET", PODS + "/" + n).json().get("metadata", {})
                .get("resourceVersion") != rv]
        t.check(not lost, "every acknowledged write survived kill -9", lost)
        # SIGTERM while clients are writing: every acknowledged write is
        # kept, and the daemon still exits 0.
        import threading
        acked2 = []
        lock = threading.Lock()

        def writer(n):
            for i in range(200):
                try:
                    r = k.request("POST", PODS, pod("c%d-%d" % (n, i)), timeout=5)
                except OSError:
                    return
                if r.status == 201:
                    with lock:
                        acked2.append(("c%d-%d" % (n, i),
                                       r.json()["metadata"]["resourceVersion"]))
                elif r.status != 503:
                    return
        ths = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for th in ths:
            th.start()
        import time
        time.sleep(0.3)
        rc = k.stop()
        for th in ths:
            th.join()
        t.check(rc == 0, "SIGTERM under load exits 0", rc)
        k.start()
        lost = [n for n, rv in acked2
                if k.request("GET", PODS + "/" + n).json().get("metadata", {})
                .get("resourceVersion") != rv]
        t.check(len(acked2) > 0 and not lost,
                "writes acknowledged before SIGTERM survived", (len(acked2), lost[:5]))
        after = snapshot(k)
        # New writes continue the revision sequence.
        r = k.request("POST", PODS, pod("after"))
        top = max(int(rv) for rv, _ in after.values())
        t.check(r.status == 201 and int(r.json()["metadata"]["resourceVersion"]) > top,
                "revisions continue after restart", r)
        # A namespace terminating across a restart finishes afterwards.
        k.request("POST", "/api/v1/namespaces",
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "held"}})
        k.request("POST", "/api/v1/namespaces/held/configmaps",
                  {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cm", "finalizers": ["example.com/hold"]}})
        r = k.request("DELETE", "/api/v1/namespaces/held")
        t.check(r.status == 200, "delete namespace held", r)
        rc = k.stop()
        t.check(rc == 0, "SIGTERM while a namespace terminates", rc)
        k.start()
        ns = k.request("GET", "/api/v1/namespaces/held").json()
        t.check(ns.get("status", {}).get("phase") == "Terminating",
                "still Terminating after restart", ns)
        cm = k.request("GET", "/api/v1/namespaces/held/configmaps/cm").json()
        t.check(cm["metadata"].get("deletionTimestamp"), "content marked deleted", cm)
        cm["metadata"]["finalizers"] = []
        k.request("PUT", "/api/v1/namespaces/held/configmaps/cm", cm)
        import time
        deadline = time.time() + 5
        while time.time() < deadline and \
                k.request("GET", "/api/v1/namespaces/held").status == 200:
            time.sleep(0.1)
        t.check(k.request("GET", "/api/v1/namespaces/held").status == 404,
                "namespace gone once its content is")
        rc = k.stop()
        t.check(rc == 0, "final SIGTERM exit 0", rc)
    finally:
        if t.failed:
            print(k.read_log()[-4000:])
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
