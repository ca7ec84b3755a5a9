/* SPDX-License-Identifier: Apache-2.0 */
/* kube cordon|uncordon NODE..., kube drain NODE: kubectl's node
 * maintenance (the work is kube_node_cordon / kube_drain_node). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void print_line(bool to_stderr, const char *line, void *arg) {
  FILE *f = to_stderr ? stderr : stdout;
  fprintf(f, "%s\n", line);
  fflush(f);
}

static const char *dry_suffix(const char *dry_run) {
  return streq(dry_run, "client")   ? " (dry run)"
         : streq(dry_run, "server") ? " (server dry run)"
                                    : "";
}

/* Cordon or uncordon one node, printing kubectl's line; 0 or 1. */
static int cordon_one(kube_client_t *c, const char *node, bool on,
                      const char *dry_run) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  bool changed = false;
  if (kube_node_cordon(c, node, on, !streq(dry_run, "none"), &changed, &err) <
      0) {
    cli_print_error(&err);
    return 1;
  }
  printf("node/%s %s%s%s\n", node, changed ? "" : "already ",
         on ? "cordoned" : "uncordoned", dry_suffix(dry_run));
  return 0;
}

static int cordon_cmd(int argc, char **argv, bool on) {
  const char *dry_run_v = NULL, *dry_run;
  bool dry_run_set = false;
  const struct cli_flag flags[] = {
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0 ||
      !(dry_run = cli_dry_run(dry_run_v, dry_run_set)))
    goto out;
  if (npos == 0) {
    rc = cli_fail("resource(s) were provided, but no name was specified");
    goto out;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  rc = 0;
  for (int i = 0; i < npos; i++)
    rc |= cordon_one(c, pos[i], on, dry_run);
out:
  free(pos);
  return rc;
}

int cmd_cordon(int argc, char **argv) {
  return cordon_cmd(argc, argv, true);
}

int cmd_uncordon(int argc, char **argv) {
  return cordon_cmd(argc, argv, false);
}

int cmd_drain(int argc, char **argv) {
  bool force = false, ignore_ds = false, emptydir = false, no_evict = false;
  int64_t grace = -1;
  const char *timeout = NULL, *selector = NULL, *dry_run_v = NULL, *dry_run;
  bool dry_run_set = false;
  const struct cli_flag flags[] = {
      {"force", 0, CLI_BOOL, &force, NULL},
      {"ignore-daemonsets", 0, CLI_BOOL, &ignore_ds, NULL},
      {"delete-emptydir-data", 0, CLI_BOOL, &emptydir, NULL},
      {"disable-eviction", 0, CLI_BOOL, &no_evict, NULL},
      {"grace-period", 0, CLI_INT, &grace, NULL},
      {"timeout", 0, CLI_STRING, &timeout, NULL},
      {"pod-selector", 0, CLI_STRING, &selector, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT; /* freed at out: */
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0 ||
      !(dry_run = cli_dry_run(dry_run_v, dry_run_set)))
    goto out;
  if (npos != 1) {
    rc = cli_fail("USAGE: drain NODE [flags]");
    goto out;
  }
  int64_t tmo = timeout ? cli_parse_duration_s(timeout) : 0;
  if (tmo < 0) {
    rc = cli_fail("invalid argument \"%s\" for \"--timeout\" flag", timeout);
    goto out;
  }
  kube_client_t *c = cli_client();
  if (!c || cordon_one(c, pos[0], true, dry_run) != 0)
    goto out;
  if (!streq(dry_run, "none")) {
    printf("node/%s drained%s\n", pos[0], dry_suffix(dry_run));
    rc = 0;
    goto out;
  }
  kube_drain_options_t o = {.struct_size = sizeof o,
                            .force = force,
                            .ignore_daemonsets = ignore_ds,
                            .delete_emptydir_data = emptydir,
                            .disable_eviction = no_evict,
                            .grace_period = grace,
                            .timeout_ms = tmo * 1000,
                            .pod_selector = selector,
                            .print = print_line};
  if (kube_drain_node(c, pos[0], &o, &err) < 0) {
    fprintf(stderr,
            "error: unable to drain node \"%s\" due to error: %s, continuing "
            "command...\nThere are pending nodes to be drained:\n %s\n",
            pos[0], err.message ? err.message : "", pos[0]);
    /* kubectl's MultipleErrors: each pod's error on a line of its own. */
    if (err.reason == KUBE_REASON_TIMEOUT && err.n_causes)
      for (size_t i = 0; i < err.n_causes; i++)
        fprintf(stderr, "%s\n", err.causes[i].message);
    else
      fprintf(stderr, "error: %s\n", err.message ? err.message : "");
    goto out;
  }
  printf("node/%s drained\n", pos[0]);
  rc = 0;
out:
  free(pos);
  return rc;
}
