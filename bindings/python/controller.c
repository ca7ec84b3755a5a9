/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube.Controller: client-go's sample-controller with a Python
 * reconcile(key).  The C informer keeps a cache of one collection and its
 * handlers only enqueue "namespace/name" keys into the C rate-limited work
 * queue, both on the loop (the Server's loop for an in-process client; for
 * a socket client a loop of our own with the asynchronous HTTP transport).
 * The queue hands keys to Python worker threads through a small mutex-
 * guarded list; a worker calls reconcile(key) and reports the outcome back
 * to the loop with kube_loop_invoke():
 *   returns None (or anything that is not a number): done, backoff reset;
 *   returns a number of seconds > 0: done, the key comes back after it;
 *   raises: the exception is reported (sys.unraisablehook) and the key
 *     comes back after its per-key exponential backoff.
 * A key is never reconciled by two workers at once (the queue's rule).
 *
 * Lock order: a Server's gate, then ctl->mu (the gate's close hook takes
 * ctl->mu; nothing here takes the gate while holding ctl->mu).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

#include <structmember.h>

struct key_item {
  struct key_item *next;
  char key[];
};

/* The C side, shared by the loop, the workers and the Python object. */
struct ctl {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* Set up by run(), fixed while it runs. */
  kube_loop_t *loop;
  kube_transport_t tp;
  kube_loop_t *own_loop; /* a socket client's */
  kube_http_transport_t *http;
  pthread_t own_thread;
  pyk_gate_t *gate; /* an in-process client's, entered while running */
  struct pyk_gate_hook hook;
  char *path, *label_selector;
  /* Loop thread only. */
  kube_informer_t *inf;
  kube_workqueue_t *q;
  /* Under mu. */
  struct key_item *head, *tail;
  bool stopping;
  bool synced;
  bool setup_done, teardown_done;
  int setup_rc;
  kube_error_t setup_err;
  int getters; /* Controller.get() calls using the loop */
  uint64_t reconciled, failed;
};

typedef struct {
  PyObject_HEAD struct ctl *c;
  PyObject *client;
  PyObject *reconcile;
  int workers;
  bool running; /* run() is active (GIL-protected) */
  PyObject *weakrefs;
} ControllerObject;

/* ---- the loop's side ---- */

static void enqueue(struct ctl *c, const char *key) {
  if (c->q)
    kube_workqueue_add(c->q, key, NULL);
}

static void on_add(const char *key, const kube_object_t *obj, void *arg) {
  enqueue(arg, key);
}
static void on_update(const char *key, const kube_object_t *old,
                      const kube_object_t *obj, void *arg) {
  enqueue(arg, key);
}
static void on_delete(const char *key, const kube_object_t *obj, void *arg) {
  enqueue(arg, key);
}
static void on_synced(void *arg) {
  struct ctl *c = arg;
  pthread_mutex_lock(&c->mu);
  c->synced = true;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* Keys ready: hand them to the workers (they stay "processing" in the
 * queue until a worker's outcome reaches the loop). */
static void process(kube_workqueue_t *q, const char *const *keys, size_t n,
                    void *arg) {
  struct ctl *c = arg;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(keys[i]);
    struct key_item *k = malloc(sizeof *k + len + 1);
    if (!k) {
      /* Cannot hand it over: let the queue retry it later. */
      kube_workqueue_done(q, keys[i]);
      kube_workqueue_add_rate_limited(q, keys[i], NULL);
      continue;
    }
    memcpy(k->key, keys[i], len + 1);
    k->next = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->tail)
      c->tail->next = k;
    else
      c->head = k;
    c->tail = k;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
}

static void setup_on_loop(void *arg) {
  struct ctl *c = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_workqueue_options_t qo = {.struct_size = sizeof qo, .max_batch = 64};
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = c->path,
                                .label_selector = c->label_selector};
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = on_add,
                                .on_update = on_update,
                                .on_delete = on_delete,
                                .on_synced = on_synced};
  int rc = -1;
  if ((c->q = kube_workqueue_new(c->loop, &qo, process, c, &err)) &&
      (c->inf = kube_informer_new(c->loop, &c->tp, &io, &h, c, &err)) &&
      kube_informer_start(c->inf, &err) == 0)
    rc = 0;
  pthread_mutex_lock(&c->mu);
  c->setup_rc = rc;
  kube_error_move(&c->setup_err, &err);
  c->setup_done = true;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

static void teardown_on_loop(void *arg) {
  struct ctl *c = arg;
  kube_informer_free(c->inf);
  c->inf = NULL;
  kube_workqueue_free(c->q);
  c->q = NULL;
  pthread_mutex_lock(&c->mu);
  c->teardown_done = true;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

enum outcome { DONE, AFTER, BACKOFF };

struct result {
  struct ctl *c;
  enum outcome how;
  int64_t delay_ms;
  char key[];
};

static void result_on_loop(void *arg) {
  struct result *r = arg;
  kube_workqueue_t *q = r->c->q;
  if (q) {
    kube_workqueue_done(q, r->key);
    if (r->how == DONE) {
      kube_workqueue_forget(q, r->key);
    } else if (r->how == AFTER) {
      kube_workqueue_forget(q, r->key);
      kube_workqueue_add_after(q, r->key, r->delay_ms, NULL);
    } else {
      kube_workqueue_add_rate_limited(q, r->key, NULL);
    }
  }
  free(r);
}

/* Tell the loop how a key went.  Out of memory: the key stays
 * "processing" until the controller stops (nothing else is possible). */
static void report(struct ctl *c, const char *key, enum outcome how,
                   int64_t delay_ms) {
  size_t len = strlen(key);
  struct result *r = malloc(sizeof *r + len + 1);
  if (!r)
    return;
  r->c = c;
  r->how = how;
  r->delay_ms = delay_ms;
  memcpy(r->key, key, len + 1);
  if (kube_loop_invoke(c->loop, result_on_loop, r, NULL) < 0)
    free(r);
}

/* ---- workers ---- */

/* Call reconcile(key) (GIL held) and report its outcome.  Never lets a
 * Python exception escape. */
static void reconcile_one(ControllerObject *o, const char *key) {
  struct ctl *c = o->c;
  PyObject *ret = PyObject_CallFunction(o->reconcile, "s", key);
  enum outcome how = DONE;
  int64_t delay_ms = 0;
  if (!ret) {
    how = BACKOFF;
    PyErr_WriteUnraisable(o->reconcile);
  } else if (PyNumber_Check(ret) && !PyBool_Check(ret)) {
    double secs = PyFloat_AsDouble(ret);
    if (secs == -1.0 && PyErr_Occurred()) {
      PyErr_WriteUnraisable(o->reconcile);
      how = BACKOFF;
    } else if (secs > 0) {
      how = AFTER;
      delay_ms = secs > 86400.0 * 365 ? (int64_t)86400 * 365 * 1000
                                      : (int64_t)(secs * 1000.0 + 0.5);
    }
  }
  Py_XDECREF(ret);
  pthread_mutex_lock(&c->mu);
  c->reconciled++;
  if (how == BACKOFF)
    c->failed++;
  pthread_mutex_unlock(&c->mu);
  report(c, key, how, delay_ms);
}

/* Wait (GIL released by the caller) up to 200 ms for a key.  The key
 * (owned) or NULL. */
static struct key_item *next_key(struct ctl *c, bool *stopping) {
  pthread_mutex_lock(&c->mu);
  if (!c->head && !c->stopping)
    pyk_cond_wait_ms(&c->cv, &c->mu, 200);
  struct key_item *k = NULL;
  if (!c->stopping && (k = c->head)) {
    c->head = k->next;
    if (!c->head)
      c->tail = NULL;
  }
  *stopping = c->stopping;
  pthread_mutex_unlock(&c->mu);
  return k;
}

static void set_stopping(struct ctl *c) {
  pthread_mutex_lock(&c->mu);
  c->stopping = true;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* An extra worker: a thread of ours that takes the GIL per key. */
static void *worker_thread(void *arg) {
  ControllerObject *o = arg;
  for (;;) {
    bool stopping;
    struct key_item *k = next_key(o->c, &stopping);
    if (stopping) {
      free(k);
      break;
    }
    if (!k)
      continue;
    PyGILState_STATE st = PyGILState_Ensure();
    reconcile_one(o, k->key);
    PyGILState_Release(st);
    free(k);
  }
  return NULL;
}

/* The worker run() itself is: returns -1 with the Python error (Ctrl-C)
 * that stopped it, else 0 once stop() was called. */
static int main_worker(ControllerObject *o) {
  for (;;) {
    bool stopping;
    struct key_item *k;
    Py_BEGIN_ALLOW_THREADS;
    k = next_key(o->c, &stopping);
    Py_END_ALLOW_THREADS;
    if (stopping) {
      free(k);
      return 0;
    }
    if (k) {
      reconcile_one(o, k->key);
      free(k);
    } else if (PyErr_CheckSignals() < 0) {
      return -1;
    }
  }
}

/* ---- run / stop ---- */

static void gate_closing(void *arg) {
  set_stopping(arg);
}

static void *own_loop_thread(void *arg) {
  kube_loop_run(arg, NULL);
  return NULL;
}

static void quit_on_loop(void *arg) {
  kube_loop_quit(arg);
}

/* Wait (GIL released) until *flag is set under c->mu. */
static void wait_flag(struct ctl *c, const bool *flag) {
  pthread_mutex_lock(&c->mu);
  while (!*flag)
    pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
}

/* Where run() gets its loop and transport: the Server's for an in-process
 * client (entering its gate), else a loop and HTTP transport of our own.
 * GIL released.  0 or -1 with err. */
static int attach(struct ctl *c, pyk_conn_t *k, kube_error_t *err) {
  if (k->loop) {
    if (pyk_gate_enter(k->gate) < 0)
      return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                            "the in-process server is stopped");
    c->hook = (struct pyk_gate_hook){gate_closing, c, NULL};
    if (pyk_gate_add_hook(k->gate, &c->hook) < 0) {
      pyk_gate_leave(k->gate);
      return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                            "the in-process server is stopped");
    }
    c->gate = k->gate;
    pyk_gate_ref(c->gate);
    c->loop = k->loop;
    c->tp = k->tp;
    return 0;
  }
  const char *server = kube_client_server(k->c);
  if (strncmp(server, "unix:", 5) == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "a Controller needs an https:// or http:// server "
                          "or Server.client(), not %s",
                          server);
  kube_client_options_t opts = {.struct_size = sizeof opts,
                                .kubeconfig = k->kubeconfig,
                                .context = k->context};
  if (!(c->own_loop = kube_loop_new(err)))
    return -1;
  if (!(c->http = kube_http_transport_new(c->own_loop, &opts, err))) {
    kube_loop_free(c->own_loop);
    c->own_loop = NULL;
    return -1;
  }
  kube_http_transport_get(c->http, &c->tp);
  c->loop = c->own_loop;
  int e = pthread_create(&c->own_thread, NULL, own_loop_thread, c->own_loop);
  if (e != 0) {
    kube_http_transport_free(c->http);
    kube_loop_free(c->own_loop);
    c->http = NULL;
    c->own_loop = NULL;
    return kube_error_set(err, KUBE_REASON_INTERNAL, e,
                          "cannot start the controller's loop thread");
  }
  return 0;
}

static void detach(struct ctl *c) {
  if (c->gate) {
    pyk_gate_remove_hook(c->gate, &c->hook);
    pyk_gate_leave(c->gate);
    pyk_gate_unref(c->gate);
    c->gate = NULL;
  }
  if (c->own_loop) {
    kube_loop_invoke(c->own_loop, quit_on_loop, c->own_loop, NULL);
    pthread_join(c->own_thread, NULL);
    kube_http_transport_free(c->http);
    kube_loop_free(c->own_loop);
    c->http = NULL;
    c->own_loop = NULL;
  }
  c->loop = NULL;
}

static PyObject *ctl_run(PyObject *self, PyObject *unused) {
  ControllerObject *o = (ControllerObject *)self;
  struct ctl *c = o->c;
  if (!c || !o->reconcile) {
    PyErr_SetString(PyExc_ValueError, "the controller is not initialised");
    return NULL;
  }
  if (o->running) {
    PyErr_SetString(PyExc_RuntimeError, "the controller is already running");
    return NULL;
  }
  pyk_conn_t *k = pyk_client_conn(o->client);
  if (!k)
    return NULL;
  o->running = true;
  pthread_mutex_lock(&c->mu);
  c->stopping = c->synced = c->setup_done = c->teardown_done = false;
  pthread_mutex_unlock(&c->mu);
  kube_error_t err = KUBE_ERROR_INIT;
  int rc;
  pthread_t extra[64];
  int n_extra = 0;
  Py_BEGIN_ALLOW_THREADS;
  rc = attach(c, k, &err);
  if (rc == 0 && kube_loop_invoke(c->loop, setup_on_loop, c, &err) < 0) {
    detach(c);
    rc = -1;
  }
  if (rc == 0) {
    wait_flag(c, &c->setup_done);
    if (c->setup_rc < 0) {
      kube_error_move(&err, &c->setup_err);
      rc = -1;
    }
  }
  for (int i = 1; rc == 0 && i < o->workers && n_extra < 64; i++)
    if (pthread_create(&extra[n_extra], NULL, worker_thread, o) == 0)
      n_extra++;
  Py_END_ALLOW_THREADS;
  int wrc = 0;
  if (rc == 0)
    wrc = main_worker(o);
  /* Stop: workers first (they may be inside reconcile: the GIL is
   * released while joining), then the informer and queue on the loop. */
  set_stopping(c);
  Py_BEGIN_ALLOW_THREADS;
  for (int i = 0; i < n_extra; i++)
    pthread_join(extra[i], NULL);
  pthread_mutex_lock(&c->mu);
  while (c->getters > 0)
    pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
  if (c->loop && kube_loop_invoke(c->loop, teardown_on_loop, c, NULL) == 0)
    wait_flag(c, &c->teardown_done);
  if (c->loop)
    detach(c);
  pthread_mutex_lock(&c->mu);
  while (c->head) {
    struct key_item *ki = c->head;
    c->head = ki->next;
    free(ki);
  }
  c->tail = NULL;
  pthread_mutex_unlock(&c->mu);
  Py_END_ALLOW_THREADS;
  o->running = false;
  if (rc < 0) {
    if (err.reason == KUBE_REASON_BAD_REQUEST)
      PyErr_SetString(PyExc_ValueError, err.message);
    else
      pyk_raise(&err);
    kube_error_clear(&err);
    return NULL;
  }
  if (wrc < 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *ctl_stop(PyObject *self, PyObject *unused) {
  ControllerObject *o = (ControllerObject *)self;
  if (o->c)
    set_stopping(o->c);
  Py_RETURN_NONE;
}

/* ---- the cache ---- */

struct get_call {
  struct ctl *c;
  const char *key;
  char *json; /* the cached object, owned */
  bool found, done;
};

static void get_on_loop(void *arg) {
  struct get_call *g = arg;
  const kube_object_t *obj =
      g->c->inf ? kube_informer_get(g->c->inf, g->key) : NULL;
  char *json = obj ? kube_object_to_json(obj, KUBE_JSON_COMPACT) : NULL;
  pthread_mutex_lock(&g->c->mu);
  g->json = json;
  g->found = obj != NULL;
  g->done = true;
  pthread_cond_broadcast(&g->c->cv);
  pthread_mutex_unlock(&g->c->mu);
}

static PyObject *ctl_get(PyObject *self, PyObject *arg) {
  ControllerObject *o = (ControllerObject *)self;
  struct ctl *c = o->c;
  PyObject *h;
  const char *key = pyk_utf8(arg, "key", &h);
  if (!key)
    return NULL;
  /* The loop is there from the end of the setup until run() stops;
   * `getters` keeps run() from tearing down under this call. */
  bool usable = false;
  if (c) {
    pthread_mutex_lock(&c->mu);
    usable = c->setup_done && c->setup_rc == 0 && !c->stopping;
    if (usable)
      c->getters++;
    pthread_mutex_unlock(&c->mu);
  }
  if (!usable) {
    Py_DECREF(h);
    PyErr_SetString(PyExc_RuntimeError,
                    "the cache exists only while run() runs");
    return NULL;
  }
  struct get_call g = {.c = c, .key = key};
  int r;
  Py_BEGIN_ALLOW_THREADS;
  r = kube_loop_invoke(c->loop, get_on_loop, &g, NULL);
  if (r == 0)
    wait_flag(c, &g.done);
  pthread_mutex_lock(&c->mu);
  if (--c->getters == 0)
    pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  Py_END_ALLOW_THREADS;
  Py_DECREF(h);
  if (r < 0)
    return PyErr_NoMemory();
  if (!g.found)
    Py_RETURN_NONE;
  if (!g.json)
    return PyErr_NoMemory();
  PyObject *d = pyk_from_json(g.json, strlen(g.json));
  free(g.json);
  return d;
}

static PyObject *ctl_synced(PyObject *self, void *closure) {
  struct ctl *c = ((ControllerObject *)self)->c;
  bool s = false;
  if (c) {
    pthread_mutex_lock(&c->mu);
    s = c->synced;
    pthread_mutex_unlock(&c->mu);
  }
  return PyBool_FromLong(s);
}

static PyObject *ctl_counter(PyObject *self, bool failed) {
  struct ctl *c = ((ControllerObject *)self)->c;
  uint64_t n = 0;
  if (c) {
    pthread_mutex_lock(&c->mu);
    n = failed ? c->failed : c->reconciled;
    pthread_mutex_unlock(&c->mu);
  }
  return PyLong_FromUnsignedLongLong(n);
}
static PyObject *ctl_reconciled(PyObject *self, void *closure) {
  return ctl_counter(self, false);
}
static PyObject *ctl_failed(PyObject *self, void *closure) {
  return ctl_counter(self, true);
}

/* ---- construction ---- */

static void ctl_free(struct ctl *c) {
  if (!c)
    return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c->path);
  free(c->label_selector);
  kube_error_clear(&c->setup_err);
  free(c);
}

static PyObject *ctl_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  return alloc(type, 0);
}

static int ctl_init(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"client",    "api_version", "kind",
                           "reconcile", "namespace",   "label_selector",
                           "workers",   NULL};
  PyObject *client, *av, *kd, *rec, *ns = Py_None, *ls = Py_None;
  int workers = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO|OOi:Controller", kwlist,
                                   &client, &av, &kd, &rec, &ns, &ls, &workers))
    return -1;
  ControllerObject *o = (ControllerObject *)self;
  if (o->running) {
    PyErr_SetString(PyExc_RuntimeError, "the controller is running");
    return -1;
  }
  if (!pyk_client_conn(client))
    return -1;
  if (!PyCallable_Check(rec)) {
    PyErr_Format(PyExc_TypeError, "reconcile must be callable, not %s",
                 pyk_tname(rec));
    return -1;
  }
  if (workers < 1 || workers > 64) {
    PyErr_SetString(PyExc_ValueError, "workers must be between 1 and 64");
    return -1;
  }
  PyObject *h[4] = {NULL};
  bool failed = false;
  const char *api_version = pyk_utf8(av, "api_version", &h[0]);
  const char *kind_s = api_version ? pyk_utf8(kd, "kind", &h[1]) : NULL;
  const char *nss =
      kind_s ? pyk_utf8_opt(ns, "namespace", &h[2], &failed) : NULL;
  const char *lss = kind_s && !failed
                        ? pyk_utf8_opt(ls, "label_selector", &h[3], &failed)
                        : NULL;
  int ret = -1;
  const kube_kind_t *kind = NULL;
  struct ctl *c = NULL;
  if (!kind_s || failed)
    goto out;
  if (!(kind = kube_kind_by_kind(api_version, kind_s))) {
    PyErr_Format(PyExc_ValueError,
                 "no matches for kind \"%s\" in version \"%s\"", kind_s,
                 api_version);
    goto out;
  }
  if (lss) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_selector_t *sel = kube_label_selector_parse(lss, &err);
    if (!sel) {
      PyErr_Format(PyExc_ValueError, "label_selector: %s", err.message);
      kube_error_clear(&err);
      goto out;
    }
    kube_selector_free(sel);
  }
  if (!(c = calloc(1, sizeof *c))) {
    PyErr_NoMemory();
    goto out;
  }
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  c->path = kube_client_path(kind, kind->namespaced ? nss : NULL, NULL, NULL);
  c->label_selector = lss ? strdup(lss) : NULL;
  if (!c->path || (lss && !c->label_selector)) {
    ctl_free(c);
    PyErr_NoMemory();
    goto out;
  }
  ctl_free(o->c);
  o->c = c;
  PyObject *old_client = o->client, *old_rec = o->reconcile;
  Py_INCREF(client);
  Py_INCREF(rec);
  o->client = client;
  o->reconcile = rec;
  Py_XDECREF(old_client);
  Py_XDECREF(old_rec);
  o->workers = workers;
  ret = 0;
out:
  for (int i = 0; i < 4; i++)
    Py_XDECREF(h[i]);
  return ret;
}

static int ctl_traverse(PyObject *self, visitproc visit, void *arg) {
  ControllerObject *o = (ControllerObject *)self;
  Py_VISIT(o->client);
  Py_VISIT(o->reconcile);
  return 0;
}

static int ctl_clear(PyObject *self) {
  ControllerObject *o = (ControllerObject *)self;
  Py_CLEAR(o->client);
  Py_CLEAR(o->reconcile);
  return 0;
}

static void ctl_dealloc(PyObject *self) {
  ControllerObject *o = (ControllerObject *)self;
  PyTypeObject *tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  if (o->weakrefs)
    PyObject_ClearWeakRefs(self);
  ctl_clear(self);
  ctl_free(o->c);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static PyMethodDef ctl_methods[] = {
    {"run", ctl_run, METH_NOARGS,
     "run() -> None\n\n"
     "Start the informer and the work queue and reconcile keys on this "
     "thread (and workers - 1 more) until stop() (from a reconcile, "
     "another thread, or Server.close()).  Ctrl-C stops it too "
     "(KeyboardInterrupt).  Waiting releases the GIL."},
    {"stop", ctl_stop, METH_NOARGS,
     "stop() -> None\n\n"
     "Make run() return once the reconciles in progress finished.  Any "
     "thread."},
    {"get", ctl_get, METH_O,
     "get(key: str) -> dict | None\n\n"
     "The informer's cached object of a key (\"namespace/name\"), None "
     "when it does not exist.  Only while run() runs."},
    {NULL}};

static PyGetSetDef ctl_getset[] = {
    {"synced", ctl_synced, NULL, "True once the first LIST is in the cache.",
     NULL},
    {"reconciled", ctl_reconciled, NULL, "reconcile() calls so far.", NULL},
    {"failed", ctl_failed, NULL, "reconcile() calls that raised.", NULL},
    {NULL}};

/* The limited API's way to declare tp_weaklistoffset (3.9+). */
static PyMemberDef ctl_members[] = {{"__weaklistoffset__", T_PYSSIZET,
                                     offsetof(ControllerObject, weakrefs),
                                     READONLY, NULL},
                                    {NULL}};

static PyType_Slot ctl_slots[] = {
    {Py_tp_members, ctl_members},
    {Py_tp_new, ctl_new},
    {Py_tp_init, ctl_init},
    {Py_tp_dealloc, ctl_dealloc},
    {Py_tp_traverse, ctl_traverse},
    {Py_tp_clear, ctl_clear},
    {Py_tp_methods, ctl_methods},
    {Py_tp_getset, ctl_getset},
    {Py_tp_doc,
     "Controller(client, api_version, kind, reconcile, namespace=None, "
     "label_selector=None, workers=1)\n\n"
     "client-go's controller pattern: an informer keeps a cache of the "
     "kind (optionally one namespace, a label selector) and every change "
     "queues the object's key (\"namespace/name\") in a rate-limited work "
     "queue; workers call reconcile(key).  reconcile returns None when "
     "done, or a number of seconds to be called again after; an exception "
     "is reported (sys.unraisablehook) and the key retried with "
     "exponential backoff.  A key is never reconciled twice at once.  "
     "client is Server.client() or a Client over https/http."},
    {0, NULL}};

static PyType_Spec ctl_spec = {"libkube.Controller", sizeof(ControllerObject),
                               0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
                               ctl_slots};

int pyk_controller_init(PyObject *module) {
  return pyk_add_type(module, &ctl_spec, NULL) ? 0 : -1;
}
