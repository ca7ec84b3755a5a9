/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of the kinds libkube serves as JSON only (no protobuf field
 * numbers): core/v1 PersistentVolume, coordination.k8s.io/v1 Lease,
 * discovery.k8s.io/v1 EndpointSlice, events.k8s.io/v1 Event,
 * networking.k8s.io/v1 NetworkPolicy, policy/v1 PodDisruptionBudget and
 * storage.k8s.io/v1 StorageClass.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define CORE(name, fl, ...) TYPE_(name, PKG_CORE, fl, __VA_ARGS__)
#define COORD(name, fl, ...) TYPE_(name, PKG_COORDINATION, fl, __VA_ARGS__)
#define DISC(cname, goname, fl, ...) TYPEN_(cname, goname, PKG_DISCOVERY, fl, __VA_ARGS__)
#define EVENTS(cname, goname, fl, ...) TYPEN_(cname, goname, PKG_EVENTS, fl, __VA_ARGS__)
#define NETWORKING(name, fl, ...) TYPE_(name, PKG_NETWORKING, fl, __VA_ARGS__)
#define META(name, fl, ...) TYPE_(name, PKG_META, fl, __VA_ARGS__)
#define POLICY(name, fl, ...) TYPE_(name, PKG_POLICY, fl, __VA_ARGS__)
#define STORAGE(name, fl, ...) TYPE_(name, PKG_STORAGE, fl, __VA_ARGS__)

/* ---- core/v1 PersistentVolume: the volume sources stay untyped ---------- */

CORE(PersistentVolumeSpec, API_TYPE_OPEN, MAPQTY(0, "capacity"),
     RSTR(0, "accessModes"), MSG(0, "claimRef", ObjectReference),
     STR(0, "persistentVolumeReclaimPolicy"), STR(0, "storageClassName"),
     RSTR(0, "mountOptions"), STRK(0, "volumeMode"),
     MSG(0, "nodeAffinity", VolumeNodeAffinity),
     STRK(0, "volumeAttributesClassName"),
     MSG(0, "hostPath", HostPathVolumeSource), MSG(0, "nfs", NFSVolumeSource));
CORE(VolumeNodeAffinity, 0, MSG(0, "required", NodeSelector));
CORE(PersistentVolumeStatus, API_TYPE_OPEN, STR(0, "phase"),
     STR(0, "message"), STR(0, "reason"),
     TIME(0, "lastPhaseTransitionTime"));
CORE(PersistentVolume, 0, TYPEMETA, MSG(0, "metadata", ObjectMeta),
     MSG(0, "spec", PersistentVolumeSpec),
     MSG(0, "status", PersistentVolumeStatus));

/* ---- coordination.k8s.io/v1 --------------------------------------------- */

COORD(LeaseSpec, 0, STRK(0, "holderIdentity"),
      I32K(0, "leaseDurationSeconds"), MTIME(0, "acquireTime"),
      MTIME(0, "renewTime"), I32K(0, "leaseTransitions"),
      STRK(0, "strategy"), STRK(0, "preferredHolder"));
COORD(Lease, 0, TYPEMETA, MSG(0, "metadata", ObjectMeta), MSG(0, "spec", LeaseSpec));

/* ---- discovery.k8s.io/v1 ------------------------------------------------ */

DISC(EndpointConditionsV1, "EndpointConditions", 0, BOOLK(0, "ready"),
     BOOLK(0, "serving"), BOOLK(0, "terminating"));
DISC(EndpointHintsV1, "EndpointHints", API_TYPE_OPEN,
     RAWJSON(0, "forZones"), RAWJSON(0, "forNodes"));
DISC(EndpointV1, "Endpoint", 0, RSTRSET(0, "addresses"),
     MSG(0, "conditions", EndpointConditionsV1), STRK(0, "hostname"),
     MSG(0, "targetRef", ObjectReference), STRK(0, "nodeName"),
     STRK(0, "zone"), MSG(0, "hints", EndpointHintsV1));
DISC(EndpointPortV1, "EndpointPort", 0, STRK(0, "name"),
     STRK(0, "protocol"), I32K(0, "port"), STRK(0, "appProtocol"));
DISC(EndpointSlice, "EndpointSlice", 0, TYPEMETA, MSG(0, "metadata", ObjectMeta),
     STR(0, "addressType"), RMSG(0, "endpoints", EndpointV1),
     RMSG(0, "ports", EndpointPortV1));

/* ---- events.k8s.io/v1 --------------------------------------------------- */

EVENTS(EventSeriesV1, "EventSeries", 0, I32(0, "count"),
       MTIME(0, "lastObservedTime"));
EVENTS(EventV1, "Event", 0, TYPEMETA, MSG(0, "metadata", ObjectMeta),
       MTIME(0, "eventTime"), MSG(0, "series", EventSeriesV1),
       STR(0, "reportingController"), STR(0, "reportingInstance"),
       STR(0, "action"), STR(0, "reason"),
       MSG(0, "regarding", ObjectReference),
       MSG(0, "related", ObjectReference), STR(0, "note"), STR(0, "type"),
       MSG(0, "deprecatedSource", EventSource),
       TIME(0, "deprecatedFirstTimestamp"),
       TIME(0, "deprecatedLastTimestamp"), I32(0, "deprecatedCount"));

/* ---- networking.k8s.io/v1 NetworkPolicy (its lists are atomic) ---------- */

NETWORKING(IPBlock, 0, STR(1, "cidr"), RSTR(2, "except"));
NETWORKING(NetworkPolicyPeer, 0, MSG(1, "podSelector", LabelSelector),
           MSG(2, "namespaceSelector", LabelSelector),
           MSG(3, "ipBlock", IPBlock));
NETWORKING(NetworkPolicyPort, 0, STRK(1, "protocol"), INTSTRK(2, "port"),
           I32K(3, "endPort"));
NETWORKING(NetworkPolicyIngressRule, 0, RMSG(1, "ports", NetworkPolicyPort),
           RMSG(2, "from", NetworkPolicyPeer));
NETWORKING(NetworkPolicyEgressRule, 0, RMSG(1, "ports", NetworkPolicyPort),
           RMSG(2, "to", NetworkPolicyPeer));
NETWORKING(NetworkPolicySpec, 0, MSG(1, "podSelector", LabelSelector),
           RMSG(2, "ingress", NetworkPolicyIngressRule),
           RMSG(3, "egress", NetworkPolicyEgressRule),
           RSTR(4, "policyTypes"));
NETWORKING(NetworkPolicy, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
           MSG(2, "spec", NetworkPolicySpec));

/* ---- policy/v1 (disruptedPods, a map of pod name to time: JSON only) -- */

POLICY(PodDisruptionBudgetSpec, 0, INTSTRK(1, "minAvailable"),
       MSG(2, "selector", LabelSelector), INTSTRK(3, "maxUnavailable"),
       STR(4, "unhealthyPodEvictionPolicy"));
POLICY(PodDisruptionBudgetStatus, 0, I64(1, "observedGeneration"),
       RAWJSON(0, "disruptedPods"), I32K(3, "disruptionsAllowed"),
       I32K(4, "currentHealthy"), I32K(5, "desiredHealthy"),
       I32K(6, "expectedPods"),
       RMSGM(7, "conditions", Condition, "type"));
POLICY(PodDisruptionBudget, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
       MSG(2, "spec", PodDisruptionBudgetSpec),
       MSG(3, "status", PodDisruptionBudgetStatus));
/* The body of pods/eviction, with meta/v1 DeleteOptions. */
META(Preconditions, 0, STR(1, "uid"), STR(2, "resourceVersion"));
META(DeleteOptions, 0, TYPEMETA, I64K(1, "gracePeriodSeconds"),
     MSG(2, "preconditions", Preconditions), BOOLK(3, "orphanDependents"),
     STR(4, "propagationPolicy"), RSTR(5, "dryRun"));
POLICY(Eviction, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
       MSG(2, "deleteOptions", DeleteOptions));

/* ---- storage.k8s.io/v1 -------------------------------------------------- */

STORAGE(StorageClass, API_TYPE_OPEN, TYPEMETA, MSG(0, "metadata", ObjectMeta),
        STR(0, "provisioner"), MAPSTR(0, "parameters"),
        STR(0, "reclaimPolicy"), RSTR(0, "mountOptions"),
        BOOL(0, "allowVolumeExpansion"), STR(0, "volumeBindingMode"),
        RAWJSON(0, "allowedTopologies"));
/* clang-format on */
