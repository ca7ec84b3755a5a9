/* SPDX-License-Identifier: Apache-2.0 */
/* kube edit TYPE NAME: YAML in $KUBE_EDITOR / $EDITOR, then replace. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "cli.h"

/* Run the editor on path through the shell, as kubectl does. */
static int run_editor(const char *path) {
  const char *ed = getenv("KUBE_EDITOR");
  if (!ed || !*ed)
    ed = getenv("EDITOR");
  if (!ed || !*ed)
    ed = "vi";
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path, (char *)NULL);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int cmd_edit(int argc, char **argv) {
  const char *output = NULL;
  const struct cli_flag flags[] = {
      {"output", 'o', CLI_STRING, &output, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_object_t *live = NULL, **edited = NULL;
  size_t nedited = 0;
  char *before = NULL, *after = NULL;
  char path[] = "/tmp/kube-edit-XXXXXX.yaml";
  bool have_file = false;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *edited_yaml = NULL;
  kube_output_t out;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (cli_output_parse(output, &out) < 0)
    goto out;
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  if (nrefs != 1 || !refs[0].name) {
    rc = cli_fail("edit needs exactly one resource: TYPE NAME or TYPE/NAME");
    goto out;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  live = kube_client_get(c, refs[0].kind, cli_namespace(), refs[0].name, &err);
  if (!live) {
    rc = cli_report(&err);
    goto out;
  }
  before = kube_object_to_yaml(live);
  int fd = mkstemps(path, 5);
  if (!before || fd < 0) {
    rc = cli_fail("cannot create a temporary file: %s", strerror(errno));
    goto out;
  }
  have_file = true;
  const char *hdr =
      "# Please edit the object below. Lines beginning with a '#' "
      "will be ignored,\n# and an empty file will abort the edit.\n#\n";
  if (write(fd, hdr, strlen(hdr)) < 0 ||
      write(fd, before, strlen(before)) < 0) {
    close(fd);
    rc = cli_fail("writing %s: %s", path, strerror(errno));
    goto out;
  }
  close(fd);
  if (run_editor(path) < 0) {
    rc = cli_fail("there was a problem with the editor");
    goto out;
  }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  size_t len = 0;
  after = fd >= 0 ? cli_slurp_fd(fd, &len) : NULL;
  if (fd >= 0)
    close(fd);
  if (!after) {
    rc = cli_fail("reading %s: %s", path, strerror(errno));
    goto out;
  }
  if (kube_objects_decode(after, len, &edited, &nedited, &err) < 0) {
    rc = cli_fail("the edited file had a syntax error: %s", err.message);
    goto out;
  }
  if (nedited == 0) {
    fprintf(stderr, "Edit cancelled, saved file was empty.\n");
    rc = 0;
    goto out;
  }
  edited_yaml = kube_object_to_yaml(edited[0]);
  if (edited_yaml && streq(edited_yaml, before)) {
    fprintf(stderr, "Edit cancelled, no changes made.\n");
    rc = 0;
    goto out;
  }
  kube_object_t *res = kube_client_replace(c, refs[0].kind, cli_namespace(),
                                           edited[0], NULL, &err);
  if (!res) {
    cli_print_error(&err);
    fprintf(stderr, "A copy of your changes has been stored to \"%s\"\n", path);
    have_file = false;
    goto out;
  }
  rc = cli_print_result(res, refs[0].kind, "edited", &out, "none");
  kube_object_free(res);
out:
  if (have_file)
    unlink(path);
  kube_object_array_free(edited, nedited);
  kube_object_free(live);
  free(before);
  free(after);
  free(refs);
  free(pos);
  return rc;
}
