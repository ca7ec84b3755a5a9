/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_image_build: a Dockerfile, executed step by step.
 *
 * Every step turns a state (image config + layers) into the next one.
 * Its cache key is sha256(parent key, the instruction as expanded, and
 * for COPY/ADD the sha256 of every source file); the state it made is
 * written as an (unnamed) image whose manifest the cache file
 * images.d/cache/<key> names, so an unchanged rebuild only hashes the
 * context and reads small blobs, and yields the same image ID.
 *
 * File system steps (RUN, COPY, ADD, WORKDIR) mount an overlay of the
 * state's snapshots plus a fresh upper directory, change the merged tree
 * (RUN in a container of the libkube runtime), unmount, turn the upper
 * directory into the layer, and adopt it as the new layer's snapshot:
 * nothing is unpacked twice.  Nothing is named until the last step
 * succeeded.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "image/build-run.h"

struct bstate {
  json_object *config; /* the whole image config */
  img_desc_t *layers;
  char **diff_ids; /* NULL-terminated */
  size_t n;
  char *manifest; /* digest of the written state, NULL before */
  char key[72];   /* cache key of this state */
};

struct stage {
  char *name;        /* AS name (lowercase) or NULL */
  size_t first, end; /* instructions [first, end) incl. the FROM */
  struct bstate st;
  json_object *args; /* ARGs declared in the stage: name -> value|null */
  bool built;
};

struct build {
  kube_image_store_t *s;
  const kube_image_build_options_t *o;
  img_dockerfile_t df;
  img_ignore_t ignore;
  int ctx_fd;
  struct stage *stages;
  size_t n_stages, target;
  json_object *meta_args;  /* ARGs before the first FROM */
  json_object *build_args; /* --build-arg: name -> value */
  json_object *used_args;  /* names consumed */
  size_t step, total;
  char id[13];
  char *tmp;     /* DATA/images.d/tmp/build-XXXXXX */
  char *rt_root; /* runtime state root */
  bool own_rt_root;
  img_progress_t prog;
};

static void logf_(struct build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(struct build *b, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  img_progress_emit(&b->prog, KUBE_IMAGE_PROGRESS_LOG, NULL, buf, 0, 0);
}

/* ---- states -------------------------------------------------------------- */

static void state_clear(struct bstate *st) {
  json_object_put(st->config);
  for (size_t i = 0; i < st->n; i++)
    img_desc_clear(&st->layers[i]);
  free(st->layers);
  img_strv_free(st->diff_ids);
  free(st->manifest);
  memset(st, 0, sizeof *st);
}

static int state_add_layer(struct bstate *st, const img_desc_t *d,
                           const char *diff_id) {
  img_desc_t *nl = realloc(st->layers, (st->n + 1) * sizeof *nl);
  if (!nl)
    return -1;
  st->layers = nl;
  char **nd = realloc(st->diff_ids, (st->n + 2) * sizeof *nd);
  if (!nd)
    return -1;
  st->diff_ids = nd;
  memset(&nl[st->n], 0, sizeof *nl);
  nl[st->n].media_type = strdup(d->media_type);
  nl[st->n].digest = strdup(d->digest);
  nl[st->n].size = d->size;
  nd[st->n] = strdup(diff_id);
  nd[st->n + 1] = NULL;
  st->n++;
  return nl[st->n - 1].media_type && nl[st->n - 1].digest && nd[st->n - 1] ? 0
                                                                           : -1;
}

static int state_copy(struct bstate *dst, const struct bstate *src) {
  memset(dst, 0, sizeof *dst);
  dst->diff_ids = calloc(1, sizeof(char *));
  if (!dst->diff_ids ||
      json_object_deep_copy(src->config, &dst->config, NULL) != 0)
    return -1;
  for (size_t i = 0; i < src->n; i++)
    if (state_add_layer(dst, &src->layers[i], src->diff_ids[i]) < 0)
      return -1;
  memcpy(dst->key, src->key, sizeof dst->key);
  dst->manifest = src->manifest ? strdup(src->manifest) : NULL;
  return 0;
}

static int state_load(const kube_image_store_t *s, const char *md,
                      struct bstate *st, kube_error_t *err) {
  img_image_t im;
  memset(st, 0, sizeof *st);
  if (img_image_load(s, md, &im, err) < 0)
    return -1;
  int rc = 0;
  st->diff_ids = calloc(1, sizeof(char *));
  if (!st->diff_ids || json_object_deep_copy(im.config, &st->config, NULL))
    rc = kube_make_oom(err);
  for (size_t i = 0; rc == 0 && i < im.m.n_layers; i++)
    if (state_add_layer(st, &im.m.layers[i], im.diff_ids[i]) < 0)
      rc = kube_make_oom(err);
  if (rc == 0 && !(st->manifest = strdup(md)))
    rc = kube_make_oom(err);
  img_image_clear(&im);
  if (rc < 0)
    state_clear(st);
  return rc;
}

static const char *host_arch(void) {
  struct utsname u;
  return uname(&u) == 0 && streq(u.machine, "aarch64") ? "arm64" : "amd64";
}

static int state_scratch(struct bstate *st, kube_error_t *err) {
  memset(st, 0, sizeof *st);
  st->config = json_object_new_object();
  st->diff_ids = calloc(1, sizeof(char *));
  if (!st->config || !st->diff_ids)
    return kube_make_oom(err);
  json_object_object_add(st->config, "architecture",
                         json_object_new_string(host_arch()));
  json_object_object_add(st->config, "os", json_object_new_string("linux"));
  json_object_object_add(st->config, "config", json_object_new_object());
  return 0;
}

static json_object *config_of(struct bstate *st) {
  json_object *c = NULL;
  if (!json_object_object_get_ex(st->config, "config", &c) ||
      !json_object_is_type(c, json_type_object)) {
    c = json_object_new_object();
    json_object_object_add(st->config, "config", c);
  }
  return c;
}

/* Write the state as an image: history entry, rootfs, created. */
static int state_commit(const kube_image_store_t *s, struct bstate *st,
                        const char *created_by, bool empty_layer,
                        kube_error_t *err) {
  char now[32];
  kube_time_format(time(NULL), now, sizeof now);
  json_object_object_add(st->config, "created", json_object_new_string(now));
  json_object *hist = NULL;
  if (!json_object_object_get_ex(st->config, "history", &hist) ||
      !json_object_is_type(hist, json_type_array)) {
    hist = json_object_new_array();
    json_object_object_add(st->config, "history", hist);
  }
  json_object *h = json_object_new_object();
  json_object_object_add(h, "created", json_object_new_string(now));
  json_object_object_add(h, "created_by", json_object_new_string(created_by));
  json_object_object_add(h, "comment", json_object_new_string("kube build"));
  if (empty_layer)
    json_object_object_add(h, "empty_layer", json_object_new_boolean(1));
  json_object_array_add(hist, h);
  json_object *rootfs = json_object_new_object();
  json_object_object_add(rootfs, "type", json_object_new_string("layers"));
  json_object_object_add(rootfs, "diff_ids", img_strv_to_json(st->diff_ids));
  json_object_object_add(st->config, "rootfs", rootfs);
  const char *text = json_object_to_json_string_ext(
      st->config, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  free(st->manifest);
  st->manifest = NULL;
  return img_write_image(s, text, st->layers, st->n, &st->manifest, NULL, err);
}

/* ---- the cache ----------------------------------------------------------- */

static void key_next(char out[72], const char *parent, const char *what,
                     const void *extra, size_t extra_len) {
  img_hash_t h;
  if (img_hash_init(&h, NULL) < 0) {
    snprintf(out, 72, "%s", parent);
    return;
  }
  img_hash_update(&h, parent, strlen(parent) + 1);
  img_hash_update(&h, what, strlen(what) + 1);
  if (extra_len)
    img_hash_update(&h, extra, extra_len);
  img_hash_final(&h, out);
}

static char *cache_path(const struct build *b, const char *key) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s/cache/%s", b->s->state, img_digest_hex(key));
  return kube_strbuf_steal(&sb);
}

/* A cached state for key, loaded into *st (false on a miss). */
static bool cache_get(struct build *b, const char *key, struct bstate *st) {
  if (b->o->no_cache)
    return false;
  cleanup_free char *p = cache_path(b, key);
  int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0)
    return false;
  char md[80] = "";
  ssize_t n = read(fd, md, sizeof md - 1);
  close(fd);
  md[n > 0 ? n : 0] = '\0';
  md[strcspn(md, "\n")] = '\0';
  kube_error_t err = KUBE_ERROR_INIT;
  if (!img_digest_valid(md) || state_load(b->s, md, st, &err) < 0) {
    kube_error_clear(&err);
    return false;
  }
  for (size_t i = 0; i < st->n; i++)
    if (!img_blob_exists(b->s, st->layers[i].digest, NULL)) {
      state_clear(st);
      return false;
    }
  memcpy(st->key, key, sizeof st->key);
  return true;
}

static void cache_put(struct build *b, const char *key, const char *md) {
  cleanup_free char *p = cache_path(b, key);
  if (!p)
    return;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  bool ok = write(fd, md, strlen(md)) == (ssize_t)strlen(md);
  close(fd);
  if (!ok || rename(tmp, p) < 0)
    unlink(tmp);
}

/* ---- variables ----------------------------------------------------------- */

struct lookup_ctx {
  struct build *b;
  struct stage *sg; /* NULL: the meta ARGs (FROM lines) */
};

static const char *arg_value(struct build *b, json_object *args,
                             const char *name) {
  json_object *v = NULL;
  if (!args || !json_object_object_get_ex(args, name, &v))
    return NULL;
  json_object *bv = NULL;
  if (json_object_object_get_ex(b->build_args, name, &bv)) {
    json_object_object_add(b->used_args, name, json_object_new_boolean(1));
    return json_object_get_string(bv);
  }
  return v ? json_object_get_string(v) : NULL;
}

static const char *lookup(void *arg, const char *name) {
  struct lookup_ctx *c = arg;
  if (!c->sg)
    return arg_value(c->b, c->b->meta_args, name);
  /* ENV wins over ARG of the same name */
  json_object *env = NULL;
  if (json_object_object_get_ex(config_of(&c->sg->st), "Env", &env)) {
    size_t nl = strlen(name);
    for (size_t i = 0; i < json_object_array_length(env); i++) {
      const char *e = json_object_get_string(json_object_array_get_idx(env, i));
      if (e && strncmp(e, name, nl) == 0 && e[nl] == '=')
        return e + nl + 1;
    }
  }
  return arg_value(c->b, c->sg->args, name);
}

/* "NAME[=DEFAULT]" of an ARG: the name and the expanded default (owned;
 * *def NULL when none). */
static int arg_decl(struct build *b, const char *word, struct lookup_ctx *lc,
                    char **name, char **def, kube_error_t *err) {
  const char *eq = strchr(word, '=');
  *name = eq ? strndup(word, (size_t)(eq - word)) : strdup(word);
  *def = eq ? img_df_expand(eq + 1, b->df.escape, lookup, lc, err) : NULL;
  if (!*name || (eq && !*def)) {
    free(*name);
    free(*def);
    *name = *def = NULL;
    return kube_error_is_set(err) ? -1 : kube_make_oom(err);
  }
  return 0;
}

/* "K=V" of the stage's ARGs (for RUN and the cache key). */
static char **arg_env(struct build *b, struct stage *sg) {
  size_t n = 0;
  char **v = calloc((size_t)json_object_object_length(sg->args) + 1, sizeof *v);
  if (!v)
    return NULL;
  json_object_object_foreach(sg->args, k, val) {
    (void)val;
    const char *x = arg_value(b, sg->args, k);
    if (x && asprintf(&v[n], "%s=%s", k, x) >= 0)
      n++;
  }
  return v;
}

/* ---- file system steps --------------------------------------------------- */

struct mnt {
  char *dir, *upper, *work, *root;
  bool mounted;
  int root_fd;
};

static void mnt_release(struct mnt *m) {
  if (m->root_fd >= 0)
    close(m->root_fd);
  m->root_fd = -1;
  if (m->mounted && umount2(m->root, 0) < 0)
    umount2(m->root, MNT_DETACH);
  m->mounted = false;
  if (m->dir)
    img_rmtree(m->dir);
  free(m->dir);
  free(m->upper);
  free(m->work);
  free(m->root);
  memset(m, 0, sizeof *m);
  m->root_fd = -1;
}

static int mnt_setup(struct build *b, struct bstate *st, struct mnt *m,
                     kube_error_t *err) {
  memset(m, 0, sizeof *m);
  m->root_fd = -1;
  img_image_t view = {0};
  view.m.layers = st->layers;
  view.m.n_layers = st->n;
  view.diff_ids = st->diff_ids;
  char **dirs = NULL;
  if (img_snapshots_ensure(b->s, &view, b->o->progress, b->o->userdata, &dirs,
                           err) < 0)
    return -1;
  if (st->n == 0) {
    img_strv_free(dirs);
    dirs = calloc(2, sizeof *dirs);
    if (!dirs || !(dirs[0] = img_empty_snapshot(b->s, err))) {
      img_strv_free(dirs);
      return dirs ? -1 : kube_make_oom(err);
    }
  }
  int rc = -1;
  if (asprintf(&m->dir, "%s/step-XXXXXX", b->tmp) < 0 || !mkdtemp(m->dir) ||
      asprintf(&m->upper, "%s/upper", m->dir) < 0 ||
      asprintf(&m->work, "%s/work", m->dir) < 0 ||
      asprintf(&m->root, "%s/rootfs", m->dir) < 0 ||
      mkdir(m->upper, 0755) < 0 || mkdir(m->work, 0700) < 0 ||
      mkdir(m->root, 0755) < 0) {
    kube_make_error(err, errno, "build: step directory: %s", strerror(errno));
    goto out;
  }
  if (img_overlay_mount(dirs, m->upper, m->work, m->root, err) < 0)
    goto out;
  m->mounted = true;
  m->root_fd = open(m->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (m->root_fd < 0) {
    kube_make_error(err, errno, "open %s", m->root);
    goto out;
  }
  rc = 0;
out:
  img_strv_free(dirs);
  if (rc < 0)
    mnt_release(m);
  return rc;
}

static bool dir_empty(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return true;
  struct dirent *de;
  bool empty = true;
  while (empty && (de = readdir(d)))
    empty = streq(de->d_name, ".") || streq(de->d_name, "..");
  closedir(d);
  return empty;
}

/* Unmount, turn the upper directory into a layer (when it holds
 * anything), adopt it as the snapshot of the new chain. */
static int mnt_commit(struct build *b, struct bstate *st, struct mnt *m,
                      bool *added, kube_error_t *err) {
  *added = false;
  close(m->root_fd);
  m->root_fd = -1;
  if (umount2(m->root, 0) < 0 && umount2(m->root, MNT_DETACH) < 0)
    return kube_make_error(err, errno, "unmount %s", m->root);
  m->mounted = false;
  if (dir_empty(m->upper))
    return 0;
  img_desc_t d;
  cleanup_free char *diff = NULL;
  if (img_layer_from_dir(b->s, m->upper, true, &d, &diff, err) < 0)
    return -1;
  cleanup_free char *parent_chain = NULL;
  for (size_t i = 0; i < st->n; i++) {
    char *c = img_chain_id(parent_chain, st->diff_ids[i]);
    free(parent_chain);
    parent_chain = c;
  }
  cleanup_free char *chain = img_chain_id(parent_chain, diff);
  int rc = chain ? img_snapshot_adopt(b->s, chain, m->upper, err)
                 : kube_make_oom(err);
  if (rc == 0 && state_add_layer(st, &d, diff) < 0)
    rc = kube_make_oom(err);
  img_desc_clear(&d);
  if (rc == 0)
    *added = true;
  return rc;
}

/* mkdir -p `path` inside the mounted root (WORKDIR, RUN's cwd). */
static int mkdir_in(int root, const char *path, kube_error_t *err) {
  cleanup_free char *base = NULL;
  int fd = img_resolve_parent(root, path, true, &base, err);
  if (fd < 0)
    return -1;
  int rc = 0;
  struct stat st;
  if (*base && fstatat(fd, base, &st, 0) < 0 && mkdirat(fd, base, 0755) < 0 &&
      errno != EEXIST)
    rc = kube_make_error(err, errno, "mkdir %s: %s", path, strerror(errno));
  close(fd);
  return rc;
}

/* Mount points the runtime makes (/proc, /dev, /sys) must not end up in
 * the layer when the image did not have them. */
static const char *const runtime_mounts[] = {"proc", "dev", "sys", "etc", NULL};

static void note_missing(int root, bool missing[]) {
  for (size_t i = 0; runtime_mounts[i]; i++) {
    struct stat st;
    missing[i] = fstatat(root, runtime_mounts[i], &st, AT_SYMLINK_NOFOLLOW) < 0;
  }
}

static void drop_created(const char *upper, const bool missing[]) {
  for (size_t i = 0; runtime_mounts[i]; i++) {
    if (!missing[i])
      continue;
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", upper, runtime_mounts[i]);
    if (streq(runtime_mounts[i], "etc")) {
      /* only the files a runtime may create, never user content */
      const char *f[] = {"hostname", "hosts", "resolv.conf"};
      for (size_t k = 0; k < ARRAY_SIZE(f); k++) {
        char q[4300];
        snprintf(q, sizeof q, "%s/%s", p, f[k]);
        struct stat st;
        if (lstat(q, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
          unlink(q);
      }
    }
    if (dir_empty(p))
      rmdir(p);
  }
}

/* ---- steps --------------------------------------------------------------- */

static int do_run(struct build *b, struct stage *sg, const img_df_instr_t *in,
                  kube_error_t *err) {
  json_object *c = config_of(&sg->st);
  char **argv = NULL;
  if (in->json)
    argv = calloc(in->n_args + 1, sizeof *argv);
  else {
    json_object *sh = NULL;
    size_t n = 0;
    char **shell = json_object_object_get_ex(c, "Shell", &sh)
                       ? img_json_strv(sh, &n)
                       : NULL;
    if (!shell || n == 0) {
      img_strv_free(shell);
      shell = calloc(3, sizeof *shell);
      if (shell) {
        shell[0] = strdup("/bin/sh");
        shell[1] = strdup("-c");
      }
      n = 2;
    }
    argv = calloc(n + 2, sizeof *argv);
    for (size_t i = 0; argv && shell && i < n; i++)
      argv[i] = steal_pointer(&shell[i]);
    if (argv)
      argv[n] = strdup(in->rest);
    img_strv_free(shell);
  }
  for (size_t i = 0; argv && in->json && i < in->n_args; i++)
    argv[i] = strdup(in->args[i]);
  if (!argv)
    return kube_make_oom(err);
  /* env: the image's, then the stage's ARGs that ENV does not set */
  json_object *envj = NULL;
  size_t ne = 0;
  char **env = json_object_object_get_ex(c, "Env", &envj)
                   ? img_json_strv(envj, &ne)
                   : calloc(1, sizeof(char *));
  char **args = arg_env(b, sg);
  size_t na = img_strv_len(args);
  char **all = calloc(ne + na + 2, sizeof *all);
  size_t k = 0;
  bool has_path = false;
  for (size_t i = 0; all && env && i < ne; i++) {
    has_path = has_path || str_has_prefix(env[i], "PATH=");
    all[k++] = env[i];
  }
  for (size_t i = 0; all && args && i < na; i++) {
    size_t kl = strcspn(args[i], "=");
    bool shadowed = false;
    for (size_t j = 0; j < ne && !shadowed; j++)
      shadowed = strncmp(env[j], args[i], kl + 1) == 0;
    if (!shadowed)
      all[k++] = args[i];
  }
  if (all && !has_path)
    all[k++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
               "/sbin:/bin";
  int rc = -1;
  struct mnt m = {.root_fd = -1};
  img_run_t r = {0};
  char id[64], cg[512];
  snprintf(id, sizeof id, "kube-build-%s-%zu", b->id, b->step);
  if (b->o->cgroup_parent)
    snprintf(cg, sizeof cg, "%s/%s-%zu", b->o->cgroup_parent, b->id, b->step);
  else
    snprintf(cg, sizeof cg, "/libkube-build-%s-%zu", b->id, b->step);
  if (!all) {
    kube_make_oom(err);
    goto out;
  }
  if (mnt_setup(b, &sg->st, &m, err) < 0)
    goto out;
  bool missing[8];
  note_missing(m.root_fd, missing);
  const char *wd = img_json_str(c, "WorkingDir");
  if (wd && *wd && mkdir_in(m.root_fd, wd, err) < 0)
    goto out;
  r = (img_run_t){.rootfs = m.root,
                  .args = argv,
                  .env = all,
                  .cwd = wd,
                  .host_network =
                      b->o->network == KUBE_IMAGE_BUILD_NETWORK_HOST,
                  .runtime_root = b->rt_root,
                  .id = id,
                  .cgroups_path = cg,
                  .prog = &b->prog};
  const char *user = img_json_str(c, "User");
  if (img_lookup_user(m.root_fd, user, &r.uid, &r.gid, err) < 0)
    goto out;
  logf_(b, " ---> Running in %s", b->id);
  if (img_build_run(&r, err) < 0)
    goto out;
  if (r.exit_code != 0) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "The command '%s' returned a non-zero code: %d%s%s",
                   in->json ? in->rest : argv[img_strv_len(argv) - 1],
                   r.exit_code, r.tail && *r.tail ? "\n" : "",
                   r.tail ? r.tail : "");
    goto out;
  }
  drop_created(m.upper, missing);
  bool added;
  if (mnt_commit(b, &sg->st, &m, &added, err) < 0)
    goto out;
  rc = 0;
out:
  free(r.tail);
  mnt_release(&m);
  img_strv_free(argv);
  free(all);
  img_strv_free(env);
  img_strv_free(args);
  return rc;
}

static const char *flag_of(const img_df_instr_t *in, const char *name) {
  for (size_t i = 0; i < in->n_flags; i++)
    if (streq(in->flags[i].name, name))
      return in->flags[i].value ? in->flags[i].value : "";
  return NULL;
}

static struct stage *find_stage(struct build *b, const char *name,
                                size_t before) {
  for (size_t i = 0; i < before; i++)
    if (b->stages[i].name && strcasecmp(b->stages[i].name, name) == 0)
      return &b->stages[i];
  char *e;
  unsigned long idx = strtoul(name, &e, 10);
  if (*name && !*e && idx < before)
    return &b->stages[idx];
  return NULL;
}

static int build_stage(struct build *b, size_t idx, kube_error_t *err);

/* COPY/ADD: key from the sources' content, then the copy on a miss. */
static int do_copy(struct build *b, struct stage *sg, const img_df_instr_t *in,
                   bool *cached, kube_error_t *err) {
  bool add = streq(in->cmd, "add");
  static const char *const ok[] = {"from",         "chown",    "chmod",
                                   "link",         "parents",  "exclude",
                                   "keep-git-dir", "checksum", NULL};
  for (size_t i = 0; i < in->n_flags; i++) {
    bool known = false;
    for (size_t k = 0; ok[k]; k++)
      known = known || streq(ok[k], in->flags[i].name);
    if (!known || (add && streq(in->flags[i].name, "from")))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: unknown flag: --%s", in->line,
                            in->flags[i].name);
  }
  struct lookup_ctx lc = {b, sg};
  size_t nw = 0;
  char **w;
  if (in->json) {
    w = calloc(in->n_args + 1, sizeof *w);
    for (size_t i = 0; w && i < in->n_args; i++, nw++)
      if (!(w[i] = img_df_expand(in->args[i], b->df.escape, lookup, &lc, err)))
        break;
    if (w && nw < in->n_args) {
      img_strv_free(w);
      return -1;
    }
  } else
    w = img_df_words(in->rest, b->df.escape, lookup, &lc, &nw, err);
  if (!w)
    return -1;
  int rc = -1;
  img_copy_list_t l = {.hash_content = true};
  struct mnt m = {.root_fd = -1};
  struct mnt from_m = {.root_fd = -1};
  int src_root = -1;
  char *dest = NULL;
  if (nw < 2) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "Dockerfile:%d: %s requires at least two arguments",
                   in->line, add ? "ADD" : "COPY");
    goto out;
  }
  const char *dest_raw = w[nw - 1];
  bool dest_dir = nw > 2 || str_has_suffix(dest_raw, "/") ||
                  str_has_suffix(dest_raw, "/.") || streq(dest_raw, ".") ||
                  streq(dest_raw, "..");
  if (nw > 2 && !str_has_suffix(dest_raw, "/")) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "Dockerfile:%d: When using %s with more than one source "
                   "file, the destination must be a directory and end with "
                   "a /",
                   in->line, add ? "ADD" : "COPY");
    goto out;
  }
  /* relative destinations are relative to WORKDIR */
  const char *wd = img_json_str(config_of(&sg->st), "WorkingDir");
  if (asprintf(&dest, "%s%s%s", dest_raw[0] == '/' ? "" : (wd ? wd : "/"),
               dest_raw[0] == '/' || !wd || str_has_suffix(wd, "/") ? "" : "/",
               dest_raw) < 0) {
    kube_make_oom(err);
    goto out;
  }
  for (size_t i = 0; i + 1 < nw; i++)
    if (str_has_prefix(w[i], "http://") || str_has_prefix(w[i], "https://") ||
        str_has_prefix(w[i], "git@")) {
      if (!add)
        kube_error_set(err, KUBE_REASON_INVALID, 0,
                       "Dockerfile:%d: COPY cannot take a URL (%s); use ADD",
                       in->line, w[i]);
      else
        kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                       "Dockerfile:%d: ADD %s: remote sources need network "
                       "access, which kube build does not use; download the "
                       "file into the build context and ADD it from there",
                       in->line, w[i]);
      goto out;
    }
  const char *from = flag_of(in, "from");
  char from_id[80] = "";
  if (from) {
    cleanup_free char *fx = img_df_expand(from, b->df.escape, lookup, &lc, err);
    if (!fx)
      goto out;
    struct stage *fs = find_stage(b, fx, (size_t)(sg - b->stages));
    struct bstate img_state = {0};
    struct bstate *src_state;
    if (fs) {
      if (!fs->built && build_stage(b, (size_t)(fs - b->stages), err) < 0)
        goto out;
      src_state = &fs->st;
    } else {
      /* an image from the store (pulled when missing) */
      cleanup_free char *md = NULL;
      kube_error_t e2 = KUBE_ERROR_INIT;
      if (img_resolve(b->s, fx, &md, NULL, &e2) < 0) {
        kube_error_clear(&e2);
        kube_image_info_t info;
        if (kube_image_pull(b->s, fx, b->o->pull, &info, err) < 0)
          goto out;
        md = steal_pointer(&info.manifest_digest);
        kube_image_info_clear(&info);
      }
      if (state_load(b->s, md, &img_state, err) < 0)
        goto out;
      src_state = &img_state;
    }
    snprintf(from_id, sizeof from_id, "%s",
             src_state->manifest ? src_state->manifest : src_state->key);
    int r = mnt_setup(b, src_state, &from_m, err);
    state_clear(&img_state);
    if (r < 0)
      goto out;
    src_root = from_m.root_fd;
  } else
    src_root = b->ctx_fd;
  for (size_t i = 0; i + 1 < nw; i++)
    if (img_copy_list_add(&l, src_root, w[i], from ? NULL : &b->ignore, err) <
        0) {
      kube_error_wrap(err, "Dockerfile:%d: %s failed", in->line,
                      add ? "ADD" : "COPY");
      goto out;
    }
  int64_t uid = -1, gid = -1, mode = -1;
  const char *chmod_s = flag_of(in, "chmod");
  if (chmod_s) {
    char *e;
    long v = strtol(chmod_s, &e, 8);
    if (!*chmod_s || *e || v < 0 || v > 07777) {
      kube_error_set(err, KUBE_REASON_INVALID, 0,
                     "Dockerfile:%d: --chmod=%s: want an octal mode", in->line,
                     chmod_s);
      goto out;
    }
    mode = v;
  }
  /* the key: parent, instruction, and every source file's content */
  img_hash_t h;
  if (img_hash_init(&h, err) < 0)
    goto out;
  img_hash_update(&h, in->cmd, strlen(in->cmd) + 1);
  img_hash_update(&h, dest, strlen(dest) + 1);
  img_hash_update(&h, from_id, strlen(from_id) + 1);
  const char *chown_s = flag_of(in, "chown");
  img_hash_update(&h, chown_s ? chown_s : "", chown_s ? strlen(chown_s) : 0);
  img_hash_update(&h, chmod_s ? chmod_s : "-", chmod_s ? strlen(chmod_s) : 1);
  img_copy_list_hash(&l, &h);
  char content[72], key[72];
  img_hash_final(&h, content);
  key_next(key, sg->st.key, "copy", content, strlen(content));
  struct bstate hit;
  if (cache_get(b, key, &hit)) {
    state_clear(&sg->st);
    sg->st = hit;
    *cached = true;
    rc = 0;
    goto out;
  }
  if (mnt_setup(b, &sg->st, &m, err) < 0)
    goto out;
  if (chown_s && img_lookup_user(m.root_fd, chown_s, &uid, &gid, err) < 0)
    goto out;
  img_copy_opts_t co = {.uid = chown_s ? uid : -1,
                        .gid = chown_s ? gid : -1,
                        .chmod = mode,
                        .add = add};
  if (img_copy_apply(&l, src_root, m.root_fd, dest, dest_dir, &co, err) < 0) {
    kube_error_wrap(err, "Dockerfile:%d: %s failed", in->line,
                    add ? "ADD" : "COPY");
    goto out;
  }
  mnt_release(&from_m);
  bool added;
  if (mnt_commit(b, &sg->st, &m, &added, err) < 0 ||
      state_commit(b->s, &sg->st, in->original, !added, err) < 0)
    goto out;
  memcpy(sg->st.key, key, sizeof key);
  cache_put(b, key, sg->st.manifest);
  rc = 0;
out:
  mnt_release(&m);
  mnt_release(&from_m);
  img_copy_list_clear(&l);
  img_strv_free(w);
  free(dest);
  return rc;
}

/* WORKDIR: the directory exists in the image afterwards. */
static int do_workdir(struct build *b, struct stage *sg, kube_error_t *err) {
  const char *wd = img_json_str(config_of(&sg->st), "WorkingDir");
  struct mnt m;
  if (!wd || !*wd || mnt_setup(b, &sg->st, &m, err) < 0)
    return wd && *wd ? -1 : 0;
  bool added = false;
  int rc = mkdir_in(m.root_fd, wd, err);
  if (rc == 0)
    rc = mnt_commit(b, &sg->st, &m, &added, err);
  mnt_release(&m);
  return rc;
}

static int step(struct build *b, struct stage *sg, const img_df_instr_t *in,
                bool trigger, kube_error_t *err) {
  const char *c = in->cmd;
  struct lookup_ctx lc = {b, sg};
  if (!trigger) {
    b->step++;
    char line[4096];
    snprintf(line, sizeof line, "Step %zu/%zu : %s", b->step, b->total,
             in->original);
    img_progress_emit(&b->prog, KUBE_IMAGE_PROGRESS_STEP, NULL, line,
                      (int64_t)b->step, (int64_t)b->total);
  }
  if (streq(c, "from"))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile:%d: FROM inside a stage", in->line);
  if (streq(c, "arg")) {
    if (in->n_args == 0)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: ARG requires an argument",
                            in->line);
    kube_strbuf_t kb = KUBE_STRBUF_INIT;
    for (size_t i = 0; i < in->n_args; i++) {
      cleanup_free char *name = NULL, *def = NULL;
      if (arg_decl(b, in->args[i], &lc, &name, &def, err) < 0) {
        kube_strbuf_clear(&kb);
        return -1;
      }
      json_object *mv = NULL;
      /* a meta ARG's value is the default of a bare ARG in the stage */
      if (!def && json_object_object_get_ex(b->meta_args, name, &mv) && mv)
        def = strdup(json_object_get_string(mv));
      json_object_object_add(sg->args, name,
                             def ? json_object_new_string(def) : NULL);
      const char *v = arg_value(b, sg->args, name);
      kube_strbuf_printf(&kb, "%s=%s\n", name, v ? v : "\x01");
    }
    char key[72];
    key_next(key, sg->st.key, "arg", kb.data, kb.len);
    kube_strbuf_clear(&kb);
    memcpy(sg->st.key, key, sizeof key);
    return 0;
  }
  /* the key: parent + instruction + the ARG values in scope */
  cleanup_free char **argenv = arg_env(b, sg);
  kube_strbuf_t kb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&kb, "%s\n%s\n", c, in->original);
  for (size_t i = 0; argenv && argenv[i]; i++) {
    kube_strbuf_printf(&kb, "%s\n", argenv[i]);
    free(argenv[i]);
  }
  if (streq(c, "run"))
    kube_strbuf_printf(&kb, "net=%d\n", (int)b->o->network);
  char key[72];
  if (streq(c, "copy") || streq(c, "add")) {
    kube_strbuf_clear(&kb);
    bool cached = false;
    if (do_copy(b, sg, in, &cached, err) < 0)
      return -1;
    if (cached)
      logf_(b, " ---> Using cache");
    return 0;
  }
  key_next(key, sg->st.key, "step", kb.data, kb.len);
  kube_strbuf_clear(&kb);
  struct bstate hit;
  if (cache_get(b, key, &hit)) {
    state_clear(&sg->st);
    sg->st = hit;
    logf_(b, " ---> Using cache");
    return 0;
  }
  bool empty = true;
  if (streq(c, "run")) {
    if (do_run(b, sg, in, err) < 0)
      return -1;
    empty = false;
  } else {
    if (img_df_apply_config(config_of(&sg->st), in, b->df.escape, lookup, &lc,
                            err) < 0)
      return -1;
    if (streq(c, "workdir")) {
      size_t before = sg->st.n;
      if (do_workdir(b, sg, err) < 0)
        return -1;
      empty = sg->st.n == before;
    }
  }
  if (state_commit(b->s, &sg->st, in->original, empty, err) < 0)
    return -1;
  memcpy(sg->st.key, key, sizeof key);
  cache_put(b, key, sg->st.manifest);
  return 0;
}

static void log_id(struct build *b, struct stage *sg) {
  img_image_t im;
  kube_error_t e = KUBE_ERROR_INIT;
  if (sg->st.manifest && img_image_load(b->s, sg->st.manifest, &im, &e) == 0) {
    logf_(b, " ---> %.12s", img_digest_hex(im.m.config.digest));
    img_image_clear(&im);
  }
  kube_error_clear(&e);
}

static int do_from(struct build *b, struct stage *sg, const img_df_instr_t *in,
                   kube_error_t *err) {
  b->step++;
  char line[4096];
  snprintf(line, sizeof line, "Step %zu/%zu : %s", b->step, b->total,
           in->original);
  img_progress_emit(&b->prog, KUBE_IMAGE_PROGRESS_STEP, NULL, line,
                    (int64_t)b->step, (int64_t)b->total);
  static const char *const ok[] = {"platform", NULL};
  for (size_t i = 0; i < in->n_flags; i++)
    if (!streq(in->flags[i].name, ok[0]))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: unknown flag: --%s", in->line,
                            in->flags[i].name);
  if (in->n_args != 1 && !(in->n_args == 3 && !strcasecmp(in->args[1], "as")))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile:%d: FROM requires either one or three "
                          "arguments",
                          in->line);
  struct lookup_ctx meta = {b, NULL};
  cleanup_free char *base =
      img_df_expand(in->args[0], b->df.escape, lookup, &meta, err);
  if (!base)
    return -1;
  if (!*base)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile:%d: base name (%s) should not be blank",
                          in->line, in->args[0]);
  struct stage *prev = find_stage(b, base, (size_t)(sg - b->stages));
  if (prev && prev->name) {
    if (!prev->built && build_stage(b, (size_t)(prev - b->stages), err) < 0)
      return -1;
    if (state_copy(&sg->st, &prev->st) < 0)
      return kube_make_oom(err);
  } else if (strcasecmp(base, "scratch") == 0) {
    if (state_scratch(&sg->st, err) < 0)
      return -1;
    key_next(sg->st.key, "", "scratch", NULL, 0);
  } else {
    cleanup_free char *md = NULL;
    kube_error_t e2 = KUBE_ERROR_INIT;
    if (img_resolve(b->s, base, &md, NULL, &e2) < 0) {
      if (e2.reason != KUBE_REASON_NOT_FOUND) {
        kube_error_move(err, &e2);
        return -1;
      }
      kube_error_clear(&e2);
      logf_(b, "Pulling %s", base);
      kube_image_info_t info;
      if (kube_image_pull(b->s, base, b->o->pull, &info, err) < 0)
        return kube_error_wrap(err, "Dockerfile:%d: FROM %s", in->line, base);
      md = steal_pointer(&info.manifest_digest);
      kube_image_info_clear(&info);
    }
    if (state_load(b->s, md, &sg->st, err) < 0)
      return -1;
    key_next(sg->st.key, "", "from", md, strlen(md));
  }
  log_id(b, sg);
  /* the base image's ONBUILD triggers run now, and are not inherited */
  json_object *c = config_of(&sg->st);
  json_object *ob = NULL;
  size_t n = 0;
  char **trig = json_object_object_get_ex(c, "OnBuild", &ob)
                    ? img_json_strv(ob, &n)
                    : NULL;
  json_object_object_del(c, "OnBuild");
  if (n)
    logf_(b, "# Executing %zu build trigger%s", n, n > 1 ? "s" : "");
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    img_df_instr_t t;
    rc = img_dockerfile_parse_line(trig[i], b->df.escape, &t, err);
    if (rc == 0) {
      rc = step(b, sg, &t, true, err);
      img_df_instr_clear(&t);
    }
  }
  img_strv_free(trig);
  return rc;
}

static int build_stage(struct build *b, size_t idx, kube_error_t *err) {
  struct stage *sg = &b->stages[idx];
  if (sg->built)
    return 0;
  if (do_from(b, sg, &b->df.instrs[sg->first], err) < 0)
    return -1;
  for (size_t i = sg->first + 1; i < sg->end; i++) {
    if (step(b, sg, &b->df.instrs[i], false, err) < 0)
      return -1;
    if (!streq(b->df.instrs[i].cmd, "arg"))
      log_id(b, sg);
  }
  /* a stage of only FROM still needs a state written */
  if (!sg->st.manifest && state_commit(b->s, &sg->st, "FROM", true, err) < 0)
    return -1;
  sg->built = true;
  return 0;
}

/* ---- set up -------------------------------------------------------------- */

static char *read_file(int dirfd, const char *path, size_t max, int *eno) {
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *eno = errno;
    return NULL;
  }
  char *r = img_read_fd(fd, max, NULL);
  *eno = r ? 0 : errno;
  close(fd);
  return r;
}

static int split_stages(struct build *b, kube_error_t *err) {
  size_t nf = 0;
  for (size_t i = 0; i < b->df.n; i++)
    nf += streq(b->df.instrs[i].cmd, "from");
  if (nf == 0)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile: no FROM instruction");
  b->stages = calloc(nf, sizeof *b->stages);
  if (!b->stages)
    return kube_make_oom(err);
  size_t i = 0;
  struct lookup_ctx meta = {b, NULL};
  for (; i < b->df.n && !streq(b->df.instrs[i].cmd, "from"); i++) {
    const img_df_instr_t *in = &b->df.instrs[i];
    if (!streq(in->cmd, "arg"))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: no build stage in current "
                            "context (only ARG may come before FROM)",
                            in->line);
    for (size_t k = 0; k < in->n_args; k++) {
      cleanup_free char *name = NULL, *def = NULL;
      if (arg_decl(b, in->args[k], &meta, &name, &def, err) < 0)
        return -1;
      json_object_object_add(b->meta_args, name,
                             def ? json_object_new_string(def) : NULL);
    }
  }
  for (; i < b->df.n; i++) {
    if (!streq(b->df.instrs[i].cmd, "from"))
      continue;
    struct stage *sg = &b->stages[b->n_stages];
    if (b->n_stages)
      b->stages[b->n_stages - 1].end = i;
    sg->first = i;
    sg->end = b->df.n;
    sg->args = json_object_new_object();
    const img_df_instr_t *in = &b->df.instrs[i];
    if (in->n_args == 3 && !strcasecmp(in->args[1], "as")) {
      sg->name = strdup(in->args[2]);
      for (char *p = sg->name; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
      if (find_stage(b, sg->name, b->n_stages))
        return kube_error_set(err, KUBE_REASON_INVALID, 0,
                              "Dockerfile:%d: duplicate stage name %s",
                              in->line, in->args[2]);
    }
    b->n_stages++;
  }
  b->target = b->n_stages - 1;
  if (b->o->target) {
    struct stage *t = find_stage(b, b->o->target, b->n_stages);
    if (!t || !t->name)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "failed to reach build target %s in Dockerfile",
                            b->o->target);
    b->target = (size_t)(t - b->stages);
  }
  b->total = b->stages[b->target].end - b->stages[0].first;
  return 0;
}

static int parse_build_args(struct build *b, kube_error_t *err) {
  b->build_args = json_object_new_object();
  b->meta_args = json_object_new_object();
  b->used_args = json_object_new_object();
  /* BuildKit's automatic platform ARGs */
  char plat[64];
  snprintf(plat, sizeof plat, "linux/%s", host_arch());
  const char *autos[][2] = {
      {"TARGETPLATFORM", plat},    {"TARGETOS", "linux"},
      {"TARGETARCH", host_arch()}, {"BUILDPLATFORM", plat},
      {"BUILDOS", "linux"},        {"BUILDARCH", host_arch()}};
  for (size_t i = 0; i < ARRAY_SIZE(autos); i++)
    json_object_object_add(b->meta_args, autos[i][0],
                           json_object_new_string(autos[i][1]));
  for (size_t i = 0; i < b->o->n_build_args; i++) {
    const char *a = b->o->build_args[i];
    const char *eq = strchr(a, '=');
    cleanup_free char *k = eq ? strndup(a, (size_t)(eq - a)) : strdup(a);
    if (!k)
      return kube_make_oom(err);
    const char *v = eq ? eq + 1 : getenv(k);
    if (!*k)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "--build-arg \"%s\": no name", a);
    if (v)
      json_object_object_add(b->build_args, k, json_object_new_string(v));
  }
  return 0;
}

static void build_free(struct build *b) {
  img_dockerfile_clear(&b->df);
  img_ignore_clear(&b->ignore);
  if (b->ctx_fd >= 0)
    close(b->ctx_fd);
  for (size_t i = 0; i < b->n_stages; i++) {
    free(b->stages[i].name);
    state_clear(&b->stages[i].st);
    json_object_put(b->stages[i].args);
  }
  free(b->stages);
  json_object_put(b->meta_args);
  json_object_put(b->build_args);
  json_object_put(b->used_args);
  if (b->tmp) {
    img_rmtree(b->tmp);
    free(b->tmp);
  }
  if (b->own_rt_root && b->rt_root)
    img_rmtree(b->rt_root);
  free(b->rt_root);
  img_progress_clear(&b->prog);
}

static int build_prepare(struct build *b, kube_error_t *err) {
  const kube_image_build_options_t *o = b->o;
  b->ctx_fd = open(o->context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b->ctx_fd < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, errno,
                          "build context %s: %s", o->context_dir,
                          strerror(errno));
  int eno = 0;
  cleanup_free char *text =
      o->dockerfile ? read_file(AT_FDCWD, o->dockerfile, 4 << 20, &eno)
                    : read_file(b->ctx_fd, "Dockerfile", 4 << 20, &eno);
  if (!text && !o->dockerfile && eno == ENOENT)
    text = read_file(b->ctx_fd, "dockerfile", 4 << 20, &eno);
  if (!text || eno)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, eno,
                          "Dockerfile %s: %s",
                          o->dockerfile ? o->dockerfile : "(in the context)",
                          strerror(eno ? eno : EIO));
  if (img_dockerfile_parse(text, strlen(text), &b->df, err) < 0)
    return -1;
  cleanup_free char *ign = read_file(b->ctx_fd, ".dockerignore", 1 << 20, &eno);
  if (img_ignore_parse(ign ? ign : "", &b->ignore, err) < 0)
    return -1;
  if (parse_build_args(b, err) < 0 || split_stages(b, err) < 0)
    return -1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(b->id, sizeof b->id, "%06x%06x", (unsigned)(ts.tv_nsec & 0xffffff),
           (unsigned)((getpid() ^ (unsigned)ts.tv_sec) & 0xffffff));
  if (asprintf(&b->tmp, "%s/tmp/build-%s-XXXXXX", b->s->state, b->id) < 0 ||
      !mkdtemp(b->tmp)) {
    free(b->tmp);
    b->tmp = NULL;
    return kube_make_error(err, errno, "build directory: %s", strerror(errno));
  }
  if (o->runtime_root)
    b->rt_root = strdup(o->runtime_root);
  else {
    b->own_rt_root = asprintf(&b->rt_root, "/run/libkube/build-%s", b->id) >= 0;
    if (!b->own_rt_root)
      b->rt_root = NULL;
  }
  return b->rt_root ? 0 : kube_make_oom(err);
}

KUBE_EXPORT int kube_image_build(kube_image_store_t *s,
                                 const kube_image_build_options_t *o,
                                 kube_image_info_t *out, kube_error_t *err) {
  if (out)
    memset(out, 0, sizeof *out);
  if (!o || !o->context_dir)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "build: a context directory is required");
  for (size_t i = 0; i < o->n_tags; i++) {
    kube_image_ref_t r;
    if (kube_image_ref_parse(o->tags[i], &r, err) < 0)
      return kube_error_wrap(err, "tag %s", o->tags[i]);
    bool digest = r.digest != NULL;
    kube_image_ref_clear(&r);
    if (digest)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "tag %s: a build result cannot be named by a "
                            "digest",
                            o->tags[i]);
  }
  if (geteuid() != 0)
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, EPERM,
                          "kube build needs root: it mounts overlays and runs "
                          "containers");
  struct build b = {.s = s, .o = o, .ctx_fd = -1};
  img_progress_init(&b.prog, o->progress, o->userdata);
  int gc = img_lock(s, "gc.lock", false, err);
  if (gc < 0) {
    img_progress_clear(&b.prog);
    return -1;
  }
  int rc = build_prepare(&b, err);
  for (size_t i = 0; rc == 0 && i <= b.target; i++)
    rc = build_stage(&b, i, err);
  struct stage *t = rc == 0 ? &b.stages[b.target] : NULL;
  img_image_t im = {0};
  if (rc == 0)
    rc = img_image_load(s, t->st.manifest, &im, err);
  if (rc == 0) {
    json_object_object_foreach(b.build_args, k, v) {
      (void)v;
      if (!json_object_object_get_ex(b.used_args, k, NULL))
        logf_(&b, "[Warning] One or more build-args [%s] were not consumed", k);
    }
    logf_(&b, "Successfully built %.12s", img_digest_hex(im.m.config.digest));
  }
  for (size_t i = 0; rc == 0 && i < o->n_tags; i++) {
    cleanup_free char *name = kube_image_ref_normalize(o->tags[i], err);
    rc = name ? img_store_name(s, name, im.manifest_digest, im.m.media_type,
                               (int64_t)im.manifest_len, NULL, err)
              : -1;
    if (rc == 0)
      logf_(&b, "Successfully tagged %s", name);
  }
  if (rc == 0)
    img_touch_used(s, im.manifest_digest);
  if (rc == 0 && out) {
    json_object *index = img_index_load(s, err);
    rc = index ? img_info_fill(s, &im, index, out, err) : -1;
    json_object_put(index);
  }
  img_image_clear(&im);
  build_free(&b);
  img_unlock(gc);
  return rc;
}
