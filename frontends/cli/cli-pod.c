/* SPDX-License-Identifier: Apache-2.0 */
/* What the pod verbs share (logs, exec, attach, port-forward, cp): naming a
 * pod on the command line and picking its container as kubectl does. */
#include <stdio.h>

#include "cli.h"

const char *cli_pod_arg(const char *arg) {
  const char *slash = strchr(arg, '/');
  if (!slash)
    return arg;
  if (str_has_prefix(arg, "pod/") || str_has_prefix(arg, "pods/") ||
      str_has_prefix(arg, "po/"))
    return slash[1] ? slash + 1 : NULL;
  return NULL;
}

kube_object_t *cli_get_pod(kube_client_t *c, const char *name) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *pod = kube_client_get(c, kube_kind_by_kind("v1", "Pod"),
                                       cli_namespace(), name, &err);
  if (!pod)
    cli_report(&err);
  return pod;
}

/* The name of container i of spec.<list> (borrowed), or NULL past the
 * last. */
static const char *nth(const kube_object_t *pod, const char *list, size_t i) {
  char path[96];
  snprintf(path, sizeof path, "spec.%s.%zu.name", list, i);
  return kube_object_get_string(pod, path);
}

static const char *const lists[] = {"containers", "ephemeralContainers",
                                    "initContainers"};

bool cli_pod_has_container(const kube_object_t *pod, const char *name) {
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
    for (size_t i = 0; nth(pod, lists[l], i); i++)
      if (streq(nth(pod, lists[l], i), name))
        return true;
  return false;
}

char *cli_pod_container_names(const kube_object_t *pod) {
  static const char *const suffix[] = {"", " (ephem)", " (init)"};
  size_t cap = 1;
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
    for (size_t i = 0; nth(pod, lists[l], i); i++)
      cap += strlen(nth(pod, lists[l], i)) + 10;
  char *out = calloc(1, cap);
  if (!out)
    return NULL;
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
    for (size_t i = 0; nth(pod, lists[l], i); i++) {
      if (*out)
        strcat(out, ", ");
      strcat(out, nth(pod, lists[l], i));
      strcat(out, suffix[l]);
    }
  return out;
}

const char *cli_pod_container(const kube_object_t *pod, const char *name,
                              bool quiet) {
  const char *pod_name = kube_object_get_string(pod, "metadata.name");
  if (name && *name) {
    if (!cli_pod_has_container(pod, name)) {
      cli_fail("container %s not found in pod %s", name, pod_name);
      return NULL;
    }
    return name;
  }
  const char *first = nth(pod, "containers", 0);
  if (!first) {
    cli_fail("pod %s/%s does not have any containers",
             kube_object_get_string(pod, "metadata.namespace"), pod_name);
    return NULL;
  }
  const char *annotated =
      kube_object_annotation(pod, "kubectl.kubernetes.io/default-container");
  if (annotated && cli_pod_has_container(pod, annotated))
    return annotated;
  if (!quiet && (nth(pod, "containers", 1) || nth(pod, "initContainers", 0) ||
                 nth(pod, "ephemeralContainers", 0))) {
    cleanup_free char *all = cli_pod_container_names(pod);
    fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", first,
            all ? all : "");
  }
  return first;
}

int64_t cli_parse_duration_s(const char *s) {
  if (!s || !*s)
    return -1;
  const char *p = s;
  bool neg = *p == '-';
  if (*p == '-' || *p == '+')
    p++;
  if (streq(p, "0"))
    return 0;
  double total_ns = 0;
  if (!*p)
    return -1;
  while (*p) {
    char *end;
    if (!(*p >= '0' && *p <= '9') && *p != '.')
      return -1;
    double v = strtod(p, &end);
    if (end == p)
      return -1;
    p = end;
    static const struct {
      const char *unit;
      double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    size_t best = ARRAY_SIZE(units);
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
      if (str_has_prefix(p, units[i].unit) &&
          (best == ARRAY_SIZE(units) ||
           strlen(units[i].unit) > strlen(units[best].unit)))
        best = i;
    if (best == ARRAY_SIZE(units))
      return -1; /* a number without a unit */
    total_ns += v * units[best].ns;
    p += strlen(units[best].unit);
  }
  /* time.Duration.Round(time.Second): halves away from zero. */
  int64_t secs = (int64_t)(total_ns / 1e9 + 0.5);
  return neg ? -secs : secs;
}
