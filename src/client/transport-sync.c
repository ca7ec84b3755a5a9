/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A synchronous client over an asynchronous transport that runs on a loop
 * in another thread (the in-process transport of a kube_server_t): every
 * request is handed to the loop with kube_loop_invoke() and the calling
 * thread waits on a condition variable for the reply.  A streamed reply
 * (watch) is buffered under the call's lock and split into lines on the
 * calling thread, so watch callbacks run there, never on the loop.
 *
 * A call is shared by two threads: the caller, and the loop from the
 * invoke until the transport's last callback (or until a cancel ran).  An
 * atomic reference count decides who frees it, so a caller
 * that gives up (timeout, a watch callback that stops) never waits for the
 * loop and the loop never touches freed memory.
 *
 * Nothing here is per-client mutable state except last_status (atomic),
 * so any number of threads may use one such client at once.
 */
#include <pthread.h>
#include <time.h>

#include "client/internal.h"
#include "core/util.h"

struct client_tp {
  kube_loop_t *loop;
  kube_transport_t tp;
};

struct tp_call {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* Atomic, not under mu: the loop drops its reference right after the
   * answer, while the woken caller may hold mu (a lock there would put the
   * loop to sleep and need one more wake-up per call). */
  int refs;
  /* Copies, not the client's: a cancel may reach the loop after the
   * client was freed. */
  kube_loop_t *loop;
  kube_transport_t tp;
  /* The request (owned copies), read on the loop. */
  char *method, *path, *content_type, *accept, *body, *user_agent;
  size_t body_len;
  /* Loop thread only. */
  kube_transport_call_t *call; /* in flight */
  bool loop_ref;               /* the loop still holds its reference */
  /* Under mu. */
  bool answered;  /* the first callback came: status and reply_type set */
  bool done;      /* the last callback came, or the start failed */
  bool cancelled; /* the caller gave up */
  int status;
  char *reply_type;
  kube_strbuf_t data;   /* the body, or the stream's bytes not taken yet */
  kube_error_t failure; /* why the start failed */
};

static void call_free(struct tp_call *t) {
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cv);
  free(t->method);
  free(t->path);
  free(t->content_type);
  free(t->accept);
  free(t->body);
  free(t->user_agent);
  free(t->reply_type);
  kube_strbuf_clear(&t->data);
  kube_error_clear(&t->failure);
  free(t);
}

static void call_unref(struct tp_call *t) {
  if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
    call_free(t);
}

static char *dup_or_null(const char *s, bool *oom) {
  char *r = s ? strdup(s) : NULL;
  if (s && !r)
    *oom = true;
  return r;
}

static struct tp_call *call_new(const struct client_tp *ctp,
                                const char *user_agent,
                                const kube_client_request_t *req,
                                kube_error_t *err) {
  struct tp_call *t = calloc(1, sizeof *t);
  if (!t)
    return kube_make_oom(err), NULL;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  t->refs = 1;
  t->loop = ctp->loop;
  t->tp = ctp->tp;
  bool oom = false;
  t->method = dup_or_null(req->method ? req->method : "GET", &oom);
  /* path?query, joined by hand: asprintf costs more than the rest of this
   * function. */
  const char *path = req->path ? req->path : "/";
  const char *query = req->query && *req->query ? req->query : NULL;
  size_t plen = strlen(path), qlen = query ? strlen(query) : 0;
  if ((t->path = malloc(plen + qlen + 2))) {
    memcpy(t->path, path, plen);
    if (query) {
      t->path[plen++] = '?';
      memcpy(t->path + plen, query, qlen);
      plen += qlen;
    }
    t->path[plen] = '\0';
  } else {
    oom = true;
  }
  t->content_type = dup_or_null(req->content_type, &oom);
  t->accept = dup_or_null(req->accept, &oom);
  t->user_agent = dup_or_null(user_agent, &oom);
  if (req->body) {
    t->body = malloc(req->body_len + 1);
    if (t->body) {
      memcpy(t->body, req->body, req->body_len);
      t->body[req->body_len] = '\0';
      t->body_len = req->body_len;
    } else {
      oom = true;
    }
  }
  if (oom) {
    call_free(t);
    return kube_make_oom(err), NULL;
  }
  return t;
}

/* ---- the loop's side ---- */

static void loop_release(struct tp_call *t) {
  t->loop_ref = false;
  call_unref(t);
}

static void call_reply(int status, const char *content_type, const char *data,
                       size_t len, bool done, void *arg) {
  struct tp_call *t = arg;
  pthread_mutex_lock(&t->mu);
  if (!t->answered) {
    t->answered = true;
    t->status = status;
    if (content_type && !(t->reply_type = strdup(content_type)))
      t->data.oom = true;
  }
  if (len > 0 && !t->cancelled)
    kube_strbuf_append_len(&t->data, data, len);
  if (done)
    t->done = true;
  pthread_mutex_unlock(&t->mu);
  /* After the unlock: a waiter woken while mu is held would block on mu at
   * once and need a second wake-up (the loop's reference keeps t alive). */
  pthread_cond_broadcast(&t->cv);
  if (done) {
    /* The transport's handle is invalid once its last callback ran. */
    t->call = NULL;
    loop_release(t);
  }
}

static void call_start(void *arg) {
  struct tp_call *t = arg;
  pthread_mutex_lock(&t->mu);
  bool cancelled = t->cancelled;
  pthread_mutex_unlock(&t->mu);
  if (cancelled) {
    loop_release(t);
    return;
  }
  kube_transport_request_t rq = {
      .struct_size = sizeof rq,
      .method = t->method,
      .path = t->path,
      .content_type = t->content_type,
      .accept = t->accept,
      .body = t->body,
      .body_len = t->body_len,
      .user_agent = t->user_agent,
  };
  kube_error_t e = KUBE_ERROR_INIT;
  t->call = kube_transport_request(&t->tp, &rq, call_reply, t, &e);
  if (!t->call) {
    pthread_mutex_lock(&t->mu);
    kube_error_move(&t->failure, &e);
    t->done = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    loop_release(t);
  }
}

/* Runs on the loop after the caller gave up; holds a reference of its own.
 * The start always ran before (invokes of one thread run in order). */
static void call_cancel(void *arg) {
  struct tp_call *t = arg;
  if (t->loop_ref && t->call) {
    kube_transport_cancel(&t->tp, t->call);
    t->call = NULL;
    loop_release(t);
  }
  call_unref(t);
}

/* ---- the caller's side ---- */

/* Hand the call to the loop: the loop holds one reference from now on. */
static int call_submit(struct tp_call *t, kube_error_t *err) {
  if (kube_loop_in_thread(t->loop))
    return kube_error_set(
        err, KUBE_REASON_BAD_REQUEST, EDEADLK,
        "synchronous request on the loop's own thread (or on a loop no "
        "thread runs) would never be answered");
  t->refs = 2;
  t->loop_ref = true;
  if (kube_loop_invoke(t->loop, call_start, t, err) < 0) {
    t->refs = 1;
    t->loop_ref = false;
    return -1;
  }
  return 0;
}

/* A new call handed to the loop: the caller's reference, or NULL. */
static struct tp_call *call_begin(kube_client_t *c,
                                  const kube_client_request_t *req,
                                  kube_error_t *err) {
  struct tp_call *t = call_new(c->tp, c->user_agent, req, err);
  if (t && call_submit(t, err) < 0) {
    call_unref(t);
    t = NULL;
  }
  return t;
}

/* Tell the loop to stop the call (mu not held). */
static void call_give_up(struct tp_call *t) {
  pthread_mutex_lock(&t->mu);
  t->cancelled = true;
  bool done = t->done;
  if (!done)
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&t->mu);
  if (!done && kube_loop_invoke(t->loop, call_cancel, t, NULL) < 0)
    call_unref(t); /* out of memory: the call finishes on its own */
}

static void deadline_after(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* One wait for news of the call (mu held).  False when the deadline
 * (NULL: none) passed. */
static bool call_wait(struct tp_call *t, const struct timespec *deadline) {
  if (!deadline) {
    pthread_cond_wait(&t->cv, &t->mu);
    return true;
  }
  return pthread_cond_timedwait(&t->cv, &t->mu, deadline) != ETIMEDOUT;
}

/* The call ended without an answer (mu held): the start failed, or the
 * transport reported status 0. */
static int call_failure(struct tp_call *t, kube_error_t *err) {
  if (kube_error_is_set(&t->failure)) {
    kube_error_move(err, &t->failure);
    return -1;
  }
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0, "%s",
                        t->data.len ? t->data.data
                                    : "the transport failed before a reply");
}

int client_tp_request(kube_client_t *c, const kube_client_request_t *req,
                      kube_client_response_t *resp, kube_error_t *err) {
  memset(resp, 0, sizeof *resp);
  client_set_last_status(c, 0);
  struct tp_call *t = call_begin(c, req, err);
  if (!t)
    return -1;
  struct timespec dl;
  if (c->timeout_ms > 0)
    deadline_after(&dl, c->timeout_ms);
  int rc = 0;
  const struct timespec *deadline = c->timeout_ms > 0 ? &dl : NULL;
  bool timed_out = false;
  pthread_mutex_lock(&t->mu);
  while (!t->done && !timed_out)
    timed_out = !call_wait(t, deadline) && !t->done;
  if (timed_out) {
    pthread_mutex_unlock(&t->mu);
    kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT,
                   "%s %s: no answer within %d ms", t->method, t->path,
                   c->timeout_ms);
    call_give_up(t);
    call_unref(t);
    return -1;
  }
  if (!t->answered || t->status == 0) {
    rc = call_failure(t, err);
  } else {
    kube_strbuf_append(&t->data, "");
    resp->status = t->status;
    resp->content_type = steal_pointer(&t->reply_type);
    resp->body_len = t->data.len;
    resp->body = kube_strbuf_steal(&t->data);
    if (!resp->body) {
      kube_client_response_clear(resp);
      rc = kube_make_oom(err);
    }
  }
  pthread_mutex_unlock(&t->mu);
  call_unref(t);
  if (rc == 0) {
    client_set_last_status(c, resp->status);
    log_debug("client: %s %s (in-process) -> %d (%zu bytes)",
              req->method ? req->method : "GET", req->path ? req->path : "/",
              resp->status, resp->body_len);
  }
  return rc;
}

/* Deliver the stream's lines to fn on this thread until the stream ends or
 * fn stops it (mu held on entry, released on return).  0 or -1 (oom). */
static int stream_lines(struct tp_call *t, kube_client_line_fn fn, void *ud) {
  struct line_splitter ls = {KUBE_STRBUF_INIT, fn, ud};
  int r = 0;
  for (;;) {
    while (!t->data.len && !t->data.oom && !t->done)
      call_wait(t, NULL);
    kube_strbuf_t chunk = t->data;
    t->data = (kube_strbuf_t)KUBE_STRBUF_INIT;
    bool done = t->done;
    pthread_mutex_unlock(&t->mu);
    r = chunk.oom ? -1 : client_lines_feed(&ls, chunk.data, chunk.len);
    kube_strbuf_clear(&chunk);
    if (r != 0)
      break;
    if (done) {
      /* A final line without a newline still counts. */
      if (ls.partial.len > 0)
        fn(ls.partial.data, ls.partial.len, ud);
      break;
    }
    pthread_mutex_lock(&t->mu);
  }
  kube_strbuf_clear(&ls.partial);
  if (r != 0)
    call_give_up(t);
  return r < 0 ? -1 : 0;
}

int client_tp_stream(kube_client_t *c, const kube_client_request_t *req,
                     kube_client_line_fn fn, void *userdata,
                     kube_error_t *err) {
  client_set_last_status(c, 0);
  struct tp_call *t = call_begin(c, req, err);
  if (!t)
    return -1;
  int rc;
  pthread_mutex_lock(&t->mu);
  while (!t->answered && !t->done)
    call_wait(t, NULL);
  if (!t->answered || t->status == 0) {
    while (!t->done)
      call_wait(t, NULL);
    rc = call_failure(t, err);
    pthread_mutex_unlock(&t->mu);
  } else if (t->status < 200 || t->status >= 300) {
    /* An error answer: read it whole and turn its Status into err. */
    client_set_last_status(c, t->status);
    while (!t->done)
      call_wait(t, NULL);
    kube_strbuf_append(&t->data, "");
    kube_client_response_t resp = {
        .status = t->status, .body = t->data.data, .body_len = t->data.len};
    rc = t->data.oom ? kube_make_oom(err) : kube_client_check(&resp, err);
    pthread_mutex_unlock(&t->mu);
  } else {
    client_set_last_status(c, t->status);
    log_debug("client: %s %s (in-process) -> %d (streaming)",
              req->method ? req->method : "GET", req->path ? req->path : "/",
              t->status);
    rc = stream_lines(t, fn, userdata);
    if (rc < 0)
      kube_make_oom(err);
  }
  call_unref(t);
  return rc;
}

void client_tp_free(struct client_tp *tp) {
  free(tp);
}

KUBE_EXPORT kube_client_t *
kube_client_new_transport(kube_loop_t *loop, const struct kube_transport *tp,
                          const kube_client_options_t *opts,
                          kube_error_t *err) {
  if (!loop || !tp || !tp->ops ||
      tp->ops->version != KUBE_TRANSPORT_OPS_VERSION)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a client over a transport needs a loop and a "
                          "transport of a known version"),
           NULL;
  kube_client_options_t o = {0};
  core_opts_copy(&o, opts);
  kube_client_t *c = calloc(1, sizeof *c);
  if (!c)
    return kube_make_oom(err), NULL;
  client_conn_init(&c->conn);
  c->timeout_ms = o.timeout_ms;
  c->tp = malloc(sizeof *c->tp);
  c->server = strdup("in-process");
  c->namespace_ =
      strdup(o.namespace_ && *o.namespace_ ? o.namespace_ : "default");
  c->user_agent = strdup(o.user_agent     ? o.user_agent
                         : tp->user_agent ? tp->user_agent
                                          : "libkube");
  if (!c->tp || !c->server || !c->namespace_ || !c->user_agent) {
    kube_client_free(c);
    return kube_make_oom(err), NULL;
  }
  *c->tp = (struct client_tp){loop, *tp};
  return c;
}
