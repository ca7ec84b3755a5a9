/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL contexts: serving (optionally asking for client certificates),
 * the proxy's client side, and the subject of a verified peer
 * certificate. */
#include <pthread.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "http/http-private.h"
#include "http/internal.h"

int http_ssl_error(kube_error_t *err, const char *what) {
  char buf[256] = "";
  unsigned long e = ERR_get_error();
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return kube_make_error(err, 0, "%s: %s", what, buf[0] ? buf : "failed");
}

static void harden(SSL_CTX *ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* No SSL_CTX_set_read_ahead: bufferevent_openssl does not look at what
   * OpenSSL buffered and connections stall or drop (tried). */
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
                               SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
                               SSL_OP_NO_RENEGOTIATION);
}

/* A serving certificate renewed in place (its files replaced, as the
 * kubelet's serving certificate rotation does) is served from the next
 * handshake on: each handshake looks at the certificate file, and when it
 * is another file than the one loaded, the pair is checked and taken. */
struct reload {
  char *cert_file, *key_file;
  dev_t dev;
  ino_t ino;
  struct timespec mtime;
  pthread_mutex_t lock;
};

static void reload_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                        long argl, void *argp) {
  struct reload *r = ptr;
  if (!r)
    return;
  free(r->cert_file);
  free(r->key_file);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

static int reload_index = -1;
static pthread_once_t reload_once = PTHREAD_ONCE_INIT;
static void reload_index_init(void) {
  reload_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, reload_free);
}

static bool same_file(const struct reload *r, const struct stat *st) {
  return st->st_dev == r->dev && st->st_ino == r->ino &&
         st->st_mtim.tv_sec == r->mtime.tv_sec &&
         st->st_mtim.tv_nsec == r->mtime.tv_nsec;
}

static void remember(struct reload *r, const struct stat *st) {
  r->dev = st->st_dev;
  r->ino = st->st_ino;
  r->mtime = st->st_mtim;
}

/* Whether the files make a good pair (a scratch context loads them). */
static bool pair_ok(const struct reload *r) {
  SSL_CTX *t = SSL_CTX_new(TLS_server_method());
  bool ok = t &&
            SSL_CTX_use_certificate_chain_file(t, r->cert_file) == 1 &&
            SSL_CTX_use_PrivateKey_file(t, r->key_file, SSL_FILETYPE_PEM) ==
                1 &&
            SSL_CTX_check_private_key(t) == 1;
  SSL_CTX_free(t);
  ERR_clear_error();
  return ok;
}

static int cert_cb(SSL *ssl, void *arg) {
  struct reload *r = arg;
  struct stat st;
  if (stat(r->cert_file, &st) < 0)
    return 1;
  pthread_mutex_lock(&r->lock);
  if (!same_file(r, &st)) {
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    /* this handshake's SSL copied the old pair already: both take it */
    if (pair_ok(r) &&
        SSL_CTX_use_certificate_chain_file(ctx, r->cert_file) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, r->key_file, SSL_FILETYPE_PEM) ==
            1 &&
        SSL_use_certificate_chain_file(ssl, r->cert_file) == 1 &&
        SSL_use_PrivateKey_file(ssl, r->key_file, SSL_FILETYPE_PEM) == 1)
      kube_log(KUBE_LOG_INFO, "http: serving the renewed certificate %s",
               r->cert_file);
    ERR_clear_error();
    remember(r, &st); /* a bad pair is not tried again until it changes */
  }
  pthread_mutex_unlock(&r->lock);
  return 1;
}

static void watch_files(SSL_CTX *ctx, const kube_http_listen_options_t *o) {
  struct stat st;
  pthread_once(&reload_once, reload_index_init);
  if (reload_index < 0 || stat(o->tls_cert_file, &st) < 0)
    return;
  struct reload *r = calloc(1, sizeof *r);
  if (!r)
    return;
  r->cert_file = strdup(o->tls_cert_file);
  r->key_file = strdup(o->tls_key_file);
  pthread_mutex_init(&r->lock, NULL);
  if (!r->cert_file || !r->key_file ||
      !SSL_CTX_set_ex_data(ctx, reload_index, r)) {
    reload_free(NULL, r, NULL, 0, 0, NULL);
    return;
  }
  remember(r, &st);
  SSL_CTX_set_cert_cb(ctx, cert_cb, r);
}

SSL_CTX *http_tls_server_ctx(const kube_http_listen_options_t *o,
                             kube_error_t *err) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    http_ssl_error(err, "SSL_CTX_new");
    return NULL;
  }
  harden(ctx);
  if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert_file) != 1) {
    http_ssl_error(err, o->tls_cert_file);
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key_file, SSL_FILETYPE_PEM) !=
          1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    http_ssl_error(err, o->tls_key_file);
    goto fail;
  }
  if (o->tls_client_ca_file) {
    if (SSL_CTX_load_verify_locations(ctx, o->tls_client_ca_file, NULL) != 1) {
      http_ssl_error(err, o->tls_client_ca_file);
      goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->tls_client_ca_file);
    if (names)
      SSL_CTX_set_client_CA_list(ctx, names);
    /* Optional: bearer tokens stay valid; a certificate that is presented
     * must verify. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char sid[] = "libkube";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  }
  watch_files(ctx, o);
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

/* The certificates of a PEM bundle in memory as the context's trust
 * anchors; -1 with err when it holds none or cannot be read. */
static int add_ca_pem(SSL_CTX *ctx, const char *pem, size_t len,
                      kube_error_t *err) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  size_t n = 0;
  X509 *x;
  while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
    if (X509_STORE_add_cert(store, x) == 1)
      n++;
    X509_free(x);
  }
  BIO_free(bio);
  ERR_clear_error(); /* the read that ended the loop */
  if (!n)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "the CA bundle holds no PEM certificate");
  return 0;
}

SSL_CTX *http_tls_client_ctx(const kube_http_proxy_options_t *o,
                             kube_error_t *err) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    http_ssl_error(err, "SSL_CTX_new");
    return NULL;
  }
  harden(ctx);
  if (o->tls_insecure_skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  } else if (o->tls_ca_pem && o->tls_ca_pem_len) {
    if (add_ca_pem(ctx, o->tls_ca_pem, o->tls_ca_pem_len, err) < 0)
      goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  } else {
    int ok = o->tls_ca_file
                 ? SSL_CTX_load_verify_locations(ctx, o->tls_ca_file, NULL)
                 : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
      http_ssl_error(err, o->tls_ca_file ? o->tls_ca_file : "default CA paths");
      goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  }
  if (o->tls_cert_file || o->tls_key_file) {
    if (!o->tls_cert_file || !o->tls_key_file) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                     "a client certificate needs both a certificate and a key");
      goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert_file) != 1) {
      http_ssl_error(err, o->tls_cert_file);
      goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key_file, SSL_FILETYPE_PEM) !=
        1) {
      http_ssl_error(err, o->tls_key_file);
      goto fail;
    }
  }
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

struct http_cert *http_cert_ref(struct http_cert *c) {
  if (c)
    c->refs++;
  return c;
}

void http_cert_unref(struct http_cert *c) {
  if (!c || --c->refs > 0)
    return;
  for (size_t i = 0; c->orgs && c->orgs[i]; i++)
    free(c->orgs[i]);
  free(c->orgs);
  free(c->cn);
  free(c);
}

static char *entry_text(X509_NAME_ENTRY *e) {
  unsigned char *utf8 = NULL;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
  if (n < 0)
    return NULL;
  /* An embedded NUL would cut the name a later authorizer compares. */
  char *s =
      memchr(utf8, '\0', (size_t)n) ? NULL : strndup((char *)utf8, (size_t)n);
  OPENSSL_free(utf8);
  return s;
}

/* The subject of the peer certificate, if one was presented and verified
 * against the listener's client CA. */
struct http_cert *http_cert_from_ssl(SSL *ssl) {
  X509 *x = SSL_get0_peer_certificate(ssl);
  if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
    return NULL;
  X509_NAME *name = X509_get_subject_name(x);
  struct http_cert *c = calloc(1, sizeof *c);
  int count = X509_NAME_entry_count(name);
  if (!c || !(c->orgs = calloc((size_t)count + 1, sizeof *c->orgs))) {
    free(c);
    return NULL;
  }
  c->refs = 1;
  size_t no = 0;
  for (int i = 0; i < count; i++) {
    X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    if (nid == NID_commonName && !c->cn)
      c->cn = entry_text(e);
    else if (nid == NID_organizationName) {
      char *o = entry_text(e);
      if (o)
        c->orgs[no++] = o;
    }
  }
  if (!c->cn)
    c->cn = strdup("");
  if (!c->cn) {
    http_cert_unref(c);
    return NULL;
  }
  c->pub.common_name = c->cn;
  c->pub.organizations = (const char *const *)c->orgs;
  return c;
}
