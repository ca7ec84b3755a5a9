/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the net module (prefix net_), shared by its files only.
 *
 * The CNI result cache, under the cache directory C:
 *   C/results/<container id>/<ifname>.json   {"kind":"cniCacheV1",
 *       "containerId", "ifName", "networkName", "config" (the network
 *       configuration list the ADD used), "cniArgs" ([[k, v], ...]),
 *       "capabilityArgs" ({"portMappings": [...]}), "result"}
 */
#ifndef KUBE_NET_INTERNAL_H
#define KUBE_NET_INTERNAL_H

#include <json-c/json.h>

#include <libkube/net.h>

#include "core/util.h"

struct kube_cni {
  char *conf_dir;
  char *bin_dirs;
  char *cache_dir;
  int timeout_ms;
};

/* cni-exec.c: run one plugin binary. */
typedef struct net_exec_result {
  int exit_code; /* WEXITSTATUS, 128 + signal, -1 when not run */
  char *out;     /* stdout (owned, NUL-terminated) */
  size_t out_len;
  char *errout; /* stderr (owned, NUL-terminated) */
} net_exec_result_t;

void net_exec_result_clear(net_exec_result_t *r);
/* Spawn `path` with `env` (NULL-terminated "K=V"), feed `input` on stdin,
 * collect stdout and stderr, wait (killing it after timeout_ms: Timeout).
 * 0 when the plugin ran (whatever its exit code), -1 with err when it
 * could not be run or timed out. */
int net_exec(const char *path, char *const *env, const char *input,
             size_t input_len, int timeout_ms, net_exec_result_t *out,
             kube_error_t *err);
/* The same with arguments (argv[0] is the path). */
int net_exec_argv(char *const *argv, char *const *env, const char *input,
                  size_t input_len, int timeout_ms, net_exec_result_t *out,
                  kube_error_t *err);
/* The first executable <dir>/<type> of the colon-separated dirs (owned),
 * or NULL. */
char *net_find_plugin(const char *dirs, const char *type);

/* masquerade.c: iptables (blocks while it runs; -w 5). */
#define NET_IPTABLES "/usr/sbin/iptables"
#define NET_IPTABLES_RESTORE "/usr/sbin/iptables-restore"
/* Run argv (input on stdin, may be NULL).  0 when it exited 0; -1 with
 * err (unless quiet) otherwise. */
int net_iptables_run(char *const *argv, const char *input, bool quiet,
                     kube_error_t *err);
/* A chain name we make: A-Z 0-9 - _, at most 28. */
bool net_chain_ok(const char *chain);
/* The jump to `chain` from nat `hook` (only for local destinations when
 * `local`): added unless there. */
int net_nat_jump_ensure(const char *hook, bool local, const char *chain,
                        kube_error_t *err);
/* Remove the jumps, flush and delete the chain (0 when there was none). */
int net_nat_chain_remove(const char *hook, bool local, const char *chain,
                         kube_error_t *err);

/* conntrack.c: UDP flows DNATed to an endpoint that went (nft-proxy.c). */
typedef struct net_ct_flow {
  uint32_t dst;     /* the Service address (network order); 0: any */
  uint16_t dport;   /* its port (network order) */
  uint32_t ep;      /* the endpoint gone (network order) */
  uint16_t ep_port; /* (network order) */
} net_ct_flow_t;
/* Delete the UDP conntrack entries whose original destination is one of
 * the flows' Service port and whose reply comes from its endpoint.  The
 * number deleted, or -1 with err. */
int net_conntrack_clear_udp(const net_ct_flow_t *f, size_t n,
                            kube_error_t *err);

/* cni-result.c */
int net_result_from_json(json_object *obj, kube_cni_result_t *out,
                         kube_error_t *err);

/* cni-conf.c: the network configuration list. */
/* Load the first valid list of conf_dir (owned tree {cniVersion, name,
 * plugins: [...]}) and its file name (owned, may be NULL). */
json_object *net_conf_load(const char *conf_dir, char **file_out,
                           kube_error_t *err);
/* Check a list tree: name, cniVersion, plugins with a type each.
 * BadRequest naming `file`. */
int net_conf_check(json_object *list, const char *file, kube_error_t *err);
/* Compare CNI versions ("0.4.0" < "1.0.0"): <0, 0, >0. */
int net_version_cmp(const char *a, const char *b);

/* netpol.c: the fd of the program on a veth's tc ingress (what the pod
 * sends; to_pod false) or egress (what it receives), for tests that run
 * it on packets (BPF_PROG_TEST_RUN); -1 without BPF. */
int net_netpol_prog_fd(const kube_netpol_t *np, bool to_pod);

#endif /* KUBE_NET_INTERNAL_H */
