# SPDX-License-Identifier: Apache-2.0
"""Memory stays flat over many calls: RSS (C allocations) and tracemalloc
(Python objects), after a warm-up.  Bounded in time: a million
parse_quantity calls, tens of thousands of client calls."""
import gc
import threading
import tracemalloc

import pytest

import libkube
from conftest import configmap, rss_kb


def flat(fn, n, warmup, rss_slack_kb, traced_slack_bytes, traced_n=None):
    """Run fn(i) n times after a warm-up; RSS may grow by rss_slack_kb at
    most.  Then run it traced_n times under tracemalloc: the Python heap
    may grow by traced_slack_bytes at most."""
    for i in range(warmup):
        fn(i)
    gc.collect()
    before = rss_kb()
    for i in range(n):
        fn(i)
    gc.collect()
    grown = rss_kb() - before
    assert grown < rss_slack_kb, "RSS grew by %d KiB over %d calls" % (grown, n)
    traced_n = traced_n or n // 10
    tracemalloc.start()
    try:
        for i in range(traced_n // 10):
            fn(i)
        gc.collect()
        snap0 = tracemalloc.take_snapshot()
        for i in range(traced_n):
            fn(i)
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    diff = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert diff < traced_slack_bytes, "Python heap grew by %d bytes" % diff


def test_parse_quantity_million():
    texts = ["1500m", "1Gi", "0.5", "2k", "1e3", "128Mi"]
    flat(lambda i: libkube.parse_quantity(texts[i % 6]), 1000000, 50000,
         2048, 64 * 1024, traced_n=100000)


def test_parse_quantity_errors():
    def bad(i):
        try:
            libkube.parse_quantity("12 parsecs")
        except ValueError:
            pass
    flat(bad, 200000, 20000, 2048, 64 * 1024)


def test_selector_and_yaml():
    sel = libkube.LabelSelector("app=web,tier in (a,b)")
    labels = {"app": "web", "tier": "b"}
    flat(lambda i: sel.matches(labels), 300000, 20000, 2048, 64 * 1024)
    flat(lambda i: libkube.LabelSelector("a=%d" % (i % 100)), 200000, 20000,
         2048, 64 * 1024)
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: X\n"
    flat(lambda i: libkube.load_yaml(doc), 50000, 5000, 2048, 64 * 1024)


def test_client_gets_and_errors():
    with libkube.Server() as srv:
        c = srv.client()
        c.create(configmap("leak", data={"k": "v" * 100}))
        flat(lambda i: c.get("v1", "ConfigMap", "leak"), 20000, 2000,
             4096, 64 * 1024, traced_n=5000)

        def missing(i):
            try:
                c.get("v1", "ConfigMap", "nope")
            except libkube.ApiError:
                pass
        flat(missing, 10000, 1000, 4096, 64 * 1024, traced_n=3000)

        def write(i):
            name = "w%d" % i
            c.create(configmap(name))
            c.delete("v1", "ConfigMap", name)
        flat(write, 4000, 500, 4096, 64 * 1024, traced_n=1000)


def test_watches_and_clients():
    with libkube.Server() as srv:
        c = srv.client()

        def watch(i):
            with c.watch("v1", "ConfigMap", timeout=1) as w:
                pass

        def client(i):
            srv.client().get("v1", "Namespace", "default")
        flat(client, 3000, 300, 4096, 64 * 1024, traced_n=1000)
        # Abandoned watches end when the next event wakes their thread.
        flat(watch, 300, 50, 8192, 256 * 1024, traced_n=100)
        c.create(configmap("wake-everyone"))


def test_scheduler_calls():
    s = libkube.Scheduler()
    for i in range(50):
        s.add_node({"metadata": {"name": "n%d" % i},
                    "status": {"allocatable": {"cpu": "8", "memory": "8Gi",
                                               "pods": "110"}}})
    pod = {"metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "resources": {
               "requests": {"cpu": "100m"}}}]}}
    big = {"metadata": {"name": "big"},
           "spec": {"containers": [{"name": "c", "resources": {
               "requests": {"cpu": "100"}}}]}}

    def unsched(i):
        try:
            s.schedule(big)
        except libkube.Unschedulable:
            pass
    flat(lambda i: s.schedule(pod), 50000, 5000, 2048, 64 * 1024)
    flat(unsched, 20000, 2000, 2048, 64 * 1024)
