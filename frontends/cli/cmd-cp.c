/* SPDX-License-Identifier: Apache-2.0 */
/* kube cp [[NS/]POD:]SRC [[NS/]POD:]DST [-c C] [--no-preserve]: kubectl cp
 * (tar over exec) through kube_cp_from_pod / kube_cp_to_pod. */
#include <stdio.h>

#include "cli.h"

static void warn_line(void *arg, const char *line) {
  fprintf(stderr, "%s\n", line);
}

int cmd_cp(int argc, char **argv) {
  const char *container = NULL;
  bool no_preserve = false;
  int64_t retries = 0;
  const struct cli_flag flags[] = {
      {"container", 'c', CLI_STRING, &container, NULL},
      {"no-preserve", 0, CLI_BOOL, &no_preserve, NULL},
      {"retries", 0, CLI_INT, &retries, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  char *sns = NULL, *spod = NULL, *spath = NULL;
  char *dns = NULL, *dpod = NULL, *dpath = NULL;
  kube_object_t *pod = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (npos != 2) {
    rc = cli_fail("source and destination are required");
    goto out;
  }
  if (kube_cp_parse_spec(pos[0], &sns, &spod, &spath, &err) < 0 ||
      kube_cp_parse_spec(pos[1], &dns, &dpod, &dpath, &err) < 0) {
    rc = cli_report(&err);
    goto out;
  }
  if (spod && dpod) {
    rc = cli_fail("one of src or dest must be a local file specification");
    goto out;
  }
  if (!*spath || !*dpath) {
    rc = cli_fail("filepath can not be empty");
    goto out;
  }
  if (!spod && !dpod) {
    rc = cli_fail("one of src or dest must be a remote file specification");
    goto out;
  }
  const char *ns =
      spod ? (sns ? sns : cli_namespace()) : (dns ? dns : cli_namespace());
  const char *name = spod ? spod : dpod;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  /* The pod must exist; the container defaults as for exec. */
  kube_object_t *got =
      kube_client_get(c, kube_kind_by_kind("v1", "Pod"), ns, name, &err);
  if (!got) {
    rc = cli_report(&err);
    goto out;
  }
  pod = got;
  if (!container && !(container = cli_pod_container(pod, NULL, false)))
    goto out;
  /* The spec's namespace or none (the client's, from -n or the context),
   * as kubectl: its warnings show the spec's. */
  kube_cp_options_t o = {.struct_size = sizeof o,
                         .namespace_ = spod ? sns : dns,
                         .pod = name,
                         .container = container,
                         .no_preserve = no_preserve,
                         .stderr_fd = 2,
                         .warn = warn_line};
  const char *ws = getenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
  if (ws && (streq(ws, "false") || streq(ws, "0")))
    o.transport = KUBE_CLIENT_STREAM_SPDY;
  int code = 0;
  int r = spod ? kube_cp_from_pod(c, &o, spath, dpath, &code, &err)
               : kube_cp_to_pod(c, &o, spath, dpath, &code, &err);
  if (r == 0) {
    rc = 0;
  } else if (code) {
    /* As kubectl: the remote tar's failure, its exit code. */
    fprintf(stderr, "%s\n", err.message);
    rc = code;
  } else {
    rc = cli_report(&err);
  }
out:
  kube_object_free(pod);
  free(sns);
  free(spod);
  free(spath);
  free(dns);
  free(dpod);
  free(dpath);
  free(pos);
  return rc;
}
