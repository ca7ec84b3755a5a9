/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kinds table: every resource libkube serves, with what discovery and
 * kubectl need (names, verbs, short names, categories, subresources) and the
 * Table columns of the real API server's printers
 * (k8s.io/kubernetes/pkg/printers/internalversion).  Column names are
 * upper-cased as kubectl shows them.
 */
#include <ctype.h>
#include <strings.h>

#include "api/internal.h"

#define DESC_NAME                                                              \
  "Name must be unique within a namespace. Is required when creating "         \
  "resources, although some resources may allow a client to request the "      \
  "generation of an appropriate name automatically. Name is primarily "        \
  "intended for creation idempotence and configuration definition. Cannot "    \
  "be updated. More info: "                                                    \
  "https://kubernetes.io/docs/concepts/overview/working-with-objects/"         \
  "names#names"
#define DESC_AGE                                                               \
  "CreationTimestamp is a timestamp representing the server time when this "   \
  "object was created. It is not guaranteed to be set in happens-before "      \
  "order across separate operations. Clients may not set this value. It is "   \
  "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "    \
  "Read-only. Null for lists. More info: "                                     \
  "https://git.k8s.io/community/contributors/devel/sig-architecture/"          \
  "api-conventions.md#metadata"
#define DESC_CONTAINERS "Names of each container in the template."
#define DESC_IMAGES "Images referenced by each container in the template."

#define COL_NAME                                                               \
  { "NAME", "string", "name", DESC_NAME, 0 }
#define COL_AGE                                                                \
  { "AGE", "string", "", DESC_AGE, 0 }
#define COL(n, t, d)                                                           \
  { n, t, "", d, 0 }
#define COLW(n, t, d)                                                          \
  { n, t, "", d, 1 }
#define COL_END                                                                \
  { NULL, NULL, NULL, NULL, 0 }

static const kube_kind_column_t generic_columns[] = {COL_NAME, COL_AGE,
                                                     COL_END};

static const kube_kind_column_t pod_columns[] = {
    COL_NAME,
    COL("READY", "string",
        "The aggregate readiness state of this pod for accepting traffic."),
    COL("STATUS", "string",
        "The aggregate status of the containers in this pod."),
    COL("RESTARTS", "string",
        "The number of times the containers in this pod have been restarted "
        "and when the last container in this pod has restarted."),
    COL_AGE,
    COLW("IP", "string",
         "podIP address allocated to the pod. Routable at least within the "
         "cluster. Empty if not yet allocated."),
    COLW("NODE", "string",
         "NodeName indicates in which node this pod is scheduled."),
    COLW("NOMINATED NODE", "string",
         "nominatedNodeName is set only when this pod preempts other pods on "
         "the node, but it cannot be scheduled right away as preemption "
         "victims receive their graceful termination periods."),
    COLW("READINESS GATES", "string",
         "If specified, all readiness gates will be evaluated for pod "
         "readiness."),
    COL_END};

static const kube_kind_column_t rc_columns[] = {
    COL_NAME,
    COL("DESIRED", "integer", "Replicas is the number of desired replicas."),
    COL("CURRENT", "integer",
        "Replicas is the most recently observed number of replicas."),
    COL("READY", "integer",
        "The number of ready replicas for this replication controller."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "Selector is a label query over pods that should match the Replicas "
         "count."),
    COL_END};

static const kube_kind_column_t rs_columns[] = {
    COL_NAME,
    COL("DESIRED", "integer", "Replicas is the number of desired replicas."),
    COL("CURRENT", "integer",
        "Replicas is the most recently observed number of replicas."),
    COL("READY", "integer",
        "The number of ready replicas for this replica set."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "Selector is a label query over pods that should match the replica "
         "count."),
    COL_END};

static const kube_kind_column_t ds_columns[] = {
    COL_NAME,
    COL("DESIRED", "integer",
        "The total number of nodes that should be running the daemon pod."),
    COL("CURRENT", "integer",
        "The number of nodes that are running at least 1 daemon pod and are "
        "supposed to run the daemon pod."),
    COL("READY", "integer",
        "The number of nodes that should be running the daemon pod and have "
        "one or more of the daemon pod running and ready."),
    COL("UP-TO-DATE", "integer",
        "The total number of nodes that are running updated daemon pod"),
    COL("AVAILABLE", "integer",
        "The number of nodes that should be running the daemon pod and have "
        "one or more of the daemon pod running and available."),
    COL("NODE SELECTOR", "string",
        "NodeSelector is a selector which must be true for the pod to fit on "
        "a node."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "A label query over pods that are managed by the daemon set."),
    COL_END};

static const kube_kind_column_t job_columns[] = {
    COL_NAME,
    COL("STATUS", "string", "Status of the job."),
    COL("COMPLETIONS", "string",
        "The number of pods which reached phase Succeeded."),
    COL("DURATION", "string", "Time required to complete the job."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "A label query over pods that should match the pod count."),
    COL_END};

static const kube_kind_column_t cronjob_columns[] = {
    COL_NAME,
    COL("SCHEDULE", "string",
        "The schedule in Cron format, see "
        "https://en.wikipedia.org/wiki/Cron."),
    COL("TIMEZONE", "string", "The time zone name for the given schedule."),
    COL("SUSPEND", "boolean",
        "This flag tells the controller to suspend subsequent executions, it "
        "does not apply to already started executions.  Defaults to false."),
    COL("ACTIVE", "integer", "A list of pointers to currently running jobs."),
    COL("LAST SCHEDULE", "string",
        "Information when was the last time the job was successfully "
        "scheduled."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "A label query over pods that should match the pod count."),
    COL_END};

static const kube_kind_column_t service_columns[] = {
    COL_NAME,
    COL("TYPE", "string",
        "type determines how the Service is exposed. Defaults to ClusterIP."),
    COL("CLUSTER-IP", "string",
        "clusterIP is the IP address of the service and is usually assigned "
        "randomly."),
    COL("EXTERNAL-IP", "string",
        "externalIPs is a list of IP addresses for which nodes in the "
        "cluster will also accept traffic for this service."),
    COL("PORT(S)", "string",
        "The list of ports that are exposed by this service."),
    COL_AGE,
    COLW("SELECTOR", "string",
         "Route service traffic to pods with label keys and values matching "
         "this selector."),
    COL_END};

static const kube_kind_column_t sts_columns[] = {
    COL_NAME,
    COL("READY", "string", "Number of the pod with ready state"),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COL_END};

static const kube_kind_column_t endpoints_columns[] = {
    COL_NAME,
    COL("ENDPOINTS", "string",
        "The set of all endpoints is the union of all subsets."),
    COL_AGE, COL_END};

static const kube_kind_column_t node_columns[] = {
    COL_NAME,
    COL("STATUS", "string", "The status of the node"),
    COL("ROLES", "string", "The roles of the node"),
    COL_AGE,
    COL("VERSION", "string", "Kubelet Version reported by the node."),
    COLW("INTERNAL-IP", "string", "List of addresses reachable to the node."),
    COLW("EXTERNAL-IP", "string", "List of addresses reachable to the node."),
    COLW("OS-IMAGE", "string",
         "OS Image reported by the node from /etc/os-release."),
    COLW("KERNEL-VERSION", "string",
         "Kernel Version reported by the node from 'uname -r'."),
    COLW("CONTAINER-RUNTIME", "string",
         "ContainerRuntime Version reported by the node through runtime "
         "remote API."),
    COL_END};

static const kube_kind_column_t event_columns[] = {
    COL("LAST SEEN", "string",
        "The time at which the most recent occurrence of this event was "
        "recorded."),
    COL("TYPE", "string", "Type of this event (Normal, Warning)."),
    COL("REASON", "string",
        "This should be a short, machine understandable string that gives "
        "the reason for the transition into the object's current status."),
    COL("OBJECT", "string", "The object that this event is about."),
    COLW("SUBOBJECT", "string",
         "If referring to a piece of an object instead of an entire object, "
         "this string should contain a valid JSON/Go field access "
         "statement."),
    COLW("SOURCE", "string", "The component reporting this event."),
    COL("MESSAGE", "string",
        "A human-readable description of the status of this operation."),
    COLW("FIRST SEEN", "string",
         "The time at which the event was first recorded."),
    COLW("COUNT", "string", "The number of times this event has occurred."),
    {"NAME", "string", "name", DESC_NAME, 1},
    COL_END};

static const kube_kind_column_t namespace_columns[] = {
    COL_NAME, COL("STATUS", "string", "The status of the namespace"), COL_AGE,
    COL_END};

static const kube_kind_column_t secret_columns[] = {
    COL_NAME,
    COL("TYPE", "string",
        "Used to facilitate programmatic handling of "
        "secret data."),
    COL("DATA", "string",
        "Data contains the secret data. Each key must consist of "
        "alphanumeric characters, '-', '_' or '.'."),
    COL_AGE, COL_END};

static const kube_kind_column_t sa_columns[] = {
    COL_NAME,
    COL("SECRETS", "string",
        "Secrets is a list of the secrets in the same namespace that pods "
        "running using this ServiceAccount are allowed to use."),
    COL_AGE, COL_END};

static const kube_kind_column_t pv_columns[] = {
    COL_NAME,
    COL("CAPACITY", "string",
        "capacity is the description of the persistent volume's resources "
        "and capacity."),
    COL("ACCESS MODES", "string",
        "accessModes contains all ways the volume can be mounted."),
    COL("RECLAIM POLICY", "string",
        "persistentVolumeReclaimPolicy defines what happens to a persistent "
        "volume when released from its claim."),
    COL("STATUS", "string",
        "phase indicates if a volume is available, bound to a claim, or "
        "released by a claim."),
    COL("CLAIM", "string",
        "claimRef is part of a bi-directional binding between "
        "PersistentVolume and PersistentVolumeClaim."),
    COL("STORAGECLASS", "string", "StorageClass of the pv"),
    COL("VOLUMEATTRIBUTESCLASS", "string", "VolumeAttributesClass of the pv"),
    COL("REASON", "string",
        "reason is a brief CamelCase string that describes any failure and "
        "is meant for machine parsing and tidy display in the CLI."),
    COL_AGE,
    COLW("VOLUMEMODE", "string",
         "volumeMode defines if a volume is intended to be used with a "
         "formatted filesystem or to remain in raw block state."),
    COL_END};

static const kube_kind_column_t pvc_columns[] = {
    COL_NAME,
    COL("STATUS", "string",
        "phase represents the current phase of PersistentVolumeClaim."),
    COL("VOLUME", "string",
        "volumeName is the binding reference to the PersistentVolume backing "
        "this claim."),
    COL("CAPACITY", "string",
        "capacity represents the actual resources of the underlying "
        "volume."),
    COL("ACCESS MODES", "string",
        "accessModes contains the actual access modes the volume backing the "
        "PVC has."),
    COL("STORAGECLASS", "string", "StorageClass of the pvc"),
    COL("VOLUMEATTRIBUTESCLASS", "string", "VolumeAttributesClass of the pvc"),
    COL_AGE,
    COLW("VOLUMEMODE", "string",
         "volumeMode defines what type of volume is required by the claim."),
    COL_END};

static const kube_kind_column_t deployment_columns[] = {
    COL_NAME,
    COL("READY", "string", "Number of the pod with ready state"),
    COL("UP-TO-DATE", "string",
        "Total number of non-terminated pods targeted by this deployment "
        "that have the desired template spec."),
    COL("AVAILABLE", "string",
        "Total number of available pods (ready for at least minReadySeconds) "
        "targeted by this deployment."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "Label selector for pods. Existing ReplicaSets whose pods are "
         "selected by this will be the ones affected by this deployment."),
    COL_END};

static const kube_kind_column_t hpa_columns[] = {
    COL_NAME,
    COL("REFERENCE", "string",
        "scaleTargetRef points to the target resource to scale."),
    COL("TARGETS", "string",
        "metrics contains the specifications for which to use to calculate "
        "the desired replica count."),
    COL("MINPODS", "string",
        "minReplicas is the lower limit for the number of replicas to which "
        "the autoscaler can scale down."),
    COL("MAXPODS", "string",
        "maxReplicas is the upper limit for the number of replicas to which "
        "the autoscaler can scale up."),
    COL("REPLICAS", "string",
        "currentReplicas is current number of replicas of pods managed by "
        "this autoscaler."),
    COL_AGE,
    COL_END};

static const kube_kind_column_t configmap_columns[] = {
    COL_NAME,
    COL("DATA", "string",
        "Data contains the configuration data. Each key must consist of "
        "alphanumeric characters, '-', '_' or '.'."),
    COL_AGE, COL_END};

static const kube_kind_column_t lease_columns[] = {
    COL_NAME,
    COL("HOLDER", "string",
        "holderIdentity contains the identity of the holder of a current "
        "lease."),
    COL_AGE, COL_END};

static const kube_kind_column_t limitrange_columns[] = {
    COL_NAME, COL("CREATED AT", "date", DESC_AGE), COL_END};

static const kube_kind_column_t quota_columns[] = {
    COL_NAME, COL_AGE,
    COL("REQUEST", "string",
        "Request represents a minimum amount of cpu/memory that a container "
        "may consume."),
    COL("LIMIT", "string",
        "Limits control the maximum amount of cpu/memory that a container "
        "may use independent of contention on the node."),
    COL_END};

static const kube_kind_column_t endpointslice_columns[] = {
    COL_NAME,
    COL("ADDRESSTYPE", "string",
        "addressType specifies the type of address carried by this "
        "EndpointSlice."),
    COL("PORTS", "string",
        "ports specifies the list of network ports exposed by each endpoint "
        "in this slice."),
    COL("ENDPOINTS", "string",
        "endpoints is a list of unique endpoints in this slice."),
    COL_AGE,
    COL_END};

/* ---- verbs, names ------------------------------------------------------ */

static const char *const verbs_all[] = {"create", "delete", "deletecollection",
                                        "get",    "list",   "patch",
                                        "update", "watch",  NULL};
static const char *const verbs_namespace[] = {
    "create", "delete", "get", "list", "patch", "update", "watch", NULL};
static const char *const cat_all[] = {"all", NULL};

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const sub_pods[] = {
    "attach", "binding", "ephemeralcontainers", "eviction",
    "exec",   "log",     "portforward",         "proxy",
    "status", NULL};
static const char *const sub_status[] = {"status", NULL};
static const char *const sub_status_scale[] = {"scale", "status", NULL};
static const char *const sub_status_proxy[] = {"proxy", "status", NULL};
static const char *const sub_namespace[] = {"finalize", "status", NULL};
static const char *const sub_sa[] = {"token", NULL};

static const char *const sel_pods[] = {"spec.nodeName",
                                       "spec.restartPolicy",
                                       "spec.schedulerName",
                                       "spec.serviceAccountName",
                                       "spec.hostNetwork",
                                       "status.phase",
                                       "status.podIP",
                                       "status.podIPs",
                                       "status.nominatedNodeName",
                                       NULL};
static const char *const sel_nodes[] = {"spec.unschedulable", NULL};
static const char *const sel_events[] = {"involvedObject.kind",
                                         "involvedObject.namespace",
                                         "involvedObject.name",
                                         "involvedObject.uid",
                                         "involvedObject.apiVersion",
                                         "involvedObject.resourceVersion",
                                         "involvedObject.fieldPath",
                                         "reason",
                                         "reportingComponent",
                                         "source",
                                         "type",
                                         NULL};
static const char *const sel_events_v1[] = {"regarding.kind",
                                            "regarding.namespace",
                                            "regarding.name",
                                            "regarding.uid",
                                            "regarding.apiVersion",
                                            "regarding.resourceVersion",
                                            "regarding.fieldPath",
                                            "reason",
                                            "reportingController",
                                            "type",
                                            NULL};
static const char *const sel_secrets[] = {"type", NULL};
static const char *const sel_namespaces[] = {"status.phase", NULL};
static const char *const sel_replicas[] = {"status.replicas", NULL};
static const char *const sel_jobs[] = {"status.successful", NULL};
static const char *const sel_services[] = {"spec.clusterIP", "spec.type", NULL};

#define KIND(g, v, k, r, s, ns, shorts, verbs, cats, subs, cols, sel)          \
  { g, v, k, r, s, k "List", ns, shorts, verbs, cats, subs, cols, sel }

static const kube_kind_t kinds[] = {
    /* core/v1 */
    KIND("", "v1", "Pod", "pods", "pod", true, NAMES("po"), verbs_all, cat_all,
         sub_pods, pod_columns, sel_pods),
    KIND("", "v1", "Node", "nodes", "node", false, NAMES("no"), verbs_all, NULL,
         sub_status_proxy, node_columns, sel_nodes),
    KIND("", "v1", "Service", "services", "service", true, NAMES("svc"),
         verbs_all, cat_all, sub_status_proxy, service_columns, sel_services),
    KIND("", "v1", "Endpoints", "endpoints", "endpoints", true, NAMES("ep"),
         verbs_all, NULL, NULL, endpoints_columns, NULL),
    KIND("", "v1", "Namespace", "namespaces", "namespace", false, NAMES("ns"),
         verbs_namespace, NULL, sub_namespace, namespace_columns,
         sel_namespaces),
    KIND("", "v1", "Event", "events", "event", true, NAMES("ev"), verbs_all,
         NULL, NULL, event_columns, sel_events),
    KIND("", "v1", "ConfigMap", "configmaps", "configmap", true, NAMES("cm"),
         verbs_all, NULL, NULL, configmap_columns, NULL),
    KIND("", "v1", "Secret", "secrets", "secret", true, NULL, verbs_all, NULL,
         NULL, secret_columns, sel_secrets),
    KIND("", "v1", "ReplicationController", "replicationcontrollers",
         "replicationcontroller", true, NAMES("rc"), verbs_all, cat_all,
         sub_status_scale, rc_columns, sel_replicas),
    KIND("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true,
         NAMES("sa"), verbs_all, NULL, sub_sa, sa_columns, NULL),
    KIND("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
         "persistentvolumeclaim", true, NAMES("pvc"), verbs_all, NULL,
         sub_status, pvc_columns, NULL),
    KIND("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume",
         false, NAMES("pv"), verbs_all, NULL, sub_status, pv_columns, NULL),
    KIND("", "v1", "LimitRange", "limitranges", "limitrange", true,
         NAMES("limits"), verbs_all, NULL, NULL, limitrange_columns, NULL),
    KIND("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", true,
         NAMES("quota"), verbs_all, NULL, sub_status, quota_columns, NULL),
    /* apps/v1 */
    KIND("apps", "v1", "Deployment", "deployments", "deployment", true,
         NAMES("deploy"), verbs_all, cat_all, sub_status_scale,
         deployment_columns, NULL),
    KIND("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true,
         NAMES("rs"), verbs_all, cat_all, sub_status_scale, rs_columns,
         sel_replicas),
    KIND("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true,
         NAMES("ds"), verbs_all, cat_all, sub_status, ds_columns, NULL),
    KIND("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true,
         NAMES("sts"), verbs_all, cat_all, sub_status_scale, sts_columns, NULL),
    /* autoscaling: v2 is the preferred version */
    KIND("autoscaling", "v2", "HorizontalPodAutoscaler",
         "horizontalpodautoscalers", "horizontalpodautoscaler", true,
         NAMES("hpa"), verbs_all, cat_all, sub_status, hpa_columns, NULL),
    KIND("autoscaling", "v1", "HorizontalPodAutoscaler",
         "horizontalpodautoscalers", "horizontalpodautoscaler", true,
         NAMES("hpa"), verbs_all, cat_all, sub_status, hpa_columns, NULL),
    /* batch/v1 */
    KIND("batch", "v1", "Job", "jobs", "job", true, NULL, verbs_all, cat_all,
         sub_status, job_columns, sel_jobs),
    KIND("batch", "v1", "CronJob", "cronjobs", "cronjob", true, NAMES("cj"),
         verbs_all, cat_all, sub_status, cronjob_columns, NULL),
    /* coordination.k8s.io/v1 */
    KIND("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, NULL,
         verbs_all, NULL, NULL, lease_columns, NULL),
    /* discovery.k8s.io/v1 */
    KIND("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
         "endpointslice", true, NULL, verbs_all, NULL, NULL,
         endpointslice_columns, NULL),
    /* events.k8s.io/v1 */
    KIND("events.k8s.io", "v1", "Event", "events", "event", true, NAMES("ev"),
         verbs_all, NULL, NULL, event_columns, sel_events_v1),
};

/* The column names as the API server's Table sends them ("Name",
 * "Nominated Node"); kubectl upper-cases them for display. */
static const struct {
  const char *shown, *server;
} server_names[] = {
    {"NAME", "Name"},
    {"READY", "Ready"},
    {"STATUS", "Status"},
    {"RESTARTS", "Restarts"},
    {"AGE", "Age"},
    {"IP", "IP"},
    {"NODE", "Node"},
    {"NOMINATED NODE", "Nominated Node"},
    {"READINESS GATES", "Readiness Gates"},
    {"DESIRED", "Desired"},
    {"CURRENT", "Current"},
    {"CONTAINERS", "Containers"},
    {"IMAGES", "Images"},
    {"SELECTOR", "Selector"},
    {"UP-TO-DATE", "Up-to-date"},
    {"AVAILABLE", "Available"},
    {"NODE SELECTOR", "Node Selector"},
    {"COMPLETIONS", "Completions"},
    {"DURATION", "Duration"},
    {"SCHEDULE", "Schedule"},
    {"TIMEZONE", "Timezone"},
    {"SUSPEND", "Suspend"},
    {"ACTIVE", "Active"},
    {"LAST SCHEDULE", "Last Schedule"},
    {"TYPE", "Type"},
    {"CLUSTER-IP", "Cluster-IP"},
    {"EXTERNAL-IP", "External-IP"},
    {"PORT(S)", "Port(s)"},
    {"ENDPOINTS", "Endpoints"},
    {"ROLES", "Roles"},
    {"VERSION", "Version"},
    {"INTERNAL-IP", "Internal-IP"},
    {"OS-IMAGE", "OS-Image"},
    {"KERNEL-VERSION", "Kernel-Version"},
    {"CONTAINER-RUNTIME", "Container-Runtime"},
    {"LAST SEEN", "Last Seen"},
    {"REASON", "Reason"},
    {"OBJECT", "Object"},
    {"SUBOBJECT", "Subobject"},
    {"SOURCE", "Source"},
    {"MESSAGE", "Message"},
    {"FIRST SEEN", "First Seen"},
    {"COUNT", "Count"},
    {"DATA", "Data"},
    {"SECRETS", "Secrets"},
    {"CAPACITY", "Capacity"},
    {"ACCESS MODES", "Access Modes"},
    {"RECLAIM POLICY", "Reclaim Policy"},
    {"CLAIM", "Claim"},
    {"STORAGECLASS", "StorageClass"},
    {"VOLUMEATTRIBUTESCLASS", "VolumeAttributesClass"},
    {"VOLUMEMODE", "VolumeMode"},
    {"VOLUME", "Volume"},
    {"REFERENCE", "Reference"},
    {"TARGETS", "Targets"},
    {"MINPODS", "MinPods"},
    {"MAXPODS", "MaxPods"},
    {"REPLICAS", "Replicas"},
    {"HOLDER", "Holder"},
    {"CREATED AT", "Created At"},
    {"REQUEST", "Request"},
    {"LIMIT", "Limit"},
    {"ADDRESSTYPE", "AddressType"},
    {"PORTS", "Ports"},
};

KUBE_EXPORT const char *
kube_kind_column_server_name(const kube_kind_column_t *col) {
  if (!col || !col->name)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE(server_names); i++)
    if (streq(server_names[i].shown, col->name))
      return server_names[i].server;
  return col->name;
}

KUBE_EXPORT size_t kube_kinds_count(void) {
  return ARRAY_SIZE(kinds);
}

KUBE_EXPORT const kube_kind_t *kube_kinds_at(size_t i) {
  return i < ARRAY_SIZE(kinds) ? &kinds[i] : NULL;
}

KUBE_EXPORT const kube_kind_column_t *kube_kind_generic_columns(void) {
  return generic_columns;
}

KUBE_EXPORT const kube_kind_t *kube_kind_by_resource(const char *group,
                                                     const char *version,
                                                     const char *resource) {
  if (!resource)
    return NULL;
  if (!group)
    group = "";
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const kube_kind_t *k = &kinds[i];
    if (streq(k->group, group) && streq(k->resource, resource) &&
        (!version || streq(k->version, version)))
      return k;
  }
  return NULL;
}

KUBE_EXPORT const kube_kind_t *kube_kind_by_kind(const char *api_version,
                                                 const char *kind) {
  if (!kind)
    return NULL;
  const char *group = "", *version = api_version;
  size_t glen = 0;
  if (api_version) {
    const char *slash = strchr(api_version, '/');
    if (slash) {
      group = api_version;
      glen = (size_t)(slash - api_version);
      version = slash + 1;
    }
  }
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const kube_kind_t *k = &kinds[i];
    if (!streq(k->kind, kind))
      continue;
    if (!api_version)
      return k;
    if (strlen(k->group) == glen && strncmp(k->group, group, glen) == 0 &&
        streq(k->version, version))
      return k;
  }
  return NULL;
}

static bool name_matches(const kube_kind_t *k, const char *name) {
  if (strcasecmp(k->resource, name) == 0 ||
      strcasecmp(k->singular, name) == 0 || strcasecmp(k->kind, name) == 0)
    return true;
  for (const char *const *s = k->short_names; s && *s; s++)
    if (strcasecmp(*s, name) == 0)
      return true;
  return false;
}

/* "v1", "v2beta1", "v1alpha1" */
static bool looks_like_version(const char *s, size_t len) {
  if (len < 2 || s[0] != 'v' || !isdigit((unsigned char)s[1]))
    return false;
  size_t i = 1;
  while (i < len && isdigit((unsigned char)s[i]))
    i++;
  if (i == len)
    return true;
  const char *rest = s + i;
  size_t rl = len - i;
  size_t pl;
  if (rl > 5 && strncmp(rest, "alpha", 5) == 0)
    pl = 5;
  else if (rl > 4 && strncmp(rest, "beta", 4) == 0)
    pl = 4;
  else
    return false;
  for (size_t j = pl; j < rl; j++)
    if (!isdigit((unsigned char)rest[j]))
      return false;
  return true;
}

KUBE_EXPORT const kube_kind_t *kube_kind_resolve(const char *name) {
  if (!name || !*name)
    return NULL;
  char buf[256];
  size_t len = strlen(name);
  if (len >= sizeof(buf))
    return NULL;
  memcpy(buf, name, len + 1);

  const char *group = NULL, *version = NULL;
  char *dot = strchr(buf, '.');
  if (dot) {
    *dot = '\0';
    char *rest = dot + 1;
    char *dot2 = strchr(rest, '.');
    size_t first = dot2 ? (size_t)(dot2 - rest) : strlen(rest);
    if (looks_like_version(rest, first)) {
      version = rest;
      if (dot2) {
        *dot2 = '\0';
        group = dot2 + 1;
      } else {
        group = "";
      }
    } else {
      group = rest;
    }
  }
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    const kube_kind_t *k = &kinds[i];
    if (group && strcasecmp(k->group, group) != 0)
      continue;
    if (version && !streq(k->version, version))
      continue;
    if (name_matches(k, buf))
      return k;
  }
  return NULL;
}

KUBE_EXPORT char *kube_kind_api_version(const kube_kind_t *k, char *buf,
                                        size_t len) {
  if (!buf || len == 0)
    return buf;
  if (!k) {
    buf[0] = '\0';
    return buf;
  }
  if (k->group[0])
    snprintf(buf, len, "%s/%s", k->group, k->version);
  else
    snprintf(buf, len, "%s", k->version);
  return buf;
}

const kube_kind_t *api_kind_of_tree(json_object *obj) {
  return kube_kind_by_kind(jget_str(obj, "apiVersion"), jget_str(obj, "kind"));
}
