/* SPDX-License-Identifier: Apache-2.0 */
/*
 * networking.k8s.io/v1 NetworkPolicy: kube-apiserver's printer (NAME,
 * POD-SELECTOR, AGE), the defaults of SetDefaults_NetworkPolicy (a port's
 * protocol is TCP; policyTypes is Ingress, plus Egress when there are
 * egress rules) and ValidateNetworkPolicy with its field paths: label
 * selectors, ports (number or IANA name, endPort only after a numeric port
 * and not below it), protocols TCP/UDP/SCTP, peers (one of podSelector /
 * namespaceSelector / ipBlock, ipBlock alone), ipBlock CIDRs with
 * `except` strictly inside, at most two policyTypes from Ingress/Egress.
 */
#include <arpa/inet.h>

#include "api/kinds/kind.h"

static const kube_kind_column_t netpol_columns[] = {
    COL_NAME,
    COL("POD-SELECTOR", "string",
        "podSelector selects the pods to which this NetworkPolicy object "
        "applies. The array of ingress rules is applied to any pods selected "
        "by this field. Multiple network policies can select the same set of "
        "pods. In this case, the ingress rules for each are combined "
        "additively. This field is NOT optional and follows standard label "
        "selector semantics. An empty podSelector matches all pods in this "
        "namespace."),
    COL_AGE,
    COL_END};

static void netpol_cells(json_object *cells, json_object *obj, time_t now,
                         const kube_kind_t *kind) {
  api_cell_str(cells, api_name_of(obj));
  api_cell_selector_none(cells,
                         jget_obj(jget_obj(obj, "spec"), "podSelector"));
  api_cell_age(cells, obj, now);
}

static void default_ports(json_object *rules) {
  for (size_t i = 0; i < jarr_len(rules); i++) {
    json_object *ports = jget_arr(json_object_array_get_idx(rules, i), "ports");
    for (size_t k = 0; k < jarr_len(ports); k++) {
      json_object *p = json_object_array_get_idx(ports, k);
      if (json_object_is_type(p, json_type_object) && absent(p, "protocol"))
        api_jset(p, "protocol", jstr("TCP"));
    }
  }
}

static void netpol_defaults(json_object *obj, const kube_kind_t *k) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    if (!(spec = json_object_new_object()) || api_jset(obj, "spec", spec) < 0)
      return;
  }
  /* podSelector is a struct (no pointer): it is always there. */
  if (absent(spec, "podSelector"))
    api_jset(spec, "podSelector", json_object_new_object());
  json_object *ingress = jget_arr(spec, "ingress");
  json_object *egress = jget_arr(spec, "egress");
  default_ports(ingress);
  default_ports(egress);
  if (jarr_len(jget_arr(spec, "policyTypes")) == 0) {
    json_object *types = json_object_new_array();
    if (!types)
      return;
    json_object_array_add(types, jstr("Ingress"));
    if (jarr_len(egress))
      json_object_array_add(types, jstr("Egress"));
    api_jset(spec, "policyTypes", types);
  }
}

/* ---- validation ---------------------------------------------------------- */

static const char *const protocols[] = {"TCP", "UDP", "SCTP", NULL};

static void validate_port(verrs_t *v, json_object *port, const char *path) {
  char f[FP_MAX];
  const char *proto = jget_str(port, "protocol");
  if (proto && !api_in_set(proto, protocols))
    api_v_unsupported(v, api_fp(f, "%s.protocol", path), proto, protocols);
  json_object *p = jget(port, "port");
  json_object *end = jget(port, "endPort");
  if (p && jis_int(p)) {
    int64_t n = json_object_get_int64(p);
    if (n < 1 || n > 65535)
      api_v_invalid_int(v, api_fp(f, "%s.port", path), n,
                        "must be between 1 and 65535, inclusive");
    if (end && jis_int(end)) {
      int64_t e = json_object_get_int64(end);
      /* kube-apiserver reports the port here, not endPort. */
      if (e < n)
        api_v_invalid_int(v, api_fp(f, "%s.endPort", path), n,
                          "must be greater than or equal to `port`");
      if (e < 1 || e > 65535)
        api_v_invalid_int(v, api_fp(f, "%s.endPort", path), e,
                          "must be between 1 and 65535, inclusive");
    }
  } else if (p && json_object_is_type(p, json_type_string)) {
    if (end)
      api_v_invalid_json(v, api_fp(f, "%s.endPort", path), end,
                         "may not be specified when `port` is non-numeric");
    api_validate_iana_svc_name(v, json_object_get_string(p),
                               api_fp(f, "%s.port", path));
  } else if (!p && end) {
    api_v_invalid_json(v, api_fp(f, "%s.endPort", path), end,
                       "may not be specified when `port` is not specified");
  }
}

/* netutils.ParseCIDRSloppy: address (v4 or v6) "/" prefix length; the
 * network's first address (host bits cleared) into net. */
static bool parse_cidr(const char *s, unsigned char net[16], int *family,
                       int *bits) {
  char buf[64];
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || (size_t)(slash - s) >= sizeof buf || !slash[1])
    return false;
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = '\0';
  *family = strchr(buf, ':') ? AF_INET6 : AF_INET;
  memset(net, 0, 16);
  if (inet_pton(*family, buf, net) != 1)
    return false;
  int max = *family == AF_INET ? 32 : 128, n = 0;
  for (const char *c = slash + 1; *c; c++) {
    if (*c < '0' || *c > '9' || (n = n * 10 + (*c - '0')) > max)
      return false;
  }
  if (strlen(slash + 1) > 3)
    return false;
  *bits = n;
  for (int i = n; i < max; i++)
    net[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
  return true;
}

static bool prefix_contains(const unsigned char *net, int bits,
                            const unsigned char *ip) {
  for (int i = 0; i < bits; i++)
    if ((net[i / 8] ^ ip[i / 8]) & (0x80u >> (i % 8)))
      return false;
  return true;
}

#define CIDR_MSG "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

static void validate_ip_block(verrs_t *v, json_object *ipb, const char *path) {
  char f[FP_MAX];
  const char *cidr = jget_str(ipb, "cidr");
  if (!cidr || !*cidr) {
    api_v_required(v, api_fp(f, "%s.cidr", path), NULL);
    return;
  }
  unsigned char net[16], ex[16];
  int fam, bits, efam, ebits;
  if (!parse_cidr(cidr, net, &fam, &bits)) {
    api_v_invalid(v, api_fp(f, "%s.cidr", path), cidr, CIDR_MSG);
    return;
  }
  json_object *except = jget_arr(ipb, "except");
  for (size_t i = 0; i < jarr_len(except); i++) {
    json_object *e = json_object_array_get_idx(except, i);
    const char *s = json_object_is_type(e, json_type_string)
                        ? json_object_get_string(e)
                        : "";
    api_fp(f, "%s.except[%zu]", path, i);
    if (!parse_cidr(s, ex, &efam, &ebits)) {
      api_v_invalid(v, f, s, CIDR_MSG);
      continue;
    }
    if (efam != fam || !prefix_contains(net, bits, ex) || bits >= ebits)
      api_v_invalid(v, f, s, "must be a strict subset of `cidr`");
  }
}

static void validate_peer(verrs_t *v, json_object *peer, const char *path) {
  char f[FP_MAX];
  json_object *pod = jget_obj(peer, "podSelector");
  json_object *ns = jget_obj(peer, "namespaceSelector");
  json_object *ipb = jget_obj(peer, "ipBlock");
  int n = 0;
  if (pod) {
    n++;
    api_validate_label_selector(v, pod, api_fp(f, "%s.podSelector", path));
  }
  if (ns) {
    n++;
    api_validate_label_selector(v, ns,
                                api_fp(f, "%s.namespaceSelector", path));
  }
  if (ipb) {
    n++;
    validate_ip_block(v, ipb, api_fp(f, "%s.ipBlock", path));
  }
  if (n == 0)
    api_v_required(v, path, "must specify a peer");
  else if (n > 1 && ipb)
    api_v_forbidden(v, path, "may not specify both ipBlock and another peer");
}

static void validate_rules(verrs_t *v, json_object *rules, const char *dir,
                           const char *peers) {
  char rp[FP_MAX], f[FP_MAX];
  for (size_t i = 0; i < jarr_len(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    api_fp(rp, "spec.%s[%zu]", dir, i);
    json_object *ports = jget_arr(r, "ports");
    for (size_t k = 0; k < jarr_len(ports); k++)
      validate_port(v, json_object_array_get_idx(ports, k),
                    api_fp(f, "%s.ports[%zu]", rp, k));
    json_object *ps = jget_arr(r, peers);
    for (size_t k = 0; k < jarr_len(ps); k++)
      validate_peer(v, json_object_array_get_idx(ps, k),
                    api_fp(f, "%s.%s[%zu]", rp, peers, k));
  }
}

static void validate_netpol(verrs_t *v, json_object *obj, json_object *old,
                            const kube_kind_t *k) {
  static const char *const types[] = {"Ingress", "Egress", NULL};
  json_object *spec = jget_obj(obj, "spec");
  api_validate_label_selector(v, jget_obj(spec, "podSelector"),
                              "spec.podSelector");
  validate_rules(v, jget_arr(spec, "ingress"), "ingress", "from");
  validate_rules(v, jget_arr(spec, "egress"), "egress", "to");
  json_object *pt = jget_arr(spec, "policyTypes");
  if (jarr_len(pt) > 2) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append(&sb, "&[]networking.PolicyType{");
    for (size_t i = 0; i < jarr_len(pt); i++)
      kube_strbuf_printf(&sb, "%s\"%s\"", i ? ", " : "",
                         json_object_get_string(
                             json_object_array_get_idx(pt, i)));
    kube_strbuf_append(&sb, "}");
    api_v_invalid_raw(v, "spec.policyTypes", sb.data ? sb.data : "",
                      "may not specify more than two policyTypes");
    kube_strbuf_clear(&sb);
    return;
  }
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(pt); i++) {
    json_object *t = json_object_array_get_idx(pt, i);
    const char *s = json_object_is_type(t, json_type_string)
                        ? json_object_get_string(t)
                        : "";
    if (!api_in_set(s, types))
      api_v_unsupported(v, api_fp(f, "spec.policyTypes[%zu]", i), s, types);
  }
}

static const struct kube_kind_strategy netpol_strategy = {
    .type = &api_t_NetworkPolicy,
    .validate = validate_netpol,
    .defaults = netpol_defaults,
    .cells = netpol_cells,
};

const kube_kind_t api_kind_networkpolicy =
    KIND("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
         "networkpolicy", true, NAMES("netpol"), api_verbs_all, NULL, NULL,
         netpol_columns, NULL, &netpol_strategy);
