/* SPDX-License-Identifier: Apache-2.0 */
/* The Service registry's share of the API server: cluster IPs from the
 * service CIDR (--service-cidr, 10.96.0.0/12 by default; its first address
 * is the `kubernetes` Service's) and node ports (--service-node-port-range,
 * 30000-32767), allocated on create and kept across updates, as
 * kube-apiserver does. */
#include <arpa/inet.h>

#include "apiserver/internal.h"

#define SVC_NET (srv->svc_net)
#define SVC_SIZE (1u << (32 - srv->svc_bits))
#define NODEPORT_MIN (srv->node_port_min)
#define NODEPORT_MAX (srv->node_port_max)

struct used {
  uint32_t *ips;
  size_t n_ips, cap_ips;
  int *ports;
  size_t n_ports, cap_ports;
};

static void used_add_ip(struct used *u, uint32_t ip) {
  if (u->n_ips == u->cap_ips) {
    size_t cap = u->cap_ips ? u->cap_ips * 2 : 64;
    uint32_t *n = realloc(u->ips, cap * sizeof(*n));
    if (!n)
      return;
    u->ips = n;
    u->cap_ips = cap;
  }
  u->ips[u->n_ips++] = ip;
}

static void used_add_port(struct used *u, int port) {
  if (u->n_ports == u->cap_ports) {
    size_t cap = u->cap_ports ? u->cap_ports * 2 : 64;
    int *n = realloc(u->ports, cap * sizeof(*n));
    if (!n)
      return;
    u->ports = n;
    u->cap_ports = cap;
  }
  u->ports[u->n_ports++] = port;
}

static bool has_ip(const struct used *u, uint32_t ip) {
  for (size_t i = 0; i < u->n_ips; i++)
    if (u->ips[i] == ip)
      return true;
  return false;
}

static bool has_port(const struct used *u, int port) {
  for (size_t i = 0; i < u->n_ports; i++)
    if (u->ports[i] == port)
      return true;
  return false;
}

static bool parse_ip(const char *s, uint32_t *out) {
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1)
    return false;
  *out = ntohl(a.s_addr);
  return true;
}

static void collect(kube_apiserver_t *srv, const kube_kind_t *k,
                    const char *skip_key, struct used *u) {
  char *prefix = as_store_prefix(k, NULL);
  kube_store_list_t l = {0};
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) < 0) {
    free(prefix);
    return;
  }
  free(prefix);
  for (size_t i = 0; i < l.n; i++) {
    if (skip_key && streq(l.items[i]->key, skip_key))
      continue;
    json_object *o =
        kube_json_parse(l.items[i]->value, l.items[i]->value_len, NULL);
    if (!o)
      continue;
    uint32_t ip;
    if (parse_ip(kube_json_get_string(o, "spec.clusterIP"), &ip))
      used_add_ip(u, ip);
    json_object *ports = kube_json_get(o, "spec.ports");
    for (size_t j = 0; ports && json_object_is_type(ports, json_type_array) &&
                       j < json_object_array_length(ports);
         j++) {
      json_object *np = NULL;
      if (json_object_object_get_ex(json_object_array_get_idx(ports, j),
                                    "nodePort", &np))
        used_add_port(u, json_object_get_int(np));
    }
    json_object_put(o);
  }
  kube_store_list_clear(&l);
}

static void invalid(kube_error_t *err, const char *name, const char *field,
                    const char *value, const char *msg) {
  kube_error_set(err, KUBE_REASON_INVALID, 0,
                 "Service \"%s\" is invalid: %s: Invalid value: \"%s\": %s",
                 name ? name : "", field, value, msg);
  kube_error_set_details(err, "services", name);
  kube_error_add_cause(err, field, "FieldValueInvalid", msg);
}

static bool wants_node_ports(json_object *svc) {
  const char *type = kube_json_get_string(svc, "spec.type");
  return type && (streq(type, "NodePort") || streq(type, "LoadBalancer"));
}

/* Allocate what the Service needs.  `old` (borrowed, may be NULL) is the
 * stored version on update: its allocations carry over. */
int as_services_prepare(kube_apiserver_t *srv, const kube_kind_t *k,
                        json_object *svc, json_object *old, const char *key,
                        kube_error_t *err) {
  json_object *spec = kube_json_get(svc, "spec");
  if (!spec || !json_object_is_type(spec, json_type_object))
    return 0; /* validation reports it */
  const char *name = kube_json_get_string(svc, "metadata.name");
  const char *type = kube_json_get_string(svc, "spec.type");
  if (type && streq(type, "ExternalName"))
    return 0;
  const char *cip = kube_json_get_string(svc, "spec.clusterIP");
  const char *old_cip =
      old ? kube_json_get_string(old, "spec.clusterIP") : NULL;
  if ((!cip || !*cip) && old_cip && *old_cip) {
    json_object_object_add(spec, "clusterIP", json_object_new_string(old_cip));
    json_object *ips = kube_json_get(old, "spec.clusterIPs");
    if (ips)
      json_object_object_add(spec, "clusterIPs", json_object_get(ips));
    cip = old_cip;
  }
  struct used u = {0};
  collect(srv, k, key, &u);
  int rc = 0;
  if (cip && *cip && !streq(cip, "None")) {
    uint32_t ip;
    if (!parse_ip(cip, &ip) || (ip & ~(SVC_SIZE - 1)) != SVC_NET) {
      char msg[160];
      snprintf(msg, sizeof msg,
               "provided IP is not in the valid range. The range of valid IPs "
               "is %s",
               srv->service_cidr);
      invalid(err, name, "spec.clusterIP", cip, msg);
      rc = -1;
      goto out;
    }
    if (!(old_cip && streq(old_cip, cip)) && has_ip(&u, ip)) {
      invalid(err, name, "spec.clusterIP", cip,
              "provided IP is already allocated");
      rc = -1;
      goto out;
    }
  } else if (!cip || !*cip) {
    /* Start after the last allocation so writes still in flight never
     * get the same address. */
    uint32_t ip = 0;
    for (uint32_t tries = 0; tries < SVC_SIZE - 2; tries++) {
      uint32_t off = 2 + (srv->next_ip_offset++ % (SVC_SIZE - 3));
      if (!has_ip(&u, SVC_NET + off)) {
        ip = SVC_NET + off;
        break;
      }
    }
    if (!ip) {
      rc = kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                          "failed to allocate a serviceIP: range is full");
      goto out;
    }
    struct in_addr a = {.s_addr = htonl(ip)};
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    json_object_object_add(spec, "clusterIP", json_object_new_string(buf));
    json_object *ips = json_object_new_array();
    json_object_array_add(ips, json_object_new_string(buf));
    json_object_object_add(spec, "clusterIPs", ips);
  }
  if (wants_node_ports(svc)) {
    json_object *ports = kube_json_get(svc, "spec.ports");
    json_object *old_ports = old ? kube_json_get(old, "spec.ports") : NULL;
    for (size_t j = 0; ports && json_object_is_type(ports, json_type_array) &&
                       j < json_object_array_length(ports);
         j++) {
      json_object *p = json_object_array_get_idx(ports, j);
      json_object *np = NULL;
      if (json_object_object_get_ex(p, "nodePort", &np) &&
          json_object_get_int(np) != 0) {
        int v = json_object_get_int(np);
        bool mine = false;
        for (size_t q = 0; old_ports && q < json_object_array_length(old_ports);
             q++) {
          json_object *onp = kube_json_get(
              json_object_array_get_idx(old_ports, q), "nodePort");
          if (onp && json_object_get_int(onp) == v)
            mine = true;
        }
        char vb[16];
        snprintf(vb, sizeof vb, "%d", v);
        if (v < NODEPORT_MIN || v > NODEPORT_MAX) {
          char msg[160];
          snprintf(msg, sizeof msg,
                   "provided port is not in the valid range. The range of "
                   "valid ports is %d-%d",
                   NODEPORT_MIN, NODEPORT_MAX);
          invalid(err, name, "spec.ports.nodePort", vb, msg);
          rc = -1;
          goto out;
        }
        if (!mine && has_port(&u, v)) {
          invalid(err, name, "spec.ports.nodePort", vb,
                  "provided port is already allocated");
          rc = -1;
          goto out;
        }
        used_add_port(&u, v);
        continue;
      }
      /* Keep the old port of the same service port, else allocate. */
      int keep = 0;
      json_object *pp = kube_json_get(p, "port");
      for (size_t q = 0;
           old_ports && pp && q < json_object_array_length(old_ports); q++) {
        json_object *op = json_object_array_get_idx(old_ports, q);
        json_object *opp = kube_json_get(op, "port");
        json_object *onp = kube_json_get(op, "nodePort");
        if (opp && onp && json_object_get_int(opp) == json_object_get_int(pp))
          keep = json_object_get_int(onp);
      }
      if (!keep) {
        for (int tries = 0; tries <= NODEPORT_MAX - NODEPORT_MIN; tries++) {
          int cand = NODEPORT_MIN + (int)(srv->next_node_port++ %
                                          (NODEPORT_MAX - NODEPORT_MIN + 1));
          if (!has_port(&u, cand)) {
            keep = cand;
            break;
          }
        }
      }
      if (!keep) {
        rc = kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                            "failed to allocate a nodePort: range is full");
        goto out;
      }
      used_add_port(&u, keep);
      json_object_object_add(p, "nodePort", json_object_new_int(keep));
    }
  }
out:
  free(u.ips);
  free(u.ports);
  return rc;
}
