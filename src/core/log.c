/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

static kube_log_handler_t log_handler;
static void *log_userdata;
static int log_level = -1; /* -1: not yet read from the environment */

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

KUBE_EXPORT int kube_log_level_parse(const char *s) {
  static const char *const names[] = {"error", "warning", "info", "debug"};
  if (!s)
    return -1;
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, names[i]) == 0)
      return i;
  if (strcasecmp(s, "warn") == 0)
    return KUBE_LOG_WARNING;
  if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
    return s[0] - '0';
  return -1;
}

KUBE_EXPORT kube_log_level_t kube_log_get_level(void) {
  if (log_level < 0) {
    int l = kube_log_level_parse(getenv("KUBE_LOG_LEVEL"));
    log_level = l < 0 ? KUBE_LOG_INFO : l;
  }
  return (kube_log_level_t)log_level;
}

KUBE_EXPORT void kube_log_set_level(kube_log_level_t level) {
  log_level = level;
}

KUBE_EXPORT void kube_log_set_handler(kube_log_handler_t handler,
                                      void *userdata) {
  log_handler = handler;
  log_userdata = userdata;
}

static void default_handler(kube_log_level_t level, const char *msg) {
  struct timespec ts;
  struct tm tm;
  char stamp[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(stamp + n, sizeof stamp - n, ".%03ldZ ", ts.tv_nsec / 1000000);
  const char *lvl = level_names[level <= KUBE_LOG_DEBUG ? level : KUBE_LOG_DEBUG];
  struct iovec iov[4] = {
      {stamp, strlen(stamp)},
      {(void *)lvl, strlen(lvl)},
      {(void *)" ", 1},
      {(void *)msg, strlen(msg)},
  };
  /* One writev so concurrent lines never interleave. */
  char line[4096];
  size_t off = 0;
  for (int i = 0; i < 4; i++) {
    size_t l = iov[i].iov_len;
    if (off + l > sizeof line - 2)
      l = sizeof line - 2 - off;
    memcpy(line + off, iov[i].iov_base, l);
    off += l;
  }
  line[off++] = '\n';
  ssize_t r = write(STDERR_FILENO, line, off);
  (void)r;
}

KUBE_EXPORT void kube_logv(kube_log_level_t level, const char *fmt,
                           va_list ap) {
  if ((int)level > (int)kube_log_get_level())
    return;
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (log_handler)
    log_handler(level, buf, log_userdata);
  else
    default_handler(level, buf);
}

KUBE_EXPORT void kube_log(kube_log_level_t level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kube_logv(level, fmt, ap);
  va_end(ap);
}

/* Repeated lines (accept() failures under a flood, refused connections)
 * must not fill the disk: at most `burst` lines per interval, and the
 * first line of the next interval says how many were dropped. */
bool core_ratelimit_test(struct core_ratelimit *rl, unsigned *suppressed) {
  int64_t now = kube_time_mono_ns();
  *suppressed = 0;
  if (rl->begin_ns == 0 || now - rl->begin_ns >= rl->interval_ns) {
    *suppressed = rl->suppressed;
    rl->begin_ns = now;
    rl->num = 0;
    rl->suppressed = 0;
  }
  if (rl->num < rl->burst) {
    rl->num++;
    return true;
  }
  rl->suppressed++;
  return false;
}

void core_log_ratelimited(struct core_ratelimit *rl, kube_log_level_t level,
                          const char *fmt, ...) {
  if ((int)level > (int)kube_log_get_level())
    return;
  unsigned dropped;
  if (!core_ratelimit_test(rl, &dropped))
    return;
  char buf[1800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (dropped)
    kube_log(level, "%s (%u similar messages suppressed)", buf, dropped);
  else
    kube_log(level, "%s", buf);
}
