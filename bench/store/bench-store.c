/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-store: durable writes/s with 1, 8 and 64 writers in flight, point
 * reads/s and LIST of 100,000 objects, for the sqlite store and for a real
 * etcd started here (same machine, same disk, same ~1 KiB JSON values).
 * "1 writer" waits for each acknowledgement before the next write.  Wall
 * time throughout.  The write phases run in rounds, the backends taking
 * turns within each round (the disk and the machine are shared, and their
 * speed drifts: measured one after the other, minutes apart, the same
 * disk was 5x faster for one backend than for the other).
 *
 * The peers, and how each is reached:
 * - "sqlite": kube_store over the sqlite backend (its cache, its watch).
 * - "etcd (store)": kube_store over the etcd backend, which talks to etcd
 *   through etcd's JSON gateway (/v3/kv/txn) and acknowledges a write only
 *   once its own watch delivered it (read-your-writes): the same contract
 *   as the sqlite store.
 * - "etcd raw gateway puts": the gateway driven directly, one put per
 *   request, no store, no watch: etcd's own floor through that interface.
 * - "fsync bound": this disk's rate of one 4 KiB pwrite + fdatasync inside
 *   a pre-allocated file, in the same directory, in the same run:
 *   alternating write by write with sqlite's 1-writer phase, so both see
 *   the same disk and the same load.  One acknowledged durable write
 *   needs at least that, so sqlite_writes_1 is reported against it
 *   (sqlite_writes_1_vs_fsync_bound).  The same again beside etcd's
 *   1-writer phase (etcd_fsync_bound_per_s, etcd_writes_1_vs_fsync_bound):
 *   on a shared disk the two backends' runs may see different speeds.
 *
 * Point reads and LIST are served from the store's in-memory cache for
 * both backends (keys say "cache").  Load at open reopens a store holding
 * exactly --objects keys on both sides (a database / etcd prefix of its
 * own, apart from the write phases' keys).
 *
 *   bench-store [--json] [--seconds S] [--objects N] [--dir DIR]
 *               [--only sqlite|etcd] [--writes-only]
 *
 * With --json the last line is one JSON object with every figure; ratios
 * of rates are named X_vs_Y with X and Y rates (X's rate / Y's rate, e.g.
 * sqlite_writes_8_vs_etcd_writes_8); ratio_X_vs_Y keys are time ratios
 * (X's time per write / Y's), as everywhere in bench/.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <ftw.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkube/store.h>

#include "etcd-harness.h"
#include "store/etcd.h"

static double seconds = 2.0;    /* per write phase with 1 and 8 writers */
static size_t objects = 100000; /* objects for the LIST figure */
/* --writes-only: the three write phases only (no raw etcd, fill, reads,
 * LIST, reopen), to iterate on write throughput quickly. */
static bool writes_only = false;

struct figures {
  bool ran;
  double writes[3]; /* 1, 8, 64 writers */
  double raw[3];    /* etcd only: its gateway driven directly */
  double reads;
  double list_ms;
  size_t list_n;
  double open_ms;
  size_t open_keys;
};

static double now_s(void) {
  return kube_time_mono_ns() / 1e9;
}

/* ---- the disk's bound: one page write + fdatasync ---- */

#define BOUND_FILE_BYTES (8 << 20)
#define BOUND_WRITE 4096

/* The disk's bound: one BOUND_WRITE pwrite followed by fdatasync, at
 * successive offsets inside a file pre-allocated (written with zeros and
 * synced, as the sqlite store pre-grows its WAL), wrapping at its end:
 * what one durable acknowledged write costs at least on this disk. */
struct bound {
  int fd;
  char path[400];
  off_t off;
  size_t n;   /* writes done */
  double t;   /* seconds spent */
  bool failed;
};

static int bound_open(struct bound *b, const char *dir, const char *name) {
  memset(b, 0, sizeof *b);
  snprintf(b->path, sizeof b->path, "%s/fsync-bound-%s", dir, name);
  b->fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (b->fd < 0) {
    perror(b->path);
    return -1;
  }
  static char zeros[65536];
  for (off_t off = 0; off < BOUND_FILE_BYTES; off += sizeof zeros)
    if (pwrite(b->fd, zeros, sizeof zeros, off) != (ssize_t)sizeof zeros) {
      perror("pwrite");
      return -1;
    }
  if (fsync(b->fd) < 0) {
    perror("fsync");
    return -1;
  }
  return 0;
}

/* One write + fdatasync, added to b's counts. */
static void bound_one(struct bound *b) {
  static char page[BOUND_WRITE];
  if (b->failed)
    return;
  memset(page, 'x', sizeof page);
  double t0 = now_s();
  if (pwrite(b->fd, page, BOUND_WRITE, b->off) != BOUND_WRITE ||
      fdatasync(b->fd) < 0) {
    perror("pwrite/fdatasync");
    b->failed = true;
    return;
  }
  b->t += now_s() - t0;
  b->n++;
  b->off += BOUND_WRITE;
  if (b->off + BOUND_WRITE > BOUND_FILE_BYTES)
    b->off = 0;
}

static void bound_close(struct bound *b) {
  if (b->fd >= 0) {
    close(b->fd);
    unlink(b->path);
  }
}

static const int writers[3] = {1, 8, 64};


/* ~1 KiB of JSON shaped like a pod. */
static size_t make_value(char *buf, size_t len, const char *name) {
  int n = snprintf(
      buf, len,
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
      "\"namespace\":\"default\",\"labels\":{\"app\":\"kubia\",\"tier\":"
      "\"web\"},\"annotations\":{\"note\":\"",
      name);
  while (n < 900)
    buf[n++] = 'x';
  n += snprintf(buf + n, len - n,
                "\"}},\"spec\":{\"containers\":[{\"name\":\"kubia\",\"image\":"
                "\"kubia:latest\",\"ports\":[{\"containerPort\":8080}]}]}}");
  return (size_t)n;
}

struct writer_run {
  kube_store_t *s;
  const char *prefix;
  size_t next, done, inflight, failed, max;
  double deadline;
  bool stop;
  /* 1 writer only: one write + fdatasync of the disk's bound between an
   * acknowledgement and the next write, its time kept apart. */
  struct bound *bound;
};

static void submit(struct writer_run *w);

static void ack(const kube_store_record_t *rec, const kube_error_t *err,
                void *arg) {
  struct writer_run *w = arg;
  w->inflight--;
  if (!rec) {
    if (!w->failed)
      fprintf(stderr, "write failed: %s\n", err->message);
    w->failed++;
    w->stop = true;
    return;
  }
  w->done++;
  /* Exactly `max` writes when it is given: none beyond it is started. */
  if (w->next >= w->max || now_s() >= w->deadline)
    w->stop = true;
  if (!w->stop) {
    if (w->bound)
      bound_one(w->bound);
    submit(w);
  }
}

static void submit(struct writer_run *w) {
  char key[96], val[1200];
  snprintf(key, sizeof(key), "%s%08zu", w->prefix, w->next++);
  size_t len = make_value(val, sizeof(val), strrchr(key, '/') + 1);
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_store_create(w->s, key, val, len, ack, w, &err) < 0) {
    fprintf(stderr, "submit: %s\n", err.message);
    kube_error_clear(&err);
    w->failed++;
    w->stop = true;
    return;
  }
  w->inflight++;
}

/* Keep `conc` creates in flight until `dur` seconds or `max` writes. */
static double run_writes(struct event_base *base, kube_store_t *s,
                         const char *prefix, int conc, double dur, size_t max,
                         size_t *done, double *secs) {
  struct writer_run w = {.s = s, .prefix = prefix, .max = max};
  double t0 = now_s();
  w.deadline = t0 + dur;
  for (int i = 0; i < conc && !w.stop && w.next < max; i++)
    submit(&w);
  while (w.inflight > 0)
    event_base_loop(base, EVLOOP_ONCE);
  double t = now_s() - t0;
  if (done)
    *done = w.done;
  if (secs)
    *secs = t;
  return w.failed ? -1 : w.done / t;
}

/* ---- filling etcd directly (bulk transactions over the JSON gateway) ---- */

#define MAX_RAW_CONN 64

struct fill;
struct slot {
  struct fill *fl;
  struct evhttp_connection *con;
  bool busy;
  size_t from, to; /* the keys of its request */
  bool retry;      /* etcd refused it (503: too many requests): again */
  int tries;
};

struct fill {
  struct event_base *base;
  struct slot slots[MAX_RAW_CONN];
  int n_conn;
  int per_txn; /* puts per request */
  const char *prefix;
  size_t next, end, done, inflight;
  double deadline;
  int failed;
};

static void fill_done(struct evhttp_request *req, void *arg) {
  struct slot *sl = arg;
  struct fill *fl = sl->fl;
  sl->busy = false;
  fl->inflight--;
  int code = req ? evhttp_request_get_response_code(req) : 0;
  if (code == 503 && sl->tries < 20) {
    /* etcd sheds load ("too many requests") while its apply lags: the
     * same transaction again shortly. */
    sl->retry = true;
    return;
  }
  if (code != 200) {
    fprintf(stderr, "etcd: HTTP %d\n", code);
    fl->failed = 1;
    return;
  }
  sl->tries = 0;
  fl->done += sl->to - sl->from;
}

/* One transaction of up to per_txn puts on a connection (the slot's keys
 * again when it is retried). */
static void fill_send(struct fill *fl, struct slot *sl) {
  kube_strbuf_t b = KUBE_STRBUF_INIT;
  char key[96], val[1200];
  if (sl->retry) {
    sl->retry = false;
    sl->tries++;
  } else {
    sl->from = fl->next;
    sl->to = fl->next + (size_t)fl->per_txn < fl->end
                 ? fl->next + (size_t)fl->per_txn
                 : fl->end;
    fl->next = sl->to;
  }
  kube_strbuf_append(&b, "{\"success\":[");
  for (size_t i = 0, k = sl->from; k < sl->to; i++, k++) {
    snprintf(key, sizeof(key), "%s%08zu", fl->prefix, k);
    size_t len = make_value(val, sizeof(val), strrchr(key, '/') + 1);
    kube_strbuf_append(&b, i ? ",{\"request_put\":{\"key\":\""
                             : "{\"request_put\":{\"key\":\"");
    kube_strbuf_append_base64(&b, key, strlen(key));
    kube_strbuf_append(&b, "\",\"value\":\"");
    kube_strbuf_append_base64(&b, val, len);
    kube_strbuf_append(&b, "\"}}");
  }
  kube_strbuf_append(&b, "]}");
  struct evhttp_request *req = evhttp_request_new(fill_done, sl);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                    "127.0.0.1");
  evbuffer_add(evhttp_request_get_output_buffer(req), b.data, b.len);
  kube_strbuf_clear(&b);
  if (evhttp_make_request(sl->con, req, EVHTTP_REQ_POST, "/v3/kv/txn") < 0) {
    fl->failed = 1;
    return;
  }
  sl->busy = true;
  fl->inflight++;
}

/* Puts straight to etcd's gateway, one request per connection at a time,
 * until `to` keys or the deadline.  Returns puts/s or -1. */
static double etcd_direct(const char *endpoint, const char *prefix, size_t from,
                          size_t to, int per_txn, int n_conn, double secs) {
  int port = atoi(strrchr(endpoint, ':') + 1);
  struct fill fl = {.base = event_base_new(),
                    .n_conn = n_conn,
                    .per_txn = per_txn,
                    .prefix = prefix,
                    .next = from,
                    .end = to};
  for (int c = 0; c < n_conn; c++) {
    fl.slots[c].fl = &fl;
    fl.slots[c].con = evhttp_connection_base_new(fl.base, NULL, "127.0.0.1",
                                                 (unsigned short)port);
  }
  double t0 = now_s();
  fl.deadline = t0 + secs;
  while (!fl.failed) {
    bool more = fl.next < fl.end && now_s() < fl.deadline;
    bool retried = false;
    for (int c = 0; c < n_conn; c++) {
      struct slot *sl = &fl.slots[c];
      if (sl->busy || !(sl->retry || (more && fl.next < fl.end)))
        continue;
      if (sl->retry && !retried) {
        usleep(50000);
        retried = true;
      }
      fill_send(&fl, sl);
    }
    if (!fl.inflight)
      break;
    event_base_loop(fl.base, EVLOOP_ONCE);
  }
  double t = now_s() - t0;
  for (int c = 0; c < n_conn; c++)
    evhttp_connection_free(fl.slots[c].con);
  event_base_free(fl.base);
  return fl.failed ? -1 : fl.done / t;
}

/* The write phases' store: database `path` or etcd prefix "/bench"; the
 * fill / reads / LIST / reopen store (`pods`): database `path`.pods or etcd
 * prefix "/pbench" (not inside "/bench"'s range), so that it holds exactly
 * --objects keys on both sides. */
static kube_store_t *open_store(kube_loop_t *base_loop, const char *backend,
                                const char *path, const char *endpoint,
                                bool pods, double *ms) {
  char pods_path[420];
  if (path && pods) {
    snprintf(pods_path, sizeof pods_path, "%s.pods", path);
    path = pods_path;
  }
  kube_store_options_t o = {.struct_size = sizeof(o),
                            .backend = backend,
                            .path = path,
                            .etcd_endpoints = endpoint,
                            .etcd_prefix = pods ? "/pbench" : "/bench"};
  kube_error_t err = KUBE_ERROR_INIT;
  double t0 = now_s();
  kube_store_t *s = kube_store_open(base_loop, &o, &err);
  if (ms)
    *ms = (now_s() - t0) * 1000;
  if (!s)
    fprintf(stderr, "open %s: %s\n", backend, err.message);
  kube_error_clear(&err);
  return s;
}

/* The 1-writer phase; with `b`, alternating with the disk's bound write
 * by write (each acknowledgement is followed by one bound write +
 * fdatasync, then the next store write), so that both see the same disk
 * and the same load from the rest of the machine; the bound's time is
 * not counted in the store's. */
static double one_writer(struct event_base *base, kube_store_t *s,
                         struct bound *b, const char *prefix, double dur,
                         size_t *done, double *secs) {
  struct writer_run w = {.s = s, .prefix = prefix, .max = SIZE_MAX,
                         .bound = b};
  double bt0 = b ? b->t : 0;
  double t0 = now_s();
  w.deadline = t0 + dur * (b ? 2 : 1);
  submit(&w);
  while (w.inflight > 0)
    event_base_loop(base, EVLOOP_ONCE);
  double t = now_s() - t0 - (b ? b->t - bt0 : 0);
  *done = w.done;
  *secs = t;
  return w.failed ? -1 : w.done / t;
}

/* One backend under test. */
struct side {
  const char *name; /* its backend: "sqlite" or "etcd" */
  const char *path, *endpoint;
  const char *label;
  kube_loop_t *loop;
  kube_store_t *s; /* the write phases' store */
  struct bound b;  /* the disk's bound beside its 1-writer phase */
  bool have_bound;
  double bound;    /* writes/s, or -1 */
  struct figures *f;
  size_t n[3];
  double t[3];
};

/* Write phases in ROUNDS rounds per number of writers, the backends
 * taking turns within each round: the disk and the machine are shared
 * with other work whose load drifts, and a backend measured minutes after
 * the other may meet a disk several times faster or slower. */
#define ROUNDS 4
static int write_phases(struct side *sides, int n_sides) {
  for (int i = 0; i < 3; i++) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "/warm/w%d/", writers[i]);
    /* A short warm-up so connection set-up is not measured. */
    for (int k = 0; k < n_sides; k++)
      run_writes(kube_loop_base(sides[k].loop), sides[k].s, prefix,
                 writers[i], 0.2, SIZE_MAX, NULL, NULL);
    for (int r = 0; r < ROUNDS; r++)
      for (int k = 0; k < n_sides; k++) {
        struct side *sd = &sides[k];
        struct event_base *base = kube_loop_base(sd->loop);
        size_t done;
        double t, rate;
        snprintf(prefix, sizeof prefix, "/w%d/r%d/", writers[i], r);
        rate = i == 0 ? one_writer(base, sd->s, sd->have_bound ? &sd->b : NULL,
                                   prefix, seconds / ROUNDS, &done, &t)
                      : run_writes(base, sd->s, prefix, writers[i],
                                   seconds / ROUNDS, SIZE_MAX, &done, &t);
        if (rate < 0)
          return -1;
        sd->n[i] += done;
        sd->t[i] += t;
      }
    for (int k = 0; k < n_sides; k++) {
      struct side *sd = &sides[k];
      sd->f->writes[i] = sd->t[i] > 0 ? sd->n[i] / sd->t[i] : 0;
      printf("  %-7s durable writes, %2d writer%s: %10.0f /s  (%zu writes)\n",
             sd->name, writers[i], writers[i] > 1 ? "s" : " ",
             sd->f->writes[i], sd->n[i]);
    }
  }
  for (int k = 0; k < n_sides; k++) {
    struct side *sd = &sides[k];
    sd->bound = sd->have_bound && !sd->b.failed && sd->b.t > 0
                    ? sd->b.n / sd->b.t
                    : -1;
    if (sd->bound > 0)
      printf("  %-7s fsync bound beside its 1-writer phase: %.0f /s; "
             "1 writer: %.2f of it\n",
             sd->name, sd->bound, sd->f->writes[0] / sd->bound);
  }
  return 0;
}

/* Everything after the write phases: raw gateway puts (etcd), the fill,
 * point reads, LIST and load at open, for one backend. */
static int rest_phases(const char *backend, const char *path,
                       const char *endpoint, struct figures *f) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  kube_store_t *s;
  printf("== %s\n", endpoint ? "etcd (store)" : "sqlite (store)");
  if (endpoint) {
    /* The peer at its floor: etcd's gateway driven directly (no store:
     * no watch, no cache, no read-your-writes wait), one put per request,
     * same values, outside both stores' prefixes. */
    printf("== etcd raw gateway puts: POST /v3/kv/txn with one put, no "
           "store, no watch\n");
    for (int i = 0; i < 3; i++) {
      char prefix[64];
      snprintf(prefix, sizeof(prefix), "/raw/raw%d/", writers[i]);
      f->raw[i] =
          etcd_direct(endpoint, prefix, 0, SIZE_MAX, 1, writers[i], seconds);
      printf("  raw gateway puts, %2d client%s: %8.0f /s\n", writers[i],
             writers[i] > 1 ? "s" : " ", f->raw[i]);
    }
  }

  /* The objects for reads, LIST and load at open, in a store of their
   * own.  sqlite: through the store with 64 writers.  etcd: written
   * straight to etcd in transactions of 100 puts (through the store it
   * would take minutes), then loaded by opening the store. */
  double t0 = now_s();
  if (endpoint &&
      etcd_direct(endpoint, "/pbench/pods/", 0, objects, 100, 8, 600) < 0)
    return -1;
  s = open_store(base_loop, backend, path, endpoint, true, NULL);
  if (!s)
    return -1;
  if (!endpoint)
    run_writes(base, s, "/pods/", 64, 600, objects, NULL, NULL);
  printf("  filled %zu objects in %.1f s\n", kube_store_count(s, "/pods/"),
         now_s() - t0);

  size_t n = kube_store_count(s, "/pods/");
  char key[96];
  size_t reads = 0, hits = 0;
  double t;
  t0 = now_s();
  unsigned seed = 1;
  do {
    for (int i = 0; i < 10000; i++) {
      snprintf(key, sizeof(key), "/pods/%08zu", (size_t)rand_r(&seed) % n);
      kube_store_record_t *r = kube_store_get(s, key, NULL);
      hits += r != NULL;
      kube_store_record_unref(r);
      reads++;
    }
    t = now_s() - t0;
  } while (t < 1.0);
  f->reads = reads / t;
  printf("  point reads (cache):        %10.0f /s  (%zu of %zu found)\n",
         f->reads, hits, reads);

  double best = 1e9;
  for (int i = 0; i < 5; i++) {
    kube_store_list_t l;
    t0 = now_s();
    kube_store_list(s, "/pods/", NULL, 0, &l, NULL);
    t = (now_s() - t0) * 1000;
    f->list_n = l.n;
    kube_store_list_clear(&l);
    if (t < best)
      best = t;
  }
  f->list_ms = best;
  printf("  LIST %zu objects (cache): %8.2f ms\n", f->list_n, f->list_ms);
  kube_store_close(s);

  /* Reopen: load everything into the cache again. */
  s = open_store(base_loop, backend, path, endpoint, true, &f->open_ms);
  if (s) {
    f->open_keys = kube_store_count(s, "");
    printf("  reopen, load %zu keys:    %10.0f ms  (%.0f keys/s)\n",
           f->open_keys, f->open_ms, f->open_keys / (f->open_ms / 1000));
    kube_store_close(s);
  }
  kube_loop_free(base_loop);
  f->ran = true;
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  return remove(path);
}

static void json_num(const char *key, double v, bool ok, bool *first) {
  printf("%s\"%s\":", *first ? "" : ",", key);
  *first = false;
  if (ok)
    printf("%.2f", v);
  else
    printf("null");
}

int main(int argc, char **argv) {
  bool json = false;
  const char *dir_base = NULL, *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      json = true;
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--objects") && i + 1 < argc)
      objects = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir_base = argv[++i];
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(argv[i], "--writes-only"))
      writes_only = true;
    else {
      fprintf(stderr,
              "usage: %s [--json] [--seconds S] [--objects N] [--dir DIR] "
              "[--only sqlite|etcd] [--writes-only]\n",
              argv[0]);
      return 2;
    }
  }
  /* Both stores on the same (real) disk: not /tmp when that is tmpfs. */
  char dir[300];
  snprintf(dir, sizeof(dir), "%s/bench-store-XXXXXX",
           dir_base ? dir_base : "/var/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char path[400];
  snprintf(path, sizeof(path), "%s/store.db", dir);
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Output piped into head must not skip the clean-up at the end. */
  signal(SIGPIPE, SIG_IGN);

  struct figures sq = {0}, et = {0};
  int rc = 0;
  double bound = -1, etcd_bound = -1;
  struct side sides[2];
  int n_sides = 0;
  if (!only || !strcmp(only, "sqlite"))
    sides[n_sides++] = (struct side){.name = "sqlite", .path = path, .f = &sq};
  struct etcd_harness h;
  bool etcd_up = false;
  if (only && strcmp(only, "etcd") != 0) {
    /* etcd not asked for */
  } else if (!etcd_available()) {
    printf("== etcd: skipped, %s is not installed\n", ETCD_BINARY);
  } else if (etcd_start(&h, dir) < 0) {
    rc = 1;
  } else {
    etcd_up = true;
    sides[n_sides++] =
        (struct side){.name = "etcd", .endpoint = h.endpoint, .f = &et};
  }
  printf("== durable writes, the backends taking turns (%d rounds); "
         "sqlite: kube_store over sqlite; etcd: kube_store's etcd backend "
         "over etcd's JSON gateway, each write acknowledged once its own "
         "watch event arrived\n",
         ROUNDS);
  bool opened = true;
  for (int k = 0; k < n_sides; k++) {
    struct side *sd = &sides[k];
    sd->loop = kube_loop_new(NULL);
    sd->s = open_store(sd->loop, sd->name, sd->path, sd->endpoint, false,
                       NULL);
    opened &= sd->s != NULL;
    /* The disk's bound, in the same directory, alternating write by
     * write with this backend's 1-writer phase. */
    sd->have_bound = bound_open(&sd->b, dir, sd->name) == 0;
  }
  if (!opened || write_phases(sides, n_sides) < 0)
    rc = 1;
  for (int k = 0; k < n_sides; k++) {
    struct side *sd = &sides[k];
    if (sd->s)
      kube_store_close(sd->s);
    kube_loop_free(sd->loop);
    bound_close(&sd->b);
    sd->f->ran = rc == 0;
    if (!strcmp(sd->name, "sqlite"))
      bound = sd->bound;
    else
      etcd_bound = sd->bound;
  }
  if (rc == 0 && !writes_only)
    for (int k = 0; k < n_sides; k++)
      if (rest_phases(sides[k].name, sides[k].path, sides[k].endpoint,
                      sides[k].f) < 0)
        rc = 1;
  if (etcd_up)
    etcd_stop(&h);

  double ratio[3] = {0}, ratio_raw[3] = {0};
  bool have_ratio = sq.ran && et.ran;
  bool have_raw = have_ratio && !writes_only;
  if (have_ratio) {
    printf("== sqlite store's rate / etcd store's (JSON gateway, waits for "
           "its watch)%s\n",
           have_raw ? "   [sqlite store / etcd raw gateway puts]" : "");
    for (int i = 0; i < 3; i++) {
      ratio[i] = et.writes[i] > 0 ? sq.writes[i] / et.writes[i] : 0;
      ratio_raw[i] = et.raw[i] > 0 ? sq.writes[i] / et.raw[i] : 0;
      printf("  durable writes, %2d writer%s: %8.1fx", writers[i],
             writers[i] > 1 ? "s" : " ", ratio[i]);
      if (have_raw)
        printf("   [%.1fx]", ratio_raw[i]);
      printf("\n");
    }
    if (bound > 0 && etcd_bound > 0 && et.writes[0] > 0)
      printf("  durable writes, 1 writer, each against the fsync bound "
             "measured beside it: %.1fx\n",
             (sq.writes[0] / bound) / (et.writes[0] / etcd_bound));
    if (!writes_only)
      printf("  load at open (%zu and %zu keys): %8.1fx faster\n",
             sq.open_keys, et.open_keys,
             (sq.open_keys / sq.open_ms) / (et.open_keys / et.open_ms));
    printf("  (point reads and LIST are served by the same in-memory cache "
           "for both backends: cache figures, not the backends')\n");
  }
  if (json) {
    bool first = true;
    printf("{");
    json_num("fsync_bound_per_s", bound, bound > 0, &first);
    json_num("sqlite_writes_1_vs_fsync_bound", bound > 0 ? sq.writes[0] / bound : 0,
             bound > 0 && sq.ran, &first);
    json_num("etcd_fsync_bound_per_s", etcd_bound, etcd_bound > 0, &first);
    json_num("etcd_writes_1_vs_fsync_bound",
             etcd_bound > 0 ? et.writes[0] / etcd_bound : 0,
             etcd_bound > 0 && et.ran, &first);
    /* 1 writer, each backend against the bound measured beside it. */
    bool norm = bound > 0 && etcd_bound > 0 && sq.ran && et.ran &&
                et.writes[0] > 0;
    json_num("sqlite_writes_1_over_its_fsync_bound_vs_etcd_writes_1_over_its",
             norm ? (sq.writes[0] / bound) / (et.writes[0] / etcd_bound) : 0,
             norm, &first);
    const struct {
      const char *name;
      struct figures *f;
    } all[] = {{"sqlite", &sq}, {"etcd", &et}};
    for (int b = 0; b < 2; b++) {
      bool ran = all[b].f->ran, full = ran && !writes_only;
      char key[96];
      for (int i = 0; i < 3; i++) {
        /* etcd_writes_N: kube_store over etcd's JSON gateway, each write
         * waiting for its watch event. */
        snprintf(key, sizeof(key), "%s_writes_%d", all[b].name, writers[i]);
        json_num(key, all[b].f->writes[i], ran, &first);
      }
      if (b == 1)
        for (int i = 0; i < 3; i++) {
          snprintf(key, sizeof(key), "etcd_raw_gateway_puts_%d", writers[i]);
          json_num(key, all[b].f->raw[i], full, &first);
        }
      snprintf(key, sizeof(key), "%s_cache_point_reads_per_s", all[b].name);
      json_num(key, all[b].f->reads, full, &first);
      snprintf(key, sizeof(key), "%s_cache_list_ms", all[b].name);
      json_num(key, all[b].f->list_ms, full, &first);
      snprintf(key, sizeof(key), "%s_cache_list_objects", all[b].name);
      json_num(key, (double)all[b].f->list_n, full, &first);
      snprintf(key, sizeof(key), "%s_open_ms", all[b].name);
      json_num(key, all[b].f->open_ms, full, &first);
      snprintf(key, sizeof(key), "%s_open_keys", all[b].name);
      json_num(key, (double)all[b].f->open_keys, full, &first);
    }
    for (int i = 0; i < 3; i++) {
      char key[96];
      snprintf(key, sizeof(key), "sqlite_writes_%d_vs_etcd_writes_%d",
               writers[i], writers[i]);
      json_num(key, ratio[i], have_ratio, &first);
      snprintf(key, sizeof(key), "ratio_sqlite_vs_etcd_write_%d", writers[i]);
      json_num(key, ratio[i] > 0 ? 1 / ratio[i] : 0, have_ratio && ratio[i] > 0,
               &first);
      snprintf(key, sizeof(key), "sqlite_writes_%d_vs_etcd_raw_gateway_puts_%d",
               writers[i], writers[i]);
      json_num(key, ratio_raw[i], have_raw, &first);
    }
    json_num("sqlite_open_keys_per_s_vs_etcd_open_keys_per_s",
             have_raw ? (sq.open_keys / sq.open_ms) / (et.open_keys / et.open_ms)
                      : 0,
             have_raw, &first);
    printf("}\n");
  }
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
