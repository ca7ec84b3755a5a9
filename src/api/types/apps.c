/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of k8s.io/api apps/v1.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define MESSAGE(name, ...) TYPE_(name, PKG_APPS, 0, __VA_ARGS__)
#define OPEN_MESSAGE(name, ...) TYPE_(name, PKG_APPS, API_TYPE_OPEN, __VA_ARGS__)
#define ATOMIC_MESSAGE(name, ...) TYPE_(name, PKG_APPS, API_TYPE_ATOMIC, __VA_ARGS__)

/* ---- apps/v1 ------------------------------------------------------------ */

MESSAGE(RollingUpdateDeployment, INTSTRK(1, "maxUnavailable"),
        INTSTRK(2, "maxSurge"));
MESSAGE(DeploymentStrategy, STR(1, "type"),
        MSG(2, "rollingUpdate", RollingUpdateDeployment));
MESSAGE(DeploymentSpec, I32K(1, "replicas"), MSG(2, "selector", LabelSelector),
        MSG(3, "template", PodTemplateSpec),
        MSGRK(4, "strategy", DeploymentStrategy), I32(5, "minReadySeconds"),
        I32K(6, "revisionHistoryLimit"), BOOL(7, "paused"),
        I32K(9, "progressDeadlineSeconds"));
MESSAGE(DeploymentCondition, STR(1, "type"), STR(2, "status"),
        TIME(6, "lastUpdateTime"), TIME(7, "lastTransitionTime"),
        STR(4, "reason"), STR(5, "message"));
MESSAGE(DeploymentStatus, I64(1, "observedGeneration"), I32(2, "replicas"),
        I32(3, "updatedReplicas"), I32(7, "readyReplicas"),
        I32(4, "availableReplicas"), I32(5, "unavailableReplicas"),
        I32K(9, "terminatingReplicas"),
        RMSGM(6, "conditions", DeploymentCondition, "type"),
        I32K(8, "collisionCount"));
MESSAGE(Deployment, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", DeploymentSpec), MSG(3, "status", DeploymentStatus));
MESSAGE(ReplicaSetSpec, I32K(1, "replicas"), I32(4, "minReadySeconds"),
        MSG(2, "selector", LabelSelector),
        MSG(3, "template", PodTemplateSpec));
MESSAGE(ReplicaSetStatus, I32K(1, "replicas"),
        I32(2, "fullyLabeledReplicas"), I32(4, "readyReplicas"),
        I32(5, "availableReplicas"), I32K(7, "terminatingReplicas"),
        I64(3, "observedGeneration"),
        RMSGM(6, "conditions", ReplicaCondition, "type"));
MESSAGE(ReplicaSet, TYPEMETA, MSG(1, "metadata", ObjectMeta),
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
        RMSGM(10, "conditions", ReplicaCondition, "type"));
MESSAGE(DaemonSet, TYPEMETA, MSG(1, "metadata", ObjectMeta),
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
        RMSGM(10, "conditions", ReplicaCondition, "type"),
        I32(11, "availableReplicas"));
MESSAGE(StatefulSet, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        MSG(2, "spec", StatefulSetSpec), MSG(3, "status", StatefulSetStatus));
/* data is a runtime.RawExtension: any JSON (a DaemonSet's or StatefulSet's
 * template patch). */
MESSAGE(ControllerRevision, TYPEMETA, MSG(1, "metadata", ObjectMeta),
        RAWJSON(2, "data"), I64K(3, "revision"));

/* clang-format on */
