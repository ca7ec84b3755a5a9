/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fake transport of kube-test.h: a recorder of actions in front of a
 * small in-memory API server.  Replies go through a delivery queue run by
 * an event on the loop, so no callback ever runs inside a request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "core/util.h"
#include "kube-test.h"

#define SEP "\x1f"

static void *xmalloc(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p)
    abort();
  return p;
}
static char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p)
    abort();
  return p;
}
static char *xstrndup(const char *s, size_t n) {
  char *p = strndup(s ? s : "", s ? n : 0);
  if (!p)
    abort();
  return p;
}
KUBE_PRINTF(1, 2) static char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  return s;
}

/* ------------------------------------------------------------------------ */
/* Loop helpers                                                              */
/* ------------------------------------------------------------------------ */

void kt_run_for(kube_loop_t *loop, int ms) {
  struct event_base *base = kube_loop_base(loop);
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

bool kt_run_until(kube_loop_t *loop, bool (*cond)(void *), void *arg,
                  int timeout_ms) {
  int64_t end = kube_time_mono_ns() + (int64_t)timeout_ms * 1000000;
  while (!cond(arg)) {
    if (kube_time_mono_ns() > end)
      return false;
    kt_run_for(loop, 2);
  }
  return true;
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

struct fcall {
  kt_fake_t *f;
  kube_transport_reply_cb cb;
  void *arg;
  bool watch;
  bool ending;  /* a done is on its way: no more events */
  bool in_done; /* its done callback runs: a cancel frees nothing */
  char *path;   /* without query */
  char *rkey;   /* "/api/v1/pods" */
  char *ns;     /* "" = all */
  kube_selector_t *labels, *fields;
  struct fcall *next;
};

struct delivery {
  struct fcall *c;
  int status;
  char *data;
  size_t len;
  bool done;
  TAILQ_ENTRY(delivery) link;
};
TAILQ_HEAD(delivery_list, delivery);

struct canned {
  char *method, *prefix;
  int status;
  char *body;
  unsigned times; /* 0: forever */
  bool fail;
  struct canned *next;
};

struct hist {
  long rv;
  char *rkey, *ns, *type, *json;
};

struct kt_fake {
  kube_loop_t *loop;
  struct event *ev;
  struct delivery_list out, held;
  size_t n_held;
  bool hold;
  struct strmap objs; /* rkey SEP ns SEP name -> json_object * */
  long rv, compacted;
  struct hist *hist;
  size_t nh, caph;
  kt_action_t *actions;
  size_t na, capa;
  struct fcall *calls;
  struct canned *canned;
  size_t cancelled;
  long uids;
};

/* A parsed request path. */
struct fpath {
  char *prefix; /* "/api/v1", "/apis/apps/v1" */
  char *group, *version;
  char *ns;       /* "" when none */
  char *resource; /* "pods" */
  char *name, *sub;
  char *rkey;
  const kube_kind_t *kind;
};

static void fpath_clear(struct fpath *p) {
  free(p->prefix);
  free(p->group);
  free(p->version);
  free(p->ns);
  free(p->resource);
  free(p->name);
  free(p->sub);
  free(p->rkey);
  memset(p, 0, sizeof *p);
}

static bool fpath_parse(const char *path, struct fpath *p) {
  memset(p, 0, sizeof *p);
  char *segs[8] = {0};
  size_t n = 0;
  cleanup_free char *copy = xstrdup(path);
  for (char *save = NULL, *s = strtok_r(copy, "/", &save); s && n < 8;
       s = strtok_r(NULL, "/", &save))
    segs[n++] = s;
  size_t i;
  if (n >= 2 && streq(segs[0], "api")) {
    p->group = xstrdup("");
    p->version = xstrdup(segs[1]);
    p->prefix = xasprintf("/api/%s", segs[1]);
    i = 2;
  } else if (n >= 3 && streq(segs[0], "apis")) {
    p->group = xstrdup(segs[1]);
    p->version = xstrdup(segs[2]);
    p->prefix = xasprintf("/apis/%s/%s", segs[1], segs[2]);
    i = 3;
  } else {
    return false;
  }
  if (n - i >= 3 && streq(segs[i], "namespaces")) {
    p->ns = xstrdup(segs[i + 1]);
    i += 2;
  } else {
    p->ns = xstrdup("");
  }
  if (i >= n) {
    fpath_clear(p);
    return false;
  }
  p->resource = xstrdup(segs[i]);
  p->name = i + 1 < n ? xstrdup(segs[i + 1]) : NULL;
  p->sub = i + 2 < n ? xstrdup(segs[i + 2]) : NULL;
  p->rkey = xasprintf("%s/%s", p->prefix, p->resource);
  p->kind = kube_kind_by_resource(p->group, p->version, p->resource);
  return true;
}

static char *obj_key(const char *rkey, const char *ns, const char *name) {
  return xasprintf("%s" SEP "%s" SEP "%s", rkey, ns ? ns : "", name);
}

static char *rkey_of_kind(const kube_kind_t *k) {
  return *k->group
             ? xasprintf("/apis/%s/%s/%s", k->group, k->version, k->resource)
             : xasprintf("/api/%s/%s", k->version, k->resource);
}

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */
/* ------------------------------------------------------------------------ */

static void call_free(struct fcall *c) {
  kube_selector_free(c->labels);
  kube_selector_free(c->fields);
  free(c->path);
  free(c->rkey);
  free(c->ns);
  free(c);
}

static void call_unlink(kt_fake_t *f, struct fcall *c) {
  for (struct fcall **pp = &f->calls; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      return;
    }
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg) {
  kt_fake_t *f = arg;
  struct delivery *d;
  while ((d = TAILQ_FIRST(&f->out))) {
    TAILQ_REMOVE(&f->out, d, link);
    struct fcall *c = d->c;
    if (d->done) {
      call_unlink(f, c);
      c->in_done = true; /* a cancel inside the callback frees nothing */
    }
    c->cb(d->status, "application/json", d->data ? d->data : "", d->len,
          d->done, c->arg);
    if (d->done)
      call_free(c);
    free(d->data);
    free(d);
  }
}

static void enqueue(kt_fake_t *f, struct fcall *c, int status, const char *data,
                    size_t len, bool done) {
  struct delivery *d = xmalloc(sizeof *d);
  d->c = c;
  d->status = status;
  d->data = xstrndup(data ? data : "", data ? len : 0);
  d->len = data ? len : 0;
  d->done = done;
  if (done && !c->watch && f->hold) {
    TAILQ_INSERT_TAIL(&f->held, d, link);
    f->n_held++;
    return;
  }
  if (done)
    c->ending = true;
  TAILQ_INSERT_TAIL(&f->out, d, link);
  event_active(f->ev, 0, 0);
}

static void reply(kt_fake_t *f, struct fcall *c, int status, const char *body) {
  enqueue(f, c, status, body, body ? strlen(body) : 0, true);
}

static void reply_json(kt_fake_t *f, struct fcall *c, int status,
                       json_object *obj) {
  reply(f, c, status,
        json_object_to_json_string_ext(
            obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void reply_status(kt_fake_t *f, struct fcall *c, int code,
                         const char *reason, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":"
                     "{},\"status\":\"%s\",\"message\":",
                     code < 300 ? "Success" : "Failure");
  kube_strbuf_append_json_string(&sb, msg);
  kube_strbuf_printf(&sb, ",\"reason\":\"%s\",\"code\":%d}", reason, code);
  reply(f, c, code, sb.data);
  kube_strbuf_clear(&sb);
  free(msg);
}

static void purge(struct delivery_list *l, size_t *n, struct fcall *c) {
  struct delivery *d, *next;
  for (d = TAILQ_FIRST(l); d; d = next) {
    next = TAILQ_NEXT(d, link);
    if (d->c != c)
      continue;
    TAILQ_REMOVE(l, d, link);
    if (n)
      (*n)--;
    free(d->data);
    free(d);
  }
}

/* ------------------------------------------------------------------------ */
/* Watches                                                                   */
/* ------------------------------------------------------------------------ */

static bool watch_matches(const struct fcall *c, const char *rkey,
                          const char *ns, json_object *obj) {
  if (!streq(c->rkey, rkey) || (*c->ns && !streq(c->ns, ns)))
    return false;
  if (c->labels &&
      !kube_selector_matches(c->labels, kube_json_label_lookup, obj))
    return false;
  if (c->fields &&
      !kube_selector_matches(c->fields, kube_json_field_lookup, obj))
    return false;
  return true;
}

static void send_event(kt_fake_t *f, struct fcall *c, const char *type,
                       const char *json) {
  char *line = xasprintf("{\"type\":\"%s\",\"object\":%s}\n", type, json);
  enqueue(f, c, 200, line, strlen(line), false);
  free(line);
}

/* Record a change and tell the watches. */
static void changed(kt_fake_t *f, const char *rkey, const char *ns,
                    const char *type, json_object *obj) {
  const char *json = json_object_to_json_string_ext(
      obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (f->nh == f->caph) {
    f->caph = f->caph ? f->caph * 2 : 64;
    f->hist = realloc(f->hist, f->caph * sizeof *f->hist);
    if (!f->hist)
      abort();
  }
  f->hist[f->nh++] = (struct hist){f->rv, xstrdup(rkey), xstrdup(ns),
                                   xstrdup(type), xstrdup(json)};
  for (struct fcall *c = f->calls; c; c = c->next)
    if (c->watch && !c->ending && watch_matches(c, rkey, ns, obj))
      send_event(f, c, type, json);
}

/* ------------------------------------------------------------------------ */
/* The store                                                                 */
/* ------------------------------------------------------------------------ */

static void set_str(json_object *obj, const char *path, const char *v) {
  /* path "a.b": create a when missing. */
  const char *dot = strchr(path, '.');
  if (!dot) {
    json_object_object_add(obj, path, json_object_new_string(v));
    return;
  }
  char *head = xstrndup(path, (size_t)(dot - path));
  json_object *sub = NULL;
  if (!json_object_object_get_ex(obj, head, &sub) || !sub ||
      !json_object_is_type(sub, json_type_object)) {
    sub = json_object_new_object();
    json_object_object_add(obj, head, sub);
  }
  set_str(sub, dot + 1, v);
  free(head);
}

static void stamp(kt_fake_t *f, json_object *obj, json_object *old) {
  char rv[32];
  snprintf(rv, sizeof rv, "%ld", ++f->rv);
  set_str(obj, "metadata.resourceVersion", rv);
  const char *uid = old ? kube_json_get_string(old, "metadata.uid") : NULL;
  if (!uid)
    uid = kube_json_get_string(obj, "metadata.uid");
  if (uid) {
    char *u = xstrdup(uid);
    set_str(obj, "metadata.uid", u);
    free(u);
  } else {
    char u[48];
    snprintf(u, sizeof u, "fake-uid-%ld", ++f->uids);
    set_str(obj, "metadata.uid", u);
  }
  if (!kube_json_get(obj, "metadata.creationTimestamp"))
    set_str(obj, "metadata.creationTimestamp", "2026-01-01T00:00:00Z");
}

/* Store obj (stolen) under rkey/ns/name; ADDED or MODIFIED. */
static void store_put(kt_fake_t *f, const char *rkey, const char *ns,
                      const char *name, json_object *obj) {
  char *key = obj_key(rkey, ns, name);
  void *old = NULL;
  stamp(f, obj, strmap_get(&f->objs, key));
  if (!strmap_put(&f->objs, key, obj, &old))
    abort();
  changed(f, rkey, ns, old ? "MODIFIED" : "ADDED", obj);
  json_object_put(old);
  free(key);
}

static json_object *store_get(kt_fake_t *f, const char *rkey, const char *ns,
                              const char *name) {
  char *key = obj_key(rkey, ns, name);
  json_object *o = strmap_get(&f->objs, key);
  free(key);
  return o;
}

static void store_delete(kt_fake_t *f, const char *rkey, const char *ns,
                         const char *name) {
  char *key = obj_key(rkey, ns, name);
  json_object *o = strmap_remove(&f->objs, key);
  free(key);
  if (!o)
    return;
  char rv[32];
  snprintf(rv, sizeof rv, "%ld", ++f->rv);
  set_str(o, "metadata.resourceVersion", rv);
  changed(f, rkey, ns, "DELETED", o);
  json_object_put(o);
}

/* RFC 7386 JSON merge patch: a new tree (owned). */
static json_object *merge_patch(json_object *target, json_object *patch) {
  if (!patch || !json_object_is_type(patch, json_type_object))
    return json_object_get(patch);
  json_object *t = NULL;
  if (target && json_object_is_type(target, json_type_object))
    json_object_deep_copy(target, &t, NULL);
  else
    t = json_object_new_object();
  json_object_object_foreach(patch, k, v) {
    if (!v) {
      json_object_object_del(t, k);
      continue;
    }
    json_object *cur = NULL;
    json_object_object_get_ex(t, k, &cur);
    json_object_object_add(t, k, merge_patch(cur, v));
  }
  return t;
}

static bool has_status_sub(const kube_kind_t *k) {
  for (const char *const *s = k ? k->subresources : NULL; s && *s; s++)
    if (streq(*s, "status"))
      return true;
  return false;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

static char *url_decode(const char *s, size_t n) {
  char *out = xmalloc(n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      i += 2;
    } else if (s[i] == '+') {
      *o++ = ' ';
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

/* The decoded value of `key` in query q (owned), NULL when absent. */
static char *query_get(const char *q, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = q; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=')
      return url_decode(p + kl + 1, n - kl - 1);
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

static json_object *parse_body(const kube_transport_request_t *rq) {
  if (!rq->body || !rq->body_len)
    return NULL;
  json_object *o = kube_json_parse(rq->body, rq->body_len, NULL);
  if (o && !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void do_list(kt_fake_t *f, struct fcall *c, const struct fpath *p,
                    const char *query) {
  cleanup_free char *ls = query_get(query, "labelSelector");
  cleanup_free char *fs = query_get(query, "fieldSelector");
  kube_selector_t *lsel = ls ? kube_label_selector_parse(ls, NULL) : NULL;
  kube_selector_t *fsel = fs ? kube_field_selector_parse(fs, NULL) : NULL;
  if ((ls && !lsel) || (fs && !fsel)) {
    kube_selector_free(lsel);
    kube_selector_free(fsel);
    reply_status(f, c, 400, "BadRequest", "bad selector");
    return;
  }
  size_t n = 0;
  char **keys = xmalloc((f->objs.n + 1) * sizeof *keys);
  cleanup_free char *prefix = xasprintf("%s" SEP "%s", p->rkey, p->ns);
  STRMAP_FOREACH(&f->objs, i, e) {
    if (!str_has_prefix(e->key, *p->ns ? prefix : p->rkey) ||
        e->key[strlen(*p->ns ? prefix : p->rkey)] != SEP[0])
      continue;
    json_object *o = e->value;
    if (lsel && !kube_selector_matches(lsel, kube_json_label_lookup, o))
      continue;
    if (fsel && !kube_selector_matches(fsel, kube_json_field_lookup, o))
      continue;
    keys[n++] = e->key;
  }
  qsort(keys, n, sizeof *keys, cmp_strp);
  char av[64] = "v1";
  if (p->kind)
    kube_kind_api_version(p->kind, av, sizeof av);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
                     "\"resourceVersion\":\"%ld\"},\"items\":[",
                     p->kind ? p->kind->list_kind : "List", av, f->rv);
  for (size_t i = 0; i < n; i++) {
    if (i)
      kube_strbuf_append_char(&sb, ',');
    kube_strbuf_append(
        &sb, json_object_to_json_string_ext(
                 strmap_get(&f->objs, keys[i]),
                 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  }
  kube_strbuf_append(&sb, "]}");
  reply(f, c, 200, sb.data);
  kube_strbuf_clear(&sb);
  free(keys);
  kube_selector_free(lsel);
  kube_selector_free(fsel);
}

static void do_watch(kt_fake_t *f, struct fcall *c, const struct fpath *p,
                     const char *query) {
  c->watch = true;
  c->rkey = xstrdup(p->rkey);
  c->ns = xstrdup(p->ns);
  cleanup_free char *ls = query_get(query, "labelSelector");
  cleanup_free char *fs = query_get(query, "fieldSelector");
  cleanup_free char *rvs = query_get(query, "resourceVersion");
  c->labels = ls ? kube_label_selector_parse(ls, NULL) : NULL;
  c->fields = fs ? kube_field_selector_parse(fs, NULL) : NULL;
  long rv = rvs ? strtol(rvs, NULL, 10) : 0;
  enqueue(f, c, 200, "", 0, false);
  if (rv == 0) {
    /* "Any" version: the current state as ADDED events. */
    STRMAP_FOREACH(&f->objs, i, e) {
      json_object *o = e->value;
      const char *ons = kube_json_get_string(o, "metadata.namespace");
      if (str_has_prefix(e->key, p->rkey) &&
          e->key[strlen(p->rkey)] == SEP[0] &&
          watch_matches(c, p->rkey, ons ? ons : "", o))
        send_event(
            f, c, "ADDED",
            json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    return;
  }
  if (rv < f->compacted) {
    const char *gone = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                       "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                       "\"Failure\",\"message\":\"too old resource version\","
                       "\"reason\":\"Expired\",\"code\":410}}\n";
    enqueue(f, c, 200, gone, strlen(gone), false);
    enqueue(f, c, 200, "", 0, true);
    return;
  }
  for (size_t i = 0; i < f->nh; i++) {
    struct hist *h = &f->hist[i];
    if (h->rv <= rv || !streq(h->rkey, c->rkey) ||
        (*c->ns && !streq(c->ns, h->ns)))
      continue;
    json_object *o = kube_json_parse(h->json, strlen(h->json), NULL);
    if (o && watch_matches(c, h->rkey, h->ns, o))
      send_event(f, c, h->type, h->json);
    json_object_put(o);
  }
}

static const char *name_of(json_object *o) {
  return kube_json_get_string(o, "metadata.name");
}

static void do_create(kt_fake_t *f, struct fcall *c, const struct fpath *p,
                      const kube_transport_request_t *rq) {
  json_object *body = parse_body(rq);
  if (!body) {
    reply_status(f, c, 400, "BadRequest", "the body is not a JSON object");
    return;
  }
  if (*p->ns)
    set_str(body, "metadata.namespace", p->ns);
  const char *name = name_of(body);
  if (!name || !*name) {
    const char *gen = kube_json_get_string(body, "metadata.generateName");
    if (!gen) {
      json_object_put(body);
      reply_status(f, c, 422, "Invalid", "name or generateName is required");
      return;
    }
    char *n = xasprintf("%s%05ld", gen, f->rv + 1);
    set_str(body, "metadata.name", n);
    free(n);
    name = name_of(body);
  }
  if (store_get(f, p->rkey, p->ns, name)) {
    reply_status(f, c, 409, "AlreadyExists", "%s \"%s\" already exists",
                 p->resource, name);
    json_object_put(body);
    return;
  }
  cleanup_free char *n = xstrdup(name);
  store_put(f, p->rkey, p->ns, n, body);
  reply_json(f, c, 201, body);
}

static void do_binding(kt_fake_t *f, struct fcall *c, const struct fpath *p,
                       const kube_transport_request_t *rq) {
  json_object *pod = store_get(f, p->rkey, p->ns, p->name);
  json_object *body = parse_body(rq);
  const char *node = body ? kube_json_get_string(body, "target.name") : NULL;
  if (!pod) {
    reply_status(f, c, 404, "NotFound", "pods \"%s\" not found", p->name);
  } else if (!node) {
    reply_status(f, c, 400, "BadRequest", "binding without a target");
  } else if (kube_json_get_string(pod, "spec.nodeName")) {
    reply_status(f, c, 409, "Conflict",
                 "pod %s is already assigned to node \"%s\"", p->name,
                 kube_json_get_string(pod, "spec.nodeName"));
  } else {
    json_object *copy = NULL;
    json_object_deep_copy(pod, &copy, NULL);
    set_str(copy, "spec.nodeName", node);
    store_put(f, p->rkey, p->ns, p->name, copy);
    reply_status(f, c, 201, "", "bound");
  }
  json_object_put(body);
}

static void do_update(kt_fake_t *f, struct fcall *c, const struct fpath *p,
                      const kube_transport_request_t *rq, bool patch) {
  json_object *cur = store_get(f, p->rkey, p->ns, p->name);
  if (!cur) {
    reply_status(f, c, 404, "NotFound", "%s \"%s\" not found", p->resource,
                 p->name);
    return;
  }
  const char *ct = rq->content_type ? rq->content_type : "";
  if (patch && !strstr(ct, "merge-patch")) {
    reply_status(f, c, 415, "UnsupportedMediaType",
                 "the fake applies merge patches only, not %s", ct);
    return;
  }
  json_object *body = parse_body(rq);
  if (!body) {
    reply_status(f, c, 400, "BadRequest", "the body is not a JSON object");
    return;
  }
  json_object *next = NULL;
  bool status = p->sub && streq(p->sub, "status");
  if (patch) {
    next = merge_patch(cur, body);
  } else {
    const char *want = kube_json_get_string(body, "metadata.resourceVersion");
    const char *have = kube_json_get_string(cur, "metadata.resourceVersion");
    if (want && *want && have && !streq(want, have)) {
      json_object_put(body);
      reply_status(f, c, 409, "Conflict",
                   "Operation cannot be fulfilled on %s \"%s\": the object "
                   "has been modified; please apply your changes to the "
                   "latest version and try again",
                   p->resource, p->name);
      return;
    }
    json_object_deep_copy(cur, &next, NULL);
    json_object *st = NULL;
    if (status) {
      json_object_object_get_ex(body, "status", &st);
      json_object_object_add(next, "status", json_object_get(st));
    } else {
      json_object *keep = NULL;
      if (has_status_sub(p->kind))
        json_object_object_get_ex(cur, "status", &keep);
      json_object_put(next);
      next = NULL;
      json_object_deep_copy(body, &next, NULL);
      if (keep)
        json_object_object_add(next, "status", json_object_get(keep));
      if (*p->ns)
        set_str(next, "metadata.namespace", p->ns);
    }
  }
  json_object_put(body);
  store_put(f, p->rkey, p->ns, p->name, next);
  reply_json(f, c, 200, next);
}

static void do_delete(kt_fake_t *f, struct fcall *c, const struct fpath *p,
                      const kube_transport_request_t *rq, bool eviction) {
  json_object *cur = store_get(f, p->rkey, p->ns, p->name);
  if (!cur) {
    reply_status(f, c, 404, "NotFound", "%s \"%s\" not found", p->resource,
                 p->name);
    return;
  }
  json_object *body = parse_body(rq);
  json_object *opts = body;
  if (eviction && body)
    opts = kube_json_get(body, "deleteOptions");
  const char *uid =
      opts ? kube_json_get_string(opts, "preconditions.uid") : NULL;
  const char *rv =
      opts ? kube_json_get_string(opts, "preconditions.resourceVersion") : NULL;
  const char *cuid = kube_json_get_string(cur, "metadata.uid");
  const char *crv = kube_json_get_string(cur, "metadata.resourceVersion");
  if ((uid && (!cuid || !streq(uid, cuid))) ||
      (rv && (!crv || !streq(rv, crv)))) {
    reply_status(f, c, 409, "Conflict",
                 "Precondition failed: UID in precondition: %s, UID in "
                 "object meta: %s",
                 uid ? uid : "", cuid ? cuid : "");
    json_object_put(body);
    return;
  }
  json_object_put(body);
  json_object *keep = json_object_get(cur);
  store_delete(f, p->rkey, p->ns, p->name);
  if (eviction)
    reply_status(f, c, 201, "", "evicted");
  else
    reply_json(f, c, 200, keep);
  json_object_put(keep);
}

static struct canned *canned_match(kt_fake_t *f, const char *method,
                                   const char *path) {
  for (struct canned **pp = &f->canned; *pp; pp = &(*pp)->next) {
    struct canned *k = *pp;
    if ((streq(k->method, "*") || streq(k->method, method)) &&
        str_has_prefix(path, k->prefix))
      return k;
  }
  return NULL;
}

static void canned_use(kt_fake_t *f, struct canned *k) {
  if (!k->times || --k->times)
    return;
  for (struct canned **pp = &f->canned; *pp; pp = &(*pp)->next)
    if (*pp == k) {
      *pp = k->next;
      break;
    }
  free(k->method);
  free(k->prefix);
  free(k->body);
  free(k);
}

static void record(kt_fake_t *f, const kube_transport_request_t *rq,
                   const char *path, size_t plen, const char *query) {
  if (f->na == f->capa) {
    f->capa = f->capa ? f->capa * 2 : 64;
    f->actions = realloc(f->actions, f->capa * sizeof *f->actions);
    if (!f->actions)
      abort();
  }
  kt_action_t *a = &f->actions[f->na++];
  a->method = xstrdup(rq->method);
  a->path = xstrndup(path, plen);
  a->query = xstrdup(query);
  a->content_type = xstrdup(rq->content_type ? rq->content_type : "");
  a->body = xstrndup(rq->body ? rq->body : "", rq->body ? rq->body_len : 0);
  a->body_len = rq->body ? rq->body_len : 0;
}

static kube_transport_call_t *fake_request(void *impl,
                                           const kube_transport_request_t *rq,
                                           kube_transport_reply_cb cb,
                                           void *arg, kube_error_t *err) {
  kt_fake_t *f = impl;
  if (!rq || !rq->method || !rq->path || !cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "bad request");
    return NULL;
  }
  const char *q = strchr(rq->path, '?');
  size_t plen = q ? (size_t)(q - rq->path) : strlen(rq->path);
  const char *query = q ? q + 1 : "";
  record(f, rq, rq->path, plen, query);
  struct fcall *c = xmalloc(sizeof *c);
  c->f = f;
  c->cb = cb;
  c->arg = arg;
  c->path = xstrndup(rq->path, plen);
  c->next = f->calls;
  f->calls = c;
  struct canned *k = canned_match(f, rq->method, c->path);
  if (k) {
    if (k->fail)
      reply(f, c, 0, "");
    else if (k->body)
      reply(f, c, k->status, k->body);
    else
      reply_status(f, c, k->status,
                   kube_reason_string(kube_reason_from_http_code(k->status)),
                   "canned reply %d", k->status);
    canned_use(f, k);
    return (kube_transport_call_t *)c;
  }
  struct fpath p;
  if (!fpath_parse(c->path, &p)) {
    reply_status(f, c, 404, "NotFound",
                 "the server could not find the "
                 "requested resource");
    return (kube_transport_call_t *)c;
  }
  const char *m = rq->method;
  cleanup_free char *watch = query_get(query, "watch");
  if (streq(m, "GET") && !p.name) {
    if (watch && (streq(watch, "1") || streq(watch, "true")))
      do_watch(f, c, &p, query);
    else
      do_list(f, c, &p, query);
  } else if (streq(m, "GET")) {
    json_object *o = store_get(f, p.rkey, p.ns, p.name);
    if (o)
      reply_json(f, c, 200, o);
    else
      reply_status(f, c, 404, "NotFound", "%s \"%s\" not found", p.resource,
                   p.name);
  } else if (streq(m, "POST") && !p.name) {
    do_create(f, c, &p, rq);
  } else if (streq(m, "POST") && p.sub && streq(p.sub, "binding")) {
    do_binding(f, c, &p, rq);
  } else if (streq(m, "POST") && p.sub && streq(p.sub, "eviction")) {
    do_delete(f, c, &p, rq, true);
  } else if (streq(m, "PUT") && p.name) {
    do_update(f, c, &p, rq, false);
  } else if (streq(m, "PATCH") && p.name) {
    do_update(f, c, &p, rq, true);
  } else if (streq(m, "DELETE") && p.name && !p.sub) {
    do_delete(f, c, &p, rq, false);
  } else {
    reply_status(f, c, 405, "MethodNotAllowed", "%s %s is not supported", m,
                 c->path);
  }
  fpath_clear(&p);
  return (kube_transport_call_t *)c;
}

static void fake_cancel(void *impl, kube_transport_call_t *call) {
  kt_fake_t *f = impl;
  struct fcall *c = (struct fcall *)call;
  if (c->in_done)
    return;
  purge(&f->out, NULL, c);
  purge(&f->held, &f->n_held, c);
  call_unlink(f, c);
  call_free(c);
  f->cancelled++;
}

static const kube_transport_ops_t fake_ops = {
    .version = KUBE_TRANSPORT_OPS_VERSION,
    .request = fake_request,
    .cancel = fake_cancel,
};

/* ------------------------------------------------------------------------ */
/* Public                                                                    */
/* ------------------------------------------------------------------------ */

kt_fake_t *kt_fake_new(kube_loop_t *loop) {
  kt_fake_t *f = xmalloc(sizeof *f);
  f->loop = loop;
  f->ev = event_new(kube_loop_base(loop), -1, 0, deliver_cb, f);
  if (!f->ev)
    abort();
  TAILQ_INIT(&f->out);
  TAILQ_INIT(&f->held);
  return f;
}

static void free_obj(void *v) {
  json_object_put(v);
}

void kt_fake_free(kt_fake_t *f) {
  if (!f)
    return;
  struct delivery_list *lists[] = {&f->out, &f->held};
  for (size_t i = 0; i < 2; i++) {
    struct delivery *d;
    while ((d = TAILQ_FIRST(lists[i]))) {
      TAILQ_REMOVE(lists[i], d, link);
      free(d->data);
      free(d);
    }
  }
  for (struct fcall *c = f->calls, *next; c; c = next) {
    next = c->next;
    call_free(c);
  }
  for (struct canned *k = f->canned, *next; k; k = next) {
    next = k->next;
    free(k->method);
    free(k->prefix);
    free(k->body);
    free(k);
  }
  strmap_clear(&f->objs, free_obj);
  for (size_t i = 0; i < f->nh; i++) {
    free(f->hist[i].rkey);
    free(f->hist[i].ns);
    free(f->hist[i].type);
    free(f->hist[i].json);
  }
  free(f->hist);
  kt_fake_clear_actions(f);
  free(f->actions);
  event_free(f->ev);
  free(f);
}

void kt_fake_transport(kt_fake_t *f, kube_transport_t *out) {
  out->ops = &fake_ops;
  out->impl = f;
  out->user_agent = NULL;
}

static const kube_kind_t *kind_or_die(const char *av, const char *kind) {
  const kube_kind_t *k = av && kind ? kube_kind_by_kind(av, kind) : NULL;
  if (!k) {
    fprintf(stderr, "kt_fake: unknown kind %s %s\n", av ? av : "?",
            kind ? kind : "?");
    abort();
  }
  return k;
}

long kt_fake_add(kt_fake_t *f, const char *json) {
  json_object *o = kube_json_parse(json, strlen(json), NULL);
  if (!o || !json_object_is_type(o, json_type_object) || !name_of(o)) {
    json_object_put(o);
    return -1;
  }
  const kube_kind_t *k = kind_or_die(kube_json_get_string(o, "apiVersion"),
                                     kube_json_get_string(o, "kind"));
  const char *ns = kube_json_get_string(o, "metadata.namespace");
  if (k->namespaced && (!ns || !*ns)) {
    set_str(o, "metadata.namespace", "default");
    ns = "default";
  }
  cleanup_free char *rkey = rkey_of_kind(k);
  cleanup_free char *nsc = xstrdup(k->namespaced ? ns : "");
  cleanup_free char *name = xstrdup(name_of(o));
  store_put(f, rkey, nsc, name, o);
  return f->rv;
}

int kt_fake_delete(kt_fake_t *f, const char *api_version, const char *kind,
                   const char *ns, const char *name) {
  const kube_kind_t *k = kind_or_die(api_version, kind);
  cleanup_free char *rkey = rkey_of_kind(k);
  const char *n = k->namespaced ? (ns ? ns : "default") : "";
  if (!store_get(f, rkey, n, name))
    return -1;
  store_delete(f, rkey, n, name);
  return 0;
}

char *kt_fake_get(kt_fake_t *f, const char *api_version, const char *kind,
                  const char *ns, const char *name) {
  const kube_kind_t *k = kind_or_die(api_version, kind);
  cleanup_free char *rkey = rkey_of_kind(k);
  json_object *o =
      store_get(f, rkey, k->namespaced ? (ns ? ns : "default") : "", name);
  return o ? xstrdup(json_object_to_json_string_ext(
                 o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
           : NULL;
}

size_t kt_fake_count(kt_fake_t *f, const char *api_version, const char *kind,
                     const char *ns) {
  const kube_kind_t *k = kind_or_die(api_version, kind);
  cleanup_free char *rkey = rkey_of_kind(k);
  cleanup_free char *prefix =
      ns ? xasprintf("%s" SEP "%s" SEP, rkey, ns) : xasprintf("%s" SEP, rkey);
  size_t n = 0;
  STRMAP_FOREACH(&f->objs, i, e)
  if (str_has_prefix(e->key, prefix))
    n++;
  return n;
}

long kt_fake_resource_version(const kt_fake_t *f) {
  return f->rv;
}

void kt_fake_compact(kt_fake_t *f) {
  for (size_t i = 0; i < f->nh; i++) {
    free(f->hist[i].rkey);
    free(f->hist[i].ns);
    free(f->hist[i].type);
    free(f->hist[i].json);
  }
  f->nh = 0;
  f->compacted = f->rv;
}

static void add_canned(kt_fake_t *f, const char *method, const char *prefix,
                       int status, const char *body, unsigned times,
                       bool fail) {
  struct canned *k = xmalloc(sizeof *k);
  k->method = xstrdup(method);
  k->prefix = xstrdup(prefix);
  k->status = status;
  k->body = body ? xstrdup(body) : NULL;
  k->times = times;
  k->fail = fail;
  struct canned **pp = &f->canned;
  while (*pp)
    pp = &(*pp)->next;
  *pp = k;
}

void kt_fake_reply(kt_fake_t *f, const char *method, const char *path_prefix,
                   int status, const char *body, unsigned times) {
  add_canned(f, method, path_prefix, status, body, times, false);
}

void kt_fake_fail(kt_fake_t *f, const char *method, const char *path_prefix,
                  unsigned times) {
  add_canned(f, method, path_prefix, 0, NULL, times, true);
}

void kt_fake_hold(kt_fake_t *f, bool hold) {
  f->hold = hold;
}

size_t kt_fake_release(kt_fake_t *f) {
  size_t n = 0;
  struct delivery *d;
  while ((d = TAILQ_FIRST(&f->held))) {
    TAILQ_REMOVE(&f->held, d, link);
    f->n_held--;
    d->c->ending = true;
    TAILQ_INSERT_TAIL(&f->out, d, link);
    n++;
  }
  if (n)
    event_active(f->ev, 0, 0);
  return n;
}

size_t kt_fake_held(const kt_fake_t *f) {
  return f->n_held;
}

size_t kt_fake_watches(const kt_fake_t *f, const char *path_prefix) {
  size_t n = 0;
  for (struct fcall *c = f->calls; c; c = c->next)
    if (c->watch && !c->ending && str_has_prefix(c->path, path_prefix))
      n++;
  return n;
}

void kt_fake_push_raw(kt_fake_t *f, const char *path_prefix, const char *data) {
  for (struct fcall *c = f->calls; c; c = c->next)
    if (c->watch && !c->ending && str_has_prefix(c->path, path_prefix))
      enqueue(f, c, 200, data, strlen(data), false);
}

void kt_fake_end_watches(kt_fake_t *f, const char *path_prefix) {
  for (struct fcall *c = f->calls; c; c = c->next)
    if (c->watch && !c->ending && str_has_prefix(c->path, path_prefix))
      enqueue(f, c, 200, "", 0, true);
}

size_t kt_fake_cancelled(const kt_fake_t *f) {
  return f->cancelled;
}

size_t kt_fake_n_actions(const kt_fake_t *f) {
  return f->na;
}

const kt_action_t *kt_fake_action(const kt_fake_t *f, size_t i) {
  return i < f->na ? &f->actions[i] : NULL;
}

void kt_fake_clear_actions(kt_fake_t *f) {
  for (size_t i = 0; i < f->na; i++) {
    kt_action_t *a = &f->actions[i];
    free(a->method);
    free(a->path);
    free(a->query);
    free(a->content_type);
    free(a->body);
  }
  f->na = 0;
}

char *kt_fake_actions_string(const kt_fake_t *f, unsigned flags) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; i < f->na; i++) {
    const kt_action_t *a = &f->actions[i];
    if ((flags & KT_WRITES) && streq(a->method, "GET"))
      continue;
    kube_strbuf_printf(&sb, "%s %s%s%s\n", a->method, a->path,
                       (flags & KT_QUERY) && *a->query ? "?" : "",
                       (flags & KT_QUERY) ? a->query : "");
  }
  char *s = kube_strbuf_steal(&sb);
  if (!s)
    abort();
  return s;
}

const kt_action_t *kt_fake_find(const kt_fake_t *f, const char *method,
                                const char *path_prefix) {
  for (size_t i = f->na; i-- > 0;)
    if (streq(f->actions[i].method, method) &&
        str_has_prefix(f->actions[i].path, path_prefix))
      return &f->actions[i];
  return NULL;
}

size_t kt_fake_count_actions(const kt_fake_t *f, const char *method,
                             const char *path_prefix) {
  size_t n = 0;
  for (size_t i = 0; i < f->na; i++)
    if (streq(f->actions[i].method, method) &&
        str_has_prefix(f->actions[i].path, path_prefix))
      n++;
  return n;
}
