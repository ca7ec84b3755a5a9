/* SPDX-License-Identifier: Apache-2.0 */
/* kube scale TYPE NAME --replicas=N: patch the scale subresource. */
#include <stdio.h>
#include <stdlib.h>

#include "api/api-private.h"
#include "cli.h"
#include "core/util.h"

int cmd_scale(int argc, char **argv) {
  int64_t replicas = -1, current = -1;
  const char *output = NULL, *dry_run_v = NULL, *dry_run;
  bool dry_run_set = false;
  const struct cli_flag flags[] = {
      {"replicas", 0, CLI_INT, &replicas, NULL},
      {"current-replicas", 0, CLI_INT, &current, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  enum cli_output fmt;
  const char *fmt_arg;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &fmt, &fmt_arg) < 0)
    goto out;
  if (replicas < 0) {
    rc = cli_fail("The --replicas=COUNT flag is required, and COUNT must be "
                  "greater than or equal to 0");
    goto out;
  }
  if (npos == 0) {
    rc = cli_fail("You must provide one or more resources by argument or "
                  "filename.");
    goto out;
  }
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  rc = 0;
  for (size_t i = 0; i < nrefs; i++) {
    const kube_kind_t *k = refs[i].kind;
    char kn[128];
    cli_kind_name(k, kn, sizeof kn);
    bool has_scale = false;
    for (size_t s = 0; k->subresources && k->subresources[s]; s++)
      if (streq(k->subresources[s], "scale"))
        has_scale = true;
    if (!has_scale) {
      rc = cli_fail("cannot scale %s: no scale subresource", kn);
      continue;
    }
    if (!refs[i].name) {
      rc = cli_fail("resource(s) were provided, but no name was specified");
      continue;
    }
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (current >= 0) {
      /* Precondition: the current size must match. */
      cleanup_free char *path =
          kube_client_path(k, cli_namespace(), refs[i].name, "scale");
      kube_client_request_t req = {
          .struct_size = sizeof req, .method = "GET", .path = path};
      kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
      json_object *sc = NULL;
      if (kube_client_request(c, &req, &resp, &err) == 0 &&
          kube_client_check(&resp, &err) == 0)
        sc = kube_json_parse(resp.body, resp.body_len, &err);
      kube_client_response_clear(&resp);
      if (!sc) {
        cli_print_error(&err);
        rc = 1;
        continue;
      }
      json_object *r = kube_json_get(sc, "spec.replicas");
      int64_t cur = r ? json_object_get_int64(r) : 0;
      json_object_put(sc);
      if (cur != current) {
        rc = cli_fail("Expected replicas to be %lld, was %lld",
                      (long long)current, (long long)cur);
        continue;
      }
    }
    char patch[128];
    snprintf(patch, sizeof patch, "{\"spec\":{\"replicas\":%lld}}",
             (long long)replicas);
    kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                      .dry_run = streq(dry_run, "server"),
                                      .grace_period = -1};
    kube_object_t *res = NULL;
    if (!streq(dry_run, "client")) {
      res = kube_client_patch(c, k, cli_namespace(), refs[i].name, "scale",
                              KUBE_PATCH_MERGE, patch, &wo, &err);
      if (!res) {
        cli_print_error(&err);
        rc = 1;
        continue;
      }
    }
    if (fmt == CLI_OUT_DEFAULT || !res) {
      const char *suffix = streq(dry_run, "client")   ? " (dry run)"
                           : streq(dry_run, "server") ? " (server dry run)"
                                                      : "";
      printf("%s/%s scaled%s\n", kn, refs[i].name, suffix);
    } else {
      cli_print_object(res, fmt, fmt_arg);
    }
    kube_object_free(res);
  }
out:
  free(refs);
  free(pos);
  return rc;
}
