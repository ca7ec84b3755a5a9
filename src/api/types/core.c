/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of k8s.io/api core/v1 besides pods: services, namespaces, config
 * maps, secrets, service accounts, endpoints, nodes, events, replication
 * controllers, quotas, limit ranges, volume claims.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define MESSAGE(name, ...) TYPE_(name, PKG_CORE, 0, __VA_ARGS__)
#define OPEN_MESSAGE(name, ...) TYPE_(name, PKG_CORE, API_TYPE_OPEN, __VA_ARGS__)
#define ATOMIC_MESSAGE(name, ...) TYPE_(name, PKG_CORE, API_TYPE_ATOMIC, __VA_ARGS__)

/* ---- core/v1: services, config, nodes, misc ---------------------------- */

MESSAGE(ServicePort, STR(1, "name"), STR(2, "protocol"),
        STRK(6, "appProtocol"), I32K(3, "port"), INTSTR(4, "targetPort"),
        I32(5, "nodePort"));
MESSAGE(ClientIPConfig, I32K(1, "timeoutSeconds"));
MESSAGE(SessionAffinityConfig, MSG(1, "clientIP", ClientIPConfig));
MESSAGE(ServiceSpec, RMSGM2(1, "ports", ServicePort, "port", "protocol"),
        MAPSTRA(2, "selector"),
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
        RMSGM(2, "conditions", Condition, "type"));
MESSAGE(Service, TYPEMETA, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", ServiceSpec),
        MSG(3, "status", ServiceStatus));
MESSAGE(NamespaceSpec, RSTR(1, "finalizers"));
MESSAGE(NamespaceCondition, STR(1, "type"), STR(2, "status"),
        TIME(4, "lastTransitionTime"), STR(5, "reason"), STR(6, "message"));
MESSAGE(NamespaceStatus, STR(1, "phase"),
        RMSGM(2, "conditions", NamespaceCondition, "type"));
MESSAGE(Namespace, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", NamespaceSpec), MSG(3, "status", NamespaceStatus));
MESSAGE(ConfigMap, TYPEMETA, MSG(1, "metadata", ObjectMeta), BOOLK(4, "immutable"),
        MAPSTR(2, "data"), MAPBYTES(3, "binaryData"));
MESSAGE(Secret, TYPEMETA, MSG(1, "metadata", ObjectMeta), BOOLK(5, "immutable"),
        MAPBYTES(2, "data"), MAPSTR(4, "stringData"), STR(3, "type"));
MESSAGE(ServiceAccount, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        RMSGM(2, "secrets", ObjectReference, "name"),
        RMSG(3, "imagePullSecrets", LocalObjectReference),
        BOOLK(4, "automountServiceAccountToken"));
MESSAGE(EndpointAddress, STR(1, "ip"), STR(3, "hostname"),
        STRK(4, "nodeName"), MSG(2, "targetRef", ObjectReference));
MESSAGE(EndpointPort, STR(1, "name"), I32K(2, "port"), STR(3, "protocol"),
        STRK(4, "appProtocol"));
MESSAGE(EndpointSubset, RMSG(1, "addresses", EndpointAddress),
        RMSG(2, "notReadyAddresses", EndpointAddress),
        RMSG(3, "ports", EndpointPort));
MESSAGE(Endpoints, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        RMSG(2, "subsets", EndpointSubset));
MESSAGE(Taint, STR(1, "key"), STR(2, "value"), STR(3, "effect"),
        TIME(4, "timeAdded"));
OPEN_MESSAGE(NodeSpec, STR(1, "podCIDR"), RSTRSET(7, "podCIDRs"),
        STR(3, "providerID"), BOOL(4, "unschedulable"),
        RMSG(5, "taints", Taint), STR(2, "externalID"));
MESSAGE(NodeAddress, STR(1, "type"), STR(2, "address"));
MESSAGE(NodeCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastHeartbeatTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(DaemonEndpoint, I32K(1, "Port"));
MESSAGE(NodeDaemonEndpoints, MSG(1, "kubeletEndpoint", DaemonEndpoint));
/* Every field of nodeInfo is required (no omitempty). */
OPEN_MESSAGE(NodeSystemInfo, STRK(1, "machineID"), STRK(2, "systemUUID"),
        STRK(3, "bootID"), STRK(4, "kernelVersion"), STRK(5, "osImage"),
        STRK(6, "containerRuntimeVersion"), STRK(7, "kubeletVersion"),
        STRK(8, "kubeProxyVersion"), STRK(9, "operatingSystem"),
        STRK(10, "architecture"));
MESSAGE(ContainerImage, RSTR(1, "names"), I64(2, "sizeBytes"));
MESSAGE(AttachedVolume, STR(1, "name"), STR(2, "devicePath"));
OPEN_MESSAGE(NodeStatus, MAPQTY(1, "capacity"), MAPQTY(2, "allocatable"),
        STR(3, "phase"), RMSGM(4, "conditions", NodeCondition, "type"),
        RMSGMF(5, "addresses", NodeAddress, "type", API_M_SMP_ONLY),
        MSG(6, "daemonEndpoints", NodeDaemonEndpoints),
        MSG(7, "nodeInfo", NodeSystemInfo),
        RMSG(8, "images", ContainerImage), RSTR(9, "volumesInUse"),
        RMSG(10, "volumesAttached", AttachedVolume));
MESSAGE(Node, TYPEMETA, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", NodeSpec),
        MSG(3, "status", NodeStatus));
MESSAGE(EventSource, STR(1, "component"), STR(2, "host"));
MESSAGE(EventSeries, I32(1, "count"), MTIME(2, "lastObservedTime"));
MESSAGE(Event, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSGA(2, "involvedObject", ObjectReference), STR(3, "reason"),
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
        I32(4, "minReadySeconds"), MAPSTRA(2, "selector"),
        MSG(3, "template", PodTemplateSpec));
MESSAGE(ReplicationControllerStatus, I32K(1, "replicas"),
        I32(2, "fullyLabeledReplicas"), I32(4, "readyReplicas"),
        I32(5, "availableReplicas"), I64(3, "observedGeneration"),
        RMSGM(6, "conditions", ReplicaCondition, "type"));
MESSAGE(ReplicationController, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", ReplicationControllerSpec),
        MSG(3, "status", ReplicationControllerStatus));
MESSAGE(ScopedResourceSelectorRequirement, STR(1, "scopeName"),
        STR(2, "operator"), RSTR(3, "values"));
MESSAGE(ScopeSelector,
        RMSG(1, "matchExpressions", ScopedResourceSelectorRequirement));
MESSAGE(ResourceQuotaSpec, MAPQTY(1, "hard"), RSTR(2, "scopes"),
        MSG(3, "scopeSelector", ScopeSelector));
MESSAGE(ResourceQuotaStatus, MAPQTY(1, "hard"), MAPQTY(2, "used"));
MESSAGE(ResourceQuota, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", ResourceQuotaSpec),
        MSG(3, "status", ResourceQuotaStatus));
MESSAGE(LimitRangeItem, STR(1, "type"), MAPQTY(2, "max"), MAPQTY(3, "min"),
        MAPQTY(4, "default"), MAPQTY(5, "defaultRequest"),
        MAPQTY(6, "maxLimitRequestRatio"));
MESSAGE(LimitRangeSpec, RMSG(1, "limits", LimitRangeItem));
MESSAGE(LimitRange, TYPEMETA, MSG(1, "metadata", ObjectMeta),
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
OPEN_MESSAGE(PersistentVolumeClaimStatus, STR(1, "phase"),
        RSTR(2, "accessModes"), MAPQTY(3, "capacity"),
        RMSGM(4, "conditions", PersistentVolumeClaimCondition, "type"),
        MAPQTY(5, "allocatedResources"));
MESSAGE(PersistentVolumeClaim, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", PersistentVolumeClaimSpec),
        MSG(3, "status", PersistentVolumeClaimStatus));

/* clang-format on */
