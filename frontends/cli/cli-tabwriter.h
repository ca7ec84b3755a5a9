/* SPDX-License-Identifier: Apache-2.0 */
/* A Go text/tabwriter work-alike for kubectl describe's layout. */
#ifndef KUBE_CLI_TABWRITER_H
#define KUBE_CLI_TABWRITER_H

#include <stdarg.h>
#include <stddef.h>

#include <libkube/core.h>

struct tabw {
  kube_strbuf_t text;
  size_t minwidth, padding;
};

void tabw_init(struct tabw *t, size_t minwidth, size_t padding);
void tabw_printf(struct tabw *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Align everything written so far; owned string.  Resets t. */
char *tabw_render(struct tabw *t);

#endif
