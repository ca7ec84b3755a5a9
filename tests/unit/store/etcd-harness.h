/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start a real etcd (Debian's /usr/bin/etcd) on loopback with random free
 * ports and a private data directory; used by the store tests and bench.
 */
#ifndef KUBE_TEST_ETCD_HARNESS_H
#define KUBE_TEST_ETCD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct etcd_harness {
  pid_t pid;
  char dir[256];
  char endpoint[64]; /* "http://127.0.0.1:PORT" */
  int port;
  int peer_port;
};

#define ETCD_BINARY "/usr/bin/etcd"

/* True when the etcd binary exists. */
bool etcd_available(void);
/* Start etcd and wait until it answers /health (up to ~20 s).  `base_dir`
 * may be NULL (then $TMPDIR or /tmp).  Returns 0 or -1 with a message on
 * stderr. */
int etcd_start(struct etcd_harness *h, const char *base_dir);
/* kill -9 it and start it again on the same ports and data (tests of
 * reconnection).  Returns 0 once it is healthy again. */
int etcd_restart(struct etcd_harness *h);
/* kill -9 it, keeping ports and data for etcd_restart. */
void etcd_kill(struct etcd_harness *h);
/* POST a JSON body to etcd's gateway (blocking, HTTP/1.0); the response
 * body goes to resp (NUL-terminated, truncated).  Returns the HTTP status
 * or -1. */
int etcd_post(const struct etcd_harness *h, const char *path, const char *body,
              char *resp, size_t resp_len);
/* Kill it by PID, reap it and remove its data directory. */
void etcd_stop(struct etcd_harness *h);

#endif
