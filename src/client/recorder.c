/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event recorder: client-go's EventCorrelator (aggregator, logger,
 * spam filter, each an LRU cache of cache_size entries) in front of
 * asynchronous Event writes.
 *
 * As in client-go the order is aggregate -> observe -> filter: an event the
 * spam filter drops still counts, so the next one that passes reports the
 * true count.  Unlike client-go, a repeat of an event whose write is still
 * queued or in flight is folded into that write (one PATCH with the latest
 * count follows), so a burst of identical events costs two writes.
 */
#include <sys/queue.h>
#include <unistd.h>

#include "client/internal.h"
#include "core/util.h"

#define SEP "\x1f" /* between key parts: no part contains it */

/* ---- a small LRU map: the records embed the node ---- */

struct lru_node {
  struct lru_node *prev, *next; /* most recent first */
  const char *key;              /* the map's copy */
};

struct lru {
  struct strmap map;
  struct lru_node head; /* sentinel */
  size_t max;
  void (*evict)(struct lru_node *n, void *arg);
  void *arg;
};

static void lru_init(struct lru *l, size_t max,
                     void (*evict)(struct lru_node *, void *), void *arg) {
  memset(l, 0, sizeof *l);
  l->head.prev = l->head.next = &l->head;
  l->max = max;
  l->evict = evict;
  l->arg = arg;
}

static void lru_unlink(struct lru_node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}

static void lru_front(struct lru *l, struct lru_node *n) {
  n->next = l->head.next;
  n->prev = &l->head;
  l->head.next->prev = n;
  l->head.next = n;
}

static struct lru_node *lru_get(struct lru *l, const char *key) {
  struct lru_node *n = strmap_get(&l->map, key);
  if (n) {
    lru_unlink(n);
    lru_front(l, n);
  }
  return n;
}

static void lru_drop(struct lru *l, struct lru_node *n) {
  lru_unlink(n);
  strmap_remove(&l->map, n->key);
  l->evict(n, l->arg);
}

/* Insert a new node (key copied); the least recent goes beyond max.
 * -1 on OOM (n untouched). */
static int lru_add(struct lru *l, const char *key, struct lru_node *n) {
  struct strmap_entry *e = strmap_put(&l->map, key, n, NULL);
  if (!e)
    return -1;
  n->key = e->key;
  lru_front(l, n);
  while (l->map.n > l->max && l->head.prev != n)
    lru_drop(l, l->head.prev);
  return 0;
}

static void lru_clear(struct lru *l) {
  while (l->head.next != &l->head)
    lru_drop(l, l->head.next);
  strmap_clear(&l->map, NULL);
}

/* ---- records ---- */

struct spam_rec {
  struct lru_node node;
  double tokens;
  int64_t at_ns;
};

struct agg_rec {
  struct lru_node node;
  struct strmap messages; /* the distinct messages seen (values unused) */
  int64_t last_ns;
};

struct ewrite;

/* What the logger knows of an Event it wrote. */
struct log_rec {
  struct lru_node node;
  unsigned count;
  char first[32]; /* firstTimestamp */
  char *ns, *name;
  struct ewrite *w; /* its write queued or in flight, or NULL */
};

/* One Event write: POST (create) or PATCH, and what to send after it. */
struct ewrite {
  kube_event_recorder_t *r;
  struct log_rec *log; /* NULL once the logger forgot the event */
  char *ns, *name;
  char *full;  /* the whole Event, current state (POST, re-create) */
  char *patch; /* count/lastTimestamp/message/series (PATCH) */
  bool create; /* the next send is a POST */
  bool in_flight;
  bool again; /* a newer state waits for the write in flight */
  bool queued;
  TAILQ_ENTRY(ewrite) link;
};
TAILQ_HEAD(ewrite_list, ewrite);

struct kube_event_recorder {
  kube_writer_t *writer;
  char *component, *host, *instance;
  unsigned burst;
  double qps;
  unsigned agg_max;
  int64_t agg_interval_ns;
  size_t max_in_flight, max_queued;
  struct lru spam, agg, log;
  struct ewrite_list queue;    /* waiting for a slot */
  struct ewrite_list inflight; /* sent, not answered */
  size_t n_queued, n_in_flight;
  kube_event_recorder_stats_t st;
  int64_t (*now_ns)(void *arg); /* monotonic; tests replace it */
  void *now_arg;
};

static int64_t mono_now(void *arg) {
  return kube_time_mono_ns();
}

static void ewrite_free(struct ewrite *w) {
  if (!w)
    return;
  if (w->log)
    w->log->w = NULL;
  free(w->ns);
  free(w->name);
  free(w->full);
  free(w->patch);
  free(w);
}

static void evict_spam(struct lru_node *n, void *arg) {
  free(n);
}
static void evict_agg(struct lru_node *n, void *arg) {
  struct agg_rec *a = (struct agg_rec *)n;
  strmap_clear(&a->messages, NULL);
  free(a);
}
static void evict_log(struct lru_node *n, void *arg) {
  struct log_rec *l = (struct log_rec *)n;
  if (l->w)
    l->w->log = NULL;
  free(l->ns);
  free(l->name);
  free(l);
}

/* ---- the event being recorded ---- */

struct ev {
  const kube_event_ref_t *ref;
  const char *type, *reason, *action;
  const char *message; /* may become the aggregate message */
  char *own_message;   /* owned when aggregated */
  const char *ns;      /* of the Event */
};

/* Keys are parts joined by SEP, appended without printf (several per
 * event, on the scheduler's hot path). */
static void key_add(kube_strbuf_t *sb, const char *part) {
  if (sb->len)
    kube_strbuf_append_char(sb, SEP[0]);
  kube_strbuf_append(sb, part ? part : "");
}

static void ref_key(kube_strbuf_t *sb, const kube_event_recorder_t *r,
                    const kube_event_ref_t *ref) {
  key_add(sb, r->component);
  key_add(sb, r->host);
  key_add(sb, ref->kind);
  key_add(sb, ref->namespace_);
  key_add(sb, ref->name);
  key_add(sb, ref->uid);
  key_add(sb, ref->api_version);
}

/* The token bucket of source + object (`rkey`, its ref_key): true when
 * the event may pass. */
static bool spam_allows(kube_event_recorder_t *r, const char *rkey,
                        int64_t now) {
  struct spam_rec *s = (struct spam_rec *)lru_get(&r->spam, rkey);
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s || lru_add(&r->spam, rkey, &s->node) < 0) {
      free(s);
      return true;
    }
    s->tokens = r->burst;
    s->at_ns = now;
  }
  s->tokens += (double)(now - s->at_ns) / 1e9 * r->qps;
  if (s->tokens > r->burst)
    s->tokens = r->burst;
  s->at_ns = now;
  if (s->tokens < 1.0)
    return false;
  s->tokens -= 1.0;
  return true;
}

/* EventAggregatorByReasonFunc: returns the logger key of the event,
 * rewriting it into the aggregate event when similar events with too many
 * different messages came recently.  `rkey`: the ref_key of its object
 * (the start of both keys). */
static char *aggregate(kube_event_recorder_t *r, struct ev *e,
                       const kube_strbuf_t *rkey, int64_t now) {
  kube_strbuf_t agg = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&agg, rkey->data, rkey->len);
  key_add(&agg, e->type);
  key_add(&agg, e->reason);
  key_add(&agg, r->component);
  key_add(&agg, r->instance);
  kube_strbuf_t full = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&full, rkey->data, rkey->len);
  key_add(&full, e->ref->field_path);
  key_add(&full, e->type);
  key_add(&full, e->reason);
  key_add(&full, e->message);
  if (agg.oom || full.oom) {
    kube_strbuf_clear(&agg);
    kube_strbuf_clear(&full);
    return NULL;
  }
  struct agg_rec *a = (struct agg_rec *)lru_get(&r->agg, agg.data);
  if (!a) {
    a = calloc(1, sizeof *a);
    if (!a || lru_add(&r->agg, agg.data, &a->node) < 0) {
      free(a);
      kube_strbuf_clear(&agg);
      return kube_strbuf_steal(&full);
    }
  } else if (now - a->last_ns > r->agg_interval_ns) {
    strmap_clear(&a->messages, NULL);
  }
  a->last_ns = now;
  strmap_put(&a->messages, e->message, NULL, NULL);
  if (a->messages.n < r->agg_max) {
    kube_strbuf_clear(&agg);
    return kube_strbuf_steal(&full);
  }
  /* Over the threshold: keep the set at max - 1 and become the aggregate. */
  for (size_t i = 0; i < a->messages.nbuckets; i++)
    if (a->messages.buckets[i]) {
      strmap_remove(&a->messages, a->messages.buckets[i]->key);
      break;
    }
  kube_strbuf_clear(&full);
  if (asprintf(&e->own_message, "(combined from similar events): %s",
               e->message) >= 0)
    e->message = e->own_message;
  else
    e->own_message = NULL;
  return kube_strbuf_steal(&agg);
}

/* ---- writing ---- */

static char *build_full(const kube_event_recorder_t *r, const struct ev *e,
                        const struct log_rec *l, const char *ts,
                        const char *micro) {
  const kube_event_ref_t *ref = e->ref;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"apiVersion\":\"v1\",\"kind\":\"Event\","
                          "\"metadata\":{\"name\":");
  kube_strbuf_append_json_string(&sb, l->name);
  kube_strbuf_append(&sb, ",\"namespace\":");
  kube_strbuf_append_json_string(&sb, l->ns);
  kube_strbuf_append(&sb, "},\"involvedObject\":{\"kind\":");
  kube_strbuf_append_json_string(&sb, ref->kind);
  if (ref->namespace_ && *ref->namespace_) {
    kube_strbuf_append(&sb, ",\"namespace\":");
    kube_strbuf_append_json_string(&sb, ref->namespace_);
  }
  kube_strbuf_append(&sb, ",\"name\":");
  kube_strbuf_append_json_string(&sb, ref->name);
  if (ref->uid && *ref->uid) {
    kube_strbuf_append(&sb, ",\"uid\":");
    kube_strbuf_append_json_string(&sb, ref->uid);
  }
  kube_strbuf_append(&sb, ",\"apiVersion\":");
  kube_strbuf_append_json_string(&sb, ref->api_version);
  if (ref->resource_version && *ref->resource_version) {
    kube_strbuf_append(&sb, ",\"resourceVersion\":");
    kube_strbuf_append_json_string(&sb, ref->resource_version);
  }
  if (ref->field_path && *ref->field_path) {
    kube_strbuf_append(&sb, ",\"fieldPath\":");
    kube_strbuf_append_json_string(&sb, ref->field_path);
  }
  kube_strbuf_append(&sb, "},\"reason\":");
  kube_strbuf_append_json_string(&sb, e->reason);
  kube_strbuf_append(&sb, ",\"message\":");
  kube_strbuf_append_json_string(&sb, e->message);
  kube_strbuf_append(&sb, ",\"source\":{\"component\":");
  kube_strbuf_append_json_string(&sb, r->component);
  if (r->host) {
    kube_strbuf_append(&sb, ",\"host\":");
    kube_strbuf_append_json_string(&sb, r->host);
  }
  /* Appends, not printf: a recorder writes one of these per scheduled
   * pod. */
  char count[16];
  snprintf(count, sizeof count, "%u", l->count);
  kube_strbuf_append(&sb, "},\"firstTimestamp\":\"");
  kube_strbuf_append(&sb, l->first);
  kube_strbuf_append(&sb, "\",\"lastTimestamp\":\"");
  kube_strbuf_append(&sb, ts);
  kube_strbuf_append(&sb, "\",\"eventTime\":\"");
  kube_strbuf_append(&sb, micro);
  kube_strbuf_append(&sb, "\",\"count\":");
  kube_strbuf_append(&sb, count);
  kube_strbuf_append(&sb, ",\"type\":");
  kube_strbuf_append_json_string(&sb, e->type);
  if (e->action && *e->action) {
    kube_strbuf_append(&sb, ",\"action\":");
    kube_strbuf_append_json_string(&sb, e->action);
  }
  kube_strbuf_append(&sb, ",\"reportingComponent\":");
  kube_strbuf_append_json_string(&sb, r->component);
  kube_strbuf_append(&sb, ",\"reportingInstance\":");
  kube_strbuf_append_json_string(&sb, r->instance);
  if (l->count > 1) {
    kube_strbuf_append(&sb, ",\"series\":{\"count\":");
    kube_strbuf_append(&sb, count);
    kube_strbuf_append(&sb, ",\"lastObservedTime\":\"");
    kube_strbuf_append(&sb, micro);
    kube_strbuf_append(&sb, "\"}");
  }
  kube_strbuf_append_char(&sb, '}');
  return kube_strbuf_steal(&sb);
}

static char *build_patch(const struct ev *e, const struct log_rec *l,
                         const char *ts, const char *micro) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(
      &sb, "{\"count\":%u,\"lastTimestamp\":\"%s\",\"message\":", l->count, ts);
  kube_strbuf_append_json_string(&sb, e->message);
  kube_strbuf_printf(&sb,
                     ",\"series\":{\"count\":%u,\"lastObservedTime\":\"%s\"}}",
                     l->count, micro);
  return kube_strbuf_steal(&sb);
}

static void send_write(struct ewrite *w);
static void pump(kube_event_recorder_t *r);

static void write_done(const kube_object_t *res, const kube_error_t *err,
                       void *arg) {
  struct ewrite *w = arg;
  kube_event_recorder_t *r = w->r;
  TAILQ_REMOVE(&r->inflight, w, link);
  w->in_flight = false;
  r->n_in_flight--;
  bool was_create = w->create;
  bool ok = !err || (was_create && err->reason == KUBE_REASON_ALREADY_EXISTS);
  if (ok) {
    if (was_create)
      r->st.created++;
    else
      r->st.patched++;
    w->create = false;
  } else if (!was_create && err->reason == KUBE_REASON_NOT_FOUND) {
    /* The Event expired or was deleted: create it again (client-go does). */
    w->create = true;
    w->again = true;
  } else {
    r->st.failed++;
    log_info("event recorder: %s %s/%s: %s", was_create ? "create" : "patch",
             w->ns, w->name, err->message);
  }
  if (w->again && (w->create || w->patch)) {
    w->again = false;
    send_write(w);
  } else {
    ewrite_free(w);
  }
  pump(r);
}

static void send_write(struct ewrite *w) {
  kube_event_recorder_t *r = w->r;
  char path[600];
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int rc;
  if (w->create) {
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", w->ns);
    rc =
        client_writer_send(r->writer, "POST", path, "application/json", w->full,
                           strlen(w->full), CLIENT_RESULT_NONE, write_done, w, &err);
  } else {
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", w->ns,
             w->name);
    rc = client_writer_send(r->writer, "PATCH", path,
                            "application/strategic-merge-patch+json", w->patch,
                            strlen(w->patch), CLIENT_RESULT_NONE, write_done, w, &err);
  }
  if (rc < 0) {
    r->st.failed++;
    log_info("event recorder: %s", err.message);
    ewrite_free(w);
    return;
  }
  w->in_flight = true;
  TAILQ_INSERT_TAIL(&r->inflight, w, link);
  r->n_in_flight++;
}

static void pump(kube_event_recorder_t *r) {
  while (r->n_in_flight < r->max_in_flight && !TAILQ_EMPTY(&r->queue)) {
    struct ewrite *w = TAILQ_FIRST(&r->queue);
    TAILQ_REMOVE(&r->queue, w, link);
    w->queued = false;
    r->n_queued--;
    send_write(w);
  }
}

/* Hand the event's current state to its write (new, queued or in
 * flight). */
static void submit(kube_event_recorder_t *r, const struct ev *e,
                   struct log_rec *l, const char *ts, const char *micro) {
  char *full = build_full(r, e, l, ts, micro);
  char *patch = l->count > 1 ? build_patch(e, l, ts, micro) : NULL;
  if (!full || (l->count > 1 && !patch)) {
    free(full);
    free(patch);
    r->st.failed++;
    return;
  }
  struct ewrite *w = l->w;
  if (w) {
    /* Fold the repeat into the write that is on its way. */
    free(w->full);
    free(w->patch);
    w->full = full;
    w->patch = patch;
    if (w->in_flight) {
      w->again = true;
    }
    r->st.merged++;
    return;
  }
  if (r->n_in_flight >= r->max_in_flight && r->n_queued >= r->max_queued) {
    free(full);
    free(patch);
    r->st.dropped_queue++;
    return;
  }
  w = calloc(1, sizeof *w);
  if (!w || !(w->ns = strdup(l->ns)) || !(w->name = strdup(l->name))) {
    if (w) {
      free(w->ns);
      free(w);
    }
    free(full);
    free(patch);
    r->st.failed++;
    return;
  }
  w->r = r;
  w->log = l;
  l->w = w;
  w->full = full;
  w->patch = patch;
  w->create = l->count <= 1;
  if (r->n_in_flight < r->max_in_flight) {
    send_write(w);
  } else {
    w->queued = true;
    TAILQ_INSERT_TAIL(&r->queue, w, link);
    r->n_queued++;
  }
}

/* ---- public ---- */

KUBE_EXPORT kube_event_recorder_t *
kube_event_recorder_new(kube_loop_t *loop, const kube_transport_t *tp,
                        const kube_event_recorder_options_t *opts,
                        kube_error_t *err) {
  kube_event_recorder_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!o.component || !*o.component) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "an event recorder needs a component name");
    return NULL;
  }
  kube_event_recorder_t *r = calloc(1, sizeof *r);
  if (!r) {
    kube_make_oom(err);
    return NULL;
  }
  TAILQ_INIT(&r->queue);
  TAILQ_INIT(&r->inflight);
  size_t cache = o.cache_size ? o.cache_size : 4096;
  lru_init(&r->spam, cache, evict_spam, r);
  lru_init(&r->agg, cache, evict_agg, r);
  lru_init(&r->log, cache, evict_log, r);
  r->burst = o.spam_burst ? o.spam_burst : 25;
  r->qps = o.spam_qps > 0 ? o.spam_qps : 1.0 / 300.0;
  r->agg_max = o.aggregate_max ? o.aggregate_max : 10;
  r->agg_interval_ns =
      (o.aggregate_interval_ms > 0 ? o.aggregate_interval_ms : 600000) *
      1000000;
  r->max_in_flight = o.max_in_flight ? o.max_in_flight : 256;
  r->max_queued = o.max_queued ? o.max_queued : 8192;
  r->now_ns = mono_now;
  char hostname[256] = "";
  if (!o.instance && !o.host && gethostname(hostname, sizeof hostname) < 0)
    hostname[0] = '\0';
  hostname[sizeof hostname - 1] = '\0';
  r->component = strdup(o.component);
  r->host = o.host ? strdup(o.host) : NULL;
  r->instance = strdup(o.instance ? o.instance : o.host ? o.host : hostname);
  r->writer = kube_writer_new(loop, tp, err);
  if (!r->writer || !r->component || (o.host && !r->host) || !r->instance) {
    if (r->writer)
      kube_make_oom(err);
    kube_event_recorder_free(r);
    return NULL;
  }
  return r;
}

void client_recorder_set_clock(kube_event_recorder_t *r,
                               int64_t (*now_ns)(void *arg), void *arg) {
  r->now_ns = now_ns ? now_ns : mono_now;
  r->now_arg = arg;
}

KUBE_EXPORT void kube_event_recorder_record(
    kube_event_recorder_t *r, const kube_event_ref_t *ref, const char *type,
    const char *reason, const char *action, const char *message) {
  if (!r)
    return;
  if (!ref || !ref->kind || !*ref->kind || !ref->name || !*ref->name ||
      !ref->api_version || !type || !reason) {
    r->st.failed++;
    log_info("event recorder: event %s without an object kind and name",
             reason ? reason : "(null)");
    return;
  }
  int64_t now = r->now_ns(r->now_arg);
  struct ev e = {
      .ref = ref,
      .type = type,
      .reason = reason,
      .action = action,
      .message = message ? message : "",
      .ns = ref->namespace_ && *ref->namespace_ ? ref->namespace_ : "default",
  };
  /* The object's part of every key, built once. */
  cleanup_strbuf kube_strbuf_t rkey = KUBE_STRBUF_INIT;
  ref_key(&rkey, r, ref);
  if (rkey.oom) {
    r->st.failed++;
    return;
  }
  cleanup_free char *key = aggregate(r, &e, &rkey, now);
  if (!key) {
    free(e.own_message);
    r->st.failed++;
    return;
  }
  /* Observe: a repeat of a known event counts up. */
  char ts[32], micro[40];
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  kube_time_format(rt.tv_sec, ts, sizeof ts);
  kube_time_format_micro(&rt, micro, sizeof micro);
  struct log_rec *l = (struct log_rec *)lru_get(&r->log, key);
  if (l) {
    l->count++;
  } else {
    l = calloc(1, sizeof *l);
    if (l) {
      l->count = 1;
      snprintf(l->first, sizeof l->first, "%s", ts);
      l->ns = strdup(e.ns);
      if (asprintf(&l->name, "%.200s.%llx", ref->name,
                   (unsigned long long)rt.tv_sec * 1000000000ull +
                       (unsigned long long)rt.tv_nsec) < 0)
        l->name = NULL;
    }
    if (!l || !l->ns || !l->name || lru_add(&r->log, key, &l->node) < 0) {
      if (l) {
        free(l->ns);
        free(l->name);
        free(l);
      }
      free(e.own_message);
      r->st.failed++;
      return;
    }
  }
  if (!spam_allows(r, rkey.data, now)) {
    r->st.dropped_spam++;
    free(e.own_message);
    return;
  }
  r->st.recorded++;
  submit(r, &e, l, ts, micro);
  free(e.own_message);
}

KUBE_EXPORT void kube_event_recorder_event(kube_event_recorder_t *r,
                                           const kube_object_t *obj,
                                           const char *type, const char *reason,
                                           const char *message) {
  if (!r)
    return;
  kube_event_ref_t ref = {
      .kind = obj ? kube_object_kind(obj) : NULL,
      .api_version = obj ? kube_object_api_version(obj) : NULL,
      .namespace_ = obj ? kube_object_namespace(obj) : NULL,
      .name = obj ? kube_object_name(obj) : NULL,
      .uid = obj ? kube_object_uid(obj) : NULL,
      .resource_version = obj ? kube_object_resource_version(obj) : NULL,
  };
  kube_event_recorder_record(r, &ref, type, reason, NULL, message);
}

KUBE_EXPORT void kube_event_recorder_eventf(kube_event_recorder_t *r,
                                            const kube_object_t *obj,
                                            const char *type,
                                            const char *reason, const char *fmt,
                                            ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (!msg) {
    if (r)
      r->st.failed++;
    return;
  }
  kube_event_recorder_event(r, obj, type, reason, msg);
  free(msg);
}

KUBE_EXPORT void
kube_event_recorder_get_stats(const kube_event_recorder_t *r,
                              kube_event_recorder_stats_t *out) {
  *out = r->st;
  out->in_flight = r->n_in_flight;
  out->queued = r->n_queued;
}

KUBE_EXPORT void kube_event_recorder_free(kube_event_recorder_t *r) {
  if (!r)
    return;
  /* Cancels the writes in flight: their callbacks never run. */
  kube_writer_free(r->writer);
  lru_clear(&r->log); /* detaches every write */
  lru_clear(&r->agg);
  lru_clear(&r->spam);
  struct ewrite_list *lists[] = {&r->queue, &r->inflight};
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
    while (!TAILQ_EMPTY(lists[i])) {
      struct ewrite *w = TAILQ_FIRST(lists[i]);
      TAILQ_REMOVE(lists[i], w, link);
      ewrite_free(w);
    }
  free(r->component);
  free(r->host);
  free(r->instance);
  free(r);
}
