/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The harness shared by the privileged runtime test programs: a busybox
 * rootfs in a temp dir, a runtime on its own state root, a cgroup parent
 * named after the pid; every test's leftovers force-deleted by id; the
 * cgroup parent and temp dir removed at the end, also after a failure.
 */
#ifndef KUBE_TEST_RT_TEST_H
#define KUBE_TEST_RT_TEST_H

#include <event2/event.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libkube/runtime.h>

#include "runtime/internal.h"

static char tmpdir[256];
static char rootfs[512];
static char state_root[512];
static char cg_parent[64];
static const char *cg_mode = "";
static int failures;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      return 1;                                                                \
    }                                                                          \
  } while (0)

#define CHECK_OK(rc, err)                                                      \
  CHECK((rc) == 0, "%s", (err)->message ? (err)->message : "(no message)")

static char **strv(const char *first, ...) {
  char **v = calloc(16, sizeof *v);
  va_list ap;
  va_start(ap, first);
  size_t n = 0;
  for (const char *s = first; s && n < 15; s = va_arg(ap, const char *))
    v[n++] = strdup(s);
  va_end(ap);
  return v;
}

/* The default config on our rootfs, running `sh -c script`. */
static kube_rt_config_t *config_sh(const char *name, const char *script) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = kube_rt_config_new_default(&err);
  if (!c) {
    fprintf(stderr, "config: %s\n", err.message);
    kube_error_clear(&err);
    return NULL;
  }
  free(c->root_path);
  c->root_path = strdup(rootfs);
  c->root_readonly = true;
  free(c->hostname);
  c->hostname = strdup("kubetest");
  for (size_t i = 0; i < c->n_args; i++)
    free(c->args[i]);
  free(c->args);
  c->args = strv("/bin/sh", "-c", script, NULL);
  c->n_args = 3;
  char path[128];
  snprintf(path, sizeof path, "%s/%s", cg_parent, name);
  c->cgroups_path = strdup(path);
  return c;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f)
    return strdup("");
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* Run to completion, stdout+stderr captured into *out (owned). */
static int run_capture(kube_runtime_t *rt, const char *id,
                       kube_rt_config_t *cfg, char **out, kube_rt_exit_t *ex,
                       kube_error_t *err) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s.out", tmpdir, id);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  kube_rt_io_t io = {-1, fd, fd, NULL};
  int rc = kube_runtime_run(rt, id, cfg, &io, ex, err);
  close(fd);
  *out = slurp(path);
  unlink(path);
  if (rc == 0) {
    kube_error_t e2 = KUBE_ERROR_INIT;
    if (kube_runtime_delete(rt, id, false, &e2) < 0) {
      fprintf(stderr, "  delete %s: %s\n", id, e2.message);
      kube_error_clear(&e2);
      return -1;
    }
  }
  return rc;
}

static bool cgroup_exists(const char *name) {
  static const char *const roots[] = {
      "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu",
      "/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s/%s", roots[i], cg_parent, name);
    if (stat(p, &st) == 0)
      return true;
  }
  return false;
}

static bool state_exists(const char *id) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", state_root, id);
  return access(p, F_OK) == 0;
}

static bool host_mount_mentions(const char *s) {
  char *m = slurp("/proc/self/mountinfo");
  bool found = strstr(m, s) != NULL;
  free(m);
  return found;
}

static void force_delete(kube_runtime_t *rt, const char *id) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_delete(rt, id, true, &err);
  kube_error_clear(&err);
}

/* Mounts under our temp dir (other helpers' tests mount things on this
 * machine too: only ours count). */
static int count_our_mounts(void) {
  char *t = slurp("/proc/self/mountinfo");
  int n = 0;
  for (char *p = t; (p = strstr(p, tmpdir)); p += strlen(tmpdir))
    n++;
  free(t);
  return n;
}

/* Processes in the cgroup tree `rel` of the pids (or memory) hierarchy. */
static int cgroup_procs_below(const char *rel) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "d=/sys/fs/cgroup/pids/%s; [ -d $d ] || d=/sys/fs/cgroup/%s; "
           "[ -d $d ] && find $d -name cgroup.procs -exec cat {} + "
           "2>/dev/null | wc -l",
           rel, rel);
  FILE *f = popen(cmd, "re");
  int n = 0;
  if (f) {
    if (fscanf(f, "%d", &n) != 1)
      n = 0;
    pclose(f);
  }
  return n;
}

/* In a child: a private mount namespace showing the cgroups as `mode`
 * ("v1": the cgroup2 mount hidden; "v2": cgroup2 on /sys/fs/cgroup).  -1
 * when this machine's layout does not allow it. */
static int enter_cgroup_mode(const char *mode) {
  if (unshare(CLONE_NEWNS) < 0 ||
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return -1;
  if (strcmp(mode, "v1") == 0)
    return umount2("/sys/fs/cgroup/unified", MNT_DETACH);
  return mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
}

/* fn(mode) in a forked child; its 77 means "not possible here". */
static int run_in_mode(const char *mode, int (*fn)(const char *mode)) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(fn(mode));
  int st = 0;
  waitpid(pid, &st, 0);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  if (code == 77)
    fprintf(stderr, "  %s mode not possible here: skipped\n", mode);
  return code == 77 ? 0 : code;
}

struct rt_test {
  const char *name;
  int (*fn)(kube_runtime_t *rt);
};

static void rm_cg_parent(void) {
  static const char *const roots[] = {
      "cpu",      "cpuacct",    "cpuset",  "memory",  "pids",
      "freezer",  "blkio",      "devices", "unified", "net_cls",
      "net_prio", "perf_event", "hugetlb", "rdma",    "misc"};
  char p[256];
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s", roots[i], cg_parent);
    rmdir(p);
  }
  snprintf(p, sizeof p, "/sys/fs/cgroup/%s", cg_parent);
  rmdir(p);
}

static int rt_test_main(int argc, char **argv, const struct rt_test *tests,
                        size_t n_tests) {
  if (argc < 2) {
    fprintf(stderr, "usage: test-runtime MAKE_BUNDLE_SCRIPT [TEST...]\n");
    return 2;
  }
  if (geteuid() != 0) {
    printf("SKIP: needs root\n");
    return 77;
  }
  if (access("/bin/busybox", X_OK) != 0) {
    printf("SKIP: /bin/busybox missing (apt-get install busybox-static)\n");
    return 77;
  }
  /* Can this kernel make the namespaces at all? */
  pid_t probe = fork();
  if (probe == 0)
    _exit(unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
                  CLONE_NEWIPC) == 0
              ? 0
              : 1);
  int pst = 0;
  waitpid(probe, &pst, 0);
  if (!WIFEXITED(pst) || WEXITSTATUS(pst) != 0) {
    printf("SKIP: the kernel refuses new namespaces\n");
    return 77;
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/kube-rt-test-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  chmod(tmpdir,
        0755); /* the user-namespace test's mapped root must reach the rootfs */
  snprintf(cg_parent, sizeof cg_parent, "libkube-test-%d", (int)getpid());
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "NO_CONFIG=1 sh '%s' '%s/bundle'", argv[1], tmpdir);
  if (system(cmd) != 0) {
    fprintf(stderr, "making the busybox bundle failed\n");
    return 1;
  }
  snprintf(rootfs, sizeof rootfs, "%s/bundle/rootfs", tmpdir);
  snprintf(state_root, sizeof state_root, "%s/state", tmpdir);
  kube_error_t err = KUBE_ERROR_INIT;
  /* Monitors of containers made by children we fork come back to us. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  int mounts_before = count_our_mounts();
  kube_runtime_t *rt = kube_runtime_new(state_root, &err);
  int rc = 0;
  if (!rt) {
    printf("SKIP: runtime: %s\n", err.message);
    rc = 77;
  } else {
    cg_mode = kube_runtime_cgroup_mode(rt);
    fprintf(stderr, "cgroup mode: %s\n", cg_mode);
    int run = 0;
    for (size_t i = 0; i < n_tests; i++) {
      bool selected = argc <= 2;
      for (int k = 2; k < argc; k++)
        selected |= strcmp(argv[k], tests[i].name) == 0;
      if (!selected)
        continue;
      int64_t t0 = kube_time_mono_ns();
      fprintf(stderr, "== %s\n", tests[i].name);
      int r = tests[i].fn(rt);
      fprintf(stderr, "%s %s (%.0f ms)\n", r ? "FAIL" : "ok", tests[i].name,
              (kube_time_mono_ns() - t0) / 1e6);
      failures += r != 0;
      run++;
      /* whatever a failed test left: remove it by id */
      char **ids = NULL;
      size_t n = 0;
      if (kube_runtime_list(rt, &ids, &n, &err) == 0) {
        for (size_t k = 0; k < n; k++) {
          force_delete(rt, ids[k]);
          free(ids[k]);
        }
        free(ids);
      }
      kube_error_clear(&err);
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
    }
    /* Leak checks over the whole run: no mount, no process, no cgroup. */
    int mounts_after = count_our_mounts();
    if (mounts_after != mounts_before) {
      fprintf(stderr, "FAIL leak: %d mounts before, %d after\n", mounts_before,
              mounts_after);
      failures++;
    }
    int left = cgroup_procs_below(cg_parent);
    if (left > 0) {
      fprintf(stderr, "FAIL leak: %d processes left in %s\n", left, cg_parent);
      failures++;
    }
    if (kube_runtime_pod_cgroup_remove(rt, cg_parent, 5000, &err) < 0) {
      fprintf(stderr, "FAIL leak: %s\n", err.message);
      kube_error_clear(&err);
      failures++;
    }
    kube_runtime_free(rt);
    rc = failures ? 1 : 0;
    fprintf(stderr, "%d/%d tests passed\n", run - failures, run);
  }
  kube_error_clear(&err);
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  rm_cg_parent();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    rc = rc ? rc : 1;
  return rc;
}

#endif
