/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI log files as text, the kubelet's way (pkg/kubelet/kuberuntime/logs):
 * each line "<RFC3339Nano> <stdout|stderr> <F|P>[:tags] <message>" becomes
 * its message (a partial "P" line without a newline of its own), lines
 * older than `since` are skipped, `timestamps` prefixes each output line
 * with its time, `limit_bytes` cuts the output, and `tail_lines` starts
 * at the last N lines of the file.  No I/O here except the tail scan, so
 * the parser and the renderer are fuzzed as they are.
 */
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "node/internal.h"

/* The next space-delimited token of [p, end): its length, or -1 when no
 * space follows it. */
static ssize_t token(const char *p, const char *end) {
  const char *sp = memchr(p, ' ', (size_t)(end - p));
  return sp ? sp - p : -1;
}

int nd_cri_parse(const char *line, size_t len, struct nd_cri_line *out) {
  const char *p = line, *end = line + len;
  memset(out, 0, sizeof *out);
  ssize_t n = token(p, end);
  /* An RFC 3339 time with nanoseconds and an offset is at most 35 bytes. */
  if (n <= 0 || n > 40)
    return -1;
  char ts[48];
  memcpy(ts, p, (size_t)n);
  ts[n] = '\0';
  if (kube_time_parse(ts, &out->ts, NULL) < 0)
    return -1;
  p += n + 1;
  if ((n = token(p, end)) < 0)
    return -1;
  if (n == 6 && memcmp(p, "stdout", 6) == 0)
    out->stream = 1;
  else if (n == 6 && memcmp(p, "stderr", 6) == 0)
    out->stream = 2;
  else
    return -1;
  p += n + 1;
  if ((n = token(p, end)) < 0)
    return -1;
  /* Tags are ':'-separated; only the first (P or F) means something. */
  const char *colon = memchr(p, ':', (size_t)n);
  size_t first = colon ? (size_t)(colon - p) : (size_t)n;
  out->partial = first == 1 && p[0] == 'P';
  p += n + 1;
  out->msg = p;
  out->msg_len = (size_t)(end - p);
  /* A partial line's own newline is the file's, not the message's. */
  if (out->partial && out->msg_len && out->msg[out->msg_len - 1] == '\n')
    out->msg_len--;
  return 0;
}

size_t nd_format_rfc3339nano(const struct timespec *ts, char *buf, size_t len) {
  struct tm tm;
  time_t t = ts->tv_sec;
  if (!gmtime_r(&t, &tm) || len < 40) {
    if (len)
      buf[0] = '\0';
    return 0;
  }
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  long ns = ts->tv_nsec;
  if (ns > 0 && ns < 1000000000L) {
    char frac[16];
    snprintf(frac, sizeof frac, "%09ld", ns);
    size_t fl = 9;
    while (fl > 0 && frac[fl - 1] == '0')
      fl--;
    buf[n++] = '.';
    memcpy(buf + n, frac, fl);
    n += fl;
  }
  buf[n++] = 'Z';
  buf[n] = '\0';
  return n;
}

void nd_log_render_init(struct nd_log_render *r,
                        const kube_node_log_options_t *o) {
  memset(r, 0, sizeof *r);
  r->o = *o;
  r->remain = o->limit_bytes > 0 ? o->limit_bytes : INT64_MAX;
  r->line_start = true;
}

static bool before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec ||
         (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Append up to r->remain bytes of s[0..n). */
static void emit(struct nd_log_render *r, kube_strbuf_t *out, const char *s,
                 size_t n) {
  if ((int64_t)n > r->remain)
    n = (size_t)r->remain;
  kube_strbuf_append_len(out, s, n);
  r->remain -= (int64_t)n;
  if (r->remain <= 0)
    r->limit_hit = true;
}

static void render_line(struct nd_log_render *r, const char *line, size_t len,
                        kube_strbuf_t *out) {
  struct nd_cri_line l;
  if (nd_cri_parse(line, len, &l) < 0)
    return; /* the kubelet logs and skips lines it cannot parse */
  bool start = r->line_start;
  r->line_start = l.msg_len == 0 || l.msg[l.msg_len - 1] == '\n';
  if ((r->o.since.tv_sec || r->o.since.tv_nsec) && before(&l.ts, &r->o.since))
    return;
  if (r->o.timestamps && start) {
    char ts[48];
    size_t n = nd_format_rfc3339nano(&l.ts, ts, sizeof ts);
    ts[n++] = ' ';
    emit(r, out, ts, n);
  }
  if (!r->limit_hit)
    emit(r, out, l.msg, l.msg_len);
}

size_t nd_log_render_feed(struct nd_log_render *r, const char *buf, size_t len,
                          bool final, kube_strbuf_t *out) {
  size_t off = 0;
  while (off < len && !r->limit_hit) {
    const char *nl = memchr(buf + off, '\n', len - off);
    if (!nl && !final)
      break;
    size_t end = nl ? (size_t)(nl - buf) + 1 : len;
    render_line(r, buf + off, end - off, out);
    off = end;
  }
  return off;
}

int64_t nd_log_tail_offset(int fd, int64_t n) {
  if (n < 0)
    return 0;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return -1;
  enum { BLOCK = 1024 };
  char buf[BLOCK];
  int64_t right = st.st_size, left = 0, cnt = 0;
  size_t have = 0;
  /* Walk back a block at a time until more than n newlines were seen. */
  while (right > 0 && cnt <= n) {
    left = right > BLOCK ? right - BLOCK : 0;
    have = (size_t)(right - left);
    ssize_t got = pread(fd, buf, have, left);
    if (got < 0)
      return -1;
    have = (size_t)got;
    for (size_t i = 0; i < have; i++)
      cnt += buf[i] == '\n';
    right = left;
  }
  /* Drop lines from the front of the last block read until n remain. */
  size_t pos = 0;
  for (; cnt > n; cnt--) {
    char *nl = memchr(buf + pos, '\n', have - pos);
    if (!nl)
      break;
    pos = (size_t)(nl - buf) + 1;
  }
  return left + (int64_t)pos;
}

/* ---- PodLogOptions from a query ---- */

static int parse_int(const char *v, const char *field, int64_t *out,
                     kube_error_t *err) {
  char *end = NULL;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid value \"%s\" for %s: must be an integer", v,
                          field);
  *out = x;
  return 0;
}

static int invalid(kube_error_t *err, const char *pod, const char *field,
                   int64_t value, const char *detail) {
  char body[160];
  if (field)
    snprintf(body, sizeof body, "Invalid value: %" PRId64 ": %s", value,
             detail);
  else
    snprintf(body, sizeof body, "Forbidden: %s", detail);
  kube_error_set(err, KUBE_REASON_INVALID, 0,
                 "PodLogOptions \"%s\" is invalid: %s%s%s", pod,
                 field ? field : "", field ? ": " : "", body);
  kube_error_add_cause(err, field ? field : "",
                       field ? "FieldValueInvalid" : "FieldValueForbidden",
                       body);
  kube_error_set_details(err, "PodLogOptions", pod);
  return -1;
}

static bool query_bool(const char *v) {
  return v && (streq(v, "1") || streq(v, "t") || streq(v, "T") ||
               streq(v, "true") || streq(v, "TRUE") || streq(v, "True"));
}

KUBE_EXPORT int
kube_node_log_options_parse(const char *(*param)(void *arg, const char *key),
                            void *arg, const char *pod,
                            kube_node_log_options_t *o, bool *previous,
                            kube_error_t *err) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->tail_lines = -1;
  o->follow = query_bool(param(arg, "follow"));
  o->timestamps = query_bool(param(arg, "timestamps"));
  if (previous)
    *previous = query_bool(param(arg, "previous"));
  const char *tail = param(arg, "tailLines");
  const char *limit = param(arg, "limitBytes");
  const char *secs = param(arg, "sinceSeconds");
  const char *time_ = param(arg, "sinceTime");
  pod = pod ? pod : "";
  if (tail && *tail) {
    if (parse_int(tail, "tailLines", &o->tail_lines, err) < 0)
      return -1;
    if (o->tail_lines < 0)
      return invalid(err, pod, "tailLines", o->tail_lines,
                     "must be greater than or equal to 0");
  }
  if (limit && *limit) {
    if (parse_int(limit, "limitBytes", &o->limit_bytes, err) < 0)
      return -1;
    if (o->limit_bytes < 1)
      return invalid(err, pod, "limitBytes", o->limit_bytes,
                     "must be greater than 0");
  }
  bool has_secs = secs && *secs, has_time = time_ && *time_;
  if (has_secs && has_time)
    return invalid(err, pod, NULL, 0,
                   "at most one of `sinceTime` or `sinceSeconds` may be "
                   "specified");
  if (has_secs) {
    int64_t s;
    if (parse_int(secs, "sinceSeconds", &s, err) < 0)
      return -1;
    if (s < 1)
      return invalid(err, pod, "sinceSeconds", s, "must be greater than 0");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    o->since.tv_sec = now.tv_sec - s;
    o->since.tv_nsec = now.tv_nsec;
  }
  if (has_time) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_time_parse(time_, &o->since, &e) < 0) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid value \"%s\" for sinceTime: %s", time_,
                     e.message ? e.message : "not an RFC 3339 time");
      kube_error_clear(&e);
      return -1;
    }
    /* The epoch itself would read as "no since": one nanosecond later
     * skips nothing more. */
    if (o->since.tv_sec == 0 && o->since.tv_nsec == 0)
      o->since.tv_nsec = 1;
  }
  return 0;
}
