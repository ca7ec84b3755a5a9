/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The module `libkube`: exception types, the JSON bridge, errors, the
 * Server gate, and module initialisation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pykube.h"

PyObject *pyk_ApiError;
PyObject *pyk_Unschedulable;
PyObject *pyk_json_loads;
PyObject *pyk_Decimal;

/* ---- strings ---- */

const char *pyk_tname(PyObject *obj) {
  static char buf[128];
  snprintf(buf, sizeof buf, "nothing");
  if (!obj)
    return buf;
  PyObject *type = (PyObject *)Py_TYPE(obj);
  PyObject *name = PyObject_GetAttrString(type, "__name__");
  PyObject *b =
      name && PyUnicode_Check(name) ? PyUnicode_AsUTF8String(name) : NULL;
  if (b)
    snprintf(buf, sizeof buf, "%s", PyBytes_AsString(b));
  else
    PyErr_Clear();
  Py_XDECREF(b);
  Py_XDECREF(name);
  return buf;
}

const char *pyk_utf8(PyObject *obj, const char *what, PyObject **hold) {
  *hold = NULL;
  if (!obj || !PyUnicode_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "%s must be a str, not %s", what,
                 pyk_tname(obj));
    return NULL;
  }
  *hold = PyUnicode_AsUTF8String(obj);
  if (!*hold)
    return NULL;
  const char *s = PyBytes_AsString(*hold);
  if (s && strlen(s) != (size_t)PyBytes_Size(*hold)) {
    Py_CLEAR(*hold);
    PyErr_Format(PyExc_ValueError, "%s must not contain NUL characters", what);
    return NULL;
  }
  return s;
}

const char *pyk_utf8_opt(PyObject *obj, const char *what, PyObject **hold,
                         bool *failed) {
  *hold = NULL;
  if (!obj || obj == Py_None)
    return NULL;
  const char *s = pyk_utf8(obj, what, hold);
  if (!s)
    *failed = true;
  return s;
}

/* ---- errors ---- */

static int set_attr(PyObject *o, const char *name, PyObject *v) {
  if (!v)
    return -1;
  int r = PyObject_SetAttrString(o, name, v);
  Py_DECREF(v);
  return r;
}

/* A Status dict for an error without one (the server sent none). */
static PyObject *status_dict(int code, const kube_error_t *err) {
  return Py_BuildValue(
      "{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
      "metadata", "status", "Failure", "message",
      err && err->message ? err->message : "", "reason",
      kube_reason_string(err ? err->reason : KUBE_REASON_UNKNOWN), "code",
      code);
}

PyObject *pyk_raise_api(int code, const char *body, size_t len,
                        const kube_error_t *err) {
  PyObject *status = NULL;
  if (body && len > 0) {
    status = pyk_from_json(body, len);
    if (!status || !PyDict_Check(status)) {
      PyErr_Clear();
      Py_CLEAR(status);
    } else {
      PyObject *kind = PyDict_GetItemString(status, "kind");
      PyObject *want = PyUnicode_FromString("Status");
      int same = kind && want ? PyObject_RichCompareBool(kind, want, Py_EQ) : 0;
      Py_XDECREF(want);
      if (same != 1) {
        PyErr_Clear();
        Py_CLEAR(status);
      }
    }
  }
  if (!status && !(status = status_dict(code, err)))
    return NULL;
  const char *msg = err && err->message ? err->message : "request failed";
  PyObject *exc = PyObject_CallFunction(pyk_ApiError, "s", msg);
  if (!exc) {
    Py_DECREF(status);
    return NULL;
  }
  if (set_attr(exc, "code", PyLong_FromLong(code)) < 0 ||
      set_attr(exc, "reason",
               PyUnicode_FromString(kube_reason_string(
                   err ? err->reason : KUBE_REASON_UNKNOWN))) < 0 ||
      PyObject_SetAttrString(exc, "status", status) < 0) {
    Py_DECREF(status);
    Py_DECREF(exc);
    return NULL;
  }
  Py_DECREF(status);
  PyErr_SetObject(pyk_ApiError, exc);
  Py_DECREF(exc);
  return NULL;
}

PyObject *pyk_raise(const kube_error_t *err) {
  const char *msg = err && err->message ? err->message : "failed";
  switch (err ? err->reason : KUBE_REASON_UNKNOWN) {
  case KUBE_REASON_SERVICE_UNAVAILABLE:
    PyErr_SetString(PyExc_ConnectionError, msg);
    break;
  case KUBE_REASON_TIMEOUT:
    PyErr_SetString(PyExc_TimeoutError, msg);
    break;
  case KUBE_REASON_BAD_REQUEST:
  case KUBE_REASON_INVALID:
  case KUBE_REASON_ALREADY_EXISTS:
  case KUBE_REASON_CONFLICT:
  case KUBE_REASON_TOO_LARGE:
    PyErr_SetString(PyExc_ValueError, msg);
    break;
  case KUBE_REASON_NOT_FOUND:
    PyErr_SetString(PyExc_KeyError, msg);
    break;
  default:
    if (err && err->errnum == ENOMEM)
      PyErr_NoMemory();
    else if (err && err->errnum) {
      PyObject *e = Py_BuildValue("(is)", err->errnum, msg);
      if (e) {
        PyErr_SetObject(PyExc_OSError, e);
        Py_DECREF(e);
      }
    } else
      PyErr_SetString(PyExc_RuntimeError, msg);
  }
  return NULL;
}

PyObject *pyk_raise_clear(kube_error_t *err) {
  pyk_raise(err);
  kube_error_clear(err);
  return NULL;
}

void pyk_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- the Server gate ---- */

pyk_gate_t *pyk_gate_new(void) {
  pyk_gate_t *g = calloc(1, sizeof *g);
  if (!g)
    return NULL;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  g->refs = 1;
  return g;
}

void pyk_gate_ref(pyk_gate_t *g) {
  pthread_mutex_lock(&g->mu);
  g->refs++;
  pthread_mutex_unlock(&g->mu);
}

void pyk_gate_unref(pyk_gate_t *g) {
  if (!g)
    return;
  pthread_mutex_lock(&g->mu);
  bool last = --g->refs == 0;
  pthread_mutex_unlock(&g->mu);
  if (last) {
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
  }
}

int pyk_gate_enter(pyk_gate_t *g) {
  pthread_mutex_lock(&g->mu);
  int r = g->closed ? -1 : 0;
  if (r == 0)
    g->inflight++;
  pthread_mutex_unlock(&g->mu);
  return r;
}

void pyk_gate_leave(pyk_gate_t *g) {
  pthread_mutex_lock(&g->mu);
  if (--g->inflight == 0)
    pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

int pyk_gate_add_hook(pyk_gate_t *g, struct pyk_gate_hook *h) {
  pthread_mutex_lock(&g->mu);
  int r = g->closed ? -1 : 0;
  if (r == 0) {
    h->next = g->hooks;
    g->hooks = h;
  }
  pthread_mutex_unlock(&g->mu);
  return r;
}

void pyk_gate_remove_hook(pyk_gate_t *g, struct pyk_gate_hook *h) {
  pthread_mutex_lock(&g->mu);
  for (struct pyk_gate_hook **pp = &g->hooks; *pp; pp = &(*pp)->next)
    if (*pp == h) {
      *pp = h->next;
      break;
    }
  pthread_mutex_unlock(&g->mu);
}

void pyk_gate_close_and_wait(pyk_gate_t *g) {
  pthread_mutex_lock(&g->mu);
  g->closed = true;
  /* A hook only flags its user to stop (it takes no lock of ours). */
  for (struct pyk_gate_hook *h = g->hooks; h; h = h->next)
    h->fn(h->arg);
  while (g->inflight > 0)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* ---- types ---- */

PyTypeObject *pyk_add_type(PyObject *module, PyType_Spec *spec,
                           PyObject *base) {
  PyObject *bases = base ? PyTuple_Pack(1, base) : NULL;
  if (base && !bases)
    return NULL;
  PyObject *t =
      bases ? PyType_FromSpecWithBases(spec, bases) : PyType_FromSpec(spec);
  Py_XDECREF(bases);
  if (!t)
    return NULL;
  const char *dot = strrchr(spec->name, '.');
  if (PyModule_AddObject(module, dot ? dot + 1 : spec->name, t) < 0) {
    Py_DECREF(t);
    return NULL;
  }
  return (PyTypeObject *)t;
}

/* ---- module ---- */

PyDoc_STRVAR(
    module_doc,
    "libkube: a small, fast, embeddable Kubernetes, in-process.\n\n"
    "Server runs a whole control plane on a thread of this process and\n"
    "hands out Clients that talk to it without a socket; Client talks to\n"
    "any API server through a kubeconfig; Scheduler is the pure placement\n"
    "library; Runtime drives OCI containers; Controller runs a Python\n"
    "reconcile(key) over an informer and a rate-limited work queue.\n\n"
    "Objects cross as plain dict/list in the JSON shape of the Kubernetes\n"
    "API.  Blocking calls release the GIL; every object may be used from\n"
    "several threads.");

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT,
                                        "libkube",
                                        module_doc,
                                        -1,
                                        NULL,
                                        NULL,
                                        NULL,
                                        NULL,
                                        NULL};

static PyObject *import_attr(const char *module, const char *name) {
  PyObject *m = PyImport_ImportModule(module);
  if (!m)
    return NULL;
  PyObject *r = PyObject_GetAttrString(m, name);
  Py_DECREF(m);
  return r;
}

static PyObject *new_exception(PyObject *module, const char *name,
                               const char *doc, PyObject *attrs) {
  PyObject *e = PyErr_NewExceptionWithDoc(name, doc, PyExc_Exception, attrs);
  if (!e)
    return NULL;
  Py_INCREF(e);
  if (PyModule_AddObject(module, strchr(name, '.') + 1, e) < 0) {
    Py_DECREF(e);
    Py_DECREF(e);
    return NULL;
  }
  return e;
}

PyMODINIT_FUNC PyInit_libkube(void) {
  PyObject *m = PyModule_Create(&module_def);
  if (!m)
    return NULL;
  if (!(pyk_json_loads = import_attr("json", "loads")) ||
      !(pyk_Decimal = import_attr("decimal", "Decimal")))
    goto fail;
  PyObject *api_attrs = Py_BuildValue("{s:i,s:s,s:O}", "code", 0, "reason", "",
                                      "status", Py_None);
  if (!api_attrs)
    goto fail;
  pyk_ApiError = new_exception(
      m, "libkube.ApiError",
      "An error answer of the API server.\n\n"
      "code: the HTTP status (404, 409, 422, ...)\n"
      "reason: the Status reason (\"NotFound\", \"AlreadyExists\", "
      "\"Conflict\", \"Invalid\", ...)\n"
      "status: the Status object, as a dict",
      api_attrs);
  Py_DECREF(api_attrs);
  PyObject *sched_attrs = Py_BuildValue("{s:{},s:O,s:[]}", "reasons",
                                        "nominated_node", Py_None, "victims");
  if (!sched_attrs || !pyk_ApiError)
    goto fail;
  pyk_Unschedulable = new_exception(
      m, "libkube.Unschedulable",
      "A pod fits on no node.  The message is kube-scheduler's (\"0/5 nodes "
      "are available: 3 Insufficient cpu, ...\").\n\n"
      "reasons: {reason: number of nodes}\n"
      "nominated_node: the node preemption would free, or None\n"
      "victims: the pods (\"namespace/name\") it would evict",
      sched_attrs);
  Py_DECREF(sched_attrs);
  if (!pyk_Unschedulable)
    goto fail;
  if (PyModule_AddStringConstant(m, "__version__", LIBKUBE_PY_VERSION) < 0 ||
      pyk_helpers_init(m) < 0 || pyk_json_init(m) < 0 ||
      pyk_client_init(m) < 0 || pyk_server_init(m) < 0 ||
      pyk_scheduler_init(m) < 0 || pyk_runtime_init(m) < 0 ||
      pyk_controller_init(m) < 0)
    goto fail;
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}
