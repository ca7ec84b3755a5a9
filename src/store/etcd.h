/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the etcd backend (etcd-json.c). */
#ifndef KUBE_STORE_ETCD_H
#define KUBE_STORE_ETCD_H

#include <json-c/json.h>
#include <stdint.h>

#include "store/internal.h"

/* Append base64 of data to sb. */
void store_etcd_b64_append(kube_strbuf_t *sb, const void *data, size_t len);
/* Decode base64 (standard or URL alphabet); owned NUL-terminated result,
 * NULL on bad input or out-of-memory. */
char *store_etcd_b64_decode(const char *in, size_t *out_len);
/* An int64 field that the gateway may write as a string; 0 when absent. */
int64_t store_etcd_json_i64(json_object *obj, const char *field);
/* A string field (borrowed) or NULL. */
const char *store_etcd_json_str(json_object *obj, const char *field);
/* Any field (borrowed) or NULL. */
json_object *store_etcd_json_get(json_object *obj, const char *field);

#endif
