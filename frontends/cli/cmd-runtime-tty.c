/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube extensions of `kube runtime`: proxying a terminal or an attach
 * session to our own stdio, `attach`, `resize`, `reopen-log`, `sandbox`.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cmd-runtime.h"

static volatile sig_atomic_t winch = 1;
static void on_winch(int sig) {
  (void)sig;
  winch = 1;
}

/* Our terminal in raw mode while proxying (restored by raw_leave). */
static struct termios saved_tio;
static bool raw_on;

static void raw_enter(void) {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
    return;
  struct termios t = saved_tio;
  cfmakeraw(&t);
  if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
    raw_on = true;
  struct sigaction sa = {.sa_handler = on_winch};
  sigaction(SIGWINCH, &sa, NULL);
}

static void raw_leave(void) {
  if (raw_on)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
  raw_on = false;
}

static bool our_size(unsigned short *rows, unsigned short *cols) {
  struct winsize ws;
  if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
    return false;
  *rows = ws.ws_row;
  *cols = ws.ws_col;
  return true;
}

void rt_write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

int rt_proxy_pty(int master) {
  raw_enter();
  bool in_open = true;
  char buf[16384];
  for (;;) {
    unsigned short r, c;
    if (winch && our_size(&r, &c)) {
      kube_rt_terminal_resize(master, r, c, NULL);
      winch = 0;
    }
    struct pollfd p[2] = {{master, POLLIN, 0},
                          {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0)
        break; /* EIO: the process closed the terminal */
      rt_write_all(STDOUT_FILENO, buf, (size_t)n);
    }
    if (p[1].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0)
        in_open = false;
      else
        rt_write_all(master, buf, (size_t)n);
    }
  }
  raw_leave();
  return 0;
}

int rt_proxy_attach(kube_rt_attach_t *a) {
  return rt_proxy_attach_ex(a, true);
}

int rt_proxy_attach_ex(kube_rt_attach_t *a, bool send_stdin) {
  bool tty = kube_rt_attach_terminal(a);
  if (tty && send_stdin)
    raw_enter();
  bool in_open = send_stdin;
  char buf[16384];
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = 0;
  for (;;) {
    unsigned short r, c;
    if (tty && winch && our_size(&r, &c)) {
      kube_rt_attach_resize(a, r, c, NULL);
      winch = 0;
    }
    struct pollfd p[2] = {{kube_rt_attach_fd(a), POLLIN, 0},
                          {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents) {
      int stream = 0;
      ssize_t n = kube_rt_attach_read(a, &stream, buf, sizeof buf, 0, &err);
      if (n == 0)
        break;
      if (n < 0) {
        if (err.reason == KUBE_REASON_TIMEOUT) {
          kube_error_clear(&err);
          continue;
        }
        raw_leave();
        rc = rt_fail_err(&err);
        break;
      }
      rt_write_all(stream == KUBE_RT_STDERR ? STDERR_FILENO : STDOUT_FILENO, buf,
                (size_t)n);
    }
    if (p[1].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        in_open = false;
        kube_rt_attach_close_stdin(a, NULL);
      } else if (kube_rt_attach_write(a, buf, (size_t)n, &err) < 0) {
        kube_error_clear(&err);
        in_open = false;
      }
    }
  }
  raw_leave();
  return rc;
}

/* attach [--no-stdin] ID: the container's stdio here until it exits. */
int rt_cmd_attach(int argc, char **argv) {
  static const struct option longopts[] = {{"no-stdin", no_argument, NULL, 'n'},
                                           {NULL, 0, NULL, 0}};
  bool no_stdin = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+n", longopts, NULL)) != -1) {
    if (c != 'n')
      return cli_fail("usage: kube runtime attach [--no-stdin] ID");
    no_stdin = true;
  }
  if (optind != argc - 1)
    return cli_fail("usage: kube runtime attach [--no-stdin] ID");
  const char *id = argv[optind];
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_state_t st;
  bool stdin_open = false;
  if (kube_runtime_state(rt, id, &st, &err) == 0) {
    stdin_open = st.stdin_open || st.terminal;
    kube_rt_state_clear(&st);
  }
  kube_error_clear(&err);
  kube_attach_options_t o = {sizeof o, stdin_open && !no_stdin, true, true};
  kube_rt_attach_t *a = NULL;
  int rc;
  if (kube_runtime_attach(rt, id, &o, &a, &err) < 0) {
    rc = rt_fail_err(&err);
  } else {
    rc = rt_proxy_attach(a);
    kube_rt_attach_free(a);
    kube_rt_exit_t ex;
    if (rc == 0 && kube_runtime_wait(rt, id, 2000, &ex, &err) == 0)
      rc = ex.exit_code;
    kube_error_clear(&err);
  }
  kube_runtime_free(rt);
  return rc;
}

/* resize ID ROWS COLS; reopen-log ID; close-stdin ID */
int rt_cmd_control(int argc, char **argv) {
  const char *cmd = argv[0];
  bool resize = strcmp(cmd, "resize") == 0;
  if (argc != (resize ? 4 : 2))
    return cli_fail("usage: kube runtime %s ID%s", cmd,
                    resize ? " ROWS COLS" : "");
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  int r;
  if (resize) {
    long rows = strtol(argv[2], NULL, 10), cols = strtol(argv[3], NULL, 10);
    if (rows <= 0 || rows > 65535 || cols <= 0 || cols > 65535) {
      kube_runtime_free(rt);
      return cli_fail("resize: bad size %s %s", argv[2], argv[3]);
    }
    r = kube_runtime_resize(rt, argv[1], (unsigned short)rows,
                            (unsigned short)cols, &err);
  } else if (strcmp(cmd, "reopen-log") == 0) {
    r = kube_runtime_reopen_log(rt, argv[1], &err);
  } else {
    r = kube_runtime_close_stdin(rt, argv[1], &err);
  }
  int rc = r < 0 ? rt_fail_err(&err) : 0;
  kube_runtime_free(rt);
  return rc;
}

/* sandbox pin DIR [--hostname H] [--sysctl K=V]... | sandbox unpin DIR */
int rt_cmd_sandbox(int argc, char **argv) {
  static const char usage[] =
      "usage: kube runtime sandbox pin [--hostname H] [--sysctl K=V]... DIR\n"
      "       kube runtime sandbox unpin DIR";
  if (argc < 2)
    return cli_fail("%s", usage);
  bool pin = strcmp(argv[1], "pin") == 0;
  if (!pin && strcmp(argv[1], "unpin") != 0)
    return cli_fail("%s", usage);
  static const struct option longopts[] = {
      {"hostname", required_argument, NULL, 'h'},
      {"sysctl", required_argument, NULL, 's'},
      {NULL, 0, NULL, 0}};
  kube_sandbox_options_t o = {.struct_size = sizeof o};
  char *keys[32], *vals[32];
  int c, rc = 1;
  optind = 1;
  while ((c = getopt_long(argc - 1, argv + 1, "+", longopts, NULL)) != -1) {
    if (c == 'h' && pin) {
      o.hostname = optarg;
    } else if (c == 's' && pin && o.n_sysctl < 32) {
      char *eq = strchr(optarg, '=');
      if (!eq)
        return cli_fail("--sysctl %s: want KEY=VALUE", optarg);
      *eq = 0;
      keys[o.n_sysctl] = optarg;
      vals[o.n_sysctl++] = eq + 1;
    } else {
      return cli_fail("%s", usage);
    }
  }
  if (optind != argc - 2)
    return cli_fail("%s", usage);
  o.sysctl_keys = keys;
  o.sysctl_values = vals;
  const char *dir = argv[optind + 1];
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  int r = pin ? kube_runtime_sandbox_pin(rt, dir, &o, &err)
              : kube_runtime_sandbox_unpin(rt, dir, &err);
  rc = r < 0 ? rt_fail_err(&err) : 0;
  kube_runtime_free(rt);
  return rc;
}
