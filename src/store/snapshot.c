/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots and restores.  A snapshot is always a SQLite database in the
 * sqlite backend's own schema (tables kv and meta), whatever the backend:
 * a copy made with SQLite's online backup API for the sqlite backend (a
 * read transaction on a connection of its own: the store keeps serving
 * and writing), the cached keys at one revision for the others (etcd's
 * keys under our prefix, as the store sees them).  So any snapshot
 * restores into a sqlite store, and `kube migrate` reads the same file. */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/internal.h"

struct kube_store_snapshot {
  char *db_path;          /* sqlite: copy this database */
  kube_store_list_t list; /* others: these records */
  int64_t revision;
};

KUBE_EXPORT kube_store_snapshot_t *
kube_store_snapshot_begin(kube_store_t *s, kube_error_t *err) {
  kube_store_snapshot_t *snap = calloc(1, sizeof *snap);
  if (!snap) {
    kube_make_oom(err);
    return NULL;
  }
  snap->revision = s->revision;
  if (s->be == &store_backend_sqlite) {
    if (!(snap->db_path = strdup(s->path))) {
      free(snap);
      kube_make_oom(err);
      return NULL;
    }
    return snap;
  }
  if (kube_store_list(s, "", NULL, 0, &snap->list, err) < 0) {
    free(snap);
    return NULL;
  }
  snap->revision = snap->list.revision;
  return snap;
}

KUBE_EXPORT int64_t
kube_store_snapshot_revision(const kube_store_snapshot_t *snap) {
  return snap ? snap->revision : 0;
}

KUBE_EXPORT void kube_store_snapshot_free(kube_store_snapshot_t *snap) {
  if (!snap)
    return;
  kube_store_list_clear(&snap->list);
  free(snap->db_path);
  free(snap);
}

static int sq_fail(kube_error_t *err, sqlite3 *db, const char *what,
                   const char *path) {
  return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "%s %s: %s", what, path,
                        db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(sqlite3 *db, const char *sql, const char *path,
                kube_error_t *err) {
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return sq_fail(err, db, "write", path);
  return 0;
}

static int write_rows(sqlite3 *db, const kube_store_snapshot_t *snap,
                      const char *path, kube_error_t *err) {
  if (exec(db, store_sqlite_schema, path, err) < 0 ||
      exec(db, "BEGIN", path, err) < 0)
    return -1;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO kv VALUES (?1, ?2, ?3, ?4)", -1, &st,
                         NULL) != SQLITE_OK)
    return sq_fail(err, db, "write", path);
  for (size_t i = 0; i < snap->list.n; i++) {
    const kube_store_record_t *r = snap->list.items[i];
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r->value, (int)r->value_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->create_revision);
    sqlite3_bind_int64(st, 4, r->mod_revision);
    if (sqlite3_step(st) != SQLITE_DONE) {
      sqlite3_finalize(st);
      return sq_fail(err, db, "write", path);
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  char sql[128];
  snprintf(sql, sizeof sql,
           "INSERT INTO meta (id, revision) VALUES (1, %lld); COMMIT",
           (long long)snap->revision);
  return exec(db, sql, path, err);
}

/* Copy database `from` into `to` (both open) with the online backup API:
 * one step over every page, so one read transaction: consistent. */
static int backup_copy(sqlite3 *to, sqlite3 *from, const char *path,
                       kube_error_t *err) {
  sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
  if (!b)
    return sq_fail(err, to, "backup", path);
  int rc;
  while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
         rc == SQLITE_LOCKED)
    sqlite3_sleep(10);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    return sq_fail(err, to, "backup", path);
  return 0;
}

static int fsync_path(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

static int fsync_dir_of(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

/* A new database file at tmp (mode 0600), filled by fill(), made durable
 * and renamed to path: a crash leaves the old path or the whole new one. */
static int write_atomically(const char *path,
                            int (*fill)(sqlite3 *db, const void *arg,
                                        const char *path, kube_error_t *err),
                            const void *arg, kube_error_t *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  unlink(tmp);
  int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return kube_error_set(err, KUBE_REASON_INTERNAL, errno, "create %s: %s",
                          tmp, strerror(errno));
  close(fd);
  sqlite3 *db = NULL;
  int rc = -1;
  if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    sq_fail(err, db, "open", tmp);
    goto out;
  }
  /* A plain rollback-journal file: one file to move, nothing beside it. */
  if (exec(db, "PRAGMA journal_mode=DELETE", tmp, err) < 0 ||
      fill(db, arg, tmp, err) < 0)
    goto out;
  if (sqlite3_close(db) != SQLITE_OK) {
    sq_fail(err, db, "close", tmp);
    goto out;
  }
  db = NULL;
  if (fsync_path(tmp, O_RDONLY) < 0 || rename(tmp, path) < 0 ||
      fsync_dir_of(path) < 0) {
    kube_error_set(err, KUBE_REASON_INTERNAL, errno, "write %s: %s", path,
                   strerror(errno));
    goto out;
  }
  rc = 0;
out:
  if (db)
    sqlite3_close(db);
  if (rc < 0)
    unlink(tmp);
  return rc;
}

static int fill_snapshot(sqlite3 *db, const void *arg, const char *path,
                         kube_error_t *err) {
  const kube_store_snapshot_t *snap = arg;
  if (!snap->db_path)
    return write_rows(db, snap, path, err);
  sqlite3 *src = NULL;
  int rc = -1;
  if (sqlite3_open_v2(snap->db_path, &src, SQLITE_OPEN_READONLY, NULL) !=
      SQLITE_OK)
    sq_fail(err, src, "open", snap->db_path);
  else
    rc = backup_copy(db, src, path, err);
  sqlite3_close(src);
  /* The copy keeps the source's journal mode (WAL): back to one file. */
  if (rc == 0)
    rc = exec(db, "PRAGMA journal_mode=DELETE", path, err);
  return rc;
}

KUBE_EXPORT int kube_store_snapshot_write(const kube_store_snapshot_t *snap,
                                          const char *path, kube_error_t *err) {
  if (!snap || !path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "snapshot: a snapshot and a path are required");
  return write_atomically(path, fill_snapshot, snap, err);
}

/* A snapshot file: our two tables, intact. */
static int check_snapshot(sqlite3 *db, const char *path, int64_t *revision,
                          kube_error_t *err) {
  sqlite3_stmt *st = NULL;
  bool ok = false;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    ok = streq((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  st = NULL;
  if (ok &&
      sqlite3_prepare_v2(db,
                         /* The sqlite backend keeps meta.revision
                          * for deletes only: the newest of both. */
                         "SELECT max(revision, coalesce((SELECT "
                         "max(mod_rev) FROM kv), 0)) FROM meta WHERE "
                         "id = 1",
                         -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    *revision = sqlite3_column_int64(st, 0);
  else
    ok = false;
  sqlite3_finalize(st);
  if (!ok)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s is not a libkube snapshot (or is damaged)", path);
  return 0;
}

struct restore_src {
  sqlite3 *src;
};

static int fill_restore(sqlite3 *db, const void *arg, const char *path,
                        kube_error_t *err) {
  const struct restore_src *r = arg;
  if (backup_copy(db, r->src, path, err) < 0)
    return -1;
  /* The store opens it in WAL mode itself. */
  return exec(db, "PRAGMA journal_mode=DELETE", path, err);
}

KUBE_EXPORT int kube_store_restore(const char *snapshot, const char *db_path,
                                   int64_t *revision, kube_error_t *err) {
  struct stat st;
  if (lstat(db_path, &st) == 0)
    return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, EEXIST,
                          "%s exists: restore only into a fresh data "
                          "directory",
                          db_path);
  struct restore_src r = {0};
  int64_t rev = 0;
  int rc = -1;
  if (sqlite3_open_v2(snapshot, &r.src, SQLITE_OPEN_READONLY, NULL) !=
      SQLITE_OK) {
    sq_fail(err, r.src, "open", snapshot);
    goto out;
  }
  if (check_snapshot(r.src, snapshot, &rev, err) < 0)
    goto out;
  rc = write_atomically(db_path, fill_restore, &r, err);
  if (rc == 0 && revision)
    *revision = rev;
out:
  sqlite3_close(r.src);
  return rc;
}
