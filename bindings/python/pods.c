/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client.logs() and Client.exec(): a container's log (kube_client_logs;
 * with follow an iterator of lines over the watch machinery in raw mode)
 * and a command in a container (kube_client_exec).  Like watches, both
 * use a connection of their own, so they run without the client's lock;
 * the GIL is released for the whole call.
 */
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

/* In watch.c. */
PyObject *pyk_watch_start(PyObject *client, pyk_conn_t *k, char *path,
                          char *query, bool raw);

/* A str argument (None allowed when optional): UTF-8 held in *hold. */
static bool opt_str(PyObject *o, const char *what, const char **out,
                    PyObject **hold) {
  bool failed = false;
  *out = pyk_utf8_opt(o, what, hold, &failed);
  return !failed;
}

static bool opt_int(PyObject *o, const char *what, long long min,
                    long long *out, bool *set) {
  if (!o || o == Py_None)
    return true;
  long long v = PyLong_AsLongLong(o);
  if (v == -1 && PyErr_Occurred())
    return false;
  if (v < min) {
    PyErr_Format(PyExc_ValueError, "%s must be >= %lld", what, min);
    return false;
  }
  *out = v;
  if (set)
    *set = true;
  return true;
}

/* Raise what a failed logs/exec call means: the server's refusal as
 * ApiError, a lost connection as ConnectionError. */
static PyObject *raise_call(kube_client_t *c, kube_error_t *err) {
  int status = kube_client_last_status(c);
  if (status >= 400 || (err->reason != KUBE_REASON_SERVICE_UNAVAILABLE &&
                        err->reason != KUBE_REASON_UNKNOWN &&
                        err->reason != KUBE_REASON_BAD_REQUEST)) {
    int code = status >= 400 ? status : kube_reason_http_code(err->reason);
    return pyk_raise_api(code, NULL, 0, err);
  }
  return pyk_raise(err);
}

/* Run a logs or exec call without the GIL, through an in-process
 * server's gate.  0, or -1 with a Python exception (the server is closed,
 * or the call failed). */
struct call {
  pyk_conn_t *k;
  const kube_client_logs_options_t *logs; /* one of these two */
  const kube_client_exec_options_t *exec;
  int exit_code;
};

static int run_call(struct call *c) {
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = 0;
  bool closed = false;
  pyk_conn_t *k = c->k;
  Py_BEGIN_ALLOW_THREADS;
  if (k->gate && pyk_gate_enter(k->gate) < 0)
    closed = true;
  else if (c->logs)
    rc = kube_client_logs(k->c, c->logs, &err);
  else
    rc = kube_client_exec(k->c, c->exec, &c->exit_code, &err);
  if (!closed && k->gate)
    pyk_gate_leave(k->gate);
  Py_END_ALLOW_THREADS;
  if (closed)
    PyErr_SetString(PyExc_ConnectionError,
                    "the in-process server is stopped (Server.close() ran)");
  else if (rc < 0)
    raise_call(k->c, &err);
  kube_error_clear(&err);
  return closed || rc < 0 ? -1 : 0;
}

/* ---- logs ---- */

static int collect(void *arg, int stream, const void *buf, size_t len) {
  kube_strbuf_append_len(arg, buf, len);
  return ((kube_strbuf_t *)arg)->oom ? 1 : 0;
}

static char *logs_query(const kube_client_logs_options_t *o) {
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "follow=true");
  if (o->container) {
    char *esc = kube_client_query_escape(o->container);
    kube_strbuf_printf(&q, "&container=%s", esc ? esc : "");
    if (!esc)
      q.oom = true;
    free(esc);
  }
  if (o->limit_bytes > 0)
    kube_strbuf_printf(&q, "&limitBytes=%lld", (long long)o->limit_bytes);
  if (o->since_seconds > 0)
    kube_strbuf_printf(&q, "&sinceSeconds=%lld", (long long)o->since_seconds);
  if (o->tail)
    kube_strbuf_printf(&q, "&tailLines=%lld", (long long)o->tail_lines);
  if (o->timestamps)
    kube_strbuf_append(&q, "&timestamps=true");
  if (q.oom) {
    kube_strbuf_clear(&q);
    return NULL;
  }
  return kube_strbuf_steal(&q);
}

PyObject *pyk_client_logs(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {
      "name",     "namespace",  "container",     "follow",      "tail",
      "previous", "timestamps", "since_seconds", "limit_bytes", NULL};
  PyObject *name_o, *ns_o = Py_None, *c_o = Py_None, *tail_o = Py_None,
                    *since_o = Py_None, *limit_o = Py_None;
  int follow = 0, previous = 0, timestamps = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OOpOppOO:logs", kwlist,
                                   &name_o, &ns_o, &c_o, &follow, &tail_o,
                                   &previous, &timestamps, &since_o, &limit_o))
    return NULL;
  pyk_conn_t *k = pyk_client_conn(self);
  if (!k)
    return NULL;
  PyObject *h[3] = {NULL, NULL, NULL}, *r = NULL;
  kube_client_logs_options_t o = {.struct_size = sizeof o,
                                  .follow = follow,
                                  .previous = previous,
                                  .timestamps = timestamps};
  long long tail = 0, since = 0, limit = 0;
  if (!(o.pod = pyk_utf8(name_o, "name", &h[0])) ||
      !opt_str(ns_o, "namespace", &o.namespace_, &h[1]) ||
      !opt_str(c_o, "container", &o.container, &h[2]) ||
      !opt_int(tail_o, "tail", 0, &tail, &o.tail) ||
      !opt_int(since_o, "since_seconds", 1, &since, NULL) ||
      !opt_int(limit_o, "limit_bytes", 1, &limit, NULL))
    goto out;
  if (!*o.pod) {
    PyErr_SetString(PyExc_ValueError, "name must not be empty");
    goto out;
  }
  o.tail_lines = tail;
  o.since_seconds = since;
  o.limit_bytes = limit;
  if (follow) {
    /* An iterator of lines: the watch machinery without JSON. */
    char *path = kube_client_path(kube_kind_by_kind("v1", "Pod"),
                                  o.namespace_ ? o.namespace_
                                               : kube_client_namespace(k->c),
                                  o.pod, "log");
    char *query = logs_query(&o);
    if (!path || !query) {
      free(path);
      free(query);
      PyErr_NoMemory();
      goto out;
    }
    r = pyk_watch_start(self, k, path, query, true);
    goto out;
  }
  kube_strbuf_t text = KUBE_STRBUF_INIT;
  o.output = collect;
  o.arg = &text;
  struct call call = {.k = k, .logs = &o};
  if (run_call(&call) == 0 && text.oom)
    PyErr_NoMemory();
  else if (!PyErr_Occurred())
    r = PyUnicode_DecodeUTF8(text.data ? text.data : "", (Py_ssize_t)text.len,
                             "replace");
  kube_strbuf_clear(&text);
out:
  for (size_t i = 0; i < 3; i++)
    Py_XDECREF(h[i]);
  return r;
}

/* ---- exec ---- */

struct exec_out {
  kube_strbuf_t out, err;
};

static int exec_output(void *arg, int stream, const void *buf, size_t len) {
  struct exec_out *x = arg;
  kube_strbuf_append_len(stream == 2 ? &x->err : &x->out, buf, len);
  return x->out.oom || x->err.oom;
}

/* command: a list or tuple of str -> a NULL-terminated argv borrowed from
 * the holds in *holds (a new list). */
static const char **argv_of(PyObject *cmd, PyObject **holds) {
  if (!PyList_Check(cmd) && !PyTuple_Check(cmd)) {
    PyErr_Format(PyExc_TypeError, "command must be a list of str, not %s",
                 pyk_tname(cmd));
    return NULL;
  }
  Py_ssize_t n = PySequence_Size(cmd);
  if (n <= 0) {
    if (!PyErr_Occurred())
      PyErr_SetString(PyExc_ValueError, "command must not be empty");
    return NULL;
  }
  const char **argv = calloc((size_t)n + 1, sizeof *argv);
  if (!argv || !(*holds = PyList_New(0))) {
    free(argv);
    PyErr_NoMemory();
    return NULL;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *item = PySequence_GetItem(cmd, i), *h = NULL;
    const char *s = item ? pyk_utf8(item, "command item", &h) : NULL;
    Py_XDECREF(item);
    if (!s || PyList_Append(*holds, h) < 0) {
      Py_XDECREF(h);
      free(argv);
      return NULL;
    }
    Py_DECREF(h);
    argv[i] = s;
  }
  return argv;
}

PyObject *pyk_client_exec(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"name",      "command", "namespace",
                           "container", "stdin",   NULL};
  PyObject *name_o, *cmd_o, *ns_o = Py_None, *c_o = Py_None, *in_o = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|OOO:exec", kwlist, &name_o,
                                   &cmd_o, &ns_o, &c_o, &in_o))
    return NULL;
  pyk_conn_t *k = pyk_client_conn(self);
  if (!k)
    return NULL;
  PyObject *h[4] = {NULL, NULL, NULL, NULL}, *holds = NULL, *r = NULL;
  const char **argv = NULL;
  kube_client_exec_options_t o = KUBE_CLIENT_EXEC_OPTIONS_INIT;
  if (!(o.pod = pyk_utf8(name_o, "name", &h[0])) ||
      !opt_str(ns_o, "namespace", &o.namespace_, &h[1]) ||
      !opt_str(c_o, "container", &o.container, &h[2]) ||
      !(argv = argv_of(cmd_o, &holds)))
    goto out;
  if (in_o != Py_None) {
    const char *data = NULL;
    Py_ssize_t len = 0;
    if (PyBytes_Check(in_o)) {
      char *p;
      if (PyBytes_AsStringAndSize(in_o, &p, &len) < 0)
        goto out;
      data = p;
    } else if (PyUnicode_Check(in_o)) {
      if (!(data = pyk_utf8(in_o, "stdin", &h[3])))
        goto out;
      len = (Py_ssize_t)strlen(data);
    } else {
      PyErr_Format(PyExc_TypeError, "stdin must be bytes or str, not %s",
                   pyk_tname(in_o));
      goto out;
    }
    o.stdin_ = true;
    o.stdin_data = data;
    o.stdin_len = (size_t)len;
  }
  o.command = argv;
  struct exec_out x = {KUBE_STRBUF_INIT, KUBE_STRBUF_INIT};
  o.output = exec_output;
  o.arg = &x;
  struct call call = {.k = k, .exec = &o};
  if (run_call(&call) == 0 && (x.out.oom || x.err.oom))
    PyErr_NoMemory();
  else if (!PyErr_Occurred())
    r = Py_BuildValue("(iNN)", call.exit_code,
                      PyUnicode_DecodeUTF8(x.out.data ? x.out.data : "",
                                           (Py_ssize_t)x.out.len, "replace"),
                      PyUnicode_DecodeUTF8(x.err.data ? x.err.data : "",
                                           (Py_ssize_t)x.err.len, "replace"));
  kube_strbuf_clear(&x.out);
  kube_strbuf_clear(&x.err);
out:
  free(argv);
  Py_XDECREF(holds);
  for (size_t i = 0; i < 4; i++)
    Py_XDECREF(h[i]);
  return r;
}
