/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-controllers: the API writes a case made, from kubed's /metrics
 * (apiserver_request_total, in-process requests of its controllers,
 * scheduler and hollow nodes included) read before and after: counts by
 * verb, resource and subresource, printed per pod.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <libkube/kit.h>

#include "bench-controllers.h"

/* The value of label `name` in a label set {a="x",b="y"} into out. */
static void label(const char *set, const char *name, char *out, size_t len) {
  char key[64];
  snprintf(key, sizeof key, "%s=\"", name);
  const char *p = strstr(set, key);
  out[0] = '\0';
  if (!p)
    return;
  p += strlen(key);
  const char *e = strchr(p, '"');
  size_t n = e ? (size_t)(e - p) : 0;
  if (n >= len)
    n = len - 1;
  memcpy(out, p, n);
  out[n] = '\0';
}

json_object *writes_read(const struct kubed *k) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kubed_client(k, 10000, &err);
  json_object *out = NULL;
  kube_client_request_t req = {
      .struct_size = sizeof req, .method = "GET", .path = "/metrics"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (c && kube_client_request(c, &req, &resp, &err) == 0 &&
      resp.status == 200 && resp.body) {
    out = json_object_new_object();
    char *text = strndup(resp.body, resp.body_len), *save = NULL;
    const char *pre = "apiserver_request_total{";
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
      if (strncmp(l, pre, strlen(pre)) != 0)
        continue;
      char verb[16], res[64], sub[64], key[160];
      label(l, "verb", verb, sizeof verb);
      if (strcmp(verb, "POST") && strcmp(verb, "PUT") &&
          strcmp(verb, "PATCH") && strcmp(verb, "DELETE"))
        continue;
      label(l, "resource", res, sizeof res);
      label(l, "subresource", sub, sizeof sub);
      snprintf(key, sizeof key, "%s %s%s%s", verb, res, *sub ? "/" : "", sub);
      const char *v = strrchr(l, ' ');
      int64_t n = v ? strtoll(v + 1, NULL, 10) : 0;
      json_object *cur = NULL;
      if (json_object_object_get_ex(out, key, &cur))
        n += json_object_get_int64(cur);
      json_object_object_add(out, key, json_object_new_int64(n));
    }
    free(text);
  }
  kube_client_response_clear(&resp);
  kube_error_clear(&err);
  kube_client_free(c);
  return out;
}

double writes_print(json_object *before, json_object *after, int pods) {
  if (!before || !after || pods <= 0)
    return -1;
  int64_t total = 0;
  json_object_object_foreach(after, key, val) {
    json_object *b = NULL;
    int64_t n = json_object_get_int64(val);
    if (json_object_object_get_ex(before, key, &b))
      n -= json_object_get_int64(b);
    if (n <= 0)
      continue;
    total += n;
    printf("    %-42s %10.3f   (%lld)\n", key, (double)n / pods,
           (long long)n);
  }
  printf("  %-44s %10.3f   (create -> all Running)\n", "API writes per pod",
         (double)total / pods);
  return (double)total / pods;
}
