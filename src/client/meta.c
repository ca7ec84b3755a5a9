/* SPDX-License-Identifier: Apache-2.0 */
/* `kubectl label` / `kubectl annotate`: changes, their merge patch, --list. */
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

KUBE_EXPORT bool kube_meta_change_arg(const char *arg) {
  return strchr(arg, '=') || (strlen(arg) > 1 && str_has_suffix(arg, "-"));
}

KUBE_EXPORT void kube_meta_changes_free(kube_meta_change_t *changes, size_t n) {
  for (size_t i = 0; changes && i < n; i++) {
    free(changes[i].key);
    free(changes[i].value);
  }
  free(changes);
}

KUBE_EXPORT int kube_meta_changes_parse(const char *const *args, size_t n_args,
                                        bool annotations,
                                        kube_meta_change_t **out, size_t *n,
                                        kube_error_t *err) {
  kube_meta_change_t *v = calloc(n_args ? n_args : 1, sizeof *v);
  size_t count = 0;
  *out = NULL;
  *n = 0;
  if (!v)
    return kube_make_oom(err);
  for (size_t i = 0; i < n_args; i++) {
    const char *a = args[i], *eq = strchr(a, '=');
    if (!kube_meta_change_arg(a)) {
      kube_meta_changes_free(v, count);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid %s spec: %s",
                            annotations ? "annotation" : "label", a);
    }
    char *key = eq ? strndup(a, (size_t)(eq - a)) : strndup(a, strlen(a) - 1);
    char *value = eq ? strdup(eq + 1) : NULL;
    if (!key || (eq && !value)) {
      free(key);
      free(value);
      kube_meta_changes_free(v, count);
      return kube_make_oom(err);
    }
    /* Annotation keys follow the label key rules; only label values have
     * rules of their own. */
    if (kube_validate_label_key(key) ||
        (eq && !annotations && kube_validate_label_value(value))) {
      free(key);
      free(value);
      kube_meta_changes_free(v, count);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid %s spec: %s",
                            annotations ? "annotation" : "label", a);
    }
    size_t j = 0;
    while (j < count && !streq(v[j].key, key))
      j++;
    if (j < count) {
      free(key);
      free(v[j].value);
      v[j].value = value;
    } else {
      v[count++] = (kube_meta_change_t){key, value};
    }
  }
  *out = v;
  *n = count;
  return 0;
}

KUBE_EXPORT char *kube_meta_changes_patch(const kube_meta_change_t *changes,
                                          size_t n, bool annotations,
                                          const char *resource_version,
                                          kube_error_t *err) {
  json_object *patch = json_object_new_object(),
              *meta = json_object_new_object(), *m = json_object_new_object();
  if (!patch || !meta || !m) {
    json_object_put(patch);
    json_object_put(meta);
    json_object_put(m);
    return kube_make_oom(err), NULL;
  }
  for (size_t i = 0; i < n; i++)
    json_object_object_add(
        m, changes[i].key,
        changes[i].value ? json_object_new_string(changes[i].value) : NULL);
  json_object_object_add(meta, annotations ? "annotations" : "labels", m);
  if (resource_version)
    json_object_object_add(meta, "resourceVersion",
                           json_object_new_string(resource_version));
  json_object_object_add(patch, "metadata", meta);
  char *s = strdup(json_object_to_json_string_ext(
      patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(patch);
  if (!s)
    kube_make_oom(err);
  return s;
}

KUBE_EXPORT size_t kube_object_foreach_label(
    const kube_object_t *obj, bool annotations,
    void (*fn)(const char *key, const char *value, void *userdata),
    void *userdata) {
  json_object *m =
      kube_json_get(kube_object_json(obj),
                    annotations ? "metadata.annotations" : "metadata.labels");
  size_t n = 0;
  if (!json_object_is_type(m, json_type_object))
    return 0;
  json_object_object_foreach(m, k, v) {
    const char *s = json_object_get_string(v);
    fn(k, s ? s : "", userdata);
    n++;
  }
  return n;
}
