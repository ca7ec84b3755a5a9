/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container logs: a CRI log file streamed as text (logs-cri.c renders it).
 * Reading the file is blocking work, so it happens on a worker thread in
 * bounded steps; each step's text is sent from the loop, respecting the
 * client's pace, before the next step is queued.  With follow, a step that
 * finds nothing new waits for inotify (a write or a rotation in the log's
 * directory) or a periodic check; a rotated file is read to its end before
 * the new one is opened, and the stream ends once the container stopped
 * and its last lines went out, as the kubelet's follow does.
 */
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "node/internal.h"

/* Text produced per worker step, and the backlog at which we wait for the
 * client to read before the next step. */
#define LOGS_STEP (128 * 1024)
#define LOGS_HIGH (512 * 1024)
#define LOGS_LOW (128 * 1024)

struct nd_logs {
  struct nd_session ss;
  kube_node_stream_t *s;
  kube_http_request_t *req;
  char *pod, *container, *path, *container_id;
  kube_node_log_options_t o;

  /* the worker's state (touched only while a job runs, or on the loop
   * while none does) */
  int fd;
  ino_t ino;
  dev_t dev;
  bool opened, final_pass;
  struct nd_log_render render;
  kube_strbuf_t carry; /* bytes read, not rendered yet (a partial line) */
  kube_strbuf_t out;   /* text for the client */
  bool j_wait;         /* follow: nothing new right now */
  bool j_done;         /* nothing more will come */
  kube_error_t jerr;

  /* the loop's state */
  bool job, dead, begun, client_gone, want_drain;
  int ino_fd;
  struct event *ino_ev;
  kube_timer_t *timer;
};

static void logs_submit(struct nd_logs *lg);

/* ---- life cycle ---- */

static void logs_free(struct nd_logs *lg) {
  nd_session_unlink(&lg->ss);
  if (lg->ino_ev)
    event_free(lg->ino_ev);
  if (lg->ino_fd >= 0)
    close(lg->ino_fd);
  kube_timer_free(lg->timer);
  if (lg->fd >= 0)
    close(lg->fd);
  kube_strbuf_clear(&lg->carry);
  kube_strbuf_clear(&lg->out);
  kube_error_clear(&lg->jerr);
  free(lg->pod);
  free(lg->container);
  free(lg->path);
  free(lg->container_id);
  free(lg);
}

/* Finish the request (if still ours) and free once no job holds us. */
static void logs_end(struct nd_logs *lg, bool abort) {
  if (!lg->dead) {
    lg->dead = true;
    nd_session_unlink(&lg->ss);
    kube_http_request_t *req = steal_pointer(&lg->req);
    if (req) {
      kube_http_request_set_close_cb(req, NULL, NULL);
      kube_http_stream_set_drained_cb(req, 0, NULL, NULL);
      if (!lg->begun)
        kube_http_reply_error(req, 503,
                              "the streaming server is shutting "
                              "down");
      else if (abort)
        kube_http_stream_abort(req);
      else
        kube_http_stream_end(req);
    }
  }
  if (!lg->job)
    logs_free(lg);
}

static void logs_close_op(struct nd_session *ss, const char *why) {
  logs_end((struct nd_logs *)ss, false);
}

static const struct nd_session_ops logs_ops = {
    .name = "logs", .close = logs_close_op, .idle_timeout = false};

/* ---- the worker's step ---- */

/* Open `path` into *fd and *st; -1 with errno. */
static int open_file(const char *path, int *fd, struct stat *st) {
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  if (*fd < 0)
    return -1;
  if (fstat(*fd, st) < 0) {
    close(*fd);
    *fd = -1;
    return -1;
  }
  return 0;
}

static void use_file(struct nd_logs *lg, int fd, const struct stat *st) {
  if (lg->fd >= 0)
    close(lg->fd);
  lg->fd = fd;
  lg->ino = st->st_ino;
  lg->dev = st->st_dev;
}

/* The current log, from its last tail_lines lines. */
static int open_log(struct nd_logs *lg) {
  int fd;
  struct stat st;
  if (open_file(lg->path, &fd, &st) < 0)
    return -1;
  int64_t off = nd_log_tail_offset(fd, lg->o.tail_lines);
  if (off < 0 || lseek(fd, off, SEEK_SET) < 0) {
    close(fd);
    return -1;
  }
  use_file(lg, fd, &st);
  return 0;
}

static bool same_file(const char *path, ino_t ino, dev_t dev) {
  struct stat st;
  return stat(path, &st) == 0 && st.st_ino == ino && st.st_dev == dev;
}

/* The file we read was rotated away and read to its end: go on with the
 * one written after it.  The monitor rotates log -> log.1 -> log.2 ...,
 * so when ours is now log.K the next is log.(K-1), and log itself after
 * log.1; several rotations between two reads lose nothing as long as the
 * files are kept (the kubelet only ever reopens log).  0, or -1 when
 * there is nothing to open yet. */
static int open_next(struct nd_logs *lg) {
  char name[PATH_MAX + 16];
  for (int attempt = 0; attempt < 5; attempt++) {
    /* The monitor shifts the names from the highest down, so while it
     * rotates one name in the middle is missing: a single gap does not end
     * the scan, two in a row do. */
    int k = 0, misses = 0;
    for (int i = 1; i <= 1000 && !k && misses < 2; i++) {
      snprintf(name, sizeof name, "%s.%d", lg->path, i);
      struct stat st;
      if (stat(name, &st) < 0) {
        misses++;
        continue;
      }
      misses = 0;
      if (st.st_ino == lg->ino && st.st_dev == lg->dev)
        k = i;
    }
    if (k == 0 && attempt < 4) {
      /* Not found: a rotation may be shifting names past our scan.  Look
       * again before concluding the file is gone. */
      usleep(2000);
      continue;
    }
    if (k == 0) {
      /* Gone (deleted after too many rotations) or never rotated: the
       * current file. */
      int fd;
      struct stat st;
      if (open_file(lg->path, &fd, &st) < 0)
        return -1;
      use_file(lg, fd, &st);
      return 0;
    }
    if (k == 1)
      snprintf(name, sizeof name, "%s", lg->path);
    else
      snprintf(name, sizeof name, "%s.%d", lg->path, k - 1);
    int fd;
    struct stat st;
    if (open_file(name, &fd, &st) < 0)
      continue;
    /* A rotation between the scan and the open shifts every name: ours
     * must still be log.K, else scan again. */
    snprintf(name, sizeof name, "%s.%d", lg->path, k);
    if (same_file(name, lg->ino, lg->dev)) {
      use_file(lg, fd, &st);
      return 0;
    }
    close(fd);
  }
  return -1;
}

/* The file at the path is not the one we read any more (rotated). */
static bool rotated(struct nd_logs *lg) {
  struct stat st;
  if (stat(lg->path, &st) < 0)
    return false; /* between the rename and the new file: wait */
  return st.st_ino != lg->ino || st.st_dev != lg->dev;
}

static bool container_running(struct nd_logs *lg) {
  if (!lg->container_id)
    return true; /* no way to tell: follow until the client leaves */
  kube_runtime_t *rt = nd_runtime_get(lg->s, NULL);
  if (!rt)
    return true;
  kube_rt_state_t st;
  memset(&st, 0, sizeof st);
  bool running = kube_runtime_state(rt, lg->container_id, &st, NULL) == 0 &&
                 (st.status == KUBE_RT_RUNNING || st.status == KUBE_RT_PAUSED ||
                  st.status == KUBE_RT_CREATED);
  kube_rt_state_clear(&st);
  nd_runtime_put(lg->s, rt);
  return running;
}

static void render(struct nd_logs *lg, bool final) {
  size_t used = nd_log_render_feed(&lg->render, lg->carry.data, lg->carry.len,
                                   final, &lg->out);
  memmove(lg->carry.data, lg->carry.data + used, lg->carry.len - used);
  lg->carry.len -= used;
  if (lg->carry.data)
    lg->carry.data[lg->carry.len] = '\0';
}

static void step_run(void *arg) {
  struct nd_logs *lg = arg;
  lg->j_wait = false;
  if (!lg->opened) {
    if (open_log(lg) < 0) {
      kube_error_set(&lg->jerr, KUBE_REASON_BAD_REQUEST, errno,
                     "failed to open log file \"%s\": %s", lg->path,
                     strerror(errno));
      return;
    }
    lg->opened = true;
  }
  char buf[65536];
  while (lg->out.len < LOGS_STEP && !lg->render.limit_hit) {
    ssize_t n = read(lg->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      kube_error_set(&lg->jerr, KUBE_REASON_INTERNAL, errno,
                     "failed to read log file \"%s\": %s", lg->path,
                     strerror(errno));
      return;
    }
    if (n > 0) {
      kube_strbuf_append_len(&lg->carry, buf, (size_t)n);
      render(lg, false);
      continue;
    }
    /* The end of what is there now. */
    if (!lg->o.follow || lg->final_pass) {
      render(lg, true);
      lg->j_done = true;
      return;
    }
    if (rotated(lg)) {
      /* The old file is complete (the monitor rotates between lines):
       * go on with the next one from its start. */
      render(lg, true);
      if (open_next(lg) == 0)
        continue;
    }
    if (!container_running(lg)) {
      /* Its last lines may have landed after our read: one more pass. */
      lg->final_pass = true;
      continue;
    }
    lg->j_wait = true;
    return;
  }
  if (lg->render.limit_hit)
    lg->j_done = true;
}

/* ---- back on the loop ---- */

static void wake(struct nd_logs *lg) {
  if (lg->ino_ev)
    event_del(lg->ino_ev);
  if (lg->timer)
    kube_timer_disarm(lg->timer);
  if (!lg->job && !lg->dead)
    logs_submit(lg);
}

static void ino_cb(evutil_socket_t fd, short what, void *arg) {
  struct nd_logs *lg = arg;
  char buf[4096];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  wake(lg);
}

static void timer_cb(void *arg) {
  wake(arg);
}

/* Follow: wait for the log's directory to change, or the periodic
 * check. */
static int wait_more(struct nd_logs *lg) {
  if (lg->ino_fd < 0) {
    cleanup_free char *dir = strdup(lg->path);
    if (!dir)
      return -1;
    lg->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (lg->ino_fd >= 0 &&
        inotify_add_watch(lg->ino_fd, dirname(dir),
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
                              IN_CLOSE_WRITE | IN_DELETE) >= 0)
      lg->ino_ev = event_new(kube_loop_base(lg->s->loop), lg->ino_fd,
                             EV_READ | EV_PERSIST, ino_cb, lg);
    /* Without inotify the periodic check still sees new lines. */
  }
  if (!lg->timer &&
      !(lg->timer = kube_timer_new(lg->s->loop, timer_cb, lg, NULL)))
    return -1;
  if (lg->ino_ev)
    event_add(lg->ino_ev, NULL);
  kube_timer_arm(lg->timer, lg->s->follow_check_ms);
  return 0;
}

static void drained(kube_http_request_t *req, void *arg) {
  struct nd_logs *lg = arg;
  if (lg->want_drain) {
    lg->want_drain = false;
    wake(lg);
  }
}

static void step_done(void *arg) {
  struct nd_logs *lg = arg;
  lg->job = false;
  if (lg->dead || lg->s->freeing) {
    logs_end(lg, false);
    return;
  }
  if (lg->client_gone) {
    logs_end(lg, true);
    return;
  }
  if (kube_error_is_set(&lg->jerr) && !lg->begun) {
    kube_http_request_t *req = steal_pointer(&lg->req);
    kube_http_request_set_close_cb(req, NULL, NULL);
    nd_reply_status_error(req, &lg->jerr);
    logs_end(lg, false);
    return;
  }
  if (!lg->begun) {
    lg->begun = true;
    if (kube_http_stream_begin(lg->req, 200, "text/plain", -1) < 0) {
      logs_end(lg, true);
      return;
    }
    kube_http_stream_set_drained_cb(lg->req, LOGS_LOW, drained, lg);
  }
  if (lg->out.len) {
    nd_session_touch(&lg->ss);
    kube_http_stream_write(lg->req, lg->out.data, lg->out.len);
    kube_strbuf_reset(&lg->out);
  }
  if (kube_error_is_set(&lg->jerr)) {
    log_warn("node: logs of %s/%s: %s", lg->pod, lg->container,
             lg->jerr.message);
    logs_end(lg, true);
    return;
  }
  if (lg->j_done) {
    logs_end(lg, false);
    return;
  }
  if (lg->j_wait) {
    if (wait_more(lg) < 0)
      logs_end(lg, true);
    return;
  }
  if (kube_http_stream_backlog(lg->req) > LOGS_HIGH) {
    lg->want_drain = true;
    return;
  }
  logs_submit(lg);
}

static void logs_submit(struct nd_logs *lg) {
  kube_error_t e = KUBE_ERROR_INIT;
  lg->job = true;
  if (kube_workers_submit(lg->s->workers, step_run, step_done, lg, &e) < 0) {
    lg->job = false;
    log_warn("node: logs of %s/%s: %s", lg->pod, lg->container, e.message);
    kube_error_clear(&e);
    logs_end(lg, true);
  }
}

static void req_closed(kube_http_request_t *req, void *arg) {
  struct nd_logs *lg = arg;
  lg->client_gone = true;
  if (!lg->job)
    logs_end(lg, true);
}

/* ---- entry point ---- */

static const char *req_param(void *arg, const char *key) {
  return kube_http_request_query_param(arg, key);
}

void nd_serve_logs(kube_node_stream_t *s, kube_http_request_t *req,
                   const char *ns, const char *pod, const char *uid,
                   const char *container) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_node_stream_target_t t;
  memset(&t, 0, sizeof t);
  struct nd_logs *lg = NULL;
  kube_node_log_options_t o;
  bool previous = false;
  if (kube_node_log_options_parse(req_param, req, pod, &o, &previous, &e) < 0)
    goto fail;
  kube_node_stream_query_t q = {.struct_size = sizeof q,
                                .op = KUBE_NODE_STREAM_LOGS,
                                .namespace_ = ns,
                                .pod = pod,
                                .pod_uid = uid,
                                .container = container,
                                .previous = previous};
  if (nd_resolve(s, &q, &t, &e) < 0)
    goto fail;
  char *path = previous ? t.previous_log_path : t.log_path;
  if (!path) {
    if (previous)
      kube_error_set(&e, KUBE_REASON_BAD_REQUEST, 0,
                     "previous terminated container \"%s\" in pod \"%s\" not "
                     "found",
                     container, pod);
    else
      kube_error_set(&e, KUBE_REASON_BAD_REQUEST, 0,
                     "container \"%s\" in pod \"%s\" is waiting to start - no "
                     "logs yet",
                     container, pod);
    goto fail;
  }
  if (!(lg = calloc(1, sizeof *lg))) {
    kube_make_oom(&e);
    goto fail;
  }
  lg->s = s;
  lg->fd = lg->ino_fd = -1;
  lg->o = o;
  /* The previous instance has stopped: there is nothing to follow. */
  if (previous)
    lg->o.follow = false;
  nd_log_render_init(&lg->render, &lg->o);
  lg->path = strdup(path);
  lg->pod = strdup(pod);
  lg->container = strdup(container);
  if (!previous && t.container_id)
    lg->container_id = steal_pointer(&t.container_id);
  if (!lg->path || !lg->pod || !lg->container) {
    kube_make_oom(&e);
    goto fail;
  }
  kube_node_stream_target_clear(&t);
  nd_session_link(s, &lg->ss, &logs_ops);
  lg->req = req;
  kube_http_request_set_close_cb(req, req_closed, lg);
  logs_submit(lg);
  return;
fail:
  kube_node_stream_target_clear(&t);
  nd_reply_status_error(req, &e);
  kube_error_clear(&e);
  if (lg)
    logs_free(lg);
}
