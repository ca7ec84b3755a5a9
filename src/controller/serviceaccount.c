/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two per-namespace controllers of kube-controller-manager:
 * - serviceaccount-controller: ServiceAccount "default" in every namespace
 *   that is not terminating (created again when deleted);
 * - root-ca-certificate-publisher-controller: ConfigMap kube-root-ca.crt
 *   in every namespace, data "ca.crt" the cluster CA and the
 *   kubernetes.io/description annotation (put back when edited or
 *   deleted), so in-cluster clients can verify the API server.
 * Both key on the namespace name.
 */
#include "controller/internal.h"

#define ROOT_CA_NAME "kube-root-ca.crt"
#define DESCRIPTION_ANNOTATION "kubernetes.io/description"
#define DESCRIPTION                                                            \
  "Contains a CA bundle that can be used to verify the kube-apiserver when "   \
  "using internal endpoints such as the internal service IP or "               \
  "kubernetes.default.svc. No other usage is guaranteed across "               \
  "distributions of Kubernetes clusters."

struct nsc {
  struct ctl_base b;
  const kube_kind_t *kind;
  kube_informer_t *ns, *objs;
  const char *obj_name; /* "default" | "kube-root-ca.crt" */
  const char *ca;       /* the manager's root CA (rootca only) */
};

/* An object of ours changed: sync its namespace. */
static void obj_map(kube_controller_t *c, const char *key,
                    const kube_object_t *obj, void *arg) {
  struct nsc *x = arg;
  char ns[256];
  const char *name;
  ctl_split_key(key, ns, sizeof ns, &name);
  if (*ns && streq(name, x->obj_name))
    kube_controller_enqueue(c, ns, NULL);
}

/* Creating in a namespace that went or is terminating is not retried. */
static void created(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  if (!err || err->reason == KUBE_REASON_ALREADY_EXISTS ||
      err->reason == KUBE_REASON_NOT_FOUND ||
      err->reason == KUBE_REASON_FORBIDDEN)
    return;
  if (op->sync)
    op->sync->result = -1;
}

static bool ns_live(struct nsc *x, const char *ns) {
  const kube_object_t *o = kube_informer_get(x->ns, ns);
  if (!o)
    return false;
  json_object *n = kube_object_json(o);
  return !cj_str(cj_obj(n, "metadata"), "deletionTimestamp") &&
         !streq(cj_str0(cj_obj(n, "status"), "phase"), "Terminating");
}

static int write_obj(struct nsc *x, const char *ns, json_object *tree,
                     bool update) {
  struct ctl_sync *s = ctl_sync_new(&x->b, ns);
  if (!s) {
    json_object_put(tree);
    return -1;
  }
  kube_object_t *o = kube_object_wrap(tree);
  struct ctl_op *op =
      o ? ctl_op_new(&x->b, s, update ? NULL : created, ns) : NULL;
  int rc = !op      ? -1
           : update ? kube_writer_update(x->b.w, x->kind, ns, o, NULL,
                                         ctl_op_cb, op, NULL)
                    : kube_writer_create(x->b.w, x->kind, ns, o, NULL,
                                         ctl_op_cb, op, NULL);
  if (!op || ctl_op_started(op, rc) < 0)
    s->result = -1;
  kube_object_free(o);
  return ctl_sync_finish(s);
}

static json_object *new_obj(const char *kind, const char *ns,
                            const char *name) {
  json_object *o = json_object_new_object();
  cj_set(o, "apiVersion", json_object_new_string("v1"));
  cj_set(o, "kind", json_object_new_string(kind));
  json_object *meta = ctl_json_ensure(o, "metadata");
  cj_set(meta, "name", json_object_new_string(name));
  cj_set(meta, "namespace", json_object_new_string(ns));
  return o;
}

static int sa_sync(kube_controller_t *c, const char *key, void *arg) {
  struct nsc *x = arg;
  char k[320];
  snprintf(k, sizeof k, "%s/default", key);
  if (!ns_live(x, key) || kube_informer_has(x->objs, k))
    return 0;
  return write_obj(x, key, new_obj("ServiceAccount", key, "default"), false);
}

static int ca_sync(kube_controller_t *c, const char *key, void *arg) {
  struct nsc *x = arg;
  char k[320];
  snprintf(k, sizeof k, "%s/" ROOT_CA_NAME, key);
  if (!ns_live(x, key))
    return 0;
  const kube_object_t *cur = kube_informer_get(x->objs, k);
  json_object *data = json_object_new_object();
  cj_set(data, "ca.crt", json_object_new_string(x->ca));
  if (!cur) {
    json_object *o = new_obj("ConfigMap", key, ROOT_CA_NAME);
    cj_set(ctl_json_ensure(cj_obj(o, "metadata"), "annotations"),
           DESCRIPTION_ANNOTATION, json_object_new_string(DESCRIPTION));
    cj_set(o, "data", data);
    return write_obj(x, key, o, false);
  }
  json_object *cm = kube_object_json(cur);
  json_object *ann = cj_obj(cj_obj(cm, "metadata"), "annotations");
  json_object *cdata = cj_obj(cm, "data");
  if (cdata && json_object_equal(cdata, data) &&
      *cj_str0(ann, DESCRIPTION_ANNOTATION)) {
    json_object_put(data);
    return 0;
  }
  json_object *o = ctl_json_copy(cm);
  cj_set(o, "data", data);
  cj_set(ctl_json_ensure(ctl_json_ensure(o, "metadata"), "annotations"),
         DESCRIPTION_ANNOTATION, json_object_new_string(DESCRIPTION));
  return write_obj(x, key, o, true);
}

static void nsc_free(void *impl) {
  struct nsc *x = impl;
  if (!x)
    return;
  ctl_base_clear(&x->b);
  free(x);
}

static void *nsc_create(kube_controller_manager_t *m, bool rootca,
                        kube_error_t *err) {
  struct nsc *x = calloc(1, sizeof *x);
  if (!x) {
    kube_make_oom(err);
    return NULL;
  }
  x->obj_name = rootca ? ROOT_CA_NAME : "default";
  x->ca = ctl_manager_options(m)->root_ca_pem;
  x->kind = kube_kind_by_resource("", "v1",
                                  rootca ? "configmaps" : "serviceaccounts");
  if (!x->kind ||
      ctl_base_init(
          &x->b, m, rootca ? "root-ca-cert-publisher" : "serviceaccount",
          rootca ? "root-ca-cert-publisher" : "serviceaccount-controller",
          rootca ? ca_sync : sa_sync, x, err) < 0) {
    free(x);
    return NULL;
  }
  /* Only the objects of our name are cached (kube-controller-manager's
   * publisher lists ConfigMaps by this field selector too). */
  char fs[64];
  snprintf(fs, sizeof fs, "metadata.name=%s", x->obj_name);
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = rootca ? "/api/v1/configmaps"
                                               : "/api/v1/serviceaccounts",
                                .field_selector = fs};
  if (!(x->ns = ctl_manager_informer(m, "/api/v1/namespaces", err)) ||
      !(x->objs = kube_informer_factory_informer(ctl_manager_informers(m), &io,
                                                 err)) ||
      kube_controller_watch(x->b.c, x->ns, NULL, NULL, err) < 0 ||
      kube_controller_watch(x->b.c, x->objs, obj_map, x, err) < 0) {
    nsc_free(x);
    return NULL;
  }
  return x;
}

static void *sa_create(kube_controller_manager_t *m, kube_error_t *err) {
  return nsc_create(m, false, err);
}

static void *ca_create(kube_controller_manager_t *m, kube_error_t *err) {
  return nsc_create(m, true, err);
}

static int nsc_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct nsc *)impl)->b.c, err);
}

static kube_controller_t *nsc_controller(void *impl) {
  return ((struct nsc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_serviceaccount_ops = {
    .create = sa_create,
    .start = nsc_start,
    .free = nsc_free,
    .controller = nsc_controller,
};

const struct ctl_impl_ops ctl_rootca_ops = {
    .create = ca_create,
    .start = nsc_start,
    .free = nsc_free,
    .controller = nsc_controller,
};
