/* SPDX-License-Identifier: Apache-2.0 */
/* `kube runtime exec` and `kube runtime spec`. */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd-runtime.h"

/* --process FILE: an OCI process object (args, env, cwd, user). */
static int load_process(const char *path, char ***args, char ***env, char **cwd,
                        long *uid, long *gid, bool *terminal,
                        unsigned short *rows, unsigned short *cols) {
  json_object *o = json_object_from_file(path);
  if (!o)
    return cli_fail("--process %s: cannot parse", path);
  json_object *v;
  int rc = 0;
  for (int which = 0; which < 2; which++) {
    if (!json_object_object_get_ex(o, which ? "env" : "args", &v) ||
        !json_object_is_type(v, json_type_array))
      continue;
    size_t n = json_object_array_length(v);
    char **arr = calloc(n + 1, sizeof *arr);
    for (size_t i = 0; arr && i < n; i++)
      arr[i] = strdup(json_object_get_string(json_object_array_get_idx(v, i)));
    *(which ? env : args) = arr;
  }
  if (json_object_object_get_ex(o, "cwd", &v))
    *cwd = strdup(json_object_get_string(v));
  if (json_object_object_get_ex(o, "terminal", &v) &&
      json_object_get_boolean(v))
    *terminal = true;
  json_object *cs;
  if (json_object_object_get_ex(o, "consoleSize", &cs)) {
    if (json_object_object_get_ex(cs, "height", &v))
      *rows = (unsigned short)json_object_get_int(v);
    if (json_object_object_get_ex(cs, "width", &v))
      *cols = (unsigned short)json_object_get_int(v);
  }
  json_object *user;
  if (json_object_object_get_ex(o, "user", &user)) {
    if (json_object_object_get_ex(user, "uid", &v))
      *uid = json_object_get_int64(v);
    if (json_object_object_get_ex(user, "gid", &v))
      *gid = json_object_get_int64(v);
  }
  if (!*args || !(*args)[0])
    rc = cli_fail("--process %s: no args", path);
  json_object_put(o);
  return rc;
}

static void free_strv(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

int rt_cmd_exec(int argc, char **argv) {
  static const struct option longopts[] = {
      {"detach", no_argument, NULL, 'd'},
      {"env", required_argument, NULL, 'e'},
      {"cwd", required_argument, NULL, 'w'},
      {"user", required_argument, NULL, 'u'},
      {"process", required_argument, NULL, 'p'},
      {"pid-file", required_argument, NULL, 'P'},
      {"tty", no_argument, NULL, 't'},
      {"console-socket", required_argument, NULL, 'c'},
      {NULL, 0, NULL, 0}};
  bool detach = false, tty = false;
  unsigned short rows = 0, cols = 0;
  const char *process = NULL, *pid_file = NULL, *console = NULL;
  char *cwd = NULL;
  long uid = -1, gid = -1;
  char **env = NULL, **args = NULL;
  size_t n_env = 0;
  int c, rc = 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+de:w:u:p:t", longopts, NULL)) != -1) {
    switch (c) {
    case 'd':
      detach = true;
      break;
    case 'e': {
      char **n = realloc(env, (n_env + 2) * sizeof *n);
      if (!n)
        goto out;
      env = n;
      env[n_env++] = strdup(optarg);
      env[n_env] = NULL;
      break;
    }
    case 'w':
      free(cwd);
      cwd = strdup(optarg);
      break;
    case 'u': {
      char *colon = NULL;
      uid = strtol(optarg, &colon, 10);
      gid = colon && *colon == ':' ? strtol(colon + 1, NULL, 10) : 0;
      break;
    }
    case 'p':
      process = optarg;
      break;
    case 'P':
      pid_file = optarg;
      break;
    case 't':
      tty = true;
      break;
    case 'c':
      console = optarg;
      break;
    default:
      fprintf(stderr, "usage: kube runtime exec [options] ID CMD...\n");
      goto out;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "usage: kube runtime exec [options] ID CMD...\n");
    goto out;
  }
  const char *id = argv[optind++];
  if (process) {
    char **penv = NULL;
    if (load_process(process, &args, &penv, &cwd, &uid, &gid, &tty, &rows,
                     &cols) != 0) {
      free_strv(penv);
      goto out;
    }
    if (env) /* --env wins over the process file */
      free_strv(penv);
    else
      env = penv;
  } else {
    if (optind >= argc) {
      cli_fail("exec: no command");
      goto out;
    }
    size_t n = (size_t)(argc - optind);
    args = calloc(n + 1, sizeof *args);
    for (size_t i = 0; args && i < n; i++)
      args[i] = strdup(argv[optind + (int)i]);
  }
  if (tty && detach && !console) {
    cli_fail("exec: a detached terminal needs --console-socket");
    goto out;
  }
  if (console && !tty) {
    cli_fail("exec: --console-socket given without --tty");
    goto out;
  }
  kube_runtime_t *rt = rt_open();
  if (!rt)
    goto out;
  int master = -1;
  kube_exec_options_t o = {
      .struct_size = sizeof o,
      .args = args,
      .env = env,
      .cwd = cwd,
      .set_user = uid >= 0,
      .uid = uid >= 0 ? (uid_t)uid : 0,
      .gid = gid >= 0 ? (gid_t)gid : 0,
      .io = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, NULL},
      .terminal = tty,
      .rows = rows,
      .cols = cols,
      .console_socket = console,
      .terminal_fd_out = tty && !console ? &master : NULL};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_exit_t ex;
  pid_t pid = 0;
  /* With our own terminal to proxy, wait after proxying. */
  bool proxy = tty && !console;
  if (kube_runtime_exec(rt, id, &o, &pid, detach || proxy ? NULL : &ex, &err) <
      0) {
    rc = rt_fail_err(&err);
  } else if (proxy) {
    rt_proxy_pty(master);
    close(master);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  } else {
    rc = detach ? 0 : ex.exit_code;
    if (pid_file) {
      FILE *f = fopen(pid_file, "we");
      if (f) {
        fprintf(f, "%d", (int)pid);
        fclose(f);
      }
    }
  }
  kube_runtime_free(rt);
out:
  free_strv(args);
  free_strv(env);
  free(cwd);
  return rc;
}

int rt_cmd_spec(int argc, char **argv) {
  static const struct option longopts[] = {
      {"bundle", required_argument, NULL, 'b'},
      {"rootless", no_argument, NULL, 'r'},
      {NULL, 0, NULL, 0}};
  const char *bundle = ".";
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+b:", longopts, NULL)) != -1) {
    if (c == 'b')
      bundle = optarg;
    else if (c != 'r')
      return cli_fail("usage: kube runtime spec [--bundle DIR]");
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *cfg = kube_rt_config_new_default(&err);
  if (!cfg)
    return rt_fail_err(&err);
  char *json = kube_rt_config_to_json(cfg, &err);
  kube_rt_config_free(cfg);
  if (!json)
    return rt_fail_err(&err);
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    free(json);
    return cli_fail("%s: %m", path);
  }
  size_t len = strlen(json);
  ssize_t w = write(fd, json, len);
  int rc = (w == (ssize_t)len && write(fd, "\n", 1) == 1)
               ? 0
               : cli_fail("write %s: %m", path);
  close(fd);
  free(json);
  return rc;
}
