/* SPDX-License-Identifier: Apache-2.0 */
/* Reading what the agent needs from pod objects: containers, policies,
 * QoS, resources as cgroup limits. */
#include "node/agent.h"

json_object *nd_spec(const kube_object_t *pod) {
  return pod ? kube_json_get(kube_object_json(pod), "spec") : NULL;
}

static json_object *find_in(json_object *arr, const char *name) {
  for (size_t i = 0; arr && json_object_is_type(arr, json_type_array) &&
                     i < json_object_array_length(arr);
       i++) {
    json_object *c = json_object_array_get_idx(arr, i);
    const char *n = kube_json_get_string(c, "name");
    if (n && streq(n, name))
      return c;
  }
  return NULL;
}

json_object *nd_spec_container(json_object *spec, const char *name,
                               enum nd_kind *kind) {
  json_object *c = find_in(kube_json_get(spec, "initContainers"), name);
  if (c) {
    if (kind) {
      const char *rp = kube_json_get_string(c, "restartPolicy");
      *kind = rp && streq(rp, "Always") ? ND_SIDECAR : ND_INIT;
    }
    return c;
  }
  c = find_in(kube_json_get(spec, "containers"), name);
  if (c) {
    if (kind)
      *kind = ND_APP;
    return c;
  }
  c = find_in(kube_json_get(spec, "ephemeralContainers"), name);
  if (c && kind)
    *kind = ND_EPHEMERAL;
  return c;
}

const char *nd_restart_policy(json_object *spec) {
  const char *rp = kube_json_get_string(spec, "restartPolicy");
  return rp && (streq(rp, "OnFailure") || streq(rp, "Never")) ? rp : "Always";
}

int64_t nd_grace_seconds(const kube_object_t *pod) {
  json_object *root = kube_object_json(pod);
  json_object *g = kube_json_get(root, "metadata.deletionGracePeriodSeconds");
  if (!g)
    g = kube_json_get(root, "spec.terminationGracePeriodSeconds");
  int64_t s = g ? json_object_get_int64(g) : 30;
  return s < 0 ? 0 : s;
}

const char *nd_qos_class(json_object *spec) {
  return kube_json_pod_qos_class(spec);
}

kube_qos_class_t nd_qos(json_object *spec) {
  const char *q = nd_qos_class(spec);
  return streq(q, "Guaranteed")   ? KUBE_QOS_GUARANTEED
         : streq(q, "BestEffort") ? KUBE_QOS_BESTEFFORT
                                  : KUBE_QOS_BURSTABLE;
}

bool nd_spec_bool(json_object *spec, const char *path) {
  json_object *v = kube_json_get(spec, path);
  return v && json_object_get_boolean(v);
}

int64_t nd_cpu_shares(int64_t milli) {
  /* MilliCPUToShares */
  if (milli <= 0)
    return 2;
  int64_t s = milli * 1024 / 1000;
  return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

static void resources_init(kube_rt_resources_t *r) {
  memset(r, 0, sizeof *r);
  r->memory_limit = r->memory_swap = r->cpu_shares = r->cpu_quota =
      r->cpu_period = r->pids_limit = -1;
}

/* milli-CPU and bytes of a container's requests/limits ("" when absent). */
static bool quantity(json_object *ctr, const char *path, bool cpu,
                     int64_t *out) {
  const char *s = kube_json_get_string(ctr, path);
  if (!s)
    return false;
  kube_quantity_t q;
  if (kube_quantity_parse(s, &q, NULL) < 0)
    return false;
  *out = cpu ? kube_quantity_milli(&q) : kube_quantity_value(&q);
  return true;
}

void nd_container_resources(json_object *ctr, kube_rt_resources_t *res) {
  resources_init(res);
  int64_t req = 0, lim = 0, mem = 0;
  bool has_req = quantity(ctr, "resources.requests.cpu", true, &req);
  bool has_lim = quantity(ctr, "resources.limits.cpu", true, &lim);
  /* a limit without a request requests the limit (API defaulting) */
  res->cpu_shares = nd_cpu_shares(has_req ? req : has_lim ? lim : 0);
  if (has_lim && lim > 0) {
    res->cpu_period = 100000;
    res->cpu_quota = lim * 100000 / 1000;
    if (res->cpu_quota < 1000)
      res->cpu_quota = 1000;
  }
  if (quantity(ctr, "resources.limits.memory", false, &mem) && mem > 0) {
    res->memory_limit = mem;
    res->memory_swap = mem; /* no swap, as the kubelet's default */
  }
}

void nd_pod_resources(json_object *spec, kube_rt_resources_t *res) {
  resources_init(res);
  int64_t cpu_req = 0, cpu_lim = 0, mem_lim = 0;
  bool all_cpu = true, all_mem = true, any = false;
  json_object *cs = kube_json_get(spec, "containers");
  for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
    json_object *c = json_object_array_get_idx(cs, i);
    int64_t v;
    any = true;
    if (quantity(c, "resources.requests.cpu", true, &v) ||
        quantity(c, "resources.limits.cpu", true, &v))
      cpu_req += v;
    if (quantity(c, "resources.limits.cpu", true, &v))
      cpu_lim += v;
    else
      all_cpu = false;
    if (quantity(c, "resources.limits.memory", false, &v))
      mem_lim += v;
    else
      all_mem = false;
  }
  /* init containers run one at a time: the largest one counts if it is
   * larger than the app containers together */
  json_object *ics = kube_json_get(spec, "initContainers");
  for (size_t i = 0; ics && i < json_object_array_length(ics); i++) {
    json_object *c = json_object_array_get_idx(ics, i);
    int64_t v;
    if (quantity(c, "resources.limits.cpu", true, &v) && v > cpu_lim)
      cpu_lim = v;
    if (quantity(c, "resources.limits.memory", false, &v) && v > mem_lim)
      mem_lim = v;
  }
  if (!any)
    return;
  if (streq(nd_qos_class(spec), "BestEffort"))
    return; /* the besteffort level holds the minimum weight */
  res->cpu_shares = nd_cpu_shares(cpu_req);
  if (all_cpu && cpu_lim > 0) {
    res->cpu_period = 100000;
    res->cpu_quota = cpu_lim * 100;
    if (res->cpu_quota < 1000)
      res->cpu_quota = 1000;
  }
  if (all_mem && mem_lim > 0) {
    res->memory_limit = mem_lim;
    res->memory_swap = mem_lim;
  }
}

kube_image_pull_policy_t nd_pull_policy(json_object *ctr) {
  const char *p = kube_json_get_string(ctr, "imagePullPolicy");
  int v = p ? kube_image_pull_policy_parse(p) : -1;
  if (v >= 0)
    return (kube_image_pull_policy_t)v;
  const char *image = kube_json_get_string(ctr, "image");
  return kube_image_pull_policy_default(image ? image : "");
}

char *nd_pod_desc(const struct nd_pod *p) {
  char *s = NULL;
  if (asprintf(&s, "%s_%s(%s)", p->name, p->ns, p->uid) < 0)
    return NULL;
  return s;
}
