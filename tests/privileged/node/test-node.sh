#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The node agent end to end (root): kubed server with its node inside a
# network namespace of the test's own; every client runs there too.  Pods
# from the offline busybox image: Running with addresses, pod to pod on the
# bridge, hostPort from the node address, restarts and back-off, exit
# reasons, OOMKilled, init containers and sidecars, every volume type and a
# live configMap update, env resolution, securityContext effects, graceful
# deletion, a restart of kubed without container restarts, the fault cases
# (missing image, bad command, missing volume source, hostPort taken, a
# thousand children, deleted mid-start, kubed killed mid-start); through
# `kube` and the real kubectl 1.32.  At the end nothing may be left:
# mounts, pod directories, containers, processes, cgroups, veths, addresses.
#   test-node.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
trap 'finish; exit $?' EXIT INT TERM

pod() { # pod NAME SPEC-YAML (spec indented by 2); labelled app=NAME
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  labels: {app: %s}\n  annotations: {note: hello-note}\nspec:\n%s\n' "$1" "$1" "$2"
}

no_taints() { t=$(jp node/$NODE '{.spec.taints}'); [ -z "$t" ] || [ "$t" = "[]" ]; }

sec_node() {
    out=$(K get node $NODE -o json)
    echo "$out" | grep -q '"containerRuntimeVersion": "libkube://' && ok "nodeInfo.containerRuntimeVersion" || bad "runtime version" "$out"
    echo "$out" | grep -q '"kubeletVersion": "v1.32.0"' && ok "nodeInfo.kubeletVersion" || bad "kubelet version"
    [ "$(jp node/$NODE '{.status.addresses[?(@.type=="InternalIP")].address}')" = $NODE_IP ] && ok "InternalIP" || bad "InternalIP"
    [ "$(jp node/$NODE '{.status.capacity.pods}')" = 110 ] && ok "capacity pods=110" || bad "capacity"
    [ -n "$(jp node/$NODE '{.status.allocatable.memory}')" ] && [ -n "$(jp node/$NODE '{.status.capacity.ephemeral-storage}')" ] &&
        ok "allocatable memory, ephemeral-storage" || bad "allocatable"
    for c in MemoryPressure:KubeletHasSufficientMemory DiskPressure:KubeletHasNoDiskPressure PIDPressure:KubeletHasSufficientPID Ready:KubeletReady; do
        t=${c%%:*}; r=${c#*:}
        [ "$(jp node/$NODE "{.status.conditions[?(@.type==\"$t\")].reason}")" = $r ] && ok "condition $t ($r)" || bad "condition $t"
    done
    wait_until 10 no_taints &&
        ok "not-ready taint removed" || bad "taint" "$(jp node/$NODE '{.spec.taints}')"
    # The Lease's namespace may still be being bootstrapped when the agent
    # starts: the agent retries its create every second.
    wait_until 15 sh -c "ip netns exec $NS $KUBE get lease -n kube-node-lease $NODE >/dev/null 2>&1"
    r1=$(K get lease -n kube-node-lease $NODE -o 'jsonpath={.spec.renewTime}')
    [ -n "$r1" ] && ok "lease in kube-node-lease" || bad "lease"
    wait_until 25 sh -c "[ \"\$(ip netns exec $NS $KUBE get lease -n kube-node-lease $NODE -o 'jsonpath={.spec.renewTime}')\" != '$r1' ]" &&
        ok "lease renewed" || bad "lease renewed"
    out=$(KC get nodes 2>&1)
    echo "$out" | grep -q "$NODE *Ready" && ok "kubectl 1.32 get nodes: Ready" || bad "kubectl get nodes" "$out"
}

sec_pods() {
    hp=$((20000 + rnd % 10000))
    apply "$(pod web "  containers:
  - name: web
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www']
    ports: [{containerPort: 80, hostPort: $hp}]")"
    wait_until 30 running web && ok "pod Running" || bad "web Running" "$(K describe pod web)"
    ip=$(jp pod/web '{.status.podIP}')
    case $ip in $POD_NET.*) ok "pod IP $ip in $POD_CIDR" ;; *) bad "pod IP" "$ip" ;; esac
    [ "$(jp pod/web '{.status.hostIP}')" = $NODE_IP ] && ok "hostIP" || bad "hostIP"
    [ "$(jp pod/web '{.status.qosClass}')" = BestEffort ] && ok "qosClass" || bad "qosClass"
    [ -n "$(jp pod/web '{.status.startTime}')" ] && ok "startTime" || bad "startTime"
    case $(jp pod/web '{.status.containerStatuses[0].containerID}') in libkube://*) ok "containerID libkube://" ;; *) bad "containerID" ;; esac
    case $(jp pod/web '{.status.containerStatuses[0].imageID}') in *sha256:*) ok "imageID" ;; *) bad "imageID" "$(jp pod/web '{.status.containerStatuses[0].imageID}')" ;; esac
    for c in PodScheduled PodReadyToStartContainers Initialized ContainersReady Ready; do
        [ "$(jp pod/web "{.status.conditions[?(@.type==\"$c\")].status}")" = True ] || { bad "condition $c"; continue; }
    done
    ok "conditions PodScheduled PodReadyToStartContainers Initialized ContainersReady Ready"
    for r in Scheduled Pulled Created Started; do
        wait_until 5 event_has web "^$r:" || bad "event $r" "$(events_of web)"
    done
    event_has web "Created: Created container: web" && event_has web "Started: Started container web" &&
        ok "events Scheduled, Pulled, Created, Started with the kubelet's wording" || bad "event wording" "$(events_of web)"
    apply "$(pod client "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'until wget -qO- http://$ip/; do sleep 0.2; done; sleep 3600']")"
    wait_until 30 log_has client c hello-from-web && ok "pod to pod over the bridge" || bad "pod to pod" "$(podlog client c)" "$(K describe pod client)"
    out=""
    for i in $(seq 1 50); do out=$(IN busybox wget -qO- http://$NODE_IP:$hp/ 2>&1) && break; sleep 0.2; done
    [ "$out" = hello-from-web ] && ok "hostPort $hp from the node address" || bad "hostPort" "$out"
    out=$(KC get pods -o wide 2>&1)
    echo "$out" | grep -q "web .*Running.*$ip.*$NODE" && ok "kubectl 1.32 get pods -o wide" || bad "kubectl get pods" "$out"
    out=$(KC describe pod web 2>&1)
    echo "$out" | grep -q "Started container web" && echo "$out" | grep -q "Container ID: *libkube://" &&
        ok "kubectl 1.32 describe pod" || bad "kubectl describe" "$out"
    K delete pod client --grace-period=1 >/dev/null
}

sec_restarts() {
    apply "$(pod crash "  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'echo boom; exit 1']}")"
    apply "$(pod done0 "  restartPolicy: OnFailure
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'exit 0']}")"
    apply "$(pod never7 "  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'exit 7']}")"
    apply "$(pod oom "  restartPolicy: Never
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'tail /dev/zero']
    resources: {limits: {memory: 20Mi}}")"
    apply "$(pod badcmd "  containers:
  - {name: c, image: busybox:1.35.0, command: [/no/such/binary]}")"
    wait_until 40 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod crash -o 'jsonpath={.status.containerStatuses[0].restartCount}')\" -ge 2 ]" &&
        ok "restartPolicy Always restarts (restartCount >= 2)" || bad "crash restarts" "$(K describe pod crash)"
    wait_until 20 waiting_is crash CrashLoopBackOff && ok "CrashLoopBackOff" || bad "CrashLoopBackOff" "$(K describe pod crash)"
    msg=$(jp pod/crash '{.status.containerStatuses[0].state.waiting.message}')
    case $msg in "back-off "*"restarting failed container=c pod=crash_default("*) ok "back-off message: $msg" ;; *) bad "back-off message" "$msg" ;; esac
    [ "$(jp pod/crash '{.status.containerStatuses[0].lastState.terminated.reason}')" = Error ] &&
        [ "$(jp pod/crash '{.status.containerStatuses[0].lastState.terminated.exitCode}')" = 1 ] &&
        ok "lastState terminated Error exitCode 1" || bad "lastState" "$(K get pod crash -o yaml)"
    event_has crash "BackOff: Back-off restarting failed container c in pod crash_default" && ok "BackOff event" || bad "BackOff event" "$(events_of crash)"
    log_has crash c boom && ok "CRI log of the container" || bad "crash log"
    wait_until 20 phase_is done0 Succeeded && [ "$(jp pod/done0 '{.status.containerStatuses[0].state.terminated.reason}')" = Completed ] &&
        [ "$(jp pod/done0 '{.status.containerStatuses[0].restartCount}')" = 0 ] &&
        ok "OnFailure exit 0: Succeeded, Completed" || bad "done0" "$(K get pod done0 -o yaml)"
    wait_until 20 phase_is never7 Failed && [ "$(jp pod/never7 '{.status.containerStatuses[0].state.terminated.exitCode}')" = 7 ] &&
        [ "$(jp pod/never7 '{.status.containerStatuses[0].state.terminated.reason}')" = Error ] &&
        ok "Never exit 7: Failed, Error, exitCode 7" || bad "never7" "$(K get pod never7 -o yaml)"
    wait_until 30 phase_is oom Failed && [ "$(jp pod/oom '{.status.containerStatuses[0].state.terminated.reason}')" = OOMKilled ] &&
        [ "$(jp pod/oom '{.status.containerStatuses[0].state.terminated.exitCode}')" = 137 ] &&
        ok "OOMKilled (exitCode 137)" || bad "OOMKilled" "$(K get pod oom -o yaml)"
    wait_until 30 sh -c "ip netns exec $NS $KUBE get pod badcmd -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}' | grep -qE 'RunContainerError|CrashLoopBackOff'" &&
        [ "$(jp pod/badcmd '{.status.containerStatuses[0].lastState.terminated.reason}')" = StartError ] &&
        ok "bad command: RunContainerError/CrashLoopBackOff, lastState StartError" || bad "badcmd" "$(K get pod badcmd -o yaml)"
    jp pod/badcmd '{.status.containerStatuses[0].lastState.terminated.message}' | grep -q /no/such/binary &&
        ok "bad command: the message names the binary" || bad "badcmd message"
    event_has badcmd "Failed: Error: .*no/such/binary" && ok "bad command: Failed event" || bad "badcmd event" "$(events_of badcmd)"
    K delete pod crash done0 never7 oom badcmd --grace-period=1 --wait=false >/dev/null
}

sec_init() {
    apply "$(pod init "  initContainers:
  - {name: i1, image: busybox:1.35.0, command: [sh, -c, 'echo -n 1 > /w/seq'], volumeMounts: [{name: w, mountPath: /w}]}
  - {name: i2, image: busybox:1.35.0, command: [sh, -c, 'echo -n 2 >> /w/seq'], volumeMounts: [{name: w, mountPath: /w}]}
  containers:
  - {name: main, image: busybox:1.35.0, command: [sh, -c, 'cat /w/seq; echo; sleep 3600'], volumeMounts: [{name: w, mountPath: /w}]}
  volumes: [{name: w, emptyDir: {}}]")"
    wait_until 30 running init && log_has init main '^12$' && ok "init containers in order, then the container" || bad "init order" "$(podlog init main)" "$(K describe pod init)"
    [ "$(jp pod/init '{.status.initContainerStatuses[1].state.terminated.reason}')" = Completed ] &&
        [ "$(jp pod/init '{.status.conditions[?(@.type=="Initialized")].status}')" = True ] &&
        ok "initContainerStatuses Completed, Initialized" || bad "init statuses"
    apply "$(pod initfail "  restartPolicy: Never
  initContainers:
  - {name: i1, image: busybox:1.35.0, command: [sh, -c, 'exit 3']}
  containers:
  - {name: main, image: busybox:1.35.0, command: [sleep, '3600']}")"
    wait_until 20 phase_is initfail Failed && [ "$(jp pod/initfail '{.status.containerStatuses[0].state.waiting.reason}')" = PodInitializing ] &&
        ok "failed init container with restartPolicy Never: pod Failed, main never ran" || bad "initfail" "$(K get pod initfail -o yaml)"
    apply "$(pod sidecar "  initContainers:
  - {name: side, image: busybox:1.35.0, restartPolicy: Always, command: [sh, -c, 'echo side-up; sleep 3600']}
  containers:
  - {name: main, image: busybox:1.35.0, command: [sleep, '3600']}")"
    wait_until 30 running sidecar && [ -n "$(jp pod/sidecar '{.status.initContainerStatuses[0].state.running.startedAt}')" ] &&
        ok "sidecar (restartPolicy Always init container) keeps running beside the container" || bad "sidecar" "$(K get pod sidecar -o yaml)"
    K delete pod init initfail sidecar --grace-period=1 --wait=false >/dev/null
}

sec_volumes() {
    mkdir -p $tmp/hp
    echo from-host > $tmp/hp/file.txt
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {key: v1, other: "two"}\n' | K apply -f - >/dev/null
    K create secret generic sec --from-literal=password=s3cret >/dev/null
    apply "$(pod vols "  securityContext: {fsGroup: 4321}
  # (defaultMode 0400 with an fsGroup reads 0440, as with the kubelet)
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'cat /cfg/k; echo; stat -L -c %a /cfg/k; cat /sub/key; echo; cat /sec/password; echo; grep -q \" /sec tmpfs\" /proc/mounts && echo sec-tmpfs; cat /info/labels; echo; cat /info/ann; echo; cat /proj/key /proj/password /proj/name; echo; cat /hp/file.txt; ls -d /hpnew; grep \" /mem tmpfs\" /proc/mounts | grep -q size=5120k && echo mem-tmpfs-5Mi; touch /ro/x 2>&1; stat -c %g /scratch; id -G; while true; do echo LIVE=\$(cat /cfg/k); sleep 0.3; done']
    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: cfgall, mountPath: /sub/key, subPath: key}
    - {name: sec, mountPath: /sec}
    - {name: info, mountPath: /info}
    - {name: proj, mountPath: /proj}
    - {name: hp, mountPath: /hp}
    - {name: hpnew, mountPath: /hpnew}
    - {name: mem, mountPath: /mem}
    - {name: scratch, mountPath: /ro, readOnly: true}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - {name: cfg, configMap: {name: cfg, items: [{key: key, path: k}], defaultMode: 0400}}
  - {name: cfgall, configMap: {name: cfg}}
  - {name: sec, secret: {secretName: sec}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: ann, fieldRef: {fieldPath: \"metadata.annotations['note']\"}}]}
  - name: proj
    projected:
      sources:
      - configMap: {name: cfg}
      - secret: {name: sec}
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
  - {name: hp, hostPath: {path: $tmp/hp, type: Directory}}
  - {name: hpnew, hostPath: {path: $tmp/hp/new, type: DirectoryOrCreate}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 5Mi}}
  - {name: scratch, emptyDir: {}}")"
    wait_until 30 running vols || bad "vols Running" "$(K describe pod vols)"
    sleep 1
    L=$(podlog vols c)
    for want in '^v1$' '^440$' '^s3cret$' '^sec-tmpfs$' '^app="vols"$' '^hello-note$' '^from-host$' '^/hpnew$' '^mem-tmpfs-5Mi$' 'Read-only file system' '^4321$'; do
        echo "$L" | grep -q "$want" || bad "volumes: $want" "$L"
    done
    echo "$L" | grep -q '^v1s3cretvols$' && ok "projected configMap + secret + downwardAPI" || bad "projected" "$L"
    echo "$L" | grep -q ' 4321' && ok "fsGroup is a supplementary group, owns the emptyDir" || bad "fsGroup" "$L"
    [ -d $tmp/hp/new ] && ok "hostPath DirectoryOrCreate made the directory" || bad "DirectoryOrCreate"
    ok "configMap items/defaultMode/subPath, secret on tmpfs, downwardAPI, hostPath, emptyDir Memory sizeLimit, readOnly"
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {key: v2, other: "two"}\n' | K apply -f - >/dev/null
    wait_until 30 log_has vols c '^LIVE=v2$' && ok "configMap update reaches the running pod" || bad "live update" "$(podlog vols c | tail -3)"
    [ "$(jp pod/vols '{.status.containerStatuses[0].restartCount}')" = 0 ] && ok "... without a restart" || bad "restart on update"
    apply "$(pod nocm "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600'], volumeMounts: [{name: v, mountPath: /v}]}
  volumes: [{name: v, configMap: {name: not-yet}}]")"
    wait_until 20 event_has nocm 'FailedMount: MountVolume.SetUp failed for volume "v" : configmap "not-yet" not found' &&
        ok "missing configMap: FailedMount" || bad "FailedMount" "$(events_of nocm)"
    phase_is nocm Pending && waiting_is nocm ContainerCreating && ok "... the pod waits (ContainerCreating)" || bad "nocm waits" "$(K get pod nocm -o yaml)"
    K create configmap not-yet --from-literal=a=b >/dev/null
    wait_until 30 running nocm && ok "... and starts once the configMap exists" || bad "nocm starts" "$(K describe pod nocm)"
    apply "$(pod nofile "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600'], volumeMounts: [{name: v, mountPath: /v}]}
  volumes: [{name: v, hostPath: {path: $tmp/hp/missing, type: File}}]")"
    wait_until 20 event_has nofile "hostPath type check failed: $tmp/hp/missing does not exist" &&
        ok "hostPath type File missing: FailedMount" || bad "hostPath File" "$(events_of nofile)"
    K delete pod vols nocm nofile --grace-period=1 --wait=false >/dev/null
}

sec_env() {
    K create configmap envcm --from-literal=color=blue --from-literal=size=L >/dev/null
    K create secret generic envsec --from-literal=token=t0k >/dev/null
    printf 'apiVersion: v1\nkind: Service\nmetadata: {name: my-svc}\nspec:\n  ports: [{name: http, port: 8080}]\n  selector: {app: x}\n' | K apply -f - >/dev/null
    apply "$(pod envp "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'env | sort; echo ARGS \$(A)']
    args: []
    env:
    - {name: A, value: plain}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: envcm, key: color}}}
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: envsec, key: token}}}
    - {name: MYIP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MYNODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MYNS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: HOSTIP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: EXP, value: '\$(COLOR)-\$(A)-\$\$(A)-\$(NOPE)'}
    envFrom: [{configMapRef: {name: envcm}, prefix: CM_}]
    resources: {limits: {memory: 64Mi}}
  restartPolicy: Never")"
    wait_until 30 phase_is envp Succeeded || bad "envp" "$(K describe pod envp)"
    L=$(podlog envp c)
    ip=$(jp pod/envp '{.status.podIP}')
    for want in A=plain COLOR=blue TOKEN=t0k MYIP=$ip MYNODE=$NODE MYNS=default HOSTIP=$NODE_IP MEM=64 \
        'EXP=blue-plain-$(A)-$(NOPE)' CM_color=blue CM_size=L MY_SVC_SERVICE_HOST= MY_SVC_SERVICE_PORT=8080 \
        MY_SVC_SERVICE_PORT_HTTP=8080 'MY_SVC_PORT=tcp://' KUBERNETES_SERVICE_HOST= HOSTNAME=envp; do
        echo "$L" | grep -q "^$want" || bad "env $want" "$L"
    done
    ok "env: value, configMapKeyRef, secretKeyRef, fieldRef (podIP, nodeName, hostIP), resourceFieldRef, envFrom prefix, \$(VAR), service links"
    apply "$(pod nolinks "  enableServiceLinks: false
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'env']}")"
    wait_until 30 phase_is nolinks Succeeded
    L=$(podlog nolinks c)
    echo "$L" | grep -q KUBERNETES_SERVICE_HOST && ! echo "$L" | grep -q MY_SVC && ok "enableServiceLinks false: only the kubernetes service" || bad "nolinks" "$L"
    apply "$(pod badref "  containers:
  - name: c
    image: busybox:1.35.0
    command: [sleep, '3600']
    env: [{name: X, valueFrom: {configMapKeyRef: {name: envcm, key: nokey}}}]")"
    wait_until 20 waiting_is badref CreateContainerConfigError &&
        jp pod/badref '{.status.containerStatuses[0].state.waiting.message}' | grep -q "couldn't find key nokey in ConfigMap default/envcm" &&
        ok "missing key: CreateContainerConfigError with the kubelet's message" || bad "badref" "$(K get pod badref -o yaml)"
    apply "$(pod dnsp "  restartPolicy: Never
  subdomain: sub
  hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local, bar.local]}]
  dnsConfig: {searches: [extra.example], options: [{name: ndots, value: '2'}]}
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'cat /etc/hosts /etc/resolv.conf /etc/hostname; hostname']}")"
    wait_until 30 phase_is dnsp Succeeded
    L=$(podlog dnsp c); ip=$(jp pod/dnsp '{.status.podIP}')
    echo "$L" | grep -q "^# Kubernetes-managed hosts file." && echo "$L" | grep -q "^$ip	dnsp.sub.default.svc.cluster.local	dnsp" &&
        echo "$L" | grep -q "^10.1.2.3	foo.local	bar.local" && ok "/etc/hosts: pod address, subdomain, hostAliases" || bad "/etc/hosts" "$L"
    echo "$L" | grep -q "^nameserver 10.96.0.10" && echo "$L" | grep -q "^search default.svc.cluster.local svc.cluster.local cluster.local.* extra.example" &&
        echo "$L" | grep -q "^options ndots:2" && ok "/etc/resolv.conf: ClusterFirst with dnsConfig" || bad "resolv.conf" "$L"
    [ "$(echo "$L" | tail -1)" = dnsp ] && ok "/etc/hostname and the UTS name" || bad "hostname" "$L"
    K delete pod envp nolinks badref dnsp --grace-period=1 --wait=false >/dev/null
}

sec_security() {
    apply "$(pod ids "  restartPolicy: Never
  securityContext: {runAsUser: 1234, runAsGroup: 5678, supplementalGroups: [42]}
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'id; grep -E \"^(CapBnd|NoNewPrivs|Seccomp):\" /proc/self/status; touch /x && echo wrote-root']
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}, seccompProfile: {type: RuntimeDefault}}")"
    wait_until 30 phase_is ids Succeeded || phase_is ids Failed
    L=$(podlog ids c)
    echo "$L" | grep -q "uid=1234 gid=5678 groups=5678,42\|uid=1234 gid=5678 groups=42" && ok "runAsUser, runAsGroup, supplementalGroups" || bad "ids" "$L"
    echo "$L" | grep -q "CapBnd:	0000000000000400" && ok "capabilities drop ALL, add NET_BIND_SERVICE" || bad "caps" "$L"
    echo "$L" | grep -q "NoNewPrivs:	1" && ok "allowPrivilegeEscalation false: no_new_privs" || bad "nnp" "$L"
    echo "$L" | grep -q "Seccomp:	2" && ok "seccompProfile RuntimeDefault" || bad "seccomp" "$L"
    ! echo "$L" | grep -q wrote-root && ok "readOnlyRootFilesystem" || bad "ro root" "$L"
    apply "$(pod defaults "  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'id -u; grep -E \"^(CapEff|NoNewPrivs|Seccomp):\" /proc/self/status']}")"
    apply "$(pod priv "  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'grep CapEff /proc/self/status; cat /proc/sys/net/ipv4/ip_unprivileged_port_start'], securityContext: {privileged: true}}
  securityContext: {sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: '77'}]}")"
    apply "$(pod nonroot "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600'], securityContext: {runAsNonRoot: true}}")"
    apply "$(pod badsysctl "  securityContext: {sysctls: [{name: kernel.msgmax, value: '65536'}]}
  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600']}")"
    apply "$(pod hostnet "  hostNetwork: true
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'cat /proc/net/dev']}")"
    wait_until 30 phase_is defaults Succeeded; L=$(podlog defaults c)
    echo "$L" | grep -q '^0$' && echo "$L" | grep -q "CapEff:	00000000a80425fb" && echo "$L" | grep -q "Seccomp:	0" &&
        ok "defaults: root, Docker's capabilities, seccomp Unconfined (the kubelet's default)" || bad "defaults" "$L"
    wait_until 30 phase_is priv Succeeded; L=$(podlog priv c)
    own=$(grep CapBnd /proc/self/status | awk '{print $2}')
    echo "$L" | grep -q "CapEff:	$own" && ok "privileged: every capability the node holds" || bad "privileged" "$L" "own: $own"
    echo "$L" | grep -q '^77$' && ok "namespaced sysctl" || bad "sysctl" "$L"
    wait_until 20 waiting_is nonroot CreateContainerConfigError &&
        jp pod/nonroot '{.status.containerStatuses[0].state.waiting.message}' | grep -q 'container has runAsNonRoot and image will run as root (pod: "nonroot_default(' &&
        ok "runAsNonRoot refused with the kubelet's message" || bad "nonroot" "$(K get pod nonroot -o yaml)"
    wait_until 20 phase_is badsysctl Failed && [ "$(jp pod/badsysctl '{.status.reason}')" = SysctlForbidden ] &&
        ok "unsafe sysctl: Failed, SysctlForbidden" || bad "badsysctl" "$(K get pod badsysctl -o yaml)"
    wait_until 30 phase_is hostnet Succeeded
    podlog hostnet c | grep -q nodeif && [ "$(jp pod/hostnet '{.status.podIP}')" = $NODE_IP ] &&
        ok "hostNetwork: the node's interfaces, podIP = node IP" || bad "hostnet" "$(podlog hostnet c)"
    apply "$(pod limits "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600'], resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}}")"
    wait_until 30 running limits || bad "limits running"
    uid=$(jp pod/limits '{.metadata.uid}')
    q=$(cat /sys/fs/cgroup/cpu/$CG/burstable/pod$uid/*/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/$CG/burstable/pod$uid/*/cpu.max 2>/dev/null)
    m=$(cat /sys/fs/cgroup/memory/$CG/burstable/pod$uid/*/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/$CG/burstable/pod$uid/*/memory.max 2>/dev/null)
    case "$q $m" in "50000 67108864"|"50000 100000 67108864") ok "resources: cpu quota and memory limit in the Burstable pod cgroup" ;; *) bad "cgroup limits" "$q $m" ;; esac
    [ "$(jp pod/limits '{.status.qosClass}')" = Burstable ] && ok "qosClass Burstable" || bad "qos"
    K delete pod ids defaults priv nonroot badsysctl hostnet limits --grace-period=1 --wait=false >/dev/null
}

sec_termination() {
    mkdir -p $tmp/out
    apply "$(pod term "  terminationGracePeriodSeconds: 30
  volumes: [{name: out, hostPath: {path: $tmp/out}}]
  containers:
  - {name: c, image: busybox:1.35.0, volumeMounts: [{name: out, mountPath: /out}], command: [sh, -c, 'trap \"echo got-TERM > /out/term; exit 0\" TERM; while true; do sleep 0.1; done']}")"
    apply "$(pod stubborn "  terminationGracePeriodSeconds: 3
  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600']}")"
    printf 'FROM busybox:1.35.0\nSTOPSIGNAL SIGUSR1\nCMD ["sh", "-c", "trap \\"echo got-USR1 > /out/usr1; exit 0\\" USR1; while true; do sleep 0.1; done"]\n' > $tmp/Dockerfile
    out=$("$KUBE" build --data-dir "$D" -t stopsig:1 -f $tmp/Dockerfile $tmp 2>&1) || bad "build stopsig image" "$out"
    apply "$(pod usr1 "  volumes: [{name: out, hostPath: {path: $tmp/out}}]
  containers:
  - {name: c, image: stopsig:1, imagePullPolicy: Never, volumeMounts: [{name: out, mountPath: /out}]}")"
    wait_until 30 running term && wait_until 30 running stubborn && wait_until 30 running usr1 || bad "termination pods" "$(K get pods)"
    sleep 0.5
    K delete pod term usr1 >/dev/null 2>&1
    gone term && gone usr1 && ok "graceful deletion: SIGTERM handler, object gone" || bad "term gone"
    grep -q got-TERM $tmp/out/term 2>/dev/null && ok "SIGTERM reached the container" || bad "SIGTERM"
    event_has term "Killing: Stopping container c" && ok "Killing event" || bad "Killing event" "$(events_of term)"
    grep -q got-USR1 $tmp/out/usr1 2>/dev/null && ok "the image's STOPSIGNAL (SIGUSR1) stopped it" || bad "STOPSIGNAL"
    K delete pod stubborn >/dev/null 2>&1
    gone stubborn && ok "a container ignoring SIGTERM is killed after the grace period" || bad "stubborn"
}

sec_restart_kubed() {
    apply "$(pod keep "  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'while true; do date +%s; sleep 1; done']}")"
    apply "$(pod exits "  restartPolicy: Never
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'sleep 4; exit 5']}")"
    apply "$(pod victim "  terminationGracePeriodSeconds: 2
  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600']}")"
    wait_until 30 running keep && wait_until 30 running exits && wait_until 30 running victim || bad "restart pods" "$(K get pods)"
    cid=$(jp pod/keep '{.status.containerStatuses[0].containerID}')
    started=$(jp pod/keep '{.status.containerStatuses[0].state.running.startedAt}')
    vuid=$(jp pod/victim '{.metadata.uid}')
    stop_kubed KILL
    sleep 5 # pod "exits" exits while no agent runs
    # the API alone (no node): pod "victim" is deleted meanwhile
    start_kubed --no-node
    K delete pod victim --grace-period=0 --force >/dev/null 2>&1
    stop_kubed TERM
    start_kubed || bad "kubed restart" "$(tail -20 $tmp/kubed.log)"
    wait_until 10 sh -c "[ \"\$(ip netns exec $NS $KUBE get pod exits -o 'jsonpath={.status.phase}')\" = Failed ]"
    [ "$(jp pod/keep '{.status.containerStatuses[0].containerID}')" = "$cid" ] &&
        [ "$(jp pod/keep '{.status.containerStatuses[0].restartCount}')" = 0 ] &&
        [ "$(jp pod/keep '{.status.containerStatuses[0].state.running.startedAt}')" = "$started" ] &&
        ok "kubed restart: the container kept running (same ID, restartCount 0)" || bad "adoption" "$(K get pod keep -o yaml)"
    [ "$(jp pod/exits '{.status.containerStatuses[0].state.terminated.exitCode}')" = 5 ] &&
        ok "an exit while kubed was down is recorded" || bad "exit while down" "$(K get pod exits -o yaml)"
    wait_until 20 sh -c "[ ! -d $D/pods/$vuid ]" && ok "the container of a pod deleted meanwhile is stopped and removed" || bad "victim" "$(ls $D/pods)"
    K delete pod keep exits --grace-period=1 --wait=false >/dev/null
}

sec_faults() {
    apply "$(pod noimage "  containers:
  - {name: c, image: 'localhost:1/no/such:image'}")"
    wait_until 20 waiting_is noimage ImagePullBackOff && ok "missing image: ImagePullBackOff" || bad "noimage" "$(K get pod noimage -o yaml)"
    event_has noimage 'Failed: Error: ErrImagePull' && event_has noimage 'BackOff: Back-off pulling image "localhost:1/no/such:image"' &&
        ok "... events ErrImagePull, Back-off pulling image" || bad "noimage events" "$(events_of noimage)"
    apply "$(pod never "  containers:
  - {name: c, image: 'not-here:1', imagePullPolicy: Never}")"
    wait_until 20 waiting_is never ErrImageNeverPull && ok "imagePullPolicy Never, absent: ErrImageNeverPull" || bad "never" "$(K get pod never -o yaml)"
    port=$((30000 + rnd % 10000))
    ip netns exec $NS busybox nc -l -p $port >/dev/null 2>&1 &
    ncpid=$!
    sleep 0.3
    apply "$(pod taken "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600'], ports: [{containerPort: 80, hostPort: $port}]}")"
    wait_until 20 event_has taken "FailedCreatePodSandBox: .*hostport $port.*in use" && ok "hostPort already taken: FailedCreatePodSandBox" || bad "taken" "$(events_of taken)"
    kill $ncpid 2>/dev/null; wait $ncpid 2>/dev/null
    wait_until 90 running taken && ok "... and it starts once the port is free" || bad "taken starts" "$(K describe pod taken)"
    apply "$(pod forks "  terminationGracePeriodSeconds: 2
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'for i in \$(seq 1000); do sleep 3600 & done; echo forked; wait']}")"
    wait_until 60 log_has forks c forked && ok "a thousand children" || bad "forks" "$(K describe pod forks)"
    uid=$(jp pod/forks '{.metadata.uid}')
    n=$(cat /sys/fs/cgroup/pids/$CG/besteffort/pod$uid/*/cgroup.procs 2>/dev/null | wc -l)
    [ "$n" -ge 1000 ] && ok "... $n processes in the pod's cgroup" || bad "fork count" "$n"
    K delete pod forks >/dev/null 2>&1
    gone forks && [ -z "$(find /sys/fs/cgroup/*/$CG -type d -name "pod$uid" 2>/dev/null)" ] &&
        ok "... all gone with the pod" || bad "forks gone"
    apply "$(pod quick "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600']}")"
    K delete pod quick --grace-period=0 --force >/dev/null 2>&1
    wait_until 20 gone quick && ok "deleted mid-start" || bad "quick"
    for i in 1 2 3 4 5; do
        apply "$(pod mid$i "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3600']}")"
    done
    sleep 0.3
    stop_kubed KILL
    start_kubed || bad "kubed restart after kill mid-start"
    for i in 1 2 3 4 5; do wait_until 60 running mid$i || bad "mid$i after kubed was killed mid-start" "$(K describe pod mid$i)"; done
    ok "kubed killed mid-start: every pod runs after the restart"
    K delete pod noimage never taken mid1 mid2 mid3 mid4 mid5 --grace-period=1 --wait=false >/dev/null
}

# What the node left of pod UID (its directory, cgroup, processes of
# `sleep TAG`); empty when nothing.
pod_left() {
    l=""
    ls "$D/pods" 2>/dev/null | grep -q "$1" && l="$l pod-dir"
    [ -n "$(find /sys/fs/cgroup/*/$CG -type d \( -name "*$1*" -o -name "*$(echo $1 | tr - _)*" \) 2>/dev/null)" ] && l="$l cgroup"
    pgrep -f "sleep $2\$" >/dev/null && l="$l process"
    echo $l
}

# The deletion handshake: the API server keeps a deleted pod (marked with
# deletionTimestamp) until its node stopped it and tore it down; then the
# node's grace-0 DELETE removes it, so that `kubectl delete` (which waits
# for the object to go) returns with nothing of the pod left on the node.
sec_deletion() {
    apply "$(pod delw "  terminationGracePeriodSeconds: 600
  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3607']}")"
    apply "$(pod delk "  containers:
  - {name: c, image: busybox:1.35.0, command: [sleep, '3608']}")"
    wait_until 30 running delw && wait_until 30 running delk || bad "deletion pods" "$(K get pods)"
    uw=$(jp pod/delw '{.metadata.uid}'); uk=$(jp pod/delk '{.metadata.uid}')
    KC delete pod delw --wait=false >/dev/null 2>&1
    [ -n "$(jp pod/delw '{.metadata.deletionTimestamp}')" ] &&
        [ "$(jp pod/delw '{.metadata.deletionGracePeriodSeconds}')" = 600 ] &&
        ok "a deleted pod stays, marked (deletionTimestamp, grace 600s), while its node stops it" ||
        bad "deleted pod marked" "$(K get pod delw -o yaml 2>&1)"
    # a shorter grace period, and kubectl waits for the object to go
    out=$(KC delete pod delw --grace-period=1 2>&1) || bad "kubectl delete --grace-period=1" "$out"
    left=$(pod_left $uw 3607)
    gone delw && [ -z "$left" ] &&
        ok "kubectl delete --grace-period=1 returns with the pod torn down on the node" ||
        bad "teardown before the object goes" "$left"
    out=$(KC delete pod delk 2>&1) || bad "kubectl delete" "$out"
    left=$(pod_left $uk 3608)
    gone delk && [ -z "$left" ] && ok "kubectl delete returns with nothing of the pod left" ||
        bad "leftovers right after kubectl delete" "$left"
}

sec_kubectl() {
    out=$(KC run kc --image=busybox:1.35.0 --restart=Never -- sh -c 'echo via-kubectl' 2>&1) || bad "kubectl run" "$out"
    wait_until 30 phase_is kc Succeeded && log_has kc kc via-kubectl && ok "kubectl 1.32 run: the pod runs" || bad "kubectl run pod" "$(K describe pod kc)"
    out=$(KC delete pod kc 2>&1) && wait_until 20 gone kc && ok "kubectl 1.32 delete" || bad "kubectl delete" "$out"
}

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
start_kubed || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"
sections=${*:-node pods restarts init volumes env security termination deletion restart_kubed faults kubectl}
for s in $sections; do
    echo "# $s"
    sec_$s
done
