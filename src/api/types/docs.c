/* SPDX-License-Identifier: Apache-2.0 */
/* Looking up the generated field descriptions (docs-*.c). */
#include <stdlib.h>
#include <string.h>

#include "api/types/docs.h"

static int cmp(const void *key, const void *elem) {
  const struct api_field_doc *k = key, *e = elem;
  int c = strcmp(k->def, e->def);
  return c ? c : strcmp(k->field, e->field);
}

const char *api_field_doc(const char *def, const char *field) {
  if (!def || !field)
    return NULL;
  static const struct {
    const struct api_field_doc *v;
    const size_t *n;
  } parts[] = {{api_field_docs_0, &api_field_docs_0_len},
               {api_field_docs_1, &api_field_docs_1_len}};
  struct api_field_doc key = {def, field, NULL};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    const struct api_field_doc *d =
        bsearch(&key, parts[i].v, *parts[i].n, sizeof *d, cmp);
    if (d)
      return d->doc;
  }
  return NULL;
}
