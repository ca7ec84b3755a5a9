/* SPDX-License-Identifier: Apache-2.0 */
/* kube debug POD --image=I [-c NAME] [-i] [-t] [--target=C] [-- CMD...]
 * and kube debug node/NODE --image=I: kubectl debug's ephemeral container
 * (a strategic merge patch of pods/ephemeralcontainers) or node debugging
 * pod, then with -i an attach once the container runs (its logs when it
 * already ended). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

static int print_log(void *arg, int stream, const void *data, size_t len) {
  return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

/* A field of the container's status (owned; "" when absent), in any of
 * the status lists. */
static char *status_field(const kube_object_t *pod, const char *name,
                          const char *field) {
  static const char *const lists[] = {"initContainerStatuses",
                                      "containerStatuses",
                                      "ephemeralContainerStatuses"};
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
    char path[512];
    snprintf(path, sizeof path, "{.status.%s[?(@.name==\"%s\")].%s}",
             lists[l], name, field);
    char *v = kube_jsonpath_eval(pod, path, NULL);
    if (v && *v)
      return v;
    free(v);
  }
  return strdup("");
}

/* waitForContainer: until the container runs or ended (*ended), printing
 * each new waiting message as kubectl's warning.  NULL (printed) when the
 * pod goes away or cannot be read. */
static kube_object_t *wait_container(kube_client_t *c, const char *pod,
                                     const char *name, bool quiet,
                                     bool *ended) {
  cleanup_free char *said = NULL;
  for (;;) {
    kube_object_t *p = cli_get_pod(c, pod);
    if (!p)
      return NULL;
    cleanup_free char *run = status_field(p, name, "state.running");
    cleanup_free char *term = status_field(p, name, "state.terminated");
    if ((run && *run) || (term && *term)) {
      *ended = term && *term;
      return p;
    }
    cleanup_free char *msg = status_field(p, name, "state.waiting.message");
    if (!quiet && msg && *msg && (!said || !streq(said, msg))) {
      fprintf(stderr, "Warning: container %s: %s\n", name, msg);
      free(said);
      said = strdup(msg);
    }
    kube_object_free(p);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* handleAttachPod: attach, or the logs of a container that ended. */
static int attach(kube_client_t *c, const char *pod, const char *name,
                  bool in, bool tty, bool quiet) {
  bool ended = false;
  kube_object_t *p = wait_container(c, pod, name, quiet, &ended);
  if (!p)
    return 1;
  kube_object_free(p);
  if (ended) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_client_logs_options_t lo = {.struct_size = sizeof lo,
                                     .namespace_ = cli_namespace(),
                                     .pod = pod,
                                     .container = name,
                                     .output = print_log};
    return kube_client_logs(c, &lo, &err) < 0 ? cli_report(&err) : 0;
  }
  cli_check_tty(&tty, in);
  if (!quiet && in)
    fprintf(stderr, "If you don't see a command prompt, try pressing "
                    "enter.\n");
  int rc = cli_pod_session(c, pod, name, NULL, in, tty);
  if (in && tty && !quiet)
    printf("Session ended, the ephemeral container will not be restarted "
           "but may be reattached using 'kube attach %s -c %s -i -t' if it "
           "is still running\n",
           pod, name);
  return rc;
}

static int debug_node(kube_client_t *c, const char *node,
                      const kube_debug_options_t *o, bool quiet,
                      bool do_attach) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *pod = kube_generate_node_debug_pod(node, o, &err);
  if (!pod)
    return cli_report(&err);
  const char *pn = kube_object_get_string(pod, "metadata.name");
  const char *cn = kube_object_get_string(pod, "spec.containers.0.name");
  if (!quiet)
    printf("Creating debugging pod %s with container %s on node %s.\n", pn,
           cn, node);
  fflush(stdout);
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .grace_period = -1};
  kube_object_t *res = kube_client_create(c, kube_kind_by_kind("v1", "Pod"),
                                          cli_namespace(), pod, &wo, &err);
  int rc = res ? 0 : cli_report(&err);
  if (res && do_attach)
    rc = attach(c, kube_object_get_string(res, "metadata.name"), cn,
                o->stdin_, o->tty, quiet);
  kube_object_free(res);
  kube_object_free(pod);
  return rc;
}

static int debug_pod(kube_client_t *c, const char *name,
                     const kube_debug_options_t *o, bool quiet,
                     bool do_attach) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *pod = cli_get_pod(c, name);
  if (!pod)
    return 1;
  cleanup_free char *cn = NULL;
  cleanup_free char *patch = kube_generate_debug_patch(pod, o, &cn, &err);
  kube_object_free(pod);
  if (!patch)
    return cli_report(&err);
  if (!quiet && !(o->container && *o->container))
    printf("Defaulting debug container name to %s.\n", cn);
  fflush(stdout);
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .grace_period = -1};
  kube_object_t *res = kube_client_patch(
      c, kube_kind_by_kind("v1", "Pod"), cli_namespace(), name,
      "ephemeralcontainers", KUBE_PATCH_STRATEGIC, patch, &wo, &err);
  if (!res) {
    /* a server without the subresource answers NotFound naming nothing */
    if (err.reason == KUBE_REASON_NOT_FOUND &&
        !strstr(err.message ? err.message : "", name))
      return cli_fail("ephemeral containers are disabled for this cluster "
                      "(error from server: \"%s\")",
                      err.message ? err.message : "");
    return cli_report(&err);
  }
  kube_object_free(res);
  return do_attach ? attach(c, name, cn, o->stdin_, o->tty, quiet) : 0;
}

int cmd_debug(int argc, char **argv) {
  const char *image = NULL, *container = NULL, *target = NULL, *pull = NULL;
  const char *profile = NULL;
  bool in = false, tty = false, quiet = false, args_only = false;
  bool attach_v = false, attach_set = false;
  struct cli_strv env = {0};
  const struct cli_flag flags[] = {
      {"image", 0, CLI_STRING, &image, NULL},
      {"container", 'c', CLI_STRING, &container, NULL},
      {"target", 0, CLI_STRING, &target, NULL},
      {"image-pull-policy", 0, CLI_STRING, &pull, NULL},
      {"env", 0, CLI_STRINGS, &env, NULL},
      {"stdin", 'i', CLI_BOOL, &in, NULL},
      {"tty", 't', CLI_BOOL, &tty, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {"arguments-only", 0, CLI_BOOL, &args_only, NULL},
      {"attach", 0, CLI_BOOL, &attach_v, &attach_set},
      {"profile", 0, CLI_STRING, &profile, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, dashdash = -1, rc = 1;
  if (cli_parse(argc, argv, flags, &pos, &npos, &dashdash) < 0)
    goto out;
  int names = dashdash >= 0 ? dashdash : npos;
  if (names != 1) {
    rc = cli_fail("expected exactly one of a POD or node/NODE (saw %d)\n"
                  "See 'kube debug -h' for help and examples",
                  names);
    goto out;
  }
  if (profile && !streq(profile, "legacy") && !streq(profile, "general")) {
    rc = cli_fail("unknown profile: %s (kube supports legacy and general)",
                  profile);
    goto out;
  }
  if (!image || !*image) {
    rc = cli_fail("--image is required for debugging");
    goto out;
  }
  if (tty && !in) {
    rc = cli_fail("-i/--stdin is required for containers with -t/--tty");
    goto out;
  }
  /* --attach defaults to -i, as kubectl's */
  bool do_attach = attach_set ? attach_v : in;
  const char **args = NULL;
  if (dashdash >= 0 && dashdash < npos) {
    args = calloc((size_t)(npos - dashdash) + 1, sizeof *args);
    if (!args) {
      rc = cli_fail("out of memory");
      goto out;
    }
    for (int i = dashdash; i < npos; i++)
      args[i - dashdash] = pos[i];
  }
  kube_debug_options_t o = {.struct_size = sizeof o,
                            .container = container,
                            .image = image,
                            .target = target,
                            .env = env.v,
                            .args = args,
                            .args_only = args_only,
                            .stdin_ = in,
                            .tty = tty,
                            .image_pull_policy = pull};
  kube_client_t *c = cli_client();
  if (c) {
    const char *arg = pos[0];
    if (str_has_prefix(arg, "node/") || str_has_prefix(arg, "nodes/"))
      rc = debug_node(c, strchr(arg, '/') + 1, &o, quiet, do_attach);
    else if (!cli_pod_arg(arg))
      rc = cli_fail("debug: only pods and nodes are supported (got \"%s\")",
                    arg);
    else
      rc = debug_pod(c, cli_pod_arg(arg), &o, quiet, do_attach);
  }
  free(args);
out:
  free(env.v);
  free(pos);
  return rc;
}
