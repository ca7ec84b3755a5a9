/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The eviction subresource (POST pods/NAME/eviction, a policy/v1 or
 * v1beta1 Eviction), as kube-apiserver's EvictionREST:
 *
 * - a pod that is Pending, Succeeded, Failed or already being deleted goes
 *   at once (no budget to honour), guarded by its resourceVersion unless
 *   terminal or deleting;
 * - otherwise the PodDisruptionBudgets of its namespace whose selector
 *   selects it decide: none, it goes; more than one, 500; one whose status
 *   is behind its generation, or that allows no disruption, 429
 *   TooManyRequests with a DisruptionBudget cause; else disruptionsAllowed
 *   is decremented and the pod recorded in disruptedPods, written with the
 *   budget's resourceVersion as precondition (a lost race reads the budget
 *   again and decides again), and then the pod is deleted with the
 *   Eviction's deleteOptions and condition DisruptionTarget;
 * - an unready pod of a budget that is healthy anyway (or whose
 *   unhealthyPodEvictionPolicy is AlwaysAllow) goes without taking from it.
 *
 * The reply is a Status Success, code 201.
 */
#include <time.h>

#include "apiserver/internal.h"

/* kube-apiserver's EvictionsRetry: 20 steps. */
#define EVICT_RETRIES 20
/* MaxDisruptedPodSize */
#define MAX_DISRUPTED_PODS 2000

#define VIOLATION                                                              \
  "Cannot evict pod as it would violate the pod's disruption budget."

static const kube_kind_t *pdb_kind(void) {
  return kube_kind_by_resource("policy", "v1", "poddisruptionbudgets");
}

/* The condition `type` of status tree `st` (made when absent), with
 * `status`: its lastTransitionTime moves when the status does (as
 * UpdatePodCondition and SetStatusCondition do).  Borrowed. */
static json_object *set_condition(json_object *st, const char *type,
                                  const char *status) {
  json_object *conds = kube_json_get(st, "conditions");
  if (!json_object_is_type(conds, json_type_array)) {
    conds = json_object_new_array();
    json_object_object_add(st, "conditions", conds);
  }
  json_object *c = NULL;
  for (size_t i = 0; i < json_object_array_length(conds); i++) {
    json_object *e = json_object_array_get_idx(conds, i);
    if (streq(kube_json_get_string(e, "type") ?: "", type))
      c = e;
  }
  if (!c) {
    c = json_object_new_object();
    json_object_array_add(conds, c);
    json_object_object_add(c, "type", json_object_new_string(type));
  }
  if (!streq(kube_json_get_string(c, "status") ?: "", status)) {
    char ts[40];
    json_object_object_add(
        c, "lastTransitionTime",
        json_object_new_string(as_now_rfc3339(ts, sizeof ts)));
  }
  json_object_object_add(c, "status", json_object_new_string(status));
  return c;
}

void as_pod_disruption_target(json_object *pod) {
  json_object *st = kube_json_get(pod, "status");
  if (!json_object_is_type(st, json_type_object)) {
    st = json_object_new_object();
    json_object_object_add(pod, "status", st);
  }
  json_object *c = set_condition(st, "DisruptionTarget", "True");
  json_object_object_add(c, "lastProbeTime", NULL);
  json_object_object_add(c, "reason",
                         json_object_new_string("EvictionByEvictionAPI"));
  json_object_object_add(c, "message",
                         json_object_new_string("Eviction API: evicting"));
}

/* ---- replies ---- */

static json_object *evicted_transform(struct req *r, json_object *obj) {
  json_object_put(obj);
  return as_status_success(201);
}

/* 429 with a DisruptionBudget cause (errors.NewTooManyRequests). */
static void reply_too_many(struct req *r, int retry_after, const char *fmt,
                           ...) KUBE_PRINTF(3, 4);
static void reply_too_many(struct req *r, int retry_after, const char *fmt,
                           ...) {
  kube_error_t err = KUBE_ERROR_INIT;
  char *cause = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&cause, fmt, ap) < 0)
    cause = NULL;
  va_end(ap);
  kube_error_set(&err, KUBE_REASON_TOO_MANY_REQUESTS, 0, VIOLATION);
  kube_error_add_cause(&err, NULL, "DisruptionBudget", cause ? cause : "");
  free(cause);
  json_object *st = as_status_object(&err);
  kube_error_clear(&err);
  json_object *d = kube_json_get(st, "details");
  if (retry_after > 0 && json_object_is_type(d, json_type_object))
    json_object_object_add(d, "retryAfterSeconds",
                           json_object_new_int(retry_after));
  as_reply_json(r, 429, st);
}

/* ---- the pod ---- */

static kube_store_record_t *pod_record(struct req *r, kube_error_t *err) {
  cleanup_free char *key = as_store_key(r->rt.kind, r->rt.ns, r->rt.name);
  kube_store_record_t *rec = key ? kube_store_get(r->srv->store, key, err)
                                 : NULL;
  if (!rec) {
    if (!key)
      kube_make_oom(err);
    else
      as_error_not_found(err, r->rt.kind, r->rt.name);
  }
  return rec;
}

/* What one eviction knows while its budget write is in flight. */
struct evict {
  struct req *r;
  struct as_delete_opts o;
  char *pdb_key;
  char *pdb_name;
  int64_t expected; /* the budget's revision the write expects */
  int retries;
};

static void evict_free(struct evict *e) {
  if (!e)
    return;
  as_delete_opts_clear(&e->o);
  free(e->pdb_key);
  free(e->pdb_name);
  free(e);
}

/* Delete the pod (`rec`, or read now when NULL); replies to r. */
static void delete_pod(struct req *r, const kube_store_record_t *rec,
                       struct as_delete_opts *o) {
  kube_store_record_t *own = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (!rec && !(rec = own = pod_record(r, &err))) {
    as_reply_error(r, &err);
    return;
  }
  o->disruption_target = true;
  r->reply_transform = evicted_transform;
  r->evict_deleting = true;
  as_delete_record(r, r->rt.kind, rec, o, 201);
  kube_store_record_unref(own);
}

static bool pod_ready(json_object *pod) {
  json_object *conds = kube_json_get(pod, "status.conditions");
  for (size_t i = 0; json_object_is_type(conds, json_type_array) &&
                     i < json_object_array_length(conds);
       i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (streq(kube_json_get_string(c, "type") ?: "", "Ready"))
      return streq(kube_json_get_string(c, "status") ?: "", "True");
  }
  return false;
}

static const char *pod_phase(json_object *pod) {
  const char *p = kube_json_get_string(pod, "status.phase");
  return p ? p : "";
}

/* canIgnorePDB: the pod causes no disruption (not running yet, finished,
 * or on its way out already). */
static bool can_ignore_budget(json_object *pod) {
  const char *p = pod_phase(pod);
  return streq(p, "Succeeded") || streq(p, "Failed") || streq(p, "Pending") ||
         kube_json_get_string(pod, "metadata.deletionTimestamp");
}

/* shouldEnforceResourceVersion */
static bool enforce_rv(json_object *pod) {
  const char *p = pod_phase(pod);
  return !(streq(p, "Succeeded") || streq(p, "Failed") ||
           kube_json_get_string(pod, "metadata.deletionTimestamp"));
}

/* ---- the budgets ---- */

/* Does budget `pdb` select `pod`?  A selector that is absent, empty or
 * invalid selects nothing here (getPodDisruptionBudgets). */
static bool budget_selects(json_object *pdb, json_object *pod) {
  json_object *sel = kube_json_get(pdb, "spec.selector");
  if (!json_object_is_type(sel, json_type_object))
    return false;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_json_format_label_selector(&sb, sel);
  if (!sb.data || !sb.len) {
    kube_strbuf_clear(&sb);
    return false;
  }
  kube_selector_t *s = kube_label_selector_parse(sb.data, NULL);
  kube_strbuf_clear(&sb);
  bool match = s && !kube_selector_empty(s) &&
               kube_selector_matches(s, kube_json_label_lookup, pod);
  kube_selector_free(s);
  return match;
}

/* The budgets of the pod's namespace that select it: up to two records
 * (owned references) in out; returns how many (2 meaning "more than
 * one"), -1 with err. */
static int budgets_of(struct req *r, json_object *pod,
                      kube_store_record_t *out[2], kube_error_t *err) {
  const kube_kind_t *k = pdb_kind();
  cleanup_free char *prefix = k ? as_store_prefix(k, r->rt.ns) : NULL;
  kube_store_list_t l = {0};
  if (!prefix) {
    kube_make_oom(err);
    return -1;
  }
  if (kube_store_list(r->srv->store, prefix, NULL, 0, &l, err) < 0)
    return -1;
  int n = 0;
  for (size_t i = 0; i < l.n && n < 2; i++) {
    json_object *pdb = as_record_parse(l.items[i], NULL);
    if (pdb && budget_selects(pdb, pod))
      out[n++] = kube_store_record_ref(l.items[i]);
    json_object_put(pdb);
  }
  kube_store_list_clear(&l);
  return n;
}

static int64_t jint_at(json_object *o, const char *path, int64_t def) {
  json_object *v = kube_json_get(o, path);
  return json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
                                               : def;
}

/* pdbhelper.UpdateDisruptionAllowedCondition once no disruption is left:
 * DisruptionAllowed False, InsufficientPods. */
static void set_insufficient(json_object *st) {
  json_object *c = set_condition(st, "DisruptionAllowed", "False");
  if (!kube_json_get(c, "message"))
    json_object_object_add(c, "message", json_object_new_string(""));
  json_object_object_add(c, "reason",
                         json_object_new_string("InsufficientPods"));
  json_object_object_add(
      c, "observedGeneration",
      json_object_new_int64(jint_at(st, "observedGeneration", 0)));
}

static void take_budget(struct evict *e);

static void budget_retry(void *arg) {
  struct evict *e = arg;
  take_budget(e);
}

static void budget_written(const kube_store_record_t *rec,
                           const kube_error_t *werr, void *arg) {
  struct evict *e = arg;
  struct req *r = e->r;
  if (werr && werr->reason == KUBE_REASON_CONFLICT) {
    /* Another write won: read the budget again and decide again. */
    if (++e->retries < EVICT_RETRIES &&
        kube_store_when_settled(r->srv->store, e->pdb_key, e->expected,
                                budget_retry, e, NULL) == 0)
      return;
    kube_error_t err = KUBE_ERROR_INIT;
    kube_error_set(&err, KUBE_REASON_TIMEOUT, 0,
                   "couldn't update PodDisruptionBudget \"%s\" due to "
                   "conflicts",
                   e->pdb_name);
    as_reply_error(r, &err);
    kube_error_clear(&err);
    evict_free(e);
    return;
  }
  if (werr) {
    kube_error_t err = KUBE_ERROR_INIT;
    if (werr->reason == KUBE_REASON_NOT_FOUND)
      as_error_not_found(&err, pdb_kind(), e->pdb_name);
    else
      kube_error_set(&err, werr->reason ? werr->reason : KUBE_REASON_INTERNAL,
                     0, "%s", werr->message ? werr->message : "write failed");
    as_reply_error(r, &err);
    kube_error_clear(&err);
    evict_free(e);
    return;
  }
  /* The budget is taken: a retried request only deletes. */
  r->evict_taken = true;
  delete_pod(r, NULL, &e->o);
  evict_free(e);
}

/* checkAndDecrement on the budget as stored now; replies, or starts the
 * budget's write (which goes on in budget_written).  Frees e unless a
 * write is in flight. */
static void take_budget(struct evict *e) {
  struct req *r = e->r;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *val = NULL;
  kube_store_record_t *rec = kube_store_get(r->srv->store, e->pdb_key, &err);
  json_object *pdb = rec ? as_record_parse(rec, &err) : NULL;
  if (!pdb) {
    if (!rec)
      as_error_not_found(&err, pdb_kind(), e->pdb_name);
    as_reply_error(r, &err);
    goto out;
  }
  json_object *st = kube_json_get(pdb, "status");
  int64_t gen = jint_at(pdb, "metadata.generation", 0);
  int64_t allowed = jint_at(st, "disruptionsAllowed", 0);
  json_object *dp = kube_json_get(st, "disruptedPods");
  if (jint_at(st, "observedGeneration", 0) < gen) {
    reply_too_many(r, 10,
                   "The disruption budget %s is still being processed by "
                   "the server.",
                   e->pdb_name);
    goto out;
  }
  if (allowed < 0 ||
      (json_object_is_type(dp, json_type_object) &&
       json_object_object_length(dp) > MAX_DISRUPTED_PODS)) {
    kube_error_set(&err, KUBE_REASON_FORBIDDEN, 0,
                   "poddisruptionbudgets.policy \"%s\" is forbidden: %s",
                   e->pdb_name,
                   allowed < 0 ? "pdb disruptions allowed is negative"
                               : "DisruptedPods map too big - too many "
                                 "evictions not confirmed by PDB controller");
    kube_error_set_details(&err, "poddisruptionbudgets.policy", e->pdb_name);
    as_reply_error(r, &err);
    goto out;
  }
  if (allowed == 0) {
    reply_too_many(r, 0,
                   "The disruption budget %s needs %lld healthy pods and has "
                   "%lld currently",
                   e->pdb_name, (long long)jint_at(st, "desiredHealthy", 0),
                   (long long)jint_at(st, "currentHealthy", 0));
    goto out;
  }
  if (e->o.dry_run) {
    delete_pod(r, NULL, &e->o);
    goto out;
  }
  if (!json_object_is_type(st, json_type_object)) {
    st = json_object_new_object();
    json_object_object_add(pdb, "status", st);
  }
  json_object_object_add(st, "disruptionsAllowed",
                         json_object_new_int64(allowed - 1));
  if (allowed - 1 == 0)
    set_insufficient(st);
  /* The controller counts the pod as gone until it is (or 2 minutes). */
  if (!json_object_is_type(dp, json_type_object)) {
    dp = json_object_new_object();
    json_object_object_add(st, "disruptedPods", dp);
  }
  char ts[40];
  json_object_object_add(dp, r->rt.name,
                         json_object_new_string(as_now_rfc3339(ts, sizeof ts)));
  size_t vlen = 0;
  val = as_tree_to_stored(pdb, &vlen);
  e->expected = rec->mod_revision;
  if (!val || kube_store_update(r->srv->store, e->pdb_key, val, vlen,
                                rec->mod_revision, budget_written, e,
                                &err) < 0) {
    if (!val)
      kube_make_oom(&err);
    as_reply_error(r, &err);
    goto out;
  }
  json_object_put(pdb);
  kube_store_record_unref(rec);
  return;
out:
  json_object_put(pdb);
  kube_store_record_unref(rec);
  evict_free(e);
}

/* ---- the request ---- */

/* The Eviction of the body: its kind and version, its name the URL's. */
static int check_eviction(struct req *r, json_object *ev, kube_error_t *err) {
  const char *av = kube_json_get_string(ev, "apiVersion");
  const char *kind = kube_json_get_string(ev, "kind");
  if ((av && *av && !streq(av, "policy/v1") && !streq(av, "policy/v1beta1")) ||
      (kind && *kind && !streq(kind, "Eviction")))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "not a Eviction object: %s, Kind=%s",
                          av ? av : "", kind ? kind : "");
  const char *name = kube_json_get_string(ev, "metadata.name");
  if (!name || !streq(name, r->rt.name))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "name in URL does not match name in Eviction "
                          "object");
  const char *ns = kube_json_get_string(ev, "metadata.namespace");
  if (ns && *ns && !streq(ns, r->rt.ns ? r->rt.ns : ""))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the namespace of the provided object does not "
                          "match the namespace sent on the request");
  return 0;
}

void as_handle_eviction(struct req *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_store_record_t *rec = NULL;
  json_object *pod = NULL;
  kube_store_record_t *pdbs[2] = {NULL, NULL};
  struct evict *e = NULL;
  if (r->method != M_POST) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on eviction", r->method_str);
    return;
  }
  r->evict_deleting = false;
  json_object *ev = as_decode_body(r, &err);
  if (!ev || check_eviction(r, ev, &err) < 0)
    goto fail;
  e = calloc(1, sizeof *e);
  if (!e) {
    kube_make_oom(&err);
    goto fail;
  }
  e->r = r;
  if (as_delete_opts_json(&e->o, kube_json_get(ev, "deleteOptions"), &err) <
      0)
    goto fail;
  if (as_dry_run(r))
    e->o.dry_run = true;
  if (!(rec = pod_record(r, &err)) || !(pod = as_record_to_tree(rec, &err)))
    goto fail;
  if (r->evict_taken) {
    delete_pod(r, rec, &e->o);
    goto done;
  }
  if (can_ignore_budget(pod)) {
    if (enforce_rv(pod) && !e->o.pre_rv)
      e->o.pre_rv = strdup(kube_json_get_string(pod, "metadata.resourceVersion")
                               ?: "");
    delete_pod(r, rec, &e->o);
    goto done;
  }
  int n = budgets_of(r, pod, pdbs, &err);
  if (n < 0)
    goto fail;
  if (n > 1) {
    json_object *st = as_status_new("Failure");
    json_object_object_add(
        st, "message",
        json_object_new_string("This pod has more than one "
                               "PodDisruptionBudget, which the eviction "
                               "subresource does not support."));
    json_object_object_add(st, "code", json_object_new_int(500));
    as_reply_json(r, 500, st);
    goto done;
  }
  if (n == 0) {
    delete_pod(r, rec, &e->o);
    goto done;
  }
  json_object *pdb = as_record_parse(pdbs[0], &err);
  if (!pdb)
    goto fail;
  e->pdb_key = strdup(pdbs[0]->key);
  e->pdb_name = strdup(kube_json_get_string(pdb, "metadata.name") ?: "");
  if (!pod_ready(pod)) {
    /* An unhealthy pod disrupts nothing more when the budget is met. */
    const char *upe =
        kube_json_get_string(pdb, "spec.unhealthyPodEvictionPolicy");
    int64_t cur = jint_at(pdb, "status.currentHealthy", 0);
    int64_t want = jint_at(pdb, "status.desiredHealthy", 0);
    bool always = upe && streq(upe, "AlwaysAllow");
    if (always || (cur >= want && want > 0)) {
      if (!always && !e->o.pre_rv)
        e->o.pre_rv = strdup(
            kube_json_get_string(pod, "metadata.resourceVersion") ?: "");
      json_object_put(pdb);
      delete_pod(r, rec, &e->o);
      goto done;
    }
  }
  json_object_put(pdb);
  if (!e->pdb_key || !e->pdb_name) {
    kube_make_oom(&err);
    goto fail;
  }
  take_budget(steal_pointer(&e));
  goto done;
fail:
  as_reply_error(r, &err);
done:
  json_object_put(ev);
  json_object_put(pod);
  kube_store_record_unref(rec);
  kube_store_record_unref(pdbs[0]);
  kube_store_record_unref(pdbs[1]);
  evict_free(e);
}
