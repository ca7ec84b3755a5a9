/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parts of config.json that libkube 0.2 added: process.terminal and
 * consoleSize, hooks, annotations; plus the config helpers built on them.
 */
#include <json-c/json.h>
#include <sys/stat.h>

#include "runtime/internal.h"

static const char *const hook_names[KUBE_HOOK__COUNT] = {
    [KUBE_HOOK_PRESTART] = "prestart",
    [KUBE_HOOK_CREATE_RUNTIME] = "createRuntime",
    [KUBE_HOOK_CREATE_CONTAINER] = "createContainer",
    [KUBE_HOOK_START_CONTAINER] = "startContainer",
    [KUBE_HOOK_POSTSTART] = "poststart",
    [KUBE_HOOK_POSTSTOP] = "poststop",
};

const char *rt_hook_name(kube_rt_hook_kind_t k) {
  return (unsigned)k < KUBE_HOOK__COUNT ? hook_names[k] : "?";
}

#define get rt_json_get

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

void rt_hooks_free(kube_rt_hook_t *h, size_t n) {
  for (size_t i = 0; h && i < n; i++) {
    free(h[i].path);
    strv_free(h[i].args, h[i].n_args);
    strv_free(h[i].env, h[i].n_env);
  }
  free(h);
}

void rt_spec_extra_free(kube_rt_config_t *c) {
  for (int k = 0; k < KUBE_HOOK__COUNT; k++) {
    rt_hooks_free(c->hooks[k], c->n_hooks[k]);
    c->hooks[k] = NULL;
    c->n_hooks[k] = 0;
  }
  strv_free(c->annotation_keys, c->n_annotations);
  strv_free(c->annotation_values, c->n_annotations);
  c->annotation_keys = c->annotation_values = NULL;
  c->n_annotations = 0;
}

/* An array of strings into a NULL-terminated vector; field names errors. */
static int strv_parse(json_object *a, const char *field, char ***out,
                      size_t *n_out, kube_error_t *err) {
  if (!a)
    return 0;
  if (!json_object_is_type(a, json_type_array))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "%s: must be an array of strings", field);
  size_t n = json_object_array_length(a);
  char **v = calloc(n + 1, sizeof *v);
  if (!v)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(a, i);
    if (!json_object_is_type(e, json_type_string) ||
        !(v[i] = strdup(json_object_get_string(e)))) {
      strv_free(v, i);
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "%s[%zu]: must be a string", field, i);
    }
  }
  *out = v;
  *n_out = n;
  return 0;
}

int rt_hooks_parse(json_object *hooks, kube_rt_hook_t *out[KUBE_HOOK__COUNT],
                   size_t n_out[KUBE_HOOK__COUNT], kube_error_t *err) {
  if (!hooks)
    return 0;
  if (!json_object_is_type(hooks, json_type_object))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "hooks: must be an object");
  for (int k = 0; k < KUBE_HOOK__COUNT; k++) {
    json_object *a = get(hooks, hook_names[k]);
    if (!a)
      continue;
    if (!json_object_is_type(a, json_type_array))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "hooks.%s: must be an array", hook_names[k]);
    size_t n = json_object_array_length(a);
    out[k] = calloc(n + 1, sizeof *out[k]);
    if (!out[k])
      return kube_make_oom(err);
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(a, i);
      kube_rt_hook_t *h = &out[k][n_out[k]++];
      char field[96];
      snprintf(field, sizeof field, "hooks.%s[%zu]", hook_names[k], i);
      json_object *p = get(e, "path");
      if (!p || !json_object_is_type(p, json_type_string) ||
          json_object_get_string(p)[0] != '/')
        return kube_error_set(err, KUBE_REASON_INVALID, 0,
                              "%s.path: must be an absolute path", field);
      if (!(h->path = strdup(json_object_get_string(p))))
        return kube_make_oom(err);
      char sub[128];
      snprintf(sub, sizeof sub, "%s.args", field);
      if (strv_parse(get(e, "args"), sub, &h->args, &h->n_args, err) < 0)
        return -1;
      snprintf(sub, sizeof sub, "%s.env", field);
      if (strv_parse(get(e, "env"), sub, &h->env, &h->n_env, err) < 0)
        return -1;
      json_object *t = get(e, "timeout");
      if (t) {
        if (!json_object_is_type(t, json_type_int) ||
            json_object_get_int64(t) <= 0 ||
            json_object_get_int64(t) > 24 * 3600)
          return kube_error_set(err, KUBE_REASON_INVALID, 0,
                                "%s.timeout: must be a positive number of "
                                "seconds",
                                field);
        h->timeout = (int)json_object_get_int64(t);
      }
    }
  }
  return 0;
}

int rt_annotations_parse(json_object *a, char ***keys, char ***values,
                         size_t *n, kube_error_t *err) {
  if (!a)
    return 0;
  if (!json_object_is_type(a, json_type_object))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "annotations: must be an object");
  size_t cnt = (size_t)json_object_object_length(a);
  *keys = calloc(cnt + 1, sizeof(char *));
  *values = calloc(cnt + 1, sizeof(char *));
  if (!*keys || !*values)
    return kube_make_oom(err);
  json_object_object_foreach(a, key, val) {
    if (!json_object_is_type(val, json_type_string))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "annotations.%s: must be a string", key);
    (*keys)[*n] = strdup(key);
    (*values)[*n] = strdup(json_object_get_string(val));
    if (!(*keys)[*n] || !(*values)[(*n)++])
      return kube_make_oom(err);
  }
  return 0;
}

int rt_spec_parse_extra(json_object *root, kube_rt_config_t *c,
                        kube_error_t *err) {
  json_object *p = get(root, "process");
  json_object *term = get(p, "terminal");
  c->terminal = term && json_object_get_boolean(term);
  json_object *cs = get(p, "consoleSize");
  if (cs) {
    json_object *h = get(cs, "height"), *w = get(cs, "width");
    int64_t hv = h ? json_object_get_int64(h) : 0,
            wv = w ? json_object_get_int64(w) : 0;
    if (hv < 0 || hv > 65535 || wv < 0 || wv > 65535)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "process.consoleSize: out of range");
    c->console_height = (unsigned)hv;
    c->console_width = (unsigned)wv;
  }
  if (rt_hooks_parse(get(root, "hooks"), c->hooks, c->n_hooks, err) < 0)
    return -1;
  return rt_annotations_parse(get(root, "annotations"), &c->annotation_keys,
                              &c->annotation_values, &c->n_annotations, err);
}

static json_object *strv_json(char **v, size_t n) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < n; i++)
    json_object_array_add(a, json_object_new_string(v[i]));
  return a;
}

json_object *rt_hooks_json(kube_rt_hook_t *const hooks[KUBE_HOOK__COUNT],
                           const size_t n_hooks[KUBE_HOOK__COUNT]) {
  json_object *o = NULL;
  for (int k = 0; k < KUBE_HOOK__COUNT; k++) {
    if (!n_hooks[k])
      continue;
    if (!o)
      o = json_object_new_object();
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n_hooks[k]; i++) {
      const kube_rt_hook_t *h = &hooks[k][i];
      json_object *e = json_object_new_object();
      json_object_object_add(e, "path", json_object_new_string(h->path));
      if (h->args)
        json_object_object_add(e, "args", strv_json(h->args, h->n_args));
      if (h->env)
        json_object_object_add(e, "env", strv_json(h->env, h->n_env));
      if (h->timeout)
        json_object_object_add(e, "timeout", json_object_new_int(h->timeout));
      json_object_array_add(a, e);
    }
    json_object_object_add(o, hook_names[k], a);
  }
  return o;
}

json_object *rt_annotations_json(char **keys, char **values, size_t n) {
  json_object *o = json_object_new_object();
  for (size_t i = 0; i < n; i++)
    json_object_object_add(o, keys[i], json_object_new_string(values[i]));
  return o;
}

void rt_spec_extra_json(json_object *root, json_object *process,
                        const kube_rt_config_t *c) {
  json_object_object_add(process, "terminal",
                         json_object_new_boolean(c->terminal));
  if (c->console_height || c->console_width) {
    json_object *cs = json_object_new_object();
    json_object_object_add(cs, "height",
                           json_object_new_int64(c->console_height));
    json_object_object_add(cs, "width",
                           json_object_new_int64(c->console_width));
    json_object_object_add(process, "consoleSize", cs);
  }
  json_object *h = rt_hooks_json(c->hooks, c->n_hooks);
  if (h)
    json_object_object_add(root, "hooks", h);
  if (c->n_annotations)
    json_object_object_add(root, "annotations",
                           rt_annotations_json(c->annotation_keys,
                                               c->annotation_values,
                                               c->n_annotations));
}

KUBE_EXPORT int kube_rt_config_annotate(kube_rt_config_t *c, const char *key,
                                        const char *value, kube_error_t *err) {
  if (!key || !*key || !value)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "annotations: key and value required");
  char *v = strdup(value);
  if (!v)
    return kube_make_oom(err);
  for (size_t i = 0; i < c->n_annotations; i++)
    if (streq(c->annotation_keys[i], key)) {
      free(c->annotation_values[i]);
      c->annotation_values[i] = v;
      return 0;
    }
  char *k = strdup(key);
  char **nk = realloc(c->annotation_keys, (c->n_annotations + 2) * sizeof *nk);
  if (nk)
    c->annotation_keys = nk;
  char **nv =
      realloc(c->annotation_values, (c->n_annotations + 2) * sizeof *nv);
  if (nv)
    c->annotation_values = nv;
  if (!k || !nk || !nv) {
    free(k);
    free(v);
    return kube_make_oom(err);
  }
  c->annotation_keys[c->n_annotations] = k;
  c->annotation_values[c->n_annotations++] = v;
  c->annotation_keys[c->n_annotations] = NULL;
  c->annotation_values[c->n_annotations] = NULL;
  return 0;
}

KUBE_EXPORT int kube_rt_config_join_sandbox(kube_rt_config_t *c,
                                            const char *dir,
                                            kube_error_t *err) {
  static const kube_ns_type_t joinable[] = {
      KUBE_NS_NETWORK, KUBE_NS_IPC,    KUBE_NS_UTS,
      KUBE_NS_USER,    KUBE_NS_CGROUP, KUBE_NS_PID};
  unsigned pinned = kube_runtime_sandbox_pinned(dir);
  if (!(pinned & (1u << KUBE_NS_NETWORK)))
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "sandbox %s: no pinned network namespace", dir);
  kube_rt_namespace_t *ns = realloc(
      c->namespaces, (c->n_namespaces + ARRAY_SIZE(joinable) + 1) * sizeof *ns);
  if (!ns)
    return kube_make_oom(err);
  c->namespaces = ns;
  for (size_t j = 0; j < ARRAY_SIZE(joinable); j++) {
    kube_ns_type_t t = joinable[j];
    if (!(pinned & (1u << t)))
      continue;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, kube_ns_file_name(t)) < 0)
      return kube_make_oom(err);
    size_t i;
    for (i = 0; i < c->n_namespaces; i++)
      if (c->namespaces[i].type == t)
        break;
    if (i == c->n_namespaces)
      c->namespaces[c->n_namespaces++].type = t;
    free(c->namespaces[i].path);
    c->namespaces[i].path = path;
    if (t == KUBE_NS_UTS) {
      free(c->hostname);
      c->hostname = NULL;
    }
    if (t == KUBE_NS_USER) {
      /* The sandbox's user namespace has its maps already. */
      free(c->uid_mappings);
      free(c->gid_mappings);
      c->uid_mappings = c->gid_mappings = NULL;
      c->n_uid_mappings = c->n_gid_mappings = 0;
    }
  }
  return 0;
}
