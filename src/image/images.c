/* SPDX-License-Identifier: Apache-2.0 */
/* Images by name: lookup, list, inspect, tag, remove, and writing new ones. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/internal.h"

static const char *entry_name(json_object *e) {
  json_object *ann = NULL;
  if (!json_object_object_get_ex(e, "annotations", &ann))
    return NULL;
  return img_json_str(ann, IMG_REF_NAME);
}

/* The single-platform manifest an index entry stands for (owned). */
static char *entry_manifest(const kube_image_store_t *s, json_object *e,
                            kube_error_t *err) {
  const char *d = img_json_str(e, "digest");
  const char *mt = img_json_str(e, "mediaType");
  if (!d || !img_digest_valid(d)) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "index.json: bad digest");
    return NULL;
  }
  if (!mt || !img_is_index(mt, NULL, 0))
    return strdup(d);
  size_t len = 0;
  cleanup_free char *j = img_blob_read(s, d, IMG_MAX_MANIFEST, &len, err);
  if (!j)
    return NULL;
  img_desc_t sel;
  if (img_index_select(j, len, NULL, &sel, err) < 0)
    return NULL;
  char *r = steal_pointer(&sel.digest);
  img_desc_clear(&sel);
  return r;
}

static bool hex_prefix(const char *s) {
  size_t n = strlen(s);
  if (n < 4 || n > 64)
    return false;
  for (const char *p = s; *p; p++)
    if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
      return false;
  return true;
}

/* Config digest of a manifest (owned), NULL when unreadable. */
static char *manifest_config(const kube_image_store_t *s, const char *md) {
  size_t len = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *j = img_blob_read(s, md, IMG_MAX_MANIFEST, &len, &err);
  kube_error_clear(&err);
  if (!j)
    return NULL;
  img_manifest_t m;
  if (img_manifest_parse(j, len, &m, NULL) < 0)
    return NULL;
  char *r = steal_pointer(&m.config.digest);
  img_manifest_clear(&m);
  return r;
}

/* Find by image ID or manifest digest, full or as a hex prefix. */
static char *find_by_id(const kube_image_store_t *s, json_object *index,
                        const char *hexp, kube_error_t *err) {
  json_object *arr = img_index_manifests(index);
  size_t plen = strlen(hexp);
  char *found = NULL;
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    cleanup_free char *md = entry_manifest(s, e, NULL);
    if (!md)
      continue;
    cleanup_free char *cd = manifest_config(s, md);
    bool hit = strncmp(img_digest_hex(md), hexp, plen) == 0 ||
               (cd && strncmp(img_digest_hex(cd), hexp, plen) == 0);
    if (!hit)
      continue;
    if (found && !streq(found, md)) {
      free(found);
      kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                     "image ID prefix %s is ambiguous", hexp);
      return NULL;
    }
    if (!found)
      found = steal_pointer(&md);
  }
  if (!found)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "image %s not found", hexp);
  return found;
}

static int resolve_in(const kube_image_store_t *s, json_object *index,
                      const char *ref, char **digest_out, char **name_out,
                      kube_error_t *err) {
  *digest_out = NULL;
  if (name_out)
    *name_out = NULL;
  if (str_has_prefix(ref, "sha256:") && hex_prefix(ref + 7)) {
    *digest_out = find_by_id(s, index, ref + 7, err);
    return *digest_out ? 0 : -1;
  }
  kube_image_ref_t r;
  kube_error_t perr = KUBE_ERROR_INIT;
  if (kube_image_ref_parse(ref, &r, &perr) < 0) {
    if (hex_prefix(ref)) {
      kube_error_clear(&perr);
      *digest_out = find_by_id(s, index, ref, err);
      return *digest_out ? 0 : -1;
    }
    kube_error_move(err, &perr);
    return -1;
  }
  cleanup_free char *name = kube_image_ref_string(&r);
  int rc = -1;
  if (!name) {
    kube_make_oom(err);
    goto out;
  }
  if (r.digest) {
    /* A digest reference needs only the content. */
    if (img_blob_exists(s, r.digest, NULL)) {
      size_t len = 0;
      cleanup_free char *j =
          img_blob_read(s, r.digest, IMG_MAX_MANIFEST, &len, err);
      if (!j)
        goto out;
      if (img_is_index(NULL, j, len)) {
        img_desc_t sel;
        if (img_index_select(j, len, NULL, &sel, err) < 0)
          goto out;
        *digest_out = steal_pointer(&sel.digest);
        img_desc_clear(&sel);
      } else
        *digest_out = strdup(r.digest);
      rc = 0;
      goto out;
    }
  } else {
    json_object *arr = img_index_manifests(index);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      json_object *e = json_object_array_get_idx(arr, i);
      const char *n = entry_name(e);
      if (n && streq(n, name)) {
        *digest_out = entry_manifest(s, e, err);
        if (!*digest_out)
          goto out;
        if (name_out)
          *name_out = steal_pointer(&name);
        rc = 0;
        goto out;
      }
    }
  }
  if (hex_prefix(ref)) {
    *digest_out = find_by_id(s, index, ref, NULL);
    if (*digest_out) {
      rc = 0;
      goto out;
    }
  }
  kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "image %s not found", name);
out:
  kube_image_ref_clear(&r);
  return rc;
}

int img_resolve(const kube_image_store_t *s, const char *ref, char **digest_out,
                char **name_out, kube_error_t *err) {
  json_object *index = img_index_load(s, err);
  if (!index)
    return -1;
  int rc = resolve_in(s, index, ref, digest_out, name_out, err);
  json_object_put(index);
  return rc;
}

void img_touch_used(const kube_image_store_t *s, const char *md) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/used/%s", s->state, img_digest_hex(md));
  cleanup_free char *p = kube_strbuf_steal(&sb);
  if (!p)
    return;
  int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    futimens(fd, NULL);
    close(fd);
  }
}

static time_t last_used(const kube_image_store_t *s, const char *md) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/used/%s", s->state, img_digest_hex(md));
  cleanup_free char *p = kube_strbuf_steal(&sb);
  struct stat st;
  return p && stat(p, &st) == 0 ? st.st_mtime : 0;
}

/* True when a lease names manifest md. */
static bool leased(const kube_image_store_t *s, const char *md) {
  cleanup_free char *dir = img_state_path(s, "leases");
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d)
    return false;
  bool found = false;
  struct dirent *de;
  while (!found && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
      continue;
    buf[n] = '\0';
    json_object *o = json_tokener_parse(buf);
    const char *m = img_json_str(o, "manifest");
    found = m && streq(m, md);
    json_object_put(o);
  }
  closedir(d);
  return found;
}

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int img_info_fill(const kube_image_store_t *s, const img_image_t *im,
                  json_object *index, kube_image_info_t *out,
                  kube_error_t *err) {
  memset(out, 0, sizeof *out);
  out->id = strdup(im->m.config.digest);
  out->manifest_digest = strdup(im->manifest_digest);
  out->size = im->m.config.size;
  for (size_t i = 0; i < im->m.n_layers; i++)
    out->size += im->m.layers[i].size;
  out->diff_ids = calloc(im->m.n_layers + 1, sizeof(char *));
  if (!out->id || !out->manifest_digest || !out->diff_ids)
    goto oom;
  for (size_t i = 0; i < im->m.n_layers; i++)
    if (!(out->diff_ids[i] = strdup(im->diff_ids[i])))
      goto oom;
  out->n_layers = im->m.n_layers;
  const char *created = img_json_str(im->config, "created");
  struct timespec ts;
  if (created && kube_time_parse(created, &ts, NULL) == 0)
    out->created = ts.tv_sec;
  out->last_used = last_used(s, im->manifest_digest);
  out->in_use = leased(s, im->manifest_digest);
  if (img_config_from_json(im->config, &out->config, err) < 0)
    goto fail;
  json_object *arr = index ? img_index_manifests(index) : NULL;
  size_t n = arr ? json_object_array_length(arr) : 0;
  out->names = calloc(n + 1, sizeof(char *));
  if (!out->names)
    goto oom;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *name = entry_name(e);
    const char *d = img_json_str(e, "digest");
    if (!name || !d)
      continue;
    bool mine = streq(d, im->manifest_digest);
    if (!mine && img_is_index(img_json_str(e, "mediaType"), NULL, 0)) {
      cleanup_free char *md = entry_manifest(s, e, NULL);
      mine = md && streq(md, im->manifest_digest);
    }
    if (!mine)
      continue;
    if (!(out->names[out->n_names++] = strdup(name)))
      goto oom;
    json_object *ann = NULL;
    json_object_object_get_ex(e, "annotations", &ann);
    const char *rd = img_json_str(ann, IMG_ANN_REPO_DIGEST);
    if (rd && !out->repo_digest) {
      kube_image_ref_t r;
      if (kube_image_ref_parse(name, &r, NULL) == 0) {
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        kube_strbuf_printf(&sb, "%s/%s@%s", r.domain, r.path, rd);
        out->repo_digest = kube_strbuf_steal(&sb);
        kube_image_ref_clear(&r);
      }
    }
  }
  qsort(out->names, out->n_names, sizeof(char *), cmp_strp);
  return 0;
oom:
  kube_make_oom(err);
fail:
  kube_image_info_clear(out);
  return -1;
}

KUBE_EXPORT void kube_image_info_clear(kube_image_info_t *info) {
  if (!info)
    return;
  free(info->id);
  free(info->manifest_digest);
  free(info->repo_digest);
  img_strv_free(info->names);
  img_strv_free(info->diff_ids);
  kube_image_config_clear(&info->config);
  memset(info, 0, sizeof *info);
}

KUBE_EXPORT void kube_image_info_free_array(kube_image_info_t *infos,
                                            size_t n) {
  for (size_t i = 0; infos && i < n; i++)
    kube_image_info_clear(&infos[i]);
  free(infos);
}

KUBE_EXPORT int kube_image_list(kube_image_store_t *s, kube_image_info_t **out,
                                size_t *n_out, kube_error_t *err) {
  *out = NULL;
  *n_out = 0;
  json_object *index = img_index_load(s, err);
  if (!index)
    return -1;
  json_object *arr = img_index_manifests(index);
  size_t n = json_object_array_length(arr);
  kube_image_info_t *v = calloc(n + 1, sizeof *v);
  size_t k = 0;
  int rc = 0;
  if (!v) {
    json_object_put(index);
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    if (!entry_name(e))
      continue;
    cleanup_free char *md = entry_manifest(s, e, NULL);
    if (!md)
      continue;
    bool dup = false;
    for (size_t j = 0; j < k && !dup; j++)
      dup = streq(v[j].manifest_digest, md);
    if (dup)
      continue;
    img_image_t im;
    kube_error_t e2 = KUBE_ERROR_INIT;
    if (img_image_load(s, md, &im, &e2) < 0) {
      /* A broken entry is listed by nobody but must not hide the rest. */
      kube_log(KUBE_LOG_WARNING, "image store: %s: %s", entry_name(e),
               e2.message);
      kube_error_clear(&e2);
      continue;
    }
    rc = img_info_fill(s, &im, index, &v[k], err);
    img_image_clear(&im);
    if (rc < 0)
      break;
    k++;
  }
  json_object_put(index);
  if (rc < 0) {
    kube_image_info_free_array(v, k);
    return -1;
  }
  *out = v;
  *n_out = k;
  return 0;
}

KUBE_EXPORT int kube_image_inspect(kube_image_store_t *s, const char *ref,
                                   kube_image_info_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  json_object *index = img_index_load(s, err);
  if (!index)
    return -1;
  cleanup_free char *md = NULL;
  int rc = resolve_in(s, index, ref, &md, NULL, err);
  if (rc == 0) {
    img_image_t im;
    rc = img_image_load(s, md, &im, err);
    if (rc == 0) {
      rc = img_info_fill(s, &im, index, out, err);
      img_image_clear(&im);
    }
  }
  json_object_put(index);
  return rc;
}

static char *resolve_blob(kube_image_store_t *s, const char *ref, bool config,
                          kube_error_t *err) {
  cleanup_free char *md = NULL;
  if (img_resolve(s, ref, &md, NULL, err) < 0)
    return NULL;
  if (!config)
    return img_blob_read(s, md, IMG_MAX_MANIFEST, NULL, err);
  cleanup_free char *cd = manifest_config(s, md);
  if (!cd) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "manifest %s unreadable", md);
    return NULL;
  }
  return img_blob_read(s, cd, IMG_MAX_CONFIG, NULL, err);
}

KUBE_EXPORT char *kube_image_config_json(kube_image_store_t *s, const char *ref,
                                         kube_error_t *err) {
  return resolve_blob(s, ref, true, err);
}

KUBE_EXPORT char *kube_image_manifest_json(kube_image_store_t *s,
                                           const char *ref, kube_error_t *err) {
  return resolve_blob(s, ref, false, err);
}

KUBE_EXPORT int kube_image_tag(kube_image_store_t *s, const char *src,
                               const char *dst, kube_error_t *err) {
  cleanup_free char *name = kube_image_ref_normalize(dst, err);
  if (!name)
    return -1;
  if (strchr(name, '@'))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "refusing to create a tag with a digest reference");
  cleanup_free char *md = NULL;
  if (img_resolve(s, src, &md, NULL, err) < 0)
    return -1;
  return img_name_manifest(s, name, md, NULL, err);
}

struct rm_args {
  const kube_image_store_t *s;
  const char *ref;
  bool force;
  size_t removed;
};

static int rm_edit(json_object *index, void *arg, kube_error_t *err) {
  struct rm_args *a = arg;
  cleanup_free char *md = NULL, *name = NULL;
  if (resolve_in(a->s, index, a->ref, &md, &name, err) < 0)
    return -1;
  json_object *arr = img_index_manifests(index);
  size_t names_of_image = 0;
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    const char *d = img_json_str(json_object_array_get_idx(arr, i), "digest");
    if (d && streq(d, md))
      names_of_image++;
  }
  bool all = !name; /* by ID or digest: every name of the image */
  if ((all || names_of_image <= 1) && !a->force && leased(a->s, md))
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "image %s is in use by a container", a->ref);
  for (size_t i = json_object_array_length(arr); i-- > 0;) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *d = img_json_str(e, "digest");
    const char *n = entry_name(e);
    if (!d || !streq(d, md))
      continue;
    if (all || (n && streq(n, name))) {
      json_object_array_del_idx(arr, i, 1);
      a->removed++;
    }
  }
  if (!a->removed)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "image %s not found",
                          a->ref);
  return 0;
}

KUBE_EXPORT int kube_image_remove(kube_image_store_t *s, const char *ref,
                                  bool force, kube_error_t *err) {
  struct rm_args a = {s, ref, force, 0};
  return img_index_edit(s, rm_edit, &a, err);
}

int img_name_manifest(const kube_image_store_t *s, const char *name,
                      const char *md, const char *repo_digest,
                      kube_error_t *err) {
  size_t len = 0;
  cleanup_free char *j = img_blob_read(s, md, IMG_MAX_MANIFEST, &len, err);
  if (!j)
    return -1;
  img_manifest_t m;
  if (img_manifest_parse(j, len, &m, err) < 0)
    return -1;
  int rc =
      img_store_name(s, name, md, m.media_type, (int64_t)len, repo_digest, err);
  img_manifest_clear(&m);
  return rc;
}

int img_write_image(const kube_image_store_t *s, const char *config_json,
                    const img_desc_t *layers, size_t n_layers,
                    char **manifest_out, int64_t *manifest_size,
                    kube_error_t *err) {
  cleanup_free char *cd = NULL;
  size_t clen = strlen(config_json);
  if (img_blob_put(s, config_json, clen, NULL, &cd, err) < 0)
    return -1;
  json_object *m = json_object_new_object();
  json_object_object_add(m, "schemaVersion", json_object_new_int(2));
  json_object_object_add(m, "mediaType",
                         json_object_new_string(IMG_MT_OCI_MANIFEST));
  img_desc_t cdesc = {.media_type = (char *)IMG_MT_OCI_CONFIG,
                      .digest = cd,
                      .size = (int64_t)clen};
  json_object_object_add(m, "config", img_desc_to_json(&cdesc));
  json_object *arr = json_object_new_array();
  for (size_t i = 0; i < n_layers; i++)
    json_object_array_add(arr, img_desc_to_json(&layers[i]));
  json_object_object_add(m, "layers", arr);
  const char *text = json_object_to_json_string_ext(
      m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  size_t mlen = strlen(text);
  int rc = img_blob_put(s, text, mlen, NULL, manifest_out, err);
  json_object_put(m);
  if (rc == 0 && manifest_size)
    *manifest_size = (int64_t)mlen;
  return rc;
}
