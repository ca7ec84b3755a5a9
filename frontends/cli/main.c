/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd-image.h"
#include "ctr.h"
#include "kube-config.h"

static int cmd_help(int argc, char **argv);

/* Verbs, in the order `kube help` lists them. */
const struct cli_command cli_commands[] = {
    {"version", cmd_version, "Print the client and server version"},
    {"cluster-info", cmd_cluster_info,
     "Display addresses of the control plane and services"},
    {"api-resources", cmd_api_resources,
     "Print the supported API resources on the server"},
    {"get", cmd_get, "Display one or many resources"},
    {"explain", cmd_explain, "Get documentation for a resource"},
    {"describe", cmd_describe,
     "Show details of a specific resource or group of resources"},
    {"create", cmd_create,
     "Create a resource from a file or from stdin, or a "
     "configmap/deployment/job/namespace/secret/service"},
    {"apply", cmd_apply,
     "Apply a configuration to a resource by file name or stdin"},
    {"delete", cmd_delete,
     "Delete resources by file names, stdin, resources and names, or by label "
     "selector"},
    {"edit", cmd_edit, "Edit a resource on the server with $EDITOR"},
    {"patch", cmd_patch,
     "Update fields of a resource (strategic, merge or JSON patch)"},
    {"label", cmd_label, "Update the labels on a resource"},
    {"annotate", cmd_annotate, "Update the annotations on a resource"},
    {"scale", cmd_scale,
     "Set a new size for a deployment, replica set or replication controller"},
    {"autoscale", cmd_autoscale,
     "Auto-scale a deployment, replica set, stateful set, or replication "
     "controller"},
    {"top", cmd_top, "Display resource (CPU/memory) usage of nodes or pods"},
    {"rollout", cmd_rollout, "Manage the rollout of a resource"},
    {"set", cmd_set,
     "Set specific features on objects: image, env, resources"},
    {"wait", cmd_wait,
     "Experimental: Wait for a specific condition on one or many resources"},
    {"cordon", cmd_cordon, "Mark node as unschedulable"},
    {"uncordon", cmd_uncordon, "Mark node as schedulable"},
    {"drain", cmd_drain, "Drain node in preparation for maintenance"},
    {"run", cmd_run, "Run a particular image on the cluster"},
    {"expose", cmd_expose,
     "Take a deployment, service or pod and expose it as a new service"},
    {"logs", cmd_logs, "Print the logs for a container in a pod"},
    {"exec", cmd_exec, "Execute a command in a container"},
    {"attach", cmd_attach, "Attach to a running container"},
    {"debug", cmd_debug,
     "Create debugging sessions for troubleshooting workloads and nodes"},
    {"port-forward", cmd_port_forward,
     "Forward one or more local ports to a pod"},
    {"cp", cmd_cp, "Copy files and directories to and from containers"},
    {"build", cmd_build, "Build an image from a Dockerfile"},
    {"image", cmd_image, "Manage images: ls|inspect|pull|push|tag|rm|prune|import|export"},
    {"push", cmd_push, "Push an image to a registry"},
    {"container", cmd_container,
     "Single containers without a cluster: run|ls|logs|exec|inspect|stop|"
     "start|rm|port"},
    {"runtime", cmd_runtime,
     "OCI runtime: create|start|run|state|kill|delete|list|exec|spec"},
    {"backup", cmd_backup,
     "Write a consistent snapshot of the cluster's store to a file"},
    {"migrate", cmd_migrate,
     "Move a running cluster from its SQLite store to etcd"},
    {"config", cmd_config,
     "Cluster access: new-user writes a user's kubeconfig (client "
     "certificate)"},
    {"dashboard", cmd_dashboard,
     "Print (--open: open) the web dashboard's URL with a one-time login"},
    {"completion", cmd_completion,
     "Output shell completion code for bash or zsh"},
    {"help", cmd_help, "Show this help"},
};
const size_t cli_n_commands = sizeof cli_commands / sizeof cli_commands[0];

static const struct cli_command *find_command(const char *name) {
  for (size_t i = 0; i < cli_n_commands; i++)
    if (strcmp(name, cli_commands[i].name) == 0)
      return &cli_commands[i];
  return NULL;
}

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

/* `kube help`, `kube --help`; `kube help VERB` is `kube VERB --help`. */
static int cmd_help(int argc, char **argv) {
  if (argc > 1) {
    const struct cli_command *c = find_command(argv[1]);
    if (!c || c->fn == cmd_help)
      return cli_fail("unknown command \"%s\" for \"kube\"", argv[1]);
    char *help_argv[] = {argv[1], "--help", NULL};
    return c->fn(2, help_argv);
  }
  printf("kube controls a libkube cluster and its containers.\n\nCommands:\n");
  for (size_t i = 0; i < cli_n_commands; i++)
    printf("  %-14s %s\n", cli_commands[i].name, cli_commands[i].help);
  printf("\nUse \"kube <command> --help\" for more information about a "
         "command.\n");
  return 0;
}

int main(int argc, char **argv) {
  const char *self = strrchr(argv[0], '/');
  self = self ? self + 1 : argv[0];
  /* Installed as an alias, the binary speaks runc's command line. */
  if (strcmp(self, "kube-runtime") == 0)
    return cmd_runtime(argc, argv);
  if (argc < 2)
    return cmd_help(1, argv) ? 1 : 1;
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return cmd_help(1, argv);
  if (strcmp(argv[1], "__complete") == 0)
    return cmd_complete(argc - 1, argv + 1);
  /* Global flags may precede the verb (kube --server X get pods): move
   * them after it, where every verb's flag parser accepts them. */
  int verb = 1;
  while (verb < argc && argv[verb][0] == '-' && argv[verb][1]) {
    const char *a = argv[verb];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
      return cmd_help(1, argv);
    bool takes_value = !strchr(a, '=') &&
                       strcmp(a, "--insecure-skip-tls-verify") != 0 &&
                       (a[1] == '-' || strlen(a) == 2);
    verb += takes_value ? 2 : 1;
  }
  if (verb >= argc)
    return cli_fail("a command is required; see 'kube help'");
  if (verb > 1) {
    char **moved = calloc((size_t)argc + 1, sizeof *moved);
    if (!moved)
      return cli_fail("out of memory");
    int n = 0;
    moved[n++] = argv[0];
    moved[n++] = argv[verb];
    for (int i = 1; i < verb; i++)
      moved[n++] = argv[i];
    for (int i = verb + 1; i < argc; i++)
      moved[n++] = argv[i];
    argv = moved; /* lives until exit */
  }
  const struct cli_command *c = find_command(argv[1]);
  if (c)
    return c->fn(argc - 1, argv + 1);
  return cli_fail("unknown command \"%s\" for \"kube\"", argv[1]);
}
