/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `kubectl cordon|uncordon|drain` do (k8s.io/kubectl/pkg/drain), with
 * kubectl's wording, over the synchronous client: spec.unschedulable by a
 * strategic merge patch; the node's pods sorted by kubectl's filters
 * (mirror pods skipped, DaemonSet pods ignored or refused, local storage
 * and pods without a controller refused unless told), then each evicted
 * (POST pods/NAME/eviction; a 429 of a disruption budget is retried every
 * 5 s) or deleted, and waited for until it is gone or replaced; the whole
 * within the timeout.  One client, one thread: the pods are taken in
 * rounds rather than by a goroutine each.
 */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"
#define RETRY_NS (5LL * 1000000000)

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void say(const kube_drain_options_t *o, bool to_err, const char *fmt,
                ...) KUBE_PRINTF(3, 4);
static void say(const kube_drain_options_t *o, bool to_err, const char *fmt,
                ...) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  va_list ap;
  if (!o || !o->print)
    return;
  va_start(ap, fmt);
  kube_strbuf_vprintf(&sb, fmt, ap);
  va_end(ap);
  if (sb.data && !sb.oom)
    o->print(to_err, sb.data, o->arg);
  kube_strbuf_clear(&sb);
}

KUBE_EXPORT int kube_node_cordon(kube_client_t *c, const char *name,
                                 bool unschedulable, bool dry_run,
                                 bool *changed, kube_error_t *err) {
  const kube_kind_t *nk = kube_kind_by_resource("", "v1", "nodes");
  kube_object_t *node = kube_client_get(c, nk, NULL, name, err);
  if (!node)
    return -1;
  json_object *u = kube_json_get(kube_object_json(node), "spec.unschedulable");
  bool is = u && json_object_get_boolean(u);
  kube_object_free(node);
  *changed = is != unschedulable;
  if (!*changed || dry_run)
    return 0;
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .grace_period = -1};
  kube_object_t *res = kube_client_patch(
      c, nk, NULL, name, NULL, KUBE_PATCH_STRATEGIC,
      unschedulable ? "{\"spec\":{\"unschedulable\":true}}"
                    : "{\"spec\":{\"unschedulable\":null}}",
      &wo, err);
  if (!res)
    return -1;
  kube_object_free(res);
  return 0;
}

/* ---- the pods of the node ---- */

enum verdict { POD_DELETE, POD_SKIP, POD_WARN, POD_ERROR };

/* kubectl's filters, in its order; *why names the group a pod joins. */
static enum verdict filter_pod(kube_client_t *c, json_object *pod,
                               const kube_drain_options_t *o,
                               const char **why) {
  json_object *meta = kube_json_get(pod, "metadata");
  const char *phase = kube_json_get_string(pod, "status.phase");
  bool finished = phase && (streq(phase, "Succeeded") || streq(phase, "Failed"));
  json_object *ann = kube_json_get(meta, "annotations");
  if (ann && json_object_object_get_ex(ann, MIRROR_ANNOTATION, NULL))
    return POD_SKIP;
  json_object *refs = kube_json_get(meta, "ownerReferences");
  json_object *ctrl = NULL;
  for (size_t i = 0; json_object_is_type(refs, json_type_array) &&
                     i < json_object_array_length(refs);
       i++) {
    json_object *r = json_object_array_get_idx(refs, i);
    json_object *cv = kube_json_get(r, "controller");
    if (cv && json_object_get_boolean(cv))
      ctrl = r;
  }
  const char *ckind = ctrl ? kube_json_get_string(ctrl, "kind") : NULL;
  if (ckind && streq(ckind, "DaemonSet") && !finished) {
    kube_error_t e = KUBE_ERROR_INIT;
    kube_object_t *ds = kube_client_get(
        c, kube_kind_by_resource("apps", "v1", "daemonsets"),
        kube_json_get_string(meta, "namespace"),
        kube_json_get_string(ctrl, "name"), &e);
    bool missing = !ds && e.reason == KUBE_REASON_NOT_FOUND;
    kube_object_free(ds);
    kube_error_clear(&e);
    if (missing && o->force) {
      *why = "deleting Pods that declare no controller";
      return POD_WARN;
    }
    if (!o->ignore_daemonsets) {
      *why = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)";
      return POD_ERROR;
    }
    *why = "ignoring DaemonSet-managed Pods";
    return POD_SKIP;
  }
  bool warned = false;
  json_object *vols = kube_json_get(pod, "spec.volumes");
  for (size_t i = 0; !finished && json_object_is_type(vols, json_type_array) &&
                     i < json_object_array_length(vols);
       i++)
    if (kube_json_get(json_object_array_get_idx(vols, i), "emptyDir")) {
      if (!o->delete_emptydir_data) {
        *why = "Pods with local storage (use --delete-emptydir-data to "
               "override)";
        return POD_ERROR;
      }
      *why = "deleting Pods with local storage";
      warned = true;
      break;
    }
  if (!ctrl && !finished) {
    if (!o->force) {
      *why = "Pods that declare no controller (use --force to override)";
      return POD_ERROR;
    }
    *why = "deleting Pods that declare no controller";
    return POD_WARN;
  }
  return warned ? POD_WARN : POD_DELETE;
}

/* Groups of pod names under one message ("ignoring DaemonSet-managed
 * Pods: default/a, default/b"), in the order met. */
struct groups {
  const char *why[8];
  kube_strbuf_t names[8];
  size_t n;
};

static void group_add(struct groups *g, const char *why, const char *ns,
                      const char *name) {
  size_t i = 0;
  while (i < g->n && !streq(g->why[i], why))
    i++;
  if (i == g->n) {
    if (g->n == ARRAY_SIZE(g->why))
      return;
    g->why[g->n] = why;
    g->names[g->n] = (kube_strbuf_t)KUBE_STRBUF_INIT;
    g->n++;
  }
  kube_strbuf_printf(&g->names[i], "%s%s/%s", g->names[i].len ? ", " : "", ns,
                     name);
}

/* "a: x, y; b: z" (owned) */
static char *groups_text(struct groups *g) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < g->n; i++)
    kube_strbuf_printf(&sb, "%s%s: %s", i ? "; " : "", g->why[i],
                       g->names[i].data ? g->names[i].data : "");
  return sb.data ? sb.data : strdup("");
}

static void groups_clear(struct groups *g) {
  for (size_t i = 0; i < g->n; i++)
    kube_strbuf_clear(&g->names[i]);
  g->n = 0;
}

/* ---- eviction and deletion ---- */

struct victim {
  char *ns, *name, *uid;
  bool asked;   /* evicted or deleted: waiting for it to go */
  bool done;    /* gone */
  int64_t next; /* when to ask again (a 429) */
};

/* Evict (or delete) one pod: 0 asked, 1 to retry later (429), -1 err. */
static int ask(kube_client_t *c, struct victim *v,
               const kube_drain_options_t *o, kube_error_t *err) {
  const kube_kind_t *pk = kube_kind_by_resource("", "v1", "pods");
  kube_error_t e = KUBE_ERROR_INIT;
  int rc = 0;
  if (o->disable_eviction) {
    kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                      .grace_period = o->grace_period};
    rc = kube_client_delete(c, pk, v->ns, v->name, &wo, NULL, &e);
  } else {
    cleanup_free char *path = kube_client_path(pk, v->ns, v->name, "eviction");
    kube_strbuf_t body = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&body,
                       "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\","
                       "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"}",
                       v->name, v->ns);
    if (o->grace_period >= 0)
      kube_strbuf_printf(&body, ",\"deleteOptions\":{\"gracePeriodSeconds\":%lld}",
                         (long long)o->grace_period);
    kube_strbuf_append(&body, "}");
    kube_client_request_t req = {.struct_size = sizeof req,
                                 .method = "POST",
                                 .path = path,
                                 .content_type = "application/json",
                                 .body = body.data,
                                 .body_len = body.len};
    kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
    rc = kube_client_request(c, &req, &resp, &e);
    if (rc == 0)
      rc = kube_client_check(&resp, &e);
    kube_client_response_clear(&resp);
    kube_strbuf_clear(&body);
  }
  if (rc == 0 || e.reason == KUBE_REASON_NOT_FOUND) {
    kube_error_clear(&e);
    return 0;
  }
  if (e.reason == KUBE_REASON_TOO_MANY_REQUESTS) {
    say(o, true,
        "error when evicting pods/\"%s\" -n \"%s\" (will retry after 5s): %s",
        v->name, v->ns, e.message ? e.message : "");
    kube_error_clear(&e);
    return 1;
  }
  kube_error_set(err, e.reason, 0, "error when %s pods/\"%s\" -n \"%s\": %s",
                 o->disable_eviction ? "deleting" : "evicting", v->name, v->ns,
                 e.message ? e.message : "");
  kube_error_clear(&e);
  return -1;
}

/* Gone, or replaced by a pod of the same name (another uid)? */
static bool gone(kube_client_t *c, struct victim *v) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_object_t *p = kube_client_get(
      c, kube_kind_by_resource("", "v1", "pods"), v->ns, v->name, &e);
  bool g = !p && e.reason == KUBE_REASON_NOT_FOUND;
  if (p)
    g = !streq(kube_object_uid(p) ? kube_object_uid(p) : "", v->uid);
  kube_object_free(p);
  kube_error_clear(&e);
  return g;
}

/* The error of kubectl's global timeout: one per pod left, as its
 * aggregate prints them ("[a, b]", or the one message), each also a
 * cause. */
static void timed_out(struct victim *v, size_t n, size_t left,
                      const kube_drain_options_t *o, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char **msgs = calloc(left + 1, sizeof *msgs);
  size_t m = 0;
  for (size_t i = 0; msgs && i < n; i++)
    if (!v[i].done &&
        asprintf(&msgs[m], "error when %s pods/\"%s\" -n \"%s\": global "
                           "timeout reached: %llds",
                 o->disable_eviction ? "deleting" : "evicting", v[i].name,
                 v[i].ns, (long long)(o->timeout_ms / 1000)) >= 0)
      kube_strbuf_printf(&sb, "%s%s", m ? ", " : "", msgs[m]), m++;
  if (m > 1)
    kube_error_set(err, KUBE_REASON_TIMEOUT, 0, "[%s]", sb.data);
  else
    kube_error_set(err, KUBE_REASON_TIMEOUT, 0, "%s", sb.data ? sb.data : "");
  for (size_t i = 0; i < m; i++) {
    kube_error_add_cause(err, NULL, "Timeout", msgs[i]);
    free(msgs[i]);
  }
  free(msgs);
  kube_strbuf_clear(&sb);
}

static int take_pods(kube_client_t *c, struct victim *v, size_t n,
                     const kube_drain_options_t *o, kube_error_t *err) {
  int64_t start = mono_ns();
  int64_t limit = o->timeout_ms > 0 ? start + o->timeout_ms * 1000000 : 0;
  size_t left = n;
  for (size_t i = 0; i < n; i++)
    say(o, false, "%s pod %s/%s",
        o->disable_eviction ? "deleting" : "evicting", v[i].ns, v[i].name);
  while (left) {
    int64_t now = mono_ns();
    if (limit && now >= limit) {
      timed_out(v, n, left, o, err);
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      if (v[i].done)
        continue;
      if (!v[i].asked && now >= v[i].next) {
        int rc = ask(c, &v[i], o, err);
        if (rc < 0)
          return -1;
        if (rc == 1)
          v[i].next = mono_ns() + RETRY_NS;
        else
          v[i].asked = true;
      }
      if (v[i].asked && gone(c, &v[i])) {
        v[i].done = true;
        left--;
        say(o, false, "pod/%s %s", v[i].name,
            o->disable_eviction ? "deleted" : "evicted");
      }
    }
    if (left)
      usleep(200 * 1000);
  }
  return 0;
}

KUBE_EXPORT int kube_drain_node(kube_client_t *c, const char *node,
                                const kube_drain_options_t *o,
                                kube_error_t *err) {
  const kube_kind_t *pk = kube_kind_by_resource("", "v1", "pods");
  cleanup_free char *fs = NULL;
  if (asprintf(&fs, "spec.nodeName=%s", node) < 0)
    return kube_make_oom(err);
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = o->pod_selector,
                                   .field_selector = fs};
  kube_object_t *list = kube_client_list(c, pk, NULL, &lo, err);
  if (!list)
    return -1;
  json_object *items = kube_json_get(kube_object_json(list), "items");
  size_t n = json_object_is_type(items, json_type_array)
                 ? json_object_array_length(items)
                 : 0;
  struct victim *v = calloc(n + 1, sizeof *v);
  struct groups warn = {0}, bad = {0};
  size_t nv = 0;
  int rc = -1;
  if (!v) {
    kube_make_oom(err);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *pod = json_object_array_get_idx(items, i);
    const char *ns = kube_json_get_string(pod, "metadata.namespace");
    const char *name = kube_json_get_string(pod, "metadata.name");
    const char *why = NULL;
    enum verdict vd = filter_pod(c, pod, o, &why);
    if (vd == POD_ERROR) {
      group_add(&bad, why, ns, name);
      continue;
    }
    if (why)
      group_add(&warn, why, ns, name);
    if (vd == POD_SKIP)
      continue;
    v[nv].ns = strdup(ns ? ns : "");
    v[nv].name = strdup(name ? name : "");
    v[nv].uid =
        strdup(kube_json_get_string(pod, "metadata.uid") ?: "");
    nv++;
  }
  if (bad.n) {
    cleanup_free char *text = groups_text(&bad);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "cannot delete %s", text);
    goto out;
  }
  if (warn.n) {
    cleanup_free char *text = groups_text(&warn);
    say(o, true, "Warning: %s", text);
  }
  rc = take_pods(c, v, nv, o, err);
  if (rc < 0) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    for (size_t i = 0; i < nv; i++)
      if (!v[i].done)
        kube_strbuf_printf(&sb, "\npod/%s", v[i].name);
    say(o, true,
        "There are pending pods in node \"%s\" when an error occurred: %s%s",
        node, err->message ? err->message : "", sb.data ? sb.data : "");
    kube_strbuf_clear(&sb);
  }
out:
  for (size_t i = 0; v && i < nv; i++) {
    free(v[i].ns);
    free(v[i].name);
    free(v[i].uid);
  }
  free(v);
  groups_clear(&warn);
  groups_clear(&bad);
  kube_object_free(list);
  return rc;
}
