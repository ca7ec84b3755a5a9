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

#include <libkube/client.h>

#include "apiserver/internal.h"
#include "http/http-private.h"

/* A kubeconfig with one cluster trusting the PEM file ca_file (may be
 * NULL), one user (a bearer token, or a client certificate and key). */
static int write_kubeconfig(const char *path, const char *server,
                            const char *ca_file, const char *user,
                            const char *token, const char *cert_pem,
                            const char *key_pem, kube_error_t *err) {
  char *ca = NULL;
  if (ca_file && kube_apiserver_ca_data(ca_file, &ca, err) < 0)
    return -1;
  int rc = kube_kubeconfig_write(path, server, ca, user, token, cert_pem,
                                 key_pem, err);
  free(ca);
  return rc;
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
  int rc =
      write_kubeconfig(path, server, ca_cert_path, user, NULL, cert, key, err);
  free(cert);
  if (key)
    OPENSSL_cleanse(key, strlen(key));
  free(key);
  return rc;
}
