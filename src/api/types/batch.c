/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of k8s.io/api batch/v1.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define MESSAGE(name, ...) TYPE_(name, PKG_BATCH, 0, __VA_ARGS__)
#define OPEN_MESSAGE(name, ...) TYPE_(name, PKG_BATCH, API_TYPE_OPEN, __VA_ARGS__)
#define ATOMIC_MESSAGE(name, ...) TYPE_(name, PKG_BATCH, API_TYPE_ATOMIC, __VA_ARGS__)

/* ---- batch/v1 ----------------------------------------------------------- */

MESSAGE(JobSpec, I32K(1, "parallelism"), I32K(2, "completions"),
        I64K(3, "activeDeadlineSeconds"), I32K(7, "backoffLimit"),
        I32K(12, "backoffLimitPerIndex"), I32K(13, "maxFailedIndexes"),
        MSG(4, "selector", LabelSelector), BOOLK(5, "manualSelector"),
        MSG(6, "template", PodTemplateSpec),
        I32K(8, "ttlSecondsAfterFinished"), STRK(9, "completionMode"),
        BOOLK(10, "suspend"), STRK(14, "podReplacementPolicy"),
        STRK(15, "managedBy"),
        RAWJSON(0, "podFailurePolicy"), RAWJSON(0, "successPolicy"));
MESSAGE(JobCondition, STR(1, "type"), STR(2, "status"),
        TIME(3, "lastProbeTime"), TIME(4, "lastTransitionTime"),
        STR(5, "reason"), STR(6, "message"));
MESSAGE(UncountedTerminatedPods, RSTR(1, "succeeded"), RSTR(2, "failed"));
MESSAGE(JobStatus, RMSGMF(1, "conditions", JobCondition, "type", API_M_SMP_ONLY),
        TIME(2, "startTime"), TIME(3, "completionTime"), I32(4, "active"),
        I32(5, "succeeded"), I32(6, "failed"), I32K(11, "terminating"),
        STR(7, "completedIndexes"), STRK(10, "failedIndexes"),
        MSG(8, "uncountedTerminatedPods", UncountedTerminatedPods),
        I32K(9, "ready"));
MESSAGE(Job, TYPEMETA, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", JobSpec),
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
MESSAGE(CronJob, TYPEMETA, MSG(1, "metadata", ObjectMeta), MSG(2, "spec", CronJobSpec),
        MSG(3, "status", CronJobStatus));

/* clang-format on */
