/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The static type tables of the built-in kinds: for each Go type of
 * k8s.io/api (and apimachinery's meta/v1) the fields of its JSON form, with
 *   - the JSON name and the value's type (int32 and int64 apart, quantities,
 *     int-or-string, times, maps, nested types),
 *   - the protobuf field number of generated.proto (0: JSON only),
 *   - the merge behaviour of strategic merge patch and server-side apply
 *     (patchStrategy, patchMergeKey, +listType, +listMapKey, +structType,
 *     +mapType),
 * and whether the list of fields is complete (a closed type: any other
 * field is unknown, as the Go decoder finds it) or not (an open type: other
 * fields are kept as they are, untyped).
 *
 * One table serves the protobuf decoder, the patch engines, the typed
 * checks of request bodies (field types, int32 ranges, unknown fields) and
 * the OpenAPI documents: they compile it into the runtime schema of
 * schema.h.  Private to the library (api and apiserver modules).
 */
#ifndef KUBE_API_TYPES_H
#define KUBE_API_TYPES_H

#include <stdint.h>

enum api_tkind {
  API_T_END = 0,   /* terminator of a field list */
  API_T_STRING,    /* string */
  API_T_BYTES,     /* bytes: base64 string in JSON */
  API_T_BOOL,      /* bool */
  API_T_INT32,     /* int32 (varint, sign-extended on the wire) */
  API_T_INT64,     /* int64 */
  API_T_DOUBLE,    /* float64 (JSON only) */
  API_T_MSG,       /* nested type: object */
  API_T_INLINE,    /* embedded type whose fields are inlined in the parent
                      (Go struct embedding, `json:",inline"`) */
  API_T_MAP_STR,   /* map[string]string */
  API_T_MAP_BYTES, /* map[string][]byte: values base64 */
  API_T_MAP_QTY,   /* map[string]resource.Quantity */
  API_T_TIME,      /* metav1.Time: RFC 3339 string or null */
  API_T_MICROTIME, /* metav1.MicroTime */
  API_T_QTY,       /* resource.Quantity: string (or number) */
  API_T_INTSTR,    /* intstr.IntOrString */
  API_T_RAWJSON,   /* FieldsV1, RawExtension, JSON: any value */
  API_T_MAP_MSG,   /* map[string]<type>: values of `type` (JSON only) */
};

enum api_fflags {
  API_F_REP = 1 << 0, /* repeated: a JSON array of the type */
  /* Protobuf: emit the zero value too (the Go field is a pointer, or has
   * no omitempty). */
  API_F_KEEP = 1 << 1,
};

/* Merge behaviour of a field (patch engines). */
enum api_list_kind {
  API_LIST_NONE = 0, /* not a list, or a list replaced as a whole (atomic) */
  API_LIST_SET,      /* list of scalars merged as a set */
  API_LIST_MAP,      /* list of objects merged by key */
};

enum api_mflags {
  /* patchStrategy "retainKeys": $retainKeys clears unlisted keys. */
  API_M_RETAIN_KEYS = 1 << 0,
  /* The struct or map is atomic (one owner for the whole value). */
  API_M_ATOMIC = 1 << 1,
  /* The list is associative for server-side apply only: strategic merge
   * replaces it (no patchStrategy tag). */
  API_M_SSA_ONLY = 1 << 2,
  /* The list merges by key in strategic merge only: apply treats it as
   * atomic (+listType=atomic next to patchStrategy=merge). */
  API_M_SMP_ONLY = 1 << 3,
};

#define API_MAX_KEYS 3

typedef struct api_type api_type_t;

typedef struct api_field {
  uint16_t num;  /* protobuf field number; 0: not in protobuf */
  uint8_t kind;  /* enum api_tkind */
  uint8_t flags; /* enum api_fflags */
  const char *json;
  const api_type_t *type; /* API_T_MSG, API_T_INLINE */
  uint8_t list;           /* enum api_list_kind */
  uint8_t mflags;         /* enum api_mflags */
  /* keys[0] is the strategic merge patchMergeKey; every non-NULL entry is
   * an apply list map key (+listMapKey). */
  const char *keys[API_MAX_KEYS];
} api_field_t;

enum api_type_flags {
  /* The fields listed are not all the type has: others are kept as they
   * are and not reported as unknown. */
  API_TYPE_OPEN = 1 << 0,
  /* +structType=atomic: server-side apply owns it as a whole. */
  API_TYPE_ATOMIC = 1 << 1,
};

struct api_type {
  const char *name; /* Go type name: "PodSpec" */
  /* OpenAPI package of the definition, "io.k8s.api.core.v1": the
   * definition is named "io.k8s.api.core.v1.PodSpec". */
  const char *pkg;
  unsigned flags;            /* enum api_type_flags */
  const api_field_t *fields; /* terminated by kind API_T_END */
};

#endif /* KUBE_API_TYPES_H */
