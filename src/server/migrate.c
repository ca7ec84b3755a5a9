/* SPDX-License-Identifier: Apache-2.0 */
/* POST /libkube/v1/migrate?to=etcd&etcdEndpoints=URL (cluster admins
 * only): move a running single-server cluster from its SQLite store to
 * etcd, the path DESIGN.md promises to those who outgrow one machine.
 *
 *   1. the API turns read-only (writes get 503 with Retry-After) and the
 *      writes in flight finish;
 *   2. the keys of the store at revision R are copied into etcd, whose
 *      revision is first raised past R so resourceVersions only grow;
 *      a marker key (/libkube/migration) says "in-progress" meanwhile;
 *   3. the store must still be at R (nothing slipped in), the marker says
 *      "complete", and DATA/store.conf records the new store: that
 *      rename is the commit point;
 *   4. the server answers, stops and (kubed) restarts itself on etcd.
 *
 * A crash (kill -9) before the commit point leaves the SQLite store as it
 * was and the cluster starts on it again; the next migration clears the
 * partial copy it finds under an "in-progress" marker.  After it, the
 * cluster starts on etcd with every key.  etcd holding keys of another
 * cluster (no marker) or a finished migration is refused. */
#include <libkube/apiserver.h>

#include "server/internal.h"

#define MARKER "/libkube/migration"
#define IN_FLIGHT 64

struct migration {
  kube_server_t *srv;
  kube_http_request_t *req;
  char *endpoints;
  kube_store_t *etcd;
  kube_store_list_t keys; /* the SQLite store's keys at `rev` */
  int64_t rev;
  size_t next, inflight, copied;
  kube_timer_t *settle, *done;
  bool failed;
  kube_error_t err;
};

static struct migration *running;

/* The timer is freed with the process image (exec) or at exit. */
static void restart_cb(void *arg) {
  srv_request_restart(arg);
}

/* From a timer: store callbacks must not close their store. */
static void finish_cb(void *arg) {
  struct migration *m = arg;
  kube_server_t *srv = m->srv;
  if (m->failed) {
    log_warn("kubed: migration to etcd failed: %s", m->err.message);
    kube_apiserver_set_read_only(kube_server_apiserver(srv), NULL, NULL);
    srv_reply_status(m->req, m->err.reason == KUBE_REASON_CONFLICT ? 409 : 500,
                     m->err.reason == KUBE_REASON_CONFLICT ? "Conflict"
                                                           : "InternalError",
                     m->err.message ? m->err.message : "migration failed");
  } else {
    char msg[600];
    snprintf(msg, sizeof msg,
             "migrated %zu keys at revision %lld to etcd %s; the server "
             "restarts on it",
             m->copied, (long long)m->rev, m->endpoints);
    log_info("kubed: %s", msg);
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append(&sb, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                            "\"metadata\":{},\"status\":\"Success\","
                            "\"message\":");
    kube_strbuf_append_json_string(&sb, msg);
    kube_strbuf_append(&sb, ",\"code\":200}");
    kube_http_reply(m->req, 200, "application/json", sb.data ? sb.data : "",
                    sb.len);
    kube_strbuf_clear(&sb);
    /* Writes stay refused until the restart: the SQLite store is history
     * now.  The reply leaves first (freeing the server closes its
     * connections at once). */
    kube_timer_t *t =
        kube_timer_new(kube_server_loop(srv), restart_cb, srv, NULL);
    if (t)
      kube_timer_arm(t, 500);
    else
      srv_request_restart(srv);
  }
  kube_timer_free(m->settle);
  kube_timer_free(m->done);
  kube_store_close(m->etcd);
  kube_store_list_clear(&m->keys);
  kube_error_clear(&m->err);
  free(m->endpoints);
  free(m);
  running = NULL;
}

static void finish(struct migration *m) {
  kube_timer_arm(m->done, 0);
}

static void fail(struct migration *m, const kube_error_t *e, const char *what) {
  if (m->failed)
    return;
  m->failed = true;
  kube_error_set(&m->err, e && e->reason ? e->reason : KUBE_REASON_INTERNAL, 0,
                 "%s: %s", what, e && e->message ? e->message : "failed");
}

/* ---- 4. commit ---- */

static void marker_done(const kube_store_record_t *rec, const kube_error_t *e,
                        void *arg) {
  struct migration *m = arg;
  if (e) {
    fail(m, e, "mark the migration complete");
    finish(m);
    return;
  }
  char path[4200], conf[1024];
  snprintf(path, sizeof path, "%s/store.conf", kube_server_data_dir(m->srv));
  snprintf(conf, sizeof conf,
           "# Written by kubed's migration: this cluster's store.\n"
           "store etcd\netcd-endpoints %s\n",
           m->endpoints);
  kube_error_t err = KUBE_ERROR_INIT;
  if (srv_write_file(path, conf, 0600, &err) < 0)
    fail(m, &err, "record the new store");
  kube_error_clear(&err);
  finish(m);
}

static void commit(struct migration *m) {
  kube_store_t *old = kube_server_store(m->srv);
  if (kube_store_revision(old) != m->rev) {
    kube_error_t e = {.reason = KUBE_REASON_CONFLICT,
                      .message = "the store changed during the migration "
                                 "(an internal write); run it again"};
    fail(m, &e, "migrate");
    finish(m);
    return;
  }
  char val[64];
  int n = snprintf(val, sizeof val, "complete %lld", (long long)m->rev);
  kube_store_record_t *rec = kube_store_get(m->etcd, MARKER, NULL);
  int64_t at = rec ? rec->mod_revision : 0;
  kube_store_record_unref(rec);
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_store_update(m->etcd, MARKER, val, (size_t)n, at, marker_done, m,
                        &err) < 0) {
    fail(m, &err, "mark the migration complete");
    kube_error_clear(&err);
    finish(m);
  }
}

/* ---- 3. copy ---- */

static void copy_more(struct migration *m);

static void copied(const kube_store_record_t *rec, const kube_error_t *e,
                   void *arg) {
  struct migration *m = arg;
  m->inflight--;
  if (e)
    fail(m, e, "copy a key to etcd");
  else
    m->copied++;
  copy_more(m);
}

static void copy_more(struct migration *m) {
  while (!m->failed && m->inflight < IN_FLIGHT && m->next < m->keys.n) {
    const kube_store_record_t *r = m->keys.items[m->next++];
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_store_create(m->etcd, r->key, r->value, r->value_len, copied, m,
                          &err) < 0)
      fail(m, &err, "copy a key to etcd");
    else
      m->inflight++;
    kube_error_clear(&err);
  }
  if (m->inflight)
    return;
  if (m->failed)
    finish(m);
  else
    commit(m);
}

/* ---- 2. raise etcd's revision past ours, clear a partial copy ---- */

static void step(struct migration *m);

static void stepped(const kube_store_record_t *rec, const kube_error_t *e,
                    void *arg) {
  struct migration *m = arg;
  if (e) {
    fail(m, e, "prepare etcd");
    finish(m);
    return;
  }
  step(m);
}

/* One write at a time until etcd holds no key of ours but the marker and
 * its revision passed ours. */
static void step(struct migration *m) {
  kube_error_t err = KUBE_ERROR_INIT;
  int rc;
  kube_store_list_t l = {0};
  kube_store_list(m->etcd, "/registry/", NULL, 1, &l, NULL);
  if (l.n) {
    rc = kube_store_delete(m->etcd, l.items[0]->key, 0, stepped, m, &err);
    kube_store_list_clear(&l);
  } else if (kube_store_revision(m->etcd) < m->rev + 1) {
    kube_store_record_t *rec = kube_store_get(m->etcd, MARKER, NULL);
    static const char v[] = "in-progress";
    rc = rec ? kube_store_update(m->etcd, MARKER, v, sizeof v - 1,
                                 rec->mod_revision, stepped, m, &err)
             : kube_store_create(m->etcd, MARKER, v, sizeof v - 1, stepped, m,
                                 &err);
    kube_store_record_unref(rec);
  } else {
    log_info("kubed: migrating %zu keys at revision %lld to etcd %s", m->keys.n,
             (long long)m->rev, m->endpoints);
    copy_more(m);
    return;
  }
  if (rc < 0) {
    fail(m, &err, "prepare etcd");
    kube_error_clear(&err);
    finish(m);
  }
}

/* ---- 1. read-only, settle, open etcd ---- */

static void settled(void *arg) {
  struct migration *m = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_store_options_t o = {.struct_size = sizeof o,
                            .backend = "etcd",
                            .etcd_endpoints = m->endpoints,
                            .etcd_prefix = ""};
  if (!(m->etcd = kube_store_open(kube_server_loop(m->srv), &o, &err))) {
    fail(m, &err, "open etcd");
    kube_error_clear(&err);
    finish(m);
    return;
  }
  kube_store_record_t *marker = kube_store_get(m->etcd, MARKER, NULL);
  bool partial = marker && marker->value_len >= 11 &&
                 strncmp(marker->value, "in-progress", 11) == 0;
  kube_store_record_unref(marker);
  if ((marker && !partial) ||
      (!marker && kube_store_count(m->etcd, "/registry/"))) {
    kube_error_t e = {.reason = KUBE_REASON_CONFLICT,
                      .message = "etcd already holds a cluster's keys under "
                                 "/registry/"};
    fail(m, &e, "migrate");
    finish(m);
    return;
  }
  if (partial)
    log_info("kubed: clearing the partial copy of an interrupted migration");
  kube_store_t *old = kube_server_store(m->srv);
  if (kube_store_list(old, "", NULL, 0, &m->keys, &err) < 0) {
    fail(m, &err, "list the store");
    kube_error_clear(&err);
    finish(m);
    return;
  }
  m->rev = m->keys.revision;
  step(m);
}

static void migrate_handler(const kube_apiserver_handler_ctx_t *ctx,
                            void *arg) {
  kube_server_t *srv = arg;
  kube_http_request_t *req = ctx->request;
  if (!streq(kube_http_request_method(req), "POST")) {
    srv_reply_status(req, 405, "MethodNotAllowed", "migrate is a POST");
    return;
  }
  if (!srv_user_is_admin(ctx->user)) {
    srv_reply_status(req, 403, "Forbidden",
                     "only cluster administrators (group system:masters) "
                     "can migrate the store");
    return;
  }
  const char *to = kube_http_request_query_param(req, "to");
  const char *eps = kube_http_request_query_param(req, "etcdEndpoints");
  if (!to || !streq(to, "etcd") || !eps || !*eps) {
    srv_reply_status(req, 400, "BadRequest",
                     "want to=etcd and etcdEndpoints=URL[,URL]");
    return;
  }
  if (!streq(kube_store_backend(kube_server_store(srv)), "sqlite") ||
      !kube_server_data_dir(srv)) {
    srv_reply_status(req, 400, "BadRequest",
                     "only a cluster on the sqlite store migrates to etcd");
    return;
  }
  if (running) {
    srv_reply_status(req, 409, "Conflict", "a migration is running");
    return;
  }
  struct migration *m = calloc(1, sizeof *m);
  if (!m || !(m->endpoints = strdup(eps))) {
    free(m);
    srv_reply_status(req, 500, "InternalError", "out of memory");
    return;
  }
  m->srv = srv;
  m->req = req;
  running = m;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_apiserver_set_read_only(kube_server_apiserver(srv),
                               "the store is being migrated to etcd; retry "
                               "shortly",
                               NULL);
  /* Writes admitted before the switch finish within a commit or two;
   * commit() checks that none came later. */
  m->settle = kube_timer_new(kube_server_loop(srv), settled, m, &err);
  m->done = kube_timer_new(kube_server_loop(srv), finish_cb, m, &err);
  if (!m->settle || !m->done) {
    fail(m, &err, "migrate");
    kube_error_clear(&err);
    if (m->done)
      finish(m);
    else
      finish_cb(m);
    return;
  }
  kube_timer_arm(m->settle, 300);
}

int srv_migrate_register(kube_server_t *srv, kube_error_t *err) {
  return kube_apiserver_handle_path(kube_server_apiserver(srv),
                                    "/libkube/v1/migrate", migrate_handler, srv,
                                    err);
}

/* DATA/store.conf: the store a migration moved the cluster to. */
int srv_store_conf(const char *data_dir, const char **store,
                   char **endpoints_out, kube_error_t *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/store.conf", data_dir);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  char line[1024], *eps = NULL;
  bool etcd = false;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (streq(line, "store etcd"))
      etcd = true;
    else if (str_has_prefix(line, "etcd-endpoints ") && !eps)
      eps = strdup(line + 15);
  }
  fclose(f);
  if (!etcd || !eps) {
    free(eps);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s: not a store configuration", path);
  }
  if (*store && !streq(*store, "etcd")) {
    free(eps);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "this cluster was migrated to etcd (%s): start it "
                          "with --store etcd, or remove the file to go back "
                          "to its old %s store",
                          path, *store);
  }
  *store = "etcd";
  *endpoints_out = eps;
  return 0;
}
