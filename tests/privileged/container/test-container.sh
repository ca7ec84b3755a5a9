#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kube container end to end (root): docker-like single containers from the
# offline busybox image, inside a network namespace of the test's own (its
# bridge, subnet, cgroup parent, runtime root and data dir): run -d of an
# httpd reached through -p from the namespace's address, ls, logs (-f
# after the CLI exited, --tail, --timestamps), exec, inspect, port, stop,
# start, rm; a foreground run's output and exit code, --rm, -i, -e, -w,
# -u, -v, --entrypoint; the one-line errors (missing image, name in use,
# port taken, rm of a running container); the help text.  At the end
# nothing may be left: mounts, pinned namespaces, runtime state, cgroups,
# CNI addresses and port-mapping rules, veths, waiter processes.  With
# KUBED, a node agent on the same data dir runs meanwhile and leaves the
# containers alone.
#   test-container.sh KUBE SOURCE_ROOT [KUBED]
set -u
KUBE=$1; SRC=$2; KUBED=${3:-}

pass=0; fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -40; fail=$((fail + 1)); }
skip() { echo "SKIP: $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in ip nsenter iptables curl python3; do command -v $t >/dev/null || skip "$t missing"; done
for p in bridge host-local portmap; do
    [ -x /usr/lib/cni/$p ] || skip "containernetworking-plugins missing (/usr/lib/cni/$p)"
done
[ -x /bin/busybox ] || skip "busybox-static missing"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip "no overlayfs"

rnd=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
id=$(printf '%05x' $((rnd % 1048576)))
NS=ktc$id
BR=kcb$id
o2=$((100 + rnd % 100)); o3=$(((rnd / 100) % 250 + 1))
SUBNET=10.$o2.$o3.0/24
HOST_IP=10.$((o2 + 50)).$o3.2
CG=libkube-ctr-test-$id
RT=/run/libkube/test-ctr-$id
tmp=$(mktemp -d /tmp/kube-ctr-test-XXXXXX)
D=$tmp/data
DPAT=$tmp/dat[a] # matches the waiters' command lines, not grep's own
PORT=8080

IN() { nsenter --net=/run/netns/$NS "$@"; } # not with &: $! would be a subshell
# C VERB ARGS...: kube container VERB with the test's own everything
C() { v=$1; shift; IN "$KUBE" container "$v" --data-dir "$D" --runtime-root "$RT" \
        --cgroup-parent "$CG" --bridge "$BR" --subnet "$SUBNET" "$@"; }
wait_until() { # SECONDS COMMAND...
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}

leftovers() {
    left=""
    m=$(grep " $tmp" /proc/mounts | awk '{print $2}')
    [ -n "$m" ] && left="$left
mounts: $m"
    [ -d "$D/containers" ] && c=$(ls "$D/containers" | grep -v -e '^cni$' -e '^runtime$') && [ -n "$c" ] && left="$left
container dirs: $c"
    [ -d "$RT" ] && [ -n "$(ls "$RT")" ] && left="$left
runtime state: $(ls "$RT")"
    cg=$(ls -d /sys/fs/cgroup/*/$CG 2>/dev/null)
    [ -n "$cg" ] && left="$left
cgroups: $cg"
    a=$(ls "$D/containers/cni/networks/kube-containers" 2>/dev/null | grep -v -e lock -e last_reserved)
    [ -n "$a" ] && left="$left
addresses: $a"
    r=$(ls "$D/containers/cni/cache/results" 2>/dev/null)
    [ -n "$r" ] && left="$left
CNI cache: $r"
    if ip netns list | grep -qw $NS; then
        v=$(IN ip -br link | grep veth)
        [ -n "$v" ] && left="$left
veths: $v"
        # portmap's and the bridge's (ipMasq) per-container chains and rules
        dn=$(IN iptables -t nat -S 2>/dev/null | grep -e '^-N CNI-' -e kube-containers | grep -v -e '^-N CNI-HOSTPORT-')
        [ -n "$dn" ] && left="$left
port mappings: $dn"
    fi
    w=$(for f in $(grep -l "$DPAT" /proc/[0-9]*/cmdline 2>/dev/null); do echo "$f: $(tr '\0' ' ' <$f)"; done)
    [ -n "$w" ] && left="$left
processes: $w"
    [ -z "$left" ] && return 0
    echo "$left"
    return 1
}

kubed_pid=""
stop_kubed() {
    [ -n "$kubed_pid" ] || return 0
    kill -TERM $kubed_pid 2>/dev/null; wait $kubed_pid 2>/dev/null; kubed_pid=""
}
finish() {
    stop_kubed
    C rm -f $(C ls -a -q 2>/dev/null) >/dev/null 2>&1
    out=$(leftovers) && ok "nothing left behind" || bad "nothing left behind" "$out"
    for p in $(grep -l "$DPAT" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        kill -9 "$p" 2>/dev/null
    done
    find /sys/fs/cgroup/*/$CG -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
    sleep 0.2
    find /sys/fs/cgroup/*/$CG -depth -type d -exec rmdir {} + 2>/dev/null
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    ip netns del $NS 2>/dev/null
    ip link show $BR >/dev/null 2>&1 && bad "bridge $BR escaped into the host's namespace"
    for f in /sys/fs/cgroup/*/$CG-node; do
        [ -d "$f" ] && find "$f" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$RT" "$RT-node" "$tmp"
    echo "$pass passed, $fail failed"
    [ $fail = 0 ]
}
trap 'finish; exit $?' EXIT INT TERM

ip netns add $NS || { echo "cannot add netns"; exit 1; }
IN ip link set lo up
IN ip link add hostif type veth peer name hostpeer
IN ip addr add $HOST_IP/24 dev hostif
IN ip link set hostif up
IN ip link set hostpeer up
out=$(sh "$SRC/images/busybox.sh" --data-dir "$D" --kube "$KUBE" 2>&1) || { bad "busybox image" "$out"; exit 1; }

# ---- help ----
out=$("$KUBE" container --help 2>&1)
echo "$out" | grep -q "kube container run \[-d\]" && echo "$out" | grep -q "kube container logs \[-f\]" &&
    ok "kube container --help" || bad "help" "$out"
"$KUBE" help | grep -q "^  container " && ok "kube help lists container" || bad "kube help"
out=$("$KUBE" container frobnicate 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q 'unknown command "frobnicate"' && ok "unknown subcommand" || bad "unknown subcommand" "$out"

# ---- run -d, -p, ls, logs, exec, inspect, port ----
cid=$(C run -d --name web -p $PORT:80 busybox sh -c \
    'mkdir -p /www && echo hello-from-ctr > /www/index.html && echo web-started && exec httpd -f -v -p 80 -h /www' 2>&1)
echo "$cid" | grep -Eq '^[0-9a-f]{64}$' && ok "run -d prints the id" || bad "run -d" "$cid"
get() { IN curl -s -m 2 http://$HOST_IP:$PORT/; }
got_hello() { [ "$(get)" = hello-from-ctr ]; }
wait_until 10 got_hello && ok "curl $HOST_IP:$PORT through -p" || bad "curl through -p" "$(get)"
out=$(IN curl -s -m 2 http://127.0.0.1:$PORT/)
[ "$out" = hello-from-ctr ] && ok "curl 127.0.0.1:$PORT (localhost) through -p" || bad "curl localhost" "$out"
out=$(C ls)
echo "$out" | head -1 | grep -q "^CONTAINER ID   IMAGE" && echo "$out" | grep -q "^${cid%${cid#????????????}}   busybox .*Up .*0.0.0.0:$PORT->80/tcp   web$" &&
    ok "ls: Up with its port" || bad "ls" "$out"
[ "$(C ls -q)" = "$(printf %.12s "$cid")" ] && ok "ls -q" || bad "ls -q" "$(C ls -q)"
[ "$("$KUBE" --data-dir "$D" container --runtime-root "$RT" ls -q)" = "$(printf %.12s "$cid")" ] &&
    ok "the shared flags before the subcommand" || bad "flags first" "$("$KUBE" --data-dir "$D" container --runtime-root "$RT" ls -q 2>&1)"
out=$(C logs web 2>&1)
echo "$out" | grep -q "^web-started$" && echo "$out" | grep -q "response:200" && ok "logs (stdout and stderr)" || bad "logs" "$out"
out=$(C logs web 2>/dev/null)
[ "$out" = web-started ] && ok "logs: stdout to stdout, stderr to stderr" || bad "logs streams" "$out"
out=$(C logs --timestamps web 2>/dev/null)
echo "$out" | grep -Eq '^20[0-9-]+T[0-9:.]+Z web-started$' && ok "logs --timestamps" || bad "logs --timestamps" "$out"
[ "$(C logs --tail 1 web 2>&1)" = "$(C logs web 2>&1 | tail -1)" ] && [ "$(C logs --tail 2 web 2>&1 | wc -l)" = 2 ] &&
    ok "logs --tail" || bad "logs --tail" "$(C logs --tail 1 web 2>&1)"
[ -z "$(C logs --tail 0 web 2>&1)" ] && ok "logs --tail 0" || bad "logs --tail 0"
[ "$(C exec web cat /www/index.html)" = hello-from-ctr ] && ok "exec" || bad "exec" "$(C exec web cat /www/index.html 2>&1)"
C exec web sh -c 'exit 7'; rc=$?
[ $rc = 7 ] && ok "exec exit code 7" || bad "exec exit code" "$rc"
out=$(echo via-stdin | C exec -i web cat)
[ "$out" = via-stdin ] && ok "exec -i" || bad "exec -i" "$out"
out=$(C exec web sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME')
[ "$(echo "$out" | sort -u)" = "$(printf %.12s "$cid")" ] && ok "hostname is the short id" || bad "hostname" "$out"
out=$(C exec -t web tty | tr -d '\r')
case $out in /dev/pts/*) ok "exec -t: a terminal ($out)" ;; *) bad "exec -t" "$out" ;; esac
out=$(KUBE_DATA_DIR=$D "$KUBE" __complete container logs "")
[ "$out" = web ] && ok "completion of container names" || bad "completion" "$out"
out=$(C exec nosuch true 2>&1); rc=$?
[ $rc != 0 ] && [ "$out" = "Error: No such container: nosuch" ] && ok "exec: No such container" || bad "exec nosuch" "$out"
C inspect web >$tmp/inspect.json 2>&1
out=$(/usr/bin/python3 - "$tmp/inspect.json" "$cid" "$SUBNET" $PORT <<'PY'
import ipaddress, json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1, d
c = d[0]
assert c["Id"] == sys.argv[2], c["Id"]
assert c["Name"] == "/web", c["Name"]
assert c["State"]["Status"] == "running" and c["State"]["Running"] and c["State"]["Pid"] > 0, c["State"]
assert ipaddress.ip_address(c["NetworkSettings"]["IPAddress"]) in ipaddress.ip_network(sys.argv[3]), c["NetworkSettings"]
assert c["NetworkSettings"]["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": sys.argv[4]}], c["NetworkSettings"]["Ports"]
assert c["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "", "HostPort": sys.argv[4]}], c["HostConfig"]
assert c["Path"] == "sh" and c["Args"][0] == "-c", (c["Path"], c["Args"])
assert c["Config"]["Image"] == "busybox" and c["Image"].startswith("sha256:"), c["Image"]
assert any(e.startswith("PATH=") for e in c["Config"]["Env"]), c["Config"]["Env"]
print("ip", c["NetworkSettings"]["IPAddress"])
PY
) && ok "inspect: JSON with state, address in $SUBNET, ports ($out)" || bad "inspect" "$out" "$(head -c 1500 $tmp/inspect.json)"
[ "$(C port web)" = "80/tcp -> 0.0.0.0:$PORT" ] && ok "port" || bad "port" "$(C port web 2>&1)"

# -p CTR: a host port is picked
C run -d --name picked -p 80 busybox sh -c 'echo picked >/i.html && exec httpd -f -p 80 -h /' >/dev/null
pp=$(C port picked | sed -n 's|^80/tcp -> 0.0.0.0:\([0-9]*\)$|\1|p')
picked() { [ "$(IN curl -s -m 2 http://$HOST_IP:$pp/i.html)" = picked ]; }
[ -n "$pp" ] && wait_until 10 picked && ok "-p 80 picks host port $pp" || bad "-p 80" "$(C port picked 2>&1)"
C rm -f picked >/dev/null

# ---- logs -f from another process, after the CLI that ran it exited ----
C run -d --name ticker busybox sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done' >/dev/null
C logs -f ticker >$tmp/follow.out 2>&1 &
fpid=$!
wait_until 10 grep -q "tick 5" $tmp/follow.out && ok "logs -f streams" || bad "logs -f" "$(cat $tmp/follow.out)"
C stop -t 1 ticker >/dev/null
wait_until 10 sh -c "! kill -0 $fpid" && ok "logs -f ends when the container stops" || { bad "logs -f did not end"; kill $fpid; }
wait $fpid 2>/dev/null

# ---- errors ----
out=$(C run -d --name web busybox true 2>&1); rc=$?
[ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q 'The container name "/web" is already in use' &&
    ok "name in use: one-line error" || bad "name in use" "$out"
n_before=$(C ls -a -q | wc -l)
out=$(C run -d -p $PORT:80 busybox sleep 60 2>&1); rc=$?
[ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "Bind for 0.0.0.0:$PORT failed: port is already allocated" &&
    ok "port taken: one-line error" || bad "port taken" "$out"
[ "$(C ls -a -q | wc -l)" = "$n_before" ] && ok "port taken: no container left" || bad "port taken left a container" "$(C ls -a)"
out=$(C run --rm 127.0.0.1:1/nosuch:1 2>&1); rc=$?
[ $rc = 125 ] && echo "$out" | grep -q "^error: image \"127.0.0.1:1/nosuch:1\" not found locally and pulling it failed" &&
    ok "missing image: error, exit 125" || bad "missing image" "$rc $out"
out=$(C run --rm busybox nosuchcmd 2>&1); rc=$?
[ $rc = 127 ] && echo "$out" | grep -q "nosuchcmd: No such file" && ok "missing command: exit 127" || bad "missing command" "$rc $out"
out=$(C rm web 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "container is running" && ok "rm of a running container refused" || bad "rm running" "$out"
out=$(C run -d -v relative:/x busybox true 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "absolute" && ok "bad volume refused" || bad "bad volume" "$out"
out=$(C run -u nosuchuser --rm busybox true 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "unable to find user nosuchuser" && ok "unknown user refused" || bad "unknown user" "$rc $out"

# ---- stop, start ----
C stop -t 1 web >/dev/null && ok "stop" || bad "stop"
out=$(C ls -a)
echo "$out" | grep -q "Exited (137) .* web$" && ok "ls -a: Exited (137)" || bad "ls -a after stop" "$out"
C ls | grep -q " web$" && bad "ls shows a stopped container" || ok "ls hides stopped containers"
get >/dev/null && bad "still answers after stop" || ok "no answer after stop"
grep -q " $D/containers/$cid/" /proc/mounts && bad "mounts of a stopped container" "$(grep " $D/containers/$cid/" /proc/mounts)" ||
    ok "a stopped container holds no mounts (rootfs, netns)"
C start web >/dev/null && ok "start" || bad "start"
wait_until 10 got_hello && ok "answers again after start" || bad "after start" "$(get)"
C exec web test -f /www/index.html && ok "the container's files survive stop/start" || bad "files after restart"

# ---- foreground ----
C run --name fg busybox sh -c 'echo out-line; echo err-line >&2; exit 3' >$tmp/fg.out 2>$tmp/fg.err; rc=$?
[ $rc = 3 ] && ok "foreground exit code 3" || bad "foreground exit code" "$rc"
[ "$(cat $tmp/fg.out)" = out-line ] && [ "$(cat $tmp/fg.err)" = err-line ] && ok "foreground stdout and stderr" ||
    bad "foreground output" "$(cat $tmp/fg.out $tmp/fg.err)"
C ls -a | grep -q "Exited (3) .* fg$" && ok "ls -a: Exited (3)" || bad "fg in ls" "$(C ls -a)"
C rm fg >/dev/null && ok "rm" || bad "rm fg"
out=$(C run --rm -t busybox sh -c 'tty; exit 2' | tr -d '\r'); rc=$?
case $out in /dev/pts/*) ok "run -t: a terminal ($out)" ;; *) bad "run -t" "$out" ;; esac
C run --rm -t busybox sh -c 'exit 2' >/dev/null; rc=$?
[ $rc = 2 ] && ok "run -t: exit code 2" || bad "run -t exit code" "$rc"
mkdir -p $tmp/vol && echo from-host >$tmp/vol/f
out=$(C run --rm -e FOO=bar -w /work/dir -u nobody -v $tmp/vol:/data:ro busybox \
    sh -c 'echo $FOO; pwd; id -u; cat /data/f; touch /data/x 2>/dev/null || echo read-only' 2>&1)
[ "$out" = "bar
/work/dir
65534
from-host
read-only" ] && ok "-e -w -u -v :ro" || bad "-e -w -u -v" "$out"
out=$(C run --rm -u nobody busybox sh -c 'nc -l -p 80 </dev/null & sleep 0.2; netstat -ltn | grep -c ":80 "' 2>&1)
[ "$out" = 1 ] && ok "a non-root user binds port 80 (docker's ip_unprivileged_port_start=0)" || bad "unprivileged port" "$out"
out=$(C run --rm --entrypoint /bin/echo busybox from-entrypoint 2>&1)
[ "$out" = from-entrypoint ] && ok "--entrypoint" || bad "--entrypoint" "$out"
out=$(echo piped-in | C run --rm -i busybox cat 2>&1)
[ "$out" = piped-in ] && ok "run -i" || bad "run -i" "$out"
C run --rm --name gone busybox true
C ls -a | grep -q " gone$" && bad "--rm left the container" "$(C ls -a)" || ok "--rm removes it"
cid2=$(C run -d --rm --name gone2 busybox sleep 0.3)
wait_until 10 sh -c "! [ -d $D/containers/$cid2 ]" && ok "-d --rm removed after exit" || bad "-d --rm" "$(C ls -a)"

# a detached container that exits: its waiter releases it with no command run
bid=$(C run -d --name brief busybox sh -c 'sleep 0.3; exit 4')
released() { ! grep -q " $D/containers/$bid/" /proc/mounts && ! ls "$D/containers/cni/cache/results" | grep -q "$bid"; }
sleep 0.5
wait_until 10 released && ok "an exited container's mounts and network go without a command" ||
    bad "waiter" "$(grep " $D/containers/$bid/" /proc/mounts)" "$(ls "$D/containers/cni/cache/results")"
C ls -a | grep -q "Exited (4) .* brief$" && ok "ls -a: Exited (4)" || bad "brief" "$(C ls -a)"
C rm brief >/dev/null

# a foreground run whose CLI is killed: the waiter finishes the job (--rm)
nsenter --net=/run/netns/$NS "$KUBE" container run --data-dir "$D" --runtime-root "$RT" --cgroup-parent "$CG" \
    --bridge "$BR" --subnet "$SUBNET" --rm --name orphan busybox sleep 1 >/dev/null 2>&1 &
opid=$!
wait_until 10 sh -c "$KUBE container ls --data-dir $D --runtime-root $RT | grep -q ' orphan\$'" || bad "orphan did not start"
kill -9 $opid; wait $opid 2>/dev/null
wait_until 15 sh -c "! $KUBE container ls -a --data-dir $D --runtime-root $RT | grep -q ' orphan\$'" &&
    ok "foreground CLI killed: the container still ends and goes (--rm)" || bad "orphan" "$(C ls -a)"

# ---- a node agent on the same data dir leaves them alone ----
node_ready() {
    [ "$(IN "$KUBE" --kubeconfig "$D/kubeconfig.yaml" get node ctr-node-$id \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
if [ -n "$KUBED" ]; then
    nsenter --net=/run/netns/$NS "$KUBED" server --data-dir "$D" --listen tcp:127.0.0.1:0 --listen unix:$tmp/kubed.sock --node-name ctr-node-$id \
        --node-ip $HOST_IP --pod-cidr 10.$((o2 + 20)).$o3.0/24 --cni-bridge kn$id \
        --cgroup-parent $CG-node --runtime-root $RT-node >$tmp/kubed.log 2>&1 &
    kubed_pid=$!
    wait_until 30 node_ready && ok "kubed's node Ready beside the containers" || bad "node Ready" "$(tail -20 $tmp/kubed.log)"
    sleep 1
    got_hello && C ls | grep -q " web$" && ok "the node agent left the running container alone" ||
        bad "container after the node started" "$(C ls -a)"
    stop_kubed
    got_hello && C ls | grep -q " web$" && ok "... and after kubed stopped" || bad "container after kubed stopped" "$(C ls -a)"
fi

# ---- rm ----
C rm -f web ticker >/dev/null && ok "rm -f" || bad "rm -f"
[ -z "$(C ls -a -q)" ] && ok "ls -a empty" || bad "ls -a after rm" "$(C ls -a)"

# ---- the seed's walk, step 3: `docker run` of kubia without a cluster ----
if command -v node >/dev/null; then
    mkdir -p $tmp/kubia
    cat >$tmp/kubia/app.js <<'JS'
const http = require('http');
const os = require('os');
console.log("Kubia server starting...");
http.createServer(function(request, response) {
  console.log("Received request from " + request.connection.remoteAddress);
  response.writeHead(200);
  response.end("You've hit " + os.hostname() + "\n");
}).listen(8080);
JS
    printf 'FROM node\nADD app.js /app.js\nENTRYPOINT ["node", "app.js"]\n' >$tmp/kubia/Dockerfile
    out=$(sh "$SRC/images/node.sh" --data-dir "$D" --kube "$KUBE" 2>&1 &&
        "$KUBE" build --data-dir "$D" -t kubia $tmp/kubia 2>&1) || bad "kubia image" "$out"
    kid=$(C run -d --name kubia-container -p 8080:8080 kubia 2>&1)
    hit() { [ "$(IN curl -s -m 2 http://localhost:8080/)" = "You've hit $(printf %.12s "$kid")" ]; }
    wait_until 20 hit && ok "kubia: curl localhost:8080 says You've hit <hostname>" || bad "kubia" "$kid" "$(C logs kubia-container 2>&1)"
    C logs kubia-container | grep -q "^Received request from" && ok "kubia: its log" || bad "kubia log" "$(C logs kubia-container 2>&1)"
    C rm -f kubia-container >/dev/null
else
    echo "SKIP kubia (no node on this machine for the offline node image)"
fi
