/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the etcd backend (etcd-json.c). */
#ifndef KUBE_STORE_ETCD_H
#define KUBE_STORE_ETCD_H

#include <json-c/json.h>
#include <stdint.h>

#include "store/internal.h"

/* An int64 field that the gateway may write as a string; 0 when absent. */
int64_t store_etcd_json_i64(json_object *obj, const char *field);
/* A string field (borrowed) or NULL. */
const char *store_etcd_json_str(json_object *obj, const char *field);
/* Any field (borrowed) or NULL. */
json_object *store_etcd_json_get(json_object *obj, const char *field);

#endif
