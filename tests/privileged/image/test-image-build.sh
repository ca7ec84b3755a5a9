#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kube build and images end to end (root): the offline busybox and node
# base images, a Dockerfile with every instruction, RUN in real
# containers, the layer cache, a failing RUN (output, exit code, no half
# image, nothing left behind), multi-stage, ADD of a tar, .dockerignore;
# then the images run through the node agent's calls (run-image).
#   test-image-build.sh KUBE RUN_IMAGE SOURCE_ROOT
set -u
kube=$1; run=$2; src=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static missing"; exit 77; }
command -v node >/dev/null || { echo "SKIP: nodejs missing"; exit 77; }
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
    { echo "SKIP: no overlayfs"; exit 77; }
tmp=$(mktemp -d /tmp/kube-img-build-XXXXXX)
D=$tmp/data
pass=0; fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -30; fail=$((fail + 1)); }
check() { # name command...
    name=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi
}
cleanup() {
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
K() { "$kube" "$@" --data-dir "$D"; }

# ---- base images ------------------------------------------------------------
out=$(sh "$src/images/busybox.sh" --data-dir "$D" --kube "$kube" 2>&1) && ok "busybox base" || bad "busybox base" "$out"
out=$(sh "$src/images/node.sh" --data-dir "$D" --kube "$kube" 2>&1) && ok "node base" || bad "node base" "$out"
major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
out=$(K image ls)
echo "$out" | grep -q "docker.io/library/node *$major " && ok "node:$major tagged" || bad "node:$major tagged" "$out"
echo "$out" | grep -q "docker.io/library/node *latest " && ok "node:latest tagged" || bad "node:latest" "$out"
out=$("$run" "$D" busybox -- sh -c 'echo hello from busybox; getent passwd root') 
[ "$out" = "hello from busybox
root:x:0:0:root:/root:/bin/sh" ] && ok "busybox runs, getent resolves with glibc NSS" || bad "busybox runs" "$out"
out=$("$run" "$D" node:latest -- node -e 'console.log(process.version)')
[ "$out" = "$(node --version)" ] && ok "node image runs node $(node --version)" || bad "node image" "$out"

# ---- a Dockerfile with everything -------------------------------------------
ctx=$tmp/ctx
mkdir -p "$ctx/src/sub" "$ctx/ignored"
echo one > "$ctx/src/a.txt"; echo two > "$ctx/src/sub/b.txt"; echo nope > "$ctx/ignored/x"
echo secret > "$ctx/src/secret.key"
mkdir -p "$tmp/tarsrc/inner"; echo fromtar > "$tmp/tarsrc/inner/t.txt"
tar -C "$tmp/tarsrc" -czf "$ctx/bundle.tar.gz" inner
printf 'ignored\n**/*.key\n' > "$ctx/.dockerignore"
cat > "$ctx/Dockerfile" <<'DF'
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS builder
RUN mkdir -p /out && echo built > /out/artifact

FROM $BASE
ARG GREETING=hello
ENV APP_HOME=/srv/app \
    MSG="${GREETING} world"
WORKDIR $APP_HOME
COPY --chown=nobody:nogroup src/ ./data/
COPY --from=builder /out/artifact /opt/
ADD bundle.tar.gz /opt/
RUN echo "$MSG" > msg.txt && \
    rm -rf /etc/nsswitch.conf && \
    ls -ln data > listing.txt
LABEL org.example.app=demo version="1.0"
EXPOSE 8080
VOLUME /srv/app/state
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s CMD cat /srv/app/msg.txt
USER 65534
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat msg.txt data/a.txt data/sub/b.txt /opt/artifact /opt/inner/t.txt; ls data; cat listing.txt; ls /etc/nsswitch.conf 2>&1; id -u"]
DF
out=$(K build -t demo:1 --build-arg GREETING=hi "$ctx" 2>&1)
rc=$?
[ $rc = 0 ] && ok "build" || bad "build" "$out"
echo "$out" | grep -q "^Step 1/" && echo "$out" | grep -q "Successfully tagged docker.io/library/demo:1" &&
    ok "docker-like progress" || bad "progress" "$out"
out=$("$run" "$D" demo:1)
exp="hi world
one
two
built
fromtar
a.txt
sub
total 8
-rw-r--r--    1 65534    65534            4"
case $out in "$exp"*) ok "image content (ENV, ARG, COPY --chown, COPY --from, ADD tar)" ;;
    *) bad "image content" "$out" ;; esac
echo "$out" | grep -q "nsswitch.conf: No such file" && ok "whiteout hides a base file" || bad "whiteout" "$out"
[ "$(echo "$out" | tail -1)" = 65534 ] && ok "USER" || bad "USER" "$out"
# RUN as another user, from the builder's own process (which has a thread
# copying the output while the runtime clones and switches credentials:
# no forked helper any more).
uctx=$tmp/uctx; mkdir -p "$uctx"
printf 'FROM busybox\nUSER 65534:65534\nRUN id -u; id -g\nUSER 0\nRUN id -u\n' > "$uctx/Dockerfile"
out=$(timeout 120 "$kube" build --data-dir "$D" --no-cache -t runuser:1 "$uctx" 2>&1)
echo "$out" | grep -qx 65534 && echo "$out" | grep -qx 0 &&
    ok "RUN switches users from a multi-threaded builder" || bad "RUN as a user" "$out"
echo "$out" | grep -q "secret.key" && bad ".dockerignore" "$out" || ok ".dockerignore"
cfg=$(K image inspect demo:1)
for want in '"Entrypoint":\["/bin/sh","-c"\]' '"8080/tcp"' '"/srv/app/state"' '"StopSignal":"SIGTERM"' \
    '"org.example.app":"demo"' '"Healthcheck":{"Test":\["CMD-SHELL"' '"WorkingDir":"/srv/app"' '"User":"65534"'; do
    echo "$cfg" | tr -d ' \n' | grep -q "$want" && ok "config $want" || bad "config $want" "$cfg"
done
# unchanged rebuild: every step from the cache, same image
id1=$(K image inspect demo:1 | sed -n 's/.*"Id": "\([^"]*\)".*/\1/p')
out=$(K build -t demo:1 --build-arg GREETING=hi "$ctx" 2>&1)
steps=$(echo "$out" | grep -c '^Step ')
cached=$(echo "$out" | grep -c -- '---> Using cache')
id2=$(K image inspect demo:1 | sed -n 's/.*"Id": "\([^"]*\)".*/\1/p')
# every step but FROM and ARG (which run nothing) says so
others=$(echo "$out" | grep -c -E '^Step [0-9]+/[0-9]+ : (FROM|ARG)')
last=$(echo "$out" | grep '^Step ' | tail -1 | sed 's|^Step \([0-9]*\)/\([0-9]*\) .*|\1 \2|')
[ "$id1" = "$id2" ] && [ "$cached" = $((steps - others)) ] && [ "$last" = "$steps $steps" ] &&
    ok "cached rebuild ($cached of $steps steps, same ID)" ||
    bad "cached rebuild" "$id1 $id2 $cached" "$out"
# a changed file re-runs from its COPY on
echo ONE > "$ctx/src/a.txt"
out=$(K build -t demo:2 --build-arg GREETING=hi "$ctx" 2>&1)
echo "$out" | grep -A1 'COPY --chown' | grep -q "Using cache" && bad "content change busts the cache" "$out" ||
    ok "content change busts the cache"
out=$(K build -t stage:1 --target builder "$ctx" 2>&1) && "$run" "$D" stage:1 -- cat /out/artifact | grep -q built &&
    ok "--target" || bad "--target" "$out"

# ---- the escape directive, COPY of a glob with --chmod, SHELL, ONBUILD --------
gctx=$tmp/gctx; mkdir -p "$gctx/d"
echo g1 > "$gctx/d/one.txt"; echo g2 > "$gctx/d/two.txt"; echo no > "$gctx/d/three.dat"
cat > "$gctx/Dockerfile" <<'DF'
# escape=`
FROM busybox
COPY --chmod=0750 d/*.txt /g/
SHELL ["/bin/sh", "-e", "-c"]
RUN ls /g > /g.list && `
    stat -c %a /g/one.txt >> /g.list
ONBUILD RUN echo triggered
CMD ["cat", "/g.list"]
DF
out=$(K build -t globs:1 "$gctx" 2>&1) && ok "build with # escape=\`" || bad "build with escape" "$out"
out=$("$run" "$D" globs:1)
[ "$out" = "one.txt
two.txt
750" ] && ok "COPY of a glob with --chmod, RUN through SHELL, a \`-continued line" || bad "glob/chmod/shell" "$out"
cfg=$(K image inspect globs:1)
for want in '"OnBuild":\["RUN echo triggered"\]' '"Shell":\["/bin/sh","-e","-c"\]'; do
    echo "$cfg" | grep -q "$want" && ok "config $want" || bad "config $want" "$cfg"
done

# ---- failures ---------------------------------------------------------------
fctx=$tmp/fail; mkdir -p "$fctx"
printf 'FROM busybox\nRUN echo visible-output; echo on-stderr >&2; exit 7\n' > "$fctx/Dockerfile"
out=$(K build -t broken:1 "$fctx" 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "returned a non-zero code: 7" &&
    echo "$out" | grep -q visible-output && echo "$out" | grep -q on-stderr &&
    ok "failing RUN: output and exit code" || bad "failing RUN" "$out"
K image inspect broken:1 >/dev/null 2>&1 && bad "failing RUN left an image" || ok "failing RUN: no image"
left=$(ls "$D/images.d/tmp" 2>/dev/null)
[ -z "$left" ] && ok "no build directories left" || bad "build directories left" "$left"
grep -q " $D" /proc/mounts && bad "mounts left" "$(grep " $D" /proc/mounts)" || ok "no mounts left"
cg=$(ls -d /sys/fs/cgroup/*/libkube-build-* /sys/fs/cgroup/libkube-build-* 2>/dev/null)
[ -z "$cg" ] && ok "no build cgroups left" || bad "build cgroups left" "$cg"
printf 'FROM busybox\nADD http://127.0.0.1:1/x /x\n' > "$fctx/Dockerfile"
out=$(K build "$fctx" 2>&1) && bad "ADD URL" "$out" ||
    { echo "$out" | grep -q "network access" && ok "ADD of a URL: clear error" || bad "ADD URL message" "$out"; }
printf 'FROM busybox\nCOPY missing.txt /\n' > "$fctx/Dockerfile"
out=$(K build "$fctx" 2>&1) && bad "COPY missing" "$out" ||
    { echo "$out" | grep -q "missing.txt" && ok "COPY of a missing file: clear error" || bad "COPY missing msg" "$out"; }
printf 'FROM busybox\nBOGUS x\n' > "$fctx/Dockerfile"
out=$(K build "$fctx" 2>&1) && bad "bad instruction" "$out" ||
    { echo "$out" | grep -q "Dockerfile:2: unknown instruction" && ok "bad Dockerfile: line number" || bad "bad Dockerfile msg" "$out"; }
printf 'FROM scratch\nCOPY a /a\n' > "$fctx/Dockerfile"; echo scratchy > "$fctx/a"
out=$(K build -t scratchy:1 "$fctx" 2>&1) && ok "FROM scratch" || bad "FROM scratch" "$out"

# ---- the seed's app: FROM node, ADD app.js, ENTRYPOINT node ------------------
app=$tmp/kubia; mkdir -p "$app"
cat > "$app/app.js" <<'JS'
const http = require('http');
const os = require('os');
const port = process.env.PORT || 8080;
http.createServer((req, res) => {
  console.log("Received request from " + req.connection.remoteAddress);
  res.writeHead(200);
  res.end("You've hit " + os.hostname() + "\n");
}).listen(port);
JS
printf 'FROM node\nADD app.js /app.js\nENTRYPOINT ["node", "app.js"]\n' > "$app/Dockerfile"
out=$(K build -t kubia "$app" 2>&1) && ok "build kubia FROM node" || bad "build kubia" "$out"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$run" "$D" kubia --host-net --timeout 8000 --env PORT=$port -- >"$tmp/kubia.log" 2>&1 &
rp=$!
out=""
for i in $(seq 1 70); do
    out=$(busybox wget -qO- "http://127.0.0.1:$port/" 2>/dev/null) && break
    sleep 0.1
done
wait $rp
echo "$out" | grep -q "You've hit" && ok "kubia answers" || bad "kubia answers" "$out" "$(cat "$tmp/kubia.log")"
grep -q "Received request from" "$tmp/kubia.log" && ok "kubia logs the request" || bad "kubia log" "$(cat "$tmp/kubia.log")"
echo "passed=$pass failed=$fail"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
