/* SPDX-License-Identifier: Apache-2.0 */
/* bench-api: GETs over the unix socket vs over TLS keep-alive. */
#ifndef BENCH_API_TLS_UNIX_H
#define BENCH_API_TLS_UNIX_H

#include "loadgen.h"

struct tls_unix_target {
  const char *sock;    /* unix socket path */
  int port;            /* TLS port on 127.0.0.1 */
  const char *ca_file; /* the server's certificate */
  const char *token;
  const char *path; /* what each GET fetches */
};

/* `clients` threads, `per` GETs each, over the unix socket and over TLS
 * in five alternating rounds: per_s is the median round's, the latencies
 * those of the last round; NAN when not taken. */
void bench_tls_unix(const struct tls_unix_target *t, int clients, int per,
                    struct load_result *unix_res, struct load_result *tls_res);

/* One GET over the unix socket: the status, or -1. */
int bench_unix_status(const char *sock, const char *path, const char *token);

#endif /* BENCH_API_TLS_UNIX_H */
