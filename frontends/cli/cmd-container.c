/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube container run|ls|logs|exec|inspect|stop|start|rm|port: docker's
 * single containers without a cluster (see ctr.h for where they live).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cmd-image.h"
#include "cmd-runtime.h"
#include "ctr.h"

static struct ctr_env env;

#define CTR_ENV_FLAGS                                                          \
  {"data-dir", 0, CLI_STRING, &env.data_dir, NULL},                            \
      {"runtime-root", 0, CLI_STRING, &env.runtime_root, NULL},                \
      {"cgroup-parent", 0, CLI_STRING, &env.cgroup_parent, NULL},              \
      {"bridge", 0, CLI_STRING, &env.bridge, NULL},                            \
      {"subnet", 0, CLI_STRING, &env.subnet, NULL}

static const char usage_text[] =
    "Manage single containers without a cluster (docker's run, ps, logs, "
    "exec...).\n"
    "\n"
    "Usage:\n"
    "  kube container run [-d] [--name N] [-p [[IP:]HOST:]CTR[/tcp|udp]]... "
    "[-e K=V]...\n"
    "                     [-v HOSTDIR:CTRDIR[:ro]]... [--rm] [-i] [-t] "
    "[--entrypoint X]\n"
    "                     [-w DIR] [-u USER] IMAGE [CMD...]\n"
    "  kube container ls [-a] [-q]\n"
    "  kube container logs [-f] [--tail N] [--timestamps] NAME\n"
    "  kube container exec [-i] [-t] [-w DIR] [-e K=V]... NAME CMD...\n"
    "  kube container inspect NAME...\n"
    "  kube container stop [-t SECS] NAME...\n"
    "  kube container start NAME...\n"
    "  kube container rm [-f] NAME...\n"
    "  kube container port NAME\n"
    "\n"
    "Images come from the local store (kube image, kube build), pulled "
    "through the\n"
    "registry mirrors only when absent.  Every container gets its own "
    "network\n"
    "namespace on the bridge kube-ctr0 (10.89.0.0/16), -p mapped by CNI's "
    "portmap,\n"
    "and its own cgroup under kube-containers; the node agent never "
    "touches them.\n"
    "\n"
    "Flags of every subcommand:\n"
    "      --data-dir DIR        the store and DATA/containers "
    "(KUBE_DATA_DIR)\n"
    "      --runtime-root DIR    runtime state (default "
    "DATA/containers/runtime)\n"
    "      --cgroup-parent PATH  (default kube-containers)\n"
    "      --bridge NAME         (default kube-ctr0)\n"
    "      --subnet CIDR         (default 10.89.0.0/16)\n";

static int usage(FILE *f) {
  fputs(usage_text, f);
  return f == stdout ? 0 : 1;
}

/* Parse a subcommand's flags: docker's rule that flags end at the first
 * positional argument when `stop_at_positional` (run, exec: the command
 * keeps its own flags). */
static int parse(const char *verb, int argc, char **argv,
                 const struct cli_flag *flags, bool stop_at_positional,
                 char ***pos, int *npos) {
  int end = argc;
  if (stop_at_positional) {
    for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      if (streq(a, "--")) {
        end = i;
        break;
      }
      if (a[0] != '-' || !a[1]) {
        end = i;
        break;
      }
      if (a[1] == '-') {
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        for (const struct cli_flag *f = flags; f->name; f++)
          if (strlen(f->name) == len && !strncmp(f->name, a + 2, len) &&
              f->type != CLI_BOOL && !eq)
            i++;
        continue;
      }
      for (const char *c = a + 1; *c; c++) {
        const struct cli_flag *f = flags;
        while (f->name && f->shorthand != *c)
          f++;
        if (f->name && f->type != CLI_BOOL) {
          if (!c[1])
            i++;
          break;
        }
      }
    }
  }
  char name[64];
  snprintf(name, sizeof name, "container %s", verb);
  char **av = calloc((size_t)end + 1, sizeof *av);
  if (!av)
    return ctr_fail("out of memory");
  av[0] = name;
  for (int i = 1; i < end; i++)
    av[i] = argv[i];
  char **p = NULL;
  int n = 0;
  int rc = cli_parse(end, av, flags, &p, &n, NULL);
  free(av);
  if (rc < 0)
    return -1;
  /* what follows the first positional is positional too */
  int skip = end < argc && streq(argv[end], "--") ? 1 : 0;
  char **all = realloc(p, ((size_t)n + (size_t)(argc - end) + 1) * sizeof *all);
  if (!all) {
    free(p);
    return ctr_fail("out of memory");
  }
  for (int i = end + skip; i < argc; i++)
    all[n++] = argv[i];
  all[n] = NULL;
  *pos = all;
  *npos = n;
  return ctr_env_init(&env);
}

/* ---- run ------------------------------------------------------------------- */

static bool name_ok(const char *s) {
  if (!s[0] || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
                 (s[0] >= '0' && s[0] <= '9')))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
      return false;
  return true;
}

static char **vdup(char *const *v, size_t n) {
  char **out = calloc(n + 1, sizeof *out);
  for (size_t i = 0; out && i < n; i++)
    out[i] = strdup(v[i]);
  return out;
}

static void env_put(struct ctr_rec *r, const char *kv) {
  const char *eq = strchr(kv, '=');
  size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
  char *val = NULL;
  if (!eq) {
    /* -e K: the value of K here, nothing when unset (docker) */
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)kl, kv);
    const char *v = getenv(key);
    if (!v)
      return;
    if (asprintf(&val, "%s=%s", key, v) < 0)
      return;
  } else {
    val = strdup(kv);
  }
  for (size_t i = 0; i < r->n_env; i++)
    if (!strncmp(r->env[i], kv, kl) && r->env[i][kl] == '=') {
      free(r->env[i]);
      r->env[i] = val;
      return;
    }
  char **nv = realloc(r->env, (r->n_env + 2) * sizeof *nv);
  if (!nv) {
    free(val);
    return;
  }
  r->env = nv;
  r->env[r->n_env++] = val;
  r->env[r->n_env] = NULL;
}

static int parse_bind(const char *s, struct ctr_bind *b) {
  char buf[8192];
  snprintf(buf, sizeof buf, "%s", s);
  char *c1 = strchr(buf, ':');
  if (!c1)
    return ctr_fail("invalid volume \"%s\": want HOSTDIR:CTRDIR[:ro]", s);
  *c1 = '\0';
  char *dst = c1 + 1, *mode = strchr(dst, ':');
  if (mode)
    *mode++ = '\0';
  if (buf[0] != '/')
    return ctr_fail("invalid volume \"%s\": only host directories (absolute "
                    "paths) are supported, not named volumes",
                    s);
  if (dst[0] != '/')
    return ctr_fail("invalid volume \"%s\": the container path must be "
                    "absolute",
                    s);
  if (mode && !streq(mode, "ro") && !streq(mode, "rw"))
    return ctr_fail("invalid mode \"%s\" in volume \"%s\"", mode, s);
  b->src = strdup(buf);
  b->dst = strdup(dst);
  b->ro = mode && streq(mode, "ro");
  /* docker makes a missing host directory */
  struct stat stb;
  if (stat(b->src, &stb) < 0) {
    char mk[8200];
    snprintf(mk, sizeof mk, "%s", b->src);
    for (char *p = mk + 1; *p; p++)
      if (*p == '/') {
        *p = '\0';
        mkdir(mk, 0755);
        *p = '/';
      }
    if (mkdir(mk, 0755) < 0 && errno != EEXIST)
      return ctr_fail("invalid volume \"%s\": cannot create %s: %s", s, mk,
                      strerror(errno));
  }
  return 0;
}

/* The image, from the store or pulled through the mirrors when absent. */
static int resolve_image(const char *ref, kube_image_info_t *info) {
  kube_image_store_t *store = ctr_store(&env);
  if (!store)
    return -1;
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_image_inspect(store, ref, info, &err) == 0)
    return 0;
  if (err.reason != KUBE_REASON_NOT_FOUND) {
    cli_fail("%s", err.message);
    kube_error_clear(&err);
    return -1;
  }
  kube_error_clear(&err);
  fprintf(stderr, "Unable to find image '%s' locally\n", ref);
  kube_image_transfer_options_t o = {.struct_size = sizeof o,
                                     .progress = cli_image_progress};
  if (kube_image_ensure(store, ref, KUBE_IMAGE_PULL_IF_NOT_PRESENT, &o, info,
                        &err) < 0) {
    cli_fail("image \"%s\" not found locally and pulling it failed: %s", ref,
             err.message);
    kube_error_clear(&err);
    return -1;
  }
  return 0;
}

/* Entrypoint, Cmd, Env, WorkingDir, User, StopSignal merged as docker:
 * --entrypoint replaces the image's and drops its Cmd; CMD replaces Cmd. */
static int merge_config(struct ctr_rec *r, const kube_image_config_t *ic,
                        const char *entrypoint, bool has_entrypoint,
                        char **cmd, size_t ncmd) {
  if (has_entrypoint) {
    r->n_entrypoint = *entrypoint ? 1 : 0;
    r->entrypoint = vdup((char *const *)&entrypoint, r->n_entrypoint);
  } else {
    r->entrypoint = vdup(ic->entrypoint, ic->n_entrypoint);
    r->n_entrypoint = ic->n_entrypoint;
  }
  if (ncmd) {
    r->cmd = vdup(cmd, ncmd);
    r->n_cmd = ncmd;
  } else if (!has_entrypoint) {
    r->cmd = vdup(ic->cmd, ic->n_cmd);
    r->n_cmd = ic->n_cmd;
  }
  r->argc = r->n_entrypoint + r->n_cmd;
  if (!r->argc)
    return ctr_fail("no command specified (the image has no Entrypoint or "
                    "Cmd; give one after the image)");
  r->argv = calloc(r->argc + 1, sizeof *r->argv);
  if (!r->argv)
    return ctr_fail("out of memory");
  size_t k = 0;
  for (size_t i = 0; i < r->n_entrypoint; i++)
    r->argv[k++] = strdup(r->entrypoint[i]);
  for (size_t i = 0; i < r->n_cmd; i++)
    r->argv[k++] = strdup(r->cmd[i]);
  for (size_t i = 0; i < ic->n_env; i++)
    env_put(r, ic->env[i]);
  if (!r->cwd)
    r->cwd = strdup(ic->working_dir ? ic->working_dir : "");
  if (!r->user)
    r->user = strdup(ic->user ? ic->user : "");
  r->stop_signal = ic->stop_signal ? strdup(ic->stop_signal) : NULL;
  return 0;
}

static int signal_number(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } sigs[] = {{"TERM", SIGTERM}, {"INT", SIGINT},   {"QUIT", SIGQUIT},
              {"KILL", SIGKILL}, {"HUP", SIGHUP},   {"USR1", SIGUSR1},
              {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}, {"STOP", SIGSTOP}};
  if (!s || !*s)
    return SIGTERM;
  if (str_has_prefix(s, "SIG"))
    s += 3;
  for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
    if (streq(sigs[i].name, s))
      return sigs[i].sig;
  int n = atoi(s);
  return n > 0 && n < 65 ? n : SIGTERM;
}

/* Foreground: attach before start so no output is lost, then the exit
 * code of the container is ours. */
static int run_attached(struct ctr_rec *r, int lock) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_attach_options_t ao = {sizeof ao, r->open_stdin, true, true};
  kube_rt_attach_t *a = NULL;
  /* The waiter stays out of the way while we are attached, and takes
   * over if we die (it is there before the container starts). */
  char path[4200];
  int attached = open(ctr_path(&env, r->id, "attached", path, sizeof path),
                      O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (attached >= 0)
    flock(attached, LOCK_EX);
  ctr_spawn_waiter(&env, r->id);
  if (kube_runtime_attach(env.rt, r->id, &ao, &a, &err) < 0 ||
      kube_runtime_start(env.rt, r->id, &err) < 0) {
    cli_fail("%s", err.message);
    kube_error_clear(&err);
    kube_rt_attach_free(a);
    ctr_down(&env, r);
    ctr_rec_save(&env, r);
    ctr_unlock(lock);
    ctr_finish(&env, r->id);
    if (attached >= 0)
      close(attached);
    return 125;
  }
  ctr_unlock(lock);
  char state[4300];
  snprintf(state, sizeof state, "%s/%s/state", kube_runtime_root(env.rt),
           r->id);
  rt_forward_signals(state);
  rt_proxy_attach_ex(a, r->open_stdin);
  kube_rt_attach_free(a);
  kube_rt_exit_t ex;
  int rc = 125;
  if (kube_runtime_wait(env.rt, r->id, -1, &ex, &err) < 0) {
    cli_fail("%s", err.message);
    kube_error_clear(&err);
  } else {
    rc = ex.exit_code;
  }
  ctr_finish(&env, r->id);
  if (attached >= 0)
    close(attached);
  return rc;
}

static int container_run(int argc, char **argv) {
  bool detach = false, rm = false, interactive = false, tty = false;
  bool has_entrypoint = false;
  const char *name = NULL, *entrypoint = NULL, *workdir = NULL, *user = NULL;
  struct cli_strv ports = {0}, envs = {0}, vols = {0};
  const struct cli_flag flags[] = {
      {"detach", 'd', CLI_BOOL, &detach, NULL},
      {"name", 0, CLI_STRING, &name, NULL},
      {"publish", 'p', CLI_STRINGS, &ports, NULL},
      {"env", 'e', CLI_STRINGS, &envs, NULL},
      {"volume", 'v', CLI_STRINGS, &vols, NULL},
      {"rm", 0, CLI_BOOL, &rm, NULL},
      {"interactive", 'i', CLI_BOOL, &interactive, NULL},
      {"tty", 't', CLI_BOOL, &tty, NULL},
      {"entrypoint", 0, CLI_STRING, &entrypoint, &has_entrypoint},
      {"workdir", 'w', CLI_STRING, &workdir, NULL},
      {"user", 'u', CLI_STRING, &user, NULL},
      CTR_ENV_FLAGS,
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 125;
  struct ctr_rec r;
  memset(&r, 0, sizeof r);
  kube_image_info_t info;
  memset(&info, 0, sizeof info);
  int all = -1, lock = -1;
  if (parse("run", argc, argv, flags, true, &pos, &npos) < 0)
    goto out;
  if (npos < 1) {
    cli_fail("\"kube container run\" requires at least 1 argument: IMAGE "
             "[CMD...]");
    goto out;
  }
  if (name && !name_ok(name)) {
    cli_fail("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
             "are allowed",
             name);
    goto out;
  }
  for (size_t i = 0; i < ports.n; i++) {
    struct ctr_port p;
    char msg[256];
    if (ctr_port_parse(ports.v[i], &p, msg, sizeof msg) < 0) {
      cli_fail("%s", msg);
      goto out;
    }
    struct ctr_port *np = realloc(r.ports, (r.n_ports + 1) * sizeof *np);
    if (!np)
      goto out;
    r.ports = np;
    r.ports[r.n_ports++] = p;
  }
  for (size_t i = 0; i < vols.n; i++) {
    struct ctr_bind *nb = realloc(r.binds, (r.n_binds + 1) * sizeof *nb);
    if (!nb)
      goto out;
    r.binds = nb;
    memset(&r.binds[r.n_binds], 0, sizeof *nb);
    if (parse_bind(vols.v[i], &r.binds[r.n_binds++]) < 0)
      goto out;
  }
  if (resolve_image(pos[0], &info) < 0)
    goto out;
  r.cwd = workdir ? strdup(workdir) : NULL;
  r.user = user ? strdup(user) : NULL;
  if (merge_config(&r, &info.config, entrypoint ? entrypoint : "",
                   has_entrypoint, pos + 1, (size_t)npos - 1) < 0)
    goto out;
  for (size_t i = 0; i < envs.n; i++)
    env_put(&r, envs.v[i]);
  if (r.cwd && *r.cwd && r.cwd[0] != '/') {
    cli_fail("the working directory '%s' is invalid, it needs to be an "
             "absolute path",
             r.cwd);
    goto out;
  }
  r.image = strdup(pos[0]);
  r.image_id = strdup(info.id);
  r.tty = tty;
  r.open_stdin = interactive;
  r.auto_remove = rm;
  r.cgroup_parent = strdup(env.cgroup_parent);
  r.status = strdup("created");
  clock_gettime(CLOCK_REALTIME, &r.created);
  if (!ctr_runtime(&env))
    goto out;
  /* the name and the directory are taken under the global lock */
  if ((all = ctr_lock_all(&env)) < 0)
    goto out;
  if (name && ctr_name_taken(&env, name)) {
    char other[65] = "";
    ctr_resolve(&env, name, other);
    cli_fail("Conflict. The container name \"/%s\" is already in use by "
             "container \"%s\". You have to remove (or rename) that "
             "container to be able to reuse that name.",
             name, other);
    goto out;
  }
  r.name = name ? strdup(name) : ctr_random_name(&env);
  ctr_new_id(r.id);
  r.hostname = strndup(r.id, 12);
  char dir[4200];
  if (mkdir(ctr_path(&env, r.id, NULL, dir, sizeof dir), 0711) < 0) {
    cli_fail("cannot create %s: %s", dir, strerror(errno));
    goto out;
  }
  if (ctr_rec_save(&env, &r) < 0 || (lock = ctr_lock(&env, r.id)) < 0) {
    ctr_remove(&env, &r);
    goto out;
  }
  ctr_unlock(all);
  all = -1;
  if (ctr_up(&env, &r, !detach) < 0) {
    rc = ctr_up_exit_code(&env);
    ctr_remove(&env, &r);
    goto out;
  }
  if (detach) {
    ctr_spawn_waiter(&env, r.id);
    printf("%s\n", r.id);
    rc = 0;
  } else {
    rc = run_attached(&r, lock);
    lock = -1;
  }
out:
  ctr_unlock(lock);
  ctr_unlock(all);
  kube_image_info_clear(&info);
  ctr_rec_clear(&r);
  free(ports.v);
  free(envs.v);
  free(vols.v);
  free(pos);
  return rc;
}

/* ---- ls, port, inspect ------------------------------------------------------ */

/* docker's units.HumanDuration */
static void human_duration(time_t d, char *buf, size_t len) {
  if (d < 1)
    snprintf(buf, len, "Less than a second");
  else if (d == 1)
    snprintf(buf, len, "1 second");
  else if (d < 60)
    snprintf(buf, len, "%ld seconds", (long)d);
  else if (d / 60 == 1)
    snprintf(buf, len, "About a minute");
  else if (d < 3600)
    snprintf(buf, len, "%ld minutes", (long)(d / 60));
  else if (d / 3600 == 1)
    snprintf(buf, len, "About an hour");
  else if (d < 48 * 3600)
    snprintf(buf, len, "%ld hours", (long)(d / 3600));
  else if (d < 14 * 86400)
    snprintf(buf, len, "%ld days", (long)(d / 86400));
  else if (d < 60 * 86400)
    snprintf(buf, len, "%ld weeks", (long)(d / 604800));
  else if (d < 730 * 86400)
    snprintf(buf, len, "%ld months", (long)(d / 2592000));
  else
    snprintf(buf, len, "%ld years", (long)(d / 31536000));
}

static void ports_string(const struct ctr_rec *r, char *buf, size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; i < r->n_ports; i++) {
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s:%d->%d/%s", i ? ", " : "",
             *r->ports[i].host_ip ? r->ports[i].host_ip : "0.0.0.0",
             r->ports[i].host_port, r->ports[i].ctr_port, r->ports[i].proto);
  }
}

/* Load a record with its lock and bring it up to date (an exited
 * container's leftovers go). */
static int load_fresh(const char *id, struct ctr_rec *r) {
  int fd = ctr_lock(&env, id);
  if (fd < 0)
    return -1;
  int rc = ctr_rec_load(&env, id, r);
  if (rc == 0)
    ctr_refresh(&env, r);
  ctr_unlock(fd);
  return rc;
}

static int by_created(const void *a, const void *b) {
  const struct ctr_rec *x = a, *y = b;
  if (x->created.tv_sec != y->created.tv_sec)
    return x->created.tv_sec < y->created.tv_sec ? 1 : -1;
  return x->created.tv_nsec < y->created.tv_nsec ? 1 : -1;
}

static int container_ls(int argc, char **argv) {
  bool all = false, quiet = false, no_trunc = false;
  const struct cli_flag flags[] = {
      {"all", 'a', CLI_BOOL, &all, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL},
      CTR_ENV_FLAGS,
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL, **ids = NULL;
  int npos = 0;
  size_t n = 0;
  if (parse("ls", argc, argv, flags, false, &pos, &npos) < 0)
    return 1;
  free(pos);
  if (npos)
    return cli_fail("\"kube container ls\" accepts no arguments");
  if (!ctr_runtime(&env) || ctr_list_ids(&env, &ids, &n) < 0)
    return 1;
  struct ctr_rec *recs = calloc(n + 1, sizeof *recs);
  size_t nr = 0;
  for (size_t i = 0; recs && i < n; i++)
    if (load_fresh(ids[i], &recs[nr]) == 0)
      nr++;
  ctr_strv_free(ids, n);
  if (!recs)
    return cli_fail("out of memory");
  qsort(recs, nr, sizeof *recs, by_created);
  /* docker's tabwriter: each column as wide as its widest cell + 3 */
  char *cells[(nr + 1) * 7];
  size_t rows = 0;
  static const char *const head[] = {"CONTAINER ID", "IMAGE", "COMMAND",
                                     "CREATED",      "STATUS", "PORTS",
                                     "NAMES"};
  for (size_t c = 0; c < 7; c++)
    cells[c] = strdup(head[c]);
  rows = 1;
  time_t now = time(NULL);
  for (size_t i = 0; i < nr; i++) {
    struct ctr_rec *r = &recs[i];
    bool running = streq(r->status, "running");
    if (!all && !running) {
      ctr_rec_clear(r);
      continue;
    }
    char id[65];
    snprintf(id, sizeof id, "%.*s", no_trunc ? 64 : 12, r->id);
    if (quiet) {
      printf("%s\n", id);
      ctr_rec_clear(r);
      continue;
    }
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    for (size_t k = 0; k < r->argc; k++)
      kube_strbuf_printf(&sb, "%s%s", k ? " " : "", r->argv[k]);
    cleanup_free char *cmd = kube_strbuf_steal(&sb);
    char cmdq[4200], created[64], status[96], ports[512], d[48];
    if (!no_trunc && cmd && strlen(cmd) > 19)
      snprintf(cmdq, sizeof cmdq, "\"%.19s\u2026\"", cmd);
    else
      snprintf(cmdq, sizeof cmdq, "\"%.4000s\"", cmd ? cmd : "");
    human_duration(now - r->created.tv_sec, d, sizeof d);
    snprintf(created, sizeof created, "%s ago", d);
    if (running) {
      human_duration(now - r->started.tv_sec, d, sizeof d);
      snprintf(status, sizeof status, "Up %s", d);
    } else if (streq(r->status, "exited")) {
      human_duration(now - r->finished.tv_sec, d, sizeof d);
      snprintf(status, sizeof status, "Exited (%d) %s ago", r->exit_code, d);
    } else {
      snprintf(status, sizeof status, "Created");
    }
    ports_string(r, ports, sizeof ports);
    const char *row[] = {id,     r->image,               cmdq,   created,
                         status, running ? ports : "", r->name};
    for (size_t c = 0; c < 7; c++)
      cells[rows * 7 + c] = strdup(row[c] ? row[c] : "");
    rows++;
    ctr_rec_clear(r);
  }
  size_t width[7] = {0};
  for (size_t k = 0; k < rows * 7; k++) {
    size_t w = 0;
    for (const char *p = cells[k] ? cells[k] : ""; *p; p++)
      w += ((unsigned char)*p & 0xC0) != 0x80; /* UTF-8: count characters */
    if (w > width[k % 7])
      width[k % 7] = w;
  }
  for (size_t k = 0; !quiet && k < rows * 7; k++) {
    const char *cell = cells[k] ? cells[k] : "";
    size_t w = 0;
    for (const char *p = cell; *p; p++)
      w += ((unsigned char)*p & 0xC0) != 0x80;
    if (k % 7 == 6)
      printf("%s\n", cell);
    else
      printf("%s%*s", cell, (int)(width[k % 7] - w + 3), "");
  }
  for (size_t k = 0; k < rows * 7; k++)
    free(cells[k]);
  free(recs);
  return 0;
}

/* The positional NAME arguments resolved to ids, one by one. */
typedef int (*each_fn)(const char *arg, const char *id, void *ud);

static int for_each(int npos, char **pos, each_fn fn, void *ud) {
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    char id[65];
    if (ctr_resolve(&env, pos[i], id) < 0) {
      rc = 1;
      continue;
    }
    if (fn(pos[i], id, ud) != 0)
      rc = 1;
  }
  return rc;
}

static int do_port(const char *arg, const char *id, void *ud) {
  (void)arg;
  (void)ud;
  struct ctr_rec r;
  if (load_fresh(id, &r) < 0)
    return cli_fail("cannot read container %s", id);
  for (size_t i = 0; streq(r.status, "running") && i < r.n_ports; i++)
    printf("%d/%s -> %s:%d\n", r.ports[i].ctr_port, r.ports[i].proto,
           *r.ports[i].host_ip ? r.ports[i].host_ip : "0.0.0.0",
           r.ports[i].host_port);
  ctr_rec_clear(&r);
  return 0;
}

static int do_inspect(const char *arg, const char *id, void *ud) {
  (void)arg;
  int *count = ud;
  struct ctr_rec r;
  if (load_fresh(id, &r) < 0)
    return cli_fail("cannot read container %s", id);
  cleanup_free char *json = ctr_rec_inspect_json(&env, &r);
  ctr_rec_clear(&r);
  if (!json)
    return cli_fail("out of memory");
  /* indent the object inside the array, as docker prints it */
  printf("%s    ", (*count)++ ? ",\n" : "");
  for (const char *p = json; *p; p++) {
    putchar(*p);
    if (*p == '\n')
      fputs("    ", stdout);
  }
  return 0;
}

static int names_verb(const char *verb, int argc, char **argv,
                      const struct cli_flag *extra, each_fn fn, void *ud) {
  struct cli_flag flags[16] = {CTR_ENV_FLAGS};
  size_t nf = 5;
  for (const struct cli_flag *f = extra; f && f->name && nf < 15; f++)
    flags[nf++] = *f;
  char **pos = NULL;
  int npos = 0;
  if (parse(verb, argc, argv, flags, false, &pos, &npos) < 0)
    return 1;
  int rc;
  if (npos < 1)
    rc = cli_fail("\"kube container %s\" requires at least 1 argument", verb);
  else if (!ctr_runtime(&env))
    rc = 1;
  else
    rc = for_each(npos, pos, fn, ud);
  free(pos);
  return rc;
}

static int container_inspect(int argc, char **argv) {
  int count = 0;
  printf("[\n");
  int rc = names_verb("inspect", argc, argv, NULL, do_inspect, &count);
  printf("%s]\n", count ? "\n" : "");
  return rc;
}

/* ---- stop, start, rm ------------------------------------------------------- */

/* Run fn on the record of `id` under its lock, brought up to date; on
 * success print the name as given, as docker does. */
static int locked(const char *arg, const char *id,
                  int (*fn)(struct ctr_rec *r, kube_rt_status_t s, void *ud),
                  void *ud) {
  int fd = ctr_lock(&env, id);
  struct ctr_rec r;
  if (fd < 0 || ctr_rec_load(&env, id, &r) < 0) {
    ctr_unlock(fd);
    return cli_fail("cannot read container %s", id);
  }
  int rc = fn(&r, ctr_refresh(&env, &r), ud);
  ctr_rec_clear(&r);
  ctr_unlock(fd);
  if (rc == 0)
    printf("%s\n", arg);
  else if (rc < 0)
    rc = cli_fail("cannot remove container \"%s\": container is running: "
                  "stop the container before removing or force remove",
                  arg);
  return rc;
}

static int stop_one(struct ctr_rec *r, kube_rt_status_t s, void *ud) {
  int64_t secs = *(int64_t *)ud < 0 ? 0 : *(int64_t *)ud;
  int rc = 0;
  if (s != KUBE_RT_STOPPED) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_rt_exit_t ex;
    if (kube_runtime_stop(env.rt, r->id, signal_number(r->stop_signal),
                          (int)(secs * 1000), &ex, &err) < 0) {
      rc = cli_fail("%s", err.message);
      kube_error_clear(&err);
    }
    ctr_down(&env, r);
    ctr_rec_save(&env, r);
  }
  if (r->auto_remove && rc == 0)
    ctr_remove(&env, r);
  return rc;
}

static int do_stop(const char *arg, const char *id, void *ud) {
  return locked(arg, id, stop_one, ud);
}

static int container_stop(int argc, char **argv) {
  int64_t secs = 10;
  const struct cli_flag extra[] = {{"time", 't', CLI_INT, &secs, NULL},
                                   {NULL, 0, 0, NULL, NULL}};
  return names_verb("stop", argc, argv, extra, do_stop, &secs);
}

static int start_one(struct ctr_rec *r, kube_rt_status_t s, void *ud) {
  (void)ud;
  if (s != KUBE_RT_STOPPED)
    return 0;
  if (ctr_up(&env, r, false) < 0) {
    ctr_rec_save(&env, r);
    return 1;
  }
  ctr_spawn_waiter(&env, r->id);
  return 0;
}

static int do_start(const char *arg, const char *id, void *ud) {
  return locked(arg, id, start_one, ud);
}

static int container_start(int argc, char **argv) {
  return names_verb("start", argc, argv, NULL, do_start, NULL);
}

static int rm_one(struct ctr_rec *r, kube_rt_status_t s, void *ud) {
  if (s != KUBE_RT_STOPPED && !*(bool *)ud)
    return -1;
  ctr_remove(&env, r);
  return 0;
}

static int do_rm(const char *arg, const char *id, void *ud) {
  return locked(arg, id, rm_one, ud);
}

static int container_rm(int argc, char **argv) {
  bool force = false;
  const struct cli_flag extra[] = {{"force", 'f', CLI_BOOL, &force, NULL},
                                   {NULL, 0, 0, NULL, NULL}};
  return names_verb("rm", argc, argv, extra, do_rm, &force);
}

static int container_port(int argc, char **argv) {
  return names_verb("port", argc, argv, NULL, do_port, NULL);
}

/* ---- exec ------------------------------------------------------------------ */

static int container_exec(int argc, char **argv) {
  bool interactive = false, tty = false;
  const char *workdir = NULL;
  struct cli_strv envs = {0};
  const struct cli_flag flags[] = {
      {"interactive", 'i', CLI_BOOL, &interactive, NULL},
      {"tty", 't', CLI_BOOL, &tty, NULL},
      {"workdir", 'w', CLI_STRING, &workdir, NULL},
      {"env", 'e', CLI_STRINGS, &envs, NULL},
      CTR_ENV_FLAGS,
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 126;
  char id[65];
  struct ctr_rec r;
  memset(&r, 0, sizeof r);
  if (parse("exec", argc, argv, flags, true, &pos, &npos) < 0)
    goto out;
  if (npos < 2) {
    cli_fail("\"kube container exec\" requires at least 2 arguments: NAME "
             "CMD...");
    goto out;
  }
  if (!ctr_runtime(&env) || ctr_resolve(&env, pos[0], id) < 0 ||
      load_fresh(id, &r) < 0)
    goto out;
  if (!streq(r.status, "running")) {
    cli_fail("container %s is not running", pos[0]);
    goto out;
  }
  /* the container's environment plus -e */
  for (size_t i = 0; i < envs.n; i++)
    env_put(&r, envs.v[i]);
  char hn[160];
  snprintf(hn, sizeof hn, "HOSTNAME=%s", r.hostname);
  env_put(&r, hn);
  if (tty)
    env_put(&r, "TERM=xterm");
  kube_exec_options_t o = {.struct_size = sizeof o,
                           .args = pos + 1,
                           .env = r.env,
                           .cwd = workdir,
                           .io = KUBE_RT_IO_NULL};
  o.io.stdin_fd = interactive ? STDIN_FILENO : -1;
  o.io.stdout_fd = STDOUT_FILENO;
  o.io.stderr_fd = STDERR_FILENO;
  kube_error_t err = KUBE_ERROR_INIT;
  if (tty) {
    int master = -1;
    pid_t pid = 0;
    o.terminal = true;
    o.terminal_fd_out = &master;
    if (kube_runtime_exec(env.rt, id, &o, &pid, NULL, &err) < 0) {
      cli_fail("%s", err.message);
      kube_error_clear(&err);
      goto out;
    }
    rt_proxy_pty(master);
    close(master);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    kube_rt_exit_t ex;
    if (kube_runtime_exec(env.rt, id, &o, NULL, &ex, &err) < 0) {
      cli_fail("%s", err.message);
      kube_error_clear(&err);
      goto out;
    }
    rc = ex.exit_code;
  }
out:
  ctr_rec_clear(&r);
  free(envs.v);
  free(pos);
  return rc;
}

/* ---- logs (cmd-container-logs.c) ------------------------------------------- */

static int container_logs(int argc, char **argv) {
  bool follow = false, timestamps = false;
  const char *tail = "all";
  const struct cli_flag flags[] = {
      {"follow", 'f', CLI_BOOL, &follow, NULL},
      {"tail", 'n', CLI_STRING, &tail, NULL},
      {"timestamps", 't', CLI_BOOL, &timestamps, NULL},
      CTR_ENV_FLAGS,
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (parse("logs", argc, argv, flags, false, &pos, &npos) < 0)
    return 1;
  int64_t n = -1;
  if (!streq(tail, "all")) {
    char *end;
    n = strtoll(tail, &end, 10);
    if (!*tail || *end || n < 0) {
      free(pos);
      return cli_fail("invalid value \"%s\" for --tail: a number or \"all\"",
                      tail);
    }
  }
  char id[65];
  int rc = 1;
  if (npos != 1)
    cli_fail("\"kube container logs\" requires exactly 1 argument: NAME");
  else if (ctr_runtime(&env) && ctr_resolve(&env, pos[0], id) == 0)
    rc = ctr_logs(&env, id, follow, n, timestamps);
  free(pos);
  return rc;
}

/* ---- dispatch -------------------------------------------------------------- */

static const struct {
  const char *name;
  cli_command_fn fn;
} verbs[] = {{"run", container_run},         {"ls", container_ls},
               {"ps", container_ls},           {"list", container_ls},
               {"logs", container_logs},       {"exec", container_exec},
               {"inspect", container_inspect}, {"stop", container_stop},
               {"start", container_start},     {"rm", container_rm},
               {"remove", container_rm},       {"port", container_port}};

char **ctr_complete_words(const char *sub, int nargs) {
  char **out = calloc(ARRAY_SIZE(verbs) + 1, sizeof *out);
  if (!out || nargs == 0) {
    for (size_t i = 0; out && i < ARRAY_SIZE(verbs); i++)
      out[i] = strdup(verbs[i].name);
    return out;
  }
  free(out);
  static const char *const takes_name[] = {"logs", "exec", "inspect", "stop",
                                           "start", "rm", "port"};
  bool named = false;
  for (size_t i = 0; i < ARRAY_SIZE(takes_name); i++)
    named = named || streq(sub, takes_name[i]);
  char **ids = NULL;
  size_t n = 0;
  if (!named || nargs != 1 || ctr_env_init(&env) < 0 ||
      ctr_list_ids(&env, &ids, &n) < 0)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    struct ctr_rec r;
    char *name = NULL;
    if (ctr_rec_load(&env, ids[i], &r) == 0) {
      name = r.name ? strdup(r.name) : NULL;
      ctr_rec_clear(&r);
    }
    free(ids[i]);
    ids[i] = name ? name : strdup("");
  }
  return ids;
}

int cmd_container(int argc, char **argv) {
  /* `kube container --data-dir D ls`: the shared flags may come first */
  int sub = 1;
  while (sub < argc && argv[sub][0] == '-' && argv[sub][1] == '-' &&
         argv[sub][2] && !streq(argv[sub], "--help")) {
    static const char *const shared[] = {"--data-dir", "--runtime-root",
                                         "--cgroup-parent", "--bridge",
                                         "--subnet"};
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(shared); i++)
      known = known || streq(argv[sub], shared[i]) ||
              (str_has_prefix(argv[sub], shared[i]) &&
               argv[sub][strlen(shared[i])] == '=');
    if (!known)
      break;
    sub += strchr(argv[sub], '=') ? 1 : 2;
  }
  if (sub > 1 && sub < argc) {
    char *verb = argv[sub];
    memmove(argv + 2, argv + 1, (size_t)(sub - 1) * sizeof *argv);
    argv[1] = verb;
  }
  if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") ||
      streq(argv[1], "help"))
    return usage(argc < 2 ? stderr : stdout);
  for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
    if (streq(argv[1], verbs[i].name)) {
      int rc = verbs[i].fn(argc - 1, argv + 1);
      fflush(stdout);
      ctr_env_clear(&env);
      return rc;
    }
  cli_fail("unknown command \"%s\" for \"kube container\"", argv[1]);
  return usage(stderr);
}
