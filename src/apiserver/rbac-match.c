/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RBAC's rule matching, as k8s.io/kubernetes/pkg/apis/rbac/v1's
 * VerbMatches, APIGroupMatches, ResourceMatches (with "*" and
 * "* /subresource"), ResourceNameMatches and NonResourceURLMatches (a
 * trailing "*" is a prefix), and metav1.LabelSelector matching for
 * ClusterRole aggregation.  Rules are compiled once into string vectors
 * (rbac.c keeps them), so a check is a few string compares.
 */
#include "apiserver/authz.h"

static size_t jarr_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

static char **strv_of(json_object *arr) {
  size_t n = json_object_is_type(arr, json_type_array)
                 ? json_object_array_length(arr)
                 : 0;
  if (!n)
    return NULL;
  char **v = calloc(n + 1, sizeof *v);
  if (!v)
    return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
    if (s && !(v[j++] = strdup(s)))
      break;
  }
  return v;
}

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

int as_rule_parse(json_object *rule, struct as_rule *out) {
  memset(out, 0, sizeof *out);
  if (!json_object_is_type(rule, json_type_object))
    return -1;
  out->verbs = strv_of(kube_json_get(rule, "verbs"));
  out->groups = strv_of(kube_json_get(rule, "apiGroups"));
  out->resources = strv_of(kube_json_get(rule, "resources"));
  out->names = strv_of(kube_json_get(rule, "resourceNames"));
  out->urls = strv_of(kube_json_get(rule, "nonResourceURLs"));
  return 0;
}

void as_rule_clear(struct as_rule *r) {
  strv_free(r->verbs);
  strv_free(r->groups);
  strv_free(r->resources);
  strv_free(r->names);
  strv_free(r->urls);
  memset(r, 0, sizeof *r);
}

static bool has(char *const *v, const char *s) {
  for (size_t i = 0; v && v[i]; i++)
    if (streq(v[i], "*") || streq(v[i], s))
      return true;
  return false;
}

static bool resource_matches(char *const *v, const char *res, const char *sub) {
  size_t rl = strlen(res), sl = sub ? strlen(sub) : 0;
  for (size_t i = 0; v && v[i]; i++) {
    const char *x = v[i];
    if (streq(x, "*"))
      return true;
    if (!sl) {
      if (streq(x, res))
        return true;
      continue;
    }
    /* "pods/log" and "* /log" (without the space) */
    size_t xl = strlen(x);
    if (xl == rl + 1 + sl && !strncmp(x, res, rl) && x[rl] == '/' &&
        !strcmp(x + rl + 1, sub))
      return true;
    if (xl == sl + 2 && x[0] == '*' && x[1] == '/' && !strcmp(x + 2, sub))
      return true;
  }
  return false;
}

static bool url_matches(char *const *v, const char *path) {
  for (size_t i = 0; v && v[i]; i++) {
    const char *x = v[i];
    size_t xl = strlen(x);
    if (streq(x, "*") || streq(x, path))
      return true;
    if (xl && x[xl - 1] == '*' && !strncmp(x, path, xl - 1))
      return true;
  }
  return false;
}

bool as_rule_matches(const struct as_rule *r, const struct as_attrs *a) {
  if (!has(r->verbs, a->verb))
    return false;
  if (!a->resource)
    return url_matches(r->urls, a->path ? a->path : "");
  if (!has(r->groups, a->group ? a->group : ""))
    return false;
  if (!resource_matches(r->resources, a->resource_name ? a->resource_name : "",
                        a->sub && *a->sub ? a->sub : NULL))
    return false;
  if (!r->names || !r->names[0])
    return true;
  /* Named rules never match a request without a name (list, create). */
  if (!a->name || !*a->name)
    return false;
  for (size_t i = 0; r->names[i]; i++)
    if (streq(r->names[i], a->name))
      return true;
  return false;
}

static json_object *strv_json(char *const *v) {
  json_object *arr = json_object_new_array();
  for (size_t i = 0; arr && v && v[i]; i++)
    json_object_array_add(arr, json_object_new_string(v[i]));
  return arr;
}

json_object *as_rule_to_json(const struct as_rule *r) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "verbs", strv_json(r->verbs));
  if (r->urls) {
    json_object_object_add(o, "nonResourceURLs", strv_json(r->urls));
    return o;
  }
  json_object_object_add(o, "apiGroups", strv_json(r->groups));
  json_object_object_add(o, "resources", strv_json(r->resources));
  if (r->names)
    json_object_object_add(o, "resourceNames", strv_json(r->names));
  return o;
}

static bool value_in(json_object *values, const char *v) {
  for (size_t i = 0; v && i < jarr_len(values); i++)
    if (streq(json_object_get_string(json_object_array_get_idx(values, i)), v))
      return true;
  return false;
}

bool as_label_selector_matches(json_object *sel, json_object *labels) {
  if (!json_object_is_type(sel, json_type_object))
    return false;
  json_object *ml = kube_json_get(sel, "matchLabels");
  if (json_object_is_type(ml, json_type_object)) {
    json_object_object_foreach(ml, k, v) {
      json_object *hv = NULL;
      const char *have = json_object_is_type(labels, json_type_object) &&
                                 json_object_object_get_ex(labels, k, &hv)
                             ? json_object_get_string(hv)
                             : NULL;
      if (!have || !streq(have, json_object_get_string(v)))
        return false;
    }
  }
  json_object *me = kube_json_get(sel, "matchExpressions");
  for (size_t i = 0; i < jarr_len(me); i++) {
    json_object *e = json_object_array_get_idx(me, i);
    const char *key = kube_json_get_string(e, "key");
    const char *op = kube_json_get_string(e, "operator");
    json_object *vals = kube_json_get(e, "values");
    json_object *hv = NULL;
    bool present = key && json_object_is_type(labels, json_type_object) &&
                   json_object_object_get_ex(labels, key, &hv);
    const char *have = present ? json_object_get_string(hv) : NULL;
    if (!op)
      return false;
    if (streq(op, "In") && !(present && value_in(vals, have)))
      return false;
    if (streq(op, "NotIn") && present && value_in(vals, have))
      return false;
    if (streq(op, "Exists") && !present)
      return false;
    if (streq(op, "DoesNotExist") && present)
      return false;
  }
  return true;
}
