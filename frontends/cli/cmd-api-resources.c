/* SPDX-License-Identifier: Apache-2.0 */
/* kube api-resources: the server's discovery documents as kubectl lists them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_api_resources(int argc, char **argv) {
  const char *output = NULL, *namespaced_s = NULL, *api_group = NULL;
  bool no_headers = false, namespaced_set = false;
  const struct cli_flag flags[] = {
      {"output", 'o', CLI_STRING, &output, NULL},
      {"namespaced", 0, CLI_STRING, &namespaced_s, &namespaced_set},
      {"api-group", 0, CLI_STRING, &api_group, NULL},
      {"no-headers", 0, CLI_BOOL, &no_headers, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  free(pos);
  if (output && !streq(output, "wide") && !streq(output, "name"))
    return cli_fail("--output %s is not available", output);
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  kube_api_resources_options_t o = {
      .struct_size = sizeof o,
      .namespaced = !namespaced_set                                ? -1
                    : !namespaced_s || streq(namespaced_s, "true") ? 1
                                                                   : 0,
      .api_group = api_group};
  kube_api_resource_list_t l = {0};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_client_api_resources(c, &o, &l, &err) < 0)
    return cli_report(&err);
  for (size_t i = 0; i < l.n_failures; i++)
    fprintf(stderr,
            "error: unable to retrieve the complete list of server APIs: %s\n",
            l.failures[i]);
  if (output && streq(output, "name")) {
    for (size_t i = 0; i < l.n; i++) {
      if (*l.items[i].group)
        printf("%s.%s\n", l.items[i].name, l.items[i].group);
      else
        printf("%s\n", l.items[i].name);
    }
  } else {
    kube_object_t *t =
        kube_api_resources_table(&l, output && streq(output, "wide"), &err);
    kube_table_printer_t *p =
        kube_table_printer_new(no_headers ? KUBE_TABLE_NO_HEADERS : 0);
    if (t && p && kube_table_printer_add(p, t, NULL, &err) == 0) {
      char *s = kube_table_printer_render(p);
      if (s)
        fputs(s, stdout);
      free(s);
    }
    kube_table_printer_free(p);
    kube_object_free(t);
  }
  kube_api_resource_list_clear(&l);
  return 0;
}
