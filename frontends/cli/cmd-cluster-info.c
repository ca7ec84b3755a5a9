/* SPDX-License-Identifier: Apache-2.0 */
/* kube cluster-info: the API server URL and kube-system cluster services. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "api/api-private.h"
#include "cli.h"
#include "core/util.h"

int cmd_cluster_info(int argc, char **argv) {
  char **pos = NULL;
  int npos = 0;
  const struct cli_flag flags[] = {{NULL, 0, 0, NULL, NULL}};
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  bool dump = npos > 0 && streq(pos[0], "dump");
  free(pos);
  if (dump)
    return cli_fail(
        "cluster-info dump is not supported; use `kube get all -A -o yaml`");
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  bool color = isatty(1);
  const char *green = color ? "\033[0;32m" : "",
             *yellow = color ? "\033[0;33m" : "",
             *reset = color ? "\033[0m" : "";
  /* The API must answer before we claim the control plane runs. */
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector =
                                       "kubernetes.io/cluster-service=true"};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *list = kube_client_list(c, kube_kind_by_kind("v1", "Service"),
                                         "kube-system", &lo, &err);
  if (!list) {
    fprintf(stderr, "\nTo further debug and diagnose cluster problems, use "
                    "'kube cluster-info dump'.\n");
    return cli_report(&err);
  }
  const char *server = kube_client_server(c);
  printf("%sKubernetes control plane%s is running at %s%s%s\n", green, reset,
         yellow, server, reset);
  json_object *items = kube_json_get(kube_object_json(list), "items");
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *svc = json_object_array_get_idx(items, i);
    const char *name = kube_json_get_string(svc, "metadata.name");
    const char *shown =
        kube_json_get_string(svc, "metadata.labels.kubernetes\\.io/name");
    json_object *labels = kube_json_get(svc, "metadata.labels"), *lv;
    if (labels && json_object_object_get_ex(labels, "kubernetes.io/name", &lv))
      shown = json_object_get_string(lv);
    if (!shown)
      shown = name;
    cleanup_free char *link = NULL;
    const char *lb_ip =
        kube_json_get_string(svc, "status.loadBalancer.ingress.0.ip");
    json_object *ports = kube_json_get(svc, "spec.ports");
    if (lb_ip) {
      if (asprintf(&link, "http://%s", lb_ip) < 0)
        link = NULL;
    } else {
      const char *pname = ports && json_object_array_length(ports) > 0
                              ? kube_json_get_string(
                                    json_object_array_get_idx(ports, 0), "name")
                              : NULL;
      if (asprintf(&link,
                   "%s/api/v1/namespaces/kube-system/services/%s%s%s/proxy",
                   server, pname && *pname ? "" : "", name,
                   pname && *pname ? ":" : "") < 0)
        link = NULL;
      if (link && pname && *pname) {
        free(link);
        if (asprintf(&link,
                     "%s/api/v1/namespaces/kube-system/services/%s:%s/proxy",
                     server, name, pname) < 0)
          link = NULL;
      }
    }
    printf("%s%s%s is running at %s%s%s\n", green, shown, reset, yellow,
           link ? link : "", reset);
  }
  kube_object_free(list);
  printf("\nTo further debug and diagnose cluster problems, use 'kube "
         "cluster-info dump'.\n");
  return 0;
}
