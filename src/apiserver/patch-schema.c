/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Merge schema of the built-in kinds, transcribed from the struct tags of
 * k8s.io/api core/v1, apps/v1, batch/v1 and apimachinery's meta/v1
 * (patchStrategy, patchMergeKey, +listType, +listMapKey, +structType,
 * +mapType).  Only fields that differ from the default behaviour (objects
 * merged key by key, lists replaced) are listed.
 */
#include "apiserver/patch-schema.h"
#include "core/util.h"

/* clang-format off */
#define END {NULL, NULL, 0, 0, {NULL}}
#define MAP1(n, t, k, fl) {n, t, PATCH_LIST_MAP, fl, {k, NULL}}
#define MAP2(n, t, k1, k2, fl) {n, t, PATCH_LIST_MAP, fl, {k1, k2, NULL}}
#define SET(n, fl) {n, NULL, PATCH_LIST_SET, fl, {NULL}}
#define SUB(n, t, fl) {n, t, PATCH_LIST_NONE, fl, {NULL}}
#define ATOMIC(n) {n, NULL, PATCH_LIST_NONE, PATCH_F_ATOMIC, {NULL}}

/* ---- meta/v1 ------------------------------------------------------------ */

static const patch_field_t object_meta_fields[] = {
    /* +patchStrategy=merge, +listType=set */
    SET("finalizers", 0),
    /* +patchMergeKey=uid +patchStrategy=merge +listType=map +listMapKey=uid */
    MAP1("ownerReferences", NULL, "uid", 0),
    END,
};
static const patch_type_t object_meta = {"ObjectMeta", object_meta_fields};

/* ---- core/v1 ------------------------------------------------------------ */

static const patch_field_t resource_requirements_fields[] = {
    /* +listType=map +listMapKey=name (no patchStrategy) */
    MAP1("claims", NULL, "name", PATCH_F_SSA_ONLY),
    END,
};
static const patch_type_t resource_requirements = {
    "ResourceRequirements", resource_requirements_fields};

static const patch_field_t container_fields[] = {
    /* patchMergeKey containerPort; listMapKey containerPort + protocol */
    MAP2("ports", NULL, "containerPort", "protocol", 0),
    MAP1("env", NULL, "name", 0),
    MAP1("volumeMounts", NULL, "mountPath", 0),
    MAP1("volumeDevices", NULL, "devicePath", 0),
    SUB("resources", &resource_requirements, 0),
    END,
};
static const patch_type_t container = {"Container", container_fields};

static const patch_field_t pod_spec_fields[] = {
    MAP1("volumes", NULL, "name", PATCH_F_RETAIN_KEYS),
    MAP1("initContainers", &container, "name", 0),
    MAP1("containers", &container, "name", 0),
    MAP1("ephemeralContainers", &container, "name", 0),
    MAP1("imagePullSecrets", NULL, "name", 0),
    MAP1("hostAliases", NULL, "ip", 0),
    /* patchMergeKey topologyKey; listMapKey topologyKey+whenUnsatisfiable */
    MAP2("topologySpreadConstraints", NULL, "topologyKey", "whenUnsatisfiable",
         0),
    MAP1("schedulingGates", NULL, "name", 0),
    MAP1("resourceClaims", NULL, "name", PATCH_F_RETAIN_KEYS),
    /* +mapType=atomic */
    ATOMIC("nodeSelector"),
    END,
};
static const patch_type_t pod_spec = {"PodSpec", pod_spec_fields};

static const patch_field_t pod_status_fields[] = {
    MAP1("conditions", NULL, "type", 0),
    MAP1("podIPs", NULL, "ip", 0),
    MAP1("hostIPs", NULL, "ip", 0),
    MAP1("resourceClaimStatuses", NULL, "name", PATCH_F_RETAIN_KEYS),
    END,
};
static const patch_type_t pod_status = {"PodStatus", pod_status_fields};

static const patch_field_t pod_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &pod_spec, 0),
    SUB("status", &pod_status, 0),
    END,
};
static const patch_type_t pod = {"Pod", pod_fields};

static const patch_field_t pod_template_spec_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &pod_spec, 0),
    END,
};
static const patch_type_t pod_template_spec = {"PodTemplateSpec",
                                               pod_template_spec_fields};

static const patch_field_t pod_template_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("template", &pod_template_spec, 0),
    END,
};
static const patch_type_t pod_template = {"PodTemplate", pod_template_fields};

/* Status types whose only special field is conditions merged by type. */
static const patch_field_t conditions_status_fields[] = {
    MAP1("conditions", NULL, "type", 0),
    END,
};
static const patch_type_t conditions_status = {"ConditionsStatus",
                                               conditions_status_fields};

static const patch_field_t service_spec_fields[] = {
    /* patchMergeKey port; listMapKey port + protocol */
    MAP2("ports", NULL, "port", "protocol", 0),
    ATOMIC("selector"), /* +mapType=atomic */
    END,
};
static const patch_type_t service_spec = {"ServiceSpec", service_spec_fields};

static const patch_field_t service_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &service_spec, 0),
    SUB("status", &conditions_status, 0),
    END,
};
static const patch_type_t service = {"Service", service_fields};

static const patch_field_t node_spec_fields[] = {
    SET("podCIDRs", 0), /* patchStrategy=merge, +listType=set */
    END,
};
static const patch_type_t node_spec = {"NodeSpec", node_spec_fields};

static const patch_field_t node_status_fields[] = {
    MAP1("conditions", NULL, "type", 0),
    /* patchMergeKey type, but +listType=atomic for apply */
    MAP1("addresses", NULL, "type", PATCH_F_SMP_ONLY),
    END,
};
static const patch_type_t node_status = {"NodeStatus", node_status_fields};

static const patch_field_t node_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &node_spec, 0),
    SUB("status", &node_status, 0),
    END,
};
static const patch_type_t node = {"Node", node_fields};

/* Kinds with only metadata (and conditions in status) special. */
static const patch_field_t meta_only_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("status", &conditions_status, 0),
    END,
};
static const patch_type_t meta_only = {"Object", meta_only_fields};

static const patch_field_t service_account_fields[] = {
    SUB("metadata", &object_meta, 0),
    MAP1("secrets", NULL, "name", 0),
    END,
};
static const patch_type_t service_account = {"ServiceAccount",
                                             service_account_fields};

static const patch_field_t event_fields[] = {
    SUB("metadata", &object_meta, 0),
    ATOMIC("involvedObject"), /* ObjectReference: +structType=atomic */
    END,
};
static const patch_type_t event = {"Event", event_fields};

/* ReplicationControllerSpec.selector is a plain map: +mapType=atomic. */
static const patch_field_t rc_spec_fields[] = {
    ATOMIC("selector"),
    SUB("template", &pod_template_spec, 0),
    END,
};
static const patch_type_t rc_spec = {"ReplicationControllerSpec",
                                     rc_spec_fields};
static const patch_field_t rc_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &rc_spec, 0),
    SUB("status", &conditions_status, 0),
    END,
};
static const patch_type_t rc = {"ReplicationController", rc_fields};

/* ---- apps/v1 ------------------------------------------------------------ */

/* metav1.LabelSelector is +structType=atomic. */
static const patch_field_t workload_spec_fields[] = {
    ATOMIC("selector"),
    SUB("template", &pod_template_spec, 0),
    END,
};
static const patch_type_t workload_spec = {"WorkloadSpec",
                                           workload_spec_fields};

static const patch_field_t deployment_spec_fields[] = {
    ATOMIC("selector"),
    SUB("template", &pod_template_spec, 0),
    /* +patchStrategy=retainKeys */
    SUB("strategy", NULL, PATCH_F_RETAIN_KEYS),
    END,
};
static const patch_type_t deployment_spec = {"DeploymentSpec",
                                             deployment_spec_fields};

static const patch_field_t deployment_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &deployment_spec, 0),
    SUB("status", &conditions_status, 0),
    END,
};
static const patch_type_t deployment = {"Deployment", deployment_fields};

static const patch_field_t workload_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &workload_spec, 0),
    SUB("status", &conditions_status, 0),
    END,
};
/* ReplicaSet, DaemonSet, StatefulSet. */
static const patch_type_t workload = {"Workload", workload_fields};

/* ---- batch/v1 ----------------------------------------------------------- */

static const patch_field_t job_status_fields[] = {
    /* patchMergeKey type, +listType=atomic */
    MAP1("conditions", NULL, "type", PATCH_F_SMP_ONLY),
    END,
};
static const patch_type_t job_status = {"JobStatus", job_status_fields};

static const patch_field_t job_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &workload_spec, 0),
    SUB("status", &job_status, 0),
    END,
};
static const patch_type_t job = {"Job", job_fields};

static const patch_field_t job_template_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &workload_spec, 0),
    END,
};
static const patch_type_t job_template = {"JobTemplateSpec",
                                          job_template_fields};
static const patch_field_t cron_job_spec_fields[] = {
    SUB("jobTemplate", &job_template, 0),
    END,
};
static const patch_type_t cron_job_spec = {"CronJobSpec",
                                           cron_job_spec_fields};
static const patch_field_t cron_job_fields[] = {
    SUB("metadata", &object_meta, 0),
    SUB("spec", &cron_job_spec, 0),
    END,
};
static const patch_type_t cron_job = {"CronJob", cron_job_fields};

/* ---- kinds -------------------------------------------------------------- */

static const struct {
  const char *group;
  const char *kind;
  const patch_type_t *type;
} kinds[] = {
    {"", "Pod", &pod},
    {"", "PodTemplate", &pod_template},
    {"", "Service", &service},
    {"", "Node", &node},
    {"", "Namespace", &meta_only},
    {"", "ConfigMap", &meta_only},
    {"", "Secret", &meta_only},
    {"", "Endpoints", &meta_only},
    {"", "PersistentVolumeClaim", &meta_only},
    {"", "PersistentVolume", &meta_only},
    {"", "LimitRange", &meta_only},
    {"", "ResourceQuota", &meta_only},
    {"", "ServiceAccount", &service_account},
    {"", "Event", &event},
    {"", "ReplicationController", &rc},
    {"apps", "Deployment", &deployment},
    {"apps", "ReplicaSet", &workload},
    {"apps", "DaemonSet", &workload},
    {"apps", "StatefulSet", &workload},
    {"batch", "Job", &job},
    {"batch", "CronJob", &cron_job},
    {"autoscaling", "HorizontalPodAutoscaler", &meta_only},
    {"coordination.k8s.io", "Lease", &meta_only},
    {"events.k8s.io", "Event", &meta_only},
    {"discovery.k8s.io", "EndpointSlice", &meta_only},
    {"policy", "PodDisruptionBudget", &meta_only},
    {"networking.k8s.io", "Ingress", &meta_only},
    {"networking.k8s.io", "NetworkPolicy", &meta_only},
};

/* clang-format on */

const patch_type_t *as_patch_schema_lookup(const char *group,
                                           const char *kind) {
  if (!kind)
    return NULL;
  if (!group)
    group = "";
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
    if (streq(kinds[i].group, group) && streq(kinds[i].kind, kind))
      return kinds[i].type;
  return NULL;
}

const patch_type_t *as_patch_schema_for_kind(const kube_kind_t *kind) {
  if (!kind)
    return NULL;
  return as_patch_schema_lookup(kind->group, kind->kind);
}

const patch_type_t *as_patch_schema_for_object(json_object *obj) {
  json_object *av = NULL, *k = NULL;
  if (!json_object_is_type(obj, json_type_object) ||
      !json_object_object_get_ex(obj, "apiVersion", &av) ||
      !json_object_object_get_ex(obj, "kind", &k) ||
      !json_object_is_type(av, json_type_string) ||
      !json_object_is_type(k, json_type_string))
    return NULL;
  const char *api_version = json_object_get_string(av);
  const char *slash = strchr(api_version, '/');
  char group[128] = "";
  if (slash) {
    size_t n = (size_t)(slash - api_version);
    if (n >= sizeof(group))
      return NULL;
    memcpy(group, api_version, n);
    group[n] = '\0';
  }
  return as_patch_schema_lookup(group, json_object_get_string(k));
}

const patch_field_t *as_patch_schema_field(const patch_type_t *t,
                                           const char *name) {
  if (!t)
    return NULL;
  for (const patch_field_t *f = t->fields; f->name; f++)
    if (streq(f->name, name))
      return f;
  return NULL;
}

/* ---- json helpers ------------------------------------------------------- */

json_object *as_patch_json_copy(json_object *src) {
  json_object *dst = NULL;
  if (!src)
    return NULL;
  if (json_object_deep_copy(src, &dst, NULL) < 0)
    return NULL;
  return dst;
}

static bool is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) ||
         json_object_is_type(v, json_type_double);
}

bool as_patch_json_equal(json_object *a, json_object *b) {
  if (!a || !b)
    return a == b;
  if (is_number(a) && is_number(b)) {
    if (json_object_is_type(a, json_type_int) &&
        json_object_is_type(b, json_type_int)) {
      /* int64 vs uint64 of json-c: compare through both accessors. */
      return json_object_get_int64(a) == json_object_get_int64(b) &&
             json_object_get_uint64(a) == json_object_get_uint64(b);
    }
    return json_object_get_double(a) == json_object_get_double(b);
  }
  if (json_object_get_type(a) != json_object_get_type(b))
    return false;
  switch (json_object_get_type(a)) {
  case json_type_boolean:
    return json_object_get_boolean(a) == json_object_get_boolean(b);
  case json_type_string:
    return json_object_get_string_len(a) == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b),
                  (size_t)json_object_get_string_len(a)) == 0;
  case json_type_array: {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!as_patch_json_equal(json_object_array_get_idx(a, i),
                               json_object_array_get_idx(b, i)))
        return false;
    return true;
  }
  case json_type_object: {
    if (json_object_object_length(a) != json_object_object_length(b))
      return false;
    json_object_object_foreach(a, key, va) {
      json_object *vb = NULL;
      if (!json_object_object_get_ex(b, key, &vb) ||
          !as_patch_json_equal(va, vb))
        return false;
    }
    return true;
  }
  default:
    return true;
  }
}

int as_patch_json_array_insert(json_object *arr, size_t idx, json_object *val) {
  size_t n = json_object_array_length(arr);
  if (idx > n || json_object_array_add(arr, NULL) < 0) {
    json_object_put(val);
    return -1;
  }
  /* Shift right by one; put_idx releases the slot's previous reference. */
  for (size_t i = n; i > idx; i--) {
    json_object *prev = json_object_array_get_idx(arr, i - 1);
    json_object_array_put_idx(arr, i, json_object_get(prev));
  }
  json_object_array_put_idx(arr, idx, val);
  return 0;
}

int as_patch_json_set(json_object *obj, const char *key, json_object *val) {
  if (json_object_object_add(obj, key, val) < 0) {
    json_object_put(val);
    return -1;
  }
  return 0;
}

const char *as_patch_json_type_name(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "boolean";
  case json_type_double:
  case json_type_int:
    return "number";
  case json_type_object:
    return "object";
  case json_type_array:
    return "array";
  case json_type_string:
    return "string";
  }
  return "value";
}
