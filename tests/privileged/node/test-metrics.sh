#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Resource metrics end to end (root): kubed server with its node in a
# network namespace of the test's own.  A busybox pod burning CPU (capped
# at 300m by its limit) shows in the node's Summary API, in
# metrics.k8s.io (NodeMetrics, PodMetrics, label selectors) and in
# `kubectl top nodes|pods [--containers]` and `kube top` with more than
# 100m; then (section hpa) a HorizontalPodAutoscaler scales a deployment
# of such pods up; (section dashboard) the web dashboard shows the usage
# bars and charts in a headless Chromium.
#   test-metrics.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
trap 'finish; exit $?' EXIT INT TERM

# the CPU of pod $1 (container $2 with --containers) in kubectl top, in
# millicores
top_milli() {
    if [ $# -gt 1 ]; then
        v=$(KC top pods --containers --no-headers 2>/dev/null | awk -v p=$1 -v c=$2 '$1 == p && $2 == c {print $3}')
    else
        v=$(KC top pods --no-headers 2>/dev/null | awk -v p=$1 '$1 == p {print $2}')
    fi
    case $v in *m) echo ${v%m} ;; "") echo 0 ;; *) echo $((v * 1000)) ;; esac
}
burning() { [ "$(top_milli "$@")" -gt 100 ]; }

# burner NAME: a pod whose container spin burns CPU (capped at 300m) beside
# an idle one.
burner() {
    apply "apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $1}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: busybox:1.35.0
    command: [sh, -c, 'while :; do :; done']
    resources: {requests: {cpu: 100m}, limits: {cpu: 300m}}
  - name: idle
    image: busybox:1.35.0
    command: [sleep, '3600']"
}

sec_top() {
    burner burn
    wait_until 60 running burn && ok "burner Running" || bad "burner Running" "$(K describe pod burn)"
    out=$(KC get --raw /apis/metrics.k8s.io/v1beta1 2>&1)
    echo "$out" | grep -q '"kind":"PodMetrics"' && ok "discovery lists metrics.k8s.io/v1beta1" || bad "discovery" "$out"
    wait_until 60 burning burn && ok "kubectl top pods: burn > 100m ($(top_milli burn)m)" ||
        bad "kubectl top pods" "$(KC top pods 2>&1)" "$(KC get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods 2>&1)"
    burning burn spin && ok "kubectl top pods --containers: spin > 100m" || bad "top --containers" "$(KC top pods --containers 2>&1)"
    m=$(top_milli burn spin)
    [ "$m" -le 400 ] && ok "the limit caps it ($m m <= 400m)" || bad "cpu limit" "$m"
    [ "$(top_milli burn idle)" -lt 50 ] && ok "the idle container shows little" || bad "idle container" "$(KC top pods --containers 2>&1)"
    out=$(KC top pods -l app=burn 2>&1)
    echo "$out" | grep -q '^burn ' && ok "top pods -l app=burn" || bad "label selector" "$out"
    out=$(KC top pods -l app=nothing 2>&1)
    echo "$out" | grep -q 'No resources found' && ok "top pods -l app=nothing: No resources found" || bad "empty selector" "$out"
    out=$(KC top pod nosuch 2>&1)
    echo "$out" | grep -q 'podmetrics.metrics.k8s.io "default/nosuch" not found' && ok "top pod nosuch: NotFound" || bad "top pod nosuch" "$out"
    out=$(KC top nodes 2>&1)
    echo "$out" | grep -q "^$NODE " && echo "$out" | head -1 | grep -q 'CPU(cores)' && ok "kubectl top nodes" || bad "top nodes" "$out"
    out=$(K top nodes 2>&1)
    echo "$out" | grep -q "^$NODE " && ok "kube top nodes" || bad "kube top nodes" "$out"
    out=$(K top pods --containers 2>&1)
    echo "$out" | grep -q "^burn *spin " && ok "kube top pods --containers" || bad "kube top pods" "$out"
    for args in "pods" "pods --containers" "nodes" "pods -A"; do
        a=$(K top $args 2>&1 | head -1); b=$(KC top $args 2>&1 | head -1)
        [ "$a" = "$b" ] && ok "kube top $args: kubectl's header" || bad "kube top $args header" "kube:    $a" "kubectl: $b"
    done
    out=$(KC get podmetrics 2>&1)
    echo "$out" | head -1 | grep -q "^NAME *CPU *MEMORY *WINDOW" && echo "$out" | grep -q "^burn " &&
        ok "kubectl get podmetrics (Table)" || bad "kubectl get podmetrics" "$out"
    out=$(KC get nodemetrics 2>&1)
    echo "$out" | grep -q "^$NODE " && ok "kubectl get nodemetrics" || bad "kubectl get nodemetrics" "$out"
    out=$(KC get --raw /apis/metrics.k8s.io/v1beta1/nodes/$NODE 2>&1)
    echo "$out" | grep -q '"kind":"NodeMetrics"' && echo "$out" | grep -q '"window":"10s"' && ok "NodeMetrics get" || bad "NodeMetrics" "$out"
    K delete pod burn --grace-period=1 >/dev/null 2>&1
    wait_until 60 gone burn && ok "burner deleted" || bad "burner deleted"
}

# The dashboard's usage bars and charts with these real metrics, in a
# headless Chromium inside the namespace (dashboard_usage.py; skipped
# without chromium, chromium-driver and python3-selenium).
sec_dashboard() {
    burner dash
    wait_until 60 burning dash && ok "dash burns CPU ($(top_milli dash)m)" || bad "dash burning" "$(KC top pods 2>&1)"
    url=$(sed -n 's/^ *server: *//p' "$KUBECONFIG" | grep '^https://127' | head -1)
    shots=$(dirname "$KUBED")/../../meson-logs/dashboard
    out=$(nsenter --net=/run/netns/$NS /usr/bin/python3 "$SRC/tests/privileged/node/dashboard_usage.py" \
        "$url" "$(cat "$D/token")" $NODE dash "$shots" 2>&1)
    rc=$?
    if [ $rc = 77 ]; then
        echo "skipped the dashboard: $out"
    else
        echo "$out" | while IFS= read -r line; do
            case $line in
                ok\ *|FAIL\ *) echo "dashboard: $line" ;;
                *) echo "$line" ;;
            esac
        done
        n_ok=$(echo "$out" | grep -c '^ok ')
        n_bad=$(echo "$out" | grep -c '^FAIL ')
        pass=$((pass + n_ok)); fail=$((fail + n_bad))
        [ $rc = 0 ] && ok "dashboard_usage.py exits 0" || bad "dashboard_usage.py exits 0 (rc $rc)"
    fi
    K delete pod dash --grace-period=1 >/dev/null 2>&1
    wait_until 60 gone dash && ok "dash deleted" || bad "dash deleted"
}

replicas_are() { [ "$(jp deploy/spin '{.status.replicas}')" = "$1" ]; }

sec_hpa() {
    apply "apiVersion: apps/v1
kind: Deployment
metadata: {name: spin}
spec:
  replicas: 1
  selector: {matchLabels: {app: spin}}
  template:
    metadata: {labels: {app: spin}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: spin
        image: busybox:1.35.0
        command: [sh, -c, 'while :; do :; done']
        resources: {requests: {cpu: 100m}, limits: {cpu: 150m}}"
    out=$(KC autoscale deploy spin --cpu-percent=50 --min=1 --max=3 2>&1)
    [ "$out" = "horizontalpodautoscaler.autoscaling/spin autoscaled" ] && ok "kubectl autoscale deploy spin" || bad "kubectl autoscale" "$out"
    # (kubectl 1.32 turns the short name hpa into the preferred v2 whatever
    # version follows it: the long name asks for v1)
    [ "$(KC get horizontalpodautoscalers.v1.autoscaling spin -o 'jsonpath={.spec.targetCPUUtilizationPercentage}')" = 50 ] && ok "v1 view: targetCPUUtilizationPercentage 50" || bad "v1 view"
    # no behavior: a scale-up is limited to max(2 x current, 4) only
    wait_until 120 replicas_are 3 && ok "HPA scaled spin up to its max (3)" ||
        bad "HPA scale-up" "$(KC describe hpa spin 2>&1 | tail -30)" "$(KC top pods 2>&1)"
    out=$(events_of spin)
    echo "$out" | grep -q 'SuccessfulRescale: New size: 3; reason: cpu resource utilization (percentage of request) above target' &&
        ok "event SuccessfulRescale: New size: 3" || bad "SuccessfulRescale event" "$out"
    wait_until 20 sh -c "[ \"\$(ip netns exec $NS $KUBE get hpa.v1.autoscaling spin -o 'jsonpath={.status.desiredReplicas}')\" = 3 ]" &&
        ok "v1 status.desiredReplicas 3" || bad "desiredReplicas" "$(jp hpa/spin '{.status}')"
    u=$(KC get horizontalpodautoscalers.v1.autoscaling spin -o 'jsonpath={.status.currentCPUUtilizationPercentage}')
    [ -n "$u" ] && [ "$u" -gt 50 ] && ok "v1 currentCPUUtilizationPercentage $u > 50" || bad "currentCPUUtilizationPercentage" "$(jp hpa/spin '{.status}')"
    out=$(KC get hpa spin 2>&1)
    echo "$out" | grep -q "Deployment/spin *cpu: [0-9]*%/50% *1 *3 *3" && ok "kubectl get hpa" || bad "kubectl get hpa" "$out"
    K delete hpa spin >/dev/null 2>&1
    # autoscaling/v2 with behavior: conditions and currentMetrics
    apply "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: spin2}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: spin}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 4, periodSeconds: 1}]}
    scaleDown: {stabilizationWindowSeconds: 600}"
    hpa2_cond() { jp hpa/spin2 "{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}"; }
    wait_until 60 sh -c "[ \"\$(ip netns exec $NS $KUBE get hpa spin2 -o 'jsonpath={.status.conditions[?(@.type==\"ScalingActive\")].reason}')\" = ValidMetricFound ]" &&
        ok "v2: ScalingActive True ValidMetricFound" || bad "ScalingActive" "$(hpa2_cond ScalingActive)" "$(jp hpa/spin2 '{.status}')"
    c=$(hpa2_cond AbleToScale)
    case $c in True/*) ok "v2: AbleToScale $c" ;; *) bad "AbleToScale" "$c" ;; esac
    # new pods' samples count once a full window followed their readiness
    # (upstream's CPU initialization rules): until then the unready ones
    # count as idle and the proposal stays at 3
    limited() { [ "$(hpa2_cond ScalingLimited)" = True/TooManyReplicas ]; }
    wait_until 90 limited && ok "v2: ScalingLimited True/TooManyReplicas" || bad "ScalingLimited" "$(hpa2_cond ScalingLimited)" "$(jp hpa/spin2 '{.status}')"
    [ "$(jp hpa/spin2 '{.status.desiredReplicas}')" = 3 ] && ok "v2: status.desiredReplicas 3" || bad "v2 desiredReplicas" "$(jp hpa/spin2 '{.status}')"
    u=$(jp hpa/spin2 '{.status.currentMetrics[0].resource.current.averageUtilization}')
    [ -n "$u" ] && [ "$u" -gt 50 ] && ok "v2: currentMetrics cpu utilization $u% > 50%" || bad "currentMetrics" "$(jp hpa/spin2 '{.status}')"
    out=$(KC get hpa spin2 2>&1)
    echo "$out" | grep -q "Deployment/spin *cpu: [0-9]*%/50% *1 *3 *3" && ok "kubectl get hpa (v2)" || bad "kubectl get hpa v2" "$out"
    # ContainerResource: the usage and request of one container, from the
    # per-container PodMetrics; a container the pods lack says so
    ctr_hpa() { apply "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: $1}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: spin}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: ContainerResource
    containerResource: {name: cpu, container: $2, target: {type: Utilization, averageUtilization: 50}}"; }
    ctr_hpa spin3 spin
    ctr_hpa spin4 nosuch
    wait_until 60 sh -c "[ \"\$(ip netns exec $NS $KUBE get hpa spin3 -o 'jsonpath={.status.conditions[?(@.type==\"ScalingActive\")].reason}')\" = ValidMetricFound ]" &&
        ok "ContainerResource: ScalingActive ValidMetricFound" || bad "ContainerResource" "$(jp hpa/spin3 '{.status}')"
    u=$(jp hpa/spin3 '{.status.currentMetrics[0].containerResource.current.averageUtilization}')
    c=$(jp hpa/spin3 '{.status.currentMetrics[0].containerResource.container}')
    [ -n "$u" ] && [ "$u" -gt 50 ] && [ "$c" = spin ] && ok "ContainerResource: container spin at $u% > 50%" || bad "ContainerResource currentMetrics" "$(jp hpa/spin3 '{.status}')"
    wait_until 60 sh -c "[ \"\$(ip netns exec $NS $KUBE get hpa spin4 -o 'jsonpath={.status.conditions[?(@.type==\"ScalingActive\")].reason}')\" = FailedGetContainerResourceMetric ]" &&
        ok "ContainerResource of a missing container: FailedGetContainerResourceMetric" || bad "missing container" "$(jp hpa/spin4 '{.status}')"
    m=$(jp hpa/spin4 '{.status.conditions[?(@.type=="ScalingActive")].message}')
    case $m in *"container nosuch not present in metrics for pod default/spin-"*) ok "missing container: upstream's message" ;;
        *) bad "missing container message" "$m" ;; esac
    K delete hpa spin3 spin4 >/dev/null 2>&1
    out=$(K autoscale deploy spin --name other --max=2 --cpu-percent=70 2>&1)
    [ "$out" = "horizontalpodautoscaler.autoscaling/other autoscaled" ] && [ "$(jp hpa/other '{.spec.maxReplicas}')" = 2 ] &&
        ok "kube autoscale" || bad "kube autoscale" "$out"
    K delete hpa other spin2 >/dev/null 2>&1
    K delete deploy spin >/dev/null 2>&1
    wait_until 60 no_pods && ok "deployment deleted" || bad "deployment deleted" "$(K get pods 2>&1)"
}

mkdir -p "$D"
setup_netns || { bad "netns"; exit 1; }
out=$(load_images) || { bad "busybox image" "$out"; exit 1; }
start_kubed --horizontal-pod-autoscaler-sync-period 2s && ok "kubed with its node Ready" || { bad "kubed" "$(tail -30 $tmp/kubed.log)"; exit 1; }
sections=${*:-top dashboard hpa}
for s in $sections; do
    command -v sec_$s >/dev/null 2>&1 || continue
    sec_$s
done
