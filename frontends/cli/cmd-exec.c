/* SPDX-License-Identifier: Apache-2.0 */
/* kube exec POD [-c C] [-i] [-t] -- CMD...   and   kube attach POD:
 * kubectl's exec and attach over kube_client_exec, with a local terminal
 * in raw mode and its size sent on SIGWINCH for -t. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>

#include "cli.h"

static int winch_pipe[2] = {-1, -1};

static void on_winch(int sig) {
  int saved = errno;
  ssize_t w = write(winch_pipe[1], "w", 1);
  (void)w;
  errno = saved;
}

struct term_state {
  bool raw;
  struct termios saved;
};

static void term_raw(struct term_state *t) {
  struct termios raw;
  if (tcgetattr(STDIN_FILENO, &t->saved) < 0)
    return;
  raw = t->saved;
  cfmakeraw(&raw);
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
    t->raw = true;
}

static void term_restore(struct term_state *t) {
  if (t->raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
  t->raw = false;
}

static kube_client_stream_transport_t remote_command_transport(void) {
  /* kubectl's switch to force SPDY, honoured the same way. */
  const char *v = getenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
  return v && (streq(v, "false") || streq(v, "0")) ? KUBE_CLIENT_STREAM_SPDY
                                                   : KUBE_CLIENT_STREAM_AUTO;
}

/* Run the session; prints what kubectl prints; returns the exit code. */
static int run_session(kube_client_t *c, kube_client_exec_options_t *o) {
  struct term_state ts = {0};
  struct sigaction sa = {.sa_handler = on_winch}, old;
  bool winch = false;
  if (o->tty) {
    if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      winch = sigaction(SIGWINCH, &sa, &old) == 0;
      o->resize_fd = winch_pipe[0];
    }
    o->tty_fd = STDIN_FILENO;
    if (o->stdin_)
      term_raw(&ts);
  }
  int code = 0;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_client_exec(c, o, &code, &err);
  term_restore(&ts);
  if (winch)
    sigaction(SIGWINCH, &old, NULL);
  for (int i = 0; i < 2; i++)
    if (winch_pipe[i] >= 0) {
      close(winch_pipe[i]);
      winch_pipe[i] = -1;
    }
  if (rc < 0)
    return cli_report(&err);
  if (code != 0)
    fprintf(stderr, "command terminated with exit code %d\n", code);
  return code;
}

int cli_pod_session(kube_client_t *c, const char *pod, const char *container,
                    const char *const *command, bool in, bool tty) {
  kube_client_exec_options_t o = KUBE_CLIENT_EXEC_OPTIONS_INIT;
  o.namespace_ = cli_namespace();
  o.pod = pod;
  o.container = container;
  o.command = command;
  o.stdin_ = in;
  o.tty = tty;
  o.stdin_fd = in ? STDIN_FILENO : -1;
  o.stdout_fd = STDOUT_FILENO;
  o.stderr_fd = STDERR_FILENO;
  o.transport = remote_command_transport();
  return run_session(c, &o);
}

void cli_check_tty(bool *tty, bool in) {
  if (!*tty)
    return;
  if (!in) {
    *tty = false;
    return;
  }
  if (!isatty(STDIN_FILENO)) {
    fprintf(stderr, "Unable to use a TTY - input is not a terminal or the "
                    "right kind of file\n");
    *tty = false;
  }
}

/* The pod named by `arg`, unless it is not a pod or has completed
 * (kubectl refuses both: "cannot <what> a container in a completed pod").
 * Prints the error and returns NULL. */
static kube_object_t *live_pod(kube_client_t *c, const char *verb,
                               const char *what, const char *arg,
                               const char **name) {
  if (!(*name = cli_pod_arg(arg))) {
    cli_fail("%s: only pods are supported (got \"%s\")", verb, arg);
    return NULL;
  }
  kube_object_t *pod = cli_get_pod(c, *name);
  const char *phase = pod ? kube_object_get_string(pod, "status.phase") : NULL;
  if (phase && (streq(phase, "Succeeded") || streq(phase, "Failed"))) {
    cli_fail("cannot %s a container in a completed pod; current phase is %s",
             what, phase);
    kube_object_free(pod);
    return NULL;
  }
  return pod;
}

int cmd_exec(int argc, char **argv) {
  const char *container = NULL, *timeout = NULL;
  bool in = false, tty = false, quiet = false;
  const struct cli_flag flags[] = {
      {"container", 'c', CLI_STRING, &container, NULL},
      {"stdin", 'i', CLI_BOOL, &in, NULL},
      {"tty", 't', CLI_BOOL, &tty, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {"pod-running-timeout", 0, CLI_STRING, &timeout, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, dashdash = -1, rc = 1;
  kube_object_t *pod = NULL;
  if (cli_parse(argc, argv, flags, &pos, &npos, &dashdash) < 0)
    goto out;
  if (npos < 1 || dashdash == 0) {
    rc = cli_fail("expected 'exec (POD | TYPE/NAME) COMMAND [ARG1] [ARG2] ... "
                  "[ARGN]'.\nPOD or TYPE/NAME is a required argument for the "
                  "exec command\nSee 'kube exec -h' for help and examples");
    goto out;
  }
  if (npos > 1 && dashdash < 0) {
    rc = cli_fail("exec [POD] [COMMAND] is not supported anymore. Use exec "
                  "[POD] -- [COMMAND] instead\nSee 'kube exec -h' for help "
                  "and examples");
    goto out;
  }
  if (npos < 2) {
    rc = cli_fail("you must specify at least one command for the container");
    goto out;
  }
  const char *name = NULL;
  kube_client_t *c = cli_client();
  if (!c || !(pod = live_pod(c, "exec", "exec into", pos[0], &name)))
    goto out;
  if (!container && !(container = cli_pod_container(pod, NULL, quiet)))
    goto out;
  cli_check_tty(&tty, in);
  rc = cli_pod_session(c, name, container, (const char *const *)(pos + dashdash),
                   in, tty);
out:
  kube_object_free(pod);
  free(pos);
  return rc;
}

/* The container's spec.tty (attach -t needs it). */
static bool container_tty(const kube_object_t *pod, const char *name) {
  static const char *const lists[] = {"containers", "initContainers",
                                      "ephemeralContainers"};
  for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
    for (size_t i = 0;; i++) {
      char path[96];
      snprintf(path, sizeof path, "spec.%s.%zu.name", lists[l], i);
      const char *n = kube_object_get_string(pod, path);
      if (!n)
        break;
      if (!streq(n, name))
        continue;
      snprintf(path, sizeof path, "{.spec.%s[%zu].tty}", lists[l], i);
      cleanup_free char *v = kube_jsonpath_eval(pod, path, NULL);
      return v && streq(v, "true");
    }
  return false;
}

int cmd_attach(int argc, char **argv) {
  const char *container = NULL, *timeout = NULL;
  bool in = false, tty = false, quiet = false;
  const struct cli_flag flags[] = {
      {"container", 'c', CLI_STRING, &container, NULL},
      {"stdin", 'i', CLI_BOOL, &in, NULL},
      {"tty", 't', CLI_BOOL, &tty, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {"pod-running-timeout", 0, CLI_STRING, &timeout, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  kube_object_t *pod = NULL;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (npos != 1) {
    rc = cli_fail("expected POD, TYPE/NAME, or TYPE NAME, (at most 2 "
                  "arguments) saw %d: %s\nSee 'kube attach -h' for help and "
                  "examples",
                  npos, npos ? pos[0] : "[]");
    goto out;
  }
  const char *name = NULL;
  kube_client_t *c = cli_client();
  if (!c || !(pod = live_pod(c, "attach", "attach", pos[0], &name)))
    goto out;
  if (!(container = cli_pod_container(pod, container, quiet)))
    goto out;
  if (tty && !container_tty(pod, container)) {
    if (!quiet)
      fprintf(stderr,
              "Unable to use a TTY - container %s did not allocate "
              "one\n",
              container);
    tty = false;
  }
  cli_check_tty(&tty, in);
  if (!quiet)
    fprintf(stderr, "If you don't see a command prompt, try pressing "
                    "enter.\n");
  rc = cli_pod_session(c, name, container, NULL, in, tty);
out:
  kube_object_free(pod);
  free(pos);
  return rc;
}
