/* SPDX-License-Identifier: Apache-2.0 */
/* Subresources: status, scale (autoscaling/v1 Scale), binding,
 * ephemeralcontainers; eviction
 * (eviction.c); log, exec, attach and portforward go to the pod's node
 * (pod-stream.c). */
#include <time.h>

#include "apiserver/internal.h"
#include "apiserver/patch-schema.h"

static kube_store_record_t *get_record(struct req *r, kube_error_t *err) {
  cleanup_free char *key = as_store_key(r->rt.kind, r->rt.ns, r->rt.name);
  if (!key) {
    kube_make_oom(err);
    return NULL;
  }
  kube_store_record_t *rec = kube_store_get(r->srv->store, key, err);
  if (!rec && err && err->reason == KUBE_REASON_NOT_FOUND)
    as_error_not_found(err, r->rt.kind, r->rt.name);
  return rec;
}

/* ---- status, ephemeralcontainers ---- */

/* A subresource that is the object itself, of which an update or a patch
 * moves one part: status, or (pods/ephemeralcontainers) a pod's
 * spec.ephemeralContainers, validated as kube-apiserver's
 * ValidatePodEphemeralContainersUpdate (added, never changed or
 * removed). */
static void handle_part(struct req *r, enum write_mode mode) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (r->method == M_GET) {
    as_handle_get(r);
    return;
  }
  if (r->method == M_PATCH) {
    as_handle_patch_mode(r, mode);
    return;
  }
  if (r->method != M_PUT) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on %s", r->method_str,
                    r->rt.sub);
    return;
  }
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  kube_store_record_t *rec = get_record(r, &err);
  if (!rec) {
    json_object_put(obj);
    as_reply_error(r, &err);
    return;
  }
  as_write_update(r, r->rt.kind, rec, obj, mode, 200);
  kube_store_record_unref(rec);
}

/* ---- scale ---- */

/* The selector of a Scale's status: a LabelSelector or a label map
 * serialized, or a string as it is (custom resources). */
static char *selector_string(json_object *obj, const api_scale_t *sc) {
  json_object *sel = sc->selector ? kube_json_get(obj, sc->selector) : NULL;
  if (sc->selector_form == API_SCALE_SELECTOR_STRING)
    return strdup(json_object_is_type(sel, json_type_string)
                      ? json_object_get_string(sel)
                      : "");
  if (!sel || !json_object_is_type(sel, json_type_object))
    return strdup("");
  kube_selector_t *s = sc->selector_form == API_SCALE_SELECTOR_MAP
                           ? kube_json_map_selector(sel, NULL)
                           : kube_json_label_selector(sel, NULL);
  if (!s)
    return strdup("");
  char *out = kube_selector_to_string(s);
  kube_selector_free(s);
  return out;
}

static json_object *scale_of(json_object *obj, const kube_kind_t *k) {
  const api_scale_t *scp = api_kind_scale(k);
  json_object *sc = json_object_new_object();
  json_object_object_add(sc, "kind", json_object_new_string("Scale"));
  json_object_object_add(sc, "apiVersion",
                         json_object_new_string("autoscaling/v1"));
  json_object *m = json_object_new_object();
  static const char *const keys[] = {
      "name", "namespace", "uid", "resourceVersion", "creationTimestamp", NULL};
  json_object *om = kube_json_get(obj, "metadata");
  for (size_t i = 0; keys[i] && om; i++) {
    json_object *v = NULL;
    if (json_object_object_get_ex(om, keys[i], &v))
      json_object_object_add(m, keys[i], json_object_get(v));
  }
  json_object_object_add(sc, "metadata", m);
  json_object *rep = scp ? kube_json_get(obj, scp->spec_replicas) : NULL;
  json_object *spec = json_object_new_object();
  /* An absent spec.replicas is 1 for the built-in workloads (their
   * default), 0 for custom resources. */
  int dflt = scp && scp->selector_form == API_SCALE_SELECTOR_STRING ? 0 : 1;
  json_object_object_add(
      spec, "replicas",
      json_object_new_int(rep ? json_object_get_int(rep) : dflt));
  json_object_object_add(sc, "spec", spec);
  json_object *st = json_object_new_object();
  json_object *srep = scp && scp->status_replicas
                          ? kube_json_get(obj, scp->status_replicas)
                          : NULL;
  json_object_object_add(
      st, "replicas",
      json_object_new_int(srep ? json_object_get_int(srep) : 0));
  char *sel = scp ? selector_string(obj, scp) : NULL;
  if (sel && *sel)
    json_object_object_add(st, "selector", json_object_new_string(sel));
  free(sel);
  json_object_object_add(sc, "status", st);
  return sc;
}

static json_object *scale_transform(struct req *r, json_object *obj) {
  json_object *sc = scale_of(obj, r->rt.kind);
  json_object_put(obj);
  return sc;
}

/* The Scale as a meta.k8s.io/v1 Table (kube-apiserver's printer for
 * autoscaling Scale: Name, Desired, Available), for kubectl get
 * --subresource scale. */
static json_object *scale_table(struct req *r, json_object *sc) {
  static const char *const cols[][4] = {
      {"Name", "string", "name",
       "Name must be unique within a namespace. Is required when creating "
       "resources, although some resources may allow a client to request "
       "the generation of an appropriate name automatically."},
      {"Desired", "integer", "", "desired number of instances for the scaled object."},
      {"Available", "integer", "", "actual number of observed instances of the scaled object."},
  };
  json_object *t = json_object_new_object();
  json_object_object_add(t, "kind", json_object_new_string("Table"));
  json_object_object_add(t, "apiVersion",
                         json_object_new_string("meta.k8s.io/v1"));
  json_object *m = json_object_new_object();
  json_object *rv = kube_json_get(sc, "metadata.resourceVersion");
  if (rv)
    json_object_object_add(m, "resourceVersion", json_object_get(rv));
  json_object_object_add(t, "metadata", m);
  json_object *defs = json_object_new_array();
  for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
    json_object *cd = json_object_new_object();
    json_object_object_add(cd, "name", json_object_new_string(cols[i][0]));
    json_object_object_add(cd, "type", json_object_new_string(cols[i][1]));
    json_object_object_add(cd, "format", json_object_new_string(cols[i][2]));
    json_object_object_add(cd, "description",
                           json_object_new_string(cols[i][3]));
    json_object_object_add(cd, "priority", json_object_new_int(0));
    json_object_array_add(defs, cd);
  }
  json_object_object_add(t, "columnDefinitions", defs);
  json_object *cells = json_object_new_array();
  json_object *name = kube_json_get(sc, "metadata.name");
  json_object_array_add(cells, json_object_get(name));
  json_object_array_add(cells,
                        json_object_get(kube_json_get(sc, "spec.replicas")));
  json_object_array_add(cells,
                        json_object_get(kube_json_get(sc, "status.replicas")));
  json_object *row = json_object_new_object();
  json_object_object_add(row, "cells", cells);
  as_table_row_object(row, sc, as_table_include_mode(r));
  json_object *rows = json_object_new_array();
  json_object_array_add(rows, row);
  json_object_object_add(t, "rows", rows);
  json_object_put(sc);
  return t;
}

static void handle_scale(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_store_record_t *rec = get_record(r, &err);
  if (!rec) {
    as_reply_error(r, &err);
    return;
  }
  json_object *obj = as_record_to_tree_for(rec, k, &err);
  if (!obj) {
    kube_store_record_unref(rec);
    as_reply_error(r, &err);
    return;
  }
  if (r->method == M_GET) {
    kube_store_record_unref(rec);
    json_object *sc = scale_transform(r, obj);
    as_reply_json(r, 200, as_accept_table(r) ? scale_table(r, sc) : sc);
    return;
  }
  json_object *scale = NULL;
  if (r->method == M_PUT) {
    scale = as_decode_body(r, &err);
  } else if (r->method == M_PATCH) {
    json_object *cur = scale_of(obj, k);
    scale = as_patch_apply_body(r, k, cur, &err);
    json_object_put(cur);
  } else {
    kube_error_set(&err, KUBE_REASON_METHOD_NOT_ALLOWED, 0,
                   "method %s is not allowed on scale", r->method_str);
  }
  if (!scale) {
    json_object_put(obj);
    kube_store_record_unref(rec);
    as_reply_error(r, &err);
    return;
  }
  json_object *rep = kube_json_get(scale, "spec.replicas");
  if (rep && !json_object_is_type(rep, json_type_int)) {
    json_object_put(scale);
    json_object_put(obj);
    kube_store_record_unref(rec);
    kube_error_set(&err, KUBE_REASON_INVALID, 0,
                   "Scale.autoscaling \"%s\" is invalid: spec.replicas: "
                   "Invalid value: must be an integer",
                   r->rt.name);
    kube_error_add_cause(&err, "spec.replicas", "FieldValueInvalid",
                         "must be an integer");
    as_reply_error(r, &err);
    return;
  }
  if (rep && json_object_get_int64(rep) < 0) {
    json_object_put(scale);
    json_object_put(obj);
    kube_store_record_unref(rec);
    kube_error_set(&err, KUBE_REASON_INVALID, 0,
                   "Scale.autoscaling \"%s\" is invalid: spec.replicas: "
                   "Invalid value: %lld: must be greater than or equal to 0",
                   r->rt.name, (long long)json_object_get_int64(rep));
    kube_error_add_cause(&err, "spec.replicas", "FieldValueInvalid",
                         "must be greater than or equal to 0");
    as_reply_error(r, &err);
    return;
  }
  /* The Scale's resourceVersion is the object's. */
  const char *rv = kube_json_get_string(scale, "metadata.resourceVersion");
  if (rv && *rv)
    json_object_object_add(as_meta_of(obj), "resourceVersion",
                           json_object_new_string(rv));
  else
    json_object_object_del(as_meta_of(obj), "resourceVersion");
  const api_scale_t *scp = api_kind_scale(k);
  if (!scp || as_json_set_path(obj, scp->spec_replicas,
                               json_object_new_int(
                                   rep ? json_object_get_int(rep) : 0)) < 0) {
    json_object_put(scale);
    json_object_put(obj);
    kube_store_record_unref(rec);
    as_reply_status(r, KUBE_REASON_INTERNAL, "cannot set %s",
                    scp ? scp->spec_replicas : "the replicas");
    return;
  }
  json_object_put(scale);
  r->reply_transform = scale_transform;
  as_write_update(r, k, rec, obj, WRITE_MAIN, 200);
  kube_store_record_unref(rec);
}

/* ---- binding ---- */

static json_object *binding_transform(struct req *r, json_object *obj) {
  json_object_put(obj);
  return as_status_success(201);
}

/* An object whose members are o's (shared references); owned. */
static json_object *members_copy(json_object *o) {
  json_object *c = json_object_new_object();
  if (!c)
    return NULL;
  /* The keys are o's, each once: no look-up for an existing one. */
  json_object_object_foreach(o, key, val) {
    if (json_object_object_add_ex(c, key, json_object_get(val),
                                  JSON_C_OBJECT_ADD_KEY_IS_NEW) < 0) {
      json_object_put(c);
      return NULL;
    }
  }
  return c;
}

/* The pod to edit for the binding, copy-on-edit: the stored pod `pod` is
 * the update pipeline's old object as it is, and its subtrees may be shared
 * with the watch (watch-trees.c, AS_OFFER_SHARE) and so with the
 * in-process informers, which must never see them change.  The copy has
 * its own top level, metadata, spec and status (the binding sets
 * spec.nodeName and drops metadata.resourceVersion) and status.conditions
 * array, whose items are shared (the PodScheduled item is replaced, not
 * edited); everything else is shared.  Nothing on the update path changes
 * a pod below those levels (a binding is a storage edit: no defaulting,
 * no strategy).  Owned; NULL on out-of-memory. */
static json_object *binding_copy(json_object *pod) {
  json_object *n = members_copy(pod);
  if (!n)
    return NULL;
  static const char *const level1[] = {"metadata", "spec", "status"};
  for (size_t i = 0; i < ARRAY_SIZE(level1); i++) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(n, level1[i], &v) ||
        !json_object_is_type(v, json_type_object))
      continue;
    json_object *c = members_copy(v);
    if (!c || json_object_object_add(n, level1[i], c) < 0) {
      json_object_put(c);
      json_object_put(n);
      return NULL;
    }
  }
  json_object *st = NULL, *conds = NULL;
  if (json_object_object_get_ex(n, "status", &st) &&
      json_object_is_type(st, json_type_object) &&
      json_object_object_get_ex(st, "conditions", &conds) &&
      json_object_is_type(conds, json_type_array)) {
    size_t len = json_object_array_length(conds);
    json_object *c = json_object_new_array_ext((int)(len + 1));
    for (size_t i = 0; c && i < len; i++)
      if (json_object_array_add(
              c, json_object_get(json_object_array_get_idx(conds, i))) < 0) {
        json_object_put(c);
        c = NULL;
      }
    if (!c || json_object_object_add(st, "conditions", c) < 0) {
      json_object_put(c);
      json_object_put(n);
      return NULL;
    }
  }
  return n;
}

/* ValidatePodBinding, and the name on the URL (BindingREST.Create).  0, or
 * -1 with err. */
static int binding_check(struct req *r, json_object *b, kube_error_t *err) {
  const char *name = kube_json_get_string(b, "metadata.name");
  if (!name || !streq(name, r->rt.name))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "name in URL does not match name in Binding object");
  const char *tk = kube_json_get_string(b, "target.kind");
  const char *node = kube_json_get_string(b, "target.name");
  bool bad_kind = tk && *tk && !streq(tk, "Node");
  bool no_name = !node || !*node;
  if (!bad_kind && !no_name)
    return 0;
  /* The field errors' text as kube-apiserver's aggregate words it. */
  char kind_msg[320] = "";
  if (bad_kind)
    snprintf(kind_msg, sizeof kind_msg,
             "target.kind: Unsupported value: \"%.200s\": supported values: "
             "\"Node\", \"<empty>\"",
             tk);
  const char *name_msg = no_name ? "target.name: Required value" : "";
  if (bad_kind && no_name)
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "Binding \"%s\" is invalid: [%s, %s]", r->rt.name, kind_msg,
                   name_msg);
  else
    kube_error_set(err, KUBE_REASON_INVALID, 0, "Binding \"%s\" is invalid: %s",
                   r->rt.name, bad_kind ? kind_msg : name_msg);
  if (bad_kind)
    kube_error_add_cause(err, "target.kind", "FieldValueNotSupported",
                         kind_msg + strlen("target.kind: "));
  if (no_name)
    kube_error_add_cause(err, "target.name", "FieldValueRequired",
                         "Required value");
  kube_error_set_details(err, "Binding", r->rt.name);
  return -1;
}

/* What assignPod refuses, in its order (setPodNodeAndMetadata): the
 * Binding's uid/resourceVersion preconditions, a pod being deleted, one
 * bound already, one with scheduling gates.  0, or -1 with err. */
static int binding_refused(struct req *r, json_object *b, json_object *pod,
                           int64_t rev, kube_error_t *err) {
  const char *buid = kube_json_get_string(b, "metadata.uid");
  const char *puid = kube_json_get_string(pod, "metadata.uid") ?: "";
  const char *brv = kube_json_get_string(b, "metadata.resourceVersion");
  char prv[32];
  snprintf(prv, sizeof prv, "%lld", (long long)rev);
  const char *why = NULL;
  char buf[512];
  if (buid && *buid && !streq(buid, puid)) {
    snprintf(buf, sizeof buf,
             "Precondition failed: UID in precondition: %s, UID in object "
             "meta: %s",
             buid, puid);
    why = buf;
  } else if (brv && *brv && !streq(brv, prv)) {
    snprintf(buf, sizeof buf,
             "Precondition failed: ResourceVersion in precondition: %s, "
             "ResourceVersion in object meta: %s",
             brv, prv);
    why = buf;
  }
  if (why) {
    kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                   "Operation cannot be fulfilled on pods \"%s\": %s",
                   r->rt.name, why);
    kube_error_set_details(err, "pods", r->rt.name);
    return -1;
  }
  const char *cur = kube_json_get_string(pod, "spec.nodeName");
  json_object *gates = kube_json_get(pod, "spec.schedulingGates");
  if (kube_json_get_string(pod, "metadata.deletionTimestamp"))
    snprintf(buf, sizeof buf,
             "pod %s is being deleted, cannot be assigned to a host",
             r->rt.name);
  else if (cur && *cur)
    snprintf(buf, sizeof buf, "pod %s is already assigned to node \"%s\"",
             r->rt.name, cur);
  else if (json_object_is_type(gates, json_type_array) &&
           json_object_array_length(gates) > 0)
    snprintf(buf, sizeof buf, "pod %s has non-empty .spec.schedulingGates",
             r->rt.name);
  else
    return 0;
  kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                 "Operation cannot be fulfilled on pods/binding \"%s\": %s",
                 r->rt.name, buf);
  kube_error_set_details(err, "pods/binding", r->rt.name);
  return -1;
}

/* The Binding's annotations onto the pod, in a new map (the old one is
 * shared with the update's old object). */
static void binding_annotate(json_object *pod, json_object *b) {
  json_object *ann = kube_json_get(b, "metadata.annotations");
  if (!json_object_is_type(ann, json_type_object) ||
      json_object_object_length(ann) == 0)
    return;
  json_object *meta = as_meta_of(pod);
  json_object *cur = NULL;
  json_object *n = json_object_object_get_ex(meta, "annotations", &cur) &&
                           json_object_is_type(cur, json_type_object)
                       ? members_copy(cur)
                       : json_object_new_object();
  if (!n)
    return;
  json_object_object_foreach(ann, key, val)
      json_object_object_add(n, key, json_object_get(val));
  json_object_object_add(meta, "annotations", n);
}

/* pods/binding, as kube-apiserver's BindingREST: admission sees a CREATE
 * of pods/binding (kind Binding); the pod is then edited through storage
 * (nodeName, the Binding's annotations, PodScheduled=True) without the
 * pod strategy: no managedFields entry, no generation. */
static void handle_binding(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (r->method != M_POST) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on binding", r->method_str);
    return;
  }
  json_object *b = as_decode_body(r, &err);
  if (!b || as_check_fields(r, k, NULL, &err) < 0) {
    json_object_put(b);
    as_reply_error(r, &err);
    return;
  }
  if (!json_object_is_type(b, json_type_object)) {
    json_object_put(b);
    as_reply_status(r, KUBE_REASON_BAD_REQUEST, "not a Binding object");
    return;
  }
  /* EnsureObjectNamespaceMatchesRequestNamespace */
  json_object *bmeta = as_meta_of(b);
  const char *bns = kube_json_get_string(bmeta, "namespace");
  if (bns && *bns && !streq(bns, r->rt.ns)) {
    json_object_put(b);
    as_reply_status(r, KUBE_REASON_BAD_REQUEST,
                    "the namespace of the provided object does not match the "
                    "namespace sent on the request");
    return;
  }
  json_object_object_add(bmeta, "namespace", json_object_new_string(r->rt.ns));
  if (as_admit_kind(r, k, "Binding", true, KUBE_ADMISSION_CREATE, b, NULL,
                    &err) < 0 ||
      binding_check(r, b, &err) < 0 ||
      as_admit_kind(r, k, "Binding", false, KUBE_ADMISSION_CREATE, b, NULL,
                    &err) < 0) {
    json_object_put(b);
    as_reply_error(r, &err);
    return;
  }
  const char *node = kube_json_get_string(b, "target.name");
  kube_store_record_t *rec = get_record(r, &err);
  /* The tree its create built when it is at hand, else a parse. */
  json_object *old =
      rec ? as_recent_take(r->srv, rec->key, rec->mod_revision) : NULL;
  if (old)
    as_tree_set_rv(old, rec->mod_revision);
  else if (rec)
    old = as_record_to_tree(rec, &err);
  if (!old || binding_refused(r, b, old, rec->mod_revision, &err) < 0) {
    json_object_put(b);
    json_object_put(old);
    kube_store_record_unref(rec);
    as_reply_error(r, &err);
    return;
  }
  /* The stored state stays the update pipeline's old object, unchanged:
   * the edits go to a copy of the containers they change. */
  json_object *pod = binding_copy(old);
  if (!pod) {
    json_object_put(b);
    json_object_put(old);
    kube_store_record_unref(rec);
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  json_object *spec = kube_json_get(pod, "spec");
  if (!spec || !json_object_is_type(spec, json_type_object)) {
    spec = json_object_new_object();
    json_object_object_add(pod, "spec", spec);
  }
  json_object_object_add(spec, "nodeName", json_object_new_string(node));
  binding_annotate(pod, b);
  json_object_object_del(as_meta_of(pod), "resourceVersion");
  /* PodScheduled=True, as the binding registry does. */
  json_object *st = kube_json_get(pod, "status");
  if (!st || !json_object_is_type(st, json_type_object)) {
    st = json_object_new_object();
    json_object_object_add(pod, "status", st);
  }
  json_object *conds = kube_json_get(st, "conditions");
  if (!conds || !json_object_is_type(conds, json_type_array)) {
    conds = json_object_new_array();
    json_object_object_add(st, "conditions", conds);
  }
  /* podutil.UpdatePodCondition: the condition is replaced whole (the
   * scheduler's Unschedulable reason and message go), and its
   * lastTransitionTime moves only when its status does. */
  char ts[40];
  as_now_rfc3339(ts, sizeof ts);
  size_t at = json_object_array_length(conds);
  const char *since = ts;
  for (size_t i = 0; i < json_object_array_length(conds); i++) {
    json_object *e = json_object_array_get_idx(conds, i);
    const char *t = kube_json_get_string(e, "type");
    if (!t || !streq(t, "PodScheduled"))
      continue;
    at = i;
    const char *cs = kube_json_get_string(e, "status");
    const char *lt = kube_json_get_string(e, "lastTransitionTime");
    if (cs && streq(cs, "True") && lt)
      since = lt;
  }
  json_object *c = json_object_new_object();
  json_object_object_add(c, "type", json_object_new_string("PodScheduled"));
  json_object_object_add(c, "status", json_object_new_string("True"));
  json_object_object_add(c, "lastProbeTime", NULL);
  json_object_object_add(c, "lastTransitionTime",
                         json_object_new_string(since));
  /* The old item may be shared with the stored state: replaced, never
   * edited (put_idx drops only this array's reference to it). */
  if (at < json_object_array_length(conds))
    json_object_array_put_idx(conds, at, c);
  else
    json_object_array_add(conds, c);
  /* The Scheduled event is the scheduler's to write (as in Kubernetes). */
  json_object_put(b);
  r->reply_transform = binding_transform;
  r->storage_edit = true;
  r->write_tree_ours = true;
  as_write_update_old(r, k, rec, old, pod, WRITE_ALL, 201);
  kube_store_record_unref(rec);
}

void as_handle_subresource(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  const char *sub = r->rt.sub;
  if (!r->rt.name || !kind_has_sub(k, sub)) {
    as_reply_status(r, KUBE_REASON_NOT_FOUND,
                    "the server could not find the requested resource");
    return;
  }
  /* A CSR's approval is its status conditions (kubectl certificate
   * approve). */
  if (streq(sub, "status") || streq(sub, "approval"))
    handle_part(r, WRITE_STATUS);
  else if (streq(sub, "scale"))
    handle_scale(r);
  else if (streq(sub, "binding"))
    handle_binding(r);
  else if (streq(sub, "eviction"))
    as_handle_eviction(r);
  else if (streq(sub, "ephemeralcontainers"))
    handle_part(r, WRITE_EPHEMERAL);
  else if (streq(sub, "log") || streq(sub, "exec") || streq(sub, "attach") ||
           streq(sub, "portforward"))
    as_handle_pod_stream(r);
  else if (streq(sub, "finalize") && r->method == M_PUT)
    as_handle_update(r);
  else
    as_reply_status(r, KUBE_REASON_NOT_FOUND,
                    "the server could not find the requested resource");
}
