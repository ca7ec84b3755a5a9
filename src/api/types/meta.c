/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of apimachinery meta/v1: ObjectMeta and what it holds, LabelSelector,
 * Condition.  Transcribed from its generated.proto and struct tags.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define MESSAGE(name, ...) TYPE_(name, PKG_META, 0, __VA_ARGS__)
#define OPEN_MESSAGE(name, ...) TYPE_(name, PKG_META, API_TYPE_OPEN, __VA_ARGS__)
#define ATOMIC_MESSAGE(name, ...) TYPE_(name, PKG_META, API_TYPE_ATOMIC, __VA_ARGS__)

/* ---- meta/v1 ------------------------------------------------------------ */

MESSAGE(ObjectMeta, STR(1, "name"), STR(2, "generateName"),
        STR(3, "namespace"), STR(4, "selfLink"), STR(5, "uid"),
        STR(6, "resourceVersion"), I64(7, "generation"),
        TIME(8, "creationTimestamp"), TIME(9, "deletionTimestamp"),
        I64K(10, "deletionGracePeriodSeconds"), MAPSTR(11, "labels"),
        MAPSTR(12, "annotations"),
        RMSGM(13, "ownerReferences", OwnerReference, "uid"),
        RSTRSET(14, "finalizers"),
        RMSG(17, "managedFields", ManagedFieldsEntry));
MESSAGE(OwnerReference, STR(5, "apiVersion"), STR(1, "kind"), STR(3, "name"),
        STR(4, "uid"), BOOLK(6, "controller"),
        BOOLK(7, "blockOwnerDeletion"));
MESSAGE(ManagedFieldsEntry, STR(1, "manager"), STR(2, "operation"),
        STR(3, "apiVersion"), TIME(4, "time"), STR(6, "fieldsType"),
        RAWJSON(7, "fieldsV1"), STR(8, "subresource"));
ATOMIC_MESSAGE(LabelSelector, MAPSTR(1, "matchLabels"),
        RMSG(2, "matchExpressions", LabelSelectorRequirement));
MESSAGE(LabelSelectorRequirement, STR(1, "key"), STR(2, "operator"),
        RSTR(3, "values"));
MESSAGE(Condition, STR(1, "type"), STR(2, "status"),
        I64(3, "observedGeneration"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));

/* clang-format on */
