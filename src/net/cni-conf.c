/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network configurations: the first file of the directory by name
 * (*.conflist, *.conf, *.json, as libcni's ConfFiles and containerd pick
 * it), a single-plugin .conf wrapped into a list (libcni's
 * ConfListFromConf).
 */
#include <dirent.h>

#include "api/api-private.h"
#include "net/internal.h"

static const char *const supported[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0",
                                        "1.1.0"};

int net_version_cmp(const char *a, const char *b) {
  for (int i = 0; i < 3; i++) {
    char *ea, *eb;
    long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
    if (x != y)
      return x < y ? -1 : 1;
    a = *ea == '.' ? ea + 1 : ea;
    b = *eb == '.' ? eb + 1 : eb;
  }
  return 0;
}

int net_conf_check(json_object *list, const char *file, kube_error_t *err) {
  const char *name = kube_json_get_string(list, "name");
  const char *ver = kube_json_get_string(list, "cniVersion");
  json_object *plugins = kube_json_get(list, "plugins");
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s: no network name", file);
  if (!ver)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s: no cniVersion",
                          file);
  bool ok = false;
  for (size_t i = 0; i < ARRAY_SIZE(supported); i++)
    ok = ok || streq(ver, supported[i]);
  if (!ok)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s: unsupported cniVersion %s", file, ver);
  if (!plugins || !json_object_is_type(plugins, json_type_array) ||
      json_object_array_length(plugins) == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s: no plugins in network %s", file, name);
  for (size_t i = 0; i < json_object_array_length(plugins); i++) {
    json_object *p = json_object_array_get_idx(plugins, i);
    const char *type = kube_json_get_string(p, "type");
    if (!type || !*type || strchr(type, '/'))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "%s: plugin %zu of network %s has no valid type",
                            file, i, name);
  }
  return 0;
}

/* A .conf (one plugin) as a list. */
static json_object *wrap_conf(json_object *conf) {
  json_object *list = json_object_new_object();
  json_object *plugins = json_object_new_array();
  json_object *v;
  if (json_object_object_get_ex(conf, "cniVersion", &v))
    json_object_object_add(list, "cniVersion", json_object_get(v));
  if (json_object_object_get_ex(conf, "name", &v))
    json_object_object_add(list, "name", json_object_get(v));
  json_object_array_add(plugins, json_object_get(conf));
  json_object_object_add(list, "plugins", plugins);
  return list;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

json_object *net_conf_load(const char *conf_dir, char **file_out,
                           kube_error_t *err) {
  if (file_out)
    *file_out = NULL;
  DIR *d = opendir(conf_dir);
  if (!d) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, errno,
                   "no networks found in %s", conf_dir);
    return NULL;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *nm = de->d_name;
    if (nm[0] == '.' ||
        !(str_has_suffix(nm, ".conflist") || str_has_suffix(nm, ".conf") ||
          str_has_suffix(nm, ".json")))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn)
        break;
      names = nn;
    }
    names[n] = strdup(nm);
    if (names[n])
      n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  json_object *found = NULL;
  kube_error_t first = KUBE_ERROR_INIT;
  for (size_t i = 0; i < n && !found; i++) {
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/%s", conf_dir, names[i]) < 0)
      break;
    size_t len = 0;
    cleanup_free char *text = core_read_file(path, &len);
    if (!text)
      continue;
    kube_error_t e = KUBE_ERROR_INIT;
    json_object *obj = kube_json_parse(text, len, &e);
    if (obj && !json_object_is_type(obj, json_type_object)) {
      json_object_put(obj);
      obj = NULL;
      kube_error_set(&e, KUBE_REASON_BAD_REQUEST, 0, "not a JSON object");
    }
    if (obj && !kube_json_get(obj, "plugins")) {
      json_object *list = wrap_conf(obj);
      json_object_put(obj);
      obj = list;
    }
    if (obj && net_conf_check(obj, path, &e) < 0) {
      json_object_put(obj);
      obj = NULL;
    } else if (!obj) {
      kube_error_wrap(&e, "%s", path);
    }
    if (obj) {
      found = obj;
      if (file_out)
        *file_out = strdup(names[i]);
    } else if (!kube_error_is_set(&first)) {
      kube_error_move(&first, &e);
    }
    kube_error_clear(&e);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (!found) {
    if (kube_error_is_set(&first))
      kube_error_move(err, &first);
    else
      kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                     "no networks found in %s", conf_dir);
  }
  kube_error_clear(&first);
  return found;
}
