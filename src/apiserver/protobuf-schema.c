/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protobuf message tables, transcribed from the generated.proto files of
 * k8s.io/api (core/v1, apps/v1, batch/v1) and k8s.io/apimachinery
 * (meta/v1 ObjectMeta, LabelSelector, Time, Condition; intstr;
 * resource.Quantity).  Fields not listed are skipped by the decoder.
 * PB_KEEP marks Go pointer fields (and a few without omitempty) whose zero
 * value must still appear in JSON; other zero scalars are omitted, as Go's
 * `omitempty` does.
 */
#include <stddef.h>
#include <string.h>

#include "apiserver/protobuf-schema.h"

/* clang-format off */
#define END {0, 0, 0, NULL, NULL}
#define STR(n, j) {n, PB_STRING, 0, j, NULL}
#define STRK(n, j) {n, PB_STRING, PB_KEEP, j, NULL}
#define RSTR(n, j) {n, PB_STRING, PB_REP, j, NULL}
#define I32(n, j) {n, PB_INT32, 0, j, NULL}
#define I32K(n, j) {n, PB_INT32, PB_KEEP, j, NULL}
#define I64(n, j) {n, PB_INT64, 0, j, NULL}
#define I64K(n, j) {n, PB_INT64, PB_KEEP, j, NULL}
#define RI64(n, j) {n, PB_INT64, PB_REP, j, NULL}
#define BOOL(n, j) {n, PB_BOOL, 0, j, NULL}
#define BOOLK(n, j) {n, PB_BOOL, PB_KEEP, j, NULL}
#define MSG(n, j, m) {n, PB_MSG, 0, j, &m}
#define RMSG(n, j, m) {n, PB_MSG, PB_REP, j, &m}
#define INLINE(n, m) {n, PB_INLINE, 0, NULL, &m}
#define MAPSTR(n, j) {n, PB_MAP_STR, 0, j, NULL}
#define MAPBYTES(n, j) {n, PB_MAP_BYTES, 0, j, NULL}
#define MAPQTY(n, j) {n, PB_MAP_QTY, 0, j, NULL}
#define TIME(n, j) {n, PB_TIME, 0, j, NULL}
#define MTIME(n, j) {n, PB_MICROTIME, 0, j, NULL}
#define QTY(n, j) {n, PB_QTY, 0, j, NULL}
#define INTSTR(n, j) {n, PB_INTSTR, 0, j, NULL}
#define INTSTRK(n, j) {n, PB_INTSTR, PB_KEEP, j, NULL}
#define RAWJSON(n, j) {n, PB_RAWJSON, 0, j, NULL}

#define MESSAGE(name, ...)                                                     \
  static const pb_field_t name##_fields[] = {__VA_ARGS__, END};                \
  static const pb_msg_t name = {#name, name##_fields}

/* Tentative definitions so messages can refer to each other in any order. */
static const pb_msg_t ObjectMeta, OwnerReference, ManagedFieldsEntry,
    LabelSelector, LabelSelectorRequirement, Condition;
static const pb_msg_t LocalObjectReference, ObjectReference,
    ObjectFieldSelector, ResourceFieldSelector, ConfigMapKeySelector,
    SecretKeySelector, EnvVarSource, EnvVar, ConfigMapEnvSource,
    SecretEnvSource, EnvFromSource, ContainerPort, ResourceClaim,
    ResourceRequirements, VolumeMount, VolumeDevice, ExecAction, HTTPHeader,
    HTTPGetAction, TCPSocketAction, GRPCAction, SleepAction, ProbeHandler,
    Probe, LifecycleHandler, Lifecycle, Capabilities, SELinuxOptions,
    WindowsSecurityContextOptions, SeccompProfile, AppArmorProfile,
    SecurityContext, ContainerResizePolicy, Container, EphemeralContainer;
static const pb_msg_t KeyToPath, HostPathVolumeSource, EmptyDirVolumeSource,
    SecretVolumeSource, NFSVolumeSource, PersistentVolumeClaimVolumeSource,
    DownwardAPIVolumeFile, DownwardAPIVolumeSource, ConfigMapVolumeSource,
    SecretProjection, ConfigMapProjection, DownwardAPIProjection,
    ServiceAccountTokenProjection, VolumeProjection, ProjectedVolumeSource,
    CSIVolumeSource, GCEPersistentDiskVolumeSource,
    AWSElasticBlockStoreVolumeSource, GitRepoVolumeSource,
    EphemeralVolumeSource, PersistentVolumeClaimTemplate, VolumeSource,
    Volume;
static const pb_msg_t Toleration, HostAlias, PodDNSConfigOption, PodDNSConfig,
    PodReadinessGate, Sysctl, PodSecurityContext, NodeSelectorRequirement,
    NodeSelectorTerm, NodeSelector, PreferredSchedulingTerm, NodeAffinity,
    PodAffinityTerm, WeightedPodAffinityTerm, PodAffinity, Affinity,
    TopologySpreadConstraint, PodOS, PodSchedulingGate, ClaimSource,
    PodResourceClaim, PodSpec, ContainerStateWaiting, ContainerStateRunning,
    ContainerStateTerminated, ContainerState, ContainerStatus, PodCondition,
    PodIP, PodStatus, Pod, PodTemplateSpec, PodTemplate;
static const pb_msg_t ServicePort, ClientIPConfig, SessionAffinityConfig,
    ServiceSpec, PortStatus, LoadBalancerIngress, LoadBalancerStatus,
    ServiceStatus, Service, NamespaceSpec, NamespaceCondition,
    NamespaceStatus, Namespace, ConfigMap, Secret, ServiceAccount,
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Taint,
    NodeSpec, NodeAddress, NodeCondition, DaemonEndpoint,
    NodeDaemonEndpoints, NodeSystemInfo, ContainerImage, AttachedVolume,
    NodeStatus, Node, EventSource, EventSeries, Event, ReplicaCondition,
    ReplicationControllerSpec, ReplicationControllerStatus,
    ReplicationController, ScopedResourceSelectorRequirement, ScopeSelector,
    ResourceQuotaSpec, ResourceQuotaStatus, ResourceQuota, LimitRangeItem,
    LimitRangeSpec, LimitRange, TypedLocalObjectReference,
    TypedObjectReference, PersistentVolumeClaimSpec,
    PersistentVolumeClaimCondition, PersistentVolumeClaimStatus,
    PersistentVolumeClaim;
static const pb_msg_t RollingUpdateDeployment, DeploymentStrategy,
    DeploymentSpec, DeploymentCondition, DeploymentStatus, Deployment,
    ReplicaSetSpec, ReplicaSetStatus, ReplicaSet, RollingUpdateDaemonSet,
    DaemonSetUpdateStrategy, DaemonSetSpec, DaemonSetStatus, DaemonSet,
    RollingUpdateStatefulSetStrategy, StatefulSetUpdateStrategy,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetOrdinals,
    StatefulSetSpec, StatefulSetStatus, StatefulSet;
static const pb_msg_t JobSpec, JobCondition, UncountedTerminatedPods,
    JobStatus, Job, JobTemplateSpec, CronJobSpec, CronJobStatus, CronJob;
static const pb_msg_t CrossVersionObjectReference,
    HorizontalPodAutoscalerSpecV1, HorizontalPodAutoscalerStatusV1,
    HorizontalPodAutoscalerV1;

/* ---- meta/v1 ------------------------------------------------------------ */

MESSAGE(ObjectMeta, STR(1, "name"), STR(2, "generateName"),
        STR(3, "namespace"), STR(4, "selfLink"), STR(5, "uid"),
        STR(6, "resourceVersion"), I64(7, "generation"),
        TIME(8, "creationTimestamp"), TIME(9, "deletionTimestamp"),
        I64K(10, "deletionGracePeriodSeconds"), MAPSTR(11, "labels"),
        MAPSTR(12, "annotations"),
        RMSG(13, "ownerReferences", OwnerReference),
        RSTR(14, "finalizers"),
        RMSG(17, "managedFields", ManagedFieldsEntry));
MESSAGE(OwnerReference, STR(5, "apiVersion"), STR(1, "kind"), STR(3, "name"),
        STR(4, "uid"), BOOLK(6, "controller"),
        BOOLK(7, "blockOwnerDeletion"));
MESSAGE(ManagedFieldsEntry, STR(1, "manager"), STR(2, "operation"),
        STR(3, "apiVersion"), TIME(4, "time"), STR(6, "fieldsType"),
        RAWJSON(7, "fieldsV1"), STR(8, "subresource"));
MESSAGE(LabelSelector, MAPSTR(1, "matchLabels"),
        RMSG(2, "matchExpressions", LabelSelectorRequirement));
MESSAGE(LabelSelectorRequirement, STR(1, "key"), STR(2, "operator"),
        RSTR(3, "values"));
MESSAGE(Condition, STR(1, "type"), STR(2, "status"),
        I64(3, "observedGeneration"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));

/* ---- core/v1: containers ------------------------------------------------ */

MESSAGE(LocalObjectReference, STR(1, "name"));
MESSAGE(ObjectReference, STR(1, "kind"), STR(2, "namespace"), STR(3, "name"),
        STR(4, "uid"), STR(5, "apiVersion"), STR(6, "resourceVersion"),
        STR(7, "fieldPath"));
MESSAGE(ObjectFieldSelector, STR(1, "apiVersion"), STR(2, "fieldPath"));
MESSAGE(ResourceFieldSelector, STR(1, "containerName"), STR(2, "resource"),
        QTY(3, "divisor"));
MESSAGE(ConfigMapKeySelector, INLINE(1, LocalObjectReference), STR(2, "key"),
        BOOLK(3, "optional"));
MESSAGE(SecretKeySelector, INLINE(1, LocalObjectReference), STR(2, "key"),
        BOOLK(3, "optional"));
MESSAGE(EnvVarSource, MSG(1, "fieldRef", ObjectFieldSelector),
        MSG(2, "resourceFieldRef", ResourceFieldSelector),
        MSG(3, "configMapKeyRef", ConfigMapKeySelector),
        MSG(4, "secretKeyRef", SecretKeySelector));
MESSAGE(EnvVar, STR(1, "name"), STR(2, "value"),
        MSG(3, "valueFrom", EnvVarSource));
MESSAGE(ConfigMapEnvSource, INLINE(1, LocalObjectReference),
        BOOLK(2, "optional"));
MESSAGE(SecretEnvSource, INLINE(1, LocalObjectReference),
        BOOLK(2, "optional"));
MESSAGE(EnvFromSource, STR(1, "prefix"),
        MSG(2, "configMapRef", ConfigMapEnvSource),
        MSG(3, "secretRef", SecretEnvSource));
MESSAGE(ContainerPort, STR(1, "name"), I32(2, "hostPort"),
        I32K(3, "containerPort"), STR(4, "protocol"), STR(5, "hostIP"));
MESSAGE(ResourceClaim, STR(1, "name"), STR(2, "request"));
MESSAGE(ResourceRequirements, MAPQTY(1, "limits"), MAPQTY(2, "requests"),
        RMSG(3, "claims", ResourceClaim));
MESSAGE(VolumeMount, STR(1, "name"), BOOL(2, "readOnly"),
        STR(3, "mountPath"), STR(4, "subPath"), STRK(5, "mountPropagation"),
        STR(6, "subPathExpr"), STRK(7, "recursiveReadOnly"));
MESSAGE(VolumeDevice, STR(1, "name"), STR(2, "devicePath"));
MESSAGE(ExecAction, RSTR(1, "command"));
MESSAGE(HTTPHeader, STR(1, "name"), STRK(2, "value"));
MESSAGE(HTTPGetAction, STR(1, "path"), INTSTRK(2, "port"), STR(3, "host"),
        STR(4, "scheme"), RMSG(5, "httpHeaders", HTTPHeader));
MESSAGE(TCPSocketAction, INTSTRK(1, "port"), STR(2, "host"));
MESSAGE(GRPCAction, I32K(1, "port"), STRK(2, "service"));
MESSAGE(SleepAction, I64K(1, "seconds"));
MESSAGE(ProbeHandler, MSG(1, "exec", ExecAction),
        MSG(2, "httpGet", HTTPGetAction), MSG(3, "tcpSocket", TCPSocketAction),
        MSG(4, "grpc", GRPCAction));
MESSAGE(Probe, INLINE(1, ProbeHandler), I32(2, "initialDelaySeconds"),
        I32(3, "timeoutSeconds"), I32(4, "periodSeconds"),
        I32(5, "successThreshold"), I32(6, "failureThreshold"),
        I64K(7, "terminationGracePeriodSeconds"));
MESSAGE(LifecycleHandler, MSG(1, "exec", ExecAction),
        MSG(2, "httpGet", HTTPGetAction), MSG(3, "tcpSocket", TCPSocketAction),
        MSG(4, "sleep", SleepAction));
MESSAGE(Lifecycle, MSG(1, "postStart", LifecycleHandler),
        MSG(2, "preStop", LifecycleHandler), STRK(3, "stopSignal"));
MESSAGE(Capabilities, RSTR(1, "add"), RSTR(2, "drop"));
MESSAGE(SELinuxOptions, STR(1, "user"), STR(2, "role"), STR(3, "type"),
        STR(4, "level"));
MESSAGE(WindowsSecurityContextOptions, STRK(1, "gmsaCredentialSpecName"),
        STRK(2, "gmsaCredentialSpec"), STRK(3, "runAsUserName"),
        BOOLK(4, "hostProcess"));
MESSAGE(SeccompProfile, STR(1, "type"), STRK(2, "localhostProfile"));
MESSAGE(AppArmorProfile, STR(1, "type"), STRK(2, "localhostProfile"));
MESSAGE(SecurityContext, MSG(1, "capabilities", Capabilities),
        BOOLK(2, "privileged"), MSG(3, "seLinuxOptions", SELinuxOptions),
        MSG(10, "windowsOptions", WindowsSecurityContextOptions),
        I64K(4, "runAsUser"), I64K(8, "runAsGroup"), BOOLK(5, "runAsNonRoot"),
        BOOLK(6, "readOnlyRootFilesystem"),
        BOOLK(7, "allowPrivilegeEscalation"), STRK(9, "procMount"),
        MSG(11, "seccompProfile", SeccompProfile),
        MSG(12, "appArmorProfile", AppArmorProfile));
MESSAGE(ContainerResizePolicy, STR(1, "resourceName"),
        STR(2, "restartPolicy"));
MESSAGE(Container, STR(1, "name"), STR(2, "image"), RSTR(3, "command"),
        RSTR(4, "args"), STR(5, "workingDir"),
        RMSG(6, "ports", ContainerPort), RMSG(19, "envFrom", EnvFromSource),
        RMSG(7, "env", EnvVar), MSG(8, "resources", ResourceRequirements),
        RMSG(23, "resizePolicy", ContainerResizePolicy),
        STRK(24, "restartPolicy"), RMSG(9, "volumeMounts", VolumeMount),
        RMSG(21, "volumeDevices", VolumeDevice),
        MSG(10, "livenessProbe", Probe), MSG(11, "readinessProbe", Probe),
        MSG(22, "startupProbe", Probe), MSG(12, "lifecycle", Lifecycle),
        STR(13, "terminationMessagePath"),
        STR(20, "terminationMessagePolicy"), STR(14, "imagePullPolicy"),
        MSG(15, "securityContext", SecurityContext), BOOL(16, "stdin"),
        BOOL(17, "stdinOnce"), BOOL(18, "tty"));
/* EphemeralContainerCommon has Container's field numbers. */
MESSAGE(EphemeralContainer, INLINE(1, Container),
        STR(2, "targetContainerName"));

/* ---- core/v1: volumes --------------------------------------------------- */

MESSAGE(KeyToPath, STR(1, "key"), STR(2, "path"), I32K(3, "mode"));
MESSAGE(HostPathVolumeSource, STR(1, "path"), STRK(2, "type"));
MESSAGE(EmptyDirVolumeSource, STR(1, "medium"), QTY(2, "sizeLimit"));
MESSAGE(SecretVolumeSource, STR(1, "secretName"),
        RMSG(2, "items", KeyToPath), I32K(3, "defaultMode"),
        BOOLK(4, "optional"));
MESSAGE(NFSVolumeSource, STR(1, "server"), STR(2, "path"),
        BOOL(3, "readOnly"));
MESSAGE(PersistentVolumeClaimVolumeSource, STR(1, "claimName"),
        BOOL(2, "readOnly"));
MESSAGE(DownwardAPIVolumeFile, STR(1, "path"),
        MSG(2, "fieldRef", ObjectFieldSelector),
        MSG(3, "resourceFieldRef", ResourceFieldSelector), I32K(4, "mode"));
MESSAGE(DownwardAPIVolumeSource, RMSG(1, "items", DownwardAPIVolumeFile),
        I32K(2, "defaultMode"));
MESSAGE(ConfigMapVolumeSource, INLINE(1, LocalObjectReference),
        RMSG(2, "items", KeyToPath), I32K(3, "defaultMode"),
        BOOLK(4, "optional"));
MESSAGE(SecretProjection, INLINE(1, LocalObjectReference),
        RMSG(2, "items", KeyToPath), BOOLK(4, "optional"));
MESSAGE(ConfigMapProjection, INLINE(1, LocalObjectReference),
        RMSG(2, "items", KeyToPath), BOOLK(4, "optional"));
MESSAGE(DownwardAPIProjection, RMSG(1, "items", DownwardAPIVolumeFile));
MESSAGE(ServiceAccountTokenProjection, STR(1, "audience"),
        I64K(2, "expirationSeconds"), STR(3, "path"));
MESSAGE(VolumeProjection, MSG(1, "secret", SecretProjection),
        MSG(2, "downwardAPI", DownwardAPIProjection),
        MSG(3, "configMap", ConfigMapProjection),
        MSG(4, "serviceAccountToken", ServiceAccountTokenProjection));
MESSAGE(ProjectedVolumeSource, RMSG(1, "sources", VolumeProjection),
        I32K(2, "defaultMode"));
MESSAGE(CSIVolumeSource, STR(1, "driver"), BOOLK(2, "readOnly"),
        STRK(3, "fsType"), MAPSTR(4, "volumeAttributes"),
        MSG(5, "nodePublishSecretRef", LocalObjectReference));
MESSAGE(GCEPersistentDiskVolumeSource, STR(1, "pdName"), STR(2, "fsType"),
        I32(3, "partition"), BOOL(4, "readOnly"));
MESSAGE(AWSElasticBlockStoreVolumeSource, STR(1, "volumeID"),
        STR(2, "fsType"), I32(3, "partition"), BOOL(4, "readOnly"));
MESSAGE(GitRepoVolumeSource, STR(1, "repository"), STR(2, "revision"),
        STR(3, "directory"));
MESSAGE(PersistentVolumeClaimTemplate, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", PersistentVolumeClaimSpec));
MESSAGE(EphemeralVolumeSource,
        MSG(1, "volumeClaimTemplate", PersistentVolumeClaimTemplate));
MESSAGE(VolumeSource, MSG(1, "hostPath", HostPathVolumeSource),
        MSG(2, "emptyDir", EmptyDirVolumeSource),
        MSG(3, "gcePersistentDisk", GCEPersistentDiskVolumeSource),
        MSG(4, "awsElasticBlockStore", AWSElasticBlockStoreVolumeSource),
        MSG(5, "gitRepo", GitRepoVolumeSource),
        MSG(6, "secret", SecretVolumeSource), MSG(7, "nfs", NFSVolumeSource),
        MSG(10, "persistentVolumeClaim", PersistentVolumeClaimVolumeSource),
        MSG(16, "downwardAPI", DownwardAPIVolumeSource),
        MSG(19, "configMap", ConfigMapVolumeSource),
        MSG(26, "projected", ProjectedVolumeSource),
        MSG(28, "csi", CSIVolumeSource),
        MSG(29, "ephemeral", EphemeralVolumeSource));
MESSAGE(Volume, STR(1, "name"), INLINE(2, VolumeSource));

/* ---- core/v1: pods ------------------------------------------------------ */

MESSAGE(Toleration, STR(1, "key"), STR(2, "operator"), STR(3, "value"),
        STR(4, "effect"), I64K(5, "tolerationSeconds"));
MESSAGE(HostAlias, STR(1, "ip"), RSTR(2, "hostnames"));
MESSAGE(PodDNSConfigOption, STR(1, "name"), STRK(2, "value"));
MESSAGE(PodDNSConfig, RSTR(1, "nameservers"), RSTR(2, "searches"),
        RMSG(3, "options", PodDNSConfigOption));
MESSAGE(PodReadinessGate, STR(1, "conditionType"));
MESSAGE(Sysctl, STR(1, "name"), STR(2, "value"));
MESSAGE(PodSecurityContext, MSG(1, "seLinuxOptions", SELinuxOptions),
        MSG(8, "windowsOptions", WindowsSecurityContextOptions),
        I64K(2, "runAsUser"), I64K(6, "runAsGroup"),
        BOOLK(3, "runAsNonRoot"), RI64(4, "supplementalGroups"),
        STRK(12, "supplementalGroupsPolicy"), I64K(5, "fsGroup"),
        RMSG(7, "sysctls", Sysctl), STRK(9, "fsGroupChangePolicy"),
        MSG(10, "seccompProfile", SeccompProfile),
        MSG(11, "appArmorProfile", AppArmorProfile),
        STRK(13, "seLinuxChangePolicy"));
MESSAGE(NodeSelectorRequirement, STR(1, "key"), STR(2, "operator"),
        RSTR(3, "values"));
MESSAGE(NodeSelectorTerm,
        RMSG(1, "matchExpressions", NodeSelectorRequirement),
        RMSG(2, "matchFields", NodeSelectorRequirement));
MESSAGE(NodeSelector, RMSG(1, "nodeSelectorTerms", NodeSelectorTerm));
MESSAGE(PreferredSchedulingTerm, I32K(1, "weight"),
        MSG(2, "preference", NodeSelectorTerm));
MESSAGE(NodeAffinity,
        MSG(1, "requiredDuringSchedulingIgnoredDuringExecution",
            NodeSelector),
        RMSG(2, "preferredDuringSchedulingIgnoredDuringExecution",
             PreferredSchedulingTerm));
MESSAGE(PodAffinityTerm, MSG(1, "labelSelector", LabelSelector),
        RSTR(2, "namespaces"), STR(3, "topologyKey"),
        MSG(4, "namespaceSelector", LabelSelector),
        RSTR(5, "matchLabelKeys"), RSTR(6, "mismatchLabelKeys"));
MESSAGE(WeightedPodAffinityTerm, I32K(1, "weight"),
        MSG(2, "podAffinityTerm", PodAffinityTerm));
/* PodAntiAffinity has the same layout. */
MESSAGE(PodAffinity,
        RMSG(1, "requiredDuringSchedulingIgnoredDuringExecution",
             PodAffinityTerm),
        RMSG(2, "preferredDuringSchedulingIgnoredDuringExecution",
             WeightedPodAffinityTerm));
MESSAGE(Affinity, MSG(1, "nodeAffinity", NodeAffinity),
        MSG(2, "podAffinity", PodAffinity),
        MSG(3, "podAntiAffinity", PodAffinity));
MESSAGE(TopologySpreadConstraint, I32K(1, "maxSkew"), STR(2, "topologyKey"),
        STR(3, "whenUnsatisfiable"), MSG(4, "labelSelector", LabelSelector),
        I32K(5, "minDomains"), STRK(6, "nodeAffinityPolicy"),
        STRK(7, "nodeTaintsPolicy"), RSTR(8, "matchLabelKeys"));
MESSAGE(PodOS, STR(1, "name"));
MESSAGE(PodSchedulingGate, STR(1, "name"));
MESSAGE(ClaimSource, STRK(1, "resourceClaimName"),
        STRK(2, "resourceClaimTemplateName"));
/* source=2 is the 1.26-1.27 layout, 3/4 the later one. */
MESSAGE(PodResourceClaim, STR(1, "name"), MSG(2, "source", ClaimSource),
        STRK(3, "resourceClaimName"), STRK(4, "resourceClaimTemplateName"));
MESSAGE(PodSpec, RMSG(1, "volumes", Volume),
        RMSG(20, "initContainers", Container),
        RMSG(2, "containers", Container),
        RMSG(34, "ephemeralContainers", EphemeralContainer),
        STR(3, "restartPolicy"), I64K(4, "terminationGracePeriodSeconds"),
        I64K(5, "activeDeadlineSeconds"), STR(6, "dnsPolicy"),
        MAPSTR(7, "nodeSelector"), STR(8, "serviceAccountName"),
        STR(9, "serviceAccount"), BOOLK(21, "automountServiceAccountToken"),
        STR(10, "nodeName"), BOOL(11, "hostNetwork"), BOOL(12, "hostPID"),
        BOOL(13, "hostIPC"), BOOLK(27, "shareProcessNamespace"),
        MSG(14, "securityContext", PodSecurityContext),
        RMSG(15, "imagePullSecrets", LocalObjectReference),
        STR(16, "hostname"), STR(17, "subdomain"),
        MSG(18, "affinity", Affinity), STR(19, "schedulerName"),
        RMSG(22, "tolerations", Toleration),
        RMSG(23, "hostAliases", HostAlias), STR(24, "priorityClassName"),
        I32K(25, "priority"), MSG(26, "dnsConfig", PodDNSConfig),
        RMSG(28, "readinessGates", PodReadinessGate),
        STRK(29, "runtimeClassName"), BOOLK(30, "enableServiceLinks"),
        STRK(31, "preemptionPolicy"), MAPQTY(32, "overhead"),
        RMSG(33, "topologySpreadConstraints", TopologySpreadConstraint),
        BOOLK(35, "setHostnameAsFQDN"), MSG(36, "os", PodOS),
        BOOLK(37, "hostUsers"),
        RMSG(38, "schedulingGates", PodSchedulingGate),
        RMSG(39, "resourceClaims", PodResourceClaim),
        MSG(40, "resources", ResourceRequirements),
        STRK(41, "hostnameOverride"));
MESSAGE(ContainerStateWaiting, STR(1, "reason"), STR(2, "message"));
MESSAGE(ContainerStateRunning, TIME(1, "startedAt"));
MESSAGE(ContainerStateTerminated, I32K(1, "exitCode"), I32(2, "signal"),
        STR(3, "reason"), STR(4, "message"), TIME(5, "startedAt"),
        TIME(6, "finishedAt"), STR(7, "containerID"));
MESSAGE(ContainerState, MSG(1, "waiting", ContainerStateWaiting),
        MSG(2, "running", ContainerStateRunning),
        MSG(3, "terminated", ContainerStateTerminated));
/* name, ready, restartCount, image, imageID have no omitempty. */
MESSAGE(ContainerStatus, STRK(1, "name"), MSG(2, "state", ContainerState),
        MSG(3, "lastState", ContainerState), BOOLK(4, "ready"),
        I32K(5, "restartCount"), STRK(6, "image"), STRK(7, "imageID"),
        STR(8, "containerID"), BOOLK(9, "started"));
MESSAGE(PodCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastProbeTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(PodIP, STR(1, "ip"));
MESSAGE(PodStatus, STR(1, "phase"), RMSG(2, "conditions", PodCondition),
        STR(3, "message"), STR(4, "reason"), STR(11, "nominatedNodeName"),
        STR(5, "hostIP"), STR(6, "podIP"), RMSG(12, "podIPs", PodIP),
        TIME(7, "startTime"),
        RMSG(10, "initContainerStatuses", ContainerStatus),
        RMSG(8, "containerStatuses", ContainerStatus), STR(9, "qosClass"),
        RMSG(13, "ephemeralContainerStatuses", ContainerStatus));
MESSAGE(Pod, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", PodSpec),
        MSG(3, "status", PodStatus));
MESSAGE(PodTemplateSpec, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", PodSpec));
MESSAGE(PodTemplate, MSG(1, "metadata", ObjectMeta),
        MSG(2, "template", PodTemplateSpec));

/* ---- core/v1: services, config, nodes, misc ---------------------------- */

MESSAGE(ServicePort, STR(1, "name"), STR(2, "protocol"),
        STRK(6, "appProtocol"), I32K(3, "port"), INTSTR(4, "targetPort"),
        I32(5, "nodePort"));
MESSAGE(ClientIPConfig, I32K(1, "timeoutSeconds"));
MESSAGE(SessionAffinityConfig, MSG(1, "clientIP", ClientIPConfig));
MESSAGE(ServiceSpec, RMSG(1, "ports", ServicePort), MAPSTR(2, "selector"),
        STR(3, "clusterIP"), RSTR(18, "clusterIPs"), STR(4, "type"),
        RSTR(5, "externalIPs"), STR(7, "sessionAffinity"),
        STR(8, "loadBalancerIP"), RSTR(9, "loadBalancerSourceRanges"),
        STR(10, "externalName"), STR(11, "externalTrafficPolicy"),
        I32(12, "healthCheckNodePort"), BOOL(13, "publishNotReadyAddresses"),
        MSG(14, "sessionAffinityConfig", SessionAffinityConfig),
        RSTR(19, "ipFamilies"), STRK(17, "ipFamilyPolicy"),
        BOOLK(20, "allocateLoadBalancerNodePorts"),
        STRK(21, "loadBalancerClass"), STRK(22, "internalTrafficPolicy"),
        STRK(23, "trafficDistribution"));
MESSAGE(PortStatus, I32K(1, "port"), STR(2, "protocol"), STRK(3, "error"));
MESSAGE(LoadBalancerIngress, STR(1, "ip"), STR(2, "hostname"),
        STRK(3, "ipMode"), RMSG(4, "ports", PortStatus));
MESSAGE(LoadBalancerStatus, RMSG(1, "ingress", LoadBalancerIngress));
MESSAGE(ServiceStatus, MSG(1, "loadBalancer", LoadBalancerStatus),
        RMSG(2, "conditions", Condition));
MESSAGE(Service, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", ServiceSpec),
        MSG(3, "status", ServiceStatus));
MESSAGE(NamespaceSpec, RSTR(1, "finalizers"));
MESSAGE(NamespaceCondition, STR(1, "type"), STR(2, "status"),
        TIME(4, "lastTransitionTime"), STR(5, "reason"), STR(6, "message"));
MESSAGE(NamespaceStatus, STR(1, "phase"),
        RMSG(2, "conditions", NamespaceCondition));
MESSAGE(Namespace, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", NamespaceSpec), MSG(3, "status", NamespaceStatus));
MESSAGE(ConfigMap, MSG(1, "metadata", ObjectMeta), BOOLK(4, "immutable"),
        MAPSTR(2, "data"), MAPBYTES(3, "binaryData"));
MESSAGE(Secret, MSG(1, "metadata", ObjectMeta), BOOLK(5, "immutable"),
        MAPBYTES(2, "data"), MAPSTR(4, "stringData"), STR(3, "type"));
MESSAGE(ServiceAccount, MSG(1, "metadata", ObjectMeta),
        RMSG(2, "secrets", ObjectReference),
        RMSG(3, "imagePullSecrets", LocalObjectReference),
        BOOLK(4, "automountServiceAccountToken"));
MESSAGE(EndpointAddress, STR(1, "ip"), STR(3, "hostname"),
        STRK(4, "nodeName"), MSG(2, "targetRef", ObjectReference));
MESSAGE(EndpointPort, STR(1, "name"), I32K(2, "port"), STR(3, "protocol"),
        STRK(4, "appProtocol"));
MESSAGE(EndpointSubset, RMSG(1, "addresses", EndpointAddress),
        RMSG(2, "notReadyAddresses", EndpointAddress),
        RMSG(3, "ports", EndpointPort));
MESSAGE(Endpoints, MSG(1, "metadata", ObjectMeta),
        RMSG(2, "subsets", EndpointSubset));
MESSAGE(Taint, STR(1, "key"), STR(2, "value"), STR(3, "effect"),
        TIME(4, "timeAdded"));
MESSAGE(NodeSpec, STR(1, "podCIDR"), RSTR(7, "podCIDRs"),
        STR(3, "providerID"), BOOL(4, "unschedulable"),
        RMSG(5, "taints", Taint), STR(2, "externalID"));
MESSAGE(NodeAddress, STR(1, "type"), STR(2, "address"));
MESSAGE(NodeCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastHeartbeatTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(DaemonEndpoint, I32K(1, "Port"));
MESSAGE(NodeDaemonEndpoints, MSG(1, "kubeletEndpoint", DaemonEndpoint));
/* Every field of nodeInfo is required (no omitempty). */
MESSAGE(NodeSystemInfo, STRK(1, "machineID"), STRK(2, "systemUUID"),
        STRK(3, "bootID"), STRK(4, "kernelVersion"), STRK(5, "osImage"),
        STRK(6, "containerRuntimeVersion"), STRK(7, "kubeletVersion"),
        STRK(8, "kubeProxyVersion"), STRK(9, "operatingSystem"),
        STRK(10, "architecture"));
MESSAGE(ContainerImage, RSTR(1, "names"), I64(2, "sizeBytes"));
MESSAGE(AttachedVolume, STR(1, "name"), STR(2, "devicePath"));
MESSAGE(NodeStatus, MAPQTY(1, "capacity"), MAPQTY(2, "allocatable"),
        STR(3, "phase"), RMSG(4, "conditions", NodeCondition),
        RMSG(5, "addresses", NodeAddress),
        MSG(6, "daemonEndpoints", NodeDaemonEndpoints),
        MSG(7, "nodeInfo", NodeSystemInfo),
        RMSG(8, "images", ContainerImage), RSTR(9, "volumesInUse"),
        RMSG(10, "volumesAttached", AttachedVolume));
MESSAGE(Node, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", NodeSpec),
        MSG(3, "status", NodeStatus));
MESSAGE(EventSource, STR(1, "component"), STR(2, "host"));
MESSAGE(EventSeries, I32(1, "count"), MTIME(2, "lastObservedTime"));
MESSAGE(Event, MSG(1, "metadata", ObjectMeta),
        MSG(2, "involvedObject", ObjectReference), STR(3, "reason"),
        STR(4, "message"), MSG(5, "source", EventSource),
        TIME(6, "firstTimestamp"), TIME(7, "lastTimestamp"),
        I32(8, "count"), STR(9, "type"), MTIME(10, "eventTime"),
        MSG(11, "series", EventSeries), STR(12, "action"),
        MSG(13, "related", ObjectReference), STR(14, "reportingComponent"),
        STR(15, "reportingInstance"));
/* ReplicationController, ReplicaSet, DaemonSet and StatefulSet conditions
 * share this layout. */
MESSAGE(ReplicaCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastTransitionTime"), STR(4, "reason"), STR(5, "message"));
MESSAGE(ReplicationControllerSpec, I32K(1, "replicas"),
        I32(4, "minReadySeconds"), MAPSTR(2, "selector"),
        MSG(3, "template", PodTemplateSpec));
MESSAGE(ReplicationControllerStatus, I32K(1, "replicas"),
        I32(2, "fullyLabeledReplicas"), I32(4, "readyReplicas"),
        I32(5, "availableReplicas"), I64(3, "observedGeneration"),
        RMSG(6, "conditions", ReplicaCondition));
MESSAGE(ReplicationController, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", ReplicationControllerSpec),
        MSG(3, "status", ReplicationControllerStatus));
MESSAGE(ScopedResourceSelectorRequirement, STR(1, "scopeName"),
        STR(2, "operator"), RSTR(3, "values"));
MESSAGE(ScopeSelector,
        RMSG(1, "matchExpressions", ScopedResourceSelectorRequirement));
MESSAGE(ResourceQuotaSpec, MAPQTY(1, "hard"), RSTR(2, "scopes"),
        MSG(3, "scopeSelector", ScopeSelector));
MESSAGE(ResourceQuotaStatus, MAPQTY(1, "hard"), MAPQTY(2, "used"));
MESSAGE(ResourceQuota, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", ResourceQuotaSpec),
        MSG(3, "status", ResourceQuotaStatus));
MESSAGE(LimitRangeItem, STR(1, "type"), MAPQTY(2, "max"), MAPQTY(3, "min"),
        MAPQTY(4, "default"), MAPQTY(5, "defaultRequest"),
        MAPQTY(6, "maxLimitRequestRatio"));
MESSAGE(LimitRangeSpec, RMSG(1, "limits", LimitRangeItem));
MESSAGE(LimitRange, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", LimitRangeSpec));
MESSAGE(TypedLocalObjectReference, STRK(1, "apiGroup"), STR(2, "kind"),
        STR(3, "name"));
MESSAGE(TypedObjectReference, STRK(1, "apiGroup"), STR(2, "kind"),
        STR(3, "name"), STRK(4, "namespace"));
/* resources is VolumeResourceRequirements since 1.29: same numbers. */
MESSAGE(PersistentVolumeClaimSpec, RSTR(1, "accessModes"),
        MSG(4, "selector", LabelSelector),
        MSG(2, "resources", ResourceRequirements), STR(3, "volumeName"),
        STRK(5, "storageClassName"), STRK(6, "volumeMode"),
        MSG(7, "dataSource", TypedLocalObjectReference),
        MSG(8, "dataSourceRef", TypedObjectReference),
        STRK(9, "volumeAttributesClassName"));
MESSAGE(PersistentVolumeClaimCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastProbeTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(PersistentVolumeClaimStatus, STR(1, "phase"),
        RSTR(2, "accessModes"), MAPQTY(3, "capacity"),
        RMSG(4, "conditions", PersistentVolumeClaimCondition),
        MAPQTY(5, "allocatedResources"));
MESSAGE(PersistentVolumeClaim, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", PersistentVolumeClaimSpec),
        MSG(3, "status", PersistentVolumeClaimStatus));

/* ---- apps/v1 ------------------------------------------------------------ */

MESSAGE(RollingUpdateDeployment, INTSTRK(1, "maxUnavailable"),
        INTSTRK(2, "maxSurge"));
MESSAGE(DeploymentStrategy, STR(1, "type"),
        MSG(2, "rollingUpdate", RollingUpdateDeployment));
MESSAGE(DeploymentSpec, I32K(1, "replicas"), MSG(2, "selector", LabelSelector),
        MSG(3, "template", PodTemplateSpec),
        MSG(4, "strategy", DeploymentStrategy), I32(5, "minReadySeconds"),
        I32K(6, "revisionHistoryLimit"), BOOL(7, "paused"),
        I32K(9, "progressDeadlineSeconds"));
MESSAGE(DeploymentCondition, STR(1, "type"), STR(2, "status"),
        TIME(6, "lastUpdateTime"), TIME(7, "lastTransitionTime"),
        STR(4, "reason"), STR(5, "message"));
MESSAGE(DeploymentStatus, I64(1, "observedGeneration"), I32(2, "replicas"),
        I32(3, "updatedReplicas"), I32(7, "readyReplicas"),
        I32(4, "availableReplicas"), I32(5, "unavailableReplicas"),
        I32K(9, "terminatingReplicas"),
        RMSG(6, "conditions", DeploymentCondition),
        I32K(8, "collisionCount"));
MESSAGE(Deployment, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", DeploymentSpec), MSG(3, "status", DeploymentStatus));
MESSAGE(ReplicaSetSpec, I32K(1, "replicas"), I32(4, "minReadySeconds"),
        MSG(2, "selector", LabelSelector),
        MSG(3, "template", PodTemplateSpec));
MESSAGE(ReplicaSetStatus, I32K(1, "replicas"),
        I32(2, "fullyLabeledReplicas"), I32(4, "readyReplicas"),
        I32(5, "availableReplicas"), I32K(7, "terminatingReplicas"),
        I64(3, "observedGeneration"),
        RMSG(6, "conditions", ReplicaCondition));
MESSAGE(ReplicaSet, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", ReplicaSetSpec), MSG(3, "status", ReplicaSetStatus));
MESSAGE(RollingUpdateDaemonSet, INTSTRK(1, "maxUnavailable"),
        INTSTRK(2, "maxSurge"));
MESSAGE(DaemonSetUpdateStrategy, STR(1, "type"),
        MSG(2, "rollingUpdate", RollingUpdateDaemonSet));
MESSAGE(DaemonSetSpec, MSG(1, "selector", LabelSelector),
        MSG(2, "template", PodTemplateSpec),
        MSG(3, "updateStrategy", DaemonSetUpdateStrategy),
        I32(4, "minReadySeconds"), I32K(6, "revisionHistoryLimit"));
MESSAGE(DaemonSetStatus, I32K(1, "currentNumberScheduled"),
        I32K(2, "numberMisscheduled"), I32K(3, "desiredNumberScheduled"),
        I32K(4, "numberReady"), I64(5, "observedGeneration"),
        I32(6, "updatedNumberScheduled"), I32(7, "numberAvailable"),
        I32(8, "numberUnavailable"), I32K(9, "collisionCount"),
        RMSG(10, "conditions", ReplicaCondition));
MESSAGE(DaemonSet, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", DaemonSetSpec), MSG(3, "status", DaemonSetStatus));
MESSAGE(RollingUpdateStatefulSetStrategy, I32K(1, "partition"),
        INTSTRK(2, "maxUnavailable"));
MESSAGE(StatefulSetUpdateStrategy, STR(1, "type"),
        MSG(2, "rollingUpdate", RollingUpdateStatefulSetStrategy));
MESSAGE(StatefulSetPersistentVolumeClaimRetentionPolicy,
        STR(1, "whenDeleted"), STR(2, "whenScaled"));
MESSAGE(StatefulSetOrdinals, I32(1, "start"));
MESSAGE(StatefulSetSpec, I32K(1, "replicas"),
        MSG(2, "selector", LabelSelector),
        MSG(3, "template", PodTemplateSpec),
        RMSG(4, "volumeClaimTemplates", PersistentVolumeClaim),
        STR(5, "serviceName"), STR(6, "podManagementPolicy"),
        MSG(7, "updateStrategy", StatefulSetUpdateStrategy),
        I32K(8, "revisionHistoryLimit"), I32(9, "minReadySeconds"),
        MSG(10, "persistentVolumeClaimRetentionPolicy",
            StatefulSetPersistentVolumeClaimRetentionPolicy),
        MSG(11, "ordinals", StatefulSetOrdinals));
MESSAGE(StatefulSetStatus, I64(1, "observedGeneration"), I32K(2, "replicas"),
        I32(3, "readyReplicas"), I32(4, "currentReplicas"),
        I32(5, "updatedReplicas"), STR(6, "currentRevision"),
        STR(7, "updateRevision"), I32K(9, "collisionCount"),
        RMSG(10, "conditions", ReplicaCondition),
        I32(11, "availableReplicas"));
MESSAGE(StatefulSet, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", StatefulSetSpec), MSG(3, "status", StatefulSetStatus));

/* ---- batch/v1 ----------------------------------------------------------- */

MESSAGE(JobSpec, I32K(1, "parallelism"), I32K(2, "completions"),
        I64K(3, "activeDeadlineSeconds"), I32K(7, "backoffLimit"),
        I32K(12, "backoffLimitPerIndex"), I32K(13, "maxFailedIndexes"),
        MSG(4, "selector", LabelSelector), BOOLK(5, "manualSelector"),
        MSG(6, "template", PodTemplateSpec),
        I32K(8, "ttlSecondsAfterFinished"), STRK(9, "completionMode"),
        BOOLK(10, "suspend"), STRK(14, "podReplacementPolicy"),
        STRK(15, "managedBy"));
MESSAGE(JobCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastProbeTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(UncountedTerminatedPods, RSTR(1, "succeeded"), RSTR(2, "failed"));
MESSAGE(JobStatus, RMSG(1, "conditions", JobCondition),
        TIME(2, "startTime"), TIME(3, "completionTime"), I32(4, "active"),
        I32(5, "succeeded"), I32(6, "failed"), I32K(11, "terminating"),
        STR(7, "completedIndexes"), STRK(10, "failedIndexes"),
        MSG(8, "uncountedTerminatedPods", UncountedTerminatedPods),
        I32K(9, "ready"));
MESSAGE(Job, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", JobSpec),
        MSG(3, "status", JobStatus));
MESSAGE(JobTemplateSpec, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", JobSpec));
MESSAGE(CronJobSpec, STR(1, "schedule"), STRK(8, "timeZone"),
        I64K(2, "startingDeadlineSeconds"), STR(3, "concurrencyPolicy"),
        BOOLK(4, "suspend"), MSG(5, "jobTemplate", JobTemplateSpec),
        I32K(6, "successfulJobsHistoryLimit"),
        I32K(7, "failedJobsHistoryLimit"));
MESSAGE(CronJobStatus, RMSG(1, "active", ObjectReference),
        TIME(4, "lastScheduleTime"), TIME(5, "lastSuccessfulTime"));
MESSAGE(CronJob, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", CronJobSpec),
        MSG(3, "status", CronJobStatus));

/* ---- autoscaling/v1 (kubectl autoscale) -------------------------------- */

MESSAGE(CrossVersionObjectReference, STR(1, "kind"), STR(2, "name"),
        STR(3, "apiVersion"));
MESSAGE(HorizontalPodAutoscalerSpecV1,
        MSG(1, "scaleTargetRef", CrossVersionObjectReference),
        I32K(2, "minReplicas"), I32K(3, "maxReplicas"),
        I32K(4, "targetCPUUtilizationPercentage"));
MESSAGE(HorizontalPodAutoscalerStatusV1, I64K(1, "observedGeneration"),
        TIME(2, "lastScaleTime"), I32K(3, "currentReplicas"),
        I32K(4, "desiredReplicas"),
        I32K(5, "currentCPUUtilizationPercentage"));
MESSAGE(HorizontalPodAutoscalerV1, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", HorizontalPodAutoscalerSpecV1),
        MSG(3, "status", HorizontalPodAutoscalerStatusV1));

/* ---- kinds -------------------------------------------------------------- */

static const struct {
  const char *api_version;
  const char *kind;
  const pb_msg_t *msg;
} kinds[] = {
    {"v1", "Pod", &Pod},
    {"v1", "PodTemplate", &PodTemplate},
    {"v1", "Service", &Service},
    {"v1", "Namespace", &Namespace},
    {"v1", "ConfigMap", &ConfigMap},
    {"v1", "Secret", &Secret},
    {"v1", "Node", &Node},
    {"v1", "Endpoints", &Endpoints},
    {"v1", "ReplicationController", &ReplicationController},
    {"v1", "Event", &Event},
    {"v1", "ServiceAccount", &ServiceAccount},
    {"v1", "ResourceQuota", &ResourceQuota},
    {"v1", "LimitRange", &LimitRange},
    {"v1", "PersistentVolumeClaim", &PersistentVolumeClaim},
    {"apps/v1", "Deployment", &Deployment},
    {"apps/v1", "ReplicaSet", &ReplicaSet},
    {"apps/v1", "DaemonSet", &DaemonSet},
    {"apps/v1", "StatefulSet", &StatefulSet},
    {"batch/v1", "Job", &Job},
    {"batch/v1", "CronJob", &CronJob},
    {"autoscaling/v1", "HorizontalPodAutoscaler", &HorizontalPodAutoscalerV1},
};

/* clang-format on */

const pb_msg_t *as_pb_schema_lookup(const char *api_version, const char *kind) {
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (strcmp(kinds[i].api_version, api_version) == 0 &&
        strcmp(kinds[i].kind, kind) == 0)
      return kinds[i].msg;
  return NULL;
}
