/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube container: the records under DATA/containers/, their locks, names,
 * ids, and the inspect document.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cmd-image.h"
#include "ctr.h"

int ctr_env_init(struct ctr_env *e) {
  const char *data = cli_image_data_dir(e->data_dir);
  if (asprintf(&e->dir, "%s/containers", data) < 0)
    return ctr_fail("out of memory");
  if (e->runtime_root && *e->runtime_root)
    e->rt_root = strdup(e->runtime_root);
  else if (asprintf(&e->rt_root, "%s/runtime", e->dir) < 0)
    e->rt_root = NULL;
  if (!e->rt_root)
    return ctr_fail("out of memory");
  if (!e->cgroup_parent || !*e->cgroup_parent)
    e->cgroup_parent = "kube-containers";
  if (!e->bridge || !*e->bridge)
    e->bridge = "kube-ctr0";
  if (!e->subnet || !*e->subnet)
    e->subnet = "10.89.0.0/16";
  if (strchr(e->cgroup_parent, '.') || e->cgroup_parent[0] == '/')
    return ctr_fail("--cgroup-parent \"%s\": want a relative cgroup path "
                    "without dots",
                    e->cgroup_parent);
  return 0;
}

void ctr_env_clear(struct ctr_env *e) {
  if (e->rt)
    kube_runtime_free(e->rt);
  kube_image_store_free(e->store);
  free(e->dir);
  free(e->rt_root);
  e->rt = NULL;
  e->store = NULL;
  e->dir = e->rt_root = NULL;
}

kube_runtime_t *ctr_runtime(struct ctr_env *e) {
  if (e->rt)
    return e->rt;
  kube_error_t err = KUBE_ERROR_INIT;
  e->rt = kube_runtime_new(e->rt_root, &err);
  if (!e->rt) {
    cli_fail("%s", err.message);
    kube_error_clear(&err);
  }
  return e->rt;
}

kube_image_store_t *ctr_store(struct ctr_env *e) {
  if (!e->store)
    e->store = cli_image_store(e->data_dir);
  return e->store;
}

void ctr_strv_free(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

void ctr_rec_clear(struct ctr_rec *r) {
  free(r->name);
  free(r->image);
  free(r->image_id);
  ctr_strv_free(r->argv, r->argc);
  ctr_strv_free(r->env, r->n_env);
  ctr_strv_free(r->entrypoint, r->n_entrypoint);
  ctr_strv_free(r->cmd, r->n_cmd);
  free(r->cwd);
  free(r->user);
  free(r->stop_signal);
  free(r->ports);
  for (size_t i = 0; i < r->n_binds; i++) {
    free(r->binds[i].src);
    free(r->binds[i].dst);
  }
  free(r->binds);
  free(r->hostname);
  free(r->cgroup_parent);
  free(r->status);
  free(r->error);
  free(r->ip);
  free(r->gateway);
  free(r->mac);
  memset(r, 0, sizeof *r);
}

const char *ctr_path(const struct ctr_env *e, const char *id, const char *file,
                     char *buf, size_t len) {
  snprintf(buf, len, "%s/%s%s%s", e->dir, id, file ? "/" : "",
           file ? file : "");
  return buf;
}

/* ---- JSON <-> record ------------------------------------------------------ */

static json_object *jstrv(char **v, size_t n) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < n; i++)
    json_object_array_add(a, json_object_new_string(v[i]));
  return a;
}

static json_object *jstr(const char *s) {
  return s ? json_object_new_string(s) : NULL;
}

static char *time_str(const struct timespec *ts, char *buf, size_t len) {
  if (!ts->tv_sec) {
    snprintf(buf, len, "0001-01-01T00:00:00Z");
    return buf;
  }
  struct tm tm;
  gmtime_r(&ts->tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts->tv_nsec);
  return buf;
}

static json_object *jtime(const struct timespec *ts) {
  char buf[64];
  return json_object_new_string(time_str(ts, buf, sizeof buf));
}

static json_object *rec_to_json(const struct ctr_rec *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(r->id));
  json_object_object_add(o, "name", jstr(r->name));
  json_object_object_add(o, "image", jstr(r->image));
  json_object_object_add(o, "imageID", jstr(r->image_id));
  json_object_object_add(o, "argv", jstrv(r->argv, r->argc));
  json_object_object_add(o, "env", jstrv(r->env, r->n_env));
  json_object_object_add(o, "entrypoint",
                         jstrv(r->entrypoint, r->n_entrypoint));
  json_object_object_add(o, "cmd", jstrv(r->cmd, r->n_cmd));
  json_object_object_add(o, "cwd", jstr(r->cwd));
  json_object_object_add(o, "user", jstr(r->user));
  json_object_object_add(o, "stopSignal", jstr(r->stop_signal));
  json_object_object_add(o, "tty", json_object_new_boolean(r->tty));
  json_object_object_add(o, "openStdin",
                         json_object_new_boolean(r->open_stdin));
  json_object_object_add(o, "autoRemove",
                         json_object_new_boolean(r->auto_remove));
  json_object *ports = json_object_new_array();
  for (size_t i = 0; i < r->n_ports; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "hostIP",
                           json_object_new_string(r->ports[i].host_ip));
    json_object_object_add(p, "hostPort",
                           json_object_new_int(r->ports[i].host_port));
    json_object_object_add(p, "containerPort",
                           json_object_new_int(r->ports[i].ctr_port));
    json_object_object_add(p, "protocol",
                           json_object_new_string(r->ports[i].proto));
    json_object_array_add(ports, p);
  }
  json_object_object_add(o, "ports", ports);
  json_object *binds = json_object_new_array();
  for (size_t i = 0; i < r->n_binds; i++) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "source", jstr(r->binds[i].src));
    json_object_object_add(b, "destination", jstr(r->binds[i].dst));
    json_object_object_add(b, "readOnly",
                           json_object_new_boolean(r->binds[i].ro));
    json_object_array_add(binds, b);
  }
  json_object_object_add(o, "binds", binds);
  json_object_object_add(o, "hostname", jstr(r->hostname));
  json_object_object_add(o, "cgroupParent", jstr(r->cgroup_parent));
  json_object_object_add(o, "created", jtime(&r->created));
  json_object_object_add(o, "started", jtime(&r->started));
  json_object_object_add(o, "finished", jtime(&r->finished));
  json_object_object_add(o, "status", jstr(r->status));
  json_object_object_add(o, "exitCode", json_object_new_int(r->exit_code));
  json_object_object_add(o, "oomKilled",
                         json_object_new_boolean(r->oom_killed));
  json_object_object_add(o, "error", jstr(r->error));
  json_object_object_add(o, "restarts", json_object_new_int(r->restarts));
  json_object_object_add(o, "ip", jstr(r->ip));
  json_object_object_add(o, "gateway", jstr(r->gateway));
  json_object_object_add(o, "mac", jstr(r->mac));
  json_object_object_add(o, "prefixLen", json_object_new_int(r->prefix_len));
  return o;
}

static char *gstr(json_object *o, const char *k) {
  json_object *v;
  if (!json_object_object_get_ex(o, k, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return strdup(json_object_get_string(v));
}

static int gint(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_int(v) : 0;
}

static bool gbool(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

static char **gstrv(json_object *o, const char *k, size_t *n) {
  json_object *v;
  *n = 0;
  if (!json_object_object_get_ex(o, k, &v) ||
      !json_object_is_type(v, json_type_array))
    return NULL;
  size_t len = json_object_array_length(v);
  char **out = calloc(len + 1, sizeof *out);
  for (size_t i = 0; out && i < len; i++)
    out[(*n)++] = strdup(json_object_get_string(json_object_array_get_idx(v, i)));
  return out;
}

static void gtime(json_object *o, const char *k, struct timespec *ts) {
  cleanup_free char *s = gstr(o, k);
  memset(ts, 0, sizeof *ts);
  if (s && !str_has_prefix(s, "0001-"))
    kube_time_parse(s, ts, NULL);
}

int ctr_rec_load(const struct ctr_env *e, const char *id, struct ctr_rec *r) {
  char path[4200];
  memset(r, 0, sizeof *r);
  json_object *o = json_object_from_file(
      ctr_path(e, id, "container.json", path, sizeof path));
  if (!o)
    return -1;
  cleanup_free char *rid = gstr(o, "id");
  snprintf(r->id, sizeof r->id, "%s", rid ? rid : id);
  r->name = gstr(o, "name");
  r->image = gstr(o, "image");
  r->image_id = gstr(o, "imageID");
  r->argv = gstrv(o, "argv", &r->argc);
  r->env = gstrv(o, "env", &r->n_env);
  r->entrypoint = gstrv(o, "entrypoint", &r->n_entrypoint);
  r->cmd = gstrv(o, "cmd", &r->n_cmd);
  r->cwd = gstr(o, "cwd");
  r->user = gstr(o, "user");
  r->stop_signal = gstr(o, "stopSignal");
  r->tty = gbool(o, "tty");
  r->open_stdin = gbool(o, "openStdin");
  r->auto_remove = gbool(o, "autoRemove");
  json_object *v;
  if (json_object_object_get_ex(o, "ports", &v)) {
    size_t n = json_object_array_length(v);
    r->ports = calloc(n + 1, sizeof *r->ports);
    for (size_t i = 0; r->ports && i < n; i++) {
      json_object *p = json_object_array_get_idx(v, i);
      struct ctr_port *cp = &r->ports[r->n_ports++];
      cleanup_free char *hip = gstr(p, "hostIP");
      cleanup_free char *proto = gstr(p, "protocol");
      snprintf(cp->host_ip, sizeof cp->host_ip, "%s", hip ? hip : "");
      snprintf(cp->proto, sizeof cp->proto, "%s", proto ? proto : "tcp");
      cp->host_port = gint(p, "hostPort");
      cp->ctr_port = gint(p, "containerPort");
    }
  }
  if (json_object_object_get_ex(o, "binds", &v)) {
    size_t n = json_object_array_length(v);
    r->binds = calloc(n + 1, sizeof *r->binds);
    for (size_t i = 0; r->binds && i < n; i++) {
      json_object *b = json_object_array_get_idx(v, i);
      struct ctr_bind *cb = &r->binds[r->n_binds++];
      cb->src = gstr(b, "source");
      cb->dst = gstr(b, "destination");
      cb->ro = gbool(b, "readOnly");
    }
  }
  r->hostname = gstr(o, "hostname");
  r->cgroup_parent = gstr(o, "cgroupParent");
  gtime(o, "created", &r->created);
  gtime(o, "started", &r->started);
  gtime(o, "finished", &r->finished);
  r->status = gstr(o, "status");
  r->exit_code = gint(o, "exitCode");
  r->oom_killed = gbool(o, "oomKilled");
  r->error = gstr(o, "error");
  r->restarts = gint(o, "restarts");
  r->ip = gstr(o, "ip");
  r->gateway = gstr(o, "gateway");
  r->mac = gstr(o, "mac");
  r->prefix_len = gint(o, "prefixLen");
  json_object_put(o);
  if (!r->status)
    r->status = strdup("created");
  return 0;
}

int ctr_rec_save(const struct ctr_env *e, const struct ctr_rec *r) {
  char path[4200], tmp[4300];
  ctr_path(e, r->id, "container.json", path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  json_object *o = rec_to_json(r);
  const char *text = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t len = strlen(text);
  bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len &&
            fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  json_object_put(o);
  if (!ok || rename(tmp, path) < 0) {
    unlink(tmp);
    return ctr_fail("cannot write %s: %s", path, strerror(errno));
  }
  return 0;
}

/* ---- inspect ------------------------------------------------------------ */

char *ctr_rec_inspect_json(const struct ctr_env *e, const struct ctr_rec *r) {
  char path[4200];
  bool running = streq(r->status, "running");
  json_object *o = json_object_new_object();
  json_object_object_add(o, "Id", json_object_new_string(r->id));
  json_object_object_add(o, "Created", jtime(&r->created));
  json_object_object_add(o, "Path", jstr(r->argc ? r->argv[0] : ""));
  json_object_object_add(o, "Args",
                         jstrv(r->argc ? r->argv + 1 : NULL,
                               r->argc ? r->argc - 1 : 0));
  json_object *st = json_object_new_object();
  json_object_object_add(st, "Status", jstr(r->status));
  json_object_object_add(st, "Running", json_object_new_boolean(running));
  json_object_object_add(st, "Paused", json_object_new_boolean(false));
  json_object_object_add(st, "Restarting", json_object_new_boolean(false));
  json_object_object_add(st, "OOMKilled",
                         json_object_new_boolean(r->oom_killed));
  json_object_object_add(st, "Dead", json_object_new_boolean(false));
  kube_rt_state_t rs;
  memset(&rs, 0, sizeof rs);
  pid_t pid = 0;
  if (running && e->rt && kube_runtime_state(e->rt, r->id, &rs, NULL) == 0) {
    pid = rs.pid;
    kube_rt_state_clear(&rs);
  }
  json_object_object_add(st, "Pid", json_object_new_int(pid));
  json_object_object_add(st, "ExitCode", json_object_new_int(r->exit_code));
  json_object_object_add(st, "Error", jstr(r->error ? r->error : ""));
  json_object_object_add(st, "StartedAt", jtime(&r->started));
  json_object_object_add(st, "FinishedAt", jtime(&r->finished));
  json_object_object_add(o, "State", st);
  json_object_object_add(o, "Image", jstr(r->image_id));
  json_object_object_add(o, "LogPath",
                         jstr(ctr_path(e, r->id, "ctr.log", path, sizeof path)));
  char name[300];
  snprintf(name, sizeof name, "/%s", r->name ? r->name : "");
  json_object_object_add(o, "Name", json_object_new_string(name));
  json_object_object_add(o, "RestartCount", json_object_new_int(r->restarts));
  json_object_object_add(o, "Driver", json_object_new_string("overlay"));
  json_object *hc = json_object_new_object();
  json_object *binds = json_object_new_array();
  json_object *mounts = json_object_new_array();
  for (size_t i = 0; i < r->n_binds; i++) {
    char b[8400];
    snprintf(b, sizeof b, "%s:%s%s", r->binds[i].src, r->binds[i].dst,
             r->binds[i].ro ? ":ro" : "");
    json_object_array_add(binds, json_object_new_string(b));
    json_object *m = json_object_new_object();
    json_object_object_add(m, "Type", json_object_new_string("bind"));
    json_object_object_add(m, "Source", jstr(r->binds[i].src));
    json_object_object_add(m, "Destination", jstr(r->binds[i].dst));
    json_object_object_add(m, "Mode",
                           json_object_new_string(r->binds[i].ro ? "ro" : ""));
    json_object_object_add(m, "RW", json_object_new_boolean(!r->binds[i].ro));
    json_object_object_add(m, "Propagation", json_object_new_string("rprivate"));
    json_object_array_add(mounts, m);
  }
  json_object_object_add(hc, "Binds", binds);
  json_object *pb = json_object_new_object();
  json_object *ports = json_object_new_object();
  json_object *exposed = json_object_new_object();
  for (size_t i = 0; i < r->n_ports; i++) {
    const struct ctr_port *p = &r->ports[i];
    char key[32], hp[16];
    snprintf(key, sizeof key, "%d/%s", p->ctr_port, p->proto);
    snprintf(hp, sizeof hp, "%d", p->host_port);
    json_object *b = json_object_new_object();
    json_object_object_add(b, "HostIp", json_object_new_string(p->host_ip));
    json_object_object_add(b, "HostPort", json_object_new_string(hp));
    json_object *arr;
    if (!json_object_object_get_ex(pb, key, &arr)) {
      arr = json_object_new_array();
      json_object_object_add(pb, key, arr);
    }
    json_object_array_add(arr, b);
    json_object *nb = json_object_new_object();
    json_object_object_add(
        nb, "HostIp", json_object_new_string(*p->host_ip ? p->host_ip : "0.0.0.0"));
    json_object_object_add(nb, "HostPort", json_object_new_string(hp));
    if (!json_object_object_get_ex(ports, key, &arr)) {
      arr = json_object_new_array();
      json_object_object_add(ports, key, arr);
    }
    json_object_array_add(arr, nb);
    json_object_object_add(exposed, key, json_object_new_object());
  }
  json_object_object_add(hc, "PortBindings", pb);
  json_object_object_add(hc, "AutoRemove",
                         json_object_new_boolean(r->auto_remove));
  json_object_object_add(hc, "NetworkMode", json_object_new_string("bridge"));
  json_object_object_add(o, "HostConfig", hc);
  json_object_object_add(o, "Mounts", mounts);
  json_object *cfg = json_object_new_object();
  json_object_object_add(cfg, "Hostname", jstr(r->hostname));
  json_object_object_add(cfg, "User", jstr(r->user ? r->user : ""));
  json_object_object_add(cfg, "ExposedPorts", exposed);
  json_object_object_add(cfg, "Tty", json_object_new_boolean(r->tty));
  json_object_object_add(cfg, "OpenStdin",
                         json_object_new_boolean(r->open_stdin));
  json_object_object_add(cfg, "Env", jstrv(r->env, r->n_env));
  json_object_object_add(cfg, "Cmd", jstrv(r->cmd, r->n_cmd));
  json_object_object_add(cfg, "Image", jstr(r->image));
  json_object_object_add(cfg, "WorkingDir", jstr(r->cwd ? r->cwd : ""));
  json_object_object_add(cfg, "Entrypoint",
                         jstrv(r->entrypoint, r->n_entrypoint));
  json_object_object_add(cfg, "StopSignal",
                         jstr(r->stop_signal ? r->stop_signal : "SIGTERM"));
  json_object_object_add(o, "Config", cfg);
  json_object *ns = json_object_new_object();
  json_object_object_add(ns, "SandboxKey",
                         json_object_new_string(
                             running ? ctr_path(e, r->id, "ns/net", path,
                                                sizeof path)
                                     : ""));
  json_object_object_add(ns, "Ports", ports);
  json_object_object_add(ns, "IPAddress",
                         jstr(running && r->ip ? r->ip : ""));
  json_object_object_add(ns, "IPPrefixLen",
                         json_object_new_int(running ? r->prefix_len : 0));
  json_object_object_add(ns, "Gateway",
                         jstr(running && r->gateway ? r->gateway : ""));
  json_object_object_add(ns, "MacAddress",
                         jstr(running && r->mac ? r->mac : ""));
  json_object_object_add(o, "NetworkSettings", ns);
  char *text = strdup(json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
             JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return text;
}

/* ---- ids, names, locks ---------------------------------------------------- */

static bool is_hex64(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == 64;
}

int ctr_list_ids(const struct ctr_env *e, char ***ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  DIR *d = opendir(e->dir);
  if (!d)
    return errno == ENOENT ? 0 : ctr_fail("%s: %s", e->dir, strerror(errno));
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!is_hex64(de->d_name))
      continue;
    if (*n + 2 > cap) {
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(*ids, cap * sizeof *nv);
      if (!nv)
        break;
      *ids = nv;
    }
    (*ids)[(*n)++] = strdup(de->d_name);
    (*ids)[*n] = NULL;
  }
  closedir(d);
  return 0;
}

int ctr_resolve(const struct ctr_env *e, const char *q, char id_out[65]) {
  char **ids = NULL;
  size_t n = 0;
  int found = 0;
  if (ctr_list_ids(e, &ids, &n) < 0)
    return -1;
  /* a name first, then a full id, then an unambiguous prefix */
  for (size_t i = 0; i < n && !found; i++) {
    struct ctr_rec r;
    if (ctr_rec_load(e, ids[i], &r) < 0)
      continue;
    const char *nm = r.name && q[0] == '/' ? q + 1 : q;
    if (r.name && streq(r.name, nm)) {
      snprintf(id_out, 65, "%s", ids[i]);
      found = 1;
    }
    ctr_rec_clear(&r);
  }
  size_t ql = strlen(q);
  for (size_t i = 0; i < n && found != 1 && ql >= 1; i++) {
    if (strncmp(ids[i], q, ql) != 0)
      continue;
    if (found == 2 && ql < 64) {
      ctr_strv_free(ids, n);
      return ctr_fail("multiple containers found with provided prefix: %s",
                      q);
    }
    snprintf(id_out, 65, "%s", ids[i]);
    found = ql == 64 ? 1 : 2;
  }
  ctr_strv_free(ids, n);
  if (!found) {
    fprintf(stderr, "Error: No such container: %s\n", q);
    return -1;
  }
  return 0;
}

static int lock_path(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  return fd;
}

int ctr_lock(const struct ctr_env *e, const char *id) {
  char path[4200];
  return lock_path(ctr_path(e, id, "lock", path, sizeof path));
}

int ctr_lock_all(const struct ctr_env *e) {
  char path[4200];
  kube_error_t err = KUBE_ERROR_INIT;
  snprintf(path, sizeof path, "%s", e->dir);
  if (mkdir(path, 0711) < 0 && errno != EEXIST) {
    cli_fail("cannot create %s: %s", path, strerror(errno));
    kube_error_clear(&err);
    return -1;
  }
  snprintf(path, sizeof path, "%s/.lock", e->dir);
  int fd = lock_path(path);
  if (fd < 0)
    cli_fail("cannot lock %s: %s", path, strerror(errno));
  return fd;
}

void ctr_unlock(int fd) {
  if (fd >= 0)
    close(fd);
}

void ctr_new_id(char id[65]) {
  unsigned char b[32];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
    for (size_t i = 0; i < sizeof b; i++)
      b[i] = (unsigned char)(rand() ^ (int)(i * 131) ^ getpid());
  for (size_t i = 0; i < sizeof b; i++)
    snprintf(id + 2 * i, 3, "%02x", b[i]);
}

static bool name_taken(const struct ctr_env *e, const char *name) {
  char **ids = NULL;
  size_t n = 0;
  bool taken = false;
  if (ctr_list_ids(e, &ids, &n) < 0)
    return false;
  for (size_t i = 0; i < n && !taken; i++) {
    struct ctr_rec r;
    if (ctr_rec_load(e, ids[i], &r) < 0)
      continue;
    taken = r.name && streq(r.name, name);
    ctr_rec_clear(&r);
  }
  ctr_strv_free(ids, n);
  return taken;
}

char *ctr_random_name(const struct ctr_env *e) {
  static const char *const adj[] = {
      "admiring", "brave",   "clever", "dreamy", "eager",  "focused",
      "gallant",  "happy",   "jolly",  "keen",   "lucid",  "modest",
      "nifty",    "optimistic", "quirky", "serene", "tender", "vibrant",
      "wizardly", "zealous"};
  static const char *const who[] = {
      "turing",  "hopper",   "lovelace", "ritchie", "thompson", "torvalds",
      "knuth",   "dijkstra", "hamilton", "liskov",  "shannon",  "noether",
      "curie",   "darwin",   "euler",    "gauss",   "kepler",   "lamarr",
      "pike",    "wozniak"};
  for (int attempt = 0; attempt < 100; attempt++) {
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
      r = (unsigned)rand();
    char name[64];
    snprintf(name, sizeof name, "%s_%s", adj[r % ARRAY_SIZE(adj)],
             who[(r / 32) % ARRAY_SIZE(who)]);
    if (attempt >= 10)
      snprintf(name + strlen(name), sizeof name - strlen(name), "%u",
               (r / 1024) % 10);
    if (!name_taken(e, name))
      return strdup(name);
  }
  return NULL;
}

bool ctr_name_taken(const struct ctr_env *e, const char *name) {
  return name_taken(e, name);
}

int ctr_port_parse(const char *s, struct ctr_port *p, char *err, size_t len) {
  memset(p, 0, sizeof *p);
  snprintf(p->proto, sizeof p->proto, "tcp");
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  char *slash = strrchr(buf, '/');
  if (slash) {
    *slash = '\0';
    if (!streq(slash + 1, "tcp") && !streq(slash + 1, "udp")) {
      snprintf(err, len, "invalid proto: %s", slash + 1);
      return -1;
    }
    snprintf(p->proto, sizeof p->proto, "%s", slash + 1);
  }
  /* [IP:]HOST:CTR, [IP:]:CTR or CTR alone: host port 0, one is picked */
  char *last = strrchr(buf, ':');
  char *hostpart = (char *)"", *ctr = buf;
  if (last) {
    *last = '\0';
    hostpart = buf;
    ctr = last + 1;
    char *ipcolon = strrchr(hostpart, ':');
    if (ipcolon) {
      *ipcolon = '\0';
      snprintf(p->host_ip, sizeof p->host_ip, "%.63s", hostpart);
      hostpart = ipcolon + 1;
    }
  }
  char *end;
  long hp = strtol(hostpart, &end, 10);
  if (*end || hp < 0 || hp > 65535) {
    snprintf(err, len, "invalid host port \"%s\" in \"%s\"", hostpart, s);
    return -1;
  }
  long cp = strtol(ctr, &end, 10);
  if (!*ctr || *end || cp < 1 || cp > 65535) {
    snprintf(err, len, "invalid container port \"%s\" in \"%s\"", ctr, s);
    return -1;
  }
  p->host_port = (int)hp;
  p->ctr_port = (int)cp;
  return 0;
}
