/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots (one directory per chain ID, in overlayfs form), overlay
 * mounts, container root file systems and in-use marks (leases).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"

char *img_snapshot_dir(const kube_image_store_t *s, const char *chain_id) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/snap/%.16s", s->state, img_digest_hex(chain_id));
  return kube_strbuf_steal(&sb);
}

static int write_small(const char *path, const char *text, bool durable,
                       kube_error_t *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return kube_make_error(err, errno, "create %s: %s", path, strerror(errno));
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int e = errno;
  if (durable && fsync(fd) < 0 && !e)
    e = errno;
  close(fd);
  if (n != (ssize_t)len)
    return kube_make_error(err, e, "write %s: %s", path, strerror(e));
  return 0;
}

/* The snapshot of chain_id exists (and is that chain's, not a 64-bit
 * prefix collision). */
static int snapshot_present(const char *dir, const char *chain_id,
                            kube_error_t *err) {
  struct stat st;
  if (stat(dir, &st) < 0)
    return 0;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s.chain", dir);
  cleanup_free char *cf = kube_strbuf_steal(&sb);
  char buf[80] = "";
  int fd = cf ? open(cf, O_RDONLY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
  }
  if (!streq(buf, chain_id))
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "snapshot %s holds chain %s, not %s", dir, buf,
                          chain_id);
  return 1;
}

/* Lower layers of layer i for hard links, opened the first time one
 * needs them, after the plan's other threads have unpacked them. */
struct lowers {
  img_snap_plan_t *p;
  size_t i;
  int *fds;
  size_t n;
};

static int get_lowers(void *arg, const int **fds, size_t *n,
                      kube_error_t *err) {
  struct lowers *l = arg;
  img_snap_plan_t *p = l->p;
  pthread_mutex_lock(&p->mu);
  bool ready = false, bad = false;
  while (!ready && !bad) {
    ready = true;
    for (size_t k = 0; k < l->i; k++) {
      bad = bad || p->state[k] < 0;
      ready = ready && p->state[k] > 0;
    }
    bad = bad || p->failed;
    if (!ready && !bad)
      pthread_cond_wait(&p->cv, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  if (!ready)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "a lower layer failed to unpack");
  l->fds = calloc(l->i ? l->i : 1, sizeof *l->fds);
  if (!l->fds)
    return kube_make_oom(err);
  for (size_t k = l->i; k-- > 0;) {
    l->fds[l->n] = open(p->dirs[k], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (l->fds[l->n] >= 0)
      l->n++;
  }
  *fds = l->fds;
  *n = l->n;
  return 0;
}

static int unpack_one(img_snap_plan_t *p, size_t i, kube_error_t *err) {
  const kube_image_store_t *s = p->s;
  const img_desc_t *l = &p->im->m.layers[i];
  cleanup_free char *blob = img_blob_path(s, l->digest);
  cleanup_close int bfd = blob ? open(blob, O_RDONLY | O_CLOEXEC) : -1;
  if (bfd < 0)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, errno,
                          "layer %s is not in the store", l->digest);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/snap/tmp-XXXXXX", s->state);
  cleanup_free char *tmp = kube_strbuf_steal(&sb);
  if (!tmp || !mkdtemp(tmp))
    return kube_make_error(err, errno, "create snapshot: %s", strerror(errno));
  chmod(tmp, 0755);
  struct lowers lw = {.p = p, .i = i};
  int root = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  img_unpack_options_t o = {.overlay = true,
                            .keep_owner = true,
                            .diff_id = p->im->diff_ids[i],
                            .get_lowers = get_lowers,
                            .lowers_arg = &lw,
                            .force_uid = -1,
                            .force_gid = -1};
  int rc = root < 0 ? kube_make_error(err, errno, "open %s", tmp)
                    : img_unpack_fd(bfd, root, &o, NULL, err);
  if (root >= 0)
    close(root);
  for (size_t k = 0; k < lw.n; k++)
    close(lw.fds[k]);
  free(lw.fds);
  if (rc == 0) {
    kube_strbuf_printf(&sb, "%s.chain", p->dirs[i]);
    cleanup_free char *cf = kube_strbuf_steal(&sb);
    rc = cf ? write_small(cf, p->chains[i], true, err) : kube_make_oom(err);
  }
  if (rc == 0 && rename(tmp, p->dirs[i]) < 0)
    rc = kube_make_error(err, errno, "publish snapshot %s: %s", p->dirs[i],
                         strerror(errno));
  if (rc < 0) {
    img_rmtree(tmp);
    kube_error_wrap(err, "unpack layer %s", l->digest);
  }
  return rc;
}

int img_snap_plan_init(img_snap_plan_t *p, const kube_image_store_t *s,
                       const img_image_t *im, kube_error_t *err) {
  memset(p, 0, sizeof *p);
  p->s = s;
  p->im = im;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->chains = img_image_chain_ids(im);
  p->dirs = calloc(im->m.n_layers + 1, sizeof *p->dirs);
  p->state = calloc(im->m.n_layers + 1, 1);
  if (!p->chains || !p->dirs || !p->state)
    goto oom;
  for (size_t i = 0; i < im->m.n_layers; i++)
    if (!(p->dirs[i] = img_snapshot_dir(s, p->chains[i])))
      goto oom;
  return 0;
oom:
  img_snap_plan_clear(p);
  return kube_make_oom(err);
}

void img_snap_plan_clear(img_snap_plan_t *p) {
  if (!p || !p->s)
    return;
  img_strv_free(p->chains);
  img_strv_free(p->dirs);
  free(p->state);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  memset(p, 0, sizeof *p);
}

static void plan_mark(img_snap_plan_t *p, size_t i, int st) {
  pthread_mutex_lock(&p->mu);
  p->state[i] = (signed char)st;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void img_snap_plan_fail(img_snap_plan_t *p) {
  pthread_mutex_lock(&p->mu);
  p->failed = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

int img_snap_plan_layer(img_snap_plan_t *p, size_t i, img_progress_t *prog,
                        kube_error_t *err) {
  const char *chain = p->chains[i], *dir = p->dirs[i];
  int pr = snapshot_present(dir, chain, err);
  if (pr == 0) {
    /* One unpack per chain ID across threads and processes: whoever gets
     * the lock second finds the snapshot made. */
    int lk = img_lock_key(p->s, "snap", chain, err);
    if (lk < 0) {
      pr = -1;
    } else {
      pr = snapshot_present(dir, chain, err);
      if (pr == 0) {
        img_progress_emit(prog, KUBE_IMAGE_PROGRESS_UNPACK, p->im->diff_ids[i],
                          NULL, 0, p->im->m.layers[i].size);
        pr = unpack_one(p, i, err) < 0 ? -1 : 1;
      }
      img_unlock(lk);
    }
  }
  plan_mark(p, i, pr < 0 ? -1 : 1);
  return pr < 0 ? -1 : 0;
}

int img_snapshots_ensure(const kube_image_store_t *s, const img_image_t *im,
                         kube_image_progress_fn progress, void *userdata,
                         char ***dirs_out, kube_error_t *err) {
  if (dirs_out)
    *dirs_out = NULL;
  img_snap_plan_t p;
  if (img_snap_plan_init(&p, s, im, err) < 0)
    return -1;
  img_progress_t prog;
  img_progress_init(&prog, progress, userdata);
  int rc = 0;
  for (size_t i = 0; i < im->m.n_layers && rc == 0; i++)
    rc = img_snap_plan_layer(&p, i, &prog, err);
  img_progress_clear(&prog);
  if (rc == 0 && dirs_out) {
    /* topmost first, as overlay's lowerdir lists them */
    char **dirs = p.dirs;
    for (size_t a = 0, b = im->m.n_layers; b > a + 1; a++, b--) {
      char *t = dirs[a];
      dirs[a] = dirs[b - 1];
      dirs[b - 1] = t;
    }
    *dirs_out = steal_pointer(&p.dirs);
  }
  img_snap_plan_clear(&p);
  return rc;
}

int img_snapshot_adopt(const kube_image_store_t *s, const char *chain_id,
                       const char *dir, kube_error_t *err) {
  cleanup_free char *dst = img_snapshot_dir(s, chain_id);
  if (!dst)
    return kube_make_oom(err);
  int lk = img_lock_key(s, "snap", chain_id, err);
  if (lk < 0)
    return -1;
  int rc = snapshot_present(dst, chain_id, err);
  if (rc == 0) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&sb, "%s.chain", dst);
    cleanup_free char *cf = kube_strbuf_steal(&sb);
    rc = cf ? write_small(cf, chain_id, true, err) : kube_make_oom(err);
    if (rc == 0 && rename(dir, dst) < 0)
      rc = kube_make_error(err, errno, "adopt snapshot: %s", strerror(errno));
  } else if (rc > 0) {
    img_rmtree(dir);
    rc = 0;
  }
  img_unlock(lk);
  return rc < 0 ? -1 : 0;
}

char *img_empty_snapshot(const kube_image_store_t *s, kube_error_t *err) {
  char *p = img_state_path(s, "snap/empty");
  if (!p) {
    kube_make_oom(err);
    return NULL;
  }
  if (mkdir(p, 0755) < 0 && errno != EEXIST) {
    kube_make_error(err, errno, "create %s: %s", p, strerror(errno));
    free(p);
    return NULL;
  }
  return p;
}

static bool path_ok_for_option(const char *p) {
  return !strchr(p, ':') && !strchr(p, ',') && !strchr(p, '\\');
}

int img_overlay_mount(char *const *lowers, const char *upper, const char *work,
                      const char *target, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "lowerdir=");
  size_t n = 0;
  for (; lowers[n]; n++) {
    if (!path_ok_for_option(lowers[n]))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "overlay: path %s has ':' or ','", lowers[n]);
    kube_strbuf_printf(&sb, "%s%s", n ? ":" : "", lowers[n]);
  }
  if (upper) {
    if (!path_ok_for_option(upper) || !path_ok_for_option(work))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "overlay: path %s has ':' or ','", upper);
    kube_strbuf_printf(&sb, ",upperdir=%s,workdir=%s", upper, work);
  }
  size_t base_len = sb.len;
  /* The upper directory doubles as the next layer's snapshot: keep it in
   * plain overlay form (no redirects, metacopy or index file handles). */
  kube_strbuf_append(&sb, ",redirect_dir=off,index=off,metacopy=off");
  if (sb.oom)
    return kube_make_oom(err);
  if (sb.len >= 4096) {
    kube_strbuf_clear(&sb);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "overlay: %zu layers do not fit in one mount", n);
  }
  unsigned long flags = upper ? 0 : MS_RDONLY;
  int rc = mount("overlay", target, "overlay", flags, sb.data);
  if (rc < 0 && errno == EINVAL) {
    sb.data[base_len] = '\0';
    rc = mount("overlay", target, "overlay", flags, sb.data);
  }
  int e = errno;
  kube_strbuf_clear(&sb);
  if (rc < 0)
    return kube_make_error(err, e, "mount overlay on %s: %s", target,
                           strerror(e));
  return 0;
}

/* ---- leases -------------------------------------------------------------- */

static char *lease_path(const kube_image_store_t *s, const char *holder) {
  cleanup_free char *d = img_digest_of(holder, strlen(holder));
  if (!d)
    return NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/leases/%s", s->state, img_digest_hex(d));
  return kube_strbuf_steal(&sb);
}

int img_lease_put(const kube_image_store_t *s, const char *holder,
                  const char *manifest_digest, const char *dir,
                  kube_error_t *err) {
  cleanup_free char *p = lease_path(s, holder);
  if (!p)
    return kube_make_oom(err);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "holder", json_object_new_string(holder));
  json_object_object_add(o, "manifest",
                         json_object_new_string(manifest_digest));
  if (dir)
    json_object_object_add(o, "dir", json_object_new_string(dir));
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s.tmp", p);
  cleanup_free char *tmp = kube_strbuf_steal(&sb);
  /* A container root's lease (dir set) is written on every container
   * start: no fsync there.  It only has to outlive the overlay mount it
   * protects, which a crash of the machine takes away too (the root is
   * prepared again, with a new lease, when the container is created
   * again). */
  int rc = tmp ? write_small(tmp, json_object_to_json_string(o), !dir, err)
               : kube_make_oom(err);
  json_object_put(o);
  if (rc == 0 && rename(tmp, p) < 0)
    rc = kube_make_error(err, errno, "write lease: %s", strerror(errno));
  return rc;
}

int img_lease_drop(const kube_image_store_t *s, const char *holder,
                   kube_error_t *err) {
  cleanup_free char *p = lease_path(s, holder);
  if (!p)
    return kube_make_oom(err);
  if (unlink(p) < 0 && errno != ENOENT)
    return kube_make_error(err, errno, "drop lease: %s", strerror(errno));
  return 0;
}

/* ---- container rootfs ---------------------------------------------------- */

static char *join(const char *a, const char *b) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/%s", a, b);
  return kube_strbuf_steal(&sb);
}

static bool is_mountpoint(const char *path, const char *parent) {
  struct stat a, b;
  if (stat(path, &a) < 0 || stat(parent, &b) < 0)
    return false;
  return a.st_dev != b.st_dev;
}

static char *holder_of(const char *dir) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "rootfs:%s", dir);
  return kube_strbuf_steal(&sb);
}

KUBE_EXPORT int kube_image_rootfs_prepare(kube_image_store_t *s,
                                          const char *image, const char *dir,
                                          char **mount_out, kube_error_t *err) {
  *mount_out = NULL;
  if (!dir || dir[0] != '/')
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "rootfs directory must be an absolute path");
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0)
    return -1;
  int rc = -1;
  cleanup_free char *md = NULL, *upper = join(dir, "upper"),
                    *work = join(dir, "work"), *root = join(dir, "rootfs"),
                    *holder = holder_of(dir);
  char **dirs = NULL;
  img_image_t im = {0};
  if (!upper || !work || !root || !holder) {
    kube_make_oom(err);
    goto out;
  }
  if (img_resolve(s, image, &md, NULL, err) < 0 ||
      img_image_load(s, md, &im, err) < 0 ||
      img_snapshots_ensure(s, &im, NULL, NULL, &dirs, err) < 0)
    goto out;
  if (im.m.n_layers == 0) {
    img_strv_free(dirs);
    dirs = calloc(2, sizeof *dirs);
    if (!dirs || !(dirs[0] = img_empty_snapshot(s, err)))
      goto out;
  }
  if (img_mkdir_p(dir, 0700) < 0 ||
      (mkdir(upper, 0755) < 0 && errno != EEXIST) ||
      (mkdir(work, 0700) < 0 && errno != EEXIST) ||
      (mkdir(root, 0755) < 0 && errno != EEXIST)) {
    kube_make_error(err, errno, "create %s: %s", dir, strerror(errno));
    goto out;
  }
  if (img_lease_put(s, holder, md, dir, err) < 0)
    goto out;
  if (!is_mountpoint(root, dir) &&
      img_overlay_mount(dirs, upper, work, root, err) < 0) {
    img_lease_drop(s, holder, NULL);
    goto out;
  }
  img_touch_used(s, md);
  *mount_out = steal_pointer(&root);
  rc = 0;
out:
  img_strv_free(dirs);
  img_image_clear(&im);
  img_unlock(gc);
  return rc;
}

KUBE_EXPORT int kube_image_rootfs_release(kube_image_store_t *s,
                                          const char *dir, kube_error_t *err) {
  cleanup_free char *root = join(dir, "rootfs"), *upper = join(dir, "upper"),
                    *work = join(dir, "work"), *holder = holder_of(dir);
  if (!root || !upper || !work || !holder)
    return kube_make_oom(err);
  if (is_mountpoint(root, dir) && umount2(root, 0) < 0 &&
      umount2(root, MNT_DETACH) < 0)
    return kube_make_error(err, errno, "unmount %s: %s", root, strerror(errno));
  if ((img_rmtree(root) < 0 && errno != ENOENT) ||
      (img_rmtree(upper) < 0 && errno != ENOENT) ||
      (img_rmtree(work) < 0 && errno != ENOENT))
    return kube_make_error(err, errno, "remove %s: %s", dir, strerror(errno));
  rmdir(dir);
  return img_lease_drop(s, holder, err);
}

KUBE_EXPORT int kube_image_use(kube_image_store_t *s, const char *ref,
                               const char *holder, kube_error_t *err) {
  cleanup_free char *md = NULL;
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0)
    return -1;
  int rc = img_resolve(s, ref, &md, NULL, err);
  if (rc == 0)
    rc = img_lease_put(s, holder, md, NULL, err);
  img_unlock(gc);
  return rc;
}

KUBE_EXPORT int kube_image_unuse(kube_image_store_t *s, const char *holder,
                                 kube_error_t *err) {
  return img_lease_drop(s, holder, err);
}
