/* SPDX-License-Identifier: Apache-2.0 */
/* kube version: client version, and the server's from GET /version. */
#include <stdio.h>
#include <stdlib.h>

#include "api/api-private.h"
#include "cli.h"
#include "core/util.h"
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
  json_object *server = NULL;
  int rc = 0;
  if (!client_only) {
    kube_client_t *c = cli_client();
    if (!c)
      return 1;
    kube_client_request_t req = {
        .struct_size = sizeof req, .method = "GET", .path = "/version"};
    kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (kube_client_request(c, &req, &resp, &err) < 0 ||
        kube_client_check(&resp, &err) < 0 ||
        !(server = kube_json_parse(resp.body, resp.body_len, &err)))
      rc = -1;
    kube_client_response_clear(&resp);
    if (rc < 0) {
      if (!output)
        printf("Client Version: v%s\n", KUBE_VERSION);
      return cli_report(&err);
    }
  }
  if (output) {
    json_object *v = json_object_new_object(), *cv = json_object_new_object();
    json_object_object_add(cv, "gitVersion",
                           json_object_new_string("v" KUBE_VERSION));
    json_object_object_add(cv, "platform", json_object_new_string("linux"));
    json_object_object_add(v, "clientVersion", cv);
    if (server)
      json_object_object_add(v, "serverVersion", json_object_get(server));
    kube_object_t *o = kube_object_wrap(v);
    cli_print_object(o, streq(output, "json") ? CLI_OUT_JSON : CLI_OUT_YAML,
                     NULL);
    kube_object_free(o);
  } else {
    printf("Client Version: v%s\n", KUBE_VERSION);
    if (server) {
      const char *gv = kube_json_get_string(server, "gitVersion");
      printf("Server Version: %s\n", gv ? gv : "unknown");
    }
  }
  json_object_put(server);
  return 0;
}
