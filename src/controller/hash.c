/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pod-template-hash as kube-controller-manager computes it
 * (controller.ComputeHash): FNV-32a over
 *   spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true,
 *                    SpewKeys: true}.Fprintf(h, "%#v", template)
 * of the Go v1.PodTemplateSpec, then the collision count (4 little-endian
 * bytes and 4 zeros), encoded with rand.SafeEncodeString.
 *
 * So the template is printed here from JSON the way go-spew prints the Go
 * value kube-controller-manager decoded (from protobuf: empty lists and
 * maps are nil there): every field of every struct in Go order, with its
 * Go type, nil pointers as "(*T)<nil>", strings raw, maps with sorted
 * keys, and resource.Quantity with its internal fields as ParseQuantity
 * leaves them for the canonical text the API server sends.
 */
#include <pthread.h>

#include "controller/hash.h"

/* ------------------------------------------------------------------------ */
/* The type table                                                            */
/* ------------------------------------------------------------------------ */

struct gfield {
  char *name;
  char *type;
  char *json; /* NULL: embedded, members inline */
};

struct gstruct {
  char *name;
  struct gfield *f;
  size_t n;
};

static struct strmap structs;
static struct strmap string_types;
static pthread_once_t types_once = PTHREAD_ONCE_INIT;
static bool types_ok;

static bool parse_struct(const char *def) {
  const char *brace = strchr(def, '{');
  size_t dl = strlen(def);
  if (!brace || def[dl - 1] != '}')
    return false;
  struct gstruct *s = calloc(1, sizeof *s);
  if (!s || !(s->name = strndup(def, (size_t)(brace - def))))
    return false;
  char *body = strndup(brace + 1, dl - (size_t)(brace - def) - 2);
  if (!body)
    return false;
  char *save = NULL;
  for (char *f = strtok_r(body, ";", &save); f;
       f = strtok_r(NULL, ";", &save)) {
    struct gfield *nf = realloc(s->f, (s->n + 1) * sizeof *nf);
    if (!nf)
      return false;
    s->f = nf;
    struct gfield *g = &s->f[s->n++];
    memset(g, 0, sizeof *g);
    char *c1 = strchr(f, ':');
    if (!c1)
      return false;
    g->name = strndup(f, (size_t)(c1 - f));
    if (str_has_prefix(c1 + 1, "E") && (!c1[2] || c1[2] == ':')) {
      /* embedded: the field is named after its type; inline in JSON
       * unless a member name follows */
      if (asprintf(&g->type, "v1.%s", g->name) < 0 ||
          (c1[2] == ':' && !(g->json = strdup(c1 + 3))))
        return false;
      continue;
    }
    char *c2 = strrchr(c1 + 1, ':');
    if (!c2 || !(g->type = strndup(c1 + 1, (size_t)(c2 - c1 - 1))) ||
        !(g->json = strdup(c2 + 1)))
      return false;
  }
  free(body);
  return strmap_put(&structs, s->name, s, NULL) != NULL;
}

static void load_types(void) {
  for (size_t i = 0; ctl_go_structs[i]; i++)
    if (!parse_struct(ctl_go_structs[i]))
      return;
  for (size_t i = 0; ctl_go_string_types[i]; i++)
    if (!strmap_put(&string_types, ctl_go_string_types[i], (void *)1, NULL))
      return;
  types_ok = true;
}

/* ------------------------------------------------------------------------ */
/* resource.Quantity                                                         */
/* ------------------------------------------------------------------------ */

static const struct {
  const char *s;
  int32_t exp;
} dec_suffixes[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0},   {"k", 3},
                    {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
static const struct {
  const char *s;
  int32_t exp;
} bin_suffixes[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                    {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};

/* quantitySuffixer.interpret */
static bool interpret(const char *suf, int32_t *base, int32_t *exp,
                      const char **format) {
  for (size_t i = 0; i < ARRAY_SIZE(dec_suffixes); i++)
    if (streq(suf, dec_suffixes[i].s)) {
      *base = 10, *exp = dec_suffixes[i].exp, *format = "DecimalSI";
      return true;
    }
  for (size_t i = 0; i < ARRAY_SIZE(bin_suffixes); i++)
    if (streq(suf, bin_suffixes[i].s)) {
      *base = 2, *exp = bin_suffixes[i].exp, *format = "BinarySI";
      return true;
    }
  if (strlen(suf) > 1 && (suf[0] == 'e' || suf[0] == 'E')) {
    char *end;
    errno = 0;
    long long v = strtoll(suf + 1, &end, 10);
    if (*end || errno || v < INT32_MIN || v > INT32_MAX)
      return false;
    *base = 10, *exp = (int32_t)v, *format = "DecimalExponent";
    return true;
  }
  return false;
}

static bool isdig(char c) {
  return c >= '0' && c <= '9';
}

int ctl_goquantity_parse(const char *str, struct ctl_goquantity *q) {
  memset(q, 0, sizeof *q);
  q->format = "";
  size_t end = strlen(str);
  if (!end)
    return -1;
  if (streq(str, "0")) {
    q->format = "DecimalSI";
    snprintf(q->s, sizeof q->s, "0");
    q->fast = true;
    return 0;
  }
  /* parseQuantityString */
  bool positive = true;
  size_t pos = 0;
  if (str[0] == '-' || str[0] == '+') {
    positive = str[0] != '-';
    pos++;
  }
  char num[64] = "0", denom[64] = "", suf[32] = "";
  while (pos < end && str[pos] == '0')
    pos++;
  if (pos >= end)
    goto interpret_it; /* all zeroes */
  size_t ns = pos;
  while (pos < end && isdig(str[pos]))
    pos++;
  if (pos - ns >= sizeof num)
    return -1;
  if (pos > ns)
    snprintf(num, sizeof num, "%.*s", (int)(pos - ns), str + ns);
  if (pos < end && str[pos] == '.') {
    size_t ds = ++pos;
    while (pos < end && isdig(str[pos]))
      pos++;
    if (pos - ds >= sizeof denom)
      return -1;
    snprintf(denom, sizeof denom, "%.*s", (int)(pos - ds), str + ds);
  }
  size_t ss = pos;
  while (pos < end && strchr("eEinumkKMGTP", str[pos]))
    pos++;
  if (pos < end && (str[pos] == '-' || str[pos] == '+'))
    pos++;
  while (pos < end && isdig(str[pos]))
    pos++;
  if (pos < end || end - ss >= sizeof suf)
    return -1;
  snprintf(suf, sizeof suf, "%s", str + ss);
interpret_it:;
  int32_t base, exponent;
  const char *format;
  if (!interpret(suf, &base, &exponent, &format))
    return -1;
  q->format = format;
  int32_t precision = 0, scale = 0;
  int64_t mantissa = 1;
  if (base == 10) {
    scale = exponent;
    precision = 18 - (int32_t)(strlen(num) + strlen(denom));
  } else if (exponent >= 0 && !*denom) {
    mantissa = (int64_t)1 << exponent;
    precision =
        15 - (int32_t)strlen(num) - (int32_t)((float)exponent * 3 / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= (int32_t)strlen(denom);
    if (scale >= -9) {
      char shifted[128];
      snprintf(shifted, sizeof shifted, "%s%s", num, denom);
      char *e;
      errno = 0;
      long long value = strtoll(shifted, &e, 10);
      if (*e || errno)
        return -1;
      int64_t result;
      if (!__builtin_mul_overflow((int64_t)value, mantissa, &result)) {
        if (!positive)
          result = -result;
        q->value = result;
        q->scale = scale;
        q->fast = true;
        size_t sl = strlen(shifted);
        bool canonical;
        if (base == 2)
          canonical = exponent % 10 == 0 && (value & 0x07) != 0;
        else
          canonical = scale % 3 == 0 &&
                      !(sl >= 3 && streq(shifted + sl - 3, "000")) &&
                      shifted[0] != '0';
        if (canonical)
          snprintf(q->s, sizeof q->s, "%s", str);
        return 0;
      }
    }
  }
  /* The inf.Dec path: the exact value rounded up to nano units (what
   * inf.Dec holds), kept as nano units so that its canonical text is
   * right; kube-controller-manager re-parses that text. */
  q->fast = false;
  __int128 v = 0;
  const char *digits[2] = {num, denom};
  for (int d = 0; d < 2; d++)
    for (const char *c = digits[d]; *c; c++) {
      v = v * 10 + (*c - '0');
      if (v > ((__int128)1 << 100))
        return -1;
    }
  int32_t dscale = -(int32_t)strlen(denom); /* v * 10^dscale */
  if (base == 10)
    dscale += exponent;
  else
    for (int32_t i = 0; i < exponent; i++)
      if ((v *= 2) > ((__int128)1 << 110))
        return -1;
  /* to nano units, rounding away from zero */
  int32_t shift = dscale + 9;
  for (; shift > 0; shift--)
    if ((v *= 10) > ((__int128)1 << 120))
      return -1;
  bool frac = false;
  for (; shift < 0; shift++) {
    frac = frac || v % 10;
    v /= 10;
  }
  if (frac)
    v++;
  bool below_one = v > 0 && v < 1000000000;
  int32_t nscale = -9;
  while (v != 0 && v % 10 == 0) {
    v /= 10;
    nscale++;
  }
  if (v > INT64_MAX)
    return -1;
  q->value = (int64_t)(positive ? v : -v);
  q->scale = nscale;
  if (streq(format, "BinarySI") && below_one)
    q->format = "DecimalSI";
  return 0;
}

static void remove_factors(int64_t value, int64_t base, int64_t *res,
                           int32_t *times) {
  *times = 0;
  bool neg = value < 0;
  int64_t r = neg ? -value : value;
  while (r >= base && r % base == 0) {
    (*times)++;
    r /= base;
  }
  *res = neg ? -r : r;
}

/* value * 10^scale as an int64 (scale >= 0), false on overflow. */
static bool scaled_int(const struct ctl_goquantity *q, int64_t *out) {
  int64_t v = q->value;
  for (int32_t i = 0; i < q->scale; i++)
    if (__builtin_mul_overflow(v, (int64_t)10, &v))
      return false;
  *out = v;
  return true;
}

char *ctl_goquantity_string(const struct ctl_goquantity *q, char *buf,
                            size_t len) {
  if (q->s[0]) {
    snprintf(buf, len, "%s", q->s);
    return buf;
  }
  if (q->value == 0) {
    snprintf(buf, len, "0");
    return buf;
  }
  const char *format = q->format;
  int64_t whole = 0;
  if (streq(format, "BinarySI")) {
    bool exact = true;
    if (q->scale >= 0) {
      exact = scaled_int(q, &whole);
    } else {
      int64_t v = q->value;
      for (int32_t i = q->scale; i < 0 && exact; i++) {
        exact = v % 10 == 0;
        v /= 10;
      }
      whole = v;
    }
    if (!exact || (whole > -1024 && whole < 1024))
      format = "DecimalSI";
  } else if (!streq(format, "DecimalSI") && !streq(format, "DecimalExponent")) {
    format = "DecimalExponent";
  }
  if (streq(format, "BinarySI")) {
    int64_t amount;
    int32_t times;
    remove_factors(whole, 1024, &amount, &times);
    const char *suf = "";
    for (size_t i = 0; i < ARRAY_SIZE(bin_suffixes); i++)
      if (bin_suffixes[i].exp == times * 10)
        suf = bin_suffixes[i].s;
    snprintf(buf, len, "%lld%s", (long long)amount, suf);
    return buf;
  }
  int64_t amount;
  int32_t times, exponent = q->scale;
  remove_factors(q->value, 10, &amount, &times);
  exponent += times;
  switch (exponent % 3) {
  case 1:
  case -2:
    amount *= 10;
    exponent -= 1;
    break;
  case 2:
  case -1:
    amount *= 100;
    exponent -= 2;
    break;
  }
  if (streq(format, "DecimalExponent")) {
    if (exponent)
      snprintf(buf, len, "%llde%d", (long long)amount, exponent);
    else
      snprintf(buf, len, "%lld", (long long)amount);
    return buf;
  }
  const char *suf = "";
  for (size_t i = 0; i < ARRAY_SIZE(dec_suffixes); i++)
    if (dec_suffixes[i].exp == exponent)
      suf = dec_suffixes[i].s;
  snprintf(buf, len, "%lld%s", (long long)amount, suf);
  return buf;
}

char *ctl_quantity_canonical(const char *s, kube_error_t *err) {
  struct ctl_goquantity q;
  char buf[96];
  if (!s || ctl_goquantity_parse(s, &q) < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid quantity %s",
                   s ? s : "(null)");
    return NULL;
  }
  char *out = strdup(ctl_goquantity_string(&q, buf, sizeof buf));
  if (!out)
    kube_make_oom(err);
  return out;
}

/* ------------------------------------------------------------------------ */
/* go-spew                                                                   */
/* ------------------------------------------------------------------------ */

static bool is_null(json_object *v) {
  return !v || json_object_is_type(v, json_type_null);
}

static void print_value(kube_strbuf_t *sb, const char *type, json_object *v,
                        bool show_type);

static void print_quantity(kube_strbuf_t *sb, json_object *v) {
  struct ctl_goquantity q = {.format = "", .fast = true};
  if (!is_null(v)) {
    /* What the API server sends is the canonical text; kube-controller-
     * manager parses that. */
    char canon[96];
    const char *text = json_object_get_string(v);
    struct ctl_goquantity first;
    if (text && ctl_goquantity_parse(text, &first) == 0 &&
        ctl_goquantity_parse(ctl_goquantity_string(&first, canon, sizeof canon),
                             &q) == 0) {
      /* parsed */
    } else if (text) {
      ctl_goquantity_parse(text, &q);
    }
  }
  kube_strbuf_printf(sb,
                     "{i:(resource.int64Amount){value:(int64)%lld "
                     "scale:(resource.Scale)%d} "
                     "d:(resource.infDecAmount){Dec:(*inf.Dec)<nil>} "
                     "s:(string)%s Format:(resource.Format)%s}",
                     (long long)q.value, q.scale, q.s, q.format);
}

static void print_intstr(kube_strbuf_t *sb, json_object *v) {
  if (json_object_is_type(v, json_type_string))
    kube_strbuf_printf(
        sb, "{Type:(intstr.Type)1 IntVal:(int32)0 StrVal:(string)%s}",
        json_object_get_string(v));
  else
    kube_strbuf_printf(sb,
                       "{Type:(intstr.Type)0 IntVal:(int32)%d StrVal:(string)}",
                       is_null(v) ? 0 : (int32_t)json_object_get_int64(v));
}

/* metav1.Time: templates carry a null creationTimestamp, the zero time.
 * (A set time would print its monotonic and location internals, which
 * depend on the machine; none of the fields hashed is ever set.) */
static void print_time(kube_strbuf_t *sb, json_object *v) {
  int64_t sec = 0, nsec = 0;
  if (!is_null(v)) {
    int64_t ns = ctl_time_ns(json_object_get_string(v));
    sec = ns / 1000000000 + 62135596800LL; /* since year 1 */
    nsec = ns % 1000000000;
  }
  kube_strbuf_printf(sb,
                     "{Time:(time.Time){wall:(uint64)%lld ext:(int64)%lld "
                     "loc:(*time.Location)<nil>}}",
                     (long long)nsec, (long long)(nsec || sec ? sec : 0));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_map(kube_strbuf_t *sb, const char *vtype, json_object *v) {
  size_t n = (size_t)json_object_object_length(v);
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  if (!keys) {
    sb->oom = true;
    return;
  }
  size_t i = 0;
  json_object_object_foreach(v, k, val) {
    (void)val;
    keys[i++] = k;
  }
  qsort(keys, n, sizeof *keys, cmp_str);
  kube_strbuf_append(sb, "map[");
  for (i = 0; i < n; i++) {
    if (i)
      kube_strbuf_append_char(sb, ' ');
    kube_strbuf_append(sb, keys[i]);
    kube_strbuf_append_char(sb, ':');
    print_value(sb, vtype, cj(v, keys[i]), false);
  }
  kube_strbuf_append_char(sb, ']');
  free(keys);
}

static void print_struct(kube_strbuf_t *sb, const struct gstruct *s,
                         json_object *v) {
  kube_strbuf_append_char(sb, '{');
  for (size_t i = 0; i < s->n; i++) {
    const struct gfield *f = &s->f[i];
    if (i)
      kube_strbuf_append_char(sb, ' ');
    kube_strbuf_append(sb, f->name);
    kube_strbuf_append_char(sb, ':');
    print_value(sb, f->type, f->json ? cj(v, f->json) : v, true);
  }
  kube_strbuf_append_char(sb, '}');
}

static void print_value(kube_strbuf_t *sb, const char *type, json_object *v,
                        bool show_type) {
  if (type[0] == '*') {
    if (is_null(v)) {
      if (show_type)
        kube_strbuf_printf(sb, "(%s)", type);
      kube_strbuf_append(sb, "<nil>");
      return;
    }
    if (show_type)
      kube_strbuf_printf(sb, "(%s)", type);
    print_value(sb, type + 1, v, false);
    return;
  }
  if (show_type)
    kube_strbuf_printf(sb, "(%s)", type);
  if (str_has_prefix(type, "[]")) {
    /* Empty lists decode from protobuf as nil slices. */
    if (!json_object_is_type(v, json_type_array) ||
        !json_object_array_length(v)) {
      kube_strbuf_append(sb, "<nil>");
      return;
    }
    kube_strbuf_append_char(sb, '[');
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      if (i)
        kube_strbuf_append_char(sb, ' ');
      print_value(sb, type + 2, cj_at(v, i), false);
    }
    kube_strbuf_append_char(sb, ']');
    return;
  }
  bool resource_list = streq(type, "v1.ResourceList");
  if (resource_list || str_has_prefix(type, "map[")) {
    if (!json_object_is_type(v, json_type_object) ||
        !json_object_object_length(v)) {
      kube_strbuf_append(sb, "<nil>");
      return;
    }
    const char *vt =
        resource_list ? "resource.Quantity" : strchr(type, ']') + 1;
    print_map(sb, vt, v);
    return;
  }
  if (streq(type, "resource.Quantity")) {
    print_quantity(sb, v);
    return;
  }
  if (streq(type, "intstr.IntOrString")) {
    print_intstr(sb, v);
    return;
  }
  if (streq(type, "v1.Time")) {
    print_time(sb, v);
    return;
  }
  if (streq(type, "bool")) {
    kube_strbuf_append(sb, !is_null(v) && json_object_get_boolean(v) ? "true"
                                                                     : "false");
    return;
  }
  if (streq(type, "int32") || streq(type, "int64") || streq(type, "int")) {
    kube_strbuf_printf(sb, "%lld",
                       is_null(v) ? 0LL : (long long)json_object_get_int64(v));
    return;
  }
  if (strmap_find(&string_types, type)) {
    if (json_object_is_type(v, json_type_string))
      kube_strbuf_append(sb, json_object_get_string(v));
    return;
  }
  const struct gstruct *s = strmap_get(&structs, type);
  if (s) {
    print_struct(sb, s, json_object_is_type(v, json_type_object) ? v : NULL);
    return;
  }
  /* A type libkube does not describe: deterministic, not Go's. */
  log_debug("pod-template-hash: no Go description of %s", type);
  kube_strbuf_append(sb, "{}");
}

char *ctl_template_spew(json_object *tmpl, kube_error_t *err) {
  pthread_once(&types_once, load_types);
  if (!types_ok) {
    kube_make_oom(err);
    return NULL;
  }
  if (!json_object_is_type(tmpl, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the pod template is not an object");
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  print_value(&sb, "v1.PodTemplateSpec", tmpl, true);
  char *out = kube_strbuf_steal(&sb);
  if (!out)
    kube_make_oom(err);
  return out;
}

static uint32_t fnv32a(uint32_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

int ctl_template_hash(json_object *tmpl, const int32_t *collision_count,
                      char *out, size_t len, kube_error_t *err) {
  cleanup_free char *text = ctl_template_spew(tmpl, err);
  if (!text)
    return -1;
  uint32_t h = fnv32a(2166136261u, (const unsigned char *)text, strlen(text));
  if (collision_count) {
    unsigned char b[8] = {0};
    uint32_t c = (uint32_t)*collision_count;
    for (int i = 0; i < 4; i++)
      b[i] = (unsigned char)(c >> (8 * i));
    h = fnv32a(h, b, sizeof b);
  }
  /* rand.SafeEncodeString(fmt.Sprint(hash)) */
  static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
  char digits[16];
  int n = snprintf(digits, sizeof digits, "%u", h);
  if ((size_t)n >= len)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "hash buffer too small");
  for (int i = 0; i < n; i++)
    out[i] = alphanums[(unsigned char)digits[i] % (sizeof alphanums - 1)];
  out[n] = '\0';
  return 0;
}

KUBE_EXPORT int kube_pod_template_hash(const kube_object_t *tmpl,
                                       const int32_t *collision_count,
                                       char *out, size_t len,
                                       kube_error_t *err) {
  if (!tmpl || !out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a hash needs a template and a buffer");
  return ctl_template_hash(kube_object_json(tmpl), collision_count, out, len,
                           err);
}
