/* SPDX-License-Identifier: Apache-2.0 */
/* kube scale TYPE NAME --replicas=N: patch the scale subresource. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

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
  kube_output_t out;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &out) < 0)
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
    kube_kind_display_name(k, kn, sizeof kn);
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
      kube_object_t *sc = NULL;
      if (kube_client_request(c, &req, &resp, &err) == 0 &&
          kube_client_check(&resp, &err) == 0)
        sc = kube_object_from_json(resp.body, resp.body_len, &err);
      kube_client_response_clear(&resp);
      cleanup_free char *r =
          sc ? kube_jsonpath_eval(sc, "{.spec.replicas}", &err) : NULL;
      kube_object_free(sc);
      if (!r) {
        cli_print_error(&err);
        rc = 1;
        continue;
      }
      int64_t cur = strtoll(r, NULL, 10);
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
    if (out.format == KUBE_OUTPUT_DEFAULT || !res) {
      const char *suffix = streq(dry_run, "client")   ? " (dry run)"
                           : streq(dry_run, "server") ? " (server dry run)"
                                                      : "";
      printf("%s/%s scaled%s\n", kn, refs[i].name, suffix);
    } else {
      cli_print_object(res, &out);
    }
    kube_object_free(res);
  }
out:
  free(refs);
  free(pos);
  return rc;
}
