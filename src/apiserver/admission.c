/* SPDX-License-Identifier: Apache-2.0 */
/* The admission chain: mutating functions, then (after the object's
 * validation) validating ones, between decoding and the store, as in
 * kube-apiserver.  The built-in plugins (admission-podsecurity.c,
 * admission-limits.c) register through the same table as an embedder's
 * functions (kube_apiserver_add_admission). */
#include <stdarg.h>

#include "api/api-private.h"
#include "apiserver/internal.h"

/* Where a function sits in its phase: built-ins first, then embedders',
 * ResourceQuota last (a request denied by anyone is never counted). */
enum { ORDER_BUILTIN, ORDER_USER, ORDER_LAST };

struct as_admission {
  char *name;
  bool mutating;
  int order;
  unsigned ops;
  char **resources; /* NULL: all */
  kube_apiserver_admission_fn fn;
  void *arg;
  struct as_admission *next;
};

static void adm_free(struct as_admission *a) {
  if (!a)
    return;
  for (size_t i = 0; a->resources && a->resources[i]; i++)
    free(a->resources[i]);
  free(a->resources);
  free(a->name);
  free(a);
}

void as_admissions_free(kube_apiserver_t *srv) {
  while (srv->admissions) {
    struct as_admission *a = srv->admissions;
    srv->admissions = a->next;
    adm_free(a);
  }
}

int as_admission_add(kube_apiserver_t *srv, const kube_apiserver_admission_t *o,
                     int order, kube_error_t *err) {
  if (!o->fn || !o->name || !*o->name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "an admission function needs a name and a callback");
  struct as_admission *a = calloc(1, sizeof *a);
  if (!a || !(a->name = strdup(o->name))) {
    adm_free(a);
    return kube_make_oom(err);
  }
  a->mutating = o->mutating;
  a->order = order;
  a->ops = o->operations ? o->operations
                         : KUBE_ADMISSION_CREATE | KUBE_ADMISSION_UPDATE;
  a->fn = o->fn;
  a->arg = o->arg;
  if (o->resources) {
    size_t n = 0;
    while (o->resources[n])
      n++;
    if (!(a->resources = calloc(n + 1, sizeof *a->resources))) {
      adm_free(a);
      return kube_make_oom(err);
    }
    for (size_t i = 0; i < n; i++)
      if (!(a->resources[i] = strdup(o->resources[i]))) {
        adm_free(a);
        return kube_make_oom(err);
      }
  }
  struct as_admission **p = &srv->admissions;
  while (*p && (*p)->order <= order)
    p = &(*p)->next;
  a->next = *p;
  *p = a;
  return 0;
}

KUBE_EXPORT int
kube_apiserver_add_admission(kube_apiserver_t *srv,
                             const kube_apiserver_admission_t *adm,
                             kube_error_t *err) {
  kube_apiserver_admission_t o = {0};
  core_opts_copy(&o, adm);
  return as_admission_add(srv, &o, ORDER_USER, err);
}

KUBE_EXPORT void
kube_apiserver_admission_warn(const kube_apiserver_admission_attrs_t *attrs,
                              const char *fmt, ...) {
  struct req *r = attrs ? attrs->internal : NULL;
  if (!r)
    return;
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  as_req_warn(r, "%s", text);
}

/* "pods", "deployments.apps", "pods/status" against the request. */
static bool resource_matches(const struct as_admission *a, const kube_kind_t *k,
                             const char *sub) {
  if (!a->resources)
    return !sub;
  for (size_t i = 0; a->resources[i]; i++) {
    const char *e = a->resources[i];
    if (streq(e, "*") && !sub)
      return true;
    size_t rl = strlen(k->resource);
    if (strncmp(e, k->resource, rl) != 0)
      continue;
    const char *p = e + rl;
    if (*p == '.') {
      p++;
      size_t gl = strlen(k->group);
      if (!gl || strncmp(p, k->group, gl) != 0)
        continue;
      p += gl;
    } else if (*k->group) {
      continue;
    }
    if (sub ? (*p == '/' && streq(p + 1, sub)) : !*p)
      return true;
  }
  return false;
}

int as_admit(struct req *r, const kube_kind_t *k, bool mutating,
             kube_apiserver_admission_op_t op, json_object *obj,
             json_object *old, kube_error_t *err) {
  return as_admit_kind(r, k, k->kind, mutating, op, obj, old, err);
}

int as_admit_kind(struct req *r, const kube_kind_t *k, const char *kind,
                  bool mutating, kube_apiserver_admission_op_t op,
                  json_object *obj, json_object *old, kube_error_t *err) {
  kube_apiserver_t *srv = r->srv;
  if (!srv->admissions)
    return 0;
  struct kube_object cur = {.root = obj}, prev = {.root = old};
  const char *sub = r->rt.sub;
  kube_apiserver_admission_attrs_t at = {
      .struct_size = sizeof at,
      .operation = op,
      .group = k->group,
      .version = k->version,
      .resource = k->resource,
      .subresource = sub,
      .kind = kind,
      .namespace_ = k->namespaced
                        ? kube_json_get_string(obj, "metadata.namespace")
                        : NULL,
      .name = kube_json_get_string(obj, "metadata.name"),
      .object = &cur,
      .old_object = old ? &prev : NULL,
      .user = r->user,
      .dry_run = as_dry_run(r),
      .internal = r,
  };
  for (struct as_admission *a = srv->admissions; a; a = a->next) {
    if (a->mutating != mutating || !(a->ops & op) ||
        !resource_matches(a, k, sub))
      continue;
    if (a->fn(&at, a->arg, err) < 0) {
      if (err && err->reason == KUBE_REASON_UNKNOWN)
        err->reason = KUBE_REASON_FORBIDDEN;
      if (err && !err->message)
        kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                       "%s \"%s\" is forbidden: denied by %s", k->resource,
                       at.name ? at.name : "", a->name);
      if (err && !err->details_kind) {
        err->details_kind = strdup(k->resource);
        err->details_name = at.name ? strdup(at.name) : NULL;
      }
      log_debug("apiserver: admission %s denied %s %s", a->name, k->resource,
                at.name ? at.name : "");
      return -1;
    }
    /* A mutating function's edits may have freed the strings the
     * attributes point into: read them again. */
    if (mutating) {
      at.name = kube_json_get_string(obj, "metadata.name");
      if (k->namespaced)
        at.namespace_ = kube_json_get_string(obj, "metadata.namespace");
    }
  }
  return 0;
}

int as_admission_builtins(kube_apiserver_t *srv, kube_error_t *err) {
  static const char *const pods[] = {"pods", NULL};
  static const char *const workloads[] = {"deployments.apps",
                                          "replicasets.apps",
                                          "statefulsets.apps",
                                          "daemonsets.apps",
                                          "jobs.batch",
                                          "cronjobs.batch",
                                          "replicationcontrollers",
                                          NULL};
  static const char *const namespaces[] = {"namespaces", NULL};
  /* PodSecurity's ValidatePod ignores every pod subresource but this
   * one: a debug container must meet the namespace's level too */
  static const char *const ephemeral[] = {"pods/ephemeralcontainers", NULL};
  const kube_apiserver_admission_t list[] = {
      {.name = "LimitRanger",
       .mutating = true,
       .operations = KUBE_ADMISSION_CREATE,
       .resources = pods,
       .fn = as_limitranger_mutate},
      {.name = "PodSecurity",
       .operations = KUBE_ADMISSION_CREATE,
       .resources = pods,
       .fn = as_podsecurity_pod},
      {.name = "PodSecurity",
       .operations = KUBE_ADMISSION_UPDATE,
       .resources = ephemeral,
       .fn = as_podsecurity_pod},
      {.name = "PodSecurity",
       .resources = workloads,
       .fn = as_podsecurity_workload},
      {.name = "PodSecurity",
       .operations = KUBE_ADMISSION_CREATE | KUBE_ADMISSION_UPDATE,
       .resources = namespaces,
       .fn = as_podsecurity_namespace,
       .arg = srv},
      {.name = "LimitRanger",
       .operations = KUBE_ADMISSION_CREATE,
       .resources = pods,
       .fn = as_limitranger_validate},
  };
  for (size_t i = 0; i < ARRAY_SIZE(list); i++) {
    kube_apiserver_admission_t a = list[i];
    if (!a.arg)
      a.arg = srv;
    if (as_admission_add(srv, &a, ORDER_BUILTIN, err) < 0)
      return -1;
  }
  const kube_apiserver_admission_t quota = {.name = "ResourceQuota",
                                            .operations = KUBE_ADMISSION_CREATE,
                                            .fn = as_quota_admit,
                                            .arg = srv};
  return as_admission_add(srv, &quota, ORDER_LAST, err);
}
