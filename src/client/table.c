/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl's table printer over server-side Tables: columns padded like Go's
 * tabwriter as kubectl configures it (min width 6, padding 3, the last
 * column unpadded, widths remembered between flushes for `get -w`).
 */
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

#define MIN_WIDTH 6
#define PADDING 3

struct kube_table_printer {
  int flags;
  bool have_columns;
  size_t n_cols;  /* columns shown */
  char **headers; /* n_cols */
  int *source;    /* index into the Table's cells, or -1 namespace, -2 labels */
  size_t n_rows, cap_rows;
  char ***rows;      /* n_rows x n_cols */
  size_t printed;    /* rows already rendered by render_new */
  char **label_cols; /* -L keys (owned), NULL-terminated */
  size_t n_label_cols;
  size_t *widths; /* remembered widths (render_new) */
  bool header_printed;
};

enum { SRC_NAMESPACE = -1, SRC_LABELS = -2, SRC_EVENT = -3 };
/* Sources <= SRC_LABEL_COL0 are -L label columns. */
#define SRC_LABEL_COL0 (-100)

KUBE_EXPORT kube_table_printer_t *kube_table_printer_new(int flags) {
  kube_table_printer_t *p = calloc(1, sizeof *p);
  if (p)
    p->flags = flags;
  return p;
}

static void free_row(char **row, size_t n) {
  if (!row)
    return;
  for (size_t i = 0; i < n; i++)
    free(row[i]);
  free(row);
}

KUBE_EXPORT void kube_table_printer_free(kube_table_printer_t *p) {
  if (!p)
    return;
  free_row(p->headers, p->n_cols);
  for (size_t i = 0; i < p->n_rows; i++)
    free_row(p->rows[i], p->n_cols);
  free(p->rows);
  free(p->source);
  free(p->widths);
  free_row(p->label_cols, p->n_label_cols);
  free(p);
}

KUBE_EXPORT int kube_table_printer_set_label_columns(kube_table_printer_t *p,
                                                     const char *const *keys,
                                                     kube_error_t *err) {
  if (p->have_columns)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "label columns must be set before rows are added");
  free_row(p->label_cols, p->n_label_cols);
  p->label_cols = NULL;
  p->n_label_cols = 0;
  size_t n = 0;
  while (keys && keys[n])
    n++;
  if (n == 0)
    return 0;
  p->label_cols = calloc(n, sizeof *p->label_cols);
  if (!p->label_cols)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++)
    if (!(p->label_cols[i] = strdup(keys[i]))) {
      free_row(p->label_cols, i);
      p->label_cols = NULL;
      return kube_make_oom(err);
    }
  p->n_label_cols = n;
  return 0;
}

KUBE_EXPORT size_t kube_table_printer_rows(const kube_table_printer_t *p) {
  return p->n_rows;
}

static char *upper_dup(const char *s) {
  char *u = strdup(s);
  if (u)
    for (char *q = u; *q; q++)
      if (*q >= 'a' && *q <= 'z')
        *q = (char)(*q - 'a' + 'A');
  return u;
}

static int setup_columns(kube_table_printer_t *p, json_object *defs,
                         kube_error_t *err) {
  size_t n = json_object_array_length(defs);
  p->headers = calloc(n + 3 + p->n_label_cols, sizeof *p->headers);
  p->source = calloc(n + 3 + p->n_label_cols, sizeof *p->source);
  if (!p->headers || !p->source)
    return kube_make_oom(err);
  size_t k = 0;
  if (p->flags & KUBE_TABLE_EVENT) {
    p->headers[k] = strdup("EVENT");
    p->source[k++] = SRC_EVENT;
  }
  if (p->flags & KUBE_TABLE_NAMESPACE) {
    p->headers[k] = strdup("NAMESPACE");
    p->source[k++] = SRC_NAMESPACE;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *d = json_object_array_get_idx(defs, i), *v;
    int prio = json_object_object_get_ex(d, "priority", &v)
                   ? json_object_get_int(v)
                   : 0;
    if (prio != 0 && !(p->flags & KUBE_TABLE_WIDE))
      continue;
    const char *name = json_object_object_get_ex(d, "name", &v)
                           ? json_object_get_string(v)
                           : "";
    p->headers[k] = upper_dup(name);
    p->source[k++] = (int)i;
  }
  for (size_t i = 0; i < p->n_label_cols; i++) {
    /* kubectl names the column after the key's last path segment. */
    const char *slash = strrchr(p->label_cols[i], '/');
    p->headers[k] = upper_dup(slash ? slash + 1 : p->label_cols[i]);
    p->source[k++] = SRC_LABEL_COL0 - (int)i;
  }
  if (p->flags & KUBE_TABLE_SHOW_LABELS) {
    p->headers[k] = strdup("LABELS");
    p->source[k++] = SRC_LABELS;
  }
  p->n_cols = k;
  for (size_t i = 0; i < k; i++)
    if (!p->headers[i])
      return kube_make_oom(err);
  p->have_columns = true;
  return 0;
}

/* "a=b,c=d" sorted by key, or "<none>" (labels.FormatLabels). */
static char *format_labels(json_object *labels) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_json_format_labels(&sb, labels, "=", ",");
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<none>");
  return kube_strbuf_steal(&sb);
}

static char *format_cell(json_object *cell) {
  if (!cell)
    return strdup("<none>");
  switch (json_object_get_type(cell)) {
  case json_type_string:
    return strdup(json_object_get_string(cell));
  case json_type_boolean:
    return strdup(json_object_get_boolean(cell) ? "true" : "false");
  case json_type_array:
  case json_type_object:
    return strdup(json_object_to_json_string_ext(cell, JSON_C_TO_STRING_PLAIN));
  default:
    return strdup(json_object_get_string(cell));
  }
}

static int add_rows(kube_table_printer_t *p, const kube_object_t *table,
                    const char *kind_prefix, const char *event,
                    kube_error_t *err);

KUBE_EXPORT int kube_table_printer_add(kube_table_printer_t *p,
                                       const kube_object_t *table,
                                       const char *kind_prefix,
                                       kube_error_t *err) {
  return add_rows(p, table, kind_prefix, "", err);
}

KUBE_EXPORT int kube_table_printer_add_event(kube_table_printer_t *p,
                                             const kube_object_t *table,
                                             const char *kind_prefix,
                                             const char *event,
                                             kube_error_t *err) {
  return add_rows(p, table, kind_prefix, event ? event : "", err);
}

static int add_rows(kube_table_printer_t *p, const kube_object_t *table,
                    const char *kind_prefix, const char *event,
                    kube_error_t *err) {
  json_object *t = kube_object_json(table), *defs, *rows;
  const char *kind = kube_json_get_string(t, "kind");
  if (!kind || !streq(kind, "Table") ||
      !json_object_object_get_ex(t, "columnDefinitions", &defs) ||
      !json_object_is_type(defs, json_type_array))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the server did not return a Table");
  if (!p->have_columns && setup_columns(p, defs, err) < 0)
    return -1;
  if (!json_object_object_get_ex(t, "rows", &rows) ||
      !json_object_is_type(rows, json_type_array))
    return 0;
  for (size_t r = 0; r < json_object_array_length(rows); r++) {
    json_object *row = json_object_array_get_idx(rows, r), *cells, *obj = NULL;
    if (!json_object_object_get_ex(row, "cells", &cells) ||
        !json_object_is_type(cells, json_type_array))
      continue;
    json_object_object_get_ex(row, "object", &obj);
    char **out = calloc(p->n_cols, sizeof *out);
    if (!out)
      return kube_make_oom(err);
    bool oom = false;
    for (size_t i = 0; i < p->n_cols; i++) {
      int src = p->source[i];
      if (src == SRC_EVENT) {
        out[i] = strdup(event);
      } else if (src == SRC_NAMESPACE) {
        const char *ns =
            obj ? kube_json_get_string(obj, "metadata.namespace") : NULL;
        out[i] = strdup(ns ? ns : "");
      } else if (src <= SRC_LABEL_COL0) {
        json_object *labels =
                        obj ? kube_json_get(obj, "metadata.labels") : NULL,
                    *lv = NULL;
        if (labels && json_object_is_type(labels, json_type_object))
          json_object_object_get_ex(labels, p->label_cols[SRC_LABEL_COL0 - src],
                                    &lv);
        out[i] = strdup(lv ? json_object_get_string(lv) : "");
      } else if (src == SRC_LABELS) {
        out[i] =
            format_labels(obj ? kube_json_get(obj, "metadata.labels") : NULL);
      } else {
        json_object *cell = json_object_array_get_idx(cells, (size_t)src);
        out[i] = format_cell(cell);
        /* The NAME column is the one the first column definition with
         * format "name" describes; kubectl prefixes it with the kind. */
        if (out[i] && (p->flags & KUBE_TABLE_KIND_PREFIX) && kind_prefix &&
            src == 0) {
          char *pref = NULL;
          if (asprintf(&pref, "%s/%s", kind_prefix, out[i]) < 0)
            pref = NULL;
          free(out[i]);
          out[i] = pref;
        }
      }
      if (!out[i])
        oom = true;
    }
    if (!oom && p->n_rows == p->cap_rows) {
      size_t nc = p->cap_rows ? p->cap_rows * 2 : 16;
      char ***nr = realloc(p->rows, nc * sizeof *nr);
      if (nr) {
        p->rows = nr;
        p->cap_rows = nc;
      } else {
        oom = true;
      }
    }
    if (oom) {
      free_row(out, p->n_cols);
      return kube_make_oom(err);
    }
    p->rows[p->n_rows++] = out;
  }
  return 0;
}

/* Display width: UTF-8 code points. */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80)
      w++;
  return w;
}

static void emit_line(kube_strbuf_t *sb, char **cells, size_t n,
                      const size_t *widths) {
  for (size_t i = 0; i < n; i++) {
    kube_strbuf_append(sb, cells[i]);
    if (i + 1 < n)
      for (size_t w = text_width(cells[i]); w < widths[i]; w++)
        kube_strbuf_append_char(sb, ' ');
  }
  kube_strbuf_append_char(sb, '\n');
}

static char *render(kube_table_printer_t *p, size_t from, bool remember,
                    bool header) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  if (from >= p->n_rows)
    return kube_strbuf_steal(&sb);
  size_t *widths = calloc(p->n_cols ? p->n_cols : 1, sizeof *widths);
  if (!widths) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  for (size_t i = 0; i < p->n_cols; i++) {
    size_t w = header ? text_width(p->headers[i]) : 0;
    for (size_t r = from; r < p->n_rows; r++) {
      size_t cw = text_width(p->rows[r][i]);
      if (cw > w)
        w = cw;
    }
    w += PADDING;
    if (w < MIN_WIDTH)
      w = MIN_WIDTH;
    if (remember && p->widths && p->widths[i] > w)
      w = p->widths[i];
    widths[i] = w;
  }
  if (header)
    emit_line(&sb, p->headers, p->n_cols, widths);
  for (size_t r = from; r < p->n_rows; r++)
    emit_line(&sb, p->rows[r], p->n_cols, widths);
  if (remember) {
    free(p->widths);
    p->widths = widths;
  } else {
    free(widths);
  }
  return kube_strbuf_steal(&sb);
}

KUBE_EXPORT char *kube_table_printer_render(const kube_table_printer_t *p) {
  return render((kube_table_printer_t *)p, 0, false,
                !(p->flags & KUBE_TABLE_NO_HEADERS));
}

KUBE_EXPORT char *kube_table_printer_render_new(kube_table_printer_t *p) {
  bool header = !p->header_printed && !(p->flags & KUBE_TABLE_NO_HEADERS);
  size_t from = p->printed;
  if (from >= p->n_rows)
    return strdup("");
  char *s = render(p, from, true, header);
  if (s) {
    p->printed = p->n_rows;
    p->header_printed = true;
  }
  return s;
}
