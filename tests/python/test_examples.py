# SPDX-License-Identifier: Apache-2.0
"""The Python example controller (bindings/python/examples)."""
import importlib.util
import os
import subprocess
import sys
import threading
import time

import pytest

import libkube
from conftest import configmap

EXAMPLES = os.environ.get("LIBKUBE_EXAMPLES", os.path.join(
    os.path.dirname(__file__), "..", "..", "bindings", "python", "examples"))


def load(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def eventually(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (AssertionError, libkube.ApiError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_mirror_controller(server):
    mod = load("mirror_controller")
    c = server.client()
    ctl = mod.mirror_controller(c)
    t = threading.Thread(target=ctl.run)
    t.start()
    try:
        c.create(configmap("src", labels={"mirror": "yes"}, data={"a": "1"}))
        c.create(configmap("plain", data={"b": "2"}))

        def mirrored(data):
            def check():
                assert c.get("v1", "ConfigMap", "src-mirror")["data"] == data
            return check
        eventually(mirrored({"a": "1"}))
        c.patch("v1", "ConfigMap", "src", {"data": {"a": None, "c": "3"}})
        eventually(mirrored({"c": "3"}))
        c.delete("v1", "ConfigMap", "src")

        def gone():
            try:
                c.get("v1", "ConfigMap", "src-mirror")
            except libkube.ApiError as e:
                assert e.code == 404
                return
            raise AssertionError("src-mirror still exists")
        eventually(gone)
        with pytest.raises(libkube.ApiError):
            c.get("v1", "ConfigMap", "plain-mirror")
    finally:
        ctl.stop()
        t.join(10)


def test_mirror_demo():
    out = subprocess.run([sys.executable,
                          os.path.join(EXAMPLES, "mirror_controller.py"),
                          "--demo"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "mirrored: {'hello': 'world'}" in out.stdout
