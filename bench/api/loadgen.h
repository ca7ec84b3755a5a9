/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-api's load generator: raw sockets and poll(), HTTP/1.1 keep-alive
 * with Content-Length and chunked responses, closed-loop load with C
 * clients and one request in flight each, latency percentiles.
 */
#ifndef BENCH_API_LOADGEN_H
#define BENCH_API_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* No single response may take longer than this. */
#define IO_TIMEOUT_MS 30000

struct buf {
  char *data;
  size_t len, cap;
};

struct target {
  int port;
  const char *token; /* NULL: no Authorization header (etcd) */
};

/* A blocking keep-alive connection for one-off requests. */
struct hconn {
  int fd;
  struct target t;
  struct buf in;
};

struct req {
  char method[8];
  char path[256];
  const char *body; /* borrowed until the next generate call */
};

typedef void (*gen_fn)(void *ctx, int client, int i, struct req *r);

struct load_result {
  bool ok; /* at least one request succeeded */
  double per_s, p50, p99, max;
  int done, errors;
  int first_bad_status;
};

int64_t now_ns(void);
void msleep(int ms);
void *xcalloc(size_t n, size_t sz);
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const char *p, size_t n);
void buf_free(struct buf *b);
ssize_t http_parse(const char *p, size_t len, int *status, struct buf *body);
/* Checks http_parse on fixed inputs; 0 when all pass. */
int self_test(void);
int tcp_connect(int port);
int set_nonblock(int fd);
int send_request(int fd, const struct target *t, const char *method,
                 const char *path, const char *body);
int hconn_open(struct hconn *c, const struct target *t);
void hconn_close(struct hconn *c);
int hconn_do(struct hconn *c, const char *method, const char *path,
             const char *body, struct buf *body_out);
int http_once(const struct target *t, const char *method, const char *path,
              const char *body, struct buf *out);
int cmp_i64(const void *a, const void *b);
double pct_ms(const int64_t *v, size_t n, double p);
void run_load(const struct target *t, int clients, int per_client, gen_fn gen,
              void *ctx, int expect, struct load_result *res);

#endif /* BENCH_API_LOADGEN_H */
