# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the libkube module's tests: servers (in-process, and one
with a TCP listener reached over HTTPS) and clients of each kind."""
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

import libkube


def pytest_report_header(config):
    return "libkube %s from %s" % (libkube.__version__, libkube.__file__)


@pytest.fixture
def server():
    with libkube.Server() as srv:
        yield srv


@pytest.fixture(scope="module")
def tls_server():
    """A server with a TCP listener (HTTPS, kubeconfig written)."""
    with libkube.Server(listen=("tcp:127.0.0.1:0",)) as srv:
        yield srv


@pytest.fixture(params=["inprocess", "https"])
def client(request, tls_server):
    """The same tests through both paths: Server.client() (no socket) and a
    Client over the server's kubeconfig (HTTPS)."""
    if request.param == "inprocess":
        c = tls_server.client()
    else:
        c = libkube.Client(tls_server.kubeconfig)
    ns = "t-" + uuid.uuid4().hex[:10]
    c.create({"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": ns}})
    yield c, ns


def configmap(name, ns=None, data=None, labels=None):
    meta = {"name": name}
    if ns:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": data or {}}


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix="libkube-pytest-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.fixture(scope="session")
def busybox_bundle():
    """An OCI bundle of Debian's busybox-static (runtime tests)."""
    if os.geteuid() != 0:
        pytest.skip("the runtime needs root")
    script = os.environ.get("KUBE_BUNDLE_SCRIPT")
    if not script or not os.path.exists("/bin/busybox"):
        pytest.skip("needs busybox-static and scripts/make-busybox-bundle.sh")
    d = tempfile.mkdtemp(prefix="libkube-pytest-bundle-")
    parent = "libkube-pytest-%d" % os.getpid()
    env = dict(os.environ, CGROUPS_PATH="/%s/b" % parent)
    subprocess.run(["sh", script, d + "/b", "/bin/true"], check=True,
                   env=env)
    yield d + "/b"
    shutil.rmtree(d, ignore_errors=True)
    # The containers' cgroups are gone; remove the parents the runtime
    # created for them (v1 hierarchies, unified, or plain v2).
    for base, dirs, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(base) == parent:
            for sub in ("b", ""):
                try:
                    os.rmdir(os.path.join(base, sub))
                except OSError:
                    pass
            dirs[:] = []
        elif base.count("/") > 4:
            dirs[:] = []
