/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials as files: kube_kubeconfig_write (a kubeconfig with a bearer
 * token or a client certificate), and a node's join (kubeadm join's TLS
 * bootstrap, as the kubelet does it): a new EC P-256 key, a certificate
 * request for CN system:node:NAME O system:nodes, sent as a
 * CertificateSigningRequest of signer kubernetes.io/kube-apiserver-
 * client-kubelet with the bootstrap token, the signed certificate waited
 * for, and a kubeconfig written with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

/* Write data to path atomically, mode 0600. */
static int write_secret_file(const char *path, const char *data, size_t total,
                             kube_error_t *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  /* A leftover file keeps its mode through O_CREAT: set it. */
  if (fd < 0 || fchmod(fd, 0600) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return kube_make_error(err, e, "open %s: %s", tmp, strerror(e));
  }
  size_t off = 0;
  while (off < total) {
    ssize_t w = write(fd, data + off, total - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      break;
    off += (size_t)w;
  }
  if (off < total || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return kube_make_error(err, e, "write %s: %s", path, strerror(e));
  }
  return 0;
}

KUBE_EXPORT int kube_kubeconfig_write(const char *path, const char *server,
                                      const char *ca_pem, const char *user,
                                      const char *token, const char *cert_pem,
                                      const char *key_pem, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "apiVersion: v1\n"
                     "kind: Config\n"
                     "clusters:\n"
                     "- name: libkube\n"
                     "  cluster:\n"
                     "    server: %s\n",
                     server);
  if (ca_pem) {
    kube_strbuf_printf(&sb, "    certificate-authority-data: ");
    kube_strbuf_append_base64(&sb, ca_pem, strlen(ca_pem));
    kube_strbuf_printf(&sb, "\n");
  }
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
  if (cert_pem && key_pem) {
    kube_strbuf_printf(&sb, "    client-certificate-data: ");
    kube_strbuf_append_base64(&sb, cert_pem, strlen(cert_pem));
    kube_strbuf_printf(&sb, "\n    client-key-data: ");
    kube_strbuf_append_base64(&sb, key_pem, strlen(key_pem));
    kube_strbuf_printf(&sb, "\n");
  } else {
    kube_strbuf_printf(&sb, "    token: %s\n", token ? token : "");
  }
  kube_strbuf_printf(&sb, "preferences: {}\n");
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    return kube_make_oom(err);
  }
  int rc = write_secret_file(path, sb.data, sb.len, err);
  OPENSSL_cleanse(sb.data, sb.len);
  kube_strbuf_clear(&sb);
  return rc;
}

static char *bio_string(BIO *b) {
  char *data = NULL;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? strndup(data, (size_t)n) : NULL;
}

/* A key and a request for CN cn, O orgs and subjectAltNames sans
 * ("IP:a,DNS:b"; NULL: none). */
static int csr_make(const char *cn, const char *const *orgs, const char *sans,
                    char **key_pem, char **csr_pem, kube_error_t *err) {
  *key_pem = *csr_pem = NULL;
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509_REQ *req = X509_REQ_new();
  BIO *kb = BIO_new(BIO_s_mem()), *rb = BIO_new(BIO_s_mem());
  int rc = -1;
  if (!key || !req || !kb || !rb)
    goto out;
  X509_NAME *n = X509_REQ_get_subject_name(req);
  for (size_t i = 0; orgs && orgs[i]; i++)
    if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                    (const unsigned char *)orgs[i], -1, -1, 0))
      goto out;
  if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                  (const unsigned char *)cn, -1, -1, 0) ||
      !X509_REQ_set_pubkey(req, key))
    goto out;
  if (sans && *sans) {
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *x =
        X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
    bool ok = exts && x && sk_X509_EXTENSION_push(exts, x) &&
              X509_REQ_add_extensions(req, exts);
    if (exts && x && !ok && sk_X509_EXTENSION_find(exts, x) < 0)
      X509_EXTENSION_free(x);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok)
      goto out;
  }
  if (!X509_REQ_sign(req, key, EVP_sha256()) ||
      !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
      !PEM_write_bio_X509_REQ(rb, req))
    goto out;
  *key_pem = bio_string(kb);
  *csr_pem = bio_string(rb);
  rc = *key_pem && *csr_pem ? 0 : -1;
out:
  if (rc < 0) {
    free(*key_pem);
    free(*csr_pem);
    *key_pem = *csr_pem = NULL;
    kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                   "cannot make a certificate request");
  }
  BIO_free(kb);
  BIO_free(rb);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return rc;
}

KUBE_EXPORT int kube_client_csr_generate(const char *cn,
                                         const char *const *orgs,
                                         char **key_pem, char **csr_pem,
                                         kube_error_t *err) {
  return csr_make(cn, orgs, NULL, key_pem, csr_pem, err);
}

static char *read_file(const char *path, kube_error_t *err) {
  FILE *f = fopen(path, "re");
  if (!f) {
    kube_make_error(err, errno, "open %s: %s", path, strerror(errno));
    return NULL;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    kube_strbuf_append_len(&sb, buf, n);
  fclose(f);
  if (sb.oom || !sb.data) {
    kube_strbuf_clear(&sb);
    kube_make_oom(err);
    return NULL;
  }
  return sb.data;
}

/* POST the CSR; its name back (owned). */
static char *post_csr(kube_client_t *c, const char *node, const char *csr_pem,
                      const char *signer, const char *const *usages,
                      kube_error_t *err) {
  json_object *o = json_object_new_object();
  json_object *meta = json_object_new_object();
  char gen[300];
  snprintf(gen, sizeof gen, "node-csr-%s-", node);
  json_object_object_add(meta, "generateName", json_object_new_string(gen));
  json_object_object_add(o, "apiVersion",
                         json_object_new_string("certificates.k8s.io/v1"));
  json_object_object_add(o, "kind",
                         json_object_new_string("CertificateSigningRequest"));
  json_object_object_add(o, "metadata", meta);
  json_object *spec = json_object_new_object();
  char *b64 = kube_base64_encode(csr_pem, strlen(csr_pem));
  json_object_object_add(spec, "request",
                         json_object_new_string(b64 ? b64 : ""));
  free(b64);
  json_object_object_add(spec, "signerName", json_object_new_string(signer));
  json_object *ua = json_object_new_array();
  for (size_t i = 0; usages[i]; i++)
    json_object_array_add(ua, json_object_new_string(usages[i]));
  json_object_object_add(spec, "usages", ua);
  json_object_object_add(o, "spec", spec);
  const char *body = json_object_to_json_string(o);
  kube_client_request_t rq = {
      .struct_size = sizeof rq,
      .method = "POST",
      .path = "/apis/certificates.k8s.io/v1/certificatesigningrequests",
      .content_type = "application/json",
      .body = body,
      .body_len = strlen(body)};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  char *name = NULL;
  if (kube_client_request(c, &rq, &resp, err) == 0 &&
      kube_client_check(&resp, err) == 0) {
    json_object *r = kube_json_parse(resp.body, resp.body_len, err);
    const char *n = r ? kube_json_get_string(r, "metadata.name") : NULL;
    name = n ? strdup(n) : NULL;
    if (r)
      json_object_put(r);
  }
  kube_client_response_clear(&resp);
  json_object_put(o);
  return name;
}

/* The signed certificate of CSR `name` (PEM, owned) once there. */
static char *wait_cert(kube_client_t *c, const char *name, int timeout_ms,
                       kube_error_t *err) {
  char path[600];
  snprintf(path, sizeof path,
           "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s", name);
  int64_t deadline = kube_time_mono_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    kube_client_request_t rq = {
        .struct_size = sizeof rq, .method = "GET", .path = path};
    kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
    if (kube_client_request(c, &rq, &resp, err) < 0 ||
        kube_client_check(&resp, err) < 0) {
      kube_client_response_clear(&resp);
      return NULL;
    }
    json_object *o = kube_json_parse(resp.body, resp.body_len, NULL);
    kube_client_response_clear(&resp);
    const char *cert = o ? kube_json_get_string(o, "status.certificate") : NULL;
    json_object *conds = o ? kube_json_get(o, "status.conditions") : NULL;
    const char *bad = NULL;
    for (size_t i = 0; json_object_is_type(conds, json_type_array) &&
                       i < json_object_array_length(conds);
         i++) {
      json_object *cd = json_object_array_get_idx(conds, i);
      const char *t = kube_json_get_string(cd, "type");
      if (t && (streq(t, "Denied") || streq(t, "Failed")))
        bad = kube_json_get_string(cd, "message");
    }
    if (cert) {
      size_t n = 0;
      char *pem = (char *)kube_base64_decode(cert, strlen(cert), &n, err);
      json_object_put(o);
      return pem;
    }
    if (bad || (conds && !o)) {
      kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                     "certificate request %s was not granted: %s", name,
                     bad ? bad : "?");
      json_object_put(o);
      return NULL;
    }
    if (o)
      json_object_put(o);
    if (kube_time_mono_ns() > deadline) {
      kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT,
                     "certificate request %s: no certificate after %d ms", name,
                     timeout_ms);
      return NULL;
    }
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL);
  }
}

/* Post the request for node with signer and usages and wait for its
 * certificate (PEM, owned). */
static char *csr_certificate(kube_client_t *c, const char *node,
                             const char *csr_pem, const char *signer,
                             const char *const *usages, int timeout_ms,
                             kube_error_t *err) {
  char *name = post_csr(c, node, csr_pem, signer, usages, err);
  char *cert =
      name ? wait_cert(c, name, timeout_ms > 0 ? timeout_ms : 60000, err)
           : NULL;
  free(name);
  return cert;
}

/* Free the PEM texts of a request, the key cleansed first. */
static void pems_free(char *key, char *csr, char *cert) {
  if (key)
    OPENSSL_cleanse(key, strlen(key));
  free(key);
  free(csr);
  free(cert);
}

KUBE_EXPORT int kube_client_node_join(const kube_client_join_options_t *opts,
                                      kube_error_t *err) {
  kube_client_join_options_t o = {0};
  memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
  if (!o.server || !o.token || !o.node_name || !*o.node_name ||
      !o.kubeconfig_out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a join needs the server, the token, the node name "
                          "and where to write the kubeconfig");
  char cn[300];
  snprintf(cn, sizeof cn, "system:node:%s", o.node_name);
  const char *const orgs[] = {"system:nodes", NULL};
  char *key = NULL, *csr = NULL, *cert = NULL, *ca = NULL;
  int rc = -1;
  /* The client comes from a bootstrap kubeconfig (the kubelet's
   * --bootstrap-kubeconfig): the token and the CA, nothing of the user's
   * own kubeconfig. */
  char boot[] = "/tmp/kube-join-XXXXXX";
  int bfd = -1;
  kube_client_options_t co = {
      .struct_size = sizeof co, .kubeconfig = boot, .timeout_ms = 30000};
  kube_client_t *c = NULL;
  if (o.ca_file && !(ca = read_file(o.ca_file, err)))
    goto out;
  if ((bfd = mkstemp(boot)) < 0) {
    kube_make_error(err, errno, "mkstemp: %s", strerror(errno));
    goto out;
  }
  close(bfd);
  if (kube_kubeconfig_write(boot, o.server, ca, "bootstrap", o.token, NULL,
                            NULL, err) < 0)
    goto out;
  c = kube_client_new(&co, err);
  unlink(boot);
  bfd = -1;
  if (!c || kube_client_csr_generate(cn, orgs, &key, &csr, err) < 0 ||
      !(cert = csr_certificate(
            c, o.node_name, csr, "kubernetes.io/kube-apiserver-client-kubelet",
            (const char *const[]){"digital signature", "client auth", NULL},
            o.timeout_ms, err)))
    goto out;
  rc = kube_kubeconfig_write(o.kubeconfig_out, o.server, ca, cn, NULL, cert,
                             key, err);
out:
  if (bfd >= 0)
    unlink(boot);
  kube_client_free(c);
  pems_free(key, csr, cert);
  free(ca);
  return rc;
}

KUBE_EXPORT int
kube_client_node_serving_cert(const kube_client_serving_options_t *opts,
                              kube_error_t *err) {
  kube_client_serving_options_t o = {0};
  memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
  if (!o.kubeconfig || !o.node_name || !*o.node_name || !o.cert_out ||
      !o.key_out ||
      ((!o.ips || !o.ips[0]) && (!o.dns_names || !o.dns_names[0])))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a serving certificate needs the node's kubeconfig, "
                          "its name, an address and where to write it");
  kube_strbuf_t sans = KUBE_STRBUF_INIT;
  for (size_t i = 0; o.ips && o.ips[i]; i++)
    kube_strbuf_printf(&sans, "%sIP:%s", sans.len ? "," : "", o.ips[i]);
  for (size_t i = 0; o.dns_names && o.dns_names[i]; i++)
    kube_strbuf_printf(&sans, "%sDNS:%s", sans.len ? "," : "", o.dns_names[i]);
  if (sans.oom) {
    kube_strbuf_clear(&sans);
    return kube_make_oom(err);
  }
  char cn[300];
  snprintf(cn, sizeof cn, "system:node:%s", o.node_name);
  const char *const orgs[] = {"system:nodes", NULL};
  const char *const usages[] = {"digital signature", "key encipherment",
                                "server auth", NULL};
  char *key = NULL, *csr = NULL, *cert = NULL;
  int rc = -1;
  kube_client_options_t co = {.struct_size = sizeof co,
                              .kubeconfig = o.kubeconfig,
                              .timeout_ms = 30000};
  kube_client_t *c = kube_client_new(&co, err);
  if (!c || csr_make(cn, orgs, sans.data, &key, &csr, err) < 0 ||
      !(cert = csr_certificate(c, o.node_name, csr,
                               "kubernetes.io/kubelet-serving", usages,
                               o.timeout_ms, err)))
    goto out;
  rc = write_secret_file(o.key_out, key, strlen(key), err) < 0 ||
               write_secret_file(o.cert_out, cert, strlen(cert), err) < 0
           ? -1
           : 0;
out:
  kube_strbuf_clear(&sans);
  kube_client_free(c);
  pems_free(key, csr, cert);
  return rc;
}

/* The validity of the first certificate of PEM text `pem`. */
static int pem_validity(const char *pem, const char *what, int64_t *not_before,
                        int64_t *not_after, kube_error_t *err) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  int rc = -1;
  struct tm tb, ta;
  if (x && ASN1_TIME_to_tm(X509_get0_notBefore(x), &tb) == 1 &&
      ASN1_TIME_to_tm(X509_get0_notAfter(x), &ta) == 1) {
    *not_before = (int64_t)timegm(&tb);
    *not_after = (int64_t)timegm(&ta);
    rc = 0;
  } else {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the certificate of %s cannot be read", what);
  }
  X509_free(x);
  return rc;
}

KUBE_EXPORT int kube_client_pem_validity(const char *pem_file,
                                         int64_t *not_before,
                                         int64_t *not_after,
                                         kube_error_t *err) {
  char *pem = read_file(pem_file, err);
  if (!pem)
    return -1;
  int rc = pem_validity(pem, pem_file, not_before, not_after, err);
  free(pem);
  return rc;
}

KUBE_EXPORT int kube_client_cert_validity(const char *kubeconfig,
                                          int64_t *not_before,
                                          int64_t *not_after,
                                          kube_error_t *err) {
  kube_kubeconfig_t *kc = kube_kubeconfig_load(kubeconfig, NULL, err);
  if (!kc)
    return -1;
  if (kc->client_certificate && !kc->client_certificate_data) {
    int rc = kube_client_pem_validity(kc->client_certificate, not_before,
                                      not_after, err);
    kube_kubeconfig_free(kc);
    return rc;
  }
  int rc = kc->client_certificate_data
               ? pem_validity(kc->client_certificate_data, kubeconfig,
                              not_before, not_after, err)
               : kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                                "%s has no client certificate", kubeconfig);
  kube_kubeconfig_free(kc);
  return rc;
}

KUBE_EXPORT int kube_client_node_renew(const char *kubeconfig,
                                       const char *node_name, int timeout_ms,
                                       kube_error_t *err) {
  if (!kubeconfig || !node_name || !*node_name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a renewal needs the node's kubeconfig and name");
  char cn[300];
  snprintf(cn, sizeof cn, "system:node:%s", node_name);
  const char *const orgs[] = {"system:nodes", NULL};
  char *key = NULL, *csr = NULL, *cert = NULL;
  kube_kubeconfig_t *kc = kube_kubeconfig_load(kubeconfig, NULL, err);
  if (!kc)
    return -1;
  char *ca = kc->certificate_authority_data
                 ? strdup(kc->certificate_authority_data)
             : kc->certificate_authority
                 ? read_file(kc->certificate_authority, NULL)
                 : NULL;
  /* The request goes with the current certificate (a node renewing its
   * own: certificatesigningrequests/selfnodeclient). */
  kube_client_options_t co = {
      .struct_size = sizeof co, .kubeconfig = kubeconfig, .timeout_ms = 30000};
  kube_client_t *c = kube_client_new(&co, err);
  int rc = -1;
  if (!c || kube_client_csr_generate(cn, orgs, &key, &csr, err) < 0 ||
      !(cert = csr_certificate(
            c, node_name, csr, "kubernetes.io/kube-apiserver-client-kubelet",
            (const char *const[]){"digital signature", "client auth", NULL},
            timeout_ms, err)))
    goto out;
  /* Written whole and renamed: a reader sees the old or the new one. */
  rc = kube_kubeconfig_write(kubeconfig, kc->server, ca, cn, NULL, cert, key,
                             err);
out:
  kube_client_free(c);
  kube_kubeconfig_free(kc);
  pems_free(key, csr, cert);
  free(ca);
  return rc;
}
