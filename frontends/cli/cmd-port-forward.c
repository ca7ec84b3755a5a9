/* SPDX-License-Identifier: Apache-2.0 */
/* kube port-forward POD [LOCAL:]REMOTE... [--address A,B]: kubectl's
 * port-forward over kube_client_portforward, until SIGINT/SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "cli.h"

static int stop_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  ssize_t w = write(stop_pipe[1], "s", 1);
  (void)w;
  errno = saved;
}

struct pf_state {
  bool failed;
};

static void on_ready(void *arg, const kube_client_forward_t *fw, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bool v6 = strchr(fw[i].address, ':') != NULL;
    printf("Forwarding from %s%s%s:%u -> %u\n", v6 ? "[" : "", fw[i].address,
           v6 ? "]" : "", fw[i].local_port, fw[i].remote_port);
  }
  fflush(stdout);
}

static void on_connection(void *arg, const kube_client_forward_t *fw) {
  printf("Handling connection for %u\n", fw->local_port);
  fflush(stdout);
}

/* kubectl logs the failure the klog way, then ends (its "lost connection
 * to pod"). */
static void on_error(void *arg, const kube_client_forward_t *fw,
                     const char *message) {
  struct pf_state *st = arg;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  fprintf(stderr,
          "E%02d%02d %02d:%02d:%02d.%06ld %7d portforward.go:424] \"Unhandled "
          "Error\" err=\"an error occurred forwarding %u -> %u: ",
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
          (long)tv.tv_usec, (int)getpid(), fw->local_port, fw->remote_port);
  for (const char *p = message; p && *p; p++) {
    if (*p == '"' || *p == '\\')
      fputc('\\', stderr);
    fputc(*p, stderr);
  }
  fputs("\"\n", stderr);
  st->failed = true;
  on_signal(0);
}

int cmd_port_forward(int argc, char **argv) {
  struct cli_strv addrs = {0};
  const char *timeout = NULL;
  const struct cli_flag flags[] = {
      {"address", 0, CLI_STRINGS, &addrs, NULL},
      {"pod-running-timeout", 0, CLI_STRING, &timeout, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  kube_object_t *pod = NULL;
  const char **addr_list = NULL;
  /* Before the first goto: its cleanup runs at every return. */
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (npos < 2) {
    rc = cli_fail("TYPE/NAME and list of ports are required for "
                  "port-forward\nSee 'kube port-forward -h' for help and "
                  "examples");
    goto out;
  }
  const char *name = cli_pod_arg(pos[0]);
  if (!name) {
    rc = cli_fail("port-forward: only pods are supported (got \"%s\")", pos[0]);
    goto out;
  }
  /* --address a,b and repeated --address: one list. */
  size_t na = 0;
  for (size_t i = 0; i < addrs.n; i++)
    na += 1 + strlen(addrs.v[i]);
  addr_list = calloc(na + 1, sizeof *addr_list);
  char *addr_buf = NULL;
  if (addrs.n) {
    size_t total = 0;
    for (size_t i = 0; i < addrs.n; i++)
      total += strlen(addrs.v[i]) + 1;
    addr_buf = calloc(1, total + 1);
    size_t k = 0;
    for (size_t i = 0; addr_buf && i < addrs.n; i++) {
      strcat(addr_buf, addrs.v[i]);
      strcat(addr_buf, ",");
    }
    char *save = NULL;
    for (char *t = addr_buf ? strtok_r(addr_buf, ",", &save) : NULL; t;
         t = strtok_r(NULL, ",", &save))
      addr_list[k++] = t;
  }
  for (int i = 1; i < npos; i++) {
    uint16_t l, r;
    if (kube_client_forward_parse(pos[i], &l, &r, &err) < 0) {
      rc = cli_report(&err);
      free(addr_buf);
      goto out;
    }
  }
  kube_client_t *c = cli_client();
  if (!c || !(pod = cli_get_pod(c, name))) {
    free(addr_buf);
    goto out;
  }
  const char *phase = kube_object_get_string(pod, "status.phase");
  if (!phase || !streq(phase, "Running")) {
    rc = cli_fail("unable to forward port because pod is not running. "
                  "Current status=%s",
                  phase ? phase : "");
    free(addr_buf);
    goto out;
  }
  if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    rc = cli_fail("pipe: %s", strerror(errno));
    free(addr_buf);
    goto out;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  struct pf_state st = {0};
  kube_client_portforward_options_t o = KUBE_CLIENT_PORTFORWARD_OPTIONS_INIT;
  o.namespace_ = cli_namespace();
  o.pod = name;
  o.ports = (const char *const *)(pos + 1);
  o.addresses = addrs.n ? addr_list : NULL;
  o.ready = on_ready;
  o.connection = on_connection;
  o.error = on_error;
  o.arg = &st;
  o.stop_fd = stop_pipe[0];
  const char *ws = getenv("KUBECTL_PORT_FORWARD_WEBSOCKETS");
  if (ws && (streq(ws, "false") || streq(ws, "0")))
    o.transport = KUBE_CLIENT_STREAM_SPDY;
  if (kube_client_portforward(c, &o, &err) < 0)
    rc = cli_report(&err);
  else if (st.failed)
    rc = cli_fail("lost connection to pod");
  else
    rc = 0;
  free(addr_buf);
out:
  kube_object_free(pod);
  free(addr_list);
  free(addrs.v);
  free(pos);
  return rc;
}
