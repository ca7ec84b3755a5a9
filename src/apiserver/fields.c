/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Field validation of write bodies (the `fieldValidation` query parameter)
 * and response warnings.
 *
 * Every create, update and patch result is checked against its kind's
 * schema (schema-check.c): a value of the wrong type fails the request as
 * kube-apiserver's decoder does (400), unknown fields are dropped, and
 * duplicate keys of a JSON body keep their last value.  What the client
 * hears about unknown and duplicate fields depends on fieldValidation:
 * Strict fails the request (400 "strict decoding error: unknown field
 * \"spec.foo\""), Warn (the default) answers with one `Warning: 299 -`
 * header per field, Ignore says nothing.
 */
#include <stdarg.h>
#include <strings.h>

#include "apiserver/internal.h"

void as_req_warnings_clear(struct req *r) {
  for (size_t i = 0; i < r->n_warnings; i++)
    free(r->warnings[i]);
  free(r->warnings);
  r->warnings = NULL;
  r->n_warnings = 0;
}

/* Go's strconv.Quote of the text, which kube-apiserver's warning headers
 * use: `299 - "unknown field \"spec.foo\""`. */
void as_req_warn(struct req *r, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "299 - \"");
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\')
      kube_strbuf_printf(&sb, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      kube_strbuf_printf(&sb, "\\x%02x", *p);
    else
      kube_strbuf_append_char(&sb, (char)*p);
  }
  kube_strbuf_append_char(&sb, '"');
  /* Warnings are advisory: past a few dozen, the rest are not worth the
   * header space (kube-apiserver caps them too). */
  char **v = r->n_warnings < 64
                 ? realloc(r->warnings, (r->n_warnings + 1) * sizeof(*v))
                 : NULL;
  if (!v || sb.oom) {
    if (v)
      r->warnings = v;
    kube_strbuf_clear(&sb);
    return;
  }
  r->warnings = v;
  v[r->n_warnings++] = kube_strbuf_steal(&sb);
}

int as_field_validation(const struct req *r, kube_error_t *err) {
  const char *fv = as_req_query(r, "fieldValidation");
  if (!fv || !*fv || strcasecmp(fv, "Warn") == 0)
    return AS_FV_WARN;
  if (strcasecmp(fv, "Strict") == 0)
    return AS_FV_STRICT;
  if (strcasecmp(fv, "Ignore") == 0)
    return AS_FV_IGNORE;
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "fieldValidation must be one of \"Ignore\", \"Warn\" "
                        "or \"Strict\", not \"%s\"",
                        fv);
}

static bool body_is_json(const struct req *r) {
  const char *ct = r->content_type;
  if (!r->body || !r->body_len)
    return false;
  if (!ct || !*ct)
    return true;
  return strncasecmp(ct, "application/json", 16) == 0 ||
         strncasecmp(ct, "application/merge-patch+json", 28) == 0 ||
         strncasecmp(ct, "application/strategic-merge-patch+json", 38) == 0 ||
         strncasecmp(ct, "application/apply-patch+json", 28) == 0 ||
         (strncasecmp(ct, "application/apply-patch+yaml", 28) == 0 &&
          r->body[0] == '{');
}

int as_check_fields(struct req *r, const kube_kind_t *k, json_object *obj,
                    kube_error_t *err) {
  int mode = as_field_validation(r, err);
  if (mode < 0)
    return -1;
  const api_schema_t *root = obj ? api_kind_schema(k) : NULL;
  api_check_t c = {.flags = API_CHECK_PRUNE};
  if (root && api_schema_check(obj, root, &c) < 0) {
    api_check_clear(&c);
    return kube_make_oom(err);
  }
  if (c.type_error) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "%s in version \"%s\" cannot be handled as a %s: %s",
                   k->kind, k->version, k->kind, c.type_error);
    api_check_clear(&c);
    return -1;
  }
  char **dups = NULL;
  size_t n_dups = 0;
  /* A JSON patch's duplicate keys are its own affair (JSON patch
   * operations are not decoded as the kind). */
  if (mode != AS_FV_IGNORE && !r->body_keys_unique && body_is_json(r) &&
      !(r->content_type &&
        strncasecmp(r->content_type, "application/json-patch+json", 27) == 0) &&
      api_json_duplicates(r->body, r->body_len, &dups, &n_dups) < 0) {
    api_check_clear(&c);
    return kube_make_oom(err);
  }
  int rc = 0;
  if (mode == AS_FV_STRICT && (c.n_unknown || n_dups)) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append(&sb, "strict decoding error: ");
    for (size_t i = 0; i < c.n_unknown; i++)
      kube_strbuf_printf(&sb, "%sunknown field \"%s\"", i ? ", " : "",
                         c.unknown[i]);
    for (size_t i = 0; i < n_dups; i++)
      kube_strbuf_printf(&sb, "%sduplicate field \"%s\"",
                         i || c.n_unknown ? ", " : "", dups[i]);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s",
                   sb.data ? sb.data : "strict decoding error");
    kube_strbuf_clear(&sb);
    rc = -1;
  } else if (mode == AS_FV_WARN) {
    for (size_t i = 0; i < c.n_unknown; i++)
      as_req_warn(r, "unknown field \"%s\"", c.unknown[i]);
    for (size_t i = 0; i < n_dups; i++)
      as_req_warn(r, "duplicate field \"%s\"", dups[i]);
  }
  /* CEL rules are not evaluated here: say so rather than pass silently. */
  for (size_t i = 0; rc == 0 && i < c.n_skipped_rules; i++)
    as_req_warn(r,
                "x-kubernetes-validations rules at %s were not evaluated "
                "(CEL is not supported by this server)",
                *c.skipped_rules[i] ? c.skipped_rules[i] : "<root>");
  const struct as_kind_hooks *hooks = as_kind_hooks(k);
  if (rc == 0 && obj && hooks->warnings)
    hooks->warnings(r, k, obj);
  for (size_t i = 0; i < n_dups; i++)
    free(dups[i]);
  free(dups);
  api_check_clear(&c);
  return rc;
}
