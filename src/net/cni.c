/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CNI invocation (spec 1.0.0), libcni's behaviour without libcni: chained
 * plugins with prevResult, runtimeConfig for declared capabilities, a
 * result cache that keeps the configuration an ADD used so DEL and CHECK
 * act on what was set up even after the configuration changed.
 */
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

#include "api/api-private.h"
#include "net/internal.h"

extern char **environ;

#define DEFAULT_BIN_DIRS "/usr/lib/cni:/opt/cni/bin"

KUBE_EXPORT kube_cni_t *kube_cni_new(const kube_cni_options_t *opts,
                                     kube_error_t *err) {
  if (!opts || !opts->conf_dir || !opts->cache_dir) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "CNI needs a configuration and a cache directory");
    return NULL;
  }
  kube_cni_t *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->conf_dir = strdup(opts->conf_dir);
  c->bin_dirs = strdup(opts->bin_dirs ? opts->bin_dirs : DEFAULT_BIN_DIRS);
  c->cache_dir = strdup(opts->cache_dir);
  c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 60000;
  if (!c->conf_dir || !c->bin_dirs || !c->cache_dir) {
    kube_cni_free(c);
    kube_make_oom(err);
    return NULL;
  }
  char results[4200];
  snprintf(results, sizeof results, "%s/results", c->cache_dir);
  if (core_mkdir_p(results, 0700, err) < 0) {
    kube_cni_free(c);
    return NULL;
  }
  return c;
}

KUBE_EXPORT void kube_cni_free(kube_cni_t *c) {
  if (!c)
    return;
  free(c->conf_dir);
  free(c->bin_dirs);
  free(c->cache_dir);
  free(c);
}

static int find_plugins(kube_cni_t *c, json_object *list, kube_error_t *err) {
  json_object *plugins = kube_json_get(list, "plugins");
  for (size_t i = 0; i < json_object_array_length(plugins); i++) {
    const char *type =
        kube_json_get_string(json_object_array_get_idx(plugins, i), "type");
    cleanup_free char *path = net_find_plugin(c->bin_dirs, type);
    if (!path) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      for (const char *p = c->bin_dirs; *p; p++)
        kube_strbuf_printf(&sb, "%c", *p == ':' ? ' ' : *p);
      cleanup_free char *dirs = kube_strbuf_steal(&sb);
      return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, ENOENT,
                            "failed to find plugin \"%s\" in path [%s]", type,
                            dirs ? dirs : "");
    }
  }
  return 0;
}

KUBE_EXPORT int kube_cni_status(kube_cni_t *c, char **name_out,
                                kube_error_t *err) {
  if (name_out)
    *name_out = NULL;
  json_object *list = net_conf_load(c->conf_dir, NULL, err);
  if (!list)
    return -1;
  int rc = find_plugins(c, list, err);
  if (rc == 0 && name_out &&
      !(*name_out = strdup(kube_json_get_string(list, "name")))) {
    rc = kube_make_oom(err);
  }
  json_object_put(list);
  return rc;
}

/* ---- one invocation ---- */

enum op { OP_ADD, OP_DEL, OP_CHECK };
static const char *const op_names[] = {"ADD", "DEL", "CHECK"};
static const char *const op_lower[] = {"add", "delete", "check"};

struct invocation {
  kube_cni_t *cni;
  const kube_cni_attachment_t *a;
  enum op op;
  json_object *list;    /* borrowed */
  json_object *caps;    /* capabilityArgs (borrowed, may be NULL) */
  const char *cni_args; /* CNI_ARGS */
};

static const char *ifname_of(const kube_cni_attachment_t *a) {
  return a->ifname && *a->ifname ? a->ifname : "eth0";
}

static char **make_env(const struct invocation *inv) {
  size_t n = 0;
  while (environ && environ[n])
    n++;
  char **env = calloc(n + 8, sizeof *env);
  if (!env)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!str_has_prefix(environ[i], "CNI_"))
      env[k++] = strdup(environ[i]);
  const kube_cni_attachment_t *a = inv->a;
  if (asprintf(&env[k++], "CNI_COMMAND=%s", op_names[inv->op]) < 0 ||
      asprintf(&env[k++], "CNI_CONTAINERID=%s", a->container_id) < 0 ||
      asprintf(&env[k++], "CNI_NETNS=%s", a->netns ? a->netns : "") < 0 ||
      asprintf(&env[k++], "CNI_IFNAME=%s", ifname_of(a)) < 0 ||
      asprintf(&env[k++], "CNI_ARGS=%s", inv->cni_args) < 0 ||
      asprintf(&env[k++], "CNI_PATH=%s", inv->cni->bin_dirs) < 0) {
    for (size_t i = 0; i < k; i++)
      free(env[i]);
    free(env);
    return NULL;
  }
  return env;
}

static void free_env(char **env) {
  for (size_t i = 0; env && env[i]; i++)
    free(env[i]);
  free(env);
}

/* The plugin's stdin: its own configuration plus name, cniVersion,
 * prevResult and the runtimeConfig of the capabilities it declares. */
static json_object *plugin_conf(const struct invocation *inv,
                                json_object *plugin, json_object *prev) {
  json_object *conf = NULL;
  if (json_object_deep_copy(plugin, &conf, NULL) < 0)
    return NULL;
  json_object_object_add(
      conf, "name",
      json_object_new_string(kube_json_get_string(inv->list, "name")));
  json_object_object_add(
      conf, "cniVersion",
      json_object_new_string(kube_json_get_string(inv->list, "cniVersion")));
  if (prev)
    json_object_object_add(conf, "prevResult", json_object_get(prev));
  json_object *declared = kube_json_get(plugin, "capabilities");
  if (inv->caps && declared &&
      json_object_is_type(declared, json_type_object)) {
    json_object_object_foreach(declared, cap, on) {
      json_object *val;
      if (!json_object_get_boolean(on) ||
          !json_object_object_get_ex(inv->caps, cap, &val))
        continue;
      json_object *rc = kube_json_get(conf, "runtimeConfig");
      if (!rc || !json_object_is_type(rc, json_type_object)) {
        rc = json_object_new_object();
        json_object_object_add(conf, "runtimeConfig", rc);
      }
      json_object_object_add(rc, cap, json_object_get(val));
    }
  }
  return conf;
}

/* Run one plugin; on ADD the parsed result goes to *result_out. */
static int run_plugin(const struct invocation *inv, json_object *plugin,
                      json_object *prev, json_object **result_out,
                      kube_error_t *err) {
  const char *type = kube_json_get_string(plugin, "type");
  const char *net = kube_json_get_string(inv->list, "name");
  cleanup_free char *path = net_find_plugin(inv->cni->bin_dirs, type);
  if (!path)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, ENOENT,
                          "failed to find plugin \"%s\" in path [%s]", type,
                          inv->cni->bin_dirs);
  json_object *conf = plugin_conf(inv, plugin, prev);
  char **env = conf ? make_env(inv) : NULL;
  if (!env) {
    json_object_put(conf);
    return kube_make_oom(err);
  }
  const char *input =
      json_object_to_json_string_ext(conf, JSON_C_TO_STRING_PLAIN);
  net_exec_result_t r;
  int rc =
      net_exec(path, env, input, strlen(input), inv->cni->timeout_ms, &r, err);
  free_env(env);
  json_object_put(conf);
  if (rc < 0) {
    net_exec_result_clear(&r);
    return kube_error_wrap(err, "plugin type=\"%s\" name=\"%s\" failed (%s)",
                           type, net, op_lower[inv->op]);
  }
  if (r.exit_code != 0) {
    json_object *e = r.out_len ? json_tokener_parse(r.out) : NULL;
    const char *msg = e ? kube_json_get_string(e, "msg") : NULL;
    const char *det = e ? kube_json_get_string(e, "details") : NULL;
    char *nl = strrchr(r.errout, '\n');
    if (nl && !nl[1])
      *nl = '\0';
    char status[32];
    snprintf(status, sizeof status, "exit status %d", r.exit_code);
    kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                   "plugin type=\"%s\" name=\"%s\" failed (%s): %s%s%s", type,
                   net, op_lower[inv->op],
                   msg         ? msg
                   : *r.errout ? r.errout
                               : status,
                   det && *det ? ": " : "", det && *det ? det : "");
    json_object_put(e);
    net_exec_result_clear(&r);
    return -1;
  }
  if (result_out) {
    kube_error_t pe = KUBE_ERROR_INIT;
    json_object *res =
        r.out_len ? kube_json_parse(r.out, r.out_len, &pe) : NULL;
    if (!res || !json_object_is_type(res, json_type_object)) {
      kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                     "plugin type=\"%s\" name=\"%s\" (add): bad result: %s",
                     type, net, pe.message ? pe.message : "empty output");
      kube_error_clear(&pe);
      json_object_put(res);
      net_exec_result_clear(&r);
      return -1;
    }
    *result_out = res;
  }
  net_exec_result_clear(&r);
  return 0;
}

/* ---- the cache ---- */

static bool id_ok(const char *s) {
  if (!s || !*s || streq(s, ".") || streq(s, ".."))
    return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
      return false;
  return true;
}

static char *cache_path(kube_cni_t *c, const char *cid, const char *ifname) {
  char *p = NULL;
  if (asprintf(&p, "%s/results/%s/%s.json", c->cache_dir, cid, ifname) < 0)
    return NULL;
  return p;
}

static json_object *cache_read(kube_cni_t *c, const char *cid,
                               const char *ifname) {
  cleanup_free char *path = cache_path(c, cid, ifname);
  size_t len = 0;
  cleanup_free char *text = path ? core_read_file(path, &len) : NULL;
  if (!text)
    return NULL;
  json_object *obj = kube_json_parse(text, len, NULL);
  if (obj && (!json_object_is_type(obj, json_type_object) ||
              !kube_json_get(obj, "config") ||
              net_conf_check(kube_json_get(obj, "config"), path, NULL) < 0)) {
    json_object_put(obj);
    obj = NULL;
  }
  return obj;
}

static int cache_write(const struct invocation *inv, json_object *result,
                       kube_error_t *err) {
  const kube_cni_attachment_t *a = inv->a;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/results/%s", inv->cni->cache_dir,
           a->container_id);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return kube_make_error(err, errno, "cannot create %s: %s", dir,
                           strerror(errno));
  json_object *o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string("cniCacheV1"));
  json_object_object_add(o, "containerId",
                         json_object_new_string(a->container_id));
  json_object_object_add(o, "ifName", json_object_new_string(ifname_of(a)));
  json_object_object_add(
      o, "networkName",
      json_object_new_string(kube_json_get_string(inv->list, "name")));
  json_object_object_add(o, "config", json_object_get(inv->list));
  json_object_object_add(o, "cniArgs", json_object_new_string(inv->cni_args));
  if (inv->caps)
    json_object_object_add(o, "capabilityArgs", json_object_get(inv->caps));
  json_object_object_add(o, "result", json_object_get(result));
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  cleanup_free char *path = cache_path(inv->cni, a->container_id, ifname_of(a));
  int rc = path ? core_write_file(path, text, strlen(text), 0600, err)
                : kube_make_oom(err);
  json_object_put(o);
  return rc;
}

static void cache_remove(kube_cni_t *c, const char *cid, const char *ifname) {
  cleanup_free char *path = cache_path(c, cid, ifname);
  if (path)
    unlink(path);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/results/%s", c->cache_dir, cid);
  rmdir(dir); /* only when no other interface is cached */
}

/* ---- ADD / DEL / CHECK ---- */

static char *cni_args(const kube_cni_attachment_t *a) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "IgnoreUnknown=1");
  if (a->pod_namespace)
    kube_strbuf_printf(&sb, ";K8S_POD_NAMESPACE=%s", a->pod_namespace);
  if (a->pod_name)
    kube_strbuf_printf(&sb, ";K8S_POD_NAME=%s", a->pod_name);
  kube_strbuf_printf(&sb, ";K8S_POD_INFRA_CONTAINER_ID=%s", a->container_id);
  if (a->pod_uid)
    kube_strbuf_printf(&sb, ";K8S_POD_UID=%s", a->pod_uid);
  return kube_strbuf_steal(&sb);
}

static json_object *capability_args(const kube_cni_attachment_t *a) {
  if (!a->n_port_mappings)
    return NULL;
  json_object *caps = json_object_new_object();
  json_object *pm = json_object_new_array();
  for (size_t i = 0; i < a->n_port_mappings; i++) {
    const kube_cni_port_mapping_t *m = &a->port_mappings[i];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "hostPort", json_object_new_int(m->host_port));
    json_object_object_add(o, "containerPort",
                           json_object_new_int(m->container_port));
    json_object_object_add(
        o, "protocol",
        json_object_new_string(m->protocol ? m->protocol : "tcp"));
    json_object_object_add(
        o, "hostIP", json_object_new_string(m->host_ip ? m->host_ip : ""));
    json_object_array_add(pm, o);
  }
  json_object_object_add(caps, "portMappings", pm);
  return caps;
}

static int check_attachment(const kube_cni_attachment_t *a, bool need_netns,
                            kube_error_t *err) {
  if (!a || !id_ok(a->container_id))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid CNI container id \"%s\"",
                          a && a->container_id ? a->container_id : "");
  if (!id_ok(ifname_of(a)) || strlen(ifname_of(a)) > 15)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid interface name \"%s\"", ifname_of(a));
  if (need_netns && (!a->netns || !*a->netns))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "a network namespace is required");
  return 0;
}

/* DEL in reverse order; every plugin runs even when one fails (the first
 * error is returned). */
static int del_plugins(struct invocation *inv, json_object *prev,
                       kube_error_t *err) {
  json_object *plugins = kube_json_get(inv->list, "plugins");
  bool with_prev =
      prev && net_version_cmp(kube_json_get_string(inv->list, "cniVersion"),
                              "0.4.0") >= 0;
  int rc = 0;
  for (size_t i = json_object_array_length(plugins); i-- > 0;) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (run_plugin(inv, json_object_array_get_idx(plugins, i),
                   with_prev ? prev : NULL, NULL, &e) < 0 &&
        rc == 0) {
      kube_error_move(err, &e);
      rc = -1;
    }
    kube_error_clear(&e);
  }
  return rc;
}

/* The portmap plugin's ADD without port mappings prints its prevResult
 * and does nothing else: not exec'ing it saves a Go process start on
 * every pod (the CNI ADD's critical path).  Its DEL still runs. */
static bool passthrough(json_object *plugin, const kube_cni_attachment_t *a,
                        json_object *prev) {
  const char *type = kube_json_get_string(plugin, "type");
  return prev && a->n_port_mappings == 0 && type && streq(type, "portmap");
}

KUBE_EXPORT int kube_cni_add(kube_cni_t *c, const kube_cni_attachment_t *a,
                             kube_cni_result_t *out, kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof *out);
  if (check_attachment(a, true, err) < 0)
    return -1;
  json_object *list = net_conf_load(c->conf_dir, NULL, err);
  if (!list)
    return -1;
  cleanup_free char *args = cni_args(a);
  struct invocation inv = {c, a, OP_ADD, list, capability_args(a), args};
  json_object *prev = NULL;
  int rc = args ? 0 : kube_make_oom(err);
  json_object *plugins = kube_json_get(list, "plugins");
  for (size_t i = 0; rc == 0 && i < json_object_array_length(plugins); i++) {
    json_object *res = NULL, *plugin = json_object_array_get_idx(plugins, i);
    if (passthrough(plugin, a, prev))
      continue;
    rc = run_plugin(&inv, plugin, prev, &res, err);
    if (rc == 0) {
      json_object_put(prev);
      prev = res;
    }
  }
  if (rc == 0)
    rc = cache_write(&inv, prev, err);
  if (rc == 0 && out)
    rc = net_result_from_json(prev, out, err);
  if (rc < 0 && args) {
    /* Undo what the plugins that ran set up (addresses, veths). */
    inv.op = OP_DEL;
    del_plugins(&inv, prev, NULL);
    cache_remove(c, a->container_id, ifname_of(a));
  }
  json_object_put(prev);
  json_object_put(inv.caps);
  json_object_put(list);
  return rc;
}

KUBE_EXPORT int kube_cni_del(kube_cni_t *c, const kube_cni_attachment_t *a,
                             kube_error_t *err) {
  if (check_attachment(a, false, err) < 0)
    return -1;
  json_object *cached = cache_read(c, a->container_id, ifname_of(a));
  json_object *list = cached ? json_object_get(kube_json_get(cached, "config"))
                             : net_conf_load(c->conf_dir, NULL, err);
  if (!list) {
    /* No configuration and nothing cached: nothing was set up by us. */
    json_object_put(cached);
    kube_error_clear(err);
    return 0;
  }
  cleanup_free char *args = cni_args(a);
  json_object *caps = cached ? kube_json_get(cached, "capabilityArgs") : NULL;
  json_object *own_caps = caps ? NULL : capability_args(a);
  struct invocation inv = {c, a, OP_DEL, list, caps ? caps : own_caps, args};
  int rc =
      args ? del_plugins(&inv, cached ? kube_json_get(cached, "result") : NULL,
                         err)
           : kube_make_oom(err);
  if (rc == 0)
    cache_remove(c, a->container_id, ifname_of(a));
  json_object_put(own_caps);
  json_object_put(list);
  json_object_put(cached);
  return rc;
}

KUBE_EXPORT int kube_cni_check(kube_cni_t *c, const kube_cni_attachment_t *a,
                               kube_error_t *err) {
  if (check_attachment(a, true, err) < 0)
    return -1;
  json_object *cached = cache_read(c, a->container_id, ifname_of(a));
  if (!cached)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "no cached CNI result for %s/%s", a->container_id,
                          ifname_of(a));
  json_object *list = kube_json_get(cached, "config");
  if (net_version_cmp(kube_json_get_string(list, "cniVersion"), "0.4.0") < 0) {
    json_object_put(cached);
    return 0;
  }
  cleanup_free char *args = cni_args(a);
  struct invocation inv = {
      c, a, OP_CHECK, list, kube_json_get(cached, "capabilityArgs"), args};
  json_object *prev = kube_json_get(cached, "result");
  json_object *plugins = kube_json_get(list, "plugins");
  int rc = args ? 0 : kube_make_oom(err);
  for (size_t i = 0; rc == 0 && i < json_object_array_length(plugins); i++)
    rc = run_plugin(&inv, json_object_array_get_idx(plugins, i), prev, NULL,
                    err);
  json_object_put(cached);
  return rc;
}

KUBE_EXPORT int kube_cni_cached_result(kube_cni_t *c, const char *cid,
                                       const char *ifname,
                                       kube_cni_result_t *out,
                                       kube_error_t *err) {
  memset(out, 0, sizeof *out);
  const char *ifn = ifname && *ifname ? ifname : "eth0";
  if (!id_ok(cid) || !id_ok(ifn))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid CNI container id \"%s\"", cid ? cid : "");
  json_object *cached = cache_read(c, cid, ifn);
  if (!cached)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "no cached CNI result for %s/%s", cid, ifn);
  int rc = net_result_from_json(kube_json_get(cached, "result"), out, err);
  json_object_put(cached);
  return rc;
}

KUBE_EXPORT int kube_cni_cached_ids(kube_cni_t *c, char ***ids_out,
                                    size_t *n_out, kube_error_t *err) {
  *ids_out = NULL;
  *n_out = 0;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/results", c->cache_dir);
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT)
      return (*ids_out = calloc(1, sizeof(char *))) ? 0 : kube_make_oom(err);
    return kube_make_error(err, errno, "cannot read %s: %s", dir,
                           strerror(errno));
  }
  size_t n = 0, cap = 8;
  char **ids = calloc(cap + 1, sizeof *ids);
  struct dirent *de;
  while (ids && (de = readdir(d))) {
    if (de->d_name[0] == '.' || !id_ok(de->d_name))
      continue;
    if (n == cap) {
      char **nn = realloc(ids, (cap * 2 + 1) * sizeof *nn);
      if (!nn)
        break;
      ids = nn;
      cap *= 2;
    }
    ids[n] = strdup(de->d_name);
    if (ids[n])
      ids[++n] = NULL;
  }
  closedir(d);
  if (!ids)
    return kube_make_oom(err);
  ids[n] = NULL;
  *ids_out = ids;
  *n_out = n;
  return 0;
}
