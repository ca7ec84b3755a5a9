/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kubectl rollout history|undo` of DaemonSets and StatefulSets:
 * k8s.io/kubectl's DaemonSetHistoryViewer / StatefulSetHistoryViewer and
 * their rollbackers, over the ControllerRevisions the set controls (its
 * selector lists them).  A revision's data is the strategic merge patch
 * {"spec":{"template":{..., "$patch":"replace"}}}: its template is the
 * revision's, and undo sends it back as is.
 */
#include "client/describe.h"
#include "core/util.h"

#define CHANGE_CAUSE "kubernetes.io/change-cause"

struct revs {
  json_object **v; /* borrowed from list, by revision */
  size_t n;
  kube_object_t *set, *list;
};

static void revs_clear(struct revs *r) {
  free(r->v);
  kube_object_free(r->list);
  kube_object_free(r->set);
}

static int64_t rev_of(json_object *r) {
  json_object *v = kube_json_get(r, "revision");
  return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static int by_rev(const void *a, const void *b) {
  int64_t x = rev_of(*(json_object *const *)a);
  int64_t y = rev_of(*(json_object *const *)b);
  return x < y ? -1 : x > y;
}

static bool is_set_kind(const kube_kind_t *k) {
  return k && streq(k->group, "apps") &&
         (streq(k->kind, "DaemonSet") || streq(k->kind, "StatefulSet"));
}

/* controlledHistories: the set and the revisions its selector lists that
 * it controls, oldest first. */
static int history_of(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                      const char *name, struct revs *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  if (!is_set_kind(kind))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "no history viewer has been implemented for %s",
                          kind ? kind->kind : "this kind");
  const kube_kind_t *ck =
      kube_kind_by_resource("apps", "v1", "controllerrevisions");
  if (!(out->set = kube_client_get(c, kind, ns, name, err)))
    return -1;
  json_object *set = kube_object_json(out->set);
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  kube_json_format_label_selector(&sel, kube_json_get(set, "spec.selector"));
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = sel.data};
  out->list = ck ? kube_client_list(c, ck, ns, &lo, err) : NULL;
  kube_strbuf_clear(&sel);
  if (!out->list)
    return -1;
  json_object *items = kube_json_get(kube_object_json(out->list), "items");
  size_t n = json_object_is_type(items, json_type_array)
                 ? json_object_array_length(items)
                 : 0;
  if (!(out->v = calloc(n + 1, sizeof *out->v)))
    return kube_make_oom(err);
  const char *uid = kube_json_get_string(set, "metadata.uid");
  for (size_t i = 0; uid && i < n; i++) {
    json_object *r = json_object_array_get_idx(items, i);
    if (client_rollout_controlled_by(r, uid))
      out->v[out->n++] = r;
  }
  qsort(out->v, out->n, sizeof *out->v, by_rev);
  return 0;
}

/* The template a revision restores, without the patch directive (owned). */
static json_object *rev_template(json_object *r) {
  json_object *t = NULL;
  if (json_object_deep_copy(kube_json_get(r, "data.spec.template"), &t, NULL) <
          0 ||
      !json_object_is_type(t, json_type_object)) {
    json_object_put(t);
    return NULL;
  }
  json_object_object_del(t, "$patch");
  return t;
}

/* The revision numbered n; with n == 0 the previous one (findHistory). */
static json_object *find_rev(struct revs *h, int64_t n) {
  if (n == 0)
    return h->n > 1 ? h->v[h->n - 2] : NULL;
  json_object *found = NULL;
  for (size_t i = 0; i < h->n; i++)
    if (rev_of(h->v[i]) == n)
      found = h->v[i]; /* the last of equal numbers, as a map keeps it */
  return found;
}

KUBE_EXPORT int kube_rollout_revisions_history(kube_client_t *c,
                                               const kube_kind_t *kind,
                                               const char *ns, const char *name,
                                               int64_t revision, char **out,
                                               kube_error_t *err) {
  *out = NULL;
  struct revs h;
  if (history_of(c, kind, ns, name, &h, err) < 0) {
    revs_clear(&h);
    return -1;
  }
  int rc = 0;
  if (!h.n) {
    *out = strdup("No rollout history found.");
  } else if (revision > 0) {
    json_object *r = find_rev(&h, revision);
    json_object *t = r ? rev_template(r) : NULL;
    if (!r)
      rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "unable to find the specified revision");
    else if (!t)
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unable to parse history %s",
                          kube_json_get_string(r, "metadata.name"));
    else
      *out = client_rollout_print_template(t);
    json_object_put(t);
  } else {
    struct client_tabw t;
    client_tabw_init(&t, 0, 2);
    client_tabw_printf(&t, "REVISION\tCHANGE-CAUSE\n");
    for (size_t i = 0; i < h.n; i++) {
      if (i + 1 < h.n && rev_of(h.v[i]) == rev_of(h.v[i + 1]))
        continue; /* one row per number */
      json_object *ann = kube_json_get(h.v[i], "metadata.annotations");
      json_object *cause = NULL;
      const char *cs =
          json_object_is_type(ann, json_type_object) &&
                  json_object_object_get_ex(ann, CHANGE_CAUSE, &cause)
              ? json_object_get_string(cause)
              : NULL;
      client_tabw_printf(&t, "%lld\t%s\n", (long long)rev_of(h.v[i]),
                         cs && *cs ? cs : "<none>");
    }
    *out = client_tabw_render(&t);
  }
  revs_clear(&h);
  if (rc < 0)
    return -1;
  return *out ? 0 : kube_make_oom(err);
}

KUBE_EXPORT int kube_rollout_revisions_undo(kube_client_t *c,
                                            const kube_kind_t *kind,
                                            const char *ns, const char *name,
                                            int64_t to_revision,
                                            const char *dry_run, char **result,
                                            kube_error_t *err) {
  *result = NULL;
  struct revs h;
  int rc = -1;
  json_object *t = NULL;
  if (history_of(c, kind, ns, name, &h, err) < 0)
    goto out;
  if (to_revision == 0 && h.n <= 1) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "no last revision to roll back to");
    goto out;
  }
  json_object *r = to_revision >= 0 ? find_rev(&h, to_revision) : NULL;
  if (!r) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "unable to find specified revision %lld in history",
                   (long long)to_revision);
    goto out;
  }
  if (!(t = rev_template(r))) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "unable to parse history %s",
                   kube_json_get_string(r, "metadata.name"));
    goto out;
  }
  if (dry_run && streq(dry_run, "client")) {
    char *s = client_rollout_print_template(t);
    rc = s && asprintf(result, "will roll back to %s", s) >= 0
             ? 0
             : kube_make_oom(err);
    free(s);
    goto out;
  }
  if (json_object_equal(
          t, kube_json_get(kube_object_json(h.set), "spec.template"))) {
    rc = client_rollout_skipped(result, to_revision, err);
    goto out;
  }
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run =
                                        dry_run && streq(dry_run, "server"),
                                    .grace_period = -1};
  kube_object_t *res =
      kube_client_patch(c, kind, ns, name, NULL, KUBE_PATCH_STRATEGIC,
                        json_object_to_json_string_ext(kube_json_get(r, "data"),
                                                       JSON_C_TO_STRING_PLAIN),
                        &wo, err);
  if (!res) {
    kube_error_wrap(err, "failed restoring revision %lld",
                    (long long)to_revision);
    goto out;
  }
  kube_object_free(res);
  *result = strdup("rolled back");
  rc = *result ? 0 : kube_make_oom(err);
out:
  json_object_put(t);
  revs_clear(&h);
  return rc;
}
