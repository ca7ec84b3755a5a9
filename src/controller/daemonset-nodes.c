/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which nodes a DaemonSet's pod belongs on (NodeShouldRunDaemonPod): the
 * template's nodeSelector, its required node affinity (label expressions
 * and metadata.name fields), and the node's NoSchedule / NoExecute taints
 * tolerated by the template's tolerations plus the ones every DaemonSet
 * pod gets (AddOrUpdateDaemonPodTolerations); and the pod the controller
 * creates for a node (node affinity pinned to it, those tolerations).
 */
#include "controller/daemonset.h"

static bool in_values(json_object *values, const char *v) {
  for (size_t i = 0; i < cj_len(values); i++)
    if (v && streq(json_object_get_string(cj_at(values, i)), v))
      return true;
  return false;
}

/* One NodeSelectorRequirement against a value (NULL: absent). */
static bool requirement_ok(json_object *req, const char *v) {
  const char *op = cj_str0(req, "operator");
  json_object *values = cj_arr(req, "values");
  if (streq(op, "In"))
    return in_values(values, v);
  if (streq(op, "NotIn"))
    return !in_values(values, v);
  if (streq(op, "Exists"))
    return v != NULL;
  if (streq(op, "DoesNotExist"))
    return v == NULL;
  if ((streq(op, "Gt") || streq(op, "Lt")) && v && cj_len(values) == 1) {
    char *e1, *e2;
    long long a = strtoll(v, &e1, 10);
    long long b = strtoll(json_object_get_string(cj_at(values, 0)), &e2, 10);
    if (*e1 || *e2)
      return false;
    return streq(op, "Gt") ? a > b : a < b;
  }
  return false;
}

static bool term_ok(json_object *term, json_object *node) {
  json_object *labels = cj_obj(cj_obj(node, "metadata"), "labels");
  json_object *exprs = cj_arr(term, "matchExpressions");
  json_object *fields = cj_arr(term, "matchFields");
  if (!cj_len(exprs) && !cj_len(fields))
    return false; /* an empty term matches nothing */
  for (size_t i = 0; i < cj_len(exprs); i++) {
    json_object *r = cj_at(exprs, i);
    if (!requirement_ok(r, cj_str(labels, cj_str0(r, "key"))))
      return false;
  }
  for (size_t i = 0; i < cj_len(fields); i++) {
    json_object *r = cj_at(fields, i);
    const char *v = streq(cj_str0(r, "key"), "metadata.name")
                        ? cj_str(cj_obj(node, "metadata"), "name")
                        : NULL;
    if (!requirement_ok(r, v))
      return false;
  }
  return true;
}

static bool affinity_ok(json_object *pspec, json_object *node) {
  json_object *req = cj_obj(cj_obj(cj_obj(pspec, "affinity"), "nodeAffinity"),
                            "requiredDuringSchedulingIgnoredDuringExecution");
  if (!req)
    return true;
  json_object *terms = cj_arr(req, "nodeSelectorTerms");
  for (size_t i = 0; i < cj_len(terms); i++)
    if (term_ok(cj_at(terms, i), node))
      return true;
  return false;
}

static bool tolerates(json_object *tol, json_object *taint) {
  const char *key = cj_str0(tol, "key"), *op = cj_str0(tol, "operator");
  const char *effect = cj_str0(tol, "effect");
  if (*effect && !streq(effect, cj_str0(taint, "effect")))
    return false;
  if (!*key)
    return streq(op, "Exists");
  if (!streq(key, cj_str0(taint, "key")))
    return false;
  if (streq(op, "Exists"))
    return true;
  return streq(cj_str0(tol, "value"), cj_str0(taint, "value"));
}

static const struct {
  const char *key, *effect;
  bool host_network_only;
} default_tolerations[] = {
    {"node.kubernetes.io/not-ready", "NoExecute", false},
    {"node.kubernetes.io/unreachable", "NoExecute", false},
    {"node.kubernetes.io/disk-pressure", "NoSchedule", false},
    {"node.kubernetes.io/memory-pressure", "NoSchedule", false},
    {"node.kubernetes.io/pid-pressure", "NoSchedule", false},
    {"node.kubernetes.io/unschedulable", "NoSchedule", false},
    {"node.kubernetes.io/network-unavailable", "NoSchedule", true},
};

/* The template's tolerations with the DaemonSet ones added (owned). */
json_object *ctl_ds_tolerations(json_object *pspec) {
  json_object *tols = ctl_json_copy(cj_arr(pspec, "tolerations"));
  if (!tols)
    tols = json_object_new_array();
  bool host_net = cj_bool(pspec, "hostNetwork", false);
  for (size_t i = 0; i < ARRAY_SIZE(default_tolerations); i++) {
    if (default_tolerations[i].host_network_only && !host_net)
      continue;
    bool have = false;
    for (size_t k = 0; k < cj_len(tols); k++) {
      json_object *t = cj_at(tols, k);
      if (streq(cj_str0(t, "key"), default_tolerations[i].key) &&
          streq(cj_str0(t, "effect"), default_tolerations[i].effect) &&
          streq(cj_str0(t, "operator"), "Exists"))
        have = true;
    }
    if (have)
      continue;
    json_object *t = json_object_new_object();
    cj_set(t, "key", json_object_new_string(default_tolerations[i].key));
    cj_set(t, "operator", json_object_new_string("Exists"));
    cj_set(t, "effect", json_object_new_string(default_tolerations[i].effect));
    json_object_array_add(tols, t);
  }
  return tols;
}

bool ctl_ds_should_run(json_object *pspec, json_object *node) {
  json_object *ns = cj_obj(pspec, "nodeSelector");
  json_object *labels = cj_obj(cj_obj(node, "metadata"), "labels");
  if (ns) {
    json_object_object_foreach(ns, k, v) {
      const char *have = cj_str(labels, k);
      if (!have || !streq(have, json_object_get_string(v)))
        return false;
    }
  }
  if (!affinity_ok(pspec, node))
    return false;
  json_object *taints = cj_arr(cj_obj(node, "spec"), "taints");
  if (!cj_len(taints))
    return true;
  json_object *tols = ctl_ds_tolerations(pspec);
  bool ok = true;
  for (size_t i = 0; ok && i < cj_len(taints); i++) {
    json_object *taint = cj_at(taints, i);
    const char *effect = cj_str0(taint, "effect");
    if (streq(effect, "PreferNoSchedule"))
      continue;
    bool tolerated = false;
    for (size_t k = 0; !tolerated && k < cj_len(tols); k++)
      tolerated = tolerates(cj_at(tols, k), taint);
    ok = tolerated;
  }
  json_object_put(tols);
  return ok;
}

const char *ctl_ds_pod_node(json_object *pod) {
  const char *n = cj_str(cj_obj(pod, "spec"), "nodeName");
  if (n && *n)
    return n;
  json_object *terms = cj_arr(
      cj_obj(cj_obj(cj_obj(cj_obj(pod, "spec"), "affinity"), "nodeAffinity"),
             "requiredDuringSchedulingIgnoredDuringExecution"),
      "nodeSelectorTerms");
  for (size_t i = 0; i < cj_len(terms); i++) {
    json_object *f = cj_arr(cj_at(terms, i), "matchFields");
    for (size_t k = 0; k < cj_len(f); k++) {
      json_object *r = cj_at(f, k);
      if (streq(cj_str0(r, "key"), "metadata.name") &&
          streq(cj_str0(r, "operator"), "In") &&
          cj_len(cj_arr(r, "values")) == 1)
        return json_object_get_string(cj_at(cj_arr(r, "values"), 0));
    }
  }
  return NULL;
}

char *ctl_ds_pod(json_object *ds, const char *hash, const char *node) {
  json_object *dmeta = cj_obj(ds, "metadata");
  const char *name = cj_str0(dmeta, "name");
  json_object *tmpl = cj_obj(cj_obj(ds, "spec"), "template");
  json_object *tmeta = cj_obj(tmpl, "metadata");
  json_object *pod = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *spec = ctl_json_copy(cj_obj(tmpl, "spec"));
  if (!spec)
    spec = json_object_new_object();
  cj_set(pod, "apiVersion", json_object_new_string("v1"));
  cj_set(pod, "kind", json_object_new_string("Pod"));
  char prefix[300];
  snprintf(prefix, sizeof prefix, "%s-", name);
  cj_set(meta, "generateName", json_object_new_string(prefix));
  cj_set(meta, "namespace",
         json_object_new_string(cj_str0(dmeta, "namespace")));
  ctl_copy_template_meta(meta, tmeta, true);
  cj_set(ctl_json_ensure(meta, "labels"), CTL_DS_HASH_LABEL,
         json_object_new_string(hash));
  json_object *refs = json_object_new_array();
  json_object_array_add(refs, ctl_controller_ref("apps/v1", "DaemonSet", name,
                                                 cj_str0(dmeta, "uid")));
  cj_set(meta, "ownerReferences", refs);
  /* ReplaceDaemonSetPodNodeNameNodeAffinity: the scheduler binds it to
   * this node only. */
  json_object *na =
      ctl_json_ensure(ctl_json_ensure(spec, "affinity"), "nodeAffinity");
  json_object *req = json_object_new_object();
  json_object *terms = json_object_new_array();
  json_object *term = json_object_new_object();
  json_object *fields = json_object_new_array();
  json_object *r = json_object_new_object();
  json_object *values = json_object_new_array();
  json_object_array_add(values, json_object_new_string(node));
  cj_set(r, "key", json_object_new_string("metadata.name"));
  cj_set(r, "operator", json_object_new_string("In"));
  cj_set(r, "values", values);
  json_object_array_add(fields, r);
  cj_set(term, "matchFields", fields);
  json_object_array_add(terms, term);
  cj_set(req, "nodeSelectorTerms", terms);
  cj_set(na, "requiredDuringSchedulingIgnoredDuringExecution", req);
  cj_set(spec, "tolerations", ctl_ds_tolerations(spec));
  cj_set(pod, "metadata", meta);
  cj_set(pod, "spec", spec);
  return ctl_json_take_text(pod);
}
