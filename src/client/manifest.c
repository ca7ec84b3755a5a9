/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifests for -f: files, directories of .yaml/.yml/.json files and
 * standard input, decoded as multi-document YAML or JSON.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "client/internal.h"
#include "core/util.h"

static int decode_into(kube_manifest_t *m, const char *data, size_t len,
                       const char *source, kube_error_t *err) {
  kube_object_t **objs = NULL;
  size_t n = 0;
  cleanup_error kube_error_t derr = KUBE_ERROR_INIT;
  if (kube_objects_decode(data, len, &objs, &n, &derr) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "error parsing %s: %s", source, derr.message);
  for (size_t i = 0; i < n; i++) {
    if (m->n == m->cap) {
      size_t nc = m->cap ? m->cap * 2 : 8;
      kube_object_t **nv = realloc(m->objects, nc * sizeof *nv);
      if (nv)
        m->objects = nv;
      char **ns = nv ? realloc(m->sources, nc * sizeof *ns) : NULL;
      if (!nv || !ns) {
        for (size_t j = i; j < n; j++)
          kube_object_free(objs[j]);
        free(objs);
        return kube_make_oom(err);
      }
      m->sources = ns;
      m->cap = nc;
    }
    m->sources[m->n] = strdup(source);
    m->objects[m->n++] = objs[i];
  }
  free(objs);
  return 0;
}

/* The whole of fd; NULL with errno set on a read error. */
static char *slurp(int fd, size_t *len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (kube_read_all(fd, &sb) < 0) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  kube_strbuf_append(&sb, "");
  *len = sb.len;
  return kube_strbuf_steal(&sb);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int client_dir_names(const char *path, bool skip_hidden, char ***names,
                     size_t *n) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(path);
  if (!d)
    return -1;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
        (skip_hidden && de->d_name[0] == '.'))
      continue;
    char **nn = realloc(*names, (*n + 1) * sizeof *nn);
    if (!nn || !(nn[*n] = strdup(de->d_name))) {
      *names = nn ? nn : *names;
      closedir(d);
      client_dir_names_free(*names, *n);
      *names = NULL;
      *n = 0;
      errno = ENOMEM;
      return -1;
    }
    *names = nn;
    (*n)++;
  }
  closedir(d);
  if (*n)
    qsort(*names, *n, sizeof **names, cmp_names);
  return 0;
}

void client_dir_names_free(char **names, size_t n) {
  for (size_t i = 0; names && i < n; i++)
    free(names[i]);
  free(names);
}

static int read_path(kube_manifest_t *m, const char *path, bool recursive,
                     bool top, kube_error_t *err) {
  if (streq(path, "-")) {
    size_t len;
    cleanup_free char *data = slurp(0, &len);
    if (!data)
      return kube_error_set(err, KUBE_REASON_INTERNAL, errno,
                            "reading stdin: %s", strerror(errno));
    return decode_into(m, data, len, "STDIN", err);
  }
  struct stat st;
  if (stat(path, &st) < 0)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, errno,
                          "the path \"%s\" does not exist", path);
  if (S_ISDIR(st.st_mode)) {
    if (!top && !recursive)
      return 0;
    char **names = NULL;
    size_t n = 0;
    if (client_dir_names(path, true, &names, &n) < 0)
      return kube_error_set(err, KUBE_REASON_INTERNAL, errno, "open %s: %s",
                            path, strerror(errno));
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
      struct stat es;
      char *full = NULL;
      if (asprintf(&full, "%s/%s", path, names[i]) < 0) {
        r = kube_make_oom(err);
        break;
      }
      if (stat(full, &es) == 0 &&
          (S_ISDIR(es.st_mode) || str_has_suffix(full, ".yaml") ||
           str_has_suffix(full, ".yml") || str_has_suffix(full, ".json")))
        r = read_path(m, full, recursive, false, err);
      free(full);
    }
    client_dir_names_free(names, n);
    return r;
  }
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kube_error_set(err, KUBE_REASON_INTERNAL, errno, "open %s: %s", path,
                          strerror(errno));
  size_t len;
  cleanup_free char *data = slurp(fd, &len);
  if (!data)
    return kube_error_set(err, KUBE_REASON_INTERNAL, errno, "read %s: %s", path,
                          strerror(errno));
  return decode_into(m, data, len, path, err);
}

KUBE_EXPORT int kube_manifest_read(kube_manifest_t *m, const char *path,
                                   bool recursive, kube_error_t *err) {
  if (!path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no path given");
  return read_path(m, path, recursive, true, err);
}

KUBE_EXPORT void kube_manifest_clear(kube_manifest_t *m) {
  if (!m)
    return;
  kube_object_array_free(m->objects, m->n);
  for (size_t i = 0; m->sources && i < m->n; i++)
    free(m->sources[i]);
  free(m->sources);
  memset(m, 0, sizeof *m);
}
