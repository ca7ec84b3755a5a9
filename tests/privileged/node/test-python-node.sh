#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# libkube.Server(node=...) from Python: a control plane and a node agent in
# one Python process (in the test's own network namespace) runs a pod from
# the offline busybox image through libkube.Client.  Then the node's
# kubelet port (node={"kubelet_listen": ...}): the Node reports it, it
# serves the pod's logs to the kubelet client certificate of the cluster
# CA and refuses a client without one, and (with etcd) a second
# libkube.Server of the same cluster (one etcd store, the same CA) without
# a node serves kubectl logs/exec of the pod by proxying over that port.
#
# usage: test-python-node.sh KUBED KUBE SRC PYTHON_MODULE_DIR
KUBED=$1 KUBE=$2 SRC=$3 PYDIR=$4
. "$SRC/tests/privileged/node/lib.sh"
[ -n "$PYDIR" ] && [ -d "$PYDIR" ] || skip "the Python module was not built"
/usr/bin/python3 -c 'import sys' 2>/dev/null || skip "/usr/bin/python3 missing"
trap 'finish; exit $?' EXIT INT TERM

setup_netns || { echo "cannot create network namespace"; exit 1; }
mkdir -p "$D"
load_images || { bad "load the busybox image"; exit 1; }

# nsenter --net, not ip netns exec (which hides the host's cgroup mounts).
KP=$((20000 + rnd % 9000))
out=$(PYTHONPATH=$PYDIR PYTHONDONTWRITEBYTECODE=1 \
    nsenter --net=/run/netns/$NS /usr/bin/python3 -P - "$D" "$NODE" "$NODE_IP" \
    "$POD_CIDR" "$BR" "$CG" "$RT" "$tmp" "$KP" "$KUBECTL" 2>&1 <<'PY'
import os, shutil, subprocess, sys, time
import libkube

data, node, node_ip, pod_cidr, br, cg, rt, tmp, kport, kubectl = sys.argv[1:11]
net = pod_cidr.rsplit(".", 1)[0] + "."

def wait(what, fn, secs=60):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit("FAIL timed out waiting for " + what)

def gone(pod):  # through the current server's client `c`
    try:
        c.get("v1", "Pod", pod, namespace="default")
        return False
    except libkube.ApiError as e:
        return e.code == 404

for bad in ({"node_name": 3}, {"no_such_option": "x"}, "yes"):
    try:
        libkube.Server(node=bad)
        print("FAIL node=%r accepted" % (bad,))
    except (TypeError, ValueError) as e:
        print("ok node=%r refused: %s" % (bad, e))

opts = {"node_name": node, "node_ip": node_ip, "pod_cidr": pod_cidr,
        "cni_bridge": br, "cgroup_parent": cg, "runtime_root": rt}
with libkube.Server(data_dir=data, node=opts, controllers=False) as srv:
    c = srv.client()
    def ready():
        try:
            n = c.get("v1", "Node", node)
        except libkube.ApiError:
            return None
        return any(x["type"] == "Ready" and x["status"] == "True"
                   for x in n.get("status", {}).get("conditions", []))
    wait("the Node to be Ready", ready)
    print("ok Node %s Ready" % node)
    c.create({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "py", "namespace": "default"},
              "spec": {"containers": [{"name": "c", "image": "busybox:1.35.0",
                                       "command": ["sh", "-c",
                                                   "echo hello-from-python; sleep 3600"]}]}})
    def running():
        p = c.get("v1", "Pod", "py", namespace="default")
        return p if p.get("status", {}).get("phase") == "Running" else None
    p = wait("the pod to run", running)
    print("ok pod Running on %s" % p["spec"]["nodeName"])
    ip = p["status"].get("podIP", "")
    print(("ok" if ip.startswith(net) else "FAIL") + " podIP %s in %s" % (ip, pod_cidr))
    cs = p["status"]["containerStatuses"][0]
    print(("ok" if cs["containerID"].startswith("libkube://") and cs["ready"]
           else "FAIL") + " container status %s ready=%s" % (cs["containerID"], cs["ready"]))
    c.delete("v1", "Pod", "py", namespace="default")
    wait("the pod to be gone", lambda: gone("py"))
    print("ok pod deleted and gone")
print("ok server closed")

# ---- the kubelet port ----
for bad in ("nonsense", 7, "1.2.3.4:"):
    try:
        libkube.Server(node={"node_name": node, "kubelet_listen": bad})
        print("FAIL kubelet_listen=%r accepted" % (bad,))
    except (TypeError, ValueError) as e:
        print("ok kubelet_listen=%r refused: %s" % (bad, e))
try:
    libkube.Server(data_dir=tmp + "/nolisten", node=dict(opts, kubelet_listen="%s:%s" % (node_ip, kport)))
    print("FAIL a kubelet port without a TCP listener (no cluster CA) accepted")
except ValueError as e:
    print("ok a kubelet port without a TCP listener refused: %s" % e)

etcd = shutil.which("etcd") or ("/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None)
etcd_proc = None
store = {}
if etcd:
    etcd_proc = subprocess.Popen(
        [etcd, "--name", "default", "--data-dir", tmp + "/etcd",
         "--listen-client-urls", "http://127.0.0.1:2379",
         "--advertise-client-urls", "http://127.0.0.1:2379",
         "--listen-peer-urls", "http://127.0.0.1:2380",
         "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
         "--initial-cluster", "default=http://127.0.0.1:2380",
         "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=open(tmp + "/etcd.log", "w"))
    store = {"store": "etcd", "etcd_endpoints": "http://127.0.0.1:2379"}
    def etcd_up():
        r = subprocess.run(["curl", "-sf", "http://127.0.0.1:2379/health"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0
    wait("etcd to answer", etcd_up, 30)
else:
    print("skipped the second API server: etcd missing")

d1 = data  # the busybox image is in its image store
kopts = dict(opts, kubelet_listen="%s:%s" % (node_ip, kport))
try:
  with libkube.Server(data_dir=d1, listen=["tcp:127.0.0.1:0"], node=kopts,
                      controllers=False, **store) as srv:
    c = srv.client()
    wait("the Node to be Ready", ready)
    n = c.get("v1", "Node", node)
    got = n.get("status", {}).get("daemonEndpoints", {}).get("kubeletEndpoint", {}).get("Port")
    print(("ok" if str(got) == kport else "FAIL") +
          " the Node's daemonEndpoints.kubeletEndpoint.Port is %s (want %s)" % (got, kport))
    c.create({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "kp", "namespace": "default"},
              "spec": {"containers": [{"name": "c", "image": "busybox:1.35.0",
                                       "command": ["sh", "-c",
                                                   "echo kp-1; echo kp-2; exec sleep 3600"]}]}})
    def kp_running():
        p = c.get("v1", "Pod", "kp", namespace="default")
        return p if p.get("status", {}).get("phase") == "Running" else None
    wait("pod kp to run", kp_running)
    print("ok pod kp Running")
    url = "https://%s:%s/containerLogs/default/kp/c" % (node_ip, kport)
    def port_logs():
        r = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", d1 + "/ca.crt",
                            "--cert", d1 + "/kubelet-client.crt", "--key", d1 + "/kubelet-client.key",
                            url], capture_output=True, text=True)
        return r.stdout if "kp-2" in r.stdout else None
    try:
        wait("the logs over the kubelet port", port_logs, 20)
        print("ok GET /containerLogs/default/kp/c over the kubelet port with the kubelet client certificate")
    except SystemExit as e:
        print("FAIL " + str(e)[5:])
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", d1 + "/ca.crt", url],
                       capture_output=True, text=True)
    print(("ok" if "kp-1" not in r.stdout else "FAIL") +
          " the kubelet port refuses a client without a certificate (%s)" %
          (r.stdout.strip()[:80] or r.stderr.strip()[:80]))
    if etcd:
        # A second API server of the cluster: same store, same CA, no node.
        d2 = tmp + "/kp2"
        os.makedirs(d2, mode=0o700)
        for f in ("ca.crt", "ca.key"):
            shutil.copy2(d1 + "/" + f, d2 + "/" + f)
        with libkube.Server(data_dir=d2, listen=["tcp:127.0.0.1:0"],
                            controllers=False, scheduler=False, **store) as srv2:
            env = dict(os.environ, KUBECONFIG=srv2.kubeconfig)
            r = subprocess.run([kubectl, "logs", "kp", "--tail=1"], env=env,
                               capture_output=True, text=True, timeout=60)
            print(("ok" if r.stdout == "kp-2\n" else "FAIL") +
                  " kubectl logs --tail=1 through the second server: %r %s" % (r.stdout, r.stderr.strip()))
            r = subprocess.run([kubectl, "exec", "kp", "--", "sh", "-c", "echo via-port; exit 3"],
                               env=env, capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            print(("ok" if r.returncode == 3 and r.stdout == "via-port\n" else "FAIL") +
                  " kubectl exec through the second server exits 3: rc=%d %r %s" %
                  (r.returncode, r.stdout, r.stderr.strip()))
            r = subprocess.run([kubectl, "exec", "-i", "kp", "--", "cat"], input="stdin-ok\n",
                               env=env, capture_output=True, text=True, timeout=60)
            print(("ok" if r.stdout == "stdin-ok\n" else "FAIL") +
                  " kubectl exec -i through the second server: %r %s" % (r.stdout, r.stderr.strip()))
            c2 = libkube.Client(kubeconfig=srv2.kubeconfig)
            got = c2.logs("kp", namespace="default")
            print(("ok" if got == "kp-1\nkp-2\n" else "FAIL") +
                  " libkube.Client.logs through the second server: %r" % got)
            code, so, se = c2.exec("kp", ["sh", "-c", "echo py-port; exit 4"], namespace="default")
            print(("ok" if (code, so) == (4, "py-port\n") else "FAIL") +
                  " libkube.Client.exec through the second server: %r" % ((code, so, se),))
    c.delete("v1", "Pod", "kp", namespace="default")
    wait("pod kp to be gone", lambda: gone("kp"))
    print("ok pod kp deleted and gone")
  print("ok the kubelet-port server closed")
finally:
    if etcd_proc:
        etcd_proc.terminate()
        etcd_proc.wait()
PY
)
rc=$?
while IFS= read -r line; do
    case $line in
        ok\ *) ok "${line#ok }" ;;
        FAIL\ *) bad "${line#FAIL }" ;;
        *) echo "$line" ;;
    esac
done <<< "$out"
[ $rc = 0 ] && ok "python exits 0" || bad "python exits 0 (rc $rc)"
