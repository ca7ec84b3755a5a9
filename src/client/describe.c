/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl describe: the entry point and what every describer shares
 * (the prefix writer, labels, annotations, taints, tolerations, events).
 * The layouts follow kubectl 1.32's describers line by line; the texts are
 * compared with the real kubectl in tests/unit/client.
 */
#include <stdarg.h>

#include "client/describe.h"
#include "core/util.h"

void client_dw(struct describe *d, int level, const char *fmt, ...) {
  for (int i = 0; i < level; i++)
    client_tabw_printf(&d->t, "  ");
  va_list ap;
  va_start(ap, fmt);
  kube_strbuf_vprintf(&d->t.text, fmt, ap);
  va_end(ap);
}

const char *client_dstr(json_object *o, const char *path) {
  const char *s = o ? kube_json_get_string(o, path) : NULL;
  return s ? s : "";
}

int64_t client_dint(json_object *o, const char *path, int64_t def) {
  json_object *v = o ? kube_json_get(o, path) : NULL;
  if (!v || json_object_is_type(v, json_type_null))
    return def;
  return json_object_get_int64(v);
}

bool client_dbool(json_object *o, const char *path) {
  json_object *v = o ? kube_json_get(o, path) : NULL;
  return v && json_object_get_boolean(v);
}

const char *client_dtime(json_object *o, const char *path, char *buf,
                         size_t len) {
  const char *s = o ? kube_json_get_string(o, path) : NULL;
  struct timespec ts;
  if (!s || kube_time_parse(s, &ts, NULL) < 0) {
    /* Go formats a zero metav1.Time (UTC) this way. */
    snprintf(buf, len, "Mon, 01 Jan 0001 00:00:00 +0000");
    return buf;
  }
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

const char *client_dage(struct describe *d, json_object *o, const char *path,
                        char *buf, size_t len) {
  const char *s = o ? kube_json_get_string(o, path) : NULL;
  struct timespec ts;
  if (!s || kube_time_parse(s, &ts, NULL) < 0) {
    snprintf(buf, len, "<unknown>");
    return buf;
  }
  return kube_time_age(ts.tv_sec, d->now, buf, len);
}

const char *client_dquantity(json_object *v, char *buf, size_t len) {
  const char *s = json_object_get_string(v);
  kube_quantity_t q;
  if (s && kube_quantity_parse(s, &q, NULL) == 0)
    return kube_quantity_format(&q, buf, len);
  snprintf(buf, len, "%s", s ? s : "0");
  return buf;
}

const char *client_dintstr(json_object *v, char *buf, size_t len) {
  if (json_object_is_type(v, json_type_int))
    snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
  else
    snprintf(buf, len, "%s", v ? json_object_get_string(v) : "");
  return buf;
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a map, sorted, without `skip` (may be NULL).  Owned array
 * of borrowed keys; *n its length. */
static const char **sorted_keys(json_object *m, const char *skip, size_t *n) {
  *n = 0;
  if (!json_object_is_type(m, json_type_object))
    return NULL;
  size_t total = (size_t)json_object_object_length(m);
  const char **keys = calloc(total ? total : 1, sizeof *keys);
  if (!keys)
    return NULL;
  json_object_object_foreach(m, k, v) {
    (void)v;
    if (!skip || !streq(k, skip))
      keys[(*n)++] = k;
  }
  qsort(keys, *n, sizeof *keys, cmp_keys);
  return keys;
}

void client_describe_labels(struct describe *d, const char *indent,
                            const char *title, json_object *map) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT, sep = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sep, "\n%s\t", indent);
  kube_json_format_labels(&sb, map, "=", sep.data ? sep.data : "\n\t");
  client_dw(d, 0, "%s%s:\t%s\n", indent, title, sb.len ? sb.data : "<none>");
  kube_strbuf_clear(&sb);
  kube_strbuf_clear(&sep);
}

/* kubectl folds annotations longer than this (key, ": " and value). */
#define MAX_ANNOTATION_LEN 140

void client_describe_annotations(struct describe *d, const char *title,
                                 json_object *map) {
  size_t n;
  const char **keys = sorted_keys(map, KUBE_LAST_APPLIED_ANNOTATION, &n);
  client_dw(d, 0, "%s:\t", title);
  if (n == 0)
    client_dw(d, 0, "<none>\n");
  for (size_t i = 0; i < n; i++) {
    if (i)
      client_dw(d, 0, "\t");
    const char *v =
        json_object_get_string(json_object_object_get(map, keys[i]));
    size_t len = v ? strlen(v) : 0;
    if (len && v[len - 1] == '\n')
      len--;
    if (len + strlen(keys[i]) + 2 <= MAX_ANNOTATION_LEN &&
        !memchr(v ? v : "", '\n', len)) {
      client_dw(d, 0, "%s: %.*s\n", keys[i], (int)len, v ? v : "");
      continue;
    }
    /* One line per line of the value, each cut at 138 bytes. */
    client_dw(d, 0, "%s:\n", keys[i]);
    const char *p = v ? v : "", *end = p + len;
    for (;;) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
      if (l > MAX_ANNOTATION_LEN - 2)
        client_dw(d, 0, "\t  %.*s...\n", MAX_ANNOTATION_LEN - 2, p);
      else
        client_dw(d, 0, "\t  %.*s\n", (int)l, p);
      if (!nl)
        break;
      p = nl + 1;
    }
  }
  free(keys);
}

struct keyed {
  json_object *o;
  const char *key;
  size_t idx;
};

static int cmp_keyed(const void *a, const void *b) {
  const struct keyed *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The elements of an array sorted by a key string (stable).  Owned. */
static struct keyed *
sorted_by(json_object *arr, const char *(*key)(json_object *, char *, size_t),
          char (*bufs)[128], size_t *n) {
  *n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr)
                                                 : 0;
  struct keyed *v = calloc(*n ? *n : 1, sizeof *v);
  for (size_t i = 0; v && i < *n; i++) {
    v[i].o = json_object_array_get_idx(arr, i);
    v[i].key = key(v[i].o, bufs[i], sizeof bufs[i]);
    v[i].idx = i;
  }
  if (v)
    qsort(v, *n, sizeof *v, cmp_keyed);
  return v;
}

static const char *toleration_key(json_object *t, char *buf, size_t len) {
  snprintf(buf, len, "%s", client_dstr(t, "key"));
  return buf;
}

void client_describe_tolerations(struct describe *d, const char *indent,
                                 const char *title, json_object *tols) {
  size_t n = json_object_is_type(tols, json_type_array)
                 ? json_object_array_length(tols)
                 : 0;
  client_dw(d, 0, "%s%s:\t", indent, title);
  if (n == 0) {
    client_dw(d, 0, "<none>\n");
    return;
  }
  char(*bufs)[128] = calloc(n, sizeof *bufs);
  size_t m = 0;
  struct keyed *v = bufs ? sorted_by(tols, toleration_key, bufs, &m) : NULL;
  for (size_t i = 0; v && i < m; i++) {
    json_object *t = v[i].o;
    const char *key = client_dstr(t, "key"), *val = client_dstr(t, "value");
    const char *eff = client_dstr(t, "effect");
    if (i)
      client_dw(d, 0, "%s\t", indent);
    client_dw(d, 0, "%s", key);
    if (*val)
      client_dw(d, 0, "=%s", val);
    if (*eff)
      client_dw(d, 0, ":%s", eff);
    /* operator Exists without a value tolerates everything. */
    if (streq(client_dstr(t, "operator"), "Exists") && !*val)
      client_dw(d, 0, "%sop=Exists", *key || *eff ? " " : "");
    if (kube_json_get(t, "tolerationSeconds"))
      client_dw(d, 0, " for %llds",
                (long long)client_dint(t, "tolerationSeconds", 0));
    client_dw(d, 0, "\n");
  }
  free(v);
  free(bufs);
}

static const char *taint_key(json_object *t, char *buf, size_t len) {
  snprintf(buf, len, "%s,%s", client_dstr(t, "effect"), client_dstr(t, "key"));
  return buf;
}

void client_describe_taints(struct describe *d, const char *title,
                            json_object *taints) {
  size_t n = json_object_is_type(taints, json_type_array)
                 ? json_object_array_length(taints)
                 : 0;
  client_dw(d, 0, "%s:\t", title);
  if (n == 0) {
    client_dw(d, 0, "<none>\n");
    return;
  }
  char(*bufs)[128] = calloc(n, sizeof *bufs);
  size_t m = 0;
  struct keyed *v = bufs ? sorted_by(taints, taint_key, bufs, &m) : NULL;
  for (size_t i = 0; v && i < m; i++) {
    json_object *t = v[i].o;
    const char *val = client_dstr(t, "value");
    /* Taint.ToString: key[=value]:effect */
    client_dw(d, 0, "%s%s%s%s:%s\n", i ? "\t" : "", client_dstr(t, "key"),
              *val ? "=" : "", val, client_dstr(t, "effect"));
  }
  free(v);
  free(bufs);
}

const char *client_describe_controller(json_object *o, char *buf, size_t len) {
  json_object *refs = kube_json_get(o, "metadata.ownerReferences");
  for (size_t i = 0; json_object_is_type(refs, json_type_array) &&
                     i < json_object_array_length(refs);
       i++) {
    json_object *r = json_object_array_get_idx(refs, i);
    if (client_dbool(r, "controller")) {
      snprintf(buf, len, "%s/%s", client_dstr(r, "kind"),
               client_dstr(r, "name"));
      return buf;
    }
  }
  return NULL;
}

kube_object_t *client_describe_list(struct describe *d, const char *av,
                                    const char *kind, const char *ns,
                                    const char *label_selector,
                                    const char *field_selector) {
  const kube_kind_t *k = kube_kind_by_kind(av, kind);
  if (!d->c || !k)
    return NULL;
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = label_selector,
                                   .field_selector = field_selector};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  return kube_client_list(d->c, k, ns, &lo, &err);
}

kube_object_t *client_describe_get(struct describe *d, const char *av,
                                   const char *kind, const char *ns,
                                   const char *name, kube_error_t *err) {
  const kube_kind_t *k = kube_kind_by_kind(av, kind);
  if (!d->c || !k)
    return NULL;
  kube_error_t local = KUBE_ERROR_INIT;
  kube_object_t *o = kube_client_get(d->c, k, ns, name, err ? err : &local);
  kube_error_clear(&local);
  return o;
}

/* ---- events ------------------------------------------------------------ */

struct event_row {
  json_object *e;
  struct timespec last; /* lastTimestamp: the order kubectl sorts by */
  size_t idx;
};

static int cmp_events(const void *a, const void *b) {
  const struct event_row *x = a, *y = b;
  if (x->last.tv_sec != y->last.tv_sec)
    return x->last.tv_sec < y->last.tv_sec ? -1 : 1;
  if (x->last.tv_nsec != y->last.tv_nsec)
    return x->last.tv_nsec < y->last.tv_nsec ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* searchEvents: the field selector kubectl builds from the object's
 * reference (keys sorted, as fields.Set prints them). */
static kube_object_t *search_events(struct describe *d, json_object *o,
                                    const char *kind, const char *uid) {
  const char *ns = DS(o, "metadata.namespace");
  kube_strbuf_t fs = KUBE_STRBUF_INIT;
  if (kind)
    kube_strbuf_printf(&fs, "involvedObject.kind=%s,", kind);
  kube_strbuf_printf(&fs, "involvedObject.name=%s,involvedObject.namespace=%s",
                     client_dstr(o, "metadata.name"), ns ? ns : "");
  if (uid && *uid)
    kube_strbuf_printf(&fs, ",involvedObject.uid=%s", uid);
  kube_object_t *l =
      fs.oom ? NULL
             : client_describe_list(d, "v1", "Event", ns && *ns ? ns : NULL,
                                    NULL, fs.data);
  kube_strbuf_clear(&fs);
  return l;
}

void client_describe_events(struct describe *d, json_object *o,
                            const char *kind) {
  kube_object_t *lists[2] = {
      search_events(d, o, kind, client_dstr(o, "metadata.uid")), NULL};
  /* Node events: the controllers use the node's UID, the kubelet its
   * name; kubectl asks for both. */
  if (kind && streq(kind, "Node"))
    lists[1] = search_events(d, o, kind, client_dstr(o, "metadata.name"));
  size_t n = 0;
  for (int l = 0; l < 2; l++) {
    json_object *items =
        lists[l] ? kube_json_get(kube_object_json(lists[l]), "items") : NULL;
    n += json_object_is_type(items, json_type_array)
             ? json_object_array_length(items)
             : 0;
  }
  if (n == 0) {
    client_dw(d, 0, "Events:\t<none>\n");
    kube_object_free(lists[0]);
    kube_object_free(lists[1]);
    return;
  }
  struct event_row *rows = calloc(n, sizeof *rows);
  size_t k = 0;
  for (int l = 0; rows && l < 2; l++) {
    json_object *items =
        lists[l] ? kube_json_get(kube_object_json(lists[l]), "items") : NULL;
    for (size_t i = 0; json_object_is_type(items, json_type_array) &&
                       i < json_object_array_length(items);
         i++) {
      json_object *e = json_object_array_get_idx(items, i);
      rows[k] = (struct event_row){e, {0, 0}, k};
      const char *last = DS(e, "lastTimestamp");
      if (last)
        kube_time_parse(last, &rows[k].last, NULL);
      k++;
    }
  }
  if (rows)
    qsort(rows, k, sizeof *rows, cmp_events);
  client_dw(d, 0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
  client_dw(d, 1, "----\t------\t----\t----\t-------\n");
  for (size_t i = 0; rows && i < k; i++) {
    json_object *e = rows[i].e;
    char first[32], last[32], interval[96];
    if (DS(e, "eventTime"))
      client_dage(d, e, "eventTime", first, sizeof first);
    else
      client_dage(d, e, "firstTimestamp", first, sizeof first);
    if (kube_json_get(e, "series")) {
      client_dage(d, e, "series.lastObservedTime", last, sizeof last);
      snprintf(interval, sizeof interval, "%s (x%lld over %s)", last,
               (long long)client_dint(e, "series.count", 0), first);
    } else if (client_dint(e, "count", 0) > 1) {
      client_dage(d, e, "lastTimestamp", last, sizeof last);
      snprintf(interval, sizeof interval, "%s (x%lld over %s)", last,
               (long long)client_dint(e, "count", 0), first);
    } else {
      snprintf(interval, sizeof interval, "%s", first);
    }
    const char *from = client_dstr(e, "source.component");
    if (!*from)
      from = client_dstr(e, "reportingComponent");
    /* strings.TrimSpace of the message. */
    const char *msg = client_dstr(e, "message");
    while (*msg == ' ' || *msg == '\t' || *msg == '\n' || *msg == '\r')
      msg++;
    size_t ml = strlen(msg);
    while (ml && strchr(" \t\n\r", msg[ml - 1]))
      ml--;
    client_dw(d, 1, "%s\t%s\t%s\t%s\t%.*s\n", client_dstr(e, "type"),
              client_dstr(e, "reason"), interval, from, (int)ml, msg);
  }
  free(rows);
  kube_object_free(lists[0]);
  kube_object_free(lists[1]);
}

/* ---- entry point --------------------------------------------------------- */

KUBE_EXPORT char *kube_describe_object(kube_client_t *c, const kube_kind_t *k,
                                       const kube_object_t *obj,
                                       const kube_describe_options_t *opts,
                                       kube_error_t *err) {
  kube_describe_options_t o = {0};
  core_opts_copy(&o, opts);
  json_object *root = kube_object_json(obj);
  if (!k)
    k = kube_kind_of_object(obj, err);
  if (!k)
    return NULL;
  if (!json_object_is_type(root, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "cannot describe a non-object"),
           NULL;
  struct describe d = {.c = c, .now = o.now ? o.now : time(NULL)};
  client_tabw_init(&d.t, 0, 2);
  if (!client_describe_kind(&d, k, root))
    client_describe_generic(&d, k, root);
  bool oom = d.t.text.oom;
  char *s = client_tabw_render(&d.t);
  if (!s || oom) {
    free(s);
    return kube_make_oom(err), NULL;
  }
  return s;
}
