/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Go's text/tabwriter column algorithm (used by kubectl describe): cells end
 * with '\t'; consecutive lines that have a cell in a column form a block
 * whose width is the widest cell plus padding.
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "core/util.h"

void client_tabw_init(struct client_tabw *t, size_t minwidth, size_t padding) {
  memset(t, 0, sizeof *t);
  t->minwidth = minwidth;
  t->padding = padding;
}

void client_tabw_printf(struct client_tabw *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kube_strbuf_vprintf(&t->text, fmt, ap);
  va_end(ap);
}

struct cell {
  const char *s;
  size_t len, width;
};

struct line {
  struct cell *cells;
  size_t n; /* the last cell is the unterminated tail */
};

static size_t width_of(const char *s, size_t len) {
  size_t w = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80)
      w++;
  return w;
}

struct ctx {
  struct line *lines;
  size_t *widths, nwidths;
  size_t minwidth, padding;
  kube_strbuf_t *out;
};

static void write_lines(struct ctx *c, size_t l0, size_t l1) {
  for (size_t i = l0; i < l1; i++) {
    struct line *ln = &c->lines[i];
    for (size_t j = 0; j < ln->n; j++) {
      struct cell *cl = &ln->cells[j];
      kube_strbuf_append_len(c->out, cl->s, cl->len);
      if (j < c->nwidths && j + 1 < ln->n)
        for (size_t w = cl->width; w < c->widths[j]; w++)
          kube_strbuf_append_char(c->out, ' ');
    }
    kube_strbuf_append_char(c->out, '\n');
  }
}

static void format(struct ctx *c, size_t line0, size_t line1) {
  size_t column = c->nwidths;
  for (size_t this = line0; this < line1; this ++) {
    if (column + 1 >= c->lines[this].n)
      continue;
    write_lines(c, line0, this);
    line0 = this;
    size_t width = c->minwidth;
    for (; this < line1; this ++) {
      struct line *ln = &c->lines[this];
      if (column + 1 >= ln->n)
        break;
      size_t w = ln->cells[column].width + c->padding;
      if (w > width)
        width = w;
    }
    c->widths[c->nwidths++] = width;
    format(c, line0, this);
    c->nwidths--;
    /* `this` has no cell in this column: the loop's increment skips it,
     * as Go's tabwriter does. */
    line0 = this;
  }
  write_lines(c, line0, line1);
}

char *client_tabw_render(struct client_tabw *t) {
  kube_strbuf_t out = KUBE_STRBUF_INIT;
  kube_strbuf_append(&out, "");
  const char *text = t->text.data ? t->text.data : "";
  size_t nlines = 0, maxcells = 1;
  for (const char *p = text; *p; p++)
    nlines += *p == '\n';
  if (t->text.len && text[t->text.len - 1] != '\n')
    nlines++;
  struct line *lines = calloc(nlines + 1, sizeof *lines);
  size_t li = 0;
  for (const char *p = text; lines && *p && li < nlines; li++) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    size_t ncells = 1;
    for (size_t i = 0; i < len; i++)
      ncells += p[i] == '\t';
    if (ncells > maxcells)
      maxcells = ncells;
    lines[li].cells = calloc(ncells, sizeof(struct cell));
    lines[li].n = ncells;
    size_t k = 0;
    const char *s = p;
    for (size_t i = 0; lines[li].cells && i <= len; i++) {
      if (i == len || p[i] == '\t') {
        lines[li].cells[k].s = s;
        lines[li].cells[k].len = (size_t)(p + i - s);
        lines[li].cells[k].width = width_of(s, lines[li].cells[k].len);
        k++;
        s = p + i + 1;
      }
    }
    p = e ? e + 1 : p + len;
  }
  struct ctx c = {lines,      calloc(maxcells + 1, sizeof(size_t)),
                  0,          t->minwidth,
                  t->padding, &out};
  if (lines && c.widths)
    format(&c, 0, li);
  for (size_t i = 0; lines && i < li; i++)
    free(lines[i].cells);
  free(lines);
  free(c.widths);
  kube_strbuf_clear(&t->text);
  return kube_strbuf_steal(&out);
}
