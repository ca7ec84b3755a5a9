/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message tables for the Kubernetes protobuf decoder (protobuf.c):
 * generated.proto field numbers of k8s.io/api core/v1, apps/v1, batch/v1
 * and apimachinery meta/v1, with the JSON name and type of every field.
 * Private to src/apiserver/protobuf*.c.
 */
#ifndef KUBE_APISERVER_PROTOBUF_SCHEMA_H
#define KUBE_APISERVER_PROTOBUF_SCHEMA_H

#include <stdint.h>

enum pb_kind {
  PB_STRING = 1, /* string */
  PB_BYTES,      /* bytes → base64 string */
  PB_BOOL,       /* bool varint */
  PB_INT32,      /* int32 varint (sign-extended on the wire) */
  PB_INT64,      /* int64 varint */
  PB_MSG,        /* nested message → object */
  PB_INLINE,     /* embedded message whose fields are inlined in the parent
                    object (Go struct embedding, `json:",inline"`) */
  PB_MAP_STR,    /* map<string,string> */
  PB_MAP_BYTES,  /* map<string,bytes> → values base64 */
  PB_MAP_QTY,    /* map<string,resource.Quantity> */
  PB_TIME,       /* metav1.Time {seconds=1,nanos=2}; zero → null */
  PB_MICROTIME,  /* metav1.MicroTime → RFC 3339 with microseconds */
  PB_QTY,        /* resource.Quantity {string=1} → string */
  PB_INTSTR,     /* intstr.IntOrString {type=1,intVal=2,strVal=3} */
  PB_RAWJSON,    /* FieldsV1 / RawExtension {raw=1 bytes of JSON} */
};

enum pb_flags {
  PB_REP = 1 << 0, /* repeated */
  /* Emit the zero value too: the Go field is a pointer (so presence on the
   * wire means "set") or has no omitempty. */
  PB_KEEP = 1 << 1,
};

typedef struct pb_msg pb_msg_t;

typedef struct pb_field {
  uint16_t num;
  uint8_t kind;  /* enum pb_kind */
  uint8_t flags; /* enum pb_flags */
  const char *json;
  const pb_msg_t *msg; /* PB_MSG, PB_INLINE */
} pb_field_t;

struct pb_msg {
  const char *name;
  const pb_field_t *fields; /* terminated by num 0 */
};

/* The top-level message of apiVersion/kind, or NULL when not served. */
const pb_msg_t *as_pb_schema_lookup(const char *api_version, const char *kind);

#endif /* KUBE_APISERVER_PROTOBUF_SCHEMA_H */
