/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sqlite backend: the embedded, durable default.
 *
 * Durability.  The database runs in WAL mode with synchronous=FULL: every
 * COMMIT appends the transaction to the WAL and fsyncs it before returning,
 * and a write's callback runs only after its COMMIT returned.  So an
 * acknowledged write is on stable storage as far as fsync guarantees, which
 * covers kill -9 of the process (the data is already in the kernel) and a
 * power loss (the WAL frames are synced; recovery replays them).
 * Checkpoints (WAL -> database file) run on a second connection in a
 * checkpointer thread, woken once when the WAL passes CKPT_FRAMES pages, so
 * the writer does not stall its batch while pages are copied and the
 * database file synced.  Both connections use synchronous=FULL: sqlite
 * syncs the WAL before a checkpoint and the database after it, and only
 * then lets a writer start the WAL over, so a crash at any point is safe.
 * Should the checkpointer fall far behind (CKPT_HARD_FRAMES) the writer
 * checkpoints itself, which bounds the WAL.
 *
 * WAL reuse.  What a commit costs is mostly its fdatasync, and on ext4 an
 * fdatasync of blocks the file already has (written, inside its size) only
 * writes the data and flushes the device cache, while one that grew the
 * file must also make its metadata durable (a journal commit, which carries
 * whatever else the machine changed; on a journal-less ext4 a synchronous
 * inode write): slower, and noisier, on the virtio disk measured.  So:
 * - the WAL is pre-grown with zeros at open (wal_pregrow), to about twice
 *   the size at which a cycle restarts it;
 * - the WAL restarts from its beginning each cycle.  sqlite restarts it at
 *   the first commit after a *complete* checkpoint, but a PASSIVE
 *   checkpoint running beside a busy writer is never complete: the writer
 *   appends while it copies.  (Before, the WAL kept growing, and the
 *   checkpointer, woken at every commit past CKPT_FRAMES, synced the
 *   database file about as often as the writer synced the WAL.)  Now a
 *   cycle is: past CKPT_FRAMES the checkpointer copies the bulk once, off
 *   the write path; then the connection's owner copies the few frames
 *   committed meanwhile (wal_hook, between two commits: a short stall per
 *   cycle), the checkpoint is complete and the next commit starts over at
 *   the WAL's beginning, overwriting frames already on disk.
 * A commit is then the pwrites of its frames (header and page each) inside
 * the pre-grown WAL and one fdatasync of it (strace -f -e
 * pwrite64,fdatasync), plus a checkpoint's syncs once a cycle.
 *
 * Group commit.  One writer thread owns the connection after open.  It
 * takes every write queued so far, applies them in one transaction and
 * commits with one fsync; writes queued meanwhile form the next batch.
 * With many writers in flight the fsync cost is shared by the whole batch.
 * Conflicts were decided on the loop before queuing (the front keeps the
 * authoritative state), so a batch only fails on an I/O error; then the
 * store stops accepting writes (store_set_broken) rather than guess.
 *
 * Inline commits.  Handing a write to the thread and the result back costs
 * two thread wake-ups (condition variable, then eventfd and the loop's
 * epoll), each a scheduling delay on top of the fsync: from tens of
 * microseconds on an idle machine to milliseconds on a busy one.  With the
 * writer idle, nothing would overlap with the commit anyway, so when a loop
 * turn's writes are few (INLINE_MAX) and the writer thread holds no batch,
 * the loop commits them itself (try_inline): it blocks for one commit (one
 * fsync of already-written WAL blocks, typically 0.1-0.3 ms), which a lone
 * write waited for anyway, and callbacks run right after.  While commits
 * take long on average (INLINE_MAX_COMMIT_NS: a slow or busy disk) the
 * thread takes every write, so that the loop is not blocked for
 * milliseconds; the hand-off is small next to such a commit.  Larger bursts,
 * or writes arriving while the thread commits, go to the thread as before,
 * so a busy store keeps the loop free and pipelines (the loop prepares the
 * next batch while the thread syncs this one).  Correctness: the loop is
 * the only one who queues, so while it commits inline the queue stays empty
 * and the thread asleep: one user of the connection at a time, handed over
 * under the mutex.  Revisions stay in order because the thread had
 * finished every earlier batch, whose results are delivered first.  The
 * write's data is fsynced before its callback runs, as on the thread.
 *
 * Results go back to the loop through an eventfd watched by a libevent
 * event, so the caller's event_base needs no libevent threading support.
 *
 * An exclusive flock() on "<path>.lock" makes a second opener (another
 * process, or another store in this one) fail instead of silently writing
 * behind this store's cache.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "store/internal.h"

#define CKPT_FRAMES 1000
#define CKPT_HARD_FRAMES 32768
/* The WAL is pre-grown to this size at open (see WAL reuse above): about
 * twice the size at which a checkpoint cycle restarts it. */
#define WAL_PREGROW_BYTES (8 << 20)
/* A loop turn's writes are committed inline when there are at most this
 * many and the writer thread is idle (see Inline commits above). */
#define INLINE_MAX 16
/* ... and when commits take less than this, on average (a slow disk
 * would block the loop too long: then the thread takes everything). */
#define INLINE_MAX_COMMIT_NS 1000000

struct sq {
  sqlite3 *db;
  sqlite3_stmt *put, *del, *meta, *begin, *commit;
  int lock_fd;

  /* Checkpointer: own connection and thread, shares mu. */
  sqlite3 *ckpt_db;
  pthread_t ckpt_thread;
  bool ckpt_started, ckpt_wanted;
  pthread_cond_t ckpt_cond;

  /* Checkpoint cycle (under mu), see wal_hook. */
  enum { CKPT_IDLE, CKPT_RUNNING, CKPT_TAIL } ckpt_state;

  pthread_t thread;
  bool thread_started;
  /* The writer thread holds a batch (under mu).  While it is false and
   * q_head is empty, the connection is free for an inline commit. */
  bool busy;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct store_op *q_head, **q_tail; /* queued for the writer */
  struct store_op *d_head, **d_tail; /* done, for the loop */
  bool stop;
  bool failed; /* writer side: an earlier batch failed */
  /* Writer side statistics, logged at close (debug). */
  uint64_t stat_batches, stat_writes;
  int64_t stat_commit_ns, stat_max_ns;
  /* Moving average of a commit's duration (weight 1/8), by the
   * connection's owner; read by try_inline once the connection is free. */
  int64_t avg_commit_ns;
  kube_error_t fail_err;

  int efd;
  struct event *ev;
  /* Loop side: submitted during the current loop turn. */
  struct store_op *p_head, **p_tail;
  struct event *flush_ev;
};

static int sq_error(kube_error_t *err, sqlite3 *db, const char *what) {
  return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "sqlite %s: %s", what,
                        db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(sqlite3 *db, const char *sql, kube_error_t *err) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "sqlite \"%s\": %s", sql,
                   msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

/* ---- checkpointer ---- */

static void *ckpt_main(void *arg) {
  struct sq *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->ckpt_wanted && !q->stop)
      pthread_cond_wait(&q->ckpt_cond, &q->mu);
    if (q->stop)
      break;
    q->ckpt_wanted = false;
    pthread_mutex_unlock(&q->mu);
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(q->ckpt_db, NULL,
                                       SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log_warn("sqlite store: checkpoint: %s", sqlite3_errmsg(q->ckpt_db));
    pthread_mutex_lock(&q->mu);
    q->ckpt_state = rc == SQLITE_OK ? CKPT_TAIL : CKPT_IDLE;
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

/* Runs after each commit, with the WAL's size, on the thread that owns the
 * connection (the writer thread, or the loop for an inline commit). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames) {
  struct sq *q = arg;
  bool self = frames >= CKPT_HARD_FRAMES || !q->ckpt_started;
  pthread_mutex_lock(&q->mu);
  if (frames < CKPT_FRAMES) {
    /* The WAL restarted: a new cycle (unless a checkpoint still runs). */
    if (q->ckpt_state == CKPT_TAIL)
      q->ckpt_state = CKPT_IDLE;
  } else if (q->ckpt_state == CKPT_IDLE && !self) {
    /* Once per cycle: the bulk of the copy runs off the write path. */
    q->ckpt_state = CKPT_RUNNING;
    q->ckpt_wanted = true;
    pthread_cond_signal(&q->ckpt_cond);
  } else if (q->ckpt_state == CKPT_TAIL) {
    /* The checkpointer is done: copy the few frames committed since, here
     * between two commits, so that the checkpoint is complete and the next
     * commit restarts the WAL from its beginning.  Repeated at each commit
     * until the restart happened (a no-op when nothing is left to copy). */
    self = true;
  }
  pthread_mutex_unlock(&q->mu);
  if (self) {
    int log = 0, done = 0;
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  }
  return SQLITE_OK;
}

/* ---- writer thread ---- */

static int apply_op(struct sq *q, struct store_op *op) {
  const kube_store_record_t *r = &op->rec->pub;
  sqlite3_stmt *st;
  if (op->type == OP_DELETE) {
    st = q->del;
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
  } else {
    st = q->put;
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r->value, (int)r->value_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->create_revision);
    sqlite3_bind_int64(st, 4, r->mod_revision);
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

static int step_once(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* Commit one batch; on failure mark every op of it failed. */
static void commit_batch(struct sq *q, struct store_op *batch) {
  if (!q->failed) {
    kube_error_t err = KUBE_ERROR_INIT;
    int64_t last = 0;
    bool deletes = false;
    bool ok = step_once(q->begin) == 0;
    if (!ok)
      sq_error(&err, q->db, "begin");
    for (struct store_op *op = batch; ok && op; op = op->next) {
      if (apply_op(q, op) < 0) {
        sq_error(&err, q->db, "write");
        ok = false;
      }
      last = op->rec->pub.mod_revision;
      deletes |= op->type == OP_DELETE;
    }
    /* The revision row only matters when a delete may have removed the
     * record with the latest revision: otherwise load() finds the latest
     * revision in kv itself (the batch's last record is there).  Skipping
     * it spares a page (one WAL frame) per commit. */
    if (ok && deletes) {
      sqlite3_bind_int64(q->meta, 1, last);
      if (sqlite3_step(q->meta) != SQLITE_DONE) {
        sq_error(&err, q->db, "write revision");
        ok = false;
      }
      sqlite3_reset(q->meta);
    }
    if (ok && step_once(q->commit) < 0) {
      sq_error(&err, q->db, "commit");
      ok = false;
    }
    if (ok)
      return;
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    q->failed = true;
    kube_error_move(&q->fail_err, &err);
  }
  for (struct store_op *op = batch; op; op = op->next) {
    op->failed = true;
    kube_error_set(&op->err, q->fail_err.reason, q->fail_err.errnum, "%s",
                   q->fail_err.message);
  }
}

/* commit_batch with the statistics; by whoever owns the connection. */
static void commit_timed(struct sq *q, struct store_op *batch) {
  int64_t t0 = kube_time_mono_ns();
  commit_batch(q, batch);
  int64_t dt = kube_time_mono_ns() - t0;
  q->stat_batches++;
  q->stat_commit_ns += dt;
  if (dt > q->stat_max_ns)
    q->stat_max_ns = dt;
  q->avg_commit_ns += (dt - q->avg_commit_ns) / 8;
  for (struct store_op *op = batch; op; op = op->next)
    q->stat_writes++;
}

static void *writer_main(void *arg) {
  struct sq *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->q_head && !q->stop)
      pthread_cond_wait(&q->cond, &q->mu);
    if (!q->q_head)
      break; /* stopping, and everything is written */
    struct store_op *batch = q->q_head, **tail = q->q_tail;
    q->q_head = NULL;
    q->q_tail = &q->q_head;
    q->busy = true;
    pthread_mutex_unlock(&q->mu);

    commit_timed(q, batch);

    pthread_mutex_lock(&q->mu);
    q->busy = false;
    *q->d_tail = batch;
    q->d_tail = tail;
    uint64_t one = 1;
    /* A full counter (impossible in practice) still leaves it readable. */
    if (write(q->efd, &one, sizeof(one)) < 0) {
    }
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

/* ---- loop side ---- */

/* Report a committed (or failed) batch to the front, in order. */
static void complete_batch(kube_store_t *s, struct store_op *op) {
  while (op) {
    struct store_op *next = op->next;
    if (op->failed)
      store_set_broken(s, &op->err);
    store_op_done(s, op);
    op = next;
  }
}

static void deliver_done(kube_store_t *s) {
  struct sq *q = s->be_data;
  pthread_mutex_lock(&q->mu);
  struct store_op *op = q->d_head;
  q->d_head = NULL;
  q->d_tail = &q->d_head;
  pthread_mutex_unlock(&q->mu);
  complete_batch(s, op);
}

static void efd_cb(evutil_socket_t fd, short what, void *arg) {
  kube_store_t *s = arg;
  uint64_t n;
  if (read(fd, &n, sizeof(n)) < 0) {
    /* EAGAIN: already drained by an earlier wake-up. */
  }
  deliver_done(s);
}

/* Hand everything submitted during this loop turn to the writer at once.
 * Waking the writer per write would let it start a transaction with the
 * first write of a burst (say, the writes issued by the callbacks of the
 * previous batch) and leave the rest for the next fsync. */
static void sq_flush(struct sq *q) {
  if (!q->p_head)
    return;
  pthread_mutex_lock(&q->mu);
  bool was_empty = !q->q_head;
  *q->q_tail = q->p_head;
  q->q_tail = q->p_tail;
  if (was_empty)
    pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->mu);
  q->p_head = NULL;
  q->p_tail = &q->p_head;
}

/* Commit this loop turn's writes on the loop thread when they are few and
 * the writer thread is idle; returns false (nothing done) otherwise. */
static bool try_inline(kube_store_t *s, struct sq *q) {
  size_t n = 0;
  for (struct store_op *op = q->p_head; op && n <= INLINE_MAX; op = op->next)
    n++;
  if (!n || n > INLINE_MAX)
    return false;
  pthread_mutex_lock(&q->mu);
  /* Only the loop queues (sq_flush), so while we commit the queue stays
   * empty and the writer stays asleep: the connection is ours.  The mutex
   * orders the writer's use of the connection before ours and ours before
   * its next one. */
  bool idle = !q->q_head && !q->busy && q->avg_commit_ns < INLINE_MAX_COMMIT_NS;
  pthread_mutex_unlock(&q->mu);
  if (!idle)
    return false;
  struct store_op *batch = q->p_head;
  q->p_head = NULL;
  q->p_tail = &q->p_head;
  commit_timed(q, batch);
  /* Earlier batches the writer finished come first (revision order). */
  deliver_done(s);
  complete_batch(s, batch);
  return true;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg) {
  kube_store_t *s = arg;
  struct sq *q = s->be_data;
  if (!try_inline(s, q))
    sq_flush(q);
}

static void sq_submit(kube_store_t *s, struct store_op *op) {
  struct sq *q = s->be_data;
  op->next = NULL;
  if (!q->p_head)
    event_active(q->flush_ev, EV_TIMEOUT, 0);
  *q->p_tail = op;
  q->p_tail = &op->next;
}

static void sq_release(struct sq *q) {
  if (q->ckpt_started) {
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->ckpt_cond);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->ckpt_thread, NULL);
  }
  if (q->ckpt_db)
    sqlite3_close(q->ckpt_db);
  sqlite3_finalize(q->put);
  sqlite3_finalize(q->del);
  sqlite3_finalize(q->meta);
  sqlite3_finalize(q->begin);
  sqlite3_finalize(q->commit);
  if (q->db)
    sqlite3_close(q->db);
  if (q->ev)
    event_free(q->ev);
  if (q->flush_ev)
    event_free(q->flush_ev);
  if (q->efd >= 0)
    close(q->efd);
  if (q->lock_fd >= 0)
    close(q->lock_fd); /* releases the flock */
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cond);
  pthread_cond_destroy(&q->ckpt_cond);
  kube_error_clear(&q->fail_err);
  free(q);
}

static void sq_close(kube_store_t *s) {
  struct sq *q = s->be_data;
  sq_flush(q);
  if (q->thread_started) {
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
  }
  /* The writer drained its queue before it stopped. */
  deliver_done(s);
  if (q->stat_batches)
    log_debug("sqlite store: %" PRIu64 " writes in %" PRIu64
              " commits (%.1f per commit), %.3f ms per commit, max %.3f ms",
              q->stat_writes, q->stat_batches,
              (double)q->stat_writes / (double)q->stat_batches,
              (double)q->stat_commit_ns / (double)q->stat_batches / 1e6,
              (double)q->stat_max_ns / 1e6);
  sq_release(q);
  s->be_data = NULL;
}

/* ---- open and load ---- */

/* Extend the WAL with zeros, synced once, up to WAL_PREGROW_BYTES (see WAL
 * reuse above).  Only space past the current end is written (frames not
 * yet checkpointed are left alone), through sqlite's own handle of the WAL
 * (no second descriptor whose close could drop sqlite's POSIX locks).
 * Zeros are never taken for frames: recovery stops at the first frame whose
 * salt and checksum do not match the header; sqlite itself leaves old
 * frames past the end after a restart.  A failure only costs speed.  The
 * WAL is deleted at the last close, so this runs at every open (a few ms). */
static void wal_pregrow(struct sq *q) {
  sqlite3_file *f = NULL;
  if (sqlite3_file_control(q->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) !=
          SQLITE_OK ||
      !f || !f->pMethods)
    return;
  sqlite3_int64 size = 0;
  if (f->pMethods->xFileSize(f, &size) != SQLITE_OK ||
      size >= WAL_PREGROW_BYTES)
    return;
  static const char zeros[65536];
  for (sqlite3_int64 off = size; off < WAL_PREGROW_BYTES;) {
    int n = (int)(WAL_PREGROW_BYTES - off < (sqlite3_int64)sizeof(zeros)
                      ? WAL_PREGROW_BYTES - off
                      : (sqlite3_int64)sizeof(zeros));
    if (f->pMethods->xWrite(f, zeros, n, off) != SQLITE_OK)
      return;
    off += n;
  }
  f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static int load(kube_store_t *s, struct sq *q, kube_error_t *err) {
  sqlite3_stmt *st = NULL;
  struct rec **recs = NULL;
  size_t n = 0, cap = 0;
  int64_t rev = 0;

  if (sqlite3_prepare_v2(q->db, "SELECT revision FROM meta WHERE id = 1", -1,
                         &st, NULL) != SQLITE_OK)
    return sq_error(err, q->db, "read revision");
  if (sqlite3_step(st) == SQLITE_ROW)
    rev = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);

  if (sqlite3_prepare_v2(q->db,
                         "SELECT key, value, create_rev, mod_rev FROM kv "
                         "ORDER BY key",
                         -1, &st, NULL) != SQLITE_OK)
    return sq_error(err, q->db, "load");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 1024;
      struct rec **nr = realloc(recs, ncap * sizeof(*nr));
      if (!nr)
        goto oom;
      recs = nr;
      cap = ncap;
    }
    const char *key = (const char *)sqlite3_column_text(st, 0);
    size_t klen = (size_t)sqlite3_column_bytes(st, 0);
    const void *val = sqlite3_column_blob(st, 1);
    size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
    recs[n] =
        store_rec_new(key ? key : "", klen, val, vlen,
                      sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
    if (!recs[n])
      goto oom;
    if (recs[n]->pub.mod_revision > rev)
      rev = recs[n]->pub.mod_revision; /* never hand out a used revision */
    n++;
  }
  if (rc != SQLITE_DONE) {
    sq_error(err, q->db, "load");
    goto fail;
  }
  sqlite3_finalize(st);
  st = NULL;
  if (store_cache_build_sorted(&s->cache, recs, n) < 0)
    goto oom;
  free(recs);
  s->revision = rev;
  return 0;
oom:
  kube_make_oom(err);
fail:
  sqlite3_finalize(st);
  for (size_t i = 0; i < n; i++)
    store_rec_unref(recs[i]);
  free(recs);
  return -1;
}

/* The database and its -wal, -shm and .lock files hold every Secret:
 * readable by their owner only.  sqlite creates the -wal and -shm files
 * with the mode of the database file (its robust_open copies it), so
 * creating the database 0600 first is enough for new files; files left
 * looser by an older version are tightened. */
/* Shared with snapshot.c, whose files are databases of this schema. */
const char store_sqlite_schema[] = "CREATE TABLE IF NOT EXISTS kv ("
                                   " key TEXT PRIMARY KEY NOT NULL,"
                                   " value BLOB NOT NULL,"
                                   " create_rev INTEGER NOT NULL,"
                                   " mod_rev INTEGER NOT NULL);"
                                   "CREATE TABLE IF NOT EXISTS meta ("
                                   " id INTEGER PRIMARY KEY CHECK (id = 1),"
                                   " revision INTEGER NOT NULL);";

static int private_files(const char *path, kube_error_t *err) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return kube_error_set(err, KUBE_REASON_INTERNAL, errno, "open %s: %s", path,
                          strerror(errno));
  close(fd);
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal",
                                         ".lock"};
  for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
    struct stat st;
    if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 077))
      continue;
    if (chmod(p, st.st_mode & 0700) < 0)
      return kube_error_set(err, KUBE_REASON_INTERNAL, errno,
                            "%s is readable by others and cannot be made "
                            "private: %s",
                            p, strerror(errno));
    log_warn("sqlite store: %s was mode %04o, now %04o", p,
             (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 0700));
  }
  return 0;
}

static int sq_open(kube_store_t *s, const kube_store_options_t *opts,
                   kube_error_t *err) {
  if (!opts->path || !*opts->path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "sqlite store: a database path is required");
  struct sq *q = calloc(1, sizeof(*q));
  if (!q)
    return kube_make_oom(err);
  q->efd = -1;
  q->lock_fd = -1;
  q->q_tail = &q->q_head;
  q->d_tail = &q->d_head;
  q->p_tail = &q->p_head;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cond, NULL);
  pthread_cond_init(&q->ckpt_cond, NULL);

  {
    cleanup_free char *lock_path = NULL;
    if (asprintf(&lock_path, "%s.lock", opts->path) < 0) {
      lock_path = NULL;
      kube_make_oom(err);
      goto fail;
    }
    q->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->lock_fd < 0) {
      kube_error_set(err, KUBE_REASON_INTERNAL, errno, "open %s: %s", lock_path,
                     strerror(errno));
      goto fail;
    }
    if (flock(q->lock_fd, LOCK_EX | LOCK_NB) < 0) {
      kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, errno,
                     "open %s: the store is in use by another process (%s)",
                     opts->path, strerror(errno));
      goto fail;
    }
  }

  if (private_files(opts->path, err) < 0)
    goto fail;
  if (sqlite3_open_v2(opts->path, &q->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    sq_error(err, q->db, "open");
    kube_error_wrap(err, "open %s", opts->path);
    goto fail;
  }
  sqlite3_busy_timeout(q->db, 2000);
  if (exec(q->db, "PRAGMA journal_mode=WAL", err) < 0 ||
      exec(q->db, "PRAGMA synchronous=FULL", err) < 0 ||
      exec(q->db, "PRAGMA journal_size_limit=67108864", err) < 0 ||
      exec(q->db, store_sqlite_schema, err) < 0 ||
      exec(q->db, "INSERT OR IGNORE INTO meta (id, revision) VALUES (1, 0);",
           err) < 0) {
    kube_error_wrap(err, "open %s", opts->path);
    goto fail;
  }
  /* journal_mode=WAL reports the mode it got; a read-only or odd file
   * system may refuse WAL, and then the durability reasoning above does not
   * hold: refuse rather than run in another mode silently. */
  {
    sqlite3_stmt *st = NULL;
    bool wal = false;
    if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      wal = streq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    if (!wal) {
      kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                     "open %s: sqlite refused WAL mode", opts->path);
      goto fail;
    }
  }
  wal_pregrow(q);
  if (sqlite3_prepare_v2(q->db,
                         "INSERT INTO kv (key, value, create_rev, mod_rev) "
                         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE "
                         "SET value = excluded.value, create_rev = "
                         "excluded.create_rev, mod_rev = excluded.mod_rev",
                         -1, &q->put, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(q->db, "DELETE FROM kv WHERE key = ?1", -1, &q->del,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(q->db, "UPDATE meta SET revision = ?1 WHERE id = 1",
                         -1, &q->meta, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(q->db, "BEGIN IMMEDIATE", -1, &q->begin, NULL) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(q->db, "COMMIT", -1, &q->commit, NULL) != SQLITE_OK) {
    sq_error(err, q->db, "prepare");
    goto fail;
  }
  if (load(s, q, err) < 0) {
    kube_error_wrap(err, "open %s", opts->path);
    goto fail;
  }
  /* Checkpoints are ours (wal_hook), not sqlite's automatic ones. */
  sqlite3_wal_hook(q->db, wal_hook, q);
  if (sqlite3_open_v2(opts->path, &q->ckpt_db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK ||
      exec(q->ckpt_db, "PRAGMA synchronous=FULL", err) < 0) {
    sq_error(err, q->ckpt_db, "open checkpointer");
    goto fail;
  }
  sqlite3_busy_timeout(q->ckpt_db, 2000);

  q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (q->efd < 0) {
    kube_error_set(err, KUBE_REASON_INTERNAL, errno, "eventfd: %s",
                   strerror(errno));
    goto fail;
  }
  q->ev = event_new(s->base, q->efd, EV_READ | EV_PERSIST, efd_cb, s);
  q->flush_ev = event_new(s->base, -1, 0, flush_cb, s);
  if (!q->ev || !q->flush_ev || event_add(q->ev, NULL) < 0) {
    kube_make_oom(err);
    goto fail;
  }
  /* The checkpointer first: the writer reads ckpt_started. */
  int rc = pthread_create(&q->ckpt_thread, NULL, ckpt_main, q);
  if (rc != 0) {
    /* Without it the writer checkpoints itself (wal_hook). */
    log_warn("sqlite store: checkpointer thread: %s", strerror(rc));
  } else {
    q->ckpt_started = true;
  }
  rc = pthread_create(&q->thread, NULL, writer_main, q);
  if (rc != 0) {
    kube_error_set(err, KUBE_REASON_INTERNAL, rc, "writer thread: %s",
                   strerror(rc));
    goto fail;
  }
  q->thread_started = true;
  s->be_data = q;
  return 0;
fail:
  store_cache_clear(&s->cache);
  sq_release(q);
  return -1;
}

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .authoritative = true,
    .open = sq_open,
    .submit = sq_submit,
    .close = sq_close,
};
