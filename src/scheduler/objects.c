/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler fed with Kubernetes objects (Node, Pod) instead of plain
 * structs: what language bindings and embedders holding JSON use.  Each
 * call converts as the binding loop does and forwards to the struct API.
 */
#include "core/util.h"
#include "scheduler/convert.h"

static int node_call(kube_scheduler_t *s, const kube_object_t *node,
                     bool update, kube_error_t *err) {
  struct ks_node_conv c;
  if (!node)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no node");
  if (ks_node_convert(node, &c, err) < 0)
    return -1;
  int r = update ? kube_scheduler_update_node(s, &c.node, err)
                 : kube_scheduler_add_node(s, &c.node, err);
  ks_node_conv_clear(&c);
  return r;
}

KUBE_EXPORT int kube_scheduler_add_node_object(kube_scheduler_t *s,
                                               const kube_object_t *node,
                                               kube_error_t *err) {
  return node_call(s, node, false, err);
}

KUBE_EXPORT int kube_scheduler_update_node_object(kube_scheduler_t *s,
                                                  const kube_object_t *node,
                                                  kube_error_t *err) {
  return node_call(s, node, true, err);
}

static int convert_pod(const kube_object_t *pod, struct ks_pod_conv *c,
                       kube_error_t *err) {
  if (!pod)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no pod");
  if (ks_pod_convert(pod, c, err) < 0)
    return -1;
  if (!c->pod.name || !*c->pod.name) {
    ks_pod_conv_clear(c);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "pod has no metadata.name");
  }
  return 0;
}

static int pod_call(kube_scheduler_t *s, const kube_object_t *pod,
                    const char *node_name, bool update, kube_error_t *err) {
  struct ks_pod_conv c;
  if (convert_pod(pod, &c, err) < 0)
    return -1;
  const char *node = node_name ? node_name : c.pod.node_name;
  int r;
  if (!node || !*node)
    r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "pod %s is not placed: no spec.nodeName", c.pod.name);
  else if (update)
    r = kube_scheduler_update_pod(s, &c.pod, node, err);
  else
    r = kube_scheduler_add_pod(s, &c.pod, node, err);
  ks_pod_conv_clear(&c);
  return r;
}

KUBE_EXPORT int kube_scheduler_add_pod_object(kube_scheduler_t *s,
                                              const kube_object_t *pod,
                                              const char *node_name,
                                              kube_error_t *err) {
  return pod_call(s, pod, node_name, false, err);
}

KUBE_EXPORT int kube_scheduler_update_pod_object(kube_scheduler_t *s,
                                                 const kube_object_t *pod,
                                                 const char *node_name,
                                                 kube_error_t *err) {
  return pod_call(s, pod, node_name, true, err);
}

KUBE_EXPORT int kube_scheduler_schedule_object(kube_scheduler_t *s,
                                               const kube_object_t *pod,
                                               kube_sched_result_t *result,
                                               kube_error_t *err) {
  struct ks_pod_conv c;
  if (convert_pod(pod, &c, err) < 0)
    return -1;
  int r = kube_scheduler_schedule(s, &c.pod, result, err);
  ks_pod_conv_clear(&c);
  return r;
}

KUBE_EXPORT int64_t kube_scheduler_schedule_objects(
    kube_scheduler_t *s, const kube_object_t *const *pods, size_t n,
    unsigned flags, kube_sched_result_t *results, kube_error_t *err) {
  struct ks_pod_conv *convs = calloc(n ? n : 1, sizeof *convs);
  kube_sched_pod_t *ps = calloc(n ? n : 1, sizeof *ps);
  int64_t r = -1;
  size_t done = 0;
  if (!convs || !ps) {
    kube_make_oom(err);
    goto out;
  }
  for (; done < n; done++) {
    if (convert_pod(pods[done], &convs[done], err) < 0) {
      kube_error_wrap(err, "pod %zu", done);
      goto out;
    }
    ps[done] = convs[done].pod;
  }
  r = kube_scheduler_schedule_batch(s, ps, n, flags, results, err);
out:
  for (size_t i = 0; i < done; i++)
    ks_pod_conv_clear(&convs[i]);
  free(convs);
  free(ps);
  return r;
}
