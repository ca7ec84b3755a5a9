/* SPDX-License-Identifier: Apache-2.0 */
/* File helpers of the node agent: removing a pod's tree with whatever is
 * still mounted in it. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "node/agent.h"

/* Mount points at or below path, deepest first (from /proc/self/mountinfo,
 * whose mount point field escapes spaces as \040). */
static char **mounts_below(const char *path, size_t *n_out) {
  *n_out = 0;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return NULL;
  size_t plen = strlen(path), n = 0, cap = 0;
  char **v = NULL;
  char *line = NULL;
  size_t llen = 0;
  while (getline(&line, &llen, f) > 0) {
    char *s = line;
    for (int field = 0; field < 4 && s; field++) {
      s = strchr(s, ' ');
      if (s)
        s++;
    }
    if (!s)
      continue;
    char *end = strchr(s, ' ');
    if (end)
      *end = '\0';
    /* unescape \ooo */
    char mp[4096];
    size_t k = 0;
    for (char *c = s; *c && k + 1 < sizeof mp; c++) {
      if (c[0] == '\\' && c[1] >= '0' && c[1] <= '7' && c[2] && c[3]) {
        mp[k++] = (char)((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0'));
        c += 3;
      } else {
        mp[k++] = *c;
      }
    }
    mp[k] = '\0';
    if (strncmp(mp, path, plen) != 0 || (mp[plen] != '\0' && mp[plen] != '/'))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(v, cap * sizeof *nv);
      if (!nv)
        break;
      v = nv;
    }
    v[n] = strdup(mp);
    if (v[n])
      n++;
  }
  free(line);
  fclose(f);
  /* mountinfo lists parents before children: unmount in reverse */
  for (size_t i = 0; i < n / 2; i++) {
    char *t = v[i];
    v[i] = v[n - 1 - i];
    v[n - 1 - i] = t;
  }
  *n_out = n;
  return v;
}

int nd_unmount_below(const char *path, kube_error_t *err) {
  size_t n = 0;
  char **v = mounts_below(path, &n);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (umount2(v[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT &&
        rc == 0)
      rc = kube_make_error(err, errno, "unmount %s: %s", v[i], strerror(errno));
    free(v[i]);
  }
  free(v);
  return rc;
}

/* Never crosses into another file system: whatever is still mounted
 * below (a mount that would not go) is left alone rather than emptied. */
static int remove_at(int dfd, const char *name, dev_t dev) {
  if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -1;
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || (dev && st.st_dev != dev)) {
    close(fd);
    errno = EBUSY;
    return -1;
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d)))
    if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
        remove_at(dirfd(d), de->d_name, st.st_dev) < 0)
      rc = -1;
  closedir(d);
  if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    rc = -1;
  return rc;
}

int nd_remove_tree(const char *path, kube_error_t *err) {
  if (nd_unmount_below(path, err) < 0)
    return -1;
  if (remove_at(AT_FDCWD, path, 0) < 0)
    return kube_make_error(err, errno, "cannot remove %s: %s", path,
                           strerror(errno));
  return 0;
}

void nd_random_hex(char *buf, size_t len) {
  unsigned char r[32];
  size_t n = (len - 1) / 2;
  if (n > sizeof r)
    n = sizeof r;
  if (getrandom(r, n, 0) != (ssize_t)n)
    for (size_t i = 0; i < n; i++)
      r[i] = (unsigned char)(rand() & 0xff);
  for (size_t i = 0; i < n; i++)
    snprintf(buf + 2 * i, 3, "%02x", r[i]);
  buf[2 * n] = '\0';
}

void nd_hash_hex(char out[9], const char *a, const char *b) {
  uint32_t h = 2166136261u;
  for (const char *s = a; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  h = (h ^ 0) * 16777619u;
  for (const char *s = b; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  snprintf(out, 9, "%08x", h);
}
