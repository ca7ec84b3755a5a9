#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kubectl logs/exec/attach/port-forward/cp against pods that `kubed
# server`'s own node runs (root): the API server hands each request to the
# node's streaming server in the same process, which finds the container
# through the node agent.  Real pods from the offline busybox image; the
# real kubectl 1.32 over WebSocket and with SPDY forced, kubectl 1.20 when
# present, the Python client's stream(), and `kube`.  Each upgrade's
# negotiated protocol is read from kubed's log (kubectl falls back from
# WebSocket to SPDY silently).
#   test-pod-streaming.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
for t in curl cmp sha256sum; do command -v $t >/dev/null || skip "$t missing"; done
[ -x "$KUBECTL" ] || skip "$KUBECTL missing"
PY=/usr/bin/python3
$PY -c 'import kubernetes.stream, websocket' 2>/dev/null || skip "python3-kubernetes / python3-websocket missing"
trap 'finish; exit $?' EXIT INT TERM

SPDY=KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false
PF_SPDY=KUBECTL_PORT_FORWARD_WEBSOCKETS=false
# each_client FN: FN NAME COMMAND ENV TRANSPORT PROTOCOL for each client
# of exec, attach and cp.
each_client() {
    $1 kubectl-1.32 $KUBECTL X=1 websocket v5.channel.k8s.io
    $1 kubectl-1.32-spdy $KUBECTL $SPDY spdy v5.channel.k8s.io
    if [ -n "$K120" ]; then $1 kubectl-1.20 $K120 X=1 spdy v4.channel.k8s.io; fi
}

# Upgrades logged by the streaming server after mark: "node: VERB PATH:
# TRANSPORT PROTOCOL".
mark() { at=$(wc -l < "$tmp/kubed.log"); }
upgraded() { # upgraded PATH-PART TRANSPORT PROTOCOL
    tail -n +$((at + 1)) "$tmp/kubed.log" | grep -q "node: [a-z]* [^ ]*$1: $2 $3\$"
}
upgrades() { tail -n +$((at + 1)) "$tmp/kubed.log" | grep "node: [a-z]* /" | tail -5; }

pod() { # pod NAME SPEC-YAML (spec indented by 2)
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2"
}
ready_all() { [ "$(jp pod/$1 '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

setup_pods() {
    apply "$(pod sp "  containers:
  - name: main
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www && echo pf-ok > /www/index.html && httpd -p 8080 -h /www && echo hello && for i in 1 2 3 4 5; do echo line-\$i; done; exec sleep 1000000']
  - name: side
    image: busybox:1.35.0
    command: [sh, -c, 'echo side-err >&2; exec sleep 1000000']")"
    apply "$(pod att "  restartPolicy: Never
  containers:
  - {name: a1, image: busybox:1.35.0, stdin: true, stdinOnce: true, command: [sh, -c, 'while read l; do echo got:\$l; done; echo bye']}
  - {name: a2, image: busybox:1.35.0, stdin: true, stdinOnce: true, command: [sh, -c, 'while read l; do echo got:\$l; done; echo bye']}
  - {name: a3, image: busybox:1.35.0, stdin: true, stdinOnce: true, command: [sh, -c, 'while read l; do echo got:\$l; done; echo bye']}
  - {name: a4, image: busybox:1.35.0, stdin: true, stdinOnce: true, command: [sh, -c, 'while read l; do echo got:\$l; done; echo bye']}")"
    # Runs twice: the first instance exits 3, the second stays.
    apply "$(pod crash "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'n=\$((\$(cat /v/n 2>/dev/null || echo 0) + 1)); echo \$n > /v/n; echo gen-\$n; [ \$n -ge 2 ] && exec sleep 1000000; exit 3']
    volumeMounts: [{name: v, mountPath: /v}]
  volumes: [{name: v, emptyDir: {}}]")"
    apply "$(pod ends "  restartPolicy: Never
  containers:
  - {name: e1, image: busybox:1.35.0, command: [sh, -c, 'echo start; while [ ! -e /tmp/stop ]; do sleep 0.1; done; echo end-line']}
  - {name: e2, image: busybox:1.35.0, command: [sh, -c, 'echo start; while [ ! -e /tmp/stop ]; do sleep 0.1; done; echo end-line']}")"
    apply "$(pod noimage "  containers:
  - {name: c, image: 'localhost:1/no/such:image'}")"
    hp=$((10000 + rnd % 9000))
    apply "$(pod hostnet "  hostNetwork: true
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /tmp/w && echo host-ok > /tmp/w/index.html && exec httpd -f -p $hp -h /tmp/w']")"
    for p in sp att ends hostnet; do
        wait_until 60 ready_all $p || bad "pod $p Ready" "$(K describe pod $p)"
    done
    wait_until 20 log_has sp main line-5 && wait_until 20 log_has sp side side-err ||
        bad "sp logged its lines" "$(podlog sp main)"
}

# ---- logs ----

sec_logs() {
    mark
    out=$(KC logs sp -c main 2>&1)
    [ "$out" = "hello
line-1
line-2
line-3
line-4
line-5" ] && ok "logs -c main" || bad "logs" "$out"
    out=$(KC logs sp -c main --tail=2 2>&1)
    [ "$out" = "line-4
line-5" ] && ok "logs --tail=2" || bad "logs --tail=2" "$out"
    out=$(KC logs sp -c main --timestamps --tail=1 2>&1)
    echo "$out" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9:]+) line-5$' &&
        ok "logs --timestamps: $out" || bad "logs --timestamps" "$out"
    out=$(KC logs sp -c main --since=1h 2>&1)
    printf '%s\n' "$out" | grep -qx hello && ok "logs --since=1h has every line" || bad "logs --since=1h" "$out"
    sleep 2 # the lines are older than 1 s now
    out=$(KC logs sp -c main --since=1s 2>&1)
    [ -z "$out" ] && ok "logs --since=1s: nothing newer" || bad "logs --since=1s" "$out"
    out=$(KC logs sp -c main --since-time=2000-01-01T00:00:00Z --tail=1 2>&1)
    [ "$out" = line-5 ] && ok "logs --since-time" || bad "logs --since-time" "$out"
    out=$(KC logs sp -c side 2>/dev/null)
    [ "$out" = side-err ] && ok "logs -c side (its stderr)" || bad "logs -c side" "$out"
    out=$(KC logs sp --all-containers 2>&1)
    printf '%s\n' "$out" | grep -qx line-5 && printf '%s\n' "$out" | grep -qx side-err &&
        ok "logs --all-containers" || bad "logs --all-containers" "$out"
    out=$(KC logs sp -c nope 2>&1)
    echo "$out" | grep -q "container nope is not valid for pod sp" && ok "logs -c nope: BadRequest" || bad "logs -c nope" "$out"
    # --previous after a restart
    wait_until 60 log_has crash c gen-2 || bad "crash restarted" "$(K describe pod crash)"
    out=$(KC logs crash 2>&1)
    [ "$out" = gen-2 ] && ok "logs after a restart: the current instance" || bad "logs crash" "$out"
    out=$(KC logs crash --previous 2>&1)
    [ "$out" = gen-1 ] && ok "logs --previous: the instance before the restart" || bad "logs --previous" "$out"
    out=$(KC logs sp -c main --previous 2>&1)
    echo "$out" | grep -q 'previous terminated container "main" in pod "sp" not found' &&
        ok "logs --previous without a restart: the kubelet's error" || bad "logs --previous, no restart" "$out"
    wait_until 30 waiting_is noimage ImagePullBackOff || bad "noimage: ImagePullBackOff" "$(K describe pod noimage)"
    out=$(KC logs noimage 2>&1)
    echo "$out" | grep -q 'container "c" in pod "noimage" is waiting to start: trying and failing to pull image' &&
        ok "logs of a container that cannot pull: the kubelet's BadRequest" || bad "logs noimage" "$out"
    # -f: waits for lines and ends when the container ends
    follow e1 "X=1" "$KUBECTL" "kubectl-1.32"
    wait_until 20 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod ends -o 'jsonpath={.status.containerStatuses[0].state.terminated.reason}')\" = Completed ]"
    out=$(KC exec ends -c e1 -- true 2>&1)
    echo "$out" | grep -q 'container not found ("e1")' && ok "exec into a container that ended: container not found" || bad "exec ended container" "$out"
    out=$(KC logs ends -c e1 2>&1)
    [ "$out" = "start
end-line" ] && ok "logs of a container that ended" || bad "logs ended container" "$out"
    follow e2 "X=1" "$KUBE" "kube"
    if [ -n "$K120" ]; then
        out=$(C X=1 $K120 logs sp -c main --tail=1 2>&1)
        [ "$out" = line-5 ] && ok "kubectl-1.20 logs --tail=1" || bad "kubectl-1.20 logs" "$out"
        out=$(C X=1 $K120 logs crash --previous 2>&1)
        [ "$out" = gen-1 ] && ok "kubectl-1.20 logs --previous" || bad "kubectl-1.20 logs --previous" "$out"
    fi
    out=$(K logs sp -c main --tail=1 2>&1)
    [ "$out" = line-5 ] && ok "kube logs --tail=1" || bad "kube logs" "$out"
    out=$(C X=1 $PY -c "
from kubernetes import client, config
config.load_kube_config()
v1 = client.CoreV1Api()
print(repr(v1.read_namespaced_pod_log('sp', 'default', container='main', tail_lines=1)))
print(repr(v1.read_namespaced_pod_log('crash', 'default', previous=True)))" 2>&1)
    [ "$out" = "'line-5\\n'
'gen-1\\n'" ] && ok "python client: read_namespaced_pod_log (tail, previous)" || bad "python logs" "$out"
}

follow() { # follow CONTAINER ENV CLIENT NAME
    Cbg "$2" "$3" logs -f ends -c $1 > "$tmp/follow-$1" 2>&1
    fpid=$!
    wait_until 20 grep -qx start "$tmp/follow-$1" || bad "$4 logs -f: first line" "$(cat "$tmp/follow-$1")"
    C X=1 "$KUBECTL" exec ends -c $1 -- touch /tmp/stop >/dev/null 2>&1
    if wait_until 30 sh -c "! kill -0 $fpid 2>/dev/null"; then
        wait $fpid
        rc=$?
        [ $rc = 0 ] && [ "$(cat "$tmp/follow-$1")" = "start
end-line" ] && ok "$4 logs -f: new lines, then ends with the container" ||
            bad "$4 logs -f" "rc=$rc" "$(cat "$tmp/follow-$1")"
    else
        kill $fpid 2>/dev/null; wait $fpid 2>/dev/null
        bad "$4 logs -f ends when the container does" "$(cat "$tmp/follow-$1")"
    fi
}

# ---- exec, attach, cp ----

exec_client() { # NAME COMMAND ENV TRANSPORT PROTOCOL
    name=$1 cmd=$2 env=$3 tr=$4 proto=$5
    mark
    C $env $cmd exec sp -c main -- sh -c 'echo out; echo err >&2; exit 3' > "$tmp/o" 2> "$tmp/e" </dev/null
    rc=$?
    [ $rc = 3 ] && [ "$(cat "$tmp/o")" = out ] && grep -qx err "$tmp/e" &&
        ok "$name: exec exits 3, stdout and stderr apart" || bad "$name: exec exit 3" "rc=$rc" "$(cat "$tmp/o" "$tmp/e")"
    upgraded /pods/sp/exec $tr $proto && ok "$name: exec negotiated $tr $proto" || bad "$name: exec upgrade" "$(upgrades)"
    seq 1 20000 > "$tmp/in"
    out=$(C $env $cmd exec -i sp -c main -- sh -c 'cat | sha256sum | cut -d" " -f1' < "$tmp/in" 2>&1)
    [ "$out" = "$(sha256sum < "$tmp/in" | cut -d' ' -f1)" ] && ok "$name: exec -i (108 KB through stdin)" || bad "$name: exec -i" "$out"
    # cp both ways (tar through exec)
    src=$tmp/cp-$name
    mkdir -p "$src/sub"
    echo alpha > "$src/a.txt"
    head -c 300000 /dev/urandom > "$src/sub/b.bin"
    C $env $cmd cp "$src" sp:/tmp/cp-$name -c main > "$tmp/o" 2>&1 </dev/null || bad "$name: cp to the pod" "$(cat "$tmp/o")"
    out=$(C X=1 "$KUBECTL" exec sp -c main -- sha256sum /tmp/cp-$name/sub/b.bin 2>&1 </dev/null)
    [ "${out%% *}" = "$(sha256sum < "$src/sub/b.bin" | cut -d' ' -f1)" ] && ok "$name: cp into the pod" || bad "$name: cp into the pod" "$out"
    C $env $cmd cp sp:/tmp/cp-$name "$tmp/back-$name" -c main > "$tmp/o" 2>&1 </dev/null &&
        cmp -s "$src/sub/b.bin" "$tmp/back-$name/sub/b.bin" && cmp -s "$src/a.txt" "$tmp/back-$name/a.txt" &&
        ok "$name: cp out of the pod" || bad "$name: cp out of the pod" "$(cat "$tmp/o")"
}

sec_exec() {
    each_client exec_client
    exec_client kube "$KUBE" X=1 websocket v5.channel.k8s.io
    mark
    out=$(C X=1 $PY -c "
from kubernetes import client, config
from kubernetes.stream import stream
config.load_kube_config()
v1 = client.CoreV1Api()
o = stream(v1.connect_get_namespaced_pod_exec, 'sp', 'default', container='main',
           command=['sh', '-c', 'echo py; exit 6'], stderr=True, stdin=False,
           stdout=True, tty=False, _preload_content=False)
o.run_forever(timeout=20)
print(o.returncode, repr(o.read_stdout()))" 2>&1)
    [ "$out" = "6 'py\\n'" ] && ok "python client: stream() exec, exit code 6" || bad "python exec" "$out"
    upgraded /pods/sp/exec websocket v4.channel.k8s.io && ok "python exec negotiated websocket v4.channel.k8s.io" || bad "python exec upgrade" "$(upgrades)"
    out=$(KC exec sp -c main -- /no/such/cmd 2>&1)
    rc=$?
    [ $rc -ne 0 ] && echo "$out" | grep -q "no/such/cmd" && ok "exec of a missing binary fails and says so (rc=$rc)" || bad "exec missing binary" "rc=$rc" "$out"
}

attach_client() { # NAME COMMAND ENV TRANSPORT PROTOCOL (container $c)
    name=$1 cmd=$2 env=$3 tr=$4 proto=$5
    mark
    out=$(printf 'one\ntwo\n' | C $env $cmd attach -i att -c $c 2>&1)
    printf '%s\n' "$out" | grep -qx got:one && printf '%s\n' "$out" | grep -qx got:two &&
        ok "$name: attach -i (stdin in, output back)" || bad "$name: attach -i" "$out"
    upgraded /pods/att/attach $tr $proto && ok "$name: attach negotiated $tr $proto" || bad "$name: attach upgrade" "$(upgrades)"
    c=a$((${c#a} + 1))
}

sec_attach() {
    c=a1
    each_client attach_client
    c=a4
    attach_client kube $KUBE X=1 websocket v5.channel.k8s.io
}

# ---- port-forward ----

sec_portforward() {
    lp=$((30000 + rnd % 20000))
    for v in "kubectl-1.32 $KUBECTL X=1 spdy-over-websocket SPDY/3.1+portforward.k8s.io" \
             "kubectl-1.32-spdy $KUBECTL $PF_SPDY spdy portforward.k8s.io" \
             "kubectl-1.20 ${K120:-none} X=1 spdy portforward.k8s.io" \
             "kube $KUBE X=1 spdy-over-websocket SPDY/3.1+portforward.k8s.io"; do
        set -- $v
        name=$1 cmd=$2 env=$3 tr=$4 proto=$5
        [ -x "$cmd" ] || continue
        lp=$((lp + 1))
        mark
        Cbg $env $cmd port-forward pod/sp $lp:8080 > "$tmp/pf.out" 2>&1
        pf=$!
        got=""
        for i in $(seq 1 100); do
            got=$(IN curl -s --max-time 5 http://127.0.0.1:$lp/) && [ -n "$got" ] && break
            sleep 0.1
        done
        [ "$got" = pf-ok ] && ok "$name: port-forward, curl through it" || bad "$name: port-forward" "$got" "$(cat "$tmp/pf.out")"
        got=$(IN curl -s --max-time 5 http://127.0.0.1:$lp/)
        [ "$got" = pf-ok ] && ok "$name: port-forward, a second connection" || bad "$name: second connection" "$got"
        upgraded /pods/sp/portforward $tr $proto && ok "$name: port-forward negotiated $tr $proto" || bad "$name: port-forward upgrade" "$(upgrades)"
        kill $pf 2>/dev/null; wait $pf 2>/dev/null
    done
    lp=$((lp + 1))
    Cbg X=1 "$KUBECTL" port-forward pod/hostnet $lp:$hp > "$tmp/pf.out" 2>&1
    pf=$!
    wait_until 20 sh -c "[ \"\$(ip netns exec $NS curl -s --max-time 5 http://127.0.0.1:$lp/)\" = host-ok ]" &&
        ok "port-forward to a hostNetwork pod (the node's namespace)" || bad "hostNetwork port-forward" "$(cat "$tmp/pf.out")"
    kill $pf 2>/dev/null; wait $pf 2>/dev/null
}

# ---- the kubelet port (--kubelet-listen), for API servers elsewhere ----

sec_kubelet() {
    [ "$(jp node/$NODE '{.status.daemonEndpoints.kubeletEndpoint.Port}')" = $KP ] &&
        ok "Node daemonEndpoints.kubeletEndpoint.Port = $KP" || bad "kubeletEndpoint.Port" "$(jp node/$NODE '{.status.daemonEndpoints}')"
    base=https://$NODE_IP:$KP
    out=$(IN curl -s --cacert "$D/ca.crt" $base/healthz 2>&1)
    [ "$out" = ok ] && ok "kubelet port: healthz, serving certificate for the node IP from the cluster CA" || bad "kubelet healthz" "$out"
    out=$(IN curl -s --cacert "$D/ca.crt" -o /dev/null -w '%{http_code}' $base/containerLogs/default/sp/main 2>&1)
    [ "$out" = 401 ] && ok "kubelet port: no client certificate, 401" || bad "kubelet port without a certificate" "$out"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/other.key" \
        -out "$tmp/other.crt" -days 1 -subj /CN=other >/dev/null 2>&1
    out=$(IN curl -s --cacert "$D/ca.crt" --cert "$tmp/other.crt" --key "$tmp/other.key" $base/containerLogs/default/sp/main 2>&1)
    [ "$out" != line-5 ] && ok "kubelet port: a certificate from another CA is refused" || bad "foreign certificate accepted" "$out"
    cc="--cacert $D/ca.crt --cert $D/kubelet-client.crt --key $D/kubelet-client.key"
    out=$(IN curl -s $cc "$base/containerLogs/default/sp/main?tailLines=1" 2>&1)
    [ "$out" = line-5 ] && ok "kubelet port: logs with the API server's kubelet client certificate" || bad "kubelet port logs" "$out"
    out=$(C X=1 $PY -c "
import ssl, sys, websocket
ws = websocket.create_connection(
    '$base/exec/default/sp/main?command=sh&command=-c&command=echo+kp%3B+exit+4&output=1&stdout=1&stderr=1'.replace('https', 'wss'),
    subprotocols=['v4.channel.k8s.io'],
    sslopt={'ca_certs': '$D/ca.crt', 'certfile': '$D/kubelet-client.crt', 'keyfile': '$D/kubelet-client.key'})
out, status = b'', ''
while True:
    try:
        m = ws.recv()
    except websocket.WebSocketConnectionClosedException:
        break
    if not m:
        break
    m = m.encode() if isinstance(m, str) else m
    if m[0] == 1:
        out += m[1:]
    elif m[0] == 3:
        status += m[1:].decode()
print(out.decode().strip(), status)" 2>&1)
    case $out in "kp "*'"ExitCode"'*'"4"'*) ok "kubelet port: exec over WebSocket (v4), exit code 4 in the Status" ;;
        *) bad "kubelet port exec" "$out" ;; esac
}

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
KP=$((20000 + rnd % 9000))
KFLAGS="--kubelet-listen $NODE_IP:$KP"
start_kubed $KFLAGS || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"
setup_pods
for s in ${*:-logs exec attach portforward kubelet}; do
    echo "# $s"
    sec_$s
done
[ -n "$K120" ] || echo "skipped kubectl 1.20: $K120_WHY"
# kubed stops cleanly with a port-forward open (the streaming server closes
# its sessions), and the client sees its connection end; the pods keep
# running and the next kubed adopts them.
lp=$((30000 + rnd % 20000 + 10))
Cbg X=1 "$KUBECTL" port-forward pod/sp $lp:8080 > "$tmp/pf.out" 2>&1
pf=$!
wait_until 20 sh -c "[ \"\$(ip netns exec $NS curl -s --max-time 5 http://127.0.0.1:$lp/)\" = pf-ok ]" ||
    bad "a port-forward open at the end" "$(cat "$tmp/pf.out")"
kill -TERM $kubed_pid
wait $kubed_pid
rc=$?
kubed_pid=""
[ $rc = 0 ] && ok "kubed stops cleanly (exit 0)" || bad "kubed stops cleanly" "exit status $rc" "$(tail -5 "$tmp/kubed.log")"
if wait_until 20 sh -c "! kill -0 $pf 2>/dev/null"; then
    ok "the port-forward client ends with kubed"
else
    bad "the port-forward client ends with kubed" "$(cat "$tmp/pf.out")"
    kill $pf 2>/dev/null
fi
wait $pf 2>/dev/null
start_kubed $KFLAGS && ok "kubed starts again over the same pods" || bad "kubed restarts" "$(tail -20 "$tmp/kubed.log")"
# The restarted kubed adopted the containers: its node streams them (once
# its adoption is through; until then the node answers "pod does not
# exist").
logs_tail_is() { [ "$(KC logs sp -c main --tail=1 2>&1)" = "$1" ]; }
wait_until 30 logs_tail_is line-5 && ok "after the restart: logs of an adopted container" ||
    bad "logs after restart" "$(KC logs sp -c main --tail=1 2>&1)"
out=$(KC logs crash --previous 2>&1)
[ "$out" = gen-1 ] && ok "after the restart: logs --previous" || bad "logs --previous after restart" "$out"
out=$(KC exec sp -c main -- echo adopted 2>&1 </dev/null)
[ "$out" = adopted ] && ok "after the restart: exec" || bad "exec after restart" "$out"
lp=$((lp + 1))
Cbg X=1 "$KUBECTL" port-forward pod/sp $lp:8080 > "$tmp/pf.out" 2>&1
pf=$!
wait_until 20 sh -c "[ \"\$(ip netns exec $NS curl -s --max-time 5 http://127.0.0.1:$lp/)\" = pf-ok ]" &&
    ok "after the restart: port-forward" || bad "port-forward after restart" "$(cat "$tmp/pf.out")"
kill $pf 2>/dev/null; wait $pf 2>/dev/null
