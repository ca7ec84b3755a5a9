/* SPDX-License-Identifier: Apache-2.0 */
/* kube apply -f: client-side (last-applied annotation) or --server-side. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

struct apply_opts {
  const char *output, *dry_run_v, *dry_run, *field_manager, *validate;
  bool dry_run_set, recursive, server_side, force_conflicts;
  struct cli_strv files;
  kube_output_t out;
};

static int apply_one(kube_client_t *c, const kube_object_t *in,
                     struct apply_opts *o) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  const kube_kind_t *k = kube_client_kind_of_object(c, in, &err);
  if (!k)
    return cli_report(&err);
  const char *ns = cli_object_namespace(in, k);
  if (ns && !*ns)
    return 1;
  if (!kube_object_name(in) || !*kube_object_name(in))
    return cli_fail("resource name may not be empty");
  /* The recorded configuration is the file's object as written (no
   * namespace added): the library falls back to the client's namespace,
   * which is -n or the context's, the same as `ns` here. */
  kube_object_t *obj = kube_object_copy(in);
  if (!obj)
    return cli_fail("out of memory");
  int rc = 0;
  if (streq(o->dry_run, "client")) {
    kube_object_t *live =
        kube_client_get(c, k, ns, kube_object_name(obj), &err);
    if (!live && err.reason != KUBE_REASON_NOT_FOUND) {
      rc = cli_report(&err);
    } else {
      cli_print_result(obj, k, live ? "configured" : "created", &o->out,
                       o->dry_run);
    }
    kube_object_free(live);
    kube_object_free(obj);
    return rc;
  }
  kube_client_write_options_t wo = {
      .struct_size = sizeof wo,
      .dry_run = streq(o->dry_run, "server"),
      .field_manager = o->field_manager,
      .force = o->force_conflicts,
      .grace_period = -1,
      .field_validation = cli_field_validation(o->validate),
  };
  kube_object_t *res;
  const char *verb;
  if (o->server_side) {
    if (!wo.field_manager)
      wo.field_manager = "kubectl";
    res = kube_client_apply(c, obj, &wo, &err);
    verb = "serverside-applied";
  } else {
    kube_apply_result_t ar = KUBE_APPLY_UNCHANGED;
    if (!wo.field_manager)
      wo.field_manager = "kubectl-client-side-apply";
    res = kube_client_apply_client_side(c, obj, &wo, &ar, &err);
    verb = ar == KUBE_APPLY_CREATED     ? "created"
           : ar == KUBE_APPLY_UNCHANGED ? "unchanged"
                                        : "configured";
    if (res && ar == KUBE_APPLY_ANNOTATED)
      fprintf(stderr,
              "Warning: resource %s/%s is missing the %s annotation which is "
              "required by kube apply. kube apply should only be used on "
              "resources created declaratively by either kube create "
              "--save-config or kube apply. The missing annotation will be "
              "patched automatically.\n",
              k->resource, kube_object_name(obj),
              KUBE_LAST_APPLIED_ANNOTATION);
  }
  if (!res && o->server_side && err.reason == KUBE_REASON_CONFLICT &&
      kube_client_last_status(c) == 409) {
    /* kubectl explains field-manager conflicts this way. */
    fprintf(
        stderr,
        "error: %s\n"
        "Please review the fields above--they currently have other managers. "
        "Here\n"
        "are the ways you can resolve this warning:\n"
        "* If you intend to manage all of these fields, please re-run the "
        "apply\n"
        "  command with the `--force-conflicts` flag.\n"
        "* If you do not intend to manage all of the fields, please edit your\n"
        "  manifest to remove references to the fields that should keep their\n"
        "  current managers.\n"
        "* You may co-own fields by updating your manifest to match the "
        "existing\n"
        "  value; in this case, you'll become the manager if the other "
        "manager(s)\n"
        "  stop managing the field (remove it from their configuration).\n"
        "See "
        "https://kubernetes.io/docs/reference/using-api/server-side-apply/"
        "#conflicts\n",
        err.message);
    rc = 1;
  } else if (!res) {
    cli_print_error(&err);
    rc = 1;
  } else {
    cli_print_result(res, k, verb, &o->out, o->dry_run);
  }
  kube_object_free(res);
  kube_object_free(obj);
  return rc;
}

int cmd_apply(int argc, char **argv) {
  struct apply_opts o = {0};
  const struct cli_flag flags[] = {
      {"filename", 'f', CLI_STRINGS, &o.files, NULL},
      {"recursive", 'R', CLI_BOOL, &o.recursive, NULL},
      {"output", 'o', CLI_STRING, &o.output, NULL},
      {"dry-run", 0, CLI_STRING, &o.dry_run_v, &o.dry_run_set},
      {"server-side", 0, CLI_BOOL, &o.server_side, NULL},
      {"force-conflicts", 0, CLI_BOOL, &o.force_conflicts, NULL},
      {"field-manager", 0, CLI_STRING, &o.field_manager, NULL},
      /* strict (default) | warn | ignore | true | false: the server's
       * fieldValidation. */
      {"validate", 0, CLI_STRING, &o.validate, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(o.dry_run = cli_dry_run(o.dry_run_v, o.dry_run_set)) ||
      !cli_field_validation(o.validate) ||
      cli_output_parse(o.output, &o.out) < 0)
    goto out;
  if (npos > 0 && streq(pos[0], "view-last-applied")) {
    rc = cli_fail("apply view-last-applied is not supported; use "
                  "`kube get -o jsonpath` on the annotation");
    goto out;
  }
  if (o.files.n == 0) {
    rc = cli_fail("must specify one of -f and -k");
    goto out;
  }
  if (npos > 0) {
    rc = cli_fail("Unexpected args: [%s]", pos[0]);
    goto out;
  }
  if (cli_read_files(&o.files, o.recursive, &m) < 0)
    goto out;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  rc = 0;
  for (size_t i = 0; i < m.n; i++)
    if (apply_one(c, m.objects[i], &o))
      rc = 1;
out:
  kube_manifest_clear(&m);
  free(o.files.v);
  free(pos);
  return rc;
}
