/* SPDX-License-Identifier: Apache-2.0 */
/* Objects between the wire and the store: request body decoding, the
 * stored form (no resourceVersion: it is the record's mod_revision) and
 * the served form. */
#include <limits.h>
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"
#include "apiserver/patch.h"

char *as_now_rfc3339(char *buf, size_t len) {
  return kube_time_format(time(NULL), buf, len);
}

json_object *as_meta_of(json_object *obj) {
  json_object *m = NULL;
  if (!json_object_object_get_ex(obj, "metadata", &m) ||
      !json_object_is_type(m, json_type_object)) {
    m = json_object_new_object();
    json_object_object_add(obj, "metadata", m);
  }
  return m;
}

void as_tree_set_rv(json_object *obj, int64_t rev) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)rev);
  json_object_object_add(as_meta_of(obj), "resourceVersion",
                         json_object_new_string(buf));
}

int as_json_set_path(json_object *obj, const char *path, json_object *val) {
  char buf[256];
  if (!val || !path || strlen(path) >= sizeof buf) {
    json_object_put(val);
    return -1;
  }
  strcpy(buf, path);
  json_object *cur = obj;
  char *save = NULL;
  char *part = strtok_r(buf, ".", &save);
  while (part) {
    char *next = strtok_r(NULL, ".", &save);
    if (!next)
      return json_object_object_add(cur, part, val) < 0 ? -1 : 0;
    json_object *child = NULL;
    if (!json_object_object_get_ex(cur, part, &child) ||
        !json_object_is_type(child, json_type_object)) {
      child = json_object_new_object();
      if (!child || json_object_object_add(cur, part, child) < 0) {
        json_object_put(child);
        json_object_put(val);
        return -1;
      }
    }
    cur = child;
    part = next;
  }
  json_object_put(val);
  return -1;
}

bool as_has_finalizers(json_object *obj) {
  json_object *f = kube_json_get(obj, "metadata.finalizers");
  if (f && json_object_is_type(f, json_type_array) &&
      json_object_array_length(f) > 0)
    return true;
  /* A namespace also waits for spec.finalizers ("kubernetes": its content
   * is being removed). */
  if (api_kind_strategy(api_kind_of_tree(obj))->flags &
      API_KIND_SPEC_FINALIZERS) {
    f = kube_json_get(obj, "spec.finalizers");
    return f && json_object_is_type(f, json_type_array) &&
           json_object_array_length(f) > 0;
  }
  return false;
}

/* True when obj already is in stored form: apiVersion, kind and metadata
 * (an object without resourceVersion and selfLink) come first. */
bool as_tree_in_stored_form(json_object *obj) {
  static const char *const first[] = {"apiVersion", "kind", "metadata"};
  size_t i = 0;
  json_object *meta = NULL;
  json_object_object_foreach(obj, key, val) {
    if (!streq(key, first[i]))
      return false;
    if (++i == ARRAY_SIZE(first)) {
      meta = val;
      break;
    }
  }
  return meta && json_object_is_type(meta, json_type_object) &&
         !json_object_object_get_ex(meta, "resourceVersion", NULL) &&
         !json_object_object_get_ex(meta, "selfLink", NULL);
}

char *as_tree_to_stored(json_object *obj, size_t *len) {
  if (as_tree_in_stored_form(obj))
    return api_json_encode(obj, len);
  json_object *out = json_object_new_object();
  json_object *v;
  if (!out)
    return NULL;
  if (json_object_object_get_ex(obj, "apiVersion", &v))
    json_object_object_add(out, "apiVersion", json_object_get(v));
  if (json_object_object_get_ex(obj, "kind", &v))
    json_object_object_add(out, "kind", json_object_get(v));
  json_object *meta = json_object_new_object();
  json_object_object_add(out, "metadata", meta);
  if (json_object_object_get_ex(obj, "metadata", &v) &&
      json_object_is_type(v, json_type_object)) {
    json_object_object_foreach(v, mk, mv) {
      if (streq(mk, "resourceVersion") || streq(mk, "selfLink"))
        continue;
      json_object_object_add(meta, mk, json_object_get(mv));
    }
  }
  json_object_object_foreach(obj, key, val) {
    if (streq(key, "apiVersion") || streq(key, "kind") ||
        streq(key, "metadata"))
      continue;
    json_object_object_add(out, key, json_object_get(val));
  }
  char *res = api_json_encode(out, len);
  json_object_put(out);
  return res;
}

/* Stored values are our own output (as_tree_to_stored): json-c alone parses
 * them, without the strict checks client input needs (they cost as much
 * again).  Anything json-c does not take whole goes through the strict
 * parser, which reports the error. */
json_object *as_record_parse(const kube_store_record_t *rec,
                             kube_error_t *err) {
  const char *v = rec->value;
  size_t len = rec->value_len;
  json_tokener *tok = NULL;
  if (v && len > 0 && len <= INT_MAX && v[0] == '{' &&
      (tok = api_json_tokener())) {
    json_tokener_set_flags(tok, 0);
    json_object *o = json_tokener_parse_ex(tok, v, (int)len);
    if (o && json_tokener_get_error(tok) == json_tokener_success &&
        json_tokener_get_parse_end(tok) == len &&
        json_object_is_type(o, json_type_object))
      return o;
    json_object_put(o);
  }
  return kube_json_parse(v, len, err);
}

json_object *as_record_to_tree(const kube_store_record_t *rec,
                               kube_error_t *err) {
  json_object *o = as_record_parse(rec, err);
  if (!o)
    return NULL;
  if (!json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                   "stored value of %s is not "
                   "an object",
                   rec->key);
    return NULL;
  }
  as_tree_set_rv(o, rec->mod_revision);
  return o;
}

/* The stored text starts {"apiVersion":"..","kind":"..","metadata":{ (we
 * wrote it): splice resourceVersion in without a parse.  Anything else is
 * parsed and re-encoded.  Appends to sb; -1 when the record is unusable. */
int as_record_append_json(kube_strbuf_t *sb, const kube_store_record_t *rec) {
  return as_record_append_json_rev(sb, rec, rec->mod_revision);
}

int as_record_append_json_rev(kube_strbuf_t *sb, const kube_store_record_t *rec,
                              int64_t rev) {
  const char *v = rec->value;
  const char *m = NULL;
  size_t scan = rec->value_len < 512 ? rec->value_len : 512;
  static const char pat[] = "\"metadata\":{";
  for (size_t i = 1; i + sizeof(pat) - 1 <= scan; i++) {
    if (v[i] == '{')
      break;
    if (v[i] == '"' && memcmp(v + i, pat, sizeof(pat) - 1) == 0) {
      m = v + i + sizeof(pat) - 1;
      break;
    }
  }
  if (v[0] == '{' && m) {
    size_t head = (size_t)(m - v);
    char rvb[64];
    int rl = snprintf(rvb, sizeof rvb, "\"resourceVersion\":\"%lld\"%s",
                      (long long)rev, *m == '}' ? "" : ",");
    /* One allocation for the whole text (growing from empty by doubling
     * cost more than the copy). */
    core_strbuf_reserve(sb, rec->value_len + (size_t)rl);
    kube_strbuf_append_len(sb, v, head);
    kube_strbuf_append_len(sb, rvb, (size_t)rl);
    kube_strbuf_append_len(sb, m, rec->value_len - head);
    return 0;
  }
  json_object *o = as_record_to_tree(rec, NULL);
  if (!o)
    return -1;
  as_tree_set_rv(o, rev);
  size_t l = 0;
  const char *s = json_object_to_json_string_length(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
  if (s)
    kube_strbuf_append_len(sb, s, l);
  json_object_put(o);
  return s ? 0 : -1;
}

/* ---- custom resource versions ---------------------------------------- */

/* Objects of a custom resource are stored in their definition's storage
 * version and served in the version asked for, converting with strategy
 * None: only apiVersion changes; a built-in kind with a converter
 * (HorizontalPodAutoscaler, stored at autoscaling/v2) converts its fields.  The check reads the stored text's
 * leading apiVersion, so the common case (one version) costs no parse. */
bool as_record_needs_conversion(const kube_store_record_t *rec,
                                const kube_kind_t *k) {
  if (!rec->value || (!api_kind_is_custom(k) && !api_kind_strategy(k)->convert))
    return false;
  char want[256];
  kube_kind_api_version(k, want, sizeof want);
  static const char head[] = "{\"apiVersion\":\"";
  size_t hl = sizeof(head) - 1, wl = strlen(want);
  if (rec->value_len > hl + wl && memcmp(rec->value, head, hl) == 0 &&
      memcmp(rec->value + hl, want, wl) == 0 && rec->value[hl + wl] == '"')
    return false;
  return true;
}

void as_tree_set_api_version(json_object *obj, const kube_kind_t *k,
                             bool storage) {
  char apiv[256];
  const struct kube_kind_strategy *st = api_kind_strategy(k);
  const char *v = !storage                ? NULL
                  : api_kind_is_custom(k) ? api_cr_storage_api_version(k)
                                          : st->storage_version;
  if (!v && storage)
    return; /* a built-in kind: stored as served */
  if (!v)
    v = kube_kind_api_version(k, apiv, sizeof apiv);
  /* A built-in kind of several versions converts its fields too. */
  if (st->convert && st->convert(obj, v) == 0)
    return;
  json_object_object_add(obj, "apiVersion", json_object_new_string(v));
}

json_object *as_record_to_tree_for(const kube_store_record_t *rec,
                                   const kube_kind_t *k, kube_error_t *err) {
  json_object *o = as_record_to_tree(rec, err);
  if (o && as_record_needs_conversion(rec, k))
    as_tree_set_api_version(o, k, false);
  return o;
}

int as_record_append_json_for(kube_strbuf_t *sb, const kube_store_record_t *rec,
                              int64_t rev, const kube_kind_t *k) {
  if (!as_record_needs_conversion(rec, k))
    return as_record_append_json_rev(sb, rec, rev);
  json_object *o = as_record_to_tree(rec, NULL);
  if (!o)
    return -1;
  as_tree_set_api_version(o, k, false);
  /* Back in stored form, then spliced as any record. */
  size_t len = 0;
  char *stored = as_tree_to_stored(o, &len);
  json_object_put(o);
  if (!stored)
    return -1;
  kube_store_record_t tmp = *rec;
  tmp.value = stored;
  tmp.value_len = len;
  int r = as_record_append_json_rev(sb, &tmp, rev);
  free(stored);
  return r;
}

char *as_record_to_json_for(const kube_store_record_t *rec,
                            const kube_kind_t *k, size_t *len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (as_record_append_json_for(&sb, rec, rec->mod_revision, k) < 0 || sb.oom) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  if (len)
    *len = sb.len;
  return kube_strbuf_steal(&sb);
}

static bool media_is(const char *ct, const char *type) {
  size_t n = strlen(type);
  while (*ct == ' ')
    ct++;
  return strncasecmp(ct, type, n) == 0 &&
         (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Decode the request body into an object tree (owned). */
json_object *as_decode_body(struct req *r, kube_error_t *err) {
  const char *ct = r->content_type;
  json_object *obj = NULL;
  if (r->body_len == 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the request body is empty");
    return NULL;
  }
  if (!ct || !*ct || media_is(ct, "application/json") || media_is(ct, "*/*") ||
      media_is(ct, "text/plain") ||
      media_is(ct, "application/merge-patch+json") ||
      media_is(ct, "application/strategic-merge-patch+json") ||
      media_is(ct, "application/json-patch+json")) {
    bool dups = true;
    obj = api_json_parse_keyed(r->body, r->body_len, &dups, err);
    r->body_keys_unique = obj && !dups;
  } else if (media_is(ct, "application/yaml") || media_is(ct, "text/yaml") ||
             media_is(ct, "application/x-yaml") ||
             media_is(ct, "application/apply-patch+yaml")) {
    json_object *docs = kube_json_decode_stream(r->body, r->body_len, err);
    if (!docs)
      return NULL;
    if (json_object_array_length(docs) != 1) {
      json_object_put(docs);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "the request body must hold exactly one object");
      return NULL;
    }
    obj = json_object_get(json_object_array_get_idx(docs, 0));
    json_object_put(docs);
  } else if (media_is(ct, "application/vnd.kubernetes.protobuf")) {
    obj = kube_protobuf_decode(r->body, r->body_len, err);
  } else {
    kube_error_set(err, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, 0,
                   "the body of the request was in an unknown format - "
                   "accepted media types include: application/json, "
                   "application/yaml, application/vnd.kubernetes.protobuf");
    return NULL;
  }
  if (!obj) {
    if (err && err->reason != KUBE_REASON_UNSUPPORTED_MEDIA_TYPE)
      err->reason = KUBE_REASON_BAD_REQUEST;
    return NULL;
  }
  if (!json_object_is_type(obj, json_type_object)) {
    json_object_put(obj);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the request body must be a JSON object");
    return NULL;
  }
  return obj;
}
