/* SPDX-License-Identifier: Apache-2.0 */
/* Files embedded in the binary at build time (scripts/embed-files.py). */
#ifndef KUBE_SERVER_ASSETS_H
#define KUBE_SERVER_ASSETS_H

#include <stddef.h>

struct srv_asset {
  const char *name;         /* "index.html" */
  const char *content_type; /* "text/html; charset=utf-8" */
  const unsigned char *data;
  size_t len;
  const char *etag; /* "\"<hash>\"" */
};

/* The dashboard's files (src/dashboard/ui/), ended by an entry with name
 * NULL. */
extern const struct srv_asset srv_dashboard_assets[];

#endif /* KUBE_SERVER_ASSETS_H */
