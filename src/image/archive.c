/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image archives: import of docker-archive (`docker save`, `podman save`),
 * oci-archive and plain rootfs tarballs (`docker import`); export to
 * oci-archive and docker-archive.  Archives are read in one pass: every
 * file goes straight into the blob store (the JSON files stay in memory),
 * then the manifests are assembled from what arrived.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "image/internal.h"

#define BLOCK (1 << 20)
#define MAX_JSON (16 << 20)

enum kind { K_ROOTFS, K_DOCKER, K_OCI };

struct file {
  char *name; /* cleaned path in the archive */
  char *json; /* *.json, index.json, oci-layout: the text */
  size_t len;
  char *digest; /* other files: the blob they became */
  int64_t size;
};

struct files {
  struct file *v;
  size_t n, cap;
};

static void files_clear(struct files *f) {
  for (size_t i = 0; i < f->n; i++) {
    free(f->v[i].name);
    free(f->v[i].json);
    free(f->v[i].digest);
  }
  free(f->v);
  memset(f, 0, sizeof *f);
}

static const struct file *files_get(const struct files *f, const char *name) {
  cleanup_free char *c = img_clean_path(name);
  for (size_t i = 0; c && i < f->n; i++)
    if (streq(f->v[i].name, c))
      return &f->v[i];
  return NULL;
}

static struct archive *open_tar(int fd, kube_error_t *err) {
  struct archive *a = archive_read_new();
  if (!a) {
    kube_make_oom(err);
    return NULL;
  }
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "not a tar archive: %s",
                   archive_error_string(a));
    archive_read_free(a);
    return NULL;
  }
  return a;
}

/* What kind of archive: a look at the names only. */
static int classify(int fd, enum kind *k, kube_error_t *err) {
  struct archive *a = open_tar(fd, err);
  if (!a)
    return -1;
  bool manifest = false, layout = false, index = false;
  struct archive_entry *e;
  int r;
  size_t n = 0;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    n++;
    cleanup_free char *c = img_clean_path(archive_entry_pathname(e));
    if (!c)
      continue;
    manifest = manifest || streq(c, "manifest.json");
    layout = layout || streq(c, "oci-layout");
    index = index || streq(c, "index.json");
  }
  bool ok = r == ARCHIVE_EOF;
  if (!ok)
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "not a tar archive: %s",
                   archive_error_string(a));
  archive_read_free(a);
  if (!ok)
    return -1;
  if (n == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the archive is empty");
  *k = manifest ? K_DOCKER : (layout && index) ? K_OCI : K_ROOTFS;
  return lseek(fd, 0, SEEK_SET) < 0 ? kube_make_error(err, errno, "seek") : 0;
}

static bool is_json_name(const char *n) {
  return str_has_suffix(n, ".json") || streq(n, "oci-layout") ||
         streq(n, "repositories");
}

/* Read every regular file: JSON into memory, the rest into blobs. */
static int read_files(const kube_image_store_t *s, int fd, struct files *out,
                      kube_image_progress_fn progress, void *ud,
                      kube_error_t *err) {
  struct archive *a = open_tar(fd, err);
  if (!a)
    return -1;
  char *buf = malloc(BLOCK);
  int rc = -1, r;
  struct archive_entry *e;
  if (!buf) {
    kube_make_oom(err);
    goto out;
  }
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
      continue;
    cleanup_free char *name = img_clean_path(archive_entry_pathname(e));
    if (!name) {
      kube_make_oom(err);
      goto out;
    }
    if (out->n == out->cap) {
      size_t cap = out->cap ? 2 * out->cap : 32;
      struct file *n = realloc(out->v, cap * sizeof *n);
      if (!n) {
        kube_make_oom(err);
        goto out;
      }
      out->v = n;
      out->cap = cap;
    }
    struct file *f = &out->v[out->n];
    memset(f, 0, sizeof *f);
    int64_t size = archive_entry_size(e);
    if (is_json_name(name) && size <= MAX_JSON) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, BLOCK)) > 0)
        kube_strbuf_append_len(&sb, buf, (size_t)n);
      if (n < 0 || sb.oom) {
        kube_strbuf_clear(&sb);
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s: %s", name,
                       archive_error_string(a));
        goto out;
      }
      if (!sb.data)
        kube_strbuf_append(&sb, "");
      f->len = sb.len;
      f->json = kube_strbuf_steal(&sb);
    } else {
      /* oci-archive blobs carry their digest in the name: verify it */
      const char *expect = NULL;
      char want[72];
      if (str_has_prefix(name, "blobs/sha256/") && strlen(name) == 13 + 64) {
        snprintf(want, sizeof want, "sha256:%s", name + 13);
        if (img_digest_valid(want))
          expect = want;
      }
      if (expect && img_blob_exists(s, expect, NULL)) {
        f->digest = strdup(expect);
        f->size = size;
      } else {
        if (progress) {
          kube_image_progress_t p = {KUBE_IMAGE_PROGRESS_LAYER, name, NULL, 0,
                                     size};
          progress(&p, ud);
        }
        img_blob_writer_t w;
        if (img_blob_writer_open(s, &w, err) < 0)
          goto out;
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, BLOCK)) > 0)
          if (img_blob_writer_write(&w, buf, (size_t)n, err) < 0) {
            img_blob_writer_abort(&w);
            goto out;
          }
        if (n < 0) {
          img_blob_writer_abort(&w);
          kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s: %s", name,
                         archive_error_string(a));
          goto out;
        }
        f->size = w.size;
        if (img_blob_writer_commit(&w, expect, &f->digest, err) < 0) {
          kube_error_wrap(err, "%s", name);
          goto out;
        }
      }
    }
    f->name = steal_pointer(&name);
    out->n++;
  }
  if (r != ARCHIVE_EOF) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "archive: %s",
                   archive_error_string(a));
    goto out;
  }
  rc = 0;
out:
  free(buf);
  archive_read_free(a);
  return rc;
}

/* A blob that is a compressed tar is stored again uncompressed: docker
 * archives index layers by diffID.  Returns the uncompressed layer. */
static int layer_of_blob(const kube_image_store_t *s, const char *digest,
                         int64_t size, img_desc_t *out, char **diff_id,
                         kube_error_t *err) {
  cleanup_free char *p = img_blob_path(s, digest);
  cleanup_close int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0)
    return kube_make_error(err, errno, "open %s", digest);
  unsigned char magic[4] = {0};
  ssize_t n = pread(fd, magic, sizeof magic, 0);
  bool gz = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  bool zst = n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 &&
             magic[2] == 0x2f && magic[3] == 0xfd;
  if (!gz && !zst) {
    memset(out, 0, sizeof *out);
    out->media_type = strdup(IMG_MT_OCI_LAYER);
    out->digest = strdup(digest);
    out->size = size;
    *diff_id = strdup(digest);
    return out->media_type && out->digest && *diff_id ? 0 : kube_make_oom(err);
  }
  return img_layer_store_tar(s, fd, out, diff_id, err);
}

static const char *lookup_env(void *ctx, const char *name) {
  json_object *env = NULL;
  if (!json_object_object_get_ex(ctx, "Env", &env))
    return NULL;
  size_t nl = strlen(name);
  for (size_t i = 0; i < json_object_array_length(env); i++) {
    const char *e = json_object_get_string(json_object_array_get_idx(env, i));
    if (e && strncmp(e, name, nl) == 0 && e[nl] == '=')
      return e + nl + 1;
  }
  return NULL;
}

/* Apply --change lines to a config text; the new text (owned). */
static char *apply_changes(const char *config_json,
                           const kube_image_import_options_t *o,
                           kube_error_t *err) {
  json_object *root = json_tokener_parse(config_json);
  if (!root) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "bad image config");
    return NULL;
  }
  json_object *cfg = NULL;
  if (!json_object_object_get_ex(root, "config", &cfg) ||
      !json_object_is_type(cfg, json_type_object)) {
    cfg = json_object_new_object();
    json_object_object_add(root, "config", cfg);
  }
  for (size_t i = 0; i < o->n_changes; i++) {
    img_df_instr_t in;
    if (img_dockerfile_parse_line(o->changes[i], '\\', &in, err) < 0 ||
        img_df_apply_config(cfg, &in, '\\', lookup_env, cfg, err) < 0) {
      img_df_instr_clear(&in);
      json_object_put(root);
      kube_error_wrap(err, "--change \"%s\"", o->changes[i]);
      return NULL;
    }
    img_df_instr_clear(&in);
  }
  char *r = strdup(json_object_to_json_string_ext(
      root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(root);
  if (!r)
    kube_make_oom(err);
  return r;
}

static const char *host_arch(void) {
  struct utsname u;
  if (uname(&u) == 0 && streq(u.machine, "aarch64"))
    return "arm64";
  return "amd64";
}

static int add_name(char ***names, size_t *n, const char *name) {
  char **v = realloc(*names, (*n + 2) * sizeof *v);
  if (!v)
    return -1;
  *names = v;
  v[*n] = strdup(name);
  v[*n + 1] = NULL;
  return v[(*n)++] ? 0 : -1;
}

/* Store config + layers as a new image and name it. */
static int finish_image(const kube_image_store_t *s, const char *config,
                        const img_desc_t *layers, size_t n_layers,
                        const kube_image_import_options_t *o, const char *name,
                        char ***names, size_t *n_names, kube_error_t *err) {
  cleanup_free char *changed = NULL;
  if (o && o->n_changes) {
    changed = apply_changes(config, o, err);
    if (!changed)
      return -1;
    config = changed;
  }
  cleanup_free char *md = NULL;
  cleanup_free char *norm = kube_image_ref_normalize(name, err);
  if (!norm)
    return -1;
  if (img_write_image(s, config, layers, n_layers, &md, NULL, err) < 0 ||
      img_name_manifest(s, norm, md, NULL, err) < 0)
    return -1;
  return add_name(names, n_names, norm) < 0 ? kube_make_oom(err) : 0;
}

static int import_rootfs(const kube_image_store_t *s, int fd,
                         const kube_image_import_options_t *o, char ***names,
                         size_t *n_names, kube_error_t *err) {
  if (!o || !o->ref)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "a plain rootfs tarball needs a name for the image");
  img_desc_t layer;
  cleanup_free char *diff = NULL;
  if (img_layer_store_tar(s, fd, &layer, &diff, err) < 0)
    return -1;
  char created[32];
  kube_time_format(time(NULL), created, sizeof created);
  json_object *root = json_object_new_object();
  json_object_object_add(root, "created", json_object_new_string(created));
  json_object_object_add(root, "architecture",
                         json_object_new_string(host_arch()));
  json_object_object_add(root, "os", json_object_new_string("linux"));
  json_object_object_add(root, "config", json_object_new_object());
  json_object *rootfs = json_object_new_object();
  json_object_object_add(rootfs, "type", json_object_new_string("layers"));
  json_object *ids = json_object_new_array();
  json_object_array_add(ids, json_object_new_string(diff));
  json_object_object_add(rootfs, "diff_ids", ids);
  json_object_object_add(root, "rootfs", rootfs);
  json_object *hist = json_object_new_array();
  json_object *h = json_object_new_object();
  json_object_object_add(h, "created", json_object_new_string(created));
  json_object_object_add(h, "created_by",
                         json_object_new_string("kube image import"));
  json_object_array_add(hist, h);
  json_object_object_add(root, "history", hist);
  cleanup_free char *cfg = strdup(json_object_to_json_string_ext(
      root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(root);
  int rc = cfg ? finish_image(s, cfg, &layer, 1, o, o->ref, names, n_names, err)
               : kube_make_oom(err);
  img_desc_clear(&layer);
  return rc;
}

static int import_docker(const kube_image_store_t *s, const struct files *fs,
                         const kube_image_import_options_t *o, char ***names,
                         size_t *n_names, kube_error_t *err) {
  const struct file *mf = files_get(fs, "manifest.json");
  json_object *arr = mf && mf->json ? json_tokener_parse(mf->json) : NULL;
  int rc = -1;
  if (!arr || !json_object_is_type(arr, json_type_array) ||
      json_object_array_length(arr) == 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "docker-archive: manifest.json is not a list of images");
    goto out;
  }
  size_t n_img = json_object_array_length(arr);
  if (o && o->ref && n_img > 1) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the archive holds %zu images: it cannot take one name",
                   n_img);
    goto out;
  }
  for (size_t i = 0; i < n_img; i++) {
    json_object *im = json_object_array_get_idx(arr, i);
    const char *cname = img_json_str(im, "Config");
    const struct file *cf = cname ? files_get(fs, cname) : NULL;
    cleanup_free char *cjson = NULL;
    if (cf && cf->json)
      cjson = strdup(cf->json);
    else if (cf && cf->digest)
      cjson = img_blob_read(s, cf->digest, IMG_MAX_CONFIG, NULL, err);
    if (!cjson) {
      if (!kube_error_is_set(err))
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "docker-archive: config %s missing",
                       cname ? cname : "(none)");
      goto out;
    }
    json_object *cfg = json_tokener_parse(cjson);
    json_object *rootfs = NULL, *ids = NULL, *layers = NULL;
    json_object_object_get_ex(cfg, "rootfs", &rootfs);
    json_object_object_get_ex(rootfs, "diff_ids", &ids);
    json_object_object_get_ex(im, "Layers", &layers);
    size_t nl = layers ? json_object_array_length(layers) : 0;
    size_t nd = ids ? json_object_array_length(ids) : 0;
    img_desc_t *descs = calloc(nl + 1, sizeof *descs);
    int r = descs ? 0 : kube_make_oom(err);
    if (r == 0 && nl != nd)
      r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                         "docker-archive: %zu layers but %zu diff_ids", nl, nd);
    for (size_t l = 0; r == 0 && l < nl; l++) {
      const char *ln =
          json_object_get_string(json_object_array_get_idx(layers, l));
      const struct file *lf = ln ? files_get(fs, ln) : NULL;
      cleanup_free char *diff = NULL;
      if (!lf || !lf->digest) {
        r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                           "docker-archive: layer %s missing", ln ? ln : "?");
        break;
      }
      r = layer_of_blob(s, lf->digest, lf->size, &descs[l], &diff, err);
      const char *want =
          json_object_get_string(json_object_array_get_idx(ids, l));
      if (r == 0 && (!want || !streq(want, diff)))
        r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                           "docker-archive: layer %s hashes to %s, the "
                           "config says %s",
                           ln, diff, want ? want : "?");
    }
    json_object_put(cfg);
    json_object *tags = NULL;
    json_object_object_get_ex(im, "RepoTags", &tags);
    size_t nt = tags ? json_object_array_length(tags) : 0;
    if (r == 0 && o && o->ref)
      r = finish_image(s, cjson, descs, nl, o, o->ref, names, n_names, err);
    else if (r == 0 && nt == 0)
      r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                         "docker-archive: image %zu has no RepoTags; give a "
                         "name",
                         i);
    for (size_t t = 0; r == 0 && !(o && o->ref) && t < nt; t++)
      r = finish_image(
          s, cjson, descs, nl, o,
          json_object_get_string(json_object_array_get_idx(tags, t)), names,
          n_names, err);
    for (size_t l = 0; descs && l < nl; l++)
      img_desc_clear(&descs[l]);
    free(descs);
    if (r < 0)
      goto out;
  }
  rc = 0;
out:
  json_object_put(arr);
  return rc;
}

/* A name from an OCI ref.name annotation: full references only. */
static bool full_ref(const char *n) {
  return n && (strchr(n, '/') || strchr(n, '@'));
}

static int import_oci(const kube_image_store_t *s, const struct files *fs,
                      const kube_image_import_options_t *o, char ***names,
                      size_t *n_names, kube_error_t *err) {
  const struct file *ix = files_get(fs, "index.json");
  json_object *root = ix && ix->json ? json_tokener_parse(ix->json) : NULL;
  json_object *mans = NULL;
  int rc = -1;
  if (!root || !json_object_object_get_ex(root, "manifests", &mans) ||
      !json_object_is_type(mans, json_type_array) ||
      json_object_array_length(mans) == 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "oci-archive: index.json lists no manifests");
    goto out;
  }
  size_t n = json_object_array_length(mans);
  if (o && o->ref && n > 1) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the archive holds %zu images: it cannot take one name", n);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *d = json_object_array_get_idx(mans, i);
    json_object *ann = NULL;
    json_object_object_get_ex(d, "annotations", &ann);
    const char *rn = img_json_str(ann, IMG_REF_NAME);
    const char *name = o && o->ref ? o->ref : full_ref(rn) ? rn : NULL;
    if (!name) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "oci-archive: image %zu is named \"%s\", not a full "
                     "reference; give a name",
                     i, rn ? rn : "");
      goto out;
    }
    img_desc_t desc;
    if (img_desc_from_json(d, &desc, err) < 0)
      goto out;
    cleanup_free char *md = NULL;
    if (img_is_index(desc.media_type, NULL, 0)) {
      size_t len = 0;
      cleanup_free char *j =
          img_blob_read(s, desc.digest, IMG_MAX_MANIFEST, &len, err);
      img_desc_t sel;
      if (!j || img_index_select(j, len, NULL, &sel, err) < 0) {
        img_desc_clear(&desc);
        goto out;
      }
      md = steal_pointer(&sel.digest);
      img_desc_clear(&sel);
    } else
      md = strdup(desc.digest);
    img_desc_clear(&desc);
    /* every blob of the image must have come with the archive */
    img_image_t im;
    if (img_image_load(s, md, &im, err) < 0)
      goto out;
    int r = 0;
    for (size_t l = 0; r == 0 && l < im.m.n_layers; l++)
      if (!img_blob_exists(s, im.m.layers[l].digest, NULL))
        r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                           "oci-archive: layer %s missing",
                           im.m.layers[l].digest);
    if (r == 0 && o && o->n_changes) {
      cleanup_free char *cj =
          img_blob_read(s, im.m.config.digest, IMG_MAX_CONFIG, NULL, err);
      r = cj ? finish_image(s, cj, im.m.layers, im.m.n_layers, o, name, names,
                            n_names, err)
             : -1;
    } else if (r == 0) {
      cleanup_free char *norm = kube_image_ref_normalize(name, err);
      r = norm ? img_name_manifest(s, norm, md, NULL, err) : -1;
      if (r == 0 && add_name(names, n_names, norm) < 0)
        r = kube_make_oom(err);
    }
    img_image_clear(&im);
    if (r < 0)
      goto out;
  }
  rc = 0;
out:
  json_object_put(root);
  return rc;
}

KUBE_EXPORT int kube_image_import(kube_image_store_t *s, const char *path,
                                  const kube_image_import_options_t *o,
                                  char ***names_out, size_t *n_names_out,
                                  kube_error_t *err) {
  if (names_out)
    *names_out = NULL;
  if (n_names_out)
    *n_names_out = 0;
  if (o && o->ref) {
    kube_image_ref_t r;
    if (kube_image_ref_parse(o->ref, &r, err) < 0)
      return -1;
    kube_image_ref_clear(&r);
  }
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kube_error_set(
        err, errno == ENOENT ? KUBE_REASON_NOT_FOUND : KUBE_REASON_BAD_REQUEST,
        errno, "%s: %s", path, strerror(errno));
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0)
    return -1;
  enum kind k = K_ROOTFS;
  char **names = NULL;
  size_t n = 0;
  struct files fs = {0};
  int rc = classify(fd, &k, err);
  if (rc == 0 && k == K_ROOTFS)
    rc = import_rootfs(s, fd, o, &names, &n, err);
  else if (rc == 0) {
    rc = read_files(s, fd, &fs, o ? o->progress : NULL, o ? o->userdata : NULL,
                    err);
    if (rc == 0)
      rc = k == K_DOCKER ? import_docker(s, &fs, o, &names, &n, err)
                         : import_oci(s, &fs, o, &names, &n, err);
  }
  files_clear(&fs);
  img_unlock(gc);
  if (rc < 0) {
    img_strv_free(names);
    return kube_error_wrap(err, "import %s", path);
  }
  if (names_out)
    *names_out = names;
  else
    img_strv_free(names);
  if (n_names_out)
    *n_names_out = n;
  return 0;
}

/* ---- export -------------------------------------------------------------- */

KUBE_EXPORT int kube_image_archive_format_parse(const char *s) {
  if (!s)
    return -1;
  if (streq(s, "oci-archive") || streq(s, "oci"))
    return KUBE_IMAGE_ARCHIVE_OCI;
  if (streq(s, "docker-archive") || streq(s, "docker"))
    return KUBE_IMAGE_ARCHIVE_DOCKER;
  return -1;
}

struct out {
  struct archive *a;
  struct archive_entry *e;
  char *buf;
  kube_error_t *err;
};

static int put_data(struct out *w, const char *name, const void *data,
                    size_t len) {
  archive_entry_clear(w->e);
  archive_entry_set_pathname(w->e, name);
  archive_entry_set_filetype(w->e, AE_IFREG);
  archive_entry_set_perm(w->e, 0644);
  archive_entry_set_size(w->e, (la_int64_t)len);
  archive_entry_set_mtime(w->e, 0, 0);
  if (archive_write_header(w->a, w->e) != ARCHIVE_OK ||
      (len && archive_write_data(w->a, data, len) != (la_ssize_t)len))
    return kube_make_error(w->err, 0, "write %s: %s", name,
                           archive_error_string(w->a));
  return 0;
}

static int put_dir(struct out *w, const char *name) {
  archive_entry_clear(w->e);
  archive_entry_set_pathname(w->e, name);
  archive_entry_set_filetype(w->e, AE_IFDIR);
  archive_entry_set_perm(w->e, 0755);
  archive_entry_set_mtime(w->e, 0, 0);
  if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
    return kube_make_error(w->err, 0, "write %s: %s", name,
                           archive_error_string(w->a));
  return 0;
}

static int put_fd(struct out *w, const char *name, int fd, int64_t size) {
  archive_entry_clear(w->e);
  archive_entry_set_pathname(w->e, name);
  archive_entry_set_filetype(w->e, AE_IFREG);
  archive_entry_set_perm(w->e, 0644);
  archive_entry_set_size(w->e, size);
  archive_entry_set_mtime(w->e, 0, 0);
  if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
    return kube_make_error(w->err, 0, "write %s: %s", name,
                           archive_error_string(w->a));
  int64_t left = size;
  while (left > 0) {
    ssize_t n = read(fd, w->buf, left < BLOCK ? (size_t)left : BLOCK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return kube_make_error(w->err, errno, "read for %s", name);
    if (archive_write_data(w->a, w->buf, (size_t)n) != n)
      return kube_make_error(w->err, 0, "write %s: %s", name,
                             archive_error_string(w->a));
    left -= n;
  }
  return 0;
}

static int put_blob(struct out *w, const kube_image_store_t *s,
                    const char *name, const char *digest) {
  cleanup_free char *p = img_blob_path(s, digest);
  cleanup_close int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return kube_error_set(w->err, KUBE_REASON_NOT_FOUND, errno,
                          "blob %s missing", digest);
  return put_fd(w, name, fd, st.st_size);
}

/* An uncompressed copy of a layer, as docker-archive wants. */
static int put_layer_tar(struct out *w, const kube_image_store_t *s,
                         const char *name, const img_desc_t *l,
                         const char *diff_id) {
  if (streq(l->media_type, IMG_MT_OCI_LAYER) ||
      streq(l->media_type, "application/vnd.docker.image.rootfs.diff.tar"))
    return put_blob(w, s, name, l->digest);
  cleanup_free char *p = img_blob_path(s, l->digest);
  cleanup_close int in = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  if (in < 0)
    return kube_error_set(w->err, KUBE_REASON_NOT_FOUND, errno,
                          "blob %s missing", l->digest);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/tmp/export-XXXXXX", s->state);
  cleanup_free char *tmp = kube_strbuf_steal(&sb);
  int out = tmp ? mkostemp(tmp, O_CLOEXEC) : -1;
  if (out < 0)
    return kube_make_error(w->err, errno, "temporary file");
  unlink(tmp);
  struct archive *a = archive_read_new();
  struct archive_entry *e;
  img_hash_t h;
  int rc = -1;
  int64_t total = 0;
  if (!a || img_hash_init(&h, w->err) < 0)
    goto done;
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  if (archive_read_open_fd(a, in, BLOCK) != ARCHIVE_OK ||
      archive_read_next_header(a, &e) != ARCHIVE_OK) {
    kube_make_error(w->err, 0, "layer %s: %s", l->digest,
                    archive_error_string(a));
    img_hash_clear(&h);
    goto done;
  }
  la_ssize_t n;
  while ((n = archive_read_data(a, w->buf, BLOCK)) > 0) {
    img_hash_update(&h, w->buf, (size_t)n);
    if (write(out, w->buf, (size_t)n) != n) {
      kube_make_error(w->err, errno, "temporary file");
      img_hash_clear(&h);
      goto done;
    }
    total += n;
  }
  char d[72];
  img_hash_final(&h, d);
  if (n < 0 || !streq(d, diff_id)) {
    kube_make_error(w->err, 0, "layer %s does not decompress to %s", l->digest,
                    diff_id);
    goto done;
  }
  lseek(out, 0, SEEK_SET);
  rc = put_fd(w, name, out, total);
done:
  if (a)
    archive_read_free(a);
  close(out);
  return rc;
}

struct exp_image {
  img_image_t im;
  char *name; /* normalized, or NULL when given by digest/ID */
};

static int export_oci(struct out *w, const kube_image_store_t *s,
                      struct exp_image *ims, size_t n) {
  const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
  if (put_data(w, "oci-layout", layout, strlen(layout)) < 0 ||
      put_dir(w, "blobs") < 0 || put_dir(w, "blobs/sha256") < 0)
    return -1;
  json_object *index = json_object_new_object();
  json_object_object_add(index, "schemaVersion", json_object_new_int(2));
  json_object_object_add(index, "mediaType",
                         json_object_new_string(IMG_MT_OCI_INDEX));
  json_object *mans = json_object_new_array();
  json_object_object_add(index, "manifests", mans);
  char **done = calloc(1, sizeof *done);
  size_t nd = 0;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    img_image_t *im = &ims[i].im;
    const char *ds[im->m.n_layers + 2];
    ds[0] = im->manifest_digest;
    ds[1] = im->m.config.digest;
    for (size_t l = 0; l < im->m.n_layers; l++)
      ds[l + 2] = im->m.layers[l].digest;
    for (size_t k = 0; rc == 0 && k < im->m.n_layers + 2; k++) {
      bool seen = false;
      for (size_t j = 0; j < nd && !seen; j++)
        seen = streq(done[j], ds[k]);
      if (seen)
        continue;
      char name[96];
      snprintf(name, sizeof name, "blobs/sha256/%s", img_digest_hex(ds[k]));
      rc = put_blob(w, s, name, ds[k]);
      char **nv = realloc(done, (nd + 2) * sizeof *nv);
      if (nv) {
        done = nv;
        done[nd++] = strdup(ds[k]);
      }
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "mediaType",
                           json_object_new_string(im->m.media_type));
    json_object_object_add(d, "digest",
                           json_object_new_string(im->manifest_digest));
    json_object_object_add(d, "size",
                           json_object_new_int64((int64_t)im->manifest_len));
    if (ims[i].name) {
      json_object *ann = json_object_new_object();
      json_object_object_add(ann, IMG_REF_NAME,
                             json_object_new_string(ims[i].name));
      json_object_object_add(d, "annotations", ann);
    }
    json_object_array_add(mans, d);
  }
  for (size_t j = 0; j < nd; j++)
    free(done[j]);
  free(done);
  if (rc == 0) {
    const char *t = json_object_to_json_string_ext(
        index, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rc = put_data(w, "index.json", t, strlen(t));
  }
  json_object_put(index);
  return rc;
}

static int export_docker(struct out *w, const kube_image_store_t *s,
                         struct exp_image *ims, size_t n) {
  json_object *manifest = json_object_new_array();
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    img_image_t *im = &ims[i].im;
    char cname[96];
    snprintf(cname, sizeof cname, "%s.json",
             img_digest_hex(im->m.config.digest));
    rc = put_blob(w, s, cname, im->m.config.digest);
    json_object *entry = json_object_new_object();
    json_object_object_add(entry, "Config", json_object_new_string(cname));
    json_object *tags = json_object_new_array();
    if (ims[i].name && !strchr(ims[i].name, '@')) {
      /* the full name: podman reads a short one as localhost/NAME */
      json_object_array_add(tags, json_object_new_string(ims[i].name));
    }
    json_object_object_add(entry, "RepoTags", tags);
    json_object *layers = json_object_new_array();
    for (size_t l = 0; rc == 0 && l < im->m.n_layers; l++) {
      char dir[80], lname[96];
      snprintf(dir, sizeof dir, "%s", img_digest_hex(im->diff_ids[l]));
      snprintf(lname, sizeof lname, "%s/layer.tar", dir);
      bool seen = false;
      for (size_t j = 0; j < i && !seen; j++)
        for (size_t k = 0; k < ims[j].im.m.n_layers && !seen; k++)
          seen = streq(ims[j].im.diff_ids[k], im->diff_ids[l]);
      for (size_t k = 0; k < l && !seen; k++)
        seen = streq(im->diff_ids[k], im->diff_ids[l]);
      if (!seen) {
        rc = put_dir(w, dir);
        if (rc == 0)
          rc = put_layer_tar(w, s, lname, &im->m.layers[l], im->diff_ids[l]);
      }
      json_object_array_add(layers, json_object_new_string(lname));
    }
    json_object_object_add(entry, "Layers", layers);
    json_object_array_add(manifest, entry);
  }
  if (rc == 0) {
    const char *t = json_object_to_json_string_ext(
        manifest, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    rc = put_data(w, "manifest.json", t, strlen(t));
  }
  json_object_put(manifest);
  return rc;
}

KUBE_EXPORT int kube_image_export(kube_image_store_t *s,
                                  const char *const *refs, size_t n,
                                  const char *path,
                                  kube_image_archive_format_t format,
                                  kube_error_t *err) {
  if (n == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "export: no image given");
  struct exp_image *ims = calloc(n, sizeof *ims);
  if (!ims)
    return kube_make_oom(err);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    cleanup_free char *md = NULL;
    rc = img_resolve(s, refs[i], &md, &ims[i].name, err);
    if (rc == 0)
      rc = img_image_load(s, md, &ims[i].im, err);
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s.tmp-XXXXXX", path);
  cleanup_free char *tmp = kube_strbuf_steal(&sb);
  int fd = -1;
  struct out w = {.err = err};
  if (rc == 0) {
    fd = tmp ? mkostemp(tmp, O_CLOEXEC) : -1;
    if (fd < 0)
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, errno, "%s: %s", path,
                          strerror(errno));
  }
  if (rc == 0) {
    w.a = archive_write_new();
    w.e = archive_entry_new();
    w.buf = malloc(BLOCK);
    if (!w.a || !w.e || !w.buf)
      rc = kube_make_oom(err);
  }
  if (rc == 0) {
    archive_write_set_format_pax_restricted(w.a);
    archive_write_set_bytes_in_last_block(w.a, 1);
    if (archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
      rc = kube_make_error(err, 0, "%s", archive_error_string(w.a));
  }
  if (rc == 0)
    rc = format == KUBE_IMAGE_ARCHIVE_DOCKER ? export_docker(&w, s, ims, n)
                                             : export_oci(&w, s, ims, n);
  if (rc == 0 && archive_write_close(w.a) != ARCHIVE_OK)
    rc = kube_make_error(err, 0, "%s", archive_error_string(w.a));
  if (w.a)
    archive_write_free(w.a);
  if (w.e)
    archive_entry_free(w.e);
  free(w.buf);
  if (fd >= 0) {
    if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
      rc = kube_make_error(err, errno, "%s: %s", path, strerror(errno));
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
      rc = kube_make_error(err, errno, "%s: %s", path, strerror(errno));
    if (rc < 0)
      unlink(tmp);
  }
  for (size_t i = 0; i < n; i++) {
    img_image_clear(&ims[i].im);
    free(ims[i].name);
  }
  free(ims);
  return rc < 0 ? kube_error_wrap(err, "export") : 0;
}
