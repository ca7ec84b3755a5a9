#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Frontends are thin: a frontend file may include only system headers,
# public libkube headers (<libkube/...>), the generated kube-config.h and
# headers of its own directory.  A private header of the library
# (src/<module>/..., *-private.h, internal.h, util.h) fails the build.
# usage: check-frontend-includes.sh STAMP FILE...
# Writes STAMP (an empty generated header the frontend's objects wait for)
# when every FILE passes.
set -eu
stamp=$1
shift
srcdir=$(cd "$(dirname "$0")/../src" && pwd)
status=0
for f in "$@"; do
  dir=$(dirname "$f")
  # "#  include" forms too; both quoted and angle-bracket includes.
  sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f" |
    while IFS= read -r inc; do
      name=${inc#?}
      name=${name%?}
      case $inc in
      \"*)
        if [ "$name" = kube-config.h ]; then
          continue
        fi
        case $name in
        */* | *..*) ;;
        *) [ -f "$dir/$name" ] && continue ;;
        esac
        echo "$f: #include $inc: a frontend includes only public headers" \
          "(<libkube/...>), system headers and its own" >&2
        exit 1
        ;;
      *)
        first=${name%%/*}
        base=${name##*/}
        if [ "$first" != "$name" ] && [ -d "$srcdir/$first" ]; then
          echo "$f: #include $inc is private to the library (src/$first)" >&2
          exit 1
        fi
        case $base in
        *-private.h | internal.h | util.h)
          echo "$f: #include $inc is a private header of the library" >&2
          exit 1
          ;;
        esac
        ;;
      esac
    done || status=1
done
if [ "$status" -ne 0 ]; then
  exit 1
fi
printf '/* Generated: the includes of these frontend files were checked. */\n' >"$stamp"
