/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster certificate authority: created once (DATA/ca.crt, ca.key),
 * it signs the serving certificate, users' client certificates (CN = user,
 * O = groups, as kube-apiserver's x509 authenticator reads them) and the
 * certificates of approved CertificateSigningRequests (csr.c).  Keys are
 * EC P-256, signatures SHA-256.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "apiserver/authz.h"
#include "http/http-private.h"

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ex)
    return -1;
  int rc = X509_add_ext(cert, ex, -1) ? 0 : -1;
  X509_EXTENSION_free(ex);
  return rc;
}

static int random_serial(X509 *cert) {
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    return -1;
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
  int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  return ok ? 0 : -1;
}

static int name_add(X509_NAME *n, const char *field, const char *v) {
  return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                    (const unsigned char *)v, -1, -1, 0)
             ? 0
             : -1;
}

int as_pem_write(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
                 X509 *chain, kube_error_t *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return kube_make_error(err, errno, "open %s: %s", tmp, strerror(errno));
  fchmod(fd, mode);
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    unlink(tmp);
    return kube_make_error(err, errno, "fdopen %s", tmp);
  }
  int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
               : PEM_write_X509(f, cert);
  if (ok && chain)
    ok = PEM_write_X509(f, chain);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0)
    ok = 0;
  if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return http_ssl_error(err, "write PEM");
  }
  return 0;
}

/* A certificate for `key`'s public half: subject CN and O values; issued
 * by (issuer, issuer_key), or self-signed when issuer is NULL. */
X509 *as_cert_build(EVP_PKEY *pub, const char *cn, const char *const *orgs,
                    const char *san, bool is_ca, bool server, long seconds,
                    X509 *issuer, EVP_PKEY *issuer_key, kube_error_t *err) {
  X509 *cert = X509_new();
  if (!cert || random_serial(cert) < 0)
    goto fail;
  X509_set_version(cert, 2);
  /* backdated for clocks behind ours: a tenth of the lifetime, at most
   * an hour (a short-lived certificate's renewal, at 70-90 % of it, stays
   * ahead of its expiry) */
  X509_gmtime_adj(X509_getm_notBefore(cert),
                  -(seconds / 10 < 3600 ? seconds / 10 : 3600));
  X509_gmtime_adj(X509_getm_notAfter(cert), seconds);
  if (!X509_set_pubkey(cert, pub))
    goto fail;
  X509_NAME *name = X509_get_subject_name(cert);
  for (size_t i = 0; orgs && orgs[i]; i++)
    if (name_add(name, "O", orgs[i]) < 0)
      goto fail;
  if (name_add(name, "CN", cn) < 0)
    goto fail;
  X509 *iss = issuer ? issuer : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(iss));
  const char *ku = is_ca ? "critical,digitalSignature,keyEncipherment,"
                           "keyCertSign,cRLSign"
                         : "critical,digitalSignature,keyEncipherment";
  if (add_ext(cert, iss, NID_basic_constraints,
              is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
      add_ext(cert, iss, NID_key_usage, ku) < 0 ||
      add_ext(cert, iss, NID_subject_key_identifier, "hash") < 0)
    goto fail;
  if ((!is_ca || server) &&
      add_ext(cert, iss, NID_ext_key_usage,
              server ? "serverAuth,clientAuth" : "clientAuth") < 0)
    goto fail;
  if (issuer &&
      add_ext(cert, iss, NID_authority_key_identifier, "keyid:always") < 0)
    goto fail;
  if (san && *san && add_ext(cert, iss, NID_subject_alt_name, san) < 0)
    goto fail;
  if (!X509_sign(cert, issuer_key, EVP_sha256()))
    goto fail;
  return cert;
fail:
  X509_free(cert);
  http_ssl_error(err, "build certificate");
  return NULL;
}

KUBE_EXPORT int kube_apiserver_ca_ensure(const char *cert_path,
                                         const char *key_path,
                                         kube_error_t *err) {
  if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
    return 0;
  EVP_PKEY *key = EVP_EC_gen("P-256");
  if (!key)
    return http_ssl_error(err, "generate CA key");
  X509 *cert = as_cert_build(key, "libkube-ca", NULL, NULL, true, false,
                             10L * 365 * 86400, NULL, key, err);
  int rc = -1;
  if (cert && as_pem_write(key_path, 0600, key, NULL, NULL, err) == 0 &&
      as_pem_write(cert_path, 0600, NULL, cert, NULL, err) == 0)
    rc = 0;
  X509_free(cert);
  EVP_PKEY_free(key);
  return rc;
}

int as_ca_load(const char *cert_path, const char *key_path, X509 **cert,
               EVP_PKEY **key, kube_error_t *err) {
  *cert = NULL;
  *key = NULL;
  FILE *f = fopen(cert_path, "re");
  if (!f)
    return kube_make_error(err, errno, "open %s: %s", cert_path,
                           strerror(errno));
  *cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (!*cert)
    return http_ssl_error(err, cert_path);
  f = fopen(key_path, "re");
  if (!f) {
    int e = errno;
    X509_free(*cert);
    *cert = NULL;
    return kube_make_error(err, e, "open %s: %s", key_path, strerror(e));
  }
  *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (!*key) {
    X509_free(*cert);
    *cert = NULL;
    return http_ssl_error(err, key_path);
  }
  return 0;
}

static const char serving_san[] =
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
    "DNS:kubernetes.default.svc,IP:127.0.0.1,IP:::1";
/* The names of the default cluster, when the caller gives none. */
static const char default_cluster_san[] =
    "DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1";

KUBE_EXPORT int kube_apiserver_generate_cert_signed(
    const char *cert_path, const char *key_path, const char *ca_cert_path,
    const char *ca_key_path, const char *extra_san, kube_error_t *err) {
  X509 *ca = NULL, *cert = NULL;
  EVP_PKEY *ca_key = NULL, *key = NULL;
  int rc = -1;
  char san[1024];
  if (!extra_san)
    extra_san = default_cluster_san;
  snprintf(san, sizeof san, "%s%s%s", serving_san, *extra_san ? "," : "",
           extra_san);
  if (ca_cert_path &&
      as_ca_load(ca_cert_path, ca_key_path, &ca, &ca_key, err) < 0)
    return -1;
  if (!(key = EVP_EC_gen("P-256"))) {
    http_ssl_error(err, "generate key");
    goto out;
  }
  /* Without a CA the certificate is its own CA: clients trust it
   * directly. */
  const char *const orgs[] = {"libkube", NULL};
  cert = as_cert_build(key, "kubed", orgs, san, !ca, true, 10L * 365 * 86400, ca,
                       ca ? ca_key : key, err);
  if (!cert)
    goto out;
  if (as_pem_write(key_path, 0600, key, NULL, NULL, err) < 0 ||
      /* The chain with the CA: clients that were given tls.crt as their
       * trust (before the CA existed) still verify it. */
      as_pem_write(cert_path, 0600, NULL, cert, ca, err) < 0)
    goto out;
  rc = 0;
out:
  X509_free(ca);
  X509_free(cert);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(key);
  return rc;
}

KUBE_EXPORT int kube_apiserver_generate_cert(const char *cert_path,
                                             const char *key_path,
                                             const char *extra_san,
                                             kube_error_t *err) {
  return kube_apiserver_generate_cert_signed(cert_path, key_path, NULL, NULL,
                                             extra_san, err);
}

static char *pem_of(EVP_PKEY *key, X509 *cert) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b)
    return NULL;
  int ok = key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
               : PEM_write_bio_X509(b, cert);
  char *data = NULL;
  long n = BIO_get_mem_data(b, &data);
  char *s = ok && n > 0 ? strndup(data, (size_t)n) : NULL;
  BIO_free(b);
  return s;
}

KUBE_EXPORT int kube_apiserver_sign_client_cert(
    const char *ca_cert_path, const char *ca_key_path, const char *user,
    const char *const *groups, int days, char **cert_pem, char **key_pem,
    kube_error_t *err) {
  *cert_pem = *key_pem = NULL;
  if (!user || !*user)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a client certificate needs a user name");
  X509 *ca = NULL, *cert = NULL;
  EVP_PKEY *ca_key = NULL, *key = NULL;
  int rc = -1;
  if (as_ca_load(ca_cert_path, ca_key_path, &ca, &ca_key, err) < 0)
    return -1;
  if (!(key = EVP_EC_gen("P-256"))) {
    http_ssl_error(err, "generate key");
    goto out;
  }
  cert = as_cert_build(key, user, groups, NULL, false, false,
                       (days > 0 ? days : 365) * 86400L, ca, ca_key, err);
  if (!cert)
    goto out;
  *cert_pem = pem_of(NULL, cert);
  *key_pem = pem_of(key, NULL);
  if (!*cert_pem || !*key_pem) {
    free(*cert_pem);
    free(*key_pem);
    *cert_pem = *key_pem = NULL;
    kube_make_oom(err);
    goto out;
  }
  rc = 0;
out:
  X509_free(ca);
  X509_free(cert);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(key);
  return rc;
}

/* The request's subjectAltName IP addresses and DNS names as
 * "IP:a,DNS:b" (owned; "" when none), or NULL with err when it names
 * anything else (a serving certificate names only hosts). */
static char *request_sans(X509_REQ *req, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
  GENERAL_NAMES *names = NULL;
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts) && !names; i++) {
    X509_EXTENSION *x = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(x)) == NID_subject_alt_name)
      names = X509V3_EXT_d2i(x);
  }
  bool bad = false;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !bad; i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    const char *sep = sb.len ? "," : "";
    if (g->type == GEN_DNS) {
      kube_strbuf_printf(&sb, "%sDNS:%.*s", sep,
                         ASN1_STRING_length(g->d.dNSName),
                         (const char *)ASN1_STRING_get0_data(g->d.dNSName));
    } else if (g->type == GEN_IPADD) {
      char ip[64] = "";
      int n = ASN1_STRING_length(g->d.iPAddress);
      const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
      if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, b, ip, sizeof ip) ||
          (n != 4 && n != 16))
        bad = true;
      else
        kube_strbuf_printf(&sb, "%sIP:%s", sep, ip);
    } else {
      bad = true;
    }
  }
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (bad || sb.oom) {
    kube_strbuf_clear(&sb);
    if (bad)
      kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                     "a serving certificate names only IP addresses and DNS "
                     "names");
    else
      kube_make_oom(err);
    return NULL;
  }
  return sb.data;
}

char *as_ca_request_sans(const char *csr_pem, kube_error_t *err) {
  BIO *b = BIO_new_mem_buf(csr_pem, -1);
  X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  if (!req) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "spec.request: not a PEM certificate request");
    return NULL;
  }
  char *s = request_sans(req, err);
  X509_REQ_free(req);
  return s;
}

int as_ca_sign_request(X509 *ca, EVP_PKEY *ca_key, const char *csr_pem,
                       const char *want_cn, const char *want_org, bool serving,
                       long seconds, char **cert_pem, kube_error_t *err) {
  *cert_pem = NULL;
  cleanup_free char *sans = NULL;
  BIO *b = BIO_new_mem_buf(csr_pem, -1);
  X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  if (!req)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "spec.request: not a PEM certificate request");
  int rc = -1;
  X509 *cert = NULL;
  EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
  if (!pub || X509_REQ_verify(req, pub) != 1) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "spec.request: the signature does not verify");
    goto out;
  }
  X509_NAME *subj = X509_REQ_get_subject_name(req);
  char cn[256] = "";
  X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof cn);
  /* The organizations exactly as the request states them. */
  const char *orgs[17] = {0};
  char orgbuf[16][256];
  int n_orgs = 0, pos = -1;
  while ((pos = X509_NAME_get_index_by_NID(subj, NID_organizationName, pos)) >=
             0 &&
         n_orgs < 16) {
    ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, pos));
    snprintf(orgbuf[n_orgs], sizeof orgbuf[0], "%.*s", ASN1_STRING_length(d),
             (const char *)ASN1_STRING_get0_data(d));
    orgs[n_orgs] = orgbuf[n_orgs];
    n_orgs++;
  }
  if (want_cn && !str_has_prefix(cn, want_cn)) {
    kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                   "the request's common name %s does not start with %s", cn,
                   want_cn);
    goto out;
  }
  if (want_org && (n_orgs != 1 || !streq(orgs[0], want_org))) {
    kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                   "the request's organization must be exactly %s", want_org);
    goto out;
  }
  if (!cn[0]) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "the request has no common name");
    goto out;
  }
  if (serving && !(sans = request_sans(req, err)))
    goto out;
  cert =
      as_cert_build(pub, cn, orgs, sans, false, serving, seconds, ca, ca_key,
                    err);
  if (!cert)
    goto out;
  if (!(*cert_pem = pem_of(NULL, cert))) {
    kube_make_oom(err);
    goto out;
  }
  rc = 0;
out:
  X509_free(cert);
  X509_REQ_free(req);
  return rc;
}

KUBE_EXPORT int kube_apiserver_ca_data(const char *ca_cert_path, char **pem,
                                       kube_error_t *err) {
  FILE *f = fopen(ca_cert_path, "re");
  if (!f)
    return kube_make_error(err, errno, "open %s: %s", ca_cert_path,
                           strerror(errno));
  char buf[16384];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  if (!(*pem = strdup(buf)))
    return kube_make_oom(err);
  return 0;
}
