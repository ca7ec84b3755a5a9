/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the node controllers share: toleration matching as
 * k8s.io/api/core/v1's Toleration.ToleratesTaint, condition lookup, and
 * IPv4 CIDR parsing for the node IPAM.
 */
#include <arpa/inet.h>

#include "controller/internal.h"

bool ctl_toleration_tolerates(json_object *tol, json_object *taint) {
  const char *eff = cj_str0(tol, "effect");
  if (*eff && !streq(eff, cj_str0(taint, "effect")))
    return false;
  const char *key = cj_str0(tol, "key");
  if (*key && !streq(key, cj_str0(taint, "key")))
    return false;
  const char *op = cj_str0(tol, "operator");
  if (!*op || streq(op, "Equal"))
    return streq(cj_str0(tol, "value"), cj_str0(taint, "value"));
  return streq(op, "Exists");
}

json_object *ctl_condition(json_object *obj, const char *type) {
  json_object *conds = cj_arr(cj_obj(obj, "status"), "conditions");
  for (size_t i = 0; i < cj_len(conds); i++)
    if (streq(cj_str0(cj_at(conds, i), "type"), type))
      return cj_at(conds, i);
  return NULL;
}

int ctl_cidr_parse(const char *cidr, int mask, uint32_t *base, uint32_t *n,
                   kube_error_t *err) {
  char ip[INET_ADDRSTRLEN];
  const char *slash = cidr ? strchr(cidr, '/') : NULL;
  size_t l = slash ? (size_t)(slash - cidr) : 0;
  char *end = NULL;
  long bits = slash ? strtol(slash + 1, &end, 10) : -1;
  struct in_addr a;
  if (!slash || l >= sizeof ip || !slash[1] || *end || bits < 0 || bits > 32)
    goto bad;
  memcpy(ip, cidr, l);
  ip[l] = '\0';
  if (inet_pton(AF_INET, ip, &a) != 1)
    goto bad;
  if (mask < bits || mask > 30 || mask - bits > 24)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "--node-cidr-mask-size %d does not fit in "
                          "--cluster-cidr %s (between /%ld and /30, at most "
                          "2^24 blocks)",
                          mask, cidr, bits);
  uint32_t host = ntohl(a.s_addr);
  *base = bits ? host & ~((1u << (32 - bits)) - 1) : 0;
  *n = 1u << (mask - bits);
  return 0;
bad:
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "--cluster-cidr %s is not an IPv4 CIDR (10.42.0.0/16)",
                        cidr ? cidr : "");
}
