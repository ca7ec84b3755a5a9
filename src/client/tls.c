/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS for https:// servers through OpenSSL: CA from a file or inline PEM,
 * optional client certificate, SNI and host name verification, or
 * insecure-skip-tls-verify.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "client/internal.h"
#include "core/util.h"

static int ssl_error(kube_error_t *err, const char *what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0, "%s%s%s", what,
                        *buf ? ": " : "", buf);
}

static int add_ca_pem(SSL_CTX *ctx, const char *pem, kube_error_t *err) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (!bio)
    return kube_make_oom(err);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
    if (X509_STORE_add_cert(store, x) == 1)
      added++;
    X509_free(x);
  }
  ERR_clear_error();
  BIO_free(bio);
  if (added == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "certificate-authority-data holds no certificate");
  return 0;
}

static int use_client_cert(SSL_CTX *ctx, const kube_kubeconfig_t *kc,
                           kube_error_t *err) {
  if (kc->client_certificate) {
    if (SSL_CTX_use_certificate_chain_file(ctx, kc->client_certificate) != 1)
      return ssl_error(err, "loading client-certificate");
  } else if (kc->client_certificate_data) {
    BIO *bio = BIO_new_mem_buf(kc->client_certificate_data, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!x || SSL_CTX_use_certificate(ctx, x) != 1) {
      X509_free(x);
      return ssl_error(err, "loading client-certificate-data");
    }
    X509_free(x);
  } else {
    return 0;
  }
  if (kc->client_key) {
    if (SSL_CTX_use_PrivateKey_file(ctx, kc->client_key, SSL_FILETYPE_PEM) != 1)
      return ssl_error(err, "loading client-key");
  } else if (kc->client_key_data) {
    BIO *bio = BIO_new_mem_buf(kc->client_key_data, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!k || SSL_CTX_use_PrivateKey(ctx, k) != 1) {
      EVP_PKEY_free(k);
      return ssl_error(err, "loading client-key-data");
    }
    EVP_PKEY_free(k);
  } else {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "client certificate given without a client key");
  }
  return 0;
}

int client_tls_context_setup(kube_client_t *c, const kube_kubeconfig_t *kc,
                             bool insecure, kube_error_t *err) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx)
    return ssl_error(err, "creating TLS context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int r = 0;
    if (kc && kc->certificate_authority) {
      if (SSL_CTX_load_verify_locations(ctx, kc->certificate_authority, NULL) !=
          1)
        r = ssl_error(err, "loading certificate-authority");
    } else if (kc && kc->certificate_authority_data) {
      r = add_ca_pem(ctx, kc->certificate_authority_data, err);
    } else {
      SSL_CTX_set_default_verify_paths(ctx);
    }
    if (r < 0) {
      SSL_CTX_free(ctx);
      return -1;
    }
  }
  if (kc && use_client_cert(ctx, kc, err) < 0) {
    SSL_CTX_free(ctx);
    return -1;
  }
  c->ssl_ctx = ctx;
  return 0;
}

int client_tls_connect(kube_client_t *c, struct conn *cn, kube_error_t *err) {
  if (!c->ssl_ctx)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "TLS not configured");
  SSL *ssl = SSL_new(c->ssl_ctx);
  if (!ssl)
    return ssl_error(err, "creating TLS session");
  const char *name = c->tls_server_name ? c->tls_server_name : c->url.host;
  SSL_set_tlsext_host_name(ssl, name);
  if (SSL_CTX_get_verify_mode(c->ssl_ctx) != SSL_VERIFY_NONE) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    /* An IP literal is checked against IP SANs, a name against DNS SANs. */
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
      ERR_clear_error();
      X509_VERIFY_PARAM_set1_host(param, name, 0);
    }
  }
  SSL_set_fd(ssl, cn->fd);
  struct sigpipe_guard g;
  client_sigpipe_block(&g);
  errno = 0;
  int ok = SSL_connect(ssl);
  client_sigpipe_restore(&g, ok != 1 && errno == EPIPE);
  if (ok != 1) {
    long vr = SSL_get_verify_result(ssl);
    SSL_free(ssl);
    if (vr != X509_V_OK) {
      ERR_clear_error();
      return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                            "Unable to connect to the server: x509: %s",
                            X509_verify_cert_error_string(vr));
    }
    return ssl_error(err, "Unable to connect to the server: TLS handshake");
  }
  cn->ssl = ssl;
  return 0;
}
