/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the files of the api module only.
 */
#ifndef KUBE_API_INTERNAL_H
#define KUBE_API_INTERNAL_H

#include <stdint.h>

#include "api/api-private.h"
#include "core/util.h"

/* Borrowed child lookups that check the type; NULL when absent or when the
 * child has another type. */
static inline json_object *jget(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!o || !json_object_is_type(o, json_type_object))
    return NULL;
  if (!json_object_object_get_ex(o, key, &v))
    return NULL;
  return v;
}
static inline json_object *jget_obj(json_object *o, const char *key) {
  json_object *v = jget(o, key);
  return json_object_is_type(v, json_type_object) ? v : NULL;
}
static inline json_object *jget_arr(json_object *o, const char *key) {
  json_object *v = jget(o, key);
  return json_object_is_type(v, json_type_array) ? v : NULL;
}
static inline const char *jget_str(json_object *o, const char *key) {
  json_object *v = jget(o, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : NULL;
}
/* "" instead of NULL. */
static inline const char *jget_str0(json_object *o, const char *key) {
  const char *s = jget_str(o, key);
  return s ? s : "";
}
static inline bool jis_int(json_object *v) {
  return json_object_is_type(v, json_type_int);
}
static inline int64_t jget_int(json_object *o, const char *key, int64_t def) {
  json_object *v = jget(o, key);
  if (json_object_is_type(v, json_type_int))
    return json_object_get_int64(v);
  if (json_object_is_type(v, json_type_double))
    return (int64_t)json_object_get_double(v);
  return def;
}
static inline bool jget_bool(json_object *o, const char *key, bool def) {
  json_object *v = jget(o, key);
  if (json_object_is_type(v, json_type_boolean))
    return json_object_get_boolean(v);
  return def;
}
static inline size_t jarr_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}
/* Element i, or NULL when a is not an array or i is out of range (json-c
 * asserts on a non-array). */
static inline json_object *jarr_at(json_object *a, size_t i) {
  if (!json_object_is_type(a, json_type_array) ||
      i >= json_object_array_length(a))
    return NULL;
  return json_object_array_get_idx(a, i);
}

/* Child object `key` of o, created (empty object) when absent or null.
 * NULL when the child exists with another type or on out-of-memory. */
json_object *api_jensure_obj(json_object *o, const char *key);
/* Set o[key] only when absent (or null); the value is stolen either way. */
void api_jdefault(json_object *o, const char *key, json_object *value);
/* Replace o[key] (value stolen). 0 or -1 on out-of-memory. */
int api_jset(json_object *o, const char *key, json_object *value);

/* Parse an RFC 3339 timestamp string; false when absent or malformed. */
bool api_jget_time(json_object *o, const char *key, time_t *out);

/* Format `labels` (a map of strings) as k=v,k2=v2 sorted by key into sb;
 * appends nothing for an empty or absent map. */
void api_format_labels(kube_strbuf_t *sb, json_object *labels);
/* Format a LabelSelector object as kubectl does ("app=x,tier in (a,b)"). */
void api_format_label_selector(kube_strbuf_t *sb, json_object *sel);

#define KUBE_JSON_MAX_DEPTH 512

/* qos.GetPodQOS over a pod spec: "BestEffort", "Burstable", "Guaranteed". */
const char *api_pod_qos_class(json_object *spec);

/* End of the object/array at the start of data (matching brackets). */
size_t api_json_value_extent(const char *data, size_t len);

/* The volume source fields of a Volume, NULL-terminated (defaults.c). */
extern const char *const api_volume_sources[];

#endif /* KUBE_API_INTERNAL_H */
