/* SPDX-License-Identifier: Apache-2.0 */
/* kube run NAME --image=IMAGE [--port=P] [-- ARGS]: create a Pod. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_run(int argc, char **argv) {
  const char *image = NULL, *labels = NULL, *restart = NULL, *pull = NULL;
  const char *output = NULL, *dry_run_v = NULL, *port_s = NULL;
  bool dry_run_set = false, command = false;
  struct cli_strv env = {0};
  const struct cli_flag flags[] = {
      {"image", 0, CLI_STRING, &image, NULL},
      {"port", 0, CLI_STRING, &port_s, NULL},
      {"labels", 'l', CLI_STRING, &labels, NULL},
      {"env", 0, CLI_STRINGS, &env, NULL},
      {"restart", 0, CLI_STRING, &restart, NULL},
      {"image-pull-policy", 0, CLI_STRING, &pull, NULL},
      {"command", 0, CLI_BOOL, &command, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, dashdash = -1, rc = 1;
  const char **label_items = NULL;
  char *label_copy = NULL;
  const char **args = NULL;
  kube_output_t out;
  const char *dry_run;
  kube_object_t *pod = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, &dashdash) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &out) < 0)
    goto out;
  if (npos < 1 || dashdash == 0) {
    rc = cli_fail("NAME is required for run");
    goto out;
  }
  if (!image) {
    rc = cli_fail("required flag(s) \"image\" not set");
    goto out;
  }
  int64_t port = 0;
  if (port_s) {
    char *end;
    port = strtol(port_s, &end, 10);
    if (!*port_s || *end || port < 1 || port > 65535) {
      rc = cli_fail("invalid port \"%s\"", port_s);
      goto out;
    }
  }
  if (restart && !streq(restart, "Always") && !streq(restart, "OnFailure") &&
      !streq(restart, "Never")) {
    rc = cli_fail("invalid restart policy: %s", restart);
    goto out;
  }
  if (labels) {
    label_copy = strdup(labels);
    label_items = calloc(strlen(labels) + 2, sizeof *label_items);
    if (!label_copy || !label_items)
      goto oom;
    size_t k = 0;
    char *save = NULL;
    for (char *p = strtok_r(label_copy, ",", &save); p;
         p = strtok_r(NULL, ",", &save))
      label_items[k++] = p;
  }
  /* Arguments after NAME (and after "--") become the container's args. */
  int first = dashdash >= 0 ? dashdash : 1;
  if (first < npos) {
    args = calloc((size_t)(npos - first) + 1, sizeof *args);
    if (!args)
      goto oom;
    for (int i = first; i < npos; i++)
      args[i - first] = pos[i];
  } else if (command) {
    rc = cli_fail("--command requires arguments after --");
    goto out;
  }
  kube_generate_options_t g = {
      .struct_size = sizeof g,
      .name = pos[0],
      .image = image,
      .port = (int32_t)port,
      .labels = label_items,
      .env = env.v,
      .args = args,
      .command = command,
      .restart_policy = restart,
      .image_pull_policy = pull,
  };
  pod = kube_generate_pod(&g, &err);
  if (!pod) {
    rc = cli_report(&err);
    goto out;
  }
  const kube_kind_t *k = kube_kind_by_kind("v1", "Pod");
  if (streq(dry_run, "client")) {
    rc = cli_print_result(pod, k, "created", &out, dry_run);
    goto out;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run = streq(dry_run, "server"),
                                    .grace_period = -1};
  kube_object_t *res =
      kube_client_create(c, k, cli_namespace(), pod, &wo, &err);
  if (!res) {
    rc = cli_report(&err);
    goto out;
  }
  rc = cli_print_result(res, k, "created", &out, dry_run);
  kube_object_free(res);
  goto out;
oom:
  rc = cli_fail("out of memory");
out:
  kube_object_free(pod);
  free(label_copy);
  free(label_items);
  free(args);
  free(env.v);
  free(pos);
  return rc;
}
