/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-image: the image benchmark.
 *
 * Pull half: a 7-layer image of ~110 MB (the busybox base, five layers of
 * 20 MB of incompressible data, one of 3000 small files) built locally
 * and served by kubed's built-in registry on loopback; each run pulls and
 * unpacks it into a fresh store with kube_image_ensure (what the node
 * agent does), against `skopeo copy docker://... oci:DIR` + `umoci unpack`
 * of the same image from the same registry in the same run, interleaved,
 * wall time, medians.  Every run writes into directories of its own that
 * are removed only at the end: on an ext4 without a journal (this
 * machine's) the allocator skips inodes freed in the last minute, one
 * inode table lookup each, so deleting a run's ~3,500 files just before
 * the next run made each create of the next run cost ~1 ms, whichever
 * peer it was, and the figure measured the previous run's rm -rf.
 *
 * Build half: the same 6-step
 * Dockerfile (FROM, ENV, WORKDIR, COPY of ~1 MB, RUN, CMD) on the same
 * offline busybox base is built by `kube build` and by `podman build`
 * (buildah, with runc, overlay storage, cgroupfs), each N times cold
 * (--no-cache) and N times fully cached, interleaved; medians reported.
 * ratio_A_vs_B is A's time divided by B's.  The table always; with --json
 * one JSON object after it, on the last line.
 *
 *   bench-image [-n N] [--json] [--kube PATH] [--kubed PATH]
 *               [--no-pull] [--no-build]
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

#include <signal.h>

#include <libkube/core.h>
#include <libkube/image.h>

static char tmp[128];
static const char *kube = "kube";
static const char *kubed = "kubed";

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

/* ---- pull half ---- */

struct pull_result {
  double ours, theirs; /* medians, -1 when failed */
  double bytes;        /* compressed size of the image */
  int layers;
};

static int free_port(void) {
  FILE *p = popen("/usr/bin/python3 -c 'import socket; s=socket.socket(); "
                  "s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'",
                  "r");
  int port = 0;
  if (p) {
    if (fscanf(p, "%d", &port) != 1)
      port = 0;
    pclose(p);
  }
  return port;
}

static void make_big_context(const char *dir) {
  char p[512];
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/Dockerfile", dir);
  write_file(p, "FROM docker.io/library/busybox:latest\n"
                "RUN head -c 20000000 /dev/urandom > /l1.bin\n"
                "RUN head -c 20000000 /dev/urandom > /l2.bin\n"
                "RUN head -c 20000000 /dev/urandom > /l3.bin\n"
                "RUN head -c 20000000 /dev/urandom > /l4.bin\n"
                "RUN head -c 20000000 /dev/urandom > /l5.bin\n"
                "RUN mkdir /many && cd /many && for i in $(seq 3000); do "
                "echo file $i > f$i; done\n");
}

/* kube_image_ensure into a fresh store: pull + unpack, as a node does. */
static double ours_once(const char *ref, int i) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/ours-%d", tmp, i);
  int64_t t0 = kube_time_mono_ns();
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_store_options_t so = {.struct_size = sizeof so, .data_dir = dir};
  kube_image_store_t *s = kube_image_store_open(&so, &err);
  kube_image_info_t info;
  int rc =
      s ? kube_image_ensure(s, ref, KUBE_IMAGE_PULL_ALWAYS, NULL, &info, &err)
        : -1;
  double dt = (double)(kube_time_mono_ns() - t0) / 1e9;
  if (rc == 0)
    kube_image_info_clear(&info);
  else
    fprintf(stderr, "bench-image: ensure %s: %s\n", ref, err.message);
  kube_error_clear(&err);
  kube_image_store_free(s);
  return rc == 0 ? dt : -1;
}

static double theirs_once(const char *ref, int i) {
  char src[256], dst[300], bundle[256], layout[200];
  snprintf(src, sizeof src, "docker://%s", ref);
  snprintf(layout, sizeof layout, "%s/sko-%d", tmp, i);
  snprintf(dst, sizeof dst, "oci:%s:big", layout);
  snprintf(bundle, sizeof bundle, "%s/bundle-%d", tmp, i);
  char img[300];
  snprintf(img, sizeof img, "%s:big", layout);
  char *copy[] = {"skopeo", "copy", "--src-tls-verify=false", src, dst, NULL};
  char *unpack[] = {"umoci", "unpack", "--image", img, bundle, NULL};
  int64_t t0 = kube_time_mono_ns();
  int rc = run(copy, true);
  if (rc == 0)
    rc = run(unpack, true);
  double dt = (double)(kube_time_mono_ns() - t0) / 1e9;
  return rc == 0 ? dt : -1;
}

static bool have(const char *tool) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  char *sh[] = {"sh", "-c", cmd, NULL};
  return run(sh, true) == 0;
}

static struct pull_result pull_half(const char *data, int n) {
  struct pull_result r = {-1, -1, 0, 0};
  char ctx[256], sock[256], ref[128], listen[64], spec[300];
  snprintf(ctx, sizeof ctx, "%s/bigctx", tmp);
  make_big_context(ctx);
  char *build[] = {(char *)kube,          "build", "--data-dir",
                   (char *)data,          "-q",    "-t",
                   (char *)"bench/big:1", ctx,     NULL};
  if (run(build, true) != 0) {
    fprintf(stderr, "bench-image: cannot build the multi-layer image\n");
    return r;
  }
  int port = free_port();
  snprintf(listen, sizeof listen, "tcp:127.0.0.1:%d", port);
  snprintf(sock, sizeof sock, "unix:%s/kubed.sock", tmp);
  snprintf(ref, sizeof ref, "127.0.0.1:%d/bench/big:1", port);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_RDWR);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp(kubed, kubed, "server", "--data-dir", data, "--store", "memory",
           "--listen", sock, "--no-scheduler", "--no-node", "--registry-listen",
           listen, (char *)NULL);
    _exit(127);
  }
  snprintf(spec, sizeof spec,
           "for i in $(seq 100); do curl -sf http://127.0.0.1:%d/v2/ "
           ">/dev/null && exit 0; sleep 0.1; done; exit 1",
           port);
  char *wait_up[] = {"sh", "-c", spec, NULL};
  if (pid < 0 || run(wait_up, true) != 0) {
    fprintf(stderr, "bench-image: kubed's registry did not come up\n");
    goto out;
  }
  /* image size and layers, from the store */
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_store_options_t so = {.struct_size = sizeof so, .data_dir = data};
  kube_image_store_t *s = kube_image_store_open(&so, &err);
  kube_image_info_t info;
  if (s && kube_image_inspect(s, "bench/big:1", &info, &err) == 0) {
    r.bytes = (double)info.size;
    r.layers = (int)info.n_layers;
    kube_image_info_clear(&info);
  }
  kube_error_clear(&err);
  kube_image_store_free(s);
  bool tools = have("skopeo") && have("umoci");
  double o[64], t[64];
  ours_once(ref, 99); /* warm the page cache on the serving side */
  if (tools)
    theirs_once(ref, 99);
  for (int i = 0; i < n; i++) {
    o[i] = ours_once(ref, i);
    t[i] = tools ? theirs_once(ref, i) : -1;
  }
  r.ours = median(o, n);
  r.theirs = tools ? median(t, n) : -1;
out:
  if (pid > 0) {
    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  return r;
}

int main(int argc, char **argv) {
  int n = 5;
  bool json = false, do_pull = true, do_build = true;
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'},
      {"kube", required_argument, NULL, 'k'},
      {"kubed", required_argument, NULL, 'd'},
      {"no-pull", no_argument, NULL, 'P'},
      {"no-build", no_argument, NULL, 'B'},
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
    else if (c == 'd')
      kubed = optarg;
    else if (c == 'P')
      do_pull = false;
    else if (c == 'B')
      do_build = false;
    else {
      fprintf(stderr, "usage: bench-image [-n N] [--json] [--kube PATH] "
                      "[--kubed PATH] [--no-pull] [--no-build]\n");
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
  if (n > 64)
    n = 64;
  struct pull_result pr = {-1, -1, 0, 0};
  if (do_pull)
    pr = pull_half(data, n);
  double k_cold = -1, k_warm = -1, p_cold = -1, p_warm = -1;
  bool podman = false;
  if (!do_build)
    goto report;
  char *pload[] = P("load", "-i", archive);
  podman = run(pload, true) == 0;
  char *kcold[] = {(char *)kube, "build", "--data-dir", data, "--no-cache",
                   "-q",         "-t",    "bench:1",    ctx,  NULL};
  char *kwarm[] = {(char *)kube, "build",   "--data-dir", data, "-q",
                   "-t",         "bench:1", ctx,          NULL};
  char *pcold[] =
      P("build", "--network=none", "--no-cache", "-q", "-t", "bench:1", ctx);
  char *pwarm[] = P("build", "--network=none", "-q", "-t", "bench:1", ctx);
  double kc[64], kw[64], pc[64], pw[64];
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
  k_cold = median(kc, n);
  k_warm = median(kw, n);
  p_cold = podman ? median(pc, n) : -1;
  p_warm = podman ? median(pw, n) : -1;
  char *prm[] = P("rmi", "-a", "-f");
  if (podman)
    run(prm, true);
report:;
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
  if (do_pull && pr.ours <= 0)
    printf("pull + unpack: failed (see the messages above)\n");
  else if (do_pull) {
    printf("pull + unpack of a %d-layer %.0f MB image from kubed's "
           "registry, median of %d\n",
           pr.layers, pr.bytes / 1e6, n);
    printf("  kube_image_ensure          %.3f s   (in-process, plain HTTP to "
           "kubed's registry, fresh store)\n",
           pr.ours);
    if (pr.theirs > 0 && pr.ours > 0)
      printf("  skopeo copy + umoci unpack %.3f s   (CLIs, same registry, "
             "fresh dirs)\n  ratio (ours / theirs, time) %.2f\n",
             pr.theirs, pr.ours / pr.theirs);
    else
      printf("  skopeo/umoci: not available\n");
  }
  if (do_build) {
    printf("6-step Dockerfile, median of %d\n", n);
    printf("  kube build   cold %.3f s   cached %.3f s   (the kube CLI, its "
           "own data dir)\n",
           k_cold, k_warm);
    if (podman && p_cold > 0)
      printf("  podman build cold %.3f s   cached %.3f s   (buildah in "
             "podman, runc, overlay, cgroupfs)\n  ratio (kube / podman, "
             "time) cold %.2f, cached %.2f\n",
             p_cold, p_warm, k_cold / p_cold, k_warm / p_warm);
    else
      printf("  podman build: not available\n");
  }
  if (!json)
    return do_build ? (k_cold > 0 && k_warm > 0 ? 0 : 1)
                    : (pr.ours > 0 ? 0 : 1);
  printf("{\"runs\": %d", n);
  if (do_pull && pr.ours <= 0)
    printf(", \"pull_unpack_s\": null, \"skopeo_umoci_pull_unpack_s\": null, "
           "\"ratio_pull_unpack_vs_skopeo_umoci\": null");
  else if (do_pull) {
    printf(", \"pull_image_bytes\": %.0f, \"pull_image_layers\": %d, "
           "\"pull_unpack_s\": %.4f",
           pr.bytes, pr.layers, pr.ours);
    if (pr.theirs > 0 && pr.ours > 0) {
      printf(", \"skopeo_umoci_pull_unpack_s\": %.4f, "
             "\"ratio_pull_unpack_vs_skopeo_umoci\": %.4f",
             pr.theirs, pr.ours / pr.theirs);
      printf(", \"pull_ours_via\": \"kube_image_ensure in-process, plain "
             "HTTP to kubed's built-in registry on 127.0.0.1, fresh store\", "
             "\"pull_theirs_via\": \"skopeo copy docker://127.0.0.1 (same "
             "kubed registry) oci:DIR + umoci unpack, fresh dirs\"");
    } else
      printf(", \"skopeo_umoci_pull_unpack_s\": null, "
             "\"ratio_pull_unpack_vs_skopeo_umoci\": null");
  }
  if (!do_build) {
    printf("}\n");
    return pr.ours > 0 ? 0 : 1;
  }
  printf(", \"build_ours_via\": \"the kube CLI (kube build), its own data "
         "dir\", \"build_theirs_via\": \"podman build (buildah, runc, "
         "overlay, cgroupfs), --network=none\"");
  printf(", \"build_steps\": 6, \"build_cold_s\": %.4f, "
         "\"build_cached_s\": %.4f",
         k_cold, k_warm);
  if (podman && p_cold > 0 && p_warm > 0)
    printf(", \"podman_build_cold_s\": %.4f, \"podman_build_cached_s\": "
           "%.4f, \"ratio_build_cold_vs_podman\": %.4f, "
           "\"ratio_build_cached_vs_podman\": %.4f",
           p_cold, p_warm, k_cold / p_cold, k_warm / p_warm);
  else
    printf(", \"podman_build_cold_s\": null, \"ratio_build_cold_vs_podman\": "
           "null");
  printf("}\n");
  return k_cold > 0 && k_warm > 0 ? 0 : 1;
}
