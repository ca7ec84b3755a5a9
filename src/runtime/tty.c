/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminals and fd passing.  The pty is made inside the container (its own
 * devpts instance, reached through /dev/ptmx after pivot_root), and its
 * master travels over unix sockets with SCM_RIGHTS: to the console socket
 * of runc's protocol (a "/dev/ptmx" tag plus the fd, what conmon and
 * podman expect), to the monitor, or to the caller on the sync socket.
 * Everything but rt_unix_connect() is plain system calls on the stack, so
 * it runs in the container's init and in the monitor.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "runtime/internal.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int rt_send_fd(int sock, int fd, const void *data, size_t len) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)data, len};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

int rt_pty_open(unsigned rows, unsigned cols, int *master_out, int *slave_out) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return -1;
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    goto fail;
  /* TIOCGPTPEER opens the slave through the master, with no path lookup
   * an image could redirect. */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    goto fail;
  if (rows && cols) {
    struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  *master_out = master;
  *slave_out = slave;
  return 0;
fail:;
  int e = errno;
  close(master);
  errno = e;
  return -1;
}

int rt_pty_become_tty(int slave) {
  if (setsid() < 0 && errno != EPERM)
    return -1;
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return -1;
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return -1;
  if (slave > 2)
    close(slave);
  return 0;
}

KUBE_EXPORT int kube_rt_terminal_resize(int pty_master, unsigned short rows,
                                        unsigned short cols,
                                        kube_error_t *err) {
  if (rt_tty_resize(pty_master, rows, cols) < 0)
    return kube_error_set(err,
                          errno == ENOTTY || errno == EBADF
                              ? KUBE_REASON_INVALID
                              : KUBE_REASON_INTERNAL,
                          errno, "resize terminal: %s", strerror(errno));
  return 0;
}

/* Connect to a unix socket by path; paths longer than sun_path go through
 * /proc/self/fd/<dir>/<name>. */
int rt_unix_connect(const char *path, int type, kube_error_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int dirfd = -1;
  if (strlen(path) < sizeof sa.sun_path) {
    memcpy(sa.sun_path, path, strlen(path) + 1);
  } else {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash || (size_t)(slash - path) >= sizeof dir)
      return kube_error_set(err, KUBE_REASON_INVALID, ENAMETOOLONG,
                            "socket path %s too long", path);
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = 0;
    dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
      return kube_error_set(err, KUBE_REASON_INVALID, errno, "%s: %s", dir,
                            strerror(errno));
    snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd,
             slash + 1);
  }
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    if (dirfd >= 0)
      close(dirfd);
    return kube_make_error(err, e, "socket: %s", strerror(e));
  }
  int r;
  do
    r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  while (r < 0 && errno == EINTR);
  int e = errno;
  if (dirfd >= 0)
    close(dirfd);
  if (r < 0) {
    close(fd);
    return kube_error_set(err,
                          e == ENOENT || e == ECONNREFUSED
                              ? KUBE_REASON_NOT_FOUND
                              : KUBE_REASON_INTERNAL,
                          e, "connect %s: %s", path, strerror(e));
  }
  return fd;
}

/* A listening socket at <dirfd>/<name> (unlinked first). */
int rt_unix_listen_at(int dirfd, const char *name, kube_error_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  unlinkat(dirfd, name, 0);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "socket: %s", strerror(errno));
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    return kube_make_error(err, e, "attach socket: %s", strerror(e));
  }
  return fd;
}
