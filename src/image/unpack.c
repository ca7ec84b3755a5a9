/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a layer tar to a directory with libarchive.
 *
 * Two readers are stacked: the outer one only decompresses (format "raw",
 * every filter libarchive has: gzip, zstd, xz, bzip2, none), the inner one
 * reads tar from the outer's output through a callback that also hashes
 * it, which gives the diffID of the uncompressed stream for free.
 *
 * Every path is cleaned lexically and its parent opened with openat2
 * RESOLVE_IN_ROOT, so "..", absolute names and symlinks (planted by an
 * earlier entry of the same tar) all resolve inside the target; the last
 * component is only ever created or removed with *at calls that do not
 * follow it.  Hard link targets resolve the same way.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/internal.h"

#define BLOCK (1 << 20)

struct stack {
  struct archive *outer;
  img_hash_t hash;
  char *buf;
  bool eof;
  kube_error_t *err;
  int failed;
};

static la_ssize_t inner_read(struct archive *a, void *arg, const void **buf) {
  struct stack *st = arg;
  (void)a;
  if (st->eof)
    return 0;
  la_ssize_t n = archive_read_data(st->outer, st->buf, BLOCK);
  if (n < 0) {
    kube_error_set(st->err, KUBE_REASON_BAD_REQUEST, 0, "layer: decompress: %s",
                   archive_error_string(st->outer));
    st->failed = 1;
    return -1;
  }
  if (n == 0)
    st->eof = true;
  img_hash_update(&st->hash, st->buf, (size_t)n);
  *buf = st->buf;
  return n;
}

/* Directories get their times last: creating children changes them. */
struct dir_time {
  char *path;
  struct timespec ts[2];
};

struct unpack {
  int root;
  const img_unpack_options_t *o;
  kube_error_t *err;
  struct dir_time *dirs;
  size_t n_dirs, cap_dirs;
  char *copybuf;
  const int *lower_fds; /* o->lower_fds, or get_lowers' on first use */
  size_t n_lower;
  bool have_lowers;
};

static int fail(struct unpack *u, int e, const char *path, const char *what) {
  return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, e,
                        "layer entry %s: %s: %s", path, what, strerror(e));
}

static bool xattr_allowed(const char *name) {
  /* A layer never sets overlayfs' own attributes: they would redirect or
   * hide lower layers behind the image builder's back. */
  if (str_has_prefix(name, "trusted.overlay.") ||
      str_has_prefix(name, "user.overlay."))
    return false;
  return str_has_prefix(name, "user.") || str_has_prefix(name, "security.") ||
         str_has_prefix(name, "trusted.");
}

/* Metadata of an entry created at parent/base. fd: an open fd of it
 * (regular files, dirs) or -1. */
static int apply_meta(struct unpack *u, struct archive_entry *e, int parent,
                      const char *base, int fd, const char *path) {
  mode_t type = archive_entry_filetype(e);
  bool is_link = type == AE_IFLNK;
  if (u->o->keep_owner || u->o->force_uid >= 0 || u->o->force_gid >= 0) {
    uid_t uid = u->o->keep_owner ? (uid_t)archive_entry_uid(e) : getuid();
    gid_t gid = u->o->keep_owner ? (gid_t)archive_entry_gid(e) : getgid();
    if (u->o->force_uid >= 0)
      uid = (uid_t)u->o->force_uid;
    if (u->o->force_gid >= 0)
      gid = (gid_t)u->o->force_gid;
    int r = fd >= 0 ? fchown(fd, uid, gid)
                    : fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (r < 0)
      return fail(u, errno, path, "chown");
  }
  if (!is_link) {
    mode_t mode = archive_entry_perm(e) & 07777;
    int r = fd >= 0 ? fchmod(fd, mode) : fchmodat(parent, base, mode, 0);
    if (r < 0)
      return fail(u, errno, path, "chmod");
  }
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (!xattr_allowed(name))
      continue;
    int r;
    if (fd >= 0)
      r = fsetxattr(fd, name, value, size, 0);
    else {
      char p[64 + 4096];
      snprintf(p, sizeof p, "/proc/self/fd/%d/%s", parent, base);
      r = lsetxattr(p, name, value, size, 0);
    }
    if (r < 0 && errno != ENOTSUP && errno != EPERM)
      return fail(u, errno, path, name);
  }
  struct timespec ts[2] = {
      {archive_entry_atime(e), archive_entry_atime_nsec(e)},
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (!archive_entry_atime_is_set(e))
    ts[0] = ts[1];
  if (type == AE_IFDIR) {
    if (u->n_dirs == u->cap_dirs) {
      size_t cap = u->cap_dirs ? 2 * u->cap_dirs : 64;
      struct dir_time *n = realloc(u->dirs, cap * sizeof *n);
      if (!n)
        return kube_make_oom(u->err);
      u->dirs = n;
      u->cap_dirs = cap;
    }
    u->dirs[u->n_dirs].path = strdup(path);
    memcpy(u->dirs[u->n_dirs].ts, ts, sizeof ts);
    if (!u->dirs[u->n_dirs].path)
      return kube_make_oom(u->err);
    u->n_dirs++;
    return 0;
  }
  int r = fd >= 0 ? futimens(fd, ts)
                  : utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW);
  if (r < 0)
    return fail(u, errno, path, "set times");
  return 0;
}

/* Make room for a new entry at parent/base: a directory stays when the
 * new entry is a directory too; anything else goes. */
static int clear_slot(struct unpack *u, int parent, const char *base,
                      bool new_is_dir, bool *kept_dir, const char *path) {
  struct stat st;
  *kept_dir = false;
  if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : fail(u, errno, path, "stat");
  if (new_is_dir && S_ISDIR(st.st_mode)) {
    *kept_dir = true;
    return 0;
  }
  if (img_rmtree_at(parent, base) < 0)
    return fail(u, errno, path, "replace");
  return 0;
}

static int write_data(struct unpack *u, struct archive *a, int fd,
                      const char *path, int64_t size) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    const char *p = buf;
    while (len) {
      ssize_t n = pwrite(fd, p, len, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fail(u, errno, path, "write");
      p += n;
      len -= (size_t)n;
      off += n;
    }
  }
  if (r != ARCHIVE_EOF)
    return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                          "layer entry %s: %s", path, archive_error_string(a));
  /* trailing hole of a sparse file */
  if (ftruncate(fd, size) < 0)
    return fail(u, errno, path, "truncate");
  return 0;
}

static int copy_fd(struct unpack *u, int in, int out, const char *path) {
  if (!u->copybuf && !(u->copybuf = malloc(BLOCK)))
    return kube_make_oom(u->err);
  for (;;) {
    ssize_t n = read(in, u->copybuf, BLOCK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(u, errno, path, "copy");
    if (n == 0)
      return 0;
    for (ssize_t o = 0; o < n;) {
      ssize_t w = write(out, u->copybuf + o, (size_t)(n - o));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return fail(u, errno, path, "copy");
      o += w;
    }
  }
}

/* A hard link whose target lives in a lower layer: copy it up (overlay
 * layers are separate directories, and a link cannot cross them). */
static int link_from_lower(struct unpack *u, const char *target, int parent,
                           const char *base, const char *path) {
  if (!u->have_lowers) {
    u->have_lowers = true;
    u->lower_fds = u->o->lower_fds;
    u->n_lower = u->o->n_lower;
    if (!u->lower_fds && u->o->get_lowers &&
        u->o->get_lowers(u->o->lowers_arg, &u->lower_fds, &u->n_lower, u->err) <
            0)
      return kube_error_wrap(u->err, "layer entry %s", path);
  }
  for (size_t i = 0; i < u->n_lower; i++) {
    char *tb = NULL;
    kube_error_t e2 = KUBE_ERROR_INIT;
    int tp = img_resolve_parent(u->lower_fds[i], target, false, &tb, &e2);
    kube_error_clear(&e2);
    if (tp < 0) {
      free(tb);
      continue;
    }
    int in = openat(tp, tb, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    close(tp);
    free(tb);
    if (in < 0)
      continue;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
      close(in);
      continue;
    }
    int out =
        openat(parent, base,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
      close(in);
      return fail(u, errno, path, "create");
    }
    int rc = copy_fd(u, in, out, path);
    if (rc == 0 && (fchown(out, st.st_uid, st.st_gid) < 0 ||
                    fchmod(out, st.st_mode & 07777) < 0))
      rc = fail(u, errno, path, "copy metadata");
    close(in);
    close(out);
    return rc;
  }
  return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, ENOENT,
                        "layer entry %s: hard link target %s not found", path,
                        target);
}

static int do_hardlink(struct unpack *u, struct archive_entry *e, int parent,
                       const char *base, const char *path) {
  cleanup_free char *tclean = img_clean_path(archive_entry_hardlink(e));
  if (!tclean)
    return kube_make_oom(u->err);
  if (!*tclean)
    return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                          "layer entry %s: hard link to the root", path);
  char *tb = NULL;
  kube_error_t e2 = KUBE_ERROR_INIT;
  int tp = img_resolve_parent(u->root, tclean, false, &tb, &e2);
  kube_error_clear(&e2);
  int rc = -1;
  if (tp >= 0) {
    struct stat st;
    if (fstatat(tp, tb, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode))
        rc = kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                            "layer entry %s: hard link to a directory", path);
      else if (linkat(tp, tb, parent, base, 0) < 0)
        rc = fail(u, errno, path, "link");
      else
        rc = 0;
      close(tp);
      free(tb);
      return rc;
    }
    close(tp);
  }
  free(tb);
  return link_from_lower(u, tclean, parent, base, path);
}

static int whiteout(struct unpack *u, int parent, const char *name,
                    const char *path, struct archive_entry *e) {
  if (streq(name, ".wh..opq")) {
    /* ".wh..wh..opq": the parent hides its lower contents */
    int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return fail(u, errno, path, "open");
    int r = fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0);
    int er = errno;
    close(fd);
    return r < 0 ? fail(u, er, path, "mark opaque") : 0;
  }
  if (!*name || streq(name, ".") || streq(name, "..") || strchr(name, '/'))
    return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                          "layer entry %s: bad whiteout", path);
  if (img_rmtree_at(parent, name) < 0)
    return fail(u, errno, path, "whiteout");
  if (mknodat(parent, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    return fail(u, errno, path, "whiteout");
  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  if (u->o->keep_owner &&
      fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail(u, errno, path, "chown");
  return 0;
}

static int apply_entry(struct unpack *u, struct archive *a,
                       struct archive_entry *e) {
  const char *raw = archive_entry_pathname(e);
  if (!raw)
    return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                          "layer entry without a name");
  cleanup_free char *path = img_clean_path(raw);
  if (!path)
    return kube_make_oom(u->err);
  mode_t type = archive_entry_filetype(e);
  if (!*path) {
    /* the root itself ("./"): only its metadata, and not its times */
    if (type != AE_IFDIR)
      return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                            "layer entry %s: the root must be a directory",
                            raw);
    return 0;
  }
  cleanup_free char *base = NULL;
  kube_error_t perr = KUBE_ERROR_INIT;
  cleanup_close int parent =
      img_resolve_parent(u->root, path, true, &base, &perr);
  if (parent < 0) {
    kube_error_move(u->err, &perr);
    return kube_error_wrap(u->err, "layer entry %s", raw);
  }
  if (!u->o->no_whiteouts && str_has_prefix(base, ".wh.")) {
    if (!u->o->overlay)
      return 0;
    return whiteout(u, parent, base + 4, path, e);
  }
  bool is_dir = type == AE_IFDIR;
  bool kept = false;
  if (clear_slot(u, parent, base, is_dir, &kept, path) < 0)
    return -1;
  if (archive_entry_hardlink(e))
    return do_hardlink(u, e, parent, base, path);
  switch (type) {
  case AE_IFREG: {
    cleanup_close int fd =
        openat(parent, base,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return fail(u, errno, path, "create");
    if (write_data(u, a, fd, path, archive_entry_size(e)) < 0)
      return -1;
    return apply_meta(u, e, parent, base, fd, path);
  }
  case AE_IFDIR: {
    if (!kept && mkdirat(parent, base, 0700) < 0)
      return fail(u, errno, path, "mkdir");
    cleanup_close int fd =
        openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return fail(u, errno, path, "open");
    return apply_meta(u, e, parent, base, fd, path);
  }
  case AE_IFLNK: {
    const char *target = archive_entry_symlink(e);
    if (!target)
      target = "";
    if (symlinkat(target, parent, base) < 0)
      return fail(u, errno, path, "symlink");
    return apply_meta(u, e, parent, base, -1, path);
  }
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO: {
    mode_t m = (type == AE_IFCHR   ? S_IFCHR
                : type == AE_IFBLK ? S_IFBLK
                                   : S_IFIFO) |
               0600;
    if (mknodat(parent, base, m, archive_entry_rdev(e)) < 0)
      return fail(u, errno, path, "mknod");
    return apply_meta(u, e, parent, base, -1, path);
  }
  case AE_IFSOCK:
    return 0; /* sockets are not content */
  default:
    return kube_error_set(u->err, KUBE_REASON_BAD_REQUEST, 0,
                          "layer entry %s: unsupported type 0%o", path,
                          (unsigned)type);
  }
}

static int finish_dirs(struct unpack *u) {
  for (size_t i = u->n_dirs; i-- > 0;) {
    char *base = NULL;
    kube_error_t e2 = KUBE_ERROR_INIT;
    int parent =
        img_resolve_parent(u->root, u->dirs[i].path, false, &base, &e2);
    kube_error_clear(&e2);
    if (parent >= 0) {
      utimensat(parent, base, u->dirs[i].ts, AT_SYMLINK_NOFOLLOW);
      close(parent);
    }
    free(base);
  }
  return 0;
}

int img_unpack_fd(int fd, int root_fd, const img_unpack_options_t *o,
                  char **diff_id_out, kube_error_t *err) {
  struct stack st = {.err = err};
  struct unpack u = {.root = root_fd, .o = o, .err = err};
  struct archive *in = NULL;
  int rc = -1;
  if (diff_id_out)
    *diff_id_out = NULL;
  st.buf = malloc(BLOCK);
  st.outer = archive_read_new();
  if (!st.buf || !st.outer || img_hash_init(&st.hash, err) < 0) {
    kube_make_oom(err);
    goto out;
  }
  archive_read_support_filter_all(st.outer);
  archive_read_support_format_raw(st.outer);
  struct archive_entry *e;
  if (archive_read_open_fd(st.outer, fd, BLOCK) != ARCHIVE_OK ||
      archive_read_next_header(st.outer, &e) != ARCHIVE_OK) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "layer: %s",
                   archive_error_string(st.outer)
                       ? archive_error_string(st.outer)
                       : "empty or unreadable");
    goto out;
  }
  in = archive_read_new();
  if (!in) {
    kube_make_oom(err);
    goto out;
  }
  archive_read_support_format_tar(in);
  if (archive_read_open(in, &st, NULL, inner_read, NULL) != ARCHIVE_OK) {
    if (!st.failed)
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "layer: %s",
                     archive_error_string(in));
    goto out;
  }
  int r;
  while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK ||
         r == ARCHIVE_WARN) {
    if (apply_entry(&u, in, e) < 0)
      goto out;
  }
  if (r != ARCHIVE_EOF) {
    if (!st.failed)
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "layer: %s",
                     archive_error_string(in));
    goto out;
  }
  /* Whatever follows the end-of-archive blocks is part of the diffID. */
  while (!st.eof) {
    const void *b;
    if (inner_read(NULL, &st, &b) < 0)
      goto out;
  }
  finish_dirs(&u);
  char d[72];
  img_hash_final(&st.hash, d);
  if (o->diff_id && !streq(o->diff_id, d)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "layer: uncompressed content hashes to %s, the image "
                   "config says %s",
                   d, o->diff_id);
    goto out;
  }
  if (diff_id_out && !(*diff_id_out = strdup(d))) {
    kube_make_oom(err);
    goto out;
  }
  rc = 0;
out:
  if (in)
    archive_read_free(in);
  if (st.outer)
    archive_read_free(st.outer);
  img_hash_clear(&st.hash);
  free(st.buf);
  free(u.copybuf);
  for (size_t i = 0; i < u.n_dirs; i++)
    free(u.dirs[i].path);
  free(u.dirs);
  return rc;
}
