/* SPDX-License-Identifier: Apache-2.0 */
/* bench-scheduler-e2e's plumbing (e2e-client.c): HTTP over loopback, kubed. */
#ifndef BENCH_E2E_CLIENT_H
#define BENCH_E2E_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../bench-util.h" /* proc_cpu_s */

#define TOKEN "bench-token"

int64_t now_ns(void); /* CLOCK_MONOTONIC */

/* One keep-alive connection to 127.0.0.1:port; blocking. */
struct conn {
  int fd;
  char buf[1 << 16];
  size_t len;
};

int conn_open(struct conn *c, int port); /* -1 on error */
void conn_close(struct conn *c);
/* Sends one request with the bearer token (body may be NULL). */
int send_request(struct conn *c, const char *method, const char *path,
                 const char *body);
int fill(struct conn *c); /* read more into c->buf; -1 on EOF / error */
/* Reads one Content-Length answer: its status (-1 on error); up to cap - 1
 * bytes of body into out when out is given. */
int read_response(struct conn *c, char *out, size_t cap);
int do_request(struct conn *c, const char *method, const char *path,
               const char *body, char *out, size_t cap);

/* A kubed server in a temporary directory, plain HTTP on a free port. */
struct kubed {
  pid_t pid;
  int port;
  char dir[256];
};

int kubed_start(struct kubed *k, const char *bin, const char *store,
                bool no_scheduler); /* -1 when it does not become ready */
void kubed_stop(struct kubed *k, bool keep); /* keep: leave its directory */
long kubed_rss_kb(pid_t pid);

#endif
