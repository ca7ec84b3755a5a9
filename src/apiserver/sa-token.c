/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ServiceAccount tokens: RS256 JWTs in the shape kube-apiserver issues for
 * TokenRequest (iss, sub system:serviceaccount:NS:NAME, aud, exp, iat,
 * nbf, jti, and the kubernetes.io claim with the namespace, the
 * ServiceAccount's name and uid, and the bound object).  The signing key
 * (RSA 2048) lives in the store under AS_SA_KEY, created by the first
 * server that needs it, so every API server sharing the store issues and
 * accepts the same tokens.  Validation checks the signature, the issuer,
 * that the API server is among the audiences, the times, and that the
 * ServiceAccount (and the bound object) still exist with the uids of the
 * token, as kube-apiserver's legacy-free validator does.
 */
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "apiserver/authz.h"

#define AS_SA_KEY "/libkube/serviceaccount-signing-key"

/* The key as stored, parsed again when its record changed. */
static EVP_PKEY *current_key(kube_apiserver_t *srv) {
  struct as_auth *a = srv->auth;
  kube_store_record_t *rec = kube_store_get(srv->store, AS_SA_KEY, NULL);
  if (!rec)
    return NULL;
  if (a->sa_key && a->sa_key_rev == rec->mod_revision) {
    kube_store_record_unref(rec);
    return a->sa_key;
  }
  json_object *o = kube_json_parse(rec->value, rec->value_len, NULL);
  const char *pem = o ? kube_json_get_string(o, "privateKeyPEM") : NULL;
  BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
  EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  if (o)
    json_object_put(o);
  if (k) {
    EVP_PKEY_free(a->sa_key);
    a->sa_key = k;
    a->sa_key_rev = rec->mod_revision;
  }
  kube_store_record_unref(rec);
  return k;
}

static char *b64url_json(json_object *o) {
  const char *s = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return kube_base64url_encode(s, strlen(s));
}

static char *sign_jwt(EVP_PKEY *key, const struct as_sa_claims *c) {
  json_object *hdr = json_object_new_object();
  json_object_object_add(hdr, "alg", json_object_new_string("RS256"));
  json_object_object_add(hdr, "kid", json_object_new_string("libkube-sa"));
  json_object *p = json_object_new_object();
  json_object *aud = json_object_new_array();
  if (c->audiences && c->audiences[0])
    for (size_t i = 0; c->audiences[i]; i++)
      json_object_array_add(aud, json_object_new_string(c->audiences[i]));
  else
    json_object_array_add(aud, json_object_new_string(AS_SA_ISSUER));
  json_object_object_add(p, "aud", aud);
  json_object_object_add(p, "exp", json_object_new_int64(c->exp));
  json_object_object_add(p, "iat", json_object_new_int64(c->iat));
  json_object_object_add(p, "iss", json_object_new_string(AS_SA_ISSUER));
  char jti[40], sub[600];
  kube_uuid_generate(jti, sizeof jti);
  json_object_object_add(p, "jti", json_object_new_string(jti));
  json_object *k8s = json_object_new_object();
  json_object_object_add(k8s, "namespace", json_object_new_string(c->ns));
  json_object *sa = json_object_new_object();
  json_object_object_add(sa, "name", json_object_new_string(c->name));
  json_object_object_add(sa, "uid",
                         json_object_new_string(c->uid ? c->uid : ""));
  json_object_object_add(k8s, "serviceaccount", sa);
  if (c->bound_kind && c->bound_name) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "name", json_object_new_string(c->bound_name));
    json_object_object_add(
        b, "uid", json_object_new_string(c->bound_uid ? c->bound_uid : ""));
    json_object_object_add(k8s, streq(c->bound_kind, "Pod") ? "pod" : "secret",
                           b);
  }
  json_object_object_add(p, "kubernetes.io", k8s);
  json_object_object_add(p, "nbf", json_object_new_int64(c->iat));
  snprintf(sub, sizeof sub, "system:serviceaccount:%s:%s", c->ns, c->name);
  json_object_object_add(p, "sub", json_object_new_string(sub));
  char *h64 = b64url_json(hdr), *p64 = b64url_json(p);
  json_object_put(hdr);
  json_object_put(p);
  char *out = NULL, *signing = NULL;
  unsigned char sig[1024];
  size_t siglen = sizeof sig;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (h64 && p64 && md && asprintf(&signing, "%s.%s", h64, p64) >= 0 &&
      EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
      EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing,
                     strlen(signing)) == 1) {
    char *s64 = kube_base64url_encode(sig, siglen);
    if (s64 && asprintf(&out, "%s.%s", signing, s64) < 0)
      out = NULL;
    free(s64);
  }
  EVP_MD_CTX_free(md);
  free(signing);
  free(h64);
  free(p64);
  return out;
}

struct issue {
  struct req *r;
  struct as_sa_claims c;
  char **aud;
  char *ns, *name, *uid, *bkind, *bname, *buid;
  as_sa_token_cb cb;
  void *arg;
};

static void issue_free(struct issue *is) {
  for (size_t i = 0; is->aud && is->aud[i]; i++)
    free(is->aud[i]);
  free(is->aud);
  free(is->ns);
  free(is->name);
  free(is->uid);
  free(is->bkind);
  free(is->bname);
  free(is->buid);
  free(is);
}

static void issue_finish(struct issue *is) {
  EVP_PKEY *k = current_key(is->r->srv);
  char *tok = k ? sign_jwt(k, &is->c) : NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  if (!tok)
    kube_error_set(&err, KUBE_REASON_INTERNAL, 0,
                   "cannot sign the service account token");
  is->cb(is->r, tok, tok ? NULL : &err, is->arg);
  kube_error_clear(&err);
  if (tok)
    OPENSSL_cleanse(tok, strlen(tok));
  free(tok);
  issue_free(is);
}

static void key_written(const kube_store_record_t *rec, const kube_error_t *err,
                        void *arg) {
  /* AlreadyExists: another server (or request) made it first; use that. */
  issue_finish(arg);
}

static char *dup0(const char *s) {
  return s ? strdup(s) : NULL;
}

void as_sa_token_issue(struct req *r, const struct as_sa_claims *c,
                       as_sa_token_cb cb, void *arg) {
  struct issue *is = calloc(1, sizeof *is);
  kube_error_t err = KUBE_ERROR_INIT;
  if (!is) {
    kube_make_oom(&err);
    cb(r, NULL, &err, arg);
    kube_error_clear(&err);
    return;
  }
  is->r = r;
  is->cb = cb;
  is->arg = arg;
  is->c = *c;
  size_t n = 0;
  while (c->audiences && c->audiences[n])
    n++;
  is->aud = calloc(n + 1, sizeof *is->aud);
  for (size_t i = 0; is->aud && i < n; i++)
    is->aud[i] = strdup(c->audiences[i]);
  is->c.audiences = (const char *const *)is->aud;
  is->c.ns = is->ns = dup0(c->ns);
  is->c.name = is->name = dup0(c->name);
  is->c.uid = is->uid = dup0(c->uid);
  is->c.bound_kind = is->bkind = dup0(c->bound_kind);
  is->c.bound_name = is->bname = dup0(c->bound_name);
  is->c.bound_uid = is->buid = dup0(c->bound_uid);
  if (current_key(r->srv)) {
    issue_finish(is);
    return;
  }
  /* The first token of the cluster: make the key (once; a race with
   * another server ends in AlreadyExists and both use the winner's). */
  EVP_PKEY *k = EVP_RSA_gen(2048);
  BIO *b = k ? BIO_new(BIO_s_mem()) : NULL;
  char *data = NULL;
  long len = 0;
  if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
    len = BIO_get_mem_data(b, &data);
  json_object *o = json_object_new_object();
  if (len > 0)
    json_object_object_add(o, "privateKeyPEM",
                           json_object_new_string_len(data, (int)len));
  const char *val = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  int rc = len > 0 ? kube_store_create(r->srv->store, AS_SA_KEY, val,
                                       strlen(val), key_written, is, &err)
                   : -1;
  json_object_put(o);
  BIO_free(b);
  EVP_PKEY_free(k);
  if (rc < 0) {
    if (!kube_error_is_set(&err))
      kube_error_set(&err, KUBE_REASON_INTERNAL, 0,
                     "cannot create the service account signing key");
    cb(r, NULL, &err, arg);
    kube_error_clear(&err);
    issue_free(is);
  }
}

/* ---- validation ---- */

static json_object *b64url_parse(const char *s, size_t len) {
  size_t n = 0;
  unsigned char *raw = kube_base64_decode(s, len, &n, NULL);
  if (!raw)
    return NULL;
  json_object *o = kube_json_parse((const char *)raw, n, NULL);
  free(raw);
  if (o && !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static bool aud_ok(json_object *aud) {
  if (json_object_is_type(aud, json_type_string))
    return streq(json_object_get_string(aud), AS_SA_ISSUER);
  for (size_t i = 0; json_object_is_type(aud, json_type_array) &&
                     i < json_object_array_length(aud);
       i++)
    if (streq(json_object_get_string(json_object_array_get_idx(aud, i)) ?: "",
              AS_SA_ISSUER))
      return true;
  return false;
}

/* The object at key exists with uid `uid`. */
static bool uid_matches(kube_apiserver_t *srv, const char *key,
                        const char *uid) {
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  if (!rec)
    return false;
  json_object *o = as_record_parse(rec, NULL);
  kube_store_record_unref(rec);
  bool ok = o &&
            (!uid || !*uid ||
             streq(kube_json_get_string(o, "metadata.uid") ?: "", uid)) &&
            !kube_json_get(o, "metadata.deletionTimestamp");
  if (o)
    json_object_put(o);
  return ok;
}

int as_sa_token_validate(kube_apiserver_t *srv, const char *tok, char **ns,
                         char **name) {
  const char *d1 = strchr(tok, '.');
  const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (!d1 || !d2 || strchr(d2 + 1, '.'))
    return 0;
  json_object *hdr = b64url_parse(tok, (size_t)(d1 - tok));
  if (!hdr)
    return 0;
  bool rs256 = streq(kube_json_get_string(hdr, "alg") ?: "", "RS256");
  json_object_put(hdr);
  if (!rs256)
    return 0;
  EVP_PKEY *key = current_key(srv);
  if (!key)
    return -1;
  size_t siglen = 0;
  unsigned char *sig =
      kube_base64_decode(d2 + 1, strlen(d2 + 1), &siglen, NULL);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  bool ok = sig && md &&
            EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestVerify(md, sig, siglen, (const unsigned char *)tok,
                             (size_t)(d2 - tok)) == 1;
  EVP_MD_CTX_free(md);
  free(sig);
  if (!ok)
    return -1;
  json_object *p = b64url_parse(d1 + 1, (size_t)(d2 - d1 - 1));
  if (!p)
    return -1;
  int rc = -1;
  int64_t now = (int64_t)time(NULL);
  json_object *k8s = NULL, *exp = NULL, *nbf = NULL;
  json_object_object_get_ex(p, "kubernetes.io", &k8s);
  json_object_object_get_ex(p, "exp", &exp);
  json_object_object_get_ex(p, "nbf", &nbf);
  const char *tns = kube_json_get_string(k8s, "namespace");
  const char *tname = kube_json_get_string(k8s, "serviceaccount.name");
  const char *tuid = kube_json_get_string(k8s, "serviceaccount.uid");
  json_object *aud = NULL;
  json_object_object_get_ex(p, "aud", &aud);
  if (!streq(kube_json_get_string(p, "iss") ?: "", AS_SA_ISSUER) ||
      !aud_ok(aud) || !exp || json_object_get_int64(exp) < now ||
      (nbf && json_object_get_int64(nbf) > now + 60) || !tns || !tname)
    goto out;
  char skey[700];
  snprintf(skey, sizeof skey, "/registry/core/serviceaccounts/%s/%s", tns,
           tname);
  if (!uid_matches(srv, skey, tuid))
    goto out;
  json_object *pod = NULL, *secret = NULL;
  json_object_object_get_ex(k8s, "pod", &pod);
  json_object_object_get_ex(k8s, "secret", &secret);
  json_object *bound = pod ? pod : secret;
  if (bound) {
    snprintf(skey, sizeof skey, "/registry/core/%s/%s/%s",
             pod ? "pods" : "secrets", tns,
             kube_json_get_string(bound, "name") ?: "");
    if (!uid_matches(srv, skey, kube_json_get_string(bound, "uid")))
      goto out;
  }
  *ns = strdup(tns);
  *name = strdup(tname);
  rc = *ns && *name ? 1 : -1;
  if (rc < 0) {
    free(*ns);
    free(*name);
  }
out:
  json_object_put(p);
  return rc;
}

void as_sa_free(kube_apiserver_t *srv) {
  if (srv->auth) {
    EVP_PKEY_free(srv->auth->sa_key);
    srv->auth->sa_key = NULL;
  }
}
