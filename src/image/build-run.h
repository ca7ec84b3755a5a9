/* SPDX-License-Identifier: Apache-2.0 */
/* RUN containers of the builder (build-run.c).  Internal to the module. */
#ifndef KUBE_IMAGE_BUILD_RUN_H
#define KUBE_IMAGE_BUILD_RUN_H

#include "image/build.h"

typedef struct img_run {
  const char *rootfs; /* the mounted overlay */
  char *const *args;  /* NULL-terminated */
  char *const *env;   /* NULL-terminated "K=V" */
  const char *cwd;
  int64_t uid, gid;
  bool host_network;
  const char *runtime_root; /* runtime state directory */
  const char *id;           /* container id */
  const char *cgroups_path;
  img_progress_t *prog; /* output lines as KUBE_IMAGE_PROGRESS_LOG */
  int exit_code;        /* out: the process's exit code */
  char *tail;           /* out: the last lines of output (owned) */
} img_run_t;

/* Run the container to its end.  -1 only when it could not run at all;
 * a non-zero exit is r->exit_code. */
int img_build_run(img_run_t *r, kube_error_t *err);

#endif /* KUBE_IMAGE_BUILD_RUN_H */
