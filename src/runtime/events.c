/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting for a container's exit on a libevent loop, through a pidfd. */
#include <event2/event.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/internal.h"

struct exit_watch {
  kube_runtime_t *rt;
  char *id;
  struct event *ev;
  int pidfd;
  pid_t monitor;
  kube_rt_exit_cb cb;
  void *userdata;
};

static void on_exit_ready(evutil_socket_t fd, short what, void *arg) {
  struct exit_watch *w = arg;
  kube_rt_exit_t e;
  kube_error_t err = KUBE_ERROR_INIT;
  if (w->monitor > 0 && rt_is_child(w->rt, w->monitor)) {
    waitpid(w->monitor, NULL, 0);
    rt_forget_child(w->rt, w->monitor);
  }
  /* The monitor is gone, so this does not block. */
  if (kube_runtime_wait(w->rt, w->id, 0, &e, &err) < 0) {
    memset(&e, 0, sizeof e);
    e.exit_code = 255;
    snprintf(e.reason, sizeof e.reason, "Unknown");
  }
  kube_error_clear(&err);
  w->cb(w->id, &e, w->userdata);
  event_free(w->ev);
  if (w->pidfd >= 0)
    close(w->pidfd);
  free(w->id);
  free(w);
}

KUBE_EXPORT int kube_runtime_wait_async(kube_runtime_t *rt, const char *id,
                                        kube_loop_t *kloop, kube_rt_exit_cb cb,
                                        void *userdata, kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  struct rt_state st;
  if (rt_load_state(rt, id, &st, err) < 0)
    return -1;
  struct exit_watch *w = calloc(1, sizeof *w);
  if (!w || !(w->id = strdup(id))) {
    free(w);
    return kube_make_oom(err);
  }
  w->rt = rt;
  w->cb = cb;
  w->userdata = userdata;
  w->monitor = st.monitor_pid;
  w->pidfd = -1;
  if (rt_proc_alive(st.monitor_pid, st.monitor_start))
    w->pidfd = (int)syscall(SYS_pidfd_open, st.monitor_pid, 0);
  if (w->pidfd >= 0 && !rt_proc_alive(st.monitor_pid, st.monitor_start)) {
    close(w->pidfd);
    w->pidfd = -1;
  }
  w->ev =
      event_new(base, w->pidfd, w->pidfd >= 0 ? EV_READ : 0, on_exit_ready, w);
  if (!w->ev) {
    if (w->pidfd >= 0)
      close(w->pidfd);
    free(w->id);
    free(w);
    return kube_make_oom(err);
  }
  if (w->pidfd >= 0)
    event_add(w->ev, NULL);
  else
    event_active(w->ev, EV_READ, 0); /* already exited: report on the loop */
  return 0;
}
