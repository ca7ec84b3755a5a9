/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every controller shares: its kit skeleton, writer and recorder, the
 * writes in flight (ctl_op) and the syncs waiting for them (ctl_sync).
 *
 * The kit's writer never runs the callback of a write it cancelled, so the
 * arguments of the writes in flight live in a list the controller frees
 * itself; a sync is freed with its last op.
 */
#include <stdarg.h>

#include "controller/internal.h"

int ctl_base_init(struct ctl_base *b, kube_controller_manager_t *m,
                  const char *name, const char *component,
                  kube_controller_sync_fn sync, void *arg, kube_error_t *err) {
  memset(b, 0, sizeof *b);
  b->m = m;
  b->name = name;
  kube_loop_t *loop = ctl_manager_loop(m);
  const kube_transport_t *tp = ctl_manager_transport(m);
  kube_controller_options_t co = {
      .struct_size = sizeof co,
      .name = name,
      .max_in_flight = ctl_manager_workers(m),
  };
  kube_event_recorder_options_t ro = {.struct_size = sizeof ro,
                                      .component = component};
  if (!(b->c = kube_controller_new(loop, &co, sync, arg, err)) ||
      !(b->w = kube_writer_new(loop, tp, err)) ||
      !(b->rec = kube_event_recorder_new(loop, tp, &ro, err))) {
    ctl_base_clear(b);
    return -1;
  }
  return 0;
}

static void sync_free(struct ctl_sync *s) {
  struct ctl_base *b = s->b;
  if (s->prev)
    s->prev->next = s->next;
  else
    b->syncs = s->next;
  if (s->next)
    s->next->prev = s->prev;
  if (s->free_data)
    s->free_data(s->data);
  free(s->key);
  free(s);
}

static void op_unlink(struct ctl_op *op) {
  struct ctl_base *b = op->b;
  if (op->prev)
    op->prev->next = op->next;
  else
    b->ops = op->next;
  if (op->next)
    op->next->prev = op->prev;
}

static void op_free(struct ctl_op *op) {
  if (op->free_data)
    op->free_data(op->data);
  free(op->tag);
  free(op);
}

void ctl_map_nothing(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {}

void ctl_base_clear(struct ctl_base *b) {
  /* Cancels every write: no op callback runs after this. */
  kube_writer_free(b->w);
  b->w = NULL;
  while (b->ops) {
    struct ctl_op *op = b->ops;
    op_unlink(op);
    op_free(op);
  }
  while (b->syncs)
    sync_free(b->syncs);
  kube_event_recorder_free(b->rec);
  b->rec = NULL;
  kube_controller_free(b->c);
  b->c = NULL;
}

struct ctl_sync *ctl_sync_new(struct ctl_base *b, const char *key) {
  struct ctl_sync *s = calloc(1, sizeof *s);
  if (!s || !(s->key = strdup(key))) {
    free(s);
    return NULL;
  }
  s->b = b;
  s->next = b->syncs;
  if (b->syncs)
    b->syncs->prev = s;
  b->syncs = s;
  return s;
}

/* The last write of a step finished: let the sync go on, or end it. */
static void sync_maybe_done(struct ctl_sync *s, bool report) {
  while (s->sealed && s->pending == 0) {
    if (s->drained) {
      size_t before = s->pending;
      void (*d)(struct ctl_sync *) = s->drained;
      s->drained = NULL;
      d(s);
      if (s->pending > before)
        return; /* the next step waits for its writes */
      continue; /* it may have set another step */
    }
    int rc = s->result;
    kube_controller_t *c = s->b->c;
    char *key = steal_pointer(&s->key);
    sync_free(s);
    if (report)
      kube_controller_sync_done(c, key, rc);
    free(key);
    return;
  }
}

int ctl_sync_finish(struct ctl_sync *s) {
  if (!s)
    return -1;
  s->sealed = true;
  if (s->pending) {
    return KUBE_SYNC_PENDING;
  }
  /* Nothing was started: run the remaining steps now. */
  while (s->drained && s->pending == 0) {
    void (*d)(struct ctl_sync *) = s->drained;
    s->drained = NULL;
    d(s);
  }
  if (s->pending)
    return KUBE_SYNC_PENDING;
  int rc = s->result;
  sync_free(s);
  return rc < 0 ? -1 : 0;
}

struct ctl_op *ctl_op_new(struct ctl_base *b, struct ctl_sync *s,
                          ctl_op_fn done, const char *tag) {
  struct ctl_op *op = calloc(1, sizeof *op);
  if (!op || (tag && !(op->tag = strdup(tag)))) {
    free(op);
    return NULL;
  }
  op->b = b;
  op->sync = s;
  op->done = done;
  return op;
}

int ctl_op_started(struct ctl_op *op, int rc) {
  if (rc < 0) {
    op_free(op);
    return -1;
  }
  struct ctl_base *b = op->b;
  op->next = b->ops;
  if (b->ops)
    b->ops->prev = op;
  b->ops = op;
  if (op->sync)
    op->sync->pending++;
  return 0;
}

void ctl_op_cb(const kube_object_t *res, const kube_error_t *err, void *arg) {
  struct ctl_op *op = arg;
  struct ctl_sync *s = op->sync;
  op_unlink(op);
  /* Without a callback a failure fails the sync; a callback decides. */
  if (err && s && !op->done)
    s->result = -1;
  if (op->done)
    op->done(op, res, err);
  op_free(op);
  if (s) {
    s->pending--;
    sync_maybe_done(s, true);
  }
}

void ctl_eventf(struct ctl_base *b, json_object *obj, const char *kind,
                const char *api_version, const char *type, const char *reason,
                const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  kube_event_ref_t ref = {
      .kind = kind,
      .api_version = api_version,
      .namespace_ = kube_json_get_string(obj, "metadata.namespace"),
      .name = kube_json_get_string(obj, "metadata.name"),
      .uid = kube_json_get_string(obj, "metadata.uid"),
      .resource_version = kube_json_get_string(obj, "metadata.resourceVersion"),
  };
  if (ref.name)
    kube_event_recorder_record(b->rec, &ref, type, reason, NULL, msg);
  free(msg);
}

json_object *ctl_controller_ref(const char *api_version, const char *kind,
                                const char *name, const char *uid) {
  json_object *ref = json_object_new_object();
  if (!ref)
    return NULL;
  cj_set(ref, "apiVersion", json_object_new_string(api_version));
  cj_set(ref, "kind", json_object_new_string(kind));
  cj_set(ref, "name", json_object_new_string(name));
  cj_set(ref, "uid", json_object_new_string(uid));
  cj_set(ref, "controller", json_object_new_boolean(1));
  cj_set(ref, "blockOwnerDeletion", json_object_new_boolean(1));
  return ref;
}

char *ctl_owner_patch(json_object *obj, json_object *add, const char *remove) {
  json_object *refs = cj_arr(cj_obj(obj, "metadata"), "ownerReferences");
  json_object *nrefs = json_object_new_array();
  json_object *patch = json_object_new_object();
  json_object *meta = json_object_new_object();
  if (!nrefs || !patch || !meta) {
    json_object_put(nrefs);
    json_object_put(patch);
    json_object_put(meta);
    json_object_put(add);
    return NULL;
  }
  for (size_t i = 0; i < cj_len(refs); i++) {
    json_object *ref = cj_at(refs, i);
    if (remove && streq(cj_str0(ref, "uid"), remove))
      continue;
    json_object_array_add(nrefs, json_object_get(ref));
  }
  if (add)
    json_object_array_add(nrefs, add);
  if (json_object_array_length(nrefs)) {
    cj_set(meta, "ownerReferences", nrefs);
  } else {
    json_object_put(nrefs);
    cj_set(meta, "ownerReferences", NULL);
  }
  cj_set(meta, "resourceVersion",
         json_object_new_string(
             cj_str0(cj_obj(obj, "metadata"), "resourceVersion")));
  cj_set(patch, "metadata", meta);
  return ctl_json_take_text(patch);
}

char *ctl_pod_owner_key(kube_informer_t *owners, const char *kind,
                        const struct ctl_pod *p) {
  if (!p->ctrl_uid || !p->ctrl_kind || !streq(p->ctrl_kind, kind))
    return NULL;
  char *key = ctl_key(p->ns, p->ctrl_name);
  const kube_object_t *o = key ? kube_informer_get(owners, key) : NULL;
  const char *uid = o ? kube_object_uid(o) : NULL;
  if (!uid || !streq(uid, p->ctrl_uid)) {
    free(key);
    return NULL;
  }
  return key;
}

void ctl_pod_observe(struct ctl_expectations *e, const char *key,
                     const struct ctl_pod *old, const struct ctl_pod *cur) {
  if (!old && !cur->deleting)
    ctl_creation_observed(e, key);
  else if (!cur || (cur->deleting && !old->deleting))
    ctl_deletion_observed(e, key, (cur ? cur : old)->key);
}

void ctl_status_put(struct ctl_base *b, struct ctl_sync *s,
                    const kube_kind_t *kind, json_object *obj,
                    json_object *fields) {
  json_object *old = cj_obj(obj, "status");
  bool same = old != NULL;
  json_object_object_foreach(fields, k, v) {
    if (same && !json_object_equal(cj(old, k), v))
      same = false;
  }
  if (same)
    return;
  json_object *copy = ctl_json_copy(obj);
  json_object *ns = copy ? ctl_json_ensure(copy, "status") : NULL;
  if (!ns) {
    json_object_put(copy);
    s->result = -1;
    return;
  }
  json_object_object_foreach(fields, k2, v2) {
    cj_set(ns, k2, json_object_get(v2));
  }
  kube_object_t *o = kube_object_wrap(copy);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = o ? ctl_op_new(b, s, NULL, NULL) : NULL;
  if (!op || ctl_op_started(op, kube_writer_update_status(
                                    b->w, kind, kube_object_namespace(o), o,
                                    NULL, ctl_op_cb, op, &err)) < 0)
    s->result = -1;
  kube_object_free(o);
}
