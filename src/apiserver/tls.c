/* SPDX-License-Identifier: Apache-2.0 */
/* Kubeconfigs that trust the cluster CA (or the self-signed serving
 * certificate): the admin's with the bearer token, users' with a client
 * certificate the CA signed (ca.c).  The SSL_CTX is the http module's
 * (src/http/tls.c). */
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

/* A kubeconfig with one cluster, one user (a bearer token, or a client
 * certificate and key in PEM) and context "libkube". */
static int write_kubeconfig(const char *path, const char *server,
                            const char *ca_file, const char *user,
                            const char *token, const char *cert_pem,
                            const char *key_pem, kube_error_t *err) {
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
                     "    user: %s\n"
                     "    namespace: default\n"
                     "current-context: libkube\n"
                     "users:\n"
                     "- name: %s\n"
                     "  user:\n",
                     user, user);
  free(ca_b64);
  if (cert_pem && key_pem) {
    char *c = kube_base64_encode(cert_pem, strlen(cert_pem));
    char *k = kube_base64_encode(key_pem, strlen(key_pem));
    if (c && k)
      kube_strbuf_printf(&sb,
                         "    client-certificate-data: %s\n"
                         "    client-key-data: %s\n",
                         c, k);
    else
      sb.oom = true;
    free(c);
    free(k);
  } else {
    kube_strbuf_printf(&sb, "    token: %s\n", token ? token : "");
  }
  kube_strbuf_printf(&sb, "preferences: {}\n");
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

KUBE_EXPORT int kube_apiserver_write_kubeconfig(const char *path,
                                                const char *server,
                                                const char *ca_file,
                                                const char *token,
                                                kube_error_t *err) {
  return write_kubeconfig(path, server, ca_file, "admin", token, NULL, NULL,
                          err);
}

KUBE_EXPORT int kube_apiserver_write_user_kubeconfig(
    const char *path, const char *server, const char *ca_cert_path,
    const char *ca_key_path, const char *user, const char *const *groups,
    int days, kube_error_t *err) {
  char *cert = NULL, *key = NULL;
  if (kube_apiserver_sign_client_cert(ca_cert_path, ca_key_path, user, groups,
                                      days, &cert, &key, err) < 0)
    return -1;
  int rc = write_kubeconfig(path, server, ca_cert_path, user, NULL, cert, key,
                            err);
  free(cert);
  if (key)
    OPENSSL_cleanse(key, strlen(key));
  free(key);
  return rc;
}
