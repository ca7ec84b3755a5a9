/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for kubectl JSONPath templates (kube_jsonpath_eval):
 * tokenizing, {range}/{end} nesting, paths, recursive descent, slices and
 * filters, evaluated against a fixed PodList with nested objects, arrays,
 * numbers, booleans, nulls, dotted and non-ASCII keys.
 *
 * A template comes from the user's command line, and its output is by
 * design the product of its ranges' fan-outs ({range ..*} nested three
 * deep over this object prints millions of lines): inputs whose worst-case
 * output exceeds a budget are skipped, so that the harness looks for
 * crashes rather than for big outputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-private.h"
#include "client/internal.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

static const char object_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{"
    "\"resourceVersion\":\"42\"},\"items\":["
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\","
    "\"namespace\":\"default\",\"labels\":{\"app\":\"web\","
    "\"app.kubernetes.io/name\":\"web\",\"tier\":null},"
    "\"annotations\":{\"k\\u00e9y\":\"v\\u00e4lue\",\"a.b/c\":\"\"}},"
    "\"spec\":{\"nodeName\":\"node1\",\"containers\":[{\"name\":\"nginx\","
    "\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":80,"
    "\"protocol\":\"TCP\"},{\"containerPort\":443}],\"resources\":{"
    "\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}},{\"name\":"
    "\"sidecar\",\"image\":\"busybox\",\"args\":[\"sleep\",\"3600\"]}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\","
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":"
    "\"PodScheduled\",\"status\":\"True\"}],\"containerStatuses\":[{\"name\":"
    "\"nginx\",\"ready\":true,\"restartCount\":0},{\"name\":\"sidecar\","
    "\"ready\":false,\"restartCount\":3}]}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"db-0\","
    "\"namespace\":\"prod\",\"labels\":{\"app\":\"db\"}},\"spec\":{"
    "\"containers\":[{\"name\":\"pg\",\"image\":\"postgres:16\"}],"
    "\"priority\":-5,\"ratio\":1.5e3,\"empty\":{},\"none\":[]},\"status\":{"
    "\"phase\":\"Pending\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
    "\"False\",\"reason\":null}]}},null,7,\"x\"]}";

/* Undefined behaviour is a bug like any other: stop at the first report. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "halt_on_error=1:print_stacktrace=1";
}

static kube_object_t *obj;
static size_t n_nodes; /* values in the object, the widest fan-out */

static size_t count_nodes(json_object *o) {
  size_t n = 1;
  if (json_object_is_type(o, json_type_object)) {
    json_object_object_foreach(o, key, val) {
      (void)key;
      n += count_nodes(val);
    }
  } else if (json_object_is_type(o, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(o); i++)
      n += count_nodes(json_object_array_get_idx(o, i));
  }
  return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  obj = kube_object_from_json(object_json, sizeof object_json - 1, NULL);
  CHECK(obj);
  n_nodes = count_nodes(kube_object_json(obj));
  return 0;
}

/* Worst-case work: every action runs once per element of each range
 * around it (at most every value of the object), and each ".." can
 * multiply a node set by the object's depth (< 8). */
static bool within_budget(const char *t) {
  double actions = 1, fanout = 1;
  for (const char *p = t; (p = strchr(p, '{')); p++)
    actions++;
  for (const char *p = t; (p = strstr(p, "range")); p += 5)
    fanout *= (double)n_nodes;
  for (const char *p = t; (p = strstr(p, "..")); p += 2)
    fanout *= 8;
  return actions * fanout <= 3e5;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  char *t = malloc(size + 1);
  if (!t)
    return 0;
  memcpy(t, data, size);
  t[size] = '\0';
  if (!within_budget(t)) {
    free(t);
    return 0;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  char *out = kube_jsonpath_eval(obj, t, &err);
  if (!out) {
    CHECK(kube_error_is_set(&err));
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  } else {
    CHECK(!kube_error_is_set(&err));
    /* Plain text without actions prints as written (after unescaping). */
    if (!strchr(t, '{') && !strchr(t, '\\'))
      CHECK(strcmp(out, t) == 0);
    /* Evaluation is deterministic. */
    char *again = kube_jsonpath_eval(obj, t, NULL);
    CHECK(again && strcmp(out, again) == 0);
    free(again);
    free(out);
  }
  free(t);
  return 0;
}
