/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What travels on the error and resize streams of a remote command: the
 * Status object (v4, v5) or plain text (v1..v3) that ends a command, and
 * the terminal sizes of a tty.  The JSON is written field by field in the
 * order json.Marshal(metav1.Status) uses, since clients (the Python client
 * reads causes[0]) rely on the shape.
 */
#include <json-c/json.h>

#include "stream/internal.h"

#define NONZERO_PREFIX "command terminated with non-zero exit code: "

void stream_status_json(kube_strbuf_t *out, int exit_code,
                        const char *error_message) {
  if (!error_message && exit_code == 0) {
    kube_strbuf_append(out, "{\"metadata\":{},\"status\":\"Success\"}");
    return;
  }
  char msg[64];
  kube_strbuf_append(out, "{\"metadata\":{},\"status\":\"Failure\",");
  if (!error_message) {
    snprintf(msg, sizeof msg, NONZERO_PREFIX "exit status %d", exit_code);
    kube_strbuf_append(out, "\"message\":");
    kube_strbuf_append_json_string(out, msg);
    kube_strbuf_printf(out,
                       ",\"reason\":\"NonZeroExitCode\",\"details\":{"
                       "\"causes\":[{\"reason\":\"ExitCode\",\"message\":"
                       "\"%d\"}]}}",
                       exit_code);
    return;
  }
  cleanup_strbuf kube_strbuf_t m = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&m, "Internal error occurred: %s", error_message);
  kube_strbuf_append(out, "\"message\":");
  kube_strbuf_append_json_string(out, m.data ? m.data : "");
  kube_strbuf_append(out, ",\"reason\":\"InternalError\",\"details\":{"
                          "\"causes\":[{\"message\":");
  kube_strbuf_append_json_string(out, error_message);
  kube_strbuf_append(out, "}]},\"code\":500}");
}

void stream_status_text(kube_strbuf_t *out, int exit_code,
                        const char *error_message) {
  if (error_message)
    kube_strbuf_printf(out, "Internal error occurred: %s", error_message);
  else if (exit_code != 0)
    kube_strbuf_printf(out, NONZERO_PREFIX "exit status %d", exit_code);
}

static char *dup_len(const char *s, size_t len) {
  char *r = malloc(len + 1);
  if (r) {
    memcpy(r, s, len);
    r[len] = '\0';
  }
  return r;
}

static const char *get_str(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* As client-go's errorDecoderV4. */
static void decode_v4(const char *buf, size_t len, int *exit_code,
                      char **message) {
  json_tokener *tok = json_tokener_new();
  json_object *o = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
  if (tok)
    json_tokener_free(tok);
  if (!o || !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    *exit_code = -1;
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append(&sb, "error stream protocol error: not a Status: ");
    kube_strbuf_append_len(&sb, buf, len > 200 ? 200 : len);
    *message = kube_strbuf_steal(&sb);
    return;
  }
  const char *status = get_str(o, "status");
  const char *reason = get_str(o, "reason");
  const char *msg = get_str(o, "message");
  *exit_code = -1;
  if (status && streq(status, "Success")) {
    *exit_code = 0;
  } else if (status && streq(status, "Failure") && reason &&
             streq(reason, "NonZeroExitCode")) {
    json_object *details, *causes;
    if (json_object_object_get_ex(o, "details", &details) &&
        json_object_object_get_ex(details, "causes", &causes) &&
        json_object_is_type(causes, json_type_array)) {
      for (size_t i = 0; i < json_object_array_length(causes); i++) {
        json_object *c = json_object_array_get_idx(causes, i);
        const char *type = get_str(c, "reason");
        const char *val = get_str(c, "message");
        if (!type || !streq(type, "ExitCode") || !val)
          continue;
        char *end;
        errno = 0;
        unsigned long rc = strtoul(val, &end, 10);
        if (*val && !*end && !errno && rc <= 255)
          *exit_code = (int)rc;
        else
          msg = "error stream protocol error: invalid exit code value";
        break;
      }
    }
    if (*exit_code < 0 && !msg)
      msg = "error stream protocol error: no ExitCode cause given";
  } else if (!status || !streq(status, "Failure")) {
    msg = "error stream protocol error: unknown error";
  }
  if (*exit_code < 0)
    *message = strdup(msg ? msg : "unknown error");
  json_object_put(o);
}

void stream_status_decode(int version, const char *buf, size_t len,
                          int *exit_code, char **message) {
  *message = NULL;
  if (version >= 4) {
    if (len == 0) {
      /* The stream ended without a Status: nothing went wrong that the
       * server reported (client-go treats it as success too). */
      *exit_code = 0;
      return;
    }
    decode_v4(buf, len, exit_code, message);
    return;
  }
  if (len == 0) {
    *exit_code = 0;
    return;
  }
  *exit_code = -1;
  *message = dup_len(buf, len);
}

void stream_resize_json(kube_strbuf_t *out, uint16_t w, uint16_t h) {
  kube_strbuf_printf(out, "{\"Width\":%u,\"Height\":%u}\n", (unsigned)w,
                     (unsigned)h);
}

/* Length of the first complete JSON object in s[0..len) (after leading
 * blanks), 0 when incomplete, -1 when s does not start an object. */
static long object_end(const char *s, size_t len, size_t *start) {
  size_t i = 0;
  while (i < len &&
         (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
    i++;
  *start = i;
  if (i == len)
    return 0;
  if (s[i] != '{')
    return -1;
  int depth = 0;
  bool in_str = false, esc = false;
  for (; i < len; i++) {
    char c = s[i];
    if (in_str) {
      if (esc)
        esc = false;
      else if (c == '\\')
        esc = true;
      else if (c == '"')
        in_str = false;
      continue;
    }
    if (c == '"')
      in_str = true;
    else if (c == '{' || c == '[')
      depth++;
    else if ((c == '}' || c == ']') && --depth == 0)
      return (long)(i + 1);
  }
  return 0;
}

static int dim(json_object *o, const char *key, uint16_t *v) {
  json_object *x;
  *v = 0;
  if (!json_object_object_get_ex(o, key, &x))
    return 0; /* Go leaves missing fields at zero */
  if (!json_object_is_type(x, json_type_int))
    return -1;
  int64_t n = json_object_get_int64(x);
  if (n < 0 || n > 65535)
    return -1;
  *v = (uint16_t)n;
  return 0;
}

int stream_resize_feed(stream_resize_parser_t *p, const void *buf, size_t len,
                       void (*fn)(void *arg, uint16_t w, uint16_t h), void *arg,
                       kube_error_t *err) {
  kube_strbuf_append_len(&p->buf, buf, len);
  if (p->buf.oom)
    return kube_make_oom(err);
  for (;;) {
    size_t start = 0;
    long end = p->buf.len ? object_end(p->buf.data, p->buf.len, &start) : 0;
    if (end < 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "resize stream: expected a JSON object");
    if (end == 0) {
      if (p->buf.len - start > 4096)
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                              "resize stream: object too large");
      if (start == p->buf.len)
        kube_strbuf_reset(&p->buf);
      return 0;
    }
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, p->buf.data + start,
                                                 (int)((size_t)end - start))
                         : NULL;
    if (tok)
      json_tokener_free(tok);
    uint16_t w, h;
    bool ok = o && json_object_is_type(o, json_type_object) &&
              dim(o, "Width", &w) == 0 && dim(o, "Height", &h) == 0;
    json_object_put(o);
    if (!ok)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "resize stream: invalid terminal size");
    memmove(p->buf.data, p->buf.data + end, p->buf.len - (size_t)end);
    p->buf.len -= (size_t)end;
    p->buf.data[p->buf.len] = '\0';
    fn(arg, w, h);
  }
}

void stream_resize_clear(stream_resize_parser_t *p) {
  kube_strbuf_clear(&p->buf);
}
