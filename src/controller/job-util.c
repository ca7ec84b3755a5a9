/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the Job controller computes without writing: index sets as
 * status.completedIndexes spells them ("0-2,5"), the pod failure policy
 * (which rule a failed pod matches), conditions, and the pod a Job's
 * template makes (with the tracking finalizer, and for Indexed jobs the
 * completion index as annotation, label, env and hostname).
 */
#include "controller/internal.h"
#include "controller/job.h"

/* ------------------------------------------------------------------------ */
/* Index sets                                                                */
/* ------------------------------------------------------------------------ */

static int idx_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int ctl_idx_add(struct ctl_idxset *s, int64_t i) {
  for (size_t k = 0; k < s->n; k++)
    if (s->v[k] == i)
      return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    int64_t *v = realloc(s->v, cap * sizeof *v);
    if (!v)
      return -1;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = i;
  qsort(s->v, s->n, sizeof *s->v, idx_cmp);
  return 0;
}

bool ctl_idx_has(const struct ctl_idxset *s, int64_t i) {
  for (size_t k = 0; k < s->n; k++)
    if (s->v[k] == i)
      return true;
  return false;
}

void ctl_idx_clear(struct ctl_idxset *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* "1,3-5": indexes below `limit` (parseIndexesFromString ignores the
 * rest and anything malformed). */
int ctl_idx_parse(struct ctl_idxset *s, const char *text, int64_t limit) {
  if (!text)
    return 0;
  const char *p = text;
  while (*p) {
    char *end;
    long long a = strtoll(p, &end, 10), b;
    if (end == p)
      return 0;
    b = a;
    p = end;
    if (*p == '-') {
      b = strtoll(p + 1, &end, 10);
      if (end == p + 1)
        return 0;
      p = end;
    }
    for (long long i = a; i <= b && i < limit; i++)
      if (i >= 0 && ctl_idx_add(s, i) < 0)
        return -1;
    if (*p == ',')
      p++;
    else if (*p)
      return 0;
  }
  return 0;
}

/* The set as "0-2,5" (owned; "" when empty). */
char *ctl_idx_format(const struct ctl_idxset *s) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < s->n;) {
    size_t j = i;
    while (j + 1 < s->n && s->v[j + 1] == s->v[j] + 1)
      j++;
    if (i)
      kube_strbuf_append_char(&sb, ',');
    if (j == i)
      kube_strbuf_printf(&sb, "%lld", (long long)s->v[i]);
    else
      kube_strbuf_printf(&sb, "%lld-%lld", (long long)s->v[i],
                         (long long)s->v[j]);
    i = j + 1;
  }
  char *out = sb.data ? strdup(sb.data) : strdup("");
  kube_strbuf_clear(&sb);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Pods                                                                      */
/* ------------------------------------------------------------------------ */

bool ctl_job_has_finalizer(json_object *pod) {
  json_object *f = cj_arr(cj_obj(pod, "metadata"), "finalizers");
  for (size_t i = 0; i < cj_len(f); i++)
    if (streq(json_object_get_string(cj_at(f, i)), CTL_JOB_FINALIZER))
      return true;
  return false;
}

int64_t ctl_job_pod_index(json_object *pod) {
  json_object *meta = cj_obj(pod, "metadata");
  const char *v = cj_str(cj_obj(meta, "annotations"), CTL_JOB_INDEX_KEY);
  if (!v)
    v = cj_str(cj_obj(meta, "labels"), CTL_JOB_INDEX_KEY);
  if (!v || !*v)
    return -1;
  char *end;
  long long i = strtoll(v, &end, 10);
  return *end || i < 0 ? -1 : i;
}

/* A merge patch removing the tracking finalizer, guarded by the pod's
 * resourceVersion.  Owned. */
char *ctl_job_finalizer_patch(json_object *pod) {
  json_object *f = cj_arr(cj_obj(pod, "metadata"), "finalizers");
  json_object *patch = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *nf = json_object_new_array();
  for (size_t i = 0; i < cj_len(f); i++)
    if (!streq(json_object_get_string(cj_at(f, i)), CTL_JOB_FINALIZER))
      json_object_array_add(nf, json_object_get(cj_at(f, i)));
  cj_set(meta, "finalizers", json_object_array_length(nf) ? nf : NULL);
  if (!json_object_array_length(nf))
    json_object_put(nf);
  cj_set(meta, "resourceVersion",
         json_object_new_string(
             cj_str0(cj_obj(pod, "metadata"), "resourceVersion")));
  cj_set(patch, "metadata", meta);
  return ctl_json_take_text(patch);
}

static bool in_values(json_object *values, int64_t v) {
  for (size_t i = 0; i < cj_len(values); i++)
    if (json_object_get_int64(cj_at(values, i)) == v)
      return true;
  return false;
}

/* onExitCodes: some container (the named one, when given) terminated with
 * a code In / NotIn the values (0 never matches NotIn, as kube's
 * getMatchingContainerFromList skips successful containers). */
static bool exit_codes_match(json_object *req, json_object *st) {
  const char *cname = cj_str(req, "containerName");
  const char *op = cj_str0(req, "operator");
  json_object *values = cj_arr(req, "values");
  static const char *const lists[] = {"initContainerStatuses",
                                      "containerStatuses"};
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    json_object *cs = cj_arr(st, lists[l]);
    for (size_t i = 0; i < cj_len(cs); i++) {
      json_object *c = cj_at(cs, i);
      if (cname && !streq(cj_str0(c, "name"), cname))
        continue;
      json_object *term = cj_obj(cj_obj(c, "state"), "terminated");
      if (!term)
        continue;
      int64_t code = cj_int(term, "exitCode", 0);
      if (code == 0)
        continue;
      if (streq(op, "In") ? in_values(values, code) : !in_values(values, code))
        return true;
    }
  }
  return false;
}

static bool conditions_match(json_object *pats, json_object *st) {
  json_object *conds = cj_arr(st, "conditions");
  for (size_t i = 0; i < cj_len(pats); i++) {
    json_object *pat = cj_at(pats, i);
    const char *want = cj_str(pat, "status");
    for (size_t k = 0; k < cj_len(conds); k++) {
      json_object *c = cj_at(conds, k);
      if (streq(cj_str0(c, "type"), cj_str0(pat, "type")) &&
          streq(cj_str0(c, "status"), want ? want : "True"))
        return true;
    }
  }
  return false;
}

enum ctl_job_action ctl_job_failure_action(json_object *policy,
                                           json_object *pod, char *msg,
                                           size_t len) {
  json_object *rules = cj_arr(policy, "rules");
  json_object *st = cj_obj(pod, "status");
  for (size_t i = 0; i < cj_len(rules); i++) {
    json_object *r = cj_at(rules, i);
    json_object *ec = cj_obj(r, "onExitCodes");
    bool hit = ec ? exit_codes_match(ec, st)
                  : conditions_match(cj_arr(r, "onPodConditions"), st);
    if (!hit)
      continue;
    const char *a = cj_str0(r, "action");
    if (msg)
      snprintf(msg, len,
               "Pod %s/%s failed with a condition or exit code "
               "matching FailJob rule at index %zu",
               cj_str0(cj_obj(pod, "metadata"), "namespace"),
               cj_str0(cj_obj(pod, "metadata"), "name"), i);
    if (streq(a, "FailJob"))
      return CTL_JOB_FAIL_JOB;
    if (streq(a, "Ignore"))
      return CTL_JOB_IGNORE;
    if (streq(a, "FailIndex"))
      return CTL_JOB_FAIL_INDEX;
    return CTL_JOB_COUNT;
  }
  return CTL_JOB_COUNT;
}

/* ------------------------------------------------------------------------ */
/* Conditions                                                                */
/* ------------------------------------------------------------------------ */

json_object *ctl_job_condition(json_object *status, const char *type) {
  json_object *conds = cj_arr(status, "conditions");
  for (size_t i = 0; i < cj_len(conds); i++)
    if (streq(cj_str0(cj_at(conds, i), "type"), type))
      return cj_at(conds, i);
  return NULL;
}

bool ctl_job_condition_true(json_object *status, const char *type) {
  return streq(cj_str0(ctl_job_condition(status, type), "status"), "True");
}

/* Set (or add) condition `type` in status (a tree we own).  Returns true
 * when something changed; the transition time moves only when the status
 * does, the probe time on every change (as the Job controller does). */
bool ctl_job_set_condition(json_object *status, const char *type,
                           const char *cstatus, const char *reason,
                           const char *message) {
  char now[40];
  ctl_now_rfc3339(now, sizeof now);
  json_object *c = ctl_job_condition(status, type);
  if (c && streq(cj_str0(c, "status"), cstatus) &&
      streq(cj_str0(c, "reason"), reason) &&
      streq(cj_str0(c, "message"), message))
    return false;
  if (!c) {
    json_object *conds = cj_arr(status, "conditions");
    if (!conds) {
      conds = json_object_new_array();
      cj_set(status, "conditions", conds);
    }
    c = json_object_new_object();
    cj_set(c, "type", json_object_new_string(type));
    json_object_array_add(conds, c);
  }
  if (!streq(cj_str0(c, "status"), cstatus) || !cj_str(c, "lastTransitionTime"))
    cj_set(c, "lastTransitionTime", json_object_new_string(now));
  cj_set(c, "lastProbeTime", json_object_new_string(now));
  cj_set(c, "status", json_object_new_string(cstatus));
  cj_set(c, "reason", json_object_new_string(reason));
  cj_set(c, "message", json_object_new_string(message));
  return true;
}

/* ------------------------------------------------------------------------ */
/* The pod of a template                                                     */
/* ------------------------------------------------------------------------ */

static void add_index_env(json_object *containers, const char *idx) {
  for (size_t i = 0; i < cj_len(containers); i++) {
    json_object *c = cj_at(containers, i);
    json_object *env = cj_arr(c, "env");
    bool have = false;
    for (size_t k = 0; k < cj_len(env); k++)
      if (streq(cj_str0(cj_at(env, k), "name"), "JOB_COMPLETION_INDEX"))
        have = true;
    if (have)
      continue;
    if (!env) {
      env = json_object_new_array();
      cj_set(c, "env", env);
    }
    /* The downward API, as the Job controller writes it. */
    json_object *e = json_object_new_object();
    json_object *from = json_object_new_object();
    json_object *ref = json_object_new_object();
    char path[128];
    snprintf(path, sizeof path, "metadata.annotations['%s']",
             CTL_JOB_INDEX_KEY);
    cj_set(ref, "fieldPath", json_object_new_string(path));
    cj_set(from, "fieldRef", ref);
    cj_set(e, "name", json_object_new_string("JOB_COMPLETION_INDEX"));
    cj_set(e, "valueFrom", from);
    json_object_array_add(env, e);
  }
}

char *ctl_job_pod(json_object *job, int64_t index) {
  json_object *jmeta = cj_obj(job, "metadata");
  const char *name = cj_str0(jmeta, "name");
  json_object *tmpl = cj_obj(cj_obj(job, "spec"), "template");
  json_object *tmeta = cj_obj(tmpl, "metadata");
  json_object *pod = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *refs = json_object_new_array();
  json_object *spec = ctl_json_copy(cj_obj(tmpl, "spec"));
  if (!spec)
    spec = json_object_new_object();
  cj_set(pod, "apiVersion", json_object_new_string("v1"));
  cj_set(pod, "kind", json_object_new_string("Pod"));
  char prefix[300], idx[32];
  snprintf(idx, sizeof idx, "%lld", (long long)index);
  if (index >= 0)
    snprintf(prefix, sizeof prefix, "%s-%s-", name, idx);
  else
    snprintf(prefix, sizeof prefix, "%s-", name);
  cj_set(meta, "generateName", json_object_new_string(prefix));
  cj_set(meta, "namespace",
         json_object_new_string(cj_str0(jmeta, "namespace")));
  ctl_copy_template_meta(meta, tmeta, false);
  json_object *fins = ctl_json_copy(cj_arr(tmeta, "finalizers"));
  if (!fins)
    fins = json_object_new_array();
  json_object_array_add(fins, json_object_new_string(CTL_JOB_FINALIZER));
  cj_set(meta, "finalizers", fins);
  if (index >= 0) {
    cj_set(ctl_json_ensure(meta, "annotations"), CTL_JOB_INDEX_KEY,
           json_object_new_string(idx));
    cj_set(ctl_json_ensure(meta, "labels"), CTL_JOB_INDEX_KEY,
           json_object_new_string(idx));
    if (!cj_str(spec, "hostname")) {
      char host[320];
      snprintf(host, sizeof host, "%s-%s", name, idx);
      cj_set(spec, "hostname", json_object_new_string(host));
    }
    add_index_env(cj_arr(spec, "initContainers"), idx);
    add_index_env(cj_arr(spec, "containers"), idx);
  }
  json_object_array_add(
      refs, ctl_controller_ref("batch/v1", "Job", name, cj_str0(jmeta, "uid")));
  cj_set(meta, "ownerReferences", refs);
  cj_set(pod, "metadata", meta);
  cj_set(pod, "spec", spec);
  return ctl_json_take_text(pod);
}
