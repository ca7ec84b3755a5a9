#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kubed server's store housekeeping, as kube-apiserver's: Events go
--event-ttl after their last write (core/v1 and events.k8s.io/v1), an
Event written again lives on, and the watch history is compacted every
--etcd-compaction-interval (a watch from before the compaction gets 410
Gone).  Bad durations are refused.

usage: test_housekeeping.py KUBED"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed, check_refused_flags  # noqa: E402

CORE = "/api/v1/namespaces/default/events"
V1 = "/apis/events.k8s.io/v1/namespaces/default/events"
NOW = "2026-01-01T00:00:00Z"


def core_event(name):
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Test", "message": "m", "type": "Normal", "count": 1,
            "firstTimestamp": NOW, "lastTimestamp": NOW,
            "source": {"component": "test"}}


def v1_event(name):
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "test",
            "reportingInstance": "test-1", "action": "Test", "reason": "Test",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
            "type": "Normal", "note": "n"}


def wait_status(k, path, want, timeout):
    deadline = time.time() + timeout
    while True:
        r = k.request("GET", path)
        if r.status == want or time.time() > deadline:
            return r
        time.sleep(0.2)


def main():
    kubed = sys.argv[1]
    t = Failures()
    k = Kubed(kubed, store="sqlite",
              extra=["--event-ttl", "4s", "--etcd-compaction-interval", "2s",
                     "--no-registry"])
    try:
        k.start()
        r = k.request("POST", CORE, core_event("old"))
        t.check(r.status == 201, "core/v1 Event created", r.body[:300])
        r = k.request("POST", V1, v1_event("old-v1"))
        t.check(r.status == 201, "events.k8s.io/v1 Event created", r.body[:300])
        r = k.request("POST", CORE, core_event("kept"))
        t.check(r.status == 201, "a second core/v1 Event created", r.body[:300])
        early_rv = r.json()["metadata"]["resourceVersion"] if r.status == 201 else "1"
        # "kept" is written again every second: it must outlive the TTL
        t0 = time.time()
        gone = set()
        count = 1
        while time.time() - t0 < 20 and len(gone) < 2:
            count += 1
            r = k.request("PATCH", CORE + "/kept", {"count": count},
                          ctype="application/merge-patch+json")
            for path in (CORE + "/old", V1 + "/old-v1"):
                if k.request("GET", path).status == 404:
                    gone.add(path)
            time.sleep(1)
        waited = time.time() - t0
        t.check(CORE + "/old" in gone,
                "a core/v1 Event is deleted once its TTL passed (%.0f s)" % waited)
        t.check(V1 + "/old-v1" in gone,
                "an events.k8s.io/v1 Event is deleted once its TTL passed")
        t.check(waited >= 3, "and not before its TTL", waited)
        r = k.request("GET", CORE + "/kept")
        t.check(r.status == 200, "an Event written again within its TTL stays",
                r.body[:300])
        r = k.request("GET", CORE + "?watch=1&timeoutSeconds=1&resourceVersion="
                      + early_rv)
        t.check(r.status == 410 or ('"code":410' in r.body.replace(" ", "")
                                    and "Expired" in r.body),
                "a watch from before the compaction gets 410 Expired", r.body[:300])
        r = k.request("GET", CORE)
        rv = r.json()["metadata"]["resourceVersion"] if r.status == 200 else ""
        r = k.request("GET", CORE + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
        t.check(r.status == 200 and "410" not in r.body,
                "a watch from a recent revision still starts", r.body[:300])
        k.stop()
    finally:
        k.cleanup()
    check_refused_flags(kubed, t, (("--event-ttl", "banana"),
                        ("--etcd-compaction-interval", "-5m")))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
