/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-runtime: the same busybox bundle (/bin/true, with memory, CPU and
 * pids limits) run N times (default 200, the least for a p95 worth
 * reporting), create to delete, by libkube's runtime, crun and runc,
 * interleaved, in wall-clock time.  Every CLI is timed the same way: fork +
 * exec of `<runtime> --root R run --bundle B ID` until it exits (a
 * foreground `run` deletes the container on exit in all three).  libkube is
 * also timed in-process through the library (kube_runtime_run + delete).
 *
 * Second figure: a container joining a pinned pod sandbox (net, ipc, uts
 * namespaces pinned once by kube_runtime_sandbox_pin, joined by path),
 * create -> start -> delete: three CLI invocations (`create`, `start`,
 * `delete -f`) for each CLI, kube_runtime_create/start/wait/delete for the
 * library.
 *
 * crun 1.8 refuses hybrid cgroups, so crun alone runs from a helper process
 * that made a private mount namespace and unmounted /sys/fs/cgroup/unified
 * once; the helper times each crun command itself, so crun pays nothing
 * extra.  How each peer is reached is printed with its figures.
 *
 *   bench-runtime [-n N] [--json] [--kube PATH] [--script PATH]
 *
 * With --json the last line is one JSON object; ratio_A_vs_B is A's median
 * time over B's.  Below 200 samples p95/p99 are not reported (null).
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/runtime.h>

enum { RT_LIBKUBE_CLI = 0, RT_CRUN, RT_RUNC, RT_LIBKUBE_LIB, RT__COUNT };
static const char *const rt_names[RT__COUNT] = {"libkube", "crun", "runc",
                                                "libkube-lib"};
static const char *const rt_how[RT__COUNT] = {
    "fork+exec of kube-runtime (the runc-compatible CLI)",
    "fork+exec of crun from a helper in a private mount namespace without "
    "/sys/fs/cgroup/unified (crun 1.8 refuses hybrid cgroups)",
    "fork+exec of runc", "in-process library calls (no fork+exec)"};

static char tmpdir[256];
static char bundle[512];
static char sbx_bundle[512];

/* Reap whatever our runtimes left to us as the subreaper (not timed). */
static void reap_strays(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

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

/* create -> start -> delete -f of the sandbox bundle through a CLI: the
 * sum of the three commands' wall times, or -1. */
static int64_t time_sandbox_cli(const char *prog, const char *root,
                                const char *id) {
  char *create[] = {(char *)prog, "--root",   (char *)root, "create",
                    "--bundle",   sbx_bundle, (char *)id,   NULL};
  char *start[] = {(char *)prog, "--root",   (char *)root,
                   "start",      (char *)id, NULL};
  char *del[] = {(char *)prog, "--root",   (char *)root, "delete",
                 "-f",         (char *)id, NULL};
  int64_t a = time_exec(create);
  int64_t b = a >= 0 ? time_exec(start) : -1;
  int64_t c = time_exec(del);
  return a >= 0 && b >= 0 && c >= 0 ? a + b + c : -1;
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
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    char buf[64];
    ssize_t n;
    while ((n = read(req[0], buf, sizeof buf - 1)) > 0) {
      buf[n] = 0;
      char *id = buf + 2;
      int64_t dt;
      if (buf[0] == 'r') {
        char *argv[] = {(char *)crun, "--root", (char *)root, "run",
                        "--bundle",   bundle,   id,           NULL};
        dt = time_exec(argv);
      } else {
        dt = time_sandbox_cli(crun, root, id);
      }
      reap_strays();
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
  double median_ms, p95_ms, p99_ms, mean_ms, min_ms;
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
  int i95 = (int)ceil(0.95 * k) - 1, i99 = (int)ceil(0.99 * k) - 1;
  /* Percentiles of fewer than 200 samples are noise: not reported. */
  r->p95_ms = k >= 200 ? (double)v[i95 < 0 ? 0 : i95] / 1e6 : NAN;
  r->p99_ms = k >= 200 ? (double)v[i99 < 0 ? 0 : i99] / 1e6 : NAN;
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

static void print_table(const char *title, struct result *r) {
  printf("%s\n", title);
  printf("%-12s %8s %8s %8s %8s %8s %6s  %s\n", "runtime", "median", "p95",
         "p99", "mean", "min", "fail", "reached through");
  for (int i = 0; i < RT__COUNT; i++) {
    if (!r[i].available) {
      printf("%-12s   (not available)\n", rt_names[i]);
      continue;
    }
    char p95[16] = "       -", p99[16] = "       -";
    if (!isnan(r[i].p95_ms))
      snprintf(p95, sizeof p95, "%6.2fms", r[i].p95_ms);
    if (!isnan(r[i].p99_ms))
      snprintf(p99, sizeof p99, "%6.2fms", r[i].p99_ms);
    printf("%-12s %6.2fms %s %s %6.2fms %6.2fms %6d  %s\n", rt_names[i],
           r[i].median_ms, p95, p99, r[i].mean_ms, r[i].min_ms, r[i].failed,
           rt_how[i]);
  }
}

static double ratio(const struct result *a, const struct result *b) {
  return a->ok && b->ok ? a->median_ms / b->median_ms : NAN;
}

static void json_results(const char *prefix, const struct result *r) {
  for (int i = 0; i < RT__COUNT; i++) {
    char key[64];
    snprintf(key, sizeof key, "%s%s", prefix, rt_names[i]);
    for (char *p = key; *p; p++)
      if (*p == '-')
        *p = '_';
    if (r[i].ok && !isnan(r[i].p95_ms))
      printf(",\"%s_median_ms\":%.3f,\"%s_p95_ms\":%.3f,\"%s_p99_ms\":%.3f,"
             "\"%s_failed\":%d",
             key, r[i].median_ms, key, r[i].p95_ms, key, r[i].p99_ms, key,
             r[i].failed);
    else if (r[i].ok) /* fewer than 200 samples: no percentiles */
      printf(",\"%s_median_ms\":%.3f,\"%s_p95_ms\":null,\"%s_p99_ms\":null,"
             "\"%s_failed\":%d",
             key, r[i].median_ms, key, key, key, r[i].failed);
    else
      printf(",\"%s_median_ms\":null,\"%s_p95_ms\":null", key, key);
  }
}

static void json_ratio(const char *key, double v) {
  if (isnan(v))
    printf(",\"%s\":null", key);
  else
    printf(",\"%s\":%.4f", key, v);
}

/* The sandbox bundle: the same config joining the pinned namespaces. */
static int make_sandbox_bundle(const char *sbx_dir, kube_error_t *err) {
  kube_rt_config_t *cfg = kube_rt_config_load(bundle, err);
  if (!cfg || kube_rt_config_join_sandbox(cfg, sbx_dir, err) < 0) {
    kube_rt_config_free(cfg);
    return -1;
  }
  char *json = kube_rt_config_to_json(cfg, err);
  kube_rt_config_free(cfg);
  if (!json)
    return -1;
  mkdir(sbx_bundle, 0755);
  char path[700];
  snprintf(path, sizeof path, "%s/config.json", sbx_bundle);
  FILE *f = fopen(path, "we");
  int rc = f && fputs(json, f) >= 0 ? 0 : -1;
  if (f && fclose(f) != 0)
    rc = -1;
  free(json);
  return rc;
}

int main(int argc, char **argv) {
  int n = 200;
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
  if (n < 200)
    fprintf(stderr,
            "bench-runtime: n=%d: percentiles of fewer than 200 "
            "samples are noise; p95/p99 not reported\n",
            n);
  if (geteuid() != 0) {
    fprintf(stderr, "bench-runtime: needs root\n");
    return 77;
  }
  /* runc and our CLI leave a created container's init to the subreaper. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (!kube[0])
    default_kube(kube, sizeof kube, argv[0]);
  if (!script)
    script = KUBE_SOURCE_ROOT "/scripts/make-busybox-bundle.sh";
  snprintf(tmpdir, sizeof tmpdir, "/tmp/kube-bench-rt-XXXXXX");
  if (!mkdtemp(tmpdir))
    return 1;
  snprintf(bundle, sizeof bundle, "%s/bundle", tmpdir);
  snprintf(sbx_bundle, sizeof sbx_bundle, "%s/bundle-sandbox", tmpdir);
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
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(roots[RT_LIBKUBE_LIB], &err);
  kube_rt_config_t *cfg = kube_rt_config_load(bundle, &err);
  if (!rt || !cfg) {
    fprintf(stderr, "libkube: %s\n", err.message);
    avail[RT_LIBKUBE_LIB] = false;
  }
  kube_error_clear(&err);
  /* The pod sandbox every sandbox run joins, pinned before the crun
   * helper copies the mount table. */
  char sbx_dir[600];
  snprintf(sbx_dir, sizeof sbx_dir, "%s/sandbox/ns", tmpdir);
  kube_sandbox_options_t so = {.struct_size = sizeof so, .hostname = "bench"};
  kube_rt_config_t *scfg = NULL;
  bool sbx_ok = rt && kube_runtime_sandbox_pin(rt, sbx_dir, &so, &err) == 0 &&
                make_sandbox_bundle(sbx_dir, &err) == 0 &&
                (scfg = kube_rt_config_load(sbx_bundle, &err));
  if (!sbx_ok) {
    fprintf(stderr, "sandbox: %s\n", err.message ? err.message : "?");
    kube_error_clear(&err);
  }
  int64_t *t[2][RT__COUNT];
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < RT__COUNT; i++) {
      t[s][i] = calloc((size_t)n, sizeof(int64_t));
      for (int k = 0; k < n; k++)
        t[s][i][k] = -1;
    }
  int crun_req = -1, crun_resp = -1;
  pid_t helper = avail[RT_CRUN] ? crun_helper("crun", roots[RT_CRUN], &crun_req,
                                              &crun_resp)
                                : -1;
  if (helper < 0)
    avail[RT_CRUN] = false;
  /* One warm-up round each (page cache, first cgroup mkdirs). */
  for (int round = -1; round < n; round++) {
    for (int scen = 0; scen < 2; scen++) {
      if (scen == 1 && !sbx_ok)
        continue;
      for (int k = 0; k < RT__COUNT; k++) {
        int which =
            (k + (round < 0 ? 0 : round)) % RT__COUNT; /* rotate the order */
        if (!avail[which])
          continue;
        char id[64];
        snprintf(id, sizeof id, "b%d-%s-%c%d", (int)getpid(), rt_names[which],
                 scen ? 's' : 'r', round + 1);
        int64_t dt = -1;
        if (which == RT_LIBKUBE_CLI || which == RT_RUNC) {
          const char *prog = which == RT_RUNC ? "runc" : kube;
          if (scen == 0) {
            char *a[] = {(char *)prog, "--root", roots[which], "run",
                         "--bundle",   bundle,   id,           NULL};
            dt = time_exec(a);
          } else {
            dt = time_sandbox_cli(prog, roots[which], id);
          }
        } else if (which == RT_CRUN) {
          char req[80];
          int len = snprintf(req, sizeof req, "%c %s", scen ? 's' : 'r', id);
          if (write(crun_req, req, (size_t)len) != len ||
              read(crun_resp, &dt, sizeof dt) != sizeof dt)
            dt = -1;
        } else {
          kube_rt_io_t io = KUBE_RT_IO_NULL;
          kube_rt_exit_t ex;
          int64_t t0 = now_ns();
          int rc;
          if (scen == 0)
            rc = kube_runtime_run(rt, id, cfg, &io, &ex, &err);
          else
            rc = kube_runtime_create(rt, id, scfg, &io, &err) == 0 &&
                         kube_runtime_start(rt, id, &err) == 0 &&
                         kube_runtime_wait(rt, id, 10000, &ex, &err) == 0
                     ? 0
                     : -1;
          if (rc == 0 && ex.exit_code == 0 &&
              kube_runtime_delete(rt, id, false, &err) == 0)
            dt = now_ns() - t0;
          else {
            fprintf(stderr, "libkube-lib: %s\n",
                    err.message ? err.message : "exit != 0");
            kube_error_clear(&err);
            kube_runtime_delete(rt, id, true, &err);
            kube_error_clear(&err);
          }
        }
        reap_strays();
        if (round >= 0)
          t[scen][which][round] = dt;
      }
    }
  }
  if (helper > 0) {
    close(crun_req);
    waitpid(helper, NULL, 0);
  }
  struct result r[2][RT__COUNT];
  memset(r, 0, sizeof r);
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < RT__COUNT; i++) {
      r[s][i].available = avail[i] && (s == 0 || sbx_ok);
      if (r[s][i].available)
        summarize(t[s][i], n, &r[s][i]);
    }
  const char *mode = rt ? kube_runtime_cgroup_mode(rt) : "?";
  char title[256];
  snprintf(title, sizeof title,
           "runtime bench: %d runs of /bin/true per runtime, create to delete "
           "(`run`; memory, cpu and pids limits; cgroups %s; wall time)",
           n, mode);
  print_table(title, r[0]);
  double rc = ratio(&r[0][RT_LIBKUBE_CLI], &r[0][RT_CRUN]);
  double rr = ratio(&r[0][RT_LIBKUBE_CLI], &r[0][RT_RUNC]);
  double lc = ratio(&r[0][RT_LIBKUBE_LIB], &r[0][RT_CRUN]);
  printf("ratio libkube/crun (median): %.3f\n", rc);
  printf("ratio libkube/runc (median): %.3f\n", rr);
  printf("ratio libkube-lib/crun (median, in-process): %.3f\n", lc);
  snprintf(title, sizeof title,
           "\nsandbox bench: %d containers joining a pinned pod sandbox "
           "(net+ipc+uts by path), create -> start -> delete",
           n);
  print_table(title, r[1]);
  double sc = ratio(&r[1][RT_LIBKUBE_CLI], &r[1][RT_CRUN]);
  double sr = ratio(&r[1][RT_LIBKUBE_CLI], &r[1][RT_RUNC]);
  double slc = ratio(&r[1][RT_LIBKUBE_LIB], &r[1][RT_CRUN]);
  printf("ratio libkube/crun (median): %.3f\n", sc);
  printf("ratio libkube/runc (median): %.3f\n", sr);
  printf("ratio libkube-lib/crun (median, in-process): %.3f\n", slc);
  if (json) {
    printf("{\"n\":%d,\"cgroup_mode\":\"%s\",\"clock\":\"wall\"", n, mode);
    for (int i = 0; i < RT__COUNT; i++) {
      char key[32];
      snprintf(key, sizeof key, "%s", rt_names[i]);
      for (char *p = key; *p; p++)
        if (*p == '-')
          *p = '_';
      printf(",\"%s_how\":\"%s\"", key, rt_how[i]);
    }
    json_results("", r[0]);
    json_ratio("ratio_libkube_vs_crun", rc);
    json_ratio("ratio_libkube_vs_runc", rr);
    json_ratio("ratio_libkube_lib_vs_crun", lc);
    json_results("sandbox_", r[1]);
    json_ratio("ratio_sandbox_libkube_vs_crun", sc);
    json_ratio("ratio_sandbox_libkube_vs_runc", sr);
    json_ratio("ratio_sandbox_libkube_lib_vs_crun", slc);
    printf("}\n");
  }
  kube_rt_config_free(cfg);
  kube_rt_config_free(scfg);
  if (rt) {
    kube_runtime_sandbox_unpin(rt, sbx_dir, &err);
    kube_error_clear(&err);
  }
  kube_runtime_free(rt);
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < RT__COUNT; i++)
      free(t[s][i]);
  kube_error_clear(&err);
  reap_strays();
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
