#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static pods and the node's garbage collection end to end (root): kubed
# with its node in a network namespace of the test's own.
#  static: a manifest put in DATA/manifests (the default --pod-manifest-path)
#    runs as NAME-NODE with the kubelet's annotations, and its mirror pod
#    shows in kubectl get pods (owned by the Node, the mirror annotation,
#    the pod's status); the mirror annotation cannot be changed; a mirror
#    deleted comes back while the pod keeps running; a kubed restart
#    keeps its container; the file edited replaces the pod; a bad manifest is one
#    clear log line and nothing else; the file removed stops the pod and
#    deletes the mirror.
#  gc: a crashing container's dead instances stay bounded (the kubelet's
#    MaxPerPodContainer 1) while `kubectl logs --previous` still works.
#  imagegc: kubed restarted with --image-gc-high-threshold 2
#    --image-gc-low-threshold 1: an image no pod uses is removed, the one a
#    running pod uses is kept; FreeDiskSpaceFailed/ImageGCFailed on the
#    Node with the kubelet's wording (it cannot free down to 1 %).
#   test-static-pods.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
trap 'rm -f "$D"/manifests/*; finish; exit $?' EXIT INT TERM

M=$D/manifests
ann() { jp "pod/$1" "{.metadata.annotations.kubernetes\\.io/config\\.$2}"; }
cid() { jp "pod/$1" '{.status.containerStatuses[0].containerID}'; }
uid_of() { jp "pod/$1" '{.metadata.uid}'; }
kubed_log_has() { grep -q -- "$1" "$tmp/kubed.log"; }
mirror_back() { [ -n "$(uid_of $1)" ] && [ "$(uid_of $1)" != "$2" ] && running $1; }

sec_static() {
    P=web-$NODE
    cat > $M/web.yaml <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'echo static-start; exec sleep 3600']
YAML
    wait_until 30 running $P && ok "manifest added: $P Running (kube get pods)" || bad "$P running" "$(K get pods -o wide 2>&1)" "$(grep -i static $tmp/kubed.log | tail -5)"
    out=$(KC get pods --no-headers 2>&1)
    echo "$out" | grep -q "^$P  *1/1  *Running" && ok "kubectl get pods lists the mirror pod Running" || bad "kubectl get pods" "$out"
    [ "$(ann $P source)" = file ] && [ -n "$(ann $P hash)" ] && [ "$(ann $P mirror)" = "$(ann $P hash)" ] &&
        ok "annotations config.source=file, config.mirror = config.hash" || bad "annotations" "$(jp pod/$P '{.metadata.annotations}')"
    [ "$(jp pod/$P '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" = "Node/$NODE" ] &&
        [ "$(jp pod/$P '{.metadata.ownerReferences[0].uid}')" = "$(jp node/$NODE '{.metadata.uid}')" ] &&
        ok "the mirror is owned by the Node" || bad "ownerReferences" "$(jp pod/$P '{.metadata.ownerReferences}')"
    [ "$(jp pod/$P '{.spec.nodeName}')" = $NODE ] && ok "bound to the node" || bad "nodeName"
    out=$(KC logs $P 2>&1)
    [ "$out" = static-start ] && ok "kubectl logs of the static pod through its mirror" || bad "logs" "$out"
    out=$(KC annotate pod $P kubernetes.io/config.mirror=other --overwrite 2>&1)
    echo "$out" | grep -q 'may not remove or update mirror pod annotation' &&
        ok "changing the mirror annotation is refused (Forbidden)" || bad "mirror annotation update" "$out"
    out=$(KC label pod $P extra=1 2>&1) && ok "labels of the mirror may change" || bad "label mirror" "$out"
    apply 'apiVersion: v1
kind: Pod
metadata:
  name: plain
  annotations: {kubernetes.io/config.mirror: x}
spec:
  containers: [{name: c, image: busybox:1.35.0, command: [sleep, "3600"]}]' 2>/dev/null
    out=$(KC annotate pod plain kubernetes.io/config.mirror- 2>&1)
    echo "$out" | grep -q 'may not remove or update mirror pod annotation' &&
        ok "removing a mirror annotation is refused" || bad "mirror annotation removal" "$out"
    KC delete pod plain --grace-period=0 --force >/dev/null 2>&1
    # deleting the mirror: the kubelet makes a new one, the pod runs on
    u1=$(uid_of $P); c1=$(cid $P)
    KC delete pod $P --wait=false >/dev/null 2>&1
    wait_until 30 mirror_back $P "$u1" && ok "mirror deleted: re-created (new UID) and Running" || bad "mirror back" "$(K get pod $P -o yaml 2>&1 | head -30)"
    [ "$(cid $P)" = "$c1" ] && ok "... the static pod kept its container ($c1)" || bad "container changed" "$c1 -> $(cid $P)"
    # kubed restarted: the static pod's container is adopted, not restarted
    c2=$(cid $P)
    stop_kubed TERM
    start_kubed || bad "kubed restart"
    wait_until 30 running $P && [ "$(cid $P)" = "$c2" ] && [ "$(jp pod/$P '{.status.containerStatuses[0].restartCount}')" = 0 ] &&
        ok "kubed restarted: the static pod runs on in the same container" || bad "static pod after restart" "$c2 -> $(cid $P)" "$(K get pod $P -o wide 2>&1)"
    # bad manifests: a clear line each, no crash, the others unaffected
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: c}]\n' > $M/bad.yaml
    printf '{"apiVersion": "v1", "kind": ' > $M/broken.json
    wait_until 10 sh -c "grep -q 'could not process manifest file $M/bad.yaml: invalid pod: .*image' $tmp/kubed.log && grep -q 'could not process manifest file $M/broken.json' $tmp/kubed.log" &&
        ok "bad manifests: one clear log line each" || bad "bad manifest log" "$(grep -i manifest $tmp/kubed.log | tail -5)"
    grep 'could not process manifest file' $tmp/kubed.log | head -2 | sed 's/^/    /'
    kill -0 $kubed_pid && running $P && gone bad-$NODE && ok "kubed alive, the good pod runs on, no pod for the bad file" || bad "after bad manifests"
    sleep 1
    [ "$(grep -c "could not process manifest file $M/bad.yaml" $tmp/kubed.log)" = 1 ] && ok "... said once" || bad "said more than once"
    rm -f $M/bad.yaml $M/broken.json
    # the file edited: a new pod (new hash) replaces the old, a new mirror
    h1=$(ann $P hash)
    sed -i 's/static-start/static-edited/' $M/web.yaml
    edited() { h=$(ann $P hash); [ -n "$h" ] && [ "$h" != "$h1" ] && [ "$(ann $P mirror)" = "$h" ] && running $P; }
    wait_until 40 edited && ok "manifest edited: a new static pod (config.hash changed) with its mirror, Running" || bad "edited" "$h1 -> $(ann $P hash)" "$(K get pods 2>&1)"
    wait_until 20 sh -c "[ \"\$(ip netns exec $NS $KUBECTL logs $P 2>&1)\" = static-edited ]" && ok "... running the edited command" || bad "edited logs" "$(KC logs $P 2>&1)"
    wait_until 30 sh -c "[ \$(ls $D/pods | wc -l) = 1 ]" && ok "... and the old pod is gone" || bad "old static pod gone" "$(ls $D/pods)"
    # the file removed: the pod stops, the mirror goes
    rm $M/web.yaml
    wait_until 40 gone $P && ok "manifest removed: the mirror pod is deleted" || bad "mirror gone" "$(K get pods 2>&1)"
    wait_until 40 sh -c "[ -z \"\$(ls $D/pods)\" ]" && ok "... and the pod stopped (its directory gone)" || bad "pod stopped" "$(ls $D/pods)"
}

sec_gc() {
    apply 'apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, "echo run-$RANDOM; exit 1"]'
    restarts_ge() { [ "$(jp pod/crash '{.status.containerStatuses[0].restartCount}')" -ge $1 ] 2>/dev/null; }
    wait_until 90 restarts_ge 3 || bad "crash restarts" "$(K get pod crash -o wide 2>&1)"
    # sampled while it waits in CrashLoopBackOff (the same restartCount
    # before and after the look): one dead instance, its log
    rc() { jp pod/crash '{.status.containerStatuses[0].restartCount}'; }
    ctrs() { ls -d "$D"/pods/*/containers/* 2>/dev/null | grep -c '/[0-9a-f]*$'; }
    logs() { ls "$D"/logs/pods/default_crash_*/c/ 2>/dev/null | wc -l; }
    seen=0; max_c=0; max_l=0; min_c=99; min_l=99
    for i in $(seq 1 100); do
        r1=$(rc)
        waiting_is crash CrashLoopBackOff || { sleep 0.2; continue; }
        c=$(ctrs); l=$(logs)
        waiting_is crash CrashLoopBackOff && [ "$(rc)" = "$r1" ] || continue
        seen=$((seen + 1))
        [ $c -gt $max_c ] && max_c=$c
        [ $l -gt $max_l ] && max_l=$l
        [ $c -lt $min_c ] && min_c=$c
        [ $l -lt $min_l ] && min_l=$l
        [ $seen -ge 5 ] && break
        sleep 0.2
    done
    # A look may land between a new instance's start and its status (2 for
    # a moment); unbounded would be one per restart (>= 4 by now).
    [ $seen -ge 1 ] && [ $min_c = 1 ] && [ $min_l = 1 ] && [ $max_c -le 2 ] && [ $max_l -le 2 ] &&
        ok "CrashLoopBackOff after $(rc) restarts: 1 dead container and 1 log file kept ($seen looks)" ||
        bad "dead instances bounded" "seen $seen containers $min_c-$max_c logs $min_l-$max_l" "$(ls -R "$D"/pods/*/containers "$D"/logs/pods/default_crash_*)"
    out=$(KC logs crash --previous 2>&1)
    echo "$out" | grep -q '^run-' && ok "kubectl logs --previous still works ($out)" || bad "logs --previous" "$out"
    K delete pod crash --grace-period=1 --wait=false >/dev/null
    wait_until 30 gone crash
}

images() { "$KUBE" image ls --data-dir "$D" 2>&1; }
has_image() { images | grep -q "^\(docker.io/library/\)\?$1 "; }
sec_imagegc() {
    apply 'apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  containers: [{name: c, image: "busybox:1.35.0", command: [sleep, "3600"]}]'
    wait_until 30 running user || bad "user running" "$(K get pod user -o wide 2>&1)"
    # an image no pod uses: busybox with one more label
    mkdir -p $tmp/ctx && printf 'FROM busybox:1.35.0\nLABEL gc=unused\n' > $tmp/ctx/Dockerfile
    out=$("$KUBE" build --data-dir "$D" -q -t gc-unused:1 $tmp/ctx 2>&1) || bad "kube build gc-unused" "$out"
    stop_kubed TERM
    has_image gc-unused && has_image busybox && ok "images before: gc-unused:1 and busybox:1.35.0" || bad "images before" "$(images)"
    start_kubed --image-gc-high-threshold 2 --image-gc-low-threshold 1 --image-gc-period 1 || bad "kubed with low image GC thresholds"
    wait_until 60 sh -c "! '$KUBE' image ls --data-dir '$D' | grep -q 'library/gc-unused '" &&
        ok "disk above --image-gc-high-threshold: the unused image gc-unused:1 is removed" || bad "unused image removed" "$(images)"
    has_image busybox && running user && ok "... busybox:1.35.0, which pod user runs, is kept and the pod runs on" || bad "used image kept" "$(images)"
    ev() { K get events --field-selector involvedObject.kind=Node -o 'jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null; }
    wait_until 20 sh -c "ip netns exec $NS '$KUBE' get events -o 'jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}' | grep -q 'FreeDiskSpaceFailed: Failed to garbage collect required amount of images. Attempted to free [0-9]* bytes, but only found [0-9]* bytes eligible to free.'" &&
        ok "FreeDiskSpaceFailed event on the Node with the kubelet's wording" || bad "FreeDiskSpaceFailed" "$(ev | sort | uniq -c | head)"
    wait_until 20 sh -c "ip netns exec $NS '$KUBE' get events -o 'jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}' | grep -q '^ImageGCFailed: Failed to garbage collect'" && ok "... and ImageGCFailed once it failed twice in a row" || bad "ImageGCFailed" "$(ev | sort | uniq -c | head)"
    grep 'image GC:' $tmp/kubed.log | head -1 | sed 's/^/    /'
    K delete pod user --grace-period=1 --wait=false >/dev/null
    wait_until 30 gone user
}

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
start_kubed || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"
sections=${*:-static gc imagegc}
for s in $sections; do
    echo "# $s"
    sec_$s
done
