/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI hooks.  rt_hook_run() is plain system calls (the container's init
 * runs createContainer and startContainer hooks with it); the rest runs in
 * the caller and builds the state JSON the hooks read on stdin.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime/internal.h"

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run one hook: state (then, with pid > 0, "<pid>}") on its stdin, its
 * stdout+stderr kept in msg (the tail, for the error).  0 when it exited
 * 0; -1 with msg saying why otherwise.  No allocation. */
int rt_hook_run(const kube_rt_hook_t *h, const char *state, pid_t pid,
                char *msg, size_t msglen) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, pidfd = -1;
  msg[0] = 0;
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
    snprintf(msg, msglen, "pipe: %s", strerror(errno));
    goto fail;
  }
  long child = rt_raw_clone3(0, &pidfd, -1);
  if (child < 0 && errno == ENOSYS) /* a seccomp profile refusing clone3 */
    child = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
  if (child == 0) {
    setsid(); /* a group of its own: a timeout kills what it started too */
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    char *argv0[] = {h->path, NULL};
    char *env0[] = {NULL};
    execve(h->path, h->args && h->args[0] ? h->args : argv0,
           h->env ? h->env : env0);
    _exit(127);
  }
  if (child < 0) {
    snprintf(msg, msglen, "clone: %s", strerror(errno));
    goto fail;
  }
  close(in[0]);
  close(out[1]);
  in[0] = out[1] = -1;
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  /* A hook that does not read its stdin must not stall us: best effort. */
  ssize_t w = write(in[1], state, strlen(state));
  if (pid > 0) {
    char tail[32];
    int n = snprintf(tail, sizeof tail, "%d}", (int)pid);
    w = write(in[1], tail, (size_t)n);
  }
  (void)w;
  close(in[1]);
  in[1] = -1;
  int64_t deadline = h->timeout > 0 ? mono_ms() + h->timeout * 1000LL : -1;
  size_t used = 0;
  bool timed_out = false, exited = false;
  while (!exited) {
    struct pollfd pfd[2] = {{pidfd, POLLIN, 0}, {out[0], POLLIN, 0}};
    int wait = deadline < 0 ? -1 : (int)(deadline - mono_ms());
    if (deadline >= 0 && wait <= 0) {
      timed_out = true;
      kill(-(pid_t)child, SIGKILL);
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      break;
    }
    int r = poll(pfd, out[0] >= 0 ? 2 : 1, wait);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0 && out[0] >= 0 && pfd[1].revents) {
      char buf[512];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) {
        close(out[0]);
        out[0] = -1;
      } else {
        /* keep the last msglen/2 bytes */
        size_t keep = msglen / 2;
        for (ssize_t i = 0; i < n; i++) {
          if (used + 1 >= keep) {
            memmove(msg, msg + 1, used - 1);
            used--;
          }
          msg[used++] = buf[i] == '\n' ? ' ' : buf[i];
        }
        msg[used] = 0;
      }
    }
    if (r > 0 && pfd[0].revents)
      exited = true;
  }
  int status = 0;
  while (waitpid((pid_t)child, &status, 0) < 0 && errno == EINTR) {
  }
  close(pidfd);
  if (out[0] >= 0)
    close(out[0]);
  char out_text[256];
  snprintf(out_text, sizeof out_text, "%s", msg);
  if (timed_out) {
    snprintf(msg, msglen, "%s: timed out after %d s", h->path, h->timeout);
    return -1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !out_text[0])
    snprintf(msg, msglen, "%s: cannot execute", h->path);
  else if (WIFEXITED(status))
    snprintf(msg, msglen, "%s: exit status %d%s%s", h->path,
             WEXITSTATUS(status), out_text[0] ? ": " : "", out_text);
  else
    snprintf(msg, msglen, "%s: killed by signal %d", h->path, WTERMSIG(status));
  return -1;
fail:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
  }
  return -1;
}

/* The state JSON of the runtime spec.  With pid < 0 it stops after
 * `"pid":` so the init can add its own pid (open prefix). */
char *rt_hook_state_json(const char *id, const char *status, pid_t pid,
                         const char *bundle, char **ann_keys, char **ann_values,
                         size_t n_ann) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(o, "status", json_object_new_string(status));
  json_object_object_add(o, "bundle",
                         json_object_new_string(bundle ? bundle : ""));
  json_object_object_add(o, "annotations",
                         rt_annotations_json(ann_keys, ann_values, n_ann));
  if (pid >= 0)
    json_object_object_add(o, "pid", json_object_new_int(pid));
  const char *s = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *out = NULL;
  if (s && pid >= 0) {
    out = strdup(s);
  } else if (s) {
    size_t len = strlen(s); /* drop the closing brace, add "pid": */
    if (asprintf(&out, "%.*s,\"pid\":", (int)(len - 1), s) < 0)
      out = NULL;
  }
  json_object_put(o);
  return out;
}

int rt_hooks_run_list(const kube_rt_hook_t *hooks, size_t n,
                      kube_rt_hook_kind_t kind, const char *state,
                      kube_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    char msg[400];
    if (rt_hook_run(&hooks[i], state, 0, msg, sizeof msg) < 0)
      return kube_error_set(err, KUBE_REASON_INVALID, 0, "hooks.%s[%zu]: %s",
                            rt_hook_name(kind), i, msg);
  }
  return 0;
}

/* The hooks and annotations a container keeps in its state dir
 * ("hooks.json", only when it has hooks or annotations), for start,
 * delete and state. */
int rt_meta_write(int dirfd, const kube_rt_config_t *c, kube_error_t *err) {
  json_object *h = rt_hooks_json(c->hooks, c->n_hooks);
  if (!h && !c->n_annotations)
    return 0;
  json_object *o = json_object_new_object();
  if (h)
    json_object_object_add(o, "hooks", h);
  json_object_object_add(o, "annotations",
                         rt_annotations_json(c->annotation_keys,
                                             c->annotation_values,
                                             c->n_annotations));
  const char *s = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  int rc = 0;
  int fd = openat(dirfd, "meta.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0600);
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
    rc = kube_make_error(err, errno, "write meta.json: %s", strerror(errno));
  if (fd >= 0)
    close(fd);
  json_object_put(o);
  return rc;
}

int rt_meta_read(int dirfd, struct rt_meta *m) {
  memset(m, 0, sizeof *m);
  char *text = rt_read_file_at(dirfd, "meta.json");
  json_object *o = text ? json_tokener_parse(text) : NULL;
  free(text);
  if (!o)
    return -1;
  kube_error_t e = KUBE_ERROR_INIT;
  json_object *v = NULL;
  if (json_object_object_get_ex(o, "hooks", &v))
    rt_hooks_parse(v, m->hooks, m->n_hooks, &e);
  if (json_object_object_get_ex(o, "annotations", &v))
    rt_annotations_parse(v, &m->ann_keys, &m->ann_values, &m->n_ann, &e);
  kube_error_clear(&e);
  json_object_put(o);
  return 0;
}

void rt_meta_clear(struct rt_meta *m) {
  for (int k = 0; k < KUBE_HOOK__COUNT; k++)
    rt_hooks_free(m->hooks[k], m->n_hooks[k]);
  for (size_t i = 0; i < m->n_ann; i++) {
    free(m->ann_keys[i]);
    free(m->ann_values[i]);
  }
  free(m->ann_keys);
  free(m->ann_values);
  memset(m, 0, sizeof *m);
}

/* poststart / poststop: failures are logged, the operation goes on. */
void rt_meta_run_hooks(int dirfd, const char *id, const char *bundle,
                       kube_rt_hook_kind_t kind, const char *status,
                       pid_t pid) {
  struct rt_meta m;
  if (rt_meta_read(dirfd, &m) < 0)
    return;
  if (m.n_hooks[kind]) {
    char *state = rt_hook_state_json(id, status, pid, bundle, m.ann_keys,
                                     m.ann_values, m.n_ann);
    kube_error_t e = KUBE_ERROR_INIT;
    if (state &&
        rt_hooks_run_list(m.hooks[kind], m.n_hooks[kind], kind, state, &e) < 0)
      log_warn("runtime: container %s: %s", id, e.message);
    kube_error_clear(&e);
    free(state);
  }
  rt_meta_clear(&m);
}
