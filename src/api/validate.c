/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation as Kubernetes does it (pkg/apis/<group>/validation): the error
 * accumulator, object metadata, dispatch per kind, and the kinds whose
 * rules are short (services, namespaces, nodes, config maps, secrets,
 * endpoints, events, leases, volumes, quotas).  Pods live in
 * validate-pod.c, workloads in validate-apps.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "api/validate.h"

/* ---- accumulator ------------------------------------------------------- */

/* Field paths are built for every field checked, valid or not: the
 * formats they use ("%s.name", "%s[%zu]") are put together here without
 * vsnprintf (a tenth of the instructions); any other conversion goes to
 * vsnprintf.  Truncated at FP_MAX - 1 either way. */
char *api_fp(char buf[FP_MAX], const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = 0;
  for (const char *p = fmt; *p; p++) {
    char num[24];
    const char *s;
    size_t len;
    if (*p != '%') {
      s = p;
      len = 1;
    } else if (p[1] == 's') {
      s = va_arg(ap, const char *);
      if (!s)
        s = "(null)";
      len = strlen(s);
      p++;
    } else if (p[1] == 'z' && p[2] == 'u') {
      size_t v = va_arg(ap, size_t);
      char *e = num + sizeof num;
      do
        *--e = (char)('0' + v % 10);
      while ((v /= 10) > 0);
      s = e;
      len = (size_t)(num + sizeof num - e);
      p += 2;
    } else {
      va_end(ap);
      va_start(ap, fmt);
      vsnprintf(buf, FP_MAX, fmt, ap);
      va_end(ap);
      return buf;
    }
    if (len > FP_MAX - 1 - n)
      len = FP_MAX - 1 - n;
    memcpy(buf + n, s, len);
    n += len;
  }
  buf[n] = '\0';
  va_end(ap);
  return buf;
}

void api_v_add(verrs_t *v, const char *field, const char *type,
               const char *body) {
  if (v->oom)
    return;
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    struct vcause *c = realloc(v->causes, cap * sizeof(*c));
    if (!c) {
      v->oom = true;
      return;
    }
    v->causes = c;
    v->cap = cap;
  }
  char *f = strdup(field ? field : "");
  char *b = strdup(body ? body : "");
  if (!f || !b) {
    free(f);
    free(b);
    v->oom = true;
    return;
  }
  v->causes[v->n++] = (struct vcause){f, type, b};
}

static void with_detail(kube_strbuf_t *sb, const char *detail) {
  if (detail && *detail)
    kube_strbuf_printf(sb, ": %s", detail);
}

static void add_sb(verrs_t *v, const char *field, const char *type,
                   kube_strbuf_t *sb) {
  if (sb->oom)
    v->oom = true;
  else
    api_v_add(v, field, type, sb->data ? sb->data : "");
  kube_strbuf_clear(sb);
}

/* Go's %q for the strings we print. */
static void go_quote(kube_strbuf_t *sb, const char *s) {
  kube_strbuf_append_char(sb, '"');
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '"':
      kube_strbuf_append(sb, "\\\"");
      break;
    case '\\':
      kube_strbuf_append(sb, "\\\\");
      break;
    case '\n':
      kube_strbuf_append(sb, "\\n");
      break;
    case '\t':
      kube_strbuf_append(sb, "\\t");
      break;
    case '\r':
      kube_strbuf_append(sb, "\\r");
      break;
    default:
      if (c < 0x20 || c == 0x7f)
        kube_strbuf_printf(sb, "\\x%02x", c);
      else
        kube_strbuf_append_char(sb, (char)c);
    }
  }
  kube_strbuf_append_char(sb, '"');
}

void api_v_required(verrs_t *v, const char *field, const char *detail) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Required value");
  with_detail(&sb, detail);
  add_sb(v, field, "FieldValueRequired", &sb);
}

void api_v_invalid(verrs_t *v, const char *field, const char *value,
                   const char *detail) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Invalid value: ");
  go_quote(&sb, value);
  with_detail(&sb, detail);
  add_sb(v, field, "FieldValueInvalid", &sb);
}

void api_v_invalid_int(verrs_t *v, const char *field, int64_t value,
                       const char *detail) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "Invalid value: %" PRId64, value);
  with_detail(&sb, detail);
  add_sb(v, field, "FieldValueInvalid", &sb);
}

void api_v_invalid_raw(verrs_t *v, const char *field, const char *raw,
                       const char *detail) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "Invalid value: %s", raw);
  with_detail(&sb, detail);
  add_sb(v, field, "FieldValueInvalid", &sb);
}

void api_v_invalid_json(verrs_t *v, const char *field, json_object *value,
                        const char *detail) {
  if (json_object_is_type(value, json_type_string)) {
    api_v_invalid(v, field, json_object_get_string(value), detail);
    return;
  }
  const char *raw =
      value ? json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN)
            : "null";
  api_v_invalid_raw(v, field, raw, detail);
}

void api_v_unsupported(verrs_t *v, const char *field, const char *value,
                       const char *const *supported) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Unsupported value: ");
  go_quote(&sb, value ? value : "");
  if (supported && *supported) {
    kube_strbuf_append(&sb, ": supported values: ");
    for (const char *const *s = supported; *s; s++) {
      if (s != supported)
        kube_strbuf_append(&sb, ", ");
      go_quote(&sb, *s);
    }
  }
  add_sb(v, field, "FieldValueNotSupported", &sb);
}

void api_v_duplicate(verrs_t *v, const char *field, const char *value) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Duplicate value: ");
  go_quote(&sb, value);
  add_sb(v, field, "FieldValueDuplicate", &sb);
}

void api_v_forbidden(verrs_t *v, const char *field, const char *detail) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Forbidden");
  with_detail(&sb, detail);
  add_sb(v, field, "FieldValueForbidden", &sb);
}

void api_v_toolong(verrs_t *v, const char *field, const char *detail) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Too long");
  with_detail(&sb, detail);
  add_sb(v, field, "FieldValueTooLong", &sb);
}

void api_v_notfound(verrs_t *v, const char *field, const char *value) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "Not found: ");
  go_quote(&sb, value);
  add_sb(v, field, "FieldValueNotFound", &sb);
}

static void verrs_free(verrs_t *v) {
  for (size_t i = 0; i < v->n; i++) {
    free(v->causes[i].field);
    free(v->causes[i].body);
  }
  free(v->causes);
  memset(v, 0, sizeof(*v));
}

int api_str_ptr_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void api_go_map_string(kube_strbuf_t *sb, json_object *map) {
  kube_strbuf_append(sb, "map[string]string{");
  size_t n = map ? (size_t)json_object_object_length(map) : 0, i = 0;
  const char **keys = calloc(n ? n : 1, sizeof(*keys));
  if (keys && map) {
    json_object_object_foreach(map, k, val) {
      (void)val;
      keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), api_str_ptr_cmp);
  }
  for (size_t j = 0; j < i; j++) {
    if (j)
      kube_strbuf_append(sb, ", ");
    go_quote(sb, keys[j]);
    kube_strbuf_append_char(sb, ':');
    go_quote(sb, jget_str0(map, keys[j]));
  }
  free(keys);
  kube_strbuf_append_char(sb, '}');
}

bool api_in_set(const char *s, const char *const *set) {
  for (; s && set && *set; set++)
    if (streq(s, *set))
      return true;
  return false;
}

int64_t api_jint_or(json_object *o, const char *key, int64_t def) {
  return jget_int(o, key, def);
}

/* ---- shared checks ---------------------------------------------------- */

void api_validate_dns_label(verrs_t *v, const char *s, const char *field) {
  const char *msg = kube_validate_dns1123_label(s ? s : "");
  if (msg)
    api_v_invalid(v, field, s ? s : "", msg);
}

void api_validate_dns_subdomain(verrs_t *v, const char *s, const char *field) {
  const char *msg = kube_validate_dns1123_subdomain(s ? s : "");
  if (msg)
    api_v_invalid(v, field, s ? s : "", msg);
}

#define DNS1035_MSG                                                            \
  "a DNS-1035 label must consist of lower case alphanumeric characters or "    \
  "'-', start with an alphabetic character, and end with an alphanumeric "     \
  "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "    \
  "'[a-z]([-a-z0-9]*[a-z0-9])?')"

static const char *dns1035_label_error(const char *s) {
  size_t len = strlen(s);
  if (len > 63)
    return "must be no more than 63 characters";
  if (len == 0 || !(s[0] >= 'a' && s[0] <= 'z'))
    return DNS1035_MSG;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return DNS1035_MSG;
  }
  if (s[len - 1] == '-')
    return DNS1035_MSG;
  return NULL;
}

void api_validate_labels(verrs_t *v, json_object *labels, const char *field) {
  if (!labels)
    return;
  if (!json_object_is_type(labels, json_type_object)) {
    api_v_invalid_json(v, field, labels, "must be a map of strings");
    return;
  }
  json_object_object_foreach(labels, k, val) {
    const char *msg = kube_validate_label_key(k);
    if (msg)
      api_v_invalid(v, field, k, msg);
    if (!json_object_is_type(val, json_type_string)) {
      api_v_invalid_json(v, field, val, "label values must be strings");
      continue;
    }
    msg = kube_validate_label_value(json_object_get_string(val));
    if (msg)
      api_v_invalid(v, field, json_object_get_string(val), msg);
  }
}

static const char *const selector_ops[] = {"DoesNotExist", "Exists", "In",
                                           "NotIn", NULL};

void api_validate_label_selector(verrs_t *v, json_object *sel,
                                 const char *field) {
  char f[FP_MAX], g[FP_MAX];
  if (!sel)
    return;
  api_validate_labels(v, jget_obj(sel, "matchLabels"),
                      api_fp(f, "%s.matchLabels", field));
  json_object *me = jget_arr(sel, "matchExpressions");
  for (size_t i = 0; i < jarr_len(me); i++) {
    json_object *e = jarr_at(me, i);
    const char *op = jget_str0(e, "operator");
    size_t nv = jarr_len(jget_arr(e, "values"));
    api_fp(f, "%s.matchExpressions[%zu]", field, i);
    if (!api_in_set(op, selector_ops)) {
      api_v_unsupported(v, api_fp(g, "%s.operator", f), op, selector_ops);
    } else if ((streq(op, "In") || streq(op, "NotIn")) && nv == 0) {
      api_v_required(v, api_fp(g, "%s.values", f),
                     "must be specified when `operator` is 'In' or 'NotIn'");
    } else if ((streq(op, "Exists") || streq(op, "DoesNotExist")) && nv > 0) {
      api_v_forbidden(v, api_fp(g, "%s.values", f),
                      "may not be specified when `operator` is 'Exists' or "
                      "'DoesNotExist'");
    }
    const char *key = jget_str0(e, "key");
    const char *msg = kube_validate_label_key(key);
    if (msg)
      api_v_invalid(v, api_fp(g, "%s.key", f), key, msg);
    json_object *vals = jget_arr(e, "values");
    for (size_t j = 0; j < jarr_len(vals); j++) {
      const char *val = json_object_get_string(jarr_at(vals, j));
      msg = kube_validate_label_value(val ? val : "");
      if (msg)
        api_v_invalid(v, api_fp(g, "%s.values[%zu]", f, j), val ? val : "",
                      msg);
    }
  }
}

/* Does a LabelSelector match a set of labels? (only valid selectors) */
bool api_selector_matches_labels(json_object *sel, json_object *labels) {
  json_object *ml = jget_obj(sel, "matchLabels");
  if (ml) {
    json_object_object_foreach(ml, k, val) {
      const char *have = jget_str(labels, k);
      const char *want = json_object_get_string(val);
      if (!have || !want || !streq(have, want))
        return false;
    }
  }
  json_object *me = jget_arr(sel, "matchExpressions");
  for (size_t i = 0; i < jarr_len(me); i++) {
    json_object *e = jarr_at(me, i);
    const char *op = jget_str0(e, "operator");
    const char *have = jget_str(labels, jget_str0(e, "key"));
    json_object *vals = jget_arr(e, "values");
    bool found = false;
    for (size_t j = 0; have && j < jarr_len(vals); j++) {
      const char *s = json_object_get_string(jarr_at(vals, j));
      found = found || (s && streq(s, have));
    }
    if (streq(op, "In") && !found)
      return false;
    if (streq(op, "NotIn") && have && found)
      return false;
    if (streq(op, "Exists") && !have)
      return false;
    if (streq(op, "DoesNotExist") && have)
      return false;
  }
  return true;
}

#define PORT_RANGE "must be between 1 and 65535, inclusive"

void api_validate_port_number(verrs_t *v, json_object *port, const char *field,
                              bool required) {
  if (!port || (jis_int(port) && json_object_get_int64(port) == 0)) {
    if (required)
      api_v_required(v, field, NULL);
    return;
  }
  if (!jis_int(port)) {
    api_v_invalid_json(v, field, port, "must be an integer");
    return;
  }
  int64_t p = json_object_get_int64(port);
  if (p < 1 || p > 65535)
    api_v_invalid_int(v, field, p, PORT_RANGE);
}

/* IsValidPortName (IANA_SVC_NAME). */
void api_validate_iana_svc_name(verrs_t *v, const char *name,
                                const char *field) {
  size_t len = strlen(name);
  bool letter = false, bad = false, dbl = false;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (c >= 'a' && c <= 'z')
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      bad = true;
    if (c == '-' && i + 1 < len && name[i + 1] == '-')
      dbl = true;
  }
  if (len > 15)
    api_v_invalid(v, field, name, "must be no more than 15 characters");
  if (bad)
    api_v_invalid(v, field, name,
                  "must contain only alpha-numeric characters (a-z, 0-9), and "
                  "hyphens (-)");
  if (!letter)
    api_v_invalid(v, field, name, "must contain at least one letter (a-z)");
  if (dbl)
    api_v_invalid(v, field, name, "must not contain consecutive hyphens");
  if (len > 0 && (name[0] == '-' || name[len - 1] == '-'))
    api_v_invalid(v, field, name, "must not begin or end with a hyphen");
}

#define QUANTITY_REGEX_MSG                                                     \
  "quantities must match the regular expression "                              \
  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

void api_validate_quantity(verrs_t *v, json_object *q, const char *field,
                           bool nonneg, kube_quantity_t *out, bool *ok) {
  kube_quantity_t tmp;
  if (ok)
    *ok = false;
  if (!out)
    out = &tmp;
  char buf[64];
  const char *s;
  if (json_object_is_type(q, json_type_string)) {
    s = json_object_get_string(q);
  } else if (jis_int(q) || json_object_is_type(q, json_type_double)) {
    snprintf(buf, sizeof(buf), "%s",
             json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN));
    s = buf;
  } else {
    api_v_invalid_json(v, field, q, QUANTITY_REGEX_MSG);
    return;
  }
  if (kube_quantity_parse(s, out, NULL) < 0) {
    api_v_invalid(v, field, s, QUANTITY_REGEX_MSG);
    return;
  }
  if (nonneg && out->nano < 0) {
    api_v_invalid(v, field, s, "must be greater than or equal to 0");
    return;
  }
  if (ok)
    *ok = true;
}

bool api_valid_ip(const char *s) {
  unsigned char buf[16];
  return s &&
         (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

void api_validate_immutable(verrs_t *v, json_object *now, json_object *old,
                            const char *field) {
  if (json_object_equal(now, old))
    return;
  api_v_invalid_json(v, field, now, "field is immutable");
}

/* ---- metadata -------------------------------------------------------------
 */

static const char *name_error(int rule, const char *name) {
  switch (rule) {
  case API_NAME_LABEL:
    return kube_validate_dns1123_label(name);
  case API_NAME_DNS1035:
    return dns1035_label_error(name);
  default:
    return kube_validate_dns1123_subdomain(name);
  }
}

#define TOTAL_ANNOTATION_SIZE (256 * 1024)

static void validate_meta(verrs_t *v, json_object *obj, const kube_kind_t *k) {
  json_object *md = jget_obj(obj, "metadata");
  if (!md) {
    api_v_required(v, "metadata.name", "name or generateName is required");
    return;
  }
  const char *name = jget_str(md, "name");
  const char *gen = jget_str(md, "generateName");
  int rule = api_kind_strategy(k)->name_rule;
  if (!name || !*name) {
    if (!gen || !*gen)
      api_v_required(v, "metadata.name", "name or generateName is required");
  } else {
    const char *msg = name_error(rule, name);
    if (msg)
      api_v_invalid(v, "metadata.name", name, msg);
  }
  if (gen && *gen) {
    /* A prefix may end in '-': validate it as if completed. */
    char buf[300];
    snprintf(buf, sizeof(buf), "%s%s", gen,
             gen[strlen(gen) - 1] == '-' ? "a" : "");
    const char *msg = name_error(rule, buf);
    if (msg)
      api_v_invalid(v, "metadata.generateName", gen, msg);
  }
  const char *ns = jget_str(md, "namespace");
  if (k->namespaced) {
    if (!ns || !*ns) {
      api_v_required(v, "metadata.namespace", NULL);
    } else {
      const char *msg = kube_validate_dns1123_label(ns);
      if (msg)
        api_v_invalid(v, "metadata.namespace", ns, msg);
    }
  } else if (ns && *ns) {
    api_v_forbidden(v, "metadata.namespace", "not allowed on this type");
  }
  api_validate_labels(v, jget(md, "labels"), "metadata.labels");
  json_object *ann = jget(md, "annotations");
  if (ann && !json_object_is_type(ann, json_type_object)) {
    api_v_invalid_json(v, "metadata.annotations", ann,
                       "must be a map of strings");
  } else if (ann) {
    size_t total = 0;
    json_object_object_foreach(ann, key, val) {
      char lower[320];
      size_t kl = strlen(key);
      if (kl < sizeof(lower)) {
        for (size_t i = 0; i <= kl; i++)
          lower[i] = (char)tolower((unsigned char)key[i]);
        const char *msg = kube_validate_label_key(lower);
        if (msg)
          api_v_invalid(v, "metadata.annotations", key, msg);
      } else {
        api_v_invalid(v, "metadata.annotations", key,
                      "name part must be no more than 63 characters");
      }
      total += kl;
      if (json_object_is_type(val, json_type_string))
        total += (size_t)json_object_get_string_len(val);
      else
        api_v_invalid_json(v, "metadata.annotations", val,
                           "annotation values must be strings");
    }
    if (total > TOTAL_ANNOTATION_SIZE)
      api_v_toolong(v, "metadata.annotations",
                    "must have at most 262144 bytes");
  }
  json_object *owners = jget_arr(md, "ownerReferences");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(owners); i++) {
    json_object *o = jarr_at(owners, i);
    if (!*jget_str0(o, "apiVersion"))
      api_v_invalid(v, api_fp(f, "metadata.ownerReferences[%zu].apiVersion", i),
                    "", "version must not be empty");
    if (!*jget_str0(o, "kind"))
      api_v_invalid(v, api_fp(f, "metadata.ownerReferences[%zu].kind", i), "",
                    "kind must not be empty");
    if (!*jget_str0(o, "name"))
      api_v_invalid(v, api_fp(f, "metadata.ownerReferences[%zu].name", i), "",
                    "name must not be empty");
    if (!*jget_str0(o, "uid"))
      api_v_invalid(v, api_fp(f, "metadata.ownerReferences[%zu].uid", i), "",
                    "uid must not be empty");
  }
  json_object *fin = jget_arr(md, "finalizers");
  for (size_t i = 0; i < jarr_len(fin); i++) {
    const char *s = json_object_get_string(jarr_at(fin, i));
    const char *msg = kube_validate_label_key(s ? s : "");
    if (msg)
      api_v_invalid(v, api_fp(f, "metadata.finalizers[%zu]", i), s ? s : "",
                    msg);
  }
}

static void validate_meta_update(verrs_t *v, json_object *obj,
                                 json_object *old) {
  json_object *md = jget_obj(obj, "metadata"), *omd = jget_obj(old, "metadata");
  static const char *const fields[] = {"name", "namespace", "uid",
                                       "creationTimestamp"};
  char f[FP_MAX];
  for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
    json_object *a = jget(md, fields[i]), *b = jget(omd, fields[i]);
    if (!b || json_object_is_type(b, json_type_null))
      continue; /* not set before: the server fills it */
    if (!a || json_object_is_type(a, json_type_null))
      continue; /* carried over by the server */
    api_validate_immutable(v, a, b, api_fp(f, "metadata.%s", fields[i]));
  }
}

/* ---- services -------------------------------------------------------------
 */

/* ---- dispatch ------------------------------------------------------------ */

int kube_json_validate(json_object *obj, json_object *old,
                       const kube_kind_t *kind, kube_error_t *err) {
  return kube_json_validate_mode(obj, old, kind, API_UPDATE_ALL, err);
}

int kube_json_validate_mode(json_object *obj, json_object *old,
                            const kube_kind_t *kind, enum api_update_mode mode,
                            kube_error_t *err) {
  if (!json_object_is_type(obj, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "object is not a JSON object");
  if (!kind)
    kind = api_kind_of_tree(obj);
  if (!kind) {
    const char *k = jget_str(obj, "kind");
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "no kind \"%s\" is registered for version \"%s\"",
                          k ? k : "", jget_str0(obj, "apiVersion"));
  }
  verrs_t v = {0};
  validate_meta(&v, obj, kind);
  if (old)
    validate_meta_update(&v, obj, old);
  const struct kube_kind_strategy *st = api_kind_strategy(kind);
  if (mode == API_UPDATE_EPHEMERAL && old && st->validate_ephemeral)
    st->validate_ephemeral(&v, obj, old, kind);
  else if (st->validate)
    st->validate(&v, obj, old, kind);
  if (v.oom) {
    verrs_free(&v);
    return kube_make_oom(err);
  }
  if (v.n == 0)
    return 0;
  const char *name = jget_str0(jget_obj(obj, "metadata"), "name");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, kind->kind);
  if (*kind->group)
    kube_strbuf_printf(&sb, ".%s", kind->group);
  kube_strbuf_append_char(&sb, ' ');
  go_quote(&sb, name);
  kube_strbuf_append(&sb, " is invalid: ");
  if (v.n > 1)
    kube_strbuf_append_char(&sb, '[');
  for (size_t i = 0; i < v.n; i++) {
    if (i)
      kube_strbuf_append(&sb, ", ");
    if (*v.causes[i].field)
      kube_strbuf_printf(&sb, "%s: %s", v.causes[i].field, v.causes[i].body);
    else
      kube_strbuf_append(&sb, v.causes[i].body);
  }
  if (v.n > 1)
    kube_strbuf_append_char(&sb, ']');
  kube_error_set(err, KUBE_REASON_INVALID, 0, "%s",
                 sb.data ? sb.data : "invalid object");
  kube_strbuf_clear(&sb);
  for (size_t i = 0; i < v.n; i++)
    kube_error_add_cause(err, v.causes[i].field, v.causes[i].type,
                         v.causes[i].body);
  kube_error_set_details(err, kind->kind, name);
  verrs_free(&v);
  return -1;
}

KUBE_EXPORT int kube_object_validate(const kube_object_t *obj,
                                     const kube_object_t *old,
                                     kube_error_t *err) {
  if (!obj)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no object");
  return kube_json_validate(obj->root, old ? old->root : NULL, NULL, err);
}
void api_validate_nonneg(verrs_t *v, json_object *spec, const char *key,
                         const char *field) {
  json_object *x = jget(spec, key);
  if (jis_int(x) && json_object_get_int64(x) < 0)
    api_v_invalid_int(v, field, json_object_get_int64(x),
                      "must be greater than or equal to 0");
}

/* The selector is required, non-empty, valid and must select the
 * template's labels. */
void api_validate_selector_template(verrs_t *v, json_object *spec,
                                    const char *kind_word) {
  json_object *sel = jget_obj(spec, "selector");
  json_object *tmpl = jget_obj(spec, "template");
  json_object *labels = jget_obj(jget_obj(tmpl, "metadata"), "labels");
  if (!sel) {
    api_v_required(v, "spec.selector", NULL);
    return;
  }
  api_validate_label_selector(v, sel, "spec.selector");
  json_object *ml = jget_obj(sel, "matchLabels");
  size_t n = (ml ? (size_t)json_object_object_length(ml) : 0) +
             jarr_len(jget_arr(sel, "matchExpressions"));
  if (n == 0) {
    char msg[96];
    snprintf(msg, sizeof(msg), "empty selector is invalid for %s", kind_word);
    api_v_invalid_raw(v, "spec.selector", "{}", msg);
    return;
  }
  if (tmpl && !api_selector_matches_labels(sel, labels))
    api_v_template_labels(v, labels);
}

/* The template's labels, which the selector does not select. */
void api_v_template_labels(verrs_t *v, json_object *labels) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_go_map_string(&sb, labels);
  api_v_invalid_raw(v, "spec.template.metadata.labels", sb.data ? sb.data : "",
                    "`selector` does not match template `labels`");
  kube_strbuf_clear(&sb);
}

/* An int-or-percent: "25%" or 3. Returns the value; *pct tells which. */
bool api_int_or_percent(verrs_t *v, json_object *x, const char *field,
                        int64_t *value, bool *pct) {
  *pct = false;
  *value = 0;
  if (!x)
    return false;
  if (jis_int(x)) {
    *value = json_object_get_int64(x);
    if (*value < 0) {
      api_v_invalid_int(v, field, *value, "must be greater than or equal to 0");
      return false;
    }
    return true;
  }
  const char *s = json_object_get_string(x);
  size_t len = s ? strlen(s) : 0;
  bool ok = len >= 2 && s[len - 1] == '%';
  for (size_t i = 0; ok && i + 1 < len; i++)
    ok = isdigit((unsigned char)s[i]);
  if (!ok) {
    api_v_invalid(
        v, field, s ? s : "",
        "a valid percent string must be a numeric string followed by "
        "an ending '%' (e.g. '1%',  or '93%', regex used for validation "
        "is '[0-9]+%')");
    return false;
  }
  *value = strtoll(s, NULL, 10);
  *pct = true;
  if (*value > 100) {
    api_v_invalid(v, field, s, "must not be greater than 100%");
    return false;
  }
  return true;
}

void api_validate_rolling_update(verrs_t *v, json_object *ru, const char *field,
                                 bool surge_allowed) {
  char f[FP_MAX], g[FP_MAX];
  int64_t mu = 0, ms = 0;
  bool pu, ps;
  bool has_u =
      api_int_or_percent(v, jget(ru, "maxUnavailable"),
                         api_fp(f, "%s.maxUnavailable", field), &mu, &pu);
  bool has_s = api_int_or_percent(v, jget(ru, "maxSurge"),
                                  api_fp(g, "%s.maxSurge", field), &ms, &ps);
  if (surge_allowed && has_u && has_s && mu == 0 && ms == 0)
    api_v_invalid_json(v, f, jget(ru, "maxUnavailable"),
                       "may not be 0 when `maxSurge` is 0");
}
