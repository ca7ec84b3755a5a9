/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `kubectl rollout status|history|undo|pause|resume|restart` compute
 * (k8s.io/kubectl's rollout status viewers, history viewer, rollbacker,
 * pauser, resumer and restarter), with kubectl's wording, over the
 * synchronous client.
 */
#include <stdarg.h>

#include "client/describe.h"
#include "core/util.h"

#define REVISION "deployment.kubernetes.io/revision"
#define CHANGE_CAUSE "kubernetes.io/change-cause"
#define HASH_LABEL "pod-template-hash"

static json_object *jobj(json_object *o, const char *k) {
  json_object *v = NULL;
  return o && json_object_object_get_ex(o, k, &v) &&
                 json_object_is_type(v, json_type_object)
             ? v
             : NULL;
}

static int64_t jint(json_object *o, const char *path, int64_t def) {
  json_object *v = kube_json_get(o, path);
  return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : def;
}

static const char *jstr(json_object *o, const char *path) {
  const char *s = kube_json_get_string(o, path);
  return s ? s : "";
}

/* metadata.annotations[key] (keys have dots: no dotted path). */
static const char *annotation(json_object *o, const char *key) {
  json_object *a = jobj(jobj(o, "metadata"), "annotations");
  json_object *v = NULL;
  return a && json_object_object_get_ex(a, key, &v) &&
                 json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* deploymentutil.Revision: 0 without the annotation, -1 when malformed. */
static int64_t revision_of(json_object *o) {
  json_object *a = jobj(jobj(o, "metadata"), "annotations");
  json_object *r = NULL;
  if (!a || !json_object_object_get_ex(a, REVISION, &r))
    return 0;
  const char *s = json_object_get_string(r);
  char *end;
  long long x = strtoll(s ? s : "", &end, 10);
  return s && *s && !*end ? x : -1;
}

/* ------------------------------------------------------------------------ */
/* status                                                                    */
/* ------------------------------------------------------------------------ */

static int set_msg(char **msg, kube_error_t *err, const char *fmt, ...)
    KUBE_PRINTF(3, 4);
static int set_msg(char **msg, kube_error_t *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    *msg = NULL;
    return kube_make_oom(err);
  }
  return 0;
}

static int deployment_status(json_object *d, int64_t revision, char **msg,
                             bool *done, kube_error_t *err) {
  const char *name = jstr(d, "metadata.name");
  if (revision > 0) {
    int64_t rev = revision_of(d);
    if (rev < 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "cannot get the revision of deployment \"%s\"",
                            name);
    if (rev != revision)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "desired revision (%lld) is different from the "
                            "running revision (%lld)",
                            (long long)revision, (long long)rev);
  }
  int64_t gen = jint(d, "metadata.generation", 0);
  json_object *st = jobj(d, "status");
  if (gen > jint(st, "observedGeneration", 0)) {
    *done = false;
    return set_msg(msg, err,
                   "Waiting for deployment spec update to be observed...\n");
  }
  json_object *conds = kube_json_get(st, "conditions");
  for (size_t i = 0; json_object_is_type(conds, json_type_array) &&
                     i < json_object_array_length(conds);
       i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (streq(jstr(c, "type"), "Progressing") &&
        streq(jstr(c, "reason"), "ProgressDeadlineExceeded"))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "deployment \"%s\" exceeded its progress deadline",
                            name);
  }
  json_object *rv = kube_json_get(d, "spec.replicas");
  int64_t updated = jint(st, "updatedReplicas", 0);
  int64_t replicas = jint(st, "replicas", 0);
  int64_t available = jint(st, "availableReplicas", 0);
  *done = false;
  if (rv && updated < json_object_get_int64(rv))
    return set_msg(msg, err,
                   "Waiting for deployment \"%s\" rollout to finish: %lld out "
                   "of %lld new replicas have been updated...\n",
                   name, (long long)updated,
                   (long long)json_object_get_int64(rv));
  if (replicas > updated)
    return set_msg(msg, err,
                   "Waiting for deployment \"%s\" rollout to finish: %lld old "
                   "replicas are pending termination...\n",
                   name, (long long)(replicas - updated));
  if (available < updated)
    return set_msg(msg, err,
                   "Waiting for deployment \"%s\" rollout to finish: %lld of "
                   "%lld updated replicas are available...\n",
                   name, (long long)available, (long long)updated);
  *done = true;
  return set_msg(msg, err, "deployment \"%s\" successfully rolled out\n", name);
}

static int daemonset_status(json_object *d, char **msg, bool *done,
                            kube_error_t *err) {
  const char *name = jstr(d, "metadata.name");
  const char *type = kube_json_get_string(d, "spec.updateStrategy.type");
  if (type && !streq(type, "RollingUpdate")) {
    *done = true;
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "rollout status is only available for RollingUpdate "
                          "strategy type");
  }
  json_object *st = jobj(d, "status");
  *done = false;
  if (jint(d, "metadata.generation", 0) > jint(st, "observedGeneration", 0))
    return set_msg(msg, err,
                   "Waiting for daemon set spec update to be observed...\n");
  int64_t want = jint(st, "desiredNumberScheduled", 0);
  int64_t updated = jint(st, "updatedNumberScheduled", 0);
  int64_t avail = jint(st, "numberAvailable", 0);
  if (updated < want)
    return set_msg(msg, err,
                   "Waiting for daemon set \"%s\" rollout to finish: %lld out "
                   "of %lld new pods have been updated...\n",
                   name, (long long)updated, (long long)want);
  if (avail < want)
    return set_msg(msg, err,
                   "Waiting for daemon set \"%s\" rollout to finish: %lld of "
                   "%lld updated pods are available...\n",
                   name, (long long)avail, (long long)want);
  *done = true;
  return set_msg(msg, err, "daemon set \"%s\" successfully rolled out\n", name);
}

static int statefulset_status(json_object *s, char **msg, bool *done,
                              kube_error_t *err) {
  const char *type = kube_json_get_string(s, "spec.updateStrategy.type");
  if (type && !streq(type, "RollingUpdate")) {
    *done = true;
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "rollout status is only available for RollingUpdate "
                          "strategy type");
  }
  json_object *st = jobj(s, "status");
  *done = false;
  int64_t og = jint(st, "observedGeneration", 0);
  if (og == 0 || jint(s, "metadata.generation", 0) > og)
    return set_msg(msg, err,
                   "Waiting for statefulset spec update to be observed...\n");
  json_object *rv = kube_json_get(s, "spec.replicas");
  int64_t ready = jint(st, "readyReplicas", 0);
  if (rv && ready < json_object_get_int64(rv))
    return set_msg(msg, err, "Waiting for %lld pods to be ready...\n",
                   (long long)(json_object_get_int64(rv) - ready));
  json_object *ru = kube_json_get(s, "spec.updateStrategy.rollingUpdate");
  int64_t updated = jint(st, "updatedReplicas", 0);
  if (json_object_is_type(ru, json_type_object)) {
    json_object *part = kube_json_get(ru, "partition");
    if (rv && part) {
      int64_t target = json_object_get_int64(rv) - json_object_get_int64(part);
      if (updated < target)
        return set_msg(
            msg, err,
            "Waiting for partitioned roll out to finish: %lld out of "
            "%lld new pods have been updated...\n",
            (long long)updated, (long long)target);
    }
    *done = true;
    return set_msg(msg, err,
                   "partitioned roll out complete: %lld new pods have been "
                   "updated...\n",
                   (long long)updated);
  }
  const char *ur = jstr(st, "updateRevision"),
             *cr = jstr(st, "currentRevision");
  if (!streq(ur, cr))
    return set_msg(msg, err,
                   "waiting for statefulset rolling update to complete %lld "
                   "pods at revision %s...\n",
                   (long long)updated, ur);
  *done = true;
  return set_msg(msg, err,
                 "statefulset rolling update complete %lld pods at revision "
                 "%s...\n",
                 (long long)jint(st, "currentReplicas", 0), cr);
}

KUBE_EXPORT int kube_rollout_status(const kube_object_t *obj, int64_t revision,
                                    char **msg, bool *done, kube_error_t *err) {
  *msg = NULL;
  *done = false;
  json_object *o = kube_object_json(obj);
  const char *kind = kube_object_kind(obj);
  const char *av = kube_object_api_version(obj);
  if (!kind || !av || !streq(av, "apps/v1"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "no status viewer has been implemented for %s",
                          kind ? kind : "this kind");
  if (streq(kind, "Deployment"))
    return deployment_status(o, revision, msg, done, err);
  if (streq(kind, "DaemonSet"))
    return daemonset_status(o, msg, done, err);
  if (streq(kind, "StatefulSet"))
    return statefulset_status(o, msg, done, err);
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "no status viewer has been implemented for %s", kind);
}

/* ------------------------------------------------------------------------ */
/* the Deployment's ReplicaSets                                              */
/* ------------------------------------------------------------------------ */

struct rsl {
  json_object **v;
  size_t n;
  kube_object_t *list; /* owns the trees */
};

static void rsl_clear(struct rsl *l) {
  free(l->v);
  kube_object_free(l->list);
}

int client_rollout_skipped(char **result, int64_t revision, kube_error_t *err) {
  return asprintf(result,
                  "skipped rollback (current template already matches "
                  "revision %lld)",
                  (long long)revision) < 0
             ? kube_make_oom(err)
             : 0;
}

bool client_rollout_controlled_by(json_object *obj, const char *uid) {
  json_object *refs = kube_json_get(obj, "metadata.ownerReferences");
  for (size_t k = 0; json_object_is_type(refs, json_type_array) &&
                     k < json_object_array_length(refs);
       k++) {
    json_object *r = json_object_array_get_idx(refs, k);
    json_object *ctrl = kube_json_get(r, "controller");
    if (ctrl && json_object_get_boolean(ctrl) && streq(jstr(r, "uid"), uid))
      return true;
  }
  return false;
}

/* GetAllReplicaSets: the ReplicaSets the Deployment's selector lists and
 * the Deployment controls. */
static int deployment_rs(kube_client_t *c, json_object *d, struct rsl *out,
                         kube_error_t *err) {
  memset(out, 0, sizeof *out);
  const kube_kind_t *rk = kube_kind_by_resource("apps", "v1", "replicasets");
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  kube_json_format_label_selector(&sel, kube_json_get(d, "spec.selector"));
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = sel.data};
  out->list =
      rk ? kube_client_list(c, rk, jstr(d, "metadata.namespace"), &lo, err)
         : NULL;
  kube_strbuf_clear(&sel);
  if (!out->list)
    return kube_error_wrap(err,
                           "failed to retrieve replica sets from "
                           "deployment %s",
                           jstr(d, "metadata.name"));
  json_object *items = kube_json_get(kube_object_json(out->list), "items");
  size_t n = json_object_is_type(items, json_type_array)
                 ? json_object_array_length(items)
                 : 0;
  out->v = calloc(n + 1, sizeof *out->v);
  if (!out->v)
    return kube_make_oom(err);
  const char *uid = jstr(d, "metadata.uid");
  for (size_t i = 0; i < n; i++) {
    json_object *rs = json_object_array_get_idx(items, i);
    if (client_rollout_controlled_by(rs, uid))
      out->v[out->n++] = rs;
  }
  return 0;
}

static json_object *without_hash(json_object *tmpl) {
  json_object *c = NULL;
  if (json_object_deep_copy(tmpl, &c, NULL) < 0)
    return NULL;
  json_object *labels = kube_json_get(c, "metadata.labels");
  if (json_object_is_type(labels, json_type_object))
    json_object_object_del(labels, HASH_LABEL);
  return c;
}

/* equalIgnoreHash over templates that went through the same defaulting:
 * the JSON texts without the hash label. */
static bool equal_ignore_hash(json_object *a, json_object *b) {
  json_object *x = without_hash(a), *y = without_hash(b);
  bool eq = x && y && json_object_equal(x, y);
  json_object_put(x);
  json_object_put(y);
  return eq;
}

char *client_rollout_print_template(json_object *tmpl) {
  struct describe d = {.now = time(NULL)};
  client_tabw_init(&d.t, 0, 2);
  client_describe_pod_template(&d, tmpl);
  char *s = kube_strbuf_steal(&d.t.text);
  return s;
}

/* ------------------------------------------------------------------------ */
/* history                                                                   */
/* ------------------------------------------------------------------------ */

static int cmp_rev(const void *a, const void *b) {
  int64_t x = revision_of(*(json_object *const *)a);
  int64_t y = revision_of(*(json_object *const *)b);
  return x < y ? -1 : x > y;
}

static kube_object_t *get_deployment(kube_client_t *c, const char *ns,
                                     const char *name, kube_error_t *err) {
  const kube_kind_t *dk = kube_kind_by_resource("apps", "v1", "deployments");
  kube_object_t *d = dk ? kube_client_get(c, dk, ns, name, err) : NULL;
  if (!d)
    kube_error_wrap(err, "failed to retrieve deployment %s", name);
  return d;
}

KUBE_EXPORT int kube_rollout_history(kube_client_t *c, const char *ns,
                                     const char *name, int64_t revision,
                                     char **out, kube_error_t *err) {
  *out = NULL;
  kube_object_t *dobj = get_deployment(c, ns, name, err);
  if (!dobj)
    return -1;
  struct rsl l;
  int rc = deployment_rs(c, kube_object_json(dobj), &l, err);
  kube_object_free(dobj);
  if (rc < 0) {
    rsl_clear(&l);
    return -1;
  }
  /* One template per revision (a later ReplicaSet with the same revision
   * wins, as the map assignment does). */
  size_t n = 0;
  for (size_t i = 0; i < l.n; i++)
    if (revision_of(l.v[i]) >= 0)
      l.v[n++] = l.v[i];
  l.n = n;
  if (!l.n) {
    rsl_clear(&l);
    *out = strdup("No rollout history found.");
    return *out ? 0 : kube_make_oom(err);
  }
  qsort(l.v, l.n, sizeof *l.v, cmp_rev);
  if (revision > 0) {
    json_object *found = NULL;
    for (size_t i = 0; i < l.n; i++)
      if (revision_of(l.v[i]) == revision)
        found = l.v[i];
    if (!found) {
      rsl_clear(&l);
      return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                            "unable to find the specified revision");
    }
    json_object *tmpl = NULL;
    json_object_deep_copy(kube_json_get(found, "spec.template"), &tmpl, NULL);
    const char *cause = annotation(found, CHANGE_CAUSE);
    if (tmpl && cause && *cause) {
      json_object *meta = jobj(tmpl, "metadata");
      if (!meta) {
        meta = json_object_new_object();
        json_object_object_add(tmpl, "metadata", meta);
      }
      json_object *ann = jobj(meta, "annotations");
      if (!ann) {
        ann = json_object_new_object();
        json_object_object_add(meta, "annotations", ann);
      }
      json_object_object_add(ann, CHANGE_CAUSE, json_object_new_string(cause));
    }
    *out = tmpl ? client_rollout_print_template(tmpl) : NULL;
    json_object_put(tmpl);
    rsl_clear(&l);
    return *out ? 0 : kube_make_oom(err);
  }
  struct client_tabw t;
  client_tabw_init(&t, 0, 2);
  client_tabw_printf(&t, "REVISION\tCHANGE-CAUSE\n");
  for (size_t i = 0; i < l.n; i++) {
    /* Duplicates of a revision print once (map keys). */
    if (i + 1 < l.n && revision_of(l.v[i]) == revision_of(l.v[i + 1]))
      continue;
    const char *cause = annotation(l.v[i], CHANGE_CAUSE);
    client_tabw_printf(&t, "%lld\t%s\n", (long long)revision_of(l.v[i]),
                       cause && *cause ? cause : "<none>");
  }
  *out = client_tabw_render(&t);
  rsl_clear(&l);
  return *out ? 0 : kube_make_oom(err);
}

/* ------------------------------------------------------------------------ */
/* undo                                                                      */
/* ------------------------------------------------------------------------ */

static bool skipped_annotation(const char *k) {
  static const char *const skip[] = {
      "kubectl.kubernetes.io/last-applied-configuration",
      REVISION,
      "deployment.kubernetes.io/revision-history",
      "deployment.kubernetes.io/desired-replicas",
      "deployment.kubernetes.io/max-replicas",
      "deprecated.deployment.rollback.to",
  };
  for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
    if (streq(k, skip[i]))
      return true;
  return false;
}

KUBE_EXPORT int kube_rollout_undo(kube_client_t *c, const char *ns,
                                  const char *name, int64_t to_revision,
                                  const char *dry_run, char **result,
                                  kube_error_t *err) {
  *result = NULL;
  if (to_revision < 0)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "unable to find specified revision %lld in history",
                          (long long)to_revision);
  kube_object_t *dobj = get_deployment(c, ns, name, err);
  if (!dobj)
    return -1;
  json_object *d = kube_object_json(dobj);
  struct rsl l;
  int rc = -1;
  if (deployment_rs(c, d, &l, err) < 0)
    goto out;
  json_object *target = NULL, *latest = NULL;
  int64_t latest_rev = -1, prev_rev = -1;
  for (size_t i = 0; i < l.n; i++) {
    int64_t v = revision_of(l.v[i]);
    if (v < 0)
      continue;
    if (to_revision == 0) {
      if (latest_rev < v) {
        prev_rev = latest_rev;
        target = latest;
        latest_rev = v;
        latest = l.v[i];
      } else if (prev_rev < v) {
        prev_rev = v;
        target = l.v[i];
      }
    } else if (to_revision == v) {
      target = l.v[i];
      break;
    }
  }
  if (!target) {
    if (to_revision > 0)
      kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                     "unable to find specified revision %lld in history",
                     (long long)to_revision);
    else
      kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                     "no rollout history found for deployment \"%s\"", name);
    goto out;
  }
  json_object *rtmpl = kube_json_get(target, "spec.template");
  if (dry_run && streq(dry_run, "client")) {
    *result = client_rollout_print_template(rtmpl);
    rc = *result ? 0 : kube_make_oom(err);
    goto out;
  }
  json_object *paused = kube_json_get(d, "spec.paused");
  if (paused && json_object_get_boolean(paused)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "you cannot rollback a paused deployment; resume it first "
                   "with 'kubectl rollout resume' and try again");
    goto out;
  }
  if (equal_ignore_hash(rtmpl, kube_json_get(d, "spec.template"))) {
    int64_t rev = to_revision ? to_revision : revision_of(target);
    rc = client_rollout_skipped(result, rev, err);
    goto out;
  }
  /* The JSON patch kubectl sends: the template without its hash label, and
   * the annotations (the Deployment's own for the skipped keys, the
   * ReplicaSet's for the others). */
  json_object *tmpl = without_hash(rtmpl);
  json_object *ann = json_object_new_object();
  json_object *dann = kube_json_get(d, "metadata.annotations");
  json_object *rann = kube_json_get(target, "metadata.annotations");
  if (json_object_is_type(dann, json_type_object)) {
    json_object_object_foreach(dann, k, v) {
      if (skipped_annotation(k))
        json_object_object_add(ann, k, json_object_get(v));
    }
  }
  if (json_object_is_type(rann, json_type_object)) {
    json_object_object_foreach(rann, k2, v2) {
      if (!skipped_annotation(k2))
        json_object_object_add(ann, k2, json_object_get(v2));
    }
  }
  json_object *patch = json_object_new_array();
  json_object *op1 = json_object_new_object(), *op2 = json_object_new_object();
  json_object_object_add(op1, "op", json_object_new_string("replace"));
  json_object_object_add(op1, "path", json_object_new_string("/spec/template"));
  json_object_object_add(op1, "value", tmpl);
  json_object_object_add(op2, "op", json_object_new_string("replace"));
  json_object_object_add(op2, "path",
                         json_object_new_string("/metadata/annotations"));
  json_object_object_add(op2, "value", ann);
  json_object_array_add(patch, op1);
  json_object_array_add(patch, op2);
  const kube_kind_t *dk = kube_kind_by_resource("apps", "v1", "deployments");
  /* --dry-run=server: the same patch with dryRun=All (validated and
   * admitted by the server, stored nowhere). */
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run =
                                        dry_run && streq(dry_run, "server"),
                                    .grace_period = -1};
  kube_object_t *res = kube_client_patch(
      c, dk, ns, name, NULL, KUBE_PATCH_JSON,
      json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN), &wo, err);
  json_object_put(patch);
  if (!res) {
    kube_error_wrap(
        err, "failed restoring revision %lld",
        (long long)(to_revision ? to_revision : revision_of(target)));
    goto out;
  }
  kube_object_free(res);
  *result = strdup("rolled back");
  rc = *result ? 0 : kube_make_oom(err);
out:
  rsl_clear(&l);
  kube_object_free(dobj);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* pause, resume, restart                                                    */
/* ------------------------------------------------------------------------ */

KUBE_EXPORT int kube_rollout_set(kube_client_t *c, const kube_kind_t *kind,
                                 const char *ns, const char *name,
                                 kube_rollout_action_t action, char **result,
                                 kube_error_t *err) {
  *result = NULL;
  bool deployment =
      streq(kind->kind, "Deployment") && streq(kind->group, "apps");
  bool ds = streq(kind->kind, "DaemonSet") && streq(kind->group, "apps");
  bool sts = streq(kind->kind, "StatefulSet") && streq(kind->group, "apps");
  char resource[160];
  snprintf(resource, sizeof resource, "%s%s%s", kind->resource,
           *kind->group ? "." : "", kind->group);
  if ((action != KUBE_ROLLOUT_RESTART && !deployment) ||
      (action == KUBE_ROLLOUT_RESTART && !deployment && !ds && !sts))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s \"%s\" %s is not supported", resource, name,
                          action == KUBE_ROLLOUT_PAUSE    ? "pausing"
                          : action == KUBE_ROLLOUT_RESUME ? "resuming"
                                                          : "restarting");
  kube_object_t *obj = kube_client_get(c, kind, ns, name, err);
  if (!obj)
    return -1;
  json_object *o = kube_object_json(obj);
  json_object *pv = kube_json_get(o, "spec.paused");
  bool paused = pv && json_object_get_boolean(pv);
  const char *patch = NULL;
  char buf[256];
  int rc = -1;
  switch (action) {
  case KUBE_ROLLOUT_PAUSE:
    if (paused) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "%s \"%s\" is already paused", resource, name);
      goto out;
    }
    patch = "{\"spec\":{\"paused\":true}}";
    break;
  case KUBE_ROLLOUT_RESUME:
    if (!paused) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s \"%s\" is not paused",
                     resource, name);
      goto out;
    }
    patch = "{\"spec\":{\"paused\":null}}";
    break;
  case KUBE_ROLLOUT_RESTART: {
    if (deployment && paused) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "%s \"%s\" can't restart paused deployment (run rollout "
                     "resume first)",
                     resource, name);
      goto out;
    }
    const char *st = kube_json_get_string(o, "spec.updateStrategy.type");
    if ((ds || sts) && st && streq(st, "OnDelete")) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "%s \"%s\" can't restart %s with OnDelete update strategy",
                     resource, name, ds ? "daemonset" : "statefulset");
      goto out;
    }
    char now[40];
    kube_time_format(time(NULL), now, sizeof now);
    json_object *tann = kube_json_get(o, "spec.template.metadata.annotations");
    json_object *cv = NULL;
    const char *cur =
        json_object_is_type(tann, json_type_object) &&
                json_object_object_get_ex(
                    tann, "kubectl.kubernetes.io/restartedAt", &cv)
            ? json_object_get_string(cv)
            : NULL;
    if (cur && streq(cur, now)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "failed to create patch for %s: if restart has already "
                     "been triggered within the past second, please wait "
                     "before attempting to trigger another",
                     name);
      goto out;
    }
    snprintf(buf, sizeof buf,
             "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{"
             "\"kubectl.kubernetes.io/restartedAt\":\"%s\"}}}}}",
             now);
    patch = buf;
    break;
  }
  }
  kube_object_t *res = kube_client_patch(
      c, kind, ns, name, NULL, KUBE_PATCH_STRATEGIC, patch, NULL, err);
  if (!res)
    goto out;
  kube_object_free(res);
  *result = strdup(action == KUBE_ROLLOUT_PAUSE    ? "paused"
                   : action == KUBE_ROLLOUT_RESUME ? "resumed"
                                                   : "restarted");
  rc = *result ? 0 : kube_make_oom(err);
out:
  kube_object_free(obj);
  return rc;
}
