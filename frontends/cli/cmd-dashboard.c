/* SPDX-License-Identifier: Apache-2.0 */
/* kube dashboard [--open]: the URL of kubed's web dashboard with a
 * one-time login.  The server hands out a random code valid for one
 * minute and one use (POST /ui/login/codes, authenticated as this
 * client is); the page exchanges it for the bearer token the request was
 * made with, so the URL never carries the token itself.  The URL goes to
 * stdout (for scripts), the explanation to stderr; --open also starts
 * xdg-open on it. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

#include "cli.h"

extern char **environ;

/* xdg-open URL; 0 when it says it opened it. */
static int open_browser(const char *url) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  char *argv[] = {"xdg-open", (char *)url, NULL};
  int rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    ;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int cmd_dashboard(int argc, char **argv) {
  bool open_ = false;
  char **pos = NULL;
  int npos = 0;
  const struct cli_flag flags[] = {{"open", 0, CLI_BOOL, &open_, NULL},
                                   {NULL, 0, 0, NULL, NULL}};
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  free(pos);
  if (npos > 0)
    return cli_fail("usage: kube dashboard [--open]");
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_client_request_t rq = {
      .struct_size = sizeof rq, .method = "POST", .path = "/ui/login/codes"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (kube_client_request(c, &rq, &resp, &err) < 0)
    return cli_report(&err);
  if (resp.status == 404) {
    kube_client_response_clear(&resp);
    return cli_fail("the server serves no dashboard (kubed --no-dashboard?)");
  }
  if (kube_client_check(&resp, &err) < 0) {
    kube_client_response_clear(&resp);
    return cli_report(&err);
  }
  kube_object_t *o = kube_object_from_json(resp.body, resp.body_len, &err);
  kube_client_response_clear(&resp);
  if (!o)
    return cli_report(&err);
  /* The address this client reaches the server at, else the server's own
   * (this client may use the unix socket). */
  const char *server = kube_client_server(c);
  const char *path = kube_object_get_string(o, "path");
  const char *theirs = kube_object_get_string(o, "url");
  cleanup_free char *url = NULL;
  if (path && (str_has_prefix(server, "https://") ||
               str_has_prefix(server, "http://"))) {
    size_t n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
      n--;
    if (asprintf(&url, "%.*s%s", (int)n, server, path) < 0)
      url = NULL;
  } else if (theirs) {
    url = strdup(theirs);
  }
  kube_object_free(o);
  if (!url)
    return cli_fail("the server has no TCP listener: the dashboard is "
                    "served on its HTTPS port");
  printf("%s\n", url);
  fflush(stdout);
  fprintf(stderr, "Open this link within a minute: it signs you in once "
                  "(the page swaps the code for your token and keeps it in "
                  "that tab only).\n");
  if (open_ && open_browser(url) < 0)
    fprintf(stderr, "could not start a browser with xdg-open: open the "
                    "link yourself\n");
  return 0;
}
