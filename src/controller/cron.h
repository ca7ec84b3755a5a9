/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules and time zones for the CronJob controller (cron.c). */
#ifndef KUBE_CONTROLLER_CRON_H
#define KUBE_CONTROLLER_CRON_H

#include <stdint.h>

#include <libkube/core.h>

typedef struct ctl_tz ctl_tz_t;
typedef struct ctl_cron ctl_cron_t;

/* A zone of /usr/share/zoneinfo ("" / NULL / "UTC": UTC).  Owned: free with
 * ctl_tz_free.  BadRequest for an unknown zone. */
ctl_tz_t *ctl_tz_load(const char *name, kube_error_t *err);
void ctl_tz_free(ctl_tz_t *tz);
/* Seconds east of UTC in effect at UTC second t. */
int32_t ctl_tz_offset(const ctl_tz_t *tz, int64_t t);

/* Parse a schedule ("0-59/5 * * * *", "@hourly", "CRON_TZ=Europe/Paris 0 9 *
 * * mon-fri"); time_zone (spec.timeZone, may be NULL) wins over a prefix.
 * Owned: free with ctl_cron_free.  BadRequest with a message on bad
 * input. */
ctl_cron_t *ctl_cron_parse(const char *spec, const char *time_zone,
                           kube_error_t *err);
void ctl_cron_free(ctl_cron_t *c);
/* The first scheduled time (UTC seconds) strictly after `after`; -1 when
 * none comes within five years. */
int64_t ctl_cron_next(const ctl_cron_t *c, int64_t after);
/* The schedule zone's UTC offset at t. */
int32_t ctl_cron_offset(const ctl_cron_t *c, int64_t t);

#endif /* KUBE_CONTROLLER_CRON_H */
