/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Defaulting, as Kubernetes' SetDefaults_* functions do it (plus the few
 * admission-time fields every real cluster shows on a pod: priority 0, the
 * default service account, the not-ready/unreachable tolerations and the
 * initial Pending status with its QoS class).
 */
#include "api/internal.h"

static json_object *jint(int64_t v) {
  return json_object_new_int64(v);
}
static json_object *jstr(const char *s) {
  return json_object_new_string(s);
}
static json_object *jbool(bool b) {
  return json_object_new_boolean(b);
}

static bool absent(json_object *o, const char *key) {
  json_object *v = NULL;
  return !json_object_object_get_ex(o, key, &v) || v == NULL;
}

/* Absent or "" */
static bool empty_str(json_object *o, const char *key) {
  const char *s = jget_str(o, key);
  return absent(o, key) || (s && !*s);
}

/* ---- containers, probes, volumes --------------------------------------- */

/* Always for ":latest" or no tag (and no digest), else IfNotPresent. */
static const char *pull_policy_for(const char *image) {
  if (!image)
    return "Always";
  if (strchr(image, '@'))
    return "IfNotPresent";
  const char *slash = strrchr(image, '/');
  const char *last = slash ? slash + 1 : image;
  const char *colon = strchr(last, ':');
  if (!colon || streq(colon + 1, "latest"))
    return "Always";
  return "IfNotPresent";
}

static void probe_defaults(json_object *p) {
  if (!p)
    return;
  api_jdefault(p, "timeoutSeconds", jint(1));
  api_jdefault(p, "periodSeconds", jint(10));
  api_jdefault(p, "successThreshold", jint(1));
  api_jdefault(p, "failureThreshold", jint(3));
  json_object *http = jget_obj(p, "httpGet");
  if (http) {
    if (empty_str(http, "path"))
      api_jset(http, "path", jstr("/"));
    if (empty_str(http, "scheme"))
      api_jset(http, "scheme", jstr("HTTP"));
  }
}

static void lifecycle_handler_defaults(json_object *h) {
  json_object *http = jget_obj(h, "httpGet");
  if (http) {
    if (empty_str(http, "path"))
      api_jset(http, "path", jstr("/"));
    if (empty_str(http, "scheme"))
      api_jset(http, "scheme", jstr("HTTP"));
  }
}

static void container_defaults(json_object *c, bool host_network) {
  if (!c)
    return;
  if (empty_str(c, "imagePullPolicy"))
    api_jset(c, "imagePullPolicy", jstr(pull_policy_for(jget_str(c, "image"))));
  if (empty_str(c, "terminationMessagePath"))
    api_jset(c, "terminationMessagePath", jstr("/dev/termination-log"));
  if (empty_str(c, "terminationMessagePolicy"))
    api_jset(c, "terminationMessagePolicy", jstr("File"));
  json_object *ports = jget_arr(c, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (empty_str(p, "protocol"))
      api_jset(p, "protocol", jstr("TCP"));
    if (host_network && absent(p, "hostPort") && jget(p, "containerPort"))
      api_jset(p, "hostPort", json_object_get(jget(p, "containerPort")));
  }
  json_object *res = api_jensure_obj(c, "resources");
  /* Requests default to the limits (SetDefaults_Pod). */
  json_object *limits = jget_obj(res, "limits");
  if (limits && json_object_object_length(limits) > 0) {
    json_object *req = api_jensure_obj(res, "requests");
    json_object_object_foreach(limits, k, v) {
      if (req && absent(req, k))
        api_jset(req, k, json_object_get(v));
    }
  }
  json_object *env = jget_arr(c, "env");
  for (size_t i = 0; i < jarr_len(env); i++) {
    json_object *fr =
        jget_obj(jget_obj(jarr_at(env, i), "valueFrom"), "fieldRef");
    if (fr && empty_str(fr, "apiVersion"))
      api_jset(fr, "apiVersion", jstr("v1"));
  }
  probe_defaults(jget_obj(c, "livenessProbe"));
  probe_defaults(jget_obj(c, "readinessProbe"));
  probe_defaults(jget_obj(c, "startupProbe"));
  json_object *lc = jget_obj(c, "lifecycle");
  lifecycle_handler_defaults(jget_obj(lc, "postStart"));
  lifecycle_handler_defaults(jget_obj(lc, "preStop"));
}

/* Every volume source a Volume may name (exactly one of them). */
const char *const api_volume_sources[] = {"hostPath",
                                          "emptyDir",
                                          "gcePersistentDisk",
                                          "awsElasticBlockStore",
                                          "gitRepo",
                                          "secret",
                                          "nfs",
                                          "iscsi",
                                          "glusterfs",
                                          "persistentVolumeClaim",
                                          "rbd",
                                          "flexVolume",
                                          "cinder",
                                          "cephfs",
                                          "flocker",
                                          "downwardAPI",
                                          "fc",
                                          "azureFile",
                                          "configMap",
                                          "vsphereVolume",
                                          "quobyte",
                                          "azureDisk",
                                          "photonPersistentDisk",
                                          "projected",
                                          "portworxVolume",
                                          "scaleIO",
                                          "storageos",
                                          "csi",
                                          "ephemeral",
                                          "image",
                                          NULL};

static void volume_defaults(json_object *v) {
  bool has_source = false;
  for (const char *const *s = api_volume_sources; *s; s++)
    has_source = has_source || jget(v, *s);
  if (!has_source)
    api_jset(v, "emptyDir", json_object_new_object());
  json_object *o;
  if ((o = jget_obj(v, "secret")))
    api_jdefault(o, "defaultMode", jint(0644));
  if ((o = jget_obj(v, "configMap")))
    api_jdefault(o, "defaultMode", jint(0644));
  if ((o = jget_obj(v, "projected")))
    api_jdefault(o, "defaultMode", jint(0644));
  if ((o = jget_obj(v, "downwardAPI"))) {
    api_jdefault(o, "defaultMode", jint(0644));
    json_object *items = jget_arr(o, "items");
    for (size_t i = 0; i < jarr_len(items); i++) {
      json_object *fr = jget_obj(jarr_at(items, i), "fieldRef");
      if (fr && empty_str(fr, "apiVersion"))
        api_jset(fr, "apiVersion", jstr("v1"));
    }
  }
  if ((o = jget_obj(v, "hostPath")))
    api_jdefault(o, "type", jstr(""));
  if ((o = jget_obj(v, "iscsi")))
    api_jdefault(o, "iscsiInterface", jstr("default"));
}

/* SetDefaults_PodSpec and what it applies to containers and volumes. */
static void pod_spec_defaults(json_object *spec) {
  if (!spec)
    return;
  if (empty_str(spec, "dnsPolicy"))
    api_jset(spec, "dnsPolicy", jstr("ClusterFirst"));
  if (empty_str(spec, "restartPolicy"))
    api_jset(spec, "restartPolicy", jstr("Always"));
  api_jdefault(spec, "terminationGracePeriodSeconds", jint(30));
  api_jdefault(spec, "securityContext", json_object_new_object());
  if (empty_str(spec, "schedulerName"))
    api_jset(spec, "schedulerName", jstr("default-scheduler"));
  api_jdefault(spec, "enableServiceLinks", jbool(true));
  /* serviceAccount is the deprecated alias of serviceAccountName */
  const char *sa = jget_str(spec, "serviceAccountName");
  const char *dsa = jget_str(spec, "serviceAccount");
  if ((!sa || !*sa) && dsa && *dsa)
    api_jset(spec, "serviceAccountName", jstr(dsa));
  bool host_network = jget_bool(spec, "hostNetwork", false);
  json_object *cs = jget_arr(spec, "containers");
  for (size_t i = 0; i < jarr_len(cs); i++)
    container_defaults(jarr_at(cs, i), host_network);
  cs = jget_arr(spec, "initContainers");
  for (size_t i = 0; i < jarr_len(cs); i++)
    container_defaults(jarr_at(cs, i), host_network);
  cs = jget_arr(spec, "ephemeralContainers");
  for (size_t i = 0; i < jarr_len(cs); i++)
    container_defaults(jarr_at(cs, i), host_network);
  json_object *vols = jget_arr(spec, "volumes");
  for (size_t i = 0; i < jarr_len(vols); i++)
    volume_defaults(jarr_at(vols, i));
}

/* ---- QoS ------------------------------------------------------------------
 */

struct qos_sum {
  kube_quantity_t cpu, mem;
  bool has_cpu, has_mem;
};

static void qos_add(struct qos_sum *s, json_object *list, bool *cpu_found,
                    bool *mem_found) {
  json_object_object_foreach(list, k, v) {
    bool is_cpu = streq(k, "cpu"), is_mem = streq(k, "memory");
    if (!is_cpu && !is_mem)
      continue;
    kube_quantity_t q;
    if (!json_object_is_type(v, json_type_string) ||
        kube_quantity_parse(json_object_get_string(v), &q, NULL) < 0 ||
        q.nano <= 0)
      continue;
    kube_quantity_t *sum = is_cpu ? &s->cpu : &s->mem;
    bool *has = is_cpu ? &s->has_cpu : &s->has_mem;
    if (*has) {
      kube_quantity_t out;
      if (kube_quantity_add(sum, &q, &out, NULL) == 0)
        *sum = out;
    } else {
      *sum = q;
      *has = true;
    }
    if (is_cpu && cpu_found)
      *cpu_found = true;
    if (is_mem && mem_found)
      *mem_found = true;
  }
}

/* qos.GetPodQOS */
const char *kube_json_pod_qos_class(json_object *spec) {
  return api_pod_qos_class(spec);
}

const char *api_pod_qos_class(json_object *spec) {
  struct qos_sum req = {0}, lim = {0};
  bool guaranteed = true;
  const char *lists[] = {"initContainers", "containers"};
  for (size_t l = 0; l < 2; l++) {
    json_object *cs = jget_arr(spec, lists[l]);
    for (size_t i = 0; i < jarr_len(cs); i++) {
      json_object *res = jget_obj(jarr_at(cs, i), "resources");
      bool cpu = false, mem = false;
      json_object *r = jget_obj(res, "requests");
      json_object *li = jget_obj(res, "limits");
      if (r)
        qos_add(&req, r, NULL, NULL);
      if (li)
        qos_add(&lim, li, &cpu, &mem);
      if (!cpu || !mem)
        guaranteed = false;
    }
  }
  if (!req.has_cpu && !req.has_mem && !lim.has_cpu && !lim.has_mem)
    return "BestEffort";
  if (guaranteed) {
    if (req.has_cpu && (!lim.has_cpu || kube_quantity_cmp(&req.cpu, &lim.cpu)))
      guaranteed = false;
    if (req.has_mem && (!lim.has_mem || kube_quantity_cmp(&req.mem, &lim.mem)))
      guaranteed = false;
  }
  if (guaranteed && req.has_cpu == lim.has_cpu && req.has_mem == lim.has_mem)
    return "Guaranteed";
  return "Burstable";
}

/* ---- per kind ----------------------------------------------------------- */

static void add_toleration(json_object *spec, const char *key) {
  json_object *tols = jget_arr(spec, "tolerations");
  for (size_t i = 0; i < jarr_len(tols); i++) {
    json_object *t = jarr_at(tols, i);
    const char *k = jget_str0(t, "key");
    const char *eff = jget_str0(t, "effect");
    if ((streq(k, key) || (!*k && streq(jget_str0(t, "operator"), "Exists"))) &&
        (!*eff || streq(eff, "NoExecute")))
      return; /* DefaultTolerationSeconds leaves user tolerations alone */
  }
  if (!tols) {
    tols = json_object_new_array();
    if (api_jset(spec, "tolerations", tols) < 0)
      return;
  }
  json_object *t = json_object_new_object();
  if (!t)
    return;
  api_jset(t, "key", jstr(key));
  api_jset(t, "operator", jstr("Exists"));
  api_jset(t, "effect", jstr("NoExecute"));
  api_jset(t, "tolerationSeconds", jint(300));
  if (json_object_array_add(tols, t) < 0)
    json_object_put(t);
}

static void pod_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  pod_spec_defaults(spec);
  /* What admission does on a real cluster. */
  if (empty_str(spec, "serviceAccountName"))
    api_jset(spec, "serviceAccountName", jstr("default"));
  if (empty_str(spec, "serviceAccount"))
    api_jset(spec, "serviceAccount",
             jstr(jget_str0(spec, "serviceAccountName")));
  if (empty_str(spec, "priorityClassName"))
    api_jdefault(spec, "priority", jint(0));
  if (empty_str(spec, "preemptionPolicy"))
    api_jset(spec, "preemptionPolicy", jstr("PreemptLowerPriority"));
  add_toleration(spec, "node.kubernetes.io/not-ready");
  add_toleration(spec, "node.kubernetes.io/unreachable");
  json_object *status = api_jensure_obj(obj, "status");
  if (status) {
    if (empty_str(status, "phase"))
      api_jset(status, "phase", jstr("Pending"));
    if (empty_str(status, "qosClass"))
      api_jset(status, "qosClass", jstr(api_pod_qos_class(spec)));
  }
}

static json_object *template_of(json_object *spec) {
  return jget_obj(spec, "template");
}

/* Labels of the object default to the template's (RC, Job). */
static void labels_from_template(json_object *obj, json_object *tmpl) {
  json_object *tl = jget_obj(jget_obj(tmpl, "metadata"), "labels");
  if (!tl || json_object_object_length(tl) == 0)
    return;
  json_object *md = api_jensure_obj(obj, "metadata");
  json_object *l = jget_obj(md, "labels");
  if (l && json_object_object_length(l) > 0)
    return;
  json_object *copy = NULL;
  if (json_object_deep_copy(tl, &copy, NULL) == 0)
    api_jset(md, "labels", copy);
}

static void workload_template(json_object *spec) {
  pod_spec_defaults(jget_obj(template_of(spec), "spec"));
}

static void deployment_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_jdefault(spec, "replicas", jint(1));
  json_object *strategy = api_jensure_obj(spec, "strategy");
  if (strategy) {
    if (empty_str(strategy, "type"))
      api_jset(strategy, "type", jstr("RollingUpdate"));
    if (streq(jget_str0(strategy, "type"), "RollingUpdate")) {
      json_object *ru = api_jensure_obj(strategy, "rollingUpdate");
      api_jdefault(ru, "maxUnavailable", jstr("25%"));
      api_jdefault(ru, "maxSurge", jstr("25%"));
    }
  }
  api_jdefault(spec, "revisionHistoryLimit", jint(10));
  api_jdefault(spec, "progressDeadlineSeconds", jint(600));
  workload_template(spec);
}

static void replicaset_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_jdefault(spec, "replicas", jint(1));
  workload_template(spec);
}

static void rc_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  json_object *tmpl = template_of(spec);
  json_object *tl = jget_obj(jget_obj(tmpl, "metadata"), "labels");
  json_object *sel = jget_obj(spec, "selector");
  if (tl && json_object_object_length(tl) > 0 &&
      (!sel || json_object_object_length(sel) == 0)) {
    json_object *copy = NULL;
    if (json_object_deep_copy(tl, &copy, NULL) == 0)
      api_jset(spec, "selector", copy);
  }
  labels_from_template(obj, tmpl);
  api_jdefault(spec, "replicas", jint(1));
  workload_template(spec);
}

static void daemonset_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  json_object *us = api_jensure_obj(spec, "updateStrategy");
  if (us) {
    if (empty_str(us, "type"))
      api_jset(us, "type", jstr("RollingUpdate"));
    if (streq(jget_str0(us, "type"), "RollingUpdate")) {
      json_object *ru = api_jensure_obj(us, "rollingUpdate");
      api_jdefault(ru, "maxUnavailable", jint(1));
      api_jdefault(ru, "maxSurge", jint(0));
    }
  }
  api_jdefault(spec, "revisionHistoryLimit", jint(10));
  workload_template(spec);
}

static void statefulset_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  if (empty_str(spec, "podManagementPolicy"))
    api_jset(spec, "podManagementPolicy", jstr("OrderedReady"));
  json_object *us = api_jensure_obj(spec, "updateStrategy");
  if (us) {
    if (empty_str(us, "type"))
      api_jset(us, "type", jstr("RollingUpdate"));
    if (streq(jget_str0(us, "type"), "RollingUpdate")) {
      json_object *ru = api_jensure_obj(us, "rollingUpdate");
      api_jdefault(ru, "partition", jint(0));
    }
  }
  json_object *pr =
      api_jensure_obj(spec, "persistentVolumeClaimRetentionPolicy");
  if (pr) {
    if (empty_str(pr, "whenDeleted"))
      api_jset(pr, "whenDeleted", jstr("Retain"));
    if (empty_str(pr, "whenScaled"))
      api_jset(pr, "whenScaled", jstr("Retain"));
  }
  api_jdefault(spec, "replicas", jint(1));
  api_jdefault(spec, "revisionHistoryLimit", jint(10));
  workload_template(spec);
}

static void job_spec_defaults(json_object *obj, json_object *spec) {
  if (!spec)
    return;
  if (absent(spec, "completions") && absent(spec, "parallelism")) {
    api_jset(spec, "completions", jint(1));
    api_jset(spec, "parallelism", jint(1));
  }
  api_jdefault(spec, "parallelism", jint(1));
  api_jdefault(spec, "backoffLimit", jint(6));
  if (empty_str(spec, "completionMode"))
    api_jset(spec, "completionMode", jstr("NonIndexed"));
  api_jdefault(spec, "suspend", jbool(false));
  json_object *tmpl = template_of(spec);
  /* The job strategy generates a selector from the uid unless the user
   * manages it (manualSelector). */
  const char *uid = jget_str(jget_obj(obj, "metadata"), "uid");
  const char *name = jget_str(jget_obj(obj, "metadata"), "name");
  if (obj && uid && name && tmpl && absent(spec, "selector") &&
      !jget_bool(spec, "manualSelector", false)) {
    json_object *sel = json_object_new_object();
    json_object *ml = json_object_new_object();
    if (sel && ml) {
      api_jset(ml, "batch.kubernetes.io/controller-uid", jstr(uid));
      api_jset(sel, "matchLabels", ml);
      api_jset(spec, "selector", sel);
    } else {
      json_object_put(sel);
      json_object_put(ml);
    }
    json_object *tl =
        api_jensure_obj(api_jensure_obj(tmpl, "metadata"), "labels");
    if (tl) {
      api_jset(tl, "batch.kubernetes.io/controller-uid", jstr(uid));
      api_jset(tl, "batch.kubernetes.io/job-name", jstr(name));
      api_jset(tl, "controller-uid", jstr(uid));
      api_jset(tl, "job-name", jstr(name));
    }
  }
  if (obj)
    labels_from_template(obj, tmpl);
  pod_spec_defaults(jget_obj(tmpl, "spec"));
}

static void cronjob_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  if (empty_str(spec, "concurrencyPolicy"))
    api_jset(spec, "concurrencyPolicy", jstr("Allow"));
  api_jdefault(spec, "suspend", jbool(false));
  api_jdefault(spec, "successfulJobsHistoryLimit", jint(3));
  api_jdefault(spec, "failedJobsHistoryLimit", jint(1));
  json_object *jspec = jget_obj(jget_obj(spec, "jobTemplate"), "spec");
  if (jspec) {
    /* SetDefaults_Job does not run on templates; only the pod spec. */
    pod_spec_defaults(jget_obj(template_of(jspec), "spec"));
  }
}

static void service_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  if (empty_str(spec, "sessionAffinity"))
    api_jset(spec, "sessionAffinity", jstr("None"));
  if (empty_str(spec, "type"))
    api_jset(spec, "type", jstr("ClusterIP"));
  const char *type = jget_str0(spec, "type");
  json_object *ports = jget_arr(spec, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (empty_str(p, "protocol"))
      api_jset(p, "protocol", jstr("TCP"));
    json_object *tp = jget(p, "targetPort");
    if ((!tp || (jis_int(tp) && json_object_get_int64(tp) == 0) ||
         (json_object_is_type(tp, json_type_string) &&
          !*json_object_get_string(tp))) &&
        jget(p, "port"))
      api_jset(p, "targetPort", json_object_get(jget(p, "port")));
  }
  if (streq(jget_str0(spec, "sessionAffinity"), "ClientIP")) {
    json_object *cfg = api_jensure_obj(
        api_jensure_obj(spec, "sessionAffinityConfig"), "clientIP");
    api_jdefault(cfg, "timeoutSeconds", jint(10800));
  }
  if (streq(type, "NodePort") || streq(type, "LoadBalancer")) {
    if (empty_str(spec, "externalTrafficPolicy"))
      api_jset(spec, "externalTrafficPolicy", jstr("Cluster"));
  }
  if (streq(type, "LoadBalancer"))
    api_jdefault(spec, "allocateLoadBalancerNodePorts", jbool(true));
  if (!streq(type, "ExternalName")) {
    if (empty_str(spec, "internalTrafficPolicy"))
      api_jset(spec, "internalTrafficPolicy", jstr("Cluster"));
    if (empty_str(spec, "ipFamilyPolicy"))
      api_jset(spec, "ipFamilyPolicy", jstr("SingleStack"));
    if (!jget_arr(spec, "ipFamilies")) {
      json_object *fam = json_object_new_array();
      if (fam && json_object_array_add(fam, jstr("IPv4")) == 0)
        api_jset(spec, "ipFamilies", fam);
      else
        json_object_put(fam);
    }
  }
}

static void namespace_defaults(json_object *obj) {
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

static void node_defaults(json_object *obj) {
  json_object *status = jget_obj(obj, "status");
  json_object *cap = jget_obj(status, "capacity");
  if (cap && absent(status, "allocatable")) {
    json_object *copy = NULL;
    if (json_object_deep_copy(cap, &copy, NULL) == 0)
      api_jset(status, "allocatable", copy);
  }
}

static void pv_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (spec) {
    if (empty_str(spec, "persistentVolumeReclaimPolicy"))
      api_jset(spec, "persistentVolumeReclaimPolicy", jstr("Retain"));
    if (empty_str(spec, "volumeMode"))
      api_jset(spec, "volumeMode", jstr("Filesystem"));
  }
  json_object *status = api_jensure_obj(obj, "status");
  if (status && empty_str(status, "phase"))
    api_jset(status, "phase", jstr("Pending"));
}

static void pvc_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (spec && empty_str(spec, "volumeMode"))
    api_jset(spec, "volumeMode", jstr("Filesystem"));
  json_object *status = api_jensure_obj(obj, "status");
  if (status && empty_str(status, "phase"))
    api_jset(status, "phase", jstr("Pending"));
}

static void endpoints_defaults(json_object *obj) {
  json_object *subsets = jget_arr(obj, "subsets");
  for (size_t s = 0; s < jarr_len(subsets); s++) {
    json_object *ports = jget_arr(jarr_at(subsets, s), "ports");
    for (size_t i = 0; i < jarr_len(ports); i++)
      if (empty_str(jarr_at(ports, i), "protocol"))
        api_jset(jarr_at(ports, i), "protocol", jstr("TCP"));
  }
}

static void endpointslice_defaults(json_object *obj) {
  json_object *ports = jget_arr(obj, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    if (empty_str(p, "protocol"))
      api_jset(p, "protocol", jstr("TCP"));
    api_jdefault(p, "name", jstr(""));
  }
}

static void copy_missing(json_object *dst_parent, const char *dst_key,
                         json_object *src) {
  if (!src || json_object_object_length(src) == 0)
    return;
  json_object *dst = api_jensure_obj(dst_parent, dst_key);
  json_object_object_foreach(src, k, v) {
    if (dst && absent(dst, k))
      api_jset(dst, k, json_object_get(v));
  }
}

/* SetDefaults_LimitRangeItem: default limits from max, default requests
 * from the default limits (or max). */
static void limitrange_defaults(json_object *obj) {
  json_object *limits = jget_arr(jget_obj(obj, "spec"), "limits");
  for (size_t i = 0; i < jarr_len(limits); i++) {
    json_object *item = jarr_at(limits, i);
    if (!streq(jget_str0(item, "type"), "Container"))
      continue;
    copy_missing(item, "default", jget_obj(item, "max"));
    copy_missing(item, "defaultRequest", jget_obj(item, "default"));
    copy_missing(item, "defaultRequest", jget_obj(item, "min"));
  }
}

static void hpa_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_jdefault(spec, "minReplicas", jint(1));
  if (streq(kind->version, "v2") && jarr_len(jget_arr(spec, "metrics")) == 0) {
    json_object *metrics = json_object_new_array();
    json_object *m = json_object_new_object();
    json_object *res = json_object_new_object();
    json_object *target = json_object_new_object();
    if (!metrics || !m || !res || !target) {
      json_object_put(metrics);
      json_object_put(m);
      json_object_put(res);
      json_object_put(target);
      return;
    }
    api_jset(target, "type", jstr("Utilization"));
    api_jset(target, "averageUtilization", jint(80));
    api_jset(res, "name", jstr("cpu"));
    api_jset(res, "target", target);
    api_jset(m, "type", jstr("Resource"));
    api_jset(m, "resource", res);
    json_object_array_add(metrics, m);
    api_jset(spec, "metrics", metrics);
  }
}

/* type Opaque, and stringData folded into data (the v1 conversion does
 * this: stringData is write-only and wins over data). */
static void secret_defaults(json_object *obj) {
  if (empty_str(obj, "type"))
    api_jset(obj, "type", jstr("Opaque"));
  json_object *sd = jget_obj(obj, "stringData");
  if (!sd)
    return;
  json_object *data = api_jensure_obj(obj, "data");
  if (!data)
    return;
  json_object_object_foreach(sd, k, v) {
    if (!json_object_is_type(v, json_type_string))
      continue;
    char *enc = kube_base64_encode(json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
    if (enc)
      api_jset(data, k, jstr(enc));
    free(enc);
  }
  json_object_object_del(obj, "stringData");
}

int kube_json_default(json_object *obj, const kube_kind_t *kind,
                      kube_error_t *err) {
  if (!json_object_is_type(obj, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "object is not a JSON object");
  if (!kind)
    kind = api_kind_of_tree(obj);
  if (!kind)
    return 0; /* unknown kinds have no defaults */
  const char *g = kind->group, *r = kind->resource;
  bool core = !*g;
  if (core && streq(r, "pods"))
    pod_defaults(obj);
  else if (streq(g, "apps") && streq(r, "deployments"))
    deployment_defaults(obj);
  else if (streq(g, "apps") && streq(r, "replicasets"))
    replicaset_defaults(obj);
  else if (streq(g, "apps") && streq(r, "daemonsets"))
    daemonset_defaults(obj);
  else if (streq(g, "apps") && streq(r, "statefulsets"))
    statefulset_defaults(obj);
  else if (core && streq(r, "replicationcontrollers"))
    rc_defaults(obj);
  else if (streq(g, "batch") && streq(r, "jobs"))
    job_spec_defaults(obj, jget_obj(obj, "spec"));
  else if (streq(g, "batch") && streq(r, "cronjobs"))
    cronjob_defaults(obj);
  else if (core && streq(r, "services"))
    service_defaults(obj);
  else if (core && streq(r, "namespaces"))
    namespace_defaults(obj);
  else if (core && streq(r, "secrets"))
    secret_defaults(obj);
  else if (core && streq(r, "nodes"))
    node_defaults(obj);
  else if (core && streq(r, "persistentvolumes"))
    pv_defaults(obj);
  else if (core && streq(r, "persistentvolumeclaims"))
    pvc_defaults(obj);
  else if (core && streq(r, "endpoints"))
    endpoints_defaults(obj);
  else if (streq(g, "discovery.k8s.io") && streq(r, "endpointslices"))
    endpointslice_defaults(obj);
  else if (core && streq(r, "limitranges"))
    limitrange_defaults(obj);
  else if (streq(g, "autoscaling") && streq(r, "horizontalpodautoscalers"))
    hpa_defaults(obj, kind);
  return 0;
}

KUBE_EXPORT int kube_object_default(kube_object_t *obj, kube_error_t *err) {
  if (!obj)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_json_default(obj->root, NULL, err);
}
