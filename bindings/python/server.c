/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube.Server: a kube_server_t on a thread of its own.
 *
 * The thread runs kube_server_run(); after the shutdown sequence it keeps
 * running the loop (the API server then answers 503) until every call
 * that passed the gate returned, because a call handed to a loop that no
 * longer runs would never be answered.  close() therefore: closes the gate
 * to new calls, asks the server to stop (watches end, requests drain),
 * waits for the calls in flight, then lets the loop thread finish and
 * frees the server.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pykube.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Shared by the Python object and the loop thread. */
struct running {
  kube_server_t *srv;
  kube_loop_t *loop;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool serving;     /* the loop runs (set once) */
  bool after_run;   /* kube_server_run returned: the second phase */
  bool quit_asked;  /* close() is done with the gate */
  kube_error_t err; /* kube_server_run's */
};

typedef struct {
  PyObject_HEAD struct running *run;
  pyk_gate_t *gate;
  char *tmpdir; /* a data directory we made, removed by close() */
  PyObject *kubeconfig, *url, *data_dir;
} ServerObject;

static void *loop_thread(void *arg) {
  struct running *r = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_server_run(r->srv, &err);
  /* Calls may still be on their way to the loop: keep running it until
   * close() says the gate is empty (the quit invoke below). */
  pthread_mutex_lock(&r->mu);
  r->after_run = true;
  bool quit = r->quit_asked;
  if (rc < 0)
    kube_error_move(&r->err, &err);
  pthread_mutex_unlock(&r->mu);
  if (!quit)
    kube_loop_run(r->loop, NULL);
  return NULL;
}

/* Invoked on the loop by close(): the gate is empty. */
static void quit_on_loop(void *arg) {
  struct running *r = arg;
  pthread_mutex_lock(&r->mu);
  r->quit_asked = true;
  bool second_phase = r->after_run;
  pthread_mutex_unlock(&r->mu);
  /* In the first phase quitting would cut the shutdown sequence short;
   * the thread sees quit_asked when kube_server_run returns. */
  if (second_phase)
    kube_loop_quit(r->loop);
}

static void mark_serving(void *arg) {
  struct running *r = arg;
  pthread_mutex_lock(&r->mu);
  r->serving = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  remove(path);
  return 0;
}

/* Stop everything (GIL released by the caller).  `r` and `tmpdir` (each
 * may be NULL) were taken from the object under the GIL, so two threads
 * closing at once cannot both get them. */
static void server_shutdown(struct running *r, pyk_gate_t *gate, char *tmpdir) {
  if (r) {
    /* New calls fail from now on; then the server drains (watches end,
     * requests are answered); then the calls in flight have returned. */
    pthread_mutex_lock(&gate->mu);
    gate->closed = true;
    pthread_mutex_unlock(&gate->mu);
    kube_server_stop(r->srv);
    pyk_gate_close_and_wait(gate);
    kube_loop_invoke(r->loop, quit_on_loop, r, NULL);
    pthread_join(r->thread, NULL);
    kube_server_free(r->srv);
    kube_error_clear(&r->err);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
  }
  if (tmpdir) {
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmpdir);
  }
}

/* close() and dealloc: take what is running under the GIL, stop it
 * without. */
static void server_stop(ServerObject *o) {
  struct running *r = o->run;
  char *tmpdir = o->tmpdir;
  o->run = NULL;
  o->tmpdir = NULL;
  if (!r && !tmpdir)
    return;
  Py_BEGIN_ALLOW_THREADS;
  server_shutdown(r, o->gate, tmpdir);
  Py_END_ALLOW_THREADS;
}

/* ---- construction ---- */

static PyObject *server_new(PyTypeObject *type, PyObject *args,
                            PyObject *kwds) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  return alloc(type, 0);
}

/* listen=(): a sequence of str, as a NULL-terminated array borrowing from
 * `holds` (a list). */
static const char **listen_specs(PyObject *seq, PyObject *holds, bool *tcp) {
  PyObject *fast = PySequence_Fast(seq, "listen must be a sequence of str");
  if (!fast)
    return NULL;
  Py_ssize_t n = PySequence_Size(fast);
  const char **specs = calloc((size_t)n + 1, sizeof *specs);
  if (!specs) {
    Py_DECREF(fast);
    PyErr_NoMemory();
    return NULL;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *item = PySequence_GetItem(fast, i), *h;
    const char *s = item ? pyk_utf8(item, "a listen spec", &h) : NULL;
    Py_XDECREF(item);
    if (!s || PyList_Append(holds, h) < 0) {
      if (s)
        Py_DECREF(h);
      free(specs);
      Py_DECREF(fast);
      return NULL;
    }
    Py_DECREF(h);
    if (strncmp(s, "tcp:", 4) != 0 && strncmp(s, "unix:", 5) != 0) {
      PyErr_Format(PyExc_ValueError,
                   "listen spec \"%s\" must be \"tcp:ADDR:PORT\" or "
                   "\"unix:PATH\"",
                   s);
      free(specs);
      Py_DECREF(fast);
      return NULL;
    }
    if (strncmp(s, "tcp:", 4) == 0)
      *tcp = true;
    specs[i] = s;
  }
  Py_DECREF(fast);
  return specs;
}

static PyObject *str_or_none(const char *s) {
  if (!s)
    Py_RETURN_NONE;
  return PyUnicode_FromString(s);
}

/* node=: False/None (no node agent), True (one with kubed's defaults) or
 * a dict of kube_node_agent_options_t fields by name, plus
 * "kubelet_listen" (kube_server_options_t's node_kubelet_listen, into
 * *kubelet_listen).  1 with *o filled (strings borrowed from objects kept
 * in `holds`), 0 for no node, -1 with an exception. */
static int node_options(PyObject *node, kube_node_agent_options_t *o,
                        const char **kubelet_listen, PyObject *holds) {
  static const struct {
    const char *key;
    size_t off;
  } strs[] = {
#define NODE_STR(f) {#f, offsetof(kube_node_agent_options_t, f)}
      NODE_STR(node_name),    NODE_STR(node_ip),        NODE_STR(cgroup_parent),
      NODE_STR(runtime_root), NODE_STR(pod_cidr),       NODE_STR(cni_bridge),
      NODE_STR(cni_conf_dir), NODE_STR(cni_bin_dir),    NODE_STR(service_cidr),
      NODE_STR(cluster_dns),  NODE_STR(cluster_domain), NODE_STR(resolv_conf),
#undef NODE_STR
  };
  if (node == Py_None || node == Py_False)
    return 0;
  if (node == Py_True)
    return 1;
  if (!PyDict_Check(node)) {
    PyErr_Format(PyExc_TypeError,
                 "node must be a bool or a dict of node options, not %s",
                 pyk_tname(node));
    return -1;
  }
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(node, &pos, &key, &value)) {
    PyObject *hk = NULL, *hv = NULL;
    const char *k = pyk_utf8(key, "a node option name", &hk);
    int rc = k ? PyList_Append(holds, hk) : -1;
    Py_XDECREF(hk);
    if (rc < 0)
      return -1;
    if (!strcmp(k, "max_pods")) {
      long n = PyLong_Check(value) ? PyLong_AsLong(value) : -1;
      if (n <= 0 || n > 100000) {
        if (!PyErr_Occurred())
          PyErr_SetString(PyExc_ValueError,
                          "node max_pods must be an int in 1..100000");
        return -1;
      }
      o->max_pods = (int)n;
      continue;
    }
    if (!strcmp(k, "kubelet_listen")) {
      const char *v = pyk_utf8(value, "node kubelet_listen", &hv);
      rc = v ? PyList_Append(holds, hv) : -1;
      Py_XDECREF(hv);
      if (rc < 0)
        return -1;
      /* "ADDR:PORT" (kubed's --kubelet-listen); the server checks the
       * port number and says what is wrong with it. */
      const char *colon = strrchr(v, ':');
      if (!colon || colon == v || !colon[1]) {
        PyErr_Format(PyExc_ValueError,
                     "node kubelet_listen \"%s\" must be \"ADDR:PORT\"", v);
        return -1;
      }
      *kubelet_listen = v;
      continue;
    }
    size_t i = 0;
    while (i < ARRAY_SIZE(strs) && strcmp(strs[i].key, k))
      i++;
    if (i == ARRAY_SIZE(strs)) {
      PyErr_Format(PyExc_ValueError,
                   "unknown node option \"%s\" (node_name, node_ip, "
                   "pod_cidr, cni_bridge, cgroup_parent, runtime_root, "
                   "cni_conf_dir, cni_bin_dir, service_cidr, cluster_dns, "
                   "cluster_domain, resolv_conf, max_pods, kubelet_listen)",
                   k);
      return -1;
    }
    const char *v = pyk_utf8(value, strs[i].key, &hv);
    rc = v ? PyList_Append(holds, hv) : -1;
    Py_XDECREF(hv);
    if (rc < 0)
      return -1;
    *(const char **)((char *)o + strs[i].off) = v;
  }
  return 1;
}

static int server_init(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"data_dir", "store",     "etcd_endpoints", "listen",
                           "node",     "scheduler", "controllers",    NULL};
  PyObject *data_dir = Py_None, *store = NULL, *etcd = Py_None, *listen = NULL;
  PyObject *node = Py_False;
  int scheduler = 1, controllers = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOOOOpp:Server", kwlist,
                                   &data_dir, &store, &etcd, &listen, &node,
                                   &scheduler, &controllers))
    return -1;
  ServerObject *o = (ServerObject *)self;
  if (o->run) {
    PyErr_SetString(PyExc_RuntimeError, "the server is already running");
    return -1;
  }
  PyObject *holds = PyList_New(0), *h = NULL;
  if (!holds)
    return -1;
  int ret = -1;
  const char **specs = NULL;
  bool tcp = false, failed = false;
  kube_node_agent_options_t nopts = {.struct_size = sizeof nopts};
  const char *kubelet_listen = NULL;
  int want_node = node_options(node, &nopts, &kubelet_listen, holds);
  if (want_node < 0)
    goto out;
  if (data_dir != Py_None && PyObject_HasAttrString(data_dir, "__fspath__")) {
    PyObject *p = PyOS_FSPath(data_dir);
    if (!p || PyList_Append(holds, p) < 0) {
      Py_XDECREF(p);
      goto out;
    }
    Py_DECREF(p);
    data_dir = p;
  }
  const char *dir = pyk_utf8_opt(data_dir, "data_dir", &h, &failed);
  if (h && PyList_Append(holds, h) < 0)
    failed = true;
  Py_CLEAR(h);
  const char *store_s =
      store ? pyk_utf8_opt(store, "store", &h, &failed) : "memory";
  if (h && PyList_Append(holds, h) < 0)
    failed = true;
  Py_CLEAR(h);
  const char *etcd_s = pyk_utf8_opt(etcd, "etcd_endpoints", &h, &failed);
  if (h && PyList_Append(holds, h) < 0)
    failed = true;
  Py_CLEAR(h);
  if (failed)
    goto out;
  if (!store_s)
    store_s = "memory";
  if (strcmp(store_s, "memory") != 0 && strcmp(store_s, "sqlite") != 0 &&
      strcmp(store_s, "etcd") != 0) {
    PyErr_Format(PyExc_ValueError,
                 "store must be \"memory\", \"sqlite\" or \"etcd\", not \"%s\"",
                 store_s);
    goto out;
  }
  if (strcmp(store_s, "etcd") == 0 && !etcd_s) {
    PyErr_SetString(PyExc_ValueError, "store=\"etcd\" needs etcd_endpoints "
                                      "(\"http://127.0.0.1:2379,...\")");
    goto out;
  }
  static const char *const none[] = {NULL};
  if (listen && listen != Py_None) {
    if (PyUnicode_Check(listen)) {
      PyErr_SetString(PyExc_TypeError,
                      "listen must be a sequence of str, not a str");
      goto out;
    }
    if (!(specs = listen_specs(listen, holds, &tcp)))
      goto out;
  }
  /* A data directory is needed for sqlite and for a TCP listener
   * (certificate, token, kubeconfig): make a private one. */
  if (!dir && (tcp || want_node || strcmp(store_s, "sqlite") == 0)) {
    char tmpl[] = "/tmp/libkube-py-XXXXXX";
    if (!mkdtemp(tmpl)) {
      PyErr_SetFromErrno(PyExc_OSError);
      goto out;
    }
    if (!(o->tmpdir = strdup(tmpl))) {
      rmdir(tmpl);
      PyErr_NoMemory();
      goto out;
    }
    dir = o->tmpdir;
  }
  kube_server_options_t opts = {
      .struct_size = sizeof opts,
      .data_dir = dir,
      .listen = specs ? specs : none,
      .store = store_s,
      .etcd_endpoints = etcd_s,
      .no_scheduler = !scheduler,
      .no_controllers = !controllers,
      .node = want_node ? &nopts : NULL,
      .node_kubelet_listen = kubelet_listen,
  };
  struct running *r = calloc(1, sizeof *r);
  pyk_gate_t *gate = r ? pyk_gate_new() : NULL;
  if (!gate) {
    free(r);
    PyErr_NoMemory();
    goto out;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  bool started = false;
  Py_BEGIN_ALLOW_THREADS;
  r->srv = kube_server_new(&opts, &err);
  if (r->srv && kube_server_start(r->srv, &err) == 0) {
    r->loop = kube_server_loop(r->srv);
    kube_loop_invoke(r->loop, mark_serving, r, NULL);
    if (pthread_create(&r->thread, NULL, loop_thread, r) == 0) {
      started = true;
      pthread_mutex_lock(&r->mu);
      while (!r->serving)
        pthread_cond_wait(&r->cv, &r->mu);
      pthread_mutex_unlock(&r->mu);
    } else {
      kube_error_set(&err, KUBE_REASON_INTERNAL, errno,
                     "cannot start the server's thread");
    }
  }
  if (!started)
    kube_server_free(r->srv);
  Py_END_ALLOW_THREADS;
  if (!started) {
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    pyk_gate_unref(gate);
    if (err.reason == KUBE_REASON_BAD_REQUEST)
      PyErr_SetString(PyExc_ValueError, err.message);
    else
      pyk_raise(&err);
    kube_error_clear(&err);
    goto out;
  }
  o->run = r;
  o->gate = gate;
  o->kubeconfig = str_or_none(kube_server_kubeconfig(r->srv));
  o->url = str_or_none(kube_server_url(r->srv));
  o->data_dir = str_or_none(kube_server_data_dir(r->srv));
  if (!o->kubeconfig || !o->url || !o->data_dir)
    goto out;
  ret = 0;
out:
  if (ret < 0 && !o->run && o->tmpdir) {
    server_shutdown(NULL, NULL, o->tmpdir);
    o->tmpdir = NULL;
  }
  free(specs);
  Py_DECREF(holds);
  return ret;
}

static void server_dealloc(PyObject *self) {
  ServerObject *o = (ServerObject *)self;
  PyTypeObject *tp = Py_TYPE(self);
  server_stop(o);
  pyk_gate_unref(o->gate);
  Py_XDECREF(o->kubeconfig);
  Py_XDECREF(o->url);
  Py_XDECREF(o->data_dir);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

/* ---- methods ---- */

static PyObject *server_close(PyObject *self, PyObject *unused) {
  server_stop((ServerObject *)self);
  Py_RETURN_NONE;
}

static PyObject *server_client(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"namespace", "timeout", NULL};
  PyObject *ns = Py_None, *timeout = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O$O:client", kwlist, &ns,
                                   &timeout))
    return NULL;
  ServerObject *o = (ServerObject *)self;
  if (!o->run) {
    PyErr_SetString(PyExc_ConnectionError,
                    "the server is not running (closed, or not initialised)");
    return NULL;
  }
  PyObject *h;
  bool failed = false;
  const char *nss = pyk_utf8_opt(ns, "namespace", &h, &failed);
  if (failed)
    return NULL;
  kube_client_options_t opts = {.struct_size = sizeof opts, .namespace_ = nss};
  if (timeout != Py_None) {
    double t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred()) {
      Py_XDECREF(h);
      return NULL;
    }
    if (!(t > 0) || t > 86400.0 * 365) {
      Py_XDECREF(h);
      PyErr_SetString(PyExc_ValueError, "timeout must be > 0 seconds");
      return NULL;
    }
    opts.timeout_ms = (int)(t * 1000.0 + 0.5);
  }
  kube_transport_t tp;
  kube_server_transport(o->run->srv, &tp);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kube_client_new_transport(o->run->loop, &tp, &opts, &err);
  Py_XDECREF(h);
  if (!c) {
    pyk_raise(&err);
    kube_error_clear(&err);
    return NULL;
  }
  pyk_conn_t *k = pyk_conn_new(c, false, o->gate);
  if (!k)
    return PyErr_NoMemory();
  k->loop = o->run->loop;
  k->tp = tp;
  return pyk_client_wrap(k, self);
}

static PyObject *server_enter(PyObject *self, PyObject *unused) {
  Py_INCREF(self);
  return self;
}

static PyObject *server_exit(PyObject *self, PyObject *args) {
  PyObject *r = server_close(self, NULL);
  if (!r)
    return NULL;
  Py_DECREF(r);
  Py_RETURN_FALSE;
}

static PyObject *server_kubeconfig(PyObject *self, void *closure) {
  PyObject *v = ((ServerObject *)self)->kubeconfig;
  v = v ? v : Py_None;
  Py_INCREF(v);
  return v;
}

static PyObject *server_url(PyObject *self, void *closure) {
  PyObject *v = ((ServerObject *)self)->url;
  v = v ? v : Py_None;
  Py_INCREF(v);
  return v;
}

static PyObject *server_data_dir(PyObject *self, void *closure) {
  PyObject *v = ((ServerObject *)self)->data_dir;
  v = v ? v : Py_None;
  Py_INCREF(v);
  return v;
}

static PyObject *server_running(PyObject *self, void *closure) {
  return PyBool_FromLong(((ServerObject *)self)->run != NULL);
}

static PyMethodDef server_methods[] = {
    {"client", (PyCFunction)(void (*)(void))server_client,
     METH_VARARGS | METH_KEYWORDS,
     "client(namespace=None, *, timeout=None) -> Client\n\n"
     "A Client that reaches this server in-process (no socket, no TLS): "
     "each request is handed to the server's loop and the calling thread "
     "waits for the answer with the GIL released."},
    {"close", server_close, METH_NOARGS,
     "close() -> None\n\n"
     "Shut down: new calls fail with ConnectionError, watches end, "
     "requests in flight are answered, then the loop thread stops and "
     "everything is freed (a data directory the server made is removed). "
     "Idempotent; also what leaving a `with` block does."},
    {"__enter__", server_enter, METH_NOARGS, NULL},
    {"__exit__", server_exit, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef server_getset[] = {
    {"kubeconfig", server_kubeconfig, NULL,
     "Path of the kubeconfig for the TCP listener (kubectl, the official "
     "Python client, libkube.Client), or None without one.",
     NULL},
    {"url", server_url, NULL,
     "URL of the first TCP listener (\"https://127.0.0.1:PORT\"), or None.",
     NULL},
    {"data_dir", server_data_dir, NULL,
     "The state directory (None for a memory store without listeners).", NULL},
    {"running", server_running, NULL, "False once close() ran.", NULL},
    {NULL}};

static PyType_Slot server_slots[] = {
    {Py_tp_new, server_new},
    {Py_tp_init, server_init},
    {Py_tp_dealloc, server_dealloc},
    {Py_tp_methods, server_methods},
    {Py_tp_getset, server_getset},
    {Py_tp_doc,
     "Server(data_dir=None, store=\"memory\", etcd_endpoints=None, "
     "listen=(), node=False, scheduler=True, controllers=True)\n\n"
     "A whole control plane (store, API server, scheduler, controllers) "
     "running on a "
     "thread of its own in this process, from construction until close(). "
     "A context manager.\n\n"
     "store: \"memory\", \"sqlite\" (durable, in data_dir) or \"etcd\" "
     "(etcd_endpoints \"http://127.0.0.1:2379,...\").  listen: listener "
     "specs (\"tcp:127.0.0.1:0\", \"unix:/path.sock\"); none by default: "
     "Server.client() needs no socket.  data_dir None: a private temporary "
     "directory when one is needed (sqlite, a TCP listener, a node), "
     "removed by close().  node=True runs a node agent in the process "
     "(needs root; kubed's defaults: Node name = host name), or a dict of "
     "its options: node_name, node_ip, pod_cidr, cni_bridge, "
     "cgroup_parent, runtime_root, cni_conf_dir, cni_bin_dir, "
     "service_cidr, cluster_dns, cluster_domain, resolv_conf, max_pods, "
     "and kubelet_listen: \"ADDR:PORT\" of the node's HTTPS kubelet port "
     "(kubed's --kubelet-listen; needs a TCP listener for the cluster "
     "CA): a serving certificate from the cluster CA, client certificates "
     "of that CA required, the port in the Node's "
     "daemonEndpoints.kubeletEndpoint.Port, so API servers of other "
     "processes (kubectl logs/exec/port-forward through them) reach the "
     "node's pods over it.  "
     "controllers: the built-in controllers (ReplicaSet, Deployment, "
     "garbage collector, endpoints, ...); scheduler: the scheduler."},
    {0, NULL}};

static PyType_Spec server_spec = {"libkube.Server", sizeof(ServerObject), 0,
                                  Py_TPFLAGS_DEFAULT, server_slots};

int pyk_server_init(PyObject *module) {
  return pyk_add_type(module, &server_spec, NULL) ? 0 : -1;
}
