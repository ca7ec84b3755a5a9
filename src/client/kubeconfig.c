/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubeconfig files, as kubectl reads them: named clusters, users and
 * contexts, current-context, inline (base64) or file certificates, tokens.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "client/internal.h"
#include "core/util.h"

KUBE_EXPORT void kube_kubeconfig_free(kube_kubeconfig_t *kc) {
  if (!kc)
    return;
  free(kc->context);
  free(kc->cluster);
  free(kc->user);
  free(kc->server);
  free(kc->namespace_);
  free(kc->token);
  free(kc->username);
  free(kc->password);
  free(kc->certificate_authority);
  free(kc->certificate_authority_data);
  free(kc->client_certificate);
  free(kc->client_certificate_data);
  free(kc->client_key);
  free(kc->client_key_data);
  free(kc->tls_server_name);
  free(kc->path);
  free(kc);
}

int kube_read_all(int fd, kube_strbuf_t *sb) {
  char buf[16384];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0)
      return 0;
    kube_strbuf_append_len(sb, buf, (size_t)r);
  }
}

/* Read a whole file into an owned NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len, kube_error_t *err) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kube_error_set(err,
                          errno == ENOENT ? KUBE_REASON_NOT_FOUND
                                          : KUBE_REASON_FORBIDDEN,
                          errno, "open %s: %s", path, strerror(errno)),
           NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (kube_read_all(fd, &sb) < 0) {
    kube_make_error(err, errno, "read %s: %s", path, strerror(errno));
    kube_strbuf_clear(&sb);
    return NULL;
  }
  kube_strbuf_append(&sb, "");
  *len = sb.len;
  char *data = kube_strbuf_steal(&sb);
  if (!data)
    kube_make_oom(err);
  return data;
}

/* The entry named `name` of a list of {name:, <field>: {...}}. */
static json_object *named_entry(json_object *root, const char *list,
                                const char *field, const char *name) {
  json_object *arr;
  if (!json_object_object_get_ex(root, list, &arr) ||
      !json_object_is_type(arr, json_type_array))
    return NULL;
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    json_object *n, *body;
    const char *ename;
    if (json_object_object_get_ex(e, "name", &n) &&
        (ename = json_object_get_string(n)) && streq(ename, name) &&
        json_object_object_get_ex(e, field, &body))
      return body;
  }
  return NULL;
}

static const char *str_field(json_object *o, const char *key) {
  json_object *v;
  if (!o || !json_object_object_get_ex(o, key, &v) || !v)
    return NULL;
  return json_object_get_string(v);
}

static bool bool_field(json_object *o, const char *key) {
  json_object *v;
  if (!o || !json_object_object_get_ex(o, key, &v) || !v)
    return false;
  if (json_object_is_type(v, json_type_string))
    return strcasecmp(json_object_get_string(v), "true") == 0;
  return json_object_get_boolean(v);
}

/* Copy a path field, made absolute against dir. */
static int dup_path(char **dst, const char *p, const char *dir) {
  if (!p || !*p)
    return 0;
  if (p[0] == '/' || !dir) {
    *dst = strdup(p);
  } else if (asprintf(dst, "%s/%s", dir, p) < 0) {
    *dst = NULL;
  }
  return *dst ? 0 : -1;
}

static int dup_str(char **dst, const char *s) {
  if (!s)
    return 0;
  *dst = strdup(s);
  return *dst ? 0 : -1;
}

static int dup_b64(char **dst, const char *s, const char *what,
                   kube_error_t *err) {
  if (!s || !*s)
    return 0;
  *dst = (char *)kube_base64_decode(s, strlen(s), NULL, NULL);
  if (!*dst)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "kubeconfig: %s is not valid base64", what);
  return 0;
}

KUBE_EXPORT kube_kubeconfig_t *
kube_kubeconfig_parse(const char *data, size_t len, const char *dir,
                      const char *context, kube_error_t *err) {
  json_object *docs = kube_json_decode_stream(data, len, err);
  if (!docs) {
    kube_error_wrap(err, "kubeconfig");
    return NULL;
  }
  json_object *root = json_object_array_length(docs) > 0
                          ? json_object_array_get_idx(docs, 0)
                          : NULL;
  kube_kubeconfig_t *kc = calloc(1, sizeof *kc);
  if (!kc) {
    json_object_put(docs);
    kube_make_oom(err);
    return NULL;
  }
  int r = 0;
  const char *ctx_name =
      context && *context ? context : str_field(root, "current-context");
  if (!root || !json_object_is_type(root, json_type_object)) {
    r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "kubeconfig: not a Config document");
    goto out;
  }
  if (!ctx_name || !*ctx_name) {
    r = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                       "current-context is not set");
    goto out;
  }
  json_object *ctx = named_entry(root, "contexts", "context", ctx_name);
  if (!ctx) {
    r = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                       "context was not found for specified context: %s",
                       ctx_name);
    goto out;
  }
  const char *cluster_name = str_field(ctx, "cluster");
  const char *user_name = str_field(ctx, "user");
  json_object *cluster =
      cluster_name ? named_entry(root, "clusters", "cluster", cluster_name)
                   : NULL;
  if (!cluster) {
    r = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                       "cluster \"%s\" of context \"%s\" was not found",
                       cluster_name ? cluster_name : "", ctx_name);
    goto out;
  }
  json_object *user =
      user_name ? named_entry(root, "users", "user", user_name) : NULL;
  if (dup_str(&kc->context, ctx_name) < 0 ||
      dup_str(&kc->cluster, cluster_name) < 0 ||
      dup_str(&kc->user, user_name) < 0 ||
      dup_str(&kc->server, str_field(cluster, "server")) < 0 ||
      dup_str(&kc->namespace_, str_field(ctx, "namespace")) < 0 ||
      dup_str(&kc->tls_server_name, str_field(cluster, "tls-server-name")) <
          0 ||
      dup_path(&kc->certificate_authority,
               str_field(cluster, "certificate-authority"), dir) < 0 ||
      dup_str(&kc->token, str_field(user, "token")) < 0 ||
      dup_str(&kc->username, str_field(user, "username")) < 0 ||
      dup_str(&kc->password, str_field(user, "password")) < 0 ||
      dup_path(&kc->client_certificate, str_field(user, "client-certificate"),
               dir) < 0 ||
      dup_path(&kc->client_key, str_field(user, "client-key"), dir) < 0) {
    r = kube_make_oom(err);
    goto out;
  }
  kc->insecure_skip_tls_verify =
      bool_field(cluster, "insecure-skip-tls-verify");
  if (dup_b64(&kc->certificate_authority_data,
              str_field(cluster, "certificate-authority-data"),
              "certificate-authority-data", err) < 0 ||
      dup_b64(&kc->client_certificate_data,
              str_field(user, "client-certificate-data"),
              "client-certificate-data", err) < 0 ||
      dup_b64(&kc->client_key_data, str_field(user, "client-key-data"),
              "client-key-data", err) < 0) {
    r = -1;
    goto out;
  }
  const char *token_file = str_field(user, "tokenFile");
  if (!kc->token && token_file && *token_file) {
    cleanup_free char *tf = NULL;
    size_t tlen;
    if (dup_path(&tf, token_file, dir) < 0 || !tf) {
      r = kube_make_oom(err);
      goto out;
    }
    kc->token = read_file(tf, &tlen, err);
    if (!kc->token) {
      r = -1;
      goto out;
    }
    while (tlen > 0 && strchr("\r\n \t", kc->token[tlen - 1]))
      kc->token[--tlen] = '\0';
  }
  if (!kc->server || !*kc->server)
    r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "cluster \"%s\" has no server", cluster_name);
out:
  json_object_put(docs);
  if (r < 0) {
    kube_kubeconfig_free(kc);
    return NULL;
  }
  return kc;
}

KUBE_EXPORT kube_kubeconfig_t *
kube_kubeconfig_load(const char *path, const char *context, kube_error_t *err) {
  cleanup_free char *chosen = NULL;
  if (path && *path) {
    chosen = strdup(path);
  } else {
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
      /* The first existing entry of the list wins (kubectl merges them;
       * the first file's current-context and entries take precedence). */
      cleanup_free char *copy = strdup(env);
      if (!copy)
        return kube_make_oom(err), NULL;
      char *save = NULL;
      for (char *p = strtok_r(copy, ":", &save); p;
           p = strtok_r(NULL, ":", &save))
        if (access(p, R_OK) == 0) {
          chosen = strdup(p);
          break;
        }
    }
    if (!chosen) {
      const char *home = getenv("HOME");
      if (home && *home) {
        if (asprintf(&chosen, "%s/.kube/config", home) < 0)
          chosen = NULL;
        else if (access(chosen, R_OK) != 0) {
          kube_error_set(err, KUBE_REASON_NOT_FOUND, ENOENT,
                         "no kubeconfig found");
          return NULL;
        }
      }
    }
    if (!chosen) {
      kube_error_set(err, KUBE_REASON_NOT_FOUND, ENOENT, "no kubeconfig found");
      return NULL;
    }
  }
  if (!chosen)
    return kube_make_oom(err), NULL;
  size_t len;
  cleanup_free char *data = read_file(chosen, &len, err);
  if (!data)
    return NULL;
  cleanup_free char *dir = strdup(chosen);
  if (!dir)
    return kube_make_oom(err), NULL;
  char *slash = strrchr(dir, '/');
  if (slash)
    *(slash == dir ? slash + 1 : slash) = '\0';
  else
    strcpy(dir, ".");
  kube_kubeconfig_t *kc = kube_kubeconfig_parse(data, len, dir, context, err);
  if (!kc) {
    kube_error_wrap(err, "%s", chosen);
    return NULL;
  }
  kc->path = steal_pointer(&chosen);
  return kc;
}
