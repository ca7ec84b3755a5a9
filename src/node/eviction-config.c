/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The eviction flags as the kubelet parses them (ParseThresholdConfig):
 * "memory.available<100Mi,nodefs.available<10%", soft grace periods
 * "memory.available=1m30s", minimum reclaim "nodefs.available=500Mi";
 * and the ranking of pods (rankMemoryPressure / rankDiskPressure).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "node/eviction.h"

static const char *const signal_names[ND_EV__COUNT] = {
    "memory.available",  "nodefs.available",   "nodefs.inodesFree",
    "imagefs.available", "imagefs.inodesFree", "pid.available",
};

const char *nd_ev_signal_name(enum nd_ev_signal s) {
  return s < ND_EV__COUNT ? signal_names[s] : "";
}

static int signal_of(const char *name, size_t len) {
  for (int i = 0; i < ND_EV__COUNT; i++)
    if (strlen(signal_names[i]) == len && !strncmp(signal_names[i], name, len))
      return i;
  return -1;
}

int nd_ev_duration_parse(const char *s, int64_t *ms) {
  static const struct {
    const char *u;
    double ms;
  } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1},
               {"s", 1000},  {"m", 60000}, {"h", 3600000}};
  if (!s || !*s)
    return -1;
  if (!strcmp(s, "0")) {
    *ms = 0;
    return 0;
  }
  double total = 0;
  const char *p = s;
  while (*p) {
    char *end;
    if (!isdigit((unsigned char)*p) && *p != '.')
      return -1;
    double v = strtod(p, &end);
    if (end == p)
      return -1;
    p = end;
    size_t best = 0;
    double mul = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t n = strlen(units[i].u);
      if (!strncmp(p, units[i].u, n) && n > best &&
          !(n == 1 && units[i].u[0] == 'm' && p[1] == 's')) {
        best = n;
        mul = units[i].ms;
      }
    }
    if (!best)
      return -1; /* a number without a unit */
    p += best;
    total += v * mul;
  }
  if (total > 9.2e15)
    return -1;
  *ms = (int64_t)llround(total);
  return 0;
}

/* One value: "10%" or a quantity (kubelet's parseThresholdStatement). */
static int parse_value(const char *sig, const char *v, bool allow_zero,
                       struct nd_ev_threshold *t, kube_error_t *err) {
  size_t n = strlen(v);
  if (n && v[n - 1] == '%') {
    char *end;
    double pc = strtod(v, &end);
    if (end != v + n - 1 || n == 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid percentage: %s", v);
    if (pc < 0 || pc > 100)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "eviction percentage threshold %s must be >= 0%% "
                            "and <= 100%%: %s",
                            sig, v);
    t->percent = pc;
    t->quantity = 0;
    t->set = pc > 0 || allow_zero;
    return 0;
  }
  kube_quantity_t q;
  if (kube_quantity_parse(v, &q, err) < 0) {
    kube_error_wrap(err, "%s", sig);
    return -1;
  }
  if (q.nano < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "eviction threshold %s must be positive: %s", sig, v);
  t->percent = 0;
  t->quantity = kube_quantity_value(&q);
  t->set = t->quantity > 0 || allow_zero;
  return 0;
}

/* "sig<value,..." (op '<') or "sig=value,..." (op '='); each entry goes
 * through fn. */
static int parse_list(const char *list, char op, const char *flag,
                      struct nd_ev_threshold *out, int which,
                      kube_error_t *err) {
  char *copy = strdup(list), *save = NULL;
  if (!copy)
    return kube_make_oom(err);
  int rc = 0;
  bool seen[ND_EV__COUNT] = {0};
  for (char *e = strtok_r(copy, ",", &save); e && rc == 0;
       e = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*e))
      e++;
    if (!*e)
      continue;
    char *sep = strchr(e, op);
    if (!sep) {
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid --%s %s: want SIGNAL%cVALUE", flag, e, op);
      break;
    }
    int s = signal_of(e, (size_t)(sep - e));
    if (s < 0) {
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unrecognized signal: %.*s", (int)(sep - e), e);
      break;
    }
    if (seen[s]) {
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "found duplicate eviction threshold for signal %s",
                          signal_names[s]);
      break;
    }
    seen[s] = true;
    const char *v = sep + 1;
    if (which == 2) { /* grace period */
      int64_t ms;
      if (nd_ev_duration_parse(v, &ms) < 0 || ms < 0) {
        rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid --%s %s: time: invalid duration \"%s\"",
                            flag, e, v);
        break;
      }
      out[s].grace_ms = ms;
      out[s].set = true;
      continue;
    }
    struct nd_ev_threshold t = {0};
    rc = parse_value(signal_names[s], v, which == 3, &t, err);
    if (rc == 0)
      out[s] = (struct nd_ev_threshold){.set = t.set,
                                        .percent = t.percent,
                                        .quantity = t.quantity,
                                        .grace_ms = out[s].grace_ms};
  }
  free(copy);
  return rc < 0 ? -1 : 0;
}

int nd_ev_config_parse(struct nd_ev_config *c, const char *hard,
                       const char *soft, const char *soft_grace,
                       const char *min_reclaim, const char *transition,
                       kube_error_t *err) {
  memset(c, 0, sizeof *c);
  c->transition_ms = 5 * 60 * 1000;
  if (transition && *transition &&
      (nd_ev_duration_parse(transition, &c->transition_ms) < 0 ||
       c->transition_ms < 0))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid --eviction-pressure-transition-period %s: "
                          "time: invalid duration \"%s\"",
                          transition, transition);
  if (!hard)
    hard = "memory.available<100Mi,nodefs.available<10%,"
           "nodefs.inodesFree<5%,imagefs.available<15%";
  if (parse_list(hard, '<', "eviction-hard", c->hard, 0, err) < 0)
    return -1;
  struct nd_ev_threshold grace[ND_EV__COUNT] = {0};
  if (soft_grace && *soft_grace &&
      parse_list(soft_grace, '=', "eviction-soft-grace-period", grace, 2,
                 err) < 0)
    return -1;
  if (soft && *soft &&
      parse_list(soft, '<', "eviction-soft", c->soft, 1, err) < 0)
    return -1;
  for (int s = 0; s < ND_EV__COUNT; s++) {
    c->soft[s].grace_ms = grace[s].grace_ms;
    if (c->soft[s].set && !grace[s].set)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "threshold %s has no grace period",
                            signal_names[s]);
  }
  if (min_reclaim && *min_reclaim &&
      parse_list(min_reclaim, '=', "eviction-minimum-reclaim", c->min_reclaim,
                 3, err) < 0)
    return -1;
  return 0;
}

int64_t nd_ev_threshold_value(const struct nd_ev_threshold *t,
                              int64_t capacity) {
  if (t->percent > 0)
    return (int64_t)((double)capacity * t->percent / 100.0);
  return t->quantity;
}

int32_t nd_ev_pod_priority(json_object *spec) {
  json_object *v;
  if (spec && json_object_object_get_ex(spec, "priority", &v) &&
      json_object_is_type(v, json_type_int))
    return json_object_get_int(v);
  const char *pcn = NULL;
  if (spec && json_object_object_get_ex(spec, "priorityClassName", &v))
    pcn = json_object_get_string(v);
  if (pcn && !strcmp(pcn, "system-node-critical"))
    return 2000001000;
  if (pcn && !strcmp(pcn, "system-cluster-critical"))
    return 2000000000;
  return 0;
}

bool nd_ev_critical(int32_t priority) { return priority >= 2000000000; }

static int cmp_candidate(const void *pa, const void *pb) {
  const struct nd_ev_candidate *a = pa, *b = pb;
  bool ea = a->usage > a->request, eb = b->usage > b->request;
  if (ea != eb)
    return ea ? -1 : 1;
  if (a->priority != b->priority)
    return a->priority < b->priority ? -1 : 1;
  int64_t da = a->usage - a->request, db = b->usage - b->request;
  if (da != db)
    return da > db ? -1 : 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void nd_ev_rank(struct nd_ev_candidate *v, size_t n) {
  if (n > 1)
    qsort(v, n, sizeof *v, cmp_candidate);
}
