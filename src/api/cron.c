/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cron schedules as the CronJob controller reads them (robfig/cron's
 * standard parser): five fields (minute hour day-of-month month
 * day-of-week) with `*`, `?`, numbers, names (jan-dec, sun-sat), ranges,
 * lists and steps, or one of @yearly @annually @monthly @weekly @daily
 * @midnight @hourly; an optional "CRON_TZ=Zone " / "TZ=Zone " prefix.
 * Times are evaluated in the schedule's time zone, read from the system's
 * TZif files (/usr/share/zoneinfo, tzdata): no process-wide TZ switching.
 */
#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>

#include "api/cron.h"
#include "api/internal.h"

/* ------------------------------------------------------------------------ */
/* Time zones (TZif)                                                         */
/* ------------------------------------------------------------------------ */

struct api_tz {
  size_t n;     /* transitions */
  int64_t *at;  /* transition times (UTC seconds) */
  int32_t *off; /* UTC offset in effect from at[i] */
  int32_t off0; /* before the first transition */
};

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool zone_name_ok(const char *name) {
  if (!*name || name[0] == '/' || strlen(name) > 200)
    return false;
  for (const char *p = name; *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr("/_-+", *p)))
      return false;
  return !strstr(name, "..");
}

api_tz_t *api_tz_load(const char *name, kube_error_t *err) {
  api_tz_t *tz = calloc(1, sizeof *tz);
  if (!tz) {
    kube_make_oom(err);
    return NULL;
  }
  if (!name || !*name || streq(name, "UTC") || streq(name, "Etc/UTC"))
    return tz;
  if (!zone_name_ok(name)) {
    free(tz);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "unknown time zone %s",
                   name);
    return NULL;
  }
  char path[300];
  snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0;
  if (fd >= 0) {
    for (;;) {
      if (len == cap) {
        cap = cap ? 2 * cap : 8192;
        unsigned char *nb = cap > (1 << 20) ? NULL : realloc(buf, cap);
        if (!nb)
          break;
        buf = nb;
      }
      ssize_t r = read(fd, buf + len, cap - len);
      if (r <= 0)
        break;
      len += (size_t)r;
    }
    close(fd);
  }
  /* Header: "TZif", version, 15 reserved, six counts. */
  if (!buf || len < 44 || memcmp(buf, "TZif", 4) != 0) {
    free(buf);
    free(tz);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "unknown time zone %s",
                   name);
    return NULL;
  }
  const unsigned char *h = buf;
  size_t tsize = 4;
  /* Version 2+: skip the 32-bit block for the 64-bit one. */
  if (buf[4] >= '2') {
    uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28),
             timecnt = be32(h + 32), typecnt = be32(h + 36),
             charcnt = be32(h + 40);
    size_t skip =
        44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    if (skip + 44 <= len && memcmp(buf + skip, "TZif", 4) == 0) {
      h = buf + skip;
      tsize = 8;
    }
  }
  uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36);
  const unsigned char *times = h + 44;
  const unsigned char *idx = times + timecnt * tsize;
  const unsigned char *types = idx + timecnt;
  if ((size_t)(types + typecnt * 6 - buf) > len || typecnt == 0) {
    free(buf);
    free(tz);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "bad time zone file %s",
                   name);
    return NULL;
  }
  tz->off0 = (int32_t)be32(types);
  tz->at = calloc(timecnt + 1, sizeof *tz->at);
  tz->off = calloc(timecnt + 1, sizeof *tz->off);
  if (!tz->at || !tz->off) {
    free(buf);
    api_tz_free(tz);
    kube_make_oom(err);
    return NULL;
  }
  for (uint32_t i = 0; i < timecnt; i++) {
    tz->at[i] = tsize == 8 ? be64(times + 8 * i)
                           : (int64_t)(int32_t)be32(times + 4 * i);
    unsigned t = idx[i] < typecnt ? idx[i] : 0;
    tz->off[i] = (int32_t)be32(types + 6 * t);
  }
  tz->n = timecnt;
  free(buf);
  return tz;
}

void api_tz_free(api_tz_t *tz) {
  if (!tz)
    return;
  free(tz->at);
  free(tz->off);
  free(tz);
}

/* The UTC offset at UTC time t (the last transition's beyond the table:
 * tzdata's "fat" files list them until 2037). */
int32_t api_tz_offset(const api_tz_t *tz, int64_t t) {
  if (!tz || !tz->n || t < tz->at[0])
    return tz ? tz->off0 : 0;
  size_t lo = 0, hi = tz->n;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (tz->at[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return tz->off[lo];
}

/* ------------------------------------------------------------------------ */
/* Schedules                                                                 */
/* ------------------------------------------------------------------------ */

struct api_cron {
  uint64_t min, hour, dom, month, dow;
  bool dom_star, dow_star;
  api_tz_t *tz;
};

struct field {
  int lo, hi;
  const char *const *names; /* names[i] is value lo+i (or i for dow) */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
                                          "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat", NULL};
static const struct field fields[5] = {
    {0, 59, NULL},        {0, 23, NULL},     {1, 31, NULL},
    {1, 12, month_names}, {0, 6, dow_names},
};

static int parse_value(const struct field *f, const char *s, size_t n,
                       int *out) {
  if (n == 0)
    return -1;
  if (f->names && isalpha((unsigned char)s[0])) {
    for (int i = 0; f->names[i]; i++)
      if (n == 3 && strncasecmp(s, f->names[i], 3) == 0) {
        *out = f->lo + i;
        return 0;
      }
    return -1;
  }
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]) || v > 1000)
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* One comma-separated part: "*", "?", "a", "a-b", each with "/step". */
static int parse_range(const struct field *f, const char *s, size_t n,
                       uint64_t *bits, bool *star, kube_error_t *err) {
  const char *slash = memchr(s, '/', n);
  size_t rn = slash ? (size_t)(slash - s) : n;
  int lo, hi, step = 1;
  if ((rn == 1 && (s[0] == '*' || s[0] == '?'))) {
    lo = f->lo;
    hi = f->hi;
    if (!slash)
      *star = true;
  } else {
    const char *dash = memchr(s, '-', rn);
    if (parse_value(f, s, dash ? (size_t)(dash - s) : rn, &lo) < 0 ||
        (dash &&
         parse_value(f, dash + 1, rn - (size_t)(dash + 1 - s), &hi) < 0))
      goto bad;
    if (!dash)
      hi = slash ? f->hi : lo;
  }
  if (slash) {
    if (parse_value(&fields[0], slash + 1, n - rn - 1, &step) < 0 || step <= 0)
      goto bad;
  }
  /* Sunday may be 7 (robfig accepts 0-6 only; kube's validation too).
   * The messages are robfig/cron's, which kube-apiserver reports. */
  if (lo < f->lo) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "beginning of range (%d) below minimum (%d): %.*s", lo,
                   f->lo, (int)n, s);
    return -1;
  }
  if (hi > f->hi) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "end of range (%d) above maximum (%d): %.*s", hi, f->hi,
                   (int)n, s);
    return -1;
  }
  if (lo > hi) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "beginning of range (%d) beyond end of range (%d): %.*s",
                   lo, hi, (int)n, s);
    return -1;
  }
  for (int v = lo; v <= hi; v += step)
    *bits |= 1ULL << v;
  return 0;
bad:
  kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                 "failed to parse int from %.*s", (int)n, s);
  return -1;
}

static int parse_field(const struct field *f, const char *s, size_t n,
                       uint64_t *bits, bool *star, kube_error_t *err) {
  *bits = 0;
  *star = false;
  while (n) {
    const char *comma = memchr(s, ',', n);
    size_t pn = comma ? (size_t)(comma - s) : n;
    if (parse_range(f, s, pn, bits, star, err) < 0)
      return -1;
    if (!comma)
      break;
    n -= pn + 1;
    s = comma + 1;
  }
  return 0;
}

static const struct {
  const char *name, *spec;
} macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

api_cron_t *api_cron_parse(const char *spec, const char *time_zone,
                           kube_error_t *err) {
  if (!spec) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "empty schedule");
    return NULL;
  }
  while (isspace((unsigned char)*spec))
    spec++;
  char zone[256] = "";
  if (strncmp(spec, "CRON_TZ=", 8) == 0 || strncmp(spec, "TZ=", 3) == 0) {
    const char *z = strchr(spec, '=') + 1;
    size_t n = strcspn(z, " \t");
    snprintf(zone, sizeof zone, "%.*s", (int)n, z);
    spec = z + n;
    while (isspace((unsigned char)*spec))
      spec++;
  }
  if (time_zone && *time_zone)
    snprintf(zone, sizeof zone, "%s", time_zone);
  for (size_t i = 0; i < ARRAY_SIZE(macros); i++)
    if (strcasecmp(spec, macros[i].name) == 0)
      spec = macros[i].spec;
  if (*spec == '@') {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "unrecognized descriptor: %s", spec);
    return NULL;
  }
  api_cron_t *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  uint64_t *bits[5] = {&c->min, &c->hour, &c->dom, &c->month, &c->dow};
  bool stars[5];
  const char *p = spec;
  for (int i = 0; i < 5; i++) {
    while (isspace((unsigned char)*p))
      p++;
    size_t n = strcspn(p, " \t");
    if (!n)
      goto count;
    if (parse_field(&fields[i], p, n, bits[i], &stars[i], err) < 0)
      goto fail;
    p += n;
  }
  while (isspace((unsigned char)*p))
    p++;
  if (*p)
    goto count;
  c->dom_star = stars[2];
  c->dow_star = stars[4];
  if (!(c->tz = api_tz_load(zone, err)))
    goto fail;
  return c;
count: {
  /* robfig/cron's words: "expected exactly 5 fields, found 6: [a b ...]" */
  int nf = 0;
  char list[256] = "";
  size_t used = 0;
  for (const char *q = spec; *q;) {
    q += strspn(q, " \t");
    size_t n = strcspn(q, " \t");
    if (!n)
      break;
    int w = snprintf(list + used, sizeof list - used, "%s%.*s", nf ? " " : "",
                     (int)n, q);
    if (w > 0 && (size_t)w < sizeof list - used)
      used += (size_t)w;
    nf++;
    q += n;
  }
  kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                 "expected exactly 5 fields, found %d: [%s]", nf, list);
}
fail:
  free(c);
  return NULL;
}

void api_cron_free(api_cron_t *c) {
  if (!c)
    return;
  api_tz_free(c->tz);
  free(c);
}

static bool day_matches(const api_cron_t *c, const struct tm *tm) {
  bool dom = c->dom >> tm->tm_mday & 1, dow = c->dow >> tm->tm_wday & 1;
  /* robfig's dayMatches: either restricted field matching is enough,
   * unless one is a star. */
  if (c->dom_star || c->dow_star)
    return dom && dow;
  return dom || dow;
}

int64_t api_cron_next(const api_cron_t *c, int64_t after) {
  /* The next whole minute, walked in the zone's wall time with skips of a
   * day / an hour / a minute; five years at most (Feb 30 never comes). */
  int64_t t = (after / 60 + 1) * 60;
  int64_t end = after + 5LL * 366 * 86400;
  while (t <= end) {
    int32_t off = api_tz_offset(c->tz, t);
    time_t local = (time_t)(t + off);
    struct tm tm;
    gmtime_r(&local, &tm);
    if (!(c->month >> (tm.tm_mon + 1) & 1) || !day_matches(c, &tm)) {
      t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!(c->hour >> tm.tm_hour & 1)) {
      t += 3600 - (tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!(c->min >> tm.tm_min & 1)) {
      t += 60 - tm.tm_sec;
      continue;
    }
    return t;
  }
  return -1;
}

int32_t api_cron_offset(const api_cron_t *c, int64_t t) {
  return api_tz_offset(c->tz, t);
}
