/* SPDX-License-Identifier: Apache-2.0 */
/* TLS: certificate verification against a CA, insecure mode, keep-alive
 * over TLS when the server closes an idle connection. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "test-client.h"

/* A self-signed certificate for 127.0.0.1 (IP SAN) and its key. */
static void make_cert(EVP_PKEY **key_out, X509 **cert_out) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  assert_non_null(key);
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             (const unsigned char *)"kube-test", -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  X509_EXTENSION *ext =
      X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
  assert_non_null(ext);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  ext =
      X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  assert_true(X509_sign(x, key, EVP_sha256()) > 0);
  *key_out = key;
  *cert_out = x;
}

static SSL_CTX *server_ctx(EVP_PKEY *key, X509 *cert) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  assert_non_null(ctx);
  assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
  return ctx;
}

static char *cert_pem(X509 *cert) {
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char *data;
  long n = BIO_get_mem_data(bio, &data);
  char *out = strndup(data, (size_t)n);
  BIO_free(bio);
  return out;
}

/* A kubeconfig for the server with the CA inline (base64). */
static char *write_kubeconfig(const char *dir, int port, const char *ca_pem) {
  char *b64 = kube_base64_encode(ca_pem, strlen(ca_pem));
  char *path = NULL;
  assert_true(asprintf(&path, "%s/config", dir) > 0);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
          "clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:%d\n"
          "    certificate-authority-data: %s\n"
          "users:\n- name: u\n  user:\n    token: t0k\n"
          "contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n",
          port, b64);
  fclose(f);
  free(b64);
  return path;
}

#define OK_BODY(b)                                                             \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "      \
  "2\r\n\r\n" b

static void test_tls_verify_and_keepalive(void **state) {
  (void)state;
  EVP_PKEY *key;
  X509 *cert;
  make_cert(&key, &cert);
  SSL_CTX *sctx = server_ctx(key, cert);
  char *pem = cert_pem(cert);
  char dir[] = "/tmp/kube-client-tls-XXXXXX";
  assert_non_null(mkdtemp(dir));
  /* The second response is followed by a close the client only notices
   * when it writes the third request: it must reconnect, and a SIGPIPE
   * from the dead TLS connection must not kill the process. */
  struct fake_resp script[] = {
      {OK_BODY("{}"), false}, {OK_BODY("[]"), true}, {OK_BODY("{}"), false}};
  struct fake_server fs;
  fake_start_tls(&fs, script, 3, sctx);
  char *kc = write_kubeconfig(dir, fs.port, pem);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kube_client_new_from_kubeconfig(kc, NULL, &err);
  assert_non_null(c);
  kube_client_request_t req = {.struct_size = sizeof req, .path = "/version"};
  kube_client_response_t r = KUBE_CLIENT_RESPONSE_INIT;
  for (int i = 0; i < 3; i++) {
    if (kube_client_request(c, &req, &r, &err) < 0)
      fail_msg("request %d: %s", i, err.message);
    assert_int_equal(r.status, 200);
    kube_client_response_clear(&r);
    /* Let the server's close arrive before the next write. */
    if (i == 1)
      usleep(50 * 1000);
  }
  kube_client_free(c);
  fake_stop(&fs);
  assert_int_equal(fs.connections, 2);
  assert_non_null(strstr(fs.requests[0], "Authorization: Bearer t0k\r\n"));
  assert_non_null(strstr(fs.requests[0], "Host: 127.0.0.1:"));

  /* Without the CA the certificate is refused; insecure mode accepts it. */
  struct fake_resp one[] = {{OK_BODY("{}"), false}};
  fake_start_tls(&fs, one, 1, sctx);
  char url[64];
  snprintf(url, sizeof url, "https://127.0.0.1:%d", fs.port);
  setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
  kube_client_options_t o = {.struct_size = sizeof o, .server = url};
  c = kube_client_new(&o, &err);
  assert_non_null(c);
  assert_int_equal(kube_client_request(c, &req, &r, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_SERVICE_UNAVAILABLE);
  assert_non_null(strstr(err.message, "x509"));
  kube_error_clear(&err);
  kube_client_free(c);
  o.insecure_skip_tls_verify = true;
  c = kube_client_new(&o, &err);
  assert_non_null(c);
  assert_int_equal(kube_client_request(c, &req, &r, &err), 0);
  assert_int_equal(r.status, 200);
  kube_client_response_clear(&r);
  kube_client_free(c);
  fake_stop(&fs);

  unlink(kc);
  rmdir(dir);
  free(kc);
  free(pem);
  SSL_CTX_free(sctx);
  X509_free(cert);
  EVP_PKEY_free(key);
}

int run_tls_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tls_verify_and_keepalive),
  };
  return cmocka_run_group_tests_name("client-tls", tests, NULL, NULL);
}
