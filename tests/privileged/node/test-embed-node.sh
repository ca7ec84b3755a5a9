#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# examples/embed/node.c: a C platform with an API server, the scheduler,
# the controllers and a node agent in one process, no HTTP.  It runs in
# the test's own network namespace; a pod it creates through its
# in-process client reaches Running in a real container, its logs are
# read, it is deleted, and the process exits 0 leaving nothing behind.
#
# usage: test-embed-node.sh KUBED KUBE SRC EMBED_PLATFORM_NODE
KUBED=$1 KUBE=$2 SRC=$3 PLATFORM=$4
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$PLATFORM" ] || skip "$PLATFORM was not built"
trap 'finish; exit $?' EXIT INT TERM

setup_netns || { echo "cannot create network namespace"; exit 1; }
mkdir -p "$D"
out=$(load_images) || { bad "load the busybox image" "$out"; exit 1; }

# nsenter --net, not ip netns exec (which hides the host's cgroup mounts).
out=$(CNI_BRIDGE=$BR CGROUP_PARENT=$CG RUNTIME_ROOT=$RT \
    timeout 240 nsenter --net=/run/netns/$NS "$PLATFORM" "$D" "$NODE" "$NODE_IP" "$POD_CIDR" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] && ok "embed-platform-node exits 0" || bad "embed-platform-node exits 0 (rc $rc)"
case $out in *"Pod hello created"*) ok "the pod is created through the in-process client" ;;
    *) bad "pod created" ;; esac
case $out in *"Pod hello: status.phase = Running"*) ok "the pod reaches Running on the in-process node" ;;
    *) bad "pod Running" ;; esac
case $out in *"Pod hello logs: hello from the embedded node"*) ok "its logs are read through the in-process client" ;;
    *) bad "pod logs" ;; esac
case $out in *"Pod hello deleted"*) ok "the pod is deleted and gone" ;;
    *) bad "pod deleted" ;; esac
