/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of k8s.io/api core/v1 around pods: containers, volumes, the pod
 * spec and status, pod templates.  Transcribed from generated.proto
 * (field numbers) and the struct tags (merge keys, list types) of
 * types.go.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define MESSAGE(name, ...) TYPE_(name, PKG_CORE, 0, __VA_ARGS__)
#define OPEN_MESSAGE(name, ...) TYPE_(name, PKG_CORE, API_TYPE_OPEN, __VA_ARGS__)
#define ATOMIC_MESSAGE(name, ...) TYPE_(name, PKG_CORE, API_TYPE_ATOMIC, __VA_ARGS__)

/* ---- core/v1: containers ------------------------------------------------ */

ATOMIC_MESSAGE(LocalObjectReference, STR(1, "name"));
ATOMIC_MESSAGE(ObjectReference, STR(1, "kind"), STR(2, "namespace"), STR(3, "name"),
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
        RMSGMF(3, "claims", ResourceClaim, "name", API_M_SSA_ONLY));
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
        RMSGM2(6, "ports", ContainerPort, "containerPort", "protocol"), RMSG(19, "envFrom", EnvFromSource),
        RMSGM(7, "env", EnvVar, "name"), MSG(8, "resources", ResourceRequirements),
        RMSG(23, "resizePolicy", ContainerResizePolicy),
        STRK(24, "restartPolicy"), RMSGM(9, "volumeMounts", VolumeMount, "mountPath"),
        RMSGM(21, "volumeDevices", VolumeDevice, "devicePath"),
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
OPEN_MESSAGE(VolumeProjection, MSG(1, "secret", SecretProjection),
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
OPEN_MESSAGE(VolumeSource, MSG(1, "hostPath", HostPathVolumeSource),
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
OPEN_MESSAGE(Volume, STR(1, "name"), INLINE(2, VolumeSource));


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
ATOMIC_MESSAGE(NodeSelector, RMSG(1, "nodeSelectorTerms", NodeSelectorTerm));
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
MESSAGE(PodSpec, RMSGMF(1, "volumes", Volume, "name", API_M_RETAIN_KEYS),
        RMSGM(20, "initContainers", Container, "name"),
        RMSGM(2, "containers", Container, "name"),
        RMSGM(34, "ephemeralContainers", EphemeralContainer, "name"),
        STR(3, "restartPolicy"), I64K(4, "terminationGracePeriodSeconds"),
        I64K(5, "activeDeadlineSeconds"), STR(6, "dnsPolicy"),
        MAPSTRA(7, "nodeSelector"), STR(8, "serviceAccountName"),
        STR(9, "serviceAccount"), BOOLK(21, "automountServiceAccountToken"),
        STR(10, "nodeName"), BOOL(11, "hostNetwork"), BOOL(12, "hostPID"),
        BOOL(13, "hostIPC"), BOOLK(27, "shareProcessNamespace"),
        MSG(14, "securityContext", PodSecurityContext),
        RMSGM(15, "imagePullSecrets", LocalObjectReference, "name"),
        STR(16, "hostname"), STR(17, "subdomain"),
        MSG(18, "affinity", Affinity), STR(19, "schedulerName"),
        RMSG(22, "tolerations", Toleration),
        RMSGM(23, "hostAliases", HostAlias, "ip"), STR(24, "priorityClassName"),
        I32K(25, "priority"), MSG(26, "dnsConfig", PodDNSConfig),
        RMSG(28, "readinessGates", PodReadinessGate),
        STRK(29, "runtimeClassName"), BOOLK(30, "enableServiceLinks"),
        STRK(31, "preemptionPolicy"), MAPQTY(32, "overhead"),
        RMSGM2(33, "topologySpreadConstraints", TopologySpreadConstraint,
               "topologyKey", "whenUnsatisfiable"),
        BOOLK(35, "setHostnameAsFQDN"), MSG(36, "os", PodOS),
        BOOLK(37, "hostUsers"),
        RMSGM(38, "schedulingGates", PodSchedulingGate, "name"),
        RMSGMF(39, "resourceClaims", PodResourceClaim, "name",
               API_M_RETAIN_KEYS),
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
OPEN_MESSAGE(ContainerStatus, STRK(1, "name"), MSG(2, "state", ContainerState),
        MSG(3, "lastState", ContainerState), BOOLK(4, "ready"),
        I32K(5, "restartCount"), STRK(6, "image"), STRK(7, "imageID"),
        STR(8, "containerID"), BOOLK(9, "started"));
MESSAGE(PodCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastProbeTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(PodIP, STR(1, "ip"));
MESSAGE(PodResourceClaimStatus, STR(0, "name"), STRK(0, "resourceClaimName"));
OPEN_MESSAGE(PodStatus, STR(1, "phase"), RMSGM(2, "conditions", PodCondition, "type"),
        STR(3, "message"), STR(4, "reason"), STR(11, "nominatedNodeName"),
        STR(5, "hostIP"), STR(6, "podIP"), RMSGM(12, "podIPs", PodIP, "ip"),
        TIME(7, "startTime"),
        RMSG(10, "initContainerStatuses", ContainerStatus),
        RMSG(8, "containerStatuses", ContainerStatus), STR(9, "qosClass"),
        RMSG(13, "ephemeralContainerStatuses", ContainerStatus),
        RMSGM(14, "hostIPs", PodIP, "ip"), STR(0, "resize"),
        RMSGMF(0, "resourceClaimStatuses", PodResourceClaimStatus, "name",
               API_M_RETAIN_KEYS));
MESSAGE(Pod, TYPEMETA, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", PodSpec),
        MSG(3, "status", PodStatus));
MESSAGE(PodTemplateSpec, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", PodSpec));
MESSAGE(PodTemplate, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "template", PodTemplateSpec));

/* clang-format on */
