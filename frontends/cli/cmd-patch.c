/* SPDX-License-Identifier: Apache-2.0 */
/* kube patch TYPE NAME -p PATCH [--type strategic|merge|json]. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "cli.h"

int cmd_patch(int argc, char **argv) {
  const char *patch = NULL, *patch_file = NULL, *type = "strategic";
  const char *output = NULL, *dry_run_v = NULL, *dry_run, *sub = NULL;
  const char *field_manager = NULL;
  bool dry_run_set = false;
  struct cli_strv files = {0};
  const struct cli_flag flags[] = {
      {"patch", 'p', CLI_STRING, &patch, NULL},
      {"patch-file", 0, CLI_STRING, &patch_file, NULL},
      {"type", 0, CLI_STRING, &type, NULL},
      {"subresource", 0, CLI_STRING, &sub, NULL},
      {"filename", 'f', CLI_STRINGS, &files, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {"field-manager", 0, CLI_STRING, &field_manager, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  char *file_patch = NULL;
  kube_output_t out;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &out) < 0)
    goto out;
  int ptype = kube_patch_type_parse(type);
  if (ptype < 0 || ptype == KUBE_PATCH_APPLY) {
    rc = cli_fail("--type must be one of [json merge strategic], not \"%s\"",
                  type);
    goto out;
  }
  if (patch_file) {
    int fd = open(patch_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      rc = cli_fail("unable to read patch file: %s", strerror(errno));
      goto out;
    }
    file_patch = cli_slurp_fd(fd, NULL);
    close(fd);
    patch = file_patch;
  }
  if (!patch || !*patch) {
    rc =
        cli_fail("must specify --patch or --patch-file containing the contents "
                 "of the patch");
    goto out;
  }
  /* Targets from -f or the command line. */
  if (files.n > 0) {
    if (cli_read_files(&files, false, &m) < 0)
      goto out;
    refs = calloc(m.n, sizeof *refs);
    if (!refs)
      goto out;
    for (size_t i = 0; i < m.n; i++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      refs[i].kind =
          kube_client_kind_of_object(cli_client(), m.objects[i], &err);
      refs[i].name = kube_object_name(m.objects[i]);
      if (!refs[i].kind) {
        rc = cli_report(&err);
        goto out;
      }
    }
    nrefs = m.n;
  } else {
    if (npos == 0) {
      rc = cli_fail("You must provide one or more resources by argument or "
                    "filename.");
      goto out;
    }
    if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
      goto out;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  rc = 0;
  for (size_t i = 0; i < nrefs; i++) {
    const kube_kind_t *k = refs[i].kind;
    if (!refs[i].name) {
      rc = cli_fail("resource(s) were provided, but no name was specified");
      continue;
    }
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *live =
        kube_client_get(c, k, cli_namespace(), refs[i].name, &err);
    if (!live) {
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    const char *old_rv = kube_object_resource_version(live);
    kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                      .dry_run = !streq(dry_run, "none"),
                                      .field_manager = field_manager,
                                      .grace_period = -1};
    kube_object_t *res =
        kube_client_patch(c, k, cli_namespace(), refs[i].name, sub,
                          (kube_patch_type_t)ptype, patch, &wo, &err);
    if (!res && err.reason == KUBE_REASON_UNSUPPORTED_MEDIA_TYPE &&
        ptype == KUBE_PATCH_STRATEGIC) {
      /* kubectl names the patch type and the kind the server refused it
       * for (custom resources take no strategic merge patch). */
      char av[128];
      fprintf(stderr,
              "error: application/strategic-merge-patch+json is not "
              "supported by %s, Kind=%s: %s\n",
              kube_kind_api_version(k, av, sizeof av), k->kind,
              err.message ? err.message : "");
      rc = 1;
    } else if (!res) {
      cli_print_error(&err);
      rc = 1;
    } else {
      /* kubectl compares the object before and after (a dry run keeps
       * the resourceVersion) and adds no "(dry run)" to patch's line. */
      const char *new_rv = kube_object_resource_version(res);
      bool same = old_rv && new_rv && streq(old_rv, new_rv);
      if (same && !streq(dry_run, "none")) {
        cleanup_free char *a = kube_object_to_json(live, 0);
        cleanup_free char *b = kube_object_to_json(res, 0);
        json_object *ja = a ? json_tokener_parse(a) : NULL;
        json_object *jb = b ? json_tokener_parse(b) : NULL;
        same = ja && jb && json_object_equal(ja, jb);
        json_object_put(ja);
        json_object_put(jb);
      }
      cli_print_result(res, k, same ? "patched (no change)" : "patched", &out,
                       "none");
    }
    kube_object_free(res);
    kube_object_free(live);
  }
out:
  kube_manifest_clear(&m);
  free(file_patch);
  free(files.v);
  free(refs);
  free(pos);
  return rc;
}
