#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ABI check of the shared library:
#  1. libkube.so exports only kube_* symbols (the version script and
#     -fvisibility=hidden must keep every other symbol local);
#  2. every exported symbol is declared in a public header;
#  3. each public header compiles on its own, twice included, as C11;
#  4. every exported symbol is listed by name in a version node of the
#     version script (no wildcard catches a new function unversioned).
# usage: check-abi.sh LIBKUBE_SO INCLUDE_DIR VERSION_SCRIPT CC [CC ARGS...]
set -eu
lib=$1 incdir=$2 symfile=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# Version nodes show up as absolute (A) symbols; they are not code or data.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' \
  | sort -u >"$tmp/syms"
total=$(wc -l <"$tmp/syms")
if [ "$total" -eq 0 ]; then
  echo "FAIL: $lib exports nothing"
  exit 1
fi
if grep -v '^kube_' "$tmp/syms" >"$tmp/leaks"; then
  echo "FAIL: symbols outside the kube_ namespace are exported:"
  sed 's/^/  /' "$tmp/leaks"
  status=1
fi
for s in kube_error_set kube_quantity_parse kube_label_selector_parse \
         kube_selector_matches kube_time_parse kube_uuid_generate; do
  grep -qx "$s" "$tmp/syms" || { echo "FAIL: $s is not exported"; status=1; }
done
undeclared=0
while read -r s; do
  case $s in kube_*) ;; *) continue ;; esac
  if ! grep -qw -- "$s" "$incdir"/libkube/*.h; then
    echo "FAIL: $s is exported but declared in no public header"
    undeclared=$((undeclared + 1))
    status=1
  fi
done <"$tmp/syms"

unlisted=0
while read -r s; do
  if ! grep -qE "^[[:space:]]+$s;" "$symfile"; then
    echo "FAIL: $s is exported but not listed in $(basename "$symfile") (add it, sorted, to the newest version node)"
    unlisted=$((unlisted + 1))
    status=1
  fi
done <"$tmp/syms"

# Every function a public header declares is exported: a definition
# missing from the version script is silently local otherwise.
unexported=0
for h in "$incdir"/libkube/*.h; do
  grep -v '^[[:space:]]*\*\|^[[:space:]]*/\*' "$h" |
    grep -oE '(^|[ *])kube_[a-z0-9_]+\(' | grep -v '(\*' |
    sed 's/^[ *]*//; s/($//'
done | sort -u >"$tmp/declared"
while read -r s; do
  if ! grep -qx "$s" "$tmp/syms"; then
    echo "FAIL: $s is declared in a public header but not exported (list it in $(basename "$symfile"))"
    unexported=$((unexported + 1))
    status=1
  fi
done <"$tmp/declared"

headers=0
for h in "$incdir"/libkube/*.h; do
  name=$(basename "$h")
  printf '#include <libkube/%s>\n#include <libkube/%s>\nint abi_check_%s;\n' \
    "$name" "$name" "$(echo "$name" | tr -c 'A-Za-z0-9\n' _)" >"$tmp/t.c"
  if ! "$@" -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$incdir" \
       "$tmp/t.c" 2>"$tmp/err"; then
    echo "FAIL: <libkube/$name> does not compile on its own:"
    sed 's/^/  /' "$tmp/err" | head -20
    status=1
  fi
  headers=$((headers + 1))
done
echo "$total exported symbols, all kube_*: $([ -s "$tmp/leaks" ] && echo no || echo yes);" \
  "$undeclared undeclared; $unlisted not in the version script; $unexported declared but not exported;" \
  "$headers headers compiled standalone"
exit $status
