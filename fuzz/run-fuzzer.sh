#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run a libFuzzer harness for a few seconds on its seed corpus, writing new
# inputs and crash files to a temporary directory, never into the source tree.
# usage: run-fuzzer.sh HARNESS SEED_CORPUS_DIR [SECONDS]
set -eu
exe=$1 seeds=$2 secs=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"
"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$tmp/" "$tmp/corpus" "$seeds" 2>"$tmp/log" || {
  tail -40 "$tmp/log"
  for f in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
    [ -f "$f" ] && { echo "reproducer: $f"; od -c "$f" | head -20; }
  done
  exit 1
}
grep -E '^(Done|#[0-9]+ +DONE)' "$tmp/log" | tail -1 || true
