/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Non-blocking I/O on the loop for the streams' other ends: an exec's
 * stdin socket, stdout/stderr pipes and pty master, a port-forward's
 * connection into the pod.  Plain events rather than bufferevents so that
 * socket writes carry MSG_NOSIGNAL: the library must not raise SIGPIPE in
 * a host process that did not ignore it.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "node/internal.h"

#define FDIO_READ_CHUNK 65536

static void fdio_read_cb(evutil_socket_t fd, short what, void *arg) {
  struct nd_fdio *io = arg;
  char buf[FDIO_READ_CHUNK];
  ssize_t n = read(io->fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0) {
    io->on_read(io->arg, buf, (size_t)n, 0);
    return;
  }
  /* EOF, or a pty whose other side is gone (EIO), or a real error. */
  int e = n < 0 && errno != EIO ? errno : 0;
  io->read_eof = true;
  event_del(io->rd);
  io->on_read(io->arg, NULL, 0, e);
}

static void fdio_flush(struct nd_fdio *io) {
  while (evbuffer_get_length(io->out)) {
    size_t n = evbuffer_get_contiguous_space(io->out);
    const void *p = evbuffer_pullup(io->out, (ev_ssize_t)n);
    ssize_t w = io->sock ? send(io->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
                         : write(io->fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      event_add(io->wr, NULL);
      return;
    }
    if (w < 0) {
      int e = errno;
      evbuffer_drain(io->out, evbuffer_get_length(io->out));
      io->write_closed = true;
      event_del(io->wr);
      if (io->on_write_error)
        io->on_write_error(io->arg, e);
      return;
    }
    evbuffer_drain(io->out, (size_t)w);
  }
  event_del(io->wr);
  if (io->shut_pending && !io->write_closed) {
    io->shut_pending = false;
    io->write_closed = true;
    if (io->sock)
      shutdown(io->fd, SHUT_WR);
  }
}

static void fdio_write_cb(evutil_socket_t fd, short what, void *arg) {
  struct nd_fdio *io = arg;
  size_t before = evbuffer_get_length(io->out);
  fdio_flush(io);
  size_t after = evbuffer_get_length(io->out);
  if (io->on_drained && before > io->low_water && after <= io->low_water &&
      !io->write_closed)
    io->on_drained(io->arg);
}

int nd_fdio_init(struct nd_fdio *io, struct event_base *base, int fd, bool sock,
                 void *arg) {
  io->fd = fd;
  io->sock = sock;
  io->arg = arg;
  if (!io->low_water)
    io->low_water = 64 * 1024;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  io->rd = event_new(base, fd, EV_READ | EV_PERSIST, fdio_read_cb, io);
  io->wr = event_new(base, fd, EV_WRITE | EV_PERSIST, fdio_write_cb, io);
  io->out = evbuffer_new();
  if (!io->rd || !io->wr || !io->out) {
    nd_fdio_clear(io);
    return -1;
  }
  if (io->on_read)
    event_add(io->rd, NULL);
  return 0;
}

int nd_fdio_write(struct nd_fdio *io, const void *buf, size_t len) {
  if (io->fd < 0 || io->write_closed || io->shut_pending)
    return -1;
  if (evbuffer_add(io->out, buf, len) < 0)
    return -1;
  fdio_flush(io);
  return 0;
}

void nd_fdio_shutdown_write(struct nd_fdio *io) {
  if (io->fd < 0 || io->write_closed)
    return;
  io->shut_pending = true;
  fdio_flush(io);
}

void nd_fdio_pause(struct nd_fdio *io, bool paused) {
  if (io->fd < 0 || io->read_paused == paused)
    return;
  io->read_paused = paused;
  if (io->read_eof || !io->on_read)
    return;
  if (paused)
    event_del(io->rd);
  else
    event_add(io->rd, NULL);
}

size_t nd_fdio_pending(const struct nd_fdio *io) {
  return io->out ? evbuffer_get_length(io->out) : 0;
}

void nd_fdio_clear(struct nd_fdio *io) {
  if (io->rd)
    event_free(io->rd);
  if (io->wr)
    event_free(io->wr);
  if (io->out)
    evbuffer_free(io->out);
  io->rd = io->wr = NULL;
  io->out = NULL;
  if (io->fd >= 0)
    close(io->fd);
  io->fd = -1;
}

/* ---- reaping exec relays nobody waits for any more ---- */

struct nd_reaper {
  kube_node_stream_t *srv;
  pid_t pid;
  int pidfd;
  struct event *ev;
  struct nd_reaper *prev, *next;
};

static void reaper_free(struct nd_reaper *r) {
  kube_node_stream_t *s = r->srv;
  if (r->prev)
    r->prev->next = r->next;
  else
    s->reapers = r->next;
  if (r->next)
    r->next->prev = r->prev;
  event_free(r->ev);
  close(r->pidfd);
  free(r);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg) {
  struct nd_reaper *r = arg;
  if (waitpid(r->pid, NULL, WNOHANG) == 0)
    return; /* not yet (a spurious wake-up) */
  reaper_free(r);
}

void nd_reap_later(kube_node_stream_t *s, pid_t pid, int pidfd) {
  if (pid <= 0)
    return;
  if (waitpid(pid, NULL, WNOHANG) != 0 || pidfd < 0) {
    if (pidfd >= 0)
      close(pidfd);
    return;
  }
  struct nd_reaper *r = calloc(1, sizeof *r);
  if (r)
    r->ev = event_new(kube_loop_base(s->loop), pidfd, EV_READ | EV_PERSIST,
                      reap_cb, r);
  if (!r || !r->ev) {
    /* Out of memory: the relay stays a zombie until whoever inherits it
     * reaps it. */
    free(r);
    close(pidfd);
    return;
  }
  r->srv = s;
  r->pid = pid;
  r->pidfd = pidfd;
  r->next = s->reapers;
  if (s->reapers)
    s->reapers->prev = r;
  s->reapers = r;
  event_add(r->ev, NULL);
}

void nd_reapers_free(kube_node_stream_t *s) {
  while (s->reapers)
    reaper_free(s->reapers);
}
