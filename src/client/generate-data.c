/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kubectl create configmap|secret generic|job`: data from literals, files,
 * directories and env files with kubectl's key rules and messages, and a
 * Job running one container.
 */
#include <ctype.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

static void copy_data_options(kube_generate_data_options_t *dst,
                              const kube_generate_data_options_t *src) {
  memset(dst, 0, sizeof *dst);
  core_opts_copy(dst, src);
}

/* [-._a-zA-Z0-9]+ (IsConfigMapKey), not "." or "..", at most 253. */
static bool config_key_ok(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 253 || streq(k, ".") || streq(k, "..") ||
      str_has_prefix(k, ".."))
    return false;
  for (const char *p = k; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
      return false;
  return true;
}

#define CONFIG_KEY_RULE                                                        \
  "a valid config key must consist of alphanumeric characters, '-', '_' or "   \
  "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "      \
  "validation is '[-._a-zA-Z0-9]+')"

/* IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]* */
static bool env_name_ok(const char *k) {
  if (!*k || isdigit((unsigned char)*k))
    return false;
  for (const char *p = k; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
      return false;
  return true;
}

static bool utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t len = c < 0x80         ? 1
                 : (c >> 5) == 6  ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 0;
    if (!len || i + len > n)
      return false;
    for (size_t j = 1; j < len; j++)
      if ((s[i + j] & 0xC0) != 0x80)
        return false;
    /* Overlong forms and surrogates are not valid UTF-8 either. */
    if ((len == 2 && c < 0xC2) || (len == 3 && c == 0xE0 && s[i + 1] < 0xA0) ||
        (len == 3 && c == 0xED && s[i + 1] >= 0xA0) ||
        (len == 4 && c == 0xF0 && s[i + 1] < 0x90) ||
        (len == 4 && (c > 0xF4 || (c == 0xF4 && s[i + 1] >= 0x90))))
      return false;
    i += len;
  }
  return true;
}

struct data_ctx {
  bool secret;
  const char *name;
  json_object *data, *binary; /* data maps being filled */
  kube_error_t *err;
};

/* One key: validated, unique, UTF-8 text in data (base64 for a Secret),
 * other bytes in binaryData (ConfigMaps). */
static int add_key(struct data_ctx *c, const char *key, const char *value,
                   size_t len) {
  if (!config_key_ok(key))
    return c->secret
               ? kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                                "\"%s\" is not valid key name for a Secret "
                                "%s",
                                key, CONFIG_KEY_RULE)
               : kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                                "\"%s\" is not a valid key name for a "
                                "ConfigMap: %s",
                                key, CONFIG_KEY_RULE);
  if (c->secret) {
    if (json_object_object_get_ex(c->data, key, NULL))
      return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                            "cannot add key %s, another key by that name "
                            "already exists",
                            key);
    cleanup_free char *b64 = kube_base64_encode(value, len);
    if (!b64)
      return kube_make_oom(c->err);
    json_object_object_add(c->data, key, json_object_new_string(b64));
    return 0;
  }
  const char *in = json_object_object_get_ex(c->data, key, NULL) ? "Data"
                   : json_object_object_get_ex(c->binary, key, NULL)
                       ? "BinaryData"
                       : NULL;
  if (in)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "cannot add key \"%s\", another key by that name "
                          "already exists in %s for ConfigMap \"%s\"",
                          key, in, c->name);
  if (utf8_valid((const unsigned char *)value, len)) {
    json_object_object_add(c->data, key,
                           json_object_new_string_len(value, (int)len));
  } else {
    cleanup_free char *b64 = kube_base64_encode(value, len);
    if (!b64)
      return kube_make_oom(c->err);
    json_object_object_add(c->binary, key, json_object_new_string(b64));
  }
  return 0;
}

/* An errno as Go's syscall errors spell it ("no such file or directory"). */
static const char *go_strerror(int e, char *buf, size_t len) {
  snprintf(buf, len, "%s", strerror(e));
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

static char *read_file(const char *path, size_t *len, kube_error_t *err) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (fd < 0 || kube_read_all(fd, &sb) < 0) {
    kube_strbuf_clear(&sb);
    char eb[128];
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, errno, "error reading %s: %s",
                   path, go_strerror(errno, eb, sizeof eb));
    return NULL;
  }
  kube_strbuf_append(&sb, "");
  *len = sb.len;
  return kube_strbuf_steal(&sb);
}

static int add_file(struct data_ctx *c, const char *key, const char *path) {
  size_t len;
  cleanup_free char *data = read_file(path, &len, c->err);
  return data ? add_key(c, key, data, len) : -1;
}

/* --from-file=[key=]path: a file, or each regular file of a directory. */
static int add_file_source(struct data_ctx *c, const char *src) {
  const char *eq = strchr(src, '=');
  size_t neq = 0;
  for (const char *p = src; *p; p++)
    neq += *p == '=';
  if (neq > 1)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "key names or file paths cannot contain '='");
  if (eq == src)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "key name for file path %s missing", src + 1);
  if (eq && !eq[1])
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "file path for key name %.*s missing",
                          (int)(eq - src), src);
  cleanup_free char *key = eq ? strndup(src, (size_t)(eq - src)) : NULL;
  const char *path = eq ? eq + 1 : src;
  struct stat st;
  char eb[128];
  if (stat(path, &st) < 0)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, errno,
                          "error reading %s: %s", path,
                          go_strerror(errno, eb, sizeof eb));
  if (!S_ISDIR(st.st_mode)) {
    const char *base = strrchr(path, '/');
    return add_file(c, key ? key : base ? base + 1 : path, path);
  }
  if (key)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "cannot give a key name for a directory path");
  char **names = NULL;
  size_t n = 0;
  if (client_dir_names(path, false, &names, &n) < 0)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, errno,
                          "error reading %s: %s", path,
                          go_strerror(errno, eb, sizeof eb));
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    char *full = NULL;
    struct stat fs;
    /* Only regular files; subdirectories and the rest are skipped. */
    if (rc == 0 && asprintf(&full, "%s/%s", path, names[i]) >= 0 &&
        lstat(full, &fs) == 0 && S_ISREG(fs.st_mode))
      rc = add_file(c, names[i], full);
    free(full);
  }
  client_dir_names_free(names, n);
  return rc;
}

/* --from-literal=key=value (the value as given, quotes included). */
static int add_literal(struct data_ctx *c, const char *src) {
  const char *eq = strchr(src, '=');
  if (!eq || eq == src)
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid literal source %s, expected key=value", src);
  cleanup_free char *key = strndup(src, (size_t)(eq - src));
  return key ? add_key(c, key, eq + 1, strlen(eq + 1)) : kube_make_oom(c->err);
}

/* --from-env-file: KEY=VALUE lines; blank lines and '#' comments skipped;
 * a KEY alone takes its value from the environment. */
static int add_env_file(struct data_ctx *c, const char *path) {
  size_t len;
  cleanup_free char *text = read_file(path, &len, c->err);
  if (!text)
    return -1;
  if (!utf8_valid((const unsigned char *)text, len))
    return kube_error_set(c->err, KUBE_REASON_BAD_REQUEST, 0,
                          "env file %s contains invalid utf8 bytes", path);
  char *line = text;
  if (str_has_prefix(line, "\xEF\xBB\xBF"))
    line += 3;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    while (*line && strchr(" \t\r\v\f", *line))
      line++;
    size_t l = strlen(line);
    if (l && line[l - 1] == '\r')
      line[--l] = '\0';
    if (*line && *line != '#') {
      char *eq = strchr(line, '=');
      if (eq)
        *eq = '\0';
      if (!env_name_ok(line))
        return kube_error_set(
            c->err, KUBE_REASON_BAD_REQUEST, 0,
            "\"%s\" is not a valid key name: a valid environment variable "
            "name must consist of alphabetic characters, digits, '_', '-', or "
            "'.', and must not start with a digit (e.g. 'my.env-name',  or "
            "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
            "'[-._a-zA-Z][-._a-zA-Z0-9]*')",
            line);
      const char *v = eq ? eq + 1 : getenv(line);
      if (add_key(c, line, v ? v : "", v ? strlen(v) : 0) < 0)
        return -1;
    }
    line = nl ? nl + 1 : NULL;
  }
  return 0;
}

static json_object *new_meta(const char *name, const char *ns) {
  json_object *meta = json_object_new_object();
  json_object_object_add(meta, "creationTimestamp", NULL);
  json_object_object_add(meta, "name", json_object_new_string(name));
  if (ns && *ns)
    json_object_object_add(meta, "namespace", json_object_new_string(ns));
  return meta;
}

static kube_object_t *generate_data(const kube_generate_data_options_t *opts,
                                    bool secret, kube_error_t *err) {
  kube_generate_data_options_t o;
  copy_data_options(&o, opts);
  if (!o.name || !*o.name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "NAME is required"),
           NULL;
  struct data_ctx c = {secret, o.name, json_object_new_object(),
                       json_object_new_object(), err};
  int rc = c.data && c.binary ? 0 : kube_make_oom(err);
  for (size_t i = 0; rc == 0 && o.files && o.files[i]; i++)
    rc = add_file_source(&c, o.files[i]);
  for (size_t i = 0; rc == 0 && o.literals && o.literals[i]; i++)
    rc = add_literal(&c, o.literals[i]);
  for (size_t i = 0; rc == 0 && o.env_files && o.env_files[i]; i++)
    rc = add_env_file(&c, o.env_files[i]);
  json_object *obj = rc == 0 ? json_object_new_object() : NULL;
  if (!obj) {
    json_object_put(c.data);
    json_object_put(c.binary);
    if (rc == 0)
      kube_make_oom(err);
    return NULL;
  }
  json_object_object_add(obj, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(
      obj, "kind", json_object_new_string(secret ? "Secret" : "ConfigMap"));
  json_object_object_add(obj, "metadata", new_meta(o.name, o.namespace_));
  /* Empty maps are omitted, as Go omits them. */
  if (json_object_object_length(c.data))
    json_object_object_add(obj, "data", c.data);
  else
    json_object_put(c.data);
  if (json_object_object_length(c.binary))
    json_object_object_add(obj, "binaryData", c.binary);
  else
    json_object_put(c.binary);
  if (secret && o.type && *o.type)
    json_object_object_add(obj, "type", json_object_new_string(o.type));
  kube_object_t *k = kube_object_wrap(obj);
  if (!k) {
    json_object_put(obj);
    kube_make_oom(err);
  }
  return k;
}

KUBE_EXPORT kube_object_t *
kube_generate_configmap(const kube_generate_data_options_t *o,
                        kube_error_t *err) {
  return generate_data(o, false, err);
}

KUBE_EXPORT kube_object_t *
kube_generate_secret(const kube_generate_data_options_t *o, kube_error_t *err) {
  return generate_data(o, true, err);
}

KUBE_EXPORT kube_object_t *kube_generate_job(const kube_generate_options_t *o,
                                             kube_error_t *err) {
  if (!o || !o->name || !*o->name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "NAME is required"),
           NULL;
  if (!o->image || !*o->image)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "either --image or --from must be specified"),
           NULL;
  json_object *c = json_object_new_object();
  if (o->args && o->args[0]) {
    json_object *cmd = json_object_new_array();
    for (size_t i = 0; o->args[i]; i++)
      json_object_array_add(cmd, json_object_new_string(o->args[i]));
    json_object_object_add(c, "command", cmd);
  }
  json_object_object_add(c, "image", json_object_new_string(o->image));
  json_object_object_add(c, "name", json_object_new_string(o->name));
  json_object_object_add(c, "resources", json_object_new_object());
  json_object *cs = json_object_new_array();
  json_object_array_add(cs, c);
  json_object *pspec = json_object_new_object();
  json_object_object_add(pspec, "containers", cs);
  json_object_object_add(pspec, "restartPolicy",
                         json_object_new_string("Never"));
  json_object *tmeta = json_object_new_object();
  json_object_object_add(tmeta, "creationTimestamp", NULL);
  json_object *tmpl = json_object_new_object();
  json_object_object_add(tmpl, "metadata", tmeta);
  json_object_object_add(tmpl, "spec", pspec);
  json_object *spec = json_object_new_object();
  json_object_object_add(spec, "template", tmpl);
  json_object *job = json_object_new_object();
  json_object_object_add(job, "apiVersion", json_object_new_string("batch/v1"));
  json_object_object_add(job, "kind", json_object_new_string("Job"));
  json_object_object_add(job, "metadata", new_meta(o->name, o->namespace_));
  json_object_object_add(job, "spec", spec);
  json_object_object_add(job, "status", json_object_new_object());
  kube_object_t *k = kube_object_wrap(job);
  if (!k) {
    json_object_put(job);
    kube_make_oom(err);
  }
  return k;
}
