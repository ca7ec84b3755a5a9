#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# libkube.Server(node=...) from Python: a control plane and a node agent in
# one Python process (in the test's own network namespace) runs a pod from
# the offline busybox image through libkube.Client.
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
out=$(PYTHONPATH=$PYDIR PYTHONDONTWRITEBYTECODE=1 \
    nsenter --net=/run/netns/$NS /usr/bin/python3 -P - "$D" "$NODE" "$NODE_IP" \
    "$POD_CIDR" "$BR" "$CG" "$RT" 2>&1 <<'PY'
import sys, time
import libkube

data, node, node_ip, pod_cidr, br, cg, rt = sys.argv[1:8]
net = pod_cidr.rsplit(".", 1)[0] + "."

def wait(what, fn, secs=60):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit("FAIL timed out waiting for " + what)

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
    def gone():
        try:
            c.get("v1", "Pod", "py", namespace="default")
            return False
        except libkube.ApiError as e:
            return e.code == 404
    wait("the pod to be gone", gone)
    print("ok pod deleted and gone")
print("ok server closed")
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
