/* SPDX-License-Identifier: Apache-2.0 */
/* kube backup FILE: a consistent snapshot of the cluster's store, taken by
 * the server while it serves (GET /libkube/v1/backup, cluster admins
 * only), written to FILE atomically (FILE.tmp, fsync, rename) with mode
 * 0600: it holds every Secret.  `kubed server --restore FILE` restores it.
 *
 * kube migrate --to etcd --etcd-endpoints URL: moves a running
 * single-server cluster from its SQLite store to etcd (POST
 * /libkube/v1/migrate); the server copies every key, records the new store
 * in its data directory and restarts on it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"

static int write_file(const char *path, const char *data, size_t len) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod(fd, 0600) < 0)
    return cli_fail("cannot write %s: %s", tmp, strerror(errno));
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return cli_fail("cannot write %s: %s", tmp, strerror(e));
    }
    off += (size_t)n;
  }
  if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return cli_fail("cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

int cmd_backup(int argc, char **argv) {
  char **pos = NULL;
  int npos = 0;
  const struct cli_flag flags[] = {{NULL, 0, 0, NULL, NULL}};
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  cleanup_free char *file = npos == 1 ? strdup(pos[0]) : NULL;
  free(pos);
  if (!file)
    return cli_fail("usage: kube backup FILE");
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_client_request_t rq = {.struct_size = sizeof rq,
                              .method = "GET",
                              .path = "/libkube/v1/backup",
                              .accept = "application/vnd.sqlite3"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (kube_client_request(c, &rq, &resp, &err) < 0 ||
      kube_client_check(&resp, &err) < 0) {
    kube_client_response_clear(&resp);
    return cli_report(&err);
  }
  /* A SQLite database or nothing: never write a proxy's error page. */
  if (resp.body_len < 100 || memcmp(resp.body, "SQLite format 3", 16) != 0) {
    kube_client_response_clear(&resp);
    return cli_fail("the server's answer is not a snapshot");
  }
  int rc = write_file(file, resp.body, resp.body_len);
  if (rc == 0)
    printf("backup written to %s (%zu bytes)\n", file, resp.body_len);
  kube_client_response_clear(&resp);
  return rc;
}

int cmd_migrate(int argc, char **argv) {
  char **pos = NULL;
  int npos = 0;
  const char *to = NULL, *endpoints = NULL;
  const struct cli_flag flags[] = {
      {"to", 0, CLI_STRING, &to, NULL},
      {"etcd-endpoints", 0, CLI_STRING, &endpoints, NULL},
      {NULL, 0, 0, NULL, NULL}};
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  free(pos);
  if (npos || !to || !streq(to, "etcd") || !endpoints || !*endpoints)
    return cli_fail("usage: kube migrate --to etcd --etcd-endpoints URL");
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_free char *ep = kube_client_query_escape(endpoints);
  cleanup_free char *query = NULL;
  if (!ep || asprintf(&query, "to=etcd&etcdEndpoints=%s", ep) < 0)
    return cli_fail("out of memory");
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_client_request_t rq = {.struct_size = sizeof rq,
                              .method = "POST",
                              .path = "/libkube/v1/migrate",
                              .query = query};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (kube_client_request(c, &rq, &resp, &err) < 0 ||
      kube_client_check(&resp, &err) < 0) {
    kube_client_response_clear(&resp);
    return cli_report(&err);
  }
  printf("%s\n", resp.body);
  kube_client_response_clear(&resp);
  return 0;
}
