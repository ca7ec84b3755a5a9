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

char *api_fp(char buf[FP_MAX], const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, FP_MAX, fmt, ap);
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

static int str_ptr_cmp(const void *a, const void *b) {
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
    qsort(keys, i, sizeof(*keys), str_ptr_cmp);
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

enum name_rule { NAME_SUBDOMAIN, NAME_LABEL, NAME_DNS1035 };

static enum name_rule name_rule_for(const kube_kind_t *k) {
  if (!*k->group && (streq(k->resource, "services")))
    return NAME_DNS1035;
  if (!*k->group && streq(k->resource, "namespaces"))
    return NAME_LABEL;
  return NAME_SUBDOMAIN;
}

static const char *name_error(enum name_rule rule, const char *name) {
  switch (rule) {
  case NAME_LABEL:
    return kube_validate_dns1123_label(name);
  case NAME_DNS1035:
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
  enum name_rule rule = name_rule_for(k);
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

static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const service_types[] = {"ClusterIP", "ExternalName",
                                            "LoadBalancer", "NodePort", NULL};
static const char *const affinities[] = {"ClientIP", "None", NULL};
static const char *const traffic_policies[] = {"Cluster", "Local", NULL};

static void validate_service(verrs_t *v, json_object *obj, json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  char f[FP_MAX], g[FP_MAX];
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  const char *type = jget_str0(spec, "type");
  if (!api_in_set(type, service_types))
    api_v_unsupported(v, "spec.type", type, service_types);
  const char *cip = jget_str0(spec, "clusterIP");
  bool headless = streq(cip, "None");
  bool extname = streq(type, "ExternalName");
  json_object *ports = jget_arr(spec, "ports");
  size_t np = jarr_len(ports);
  if (np == 0 && !headless && !extname)
    api_v_required(v, "spec.ports", NULL);
  for (size_t i = 0; i < np; i++) {
    json_object *p = jarr_at(ports, i);
    api_fp(f, "spec.ports[%zu]", i);
    const char *name = jget_str0(p, "name");
    if (np > 1 && !*name)
      api_v_required(v, api_fp(g, "%s.name", f), NULL);
    else if (*name)
      api_validate_dns_label(v, name, api_fp(g, "%s.name", f));
    for (size_t j = 0; *name && j < i; j++)
      if (streq(jget_str0(jarr_at(ports, j), "name"), name)) {
        api_v_duplicate(v, api_fp(g, "%s.name", f), name);
        break;
      }
    api_validate_port_number(v, jget(p, "port"), api_fp(g, "%s.port", f), true);
    const char *proto = jget_str0(p, "protocol");
    if (!api_in_set(proto, protocols))
      api_v_unsupported(v, api_fp(g, "%s.protocol", f), proto, protocols);
    json_object *tp = jget(p, "targetPort");
    if (json_object_is_type(tp, json_type_string)) {
      const char *tps = json_object_get_string(tp);
      if (*tps)
        api_validate_iana_svc_name(v, tps, api_fp(g, "%s.targetPort", f));
    } else if (tp) {
      api_validate_port_number(v, tp, api_fp(g, "%s.targetPort", f), false);
    }
    json_object *npv = jget(p, "nodePort");
    if (npv && jis_int(npv) && json_object_get_int64(npv) != 0) {
      if (!streq(type, "NodePort") && !streq(type, "LoadBalancer")) {
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        kube_strbuf_printf(&sb, "may not be used when `type` is '%s'", type);
        api_v_forbidden(v, api_fp(g, "%s.nodePort", f), sb.data);
        kube_strbuf_clear(&sb);
      } else {
        api_validate_port_number(v, npv, api_fp(g, "%s.nodePort", f), false);
      }
    }
    for (size_t j = 0; j < i; j++) {
      json_object *q = jarr_at(ports, j);
      if (jget_int(q, "port", -1) == jget_int(p, "port", -2) &&
          streq(jget_str0(q, "protocol"), proto)) {
        char val[64];
        snprintf(val, sizeof(val), "%" PRId64 "/%s", jget_int(p, "port", 0),
                 proto);
        api_v_duplicate(v, f, val);
        break;
      }
    }
  }
  const char *aff = jget_str0(spec, "sessionAffinity");
  if (!api_in_set(aff, affinities))
    api_v_unsupported(v, "spec.sessionAffinity", aff, affinities);
  if (*cip && !headless && !api_valid_ip(cip))
    api_v_invalid(
        v, "spec.clusterIP", cip,
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
  json_object *eips = jget_arr(spec, "externalIPs");
  for (size_t i = 0; i < jarr_len(eips); i++) {
    const char *ip = json_object_get_string(jarr_at(eips, i));
    if (!api_valid_ip(ip))
      api_v_invalid(v, api_fp(f, "spec.externalIPs[%zu]", i), ip ? ip : "",
                    "must be a valid IP address, (e.g. 10.9.8.7 or "
                    "2001:db8::ffff)");
  }
  if (extname) {
    const char *en = jget_str0(spec, "externalName");
    if (!*en) {
      api_v_required(v, "spec.externalName", NULL);
    } else {
      const char *msg = kube_validate_dns1123_subdomain(en);
      if (msg)
        api_v_invalid(v, "spec.externalName", en, msg);
    }
    if (*cip)
      api_v_forbidden(v, "spec.clusterIP",
                      "may not be set when `type` is 'ExternalName'");
  }
  json_object *sel = jget(spec, "selector");
  api_validate_labels(v, sel, "spec.selector");
  const char *etp = jget_str(spec, "externalTrafficPolicy");
  if (etp && *etp) {
    if (!streq(type, "NodePort") && !streq(type, "LoadBalancer"))
      api_v_invalid(v, "spec.externalTrafficPolicy", etp,
                    "may only be set when `type` is 'NodePort' or "
                    "'LoadBalancer'");
    else if (!api_in_set(etp, traffic_policies))
      api_v_unsupported(v, "spec.externalTrafficPolicy", etp, traffic_policies);
  }
  const char *itp = jget_str(spec, "internalTrafficPolicy");
  if (itp && *itp && !api_in_set(itp, traffic_policies))
    api_v_unsupported(v, "spec.internalTrafficPolicy", itp, traffic_policies);

  if (old) {
    const char *ocip = jget_str0(jget_obj(old, "spec"), "clusterIP");
    if (*ocip && *cip && !streq(ocip, cip) &&
        !streq(jget_str0(jget_obj(old, "spec"), "type"), "ExternalName") &&
        !extname)
      api_v_invalid(v, "spec.clusterIP", cip, "field is immutable");
  }
}

/* ---- namespaces, nodes -------------------------------------------------- */

static void validate_namespace(verrs_t *v, json_object *obj) {
  json_object *fin = jget_arr(jget_obj(obj, "spec"), "finalizers");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(fin); i++) {
    const char *s = json_object_get_string(jarr_at(fin, i));
    const char *msg = kube_validate_label_key(s ? s : "");
    if (msg)
      api_v_invalid(v, api_fp(f, "spec.finalizers[%zu]", i), s ? s : "", msg);
  }
}

static const char *const taint_effects[] = {"NoExecute", "NoSchedule",
                                            "PreferNoSchedule", NULL};

static void validate_node(verrs_t *v, json_object *obj) {
  json_object *taints = jget_arr(jget_obj(obj, "spec"), "taints");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(taints); i++) {
    json_object *t = jarr_at(taints, i);
    const char *key = jget_str0(t, "key");
    if (!*key) {
      api_v_required(v, api_fp(f, "spec.taints[%zu].key", i), NULL);
    } else {
      const char *msg = kube_validate_label_key(key);
      if (msg)
        api_v_invalid(v, api_fp(f, "spec.taints[%zu].key", i), key, msg);
    }
    const char *val = jget_str0(t, "value");
    const char *msg = kube_validate_label_value(val);
    if (msg)
      api_v_invalid(v, api_fp(f, "spec.taints[%zu].value", i), val, msg);
    const char *eff = jget_str0(t, "effect");
    if (!*eff)
      api_v_required(v, api_fp(f, "spec.taints[%zu].effect", i), NULL);
    else if (!api_in_set(eff, taint_effects))
      api_v_unsupported(v, api_fp(f, "spec.taints[%zu].effect", i), eff,
                        taint_effects);
    for (size_t j = 0; j < i; j++) {
      json_object *u = jarr_at(taints, j);
      if (streq(jget_str0(u, "key"), key) &&
          streq(jget_str0(u, "effect"), eff)) {
        api_v_duplicate(v, api_fp(f, "spec.taints[%zu]", i), key);
        break;
      }
    }
  }
  const char *cidr = jget_str(jget_obj(obj, "spec"), "podCIDR");
  if (cidr && *cidr) {
    char ip[64];
    const char *slash = strchr(cidr, '/');
    size_t l = slash ? (size_t)(slash - cidr) : 0;
    bool ok = slash && l < sizeof(ip) && slash[1];
    if (ok) {
      memcpy(ip, cidr, l);
      ip[l] = '\0';
      ok = api_valid_ip(ip);
      for (const char *p = slash + 1; ok && *p; p++)
        ok = isdigit((unsigned char)*p);
    }
    if (!ok)
      api_v_invalid(v, "spec.podCIDR", cidr,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
                    "2001:db8::/64)");
  }
}

/* ---- config maps, secrets -------------------------------------------------
 */

#define CONFIG_KEY_MSG                                                         \
  "a valid config key must consist of alphanumeric characters, '-', '_' or "   \
  "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "      \
  "validation is '[-._a-zA-Z0-9]+')"
#define MAX_CONFIG_SIZE (1024 * 1024)

static void validate_config_key(verrs_t *v, const char *key,
                                const char *field) {
  size_t len = strlen(key);
  if (len > 253)
    api_v_invalid(v, field, key, "must be no more than 253 characters");
  bool ok = len > 0;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.')
      ok = false;
  }
  if (!ok)
    api_v_invalid(v, field, key, CONFIG_KEY_MSG);
  if (streq(key, "."))
    api_v_invalid(v, field, key, "must not be '.'");
  else if (streq(key, ".."))
    api_v_invalid(v, field, key, "must not be '..'");
  else if (str_has_prefix(key, ".."))
    api_v_invalid(v, field, key, "must not start with '..'");
}

static bool is_b64(int c) {
  return isalnum(c) || c == '+' || c == '/';
}

/* Standard base64 with padding; -1 when valid, else the bad offset. */
static long base64_error(const char *s) {
  size_t len = strlen(s);
  size_t i = 0;
  for (; i < len && is_b64((unsigned char)s[i]); i++)
    ;
  size_t pad = 0;
  for (; i < len && s[i] == '='; i++, pad++)
    ;
  if (i != len)
    return (long)i;
  if (pad > 2 || (len % 4) != 0)
    return (long)(len - pad - ((len - pad) % 4));
  return -1;
}

static bool immutable_set(json_object *old) {
  return old && jget_bool(old, "immutable", false);
}

static void validate_configmap(verrs_t *v, json_object *obj, json_object *old) {
  json_object *data = jget(obj, "data"), *bin = jget(obj, "binaryData");
  char f[FP_MAX];
  size_t total = 0;
  if (data && !json_object_is_type(data, json_type_object))
    api_v_invalid_json(v, "data", data, "must be a map of strings");
  if (json_object_is_type(data, json_type_object)) {
    json_object_object_foreach(data, k, val) {
      validate_config_key(v, k, api_fp(f, "data[%s]", k));
      if (!json_object_is_type(val, json_type_string))
        api_v_invalid_json(v, api_fp(f, "data[%s]", k), val,
                           "must be a string");
      else
        total += (size_t)json_object_get_string_len(val);
    }
  }
  if (json_object_is_type(bin, json_type_object)) {
    json_object_object_foreach(bin, k, val) {
      validate_config_key(v, k, api_fp(f, "binaryData[%s]", k));
      if (jget(data, k))
        api_v_invalid(v, api_fp(f, "binaryData[%s]", k), k,
                      "duplicate of key present in data");
      const char *s = json_object_get_string(val);
      if (!json_object_is_type(val, json_type_string) || base64_error(s) >= 0)
        api_v_invalid(v, api_fp(f, "binaryData[%s]", k), "<binary>",
                      "must be base64 encoded");
      else
        total += strlen(s) / 4 * 3;
    }
  }
  if (total > MAX_CONFIG_SIZE)
    api_v_toolong(v, "", "must have at most 1048576 bytes");
  if (immutable_set(old)) {
    if (!json_object_equal(data, jget(old, "data")))
      api_v_forbidden(v, "data", "field is immutable when `immutable` is set");
    if (!json_object_equal(bin, jget(old, "binaryData")))
      api_v_forbidden(v, "binaryData",
                      "field is immutable when `immutable` is set");
    if (!jget_bool(obj, "immutable", false))
      api_v_forbidden(v, "immutable",
                      "field is immutable when `immutable` is set");
  }
}

static void secret_requires(verrs_t *v, json_object *data, const char *key) {
  char f[FP_MAX];
  if (!jget(data, key))
    api_v_required(v, api_fp(f, "data[%s]", key), NULL);
}

static void validate_secret(verrs_t *v, json_object *obj, json_object *old) {
  json_object *data = jget(obj, "data");
  char f[FP_MAX];
  size_t total = 0;
  if (data && !json_object_is_type(data, json_type_object))
    api_v_invalid_json(v, "data", data, "must be a map of strings");
  if (json_object_is_type(data, json_type_object)) {
    json_object_object_foreach(data, k, val) {
      validate_config_key(v, k, api_fp(f, "data[%s]", k));
      const char *s = json_object_get_string(val);
      long bad =
          json_object_is_type(val, json_type_string) ? base64_error(s) : 0;
      if (bad >= 0) {
        char msg[80];
        snprintf(msg, sizeof(msg), "illegal base64 data at input byte %ld",
                 bad);
        api_v_invalid(v, api_fp(f, "data[%s]", k), "<secret contents redacted>",
                      msg);
      } else {
        total += strlen(s) / 4 * 3;
      }
    }
  }
  json_object *sdata = jget_obj(obj, "stringData");
  if (sdata) {
    json_object_object_foreach(sdata, k, val) {
      validate_config_key(v, k, api_fp(f, "stringData[%s]", k));
      if (json_object_is_type(val, json_type_string))
        total += (size_t)json_object_get_string_len(val);
    }
  }
  if (total > MAX_CONFIG_SIZE)
    api_v_toolong(v, "data", "must have at most 1048576 bytes");
  const char *type = jget_str0(obj, "type");
  json_object *md = jget_obj(obj, "metadata");
  if (streq(type, "kubernetes.io/service-account-token")) {
    if (!*jget_str0(jget_obj(md, "annotations"),
                    "kubernetes.io/service-account.name"))
      api_v_required(
          v, "metadata.annotations[kubernetes.io/service-account.name]", NULL);
  } else if (streq(type, "kubernetes.io/dockercfg")) {
    secret_requires(v, data, ".dockercfg");
  } else if (streq(type, "kubernetes.io/dockerconfigjson")) {
    secret_requires(v, data, ".dockerconfigjson");
  } else if (streq(type, "kubernetes.io/basic-auth")) {
    if (!jget(data, "username") && !jget(data, "password"))
      api_v_required(v, "data[username]", NULL);
  } else if (streq(type, "kubernetes.io/ssh-auth")) {
    secret_requires(v, data, "ssh-privatekey");
  } else if (streq(type, "kubernetes.io/tls")) {
    secret_requires(v, data, "tls.crt");
    secret_requires(v, data, "tls.key");
  }
  if (old) {
    const char *otype = jget_str0(old, "type");
    if (!streq(otype, type))
      api_v_invalid(v, "type", type, "field is immutable");
    if (immutable_set(old)) {
      if (!json_object_equal(data, jget(old, "data")))
        api_v_forbidden(v, "data",
                        "field is immutable when `immutable` is set");
      if (!jget_bool(obj, "immutable", false))
        api_v_forbidden(v, "immutable",
                        "field is immutable when `immutable` is set");
    }
  }
}

/* ---- endpoints, events, leases ------------------------------------------ */

#define IP_MSG "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"

static void validate_endpoints(verrs_t *v, json_object *obj) {
  json_object *subsets = jget_arr(obj, "subsets");
  char f[FP_MAX], g[FP_MAX];
  for (size_t s = 0; s < jarr_len(subsets); s++) {
    json_object *ss = jarr_at(subsets, s);
    const char *lists[] = {"addresses", "notReadyAddresses"};
    for (size_t l = 0; l < 2; l++) {
      json_object *addrs = jget_arr(ss, lists[l]);
      for (size_t i = 0; i < jarr_len(addrs); i++) {
        const char *ip = jget_str0(jarr_at(addrs, i), "ip");
        if (!api_valid_ip(ip))
          api_v_invalid(v, api_fp(f, "subsets[%zu].%s[%zu].ip", s, lists[l], i),
                        ip, IP_MSG);
      }
    }
    json_object *ports = jget_arr(ss, "ports");
    size_t np = jarr_len(ports);
    for (size_t i = 0; i < np; i++) {
      json_object *p = jarr_at(ports, i);
      api_fp(f, "subsets[%zu].ports[%zu]", s, i);
      const char *name = jget_str0(p, "name");
      if (np > 1 && !*name)
        api_v_required(v, api_fp(g, "%s.name", f), NULL);
      else if (*name)
        api_validate_dns_label(v, name, api_fp(g, "%s.name", f));
      api_validate_port_number(v, jget(p, "port"), api_fp(g, "%s.port", f),
                               true);
      const char *proto = jget_str0(p, "protocol");
      if (!api_in_set(proto, protocols))
        api_v_unsupported(v, api_fp(g, "%s.protocol", f), proto, protocols);
    }
  }
}

static const char *const address_types[] = {"FQDN", "IPv4", "IPv6", NULL};

static void validate_endpointslice(verrs_t *v, json_object *obj) {
  char f[FP_MAX], g[FP_MAX];
  const char *at = jget_str0(obj, "addressType");
  if (!*at)
    api_v_required(v, "addressType", NULL);
  else if (!api_in_set(at, address_types))
    api_v_unsupported(v, "addressType", at, address_types);
  json_object *eps = jget_arr(obj, "endpoints");
  for (size_t i = 0; i < jarr_len(eps); i++) {
    json_object *addrs = jget_arr(jarr_at(eps, i), "addresses");
    size_t na = jarr_len(addrs);
    api_fp(f, "endpoints[%zu].addresses", i);
    if (na == 0)
      api_v_required(v, f, "must contain at least 1 address");
    else if (na > 100)
      api_v_toolong(v, f, "must have at most 100 items");
    for (size_t a = 0; a < na; a++) {
      const char *ip = json_object_get_string(jarr_at(addrs, a));
      if (!ip)
        ip = "";
      if ((streq(at, "IPv4") && !strchr(ip, '.')) ||
          (streq(at, "IPv6") && !strchr(ip, ':')) ||
          ((streq(at, "IPv4") || streq(at, "IPv6")) && !api_valid_ip(ip)))
        api_v_invalid(v, api_fp(g, "%s[%zu]", f, a), ip,
                      streq(at, "IPv4") ? "must be a valid IPv4 address"
                                        : "must be a valid IPv6 address");
      else if (streq(at, "FQDN")) {
        const char *msg = kube_validate_dns1123_subdomain(ip);
        if (msg)
          api_v_invalid(v, api_fp(g, "%s[%zu]", f, a), ip, msg);
      }
    }
  }
  json_object *ports = jget_arr(obj, "ports");
  for (size_t i = 0; i < jarr_len(ports); i++) {
    json_object *p = jarr_at(ports, i);
    json_object *port = jget(p, "port");
    if (port && jis_int(port)) {
      int64_t pv = json_object_get_int64(port);
      if (pv < 0 || pv > 65535)
        api_v_invalid_int(v, api_fp(f, "ports[%zu].port", i), pv,
                          "must be between 0 and 65535, inclusive");
    }
    const char *proto = jget_str0(p, "protocol");
    if (*proto && !api_in_set(proto, protocols))
      api_v_unsupported(v, api_fp(f, "ports[%zu].protocol", i), proto,
                        protocols);
  }
}

static void validate_event(verrs_t *v, json_object *obj, bool v1) {
  json_object *inv = jget_obj(obj, v1 ? "regarding" : "involvedObject");
  const char *ns = jget_str0(jget_obj(obj, "metadata"), "namespace");
  const char *ins = jget_str0(inv, "namespace");
  const char *field = v1 ? "regarding.namespace" : "involvedObject.namespace";
  if (*ins && *ns && !streq(ins, ns))
    api_v_invalid(v, field, ins, "does not match event.namespace");
  const char *type = jget_str0(obj, "type");
  static const char *const types[] = {"Normal", "Warning", NULL};
  if (v1 || *type) {
    if (*type && !api_in_set(type, types))
      api_v_unsupported(v, "type", type, types);
    else if (v1 && !*type)
      api_v_required(v, "type", NULL);
  }
  if (v1) {
    if (!*jget_str0(obj, "reportingController"))
      api_v_required(v, "reportingController", NULL);
    if (!*jget_str0(obj, "reportingInstance"))
      api_v_required(v, "reportingInstance", NULL);
    if (!*jget_str0(obj, "action"))
      api_v_required(v, "action", NULL);
    if (!*jget_str0(obj, "reason"))
      api_v_required(v, "reason", NULL);
    if (!jget_str(obj, "eventTime"))
      api_v_required(v, "eventTime", NULL);
  }
}

static void validate_lease(verrs_t *v, json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *d = jget(spec, "leaseDurationSeconds");
  if (d && jis_int(d) && json_object_get_int64(d) <= 0)
    api_v_invalid_int(v, "spec.leaseDurationSeconds", json_object_get_int64(d),
                      "must be greater than 0");
  json_object *t = jget(spec, "leaseTransitions");
  if (t && jis_int(t) && json_object_get_int64(t) < 0)
    api_v_invalid_int(v, "spec.leaseTransitions", json_object_get_int64(t),
                      "must be greater than or equal to 0");
}

/* ---- volumes, quotas -------------------------------------------------------
 */

static const char *const access_modes[] = {
    "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", NULL};

static void validate_access_modes(verrs_t *v, json_object *spec) {
  json_object *modes = jget_arr(spec, "accessModes");
  char f[FP_MAX];
  if (jarr_len(modes) == 0)
    api_v_required(v, "spec.accessModes", "at least 1 access mode is required");
  for (size_t i = 0; i < jarr_len(modes); i++) {
    const char *m = json_object_get_string(jarr_at(modes, i));
    if (!api_in_set(m, access_modes))
      api_v_unsupported(v, api_fp(f, "spec.accessModes[%zu]", i), m ? m : "",
                        access_modes);
  }
}

static const char *const pv_sources[] = {"hostPath",
                                         "gcePersistentDisk",
                                         "awsElasticBlockStore",
                                         "nfs",
                                         "iscsi",
                                         "glusterfs",
                                         "rbd",
                                         "flexVolume",
                                         "cinder",
                                         "cephfs",
                                         "flocker",
                                         "fc",
                                         "azureFile",
                                         "vsphereVolume",
                                         "quobyte",
                                         "azureDisk",
                                         "photonPersistentDisk",
                                         "portworxVolume",
                                         "scaleIO",
                                         "local",
                                         "storageos",
                                         "csi",
                                         NULL};
static const char *const reclaim_policies[] = {"Delete", "Recycle", "Retain",
                                               NULL};

static void validate_pv(verrs_t *v, json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  validate_access_modes(v, spec);
  json_object *cap = jget_obj(spec, "capacity");
  if (!cap || !jget(cap, "storage")) {
    api_v_required(v, "spec.capacity", NULL);
  } else {
    json_object_object_foreach(cap, k, val) {
      char f[FP_MAX];
      if (!streq(k, "storage")) {
        api_v_unsupported(v, "spec.capacity", k,
                          (const char *const[]){"storage", NULL});
        continue;
      }
      api_validate_quantity(v, val, api_fp(f, "spec.capacity[%s]", k), true,
                            NULL, NULL);
    }
  }
  size_t sources = 0;
  for (const char *const *s = pv_sources; *s; s++)
    if (jget(spec, *s))
      sources++;
  if (sources == 0)
    api_v_required(v, "spec", "must specify a volume type");
  else if (sources > 1)
    api_v_forbidden(v, "spec", "may not specify more than 1 volume type");
  const char *rp = jget_str0(spec, "persistentVolumeReclaimPolicy");
  if (*rp && !api_in_set(rp, reclaim_policies))
    api_v_unsupported(v, "spec.persistentVolumeReclaimPolicy", rp,
                      reclaim_policies);
  json_object *hp = jget_obj(spec, "hostPath");
  if (hp && !*jget_str0(hp, "path"))
    api_v_required(v, "spec.hostPath.path", NULL);
}

static void validate_pvc(verrs_t *v, json_object *obj, json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  validate_access_modes(v, spec);
  json_object *req = jget_obj(jget_obj(spec, "resources"), "requests");
  json_object *st = jget(req, "storage");
  if (!st)
    api_v_required(v, "spec.resources[storage]", NULL);
  else
    api_validate_quantity(v, st, "spec.resources[storage]", true, NULL, NULL);
  if (old) {
    /* Only the storage request (expansion) and volumeName binding may
     * change after creation. */
    json_object *a = NULL, *b = NULL;
    if (json_object_deep_copy(spec, &a, NULL) == 0 &&
        json_object_deep_copy(jget_obj(old, "spec"), &b, NULL) == 0 && a && b) {
      json_object_object_del(a, "resources");
      json_object_object_del(b, "resources");
      json_object_object_del(a, "volumeAttributesClassName");
      json_object_object_del(b, "volumeAttributesClassName");
      if (!*jget_str0(b, "volumeName"))
        json_object_object_del(a, "volumeName"),
            json_object_object_del(b, "volumeName");
      if (!json_object_equal(a, b))
        api_v_forbidden(v, "spec",
                        "spec is immutable after creation except "
                        "resources.requests and volumeAttributesClassName for "
                        "bound claims");
    }
    json_object_put(a);
    json_object_put(b);
  }
}

static const char *const limit_types[] = {"Container", "PersistentVolumeClaim",
                                          "Pod", NULL};

static void validate_limitrange(verrs_t *v, json_object *obj) {
  json_object *limits = jget_arr(jget_obj(obj, "spec"), "limits");
  char f[FP_MAX], g[FP_MAX];
  static const char *const lists[] = {"max", "min", "default", "defaultRequest",
                                      "maxLimitRequestRatio"};
  for (size_t i = 0; i < jarr_len(limits); i++) {
    json_object *item = jarr_at(limits, i);
    api_fp(f, "spec.limits[%zu]", i);
    const char *type = jget_str0(item, "type");
    if (!api_in_set(type, limit_types))
      api_v_unsupported(v, api_fp(g, "%s.type", f), type, limit_types);
    for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
      json_object *m = jget_obj(item, lists[l]);
      if (!m)
        continue;
      json_object_object_foreach(m, k, val) api_validate_quantity(
          v, val, api_fp(g, "%s.%s[%s]", f, lists[l], k), true, NULL, NULL);
    }
    json_object *min = jget_obj(item, "min"), *max = jget_obj(item, "max");
    if (min && max) {
      json_object_object_foreach(min, k, val) {
        json_object *mx = jget(max, k);
        kube_quantity_t a, b;
        if (mx && json_object_is_type(val, json_type_string) &&
            json_object_is_type(mx, json_type_string) &&
            kube_quantity_parse(json_object_get_string(val), &a, NULL) == 0 &&
            kube_quantity_parse(json_object_get_string(mx), &b, NULL) == 0 &&
            kube_quantity_cmp(&a, &b) > 0) {
          char msg[160];
          snprintf(msg, sizeof(msg),
                   "min value %s is greater than max value %s",
                   json_object_get_string(val), json_object_get_string(mx));
          api_v_invalid(v, api_fp(g, "%s.min[%s]", f, k),
                        json_object_get_string(val), msg);
        }
      }
    }
  }
}

static const char *const quota_scopes[] = {"BestEffort",
                                           "CrossNamespacePodAffinity",
                                           "NotBestEffort",
                                           "NotTerminating",
                                           "PriorityClass",
                                           "Terminating",
                                           NULL};

static void validate_quota(verrs_t *v, json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *hard = jget_obj(spec, "hard");
  char f[FP_MAX];
  if (hard) {
    json_object_object_foreach(hard, k, val) api_validate_quantity(
        v, val, api_fp(f, "spec.hard[%s]", k), true, NULL, NULL);
  }
  json_object *scopes = jget_arr(spec, "scopes");
  for (size_t i = 0; i < jarr_len(scopes); i++) {
    const char *s = json_object_get_string(jarr_at(scopes, i));
    if (!api_in_set(s, quota_scopes))
      api_v_unsupported(v, api_fp(f, "spec.scopes[%zu]", i), s ? s : "",
                        quota_scopes);
  }
}

/* ---- dispatch
 * ---------------------------------------------------------------- */

static void validate_kind(verrs_t *v, json_object *obj, json_object *old,
                          const kube_kind_t *k) {
  const char *g = k->group, *r = k->resource;
  bool core = !*g;
  if (core && streq(r, "pods"))
    api_validate_pod(v, obj, old);
  else if (core && streq(r, "services"))
    validate_service(v, obj, old);
  else if (core && streq(r, "namespaces"))
    validate_namespace(v, obj);
  else if (core && streq(r, "nodes"))
    validate_node(v, obj);
  else if (core && streq(r, "configmaps"))
    validate_configmap(v, obj, old);
  else if (core && streq(r, "secrets"))
    validate_secret(v, obj, old);
  else if (core && streq(r, "endpoints"))
    validate_endpoints(v, obj);
  else if (core && streq(r, "events"))
    validate_event(v, obj, false);
  else if (streq(g, "events.k8s.io") && streq(r, "events"))
    validate_event(v, obj, true);
  else if (streq(g, "coordination.k8s.io") && streq(r, "leases"))
    validate_lease(v, obj);
  else if (streq(g, "discovery.k8s.io") && streq(r, "endpointslices"))
    validate_endpointslice(v, obj);
  else if (core && streq(r, "persistentvolumes"))
    validate_pv(v, obj);
  else if (core && streq(r, "persistentvolumeclaims"))
    validate_pvc(v, obj, old);
  else if (core && streq(r, "limitranges"))
    validate_limitrange(v, obj);
  else if (core && streq(r, "resourcequotas"))
    validate_quota(v, obj);
  else
    api_validate_workload(v, obj, old, k);
}

int kube_json_validate(json_object *obj, json_object *old,
                       const kube_kind_t *kind, kube_error_t *err) {
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
  validate_kind(&v, obj, old, kind);
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
