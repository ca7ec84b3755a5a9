/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder of Kubernetes' protobuf encoding (application/vnd.kubernetes.
 * protobuf): the 4-byte magic "k8s\0", then a runtime.Unknown message
 * {typeMeta{apiVersion=1,kind=2}=1, raw=2, contentEncoding=3,
 * contentType=4} whose raw bytes are the object's own message.  The object
 * is decoded into the JSON tree a JSON client would have sent, driven by
 * the type tables of src/api/types/.  Every length is checked against the
 * bytes left; malformed input is a BadRequest, never a crash.
 */
#include <time.h>

#include "apiserver/patch.h"
#include "api/schema.h"
#include "core/util.h"

#define MAX_DEPTH 64

typedef struct reader {
  const uint8_t *p;
  const uint8_t *end;
} reader_t;

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

static int malformed(kube_error_t *err, const char *what) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "malformed protobuf body: %s", what);
}

static int read_varint(reader_t *r, uint64_t *out, kube_error_t *err) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end)
      return malformed(err, "truncated varint");
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return malformed(err, "varint longer than 10 bytes");
}

/* A length-delimited field: *sub covers its bytes, r moves past them. */
static int read_len(reader_t *r, reader_t *sub, kube_error_t *err) {
  uint64_t n;
  if (read_varint(r, &n, err) < 0)
    return -1;
  if (n > (uint64_t)(r->end - r->p))
    return malformed(err, "length beyond end of message");
  sub->p = r->p;
  sub->end = r->p + n;
  r->p += n;
  return 0;
}

static int skip_field(reader_t *r, unsigned wt, kube_error_t *err) {
  uint64_t v;
  reader_t sub;
  switch (wt) {
  case WT_VARINT:
    return read_varint(r, &v, err);
  case WT_FIXED64:
    if (r->end - r->p < 8)
      return malformed(err, "truncated fixed64");
    r->p += 8;
    return 0;
  case WT_FIXED32:
    if (r->end - r->p < 4)
      return malformed(err, "truncated fixed32");
    r->p += 4;
    return 0;
  case WT_LEN:
    return read_len(r, &sub, err);
  default:
    return malformed(err, "unsupported wire type");
  }
}

static int read_tag(reader_t *r, uint32_t *num, unsigned *wt,
                    kube_error_t *err) {
  uint64_t tag;
  if (read_varint(r, &tag, err) < 0)
    return -1;
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
    return malformed(err, "invalid field number");
  *num = (uint32_t)(tag >> 3);
  *wt = (unsigned)(tag & 7);
  return 0;
}

static json_object *base64_string(const uint8_t *p, size_t n) {
  cleanup_free char *buf = kube_base64_encode(p, n);
  return buf ? json_object_new_string(buf) : NULL;
}

static bool has_nul(const reader_t *r) {
  return memchr(r->p, '\0', (size_t)(r->end - r->p)) != NULL;
}

static json_object *string_of(const reader_t *r) {
  return json_object_new_string_len((const char *)r->p, (int)(r->end - r->p));
}

/* metav1.Time / MicroTime {seconds=1, nanos=2}.  *out is NULL (JSON null)
 * for the zero time, as Go marshals it. */
static int decode_time(reader_t r, bool micro, json_object **out,
                       kube_error_t *err) {
  int64_t seconds = 0;
  int64_t nanos = 0;
  while (r.p < r.end) {
    uint32_t num;
    unsigned wt;
    uint64_t v;
    if (read_tag(&r, &num, &wt, err) < 0)
      return -1;
    if ((num == 1 || num == 2) && wt == WT_VARINT) {
      if (read_varint(&r, &v, err) < 0)
        return -1;
      if (num == 1)
        seconds = (int64_t)v;
      else
        nanos = (int32_t)(uint32_t)v;
    } else if (skip_field(&r, wt, err) < 0) {
      return -1;
    }
  }
  *out = NULL;
  if (seconds == 0 && nanos == 0)
    return 0;
  /* Years 0001..9999, the range RFC 3339 can write. */
  if (seconds < -62135596800LL || seconds > 253402300799LL || nanos < 0 ||
      nanos > 999999999)
    return malformed(err, "time out of range");
  time_t t = (time_t)seconds;
  struct tm tm;
  char buf[48];
  if (!gmtime_r(&t, &tm))
    return malformed(err, "time out of range");
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  if (micro)
    snprintf(buf + n, sizeof(buf) - n, ".%06dZ", (int)(nanos / 1000));
  else
    snprintf(buf + n, sizeof(buf) - n, "Z");
  *out = json_object_new_string(buf);
  return *out ? 0 : kube_make_oom(err);
}

/* A message whose only field 1 is bytes/string (Quantity, FieldsV1,
 * RawExtension): *sub covers that field's bytes (empty when absent). */
static int decode_single_bytes(reader_t r, reader_t *sub, kube_error_t *err) {
  sub->p = sub->end = r.p;
  while (r.p < r.end) {
    uint32_t num;
    unsigned wt;
    if (read_tag(&r, &num, &wt, err) < 0)
      return -1;
    if (num == 1 && wt == WT_LEN) {
      if (read_len(&r, sub, err) < 0)
        return -1;
    } else if (skip_field(&r, wt, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* intstr.IntOrString {type=1, intVal=2, strVal=3}.  *out NULL when it is the
 * zero value and `keep` is false. */
static int decode_intstr(reader_t r, bool keep, json_object **out,
                         kube_error_t *err) {
  uint64_t type = 0, ival = 0;
  reader_t sval = {r.p, r.p};
  while (r.p < r.end) {
    uint32_t num;
    unsigned wt;
    if (read_tag(&r, &num, &wt, err) < 0)
      return -1;
    if (num == 1 && wt == WT_VARINT) {
      if (read_varint(&r, &type, err) < 0)
        return -1;
    } else if (num == 2 && wt == WT_VARINT) {
      if (read_varint(&r, &ival, err) < 0)
        return -1;
    } else if (num == 3 && wt == WT_LEN) {
      if (read_len(&r, &sval, err) < 0)
        return -1;
    } else if (skip_field(&r, wt, err) < 0) {
      return -1;
    }
  }
  *out = NULL;
  if (type == 1) {
    *out = string_of(&sval);
  } else {
    int32_t i = (int32_t)(uint32_t)ival;
    if (i == 0 && !keep)
      return 0;
    *out = json_object_new_int(i);
  }
  return *out ? 0 : kube_make_oom(err);
}

/* Raw JSON bytes (FieldsV1, RawExtension) parsed into a tree. */
static int parse_raw_json(const reader_t *raw, json_object **out,
                          kube_error_t *err) {
  size_t n = (size_t)(raw->end - raw->p);
  *out = NULL;
  if (n == 0)
    return 0;
  if (n > INT32_MAX)
    return malformed(err, "embedded JSON too large");
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return kube_make_oom(err);
  json_object *v = json_tokener_parse_ex(tok, (const char *)raw->p, (int)n);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr != json_tokener_success || used != n) {
    json_object_put(v);
    return malformed(err, "embedded JSON does not parse");
  }
  *out = v;
  return 0;
}

/* Add `val` (stolen; may be NULL for JSON null) under json name `key`, or
 * append it to the array there for repeated fields. */
static int put_value(json_object *obj, const char *key, bool repeated,
                     json_object *val, kube_error_t *err) {
  if (!repeated) {
    if (json_object_object_add(obj, key, val) < 0) {
      json_object_put(val);
      return kube_make_oom(err);
    }
    return 0;
  }
  json_object *arr = NULL;
  if (!json_object_object_get_ex(obj, key, &arr) ||
      !json_object_is_type(arr, json_type_array)) {
    arr = json_object_new_array();
    if (!arr || json_object_object_add(obj, key, arr) < 0) {
      json_object_put(arr);
      json_object_put(val);
      return kube_make_oom(err);
    }
  }
  if (json_object_array_add(arr, val) < 0) {
    json_object_put(val);
    return kube_make_oom(err);
  }
  return 0;
}

/* One map<string, X> entry {key=1, value=2}. */
static int decode_map_entry(reader_t r, json_object *obj, const char *name,
                            int kind, kube_error_t *err) {
  reader_t key = {r.p, r.p}, value = {r.p, r.p};
  while (r.p < r.end) {
    uint32_t num;
    unsigned wt;
    if (read_tag(&r, &num, &wt, err) < 0)
      return -1;
    if ((num == 1 || num == 2) && wt == WT_LEN) {
      if (read_len(&r, num == 1 ? &key : &value, err) < 0)
        return -1;
    } else if (skip_field(&r, wt, err) < 0) {
      return -1;
    }
  }
  json_object *map = NULL;
  if (!json_object_object_get_ex(obj, name, &map) ||
      !json_object_is_type(map, json_type_object)) {
    map = json_object_new_object();
    if (!map || json_object_object_add(obj, name, map) < 0) {
      json_object_put(map);
      return kube_make_oom(err);
    }
  }
  size_t klen = (size_t)(key.end - key.p);
  if (memchr(key.p, '\0', klen))
    return malformed(err, "map key contains NUL");
  char *k = strndup((const char *)key.p, klen);
  if (!k)
    return kube_make_oom(err);
  json_object *v = NULL;
  if (kind == API_T_MAP_STR && has_nul(&value)) {
    free(k);
    return malformed(err, "map value contains NUL");
  }
  if (kind == API_T_MAP_STR) {
    v = string_of(&value);
  } else if (kind == API_T_MAP_BYTES) {
    v = base64_string(value.p, (size_t)(value.end - value.p));
  } else {
    reader_t q;
    if (decode_single_bytes(value, &q, err) < 0) {
      free(k);
      return -1;
    }
    v = string_of(&q);
  }
  int r2 = 0;
  if (!v || json_object_object_add(map, k, v) < 0) {
    json_object_put(v);
    r2 = kube_make_oom(err);
  }
  free(k);
  return r2;
}

static int decode_message(reader_t r, const api_type_t *msg, json_object *out,
                          int depth, kube_error_t *err);

static const api_field_t *find_field(const api_type_t *msg, uint32_t num) {
  for (const api_field_t *f = msg->fields; f->kind != API_T_END; f++)
    if (f->num == num && num != 0)
      return f;
  return NULL;
}

static bool is_scalar(int kind) {
  return kind == API_T_BOOL || kind == API_T_INT32 || kind == API_T_INT64;
}

static json_object *scalar_value(int kind, uint64_t v, bool keep, bool *omit) {
  *omit = v == 0 && !keep;
  switch (kind) {
  case API_T_BOOL:
    return json_object_new_boolean(v != 0);
  case API_T_INT32:
    return json_object_new_int((int32_t)(uint32_t)v);
  default:
    return json_object_new_int64((int64_t)v);
  }
}

static int decode_field(reader_t *r, const api_field_t *f, unsigned wt,
                        json_object *out, int depth, kube_error_t *err) {
  bool rep = f->flags & API_F_REP, keep = f->flags & API_F_KEEP;
  reader_t sub;
  json_object *val = NULL;

  if (is_scalar(f->kind)) {
    uint64_t v;
    bool omit;
    if (wt == WT_VARINT) {
      if (read_varint(r, &v, err) < 0)
        return -1;
      if (rep)
        omit = false, val = scalar_value(f->kind, v, true, &omit);
      else
        val = scalar_value(f->kind, v, keep, &omit);
      if (!val)
        return kube_make_oom(err);
      if (omit) {
        json_object_put(val);
        /* A later zero overrides an earlier value (last one wins). */
        json_object_object_del(out, f->json);
        return 0;
      }
      return put_value(out, f->json, rep, val, err);
    }
    if (wt == WT_LEN && rep) { /* packed repeated scalars */
      if (read_len(r, &sub, err) < 0)
        return -1;
      while (sub.p < sub.end) {
        bool unused;
        if (read_varint(&sub, &v, err) < 0)
          return -1;
        val = scalar_value(f->kind, v, true, &unused);
        if (!val)
          return kube_make_oom(err);
        if (put_value(out, f->json, true, val, err) < 0)
          return -1;
      }
      return 0;
    }
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "malformed protobuf body: field %s has wire "
                          "type %u",
                          f->json, wt);
  }

  if (wt != WT_LEN)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "malformed protobuf body: field %s has wire "
                          "type %u",
                          f->json ? f->json : "(inline)", wt);
  if (read_len(r, &sub, err) < 0)
    return -1;

  switch (f->kind) {
  case API_T_STRING:
    if (sub.p == sub.end && !keep && !rep) {
      json_object_object_del(out, f->json);
      return 0;
    }
    if (has_nul(&sub))
      return malformed(err, "string contains NUL");
    val = string_of(&sub);
    break;
  case API_T_BYTES:
    val = base64_string(sub.p, (size_t)(sub.end - sub.p));
    break;
  case API_T_MSG:
    if (depth >= MAX_DEPTH)
      return malformed(err, "nesting too deep");
    val = json_object_new_object();
    if (!val)
      return kube_make_oom(err);
    if (decode_message(sub, f->type, val, depth + 1, err) < 0) {
      json_object_put(val);
      return -1;
    }
    break;
  case API_T_INLINE:
    if (depth >= MAX_DEPTH)
      return malformed(err, "nesting too deep");
    return decode_message(sub, f->type, out, depth + 1, err);
  case API_T_MAP_STR:
  case API_T_MAP_BYTES:
  case API_T_MAP_QTY:
    return decode_map_entry(sub, out, f->json, f->kind, err);
  case API_T_TIME:
  case API_T_MICROTIME:
    if (decode_time(sub, f->kind == API_T_MICROTIME, &val, err) < 0)
      return -1;
    return put_value(out, f->json, rep, val, err);
  case API_T_QTY: {
    reader_t q;
    if (decode_single_bytes(sub, &q, err) < 0)
      return -1;
    if (q.p == q.end && !rep)
      return 0;
    val = string_of(&q);
    break;
  }
  case API_T_INTSTR:
    if (decode_intstr(sub, keep || rep, &val, err) < 0)
      return -1;
    if (!val)
      return 0;
    break;
  case API_T_RAWJSON: {
    reader_t raw;
    if (decode_single_bytes(sub, &raw, err) < 0 ||
        parse_raw_json(&raw, &val, err) < 0)
      return -1;
    if (!val)
      return 0;
    break;
  }
  default:
    return malformed(err, "schema error");
  }
  if (!val)
    return kube_make_oom(err);
  return put_value(out, f->json, rep, val, err);
}

static int decode_message(reader_t r, const api_type_t *msg, json_object *out,
                          int depth, kube_error_t *err) {
  while (r.p < r.end) {
    uint32_t num;
    unsigned wt;
    if (read_tag(&r, &num, &wt, err) < 0)
      return -1;
    const api_field_t *f = find_field(msg, num);
    if (!f) {
      if (skip_field(&r, wt, err) < 0)
        return -1;
      continue;
    }
    if (decode_field(&r, f, wt, out, depth, err) < 0)
      return -1;
  }
  return 0;
}

/* Whether the type has protobuf field numbers (JSON-only types do not). */
static bool has_numbers(const api_type_t *t) {
  for (const api_field_t *f = t->fields; f->kind != API_T_END; f++)
    if (f->num)
      return true;
  return false;
}

/* runtime.Unknown */
typedef struct unknown {
  reader_t api_version, kind, raw, content_encoding;
} unknown_t;

static int decode_unknown(reader_t r, unknown_t *u, kube_error_t *err) {
  memset(u, 0, sizeof(*u));
  u->api_version.p = u->api_version.end = r.p;
  u->kind = u->raw = u->content_encoding = u->api_version;
  while (r.p < r.end) {
    uint32_t num;
    unsigned wt;
    reader_t sub;
    if (read_tag(&r, &num, &wt, err) < 0)
      return -1;
    if (num > 4 || wt != WT_LEN) {
      if (skip_field(&r, wt, err) < 0)
        return -1;
      continue;
    }
    if (read_len(&r, &sub, err) < 0)
      return -1;
    if (num == 1) { /* TypeMeta {apiVersion=1, kind=2} */
      while (sub.p < sub.end) {
        uint32_t tn;
        unsigned twt;
        if (read_tag(&sub, &tn, &twt, err) < 0)
          return -1;
        if ((tn == 1 || tn == 2) && twt == WT_LEN) {
          if (read_len(&sub, tn == 1 ? &u->api_version : &u->kind, err) < 0)
            return -1;
        } else if (skip_field(&sub, twt, err) < 0) {
          return -1;
        }
      }
    } else if (num == 2) {
      u->raw = sub;
    } else if (num == 3) {
      u->content_encoding = sub;
    }
  }
  return 0;
}

static char *reader_strdup(const reader_t *r) {
  return strndup((const char *)r->p, (size_t)(r->end - r->p));
}

json_object *kube_protobuf_decode(const void *data, size_t len,
                                  kube_error_t *err) {
  static const uint8_t magic[4] = {'k', '8', 's', 0};
  if (len > INT32_MAX) {
    kube_error_set(err, KUBE_REASON_TOO_LARGE, 0, "protobuf body too large");
    return NULL;
  }
  if (!data || len < 4 || memcmp(data, magic, 4) != 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "malformed protobuf body: missing k8s magic prefix");
    return NULL;
  }
  reader_t r = {(const uint8_t *)data + 4, (const uint8_t *)data + len};
  unknown_t u;
  if (decode_unknown(r, &u, err) < 0)
    return NULL;
  if (u.content_encoding.p != u.content_encoding.end) {
    kube_error_set(err, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, 0,
                   "protobuf content encoding is not supported");
    return NULL;
  }
  cleanup_free char *api_version = reader_strdup(&u.api_version);
  cleanup_free char *kind = reader_strdup(&u.kind);
  if (!api_version || !kind) {
    kube_make_oom(err);
    return NULL;
  }
  /* Embedded NULs would make the names ambiguous. */
  if (!*api_version || !*kind ||
      strlen(api_version) != (size_t)(u.api_version.end - u.api_version.p) ||
      strlen(kind) != (size_t)(u.kind.end - u.kind.p)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "malformed protobuf body: missing apiVersion or kind");
    return NULL;
  }
  const api_type_t *msg = api_kind_type(kube_kind_by_kind(api_version, kind));
  if (!msg)
    msg = api_body_type(api_version, kind);
  if (msg && !has_numbers(msg))
    msg = NULL; /* a JSON-only type */
  if (!msg) {
    kube_error_set(err, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, 0,
                   "protobuf encoding of %s %s is not supported; send JSON",
                   api_version, kind);
    return NULL;
  }
  json_object *obj = json_object_new_object();
  json_object *av = json_object_new_string(api_version);
  json_object *k = json_object_new_string(kind);
  if (!obj || !av || !k || json_object_object_add(obj, "apiVersion", av) < 0) {
    json_object_put(obj);
    json_object_put(av);
    json_object_put(k);
    kube_make_oom(err);
    return NULL;
  }
  if (json_object_object_add(obj, "kind", k) < 0) {
    json_object_put(obj);
    json_object_put(k);
    kube_make_oom(err);
    return NULL;
  }
  if (decode_message(u.raw, msg, obj, 0, err) < 0) {
    json_object_put(obj);
    return NULL;
  }
  return obj;
}
