/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for etcd's v3 JSON gateway: int64 fields, which the gateway
 * writes as JSON strings and omits when zero.  (Keys and values are bytes
 * on the wire, in base64: core's kube_base64_*.)
 */
#include <stdlib.h>
#include <string.h>

#include "store/etcd.h"

int64_t store_etcd_json_i64(json_object *obj, const char *field) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, field, &v))
    return 0;
  if (json_object_is_type(v, json_type_string))
    return strtoll(json_object_get_string(v), NULL, 10);
  return json_object_get_int64(v);
}

const char *store_etcd_json_str(json_object *obj, const char *field) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, field, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

json_object *store_etcd_json_get(json_object *obj, const char *field) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, field, &v))
    return NULL;
  return v;
}
