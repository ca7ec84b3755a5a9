/* SPDX-License-Identifier: Apache-2.0 */
/* kube expose TYPE NAME --port=P [--target-port=T]: create a Service. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_expose(int argc, char **argv) {
  const char *port_s = NULL, *target_port = NULL, *name = NULL, *type = NULL;
  const char *protocol = NULL, *selector = NULL, *output = NULL;
  const char *dry_run_v = NULL, *dry_run;
  bool dry_run_set = false;
  const struct cli_flag flags[] = {
      {"port", 0, CLI_STRING, &port_s, NULL},
      {"target-port", 0, CLI_STRING, &target_port, NULL},
      {"name", 0, CLI_STRING, &name, NULL},
      {"type", 0, CLI_STRING, &type, NULL},
      {"protocol", 0, CLI_STRING, &protocol, NULL},
      {"selector", 0, CLI_STRING, &selector, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_object_t *target = NULL, *svc = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_output_t out;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &out) < 0)
    goto out;
  if (npos == 0) {
    rc = cli_fail("You must provide one or more resources by argument or "
                  "filename.");
    goto out;
  }
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  if (nrefs != 1 || !refs[0].name) {
    rc = cli_fail("expose needs exactly one resource: TYPE NAME or TYPE/NAME");
    goto out;
  }
  int32_t port = 0;
  if (port_s) {
    char *end;
    long v = strtol(port_s, &end, 10);
    if (!*port_s || *end || v < 1 || v > 65535) {
      rc = cli_fail("invalid port \"%s\"", port_s);
      goto out;
    }
    port = (int32_t)v;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  target =
      kube_client_get(c, refs[0].kind, cli_namespace(), refs[0].name, &err);
  if (!target) {
    rc = cli_report(&err);
    goto out;
  }
  kube_expose_options_t eo = {.struct_size = sizeof eo,
                              .name = name,
                              .port = port,
                              .target_port = target_port,
                              .protocol = protocol,
                              .type = type,
                              .selector = selector};
  svc = kube_generate_expose(target, &eo, &err);
  if (!svc) {
    rc = cli_report(&err);
    goto out;
  }
  const kube_kind_t *k = kube_kind_by_kind("v1", "Service");
  if (streq(dry_run, "client")) {
    rc = cli_print_result(svc, k, "exposed", &out, dry_run);
    goto out;
  }
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run = streq(dry_run, "server"),
                                    .grace_period = -1};
  kube_object_t *res =
      kube_client_create(c, k, cli_namespace(), svc, &wo, &err);
  if (!res) {
    rc = cli_report(&err);
    goto out;
  }
  rc = cli_print_result(res, k, "exposed", &out, dry_run);
  kube_object_free(res);
out:
  kube_object_free(target);
  kube_object_free(svc);
  free(refs);
  free(pos);
  return rc;
}
