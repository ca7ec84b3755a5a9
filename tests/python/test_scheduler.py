# SPDX-License-Identifier: Apache-2.0
"""libkube.Scheduler: placement, explanations, batches, errors."""
import pytest

import libkube


def node(name, cpu="4", mem="8Gi", labels=None, taints=None, **spec):
    n = {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": name, "labels": labels or {}},
         "spec": dict(spec),
         "status": {"allocatable": {"cpu": cpu, "memory": mem,
                                    "pods": "110"}}}
    if taints:
        n["spec"]["taints"] = taints
    return n


def pod(name, cpu="1", mem="1Gi", ns="default", **spec):
    s = {"containers": [{"name": "c", "image": "busybox",
                         "resources": {"requests": {"cpu": cpu,
                                                    "memory": mem}}}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns}, "spec": s}


@pytest.fixture
def sched():
    s = libkube.Scheduler()
    s.add_node(node("small", cpu="2"))
    s.add_node(node("big", cpu="16", labels={"disk": "ssd"}))
    s.add_node(node("gpu", cpu="16", taints=[
        {"key": "gpu", "value": "yes", "effect": "NoSchedule"}]))
    return s


def test_schedule(sched):
    assert sched.node_count == 3
    assert sched.schedule(pod("a", cpu="8")) == "big"
    assert sched.schedule(pod("b", nodeSelector={"disk": "ssd"})) == "big"
    tol = pod("t", cpu="12", tolerations=[{"key": "gpu", "operator": "Exists"}])
    assert sched.schedule(tol) in ("big", "gpu")
    # schedule() does not account the pod.
    assert sched.pod_count == 0


def test_unschedulable(sched):
    with pytest.raises(libkube.Unschedulable) as e:
        sched.schedule(pod("huge", cpu="100"))
    msg = str(e.value)
    assert msg.startswith("0/3 nodes are available:")
    assert "Insufficient cpu" in msg
    assert "untolerated taint {gpu: yes}" in msg
    assert e.value.reasons["Insufficient cpu"] == 2
    assert e.value.nominated_node is None
    assert e.value.victims == []


def test_preemption_nomination():
    s = libkube.Scheduler()
    s.add_node(node("n", cpu="4"))
    low = pod("low", cpu="3", priority=0)
    low["spec"]["nodeName"] = "n"
    s.add_pod(low)
    with pytest.raises(libkube.Unschedulable) as e:
        s.schedule(pod("high", cpu="3", priority=1000))
    assert e.value.nominated_node == "n"
    assert e.value.victims == ["default/low"]


def test_add_pod_accounts(sched):
    p = pod("placed", cpu="15")
    p["spec"]["nodeName"] = "big"
    sched.add_pod(p)
    assert sched.pod_count == 1
    with pytest.raises(libkube.Unschedulable):
        sched.schedule(pod("x", cpu="8", nodeSelector={"disk": "ssd"}))
    sched.remove_pod("placed")
    assert sched.pod_count == 0
    assert sched.schedule(pod("x", cpu="8", nodeSelector={"disk": "ssd"})) == "big"
    p["spec"]["nodeName"] = "gpu"
    sched.update_pod(p)
    assert sched.pod_count == 1


def test_update_and_remove_node(sched):
    sched.update_node(node("small", cpu="64"))
    assert sched.schedule(pod("x", cpu="40")) == "small"
    sched.remove_node("small")
    assert sched.node_count == 2
    with pytest.raises(KeyError):
        sched.remove_node("small")
    with pytest.raises(KeyError):
        sched.update_node(node("nowhere"))


def test_batch(sched):
    pods = [pod("b%d" % i, cpu="6") for i in range(6)]
    out = sched.schedule_batch(pods, dry_run=True)
    assert len(out) == 6
    placed = [r for r in out if isinstance(r, str)]
    failed = [r for r in out if isinstance(r, libkube.Unschedulable)]
    assert len(placed) == 2 and len(failed) == 4  # big holds 2 x 6 CPUs
    assert "Insufficient cpu" in str(failed[0])
    assert sched.pod_count == 0  # dry run
    out = sched.schedule_batch(pods, arrival_order=True)
    assert out[0] == "big" and out[1] == "big"
    assert sched.pod_count == 2
    assert sched.schedule_batch([]) == []


def test_config():
    spread = libkube.Scheduler({"strategy": "LeastAllocated"})
    pack = libkube.Scheduler("strategy = MostAllocated\nseed = 7\n")
    for s in (spread, pack):
        s.add_node(node("a"))
        s.add_node(node("b"))
        p = pod("first")
        p["spec"]["nodeName"] = "a"
        s.add_pod(p)
    assert spread.schedule(pod("next")) == "b"
    assert pack.schedule(pod("next")) == "a"
    with pytest.raises(ValueError):
        libkube.Scheduler("strategy = Random")
    with pytest.raises(ValueError):
        libkube.Scheduler({"score.NoSuchPlugin": 1})
    with pytest.raises(TypeError):
        libkube.Scheduler(42)


def test_errors(sched):
    with pytest.raises(ValueError, match="exist|taken|already"):
        sched.add_node(node("big"))
    with pytest.raises(TypeError, match="dict"):
        sched.add_node("big")
    with pytest.raises(TypeError, match="dict"):
        sched.schedule(None)
    with pytest.raises(ValueError, match="nodeName"):
        sched.add_pod(pod("unplaced"))
    unknown = pod("lost")
    unknown["spec"]["nodeName"] = "nowhere"
    with pytest.raises(KeyError):
        sched.add_pod(unknown)
    with pytest.raises(ValueError):
        sched.schedule(pod("badq", cpu="lots"))
    with pytest.raises(ValueError, match="name"):
        sched.schedule({"spec": {"containers": []}})
    with pytest.raises(ValueError, match="pod 1"):
        sched.schedule_batch([pod("ok"), pod("bad", cpu="?")])
    with pytest.raises(TypeError):
        sched.schedule_batch(5)
    with pytest.raises(TypeError):
        sched.schedule_batch([5])
    with pytest.raises(KeyError):
        sched.remove_pod("ghost")
    with pytest.raises(TypeError):
        sched.remove_node(None)
    with pytest.raises(TypeError):
        sched.schedule({"metadata": {"name": "x"}, "spec": {"x": object()}})
