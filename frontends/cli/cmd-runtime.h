/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the cmd-runtime*.c files of `kube runtime`. */
#ifndef KUBE_CLI_CMD_RUNTIME_H
#define KUBE_CLI_CMD_RUNTIME_H

#include <libkube/runtime.h>

struct rt_global {
  const char *root; /* --root, NULL for the library default */
};
extern struct rt_global rt_global;

/* Print the error, clear it, return the exit code 1. */
int rt_fail_err(kube_error_t *err);
/* A runtime on --root, or NULL after printing why. */
kube_runtime_t *rt_open(void);
int rt_cmd_exec(int argc, char **argv);
int rt_cmd_spec(int argc, char **argv);
/* cmd-runtime-tty.c */
int rt_proxy_pty(int master);
int rt_proxy_attach(kube_rt_attach_t *a);
int rt_cmd_attach(int argc, char **argv);
int rt_cmd_control(int argc, char **argv);
int rt_cmd_sandbox(int argc, char **argv);

#endif
