#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kubed's /metrics: Prometheus text format behind the bearer token, with
the API server's request counts and latency histograms per verb and
resource, watch counts, the store's write latency and the scheduler's
attempts, latency and queue depths, each moving as the cluster works.

usage: test_metrics.py KUBED [memory|sqlite]
"""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text):
    """{(name, labels): value}, checking every line is a comment or a
    sample of a declared family."""
    out, typed, bad = {}, set(), []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if not m:
            bad.append(line)
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        if name not in typed and base not in typed:
            bad.append(line)
        out[(name, labels)] = float(value)
    return out, bad


def value(m, name, **labels):
    total = 0.0
    found = False
    for (n, ls), v in m.items():
        if n != name:
            continue
        if all('%s="%s"' % (k, w) in ls for k, w in labels.items()):
            total += v
            found = True
    return total if found else None


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    store = sys.argv[2] if len(sys.argv) > 2 else "memory"
    t = Failures()
    k = Kubed(sys.argv[1], store=store, extra=["--no-registry"])
    try:
        k.start()
        r = k.request("GET", "/metrics", token=False)
        t.check(r.status == 401, "/metrics needs the token", r.status)
        r = k.request("GET", "/metrics", token="wrong")
        t.check(r.status == 401, "/metrics refuses a wrong token", r.status)

        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "m1"},
                "spec": {}, "status": {"allocatable": {"cpu": "4", "memory": "8Gi",
                                                       "pods": "110"}}}
        k.request("POST", "/api/v1/nodes", node)
        for i in range(3):
            p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "m-%d" % i},
                 "spec": {"containers": [{"name": "c", "image": "pause"}]}}
            r = k.request("POST", "/api/v1/namespaces/default/pods", p)
            t.check(r.status == 201, "create pod %d" % i, r)
        # A watch held open while the metrics are read (controllers in
        # kubed may watch the same resource: count the change).
        m0, _ = parse(k.request("GET", "/metrics").body)
        base = value(m0, "apiserver_registered_watchers",
                     resource="configmaps") or 0
        stop = threading.Event()

        def watch():
            c = k.conn(timeout=5)
            c.request("GET", "/api/v1/namespaces/default/configmaps?watch=1",
                      headers={"Authorization": "Bearer " + k.token})
            resp = c.getresponse()
            while not stop.is_set():
                time.sleep(0.05)
            c.close()
            resp.close()
        th = threading.Thread(target=watch, daemon=True)
        th.start()
        deadline = time.time() + 10
        m, bad = {}, []
        while time.time() < deadline:
            r = k.request("GET", "/metrics")
            m, bad = parse(r.body)
            if ((value(m, "scheduler_binding_total", result="ok") or 0) >= 3 and
                    (value(m, "apiserver_registered_watchers",
                           resource="configmaps") or 0) > base):
                break
            time.sleep(0.1)
        stop.set()
        th.join()
        t.check(r.status == 200 and r.headers.get("Content-Type", "")
                .startswith("text/plain"), "/metrics answers text/plain",
                (r.status, r.headers.get("Content-Type")))
        t.check(not bad, "every line is a declared sample or a comment", bad[:5])
        t.check(value(m, "apiserver_request_total", verb="POST",
                      resource="pods", subresource="", code="201") == 3,
                "three pod creates counted", value(m, "apiserver_request_total",
                                                   verb="POST", resource="pods"))
        t.check((value(m, "apiserver_request_total", verb="POST", resource="pods",
                       subresource="binding", code="201") or 0) >= 3,
                "bindings counted as the pods/binding subresource")
        cnt = value(m, "apiserver_request_duration_seconds_count", verb="POST",
                    resource="pods", subresource="")
        inf = value(m, "apiserver_request_duration_seconds_bucket", verb="POST",
                    resource="pods", subresource="", le="+Inf")
        t.check(cnt == 3 and inf == 3, "latency histogram of the creates",
                (cnt, inf))
        t.check((value(m, "apiserver_request_total", verb="LIST",
                       resource="pods") or 0) >= 1, "LIST counted")
        t.check((value(m, "apiserver_registered_watchers",
                       resource="configmaps") or 0) >= base + 1,
                "the open watch is counted",
                (base, value(m, "apiserver_registered_watchers",
                             resource="configmaps")))
        t.check((value(m, "kube_store_write_duration_seconds_count",
                       operation="create") or 0) >= 4,
                "store write latency recorded")
        t.check((value(m, "scheduler_schedule_attempts_total",
                       result="scheduled") or 0) >= 3, "scheduler attempts")
        t.check((value(m, "scheduler_scheduling_attempt_duration_seconds_count")
                 or 0) >= 3, "scheduler attempt latency histogram")
        t.check(value(m, "scheduler_pending_pods", queue="active") is not None,
                "scheduler queue depth")
    except Exception as e:  # report, then fail
        t.check(False, "metrics test raised %r" % e)
        print(k.read_log()[-4000:], file=sys.stderr)
    finally:
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
