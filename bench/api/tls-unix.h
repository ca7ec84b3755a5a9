/* SPDX-License-Identifier: Apache-2.0 */
/* bench-api: GETs over the unix socket vs over TLS keep-alive. */
#ifndef BENCH_API_TLS_UNIX_H
#define BENCH_API_TLS_UNIX_H

#include <sys/types.h>

#include "loadgen.h"

struct tls_unix_target {
  const char *sock;    /* unix socket path */
  int port;            /* TLS port on 127.0.0.1 */
  const char *ca_file; /* the server's certificate */
  const char *token;
  const char *path; /* what each GET fetches */
  pid_t pid;        /* kubed, for its CPU time; 0: not measured */
};

/* CPU time per GET of one side (median round), in microseconds: kubed's
 * (all its threads) and the bench's client threads'. CPU, not wall time:
 * on a shared 2-CPU machine the other load moves throughput by 2x, the
 * work each GET costs much less. NAN when not taken. */
struct tls_unix_cpu {
  double server_us, client_us;
};

/* `clients` threads, `per` GETs each, over the unix socket and over TLS
 * in five alternating rounds: per_s is the median round's, the latencies
 * those of the last round; NAN when not taken. */
void bench_tls_unix(const struct tls_unix_target *t, int clients, int per,
                    struct load_result *unix_res, struct load_result *tls_res,
                    struct tls_unix_cpu *unix_cpu, struct tls_unix_cpu *tls_cpu);

/* One GET over the unix socket: the status, or -1. */
int bench_unix_status(const char *sock, const char *path, const char *token);

#endif /* BENCH_API_TLS_UNIX_H */
