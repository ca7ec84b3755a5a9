/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting a pod's containers.  On the loop, each container's plan is made
 * from the pod and the caches (environment, mounts, security settings,
 * credentials); on a worker the image is ensured per its pull policy, a
 * root file system prepared, the image configuration merged with the plan
 * as Kubernetes merges it (command/args vs Entrypoint/Cmd, env, workingDir,
 * user), and the runtime container created and started with its CRI log.
 */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "node/agent.h"

enum stage { ST_OK = 0, ST_PULL, ST_NEVER_PULL, ST_CONFIG, ST_CREATE, ST_RUN };

struct ct_mount {
  char *dest, *src, *sub_path;
  bool ro;
};

struct ct_plan {
  /* in */
  char *name;
  enum nd_kind kind;
  int attempt;
  char id[65];
  char *image;
  kube_image_pull_policy_t policy;
  char **auths;
  size_t n_auths;
  char **command, **args;
  size_t n_command, n_args;
  bool has_command, has_args;
  struct nd_env env;
  char *working_dir;
  int64_t uid, gid;
  bool non_root;
  gid_t *groups;
  size_t n_groups;
  bool ro_root, privileged, no_new_privs;
  uint64_t caps_add, caps_drop;
  bool drop_all;
  int seccomp; /* 0 unconfined, 1 runtime default, 2 localhost */
  char *seccomp_path;
  struct ct_mount *mounts;
  size_t n_mounts;
  bool tty, stdin_open, stdin_once;
  /* an ephemeral container's targetContainerName: that container's
   * runtime id (its PID namespace is joined), then the namespace path */
  char *target_name, *target_id, *target_pidns;
  kube_rt_resources_t res;
  char *cgroup_path, *log_path, *dir, *term_path, *term_dest;
  /* out */
  enum stage stage;
  char *error, *waiting_reason;
  char *image_id, *image_ref, *stop_signal, *rootfs_dir;
  struct timespec created, started;
  pid_t pid;
};

struct ct_job {
  uint64_t own_caps; /* what the agent holds: a container gets no more */
  char *uid, *ns, *name, *pod_dir, *desc, *hostname;
  bool host_network, host_pid, host_ipc, share_pid;
  struct ct_plan *plans;
  size_t n;
};

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

static void plan_clear(struct ct_plan *c) {
  free(c->name);
  free(c->image);
  strv_free(c->auths, c->n_auths);
  strv_free(c->command, c->n_command);
  strv_free(c->args, c->n_args);
  nd_env_clear(&c->env);
  free(c->working_dir);
  free(c->target_name);
  free(c->target_id);
  free(c->target_pidns);
  free(c->groups);
  free(c->seccomp_path);
  for (size_t i = 0; i < c->n_mounts; i++) {
    free(c->mounts[i].dest);
    free(c->mounts[i].src);
    free(c->mounts[i].sub_path);
  }
  free(c->mounts);
  free(c->cgroup_path);
  free(c->log_path);
  free(c->dir);
  free(c->term_path);
  free(c->term_dest);
  free(c->error);
  free(c->waiting_reason);
  free(c->image_id);
  free(c->image_ref);
  free(c->stop_signal);
  free(c->rootfs_dir);
}

static void ct_free(nd_job_t *j) {
  struct ct_job *cj = j->data;
  for (size_t i = 0; i < cj->n; i++)
    plan_clear(&cj->plans[i]);
  free(cj->plans);
  free(cj->uid);
  free(cj->ns);
  free(cj->name);
  free(cj->pod_dir);
  free(cj->desc);
  free(cj->hostname);
  free(cj);
}

int nd_signal_parse(const char *s) {
  if (!s || !*s)
    return SIGTERM;
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end && n > 0 && n < 65)
    return (int)n;
  if (str_has_prefix(s, "SIG"))
    s += 3;
  static const struct {
    const char *name;
    int sig;
  } sigs[] = {{"TERM", SIGTERM}, {"INT", SIGINT},     {"QUIT", SIGQUIT},
              {"KILL", SIGKILL}, {"HUP", SIGHUP},     {"USR1", SIGUSR1},
              {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}, {"STOP", SIGSTOP},
              {"PWR", SIGPWR}};
  for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
    if (strcasecmp(s, sigs[i].name) == 0)
      return sigs[i].sig;
  if (str_has_prefix(s, "RTMIN+"))
    return SIGRTMIN + atoi(s + 6);
  return SIGTERM;
}

/* The bounding set of this process (read once). */
uint64_t nd_own_caps(void) {
  static uint64_t caps;
  if (caps)
    return caps;
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  unsigned long long v = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "CapBnd: %llx", &v) == 1)
      break;
  if (f)
    fclose(f);
  caps = v ? v : kube_caps_default();
  return caps;
}

/* The container joins namespace t at path (instead of a new one). */
static int join_ns(kube_rt_config_t *cfg, kube_ns_type_t t, const char *path,
                   kube_error_t *err) {
  bool found = false;
  for (size_t i = 0; i < cfg->n_namespaces; i++)
    if (cfg->namespaces[i].type == t) {
      free(cfg->namespaces[i].path);
      cfg->namespaces[i].path = strdup(path);
      found = true;
    }
  if (!found) {
    kube_rt_namespace_t *v =
        realloc(cfg->namespaces, (cfg->n_namespaces + 1) * sizeof *v);
    if (!v)
      return kube_make_oom(err);
    cfg->namespaces = v;
    v[cfg->n_namespaces].type = t;
    v[cfg->n_namespaces++].path = strdup(path);
  }
  return 0;
}

/* Join the namespaces pinned in the sandbox directory, whichever they are
 * (a host-network pod pins only ipc). */
static int join_pinned(kube_rt_config_t *cfg, const char *ns_dir,
                       kube_error_t *err) {
  unsigned pinned = kube_runtime_sandbox_pinned(ns_dir);
  for (int t = 0; t < KUBE_NS__COUNT; t++) {
    if (!(pinned & (1u << t)))
      continue;
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", ns_dir, kube_ns_file_name(t));
    if (join_ns(cfg, (kube_ns_type_t)t, path, err) < 0)
      return -1;
    if (t == KUBE_NS_UTS) {
      free(cfg->hostname); /* the sandbox's uts namespace holds it */
      cfg->hostname = NULL;
    }
  }
  return 0;
}

/* ---- the worker --------------------------------------------------------- */

static char *duration(int64_t ns) {
  char *s = NULL;
  if (ns < 1000000000)
    return asprintf(&s, "%lldms", (long long)(ns / 1000000)) < 0 ? NULL : s;
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f", (double)(ns / 1000000) / 1000.0);
  size_t n = strlen(buf);
  while (n && buf[n - 1] == '0')
    buf[--n] = '\0';
  if (n && buf[n - 1] == '.')
    buf[--n] = '\0';
  return asprintf(&s, "%ss", buf) < 0 ? NULL : s;
}

static int pull(nd_job_t *j, struct ct_job *cj, struct ct_plan *c,
                kube_image_info_t *info) {
  kube_node_agent_t *a = j->a;
  kube_error_t e = KUBE_ERROR_INIT;
  bool present = false;
  if (c->policy != KUBE_IMAGE_PULL_ALWAYS) {
    kube_image_info_t tmp;
    present = kube_image_inspect(a->images, c->image, &tmp, NULL) == 0;
    if (present)
      kube_image_info_clear(&tmp);
  }
  if (c->policy == KUBE_IMAGE_PULL_NEVER && !present) {
    c->stage = ST_NEVER_PULL;
    if (asprintf(&c->error,
                 "Container image \"%s\" is not present with pull policy of "
                 "Never",
                 c->image) < 0)
      c->error = NULL;
    nd_job_event(j, "Warning", "ErrImageNeverPull", c->name, "%s",
                 c->error ? c->error : "");
    return -1;
  }
  int64_t t0 = kube_time_mono_ns();
  if (!present)
    nd_post_event(a, cj->uid, "Normal", "Pulling", c->name,
                  "Pulling image \"%s\"", c->image);
  kube_image_transfer_options_t to = {.struct_size = sizeof to,
                                      .auth_configs =
                                          (const char *const *)c->auths,
                                      .n_auth_configs = c->n_auths};
  if (kube_image_ensure(a->images, c->image,
                        present ? KUBE_IMAGE_PULL_IF_NOT_PRESENT : c->policy,
                        &to, info, &e) < 0) {
    c->stage = ST_PULL;
    c->error = strdup(e.message ? e.message : "pull failed");
    nd_job_event(j, "Warning", "Failed", c->name,
                 "Failed to pull image \"%s\": %s", c->image,
                 c->error ? c->error : "");
    nd_job_event(j, "Warning", "Failed", c->name, "Error: ErrImagePull");
    kube_error_clear(&e);
    return -1;
  }
  if (present) {
    nd_job_event(j, "Normal", "Pulled", c->name,
                 "Container image \"%s\" already present on machine", c->image);
  } else {
    cleanup_free char *d = duration(kube_time_mono_ns() - t0);
    nd_job_event(j, "Normal", "Pulled", c->name,
                 "Successfully pulled image \"%s\" in %s (%s including "
                 "waiting). Image size: %lld bytes.",
                 c->image, d ? d : "?", d ? d : "?", (long long)info->size);
  }
  return 0;
}

/* A file of the image's root, resolved inside it (symlinks cannot
 * escape). */
static char *root_file(const char *rootfs, const char *path) {
  int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return NULL;
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                         .resolve = RESOLVE_IN_ROOT};
  int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  close(root);
  if (fd < 0)
    return NULL;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  char *text = core_read_file(proc, NULL);
  close(fd);
  return text;
}

/* name -> uid (and its primary gid) from the image's /etc/passwd. */
static bool passwd_lookup(const char *rootfs, const char *name, int64_t *uid,
                          int64_t *gid) {
  cleanup_free char *text = root_file(rootfs, "etc/passwd");
  if (!text)
    return false;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    char *f[7] = {0};
    char *s = l;
    for (int i = 0; i < 7 && s; i++) {
      f[i] = s;
      s = strchr(s, ':');
      if (s)
        *s++ = '\0';
    }
    if (!f[3])
      continue;
    bool match = streq(f[0], name) ||
                 (isdigit((unsigned char)name[0]) && streq(f[2], name));
    if (match) {
      *uid = atoll(f[2]);
      *gid = atoll(f[3]);
      return true;
    }
  }
  return false;
}

static bool group_lookup(const char *rootfs, const char *name, int64_t *gid) {
  cleanup_free char *text = root_file(rootfs, "etc/group");
  if (!text)
    return false;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(l, ':');
    char *g = colon ? strchr(colon + 1, ':') : NULL;
    if (!colon || !g)
      continue;
    *colon = '\0';
    if (streq(l, name)) {
      *gid = atoll(g + 1);
      return true;
    }
  }
  return false;
}

/* The groups of /etc/group listing the user (containerd's additional
 * gids). */
static void member_groups(const char *rootfs, const char *user,
                          struct ct_plan *c) {
  if (!user)
    return;
  cleanup_free char *text = root_file(rootfs, "etc/group");
  if (!text)
    return;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    char *f[4] = {0};
    char *s = l;
    for (int i = 0; i < 4 && s; i++) {
      f[i] = s;
      s = strchr(s, ':');
      if (s)
        *s++ = '\0';
    }
    if (!f[3] || !f[2])
      continue;
    for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
      if (streq(m, user)) {
        gid_t *g = realloc(c->groups, (c->n_groups + 1) * sizeof *g);
        if (g) {
          c->groups = g;
          c->groups[c->n_groups++] = (gid_t)atoll(f[2]);
        }
      }
  }
}

/* The user the container runs as: the securityContext's, else the
 * image's USER (a name resolved in the image), with runAsNonRoot. */
static int resolve_user(struct ct_job *cj, struct ct_plan *c,
                        const kube_image_config_t *ic, const char *rootfs,
                        uid_t *uid, gid_t *gid, kube_error_t *err) {
  const char *user = ic->user && *ic->user ? ic->user : NULL;
  char uname[256] = "", gname[256] = "";
  if (user) {
    const char *colon = strchr(user, ':');
    snprintf(uname, sizeof uname, "%.*s",
             (int)(colon ? (size_t)(colon - user) : strlen(user)), user);
    if (colon)
      snprintf(gname, sizeof gname, "%s", colon + 1);
  }
  int64_t u = 0, g = -1;
  bool numeric = !uname[0] || strspn(uname, "0123456789") == strlen(uname);
  if (c->uid >= 0) {
    u = c->uid;
  } else if (uname[0] && numeric) {
    u = atoll(uname);
  } else if (uname[0]) {
    if (c->non_root)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "container has runAsNonRoot and image has "
                            "non-numeric user (%s), cannot verify user is "
                            "non-root (pod: \"%s\", container: %s)",
                            uname, cj->desc, c->name);
    int64_t pg = -1;
    if (!passwd_lookup(rootfs, uname, &u, &pg))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "unable to find user %s: no matching entries in "
                            "passwd file",
                            uname);
    g = pg;
  }
  if (c->non_root && u == 0)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "container has runAsNonRoot and image will run as "
                          "root (pod: \"%s\", container: %s)",
                          cj->desc, c->name);
  if (c->gid >= 0) {
    g = c->gid;
  } else if (gname[0]) {
    if (strspn(gname, "0123456789") == strlen(gname))
      g = atoll(gname);
    else if (!group_lookup(rootfs, gname, &g))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "unable to find group %s: no matching entries in "
                            "group file",
                            gname);
  }
  if (g < 0) {
    /* the user's primary group from the image, else 0 */
    int64_t pu, pg;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)u);
    g = passwd_lookup(rootfs, num, &pu, &pg) && pu == u ? pg : 0;
  }
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  if (uname[0] && !numeric)
    member_groups(rootfs, uname, c);
  else {
    /* the name of a numeric user, for its groups */
    cleanup_free char *text = root_file(rootfs, "etc/passwd");
    char *save = NULL;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
      char *c1 = strchr(l, ':');
      char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      if (c2 && atoll(c2 + 1) == u && c2[1] != ':') {
        *c1 = '\0';
        member_groups(rootfs, l, c);
        break;
      }
    }
  }
  return 0;
}

static char **vec_push(char **v, size_t *n, const char *s) {
  char **nv = realloc(v, (*n + 2) * sizeof *nv);
  if (!nv)
    return v;
  nv[*n] = strdup(s);
  if (nv[*n])
    (*n)++;
  nv[*n] = NULL;
  return nv;
}

static void replace_strv(char ***dst, size_t *dn, char **src, size_t sn) {
  strv_free(*dst, *dn);
  *dst = src;
  *dn = sn;
}

static void drop_ns(kube_rt_config_t *cfg, kube_ns_type_t t) {
  for (size_t i = 0; i < cfg->n_namespaces; i++)
    if (cfg->namespaces[i].type == t) {
      free(cfg->namespaces[i].path);
      cfg->namespaces[i] = cfg->namespaces[--cfg->n_namespaces];
      return;
    }
}

static int add_mount(kube_rt_config_t *cfg, const char *dest, const char *src,
                     bool ro) {
  kube_rt_mount_t *m = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof *m);
  if (!m)
    return -1;
  cfg->mounts = m;
  kube_rt_mount_t *nm = &cfg->mounts[cfg->n_mounts];
  memset(nm, 0, sizeof *nm);
  nm->destination = strdup(dest);
  nm->type = strdup("bind");
  nm->source = strdup(src);
  nm->options = calloc(4, sizeof(char *));
  if (!nm->destination || !nm->type || !nm->source || !nm->options)
    return -1;
  nm->options[nm->n_options++] = strdup("rbind");
  nm->options[nm->n_options++] = strdup("rprivate");
  if (ro)
    nm->options[nm->n_options++] = strdup("ro");
  cfg->n_mounts++;
  return 0;
}

static bool has_mount_at(const struct ct_plan *c, const char *dest) {
  for (size_t i = 0; i < c->n_mounts; i++)
    if (streq(c->mounts[i].dest, dest))
      return true;
  return false;
}

/* A subPath inside the volume; created as a directory when missing, as
 * the kubelet does. */
static char *sub_path_source(const struct ct_mount *m, kube_error_t *err) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s", m->src, m->sub_path) < 0) {
    kube_make_oom(err);
    return NULL;
  }
  struct stat st;
  if (lstat(p, &st) < 0 && core_mkdir_p(p, 0755, err) < 0) {
    free(p);
    return NULL;
  }
  /* the real path must stay inside the volume */
  char real[4096], vol[4096];
  if (!realpath(p, real) || !realpath(m->src, vol) ||
      strncmp(real, vol, strlen(vol)) != 0 ||
      (real[strlen(vol)] != '/' && real[strlen(vol)] != '\0')) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "subPath \"%s\" leaves its volume", m->sub_path);
    free(p);
    return NULL;
  }
  free(p);
  return strdup(real);
}

static int load_seccomp(const char *path, kube_seccomp_t **out,
                        kube_error_t *err) {
  cleanup_free char *profile = core_read_file(path, NULL);
  if (!profile)
    return kube_error_set(err, KUBE_REASON_INVALID, errno,
                          "cannot load seccomp profile \"%s\": %s", path,
                          strerror(errno));
  cleanup_free char *doc = NULL;
  if (asprintf(&doc,
               "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"x\"],"
               "\"cwd\":\"/\"},\"root\":{\"path\":\"/\"},\"linux\":{"
               "\"seccomp\":%s}}",
               profile) < 0)
    return kube_make_oom(err);
  kube_rt_config_t *cfg = kube_rt_config_parse(doc, "/", err);
  if (!cfg)
    return kube_error_wrap(err, "seccomp profile %s", path);
  *out = steal_pointer(&cfg->seccomp);
  kube_rt_config_free(cfg);
  return 0;
}

static kube_rt_config_t *build_config(kube_node_agent_t *a, struct ct_job *cj,
                                      struct ct_plan *c,
                                      const kube_image_info_t *info,
                                      const char *rootfs, kube_error_t *err) {
  const kube_image_config_t *ic = &info->config;
  uid_t uid = 0;
  gid_t gid = 0;
  if (resolve_user(cj, c, ic, rootfs, &uid, &gid, err) < 0) {
    c->stage = ST_CONFIG;
    return NULL;
  }
  /* command: the container's command replaces the Entrypoint (and then
   * the Cmd too); its args replace the Cmd */
  char **argv = NULL;
  size_t na = 0;
  if (c->has_command) {
    for (size_t i = 0; i < c->n_command; i++)
      argv = vec_push(argv, &na, c->command[i]);
  } else {
    for (size_t i = 0; i < ic->n_entrypoint; i++)
      argv = vec_push(argv, &na, ic->entrypoint[i]);
  }
  if (c->has_args) {
    for (size_t i = 0; i < c->n_args; i++)
      argv = vec_push(argv, &na, c->args[i]);
  } else if (!c->has_command) {
    for (size_t i = 0; i < ic->n_cmd; i++)
      argv = vec_push(argv, &na, ic->cmd[i]);
  }
  if (!na) {
    strv_free(argv, na);
    c->stage = ST_CONFIG;
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "failed to generate container \"%s\" spec: no command "
                   "specified",
                   c->name);
    return NULL;
  }
  /* env: the image's, then the container's (which wins), HOSTNAME, and a
   * PATH when nobody set one */
  struct nd_env env = {0};
  for (size_t i = 0; i < ic->n_env; i++) {
    const char *eq = strchr(ic->env[i], '=');
    if (!eq)
      continue;
    char name[512];
    snprintf(name, sizeof name, "%.*s", (int)(eq - ic->env[i]), ic->env[i]);
    nd_env_set(&env, name, eq + 1);
  }
  bool has_path = false;
  for (size_t i = 0; i < env.n; i++)
    has_path = has_path || streq(env.names[i], "PATH");
  if (!has_path)
    nd_env_set(&env, "PATH",
               "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  nd_env_set(&env, "HOSTNAME", cj->hostname);
  for (size_t i = 0; i < c->env.n; i++)
    nd_env_set(&env, c->env.names[i], c->env.values[i]);
  char **envv = calloc(env.n + 1, sizeof *envv);
  for (size_t i = 0; envv && i < env.n; i++)
    if (asprintf(&envv[i], "%s=%s", env.names[i], env.values[i]) < 0)
      envv[i] = NULL;
  size_t ne = env.n;
  nd_env_clear(&env);
  kube_rt_config_t *cfg = kube_rt_config_new_default(err);
  if (!cfg || !envv || !argv) {
    strv_free(argv, na);
    strv_free(envv, ne);
    kube_rt_config_free(cfg);
    if (!kube_error_is_set(err))
      kube_make_oom(err);
    c->stage = ST_CREATE;
    return NULL;
  }
  replace_strv(&cfg->args, &cfg->n_args, argv, na);
  replace_strv(&cfg->env, &cfg->n_env, envv, ne);
  free(cfg->root_path);
  cfg->root_path = strdup(rootfs);
  cfg->root_readonly = c->ro_root;
  free(cfg->cwd);
  cfg->cwd = strdup(c->working_dir                        ? c->working_dir
                    : ic->working_dir && *ic->working_dir ? ic->working_dir
                                                          : "/");
  cfg->uid = uid;
  cfg->gid = gid;
  free(cfg->additional_gids);
  cfg->additional_gids = NULL;
  cfg->n_additional_gids = 0;
  if (c->n_groups) {
    cfg->additional_gids = calloc(c->n_groups, sizeof(gid_t));
    for (size_t i = 0; cfg->additional_gids && i < c->n_groups; i++) {
      bool dup = false;
      for (size_t k = 0; k < cfg->n_additional_gids; k++)
        dup = dup || cfg->additional_gids[k] == c->groups[i];
      if (!dup)
        cfg->additional_gids[cfg->n_additional_gids++] = c->groups[i];
    }
  }
  /* privileged: every capability the agent itself holds (containerd's
   * WithAllCurrentCapabilities) */
  uint64_t caps = c->privileged ? cj->own_caps : kube_caps_default();
  if (c->drop_all)
    caps = 0;
  caps = ((caps & ~c->caps_drop) | c->caps_add) & cj->own_caps;
  cfg->caps.bounding = cfg->caps.effective = cfg->caps.permitted = caps;
  cfg->caps.inheritable = cfg->caps.ambient = 0;
  cfg->no_new_privileges = c->no_new_privs && !c->privileged;
  if (c->seccomp != 1 || c->privileged) {
    kube_seccomp_free(cfg->seccomp);
    cfg->seccomp = NULL;
  }
  if (c->seccomp == 2 && !c->privileged &&
      load_seccomp(c->seccomp_path, &cfg->seccomp, err) < 0) {
    kube_rt_config_free(cfg);
    c->stage = ST_CONFIG;
    return NULL;
  }
  if (c->privileged) {
    strv_free(cfg->masked_paths, cfg->n_masked_paths);
    strv_free(cfg->readonly_paths, cfg->n_readonly_paths);
    cfg->masked_paths = cfg->readonly_paths = NULL;
    cfg->n_masked_paths = cfg->n_readonly_paths = 0;
    for (size_t i = 0; i < cfg->n_mounts; i++) {
      kube_rt_mount_t *m = &cfg->mounts[i];
      if (!streq(m->destination, "/sys"))
        continue;
      for (size_t k = 0; k < m->n_options; k++)
        if (streq(m->options[k], "ro")) {
          free(m->options[k]);
          m->options[k] = strdup("rw");
        }
    }
  }
  /* namespaces: the sandbox's, or the host's where the pod shares them */
  char ns_dir[4200];
  snprintf(ns_dir, sizeof ns_dir, "%s/ns", cj->pod_dir);
  if (join_pinned(cfg, ns_dir, err) < 0) {
    kube_rt_config_free(cfg);
    c->stage = ST_CREATE;
    return NULL;
  }
  if (cj->host_network) {
    drop_ns(cfg, KUBE_NS_NETWORK);
    drop_ns(cfg, KUBE_NS_UTS);
    free(cfg->hostname);
    cfg->hostname = NULL;
  }
  /* the pod's shared PID namespace came with the pinned ones; else an
   * ephemeral container joins its target's (the kubelet's TARGET mode) */
  if (cj->host_pid)
    drop_ns(cfg, KUBE_NS_PID);
  else if (c->target_pidns && !cj->share_pid &&
           join_ns(cfg, KUBE_NS_PID, c->target_pidns, err) < 0) {
    kube_rt_config_free(cfg);
    c->stage = ST_CREATE;
    return NULL;
  }
  if (cj->host_ipc)
    drop_ns(cfg, KUBE_NS_IPC);
  /* the pod's files, then its volumes, parents before children */
  static const char *const etc[][2] = {{"/etc/hosts", "etc-hosts"},
                                       {"/etc/hostname", "hostname"},
                                       {"/etc/resolv.conf", "resolv.conf"}};
  for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
    if (has_mount_at(c, etc[i][0]))
      continue;
    char src[4300];
    snprintf(src, sizeof src, "%s/%s", cj->pod_dir, etc[i][1]);
    if (add_mount(cfg, etc[i][0], src, false) < 0)
      goto oom;
  }
  if (c->term_path && c->term_dest && !has_mount_at(c, c->term_dest) &&
      add_mount(cfg, c->term_dest, c->term_path, false) < 0)
    goto oom;
  for (size_t i = 0; i < c->n_mounts; i++) {
    const struct ct_mount *m = &c->mounts[i];
    cleanup_free char *src = NULL;
    if (m->sub_path && *m->sub_path) {
      if (!(src = sub_path_source(m, err))) {
        kube_rt_config_free(cfg);
        c->stage = ST_CONFIG;
        return NULL;
      }
    }
    if (add_mount(cfg, m->dest, src ? src : m->src, m->ro) < 0)
      goto oom;
  }
  free(cfg->cgroups_path);
  cfg->cgroups_path = strdup(c->cgroup_path);
  kube_rt_resources_t res = c->res;
  if (c->privileged) {
    static kube_rt_device_rule_t all = {true, 'a', -1, -1, "rwm"};
    res.device_rules = &all;
    res.n_device_rules = 1;
  }
  res.cpuset_cpus = cfg->resources.cpuset_cpus;
  res.cpuset_mems = cfg->resources.cpuset_mems;
  if (cfg->resources.device_rules != res.device_rules)
    free(cfg->resources.device_rules);
  cfg->resources = res;
  if (c->privileged) {
    cfg->resources.device_rules = malloc(sizeof(kube_rt_device_rule_t));
    if (cfg->resources.device_rules)
      cfg->resources.device_rules[0] =
          (kube_rt_device_rule_t){true, 'a', -1, -1, "rwm"};
    else
      cfg->resources.n_device_rules = 0;
  }
  cfg->terminal = c->tty;
  char attempt[16];
  snprintf(attempt, sizeof attempt, "%d", c->attempt);
  const char *kinds[] = {"init", "sidecar", "app", "ephemeral"};
  const char *ann[][2] = {{ND_ANN_POD_UID, cj->uid},
                          {ND_ANN_POD_NAME, cj->name},
                          {ND_ANN_POD_NS, cj->ns},
                          {ND_ANN_NAME, c->name},
                          {ND_ANN_RESTARTS, attempt},
                          {ND_ANN_KIND, kinds[c->kind]},
                          {ND_ANN_IMAGE, c->image},
                          {ND_ANN_IMAGE_ID, info->id},
                          {ND_ANN_IMAGE_REF, info->repo_digest},
                          {ND_ANN_STOP_SIGNAL, ic->stop_signal},
                          {ND_ANN_ROOTFS, c->dir}};
  for (size_t i = 0; i < ARRAY_SIZE(ann); i++)
    if (ann[i][1] &&
        kube_rt_config_annotate(cfg, ann[i][0], ann[i][1], err) < 0) {
      kube_rt_config_free(cfg);
      c->stage = ST_CREATE;
      return NULL;
    }
  return cfg;
oom:
  kube_rt_config_free(cfg);
  c->stage = ST_CREATE;
  kube_make_oom(err);
  return NULL;
}

/* The PID namespace of the ephemeral container's target, as the kubelet's
 * NamespaceMode_TARGET: the target must still run. */
static int target_pidns(kube_runtime_t *rt, struct ct_plan *c,
                        kube_error_t *err) {
  kube_rt_state_t st;
  if (kube_runtime_state(rt, c->target_id, &st, NULL) < 0)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "unable to find target container %s",
                          c->target_name);
  bool ok = st.status == KUBE_RT_RUNNING && st.pid > 0;
  if (ok && asprintf(&c->target_pidns, "/proc/%d/ns/pid", (int)st.pid) < 0)
    c->target_pidns = NULL;
  kube_rt_state_clear(&st);
  if (!ok)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "unable to find target container %s",
                          c->target_name);
  return c->target_pidns ? 0 : kube_make_oom(err);
}

static void start_one(nd_job_t *j, kube_runtime_t *rt, struct ct_job *cj,
                      struct ct_plan *c) {
  kube_node_agent_t *a = j->a;
  kube_error_t e = KUBE_ERROR_INIT;
  kube_image_info_t info;
  memset(&info, 0, sizeof info);
  if (pull(j, cj, c, &info) < 0)
    return;
  nd_job_mark(j, "image");
  c->image_id = info.id ? strdup(info.id) : NULL;
  c->image_ref = info.repo_digest ? strdup(info.repo_digest) : NULL;
  c->stop_signal =
      info.config.stop_signal ? strdup(info.config.stop_signal) : NULL;
  char fsdir[4300];
  snprintf(fsdir, sizeof fsdir, "%s/fs", c->dir);
  cleanup_free char *rootfs = NULL;
  kube_rt_config_t *cfg = NULL;
  if (core_mkdir_p(c->dir, 0750, &e) < 0 ||
      kube_image_rootfs_prepare(a->images, info.id, fsdir, &rootfs, &e) < 0) {
    c->stage = ST_CREATE;
    goto fail;
  }
  c->rootfs_dir = strdup(fsdir);
  nd_job_mark(j, "rootfs");
  if (c->target_id && target_pidns(rt, c, &e) < 0) {
    c->stage = ST_CONFIG;
    goto fail;
  }
  if (c->term_path)
    core_write_file(c->term_path, "", 0, 0666, NULL);
  if (!(cfg = build_config(a, cj, c, &info, rootfs, &e)))
    goto fail;
  char logdir[4300];
  snprintf(logdir, sizeof logdir, "%s", c->log_path);
  char *slash = strrchr(logdir, '/');
  if (slash)
    *slash = '\0';
  if (core_mkdir_p(logdir, 0755, &e) < 0) {
    c->stage = ST_CREATE;
    goto fail;
  }
  nd_job_mark(j, "config");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.log_path = c->log_path;
  io.open_stdin = c->stdin_open;
  io.stdin_once = c->stdin_once;
  io.attachable = true;
  if (kube_runtime_create_ex(rt, c->id, cfg, &io, KUBE_RT_START, &e) < 0) {
    c->stage = ST_RUN;
    goto fail;
  }
  nd_job_mark(j, "create+start");
  kube_rt_state_t st;
  if (kube_runtime_state(rt, c->id, &st, NULL) == 0) {
    c->pid = st.status == KUBE_RT_RUNNING ? st.pid : 0;
    c->created = st.created;
    c->started = st.started.tv_sec ? st.started : st.created;
    kube_rt_state_clear(&st);
  } else {
    clock_gettime(CLOCK_REALTIME, &c->started);
    c->created = c->started;
  }
  kube_rt_config_free(cfg);
  kube_image_info_clear(&info);
  nd_job_event(j, "Normal", "Created", c->name, "Created container: %s",
               c->name);
  nd_job_event(j, "Normal", "Started", c->name, "Started container %s",
               c->name);
  return;
fail:
  kube_rt_config_free(cfg);
  c->error = strdup(e.message ? e.message : "failed");
  kube_error_clear(&e);
  if (c->rootfs_dir) {
    kube_image_rootfs_release(a->images, c->rootfs_dir, NULL);
    free(c->rootfs_dir);
    c->rootfs_dir = NULL;
  }
  kube_image_info_clear(&info);
  nd_job_event(j, "Warning", "Failed", c->name, "Error: %s",
               c->error ? c->error : "failed");
}

/* The restart count of each attempt, for an agent adopting the pod after
 * a restart: an attempt that failed to start leaves no runtime container
 * to read it from. */
static void record_attempt(struct ct_job *cj, struct ct_plan *c) {
  if (c->stage != ST_OK && c->stage != ST_RUN)
    return;
  char path[4300], num[16];
  snprintf(path, sizeof path, "%s/containers/%s.attempt", cj->pod_dir, c->name);
  snprintf(num, sizeof num, "%d\n", c->attempt);
  core_write_file(path, num, strlen(num), 0600, NULL);
}

static void ct_work(nd_job_t *j, kube_runtime_t *rt) {
  struct ct_job *cj = j->data;
  for (size_t i = 0; i < cj->n; i++) {
    start_one(j, rt, cj, &cj->plans[i]);
    record_attempt(cj, &cj->plans[i]);
  }
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? strdup(s) : NULL;
}

static void ct_done(nd_job_t *j) {
  struct ct_job *cj = j->data;
  kube_node_agent_t *a = j->a;
  struct nd_pod *p = nd_pod_find(a, cj->uid);
  for (size_t i = 0; p && i < cj->n; i++) {
    struct ct_plan *c = &cj->plans[i];
    struct nd_ctr *ctr = nd_pod_ctr(p, c->name);
    if (!ctr)
      continue;
    if (c->stage == ST_PULL || c->stage == ST_NEVER_PULL) {
      /* nothing was created: the restart count stays */
      ctr->pull_backoff_ms =
          ctr->pull_backoff_ms
              ? (ctr->pull_backoff_ms * 2 > 300000 ? 300000
                                                   : ctr->pull_backoff_ms * 2)
              : 10000;
      ctr->pull_backoff_until_ms = nd_now_ms() + ctr->pull_backoff_ms;
      set_str(&ctr->waiting_reason,
              c->stage == ST_NEVER_PULL ? "ErrImageNeverPull" : "ErrImagePull");
      set_str(&ctr->waiting_message, c->error);
      set_str(&ctr->pull_error, c->error);
      nd_pod_enqueue(a, p, ctr->pull_backoff_ms);
      continue;
    }
    ctr->pull_backoff_ms = 0;
    ctr->pull_backoff_until_ms = 0;
    if (c->stage == ST_CONFIG || c->stage == ST_CREATE) {
      set_str(&ctr->waiting_reason, c->stage == ST_CONFIG
                                        ? "CreateContainerConfigError"
                                        : "CreateContainerError");
      set_str(&ctr->waiting_message, c->error);
      nd_ctr_retry_later(a, p, ctr);
      continue;
    }
    ctr->create_backoff_ms = 0;
    /* a new instance: what was asked of the last one is over */
    free(ctr->kill_message);
    ctr->kill_message = NULL;
    /* a new instance (running, or one that failed to start): the current
     * one becomes the previous one */
    if (ctr->has_cur) {
      nd_instance_discard(a, &ctr->prev);
      ctr->prev = ctr->cur;
      ctr->has_prev = true;
      memset(&ctr->cur, 0, sizeof ctr->cur);
      ctr->restarts++;
    }
    struct nd_instance *in = &ctr->cur;
    ctr->has_cur = true;
    in->attempt = c->attempt;
    in->image = strdup(c->image);
    in->image_id = c->image_id ? strdup(c->image_id) : NULL;
    in->image_ref = c->image_ref ? strdup(c->image_ref) : NULL;
    in->stop_signal = c->stop_signal ? strdup(c->stop_signal) : NULL;
    in->log_path = strdup(c->log_path);
    in->rootfs_dir = steal_pointer(&c->rootfs_dir);
    if (c->stage == ST_RUN) {
      /* StartError: the kubelet counts it as a run that failed at once */
      in->state = ND_EXITED;
      in->exit_code = 128;
      in->reason = strdup("StartError");
      in->message = strdup(c->error ? c->error : "");
      clock_gettime(CLOCK_REALTIME, &in->finished);
      in->started = (struct timespec){0};
      set_str(&ctr->waiting_reason, "RunContainerError");
      set_str(&ctr->waiting_message, c->error);
      continue;
    }
    in->id = strdup(c->id);
    in->created = c->created;
    in->started = c->started;
    in->state = c->pid > 0 ? ND_RUNNING : ND_EXITED;
    set_str(&ctr->waiting_reason, NULL);
    set_str(&ctr->waiting_message, NULL);
    if (c->pid > 0)
      a->stats.containers_running++;
    /* also for one that exited already: the watch collects its exit */
    nd_watch_exit(a, p, in, c->pid);
    if (c->pid <= 0)
      in->state = ND_RUNNING;
    nd_post_start(a, p, ctr);
  }
}

/* A container that could not be created is tried again after a back-off
 * (1 s doubling to 20 s), or as soon as what it reads changes: the pod is
 * synced when a configMap or secret it names changes, and that sync
 * forgets the wait (nd_pod_sources_changed). */
void nd_ctr_retry_later(kube_node_agent_t *a, struct nd_pod *p,
                        struct nd_ctr *c) {
  c->create_backoff_ms =
      c->create_backoff_ms
          ? (c->create_backoff_ms * 2 > 20000 ? 20000
                                              : c->create_backoff_ms * 2)
          : 1000;
  c->create_retry_ms = nd_now_ms() + c->create_backoff_ms;
  nd_pod_enqueue(a, p, c->create_backoff_ms);
}

/* ---- plans (on the loop) ------------------------------------------------ */

static char **strv_of(json_object *arr, size_t *n) {
  *n = 0;
  size_t len = arr ? json_object_array_length(arr) : 0;
  char **v = calloc(len + 1, sizeof *v);
  for (size_t i = 0; v && i < len; i++)
    v[(*n)++] =
        strdup(json_object_get_string(json_object_array_get_idx(arr, i)));
  return v;
}

/* securityContext fields: the container's wins over the pod's. */
static json_object *sc_get(json_object *ctr, json_object *spec,
                           const char *field) {
  char path[128];
  snprintf(path, sizeof path, "securityContext.%s", field);
  json_object *v = kube_json_get(ctr, path);
  return v ? v : kube_json_get(spec, path);
}

static uint64_t caps_mask(json_object *arr, bool *all) {
  uint64_t m = 0;
  for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
    const char *n = json_object_get_string(json_object_array_get_idx(arr, i));
    if (!n)
      continue;
    if (strcasecmp(n, "ALL") == 0) {
      if (all)
        *all = true;
      m = (1ULL << 41) - 1;
      continue;
    }
    int c = kube_cap_from_name(n);
    if (c >= 0)
      m |= 1ULL << c;
  }
  return m;
}

/* The dockerconfigjson documents of the pod's imagePullSecrets. */
static void pull_auths(kube_node_agent_t *a, struct nd_pod *p,
                       json_object *spec, struct ct_plan *c) {
  json_object *ips = kube_json_get(spec, "imagePullSecrets");
  for (size_t i = 0; ips && i < json_object_array_length(ips); i++) {
    const char *name =
        kube_json_get_string(json_object_array_get_idx(ips, i), "name");
    if (!name)
      continue;
    nd_pod_ref(p, "secret", name);
    const kube_object_t *s = nd_source_get(a, true, p->ns, name);
    if (!s)
      continue; /* the kubelet goes on without a missing pull secret */
    json_object *data = kube_json_get(kube_object_json(s), "data");
    const char *keys[] = {".dockerconfigjson", ".dockercfg"};
    for (size_t k = 0; data && k < 2; k++) {
      json_object *v;
      if (!json_object_object_get_ex(data, keys[k], &v))
        continue;
      const char *b64 = json_object_get_string(v);
      size_t n = 0;
      char *doc = (char *)kube_base64_decode(b64, strlen(b64), &n, NULL);
      if (!doc)
        continue;
      char **nv = realloc(c->auths, (c->n_auths + 1) * sizeof *nv);
      if (nv) {
        c->auths = nv;
        c->auths[c->n_auths++] = doc;
      } else {
        free(doc);
      }
    }
  }
}

static int plan_mounts(kube_node_agent_t *a, struct nd_pod *p,
                       const kube_object_t *pod, json_object *ctr,
                       struct ct_plan *c, kube_error_t *err) {
  json_object *vms = kube_json_get(ctr, "volumeMounts");
  size_t n = vms ? json_object_array_length(vms) : 0;
  c->mounts = calloc(n + 1, sizeof *c->mounts);
  if (!c->mounts)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    json_object *vm = json_object_array_get_idx(vms, i);
    const char *name = kube_json_get_string(vm, "name") ?: "";
    const char *path = kube_json_get_string(vm, "mountPath");
    char *src = nd_volume_host_path(pod, p->dir, name, NULL);
    if (!src || !path) {
      free(src);
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "cannot find volume \"%s\" to mount into "
                            "container \"%s\"",
                            name, c->name);
    }
    struct ct_mount *m = &c->mounts[c->n_mounts++];
    m->src = src;
    m->dest = strdup(path);
    const char *sub = kube_json_get_string(vm, "subPath");
    const char *subx = kube_json_get_string(vm, "subPathExpr");
    if (subx && *subx)
      m->sub_path = nd_env_expand(subx, &c->env);
    else if (sub && *sub)
      m->sub_path = strdup(sub);
    if (m->sub_path && (m->sub_path[0] == '/' || strstr(m->sub_path, "..")))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "invalid subPath \"%s\"", m->sub_path);
    m->ro = nd_spec_bool(vm, "readOnly");
  }
  /* parents before children: a shorter path first */
  for (size_t i = 1; i < c->n_mounts; i++)
    for (size_t k = i;
         k > 0 && strlen(c->mounts[k].dest) < strlen(c->mounts[k - 1].dest);
         k--) {
      struct ct_mount t = c->mounts[k];
      c->mounts[k] = c->mounts[k - 1];
      c->mounts[k - 1] = t;
    }
  return 0;
}

static int make_plan(kube_node_agent_t *a, struct nd_pod *p,
                     const kube_object_t *pod, const char *name,
                     struct ct_plan *c, char **bad_env, kube_error_t *err) {
  json_object *spec = nd_spec(pod);
  enum nd_kind kind;
  json_object *ctr = nd_spec_container(spec, name, &kind);
  struct nd_ctr *rec = nd_pod_ctr(p, name);
  if (!ctr || !rec)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "no container %s in the pod", name);
  c->uid = c->gid = -1;
  c->name = strdup(name);
  c->kind = kind;
  c->attempt = rec->has_cur ? rec->restarts + 1 : rec->restarts;
  nd_random_hex(c->id, sizeof c->id);
  c->image = strdup(kube_json_get_string(ctr, "image") ?: "");
  c->policy = nd_pull_policy(ctr);
  pull_auths(a, p, spec, c);
  if (nd_env_build(a, p, pod, ctr, &c->env, bad_env, err) < 0)
    return -1;
  json_object *cmd = kube_json_get(ctr, "command");
  json_object *args = kube_json_get(ctr, "args");
  c->has_command = cmd && json_object_array_length(cmd) > 0;
  c->has_args = args && json_object_array_length(args) > 0;
  /* $(VAR) in command and args sees the container's environment */
  size_t n;
  char **v = c->has_command ? strv_of(cmd, &n) : NULL;
  for (size_t i = 0; v && i < n; i++) {
    char *x = nd_env_expand(v[i], &c->env);
    if (x) {
      free(v[i]);
      v[i] = x;
    }
  }
  c->command = v;
  c->n_command = v ? n : 0;
  v = c->has_args ? strv_of(args, &n) : NULL;
  for (size_t i = 0; v && i < n; i++) {
    char *x = nd_env_expand(v[i], &c->env);
    if (x) {
      free(v[i]);
      v[i] = x;
    }
  }
  c->args = v;
  c->n_args = v ? n : 0;
  const char *wd = kube_json_get_string(ctr, "workingDir");
  c->working_dir = wd && *wd ? strdup(wd) : NULL;
  json_object *x;
  if ((x = sc_get(ctr, spec, "runAsUser")))
    c->uid = json_object_get_int64(x);
  if ((x = sc_get(ctr, spec, "runAsGroup")))
    c->gid = json_object_get_int64(x);
  c->non_root =
      (x = sc_get(ctr, spec, "runAsNonRoot")) && json_object_get_boolean(x);
  json_object *sg = kube_json_get(spec, "securityContext.supplementalGroups");
  json_object *fsg = kube_json_get(spec, "securityContext.fsGroup");
  size_t ng = (sg ? json_object_array_length(sg) : 0) + (fsg ? 1 : 0);
  c->groups = calloc(ng + 1, sizeof(gid_t));
  if (c->groups && fsg)
    c->groups[c->n_groups++] = (gid_t)json_object_get_int64(fsg);
  for (size_t i = 0; c->groups && sg && i < json_object_array_length(sg); i++)
    c->groups[c->n_groups++] =
        (gid_t)json_object_get_int64(json_object_array_get_idx(sg, i));
  c->ro_root = nd_spec_bool(ctr, "securityContext.readOnlyRootFilesystem");
  c->privileged = nd_spec_bool(ctr, "securityContext.privileged");
  json_object *ape =
      kube_json_get(ctr, "securityContext.allowPrivilegeEscalation");
  c->no_new_privs = ape && !json_object_get_boolean(ape);
  c->caps_add =
      caps_mask(kube_json_get(ctr, "securityContext.capabilities.add"), NULL);
  c->caps_drop = caps_mask(
      kube_json_get(ctr, "securityContext.capabilities.drop"), &c->drop_all);
  if (c->drop_all)
    c->caps_drop = 0;
  const char *sp =
      kube_json_get_string(ctr, "securityContext.seccompProfile.type");
  const char *lp = kube_json_get_string(
      ctr, "securityContext.seccompProfile.localhostProfile");
  if (!sp) {
    sp = kube_json_get_string(spec, "securityContext.seccompProfile.type");
    lp = kube_json_get_string(
        spec, "securityContext.seccompProfile.localhostProfile");
  }
  c->seccomp = sp && streq(sp, "RuntimeDefault") ? 1
               : sp && streq(sp, "Localhost")    ? 2
                                                 : 0;
  if (c->seccomp == 2) {
    if (!lp || lp[0] == '/' || strstr(lp, ".."))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "invalid localhostProfile \"%s\"", lp ? lp : "");
    if (asprintf(&c->seccomp_path, "%s/%s", a->cfg.seccomp_dir, lp) < 0)
      return kube_make_oom(err);
  }
  const char *target = kind == ND_EPHEMERAL
                           ? kube_json_get_string(ctr, "targetContainerName")
                           : NULL;
  if (target && *target) {
    /* getTargetID: the target runs, or the container waits */
    struct nd_ctr *t = nd_pod_ctr(p, target);
    if (!t || t->kind == ND_EPHEMERAL || !t->has_cur || !t->cur.id ||
        t->cur.state != ND_RUNNING)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "unable to find target container %s", target);
    if (!(c->target_name = strdup(target)) ||
        !(c->target_id = strdup(t->cur.id)))
      return kube_make_oom(err);
  }
  c->tty = nd_spec_bool(ctr, "tty");
  c->stdin_open = nd_spec_bool(ctr, "stdin");
  c->stdin_once = nd_spec_bool(ctr, "stdinOnce");
  nd_container_resources(ctr, &c->res);
  if (asprintf(&c->cgroup_path, "%s/%s", p->cgroup, c->id) < 0 ||
      asprintf(&c->log_path, "%s/%s/%d.log", p->log_dir, name, c->attempt) <
          0 ||
      asprintf(&c->dir, "%s/containers/%s", p->dir, c->id) < 0 ||
      asprintf(&c->term_path, "%s/containers/%s/termination-log", p->dir,
               c->id) < 0)
    return kube_make_oom(err);
  const char *tmp = kube_json_get_string(ctr, "terminationMessagePath");
  c->term_dest = strdup(tmp && *tmp ? tmp : "/dev/termination-log");
  if (!c->name || !c->image || !c->term_dest)
    return kube_make_oom(err);
  return plan_mounts(a, p, pod, ctr, c, err);
}

int nd_containers_start(kube_node_agent_t *a, struct nd_pod *p,
                        const kube_object_t *pod, char **names, size_t n,
                        kube_error_t *err) {
  struct ct_job *cj = calloc(1, sizeof *cj);
  if (!cj || !(cj->plans = calloc(n + 1, sizeof *cj->plans))) {
    free(cj);
    return kube_make_oom(err);
  }
  json_object *spec = nd_spec(pod);
  cj->uid = strdup(p->uid);
  cj->ns = strdup(p->ns);
  cj->name = strdup(p->name);
  cj->pod_dir = strdup(p->dir);
  cj->desc = nd_pod_desc(p);
  cj->hostname =
      p->host_network ? strdup(a->cfg.hostname) : nd_pod_hostname(pod);
  cj->own_caps = nd_own_caps();
  cj->host_network = p->host_network;
  cj->host_pid = nd_spec_bool(spec, "hostPID");
  cj->host_ipc = nd_spec_bool(spec, "hostIPC");
  cj->share_pid = nd_spec_bool(spec, "shareProcessNamespace");
  for (size_t i = 0; i < n; i++) {
    struct ct_plan *c = &cj->plans[cj->n];
    kube_error_t e = KUBE_ERROR_INIT;
    char *bad = NULL;
    if (make_plan(a, p, pod, names[i], c, &bad, &e) < 0) {
      /* the container waits with the reason; the others go on */
      struct nd_ctr *rec = nd_pod_ctr(p, names[i]);
      if (rec && (!rec->waiting_reason ||
                  !streq(rec->waiting_reason, "CreateContainerConfigError") ||
                  !rec->waiting_message ||
                  !streq(rec->waiting_message, e.message ?: ""))) {
        nd_pod_event(a, p, "Warning", "Failed", names[i], "Error: %s",
                     e.message ? e.message : "");
      }
      if (rec) {
        set_str(&rec->waiting_reason, "CreateContainerConfigError");
        set_str(&rec->waiting_message, e.message);
        nd_ctr_retry_later(a, p, rec);
      }
      kube_error_clear(&e);
      plan_clear(c);
      memset(c, 0, sizeof *c);
      free(bad);
      continue;
    }
    if (bad) {
      nd_pod_event(a, p, "Warning", "InvalidEnvironmentVariableNames", names[i],
                   "Keys [%s] from the EnvFrom were skipped since they are "
                   "considered invalid environment variable names.",
                   bad);
      free(bad);
    }
    cj->n++;
  }
  if (!cj->uid || !cj->ns || !cj->name || !cj->pod_dir || !cj->desc ||
      !cj->hostname) {
    ct_free(&(nd_job_t){.data = cj});
    return kube_make_oom(err);
  }
  if (!cj->n) {
    ct_free(&(nd_job_t){.data = cj});
    return 0;
  }
  nd_job_t *j = nd_job_new(a, p->uid, ct_work, ct_done, cj, ct_free);
  if (!j) {
    ct_free(&(nd_job_t){.data = cj});
    return kube_make_oom(err);
  }
  return nd_job_submit(j, err) < 0 ? -1 : 1;
}

/* ---- signals ------------------------------------------------------------ */

struct kill_job {
  char **ids;
  int *sigs;
  size_t n;
  bool all;
};

static void kill_free(nd_job_t *j) {
  struct kill_job *k = j->data;
  for (size_t i = 0; i < k->n; i++)
    free(k->ids[i]);
  free(k->ids);
  free(k->sigs);
  free(k);
}

static void kill_work(nd_job_t *j, kube_runtime_t *rt) {
  struct kill_job *k = j->data;
  for (size_t i = 0; i < k->n; i++) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_runtime_kill(rt, k->ids[i], k->sigs[i], k->all, &e) < 0 &&
        e.reason != KUBE_REASON_CONFLICT && e.reason != KUBE_REASON_NOT_FOUND)
      log_warn("kill %s: %s", k->ids[i], e.message);
    kube_error_clear(&e);
  }
}

int nd_ctr_signal(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                  int sig, bool all, kube_error_t *err) {
  if (!c->has_cur || !c->cur.id)
    return 0;
  struct kill_job *k = calloc(1, sizeof *k);
  if (!k || !(k->ids = calloc(1, sizeof(char *))) ||
      !(k->sigs = calloc(1, sizeof(int))) || !(k->ids[0] = strdup(c->cur.id))) {
    if (k) {
      free(k->ids);
      free(k->sigs);
    }
    free(k);
    return kube_make_oom(err);
  }
  k->sigs[0] = sig;
  k->n = 1;
  k->all = all;
  nd_job_t *j = nd_job_new(a, p->uid, kill_work, NULL, k, kill_free);
  if (!j) {
    kill_free(&(nd_job_t){.data = k});
    return kube_make_oom(err);
  }
  j->exclusive = false;
  return nd_job_submit(j, err) < 0 ? -1 : 1;
}
