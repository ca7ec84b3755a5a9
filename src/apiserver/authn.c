/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authentication: who sent a request, as kube-apiserver's authenticators
 * find it, each mapped to a user and groups (authenticated users are also
 * in system:authenticated):
 *   - the unix socket: "system:admin" in system:masters (mode 0600);
 *   - a client certificate the TLS layer verified against the cluster CA:
 *     CN is the user, O the groups;
 *   - bearer tokens: the admin token ("admin", system:masters), the
 *     --token-auth-file CSV (token,user,uid,"group1,group2"), bootstrap
 *     tokens (Secrets kube-system/bootstrap-token-ID: user
 *     system:bootstrap:ID, group system:bootstrappers), ServiceAccount
 *     JWTs (sa-token.c);
 *   - nothing: "system:anonymous" in system:unauthenticated.
 * An unknown bearer token is a 401, as in Kubernetes, and so is no
 * credential at all except on the health probes, /version and the public
 * paths a component registered (a web UI's static files).
 */
#include <ctype.h>
#include <fcntl.h>
#include <strings.h>
#include <time.h>

#include <json-c/linkhash.h>
#include <openssl/crypto.h>

#include "apiserver/authz.h"

struct as_static_user {
  kube_apiserver_user_t user;
  char *name;
  char **groups;
};

static const char *const masters[] = {"system:masters", "system:authenticated",
                                      NULL};
static const char *const unauthenticated[] = {"system:unauthenticated", NULL};
static const kube_apiserver_user_t user_admin = {"admin", masters};
static const kube_apiserver_user_t user_unix = {"system:admin", masters};
static const kube_apiserver_user_t user_anonymous = {"system:anonymous",
                                                     unauthenticated};

static void free_strv(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

int as_req_set_user(struct req *r, const char *name, const char *const *groups,
                    bool authenticated) {
  size_t n = 0;
  while (groups && groups[n])
    n++;
  char **g = calloc(n + 2, sizeof *g);
  char *nm = strdup(name);
  if (!g || !nm) {
    free(g);
    free(nm);
    return -1;
  }
  size_t j = 0;
  bool has_auth = false;
  for (size_t i = 0; i < n; i++) {
    if (!(g[j++] = strdup(groups[i]))) {
      free_strv(g);
      free(nm);
      return -1;
    }
    has_auth |= streq(groups[i], "system:authenticated");
  }
  if (authenticated && !has_auth &&
      !(g[j++] = strdup("system:authenticated"))) {
    free_strv(g);
    free(nm);
    return -1;
  }
  free_strv(r->own_groups);
  free((char *)r->own_user.name);
  r->own_groups = g;
  r->own_user.name = nm;
  r->own_user.groups = (const char *const *)g;
  r->user = &r->own_user;
  return 0;
}

/* ---- the token file ---- */

/* One CSV field (quotes as in encoding/csv); NULL at the end of line. */
static char *csv_field(const char **p) {
  const char *s = *p;
  if (!s)
    return NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (*s == '"') {
    s++;
    while (*s && !(*s == '"' && s[1] != '"')) {
      if (*s == '"')
        s++;
      kube_strbuf_append_char(&sb, *s);
      s++;
    }
    if (*s == '"')
      s++;
  } else {
    while (*s && *s != ',') {
      kube_strbuf_append_char(&sb, *s);
      s++;
    }
  }
  *p = *s == ',' ? s + 1 : NULL;
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  char *out = sb.data ? sb.data : strdup("");
  return out;
}

static void static_user_free(struct lh_entry *e) {
  struct as_static_user *u = (struct as_static_user *)lh_entry_v(e);
  free(lh_entry_k(e));
  if (u) {
    free(u->name);
    free_strv(u->groups);
    free(u);
  }
}

static int load_token_file(struct as_auth *a, const char *path,
                           kube_error_t *err) {
  FILE *f = fopen(path, "re");
  if (!f)
    return kube_make_error(err, errno, "token auth file %s: %s", path,
                           strerror(errno));
  a->static_tokens = lh_kchar_table_new(64, static_user_free);
  char line[8192];
  int lineno = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#')
      continue;
    const char *p = line;
    char *token = csv_field(&p), *user = csv_field(&p), *uid = csv_field(&p);
    char *groups = csv_field(&p);
    free(uid);
    if (!token || !user || !*token || !*user) {
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "token auth file %s line %d: want "
                          "token,user,uid[,\"group1,group2\"]",
                          path, lineno);
    } else {
      struct as_static_user *u = calloc(1, sizeof *u);
      size_t ng = 0;
      for (const char *q = groups; q && *q; q++)
        ng += *q == ',';
      if (u)
        u->groups = calloc(ng + 3, sizeof *u->groups);
      if (!u || !u->groups) {
        free(u);
        rc = kube_make_oom(err);
      } else {
        size_t j = 0;
        for (char *g = groups ? strtok(groups, ",") : NULL; g;
             g = strtok(NULL, ","))
          if (*g)
            u->groups[j++] = strdup(g);
        u->groups[j] = strdup("system:authenticated");
        u->name = steal_pointer(&user);
        u->user.name = u->name;
        u->user.groups = (const char *const *)u->groups;
        lh_table_insert(a->static_tokens, steal_pointer(&token), u);
      }
    }
    free(token);
    free(user);
    free(groups);
  }
  fclose(f);
  return rc;
}

/* ---- bootstrap tokens ---- */

static bool is_token_chars(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
      return false;
  return true;
}

static char *secret_value(json_object *data, const char *key) {
  const char *b64 = kube_json_get_string(data, key);
  if (!b64)
    return NULL;
  size_t n = 0;
  unsigned char *v = kube_base64_decode(b64, strlen(b64), &n, NULL);
  if (!v)
    return NULL;
  char *s = strndup((char *)v, n);
  free(v);
  return s;
}

/* "abcdef.0123456789abcdef" against Secret kube-system/bootstrap-token-
 * abcdef (kube-apiserver's bootstrap token authenticator). */
static int bootstrap_token(kube_apiserver_t *srv, struct req *r,
                           const char *tok) {
  if (strlen(tok) != 23 || tok[6] != '.' || !is_token_chars(tok, 6) ||
      !is_token_chars(tok + 7, 16))
    return 0;
  char key[128];
  snprintf(key, sizeof key,
           "/registry/core/secrets/kube-system/bootstrap-token-%.6s", tok);
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  if (!rec)
    return -1;
  json_object *o = as_record_parse(rec, NULL);
  kube_store_record_unref(rec);
  if (!o)
    return -1;
  int rc = -1;
  json_object *data = kube_json_get(o, "data");
  char *secret = secret_value(data, "token-secret");
  char *usage = secret_value(data, "usage-bootstrap-authentication");
  char *exp = secret_value(data, "expiration");
  char *extra = secret_value(data, "auth-extra-groups");
  bool expired = false;
  if (exp) {
    struct tm tm = {0};
    expired =
        !strptime(exp, "%Y-%m-%dT%H:%M:%SZ", &tm) || timegm(&tm) < time(NULL);
  }
  if (streq(kube_json_get_string(o, "type") ?: "",
            "bootstrap.kubernetes.io/token") &&
      secret && strlen(secret) == 16 &&
      CRYPTO_memcmp(secret, tok + 7, 16) == 0 && usage &&
      streq(usage, "true") && !expired &&
      !kube_json_get(o, "metadata.deletionTimestamp")) {
    const char *groups[18] = {"system:bootstrappers"};
    size_t n = 1;
    for (char *g = extra ? strtok(extra, ",") : NULL; g && n < 17;
         g = strtok(NULL, ","))
      if (str_has_prefix(g, "system:bootstrappers:"))
        groups[n++] = g;
    char user[64];
    snprintf(user, sizeof user, "system:bootstrap:%.6s", tok);
    rc = as_req_set_user(r, user, groups, true) == 0 ? 1 : -1;
  }
  free(secret);
  free(usage);
  free(exp);
  free(extra);
  json_object_put(o);
  return rc;
}

/* ---- bearer tokens ---- */

static bool admin_token_ok(kube_apiserver_t *srv, const char *a) {
  if (!srv->token)
    return false;
  /* Constant-time comparison: the token is the admin's credential. */
  size_t la = strlen(a), lt = strlen(srv->token);
  unsigned char diff = la != lt;
  for (size_t i = 0; i < la && i < lt; i++)
    diff |= (unsigned char)(a[i] ^ srv->token[i]);
  return diff == 0;
}

bool as_authn_token(kube_apiserver_t *srv, struct req *r, const char *tok) {
  struct as_auth *a = srv->auth;
  if (admin_token_ok(srv, tok)) {
    r->user = &user_admin;
    return true;
  }
  if (a && a->static_tokens) {
    struct as_static_user *u = NULL;
    if (lh_table_lookup_ex(a->static_tokens, tok, (void **)&u) && u) {
      r->user = &u->user;
      return true;
    }
  }
  int b = bootstrap_token(srv, r, tok);
  if (b != 0)
    return b > 0;
  char *ns = NULL, *name = NULL;
  int s = as_sa_token_validate(srv, tok, &ns, &name);
  if (s > 0) {
    char user[600], g2[300];
    snprintf(user, sizeof user, "system:serviceaccount:%s:%s", ns, name);
    snprintf(g2, sizeof g2, "system:serviceaccounts:%s", ns);
    const char *groups[] = {"system:serviceaccounts", g2, NULL};
    free(ns);
    free(name);
    return as_req_set_user(r, user, groups, true) == 0;
  }
  return false;
}

static bool is_probe(const struct req *r) {
  return r->method == M_GET &&
         (streq(r->path, "/healthz") || streq(r->path, "/livez") ||
          streq(r->path, "/readyz") || streq(r->path, "/version"));
}

bool as_authn_request(kube_apiserver_t *srv, struct req *r) {
  kube_http_request_t *h = r->hreq;
  if (kube_http_request_listener_type(h) == KUBE_HTTP_UNIX) {
    r->user = &user_unix; /* mode 0600: only our own user connects */
    return true;
  }
  const kube_http_peer_cert_t *pc = kube_http_request_peer_cert(h);
  if (pc && pc->common_name && pc->common_name[0] &&
      as_req_set_user(r, pc->common_name, pc->organizations, true) == 0)
    return true;
  const char *auth = kube_http_request_header(h, "Authorization");
  if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
    const char *tok = auth + 7;
    while (*tok == ' ')
      tok++;
    if (*tok && as_authn_token(srv, r, tok))
      return true;
    r->user = &user_anonymous;
    return false;
  }
  r->user = &user_anonymous;
  /* No authorization configured: TCP is open (tests on loopback). */
  if (!srv->auth || !srv->auth->enabled)
    return true;
  /* Anonymous requests are allowed for health probes and /version only
   * (kube-apiserver's anonymous authenticator restricted to those paths,
   * as its AuthenticationConfiguration's anonymous.conditions do);
   * anything else without credentials is a 401. */
  return is_probe(r) || as_ext_public_path(srv, r->path);
}

/* ---- life cycle ---- */

int as_auth_init(kube_apiserver_t *srv, const kube_apiserver_options_t *o,
                 kube_error_t *err) {
  struct as_auth *a = calloc(1, sizeof *a);
  if (!a)
    return kube_make_oom(err);
  srv->auth = a;
  a->audit_fd = -1;
  a->enabled = !o->always_allow &&
               (o->token || o->token_auth_file || o->tls_client_ca_file);
  if (o->token_auth_file && load_token_file(a, o->token_auth_file, err) < 0)
    return -1;
  a->signing_s = o->cluster_signing_duration_s;
  if (o->ca_cert_file && o->ca_key_file &&
      as_ca_load(o->ca_cert_file, o->ca_key_file, &a->ca, &a->ca_key, err) < 0)
    return kube_error_wrap(err, "cluster signing CA");
  if (o->join_token) {
    if (strlen(o->join_token) != 23 || o->join_token[6] != '.' ||
        !is_token_chars(o->join_token, 6) ||
        !is_token_chars(o->join_token + 7, 16))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "a join token is [a-z0-9]{6}.[a-z0-9]{16}");
    if (!(a->join_token = strdup(o->join_token)))
      return kube_make_oom(err);
  }
  if (o->audit_log) {
    if (!(a->audit_path = strdup(o->audit_log)))
      return kube_make_oom(err);
    a->audit_max =
        o->audit_log_max_bytes ? o->audit_log_max_bytes : 100u * 1024 * 1024;
    a->audit_fd =
        open(a->audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->audit_fd < 0)
      return kube_make_error(err, errno, "audit log %s: %s", a->audit_path,
                             strerror(errno));
    struct stat st;
    if (fstat(a->audit_fd, &st) == 0)
      a->audit_size = (size_t)st.st_size;
  }
  return 0;
}

void as_auth_free(kube_apiserver_t *srv) {
  struct as_auth *a = srv->auth;
  if (!a)
    return;
  as_rbac_free(srv);
  as_node_graph_free(srv);
  as_sa_free(srv);
  if (a->static_tokens)
    lh_table_free(a->static_tokens);
  X509_free(a->ca);
  EVP_PKEY_free(a->ca_key);
  if (a->join_token)
    OPENSSL_cleanse(a->join_token, strlen(a->join_token));
  free(a->join_token);
  free(a->audit_path);
  if (a->audit_fd >= 0)
    close(a->audit_fd);
  free(a);
  srv->auth = NULL;
}
