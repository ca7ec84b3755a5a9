/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COPY and ADD for the builder, and .dockerignore.
 *
 * Sources are listed first (globs expanded, .dockerignore applied) with the
 * sha256 of every file, which makes the cache key; only on a cache miss
 * are they copied, into the mounted overlay of the step.  Source paths
 * resolve inside the context (or stage) root, destination paths inside the
 * image root (openat2 RESOLVE_IN_ROOT): neither side can leave its root
 * through "..", absolute names or symlinks.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/build.h"

/* ---- .dockerignore ------------------------------------------------------- */

void img_ignore_clear(img_ignore_t *ig) {
  img_strv_free(ig->patterns);
  memset(ig, 0, sizeof *ig);
}

int img_ignore_parse(const char *text, img_ignore_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  out->patterns = calloc(1, sizeof(char *));
  if (!out->patterns)
    return kube_make_oom(err);
  const char *p = text;
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    cleanup_free char *line = strndup(p, len);
    p = nl ? nl + 1 : NULL;
    if (!line)
      return kube_make_oom(err);
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
      s[--l] = '\0';
    if (!*s || *s == '#')
      continue;
    bool neg = *s == '!';
    if (neg) {
      s++;
      while (*s == ' ' || *s == '\t')
        s++;
    }
    cleanup_free char *clean = img_clean_path(s);
    if (!clean)
      return kube_make_oom(err);
    if (!*clean)
      continue;
    char *pat = NULL;
    if (asprintf(&pat, "%s%s", neg ? "!" : "", clean) < 0)
      return kube_make_oom(err);
    char **v = realloc(out->patterns, (out->n + 2) * sizeof *v);
    if (!v) {
      free(pat);
      return kube_make_oom(err);
    }
    out->patterns = v;
    v[out->n++] = pat;
    v[out->n] = NULL;
  }
  return 0;
}

/* Match component lists: "**" stands for any number of components. */
static bool match_parts(char **pat, size_t np, char **path, size_t n) {
  if (np == 0)
    return n == 0;
  if (streq(pat[0], "**")) {
    /* a trailing "**" stands for something below (docs-slash-** is not
     * "docs"), elsewhere for zero or more directories */
    for (size_t k = np == 1 ? 1 : 0; k <= n; k++)
      if (match_parts(pat + 1, np - 1, path + k, n - k))
        return true;
    return false;
  }
  if (n == 0 || fnmatch(pat[0], path[0], 0) != 0)
    return false;
  return match_parts(pat + 1, np - 1, path + 1, n - 1);
}

static size_t split(char *s, char **out, size_t max) {
  size_t n = 0;
  for (char *t = strtok(s, "/"); t && n < max; t = strtok(NULL, "/"))
    out[n++] = t;
  return n;
}

/* The pattern matches rel or one of its parent directories
 * (moby's MatchesOrParentMatches). */
static bool pattern_matches(const char *pattern, const char *rel) {
  char pbuf[4096], rbuf[4096];
  snprintf(pbuf, sizeof pbuf, "%s", pattern);
  snprintf(rbuf, sizeof rbuf, "%s", rel);
  char *pp[256], *rp[256];
  size_t np = split(pbuf, pp, 256), nr = split(rbuf, rp, 256);
  for (size_t k = nr; k > 0; k--)
    if (match_parts(pp, np, rp, k))
      return true;
  return false;
}

bool img_ignore_match(const img_ignore_t *ig, const char *rel) {
  bool excluded = false;
  for (size_t i = 0; i < ig->n; i++) {
    const char *p = ig->patterns[i];
    bool neg = p[0] == '!';
    if (pattern_matches(neg ? p + 1 : p, rel))
      excluded = !neg;
  }
  return excluded;
}

/* ---- listing sources ----------------------------------------------------- */

static int openat2_root(int root, const char *path, int flags, int resolve) {
  struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                         .resolve = (uint64_t)resolve | RESOLVE_IN_ROOT |
                                    RESOLVE_NO_MAGICLINKS};
  long fd;
  do
    fd = syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return (int)fd;
}

void img_copy_list_clear(img_copy_list_t *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].rel);
    free(l->v[i].link);
  }
  free(l->v);
  for (size_t i = 0; i < l->n_items; i++)
    free(l->items[i].path);
  free(l->items);
  memset(l, 0, sizeof *l);
}

static int add_entry(img_copy_list_t *l, size_t item, const char *rel,
                     const struct stat *st, kube_error_t *err) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    img_copy_entry_t *n = realloc(l->v, cap * sizeof *n);
    if (!n)
      return kube_make_oom(err);
    l->v = n;
    l->cap = cap;
  }
  img_copy_entry_t *e = &l->v[l->n];
  memset(e, 0, sizeof *e);
  e->item = item;
  e->rel = strdup(rel);
  e->st = *st;
  if (!e->rel)
    return kube_make_oom(err);
  l->n++;
  return 0;
}

static int hash_file(int fd, char out[72], kube_error_t *err) {
  img_hash_t h;
  if (img_hash_init(&h, err) < 0)
    return -1;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      img_hash_clear(&h);
      return kube_make_error(err, errno, "read: %s", strerror(errno));
    }
    if (n == 0)
      break;
    img_hash_update(&h, buf, (size_t)n);
  }
  img_hash_final(&h, out);
  return 0;
}

/* Recursively list dir (an open fd) under item; rel_base is its path
 * relative to the item, ctx_rel relative to the root (for .dockerignore). */
static int list_dir(img_copy_list_t *l, size_t item, int dfd,
                    const char *rel_base, const char *ctx_rel,
                    const img_ignore_t *ig, kube_error_t *err) {
  int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
  if (!d) {
    if (dup >= 0)
      close(dup);
    return kube_make_error(err, errno, "%s: %s", ctx_rel, strerror(errno));
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (streq(de->d_name, ".") || streq(de->d_name, ".."))
      continue;
    char **nv = realloc(names, (n + 1) * sizeof *nv);
    if (!nv)
      break;
    names = nv;
    names[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, img_cmp_str);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    char *rel = NULL, *cr = NULL;
    if (asprintf(&rel, "%s%s%s", rel_base, *rel_base ? "/" : "", names[i]) <
            0 ||
        asprintf(&cr, "%s%s%s", ctx_rel, *ctx_rel ? "/" : "", names[i]) < 0) {
      free(rel);
      rc = kube_make_oom(err);
      break;
    }
    struct stat st;
    if (ig && img_ignore_match(ig, cr)) {
      /* excluded, unless an exception below it re-includes something:
       * then keep walking the directory */
      bool exception = false;
      for (size_t k = 0; k < ig->n && !exception; k++)
        exception = ig->patterns[k][0] == '!' &&
                    str_has_prefix(ig->patterns[k] + 1, cr);
      if (!exception || fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
          !S_ISDIR(st.st_mode)) {
        free(rel);
        free(cr);
        continue;
      }
    }
    if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
      rc = kube_make_error(err, errno, "%s: %s", cr, strerror(errno));
    else if (!S_ISSOCK(st.st_mode))
      rc = add_entry(l, item, rel, &st, err);
    if (rc == 0 && S_ISLNK(st.st_mode)) {
      char t[4097];
      ssize_t tl = readlinkat(dfd, names[i], t, sizeof t - 1);
      if (tl >= 0) {
        t[tl] = '\0';
        l->v[l->n - 1].link = strdup(t);
      }
    } else if (rc == 0 && S_ISREG(st.st_mode) && l->hash_content) {
      int fd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        rc = kube_make_error(err, errno, "%s: %s", cr, strerror(errno));
      else {
        rc = hash_file(fd, l->v[l->n - 1].digest, err);
        close(fd);
      }
    } else if (rc == 0 && S_ISDIR(st.st_mode)) {
      int sub = openat(dfd, names[i],
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        rc = kube_make_error(err, errno, "%s: %s", cr, strerror(errno));
      else {
        rc = list_dir(l, item, sub, rel, cr, ig, err);
        close(sub);
      }
    }
    free(rel);
    free(cr);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

static bool has_glob(const char *s) {
  return strpbrk(s, "*?[") != NULL;
}

/* Expand a glob pattern (component by component) under root. */
static int glob_walk(int root, const char *dir_rel, char **parts, size_t np,
                     char ***out, size_t *n, const img_ignore_t *ig) {
  if (np == 0) {
    char **v = realloc(*out, (*n + 2) * sizeof *v);
    if (!v)
      return -1;
    *out = v;
    v[(*n)++] = strdup(dir_rel);
    v[*n] = NULL;
    return 0;
  }
  int dfd = openat2_root(root, dir_rel, O_RDONLY | O_DIRECTORY, 0);
  if (dfd < 0)
    return 0;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  char **names = NULL;
  size_t nn = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (streq(de->d_name, ".") || streq(de->d_name, ".."))
      continue;
    if (fnmatch(parts[0], de->d_name, 0) != 0)
      continue;
    char **nv = realloc(names, (nn + 1) * sizeof *nv);
    if (!nv)
      break;
    names = nv;
    names[nn++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, nn, sizeof *names, img_cmp_str);
  int rc = 0;
  for (size_t i = 0; i < nn && rc == 0; i++) {
    char *rel = NULL;
    if (asprintf(&rel, "%s%s%s", dir_rel, *dir_rel ? "/" : "", names[i]) < 0)
      rc = -1;
    else if (!(ig && img_ignore_match(ig, rel)))
      rc = glob_walk(root, rel, parts + 1, np - 1, out, n, ig);
    free(rel);
  }
  for (size_t i = 0; i < nn; i++)
    free(names[i]);
  free(names);
  return rc;
}

int img_copy_list_add(img_copy_list_t *l, int root, const char *src,
                      const img_ignore_t *ig, kube_error_t *err) {
  cleanup_free char *clean = img_clean_path(src);
  if (!clean)
    return kube_make_oom(err);
  char **matches = NULL;
  size_t nm = 0;
  if (has_glob(clean)) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", clean);
    char *parts[256];
    size_t np = split(buf, parts, 256);
    if (glob_walk(root, "", parts, np, &matches, &nm, ig) < 0) {
      img_strv_free(matches);
      return kube_make_oom(err);
    }
    if (nm == 0) {
      img_strv_free(matches);
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "no source files were specified for \"%s\"", src);
    }
  } else {
    matches = calloc(2, sizeof *matches);
    if (!matches || !(matches[0] = strdup(clean))) {
      free(matches);
      return kube_make_oom(err);
    }
    nm = 1;
  }
  int rc = 0;
  for (size_t i = 0; i < nm && rc == 0; i++) {
    const char *rel = matches[i];
    if (ig && *rel && img_ignore_match(ig, rel)) {
      rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "\"%s\": excluded by .dockerignore", rel);
      break;
    }
    /* the source itself may be a symlink: follow it, inside the root */
    int fd = openat2_root(root, rel, O_PATH, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
      rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, errno,
                          "\"%s\": not found in the build context", src);
      if (fd >= 0)
        close(fd);
      break;
    }
    img_copy_item_t *it =
        realloc(l->items, (l->n_items + 1) * sizeof *l->items);
    if (!it) {
      close(fd);
      rc = kube_make_oom(err);
      break;
    }
    l->items = it;
    size_t idx = l->n_items++;
    memset(&l->items[idx], 0, sizeof l->items[idx]);
    l->items[idx].path = strdup(rel);
    l->items[idx].is_dir = S_ISDIR(st.st_mode);
    rc = add_entry(l, idx, "", &st, err);
    if (rc == 0 && S_ISREG(st.st_mode) && l->hash_content) {
      int rfd = openat2_root(root, rel, O_RDONLY, 0);
      rc = rfd < 0 ? kube_make_error(err, errno, "%s", rel)
                   : hash_file(rfd, l->v[l->n - 1].digest, err);
      if (rfd >= 0)
        close(rfd);
    } else if (rc == 0 && S_ISDIR(st.st_mode)) {
      int dfd = openat2_root(root, rel, O_RDONLY | O_DIRECTORY, 0);
      rc = dfd < 0 ? kube_make_error(err, errno, "%s", rel)
                   : list_dir(l, idx, dfd, "", rel, ig, err);
      if (dfd >= 0)
        close(dfd);
    }
    close(fd);
  }
  img_strv_free(matches);
  return rc;
}

void img_copy_list_hash(const img_copy_list_t *l, img_hash_t *h) {
  char buf[256];
  for (size_t i = 0; i < l->n; i++) {
    const img_copy_entry_t *e = &l->v[i];
    snprintf(buf, sizeof buf, "%zu %o %lld ", e->item, (unsigned)e->st.st_mode,
             (long long)e->st.st_size);
    img_hash_update(h, buf, strlen(buf));
    img_hash_update(h, l->items[e->item].path,
                    strlen(l->items[e->item].path) + 1);
    img_hash_update(h, e->rel, strlen(e->rel) + 1);
    if (e->link)
      img_hash_update(h, e->link, strlen(e->link) + 1);
    img_hash_update(h, e->digest, strlen(e->digest) + 1);
  }
}

/* ---- copying ------------------------------------------------------------- */

static int copy_data(int in, int out, const char *what, kube_error_t *err) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return kube_make_error(err, errno, "read %s: %s", what, strerror(errno));
    if (n == 0)
      return 0;
    for (ssize_t o = 0; o < n;) {
      ssize_t w = write(out, buf + o, (size_t)(n - o));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return kube_make_error(err, errno, "write %s: %s", what,
                               strerror(errno));
      o += w;
    }
  }
}

static int set_meta(int parent, const char *base, int fd, const struct stat *st,
                    const img_copy_opts_t *o, kube_error_t *err,
                    const char *what) {
  uid_t uid = o->uid >= 0 ? (uid_t)o->uid : 0;
  gid_t gid = o->gid >= 0 ? (gid_t)o->gid : 0;
  int r = fd >= 0 ? fchown(fd, uid, gid)
                  : fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW);
  if (r < 0)
    return kube_make_error(err, errno, "chown %s: %s", what, strerror(errno));
  if (!S_ISLNK(st->st_mode)) {
    mode_t m = o->chmod >= 0 ? (mode_t)o->chmod : st->st_mode & 07777;
    r = fd >= 0 ? fchmod(fd, m) : fchmodat(parent, base, m, 0);
    if (r < 0)
      return kube_make_error(err, errno, "chmod %s: %s", what, strerror(errno));
  }
  struct timespec ts[2] = {st->st_mtim, st->st_mtim};
  r = fd >= 0 ? futimens(fd, ts)
              : utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? kube_make_error(err, errno, "times %s: %s", what,
                                 strerror(errno))
               : 0;
}

/* Create dst (relative to dst_root) from the source entry. */
static int copy_one(int src_root, const char *src_path, int dst_root,
                    const char *dst, const img_copy_entry_t *e,
                    const img_copy_opts_t *o, kube_error_t *err) {
  cleanup_free char *base = NULL;
  cleanup_close int parent =
      img_resolve_parent(dst_root, dst, true, &base, err);
  if (parent < 0)
    return -1;
  if (!*base)
    return 0; /* the root itself */
  struct stat cur;
  bool exists = fstatat(parent, base, &cur, AT_SYMLINK_NOFOLLOW) == 0;
  if (S_ISDIR(e->st.st_mode)) {
    if (exists && !S_ISDIR(cur.st_mode) && img_rmtree_at(parent, base) < 0)
      return kube_make_error(err, errno, "replace %s", dst);
    if ((!exists || !S_ISDIR(cur.st_mode)) && mkdirat(parent, base, 0755) < 0)
      return kube_make_error(err, errno, "mkdir %s: %s", dst, strerror(errno));
    cleanup_close int fd =
        openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return kube_make_error(err, errno, "open %s: %s", dst, strerror(errno));
    return set_meta(parent, base, fd, &e->st, o, err, dst);
  }
  if (exists && img_rmtree_at(parent, base) < 0)
    return kube_make_error(err, errno, "replace %s: %s", dst, strerror(errno));
  if (S_ISLNK(e->st.st_mode)) {
    if (symlinkat(e->link ? e->link : "", parent, base) < 0)
      return kube_make_error(err, errno, "symlink %s: %s", dst,
                             strerror(errno));
    return set_meta(parent, base, -1, &e->st, o, err, dst);
  }
  if (!S_ISREG(e->st.st_mode)) {
    if (mknodat(parent, base, e->st.st_mode, e->st.st_rdev) < 0)
      return kube_make_error(err, errno, "mknod %s: %s", dst, strerror(errno));
    return set_meta(parent, base, -1, &e->st, o, err, dst);
  }
  cleanup_close int in = openat2_root(src_root, src_path, O_RDONLY, 0);
  if (in < 0)
    return kube_make_error(err, errno, "open %s: %s", src_path,
                           strerror(errno));
  cleanup_close int out = openat(
      parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return kube_make_error(err, errno, "create %s: %s", dst, strerror(errno));
  if (copy_data(in, out, dst, err) < 0)
    return -1;
  return set_meta(parent, base, out, &e->st, o, err, dst);
}

/* ADD of a local tar: true when libarchive reads it as one. */
static bool is_tar(int root, const char *path) {
  int fd = openat2_root(root, path, O_RDONLY, 0);
  if (fd < 0)
    return false;
  struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  struct archive_entry *e;
  bool ok = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK &&
            archive_read_next_header(a, &e) == ARCHIVE_OK;
  archive_read_free(a);
  close(fd);
  return ok;
}

static bool dst_is_dir(int dst_root, const char *dst) {
  int fd = openat2_root(dst_root, dst, O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

int img_copy_apply(const img_copy_list_t *l, int src_root, int dst_root,
                   const char *dest, bool dest_dir, const img_copy_opts_t *o,
                   kube_error_t *err) {
  for (size_t i = 0; i < l->n_items; i++) {
    const img_copy_item_t *it = &l->items[i];
    if (o->add && !it->is_dir && is_tar(src_root, it->path)) {
      cleanup_free char *base = NULL;
      cleanup_close int parent =
          img_resolve_parent(dst_root, dest, true, &base, err);
      if (parent < 0)
        return -1;
      int dfd = -1;
      if (*base) {
        if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST)
          return kube_make_error(err, errno, "mkdir %s", dest);
        dfd =
            openat(parent, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      } else
        dfd = fcntl(parent, F_DUPFD_CLOEXEC, 0);
      cleanup_close int in = openat2_root(src_root, it->path, O_RDONLY, 0);
      if (dfd < 0 || in < 0) {
        if (dfd >= 0)
          close(dfd);
        return kube_make_error(err, errno, "ADD %s: %s", it->path,
                               strerror(errno));
      }
      img_unpack_options_t uo = {.no_whiteouts = true,
                                 .keep_owner = true,
                                 .force_uid = o->uid,
                                 .force_gid = o->gid};
      int r = img_unpack_fd(in, dfd, &uo, NULL, err);
      close(dfd);
      if (r < 0)
        return kube_error_wrap(err, "ADD %s", it->path);
      continue;
    }
    /* where this item goes */
    char *target = NULL;
    const char *slash = strrchr(it->path, '/');
    const char *bn = slash ? slash + 1 : it->path;
    if (it->is_dir)
      target = strdup(dest);
    else if (dest_dir || dst_is_dir(dst_root, dest))
      target = asprintf(&target, "%s/%s", dest, bn) < 0 ? NULL : target;
    else
      target = strdup(dest);
    if (!target)
      return kube_make_oom(err);
    for (size_t k = 0; k < l->n; k++) {
      const img_copy_entry_t *e = &l->v[k];
      if (e->item != i)
        continue;
      char *dst = NULL, *src = NULL;
      if (asprintf(&dst, "%s%s%s", target, *e->rel ? "/" : "", e->rel) < 0 ||
          asprintf(&src, "%s%s%s", it->path, *e->rel ? "/" : "", e->rel) < 0) {
        free(dst);
        free(target);
        return kube_make_oom(err);
      }
      /* the item directory itself: create dest, keep its metadata only
       * when we made it */
      int r = 0;
      if (!*e->rel && it->is_dir) {
        if (!dst_is_dir(dst_root, dst)) {
          img_copy_entry_t d = *e;
          r = copy_one(src_root, src, dst_root, dst, &d, o, err);
        }
      } else
        r = copy_one(src_root, src, dst_root, dst, e, o, err);
      free(dst);
      free(src);
      if (r < 0) {
        free(target);
        return -1;
      }
    }
    free(target);
  }
  return 0;
}
