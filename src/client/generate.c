/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Object generators behind `run`, `create deployment|namespace|service`
 * and `expose`, building what kubectl builds.
 */
#include <ctype.h>
#include <errno.h>
#include <sys/random.h>
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

static void copy_gen(kube_generate_options_t *dst,
                     const kube_generate_options_t *src) {
  memset(dst, 0, sizeof *dst);
  dst->replicas = -1;
  core_opts_copy(dst, src);
}

static json_object *jstr(const char *s) {
  return json_object_new_string(s);
}

/* Parse "k=v" items into a map; BadRequest on an item without '='. */
static json_object *kv_map(const char *const *items, const char *what,
                           kube_error_t *err) {
  json_object *m = json_object_new_object();
  if (!m)
    return kube_make_oom(err), NULL;
  for (size_t i = 0; items && items[i]; i++) {
    const char *eq = strchr(items[i], '=');
    if (!eq || eq == items[i]) {
      json_object_put(m);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid %s \"%s\": expected key=value", what, items[i]);
      return NULL;
    }
    cleanup_free char *k = strndup(items[i], (size_t)(eq - items[i]));
    if (!k) {
      json_object_put(m);
      return kube_make_oom(err), NULL;
    }
    json_object_object_add(m, k, jstr(eq + 1));
  }
  return m;
}

static json_object *new_meta(const char *name, const char *ns,
                             json_object *labels) {
  json_object *meta = json_object_new_object();
  json_object_object_add(meta, "creationTimestamp", NULL);
  if (labels)
    json_object_object_add(meta, "labels", labels);
  json_object_object_add(meta, "name", jstr(name));
  if (ns && *ns)
    json_object_object_add(meta, "namespace", jstr(ns));
  return meta;
}

static json_object *new_object(const char *api_version, const char *kind,
                               json_object *meta) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "apiVersion", jstr(api_version));
  json_object_object_add(o, "kind", jstr(kind));
  json_object_object_add(o, "metadata", meta);
  return o;
}

/* One container from the options; `name` is the container name. */
static json_object *container(const kube_generate_options_t *o,
                              const char *name, kube_error_t *err) {
  json_object *c = json_object_new_object();
  if (o->args && o->args[0]) {
    json_object *a = json_object_new_array();
    for (size_t i = 0; o->args[i]; i++)
      json_object_array_add(a, jstr(o->args[i]));
    json_object_object_add(c, o->command ? "command" : "args", a);
  }
  if (o->env && o->env[0]) {
    json_object *env = json_object_new_array();
    for (size_t i = 0; o->env[i]; i++) {
      const char *eq = strchr(o->env[i], '=');
      if (!eq || eq == o->env[i]) {
        json_object_put(env);
        json_object_put(c);
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid env: %s",
                       o->env[i]);
        return NULL;
      }
      json_object *e = json_object_new_object();
      json_object_object_add(
          e, "name",
          json_object_new_string_len(o->env[i], (int)(eq - o->env[i])));
      json_object_object_add(e, "value", jstr(eq + 1));
      json_object_array_add(env, e);
    }
    json_object_object_add(c, "env", env);
  }
  json_object_object_add(c, "image", jstr(o->image));
  if (o->image_pull_policy)
    json_object_object_add(c, "imagePullPolicy", jstr(o->image_pull_policy));
  json_object_object_add(c, "name", jstr(name));
  if (o->port > 0) {
    json_object *ports = json_object_new_array(), *p = json_object_new_object();
    json_object_object_add(p, "containerPort", json_object_new_int(o->port));
    json_object_array_add(ports, p);
    json_object_object_add(c, "ports", ports);
  }
  json_object_object_add(c, "resources", json_object_new_object());
  return c;
}

static int check_name_image(const kube_generate_options_t *o,
                            kube_error_t *err) {
  if (!o->name || !*o->name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "NAME is required");
  const char *why = kube_validate_dns1123_subdomain(o->name);
  if (why)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid name \"%s\": %s", o->name, why);
  if (!o->image || !*o->image)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "--image is required");
  return 0;
}

static kube_object_t *wrap(json_object *o, kube_error_t *err) {
  kube_object_t *obj = o ? kube_object_wrap(o) : NULL;
  if (!obj) {
    json_object_put(o);
    kube_make_oom(err);
  }
  return obj;
}

KUBE_EXPORT kube_object_t *
kube_generate_pod(const kube_generate_options_t *opts, kube_error_t *err) {
  kube_generate_options_t o;
  copy_gen(&o, opts);
  if (check_name_image(&o, err) < 0)
    return NULL;
  json_object *labels;
  if (o.labels) {
    labels = kv_map(o.labels, "label", err);
    if (!labels)
      return NULL;
  } else {
    labels = json_object_new_object();
    json_object_object_add(labels, "run", jstr(o.name));
  }
  json_object *c = container(&o, o.name, err);
  if (!c) {
    json_object_put(labels);
    return NULL;
  }
  json_object *pod =
      new_object("v1", "Pod", new_meta(o.name, o.namespace_, labels));
  json_object *spec = json_object_new_object(), *cs = json_object_new_array();
  json_object_array_add(cs, c);
  json_object_object_add(spec, "containers", cs);
  json_object_object_add(spec, "dnsPolicy", jstr("ClusterFirst"));
  json_object_object_add(spec, "restartPolicy",
                         jstr(o.restart_policy ? o.restart_policy : "Always"));
  json_object_object_add(pod, "spec", spec);
  json_object_object_add(pod, "status", json_object_new_object());
  return wrap(pod, err);
}

/* kubectl names the container after the image: "docker.io/library/nginx:1.25"
 * -> "nginx" (characters outside [a-z0-9-] become '-'). */
static char *container_name_for_image(const char *image) {
  const char *base = strrchr(image, '/');
  base = base ? base + 1 : image;
  size_t n = strcspn(base, ":@");
  char *name = strndup(base, n);
  if (name)
    for (char *p = name; *p; p++) {
      *p = (char)tolower((unsigned char)*p);
      if (!isalnum((unsigned char)*p) && *p != '-')
        *p = '-';
    }
  return name;
}

KUBE_EXPORT kube_object_t *
kube_generate_deployment(const kube_generate_options_t *opts,
                         kube_error_t *err) {
  kube_generate_options_t o;
  copy_gen(&o, opts);
  if (check_name_image(&o, err) < 0)
    return NULL;
  json_object *labels;
  if (o.labels) {
    labels = kv_map(o.labels, "label", err);
    if (!labels)
      return NULL;
  } else {
    labels = json_object_new_object();
    json_object_object_add(labels, "app", jstr(o.name));
  }
  cleanup_free char *cname = container_name_for_image(o.image);
  json_object *c = cname ? container(&o, cname, err) : NULL;
  if (!c) {
    json_object_put(labels);
    if (!cname)
      kube_make_oom(err);
    return NULL;
  }
  json_object *labels2 = NULL, *labels3 = NULL;
  json_object_deep_copy(labels, &labels2, NULL);
  json_object_deep_copy(labels, &labels3, NULL);
  json_object *d = new_object("apps/v1", "Deployment",
                              new_meta(o.name, o.namespace_, labels));
  json_object *spec = json_object_new_object();
  json_object_object_add(spec, "replicas",
                         json_object_new_int(o.replicas < 0 ? 1 : o.replicas));
  json_object *sel = json_object_new_object();
  json_object_object_add(sel, "matchLabels", labels2);
  json_object_object_add(spec, "selector", sel);
  json_object_object_add(spec, "strategy", json_object_new_object());
  json_object *tmpl = json_object_new_object(),
              *tmeta = json_object_new_object();
  json_object_object_add(tmeta, "creationTimestamp", NULL);
  json_object_object_add(tmeta, "labels", labels3);
  json_object_object_add(tmpl, "metadata", tmeta);
  json_object *pspec = json_object_new_object(), *cs = json_object_new_array();
  json_object_array_add(cs, c);
  json_object_object_add(pspec, "containers", cs);
  json_object_object_add(tmpl, "spec", pspec);
  json_object_object_add(spec, "template", tmpl);
  json_object_object_add(d, "spec", spec);
  json_object_object_add(d, "status", json_object_new_object());
  return wrap(d, err);
}

KUBE_EXPORT kube_object_t *kube_generate_namespace(const char *name,
                                                   kube_error_t *err) {
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "NAME is required"),
           NULL;
  json_object *ns = new_object("v1", "Namespace", new_meta(name, NULL, NULL));
  json_object_object_add(ns, "spec", json_object_new_object());
  json_object_object_add(ns, "status", json_object_new_object());
  return wrap(ns, err);
}

/* ---- kubectl debug ---- */

/* kubectl's nameSuffixFunc: n characters of utilrand.String's alphabet. */
static void debug_suffix(char *out, size_t n) {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  unsigned char bytes[16] = {0};
  if (n > sizeof bytes)
    n = sizeof bytes;
  if (getrandom(bytes, n, 0) != (ssize_t)n)
    for (size_t i = 0; i < n; i++)
      bytes[i] = (unsigned char)(kube_time_mono_ns() >> (i * 3));
  for (size_t i = 0; i < n; i++)
    out[i] = alphabet[bytes[i] % (sizeof alphabet - 1)];
  out[n] = '\0';
}

static bool pod_uses_name(json_object *spec, const char *name) {
  static const char *const lists[] = {"containers", "initContainers",
                                      "ephemeralContainers"};
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_object *a = kube_json_get(spec, lists[l]);
    for (size_t i = 0; a && json_object_is_type(a, json_type_array) &&
                       i < json_object_array_length(a);
         i++) {
      const char *n =
          kube_json_get_string(json_object_array_get_idx(a, i), "name");
      if (n && streq(n, name))
        return true;
    }
  }
  return false;
}

/* The debug container (generateDebugContainer / generateNodeDebugPod). */
static json_object *debug_container(const kube_debug_options_t *o,
                                    const char *name, kube_error_t *err) {
  if (!o->image || !*o->image)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "--image is required"),
           NULL;
  kube_generate_options_t g = {.struct_size = sizeof g,
                               .image = o->image,
                               .env = o->env,
                               .args = o->args,
                               .command = !o->args_only,
                               .image_pull_policy = o->image_pull_policy};
  json_object *c = container(&g, name, err);
  if (!c)
    return NULL;
  if (o->stdin_)
    json_object_object_add(c, "stdin", json_object_new_boolean(true));
  if (o->tty)
    json_object_object_add(c, "tty", json_object_new_boolean(true));
  json_object_object_add(c, "terminationMessagePolicy", jstr("File"));
  return c;
}

KUBE_EXPORT char *kube_generate_debug_patch(const kube_object_t *pod,
                                            const kube_debug_options_t *opts,
                                            char **name, kube_error_t *err) {
  kube_debug_options_t o;
  memset(&o, 0, sizeof o);
  core_opts_copy(&o, opts);
  json_object *spec = kube_json_get(kube_object_json(pod), "spec");
  char cn[64];
  if (o.container && *o.container) {
    if (pod_uses_name(spec, o.container))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "container %s already exists in the pod",
                            o.container),
             NULL;
    snprintf(cn, sizeof cn, "%s", o.container);
  } else {
    do {
      char sfx[8];
      debug_suffix(sfx, 5);
      snprintf(cn, sizeof cn, "debugger-%s", sfx);
    } while (pod_uses_name(spec, cn));
  }
  json_object *c = debug_container(&o, cn, err);
  if (!c)
    return NULL;
  if (o.target && *o.target)
    json_object_object_add(c, "targetContainerName", jstr(o.target));
  /* the existing ones by name (kept, in their order), then the new one,
   * as CreateTwoWayMergePatch writes the addition */
  json_object *order = json_object_new_array();
  json_object *ecs = kube_json_get(spec, "ephemeralContainers");
  for (size_t i = 0; ecs && json_object_is_type(ecs, json_type_array) &&
                     i < json_object_array_length(ecs);
       i++) {
    const char *n =
        kube_json_get_string(json_object_array_get_idx(ecs, i), "name");
    json_object *e = json_object_new_object();
    json_object_object_add(e, "name", jstr(n ? n : ""));
    json_object_array_add(order, e);
  }
  json_object *last = json_object_new_object();
  json_object_object_add(last, "name", jstr(cn));
  json_object_array_add(order, last);
  json_object *list = json_object_new_array();
  json_object_array_add(list, c);
  json_object *pspec = json_object_new_object();
  json_object_object_add(pspec, "$setElementOrder/ephemeralContainers",
                         order);
  json_object_object_add(pspec, "ephemeralContainers", list);
  json_object *patch = json_object_new_object();
  json_object_object_add(patch, "spec", pspec);
  char *text = strdup(
      json_object_to_json_string_ext(
          patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(patch);
  if (!text || !(*name = strdup(cn))) {
    free(text);
    return kube_make_oom(err), NULL;
  }
  return text;
}

KUBE_EXPORT kube_object_t *
kube_generate_node_debug_pod(const char *node, const kube_debug_options_t *opts,
                             kube_error_t *err) {
  kube_debug_options_t o;
  memset(&o, 0, sizeof o);
  core_opts_copy(&o, opts);
  if (!node || !*node)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "a node name is required"),
           NULL;
  const char *cn = o.container && *o.container ? o.container : "debugger";
  json_object *c = debug_container(&o, cn, err);
  if (!c)
    return NULL;
  /* mountRootPartition and useHostNamespaces of the legacy profile */
  json_object *vm = json_object_new_object();
  json_object_object_add(vm, "mountPath", jstr("/host"));
  json_object_object_add(vm, "name", jstr("host-root"));
  json_object *vms = json_object_new_array();
  json_object_array_add(vms, vm);
  json_object_object_add(c, "volumeMounts", vms);
  char sfx[8], pn[320];
  debug_suffix(sfx, 5);
  snprintf(pn, sizeof pn, "node-debugger-%s-%s", node, sfx);
  json_object *pod = new_object("v1", "Pod", new_meta(pn, NULL, NULL));
  json_object *spec = json_object_new_object(), *cs = json_object_new_array();
  json_object_array_add(cs, c);
  json_object_object_add(spec, "containers", cs);
  json_object_object_add(spec, "hostIPC", json_object_new_boolean(true));
  json_object_object_add(spec, "hostNetwork", json_object_new_boolean(true));
  json_object_object_add(spec, "hostPID", json_object_new_boolean(true));
  json_object_object_add(spec, "nodeName", jstr(node));
  json_object_object_add(spec, "restartPolicy", jstr("Never"));
  json_object *tol = json_object_new_object(), *tols = json_object_new_array();
  json_object_object_add(tol, "operator", jstr("Exists"));
  json_object_array_add(tols, tol);
  json_object_object_add(spec, "tolerations", tols);
  json_object *hp = json_object_new_object(), *v = json_object_new_object();
  json_object_object_add(hp, "path", jstr("/"));
  json_object_object_add(v, "hostPath", hp);
  json_object_object_add(v, "name", jstr("host-root"));
  json_object *vols = json_object_new_array();
  json_object_array_add(vols, v);
  json_object_object_add(spec, "volumes", vols);
  json_object_object_add(pod, "spec", spec);
  json_object_object_add(pod, "status", json_object_new_object());
  return wrap(pod, err);
}

/* metav1.ParseToLabelSelector: equalities into matchLabels, in, notin,
 * exists and !exists into matchExpressions; "!=", ">" and "<" refused. */
static json_object *label_selector(const char *text, kube_error_t *err) {
  kube_selector_t *s = kube_label_selector_parse(text, err);
  if (!s)
    return NULL;
  static const char *const ops[] = {"", NULL, "In", "NotIn", "Exists",
                                    "DoesNotExist"};
  json_object *sel = json_object_new_object();
  json_object *ml = json_object_new_object();
  json_object *me = json_object_new_array();
  for (size_t i = 0; i < s->n; i++) {
    const kube_selector_requirement_t *r = &s->reqs[i];
    if (r->op == KUBE_SELECTOR_EQUALS) {
      json_object_object_add(ml, r->key, jstr(r->values[0]));
      continue;
    }
    if (r->op >= ARRAY_SIZE(ops) || !ops[r->op]) {
      if (r->op == KUBE_SELECTOR_NOT_EQUALS)
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "\"!=\" is not a valid label selector operator");
      else
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "\"%s\" isn't supported in label selectors",
                       r->op == KUBE_SELECTOR_GT ? "gt" : "lt");
      json_object_put(sel);
      json_object_put(ml);
      json_object_put(me);
      kube_selector_free(s);
      return NULL;
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "key", jstr(r->key));
    json_object_object_add(e, "operator", jstr(ops[r->op]));
    if (r->n_values) {
      json_object *vals = json_object_new_array();
      for (size_t j = 0; j < r->n_values; j++)
        json_object_array_add(vals, jstr(r->values[j]));
      json_object_object_add(e, "values", vals);
    }
    json_object_array_add(me, e);
  }
  kube_selector_free(s);
  if (json_object_object_length(ml))
    json_object_object_add(sel, "matchLabels", ml);
  else
    json_object_put(ml);
  if (json_object_array_length(me))
    json_object_object_add(sel, "matchExpressions", me);
  else
    json_object_put(me);
  return sel;
}

/* intstr.Parse: an integer when the text is one, else the text. */
static json_object *intstr_value(const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*s && !*end && !errno && v >= INT32_MIN && v <= INT32_MAX)
    return json_object_new_int64(v);
  return jstr(s);
}

/* `^[0-9]+%?$` (kubectl create pdb's check). */
static bool count_or_percent(const char *s) {
  size_t n = strspn(s, "0123456789");
  return n > 0 && (!s[n] || (s[n] == '%' && !s[n + 1]));
}

KUBE_EXPORT kube_object_t *
kube_generate_pdb(const char *name, const char *selector,
                  const char *min_available, const char *max_unavailable,
                  kube_error_t *err) {
  const char *msg = NULL;
  bool has_min = min_available && *min_available;
  bool has_max = max_unavailable && *max_unavailable;
  if (!name || !*name)
    msg = "name must be specified";
  else if (!selector || !*selector)
    msg = "a selector must be specified";
  else if (!has_min && !has_max)
    msg = "one of min-available or max-unavailable must be specified";
  else if (has_min && has_max)
    msg = "min-available and max-unavailable cannot be both specified";
  else if (has_min && !count_or_percent(min_available))
    msg = "invalid format specified for min-available";
  else if (has_max && !count_or_percent(max_unavailable))
    msg = "invalid format specified for max-unavailable";
  if (msg)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s", msg), NULL;
  json_object *sel = label_selector(selector, err);
  if (!sel)
    return NULL;
  json_object *spec = json_object_new_object();
  if (has_min)
    json_object_object_add(spec, "minAvailable", intstr_value(min_available));
  else
    json_object_object_add(spec, "maxUnavailable",
                           intstr_value(max_unavailable));
  json_object_object_add(spec, "selector", sel);
  json_object *pdb = new_object("policy/v1", "PodDisruptionBudget",
                                new_meta(name, NULL, NULL));
  json_object_object_add(pdb, "spec", spec);
  json_object *st = json_object_new_object();
  static const char *const counts[] = {"disruptionsAllowed", "currentHealthy",
                                       "desiredHealthy", "expectedPods"};
  for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
    json_object_object_add(st, counts[i], json_object_new_int(0));
  json_object_object_add(pdb, "status", st);
  return wrap(pdb, err);
}

/* "80", "http" -> a targetPort value (int when numeric). */
static json_object *port_value(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s && !*end && v > 0 && v < 65536)
    return json_object_new_int((int)v);
  return jstr(s);
}

static int parse_port(const char *s, int32_t *out, kube_error_t *err) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > 65535)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid port \"%s\"", s);
  *out = (int32_t)v;
  return 0;
}

static const char *service_type(const char *t) {
  if (!t || !*t || !strcasecmp(t, "clusterip"))
    return "ClusterIP";
  if (!strcasecmp(t, "nodeport"))
    return "NodePort";
  if (!strcasecmp(t, "loadbalancer"))
    return "LoadBalancer";
  if (!strcasecmp(t, "externalname"))
    return "ExternalName";
  return NULL;
}

KUBE_EXPORT kube_object_t *
kube_generate_service(const char *name, const char *ns, const char *type,
                      const char *const *tcp, const char *cluster_ip,
                      kube_error_t *err) {
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "NAME is required"),
           NULL;
  const char *t = service_type(type);
  if (!t)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unknown service type \"%s\"", type),
           NULL;
  json_object *ports = json_object_new_array();
  for (size_t i = 0; tcp && tcp[i]; i++) {
    cleanup_free char *spec = strdup(tcp[i]);
    if (!spec) {
      json_object_put(ports);
      return kube_make_oom(err), NULL;
    }
    char *colon = strchr(spec, ':');
    const char *target = colon ? colon + 1 : spec;
    if (colon)
      *colon = '\0';
    int32_t port = 0;
    if (parse_port(spec, &port, err) < 0 || !*target) {
      json_object_put(ports);
      if (!*target)
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid --tcp \"%s\"",
                       tcp[i]);
      return NULL;
    }
    json_object *p = json_object_new_object();
    char pname[64];
    snprintf(pname, sizeof pname, "%s-%s", spec, target);
    json_object_object_add(p, "name", jstr(pname));
    json_object_object_add(p, "port", json_object_new_int(port));
    json_object_object_add(p, "protocol", jstr("TCP"));
    json_object_object_add(p, "targetPort", port_value(target));
    json_object_array_add(ports, p);
  }
  json_object *labels = json_object_new_object(),
              *sel = json_object_new_object();
  json_object_object_add(labels, "app", jstr(name));
  json_object_object_add(sel, "app", jstr(name));
  json_object *svc = new_object("v1", "Service", new_meta(name, ns, labels));
  json_object *spec = json_object_new_object();
  if (cluster_ip && *cluster_ip)
    json_object_object_add(spec, "clusterIP", jstr(cluster_ip));
  json_object_object_add(spec, "ports", ports);
  json_object_object_add(spec, "selector", sel);
  json_object_object_add(spec, "type", jstr(t));
  json_object_object_add(svc, "spec", spec);
  json_object_object_add(svc, "status", json_object_new_object());
  return wrap(svc, err);
}

/* The selector of what `expose` targets, as a map (new reference). */
static json_object *target_selector(json_object *t, const char *kind,
                                    kube_error_t *err) {
  json_object *sel = NULL;
  if (streq(kind, "Pod"))
    sel = kube_json_get(t, "metadata.labels");
  else if (streq(kind, "Service") || streq(kind, "ReplicationController"))
    sel = kube_json_get(t, "spec.selector");
  else if (streq(kind, "Deployment") || streq(kind, "ReplicaSet") ||
           streq(kind, "StatefulSet") || streq(kind, "DaemonSet")) {
    if (kube_json_get(t, "spec.selector.matchExpressions"))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "couldn't convert expressions - \"%s\" to map",
                            "matchExpressions"),
             NULL;
    sel = kube_json_get(t, "spec.selector.matchLabels");
  } else {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "cannot expose a %s",
                          kind),
           NULL;
  }
  if (!sel || !json_object_is_type(sel, json_type_object) ||
      json_object_object_length(sel) == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "couldn't retrieve selectors via --selector flag or "
                          "introspection"),
           NULL;
  json_object *copy = NULL;
  json_object_deep_copy(sel, &copy, NULL);
  return copy;
}

/* First container port of a pod template / pod / service. */
static json_object *target_port_of(json_object *t, const char *kind) {
  json_object *cs = NULL;
  if (streq(kind, "Pod"))
    cs = kube_json_get(t, "spec.containers");
  else if (streq(kind, "Service"))
    return kube_json_get(t, "spec.ports.0.port");
  else
    cs = kube_json_get(t, "spec.template.spec.containers");
  for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
    json_object *p = kube_json_get(json_object_array_get_idx(cs, i),
                                   "ports.0.containerPort");
    if (p)
      return p;
  }
  return NULL;
}

KUBE_EXPORT kube_object_t *
kube_generate_expose(const kube_object_t *target,
                     const kube_expose_options_t *opts, kube_error_t *err) {
  kube_expose_options_t o = {0};
  core_opts_copy(&o, opts);
  json_object *t = kube_object_json(target);
  const char *kind = kube_object_kind(target);
  if (!kind)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the object to expose has no kind"),
           NULL;
  const char *name = o.name && *o.name ? o.name : kube_object_name(target);
  const char *stype = service_type(o.type);
  if (!stype)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unknown service type \"%s\"", o.type),
           NULL;
  json_object *sel;
  if (o.selector && *o.selector) {
    cleanup_free char *copy = strdup(o.selector);
    if (!copy)
      return kube_make_oom(err), NULL;
    size_t n = 1;
    for (char *p = copy; *p; p++)
      n += *p == ',';
    cleanup_free const char **items = calloc(n + 1, sizeof *items);
    if (!items)
      return kube_make_oom(err), NULL;
    size_t k = 0;
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p;
         p = strtok_r(NULL, ",", &save))
      items[k++] = p;
    sel = kv_map(items, "selector", err);
  } else {
    sel = target_selector(t, kind, err);
  }
  if (!sel)
    return NULL;
  int32_t port = o.port;
  json_object *tp = NULL;
  if (port <= 0) {
    json_object *p = target_port_of(t, kind);
    if (!p) {
      json_object_put(sel);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "couldn't find port via --port flag or "
                            "introspection"),
             NULL;
    }
    port = json_object_get_int(p);
  }
  tp = o.target_port && *o.target_port ? port_value(o.target_port)
                                       : json_object_new_int(port);
  json_object *labels = NULL, *tl = kube_json_get(t, "metadata.labels");
  if (tl)
    json_object_deep_copy(tl, &labels, NULL);
  json_object *svc = new_object(
      "v1", "Service", new_meta(name, kube_object_namespace(target), labels));
  json_object *spec = json_object_new_object(),
              *ports = json_object_new_array(), *p = json_object_new_object();
  json_object_object_add(p, "port", json_object_new_int(port));
  json_object_object_add(p, "protocol", jstr(o.protocol ? o.protocol : "TCP"));
  json_object_object_add(p, "targetPort", tp);
  json_object_array_add(ports, p);
  json_object_object_add(spec, "ports", ports);
  json_object_object_add(spec, "selector", sel);
  if (o.type)
    json_object_object_add(spec, "type", jstr(stype));
  json_object_object_add(svc, "spec", spec);
  json_object_object_add(svc, "status", json_object_new_object());
  return wrap(svc, err);
}
