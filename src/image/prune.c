/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garbage collection: mark from the roots (named images, leases, the build
 * cache), sweep blobs and snapshots nothing reaches.  Runs under gc.lock
 * held exclusively, so no pull, build, import or rootfs preparation is
 * half way through writing content that is not named yet.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "image/internal.h"
#include "image/regserver.h"

struct set {
  char **v;
  size_t n, cap;
};

static bool set_has(const struct set *s, const char *k) {
  for (size_t i = 0; i < s->n; i++)
    if (streq(s->v[i], k))
      return true;
  return false;
}

static int set_add(struct set *s, const char *k) {
  if (set_has(s, k))
    return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    char **n = realloc(s->v, cap * sizeof *n);
    if (!n)
      return -1;
    s->v = n;
    s->cap = cap;
  }
  return (s->v[s->n++] = strdup(k)) ? 0 : -1;
}

static void set_clear(struct set *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* Everything a manifest (or index) needs: blobs by hex, snapshots by
 * their 16-hex name. */
static void mark(const kube_image_store_t *s, const char *digest,
                 struct set *blobs, struct set *snaps) {
  if (!img_digest_valid(digest) || set_has(blobs, img_digest_hex(digest)))
    return;
  set_add(blobs, img_digest_hex(digest));
  size_t len = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  char *j = img_blob_read(s, digest, IMG_MAX_MANIFEST, &len, &err);
  kube_error_clear(&err);
  if (!j)
    return;
  if (img_is_index(NULL, j, len)) {
    json_object *o = json_tokener_parse(j);
    json_object *mans = NULL;
    if (json_object_object_get_ex(o, "manifests", &mans))
      for (size_t i = 0; i < json_object_array_length(mans); i++) {
        const char *d =
            img_json_str(json_object_array_get_idx(mans, i), "digest");
        if (d)
          mark(s, d, blobs, snaps);
      }
    json_object_put(o);
    free(j);
    return;
  }
  free(j);
  img_image_t im;
  if (img_image_load(s, digest, &im, &err) < 0) {
    kube_error_clear(&err);
    return;
  }
  set_add(blobs, img_digest_hex(im.m.config.digest));
  for (size_t i = 0; i < im.m.n_layers; i++)
    set_add(blobs, img_digest_hex(im.m.layers[i].digest));
  char **chains = img_image_chain_ids(&im);
  for (size_t i = 0; chains && chains[i]; i++) {
    char k[17];
    memcpy(k, img_digest_hex(chains[i]), 16);
    k[16] = '\0';
    set_add(snaps, k);
  }
  img_strv_free(chains);
  img_image_clear(&im);
}

static char *read_text(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return strdup(buf);
}

struct link_mark {
  const kube_image_store_t *s;
  struct set *blobs, *snaps;
};

static void mark_link(void *arg, const char *digest) {
  struct link_mark *m = arg;
  mark(m->s, digest, m->blobs, m->snaps);
}

/* Roots other than index.json: leases (always), the build cache (unless
 * dropping it) and the registry's fresh blob links (a blob pushed before
 * its manifest). */
static void mark_state_roots(const kube_image_store_t *s, bool drop_cache,
                             struct set *blobs, struct set *snaps,
                             struct set *leased, size_t *removed) {
  cleanup_free char *ld = img_state_path(s, "leases");
  DIR *d = ld ? opendir(ld) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    cleanup_free char *t = read_text(dirfd(d), de->d_name);
    json_object *o = t ? json_tokener_parse(t) : NULL;
    const char *m = img_json_str(o, "manifest");
    if (m) {
      set_add(leased, m);
      mark(s, m, blobs, snaps);
    }
    json_object_put(o);
  }
  if (d)
    closedir(d);
  struct link_mark lm = {s, blobs, snaps};
  img_rs_link_roots(s, mark_link, &lm);
  cleanup_free char *cd = img_state_path(s, "cache");
  d = cd ? opendir(cd) : NULL;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    if (drop_cache) {
      if (unlinkat(dirfd(d), de->d_name, 0) == 0)
        (*removed)++;
      continue;
    }
    cleanup_free char *t = read_text(dirfd(d), de->d_name);
    if (t) {
      t[strcspn(t, "\n")] = '\0';
      mark(s, t, blobs, snaps);
    }
  }
  if (d)
    closedir(d);
}

static int64_t tree_size(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (!S_ISDIR(st.st_mode))
    return st.st_blocks * 512;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return st.st_blocks * 512;
  }
  int64_t total = st.st_blocks * 512;
  struct dirent *de;
  while ((de = readdir(d)))
    if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
      total += tree_size(fd, de->d_name);
  closedir(d);
  return total;
}

static void sweep(const kube_image_store_t *s, const struct set *blobs,
                  const struct set *snaps, kube_image_prune_result_t *r) {
  DIR *d = opendir(s->blobs);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.' || set_has(blobs, de->d_name))
      continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
        unlinkat(dirfd(d), de->d_name, 0) == 0) {
      r->blobs_removed++;
      r->bytes_freed += st.st_size;
    }
  }
  if (d)
    closedir(d);
  cleanup_free char *sd = img_state_path(s, "snap");
  d = sd ? opendir(sd) : NULL;
  while (d && (de = readdir(d))) {
    const char *n = de->d_name;
    if (n[0] == '.' || streq(n, "empty"))
      continue;
    char key[17];
    snprintf(key, sizeof key, "%.16s", n);
    if (strlen(n) >= 16 && set_has(snaps, key) &&
        (n[16] == '\0' || streq(n + 16, ".chain")))
      continue;
    if (str_has_suffix(n, ".chain")) {
      unlinkat(dirfd(d), n, 0);
      continue;
    }
    int64_t sz = tree_size(dirfd(d), n);
    if (img_rmtree_at(dirfd(d), n) == 0) {
      if (!str_has_prefix(n, "tmp-"))
        r->snapshots_removed++;
      r->bytes_freed += sz;
    }
  }
  if (d)
    closedir(d);
  /* Leftovers of writers that died (no writer runs while we hold gc). */
  cleanup_free char *td = img_state_path(s, "tmp");
  d = td ? opendir(td) : NULL;
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.')
      img_rmtree_at(dirfd(d), de->d_name);
  if (d)
    closedir(d);
  cleanup_free char *ud = img_state_path(s, "used");
  d = ud ? opendir(ud) : NULL;
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.' && !set_has(blobs, de->d_name))
      unlinkat(dirfd(d), de->d_name, 0);
  if (d)
    closedir(d);
}

static int used_percent(const kube_image_store_t *s) {
  struct statvfs v;
  if (statvfs(s->layout, &v) < 0 || v.f_blocks == 0)
    return 0;
  double used = (double)(v.f_blocks - v.f_bfree);
  double avail = used + (double)v.f_bavail;
  return avail > 0 ? (int)(100.0 * used / avail + 0.5) : 0;
}

struct candidate {
  char *digest;
  time_t used;
};

static int cmp_cand(const void *a, const void *b) {
  const struct candidate *x = a, *y = b;
  return x->used < y->used ? -1 : x->used > y->used;
}

struct prune_edit {
  const kube_image_store_t *s;
  const kube_image_prune_options_t *o;
  const struct set *leased;
  size_t removed;
};

/* Unname images: all unused ones (prune -a) or, for the disk threshold,
 * the least recently used until the estimate drops below low_percent. */
static int unname_edit(json_object *index, void *arg, kube_error_t *err) {
  struct prune_edit *pe = arg;
  json_object *arr = img_index_manifests(index);
  size_t n = json_object_array_length(arr);
  struct candidate *c = calloc(n + 1, sizeof *c);
  size_t k = 0;
  if (!c)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    const char *d = img_json_str(json_object_array_get_idx(arr, i), "digest");
    bool keep = false;
    for (size_t j = 0; pe->o->keep && pe->o->keep[j] && !keep; j++)
      keep = streq(pe->o->keep[j], d);
    if (!d || keep || set_has(pe->leased, d))
      continue;
    bool dup = false;
    for (size_t j = 0; j < k && !dup; j++)
      dup = streq(c[j].digest, d);
    if (dup)
      continue;
    c[k].digest = strdup(d);
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&sb, "%s/used/%s", pe->s->state, img_digest_hex(d));
    cleanup_free char *p = kube_strbuf_steal(&sb);
    struct stat st;
    c[k].used = p && stat(p, &st) == 0 ? st.st_mtime : 0;
    k++;
  }
  qsort(c, k, sizeof *c, cmp_cand);
  int64_t to_free = 0;
  if (!pe->o->all && pe->o->high_percent > 0) {
    struct statvfs v;
    if (statvfs(pe->s->layout, &v) == 0) {
      double total =
          (double)(v.f_blocks - v.f_bfree + v.f_bavail) * (double)v.f_frsize;
      double used = (double)(v.f_blocks - v.f_bfree) * (double)v.f_frsize;
      to_free = (int64_t)(used - total * pe->o->low_percent / 100.0);
    }
  }
  for (size_t i = 0; i < k; i++) {
    if (!pe->o->all && to_free <= 0)
      break;
    img_image_t im;
    kube_error_t e2 = KUBE_ERROR_INIT;
    if (img_image_load(pe->s, c[i].digest, &im, &e2) == 0) {
      for (size_t l = 0; l < im.m.n_layers; l++)
        to_free -= 2 * im.m.layers[l].size; /* blob + snapshot, roughly */
      img_image_clear(&im);
    }
    kube_error_clear(&e2);
    for (size_t j = json_object_array_length(arr); j-- > 0;) {
      const char *d = img_json_str(json_object_array_get_idx(arr, j), "digest");
      if (d && streq(d, c[i].digest)) {
        json_object_array_del_idx(arr, j, 1);
        pe->removed++;
      }
    }
  }
  for (size_t i = 0; i < k; i++)
    free(c[i].digest);
  free(c);
  return 0;
}

KUBE_EXPORT int kube_image_prune(kube_image_store_t *s,
                                 const kube_image_prune_options_t *opts,
                                 kube_image_prune_result_t *result,
                                 kube_error_t *err) {
  kube_image_prune_options_t none = {.struct_size = sizeof none};
  const kube_image_prune_options_t *o = opts ? opts : &none;
  kube_image_prune_result_t r = {0};
  int gc = img_lock(s, "gc.lock", true, err);
  if (gc < 0)
    return -1;
  struct set blobs = {0}, snaps = {0}, leased = {0};
  size_t cache_removed = 0;
  int rc = -1;
  mark_state_roots(s, o->build_cache, &blobs, &snaps, &leased, &cache_removed);
  bool threshold = o->high_percent > 0 && used_percent(s) > o->high_percent;
  if (o->all || threshold) {
    struct prune_edit pe = {s, o, &leased, 0};
    if (img_index_edit(s, unname_edit, &pe, err) < 0)
      goto out;
    r.images_removed = pe.removed;
  }
  json_object *index = img_index_load(s, err);
  if (!index)
    goto out;
  json_object *arr = img_index_manifests(index);
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    const char *d = img_json_str(json_object_array_get_idx(arr, i), "digest");
    if (d)
      mark(s, d, &blobs, &snaps);
  }
  json_object_put(index);
  sweep(s, &blobs, &snaps, &r);
  rc = 0;
out:
  set_clear(&blobs);
  set_clear(&snaps);
  set_clear(&leased);
  img_unlock(gc);
  if (rc == 0 && result)
    *result = r;
  return rc;
}
