/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The other end of a --console-socket, as runc's contrib recvtty and
 * conmon: listen, take one pty master (SCM_RIGHTS), type INPUT into it and
 * copy what the terminal prints to OUT until it hangs up.
 *   recvtty SOCKET INPUT OUT [TIMEOUT_S]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: recvtty SOCKET INPUT OUT [TIMEOUT_S]\n");
    return 2;
  }
  int timeout = argc > 4 ? atoi(argv[4]) : 10;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
  unlink(argv[1]);
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen(l, 1) < 0) {
    perror("recvtty: listen");
    return 1;
  }
  struct pollfd p = {l, POLLIN, 0};
  if (poll(&p, 1, timeout * 1000) != 1) {
    fprintf(stderr, "recvtty: nobody connected\n");
    return 1;
  }
  int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  close(l);
  unlink(argv[1]);
  char tag[64], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {tag, sizeof tag};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
  if (c < 0 || recvmsg(c, &msg, 0) <= 0) {
    perror("recvtty: recvmsg");
    return 1;
  }
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) {
    fprintf(stderr, "recvtty: no fd received\n");
    return 1;
  }
  int master;
  memcpy(&master, CMSG_DATA(cm), sizeof master);
  close(c);
  FILE *out = fopen(argv[3], "we");
  if (!out)
    return 1;
  size_t len = strlen(argv[2]);
  if (len && write(master, argv[2], len) != (ssize_t)len)
    perror("recvtty: write");
  time_t end = time(NULL) + timeout;
  char buf[4096];
  while (time(NULL) < end) {
    struct pollfd q = {master, POLLIN, 0};
    if (poll(&q, 1, 200) <= 0)
      continue;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0)
      break; /* EIO: the other side is gone */
    fwrite(buf, 1, (size_t)n, out);
    fflush(out);
  }
  fclose(out);
  return 0;
}
