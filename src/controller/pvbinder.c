/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PersistentVolume binder (kube-controller-manager's
 * persistentvolume-binder-controller), for volumes that exist already:
 * a Pending claim is bound to the smallest Available volume of its class
 * whose access modes, volume mode, capacity and the claim's selector fit
 * (or to the volume it names, or that names it in claimRef); a volume
 * whose claim went is Released and, with the Delete reclaim policy and a
 * provisioner's annotation, deleted.
 *
 * Binding takes one write per sync, in kube-controller-manager's order:
 * the volume's claimRef, the claim's volumeName (+ bind-completed), the
 * claim's status (Bound, capacity, access modes), the volume's status
 * (Bound); each write's echo through the informers triggers the next, so
 * a binder stopped half way finishes after a restart.
 *
 * Keys are "pvc:NS/NAME" and "pv:NAME".  Dynamic provisioning (StorageClass
 * and the local-path provisioner) is not here yet.
 */
#include "controller/internal.h"

#define ANN_BOUND_BY_CONTROLLER "pv.kubernetes.io/bound-by-controller"
#define ANN_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define ANN_PROVISIONED_BY "pv.kubernetes.io/provisioned-by"

struct pvb {
  struct ctl_base b;
  const kube_kind_t *pvkind, *pvckind;
  kube_informer_t *pvs, *pvcs;
};

static json_object *jo(const kube_object_t *o) {
  return o ? kube_object_json(o) : NULL;
}
static json_object *meta(json_object *o) {
  return cj_obj(o, "metadata");
}
static const char *phase(json_object *o) {
  return cj_str0(cj_obj(o, "status"), "phase");
}

/* A Quantity's bytes (as a double: enough to compare sizes); -1 when
 * absent or malformed. */
static double bytes(json_object *q) {
  const char *s = json_object_get_string(q);
  kube_quantity_t v;
  if (!s || kube_quantity_parse(s, &v, NULL) < 0)
    return -1;
  return (double)kube_quantity_value(&v);
}

/* Write `obj` (stolen) with update or update_status. */
static int put_obj(struct pvb *p, struct ctl_sync *s, const kube_kind_t *kind,
                   json_object *obj, bool status) {
  kube_object_t *o = kube_object_wrap(obj);
  struct ctl_op *op = o ? ctl_op_new(&p->b, s, NULL, NULL) : NULL;
  int rc = !op      ? -1
           : status ? kube_writer_update_status(p->b.w, kind, NULL, o, NULL,
                                                ctl_op_cb, op, NULL)
                    : kube_writer_update(p->b.w, kind, NULL, o, NULL, ctl_op_cb,
                                         op, NULL);
  if (!op || ctl_op_started(op, rc) < 0)
    s->result = -1;
  kube_object_free(o);
  return ctl_sync_finish(s);
}

static void set_ann(json_object *obj, const char *k, const char *v) {
  cj_set(ctl_json_ensure(ctl_json_ensure(obj, "metadata"), "annotations"), k,
         json_object_new_string(v));
}

static bool modes_fit(json_object *want, json_object *have) {
  for (size_t i = 0; i < cj_len(want); i++) {
    const char *m = json_object_get_string(cj_at(want, i));
    bool found = false;
    for (size_t j = 0; j < cj_len(have) && !found; j++)
      found = streq(m, json_object_get_string(cj_at(have, j)));
    if (!found)
      return false;
  }
  return true;
}

static const char *vmode(json_object *spec) {
  const char *m = cj_str(spec, "volumeMode");
  return m && *m ? m : "Filesystem";
}

/* The objects kube_informer_foreach hands out live for the call only:
 * the best one is remembered by name and whether it is pre-bound. */
struct match {
  json_object *pvc;
  char *best;
  bool best_prebound;
  double best_size, want;
  kube_selector_t *sel;
};

/* findBestMatchForClaim over one volume. */
static void consider(const char *key, const kube_object_t *obj, void *arg) {
  struct match *m = arg;
  json_object *pv = kube_object_json(obj);
  json_object *spec = cj_obj(pv, "spec"), *cspec = cj_obj(m->pvc, "spec");
  json_object *ref = cj_obj(spec, "claimRef");
  if (cj_str(meta(pv), "deletionTimestamp"))
    return;
  if (ref) {
    /* Pre-bound to some claim: only that one may take it. */
    if (!streq(cj_str0(ref, "name"), cj_str0(meta(m->pvc), "name")) ||
        !streq(cj_str0(ref, "namespace"), cj_str0(meta(m->pvc), "namespace")) ||
        (*cj_str0(ref, "uid") &&
         !streq(cj_str0(ref, "uid"), cj_str0(meta(m->pvc), "uid"))))
      return;
  } else if (*phase(pv) && !streq(phase(pv), "Available")) {
    return;
  }
  if (!streq(cj_str0(spec, "storageClassName"),
             cj_str0(cspec, "storageClassName")) ||
      !streq(vmode(spec), vmode(cspec)) ||
      !modes_fit(cj_arr(cspec, "accessModes"), cj_arr(spec, "accessModes")))
    return;
  double size = bytes(cj(cj_obj(spec, "capacity"), "storage"));
  if (size < m->want)
    return;
  if (m->sel) {
    cleanup_free char **pairs = NULL;
    json_object *labels = cj_obj(meta(pv), "labels");
    size_t n = labels ? json_object_object_length(labels) : 0, i = 0;
    pairs = calloc(2 * n + 1, sizeof *pairs);
    if (!pairs)
      return;
    json_object_object_foreach(labels, k, v) {
      pairs[i++] = k;
      pairs[i++] = (char *)json_object_get_string(v);
    }
    if (!ctl_selector_matches_pairs(m->sel, pairs))
      return;
  }
  /* A volume pre-bound to this claim wins over any size. */
  if (m->best && m->best_prebound && !ref)
    return;
  if (!m->best || (ref && !m->best_prebound) || size < m->best_size) {
    free(m->best);
    m->best = strdup(key);
    m->best_prebound = ref != NULL;
    m->best_size = size;
  }
}

static json_object *claim_ref(json_object *pvc) {
  json_object *r = json_object_new_object();
  cj_set(r, "kind", json_object_new_string("PersistentVolumeClaim"));
  cj_set(r, "namespace",
         json_object_new_string(cj_str0(meta(pvc), "namespace")));
  cj_set(r, "name", json_object_new_string(cj_str0(meta(pvc), "name")));
  cj_set(r, "uid", json_object_new_string(cj_str0(meta(pvc), "uid")));
  cj_set(r, "apiVersion", json_object_new_string("v1"));
  cj_set(r, "resourceVersion",
         json_object_new_string(cj_str0(meta(pvc), "resourceVersion")));
  return r;
}

/* The volume names the claim: finish the claim's side. */
static int finish_claim(struct pvb *p, struct ctl_sync *s, json_object *pvc,
                        json_object *pv) {
  const char *pvname = cj_str0(meta(pv), "name");
  json_object *cspec = cj_obj(pvc, "spec");
  json_object *ann = cj_obj(meta(pvc), "annotations");
  if (!streq(cj_str0(cspec, "volumeName"), pvname) ||
      !streq(cj_str0(ann, ANN_BIND_COMPLETED), "yes")) {
    json_object *c = ctl_json_copy(pvc);
    bool by_us = !*cj_str0(cspec, "volumeName");
    cj_set(ctl_json_ensure(c, "spec"), "volumeName",
           json_object_new_string(pvname));
    set_ann(c, ANN_BIND_COMPLETED, "yes");
    if (by_us)
      set_ann(c, ANN_BOUND_BY_CONTROLLER, "yes");
    return put_obj(p, s, p->pvckind, c, false);
  }
  json_object *st = cj_obj(pvc, "status");
  json_object *pspec = cj_obj(pv, "spec");
  if (!streq(cj_str0(st, "phase"), "Bound") ||
      !json_object_equal(cj(st, "capacity"), cj(pspec, "capacity")) ||
      !json_object_equal(cj(st, "accessModes"), cj(pspec, "accessModes"))) {
    json_object *c = ctl_json_copy(pvc);
    json_object *cs = ctl_json_ensure(c, "status");
    cj_set(cs, "phase", json_object_new_string("Bound"));
    cj_set(cs, "capacity", ctl_json_copy(cj(pspec, "capacity")));
    cj_set(cs, "accessModes", ctl_json_copy(cj(pspec, "accessModes")));
    return put_obj(p, s, p->pvckind, c, true);
  }
  return ctl_sync_finish(s);
}

static int bind_volume(struct pvb *p, struct ctl_sync *s, json_object *pvc,
                       json_object *pv) {
  json_object *c = ctl_json_copy(pv);
  cj_set(ctl_json_ensure(c, "spec"), "claimRef", claim_ref(pvc));
  if (!cj_obj(cj_obj(pv, "spec"), "claimRef"))
    set_ann(c, ANN_BOUND_BY_CONTROLLER, "yes");
  log_info("persistentvolume-binder: binding volume %s to claim %s/%s",
           cj_str0(meta(pv), "name"), cj_str0(meta(pvc), "namespace"),
           cj_str0(meta(pvc), "name"));
  return put_obj(p, s, p->pvkind, c, false);
}

static int sync_claim(struct pvb *p, const char *key) {
  json_object *pvc = jo(kube_informer_get(p->pvcs, key));
  if (!pvc || cj_str(meta(pvc), "deletionTimestamp"))
    return 0;
  char skey[600];
  snprintf(skey, sizeof skey, "pvc:%s", key);
  struct ctl_sync *s = ctl_sync_new(&p->b, skey);
  if (!s)
    return -1;
  const char *uid = cj_str0(meta(pvc), "uid");
  const char *vname = cj_str0(cj_obj(pvc, "spec"), "volumeName");
  if (*vname) {
    json_object *pv = jo(kube_informer_get(p->pvs, vname));
    if (!pv) {
      if (streq(phase(pvc), "Bound") || streq(phase(pvc), "Lost")) {
        if (streq(phase(pvc), "Lost"))
          return ctl_sync_finish(s);
        ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Warning",
                   "ClaimLost",
                   "Bound claim has lost its PersistentVolume. Data on the "
                   "volume is lost!");
        json_object *c = ctl_json_copy(pvc);
        cj_set(ctl_json_ensure(c, "status"), "phase",
               json_object_new_string("Lost"));
        return put_obj(p, s, p->pvckind, c, true);
      }
      /* Waits for the volume it names. */
      return ctl_sync_finish(s);
    }
    json_object *ref = cj_obj(cj_obj(pv, "spec"), "claimRef");
    if (!ref)
      return bind_volume(p, s, pvc, pv);
    if (streq(cj_str0(ref, "namespace"), cj_str0(meta(pvc), "namespace")) &&
        streq(cj_str0(ref, "name"), cj_str0(meta(pvc), "name")) &&
        (!*cj_str0(ref, "uid") || streq(cj_str0(ref, "uid"), uid))) {
      if (!*cj_str0(ref, "uid"))
        return bind_volume(p, s, pvc, pv);
      return finish_claim(p, s, pvc, pv);
    }
    ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Warning",
               "FailedBinding",
               "volume \"%s\" already bound to a different "
               "claim.",
               vname);
    return ctl_sync_finish(s);
  }
  struct match m = {.pvc = pvc};
  json_object *cspec = cj_obj(pvc, "spec");
  m.want = bytes(cj(cj_obj(cj_obj(cspec, "resources"), "requests"), "storage"));
  if (cj_obj(cspec, "selector")) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (!(m.sel = ctl_label_selector(cj_obj(cspec, "selector"), &err))) {
      ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Warning",
                 "FailedBinding", "%s", err.message);
      return ctl_sync_finish(s);
    }
  }
  kube_informer_foreach(p->pvs, consider, &m);
  kube_selector_free(m.sel);
  json_object *best = m.best ? jo(kube_informer_get(p->pvs, m.best)) : NULL;
  free(m.best);
  if (best) {
    json_object *ref = cj_obj(cj_obj(best, "spec"), "claimRef");
    if (ref && streq(cj_str0(ref, "uid"), uid))
      return finish_claim(p, s, pvc, best);
    return bind_volume(p, s, pvc, best);
  }
  ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Normal",
             "FailedBinding",
             "no persistent volumes available for this claim and no storage "
             "class is set");
  return ctl_sync_finish(s);
}

static int sync_volume(struct pvb *p, const char *name) {
  json_object *pv = jo(kube_informer_get(p->pvs, name));
  if (!pv || cj_str(meta(pv), "deletionTimestamp"))
    return 0;
  char skey[600];
  snprintf(skey, sizeof skey, "pv:%s", name);
  struct ctl_sync *s = ctl_sync_new(&p->b, skey);
  if (!s)
    return -1;
  json_object *ref = cj_obj(cj_obj(pv, "spec"), "claimRef");
  const char *want = "Available";
  if (ref && *cj_str0(ref, "uid")) {
    char key[600];
    snprintf(key, sizeof key, "%s/%s", cj_str0(ref, "namespace"),
             cj_str0(ref, "name"));
    json_object *pvc = jo(kube_informer_get(p->pvcs, key));
    bool ours = pvc && streq(cj_str0(meta(pvc), "uid"), cj_str0(ref, "uid"));
    want = ours ? "Bound" : "Released";
    if (!ours) {
      const char *policy =
          cj_str0(cj_obj(pv, "spec"), "persistentVolumeReclaimPolicy");
      bool provisioned =
          *cj_str0(cj_obj(meta(pv), "annotations"), ANN_PROVISIONED_BY);
      if (streq(policy, "Delete") && provisioned &&
          streq(phase(pv), "Released")) {
        struct ctl_op *op = ctl_op_new(&p->b, s, NULL, name);
        if (!op || ctl_op_started(
                       op, kube_writer_delete(p->b.w, p->pvkind, NULL, name,
                                              NULL, ctl_op_cb, op, NULL)) < 0)
          s->result = -1;
        return ctl_sync_finish(s);
      }
      if (streq(policy, "Delete") && !provisioned &&
          streq(phase(pv), "Released"))
        ctl_eventf(&p->b, pv, "PersistentVolume", "v1", "Warning",
                   "VolumeFailedDelete",
                   "error getting deleter volume plugin for volume \"%s\": "
                   "no deletable volume plugin matched",
                   name);
    }
  } else if (ref) {
    want = "Available"; /* pre-bound, waiting for its claim */
  }
  if (streq(phase(pv), want))
    return ctl_sync_finish(s);
  json_object *c = ctl_json_copy(pv);
  cj_set(ctl_json_ensure(c, "status"), "phase", json_object_new_string(want));
  return put_obj(p, s, p->pvkind, c, true);
}

static int pvb_sync(kube_controller_t *c, const char *key, void *arg) {
  struct pvb *p = arg;
  if (str_has_prefix(key, "pvc:"))
    return sync_claim(p, key + 4);
  if (str_has_prefix(key, "pv:"))
    return sync_volume(p, key + 3);
  return 0;
}

static void enqueue(kube_controller_t *c, const char *prefix, const char *key) {
  char k[640];
  snprintf(k, sizeof k, "%s%s", prefix, key);
  kube_controller_enqueue(c, k, NULL);
}

static void pvc_map(kube_controller_t *c, const char *key,
                    const kube_object_t *obj, void *arg) {
  enqueue(c, "pvc:", key);
  /* The volume it was bound to may be Released now. */
  const char *v = cj_str(cj_obj(jo(obj), "spec"), "volumeName");
  if (v && *v)
    enqueue(c, "pv:", v);
}

static void pv_map(kube_controller_t *c, const char *key,
                   const kube_object_t *obj, void *arg) {
  enqueue(c, "pv:", key);
  json_object *ref = cj_obj(cj_obj(jo(obj), "spec"), "claimRef");
  if (ref) {
    char k[600];
    snprintf(k, sizeof k, "%s/%s", cj_str0(ref, "namespace"),
             cj_str0(ref, "name"));
    enqueue(c, "pvc:", k);
  } else {
    /* A volume became available: Pending claims may take it. */
    struct pvb *p = arg;
    size_t n = 0;
    const char **keys =
        kube_informer_index_keys(p->pvcs, "pvc-pending", "1", &n, NULL);
    for (size_t i = 0; keys && i < n; i++)
      enqueue(c, "pvc:", keys[i]);
    free(keys);
  }
}

static void index_pending(const kube_object_t *obj, kube_index_values_t *out,
                          void *arg) {
  json_object *pvc = kube_object_json(obj);
  if (!*cj_str0(cj_obj(pvc, "spec"), "volumeName"))
    kube_index_values_add(out, "1");
}

static void pvb_free(void *impl) {
  struct pvb *p = impl;
  if (!p)
    return;
  ctl_base_clear(&p->b);
  free(p);
}

static void *pvb_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct pvb *p = calloc(1, sizeof *p);
  if (!p) {
    kube_make_oom(err);
    return NULL;
  }
  p->pvkind = kube_kind_by_resource("", "v1", "persistentvolumes");
  p->pvckind = kube_kind_by_resource("", "v1", "persistentvolumeclaims");
  if (!p->pvkind || !p->pvckind ||
      ctl_base_init(&p->b, m, "persistentvolume-binder",
                    "persistentvolume-controller", pvb_sync, p, err) < 0) {
    free(p);
    return NULL;
  }
  if (!(p->pvs = ctl_manager_informer(m, "/api/v1/persistentvolumes", err)) ||
      !(p->pvcs =
            ctl_manager_informer(m, "/api/v1/persistentvolumeclaims", err)) ||
      kube_informer_add_index(p->pvcs, "pvc-pending", index_pending, NULL,
                              err) < 0 ||
      kube_controller_watch(p->b.c, p->pvcs, pvc_map, p, err) < 0 ||
      kube_controller_watch(p->b.c, p->pvs, pv_map, p, err) < 0) {
    pvb_free(p);
    return NULL;
  }
  return p;
}

static int pvb_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct pvb *)impl)->b.c, err);
}

static kube_controller_t *pvb_controller(void *impl) {
  return ((struct pvb *)impl)->b.c;
}

const struct ctl_impl_ops ctl_pvbinder_ops = {
    .create = pvb_create,
    .start = pvb_start,
    .free = pvb_free,
    .controller = pvb_controller,
};
