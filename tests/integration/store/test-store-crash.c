/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash test for the sqlite store: a child writes objects (creates, and
 * updates of some of them) with many writes in flight and reports every
 * acknowledged write on a pipe; the parent kill -9s it mid-stream, reopens
 * the database and checks that every acknowledged write is there with its
 * revision and value.  Five rounds on the same database.
 */
#include <errno.h>
#include <event2/event.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libkube/store.h>

#define ROUNDS 5
#define MAX_OBJ 200000
#define IN_FLIGHT 48

static char dbpath[300];

static void make_key(char *buf, size_t len, int round, int idx) {
  snprintf(buf, len, "/registry/crash/r%d/obj-%06d", round, idx);
}

/* ~1 KiB of JSON, different for every (round, idx, gen). */
static size_t make_value(char *buf, size_t len, int round, int idx, int gen) {
  int n = snprintf(buf, len,
                   "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"obj-%d\","
                   "\"round\":%d,\"generation\":%d},\"data\":{\"pad\":\"",
                   idx, round, gen);
  while (n < 1000 && (size_t)n < len - 8) {
    buf[n] = (char)('a' + (idx + gen + n) % 26);
    n++;
  }
  n += snprintf(buf + n, len - n, "\"}}");
  return (size_t)n;
}

/* ---- child: write forever, report acknowledgements ---- */

struct child {
  kube_store_t *s;
  FILE *out;
  int round;
  int next;
};

static void submit_create(struct child *c);

static void on_update(const kube_store_record_t *rec, const kube_error_t *err,
                      void *arg) {
  struct child *c = arg;
  int idx;
  if (!rec) {
    fprintf(stderr, "child: update failed: %s\n", err->message);
    _exit(3);
  }
  sscanf(strrchr(rec->key, '-') + 1, "%d", &idx);
  fprintf(c->out, "U %d %d 1 %" PRId64 "\n", c->round, idx, rec->mod_revision);
  fflush(c->out);
  submit_create(c);
}

static void on_create(const kube_store_record_t *rec, const kube_error_t *err,
                      void *arg) {
  struct child *c = arg;
  int idx;
  if (!rec) {
    fprintf(stderr, "child: create failed: %s\n", err->message);
    _exit(3);
  }
  sscanf(strrchr(rec->key, '-') + 1, "%d", &idx);
  fprintf(c->out, "C %d %d 0 %" PRId64 "\n", c->round, idx, rec->mod_revision);
  fflush(c->out);
  if (idx % 4 == 0) {
    char val[1200];
    size_t len = make_value(val, sizeof(val), c->round, idx, 1);
    if (kube_store_update(c->s, rec->key, val, len, rec->mod_revision,
                          on_update, c, NULL) < 0)
      _exit(3);
  } else {
    submit_create(c);
  }
}

static void submit_create(struct child *c) {
  if (c->next >= MAX_OBJ)
    return;
  char key[128], val[1200];
  int idx = c->next++;
  make_key(key, sizeof(key), c->round, idx);
  size_t len = make_value(val, sizeof(val), c->round, idx, 0);
  if (kube_store_create(c->s, key, val, len, on_create, c, NULL) < 0)
    _exit(3);
}

static void child_main(int round, int fd) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  kube_store_options_t o = {
      .struct_size = sizeof(o), .backend = "sqlite", .path = dbpath};
  kube_error_t err = KUBE_ERROR_INIT;
  struct child c = {.round = round};
  c.s = kube_store_open(base_loop, &o, &err);
  if (!c.s) {
    fprintf(stderr, "child: open: %s\n", err.message);
    _exit(2);
  }
  c.out = fdopen(fd, "w");
  fprintf(c.out, "R\n"); /* ready */
  fflush(c.out);
  for (int i = 0; i < IN_FLIGHT; i++)
    submit_create(&c);
  event_base_dispatch(base);
  _exit(0);
}

/* ---- parent ---- */

struct ack {
  int64_t rev; /* 0: never acknowledged */
  int gen;
};

static struct ack acks[ROUNDS][MAX_OBJ];

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  return remove(path);
}

static int run_round(int round, int64_t *max_rev) {
  int p[2];
  if (pipe(p) < 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    close(p[0]);
    child_main(round, p[1]);
  }
  close(p[1]);
  FILE *in = fdopen(p[0], "r");
  char *line = NULL;
  size_t cap = 0;
  long n = 0;
  /* Kill after a number of acknowledgements that varies per round, so the
   * kill lands at different points of the group-commit cycle. */
  long kill_after = 1500 + round * 1237;
  bool killed = false;
  while (getline(&line, &cap, in) > 0) {
    char kind;
    int r, idx, gen;
    int64_t rev;
    if (line[0] == 'R')
      continue;
    if (sscanf(line, "%c %d %d %d %" SCNd64, &kind, &r, &idx, &gen, &rev) !=
            5 ||
        r != round || idx < 0 || idx >= MAX_OBJ) {
      fprintf(stderr, "bad line: %s", line);
      return -1;
    }
    if (rev > acks[round][idx].rev) {
      acks[round][idx].rev = rev;
      acks[round][idx].gen = gen;
    }
    if (rev > *max_rev)
      *max_rev = rev;
    if (++n == kill_after && !killed) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  free(line);
  fclose(in);
  int status;
  waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    fprintf(stderr, "child did not die by SIGKILL (status %d)\n", status);
    return -1;
  }
  printf("round %d: %ld acknowledged writes before kill -9\n", round, n);
  return 0;
}

static int verify(int upto_round, int64_t max_rev) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  kube_store_options_t o = {
      .struct_size = sizeof(o), .backend = "sqlite", .path = dbpath};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_store_t *s = kube_store_open(base_loop, &o, &err);
  if (!s) {
    fprintf(stderr, "reopen: %s\n", err.message);
    return -1;
  }
  int bad = 0;
  long checked = 0;
  if (kube_store_revision(s) < max_rev) {
    fprintf(stderr, "revision %" PRId64 " < acknowledged %" PRId64 "\n",
            kube_store_revision(s), max_rev);
    bad++;
  }
  for (int r = 0; r <= upto_round; r++) {
    for (int i = 0; i < MAX_OBJ; i++) {
      if (!acks[r][i].rev)
        continue;
      char key[128], val[1200];
      make_key(key, sizeof(key), r, i);
      kube_store_record_t *rec = kube_store_get(s, key, NULL);
      checked++;
      if (!rec) {
        fprintf(stderr, "LOST: %s (rev %" PRId64 ")\n", key, acks[r][i].rev);
        bad++;
        continue;
      }
      /* A later write may have committed without its ack reaching us; it
       * can only be newer. */
      if (rec->mod_revision < acks[r][i].rev) {
        fprintf(stderr,
                "%s: revision %" PRId64 " older than acked %" PRId64 "\n", key,
                rec->mod_revision, acks[r][i].rev);
        bad++;
      } else if (rec->mod_revision == acks[r][i].rev) {
        size_t len = make_value(val, sizeof(val), r, i, acks[r][i].gen);
        if (rec->value_len != len || memcmp(rec->value, val, len) != 0) {
          fprintf(stderr, "%s: wrong value\n", key);
          bad++;
        }
      }
      kube_store_record_unref(rec);
    }
  }
  printf(
      "verified %ld acknowledged objects, %d problems, store revision %" PRId64
      "\n",
      checked, bad, kube_store_revision(s));
  kube_store_close(s);
  kube_loop_free(base_loop);
  return bad ? -1 : 0;
}

int main(void) {
  char dir[256];
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof(dir), "%s/kube-store-crash-XXXXXX", t ? t : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(dbpath, sizeof(dbpath), "%s/store.db", dir);
  int rc = 0;
  int64_t max_rev = 0;
  for (int round = 0; round < ROUNDS && rc == 0; round++) {
    if (run_round(round, &max_rev) < 0 || verify(round, max_rev) < 0)
      rc = 1;
  }
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  printf("%s\n", rc ? "FAIL" : "PASS");
  return rc;
}
