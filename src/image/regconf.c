/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry configuration: k3s's registries.yaml (`mirrors:` with endpoints
 * and rewrites, `configs:` with auth and TLS) and credentials in Docker's
 * config.json format (from ~/.docker/config.json or imagePullSecrets).
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-private.h"
#include "image/internal.h"

struct rewrite {
  regex_t re;
  char *repl;
};

struct mirror {
  char *registry; /* "docker.io", "*" */
  char **endpoints;
  size_t n_endpoints;
  struct rewrite *rw;
  size_t n_rw;
};

struct regcfg {
  char *host;
  img_auth_t auth;
  char *ca_file, *cert_file, *key_file;
  bool insecure;
};

struct img_regconf {
  struct mirror *mirrors;
  size_t n_mirrors;
  struct regcfg *configs;
  size_t n_configs;
  char *docker_config; /* JSON text or NULL */
};

void img_auth_clear(img_auth_t *a) {
  if (!a)
    return;
  free(a->username);
  if (a->password)
    explicit_bzero(a->password, strlen(a->password));
  free(a->password);
  free(a->identity_token);
  memset(a, 0, sizeof *a);
}

void img_endpoint_clear(img_endpoint_t *e) {
  if (!e)
    return;
  free(e->base);
  free(e->v2);
  free(e->repo);
  free(e->host);
  free(e->ca_file);
  free(e->cert_file);
  free(e->key_file);
  img_auth_clear(&e->auth);
  memset(e, 0, sizeof *e);
}

void img_regconf_free(struct img_regconf *rc) {
  if (!rc)
    return;
  for (size_t i = 0; i < rc->n_mirrors; i++) {
    struct mirror *m = &rc->mirrors[i];
    free(m->registry);
    img_strv_free(m->endpoints);
    for (size_t k = 0; k < m->n_rw; k++) {
      regfree(&m->rw[k].re);
      free(m->rw[k].repl);
    }
    free(m->rw);
  }
  free(rc->mirrors);
  for (size_t i = 0; i < rc->n_configs; i++) {
    free(rc->configs[i].host);
    img_auth_clear(&rc->configs[i].auth);
    free(rc->configs[i].ca_file);
    free(rc->configs[i].cert_file);
    free(rc->configs[i].key_file);
  }
  free(rc->configs);
  free(rc->docker_config);
  free(rc);
}

static char *slurp(const char *path, size_t max, bool *missing) {
  *missing = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *missing = errno == ENOENT;
    return NULL;
  }
  char *r = img_read_fd(fd, max, NULL);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

/* Decode "user:pass" base64 (the `auth` field). */
static int decode_auth(const char *b64, img_auth_t *out) {
  size_t n = 0;
  unsigned char *raw = kube_base64_decode(b64, strlen(b64), &n, NULL);
  if (!raw)
    return -1;
  char *colon = memchr(raw, ':', n);
  if (!colon) {
    free(raw);
    return -1;
  }
  *colon = '\0';
  out->username = strdup((char *)raw);
  out->password = strdup(colon + 1);
  explicit_bzero(raw, n);
  free(raw);
  return out->username && out->password ? 0 : -1;
}

static int auth_from_json(json_object *o, img_auth_t *out) {
  memset(out, 0, sizeof *out);
  const char *auth = img_json_str(o, "auth");
  const char *user = img_json_str(o, "username");
  const char *pass = img_json_str(o, "password");
  const char *tok = img_json_str(o, "identitytoken");
  if (!tok)
    tok = img_json_str(o, "identity_token");
  if (user && *user) {
    out->username = strdup(user);
    out->password = strdup(pass ? pass : "");
  } else if (auth && *auth && decode_auth(auth, out) < 0) {
    img_auth_clear(out);
    return -1;
  }
  if (tok && *tok)
    out->identity_token = strdup(tok);
  return out->username || out->identity_token ? 0 : -1;
}

/* "https://index.docker.io/v1/" -> "docker.io"; "host:5000/x" -> host:5000 */
static char *norm_host(const char *key) {
  const char *p = key;
  if (str_has_prefix(p, "https://"))
    p += 8;
  else if (str_has_prefix(p, "http://"))
    p += 7;
  size_t n = strcspn(p, "/");
  char *h = strndup(p, n);
  if (h && (streq(h, "index.docker.io") || streq(h, "registry-1.docker.io") ||
            streq(h, "registry.hub.docker.com"))) {
    free(h);
    h = strdup("docker.io");
  }
  return h;
}

int img_auth_from_docker_config(const char *json, const char *host,
                                img_auth_t *out) {
  memset(out, 0, sizeof *out);
  json_object *root = json ? json_tokener_parse(json) : NULL;
  if (!root)
    return -1;
  json_object *auths = NULL;
  if (!json_object_object_get_ex(root, "auths", &auths))
    auths = root; /* legacy .dockercfg: the map itself */
  cleanup_free char *want = norm_host(host);
  int rc = -1;
  if (want && json_object_is_type(auths, json_type_object)) {
    /* exact match first, then globs ("*.example.com") */
    for (int pass = 0; pass < 2 && rc < 0; pass++) {
      json_object_object_foreach(auths, k, v) {
        cleanup_free char *h = norm_host(k);
        if (!h)
          continue;
        bool hit = pass == 0 ? streq(h, want)
                             : strchr(h, '*') && fnmatch(h, want, 0) == 0;
        if (hit && auth_from_json(v, out) == 0) {
          rc = 0;
          break;
        }
      }
    }
  }
  json_object_put(root);
  return rc;
}

static int parse_rewrites(json_object *rw, struct mirror *m,
                          kube_error_t *err) {
  if (!rw)
    return 0;
  if (!json_object_is_type(rw, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "mirrors.%s.rewrite must be a map", m->registry);
  size_t n = (size_t)json_object_object_length(rw);
  m->rw = calloc(n ? n : 1, sizeof *m->rw);
  if (!m->rw)
    return kube_make_oom(err);
  json_object_object_foreach(rw, pat, repl) {
    if (!json_object_is_type(repl, json_type_string))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "mirrors.%s.rewrite.%s must be a string",
                            m->registry, pat);
    if (regcomp(&m->rw[m->n_rw].re, pat, REG_EXTENDED) != 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "mirrors.%s.rewrite: bad pattern \"%s\"",
                            m->registry, pat);
    m->rw[m->n_rw].repl = strdup(json_object_get_string(repl));
    m->n_rw++;
  }
  return 0;
}

static int parse_yaml(struct img_regconf *rc, const char *text,
                      const char *path, kube_error_t *err) {
  kube_error_t perr = KUBE_ERROR_INIT;
  json_object *docs = kube_json_decode_stream(text, strlen(text), &perr);
  if (!docs) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s: %s", path,
                   perr.message);
    kube_error_clear(&perr);
    return -1;
  }
  int r = 0;
  json_object *doc = json_object_array_length(docs)
                         ? json_object_array_get_idx(docs, 0)
                         : NULL;
  json_object *mirrors = NULL, *configs = NULL;
  if (doc && json_object_object_get_ex(doc, "mirrors", &mirrors) &&
      json_object_is_type(mirrors, json_type_object)) {
    size_t n = (size_t)json_object_object_length(mirrors);
    rc->mirrors = calloc(n ? n : 1, sizeof *rc->mirrors);
    if (!rc->mirrors) {
      r = kube_make_oom(err);
      goto out;
    }
    json_object_object_foreach(mirrors, reg, m) {
      struct mirror *mm = &rc->mirrors[rc->n_mirrors++];
      mm->registry = strdup(reg);
      json_object *ep = NULL, *rw = NULL;
      json_object_object_get_ex(m, "endpoint", &ep);
      mm->endpoints = img_json_strv(ep, &mm->n_endpoints);
      json_object_object_get_ex(m, "rewrite", &rw);
      if (parse_rewrites(rw, mm, err) < 0) {
        r = -1;
        goto out;
      }
    }
  }
  if (doc && json_object_object_get_ex(doc, "configs", &configs) &&
      json_object_is_type(configs, json_type_object)) {
    size_t n = (size_t)json_object_object_length(configs);
    rc->configs = calloc(n ? n : 1, sizeof *rc->configs);
    if (!rc->configs) {
      r = kube_make_oom(err);
      goto out;
    }
    json_object_object_foreach(configs, host, c) {
      struct regcfg *cf = &rc->configs[rc->n_configs++];
      cf->host = norm_host(host);
      json_object *auth = NULL, *tls = NULL;
      if (json_object_object_get_ex(c, "auth", &auth))
        auth_from_json(auth, &cf->auth);
      if (json_object_object_get_ex(c, "tls", &tls)) {
        const char *v;
        if ((v = img_json_str(tls, "ca_file")))
          cf->ca_file = strdup(v);
        if ((v = img_json_str(tls, "cert_file")))
          cf->cert_file = strdup(v);
        if ((v = img_json_str(tls, "key_file")))
          cf->key_file = strdup(v);
        json_object *b = NULL;
        if (json_object_object_get_ex(tls, "insecure_skip_verify", &b))
          cf->insecure = json_object_get_boolean(b);
      }
    }
  }
out:
  json_object_put(docs);
  return r;
}

struct img_regconf *img_regconf_load(const char *yaml_path, bool yaml_optional,
                                     const char *docker_config,
                                     kube_error_t *err) {
  struct img_regconf *rc = calloc(1, sizeof *rc);
  if (!rc) {
    kube_make_oom(err);
    return NULL;
  }
  bool missing = false;
  if (yaml_path) {
    cleanup_free char *text = slurp(yaml_path, 1 << 20, &missing);
    if (text && parse_yaml(rc, text, yaml_path, err) < 0) {
      img_regconf_free(rc);
      return NULL;
    }
    if (!text && !(missing && yaml_optional)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, errno, "read %s: %s",
                     yaml_path, strerror(errno));
      img_regconf_free(rc);
      return NULL;
    }
  }
  cleanup_free char *dc = NULL;
  if (docker_config)
    dc = strdup(docker_config);
  else {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    const char *d = getenv("DOCKER_CONFIG");
    const char *home = getenv("HOME");
    if (d && *d)
      kube_strbuf_printf(&sb, "%s/config.json", d);
    else if (home && *home)
      kube_strbuf_printf(&sb, "%s/.docker/config.json", home);
    dc = kube_strbuf_steal(&sb);
  }
  if (dc && *dc)
    rc->docker_config = slurp(dc, 1 << 20, &missing);
  return rc;
}

static const struct regcfg *find_config(const struct img_regconf *rc,
                                        const char *host) {
  for (size_t i = 0; i < rc->n_configs; i++)
    if (rc->configs[i].host && streq(rc->configs[i].host, host))
      return &rc->configs[i];
  for (size_t i = 0; i < rc->n_configs; i++)
    if (rc->configs[i].host && strchr(rc->configs[i].host, '*') &&
        fnmatch(rc->configs[i].host, host, 0) == 0)
      return &rc->configs[i];
  return NULL;
}

bool img_regconf_docker_auth(const struct img_regconf *rc, const char *host,
                             img_auth_t *out) {
  return rc->docker_config &&
         img_auth_from_docker_config(rc->docker_config, host, out) == 0;
}

static bool is_loopback(const char *host) {
  size_t n = strcspn(host, ":");
  if (host[0] == '[')
    return str_has_prefix(host, "[::1]");
  return (n == 9 && strncmp(host, "localhost", 9) == 0) ||
         str_has_prefix(host, "127.");
}

static char *rewrite_repo(const struct mirror *m, const char *repo) {
  for (size_t i = 0; i < m->n_rw; i++) {
    regmatch_t g[10];
    if (regexec(&m->rw[i].re, repo, 10, g, 0) != 0)
      continue;
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append_len(&sb, repo, (size_t)g[0].rm_so);
    for (const char *p = m->rw[i].repl; *p; p++) {
      int idx = -1;
      if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
        idx = p[1] - '0';
        p++;
      } else if (p[0] == '$' && p[1] == '{' && p[2] >= '0' && p[2] <= '9' &&
                 p[3] == '}') {
        idx = p[2] - '0';
        p += 3;
      }
      if (idx < 0)
        kube_strbuf_append_char(&sb, *p);
      else if (g[idx].rm_so >= 0)
        kube_strbuf_append_len(&sb, repo + g[idx].rm_so,
                               (size_t)(g[idx].rm_eo - g[idx].rm_so));
    }
    kube_strbuf_append(&sb, repo + g[0].rm_eo);
    return kube_strbuf_steal(&sb);
  }
  return strdup(repo);
}

static int endpoint_fill(const struct img_regconf *rc, const char *url,
                         const char *repo, bool explicit_scheme_only,
                         img_endpoint_t *e, kube_error_t *err) {
  memset(e, 0, sizeof *e);
  const char *p = url;
  const char *scheme = "https";
  bool explicit_scheme = false;
  if (str_has_prefix(p, "https://")) {
    p += 8;
    explicit_scheme = true;
  } else if (str_has_prefix(p, "http://")) {
    p += 7;
    scheme = "http";
    explicit_scheme = true;
  }
  (void)explicit_scheme_only;
  size_t hl = strcspn(p, "/");
  if (hl == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "registry endpoint \"%s\" has no host", url);
  e->host = strndup(p, hl);
  const char *path = p + hl;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s://%s", scheme, e->host);
  e->base = kube_strbuf_steal(&sb);
  size_t pl = strlen(path);
  while (pl && path[pl - 1] == '/')
    pl--;
  if (pl == 0)
    e->v2 = strdup("/v2");
  else if (pl >= 3 && strncmp(path + pl - 3, "/v2", 3) == 0)
    e->v2 = strndup(path, pl);
  else {
    kube_strbuf_printf(&sb, "%.*s/v2", (int)pl, path);
    e->v2 = kube_strbuf_steal(&sb);
  }
  e->repo = strdup(repo);
  e->http_fallback = !explicit_scheme && is_loopback(e->host);
  const struct regcfg *cf = find_config(rc, e->host);
  if (cf) {
    e->insecure = cf->insecure;
    e->ca_file = cf->ca_file ? strdup(cf->ca_file) : NULL;
    e->cert_file = cf->cert_file ? strdup(cf->cert_file) : NULL;
    e->key_file = cf->key_file ? strdup(cf->key_file) : NULL;
    if (cf->auth.username) {
      e->auth.username = strdup(cf->auth.username);
      e->auth.password = strdup(cf->auth.password ? cf->auth.password : "");
    }
    if (cf->auth.identity_token)
      e->auth.identity_token = strdup(cf->auth.identity_token);
  }
  if (!e->host || !e->base || !e->v2 || !e->repo) {
    img_endpoint_clear(e);
    return kube_make_oom(err);
  }
  return 0;
}

int img_regconf_endpoints(const struct img_regconf *rc,
                          const kube_image_ref_t *ref, bool push,
                          img_endpoint_t **out, size_t *n, kube_error_t *err) {
  *out = NULL;
  *n = 0;
  const struct mirror *m = NULL;
  for (size_t i = 0; !push && i < rc->n_mirrors; i++)
    if (streq(rc->mirrors[i].registry, ref->domain))
      m = &rc->mirrors[i];
  for (size_t i = 0; !push && !m && i < rc->n_mirrors; i++)
    if (streq(rc->mirrors[i].registry, "*"))
      m = &rc->mirrors[i];
  size_t cap = (m ? m->n_endpoints : 0) + 1;
  img_endpoint_t *v = calloc(cap, sizeof *v);
  if (!v)
    return kube_make_oom(err);
  size_t k = 0;
  for (size_t i = 0; m && i < m->n_endpoints; i++) {
    cleanup_free char *repo = rewrite_repo(m, ref->path);
    if (!repo ||
        endpoint_fill(rc, m->endpoints[i], repo, false, &v[k], err) < 0)
      goto fail;
    k++;
  }
  /* The registry itself comes last (k3s and containerd always fall back
   * to it). */
  const char *host = img_registry_host(ref->domain);
  bool dup = false;
  for (size_t i = 0; i < k; i++)
    dup = dup || (streq(v[i].host, host) && streq(v[i].repo, ref->path));
  if (!dup) {
    if (endpoint_fill(rc, host, ref->path, false, &v[k], err) < 0)
      goto fail;
    /* configs are keyed by the registry name too ("docker.io") */
    if (!find_config(rc, host)) {
      const struct regcfg *cf = find_config(rc, ref->domain);
      if (cf && !v[k].auth.username && cf->auth.username) {
        v[k].auth.username = strdup(cf->auth.username);
        v[k].auth.password = strdup(cf->auth.password ? cf->auth.password : "");
      }
      if (cf)
        v[k].insecure = cf->insecure;
    }
    k++;
  }
  *out = v;
  *n = k;
  return 0;
fail:
  for (size_t i = 0; i < k; i++)
    img_endpoint_clear(&v[i]);
  free(v);
  return -1;
}
