/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table rows as the real API server prints them
 * (k8s.io/kubernetes/pkg/printers/internalversion/printers.go, with
 * options.Wide: the server always fills every column), field-selector and
 * label lookups.
 */
#include <ctype.h>
#include <inttypes.h>
#include <strings.h>

#include "api/internal.h"

/* ---- formatting helpers -------------------------------------------------- */

static void add_str(json_object *cells, const char *s) {
  json_object_array_add(cells, json_object_new_string(s ? s : ""));
}
static void add_int(json_object *cells, int64_t v) {
  json_object_array_add(cells, json_object_new_int64(v));
}
static void add_sb(json_object *cells, kube_strbuf_t *sb) {
  add_str(cells, sb->data ? sb->data : "");
  kube_strbuf_clear(sb);
}

/* translateTimestampSince: "<unknown>" for a zero time. */
static void since(char *buf, size_t len, json_object *o, const char *key,
                  time_t now) {
  time_t t;
  if (!api_jget_time(o, key, &t)) {
    snprintf(buf, len, "<unknown>");
    return;
  }
  kube_time_age(t, now, buf, len);
}

static void add_age(json_object *cells, json_object *obj, time_t now) {
  char buf[32];
  since(buf, sizeof(buf), jget_obj(obj, "metadata"), "creationTimestamp", now);
  add_str(cells, buf);
}

static int str_ptr_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void api_format_labels(kube_strbuf_t *sb, json_object *labels) {
  kube_json_format_labels(sb, labels, "=", ",");
}

/* labels.FormatLabels: "<none>" when empty. */
static void add_labels(json_object *cells, json_object *labels) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_format_labels(&sb, labels);
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<none>");
  add_sb(cells, &sb);
}

struct req {
  const char *key;
  char *text;
};

static int req_cmp(const void *a, const void *b) {
  return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

static int value_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void api_format_label_selector(kube_strbuf_t *sb, json_object *sel) {
  json_object *ml = jget_obj(sel, "matchLabels");
  json_object *me = jget_arr(sel, "matchExpressions");
  size_t n = (ml ? (size_t)json_object_object_length(ml) : 0) + jarr_len(me);
  if (n == 0)
    return;
  struct req *reqs = calloc(n, sizeof(*reqs));
  if (!reqs)
    return;
  size_t i = 0;
  if (ml) {
    json_object_object_foreach(ml, k, v) {
      reqs[i].key = k;
      kube_strbuf_t t = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&t, "%s=%s", k,
                         json_object_is_type(v, json_type_string)
                             ? json_object_get_string(v)
                             : "");
      reqs[i++].text = kube_strbuf_steal(&t);
    }
  }
  for (size_t j = 0; j < jarr_len(me); j++) {
    json_object *e = jarr_at(me, j);
    const char *key = jget_str0(e, "key");
    const char *op = jget_str0(e, "operator");
    json_object *vals = jget_arr(e, "values");
    kube_strbuf_t t = KUBE_STRBUF_INIT;
    if (streq(op, "Exists")) {
      kube_strbuf_append(&t, key);
    } else if (streq(op, "DoesNotExist")) {
      kube_strbuf_printf(&t, "!%s", key);
    } else {
      size_t nv = jarr_len(vals);
      const char **vs = calloc(nv ? nv : 1, sizeof(*vs));
      for (size_t x = 0; vs && x < nv; x++) {
        const char *s = json_object_get_string(jarr_at(vals, x));
        vs[x] = s ? s : "";
      }
      if (vs)
        qsort(vs, nv, sizeof(*vs), value_cmp);
      kube_strbuf_printf(&t, "%s %s (", key,
                         streq(op, "NotIn") ? "notin" : "in");
      for (size_t x = 0; vs && x < nv; x++) {
        if (x)
          kube_strbuf_append_char(&t, ',');
        kube_strbuf_append(&t, vs[x]);
      }
      kube_strbuf_append_char(&t, ')');
      free(vs);
    }
    reqs[i].key = key;
    reqs[i++].text = kube_strbuf_steal(&t);
  }
  qsort(reqs, i, sizeof(*reqs), req_cmp);
  for (size_t j = 0; j < i; j++) {
    if (j)
      kube_strbuf_append_char(sb, ',');
    if (reqs[j].text)
      kube_strbuf_append(sb, reqs[j].text);
    free(reqs[j].text);
  }
  free(reqs);
}

/* metav1.LabelSelectorAsSelector(...).String() */
static void add_selector(json_object *cells, json_object *sel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_format_label_selector(&sb, sel);
  add_sb(cells, &sb);
}

/* metav1.FormatLabelSelector: "<none>" when empty. */
static void add_selector_none(json_object *cells, json_object *sel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_format_label_selector(&sb, sel);
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<none>");
  add_sb(cells, &sb);
}

/* layoutContainerCells: names and images joined with ",". */
static void add_containers(json_object *cells, json_object *pod_spec) {
  json_object *cs = jget_arr(pod_spec, "containers");
  kube_strbuf_t names = KUBE_STRBUF_INIT, images = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < jarr_len(cs); i++) {
    json_object *c = jarr_at(cs, i);
    if (i) {
      kube_strbuf_append_char(&names, ',');
      kube_strbuf_append_char(&images, ',');
    }
    kube_strbuf_append(&names, jget_str0(c, "name"));
    kube_strbuf_append(&images, jget_str0(c, "image"));
  }
  add_sb(cells, &names);
  add_sb(cells, &images);
}

static json_object *template_spec(json_object *obj) {
  return jget_obj(jget_obj(jget_obj(obj, "spec"), "template"), "spec");
}

static const char *name_of(json_object *obj) {
  return jget_str0(jget_obj(obj, "metadata"), "name");
}

static bool has_deletion(json_object *obj) {
  return jget_str(jget_obj(obj, "metadata"), "deletionTimestamp") != NULL;
}

/* ---- pods ------------------------------------------------------------------
 */

static bool restartable_init(json_object *spec, const char *name) {
  json_object *ics = jget_arr(spec, "initContainers");
  for (size_t i = 0; i < jarr_len(ics); i++) {
    json_object *c = jarr_at(ics, i);
    if (streq(jget_str0(c, "name"), name ? name : ""))
      return streq(jget_str0(c, "restartPolicy"), "Always");
  }
  return false;
}

static bool condition_true(json_object *status, const char *type) {
  json_object *conds = jget_arr(status, "conditions");
  for (size_t i = 0; i < jarr_len(conds); i++) {
    json_object *c = jarr_at(conds, i);
    if (streq(jget_str0(c, "type"), type))
      return streq(jget_str0(c, "status"), "True");
  }
  return false;
}

static void note_last_restart(json_object *cs, time_t *last) {
  json_object *term = jget_obj(jget_obj(cs, "lastState"), "terminated");
  time_t t;
  if (term && api_jget_time(term, "finishedAt", &t) && t > *last)
    *last = t;
}

static void pod_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *status = jget_obj(obj, "status");
  int64_t restarts = 0, init_restarts = 0;
  size_t total = jarr_len(jget_arr(spec, "containers"));
  size_t ready = 0;
  time_t last_restart = 0, init_last_restart = 0;
  char buf[64];

  const char *phase = jget_str0(status, "phase");
  char reason[160];
  snprintf(reason, sizeof(reason), "%s", phase);
  if (jget_str(status, "reason") && *jget_str(status, "reason"))
    snprintf(reason, sizeof(reason), "%s", jget_str(status, "reason"));
  json_object *conds = jget_arr(status, "conditions");
  for (size_t i = 0; i < jarr_len(conds); i++) {
    json_object *c = jarr_at(conds, i);
    if (streq(jget_str0(c, "type"), "PodScheduled") &&
        streq(jget_str0(c, "reason"), "SchedulingGated"))
      snprintf(reason, sizeof(reason), "SchedulingGated");
  }

  json_object *ics = jget_arr(spec, "initContainers");
  for (size_t i = 0; i < jarr_len(ics); i++)
    if (streq(jget_str0(jarr_at(ics, i), "restartPolicy"), "Always"))
      total++;

  bool initializing = false;
  json_object *iss = jget_arr(status, "initContainerStatuses");
  for (size_t i = 0; i < jarr_len(iss); i++) {
    json_object *cs = jarr_at(iss, i);
    const char *cname = jget_str0(cs, "name");
    bool restartable = restartable_init(spec, cname);
    restarts += jget_int(cs, "restartCount", 0);
    note_last_restart(cs, &last_restart);
    if (restartable) {
      init_restarts += jget_int(cs, "restartCount", 0);
      note_last_restart(cs, &init_last_restart);
    }
    json_object *state = jget_obj(cs, "state");
    json_object *term = jget_obj(state, "terminated");
    json_object *wait = jget_obj(state, "waiting");
    if (term && jget_int(term, "exitCode", 0) == 0)
      continue;
    if (restartable && jget_bool(cs, "started", false)) {
      if (jget_bool(cs, "ready", false))
        ready++;
      continue;
    }
    if (term) {
      const char *r = jget_str0(term, "reason");
      if (!*r) {
        if (jget_int(term, "signal", 0) != 0)
          snprintf(reason, sizeof(reason), "Init:Signal:%" PRId64,
                   jget_int(term, "signal", 0));
        else
          snprintf(reason, sizeof(reason), "Init:ExitCode:%" PRId64,
                   jget_int(term, "exitCode", 0));
      } else {
        snprintf(reason, sizeof(reason), "Init:%s", r);
      }
    } else if (wait && *jget_str0(wait, "reason") &&
               !streq(jget_str0(wait, "reason"), "PodInitializing")) {
      snprintf(reason, sizeof(reason), "Init:%s", jget_str0(wait, "reason"));
    } else {
      snprintf(reason, sizeof(reason), "Init:%zu/%zu", i, jarr_len(ics));
    }
    initializing = true;
    break;
  }

  if (!initializing || condition_true(status, "Initialized")) {
    restarts = init_restarts;
    last_restart = init_last_restart;
    bool has_running = false;
    json_object *css = jget_arr(status, "containerStatuses");
    for (size_t n = jarr_len(css); n-- > 0;) {
      json_object *cs = jarr_at(css, n);
      restarts += jget_int(cs, "restartCount", 0);
      note_last_restart(cs, &last_restart);
      json_object *state = jget_obj(cs, "state");
      json_object *term = jget_obj(state, "terminated");
      json_object *wait = jget_obj(state, "waiting");
      if (wait && *jget_str0(wait, "reason")) {
        snprintf(reason, sizeof(reason), "%s", jget_str0(wait, "reason"));
      } else if (term && *jget_str0(term, "reason")) {
        snprintf(reason, sizeof(reason), "%s", jget_str0(term, "reason"));
      } else if (term) {
        if (jget_int(term, "signal", 0) != 0)
          snprintf(reason, sizeof(reason), "Signal:%" PRId64,
                   jget_int(term, "signal", 0));
        else
          snprintf(reason, sizeof(reason), "ExitCode:%" PRId64,
                   jget_int(term, "exitCode", 0));
      } else if (jget_bool(cs, "ready", false) && jget_obj(state, "running")) {
        has_running = true;
        ready++;
      }
    }
    if (streq(reason, "Completed") && has_running)
      snprintf(reason, sizeof(reason), "%s",
               condition_true(status, "Ready") ? "Running" : "NotReady");
  }

  if (has_deletion(obj) && streq(jget_str0(status, "reason"), "NodeLost"))
    snprintf(reason, sizeof(reason), "Unknown");
  else if (has_deletion(obj) && !streq(phase, "Succeeded") &&
           !streq(phase, "Failed"))
    snprintf(reason, sizeof(reason), "Terminating");

  add_str(cells, name_of(obj));
  snprintf(buf, sizeof(buf), "%zu/%zu", ready, total);
  add_str(cells, buf);
  add_str(cells, reason);
  if (restarts != 0 && last_restart != 0) {
    char age[32];
    kube_time_age(last_restart, now, age, sizeof(age));
    snprintf(buf, sizeof(buf), "%" PRId64 " (%s ago)", restarts, age);
  } else {
    snprintf(buf, sizeof(buf), "%" PRId64, restarts);
  }
  add_str(cells, buf);
  add_age(cells, obj, now);

  const char *ip = NULL;
  json_object *ips = jget_arr(status, "podIPs");
  if (jarr_len(ips) > 0)
    ip = jget_str(jarr_at(ips, 0), "ip");
  if (!ip || !*ip)
    ip = jget_str(status, "podIP");
  const char *node = jget_str(spec, "nodeName");
  const char *nominated = jget_str(status, "nominatedNodeName");
  add_str(cells, ip && *ip ? ip : "<none>");
  add_str(cells, node && *node ? node : "<none>");
  add_str(cells, nominated && *nominated ? nominated : "<none>");
  json_object *gates = jget_arr(spec, "readinessGates");
  if (jarr_len(gates) == 0) {
    add_str(cells, "<none>");
  } else {
    size_t ok = 0;
    for (size_t i = 0; i < jarr_len(gates); i++) {
      const char *type = jget_str0(jarr_at(gates, i), "conditionType");
      for (size_t j = 0; j < jarr_len(conds); j++) {
        json_object *c = jarr_at(conds, j);
        if (streq(jget_str0(c, "type"), type)) {
          if (streq(jget_str0(c, "status"), "True"))
            ok++;
          break;
        }
      }
    }
    snprintf(buf, sizeof(buf), "%zu/%zu", ok, jarr_len(gates));
    add_str(cells, buf);
  }
}

/* ---- workloads -------------------------------------------------------------
 */

static void rc_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  add_str(cells, name_of(obj));
  add_int(cells, jget_int(spec, "replicas", 0));
  add_int(cells, jget_int(st, "replicas", 0));
  add_int(cells, jget_int(st, "readyReplicas", 0));
  add_age(cells, obj, now);
  add_containers(cells, template_spec(obj));
  add_labels(cells, jget_obj(spec, "selector"));
}

static void rs_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  add_str(cells, name_of(obj));
  add_int(cells, jget_int(spec, "replicas", 0));
  add_int(cells, jget_int(st, "replicas", 0));
  add_int(cells, jget_int(st, "readyReplicas", 0));
  add_age(cells, obj, now);
  add_containers(cells, template_spec(obj));
  add_selector(cells, jget_obj(spec, "selector"));
}

static void deployment_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[64];
  add_str(cells, name_of(obj));
  snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64,
           jget_int(st, "readyReplicas", 0), jget_int(spec, "replicas", 0));
  add_str(cells, buf);
  add_int(cells, jget_int(st, "updatedReplicas", 0));
  add_int(cells, jget_int(st, "availableReplicas", 0));
  add_age(cells, obj, now);
  add_containers(cells, template_spec(obj));
  add_selector(cells, jget_obj(spec, "selector"));
}

static void ds_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  add_str(cells, name_of(obj));
  add_int(cells, jget_int(st, "desiredNumberScheduled", 0));
  add_int(cells, jget_int(st, "currentNumberScheduled", 0));
  add_int(cells, jget_int(st, "numberReady", 0));
  add_int(cells, jget_int(st, "updatedNumberScheduled", 0));
  add_int(cells, jget_int(st, "numberAvailable", 0));
  add_labels(cells, jget_obj(template_spec(obj), "nodeSelector"));
  add_age(cells, obj, now);
  add_containers(cells, template_spec(obj));
  add_selector(cells, jget_obj(spec, "selector"));
}

static void sts_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[64];
  add_str(cells, name_of(obj));
  snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64,
           jget_int(st, "readyReplicas", 0), jget_int(spec, "replicas", 0));
  add_str(cells, buf);
  add_age(cells, obj, now);
  add_containers(cells, template_spec(obj));
}

static bool job_condition(json_object *st, const char *type) {
  return condition_true(st, type);
}

static void job_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[64];
  const char *status;
  if (job_condition(st, "Complete"))
    status = "Complete";
  else if (job_condition(st, "Failed"))
    status = "Failed";
  else if (has_deletion(obj))
    status = "Terminating";
  else if (job_condition(st, "Suspended"))
    status = "Suspended";
  else if (job_condition(st, "FailureTarget"))
    status = "FailureTarget";
  else if (job_condition(st, "SuccessCriteriaMet"))
    status = "SuccessCriteriaMet";
  else
    status = "Running";
  add_str(cells, name_of(obj));
  add_str(cells, status);
  int64_t succeeded = jget_int(st, "succeeded", 0);
  if (jis_int(jget(spec, "completions"))) {
    snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64, succeeded,
             jget_int(spec, "completions", 0));
  } else {
    int64_t par = jget_int(spec, "parallelism", 0);
    if (par > 1)
      snprintf(buf, sizeof(buf), "%" PRId64 "/1 of %" PRId64, succeeded, par);
    else
      snprintf(buf, sizeof(buf), "%" PRId64 "/1", succeeded);
  }
  add_str(cells, buf);
  time_t start, end;
  if (!api_jget_time(st, "startTime", &start))
    buf[0] = '\0';
  else if (!api_jget_time(st, "completionTime", &end))
    kube_time_age(start, now, buf, sizeof(buf));
  else
    kube_time_age(start, end, buf, sizeof(buf));
  add_str(cells, buf);
  add_age(cells, obj, now);
  add_containers(cells, template_spec(obj));
  add_selector_none(cells, jget_obj(spec, "selector"));
}

static void cronjob_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[32];
  add_str(cells, name_of(obj));
  add_str(cells, jget_str0(spec, "schedule"));
  const char *tz = jget_str(spec, "timeZone");
  add_str(cells, tz ? tz : "<none>");
  json_object *susp = jget(spec, "suspend");
  add_str(cells, json_object_is_type(susp, json_type_boolean)
                     ? (json_object_get_boolean(susp) ? "True" : "False")
                     : "<unset>");
  add_int(cells, (int64_t)jarr_len(jget_arr(st, "active")));
  if (jget_str(st, "lastScheduleTime")) {
    since(buf, sizeof(buf), st, "lastScheduleTime", now);
    add_str(cells, buf);
  } else {
    add_str(cells, "<none>");
  }
  add_age(cells, obj, now);
  json_object *jspec = jget_obj(jget_obj(spec, "jobTemplate"), "spec");
  add_containers(cells, jget_obj(jget_obj(jspec, "template"), "spec"));
  add_selector_none(cells, jget_obj(jspec, "selector"));
}

/* ---- services, endpoints ------------------------------------------------- */

static void join_strings(kube_strbuf_t *sb, json_object *arr) {
  for (size_t i = 0; i < jarr_len(arr); i++) {
    if (sb->len)
      kube_strbuf_append_char(sb, ',');
    const char *s = json_object_get_string(jarr_at(arr, i));
    kube_strbuf_append(sb, s ? s : "");
  }
}

static void lb_status(kube_strbuf_t *sb, json_object *svc_status) {
  json_object *ing = jget_arr(jget_obj(svc_status, "loadBalancer"), "ingress");
  for (size_t i = 0; i < jarr_len(ing); i++) {
    json_object *e = jarr_at(ing, i);
    const char *v = jget_str(e, "ip");
    if (!v || !*v)
      v = jget_str(e, "hostname");
    if (v && *v) {
      if (sb->len)
        kube_strbuf_append_char(sb, ',');
      kube_strbuf_append(sb, v);
    }
  }
}

static void service_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec");
  const char *type = jget_str0(spec, "type");
  add_str(cells, name_of(obj));
  add_str(cells, type);
  const char *cip = jget_str(spec, "clusterIP");
  add_str(cells, cip && *cip ? cip : "<none>");

  kube_strbuf_t ext = KUBE_STRBUF_INIT;
  json_object *eips = jget_arr(spec, "externalIPs");
  if (streq(type, "ClusterIP") || streq(type, "NodePort")) {
    join_strings(&ext, eips);
    if (ext.len == 0)
      kube_strbuf_append(&ext, "<none>");
  } else if (streq(type, "LoadBalancer")) {
    lb_status(&ext, jget_obj(obj, "status"));
    join_strings(&ext, eips);
    if (ext.len == 0)
      kube_strbuf_append(&ext, "<pending>");
  } else if (streq(type, "ExternalName")) {
    kube_strbuf_append(&ext, jget_str0(spec, "externalName"));
  } else {
    kube_strbuf_append(&ext, "<unknown>");
  }
  add_sb(cells, &ext);

  kube_strbuf_t ports = KUBE_STRBUF_INIT;
  json_object *ps = jget_arr(spec, "ports");
  for (size_t i = 0; i < jarr_len(ps); i++) {
    json_object *p = jarr_at(ps, i);
    if (i)
      kube_strbuf_append_char(&ports, ',');
    int64_t np = jget_int(p, "nodePort", 0);
    if (np > 0)
      kube_strbuf_printf(&ports, "%" PRId64 ":%" PRId64 "/%s",
                         jget_int(p, "port", 0), np, jget_str0(p, "protocol"));
    else
      kube_strbuf_printf(&ports, "%" PRId64 "/%s", jget_int(p, "port", 0),
                         jget_str0(p, "protocol"));
  }
  if (ports.len == 0)
    kube_strbuf_append(&ports, "<none>");
  add_sb(cells, &ports);
  add_age(cells, obj, now);
  add_labels(cells, jget_obj(spec, "selector"));
}

static void append_hostport(kube_strbuf_t *sb, const char *ip, int64_t port) {
  if (strchr(ip, ':'))
    kube_strbuf_printf(sb, "[%s]:%" PRId64, ip, port);
  else
    kube_strbuf_printf(sb, "%s:%" PRId64, ip, port);
}

static void endpoints_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *subsets = jget_arr(obj, "subsets");
  add_str(cells, name_of(obj));
  if (jarr_len(subsets) == 0) {
    add_str(cells, "<none>");
  } else {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    const size_t max = 3;
    size_t listed = 0, count = 0;
    bool more = false;
    for (size_t s = 0; s < jarr_len(subsets); s++) {
      json_object *ss = jarr_at(subsets, s);
      json_object *addrs = jget_arr(ss, "addresses");
      json_object *ports = jget_arr(ss, "ports");
      size_t np = jarr_len(ports);
      for (size_t p = 0; p < (np ? np : 1); p++) {
        count += jarr_len(addrs);
        for (size_t a = 0; a < jarr_len(addrs); a++) {
          if (listed == max) {
            more = true;
            break;
          }
          if (listed)
            kube_strbuf_append_char(&sb, ',');
          const char *ip = jget_str0(jarr_at(addrs, a), "ip");
          if (np)
            append_hostport(&sb, ip, jget_int(jarr_at(ports, p), "port", 0));
          else
            kube_strbuf_append(&sb, ip);
          listed++;
        }
      }
    }
    if (more)
      kube_strbuf_printf(&sb, " + %zu more...", count - max);
    add_sb(cells, &sb);
  }
  add_age(cells, obj, now);
}

static void endpointslice_cells(json_object *cells, json_object *obj,
                                time_t now) {
  add_str(cells, name_of(obj));
  add_str(cells, jget_str0(obj, "addressType"));
  json_object *ports = jget_arr(obj, "ports");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (i)
      kube_strbuf_append_char(&sb, ',');
    if (jis_int(jget(p, "port")))
      kube_strbuf_printf(&sb, "%" PRId64, jget_int(p, "port", 0));
    else
      kube_strbuf_append(&sb, "<unset>");
  }
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<unset>");
  add_sb(cells, &sb);
  json_object *eps = jget_arr(obj, "endpoints");
  const size_t max = 3;
  size_t listed = 0, count = 0;
  bool more = false;
  for (size_t i = 0; i < jarr_len(eps); i++) {
    json_object *addrs = jget_arr(jarr_at(eps, i), "addresses");
    for (size_t a = 0; a < jarr_len(addrs); a++) {
      count++;
      if (listed == max) {
        more = true;
        continue;
      }
      if (listed)
        kube_strbuf_append_char(&sb, ',');
      const char *s = json_object_get_string(jarr_at(addrs, a));
      kube_strbuf_append(&sb, s ? s : "");
      listed++;
    }
  }
  if (more)
    kube_strbuf_printf(&sb, " + %zu more...", count - max);
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<unset>");
  add_sb(cells, &sb);
  add_age(cells, obj, now);
}

/* ---- nodes, namespaces, events ----------------------------------------- */

static int role_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void node_address(json_object *cells, json_object *status,
                         const char *type) {
  json_object *addrs = jget_arr(status, "addresses");
  for (size_t i = 0; i < jarr_len(addrs); i++) {
    json_object *a = jarr_at(addrs, i);
    if (streq(jget_str0(a, "type"), type)) {
      add_str(cells, jget_str0(a, "address"));
      return;
    }
  }
  add_str(cells, "<none>");
}

static void node_cells(json_object *cells, json_object *obj, time_t now) {
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
  add_str(cells, name_of(obj));
  add_sb(cells, &status);

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
  add_sb(cells, &rs);
  add_age(cells, obj, now);
  json_object *info = jget_obj(st, "nodeInfo");
  add_str(cells, jget_str0(info, "kubeletVersion"));
  node_address(cells, st, "InternalIP");
  node_address(cells, st, "ExternalIP");
  const char *v;
  v = jget_str(info, "osImage");
  add_str(cells, v && *v ? v : "<unknown>");
  v = jget_str(info, "kernelVersion");
  add_str(cells, v && *v ? v : "<unknown>");
  v = jget_str(info, "containerRuntimeVersion");
  add_str(cells, v && *v ? v : "<unknown>");
}

static void namespace_cells(json_object *cells, json_object *obj, time_t now) {
  add_str(cells, name_of(obj));
  add_str(cells, jget_str0(jget_obj(obj, "status"), "phase"));
  add_age(cells, obj, now);
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
    since(first, sizeof(first), obj, k_first, now);
  else
    since(first, sizeof(first), obj, "eventTime", now);
  if (jget_str(obj, k_last))
    since(last, sizeof(last), obj, k_last, now);
  else
    memcpy(last, first, sizeof(last));
  int64_t count = jget_int(obj, k_count, 0);
  json_object *series = jget_obj(obj, "series");
  if (series) {
    since(last, sizeof(last), series, "lastObservedTime", now);
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

  add_str(cells, last);
  add_str(cells, jget_str0(obj, "type"));
  add_str(cells, jget_str0(obj, "reason"));
  if (target.len == 0)
    kube_strbuf_append(&target, "");
  add_sb(cells, &target);
  add_str(cells, jget_str0(inv, "fieldPath"));
  add_sb(cells, &source);
  json_object_array_add(cells, json_object_new_string_len(msg, (int)ml));
  add_str(cells, first);
  add_int(cells, count);
  add_str(cells, name_of(obj));
}

/* ---- config, storage, policy --------------------------------------------- */

static void count_cells(json_object *cells, json_object *obj, time_t now,
                        const char *k1, const char *k2, bool arr) {
  add_str(cells, name_of(obj));
  int64_t n = 0;
  if (arr) {
    n = (int64_t)jarr_len(jget_arr(obj, k1));
  } else {
    json_object *a = jget_obj(obj, k1);
    json_object *b = k2 ? jget_obj(obj, k2) : NULL;
    n = (a ? json_object_object_length(a) : 0) +
        (b ? json_object_object_length(b) : 0);
  }
  add_int(cells, n);
  add_age(cells, obj, now);
}

static void secret_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *data = jget_obj(obj, "data");
  add_str(cells, name_of(obj));
  add_str(cells, jget_str0(obj, "type"));
  add_int(cells, data ? json_object_object_length(data) : 0);
  add_age(cells, obj, now);
}

static void access_modes(kube_strbuf_t *sb, json_object *modes) {
  static const struct {
    const char *mode, *abbr;
  } table[] = {{"ReadWriteOnce", "RWO"},
               {"ReadOnlyMany", "ROX"},
               {"ReadWriteMany", "RWX"},
               {"ReadWriteOncePod", "RWOP"}};
  for (size_t t = 0; t < ARRAY_SIZE(table); t++) {
    for (size_t i = 0; i < jarr_len(modes); i++) {
      const char *m = json_object_get_string(jarr_at(modes, i));
      if (m && streq(m, table[t].mode)) {
        if (sb->len)
          kube_strbuf_append_char(sb, ',');
        kube_strbuf_append(sb, table[t].abbr);
        break;
      }
    }
  }
}

static const char *storage_class(json_object *obj) {
  const char *sc = jget_str(jget_obj(obj, "spec"), "storageClassName");
  if (sc)
    return sc;
  sc = jget_str(jget_obj(jget_obj(obj, "metadata"), "annotations"),
                "volume.beta.kubernetes.io/storage-class");
  return sc ? sc : "";
}

static void pv_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  add_str(cells, name_of(obj));
  const char *cap = jget_str(jget_obj(spec, "capacity"), "storage");
  add_str(cells, cap ? cap : "0");
  kube_strbuf_t modes = KUBE_STRBUF_INIT;
  access_modes(&modes, jget_arr(spec, "accessModes"));
  add_sb(cells, &modes);
  add_str(cells, jget_str0(spec, "persistentVolumeReclaimPolicy"));
  add_str(cells, has_deletion(obj) ? "Terminating" : jget_str0(st, "phase"));
  json_object *claim = jget_obj(spec, "claimRef");
  kube_strbuf_t cr = KUBE_STRBUF_INIT;
  if (claim)
    kube_strbuf_printf(&cr, "%s/%s", jget_str0(claim, "namespace"),
                       jget_str0(claim, "name"));
  add_sb(cells, &cr);
  add_str(cells, storage_class(obj));
  const char *vac = jget_str(spec, "volumeAttributesClassName");
  add_str(cells, vac ? vac : "<unset>");
  add_str(cells, jget_str0(st, "reason"));
  add_age(cells, obj, now);
  const char *vm = jget_str(spec, "volumeMode");
  add_str(cells, vm ? vm : "<unset>");
}

static void pvc_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  add_str(cells, name_of(obj));
  add_str(cells, has_deletion(obj) ? "Terminating" : jget_str0(st, "phase"));
  const char *vol = jget_str0(spec, "volumeName");
  add_str(cells, vol);
  kube_strbuf_t modes = KUBE_STRBUF_INIT;
  const char *cap = "";
  if (*vol) {
    access_modes(&modes, jget_arr(st, "accessModes"));
    cap = jget_str(jget_obj(st, "capacity"), "storage");
    if (!cap)
      cap = "0";
  }
  add_str(cells, cap);
  add_sb(cells, &modes);
  add_str(cells, storage_class(obj));
  const char *vac = jget_str(st, "currentVolumeAttributesClassName");
  add_str(cells, vac ? vac : "<unset>");
  add_age(cells, obj, now);
  const char *vm = jget_str(spec, "volumeMode");
  add_str(cells, vm ? vm : "<unset>");
}

static void limitrange_cells(json_object *cells, json_object *obj, time_t now) {
  add_str(cells, name_of(obj));
  time_t t;
  char buf[32];
  if (api_jget_time(jget_obj(obj, "metadata"), "creationTimestamp", &t))
    add_str(cells, kube_time_format(t, buf, sizeof(buf)));
  else
    add_str(cells, "0001-01-01T00:00:00Z");
}

static void quota_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *hard = jget_obj(jget_obj(obj, "spec"), "hard");
  json_object *st = jget_obj(obj, "status");
  json_object *used = jget_obj(st, "used"), *shard = jget_obj(st, "hard");
  size_t n = hard ? (size_t)json_object_object_length(hard) : 0, i = 0;
  const char **keys = calloc(n ? n : 1, sizeof(*keys));
  if (keys && hard) {
    json_object_object_foreach(hard, k, v) {
      (void)v;
      keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), str_ptr_cmp);
  }
  kube_strbuf_t req = KUBE_STRBUF_INIT, lim = KUBE_STRBUF_INIT;
  for (size_t j = 0; j < i; j++) {
    kube_strbuf_t *w = str_has_prefix(keys[j], "limits.") ? &lim : &req;
    const char *u = jget_str(used, keys[j]);
    const char *h = jget_str(shard, keys[j]);
    if (w->len)
      kube_strbuf_append(w, ", ");
    kube_strbuf_printf(w, "%s: %s/%s", keys[j], u ? u : "0", h ? h : "0");
  }
  free(keys);
  add_str(cells, name_of(obj));
  add_age(cells, obj, now);
  add_sb(cells, &req);
  add_sb(cells, &lim);
}

static void hpa_cells(json_object *cells, json_object *obj, time_t now,
                      bool v1) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  json_object *ref = jget_obj(spec, "scaleTargetRef");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  add_str(cells, name_of(obj));
  kube_strbuf_printf(&sb, "%s/%s", jget_str0(ref, "kind"),
                     jget_str0(ref, "name"));
  add_sb(cells, &sb);
  if (v1) {
    /* Stored as autoscaling/v2, a v1 object without a target gets the
     * default 80% CPU metric. */
    int64_t target = jget_int(spec, "targetCPUUtilizationPercentage", 80);
    json_object *cur = jget(st, "currentCPUUtilizationPercentage");
    if (jis_int(cur))
      kube_strbuf_printf(&sb, "cpu: %" PRId64 "%%/%" PRId64 "%%",
                         json_object_get_int64(cur), target);
    else
      kube_strbuf_printf(&sb, "cpu: <unknown>/%" PRId64 "%%", target);
  } else {
    json_object *metrics = jget_arr(spec, "metrics");
    json_object *current = jget_arr(st, "currentMetrics");
    size_t count = jarr_len(metrics), shown = 0;
    for (size_t i = 0; i < count && shown < 2; i++, shown++) {
      json_object *m = jarr_at(metrics, i);
      json_object *cm = jarr_at(current, i);
      if (shown)
        kube_strbuf_append(&sb, ", ");
      const char *type = jget_str0(m, "type");
      const char *key = streq(type, "Resource")            ? "resource"
                        : streq(type, "ContainerResource") ? "containerResource"
                        : streq(type, "Pods")              ? "pods"
                        : streq(type, "Object")            ? "object"
                        : streq(type, "External")          ? "external"
                                                           : NULL;
      if (!key) {
        kube_strbuf_append(&sb, "<unknown type>");
        continue;
      }
      json_object *src = jget_obj(m, key);
      json_object *target = jget_obj(src, "target");
      json_object *cur = jget_obj(jget_obj(cm, key), "current");
      const char *label = "";
      if (streq(key, "resource") || streq(key, "containerResource"))
        label = jget_str0(src, "name");
      else
        label = jget_str0(jget_obj(src, "metric"), "name");
      const char *avg = jget_str(target, "averageValue");
      const char *val = jget_str(target, "value");
      if (avg || val) {
        const char *c = jget_str(cur, avg ? "averageValue" : "value");
        kube_strbuf_printf(&sb, "%s: %s/%s", label, c ? c : "<unknown>",
                           avg ? avg : val);
      } else {
        json_object *cu = jget(cur, "averageUtilization");
        json_object *tu = jget(target, "averageUtilization");
        char cbuf[32], tbuf[32];
        if (jis_int(cu))
          snprintf(cbuf, sizeof(cbuf), "%" PRId64 "%%",
                   json_object_get_int64(cu));
        else
          snprintf(cbuf, sizeof(cbuf), "<unknown>");
        if (jis_int(tu))
          snprintf(tbuf, sizeof(tbuf), "%" PRId64 "%%",
                   json_object_get_int64(tu));
        else
          snprintf(tbuf, sizeof(tbuf), "<auto>");
        kube_strbuf_printf(&sb, "%s: %s/%s", label, cbuf, tbuf);
      }
    }
    if (count > 2)
      kube_strbuf_printf(&sb, " + %zu more...", count - 2);
    if (count == 0)
      kube_strbuf_append(&sb, "<none>");
  }
  add_sb(cells, &sb);
  json_object *min = jget(spec, "minReplicas");
  char buf[32];
  if (jis_int(min))
    snprintf(buf, sizeof(buf), "%" PRId64, json_object_get_int64(min));
  else
    snprintf(buf, sizeof(buf), "<unset>");
  add_str(cells, buf);
  add_int(cells, jget_int(spec, "maxReplicas", 0));
  add_int(cells, jget_int(st, "currentReplicas", 0));
  add_age(cells, obj, now);
}

static void lease_cells(json_object *cells, json_object *obj, time_t now) {
  add_str(cells, name_of(obj));
  add_str(cells, jget_str0(jget_obj(obj, "spec"), "holderIdentity"));
  add_age(cells, obj, now);
}

/* ---- dispatch
 * ---------------------------------------------------------------- */

json_object *kube_json_table_cells(const kube_kind_t *kind, json_object *obj,
                                   time_t now) {
  json_object *cells = json_object_new_array();
  if (!cells)
    return NULL;
  const char *r = kind ? kind->resource : "";
  const char *g = kind ? kind->group : "";
  bool core = streq(g, "");
  if (core && streq(r, "pods"))
    pod_cells(cells, obj, now);
  else if (core && streq(r, "replicationcontrollers"))
    rc_cells(cells, obj, now);
  else if (streq(g, "apps") && streq(r, "replicasets"))
    rs_cells(cells, obj, now);
  else if (streq(g, "apps") && streq(r, "deployments"))
    deployment_cells(cells, obj, now);
  else if (streq(g, "apps") && streq(r, "daemonsets"))
    ds_cells(cells, obj, now);
  else if (streq(g, "apps") && streq(r, "statefulsets"))
    sts_cells(cells, obj, now);
  else if (streq(g, "batch") && streq(r, "jobs"))
    job_cells(cells, obj, now);
  else if (streq(g, "batch") && streq(r, "cronjobs"))
    cronjob_cells(cells, obj, now);
  else if (core && streq(r, "services"))
    service_cells(cells, obj, now);
  else if (core && streq(r, "endpoints"))
    endpoints_cells(cells, obj, now);
  else if (streq(g, "discovery.k8s.io") && streq(r, "endpointslices"))
    endpointslice_cells(cells, obj, now);
  else if (core && streq(r, "nodes"))
    node_cells(cells, obj, now);
  else if (core && streq(r, "namespaces"))
    namespace_cells(cells, obj, now);
  else if ((core || streq(g, "events.k8s.io")) && streq(r, "events")) {
    /* Both event APIs share the printer; the object says which shape it
     * has (the two resources may serve each other's objects). */
    const char *av = jget_str(obj, "apiVersion");
    bool v1 = av ? streq(av, "events.k8s.io/v1")
                 : (jget_obj(obj, "regarding") != NULL ||
                    (!jget_obj(obj, "involvedObject") && !core));
    event_cells(cells, obj, now, v1);
  } else if (core && streq(r, "configmaps"))
    count_cells(cells, obj, now, "data", "binaryData", false);
  else if (core && streq(r, "secrets"))
    secret_cells(cells, obj, now);
  else if (core && streq(r, "serviceaccounts"))
    count_cells(cells, obj, now, "secrets", NULL, true);
  else if (core && streq(r, "persistentvolumes"))
    pv_cells(cells, obj, now);
  else if (core && streq(r, "persistentvolumeclaims"))
    pvc_cells(cells, obj, now);
  else if (core && streq(r, "limitranges"))
    limitrange_cells(cells, obj, now);
  else if (core && streq(r, "resourcequotas"))
    quota_cells(cells, obj, now);
  else if (streq(g, "autoscaling") && streq(r, "horizontalpodautoscalers")) {
    /* Decide by the object, not the URL: a v1 object may be served
     * unconverted through the v2 endpoint. */
    json_object *spec = jget_obj(obj, "spec");
    const char *av = jget_str(obj, "apiVersion");
    bool v1 = av ? streq(av, "autoscaling/v1")
                 : (!jget_arr(spec, "metrics") &&
                    jget(spec, "targetCPUUtilizationPercentage"));
    if (!av && !jget_arr(spec, "metrics") &&
        !jget(spec, "targetCPUUtilizationPercentage"))
      v1 = streq(kind->version, "v1");
    hpa_cells(cells, obj, now, v1);
  } else if (streq(g, "coordination.k8s.io") && streq(r, "leases"))
    lease_cells(cells, obj, now);
  else {
    add_str(cells, name_of(obj));
    add_age(cells, obj, now);
  }
  return cells;
}

/* ---- field and label lookups ----------------------------------------------
 */

static bool declared(const kube_kind_t *k, const char *field) {
  for (const char *const *f = k ? k->selectable_fields : NULL; f && *f; f++)
    if (streq(*f, field))
      return true;
  return false;
}

/* The string form Kubernetes' field sets use for a value: strings as they
 * are, integers in decimal, booleans "true"/"false".  Borrowed from the
 * tree (json-c caches the text in the value). */
static const char *value_text(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_string:
    return json_object_get_string(v);
  case json_type_boolean:
    return json_object_get_boolean(v) ? "true" : "false";
  case json_type_int:
  case json_type_double:
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
  default:
    return NULL;
  }
}

const char *kube_json_field_lookup(void *ctx, const char *field) {
  json_object *obj = ctx;
  if (!obj || !field)
    return NULL;
  json_object *md = jget_obj(obj, "metadata");
  if (streq(field, "metadata.name"))
    return jget_str0(md, "name");
  if (streq(field, "metadata.namespace"))
    return jget_str0(md, "namespace");
  const kube_kind_t *k = api_kind_of_tree(obj);
  if (!declared(k, field))
    return NULL;
  const char *path = field;
  const char *def = "";
  if (streq(field, "source"))
    path = "source.component";
  else if (streq(field, "reportingComponent"))
    path = "reportingComponent";
  else if (streq(field, "status.successful"))
    path = "status.succeeded", def = "0";
  else if (streq(field, "status.replicas"))
    def = "0";
  else if (streq(field, "spec.unschedulable") ||
           streq(field, "spec.hostNetwork"))
    def = "false";
  else if (streq(field, "status.podIPs"))
    path = "status.podIPs.0.ip";
  const char *v = value_text(kube_json_get(obj, path));
  return v ? v : def;
}

const char *kube_json_label_lookup(void *ctx, const char *key) {
  json_object *obj = ctx;
  if (!key)
    return NULL;
  return jget_str(jget_obj(jget_obj(obj, "metadata"), "labels"), key);
}
