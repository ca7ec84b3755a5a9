/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privileged tests of what the node agent needs from the runtime:
 * terminals (through the library, for the main process and for exec, with
 * resize), attach after the creating process exited, log rotation without
 * line loss, pinned sandboxes shared by two containers (and pinned from
 * several threads at once), pod cgroups and their stats in every cgroup
 * mode, OCI hooks, fork-bomb cleanup, and no leaks on failure paths (the
 * harness checks mounts, processes and cgroups over the whole run).
 *   test-runtime-node MAKE_BUNDLE_SCRIPT [TEST-NAME...]
 */
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "rt-test.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Read a pty master until `want` shows up (or EOF/EIO, or ~5 s). */
static int pty_read_until(int fd, char *buf, size_t len, const char *want) {
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < 500 && !strstr(buf, want); i++) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0)
      continue;
    ssize_t n = read(fd, buf + used, len - used - 1);
    if (n <= 0)
      break;
    used += (size_t)n;
    buf[used] = 0;
  }
  return strstr(buf, want) ? 0 : -1;
}

/* Read attach output until `want` shows up in out (stdout) or err. */
static int attach_until(kube_rt_attach_t *a, char *out, size_t olen, char *errb,
                        size_t elen, const char *want) {
  size_t o = strlen(out), e = errb ? strlen(errb) : 0;
  for (int i = 0; i < 500; i++) {
    if (strstr(out, want) || (errb && strstr(errb, want)))
      return 0;
    char buf[4096];
    int stream = 0;
    kube_error_t err = KUBE_ERROR_INIT;
    ssize_t n = kube_rt_attach_read(a, &stream, buf, sizeof buf, 10, &err);
    kube_error_clear(&err);
    if (n == 0)
      break;
    if (n < 0)
      continue;
    if (stream == KUBE_RT_STDOUT && o + (size_t)n < olen) {
      memcpy(out + o, buf, (size_t)n);
      out[o += (size_t)n] = 0;
    } else if (stream == KUBE_RT_STDERR && errb && e + (size_t)n < elen) {
      memcpy(errb + e, buf, (size_t)n);
      errb[e += (size_t)n] = 0;
    }
  }
  return strstr(out, want) || (errb && strstr(errb, want)) ? 0 : -1;
}

/* ---- terminals ------------------------------------------------------------
 */

/* The monitor keeps the pty: attach, type, resize, exit code, log. */
static int test_tty_monitor(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("ttym", "exec /bin/sh");
  c->terminal = true;
  c->console_height = 24;
  c->console_width = 80;
  char log[600];
  snprintf(log, sizeof log, "%s/ttym.log", tmpdir);
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.log_path = log;
  int rc = kube_runtime_create_ex(rt, "ttym", c, &io, KUBE_RT_START, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  kube_rt_attach_t *a = NULL;
  kube_attach_options_t ao = {sizeof ao, true, true, true};
  CHECK_OK(kube_runtime_attach(rt, "ttym", &ao, &a, &err), &err);
  CHECK(kube_rt_attach_terminal(a), "attach does not report a terminal");
  const char *cmd1 = "tty; stty size; echo one-$((1+1))done\n";
  CHECK_OK(kube_rt_attach_write(a, cmd1, strlen(cmd1), &err), &err);
  char out[8192] = "";
  CHECK(attach_until(a, out, sizeof out, NULL, 0, "one-2done\r\n") == 0,
        "first output: %s", out);
  fprintf(stderr, "  tty output: %s\n", out);
  CHECK(strstr(out, "/dev/pts/0"), "not on a pty");
  CHECK(strstr(out, "24 80"), "consoleSize not applied");
  /* resize through the one-shot call, then through the session */
  CHECK_OK(kube_runtime_resize(rt, "ttym", 33, 101, &err), &err);
  const char *cmd2 = "stty size; echo two-$((1+1))done\n";
  CHECK_OK(kube_rt_attach_write(a, cmd2, strlen(cmd2), &err), &err);
  CHECK(attach_until(a, out, sizeof out, NULL, 0, "two-2done\r\n") == 0,
        "second output: %s", out);
  CHECK(strstr(out, "33 101"), "resize not seen: %s", out);
  CHECK_OK(kube_rt_attach_resize(a, 40, 120, &err), &err);
  sleep_ms(50); /* the session's resize is not acknowledged */
  const char *cmd3 = "stty size; exit 3\n";
  CHECK_OK(kube_rt_attach_write(a, cmd3, strlen(cmd3), &err), &err);
  CHECK(attach_until(a, out, sizeof out, NULL, 0, "40 120") == 0,
        "third output: %s", out);
  char buf[256];
  ssize_t n;
  int loops = 0;
  while ((n = kube_rt_attach_read(a, NULL, buf, sizeof buf, 100, &err)) != 0 &&
         loops++ < 100)
    kube_error_clear(&err);
  CHECK(n == 0, "attach did not end with the container");
  kube_rt_attach_free(a);
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, "ttym", 5000, &ex, &err), &err);
  CHECK(ex.exit_code == 3, "exit %d", ex.exit_code);
  /* a resize of a stopped container is a clear error */
  CHECK(kube_runtime_resize(rt, "ttym", 10, 10, &err) < 0 &&
            err.reason == KUBE_REASON_CONFLICT,
        "resize after exit");
  kube_error_clear(&err);
  CHECK_OK(kube_runtime_delete(rt, "ttym", false, &err), &err);
  char *text = slurp(log);
  CHECK(strstr(text, " stdout F one-2done\r"), "tty output not logged: %s",
        text);
  free(text);
  return 0;
}

/* The caller takes the pty master (terminal_fd_out). */
static int test_tty_fd(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("ttyf", "exec /bin/sh");
  c->terminal = true;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int master = -1;
  io.terminal_fd_out = &master;
  int rc = kube_runtime_create(rt, "ttyf", c, &io, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  CHECK(master >= 0, "no master");
  CHECK_OK(kube_rt_terminal_resize(master, 50, 160, &err), &err);
  CHECK_OK(kube_runtime_start(rt, "ttyf", &err), &err);
  const char *cmd = "stty size; exit 4\n";
  CHECK(write(master, cmd, strlen(cmd)) == (ssize_t)strlen(cmd), "write");
  char out[4096];
  int r = pty_read_until(master, out, sizeof out, "50 160");
  CHECK(r == 0, "output: %s", out);
  /* keep the master open until the shell is gone: a hangup first would
   * end it with a read error instead of its `exit 4` */
  kube_rt_exit_t ex;
  rc = kube_runtime_wait(rt, "ttyf", 5000, &ex, &err);
  close(master);
  CHECK_OK(rc, &err);
  CHECK(ex.exit_code == 4, "exit %d", ex.exit_code);
  /* resize has no terminal to act on without the monitor keeping it */
  CHECK(kube_rt_terminal_resize(-1, 1, 1, &err) < 0, "resize of fd -1");
  kube_error_clear(&err);
  CHECK_OK(kube_runtime_delete(rt, "ttyf", false, &err), &err);
  return 0;
}

/* exec with a terminal, and TIOCSWINSZ while it runs. */
static int test_exec_tty(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("exect", "sleep 30");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, "exect", c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  char *args[] = {
      "/bin/sh", "-c",
      "tty; stty size; read x; stty size; echo got-$x-$((1+1)); exit 6", NULL};
  int master = -1;
  pid_t pid = 0;
  kube_exec_options_t o = {.struct_size = sizeof o,
                           .args = args,
                           .io = {-1, -1, -1, NULL},
                           .terminal = true,
                           .rows = 20,
                           .cols = 70,
                           .terminal_fd_out = &master};
  CHECK_OK(kube_runtime_exec(rt, "exect", &o, &pid, NULL, &err), &err);
  char out[4096];
  int r = pty_read_until(master, out, sizeof out, "20 70");
  CHECK(r == 0, "first size: %s", out);
  CHECK(strstr(out, "/dev/pts/"), "exec not on a pty: %s", out);
  CHECK_OK(kube_rt_terminal_resize(master, 45, 130, &err), &err);
  CHECK(write(master, "yes\n", 4) == 4, "write");
  r = pty_read_until(master, out, sizeof out, "got-yes-2");
  int st = 0;
  waitpid(pid, &st, 0); /* before the hangup of closing the master */
  close(master);
  CHECK(r == 0, "second output: %s", out);
  CHECK(strstr(out, "45 130"), "resize not seen: %s", out);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6, "exec exit %d", WEXITSTATUS(st));
  /* a terminal with nowhere to send it is refused */
  o.terminal_fd_out = NULL;
  CHECK(kube_runtime_exec(rt, "exect", &o, &pid, NULL, &err) < 0 &&
            err.reason == KUBE_REASON_INVALID,
        "exec -t without a destination");
  kube_error_clear(&err);
  /* a console socket that does not exist: error, nothing left */
  o.console_socket = "/nonexistent/console.sock";
  CHECK(kube_runtime_exec(rt, "exect", &o, &pid, NULL, &err) < 0,
        "missing console socket accepted");
  fprintf(stderr, "  -> %s\n", err.message);
  kube_error_clear(&err);
  force_delete(rt, "exect");
  return 0;
}

/* ---- attach and logs ------------------------------------------------------
 */

/* Made by a process that then exits (kubed restarting): a new runtime
 * handle attaches, feeds stdin, gets stdout and stderr; stdinOnce closes
 * stdin when the session ends, and the container finishes. */
static int test_attach_after_exit(kube_runtime_t *rt_unused) {
  (void)rt_unused;
  char log[600];
  snprintf(log, sizeof log, "%s/att.log", tmpdir);
  pid_t creator = fork();
  if (creator == 0) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_runtime_t *rt = kube_runtime_new(state_root, &err);
    kube_rt_config_t *c =
        config_sh("att", "while read l; do echo got:$l; echo err:$l >&2; "
                         "done; echo bye; exit 7");
    kube_rt_io_t io = KUBE_RT_IO_NULL;
    io.log_path = log;
    io.open_stdin = true;
    io.stdin_once = true;
    int rc =
        rt && c ? kube_runtime_create_ex(rt, "att", c, &io, KUBE_RT_START, &err)
                : -1;
    if (rc < 0)
      fprintf(stderr, "  create: %s\n", err.message);
    kube_rt_config_free(c);
    kube_runtime_free(rt);
    _exit(rc < 0 ? 1 : 0);
  }
  int st = 0;
  waitpid(creator, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "creator failed");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(state_root, &err);
  CHECK(rt, "%s", err.message);
  kube_rt_state_t cs;
  CHECK_OK(kube_runtime_state(rt, "att", &cs, &err), &err);
  bool ok = cs.status == KUBE_RT_RUNNING && cs.stdin_open && cs.attachable &&
            cs.log_path && strcmp(cs.log_path, log) == 0 && !cs.terminal &&
            cs.started.tv_sec > 0;
  kube_rt_state_clear(&cs);
  CHECK(ok, "state after the creator exited");
  kube_rt_attach_t *a = NULL;
  kube_attach_options_t ao = {sizeof ao, true, true, true};
  CHECK_OK(kube_runtime_attach(rt, "att", &ao, &a, &err), &err);
  CHECK_OK(kube_rt_attach_write(a, "a\nb\n", 4, &err), &err);
  char out[4096] = "", errb[4096] = "";
  CHECK(attach_until(a, out, sizeof out, errb, sizeof errb, "err:b") == 0 &&
            attach_until(a, out, sizeof out, errb, sizeof errb, "got:b") == 0,
        "attach output: out=%s err=%s", out, errb);
  CHECK(strstr(out, "got:a\ngot:b\n") && strstr(errb, "err:a\nerr:b\n"),
        "streams mixed up: out=%s err=%s", out, errb);
  kube_rt_attach_free(a); /* stdinOnce: stdin closes, the loop ends */
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, "att", 5000, &ex, &err), &err);
  CHECK(ex.exit_code == 7, "exit %d", ex.exit_code);
  CHECK_OK(kube_runtime_delete(rt, "att", false, &err), &err);
  kube_runtime_free(rt);
  char *text = slurp(log);
  CHECK(strstr(text, " stdout F got:a\n") &&
            strstr(text, " stderr F err:b\n") &&
            strstr(text, " stdout F bye\n"),
        "log: %s", text);
  free(text);
  return 0;
}

/* close stdin by a one-shot request; attach to a container whose stdio
 * the monitor does not keep is refused. */
static int test_close_stdin(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("cls", "cat; exit 9");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.open_stdin = true;
  int rc = kube_runtime_create_ex(rt, "cls", c, &io, KUBE_RT_START, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  kube_rt_attach_t *a = NULL;
  kube_attach_options_t ao = {sizeof ao, true, true, false};
  CHECK_OK(kube_runtime_attach(rt, "cls", &ao, &a, &err), &err);
  CHECK_OK(kube_rt_attach_write(a, "echo-me\n", 8, &err), &err);
  char out[1024] = "";
  CHECK(attach_until(a, out, sizeof out, NULL, 0, "echo-me\n") == 0,
        "cat output: %s", out);
  kube_rt_attach_free(a); /* no stdinOnce: the container keeps running */
  kube_rt_state_t st;
  sleep_ms(50);
  CHECK_OK(kube_runtime_state(rt, "cls", &st, &err), &err);
  kube_rt_status_t s = st.status;
  kube_rt_state_clear(&st);
  CHECK(s == KUBE_RT_RUNNING, "stopped when the session ended");
  CHECK_OK(kube_runtime_close_stdin(rt, "cls", &err), &err);
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, "cls", 5000, &ex, &err), &err);
  CHECK(ex.exit_code == 9, "exit %d", ex.exit_code);
  CHECK_OK(kube_runtime_delete(rt, "cls", false, &err), &err);
  /* stdio to caller fds: no attach */
  c = config_sh("noatt", "sleep 30");
  kube_rt_io_t io2 = KUBE_RT_IO_NULL;
  CHECK_OK(kube_runtime_run(rt, "noatt", c, &io2, NULL, &err), &err);
  kube_rt_config_free(c);
  rc = kube_runtime_attach(rt, "noatt", &ao, &a, &err);
  CHECK(rc < 0 && err.reason == KUBE_REASON_CONFLICT, "attach accepted");
  kube_error_clear(&err);
  force_delete(rt, "noatt");
  return 0;
}

/* Rotation by size plus outside renames with reopen (the kubelet's way),
 * while the container writes: every line exactly once. */
static int test_log_rotation(kube_runtime_t *rt) {
  enum { LINES = 20000 };
  kube_error_t err = KUBE_ERROR_INIT;
  char dir[600], log[700];
  snprintf(dir, sizeof dir, "%s/rotlogs", tmpdir);
  mkdir(dir, 0755);
  snprintf(log, sizeof log, "%s/0.log", dir);
  char script[128];
  snprintf(script, sizeof script,
           "i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); done",
           LINES);
  kube_rt_config_t *c = config_sh("rot", script);
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.log_path = log;
  io.log_max_size = 64 << 10;
  io.log_max_files = 100;
  int rc = kube_runtime_create_ex(rt, "rot", c, &io, KUBE_RT_START, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  int reopens = 0;
  for (int k = 0; k < 200; k++) {
    kube_rt_state_t st;
    if (kube_runtime_state(rt, "rot", &st, &err) < 0)
      break;
    bool running = st.status == KUBE_RT_RUNNING;
    kube_rt_state_clear(&st);
    if (!running)
      break;
    char moved[800];
    snprintf(moved, sizeof moved, "%s/ext-%03d.log", dir, reopens);
    if (rename(log, moved) == 0) {
      if (kube_runtime_reopen_log(rt, "rot", &err) < 0) {
        /* it may have exited between the two calls */
        kube_error_clear(&err);
      }
      reopens++;
    }
    sleep_ms(15);
  }
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, "rot", 20000, &ex, &err), &err);
  CHECK_OK(kube_runtime_delete(rt, "rot", false, &err), &err);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cat %s/* | sed -n 's/.* stdout F line-//p' | sort -n | uniq -c | "
           "awk '$1 != 1 {bad++} {n++} END {print n, bad+0}'",
           dir);
  FILE *f = popen(cmd, "re");
  int n = -1, bad = -1;
  CHECK(f && fscanf(f, "%d %d", &n, &bad) == 2, "count");
  pclose(f);
  snprintf(cmd, sizeof cmd, "ls %s | wc -l", dir);
  f = popen(cmd, "re");
  int files = 0;
  if (fscanf(f, "%d", &files) != 1)
    files = 0;
  pclose(f);
  fprintf(stderr, "  %d distinct lines, %d duplicated, %d files, %d reopens\n",
          n, bad, files, reopens);
  CHECK(n == LINES && bad == 0, "lines lost or doubled");
  CHECK(files > 3 && reopens > 0, "no rotation happened");
  /* retention: at most max_files of the log's own series */
  snprintf(dir, sizeof dir, "%s/rot2", tmpdir);
  mkdir(dir, 0755);
  snprintf(log, sizeof log, "%s/0.log", dir);
  c = config_sh("rot2", script);
  io.log_path = log;
  io.log_max_size = 16 << 10;
  io.log_max_files = 3;
  rc = kube_runtime_run(rt, "rot2", c, &io, &ex, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  CHECK_OK(kube_runtime_delete(rt, "rot2", false, &err), &err);
  char p[800];
  struct stat sb;
  snprintf(p, sizeof p, "%s.2", log);
  CHECK(stat(p, &sb) == 0, "no %s", p);
  CHECK(sb.st_size <= 16 << 10, "rotated file too big: %lld",
        (long long)sb.st_size);
  snprintf(p, sizeof p, "%s.3", log);
  CHECK(stat(p, &sb) < 0, "more than 3 files kept");
  char *last = slurp(log);
  CHECK(strstr(last, "line-19999\n"), "last line not in the current file");
  free(last);
  return 0;
}

/* ---- sandboxes ------------------------------------------------------------
 */

/* Run b (freed) in the sandbox dir to its end, its output in *out, then
 * remove the container `other` that ran beside it. */
static int run_joined(kube_runtime_t *rt, kube_rt_config_t *b, const char *dir,
                      const char *id, const char *other, char **out,
                      kube_error_t *err) {
  kube_rt_exit_t ex;
  int rc = kube_rt_config_join_sandbox(b, dir, err);
  if (rc == 0)
    rc = run_capture(rt, id, b, out, &ex, err);
  kube_rt_config_free(b);
  force_delete(rt, other);
  return rc;
}

static int sandbox_body(kube_runtime_t *rt, const char *dir) {
  kube_error_t err = KUBE_ERROR_INIT;
  char *keys[] = {"net.ipv4.ip_unprivileged_port_start", "kernel.shmmni"};
  char *vals[] = {"0", "1234"};
  kube_sandbox_options_t so = {.struct_size = sizeof so,
                               .hostname = "sbx-host",
                               .sysctl_keys = keys,
                               .sysctl_values = vals,
                               .n_sysctl = 2};
  CHECK_OK(kube_runtime_sandbox_pin(rt, dir, &so, &err), &err);
  unsigned pinned = kube_runtime_sandbox_pinned(dir);
  CHECK(pinned ==
            (1u << KUBE_NS_NETWORK | 1u << KUBE_NS_IPC | 1u << KUBE_NS_UTS),
        "pinned mask %x", pinned);
  CHECK(kube_runtime_sandbox_pin(rt, dir, &so, &err) < 0 &&
            err.reason == KUBE_REASON_ALREADY_EXISTS,
        "pinned twice");
  kube_error_clear(&err);
  /* what a CNI plugin does with the path: setns, look at the links */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "nsenter --net=%s/net ip -o link show lo", dir);
  char *lo = NULL;
  FILE *f = popen(cmd, "re");
  if (f) {
    lo = calloc(1, 1024);
    if (fread(lo, 1, 1023, f) == 0)
      lo[0] = 0;
    pclose(f);
  }
  fprintf(stderr, "  lo: %s", lo ? lo : "(none)\n");
  CHECK(lo && strstr(lo, "UP"), "loopback not up in the pinned netns");
  free(lo);
  kube_rt_config_t *a = config_sh("sba", "touch /dev/mqueue/from-a; "
                                         "echo hello-from-a | nc -l -p 8080 "
                                         "127.0.0.1; sleep 30");
  CHECK_OK(kube_rt_config_join_sandbox(a, dir, &err), &err);
  CHECK(!a->hostname, "hostname kept");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, "sba", a, &io, NULL, &err);
  kube_rt_config_free(a);
  CHECK_OK(rc, &err);
  kube_rt_config_t *b = config_sh(
      "sbb", "for i in $(seq 100); do nc 127.0.0.1 8080 2>/dev/null && break; "
             "sleep 0.05; done; hostname; cat /proc/sys/kernel/shmmni; "
             "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
             "for n in net ipc uts; do readlink /proc/self/ns/$n; done; "
             "ls /dev/mqueue");
  char *out = NULL;
  rc = run_joined(rt, b, dir, "sbb", "sba", &out, &err);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  CHECK(strstr(out, "hello-from-a\n"), "no connection over 127.0.0.1");
  CHECK(strstr(out, "sbx-host\n"), "hostname not shared");
  CHECK(strstr(out, "\n1234\n"), "ipc sysctl");
  CHECK(strstr(out, "\n0\n"), "net sysctl");
  CHECK(strstr(out, "\nfrom-a\n"), "a's message queue not visible in b");
  static const char *const names[] = {"net", "ipc", "uts"};
  for (int i = 0; i < 3; i++) {
    char p[700], want[64];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    CHECK(stat(p, &sb) == 0, "stat %s", p);
    snprintf(want, sizeof want, "%s:[%llu]", names[i],
             (unsigned long long)sb.st_ino);
    CHECK(strstr(out, want), "%s not the pinned namespace", want);
  }
  free(out);
  CHECK_OK(kube_runtime_sandbox_unpin(rt, dir, &err), &err);
  CHECK(!host_mount_mentions(dir), "a namespace mount is left");
  CHECK(access(dir, F_OK) < 0, "dir left");
  CHECK_OK(kube_runtime_sandbox_unpin(rt, dir, &err), &err); /* idempotent */
  /* a failure half-way leaves nothing pinned */
  char *bad_keys[] = {"net.ipv4.no_such_sysctl"};
  char *bad_vals[] = {"1"};
  so.sysctl_keys = bad_keys;
  so.sysctl_values = bad_vals;
  so.n_sysctl = 1;
  CHECK(kube_runtime_sandbox_pin(rt, dir, &so, &err) < 0, "bad sysctl");
  fprintf(stderr, "  -> %s\n", err.message);
  kube_error_clear(&err);
  CHECK(!host_mount_mentions(dir) && access(dir, F_OK) < 0, "leftovers");
  char *host_keys[] = {"kernel.pid_max"};
  so.sysctl_keys = host_keys;
  CHECK(kube_runtime_sandbox_pin(rt, dir, &so, &err) < 0 &&
            err.reason == KUBE_REASON_INVALID,
        "a host-wide sysctl accepted");
  kube_error_clear(&err);
  /* with a user namespace */
  kube_rt_id_map_t map = {0, 300000, 65536};
  kube_sandbox_options_t uo = {.struct_size = sizeof uo,
                               .namespaces = 1u << KUBE_NS_USER |
                                             1u << KUBE_NS_NETWORK |
                                             1u << KUBE_NS_UTS,
                               .hostname = "user-sbx",
                               .uid_mappings = &map,
                               .gid_mappings = &map,
                               .n_uid_mappings = 1,
                               .n_gid_mappings = 1};
  CHECK_OK(kube_runtime_sandbox_pin(rt, dir, &uo, &err), &err);
  snprintf(cmd, sizeof cmd, "nsenter --user=%s/user cat /proc/self/uid_map",
           dir);
  f = popen(cmd, "re");
  char map_text[256] = "";
  if (f) {
    if (!fgets(map_text, sizeof map_text, f))
      map_text[0] = 0;
    pclose(f);
  }
  CHECK_OK(kube_runtime_sandbox_unpin(rt, dir, &err), &err);
  CHECK(strstr(map_text, "300000"), "user ns map: %s", map_text);
  return 0;
}

static int test_sandbox(kube_runtime_t *rt) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/pods/uid-1/ns", tmpdir);
  int rc = sandbox_body(rt, dir);
  force_delete(rt, "sba");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_sandbox_unpin(rt, dir, &err); /* also after a failure */
  kube_error_clear(&err);
  return rc;
}

/* A shared PID namespace: its PID 1 is the pause (in the pause cgroup
 * given), containers joining the sandbox see each other, and
 * unpinning kills it.  Without the cgroup: refused. */
static int sandbox_pid_body(kube_runtime_t *rt, const char *dir,
                            const char *pause_cg) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sandbox_options_t so = {.struct_size = sizeof so,
                               .namespaces =
                                   1u << KUBE_NS_NETWORK | 1u << KUBE_NS_PID};
  CHECK(kube_runtime_sandbox_pin(rt, dir, &so, &err) < 0 &&
            err.reason == KUBE_REASON_INVALID,
        "a pid namespace without the pause's cgroup");
  fprintf(stderr, "  -> %s\n", err.message);
  kube_error_clear(&err);
  so.pause_cgroup = pause_cg;
  CHECK_OK(kube_runtime_sandbox_pin(rt, dir, &so, &err), &err);
  unsigned pinned = kube_runtime_sandbox_pinned(dir);
  CHECK(pinned == (1u << KUBE_NS_NETWORK | 1u << KUBE_NS_PID), "pinned mask %x",
        pinned);
  CHECK(kube_runtime_sandbox_pause_alive(dir), "no pause");
  char p[700];
  snprintf(p, sizeof p, "%s/pause.pid", dir);
  char *pid_text = slurp(p);
  int pause = pid_text ? atoi(pid_text) : 0;
  free(pid_text);
  CHECK(pause > 0 && kill(pause, 0) == 0, "pause.pid %d", pause);
  snprintf(p, sizeof p, "/proc/%d/cgroup", pause);
  char *cgs = slurp(p);
  CHECK(cgs && strstr(cgs, pause_cg), "pause not in %s: %s", pause_cg,
        cgs ? cgs : "");
  free(cgs);
  kube_rt_config_t *a = config_sh("spa", "sleep 30");
  CHECK_OK(kube_rt_config_join_sandbox(a, dir, &err), &err);
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, "spa", a, &io, NULL, &err);
  kube_rt_config_free(a);
  CHECK_OK(rc, &err);
  kube_rt_config_t *b =
      config_sh("spb", "tr '\\0' ' ' < /proc/1/cmdline; echo; ps -o args; "
                       "sh -c 'sleep 0.2 & exit 0'; sleep 1; ps -o stat,args");
  char *out = NULL;
  rc = run_joined(rt, b, dir, "spb", "spa", &out, &err);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  CHECK(strncmp(out, "/pause \n", 8) == 0, "PID 1 is not the pause");
  CHECK(strstr(out, "\nsleep 30\n"), "spa's process not visible in spb");
  CHECK(!strstr(out, "Z "), "an orphan left a zombie");
  free(out);
  CHECK_OK(kube_runtime_sandbox_unpin(rt, dir, &err), &err);
  /* its parent exited: this test, a subreaper, adopted it */
  pid_t w = 0;
  for (int i = 0; i < 100 && (w = waitpid(pause, NULL, WNOHANG)) == 0; i++)
    sleep_ms(20);
  CHECK(w == pause, "the pause outlived unpin");
  CHECK(!host_mount_mentions(dir) && access(dir, F_OK) < 0, "leftovers");
  return 0;
}

static int test_sandbox_pid(kube_runtime_t *rt) {
  char dir[600], cg[256];
  snprintf(dir, sizeof dir, "%s/pods/uid-pid/ns", tmpdir);
  snprintf(cg, sizeof cg, "%s/podpid/pause", cg_parent);
  int rc = sandbox_pid_body(rt, dir, cg);
  force_delete(rt, "spa");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_sandbox_unpin(rt, dir, &err); /* also after a failure */
  kube_error_clear(&err);
  snprintf(cg, sizeof cg, "%s/podpid", cg_parent);
  if (kube_runtime_pod_cgroup_remove(rt, cg, 5000, &err) < 0) {
    fprintf(stderr, "  remove %s: %s\n", cg, err.message);
    rc = 1;
  }
  kube_error_clear(&err);
  return rc;
}

/* Sandboxes pinned from several threads at once, as the node agent's
 * workers pin them for pods created together: each pin forks a child that
 * waits for its parent to close a pipe, so a child that kept another
 * thread's pipe open made both wait forever.  A deadlock shows as threads
 * that do not finish within a minute. */
#define PIN_THREADS 8
#define PIN_ROUNDS 12

struct pin_arg {
  kube_runtime_t *rt;
  int index;
  int failures;
  char first_error[1024];
  volatile int done;
};

static void *pin_thread(void *p) {
  struct pin_arg *a = p;
  for (int r = 0; r < PIN_ROUNDS; r++) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/pods/concurrent-%d-%d/ns", tmpdir, a->index,
             r);
    kube_error_t err = KUBE_ERROR_INIT;
    kube_sandbox_options_t so = {.struct_size = sizeof so};
    if (kube_runtime_sandbox_pin(a->rt, dir, &so, &err) < 0 ||
        kube_runtime_sandbox_pinned(dir) == 0 ||
        kube_runtime_sandbox_unpin(a->rt, dir, &err) < 0) {
      if (!a->failures++)
        snprintf(a->first_error, sizeof a->first_error, "%s: %s", dir,
                 err.message ? err.message : "not pinned");
    }
    kube_error_clear(&err);
  }
  a->done = 1;
  return NULL;
}

static int test_sandbox_concurrent(kube_runtime_t *rt) {
  pthread_t th[PIN_THREADS];
  struct pin_arg args[PIN_THREADS];
  int started = 0;
  for (int i = 0; i < PIN_THREADS; i++) {
    args[i] = (struct pin_arg){.rt = rt, .index = i};
    if (pthread_create(&th[i], NULL, pin_thread, &args[i]) == 0)
      started++;
    else
      break;
  }
  CHECK(started == PIN_THREADS, "pthread_create");
  int stuck = 0, failures = 0, waited = 0;
  for (int i = 0; i < started; i++) {
    for (; waited < 6000 && !args[i].done; waited++)
      sleep_ms(10);
    if (!args[i].done) {
      stuck++;
      continue; /* the process's exit closes the pipes and ends them */
    }
    pthread_join(th[i], NULL);
    failures += args[i].failures;
    if (args[i].failures)
      fprintf(stderr, "  %s\n", args[i].first_error);
  }
  CHECK(stuck == 0, "%d of %d threads still pinning after 60 s (deadlock)",
        stuck, started);
  CHECK(failures == 0, "%d pins failed", failures);
  return 0;
}

/* ---- pod cgroups ----------------------------------------------------------
 */

static char *cg_file(const char *hier, const char *rel, const char *file) {
  char p[700];
  if (hier[0])
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s/%s", hier, rel, file);
  else
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s", rel, file);
  char *t = slurp(p);
  size_t n = strlen(t);
  while (n && t[n - 1] == '\n')
    t[--n] = 0;
  return t;
}

static bool cg_dir_exists(const char *hier, const char *rel) {
  char p[700];
  struct stat sb;
  snprintf(p, sizeof p, "/sys/fs/cgroup/%s%s%s", hier, hier[0] ? "/" : "", rel);
  return stat(p, &sb) == 0;
}

/* Pods in the kubelet's layout, a container inside, stats, update, and
 * removal with the container still running. */
static int pod_cgroups(kube_runtime_t *rt, bool limits) {
  kube_error_t err = KUBE_ERROR_INIT;
  const char *mode = kube_runtime_cgroup_mode(rt);
  bool v2 = strcmp(mode, "v2") == 0;
  char parent[128];
  snprintf(parent, sizeof parent, "%s/kubepods-%s", cg_parent, mode);
  char *pod = kube_pod_cgroup_path(parent, KUBE_QOS_BURSTABLE, "u-1");
  char *gpod = kube_pod_cgroup_path(parent, KUBE_QOS_GUARANTEED, "u-2");
  char *bpod = kube_pod_cgroup_path(parent, KUBE_QOS_BESTEFFORT, "u-3");
  char want[256];
  snprintf(want, sizeof want, "%s/burstable/podu-1", parent);
  CHECK(pod && strcmp(pod, want) == 0, "burstable path %s", pod);
  snprintf(want, sizeof want, "%s/podu-2", parent);
  CHECK(gpod && strcmp(gpod, want) == 0, "guaranteed path %s", gpod);
  CHECK(!kube_pod_cgroup_path(parent, KUBE_QOS_BURSTABLE, "../x"),
        "bad uid accepted");
  kube_rt_resources_t res = {-1, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0};
  if (limits) {
    res.memory_limit = 256 << 20;
    res.cpu_shares = 512;
    res.cpu_quota = 50000;
    res.cpu_period = 100000;
    res.pids_limit = 200;
  }
  CHECK_OK(kube_runtime_pod_cgroup_create(rt, pod, &res, &err), &err);
  CHECK_OK(kube_runtime_pod_cgroup_create(rt, gpod, &res, &err), &err);
  CHECK_OK(kube_runtime_pod_cgroup_create(rt, bpod, NULL, &err), &err);
  if (limits && !v2) {
    char *m = cg_file("memory", pod, "memory.limit_in_bytes");
    char *q = cg_file("cpu", pod, "cpu.cfs_quota_us");
    char *sh = cg_file("cpu", pod, "cpu.shares");
    char *pm = cg_file("pids", pod, "pids.max");
    char be[256];
    snprintf(be, sizeof be, "%s/besteffort", parent);
    char *bs = cg_file("cpu", be, "cpu.shares");
    fprintf(stderr,
            "  %s pod: memory %s quota %s shares %s pids %s; "
            "besteffort shares %s\n",
            mode, m, q, sh, pm, bs);
    CHECK(strcmp(m, "268435456") == 0 && strcmp(q, "50000") == 0 &&
              strcmp(sh, "512") == 0 && strcmp(pm, "200") == 0,
          "pod limits");
    CHECK(strcmp(bs, "2") == 0, "besteffort shares %s", bs);
    free(m);
    free(q);
    free(sh);
    free(pm);
    free(bs);
  }
  if (strcmp(mode, "hybrid") == 0)
    CHECK(cg_dir_exists("unified", pod), "pod not in the unified hierarchy");
  /* a container in the pod */
  char id[64];
  snprintf(id, sizeof id, "podc-%s", mode);
  kube_rt_config_t *c =
      config_sh(id, "i=0; while [ $i -lt 5 ]; do sleep 30 & i=$((i+1)); "
                    "done; head -c 8000000 /dev/zero | tail -c 1 >/dev/null; "
                    "exec sleep 30");
  free(c->cgroups_path);
  if (asprintf(&c->cgroups_path, "%s/%s", pod, id) < 0)
    return 1;
  if (limits)
    c->resources.memory_limit = 128 << 20;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, id, c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  sleep_ms(300);
  kube_rt_stats_t ps, cs;
  CHECK_OK(kube_runtime_pod_cgroup_stats(rt, pod, &ps, &err), &err);
  CHECK_OK(kube_runtime_stats(rt, id, &cs, &err), &err);
  fprintf(stderr,
          "  %s stats: pod cpu %llu ns mem %llu ws %llu pids %llu; "
          "container cpu %llu ws %llu pids %llu\n",
          mode, (unsigned long long)ps.cpu_usage_ns,
          (unsigned long long)ps.memory_usage_bytes,
          (unsigned long long)ps.memory_working_set_bytes,
          (unsigned long long)ps.pids_current,
          (unsigned long long)cs.cpu_usage_ns,
          (unsigned long long)cs.memory_working_set_bytes,
          (unsigned long long)cs.pids_current);
  if (!v2) { /* no controllers in this machine's cgroup2 */
    CHECK(ps.pids_current >= 6 && cs.pids_current >= 6, "pids");
    CHECK(ps.cpu_usage_ns > 0 && ps.cpu_usage_ns >= cs.cpu_usage_ns,
          "cpu usage");
    CHECK(ps.memory_working_set_bytes > 0 &&
              ps.memory_working_set_bytes <= ps.memory_usage_bytes,
          "working set");
    CHECK(ps.timestamp.tv_sec > 0, "timestamp");
  }
  if (strcmp(mode, "hybrid") == 0) {
    char rel[300];
    snprintf(rel, sizeof rel, "%s/%s", pod, id);
    char *procs = cg_file("unified", rel, "cgroup.procs");
    CHECK(procs[0] >= '1' && procs[0] <= '9',
          "container not in the unified hierarchy");
    free(procs);
  }
  if (limits && !v2) {
    kube_rt_resources_t up = {-1, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0};
    up.memory_limit = 192 << 20;
    CHECK_OK(kube_runtime_pod_cgroup_update(rt, pod, &up, &err), &err);
    char *m = cg_file("memory", pod, "memory.limit_in_bytes");
    CHECK(strcmp(m, "201326592") == 0, "updated memory %s", m);
    free(m);
  }
  CHECK(kube_runtime_pod_cgroup_update(rt, "no/such/cgroup", &res, &err) < 0 &&
            err.reason == KUBE_REASON_NOT_FOUND,
        "update of a missing cgroup");
  kube_error_clear(&err);
  /* removal with the container (and its children) still running */
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt, id, &st, &err), &err);
  pid_t init = st.pid;
  kube_rt_state_clear(&st);
  CHECK_OK(kube_runtime_pod_cgroup_remove(rt, pod, -1, &err), &err);
  for (int i = 0; i < 100 && rt_proc_alive(init, 0); i++)
    sleep_ms(10); /* killed: a zombie until its monitor reaps it */
  CHECK(!rt_proc_alive(init, 0), "container init survived");
  CHECK(!cg_dir_exists(v2 ? "" : "memory", pod) &&
            !cg_dir_exists(v2 ? "" : "pids", pod),
        "pod cgroup left");
  if (strcmp(mode, "hybrid") == 0)
    CHECK(!cg_dir_exists("unified", pod), "unified pod cgroup left");
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, id, 5000, &ex, &err), &err);
  CHECK(ex.signal == SIGKILL, "exit %d signal %d", ex.exit_code, ex.signal);
  CHECK_OK(kube_runtime_delete(rt, id, false, &err), &err);
  CHECK_OK(kube_runtime_pod_cgroup_remove(rt, gpod, -1, &err), &err);
  CHECK_OK(kube_runtime_pod_cgroup_remove(rt, bpod, -1, &err), &err);
  CHECK_OK(kube_runtime_pod_cgroup_remove(rt, pod, -1, &err),
           &err); /* idempotent */
  CHECK_OK(kube_runtime_pod_cgroup_remove(rt, parent, -1, &err), &err);
  free(pod);
  free(gpod);
  free(bpod);
  return 0;
}

static int test_pod_cgroups(kube_runtime_t *rt) {
  return pod_cgroups(rt, true);
}

/* v1 (the cgroup2 mount hidden) and v2 (cgroup2 on /sys/fs/cgroup) in a
 * child with its own mount namespace; 77 when the layout does not allow. */
static int pod_mode_child(const char *mode) {
  if (enter_cgroup_mode(mode) < 0)
    return 77;
  kube_error_t err = KUBE_ERROR_INIT;
  char root[600];
  snprintf(root, sizeof root, "%s/state-pod-%s", tmpdir, mode);
  kube_runtime_t *rt = kube_runtime_new(root, &err);
  CHECK(rt, "%s", err.message);
  CHECK(strcmp(kube_runtime_cgroup_mode(rt), mode) == 0, "mode %s",
        kube_runtime_cgroup_mode(rt));
  int rc = pod_cgroups(rt, strcmp(mode, "v1") == 0);
  kube_runtime_pod_cgroup_remove(rt, cg_parent, 5000, &err);
  kube_error_clear(&err);
  kube_runtime_free(rt);
  return rc;
}

static int test_pod_cgroups_v1(kube_runtime_t *rt) {
  (void)rt;
  return run_in_mode("v1", pod_mode_child);
}

static int test_pod_cgroups_v2(kube_runtime_t *rt) {
  (void)rt;
  return run_in_mode("v2", pod_mode_child);
}

/* ---- hooks ----------------------------------------------------------------
 */

static kube_rt_hook_t *hook_sh(const char *script, int timeout) {
  kube_rt_hook_t *h = calloc(2, sizeof *h);
  h->path = strdup("/bin/sh");
  h->args = strv("sh", "-c", script, NULL);
  h->n_args = 3;
  h->timeout = timeout;
  return h;
}

static void set_hook(kube_rt_config_t *c, kube_rt_hook_kind_t k,
                     const char *script, int timeout) {
  c->hooks[k] = hook_sh(script, timeout);
  c->n_hooks[k] = 1;
}

static int test_hooks(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  char d[600];
  snprintf(d, sizeof d, "%s/hooks", tmpdir);
  mkdir(d, 0755);
  kube_rt_config_t *c =
      config_sh("hooks", "cat /dev/shm/start-state; echo; exit 0");
  CHECK_OK(kube_rt_config_annotate(c, "io.kubernetes.pod.uid", "u-77", &err),
           &err);
  static const char *const names[] = {"prestart",        "createRuntime",
                                      "createContainer", "startContainer",
                                      "poststart",       "poststop"};
  char script[2048];
  for (int k = 0; k < KUBE_HOOK__COUNT; k++) {
    if (k == KUBE_HOOK_START_CONTAINER)
      snprintf(script, sizeof script, "cat > /dev/shm/start-state");
    else if (k == KUBE_HOOK_CREATE_CONTAINER)
      snprintf(script, sizeof script,
               "cat > %s/%s; echo; cat /proc/sys/kernel/hostname >> %s/%s", d,
               names[k], d, names[k]);
    else
      snprintf(script, sizeof script, "cat > %s/%s", d, names[k]);
    set_hook(c, (kube_rt_hook_kind_t)k, script, 5);
  }
  /* through config.json and back: the hooks survive */
  char *json = kube_rt_config_to_json(c, &err);
  CHECK(json && strstr(json, "\"createContainer\"") &&
            strstr(json, "io.kubernetes.pod.uid"),
        "hooks not serialized");
  free(json);
  char path[700];
  snprintf(path, sizeof path, "%s/hooks.out", tmpdir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  kube_rt_io_t io = {-1, fd, fd, NULL};
  int rc = kube_runtime_create(rt, "hooks", c, &io, &err);
  close(fd);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt, "hooks", &st, &err), &err);
  pid_t pid = st.pid;
  CHECK(st.n_annotations == 1 && strcmp(st.annotation_values[0], "u-77") == 0,
        "annotations not in the state");
  kube_rt_state_clear(&st);
  CHECK_OK(kube_runtime_start(rt, "hooks", &err), &err);
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, "hooks", 5000, &ex, &err), &err);
  CHECK_OK(kube_runtime_delete(rt, "hooks", false, &err), &err);
  char want[128];
  snprintf(want, sizeof want, "\"pid\":%d", (int)pid);
  for (int k = 0; k < KUBE_HOOK__COUNT; k++) {
    char *t;
    if (k == KUBE_HOOK_START_CONTAINER) {
      t = slurp(path);
    } else {
      char p[700];
      snprintf(p, sizeof p, "%s/%s", d, names[k]);
      t = slurp(p);
    }
    fprintf(stderr, "  %s: %s\n", names[k], t);
    static const char *const status[] = {"creating", "creating", "creating",
                                         "created",  "running",  "stopped"};
    char s[64];
    snprintf(s, sizeof s, "\"status\":\"%s\"", status[k]);
    CHECK(strstr(t, "\"id\":\"hooks\"") && strstr(t, s) &&
              strstr(t, "\"io.kubernetes.pod.uid\":\"u-77\""),
          "%s state", names[k]);
    CHECK(strstr(t, want), "%s: pid is not the init's (%s)", names[k], want);
    if (k == KUBE_HOOK_CREATE_CONTAINER)
      CHECK(strstr(t, "}kubetest"), "createContainer not in the uts ns");
    free(t);
  }
  CHECK(ex.exit_code == 0, "exit %d", ex.exit_code);
  /* a failing createRuntime hook fails the create, leaving nothing */
  c = config_sh("hookfail", "true");
  set_hook(c, KUBE_HOOK_CREATE_RUNTIME, "echo broken-hook >&2; exit 3", 0);
  kube_rt_io_t nio = KUBE_RT_IO_NULL;
  rc = kube_runtime_create(rt, "hookfail", c, &nio, &err);
  kube_rt_config_free(c);
  CHECK(rc < 0, "failing hook accepted");
  fprintf(stderr, "  -> %s\n", err.message);
  CHECK(strstr(err.message, "hooks.createRuntime[0]") &&
            strstr(err.message, "broken-hook"),
        "error does not name the hook");
  kube_error_clear(&err);
  CHECK(!state_exists("hookfail") && !cgroup_exists("hookfail"), "leftovers");
  /* a hanging prestart hook is killed at its timeout */
  c = config_sh("hooktime", "true");
  set_hook(c, KUBE_HOOK_PRESTART, "sleep 20", 1);
  int64_t t0 = kube_time_mono_ns();
  rc = kube_runtime_create(rt, "hooktime", c, &nio, &err);
  kube_rt_config_free(c);
  CHECK(rc < 0 && strstr(err.message, "timed out"), "timeout: %s",
        err.message ? err.message : "accepted");
  fprintf(stderr, "  -> %s (%.1f s)\n", err.message,
          (kube_time_mono_ns() - t0) / 1e9);
  kube_error_clear(&err);
  CHECK(!state_exists("hooktime") && !cgroup_exists("hooktime"), "leftovers");
  /* a failing createContainer hook (in the container) */
  c = config_sh("hookcc", "true");
  set_hook(c, KUBE_HOOK_CREATE_CONTAINER, "exit 5", 0);
  rc = kube_runtime_create(rt, "hookcc", c, &nio, &err);
  kube_rt_config_free(c);
  CHECK(rc < 0 && strstr(err.message, "hooks.createContainer[0]"), "cc: %s",
        err.message ? err.message : "accepted");
  kube_error_clear(&err);
  CHECK(!state_exists("hookcc") && !cgroup_exists("hookcc"), "leftovers");
  /* bad hooks in config.json are named */
  kube_rt_config_t *bad = kube_rt_config_parse(
      "{\"root\":{\"path\":\"/\"},\"process\":{\"args\":[\"true\"]},"
      "\"hooks\":{\"prestart\":[{\"path\":\"relative\"}]}}",
      NULL, &err);
  CHECK(!bad && strstr(err.message, "hooks.prestart[0].path"), "bad path");
  kube_error_clear(&err);
  return 0;
}

/* Stop with a grace period: SIGTERM honoured, or ignored and then the
 * whole cgroup killed. */
static int test_stop(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  /* pid 1 gets SIGTERM only with a handler, as in any pid namespace */
  kube_rt_config_t *c =
      config_sh("stop1", "trap 'exit 43' TERM; sleep 30 & wait");
  CHECK_OK(kube_runtime_run(rt, "stop1", c, &io, NULL, &err), &err);
  kube_rt_config_free(c);
  kube_rt_exit_t ex;
  sleep_ms(100); /* until the shell has set its trap */
  CHECK_OK(kube_runtime_stop(rt, "stop1", SIGTERM, 5000, &ex, &err), &err);
  CHECK(ex.signal == 0 && ex.exit_code == 43, "exit %d", ex.exit_code);
  CHECK_OK(kube_runtime_stop(rt, "stop1", 0, 100, &ex, &err), &err);
  CHECK_OK(kube_runtime_delete(rt, "stop1", false, &err), &err);
  c = config_sh("stop2", "trap '' TERM; sleep 30 & sleep 30 & wait; wait");
  CHECK_OK(kube_runtime_run(rt, "stop2", c, &io, NULL, &err), &err);
  kube_rt_config_free(c);
  int64_t t0 = kube_time_mono_ns();
  CHECK_OK(kube_runtime_stop(rt, "stop2", SIGTERM, 300, &ex, &err), &err);
  double ms = (kube_time_mono_ns() - t0) / 1e6;
  fprintf(stderr, "  stopped after %.0f ms: exit %d\n", ms, ex.exit_code);
  CHECK(ex.signal == SIGKILL && ex.exit_code == 137, "exit %d", ex.exit_code);
  CHECK_OK(kube_runtime_delete(rt, "stop2", false, &err), &err);
  CHECK(!cgroup_exists("stop2"), "cgroup left");
  return 0;
}

/* ---- fork bombs and leaks -------------------------------------------------
 */

/* No pid namespace (so killing the init does not end the others): a
 * thousand children and a loop that keeps forking; a forced delete kills
 * them all and removes the cgroup. */
static int test_fork_bomb(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c =
      config_sh("bomb", "i=0; while [ $i -lt 1000 ]; do sleep 1000 & "
                        "i=$((i+1)); done; echo forked; "
                        "while :; do (sleep 1000 &) ; done");
  for (size_t i = 0; i < c->n_namespaces; i++)
    if (c->namespaces[i].type == KUBE_NS_PID)
      c->namespaces[i] = c->namespaces[--c->n_namespaces];
  c->resources.pids_limit = 3000;
  char log[600];
  snprintf(log, sizeof log, "%s/bomb.log", tmpdir);
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.log_path = log;
  int rc = kube_runtime_create_ex(rt, "bomb", c, &io, KUBE_RT_START, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  char *text = NULL;
  for (int i = 0; i < 1500; i++) {
    free(text);
    text = slurp(log);
    if (strstr(text, "forked"))
      break;
    sleep_ms(10);
  }
  CHECK(strstr(text, "forked"), "never forked: %s", text);
  free(text);
  sleep_ms(200);
  char rel[128];
  snprintf(rel, sizeof rel, "%s/bomb", cg_parent);
  int before = cgroup_procs_below(rel);
  /* remember who was there, by pid and start time */
  char procs[256];
  snprintf(procs, sizeof procs, "/sys/fs/cgroup/pids/%s/cgroup.procs", rel);
  char *list = slurp(procs);
  struct {
    pid_t pid;
    unsigned long long start;
  } *seen = calloc(4000, sizeof *seen);
  int n = 0;
  for (char *p = list; *p && n < 4000;) {
    pid_t pid = (pid_t)strtol(p, &p, 10);
    if (pid > 0) {
      seen[n].pid = pid;
      seen[n++].start = rt_proc_start_time(pid);
    }
    while (*p == '\n')
      p++;
  }
  free(list);
  fprintf(stderr, "  %d processes in the container\n", before);
  int64_t t0 = kube_time_mono_ns();
  CHECK_OK(kube_runtime_delete(rt, "bomb", true, &err), &err);
  fprintf(stderr, "  deleted in %.0f ms\n", (kube_time_mono_ns() - t0) / 1e6);
  int alive = 0;
  for (int i = 0; i < n; i++)
    alive += rt_proc_alive(seen[i].pid, seen[i].start);
  free(seen);
  CHECK(before >= 1000, "only %d processes", before);
  CHECK(alive == 0, "%d processes survived the delete", alive);
  CHECK(!cgroup_exists("bomb"), "cgroup left");
  CHECK(!state_exists("bomb"), "state left");
  return 0;
}

/* Failure paths of the new features leave no mount, cgroup, state or
 * process (the harness also compares the mount table over the run). */
static int test_failure_leaks(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  /* console socket that does not exist */
  kube_rt_config_t *c = config_sh("lk1", "true");
  c->terminal = true;
  io.console_socket = "/nonexistent/socket";
  int rc = kube_runtime_create(rt, "lk1", c, &io, &err);
  kube_rt_config_free(c);
  CHECK(rc < 0 && strstr(err.message, "console socket"), "lk1: %s",
        err.message ? err.message : "accepted");
  kube_error_clear(&err);
  CHECK(!state_exists("lk1") && !cgroup_exists("lk1"), "lk1 leftovers");
  /* a terminal with no /dev/pts in the container */
  c = config_sh("lk2", "true");
  c->terminal = true;
  for (size_t i = 0; i < c->n_mounts; i++)
    if (strcmp(c->mounts[i].destination, "/dev/pts") == 0) {
      free(c->mounts[i].destination);
      free(c->mounts[i].type);
      free(c->mounts[i].source);
      for (size_t k = 0; k < c->mounts[i].n_options; k++)
        free(c->mounts[i].options[k]);
      free(c->mounts[i].options);
      c->mounts[i] = c->mounts[--c->n_mounts];
      break;
    }
  kube_rt_io_t io2 = KUBE_RT_IO_NULL;
  char log[600];
  snprintf(log, sizeof log, "%s/lk2.log", tmpdir);
  io2.log_path = log;
  rc = kube_runtime_create(rt, "lk2", c, &io2, &err);
  kube_rt_config_free(c);
  CHECK(rc < 0 && strstr(err.message, "process.terminal"), "lk2: %s",
        err.message ? err.message : "accepted");
  kube_error_clear(&err);
  CHECK(!state_exists("lk2") && !cgroup_exists("lk2"), "lk2 leftovers");
  /* a log path that cannot be written */
  c = config_sh("lk3", "true");
  io2.log_path = "/nonexistent/dir/x.log";
  rc = kube_runtime_create(rt, "lk3", c, &io2, &err);
  kube_rt_config_free(c);
  CHECK(rc < 0, "lk3 accepted");
  kube_error_clear(&err);
  CHECK(!state_exists("lk3") && !cgroup_exists("lk3"), "lk3 leftovers");
  /* exec into a stopped container */
  c = config_sh("lk4", "true");
  kube_rt_exit_t ex;
  rc = kube_runtime_run(rt, "lk4", c, &io, &ex, &err);
  kube_rt_config_free(c);
  if (rc < 0) /* io still names the missing console socket: no terminal */
    CHECK_OK(rc, &err);
  char *args[] = {"/bin/true", NULL};
  kube_exec_options_t o = {
      .struct_size = sizeof o, .args = args, .io = {-1, -1, -1, NULL}};
  CHECK(kube_runtime_exec(rt, "lk4", &o, NULL, &ex, &err) < 0 &&
            err.reason == KUBE_REASON_CONFLICT,
        "exec into a stopped container");
  kube_error_clear(&err);
  CHECK_OK(kube_runtime_delete(rt, "lk4", false, &err), &err);
  /* the creator's own children: none alive (monitors end with their
   * containers; zombies are reaped here) */
  int kids = 0;
  char cmd[160];
  snprintf(cmd, sizeof cmd,
           "ps -o stat=,comm= --ppid %d | grep -v '^Z' | "
           "grep -vc ' ps$'",
           (int)getpid());
  for (int i = 0; i < 100; i++) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    FILE *f = popen(cmd, "re");
    kids = 0;
    if (f) {
      if (fscanf(f, "%d", &kids) != 1)
        kids = 0;
      pclose(f);
    }
    kids -= 1; /* the sh of popen */
    if (kids <= 0)
      break;
    sleep_ms(10);
  }
  if (kids > 0) {
    snprintf(cmd, sizeof cmd, "ps -o pid,stat,args --ppid %d >&2",
             (int)getpid());
    if (system(cmd) != 0)
      kids = kids + 0;
  }
  CHECK(kids <= 0, "%d child processes left", kids);
  return 0;
}

static const struct rt_test tests[] = {
    {"tty-monitor", test_tty_monitor},
    {"tty-fd", test_tty_fd},
    {"exec-tty", test_exec_tty},
    {"attach-after-exit", test_attach_after_exit},
    {"close-stdin", test_close_stdin},
    {"log-rotation", test_log_rotation},
    {"sandbox", test_sandbox},
    {"sandbox-concurrent", test_sandbox_concurrent},
    {"sandbox-pid", test_sandbox_pid},
    {"pod-cgroups", test_pod_cgroups},
    {"pod-cgroups-v1", test_pod_cgroups_v1},
    {"pod-cgroups-v2", test_pod_cgroups_v2},
    {"hooks", test_hooks},
    {"stop", test_stop},
    {"fork-bomb", test_fork_bomb},
    {"failure-leaks", test_failure_leaks},
};

int main(int argc, char **argv) {
  return rt_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
