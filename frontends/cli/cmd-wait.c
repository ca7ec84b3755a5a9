/* SPDX-License-Identifier: Apache-2.0 */
/* kube wait --for=delete|create|condition=C[=V]|jsonpath=EXPR[=V]
 * (TYPE NAME... | TYPE/NAME... | TYPE -l SEL | TYPE --all) [--timeout=30s]:
 * as kubectl wait, polling each object until the condition holds ("pod/x
 * condition met"), or failing with kubectl's words ("timed out waiting for
 * the condition on pods/x", "condition not met for pods/x" with
 * --timeout=0).  One deadline for all the objects, as kubectl's. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "cli.h"

enum wait_for { FOR_DELETE, FOR_CREATE, FOR_CONDITION, FOR_JSONPATH };

struct wait_spec {
  enum wait_for what;
  char *cond;  /* condition type, or the JSONPath template */
  char *value; /* wanted condition status / JSONPath value; NULL: any */
};

/* Parse --for as kubectl's conditionFuncFor does. */
static int parse_for(const char *f, struct wait_spec *s) {
  memset(s, 0, sizeof *s);
  if (!f)
    f = "";
  if (strcasecmp(f, "delete") == 0) {
    s->what = FOR_DELETE;
    return 0;
  }
  if (strcasecmp(f, "create") == 0) {
    s->what = FOR_CREATE;
    return 0;
  }
  if (strncasecmp(f, "condition=", 10) == 0) {
    s->what = FOR_CONDITION;
    const char *c = f + 10, *eq = strchr(c, '=');
    s->cond = eq ? strndup(c, (size_t)(eq - c)) : strdup(c);
    s->value = strdup(eq ? eq + 1 : "true");
    return s->cond && s->value ? 0 : cli_fail("out of memory");
  }
  if (strncasecmp(f, "jsonpath=", 9) == 0) {
    s->what = FOR_JSONPATH;
    const char *e = f + 9, *eq;
    /* The value follows the template: after its closing brace. */
    const char *close = *e == '{' ? strchr(e, '}') : NULL;
    eq = strchr(close ? close : e, '=');
    size_t len = eq ? (size_t)(eq - e) : strlen(e);
    if (eq && !eq[1])
      return cli_fail("jsonpath wait has to have a value after equal sign, "
                      "like --for=jsonpath='{.status.readyReplicas}'=3");
    if (len == 0 || (eq && strchr(eq + 1, '=')))
      return cli_fail("jsonpath wait format must be "
                      "--for=jsonpath='{.status.readyReplicas}'=3 or "
                      "--for=jsonpath='{.status.readyReplicas}'");
    if (asprintf(&s->cond, *e == '{' ? "%.*s" : "{%.*s}", (int)len, e) < 0) {
      s->cond = NULL;
      return cli_fail("out of memory");
    }
    if (eq && !(s->value = strdup(eq + 1)))
      return cli_fail("out of memory");
    return 0;
  }
  return cli_fail("unrecognized condition: \"%s\"", f);
}

/* kubectl's ConditionalWait: a condition of that type (any case) with
 * that status (any case), observed for the current generation. */
static bool condition_met(const kube_object_t *obj, const struct wait_spec *s) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *gen = kube_jsonpath_eval(obj, "{.metadata.generation}",
                                              &err);
  cleanup_free char *conds = kube_jsonpath_eval(
      obj,
      "{range .status.conditions[*]}{.type}{\"\\t\"}{.status}{\"\\t\"}"
      "{.observedGeneration}{\"\\n\"}{end}",
      &err);
  if (!conds)
    return false;
  for (char *save = NULL, *line = strtok_r(conds, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *status = strchr(line, '\t');
    if (!status)
      continue;
    *status++ = '\0';
    char *og = strchr(status, '\t');
    if (og)
      *og++ = '\0';
    if (strcasecmp(line, s->cond) != 0)
      continue;
    if (og && *og && gen && *gen && strtoll(og, NULL, 10) < strtoll(gen, NULL, 10))
      return false;
    return strcasecmp(status, s->value) == 0;
  }
  return false;
}

static bool jsonpath_met(const kube_object_t *obj, const struct wait_spec *s,
                         int *rc) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *v = kube_jsonpath_eval(obj, s->cond, &err);
  if (!v) {
    *rc = cli_report(&err);
    return false;
  }
  if (!s->value)
    return *v != '\0';
  return streq(v, s->value);
}

/* "pods/x", "deployments/web": how kubectl names what it timed out on. */
static void resource_name(const kube_kind_t *k, const char *name, char *buf,
                          size_t len) {
  snprintf(buf, len, "%s/%s", k->resource, name);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Wait for one object.  0 when the condition is met (and printed). */
static int wait_one(kube_client_t *c, const struct cli_named *t,
                    const struct wait_spec *s, int64_t deadline, bool once) {
  char kn[128], rn[400];
  kube_kind_display_name(t->kind, kn, sizeof kn);
  resource_name(t->kind, t->name, rn, sizeof rn);
  for (bool first = true;; first = false) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *obj = kube_client_get(c, t->kind, cli_namespace(), t->name,
                                         &err);
    int rc = 0;
    bool met = false;
    if (!obj && err.reason != KUBE_REASON_NOT_FOUND)
      return cli_report(&err);
    if (s->what == FOR_DELETE && !obj && first)
      return 0; /* gone before: nothing to report, as kubectl */
    if (s->what == FOR_DELETE)
      met = !obj;
    else if (s->what == FOR_CREATE)
      met = obj != NULL;
    else if (!obj)
      return cli_report(&err);
    else if (s->what == FOR_CONDITION)
      met = condition_met(obj, s);
    else
      met = jsonpath_met(obj, s, &rc);
    kube_object_free(obj);
    if (rc)
      return rc;
    if (met) {
      printf("%s/%s condition met\n", kn, t->name);
      fflush(stdout);
      return 0;
    }
    if (once)
      return cli_fail("condition not met for %s", rn);
    if (kube_time_mono_ns() >= deadline)
      return cli_fail("timed out waiting for the condition on %s", rn);
    sleep_ms(100);
  }
}

int cmd_wait(int argc, char **argv) {
  const char *for_ = NULL, *timeout = "30s", *selector = NULL;
  bool all = false;
  const struct cli_flag flags[] = {
      {"for", 0, CLI_STRING, &for_, NULL},
      {"timeout", 0, CLI_STRING, &timeout, NULL},
      {"selector", 'l', CLI_STRING, &selector, NULL},
      {"all", 0, CLI_BOOL, &all, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0, nt = 0;
  struct cli_named *ts = NULL;
  struct wait_spec s = {0};
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0 ||
      parse_for(for_, &s) != 0)
    goto out;
  /* Go durations; 0 checks once, a negative one waits a week. */
  int64_t secs = streq(timeout, "0") ? 0 : cli_parse_duration_s(timeout);
  if (secs < 0 && !(timeout[0] == '-' && cli_parse_duration_s(timeout + 1) >= 0)) {
    rc = cli_fail("invalid argument \"%s\" for \"--timeout\" flag: time: "
                  "invalid duration \"%s\"\nSee 'kube wait --help' for usage.",
                  timeout, timeout);
    goto out;
  }
  if (timeout[0] == '-')
    secs = 7 * 24 * 3600;
  if (npos == 0) {
    rc = cli_fail("resource(s) were provided, but no name was specified");
    goto out;
  }
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  if (cli_expand_refs(c, refs, nrefs, selector, all, &ts, &nt) < 0)
    goto out;
  if (nt == 0) {
    rc = cli_fail("no matching resources found");
    goto out;
  }
  int64_t deadline = kube_time_mono_ns() + secs * 1000000000LL;
  rc = 0;
  for (size_t i = 0; i < nt; i++)
    if (wait_one(c, &ts[i], &s, deadline, secs == 0))
      rc = 1;
out:
  cli_named_free(ts, nt);
  free(s.cond);
  free(s.value);
  free(refs);
  free(pos);
  return rc;
}
