/* SPDX-License-Identifier: Apache-2.0 */
/* Connections of probes and hooks (probe-run.c), shared with the gRPC
 * health check (probe-grpc.c).  Worker threads only. */
#ifndef KUBE_NODE_PROBE_NET_H
#define KUBE_NODE_PROBE_NET_H

#include <sys/types.h>

#include "node/agent.h"

struct ssl_st;
struct ssl_ctx_st;

/* A TCP connection (non-blocking fd), with TLS when ssl is set. */
struct nd_conn {
  int fd;
  struct ssl_st *ssl;
  struct ssl_ctx_st *ctx;
};

/* Connect to host:port before deadline (monotonic ms; INT64_MAX: none).
 * -1 with *errmsg (owned) in Go's words ("dial tcp 10.0.0.1:80: connect:
 * connection refused"). */
int nd_conn_dial(struct nd_conn *c, const char *host, int port,
                 int64_t deadline, const volatile int *cancel, char **errmsg);
/* TLS over the connection without verifying the peer (the kubelet's
 * InsecureSkipVerify); -1 with *errmsg (owned). */
int nd_conn_tls(struct nd_conn *c, const char *host, int64_t deadline,
                const volatile int *cancel, char **errmsg);
/* 0 sent; -1 error; -2 deadline. */
int nd_conn_write(struct nd_conn *c, const void *buf, size_t len,
                  int64_t deadline, const volatile int *cancel);
/* >0 bytes; 0 EOF; -1 error; -2 deadline. */
ssize_t nd_conn_read(struct nd_conn *c, void *buf, size_t len, int64_t deadline,
                     const volatile int *cancel);
void nd_conn_close(struct nd_conn *c);
/* "10.0.0.1:80", "[fd00::1]:80" */
void nd_host_port(const char *host, int port, char *buf, size_t len);
/* strerror in Go's words (lower-case first letter). */
const char *nd_go_errno(int e, char *buf, size_t len);

/* The httpGet handler against host (probe-http.c). */
void nd_http_get(const struct nd_handler *h, const char *host, int64_t deadline,
                 const volatile int *cancel, struct nd_outcome *out);

/* grpc.health.v1.Health/Check of h->service at host:h->port over h2c,
 * as the kubelet's gRPC prober. */
void nd_grpc_check(const struct nd_handler *h, const char *host,
                   int64_t timeout_ms, int64_t deadline,
                   const volatile int *cancel, struct nd_outcome *out);

#endif /* KUBE_NODE_PROBE_NET_H */
