/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod volumes.  The plan (on the loop) computes every file of the
 * configMap, secret, downwardAPI and projected volumes from the caches and
 * checks that their sources exist; the write (on a worker) creates the
 * directories, mounts tmpfs for secrets, projected volumes and memory
 * emptyDirs, checks hostPath types, and publishes each file volume with
 * the kubelet's AtomicWriter layout:
 *
 *   <volume>/..2026_01_02_03_04_05.123456789/<files>   one generation
 *   <volume>/..data -> ..2026_...                      swapped atomically
 *   <volume>/<key>  -> ..data/<key>                    what users see
 *
 * so a running container that reads <key> sees either the old or the new
 * content, never a mix.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "node/agent.h"

enum vtype { V_EMPTYDIR, V_HOSTPATH, V_FILES, V_UNSUPPORTED };

struct vfile {
  char *path; /* relative, may contain '/' */
  char *data;
  size_t len;
  int mode;
};

struct vol {
  char *name;
  enum vtype type;
  const char *plugin; /* directory under volumes/ */
  bool tmpfs;
  int64_t size_limit; /* tmpfs size, 0: none */
  char *host_path, *host_type;
  struct vfile *files;
  size_t n_files;
};

struct nd_volumes {
  struct vol *v;
  size_t n;
  int64_t fs_group; /* -1: none */
  char digest[17];
};

static void vol_clear(struct vol *v) {
  free(v->name);
  free(v->host_path);
  free(v->host_type);
  for (size_t i = 0; i < v->n_files; i++) {
    free(v->files[i].path);
    free(v->files[i].data);
  }
  free(v->files);
}

void nd_volumes_free(nd_volumes_t *vs) {
  if (!vs)
    return;
  for (size_t i = 0; i < vs->n; i++)
    vol_clear(&vs->v[i]);
  free(vs->v);
  free(vs);
}

const char *nd_volumes_digest(const nd_volumes_t *v) {
  return v->digest;
}

static int add_file(struct vol *v, const char *path, const char *data,
                    size_t len, int mode) {
  /* a later source of a projected volume replaces an earlier path */
  for (size_t i = 0; i < v->n_files; i++)
    if (streq(v->files[i].path, path)) {
      char *d = malloc(len + 1);
      if (!d)
        return -1;
      memcpy(d, data, len);
      d[len] = '\0';
      free(v->files[i].data);
      v->files[i].data = d;
      v->files[i].len = len;
      v->files[i].mode = mode;
      return 0;
    }
  struct vfile *f = realloc(v->files, (v->n_files + 1) * sizeof *f);
  if (!f)
    return -1;
  v->files = f;
  struct vfile *nf = &v->files[v->n_files];
  nf->path = strdup(path);
  nf->data = malloc(len + 1);
  if (!nf->path || !nf->data) {
    free(nf->path);
    free(nf->data);
    return -1;
  }
  memcpy(nf->data, data, len);
  nf->data[len] = '\0';
  nf->len = len;
  nf->mode = mode;
  v->n_files++;
  return 0;
}

static int mode_of(json_object *o, const char *key, int def) {
  json_object *m = o ? kube_json_get(o, key) : NULL;
  return m ? (json_object_get_int(m) & 07777) : def;
}

/* A relative path inside a volume: no "..", not absolute. */
static bool rel_path_ok(const char *p) {
  if (!p || !*p || p[0] == '/')
    return false;
  for (const char *s = p; *s;) {
    size_t n = strcspn(s, "/");
    if ((n == 2 && s[0] == '.' && s[1] == '.') || n == 0)
      return false;
    s += n;
    if (*s == '/')
      s++;
  }
  return !str_has_prefix(p, "..");
}

void nd_pod_ref(struct nd_pod *p, const char *kind, const char *name) {
  char ref[600];
  snprintf(ref, sizeof ref, "%s/%s", kind, name);
  for (size_t i = 0; i < p->n_refs; i++)
    if (streq(p->refs[i], ref))
      return;
  char **v = realloc(p->refs, (p->n_refs + 1) * sizeof *v);
  if (!v)
    return;
  p->refs = v;
  if ((v[p->n_refs] = strdup(ref)))
    p->n_refs++;
}

/* configMap or secret keys into the volume (items or every key). */
static int keys_into(kube_node_agent_t *a, struct nd_pod *p, struct vol *v,
                     json_object *src, bool secret, int def_mode,
                     const char *volname, kube_error_t *err) {
  const char *name = kube_json_get_string(src, secret ? "secretName" : "name");
  if (!name)
    name = kube_json_get_string(src, "name");
  if (!name)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "MountVolume.SetUp failed for volume \"%s\" : no "
                          "%s name",
                          volname, secret ? "secret" : "configmap");
  nd_pod_ref(p, secret ? "secret" : "configmap", name);
  const kube_object_t *obj = nd_source_get(a, secret, p->ns, name);
  bool optional = nd_spec_bool(src, "optional");
  if (!obj) {
    if (optional)
      return 0;
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "MountVolume.SetUp failed for volume \"%s\" : %s "
                          "\"%s\" not found",
                          volname, secret ? "secret" : "configmap", name);
  }
  json_object *root = kube_object_json(obj);
  json_object *data = kube_json_get(root, "data");
  json_object *bin = secret ? NULL : kube_json_get(root, "binaryData");
  json_object *items = kube_json_get(src, "items");
  struct {
    json_object *map;
    bool b64;
  } maps[2] = {{data, secret}, {bin, true}};
  if (items && json_object_array_length(items) > 0) {
    for (size_t i = 0; i < json_object_array_length(items); i++) {
      json_object *it = json_object_array_get_idx(items, i);
      const char *k = kube_json_get_string(it, "key");
      const char *path = kube_json_get_string(it, "path");
      json_object *val = NULL;
      bool b64 = false;
      for (int m = 0; m < 2 && !val; m++)
        if (maps[m].map &&
            json_object_object_get_ex(maps[m].map, k ?: "", &val))
          b64 = maps[m].b64;
      if (!val) {
        if (optional)
          continue;
        return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                              "MountVolume.SetUp failed for volume \"%s\" : "
                              "%s references non-existent %s key: %s",
                              volname, secret ? "secret" : "configmap",
                              secret ? "secret" : "config", k ? k : "");
      }
      if (!rel_path_ok(path))
        return kube_error_set(err, KUBE_REASON_INVALID, 0,
                              "MountVolume.SetUp failed for volume \"%s\" : "
                              "invalid path \"%s\"",
                              volname, path ? path : "");
      const char *s = json_object_get_string(val);
      size_t len = strlen(s);
      cleanup_free char *dec =
          b64 ? (char *)kube_base64_decode(s, len, &len, NULL) : NULL;
      if (add_file(v, path, b64 ? (dec ? dec : "") : s, b64 && !dec ? 0 : len,
                   mode_of(it, "mode", def_mode)) < 0)
        return kube_make_oom(err);
    }
    return 0;
  }
  for (int m = 0; m < 2; m++) {
    if (!maps[m].map || !json_object_is_type(maps[m].map, json_type_object))
      continue;
    json_object_object_foreach(maps[m].map, k, val) {
      if (!rel_path_ok(k) || strchr(k, '/'))
        continue;
      const char *s = json_object_get_string(val);
      size_t len = strlen(s);
      cleanup_free char *dec =
          maps[m].b64 ? (char *)kube_base64_decode(s, len, &len, NULL) : NULL;
      if (add_file(v, k, maps[m].b64 ? (dec ? dec : "") : s,
                   maps[m].b64 && !dec ? 0 : len, def_mode) < 0)
        return kube_make_oom(err);
    }
  }
  return 0;
}

/* Go's strconv.Quote for the label/annotation files. */
static void quote(kube_strbuf_t *sb, const char *s) {
  kube_strbuf_printf(sb, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      kube_strbuf_printf(sb, "\\%c", *s);
    else if (*s == '\n')
      kube_strbuf_printf(sb, "\\n");
    else if (*s == '\t')
      kube_strbuf_printf(sb, "\\t");
    else
      kube_strbuf_printf(sb, "%c", *s);
  }
  kube_strbuf_printf(sb, "\"");
}

static int by_key(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static char *format_map(json_object *map) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  size_t n = map && json_object_is_type(map, json_type_object)
                 ? (size_t)json_object_object_length(map)
                 : 0;
  const char **keys = calloc(n + 1, sizeof *keys);
  size_t k = 0;
  if (keys && n) {
    json_object_object_foreach(map, key, val) {
      (void)val;
      keys[k++] = key;
    }
    qsort(keys, k, sizeof *keys, by_key);
  }
  for (size_t i = 0; i < k; i++) {
    json_object *val = NULL;
    json_object_object_get_ex(map, keys[i], &val);
    kube_strbuf_printf(&sb, "%s%s=", i ? "\n" : "", keys[i]);
    quote(&sb, json_object_get_string(val));
  }
  free(keys);
  return kube_strbuf_steal(&sb);
}

static int downward_into(kube_node_agent_t *a, struct nd_pod *p,
                         const kube_object_t *pod, struct vol *v,
                         json_object *items, int def_mode, const char *volname,
                         kube_error_t *err) {
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    const char *path = kube_json_get_string(it, "path");
    if (!rel_path_ok(path))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "MountVolume.SetUp failed for volume \"%s\" : "
                            "invalid path \"%s\"",
                            volname, path ? path : "");
    json_object *fr = kube_json_get(it, "fieldRef");
    json_object *rr = kube_json_get(it, "resourceFieldRef");
    char *val = NULL;
    if (fr) {
      const char *fp = kube_json_get_string(fr, "fieldPath") ?: "";
      json_object *root = kube_object_json(pod);
      if (streq(fp, "metadata.labels"))
        val = format_map(kube_json_get(root, "metadata.labels"));
      else if (streq(fp, "metadata.annotations"))
        val = format_map(kube_json_get(root, "metadata.annotations"));
      else
        val = nd_field_ref(a, p, pod, fp, err);
    } else if (rr) {
      val = nd_resource_ref(a, nd_spec(pod),
                            kube_json_get_string(rr, "containerName") ?: "",
                            kube_json_get_string(rr, "resource") ?: "",
                            kube_json_get_string(rr, "divisor"), err);
    } else {
      continue;
    }
    if (!val)
      return kube_error_wrap(err, "MountVolume.SetUp failed for volume \"%s\"",
                             volname);
    int rc = add_file(v, path, val, strlen(val), mode_of(it, "mode", def_mode));
    free(val);
    if (rc < 0)
      return kube_make_oom(err);
  }
  return 0;
}

static int projected_into(kube_node_agent_t *a, struct nd_pod *p,
                          const kube_object_t *pod, struct vol *v,
                          json_object *src, const char *volname,
                          kube_error_t *err) {
  int def = mode_of(src, "defaultMode", 0644);
  json_object *sources = kube_json_get(src, "sources");
  for (size_t i = 0; sources && i < json_object_array_length(sources); i++) {
    json_object *s = json_object_array_get_idx(sources, i), *x;
    int rc = 0;
    if ((x = kube_json_get(s, "configMap")))
      rc = keys_into(a, p, v, x, false, def, volname, err);
    else if ((x = kube_json_get(s, "secret")))
      rc = keys_into(a, p, v, x, true, def, volname, err);
    else if ((x = kube_json_get(s, "downwardAPI")))
      rc = downward_into(a, p, pod, v, kube_json_get(x, "items"), def, volname,
                         err);
    else if ((x = kube_json_get(s, "serviceAccountToken"))) {
      /* Placeholder until service accounts and TokenRequest exist: the
       * file is there (empty), so mounts and readers do not fail. */
      const char *path = kube_json_get_string(x, "path");
      if (rel_path_ok(path) && add_file(v, path, "", 0, def) < 0)
        rc = kube_make_oom(err);
    }
    if (rc < 0)
      return -1;
  }
  return 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len) {
  const unsigned char *s = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

nd_volumes_t *nd_volumes_plan(kube_node_agent_t *a, struct nd_pod *p,
                              const kube_object_t *pod, kube_error_t *err) {
  json_object *spec = nd_spec(pod);
  json_object *vols = kube_json_get(spec, "volumes");
  nd_volumes_t *vs = calloc(1, sizeof *vs);
  size_t n = vols ? json_object_array_length(vols) : 0;
  if (!vs || !(vs->v = calloc(n + 1, sizeof *vs->v))) {
    free(vs);
    kube_make_oom(err);
    return NULL;
  }
  for (size_t i = 0; i < p->n_refs; i++)
    free(p->refs[i]);
  p->n_refs = 0;
  json_object *fsg = kube_json_get(spec, "securityContext.fsGroup");
  vs->fs_group = fsg ? json_object_get_int64(fsg) : -1;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    json_object *vj = json_object_array_get_idx(vols, i), *x;
    struct vol *v = &vs->v[vs->n++];
    const char *name = kube_json_get_string(vj, "name") ?: "";
    v->name = strdup(name);
    int rc = 0;
    if ((x = kube_json_get(vj, "emptyDir"))) {
      v->type = V_EMPTYDIR;
      v->plugin = "kubernetes.io~empty-dir";
      const char *medium = kube_json_get_string(x, "medium");
      v->tmpfs = medium && streq(medium, "Memory");
      const char *limit = kube_json_get_string(x, "sizeLimit");
      if (v->tmpfs && limit)
        v->size_limit = kube_quantity_parse_value(limit, NULL);
      if (medium && *medium && !v->tmpfs)
        rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "MountVolume.SetUp failed for volume \"%s\" : "
                            "emptyDir medium %s is not supported",
                            name, medium);
    } else if ((x = kube_json_get(vj, "hostPath"))) {
      v->type = V_HOSTPATH;
      v->host_path = strdup(kube_json_get_string(x, "path") ?: "");
      const char *t = kube_json_get_string(x, "type");
      v->host_type = t ? strdup(t) : NULL;
    } else if ((x = kube_json_get(vj, "configMap"))) {
      v->type = V_FILES;
      v->plugin = "kubernetes.io~configmap";
      rc = keys_into(a, p, v, x, false, mode_of(x, "defaultMode", 0644), name,
                     err);
    } else if ((x = kube_json_get(vj, "secret"))) {
      v->type = V_FILES;
      v->plugin = "kubernetes.io~secret";
      v->tmpfs = true;
      rc = keys_into(a, p, v, x, true, mode_of(x, "defaultMode", 0644), name,
                     err);
    } else if ((x = kube_json_get(vj, "downwardAPI"))) {
      v->type = V_FILES;
      v->plugin = "kubernetes.io~downward-api";
      rc = downward_into(a, p, pod, v, kube_json_get(x, "items"),
                         mode_of(x, "defaultMode", 0644), name, err);
    } else if ((x = kube_json_get(vj, "projected"))) {
      v->type = V_FILES;
      v->plugin = "kubernetes.io~projected";
      v->tmpfs = true;
      rc = projected_into(a, p, pod, v, x, name, err);
    } else {
      v->type = V_UNSUPPORTED;
      const char *kind = "unknown";
      json_object_object_foreach(vj, k, val) {
        (void)val;
        if (!streq(k, "name"))
          kind = k;
      }
      rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "MountVolume.SetUp failed for volume \"%s\" : "
                          "volume type %s is not supported on this node",
                          name, kind);
    }
    if (rc < 0) {
      nd_volumes_free(vs);
      return NULL;
    }
    h = fnv(h, name, strlen(name) + 1);
    h = fnv(h, &v->type, sizeof v->type);
    for (size_t k = 0; k < v->n_files; k++) {
      h = fnv(h, v->files[k].path, strlen(v->files[k].path) + 1);
      h = fnv(h, v->files[k].data, v->files[k].len);
      h = fnv(h, &v->files[k].mode, sizeof v->files[k].mode);
    }
  }
  h = fnv(h, &vs->fs_group, sizeof vs->fs_group);
  snprintf(vs->digest, sizeof vs->digest, "%016llx", (unsigned long long)h);
  return vs;
}

char *nd_volume_host_path(const kube_object_t *pod, const char *pod_dir,
                          const char *volume, bool *is_block_dev) {
  json_object *vols = kube_json_get(nd_spec(pod), "volumes");
  for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
    json_object *vj = json_object_array_get_idx(vols, i), *x;
    const char *name = kube_json_get_string(vj, "name");
    if (!name || !streq(name, volume))
      continue;
    if ((x = kube_json_get(vj, "hostPath"))) {
      const char *t = kube_json_get_string(x, "type");
      if (is_block_dev)
        *is_block_dev =
            t && (streq(t, "BlockDevice") || streq(t, "CharDevice"));
      return strdup(kube_json_get_string(x, "path") ?: "/");
    }
    const char *plugin =
        kube_json_get(vj, "emptyDir")      ? "kubernetes.io~empty-dir"
        : kube_json_get(vj, "configMap")   ? "kubernetes.io~configmap"
        : kube_json_get(vj, "secret")      ? "kubernetes.io~secret"
        : kube_json_get(vj, "downwardAPI") ? "kubernetes.io~downward-api"
        : kube_json_get(vj, "projected")   ? "kubernetes.io~projected"
                                           : NULL;
    if (!plugin)
      return NULL;
    char *s = NULL;
    if (asprintf(&s, "%s/volumes/%s/%s", pod_dir, plugin, name) < 0)
      return NULL;
    return s;
  }
  return NULL;
}

/* ---- writing (worker) --------------------------------------------------- */

static bool is_tmpfs(const char *path) {
  struct statfs s;
  return statfs(path, &s) == 0 && s.f_type == TMPFS_MAGIC;
}

static int ensure_tmpfs(const char *dir, int64_t size, kube_error_t *err) {
  if (is_tmpfs(dir))
    return 0;
  char opts[64] = "mode=0755";
  if (size > 0)
    snprintf(opts, sizeof opts, "mode=0755,size=%lld", (long long)size);
  if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
    return kube_make_error(err, errno, "mount tmpfs on %s: %s", dir,
                           strerror(errno));
  return 0;
}

static int check_host_path(const struct vol *v, const char *volname,
                           kube_error_t *err) {
  const char *t = v->host_type ? v->host_type : "";
  const char *path = v->host_path;
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (!*t)
    return 0;
  if (streq(t, "DirectoryOrCreate") && !exists) {
    if (core_mkdir_p(path, 0755, err) < 0)
      return kube_error_wrap(err, "MountVolume.SetUp failed for volume \"%s\"",
                             volname);
    return 0;
  }
  if (streq(t, "FileOrCreate") && !exists) {
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST)
      return kube_error_set(err, KUBE_REASON_INVALID, errno,
                            "MountVolume.SetUp failed for volume \"%s\" : "
                            "open %s: %s",
                            volname, path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return 0;
  }
  const char *want = NULL;
  bool ok = exists;
  if (streq(t, "Directory") || streq(t, "DirectoryOrCreate")) {
    want = "a directory";
    ok = ok && S_ISDIR(st.st_mode);
  } else if (streq(t, "File") || streq(t, "FileOrCreate")) {
    want = "a file";
    ok = ok && S_ISREG(st.st_mode);
  } else if (streq(t, "Socket")) {
    want = "a socket file";
    ok = ok && S_ISSOCK(st.st_mode);
  } else if (streq(t, "CharDevice")) {
    want = "a character device";
    ok = ok && S_ISCHR(st.st_mode);
  } else if (streq(t, "BlockDevice")) {
    want = "a block device";
    ok = ok && S_ISBLK(st.st_mode);
  } else {
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "MountVolume.SetUp failed for volume \"%s\" : "
                          "invalid hostPath type %s",
                          volname, t);
  }
  if (ok)
    return 0;
  if (!exists)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "MountVolume.SetUp failed for volume \"%s\" : "
                          "hostPath type check failed: %s does not exist",
                          volname, path);
  return kube_error_set(err, KUBE_REASON_INVALID, 0,
                        "MountVolume.SetUp failed for volume \"%s\" : hostPath "
                        "type check failed: %s is not %s",
                        volname, path, want);
}

static void own_group(const char *path, int64_t gid, bool dir) {
  if (gid < 0)
    return;
  struct stat st;
  if (lchown(path, (uid_t)-1, (gid_t)gid) < 0 || lstat(path, &st) < 0 ||
      S_ISLNK(st.st_mode))
    return;
  mode_t m = st.st_mode & 07777;
  chmod(path, dir ? (m | 02050) : (m | 0040));
}

static int write_generation(const struct vol *v, const char *dir,
                            const char *gen, int64_t gid, kube_error_t *err) {
  char base[4200];
  snprintf(base, sizeof base, "%s/%s", dir, gen);
  if (mkdir(base, 0755) < 0)
    return kube_make_error(err, errno, "cannot create %s: %s", base,
                           strerror(errno));
  own_group(base, gid, true);
  for (size_t i = 0; i < v->n_files; i++) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", base, v->files[i].path);
    char *slash = strrchr(path, '/');
    if (slash && slash > path + strlen(base)) {
      *slash = '\0';
      if (core_mkdir_p(path, 0755, err) < 0)
        return -1;
      own_group(path, gid, true);
      *slash = '/';
    }
    if (core_write_file(path, v->files[i].data, v->files[i].len,
                        (mode_t)v->files[i].mode, err) < 0)
      return -1;
    own_group(path, gid, false);
  }
  return 0;
}

/* The user-visible names of a generation: the first component of each
 * file path. */
static bool top_name(const struct vol *v, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < v->n_files; i++)
    if (strncmp(v->files[i].path, name, n) == 0 &&
        (v->files[i].path[n] == '\0' || v->files[i].path[n] == '/'))
      return true;
  return false;
}

static int atomic_write(const struct vol *v, const char *dir, int64_t gid,
                        kube_error_t *err) {
  char old[256] = "";
  char link[4200];
  snprintf(link, sizeof link, "%s/..data", dir);
  ssize_t n = readlink(link, old, sizeof old - 1);
  old[n > 0 ? n : 0] = '\0';
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char gen[96];
  snprintf(gen, sizeof gen, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, ts.tv_nsec);
  if (old[0] && streq(old, gen))
    gen[strlen(gen) - 1]++;
  if (write_generation(v, dir, gen, gid, err) < 0)
    return -1;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s/..data_tmp", dir);
  unlink(tmp);
  if (symlink(gen, tmp) < 0 || rename(tmp, link) < 0)
    return kube_make_error(err, errno, "cannot swap %s: %s", link,
                           strerror(errno));
  /* names that appeared get their link; names that went lose it */
  for (size_t i = 0; i < v->n_files; i++) {
    char top[256];
    snprintf(top, sizeof top, "%.*s", (int)strcspn(v->files[i].path, "/"),
             v->files[i].path);
    char user[4400], target[300];
    snprintf(user, sizeof user, "%s/%s", dir, top);
    snprintf(target, sizeof target, "..data/%s", top);
    struct stat st;
    if (lstat(user, &st) == 0)
      continue;
    if (symlink(target, user) < 0 && errno != EEXIST)
      return kube_make_error(err, errno, "cannot link %s: %s", user,
                             strerror(errno));
  }
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.' && de->d_name[1] == '.')
      continue; /* ..data and generations */
    if (streq(de->d_name, ".") || top_name(v, de->d_name))
      continue;
    char user[4400];
    snprintf(user, sizeof user, "%s/%s", dir, de->d_name);
    char t[300];
    ssize_t tl = readlink(user, t, sizeof t - 1);
    if (tl > 0 && (t[tl] = '\0', str_has_prefix(t, "..data/")))
      unlink(user);
  }
  if (d)
    closedir(d);
  if (old[0] && str_has_prefix(old, "..") && !strchr(old, '/')) {
    char oldp[4200];
    snprintf(oldp, sizeof oldp, "%s/%s", dir, old);
    nd_remove_tree(oldp, NULL);
  }
  return 0;
}

int nd_volumes_write(const nd_volumes_t *vs, const char *pod_dir,
                     kube_error_t *err) {
  for (size_t i = 0; i < vs->n; i++) {
    const struct vol *v = &vs->v[i];
    if (v->type == V_HOSTPATH) {
      if (check_host_path(v, v->name, err) < 0)
        return -1;
      continue;
    }
    if (v->type == V_UNSUPPORTED)
      continue;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/volumes/%s/%s", pod_dir, v->plugin, v->name);
    if (core_mkdir_p(dir, v->type == V_EMPTYDIR ? 0777 : 0755, err) < 0)
      return -1;
    if (v->type == V_EMPTYDIR)
      chmod(dir, 0777); /* whoever the containers run as may write */
    if (v->tmpfs && ensure_tmpfs(dir, v->size_limit, err) < 0)
      return -1;
    if (v->type == V_EMPTYDIR) {
      if (v->tmpfs)
        chmod(dir, 0777);
      own_group(dir, vs->fs_group, true);
      continue;
    }
    if (atomic_write(v, dir, vs->fs_group, err) < 0)
      return kube_error_wrap(err, "MountVolume.SetUp failed for volume \"%s\"",
                             v->name);
  }
  return 0;
}

int nd_volumes_remove(const char *pod_dir, kube_error_t *err) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/volumes", pod_dir);
  return nd_remove_tree(dir, err);
}
