/* SPDX-License-Identifier: Apache-2.0 */
/* Small file helpers every module on a data directory needs: a directory
 * with its parents, an atomic whole-file write, a whole-file read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

int core_mkdir_p(const char *path, mode_t mode, kube_error_t *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENAMETOOLONG,
                          "path too long: %s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
      return kube_make_error(err, errno, "cannot create %s: %s", buf,
                             strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return kube_make_error(err, errno, "cannot create %s: %s", buf,
                           strerror(errno));
  return 0;
}

int core_write_file(const char *path, const char *data, size_t len, mode_t mode,
                    kube_error_t *err) {
  /* the thread id keeps writers on several threads off each other's
   * temporary file */
  cleanup_free char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp%d", path, (int)gettid()) < 0)
    return kube_make_oom(err);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return kube_make_error(err, errno, "cannot write %s: %s", path,
                           strerror(errno));
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return kube_make_error(err, e, "cannot write %s: %s", path, strerror(e));
    }
    off += (size_t)n;
  }
  /* mode exactly as asked, whatever the umask */
  if (fchmod(fd, mode) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return kube_make_error(err, e, "cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

char *core_read_file(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (cap - len < 2) {
      char *b = realloc(buf, cap * 2);
      if (!b) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      free(buf);
      close(fd);
      errno = e;
      return NULL;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  if (!buf) {
    errno = ENOMEM;
    return NULL;
  }
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return buf;
}
