/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `describe` of networking.k8s.io/v1 NetworkPolicy, line by line as
 * kubectl 1.32's describeNetworkPolicy: the pod selector, for each
 * direction the policy affects its rules (ports, then peers; rules apart
 * by a dashed line), or that it does not affect the direction, and the
 * policy types.
 */
#include "client/describe.h"
#include "core/util.h"

static size_t arr_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

/* strings.Join of a JSON array of strings into sb (cleared first). */
static const char *join(kube_strbuf_t *sb, json_object *arr, const char *sep) {
  kube_strbuf_clear(sb);
  kube_strbuf_append(sb, "");
  for (size_t i = 0; i < arr_len(arr); i++)
    kube_strbuf_printf(sb, "%s%s", i ? sep : "",
                       json_object_get_string(json_object_array_get_idx(arr, i)));
  return sb->data ? sb->data : "";
}

/* metav1.FormatLabelSelector: "<none>" for an empty selector. */
static void write_selector(struct describe *d, int level, const char *title,
                           json_object *sel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  kube_json_format_label_selector(&sb, sel);
  client_dw(d, level, "    %s: %s\n", title, sb.len ? sb.data : "<none>");
  kube_strbuf_clear(&sb);
}

static void write_rules(struct describe *d, json_object *rules, bool egress) {
  const char *dir = egress ? "egress" : "ingress";
  const char *peers_key = egress ? "to" : "from";
  const char *peer_word = egress ? "To" : "From";
  if (arr_len(rules) == 0) {
    client_dw(d, 0,
              "    <none> (Selected pods are isolated for %s connectivity)\n",
              dir);
    return;
  }
  char buf[32];
  for (size_t i = 0; i < arr_len(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    json_object *ports = kube_json_get(r, "ports");
    if (arr_len(ports) == 0)
      client_dw(d, 0, "    To Port: <any> (traffic allowed to all ports)\n");
    for (size_t k = 0; k < arr_len(ports); k++) {
      json_object *p = json_object_array_get_idx(ports, k);
      const char *proto = DS(p, "protocol");
      json_object *port = kube_json_get(p, "port");
      /* Go's %s of a nil *IntOrString */
      const char *ps = port ? client_dintstr(port, buf, sizeof buf) : "<nil>";
      json_object *end = kube_json_get(p, "endPort");
      if (end)
        client_dw(d, 0, "    To Port Range: %s-%lld/%s\n", ps,
                  (long long)json_object_get_int64(end), proto ? proto : "TCP");
      else
        client_dw(d, 0, "    To Port: %s/%s\n", ps, proto ? proto : "TCP");
    }
    json_object *peers = kube_json_get(r, peers_key);
    if (arr_len(peers) == 0)
      client_dw(d, 0, "    %s: <any> (traffic not restricted by %s)\n",
                peer_word, egress ? "destination" : "source");
    for (size_t k = 0; k < arr_len(peers); k++) {
      json_object *peer = json_object_array_get_idx(peers, k);
      json_object *pod = kube_json_get(peer, "podSelector");
      json_object *ns = kube_json_get(peer, "namespaceSelector");
      json_object *ipb = kube_json_get(peer, "ipBlock");
      client_dw(d, 0, "    %s:\n", peer_word);
      if (ns)
        write_selector(d, 1, "NamespaceSelector", ns);
      if (pod)
        write_selector(d, 1, "PodSelector", pod);
      if (!ns && !pod && ipb) {
        client_dw(d, 1, "    IPBlock:\n");
        client_dw(d, 2, "    CIDR: %s\n", client_dstr(ipb, "cidr"));
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        client_dw(d, 2, "    Except: %s\n",
                  join(&sb, kube_json_get(ipb, "except"), ", "));
        kube_strbuf_clear(&sb);
      }
    }
    if (i + 1 != arr_len(rules))
      client_dw(d, 0, "    ----------\n");
  }
}

/* getPolicyType: the types as listed, else Ingress (and Egress when there
 * are egress rules). */
static void policy_types(json_object *spec, bool *in, bool *out) {
  json_object *t = kube_json_get(spec, "policyTypes");
  *in = *out = false;
  for (size_t i = 0; i < arr_len(t); i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(t, i));
    *in = *in || (s && streq(s, "Ingress"));
    *out = *out || (s && streq(s, "Egress"));
  }
  if (arr_len(t) == 0) {
    *in = true;
    *out = arr_len(kube_json_get(spec, "egress")) > 0;
  }
}

static void describe_network_policy(struct describe *d, json_object *o) {
  json_object *spec = kube_json_get(o, "spec");
  client_dw(d, 0, "Name:\t%s\n", client_dstr(o, "metadata.name"));
  client_dw(d, 0, "Namespace:\t%s\n", client_dstr(o, "metadata.namespace"));
  /* metav1.Time's %s: time.Time.String() in local time */
  char created[64] = "0001-01-01 00:00:00 +0000 UTC";
  const char *ts = DS(o, "metadata.creationTimestamp");
  struct tm tm = {0};
  if (ts && strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
    time_t t = timegm(&tm);
    struct tm lt;
    localtime_r(&t, &lt);
    strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S %z %Z", &lt);
  }
  client_dw(d, 0, "Created on:\t%s\n", created);
  client_describe_labels(d, "", "Labels", kube_json_get(o, "metadata.labels"));
  client_describe_annotations(d, "Annotations",
                              kube_json_get(o, "metadata.annotations"));
  client_dw(d, 0, "Spec:\n");
  json_object *ps = kube_json_get(spec, "podSelector");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  kube_json_format_label_selector(&sb, ps);
  client_dw(d, 1, "PodSelector: ");
  if (sb.len)
    client_dw(d, 2, "%s\n", sb.data);
  else
    client_dw(d, 2, "<none> (Allowing the specific traffic to all pods in "
                    "this namespace)\n");
  kube_strbuf_clear(&sb);
  bool in, out;
  policy_types(spec, &in, &out);
  if (in) {
    client_dw(d, 1, "Allowing ingress traffic:\n");
    write_rules(d, kube_json_get(spec, "ingress"), false);
  } else {
    client_dw(d, 1, "Not affecting ingress traffic\n");
  }
  if (out) {
    client_dw(d, 1, "Allowing egress traffic:\n");
    write_rules(d, kube_json_get(spec, "egress"), true);
  } else {
    client_dw(d, 1, "Not affecting egress traffic\n");
  }
  /* policyTypesToString */
  client_dw(d, 1, "Policy Types: %s\n",
            join(&sb, kube_json_get(spec, "policyTypes"), ", "));
  kube_strbuf_clear(&sb);
}

const struct client_describer client_net_describers[] = {
    {"networking.k8s.io", "NetworkPolicy", describe_network_policy},
    {NULL, NULL, NULL},
};
