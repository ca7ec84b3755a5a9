/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kube-config.h"

static int cmd_version(int argc, char **argv) {
  printf("Client Version: v%s\n", KUBE_VERSION);
  return 0;
}

static int cmd_help(int argc, char **argv);

/* Verbs, in the order `kube help` lists them. */
static const struct cli_command commands[] = {
    {"version", cmd_version, "Print the client and server version"},
    {"runtime", cmd_runtime, "OCI runtime: create|start|run|state|kill|delete|list|exec|spec"},
    {"help", cmd_help, "Show this help"},
};

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

static int cmd_help(int argc, char **argv) {
  printf("kube controls a libkube cluster and its containers.\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    printf("  %-14s %s\n", commands[i].name, commands[i].help);
  return 0;
}

int main(int argc, char **argv) {
  const char *self = strrchr(argv[0], '/');
  self = self ? self + 1 : argv[0];
  /* Installed as an alias, the binary speaks runc's command line. */
  if (strcmp(self, "kube-runtime") == 0)
    return cmd_runtime(argc, argv);
  if (argc < 2)
    return cmd_help(argc, argv) ? 1 : 1;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].fn(argc - 1, argv + 1);
  return cli_fail("unknown command \"%s\" for \"kube\"", argv[1]);
}
