/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl describe: kubectl's layout for pods, deployments, services,
 * nodes and namespaces (a generic field dump for other kinds), followed by
 * the object's Events.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <time.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

#define S(o, p) (kube_json_get_string((o), (p)))

static const char *or_none(const char *s) {
  return s && *s ? s : "<none>";
}

/* Write one line at an indentation level (2 spaces per level). */
KUBE_PRINTF(3, 4)
static void w(struct client_tabw *t, int level, const char *fmt, ...) {
  for (int i = 0; i < level; i++)
    client_tabw_printf(t, "  ");
  va_list ap;
  va_start(ap, fmt);
  kube_strbuf_vprintf(&t->text, fmt, ap);
  va_end(ap);
}

/* Labels/annotations sorted by key, one per line, continuation lines
 * indented to the value column. */
static void map_multiline(struct client_tabw *t, int level, const char *title,
                          json_object *m, const char *eq) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT, sep = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sep, "\n");
  for (int i = 0; i < level; i++)
    kube_strbuf_append(&sep, "  ");
  kube_strbuf_append(&sep, "\t");
  kube_json_format_labels(&sb, m, eq, sep.data ? sep.data : "\n\t");
  w(t, level, "%s:\t%s\n", title, sb.len ? sb.data : "<none>");
  kube_strbuf_free(&sb);
  kube_strbuf_free(&sep);
}

/* "a=b,c=d" sorted by key, or "<none>". */
static void labels_inline(kube_strbuf_t *sb, json_object *m, const char *sep) {
  size_t len = sb->len;
  kube_json_format_labels(sb, m, "=", sep);
  if (sb->len == len)
    kube_strbuf_append(sb, "<none>");
}

/* "Mon, 02 Jan 2006 15:04:05 -0700" as kubectl prints timestamps. */
static const char *when(const char *rfc3339, char *buf, size_t len) {
  struct timespec ts;
  if (!rfc3339 || kube_time_parse(rfc3339, &ts, NULL) < 0)
    return "<unknown>";
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

static void name_ns(struct client_tabw *t, json_object *o) {
  w(t, 0, "Name:\t%s\n", or_none(S(o, "metadata.name")));
  if (S(o, "metadata.namespace"))
    w(t, 0, "Namespace:\t%s\n", S(o, "metadata.namespace"));
}

static void ports_line(struct client_tabw *t, int level, json_object *c) {
  json_object *ports = kube_json_get(c, "ports");
  size_t n = ports ? json_object_array_length(ports) : 0;
  if (n == 0) {
    w(t, level, "Port:\t<none>\n");
    w(t, level, "Host Port:\t<none>\n");
    return;
  }
  kube_strbuf_t p = KUBE_STRBUF_INIT, h = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    json_object *pt = json_object_array_get_idx(ports, i);
    json_object *cp = kube_json_get(pt, "containerPort"),
                *hp = kube_json_get(pt, "hostPort");
    const char *proto = S(pt, "protocol");
    kube_strbuf_printf(&p, "%s%d/%s", i ? ", " : "",
                       cp ? json_object_get_int(cp) : 0, proto ? proto : "TCP");
    kube_strbuf_printf(&h, "%s%d/%s", i ? ", " : "",
                       hp ? json_object_get_int(hp) : 0, proto ? proto : "TCP");
  }
  w(t, level, "%s:\t%s\n", n > 1 ? "Ports" : "Port", p.data);
  w(t, level, "%s:\t%s\n", n > 1 ? "Host Ports" : "Host Port", h.data);
  kube_strbuf_free(&p);
  kube_strbuf_free(&h);
}

static void string_list(struct client_tabw *t, int level, const char *title,
                        json_object *arr) {
  if (!arr || json_object_array_length(arr) == 0)
    return;
  w(t, level, "%s:\n", title);
  for (size_t i = 0; i < json_object_array_length(arr); i++)
    w(t, level + 1, "%s\n",
      json_object_get_string(json_object_array_get_idx(arr, i)));
}

static void env_lines(struct client_tabw *t, int level, json_object *c) {
  json_object *env = kube_json_get(c, "env");
  if (!env || json_object_array_length(env) == 0) {
    w(t, level, "Environment:\t<none>\n");
    return;
  }
  w(t, level, "Environment:\n");
  for (size_t i = 0; i < json_object_array_length(env); i++) {
    json_object *e = json_object_array_get_idx(env, i);
    const char *v = S(e, "value");
    w(t, level + 1, "%s:\t%s\n", S(e, "name"),
      v                               ? v
      : kube_json_get(e, "valueFrom") ? "<set from a reference>"
                                      : "");
  }
}

static void mounts_lines(struct client_tabw *t, int level, json_object *c) {
  json_object *m = kube_json_get(c, "volumeMounts");
  if (!m || json_object_array_length(m) == 0) {
    w(t, level, "Mounts:\t<none>\n");
    return;
  }
  w(t, level, "Mounts:\n");
  for (size_t i = 0; i < json_object_array_length(m); i++) {
    json_object *vm = json_object_array_get_idx(m, i),
                *ro = kube_json_get(vm, "readOnly");
    w(t, level + 1, "%s from %s (%s)\n", S(vm, "mountPath"), S(vm, "name"),
      ro && json_object_get_boolean(ro) ? "ro" : "rw");
  }
}

/* The container state as "Running" with "Started:" etc. */
static void state_lines(struct client_tabw *t, int level, const char *title,
                        json_object *st) {
  char tb[64];
  if (!st)
    return;
  json_object *s;
  if ((s = kube_json_get(st, "running"))) {
    w(t, level, "%s:\tRunning\n", title);
    w(t, level + 1, "Started:\t%s\n", when(S(s, "startedAt"), tb, sizeof tb));
  } else if ((s = kube_json_get(st, "waiting"))) {
    w(t, level, "%s:\tWaiting\n", title);
    w(t, level + 1, "Reason:\t%s\n", S(s, "reason") ? S(s, "reason") : "");
  } else if ((s = kube_json_get(st, "terminated"))) {
    json_object *code = kube_json_get(s, "exitCode");
    w(t, level, "%s:\tTerminated\n", title);
    w(t, level + 1, "Reason:\t%s\n", S(s, "reason") ? S(s, "reason") : "");
    w(t, level + 1, "Exit Code:\t%d\n", code ? json_object_get_int(code) : 0);
  }
}

static json_object *container_status(json_object *pod, const char *name) {
  json_object *css = kube_json_get(pod, "status.containerStatuses");
  for (size_t i = 0; css && i < json_object_array_length(css); i++) {
    json_object *cs = json_object_array_get_idx(css, i);
    const char *n = S(cs, "name");
    if (n && streq(n, name))
      return cs;
  }
  return NULL;
}

static void containers(struct client_tabw *t, int level, const char *title,
                       json_object *list, json_object *pod) {
  if (!list || json_object_array_length(list) == 0)
    return;
  w(t, level, "%s:\n", title);
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *c = json_object_array_get_idx(list, i);
    const char *name = S(c, "name");
    json_object *cs = pod ? container_status(pod, name ? name : "") : NULL;
    /* Names sit one level below the title (one extra space in pod
     * templates); details always at level 2, as kubectl prints them. */
    w(t, level, pod ? "  %s:\n" : " %s:\n", or_none(name));
    if (cs)
      w(t, 2, "Container ID:\t%s\n",
        S(cs, "containerID") ? S(cs, "containerID") : "");
    w(t, 2, "Image:\t%s\n", S(c, "image") ? S(c, "image") : "");
    if (cs)
      w(t, 2, "Image ID:\t%s\n", S(cs, "imageID") ? S(cs, "imageID") : "");
    ports_line(t, 2, c);
    string_list(t, 2, "Command", kube_json_get(c, "command"));
    string_list(t, 2, "Args", kube_json_get(c, "args"));
    if (cs) {
      state_lines(t, 2, "State", kube_json_get(cs, "state"));
      json_object *last = kube_json_get(cs, "lastState");
      if (last && json_object_object_length(last) > 0)
        state_lines(t, 2, "Last State", last);
      json_object *ready = kube_json_get(cs, "ready"),
                  *rc = kube_json_get(cs, "restartCount");
      w(t, 2, "Ready:\t%s\n",
        ready && json_object_get_boolean(ready) ? "True" : "False");
      w(t, 2, "Restart Count:\t%d\n", rc ? json_object_get_int(rc) : 0);
    }
    json_object *lim = kube_json_get(c, "resources.limits"),
                *req = kube_json_get(c, "resources.requests");
    if (lim && json_object_object_length(lim) > 0) {
      w(t, 2, "Limits:\n");
      json_object_object_foreach(lim, k, v)
          w(t, 3, "%s:\t%s\n", k, json_object_get_string(v));
    }
    if (req && json_object_object_length(req) > 0) {
      w(t, 2, "Requests:\n");
      json_object_object_foreach(req, k, v)
          w(t, 3, "%s:\t%s\n", k, json_object_get_string(v));
    }
    env_lines(t, 2, c);
    mounts_lines(t, 2, c);
  }
}

static void volumes(struct client_tabw *t, int level, json_object *spec) {
  json_object *vols = kube_json_get(spec, "volumes");
  if (!vols || json_object_array_length(vols) == 0) {
    w(t, level, "Volumes:\t<none>\n");
    return;
  }
  w(t, level, "Volumes:\n");
  for (size_t i = 0; i < json_object_array_length(vols); i++) {
    json_object *v = json_object_array_get_idx(vols, i);
    w(t, level + 1, "%s:\n", S(v, "name"));
    json_object_object_foreach(v, k, val) {
      if (streq(k, "name"))
        continue;
      w(t, level + 2, "Type:\t%s\n", k);
      (void)val;
    }
  }
}

static void conditions(struct client_tabw *t, json_object *conds,
                       bool with_reason) {
  if (!conds || json_object_array_length(conds) == 0)
    return;
  w(t, 0, "Conditions:\n");
  if (with_reason) {
    w(t, 1, "Type\tStatus\tReason\n");
    w(t, 1, "----\t------\t------\n");
  } else {
    w(t, 1, "Type\tStatus\n");
  }
  for (size_t i = 0; i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (with_reason)
      w(t, 1, "%s \t%s\t%s\n", S(c, "type"), S(c, "status"),
        or_none(S(c, "reason")));
    else
      w(t, 1, "%s \t%s \n", S(c, "type"), S(c, "status"));
  }
}

static void describe_pod(struct client_tabw *t, json_object *o) {
  char tb[64];
  name_ns(t, o);
  json_object *prio = kube_json_get(o, "spec.priority");
  if (prio)
    w(t, 0, "Priority:\t%d\n", json_object_get_int(prio));
  if (S(o, "spec.serviceAccountName"))
    w(t, 0, "Service Account:\t%s\n", S(o, "spec.serviceAccountName"));
  const char *node = S(o, "spec.nodeName"), *host_ip = S(o, "status.hostIP");
  if (node && *node)
    w(t, 0, "Node:\t%s/%s\n", node, host_ip ? host_ip : "");
  else
    w(t, 0, "Node:\t<none>\n");
  if (S(o, "status.startTime"))
    w(t, 0, "Start Time:\t%s\n", when(S(o, "status.startTime"), tb, sizeof tb));
  map_multiline(t, 0, "Labels", kube_json_get(o, "metadata.labels"), "=");
  map_multiline(t, 0, "Annotations", kube_json_get(o, "metadata.annotations"),
                ": ");
  const char *phase = S(o, "status.phase");
  if (S(o, "metadata.deletionTimestamp"))
    w(t, 0, "Status:\tTerminating\n");
  else
    w(t, 0, "Status:\t%s\n", phase ? phase : "");
  w(t, 0, "IP:\t%s\n", S(o, "status.podIP") ? S(o, "status.podIP") : "");
  json_object *ips = kube_json_get(o, "status.podIPs");
  if (!ips || json_object_array_length(ips) == 0) {
    w(t, 0, "IPs:\t<none>\n");
  } else {
    w(t, 0, "IPs:\n");
    for (size_t i = 0; i < json_object_array_length(ips); i++)
      w(t, 1, "IP:\t%s\n", S(json_object_array_get_idx(ips, i), "ip"));
  }
  json_object *owners = kube_json_get(o, "metadata.ownerReferences");
  for (size_t i = 0; owners && i < json_object_array_length(owners); i++) {
    json_object *ow = json_object_array_get_idx(owners, i),
                *ctl = kube_json_get(ow, "controller");
    if (ctl && json_object_get_boolean(ctl))
      w(t, 0, "Controlled By:\t%s/%s\n", S(ow, "kind"), S(ow, "name"));
  }
  containers(t, 0, "Init Containers", kube_json_get(o, "spec.initContainers"),
             o);
  containers(t, 0, "Containers", kube_json_get(o, "spec.containers"), o);
  conditions(t, kube_json_get(o, "status.conditions"), false);
  volumes(t, 0, kube_json_get(o, "spec"));
  w(t, 0, "QoS Class:\t%s\n",
    S(o, "status.qosClass") && *S(o, "status.qosClass")
        ? S(o, "status.qosClass")
        : kube_json_pod_qos_class(kube_json_get(o, "spec")));
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  labels_inline(&sel, kube_json_get(o, "spec.nodeSelector"), ",");
  w(t, 0, "Node-Selectors:\t%s\n", sel.data ? sel.data : "<none>");
  kube_strbuf_free(&sel);
  json_object *tol = kube_json_get(o, "spec.tolerations");
  if (!tol || json_object_array_length(tol) == 0) {
    w(t, 0, "Tolerations:\t<none>\n");
  } else {
    for (size_t i = 0; i < json_object_array_length(tol); i++) {
      json_object *x = json_object_array_get_idx(tol, i),
                  *secs = kube_json_get(x, "tolerationSeconds");
      const char *key = S(x, "key"), *val = S(x, "value"),
                 *eff = S(x, "effect");
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&sb, "%s", key ? key : "");
      if (val && *val)
        kube_strbuf_printf(&sb, "=%s", val);
      if (eff && *eff)
        kube_strbuf_printf(&sb, ":%s", eff);
      /* operator Exists without a value (kubectl's special case). */
      if (S(x, "operator") && streq(S(x, "operator"), "Exists") &&
          (!val || !*val))
        kube_strbuf_printf(&sb, "%sop=Exists",
                           (key && *key) || (eff && *eff) ? " " : "");
      if (secs)
        kube_strbuf_printf(&sb, " for %llds",
                           (long long)json_object_get_int64(secs));
      w(t, 0, "%s\t%s\n", i == 0 ? "Tolerations:" : "", sb.data ? sb.data : "");
      kube_strbuf_free(&sb);
    }
  }
}

static void describe_deployment(struct client_tabw *t, json_object *o) {
  char tb[64];
  name_ns(t, o);
  w(t, 0, "CreationTimestamp:\t%s\n",
    when(S(o, "metadata.creationTimestamp"), tb, sizeof tb));
  map_multiline(t, 0, "Labels", kube_json_get(o, "metadata.labels"), "=");
  map_multiline(t, 0, "Annotations", kube_json_get(o, "metadata.annotations"),
                ": ");
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  labels_inline(&sel, kube_json_get(o, "spec.selector.matchLabels"), ",");
  w(t, 0, "Selector:\t%s\n", sel.data);
  kube_strbuf_free(&sel);
  json_object *st = kube_json_get(o, "status");
#define NUM(obj, p)                                                            \
  (kube_json_get((obj), (p)) ? json_object_get_int(kube_json_get((obj), (p)))  \
                             : 0)
  w(t, 0,
    "Replicas:\t%d desired | %d updated | %d total | %d available | %d "
    "unavailable\n",
    kube_json_get(o, "spec.replicas") ? NUM(o, "spec.replicas") : 1,
    NUM(st, "updatedReplicas"), NUM(st, "replicas"),
    NUM(st, "availableReplicas"), NUM(st, "unavailableReplicas"));
  const char *stype = S(o, "spec.strategy.type");
  w(t, 0, "StrategyType:\t%s\n", stype ? stype : "");
  w(t, 0, "MinReadySeconds:\t%d\n", NUM(o, "spec.minReadySeconds"));
  if (kube_json_get(o, "spec.strategy.rollingUpdate")) {
    const char *mu = S(o, "spec.strategy.rollingUpdate.maxUnavailable");
    const char *ms = S(o, "spec.strategy.rollingUpdate.maxSurge");
    w(t, 0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n",
      mu ? mu : "25%", ms ? ms : "25%");
  }
  w(t, 0, "Pod Template:\n");
  json_object *tmpl = kube_json_get(o, "spec.template");
  kube_strbuf_t tl = KUBE_STRBUF_INIT;
  map_multiline(t, 1, "Labels", kube_json_get(tmpl, "metadata.labels"), "=");
  kube_strbuf_free(&tl);
  containers(t, 1, "Containers", kube_json_get(tmpl, "spec.containers"), NULL);
  volumes(t, 1, kube_json_get(tmpl, "spec"));
  kube_strbuf_t ns_sel = KUBE_STRBUF_INIT;
  labels_inline(&ns_sel, kube_json_get(tmpl, "spec.nodeSelector"), ",");
  w(t, 1, "Node-Selectors:\t%s\n", ns_sel.data ? ns_sel.data : "<none>");
  kube_strbuf_free(&ns_sel);
  json_object *tols = kube_json_get(tmpl, "spec.tolerations");
  w(t, 1, "Tolerations:\t%s\n",
    tols && json_object_array_length(tols) ? json_object_to_json_string(tols)
                                           : "<none>");
  conditions(t, kube_json_get(o, "status.conditions"), true);
#undef NUM
}

/* "10.1.0.5:8080,10.1.0.6:8080" from the Endpoints of the same name. */
static char *endpoints_of(kube_client_t *c, json_object *svc) {
  const kube_kind_t *ek = kube_kind_by_kind("v1", "Endpoints");
  if (!c || !ek)
    return NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *ep = kube_client_get(c, ek, S(svc, "metadata.namespace"),
                                      S(svc, "metadata.name"), &err);
  if (!ep)
    return NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  json_object *subsets = kube_json_get(kube_object_json(ep), "subsets");
  for (size_t i = 0; subsets && i < json_object_array_length(subsets); i++) {
    json_object *ss = json_object_array_get_idx(subsets, i);
    json_object *addrs = kube_json_get(ss, "addresses"),
                *ports = kube_json_get(ss, "ports");
    for (size_t a = 0; addrs && a < json_object_array_length(addrs); a++)
      for (size_t p = 0; ports && p < json_object_array_length(ports); p++)
        kube_strbuf_printf(&sb, "%s%s:%d", sb.len ? "," : "",
                           S(json_object_array_get_idx(addrs, a), "ip"),
                           json_object_get_int(kube_json_get(
                               json_object_array_get_idx(ports, p), "port")));
  }
  kube_object_free(ep);
  return sb.len ? kube_strbuf_steal(&sb) : (kube_strbuf_free(&sb), NULL);
}

static void describe_service(struct client_tabw *t, kube_client_t *c,
                             json_object *o) {
  name_ns(t, o);
  map_multiline(t, 0, "Labels", kube_json_get(o, "metadata.labels"), "=");
  map_multiline(t, 0, "Annotations", kube_json_get(o, "metadata.annotations"),
                ": ");
  kube_strbuf_t sel = KUBE_STRBUF_INIT;
  labels_inline(&sel, kube_json_get(o, "spec.selector"), ",");
  w(t, 0, "Selector:\t%s\n", sel.data);
  kube_strbuf_free(&sel);
  const char *type = S(o, "spec.type");
  w(t, 0, "Type:\t%s\n", type ? type : "ClusterIP");
  if (S(o, "spec.ipFamilyPolicy"))
    w(t, 0, "IP Family Policy:\t%s\n", S(o, "spec.ipFamilyPolicy"));
  json_object *fams = kube_json_get(o, "spec.ipFamilies");
  if (fams && json_object_array_length(fams) > 0)
    w(t, 0, "IP Families:\t%s\n",
      json_object_get_string(json_object_array_get_idx(fams, 0)));
  w(t, 0, "IP:\t%s\n", or_none(S(o, "spec.clusterIP")));
  json_object *ips = kube_json_get(o, "spec.clusterIPs");
  if (ips && json_object_array_length(ips) > 0)
    w(t, 0, "IPs:\t%s\n",
      json_object_get_string(json_object_array_get_idx(ips, 0)));
  json_object *ports = kube_json_get(o, "spec.ports");
  for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
    json_object *p = json_object_array_get_idx(ports, i),
                *tp = kube_json_get(p, "targetPort");
    json_object *np = kube_json_get(p, "nodePort");
    const char *proto = S(p, "protocol") ? S(p, "protocol") : "TCP";
    w(t, 0, "Port:\t%s\t%d/%s\n",
      S(p, "name") && *S(p, "name") ? S(p, "name") : "<unset>",
      json_object_get_int(kube_json_get(p, "port")), proto);
    if (tp)
      w(t, 0, "TargetPort:\t%s/%s\n", json_object_get_string(tp), proto);
    if (np)
      w(t, 0, "NodePort:\t%s\t%d/%s\n",
        S(p, "name") && *S(p, "name") ? S(p, "name") : "<unset>",
        json_object_get_int(np), proto);
  }
  char *eps = endpoints_of(c, o);
  w(t, 0, "Endpoints:\t%s\n", eps ? eps : "<none>");
  free(eps);
  w(t, 0, "Session Affinity:\t%s\n",
    S(o, "spec.sessionAffinity") ? S(o, "spec.sessionAffinity") : "None");
  if (S(o, "spec.externalTrafficPolicy"))
    w(t, 0, "External Traffic Policy:\t%s\n",
      S(o, "spec.externalTrafficPolicy"));
  if (S(o, "spec.internalTrafficPolicy"))
    w(t, 0, "Internal Traffic Policy:\t%s\n",
      S(o, "spec.internalTrafficPolicy"));
}

static void quantity_map(struct client_tabw *t, const char *title,
                         json_object *m) {
  if (!m)
    return;
  w(t, 0, "%s:\n", title);
  json_object_object_foreach(m, k, v)
      w(t, 1, "%s:\t%s\n", k, json_object_get_string(v));
}

static void describe_node(struct client_tabw *t, json_object *o) {
  char tb[64];
  w(t, 0, "Name:\t%s\n", S(o, "metadata.name"));
  kube_strbuf_t roles = KUBE_STRBUF_INIT;
  json_object *labels = kube_json_get(o, "metadata.labels");
  if (labels) {
    json_object_object_foreach(labels, lk, lv) {
      (void)lv;
      if (str_has_prefix(lk, "node-role.kubernetes.io/"))
        kube_strbuf_printf(&roles, "%s%s", roles.len ? "," : "", lk + 24);
    }
  }
  w(t, 0, "Roles:\t%s\n", roles.len ? roles.data : "<none>");
  kube_strbuf_free(&roles);
  map_multiline(t, 0, "Labels", labels, "=");
  map_multiline(t, 0, "Annotations", kube_json_get(o, "metadata.annotations"),
                ": ");
  w(t, 0, "CreationTimestamp:\t%s\n",
    when(S(o, "metadata.creationTimestamp"), tb, sizeof tb));
  json_object *taints = kube_json_get(o, "spec.taints");
  if (!taints || json_object_array_length(taints) == 0)
    w(t, 0, "Taints:\t<none>\n");
  for (size_t i = 0; taints && i < json_object_array_length(taints); i++) {
    json_object *x = json_object_array_get_idx(taints, i);
    const char *v = S(x, "value");
    w(t, 0, "%s\t%s%s%s:%s\n", i ? "" : "Taints:", S(x, "key"),
      v && *v ? "=" : "", v ? v : "", S(x, "effect"));
  }
  json_object *un = kube_json_get(o, "spec.unschedulable");
  w(t, 0, "Unschedulable:\t%s\n",
    un && json_object_get_boolean(un) ? "true" : "false");
  json_object *conds = kube_json_get(o, "status.conditions");
  if (conds && json_object_array_length(conds) > 0) {
    w(t, 0, "Conditions:\n");
    w(t, 1,
      "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
    w(t, 1,
      "----\t------\t-----------------\t------------------\t------\t-------\n");
    for (size_t i = 0; i < json_object_array_length(conds); i++) {
      json_object *c = json_object_array_get_idx(conds, i);
      char t1[64], t2[64];
      w(t, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", S(c, "type"), S(c, "status"),
        when(S(c, "lastHeartbeatTime"), t1, sizeof t1),
        when(S(c, "lastTransitionTime"), t2, sizeof t2),
        S(c, "reason") ? S(c, "reason") : "",
        S(c, "message") ? S(c, "message") : "");
    }
  }
  json_object *addrs = kube_json_get(o, "status.addresses");
  if (addrs) {
    w(t, 0, "Addresses:\n");
    for (size_t i = 0; i < json_object_array_length(addrs); i++) {
      json_object *a = json_object_array_get_idx(addrs, i);
      w(t, 1, "%s:\t%s\n", S(a, "type"), S(a, "address"));
    }
  }
  quantity_map(t, "Capacity", kube_json_get(o, "status.capacity"));
  quantity_map(t, "Allocatable", kube_json_get(o, "status.allocatable"));
  json_object *ni = kube_json_get(o, "status.nodeInfo");
  if (ni) {
    static const char *const fields[][2] = {
        {"Machine ID", "machineID"},
        {"System UUID", "systemUUID"},
        {"Boot ID", "bootID"},
        {"Kernel Version", "kernelVersion"},
        {"OS Image", "osImage"},
        {"Operating System", "operatingSystem"},
        {"Architecture", "architecture"},
        {"Container Runtime Version", "containerRuntimeVersion"},
        {"Kubelet Version", "kubeletVersion"},
        {"Kube-Proxy Version", "kubeProxyVersion"}};
    w(t, 0, "System Info:\n");
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
      w(t, 1, "%s:\t%s\n", fields[i][0],
        S(ni, fields[i][1]) ? S(ni, fields[i][1]) : "");
  }
  if (S(o, "spec.podCIDR"))
    w(t, 0, "PodCIDR:\t%s\n", S(o, "spec.podCIDR"));
}

static void describe_namespace(struct client_tabw *t, json_object *o) {
  w(t, 0, "Name:\t%s\n", S(o, "metadata.name"));
  map_multiline(t, 0, "Labels", kube_json_get(o, "metadata.labels"), "=");
  map_multiline(t, 0, "Annotations", kube_json_get(o, "metadata.annotations"),
                ": ");
  w(t, 0, "Status:\t%s\n",
    S(o, "status.phase") ? S(o, "status.phase") : "Active");
  w(t, 0, "\nNo resource quota.\n\nNo LimitRange resource.\n");
}

/* Other kinds: kubectl's generic describer walks the fields. */
static void generic_value(struct client_tabw *t, int level, const char *key,
                          json_object *v) {
  if (v && json_object_is_type(v, json_type_object)) {
    w(t, level, "%s:\n", key);
    json_object_object_foreach(v, k, val) generic_value(t, level + 1, k, val);
  } else if (v && json_object_is_type(v, json_type_array)) {
    w(t, level, "%s:\n", key);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);
      if (json_object_is_type(e, json_type_object)) {
        json_object_object_foreach(e, k, val)
            generic_value(t, level + 1, k, val);
      } else {
        w(t, level + 1, "%s\n", json_object_get_string(e));
      }
    }
  } else {
    w(t, level, "%s:\t%s\n", key, v ? json_object_get_string(v) : "<nil>");
  }
}

static void describe_generic(struct client_tabw *t, json_object *o) {
  name_ns(t, o);
  map_multiline(t, 0, "Labels", kube_json_get(o, "metadata.labels"), "=");
  map_multiline(t, 0, "Annotations", kube_json_get(o, "metadata.annotations"),
                ": ");
  w(t, 0, "API Version:\t%s\n", S(o, "apiVersion") ? S(o, "apiVersion") : "");
  w(t, 0, "Kind:\t%s\n", S(o, "kind") ? S(o, "kind") : "");
  json_object_object_foreach(o, k, v) {
    if (streq(k, "apiVersion") || streq(k, "kind") || streq(k, "metadata"))
      continue;
    generic_value(t, 0, k, v);
  }
}

static void events(struct client_tabw *t, kube_client_t *c, json_object *o,
                   time_t now) {
  const char *name = S(o, "metadata.name"), *ns = S(o, "metadata.namespace");
  const char *uid = S(o, "metadata.uid");
  kube_strbuf_t fs = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&fs, "involvedObject.name=%s", name ? name : "");
  if (ns)
    kube_strbuf_printf(&fs, ",involvedObject.namespace=%s", ns);
  if (uid)
    kube_strbuf_printf(&fs, ",involvedObject.uid=%s", uid);
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .field_selector = fs.data};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  const kube_kind_t *ek = kube_kind_by_kind("v1", "Event");
  kube_object_t *list =
      ek && c ? kube_client_list(c, ek, ns ? ns : "default", &lo, &err) : NULL;
  kube_strbuf_free(&fs);
  json_object *items =
      list ? kube_json_get(kube_object_json(list), "items") : NULL;
  if (!items || json_object_array_length(items) == 0) {
    w(t, 0, "Events:\t<none>\n");
    kube_object_free(list);
    return;
  }
  w(t, 0, "Events:\n");
  w(t, 1, "Type\tReason\tAge\tFrom\tMessage\n");
  w(t, 1, "----\t------\t----\t----\t-------\n");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *e = json_object_array_get_idx(items, i);
    const char *ts = S(e, "lastTimestamp");
    if (!ts)
      ts = S(e, "eventTime");
    if (!ts)
      ts = S(e, "metadata.creationTimestamp");
    struct timespec tsp = {0};
    char age[32] = "<unknown>";
    if (ts && kube_time_parse(ts, &tsp, NULL) == 0)
      kube_time_age(tsp.tv_sec, now, age, sizeof age);
    json_object *count = kube_json_get(e, "count");
    char agebuf[96];
    const char *first = S(e, "firstTimestamp");
    if (count && json_object_get_int(count) > 1 && first &&
        kube_time_parse(first, &tsp, NULL) == 0) {
      char over[32];
      kube_time_age(tsp.tv_sec, now, over, sizeof over);
      snprintf(agebuf, sizeof agebuf, "%s (x%d over %s)", age,
               json_object_get_int(count), over);
    } else {
      snprintf(agebuf, sizeof agebuf, "%s", age);
    }
    const char *from = S(e, "source.component");
    if (!from)
      from = S(e, "reportingComponent");
    const char *msg = S(e, "message");
    w(t, 1, "%s\t%s\t%s\t%s\t%s\n", S(e, "type") ? S(e, "type") : "",
      S(e, "reason") ? S(e, "reason") : "", agebuf, from ? from : "",
      msg ? msg : "");
  }
  kube_object_free(list);
}

KUBE_EXPORT char *kube_describe_object(kube_client_t *c, const kube_kind_t *k,
                                       const kube_object_t *obj,
                                       const kube_describe_options_t *opts,
                                       kube_error_t *err) {
  kube_describe_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  json_object *root = kube_object_json(obj);
  if (!k)
    k = kube_kind_of_object(obj, err);
  if (!k)
    return NULL;
  if (!json_object_is_type(root, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "cannot describe a non-object"),
           NULL;
  struct client_tabw t;
  client_tabw_init(&t, 0, 2);
  if (streq(k->kind, "Pod"))
    describe_pod(&t, root);
  else if (streq(k->kind, "Deployment"))
    describe_deployment(&t, root);
  else if (streq(k->kind, "Service"))
    describe_service(&t, c, root);
  else if (streq(k->kind, "Node"))
    describe_node(&t, root);
  else if (streq(k->kind, "Namespace"))
    describe_namespace(&t, root);
  else
    describe_generic(&t, root);
  if (!streq(k->kind, "Namespace") && !streq(k->kind, "Event"))
    events(&t, c, root, o.now ? o.now : time(NULL));
  bool oom = t.text.oom;
  char *s = client_tabw_render(&t);
  if (!s || oom) {
    free(s);
    return kube_make_oom(err), NULL;
  }
  return s;
}
