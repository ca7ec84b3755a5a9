/* SPDX-License-Identifier: Apache-2.0 */
/* bench-controllers: what its cases share (the kubed they run against). */
#ifndef BENCH_CONTROLLERS_H
#define BENCH_CONTROLLERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TOKEN "bench-token"
#define NS "bench"

struct kubed {
  pid_t pid;
  int hollow;  /* hollow nodes inside kubed (--hollow-nodes), 0: none */
  bool agents; /* the nodes are `kubed agent --hollow` processes */
  bool tls;    /* HTTPS (the agents want it), else --plain-http */
  int port;
  char dir[256];
  char url[64];
  char ca[320]; /* the server's CA (DATA/ca.crt) */
};

int64_t now_ns(void);
/* `kubed COMMAND --help` mentions flag. */
bool kubed_has_flag(const char *bin, const char *command, const char *flag);
/* A fresh `kubed server` in a new temporary directory, answering /readyz:
 * 0, else -1. */
int kubed_start(struct kubed *k, const char *bin, const char *store);
void kubed_stop(struct kubed *k, bool keep);
/* A client of k's API (its token and, over TLS, its CA). */
struct kube_client;
struct kube_error;
struct kube_client *kubed_client(const struct kubed *k, int timeout_ms,
                                 struct kube_error *err);
/* Lines of kubed's log holding `what`. */
int log_count(const struct kubed *k, const char *what);

/* writes.c: kubed's API writes so far by "VERB resource[/sub]" (from
 * /metrics), NULL when it cannot be read; printed per pod (after - before),
 * returning the total per pod (-1: not measured). */
struct json_object;
struct json_object *writes_read(const struct kubed *k);
double writes_print(struct json_object *before, struct json_object *after,
                    int pods);

/* node_failure_recovery_s: a `kubed agent --hollow 1` node holding the
 * PODS pods of a Deployment (tolerating unreachable/not-ready for 10 s) is
 * killed with SIGKILL among `nodes` others. */
#define NODE_FAILURE_PODS 100
#define NODE_FAILURE_TOLERATION_S 10

struct node_failure {
  double recovery_s;    /* kill -> all pods Running on other nodes */
  double not_ready_s;   /* kill -> the Node's Ready condition not True */
  double tainted_s;     /* kill -> its unreachable NoExecute taint */
  double evicted_s;     /* kill -> the first pod marked for deletion */
  double rescheduled_s; /* kill -> all replacements bound */
};

/* 0 when the case completed (figures in *out). */
int node_failure_case(const char *kubed_bin, const char *store, int nodes,
                      bool keep, struct node_failure *out);

#endif
