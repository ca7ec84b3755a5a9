/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's request parsing, free of I/O so the fuzzer drives it:
 * routes (repository names, references, upload ids), Content-Range and
 * Range headers, and manifest validation.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/regserver.h"

static const struct {
  const char *name;
  int status;
} codes[] = {
    [RS_OK] = {"OK", 200},
    [RS_BLOB_UNKNOWN] = {"BLOB_UNKNOWN", 404},
    [RS_BLOB_UPLOAD_INVALID] = {"BLOB_UPLOAD_INVALID", 400},
    [RS_BLOB_UPLOAD_UNKNOWN] = {"BLOB_UPLOAD_UNKNOWN", 404},
    [RS_DIGEST_INVALID] = {"DIGEST_INVALID", 400},
    [RS_MANIFEST_BLOB_UNKNOWN] = {"MANIFEST_BLOB_UNKNOWN", 400},
    [RS_MANIFEST_INVALID] = {"MANIFEST_INVALID", 400},
    [RS_MANIFEST_UNKNOWN] = {"MANIFEST_UNKNOWN", 404},
    [RS_NAME_INVALID] = {"NAME_INVALID", 400},
    [RS_NAME_UNKNOWN] = {"NAME_UNKNOWN", 404},
    [RS_SIZE_INVALID] = {"SIZE_INVALID", 400},
    [RS_UNAUTHORIZED] = {"UNAUTHORIZED", 401},
    [RS_DENIED] = {"DENIED", 403},
    [RS_UNSUPPORTED] = {"UNSUPPORTED", 405},
    [RS_TOOMANYREQUESTS] = {"TOOMANYREQUESTS", 429},
    [RS_RANGE_INVALID] = {"BLOB_UPLOAD_INVALID", 416},
};

const char *img_rs_code_name(img_rs_code_t c) {
  return (size_t)c < ARRAY_SIZE(codes) ? codes[c].name : "UNKNOWN";
}

int img_rs_code_status(img_rs_code_t c) {
  return (size_t)c < ARRAY_SIZE(codes) ? codes[c].status : 500;
}

/* ---- names and references ---- */

static bool alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+(([._]|__|-+)[a-z0-9]+)* */
static bool component_valid(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
    return false;
  while (i < n) {
    if (alnum_lower(s[i])) {
      i++;
      continue;
    }
    /* a separator between two alphanumerics */
    size_t j = i;
    if (s[i] == '.') {
      j++;
    } else if (s[i] == '_') {
      j++;
      if (j < n && s[j] == '_')
        j++;
    } else if (s[i] == '-') {
      while (j < n && s[j] == '-')
        j++;
    } else {
      return false;
    }
    if (j >= n || !alnum_lower(s[j]))
      return false;
    i = j;
  }
  return true;
}

bool img_rs_name_valid(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > RS_MAX_NAME)
    return false;
  const char *p = name;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (!component_valid(p, n))
      return false;
    if (!slash)
      return true;
    p = slash + 1;
  }
}

bool img_rs_tag_valid(const char *tag) {
  size_t n = strlen(tag);
  if (n == 0 || n > 128)
    return false;
  if (!isalnum((unsigned char)tag[0]) && tag[0] != '_')
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)tag[i]) && !strchr("._-", tag[i]))
      return false;
  return true;
}

static bool copy_str(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap)
    return false;
  memcpy(dst, s, n);
  dst[n] = '\0';
  return true;
}

/* The component before position `end` (exclusive) of path: start index. */
static size_t prev_component(const char *path, size_t end) {
  size_t i = end;
  while (i > 0 && path[i - 1] != '/')
    i--;
  return i;
}

static bool seg_is(const char *path, size_t a, size_t b, const char *word) {
  return b - a == strlen(word) && memcmp(path + a, word, b - a) == 0;
}

img_rs_code_t img_rs_route_parse(const char *path, img_rs_route_t *out) {
  memset(out, 0, sizeof *out);
  if (!str_has_prefix(path, "/v2"))
    return RS_NAME_UNKNOWN;
  const char *p = path + 3;
  if (!*p || streq(p, "/")) {
    out->kind = RS_BASE;
    return RS_OK;
  }
  if (*p != '/')
    return RS_NAME_UNKNOWN;
  p++;
  if (streq(p, "_catalog")) {
    out->kind = RS_CATALOG;
    return RS_OK;
  }
  if (streq(p, "token")) {
    out->kind = RS_TOKEN;
    return RS_OK;
  }
  size_t len = strlen(p);
  /* <name>/<keyword>/<ref>: ref is the last component (empty for
   * "blobs/uploads/"), keyword the one before it. */
  size_t ref_at = prev_component(p, len);
  if (ref_at == 0)
    return RS_NAME_UNKNOWN;
  size_t kw_end = ref_at - 1, kw_at = prev_component(p, kw_end);
  const char *ref = p + ref_at;
  size_t name_end;
  if (seg_is(p, kw_at, kw_end, "tags") && streq(ref, "list")) {
    out->kind = RS_TAGS;
    ref = "";
  } else if (seg_is(p, kw_at, kw_end, "manifests")) {
    out->kind = RS_MANIFEST;
  } else if (seg_is(p, kw_at, kw_end, "referrers")) {
    out->kind = RS_REFERRERS;
  } else if (seg_is(p, kw_at, kw_end, "blobs")) {
    out->kind = streq(ref, "uploads") ? RS_UPLOAD_NEW : RS_BLOB;
    if (out->kind == RS_UPLOAD_NEW)
      ref = "";
  } else if (seg_is(p, kw_at, kw_end, "uploads") && kw_at > 0 &&
             seg_is(p, prev_component(p, kw_at - 1), kw_at - 1, "blobs")) {
    out->kind = *ref ? RS_UPLOAD : RS_UPLOAD_NEW;
    kw_at = prev_component(p, kw_at - 1);
  } else {
    return RS_NAME_UNKNOWN;
  }
  if (kw_at == 0)
    return RS_NAME_INVALID; /* no name */
  name_end = kw_at - 1;
  if (!copy_str(out->name, sizeof out->name, p, name_end) ||
      !img_rs_name_valid(out->name))
    return RS_NAME_INVALID;
  switch (out->kind) {
  case RS_MANIFEST:
    if (strchr(ref, ':')) {
      out->ref_is_digest = true;
      if (!img_digest_valid(ref))
        return RS_DIGEST_INVALID;
    } else if (!img_rs_tag_valid(ref)) {
      return RS_MANIFEST_INVALID;
    }
    break;
  case RS_BLOB:
  case RS_REFERRERS:
    out->ref_is_digest = true;
    if (!img_digest_valid(ref))
      return RS_DIGEST_INVALID;
    break;
  case RS_UPLOAD: {
    size_t n = strlen(ref);
    if (n != RS_UUID_LEN)
      return RS_BLOB_UPLOAD_UNKNOWN;
    for (size_t i = 0; i < n; i++)
      if (!isxdigit((unsigned char)ref[i]) || isupper((unsigned char)ref[i]))
        return RS_BLOB_UPLOAD_UNKNOWN;
    break;
  }
  default:
    break;
  }
  if (!copy_str(out->ref, sizeof out->ref, ref, strlen(ref)))
    return RS_MANIFEST_INVALID;
  return RS_OK;
}

/* ---- ranges ---- */

/* A decimal of at most 18 digits (no sign, no blanks). */
static const char *parse_num(const char *p, int64_t *out) {
  int64_t v = 0;
  int n = 0;
  while (*p >= '0' && *p <= '9') {
    if (++n > 18)
      return NULL;
    v = v * 10 + (*p++ - '0');
  }
  if (n == 0)
    return NULL;
  *out = v;
  return p;
}

bool img_rs_content_range_parse(const char *v, int64_t *start, int64_t *end) {
  if (!v)
    return false;
  while (*v == ' ')
    v++;
  if (str_has_prefix(v, "bytes=") || str_has_prefix(v, "bytes "))
    v += 6;
  const char *p = parse_num(v, start);
  if (!p || *p != '-' || !(p = parse_num(p + 1, end)))
    return false;
  if (*p == '/') { /* a total ("*" or a number) after the range */
    int64_t total;
    p++;
    if (*p == '*')
      p++;
    else if (!(p = parse_num(p, &total)) || total <= *end)
      return false;
  }
  while (*p == ' ')
    p++;
  return *p == '\0' && *end >= *start;
}

int img_rs_range_parse(const char *v, int64_t size, int64_t *start,
                       int64_t *end) {
  if (!v || !str_has_prefix(v, "bytes="))
    return 1;
  v += 6;
  if (strchr(v, ','))
    return 1; /* several ranges: the whole blob is a valid answer */
  int64_t a = 0, b = 0;
  const char *p;
  if (*v == '-') { /* the last b bytes */
    if (!(p = parse_num(v + 1, &b)) || *p)
      return 1;
    if (b == 0 || size == 0)
      return -1;
    *start = b >= size ? 0 : size - b;
    *end = size - 1;
    return 0;
  }
  if (!(p = parse_num(v, &a)) || *p != '-')
    return 1;
  p++;
  if (*p) {
    if (!(p = parse_num(p, &b)) || *p || b < a)
      return 1;
  } else {
    b = size - 1;
  }
  if (a >= size)
    return -1;
  *start = a;
  *end = b >= size ? size - 1 : b;
  return 0;
}

/* ---- manifests ---- */

void img_rs_manifest_info_clear(img_rs_manifest_info_t *mi) {
  free(mi->media_type);
  img_strv_free(mi->refs);
  free(mi->subject);
  free(mi->artifact_type);
  json_object_put(mi->annotations);
  memset(mi, 0, sizeof *mi);
}

static bool known_manifest_type(const char *t) {
  return streq(t, IMG_MT_OCI_MANIFEST) || streq(t, IMG_MT_OCI_INDEX) ||
         streq(t, IMG_MT_DOCKER_MANIFEST) || streq(t, IMG_MT_DOCKER_LIST);
}

static bool media_type_syntax(const char *t) {
  /* type "/" subtype, RFC 6838 restricted names (+ parameters cut) */
  const char *slash = strchr(t, '/');
  if (!slash || slash == t || !slash[1] || strlen(t) > 255)
    return false;
  for (const char *p = t; *p && *p != ';'; p++)
    if (!isalnum((unsigned char)*p) && !strchr("!#$&-^_.+/", *p))
      return false;
  return true;
}

/* A descriptor: mediaType, digest (sha256), size >= 0. */
static bool desc_ok(json_object *d, char *msg, size_t ml, const char *what) {
  json_object *sz = NULL;
  const char *mt = img_json_str(d, "mediaType");
  const char *dg = img_json_str(d, "digest");
  if (!json_object_is_type(d, json_type_object) || !mt ||
      !media_type_syntax(mt) || !dg ||
      !json_object_object_get_ex(d, "size", &sz) ||
      !json_object_is_type(sz, json_type_int) ||
      json_object_get_int64(sz) < 0) {
    snprintf(msg, ml, "%s is not a valid descriptor", what);
    return false;
  }
  if (!img_digest_valid(dg)) {
    snprintf(msg, ml, "%s has an invalid or unsupported digest", what);
    return false;
  }
  return true;
}

static int add_ref(img_rs_manifest_info_t *mi, const char *d) {
  char **v = realloc(mi->refs, (mi->n_refs + 2) * sizeof *v);
  if (!v)
    return -1;
  mi->refs = v;
  if (!(v[mi->n_refs] = strdup(d)))
    return -1;
  v[++mi->n_refs] = NULL;
  return 0;
}

img_rs_code_t img_rs_manifest_check(const char *body, size_t len,
                                    const char *content_type,
                                    img_rs_manifest_info_t *out, char *msg,
                                    size_t ml) {
  memset(out, 0, sizeof *out);
  json_tokener *tok = json_tokener_new_ex(64);
  json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
  bool complete = tok && json_tokener_get_error(tok) == json_tokener_success &&
                  (size_t)json_tokener_get_parse_end(tok) <= len;
  if (tok)
    json_tokener_free(tok);
  img_rs_code_t rc = RS_MANIFEST_INVALID;
  if (!o || !complete || !json_object_is_type(o, json_type_object)) {
    snprintf(msg, ml, "the manifest is not a JSON object");
    goto out;
  }
  json_object *sv = NULL;
  if (!json_object_object_get_ex(o, "schemaVersion", &sv) ||
      !json_object_is_type(sv, json_type_int) || json_object_get_int(sv) != 2) {
    snprintf(msg, ml, "schemaVersion must be 2");
    goto out;
  }
  const char *mt = img_json_str(o, "mediaType");
  json_object *mans = NULL, *layers = NULL, *config = NULL;
  bool has_mans = json_object_object_get_ex(o, "manifests", &mans);
  bool has_config = json_object_object_get_ex(o, "config", &config);
  json_object_object_get_ex(o, "layers", &layers);
  char ct[256] = "";
  if (content_type) {
    snprintf(ct, sizeof ct, "%s", content_type);
    ct[strcspn(ct, "; ")] = '\0';
  }
  if (*ct && known_manifest_type(ct)) {
    if (mt && !streq(mt, ct)) {
      snprintf(msg, ml, "Content-Type %s does not match the mediaType %s", ct,
               mt);
      goto out;
    }
    mt = ct;
  } else if (!mt) {
    mt = has_mans ? IMG_MT_OCI_INDEX : IMG_MT_OCI_MANIFEST;
  }
  if (!known_manifest_type(mt)) {
    snprintf(msg, ml, "unsupported manifest media type %.100s", mt);
    goto out;
  }
  out->media_type = strdup(mt);
  out->is_index = streq(mt, IMG_MT_OCI_INDEX) || streq(mt, IMG_MT_DOCKER_LIST);
  if (out->is_index) {
    if (!has_mans || !json_object_is_type(mans, json_type_array)) {
      snprintf(msg, ml, "an index needs a manifests array");
      goto out;
    }
    for (size_t i = 0; i < json_object_array_length(mans); i++) {
      json_object *d = json_object_array_get_idx(mans, i);
      if (!desc_ok(d, msg, ml, "a manifests entry"))
        goto out;
      if (add_ref(out, img_json_str(d, "digest")) < 0)
        goto oom;
    }
  } else {
    if (!has_config) {
      snprintf(msg, ml, "an image manifest needs a config descriptor");
      goto out;
    }
    if (!desc_ok(config, msg, ml, "config"))
      goto out;
    if (add_ref(out, img_json_str(config, "digest")) < 0)
      goto oom;
    if (layers && !json_object_is_type(layers, json_type_array)) {
      snprintf(msg, ml, "layers must be an array");
      goto out;
    }
    if (!layers && streq(mt, IMG_MT_DOCKER_MANIFEST)) {
      snprintf(msg, ml, "a Docker manifest needs layers");
      goto out;
    }
    for (size_t i = 0; layers && i < json_object_array_length(layers); i++) {
      json_object *d = json_object_array_get_idx(layers, i), *urls = NULL;
      if (!desc_ok(d, msg, ml, "a layer"))
        goto out;
      /* foreign layers live elsewhere: not required here */
      if (json_object_object_get_ex(d, "urls", &urls))
        continue;
      if (add_ref(out, img_json_str(d, "digest")) < 0)
        goto oom;
    }
  }
  json_object *subject = NULL;
  if (json_object_object_get_ex(o, "subject", &subject)) {
    if (!desc_ok(subject, msg, ml, "subject"))
      goto out;
    out->subject = strdup(img_json_str(subject, "digest"));
  }
  const char *at = img_json_str(o, "artifactType");
  if (!at && config)
    at = img_json_str(config, "mediaType");
  if (at)
    out->artifact_type = strdup(at);
  json_object *ann = NULL;
  if (json_object_object_get_ex(o, "annotations", &ann) &&
      json_object_is_type(ann, json_type_object))
    out->annotations = json_object_get(ann);
  rc = RS_OK;
out:
  json_object_put(o);
  if (rc != RS_OK)
    img_rs_manifest_info_clear(out);
  return rc;
oom:
  snprintf(msg, ml, "out of memory");
  goto out;
}
