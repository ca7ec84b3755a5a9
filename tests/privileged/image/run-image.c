/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run an image the way the node agent will: kube_image_ensure (pull
 * policy), kube_image_rootfs_prepare (overlay of the snapshots + upper),
 * the image config merged with the command line as Kubernetes merges it
 * with a pod (command/args vs Entrypoint/Cmd, env, workingDir, user), a
 * container of the libkube runtime, then kube_image_rootfs_release.
 *
 *   run-image DATA_DIR IMAGE [--host-net] [--timeout MS] [--env K=V]...
 *             [-- ARGS...]
 *
 * Prints the container's output, exits with its exit code; --timeout
 * kills it after MS milliseconds (a server under test).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkube/image.h>
#include <libkube/runtime.h>

static int fail(const char *what, kube_error_t *err) {
  fprintf(stderr, "run-image: %s: %s\n", what,
          err->message ? err->message : "failed");
  kube_error_clear(err);
  return 125;
}

static char **vec_add(char **v, size_t *n, const char *s) {
  v = realloc(v, (*n + 2) * sizeof *v);
  v[(*n)++] = strdup(s);
  v[*n] = NULL;
  return v;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: run-image DATA IMAGE [--host-net] [--env K=V]... "
                    "[-- ARGS...]\n");
    return 2;
  }
  const char *data = argv[1], *image = argv[2];
  bool host_net = false;
  int timeout_ms = -1;
  char **extra_env = NULL, **args = NULL;
  size_t n_extra = 0, n_args = 0;
  int i = 3;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--host-net"))
      host_net = true;
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout_ms = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--env") && i + 1 < argc)
      extra_env = vec_add(extra_env, &n_extra, argv[++i]);
    else if (!strcmp(argv[i], "--")) {
      i++;
      break;
    }
  }
  for (; i < argc; i++)
    args = vec_add(args, &n_args, argv[i]);

  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_store_options_t so = {.struct_size = sizeof so, .data_dir = data};
  kube_image_store_t *s = kube_image_store_open(&so, &err);
  if (!s)
    return fail("open store", &err);
  kube_image_info_t info;
  if (kube_image_ensure(s, image, KUBE_IMAGE_PULL_IF_NOT_PRESENT, NULL, &info,
                        &err) < 0)
    return fail("ensure", &err);
  char dir[256];
  snprintf(dir, sizeof dir, "%s/containers/run-%d", data, (int)getpid());
  char *rootfs = NULL;
  if (kube_image_rootfs_prepare(s, info.id, dir, &rootfs, &err) < 0)
    return fail("rootfs", &err);

  kube_rt_config_t *cfg = kube_rt_config_new_default(&err);
  if (!cfg)
    return fail("config", &err);
  /* command: Entrypoint + Cmd, or Entrypoint + the given args (the
   * pod's `args`); env: the image's, then ours */
  char **argvv = NULL;
  size_t na = 0;
  for (size_t k = 0; k < info.config.n_entrypoint; k++)
    argvv = vec_add(argvv, &na, info.config.entrypoint[k]);
  if (n_args)
    for (size_t k = 0; k < n_args; k++)
      argvv = vec_add(argvv, &na, args[k]);
  else
    for (size_t k = 0; k < info.config.n_cmd; k++)
      argvv = vec_add(argvv, &na, info.config.cmd[k]);
  if (!na) {
    fprintf(stderr, "run-image: no command\n");
    return 125;
  }
  char **env = NULL;
  size_t ne = 0;
  for (size_t k = 0; k < info.config.n_env; k++)
    env = vec_add(env, &ne, info.config.env[k]);
  for (size_t k = 0; k < n_extra; k++)
    env = vec_add(env, &ne, extra_env[k]);
  for (size_t k = 0; k < cfg->n_args; k++)
    free(cfg->args[k]);
  free(cfg->args);
  cfg->args = argvv;
  cfg->n_args = na;
  for (size_t k = 0; k < cfg->n_env; k++)
    free(cfg->env[k]);
  free(cfg->env);
  cfg->env = env ? env : calloc(1, sizeof(char *));
  cfg->n_env = ne;
  free(cfg->root_path);
  cfg->root_path = strdup(rootfs);
  if (info.config.working_dir) {
    free(cfg->cwd);
    cfg->cwd = strdup(info.config.working_dir);
  }
  if (info.config.user) {
    cfg->uid = (uid_t)atoi(info.config.user);
    const char *colon = strchr(info.config.user, ':');
    cfg->gid = colon ? (gid_t)atoi(colon + 1) : 0;
  }
  char cg[128];
  snprintf(cg, sizeof cg, "/libkube-test-image-%d", (int)getpid());
  free(cfg->cgroups_path);
  cfg->cgroups_path = strdup(cg);
  if (host_net)
    for (size_t k = 0; k < cfg->n_namespaces; k++)
      if (cfg->namespaces[k].type == KUBE_NS_NETWORK) {
        cfg->namespaces[k] = cfg->namespaces[--cfg->n_namespaces];
        break;
      }

  char rtroot[300];
  snprintf(rtroot, sizeof rtroot, "%s/containers/rt-%d", data, (int)getpid());
  kube_runtime_t *rt = kube_runtime_new(rtroot, &err);
  if (!rt)
    return fail("runtime", &err);
  kube_rt_io_t io = {-1, 1, 2, NULL};
  kube_rt_exit_t ex;
  char id[64];
  snprintf(id, sizeof id, "run-image-%d", (int)getpid());
  fflush(stdout);
  int rc;
  if (timeout_ms < 0)
    rc = kube_runtime_run(rt, id, cfg, &io, &ex, &err);
  else {
    rc = kube_runtime_create_ex(rt, id, cfg, &io, KUBE_RT_START, &err);
    if (rc == 0 && kube_runtime_wait(rt, id, timeout_ms, &ex, NULL) < 0) {
      kube_runtime_kill(rt, id, SIGKILL, true, NULL);
      rc = kube_runtime_wait(rt, id, 10000, &ex, &err);
    }
  }
  kube_runtime_delete(rt, id, true, NULL);
  kube_runtime_free(rt);
  rmdir(rtroot);
  kube_rt_config_free(cfg);
  if (rc < 0)
    fail("run", &err);
  if (kube_image_rootfs_release(s, dir, &err) < 0)
    return fail("release", &err);
  free(rootfs);
  kube_image_info_clear(&info);
  kube_image_store_free(s);
  return rc < 0 ? 125 : ex.exit_code;
}
