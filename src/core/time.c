/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time helpers: RFC 3339 as metav1.Time / metav1.MicroTime serialise it, and
 * kubectl's AGE column (k8s.io/apimachinery/pkg/util/duration.HumanDuration).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); independent of TZ and of timegm's range quirks. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30,
                                        31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* The text "YYYY-MM-DDTHH:MM:SS" of second t, kept per thread for the next
 * call: the writes of one second share it (gmtime_r and six conversions of
 * snprintf were ~3k instructions a timestamp).  NULL when t has no
 * calendar date. */
static const char *second_text(time_t t) {
  static __thread bool have;
  static __thread time_t last_t;
  static __thread char last[48];
  if (!have || t != last_t) {
    struct tm tm;
    if (!gmtime_r(&t, &tm))
      return NULL;
    snprintf(last, sizeof last, "%04d-%02d-%02dT%02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    last_t = t;
    have = true;
  }
  return last;
}

/* a then b into buf of len, cut short as snprintf cuts. */
static char *join_cut(char *buf, size_t len, const char *a, const char *b) {
  size_t n = 0;
  for (const char *s = a; *s && n + 1 < len; s++)
    buf[n++] = *s;
  for (const char *s = b; *s && n + 1 < len; s++)
    buf[n++] = *s;
  buf[n] = '\0';
  return buf;
}

KUBE_EXPORT char *kube_time_format(time_t t, char *buf, size_t len) {
  if (!buf || len == 0)
    return buf;
  const char *sec = second_text(t);
  if (!sec) {
    buf[0] = '\0';
    return buf;
  }
  return join_cut(buf, len, sec, "Z");
}

KUBE_EXPORT char *kube_time_format_micro(const struct timespec *ts, char *buf,
                                         size_t len) {
  if (!buf || len == 0)
    return buf;
  const char *sec = ts ? second_text(ts->tv_sec) : NULL;
  if (!sec) {
    buf[0] = '\0';
    return buf;
  }
  long usec = ts->tv_nsec / 1000;
  if (usec < 0 || usec > 999999)
    usec = 0;
  char frac[9] = ".000000Z";
  for (int i = 6; i >= 1; i--, usec /= 10)
    frac[i] = (char)('0' + usec % 10);
  return join_cut(buf, len, sec, frac);
}

/* Read exactly n digits at *p. */
static bool read_digits(const char **p, int n, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (unsigned)(c - '0');
  }
  *p += n;
  *out = v;
  return true;
}

static bool expect_char(const char **p, char c) {
  if (**p != c)
    return false;
  (*p)++;
  return true;
}

/* Strict RFC 3339 as Go's time.Parse(time.RFC3339, s) reads it: upper-case
 * 'T' and 'Z', a fraction of any length (digits past nanoseconds dropped),
 * offsets of at most 23:59. */
KUBE_EXPORT int kube_time_parse(const char *s, struct timespec *out,
                                kube_error_t *err) {
  if (!s)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "invalid RFC 3339 time: NULL");
  const char *p = s;
  unsigned year, mon, day, hour, min, sec, oh = 0, om = 0;
  long nsec = 0;
  int sign = 0;
  if (!read_digits(&p, 4, &year) || !expect_char(&p, '-') ||
      !read_digits(&p, 2, &mon) || !expect_char(&p, '-') ||
      !read_digits(&p, 2, &day) || !expect_char(&p, 'T') ||
      !read_digits(&p, 2, &hour) || !expect_char(&p, ':') ||
      !read_digits(&p, 2, &min) || !expect_char(&p, ':') ||
      !read_digits(&p, 2, &sec))
    goto bad;
  if (*p == '.') {
    p++;
    int n = 0;
    long scale = 100000000;
    while (*p >= '0' && *p <= '9') {
      if (n < 9) {
        nsec += (*p - '0') * scale;
        scale /= 10;
      }
      n++;
      p++;
    }
    if (n == 0)
      goto bad;
  }
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!read_digits(&p, 2, &oh) || !expect_char(&p, ':') ||
        !read_digits(&p, 2, &om))
      goto bad;
  } else {
    goto bad;
  }
  if (*p != '\0')
    goto bad;
  if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
      hour > 23 || min > 59 || sec > 59 || oh > 23 || om > 59)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ERANGE,
                          "invalid RFC 3339 time \"%s\": field out of range",
                          s);
  int64_t secs =
      days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
  secs -= (int64_t)sign * (oh * 3600 + om * 60);
  if (out) {
    out->tv_sec = (time_t)secs;
    out->tv_nsec = nsec;
  }
  return 0;
bad:
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                        "invalid RFC 3339 time \"%s\"", s);
}

/* duration.HumanDuration: about two significant figures, thresholds exactly
 * as kubectl prints the AGE column. */
KUBE_EXPORT char *kube_time_age(time_t then, time_t now, char *buf,
                                size_t len) {
  if (!buf || len == 0)
    return buf;
  __int128 diff = (__int128)now - (__int128)then;
  if (diff < -1) {
    snprintf(buf, len, "<invalid>");
    return buf;
  }
  if (diff < 0) {
    snprintf(buf, len, "0s");
    return buf;
  }
  if (diff > INT64_MAX)
    diff = INT64_MAX;
  int64_t seconds = (int64_t)diff;
  if (seconds < 60 * 2) {
    snprintf(buf, len, "%" PRId64 "s", seconds);
    return buf;
  }
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    if (s == 0)
      snprintf(buf, len, "%" PRId64 "m", minutes);
    else
      snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", minutes, s);
    return buf;
  }
  if (minutes < 60 * 3) {
    snprintf(buf, len, "%" PRId64 "m", minutes);
    return buf;
  }
  int64_t hours = seconds / 3600;
  if (hours < 8) {
    int64_t m = minutes % 60;
    if (m == 0)
      snprintf(buf, len, "%" PRId64 "h", hours);
    else
      snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", hours, m);
  } else if (hours < 48) {
    snprintf(buf, len, "%" PRId64 "h", hours);
  } else if (hours < 24 * 8) {
    int64_t h = hours % 24;
    if (h == 0)
      snprintf(buf, len, "%" PRId64 "d", hours / 24);
    else
      snprintf(buf, len, "%" PRId64 "d%" PRId64 "h", hours / 24, h);
  } else if (hours < 24 * 365 * 2) {
    snprintf(buf, len, "%" PRId64 "d", hours / 24);
  } else if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    if (dy == 0)
      snprintf(buf, len, "%" PRId64 "y", hours / 24 / 365);
    else
      snprintf(buf, len, "%" PRId64 "y%" PRId64 "d", hours / 24 / 365, dy);
  } else {
    snprintf(buf, len, "%" PRId64 "y", hours / 24 / 365);
  }
  return buf;
}

KUBE_EXPORT int64_t kube_time_mono_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
    return 0;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Go durations ("30s", "1m30s", "500ms", "1h") in nanoseconds. */
int64_t core_go_duration_ns(const char *s) {
  int64_t total = 0;
  if (!*s)
    return -1;
  while (*s) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || v < 0)
      return -1;
    double mul;
    if (str_has_prefix(e, "ns"))
      mul = 1, e += 2;
    else if (str_has_prefix(e, "us") || str_has_prefix(e, "µs"))
      mul = 1e3, e += e[0] == 'u' ? 2 : 3;
    else if (str_has_prefix(e, "ms"))
      mul = 1e6, e += 2;
    else if (*e == 's')
      mul = 1e9, e++;
    else if (*e == 'm')
      mul = 60e9, e++;
    else if (*e == 'h')
      mul = 3600e9, e++;
    else
      return -1;
    total += (int64_t)(v * mul);
    s = e;
  }
  return total;
}
