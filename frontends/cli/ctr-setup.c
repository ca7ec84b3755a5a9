/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube container: bringing one container up (rootfs, pinned namespaces,
 * its CNI attachment with port mappings, /etc files, the runtime config)
 * and tearing it down again when it stops, leaving nothing behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <libkube/net.h>

#include "ctr.h"

#define CTR_NETWORK "kube-containers"

static char *sdup(const char *s) {
  return s ? strdup(s) : NULL;
}

static int fail_err(kube_error_t *err, const char *ctx) {
  if (ctx)
    cli_fail("%s: %s", ctx, err->message ? err->message : "failed");
  else
    cli_fail("%s", err->message ? err->message : "failed");
  kube_error_clear(err);
  return -1;
}

/* ---- CNI ------------------------------------------------------------------ */

static kube_cni_t *ctr_cni(struct ctr_env *e, bool write_conf,
                           kube_error_t *err) {
  char conf_dir[4200], cache[4200], ipam[4200], conf[4300];
  snprintf(conf_dir, sizeof conf_dir, "%s/cni/net.d", e->dir);
  snprintf(cache, sizeof cache, "%s/cni/cache", e->dir);
  snprintf(ipam, sizeof ipam, "%s/cni/networks", e->dir);
  if (write_conf) {
    kube_cni_bridge_options_t bo = {.struct_size = sizeof bo,
                                    .name = CTR_NETWORK,
                                    .bridge = e->bridge,
                                    .subnet = e->subnet,
                                    .ipam_dir = ipam,
                                    .ip_masq = true};
    cleanup_free char *json = kube_cni_bridge_conflist(&bo, err);
    snprintf(conf, sizeof conf, "%s/10-%s.conflist", conf_dir, CTR_NETWORK);
    char mk[4300];
    snprintf(mk, sizeof mk, "%s/cni", e->dir);
    mkdir(mk, 0700);
    if (!json || (mkdir(conf_dir, 0755) < 0 && errno != EEXIST) ||
        kube_cni_write_conf(conf, json, err) < 0) {
      if (!kube_error_is_set(err))
        kube_error_set(err, KUBE_REASON_INTERNAL, errno, "%s: %s", conf_dir,
                       strerror(errno));
      return NULL;
    }
  }
  kube_cni_options_t o = {.struct_size = sizeof o,
                          .conf_dir = conf_dir,
                          .cache_dir = cache};
  return kube_cni_new(&o, err);
}

static void attachment(struct ctr_env *e, const struct ctr_rec *r,
                       kube_cni_attachment_t *a, kube_cni_port_mapping_t *pm,
                       char *netns, size_t len) {
  ctr_path(e, r->id, "ns/net", netns, len);
  for (size_t i = 0; i < r->n_ports; i++)
    pm[i] = (kube_cni_port_mapping_t){r->ports[i].host_port,
                                      r->ports[i].ctr_port, r->ports[i].proto,
                                      r->ports[i].host_ip};
  *a = (kube_cni_attachment_t){.struct_size = sizeof *a,
                               .container_id = r->id,
                               .netns = netns,
                               .pod_name = r->name,
                               .port_mappings = pm,
                               .n_port_mappings = r->n_ports};
}

/* docker's -p CTR: a free host port, picked the way the kernel picks an
 * ephemeral one. */
static int pick_host_port(struct ctr_port *p) {
  int s = socket(AF_INET, (streq(p->proto, "udp") ? SOCK_DGRAM : SOCK_STREAM) |
                              SOCK_CLOEXEC,
                 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof sa;
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
    if (s >= 0)
      close(s);
    return ctr_fail("cannot pick a host port for %d/%s: %s", p->ctr_port,
                    p->proto, strerror(errno));
  }
  close(s);
  p->host_port = ntohs(sa.sin_port);
  return 0;
}

/* A host port another running container maps, or a socket of the host
 * holds: "Bind for 0.0.0.0:8080 failed: port is already allocated". */
static int ports_free(struct ctr_env *e, struct ctr_rec *r) {
  char **ids = NULL;
  size_t n = 0;
  ctr_list_ids(e, &ids, &n);
  for (size_t k = 0; k < r->n_ports; k++) {
    struct ctr_port *p = &r->ports[k];
    if (p->host_port == 0 && pick_host_port(p) < 0) {
      ctr_strv_free(ids, n);
      return -1;
    }
    bool taken = false;
    for (size_t i = 0; i < n && !taken; i++) {
      struct ctr_rec o;
      if (streq(ids[i], r->id) || ctr_rec_load(e, ids[i], &o) < 0)
        continue;
      for (size_t j = 0; streq(o.status, "running") && j < o.n_ports; j++)
        taken = taken || (o.ports[j].host_port == p->host_port &&
                          streq(o.ports[j].proto, p->proto));
      ctr_rec_clear(&o);
    }
    if (!taken) {
      /* a listener of the host: portmap's DNAT would steal its traffic */
      int s = socket(AF_INET, (streq(p->proto, "udp") ? SOCK_DGRAM
                                                      : SOCK_STREAM) |
                                  SOCK_CLOEXEC,
                     0);
      struct sockaddr_in sa = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)p->host_port)};
      if (!*p->host_ip || inet_pton(AF_INET, p->host_ip, &sa.sin_addr) != 1)
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
      if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 &&
          errno == EADDRINUSE)
        taken = true;
      if (s >= 0)
        close(s);
    }
    if (taken) {
      ctr_strv_free(ids, n);
      return ctr_fail("driver failed programming external connectivity on "
                      "container %s: Bind for %s:%d failed: port is "
                      "already allocated",
                      r->name, *p->host_ip ? p->host_ip : "0.0.0.0",
                      p->host_port);
    }
  }
  ctr_strv_free(ids, n);
  return 0;
}

/* ---- users, /etc files ----------------------------------------------------- */

/* Look `name` (or a number) up in rootfs/etc/<file> (passwd or group):
 * the id and, for passwd, the primary group.  -1 when absent. */
static int lookup_id(const char *rootfs, const char *file, const char *name,
                     long *id, long *gid) {
  char *end;
  long num = strtol(name, &end, 10);
  bool numeric = *name && !*end;
  char path[4300];
  snprintf(path, sizeof path, "%s/etc/%s", rootfs, file);
  FILE *f = fopen(path, "re");
  char line[1024];
  int rc = -1;
  while (f && fgets(line, sizeof line, f)) {
    char *fields[4] = {0};
    char *save = NULL, *tok = strtok_r(line, ":", &save);
    for (int i = 0; tok && i < 4; i++, tok = strtok_r(NULL, ":\n", &save))
      fields[i] = tok;
    if (!fields[2])
      continue;
    long uid = strtol(fields[2], NULL, 10);
    if (numeric ? uid != num : !streq(fields[0], name))
      continue;
    *id = uid;
    if (gid)
      *gid = fields[3] ? strtol(fields[3], NULL, 10) : 0;
    rc = 0;
    break;
  }
  if (f)
    fclose(f);
  if (rc < 0 && numeric) {
    *id = num;
    if (gid)
      *gid = 0;
    rc = 0;
  }
  return rc;
}

/* docker's -u forms: "name", "uid", "name:group", "uid:gid". */
static int resolve_user(const char *rootfs, const char *user, uid_t *uid,
                        gid_t *gid) {
  *uid = 0;
  *gid = 0;
  if (!user || !*user)
    return 0;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", user);
  char *grp = strchr(buf, ':');
  if (grp)
    *grp++ = '\0';
  long u = 0, g = 0;
  if (lookup_id(rootfs, "passwd", buf, &u, &g) < 0)
    return ctr_fail("unable to find user %s: no matching entries in passwd "
                    "file",
                    buf);
  if (grp && *grp && lookup_id(rootfs, "group", grp, &g, NULL) < 0)
    return ctr_fail("unable to find group %s: no matching entries in group "
                    "file",
                    grp);
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  return 0;
}

static int write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return ctr_fail("%s: %s", path, strerror(errno));
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  close(fd);
  return n == (ssize_t)len ? 0 : ctr_fail("%s: short write", path);
}

/* hosts, hostname and resolv.conf (the host's, minus loopback servers
 * the container cannot reach), as docker writes them. */
static int write_etc(struct ctr_env *e, const struct ctr_rec *r) {
  char path[4200];
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                     "ip6-loopback\nfe00::0\tip6-localnet\nff00::0\t"
                     "ip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\t"
                     "ip6-allrouters\n");
  if (r->ip)
    kube_strbuf_printf(&sb, "%s\t%s\n", r->ip, r->hostname);
  cleanup_free char *hosts = kube_strbuf_steal(&sb);
  if (!hosts || write_text(ctr_path(e, r->id, "hosts", path, sizeof path),
                           hosts) < 0)
    return -1;
  char hn[128];
  snprintf(hn, sizeof hn, "%s\n", r->hostname);
  if (write_text(ctr_path(e, r->id, "hostname", path, sizeof path), hn) < 0)
    return -1;
  FILE *f = fopen("/etc/resolv.conf", "re");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    char addr[256];
    if (sscanf(line, "nameserver %255s", addr) == 1 &&
        (str_has_prefix(addr, "127.") || streq(addr, "::1")))
      continue;
    kube_strbuf_append(&sb, line);
  }
  if (f)
    fclose(f);
  cleanup_free char *resolv = kube_strbuf_steal(&sb);
  return write_text(ctr_path(e, r->id, "resolv.conf", path, sizeof path),
                    resolv ? resolv : "");
}

/* ---- the runtime config ----------------------------------------------------- */

static int add_bind(kube_rt_config_t *cfg, const char *dst, const char *src,
                    bool ro) {
  kube_rt_mount_t *m =
      realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof *cfg->mounts);
  if (!m)
    return -1;
  cfg->mounts = m;
  m = &cfg->mounts[cfg->n_mounts];
  memset(m, 0, sizeof *m);
  m->destination = strdup(dst);
  m->type = strdup("bind");
  m->source = strdup(src);
  m->options = calloc(3, sizeof *m->options);
  if (!m->destination || !m->type || !m->source || !m->options)
    return -1;
  m->options[m->n_options++] = strdup("rbind");
  m->options[m->n_options++] = strdup(ro ? "ro" : "rw");
  cfg->n_mounts++;
  return 0;
}

static char **strv_copy(char **v, size_t n, const char *extra1,
                        const char *extra2) {
  char **out = calloc(n + 3, sizeof *out);
  size_t k = 0;
  for (size_t i = 0; out && i < n; i++)
    out[k++] = strdup(v[i]);
  if (out && extra1)
    out[k++] = strdup(extra1);
  if (out && extra2)
    out[k++] = strdup(extra2);
  return out;
}

static bool env_has(char **env, size_t n, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i < n; i++)
    if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
      return true;
  return false;
}

static kube_rt_config_t *build_config(struct ctr_env *e, const struct ctr_rec *r,
                                      const char *rootfs) {
  uid_t uid;
  gid_t gid;
  if (resolve_user(rootfs, r->user, &uid, &gid) < 0)
    return NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *cfg = kube_rt_config_new_default(&err);
  if (!cfg) {
    fail_err(&err, NULL);
    return NULL;
  }
  char path[4200], hn[160];
  ctr_path(e, r->id, "ns", path, sizeof path);
  if (kube_rt_config_join_sandbox(cfg, path, &err) < 0) {
    fail_err(&err, NULL);
    kube_rt_config_free(cfg);
    return NULL;
  }
  ctr_strv_free(cfg->args, cfg->n_args);
  cfg->args = strv_copy(r->argv, r->argc, NULL, NULL);
  cfg->n_args = r->argc;
  snprintf(hn, sizeof hn, "HOSTNAME=%s", r->hostname);
  const char *path_env =
      env_has(r->env, r->n_env, "PATH")
          ? NULL
          : "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  ctr_strv_free(cfg->env, cfg->n_env);
  /* docker: PATH (when the image has none), HOSTNAME, TERM with -t, then
   * the image's and -e's */
  char **env = calloc(r->n_env + 4, sizeof *env);
  size_t ne = 0;
  if (env && path_env)
    env[ne++] = strdup(path_env);
  if (env)
    env[ne++] = strdup(hn);
  if (env && r->tty && !env_has(r->env, r->n_env, "TERM"))
    env[ne++] = strdup("TERM=xterm");
  for (size_t i = 0; env && i < r->n_env; i++)
    env[ne++] = strdup(r->env[i]);
  cfg->env = env;
  cfg->n_env = ne;
  free(cfg->root_path);
  cfg->root_path = strdup(rootfs);
  free(cfg->cwd);
  cfg->cwd = strdup(r->cwd && *r->cwd ? r->cwd : "/");
  /* docker makes a missing working directory */
  char wd[8400];
  size_t root_len = strlen(rootfs);
  snprintf(wd, sizeof wd, "%s%s", rootfs, cfg->cwd);
  for (char *p = wd + root_len + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(wd, 0755);
      *p = '/';
    }
  mkdir(wd, 0755);
  cfg->uid = uid;
  cfg->gid = gid;
  cfg->terminal = r->tty;
  free(cfg->hostname);
  cfg->hostname = NULL;
  static const char *const etc[][2] = {{"/etc/hosts", "hosts"},
                                       {"/etc/hostname", "hostname"},
                                       {"/etc/resolv.conf", "resolv.conf"}};
  bool ok = cfg->args && cfg->env && cfg->root_path && cfg->cwd;
  for (size_t i = 0; ok && i < ARRAY_SIZE(etc); i++)
    ok = add_bind(cfg, etc[i][0], ctr_path(e, r->id, etc[i][1], path,
                                           sizeof path),
                  false) == 0;
  for (size_t i = 0; ok && i < r->n_binds; i++)
    ok = add_bind(cfg, r->binds[i].dst, r->binds[i].src, r->binds[i].ro) == 0;
  free(cfg->cgroups_path);
  if (asprintf(&cfg->cgroups_path, "/%s/%s",
               r->cgroup_parent ? r->cgroup_parent : e->cgroup_parent,
               r->id) < 0)
    cfg->cgroups_path = NULL;
  ok = ok && cfg->cgroups_path &&
       kube_rt_config_annotate(cfg, "io.libkube.container.name", r->name,
                               NULL) == 0;
  if (!ok) {
    cli_fail("out of memory");
    kube_rt_config_free(cfg);
    return NULL;
  }
  return cfg;
}

/* ---- up / down ---------------------------------------------------------------- */

int ctr_up(struct ctr_env *e, struct ctr_rec *r, bool attach_first) {
  kube_runtime_t *rt = ctr_runtime(e);
  kube_image_store_t *store = ctr_store(e);
  if (!rt || !store)
    return -1;
  kube_error_t err = KUBE_ERROR_INIT;
  char dir[4200], path[4200], netns[4300];
  cleanup_free char *rootfs = NULL;
  kube_rt_config_t *cfg = NULL;
  kube_cni_t *cni = NULL;
  cleanup_free kube_cni_port_mapping_t *pm = NULL;
  int all = -1;
  free(r->error);
  r->error = NULL;
  e->create_errno = 0;
  if (kube_image_rootfs_prepare(store, r->image_id,
                                ctr_path(e, r->id, "fs", dir, sizeof dir),
                                &rootfs, &err) < 0) {
    fail_err(&err, NULL);
    goto fail;
  }
  /* docker's default: any user may bind any port in its own namespace */
  static char *keys[] = {"net.ipv4.ip_unprivileged_port_start"};
  static char *values[] = {"0"};
  kube_sandbox_options_t so = {.struct_size = sizeof so,
                               .hostname = r->hostname,
                               .sysctl_keys = keys,
                               .sysctl_values = values,
                               .n_sysctl = 1};
  if (kube_runtime_sandbox_pin(rt, ctr_path(e, r->id, "ns", path, sizeof path),
                               &so, &err) < 0) {
    fail_err(&err, NULL);
    goto fail;
  }
  /* the ports and the address are handed out one container at a time */
  if ((all = ctr_lock_all(e)) < 0 || ports_free(e, r) < 0)
    goto fail;
  if (!(cni = ctr_cni(e, true, &err))) {
    fail_err(&err, "network " CTR_NETWORK);
    goto fail;
  }
  kube_cni_attachment_t at;
  if (!(pm = calloc(r->n_ports + 1, sizeof *pm))) {
    cli_fail("out of memory");
    goto fail;
  }
  attachment(e, r, &at, pm, netns, sizeof netns);
  kube_cni_result_t res;
  memset(&res, 0, sizeof res);
  if (kube_cni_add(cni, &at, &res, &err) < 0) {
    fail_err(&err, "failed to set up the container's network");
    goto fail;
  }
  free(r->ip);
  free(r->gateway);
  free(r->mac);
  r->ip = r->gateway = r->mac = NULL;
  char ipbuf[64];
  if (kube_cni_result_ip(&res, 0, ipbuf, sizeof ipbuf)) {
    r->ip = strdup(ipbuf);
    const char *slash = strchr(res.ips[0].address, '/');
    r->prefix_len = slash ? atoi(slash + 1) : 0;
    r->gateway = sdup(res.ips[0].gateway);
    int ifc = res.ips[0].interface;
    if (ifc >= 0 && (size_t)ifc < res.n_interfaces)
      r->mac = sdup(res.interfaces[ifc].mac);
  }
  kube_cni_result_clear(&res);
  ctr_unlock(all);
  all = -1;
  if (write_etc(e, r) < 0 || !(cfg = build_config(e, r, rootfs)))
    goto fail;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.log_path = ctr_path(e, r->id, "ctr.log", path, sizeof path);
  io.attachable = true;
  io.open_stdin = r->open_stdin;
  io.stdin_once = r->open_stdin && attach_first;
  io.log_max_size = -1; /* docker's json-file: no rotation by default */
  if (kube_runtime_create_ex(rt, r->id, cfg, &io,
                             attach_first ? 0 : KUBE_RT_START, &err) < 0) {
    e->create_errno = err.errnum;
    fail_err(&err, "failed to create the container");
    goto fail;
  }
  kube_rt_config_free(cfg);
  kube_cni_free(cni);
  free(r->status);
  r->status = strdup("running");
  clock_gettime(CLOCK_REALTIME, &r->started);
  memset(&r->finished, 0, sizeof r->finished);
  r->exit_code = 0;
  r->oom_killed = false;
  return ctr_rec_save(e, r) < 0 ? -1 : 0;
fail:
  ctr_unlock(all);
  kube_rt_config_free(cfg);
  kube_cni_free(cni);
  ctr_down(e, r);
  return -1;
}

int ctr_up_exit_code(const struct ctr_env *e) {
  return e->create_errno == ENOENT   ? 127
         : e->create_errno == EACCES ? 126
                                     : 125;
}

void ctr_down(struct ctr_env *e, struct ctr_rec *r) {
  kube_runtime_t *rt = ctr_runtime(e);
  char path[4300], netns[4300];
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_state_t st;
  if (rt && kube_runtime_state(rt, r->id, &st, NULL) == 0) {
    if (st.status == KUBE_RT_STOPPED && st.exited) {
      r->exit_code = st.exit.exit_code;
      r->oom_killed = st.exit.oom_killed;
      r->finished = st.exit.finished_at;
    } else if (st.status != KUBE_RT_STOPPED) {
      r->exit_code = 137;
      clock_gettime(CLOCK_REALTIME, &r->finished);
    }
    kube_rt_state_clear(&st);
    if (kube_runtime_delete(rt, r->id, true, &err) < 0) {
      fprintf(stderr, "warning: %s\n", err.message);
      kube_error_clear(&err);
    }
  }
  /* one CNI operation at a time: plugins that change iptables at once
   * fail now and then (the bridge's DEL then leaves its ipMasq chain) */
  int all = ctr_lock_all(e);
  kube_cni_t *cni = ctr_cni(e, false, NULL);
  if (cni) {
    kube_cni_attachment_t at;
    cleanup_free kube_cni_port_mapping_t *pm =
        calloc(r->n_ports + 1, sizeof *pm);
    attachment(e, r, &at, pm, netns, sizeof netns);
    if (pm && kube_cni_del(cni, &at, &err) < 0) {
      fprintf(stderr, "warning: %s\n", err.message);
      kube_error_clear(&err);
    }
    kube_cni_free(cni);
  }
  ctr_unlock(all);
  if (rt)
    kube_runtime_sandbox_unpin(rt, ctr_path(e, r->id, "ns", path, sizeof path),
                               NULL);
  /* the rootfs mount goes; its upper layer stays for the next start */
  ctr_path(e, r->id, "fs/rootfs", path, sizeof path);
  if (umount2(path, 0) < 0 && errno == EBUSY)
    umount2(path, MNT_DETACH);
  if (r->status && streq(r->status, "running")) {
    free(r->status);
    r->status = strdup("exited");
    if (!r->finished.tv_sec)
      clock_gettime(CLOCK_REALTIME, &r->finished);
  }
}

static int rm_tree(const char *path) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/rm", "rm", "-rf", "--one-file-system", path, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

void ctr_remove(struct ctr_env *e, struct ctr_rec *r) {
  char path[4300];
  ctr_down(e, r);
  kube_image_store_t *store = ctr_store(e);
  kube_error_t err = KUBE_ERROR_INIT;
  if (store && kube_image_rootfs_release(store,
                                         ctr_path(e, r->id, "fs", path,
                                                  sizeof path),
                                         &err) < 0) {
    fprintf(stderr, "warning: %s\n", err.message);
    kube_error_clear(&err);
  }
  if (rm_tree(ctr_path(e, r->id, NULL, path, sizeof path)) < 0)
    fprintf(stderr, "warning: cannot remove %s\n", path);
  /* the last one out removes the cgroup parent */
  char **ids = NULL;
  size_t n = 0;
  int all = ctr_lock_all(e);
  ctr_list_ids(e, &ids, &n);
  if (n == 0 && ctr_runtime(e)) {
    char cg[512];
    snprintf(cg, sizeof cg, "/%s",
             r->cgroup_parent ? r->cgroup_parent : e->cgroup_parent);
    kube_runtime_pod_cgroup_remove(e->rt, cg, 2000, NULL);
  }
  ctr_strv_free(ids, n);
  ctr_unlock(all);
}

kube_rt_status_t ctr_refresh(struct ctr_env *e, struct ctr_rec *r) {
  kube_runtime_t *rt = ctr_runtime(e);
  kube_rt_state_t st;
  kube_rt_status_t s = KUBE_RT_STOPPED;
  if (rt && kube_runtime_state(rt, r->id, &st, NULL) == 0) {
    s = st.status;
    kube_rt_state_clear(&st);
  }
  if (streq(r->status, "running") && s == KUBE_RT_STOPPED) {
    ctr_down(e, r);
    ctr_rec_save(e, r);
  }
  return s;
}

void ctr_finish(struct ctr_env *e, const char *id) {
  int fd = ctr_lock(e, id);
  if (fd < 0)
    return;
  struct ctr_rec r;
  if (ctr_rec_load(e, id, &r) == 0) {
    kube_rt_status_t s = ctr_refresh(e, &r);
    if (r.auto_remove && s == KUBE_RT_STOPPED)
      ctr_remove(e, &r);
    ctr_rec_clear(&r);
  }
  ctr_unlock(fd);
}

void ctr_spawn_waiter(struct ctr_env *e, const char *id) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return;
  if (pid > 0) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    return;
  }
  setsid();
  if (fork() != 0)
    _exit(0);
  /* nothing of the caller's: its pipes (a shell's $(...)) and locks */
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  syscall(SYS_close_range, 3U, ~0U, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  struct ctr_env w = *e;
  w.rt = NULL;    /* its fds are gone: leak the old handles, open anew */
  w.store = NULL;
  w.dir = strdup(e->dir);
  w.rt_root = strdup(e->rt_root);
  kube_runtime_t *rt = ctr_runtime(&w);
  kube_rt_exit_t ex;
  if (rt)
    kube_runtime_wait(rt, id, -1, &ex, NULL);
  /* a foreground run finishes its container itself while it lives */
  char path[4200];
  int fd = open(ctr_path(&w, id, "attached", path, sizeof path),
                O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
      ;
  ctr_finish(&w, id);
  _exit(0);
}
