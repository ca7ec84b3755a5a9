/* SPDX-License-Identifier: Apache-2.0 */
#ifndef TEST_CLIENT_H
#define TEST_CLIENT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

/* A scripted HTTP server on a unix socket, run in a thread. */
struct fake_resp {
  const char *raw;  /* bytes written after reading one request */
  bool close_after; /* close the connection after writing */
};

struct fake_server {
  char dir[64];
  char sock[128];
  int lfd;
  pthread_t thread;
  const struct fake_resp *script;
  size_t n_script, next;
  /* What the server received, request by request. */
  char *requests[16];
  size_t n_requests;
  int connections;
  /* TLS mode (fake_start_tls): TCP on 127.0.0.1:port. */
  SSL_CTX *tls;
  int port;
};

void fake_start(struct fake_server *fs, const struct fake_resp *script,
                size_t n);
/* The same over TLS on a loopback TCP port with ctx's certificate. */
void fake_start_tls(struct fake_server *fs, const struct fake_resp *script,
                    size_t n, SSL_CTX *ctx);
void fake_stop(struct fake_server *fs);
/* A client on the fake server's socket (no kubeconfig). */
kube_client_t *fake_client(struct fake_server *fs);

/* A server on a unix socket that answers GET requests from a map of
 * "path?query" -> {"status": N, "body": "..."} (404 and a note in misses
 * for anything else), and a client on it. */
struct canned {
  char dir[40], sock[64];
  int lfd;
  pthread_t thread;
  json_object *responses; /* borrowed */
  char misses[512];
};
kube_client_t *canned_start(struct canned *s, json_object *responses);
void canned_stop(struct canned *s, kube_client_t *c);

int run_http_tests(void);
int run_tls_tests(void);
int run_print_tests(void);
int run_kubectl_tests(void);
int run_kubectl_lib_tests(void);

#endif
