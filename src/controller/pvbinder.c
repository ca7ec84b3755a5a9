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
 * A claim without a class gets the default StorageClass's name before
 * any matching: kube-apiserver's DefaultStorageClass admission does that
 * at creation (libkube's API server has no such plugin), and Kubernetes
 * 1.28+ assigns it retroactively to claims created before the class.
 *
 * With a storage directory (kubed: DATA/storage) the binder is also the
 * built-in local-path provisioner, as k3s ships it: it creates StorageClass
 * "local-path" (the default class, WaitForFirstConsumer, reclaim Delete)
 * when missing, and for a claim of a class whose provisioner is
 * rancher.io/local-path it creates a hostPath volume
 * DIR/pvc-UID_NS_NAME (type DirectoryOrCreate: the node agent makes it)
 * pinned to the node of the claim's first consumer (the
 * volume.kubernetes.io/selected-node annotation, else a pod using the
 * claim that is bound to a node), pre-bound to the claim.  A released
 * volume of the Delete policy loses its directory (on a worker thread)
 * and then its object.
 *
 * Keys are "pvc:NS/NAME" and "pv:NAME".
 */
#include <ftw.h>

#include "controller/internal.h"

#define LOCAL_PATH "rancher.io/local-path"
#define LOCAL_PATH_CLASS "local-path"
#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define ANN_DEFAULT_CLASS "storageclass.kubernetes.io/is-default-class"
#define ANN_BETA_DEFAULT_CLASS                                                 \
  "storageclass.beta.kubernetes.io/is-default-class"
#define INDEX_CLAIMS "ctl-claims"

#define ANN_BOUND_BY_CONTROLLER "pv.kubernetes.io/bound-by-controller"
#define ANN_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define ANN_PROVISIONED_BY "pv.kubernetes.io/provisioned-by"

struct pvb {
  struct ctl_base b;
  const kube_kind_t *pvkind, *pvckind, *sckind;
  kube_informer_t *pvs, *pvcs, *classes, *pods;
  struct ctl_podstore *ps;
  const char *storage_dir; /* the manager's; NULL: no provisioner */
  kube_workers_t *workers;
  struct strmap removing; /* volume names whose directory goes */
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

/* The default StorageClass's name (newest creation wins, as Kubernetes
 * picks among several defaults), NULL when none. */
struct default_class {
  char *name;
  char created[40];
};

static void find_default(const char *key, const kube_object_t *obj, void *arg) {
  struct default_class *d = arg;
  json_object *ann = cj_obj(meta(kube_object_json(obj)), "annotations");
  if (!streq(cj_str0(ann, ANN_DEFAULT_CLASS), "true") &&
      !streq(cj_str0(ann, ANN_BETA_DEFAULT_CLASS), "true"))
    return;
  const char *c = cj_str0(meta(kube_object_json(obj)), "creationTimestamp");
  if (d->name && strcmp(c, d->created) <= 0)
    return;
  free(d->name);
  d->name = strdup(key);
  snprintf(d->created, sizeof d->created, "%s", c);
}

struct consumer {
  char *node;
};

static void find_consumer(const char *key, const kube_object_t *obj,
                          void *arg) {
  struct consumer *c = arg;
  const char *n = cj_str(cj_obj(kube_object_json(obj), "spec"), "nodeName");
  if (!c->node && n && *n)
    c->node = strdup(n);
}

/* fn("NS/CLAIM", arg) for each claim the pod's volumes use. */
static void each_claim(json_object *pod, void (*fn)(const char *, void *),
                       void *arg) {
  json_object *vols = cj_arr(cj_obj(pod, "spec"), "volumes");
  const char *ns = cj_str0(meta(pod), "namespace");
  for (size_t i = 0; i < cj_len(vols); i++) {
    const char *claim =
        cj_str(cj_obj(cj_at(vols, i), "persistentVolumeClaim"), "claimName");
    if (!claim)
      continue;
    char v[600];
    snprintf(v, sizeof v, "%s/%s", ns, claim);
    fn(v, arg);
  }
}

static void add_value(const char *key, void *arg) {
  kube_index_values_add(arg, key);
}

static void index_claims(const kube_object_t *obj, kube_index_values_t *out,
                         void *arg) {
  each_claim(kube_object_json(obj), add_value, out);
}

/* Create the volume of a local-path claim on `node`. */
static int provision(struct pvb *p, struct ctl_sync *s, json_object *pvc,
                     json_object *cls, const char *node) {
  json_object *m = meta(pvc), *cspec = cj_obj(pvc, "spec");
  char name[64], path[4096];
  snprintf(name, sizeof name, "pvc-%s", cj_str0(m, "uid"));
  snprintf(path, sizeof path, "%s/%s_%s_%s", p->storage_dir, name,
           cj_str0(m, "namespace"), cj_str0(m, "name"));
  json_object *pv = json_object_new_object();
  cj_set(pv, "apiVersion", json_object_new_string("v1"));
  cj_set(pv, "kind", json_object_new_string("PersistentVolume"));
  json_object *pm = ctl_json_ensure(pv, "metadata");
  cj_set(pm, "name", json_object_new_string(name));
  set_ann(pv, ANN_PROVISIONED_BY, LOCAL_PATH);
  set_ann(pv, "local.path.provisioner/selected-node", node);
  json_object *spec = ctl_json_ensure(pv, "spec");
  json_object *cap = ctl_json_ensure(spec, "capacity");
  cj_set(cap, "storage",
         ctl_json_copy(
             cj(cj_obj(cj_obj(cspec, "resources"), "requests"), "storage")));
  cj_set(spec, "accessModes", ctl_json_copy(cj_arr(cspec, "accessModes")));
  cj_set(spec, "persistentVolumeReclaimPolicy",
         json_object_new_string(cj_str(cls, "reclaimPolicy")
                                    ? cj_str(cls, "reclaimPolicy")
                                    : "Delete"));
  cj_set(spec, "storageClassName",
         json_object_new_string(cj_str0(meta(cls), "name")));
  cj_set(spec, "volumeMode", json_object_new_string(vmode(cspec)));
  json_object *hp = ctl_json_ensure(spec, "hostPath");
  cj_set(hp, "path", json_object_new_string(path));
  cj_set(hp, "type", json_object_new_string("DirectoryOrCreate"));
  json_object *expr = json_object_new_object();
  cj_set(expr, "key", json_object_new_string("kubernetes.io/hostname"));
  cj_set(expr, "operator", json_object_new_string("In"));
  json_object *vals = json_object_new_array();
  json_object_array_add(vals, json_object_new_string(node));
  cj_set(expr, "values", vals);
  json_object *exprs = json_object_new_array();
  json_object_array_add(exprs, expr);
  json_object *term = json_object_new_object();
  cj_set(term, "matchExpressions", exprs);
  json_object *terms = json_object_new_array();
  json_object_array_add(terms, term);
  json_object *req =
      ctl_json_ensure(ctl_json_ensure(spec, "nodeAffinity"), "required");
  cj_set(req, "nodeSelectorTerms", terms);
  json_object *ref = claim_ref(pvc);
  json_object_object_del(ref, "resourceVersion");
  cj_set(spec, "claimRef", ref);
  kube_object_t *o = kube_object_wrap(pv);
  struct ctl_op *op = o ? ctl_op_new(&p->b, s, NULL, name) : NULL;
  if (!op ||
      ctl_op_started(op, kube_writer_create(p->b.w, p->pvkind, NULL, o, NULL,
                                            ctl_op_cb, op, NULL)) < 0) {
    s->result = -1;
  } else {
    log_info("persistentvolume-binder: provisioning %s on %s for %s/%s", name,
             node, cj_str0(m, "namespace"), cj_str0(m, "name"));
    ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Normal",
               "ProvisioningSucceeded", "Successfully provisioned volume %s",
               name);
  }
  kube_object_free(o);
  return ctl_sync_finish(s);
}

/* No volume fits: assign the default class, provision, or say why not. */
static int no_match(struct pvb *p, struct ctl_sync *s, const char *key,
                    json_object *pvc) {
  json_object *cspec = cj_obj(pvc, "spec");
  const char *cname = cj_str0(cspec, "storageClassName");
  if (!*cname) {
    ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Normal",
               "FailedBinding",
               "no persistent volumes available for this claim and no "
               "storage class is set");
    return ctl_sync_finish(s);
  }
  json_object *cls = jo(kube_informer_get(p->classes, cname));
  if (!cls) {
    ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Warning",
               "ProvisioningFailed",
               "storageclass.storage.k8s.io \"%s\" not found", cname);
    return ctl_sync_finish(s);
  }
  const char *prov = cj_str0(cls, "provisioner");
  if (!streq(prov, LOCAL_PATH) || !p->storage_dir) {
    ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Normal",
               "ExternalProvisioning",
               "Waiting for a volume to be created either by the external "
               "provisioner '%s' or manually by the system administrator. If "
               "volume creation is delayed, please verify that the "
               "provisioner is running and correctly registered.",
               prov);
    return ctl_sync_finish(s);
  }
  const char *node =
      cj_str(cj_obj(meta(pvc), "annotations"), ANN_SELECTED_NODE);
  struct consumer c = {0};
  if (!node || !*node) {
    kube_informer_index_foreach(p->pods, INDEX_CLAIMS, key, find_consumer, &c);
    node = c.node;
  }
  if (!node) {
    if (streq(cj_str0(cls, "volumeBindingMode"), "WaitForFirstConsumer"))
      ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Normal",
                 "WaitForFirstConsumer",
                 "waiting for first consumer to be created before binding");
    else
      ctl_eventf(&p->b, pvc, "PersistentVolumeClaim", "v1", "Warning",
                 "ProvisioningFailed",
                 "failed to provision volume with StorageClass \"%s\": "
                 "configuration error, no node was specified",
                 cname);
    return ctl_sync_finish(s);
  }
  int rc = provision(p, s, pvc, cls, node);
  free(c.node);
  return rc;
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
  json_object *cspec = cj_obj(pvc, "spec");
  /* A claim without a class gets the default one first, as the API
   * server's DefaultStorageClass admission would have given it. */
  if (!json_object_is_type(cj(cspec, "storageClassName"), json_type_string)) {
    struct default_class d = {0};
    kube_informer_foreach(p->classes, find_default, &d);
    if (d.name) {
      json_object *c = ctl_json_copy(pvc);
      cj_set(ctl_json_ensure(c, "spec"), "storageClassName",
             json_object_new_string(d.name));
      free(d.name);
      return put_obj(p, s, p->pvckind, c, false);
    }
  }
  struct match m = {.pvc = pvc};
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
  return no_match(p, s, key, pvc);
}

/* ---- removing a local-path directory (worker thread) ---- */

struct removal {
  struct pvb *p;
  char *name, *path;
  int err; /* errno of the first failure */
};

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void removal_work(void *arg) {
  struct removal *r = arg;
  if (nftw(r->path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
    r->err = errno;
}

static void removal_done(void *arg) {
  struct removal *r = arg;
  struct pvb *p = r->p;
  strmap_remove(&p->removing, r->name);
  if (r->err) {
    log_warn("persistentvolume-binder: cannot remove %s: %s", r->path,
             strerror(r->err));
    char k[640];
    snprintf(k, sizeof k, "pv:%s", r->name);
    kube_controller_enqueue_after(p->b.c, k, 10000, NULL);
  } else {
    /* The object goes once its data went (kube-controller-manager's
     * deleter, then the volume's deletion). */
    struct ctl_op *op = ctl_op_new(&p->b, NULL, NULL, r->name);
    if (op)
      ctl_op_started(op, kube_writer_delete(p->b.w, p->pvkind, NULL, r->name,
                                            NULL, ctl_op_cb, op, NULL));
  }
  free(r->name);
  free(r->path);
  free(r);
}

/* The volume's directory when it is one the provisioner made. */
static const char *own_dir(struct pvb *p, json_object *pv) {
  const char *path = cj_str(cj_obj(cj_obj(pv, "spec"), "hostPath"), "path");
  size_t l = p->storage_dir ? strlen(p->storage_dir) : 0;
  if (!path || !l || strncmp(path, p->storage_dir, l) != 0 || path[l] != '/' ||
      strstr(path + l, "/.."))
    return NULL;
  return path;
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
      const char *dir = own_dir(p, pv);
      if (streq(policy, "Delete") && provisioned &&
          streq(phase(pv), "Released") && dir && p->workers) {
        struct removal *rm = calloc(1, sizeof *rm);
        if (strmap_get(&p->removing, name)) {
          free(rm);
          return ctl_sync_finish(s);
        }
        if (!rm || !(rm->name = strdup(name)) || !(rm->path = strdup(dir)) ||
            !strmap_put(&p->removing, name, rm, NULL)) {
          if (rm) {
            free(rm->name);
            free(rm->path);
          }
          free(rm);
          s->result = -1;
          return ctl_sync_finish(s);
        }
        rm->p = p;
        log_info("persistentvolume-binder: deleting volume %s (%s)", name, dir);
        if (kube_workers_submit(p->workers, removal_work, removal_done, rm,
                                NULL) < 0) {
          strmap_remove(&p->removing, name);
          free(rm->name);
          free(rm->path);
          free(rm);
          s->result = -1;
        }
        return ctl_sync_finish(s);
      }
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

static void enqueue_pending(kube_controller_t *c, struct pvb *p);

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
    enqueue_pending(c, arg);
  }
}

/* A class appeared (a default one may serve the Pending claims). */
static void class_map(kube_controller_t *c, const char *key,
                      const kube_object_t *obj, void *arg) {
  enqueue_pending(c, arg);
}

static void enqueue_pending(kube_controller_t *c, struct pvb *p) {
  size_t n = 0;
  const char **keys =
      kube_informer_index_keys(p->pvcs, "pvc-pending", "1", &n, NULL);
  for (size_t i = 0; keys && i < n; i++)
    enqueue(c, "pvc:", keys[i]);
  free(keys);
}

static void enqueue_claim(const char *key, void *arg) {
  enqueue(arg, "pvc:", key);
}

/* A pod using claims got a node: its claims may be provisioned. */
static void pod_map(kube_controller_t *c, const char *key,
                    const kube_object_t *obj, void *arg) {
  json_object *pod = kube_object_json(obj);
  if (!*cj_str0(cj_obj(pod, "spec"), "nodeName"))
    return;
  each_claim(pod, enqueue_claim, c);
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
  /* Finishes the removals running (their deletes are cancelled with the
   * writer below). */
  kube_workers_free(p->workers);
  strmap_clear(&p->removing, NULL);
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
  p->sckind = kube_kind_by_resource("storage.k8s.io", "v1", "storageclasses");
  p->storage_dir = ctl_manager_options(m)->storage_dir;
  if (!p->pvkind || !p->pvckind || !p->sckind ||
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
      kube_controller_watch(p->b.c, p->pvs, pv_map, p, err) < 0 ||
      !(p->classes = ctl_manager_informer(
            m, "/apis/storage.k8s.io/v1/storageclasses", err)) ||
      kube_controller_watch(p->b.c, p->classes, class_map, p, err) < 0 ||
      !(p->ps = ctl_manager_pods(m, err)) ||
      !(p->pods = ctl_podstore_informer(p->ps)) ||
      kube_informer_add_index(p->pods, INDEX_CLAIMS, index_claims, NULL, err) <
          0 ||
      kube_controller_watch(p->b.c, p->pods, pod_map, p, err) < 0 ||
      (p->storage_dir &&
       !(p->workers = kube_workers_new(ctl_manager_loop(m), 1, err)))) {
    pvb_free(p);
    return NULL;
  }
  return p;
}

static void class_created(struct ctl_op *op, const kube_object_t *res,
                          const kube_error_t *err) {
  if (err && err->reason != KUBE_REASON_ALREADY_EXISTS)
    log_warn(
        "persistentvolume-binder: cannot create StorageClass " LOCAL_PATH_CLASS
        ": %s",
        err->message);
}

/* k3s's default class, created when missing (an operator's own
 * local-path class, default or not, is left alone). */
static int ensure_class(struct pvb *p, kube_error_t *err) {
  json_object *sc = json_object_new_object();
  cj_set(sc, "apiVersion", json_object_new_string("storage.k8s.io/v1"));
  cj_set(sc, "kind", json_object_new_string("StorageClass"));
  cj_set(ctl_json_ensure(sc, "metadata"), "name",
         json_object_new_string(LOCAL_PATH_CLASS));
  set_ann(sc, ANN_DEFAULT_CLASS, "true");
  cj_set(sc, "provisioner", json_object_new_string(LOCAL_PATH));
  cj_set(sc, "reclaimPolicy", json_object_new_string("Delete"));
  cj_set(sc, "volumeBindingMode",
         json_object_new_string("WaitForFirstConsumer"));
  kube_object_t *o = kube_object_wrap(sc);
  struct ctl_op *op = o ? ctl_op_new(&p->b, NULL, class_created, NULL) : NULL;
  int rc =
      !op ? kube_make_oom(err)
          : ctl_op_started(op, kube_writer_create(p->b.w, p->sckind, NULL, o,
                                                  NULL, ctl_op_cb, op, err));
  kube_object_free(o);
  return rc;
}

static int pvb_start(void *impl, kube_error_t *err) {
  struct pvb *p = impl;
  if (p->storage_dir && ensure_class(p, err) < 0)
    return -1;
  return kube_controller_start(p->b.c, err);
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
