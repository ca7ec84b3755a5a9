#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run every test of libkube: unit, integration, privileged (root), and each
# fuzzer for a few seconds on its seed corpus (clang build in ./build-fuzz).
# Prints meson's per-test lines and one closing line "N passed, N failed,
# N skipped"; exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."

status=0
run_suites() { # builddir suites...
  local dir=$1; shift
  local args=()
  for s in "$@"; do args+=(--suite "$s"); done
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${args[@]}" || status=1
}

ninja -C build || exit 1
run_suites build unit integration privileged

logs=(build/meson-logs/testlog.json)
if [ "${KUBE_SKIP_FUZZ:-0}" != 1 ]; then
  logs+=(build-fuzz/meson-logs/testlog.json)
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true --buildtype=debugoptimized >/dev/null || status=1
  fi
  if ninja -C build-fuzz >/dev/null; then
    run_suites build-fuzz fuzz
  else
    echo "fuzz build failed"; status=1
  fi
fi

# One summary line over every run, counted from meson's JSON logs.
/usr/bin/python3 - "${logs[@]}" <<'PY'
import json, sys, os
p = f = s = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): p += 1
        elif r == "SKIP": s += 1
        else: f += 1
print(f"tests: {p} passed, {f} failed, {s} skipped")
PY
exit $status
