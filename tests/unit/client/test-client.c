/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the client module. */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "test-client.h"

/* Every recorded request, released at exit (tests read them after
 * fake_stop). */
static char *recorded[256];
static size_t n_recorded;

static void *serve(void *arg) {
  struct fake_server *fs = arg;
  while (fs->next < fs->n_script) {
    int fd = accept(fs->lfd, NULL, NULL);
    if (fd < 0)
      break;
    fs->connections++;
    SSL *ssl = NULL;
    if (fs->tls) {
      ssl = SSL_new(fs->tls);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) {
        /* A client that refused our certificate: not a request. */
        SSL_free(ssl);
        close(fd);
        continue;
      }
    }
    kube_strbuf_t in = KUBE_STRBUF_INIT;
    bool closed = false;
    while (!closed && fs->next < fs->n_script) {
      /* Read one request: head, then Content-Length bytes of body. */
      char *end = NULL;
      size_t need = 0;
      for (;;) {
        if (in.data && (end = strstr(in.data, "\r\n\r\n"))) {
          const char *cl = strcasestr(in.data, "Content-Length:");
          size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
          need = (size_t)(end - in.data) + 4 + body;
          if (in.len >= need)
            break;
        }
        char buf[4096];
        ssize_t r =
            ssl ? SSL_read(ssl, buf, sizeof buf) : read(fd, buf, sizeof buf);
        if (r <= 0) {
          closed = true;
          break;
        }
        kube_strbuf_append_len(&in, buf, (size_t)r);
      }
      if (closed)
        break;
      if (fs->n_requests < 16 && n_recorded < 256) {
        fs->requests[fs->n_requests++] = strndup(in.data, need);
        recorded[n_recorded++] = fs->requests[fs->n_requests - 1];
      }
      memmove(in.data, in.data + need, in.len - need);
      in.len -= need;
      in.data[in.len] = '\0';
      const struct fake_resp *r = &fs->script[fs->next++];
      int len = (int)strlen(r->raw);
      if ((ssl ? SSL_write(ssl, r->raw, len) : write(fd, r->raw, len)) < 0)
        break;
      if (r->close_after)
        break;
    }
    kube_strbuf_clear(&in);
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    close(fd);
  }
  return NULL;
}

void fake_start(struct fake_server *fs, const struct fake_resp *script,
                size_t n) {
  memset(fs, 0, sizeof *fs);
  strcpy(fs->dir, "/tmp/kube-client-test-XXXXXX");
  assert_non_null(mkdtemp(fs->dir));
  snprintf(fs->sock, sizeof fs->sock, "%s/sock", fs->dir);
  fs->script = script;
  fs->n_script = n;
  fs->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fs->lfd >= 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, fs->sock);
  assert_int_equal(bind(fs->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fs->lfd, 8), 0);
  assert_int_equal(pthread_create(&fs->thread, NULL, serve, fs), 0);
}

void fake_start_tls(struct fake_server *fs, const struct fake_resp *script,
                    size_t n, SSL_CTX *ctx) {
  memset(fs, 0, sizeof *fs);
  fs->script = script;
  fs->n_script = n;
  fs->tls = ctx;
  fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fs->lfd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  assert_int_equal(bind(fs->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fs->lfd, 8), 0);
  assert_int_equal(getsockname(fs->lfd, (struct sockaddr *)&sa, &sl), 0);
  fs->port = ntohs(sa.sin_port);
  assert_int_equal(pthread_create(&fs->thread, NULL, serve, fs), 0);
}

void fake_stop(struct fake_server *fs) {
  shutdown(fs->lfd, SHUT_RDWR);
  pthread_join(fs->thread, NULL);
  close(fs->lfd);
  if (!fs->tls) {
    unlink(fs->sock);
    rmdir(fs->dir);
  }
}

kube_client_t *fake_client(struct fake_server *fs) {
  char url[160];
  snprintf(url, sizeof url, "unix:%s", fs->sock);
  /* No kubeconfig may leak in from the environment. */
  setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
  kube_client_options_t o = {.struct_size = sizeof o,
                             .server = url,
                             .token = "secret",
                             .timeout_ms = 5000};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kube_client_new(&o, &err);
  if (!c)
    fail_msg("client: %s", err.message);
  return c;
}

int main(void) {
  int failed = 0;
  failed += run_http_tests();
  failed += run_print_tests();
  failed += run_kubectl_tests();
  failed += run_kubectl_lib_tests();
  failed += run_tls_tests();
  for (size_t i = 0; i < n_recorded; i++)
    free(recorded[i]);
  return failed ? 1 : 0;
}
