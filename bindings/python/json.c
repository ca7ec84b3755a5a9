/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON bridge: Python values to JSON text and back, written here
 * rather than through the json module, because every request and every
 * answer of a Client crosses it (and every Scheduler.schedule call).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pykube.h"

/* ---- encoding ---- */

/* JSON text of a Python value, written here rather than by json.dumps:
 * json.dumps builds an encoder per call and a str that is then copied to
 * UTF-8; this writes UTF-8 once into a buffer (about 3x faster on a pod,
 * which is what Scheduler.schedule and every write pay).  Same output
 * rules as json.dumps(allow_nan=False): dict keys must be str, NaN and
 * infinities are refused. */
static int json_string(kube_strbuf_t *sb, PyObject *str) {
  PyObject *b = PyUnicode_AsUTF8String(str);
  if (!b)
    return -1;
  const unsigned char *p = (const unsigned char *)PyBytes_AsString(b);
  Py_ssize_t n = PyBytes_Size(b);
  kube_strbuf_append_char(sb, '"');
  Py_ssize_t run = 0; /* bytes copied as they are, in one go */
  for (Py_ssize_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    kube_strbuf_append_len(sb, (const char *)p + run, (size_t)(i - run));
    run = i + 1;
    char esc[8];
    int len = c == '"' || c == '\\' ? snprintf(esc, sizeof esc, "\\%c", c)
              : c == '\n'           ? snprintf(esc, sizeof esc, "\\n")
              : c == '\r'           ? snprintf(esc, sizeof esc, "\\r")
              : c == '\t'           ? snprintf(esc, sizeof esc, "\\t")
                                    : snprintf(esc, sizeof esc, "\\u%04x", c);
    kube_strbuf_append_len(sb, esc, (size_t)len);
  }
  kube_strbuf_append_len(sb, (const char *)p + run, (size_t)(n - run));
  kube_strbuf_append_char(sb, '"');
  Py_DECREF(b);
  return 0;
}

static int json_value(kube_strbuf_t *sb, PyObject *o);

static int json_text_of(kube_strbuf_t *sb, PyObject *o, bool repr) {
  PyObject *t = repr ? PyObject_Repr(o) : PyObject_Str(o);
  PyObject *b = t ? PyUnicode_AsUTF8String(t) : NULL;
  Py_XDECREF(t);
  if (!b)
    return -1;
  kube_strbuf_append_len(sb, PyBytes_AsString(b), (size_t)PyBytes_Size(b));
  Py_DECREF(b);
  return 0;
}

static int json_container(kube_strbuf_t *sb, PyObject *o) {
  int r = 0;
  if (PyDict_Check(o)) {
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    bool first = true;
    kube_strbuf_append_char(sb, '{');
    while (r == 0 && PyDict_Next(o, &pos, &k, &v)) {
      if (!PyUnicode_Check(k)) {
        PyErr_Format(PyExc_TypeError, "keys must be str, not %s", pyk_tname(k));
        return -1;
      }
      if (!first)
        kube_strbuf_append_char(sb, ',');
      first = false;
      r = json_string(sb, k);
      kube_strbuf_append_char(sb, ':');
      if (r == 0)
        r = json_value(sb, v);
    }
    kube_strbuf_append_char(sb, '}');
    return r;
  }
  PyObject *fast = PySequence_Fast(o, "");
  if (!fast)
    return -1;
  Py_ssize_t n = PySequence_Size(fast);
  kube_strbuf_append_char(sb, '[');
  for (Py_ssize_t i = 0; r == 0 && i < n; i++) {
    if (i)
      kube_strbuf_append_char(sb, ',');
    PyObject *item = PySequence_GetItem(fast, i);
    r = item ? json_value(sb, item) : -1;
    Py_XDECREF(item);
  }
  kube_strbuf_append_char(sb, ']');
  Py_DECREF(fast);
  return r;
}

static int json_value(kube_strbuf_t *sb, PyObject *o) {
  if (PyUnicode_Check(o))
    return json_string(sb, o);
  if (o == Py_None) {
    kube_strbuf_append(sb, "null");
    return 0;
  }
  if (o == Py_True || o == Py_False) {
    kube_strbuf_append(sb, o == Py_True ? "true" : "false");
    return 0;
  }
  if (PyLong_Check(o)) {
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
      return -1;
    if (overflow)
      return json_text_of(sb, o, false);
    kube_strbuf_printf(sb, "%lld", v);
    return 0;
  }
  if (PyFloat_Check(o)) {
    double d = PyFloat_AsDouble(o);
    if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
      PyErr_SetString(PyExc_ValueError,
                      "Out of range float values are not JSON compliant");
      return -1;
    }
    return json_text_of(sb, o, true);
  }
  if (!PyDict_Check(o) && !PyList_Check(o) && !PyTuple_Check(o)) {
    PyErr_Format(PyExc_TypeError, "Object of type %s is not JSON serializable",
                 pyk_tname(o));
    return -1;
  }
  if (Py_EnterRecursiveCall(" while encoding JSON"))
    return -1;
  int r = json_container(sb, o);
  Py_LeaveRecursiveCall();
  return r;
}

char *pyk_to_json(PyObject *obj, size_t *len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  if (json_value(&sb, obj) < 0) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  if (len)
    *len = sb.len;
  char *r = kube_strbuf_steal(&sb);
  if (!r)
    PyErr_NoMemory();
  return r;
}

/* ---- decoding ---- */

/* JSON text to Python values in one pass over the UTF-8 bytes, rather than
 * json.loads: that needs the text as a str first (a decoded copy), and
 * makes each key anew.  This parser makes what json.loads makes for the
 * JSON an API server sends (RFC 8259: objects, arrays, strings, numbers,
 * true, false, null); anything else -- a syntax error, NaN or Infinity
 * (which json.loads accepts), a lone UTF-16 surrogate, invalid UTF-8, a
 * nesting deeper than DEC_MAX_DEPTH -- is handed to json.loads, so the
 * result or the exception is json.loads' own. */

#define DEC_MAX_DEPTH 500

struct dec {
  const unsigned char *p, *end;
  int depth;
};

/* Keys repeat across answers ("metadata", "name", ...): a small
 * direct-mapped cache of interned str keys, guarded by the GIL, bounded
 * (KEY_SLOTS keys of at most KEY_MAX bytes) and kept for the process. */
#define KEY_SLOTS 1024
#define KEY_MAX 40

struct key_slot {
  unsigned char len;
  char bytes[KEY_MAX];
  PyObject *str;
};

static struct key_slot key_cache[KEY_SLOTS];

static PyObject *key_new(const unsigned char *s, size_t n) {
  if (n >= KEY_MAX)
    return PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "strict");
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 16777619u;
  struct key_slot *k = &key_cache[h % KEY_SLOTS];
  if (k->str && k->len == n && memcmp(k->bytes, s, n) == 0) {
    Py_INCREF(k->str);
    return k->str;
  }
  PyObject *str =
      PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "strict");
  if (!str)
    return NULL;
  PyUnicode_InternInPlace(&str);
  Py_XDECREF(k->str);
  k->str = str;
  k->len = (unsigned char)n;
  memcpy(k->bytes, s, n);
  Py_INCREF(str);
  return str;
}

static PyObject *dec_value(struct dec *d);

static void dec_ws(struct dec *d) {
  while (d->p < d->end &&
         (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
    d->p++;
}

static int hex4(const unsigned char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -1;
  }
  return v;
}

/* \" \\ \/ \b \f \n \r \t */
static const char ESCAPED[] = "\"\\/bfnrt";
static const char UNESCAPED[] = "\"\\/\b\f\n\r\t";

static size_t utf8_put(unsigned char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | cp >> 6);
    o[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | cp >> 12);
    o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (unsigned char)(0xf0 | cp >> 18);
  o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
  o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
  o[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

/* A string with escapes, from its opening quote's next byte `s`: unescaped
 * into UTF-8 (never longer than the text), then decoded.  NULL without a
 * Python error: json.loads decides. */
static PyObject *dec_escaped(struct dec *d, const unsigned char *s) {
  /* The unescaped text is never longer than the escaped one. */
  const unsigned char *q = s;
  while (q < d->end && *q != '"')
    q += *q == '\\' ? 2 : 1;
  unsigned char small[256];
  size_t cap = (size_t)(q - s);
  unsigned char *buf = cap <= sizeof small ? small : malloc(cap);
  if (!buf)
    return PyErr_NoMemory();
  size_t n = 0;
  const unsigned char *p = s;
  PyObject *r = NULL;
  for (;;) {
    if (p >= d->end || *p < 0x20)
      goto out;
    if (*p == '"')
      break;
    if (*p != '\\') {
      buf[n++] = *p++;
      continue;
    }
    if (p + 1 >= d->end)
      goto out;
    unsigned char e = p[1];
    p += 2;
    const char *f = e ? strchr(ESCAPED, e) : NULL;
    if (f) {
      buf[n++] = (unsigned char)UNESCAPED[f - ESCAPED];
      continue;
    }
    if (e != 'u')
      goto out;
    int cp = d->end - p >= 4 ? hex4(p) : -1;
    if (cp < 0)
      goto out;
    p += 4;
    if (cp >= 0xdc00 && cp <= 0xdfff)
      goto out; /* a lone low surrogate */
    if (cp >= 0xd800 && cp <= 0xdbff) {
      int lo =
          d->end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
      if (lo < 0xdc00 || lo > 0xdfff)
        goto out; /* a lone high surrogate */
      p += 6;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    /* \uXXXX is 6 bytes of text, its UTF-8 at most 3 (4 for a pair of
     * 12): the buffer never overflows. */
    n += utf8_put(buf + n, (uint32_t)cp);
  }
  d->p = p + 1;
  r = PyUnicode_DecodeUTF8((const char *)buf, (Py_ssize_t)n, "strict");
out:
  if (buf != small)
    free(buf);
  return r;
}

static PyObject *dec_string(struct dec *d, bool key) {
  const unsigned char *s = ++d->p, *q = s;
  while (q < d->end && *q != '"' && *q != '\\' && *q >= 0x20)
    q++;
  if (q >= d->end || *q < 0x20)
    return NULL;
  if (*q == '\\')
    return dec_escaped(d, s);
  d->p = q + 1;
  if (key)
    return key_new(s, (size_t)(q - s));
  return PyUnicode_DecodeUTF8((const char *)s, q - s, "strict");
}

static bool is_digit(const struct dec *d, const unsigned char *q) {
  return q < d->end && *q >= '0' && *q <= '9';
}

/* The grammar of json.loads (and RFC 8259): -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][-+]?[0-9]+)?; an int, or a float with a fraction or exponent. */
static PyObject *dec_number(struct dec *d) {
  const unsigned char *s = d->p, *q = s;
  if (q < d->end && *q == '-')
    q++;
  if (!is_digit(d, q))
    return NULL; /* -Infinity and the like */
  if (*q == '0')
    q++;
  else
    while (is_digit(d, q))
      q++;
  bool real = false;
  if (q < d->end && *q == '.') {
    if (!is_digit(d, ++q))
      return NULL;
    while (is_digit(d, q))
      q++;
    real = true;
  }
  if (q < d->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < d->end && (*q == '+' || *q == '-'))
      q++;
    if (!is_digit(d, q))
      return NULL;
    while (is_digit(d, q))
      q++;
    real = true;
  }
  d->p = q;
  size_t n = (size_t)(q - s);
  if (!real && n <= 18) {
    long long v = 0;
    for (const unsigned char *c = *s == '-' ? s + 1 : s; c < q; c++)
      v = v * 10 + (*c - '0');
    return PyLong_FromLongLong(*s == '-' ? -v : v);
  }
  char small[64];
  char *t = n < sizeof small ? small : malloc(n + 1);
  if (!t)
    return PyErr_NoMemory();
  memcpy(t, s, n);
  t[n] = '\0';
  PyObject *r = NULL;
  if (!real) {
    r = PyLong_FromString(t, NULL, 10);
  } else {
    PyObject *str = PyUnicode_FromStringAndSize(t, (Py_ssize_t)n);
    r = str ? PyFloat_FromString(str) : NULL;
    Py_XDECREF(str);
  }
  if (t != small)
    free(t);
  return r;
}

/* Past an opening bracket: true when `close` follows at once (empty). */
static bool dec_open(struct dec *d, unsigned char close) {
  d->p++;
  dec_ws(d);
  if (d->p < d->end && *d->p == close) {
    d->p++;
    return true;
  }
  return false;
}

/* After a member: 1 past `close` (the end), 0 past a comma (another
 * member follows), -1 for anything else. */
static int dec_next(struct dec *d, unsigned char close) {
  dec_ws(d);
  if (d->p >= d->end || (*d->p != close && *d->p != ','))
    return -1;
  bool end = *d->p++ == close;
  if (!end)
    dec_ws(d);
  return end ? 1 : 0;
}

static PyObject *dec_object(struct dec *d) {
  PyObject *o = PyDict_New();
  if (!o || dec_open(d, '}'))
    return o;
  for (;;) {
    if (d->p >= d->end || *d->p != '"')
      break;
    PyObject *k = dec_string(d, true);
    if (!k)
      break;
    dec_ws(d);
    if (d->p >= d->end || *d->p != ':') {
      Py_DECREF(k);
      break;
    }
    d->p++;
    dec_ws(d);
    PyObject *v = dec_value(d);
    int rc = v ? PyDict_SetItem(o, k, v) : -1;
    Py_DECREF(k);
    Py_XDECREF(v);
    if (rc < 0 || (rc = dec_next(d, '}')) < 0)
      break;
    if (rc == 1)
      return o;
  }
  Py_DECREF(o);
  return NULL;
}

static PyObject *dec_array(struct dec *d) {
  PyObject *a = PyList_New(0);
  if (!a || dec_open(d, ']'))
    return a;
  for (;;) {
    PyObject *v = dec_value(d);
    int rc = v ? PyList_Append(a, v) : -1;
    Py_XDECREF(v);
    if (rc < 0 || (rc = dec_next(d, ']')) < 0)
      break;
    if (rc == 1)
      return a;
  }
  Py_DECREF(a);
  return NULL;
}

static bool dec_word(struct dec *d, const char *w, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, w, n) != 0)
    return false;
  d->p += n;
  return true;
}

static PyObject *dec_constant(PyObject *c) {
  Py_INCREF(c);
  return c;
}

/* A value at d->p (no white space before it).  NULL: a Python error
 * (MemoryError, or what a str or number conversion raised), or none when
 * json.loads is to decide. */
static PyObject *dec_value(struct dec *d) {
  if (d->p >= d->end)
    return NULL;
  PyObject *r = NULL;
  switch (*d->p) {
  case '{':
  case '[':
    if (d->depth >= DEC_MAX_DEPTH)
      return NULL;
    d->depth++;
    r = *d->p == '{' ? dec_object(d) : dec_array(d);
    d->depth--;
    return r;
  case '"':
    return dec_string(d, false);
  case 't':
    return dec_word(d, "true", 4) ? dec_constant(Py_True) : NULL;
  case 'f':
    return dec_word(d, "false", 5) ? dec_constant(Py_False) : NULL;
  case 'n':
    return dec_word(d, "null", 4) ? dec_constant(Py_None) : NULL;
  default:
    return dec_number(d);
  }
}

/* The json module's way: the text as a str, then json.loads. */
static PyObject *json_loads(const char *data, size_t len) {
  PyObject *s = PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "strict");
  if (!s)
    return NULL;
  PyObject *r = PyObject_CallFunctionObjArgs(pyk_json_loads, s, NULL);
  Py_DECREF(s);
  return r;
}

PyObject *pyk_from_json(const char *data, size_t len) {
  struct dec d = {(const unsigned char *)data,
                  (const unsigned char *)data + len, 0};
  dec_ws(&d);
  PyObject *r = dec_value(&d);
  if (r) {
    dec_ws(&d);
    if (d.p == d.end)
      return r;
    Py_CLEAR(r); /* extra data after the value */
  }
  if (PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_MemoryError))
      return NULL;
    PyErr_Clear();
  }
  return json_loads(data, len);
}

kube_object_t *pyk_object_from_dict(PyObject *obj, const char *what) {
  if (!PyDict_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "%s must be a dict, not %s", what,
                 pyk_tname(obj));
    return NULL;
  }
  size_t len;
  char *json = pyk_to_json(obj, &len);
  if (!json)
    return NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, len, &err);
  free(json);
  if (!o) {
    PyErr_Format(PyExc_ValueError, "%s: %s", what, err.message);
    kube_error_clear(&err);
  }
  return o;
}

PyObject *pyk_object_to_dict(const kube_object_t *obj) {
  char *json = kube_object_to_json(obj, KUBE_JSON_COMPACT);
  if (!json)
    return PyErr_NoMemory();
  PyObject *r = pyk_from_json(json, strlen(json));
  free(json);
  return r;
}

/* ---- for tests: the bridge against the json module ---- */

static PyObject *json_loads_fn(PyObject *self, PyObject *arg) {
  if (!PyBytes_Check(arg))
    return PyErr_Format(PyExc_TypeError, "data must be bytes, not %s",
                        pyk_tname(arg));
  return pyk_from_json(PyBytes_AsString(arg), (size_t)PyBytes_Size(arg));
}

static PyObject *json_dumps_fn(PyObject *self, PyObject *arg) {
  size_t len;
  char *s = pyk_to_json(arg, &len);
  if (!s)
    return NULL;
  PyObject *r = PyBytes_FromStringAndSize(s, (Py_ssize_t)len);
  free(s);
  return r;
}

static PyMethodDef json_functions[] = {
    {"_json_loads", json_loads_fn, METH_O,
     "_json_loads(data: bytes) -> object\n\n"
     "What the module makes of an answer's JSON (json.loads' result and "
     "errors).  Internal, for tests."},
    {"_json_dumps", json_dumps_fn, METH_O,
     "_json_dumps(obj) -> bytes\n\n"
     "The JSON text the module sends for obj.  Internal, for tests."},
    {NULL}};

int pyk_json_init(PyObject *module) {
  return PyModule_AddFunctions(module, json_functions);
}
