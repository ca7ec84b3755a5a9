/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of k8s.io/api autoscaling/v1 (kubectl autoscale) and v2.  The v2
 * metric specs are kept open: their many sources are checked by the
 * HorizontalPodAutoscaler validation, not typed here.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define V1(cname, goname, ...) TYPEN_(cname, goname, PKG_AUTOSCALING_V1, 0, __VA_ARGS__)
#define V2(cname, goname, fl, ...) TYPEN_(cname, goname, PKG_AUTOSCALING_V2, fl, __VA_ARGS__)

/* ---- autoscaling/v1 ----------------------------------------------------- */

V1(CrossVersionObjectReference, "CrossVersionObjectReference",
   STR(1, "kind"), STR(2, "name"), STR(3, "apiVersion"));
V1(HorizontalPodAutoscalerSpecV1, "HorizontalPodAutoscalerSpec",
   MSG(1, "scaleTargetRef", CrossVersionObjectReference),
   I32K(2, "minReplicas"), I32K(3, "maxReplicas"),
   I32K(4, "targetCPUUtilizationPercentage"));
V1(HorizontalPodAutoscalerStatusV1, "HorizontalPodAutoscalerStatus",
   I64K(1, "observedGeneration"), TIME(2, "lastScaleTime"),
   I32K(3, "currentReplicas"), I32K(4, "desiredReplicas"),
   I32K(5, "currentCPUUtilizationPercentage"));
V1(HorizontalPodAutoscalerV1, "HorizontalPodAutoscaler", TYPEMETA,
   MSG(1, "metadata", ObjectMeta),
   MSG(2, "spec", HorizontalPodAutoscalerSpecV1),
   MSG(3, "status", HorizontalPodAutoscalerStatusV1));

/* ---- autoscaling/v2 (JSON only) ----------------------------------------- */

V2(CrossVersionObjectReferenceV2, "CrossVersionObjectReference", 0,
   STR(0, "kind"), STR(0, "name"), STR(0, "apiVersion"));
V2(MetricSpecV2, "MetricSpec", API_TYPE_OPEN, STR(0, "type"),
   RAWJSON(0, "object"), RAWJSON(0, "pods"), RAWJSON(0, "resource"),
   RAWJSON(0, "containerResource"), RAWJSON(0, "external"));
V2(HorizontalPodAutoscalerSpecV2, "HorizontalPodAutoscalerSpec", 0,
   MSG(0, "scaleTargetRef", CrossVersionObjectReferenceV2),
   I32K(0, "minReplicas"), I32(0, "maxReplicas"),
   RMSG(0, "metrics", MetricSpecV2), RAWJSON(0, "behavior"));
V2(HorizontalPodAutoscalerConditionV2, "HorizontalPodAutoscalerCondition", 0,
   STR(0, "type"), STR(0, "status"), TIME(0, "lastTransitionTime"),
   STR(0, "reason"), STR(0, "message"));
V2(HorizontalPodAutoscalerStatusV2, "HorizontalPodAutoscalerStatus",
   API_TYPE_OPEN, I64K(0, "observedGeneration"), TIME(0, "lastScaleTime"),
   I32(0, "currentReplicas"), I32(0, "desiredReplicas"),
   RAWJSON(0, "currentMetrics"),
   RMSGM(0, "conditions", HorizontalPodAutoscalerConditionV2, "type"));
V2(HorizontalPodAutoscalerV2, "HorizontalPodAutoscaler", 0, TYPEMETA,
   MSG(0, "metadata", ObjectMeta),
   MSG(0, "spec", HorizontalPodAutoscalerSpecV2),
   MSG(0, "status", HorizontalPodAutoscalerStatusV2));
/* clang-format on */
