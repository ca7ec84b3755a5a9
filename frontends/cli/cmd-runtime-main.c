/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kube-runtime`: the OCI runtime command line as its own small program.
 * The same code as `kube runtime`, linked with only the core and runtime
 * modules, so that each runc-style invocation starts in about a millisecond
 * (the full kube binary also loads TLS, YAML and the API client, ~4 ms).
 */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int main(int argc, char **argv) {
  return cmd_runtime(argc, argv);
}
