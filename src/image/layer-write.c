/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing layers into the blob store: a directory in overlayfs form (the
 * upper directory of a build step) becomes an OCI layer tar, and foreign
 * tarballs become uncompressed layer blobs.  Both hash the uncompressed
 * stream (diffID) and the stored bytes (digest) in one pass.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include "image/internal.h"

#define BLOCK (1 << 20)

struct lw {
  img_blob_writer_t w;
  img_hash_t diff;
  bool compress;
  z_stream z;
  unsigned char *zout;
  kube_error_t *err;
  int failed;
};

static int lw_emit(struct lw *l, const void *buf, size_t len, int flush) {
  if (!l->compress)
    return img_blob_writer_write(&l->w, buf, len, l->err);
  l->z.next_in = (unsigned char *)buf;
  l->z.avail_in = (uInt)len;
  do {
    l->z.next_out = l->zout;
    l->z.avail_out = BLOCK;
    int r = deflate(&l->z, flush);
    if (r == Z_STREAM_ERROR)
      return kube_make_error(l->err, 0, "gzip: stream error");
    size_t have = BLOCK - l->z.avail_out;
    if (have && img_blob_writer_write(&l->w, l->zout, have, l->err) < 0)
      return -1;
  } while (l->z.avail_out == 0 || (flush == Z_FINISH && l->z.avail_in));
  return 0;
}

static la_ssize_t lw_write(struct archive *a, void *arg, const void *buf,
                           size_t len) {
  struct lw *l = arg;
  (void)a;
  img_hash_update(&l->diff, buf, len);
  if (lw_emit(l, buf, len, Z_NO_FLUSH) < 0) {
    l->failed = 1;
    return -1;
  }
  return (la_ssize_t)len;
}

static int lw_open(const kube_image_store_t *s, struct lw *l, bool compress,
                   kube_error_t *err) {
  memset(l, 0, sizeof *l);
  l->err = err;
  l->compress = compress;
  if (img_blob_writer_open(s, &l->w, err) < 0)
    return -1;
  if (img_hash_init(&l->diff, err) < 0) {
    img_blob_writer_abort(&l->w);
    return -1;
  }
  if (compress) {
    l->zout = malloc(BLOCK);
    /* level 1: layers are written on every build step, and the ratio of
     * level 6 buys little on binaries. */
    if (!l->zout || deflateInit2(&l->z, 1, Z_DEFLATED, 15 + 16, 8,
                                 Z_DEFAULT_STRATEGY) != Z_OK) {
      free(l->zout);
      img_hash_clear(&l->diff);
      img_blob_writer_abort(&l->w);
      return kube_make_oom(err);
    }
  }
  return 0;
}

static void lw_abort(struct lw *l) {
  if (l->compress) {
    deflateEnd(&l->z);
    free(l->zout);
  }
  img_hash_clear(&l->diff);
  img_blob_writer_abort(&l->w);
}

static int lw_commit(struct lw *l, img_desc_t *desc, char **diff_id) {
  bool gz = l->compress;
  if (l->compress && lw_emit(l, "", 0, Z_FINISH) < 0) {
    lw_abort(l);
    return -1;
  }
  if (l->compress) {
    deflateEnd(&l->z);
    free(l->zout);
    l->zout = NULL;
    l->compress = false;
  }
  char d[72];
  img_hash_final(&l->diff, d);
  int64_t size = l->w.size;
  char *digest = NULL;
  if (img_blob_writer_commit(&l->w, NULL, &digest, l->err) < 0)
    return -1;
  memset(desc, 0, sizeof *desc);
  desc->digest = digest;
  desc->size = size;
  desc->media_type = strdup(gz ? IMG_MT_OCI_LAYER_GZ : IMG_MT_OCI_LAYER);
  *diff_id = strdup(d);
  if (!desc->media_type || !*diff_id) {
    img_desc_clear(desc);
    free(*diff_id);
    *diff_id = NULL;
    return kube_make_oom(l->err);
  }
  return 0;
}

/* ---- directory -> tar ---------------------------------------------------- */

struct hl {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct walk {
  struct archive *a;
  struct archive_entry *e;
  kube_error_t *err;
  struct hl *links;
  size_t n_links, cap_links;
  char *buf;
};

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_fail(struct walk *w, const char *path, const char *what) {
  if (!kube_error_is_set(w->err))
    kube_error_set(w->err, KUBE_REASON_INTERNAL, errno, "layer %s: %s: %s",
                   path, what,
                   w->a && archive_errno(w->a) ? archive_error_string(w->a)
                                               : strerror(errno));
  return -1;
}

static void add_xattrs(struct archive_entry *e, const char *full) {
  char names[8192];
  ssize_t n = llistxattr(full, names, sizeof names);
  for (ssize_t off = 0; n > 0 && off < n;
       off += (ssize_t)strlen(names + off) + 1) {
    const char *name = names + off;
    if (str_has_prefix(name, "trusted.overlay.") ||
        str_has_prefix(name, "user.overlay."))
      continue;
    char val[8192];
    ssize_t vl = lgetxattr(full, name, val, sizeof val);
    if (vl >= 0)
      archive_entry_xattr_add_entry(e, name, val, (size_t)vl);
  }
}

static bool is_opaque(const char *full) {
  char v[4];
  ssize_t n = lgetxattr(full, "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

static int write_empty(struct walk *w, const char *rel, const struct stat *st) {
  archive_entry_clear(w->e);
  archive_entry_set_pathname(w->e, rel);
  archive_entry_set_filetype(w->e, AE_IFREG);
  archive_entry_set_perm(w->e, 0);
  archive_entry_set_size(w->e, 0);
  archive_entry_set_mtime(w->e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
    return walk_fail(w, rel, "write");
  return 0;
}

static int walk_dir(struct walk *w, const char *root, const char *rel);

static int walk_one(struct walk *w, const char *root, const char *rel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/%s", root, rel);
  cleanup_free char *full = kube_strbuf_steal(&sb);
  if (!full)
    return kube_make_oom(w->err);
  struct stat st;
  if (lstat(full, &st) < 0)
    return walk_fail(w, rel, "stat");
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
    /* overlay whiteout -> ".wh.<name>" */
    const char *slash = strrchr(rel, '/');
    kube_strbuf_t wb = KUBE_STRBUF_INIT;
    if (slash)
      kube_strbuf_printf(&wb, "%.*s/.wh.%s", (int)(slash - rel), rel,
                         slash + 1);
    else
      kube_strbuf_printf(&wb, ".wh.%s", rel);
    cleanup_free char *wh = kube_strbuf_steal(&wb);
    return wh ? write_empty(w, wh, &st) : kube_make_oom(w->err);
  }
  if (S_ISSOCK(st.st_mode))
    return 0;
  archive_entry_clear(w->e);
  archive_entry_set_pathname(w->e, rel);
  archive_entry_copy_stat(w->e, &st);
  archive_entry_set_uname(w->e, NULL);
  archive_entry_set_gname(w->e, NULL);
  /* atime/ctime would make every rebuild's layer differ */
  archive_entry_unset_atime(w->e);
  archive_entry_unset_ctime(w->e);
  archive_entry_unset_birthtime(w->e);
  archive_entry_set_ino64(w->e, 0);
  archive_entry_set_dev(w->e, 0);
  archive_entry_set_nlink(w->e, 1);
  if (S_ISLNK(st.st_mode)) {
    char target[4097];
    ssize_t n = readlink(full, target, sizeof target - 1);
    if (n < 0)
      return walk_fail(w, rel, "readlink");
    target[n] = '\0';
    archive_entry_set_symlink(w->e, target);
  }
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    for (size_t i = 0; i < w->n_links; i++)
      if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino) {
        archive_entry_set_hardlink(w->e, w->links[i].path);
        archive_entry_set_size(w->e, 0);
        if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
          return walk_fail(w, rel, "write");
        return 0;
      }
    if (w->n_links == w->cap_links) {
      size_t cap = w->cap_links ? 2 * w->cap_links : 32;
      struct hl *n = realloc(w->links, cap * sizeof *n);
      if (!n)
        return kube_make_oom(w->err);
      w->links = n;
      w->cap_links = cap;
    }
    w->links[w->n_links++] = (struct hl){st.st_dev, st.st_ino, strdup(rel)};
  }
  add_xattrs(w->e, full);
  if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
    return walk_fail(w, rel, "write");
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    cleanup_close int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return walk_fail(w, rel, "open");
    for (;;) {
      ssize_t n = read(fd, w->buf, BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return walk_fail(w, rel, "read");
      if (n == 0)
        break;
      if (archive_write_data(w->a, w->buf, (size_t)n) != n)
        return walk_fail(w, rel, "write");
    }
  }
  if (S_ISDIR(st.st_mode)) {
    if (is_opaque(full)) {
      kube_strbuf_t ob = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&ob, "%s/.wh..wh..opq", rel);
      cleanup_free char *op = kube_strbuf_steal(&ob);
      if (!op || write_empty(w, op, &st) < 0)
        return op ? -1 : kube_make_oom(w->err);
    }
    return walk_dir(w, root, rel);
  }
  return 0;
}

static int walk_dir(struct walk *w, const char *root, const char *rel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (*rel)
    kube_strbuf_printf(&sb, "%s/%s", root, rel);
  else
    kube_strbuf_append(&sb, root);
  cleanup_free char *full = kube_strbuf_steal(&sb);
  DIR *d = full ? opendir(full) : NULL;
  if (!d)
    return walk_fail(w, *rel ? rel : "/", "opendir");
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    if (streq(de->d_name, ".") || streq(de->d_name, ".."))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 32;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) {
        rc = kube_make_oom(w->err);
        break;
      }
      names = nn;
    }
    names[n++] = strdup(de->d_name);
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_name);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    kube_strbuf_t cb = KUBE_STRBUF_INIT;
    if (*rel)
      kube_strbuf_printf(&cb, "%s/%s", rel, names[i]);
    else
      kube_strbuf_append(&cb, names[i]);
    cleanup_free char *child = kube_strbuf_steal(&cb);
    rc = child ? walk_one(w, root, child) : kube_make_oom(w->err);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

int img_layer_from_dir(const kube_image_store_t *s, const char *dir,
                       bool compress, img_desc_t *desc_out, char **diff_id_out,
                       kube_error_t *err) {
  struct lw l;
  if (lw_open(s, &l, compress, err) < 0)
    return -1;
  struct walk w = {.err = err};
  w.a = archive_write_new();
  w.e = archive_entry_new();
  w.buf = malloc(BLOCK);
  int rc = -1;
  if (!w.a || !w.e || !w.buf) {
    kube_make_oom(err);
    goto out;
  }
  archive_write_set_format_pax_restricted(w.a);
  archive_write_set_bytes_in_last_block(w.a, 1);
  if (archive_write_open(w.a, &l, NULL, lw_write, NULL) != ARCHIVE_OK) {
    kube_make_error(err, 0, "layer: %s", archive_error_string(w.a));
    goto out;
  }
  if (walk_dir(&w, dir, "") < 0)
    goto out;
  if (archive_write_close(w.a) != ARCHIVE_OK || l.failed) {
    walk_fail(&w, "/", "close");
    goto out;
  }
  rc = 0;
out:
  if (w.a)
    archive_write_free(w.a);
  if (w.e)
    archive_entry_free(w.e);
  free(w.buf);
  for (size_t i = 0; i < w.n_links; i++)
    free(w.links[i].path);
  free(w.links);
  if (rc < 0) {
    lw_abort(&l);
    return -1;
  }
  return lw_commit(&l, desc_out, diff_id_out);
}

/* ---- foreign tar -> uncompressed layer ----------------------------------- */

int img_layer_store_tar(const kube_image_store_t *s, int fd,
                        img_desc_t *desc_out, char **diff_id_out,
                        kube_error_t *err) {
  struct lw l;
  if (lw_open(s, &l, false, err) < 0)
    return -1;
  struct archive *a = archive_read_new();
  char *buf = malloc(BLOCK);
  int rc = -1;
  struct archive_entry *e;
  if (!a || !buf) {
    kube_make_oom(err);
    goto out;
  }
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK ||
      archive_read_next_header(a, &e) != ARCHIVE_OK) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "layer: %s",
                   archive_error_string(a) ? archive_error_string(a)
                                           : "unreadable");
    goto out;
  }
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, BLOCK);
    if (n < 0) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "layer: %s",
                     archive_error_string(a));
      goto out;
    }
    if (n == 0)
      break;
    if (lw_write(NULL, &l, buf, (size_t)n) < 0)
      goto out;
  }
  rc = 0;
out:
  if (a)
    archive_read_free(a);
  free(buf);
  if (rc < 0) {
    lw_abort(&l);
    return -1;
  }
  return lw_commit(&l, desc_out, diff_id_out);
}
