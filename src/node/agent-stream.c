/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's answer to its streaming server: which runtime container, log
 * files and network namespace a logs/exec/attach/port-forward request for
 * one of its pods means, decided from what the agent itself tracks (the
 * kubelet's GetContainerLogs / GetExec / GetPortForward checks, with its
 * wording).  The API server has already checked the pod object; the agent
 * may not have seen it yet (informer lag) or already torn it down, which
 * is NotFound.
 */
#include <unistd.h>

#include "node/agent.h"

/* The incarnation of ns/name the request means: the one with the UID the
 * request named, else the live one (a re-created pod's old incarnation
 * may still be terminating). */
static struct nd_pod *find_pod(kube_node_agent_t *a,
                               const kube_node_stream_query_t *q) {
  struct nd_pod *best = NULL;
  for (size_t i = 0; i < a->n_pods; i++) {
    struct nd_pod *p = a->pods_v[i];
    if (!streq(p->ns, q->namespace_) || !streq(p->name, q->pod))
      continue;
    if (q->pod_uid && *q->pod_uid && !streq(p->uid, q->pod_uid))
      continue;
    if (!best || (best->api_gone && !p->api_gone))
      best = p;
  }
  return best;
}

static int dup_into(char **dst, const char *src, kube_error_t *err) {
  if (!src)
    return 0;
  return (*dst = strdup(src)) ? 0 : kube_make_oom(err);
}

/* The init containers are done and the sidecars run. */
static bool initialized(const struct nd_pod *p) {
  for (size_t i = 0; i < p->n_ctrs; i++) {
    const struct nd_ctr *c = &p->ctrs[i];
    bool run = c->has_cur && c->cur.state == ND_RUNNING;
    bool ok = c->has_cur && c->cur.state == ND_EXITED && c->cur.exit_code == 0;
    if ((c->kind == ND_SIDECAR && !run) || (c->kind == ND_INIT && !ok))
      return false;
  }
  return true;
}

/* Logs: the kubelet's validateContainerLogStatus over the agent's
 * instances (current = state, the restarting or previous one =
 * lastState). */
static int resolve_logs(struct nd_pod *p,
                        const struct nd_ctr *c,
                        const kube_node_stream_query_t *q,
                        kube_node_stream_target_t *out, kube_error_t *err) {
  json_object *spec = p->last ? nd_spec(p->last) : NULL;
  const struct nd_instance *last = nd_ctr_last_terminated(p, spec, c);
  const struct nd_instance *cur = c->has_cur ? &c->cur : NULL;
  if (last && last->log_path && dup_into(&out->previous_log_path,
                                         last->log_path, err) < 0)
    return -1;
  if (q->previous) {
    if (!last || !last->id)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "previous terminated container \"%s\" in pod "
                            "\"%s\" not found",
                            c->name, p->name);
    return 0;
  }
  /* An instance that failed before it was created has no log: the one
   * before it, as the kubelet falls back to lastState. */
  if (cur && !cur->id)
    cur = last && last->id ? last : NULL;
  if (cur && cur->log_path) {
    if (dup_into(&out->log_path, cur->log_path, err) < 0 ||
        (cur->state != ND_EXITED &&
         dup_into(&out->container_id, cur->id, err) < 0))
      return -1;
    return 0;
  }
  if (c->has_cur)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "container \"%s\" in pod \"%s\" is terminated",
                          c->name, p->name);
  const char *reason = c->waiting_reason ? c->waiting_reason
                       : c->kind == ND_APP && !initialized(p)
                           ? "PodInitializing"
                           : "ContainerCreating";
  if (streq(reason, "ErrImagePull"))
    reason = "image can't be pulled";
  else if (streq(reason, "ImagePullBackOff"))
    reason = "trying and failing to pull image";
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "container \"%s\" in pod \"%s\" is waiting to "
                        "start: %s",
                        c->name, p->name, reason);
}

static int resolve(kube_node_agent_t *a, const kube_node_stream_query_t *q,
                   kube_node_stream_target_t *out, kube_error_t *err) {
  bool logs = q->op == KUBE_NODE_STREAM_LOGS;
  struct nd_pod *p = find_pod(a, q);
  if (!p || p->term >= ND_TERM_TORN_DOWN) {
    if (logs)
      return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                            "pod \"%s\" does not exist", q->pod);
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "pod does not exist");
  }
  if (dup_into(&out->pod_uid, p->uid, err) < 0)
    return -1;
  if (q->op == KUBE_NODE_STREAM_PORTFORWARD) {
    if (p->sandbox != ND_SB_READY)
      return 0; /* the server answers "pod not found" */
    if (p->netns)
      return dup_into(&out->netns_path, p->netns, err);
    /* hostNetwork: the node's own namespace, this process's. */
    char self[64];
    snprintf(self, sizeof self, "/proc/%d/ns/net", (int)getpid());
    return dup_into(&out->netns_path, self, err);
  }
  const struct nd_ctr *c = q->container ? nd_pod_ctr(p, q->container) : NULL;
  if (!c) {
    if (logs)
      return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                            "container \"%s\" not found in pod \"%s\"",
                            q->container ? q->container : "", p->name);
    return 0; /* the server answers "container not found" */
  }
  if (logs)
    return resolve_logs(p, c, q, out, err);
  if (c->has_cur && c->cur.state == ND_RUNNING)
    return dup_into(&out->container_id, c->cur.id, err);
  return 0;
}

KUBE_EXPORT int kube_node_agent_stream_resolve(
    void *agent, const kube_node_stream_query_t *q,
    kube_node_stream_target_t *out, kube_error_t *err) {
  kube_node_agent_t *a = agent;
  if (!a || !q || !out || !q->namespace_ || !q->pod)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a stream query needs an agent, a namespace and "
                          "a pod");
  if (resolve(a, q, out, err) == 0)
    return 0;
  kube_node_stream_target_clear(out);
  return -1;
}

KUBE_EXPORT const char *
kube_node_agent_runtime_root(const kube_node_agent_t *a) {
  return a ? a->cfg.runtime_root : NULL;
}

KUBE_EXPORT const char *kube_node_agent_node_ip(const kube_node_agent_t *a) {
  return a ? a->cfg.node_ip : NULL;
}
