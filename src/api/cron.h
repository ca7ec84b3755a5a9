/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules and time zones for CronJob validation and the CronJob controller. */
#ifndef KUBE_API_CRON_H
#define KUBE_API_CRON_H

#include <stdint.h>

#include <libkube/core.h>

typedef struct api_tz api_tz_t;
typedef struct api_cron api_cron_t;

/* A zone of /usr/share/zoneinfo ("" / NULL / "UTC": UTC).  Owned: free with
 * api_tz_free.  BadRequest for an unknown zone. */
api_tz_t *api_tz_load(const char *name, kube_error_t *err);
void api_tz_free(api_tz_t *tz);
/* Seconds east of UTC in effect at UTC second t. */
int32_t api_tz_offset(const api_tz_t *tz, int64_t t);

/* Parse a schedule ("0-59/5 * * * *", "@hourly", "CRON_TZ=Europe/Paris 0 9 *
 * * mon-fri"); time_zone (spec.timeZone, may be NULL) wins over a prefix.
 * Owned: free with api_cron_free.  BadRequest with a message on bad
 * input. */
api_cron_t *api_cron_parse(const char *spec, const char *time_zone,
                           kube_error_t *err);
void api_cron_free(api_cron_t *c);
/* The first scheduled time (UTC seconds) strictly after `after`; -1 when
 * none comes within five years. */
int64_t api_cron_next(const api_cron_t *c, int64_t after);
/* The schedule zone's UTC offset at t. */
int32_t api_cron_offset(const api_cron_t *c, int64_t t);

#endif /* KUBE_API_CRON_H */
