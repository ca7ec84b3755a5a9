/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File system helpers: lexical path cleaning, resolution that never leaves
 * a root (openat2 RESOLVE_IN_ROOT), rm -rf that stays on one file system.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/internal.h"

char *img_clean_path(const char *path) {
  /* Go's filepath.Clean("/" + path), without the leading slash: "..",
   * "." and empty components vanish and ".." never climbs above the
   * root. */
  size_t len = strlen(path);
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 1 && p[0] == '.') {
      /* skip */
    } else if (n == 2 && p[0] == '.' && p[1] == '.') {
      while (o > 0 && out[o - 1] != '/')
        o--;
      if (o > 0)
        o--; /* the slash before the dropped component */
    } else {
      if (o > 0)
        out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p += n;
  }
  out[o] = '\0';
  return out;
}

static int openat2_in_root(int root_fd, const char *path, int flags) {
  struct open_how how = {
      .flags = (uint64_t)flags | O_CLOEXEC,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd;
  do
    fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return (int)fd;
}

int img_resolve_parent(int root_fd, const char *path, bool mkdirs, char **base,
                       kube_error_t *err) {
  *base = NULL;
  cleanup_free char *clean = img_clean_path(path);
  if (!clean)
    return kube_make_oom(err);
  char *slash = strrchr(clean, '/');
  const char *parent = "";
  if (slash) {
    *slash = '\0';
    parent = clean;
    *base = strdup(slash + 1);
  } else
    *base = strdup(clean);
  if (!*base)
    return kube_make_oom(err);
  int fd = openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT || !mkdirs) {
    if (fd < 0) {
      int e = errno;
      free(*base);
      *base = NULL;
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, e, "%s: %s",
                            *parent ? parent : "/", strerror(e));
    }
    return fd;
  }
  /* Create the missing directories one at a time, each resolved again
   * from the root so a symlink planted on the way stays inside. */
  int cur = openat2_in_root(root_fd, "", O_PATH | O_DIRECTORY);
  char *p = (char *)parent;
  for (;;) {
    char *e = strchr(p, '/');
    if (e)
      *e = '\0';
    int next = openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST)
        next = -1;
      else
        next = openat2_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
    }
    if (next < 0) {
      int en = errno;
      close(cur);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, en,
                     "cannot create directory %s: %s", parent, strerror(en));
      free(*base);
      *base = NULL;
      return -1;
    }
    close(cur);
    cur = next;
    if (!e)
      break;
    *e = '/';
    p = e + 1;
  }
  return cur;
}

int img_rmtree_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode))
    return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  int rc = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (streq(de->d_name, ".") || streq(de->d_name, ".."))
      continue;
    struct stat cst;
    if (fstatat(fd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(cst.st_mode) && cst.st_dev != st.st_dev) {
      /* a mount point: never remove what lies under it */
      errno = EBUSY;
      rc = -1;
      continue;
    }
    if (img_rmtree_at(fd, de->d_name) < 0)
      rc = -1;
  }
  closedir(d);
  if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    rc = -1;
  return rc;
}

int img_rmtree(const char *path) {
  return img_rmtree_at(AT_FDCWD, path);
}

char *img_read_fd(int fd, size_t max, size_t *len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || sb.len + (size_t)n > max) {
      int e = n < 0 ? errno : EFBIG;
      kube_strbuf_clear(&sb);
      errno = e;
      return NULL;
    }
    if (n == 0)
      break;
    kube_strbuf_append_len(&sb, buf, (size_t)n);
  }
  if (!sb.data)
    kube_strbuf_append(&sb, "");
  if (len)
    *len = sb.len;
  char *r = kube_strbuf_steal(&sb);
  if (!r)
    errno = ENOMEM;
  return r;
}

int img_mkdir_p(const char *path, mode_t mode) {
  cleanup_free char *p = strdup(path);
  if (!p)
    return -1;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return -1;
    *s = '/';
  }
  if (mkdir(p, mode) < 0 && errno != EEXIST)
    return -1;
  return 0;
}
