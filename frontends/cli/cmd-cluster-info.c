/* SPDX-License-Identifier: Apache-2.0 */
/* kube cluster-info: the API server URL and kube-system cluster services. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

struct service_links {
  const char *server, *green, *yellow, *reset;
};

/* "<name> is running at <URL>": the load balancer's address, else the
 * API server's proxy path of the service (with its first port's name). */
static int print_service(const kube_object_t *svc, void *ud) {
  const struct service_links *l = ud;
  const char *name = kube_object_name(svc);
  const char *shown = kube_object_label(svc, "kubernetes.io/name");
  if (!shown)
    shown = name;
  cleanup_free char *link = NULL;
  const char *lb_ip =
      kube_object_get_string(svc, "status.loadBalancer.ingress.0.ip");
  const char *pname = kube_object_get_string(svc, "spec.ports.0.name");
  if (lb_ip) {
    if (asprintf(&link, "http://%s", lb_ip) < 0)
      link = NULL;
  } else if (pname && *pname) {
    if (asprintf(&link, "%s/api/v1/namespaces/kube-system/services/%s:%s/proxy",
                 l->server, name, pname) < 0)
      link = NULL;
  } else if (asprintf(&link,
                      "%s/api/v1/namespaces/kube-system/services/%s/proxy",
                      l->server, name) < 0) {
    link = NULL;
  }
  printf("%s%s%s is running at %s%s%s\n", l->green, shown, l->reset, l->yellow,
         link ? link : "", l->reset);
  return 0;
}

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
  struct service_links sl = {server, green, yellow, reset};
  kube_list_foreach(list, print_service, &sl);
  kube_object_free(list);
  printf("\nTo further debug and diagnose cluster problems, use 'kube "
         "cluster-info dump'.\n");
  return 0;
}
