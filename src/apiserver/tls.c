/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the TCP listeners (kubectl and client-go send bearer tokens
 * only over TLS): a self-signed serving certificate generated on first
 * start and the kubeconfig that trusts it.  The SSL_CTX is the http
 * module's (src/http/tls.c). */
#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "apiserver/internal.h"
#include "http/http-private.h"

static int add_ext(X509 *cert, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
  X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ex)
    return -1;
  int rc = X509_add_ext(cert, ex, -1) ? 0 : -1;
  X509_EXTENSION_free(ex);
  return rc;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
                     kube_error_t *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  /* An existing file keeps its mode through O_CREAT: set it. */
  if (fd < 0 || fchmod(fd, mode) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return kube_make_error(err, e, "open %s: %s", path, strerror(e));
  }
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    return kube_make_error(err, errno, "fdopen %s", path);
  }
  int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
               : PEM_write_X509(f, cert);
  if (fclose(f) != 0 || !ok)
    return http_ssl_error(err, "write PEM");
  return 0;
}

KUBE_EXPORT int kube_apiserver_generate_cert(const char *cert_path,
                                             const char *key_path,
                                             const char *extra_san,
                                             kube_error_t *err) {
  int rc = -1;
  X509 *cert = NULL;
  EVP_PKEY *key = EVP_EC_gen("P-256");
  if (!key)
    return http_ssl_error(err, "generate key");
  cert = X509_new();
  if (!cert) {
    http_ssl_error(err, "X509_new");
    goto out;
  }
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))) {
    BN_free(bn);
    http_ssl_error(err, "serial");
    goto out;
  }
  BN_free(bn);
  X509_set_version(cert, 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME *name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             (const unsigned char *)"libkube", -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             (const unsigned char *)"kubed", -1, -1, 0);
  X509_set_issuer_name(cert, name);
  char san[1024];
  snprintf(
      san, sizeof san,
      "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
      "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,"
      "IP:127.0.0.1,IP:::1,IP:10.96.0.1%s%s",
      extra_san && *extra_san ? "," : "",
      extra_san && *extra_san ? extra_san : "");
  /* Self-signed and its own CA: clients put it in their trust store. */
  if (add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
      add_ext(cert, NID_key_usage,
              "critical,digitalSignature,keyEncipherment,keyCertSign") < 0 ||
      add_ext(cert, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
      add_ext(cert, NID_subject_key_identifier, "hash") < 0 ||
      add_ext(cert, NID_subject_alt_name, san) < 0) {
    http_ssl_error(err, "certificate extensions");
    goto out;
  }
  if (!X509_sign(cert, key, EVP_sha256())) {
    http_ssl_error(err, "sign certificate");
    goto out;
  }
  if (write_pem(key_path, 0600, key, NULL, err) < 0 ||
      write_pem(cert_path, 0644, NULL, cert, err) < 0)
    goto out;
  rc = 0;
out:
  X509_free(cert);
  EVP_PKEY_free(key);
  return rc;
}

KUBE_EXPORT int kube_apiserver_write_kubeconfig(const char *path,
                                                const char *server,
                                                const char *ca_file,
                                                const char *token,
                                                kube_error_t *err) {
  char *ca_b64 = NULL;
  if (ca_file) {
    FILE *f = fopen(ca_file, "re");
    if (!f)
      return kube_make_error(err, errno, "open %s: %s", ca_file,
                             strerror(errno));
    unsigned char buf[16384];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ca_b64 = kube_base64_encode(buf, n);
    if (!ca_b64)
      return kube_make_oom(err);
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "apiVersion: v1\n"
                     "kind: Config\n"
                     "clusters:\n"
                     "- name: libkube\n"
                     "  cluster:\n"
                     "    server: %s\n",
                     server);
  if (ca_b64)
    kube_strbuf_printf(&sb, "    certificate-authority-data: %s\n", ca_b64);
  kube_strbuf_printf(&sb,
                     "contexts:\n"
                     "- name: libkube\n"
                     "  context:\n"
                     "    cluster: libkube\n"
                     "    user: admin\n"
                     "    namespace: default\n"
                     "current-context: libkube\n"
                     "users:\n"
                     "- name: admin\n"
                     "  user:\n"
                     "    token: %s\n"
                     "preferences: {}\n",
                     token ? token : "");
  free(ca_b64);
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    return kube_make_oom(err);
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod(fd, 0600) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    kube_strbuf_clear(&sb);
    return kube_make_error(err, e, "open %s: %s", tmp, strerror(e));
  }
  size_t off = 0, total = sb.len;
  while (off < total) {
    ssize_t w = write(fd, sb.data + off, total - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      break;
    off += (size_t)w;
  }
  kube_strbuf_clear(&sb);
  if (off < total || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return kube_make_error(err, e, "write %s: %s", path, strerror(e));
  }
  return 0;
}
