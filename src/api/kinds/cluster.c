/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster-level kinds: Node, Namespace, Event (core/v1 and
 * events.k8s.io/v1) and Lease (coordination.k8s.io/v1): columns and cells,
 * defaults, validation, and a namespace's state at creation (Active, its
 * name label, the "kubernetes" finalizer).
 */
#include <ctype.h>

#include "api/kinds/kind.h"

static const kube_kind_column_t node_columns[] = {
    COL_NAME,
    COL("STATUS", "string", "The status of the node"),
    COL("ROLES", "string", "The roles of the node"),
    COL_AGE,
    COL("VERSION", "string", "Kubelet Version reported by the node."),
    COLW("INTERNAL-IP", "string", "List of addresses reachable to the node."),
    COLW("EXTERNAL-IP", "string", "List of addresses reachable to the node."),
    COLW("OS-IMAGE", "string",
         "OS Image reported by the node from /etc/os-release."),
    COLW("KERNEL-VERSION", "string",
         "Kernel Version reported by the node from 'uname -r'."),
    COLW("CONTAINER-RUNTIME", "string",
         "ContainerRuntime Version reported by the node through runtime "
         "remote API."),
    COL_END};

static const kube_kind_column_t namespace_columns[] = {
    COL_NAME, COL("STATUS", "string", "The status of the namespace"), COL_AGE,
    COL_END};

static const kube_kind_column_t event_columns[] = {
    COL("LAST SEEN", "string",
        "The time at which the most recent occurrence of this event was "
        "recorded."),
    COL("TYPE", "string", "Type of this event (Normal, Warning)."),
    COL("REASON", "string",
        "This should be a short, machine understandable string that gives "
        "the reason for the transition into the object's current status."),
    COL("OBJECT", "string", "The object that this event is about."),
    COLW("SUBOBJECT", "string",
         "If referring to a piece of an object instead of an entire object, "
         "this string should contain a valid JSON/Go field access "
         "statement."),
    COLW("SOURCE", "string", "The component reporting this event."),
    COL("MESSAGE", "string",
        "A human-readable description of the status of this operation."),
    COLW("FIRST SEEN", "string",
         "The time at which the event was first recorded."),
    COLW("COUNT", "string", "The number of times this event has occurred."),
    {"NAME", "string", "name", DESC_NAME, 1},
    COL_END};

static const kube_kind_column_t lease_columns[] = {
    COL_NAME,
    COL("HOLDER", "string",
        "holderIdentity contains the identity of the holder of a current "
        "lease."),
    COL_AGE, COL_END};

static const char *const sel_nodes[] = {"spec.unschedulable", NULL};

static const char *const sel_events[] = {"involvedObject.kind",
                                         "involvedObject.namespace",
                                         "involvedObject.name",
                                         "involvedObject.uid",
                                         "involvedObject.apiVersion",
                                         "involvedObject.resourceVersion",
                                         "involvedObject.fieldPath",
                                         "reason",
                                         "reportingComponent",
                                         "source",
                                         "type",
                                         NULL};

static const char *const sel_events_v1[] = {"regarding.kind",
                                            "regarding.namespace",
                                            "regarding.name",
                                            "regarding.uid",
                                            "regarding.apiVersion",
                                            "regarding.resourceVersion",
                                            "regarding.fieldPath",
                                            "reason",
                                            "reportingController",
                                            "type",
                                            NULL};

static const char *const sel_namespaces[] = {"status.phase", NULL};

static const char *const sub_namespace[] = {"finalize", "status", NULL};

static int role_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void node_address(json_object *cells, json_object *status,
                         const char *type) {
  json_object *addrs = jget_arr(status, "addresses");
  for (size_t i = 0; i < jarr_len(addrs); i++) {
    json_object *a = jarr_at(addrs, i);
    if (streq(jget_str0(a, "type"), type)) {
      api_cell_str(cells, jget_str0(a, "address"));
      return;
    }
  }
  api_cell_str(cells, "<none>");
}

static void node_cells(json_object *cells, json_object *obj, time_t now,
                       const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  kube_strbuf_t status = KUBE_STRBUF_INIT;
  json_object *conds = jget_arr(st, "conditions");
  for (size_t i = jarr_len(conds); i-- > 0;) {
    /* the last Ready condition wins, as the map in printNode does */
    json_object *c = jarr_at(conds, i);
    if (streq(jget_str0(c, "type"), "Ready")) {
      kube_strbuf_append(&status, streq(jget_str0(c, "status"), "True")
                                      ? "Ready"
                                      : "NotReady");
      break;
    }
  }
  if (status.len == 0)
    kube_strbuf_append(&status, "Unknown");
  if (jget_bool(spec, "unschedulable", false))
    kube_strbuf_append(&status, ",SchedulingDisabled");
  api_cell_str(cells, api_name_of(obj));
  api_cell_sb(cells, &status);

  json_object *labels = jget_obj(jget_obj(obj, "metadata"), "labels");
  size_t nl = labels ? (size_t)json_object_object_length(labels) : 0;
  const char **roles = calloc(nl ? nl : 1, sizeof(*roles));
  size_t nr = 0;
  if (roles && labels) {
    json_object_object_foreach(labels, k, v) {
      const char *role = NULL;
      if (str_has_prefix(k, "node-role.kubernetes.io/"))
        role = k + strlen("node-role.kubernetes.io/");
      else if (streq(k, "kubernetes.io/role") &&
               json_object_is_type(v, json_type_string))
        role = json_object_get_string(v);
      if (!role || !*role)
        continue;
      bool dup = false;
      for (size_t j = 0; j < nr; j++)
        dup = dup || streq(roles[j], role);
      if (!dup)
        roles[nr++] = role;
    }
    qsort(roles, nr, sizeof(*roles), role_cmp);
  }
  kube_strbuf_t rs = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < nr; i++) {
    if (i)
      kube_strbuf_append_char(&rs, ',');
    kube_strbuf_append(&rs, roles[i]);
  }
  free(roles);
  if (rs.len == 0)
    kube_strbuf_append(&rs, "<none>");
  api_cell_sb(cells, &rs);
  api_cell_age(cells, obj, now);
  json_object *info = jget_obj(st, "nodeInfo");
  api_cell_str(cells, jget_str0(info, "kubeletVersion"));
  node_address(cells, st, "InternalIP");
  node_address(cells, st, "ExternalIP");
  const char *v;
  v = jget_str(info, "osImage");
  api_cell_str(cells, v && *v ? v : "<unknown>");
  v = jget_str(info, "kernelVersion");
  api_cell_str(cells, v && *v ? v : "<unknown>");
  v = jget_str(info, "containerRuntimeVersion");
  api_cell_str(cells, v && *v ? v : "<unknown>");
}

static void namespace_cells(json_object *cells, json_object *obj, time_t now,
                            const kube_kind_t *kind) {
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, jget_str0(jget_obj(obj, "status"), "phase"));
  api_cell_age(cells, obj, now);
}

/* Core and events.k8s.io events share the printer; field names differ. */
static void event_cells(json_object *cells, json_object *obj, time_t now,
                        bool v1) {
  json_object *inv = jget_obj(obj, v1 ? "regarding" : "involvedObject");
  json_object *src = jget_obj(obj, v1 ? "deprecatedSource" : "source");
  const char *k_first = v1 ? "deprecatedFirstTimestamp" : "firstTimestamp";
  const char *k_last = v1 ? "deprecatedLastTimestamp" : "lastTimestamp";
  const char *k_count = v1 ? "deprecatedCount" : "count";
  char first[32], last[32];
  if (jget_str(obj, k_first))
    api_since(first, sizeof(first), obj, k_first, now);
  else
    api_since(first, sizeof(first), obj, "eventTime", now);
  if (jget_str(obj, k_last))
    api_since(last, sizeof(last), obj, k_last, now);
  else
    memcpy(last, first, sizeof(last));
  int64_t count = jget_int(obj, k_count, 0);
  json_object *series = jget_obj(obj, "series");
  if (series) {
    api_since(last, sizeof(last), series, "lastObservedTime", now);
    count = jget_int(series, "count", 0);
  } else if (count == 0) {
    count = 1;
  }
  kube_strbuf_t target = KUBE_STRBUF_INIT;
  for (const char *p = jget_str0(inv, "kind"); *p; p++)
    kube_strbuf_append_char(&target, (char)tolower((unsigned char)*p));
  if (*jget_str0(inv, "name"))
    kube_strbuf_printf(&target, "/%s", jget_str0(inv, "name"));
  const char *component = jget_str0(src, "component");
  if (!*component)
    component = jget_str0(obj, "reportingController");
  if (!*component)
    component = jget_str0(obj, "reportingComponent");
  const char *host = jget_str0(src, "host");
  if (!*host)
    host = jget_str0(obj, "reportingInstance");
  kube_strbuf_t source = KUBE_STRBUF_INIT;
  kube_strbuf_append(&source, component);
  if (*host)
    kube_strbuf_printf(&source, ", %s", host);
  const char *msg = jget_str0(obj, v1 ? "note" : "message");
  while (isspace((unsigned char)*msg))
    msg++;
  size_t ml = strlen(msg);
  while (ml > 0 && isspace((unsigned char)msg[ml - 1]))
    ml--;

  api_cell_str(cells, last);
  api_cell_str(cells, jget_str0(obj, "type"));
  api_cell_str(cells, jget_str0(obj, "reason"));
  if (target.len == 0)
    kube_strbuf_append(&target, "");
  api_cell_sb(cells, &target);
  api_cell_str(cells, jget_str0(inv, "fieldPath"));
  api_cell_sb(cells, &source);
  json_object_array_add(cells, json_object_new_string_len(msg, (int)ml));
  api_cell_str(cells, first);
  api_cell_int(cells, count);
  api_cell_str(cells, api_name_of(obj));
}

static void lease_cells(json_object *cells, json_object *obj, time_t now,
                        const kube_kind_t *kind) {
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, jget_str0(jget_obj(obj, "spec"), "holderIdentity"));
  api_cell_age(cells, obj, now);
}

static void namespace_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = api_jensure_obj(obj, "spec");
  if (spec && !jget_arr(spec, "finalizers")) {
    json_object *f = json_object_new_array();
    if (f && json_object_array_add(f, jstr("kubernetes")) == 0)
      api_jset(spec, "finalizers", f);
    else
      json_object_put(f);
  }
  json_object *status = api_jensure_obj(obj, "status");
  if (status && empty_str(status, "phase"))
    api_jset(status, "phase", jstr("Active"));
}

static void node_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *status = jget_obj(obj, "status");
  json_object *cap = jget_obj(status, "capacity");
  if (cap && absent(status, "allocatable")) {
    json_object *copy = NULL;
    if (json_object_deep_copy(cap, &copy, NULL) == 0)
      api_jset(status, "allocatable", copy);
  }
}

static void validate_namespace(verrs_t *v, json_object *obj, json_object *old,
                               const kube_kind_t *kind) {
  json_object *fin = jget_arr(jget_obj(obj, "spec"), "finalizers");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(fin); i++) {
    const char *s = json_object_get_string(jarr_at(fin, i));
    const char *msg = kube_validate_label_key(s ? s : "");
    if (msg)
      api_v_invalid(v, api_fp(f, "spec.finalizers[%zu]", i), s ? s : "", msg);
  }
}

static const char *const taint_effects[] = {"NoExecute", "NoSchedule",
                                            "PreferNoSchedule", NULL};

static void validate_node(verrs_t *v, json_object *obj, json_object *old,
                          const kube_kind_t *kind) {
  json_object *taints = jget_arr(jget_obj(obj, "spec"), "taints");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(taints); i++) {
    json_object *t = jarr_at(taints, i);
    const char *key = jget_str0(t, "key");
    if (!*key) {
      api_v_required(v, api_fp(f, "spec.taints[%zu].key", i), NULL);
    } else {
      const char *msg = kube_validate_label_key(key);
      if (msg)
        api_v_invalid(v, api_fp(f, "spec.taints[%zu].key", i), key, msg);
    }
    const char *val = jget_str0(t, "value");
    const char *msg = kube_validate_label_value(val);
    if (msg)
      api_v_invalid(v, api_fp(f, "spec.taints[%zu].value", i), val, msg);
    const char *eff = jget_str0(t, "effect");
    if (!*eff)
      api_v_required(v, api_fp(f, "spec.taints[%zu].effect", i), NULL);
    else if (!api_in_set(eff, taint_effects))
      api_v_unsupported(v, api_fp(f, "spec.taints[%zu].effect", i), eff,
                        taint_effects);
    for (size_t j = 0; j < i; j++) {
      json_object *u = jarr_at(taints, j);
      if (streq(jget_str0(u, "key"), key) &&
          streq(jget_str0(u, "effect"), eff)) {
        api_v_duplicate(v, api_fp(f, "spec.taints[%zu]", i), key);
        break;
      }
    }
  }
  const char *cidr = jget_str(jget_obj(obj, "spec"), "podCIDR");
  if (cidr && *cidr) {
    char ip[64];
    const char *slash = strchr(cidr, '/');
    size_t l = slash ? (size_t)(slash - cidr) : 0;
    bool ok = slash && l < sizeof(ip) && slash[1];
    if (ok) {
      memcpy(ip, cidr, l);
      ip[l] = '\0';
      ok = api_valid_ip(ip);
      for (const char *p = slash + 1; ok && *p; p++)
        ok = isdigit((unsigned char)*p);
    }
    if (!ok)
      api_v_invalid(v, "spec.podCIDR", cidr,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
                    "2001:db8::/64)");
  }
}

static void validate_event(verrs_t *v, json_object *obj, bool v1) {
  json_object *inv = jget_obj(obj, v1 ? "regarding" : "involvedObject");
  const char *ns = jget_str0(jget_obj(obj, "metadata"), "namespace");
  const char *ins = jget_str0(inv, "namespace");
  const char *field = v1 ? "regarding.namespace" : "involvedObject.namespace";
  if (*ins && *ns && !streq(ins, ns))
    api_v_invalid(v, field, ins, "does not match event.namespace");
  const char *type = jget_str0(obj, "type");
  static const char *const types[] = {"Normal", "Warning", NULL};
  if (v1 || *type) {
    if (*type && !api_in_set(type, types))
      api_v_unsupported(v, "type", type, types);
    else if (v1 && !*type)
      api_v_required(v, "type", NULL);
  }
  if (v1) {
    if (!*jget_str0(obj, "reportingController"))
      api_v_required(v, "reportingController", NULL);
    if (!*jget_str0(obj, "reportingInstance"))
      api_v_required(v, "reportingInstance", NULL);
    if (!*jget_str0(obj, "action"))
      api_v_required(v, "action", NULL);
    if (!*jget_str0(obj, "reason"))
      api_v_required(v, "reason", NULL);
    if (!jget_str(obj, "eventTime"))
      api_v_required(v, "eventTime", NULL);
  }
}

static void validate_lease(verrs_t *v, json_object *obj, json_object *old,
                           const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *d = jget(spec, "leaseDurationSeconds");
  if (d && jis_int(d) && json_object_get_int64(d) <= 0)
    api_v_invalid_int(v, "spec.leaseDurationSeconds", json_object_get_int64(d),
                      "must be greater than 0");
  json_object *t = jget(spec, "leaseTransitions");
  if (t && jis_int(t) && json_object_get_int64(t) < 0)
    api_v_invalid_int(v, "spec.leaseTransitions", json_object_get_int64(t),
                      "must be greater than or equal to 0");
}

/* ---- strategies ------------------------------------------------------------
 */

static const char *const sub_status_proxy[] = {"proxy", "status", NULL};

/* The namespace registry's PrepareForCreate. */
static void namespace_prepare_create(json_object *obj,
                                     const kube_kind_t *kind) {
  json_object *st = api_jensure_obj(obj, "status");
  if (st)
    api_jset(st, "phase", jstr("Active"));
  const char *name = jget_str(jget_obj(obj, "metadata"), "name");
  json_object *labels =
      api_jensure_obj(api_jensure_obj(obj, "metadata"), "labels");
  if (labels && name)
    api_jset(labels, "kubernetes.io/metadata.name", jstr(name));
  json_object *spec = api_jensure_obj(obj, "spec");
  if (spec && !jget(spec, "finalizers")) {
    json_object *fin = json_object_new_array();
    if (fin && json_object_array_add(fin, jstr("kubernetes")) == 0)
      api_jset(spec, "finalizers", fin);
    else
      json_object_put(fin);
  }
}

static void event_cells_hook(json_object *c, json_object *obj, time_t now,
                             const kube_kind_t *k) {
  /* Both event APIs share the printer; the object says which shape it
   * has (the two resources may serve each other's objects). */
  const char *av = jget_str(obj, "apiVersion");
  bool core = !*k->group;
  bool v1 = av ? streq(av, "events.k8s.io/v1")
               : (jget_obj(obj, "regarding") != NULL ||
                  (!jget_obj(obj, "involvedObject") && !core));
  event_cells(c, obj, now, v1);
}

static void validate_event_core(verrs_t *v, json_object *obj, json_object *old,
                                const kube_kind_t *k) {
  validate_event(v, obj, false);
}

static void validate_event_v1(verrs_t *v, json_object *obj, json_object *old,
                              const kube_kind_t *k) {
  validate_event(v, obj, true);
}

static const api_field_path_t node_paths[] = {
    {"spec.unschedulable", NULL, "false"},
    {NULL, NULL, NULL},
};
static const api_field_path_t event_paths[] = {
    {"source", "source.component", NULL},
    {NULL, NULL, NULL},
};

static const struct kube_kind_strategy node_strategy = {
    .type = &api_t_Node,
    .validate = validate_node,
    .defaults = node_defaults,
    .cells = node_cells,
    .field_paths = node_paths,
};
static const struct kube_kind_strategy namespace_strategy = {
    .flags = API_KIND_SPEC_FINALIZERS,
    .name_rule = API_NAME_LABEL,
    .type = &api_t_Namespace,
    .validate = validate_namespace,
    .defaults = namespace_defaults,
    .cells = namespace_cells,
    .prepare_create = namespace_prepare_create,
};
static const struct kube_kind_strategy event_strategy = {
    .type = &api_t_Event,
    .validate = validate_event_core,
    .cells = event_cells_hook,
    .field_paths = event_paths,
};
static const struct kube_kind_strategy event_v1_strategy = {
    .type = &api_t_EventV1,
    .validate = validate_event_v1,
    .cells = event_cells_hook,
};
static const struct kube_kind_strategy lease_strategy = {
    .type = &api_t_Lease,
    .validate = validate_lease,
    .cells = lease_cells,
};

const kube_kind_t api_kind_node =
    KIND("", "v1", "Node", "nodes", "node", false, NAMES("no"), api_verbs_all,
         NULL, sub_status_proxy, node_columns, sel_nodes, &node_strategy);
const kube_kind_t api_kind_namespace =
    KIND("", "v1", "Namespace", "namespaces", "namespace", false, NAMES("ns"),
         api_verbs_namespace, NULL, sub_namespace, namespace_columns,
         sel_namespaces, &namespace_strategy);
const kube_kind_t api_kind_event =
    KIND("", "v1", "Event", "events", "event", true, NAMES("ev"), api_verbs_all,
         NULL, NULL, event_columns, sel_events, &event_strategy);
const kube_kind_t api_kind_event_v1 =
    KIND("events.k8s.io", "v1", "Event", "events", "event", true, NAMES("ev"),
         api_verbs_all, NULL, NULL, event_columns, sel_events_v1,
         &event_v1_strategy);
const kube_kind_t api_kind_lease =
    KIND("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, NULL,
         api_verbs_all, NULL, NULL, lease_columns, NULL, &lease_strategy);
