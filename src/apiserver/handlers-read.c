/* SPDX-License-Identifier: Apache-2.0 */
/* GET and LIST from the store's cache: selectors, paging, resourceVersion
 * semantics and Table output. */
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"

/* ---- selectors ---- */

int as_filter_parse(const struct req *r, struct filter *f, kube_error_t *err) {
  memset(f, 0, sizeof(*f));
  const char *ls = as_req_query(r, "labelSelector");
  const char *fs = as_req_query(r, "fieldSelector");
  if (ls && *ls) {
    f->labels = kube_label_selector_parse(ls, err);
    if (!f->labels) {
      if (err)
        err->reason = KUBE_REASON_BAD_REQUEST;
      return -1;
    }
  }
  if (fs && *fs) {
    f->fields = kube_field_selector_parse(fs, err);
    if (!f->fields) {
      if (err)
        err->reason = KUBE_REASON_BAD_REQUEST;
      as_filter_clear(f);
      return -1;
    }
    /* Only the fields the kind declares can be selected on, as in
     * Kubernetes (a typo must not silently match nothing). */
    const kube_kind_t *k = r->rt.kind;
    for (size_t i = 0; k && i < f->fields->n; i++) {
      const char *key = f->fields->reqs[i].key;
      bool ok = streq(key, "metadata.name") || streq(key, "metadata.namespace");
      for (const char *const *d = k->selectable_fields; !ok && d && *d; d++)
        ok = streq(*d, key);
      if (!ok) {
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "field label not supported: %s", key);
        as_filter_clear(f);
        return -1;
      }
    }
  }
  return 0;
}

bool as_filter_active(const struct filter *f) {
  return !kube_selector_empty(f->labels) || !kube_selector_empty(f->fields);
}

bool as_filter_match(const struct filter *f, json_object *obj) {
  if (!kube_selector_empty(f->labels) &&
      !kube_selector_matches(f->labels, kube_json_label_lookup, obj))
    return false;
  if (!kube_selector_empty(f->fields) &&
      !kube_selector_matches(f->fields, kube_json_field_lookup, obj))
    return false;
  return true;
}

void as_filter_clear(struct filter *f) {
  kube_selector_free(f->labels);
  kube_selector_free(f->fields);
  f->labels = f->fields = NULL;
}

/* ---- Table ---- */

bool as_accept_table(const struct req *r) {
  return r->accept && strstr(r->accept, "as=Table") != NULL;
}

int as_table_include_mode(const struct req *r) {
  const char *v = as_req_query(r, "includeObject");
  if (v && strcasecmp(v, "None") == 0)
    return INCLUDE_NONE;
  if (v && strcasecmp(v, "Object") == 0)
    return INCLUDE_OBJECT;
  return INCLUDE_METADATA;
}

json_object *as_table_new(const kube_kind_t *k) {
  json_object *t = json_object_new_object();
  json_object_object_add(t, "kind", json_object_new_string("Table"));
  json_object_object_add(t, "apiVersion",
                         json_object_new_string("meta.k8s.io/v1"));
  json_object_object_add(t, "metadata", json_object_new_object());
  json_object *cols = json_object_new_array();
  for (const kube_kind_column_t *c = k->columns; c && c->name; c++) {
    json_object *cd = json_object_new_object();
    json_object_object_add(cd, "name", json_object_new_string(c->name));
    json_object_object_add(
        cd, "type", json_object_new_string(c->type ? c->type : "string"));
    json_object_object_add(cd, "format",
                           json_object_new_string(c->format ? c->format : ""));
    json_object_object_add(
        cd, "description",
        json_object_new_string(c->description ? c->description : ""));
    json_object_object_add(cd, "priority", json_object_new_int(c->priority));
    json_object_array_add(cols, cd);
  }
  json_object_object_add(t, "columnDefinitions", cols);
  json_object_object_add(t, "rows", json_object_new_array());
  return t;
}

void as_table_add_row(json_object *table, const kube_kind_t *k,
                      json_object *obj, time_t now, int include) {
  json_object *rows = NULL;
  json_object_object_get_ex(table, "rows", &rows);
  json_object *row = json_object_new_object();
  json_object *cells = kube_json_table_cells(k, obj, now);
  json_object_object_add(row, "cells", cells ? cells : json_object_new_array());
  as_table_row_object(row, obj, include);
  json_object_array_add(rows, row);
}

void as_table_row_object(json_object *row, json_object *obj, int include) {
  if (include == INCLUDE_OBJECT) {
    json_object_object_add(row, "object", json_object_get(obj));
  } else if (include == INCLUDE_METADATA) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "kind",
                           json_object_new_string("PartialObjectMetadata"));
    json_object_object_add(p, "apiVersion",
                           json_object_new_string("meta.k8s.io/v1"));
    json_object *m = NULL;
    if (json_object_object_get_ex(obj, "metadata", &m))
      json_object_object_add(p, "metadata", json_object_get(m));
    else
      json_object_object_add(p, "metadata", json_object_new_object());
    json_object_object_add(row, "object", p);
  }
}

static void table_set_rv(json_object *t, int64_t rev, const char *cont,
                         size_t remaining) {
  json_object *m = NULL;
  json_object_object_get_ex(t, "metadata", &m);
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)rev);
  json_object_object_add(m, "resourceVersion", json_object_new_string(buf));
  if (cont) {
    json_object_object_add(m, "continue", json_object_new_string(cont));
    if (remaining)
      json_object_object_add(m, "remainingItemCount",
                             json_object_new_int64((int64_t)remaining));
  }
}

/* ---- GET ---- */

void as_handle_get(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *key = as_store_key(k, r->rt.ns, r->rt.name);
  if (!key) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  kube_store_record_t *rec = kube_store_get(r->srv->store, key, &err);
  if (!rec) {
    if (err.reason == KUBE_REASON_NOT_FOUND)
      as_error_not_found(&err, k, r->rt.name);
    as_reply_error(r, &err);
    return;
  }
  if (as_accept_table(r)) {
    json_object *obj = as_record_to_tree_for(rec, k, &err);
    if (!obj) {
      kube_store_record_unref(rec);
      as_reply_error(r, &err);
      return;
    }
    json_object *t = as_table_new(k);
    as_table_add_row(t, k, obj, time(NULL), as_table_include_mode(r));
    table_set_rv(t, rec->mod_revision, NULL, 0);
    json_object_put(obj);
    kube_store_record_unref(rec);
    as_reply_json(r, 200, t);
    return;
  }
  size_t len = 0;
  char *json = as_record_to_json_for(rec, k, &len);
  kube_store_record_unref(rec);
  if (!json) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "cannot encode object");
    return;
  }
  as_reply_json_str(r, 200, json, len);
  free(json);
}

/* ---- LIST ---- */

static char *hex_encode(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n * 2 + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
  out[2 * n] = '\0';
  return out;
}

static char *hex_decode(const char *s) {
  size_t n = strlen(s);
  if (n % 2)
    return NULL;
  char *out = malloc(n / 2 + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) {
      free(out);
      return NULL;
    }
    out[i] = (char)v;
  }
  out[n / 2] = '\0';
  return out;
}

/* Checks resourceVersion / resourceVersionMatch against what the cache can
 * serve: the cache holds only the current state. */
static int check_list_rv(struct req *r, kube_error_t *err) {
  const char *rv = as_req_query(r, "resourceVersion");
  const char *match = as_req_query(r, "resourceVersionMatch");
  if (!rv || !*rv || streq(rv, "0")) {
    if (match && *match && strcasecmp(match, "NotOlderThan") &&
        strcasecmp(match, "Exact"))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid resourceVersionMatch %s", match);
    return 0;
  }
  char *end;
  long long want = strtoll(rv, &end, 10);
  if (*end || want < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid resourceVersion %s", rv);
  int64_t cur = kube_store_revision(r->srv->store);
  if (want > cur)
    return kube_error_set(err, KUBE_REASON_TIMEOUT, 0,
                          "Too large resource version: %lld, current: %lld",
                          want, (long long)cur);
  if (match && strcasecmp(match, "Exact") == 0 && want != cur)
    return kube_error_set(err, KUBE_REASON_EXPIRED, 0,
                          "The resourceVersion for the provided list is too "
                          "old.");
  return 0;
}

void as_handle_list(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  kube_apiserver_t *srv = r->srv;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct filter f;
  if (check_list_rv(r, &err) < 0 || as_filter_parse(r, &f, &err) < 0) {
    as_reply_error(r, &err);
    return;
  }
  size_t limit = 0;
  const char *ls = as_req_query(r, "limit");
  if (ls && *ls) {
    char *end;
    long long l = strtoll(ls, &end, 10);
    if (*end || l < 0) {
      as_filter_clear(&f);
      as_reply_status(r, KUBE_REASON_BAD_REQUEST, "invalid limit %s", ls);
      return;
    }
    limit = (size_t)l;
  }
  cleanup_free char *start = NULL;
  const char *cont = as_req_query(r, "continue");
  cleanup_free char *prefix = as_store_prefix(k, r->rt.ns);
  if (cont && *cont) {
    start = hex_decode(cont);
    if (!start || !prefix || !str_has_prefix(start, prefix)) {
      as_filter_clear(&f);
      as_reply_status(r, KUBE_REASON_BAD_REQUEST, "invalid continue token");
      return;
    }
  }
  bool table = as_accept_table(r);
  bool filtering = as_filter_active(&f);
  bool need_tree = table || filtering;
  int include = as_table_include_mode(r);
  time_t now = time(NULL);
  json_object *tbl = table ? as_table_new(k) : NULL;
  /* Items first, metadata last (it holds the continue token, known only at
   * the end): one buffer, no copy of the items. */
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char apiv[128];
  kube_kind_api_version(k, apiv, sizeof apiv);
  if (!table)
    kube_strbuf_printf(&sb,
                       "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"items\":[",
                       k->list_kind, apiv);
  size_t count = 0;
  int64_t list_rev = kube_store_revision(srv->store);
  cleanup_free char *next_key = NULL;
  size_t remaining = 0;
  /* Filtered lists read chunks until `limit` items matched. */
  for (;;) {
    kube_store_list_t l = {0};
    size_t chunk =
        limit ? (filtering ? (limit > 500 ? limit : 500) : limit - count) : 0;
    if (kube_store_list(srv->store, prefix, start, chunk, &l, &err) < 0) {
      kube_strbuf_clear(&sb);
      if (tbl)
        json_object_put(tbl);
      as_filter_clear(&f);
      as_reply_error(r, &err);
      return;
    }
    list_rev = l.revision;
    size_t i;
    for (i = 0; i < l.n; i++) {
      if (limit && count == limit)
        break;
      const kube_store_record_t *rec = l.items[i];
      if (need_tree) {
        json_object *obj = as_record_to_tree_for(rec, k, NULL);
        if (!obj)
          continue;
        if (filtering && !as_filter_match(&f, obj)) {
          json_object_put(obj);
          continue;
        }
        if (table) {
          as_table_add_row(tbl, k, obj, now, include);
        } else {
          size_t jl = 0;
          const char *js = json_object_to_json_string_length(
              obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
              &jl);
          if (count)
            kube_strbuf_append_char(&sb, ',');
          kube_strbuf_append_len(&sb, js, jl);
        }
        json_object_put(obj);
      } else {
        size_t mark = sb.len;
        if (count)
          kube_strbuf_append_char(&sb, ',');
        if (as_record_append_json_for(&sb, rec, rec->mod_revision, k) < 0) {
          sb.len = mark; /* drop the partial item */
          if (sb.data)
            sb.data[mark] = '\0';
          continue;
        }
      }
      count++;
      free(next_key);
      next_key = strdup(rec->key);
    }
    bool more_in_chunk = i < l.n;
    if (more_in_chunk && filtering && !l.continue_key) {
      /* Only report a continue token when something still matches. */
      more_in_chunk = false;
      for (size_t j = i; j < l.n && !more_in_chunk; j++) {
        json_object *o = as_record_to_tree(l.items[j], NULL);
        more_in_chunk = o && as_filter_match(&f, o);
        if (o)
          json_object_put(o);
      }
    }
    bool more_after = l.continue_key != NULL;
    if (limit && count == limit) {
      if (more_in_chunk || more_after) {
        /* Something follows the last item returned. */
        remaining = filtering ? 0 : (l.n - i) + l.remaining;
      } else {
        free(next_key);
        next_key = NULL;
      }
      kube_store_list_clear(&l);
      break;
    }
    if (!more_after) {
      free(next_key);
      next_key = NULL;
      kube_store_list_clear(&l);
      break;
    }
    free(start);
    start = strdup(l.continue_key);
    kube_store_list_clear(&l);
    if (!start)
      break;
  }
  as_filter_clear(&f);
  cleanup_free char *token = next_key ? hex_encode(next_key) : NULL;
  if (table) {
    table_set_rv(tbl, list_rev, token, remaining);
    kube_strbuf_clear(&sb);
    as_reply_json(r, 200, tbl);
    return;
  }
  kube_strbuf_printf(&sb, "],\"metadata\":{\"resourceVersion\":\"%lld\"",
                     (long long)list_rev);
  if (token) {
    kube_strbuf_printf(&sb, ",\"continue\":\"%s\"", token);
    if (remaining)
      kube_strbuf_printf(&sb, ",\"remainingItemCount\":%zu", remaining);
  }
  kube_strbuf_append(&sb, "}}");
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  size_t total = sb.len;
  as_reply_json_take(r, 200, kube_strbuf_steal(&sb), total);
}
