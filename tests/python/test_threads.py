# SPDX-License-Identifier: Apache-2.0
"""Several Python threads on one object; blocking calls release the GIL."""
import threading
import time

import pytest

import libkube
from conftest import configmap


def test_threads_share_a_client(client):
    c, ns = client
    errors = []
    # Over TLS every request costs 40 ms until the API server sets
    # TCP_NODELAY (issue 14): fewer rounds there.
    rounds = 40 if c.server == "in-process" else 4

    def work(k):
        try:
            for i in range(rounds):
                name = "t%d-%d" % (k, i)
                c.create(configmap(name, ns, {"k": name}))
                assert c.get("v1", "ConfigMap", name, ns)["data"]["k"] == name
                c.patch("v1", "ConfigMap", name, {"data": {"p": "1"}},
                        namespace=ns)
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items = c.list("v1", "ConfigMap", namespace=ns, label_selector="")["items"]
    assert len([i for i in items if i["metadata"]["name"].startswith("t")]) == 6 * rounds


def test_gil_released_during_watch(server):
    """A thread blocked in a watch's next() lets another thread run
    Python code all along."""
    c = server.client()
    w = c.watch("v1", "ConfigMap", namespace="default",
                resource_version=c.list("v1", "ConfigMap")["metadata"]["resourceVersion"])
    got = []
    t = threading.Thread(target=lambda: got.append(next(w)))
    t.start()
    counter = 0
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        counter += 1  # pure Python: needs the GIL
    assert t.is_alive() and not got  # still blocked in next()
    assert counter > 10000
    c.create(configmap("wake"))
    t.join(10)
    assert got and got[0]["object"]["metadata"]["name"] == "wake"
    w.close()


def test_gil_released_during_requests(server):
    """Requests in one thread and pure-Python work in another interleave:
    the worker keeps progressing while requests are in flight."""
    c = server.client()
    stop = threading.Event()
    ticks = []

    def spin():
        n = 0
        while not stop.is_set():
            n += 1
            if n % 1000 == 0:
                ticks.append(n)
    t = threading.Thread(target=spin)
    t.start()
    before = len(ticks)
    for i in range(300):
        c.create(configmap("g%d" % i))
    during = len(ticks) - before
    stop.set()
    t.join()
    assert during > 0


def test_scheduler_threads():
    s = libkube.Scheduler()
    for i in range(20):
        s.add_node({"metadata": {"name": "n%d" % i},
                    "status": {"allocatable": {"cpu": "64", "memory": "64Gi",
                                               "pods": "110"}}})
    errors = []

    def work(k):
        try:
            for i in range(200):
                pod = {"metadata": {"name": "p%d-%d" % (k, i)},
                       "spec": {"containers": [{"name": "c", "resources": {
                           "requests": {"cpu": "10m"}}}]}}
                node = s.schedule(pod)
                pod["spec"]["nodeName"] = node
                s.add_pod(pod)
        except Exception as e:
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert s.pod_count == 800
