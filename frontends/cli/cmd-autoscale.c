/* SPDX-License-Identifier: Apache-2.0 */
/* kube autoscale TYPE NAME --max=N [--min=N] [--cpu-percent=N] [--name=X]:
 * create an autoscaling/v1 HorizontalPodAutoscaler for a scalable object,
 * as kubectl autoscale does. */
#include <stdio.h>

#include "cli.h"

int cmd_autoscale(int argc, char **argv) {
  int64_t min = -1, max = -1, cpu = -1;
  const char *name = NULL, *output = NULL, *dry_run_v = NULL, *dry_run;
  bool dry_run_set = false;
  const struct cli_flag flags[] = {
      {"min", 0, CLI_INT, &min, NULL},
      {"max", 0, CLI_INT, &max, NULL},
      {"cpu-percent", 0, CLI_INT, &cpu, NULL},
      {"name", 0, CLI_STRING, &name, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_output_t out;
  kube_object_t *obj = NULL, *res = NULL;
  /* Before the first goto: out: frees them. */
  cleanup_free char *json = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &out) < 0)
    goto out;
  if (max < 1 || (min > 0 && max < min)) {
    rc = cli_fail("--max=MAXPODS is required and must be at least 1, "
                  "max < min not allowed");
    goto out;
  }
  if (npos == 0) {
    rc = cli_fail("You must provide one or more resources by argument or "
                  "filename.");
    goto out;
  }
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  if (nrefs != 1 || !refs[0].name) {
    rc = cli_fail("resource(s) were provided, but no name was specified");
    goto out;
  }
  const kube_kind_t *k = refs[0].kind;
  bool scalable = false;
  for (size_t s = 0; k->subresources && k->subresources[s]; s++)
    scalable |= streq(k->subresources[s], "scale");
  char kn[128];
  kube_kind_display_name(k, kn, sizeof kn);
  if (!scalable) {
    rc = cli_fail("cannot autoscale a %s: %s is not scalable", k->kind, kn);
    goto out;
  }
  char av[128];
  kube_kind_api_version(k, av, sizeof av);
  char extra[128] = "";
  if (min > 0)
    snprintf(extra, sizeof extra, ",\"minReplicas\":%lld", (long long)min);
  if (cpu >= 0)
    snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
             ",\"targetCPUUtilizationPercentage\":%lld", (long long)cpu);
  const char *hpa = name ? name : refs[0].name;
  if (asprintf(&json,
               "{\"apiVersion\":\"autoscaling/v1\",\"kind\":"
               "\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"%s\"},"
               "\"spec\":{\"scaleTargetRef\":{\"apiVersion\":\"%s\",\"kind\":"
               "\"%s\",\"name\":\"%s\"},\"maxReplicas\":%lld%s}}",
               hpa, av, k->kind, refs[0].name, (long long)max, extra) < 0)
    goto out;
  if (!(obj = kube_object_from_json(json, strlen(json), &err))) {
    cli_print_error(&err);
    goto out;
  }
  const kube_kind_t *hk =
      kube_kind_by_kind("autoscaling/v1", "HorizontalPodAutoscaler");
  kube_client_t *c = cli_client();
  if (!c || !hk)
    goto out;
  if (!streq(dry_run, "client")) {
    kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                      .dry_run = streq(dry_run, "server"),
                                      .grace_period = -1};
    if (!(res = kube_client_create(c, hk, cli_namespace(), obj, &wo, &err))) {
      cli_print_error(&err);
      goto out;
    }
  }
  rc = 0;
  if (out.format == KUBE_OUTPUT_DEFAULT) {
    const char *suffix = streq(dry_run, "client")   ? " (dry run)"
                         : streq(dry_run, "server") ? " (server dry run)"
                                                    : "";
    printf("horizontalpodautoscaler.autoscaling/%s autoscaled%s\n", hpa,
           suffix);
  } else {
    cli_print_object(res ? res : obj, &out);
  }
out:
  kube_object_free(obj);
  kube_object_free(res);
  free(refs);
  free(pos);
  return rc;
}
