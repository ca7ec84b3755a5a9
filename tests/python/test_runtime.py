# SPDX-License-Identifier: Apache-2.0
"""libkube.Runtime over real containers (root and busybox-static; skipped
otherwise)."""
import copy
import json
import os
import shutil
import tempfile

import pytest

import libkube


@pytest.fixture
def rt():
    root = tempfile.mkdtemp(prefix="libkube-pytest-rt-")
    r = libkube.Runtime(root)
    yield r
    for cid in r.list():
        try:
            r.delete(cid, force=True)
        except Exception:
            pass
    shutil.rmtree(root, ignore_errors=True)


def config(bundle, *args):
    with open(os.path.join(bundle, "config.json")) as f:
        cfg = json.load(f)
    cfg = copy.deepcopy(cfg)
    cfg["process"]["args"] = list(args)
    return cfg


def test_run_and_state(rt, busybox_bundle):
    assert rt.cgroup_mode in ("v1", "v2", "hybrid")
    r, w = os.pipe()
    ex = rt.run("run1", busybox_bundle,
                config(busybox_bundle, "/bin/sh", "-c", "echo hi; exit 3"),
                stdout=w)
    os.close(w)
    assert os.read(r, 100) == b"hi\n"
    os.close(r)
    assert ex["exit_code"] == 3 and ex["reason"] == "Error"
    st = rt.state("run1")
    assert st["status"] == "stopped"
    assert st["exit"]["exit_code"] == 3
    assert st["bundle"] == busybox_bundle
    rt.delete("run1")
    assert "run1" not in rt.list()


def test_lifecycle(rt, busybox_bundle):
    rt.create("life", busybox_bundle, config(busybox_bundle, "/bin/sleep", "60"))
    assert rt.state("life")["status"] == "created"
    rt.start("life")
    st = rt.state("life")
    assert st["status"] == "running" and st["pid"] > 0
    assert rt.list() == ["life"]
    r, w = os.pipe()
    ex = rt.exec("life", ["/bin/sh", "-c", "echo $X; pwd; exit 7"],
                 env=["X=from-exec"], cwd="/tmp", stdout=w)
    os.close(w)
    assert os.read(r, 100) == b"from-exec\n/tmp\n"
    os.close(r)
    assert ex["exit_code"] == 7
    stats = rt.stats("life")
    assert stats["pids_current"] >= 1 and stats["memory_usage_bytes"] > 0
    rt.pause("life")
    assert rt.state("life")["status"] == "paused"
    rt.resume("life")
    with pytest.raises(TimeoutError):
        rt.wait("life", timeout=0.1)
    rt.kill("life", 9)
    ex = rt.wait("life", timeout=10)
    assert ex["signal"] == 9 and ex["exit_code"] == 137
    rt.delete("life")


def test_bundle_config_and_start_flag(rt, busybox_bundle):
    rt.create("quick", busybox_bundle, start=True)  # config.json: /bin/true
    assert rt.wait("quick", timeout=10)["exit_code"] == 0
    rt.delete("quick")
    assert rt.run("nowait", busybox_bundle, wait=False) is None
    assert rt.wait("nowait", timeout=10)["exit_code"] == 0


def test_errors(rt, busybox_bundle, tmpdir_path):
    with pytest.raises(KeyError):
        rt.state("ghost")
    with pytest.raises(KeyError):
        rt.kill("ghost")
    with pytest.raises(ValueError):
        rt.kill("x", signal=0)
    with pytest.raises(TypeError):
        rt.create("x", busybox_bundle, config="not a dict")
    with pytest.raises(TypeError):
        rt.run("x", busybox_bundle, stdout="not a file")
    with pytest.raises(ValueError):
        rt.create("bad/id", busybox_bundle)
    with pytest.raises(Exception) as e:
        rt.create("nobundle", tmpdir_path)  # no config.json
    assert isinstance(e.value, (OSError, ValueError, KeyError))
    bad = config(busybox_bundle, "/bin/true")
    bad["linux"]["namespaces"] = [{"type": "wormhole"}]
    with pytest.raises(ValueError):
        rt.create("badns", busybox_bundle, bad)
    rt.create("dup", busybox_bundle, config(busybox_bundle, "/bin/sleep", "60"))
    with pytest.raises(ValueError):
        rt.create("dup", busybox_bundle)
    with pytest.raises(ValueError):
        rt.exec("dup", [])
    with pytest.raises(TypeError):
        rt.exec("dup", "/bin/true")
    rt.delete("dup", force=True)
