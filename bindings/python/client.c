/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube.Client: the synchronous REST client, over a kubeconfig's server
 * (HTTPS, HTTP or a unix socket) or over a Server's in-process transport.
 * Requests go through kube_client_request as JSON text written from the
 * dicts in C, answers come back through the same bridge (json.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

/* ---- the C side, shared with watch threads ---- */

pyk_conn_t *pyk_conn_new(kube_client_t *c, bool serialize, pyk_gate_t *gate) {
  pyk_conn_t *k = calloc(1, sizeof *k);
  if (!k) {
    kube_client_free(c);
    return NULL;
  }
  pthread_mutex_init(&k->mu, NULL);
  k->refs = 1;
  k->c = c;
  k->serialize = serialize;
  if ((k->gate = gate))
    pyk_gate_ref(gate);
  return k;
}

void pyk_conn_ref(pyk_conn_t *k) {
  __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
}

void pyk_conn_unref(pyk_conn_t *k) {
  if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  kube_client_free(k->c);
  pyk_gate_unref(k->gate);
  free(k->kubeconfig);
  free(k->context);
  pthread_mutex_destroy(&k->mu);
  free(k);
}

/* The outcome of one request, filled without the GIL. */
struct outcome {
  int rc;      /* kube_client_request's */
  bool closed; /* the in-process server is stopped */
  kube_client_response_t resp;
  kube_error_t err;
};

static void conn_request(pyk_conn_t *k, const kube_client_request_t *req,
                         struct outcome *o) {
  memset(o, 0, sizeof *o);
  if (k->gate && pyk_gate_enter(k->gate) < 0) {
    o->closed = true;
    return;
  }
  if (k->serialize)
    pthread_mutex_lock(&k->mu);
  o->rc = kube_client_request(k->c, req, &o->resp, &o->err);
  if (k->serialize)
    pthread_mutex_unlock(&k->mu);
  if (k->gate)
    pyk_gate_leave(k->gate);
}

static PyObject *raise_closed(void) {
  PyErr_SetString(PyExc_ConnectionError,
                  "the in-process server is stopped (Server.close() ran)");
  return NULL;
}

/* Send and turn the answer into a Python value (json.loads of a 2xx body,
 * None for an empty one) or an exception. */
static PyObject *request(pyk_conn_t *k, const char *method, const char *path,
                         const char *query, const char *content_type,
                         const char *body, size_t body_len) {
  kube_client_request_t req = {
      .struct_size = sizeof req,
      .method = method,
      .path = path,
      .query = query && *query ? query : NULL,
      .content_type = body ? content_type : NULL,
      .body = body,
      .body_len = body_len,
  };
  struct outcome o;
  Py_BEGIN_ALLOW_THREADS;
  conn_request(k, &req, &o);
  Py_END_ALLOW_THREADS;
  PyObject *r = NULL;
  if (o.closed) {
    r = raise_closed();
  } else if (o.rc < 0) {
    r = pyk_raise(&o.err);
  } else if (o.resp.status < 200 || o.resp.status >= 300) {
    kube_client_check(&o.resp, &o.err);
    r = pyk_raise_api(o.resp.status, o.resp.body, o.resp.body_len, &o.err);
  } else if (o.resp.body_len == 0) {
    r = Py_None;
    Py_INCREF(r);
  } else {
    r = pyk_from_json(o.resp.body, o.resp.body_len);
  }
  kube_client_response_clear(&o.resp);
  kube_error_clear(&o.err);
  return r;
}

/* ---- arguments ---- */

/* Strings of one call, released together. */
struct args {
  PyObject *holds[12];
  size_t n;
  bool failed;
};

static void args_clear(struct args *a) {
  for (size_t i = 0; i < a->n; i++)
    Py_XDECREF(a->holds[i]);
  a->n = 0;
}

/* The functions below do nothing once an argument failed: one call after
 * the other, then one check of a->failed. */
static const char *arg_str(struct args *a, PyObject *o, const char *what) {
  PyObject *h;
  if (a->failed)
    return NULL;
  if (a->n == sizeof a->holds / sizeof a->holds[0]) {
    PyErr_SetString(PyExc_SystemError, "too many string arguments");
    a->failed = true;
    return NULL;
  }
  const char *s = pyk_utf8(o, what, &h);
  if (!s)
    a->failed = true;
  else
    a->holds[a->n++] = h;
  return s;
}

static const char *arg_opt(struct args *a, PyObject *o, const char *what) {
  if (!o || o == Py_None)
    return NULL;
  return arg_str(a, o, what);
}

/* A dict's string item (borrowed through a hold), NULL when absent. */
static const char *dict_str(struct args *a, PyObject *d, const char *key,
                            const char *what) {
  PyObject *v = d && PyDict_Check(d) ? PyDict_GetItemString(d, key) : NULL;
  return v ? arg_opt(a, v, what) : NULL;
}

static const kube_kind_t *resolve_kind(const char *api_version,
                                       const char *kind) {
  const kube_kind_t *k = kube_kind_by_kind(api_version, kind);
  if (!k)
    PyErr_Format(PyExc_ValueError,
                 "no matches for kind \"%s\" in version \"%s\"", kind,
                 api_version);
  return k;
}

/* api_version and kind: the kinds table entry. */
static const kube_kind_t *arg_kind(struct args *a, PyObject *av, PyObject *kd) {
  const char *api_version = arg_str(a, av, "api_version");
  const char *kind = arg_str(a, kd, "kind");
  const kube_kind_t *k = a->failed ? NULL : resolve_kind(api_version, kind);
  if (!k)
    a->failed = true;
  return k;
}

/* An object name: a str, not empty. */
static const char *arg_name(struct args *a, PyObject *o) {
  const char *name = arg_str(a, o, "name");
  if (name && !*name) {
    PyErr_SetString(PyExc_ValueError, "name must not be empty");
    a->failed = true;
  }
  return a->failed ? NULL : name;
}

/* An optional integer >= min (None: *out untouched). */
static void arg_int(struct args *a, PyObject *o, const char *what,
                    long long min, long long *out) {
  if (a->failed || o == Py_None)
    return;
  long long v = PyLong_AsLongLong(o);
  if (v == -1 && PyErr_Occurred()) {
    a->failed = true;
  } else if (v < min) {
    PyErr_Format(PyExc_ValueError, "%s must be >= %lld", what, min);
    a->failed = true;
  } else {
    *out = v;
  }
}

static void query_add(kube_strbuf_t *q, const char *key, const char *value) {
  if (!value)
    return;
  char *esc = kube_client_query_escape(value);
  if (!esc) {
    q->oom = true;
    return;
  }
  kube_strbuf_printf(q, "%s%s=%s", q->len ? "&" : "", key, esc);
  free(esc);
}

/* dryRun and fieldManager. */
static void query_write(kube_strbuf_t *q, int dry_run,
                        const char *field_manager) {
  if (dry_run)
    query_add(q, "dryRun", "All");
  query_add(q, "fieldManager", field_manager);
}

static char *steal_query(kube_strbuf_t *q) {
  kube_strbuf_append(q, "");
  char *s = kube_strbuf_steal(q);
  if (!s)
    PyErr_NoMemory();
  return s;
}

/* ---- the Client type ---- */

typedef struct {
  PyObject_HEAD pyk_conn_t *conn;
  PyObject *owner; /* the Server of an in-process client */
} ClientObject;

static PyTypeObject *client_type;

pyk_conn_t *pyk_client_conn(PyObject *client) {
  if (!PyObject_TypeCheck(client, client_type)) {
    PyErr_Format(PyExc_TypeError, "client must be a libkube.Client, not %s",
                 pyk_tname(client));
    return NULL;
  }
  pyk_conn_t *k = ((ClientObject *)client)->conn;
  if (!k)
    PyErr_SetString(PyExc_ValueError, "the client is not initialised");
  return k;
}

PyObject *pyk_client_wrap(pyk_conn_t *conn, PyObject *owner) {
  ClientObject *o = PyObject_New(ClientObject, client_type);
  if (!o) {
    pyk_conn_unref(conn);
    return NULL;
  }
  o->conn = conn;
  o->owner = owner;
  Py_XINCREF(owner);
  return (PyObject *)o;
}

static PyObject *client_new(PyTypeObject *type, PyObject *args,
                            PyObject *kwds) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  return alloc(type, 0);
}

static int client_init(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"kubeconfig", "context", "timeout", NULL};
  PyObject *kubeconfig = Py_None, *context = Py_None, *timeout = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO$O:Client", kwlist,
                                   &kubeconfig, &context, &timeout))
    return -1;
  struct args a = {0};
  if (kubeconfig != Py_None &&
      PyObject_HasAttrString(kubeconfig, "__fspath__")) {
    PyObject *p = PyOS_FSPath(kubeconfig);
    if (!p)
      return -1;
    a.holds[a.n++] = p;
    kubeconfig = p;
  }
  kube_client_options_t opts = {
      .struct_size = sizeof opts,
      .kubeconfig = arg_opt(&a, kubeconfig, "kubeconfig"),
      .context = arg_opt(&a, context, "context"),
  };
  if (!a.failed && timeout != Py_None) {
    double t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred()) {
      a.failed = true;
    } else if (!(t > 0) || t > 86400.0 * 365) {
      PyErr_SetString(PyExc_ValueError, "timeout must be > 0 seconds");
      a.failed = true;
    } else {
      opts.timeout_ms = (int)(t * 1000.0 + 0.5);
    }
  }
  if (a.failed) {
    args_clear(&a);
    return -1;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c;
  Py_BEGIN_ALLOW_THREADS;
  c = kube_client_new(&opts, &err);
  Py_END_ALLOW_THREADS;
  char *kc = opts.kubeconfig ? strdup(opts.kubeconfig) : NULL;
  char *ctx = opts.context ? strdup(opts.context) : NULL;
  args_clear(&a);
  if (c && ((opts.kubeconfig && !kc) || (opts.context && !ctx))) {
    kube_client_free(c);
    c = NULL;
    kube_error_set(&err, KUBE_REASON_INTERNAL, ENOMEM, "out of memory");
  }
  if (!c) {
    free(kc);
    free(ctx);
    if (err.reason == KUBE_REASON_NOT_FOUND)
      PyErr_SetString(PyExc_FileNotFoundError, err.message);
    else
      pyk_raise(&err);
    kube_error_clear(&err);
    return -1;
  }
  pyk_conn_t *k = pyk_conn_new(c, true, NULL);
  if (!k) {
    free(kc);
    free(ctx);
    PyErr_NoMemory();
    return -1;
  }
  k->kubeconfig = kc;
  k->context = ctx;
  ClientObject *o = (ClientObject *)self;
  pyk_conn_unref(o->conn);
  o->conn = k;
  return 0;
}

static void client_dealloc(PyObject *self) {
  ClientObject *o = (ClientObject *)self;
  PyTypeObject *tp = Py_TYPE(self);
  pyk_conn_unref(o->conn);
  Py_XDECREF(o->owner);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

#define CONN(self)                                                             \
  pyk_conn_t *k = pyk_client_conn(self);                                       \
  if (!k)                                                                      \
    return NULL;

/* The namespace a namespaced call uses: the argument, else the client's. */
static const char *ns_or_default(pyk_conn_t *k, const kube_kind_t *kind,
                                 const char *ns) {
  if (!kind->namespaced)
    return NULL;
  return ns && *ns ? ns : kube_client_namespace(k->c);
}

static PyObject *path_request(pyk_conn_t *k, const char *method,
                              const kube_kind_t *kind, const char *ns,
                              const char *name, const char *sub, char *query,
                              const char *content_type, const char *body,
                              size_t body_len) {
  char *path = kube_client_path(kind, ns, name, sub);
  PyObject *r =
      path ? request(k, method, path, query, content_type, body, body_len)
           : PyErr_NoMemory();
  free(path);
  free(query);
  return r;
}

/* A write: `body` (owned, NULL after a Python error) goes with the query
 * dryRun / fieldManager / force. */
static PyObject *send_write(pyk_conn_t *k, const char *method,
                            const kube_kind_t *kind, const char *ns,
                            const char *name, const char *sub,
                            const char *content_type, char *body, size_t len,
                            int dry_run, const char *field_manager,
                            bool force) {
  if (!body)
    return NULL;
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  query_write(&q, dry_run, field_manager);
  if (force)
    query_add(&q, "force", "true");
  char *query = steal_query(&q);
  PyObject *r = query ? path_request(k, method, kind, ns, name, sub, query,
                                     content_type, body, len)
                      : NULL;
  free(body);
  return r;
}

static PyObject *client_get(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"api_version", "kind", "name", "namespace", NULL};
  PyObject *av, *kd, *nm, *ns = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|O:get", kwlist, &av, &kd,
                                   &nm, &ns))
    return NULL;
  CONN(self);
  struct args a = {0};
  const kube_kind_t *kind = arg_kind(&a, av, kd);
  const char *name = arg_name(&a, nm);
  const char *nss = arg_opt(&a, ns, "namespace");
  PyObject *r = a.failed
                    ? NULL
                    : path_request(k, "GET", kind, ns_or_default(k, kind, nss),
                                   name, NULL, NULL, NULL, NULL, 0);
  args_clear(&a);
  return r;
}

static PyObject *client_list(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"api_version",
                           "kind",
                           "namespace",
                           "label_selector",
                           "field_selector",
                           "limit",
                           "continue_token",
                           "resource_version",
                           NULL};
  PyObject *av, *kd, *ns = Py_None, *ls = Py_None, *fs = Py_None,
                     *lim = Py_None, *cont = Py_None, *rv = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|OOOOOO:list", kwlist, &av,
                                   &kd, &ns, &ls, &fs, &lim, &cont, &rv))
    return NULL;
  CONN(self);
  struct args a = {0};
  long long limit = 0;
  const kube_kind_t *kind = arg_kind(&a, av, kd);
  const char *nss = arg_opt(&a, ns, "namespace");
  const char *lss = arg_opt(&a, ls, "label_selector");
  const char *fss = arg_opt(&a, fs, "field_selector");
  const char *conts = arg_opt(&a, cont, "continue_token");
  const char *rvs = arg_opt(&a, rv, "resource_version");
  arg_int(&a, lim, "limit", 1, &limit);
  PyObject *r = NULL;
  if (!a.failed) {
    kube_strbuf_t q = KUBE_STRBUF_INIT;
    query_add(&q, "labelSelector", lss);
    query_add(&q, "fieldSelector", fss);
    if (limit > 0)
      kube_strbuf_printf(&q, "%slimit=%lld", q.len ? "&" : "", limit);
    query_add(&q, "continue", conts);
    query_add(&q, "resourceVersion", rvs);
    char *query = steal_query(&q);
    if (query)
      r = path_request(k, "GET", kind, kind->namespaced ? nss : NULL, NULL,
                       NULL, query, NULL, NULL, 0);
  }
  args_clear(&a);
  return r;
}

/* create / replace: the kind and names come from the object. */
static PyObject *write_object(PyObject *self, PyObject *args, PyObject *kwds,
                              bool replace) {
  static char *kwlist[] = {"obj", "namespace", "dry_run", "field_manager",
                           NULL};
  PyObject *obj, *ns = Py_None, *fm = Py_None;
  int dry_run = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds,
                                   replace ? "O|O$pO:replace" : "O|O$pO:create",
                                   kwlist, &obj, &ns, &dry_run, &fm))
    return NULL;
  CONN(self);
  if (!PyDict_Check(obj))
    return PyErr_Format(PyExc_TypeError, "obj must be a dict, not %s",
                        pyk_tname(obj));
  struct args a = {0};
  PyObject *meta = PyDict_GetItemString(obj, "metadata");
  const char *api_version =
      dict_str(&a, obj, "apiVersion", "obj[\"apiVersion\"]");
  const char *kind_s = dict_str(&a, obj, "kind", "obj[\"kind\"]");
  const char *name = dict_str(&a, meta, "name", "metadata.name");
  const char *obj_ns = dict_str(&a, meta, "namespace", "metadata.namespace");
  const char *nss = arg_opt(&a, ns, "namespace");
  const char *fms = arg_opt(&a, fm, "field_manager");
  PyObject *r = NULL;
  const kube_kind_t *kind = NULL;
  if (a.failed) {
  } else if (!api_version || !kind_s) {
    PyErr_SetString(PyExc_ValueError, "obj needs \"apiVersion\" and \"kind\"");
  } else if (replace && (!name || !*name)) {
    PyErr_SetString(PyExc_ValueError, "obj needs metadata.name");
  } else {
    kind = resolve_kind(api_version, kind_s);
  }
  if (kind) {
    size_t len;
    char *body = pyk_to_json(obj, &len);
    r = send_write(k, replace ? "PUT" : "POST", kind,
                   ns_or_default(k, kind, nss ? nss : obj_ns),
                   replace ? name : NULL, NULL, "application/json", body, len,
                   dry_run, fms, false);
  }
  args_clear(&a);
  return r;
}

static PyObject *client_create(PyObject *self, PyObject *args, PyObject *kwds) {
  return write_object(self, args, kwds, false);
}

static PyObject *client_replace(PyObject *self, PyObject *args,
                                PyObject *kwds) {
  return write_object(self, args, kwds, true);
}

static PyObject *client_patch(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {
      "api_version", "kind",        "name",    "patch",         "patch_type",
      "namespace",   "subresource", "dry_run", "field_manager", NULL};
  PyObject *av, *kd, *nm, *patch, *pt = NULL, *ns = Py_None, *sub = Py_None,
                                  *fm = Py_None;
  int dry_run = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO|OOO$pO:patch", kwlist, &av,
                                   &kd, &nm, &patch, &pt, &ns, &sub, &dry_run,
                                   &fm))
    return NULL;
  CONN(self);
  struct args a = {0};
  const kube_kind_t *kind = arg_kind(&a, av, kd);
  const char *name = arg_name(&a, nm);
  const char *pts = pt ? arg_str(&a, pt, "patch_type") : "merge";
  const char *nss = arg_opt(&a, ns, "namespace");
  const char *subs = arg_opt(&a, sub, "subresource");
  const char *fms = arg_opt(&a, fm, "field_manager");
  int type = a.failed ? -1 : kube_patch_type_parse(pts);
  PyObject *r = NULL;
  if (!a.failed && (type < 0 || type == KUBE_PATCH_APPLY))
    PyErr_Format(PyExc_ValueError,
                 "patch_type must be \"merge\", \"strategic\" or \"json\", "
                 "not \"%s\" (server-side apply is Client.apply)",
                 pts);
  else if (!a.failed) {
    char *body = NULL;
    size_t len = 0;
    if (PyUnicode_Check(patch)) {
      const char *s = arg_str(&a, patch, "patch");
      if (s && (body = strdup(s)))
        len = strlen(s);
      else if (s)
        PyErr_NoMemory();
    } else if (PyDict_Check(patch) || PyList_Check(patch)) {
      body = pyk_to_json(patch, &len);
    } else {
      PyErr_Format(PyExc_TypeError,
                   "patch must be a dict, a list or a JSON str, not %s",
                   pyk_tname(patch));
    }
    r = send_write(k, "PATCH", kind, ns_or_default(k, kind, nss), name, subs,
                   kube_patch_type_content_type(type), body, len, dry_run, fms,
                   false);
  }
  args_clear(&a);
  return r;
}

static PyObject *client_apply(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"obj",       "field_manager", "force",
                           "namespace", "dry_run",       NULL};
  PyObject *obj, *fm, *ns = Py_None;
  int force = 0, dry_run = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pO$p:apply", kwlist, &obj,
                                   &fm, &force, &ns, &dry_run))
    return NULL;
  CONN(self);
  if (!PyDict_Check(obj))
    return PyErr_Format(PyExc_TypeError, "obj must be a dict, not %s",
                        pyk_tname(obj));
  struct args a = {0};
  PyObject *meta = PyDict_GetItemString(obj, "metadata");
  const char *fms = arg_str(&a, fm, "field_manager");
  const char *api_version =
      dict_str(&a, obj, "apiVersion", "obj[\"apiVersion\"]");
  const char *kind_s = dict_str(&a, obj, "kind", "obj[\"kind\"]");
  const char *name = dict_str(&a, meta, "name", "metadata.name");
  const char *obj_ns = dict_str(&a, meta, "namespace", "metadata.namespace");
  const char *nss = arg_opt(&a, ns, "namespace");
  const kube_kind_t *kind = NULL;
  PyObject *r = NULL;
  if (a.failed) {
  } else if (!*fms) {
    PyErr_SetString(PyExc_ValueError, "field_manager must not be empty");
  } else if (!api_version || !kind_s || !name || !*name) {
    PyErr_SetString(PyExc_ValueError,
                    "obj needs \"apiVersion\", \"kind\" and metadata.name");
  } else {
    kind = resolve_kind(api_version, kind_s);
  }
  if (kind) {
    size_t len;
    char *body = pyk_to_json(obj, &len);
    r = send_write(k, "PATCH", kind, ns_or_default(k, kind, nss ? nss : obj_ns),
                   name, NULL, kube_patch_type_content_type(KUBE_PATCH_APPLY),
                   body, len, dry_run, fms, force);
  }
  args_clear(&a);
  return r;
}

static PyObject *client_delete(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"api_version", "kind",        "name",
                           "namespace",   "propagation", "grace_period",
                           "dry_run",     NULL};
  PyObject *av, *kd, *nm, *ns = Py_None, *prop = Py_None, *grace = Py_None;
  int dry_run = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|OO$Op:delete", kwlist, &av,
                                   &kd, &nm, &ns, &prop, &grace, &dry_run))
    return NULL;
  CONN(self);
  struct args a = {0};
  long long gp = -1;
  const kube_kind_t *kind = arg_kind(&a, av, kd);
  const char *name = arg_name(&a, nm);
  const char *nss = arg_opt(&a, ns, "namespace");
  const char *props = arg_opt(&a, prop, "propagation");
  arg_int(&a, grace, "grace_period", 0, &gp);
  PyObject *r = NULL;
  if (!a.failed && props && strcmp(props, "Background") != 0 &&
      strcmp(props, "Foreground") != 0 && strcmp(props, "Orphan") != 0)
    PyErr_Format(PyExc_ValueError,
                 "propagation must be \"Background\", \"Foreground\" or "
                 "\"Orphan\", not \"%s\"",
                 props);
  else if (!a.failed && gp < 0 && !props && !dry_run) {
    /* No DeleteOptions to carry: no body (the server's defaults), so it
     * has nothing to parse. */
    r = path_request(k, "DELETE", kind, ns_or_default(k, kind, nss), name,
                     NULL, NULL, NULL, NULL, 0);
  } else if (!a.failed) {
    kube_strbuf_t b = KUBE_STRBUF_INIT;
    kube_strbuf_append(&b, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\"");
    if (gp >= 0)
      kube_strbuf_printf(&b, ",\"gracePeriodSeconds\":%lld", gp);
    if (props) {
      kube_strbuf_append(&b, ",\"propagationPolicy\":");
      kube_strbuf_append_json_string(&b, props);
    }
    if (dry_run)
      kube_strbuf_append(&b, ",\"dryRun\":[\"All\"]");
    kube_strbuf_append(&b, "}");
    size_t len = b.len;
    r = send_write(k, "DELETE", kind, ns_or_default(k, kind, nss), name, NULL,
                   "application/json", steal_query(&b), len, dry_run, NULL,
                   false);
  }
  args_clear(&a);
  return r;
}

static PyObject *client_namespace(PyObject *self, void *closure) {
  CONN(self);
  return PyUnicode_FromString(kube_client_namespace(k->c));
}

static PyObject *client_server(PyObject *self, void *closure) {
  CONN(self);
  return PyUnicode_FromString(kube_client_server(k->c));
}

/* In watch.c. */
PyObject *pyk_watch_start(PyObject *client, pyk_conn_t *k, char *path,
                          char *query, bool raw);
/* In pods.c. */
PyObject *pyk_client_logs(PyObject *self, PyObject *args, PyObject *kwds);
PyObject *pyk_client_exec(PyObject *self, PyObject *args, PyObject *kwds);

static PyObject *client_watch(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"api_version",      "kind",    "namespace",
                           "resource_version", "timeout", "label_selector",
                           "field_selector",   NULL};
  PyObject *av, *kd, *ns = Py_None, *rv = Py_None, *to = Py_None, *ls = Py_None,
                     *fs = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|OOOOO:watch", kwlist, &av,
                                   &kd, &ns, &rv, &to, &ls, &fs))
    return NULL;
  CONN(self);
  struct args a = {0};
  long long timeout = 0;
  const kube_kind_t *kind = arg_kind(&a, av, kd);
  const char *nss = arg_opt(&a, ns, "namespace");
  const char *rvs = arg_opt(&a, rv, "resource_version");
  const char *lss = arg_opt(&a, ls, "label_selector");
  const char *fss = arg_opt(&a, fs, "field_selector");
  arg_int(&a, to, "timeout", 1, &timeout);
  PyObject *r = NULL;
  if (!a.failed) {
    kube_strbuf_t q = KUBE_STRBUF_INIT;
    query_add(&q, "watch", "true");
    query_add(&q, "resourceVersion", rvs);
    query_add(&q, "labelSelector", lss);
    query_add(&q, "fieldSelector", fss);
    if (timeout > 0)
      kube_strbuf_printf(&q, "&timeoutSeconds=%lld", timeout);
    char *query = steal_query(&q);
    char *path = query ? kube_client_path(kind, kind->namespaced ? nss : NULL,
                                          NULL, NULL)
                       : NULL;
    if (query && !path)
      PyErr_NoMemory();
    if (path && query)
      r = pyk_watch_start(self, k, path, query, false);
    else {
      free(path);
      free(query);
    }
  }
  args_clear(&a);
  return r;
}

static PyMethodDef client_methods[] = {
    {"logs", (PyCFunction)(void (*)(void))pyk_client_logs,
     METH_VARARGS | METH_KEYWORDS,
     "logs(name, namespace=None, container=None, follow=False, tail=None, "
     "previous=False, timestamps=False, since_seconds=None, "
     "limit_bytes=None) -> str | Watch\n\n"
     "A container's log (pods/log): the whole text, or with follow=True an "
     "iterator of its lines (without their newline) that ends when the "
     "container stops.  container None: the pod's only container.  "
     "ApiError \"NotFound\", \"BadRequest\" (\"container ... is waiting to "
     "start: ...\")."},
    {"exec", (PyCFunction)(void (*)(void))pyk_client_exec,
     METH_VARARGS | METH_KEYWORDS,
     "exec(name, command, namespace=None, container=None, stdin=None) -> "
     "(exit_code, stdout, stderr)\n\n"
     "Run command (a list of str) in a container of pod `name` (pods/exec, "
     "WebSocket or SPDY as kubectl), sending stdin (bytes or str) and "
     "closing it, and wait for the end.  A network client only (not "
     "Server.client()).  ApiError when the server refuses (\"NotFound\", "
     "\"BadRequest\") or the command could not start (\"InternalError\"); "
     "ConnectionError when the connection is lost."},
    {"get", (PyCFunction)(void (*)(void))client_get,
     METH_VARARGS | METH_KEYWORDS,
     "get(api_version, kind, name, namespace=None) -> dict\n\n"
     "GET one object.  namespace None: the client's namespace.  Raises "
     "ApiError (reason \"NotFound\", ...)."},
    {"list", (PyCFunction)(void (*)(void))client_list,
     METH_VARARGS | METH_KEYWORDS,
     "list(api_version, kind, namespace=None, label_selector=None, "
     "field_selector=None, limit=None, continue_token=None, "
     "resource_version=None) -> dict\n\n"
     "The whole <Kind>List: items, metadata.resourceVersion and "
     "metadata.continue (pass it back as continue_token).  namespace None: "
     "every namespace."},
    {"create", (PyCFunction)(void (*)(void))client_create,
     METH_VARARGS | METH_KEYWORDS,
     "create(obj, namespace=None, *, dry_run=False, field_manager=None) -> "
     "dict\n\n"
     "POST obj (its apiVersion and kind pick the resource); returns the "
     "stored object.  ApiError \"AlreadyExists\" (409), \"Invalid\" (422)."},
    {"replace", (PyCFunction)(void (*)(void))client_replace,
     METH_VARARGS | METH_KEYWORDS,
     "replace(obj, namespace=None, *, dry_run=False, field_manager=None) -> "
     "dict\n\n"
     "PUT obj; its metadata.resourceVersion guards the update (ApiError "
     "\"Conflict\" when stale)."},
    {"patch", (PyCFunction)(void (*)(void))client_patch,
     METH_VARARGS | METH_KEYWORDS,
     "patch(api_version, kind, name, patch, patch_type=\"merge\", "
     "namespace=None, subresource=None, *, dry_run=False, "
     "field_manager=None) -> dict\n\n"
     "PATCH with a merge, strategic-merge or JSON patch (a dict, a list or "
     "JSON text)."},
    {"apply", (PyCFunction)(void (*)(void))client_apply,
     METH_VARARGS | METH_KEYWORDS,
     "apply(obj, field_manager, force=False, namespace=None, *, "
     "dry_run=False) -> dict\n\n"
     "Server-side apply: creates the object or merges the fields this "
     "manager owns; ApiError \"Conflict\" when another manager owns a field "
     "(force=True takes it)."},
    {"delete", (PyCFunction)(void (*)(void))client_delete,
     METH_VARARGS | METH_KEYWORDS,
     "delete(api_version, kind, name, namespace=None, propagation=None, *, "
     "grace_period=None, dry_run=False) -> dict\n\n"
     "DELETE; returns what the server answered (the object, or a Status). "
     "propagation: \"Background\", \"Foreground\" or \"Orphan\"."},
    {"watch", (PyCFunction)(void (*)(void))client_watch,
     METH_VARARGS | METH_KEYWORDS,
     "watch(api_version, kind, namespace=None, resource_version=None, "
     "timeout=None, label_selector=None, field_selector=None) -> Watch\n\n"
     "An iterator of {\"type\": \"ADDED\"|\"MODIFIED\"|\"DELETED\"|"
     "\"BOOKMARK\", \"object\": dict} from resource_version (None: the "
     "current state first, as ADDED events) until the server ends the "
     "stream (timeout seconds) or Watch.close().  An ERROR event is raised "
     "as ApiError (code 410 when resource_version is too old).  The "
     "stream is read by a thread of its own; waiting for an event "
     "releases the GIL."},
    {NULL}};

static PyGetSetDef client_getset[] = {
    {"namespace", client_namespace, NULL,
     "The default namespace (the kubeconfig context's, else \"default\").",
     NULL},
    {"server", client_server, NULL,
     "The server URL, or \"in-process\" for a Server's client.", NULL},
    {NULL}};

static PyType_Slot client_slots[] = {
    {Py_tp_new, client_new},
    {Py_tp_init, client_init},
    {Py_tp_dealloc, client_dealloc},
    {Py_tp_methods, client_methods},
    {Py_tp_getset, client_getset},
    {Py_tp_doc,
     "Client(kubeconfig=None, context=None, *, timeout=None)\n\n"
     "A Kubernetes REST client configured like kubectl: the kubeconfig "
     "(default $KUBECONFIG, ~/.kube/config, else the local kubed socket) "
     "and its context; servers https://, http:// and unix:PATH.  timeout "
     "is a per-request limit in seconds.  Server.client() returns a Client "
     "that reaches its server in-process, without a socket.  Safe to use "
     "from several threads (a socket client sends one request at a time)."},
    {0, NULL}};

static PyType_Spec client_spec = {"libkube.Client", sizeof(ClientObject), 0,
                                  Py_TPFLAGS_DEFAULT, client_slots};

/* In watch.c. */
int pyk_watch_init(PyObject *module);

int pyk_client_init(PyObject *module) {
  client_type = pyk_add_type(module, &client_spec, NULL);
  return client_type ? pyk_watch_init(module) : -1;
}
