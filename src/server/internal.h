/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside the server module only (prefix srv_). */
#ifndef KUBE_SERVER_INTERNAL_H
#define KUBE_SERVER_INTERNAL_H

#include <sys/types.h>

#include <libkube/server.h>

#include "core/util.h"

/* files.c */
int srv_mkdir_p(const char *path, mode_t mode, kube_error_t *err);
/* Write `data` to path atomically (temp file, fsync, rename) with mode. */
int srv_write_file(const char *path, const char *data, mode_t mode,
                   kube_error_t *err);
/* The bearer token: `given`, or DIR/token, or a new one written there.
 * Owned. */
char *srv_load_token(const char *dir, const char *given, kube_error_t *err);
/* DIR/tls.crt and DIR/tls.key, generated when missing (owned paths). */
int srv_ensure_cert(const char *dir, char **cert_out, char **key_out,
                    kube_error_t *err);

/* Built-in components (one file each). */
extern const kube_component_ops_t srv_scheduler_ops;
void *srv_scheduler_new(const char *config_file, kube_error_t *err);

#endif /* KUBE_SERVER_INTERNAL_H */
