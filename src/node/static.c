/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static pods, as the kubelet's file source (--pod-manifest-path) and
 * mirror client: every *.yaml, *.yml and *.json file of the directory
 * holds one Pod the node runs without the API server.  The pod is named
 * NAME-NODENAME, bound to this node, its UID the hash of the node, the
 * file and its content (config.hash); it runs as any pod of the node
 * (nd_pod with is_static: nd_pod_object hands out the file's object).
 *
 * The directory is read again when inotify says it changed, and every 20
 * seconds in any case (an editor's rename, a directory created later).
 * Reading a few small local files is done on the loop.
 *
 * Each static pod gets a mirror pod in the API: a copy with the
 * kubernetes.io/config.mirror annotation and the Node as its owner, to
 * which the pod's status is written.  A mirror deleted (or not matching
 * the file any more) is deleted for good (grace 0) and created again; the
 * mirror of a pod whose file went is deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "node/agent.h"

#define RESCAN_MS 20000
#define MIRROR_CHECK_MS 2000

struct st_pod {
  char *file; /* the manifest's path */
  char *uid;  /* also the config.hash annotation */
  char *key;  /* "ns/name" */
  kube_object_t *obj;
  bool mirror_busy; /* a create or delete of its mirror in flight */
};

struct nd_static {
  kube_node_agent_t *a;
  int ifd;
  struct event *ev;
  kube_timer_t *rescan, *check;
  struct st_pod *v;
  size_t n;
  unsigned ticks;
  /* the last problem reported per file ("path\tmessage"), so a bad file
   * is logged once until it changes */
  char **said;
  size_t n_said;
};

static void st_pod_clear(struct st_pod *s) {
  free(s->file);
  free(s->uid);
  free(s->key);
  kube_object_free(s->obj);
  memset(s, 0, sizeof *s);
}

static bool has_manifest_ext(const char *name) {
  if (name[0] == '.')
    return false; /* the kubelet skips hidden files (editors' swap files) */
  const char *dot = strrchr(name, '.');
  return dot &&
         (streq(dot, ".yaml") || streq(dot, ".yml") || streq(dot, ".json"));
}

/* md5 of the node, the path and the content, in hex (the kubelet's file
 * source hashes the pod with its source the same way). */
static void pod_hash(char out[33], const char *node, const char *path,
                     const char *data, size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1) {
    EVP_DigestUpdate(ctx, node, strlen(node) + 1);
    EVP_DigestUpdate(ctx, path, strlen(path) + 1);
    EVP_DigestUpdate(ctx, data, len);
    EVP_DigestFinal_ex(ctx, md, &n);
  }
  EVP_MD_CTX_free(ctx);
  out[0] = '\0';
  for (unsigned i = 0; i < n && i < 16; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The pod of a manifest as the node runs it, or NULL with err. */
kube_object_t *nd_static_pod_parse(const char *node, const char *path,
                                   const char *data, size_t len,
                                   kube_error_t *err) {
  kube_object_t **objs = NULL;
  size_t n = 0;
  if (kube_objects_decode(data, len, &objs, &n, err) < 0)
    return NULL;
  if (n != 1) {
    kube_object_array_free(objs, n);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   n ? "the file holds %zu objects, a manifest holds one pod"
                     : "the file holds no object",
                   n);
    return NULL;
  }
  kube_object_t *pod = objs[0];
  free(objs);
  const char *kind = kube_object_kind(pod), *av = kube_object_api_version(pod);
  const char *name = kube_object_name(pod);
  /* Declared before the first goto: fail frees it. */
  cleanup_free char *full = NULL;
  if (!kind || !streq(kind, "Pod") || !av || !streq(av, "v1")) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid pod: the manifest is a %s %s, not a v1 Pod",
                   av ? av : "(no apiVersion)", kind ? kind : "(no kind)");
    goto fail;
  }
  if (!name || !*name) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid pod: metadata.name: Required value: name or "
                   "generateName is required");
    goto fail;
  }
  char hash[33];
  pod_hash(hash, node, path, data, len);
  if (asprintf(&full, "%s-%s", name, node) < 0) {
    kube_make_oom(err);
    goto fail;
  }
  json_object *root = kube_object_json(pod);
  json_object *meta = NULL;
  if (!json_object_object_get_ex(root, "metadata", &meta) ||
      !json_object_is_type(meta, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid pod: metadata");
    goto fail;
  }
  json_object_object_del(meta, "resourceVersion");
  json_object_object_del(meta, "generateName");
  json_object_object_del(root, "status");
  const char *ns = kube_object_namespace(pod);
  if (kube_object_set_string(pod, "metadata.name", full, err) < 0 ||
      kube_object_set_string(pod, "metadata.namespace",
                             ns && *ns ? ns : "default", err) < 0 ||
      kube_object_set_string(pod, "metadata.uid", hash, err) < 0 ||
      kube_object_set_string(pod, "spec.nodeName", node, err) < 0 ||
      kube_object_set_annotation(pod, ND_ANN_CONFIG_HASH, hash, err) < 0 ||
      kube_object_set_annotation(pod, ND_ANN_CONFIG_SOURCE, "file", err) < 0 ||
      kube_object_default(pod, err) < 0)
    goto fail;
  /* the kubelet's static pods tolerate every NoExecute taint */
  json_object *spec = NULL;
  if (json_object_object_get_ex(root, "spec", &spec)) {
    json_object *tols = NULL;
    if (!json_object_object_get_ex(spec, "tolerations", &tols) ||
        !json_object_is_type(tols, json_type_array)) {
      tols = json_object_new_array();
      json_object_object_add(spec, "tolerations", tols);
    }
    json_object *t = json_object_new_object();
    json_object_object_add(t, "operator", json_object_new_string("Exists"));
    json_object_object_add(t, "effect", json_object_new_string("NoExecute"));
    json_object_array_add(tols, t);
  }
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_object_validate(pod, NULL, &e) < 0) {
    kube_error_set(err, KUBE_REASON_INVALID, 0, "invalid pod: %s",
                   e.message ? e.message : "invalid");
    kube_error_clear(&e);
    goto fail;
  }
  return pod;
fail:
  kube_object_free(pod);
  return NULL;
}

/* ---- reading the directory ---------------------------------------------- */

/* Log a file's problem once (until it changes or goes away). */
static void say_once(struct nd_static *st, const char *path, const char *msg) {
  cleanup_free char *line = NULL;
  if (asprintf(&line, "%s\t%s", path, msg) < 0)
    return;
  for (size_t i = 0; i < st->n_said; i++)
    if (streq(st->said[i], line))
      return;
  size_t pl = strlen(path);
  for (size_t i = 0; i < st->n_said; i++)
    if (!strncmp(st->said[i], path, pl) && st->said[i][pl] == '\t') {
      free(st->said[i]);
      st->said[i] = steal_pointer(&line);
      goto log;
    }
  char **v = realloc(st->said, (st->n_said + 1) * sizeof *v);
  if (!v)
    return;
  st->said = v;
  st->said[st->n_said++] = steal_pointer(&line);
log:
  log_warn("node %s: could not process manifest file %s: %s",
           st->a->cfg.node_name, path, msg);
}

static void forget_said(struct nd_static *st, const char *path) {
  size_t pl = strlen(path);
  for (size_t i = 0; i < st->n_said; i++)
    if (!strncmp(st->said[i], path, pl) && st->said[i][pl] == '\t') {
      free(st->said[i]);
      st->said[i--] = st->said[--st->n_said];
    }
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The manifests of the directory, sorted (owned vector; NULL-terminated). */
static char **list_manifests(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char **v = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!has_manifest_ext(de->d_name))
      continue;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
      continue;
    struct stat sb;
    char **nv = realloc(v, (n + 2) * sizeof *v);
    if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || !nv) {
      if (nv)
        v = nv;
      free(path);
      continue;
    }
    v = nv;
    v[n++] = path;
    v[n] = NULL;
  }
  closedir(d);
  if (v)
    qsort(v, n, sizeof *v, cmp_str);
  return v;
}

static struct st_pod *find_uid(struct st_pod *v, size_t n, const char *uid) {
  for (size_t i = 0; i < n; i++)
    if (streq(v[i].uid, uid))
      return &v[i];
  return NULL;
}

static void mirrors_sync(struct nd_static *st, bool orphans);

/* The static pod's nd_pod stops: its object is gone as if deleted. */
static void stop_pod(kube_node_agent_t *a, const char *uid) {
  struct nd_pod *p = nd_pod_find(a, uid);
  if (p && p->is_static && !p->api_gone) {
    log_info("node %s: static pod %s/%s: its manifest went, stopping it",
             a->cfg.node_name, p->ns, p->name);
    p->api_gone = true;
    nd_pod_enqueue(a, p, 0);
  }
}

/* Start the pod's nd_pod; false while the previous incarnation of the
 * same UID (the file removed and put back) still stops. */
static bool start_pod(kube_node_agent_t *a, struct st_pod *s) {
  struct nd_pod *p = nd_pod_find(a, s->uid);
  if (p && p->is_static && !p->api_gone)
    return true;
  if (p && !p->is_static && !p->static_obj && !p->last) {
    /* adopted after a restart: containers of this UID were running */
    p->is_static = true;
  } else if (p) {
    return false;
  }
  kube_object_t *copy = kube_object_copy(s->obj);
  if (!copy)
    return false;
  if (!p && !(p = nd_pod_add(a, s->uid, kube_object_namespace(s->obj),
                             kube_object_name(s->obj)))) {
    kube_object_free(copy);
    return false;
  }
  p->is_static = true;
  kube_object_free(p->static_obj);
  p->static_obj = copy;
  log_info("node %s: static pod %s from %s", a->cfg.node_name, s->key, s->file);
  nd_pod_enqueue(a, p, 0);
  return true;
}

static void scan(struct nd_static *st) {
  kube_node_agent_t *a = st->a;
  const char *dir = a->cfg.manifest_dir;
  char **files = list_manifests(dir);
  struct st_pod *nv = NULL;
  size_t nn = 0;
  bool retry = false;
  for (size_t i = 0; files && files[i]; i++) {
    size_t len = 0;
    cleanup_free char *data = core_read_file(files[i], &len);
    if (!data) {
      say_once(st, files[i], strerror(errno));
      continue;
    }
    kube_error_t e = KUBE_ERROR_INIT;
    kube_object_t *pod =
        nd_static_pod_parse(a->cfg.node_name, files[i], data, len, &e);
    if (!pod) {
      say_once(st, files[i], e.message ? e.message : "invalid");
      kube_error_clear(&e);
      continue;
    }
    char *key = NULL;
    if (asprintf(&key, "%s/%s", kube_object_namespace(pod),
                 kube_object_name(pod)) < 0) {
      kube_object_free(pod);
      continue;
    }
    bool dup = false;
    for (size_t k = 0; k < nn && !dup; k++)
      dup = streq(nv[k].key, key);
    struct st_pod *grown = dup ? NULL : realloc(nv, (nn + 1) * sizeof *nv);
    if (!grown) {
      if (dup) {
        cleanup_free char *m = NULL;
        if (asprintf(&m, "another manifest already defines pod %s", key) > 0)
          say_once(st, files[i], m);
      }
      free(key);
      kube_object_free(pod);
      continue;
    }
    forget_said(st, files[i]);
    nv = grown;
    nv[nn++] = (struct st_pod){.file = strdup(files[i]),
                               .uid = strdup(kube_object_uid(pod)),
                               .key = key,
                               .obj = pod};
  }
  for (size_t i = 0; files && files[i]; i++)
    free(files[i]);
  free(files);
  /* pods whose file went or changed stop */
  bool removed = false;
  for (size_t i = 0; i < st->n; i++)
    if (!find_uid(nv, nn, st->v[i].uid)) {
      stop_pod(a, st->v[i].uid);
      removed = true;
    }
  /* the others run; a pod keeps its mirror's in-flight state */
  for (size_t i = 0; i < nn; i++) {
    struct st_pod *old = find_uid(st->v, st->n, nv[i].uid);
    if (old)
      nv[i].mirror_busy = old->mirror_busy;
    else if (!start_pod(a, &nv[i])) {
      retry = true; /* the old incarnation stops first */
      st_pod_clear(&nv[i]);
      nv[i--] = nv[--nn];
    }
  }
  for (size_t i = 0; i < st->n; i++)
    st_pod_clear(&st->v[i]);
  free(st->v);
  st->v = nv;
  st->n = nn;
  if (retry)
    kube_timer_arm(st->rescan, 1000);
  mirrors_sync(st, removed);
}

/* ---- mirror pods -------------------------------------------------------- */

struct mirror_op {
  kube_node_agent_t *a;
  char *uid; /* the static pod's */
};

static struct st_pod *st_find(kube_node_agent_t *a, const char *uid) {
  struct nd_static *st = a->statics;
  return st ? find_uid(st->v, st->n, uid) : NULL;
}

static void mirror_done(const kube_object_t *res, const kube_error_t *err,
                        void *arg) {
  struct mirror_op *op = arg;
  struct st_pod *s = st_find(op->a, op->uid);
  if (s)
    s->mirror_busy = false;
  if (err && err->reason != KUBE_REASON_NOT_FOUND &&
      err->reason != KUBE_REASON_ALREADY_EXISTS &&
      err->reason != KUBE_REASON_CONFLICT)
    log_warn("node %s: mirror pod of %s: %s", op->a->cfg.node_name,
             s ? s->key : op->uid, err->message);
  free(op->uid);
  free(op);
}

static struct mirror_op *op_new(kube_node_agent_t *a, const char *uid) {
  struct mirror_op *op = calloc(1, sizeof *op);
  if (op && !(op->uid = strdup(uid))) {
    free(op);
    op = NULL;
  }
  if (op)
    op->a = a;
  return op;
}

/* DELETE the mirror m for good (grace 0, its UID as precondition). */
static void mirror_delete(kube_node_agent_t *a, const kube_object_t *m,
                          struct st_pod *s) {
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .grace_period = 0,
                                    .precondition_uid = kube_object_uid(m)};
  struct mirror_op *op = op_new(a, s ? s->uid : "");
  if (!op)
    return;
  if (kube_writer_delete(a->writer, kube_kind_by_kind("v1", "Pod"),
                         kube_object_namespace(m), kube_object_name(m), &wo,
                         mirror_done, op, NULL) < 0) {
    free(op->uid);
    free(op);
    return;
  }
  if (s)
    s->mirror_busy = true;
}

static void mirror_create(kube_node_agent_t *a, struct st_pod *s) {
  const kube_object_t *node = kube_informer_get(a->nodes, a->cfg.node_name);
  const char *node_uid = node ? kube_object_uid(node) : NULL;
  if (!node_uid)
    return; /* the Node is registered first (it owns the mirror) */
  kube_object_t *m = kube_object_copy(s->obj);
  if (!m)
    return;
  json_object *meta = NULL;
  json_object_object_get_ex(kube_object_json(m), "metadata", &meta);
  json_object_object_del(meta, "uid");
  json_object *refs = json_object_new_array(), *ref = json_object_new_object();
  json_object_object_add(ref, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(ref, "kind", json_object_new_string("Node"));
  json_object_object_add(ref, "name", json_object_new_string(a->cfg.node_name));
  json_object_object_add(ref, "uid", json_object_new_string(node_uid));
  json_object_object_add(ref, "controller", json_object_new_boolean(1));
  json_object_array_add(refs, ref);
  json_object_object_add(meta, "ownerReferences", refs);
  struct mirror_op *op = op_new(a, s->uid);
  if (!op ||
      kube_object_set_annotation(m, ND_ANN_CONFIG_MIRROR, s->uid, NULL) < 0 ||
      kube_writer_create(a->writer, kube_kind_by_kind("v1", "Pod"),
                         kube_object_namespace(m), m, NULL, mirror_done, op,
                         NULL) < 0) {
    if (op)
      free(op->uid);
    free(op);
  } else {
    s->mirror_busy = true;
  }
  kube_object_free(m);
}

struct orphan_scan {
  kube_node_agent_t *a;
  struct nd_static *st;
  kube_object_t **del;
  size_t n;
};

static void find_orphan(const char *key, const kube_object_t *obj, void *arg) {
  struct orphan_scan *o = arg;
  const char *node = kube_object_get_string(obj, "spec.nodeName");
  const char *hash = kube_object_annotation(obj, ND_ANN_CONFIG_MIRROR);
  if (!hash || !node || !streq(node, o->a->cfg.node_name))
    return;
  if (find_uid(o->st->v, o->st->n, hash) &&
      !kube_object_get_string(obj, "metadata.deletionTimestamp"))
    return;
  for (size_t i = 0; i < o->st->n; i++)
    if (streq(o->st->v[i].key, key))
      return; /* the pod's own check replaces it */
  kube_object_t **v = realloc(o->del, (o->n + 1) * sizeof *v);
  kube_object_t *c = v ? kube_object_copy(obj) : NULL;
  if (v)
    o->del = v;
  if (c)
    o->del[o->n++] = c;
}

/* Make the API's mirror pods match the static pods. */
static void mirrors_sync(struct nd_static *st, bool orphans) {
  kube_node_agent_t *a = st->a;
  if (a->draining || !kube_informer_synced(a->pods) ||
      !kube_informer_synced(a->nodes))
    return;
  for (size_t i = 0; i < st->n; i++) {
    struct st_pod *s = &st->v[i];
    if (s->mirror_busy)
      continue;
    const kube_object_t *m = kube_informer_get(a->pods, s->key);
    const char *hash =
        m ? kube_object_annotation(m, ND_ANN_CONFIG_MIRROR) : NULL;
    if (!m) {
      mirror_create(a, s);
    } else if (!hash) {
      /* a pod of the API holds the name: the kubelet leaves it be */
      continue;
    } else if (!streq(hash, s->uid) ||
               kube_object_get_string(m, "metadata.deletionTimestamp")) {
      log_info("node %s: deleting mirror pod %s (%s)", a->cfg.node_name, s->key,
               streq(hash, s->uid) ? "deleted" : "outdated");
      mirror_delete(a, m, s);
    } else {
      struct nd_pod *p = nd_pod_find(a, s->uid);
      const char *muid = kube_object_uid(m);
      if (p && muid && (!p->mirror_uid || !streq(p->mirror_uid, muid))) {
        free(p->mirror_uid);
        p->mirror_uid = strdup(muid);
        free(p->status_sent); /* the new mirror has no status yet */
        p->status_sent = NULL;
        nd_pod_enqueue(a, p, 0);
      }
    }
  }
  if (!orphans)
    return;
  struct orphan_scan o = {.a = a, .st = st};
  kube_informer_foreach(a->pods, find_orphan, &o);
  for (size_t i = 0; i < o.n; i++) {
    log_info("node %s: deleting orphaned mirror pod %s/%s", a->cfg.node_name,
             kube_object_namespace(o.del[i]), kube_object_name(o.del[i]));
    mirror_delete(a, o.del[i], NULL);
    kube_object_free(o.del[i]);
  }
  free(o.del);
}

const kube_object_t *nd_static_mirror(kube_node_agent_t *a,
                                      const struct nd_pod *p) {
  const kube_object_t *m = kube_informer_get(a->pods, p->key);
  const char *hash = m ? kube_object_annotation(m, ND_ANN_CONFIG_MIRROR) : NULL;
  if (!hash || !streq(hash, p->uid) ||
      kube_object_get_string(m, "metadata.deletionTimestamp"))
    return NULL;
  return m;
}

void nd_static_mirror_changed(kube_node_agent_t *a) {
  if (a->statics)
    kube_timer_arm(a->statics->check, 0);
}

/* ---- life cycle --------------------------------------------------------- */

static void on_rescan(void *arg) {
  struct nd_static *st = arg;
  if (st->ifd < 0 && st->a->cfg.manifest_dir) {
    /* the directory may exist by now */
    st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (st->ifd >= 0 &&
        inotify_add_watch(st->ifd, st->a->cfg.manifest_dir,
                          IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                              IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                              IN_MOVE_SELF | IN_ATTRIB) < 0) {
      close(st->ifd);
      st->ifd = -1;
    }
  }
  scan(st);
}

static void on_check(void *arg) {
  struct nd_static *st = arg;
  mirrors_sync(st, ++st->ticks % 10 == 0);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg) {
  struct nd_static *st = arg;
  char buf[4096];
  bool gone = false;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *ie = (struct inotify_event *)p;
      gone = gone || (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED));
      p += sizeof *ie + ie->len;
    }
  if (gone) { /* watch it again once it is back (the periodic rescan) */
    event_del(st->ev);
    event_free(st->ev);
    st->ev = NULL;
    close(st->ifd);
    st->ifd = -1;
  }
  /* a writer usually writes the file in a few calls: read it shortly */
  kube_timer_arm(st->rescan, 100);
}

static void arm_inotify(struct nd_static *st) {
  if (st->ifd < 0 || st->ev)
    return;
  st->ev = event_new(kube_loop_base(st->a->loop), st->ifd, EV_READ | EV_PERSIST,
                     on_inotify, st);
  if (st->ev)
    event_add(st->ev, NULL);
}

static void on_rescan_timer(void *arg) {
  struct nd_static *st = arg;
  on_rescan(st);
  arm_inotify(st);
  kube_timer_arm(st->rescan, RESCAN_MS);
}

int nd_static_start(kube_node_agent_t *a, kube_error_t *err) {
  if (!a->cfg.manifest_dir || a->statics)
    return 0;
  if (a->cfg.manifest_default &&
      core_mkdir_p(a->cfg.manifest_dir, 0755, err) < 0)
    return -1;
  struct nd_static *st = calloc(1, sizeof *st);
  if (!st)
    return kube_make_oom(err);
  st->a = a;
  st->ifd = -1;
  a->statics = st;
  if (!(st->rescan = kube_timer_new(a->loop, on_rescan_timer, st, err)) ||
      !(st->check = kube_timer_new(a->loop, on_check, st, err))) {
    nd_static_free(a);
    return -1;
  }
  log_info("node %s: static pods from %s", a->cfg.node_name,
           a->cfg.manifest_dir);
  on_rescan_timer(st);
  kube_timer_arm_periodic(st->check, MIRROR_CHECK_MS);
  return 0;
}

void nd_static_free(kube_node_agent_t *a) {
  struct nd_static *st = a->statics;
  if (!st)
    return;
  a->statics = NULL;
  if (st->ev) {
    event_del(st->ev);
    event_free(st->ev);
  }
  if (st->ifd >= 0)
    close(st->ifd);
  kube_timer_free(st->rescan);
  kube_timer_free(st->check);
  for (size_t i = 0; i < st->n; i++)
    st_pod_clear(&st->v[i]);
  free(st->v);
  for (size_t i = 0; i < st->n_said; i++)
    free(st->said[i]);
  free(st->said);
  free(st);
}
