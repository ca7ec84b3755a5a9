/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube build -t NAME[:TAG] [-f Dockerfile] [--build-arg K=V] [--target S]
 *   [--no-cache] [--network host|none] [--push [--tls-verify=false]] [-q]
 *   CONTEXT
 * --push sends every -t name to its registry afterwards (docker build
 * --push), e.g. -t 127.0.0.1:5000/app:1 to kubed's built-in registry.
 * Docker-like progress ("Step 3/7 : RUN ...", " ---> Using cache").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkube/image.h>

#include "cli.h"
#include "cmd-image.h"

static void progress(const kube_image_progress_t *p, void *ud) {
  bool quiet = *(bool *)ud;
  switch (p->kind) {
  case KUBE_IMAGE_PROGRESS_STEP:
  case KUBE_IMAGE_PROGRESS_LOG:
    if (!quiet && p->message) {
      fputs(p->message, stdout);
      fputc('\n', stdout);
      fflush(stdout);
    }
    break;
  default:
    if (!quiet)
      cli_image_progress(p, NULL);
    break;
  }
}

int cmd_build(int argc, char **argv) {
  const char *data_dir = NULL, *file = NULL, *target = NULL;
  const char *network = "none", *runtime_root = NULL, *cgroup_parent = NULL;
  struct cli_strv tags = {0}, args = {0};
  bool no_cache = false, quiet = false, push = false, tls_verify = true;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"tag", 't', CLI_STRINGS, &tags, NULL},
      {"file", 'f', CLI_STRING, &file, NULL},
      {"build-arg", 0, CLI_STRINGS, &args, NULL},
      {"target", 0, CLI_STRING, &target, NULL},
      {"no-cache", 0, CLI_BOOL, &no_cache, NULL},
      {"network", 0, CLI_STRING, &network, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {"push", 0, CLI_BOOL, &push, NULL},
      {"tls-verify", 0, CLI_BOOL, &tls_verify, NULL},
      {"runtime-root", 0, CLI_STRING, &runtime_root, NULL},
      {"cgroup-parent", 0, CLI_STRING, &cgroup_parent, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  kube_image_build_network_t net = KUBE_IMAGE_BUILD_NETWORK_NONE;
  kube_image_store_t *s = NULL;
  if (npos != 1)
    rc = cli_fail("\"kube build\" requires exactly 1 argument (the context "
                  "directory)");
  else if (!strcmp(network, "host"))
    net = KUBE_IMAGE_BUILD_NETWORK_HOST;
  else if (strcmp(network, "none") && strcmp(network, "default"))
    rc = cli_fail("--network: host or none, not \"%s\"", network);
  else if (push && tags.n == 0)
    rc = cli_fail("--push needs at least one -t NAME to push to");
  if (rc == 0 && !(s = cli_image_store(data_dir)))
    rc = 1;
  if (rc == 0) {
    kube_image_build_options_t o = {.struct_size = sizeof o,
                                    .context_dir = pos[0],
                                    .dockerfile = file,
                                    .tags = tags.v,
                                    .n_tags = tags.n,
                                    .build_args = args.v,
                                    .n_build_args = args.n,
                                    .target = target,
                                    .no_cache = no_cache,
                                    .network = net,
                                    .runtime_root = runtime_root,
                                    .cgroup_parent = cgroup_parent,
                                    .progress = progress,
                                    .userdata = &quiet};
    kube_error_t err = KUBE_ERROR_INIT;
    kube_image_info_t info;
    if (kube_image_build(s, &o, &info, &err) < 0) {
      rc = cli_fail("%s", err.message);
      kube_error_clear(&err);
    } else {
      if (quiet)
        printf("%s\n", info.id);
      kube_image_info_clear(&info);
    }
    for (size_t i = 0; rc == 0 && push && i < tags.n; i++) {
      kube_image_transfer_options_t to = {.struct_size = sizeof to,
                                          .insecure = !tls_verify,
                                          .progress = progress,
                                          .userdata = &quiet};
      char *digest = NULL;
      if (kube_image_push(s, tags.v[i], NULL, &to, &digest, &err) < 0) {
        rc = cli_fail("push %s: %s", tags.v[i], err.message);
        kube_error_clear(&err);
      } else if (!quiet) {
        printf("Pushed %s %s\n", tags.v[i], digest);
      }
      free(digest);
    }
  }
  kube_image_store_free(s);
  free(tags.v);
  free(args.v);
  free(pos);
  return rc;
}
