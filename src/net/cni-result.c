/* SPDX-License-Identifier: Apache-2.0 */
/* CNI results (types/100 and types/040; the 0.2 ip4/ip6 form too). */
#include <arpa/inet.h>

#include "api/api-private.h"
#include "net/internal.h"

static char *dup_or_null(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return strdup(json_object_get_string(v));
}

static char **strings(json_object *arr, size_t *n) {
  *n = 0;
  if (!arr || !json_object_is_type(arr, json_type_array))
    return NULL;
  size_t len = json_object_array_length(arr);
  char **v = calloc(len + 1, sizeof *v);
  if (!v)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    json_object *s = json_object_array_get_idx(arr, i);
    if (json_object_is_type(s, json_type_string))
      v[(*n)++] = strdup(json_object_get_string(s));
  }
  return v;
}

static int add_ip(kube_cni_result_t *r, const char *addr, const char *gw,
                  int iface) {
  kube_cni_ip_t *ips = realloc(r->ips, (r->n_ips + 1) * sizeof *ips);
  if (!ips)
    return -1;
  r->ips = ips;
  kube_cni_ip_t *ip = &r->ips[r->n_ips++];
  ip->address = strdup(addr);
  ip->gateway = gw ? strdup(gw) : NULL;
  ip->interface = iface;
  ip->ipv6 = strchr(addr, ':') != NULL;
  return ip->address ? 0 : -1;
}

static int add_routes(kube_cni_result_t *r, json_object *routes) {
  if (!routes || !json_object_is_type(routes, json_type_array))
    return 0;
  size_t n = json_object_array_length(routes);
  kube_cni_route_t *rt = realloc(r->routes, (r->n_routes + n + 1) * sizeof *rt);
  if (!rt)
    return -1;
  r->routes = rt;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(routes, i);
    if (!json_object_is_type(o, json_type_object))
      continue;
    char *dst = dup_or_null(o, "dst");
    if (!dst)
      continue;
    r->routes[r->n_routes++] =
        (kube_cni_route_t){.dst = dst, .gw = dup_or_null(o, "gw")};
  }
  return 0;
}

/* 0.1.0 / 0.2.0: {"ip4": {"ip", "gateway", "routes"}, "ip6": ...}. */
static int legacy_ips(kube_cni_result_t *r, json_object *obj) {
  static const char *const keys[] = {"ip4", "ip6"};
  for (size_t k = 0; k < 2; k++) {
    json_object *o;
    if (!json_object_object_get_ex(obj, keys[k], &o) ||
        !json_object_is_type(o, json_type_object))
      continue;
    const char *ip = kube_json_get_string(o, "ip");
    if (ip && add_ip(r, ip, kube_json_get_string(o, "gateway"), -1) < 0)
      return -1;
    json_object *routes = NULL;
    json_object_object_get_ex(o, "routes", &routes);
    if (add_routes(r, routes) < 0)
      return -1;
  }
  return 0;
}

int net_result_from_json(json_object *obj, kube_cni_result_t *out,
                         kube_error_t *err) {
  memset(out, 0, sizeof *out);
  if (!obj || !json_object_is_type(obj, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "CNI result: not a JSON object");
  out->cni_version = dup_or_null(obj, "cniVersion");
  json_object *ifs = NULL, *ips = NULL, *routes = NULL, *dns = NULL;
  json_object_object_get_ex(obj, "interfaces", &ifs);
  json_object_object_get_ex(obj, "ips", &ips);
  json_object_object_get_ex(obj, "routes", &routes);
  json_object_object_get_ex(obj, "dns", &dns);
  if (ifs && json_object_is_type(ifs, json_type_array)) {
    size_t n = json_object_array_length(ifs);
    out->interfaces = calloc(n + 1, sizeof *out->interfaces);
    if (!out->interfaces)
      goto oom;
    for (size_t i = 0; i < n; i++) {
      json_object *o = json_object_array_get_idx(ifs, i);
      if (!json_object_is_type(o, json_type_object))
        continue;
      kube_cni_interface_t *f = &out->interfaces[out->n_interfaces++];
      f->name = dup_or_null(o, "name");
      f->mac = dup_or_null(o, "mac");
      f->sandbox = dup_or_null(o, "sandbox");
    }
  }
  if (ips && json_object_is_type(ips, json_type_array)) {
    size_t n = json_object_array_length(ips);
    for (size_t i = 0; i < n; i++) {
      json_object *o = json_object_array_get_idx(ips, i), *idx;
      const char *addr = kube_json_get_string(o, "address");
      if (!addr)
        continue;
      int iface = -1;
      if (json_object_object_get_ex(o, "interface", &idx) &&
          json_object_is_type(idx, json_type_int))
        iface = json_object_get_int(idx);
      if (add_ip(out, addr, kube_json_get_string(o, "gateway"), iface) < 0)
        goto oom;
    }
  } else if (legacy_ips(out, obj) < 0) {
    goto oom;
  }
  if (add_routes(out, routes) < 0)
    goto oom;
  if (dns && json_object_is_type(dns, json_type_object)) {
    json_object *a = NULL;
    json_object_object_get_ex(dns, "nameservers", &a);
    out->dns_nameservers = strings(a, &out->n_dns_nameservers);
    a = NULL;
    json_object_object_get_ex(dns, "search", &a);
    out->dns_search = strings(a, &out->n_dns_search);
    out->dns_domain = dup_or_null(dns, "domain");
  }
  out->json =
      strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
  if (!out->json)
    goto oom;
  return 0;
oom:
  kube_cni_result_clear(out);
  return kube_make_oom(err);
}

KUBE_EXPORT int kube_cni_result_parse(const char *json, size_t len,
                                      kube_cni_result_t *out,
                                      kube_error_t *err) {
  memset(out, 0, sizeof *out);
  json_object *obj = kube_json_parse(json, len, err);
  if (!obj)
    return kube_error_wrap(err, "CNI result");
  int rc = net_result_from_json(obj, out, err);
  json_object_put(obj);
  return rc;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

KUBE_EXPORT void kube_cni_result_clear(kube_cni_result_t *r) {
  if (!r)
    return;
  free(r->cni_version);
  for (size_t i = 0; i < r->n_interfaces; i++) {
    free(r->interfaces[i].name);
    free(r->interfaces[i].mac);
    free(r->interfaces[i].sandbox);
  }
  free(r->interfaces);
  for (size_t i = 0; i < r->n_ips; i++) {
    free(r->ips[i].address);
    free(r->ips[i].gateway);
  }
  free(r->ips);
  for (size_t i = 0; i < r->n_routes; i++) {
    free(r->routes[i].dst);
    free(r->routes[i].gw);
  }
  free(r->routes);
  free_strv(r->dns_nameservers, r->n_dns_nameservers);
  free_strv(r->dns_search, r->n_dns_search);
  free(r->dns_domain);
  free(r->json);
  memset(r, 0, sizeof *r);
}

KUBE_EXPORT char *kube_cni_result_ip(const kube_cni_result_t *r, size_t i,
                                     char *buf, size_t len) {
  if (!r || i >= r->n_ips || !buf || len < 2)
    return NULL;
  const char *a = r->ips[i].address;
  const char *slash = strchr(a, '/');
  size_t n = slash ? (size_t)(slash - a) : strlen(a);
  if (n >= len)
    return NULL;
  memcpy(buf, a, n);
  buf[n] = '\0';
  return buf;
}
