#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Probes and lifecycle hooks end to end (root): kubed with its node in a
# network namespace of the test's own, pods from the offline busybox image.
# Readiness flips the pod's Ready both ways (exec, tcpSocket, httpGet with
# same-host redirects followed, HTTPS unverified);
# liveness failures kill and restart the container with the kubelet's
# Unhealthy and Killing events; the startup probe gates liveness and
# readiness and sets `started`; postStart writes a file (exec) and calls
# the container (httpGet), a failing one records FailedPostStartHook and
# the container is killed; preStop runs on deletion before the stop signal
# (a hostPath file), a failing one records FailedPreStopHook, one that
# outlasts the grace period does not hold the deletion; gRPC health checks
# against a python3-grpcio server in the test's namespace (SERVING,
# NOT_SERVING, an unknown service, no server); a kubed restart keeps the
# containers, resumes the probes and does not run postStart again.  After
# each section no exec relay is left unreaped.  Clients: `kube` and
# kubectl 1.32.
#   test-probes.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
grpc_pid=""; tls_pid=""
trap 'for p in $grpc_pid $tls_pid; do kill $p 2>/dev/null; done; finish; exit $?' EXIT INT TERM

pod() { # pod NAME SPEC-YAML (spec indented by 2)
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2"
}
cond() { KC get pod "$1" -o "jsonpath={.status.conditions[?(@.type==\"$2\")].status}" 2>/dev/null; }
cond_is() { [ "$(cond "$1" "$2")" = "$3" ]; }
ready_is() { cond_is "$1" Ready "$2" && cond_is "$1" ContainersReady "$2"; }
# kubed's children that nobody reaped: exec relays of probes and hooks
# (container monitors, session leaders "Zs", are the runtime's affair)
# (one that just exited is reaped a moment later: wait for it)
zombies() { ps --ppid $kubed_pid -o stat=,pid= | grep -c '^Z[^s]*  *[0-9]'; }
no_zombies() {
    wait_until 10 sh -c "[ \$(ps --ppid $kubed_pid -o stat=,pid= | grep -c '^Z[^s]*  *[0-9]') = 0 ]" &&
        ok "$1: no zombie processes left" || bad "$1: $(zombies) zombies" "$(ps --ppid $kubed_pid -o stat=,pid=,cmd=)"
}
cstat() { jp "pod/$1" "{.status.containerStatuses[0].$2}"; }
restarts_at_least() { [ "$(cstat "$1" restartCount)" -ge "$2" ] 2>/dev/null; }
st() { jp "pod/$1" '{.status}'; }
# ctl NAME: a host directory the pod mounts at /ctl (the test flips files
# there instead of exec'ing into the container)
ctl() { mkdir -p $tmp/ctl/$1; printf '  volumes: [{name: ctl, hostPath: {path: %s}}]\n' $tmp/ctl/$1; }
VM="    volumeMounts: [{name: ctl, mountPath: /ctl}]"

sec_readiness() {
    # exec: ready while /tmp/ready exists
    apply "$(pod rexec "$(ctl rexec)
  containers:
  - name: c
    image: busybox:1.35.0
$VM
    command: [sleep, '3600']
    readinessProbe: {exec: {command: [cat, /ctl/ready]}, periodSeconds: 1, failureThreshold: 1}")"
    wait_until 30 running rexec || bad "rexec running" "$(K describe pod rexec)"
    wait_until 10 event_has rexec "Unhealthy: Readiness probe failed: cat: can't open '/ctl/ready'" &&
        ok "Unhealthy event: Readiness probe failed: <the command's output>" || bad "readiness event" "$(events_of rexec)"
    ready_is rexec False && [ "$(cstat rexec ready)" = false ] && [ "$(cstat rexec started)" = true ] &&
        ok "exec readiness failing: Ready and ContainersReady False, ready false, started true" ||
        bad "not ready" "$(st rexec)"
    r=$(KC get pod rexec -o 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}')
    [ "$r" = ContainersNotReady ] && ok "Ready reason ContainersNotReady" || bad "Ready reason" "$r"
    touch $tmp/ctl/rexec/ready
    wait_until 15 ready_is rexec True && [ "$(cstat rexec ready)" = true ] &&
        ok "exec readiness passes: Ready True (kubectl 1.32 jsonpath)" || bad "ready" "$(st rexec)"
    rm $tmp/ctl/rexec/ready
    wait_until 15 ready_is rexec False && ok "... and back to False when it fails again" || bad "unready again" "$(st rexec)"
    # tcpSocket: a listening port by name, and a closed one
    apply "$(pod rtcp "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www; exec httpd -f -p 8080 -h /www']
    ports: [{name: web, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: web}, periodSeconds: 1}
  - name: closed
    image: busybox:1.35.0
    command: [sleep, '3600']
    readinessProbe: {tcpSocket: {port: 8081}, periodSeconds: 1, timeoutSeconds: 2}")"
    wait_until 30 running rtcp || bad "rtcp running" "$(K describe pod rtcp)"
    ip=$(jp pod/rtcp '{.status.podIP}')
    wait_until 15 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod rtcp -o 'jsonpath={.status.containerStatuses[?(@.name==\"c\")].ready}')\" = true ]" &&
        ok "tcpSocket readiness on a named port: ready" || bad "tcp ready" "$(st rtcp)"
    wait_until 10 event_has rtcp "Unhealthy: Readiness probe failed: dial tcp $ip:8081: connect: connection refused" &&
        ok "tcpSocket on a closed port: Readiness probe failed: dial tcp $ip:8081: connect: connection refused" ||
        bad "tcp event" "$(events_of rtcp)"
    ready_is rtcp False && ok "one unready container: the pod is not Ready" || bad "rtcp ready" "$(st rtcp)"
    msg=$(KC get pod rtcp -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')
    [ "$msg" = "containers with unready status: [closed]" ] && ok "Ready message names the container" || bad "Ready message" "$msg"
    # httpGet readiness with a header, path and HTTPS-less server
    apply "$(pod rhttp "$(ctl rhttp)
  containers:
  - name: c
    image: busybox:1.35.0
$VM
    command: [sh, -c, 'exec httpd -f -p 80 -h /ctl']
    readinessProbe: {httpGet: {path: /ok, port: 80, httpHeaders: [{name: X-Probe, value: 'yes'}]}, periodSeconds: 1}")"
    wait_until 30 running rhttp || bad "rhttp running" "$(K describe pod rhttp)"
    ip=$(jp pod/rhttp '{.status.podIP}')
    wait_until 10 event_has rhttp "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404" &&
        ok "httpGet readiness: 404 fails (HTTP probe failed with statuscode: 404)" || bad "http 404" "$(events_of rhttp)"
    echo fine > $tmp/ctl/rhttp/ok
    wait_until 15 ready_is rhttp True && ok "httpGet readiness: 200 makes it Ready" || bad "http ready" "$(st rhttp)"
    # redirects to the same host are followed: /full -> /full/ (200),
    # /sub -> /sub/ (404)
    mkdir -p $tmp/ctl/rredir/full $tmp/ctl/rredir/sub
    echo x > $tmp/ctl/rredir/full/index.html
    apply "$(pod rredir "$(ctl rredir)
  containers:
  - name: c
    image: busybox:1.35.0
$VM
    command: [sh, -c, 'exec httpd -f -p 80 -h /ctl']
    readinessProbe: {httpGet: {path: /full, port: 80}, periodSeconds: 1}
  - name: sub
    image: busybox:1.35.0
    command: [sleep, '3600']
    readinessProbe: {httpGet: {path: /sub, port: 80}, periodSeconds: 1}")"
    wait_until 30 running rredir || bad "rredir running" "$(K describe pod rredir)"
    wait_until 15 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod rredir -o 'jsonpath={.status.containerStatuses[?(@.name==\"c\")].ready}')\" = true ]" &&
        wait_until 10 event_has rredir "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404" &&
        ok "httpGet follows a redirect to the same host (302 to 200 ready, 302 to 404 failed)" || bad "redirects" "$(st rredir)" "$(events_of rredir)"
    # HTTPS without verification: openssl s_server on the node address
    # for a host-network pod
    if command -v openssl >/dev/null; then
        sp=$((40000 + rnd % 10000))
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=probe \
            -keyout $tmp/tls.key -out $tmp/tls.crt >/dev/null 2>&1
        IN openssl s_server -accept $NODE_IP:$sp -www -quiet -cert $tmp/tls.crt -key $tmp/tls.key >/dev/null 2>&1 &
        tls_pid=$!
        apply "$(pod rhttps "  hostNetwork: true
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    readinessProbe: {httpGet: {scheme: HTTPS, path: /, port: $sp}, periodSeconds: 1}")"
        wait_until 30 ready_is rhttps True && ok "httpGet HTTPS (self-signed, not verified): Ready" || bad "https" "$(st rhttps)" "$(events_of rhttps)"
        kill $tls_pid 2>/dev/null; wait $tls_pid 2>/dev/null; tls_pid=""
        K delete pod rhttps --grace-period=1 --wait=false >/dev/null
    fi
    K delete pod rexec rtcp rhttp rredir --grace-period=1 --wait=false >/dev/null
}

sec_liveness() {
    apply "$(pod live "$(ctl live)
  containers:
  - name: c
    image: busybox:1.35.0
$VM
    command: [sh, -c, 'echo ok > /ctl/healthz && exec httpd -f -p 8080 -h /ctl']
    ports: [{name: http, containerPort: 8080}]
    livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 2}")"
    wait_until 30 running live || bad "live running" "$(K describe pod live)"
    sleep 3
    [ "$(cstat live restartCount)" = 0 ] && ok "a passing httpGet liveness probe: no restart" || bad "live restarted" "$(events_of live)"
    rm $tmp/ctl/live/healthz
    wait_until 30 restarts_at_least live 1 && ok "liveness failure: restartCount grows" || bad "live restart" "$(K get pod live -o yaml)"
    event_has live "Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 404" &&
        ok "Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 404" || bad "liveness event" "$(events_of live)"
    event_has live "Killing: Container c failed liveness probe, will be restarted" &&
        ok "Killing: Container c failed liveness probe, will be restarted" || bad "Killing event" "$(events_of live)"
    wait_until 30 running live && [ -n "$(cstat live lastState.terminated.exitCode)" ] &&
        ok "restarted and running again, lastState terminated" || bad "live running again" "$(K get pod live -o yaml)"
    # exec liveness that always fails, restartPolicy Never: killed, not restarted
    apply "$(pod livenever "  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    livenessProbe: {exec: {command: [sh, -c, 'echo sick; exit 3']}, periodSeconds: 1, failureThreshold: 1}")"
    wait_until 40 phase_is livenever Failed && [ "$(cstat livenever restartCount)" = 0 ] &&
        ok "restartPolicy Never: killed, not restarted, pod Failed" || bad "livenever" "$(K get pod livenever -o yaml)"
    event_has livenever "Unhealthy: Liveness probe failed: sick" && event_has livenever "Killing: Container c failed liveness probe, will not be restarted" &&
        ok "exec liveness: output in the event, will not be restarted" || bad "livenever events" "$(events_of livenever)"
    # exec probe timing out
    apply "$(pod livetimeout "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    livenessProbe: {exec: {command: [sleep, '30']}, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 1}")"
    wait_until 40 event_has livetimeout 'Unhealthy: Liveness probe failed: command "sleep 30" timed out' &&
        ok "exec probe timeout: command \"sleep 30\" timed out" || bad "timeout" "$(events_of livetimeout)"
    # the probe's terminationGracePeriodSeconds wins over the pod's 600 s:
    # a container ignoring SIGTERM is killed after 2 s and restarted
    apply "$(pod livegrace "  terminationGracePeriodSeconds: 600
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'trap \"\" TERM; while true; do sleep 0.1; done']
    livenessProbe: {exec: {command: ['false']}, periodSeconds: 1, failureThreshold: 1, terminationGracePeriodSeconds: 2}")"
    wait_until 60 restarts_at_least livegrace 1 &&
        ok "liveness kill uses the probe's terminationGracePeriodSeconds (2 s, not the pod's 600 s)" || bad "livegrace" "$(st livegrace)" "$(events_of livegrace)"
    K delete pod live livenever livetimeout livegrace --grace-period=1 --wait=false >/dev/null
}

sec_startup() {
    apply "$(pod start "$(ctl start)
  containers:
  - name: c
    image: busybox:1.35.0
$VM
    command: [sleep, '3600']
    startupProbe: {exec: {command: [test, -f, /ctl/started]}, periodSeconds: 1, failureThreshold: 60}
    livenessProbe: {exec: {command: [test, -f, /ctl/started]}, periodSeconds: 1, failureThreshold: 1}
    readinessProbe: {exec: {command: ['true']}, periodSeconds: 30}")"
    wait_until 30 running start || bad "start running" "$(K describe pod start)"
    sleep 4
    [ "$(cstat start started)" = false ] && [ "$(cstat start ready)" = false ] && [ "$(cstat start restartCount)" = 0 ] &&
        ok "startup probe failing: started false, ready false, no restart" || bad "startup gate" "$(K get pod start -o yaml)"
    events_of start | grep -q "Liveness probe" && bad "liveness ran before startup" "$(events_of start)" ||
        ok "liveness is not run before the startup probe passes"
    touch $tmp/ctl/start/started
    wait_until 15 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod start -o 'jsonpath={.status.containerStatuses[0].started}')\" = true ]" &&
        ok "startup probe passes: started true" || bad "started" "$(K get pod start -o yaml)"
    wait_until 10 ready_is start True && ok "... readiness runs at once: Ready True (its period is 30 s)" || bad "start ready" "$(K get pod start -o yaml)"
    apply "$(pod startfail "  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    startupProbe: {exec: {command: ['false']}, periodSeconds: 1, failureThreshold: 2}")"
    wait_until 40 restarts_at_least startfail 1 && event_has startfail "Killing: Container c failed startup probe, will be restarted" &&
        ok "startup probe failure: Killing (failed startup probe) and a restart" || bad "startfail" "$(events_of startfail)"
    # a sidecar's startup probe holds the next init container
    apply "$(pod sidestart "$(ctl sidestart)
  initContainers:
  - name: side
    image: busybox:1.35.0
    restartPolicy: Always
$VM
    command: [sleep, '3600']
    startupProbe: {exec: {command: [test, -f, /ctl/started]}, periodSeconds: 1, failureThreshold: 60}
    readinessProbe: {exec: {command: [test, -f, /ctl/ready]}, periodSeconds: 1}
  - name: after
    image: busybox:1.35.0
    command: [sh, -c, 'echo after-ran']
  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600']}")"
    wait_until 30 sh -c "[ -n \"\$(ip netns exec $NS $KUBE get pod sidestart -o 'jsonpath={.status.initContainerStatuses[0].state.running.startedAt}')\" ]" || bad "sidecar running" "$(st sidestart)"
    sleep 3
    [ -z "$(jp pod/sidestart '{.status.initContainerStatuses[1].state.terminated}')" ] && cond_is sidestart Initialized False &&
        ok "sidecar not started (startup probe): the next init container waits" || bad "sidecar gate" "$(st sidestart)"
    touch $tmp/ctl/sidestart/started
    wait_until 30 running sidestart && log_has sidestart after after-ran && cond_is sidestart Initialized True &&
        ok "... started: the init container ran, then the pod's container" || bad "sidecar started" "$(st sidestart)"
    msg=$(KC get pod sidestart -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')
    cond_is sidestart Ready False && [ "$msg" = "containers with unready status: [side]" ] &&
        ok "an unready sidecar keeps the pod from Ready ($msg)" || bad "sidecar unready" "$msg" "$(st sidestart)"
    touch $tmp/ctl/sidestart/ready
    wait_until 15 ready_is sidestart True && ok "... Ready once its readiness probe passes" || bad "sidecar ready" "$(st sidestart)"
    K delete pod start startfail sidestart --grace-period=1 --wait=false >/dev/null
}

sec_hooks() {
    mkdir -p $tmp/out
    apply "$(pod ps "  volumes: [{name: d, emptyDir: {}}]
  containers:
  - name: c
    image: busybox:1.35.0
    volumeMounts: [{name: d, mountPath: /data}]
    command: [sh, -c, 'until [ -f /data/ps ]; do sleep 0.1; done; cat /data/ps; sleep 3600']
    lifecycle: {postStart: {exec: {command: [sh, -c, 'echo from-poststart > /data/ps']}}}")"
    wait_until 30 running ps && wait_until 10 log_has ps c from-poststart &&
        ok "postStart exec wrote a file the container read" || bad "postStart" "$(K describe pod ps)" "$(podlog ps c)"
    # httpGet hooks call a server pod (host: its IP) that logs requests
    apply "$(pod hooksrv "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www && echo hi > /www/hook && echo bye > /www/bye && exec httpd -f -vv -p 80 -h /www']
    readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}")"
    wait_until 30 ready_is hooksrv True || bad "hooksrv ready" "$(st hooksrv)"
    srv=$(jp pod/hooksrv '{.status.podIP}')
    apply "$(pod pshttp "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    lifecycle: {postStart: {httpGet: {host: '$srv', path: /hook, port: 80}}}")"
    wait_until 30 running pshttp && wait_until 10 log_has hooksrv c "url:/hook" &&
        ok "postStart httpGet reached its server" || bad "postStart http" "$(events_of pshttp)" "$(podlog hooksrv c)"
    apply "$(pod psfail "  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    lifecycle: {postStart: {exec: {command: [sh, -c, 'echo nope; exit 2']}}}")"
    wait_until 40 event_has psfail "FailedPostStartHook: Exec lifecycle hook (\[sh -c echo nope; exit 2\]) for Container \"c\" in Pod \"psfail_default(.*)\" failed - error: command 'sh -c echo nope; exit 2' exited with 2: , message: \"nope" &&
        ok "FailedPostStartHook with the kubelet's message" || bad "FailedPostStartHook" "$(events_of psfail)"
    wait_until 40 restarts_at_least psfail 1 && event_has psfail "Killing: FailedPostStartHook" &&
        ok "a failed postStart kills the container (restarted)" || bad "psfail kill" "$(K get pod psfail -o yaml)" "$(events_of psfail)"
    # preStop: runs before the stop signal, on deletion
    apply "$(pod prestop "  terminationGracePeriodSeconds: 20
  volumes: [{name: out, hostPath: {path: $tmp/out}}]
  containers:
  - name: c
    image: busybox:1.35.0
    volumeMounts: [{name: out, mountPath: /out}]
    command: [sh, -c, 'trap \"date +%s > /out/term; exit 0\" TERM; while true; do sleep 0.1; done']
    lifecycle: {preStop: {exec: {command: [sh, -c, 'date +%s > /out/prestop; sleep 2; echo done >> /out/prestop']}}}")"
    apply "$(pod prestophttp "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    lifecycle: {preStop: {httpGet: {host: '$srv', path: /bye, port: 80}}}")"
    apply "$(pod prestopfail "  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    lifecycle: {preStop: {exec: {command: ['false']}}}")"
    apply "$(pod prestoplong "  terminationGracePeriodSeconds: 3
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    lifecycle: {preStop: {exec: {command: [sleep, '600']}}}")"
    for p in prestop prestophttp prestopfail prestoplong; do wait_until 30 running $p || bad "$p running" "$(K describe pod $p)"; done
    sleep 0.5
    K delete pod prestop prestophttp prestopfail prestoplong --wait=false >/dev/null 2>&1
    wait_until 40 gone prestop && grep -q done $tmp/out/prestop 2>/dev/null && [ -f $tmp/out/term ] &&
        ok "preStop ran on deletion (file written through a hostPath)" || bad "preStop" "$(ls -l $tmp/out)" "$(events_of prestop)"
    t1=$(head -1 $tmp/out/prestop 2>/dev/null); t2=$(cat $tmp/out/term 2>/dev/null)
    [ -n "$t1" ] && [ -n "$t2" ] && [ $((t2 - t1)) -ge 2 ] &&
        ok "SIGTERM came after preStop finished (preStop at $t1, TERM at $t2)" || bad "preStop order" "$t1 $t2"
    event_has prestop "Killing: Stopping container c" && ok "Killing: Stopping container c" || bad "Killing" "$(events_of prestop)"
    wait_until 40 gone prestophttp && log_has hooksrv c "url:/bye" &&
        ok "preStop httpGet reached its server on deletion" || bad "prestophttp" "$(events_of prestophttp)" "$(podlog hooksrv c)"
    wait_until 40 gone prestopfail && event_has prestopfail "FailedPreStopHook: PreStopHook failed" &&
        ok "FailedPreStopHook: PreStopHook failed" || bad "FailedPreStopHook" "$(events_of prestopfail)"
    wait_until 40 gone prestoplong && ok "a preStop outlasting the grace period does not hold the deletion" || bad "prestoplong" "$(K get pod prestoplong -o yaml)"
    # a sleep preStop: the stop signal comes after it
    apply "$(pod pssleep "  volumes: [{name: out, hostPath: {path: $tmp/out}}]
  containers:
  - name: c
    image: busybox:1.35.0
    volumeMounts: [{name: out, mountPath: /out}]
    command: [sh, -c, 'trap \"date +%s > /out/sleep-term; exit 0\" TERM; while true; do sleep 0.1; done']
    lifecycle: {preStop: {sleep: {seconds: 3}}}")"
    wait_until 30 running pssleep || bad "pssleep running" "$(K describe pod pssleep)"
    t0=$(date +%s)
    K delete pod pssleep >/dev/null 2>&1
    t1=$(cat $tmp/out/sleep-term 2>/dev/null)
    [ -n "$t1" ] && [ $((t1 - t0)) -ge 2 ] && ok "preStop sleep: SIGTERM after it (delete at $t0, TERM at $t1)" || bad "pssleep" "$t0 $t1" "$(events_of pssleep)"
    # the image's STOPSIGNAL after preStop
    printf 'FROM busybox:1.35.0\nSTOPSIGNAL SIGUSR1\nCMD ["sh", "-c", "trap \\"echo got-USR1 > /out/usr1; exit 0\\" USR1; while true; do sleep 0.1; done"]\n' > $tmp/Dockerfile
    out=$("$KUBE" build --data-dir "$D" -t stopsig:1 -f $tmp/Dockerfile $tmp 2>&1) || bad "build stopsig image" "$out"
    apply "$(pod usr1 "  volumes: [{name: out, hostPath: {path: $tmp/out}}]
  containers:
  - name: c
    image: stopsig:1
    imagePullPolicy: Never
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle: {preStop: {exec: {command: [sh, -c, 'echo pre > /out/usr1-pre']}}}")"
    wait_until 30 running usr1 || bad "usr1 running" "$(K describe pod usr1)"
    sleep 0.5
    K delete pod usr1 >/dev/null 2>&1
    grep -q pre $tmp/out/usr1-pre 2>/dev/null && grep -q got-USR1 $tmp/out/usr1 2>/dev/null &&
        ok "preStop, then the image's STOPSIGNAL (SIGUSR1)" || bad "usr1" "$(ls $tmp/out)"
    K delete pod ps pshttp psfail hooksrv --grace-period=1 --wait=false >/dev/null
}

sec_grpc() {
    /usr/bin/python3 -c 'import grpc' 2>/dev/null || { echo "SKIP grpc: python3-grpcio missing"; return 0; }
    gp=$((30000 + rnd % 10000))
    echo SERVING > $tmp/grpc-status
    IN /usr/bin/python3 "$SRC/tests/privileged/node/grpc_health_server.py" $NODE_IP:$gp $tmp/grpc-status >$tmp/grpc.log 2>&1 &
    grpc_pid=$!
    wait_until 20 grep -q listening $tmp/grpc.log || bad "gRPC health server" "$(cat $tmp/grpc.log)"
    # a host-network pod: the probe reaches the server on the node address
    apply "$(pod rgrpc "  hostNetwork: true
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    ports: [{name: health, containerPort: $gp}]
    readinessProbe: {grpc: {port: $gp, service: app}, periodSeconds: 1}
    livenessProbe: {grpc: {port: $gp}, periodSeconds: 1, failureThreshold: 100}")"
    # (each its own pod: the event spam filter allows a pod 25 events)
    apply "$(pod rgrpcmiss "  hostNetwork: true
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    readinessProbe: {grpc: {port: $gp, service: nope}, periodSeconds: 1}")"
    apply "$(pod rgrpcnone "  hostNetwork: true
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    readinessProbe: {grpc: {port: $((gp + 1))}, periodSeconds: 1}")"
    wait_until 30 running rgrpc || bad "rgrpc running" "$(K describe pod rgrpc)"
    wait_until 15 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod rgrpc -o 'jsonpath={.status.containerStatuses[?(@.name==\"c\")].ready}')\" = true ]" &&
        ok "gRPC health check SERVING: ready" || bad "grpc ready" "$(st rgrpc)" "$(events_of rgrpc)"
    wait_until 20 event_has rgrpcmiss "Unhealthy: Readiness probe failed: error: health rpc probe failed: rpc error: code = NotFound desc = unknown service" &&
        ok "gRPC unknown service: rpc error: code = NotFound desc = unknown service" || bad "grpc NotFound" "$(events_of rgrpcmiss)"
    wait_until 20 event_has rgrpcnone "Unhealthy: Readiness probe failed: error: failed to connect service at \"$NODE_IP:$((gp + 1))\": dial tcp $NODE_IP:$((gp + 1)): connect: connection refused" &&
        ok "gRPC without a server: failed to connect service" || bad "grpc no server" "$(events_of rgrpcnone)"
    echo NOT_SERVING > $tmp/grpc-status
    wait_until 15 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod rgrpc -o 'jsonpath={.status.containerStatuses[?(@.name==\"c\")].ready}')\" = false ]" &&
        event_has rgrpc 'Unhealthy: Readiness probe failed: service unhealthy (responded with "NOT_SERVING")' &&
        ok "gRPC NOT_SERVING: unready, service unhealthy (responded with \"NOT_SERVING\")" || bad "grpc NOT_SERVING" "$(events_of rgrpc)"
    [ "$(cstat rgrpc restartCount)" = 0 ] && ok "gRPC liveness below its failure threshold: no restart" || bad "grpc restarts"
    kill $grpc_pid 2>/dev/null; wait $grpc_pid 2>/dev/null; grpc_pid=""
    K delete pod rgrpc rgrpcmiss rgrpcnone --grace-period=1 --wait=false >/dev/null
}

sec_restart() {
    # kubed restarts: the containers keep running, postStart does not run
    # again, the probes resume (Ready again once readiness passes)
    mkdir -p $tmp/out
    apply "$(pod keep "  volumes: [{name: out, hostPath: {path: $tmp/out}}]
  containers:
  - name: c
    image: busybox:1.35.0
    volumeMounts: [{name: out, mountPath: /out}]
    command: [sleep, '3600']
    lifecycle: {postStart: {exec: {command: [sh, -c, 'echo once >> /out/keep-poststart']}}}
    readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}
    livenessProbe: {exec: {command: ['true']}, periodSeconds: 1}")"
    wait_until 30 ready_is keep True || bad "keep ready" "$(st keep)"
    id1=$(cstat keep containerID)
    stop_kubed TERM
    start_kubed || bad "kubed restart"
    wait_until 30 ready_is keep True && [ "$(cstat keep containerID)" = "$id1" ] && [ "$(cstat keep restartCount)" = 0 ] &&
        ok "kubed restart: same container, probes resume, Ready" || bad "keep after restart" "$(st keep)"
    [ "$(grep -c once $tmp/out/keep-poststart 2>/dev/null)" = 1 ] && ok "... postStart ran once" || bad "postStart again" "$(cat $tmp/out/keep-poststart)"
    K delete pod keep --grace-period=1 --wait=false >/dev/null
}

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
start_kubed || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"
sections=${*:-readiness liveness startup hooks grpc restart}
for s in $sections; do
    echo "# $s"
    sec_$s
    no_zombies $s
done
