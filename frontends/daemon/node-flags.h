/* SPDX-License-Identifier: Apache-2.0 */
/* kubed's flags for the node agent it runs (node-flags.c). */
#ifndef KUBED_NODE_FLAGS_H
#define KUBED_NODE_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libkube/node.h>

/* getopt_long values of the node flags start here. */
#define KUBED_NODE_OPT_BASE 0x100

/* The node flags, terminated by an entry with name NULL. */
extern const struct option kubed_node_longopts[];

struct kubed_node_flags {
  kube_node_agent_options_t o;
  bool no_node;
  const char *kubelet_listen; /* --kubelet-listen, or NULL */
  const char *labels[33];
  size_t n_labels;
  const char *sysctls[33];
  size_t n_sysctls;
};

void kubed_node_flags_init(struct kubed_node_flags *f);
/* Handle one option c (a KUBED_NODE_OPT_BASE value).  0, or 2 after
 * printing why the value is bad. */
int kubed_node_flag(struct kubed_node_flags *f, int c, char *arg);
void kubed_node_usage(FILE *out);

/* A command's own options base[0..n) followed by the node flags, into out
 * (room for n + 32 entries), terminated by an entry with name NULL. */
void kubed_node_longopts_merge(struct option *out, const struct option *base,
                               size_t n);
/* --log-level LEVEL: 0, or 2 after printing why the value is bad. */
int kubed_log_level_flag(const char *arg);

#endif /* KUBED_NODE_FLAGS_H */
