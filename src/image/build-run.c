/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RUN for the builder: a real container through the libkube runtime, on
 * the overlay the builder mounted, with its output streamed line by line
 * to the progress callback; and user lookups in the image's /etc files.
 */
#include <fcntl.h>
#include <pthread.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <libkube/runtime.h>

#include "image/build-run.h"

int img_cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- users --------------------------------------------------------------- */

static char *read_in_root(int root, const char *path) {
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd < 0)
    return NULL;
  char *r = img_read_fd(fd, 1 << 20, NULL);
  close(fd);
  return r;
}

/* Field 3 (id) and 4 (primary gid) of the line whose field 1 is name (or
 * whose id is name when numeric). */
static bool find_entry(const char *text, const char *name, int64_t *id,
                       int64_t *gid) {
  const char *p = text;
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(len < 1023 ? len : 1023), p);
    p = nl ? nl + 1 : NULL;
    char *f[5] = {0};
    char *s = line;
    for (int i = 0; i < 5 && s; i++) {
      f[i] = s;
      s = strchr(s, ':');
      if (s)
        *s++ = '\0';
    }
    if (!f[0] || !f[2] || !streq(f[0], name))
      continue;
    *id = atoll(f[2]);
    if (gid)
      *gid = f[3] ? atoll(f[3]) : 0;
    return true;
  }
  return false;
}

static bool numeric(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

int img_lookup_user(int root, const char *spec, int64_t *uid, int64_t *gid,
                    kube_error_t *err) {
  *uid = 0;
  *gid = 0;
  if (!spec || !*spec)
    return 0;
  cleanup_free char *copy = strdup(spec);
  if (!copy)
    return kube_make_oom(err);
  char *colon = strchr(copy, ':');
  if (colon)
    *colon++ = '\0';
  cleanup_free char *passwd = read_in_root(root, "/etc/passwd");
  int64_t pgid = 0;
  if (numeric(copy)) {
    *uid = atoll(copy);
    /* the primary group of a numeric uid, when /etc/passwd knows it */
    const char *p = passwd;
    while (p && *p) {
      const char *nl = strchr(p, '\n');
      char line[1024];
      size_t len = nl ? (size_t)(nl - p) : strlen(p);
      snprintf(line, sizeof line, "%.*s", (int)(len < 1023 ? len : 1023), p);
      p = nl ? nl + 1 : NULL;
      char *f[4] = {0}, *s = line;
      for (int i = 0; i < 4 && s; i++) {
        f[i] = s;
        s = strchr(s, ':');
        if (s)
          *s++ = '\0';
      }
      if (f[2] && f[3] && numeric(f[2]) && atoll(f[2]) == *uid) {
        pgid = atoll(f[3]);
        break;
      }
    }
  } else if (!passwd || !find_entry(passwd, copy, uid, &pgid))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "unable to find user %s: no matching entries in "
                          "passwd file",
                          copy);
  *gid = pgid;
  if (colon) {
    if (numeric(colon))
      *gid = atoll(colon);
    else {
      cleanup_free char *group = read_in_root(root, "/etc/group");
      if (!group || !find_entry(group, colon, gid, NULL))
        return kube_error_set(err, KUBE_REASON_INVALID, 0,
                              "unable to find group %s: no matching entries "
                              "in group file",
                              colon);
    }
  }
  return 0;
}

/* ---- RUN ----------------------------------------------------------------- */

#define TAIL_LINES 12

struct reader {
  img_progress_t *prog;
  char *tail[TAIL_LINES];
  size_t n_tail;
  kube_strbuf_t line;
};

static void tail_add(struct reader *r, const char *line) {
  if (r->n_tail == TAIL_LINES) {
    free(r->tail[0]);
    memmove(r->tail, r->tail + 1, (TAIL_LINES - 1) * sizeof *r->tail);
    r->n_tail--;
  }
  r->tail[r->n_tail++] = strdup(line);
}

static void emit_line(struct reader *r) {
  const char *l = r->line.data ? r->line.data : "";
  img_progress_emit(r->prog, KUBE_IMAGE_PROGRESS_LOG, NULL, l, 0, 0);
  tail_add(r, l);
  kube_strbuf_reset(&r->line);
}

/* Copy the container's output to the progress callback, line by line,
 * until every writer closed the pipe. */
static void read_output(struct reader *r, int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] != '\n' && r->line.len < 65536)
        kube_strbuf_append_char(&r->line, buf[i]);
      else
        emit_line(r);
    }
  }
  if (r->line.len)
    emit_line(r);
  kube_strbuf_clear(&r->line);
}

static int set_strv(char ***dst, size_t *n, char *const *src,
                    kube_error_t *err) {
  for (size_t i = 0; i < *n; i++)
    free((*dst)[i]);
  free(*dst);
  size_t k = img_strv_len(src);
  *dst = calloc(k + 1, sizeof **dst);
  *n = 0;
  if (!*dst)
    return kube_make_oom(err);
  for (size_t i = 0; i < k; i++)
    if (!((*dst)[(*n)++] = strdup(src[i])))
      return kube_make_oom(err);
  return 0;
}

static int make_config(const img_run_t *r, kube_rt_config_t **out,
                       kube_error_t *err) {
  kube_rt_config_t *cfg = kube_rt_config_new_default(err);
  *out = cfg;
  if (!cfg)
    return -1;
  free(cfg->root_path);
  free(cfg->cwd);
  free(cfg->hostname);
  free(cfg->cgroups_path);
  cfg->root_path = strdup(r->rootfs);
  cfg->cwd = strdup(r->cwd && *r->cwd ? r->cwd : "/");
  cfg->hostname = strdup("kube-build");
  cfg->cgroups_path = strdup(r->cgroups_path);
  cfg->uid = (uid_t)r->uid;
  cfg->gid = (gid_t)r->gid;
  if (!cfg->root_path || !cfg->cwd || !cfg->hostname || !cfg->cgroups_path ||
      set_strv(&cfg->args, &cfg->n_args, r->args, err) < 0 ||
      set_strv(&cfg->env, &cfg->n_env, r->env, err) < 0)
    return kube_error_is_set(err) ? -1 : kube_make_oom(err);
  if (r->host_network) {
    /* --network host: share the host's network namespace */
    for (size_t i = 0; i < cfg->n_namespaces; i++)
      if (cfg->namespaces[i].type == KUBE_NS_NETWORK) {
        free(cfg->namespaces[i].path);
        memmove(&cfg->namespaces[i], &cfg->namespaces[i + 1],
                (cfg->n_namespaces - i - 1) * sizeof *cfg->namespaces);
        cfg->n_namespaces--;
        break;
      }
  }
  return 0;
}

struct reader_thread {
  struct reader rd;
  int fd;
};

static void *reader_main(void *arg) {
  struct reader_thread *t = arg;
  read_output(&t->rd, t->fd);
  return NULL;
}

/* The container runs from this (possibly multi-threaded) process: the
 * runtime's child switches credentials with raw system calls, which do
 * not wait for threads the child does not have.  A thread of our own
 * copies the output meanwhile, so a chatty RUN never blocks on the pipe. */
int img_build_run(img_run_t *r, kube_error_t *err) {
  r->exit_code = -1;
  r->tail = NULL;
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0)
    return kube_make_error(err, errno, "pipe: %s", strerror(errno));
  struct reader_thread t = {.rd = {.prog = r->prog}, .fd = out[0]};
  pthread_t th;
  int e = pthread_create(&th, NULL, reader_main, &t);
  if (e) {
    close(out[0]);
    close(out[1]);
    return kube_make_error(err, e, "RUN: thread: %s", strerror(e));
  }
  int rc = -1;
  kube_rt_config_t *cfg = NULL;
  kube_runtime_t *rt = kube_runtime_new(r->runtime_root, err);
  if (rt && make_config(r, &cfg, err) == 0) {
    kube_rt_io_t io = {-1, out[1], out[1], NULL};
    kube_rt_exit_t ex;
    rc = kube_runtime_run(rt, r->id, cfg, &io, &ex, err);
    if (rc == 0)
      r->exit_code = ex.exit_code;
    else
      kube_error_wrap(err, "RUN");
    kube_runtime_delete(rt, r->id, true, NULL);
  }
  /* The reader ends once every writer is gone: the container's copies
   * went with it, ours goes now. */
  close(out[1]);
  pthread_join(th, NULL);
  close(out[0]);
  kube_rt_config_free(cfg);
  kube_runtime_free(rt);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < t.rd.n_tail; i++) {
    kube_strbuf_printf(&sb, "%s%s", i ? "\n" : "", t.rd.tail[i]);
    free(t.rd.tail[i]);
  }
  r->tail = kube_strbuf_steal(&sb);
  return rc;
}
