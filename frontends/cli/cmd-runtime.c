/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kube runtime ...` and the `kube-runtime` alias: an OCI runtime command
 * line that accepts runc's and crun's arguments, so the same bundle runs
 * with the same commands under all three.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/runtime.h>

#include "cli.h"
#include "cmd-runtime.h"

struct rt_global rt_global;

int rt_fail_err(kube_error_t *err) {
  int rc = cli_fail("%s", err->message ? err->message : "unknown error");
  kube_error_clear(err);
  return rc;
}

kube_runtime_t *rt_open(void) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(rt_global.root, &err);
  if (!rt)
    rt_fail_err(&err);
  return rt;
}

static void usage(void) {
  fprintf(stderr,
          "usage: kube runtime [--root DIR] COMMAND [OPTIONS] ID\n"
          "commands:\n"
          "  create [--bundle DIR] [--pid-file F] [--console-socket S] "
          "[--monitor] [--log-path F] ID\n"
          "  start ID\n"
          "  run [--bundle DIR] [--pid-file F] [--detach] [--monitor] ID\n"
          "  state ID\n"
          "  kill [--all] ID [SIGNAL]\n"
          "  delete [--force] ID\n"
          "  list [--format table|json] [--quiet]\n"
          "  exec [--detach] [--env K=V] [--cwd DIR] [--user UID[:GID]] "
          "[--process FILE] ID CMD...\n"
          "  pause ID | resume ID | stats ID\n"
          "  spec [--bundle DIR]\n"
          "libkube extensions:\n"
          "  attach [--no-stdin] ID | resize ID ROWS COLS | reopen-log ID |"
          " close-stdin ID\n"
          "  sandbox pin [--hostname H] [--sysctl K=V]... DIR | sandbox "
          "unpin DIR\n");
}

/* Options shared by create and run. */
struct create_opts {
  const char *bundle;
  const char *pid_file;
  const char *log_path;
  const char *console_socket;
  bool detach;
  bool monitor;
};

static int parse_create(int argc, char **argv, struct create_opts *o,
                        const char **id) {
  static const struct option longopts[] = {
      {"bundle", required_argument, NULL, 'b'},
      {"pid-file", required_argument, NULL, 'p'},
      {"console-socket", required_argument, NULL, 'c'},
      {"detach", no_argument, NULL, 'd'},
      {"log-path", required_argument, NULL, 'l'},
      {"no-pivot", no_argument, NULL, 'N'},
      {"no-new-keyring", no_argument, NULL, 'K'},
      {"preserve-fds", required_argument, NULL, 'F'},
      {"keep", no_argument, NULL, 'k'},
      {"monitor", no_argument, NULL, 'M'},
      {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+b:dp:", longopts, NULL)) != -1) {
    switch (c) {
    case 'b':
      o->bundle = optarg;
      break;
    case 'p':
      o->pid_file = optarg;
      break;
    case 'd':
      o->detach = true;
      break;
    case 'l':
      o->log_path = optarg;
      break;
    case 'M':
      o->monitor = true;
      break;
    case 'c':
      o->console_socket = optarg;
      break;
    case 'N':
    case 'K':
    case 'F':
    case 'k':
      break;
    default:
      return -1;
    }
  }
  if (optind != argc - 1)
    return -1;
  *id = argv[optind];
  return 0;
}

static int write_pid_file(const char *path, pid_t pid) {
  if (!path)
    return 0;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "we");
  if (!f)
    return cli_fail("pid file %s: %m", path);
  fprintf(f, "%d", (int)pid);
  if (fclose(f) != 0 || rename(tmp, path) < 0)
    return cli_fail("pid file %s: %m", path);
  return 0;
}

static int pid_of(kube_runtime_t *rt, const char *id, pid_t *pid) {
  kube_rt_state_t st;
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_runtime_state(rt, id, &st, &err) < 0)
    return rt_fail_err(&err);
  *pid = st.pid;
  kube_rt_state_clear(&st);
  return 0;
}

static char fwd_state_path[4096];

/* Async-signal-safe: read the init's pid from the state file and pass the
 * signal on.  Before the state names a pid there is nothing to forward. */
static void forward_signal(int sig) {
  int saved = errno;
  int fd = open(fwd_state_path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      const char *p = strstr(buf, "\npid=");
      long pid = 0;
      for (p = p ? p + 5 : NULL; p && *p >= '0' && *p <= '9'; p++)
        pid = pid * 10 + (*p - '0');
      if (pid > 1)
        kill((pid_t)pid, sig);
    }
  }
  errno = saved;
}

void rt_forward_signals(const char *state_path) {
  snprintf(fwd_state_path, sizeof fwd_state_path, "%s", state_path);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward_signal;
  sa.sa_flags = SA_RESTART;
  static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
    sigaction(fwd[i], &sa, NULL);
}

static int run_terminal(kube_runtime_t *rt, const char *id,
                        const kube_rt_config_t *cfg, kube_rt_io_t *io) {
  kube_error_t err = KUBE_ERROR_INIT;
  io->stdin_fd = io->stdout_fd = io->stderr_fd = -1;
  if (kube_runtime_create_ex(rt, id, cfg, io, KUBE_RT_START, &err) < 0)
    return rt_fail_err(&err);
  kube_attach_options_t ao = {sizeof ao, true, true, true};
  kube_rt_attach_t *a = NULL;
  int rc = 0;
  if (kube_runtime_attach(rt, id, &ao, &a, &err) < 0) {
    rc = rt_fail_err(&err);
  } else {
    rt_proxy_attach(a);
    kube_rt_attach_free(a);
  }
  kube_rt_exit_t ex;
  if (kube_runtime_wait(rt, id, -1, &ex, &err) < 0)
    rc = rt_fail_err(&err);
  else if (rc == 0)
    rc = ex.exit_code;
  if (kube_runtime_delete(rt, id, true, &err) < 0)
    rt_fail_err(&err);
  return rc;
}

static int do_create(int argc, char **argv, bool run) {
  struct create_opts o = {0};
  const char *id = NULL;
  if (parse_create(argc, argv, &o, &id) < 0) {
    usage();
    return 1;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *cfg = kube_rt_config_load(o.bundle ? o.bundle : ".", &err);
  if (!cfg)
    return rt_fail_err(&err);
  kube_runtime_t *rt = rt_open();
  if (!rt) {
    kube_rt_config_free(cfg);
    return 1;
  }
  kube_rt_io_t io = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, o.log_path};
  io.console_socket = o.console_socket;
  int rc = 0;
  /* runc's rules: a console socket only with a terminal, and a detached
   * terminal needs one. */
  if (o.console_socket && !cfg->terminal) {
    rc = cli_fail("--console-socket given but process.terminal is false");
  } else if (cfg->terminal && !o.console_socket && (!run || o.detach)) {
    rc = cli_fail("process.terminal needs --console-socket when detached");
  } else if (run && !o.detach && cfg->terminal && !o.console_socket) {
    /* Foreground with a terminal: the monitor keeps the pty, we attach. */
    rc = run_terminal(rt, id, cfg, &io);
  } else if (!run) {
    /* As runc and crun: the init is left to our parent's subreaper
     * (conmon, a shim) unless --monitor asks for libkube's monitor, which
     * records the exit status for `state`. */
    unsigned flags = o.monitor ? 0 : KUBE_RT_NO_MONITOR;
    if (kube_runtime_create_ex(rt, id, cfg, &io, flags, &err) < 0)
      rc = rt_fail_err(&err);
  } else if (o.detach) {
    unsigned flags = KUBE_RT_START | (o.monitor ? 0 : KUBE_RT_NO_MONITOR);
    if (kube_runtime_create_ex(rt, id, cfg, &io, flags, &err) < 0)
      rc = rt_fail_err(&err);
  } else {
    kube_rt_exit_t ex;
    /* Foreground: signals for us go to the container's init, as runc
     * forwards them. */
    char state_path[4200];
    snprintf(state_path, sizeof state_path, "%s/%s/state",
             kube_runtime_root(rt), id);
    rt_forward_signals(state_path);
    if (!o.pid_file && !o.log_path) {
      /* The common case: we are the monitor, no extra process. */
      if (kube_runtime_run(rt, id, cfg, &io, &ex, &err) < 0) {
        rc = rt_fail_err(&err);
      } else {
        rc = ex.exit_code;
        if (kube_runtime_delete(rt, id, true, &err) < 0)
          rt_fail_err(&err);
      }
    } else if (kube_runtime_run(rt, id, cfg, &io, NULL, &err) < 0) {
      rc = rt_fail_err(&err);
    } else {
      pid_t pid = 0;
      if (o.pid_file && pid_of(rt, id, &pid) == 0)
        write_pid_file(o.pid_file, pid);
      if (kube_runtime_wait(rt, id, -1, &ex, &err) < 0)
        rc = rt_fail_err(&err);
      else
        rc = ex.exit_code;
      if (kube_runtime_delete(rt, id, true, &err) < 0)
        rt_fail_err(&err);
    }
    o.pid_file = NULL;
  }
  if (rc == 0 && o.pid_file) {
    pid_t pid = 0;
    rc = pid_of(rt, id, &pid);
    if (rc == 0)
      rc = write_pid_file(o.pid_file, pid);
  }
  kube_runtime_free(rt);
  kube_rt_config_free(cfg);
  return rc;
}

static int one_id(int argc, char **argv, const char **id) {
  if (argc != 2) {
    usage();
    return -1;
  }
  *id = argv[1];
  return 0;
}

static int do_start(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, &id) < 0)
    return 1;
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_runtime_start(rt, id, &err) < 0 ? rt_fail_err(&err) : 0;
  kube_runtime_free(rt);
  return rc;
}

static void print_state_json(const kube_rt_state_t *st) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char created[40];
  kube_time_format_micro(&st->created, created, sizeof created);
  kube_strbuf_append(&sb, "{\n  \"ociVersion\": \"1.0.2\",\n  \"id\": ");
  kube_strbuf_append_json_string(&sb, st->id);
  kube_strbuf_printf(&sb,
                     ",\n  \"pid\": %d,\n  \"status\": \"%s\",\n  \"bundle\": ",
                     (int)st->pid, kube_rt_status_string(st->status));
  kube_strbuf_append_json_string(&sb, st->bundle ? st->bundle : "");
  kube_strbuf_printf(&sb, ",\n  \"rootfs\": \"\",\n  \"created\": \"%s\"",
                     created);
  if (st->status == KUBE_RT_STOPPED)
    kube_strbuf_printf(&sb, ",\n  \"exitCode\": %d,\n  \"reason\": \"%s\"",
                       st->exit.exit_code, st->exit.reason);
  kube_strbuf_append(&sb, ",\n  \"owner\": \"\"\n}\n");
  if (sb.data)
    fputs(sb.data, stdout);
  kube_strbuf_clear(&sb);
}

static int do_state(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, &id) < 0)
    return 1;
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_state_t st;
  int rc = 0;
  if (kube_runtime_state(rt, id, &st, &err) < 0) {
    rc = rt_fail_err(&err);
  } else {
    print_state_json(&st);
    kube_rt_state_clear(&st);
  }
  kube_runtime_free(rt);
  return rc;
}

static int parse_signal(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } t[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
           {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
           {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
           {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}, {"CHLD", SIGCHLD}};
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end)
    return n > 0 && n < NSIG ? (int)n : -1;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcasecmp(t[i].name, s) == 0)
      return t[i].sig;
  return -1;
}

static int do_kill(int argc, char **argv) {
  static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
                                           {NULL, 0, NULL, 0}};
  bool all = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+a", longopts, NULL)) != -1) {
    if (c != 'a') {
      usage();
      return 1;
    }
    all = true;
  }
  if (optind >= argc || argc - optind > 2) {
    usage();
    return 1;
  }
  const char *id = argv[optind];
  int sig = optind + 1 < argc ? parse_signal(argv[optind + 1]) : SIGTERM;
  if (sig < 0)
    return cli_fail("unknown signal \"%s\"", argv[optind + 1]);
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc =
      kube_runtime_kill(rt, id, sig, all, &err) < 0 ? rt_fail_err(&err) : 0;
  kube_runtime_free(rt);
  return rc;
}

static int do_delete(int argc, char **argv) {
  static const struct option longopts[] = {{"force", no_argument, NULL, 'f'},
                                           {NULL, 0, NULL, 0}};
  bool force = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
    if (c != 'f') {
      usage();
      return 1;
    }
    force = true;
  }
  if (optind != argc - 1) {
    usage();
    return 1;
  }
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_runtime_delete(rt, argv[optind], force, &err) < 0
               ? rt_fail_err(&err)
               : 0;
  kube_runtime_free(rt);
  return rc;
}

static int do_list(int argc, char **argv) {
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"quiet", no_argument, NULL, 'q'},
      {NULL, 0, NULL, 0}};
  const char *format = "table";
  bool quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f:q", longopts, NULL)) != -1) {
    if (c == 'f')
      format = optarg;
    else if (c == 'q')
      quiet = true;
    else {
      usage();
      return 1;
    }
  }
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  char **ids = NULL;
  size_t n = 0;
  if (kube_runtime_list(rt, &ids, &n, &err) < 0) {
    kube_runtime_free(rt);
    return rt_fail_err(&err);
  }
  bool json = strcmp(format, "json") == 0;
  if (json)
    printf("[");
  else if (!quiet)
    printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE",
           "CREATED");
  for (size_t i = 0; i < n; i++) {
    kube_rt_state_t st;
    if (quiet) {
      printf("%s\n", ids[i]);
    } else if (kube_runtime_state(rt, ids[i], &st, &err) == 0) {
      char created[40];
      kube_time_format(st.created.tv_sec, created, sizeof created);
      if (json) {
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        kube_strbuf_append(&sb, i ? ",{\"id\":" : "{\"id\":");
        kube_strbuf_append_json_string(&sb, st.id);
        kube_strbuf_printf(&sb, ",\"pid\":%d,\"status\":\"%s\",\"bundle\":",
                           (int)st.pid, kube_rt_status_string(st.status));
        kube_strbuf_append_json_string(&sb, st.bundle ? st.bundle : "");
        kube_strbuf_printf(&sb, ",\"created\":\"%s\"}", created);
        if (sb.data)
          fputs(sb.data, stdout);
        kube_strbuf_clear(&sb);
      } else {
        printf("%-24s %-8d %-10s %-40s %s\n", st.id, (int)st.pid,
               kube_rt_status_string(st.status), st.bundle ? st.bundle : "",
               created);
      }
      kube_rt_state_clear(&st);
    } else {
      kube_error_clear(&err);
    }
    free(ids[i]);
  }
  if (json)
    printf("]\n");
  free(ids);
  kube_runtime_free(rt);
  return 0;
}

/* libkube extension: resource usage from the cgroup, as JSON. */
static int do_stats(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, &id) < 0)
    return 1;
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_stats_t st;
  int rc = 0;
  if (kube_runtime_stats(rt, id, &st, &err) < 0)
    rc = rt_fail_err(&err);
  else
    printf("{\"cpuUsageNanoseconds\":%llu,\"memoryUsageBytes\":%llu,"
           "\"memoryLimitBytes\":%llu,\"pids\":%llu,\"oomKills\":%llu}\n",
           (unsigned long long)st.cpu_usage_ns,
           (unsigned long long)st.memory_usage_bytes,
           (unsigned long long)st.memory_limit_bytes,
           (unsigned long long)st.pids_current,
           (unsigned long long)st.oom_kills);
  kube_runtime_free(rt);
  return rc;
}

static int do_freeze(int argc, char **argv, bool pause) {
  const char *id;
  if (one_id(argc, argv, &id) < 0)
    return 1;
  kube_runtime_t *rt = rt_open();
  if (!rt)
    return 1;
  kube_error_t err = KUBE_ERROR_INIT;
  int r = pause ? kube_runtime_pause(rt, id, &err)
                : kube_runtime_resume(rt, id, &err);
  int rc = r < 0 ? rt_fail_err(&err) : 0;
  kube_runtime_free(rt);
  return rc;
}

int cmd_runtime(int argc, char **argv) {
  static const struct option longopts[] = {
      {"root", required_argument, NULL, 'r'},
      {"log", required_argument, NULL, 'l'},
      {"log-format", required_argument, NULL, 'f'},
      {"debug", no_argument, NULL, 'd'},
      {"systemd-cgroup", no_argument, NULL, 's'},
      {"rootless", required_argument, NULL, 'R'},
      {"criu", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
    switch (c) {
    case 'r':
      rt_global.root = optarg;
      break;
    case 'd':
      kube_log_set_level(KUBE_LOG_DEBUG);
      break;
    case 'l':
    case 'f':
    case 's':
    case 'R':
    case 'c':
      break;
    case 'h':
      usage();
      return 0;
    default:
      usage();
      return 1;
    }
  }
  if (optind >= argc) {
    usage();
    return 1;
  }
  const char *cmd = argv[optind];
  int sub_argc = argc - optind;
  char **sub_argv = argv + optind;
  if (strcmp(cmd, "create") == 0)
    return do_create(sub_argc, sub_argv, false);
  if (strcmp(cmd, "run") == 0)
    return do_create(sub_argc, sub_argv, true);
  if (strcmp(cmd, "start") == 0)
    return do_start(sub_argc, sub_argv);
  if (strcmp(cmd, "state") == 0)
    return do_state(sub_argc, sub_argv);
  if (strcmp(cmd, "kill") == 0)
    return do_kill(sub_argc, sub_argv);
  if (strcmp(cmd, "delete") == 0 || strcmp(cmd, "rm") == 0)
    return do_delete(sub_argc, sub_argv);
  if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ps") == 0)
    return do_list(sub_argc, sub_argv);
  if (strcmp(cmd, "pause") == 0)
    return do_freeze(sub_argc, sub_argv, true);
  if (strcmp(cmd, "resume") == 0)
    return do_freeze(sub_argc, sub_argv, false);
  if (strcmp(cmd, "stats") == 0)
    return do_stats(sub_argc, sub_argv);
  if (strcmp(cmd, "exec") == 0)
    return rt_cmd_exec(sub_argc, sub_argv);
  if (strcmp(cmd, "spec") == 0)
    return rt_cmd_spec(sub_argc, sub_argv);
  if (strcmp(cmd, "attach") == 0)
    return rt_cmd_attach(sub_argc, sub_argv);
  if (strcmp(cmd, "resize") == 0 || strcmp(cmd, "reopen-log") == 0 ||
      strcmp(cmd, "close-stdin") == 0)
    return rt_cmd_control(sub_argc, sub_argv);
  if (strcmp(cmd, "sandbox") == 0)
    return rt_cmd_sandbox(sub_argc, sub_argv);
  usage();
  return cli_fail("unknown runtime command \"%s\"", cmd);
}
