/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's environment, as the kubelet's makeEnvironmentVariables
 * builds it: service link variables, envFrom (configMaps and secrets,
 * with prefixes; invalid names skipped and reported), env with value
 * ($(VAR) expansion) and valueFrom (configMapKeyRef, secretKeyRef,
 * fieldRef, resourceFieldRef).
 */
#include <ctype.h>

#include <libkube/kit.h>

#include "node/agent.h"

void nd_env_clear(struct nd_env *e) {
  for (size_t i = 0; i < e->n; i++) {
    free(e->names[i]);
    free(e->values[i]);
  }
  free(e->names);
  free(e->values);
  memset(e, 0, sizeof *e);
}

static ssize_t env_find(const struct nd_env *e, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (streq(e->names[i], name))
      return (ssize_t)i;
  return -1;
}

int nd_env_set(struct nd_env *e, const char *name, const char *value) {
  char *v = strdup(value ? value : "");
  if (!v)
    return -1;
  ssize_t i = env_find(e, name);
  if (i >= 0) {
    free(e->values[i]);
    e->values[i] = v;
    return 0;
  }
  char **nn = realloc(e->names, (e->n + 1) * sizeof *nn);
  if (nn)
    e->names = nn;
  char **vv = realloc(e->values, (e->n + 1) * sizeof *vv);
  if (vv)
    e->values = vv;
  char *n = strdup(name);
  if (!nn || !vv || !n) {
    free(v);
    free(n);
    return -1;
  }
  e->names[e->n] = n;
  e->values[e->n++] = v;
  return 0;
}

char *nd_env_expand(const char *s, const struct nd_env *env) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (const char *p = s; *p;) {
    if (p[0] != '$' || !p[1]) {
      kube_strbuf_printf(&sb, "%c", *p++);
      continue;
    }
    if (p[1] == '$') { /* $$ is an escaped $ */
      kube_strbuf_printf(&sb, "$");
      p += 2;
      continue;
    }
    const char *close = p[1] == '(' ? strchr(p + 2, ')') : NULL;
    if (!close) {
      kube_strbuf_printf(&sb, "%c", *p++);
      continue;
    }
    char name[512];
    size_t len = (size_t)(close - p - 2);
    ssize_t i = -1;
    if (len < sizeof name) {
      memcpy(name, p + 2, len);
      name[len] = '\0';
      i = env_find(env, name);
    }
    if (i >= 0)
      kube_strbuf_printf(&sb, "%s", env->values[i]);
    else /* undefined references stay as they are */
      kube_strbuf_printf(&sb, "%.*s", (int)(close - p + 1), p);
    p = close + 1;
  }
  return kube_strbuf_steal(&sb);
}

/* ---- service links ------------------------------------------------------ */

static void svc_name(char *out, size_t len, const char *s) {
  size_t k = 0;
  for (; *s && k + 1 < len; s++)
    out[k++] = *s == '-' || *s == '.' ? '_' : (char)toupper((unsigned char)*s);
  out[k] = '\0';
}

struct svc_vars {
  struct nd_env *env;
  const char *ns;
  bool links;
};

static void service_vars(const char *key, const kube_object_t *obj, void *arg) {
  struct svc_vars *sv = arg;
  const char *ns = kube_object_namespace(obj);
  const char *name = kube_object_name(obj);
  bool master = ns && streq(ns, "default") && name && streq(name, "kubernetes");
  if (!ns || !name || (!master && (!sv->links || !streq(ns, sv->ns))))
    return;
  json_object *svc = kube_object_json(obj);
  const char *ip = kube_json_get_string(svc, "spec.clusterIP");
  if (!ip || !*ip || streq(ip, "None"))
    return;
  json_object *ports = kube_json_get(svc, "spec.ports");
  if (!ports || json_object_array_length(ports) == 0)
    return;
  char up[300], k[600], v[600];
  svc_name(up, sizeof up, name);
  snprintf(k, sizeof k, "%s_SERVICE_HOST", up);
  nd_env_set(sv->env, k, ip);
  for (size_t i = 0; i < json_object_array_length(ports); i++) {
    json_object *p = json_object_array_get_idx(ports, i);
    json_object *pv = kube_json_get(p, "port");
    if (!pv)
      continue;
    int port = json_object_get_int(pv);
    const char *pname = kube_json_get_string(p, "name");
    const char *proto = kube_json_get_string(p, "protocol");
    char lproto[16];
    snprintf(lproto, sizeof lproto, "%s", proto ? proto : "TCP");
    for (char *c = lproto; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    char uproto[16];
    svc_name(uproto, sizeof uproto, lproto);
    snprintf(v, sizeof v, "%d", port);
    if (i == 0) {
      snprintf(k, sizeof k, "%s_SERVICE_PORT", up);
      nd_env_set(sv->env, k, v);
      char url[300];
      snprintf(url, sizeof url, "%s://%s:%d", lproto, ip, port);
      snprintf(k, sizeof k, "%s_PORT", up);
      nd_env_set(sv->env, k, url);
    }
    if (pname && *pname) {
      char upn[300];
      svc_name(upn, sizeof upn, pname);
      snprintf(k, sizeof k, "%s_SERVICE_PORT_%s", up, upn);
      nd_env_set(sv->env, k, v);
    }
    char base[400], url[300];
    snprintf(base, sizeof base, "%s_PORT_%d_%s", up, port, uproto);
    snprintf(url, sizeof url, "%s://%s:%d", lproto, ip, port);
    nd_env_set(sv->env, base, url);
    snprintf(k, sizeof k, "%s_PROTO", base);
    nd_env_set(sv->env, k, lproto);
    snprintf(k, sizeof k, "%s_PORT", base);
    nd_env_set(sv->env, k, v);
    snprintf(k, sizeof k, "%s_ADDR", base);
    nd_env_set(sv->env, k, ip);
  }
}

static int by_name(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

int nd_service_env(kube_node_agent_t *a, const char *ns, bool links,
                   struct nd_env *out) {
  struct nd_env tmp = {0};
  struct svc_vars sv = {&tmp, ns, links};
  if (a->services)
    kube_informer_foreach(a->services, service_vars, &sv);
  /* sorted, so a container's environment does not depend on cache order */
  char **idx = calloc(tmp.n + 1, sizeof *idx);
  for (size_t i = 0; idx && i < tmp.n; i++)
    idx[i] = tmp.names[i];
  if (idx)
    qsort(idx, tmp.n, sizeof *idx, by_name);
  for (size_t i = 0; idx && i < tmp.n; i++)
    nd_env_set(out, idx[i], tmp.values[env_find(&tmp, idx[i])]);
  free(idx);
  nd_env_clear(&tmp);
  return 0;
}

/* ---- sources ------------------------------------------------------------ */

static const kube_object_t *source(kube_node_agent_t *a, struct nd_pod *p,
                                   bool secret, const char *name) {
  nd_pod_ref(p, secret ? "secret" : "configmap", name);
  return nd_source_get(a, secret, p->ns, name);
}

/* data[key] of a configMap (binaryData too) or secret (decoded); owned. */
static char *source_value(const kube_object_t *obj, bool secret,
                          const char *key, size_t *len) {
  json_object *root = kube_object_json(obj);
  json_object *data = kube_json_get(root, "data"), *v = NULL;
  if (data && json_object_object_get_ex(data, key, &v) &&
      json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    if (!secret) {
      if (len)
        *len = strlen(s);
      return strdup(s);
    }
    size_t n = 0;
    char *d = (char *)kube_base64_decode(s, strlen(s), &n, NULL);
    if (d && len)
      *len = n;
    return d;
  }
  if (!secret) {
    json_object *bin = kube_json_get(root, "binaryData");
    if (bin && json_object_object_get_ex(bin, key, &v) &&
        json_object_is_type(v, json_type_string)) {
      const char *s = json_object_get_string(v);
      size_t n = 0;
      char *d = (char *)kube_base64_decode(s, strlen(s), &n, NULL);
      if (d && len)
        *len = n;
      return d;
    }
  }
  /* stringData is folded into data by the API server */
  return NULL;
}

static bool env_name_ok(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s < 32 || *s > 126 || *s == '=')
      return false;
  return true;
}

static int env_from(kube_node_agent_t *a, struct nd_pod *p, json_object *ef,
                    struct nd_env *out, kube_strbuf_t *bad, bool *any_bad,
                    kube_error_t *err) {
  for (size_t i = 0; ef && i < json_object_array_length(ef); i++) {
    json_object *src = json_object_array_get_idx(ef, i);
    json_object *ref = kube_json_get(src, "configMapRef");
    bool secret = false;
    if (!ref) {
      ref = kube_json_get(src, "secretRef");
      secret = true;
    }
    const char *name = ref ? kube_json_get_string(ref, "name") : NULL;
    if (!name)
      continue;
    const char *prefix = kube_json_get_string(src, "prefix");
    const kube_object_t *obj = source(a, p, secret, name);
    if (!obj) {
      if (nd_spec_bool(ref, "optional"))
        continue;
      return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                            "%s \"%s\" not found",
                            secret ? "secret" : "configmap", name);
    }
    json_object *data = kube_json_get(kube_object_json(obj), "data");
    if (!data || !json_object_is_type(data, json_type_object))
      continue;
    json_object_object_foreach(data, key, val) {
      (void)val;
      char full[600];
      snprintf(full, sizeof full, "%s%s", prefix ? prefix : "", key);
      if (!env_name_ok(full)) {
        kube_strbuf_printf(bad, "%s%s", *any_bad ? ", " : "", full);
        *any_bad = true;
        continue;
      }
      cleanup_free char *v = source_value(obj, secret, key, NULL);
      if (v)
        nd_env_set(out, full, v);
    }
  }
  return 0;
}

char *nd_field_ref(kube_node_agent_t *a, struct nd_pod *p,
                   const kube_object_t *pod, const char *path,
                   kube_error_t *err) {
  json_object *root = kube_object_json(pod);
  const char *v = NULL;
  char key[320];
  if (streq(path, "metadata.name"))
    v = kube_object_name(pod);
  else if (streq(path, "metadata.namespace"))
    v = kube_object_namespace(pod);
  else if (streq(path, "metadata.uid"))
    v = kube_object_uid(pod);
  else if (streq(path, "spec.nodeName"))
    v = a->cfg.node_name;
  else if (streq(path, "spec.serviceAccountName"))
    v = kube_json_get_string(root, "spec.serviceAccountName");
  else if (streq(path, "status.hostIP") || streq(path, "status.hostIPs"))
    v = a->cfg.node_ip;
  else if (streq(path, "status.podIP"))
    v = p->host_network ? a->cfg.node_ip : p->n_ips ? p->ips[0] : "";
  else if (streq(path, "status.podIPs")) {
    if (p->host_network)
      v = a->cfg.node_ip;
    else {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      for (size_t i = 0; i < p->n_ips; i++)
        kube_strbuf_printf(&sb, "%s%s", i ? "," : "", p->ips[i]);
      return kube_strbuf_steal(&sb);
    }
  } else if (sscanf(path, "metadata.labels['%319[^']']", key) == 1)
    v = kube_object_label(pod, key);
  else if (sscanf(path, "metadata.annotations['%319[^']']", key) == 1)
    v = kube_object_annotation(pod, key);
  else {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "unsupported fieldRef fieldPath %s", path);
    return NULL;
  }
  char *s = strdup(v ? v : "");
  if (!s)
    kube_make_oom(err);
  return s;
}

char *nd_resource_ref(kube_node_agent_t *a, json_object *spec,
                      const char *container, const char *resource,
                      const char *divisor, kube_error_t *err) {
  json_object *ctr = nd_spec_container(spec, container, NULL);
  bool cpu = strstr(resource, "cpu") != NULL;
  char path[128];
  snprintf(path, sizeof path, "resources.%s", resource);
  const char *val = ctr ? kube_json_get_string(ctr, path) : NULL;
  kube_quantity_t q = {0}, d;
  if (val) {
    if (kube_quantity_parse(val, &q, err) < 0)
      return NULL;
  } else if (str_has_prefix(resource, "limits.")) {
    /* no limit: the node's allocatable */
    const kube_object_t *node = kube_informer_get(a->nodes, a->cfg.node_name);
    char apath[128];
    snprintf(apath, sizeof apath, "status.allocatable.%s", resource + 7);
    const char *alloc = node ? kube_object_get_string(node, apath) : NULL;
    if (alloc)
      kube_quantity_parse(alloc, &q, NULL);
  }
  if (kube_quantity_parse(divisor && *divisor ? divisor : "1", &d, err) < 0)
    return NULL;
  int64_t dv = cpu ? kube_quantity_milli(&d) : kube_quantity_value(&d);
  int64_t v = cpu ? kube_quantity_milli(&q) : kube_quantity_value(&q);
  if (dv <= 0)
    dv = 1;
  /* ceiling division, as ExtractContainerResourceValue */
  int64_t r = (v + dv - 1) / dv;
  if (cpu && r == 0 && v == 0 && str_has_prefix(resource, "limits."))
    r = 1;
  char *s = NULL;
  if (asprintf(&s, "%lld", (long long)r) < 0) {
    kube_make_oom(err);
    return NULL;
  }
  return s;
}

static char *value_from(kube_node_agent_t *a, struct nd_pod *p,
                        const kube_object_t *pod, json_object *ctr,
                        json_object *vf, kube_error_t *err) {
  json_object *r;
  if ((r = kube_json_get(vf, "fieldRef")))
    return nd_field_ref(a, p, pod, kube_json_get_string(r, "fieldPath") ?: "",
                        err);
  if ((r = kube_json_get(vf, "resourceFieldRef"))) {
    const char *cn = kube_json_get_string(r, "containerName");
    return nd_resource_ref(a, nd_spec(pod),
                           cn && *cn ? cn
                                     : kube_json_get_string(ctr, "name") ?: "",
                           kube_json_get_string(r, "resource") ?: "",
                           kube_json_get_string(r, "divisor"), err);
  }
  bool secret = false;
  if (!(r = kube_json_get(vf, "configMapKeyRef"))) {
    r = kube_json_get(vf, "secretKeyRef");
    secret = true;
  }
  if (!r)
    return strdup("");
  const char *name = kube_json_get_string(r, "name") ?: "";
  const char *key = kube_json_get_string(r, "key") ?: "";
  bool optional = nd_spec_bool(r, "optional");
  const kube_object_t *obj = source(a, p, secret, name);
  if (!obj) {
    if (optional)
      return NULL;
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "%s \"%s\" not found",
                   secret ? "secret" : "configmap", name);
    return NULL;
  }
  char *v = source_value(obj, secret, key, NULL);
  if (!v && !optional)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "couldn't find key %s in %s %s/%s", key,
                   secret ? "Secret" : "ConfigMap", p->ns, name);
  return v;
}

int nd_env_build(kube_node_agent_t *a, struct nd_pod *p,
                 const kube_object_t *pod, json_object *ctr, struct nd_env *out,
                 char **bad_names, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  if (bad_names)
    *bad_names = NULL;
  json_object *spec = nd_spec(pod);
  json_object *esl = kube_json_get(spec, "enableServiceLinks");
  bool links = !esl || json_object_get_boolean(esl);
  struct nd_env svc = {0};
  nd_service_env(a, p->ns, links, &svc);
  /* expansion sees the service variables, then what is defined so far */
  struct nd_env all = {0};
  for (size_t i = 0; i < svc.n; i++)
    nd_env_set(&all, svc.names[i], svc.values[i]);
  kube_strbuf_t bad = KUBE_STRBUF_INIT;
  bool any_bad = false;
  struct nd_env mine = {0};
  int rc =
      env_from(a, p, kube_json_get(ctr, "envFrom"), &mine, &bad, &any_bad, err);
  for (size_t i = 0; rc == 0 && i < mine.n; i++)
    nd_env_set(&all, mine.names[i], mine.values[i]);
  json_object *env = kube_json_get(ctr, "env");
  for (size_t i = 0; rc == 0 && env && i < json_object_array_length(env); i++) {
    json_object *e = json_object_array_get_idx(env, i);
    const char *name = kube_json_get_string(e, "name");
    if (!name)
      continue;
    json_object *vf = kube_json_get(e, "valueFrom");
    char *v;
    if (vf) {
      kube_error_t ve = KUBE_ERROR_INIT;
      v = value_from(a, p, pod, ctr, vf, &ve);
      if (!v && kube_error_is_set(&ve)) {
        kube_error_move(err, &ve);
        rc = -1;
        break;
      }
      kube_error_clear(&ve);
      if (!v)
        continue; /* optional and absent */
    } else {
      v = nd_env_expand(kube_json_get_string(e, "value") ?: "", &all);
    }
    if (!v) {
      rc = kube_make_oom(err);
      break;
    }
    nd_env_set(&mine, name, v);
    nd_env_set(&all, name, v);
    free(v);
  }
  if (rc == 0) {
    /* the container's own variables first, then the service links it did
     * not define itself */
    *out = mine;
    memset(&mine, 0, sizeof mine);
    for (size_t i = 0; i < svc.n; i++)
      if (env_find(out, svc.names[i]) < 0)
        nd_env_set(out, svc.names[i], svc.values[i]);
    /* keep `all` for the command/args expansion: the caller re-expands
     * against the result, which holds the same values */
  }
  if (rc == 0 && any_bad && bad_names)
    *bad_names = kube_strbuf_steal(&bad);
  kube_strbuf_clear(&bad);
  nd_env_clear(&mine);
  nd_env_clear(&all);
  nd_env_clear(&svc);
  return rc;
}
