/* SPDX-License-Identifier: Apache-2.0 */
/* The files the kubelet manages in each pod: /etc/hosts, /etc/hostname
 * and /etc/resolv.conf (dnsPolicy, dnsConfig, hostAliases). */
#include "node/agent.h"

char *nd_pod_hostname(const kube_object_t *pod) {
  const char *h = kube_object_get_string(pod, "spec.hostname");
  if (!h || !*h)
    h = kube_object_name(pod);
  char buf[64];
  snprintf(buf, sizeof buf, "%s", h ? h : "pod");
  /* truncated to 63 like the kubelet, without a trailing '-' or '.' */
  size_t n = strlen(buf);
  while (n > 1 && (buf[n - 1] == '-' || buf[n - 1] == '.'))
    buf[--n] = '\0';
  return strdup(buf);
}

static void host_aliases(kube_strbuf_t *sb, json_object *spec) {
  json_object *ha = kube_json_get(spec, "hostAliases");
  if (!ha || !json_object_is_type(ha, json_type_array) ||
      json_object_array_length(ha) == 0)
    return;
  kube_strbuf_printf(sb, "\n# Entries added by HostAliases.\n");
  for (size_t i = 0; i < json_object_array_length(ha); i++) {
    json_object *e = json_object_array_get_idx(ha, i);
    const char *ip = kube_json_get_string(e, "ip");
    json_object *names = kube_json_get(e, "hostnames");
    if (!ip || !names || !json_object_is_type(names, json_type_array))
      continue;
    kube_strbuf_printf(sb, "%s", ip);
    for (size_t k = 0; k < json_object_array_length(names); k++)
      kube_strbuf_printf(
          sb, "\t%s",
          json_object_get_string(json_object_array_get_idx(names, k)));
    kube_strbuf_printf(sb, "\n");
  }
}

char *nd_hosts_file(kube_node_agent_t *a, const kube_object_t *pod,
                    const char *pod_ip, bool host_network) {
  json_object *spec = nd_spec(pod);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (host_network) {
    kube_strbuf_printf(&sb,
                       "# Kubernetes-managed hosts file (host network).\n");
    cleanup_free char *host = core_read_file("/etc/hosts", NULL);
    if (host)
      kube_strbuf_printf(&sb, "%s", host);
  } else {
    kube_strbuf_printf(&sb, "# Kubernetes-managed hosts file.\n"
                            "127.0.0.1\tlocalhost\n"
                            "::1\tlocalhost ip6-localhost ip6-loopback\n"
                            "fe00::0\tip6-localnet\n"
                            "fe00::0\tip6-mcastprefix\n"
                            "fe00::1\tip6-allnodes\n"
                            "fe00::2\tip6-allrouters\n");
    cleanup_free char *hostname = nd_pod_hostname(pod);
    const char *sub = kube_json_get_string(spec, "subdomain");
    if (pod_ip && hostname) {
      if (sub && *sub)
        kube_strbuf_printf(&sb, "%s\t%s.%s.%s.svc.%s\t%s\n", pod_ip, hostname,
                           sub, kube_object_namespace(pod) ?: "default",
                           a->cfg.cluster_domain, hostname);
      else
        kube_strbuf_printf(&sb, "%s\t%s\n", pod_ip, hostname);
    }
  }
  host_aliases(&sb, spec);
  return kube_strbuf_steal(&sb);
}

struct resolv {
  char *ns[8];
  size_t n_ns;
  char *search[40];
  size_t n_search;
  char *opts[16];
  size_t n_opts;
};

static void resolv_clear(struct resolv *r) {
  for (size_t i = 0; i < r->n_ns; i++)
    free(r->ns[i]);
  for (size_t i = 0; i < r->n_search; i++)
    free(r->search[i]);
  for (size_t i = 0; i < r->n_opts; i++)
    free(r->opts[i]);
  memset(r, 0, sizeof *r);
}

static void add_unique(char **v, size_t *n, size_t max, const char *s) {
  for (size_t i = 0; i < *n; i++)
    if (streq(v[i], s))
      return;
  if (*n < max && (v[*n] = strdup(s)))
    (*n)++;
}

/* An option replaces one of the same name ("ndots:2" replaces
 * "ndots:5"), as the kubelet merges dnsConfig options. */
static void add_option(struct resolv *r, const char *opt) {
  size_t klen = strcspn(opt, ":");
  for (size_t i = 0; i < r->n_opts; i++)
    if (strncmp(r->opts[i], opt, klen) == 0 &&
        (r->opts[i][klen] == ':' || r->opts[i][klen] == '\0')) {
      char *s = strdup(opt);
      if (s) {
        free(r->opts[i]);
        r->opts[i] = s;
      }
      return;
    }
  add_unique(r->opts, &r->n_opts, ARRAY_SIZE(r->opts), opt);
}

static void parse_host(const char *path, struct resolv *r, bool servers,
                       bool search, bool options) {
  cleanup_free char *text = core_read_file(path, NULL);
  if (!text)
    return;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    char *save = NULL, *w = strtok_r(l, " \t", &save);
    if (!w || w[0] == '#' || w[0] == ';')
      continue;
    bool is_ns = streq(w, "nameserver"),
         is_search = streq(w, "search") || streq(w, "domain");
    bool is_opt = streq(w, "options");
    while ((w = strtok_r(NULL, " \t", &save))) {
      if (is_ns && servers)
        add_unique(r->ns, &r->n_ns, ARRAY_SIZE(r->ns), w);
      else if (is_search && search)
        add_unique(r->search, &r->n_search, ARRAY_SIZE(r->search), w);
      else if (is_opt && options)
        add_option(r, w);
    }
  }
}

char *nd_resolv_conf(kube_node_agent_t *a, const kube_object_t *pod,
                     kube_error_t *err) {
  json_object *spec = nd_spec(pod);
  const char *policy = kube_json_get_string(spec, "dnsPolicy");
  bool host_net = nd_spec_bool(spec, "hostNetwork");
  if (!policy)
    policy = "ClusterFirst";
  bool cluster = streq(policy, "ClusterFirstWithHostNet") ||
                 (streq(policy, "ClusterFirst") && !host_net);
  struct resolv r = {0};
  if (cluster) {
    char *dns = strdup(a->cfg.cluster_dns);
    for (char *s = dns ? strtok(dns, ",") : NULL; s; s = strtok(NULL, ","))
      add_unique(r.ns, &r.n_ns, ARRAY_SIZE(r.ns), s);
    free(dns);
    char buf[600];
    const char *ns = kube_object_namespace(pod) ?: "default";
    snprintf(buf, sizeof buf, "%s.svc.%s", ns, a->cfg.cluster_domain);
    add_unique(r.search, &r.n_search, ARRAY_SIZE(r.search), buf);
    snprintf(buf, sizeof buf, "svc.%s", a->cfg.cluster_domain);
    add_unique(r.search, &r.n_search, ARRAY_SIZE(r.search), buf);
    add_unique(r.search, &r.n_search, ARRAY_SIZE(r.search),
               a->cfg.cluster_domain);
    parse_host(a->cfg.resolv_conf, &r, false, true, false);
    add_option(&r, "ndots:5");
  } else if (!streq(policy, "None")) {
    parse_host(a->cfg.resolv_conf, &r, true, true, true);
  }
  json_object *dc = kube_json_get(spec, "dnsConfig");
  json_object *v;
  if (dc && (v = kube_json_get(dc, "nameservers")))
    for (size_t i = 0; i < json_object_array_length(v); i++)
      add_unique(r.ns, &r.n_ns, ARRAY_SIZE(r.ns),
                 json_object_get_string(json_object_array_get_idx(v, i)));
  if (dc && (v = kube_json_get(dc, "searches")))
    for (size_t i = 0; i < json_object_array_length(v); i++)
      add_unique(r.search, &r.n_search, ARRAY_SIZE(r.search),
                 json_object_get_string(json_object_array_get_idx(v, i)));
  if (dc && (v = kube_json_get(dc, "options")))
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *o = json_object_array_get_idx(v, i);
      const char *name = kube_json_get_string(o, "name");
      const char *val = kube_json_get_string(o, "value");
      if (!name)
        continue;
      char buf[300];
      snprintf(buf, sizeof buf, "%s%s%s", name, val ? ":" : "", val ? val : "");
      add_option(&r, buf);
    }
  if (streq(policy, "None") && r.n_ns == 0) {
    resolv_clear(&r);
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "dnsPolicy None needs dnsConfig.nameservers");
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (r.n_search) {
    kube_strbuf_printf(&sb, "search");
    for (size_t i = 0; i < r.n_search; i++)
      kube_strbuf_printf(&sb, " %s", r.search[i]);
    kube_strbuf_printf(&sb, "\n");
  }
  /* at most three name servers, as the resolver reads them */
  for (size_t i = 0; i < r.n_ns && i < 3; i++)
    kube_strbuf_printf(&sb, "nameserver %s\n", r.ns[i]);
  if (r.n_opts) {
    kube_strbuf_printf(&sb, "options");
    for (size_t i = 0; i < r.n_opts; i++)
      kube_strbuf_printf(&sb, " %s", r.opts[i]);
    kube_strbuf_printf(&sb, "\n");
  }
  resolv_clear(&r);
  char *s = kube_strbuf_steal(&sb);
  if (!s)
    kube_make_oom(err);
  return s;
}
