/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kinds of the server's custom resources, as kubectl finds them by
 * discovery: on a name or (apiVersion, kind) the built-in table misses, the
 * client lists the established CustomResourceDefinitions once (again once
 * on a later miss) and builds their kinds the way the API server does.
 */
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

/* Discoveries done by this process: the first miss discovers, one later
 * miss (a definition made since) refreshes, after that misses are final. */
static int discoveries;
/* Each discovery's kinds, kept for the process's life (callers may hold a
 * kind of an earlier set). */
static kube_kind_t **sets[2];

static json_object *member(json_object *o, const char *key, json_type t) {
  json_object *v = NULL;
  return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t)
             ? v
             : NULL;
}

static size_t array_len(json_object *a) {
  return a ? json_object_array_length(a) : 0;
}

static const char *str_member(json_object *o, const char *key) {
  return json_object_get_string(member(o, key, json_type_string));
}

static bool established(json_object *crd) {
  json_object *conds = member(member(crd, "status", json_type_object),
                              "conditions", json_type_array);
  for (size_t i = 0; i < array_len(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    const char *t = str_member(c, "type"), *s = str_member(c, "status");
    if (t && s && streq(t, "Established") && streq(s, "True"))
      return true;
  }
  return false;
}

/* List the definitions and install their kinds.  0 when the set was
 * (re)built, -1 when it could not be read (the miss stays a miss); when
 * the server could not be reached at all, that error in *unreachable (what
 * kubectl reports, its discovery failing the same way). */
static int discover(kube_client_t *c, kube_error_t *unreachable) {
  if (!c || discoveries >= 2)
    return -1;
  discoveries++;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_request_t req = {
      .struct_size = sizeof req,
      .method = "GET",
      .path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  json_object *list = NULL;
  if (kube_client_request(c, &req, &resp, &err) < 0)
    kube_error_move(unreachable, &err);
  else if (kube_client_check(&resp, &err) == 0)
    list = kube_json_parse(resp.body, resp.body_len, &err);
  kube_client_response_clear(&resp);
  kube_error_clear(&err);
  if (!list)
    return -1;
  json_object *items = member(list, "items", json_type_array);
  kube_kind_t **all = NULL;
  size_t n = 0;
  for (size_t i = 0; i < array_len(items); i++) {
    json_object *crd = json_object_array_get_idx(items, i);
    kube_kind_t **ks = NULL;
    size_t nk = 0;
    if (!established(crd) || api_crd_build_kinds(crd, &ks, &nk, &err) < 0) {
      kube_error_clear(&err);
      continue;
    }
    kube_kind_t **grown = realloc(all, (n + nk + 1) * sizeof *all);
    if (!grown) {
      for (size_t j = 0; j < nk; j++)
        api_kind_unref(ks[j]);
      free(ks);
      break;
    }
    all = grown;
    for (size_t j = 0; j < nk; j++)
      all[n++] = ks[j];
    free(ks);
  }
  json_object_put(list);
  sets[discoveries - 1] = all;
  api_kinds_set_extra(all, n);
  return 0;
}

KUBE_EXPORT const kube_kind_t *kube_client_resolve_kind(kube_client_t *c,
                                                        const char *name,
                                                        kube_error_t *err) {
  kube_error_t miss = KUBE_ERROR_INIT, down = KUBE_ERROR_INIT;
  const kube_kind_t *k = kube_kind_lookup(name, &miss);
  if (!k && name && discover(c, &down) == 0) {
    kube_error_clear(&miss);
    k = kube_kind_lookup(name, &miss);
  }
  if (!k)
    kube_error_move(err, down.message ? &down : &miss);
  kube_error_clear(&miss);
  kube_error_clear(&down);
  return k;
}

KUBE_EXPORT const kube_kind_t *
kube_client_kind_of_object(kube_client_t *c, const kube_object_t *obj,
                           kube_error_t *err) {
  kube_error_t miss = KUBE_ERROR_INIT, down = KUBE_ERROR_INIT;
  const kube_kind_t *k = kube_kind_of_object(obj, &miss);
  /* Only a kind not known here is worth asking the server about. */
  if (!k && miss.reason == KUBE_REASON_NOT_FOUND && discover(c, &down) == 0) {
    kube_error_clear(&miss);
    k = kube_kind_of_object(obj, &miss);
  }
  if (!k)
    kube_error_move(err, down.message ? &down : &miss);
  kube_error_clear(&miss);
  kube_error_clear(&down);
  return k;
}
