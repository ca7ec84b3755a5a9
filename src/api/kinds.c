/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kinds table: every built-in resource libkube serves (each defined
 * with its columns and strategy in kinds/<area>.c), the lookups by
 * resource, kind and what a user typed, and the server-side spelling of
 * column names.
 */
#include <ctype.h>
#include <strings.h>

#include "api/kinds/kind.h"

static const kube_kind_column_t generic_columns[] = {COL_NAME, COL_AGE,
                                                     COL_END};

/* ---- verbs, names ------------------------------------------------------ */

const char *const api_verbs_all[] = {"create", "delete", "deletecollection",
                                     "get",    "list",   "patch",
                                     "update", "watch",  NULL};
const char *const api_verbs_namespace[] = {"create", "delete", "get",   "list",
                                           "patch",  "update", "watch", NULL};
const char *const api_categories_all[] = {"all", NULL};
const char *const api_sub_status[] = {"status", NULL};
const char *const api_sub_status_scale[] = {"scale", "status", NULL};

/* Every built-in kind, in discovery order (a group's preferred version
 * first).  A new kind is one file in kinds/ and one line here. */
static const kube_kind_t *const kinds[] = {
    /* core/v1 */
    &api_kind_pod,
    &api_kind_node,
    &api_kind_service,
    &api_kind_endpoints,
    &api_kind_namespace,
    &api_kind_event,
    &api_kind_configmap,
    &api_kind_secret,
    &api_kind_rc,
    &api_kind_serviceaccount,
    &api_kind_pvc,
    &api_kind_pv,
    &api_kind_limitrange,
    &api_kind_resourcequota,
    /* apps/v1 */
    &api_kind_deployment,
    &api_kind_replicaset,
    &api_kind_daemonset,
    &api_kind_statefulset,
    &api_kind_controllerrevision,
    /* autoscaling: v2 is the preferred version */
    &api_kind_hpa_v2,
    &api_kind_hpa_v1,
    /* batch/v1 */
    &api_kind_job,
    &api_kind_cronjob,
    /* coordination.k8s.io/v1 */
    &api_kind_lease,
    /* discovery.k8s.io/v1 */
    &api_kind_endpointslice,
    /* events.k8s.io/v1 */
    &api_kind_event_v1,
    /* networking.k8s.io/v1 */
    &api_kind_networkpolicy,
    /* policy/v1 */
    &api_kind_pdb,
    /* storage.k8s.io/v1 */
    &api_kind_storageclass,
    /* apiextensions.k8s.io/v1 */
    &api_kind_crd,
    /* rbac.authorization.k8s.io/v1 */
    &api_kind_clusterrolebinding,
    &api_kind_clusterrole,
    &api_kind_rolebinding,
    &api_kind_role,
    /* apiregistration.k8s.io/v1: group-versions served by other servers */
    &api_kind_apiservice,
    /* certificates.k8s.io/v1 */
    &api_kind_csr,
    /* authorization.k8s.io/v1: create-only, answered by the API server */
    &api_kind_ssar,
    &api_kind_sar,
    &api_kind_lsar,
    &api_kind_ssrr,
    /* authentication.k8s.io/v1: create-only */
    &api_kind_ssr,
    &api_kind_tokenreview,
};

/* The column names as the API server's Table sends them ("Name",
 * "Nominated Node"); kubectl upper-cases them for display. */
static const struct {
  const char *shown, *server;
} server_names[] = {
    {"NAME", "Name"},
    {"READY", "Ready"},
    {"STATUS", "Status"},
    {"RESTARTS", "Restarts"},
    {"AGE", "Age"},
    {"IP", "IP"},
    {"NODE", "Node"},
    {"NOMINATED NODE", "Nominated Node"},
    {"READINESS GATES", "Readiness Gates"},
    {"DESIRED", "Desired"},
    {"CURRENT", "Current"},
    {"CONTAINERS", "Containers"},
    {"CONTROLLER", "Controller"},
    {"REVISION", "Revision"},
    {"IMAGES", "Images"},
    {"SELECTOR", "Selector"},
    {"UP-TO-DATE", "Up-to-date"},
    {"AVAILABLE", "Available"},
    {"SERVICE", "Service"},
    {"NODE SELECTOR", "Node Selector"},
    {"COMPLETIONS", "Completions"},
    {"DURATION", "Duration"},
    {"SCHEDULE", "Schedule"},
    {"TIMEZONE", "Timezone"},
    {"SUSPEND", "Suspend"},
    {"ACTIVE", "Active"},
    {"LAST SCHEDULE", "Last Schedule"},
    {"TYPE", "Type"},
    {"CLUSTER-IP", "Cluster-IP"},
    {"EXTERNAL-IP", "External-IP"},
    {"PORT(S)", "Port(s)"},
    {"ENDPOINTS", "Endpoints"},
    {"ROLES", "Roles"},
    {"VERSION", "Version"},
    {"INTERNAL-IP", "Internal-IP"},
    {"OS-IMAGE", "OS-Image"},
    {"KERNEL-VERSION", "Kernel-Version"},
    {"CONTAINER-RUNTIME", "Container-Runtime"},
    {"LAST SEEN", "Last Seen"},
    {"REASON", "Reason"},
    {"OBJECT", "Object"},
    {"SUBOBJECT", "Subobject"},
    {"SOURCE", "Source"},
    {"MESSAGE", "Message"},
    {"FIRST SEEN", "First Seen"},
    {"COUNT", "Count"},
    {"DATA", "Data"},
    {"SECRETS", "Secrets"},
    {"CAPACITY", "Capacity"},
    {"ACCESS MODES", "Access Modes"},
    {"RECLAIM POLICY", "Reclaim Policy"},
    {"CLAIM", "Claim"},
    {"STORAGECLASS", "StorageClass"},
    {"PROVISIONER", "Provisioner"},
    {"RECLAIMPOLICY", "ReclaimPolicy"},
    {"VOLUMEBINDINGMODE", "VolumeBindingMode"},
    {"ALLOWVOLUMEEXPANSION", "AllowVolumeExpansion"},
    {"VOLUMEATTRIBUTESCLASS", "VolumeAttributesClass"},
    {"VOLUMEMODE", "VolumeMode"},
    {"VOLUME", "Volume"},
    {"REFERENCE", "Reference"},
    {"TARGETS", "Targets"},
    {"MINPODS", "MinPods"},
    {"MAXPODS", "MaxPods"},
    {"REPLICAS", "Replicas"},
    {"HOLDER", "Holder"},
    {"CREATED AT", "Created At"},
    {"REQUEST", "Request"},
    {"LIMIT", "Limit"},
    {"ADDRESSTYPE", "AddressType"},
    {"PORTS", "Ports"},
    {"ROLE", "Role"},
    {"USERS", "Users"},
    {"GROUPS", "Groups"},
    {"SERVICEACCOUNTS", "ServiceAccounts"},
    {"SIGNERNAME", "SignerName"},
    {"REQUESTOR", "Requestor"},
    {"REQUESTEDDURATION", "RequestedDuration"},
    {"CONDITION", "Condition"},
    {"MIN AVAILABLE", "Min Available"},
    {"MAX UNAVAILABLE", "Max Unavailable"},
    {"ALLOWED DISRUPTIONS", "Allowed Disruptions"},
    {"POD-SELECTOR", "Pod-Selector"},
};

KUBE_EXPORT const char *
kube_kind_column_server_name(const kube_kind_column_t *col) {
  if (!col || !col->name)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE(server_names); i++)
    if (streq(server_names[i].shown, col->name))
      return server_names[i].server;
  return col->name;
}

KUBE_EXPORT size_t kube_kinds_count(void) {
  return ARRAY_SIZE(kinds);
}

KUBE_EXPORT const kube_kind_t *kube_kinds_at(size_t i) {
  return i < ARRAY_SIZE(kinds) ? kinds[i] : NULL;
}

/* Kinds a client process learned from the server (custom resources), looked
 * up after the built-in table.  Replaced sets stay alive: callers may hold
 * their pointers. */
static kube_kind_t **extra;
static size_t n_extra;

void api_kinds_set_extra(kube_kind_t **kinds_in, size_t n) {
  extra = kinds_in;
  n_extra = n;
}

/* The i-th kind to search: the built-in table, then the extra kinds. */
static const kube_kind_t *kind_at(size_t i) {
  return i < ARRAY_SIZE(kinds) ? kinds[i] : extra[i - ARRAY_SIZE(kinds)];
}

static size_t kinds_total(void) {
  return ARRAY_SIZE(kinds) + n_extra;
}

KUBE_EXPORT const kube_kind_column_t *kube_kind_generic_columns(void) {
  return generic_columns;
}

KUBE_EXPORT const kube_kind_t *kube_kind_by_resource(const char *group,
                                                     const char *version,
                                                     const char *resource) {
  if (!resource)
    return NULL;
  if (!group)
    group = "";
  for (size_t i = 0; i < kinds_total(); i++) {
    const kube_kind_t *k = kind_at(i);
    if (streq(k->group, group) && streq(k->resource, resource) &&
        (!version || streq(k->version, version)))
      return k;
  }
  return NULL;
}

KUBE_EXPORT const kube_kind_t *kube_kind_by_kind(const char *api_version,
                                                 const char *kind) {
  if (!kind)
    return NULL;
  const char *group = "", *version = api_version;
  size_t glen = 0;
  if (api_version) {
    const char *slash = strchr(api_version, '/');
    if (slash) {
      group = api_version;
      glen = (size_t)(slash - api_version);
      version = slash + 1;
    }
  }
  for (size_t i = 0; i < kinds_total(); i++) {
    const kube_kind_t *k = kind_at(i);
    if (!streq(k->kind, kind))
      continue;
    if (!api_version)
      return k;
    if (strlen(k->group) == glen && strncmp(k->group, group, glen) == 0 &&
        streq(k->version, version))
      return k;
  }
  return NULL;
}

static bool name_matches(const kube_kind_t *k, const char *name) {
  if (strcasecmp(k->resource, name) == 0 ||
      strcasecmp(k->singular, name) == 0 || strcasecmp(k->kind, name) == 0)
    return true;
  for (const char *const *s = k->short_names; s && *s; s++)
    if (strcasecmp(*s, name) == 0)
      return true;
  return false;
}

/* "v1", "v2beta1", "v1alpha1" */
static bool looks_like_version(const char *s, size_t len) {
  if (len < 2 || s[0] != 'v' || !isdigit((unsigned char)s[1]))
    return false;
  size_t i = 1;
  while (i < len && isdigit((unsigned char)s[i]))
    i++;
  if (i == len)
    return true;
  const char *rest = s + i;
  size_t rl = len - i;
  size_t pl;
  if (rl > 5 && strncmp(rest, "alpha", 5) == 0)
    pl = 5;
  else if (rl > 4 && strncmp(rest, "beta", 4) == 0)
    pl = 4;
  else
    return false;
  for (size_t j = pl; j < rl; j++)
    if (!isdigit((unsigned char)rest[j]))
      return false;
  return true;
}

KUBE_EXPORT const kube_kind_t *kube_kind_resolve(const char *name) {
  if (!name || !*name)
    return NULL;
  char buf[256];
  size_t len = strlen(name);
  if (len >= sizeof(buf))
    return NULL;
  memcpy(buf, name, len + 1);

  const char *group = NULL, *version = NULL;
  char *dot = strchr(buf, '.');
  if (dot) {
    *dot = '\0';
    char *rest = dot + 1;
    char *dot2 = strchr(rest, '.');
    size_t first = dot2 ? (size_t)(dot2 - rest) : strlen(rest);
    if (looks_like_version(rest, first)) {
      version = rest;
      if (dot2) {
        *dot2 = '\0';
        group = dot2 + 1;
      } else {
        group = "";
      }
    } else {
      group = rest;
    }
  }
  for (size_t i = 0; i < kinds_total(); i++) {
    const kube_kind_t *k = kind_at(i);
    if (group && strcasecmp(k->group, group) != 0)
      continue;
    if (version && !streq(k->version, version))
      continue;
    if (name_matches(k, buf))
      return k;
  }
  return NULL;
}

KUBE_EXPORT char *kube_kind_api_version(const kube_kind_t *k, char *buf,
                                        size_t len) {
  if (!buf || len == 0)
    return buf;
  if (!k) {
    buf[0] = '\0';
    return buf;
  }
  if (k->group[0])
    snprintf(buf, len, "%s/%s", k->group, k->version);
  else
    snprintf(buf, len, "%s", k->version);
  return buf;
}

const kube_kind_t *api_kind_of_tree(json_object *obj) {
  return kube_kind_by_kind(jget_str(obj, "apiVersion"), jget_str(obj, "kind"));
}

/* ---- strategies ------------------------------------------------------- */

static const struct kube_kind_strategy no_strategy;

/* The number of a version ("v2beta1": major 2, stability beta, minor 1);
 * false for a version that does not look like one. */
static bool version_parts(const char *s, long *major, int *stab, long *minor) {
  char *end;
  if (!s || s[0] != 'v' || !isdigit((unsigned char)s[1]))
    return false;
  *major = strtol(s + 1, &end, 10);
  *minor = 0;
  if (!*end) {
    *stab = 3;
    return true;
  }
  if (strncmp(end, "beta", 4) == 0)
    *stab = 2, end += 4;
  else if (strncmp(end, "alpha", 5) == 0)
    *stab = 1, end += 5;
  else
    return false;
  if (!isdigit((unsigned char)*end))
    return false;
  *minor = strtol(end, &end, 10);
  return *end == '\0';
}

int api_version_cmp(const char *a, const char *b) {
  long ma, mia, mb, mib;
  int sa, sb;
  bool ka = version_parts(a, &ma, &sa, &mia);
  bool kb = version_parts(b, &mb, &sb, &mib);
  if (ka != kb)
    return ka ? -1 : 1;
  if (!ka)
    return strcmp(a, b);
  if (sa != sb)
    return sb - sa;
  if (ma != mb)
    return ma > mb ? -1 : 1;
  if (mia != mib)
    return mia > mib ? -1 : 1;
  return 0;
}

const struct kube_kind_strategy *api_kind_strategy(const kube_kind_t *k) {
  if (!k)
    return &no_strategy;
  if (k->strategy)
    return k->strategy;
  /* A kind made by a caller (tests, embedders): the built-in kind of the
   * same group and Kind, if any. */
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (k->group && k->kind && streq(kinds[i]->group, k->group) &&
        streq(kinds[i]->kind, k->kind) &&
        (!k->version || streq(kinds[i]->version, k->version)))
      return kinds[i]->strategy;
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (k->group && k->kind && streq(kinds[i]->group, k->group) &&
        streq(kinds[i]->kind, k->kind))
      return kinds[i]->strategy;
  return &no_strategy;
}

const api_scale_t *api_kind_scale(const kube_kind_t *k) {
  const struct kube_kind_strategy *st = api_kind_strategy(k);
  return st->scale ? st->scale(k) : NULL;
}
