/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure part of probes and lifecycle hooks: reading a handler (exec,
 * httpGet, tcpSocket, grpc, sleep) and a probe's timing from the
 * container spec, and the kubelet's per-probe state machine (prober
 * worker.doProbe): initial results per probe type, success and failure
 * runs against their thresholds, the hold after a liveness or startup
 * failure until a new container instance, and which probe may run when
 * (initialDelaySeconds, startup gating, graceful deletion).
 */
#include <ctype.h>

#include "node/agent.h"

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

void nd_handler_clear(struct nd_handler *h) {
  strv_free(h->command, h->n_command);
  strv_free(h->headers, h->n_headers);
  free(h->scheme);
  free(h->host);
  free(h->path);
  free(h->service);
  free(h->port_error);
  memset(h, 0, sizeof *h);
}

void nd_probe_spec_clear(struct nd_probe_spec *s) {
  nd_handler_clear(&s->h);
  memset(s, 0, sizeof *s);
}

int nd_handler_copy(struct nd_handler *dst, const struct nd_handler *src) {
  memset(dst, 0, sizeof *dst);
  dst->kind = src->kind;
  dst->port = src->port;
  dst->sleep_s = src->sleep_s;
  bool oom = false;
#define DUP(f)                                                                 \
  do {                                                                         \
    if (src->f && !(dst->f = strdup(src->f)))                                  \
      oom = true;                                                              \
  } while (0)
  DUP(scheme);
  DUP(host);
  DUP(path);
  DUP(service);
  DUP(port_error);
#undef DUP
  dst->command = calloc(src->n_command + 1, sizeof(char *));
  dst->headers = calloc(src->n_headers + 1, sizeof(char *));
  if (!dst->command || !dst->headers)
    oom = true;
  for (size_t i = 0; !oom && i < src->n_command; i++)
    if (!(dst->command[dst->n_command++] = strdup(src->command[i])))
      oom = true;
  for (size_t i = 0; !oom && i < src->n_headers; i++)
    if (!(dst->headers[dst->n_headers++] = strdup(src->headers[i])))
      oom = true;
  if (oom) {
    nd_handler_clear(dst);
    return -1;
  }
  return 0;
}

/* A port by number, or by the name of one of the container's ports
 * (kubelet's probe.ResolveContainerPort / resolvePort). */
static void resolve_port(json_object *port, json_object *ctr,
                         struct nd_handler *h) {
  if (!port) {
    h->port_error = strdup("missing port");
    return;
  }
  if (json_object_is_type(port, json_type_int)) {
    h->port = json_object_get_int(port);
  } else {
    const char *name = json_object_get_string(port);
    char *end = NULL;
    long n = name && *name ? strtol(name, &end, 10) : -1;
    if (end && !*end) {
      h->port = (int)n;
    } else {
      json_object *ports = kube_json_get(ctr, "ports");
      for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
        json_object *p = json_object_array_get_idx(ports, i);
        const char *pn = kube_json_get_string(p, "name");
        json_object *cp = kube_json_get(p, "containerPort");
        if (pn && name && streq(pn, name) && cp) {
          h->port = json_object_get_int(cp);
          return;
        }
      }
      if (asprintf(&h->port_error, "couldn't find port: %s in %s",
                   name ? name : "", "container's ports") < 0)
        h->port_error = NULL;
      return;
    }
  }
  if (h->port <= 0 || h->port > 65535) {
    if (asprintf(&h->port_error, "invalid port number: %d", h->port) < 0)
      h->port_error = NULL;
  }
}

static char **strv_of(json_object *arr, size_t *n) {
  size_t len = arr ? json_object_array_length(arr) : 0;
  char **v = calloc(len + 1, sizeof *v);
  *n = 0;
  for (size_t i = 0; v && i < len; i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
    if (!(v[*n] = strdup(s ? s : ""))) {
      strv_free(v, *n);
      return NULL;
    }
    (*n)++;
  }
  return v;
}

int nd_handler_parse(json_object *obj, json_object *ctr, struct nd_handler *h,
                     kube_error_t *err) {
  memset(h, 0, sizeof *h);
  json_object *x;
  if ((x = kube_json_get(obj, "exec"))) {
    h->kind = ND_H_EXEC;
    h->command = strv_of(kube_json_get(x, "command"), &h->n_command);
    if (!h->command)
      return kube_make_oom(err);
    if (!h->n_command)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "exec: no command specified");
  } else if ((x = kube_json_get(obj, "httpGet"))) {
    h->kind = ND_H_HTTP;
    const char *scheme = kube_json_get_string(x, "scheme");
    const char *host = kube_json_get_string(x, "host");
    const char *path = kube_json_get_string(x, "path");
    h->scheme = strdup(scheme && *scheme ? scheme : "HTTP");
    h->host = host && *host ? strdup(host) : NULL;
    /* the kubelet's url.URL{Path: path}: a path without '/' gets one */
    if (asprintf(&h->path, "%s%s", path && *path == '/' ? "" : "/",
                 path ? path : "") < 0)
      h->path = NULL;
    json_object *hdrs = kube_json_get(x, "httpHeaders");
    size_t n = hdrs ? json_object_array_length(hdrs) : 0;
    h->headers = calloc(2 * n + 1, sizeof(char *));
    if (!h->scheme || !h->path || !h->headers)
      return kube_make_oom(err);
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(hdrs, i);
      const char *k = kube_json_get_string(e, "name");
      const char *v = kube_json_get_string(e, "value");
      if (!k || !*k)
        continue;
      h->headers[h->n_headers++] = strdup(k);
      h->headers[h->n_headers++] = strdup(v ? v : "");
    }
    for (size_t i = 0; i < h->n_headers; i++)
      if (!h->headers[i])
        return kube_make_oom(err);
    if (strcasecmp(h->scheme, "HTTP") != 0 &&
        strcasecmp(h->scheme, "HTTPS") != 0)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "unsupported scheme \"%s\"", h->scheme);
    resolve_port(kube_json_get(x, "port"), ctr, h);
  } else if ((x = kube_json_get(obj, "tcpSocket"))) {
    h->kind = ND_H_TCP;
    const char *host = kube_json_get_string(x, "host");
    h->host = host && *host ? strdup(host) : NULL;
    resolve_port(kube_json_get(x, "port"), ctr, h);
  } else if ((x = kube_json_get(obj, "grpc"))) {
    h->kind = ND_H_GRPC;
    const char *svc = kube_json_get_string(x, "service");
    h->service = strdup(svc ? svc : "");
    if (!h->service)
      return kube_make_oom(err);
    resolve_port(kube_json_get(x, "port"), ctr, h);
  } else if ((x = kube_json_get(obj, "sleep"))) {
    h->kind = ND_H_SLEEP;
    json_object *s = kube_json_get(x, "seconds");
    h->sleep_s = s ? json_object_get_int64(s) : 0;
  } else {
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "a handler needs one of exec, httpGet, tcpSocket, "
                          "grpc or sleep");
  }
  return 0;
}

static int int_field(json_object *o, const char *k, int def, int min) {
  json_object *v = kube_json_get(o, k);
  int n = v ? json_object_get_int(v) : def;
  if (v && n == 0 && min > 0)
    n = def; /* the API server's defaulting turns 0 into the default */
  return n < min ? min : n;
}

int nd_probe_spec_parse(json_object *probe, json_object *ctr,
                        struct nd_probe_spec *s, kube_error_t *err) {
  memset(s, 0, sizeof *s);
  if (nd_handler_parse(probe, ctr, &s->h, err) < 0) {
    nd_handler_clear(&s->h);
    return -1;
  }
  if (s->h.kind == ND_H_SLEEP) {
    nd_handler_clear(&s->h);
    return kube_error_set(err, KUBE_REASON_INVALID, 0, "a probe cannot sleep");
  }
  s->initial_delay_s = int_field(probe, "initialDelaySeconds", 0, 0);
  s->period_s = int_field(probe, "periodSeconds", 10, 1);
  s->timeout_s = int_field(probe, "timeoutSeconds", 1, 1);
  s->success_threshold = int_field(probe, "successThreshold", 1, 1);
  s->failure_threshold = int_field(probe, "failureThreshold", 3, 1);
  json_object *g = kube_json_get(probe, "terminationGracePeriodSeconds");
  s->grace_s = g ? json_object_get_int64(g) : -1;
  return 0;
}

const char *nd_probe_type_name(enum nd_probe_type t) {
  static const char *const names[] = {"Startup", "Liveness", "Readiness"};
  return t < ND_PROBE__COUNT ? names[t] : "Unknown";
}

/* kubelet's newWorker: readiness starts as Failure (not ready until a
 * probe succeeds), liveness as Success, startup as Unknown. */
void nd_probe_state_reset(struct nd_probe_state *s, enum nd_probe_type t) {
  s->result = t == ND_PROBE_READINESS  ? ND_PR_FAILURE
              : t == ND_PROBE_LIVENESS ? ND_PR_SUCCESS
                                       : ND_PR_UNKNOWN;
  s->last = ND_PR_UNKNOWN;
  s->run = 0;
  s->on_hold = false;
}

bool nd_probe_state_apply(struct nd_probe_state *s, enum nd_probe_type t,
                          const struct nd_probe_spec *sp,
                          enum nd_probe_result r) {
  if (r == ND_PR_WARNING)
    r = ND_PR_SUCCESS;
  if (r != ND_PR_SUCCESS && r != ND_PR_FAILURE)
    return false; /* an error: the kubelet throws the result away */
  if (s->last == r) {
    s->run++;
  } else {
    s->last = r;
    s->run = 1;
  }
  if ((r == ND_PR_FAILURE && s->run < sp->failure_threshold) ||
      (r == ND_PR_SUCCESS && s->run < sp->success_threshold))
    return false;
  bool changed = s->result != r;
  s->result = r;
  if ((t == ND_PROBE_LIVENESS || t == ND_PROBE_STARTUP) && r == ND_PR_FAILURE) {
    /* the container will be restarted: no probing until a new one */
    s->on_hold = true;
    s->run = 0;
    changed = true;
  }
  return changed;
}

enum nd_probe_step nd_probe_step(enum nd_probe_type t, struct nd_probe_state *s,
                                 const struct nd_probe_spec *sp,
                                 const struct nd_probe_view *v,
                                 int64_t *wait_ms) {
  *wait_ms = (int64_t)sp->period_s * 1000;
  if (v->terminal)
    return ND_STEP_STOP;
  if (s->on_hold)
    return ND_STEP_WAIT;
  if (!v->running) {
    /* a container that is not running fails (readiness) */
    if (v->has_instance)
      s->result = t == ND_PROBE_LIVENESS ? ND_PR_SUCCESS : ND_PR_FAILURE;
    return ND_STEP_WAIT;
  }
  if (v->deleting && (t == ND_PROBE_LIVENESS || t == ND_PROBE_STARTUP)) {
    s->result = ND_PR_SUCCESS;
    return ND_STEP_STOP;
  }
  int64_t delay = (int64_t)sp->initial_delay_s * 1000 - v->running_for_ms;
  if (delay > 0) {
    *wait_ms = delay;
    return ND_STEP_WAIT;
  }
  if (v->started ? t == ND_PROBE_STARTUP : t != ND_PROBE_STARTUP)
    return ND_STEP_WAIT;
  return ND_STEP_RUN;
}

/* "[sh -c exit 1]": Go's %v of a string slice. */
char *nd_go_strv(char *const *v, size_t n, const char *sep, bool brackets) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (brackets)
    kube_strbuf_printf(&sb, "[");
  for (size_t i = 0; i < n; i++)
    kube_strbuf_printf(&sb, "%s%s", i ? sep : "", v[i]);
  if (brackets)
    kube_strbuf_printf(&sb, "]");
  return kube_strbuf_steal(&sb);
}
