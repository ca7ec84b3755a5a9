/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-runtime: the same busybox bundle (/bin/true, with memory, CPU and
 * pids limits) run N times, create to delete, by libkube's runtime, crun and
 * runc, interleaved.  Every runtime is timed the same way: fork + exec of
 * `<runtime> --root R run --bundle B ID` until it exits (a foreground `run`
 * deletes the container on exit in all three).  libkube is also timed
 * in-process through the library (kube_runtime_run + delete).
 *
 * crun 1.8 refuses hybrid cgroups, so crun alone runs from a helper process
 * that made a private mount namespace and unmounted /sys/fs/cgroup/unified
 * once; the helper times each crun run itself, so crun pays nothing extra.
 *
 *   bench-runtime [-n N] [--json] [--kube PATH] [--script PATH]
 */
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/runtime.h>

enum { RT_LIBKUBE_CLI = 0, RT_CRUN, RT_RUNC, RT_LIBKUBE_LIB, RT__COUNT };
static const char *const rt_names[RT__COUNT] = {"libkube", "crun", "runc",
                                                "libkube-lib"};

static char tmpdir[256];
static char bundle[512];

static int64_t now_ns(void) {
  return kube_time_mono_ns();
}

/* fork+exec argv with stdio on /dev/null; returns elapsed ns or -1. */
static int64_t time_exec(char *const argv[]) {
  int64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int fd = open("/dev/null", O_RDWR);
    dup2(fd, 0);
    dup2(fd, 1);
    if (!getenv("BENCH_VERBOSE"))
      dup2(fd, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
  }
  int64_t dt = now_ns() - t0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? dt : -1;
}

/* The crun helper: lives in a private mount namespace without the cgroup2
 * mount; reads an id per request on `req`, answers the elapsed ns. */
static pid_t crun_helper(const char *crun, const char *root, int *req_w,
                         int *resp_r) {
  int req[2], resp[2];
  if (pipe(req) < 0 || pipe(resp) < 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    close(req[1]);
    close(resp[0]);
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
      _exit(1);
    umount2("/sys/fs/cgroup/unified",
            MNT_DETACH); /* absent on pure v1/v2: fine */
    char id[64];
    ssize_t n;
    while ((n = read(req[0], id, sizeof id - 1)) > 0) {
      id[n] = 0;
      char *argv[] = {(char *)crun, "--root", (char *)root, "run",
                      "--bundle",   bundle,   id,           NULL};
      int64_t dt = time_exec(argv);
      if (write(resp[1], &dt, sizeof dt) != sizeof dt)
        _exit(1);
    }
    _exit(0);
  }
  close(req[0]);
  close(resp[1]);
  *req_w = req[1];
  *resp_r = resp[0];
  return pid;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

struct result {
  bool available;
  int ok, failed;
  double median_ms, p95_ms, mean_ms, min_ms;
};

static void summarize(int64_t *v, int n, struct result *r) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (v[i] >= 0)
      v[k++] = v[i];
  r->ok = k;
  r->failed = n - k;
  if (k == 0)
    return;
  qsort(v, (size_t)k, sizeof *v, cmp_i64);
  double sum = 0;
  for (int i = 0; i < k; i++)
    sum += (double)v[i];
  r->median_ms = (k % 2 ? (double)v[k / 2]
                        : ((double)v[k / 2 - 1] + (double)v[k / 2]) / 2) /
                 1e6;
  int i95 = (int)ceil(0.95 * k) - 1;
  r->p95_ms = (double)v[i95 < 0 ? 0 : i95] / 1e6;
  r->mean_ms = sum / k / 1e6;
  r->min_ms = (double)v[0] / 1e6;
}

static bool have(const char *prog) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}

static void default_kube(char *out, size_t len, const char *argv0) {
  /* build/bench/runtime/bench-runtime -> build/frontends/cli/kube-runtime */
  char self[1024];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = 0;
  char *p = strstr(self, "/bench/runtime/");
  if (p) {
    *p = 0;
    snprintf(out, len, "%s/frontends/cli/kube-runtime", self);
  } else {
    snprintf(out, len, "kube-runtime");
  }
  (void)argv0;
}

int main(int argc, char **argv) {
  int n = 50;
  bool json = false;
  char kube[1100] = "";
  const char *script = NULL;
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"kube", required_argument, NULL, 'k'},
      {"script", required_argument, NULL, 's'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
    switch (c) {
    case 'n':
      n = atoi(optarg);
      break;
    case 'j':
      json = true;
      break;
    case 'k':
      snprintf(kube, sizeof kube, "%s", optarg);
      break;
    case 's':
      script = optarg;
      break;
    default:
      fprintf(stderr, "usage: bench-runtime [-n N] [--json] [--kube PATH] "
                      "[--script PATH]\n");
      return 2;
    }
  }
  if (n < 1)
    n = 1;
  if (geteuid() != 0) {
    fprintf(stderr, "bench-runtime: needs root\n");
    return 77;
  }
  if (!kube[0])
    default_kube(kube, sizeof kube, argv[0]);
  if (!script)
    script = KUBE_SOURCE_ROOT "/scripts/make-busybox-bundle.sh";
  snprintf(tmpdir, sizeof tmpdir, "/tmp/kube-bench-rt-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  snprintf(bundle, sizeof bundle, "%s/bundle", tmpdir);
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "CGROUPS_PATH=/libkube-bench/%d sh '%s' '%s' /bin/true",
           (int)getpid(), script, bundle);
  if (system(cmd) != 0) {
    fprintf(stderr, "bench-runtime: making the bundle failed\n");
    return 1;
  }
  char roots[RT__COUNT][600];
  for (int i = 0; i < RT__COUNT; i++)
    snprintf(roots[i], sizeof roots[i], "%s/state-%s", tmpdir, rt_names[i]);
  bool avail[RT__COUNT] = {access(kube, X_OK) == 0, have("crun"), have("runc"),
                           true};
  int64_t *t[RT__COUNT];
  for (int i = 0; i < RT__COUNT; i++) {
    t[i] = calloc((size_t)n, sizeof(int64_t));
    for (int k = 0; k < n; k++)
      t[i][k] = -1;
  }
  int crun_req = -1, crun_resp = -1;
  pid_t helper = avail[RT_CRUN] ? crun_helper("crun", roots[RT_CRUN], &crun_req,
                                              &crun_resp)
                                : -1;
  if (helper < 0)
    avail[RT_CRUN] = false;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(roots[RT_LIBKUBE_LIB], &err);
  kube_container_config_t *cfg = kube_container_config_load(bundle, &err);
  if (!rt || !cfg) {
    fprintf(stderr, "libkube: %s\n", err.message);
    avail[RT_LIBKUBE_LIB] = false;
  }
  /* One warm-up round each (page cache, first cgroup mkdirs). */
  for (int round = -1; round < n; round++) {
    for (int k = 0; k < RT__COUNT; k++) {
      int which =
          (k + (round < 0 ? 0 : round)) % RT__COUNT; /* rotate the order */
      if (!avail[which])
        continue;
      char id[64];
      snprintf(id, sizeof id, "b%d-%s-%d", (int)getpid(), rt_names[which],
               round + 1);
      int64_t dt = -1;
      if (which == RT_LIBKUBE_CLI) {
        char *a[] = {kube,       "--root", roots[which], "run",
                     "--bundle", bundle,   id,           NULL};
        dt = time_exec(a);
      } else if (which == RT_RUNC) {
        char *a[] = {"runc",     "--root", roots[which], "run",
                     "--bundle", bundle,   id,           NULL};
        dt = time_exec(a);
      } else if (which == RT_CRUN) {
        if (write(crun_req, id, strlen(id)) != (ssize_t)strlen(id) ||
            read(crun_resp, &dt, sizeof dt) != sizeof dt)
          dt = -1;
      } else {
        kube_container_io_t io = KUBE_CONTAINER_IO_NULL;
        kube_container_exit_t ex;
        int64_t t0 = now_ns();
        if (kube_runtime_run(rt, id, cfg, &io, &ex, &err) == 0 &&
            ex.exit_code == 0 && kube_runtime_delete(rt, id, false, &err) == 0)
          dt = now_ns() - t0;
        else {
          fprintf(stderr, "libkube-lib: %s\n",
                  err.message ? err.message : "exit != 0");
          kube_error_clear(&err);
        }
      }
      if (round >= 0)
        t[which][round] = dt;
    }
  }
  if (helper > 0) {
    close(crun_req);
    waitpid(helper, NULL, 0);
  }
  struct result r[RT__COUNT] = {0};
  for (int i = 0; i < RT__COUNT; i++) {
    r[i].available = avail[i];
    if (avail[i])
      summarize(t[i], n, &r[i]);
  }
  printf("runtime bench: %d runs of /bin/true per runtime, create to delete "
         "(memory, cpu and pids limits; cgroups %s)\n",
         n, rt ? kube_runtime_cgroup_mode(rt) : "?");
  printf("%-12s %8s %8s %8s %8s %6s\n", "runtime", "median", "p95", "mean",
         "min", "fail");
  for (int i = 0; i < RT__COUNT; i++) {
    if (!r[i].available) {
      printf("%-12s   (not available)\n", rt_names[i]);
      continue;
    }
    printf("%-12s %6.2fms %6.2fms %6.2fms %6.2fms %6d\n", rt_names[i],
           r[i].median_ms, r[i].p95_ms, r[i].mean_ms, r[i].min_ms, r[i].failed);
  }
  double rc = r[RT_LIBKUBE_CLI].ok && r[RT_CRUN].ok
                  ? r[RT_LIBKUBE_CLI].median_ms / r[RT_CRUN].median_ms
                  : NAN;
  double rr = r[RT_LIBKUBE_CLI].ok && r[RT_RUNC].ok
                  ? r[RT_LIBKUBE_CLI].median_ms / r[RT_RUNC].median_ms
                  : NAN;
  double lc = r[RT_LIBKUBE_LIB].ok && r[RT_CRUN].ok
                  ? r[RT_LIBKUBE_LIB].median_ms / r[RT_CRUN].median_ms
                  : NAN;
  printf("ratio libkube/crun (median): %.3f\n", rc);
  printf("ratio libkube/runc (median): %.3f\n", rr);
  printf("ratio libkube-lib/crun (median, in-process): %.3f\n", lc);
  if (json) {
    printf("{\"n\":%d,\"cgroup_mode\":\"%s\"", n,
           rt ? kube_runtime_cgroup_mode(rt) : "");
    for (int i = 0; i < RT__COUNT; i++) {
      char key[32];
      snprintf(key, sizeof key, "%s", rt_names[i]);
      for (char *p = key; *p; p++)
        if (*p == '-')
          *p = '_';
      if (r[i].ok)
        printf(",\"%s_median_ms\":%.3f,\"%s_p95_ms\":%.3f,\"%s_failed\":%d",
               key, r[i].median_ms, key, r[i].p95_ms, key, r[i].failed);
      else
        printf(",\"%s_median_ms\":null,\"%s_p95_ms\":null", key, key);
    }
    if (isnan(rc))
      printf(",\"ratio_libkube_crun\":null");
    else
      printf(",\"ratio_libkube_crun\":%.4f", rc);
    if (isnan(rr))
      printf(",\"ratio_libkube_runc\":null");
    else
      printf(",\"ratio_libkube_runc\":%.4f", rr);
    if (!isnan(lc))
      printf(",\"ratio_libkube_lib_crun\":%.4f", lc);
    printf("}\n");
  }
  kube_container_config_free(cfg);
  kube_runtime_free(rt);
  for (int i = 0; i < RT__COUNT; i++)
    free(t[i]);
  kube_error_clear(&err);
  /* Leftovers of failed runs, then our cgroup parent and temp dir. */
  snprintf(cmd, sizeof cmd,
           "for d in /sys/fs/cgroup/*/libkube-bench/%d "
           "/sys/fs/cgroup/libkube-bench/%d; do "
           "[ -d \"$d\" ] && rmdir \"$d\" 2>/dev/null; done; "
           "for d in /sys/fs/cgroup/*/libkube-bench "
           "/sys/fs/cgroup/libkube-bench; do "
           "[ -d \"$d\" ] && rmdir \"$d\" 2>/dev/null; done; rm -rf '%s'",
           (int)getpid(), (int)getpid(), tmpdir);
  if (system(cmd) != 0) {
    /* best effort */
  }
  return 0;
}
