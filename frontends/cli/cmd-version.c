/* SPDX-License-Identifier: Apache-2.0 */
/* kube version: client version, and the server's from GET /version. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "kube-config.h"

int cmd_version(int argc, char **argv) {
  bool client_only = false;
  const char *output = NULL;
  const struct cli_flag flags[] = {
      {"client", 0, CLI_BOOL, &client_only, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  free(pos);
  if (output && !streq(output, "json") && !streq(output, "yaml"))
    return cli_fail("--output must be 'yaml' or 'json'");
  kube_object_t *server = NULL;
  cleanup_free char *server_json = NULL;
  if (!client_only) {
    kube_client_t *c = cli_client();
    if (!c)
      return 1;
    kube_client_request_t req = {
        .struct_size = sizeof req, .method = "GET", .path = "/version"};
    kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (kube_client_request(c, &req, &resp, &err) == 0 &&
        kube_client_check(&resp, &err) == 0 &&
        (server = kube_object_from_json(resp.body, resp.body_len, &err)))
      server_json = resp.body, resp.body = NULL;
    kube_client_response_clear(&resp);
    if (!server) {
      if (!output)
        printf("Client Version: v%s\n", KUBE_VERSION);
      return cli_report(&err);
    }
  }
  if (output) {
    cleanup_free char *text = NULL;
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (asprintf(&text,
                 "{\"clientVersion\":{\"gitVersion\":\"v%s\",\"platform\":"
                 "\"linux\"}%s%s}",
                 KUBE_VERSION, server_json ? ",\"serverVersion\":" : "",
                 server_json ? server_json : "") < 0)
      text = NULL;
    kube_object_t *o =
        text ? kube_object_from_json(text, strlen(text), &err) : NULL;
    kube_output_t out = {
        streq(output, "json") ? KUBE_OUTPUT_JSON : KUBE_OUTPUT_YAML, NULL};
    if (o)
      cli_print_object(o, &out);
    kube_object_free(o);
  } else {
    printf("Client Version: v%s\n", KUBE_VERSION);
    if (server) {
      const char *gv = kube_object_get_string(server, "gitVersion");
      printf("Server Version: %s\n", gv ? gv : "unknown");
    }
  }
  kube_object_free(server);
  return 0;
}
