/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers every controller uses: keys, times, label selectors. */
#include "controller/internal.h"

json_object *ctl_json_ensure(json_object *o, const char *key) {
  json_object *v = cj_obj(o, key);
  if (v || !o)
    return v;
  v = json_object_new_object();
  if (v && json_object_object_add(o, key, v) < 0) {
    json_object_put(v);
    return NULL;
  }
  return v;
}

json_object *ctl_json_copy(json_object *o) {
  json_object *c = NULL;
  if (!o || json_object_deep_copy(o, &c, NULL) < 0)
    return NULL;
  return c;
}

int64_t ctl_time_ns(const char *s) {
  struct timespec ts;
  if (!s || !*s || kube_time_parse(s, &ts, NULL) < 0)
    return 0;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Tests move the controllers' clock instead of sleeping (minReadySeconds,
 * progress deadlines). */
static int64_t clock_offset_ns;

void ctl_clock_set_offset(int64_t offset_ns) {
  clock_offset_ns = offset_ns;
}

int64_t ctl_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + clock_offset_ns;
}

char *ctl_now_rfc3339(char *buf, size_t len) {
  return kube_time_format((time_t)(ctl_now_ns() / 1000000000), buf, len);
}

char *ctl_key(const char *ns, const char *name) {
  char *k = NULL;
  if (ns && *ns) {
    if (asprintf(&k, "%s/%s", ns, name) < 0)
      return NULL;
    return k;
  }
  return strdup(name);
}

void ctl_split_key(const char *key, char *ns, size_t nslen, const char **name) {
  const char *slash = strchr(key, '/');
  if (!slash) {
    if (nslen)
      ns[0] = '\0';
    *name = key;
    return;
  }
  snprintf(ns, nslen, "%.*s", (int)(slash - key), key);
  *name = slash + 1;
}

/* ---- selectors ---- */

kube_selector_t *ctl_label_selector(json_object *sel, kube_error_t *err) {
  if (sel)
    return kube_json_label_selector(sel, err);
  /* LabelSelectorAsSelector(nil) is labels.Nothing(): "x" and "!x"
   * together, which no label set meets. */
  kube_selector_t *s = kube_selector_new();
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  if (kube_selector_add(s, "x", KUBE_SELECTOR_EXISTS, NULL, 0, err) < 0 ||
      kube_selector_add(s, "x", KUBE_SELECTOR_DOES_NOT_EXIST, NULL, 0, err) <
          0) {
    kube_selector_free(s);
    return NULL;
  }
  return s;
}

const char *ctl_pairs_get(char *const *pairs, const char *key) {
  for (size_t i = 0; pairs && pairs[i]; i += 2)
    if (streq(pairs[i], key))
      return pairs[i + 1];
  return NULL;
}

static const char *pairs_lookup(void *ctx, const char *key) {
  return ctl_pairs_get(ctx, key);
}

bool ctl_selector_matches_pairs(const kube_selector_t *sel,
                                char *const *pairs) {
  return kube_selector_matches(sel, pairs_lookup, (void *)pairs);
}

bool ctl_map_subset_of_pairs(json_object *map, char *const *pairs) {
  if (!map)
    return true;
  json_object_object_foreach(map, k, v) {
    const char *have = ctl_pairs_get(pairs, k);
    const char *want = json_object_get_string(v);
    if (!have || !want || !streq(have, want))
      return false;
  }
  return true;
}

char *ctl_json_take_text(json_object *o) {
  char *text =
      o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN))
        : NULL;
  json_object_put(o);
  return text;
}

void ctl_copy_template_meta(json_object *meta, json_object *tmeta,
                            bool finalizers) {
  static const char *const copied[] = {"labels", "annotations", "finalizers"};
  for (size_t i = 0; i < ARRAY_SIZE(copied) - !finalizers; i++) {
    json_object *v = cj(tmeta, copied[i]);
    if (v)
      cj_set(meta, copied[i], ctl_json_copy(v));
  }
}

json_object *ctl_disruption_conditions(json_object *pod, const char *reason,
                                       const char *message) {
  char now[40];
  json_object *conds =
      ctl_json_copy(cj_arr(cj_obj(pod, "status"), "conditions"));
  if (!conds)
    conds = json_object_new_array();
  json_object *c = NULL;
  for (size_t i = 0; i < cj_len(conds) && !c; i++)
    if (streq(cj_str0(cj_at(conds, i), "type"), "DisruptionTarget"))
      c = cj_at(conds, i);
  if (!c) {
    c = json_object_new_object();
    json_object_array_add(conds, c);
  }
  /* UpdatePodCondition: the transition time moves with the status only. */
  bool was_true =
      streq(cj_str0(c, "status"), "True") && cj_str(c, "lastTransitionTime");
  cj_set(c, "type", json_object_new_string("DisruptionTarget"));
  cj_set(c, "status", json_object_new_string("True"));
  cj_set(c, "reason", json_object_new_string(reason));
  cj_set(c, "message", json_object_new_string(message));
  if (!was_true)
    cj_set(c, "lastTransitionTime",
           json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
  return conds;
}
