/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube.Watch: the iterator Client.watch() returns (and, in raw mode,
 * Client.logs(follow=True): the log's lines as str).
 *
 * kube_client_stream() delivers lines through a callback until the stream
 * ends; a Python iterator pulls.  A detached thread of our own runs the
 * stream and queues the lines (plain C strings: it never touches a Python
 * object nor the GIL); __next__ waits for a line with the GIL released,
 * waking up now and then to let Ctrl-C through.  The thread and the
 * iterator share a reference-counted state, so an abandoned iterator
 * frees nothing the thread still uses: the thread notices at the next
 * line (or the stream's end) and finishes.  An in-process watch holds the
 * Server's gate until it ends; closing the Server ends every watch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

struct line {
  struct line *next;
  size_t len;
  char text[];
};

struct watch_state {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refs; /* under mu */
  pyk_conn_t *conn;
  char *path, *query;
  bool raw; /* lines as str (Client.logs follow), not watch events */
  /* Under mu. */
  struct line *head, *tail;
  bool done; /* the stream ended */
  bool stop; /* the iterator is gone or closed */
  int rc;
  kube_error_t err;
};

static void free_lines(struct watch_state *w) {
  while (w->head) {
    struct line *l = w->head;
    w->head = l->next;
    free(l);
  }
  w->tail = NULL;
}

static void state_unref(struct watch_state *w) {
  pthread_mutex_lock(&w->mu);
  bool last = --w->refs == 0;
  pthread_mutex_unlock(&w->mu);
  if (!last)
    return;
  free_lines(w);
  pyk_conn_unref(w->conn);
  free(w->path);
  free(w->query);
  kube_error_clear(&w->err);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

/* ---- the stream's thread ---- */

static int on_line(const char *text, size_t len, void *arg) {
  struct watch_state *w = arg;
  struct line *l = malloc(sizeof *l + len + 1);
  pthread_mutex_lock(&w->mu);
  bool stop = w->stop;
  if (l && !stop) {
    l->next = NULL;
    l->len = len;
    memcpy(l->text, text, len);
    l->text[len] = '\0';
    if (w->tail)
      w->tail->next = l;
    else
      w->head = l;
    w->tail = l;
    l = NULL;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  free(l);
  return stop;
}

static void *stream_thread(void *arg) {
  struct watch_state *w = arg;
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = w->path,
                               .query = w->query};
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_client_stream(w->conn->c, &req, on_line, w, &err);
  pthread_mutex_lock(&w->mu);
  w->rc = rc;
  kube_error_move(&w->err, &err);
  w->done = true;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  if (w->conn->gate)
    pyk_gate_leave(w->conn->gate);
  state_unref(w);
  return NULL;
}

/* ---- the iterator ---- */

typedef struct {
  PyObject_HEAD struct watch_state *w;
  PyObject *client;
  bool finished;
} WatchObject;

static PyTypeObject *watch_type;

static void watch_close_state(WatchObject *o) {
  o->finished = true;
  if (!o->w)
    return;
  struct watch_state *w = o->w;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  free_lines(w);
  pthread_mutex_unlock(&w->mu);
}

PyObject *pyk_watch_start(PyObject *client, pyk_conn_t *k, char *path,
                          char *query, bool raw) {
  struct watch_state *w = calloc(1, sizeof *w);
  if (!w) {
    free(path);
    free(query);
    return PyErr_NoMemory();
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->refs = 1;
  w->conn = k;
  pyk_conn_ref(k);
  w->path = path;
  w->query = query;
  w->raw = raw;
  WatchObject *o = PyObject_New(WatchObject, watch_type);
  if (!o) {
    state_unref(w);
    return NULL;
  }
  o->w = w;
  o->client = client;
  o->finished = false;
  Py_INCREF(client);
  if (k->gate && pyk_gate_enter(k->gate) < 0) {
    Py_DECREF(o);
    PyErr_SetString(PyExc_ConnectionError,
                    "the in-process server is stopped (Server.close() ran)");
    return NULL;
  }
  w->refs++; /* the thread's */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int e = pthread_create(&th, &attr, stream_thread, w);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    w->refs--;
    if (k->gate)
      pyk_gate_leave(k->gate);
    Py_DECREF(o);
    errno = e;
    return PyErr_SetFromErrno(PyExc_OSError);
  }
  return (PyObject *)o;
}

/* An ERROR event: raise its Status as ApiError. */
static PyObject *raise_error_event(PyObject *status) {
  kube_error_t err = KUBE_ERROR_INIT;
  int code = 500;
  PyObject *v;
  if (PyDict_Check(status)) {
    if ((v = PyDict_GetItemString(status, "code")) && PyLong_Check(v))
      code = (int)PyLong_AsLong(v);
    PyObject *h = NULL;
    const char *reason =
        (v = PyDict_GetItemString(status, "reason")) && PyUnicode_Check(v)
            ? pyk_utf8(v, "reason", &h)
            : NULL;
    err.reason = reason ? kube_reason_from_string(reason)
                        : kube_reason_from_http_code(code);
    if (code == 410)
      err.reason = KUBE_REASON_EXPIRED;
    Py_XDECREF(h);
    h = NULL;
    const char *msg =
        (v = PyDict_GetItemString(status, "message")) && PyUnicode_Check(v)
            ? pyk_utf8(v, "message", &h)
            : NULL;
    kube_error_set(&err, err.reason, 0, "%s", msg ? msg : "watch failed");
    Py_XDECREF(h);
    PyErr_Clear();
  } else {
    kube_error_set(&err, KUBE_REASON_INTERNAL, 0, "watch failed");
  }
  char *json = pyk_to_json(status, NULL);
  if (!json)
    PyErr_Clear();
  pyk_raise_api(code, json, json ? strlen(json) : 0, &err);
  free(json);
  kube_error_clear(&err);
  return NULL;
}

/* The stream ended: StopIteration, or the error that ended it. */
static PyObject *stream_end(struct watch_state *w) {
  if (w->rc == 0)
    return NULL;
  kube_error_t *e = &w->err;
  switch (e->reason) {
  case KUBE_REASON_SERVICE_UNAVAILABLE:
  case KUBE_REASON_TIMEOUT:
  case KUBE_REASON_INTERNAL:
  case KUBE_REASON_UNKNOWN:
    if (e->errnum)
      return pyk_raise(e);
    return pyk_raise_api(kube_reason_http_code(e->reason), NULL, 0, e);
  default:
    return pyk_raise_api(kube_reason_http_code(e->reason), NULL, 0, e);
  }
}

static PyObject *watch_next(PyObject *self) {
  WatchObject *o = (WatchObject *)self;
  struct watch_state *w = o->w;
  if (o->finished || !w)
    return NULL;
  for (;;) {
    struct line *l = NULL;
    bool done = false;
    Py_BEGIN_ALLOW_THREADS;
    pthread_mutex_lock(&w->mu);
    if (!w->head && !w->done)
      pyk_cond_wait_ms(&w->cv, &w->mu, 200);
    if ((l = w->head)) {
      w->head = l->next;
      if (!w->head)
        w->tail = NULL;
    }
    done = w->done;
    pthread_mutex_unlock(&w->mu);
    Py_END_ALLOW_THREADS;
    if (l && w->raw) {
      PyObject *line =
          PyUnicode_DecodeUTF8(l->text, (Py_ssize_t)l->len, "replace");
      free(l);
      return line;
    }
    if (l) {
      PyObject *ev = pyk_from_json(l->text, l->len);
      free(l);
      if (!ev || !PyDict_Check(ev)) {
        Py_XDECREF(ev);
        watch_close_state(o);
        if (!PyErr_Occurred())
          PyErr_SetString(PyExc_ValueError, "malformed watch event");
        return NULL;
      }
      PyObject *type = PyDict_GetItemString(ev, "type");
      PyObject *error = PyUnicode_FromString("ERROR");
      int is_error =
          type && error ? PyObject_RichCompareBool(type, error, Py_EQ) : 0;
      Py_XDECREF(error);
      if (is_error == 1) {
        watch_close_state(o);
        PyObject *status = PyDict_GetItemString(ev, "object");
        raise_error_event(status ? status : Py_None);
        Py_DECREF(ev);
        return NULL;
      }
      return ev;
    }
    if (done) {
      o->finished = true;
      return stream_end(w);
    }
    if (PyErr_CheckSignals() < 0)
      return NULL;
  }
}

static PyObject *watch_close(PyObject *self, PyObject *unused) {
  watch_close_state((WatchObject *)self);
  Py_RETURN_NONE;
}

static PyObject *watch_enter(PyObject *self, PyObject *unused) {
  Py_INCREF(self);
  return self;
}

static PyObject *watch_exit(PyObject *self, PyObject *args) {
  watch_close_state((WatchObject *)self);
  Py_RETURN_FALSE;
}

static PyObject *watch_iter(PyObject *self) {
  Py_INCREF(self);
  return self;
}

static void watch_dealloc(PyObject *self) {
  WatchObject *o = (WatchObject *)self;
  PyTypeObject *tp = Py_TYPE(self);
  watch_close_state(o);
  if (o->w)
    state_unref(o->w);
  Py_XDECREF(o->client);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static PyMethodDef watch_methods[] = {
    {"close", watch_close, METH_NOARGS,
     "close() -> None\n\n"
     "Stop the watch: no more events are delivered (the stream's thread "
     "ends at the next event or when the server ends the stream)."},
    {"__enter__", watch_enter, METH_NOARGS, NULL},
    {"__exit__", watch_exit, METH_VARARGS, NULL},
    {NULL}};

static PyType_Slot watch_slots[] = {
    {Py_tp_iter, watch_iter},
    {Py_tp_iternext, watch_next},
    {Py_tp_dealloc, watch_dealloc},
    {Py_tp_methods, watch_methods},
    {Py_tp_doc, "An iterator of watch events; see Client.watch().  A "
                "context manager that closes it."},
    {0, NULL}};

static PyType_Spec watch_spec = {"libkube.Watch", sizeof(WatchObject), 0,
                                 Py_TPFLAGS_DEFAULT, watch_slots};

int pyk_watch_init(PyObject *module) {
  watch_type = pyk_add_type(module, &watch_spec, NULL);
  return watch_type ? 0 : -1;
}
