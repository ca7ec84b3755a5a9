/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube config new-user NAME [--group G]... [-o FILE]: a kubeconfig for a
 * user of the cluster, with a client certificate (CN NAME, O the groups)
 * signed by the cluster CA in DATA/ca.key (run it where kubed keeps its
 * data, as root or kubed's user).  What the user may do is then RBAC's:
 * `kube create rolebinding ... --user NAME`.
 *
 * kube config join-node NAME --server URL --token JOIN
 * --certificate-authority CA: a node's kubeconfig from its TLS bootstrap.
 */
#include <stdio.h>

#include <libkube/apiserver.h>

#include "cli.h"
#include "kube-config.h"

static void usage(FILE *f) {
  fprintf(f,
          "Write a kubeconfig for a new user, with a client certificate "
          "signed by\nthe cluster CA (CN = user, O = groups).\n\n"
          "usage: kube config new-user NAME [--group GROUP]... [-o FILE]\n"
          "         [--data-dir DIR] [--server URL] [--days N]\n\n"
          "  --group, -g GROUP   a group of the user (repeatable)\n"
          "  --output, -o FILE   where to write it (default NAME.kubeconfig)\n"
          "  --data-dir DIR      kubed's data directory, with ca.crt and "
          "ca.key\n"
          "                      (default %s)\n"
          "  --server URL        the API server (default: the server of\n"
          "                      DIR/kubeconfig.yaml)\n"
          "  --days N            validity of the certificate (default 365)\n",
          KUBE_DEFAULT_DATA_DIR);
}

/* The server: line of DIR/kubeconfig.yaml (kubed writes it). */
static char *server_of(const char *dir) {
  char path[4200], line[1024];
  snprintf(path, sizeof path, "%s/kubeconfig.yaml", dir);
  FILE *f = fopen(path, "re");
  if (!f)
    return NULL;
  char *out = NULL;
  while (!out && fgets(line, sizeof line, f)) {
    const char *p = line;
    while (*p == ' ')
      p++;
    if (str_has_prefix(p, "server: ")) {
      p += 8;
      out = strndup(p, strcspn(p, "\r\n"));
    }
  }
  fclose(f);
  return out;
}

static int new_user(int argc, char **argv) {
  struct cli_strv groups = {0};
  const char *output = NULL, *dir = KUBE_DEFAULT_DATA_DIR;
  int64_t days = 365;
  bool help = false;
  const struct cli_flag flags[] = {
      {"group", 'g', CLI_STRINGS, &groups, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"data-dir", 0, CLI_STRING, &dir, NULL},
      {"days", 0, CLI_INT, &days, NULL},
      {"help", 'h', CLI_BOOL, &help, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  if (help) {
    free(pos);
    free(groups.v);
    usage(stdout);
    return 0;
  }
  if (npos != 1) {
    free(pos);
    free(groups.v);
    return cli_fail("exactly one user name is required; see 'kube config "
                    "new-user --help'");
  }
  const char *user = pos[0];
  cleanup_free char *def_out = NULL;
  if (!output && asprintf(&def_out, "%s.kubeconfig", user) >= 0)
    output = def_out;
  cleanup_free char *server =
      cli_g.server ? strdup(cli_g.server) : server_of(dir);
  char ca[4200], key[4200];
  snprintf(ca, sizeof ca, "%s/ca.crt", dir);
  snprintf(key, sizeof key, "%s/ca.key", dir);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int rc = output ? kube_apiserver_write_user_kubeconfig(
                        output, server ? server : "https://127.0.0.1:6443", ca,
                        key, user, groups.v, (int)days, &err)
                  : -1;
  free(pos);
  free(groups.v);
  if (rc < 0)
    return cli_fail("%s", err.message ? err.message : "out of memory");
  printf("kubeconfig for user \"%s\" written to %s\n", user, output);
  return 0;
}

/* kube config join-node NAME: a node's TLS bootstrap with the join token
 * (kube_client_node_join), as `kubeadm join` does it for the kubelet. */
static int join_node(int argc, char **argv) {
  const char *output = NULL;
  int64_t timeout = 60;
  bool help = false;
  const struct cli_flag flags[] = {
      {"output", 'o', CLI_STRING, &output, NULL},
      {"timeout", 0, CLI_INT, &timeout, NULL},
      {"help", 'h', CLI_BOOL, &help, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  if (help || npos != 1) {
    free(pos);
    fprintf(help ? stdout : stderr,
            "Join a node: ask the cluster CA for a client certificate "
            "(CN system:node:NAME,\nO system:nodes) with the join token "
            "(kubed's DATA/join-token) and write\na kubeconfig with it.\n\n"
            "usage: kube config join-node NAME --server URL --token TOKEN\n"
            "         --certificate-authority CA.crt [-o FILE] "
            "[--timeout SECONDS]\n");
    return help ? 0 : 1;
  }
  if (!cli_g.server || !cli_g.token) {
    free(pos);
    return cli_fail("--server and --token (the join token) are required");
  }
  cleanup_free char *def_out = NULL;
  if (!output && asprintf(&def_out, "%s.kubeconfig", pos[0]) >= 0)
    output = def_out;
  kube_client_join_options_t o = {
      .struct_size = sizeof o,
      .server = cli_g.server,
      .ca_file = cli_g.certificate_authority,
      .token = cli_g.token,
      .node_name = pos[0],
      .kubeconfig_out = output,
      .timeout_ms = (int)timeout * 1000,
  };
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int rc = output ? kube_client_node_join(&o, &err) : -1;
  if (rc < 0) {
    free(pos);
    return cli_report(&err);
  }
  printf("node \"%s\" joined: kubeconfig written to %s\n", pos[0], output);
  free(pos);
  return 0;
}

int cmd_config(int argc, char **argv) {
  if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (streq(argv[1], "new-user"))
    return new_user(argc - 1, argv + 1);
  if (streq(argv[1], "join-node"))
    return join_node(argc - 1, argv + 1);
  return cli_fail("unknown command \"%s\" for \"kube config\"", argv[1]);
}
