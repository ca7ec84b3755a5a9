/* SPDX-License-Identifier: Apache-2.0 */
/* GET /libkube/v1/backup: a consistent snapshot of the store while the
 * server keeps serving (kube_store_snapshot_*: SQLite's online backup
 * API for the sqlite store, the keys at one revision for etcd), written
 * by a worker thread and sent as application/vnd.sqlite3.  Cluster admins
 * only (group system:masters): the snapshot holds every Secret.
 * `kube backup FILE` fetches it; `kubed server --restore FILE` restores
 * it into a fresh data directory. */
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

#include <libkube/apiserver.h>

#include "server/internal.h"

struct backup_job {
  kube_server_t *srv;
  kube_http_request_t *req;
  kube_store_snapshot_t *snap;
  char path[4200];
  kube_error_t err;
};

/* A Status body, as the API server's own refusals. */
void srv_reply_status(kube_http_request_t *req, int code, const char *reason,
                      const char *message) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                          "\"metadata\":{},\"status\":\"Failure\","
                          "\"message\":");
  kube_strbuf_append_json_string(&sb, message);
  kube_strbuf_printf(&sb, ",\"reason\":\"%s\",\"code\":%d}", reason, code);
  kube_http_reply(req, code, "application/json", sb.data ? sb.data : "",
                  sb.len);
  kube_strbuf_clear(&sb);
}

bool srv_user_is_admin(const kube_apiserver_user_t *u) {
  for (size_t i = 0; u && u->groups && u->groups[i]; i++)
    if (streq(u->groups[i], "system:masters"))
      return true;
  return false;
}

static void backup_work(void *arg) {
  struct backup_job *j = arg;
  kube_store_snapshot_write(j->snap, j->path, &j->err);
}

static char *read_all(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t off = 0;
  while (buf && off < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      free(buf);
      buf = NULL;
      break;
    }
    off += (size_t)n;
  }
  close(fd);
  *len = off;
  return buf;
}

static void backup_done(void *arg) {
  struct backup_job *j = arg;
  kube_store_snapshot_free(j->snap);
  size_t len = 0;
  char *data = j->err.message ? NULL : read_all(j->path, &len);
  unlink(j->path);
  if (!data) {
    log_warn("kubed: backup failed: %s",
             j->err.message ? j->err.message : "cannot read the snapshot");
    srv_reply_status(j->req, 500, "InternalError",
                     j->err.message ? j->err.message : "backup failed");
  } else {
    log_info("kubed: backup of %zu bytes sent", len);
    kube_http_reply_take(j->req, 200, "application/vnd.sqlite3", data, len);
  }
  kube_error_clear(&j->err);
  free(j);
}

static void backup_handler(const kube_apiserver_handler_ctx_t *ctx, void *arg) {
  kube_server_t *srv = arg;
  kube_http_request_t *req = ctx->request;
  if (!streq(kube_http_request_method(req), "GET")) {
    srv_reply_status(req, 405, "MethodNotAllowed", "backup is a GET");
    return;
  }
  if (!srv_user_is_admin(ctx->user)) {
    char msg[300];
    snprintf(msg, sizeof msg,
             "User \"%s\" cannot get the store backup: only cluster "
             "administrators (group system:masters) can",
             ctx->user && ctx->user->name ? ctx->user->name : "");
    srv_reply_status(req, 403, "Forbidden", msg);
    return;
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct backup_job *j = calloc(1, sizeof *j);
  kube_workers_t *workers = j ? kube_server_workers(srv, &err) : NULL;
  if (!j || !workers ||
      !(j->snap = kube_store_snapshot_begin(kube_server_store(srv), &err))) {
    free(j);
    srv_reply_status(req, 500, "InternalError",
                     err.message ? err.message : "out of memory");
    return;
  }
  static unsigned seq;
  const char *dir = kube_server_data_dir(srv);
  snprintf(j->path, sizeof j->path, "%s/backup-%d-%u.db", dir ? dir : "/tmp",
           (int)getpid(), ++seq);
  j->srv = srv;
  j->req = req;
  if (kube_workers_submit(workers, backup_work, backup_done, j, &err) < 0) {
    kube_store_snapshot_free(j->snap);
    free(j);
    srv_reply_status(req, 500, "InternalError", err.message);
  }
}

/* Snapshots a killed server was writing or sending. */
static void remove_stale(const char *dir) {
  char pat[4200];
  snprintf(pat, sizeof pat, "%s/backup-*.db*", dir);
  glob_t g;
  if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
    return;
  for (size_t i = 0; i < g.gl_pathc; i++)
    unlink(g.gl_pathv[i]);
  globfree(&g);
}

int srv_backup_register(kube_server_t *srv, kube_error_t *err) {
  if (kube_server_data_dir(srv))
    remove_stale(kube_server_data_dir(srv));
  return kube_apiserver_handle_path(kube_server_apiserver(srv),
                                    "/libkube/v1/backup", backup_handler, srv,
                                    err);
}

int srv_restore(const char *data_dir, const char *store, const char *file,
                kube_error_t *err) {
  if (!streq(store, "sqlite"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "--restore needs the sqlite store (restore, then "
                          "`kube migrate --to etcd` moves it)");
  char db[4200];
  snprintf(db, sizeof db, "%s/store.db", data_dir);
  int64_t rev = 0;
  if (kube_store_restore(file, db, &rev, err) < 0)
    return kube_error_wrap(err, "restore %s", file);
  log_info("kubed: restored %s into %s (revision %lld)", file, db,
           (long long)rev);
  return 0;
}
