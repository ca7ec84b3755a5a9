/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kube CLI: one small file per verb (cmd-<verb>.c) that parses its
 * arguments, calls the library and prints.  Each verb is
 *   int cmd_<verb>(int argc, char **argv);
 * where argv[0] is the verb; it returns the process exit code.
 */
#ifndef KUBE_CLI_H
#define KUBE_CLI_H

typedef int (*cli_command_fn)(int argc, char **argv);

struct cli_command {
  const char *name;
  cli_command_fn fn;
  const char *help; /* one line for `kube help` */
};

/* Print "error: <msg>" to stderr; returns 1 (the exit code). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* OCI runtime CLI (cmd-runtime.c); also run when the binary is invoked as
 * `kube-runtime` (runc/crun-compatible command line). */
int cmd_runtime(int argc, char **argv);

#endif /* KUBE_CLI_H */
