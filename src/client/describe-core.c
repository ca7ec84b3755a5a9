/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl describe of Services, Endpoints, Nodes, Namespaces, ConfigMaps,
 * Secrets and ServiceAccounts, the dispatch by kind, and kubectl's
 * generic describer for every other kind (sorted fields with "smart"
 * labels: apiVersion -> "API Version").
 */
#include <ctype.h>

#include "client/describe.h"
#include "core/util.h"

static size_t arr_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

#define AT(a, i) json_object_array_get_idx((a), (i))

static void name_ns_meta(struct describe *d, json_object *o) {
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of a map, sorted (borrowed strings, owned array). */
static const char **keys_of(json_object *m, size_t *n) {
  *n = json_object_is_type(m, json_type_object)
           ? (size_t)json_object_object_length(m)
           : 0;
  const char **k = calloc(*n ? *n : 1, sizeof *k);
  size_t i = 0;
  if (!k) {
    *n = 0;
    return NULL;
  }
  if (*n) {
    json_object_object_foreach(m, key, v) {
      (void)v;
      k[i++] = key;
    }
    qsort(k, *n, sizeof *k, cmp_str);
  }
  return k;
}

static void join_strings(kube_strbuf_t *sb, json_object *arr, const char *sep) {
  for (size_t i = 0; i < arr_len(arr); i++)
    kube_strbuf_printf(sb, "%s%s", i ? sep : "",
                       json_object_get_string(AT(arr, i)));
}

/* ---- Service --------------------------------------------------------------
 */

/* formatEndpointSlices: up to three "ip:port" of ready endpoints for the
 * port `name`, then "+ N more...". */
static void endpoints_text(kube_strbuf_t *sb, json_object *slices,
                           const char *name) {
  size_t count = 0, listed = 0;
  bool more = false;
  for (size_t s = 0; s < arr_len(slices); s++) {
    json_object *sl = AT(slices, s), *ports = kube_json_get(sl, "ports");
    json_object *eps = kube_json_get(sl, "endpoints");
    size_t np = arr_len(ports) ? arr_len(ports) : 1;
    for (size_t p = 0; p < np; p++) {
      json_object *port = arr_len(ports) ? AT(ports, p) : NULL;
      if (port && !streq(client_dstr(port, "name"), name))
        continue;
      for (size_t e = 0; e < arr_len(eps); e++) {
        json_object *ep = AT(eps, e),
                    *ready = kube_json_get(ep, "conditions.ready");
        if (listed == 3)
          more = true;
        if (ready && !json_object_get_boolean(ready))
          continue;
        const char *addr = client_dstr(ep, "addresses.0");
        if (!more) {
          if (!port)
            kube_strbuf_printf(sb, "%s%s", listed ? "," : "", addr);
          else
            kube_strbuf_printf(sb,
                               strchr(addr, ':') ? "%s[%s]:%lld" : "%s%s:%lld",
                               listed ? "," : "", addr,
                               (long long)client_dint(port, "port", 0));
          listed++;
        }
        count++;
      }
    }
  }
  if (more)
    kube_strbuf_printf(sb, " + %zu more...", count - 3);
}

/* Without EndpointSlices (an older server), the Endpoints object. */
static void endpoints_from_endpoints(kube_strbuf_t *sb, json_object *ep) {
  json_object *subsets = kube_json_get(ep, "subsets");
  for (size_t i = 0; i < arr_len(subsets); i++) {
    json_object *addrs = kube_json_get(AT(subsets, i), "addresses"),
                *ports = kube_json_get(AT(subsets, i), "ports");
    for (size_t a = 0; a < arr_len(addrs); a++)
      for (size_t p = 0; p < arr_len(ports); p++)
        kube_strbuf_printf(sb, "%s%s:%lld", sb->len ? "," : "",
                           client_dstr(AT(addrs, a), "ip"),
                           (long long)client_dint(AT(ports, p), "port", 0));
  }
}

static void describe_service(struct describe *d, json_object *o) {
  json_object *spec = kube_json_get(o, "spec");
  const char *ns = DS(o, "metadata.namespace"), *name = DS(o, "metadata.name");
  char sel[512];
  snprintf(sel, sizeof sel, "kubernetes.io/service-name=%s", name ? name : "");
  kube_object_t *slices = client_describe_list(d, "discovery.k8s.io/v1",
                                               "EndpointSlice", ns, sel, NULL);
  kube_object_t *ep =
      slices ? NULL : client_describe_get(d, "v1", "Endpoints", ns, name, NULL);
  json_object *items =
      slices ? kube_json_get(kube_object_json(slices), "items") : NULL;
  name_ns_meta(d, o);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  kube_json_format_labels(&sb, kube_json_get(spec, "selector"), "=", ",");
  client_dw(d, 0, "Selector:\t%s\n", sb.len ? sb.data : "<none>");
  client_dw(d, 0, "Type:\t%s\n", client_dstr(spec, "type"));
  if (kube_json_get(spec, "ipFamilyPolicy"))
    client_dw(d, 0, "IP Family Policy:\t%s\n",
              client_dstr(spec, "ipFamilyPolicy"));
  static const struct {
    const char *title, *field;
  } lists[] = {{"IP Families", "ipFamilies"}};
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
    kube_strbuf_reset(&sb);
    kube_strbuf_append(&sb, "");
    join_strings(&sb, kube_json_get(spec, lists[i].field), ",");
    client_dw(d, 0, "%s:\t%s\n", lists[i].title, sb.len ? sb.data : "<none>");
  }
  client_dw(d, 0, "IP:\t%s\n", client_dstr(spec, "clusterIP"));
  kube_strbuf_reset(&sb);
  kube_strbuf_append(&sb, "");
  join_strings(&sb, kube_json_get(spec, "clusterIPs"), ",");
  client_dw(d, 0, "IPs:\t%s\n", sb.len ? sb.data : "<none>");
  if (arr_len(kube_json_get(spec, "externalIPs"))) {
    kube_strbuf_reset(&sb);
    join_strings(&sb, kube_json_get(spec, "externalIPs"), ",");
    client_dw(d, 0, "External IPs:\t%s\n", sb.data ? sb.data : "");
  }
  if (*client_dstr(spec, "loadBalancerIP"))
    client_dw(d, 0, "Desired LoadBalancer IP:\t%s\n",
              client_dstr(spec, "loadBalancerIP"));
  if (*client_dstr(spec, "externalName"))
    client_dw(d, 0, "External Name:\t%s\n", client_dstr(spec, "externalName"));
  json_object *ingress = kube_json_get(o, "status.loadBalancer.ingress");
  if (arr_len(ingress)) {
    kube_strbuf_reset(&sb);
    for (size_t i = 0; i < arr_len(ingress); i++) {
      const char *ip = client_dstr(AT(ingress, i), "ip");
      kube_strbuf_printf(&sb, "%s%s", i ? ", " : "",
                         *ip ? ip : client_dstr(AT(ingress, i), "hostname"));
    }
    client_dw(d, 0, "LoadBalancer Ingress:\t%s\n", sb.data ? sb.data : "");
  }
  json_object *ports = kube_json_get(spec, "ports");
  for (size_t i = 0; i < arr_len(ports); i++) {
    json_object *p = AT(ports, i);
    const char *pname = client_dstr(p, "name"),
               *proto = client_dstr(p, "protocol");
    char tp[64];
    client_dw(d, 0, "Port:\t%s\t%lld/%s\n", *pname ? pname : "<unset>",
              (long long)client_dint(p, "port", 0), proto);
    client_dw(d, 0, "TargetPort:\t%s/%s\n",
              client_dintstr(kube_json_get(p, "targetPort"), tp, sizeof tp),
              proto);
    if (client_dint(p, "nodePort", 0))
      client_dw(d, 0, "NodePort:\t%s\t%lld/%s\n", *pname ? pname : "<unset>",
                (long long)client_dint(p, "nodePort", 0), proto);
    kube_strbuf_reset(&sb);
    kube_strbuf_append(&sb, "");
    if (slices)
      endpoints_text(&sb, items, pname);
    else if (ep)
      endpoints_from_endpoints(&sb, kube_object_json(ep));
    client_dw(d, 0, "Endpoints:\t%s\n", sb.len ? sb.data : "<none>");
  }
  client_dw(d, 0, "Session Affinity:\t%s\n",
            client_dstr(spec, "sessionAffinity"));
  if (*client_dstr(spec, "externalTrafficPolicy"))
    client_dw(d, 0, "External Traffic Policy:\t%s\n",
              client_dstr(spec, "externalTrafficPolicy"));
  if (kube_json_get(spec, "internalTrafficPolicy"))
    client_dw(d, 0, "Internal Traffic Policy:\t%s\n",
              client_dstr(spec, "internalTrafficPolicy"));
  if (client_dint(spec, "healthCheckNodePort", 0))
    client_dw(d, 0, "HealthCheck NodePort:\t%lld\n",
              (long long)client_dint(spec, "healthCheckNodePort", 0));
  if (arr_len(kube_json_get(spec, "loadBalancerSourceRanges"))) {
    kube_strbuf_reset(&sb);
    join_strings(&sb, kube_json_get(spec, "loadBalancerSourceRanges"), ",");
    client_dw(d, 0, "LoadBalancer Source Ranges:\t%s\n",
              sb.data ? sb.data : "");
  }
  if (*client_dstr(spec, "trafficDistribution"))
    client_dw(d, 0, "Traffic Distribution:\t%s\n",
              client_dstr(spec, "trafficDistribution"));
  kube_strbuf_clear(&sb);
  kube_object_free(slices);
  kube_object_free(ep);
  client_describe_events(d, o, "Service");
}

static void describe_endpoints(struct describe *d, json_object *o) {
  name_ns_meta(d, o);
  client_dw(d, 0, "Subsets:\n");
  json_object *subsets = kube_json_get(o, "subsets");
  for (size_t i = 0; i < arr_len(subsets); i++) {
    json_object *s = AT(subsets, i);
    static const char *const which[][2] = {
        {"Addresses", "addresses"}, {"NotReadyAddresses", "notReadyAddresses"}};
    for (size_t w = 0; w < 2; w++) {
      json_object *a = kube_json_get(s, which[w][1]);
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      for (size_t j = 0; j < arr_len(a); j++)
        kube_strbuf_printf(&sb, "%s%s", j ? "," : "",
                           client_dstr(AT(a, j), "ip"));
      client_dw(d, 1, "%s:\t%s\n", which[w][0], sb.len ? sb.data : "<none>");
      kube_strbuf_clear(&sb);
    }
    json_object *ports = kube_json_get(s, "ports");
    if (arr_len(ports)) {
      client_dw(d, 1, "Ports:\n");
      client_dw(d, 2, "Name\tPort\tProtocol\n");
      client_dw(d, 2, "----\t----\t--------\n");
      for (size_t j = 0; j < arr_len(ports); j++) {
        json_object *p = AT(ports, j);
        const char *n = client_dstr(p, "name");
        client_dw(d, 2, "%s\t%lld\t%s\n", *n ? n : "<unset>",
                  (long long)client_dint(p, "port", 0),
                  client_dstr(p, "protocol"));
      }
    }
    client_dw(d, 0, "\n");
  }
  client_describe_events(d, o, "Endpoints");
}

/* ---- Node ------------------------------------------------------------------
 */

/* A resource name -> quantity map, in insertion order. */
struct qmap {
  size_t n;
  const char *name[48];
  kube_quantity_t q[48];
};

static kube_quantity_t *qmap_get(struct qmap *m, const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (streq(m->name[i], name))
      return &m->q[i];
  return NULL;
}

static kube_quantity_t *qmap_put(struct qmap *m, const char *name) {
  kube_quantity_t *q = qmap_get(m, name);
  if (q || m->n == ARRAY_SIZE(m->name))
    return q;
  m->name[m->n] = name;
  m->q[m->n] = (kube_quantity_t){0};
  return &m->q[m->n++];
}

/* addResourceList (`list` a ResourceList object, or a qmap when json is
 * NULL). */
static void qmap_add(struct qmap *m, json_object *list,
                     const struct qmap *src) {
  size_t n = src ? src->n : 0;
  if (list) {
    json_object_object_foreach(list, k, v) {
      kube_quantity_t q;
      if (kube_quantity_parse(json_object_get_string(v), &q, NULL) < 0)
        continue;
      kube_quantity_t *have = qmap_get(m, k);
      if (have)
        kube_quantity_add(have, &q, have, NULL);
      else if ((have = qmap_put(m, k)))
        *have = q;
    }
  }
  for (size_t i = 0; i < n; i++) {
    kube_quantity_t *have = qmap_get(m, src->name[i]);
    if (have)
      kube_quantity_add(have, &src->q[i], have, NULL);
    else if ((have = qmap_put(m, src->name[i])))
      *have = src->q[i];
  }
}

/* maxResourceList */
static void qmap_max(struct qmap *m, const struct qmap *src) {
  for (size_t i = 0; i < src->n; i++) {
    kube_quantity_t *have = qmap_get(m, src->name[i]);
    if (!have) {
      if ((have = qmap_put(m, src->name[i])))
        *have = src->q[i];
    } else if (kube_quantity_cmp(&src->q[i], have) > 0) {
      *have = src->q[i];
    }
  }
}

/* resourcehelper.PodRequestsAndLimits: containers summed, init containers
 * as a maximum (restartable ones summed into both), plus the overhead. */
static void pod_requests_limits(json_object *pod, struct qmap *reqs,
                                struct qmap *limits) {
  json_object *spec = kube_json_get(pod, "spec");
  json_object *cs = kube_json_get(spec, "containers"),
              *ics = kube_json_get(spec, "initContainers");
  for (int w = 0; w < 2; w++) {
    struct qmap *out = w ? limits : reqs;
    const char *field = w ? "resources.limits" : "resources.requests";
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < arr_len(cs); i++) {
      json_object *l = kube_json_get(AT(cs, i), field);
      if (json_object_is_type(l, json_type_object))
        qmap_add(out, l, NULL);
    }
    struct qmap restartable = {0}, init = {0};
    for (size_t i = 0; i < arr_len(ics); i++) {
      json_object *c = AT(ics, i), *l = kube_json_get(c, field);
      json_object *lo = json_object_is_type(l, json_type_object) ? l : NULL;
      struct qmap this = {0};
      if (streq(client_dstr(c, "restartPolicy"), "Always")) {
        if (lo) {
          qmap_add(out, lo, NULL);
          qmap_add(&restartable, lo, NULL);
        }
        this = restartable;
      } else {
        if (lo)
          qmap_add(&this, lo, NULL);
        qmap_add(&this, NULL, &restartable);
      }
      qmap_max(&init, &this);
    }
    qmap_max(out, &init);
    json_object *oh = kube_json_get(spec, "overhead");
    if (json_object_is_type(oh, json_type_object)) {
      if (!w) {
        qmap_add(out, oh, NULL);
      } else {
        /* Limits get the overhead only where they are set. */
        json_object_object_foreach(oh, k, v) {
          kube_quantity_t q, *have = qmap_get(out, k);
          if (have &&
              kube_quantity_parse(json_object_get_string(v), &q, NULL) == 0)
            kube_quantity_add(have, &q, have, NULL);
        }
      }
    }
  }
}

static const char *qstr(struct qmap *m, const char *name, char *buf,
                        size_t len) {
  kube_quantity_t zero = {0}, *q = qmap_get(m, name);
  return kube_quantity_format(q ? q : &zero, buf, len);
}

/* int64(float64(a) / float64(b) * 100), as kubectl computes percentages. */
static long long percent(int64_t a, int64_t b) {
  if (b == 0)
    return 0;
  return (long long)((double)a / (double)b * 100);
}

static int64_t qmilli(struct qmap *m, const char *name) {
  kube_quantity_t *q = qmap_get(m, name);
  return q ? kube_quantity_milli(q) : 0;
}

static int64_t qvalue(struct qmap *m, const char *name) {
  kube_quantity_t *q = qmap_get(m, name);
  return q ? kube_quantity_value(q) : 0;
}

static void node_resources(struct describe *d, json_object *node,
                           json_object *pods) {
  json_object *alloc_j = kube_json_get(node, "status.allocatable");
  if (!json_object_is_type(alloc_j, json_type_object) ||
      json_object_object_length(alloc_j) == 0)
    alloc_j = kube_json_get(node, "status.capacity");
  struct qmap alloc = {0}, total_r = {0}, total_l = {0};
  if (json_object_is_type(alloc_j, json_type_object))
    qmap_add(&alloc, alloc_j, NULL);
  client_dw(d, 0, "Non-terminated Pods:\t(%zu in total)\n", arr_len(pods));
  client_dw(d, 1,
            "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory "
            "Requests\tMemory Limits\tAge\n");
  client_dw(d, 1,
            "---------\t----\t\t------------\t----------\t-------------"
            "--\t-------------\t---\n");
  int64_t acpu = qmilli(&alloc, "cpu"), amem = qvalue(&alloc, "memory");
  for (size_t i = 0; i < arr_len(pods); i++) {
    json_object *p = AT(pods, i);
    struct qmap r, l;
    char a[48], b[48], c[48], e[48], age[32];
    pod_requests_limits(p, &r, &l);
    qmap_add(&total_r, NULL, &r);
    qmap_add(&total_l, NULL, &l);
    client_dw(
        d, 1,
        "%s\t%s\t\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s\n",
        client_dstr(p, "metadata.namespace"), client_dstr(p, "metadata.name"),
        qstr(&r, "cpu", a, sizeof a), percent(qmilli(&r, "cpu"), acpu),
        qstr(&l, "cpu", b, sizeof b), percent(qmilli(&l, "cpu"), acpu),
        qstr(&r, "memory", c, sizeof c), percent(qvalue(&r, "memory"), amem),
        qstr(&l, "memory", e, sizeof e), percent(qvalue(&l, "memory"), amem),
        client_dage(d, p, "metadata.creationTimestamp", age, sizeof age));
  }
  client_dw(d, 0,
            "Allocated resources:\n  (Total limits may be over 100 "
            "percent, i.e., overcommitted.)\n");
  client_dw(d, 1, "Resource\tRequests\tLimits\n");
  client_dw(d, 1, "--------\t--------\t------\n");
  static const char *const std[] = {"cpu", "memory", "ephemeral-storage"};
  for (size_t i = 0; i < ARRAY_SIZE(std); i++) {
    char a[48], b[48];
    bool cpu = i == 0;
    int64_t den = cpu ? acpu : qvalue(&alloc, std[i]);
    int64_t rq = cpu ? qmilli(&total_r, std[i]) : qvalue(&total_r, std[i]);
    int64_t lm = cpu ? qmilli(&total_l, std[i]) : qvalue(&total_l, std[i]);
    client_dw(d, 1, "%s\t%s (%lld%%)\t%s (%lld%%)\n", std[i],
              qstr(&total_r, std[i], a, sizeof a), percent(rq, den),
              qstr(&total_l, std[i], b, sizeof b), percent(lm, den));
  }
  /* Huge pages, then extended resources (nvidia.com/gpu ...), sorted. */
  size_t n;
  const char **names = keys_of(alloc_j, &n);
  for (int pass = 0; names && pass < 2; pass++)
    for (size_t i = 0; i < n; i++) {
      bool huge = str_has_prefix(names[i], "hugepages-");
      bool standard = streq(names[i], "cpu") || streq(names[i], "memory") ||
                      streq(names[i], "ephemeral-storage") ||
                      streq(names[i], "pods");
      char a[48], b[48];
      if (pass == 0 && huge)
        client_dw(
            d, 1, "%s\t%s (%lld%%)\t%s (%lld%%)\n", names[i],
            qstr(&total_r, names[i], a, sizeof a),
            percent(qvalue(&total_r, names[i]), qvalue(&alloc, names[i])),
            qstr(&total_l, names[i], b, sizeof b),
            percent(qvalue(&total_l, names[i]), qvalue(&alloc, names[i])));
      else if (pass == 1 && !huge && !standard)
        client_dw(d, 1, "%s\t%s\t%s\n", names[i],
                  qstr(&total_r, names[i], a, sizeof a),
                  qstr(&total_l, names[i], b, sizeof b));
    }
  free(names);
}

static void resource_map(struct describe *d, const char *title,
                         json_object *m) {
  size_t n;
  const char **names = keys_of(m, &n);
  if (n > 0) {
    client_dw(d, 0, "%s:\n", title);
    for (size_t i = 0; i < n; i++) {
      char q[64];
      client_dw(
          d, 0, "  %s:\t%s\n", names[i],
          client_dquantity(json_object_object_get(m, names[i]), q, sizeof q));
    }
  }
  free(names);
}

static void describe_node(struct describe *d, json_object *o) {
  char tb[64], t2[64];
  const char *name = client_dstr(o, "metadata.name");
  /* Roles: node-role.kubernetes.io/<role> keys and kubernetes.io/role. */
  json_object *labels = kube_json_get(o, "metadata.labels");
  size_t n;
  const char **keys = keys_of(labels, &n);
  const char **roles = calloc(n ? n : 1, sizeof *roles);
  size_t nr = 0;
  for (size_t i = 0; keys && roles && i < n; i++) {
    const char *role = NULL;
    if (str_has_prefix(keys[i], "node-role.kubernetes.io/"))
      role = keys[i] + 24;
    else if (streq(keys[i], "kubernetes.io/role"))
      role = json_object_get_string(json_object_object_get(labels, keys[i]));
    if (!role || !*role)
      continue;
    size_t j = 0;
    while (j < nr && !streq(roles[j], role))
      j++;
    if (j == nr)
      roles[nr++] = role;
  }
  if (roles)
    qsort(roles, nr, sizeof *roles, cmp_str);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; roles && i < nr; i++)
    kube_strbuf_printf(&sb, "%s%s", i ? "," : "", roles[i]);
  client_dw(d, 0, "Name:\t%s\n", name);
  client_dw(d, 0, "Roles:\t%s\n", sb.len ? sb.data : "<none>");
  kube_strbuf_clear(&sb);
  free(roles);
  free(keys);
  client_describe_labels(d, "", "Labels", labels);
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  client_dw(d, 0, "CreationTimestamp:\t%s\n",
            client_dtime(o, "metadata.creationTimestamp", tb, sizeof tb));
  client_describe_taints(d, "Taints", kube_json_get(o, "spec.taints"));
  client_dw(d, 0, "Unschedulable:\t%s\n",
            client_dbool(o, "spec.unschedulable") ? "true" : "false");
  if (d->c) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *lease = client_describe_get(
        d, "coordination.k8s.io/v1", "Lease", "kube-node-lease", name, &err);
    if (lease) {
      json_object *spec = kube_json_get(kube_object_json(lease), "spec");
      client_dw(d, 0, "Lease:\n");
      client_dw(d, 1, "HolderIdentity:\t%s\n",
                kube_json_get(spec, "holderIdentity")
                    ? client_dstr(spec, "holderIdentity")
                    : "<unset>");
      client_dw(d, 1, "AcquireTime:\t%s\n",
                kube_json_get(spec, "acquireTime")
                    ? client_dtime(spec, "acquireTime", tb, sizeof tb)
                    : "<unset>");
      client_dw(d, 1, "RenewTime:\t%s\n",
                kube_json_get(spec, "renewTime")
                    ? client_dtime(spec, "renewTime", tb, sizeof tb)
                    : "<unset>");
      kube_object_free(lease);
    } else {
      client_dw(d, 0, "Lease:\tFailed to get lease: %s\n",
                err.message ? err.message : "unknown error");
    }
  }
  json_object *conds = kube_json_get(o, "status.conditions");
  if (arr_len(conds)) {
    client_dw(d, 0,
              "Conditions:\n  Type\tStatus\tLastHeartbeatTime\t"
              "LastTransitionTime\tReason\tMessage\n");
    client_dw(d, 1,
              "----\t------\t-----------------\t------------------\t"
              "------\t-------\n");
    for (size_t i = 0; i < arr_len(conds); i++) {
      json_object *c = AT(conds, i);
      client_dw(d, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", client_dstr(c, "type"),
                client_dstr(c, "status"),
                client_dtime(c, "lastHeartbeatTime", tb, sizeof tb),
                client_dtime(c, "lastTransitionTime", t2, sizeof t2),
                client_dstr(c, "reason"), client_dstr(c, "message"));
    }
  }
  client_dw(d, 0, "Addresses:\n");
  json_object *addrs = kube_json_get(o, "status.addresses");
  for (size_t i = 0; i < arr_len(addrs); i++)
    client_dw(d, 1, "%s:\t%s\n", client_dstr(AT(addrs, i), "type"),
              client_dstr(AT(addrs, i), "address"));
  resource_map(d, "Capacity", kube_json_get(o, "status.capacity"));
  resource_map(d, "Allocatable", kube_json_get(o, "status.allocatable"));
  static const char *const info[][2] = {
      {"Machine ID", "machineID"},
      {"System UUID", "systemUUID"},
      {"Boot ID", "bootID"},
      {"Kernel Version", "kernelVersion"},
      {"OS Image", "osImage"},
      {"Operating System", "operatingSystem"},
      {"Architecture", "architecture"},
      {"Container Runtime Version", "containerRuntimeVersion"},
      {"Kubelet Version", "kubeletVersion"},
      {"Kube-Proxy Version", "kubeProxyVersion"}};
  json_object *ni = kube_json_get(o, "status.nodeInfo");
  client_dw(d, 0, "System Info:\n");
  for (size_t i = 0; i < ARRAY_SIZE(info); i++)
    client_dw(d, 0, "  %s:\t%s\n", info[i][0], client_dstr(ni, info[i][1]));
  if (*client_dstr(o, "spec.podCIDR"))
    client_dw(d, 0, "PodCIDR:\t%s\n", client_dstr(o, "spec.podCIDR"));
  if (arr_len(kube_json_get(o, "spec.podCIDRs"))) {
    kube_strbuf_t c = KUBE_STRBUF_INIT;
    join_strings(&c, kube_json_get(o, "spec.podCIDRs"), ",");
    client_dw(d, 0, "PodCIDRs:\t%s\n", c.data ? c.data : "");
    kube_strbuf_clear(&c);
  }
  if (*client_dstr(o, "spec.providerID"))
    client_dw(d, 0, "ProviderID:\t%s\n", client_dstr(o, "spec.providerID"));
  if (d->c) {
    char fs[512];
    snprintf(fs, sizeof fs,
             "spec.nodeName=%s,status.phase!=Succeeded,status.phase!=Failed",
             name);
    kube_object_t *pods = client_describe_list(d, "v1", "Pod", NULL, NULL, fs);
    if (pods)
      node_resources(d, o, kube_json_get(kube_object_json(pods), "items"));
    else
      client_dw(d, 0, "Pods:\tnot authorized\n");
    kube_object_free(pods);
  }
  client_describe_events(d, o, "Node");
}

/* ---- Namespace ----------------------------------------------------------- */

static void resource_quotas(struct describe *d, json_object *items) {
  if (arr_len(items) == 0) {
    client_dw(d, 0, "No resource quota.\n");
    return;
  }
  client_dw(d, 0, "Resource Quotas\n");
  size_t n = arr_len(items);
  json_object **v = calloc(n, sizeof *v);
  for (size_t i = 0; v && i < n; i++)
    v[i] = AT(items, i);
  /* By name. */
  for (size_t i = 1; v && i < n; i++)
    for (size_t j = i; j > 0 && strcmp(client_dstr(v[j - 1], "metadata.name"),
                                       client_dstr(v[j], "metadata.name")) > 0;
         j--) {
      json_object *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  for (size_t i = 0; v && i < n; i++) {
    json_object *q = v[i], *hard = kube_json_get(q, "status.hard"),
                *used = kube_json_get(q, "status.used");
    client_dw(d, 1, "Name:\t%s\n", client_dstr(q, "metadata.name"));
    json_object *scopes = kube_json_get(q, "spec.scopes");
    if (arr_len(scopes)) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      join_strings(&sb, scopes, ", ");
      client_dw(d, 1, "Scopes:\t%s\n", sb.data ? sb.data : "");
      kube_strbuf_clear(&sb);
    }
    client_dw(d, 1, "Resource\tUsed\tHard\n");
    client_dw(d, 1, "--------\t---\t---\n");
    size_t nk;
    const char **keys = keys_of(hard, &nk);
    for (size_t k = 0; keys && k < nk; k++) {
      char a[64], b[64];
      json_object *u = used ? json_object_object_get(used, keys[k]) : NULL;
      client_dw(
          d, 1, "%s\t%s\t%s\n", keys[k],
          u ? client_dquantity(u, a, sizeof a) : "0",
          client_dquantity(json_object_object_get(hard, keys[k]), b, sizeof b));
    }
    free(keys);
  }
  free(v);
}

/* describeLimitRangeSpec: one row per limit type and resource. */
static void limit_range_rows(struct describe *d, json_object *lr,
                             const char *prefix) {
  static const char *const cols[] = {"min", "max", "defaultRequest", "default",
                                     "maxLimitRequestRatio"};
  {
    json_object *limits = kube_json_get(lr, "spec.limits");
    for (size_t l = 0; l < arr_len(limits); l++) {
      json_object *item = AT(limits, l);
      /* Every resource named in any column, sorted. */
      json_object *set = json_object_new_object();
      for (size_t c = 0; set && c < ARRAY_SIZE(cols); c++) {
        json_object *m = kube_json_get(item, cols[c]);
        if (json_object_is_type(m, json_type_object)) {
          json_object_object_foreach(m, k, v) {
            (void)v;
            json_object_object_add(set, k, NULL);
          }
        }
      }
      size_t nk;
      const char **keys = keys_of(set, &nk);
      for (size_t k = 0; keys && k < nk; k++) {
        char vals[5][64];
        for (size_t c = 0; c < ARRAY_SIZE(cols); c++) {
          json_object *m = kube_json_get(item, cols[c]), *q = NULL;
          if (json_object_is_type(m, json_type_object))
            json_object_object_get_ex(m, keys[k], &q);
          if (q)
            client_dquantity(q, vals[c], sizeof vals[c]);
          else
            snprintf(vals[c], sizeof vals[c], "-");
        }
        client_dw(d, 0, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", prefix,
                  client_dstr(item, "type"), keys[k], vals[0], vals[1], vals[2],
                  vals[3], vals[4]);
      }
      free(keys);
      json_object_put(set);
    }
  }
}

static void limit_ranges(struct describe *d, json_object *items) {
  if (arr_len(items) == 0) {
    client_dw(d, 0, "No LimitRange resource.\n");
    return;
  }
  client_dw(d, 0,
            "Resource Limits\n Type\tResource\tMin\tMax\tDefault "
            "Request\tDefault Limit\tMax Limit/Request Ratio\n");
  client_dw(d, 0,
            " ----\t--------\t---\t---\t---------------\t-------------"
            "\t-----------------------\n");
  for (size_t i = 0; i < arr_len(items); i++)
    limit_range_rows(d, AT(items, i), " ");
}

static void describe_limit_range(struct describe *d, json_object *o) {
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_dw(d, 0,
            "Type\tResource\tMin\tMax\tDefault Request\tDefault "
            "Limit\tMax Limit/Request Ratio\n");
  client_dw(d, 0,
            "----\t--------\t---\t---\t---------------\t-------------"
            "\t-----------------------\n");
  limit_range_rows(d, o, "");
}

static void describe_quota(struct describe *d, json_object *o) {
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  json_object *scopes = kube_json_get(o, "spec.scopes");
  if (arr_len(scopes)) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    join_strings(&sb, scopes, ", ");
    client_dw(d, 0, "Scopes:\t%s\n", sb.data ? sb.data : "");
    kube_strbuf_clear(&sb);
  }
  client_dw(d, 0, "Resource\tUsed\tHard\n");
  client_dw(d, 0, "--------\t----\t----\n");
  json_object *hard = kube_json_get(o, "status.hard"),
              *used = kube_json_get(o, "status.used");
  size_t nk;
  const char **keys = keys_of(hard, &nk);
  for (size_t k = 0; keys && k < nk; k++) {
    char a[64], b[64];
    json_object *u = used ? json_object_object_get(used, keys[k]) : NULL;
    client_dw(
        d, 0, "%s\t%s\t%s\n", keys[k],
        u ? client_dquantity(u, a, sizeof a) : "0",
        client_dquantity(json_object_object_get(hard, keys[k]), b, sizeof b));
  }
  free(keys);
}

/* ---- PersistentVolumeClaim ---------------------------------------------- */

struct claim_users {
  const char *claim;
  const char **names;
  size_t n;
};

static int pod_uses_claim(const kube_object_t *pod, void *ud) {
  struct claim_users *u = ud;
  json_object *p = kube_object_json(pod);
  json_object *vols = kube_json_get(p, "spec.volumes");
  for (size_t i = 0; i < arr_len(vols); i++) {
    json_object *v = AT(vols, i);
    const char *claim = client_dstr(v, "persistentVolumeClaim.claimName");
    char eph[512];
    /* A generic ephemeral volume's claim is "<pod>-<volume>". */
    snprintf(eph, sizeof eph, "%s-%s", client_dstr(p, "metadata.name"),
             client_dstr(v, "name"));
    if (streq(claim, u->claim) ||
        (kube_json_get(v, "ephemeral") && streq(eph, u->claim))) {
      const char **nn = realloc(u->names, (u->n + 1) * sizeof *nn);
      if (!nn)
        return 1;
      u->names = nn;
      u->names[u->n++] = client_dstr(p, "metadata.name");
      break;
    }
  }
  return 0;
}

static void describe_pvc(struct describe *d, json_object *o) {
  char tb[64], q[64];
  json_object *spec = kube_json_get(o, "spec"),
              *st = kube_json_get(o, "status");
  const char *sc = client_dstr(spec, "storageClassName");
  json_object *ann = kube_json_get(o, "metadata.annotations"), *beta = NULL;
  if (!kube_json_get(spec, "storageClassName") &&
      json_object_is_type(ann, json_type_object) &&
      json_object_object_get_ex(ann, "volume.beta.kubernetes.io/storage-class",
                                &beta))
    sc = json_object_get_string(beta);
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  client_dw(d, 0, "StorageClass:\t%s\n", sc);
  if (kube_json_get(o, "metadata.deletionTimestamp"))
    client_dw(d, 0, "Status:\tTerminating (lasts %s)\n",
              client_dage(d, o, "metadata.deletionTimestamp", tb, sizeof tb));
  else
    client_dw(d, 0, "Status:\t%s\n", client_dstr(st, "phase"));
  client_dw(d, 0, "Volume:\t%s\n", client_dstr(spec, "volumeName"));
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "[");
  join_strings(&sb, kube_json_get(o, "metadata.finalizers"), " ");
  kube_strbuf_append(&sb, "]");
  client_dw(d, 0, "Finalizers:\t%s\n", sb.data ? sb.data : "[]");
  kube_strbuf_reset(&sb);
  kube_strbuf_append(&sb, "");
  const char *cap = "";
  if (*client_dstr(spec, "volumeName")) {
    /* GetAccessModesAsString: the short names in a fixed order. */
    static const char *const modes[][2] = {{"ReadWriteOnce", "RWO"},
                                           {"ReadOnlyMany", "ROX"},
                                           {"ReadWriteMany", "RWX"},
                                           {"ReadWriteOncePod", "RWOP"}};
    json_object *am = kube_json_get(st, "accessModes");
    for (size_t m = 0; m < ARRAY_SIZE(modes); m++)
      for (size_t i = 0; i < arr_len(am); i++)
        if (streq(json_object_get_string(AT(am, i)), modes[m][0])) {
          kube_strbuf_printf(&sb, "%s%s", sb.len ? "," : "", modes[m][1]);
          break;
        }
    json_object *c = kube_json_get(st, "capacity.storage");
    cap = c ? client_dquantity(c, q, sizeof q) : "0";
  }
  client_dw(d, 0, "Capacity:\t%s\n", cap);
  client_dw(d, 0, "Access Modes:\t%s\n", sb.data ? sb.data : "");
  kube_strbuf_clear(&sb);
  if (kube_json_get(spec, "volumeMode"))
    client_dw(d, 0, "VolumeMode:\t%s\n", client_dstr(spec, "volumeMode"));
  json_object *ds = kube_json_get(spec, "dataSource");
  if (ds) {
    client_dw(d, 0, "DataSource:\n");
    if (kube_json_get(ds, "apiGroup"))
      client_dw(d, 1, "APIGroup:\t%s\n", client_dstr(ds, "apiGroup"));
    client_dw(d, 1, "Kind:\t%s\n", client_dstr(ds, "kind"));
    client_dw(d, 1, "Name:\t%s\n", client_dstr(ds, "name"));
  }
  /* Used By: the pods of the namespace that mount the claim, by name. */
  struct claim_users u = {client_dstr(o, "metadata.name"), NULL, 0};
  kube_object_t *pods = client_describe_list(
      d, "v1", "Pod", DS(o, "metadata.namespace"), NULL, NULL);
  if (pods)
    kube_list_foreach(pods, pod_uses_claim, &u);
  if (u.n > 1)
    qsort(u.names, u.n, sizeof *u.names, cmp_str);
  client_dw(d, 0, "Used By:\t%s\n", u.n ? u.names[0] : "<none>");
  for (size_t i = 1; i < u.n; i++)
    client_dw(d, 0, "\t%s\n", u.names[i]);
  free(u.names);
  kube_object_free(pods);
  json_object *conds = kube_json_get(st, "conditions");
  if (arr_len(conds)) {
    char t2[64];
    client_dw(d, 0, "Conditions:\n");
    client_dw(d, 1,
              "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\t"
              "Message\n");
    client_dw(d, 1,
              "----\t------\t-----------------\t------------------\t------"
              "\t-------\n");
    for (size_t i = 0; i < arr_len(conds); i++) {
      json_object *c = AT(conds, i);
      client_dw(d, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", client_dstr(c, "type"),
                client_dstr(c, "status"),
                client_dtime(c, "lastProbeTime", tb, sizeof tb),
                client_dtime(c, "lastTransitionTime", t2, sizeof t2),
                client_dstr(c, "reason"), client_dstr(c, "message"));
    }
  }
  client_describe_events(d, o, "PersistentVolumeClaim");
}

static void describe_namespace(struct describe *d, json_object *o) {
  const char *name = client_dstr(o, "metadata.name");
  client_dw(d, 0, "Name:\t%s\n", name);
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  client_dw(d, 0, "Status:\t%s\n", client_dstr(o, "status.phase"));
  json_object *conds = kube_json_get(o, "status.conditions");
  if (arr_len(conds)) {
    char tb[64];
    client_dw(d, 0, "Conditions:\n");
    client_dw(d, 1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n");
    client_dw(d, 1, "----\t------\t------------------\t------\t-------\n");
    for (size_t i = 0; i < arr_len(conds); i++) {
      json_object *c = AT(conds, i);
      client_dw(d, 1, "%s\t%s\t%s\t%s\t%s\n", client_dstr(c, "type"),
                client_dstr(c, "status"),
                client_dtime(c, "lastTransitionTime", tb, sizeof tb),
                client_dstr(c, "reason"), client_dstr(c, "message"));
    }
  }
  /* Quotas and limit ranges show when the server serves them. */
  kube_object_t *q =
      client_describe_list(d, "v1", "ResourceQuota", name, NULL, NULL);
  kube_object_t *l =
      client_describe_list(d, "v1", "LimitRange", name, NULL, NULL);
  if (q) {
    client_dw(d, 0, "\n");
    resource_quotas(d, kube_json_get(kube_object_json(q), "items"));
  }
  if (l) {
    client_dw(d, 0, "\n");
    limit_ranges(d, kube_json_get(kube_object_json(l), "items"));
  }
  kube_object_free(q);
  kube_object_free(l);
}

/* ---- ConfigMap, Secret, ServiceAccount ----------------------------------- */

static void describe_config_map(struct describe *d, json_object *o) {
  name_ns_meta(d, o);
  client_dw(d, 0, "\nData\n====\n");
  size_t n;
  json_object *data = kube_json_get(o, "data");
  const char **keys = keys_of(data, &n);
  for (size_t i = 0; keys && i < n; i++) {
    client_dw(d, 0, "%s:\n----\n", keys[i]);
    client_dw(d, 0, "%s\n\n",
              json_object_get_string(json_object_object_get(data, keys[i])));
  }
  free(keys);
  client_dw(d, 0, "\nBinaryData\n====\n");
  json_object *bin = kube_json_get(o, "binaryData");
  keys = keys_of(bin, &n);
  for (size_t i = 0; keys && i < n; i++) {
    const char *b64 =
        json_object_get_string(json_object_object_get(bin, keys[i]));
    size_t len = 0;
    unsigned char *raw =
        kube_base64_decode(b64 ? b64 : "", b64 ? strlen(b64) : 0, &len, NULL);
    client_dw(d, 0, "%s: %zu bytes\n", keys[i], raw ? len : 0);
    free(raw);
  }
  free(keys);
  client_dw(d, 0, "\n");
  client_describe_events(d, o, "ConfigMap");
}

static void describe_secret(struct describe *d, json_object *o) {
  name_ns_meta(d, o);
  const char *type = client_dstr(o, "type");
  client_dw(d, 0, "\nType:\t%s\n", type);
  client_dw(d, 0, "\nData\n====\n");
  size_t n;
  json_object *data = kube_json_get(o, "data");
  const char **keys = keys_of(data, &n);
  for (size_t i = 0; keys && i < n; i++) {
    const char *b64 =
        json_object_get_string(json_object_object_get(data, keys[i]));
    size_t len = 0;
    char *raw = (char *)kube_base64_decode(b64 ? b64 : "",
                                           b64 ? strlen(b64) : 0, &len, NULL);
    /* A service account token is shown; everything else by size only. */
    if (streq(keys[i], "token") &&
        streq(type, "kubernetes.io/service-account-token"))
      client_dw(d, 0, "%s:\t%.*s\n", keys[i], (int)len, raw ? raw : "");
    else
      client_dw(d, 0, "%s:\t%zu bytes\n", keys[i], raw ? len : 0);
    free(raw);
  }
  free(keys);
}

struct secret_names {
  kube_strbuf_t names; /* existing secret names, "\n"-separated */
  json_object *sa;
  json_object *tokens; /* array of names */
};

static int collect_secret(const kube_object_t *s, void *ud) {
  struct secret_names *sn = ud;
  json_object *o = kube_object_json(s);
  kube_strbuf_printf(&sn->names, "\n%s\n", client_dstr(o, "metadata.name"));
  json_object *ann = kube_json_get(o, "metadata.annotations"), *v;
  if (streq(client_dstr(o, "type"), "kubernetes.io/service-account-token") &&
      json_object_is_type(ann, json_type_object) &&
      json_object_object_get_ex(ann, "kubernetes.io/service-account.name",
                                &v) &&
      streq(json_object_get_string(v), client_dstr(sn->sa, "metadata.name")) &&
      json_object_object_get_ex(ann, "kubernetes.io/service-account.uid", &v) &&
      streq(json_object_get_string(v), client_dstr(sn->sa, "metadata.uid")))
    json_object_array_add(
        sn->tokens, json_object_new_string(client_dstr(o, "metadata.name")));
  return 0;
}

static void describe_service_account(struct describe *d, json_object *o) {
  name_ns_meta(d, o);
  struct secret_names sn = {KUBE_STRBUF_INIT, o, json_object_new_array()};
  kube_object_t *secrets = client_describe_list(
      d, "v1", "Secret", DS(o, "metadata.namespace"), NULL, NULL);
  kube_strbuf_append(&sn.names, "");
  if (secrets && sn.tokens)
    kube_list_foreach(secrets, collect_secret, &sn);
  /* Headers in sorted order, as kubectl prints them. */
  static const char *const headers[] = {
      "Image pull secrets:", "Mountable secrets: ", "Tokens:            "};
  json_object *lists[] = {kube_json_get(o, "imagePullSecrets"),
                          kube_json_get(o, "secrets"), sn.tokens};
  for (size_t h = 0; h < 3; h++) {
    size_t n = arr_len(lists[h]);
    if (n == 0) {
      client_dw(d, 0, "%s\t<none>\n", headers[h]);
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      json_object *e = AT(lists[h], i);
      const char *name =
          h == 2 ? json_object_get_string(e) : client_dstr(e, "name");
      char needle[300];
      snprintf(needle, sizeof needle, "\n%s\n", name);
      bool missing = h < 2 && secrets && !strstr(sn.names.data, needle);
      client_dw(d, 0, "%s\t%s%s\n", i ? "                   " : headers[h],
                name, missing ? " (not found)" : "");
    }
  }
  kube_strbuf_clear(&sn.names);
  json_object_put(sn.tokens);
  kube_object_free(secrets);
  client_describe_events(d, o, "ServiceAccount");
}

/* ---- generic ------------------------------------------------------------- */

/* smartLabelFor: "apiVersion" -> "API Version", "podCIDR" -> "Pod CIDR";
 * fields with characters other than letters and '-' stay as they are. */
static void smart_label(kube_strbuf_t *sb, const char *field) {
  for (const char *p = field; *p; p++)
    if (!isalpha((unsigned char)*p) && *p != '-') {
      kube_strbuf_append(sb, field);
      return;
    }
  /* fatih/camelcase.Split: runs of lower, upper, other; an upper run
   * followed by lower case gives its last letter to the next word. */
  size_t n = strlen(field);
  char parts[64][64];
  size_t np = 0;
  int last = 0;
  for (size_t i = 0; i < n && np <= 64; i++) {
    char c = field[i];
    int cls = islower((unsigned char)c) ? 1 : isupper((unsigned char)c) ? 2 : 4;
    if (cls != last || np == 0) {
      if (np == 64)
        break;
      parts[np++][0] = '\0';
    }
    size_t l = strlen(parts[np - 1]);
    if (l + 1 < sizeof parts[0]) {
      parts[np - 1][l] = c;
      parts[np - 1][l + 1] = '\0';
    }
    last = cls;
  }
  for (size_t i = 0; i + 1 < np; i++) {
    size_t l = strlen(parts[i]), l2 = strlen(parts[i + 1]);
    if (l && isupper((unsigned char)parts[i][0]) &&
        islower((unsigned char)parts[i + 1][0]) && l2 + 1 < sizeof parts[0]) {
      memmove(parts[i + 1] + 1, parts[i + 1], l2 + 1);
      parts[i + 1][0] = parts[i][l - 1];
      parts[i][l - 1] = '\0';
    }
  }
  static const char *const acronyms[] = {"API", "URL", "UID", "OSB", "GUID"};
  bool first = true;
  for (size_t i = 0; i < np; i++) {
    if (!parts[i][0] || streq(parts[i], "_"))
      continue;
    char up[64];
    size_t l = strlen(parts[i]);
    for (size_t j = 0; j <= l; j++)
      up[j] = (char)toupper((unsigned char)parts[i][j]);
    bool acr = false;
    for (size_t a = 0; a < ARRAY_SIZE(acronyms); a++)
      acr = acr || streq(up, acronyms[a]);
    kube_strbuf_append(sb, first ? "" : " ");
    first = false;
    if (acr) {
      kube_strbuf_append(sb, up);
    } else {
      kube_strbuf_append_char(sb, (char)toupper((unsigned char)parts[i][0]));
      kube_strbuf_append(sb, parts[i] + 1);
    }
  }
}

static const char *const generic_skip[] = {
    ".metadata.managedFields", ".metadata.name", ".metadata.namespace",
    ".metadata.labels", ".metadata.annotations"};

static bool skipped(const char *expr) {
  for (size_t i = 0; i < ARRAY_SIZE(generic_skip); i++)
    if (streq(expr, generic_skip[i]))
      return true;
  return false;
}

/* Go's %v of a decoded JSON value. */
static const char *scalar_text(json_object *v) {
  if (!v)
    return "<nil>";
  return json_object_get_string(v);
}

/* printUnstructuredContent: fields sorted; maps and lists nest one level
 * deeper; list elements that are maps print their fields directly. */
static void unstructured(struct describe *d, int level, json_object *m,
                         const char *prefix) {
  size_t n;
  const char **keys = keys_of(m, &n);
  for (size_t i = 0; keys && i < n; i++) {
    json_object *v = json_object_object_get(m, keys[i]);
    char expr[512];
    snprintf(expr, sizeof expr, "%s.%s", prefix, keys[i]);
    if (skipped(expr))
      continue;
    kube_strbuf_t label = KUBE_STRBUF_INIT;
    smart_label(&label, keys[i]);
    const char *l = label.data ? label.data : keys[i];
    if (json_object_is_type(v, json_type_object)) {
      client_dw(d, level, "%s:\n", l);
      unstructured(d, level + 1, v, expr);
    } else if (json_object_is_type(v, json_type_array)) {
      client_dw(d, level, "%s:\n", l);
      for (size_t j = 0; j < json_object_array_length(v); j++) {
        json_object *e = json_object_array_get_idx(v, j);
        if (json_object_is_type(e, json_type_object))
          unstructured(d, level + 1, e, expr);
        else
          client_dw(d, level + 1, "%s\n", scalar_text(e));
      }
    } else {
      client_dw(d, level, "%s:\t%s\n", l, scalar_text(v));
    }
    kube_strbuf_clear(&label);
  }
  free(keys);
}

void client_describe_generic(struct describe *d, const kube_kind_t *k,
                             json_object *o) {
  /* Items of a list lack apiVersion and kind; kubectl GETs each object
   * and prints them. */
  json_object *copy = NULL;
  if (k && (!kube_json_get(o, "apiVersion") || !kube_json_get(o, "kind")) &&
      json_object_deep_copy(o, &copy, NULL) == 0) {
    char av[64];
    json_object_object_add(
        copy, "apiVersion",
        json_object_new_string(kube_kind_api_version(k, av, sizeof av)));
    json_object_object_add(copy, "kind", json_object_new_string(k->kind));
    o = copy;
  }
  name_ns_meta(d, o);
  unstructured(d, 0, o, "");
  client_describe_events(d, o, client_dstr(o, "kind"));
  json_object_put(copy);
}

static const struct client_describer core_describers[] = {
    {"", "Pod", client_describe_pod},
    {"", "Service", describe_service},
    {"", "Endpoints", describe_endpoints},
    {"", "Node", describe_node},
    {"", "Namespace", describe_namespace},
    {"", "ConfigMap", describe_config_map},
    {"", "Secret", describe_secret},
    {"", "ServiceAccount", describe_service_account},
    {"", "ResourceQuota", describe_quota},
    {"", "LimitRange", describe_limit_range},
    {"", "PersistentVolumeClaim", describe_pvc},
    {NULL, NULL, NULL},
};

bool client_describe_with(const struct client_describer *table,
                          struct describe *d, const kube_kind_t *k,
                          json_object *o) {
  const char *group = k->group ? k->group : "";
  for (const struct client_describer *e = table; e->kind; e++) {
    if (streq(e->kind, k->kind) && streq(e->group, group)) {
      e->fn(d, o);
      return true;
    }
  }
  return false;
}

bool client_describe_kind(struct describe *d, const kube_kind_t *k,
                          json_object *o) {
  return client_describe_with(core_describers, d, k, o) ||
         client_describe_with(client_workload_describers, d, k, o) ||
         client_describe_with(client_net_describers, d, k, o);
}
