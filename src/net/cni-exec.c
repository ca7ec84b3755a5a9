/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running one CNI plugin: posix_spawn (vfork-fast, safe from worker
 * threads), the configuration on stdin, stdout and stderr collected with
 * poll, a deadline after which the plugin is killed.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "net/internal.h"

void net_exec_result_clear(net_exec_result_t *r) {
  if (!r)
    return;
  free(r->out);
  free(r->errout);
  memset(r, 0, sizeof *r);
  r->exit_code = -1;
}

char *net_find_plugin(const char *dirs, const char *type) {
  if (!type || !*type || strchr(type, '/'))
    return NULL;
  const char *p = dirs;
  while (p && *p) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    if (len) {
      char *full = NULL;
      if (asprintf(&full, "%.*s/%s", (int)len, p, type) < 0)
        return NULL;
      struct stat st;
      if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
          access(full, X_OK) == 0)
        return full;
      free(full);
    }
    if (!colon)
      break;
    p = colon + 1;
  }
  return NULL;
}

struct sink {
  char *buf;
  size_t len, cap;
};

static int sink_read(struct sink *s, int fd) {
  if (s->cap - s->len < 4096) {
    size_t cap = s->cap ? s->cap * 2 : 8192;
    char *b = realloc(s->buf, cap);
    if (!b)
      return -1;
    s->buf = b;
    s->cap = cap;
  }
  ssize_t n = read(fd, s->buf + s->len, s->cap - s->len - 1);
  if (n > 0)
    s->len += (size_t)n;
  s->buf[s->len] = '\0';
  return n > 0 ? 1 : (n == 0 || errno != EINTR ? 0 : 1);
}

static int64_t now_ms(void) {
  return kube_time_mono_ns() / 1000000;
}

int net_exec(const char *path, char *const *env, const char *input,
             size_t input_len, int timeout_ms, net_exec_result_t *out,
             kube_error_t *err) {
  char *const argv[] = {(char *)path, NULL};
  return net_exec_argv(argv, env, input, input_len, timeout_ms, out, err);
}

int net_exec_argv(char *const *argv, char *const *env, const char *input,
                  size_t input_len, int timeout_ms, net_exec_result_t *out,
                  kube_error_t *err) {
  const char *path = argv[0];
  memset(out, 0, sizeof *out);
  out->exit_code = -1;
  int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 ||
      pipe2(e, O_CLOEXEC) < 0) {
    int en = errno;
    for (int i = 0; i < 2; i++) {
      if (in[i] >= 0)
        close(in[i]);
      if (o[i] >= 0)
        close(o[i]);
      if (e[i] >= 0)
        close(e[i]);
    }
    return kube_make_error(err, en, "pipe: %s", strerror(en));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, o[1], 1);
  posix_spawn_file_actions_adddup2(&fa, e[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  /* The plugin gets default signal dispositions and an empty mask, not
   * the daemon's (a blocked SIGTERM would survive exec). */
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawn(&pid, path, &fa, &attr, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(o[1]);
  close(e[1]);
  if (rc != 0) {
    close(in[1]);
    close(o[0]);
    close(e[0]);
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, rc,
                          "cannot run %s: %s", path, strerror(rc));
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  struct sink so = {0}, se = {0};
  size_t off = 0;
  int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
  bool timed_out = false, oom = false;
  int fin = in[1], fout = o[0], ferr = e[0];
  if (input_len == 0) {
    close(fin);
    fin = -1;
  }
  while (fout >= 0 || ferr >= 0) {
    struct pollfd p[3];
    int n = 0, iout = -1, ierr = -1, iin = -1;
    if (fin >= 0) {
      p[n] = (struct pollfd){fin, POLLOUT, 0};
      iin = n++;
    }
    if (fout >= 0) {
      p[n] = (struct pollfd){fout, POLLIN, 0};
      iout = n++;
    }
    if (ferr >= 0) {
      p[n] = (struct pollfd){ferr, POLLIN, 0};
      ierr = n++;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int r = poll(p, (nfds_t)n, (int)left);
    if (r < 0 && errno != EINTR)
      break;
    if (r <= 0)
      continue;
    if (iin >= 0 && p[iin].revents) {
      ssize_t w = write(fin, input + off, input_len - off);
      if (w > 0)
        off += (size_t)w;
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == input_len) {
        close(fin);
        fin = -1;
      }
    }
    if (iout >= 0 && p[iout].revents) {
      int s = sink_read(&so, fout);
      if (s < 0)
        oom = true;
      if (s <= 0) {
        close(fout);
        fout = -1;
      }
    }
    if (ierr >= 0 && p[ierr].revents) {
      int s = sink_read(&se, ferr);
      if (s < 0)
        oom = true;
      if (s <= 0) {
        close(ferr);
        ferr = -1;
      }
    }
  }
  if (fin >= 0)
    close(fin);
  if (fout >= 0)
    close(fout);
  if (ferr >= 0)
    close(ferr);
  if (timed_out || oom)
    kill(pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  out->out = so.buf ? so.buf : strdup("");
  out->out_len = so.len;
  out->errout = se.buf ? se.buf : strdup("");
  if (timed_out)
    return kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT,
                          "%s did not finish within %d ms", path,
                          timeout_ms > 0 ? timeout_ms : 60000);
  if (oom || !out->out || !out->errout)
    return kube_make_oom(err);
  out->exit_code = WIFEXITED(st)     ? WEXITSTATUS(st)
                   : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                     : -1;
  return 0;
}
