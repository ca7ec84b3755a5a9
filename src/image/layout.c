/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI image layout on disk: blobs written through a verified temporary
 * file, index.json replaced atomically, and the lock files that make one
 * store safe for several threads and processes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"

char *img_state_path(const kube_image_store_t *s, const char *rel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/%s", s->state, rel);
  return kube_strbuf_steal(&sb);
}

char *img_blob_path(const kube_image_store_t *s, const char *digest) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/%s", s->blobs, img_digest_hex(digest));
  return kube_strbuf_steal(&sb);
}

bool img_blob_exists(const kube_image_store_t *s, const char *digest,
                     int64_t *size) {
  if (!img_digest_valid(digest))
    return false;
  cleanup_free char *p = img_blob_path(s, digest);
  struct stat st;
  if (!p || stat(p, &st) < 0 || !S_ISREG(st.st_mode))
    return false;
  if (size)
    *size = st.st_size;
  return true;
}

/* ---- locks --------------------------------------------------------------- */

static int lock_path(const char *path, bool exclusive, kube_error_t *err) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return kube_make_error(err, errno, "open lock %s: %s", path,
                           strerror(errno));
  while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
    if (errno == EINTR)
      continue;
    int e = errno;
    close(fd);
    return kube_make_error(err, e, "lock %s: %s", path, strerror(e));
  }
  return fd;
}

int img_lock(const kube_image_store_t *s, const char *name, bool exclusive,
             kube_error_t *err) {
  cleanup_free char *p = img_state_path(s, name);
  if (!p)
    return kube_make_oom(err);
  return lock_path(p, exclusive, err);
}

void img_unlock(int fd) {
  if (fd >= 0)
    close(fd); /* releases the flock of this open file description */
}

int img_lock_key(const kube_image_store_t *s, const char *prefix,
                 const char *key, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  /* keys are digests: drop the "sha256:" so the name is portable */
  const char *k = str_has_prefix(key, "sha256:") ? key + 7 : key;
  kube_strbuf_printf(&sb, "%s/locks/%s-%s", s->state, prefix, k);
  cleanup_free char *p = kube_strbuf_steal(&sb);
  if (!p)
    return kube_make_oom(err);
  return lock_path(p, true, err);
}

/* ---- blobs --------------------------------------------------------------- */

int img_blob_writer_open(const kube_image_store_t *s, img_blob_writer_t *w,
                         kube_error_t *err) {
  memset(w, 0, sizeof *w);
  w->s = s;
  w->fd = -1;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/tmp/blob-XXXXXX", s->state);
  w->tmp = kube_strbuf_steal(&sb);
  if (!w->tmp)
    return kube_make_oom(err);
  w->fd = mkostemp(w->tmp, O_CLOEXEC);
  if (w->fd < 0) {
    int e = errno;
    free(w->tmp);
    w->tmp = NULL;
    return kube_make_error(err, e, "create temporary blob: %s", strerror(e));
  }
  if (img_hash_init(&w->h, err) < 0) {
    img_blob_writer_abort(w);
    return -1;
  }
  return 0;
}

int img_blob_writer_write(img_blob_writer_t *w, const void *data, size_t len,
                          kube_error_t *err) {
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t n = write(w->fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return kube_make_error(err, errno, "write blob: %s", strerror(errno));
    }
    p += n;
    left -= (size_t)n;
  }
  img_hash_update(&w->h, data, len);
  w->size += (int64_t)len;
  return 0;
}

void img_blob_writer_abort(img_blob_writer_t *w) {
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
  if (w->tmp)
    unlink(w->tmp);
  free(w->tmp);
  w->tmp = NULL;
  img_hash_clear(&w->h);
}

int img_blob_writer_commit(img_blob_writer_t *w, const char *expect,
                           char **digest_out, kube_error_t *err) {
  char d[72];
  img_hash_final(&w->h, d);
  if (expect && strcmp(expect, d) != 0) {
    img_blob_writer_abort(w);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "digest mismatch: expected %s, got %s", expect, d);
  }
  /* Durable before it is named: index.json may point at it next. */
  if (fsync(w->fd) < 0 || fchmod(w->fd, 0644) < 0) {
    int e = errno;
    img_blob_writer_abort(w);
    return kube_make_error(err, e, "sync blob: %s", strerror(e));
  }
  close(w->fd);
  w->fd = -1;
  cleanup_free char *dst = img_blob_path(w->s, d);
  if (!dst || rename(w->tmp, dst) < 0) {
    int e = dst ? errno : ENOMEM;
    img_blob_writer_abort(w);
    return kube_make_error(err, e, "store blob %s: %s", d, strerror(e));
  }
  free(w->tmp);
  w->tmp = NULL;
  if (digest_out) {
    *digest_out = strdup(d);
    if (!*digest_out)
      return kube_make_oom(err);
  }
  return 0;
}

int img_blob_put(const kube_image_store_t *s, const void *data, size_t len,
                 const char *expect, char **digest_out, kube_error_t *err) {
  cleanup_free char *d = img_digest_of(data, len);
  if (!d)
    return kube_make_oom(err);
  if (expect && !streq(expect, d))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "digest mismatch: expected %s, got %s", expect, d);
  if (!img_blob_exists(s, d, NULL)) {
    img_blob_writer_t w;
    if (img_blob_writer_open(s, &w, err) < 0 ||
        img_blob_writer_write(&w, data, len, err) < 0) {
      img_blob_writer_abort(&w);
      return -1;
    }
    if (img_blob_writer_commit(&w, d, NULL, err) < 0)
      return -1;
  }
  if (digest_out)
    *digest_out = steal_pointer(&d);
  return 0;
}

char *img_blob_read(const kube_image_store_t *s, const char *digest, size_t max,
                    size_t *len, kube_error_t *err) {
  if (!img_digest_valid(digest)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid digest \"%s\"",
                   digest ? digest : "");
    return NULL;
  }
  cleanup_free char *p = img_blob_path(s, digest);
  cleanup_close int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, errno, "blob %s not found",
                   digest);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
    kube_error_set(err, KUBE_REASON_TOO_LARGE, 0, "blob %s too large", digest);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    kube_make_oom(err);
    return NULL;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  cleanup_free char *d = img_digest_of(buf, got);
  if (!d || !streq(d, digest)) {
    free(buf);
    kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                   "blob %s is corrupt (content hashes to %s)", digest,
                   d ? d : "?");
    return NULL;
  }
  if (len)
    *len = got;
  return buf;
}

/* ---- index.json ---------------------------------------------------------- */

json_object *img_index_manifests(json_object *index) {
  json_object *m = NULL;
  if (!json_object_object_get_ex(index, "manifests", &m) ||
      !json_object_is_type(m, json_type_array)) {
    m = json_object_new_array();
    json_object_object_add(index, "manifests", m);
  }
  return m;
}

static json_object *index_new(void) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "schemaVersion", json_object_new_int(2));
  json_object_object_add(o, "mediaType",
                         json_object_new_string(IMG_MT_OCI_INDEX));
  json_object_object_add(o, "manifests", json_object_new_array());
  return o;
}

json_object *img_index_load(const kube_image_store_t *s, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/index.json", s->layout);
  cleanup_free char *path = kube_strbuf_steal(&sb);
  if (!path) {
    kube_make_oom(err);
    return NULL;
  }
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return index_new();
    kube_make_error(err, errno, "open %s: %s", path, strerror(errno));
    return NULL;
  }
  size_t len = 0;
  cleanup_free char *data = img_read_fd(fd, 256 << 20, &len);
  if (!data) {
    kube_make_error(err, errno, "read %s: %s", path, strerror(errno));
    return NULL;
  }
  json_tokener *tok = json_tokener_new();
  json_object *o = tok ? json_tokener_parse_ex(tok, data, (int)len) : NULL;
  if (tok)
    json_tokener_free(tok);
  if (!o || !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "%s is not valid JSON", path);
    return NULL;
  }
  img_index_manifests(o);
  return o;
}

static int write_file_atomic(const char *path, const char *data, size_t len,
                             kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s.tmp-XXXXXX", path);
  cleanup_free char *tmp = kube_strbuf_steal(&sb);
  if (!tmp)
    return kube_make_oom(err);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return kube_make_error(err, errno, "create %s: %s", tmp, strerror(errno));
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return kube_make_error(err, e, "write %s: %s", tmp, strerror(e));
    }
    off += (size_t)n;
  }
  if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || close(fd) < 0) {
    int e = errno;
    unlink(tmp);
    return kube_make_error(err, e, "write %s: %s", path, strerror(e));
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return kube_make_error(err, e, "rename %s: %s", path, strerror(e));
  }
  return 0;
}

int img_index_edit(const kube_image_store_t *s, img_index_edit_fn fn, void *arg,
                   kube_error_t *err) {
  int lk = img_lock(s, "index.lock", true, err);
  if (lk < 0)
    return -1;
  int rc = -1;
  json_object *index = img_index_load(s, err);
  if (index && fn(index, arg, err) == 0) {
    const char *text = json_object_to_json_string_ext(
        index, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&sb, "%s/index.json", s->layout);
    cleanup_free char *path = kube_strbuf_steal(&sb);
    if (!path)
      kube_make_oom(err);
    else
      rc = write_file_atomic(path, text, strlen(text), err);
  }
  json_object_put(index);
  img_unlock(lk);
  return rc;
}

static const char *entry_name(json_object *e) {
  json_object *ann = NULL;
  if (!json_object_object_get_ex(e, "annotations", &ann))
    return NULL;
  return img_json_str(ann, IMG_REF_NAME);
}

int img_index_set(json_object *index, const char *name, const char *digest,
                  const char *media_type, int64_t size,
                  const char *repo_digest) {
  json_object *arr = img_index_manifests(index);
  /* Drop what `name` named before. */
  for (size_t i = json_object_array_length(arr); i-- > 0;) {
    const char *n = entry_name(json_object_array_get_idx(arr, i));
    if (n && streq(n, name))
      json_object_array_del_idx(arr, i, 1);
  }
  json_object *e = json_object_new_object();
  json_object_object_add(e, "mediaType", json_object_new_string(media_type));
  json_object_object_add(e, "digest", json_object_new_string(digest));
  json_object_object_add(e, "size", json_object_new_int64(size));
  json_object *ann = json_object_new_object();
  json_object_object_add(ann, IMG_REF_NAME, json_object_new_string(name));
  if (repo_digest)
    json_object_object_add(ann, IMG_ANN_REPO_DIGEST,
                           json_object_new_string(repo_digest));
  json_object_object_add(e, "annotations", ann);
  json_object_array_add(arr, e);
  return 0;
}

struct name_args {
  const char *name, *digest, *media_type, *repo_digest;
  int64_t size;
};

static int name_edit(json_object *index, void *arg, kube_error_t *err) {
  struct name_args *a = arg;
  return img_index_set(index, a->name, a->digest, a->media_type, a->size,
                       a->repo_digest);
}

int img_store_name(const kube_image_store_t *s, const char *name,
                   const char *digest, const char *media_type, int64_t size,
                   const char *repo_digest, kube_error_t *err) {
  struct name_args a = {name, digest, media_type, repo_digest, size};
  return img_index_edit(s, name_edit, &a, err);
}

/* ---- opening the store --------------------------------------------------- */

static int ensure_layout(kube_image_store_t *s, kube_error_t *err) {
  const char *dirs[] = {s->layout, s->blobs, s->state};
  for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
    if (img_mkdir_p(dirs[i], 0755) < 0)
      return kube_make_error(err, errno, "create %s: %s", dirs[i],
                             strerror(errno));
  const char *sub[] = {"tmp",  "locks",  "uploads", "snap",
                       "used", "leases", "cache"};
  for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
    cleanup_free char *p = img_state_path(s, sub[i]);
    if (!p || (mkdir(p, 0700) < 0 && errno != EEXIST))
      return kube_make_error(err, errno, "create %s: %s", p ? p : sub[i],
                             strerror(errno));
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/oci-layout", s->layout);
  cleanup_free char *ol = kube_strbuf_steal(&sb);
  if (!ol)
    return kube_make_oom(err);
  if (access(ol, F_OK) < 0) {
    const char *v = "{\"imageLayoutVersion\":\"1.0.0\"}";
    if (write_file_atomic(ol, v, strlen(v), err) < 0)
      return -1;
  }
  kube_strbuf_printf(&sb, "%s/index.json", s->layout);
  cleanup_free char *ij = kube_strbuf_steal(&sb);
  if (!ij)
    return kube_make_oom(err);
  if (access(ij, F_OK) < 0) {
    int lk = img_lock(s, "index.lock", true, err);
    if (lk < 0)
      return -1;
    int rc = 0;
    if (access(ij, F_OK) < 0) {
      const char *v = "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_INDEX
                      "\",\"manifests\":[]}";
      rc = write_file_atomic(ij, v, strlen(v), err);
    }
    img_unlock(lk);
    if (rc < 0)
      return -1;
  }
  return 0;
}

KUBE_EXPORT kube_image_store_t *
kube_image_store_open(const kube_image_store_options_t *opts,
                      kube_error_t *err) {
  if (!opts || !opts->data_dir || !*opts->data_dir) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "image store: a data directory is required");
    return NULL;
  }
  kube_image_store_t *s = calloc(1, sizeof *s);
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  s->data_dir = strdup(opts->data_dir);
  kube_strbuf_printf(&sb, "%s/images", opts->data_dir);
  s->layout = kube_strbuf_steal(&sb);
  kube_strbuf_printf(&sb, "%s/images/blobs/sha256", opts->data_dir);
  s->blobs = kube_strbuf_steal(&sb);
  kube_strbuf_printf(&sb, "%s/images.d", opts->data_dir);
  s->state = kube_strbuf_steal(&sb);
  s->parallel = opts->parallel_transfers ? opts->parallel_transfers : 4;
  s->local_is_mirror = opts->local_is_mirror;
  if (!s->data_dir || !s->layout || !s->blobs || !s->state) {
    kube_make_oom(err);
    kube_image_store_free(s);
    return NULL;
  }
  if (ensure_layout(s, err) < 0) {
    kube_image_store_free(s);
    return NULL;
  }
  const char *yaml = opts->registries_yaml;
  cleanup_free char *def_yaml = NULL;
  if (!yaml) {
    kube_strbuf_printf(&sb, "%s/registries.yaml", opts->data_dir);
    def_yaml = kube_strbuf_steal(&sb);
  }
  s->regconf = img_regconf_load(yaml ? yaml : def_yaml, yaml == NULL,
                                opts->docker_config, err);
  if (!s->regconf) {
    kube_image_store_free(s);
    return NULL;
  }
  return s;
}

KUBE_EXPORT void kube_image_store_free(kube_image_store_t *s) {
  if (!s)
    return;
  img_regconf_free(s->regconf);
  free(s->data_dir);
  free(s->layout);
  free(s->blobs);
  free(s->state);
  free(s);
}

KUBE_EXPORT const char *kube_image_store_path(const kube_image_store_t *s) {
  return s->layout;
}
