/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers over libkube's core and api modules: parse_quantity,
 * LabelSelector, load_yaml.
 */
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

/* ---- parse_quantity ---- */

/* The exact decimal text of nano / 1e9 ("1.5", "-0.001", "1073741824"). */
static void nano_to_text(__int128 nano, char *buf, size_t len) {
  char digits[64];
  size_t n = 0;
  bool neg = nano < 0;
  unsigned __int128 v =
      neg ? -(unsigned __int128)nano : (unsigned __int128)nano;
  do {
    digits[n++] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v && n < sizeof digits);
  while (n < 10)
    digits[n++] = '0'; /* at least one integer digit and nine decimals */
  size_t o = 0;
  if (neg)
    buf[o++] = '-';
  for (size_t i = n; i-- > 9 && o < len - 1;)
    buf[o++] = digits[i];
  size_t frac_end = 0; /* drop trailing zeros of the fraction */
  while (frac_end < 9 && digits[frac_end] == '0')
    frac_end++;
  if (frac_end < 9 && o < len - 1) {
    buf[o++] = '.';
    for (size_t i = 9; i-- > frac_end && o < len - 1;)
      buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

PyDoc_STRVAR(parse_quantity_doc,
             "parse_quantity(text: str) -> decimal.Decimal\n\n"
             "The exact value of a Kubernetes quantity: \"1500m\" -> 1.5, "
             "\"1Gi\" -> 1073741824, \"2k\" -> 2000, \"1e3\" -> 1000.\n"
             "ValueError for text that is not a quantity.");

static PyObject *parse_quantity(PyObject *self, PyObject *arg) {
  PyObject *hold;
  const char *s = pyk_utf8(arg, "quantity", &hold);
  if (!s)
    return NULL;
  kube_quantity_t q;
  kube_error_t err = KUBE_ERROR_INIT;
  int r = kube_quantity_parse(s, &q, &err);
  Py_DECREF(hold);
  if (r < 0) {
    PyErr_SetString(PyExc_ValueError, err.message);
    kube_error_clear(&err);
    return NULL;
  }
  char text[80];
  nano_to_text(q.nano, text, sizeof text);
  return PyObject_CallFunction(pyk_Decimal, "s", text);
}

/* ---- load_yaml ---- */

PyDoc_STRVAR(load_yaml_doc,
             "load_yaml(text: str | bytes) -> list[dict]\n\n"
             "The objects of a YAML or JSON stream: every document (\"---\"), "
             "with `kind: List` documents flattened into their items and "
             "empty documents skipped.  ValueError on malformed input.");

static PyObject *load_yaml(PyObject *self, PyObject *arg) {
  PyObject *hold = NULL;
  const char *data;
  Py_ssize_t len;
  if (PyBytes_Check(arg)) {
    data = PyBytes_AsString(arg);
    len = PyBytes_Size(arg);
  } else {
    if (!(data = pyk_utf8(arg, "text", &hold))) {
      if (PyErr_ExceptionMatches(PyExc_ValueError))
        return NULL;
      PyErr_Format(PyExc_TypeError, "text must be a str or bytes, not %s",
                   pyk_tname(arg));
      return NULL;
    }
    len = PyBytes_Size(hold);
  }
  kube_object_t **objs = NULL;
  size_t n = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  Py_BEGIN_ALLOW_THREADS;
  r = kube_objects_decode(data, (size_t)len, &objs, &n, &err);
  Py_END_ALLOW_THREADS;
  Py_XDECREF(hold);
  if (r < 0) {
    PyErr_SetString(PyExc_ValueError, err.message);
    kube_error_clear(&err);
    return NULL;
  }
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (size_t i = 0; list && i < n; i++) {
    PyObject *d = pyk_object_to_dict(objs[i]);
    if (!d) {
      Py_CLEAR(list);
      break;
    }
    PyList_SetItem(list, (Py_ssize_t)i, d);
  }
  kube_object_array_free(objs, n);
  return list;
}

/* ---- LabelSelector ---- */

typedef struct {
  PyObject_HEAD kube_selector_t *sel;
} SelectorObject;

static int selector_init(PyObject *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"selector", NULL};
  PyObject *text;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:LabelSelector", kwlist,
                                   &text))
    return -1;
  PyObject *hold;
  const char *s = pyk_utf8(text, "selector", &hold);
  if (!s)
    return -1;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_selector_t *sel = kube_label_selector_parse(s, &err);
  Py_DECREF(hold);
  if (!sel) {
    PyErr_SetString(PyExc_ValueError, err.message);
    kube_error_clear(&err);
    return -1;
  }
  SelectorObject *o = (SelectorObject *)self;
  kube_selector_free(o->sel);
  o->sel = sel;
  return 0;
}

static void selector_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  kube_selector_free(((SelectorObject *)self)->sel);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

/* Looks labels up in the Python mapping being matched; values stay alive
 * in `holds` until the match ends. */
struct lookup_ctx {
  PyObject *labels;
  PyObject *holds; /* list */
  bool failed;
};

static const char *lookup(void *arg, const char *key) {
  struct lookup_ctx *c = arg;
  if (c->failed || c->labels == Py_None)
    return NULL;
  PyObject *v = PyMapping_GetItemString(c->labels, key);
  if (!v) {
    if (PyErr_ExceptionMatches(PyExc_KeyError))
      PyErr_Clear();
    else
      c->failed = true;
    return NULL;
  }
  PyObject *hold;
  const char *s = pyk_utf8(v, "a label value", &hold);
  Py_DECREF(v);
  if (!s || PyList_Append(c->holds, hold) < 0) {
    c->failed = true;
    Py_XDECREF(hold);
    return NULL;
  }
  Py_DECREF(hold);
  return s;
}

static PyObject *selector_matches(PyObject *self, PyObject *labels) {
  if (labels != Py_None && !PyDict_Check(labels) &&
      !(PyMapping_Check(labels) && PyObject_HasAttrString(labels, "keys")))
    return PyErr_Format(PyExc_TypeError,
                        "labels must be a mapping of str to str, not %s",
                        pyk_tname(labels));
  struct lookup_ctx c = {labels, PyList_New(0), false};
  if (!c.holds)
    return NULL;
  bool m = kube_selector_matches(((SelectorObject *)self)->sel, lookup, &c);
  Py_DECREF(c.holds);
  if (c.failed)
    return NULL;
  return PyBool_FromLong(m);
}

static PyObject *selector_str(PyObject *self) {
  if (!((SelectorObject *)self)->sel)
    return PyUnicode_FromString("");
  char *s = kube_selector_to_string(((SelectorObject *)self)->sel);
  if (!s)
    return PyErr_NoMemory();
  PyObject *r = PyUnicode_FromString(s);
  free(s);
  return r;
}

static PyObject *selector_repr(PyObject *self) {
  PyObject *s = selector_str(self);
  if (!s)
    return NULL;
  PyObject *r = PyUnicode_FromFormat("LabelSelector(%R)", s);
  Py_DECREF(s);
  return r;
}

static PyObject *selector_empty(PyObject *self, void *closure) {
  return PyBool_FromLong(kube_selector_empty(((SelectorObject *)self)->sel));
}

static PyMethodDef selector_methods[] = {
    {"matches", selector_matches, METH_O,
     "matches(labels: Mapping[str, str] | None) -> bool\n\n"
     "True when the labels satisfy every requirement."},
    {NULL}};

static PyGetSetDef selector_getset[] = {
    {"empty", selector_empty, NULL, "True for a selector that selects all.",
     NULL},
    {NULL}};

static PyType_Slot selector_slots[] = {
    {Py_tp_init, selector_init},
    {Py_tp_dealloc, selector_dealloc},
    {Py_tp_methods, selector_methods},
    {Py_tp_getset, selector_getset},
    {Py_tp_str, selector_str},
    {Py_tp_repr, selector_repr},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_doc, "LabelSelector(selector: str)\n\n"
                "A parsed label selector (\"app=web,tier in (a,b),!canary\"). "
                "str() gives its canonical form.  ValueError on bad syntax."},
    {0, NULL}};

static PyType_Spec selector_spec = {"libkube.LabelSelector",
                                    sizeof(SelectorObject), 0,
                                    Py_TPFLAGS_DEFAULT, selector_slots};

/* ---- logging ---- */

PyDoc_STRVAR(set_log_level_doc,
             "set_log_level(level: str) -> None\n\n"
             "How much libkube logs to stderr: \"error\", \"warning\" (the "
             "module's default unless $KUBE_LOG_LEVEL says otherwise), "
             "\"info\" or \"debug\".");

static PyObject *set_log_level(PyObject *self, PyObject *arg) {
  PyObject *hold;
  const char *s = pyk_utf8(arg, "level", &hold);
  if (!s)
    return NULL;
  int level = kube_log_level_parse(s);
  Py_DECREF(hold);
  if (level < 0) {
    PyErr_SetString(PyExc_ValueError,
                    "level must be \"error\", \"warning\", \"info\" or "
                    "\"debug\"");
    return NULL;
  }
  kube_log_set_level((kube_log_level_t)level);
  Py_RETURN_NONE;
}

static PyMethodDef helper_functions[] = {
    {"set_log_level", set_log_level, METH_O, set_log_level_doc},
    {"parse_quantity", parse_quantity, METH_O, parse_quantity_doc},
    {"load_yaml", load_yaml, METH_O, load_yaml_doc},
    {NULL}};

int pyk_helpers_init(PyObject *module) {
  /* A library imported into a program should not chat on stderr: info
   * lines ("kubed: serving ...") only when asked for. */
  if (!getenv("KUBE_LOG_LEVEL"))
    kube_log_set_level(KUBE_LOG_WARNING);
  if (PyModule_AddFunctions(module, helper_functions) < 0)
    return -1;
  return pyk_add_type(module, &selector_spec, NULL) ? 0 : -1;
}
