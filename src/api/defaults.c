/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Defaulting, as Kubernetes' SetDefaults_* functions do it (plus the few
 * admission-time fields every real cluster shows on a pod: priority 0, the
 * default service account, the not-ready/unreachable tolerations and the
 * initial Pending status with its QoS class).
 */
#include "api/kinds/kind.h"

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
void api_default_pod_spec(json_object *spec) {
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

json_object *api_template_of(json_object *spec) {
  return jget_obj(spec, "template");
}

/* Labels of the object default to the template's (RC, Job). */
void api_labels_from_template(json_object *obj, json_object *tmpl) {
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

void api_default_template(json_object *spec) {
  api_default_pod_spec(jget_obj(api_template_of(spec), "spec"));
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
  const struct kube_kind_strategy *st = api_kind_strategy(kind);
  if (st->defaults)
    st->defaults(obj, kind);
  return 0;
}

KUBE_EXPORT int kube_object_default(kube_object_t *obj, kube_error_t *err) {
  if (!obj)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_json_default(obj->root, NULL, err);
}
