/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CPython extension module `libkube`, over the public headers of
 * libkube.so only, against the stable ABI (Py_LIMITED_API 3.9: one build,
 * libkube.abi3.so, for every CPython >= 3.9).
 *
 * Shared by the files of bindings/python/: the module's exception types,
 * the JSON bridge (Python objects cross as the dict/list shape the API
 * uses, json.c), argument helpers, and the gate that
 * keeps calls off a Server that is shutting down.
 *
 * Rules every file follows:
 * - A blocking C call runs between Py_BEGIN/END_ALLOW_THREADS and touches
 *   no Python object there.
 * - A Python exception raised by a callback is caught where C called it
 *   and never crosses C frames (PyErr_* state is saved or reported).
 * - A C object used by several Python threads is guarded by a pthread
 *   mutex, taken with the GIL released so two threads cannot deadlock on
 *   the GIL and the mutex.
 */
#ifndef PYKUBE_H
#define PYKUBE_H

#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#error "the libkube module is built against the limited API (Py_LIMITED_API)"
#endif
#include <Python.h>

#include <pthread.h>
#include <stdbool.h>

#include <libkube/libkube.h>

/* ---- module state (set once at import, never freed) ---- */

extern PyObject *pyk_ApiError;      /* libkube.ApiError(Exception) */
extern PyObject *pyk_Unschedulable; /* libkube.Unschedulable(Exception) */
extern PyObject *pyk_json_loads;    /* json.loads */
extern PyObject *pyk_Decimal;       /* decimal.Decimal */

/* ---- strings ---- */

/* The name of obj's type, for messages ("dict", "NoneType"; "nothing" for
 * NULL).  The limited API has no tp_name: a static buffer, which the GIL
 * guards; valid until the next call. */
const char *pyk_tname(PyObject *obj);

/* A UTF-8 view of a str argument.  `hold` receives a new reference that
 * owns the bytes (release it with Py_XDECREF); NULL with TypeError naming
 * `what` when obj is not a str.  The limited API of 3.9 has no
 * PyUnicode_AsUTF8AndSize, hence the bytes object. */
const char *pyk_utf8(PyObject *obj, const char *what, PyObject **hold);
/* The same for an optional argument: NULL (no error) for None. */
const char *pyk_utf8_opt(PyObject *obj, const char *what, PyObject **hold,
                         bool *failed);

/* ---- JSON bridge ---- */

/* What json.dumps(obj) writes, as a UTF-8 C string (owned: free()).
 * NULL with a Python error (TypeError for what JSON cannot hold). */
char *pyk_to_json(PyObject *obj, size_t *len);
/* What json.loads makes of len bytes of UTF-8 JSON text (a new
 * reference), NULL with json.loads' error. */
PyObject *pyk_from_json(const char *data, size_t len);
/* obj (a dict) as an owned kube_object_t, NULL with a Python error
 * (TypeError when obj is not a dict). */
kube_object_t *pyk_object_from_dict(PyObject *obj, const char *what);
/* A kube_object_t (borrowed) as a new dict, NULL with a Python error. */
PyObject *pyk_object_to_dict(const kube_object_t *obj);

/* ---- errors ---- */

/* Raise the Python exception that matches a kube_error_t: ApiError for
 * answers of a server (`status_code` > 0, `body` its Status or NULL),
 * ConnectionError / TimeoutError for transport failures, ValueError for
 * BadRequest / Invalid / AlreadyExists, KeyError for NotFound, MemoryError
 * for out of memory, RuntimeError otherwise.  Returns NULL. */
PyObject *pyk_raise(const kube_error_t *err);
/* pyk_raise(err), then clear *err.  Returns NULL. */
PyObject *pyk_raise_clear(kube_error_t *err);
/* Raise ApiError for a server's error answer. */
PyObject *pyk_raise_api(int code, const char *body, size_t len,
                        const kube_error_t *err);

/* ---- waiting without the GIL ---- */

/* Run `stmt` with the GIL released and `mu` (a pthread_mutex_t *) held:
 * the C object behind mu is used by one Python thread at a time, and a
 * thread waiting for it does not hold the GIL. */
#define PYK_LOCKED(mu, stmt)                                                   \
  do {                                                                         \
    Py_BEGIN_ALLOW_THREADS;                                                    \
    pthread_mutex_lock(mu);                                                    \
    stmt;                                                                      \
    pthread_mutex_unlock(mu);                                                  \
    Py_END_ALLOW_THREADS;                                                      \
  } while (0)

/* pthread_cond_timedwait for at most ms milliseconds (mu held): a thread
 * that waits in slices like this can check for Ctrl-C in between. */
void pyk_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms);

/* ---- Server gate ---- */

/* Calls into an in-process server pass a gate: a Server that is closing
 * refuses new calls and waits until the calls in flight returned before
 * it stops its loop (a call handed to a stopped loop would never be
 * answered).  Reference counted: the Server, each Client over it and each
 * running watch thread hold one. */
struct pyk_gate_hook {
  void (*fn)(void *arg); /* called once by close, without the GIL */
  void *arg;
  struct pyk_gate_hook *next;
};

typedef struct pyk_gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refs;
  int inflight;
  bool closed;
  /* Long-running users (a running Controller) that must let go when the
   * Server closes. */
  struct pyk_gate_hook *hooks;
} pyk_gate_t;

pyk_gate_t *pyk_gate_new(void);
void pyk_gate_ref(pyk_gate_t *g);
void pyk_gate_unref(pyk_gate_t *g);
/* 0, or -1 (no Python error set: the caller raises) when closed.  Any
 * thread, with or without the GIL. */
int pyk_gate_enter(pyk_gate_t *g);
void pyk_gate_leave(pyk_gate_t *g);
/* Close the gate, run the hooks, and wait until no call is in flight.
 * Call with the GIL released. */
void pyk_gate_close_and_wait(pyk_gate_t *g);
/* Register / remove a hook (h is the caller's, and stays registered until
 * removed).  pyk_gate_add_hook returns -1 when the gate is closed. */
int pyk_gate_add_hook(pyk_gate_t *g, struct pyk_gate_hook *h);
void pyk_gate_remove_hook(pyk_gate_t *g, struct pyk_gate_hook *h);

/* ---- the C side of a Client, shared with its watch threads ---- */

typedef struct pyk_conn {
  pthread_mutex_t mu; /* serialises a socket client's requests */
  int refs;           /* atomic */
  kube_client_t *c;
  bool serialize;   /* a socket client: one request at a time */
  pyk_gate_t *gate; /* an in-process client's server gate, or NULL */
  /* An in-process client's loop and transport (loop NULL otherwise). */
  kube_loop_t *loop;
  kube_transport_t tp;
  /* A socket client's configuration (owned, may be NULL), for the
   * asynchronous HTTP transport a Controller opens. */
  char *kubeconfig, *context;
} pyk_conn_t;

/* A conn over `c` (stolen); `gate` (may be NULL) gets a reference.  NULL
 * on out of memory (c is freed). */
pyk_conn_t *pyk_conn_new(kube_client_t *c, bool serialize, pyk_gate_t *gate);

void pyk_conn_unref(pyk_conn_t *k);
void pyk_conn_ref(pyk_conn_t *k);

/* ---- types (each file registers its own) ---- */

int pyk_client_init(PyObject *module);
int pyk_server_init(PyObject *module);
int pyk_scheduler_init(PyObject *module);
int pyk_runtime_init(PyObject *module);
int pyk_controller_init(PyObject *module);
int pyk_helpers_init(PyObject *module);
int pyk_json_init(PyObject *module);

/* A new libkube.Client over `conn` (stolen); `owner` (may be NULL) is kept
 * alive as long as the client (the Server of an in-process client). */
PyObject *pyk_client_wrap(pyk_conn_t *conn, PyObject *owner);
/* The pyk_conn_t of a libkube.Client (borrowed), NULL with TypeError. */
pyk_conn_t *pyk_client_conn(PyObject *client);

/* Add a type made from `spec` to the module under its short name; the new
 * type (a borrowed reference kept by the module) or NULL. */
PyTypeObject *pyk_add_type(PyObject *module, PyType_Spec *spec, PyObject *base);

#endif /* PYKUBE_H */
