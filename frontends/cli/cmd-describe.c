/* SPDX-License-Identifier: Apache-2.0 */
/* kube describe: kubectl's describe text (the library's) for each object. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

struct describe_state {
  kube_client_t *c;
  const kube_kind_t *kind;
  bool first;
  int rc;
};

static int describe_one(const kube_object_t *obj, void *ud) {
  struct describe_state *d = ud;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *s = kube_describe_object(d->c, d->kind, obj, NULL, &err);
  if (!d->first)
    fputs("\n\n", stdout);
  d->first = false;
  if (!s)
    d->rc |= cli_report(&err);
  else
    fputs(s, stdout);
  return 0;
}

int cmd_describe(int argc, char **argv) {
  const char *selector = NULL;
  bool all_ns = false;
  const struct cli_flag flags[] = {
      {"selector", 'l', CLI_STRING, &selector, NULL},
      {"all-namespaces", 'A', CLI_BOOL, &all_ns, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (npos == 0) {
    rc = cli_fail("You must specify the type of resource to describe. Use "
                  "\"kube api-resources\" for a complete list of supported "
                  "resources.");
    goto out;
  }
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  struct describe_state d = {c, NULL, true, 0};
  for (size_t i = 0; i < nrefs; i++) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    d.kind = refs[i].kind;
    if (refs[i].name) {
      kube_object_t *obj =
          kube_client_get(c, d.kind, cli_namespace(), refs[i].name, &err);
      if (!obj) {
        cli_print_error(&err);
        d.rc = 1;
        continue;
      }
      describe_one(obj, &d);
      kube_object_free(obj);
      continue;
    }
    kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                     .label_selector = selector};
    kube_object_t *list =
        kube_client_list(c, d.kind, all_ns ? NULL : cli_namespace(), &lo, &err);
    if (!list) {
      cli_print_error(&err);
      d.rc = 1;
      continue;
    }
    kube_list_foreach(list, describe_one, &d);
    /* kubectl names the namespace for cluster-scoped kinds too. */
    if (d.first && !all_ns)
      fprintf(stderr, "No resources found in %s namespace.\n", cli_namespace());
    else if (d.first)
      fprintf(stderr, "No resources found\n");
    kube_object_free(list);
  }
  rc = d.rc;
out:
  free(refs);
  free(pos);
  return rc;
}
