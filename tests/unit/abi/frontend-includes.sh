#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The build's frontend include check: the frontends pass it, and a file
# that includes a private header of the library (in any spelling) fails.
# usage: frontend-includes.sh CHECK_SCRIPT SOURCE_ROOT
set -eu
check=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
if ! "$check" "$tmp/ok.h" "$root"/frontends/cli/*.[ch] "$root"/frontends/daemon/*.c; then
  echo "FAIL: the frontends include private headers"
  status=1
fi
n=0
for inc in '"api/api-private.h"' '<core/util.h>' '"src/client/internal.h"' \
           '"../../src/core/util.h"' '<client/client-private.h>'; do
  printf '#include <stdio.h>\n#include %s\n' "$inc" >"$tmp/bad.c"
  if "$check" "$tmp/bad.h" "$tmp/bad.c" 2>/dev/null; then
    echo "FAIL: #include $inc was accepted"
    status=1
  fi
  n=$((n + 1))
done
printf '#include "local.h"\n#include <libkube/kubectl.h>\n#include "kube-config.h"\n' >"$tmp/good.c"
: >"$tmp/local.h"
if ! "$check" "$tmp/good.h" "$tmp/good.c"; then
  echo "FAIL: public, local and generated headers were refused"
  status=1
fi
echo "frontend includes: frontends pass, $n private spellings refused: $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
