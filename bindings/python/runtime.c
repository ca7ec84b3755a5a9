/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube.Runtime: OCI containers through the C runtime (kube_runtime_t):
 * OCI bundle paths, config.json as dicts, state and stats as dicts.
 * Calls on one Runtime are serialised by a mutex (the handle keeps a list
 * of the monitors it forked); every call releases the GIL.  Other Runtime
 * objects on the same root see the same containers.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

typedef struct {
  PyObject_HEAD kube_runtime_t *rt;
  pthread_mutex_t mu;
} RuntimeObject;

static PyObject *rt_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  RuntimeObject *o = (RuntimeObject *)alloc(type, 0);
  if (o)
    pthread_mutex_init(&o->mu, NULL);
  return (PyObject *)o;
}

/* A str or os.PathLike argument as UTF-8 (hold released by the caller). */
static const char *path_arg(PyObject *o, const char *what, PyObject **hold) {
  *hold = NULL;
  if (o == Py_None)
    return NULL;
  PyObject *p = PyOS_FSPath(o);
  if (!p)
    return NULL;
  const char *s = pyk_utf8(p, what, hold);
  Py_DECREF(p);
  return s;
}

static int rt_init(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"root", NULL};
  PyObject *root = Py_None, *h = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Runtime", kwlist, &root))
    return -1;
  const char *r = path_arg(root, "root", &h);
  if (!r && PyErr_Occurred())
    return -1;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt;
  Py_BEGIN_ALLOW_THREADS;
  rt = kube_runtime_new(r, &err);
  Py_END_ALLOW_THREADS;
  Py_XDECREF(h);
  if (!rt) {
    pyk_raise(&err);
    kube_error_clear(&err);
    return -1;
  }
  RuntimeObject *o = (RuntimeObject *)self;
  kube_runtime_t *old;
  Py_BEGIN_ALLOW_THREADS;
  pthread_mutex_lock(&o->mu);
  old = o->rt;
  o->rt = rt;
  pthread_mutex_unlock(&o->mu);
  kube_runtime_free(old);
  Py_END_ALLOW_THREADS;
  return 0;
}

static void rt_dealloc(PyObject *self) {
  RuntimeObject *o = (RuntimeObject *)self;
  PyTypeObject *tp = Py_TYPE(self);
  kube_runtime_free(o->rt);
  pthread_mutex_destroy(&o->mu);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

#define RT(self)                                                               \
  RuntimeObject *o = (RuntimeObject *)(self);                                  \
  if (!o->rt) {                                                                \
    PyErr_SetString(PyExc_ValueError, "the runtime is not initialised");       \
    return NULL;                                                               \
  }

static PyObject *fail(kube_error_t *err) {
  if (err->reason == KUBE_REASON_NOT_FOUND)
    PyErr_SetString(PyExc_KeyError, err->message);
  else
    pyk_raise(err);
  kube_error_clear(err);
  return NULL;
}

/* An fd argument: None (-1, /dev/null), an int, or an object with
 * fileno(). */
static int fd_arg(PyObject *o, const char *what, int *fd) {
  *fd = -1;
  if (o == Py_None)
    return 0;
  int v = PyObject_AsFileDescriptor(o);
  if (v < 0) {
    PyErr_Format(PyExc_TypeError,
                 "%s must be None, a file descriptor or a file, not %s", what,
                 pyk_tname(o));
    return -1;
  }
  *fd = v;
  return 0;
}

/* The config of a create/run: config (a dict, config.json's shape) or
 * bundle/config.json. */
static kube_rt_config_t *config_of(const char *bundle, PyObject *config,
                                   kube_error_t *err) {
  if (config == Py_None) {
    kube_rt_config_t *c;
    Py_BEGIN_ALLOW_THREADS;
    c = kube_rt_config_load(bundle, err);
    Py_END_ALLOW_THREADS;
    return c;
  }
  if (!PyDict_Check(config)) {
    PyErr_Format(PyExc_TypeError, "config must be a dict, not %s",
                 pyk_tname(config));
    return NULL;
  }
  char *json = pyk_to_json(config, NULL);
  if (!json)
    return NULL;
  kube_rt_config_t *c = kube_rt_config_parse(json, bundle, err);
  free(json);
  return c;
}

static PyObject *exit_dict(const kube_rt_exit_t *e) {
  return Py_BuildValue(
      "{s:i,s:i,s:O,s:s,s:d}", "exit_code", e->exit_code, "signal", e->signal,
      "oom_killed", e->oom_killed ? Py_True : Py_False, "reason", e->reason,
      "finished_at",
      (double)e->finished_at.tv_sec + e->finished_at.tv_nsec / 1e9);
}

/* create() and run(): the shared arguments. */
struct launch {
  PyObject *holds[3];
  const char *id, *bundle, *log_path;
  kube_rt_config_t *cfg;
  kube_rt_io_t io;
};

static void launch_clear(struct launch *l) {
  for (size_t i = 0; i < 3; i++)
    Py_XDECREF(l->holds[i]);
  kube_rt_config_free(l->cfg);
}

static int launch_args(struct launch *l, PyObject *id, PyObject *bundle,
                       PyObject *config, PyObject *in, PyObject *out,
                       PyObject *errf, PyObject *log) {
  memset(l, 0, sizeof *l);
  l->io = (kube_rt_io_t)KUBE_RT_IO_NULL;
  if (!(l->id = pyk_utf8(id, "id", &l->holds[0])) ||
      !(l->bundle = path_arg(bundle, "bundle", &l->holds[1])))
    return -1;
  l->log_path = path_arg(log, "log_path", &l->holds[2]);
  if (!l->log_path && PyErr_Occurred())
    return -1;
  if (fd_arg(in, "stdin", &l->io.stdin_fd) < 0 ||
      fd_arg(out, "stdout", &l->io.stdout_fd) < 0 ||
      fd_arg(errf, "stderr", &l->io.stderr_fd) < 0)
    return -1;
  l->io.log_path = l->log_path;
  kube_error_t err = KUBE_ERROR_INIT;
  if (!(l->cfg = config_of(l->bundle, config, &err))) {
    if (!PyErr_Occurred())
      fail(&err);
    return -1;
  }
  return 0;
}

/* create() and run() take the same arguments but for their last flag
 * (start / wait). */
static PyObject *rt_launch(PyObject *self, PyObject *args, PyObject *kwds,
                           bool run) {
  static char *create_kw[] = {"id",     "bundle",   "config", "stdin", "stdout",
                              "stderr", "log_path", "start",  NULL};
  static char *run_kw[] = {"id",     "bundle",   "config", "stdin", "stdout",
                           "stderr", "log_path", "wait",   NULL};
  PyObject *id, *bundle, *config = Py_None, *in = Py_None, *out = Py_None,
                         *errf = Py_None, *log = Py_None;
  int flag = run; /* start=False, wait=True */
  if (!PyArg_ParseTupleAndKeywords(args, kwds,
                                   run ? "OO|O$OOOOp:run" : "OO|O$OOOOp:create",
                                   run ? run_kw : create_kw, &id, &bundle,
                                   &config, &in, &out, &errf, &log, &flag))
    return NULL;
  RT(self);
  struct launch l;
  PyObject *ret = NULL;
  if (launch_args(&l, id, bundle, config, in, out, errf, log) == 0) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_rt_exit_t ex;
    int r;
    if (run)
      PYK_LOCKED(&o->mu, r = kube_runtime_run(o->rt, l.id, l.cfg, &l.io,
                                              flag ? &ex : NULL, &err));
    else
      PYK_LOCKED(&o->mu,
                 r = kube_runtime_create_ex(o->rt, l.id, l.cfg, &l.io,
                                            flag ? KUBE_RT_START : 0, &err));
    if (r < 0)
      fail(&err);
    else if (run && flag)
      ret = exit_dict(&ex);
    else
      ret = Py_None, Py_INCREF(ret);
  }
  launch_clear(&l);
  return ret;
}

static PyObject *rt_create(PyObject *self, PyObject *args, PyObject *kwds) {
  return rt_launch(self, args, kwds, false);
}

static PyObject *rt_run(PyObject *self, PyObject *args, PyObject *kwds) {
  return rt_launch(self, args, kwds, true);
}

/* Operations on one container id: the arguments in, the results out. */
enum id_op {
  OP_START,
  OP_PAUSE,
  OP_RESUME,
  OP_KILL,
  OP_DELETE,
  OP_STATE,
  OP_WAIT,
  OP_STATS
};

struct id_call {
  enum id_op op;
  int sig;
  bool all, force;
  int timeout_ms;
  kube_rt_state_t state;
  kube_rt_exit_t exit;
  kube_rt_stats_t stats;
};

static int id_run(kube_runtime_t *rt, const char *id, struct id_call *c,
                  kube_error_t *err) {
  switch (c->op) {
  case OP_START:
    return kube_runtime_start(rt, id, err);
  case OP_PAUSE:
    return kube_runtime_pause(rt, id, err);
  case OP_RESUME:
    return kube_runtime_resume(rt, id, err);
  case OP_KILL:
    return kube_runtime_kill(rt, id, c->sig, c->all, err);
  case OP_DELETE:
    return kube_runtime_delete(rt, id, c->force, err);
  case OP_STATE:
    return kube_runtime_state(rt, id, &c->state, err);
  case OP_WAIT:
    return kube_runtime_wait(rt, id, c->timeout_ms, &c->exit, err);
  default:
    return kube_runtime_stats(rt, id, &c->stats, err);
  }
}

/* Run c->op on the container `idp` names, under the runtime's lock.  0, or
 * -1 with the Python error. */
static int with_id(RuntimeObject *o, PyObject *idp, struct id_call *c) {
  PyObject *h;
  const char *id = pyk_utf8(idp, "id", &h);
  if (!id)
    return -1;
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  PYK_LOCKED(&o->mu, r = id_run(o->rt, id, c, &err));
  Py_DECREF(h);
  if (r < 0)
    fail(&err);
  return r < 0 ? -1 : 0;
}

static PyObject *none_or_null(int r) {
  if (r < 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *rt_start(PyObject *self, PyObject *id) {
  RT(self);
  return none_or_null(with_id(o, id, &(struct id_call){.op = OP_START}));
}
static PyObject *rt_pause(PyObject *self, PyObject *id) {
  RT(self);
  return none_or_null(with_id(o, id, &(struct id_call){.op = OP_PAUSE}));
}
static PyObject *rt_resume(PyObject *self, PyObject *id) {
  RT(self);
  return none_or_null(with_id(o, id, &(struct id_call){.op = OP_RESUME}));
}

static PyObject *rt_kill(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"id", "signal", "all", NULL};
  PyObject *idp;
  int sig = SIGTERM, all = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|ip:kill", kwlist, &idp, &sig,
                                   &all))
    return NULL;
  RT(self);
  if (sig <= 0 || sig >= NSIG)
    return PyErr_Format(PyExc_ValueError, "signal %d is not a signal", sig);
  struct id_call c = {.op = OP_KILL, .sig = sig, .all = all};
  return none_or_null(with_id(o, idp, &c));
}

static PyObject *rt_delete(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"id", "force", NULL};
  PyObject *idp;
  int force = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|p:delete", kwlist, &idp,
                                   &force))
    return NULL;
  RT(self);
  struct id_call c = {.op = OP_DELETE, .force = force};
  return none_or_null(with_id(o, idp, &c));
}

static PyObject *rt_state(PyObject *self, PyObject *arg) {
  RT(self);
  struct id_call c = {.op = OP_STATE};
  if (with_id(o, arg, &c) < 0)
    return NULL;
  kube_rt_state_t *st = &c.state;
  PyObject *ex = st->exited ? exit_dict(&st->exit) : Py_None;
  if (!st->exited)
    Py_INCREF(ex);
  PyObject *d =
      ex ? Py_BuildValue("{s:s,s:z,s:s,s:i,s:d,s:N,s:z}", "id", st->id,
                         "bundle", st->bundle, "status",
                         kube_rt_status_string(st->status), "pid", (int)st->pid,
                         "created",
                         (double)st->created.tv_sec + st->created.tv_nsec / 1e9,
                         "exit", ex, "cgroup_path", st->cgroup_path)
         : NULL;
  kube_rt_state_clear(st);
  return d;
}

static PyObject *rt_list(PyObject *self, PyObject *unused) {
  RT(self);
  char **ids = NULL;
  size_t n = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  PYK_LOCKED(&o->mu, r = kube_runtime_list(o->rt, &ids, &n, &err));
  if (r < 0)
    return fail(&err);
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (size_t i = 0; i < n; i++) {
    PyObject *s = list ? PyUnicode_FromString(ids[i]) : NULL;
    if (list && !s)
      Py_CLEAR(list);
    else if (list)
      PyList_SetItem(list, (Py_ssize_t)i, s);
    free(ids[i]);
  }
  free(ids);
  return list;
}

static PyObject *rt_wait(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"id", "timeout", NULL};
  PyObject *idp, *to = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:wait", kwlist, &idp, &to))
    return NULL;
  RT(self);
  struct id_call c = {.op = OP_WAIT, .timeout_ms = -1};
  if (to != Py_None) {
    double t = PyFloat_AsDouble(to);
    if (t == -1.0 && PyErr_Occurred())
      return NULL;
    if (t < 0 || t > 86400.0 * 365)
      return PyErr_Format(PyExc_ValueError, "timeout must be >= 0 seconds");
    c.timeout_ms = (int)(t * 1000.0);
  }
  return with_id(o, idp, &c) < 0 ? NULL : exit_dict(&c.exit);
}

static PyObject *rt_stats(PyObject *self, PyObject *arg) {
  RT(self);
  struct id_call c = {.op = OP_STATS};
  if (with_id(o, arg, &c) < 0)
    return NULL;
  kube_rt_stats_t *st = &c.stats;
  return Py_BuildValue(
      "{s:K,s:K,s:K,s:K,s:K}", "cpu_usage_ns",
      (unsigned long long)st->cpu_usage_ns, "memory_usage_bytes",
      (unsigned long long)st->memory_usage_bytes, "memory_limit_bytes",
      (unsigned long long)st->memory_limit_bytes, "pids_current",
      (unsigned long long)st->pids_current, "oom_kills",
      (unsigned long long)st->oom_kills);
}

/* A sequence of str as an owned NULL-terminated array borrowing from
 * `holds` (a list). */
static char **str_array(PyObject *seq, const char *what, PyObject *holds) {
  if (PyUnicode_Check(seq) || PyBytes_Check(seq)) {
    PyErr_Format(PyExc_TypeError, "%s must be a sequence of str, not a str",
                 what);
    return NULL;
  }
  PyObject *fast = PySequence_Fast(seq, "must be a sequence of str");
  if (!fast)
    return NULL;
  Py_ssize_t n = PySequence_Size(fast);
  char **a = calloc((size_t)n + 1, sizeof *a);
  for (Py_ssize_t i = 0; a && i < n; i++) {
    PyObject *item = PySequence_GetItem(fast, i), *h;
    const char *s = item ? pyk_utf8(item, what, &h) : NULL;
    Py_XDECREF(item);
    if (!s || PyList_Append(holds, h) < 0) {
      if (s)
        Py_DECREF(h);
      free(a);
      Py_DECREF(fast);
      return NULL;
    }
    Py_DECREF(h);
    a[i] = (char *)s;
  }
  Py_DECREF(fast);
  if (!a)
    PyErr_NoMemory();
  return a;
}

static PyObject *rt_exec(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"id",    "args",   "env",    "cwd", "user",
                           "stdin", "stdout", "stderr", NULL};
  PyObject *idp, *argv, *env = Py_None, *cwd = Py_None, *user = Py_None,
                        *in = Py_None, *out = Py_None, *errf = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|$OOOOOO:exec", kwlist, &idp,
                                   &argv, &env, &cwd, &user, &in, &out, &errf))
    return NULL;
  RT(self);
  PyObject *holds = PyList_New(0), *h = NULL;
  if (!holds)
    return NULL;
  PyObject *ret = NULL;
  char **av = NULL, **ev = NULL;
  kube_exec_options_t eo = {.struct_size = sizeof eo, .io = KUBE_RT_IO_NULL};
  const char *id = pyk_utf8(idp, "id", &h);
  if (!id || PyList_Append(holds, h) < 0)
    goto out;
  if (!(av = str_array(argv, "args", holds)))
    goto out;
  if (!av[0]) {
    PyErr_SetString(PyExc_ValueError, "args must not be empty");
    goto out;
  }
  if (env != Py_None && !(ev = str_array(env, "env", holds)))
    goto out;
  eo.args = av;
  eo.env = ev;
  Py_CLEAR(h);
  bool failed = false;
  eo.cwd = pyk_utf8_opt(cwd, "cwd", &h, &failed);
  if (failed || (h && PyList_Append(holds, h) < 0))
    goto out;
  if (user != Py_None) {
    unsigned int uid, gid;
    if (!PyArg_ParseTuple(user, "II;user must be a (uid, gid) tuple", &uid,
                          &gid))
      goto out;
    eo.set_user = true;
    eo.uid = uid;
    eo.gid = gid;
  }
  if (fd_arg(in, "stdin", &eo.io.stdin_fd) < 0 ||
      fd_arg(out, "stdout", &eo.io.stdout_fd) < 0 ||
      fd_arg(errf, "stderr", &eo.io.stderr_fd) < 0)
    goto out;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_exit_t ex;
  int r;
  PYK_LOCKED(&o->mu, r = kube_runtime_exec(o->rt, id, &eo, NULL, &ex, &err));
  if (r < 0)
    fail(&err);
  else
    ret = exit_dict(&ex);
out:
  Py_XDECREF(h);
  free(av);
  free(ev);
  Py_DECREF(holds);
  return ret;
}

static PyObject *rt_root(PyObject *self, void *c) {
  RT(self);
  return PyUnicode_FromString(kube_runtime_root(o->rt));
}

static PyObject *rt_cgroup_mode(PyObject *self, void *c) {
  RT(self);
  return PyUnicode_FromString(kube_runtime_cgroup_mode(o->rt));
}

#define KW (PyCFunction)(void (*)(void))
static PyMethodDef rt_methods[] = {
    {"create", KW rt_create, METH_VARARGS | METH_KEYWORDS,
     "create(id, bundle, config=None, *, stdin=None, stdout=None, "
     "stderr=None, log_path=None, start=False) -> None\n\n"
     "Create a container from an OCI bundle: config (a dict in config.json's "
     "shape) or bundle/config.json; the process waits for start() unless "
     "start=True.  stdio: None (/dev/null), an fd or a file; log_path: CRI "
     "log file for stdout/stderr."},
    {"start", rt_start, METH_O, "start(id) -> None\n\nLet the process exec."},
    {"run", KW rt_run, METH_VARARGS | METH_KEYWORDS,
     "run(id, bundle, config=None, *, stdin=None, stdout=None, stderr=None, "
     "log_path=None, wait=True) -> dict | None\n\n"
     "Create and start; with wait, block until the container exits and "
     "return its exit ({\"exit_code\", \"signal\", \"oom_killed\", "
     "\"reason\", \"finished_at\"})."},
    {"kill", KW rt_kill, METH_VARARGS | METH_KEYWORDS,
     "kill(id, signal=15, all=False) -> None\n\n"
     "Signal the init process (all: every process of the container)."},
    {"delete", KW rt_delete, METH_VARARGS | METH_KEYWORDS,
     "delete(id, force=False) -> None\n\n"
     "Remove a stopped container (force: kill it first)."},
    {"state", rt_state, METH_O,
     "state(id) -> dict\n\n"
     "{\"id\", \"bundle\", \"status\" (\"created\", \"running\", \"paused\", "
     "\"stopped\"), \"pid\", \"created\", \"exit\" (dict or None), "
     "\"cgroup_path\"}.  KeyError for an unknown id."},
    {"list", rt_list, METH_NOARGS, "list() -> list[str]\n\nContainer ids."},
    {"wait", KW rt_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(id, timeout=None) -> dict\n\n"
     "Block until the container exits (TimeoutError after timeout seconds) "
     "and return its exit."},
    {"exec", KW rt_exec, METH_VARARGS | METH_KEYWORDS,
     "exec(id, args, *, env=None, cwd=None, user=None, stdin=None, "
     "stdout=None, stderr=None) -> dict\n\n"
     "Run a process in a running container (its namespaces, cgroup, "
     "capabilities, seccomp), wait for it, return its exit."},
    {"stats", rt_stats, METH_O,
     "stats(id) -> dict\n\n"
     "cgroup usage: cpu_usage_ns, memory_usage_bytes, memory_limit_bytes, "
     "pids_current, oom_kills."},
    {"pause", rt_pause, METH_O, "pause(id) -> None\n\nFreeze every process."},
    {"resume", rt_resume, METH_O, "resume(id) -> None\n\nThaw them."},
    {NULL}};

static PyGetSetDef rt_getset[] = {
    {"root", rt_root, NULL, "The state directory.", NULL},
    {"cgroup_mode", rt_cgroup_mode, NULL, "\"v1\", \"v2\" or \"hybrid\".",
     NULL},
    {NULL}};

static PyType_Slot rt_slots[] = {
    {Py_tp_new, rt_new},
    {Py_tp_init, rt_init},
    {Py_tp_dealloc, rt_dealloc},
    {Py_tp_methods, rt_methods},
    {Py_tp_getset, rt_getset},
    {Py_tp_doc,
     "Runtime(root=None)\n\n"
     "The OCI container runtime of libkube (namespaces, pivot_root, "
     "cgroups v1/v2, capabilities, seccomp) with its state in root "
     "(default /run/libkube/runtime).  Needs root privileges.  Containers "
     "outlive this object."},
    {0, NULL}};

static PyType_Spec rt_spec = {"libkube.Runtime", sizeof(RuntimeObject), 0,
                              Py_TPFLAGS_DEFAULT, rt_slots};

int pyk_runtime_init(PyObject *module) {
  return pyk_add_type(module, &rt_spec, NULL) ? 0 : -1;
}
