/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's view of the content store (see regserver.h for the
 * mapping of repositories to stored names).  Every function blocks: the
 * registry calls them from worker threads.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/regserver.h"

void img_rs_entries_free(img_rs_entry_t *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].name);
    free(v[i].tag);
    free(v[i].digest);
    free(v[i].media_type);
  }
  free(v);
}

/* The repository and tag an index entry is served as; false when it is
 * served by no repository.  *repo_out, *tag_out owned (tag NULL when
 * untagged). */
static bool entry_repo(json_object *e, char **repo_out, char **tag_out) {
  json_object *ann = NULL;
  *repo_out = *tag_out = NULL;
  if (!json_object_object_get_ex(e, "annotations", &ann))
    return false;
  const char *name = img_json_str(ann, IMG_REF_NAME);
  if (!name) {
    const char *r = img_json_str(ann, IMG_ANN_REGISTRY_REPO);
    return r && (*repo_out = strdup(r)) != NULL;
  }
  kube_image_ref_t ref;
  if (kube_image_ref_parse(name, &ref, NULL) < 0)
    return false;
  bool ok = ref.tag != NULL;
  if (ok) {
    *repo_out = steal_pointer(&ref.path);
    *tag_out = steal_pointer(&ref.tag);
  }
  kube_image_ref_clear(&ref);
  return ok;
}

/* Whether stored repository `have` answers to the requested `repo`:
 * the same path, or docker.io's "library/x" for "x". */
static bool repo_matches(json_object *e, const char *have, const char *repo) {
  if (streq(have, repo))
    return true;
  json_object *ann = NULL;
  json_object_object_get_ex(e, "annotations", &ann);
  const char *name = img_json_str(ann, IMG_REF_NAME);
  return name && str_has_prefix(name, "docker.io/library/") &&
         !strchr(repo, '/') && streq(have + 8, repo) &&
         str_has_prefix(have, "library/");
}

static int cmp_entry(const void *a, const void *b) {
  const img_rs_entry_t *x = a, *y = b;
  if (!x->tag || !y->tag)
    return x->tag ? -1 : y->tag ? 1 : 0;
  return strcmp(x->tag, y->tag);
}

static int entries_of(json_object *index, const char *repo,
                      img_rs_entry_t **out, size_t *n) {
  json_object *arr = img_index_manifests(index);
  size_t len = json_object_array_length(arr);
  img_rs_entry_t *v = calloc(len + 1, sizeof *v);
  if (!v)
    return -1;
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    char *have = NULL, *tag = NULL;
    const char *d = img_json_str(e, "digest");
    if (!d || !img_digest_valid(d) || !entry_repo(e, &have, &tag) ||
        !repo_matches(e, have, repo)) {
      free(have);
      free(tag);
      continue;
    }
    free(have);
    json_object *ann = NULL, *sz = NULL;
    json_object_object_get_ex(e, "annotations", &ann);
    const char *name = img_json_str(ann, IMG_REF_NAME);
    const char *mt = img_json_str(e, "mediaType");
    json_object_object_get_ex(e, "size", &sz);
    v[k] = (img_rs_entry_t){.name = name ? strdup(name) : NULL,
                            .tag = tag,
                            .digest = strdup(d),
                            .media_type = strdup(mt ? mt : IMG_MT_OCI_MANIFEST),
                            .size = sz ? json_object_get_int64(sz) : 0};
    k++;
  }
  qsort(v, k, sizeof *v, cmp_entry);
  *out = v;
  *n = k;
  return 0;
}

int img_rs_repo_entries(const kube_image_store_t *s, const char *repo,
                        img_rs_entry_t **out, size_t *n, kube_error_t *err) {
  json_object *index = img_index_load(s, err);
  if (!index)
    return -1;
  int rc = entries_of(index, repo, out, n);
  json_object_put(index);
  return rc < 0 ? kube_make_oom(err) : 0;
}

/* ---- links ---- */

/* images.d/registry/links/<32 hex of sha256(repo)> (owned). */
static char *link_dir(const kube_image_store_t *s, const char *repo) {
  cleanup_free char *h = img_digest_of(repo, strlen(repo));
  if (!h)
    return NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/registry/links/%.32s", s->state,
                     img_digest_hex(h));
  return kube_strbuf_steal(&sb);
}

static bool link_exists(const kube_image_store_t *s, const char *repo,
                        const char *digest) {
  cleanup_free char *dir = link_dir(s, repo);
  if (!dir)
    return false;
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, img_digest_hex(digest));
  return access(p, F_OK) == 0;
}

int img_rs_blob_link(const kube_image_store_t *s, const char *repo,
                     const char *digest, kube_error_t *err) {
  cleanup_free char *dir = link_dir(s, repo);
  if (!dir || img_mkdir_p(dir, 0700) < 0)
    return kube_make_error(err, dir ? errno : ENOMEM, "registry links: %s",
                           strerror(dir ? errno : ENOMEM));
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/.name", dir);
  if (access(p, F_OK) < 0) {
    FILE *f = fopen(p, "we");
    if (f) {
      fputs(repo, f);
      fclose(f);
    }
  }
  snprintf(p, sizeof p, "%s/%s", dir, img_digest_hex(digest));
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return kube_make_error(err, errno, "link %s: %s", p, strerror(errno));
  close(fd); /* O_TRUNC refreshed the mtime: a prune root for a day */
  return 0;
}

void img_rs_link_roots(const kube_image_store_t *s,
                       void (*mark)(void *arg, const char *digest), void *arg) {
  cleanup_free char *top = img_state_path(s, "registry/links");
  DIR *d = top ? opendir(top) : NULL;
  struct dirent *de;
  time_t now = time(NULL);
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
    if (!sub) {
      if (fd >= 0)
        close(fd);
      continue;
    }
    struct dirent *le;
    while ((le = readdir(sub))) {
      struct stat st;
      if (le->d_name[0] == '.' || strlen(le->d_name) != 64 ||
          fstatat(dirfd(sub), le->d_name, &st, 0) < 0 ||
          now - st.st_mtime > 86400)
        continue;
      char dg[72];
      snprintf(dg, sizeof dg, "sha256:%s", le->d_name);
      mark(arg, dg);
    }
    closedir(sub);
  }
  if (d)
    closedir(d);
}

/* ---- manifests of a repository ---- */

/* Whether manifest md (an image manifest, or an index and its children)
 * references `digest`. */
static bool manifest_refs(const kube_image_store_t *s, const char *md,
                          const char *digest, int depth) {
  if (streq(md, digest))
    return true;
  size_t len = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *j = img_blob_read(s, md, IMG_MAX_MANIFEST, &len, &err);
  kube_error_clear(&err);
  if (!j)
    return false;
  img_rs_manifest_info_t mi;
  char msg[160];
  if (img_rs_manifest_check(j, len, NULL, &mi, msg, sizeof msg) != RS_OK)
    return false;
  bool found = false;
  for (size_t i = 0; i < mi.n_refs && !found; i++)
    found = mi.is_index && depth < 2
                ? manifest_refs(s, mi.refs[i], digest, depth + 1)
                : streq(mi.refs[i], digest);
  img_rs_manifest_info_clear(&mi);
  return found;
}

bool img_rs_blob_visible(const kube_image_store_t *s, const char *repo,
                         const char *digest, int64_t *size) {
  if (!img_blob_exists(s, digest, size))
    return false;
  if (link_exists(s, repo, digest))
    return true;
  img_rs_entry_t *v = NULL;
  size_t n = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_rs_repo_entries(s, repo, &v, &n, &err) < 0) {
    kube_error_clear(&err);
    return false;
  }
  bool found = false;
  for (size_t i = 0; i < n && !found; i++)
    found = manifest_refs(s, v[i].digest, digest, 0);
  img_rs_entries_free(v, n);
  return found;
}

int img_rs_blob_unlink(const kube_image_store_t *s, const char *repo,
                       const char *digest, kube_error_t *err) {
  cleanup_free char *dir = link_dir(s, repo);
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir ? dir : "", img_digest_hex(digest));
  if (!dir || unlink(p) < 0)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "blob %s unknown",
                          digest);
  return 0;
}

/* A child manifest of an index of the repository: its media type. */
static char *child_manifest(const kube_image_store_t *s, const char *index_md,
                            const char *digest) {
  size_t len = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *j =
      img_blob_read(s, index_md, IMG_MAX_MANIFEST, &len, &err);
  kube_error_clear(&err);
  json_object *o = j ? json_tokener_parse(j) : NULL, *mans = NULL;
  char *mt = NULL;
  if (o && json_object_object_get_ex(o, "manifests", &mans) &&
      json_object_is_type(mans, json_type_array))
    for (size_t i = 0; i < json_object_array_length(mans) && !mt; i++) {
      json_object *d = json_object_array_get_idx(mans, i);
      const char *dd = img_json_str(d, "digest");
      if (dd && streq(dd, digest)) {
        const char *m = img_json_str(d, "mediaType");
        mt = strdup(m ? m : IMG_MT_OCI_MANIFEST);
      }
    }
  json_object_put(o);
  return mt;
}

int img_rs_manifest_find(const kube_image_store_t *s, const char *repo,
                         const char *ref, bool is_digest, char **digest_out,
                         char **media_type_out, kube_error_t *err) {
  img_rs_entry_t *v = NULL;
  size_t n = 0;
  if (img_rs_repo_entries(s, repo, &v, &n, err) < 0)
    return -1;
  int rc = -1;
  for (size_t i = 0; i < n && rc < 0; i++) {
    if (is_digest ? streq(v[i].digest, ref)
                  : v[i].tag && streq(v[i].tag, ref)) {
      *digest_out = strdup(v[i].digest);
      *media_type_out = strdup(v[i].media_type);
      rc = 0;
    }
  }
  /* the platform manifests of a stored index */
  for (size_t i = 0; i < n && rc < 0 && is_digest; i++) {
    if (!img_is_index(v[i].media_type, NULL, 0))
      continue;
    char *mt = child_manifest(s, v[i].digest, ref);
    if (mt && img_blob_exists(s, ref, NULL)) {
      *digest_out = strdup(ref);
      *media_type_out = mt;
      rc = 0;
    } else {
      free(mt);
    }
  }
  img_rs_entries_free(v, n);
  if (rc < 0)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "manifest %s unknown",
                          ref);
  if (!*digest_out || !*media_type_out)
    return kube_make_oom(err);
  if (!img_blob_exists(s, *digest_out, NULL)) {
    free(*digest_out);
    free(*media_type_out);
    *digest_out = *media_type_out = NULL;
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "manifest %s unknown",
                          ref);
  }
  return 0;
}

/* ---- writing and deleting manifests ---- */

struct put_args {
  const char *repo, *tag, *digest, *media_type;
  int64_t size;
};

static int put_edit(json_object *index, void *arg, kube_error_t *err) {
  struct put_args *a = arg;
  img_rs_entry_t *v = NULL;
  size_t n = 0;
  if (entries_of(index, a->repo, &v, &n) < 0)
    return kube_make_oom(err);
  json_object *arr = img_index_manifests(index);
  int rc = 0;
  if (a->tag) {
    /* The name this tag already has (whatever its registry), else
     * docker.io's. */
    cleanup_free char *name = NULL;
    for (size_t i = 0; i < n && !name; i++)
      if (v[i].tag && streq(v[i].tag, a->tag))
        name = strdup(v[i].name);
    if (!name) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&sb, "docker.io/%s%s:%s",
                         strchr(a->repo, '/') ? "" : "library/", a->repo,
                         a->tag);
      cleanup_free char *raw = kube_strbuf_steal(&sb);
      name = raw ? kube_image_ref_normalize(raw, err) : NULL;
      if (!name) {
        img_rs_entries_free(v, n);
        return raw ? kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                                    "invalid repository name or tag")
                   : kube_make_oom(err);
      }
    }
    kube_strbuf_t rd = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&rd, "%.*s@%s", (int)(strrchr(name, ':') - name), name,
                       a->digest);
    cleanup_free char *repo_digest = kube_strbuf_steal(&rd);
    rc = img_index_set(index, name, a->digest, a->media_type, a->size,
                       repo_digest);
    /* an untagged entry of the same manifest is now redundant */
    for (size_t i = json_object_array_length(arr); rc == 0 && i-- > 0;) {
      json_object *e = json_object_array_get_idx(arr, i), *ann = NULL;
      const char *d = img_json_str(e, "digest");
      json_object_object_get_ex(e, "annotations", &ann);
      const char *r = img_json_str(ann, IMG_ANN_REGISTRY_REPO);
      if (d && r && streq(d, a->digest) && streq(r, a->repo) &&
          !img_json_str(ann, IMG_REF_NAME))
        json_object_array_del_idx(arr, i, 1);
    }
  } else {
    bool have = false;
    for (size_t i = 0; i < n && !have; i++)
      have = streq(v[i].digest, a->digest);
    if (!have) {
      json_object *e = json_object_new_object(),
                  *ann = json_object_new_object();
      json_object_object_add(e, "mediaType",
                             json_object_new_string(a->media_type));
      json_object_object_add(e, "digest", json_object_new_string(a->digest));
      json_object_object_add(e, "size", json_object_new_int64(a->size));
      json_object_object_add(ann, IMG_ANN_REGISTRY_REPO,
                             json_object_new_string(a->repo));
      json_object_object_add(e, "annotations", ann);
      json_object_array_add(arr, e);
    }
  }
  img_rs_entries_free(v, n);
  return rc;
}

int img_rs_manifest_put(const kube_image_store_t *s, const char *repo,
                        const char *ref, bool is_digest, const char *body,
                        size_t len, const img_rs_manifest_info_t *mi,
                        char **digest_out, kube_error_t *err) {
  cleanup_free char *d = img_digest_of(body, len);
  if (!d)
    return kube_make_oom(err);
  if (is_digest && !streq(d, ref))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "digest mismatch: the manifest hashes to %s", d);
  for (size_t i = 0; i < mi->n_refs; i++) {
    bool ok = img_rs_blob_visible(s, repo, mi->refs[i], NULL);
    if (!ok && mi->is_index) {
      char *md = NULL, *mt = NULL;
      kube_error_t e2 = KUBE_ERROR_INIT;
      ok = img_rs_manifest_find(s, repo, mi->refs[i], true, &md, &mt, &e2) == 0;
      kube_error_clear(&e2);
      free(md);
      free(mt);
    }
    if (!ok)
      return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "%s %s unknown",
                            mi->is_index ? "manifest" : "blob", mi->refs[i]);
  }
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0)
    return -1;
  struct put_args a = {repo, is_digest ? NULL : ref, d, mi->media_type,
                       (int64_t)len};
  int rc = img_blob_put(s, body, len, d, NULL, err);
  if (rc == 0)
    rc = img_index_edit(s, put_edit, &a, err);
  img_unlock(gc);
  if (rc == 0 && digest_out)
    *digest_out = steal_pointer(&d);
  return rc;
}

struct del_args {
  const char *repo, *ref;
  bool is_digest;
  size_t removed;
};

/* Whether an entry other than `skip` of repo has digest d. */
static bool digest_elsewhere(json_object *arr, size_t skip, const char *repo,
                             const char *d) {
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *dd = img_json_str(e, "digest");
    char *have = NULL, *tag = NULL;
    bool same = i != skip && dd && streq(dd, d) && entry_repo(e, &have, &tag) &&
                repo_matches(e, have, repo);
    free(have);
    free(tag);
    if (same)
      return true;
  }
  return false;
}

static int del_edit(json_object *index, void *arg, kube_error_t *err) {
  struct del_args *a = arg;
  json_object *arr = img_index_manifests(index);
  for (size_t i = json_object_array_length(arr); i-- > 0;) {
    json_object *e = json_object_array_get_idx(arr, i);
    char *have = NULL, *tag = NULL;
    const char *d = img_json_str(e, "digest");
    bool hit = d && entry_repo(e, &have, &tag) &&
               repo_matches(e, have, a->repo) &&
               (a->is_digest ? streq(d, a->ref) : tag && streq(tag, a->ref));
    free(tag);
    if (hit) {
      a->removed++;
      if (!a->is_digest && !digest_elsewhere(arr, i, a->repo, d)) {
        /* Untagging keeps the manifest, by digest, as registries do. */
        json_object *ann = json_object_new_object();
        json_object_object_add(ann, IMG_ANN_REGISTRY_REPO,
                               json_object_new_string(have));
        json_object_object_add(e, "annotations", ann);
      } else {
        json_object_array_del_idx(arr, i, 1);
      }
    }
    free(have);
  }
  if (!a->removed)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "manifest %s unknown",
                          a->ref);
  return 0;
}

int img_rs_manifest_delete(const kube_image_store_t *s, const char *repo,
                           const char *ref, bool is_digest, kube_error_t *err) {
  struct del_args a = {repo, ref, is_digest, 0};
  return img_index_edit(s, del_edit, &a, err);
}

/* ---- catalog and referrers ---- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int strv_add(char ***v, size_t *n, size_t *cap, char *s) {
  if (!s)
    return -1;
  for (size_t i = 0; i < *n; i++)
    if (streq((*v)[i], s)) {
      free(s);
      return 0;
    }
  if (*n + 1 >= *cap) {
    size_t c = *cap ? *cap * 2 : 32;
    char **nv = realloc(*v, c * sizeof *nv);
    if (!nv) {
      free(s);
      return -1;
    }
    *v = nv;
    *cap = c;
  }
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
  return 0;
}

char **img_rs_catalog(const kube_image_store_t *s, kube_error_t *err) {
  json_object *index = img_index_load(s, err);
  if (!index)
    return NULL;
  char **v = calloc(1, sizeof *v);
  size_t n = 0, cap = 1;
  json_object *arr = img_index_manifests(index);
  for (size_t i = 0; v && i < json_object_array_length(arr); i++) {
    char *repo = NULL, *tag = NULL;
    if (entry_repo(json_object_array_get_idx(arr, i), &repo, &tag))
      strv_add(&v, &n, &cap, repo);
    free(tag);
  }
  json_object_put(index);
  cleanup_free char *top = img_state_path(s, "registry/links");
  DIR *d = top && v ? opendir(top) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s/.name", top, de->d_name);
    FILE *f = fopen(p, "re");
    char name[RS_MAX_NAME + 2] = "";
    if (!f)
      continue;
    if (fgets(name, sizeof name, f) && img_rs_name_valid(name))
      strv_add(&v, &n, &cap, strdup(name));
    fclose(f);
  }
  if (d)
    closedir(d);
  if (!v) {
    kube_make_oom(err);
    return NULL;
  }
  qsort(v, n, sizeof *v, cmp_str);
  return v;
}

char *img_rs_referrers(const kube_image_store_t *s, const char *repo,
                       const char *digest, const char *artifact_type,
                       kube_error_t *err) {
  img_rs_entry_t *v = NULL;
  size_t n = 0;
  if (img_rs_repo_entries(s, repo, &v, &n, err) < 0)
    return NULL;
  json_object *out = json_object_new_object(), *mans = json_object_new_array();
  json_object_object_add(out, "schemaVersion", json_object_new_int(2));
  json_object_object_add(out, "mediaType",
                         json_object_new_string(IMG_MT_OCI_INDEX));
  json_object_object_add(out, "manifests", mans);
  for (size_t i = 0; i < n; i++) {
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++)
      dup = streq(v[j].digest, v[i].digest);
    if (dup)
      continue;
    size_t len = 0;
    kube_error_t e2 = KUBE_ERROR_INIT;
    cleanup_free char *j =
        img_blob_read(s, v[i].digest, IMG_MAX_MANIFEST, &len, &e2);
    kube_error_clear(&e2);
    img_rs_manifest_info_t mi;
    char msg[160];
    if (!j ||
        img_rs_manifest_check(j, len, NULL, &mi, msg, sizeof msg) != RS_OK)
      continue;
    if (mi.subject && streq(mi.subject, digest) &&
        (!artifact_type ||
         (mi.artifact_type && streq(mi.artifact_type, artifact_type)))) {
      json_object *d = json_object_new_object();
      json_object_object_add(d, "mediaType",
                             json_object_new_string(mi.media_type));
      json_object_object_add(d, "digest", json_object_new_string(v[i].digest));
      json_object_object_add(d, "size", json_object_new_int64((int64_t)len));
      if (mi.artifact_type)
        json_object_object_add(d, "artifactType",
                               json_object_new_string(mi.artifact_type));
      if (mi.annotations)
        json_object_object_add(d, "annotations",
                               json_object_get(mi.annotations));
      json_object_array_add(mans, d);
    }
    img_rs_manifest_info_clear(&mi);
  }
  img_rs_entries_free(v, n);
  char *text = strdup(json_object_to_json_string_ext(
      out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(out);
  if (!text)
    kube_make_oom(err);
  return text;
}

/* ---- upload sessions ---- */

static char *upload_path(const kube_image_store_t *s, const char *uuid,
                         const char *suffix) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/uploads/%s%s", s->state, uuid, suffix);
  return kube_strbuf_steal(&sb);
}

int img_rs_upload_new(const kube_image_store_t *s, const char *repo,
                      char uuid[RS_UUID_LEN + 1], kube_error_t *err) {
  unsigned char rnd[RS_UUID_LEN / 2];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return kube_make_error(err, errno, "getrandom: %s", strerror(errno));
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf(uuid + 2 * i, 3, "%02x", rnd[i]);
  cleanup_free char *data = upload_path(s, uuid, "");
  cleanup_free char *meta = upload_path(s, uuid, ".repo");
  if (!data || !meta)
    return kube_make_oom(err);
  int fd = open(data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return kube_make_error(err, errno, "create upload: %s", strerror(errno));
  close(fd);
  FILE *f = fopen(meta, "we");
  if (!f || fputs(repo, f) < 0 || fclose(f) != 0) {
    int e = errno;
    unlink(data);
    unlink(meta);
    return kube_make_error(err, e, "create upload: %s", strerror(e));
  }
  return 0;
}

int img_rs_upload_open(const kube_image_store_t *s, const char *repo,
                       const char *uuid, int64_t *size, kube_error_t *err) {
  cleanup_free char *data = upload_path(s, uuid, "");
  cleanup_free char *meta = upload_path(s, uuid, ".repo");
  char owner[RS_MAX_NAME + 2] = "";
  FILE *f = meta ? fopen(meta, "re") : NULL;
  if (f) {
    if (!fgets(owner, sizeof owner, f))
      owner[0] = '\0';
    fclose(f);
  }
  if (!f || !streq(owner, repo))
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "upload %s unknown",
                          uuid);
  int fd = open(data, O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (fd >= 0)
      close(fd);
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "upload %s unknown",
                          uuid);
  }
  *size = st.st_size;
  return fd;
}

void img_rs_upload_remove(const kube_image_store_t *s, const char *uuid) {
  cleanup_free char *data = upload_path(s, uuid, "");
  cleanup_free char *meta = upload_path(s, uuid, ".repo");
  if (data)
    unlink(data);
  if (meta)
    unlink(meta);
}

int img_rs_upload_commit(const kube_image_store_t *s, const char *repo,
                         const char *uuid, const char *digest,
                         kube_error_t *err) {
  int64_t size = 0;
  int fd = img_rs_upload_open(s, repo, uuid, &size, err);
  if (fd < 0)
    return -1;
  img_hash_t h;
  if (img_hash_init(&h, err) < 0) {
    close(fd);
    return -1;
  }
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  int64_t off = 0;
  while (buf && off < size) {
    ssize_t n = pread(fd, buf, cap, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    img_hash_update(&h, buf, (size_t)n);
    off += n;
  }
  free(buf);
  char got[72];
  img_hash_final(&h, got);
  if (off != size || !streq(got, digest)) {
    close(fd);
    img_rs_upload_remove(s, uuid);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "digest mismatch: the upload hashes to %s", got);
  }
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0) {
    close(fd);
    return -1;
  }
  int rc = 0;
  if (!img_blob_exists(s, digest, NULL)) {
    cleanup_free char *data = upload_path(s, uuid, "");
    cleanup_free char *dst = img_blob_path(s, digest);
    /* durable before it is visible */
    if (fsync(fd) < 0 || fchmod(fd, 0644) < 0 || !data || !dst ||
        rename(data, dst) < 0)
      rc = kube_make_error(err, errno, "store blob %s: %s", digest,
                           strerror(errno));
  }
  close(fd);
  if (rc == 0)
    rc = img_rs_blob_link(s, repo, digest, err);
  img_unlock(gc);
  img_rs_upload_remove(s, uuid);
  return rc;
}

void img_rs_upload_expire(const kube_image_store_t *s, int64_t age_s) {
  cleanup_free char *dir = img_state_path(s, "uploads");
  DIR *d = dir ? opendir(dir) : NULL;
  struct dirent *de;
  time_t now = time(NULL);
  while (d && (de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
        now - st.st_mtime > age_s)
      unlinkat(dirfd(d), de->d_name, 0);
  }
  if (d)
    closedir(d);
}
