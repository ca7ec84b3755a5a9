/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube cluster DNS: the records CoreDNS's kubernetes plugin serves,
 * from Services and EndpointSlices (or, for a Service without slices, its
 * Endpoints), on UDP and TCP, with other names forwarded to upstream
 * servers.
 *
 * Names in the cluster domain D (default cluster.local), TTL 5 s:
 *   svc.ns.svc.D            A/AAAA: the ClusterIPs; headless: one per ready
 *                           endpoint; ExternalName: CNAME
 *   ep.svc.ns.svc.D         headless endpoints: ep is the endpoint's
 *                           hostname (StatefulSets), else its dashed IP
 *   _port._proto.svc.ns.svc.D  SRV per named port (SRV on svc.ns.svc.D:
 *                           every port), targets in the additional section
 *   a-b-c-d.ns.pod.D        A a.b.c.d (CoreDNS's "pods insecure")
 *   reverse names           PTR for ClusterIPs and headless endpoints
 *   D                       SOA, NS; dns-version.D TXT; ns.dns.D A
 * A missing name in D is NXDOMAIN, an existing name without the asked
 * type NOERROR/NODATA, both with the SOA.  Other names (and reverse names
 * not known here) go to the upstream servers, or get SERVFAIL with
 * upstream "none".  Malformed packets are dropped.  Answers over UDP are
 * cut to 512 bytes, or the EDNS0 size the client offers (at most 1232):
 * a larger one is sent empty with TC set, and the client asks over TCP.
 *
 * The wire format is libldns's.  Threading: one event loop; every
 * function runs on it.
 */
#ifndef LIBKUBE_DNS_H
#define LIBKUBE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include <libkube/api.h>
#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_dns kube_dns_t;
struct kube_informer_factory;

typedef struct kube_dns_options {
  size_t struct_size; /* sizeof(kube_dns_options_t) */
  const char *domain; /* NULL: "cluster.local" */
  /* "none" (SERVFAIL at once, nothing sent), or "ADDR[:PORT][,...]"
   * ("[v6]:PORT" with a port).  NULL: the nameservers of resolv_conf. */
  const char *upstream;
  const char *resolv_conf; /* NULL: /etc/resolv.conf */
  /* The cluster DNS address, answered for ns.dns.D (may be NULL). */
  const char *dns_ip;
  uint32_t ttl; /* 0: 5 */
} kube_dns_options_t;

/* Counters since kube_dns_new. */
typedef struct kube_dns_stats {
  uint64_t queries;   /* well-formed queries received */
  uint64_t answered;  /* answered from the cluster's records */
  uint64_t nxdomain;  /* of those, NXDOMAIN */
  uint64_t forwarded; /* sent upstream */
  uint64_t servfail;  /* SERVFAIL (no upstream, timeouts) */
  uint64_t dropped;   /* malformed packets, responses, overload */
  uint64_t truncated; /* UDP answers sent with TC */
} kube_dns_stats_t;

/* A server on `loop` (borrowed).  No listener, no records yet.  Owned:
 * free with kube_dns_free.  NULL with err (BadRequest: bad domain or
 * upstream). */
kube_dns_t *kube_dns_new(kube_loop_t *loop, const kube_dns_options_t *opts,
                         kube_error_t *err);
/* 0 when kube_dns_new would accept the options, else -1 with err. */
int kube_dns_options_check(const kube_dns_options_t *opts, kube_error_t *err);
/* Serve UDP and TCP on "ADDR:PORT" ("[v6]:PORT"; port 0 picks one).
 * Returns the port, or -1 with err (BadRequest, or the bind error). */
int kube_dns_listen(kube_dns_t *dns, const char *addr_port, kube_error_t *err);
/* Keep the records current from `f`'s (borrowed; it must outlive the
 * registration) informers of Services, EndpointSlices and Endpoints,
 * starting them.  -1 with err. */
int kube_dns_watch(kube_dns_t *dns, struct kube_informer_factory *f,
                   kube_error_t *err);
/* Remove the informer registrations (before the factory goes). */
void kube_dns_unwatch(kube_dns_t *dns);

/* Feed objects directly (what the informer handlers call): a Service, an
 * EndpointSlice (discovery.k8s.io/v1) or an Endpoints (borrowed).  An
 * object of another kind is ignored.  -1 with err on out-of-memory. */
int kube_dns_update(kube_dns_t *dns, const kube_object_t *obj,
                    kube_error_t *err);
/* Forget the object of that kind ("Service", "EndpointSlice",
 * "Endpoints"). */
void kube_dns_delete(kube_dns_t *dns, const char *kind, const char *ns,
                     const char *name);

/* Answer one DNS message `query` (borrowed) as the listeners do, in at
 * most `max_size` bytes (0: what a UDP client's query allows, 512 or its
 * EDNS0 size up to 1232; TCP: 65535): 1 with *reply (owned, free()) and
 * *reply_len; 0 when it gets no answer here (malformed or a response:
 * dropped; a name for the upstream servers: forwarded by the listeners).
 * Never -1 today; err is for later failures. */
int kube_dns_resolve(kube_dns_t *dns, const uint8_t *query, size_t len,
                     size_t max_size, uint8_t **reply, size_t *reply_len,
                     kube_error_t *err);

void kube_dns_get_stats(const kube_dns_t *dns, kube_dns_stats_t *out);
/* Number of names with records. */
size_t kube_dns_name_count(const kube_dns_t *dns);

/* Close the listeners and pending forwards and free.  Accepts NULL. */
void kube_dns_free(kube_dns_t *dns);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_DNS_H */
