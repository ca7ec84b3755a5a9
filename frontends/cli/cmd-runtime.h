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
/* Write all of p[0..n) to fd (EINTR retried; gives up on an error). */
void rt_write_all(int fd, const char *p, size_t n);
int rt_proxy_pty(int master);
int rt_proxy_attach(kube_rt_attach_t *a);
/* Same; our stdin goes to the container only when send_stdin (then a
 * terminal of ours is put in raw mode). */
int rt_proxy_attach_ex(kube_rt_attach_t *a, bool send_stdin);
/* Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 to the init whose
 * pid the runtime state file `state_path` (<root>/<id>/state) names. */
void rt_forward_signals(const char *state_path);
int rt_cmd_attach(int argc, char **argv);
int rt_cmd_control(int argc, char **argv);
int rt_cmd_sandbox(int argc, char **argv);

#endif
