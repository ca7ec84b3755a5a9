/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a kind file (src/api/kinds/<area>.c) uses: the column macros, the
 * shared verb lists, the cell and defaulting helpers, validation helpers
 * (validate.h) and the type tables (types/decl.h).  Each kind file defines
 * `const kube_kind_t api_kind_<name>` with its strategy; kinds.c lists them.
 * Private to the api module.
 */
#ifndef KUBE_API_KINDS_KIND_H
#define KUBE_API_KINDS_KIND_H

#include <ctype.h>
#include <inttypes.h>
#include <time.h>

#include "api/schema.h"
#include "api/types/decl.h"
#include "api/validate.h"

/* ---- columns ------------------------------------------------------------- */

#define DESC_NAME                                                              \
  "Name must be unique within a namespace. Is required when creating "         \
  "resources, although some resources may allow a client to request the "      \
  "generation of an appropriate name automatically. Name is primarily "        \
  "intended for creation idempotence and configuration definition. Cannot "    \
  "be updated. More info: "                                                    \
  "https://kubernetes.io/docs/concepts/overview/working-with-objects/"         \
  "names#names"
#define DESC_AGE                                                               \
  "CreationTimestamp is a timestamp representing the server time when this "   \
  "object was created. It is not guaranteed to be set in happens-before "      \
  "order across separate operations. Clients may not set this value. It is "   \
  "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "    \
  "Read-only. Null for lists. More info: "                                     \
  "https://git.k8s.io/community/contributors/devel/sig-architecture/"          \
  "api-conventions.md#metadata"
#define DESC_CONTAINERS "Names of each container in the template."
#define DESC_IMAGES "Images referenced by each container in the template."

#define COL_NAME                                                               \
  { "NAME", "string", "name", DESC_NAME, 0 }
#define COL_AGE                                                                \
  { "AGE", "string", "", DESC_AGE, 0 }
#define COL(n, t, d)                                                           \
  { n, t, "", d, 0 }
#define COLW(n, t, d)                                                          \
  { n, t, "", d, 1 }
#define COL_END                                                                \
  { NULL, NULL, NULL, NULL, 0 }

/* ---- names and verbs ------------------------------------------------------
 */

extern const char *const api_verbs_all[];       /* every verb */
extern const char *const api_verbs_namespace[]; /* all but deletecollection */
extern const char *const api_categories_all[];  /* {"all"} */
extern const char *const api_sub_status[];      /* {"status"} */
extern const char *const api_sub_status_scale[];

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A kube_kind_t initializer: list kind "<Kind>List". */
#define KIND(g, v, k, r, s, ns, shorts, verbs, cats, subs, cols, sel, strat)   \
  { g, v, k, r, s, k "List", ns, shorts, verbs, cats, subs, cols, sel, strat }

/* ---- table cells (table.c) ------------------------------------------------
 */

void api_cell_str(json_object *cells, const char *s);
void api_cell_int(json_object *cells, int64_t v);
/* Adds sb's text and frees sb. */
void api_cell_sb(json_object *cells, kube_strbuf_t *sb);
/* translateTimestampSince of o[key] into buf: "<unknown>" when absent. */
void api_since(char *buf, size_t len, json_object *o, const char *key,
               time_t now);
void api_cell_age(json_object *cells, json_object *obj, time_t now);
/* labels.FormatLabels: "<none>" when empty. */
void api_cell_labels(json_object *cells, json_object *labels);
/* A LabelSelector as a selector string; _none: "<none>" when empty. */
void api_cell_selector(json_object *cells, json_object *sel);
void api_cell_selector_none(json_object *cells, json_object *sel);
/* Container names and images of a pod spec, two cells. */
void api_cell_containers(json_object *cells, json_object *pod_spec);
/* spec.template.spec of a workload. */
json_object *api_template_spec(json_object *obj);
/* metadata.name or "". */
const char *api_name_of(json_object *obj);
bool api_has_deletion(json_object *obj);
/* status.conditions[type].status == "True". */
bool api_condition_true(json_object *status, const char *type);

/* ---- defaulting (defaults.c) ----------------------------------------------
 */

static inline json_object *jint(int64_t v) {
  return json_object_new_int64(v);
}
static inline json_object *jstr(const char *s) {
  return json_object_new_string(s);
}
static inline json_object *jbool(bool b) {
  return json_object_new_boolean(b);
}
/* o[key] absent or null. */
static inline bool absent(json_object *o, const char *key) {
  json_object *v = NULL;
  return !json_object_object_get_ex(o, key, &v) || v == NULL;
}
/* Absent, null or "". */
static inline bool empty_str(json_object *o, const char *key) {
  const char *s = jget_str(o, key);
  return absent(o, key) || (s && !*s);
}

/* SetDefaults of a PodSpec (containers, volumes, policies). */
void api_default_pod_spec(json_object *spec);
/* spec.template of a workload spec. */
json_object *api_template_of(json_object *spec);
/* The pod spec of spec.template of a workload spec. */
void api_default_template(json_object *spec);
/* The object's labels default to its template's (RC, Job). */
void api_labels_from_template(json_object *obj, json_object *tmpl);

/* ---- the kinds ------------------------------------------------------------
 */

extern const kube_kind_t api_kind_pod;
extern const kube_kind_t api_kind_node, api_kind_namespace, api_kind_event,
    api_kind_event_v1, api_kind_lease;
extern const kube_kind_t api_kind_service, api_kind_endpoints,
    api_kind_endpointslice;
extern const kube_kind_t api_kind_configmap, api_kind_secret,
    api_kind_serviceaccount;
extern const kube_kind_t api_kind_storageclass;
extern const kube_kind_t api_kind_pdb;
extern const kube_kind_t api_kind_apiservice;
extern const kube_kind_t api_kind_networkpolicy;
extern const kube_kind_t api_kind_pvc, api_kind_pv, api_kind_limitrange,
    api_kind_resourcequota;
extern const kube_kind_t api_kind_rc, api_kind_deployment, api_kind_replicaset,
    api_kind_daemonset, api_kind_statefulset, api_kind_controllerrevision;
extern const kube_kind_t api_kind_job, api_kind_cronjob;
extern const kube_kind_t api_kind_hpa_v2, api_kind_hpa_v1;
/* autoscaling/v1 <-> autoscaling/v2 in place (autoscaling-convert.c). */
int api_hpa_convert(json_object *obj, const char *api_version);
extern const kube_kind_t api_kind_crd;
extern const kube_kind_t api_kind_role, api_kind_clusterrole,
    api_kind_rolebinding, api_kind_clusterrolebinding, api_kind_csr,
    api_kind_ssar, api_kind_sar, api_kind_lsar, api_kind_ssrr, api_kind_ssr, api_kind_tokenreview;

#endif /* KUBE_API_KINDS_KIND_H */
