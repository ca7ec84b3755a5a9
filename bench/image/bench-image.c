/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-image: the build half of the image benchmark.  The same 6-step
 * Dockerfile (FROM, ENV, WORKDIR, COPY of ~1 MB, RUN, CMD) on the same
 * offline busybox base is built by `kube build` and by `podman build`
 * (buildah, with runc, overlay storage, cgroupfs), each N times cold
 * (--no-cache) and N times fully cached, interleaved; medians reported.
 * ratio_A_vs_B is A's time divided by B's.  The pull+unpack half comes
 * with the built-in registry.
 *
 *   bench-image [-n N] [--json] [--kube PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libkube/core.h>

static char tmp[128];
static const char *kube = "kube";

static int run(char *const argv[], bool quiet) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (quiet || !getenv("BENCH_VERBOSE")) {
      int fd = open("/dev/null", O_RDWR);
      dup2(fd, 0);
      dup2(fd, 1);
      if (!getenv("BENCH_VERBOSE"))
        dup2(fd, 2);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* seconds, or -1 when the command failed */
static double timed(char *const argv[]) {
  int64_t t0 = kube_time_mono_ns();
  int rc = run(argv, true);
  double s = (double)(kube_time_mono_ns() - t0) / 1e9;
  return rc == 0 ? s : -1;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  for (int i = 0; i < n; i++)
    if (v[i] < 0)
      return -1;
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void make_context(void) {
  char p[256];
  snprintf(p, sizeof p, "%s/ctx", tmp);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/ctx/Dockerfile", tmp);
  write_file(p, "FROM docker.io/library/busybox:latest\n"
                "ENV APP_HOME=/srv/app\n"
                "WORKDIR /srv/app\n"
                "COPY data/ ./data/\n"
                "RUN for i in 1 2 3 4 5 6 7 8; do cat data/* > out.$i; done "
                "&& ls -l > listing\n"
                "CMD [\"sh\"]\n");
  snprintf(p, sizeof p, "%s/ctx/data", tmp);
  mkdir(p, 0755);
  /* ~1 MB in 64 files of pseudo-random text */
  unsigned x = 12345;
  for (int i = 0; i < 64; i++) {
    snprintf(p, sizeof p, "%s/ctx/data/f%02d.txt", tmp, i);
    FILE *f = fopen(p, "w");
    for (int k = 0; f && k < 16384; k++) {
      x = x * 1103515245u + 12345u;
      fputc('a' + (int)((x >> 16) % 26), f);
    }
    if (f)
      fclose(f);
  }
}

int main(int argc, char **argv) {
  int n = 5;
  bool json = false;
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'},
      {"kube", required_argument, NULL, 'k'},
      {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
    if (c == 'n')
      n = atoi(optarg) > 0 ? atoi(optarg) : 5;
    else if (c == 'j')
      json = true;
    else if (c == 'k')
      kube = optarg;
    else {
      fprintf(stderr, "usage: bench-image [-n N] [--json] [--kube PATH]\n");
      return 2;
    }
  }
  if (geteuid() != 0) {
    fprintf(stderr, "bench-image: needs root (overlay mounts, containers)\n");
    return 77;
  }
  snprintf(tmp, sizeof tmp, "/tmp/kube-bench-image-XXXXXX");
  if (!mkdtemp(tmp))
    return 1;
  char data[256], ctx[256], script[512], archive[256];
  snprintf(data, sizeof data, "%s/data", tmp);
  snprintf(ctx, sizeof ctx, "%s/ctx", tmp);
  snprintf(script, sizeof script, "%s/images/busybox.sh", KUBE_SOURCE_ROOT);
  snprintf(archive, sizeof archive, "%s/busybox.tar", tmp);
  make_context();
  char *base[] = {"sh",     script,       "--data-dir", data,
                  "--kube", (char *)kube, NULL};
  char *exp[] = {(char *)kube,     "image", "export",   "--data-dir",     data,
                 "busybox:latest", archive, "--format", "docker-archive", NULL};
  if (run(base, true) != 0 || run(exp, true) != 0) {
    fprintf(stderr, "bench-image: cannot make the busybox base\n");
    return 1;
  }
  /* podman with runc, overlay storage, cgroupfs: what runs unmodified on
   * this hybrid-cgroup machine */
  char proot[256], prun[256];
  snprintf(proot, sizeof proot, "--root=%s/proot", tmp);
  snprintf(prun, sizeof prun, "--runroot=%s/prun", tmp);
  char *pfx[] = {"podman",
                 proot,
                 prun,
                 "--storage-driver=overlay",
                 "--cgroup-manager=cgroupfs",
                 "--events-backend=file",
                 "--runtime=runc"};
#define P(...)                                                                 \
  { pfx[0], pfx[1], pfx[2], pfx[3], pfx[4], pfx[5], pfx[6], __VA_ARGS__, NULL }
  char *pload[] = P("load", "-i", archive);
  bool podman = run(pload, true) == 0;
  char *kcold[] = {(char *)kube, "build", "--data-dir", data, "--no-cache",
                   "-q",         "-t",    "bench:1",    ctx,  NULL};
  char *kwarm[] = {(char *)kube, "build",   "--data-dir", data, "-q",
                   "-t",         "bench:1", ctx,          NULL};
  char *pcold[] =
      P("build", "--network=none", "--no-cache", "-q", "-t", "bench:1", ctx);
  char *pwarm[] = P("build", "--network=none", "-q", "-t", "bench:1", ctx);
  double kc[64], kw[64], pc[64], pw[64];
  if (n > 64)
    n = 64;
  run(kwarm, true); /* warm the base's snapshots and the page cache */
  if (podman)
    run(pwarm, true);
  for (int i = 0; i < n; i++) {
    kc[i] = timed(kcold);
    kw[i] = timed(kwarm);
    if (podman) {
      pc[i] = timed(pcold);
      pw[i] = timed(pwarm);
    }
  }
  double k_cold = median(kc, n), k_warm = median(kw, n);
  double p_cold = podman ? median(pc, n) : -1,
         p_warm = podman ? median(pw, n) : -1;
  char *prm[] = P("rmi", "-a", "-f");
  if (podman)
    run(prm, true);
  /* podman's cgroupfs parent, when empty */
  char *cg[] = {"sh", "-c",
                "for d in /sys/fs/cgroup/*/libpod_parent; do [ -d $d ] && "
                "rmdir $d/*/ $d 2>/dev/null; done; true",
                NULL};
  run(cg, true);
  char *um[] = {"sh", "-c", NULL, NULL};
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "grep ' %s' /proc/mounts | awk '{print $2}' | sort -r | xargs -r "
           "-n1 umount -l; rm -rf %s",
           tmp, tmp);
  um[2] = cmd;
  run(um, true);
  if (json) {
    printf("{\"build_steps\": 6, \"runs\": %d, \"build_cold_s\": %.4f, "
           "\"build_cached_s\": %.4f",
           n, k_cold, k_warm);
    if (podman && p_cold > 0 && p_warm > 0)
      printf(", \"podman_build_cold_s\": %.4f, \"podman_build_cached_s\": "
             "%.4f, \"ratio_build_cold_vs_podman\": %.4f, "
             "\"ratio_build_cached_vs_podman\": %.4f",
             p_cold, p_warm, k_cold / p_cold, k_warm / p_warm);
    else
      printf(", \"podman_build_cold_s\": null, \"ratio_build_cold_vs_podman\": "
             "null");
    printf("}\n");
  } else {
    printf("6-step Dockerfile, median of %d\n", n);
    printf("  kube build   cold %.3f s   cached %.3f s\n", k_cold, k_warm);
    if (podman && p_cold > 0)
      printf("  podman build cold %.3f s   cached %.3f s   ratio cold %.2f, "
             "cached %.2f\n",
             p_cold, p_warm, k_cold / p_cold, k_warm / p_warm);
    else
      printf("  podman build: not available\n");
  }
  return k_cold > 0 && k_warm > 0 ? 0 : 1;
}
