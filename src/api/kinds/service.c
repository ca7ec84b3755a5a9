/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service, Endpoints (core/v1) and EndpointSlice (discovery.k8s.io/v1):
 * columns and cells, defaults, validation.  Cluster IPs and node ports
 * are the API server's (src/apiserver/services.c).
 */
#include <ctype.h>

#include "api/kinds/kind.h"

#define IP_MSG "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"

static const kube_kind_column_t service_columns[] = {
    COL_NAME,
    COL("TYPE", "string",
        "type determines how the Service is exposed. Defaults to ClusterIP."),
    COL("CLUSTER-IP", "string",
        "clusterIP is the IP address of the service and is usually assigned "
        "randomly."),
    COL("EXTERNAL-IP", "string",
        "externalIPs is a list of IP addresses for which nodes in the "
        "cluster will also accept traffic for this service."),
    COL("PORT(S)", "string",
        "The list of ports that are exposed by this service."),
    COL_AGE,
    COLW("SELECTOR", "string",
         "Route service traffic to pods with label keys and values matching "
         "this selector."),
    COL_END};

static const kube_kind_column_t endpoints_columns[] = {
    COL_NAME,
    COL("ENDPOINTS", "string",
        "The set of all endpoints is the union of all subsets."),
    COL_AGE, COL_END};

static const kube_kind_column_t endpointslice_columns[] = {
    COL_NAME,
    COL("ADDRESSTYPE", "string",
        "addressType specifies the type of address carried by this "
        "EndpointSlice."),
    COL("PORTS", "string",
        "ports specifies the list of network ports exposed by each endpoint "
        "in this slice."),
    COL("ENDPOINTS", "string",
        "endpoints is a list of unique endpoints in this slice."),
    COL_AGE,
    COL_END};

static const char *const sel_services[] = {"spec.clusterIP", "spec.type", NULL};

static void join_strings(kube_strbuf_t *sb, json_object *arr) {
  for (size_t i = 0; i < jarr_len(arr); i++) {
    if (sb->len)
      kube_strbuf_append_char(sb, ',');
    const char *s = json_object_get_string(jarr_at(arr, i));
    kube_strbuf_append(sb, s ? s : "");
  }
}

static void lb_status(kube_strbuf_t *sb, json_object *svc_status) {
  json_object *ing = jget_arr(jget_obj(svc_status, "loadBalancer"), "ingress");
  for (size_t i = 0; i < jarr_len(ing); i++) {
    json_object *e = jarr_at(ing, i);
    const char *v = jget_str(e, "ip");
    if (!v || !*v)
      v = jget_str(e, "hostname");
    if (v && *v) {
      if (sb->len)
        kube_strbuf_append_char(sb, ',');
      kube_strbuf_append(sb, v);
    }
  }
}

static void service_cells(json_object *cells, json_object *obj, time_t now,
                          const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  const char *type = jget_str0(spec, "type");
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, type);
  const char *cip = jget_str(spec, "clusterIP");
  api_cell_str(cells, cip && *cip ? cip : "<none>");

  kube_strbuf_t ext = KUBE_STRBUF_INIT;
  json_object *eips = jget_arr(spec, "externalIPs");
  if (streq(type, "ClusterIP") || streq(type, "NodePort")) {
    join_strings(&ext, eips);
    if (ext.len == 0)
      kube_strbuf_append(&ext, "<none>");
  } else if (streq(type, "LoadBalancer")) {
    lb_status(&ext, jget_obj(obj, "status"));
    join_strings(&ext, eips);
    if (ext.len == 0)
      kube_strbuf_append(&ext, "<pending>");
  } else if (streq(type, "ExternalName")) {
    kube_strbuf_append(&ext, jget_str0(spec, "externalName"));
  } else {
    kube_strbuf_append(&ext, "<unknown>");
  }
  api_cell_sb(cells, &ext);

  kube_strbuf_t ports = KUBE_STRBUF_INIT;
  json_object *ps = jget_arr(spec, "ports");
  for (size_t i = 0; i < jarr_len(ps); i++) {
    json_object *p = jarr_at(ps, i);
    if (i)
      kube_strbuf_append_char(&ports, ',');
    int64_t np = jget_int(p, "nodePort", 0);
    if (np > 0)
      kube_strbuf_printf(&ports, "%" PRId64 ":%" PRId64 "/%s",
                         jget_int(p, "port", 0), np, jget_str0(p, "protocol"));
    else
      kube_strbuf_printf(&ports, "%" PRId64 "/%s", jget_int(p, "port", 0),
                         jget_str0(p, "protocol"));
  }
  if (ports.len == 0)
    kube_strbuf_append(&ports, "<none>");
  api_cell_sb(cells, &ports);
  api_cell_age(cells, obj, now);
  api_cell_labels(cells, jget_obj(spec, "selector"));
}

static void append_hostport(kube_strbuf_t *sb, const char *ip, int64_t port) {
  if (strchr(ip, ':'))
    kube_strbuf_printf(sb, "[%s]:%" PRId64, ip, port);
  else
    kube_strbuf_printf(sb, "%s:%" PRId64, ip, port);
}

static void endpoints_cells(json_object *cells, json_object *obj, time_t now,
                            const kube_kind_t *kind) {
  json_object *subsets = jget_arr(obj, "subsets");
  api_cell_str(cells, api_name_of(obj));
  if (jarr_len(subsets) == 0) {
    api_cell_str(cells, "<none>");
  } else {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    const size_t max = 3;
    size_t listed = 0, count = 0;
    bool more = false;
    for (size_t s = 0; s < jarr_len(subsets); s++) {
      json_object *ss = jarr_at(subsets, s);
      json_object *addrs = jget_arr(ss, "addresses");
      json_object *ports = jget_arr(ss, "ports");
      size_t np = jarr_len(ports);
      for (size_t p = 0; p < (np ? np : 1); p++) {
        count += jarr_len(addrs);
        for (size_t a = 0; a < jarr_len(addrs); a++) {
          if (listed == max) {
            more = true;
            break;
          }
          if (listed)
            kube_strbuf_append_char(&sb, ',');
          const char *ip = jget_str0(jarr_at(addrs, a), "ip");
          if (np)
            append_hostport(&sb, ip, jget_int(jarr_at(ports, p), "port", 0));
          else
            kube_strbuf_append(&sb, ip);
          listed++;
        }
      }
    }
    if (more)
      kube_strbuf_printf(&sb, " + %zu more...", count - max);
    api_cell_sb(cells, &sb);
  }
  api_cell_age(cells, obj, now);
}

static void endpointslice_cells(json_object *cells, json_object *obj,
                                time_t now, const kube_kind_t *kind) {
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, jget_str0(obj, "addressType"));
  json_object *ports = jget_arr(obj, "ports");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (i)
      kube_strbuf_append_char(&sb, ',');
    if (jis_int(jget(p, "port")))
      kube_strbuf_printf(&sb, "%" PRId64, jget_int(p, "port", 0));
    else
      kube_strbuf_append(&sb, "<unset>");
  }
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<unset>");
  api_cell_sb(cells, &sb);
  json_object *eps = jget_arr(obj, "endpoints");
  const size_t max = 3;
  size_t listed = 0, count = 0;
  bool more = false;
  for (size_t i = 0; i < jarr_len(eps); i++) {
    json_object *addrs = jget_arr(jarr_at(eps, i), "addresses");
    for (size_t a = 0; a < jarr_len(addrs); a++) {
      count++;
      if (listed == max) {
        more = true;
        continue;
      }
      if (listed)
        kube_strbuf_append_char(&sb, ',');
      const char *s = json_object_get_string(jarr_at(addrs, a));
      kube_strbuf_append(&sb, s ? s : "");
      listed++;
    }
  }
  if (more)
    kube_strbuf_printf(&sb, " + %zu more...", count - max);
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<unset>");
  api_cell_sb(cells, &sb);
  api_cell_age(cells, obj, now);
}

static void service_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  if (empty_str(spec, "sessionAffinity"))
    api_jset(spec, "sessionAffinity", jstr("None"));
  if (empty_str(spec, "type"))
    api_jset(spec, "type", jstr("ClusterIP"));
  const char *type = jget_str0(spec, "type");
  json_object *ports = jget_arr(spec, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (empty_str(p, "protocol"))
      api_jset(p, "protocol", jstr("TCP"));
    json_object *tp = jget(p, "targetPort");
    if ((!tp || (jis_int(tp) && json_object_get_int64(tp) == 0) ||
         (json_object_is_type(tp, json_type_string) &&
          !*json_object_get_string(tp))) &&
        jget(p, "port"))
      api_jset(p, "targetPort", json_object_get(jget(p, "port")));
  }
  if (streq(jget_str0(spec, "sessionAffinity"), "ClientIP")) {
    json_object *cfg = api_jensure_obj(
        api_jensure_obj(spec, "sessionAffinityConfig"), "clientIP");
    api_jdefault(cfg, "timeoutSeconds", jint(10800));
  }
  if (streq(type, "NodePort") || streq(type, "LoadBalancer")) {
    if (empty_str(spec, "externalTrafficPolicy"))
      api_jset(spec, "externalTrafficPolicy", jstr("Cluster"));
  }
  if (streq(type, "LoadBalancer"))
    api_jdefault(spec, "allocateLoadBalancerNodePorts", jbool(true));
  if (!streq(type, "ExternalName")) {
    if (empty_str(spec, "internalTrafficPolicy"))
      api_jset(spec, "internalTrafficPolicy", jstr("Cluster"));
    if (empty_str(spec, "ipFamilyPolicy"))
      api_jset(spec, "ipFamilyPolicy", jstr("SingleStack"));
    if (!jget_arr(spec, "ipFamilies")) {
      json_object *fam = json_object_new_array();
      if (fam && json_object_array_add(fam, jstr("IPv4")) == 0)
        api_jset(spec, "ipFamilies", fam);
      else
        json_object_put(fam);
    }
  }
}

static void endpoints_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *subsets = jget_arr(obj, "subsets");
  for (size_t s = 0; s < jarr_len(subsets); s++) {
    json_object *ports = jget_arr(jarr_at(subsets, s), "ports");
    for (size_t i = 0; i < jarr_len(ports); i++)
      if (empty_str(jarr_at(ports, i), "protocol"))
        api_jset(jarr_at(ports, i), "protocol", jstr("TCP"));
  }
}

static void endpointslice_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *ports = jget_arr(obj, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (empty_str(p, "protocol"))
      api_jset(p, "protocol", jstr("TCP"));
    api_jdefault(p, "name", jstr(""));
  }
}

static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};

static const char *const service_types[] = {"ClusterIP", "ExternalName",
                                            "LoadBalancer", "NodePort", NULL};

static const char *const affinities[] = {"ClientIP", "None", NULL};

static const char *const traffic_policies[] = {"Cluster", "Local", NULL};

static void validate_service(verrs_t *v, json_object *obj, json_object *old,
                             const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  char f[FP_MAX], g[FP_MAX];
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  const char *type = jget_str0(spec, "type");
  if (!api_in_set(type, service_types))
    api_v_unsupported(v, "spec.type", type, service_types);
  const char *cip = jget_str0(spec, "clusterIP");
  bool headless = streq(cip, "None");
  bool extname = streq(type, "ExternalName");
  json_object *ports = jget_arr(spec, "ports");
  size_t np = jarr_len(ports);
  if (np == 0 && !headless && !extname)
    api_v_required(v, "spec.ports", NULL);
  for (size_t i = 0; i < np; i++) {
    json_object *p = jarr_at(ports, i);
    api_fp(f, "spec.ports[%zu]", i);
    const char *name = jget_str0(p, "name");
    if (np > 1 && !*name)
      api_v_required(v, api_fp(g, "%s.name", f), NULL);
    else if (*name)
      api_validate_dns_label(v, name, api_fp(g, "%s.name", f));
    for (size_t j = 0; *name && j < i; j++)
      if (streq(jget_str0(jarr_at(ports, j), "name"), name)) {
        api_v_duplicate(v, api_fp(g, "%s.name", f), name);
        break;
      }
    api_validate_port_number(v, jget(p, "port"), api_fp(g, "%s.port", f), true);
    const char *proto = jget_str0(p, "protocol");
    if (!api_in_set(proto, protocols))
      api_v_unsupported(v, api_fp(g, "%s.protocol", f), proto, protocols);
    json_object *tp = jget(p, "targetPort");
    if (json_object_is_type(tp, json_type_string)) {
      const char *tps = json_object_get_string(tp);
      if (*tps)
        api_validate_iana_svc_name(v, tps, api_fp(g, "%s.targetPort", f));
    } else if (tp) {
      api_validate_port_number(v, tp, api_fp(g, "%s.targetPort", f), false);
    }
    json_object *npv = jget(p, "nodePort");
    if (npv && jis_int(npv) && json_object_get_int64(npv) != 0) {
      if (!streq(type, "NodePort") && !streq(type, "LoadBalancer")) {
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        kube_strbuf_printf(&sb, "may not be used when `type` is '%s'", type);
        api_v_forbidden(v, api_fp(g, "%s.nodePort", f), sb.data);
        kube_strbuf_clear(&sb);
      } else {
        api_validate_port_number(v, npv, api_fp(g, "%s.nodePort", f), false);
      }
    }
    for (size_t j = 0; j < i; j++) {
      json_object *q = jarr_at(ports, j);
      if (jget_int(q, "port", -1) == jget_int(p, "port", -2) &&
          streq(jget_str0(q, "protocol"), proto)) {
        char val[64];
        snprintf(val, sizeof(val), "%" PRId64 "/%s", jget_int(p, "port", 0),
                 proto);
        api_v_duplicate(v, f, val);
        break;
      }
    }
  }
  const char *aff = jget_str0(spec, "sessionAffinity");
  if (!api_in_set(aff, affinities))
    api_v_unsupported(v, "spec.sessionAffinity", aff, affinities);
  if (*cip && !headless && !api_valid_ip(cip))
    api_v_invalid(
        v, "spec.clusterIP", cip,
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
  json_object *eips = jget_arr(spec, "externalIPs");
  for (size_t i = 0; i < jarr_len(eips); i++) {
    const char *ip = json_object_get_string(jarr_at(eips, i));
    if (!api_valid_ip(ip))
      api_v_invalid(v, api_fp(f, "spec.externalIPs[%zu]", i), ip ? ip : "",
                    "must be a valid IP address, (e.g. 10.9.8.7 or "
                    "2001:db8::ffff)");
  }
  if (extname) {
    const char *en = jget_str0(spec, "externalName");
    if (!*en) {
      api_v_required(v, "spec.externalName", NULL);
    } else {
      const char *msg = kube_validate_dns1123_subdomain(en);
      if (msg)
        api_v_invalid(v, "spec.externalName", en, msg);
    }
    if (*cip)
      api_v_forbidden(v, "spec.clusterIP",
                      "may not be set when `type` is 'ExternalName'");
  }
  json_object *sel = jget(spec, "selector");
  api_validate_labels(v, sel, "spec.selector");
  const char *etp = jget_str(spec, "externalTrafficPolicy");
  if (etp && *etp) {
    if (!streq(type, "NodePort") && !streq(type, "LoadBalancer"))
      api_v_invalid(v, "spec.externalTrafficPolicy", etp,
                    "may only be set when `type` is 'NodePort' or "
                    "'LoadBalancer'");
    else if (!api_in_set(etp, traffic_policies))
      api_v_unsupported(v, "spec.externalTrafficPolicy", etp, traffic_policies);
  }
  const char *itp = jget_str(spec, "internalTrafficPolicy");
  if (itp && *itp && !api_in_set(itp, traffic_policies))
    api_v_unsupported(v, "spec.internalTrafficPolicy", itp, traffic_policies);

  if (old) {
    const char *ocip = jget_str0(jget_obj(old, "spec"), "clusterIP");
    if (*ocip && *cip && !streq(ocip, cip) &&
        !streq(jget_str0(jget_obj(old, "spec"), "type"), "ExternalName") &&
        !extname)
      api_v_invalid(v, "spec.clusterIP", cip, "field is immutable");
  }
}

static void validate_endpoints(verrs_t *v, json_object *obj, json_object *old,
                               const kube_kind_t *kind) {
  json_object *subsets = jget_arr(obj, "subsets");
  char f[FP_MAX], g[FP_MAX];
  for (size_t s = 0; s < jarr_len(subsets); s++) {
    json_object *ss = jarr_at(subsets, s);
    const char *lists[] = {"addresses", "notReadyAddresses"};
    for (size_t l = 0; l < 2; l++) {
      json_object *addrs = jget_arr(ss, lists[l]);
      for (size_t i = 0; i < jarr_len(addrs); i++) {
        const char *ip = jget_str0(jarr_at(addrs, i), "ip");
        if (!api_valid_ip(ip))
          api_v_invalid(v, api_fp(f, "subsets[%zu].%s[%zu].ip", s, lists[l], i),
                        ip, IP_MSG);
      }
    }
    json_object *ports = jget_arr(ss, "ports");
    size_t np = jarr_len(ports);
    for (size_t i = 0; i < np; i++) {
      json_object *p = jarr_at(ports, i);
      api_fp(f, "subsets[%zu].ports[%zu]", s, i);
      const char *name = jget_str0(p, "name");
      if (np > 1 && !*name)
        api_v_required(v, api_fp(g, "%s.name", f), NULL);
      else if (*name)
        api_validate_dns_label(v, name, api_fp(g, "%s.name", f));
      api_validate_port_number(v, jget(p, "port"), api_fp(g, "%s.port", f),
                               true);
      const char *proto = jget_str0(p, "protocol");
      if (!api_in_set(proto, protocols))
        api_v_unsupported(v, api_fp(g, "%s.protocol", f), proto, protocols);
    }
  }
}

static const char *const address_types[] = {"FQDN", "IPv4", "IPv6", NULL};

static void validate_endpointslice(verrs_t *v, json_object *obj,
                                   json_object *old, const kube_kind_t *kind) {
  char f[FP_MAX], g[FP_MAX];
  const char *at = jget_str0(obj, "addressType");
  if (!*at)
    api_v_required(v, "addressType", NULL);
  else if (!api_in_set(at, address_types))
    api_v_unsupported(v, "addressType", at, address_types);
  json_object *eps = jget_arr(obj, "endpoints");
  for (size_t i = 0; i < jarr_len(eps); i++) {
    json_object *addrs = jget_arr(jarr_at(eps, i), "addresses");
    size_t na = jarr_len(addrs);
    api_fp(f, "endpoints[%zu].addresses", i);
    if (na == 0)
      api_v_required(v, f, "must contain at least 1 address");
    else if (na > 100)
      api_v_toolong(v, f, "must have at most 100 items");
    for (size_t a = 0; a < na; a++) {
      const char *ip = json_object_get_string(jarr_at(addrs, a));
      if (!ip)
        ip = "";
      if ((streq(at, "IPv4") && !strchr(ip, '.')) ||
          (streq(at, "IPv6") && !strchr(ip, ':')) ||
          ((streq(at, "IPv4") || streq(at, "IPv6")) && !api_valid_ip(ip)))
        api_v_invalid(v, api_fp(g, "%s[%zu]", f, a), ip,
                      streq(at, "IPv4") ? "must be a valid IPv4 address"
                                        : "must be a valid IPv6 address");
      else if (streq(at, "FQDN")) {
        const char *msg = kube_validate_dns1123_subdomain(ip);
        if (msg)
          api_v_invalid(v, api_fp(g, "%s[%zu]", f, a), ip, msg);
      }
    }
  }
  json_object *ports = jget_arr(obj, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    json_object *port = jget(p, "port");
    if (port && jis_int(port)) {
      int64_t pv = json_object_get_int64(port);
      if (pv < 0 || pv > 65535)
        api_v_invalid_int(v, api_fp(f, "ports[%zu].port", i), pv,
                          "must be between 0 and 65535, inclusive");
    }
    const char *proto = jget_str0(p, "protocol");
    if (*proto && !api_in_set(proto, protocols))
      api_v_unsupported(v, api_fp(f, "ports[%zu].protocol", i), proto,
                        protocols);
  }
}

/* ---- strategies ------------------------------------------------------------
 */

static const char *const sub_status_proxy[] = {"proxy", "status", NULL};

static const struct kube_kind_strategy service_strategy = {
    .name_rule = API_NAME_DNS1035,
    .type = &api_t_Service,
    .validate = validate_service,
    .defaults = service_defaults,
    .cells = service_cells,
};
static const struct kube_kind_strategy endpoints_strategy = {
    .type = &api_t_Endpoints,
    .validate = validate_endpoints,
    .defaults = endpoints_defaults,
    .cells = endpoints_cells,
};
static const struct kube_kind_strategy endpointslice_strategy = {
    .type = &api_t_EndpointSlice,
    .validate = validate_endpointslice,
    .defaults = endpointslice_defaults,
    .cells = endpointslice_cells,
};

const kube_kind_t api_kind_service =
    KIND("", "v1", "Service", "services", "service", true, NAMES("svc"),
         api_verbs_all, api_categories_all, sub_status_proxy, service_columns,
         sel_services, &service_strategy);
const kube_kind_t api_kind_endpoints = KIND(
    "", "v1", "Endpoints", "endpoints", "endpoints", true, NAMES("ep"),
    api_verbs_all, NULL, NULL, endpoints_columns, NULL, &endpoints_strategy);
const kube_kind_t api_kind_endpointslice =
    KIND("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
         "endpointslice", true, NULL, api_verbs_all, NULL, NULL,
         endpointslice_columns, NULL, &endpointslice_strategy);
