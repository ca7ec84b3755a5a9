#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Ephemeral containers and `kubectl debug` end to end (root): kubed with its
# node in a network namespace of the test's own, pods from the offline
# busybox image, the real kubectl 1.32.  A running pod gains a debug
# container (non-interactive: then exec and logs into it) that shares the
# pod's network, IPC and UTS namespaces but not its processes; `debug -it
# --target` attaches on a terminal (WebSocket, and SPDY forced) and sees
# the target's processes; ephemeralContainerStatuses in the kubelet's
# words, the events' field paths, never restarted, changed names refused
# (422); a kubed restart adopts them; the debug containers are killed
# with the pod (deleted, or ended with restartPolicy Never); `debug
# --copy-to` and `debug node/NAME`; then `kube debug` (pod, -it
# --target, node/NAME).
#   test-debug.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$KUBECTL" ] || skip "$KUBECTL missing"
PY=/usr/bin/python3
[ -x $PY ] || skip "$PY missing"
PTY="$PY $SRC/tests/privileged/node/pty_run.py"
trap 'finish; exit $?' EXIT INT TERM

IMG=busybox:1.35.0
pod() { # pod NAME SPEC-YAML (spec indented by 2)
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2"
}
# es POD NAME FIELD: a field of an ephemeral container's status
es() { jp "pod/$1" "{.status.ephemeralContainerStatuses[?(@.name==\"$2\")].$3}"; }
e_running() { [ -n "$(es "$1" "$2" state.running.startedAt)" ]; }
e_terminated() { [ -n "$(es "$1" "$2" state.terminated.finishedAt)" ]; }
ready_all() { [ "$(jp pod/$1 '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
# events about one container: "REASON fieldPath: message"
cevents() {
    K get events --field-selector involvedObject.name=$1 \
        -o 'jsonpath={range .items[*]}{.reason} {.involvedObject.fieldPath}: {.message}{"\n"}{end}' 2>/dev/null
}
mark() { at=$(wc -l < "$tmp/kubed.log"); }
upgraded() { tail -n +$((at + 1)) "$tmp/kubed.log" | grep -q "node: [a-z]* [^ ]*$1: $2 $3\$"; }

sec_plain() {
    apply "$(pod web "  containers:
  - name: app
    image: $IMG
    command: [sh, -c, 'mkdir -p /www && echo web-ok > /www/index.html && httpd -p 8080 -h /www && echo app-up && exec sleep 1000000']")"
    wait_until 60 ready_all web || { bad "pod web Ready" "$(K describe pod web)"; return; }
    out=$(KC debug web --image=$IMG -c dbg -- sh -c 'echo dbg-out; exec sleep 1000000' 2>&1)
    [ $? = 0 ] && ok "kubectl debug -c dbg (non-interactive) returns 0" || bad "kubectl debug" "$out"
    wait_until 30 e_running web dbg && ok "ephemeralContainerStatuses: dbg running" ||
        { bad "dbg running" "$(jp pod/web '{.status}')"; return; }
    [ "$(es web dbg restartCount)" = 0 ] && [ "$(es web dbg ready)" = false ] &&
        [ -z "$(es web dbg started)" ] && [ "$(es web dbg image)" = "docker.io/library/$IMG" ] &&
        case "$(es web dbg containerID)" in libkube://?*) true;; *) false;; esac &&
        ok "... restartCount 0, ready false, no started, image, containerID libkube://" ||
        bad "dbg status fields" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    [ "$(jp pod/web '{.status.phase}')" = Running ] && ready_all web &&
        [ "$(jp pod/web '{.status.containerStatuses[*].name}')" = app ] &&
        ok "the pod stays Running and Ready; containerStatuses lists app only" ||
        bad "pod status" "$(jp pod/web '{.status}')"
    out=$(KC exec web -c dbg -- sh -c 'echo exec-$((6*7))' 2>&1)
    [ "$out" = exec-42 ] && ok "kubectl exec -c dbg" || bad "exec into dbg" "$out"
    wait_until 10 sh -c "ip netns exec $NS '$KUBECTL' logs web -c dbg 2>&1 | grep -q dbg-out" &&
        ok "kubectl logs web -c dbg" || bad "logs of dbg" "$(KC logs web -c dbg 2>&1)"
    # the pod's network (localhost reaches app's httpd), UTS (hostname)
    # and IPC namespaces; its own PID namespace without a target
    out=$(KC exec web -c dbg -- wget -q -O- http://127.0.0.1:8080/ 2>&1)
    [ "$out" = web-ok ] && ok "dbg shares the pod's network namespace" || bad "network" "$out"
    [ "$(KC exec web -c dbg -- hostname 2>&1)" = web ] && ok "... and its UTS namespace (hostname web)" ||
        bad "hostname" "$(KC exec web -c dbg -- hostname 2>&1)"
    a=$(KC exec web -c app -- readlink /proc/self/ns/ipc 2>&1)
    b=$(KC exec web -c dbg -- readlink /proc/self/ns/ipc 2>&1)
    [ -n "$a" ] && [ "$a" = "$b" ] && ok "... and its IPC namespace" || bad "ipc" "$a / $b"
    out=$(KC exec web -c dbg -- ps -o args 2>&1)
    echo "$out" | grep -q httpd && bad "dbg without --target sees app's processes" "$out" ||
        ok "without --target, app's processes are not visible"
    evs=$(cevents web)
    echo "$evs" | grep -q '^Created spec.ephemeralContainers{dbg}: Created container: dbg$' &&
        echo "$evs" | grep -q '^Started spec.ephemeralContainers{dbg}: Started container dbg$' &&
        ok "Created/Started events with fieldPath spec.ephemeralContainers{dbg}" || bad "events" "$evs"
    # --profile=sysadmin: a privileged debug container (here: it may add
    # an address to the pod's loopback)
    KC debug web --profile=sysadmin --image=$IMG -c priv -- sh -c \
        'ip addr add 10.254.254.254/32 dev lo && echo priv-ok; exec sleep 1000000' >/dev/null 2>&1
    wait_until 30 sh -c "ip netns exec $NS '$KUBECTL' logs web -c priv 2>&1 | grep -q priv-ok" &&
        KC exec web -c app -- ip addr show lo 2>&1 | grep -q 10.254.254.254 &&
        ok "--profile=sysadmin: privileged, in the pod's network namespace" ||
        bad "sysadmin profile" "$(KC logs web -c priv 2>&1)" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    # changing it is refused
    out=$(KC patch pod web --subresource=ephemeralcontainers --type=json \
        -p '[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"other"}]' 2>&1)
    [ $? != 0 ] && echo "$out" | grep -q 'The Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed' &&
        ok "kubectl patch --subresource=ephemeralcontainers changing dbg: 422" || bad "change dbg" "$out"
}

sec_target() {
    wait_until 30 ready_all web || { bad "pod web Ready"; return; }
    for v in ws spdy; do
        env=X=1; proto=websocket
        [ $v = spdy ] && env=KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false proto=spdy
        mark
        out=$(C $env $PTY 60 'try pressing enter=>\r' '# =>ps -o pid,args; echo mark-$((6*7))\r' \
            'mark-42=>exit\r' -- "$KUBECTL" debug -it web --image=$IMG --target=app -c tgt$v -- sh 2>&1)
        rc=$?
        [ $rc = 0 ] && echo "$out" | grep -q 'mark-42' && ok "$v: kubectl debug -it --target=app: a shell on a terminal" ||
            { bad "$v: debug -it" "rc $rc" "$out"; continue; }
        echo "$out" | grep -q 'sleep 1000000' && echo "$out" | grep -q httpd &&
            ok "$v: ... sees the target's processes (its PID namespace)" || bad "$v: target's processes" "$out"
        upgraded "/pods/web/attach" $proto v5.channel.k8s.io && ok "$v: attached over $proto v5.channel.k8s.io" ||
            bad "$v: attach protocol" "$(tail -n +$((at + 1)) "$tmp/kubed.log" | grep 'node: ' | tail -3)"
        wait_until 30 e_terminated web tgt$v &&
            [ "$(es web tgt$v state.terminated.reason)" = Completed ] &&
            [ "$(es web tgt$v state.terminated.exitCode)" = 0 ] &&
            ok "$v: the shell's exit: terminated, Completed, exitCode 0" ||
            bad "$v: terminated" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    done
    # never restarted: the exited one stays so while the pod syncs on
    KC debug web --image=$IMG -c later -- sh -c 'exit 3' >/dev/null 2>&1
    wait_until 30 e_terminated web later &&
        [ "$(es web later state.terminated.reason)" = Error ] && [ "$(es web later state.terminated.exitCode)" = 3 ] &&
        ok "an ephemeral container exiting 3: terminated, Error, exitCode 3" ||
        bad "exit 3" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    [ "$(es web tgtws restartCount)" = 0 ] && [ "$(es web later restartCount)" = 0 ] && e_terminated web tgtws &&
        [ -z "$(es web later lastState.terminated.exitCode)" ] &&
        ok "... never restarted (restartCount 0, no lastState)" || bad "restarted" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    # a target that does not run: the container waits, as the kubelet's
    apply "$(pod two "  restartPolicy: Never
  containers:
  - {name: main, image: $IMG, command: [sleep, '1000000']}
  - {name: quick, image: $IMG, command: ['true']}")"
    wait_until 60 sh -c "[ \"\$(ip netns exec $NS '$KUBE' get pod two -o 'jsonpath={.status.containerStatuses[?(@.name==\"quick\")].state.terminated.reason}')\" = Completed ]" ||
        bad "pod two's quick container completes" "$(jp pod/two '{.status}')"
    KC debug two --image=$IMG -c t2 --target=quick -- sleep 100 >/dev/null 2>&1
    wait_until 30 sh -c "[ \"\$(ip netns exec $NS '$KUBE' get pod two -o 'jsonpath={.status.ephemeralContainerStatuses[0].state.waiting.reason}')\" = CreateContainerConfigError ]" &&
        [ "$(es two t2 state.waiting.message)" = "unable to find target container quick" ] &&
        ok "--target of an exited container: waiting, CreateContainerConfigError, the kubelet's message" ||
        bad "exited target" "$(jp pod/two '{.status.ephemeralContainerStatuses}')"
}

sec_restart() {
    # kubed restarts: the debug containers are adopted, not run again
    e_running web dbg || { bad "restart: dbg running before"; return; }
    id=$(es web dbg containerID)
    stop_kubed TERM
    start_kubed || { bad "kubed restarts" "$(tail -20 "$tmp/kubed.log")"; return; }
    wait_until 30 ready_all web && e_running web dbg && [ "$(es web dbg containerID)" = "$id" ] &&
        [ "$(es web dbg restartCount)" = 0 ] && ok "kubed restart: dbg keeps running, same container" ||
        bad "dbg after restart" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    e_terminated web tgtws && [ "$(es web tgtws restartCount)" = 0 ] &&
        ok "... the exited one stays exited" || bad "tgtws after restart" "$(jp pod/web '{.status.ephemeralContainerStatuses}')"
    out=$(KC exec web -c dbg -- echo still-here 2>&1)
    [ "$out" = still-here ] && ok "... and exec into it works" || bad "exec after restart" "$out"
}

sec_end() {
    # the pod ends (restartPolicy Never): its debug container is stopped
    apply "$(pod short "  restartPolicy: Never
  containers:
  - {name: main, image: $IMG, command: [sh, -c, 'while [ ! -e /tmp/stop ]; do sleep 0.2; done']}")"
    wait_until 60 ready_all short || { bad "short Ready"; return; }
    KC debug short --image=$IMG -c dbg -- sleep 1000000 >/dev/null 2>&1
    wait_until 30 e_running short dbg || bad "short: dbg running" "$(jp pod/short '{.status}')"
    KC exec short -c main -- touch /tmp/stop >/dev/null 2>&1
    wait_until 60 phase_is short Succeeded && wait_until 60 e_terminated short dbg &&
        [ "$(es short dbg state.terminated.exitCode)" = 137 ] &&
        ok "the pod Succeeded: its debug container was killed (exitCode 137)" ||
        bad "pod end" "$(jp pod/short '{.status}')"
    [ "$(jp pod/short '{.status.phase}')" = Succeeded ] && ok "... and the phase is the pod's own" ||
        bad "phase" "$(jp pod/short '{.status.phase}')"
    # deleted: killed with the pod
    KC debug web --image=$IMG -c last -- sleep 1000000 >/dev/null 2>&1
    wait_until 30 e_running web last || bad "web: last running"
    K delete pod web --grace-period=2 >/dev/null 2>&1
    wait_until 60 gone web && ok "the pod with running debug containers is deleted" || bad "web deleted" "$(jp pod/web '{.status}')"
    K delete pod two short --grace-period=1 >/dev/null 2>&1
    wait_until 60 gone two
}

sec_copy() {
    apply "$(pod orig "  containers:
  - {name: app, image: $IMG, command: [sleep, '1000000']}")"
    wait_until 60 ready_all orig || { bad "orig Ready"; return; }
    KC debug orig --image=$IMG -c dbg -- sleep 1000000 >/dev/null 2>&1
    out=$(KC debug orig --copy-to=orig-copy --image=$IMG -c copydbg -- sh -c 'echo copy-ok; exec sleep 1000000' 2>&1)
    [ $? = 0 ] && ok "kubectl debug --copy-to" || bad "copy-to" "$out"
    wait_until 60 ready_all orig-copy &&
        [ "$(jp pod/orig-copy '{.spec.containers[*].name}')" = "app copydbg" ] &&
        [ -z "$(jp pod/orig-copy '{.spec.ephemeralContainers}')" ] &&
        ok "... the copy runs app and copydbg, without the original's ephemeral containers" ||
        bad "copy" "$(K get pod orig-copy -o yaml 2>&1 | head -60)"
    wait_until 10 sh -c "ip netns exec $NS '$KUBECTL' logs orig-copy -c copydbg 2>&1 | grep -q copy-ok" &&
        ok "... kubectl logs of its debug container" || bad "copy logs" "$(KC logs orig-copy -c copydbg 2>&1)"
    K delete pod orig orig-copy --grace-period=1 --wait=false >/dev/null 2>&1
}

sec_node() {
    out=$(KC debug node/$NODE --image=$IMG -- sh -c 'test -d /host/proc && echo host-root-ok' 2>&1)
    p=$(echo "$out" | sed -n 's/^Creating debugging pod \([^ ]*\) with container debugger on node .*/\1/p')
    [ -n "$p" ] && ok "kubectl debug node/$NODE creates $p" || { bad "debug node" "$out"; return; }
    wait_until 60 phase_is "$p" Succeeded && ok "... it runs to Succeeded" || bad "node debug pod" "$(jp pod/$p '{.status}')"
    [ "$(jp pod/$p '{.spec.hostPID}')/$(jp pod/$p '{.spec.hostNetwork}')" = true/true ] &&
        [ "$(jp pod/$p '{.status.podIP}')" = "$NODE_IP" ] &&
        ok "... in the node's namespaces (hostPID, hostNetwork, podIP the node's)" || bad "host namespaces" "$(jp pod/$p '{.spec}')"
    KC logs "$p" 2>&1 | grep -q host-root-ok && ok "... with the node's root at /host" || bad "node root" "$(KC logs $p 2>&1)"
    K delete pod "$p" --grace-period=1 --wait=false >/dev/null 2>&1
}

sec_kube() {
    # the same through kube debug
    apply "$(pod kweb "  containers:
  - {name: app, image: $IMG, command: [sh, -c, 'echo app-up; exec sleep 1000000']}")"
    wait_until 60 ready_all kweb || { bad "kweb Ready"; return; }
    out=$(K debug kweb --image=$IMG -c kd -- sh -c 'echo kd-out; exec sleep 1000000' 2>&1)
    [ $? = 0 ] && wait_until 30 e_running kweb kd && ok "kube debug -c kd: running" || bad "kube debug" "$out"
    [ "$(K exec kweb -c kd -- echo via-kube 2>&1)" = via-kube ] && ok "kube exec -c kd" || bad "kube exec kd"
    a=$(KC describe pod kweb 2>&1 | sed -n '/^Ephemeral Containers:/,/^Conditions:/p' | grep -v -e Started -e Age)
    b=$(K describe pod kweb 2>&1 | sed -n '/^Ephemeral Containers:/,/^Conditions:/p' | grep -v -e Started -e Age)
    [ -n "$a" ] && [ "$a" = "$b" ] && echo "$a" | grep -q '^  kd:' &&
        ok "kube describe pod: the Ephemeral Containers section as kubectl's" || bad "describe" "$a" "---" "$b"
    out=$(K debug kweb --image=$IMG 2>&1)
    dn=$(echo "$out" | sed -n 's/^Defaulting debug container name to \(debugger-[a-z0-9]*\)\.$/\1/p')
    [ -n "$dn" ] && wait_until 30 e_terminated kweb "$dn" &&
        ok "kube debug without -c names it $dn (the image's shell ends at once without stdin)" ||
        bad "kube debug default name" "$out" "$(jp pod/kweb '{.status.ephemeralContainerStatuses}')"
    out=$(C X=1 $PTY 60 'try pressing enter=>\r' '# =>ps -o args; echo mark-$((6*7))\r' \
        'mark-42=>exit\r' -- "$KUBE" debug -it kweb --image=$IMG --target=app -c kt -- sh 2>&1)
    rc=$?
    [ $rc = 0 ] && echo "$out" | grep -q mark-42 && echo "$out" | grep -q 'sleep 1000000' &&
        ok "kube debug -it --target=app: a shell on a terminal in app's PID namespace" || bad "kube debug -it" "rc $rc" "$out"
    echo "$out" | grep -q "Session ended, the ephemeral container will not be restarted" &&
        ok "... and kubectl's farewell" || bad "session ended" "$out"
    out=$(K debug kweb --image=$IMG -c kd -- true 2>&1)
    [ $? != 0 ] && echo "$out" | grep -q 'container kd already exists in the pod' &&
        ok "kube debug with a name the pod uses: refused" || bad "kube debug dup" "$out"
    out=$(K debug kweb --image=$IMG -c kbad --target=nosuch 2>&1)
    [ $? != 0 ] && echo "$out" | grep -q 'targetContainerName: Not found: "nosuch"' &&
        ok "kube debug --target=nosuch: the server's 422" || bad "kube debug bad target" "$out"
    out=$(K debug node/$NODE --image=$IMG -- sh -c 'test -d /host/proc && echo host-root-ok' 2>&1)
    p=$(echo "$out" | sed -n 's/^Creating debugging pod \([^ ]*\) with container debugger on node .*/\1/p')
    [ -n "$p" ] && wait_until 60 phase_is "$p" Succeeded && K logs "$p" 2>&1 | grep -q host-root-ok &&
        ok "kube debug node/$NODE: a pod in the node's namespaces with its root at /host" ||
        bad "kube debug node" "$out" "$(jp pod/$p '{.status}')"
    K delete pod kweb "$p" --grace-period=1 --wait=false >/dev/null 2>&1
}

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
start_kubed || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"
sections=${*:-plain target restart end copy node kube}
for s in $sections; do
    echo "# $s"
    sec_$s
done
