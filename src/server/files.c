/* SPDX-License-Identifier: Apache-2.0 */
/* The server's files in its data directory: the directory itself, the
 * bearer token, the serving certificate. */
#include <fcntl.h>
#include <sys/stat.h>

#include <libkube/apiserver.h>

#include "server/internal.h"

int srv_mkdir_p(const char *path, mode_t mode, kube_error_t *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENAMETOOLONG,
                          "path too long: %s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
      return kube_make_error(err, errno, "cannot create %s: %s", buf,
                             strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return kube_make_error(err, errno, "cannot create %s: %s", buf,
                           strerror(errno));
  return 0;
}

int srv_write_file(const char *path, const char *data, mode_t mode,
                   kube_error_t *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return kube_make_error(err, errno, "cannot write %s: %s", tmp,
                           strerror(errno));
  /* A stale temp file keeps its old mode through O_CREAT. */
  if (fchmod(fd, mode) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return kube_make_error(err, e, "cannot write %s: %s", tmp, strerror(e));
  }
  size_t len = strlen(data), off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      close(fd);
      unlink(tmp);
      return kube_make_error(err, e, "cannot write %s: %s", tmp, strerror(e));
    }
    off += (size_t)n;
  }
  if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return kube_make_error(err, e, "cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

/* The first line of `path` (owned), or NULL when absent or empty. */
static char *first_line(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f)
    return NULL;
  char buf[512] = "";
  bool ok = fgets(buf, sizeof buf, f) != NULL;
  fclose(f);
  buf[strcspn(buf, "\r\n")] = '\0';
  return ok && buf[0] ? strdup(buf) : NULL;
}

static int urandom(unsigned char *buf, size_t n, kube_error_t *err) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, n) != (ssize_t)n) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return kube_make_error(err, e, "cannot read /dev/urandom: %s", strerror(e));
  }
  close(fd);
  return 0;
}

/* Write `secret` and a newline to path (0600); a copy of it (owned). */
static char *keep_secret(const char *path, const char *secret,
                         kube_error_t *err) {
  char line[128];
  snprintf(line, sizeof line, "%s\n", secret);
  if (srv_write_file(path, line, 0600, err) < 0)
    return NULL;
  char *t = strdup(secret);
  if (!t)
    kube_make_oom(err);
  return t;
}

char *srv_load_token(const char *dir, const char *given, kube_error_t *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/token", dir);
  char *t = given ? strdup(given) : first_line(path);
  if (t || given) {
    if (!t)
      kube_make_oom(err);
    return t;
  }
  unsigned char rnd[24];
  if (urandom(rnd, sizeof rnd, err) < 0)
    return NULL;
  char hex[sizeof rnd * 2 + 2];
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
  return keep_secret(path, hex, err);
}

/* The cluster CA (DATA/ca.crt, ca.key): created once; it signs the
 * serving certificate and clients' certificates. */
int srv_ensure_ca(const char *dir, char **ca_out, char **ca_key_out,
                  kube_error_t *err) {
  if (asprintf(ca_out, "%s/ca.crt", dir) < 0 ||
      asprintf(ca_key_out, "%s/ca.key", dir) < 0)
    return kube_make_oom(err);
  bool existed = access(*ca_out, R_OK) == 0 && access(*ca_key_out, R_OK) == 0;
  if (kube_apiserver_ca_ensure(*ca_out, *ca_key_out, err) < 0)
    return kube_error_wrap(err, "cluster CA");
  if (!existed)
    log_info("kubed: generated cluster CA %s", *ca_out);
  return existed ? 0 : 1;
}

/* A serving certificate signed by the CA, mode 0600 (public, but the
 * data directory's files are its owner's alone). */
static int sign_serving_cert(const char *cert, const char *key, const char *ca,
                             const char *ca_key, const char *san,
                             const char *what, kube_error_t *err) {
  if (kube_apiserver_generate_cert_signed(cert, key, ca, ca_key, san, err) < 0)
    return kube_error_wrap(err, "%s", what);
  if (chmod(cert, 0600) < 0)
    return kube_make_error(err, errno, "chmod %s: %s", cert, strerror(errno));
  return 0;
}

int srv_ensure_cert(const char *dir, const char *san, char **cert_out,
                    char **key_out, kube_error_t *err) {
  cleanup_free char *ca = NULL;
  cleanup_free char *ca_key = NULL;
  int fresh_ca = srv_ensure_ca(dir, &ca, &ca_key, err);
  if (fresh_ca < 0)
    return -1;
  if (asprintf(cert_out, "%s/tls.crt", dir) < 0 ||
      asprintf(key_out, "%s/tls.key", dir) < 0)
    return kube_make_oom(err);
  /* A new CA (a data directory from before it) signs a new serving
   * certificate: clients trust the CA. */
  cleanup_free char *san_path = NULL;
  if (asprintf(&san_path, "%s/tls.san", dir) < 0)
    return kube_make_oom(err);
  cleanup_free char *old_san = core_read_file(san_path, NULL);
  const char *want = san ? san : "";
  if (!fresh_ca && access(*cert_out, R_OK) == 0 &&
      access(*key_out, R_OK) == 0 && old_san && streq(old_san, want))
    return 0;
  if (sign_serving_cert(*cert_out, *key_out, ca, ca_key, san,
                        "serving certificate", err) < 0 ||
      srv_write_file(san_path, want, 0600, err) < 0)
    return -1;
  log_info("kubed: generated serving certificate %s", *cert_out);
  return 0;
}

int srv_kubelet_client_cert(const char *dir, const char *ca,
                            const char *ca_key, char **cert_out,
                            char **key_out, kube_error_t *err) {
  static const char *const groups[] = {"system:masters", NULL};
  cleanup_free char *cert = NULL;
  cleanup_free char *key = NULL;
  if (asprintf(cert_out, "%s/kubelet-client.crt", dir) < 0 ||
      asprintf(key_out, "%s/kubelet-client.key", dir) < 0)
    return kube_make_oom(err);
  if (kube_apiserver_sign_client_cert(ca, ca_key,
                                      "kube-apiserver-kubelet-client", groups,
                                      365, &cert, &key, err) < 0 ||
      srv_write_file(*key_out, key, 0600, err) < 0 ||
      srv_write_file(*cert_out, cert, 0600, err) < 0)
    return kube_error_wrap(err, "kubelet client certificate");
  return 0;
}

int srv_kubelet_serving_cert(const char *dir, const char *ca,
                             const char *ca_key, const char *node_name,
                             const char *node_ip, char **cert_out,
                             char **key_out, kube_error_t *err) {
  cleanup_free char *san = NULL;
  if (asprintf(cert_out, "%s/kubelet.crt", dir) < 0 ||
      asprintf(key_out, "%s/kubelet.key", dir) < 0 ||
      asprintf(&san, "DNS:%s%s%s", node_name, node_ip ? ",IP:" : "",
               node_ip ? node_ip : "") < 0)
    return kube_make_oom(err);
  return sign_serving_cert(*cert_out, *key_out, ca, ca_key, san,
                           "kubelet serving certificate", err);
}

char *srv_load_identity(const char *dir, kube_error_t *err) {
  char host[256] = "localhost", uuid[40], *id = NULL;
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  kube_uuid_generate(uuid, sizeof uuid);
  if (asprintf(&id, "%s_%s", host, uuid) < 0) {
    kube_make_oom(err);
    return NULL;
  }
  if (!dir)
    return id;
  /* Kept across restarts: a restarted server still holds its Leases and
   * takes them back at once instead of waiting for them to expire. */
  char path[4200];
  snprintf(path, sizeof path, "%s/identity", dir);
  char *kept = first_line(path);
  if (kept) {
    free(id);
    return kept;
  }
  char line[600];
  snprintf(line, sizeof line, "%s\n", id);
  if (srv_write_file(path, line, 0600, err) < 0) {
    free(id);
    return NULL;
  }
  return id;
}

/* The data directory holds the store (every Secret), the token and the
 * key: only its owner may enter it.  One others can read or write is
 * tightened, and the log says so; one that cannot be tightened safely is
 * refused: not ours (chmod would fail or take it from its owner) or a
 * shared sticky directory such as /tmp (tightening it breaks everyone
 * else). */
int srv_private_dir(const char *path, kube_error_t *err) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return kube_make_error(err, errno, "data directory %s: %s", path,
                           strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENOTDIR,
                          "data directory %s is not a directory", path);
  if (!(st.st_mode & 077))
    return 0;
  if (st.st_uid != geteuid())
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, EPERM,
                          "data directory %s (mode %04o) is owned by uid %u "
                          "and open to other users: refusing it",
                          path, (unsigned)(st.st_mode & 07777),
                          (unsigned)st.st_uid);
  if ((st.st_mode & S_ISVTX) && (st.st_mode & 002))
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, EPERM,
                          "data directory %s (mode %04o) is a shared "
                          "directory: refusing it",
                          path, (unsigned)(st.st_mode & 07777));
  if (chmod(path, 0700) < 0)
    return kube_make_error(err, errno,
                           "data directory %s is open to other users (mode "
                           "%04o) and cannot be tightened: %s",
                           path, (unsigned)(st.st_mode & 07777),
                           strerror(errno));
  log_warn("kubed: data directory %s was mode %04o (open to other users); "
           "tightened to 0700",
           path, (unsigned)(st.st_mode & 07777));
  return 0;
}

/* Files an older kubed (or an operator) left readable by others. */
int srv_private_file(const char *path, kube_error_t *err) {
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 077))
    return 0;
  if (chmod(path, st.st_mode & 0700) < 0)
    return kube_make_error(err, errno,
                           "%s is open to other users and cannot "
                           "be made private: %s",
                           path, strerror(errno));
  log_warn("kubed: %s was mode %04o; tightened to %04o", path,
           (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 0700));
  return 0;
}

/* DATA/join-token ("abcdef.0123456789abcdef", 0600): the bootstrap token
 * nodes join with (kubeadm's token format). */
char *srv_load_join_token(const char *dir, kube_error_t *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/join-token", dir);
  char *t = first_line(path);
  if (t && strlen(t) == 23)
    return t;
  free(t);
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char rnd[22];
  if (urandom(rnd, sizeof rnd, err) < 0)
    return NULL;
  char tok[24];
  for (size_t i = 0, j = 0; i < 23; i++)
    tok[i] = i == 6 ? '.' : alphabet[rnd[j++] % 36];
  tok[23] = '\0';
  return keep_secret(path, tok, err);
}
