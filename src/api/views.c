/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed views: plain C structs filled from object trees for the parts of
 * the system that act on them (scheduler, kubelet, proxy, controllers).
 */
#include <inttypes.h>

#include "api/internal.h"

/* Allocation failures are remembered and reported once at the end, so the
 * fill code stays linear. */
struct ctx {
  bool oom;
  kube_error_t *err;
  bool failed; /* a reported (non-oom) error */
};

static char *dupstr(struct ctx *c, const char *s) {
  if (!s)
    return NULL;
  char *d = strdup(s);
  if (!d)
    c->oom = true;
  return d;
}

static char *sget(struct ctx *c, json_object *o, const char *key) {
  return dupstr(c, jget_str(o, key));
}

static void *calloc_n(struct ctx *c, size_t n, size_t size) {
  if (n == 0)
    return NULL;
  void *p = calloc(n, size);
  if (!p)
    c->oom = true;
  return p;
}

static time_t tget(json_object *o, const char *key) {
  time_t t = 0;
  api_jget_time(o, key, &t);
  return t;
}

/* A JSON array of strings as a NULL-terminated owned array. */
static char **strv(struct ctx *c, json_object *arr, size_t *n) {
  size_t len = jarr_len(arr);
  *n = 0;
  if (!json_object_is_type(arr, json_type_array))
    return NULL;
  char **v = calloc(len + 1, sizeof(*v));
  if (!v) {
    c->oom = true;
    return NULL;
  }
  for (size_t i = 0; i < len; i++) {
    const char *s = json_object_get_string(jarr_at(arr, i));
    v[i] = dupstr(c, s ? s : "");
  }
  *n = len;
  return v;
}

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

static kube_label_t *labels_of(struct ctx *c, json_object *map, size_t *n) {
  *n = 0;
  if (!map || json_object_object_length(map) == 0)
    return NULL;
  kube_label_t *l =
      calloc_n(c, (size_t)json_object_object_length(map), sizeof(*l));
  if (!l)
    return NULL;
  size_t i = 0;
  json_object_object_foreach(map, k, val) {
    l[i].key = dupstr(c, k);
    const char *s = json_object_get_string(val);
    l[i].value = dupstr(c, s ? s : "");
    i++;
  }
  *n = i;
  return l;
}

static void labels_free(kube_label_t *l, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(l[i].key);
    free(l[i].value);
  }
  free(l);
}

/* ---- resource lists -------------------------------------------------------
 */

KUBE_EXPORT void kube_resource_list_clear(kube_resource_list_t *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->n_extended; i++)
    free(list->extended[i].name);
  free(list->extended);
  memset(list, 0, sizeof(*list));
}

static int rl_fill(struct ctx *c, json_object *map, kube_resource_list_t *out,
                   const char *what) {
  memset(out, 0, sizeof(*out));
  if (!map)
    return 0;
  if (!json_object_is_type(map, json_type_object)) {
    c->failed = true;
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s: not a resource list", what);
  }
  size_t n = (size_t)json_object_object_length(map);
  out->extended = calloc_n(c, n, sizeof(*out->extended));
  json_object_object_foreach(map, k, val) {
    kube_quantity_t q;
    char buf[64];
    const char *s;
    if (json_object_is_type(val, json_type_string)) {
      s = json_object_get_string(val);
    } else if (jis_int(val) || json_object_is_type(val, json_type_double)) {
      snprintf(buf, sizeof(buf), "%s",
               json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
      s = buf;
    } else {
      s = NULL;
    }
    if (!s || kube_quantity_parse(s, &q, NULL) < 0) {
      c->failed = true;
      return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                            "%s[%s]: invalid quantity \"%s\"", what, k,
                            s ? s : "");
    }
    if (streq(k, "cpu")) {
      out->cpu_milli = kube_quantity_milli(&q);
      out->present |= KUBE_RESOURCE_CPU;
    } else if (streq(k, "memory")) {
      out->memory = kube_quantity_value(&q);
      out->present |= KUBE_RESOURCE_MEMORY;
    } else if (streq(k, "ephemeral-storage")) {
      out->ephemeral_storage = kube_quantity_value(&q);
      out->present |= KUBE_RESOURCE_EPHEMERAL_STORAGE;
    } else if (streq(k, "pods")) {
      out->pods = kube_quantity_value(&q);
      out->present |= KUBE_RESOURCE_PODS;
    } else if (out->extended) {
      out->extended[out->n_extended].name = dupstr(c, k);
      out->extended[out->n_extended].value = kube_quantity_value(&q);
      out->n_extended++;
    }
  }
  return 0;
}

static int finish(struct ctx *c) {
  if (c->oom) {
    kube_make_oom(c->err);
    return -1;
  }
  return c->failed ? -1 : 0;
}

int kube_resource_list_from_json(json_object *list, kube_resource_list_t *out,
                                 kube_error_t *err) {
  struct ctx c = {.err = err};
  rl_fill(&c, list, out, "resources");
  if (finish(&c) < 0) {
    kube_resource_list_clear(out);
    return -1;
  }
  return 0;
}

KUBE_EXPORT int kube_resource_list_parse(const char *json,
                                         kube_resource_list_t *out,
                                         kube_error_t *err) {
  memset(out, 0, sizeof(*out));
  json_object *o = kube_json_parse(json, json ? strlen(json) : 0, err);
  if (!o)
    return -1;
  int r = kube_resource_list_from_json(o, out, err);
  json_object_put(o);
  return r;
}

/* Add b into a (max when take_max) for every resource. */
static void rl_combine(struct ctx *c, kube_resource_list_t *a,
                       const kube_resource_list_t *b, bool take_max) {
#define COMBINE(field, bit)                                                    \
  if (b->present & (bit)) {                                                    \
    if (take_max)                                                              \
      a->field =                                                               \
          (a->present & (bit)) && a->field > b->field ? a->field : b->field;   \
    else                                                                       \
      a->field += b->field;                                                    \
    a->present |= (bit);                                                       \
  }
  COMBINE(cpu_milli, KUBE_RESOURCE_CPU)
  COMBINE(memory, KUBE_RESOURCE_MEMORY)
  COMBINE(ephemeral_storage, KUBE_RESOURCE_EPHEMERAL_STORAGE)
  COMBINE(pods, KUBE_RESOURCE_PODS)
#undef COMBINE
  for (size_t i = 0; i < b->n_extended; i++) {
    size_t j = 0;
    for (; j < a->n_extended; j++)
      if (streq(a->extended[j].name, b->extended[i].name))
        break;
    if (j == a->n_extended) {
      kube_resource_t *nx =
          realloc(a->extended, (a->n_extended + 1) * sizeof(*nx));
      if (!nx) {
        c->oom = true;
        return;
      }
      a->extended = nx;
      nx[j].name = dupstr(c, b->extended[i].name);
      nx[j].value = b->extended[i].value;
      a->n_extended++;
      continue;
    }
    int64_t *v = &a->extended[j].value;
    if (take_max)
      *v = *v > b->extended[i].value ? *v : b->extended[i].value;
    else
      *v += b->extended[i].value;
  }
}

/* ---- containers ------------------------------------------------------------
 */

static kube_probe_t *probe_of(struct ctx *c, json_object *p) {
  if (!p)
    return NULL;
  kube_probe_t *pr = calloc_n(c, 1, sizeof(*pr));
  if (!pr)
    return NULL;
  json_object *h;
  if ((h = jget_obj(p, "exec"))) {
    pr->type = KUBE_PROBE_EXEC;
    pr->command = strv(c, jget_arr(h, "command"), &pr->n_command);
  } else if ((h = jget_obj(p, "httpGet"))) {
    pr->type = KUBE_PROBE_HTTP_GET;
    pr->path = sget(c, h, "path");
    pr->scheme = sget(c, h, "scheme");
    pr->host = sget(c, h, "host");
  } else if ((h = jget_obj(p, "tcpSocket"))) {
    pr->type = KUBE_PROBE_TCP_SOCKET;
    pr->host = sget(c, h, "host");
  } else if ((h = jget_obj(p, "grpc"))) {
    pr->type = KUBE_PROBE_GRPC;
  }
  json_object *port = jget(h, "port");
  if (jis_int(port))
    pr->port = (int32_t)json_object_get_int64(port);
  else if (json_object_is_type(port, json_type_string))
    pr->port_name = dupstr(c, json_object_get_string(port));
  pr->initial_delay_seconds = (int32_t)jget_int(p, "initialDelaySeconds", 0);
  pr->timeout_seconds = (int32_t)jget_int(p, "timeoutSeconds", 1);
  pr->period_seconds = (int32_t)jget_int(p, "periodSeconds", 10);
  pr->success_threshold = (int32_t)jget_int(p, "successThreshold", 1);
  pr->failure_threshold = (int32_t)jget_int(p, "failureThreshold", 3);
  return pr;
}

static void probe_free(kube_probe_t *p) {
  if (!p)
    return;
  strv_free(p->command);
  free(p->path);
  free(p->scheme);
  free(p->host);
  free(p->port_name);
  free(p);
}

static void container_of(struct ctx *c, json_object *j, kube_container_t *out,
                         const char *what) {
  out->name = sget(c, j, "name");
  out->image = sget(c, j, "image");
  out->image_pull_policy = sget(c, j, "imagePullPolicy");
  out->command = strv(c, jget_arr(j, "command"), &out->n_command);
  out->args = strv(c, jget_arr(j, "args"), &out->n_args);
  out->working_dir = sget(c, j, "workingDir");
  out->restart_policy = sget(c, j, "restartPolicy");
  out->tty = jget_bool(j, "tty", false);
  out->stdin_open = jget_bool(j, "stdin", false);
  json_object *env = jget_arr(j, "env");
  out->env = calloc_n(c, jarr_len(env), sizeof(*out->env));
  for (size_t i = 0; out->env && i < jarr_len(env); i++) {
    json_object *e = jarr_at(env, i);
    kube_env_var_t *ev = &out->env[i];
    ev->name = sget(c, e, "name");
    json_object *vf = jget_obj(e, "valueFrom");
    if (!vf) {
      ev->value = dupstr(c, jget_str0(e, "value"));
    } else {
      json_object *r;
      if ((r = jget_obj(vf, "fieldRef")))
        ev->field_path = sget(c, r, "fieldPath");
      if ((r = jget_obj(vf, "resourceFieldRef")))
        ev->resource = sget(c, r, "resource");
      if ((r = jget_obj(vf, "configMapKeyRef"))) {
        ev->config_map_name = sget(c, r, "name");
        ev->config_map_key = sget(c, r, "key");
        ev->optional = jget_bool(r, "optional", false);
      }
      if ((r = jget_obj(vf, "secretKeyRef"))) {
        ev->secret_name = sget(c, r, "name");
        ev->secret_key = sget(c, r, "key");
        ev->optional = jget_bool(r, "optional", false);
      }
    }
    out->n_env++;
  }
  json_object *ports = jget_arr(j, "ports");
  out->ports = calloc_n(c, jarr_len(ports), sizeof(*out->ports));
  for (size_t i = 0; out->ports && i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    kube_container_port_t *cp = &out->ports[i];
    cp->name = sget(c, p, "name");
    cp->container_port = (int32_t)jget_int(p, "containerPort", 0);
    cp->host_port = (int32_t)jget_int(p, "hostPort", 0);
    cp->protocol =
        dupstr(c, jget_str(p, "protocol") ? jget_str(p, "protocol") : "TCP");
    cp->host_ip = sget(c, p, "hostIP");
    out->n_ports++;
  }
  json_object *res = jget_obj(j, "resources");
  char w[160];
  snprintf(w, sizeof(w), "%s.resources.requests", what);
  if (rl_fill(c, jget(res, "requests"), &out->requests, w) < 0)
    return;
  snprintf(w, sizeof(w), "%s.resources.limits", what);
  if (rl_fill(c, jget(res, "limits"), &out->limits, w) < 0)
    return;
  out->liveness_probe = probe_of(c, jget_obj(j, "livenessProbe"));
  out->readiness_probe = probe_of(c, jget_obj(j, "readinessProbe"));
  out->startup_probe = probe_of(c, jget_obj(j, "startupProbe"));
  json_object *mounts = jget_arr(j, "volumeMounts");
  out->volume_mounts =
      calloc_n(c, jarr_len(mounts), sizeof(*out->volume_mounts));
  for (size_t i = 0; out->volume_mounts && i < jarr_len(mounts); i++) {
    json_object *m = jarr_at(mounts, i);
    kube_volume_mount_t *vm = &out->volume_mounts[i];
    vm->name = sget(c, m, "name");
    vm->mount_path = sget(c, m, "mountPath");
    vm->sub_path = sget(c, m, "subPath");
    vm->read_only = jget_bool(m, "readOnly", false);
    out->n_volume_mounts++;
  }
}

static void container_free(kube_container_t *ct) {
  free(ct->name);
  free(ct->image);
  free(ct->image_pull_policy);
  strv_free(ct->command);
  strv_free(ct->args);
  free(ct->working_dir);
  free(ct->restart_policy);
  for (size_t i = 0; i < ct->n_env; i++) {
    kube_env_var_t *e = &ct->env[i];
    free(e->name);
    free(e->value);
    free(e->field_path);
    free(e->resource);
    free(e->config_map_name);
    free(e->config_map_key);
    free(e->secret_name);
    free(e->secret_key);
  }
  free(ct->env);
  for (size_t i = 0; i < ct->n_ports; i++) {
    free(ct->ports[i].name);
    free(ct->ports[i].protocol);
    free(ct->ports[i].host_ip);
  }
  free(ct->ports);
  kube_resource_list_clear(&ct->requests);
  kube_resource_list_clear(&ct->limits);
  probe_free(ct->liveness_probe);
  probe_free(ct->readiness_probe);
  probe_free(ct->startup_probe);
  for (size_t i = 0; i < ct->n_volume_mounts; i++) {
    free(ct->volume_mounts[i].name);
    free(ct->volume_mounts[i].mount_path);
    free(ct->volume_mounts[i].sub_path);
  }
  free(ct->volume_mounts);
}

static kube_container_t *containers_of(struct ctx *c, json_object *arr,
                                       size_t *n, const char *field) {
  *n = 0;
  kube_container_t *v = calloc_n(c, jarr_len(arr), sizeof(*v));
  for (size_t i = 0; v && i < jarr_len(arr) && !c->failed; i++) {
    char what[128];
    snprintf(what, sizeof(what), "%s[%zu]", field, i);
    container_of(c, jarr_at(arr, i), &v[i], what);
    (*n)++;
  }
  return v;
}

/* ---- volumes, scheduling
 * ----------------------------------------------------- */

static const char *const volume_types[] = {
    "emptyDir",  "hostPath",    "configMap", "secret", "persistentVolumeClaim",
    "projected", "downwardAPI", "nfs",       "csi",    "ephemeral",
    "image",     "iscsi",       "gitRepo",   "cephfs", "rbd",
    "fc",        NULL};

static void volume_of(struct ctx *c, json_object *j, kube_volume_t *out) {
  out->name = sget(c, j, "name");
  out->default_mode = -1;
  for (const char *const *t = volume_types; *t; t++) {
    json_object *src = jget_obj(j, *t);
    if (!src)
      continue;
    out->type = dupstr(c, *t);
    if (streq(*t, "hostPath")) {
      out->source = sget(c, src, "path");
      out->medium = sget(c, src, "type");
    } else if (streq(*t, "configMap")) {
      out->source = sget(c, src, "name");
    } else if (streq(*t, "secret")) {
      out->source = sget(c, src, "secretName");
    } else if (streq(*t, "persistentVolumeClaim")) {
      out->source = sget(c, src, "claimName");
    } else if (streq(*t, "emptyDir")) {
      out->medium = sget(c, src, "medium");
    } else if (streq(*t, "nfs")) {
      out->source = sget(c, src, "path");
    } else if (streq(*t, "image")) {
      out->source = sget(c, src, "reference");
    }
    json_object *dm = jget(src, "defaultMode");
    if (jis_int(dm))
      out->default_mode = (int32_t)json_object_get_int64(dm);
    out->read_only = jget_bool(src, "readOnly", false);
    break;
  }
}

static kube_selector_op_t op_of(const char *s, bool *ok) {
  *ok = true;
  if (streq(s, "In"))
    return KUBE_SELECTOR_IN;
  if (streq(s, "NotIn"))
    return KUBE_SELECTOR_NOT_IN;
  if (streq(s, "Exists"))
    return KUBE_SELECTOR_EXISTS;
  if (streq(s, "DoesNotExist"))
    return KUBE_SELECTOR_DOES_NOT_EXIST;
  if (streq(s, "Gt"))
    return KUBE_SELECTOR_GT;
  if (streq(s, "Lt"))
    return KUBE_SELECTOR_LT;
  *ok = false;
  return KUBE_SELECTOR_EQUALS;
}

/* matchExpressions-style requirements appended to sel. */
static void add_expressions(struct ctx *c, kube_selector_t *sel,
                            json_object *exprs, const char *what) {
  for (size_t i = 0; i < jarr_len(exprs) && !c->failed; i++) {
    json_object *e = jarr_at(exprs, i);
    bool ok;
    kube_selector_op_t op = op_of(jget_str0(e, "operator"), &ok);
    if (!ok) {
      c->failed = true;
      kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                     "%s[%zu]: unknown operator \"%s\"", what, i,
                     jget_str0(e, "operator"));
      return;
    }
    json_object *vals = jget_arr(e, "values");
    size_t nv = jarr_len(vals);
    const char **v = nv ? calloc(nv, sizeof(*v)) : NULL;
    if (nv && !v) {
      c->oom = true;
      return;
    }
    for (size_t k = 0; k < nv; k++) {
      const char *s = json_object_get_string(jarr_at(vals, k));
      v[k] = s ? s : "";
    }
    kube_error_t sub = KUBE_ERROR_INIT;
    if (kube_selector_add(sel, jget_str0(e, "key"), op, v, nv, &sub) < 0) {
      c->failed = true;
      kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0, "%s[%zu]: %s", what, i,
                     sub.message ? sub.message : "invalid requirement");
      kube_error_clear(&sub);
    }
    free(v);
  }
}

/* A LabelSelector object as a kube_selector_t; NULL for an absent one. */
static kube_selector_t *label_selector_of(struct ctx *c, json_object *sel,
                                          const char *what) {
  if (!sel || c->failed)
    return NULL;
  kube_error_t sub = KUBE_ERROR_INIT;
  kube_selector_t *s = kube_json_label_selector(sel, &sub);
  if (!s) {
    c->failed = true;
    kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0, "%s: %s", what,
                   sub.message ? sub.message : "invalid selector");
    kube_error_clear(&sub);
  }
  return s;
}

static void node_term_of(struct ctx *c, json_object *t,
                         kube_node_selector_term_t *out) {
  out->match_expressions = kube_selector_new();
  out->match_fields = kube_selector_new();
  if (!out->match_expressions || !out->match_fields) {
    c->oom = true;
    return;
  }
  add_expressions(c, out->match_expressions, jget_arr(t, "matchExpressions"),
                  "nodeSelectorTerm.matchExpressions");
  add_expressions(c, out->match_fields, jget_arr(t, "matchFields"),
                  "nodeSelectorTerm.matchFields");
}

static void pod_term_of(struct ctx *c, json_object *t,
                        kube_pod_affinity_term_t *out, int32_t weight) {
  out->weight = weight;
  out->label_selector =
      label_selector_of(c, jget_obj(t, "labelSelector"), "labelSelector");
  out->namespace_selector = label_selector_of(
      c, jget_obj(t, "namespaceSelector"), "namespaceSelector");
  out->namespaces = strv(c, jget_arr(t, "namespaces"), &out->n_namespaces);
  out->topology_key = sget(c, t, "topologyKey");
}

static kube_pod_affinity_term_t *pod_terms(struct ctx *c, json_object *pa,
                                           bool preferred, size_t *n) {
  json_object *arr = jget_arr(
      pa, preferred ? "preferredDuringSchedulingIgnoredDuringExecution"
                    : "requiredDuringSchedulingIgnoredDuringExecution");
  *n = 0;
  kube_pod_affinity_term_t *v = calloc_n(c, jarr_len(arr), sizeof(*v));
  for (size_t i = 0; v && i < jarr_len(arr); i++) {
    json_object *t = jarr_at(arr, i);
    if (preferred)
      pod_term_of(c, jget_obj(t, "podAffinityTerm"), &v[i],
                  (int32_t)jget_int(t, "weight", 0));
    else
      pod_term_of(c, t, &v[i], 0);
    (*n)++;
  }
  return v;
}

static void pod_terms_free(kube_pod_affinity_term_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    kube_selector_free(v[i].label_selector);
    kube_selector_free(v[i].namespace_selector);
    strv_free(v[i].namespaces);
    free(v[i].topology_key);
  }
  free(v);
}

static void affinity_of(struct ctx *c, json_object *aff, kube_affinity_t *out) {
  json_object *na = jget_obj(aff, "nodeAffinity");
  json_object *terms =
      jget_arr(jget_obj(na, "requiredDuringSchedulingIgnoredDuringExecution"),
               "nodeSelectorTerms");
  out->node_required =
      calloc_n(c, jarr_len(terms), sizeof(*out->node_required));
  for (size_t i = 0; out->node_required && i < jarr_len(terms); i++) {
    node_term_of(c, jarr_at(terms, i), &out->node_required[i]);
    out->n_node_required++;
  }
  json_object *pref =
      jget_arr(na, "preferredDuringSchedulingIgnoredDuringExecution");
  out->node_preferred =
      calloc_n(c, jarr_len(pref), sizeof(*out->node_preferred));
  for (size_t i = 0; out->node_preferred && i < jarr_len(pref); i++) {
    json_object *p = jarr_at(pref, i);
    out->node_preferred[i].weight = (int32_t)jget_int(p, "weight", 0);
    node_term_of(c, jget_obj(p, "preference"), &out->node_preferred[i].term);
    out->n_node_preferred++;
  }
  json_object *pa = jget_obj(aff, "podAffinity");
  out->pod_affinity_required =
      pod_terms(c, pa, false, &out->n_pod_affinity_required);
  out->pod_affinity_preferred =
      pod_terms(c, pa, true, &out->n_pod_affinity_preferred);
  json_object *anti = jget_obj(aff, "podAntiAffinity");
  out->pod_anti_affinity_required =
      pod_terms(c, anti, false, &out->n_pod_anti_affinity_required);
  out->pod_anti_affinity_preferred =
      pod_terms(c, anti, true, &out->n_pod_anti_affinity_preferred);
}

static void node_term_free(kube_node_selector_term_t *t) {
  kube_selector_free(t->match_expressions);
  kube_selector_free(t->match_fields);
}

static void affinity_free(kube_affinity_t *a) {
  for (size_t i = 0; i < a->n_node_required; i++)
    node_term_free(&a->node_required[i]);
  free(a->node_required);
  for (size_t i = 0; i < a->n_node_preferred; i++)
    node_term_free(&a->node_preferred[i].term);
  free(a->node_preferred);
  pod_terms_free(a->pod_affinity_required, a->n_pod_affinity_required);
  pod_terms_free(a->pod_affinity_preferred, a->n_pod_affinity_preferred);
  pod_terms_free(a->pod_anti_affinity_required,
                 a->n_pod_anti_affinity_required);
  pod_terms_free(a->pod_anti_affinity_preferred,
                 a->n_pod_anti_affinity_preferred);
}

static kube_topology_spread_constraint_t *
spread_of(struct ctx *c, json_object *arr, size_t *n) {
  *n = 0;
  kube_topology_spread_constraint_t *v = calloc_n(c, jarr_len(arr), sizeof(*v));
  for (size_t i = 0; v && i < jarr_len(arr); i++) {
    json_object *t = jarr_at(arr, i);
    kube_topology_spread_constraint_t *o = &v[i];
    o->max_skew = (int32_t)jget_int(t, "maxSkew", 1);
    o->topology_key = sget(c, t, "topologyKey");
    o->when_unsatisfiable = sget(c, t, "whenUnsatisfiable");
    o->label_selector = label_selector_of(c, jget_obj(t, "labelSelector"),
                                          "topologySpreadConstraints");
    o->min_domains = (int32_t)jget_int(t, "minDomains", 0);
    o->node_affinity_policy = sget(c, t, "nodeAffinityPolicy");
    o->node_taints_policy = sget(c, t, "nodeTaintsPolicy");
    o->match_label_keys =
        strv(c, jget_arr(t, "matchLabelKeys"), &o->n_match_label_keys);
    (*n)++;
  }
  return v;
}

static void spread_free(kube_topology_spread_constraint_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].topology_key);
    free(v[i].when_unsatisfiable);
    kube_selector_free(v[i].label_selector);
    free(v[i].node_affinity_policy);
    free(v[i].node_taints_policy);
    strv_free(v[i].match_label_keys);
  }
  free(v);
}

/* ---- pod spec
 * ------------------------------------------------------------------ */

KUBE_EXPORT void kube_pod_spec_clear(kube_pod_spec_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n_containers; i++)
    container_free(&s->containers[i]);
  free(s->containers);
  for (size_t i = 0; i < s->n_init_containers; i++)
    container_free(&s->init_containers[i]);
  free(s->init_containers);
  for (size_t i = 0; i < s->n_volumes; i++) {
    free(s->volumes[i].name);
    free(s->volumes[i].type);
    free(s->volumes[i].source);
    free(s->volumes[i].medium);
  }
  free(s->volumes);
  free(s->node_name);
  labels_free(s->node_selector, s->n_node_selector);
  affinity_free(&s->affinity);
  spread_free(s->topology_spread, s->n_topology_spread);
  for (size_t i = 0; i < s->n_tolerations; i++) {
    free(s->tolerations[i].key);
    free(s->tolerations[i].op);
    free(s->tolerations[i].value);
    free(s->tolerations[i].effect);
  }
  free(s->tolerations);
  free(s->priority_class_name);
  free(s->scheduler_name);
  free(s->restart_policy);
  free(s->dns_policy);
  free(s->service_account_name);
  free(s->hostname);
  free(s->subdomain);
  kube_resource_list_clear(&s->requests);
  memset(s, 0, sizeof(*s));
}

/* resource.PodRequests: max(sum of containers and sidecars, each init
 * container on top of the sidecars started before it) + overhead. */
static void pod_requests(struct ctx *c, kube_pod_spec_t *s, json_object *spec) {
  kube_resource_list_t *req = &s->requests;
  for (size_t i = 0; i < s->n_containers; i++)
    rl_combine(c, req, &s->containers[i].requests, false);
  kube_resource_list_t sidecars = {0}, init_max = {0};
  for (size_t i = 0; i < s->n_init_containers; i++) {
    kube_container_t *ic = &s->init_containers[i];
    if (ic->restart_policy && streq(ic->restart_policy, "Always")) {
      rl_combine(c, &sidecars, &ic->requests, false);
      continue;
    }
    kube_resource_list_t one = {0};
    rl_combine(c, &one, &sidecars, false);
    rl_combine(c, &one, &ic->requests, false);
    rl_combine(c, &init_max, &one, true);
    kube_resource_list_clear(&one);
  }
  rl_combine(c, req, &sidecars, false);
  rl_combine(c, req, &init_max, true);
  kube_resource_list_clear(&sidecars);
  kube_resource_list_clear(&init_max);
  json_object *oh = jget_obj(spec, "overhead");
  if (oh) {
    kube_resource_list_t o;
    if (rl_fill(c, oh, &o, "spec.overhead") == 0)
      rl_combine(c, req, &o, false);
    kube_resource_list_clear(&o);
  }
}

int kube_pod_spec_from_json(json_object *spec, kube_pod_spec_t *out,
                            kube_error_t *err) {
  struct ctx c = {.err = err};
  memset(out, 0, sizeof(*out));
  if (!json_object_is_type(spec, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "object has no pod spec");
  out->containers = containers_of(&c, jget_arr(spec, "containers"),
                                  &out->n_containers, "spec.containers");
  if (!c.failed)
    out->init_containers =
        containers_of(&c, jget_arr(spec, "initContainers"),
                      &out->n_init_containers, "spec.initContainers");
  json_object *vols = jget_arr(spec, "volumes");
  out->volumes = calloc_n(&c, jarr_len(vols), sizeof(*out->volumes));
  for (size_t i = 0; out->volumes && i < jarr_len(vols); i++) {
    volume_of(&c, jarr_at(vols, i), &out->volumes[i]);
    out->n_volumes++;
  }
  out->node_name = sget(&c, spec, "nodeName");
  out->node_selector =
      labels_of(&c, jget_obj(spec, "nodeSelector"), &out->n_node_selector);
  if (!c.failed)
    affinity_of(&c, jget_obj(spec, "affinity"), &out->affinity);
  if (!c.failed)
    out->topology_spread =
        spread_of(&c, jget_arr(spec, "topologySpreadConstraints"),
                  &out->n_topology_spread);
  json_object *tols = jget_arr(spec, "tolerations");
  out->tolerations = calloc_n(&c, jarr_len(tols), sizeof(*out->tolerations));
  for (size_t i = 0; out->tolerations && i < jarr_len(tols); i++) {
    json_object *t = jarr_at(tols, i);
    kube_toleration_t *to = &out->tolerations[i];
    const char *k = jget_str(t, "key"), *e = jget_str(t, "effect");
    to->key = dupstr(&c, k && *k ? k : NULL);
    to->op = dupstr(&c, jget_str(t, "operator") && *jget_str(t, "operator")
                            ? jget_str(t, "operator")
                            : "Equal");
    to->value = sget(&c, t, "value");
    to->effect = dupstr(&c, e && *e ? e : NULL);
    json_object *ts = jget(t, "tolerationSeconds");
    to->toleration_seconds = jis_int(ts) ? json_object_get_int64(ts) : -1;
    out->n_tolerations++;
  }
  out->host_network = jget_bool(spec, "hostNetwork", false);
  out->host_pid = jget_bool(spec, "hostPID", false);
  out->host_ipc = jget_bool(spec, "hostIPC", false);
  out->priority = (int32_t)jget_int(spec, "priority", 0);
  out->priority_class_name = sget(&c, spec, "priorityClassName");
  out->scheduler_name = sget(&c, spec, "schedulerName");
  out->restart_policy = sget(&c, spec, "restartPolicy");
  out->dns_policy = sget(&c, spec, "dnsPolicy");
  out->service_account_name = sget(&c, spec, "serviceAccountName");
  out->hostname = sget(&c, spec, "hostname");
  out->subdomain = sget(&c, spec, "subdomain");
  json_object *tg = jget(spec, "terminationGracePeriodSeconds");
  out->termination_grace_period_seconds =
      jis_int(tg) ? json_object_get_int64(tg) : -1;
  json_object *ad = jget(spec, "activeDeadlineSeconds");
  out->active_deadline_seconds = jis_int(ad) ? json_object_get_int64(ad) : -1;
  if (!c.failed && !c.oom)
    pod_requests(&c, out, spec);
  if (finish(&c) < 0) {
    kube_pod_spec_clear(out);
    return -1;
  }
  return 0;
}

/* The PodSpec inside an object of a kind that has one. */
static json_object *find_pod_spec(json_object *root) {
  const char *kind = jget_str0(root, "kind");
  json_object *spec = jget_obj(root, "spec");
  if (streq(kind, "Pod") || streq(kind, "PodTemplateSpec"))
    return spec;
  if (streq(kind, "CronJob"))
    return jget_obj(
        jget_obj(jget_obj(jget_obj(spec, "jobTemplate"), "spec"), "template"),
        "spec");
  json_object *tmpl = jget_obj(spec, "template");
  if (tmpl)
    return jget_obj(tmpl, "spec");
  if (jget_arr(spec, "containers"))
    return spec;
  return NULL;
}

KUBE_EXPORT int kube_pod_spec_from_object(const kube_object_t *obj,
                                          kube_pod_spec_t *out,
                                          kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof(*out));
  if (!obj || !out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_pod_spec_from_json(find_pod_spec(obj->root), out, err);
}

/* ---- pod status
 * -------------------------------------------------------------- */

static kube_condition_t *conditions_of(struct ctx *c, json_object *arr,
                                       size_t *n) {
  *n = 0;
  kube_condition_t *v = calloc_n(c, jarr_len(arr), sizeof(*v));
  for (size_t i = 0; v && i < jarr_len(arr); i++) {
    json_object *j = jarr_at(arr, i);
    v[i].type = sget(c, j, "type");
    v[i].status = sget(c, j, "status");
    v[i].reason = sget(c, j, "reason");
    v[i].message = sget(c, j, "message");
    v[i].last_transition_time = tget(j, "lastTransitionTime");
    v[i].last_heartbeat_time = tget(j, "lastHeartbeatTime");
    (*n)++;
  }
  return v;
}

static void conditions_free(kube_condition_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].type);
    free(v[i].status);
    free(v[i].reason);
    free(v[i].message);
  }
  free(v);
}

static kube_container_status_t *statuses_of(struct ctx *c, json_object *arr,
                                            size_t *n) {
  *n = 0;
  kube_container_status_t *v = calloc_n(c, jarr_len(arr), sizeof(*v));
  for (size_t i = 0; v && i < jarr_len(arr); i++) {
    json_object *j = jarr_at(arr, i);
    kube_container_status_t *s = &v[i];
    s->name = sget(c, j, "name");
    s->image = sget(c, j, "image");
    s->image_id = sget(c, j, "imageID");
    s->container_id = sget(c, j, "containerID");
    s->ready = jget_bool(j, "ready", false);
    s->started = jget_bool(j, "started", false);
    s->restart_count = (int32_t)jget_int(j, "restartCount", 0);
    json_object *st = jget_obj(j, "state"), *x;
    if ((x = jget_obj(st, "running"))) {
      s->state = KUBE_CONTAINER_RUNNING;
      s->started_at = tget(x, "startedAt");
    } else if ((x = jget_obj(st, "terminated"))) {
      s->state = KUBE_CONTAINER_TERMINATED;
      s->reason = sget(c, x, "reason");
      s->message = sget(c, x, "message");
      s->exit_code = (int32_t)jget_int(x, "exitCode", 0);
      s->signal = (int32_t)jget_int(x, "signal", 0);
      s->started_at = tget(x, "startedAt");
      s->finished_at = tget(x, "finishedAt");
    } else if ((x = jget_obj(st, "waiting"))) {
      s->state = KUBE_CONTAINER_WAITING;
      s->reason = sget(c, x, "reason");
      s->message = sget(c, x, "message");
    }
    (*n)++;
  }
  return v;
}

static void statuses_free(kube_container_status_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].name);
    free(v[i].image);
    free(v[i].image_id);
    free(v[i].container_id);
    free(v[i].reason);
    free(v[i].message);
  }
  free(v);
}

KUBE_EXPORT void kube_pod_status_clear(kube_pod_status_t *s) {
  if (!s)
    return;
  free(s->phase);
  free(s->reason);
  free(s->message);
  free(s->pod_ip);
  strv_free(s->pod_ips);
  free(s->host_ip);
  free(s->nominated_node_name);
  free(s->qos_class);
  conditions_free(s->conditions, s->n_conditions);
  statuses_free(s->container_statuses, s->n_container_statuses);
  statuses_free(s->init_container_statuses, s->n_init_container_statuses);
  memset(s, 0, sizeof(*s));
}

int kube_pod_status_from_json(json_object *st, kube_pod_status_t *out,
                              kube_error_t *err) {
  struct ctx c = {.err = err};
  memset(out, 0, sizeof(*out));
  if (st && !json_object_is_type(st, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "status is not an object");
  out->phase = sget(&c, st, "phase");
  out->reason = sget(&c, st, "reason");
  out->message = sget(&c, st, "message");
  out->pod_ip = sget(&c, st, "podIP");
  json_object *ips = jget_arr(st, "podIPs");
  if (ips) {
    out->pod_ips = calloc(jarr_len(ips) + 1, sizeof(char *));
    if (!out->pod_ips)
      c.oom = true;
    for (size_t i = 0; out->pod_ips && i < jarr_len(ips); i++)
      out->pod_ips[out->n_pod_ips++] =
          dupstr(&c, jget_str0(jarr_at(ips, i), "ip"));
  }
  out->host_ip = sget(&c, st, "hostIP");
  out->nominated_node_name = sget(&c, st, "nominatedNodeName");
  out->qos_class = sget(&c, st, "qosClass");
  out->start_time = tget(st, "startTime");
  out->conditions =
      conditions_of(&c, jget_arr(st, "conditions"), &out->n_conditions);
  out->container_statuses = statuses_of(&c, jget_arr(st, "containerStatuses"),
                                        &out->n_container_statuses);
  out->init_container_statuses =
      statuses_of(&c, jget_arr(st, "initContainerStatuses"),
                  &out->n_init_container_statuses);
  if (finish(&c) < 0) {
    kube_pod_status_clear(out);
    return -1;
  }
  return 0;
}

KUBE_EXPORT int kube_pod_status_from_object(const kube_object_t *obj,
                                            kube_pod_status_t *out,
                                            kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof(*out));
  if (!obj || !out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_pod_status_from_json(jget(obj->root, "status"), out, err);
}

/* ---- nodes
 * --------------------------------------------------------------------- */

KUBE_EXPORT void kube_node_clear(kube_node_t *n) {
  if (!n)
    return;
  free(n->name);
  labels_free(n->labels, n->n_labels);
  for (size_t i = 0; i < n->n_taints; i++) {
    free(n->taints[i].key);
    free(n->taints[i].value);
    free(n->taints[i].effect);
  }
  free(n->taints);
  free(n->pod_cidr);
  kube_resource_list_clear(&n->capacity);
  kube_resource_list_clear(&n->allocatable);
  conditions_free(n->conditions, n->n_conditions);
  for (size_t i = 0; i < n->n_addresses; i++) {
    free(n->addresses[i].type);
    free(n->addresses[i].address);
  }
  free(n->addresses);
  free(n->kubelet_version);
  free(n->os_image);
  free(n->kernel_version);
  free(n->container_runtime_version);
  free(n->architecture);
  free(n->operating_system);
  memset(n, 0, sizeof(*n));
}

int kube_node_from_json(json_object *node, kube_node_t *out,
                        kube_error_t *err) {
  struct ctx c = {.err = err};
  memset(out, 0, sizeof(*out));
  if (!json_object_is_type(node, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "node is not an object");
  json_object *md = jget_obj(node, "metadata");
  json_object *spec = jget_obj(node, "spec"), *st = jget_obj(node, "status");
  out->name = sget(&c, md, "name");
  out->labels = labels_of(&c, jget_obj(md, "labels"), &out->n_labels);
  out->unschedulable = jget_bool(spec, "unschedulable", false);
  out->pod_cidr = sget(&c, spec, "podCIDR");
  json_object *taints = jget_arr(spec, "taints");
  out->taints = calloc_n(&c, jarr_len(taints), sizeof(*out->taints));
  for (size_t i = 0; out->taints && i < jarr_len(taints); i++) {
    json_object *t = jarr_at(taints, i);
    out->taints[i].key = sget(&c, t, "key");
    out->taints[i].value = sget(&c, t, "value");
    out->taints[i].effect = sget(&c, t, "effect");
    out->taints[i].time_added = tget(t, "timeAdded");
    out->n_taints++;
  }
  if (rl_fill(&c, jget(st, "capacity"), &out->capacity, "status.capacity") ==
      0) {
    json_object *alloc = jget(st, "allocatable");
    rl_fill(&c, alloc ? alloc : jget(st, "capacity"), &out->allocatable,
            "status.allocatable");
  }
  out->conditions =
      conditions_of(&c, jget_arr(st, "conditions"), &out->n_conditions);
  for (size_t i = 0; i < out->n_conditions; i++)
    if (out->conditions[i].type && streq(out->conditions[i].type, "Ready"))
      out->ready =
          out->conditions[i].status && streq(out->conditions[i].status, "True");
  json_object *addrs = jget_arr(st, "addresses");
  out->addresses = calloc_n(&c, jarr_len(addrs), sizeof(*out->addresses));
  for (size_t i = 0; out->addresses && i < jarr_len(addrs); i++) {
    out->addresses[i].type = sget(&c, jarr_at(addrs, i), "type");
    out->addresses[i].address = sget(&c, jarr_at(addrs, i), "address");
    out->n_addresses++;
  }
  json_object *info = jget_obj(st, "nodeInfo");
  out->kubelet_version = sget(&c, info, "kubeletVersion");
  out->os_image = sget(&c, info, "osImage");
  out->kernel_version = sget(&c, info, "kernelVersion");
  out->container_runtime_version = sget(&c, info, "containerRuntimeVersion");
  out->architecture = sget(&c, info, "architecture");
  out->operating_system = sget(&c, info, "operatingSystem");
  if (finish(&c) < 0) {
    kube_node_clear(out);
    return -1;
  }
  return 0;
}

KUBE_EXPORT int kube_node_from_object(const kube_object_t *obj,
                                      kube_node_t *out, kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof(*out));
  if (!obj || !out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_node_from_json(obj->root, out, err);
}

/* ---- services
 * -------------------------------------------------------------------- */

KUBE_EXPORT void kube_service_clear(kube_service_t *s) {
  if (!s)
    return;
  free(s->name);
  free(s->namespace_);
  free(s->type);
  free(s->cluster_ip);
  for (size_t i = 0; i < s->n_ports; i++) {
    free(s->ports[i].name);
    free(s->ports[i].protocol);
    free(s->ports[i].target_port_name);
  }
  free(s->ports);
  labels_free(s->selector, s->n_selector);
  free(s->session_affinity);
  strv_free(s->external_ips);
  free(s->external_name);
  free(s->external_traffic_policy);
  memset(s, 0, sizeof(*s));
}

int kube_service_from_json(json_object *svc, kube_service_t *out,
                           kube_error_t *err) {
  struct ctx c = {.err = err};
  memset(out, 0, sizeof(*out));
  if (!json_object_is_type(svc, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "service is not an object");
  json_object *md = jget_obj(svc, "metadata"), *spec = jget_obj(svc, "spec");
  out->name = sget(&c, md, "name");
  out->namespace_ = sget(&c, md, "namespace");
  out->type =
      dupstr(&c, jget_str(spec, "type") ? jget_str(spec, "type") : "ClusterIP");
  out->cluster_ip = sget(&c, spec, "clusterIP");
  out->headless = streq(jget_str0(spec, "clusterIP"), "None");
  json_object *ports = jget_arr(spec, "ports");
  out->ports = calloc_n(&c, jarr_len(ports), sizeof(*out->ports));
  for (size_t i = 0; out->ports && i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    kube_service_port_t *sp = &out->ports[i];
    sp->name = sget(&c, p, "name");
    sp->protocol =
        dupstr(&c, jget_str(p, "protocol") ? jget_str(p, "protocol") : "TCP");
    sp->port = (int32_t)jget_int(p, "port", 0);
    json_object *tp = jget(p, "targetPort");
    if (jis_int(tp))
      sp->target_port = (int32_t)json_object_get_int64(tp);
    else if (json_object_is_type(tp, json_type_string))
      sp->target_port_name = dupstr(&c, json_object_get_string(tp));
    else
      sp->target_port = sp->port;
    sp->node_port = (int32_t)jget_int(p, "nodePort", 0);
    out->n_ports++;
  }
  out->selector = labels_of(&c, jget_obj(spec, "selector"), &out->n_selector);
  out->session_affinity = sget(&c, spec, "sessionAffinity");
  out->external_ips =
      strv(&c, jget_arr(spec, "externalIPs"), &out->n_external_ips);
  out->external_name = sget(&c, spec, "externalName");
  out->external_traffic_policy = sget(&c, spec, "externalTrafficPolicy");
  if (finish(&c) < 0) {
    kube_service_clear(out);
    return -1;
  }
  return 0;
}

KUBE_EXPORT int kube_service_from_object(const kube_object_t *obj,
                                         kube_service_t *out,
                                         kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof(*out));
  if (!obj || !out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_service_from_json(obj->root, out, err);
}

/* ---- owner references
 * ------------------------------------------------------------ */

KUBE_EXPORT void kube_owner_refs_free(kube_owner_ref_t *refs, size_t n) {
  for (size_t i = 0; refs && i < n; i++) {
    free(refs[i].api_version);
    free(refs[i].kind);
    free(refs[i].name);
    free(refs[i].uid);
  }
  free(refs);
}

KUBE_EXPORT int kube_owner_refs_from_object(const kube_object_t *obj,
                                            kube_owner_ref_t **refs, size_t *n,
                                            kube_error_t *err) {
  *refs = NULL;
  *n = 0;
  if (!obj)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  struct ctx c = {.err = err};
  json_object *arr =
      jget_arr(jget_obj(obj->root, "metadata"), "ownerReferences");
  size_t len = jarr_len(arr), count = 0;
  kube_owner_ref_t *v = calloc_n(&c, len, sizeof(*v));
  for (size_t i = 0; v && i < len; i++) {
    json_object *o = jarr_at(arr, i);
    v[i].api_version = sget(&c, o, "apiVersion");
    v[i].kind = sget(&c, o, "kind");
    v[i].name = sget(&c, o, "name");
    v[i].uid = sget(&c, o, "uid");
    v[i].controller = jget_bool(o, "controller", false);
    v[i].block_owner_deletion = jget_bool(o, "blockOwnerDeletion", false);
    count++;
  }
  if (finish(&c) < 0) {
    kube_owner_refs_free(v, count);
    return -1;
  }
  *refs = v;
  *n = count;
  return 0;
}
