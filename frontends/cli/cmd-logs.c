/* SPDX-License-Identifier: Apache-2.0 */
/* kube logs POD and kube exec POD -- CMD. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int print_line(const char *line, size_t len, void *ud) {
  fwrite(line, 1, len, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  return 0;
}

/* "POD", "pod/POD", "pods/POD". */
static const char *pod_name(const char *arg) {
  const char *slash = strchr(arg, '/');
  if (!slash)
    return arg;
  if (str_has_prefix(arg, "pod/") || str_has_prefix(arg, "pods/") ||
      str_has_prefix(arg, "po/"))
    return slash + 1;
  return NULL;
}

/* GET the pod; reports and returns NULL when missing. */
static kube_object_t *get_pod(kube_client_t *c, const char *name) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *pod = kube_client_get(c, kube_kind_by_kind("v1", "Pod"),
                                       cli_namespace(), name, &err);
  if (!pod)
    cli_report(&err);
  return pod;
}

/* -c, else the only container of the pod (borrowed from the pod). */
static const char *pick_container(kube_object_t *pod, const char *container) {
  if (container)
    return container;
  if (kube_object_get_string(pod, "spec.containers.1.name"))
    return NULL;
  return kube_object_get_string(pod, "spec.containers.0.name");
}

int cmd_logs(int argc, char **argv) {
  const char *container = NULL, *since = NULL;
  bool follow = false, timestamps = false, previous = false;
  int64_t tail = -1;
  const struct cli_flag flags[] = {
      {"container", 'c', CLI_STRING, &container, NULL},
      {"follow", 'f', CLI_BOOL, &follow, NULL},
      {"timestamps", 0, CLI_BOOL, &timestamps, NULL},
      {"previous", 'p', CLI_BOOL, &previous, NULL},
      {"tail", 0, CLI_INT, &tail, NULL},
      {"since", 0, CLI_STRING, &since, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  kube_object_t *pod = NULL;
  cleanup_free char *query = NULL, *path = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (npos < 1 || npos > 2) {
    rc = cli_fail("expected POD or TYPE/NAME is a required argument for the "
                  "logs command");
    goto out;
  }
  const char *name = pod_name(pos[0]);
  if (!name) {
    rc = cli_fail("logs: only pods are supported (got \"%s\")", pos[0]);
    goto out;
  }
  if (npos == 2 && !container)
    container = pos[1];
  kube_client_t *c = cli_client();
  if (!c || !(pod = get_pod(c, name)))
    goto out;
  /* Without a node agent the server explains why there are no logs
   * ("does not have a host assigned", "no node agent serves node ..."),
   * which is printed as kubectl prints it. */
  container = pick_container(pod, container);
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  if (container)
    kube_strbuf_printf(&q, "container=%s", container);
  if (follow)
    kube_strbuf_printf(&q, "%sfollow=true", q.len ? "&" : "");
  if (timestamps)
    kube_strbuf_printf(&q, "%stimestamps=true", q.len ? "&" : "");
  if (previous)
    kube_strbuf_printf(&q, "%sprevious=true", q.len ? "&" : "");
  if (tail >= 0)
    kube_strbuf_printf(&q, "%stailLines=%lld", q.len ? "&" : "",
                       (long long)tail);
  if (since)
    kube_strbuf_printf(&q, "%ssinceSeconds=%s", q.len ? "&" : "", since);
  query = kube_strbuf_steal(&q);
  path = kube_client_path(kube_kind_by_kind("v1", "Pod"), cli_namespace(), name,
                          "log");
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = query,
                               .accept = "*/*"};
  if (kube_client_stream(c, &req, print_line, NULL, &err) < 0) {
    rc = cli_report(&err);
    goto out;
  }
  rc = 0;
out:
  kube_object_free(pod);
  free(pos);
  return rc;
}

int cmd_exec(int argc, char **argv) {
  const char *container = NULL;
  bool stdin_ = false, tty = false;
  const struct cli_flag flags[] = {
      {"container", 'c', CLI_STRING, &container, NULL},
      {"stdin", 'i', CLI_BOOL, &stdin_, NULL},
      {"tty", 't', CLI_BOOL, &tty, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, dashdash = -1, rc = 1;
  kube_object_t *pod = NULL;
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  cleanup_free char *query = NULL, *path = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, &dashdash) < 0)
    goto out;
  if (npos < 1 || dashdash == 0) {
    rc = cli_fail("expected 'exec (POD | TYPE/NAME) COMMAND [ARG1] [ARG2] ... "
                  "[ARGN]'.\nPOD or TYPE/NAME is a required argument for the "
                  "exec command");
    goto out;
  }
  if (npos < 2) {
    rc = cli_fail("you must specify at least one command for the container");
    goto out;
  }
  const char *name = pod_name(pos[0]);
  if (!name) {
    rc = cli_fail("exec: only pods are supported (got \"%s\")", pos[0]);
    goto out;
  }
  kube_client_t *c = cli_client();
  if (!c || !(pod = get_pod(c, name)))
    goto out;
  /* Ask the server as kubectl does; it explains when no node agent can
   * serve the pod.  Should it accept, the streaming protocol (SPDY or
   * WebSocket channels) is what this CLI still lacks. */
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "stdout=true&stderr=true");
  if (stdin_)
    kube_strbuf_append(&q, "&stdin=true");
  if (tty)
    kube_strbuf_append(&q, "&tty=true");
  container = pick_container(pod, container);
  if (container)
    kube_strbuf_printf(&q, "&container=%s", container);
  for (int i = dashdash >= 0 ? dashdash : 1; i < npos; i++) {
    cleanup_free char *esc = kube_client_query_escape(pos[i]);
    if (!esc)
      q.oom = true;
    else
      kube_strbuf_printf(&q, "&command=%s", esc);
  }
  query = kube_strbuf_steal(&q);
  path = kube_client_path(kube_kind_by_kind("v1", "Pod"), cli_namespace(), name,
                          "exec");
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "POST",
                               .path = path,
                               .query = query};
  if (kube_client_request(c, &req, &resp, &err) < 0 ||
      kube_client_check(&resp, &err) < 0)
    rc = cli_report(&err);
  else
    rc =
        cli_fail("unable to upgrade connection: the kube CLI does not speak "
                 "the exec streaming protocol (SPDY / WebSocket channels) yet");
out:
  kube_client_response_clear(&resp);
  kube_object_free(pod);
  free(pos);
  return rc;
}
