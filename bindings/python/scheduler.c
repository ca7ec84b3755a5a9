/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube.Scheduler: the pure placement library (kube_scheduler_t) fed
 * with Node and Pod dicts.  A kube_scheduler_t is single-threaded: a mutex
 * taken with the GIL released serialises the Python threads.
 */
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

typedef struct {
  PyObject_HEAD kube_scheduler_t *s;
  pthread_mutex_t mu;
} SchedulerObject;

static PyObject *sched_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  SchedulerObject *o = (SchedulerObject *)alloc(type, 0);
  if (o)
    pthread_mutex_init(&o->mu, NULL);
  return (PyObject *)o;
}

/* config as text ("strategy = LeastAllocated\n...") or a dict of the same
 * keys. */
static char *config_text(PyObject *config) {
  PyObject *h;
  if (PyUnicode_Check(config)) {
    const char *s = pyk_utf8(config, "config", &h);
    char *r = s ? strdup(s) : NULL;
    Py_XDECREF(h);
    if (s && !r)
      PyErr_NoMemory();
    return r;
  }
  if (!PyDict_Check(config)) {
    PyErr_Format(PyExc_TypeError, "config must be a str or a dict, not %s",
                 pyk_tname(config));
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(config, &pos, &key, &value)) {
    PyObject *hk, *vs = PyObject_Str(value), *hv = NULL;
    const char *k = pyk_utf8(key, "a config key", &hk);
    const char *v = k && vs ? pyk_utf8(vs, "a config value", &hv) : NULL;
    if (v)
      kube_strbuf_printf(&sb, "%s = %s\n", k, v);
    Py_XDECREF(hk);
    Py_XDECREF(hv);
    Py_XDECREF(vs);
    if (!v) {
      kube_strbuf_clear(&sb);
      return NULL;
    }
  }
  char *r = kube_strbuf_steal(&sb);
  if (!r)
    PyErr_NoMemory();
  return r;
}

static int sched_init(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"config", NULL};
  PyObject *config = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Scheduler", kwlist, &config))
    return -1;
  kube_scheduler_config_t cfg;
  kube_scheduler_config_init(&cfg);
  kube_error_t err = KUBE_ERROR_INIT;
  if (config != Py_None) {
    char *text = config_text(config);
    if (!text)
      return -1;
    int r = kube_scheduler_config_parse(&cfg, text, &err);
    free(text);
    if (r < 0) {
      PyErr_SetString(PyExc_ValueError, err.message);
      kube_error_clear(&err);
      return -1;
    }
  }
  kube_scheduler_t *s = kube_scheduler_new(&cfg, &err);
  if (!s)
    return pyk_raise_clear(&err), -1;
  SchedulerObject *o = (SchedulerObject *)self;
  Py_BEGIN_ALLOW_THREADS;
  pthread_mutex_lock(&o->mu);
  kube_scheduler_t *old = o->s;
  o->s = s;
  pthread_mutex_unlock(&o->mu);
  kube_scheduler_free(old);
  Py_END_ALLOW_THREADS;
  return 0;
}

static void sched_dealloc(PyObject *self) {
  SchedulerObject *o = (SchedulerObject *)self;
  PyTypeObject *tp = Py_TYPE(self);
  kube_scheduler_free(o->s);
  pthread_mutex_destroy(&o->mu);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static bool ready(SchedulerObject *o) {
  if (!o->s)
    PyErr_SetString(PyExc_ValueError, "the scheduler is not initialised");
  return o->s != NULL;
}

enum op { ADD_NODE, UPDATE_NODE, ADD_POD, UPDATE_POD };

/* One object operation: convert under the GIL, run under the mutex. */
static PyObject *object_op(PyObject *self, PyObject *arg, enum op op,
                           const char *what) {
  SchedulerObject *o = (SchedulerObject *)self;
  if (!ready(o))
    return NULL;
  kube_object_t *obj = pyk_object_from_dict(arg, what);
  if (!obj)
    return NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  Py_BEGIN_ALLOW_THREADS;
  pthread_mutex_lock(&o->mu);
  switch (op) { /* (PYK_LOCKED cannot hold a switch) */
  case ADD_NODE:
    r = kube_scheduler_add_node_object(o->s, obj, &err);
    break;
  case UPDATE_NODE:
    r = kube_scheduler_update_node_object(o->s, obj, &err);
    break;
  case ADD_POD:
    r = kube_scheduler_add_pod_object(o->s, obj, NULL, &err);
    break;
  default:
    r = kube_scheduler_update_pod_object(o->s, obj, NULL, &err);
    break;
  }
  pthread_mutex_unlock(&o->mu);
  kube_object_free(obj);
  Py_END_ALLOW_THREADS;
  if (r < 0)
    return pyk_raise_clear(&err);
  Py_RETURN_NONE;
}

static PyObject *sched_add_node(PyObject *self, PyObject *node) {
  return object_op(self, node, ADD_NODE, "node");
}
static PyObject *sched_update_node(PyObject *self, PyObject *node) {
  return object_op(self, node, UPDATE_NODE, "node");
}
static PyObject *sched_add_pod(PyObject *self, PyObject *pod) {
  return object_op(self, pod, ADD_POD, "pod");
}
static PyObject *sched_update_pod(PyObject *self, PyObject *pod) {
  return object_op(self, pod, UPDATE_POD, "pod");
}

static PyObject *sched_remove_node(PyObject *self, PyObject *arg) {
  SchedulerObject *o = (SchedulerObject *)self;
  if (!ready(o))
    return NULL;
  PyObject *h;
  const char *name = pyk_utf8(arg, "name", &h);
  if (!name)
    return NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  PYK_LOCKED(&o->mu, r = kube_scheduler_remove_node(o->s, name, &err));
  Py_DECREF(h);
  if (r < 0)
    return pyk_raise_clear(&err);
  Py_RETURN_NONE;
}

static PyObject *sched_remove_pod(PyObject *self, PyObject *args,
                                  PyObject *kwds) {
  static char *kwlist[] = {"name", "namespace", NULL};
  PyObject *nm, *ns = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:remove_pod", kwlist, &nm,
                                   &ns))
    return NULL;
  SchedulerObject *o = (SchedulerObject *)self;
  if (!ready(o))
    return NULL;
  PyObject *hn, *hs = NULL;
  bool failed = false;
  const char *name = pyk_utf8(nm, "name", &hn);
  const char *nss = name ? pyk_utf8_opt(ns, "namespace", &hs, &failed) : NULL;
  if (!name || failed) {
    Py_XDECREF(hn);
    return NULL;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  PYK_LOCKED(&o->mu, r = kube_scheduler_remove_pod(o->s, nss ? nss : "default",
                                                   name, &err));
  Py_DECREF(hn);
  Py_XDECREF(hs);
  if (r < 0)
    return pyk_raise_clear(&err);
  Py_RETURN_NONE;
}

/* An Unschedulable exception (not raised) for a result without a node. */
static PyObject *unschedulable(const kube_sched_result_t *r) {
  PyObject *e = PyObject_CallFunction(pyk_Unschedulable, "s",
                                      r->message ? r->message : "no node fits");
  if (!e)
    return NULL;
  PyObject *reasons = PyDict_New(), *victims = PyList_New(0), *v;
  bool ok = reasons && victims;
  for (size_t i = 0; ok && i < r->n_reasons; i++) {
    v = PyLong_FromUnsignedLong(r->reasons[i].count);
    ok = v && PyDict_SetItemString(reasons, r->reasons[i].reason, v) == 0;
    Py_XDECREF(v);
  }
  for (size_t i = 0; ok && i < r->n_victims; i++) {
    v = PyUnicode_FromString(r->victims[i]);
    ok = v && PyList_Append(victims, v) == 0;
    Py_XDECREF(v);
  }
  PyObject *nominated = NULL;
  if (ok && r->nominated_node)
    ok = (nominated = PyUnicode_FromString(r->nominated_node)) != NULL;
  ok = ok && PyObject_SetAttrString(e, "reasons", reasons) == 0 &&
       PyObject_SetAttrString(e, "victims", victims) == 0 &&
       PyObject_SetAttrString(e, "nominated_node",
                              nominated ? nominated : Py_None) == 0;
  Py_XDECREF(reasons);
  Py_XDECREF(victims);
  Py_XDECREF(nominated);
  if (!ok)
    Py_CLEAR(e);
  return e;
}

static PyObject *sched_schedule(PyObject *self, PyObject *pod) {
  SchedulerObject *o = (SchedulerObject *)self;
  if (!ready(o))
    return NULL;
  kube_object_t *obj = pyk_object_from_dict(pod, "pod");
  if (!obj)
    return NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t res;
  int r;
  PYK_LOCKED(&o->mu, r = kube_scheduler_schedule_object(o->s, obj, &res, &err));
  kube_object_free(obj);
  if (r < 0)
    return pyk_raise_clear(&err);
  PyObject *ret = NULL;
  if (res.node) {
    ret = PyUnicode_FromString(res.node);
  } else {
    PyObject *e = unschedulable(&res);
    if (e) {
      PyErr_SetObject(pyk_Unschedulable, e);
      Py_DECREF(e);
    }
  }
  kube_sched_result_clear(&res);
  return ret;
}

static PyObject *sched_schedule_batch(PyObject *self, PyObject *args,
                                      PyObject *kwds) {
  static char *kwlist[] = {"pods", "dry_run", "arrival_order", NULL};
  PyObject *pods;
  int dry_run = 0, arrival = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$pp:schedule_batch", kwlist,
                                   &pods, &dry_run, &arrival))
    return NULL;
  SchedulerObject *o = (SchedulerObject *)self;
  if (!ready(o))
    return NULL;
  PyObject *fast = PySequence_Fast(pods, "pods must be a sequence of dicts");
  if (!fast)
    return NULL;
  Py_ssize_t n = PySequence_Size(fast);
  kube_object_t **objs = calloc((size_t)n + 1, sizeof *objs);
  kube_sched_result_t *res = calloc((size_t)n + 1, sizeof *res);
  PyObject *list = NULL;
  Py_ssize_t made = 0;
  if (!objs || !res) {
    PyErr_NoMemory();
    goto out;
  }
  for (; made < n; made++) {
    PyObject *item = PySequence_GetItem(fast, made);
    objs[made] = item ? pyk_object_from_dict(item, "pod") : NULL;
    Py_XDECREF(item);
    if (!objs[made])
      goto out;
  }
  unsigned flags = (dry_run ? KUBE_SCHED_BATCH_DRY_RUN : 0) |
                   (arrival ? KUBE_SCHED_BATCH_ARRIVAL_ORDER : 0);
  kube_error_t err = KUBE_ERROR_INIT;
  int64_t r;
  PYK_LOCKED(&o->mu, r = kube_scheduler_schedule_objects(
                         o->s, (const kube_object_t *const *)objs, (size_t)n,
                         flags, res, &err));
  if (r < 0) {
    pyk_raise_clear(&err);
    goto out;
  }
  list = PyList_New(n);
  for (Py_ssize_t i = 0; list && i < n; i++) {
    PyObject *v = res[i].node ? PyUnicode_FromString(res[i].node)
                              : unschedulable(&res[i]);
    if (!v)
      Py_CLEAR(list);
    else
      PyList_SetItem(list, i, v);
  }
  for (Py_ssize_t i = 0; i < n; i++)
    kube_sched_result_clear(&res[i]);
out:
  for (Py_ssize_t i = 0; objs && i < made; i++)
    kube_object_free(objs[i]);
  free(objs);
  free(res);
  Py_DECREF(fast);
  return list;
}

static PyObject *count(PyObject *self, bool pods) {
  SchedulerObject *o = (SchedulerObject *)self;
  if (!ready(o))
    return NULL;
  size_t n;
  PYK_LOCKED(&o->mu, n = pods ? kube_scheduler_pod_count(o->s)
                              : kube_scheduler_node_count(o->s));
  return PyLong_FromSize_t(n);
}

static PyObject *sched_node_count(PyObject *self, void *c) {
  return count(self, false);
}
static PyObject *sched_pod_count(PyObject *self, void *c) {
  return count(self, true);
}

static PyMethodDef sched_methods[] = {
    {"add_node", sched_add_node, METH_O,
     "add_node(node: dict) -> None\n\n"
     "Add a Node object (status.allocatable, labels, spec.taints, "
     "spec.unschedulable, status.images).  ValueError when the name is "
     "taken or the node is malformed."},
    {"update_node", sched_update_node, METH_O,
     "update_node(node: dict) -> None\n\n"
     "Replace a node's attributes, keeping its pods.  KeyError when "
     "unknown."},
    {"remove_node", sched_remove_node, METH_O,
     "remove_node(name: str) -> None\n\n"
     "Forget a node and its pods.  KeyError when unknown."},
    {"add_pod", sched_add_pod, METH_O,
     "add_pod(pod: dict) -> None\n\n"
     "Account a pod already placed on spec.nodeName.  ValueError without "
     "spec.nodeName or when already accounted; KeyError for an unknown "
     "node."},
    {"update_pod", sched_update_pod, METH_O,
     "update_pod(pod: dict) -> None\n\n"
     "Replace a placed pod's accounting (or add it)."},
    {"remove_pod", (PyCFunction)(void (*)(void))sched_remove_pod,
     METH_VARARGS | METH_KEYWORDS,
     "remove_pod(name: str, namespace: str = \"default\") -> None\n\n"
     "Forget a placed pod.  KeyError when unknown."},
    {"schedule", sched_schedule, METH_O,
     "schedule(pod: dict) -> str\n\n"
     "The node the pod goes to (the scheduler is not changed: add_pod the "
     "pod to account it).  Raises Unschedulable with kube-scheduler's "
     "message when no node fits."},
    {"schedule_batch", (PyCFunction)(void (*)(void))sched_schedule_batch,
     METH_VARARGS | METH_KEYWORDS,
     "schedule_batch(pods, *, dry_run=False, arrival_order=False) -> "
     "list[str | Unschedulable]\n\n"
     "Place many pending pods (priority, then size, unless arrival_order); "
     "each placed pod is accounted before the next (dry_run: undone "
     "afterwards).  One entry per pod, in input order: the node name, or an "
     "Unschedulable instance (not raised)."},
    {NULL}};

static PyGetSetDef sched_getset[] = {
    {"node_count", sched_node_count, NULL, "Number of nodes.", NULL},
    {"pod_count", sched_pod_count, NULL, "Number of placed pods.", NULL},
    {NULL}};

static PyType_Slot sched_slots[] = {
    {Py_tp_new, sched_new},
    {Py_tp_init, sched_init},
    {Py_tp_dealloc, sched_dealloc},
    {Py_tp_methods, sched_methods},
    {Py_tp_getset, sched_getset},
    {Py_tp_doc,
     "Scheduler(config=None)\n\n"
     "kube-scheduler's placement (filters, scores, affinity, taints, "
     "topology, preemption nomination) over nodes and pods you add: no API "
     "server involved.  config: the scheduler's settings as text or a dict "
     "(\"strategy\": \"MostAllocated\"|\"LeastAllocated\"|"
     "\"RequestedToCapacityRatio\", \"percentageOfNodesToScore\", "
     "\"seed\", \"score.<Plugin>\", \"filter.<Plugin>\", ...)."},
    {0, NULL}};

static PyType_Spec sched_spec = {"libkube.Scheduler", sizeof(SchedulerObject),
                                 0, Py_TPFLAGS_DEFAULT, sched_slots};

int pyk_scheduler_init(PyObject *module) {
  return pyk_add_type(module, &sched_spec, NULL) ? 0 : -1;
}
