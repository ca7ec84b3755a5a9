/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-node: the node agent end to end, against podman in the same run.
 *
 * kubed server (sqlite store, scheduler, its node) runs in a network
 * namespace the bench makes (node address on a veth pair inside it, its
 * own bridge, pod CIDR, cgroup parent, runtime root and data directory
 * with the offline busybox image); the bench joins that namespace and
 * talks to kubed's API on loopback.
 *
 *  - pod created -> Running: N pods one after another (default 200), each
 *    timed from before its POST until a watch shows it Running with its
 *    container running (status written by the agent, seen by a client);
 *    each pod is deleted once Running, so the node stays small.
 *  - 100 pods created at once -> all Running, and kubed's RSS then (the
 *    whole process: API server, store, scheduler and the agent; anonymous
 *    and file-backed apart), and the
 *    Pss of the containers' monitors (kube-monitor, conmon's role;
 *    KUBE_MONITOR_HELPER=none makes them forks of kubed, as before).
 *  - CNI ADD of the agent's own network (bridge + host-local + portmap)
 *    for a freshly pinned sandbox, N times, timed alone.
 *  - the peer: `podman run -d` of the same image (exported from the bench's
 *    store and loaded into a podman store of its own) with runc, overlay,
 *    cgroupfs and a copy of podman's default CNI bridge network, in the
 *    same namespace: N runs timed one after another, then 100 started at
 *    once (the same work as the 100 pods created at once),
 *    and the Pss of their conmon processes.  Without podman or runc the
 *    podman column says why it is empty (JSON: null and podman_skipped).
 *
 *   bench-node [--json] [-n N] [--pods N] [--kubed PATH] [--kube PATH]
 *
 * Needs root (exits 77 without it, the CNI plugins or busybox-static).
 * With --json the last line is one JSON object.
 */
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/client.h>
#include <libkube/kubectl.h>
#include <libkube/net.h>
#include <libkube/runtime.h>

#include "../bench-util.h"

static char tmp[256], data[300], ns[32], br[32], cg[64], rt[128], node[32];
static char pod_cidr[32], node_ip[32], logpath[320];
static pid_t kubed_pid = -1;
static const char *kubed_bin = KUBED_PATH, *kube_bin = KUBE_PATH;

static int sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
  if (n <= 0)
    return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i];
}

/* A "Key:   N kB" line of /proc/PID/<file> in kB, -1 if unknown: VmRSS in
 * status; Pss in smaps_rollup (shared pages split among the processes
 * that map them: fair for forks of one parent). */
static long proc_kb(pid_t pid, const char *file, const char *key) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  FILE *f = fopen(path, "r");
  long kb = -1;
  size_t kl = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, kl) && line[kl] == ':')
      kb = strtol(line + kl + 1, NULL, 10);
  if (f)
    fclose(f);
  return kb;
}

/* ---- the environment ---------------------------------------------------- */

static void cleanup(void) {
  if (kubed_pid > 0) {
    kill(kubed_pid, SIGTERM);
    waitpid(kubed_pid, NULL, 0);
    kubed_pid = -1;
  }
  /* whatever is left in the bench's cgroups, mounts and namespace */
  /* ours and podman's (its containers and their conmon) */
  sh("for f in /sys/fs/cgroup/*/%s /sys/fs/cgroup/*/%s-podman; do [ -d $f ] "
     "&& find $f -name cgroup.procs | while read p; do for x in $(cat $p); "
     "do kill -9 $x; done; done; done 2>/dev/null; sleep 0.2",
     cg, cg);
  sh("for f in /sys/fs/cgroup/*/%s /sys/fs/cgroup/*/%s-podman; do [ -d $f ] "
     "&& find $f -depth -type d -exec rmdir {} \\; ; done 2>/dev/null",
     cg, cg);
  sh("grep ' %s' /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 "
     "umount -l 2>/dev/null",
     tmp);
  sh("ip netns del %s 2>/dev/null", ns);
  sh("rm -rf %s %s", rt, tmp);
}

static void on_signal(int sig) {
  cleanup();
  _exit(128 + sig);
}

static int setup(void) {
  unsigned r = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
  snprintf(ns, sizeof ns, "kbn%05x", r % 0xfffff);
  snprintf(br, sizeof br, "kbb%05x", r % 0xfffff);
  snprintf(cg, sizeof cg, "libkube-bench-%05x", r % 0xfffff);
  snprintf(rt, sizeof rt, "/run/libkube/bench-%05x", r % 0xfffff);
  snprintf(node, sizeof node, "bench-%05x", r % 0xfffff);
  int o = 100 + (int)(r % 100), o3 = 1 + (int)((r / 100) % 250);
  snprintf(pod_cidr, sizeof pod_cidr, "10.%d.%d.0/24", o, o3);
  snprintf(node_ip, sizeof node_ip, "10.%d.%d.2", o + 50, o3);
  snprintf(tmp, sizeof tmp, "/tmp/bench-node-XXXXXX");
  if (!mkdtemp(tmp))
    return -1;
  snprintf(data, sizeof data, "%s/data", tmp);
  snprintf(logpath, sizeof logpath, "%s/kubed.log", tmp);
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  if (sh("ip netns add %s && ip netns exec %s ip link set lo up && "
         "ip netns exec %s ip link add nodeif type veth peer name nodepeer && "
         "ip netns exec %s ip addr add %s/24 dev nodeif && "
         "ip netns exec %s ip link set nodeif up && "
         "ip netns exec %s ip link set nodepeer up",
         ns, ns, ns, ns, node_ip, ns, ns) != 0)
    return -1;
  if (sh("sh %s/images/busybox.sh --data-dir %s --kube %s >/dev/null 2>&1",
         KUBE_SOURCE_ROOT, data, kube_bin) != 0) {
    fprintf(stderr, "bench-node: cannot load the busybox image\n");
    return -1;
  }
  return 0;
}

static int start_kubed(void) {
  kubed_pid = fork();
  if (kubed_pid < 0)
    return -1;
  if (kubed_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    char netns[96];
    snprintf(netns, sizeof netns, "--net=/run/netns/%s", ns);
    execlp("nsenter", "nsenter", netns, kubed_bin, "server", "--data-dir", data,
           "--listen", "tcp:127.0.0.1:0", "--log-level", "warning",
           "--node-name", node, "--node-ip", node_ip, "--pod-cidr", pod_cidr,
           "--cni-bridge", br, "--cgroup-parent", cg, "--runtime-root", rt,
           "--dns-upstream", "none",
           (char *)NULL);
    _exit(127);
  }
  return 0;
}

/* The bench joins the namespace: kubed's loopback, podman's network. */
static int join_netns(void) {
  char path[96];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
    return -1;
  close(fd);
  return 0;
}

/* ---- through the API ---------------------------------------------------- */

static kube_client_t *client;
static const kube_kind_t *pods_kind;

static kube_object_t *pod_object(const char *name, const char *label) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"%s\",\"labels\":{\"bench\":\"%s\"}},\"spec\":{"
           "\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1.35.0\","
           "\"command\":[\"sh\",\"-c\",\"trap 'exit 0' TERM; sleep 3600 & "
           "wait\"]}]}}",
           name, label);
  return kube_object_from_json(json, strlen(json), NULL);
}

static bool is_running(const kube_object_t *o) {
  const char *phase = kube_object_get_string(o, "status.phase");
  return phase && !strcmp(phase, "Running") &&
         kube_object_get_string(
             o, "status.containerStatuses.0.state.running.startedAt");
}

static int stop_when_running(const char *type, const kube_object_t *o,
                             void *arg) {
  return is_running(o);
}

struct many {
  int want, seen;
  bool *running;
};

static int count_running(const char *type, const kube_object_t *o, void *arg) {
  struct many *m = arg;
  const char *name = kube_object_name(o);
  int i = name ? atoi(name + strlen("many-")) : -1;
  if (i >= 0 && i < m->want && !m->running[i] && is_running(o)) {
    m->running[i] = true;
    m->seen++;
  }
  return m->seen >= m->want;
}

static bool node_ready(void) {
  const kube_kind_t *nk = kube_kind_by_kind("v1", "Node");
  kube_object_t *n = kube_client_get(client, nk, NULL, node, NULL);
  bool ok = false;
  if (n) {
    char *json = kube_object_to_json(n, 0);
    ok = json && strstr(json, "\"reason\":\"KubeletReady\"") &&
         !strstr(json, "not-ready");
    free(json);
    kube_object_free(n);
  }
  return ok;
}

/* Pods left in the namespace (SIZE_MAX when the list fails). */
static size_t pod_count(void) {
  kube_object_t *l = kube_client_list(client, pods_kind, "default", NULL, NULL);
  size_t n = l ? kube_list_length(l) : SIZE_MAX;
  kube_object_free(l);
  return n;
}

static void delete_pod(const char *name) {
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .grace_period = -1};
  kube_client_delete(client, pods_kind, "default", name, &wo, NULL, NULL);
}

/* Create `name` and wait until it runs: ms, or -1. */
static double pod_to_running(const char *name) {
  kube_object_t *o = pod_object(name, "one");
  double t0 = now();
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *made =
      kube_client_create(client, pods_kind, "default", o, NULL, &err);
  kube_object_free(o);
  if (!made) {
    fprintf(stderr, "bench-node: create %s: %s\n", name, err.message);
    kube_error_clear(&err);
    return -1;
  }
  char fs[128];
  snprintf(fs, sizeof fs, "metadata.name=%s", name);
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .field_selector = fs,
                                   .resource_version =
                                       kube_object_resource_version(made),
                                   .timeout_seconds = 60};
  int rc = kube_client_watch(client, pods_kind, "default", &lo,
                             stop_when_running, NULL, &err);
  double ms = (now() - t0) * 1000;
  kube_object_free(made);
  kube_error_clear(&err);
  return rc < 0 ? -1 : ms;
}

static bool wait_no_pods(int seconds) {
  for (int i = 0; i < seconds * 10; i++) {
    if (pod_count() == 0)
      return true;
    usleep(100000);
  }
  return false;
}

/* ---- CNI ADD alone ------------------------------------------------------ */

static double cni_add_p99(int n, double *p50) {
  kube_error_t err = KUBE_ERROR_INIT;
  char conf[400], cache[400], sbx[400];
  snprintf(conf, sizeof conf, "%s/cni/net.d", data);
  snprintf(cache, sizeof cache, "%s/cni-bench-cache", tmp);
  kube_cni_options_t co = {
      .struct_size = sizeof co, .conf_dir = conf, .cache_dir = cache};
  kube_cni_t *c = kube_cni_new(&co, &err);
  char rtroot[400];
  snprintf(rtroot, sizeof rtroot, "%s/cni-bench-rt", tmp);
  kube_runtime_t *r = kube_runtime_new(rtroot, &err);
  double *v = calloc((size_t)n, sizeof *v);
  int k = 0;
  for (int i = 0; c && r && v && i < n; i++) {
    snprintf(sbx, sizeof sbx, "%s/sbx", tmp);
    kube_sandbox_options_t so = {.struct_size = sizeof so};
    if (kube_runtime_sandbox_pin(r, sbx, &so, &err) < 0)
      break;
    char netns[500], id[32];
    snprintf(netns, sizeof netns, "%s/net", sbx);
    snprintf(id, sizeof id, "bench-cni-%d", i);
    kube_cni_attachment_t a = {
        .struct_size = sizeof a, .container_id = id, .netns = netns};
    double t0 = now();
    int rc = kube_cni_add(c, &a, NULL, &err);
    double ms = (now() - t0) * 1000;
    if (rc == 0)
      v[k++] = ms;
    kube_cni_del(c, &a, NULL);
    kube_runtime_sandbox_unpin(r, sbx, NULL);
    if (rc < 0)
      break;
  }
  if (kube_error_is_set(&err))
    fprintf(stderr, "bench-node: CNI ADD: %s\n", err.message);
  kube_error_clear(&err);
  *p50 = k ? pct(v, k, 0.5) : -1;
  /* a p99 of fewer than 200 samples is not reported */
  double p99 = k >= 200 ? pct(v, k, 0.99) : -1;
  free(v);
  kube_runtime_free(r);
  kube_cni_free(c);
  return p99;
}

/* ---- memory ------------------------------------------------------------- */

/* Pss summed over the processes whose parent is `ppid` (ppid > 0) or whose
 * command is `comm` with `needle` in its command line; *count set. */
static double sum_pss_mb(pid_t ppid, const char *comm, const char *needle,
                         int *count) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  long kb = 0;
  *count = 0;
  while (d && (e = readdir(d))) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0)
      continue;
    char path[64], buf[4096];
    bool match = false;
    if (ppid > 0) {
      snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
      FILE *f = fopen(path, "r");
      int parent = -1;
      if (f && fgets(buf, sizeof buf, f)) {
        char *p = strrchr(buf, ')'); /* the command may hold spaces */
        if (p)
          sscanf(p + 1, " %*c %d", &parent);
      }
      if (f)
        fclose(f);
      match = parent == ppid;
    } else {
      snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
      FILE *f = fopen(path, "r");
      if (f && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        match = !strcmp(buf, comm);
      }
      if (f)
        fclose(f);
      if (match) {
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
          close(fd);
        for (ssize_t i = 0; i < n; i++)
          if (!buf[i])
            buf[i] = ' ';
        buf[n > 0 ? n : 0] = 0;
        match = strstr(buf, needle) != NULL;
      }
    }
    long k = match ? proc_kb(pid, "smaps_rollup", "Pss") : -1;
    if (k >= 0) {
      kb += k;
      (*count)++;
    }
  }
  if (d)
    closedir(d);
  return kb / 1024.0;
}

/* ---- podman ------------------------------------------------------------- */

/* podman with runc, overlay storage, cgroupfs (what runs unmodified on
 * this hybrid-cgroup machine), a store, run and tmp directory and CNI
 * configuration of the bench's own: its default bridge network copied
 * with the bench's bridge name, subnet and host-local directory. */
static char *pfx[] = {"podman",
                      NULL, /* --root */
                      NULL, /* --runroot */
                      NULL, /* --tmpdir */
                      NULL, /* --network-config-dir */
                      "--storage-driver=overlay",
                      "--cgroup-manager=cgroupfs",
                      "--events-backend=file",
                      "--runtime=runc"};
#define NP (sizeof pfx / sizeof pfx[0])
static char podman_err[400], podman_version[128];

/* Run podman with args; its exit code.  stderr goes to a file whose last
 * line is kept in podman_err when it fails. */
/* Fork `podman <pfx> args`, its stderr into errpath; the child's pid. */
static pid_t podman_fork(const char *const *args, const char *errpath) {
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[64];
    size_t n = 0;
    for (size_t i = 0; i < NP; i++)
      argv[n++] = pfx[i];
    for (size_t i = 0; args[i] && n < 63; i++)
      argv[n++] = (char *)args[i];
    argv[n] = NULL;
    int fd = open("/dev/null", O_WRONLY);
    int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(efd >= 0 ? efd : fd, 2);
    execvp("podman", argv);
    _exit(127);
  }
  return pid;
}

/* Wait for a podman_fork child; on failure its last stderr line goes into
 * podman_err. */
static int podman_wait(pid_t pid, const char *errpath) {
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0)
    return -1;
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (rc != 0) {
    FILE *f = fopen(errpath, "r");
    char line[400];
    podman_err[0] = 0;
    while (f && fgets(line, sizeof line, f))
      if (line[0] != '\n')
        snprintf(podman_err, sizeof podman_err, "%s", line);
    podman_err[strcspn(podman_err, "\n")] = 0;
    if (f)
      fclose(f);
    if (!podman_err[0])
      snprintf(podman_err, sizeof podman_err, "podman exited with %d", rc);
  }
  return rc;
}

static int podman(const char *const *args) {
  char errpath[400];
  snprintf(errpath, sizeof errpath, "%s/podman.err", tmp);
  return podman_wait(podman_fork(args, errpath), errpath);
}

/* `count` podman commands started at once (the same work as pods created
 * at once through the API); how many succeeded. */
static int podman_at_once(const char *const *args, int count) {
  pid_t *pids = calloc((size_t)count, sizeof *pids);
  int ok = 0;
  if (!pids)
    return 0;
  char errpath[400];
  for (int i = 0; i < count; i++) {
    snprintf(errpath, sizeof errpath, "%s/podman.err.%d", tmp, i);
    pids[i] = podman_fork(args, errpath);
  }
  for (int i = 0; i < count; i++) {
    snprintf(errpath, sizeof errpath, "%s/podman.err.%d", tmp, i);
    ok += podman_wait(pids[i], errpath) == 0;
  }
  free(pids);
  return ok;
}

static char podman_cg[96];
static const char *run_args[] = {
    "run", "-d", "--network", "kbench", "--cgroup-parent", podman_cg,
    /* podman's default nofile/nproc limits are the host's hard limits,
     * which runc refuses to raise here */
    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
    "docker.io/library/busybox:1.35.0", "sh", "-c",
    "trap 'exit 0' TERM; sleep 3600 & wait", NULL};

static bool podman_setup(void) {
  static char root[400], runroot[400], tmpdir[400], netdir[400];
  snprintf(root, sizeof root, "--root=%s/podman/root", tmp);
  snprintf(runroot, sizeof runroot, "--runroot=%s/podman/run", tmp);
  snprintf(tmpdir, sizeof tmpdir, "--tmpdir=%s/podman/tmp", tmp);
  snprintf(netdir, sizeof netdir, "%s/podman/net.d", tmp);
  pfx[1] = root;
  pfx[2] = runroot;
  pfx[3] = tmpdir;
  static char netflag[440];
  snprintf(netflag, sizeof netflag, "--network-config-dir=%s", netdir);
  pfx[4] = netflag;
  snprintf(podman_cg, sizeof podman_cg, "/%s-podman", cg);
  if (access("/usr/bin/podman", X_OK) != 0 && sh("command -v podman") != 0) {
    snprintf(podman_err, sizeof podman_err, "podman is not installed");
    return false;
  }
  if (access("/usr/sbin/runc", X_OK) != 0 && sh("command -v runc") != 0) {
    snprintf(podman_err, sizeof podman_err, "runc is not installed");
    return false;
  }
  FILE *v = popen("podman --version 2>/dev/null", "r");
  char line[128];
  if (v && fgets(line, sizeof line, v)) /* "podman version 4.3.1" */
    snprintf(podman_version, sizeof podman_version, "%s",
             strrchr(line, ' ') ? strrchr(line, ' ') + 1 : line);
  podman_version[strcspn(podman_version, "\n")] = 0;
  if (v)
    pclose(v);
  /* the subnet: another /24 of the bench's, inside its namespace */
  int o = 0, o3 = 0;
  sscanf(pod_cidr, "10.%d.%d.", &o, &o3);
  if (sh("mkdir -p %s && cat > %s/kbench.conflist <<'EOF'\n"
         "{\"cniVersion\":\"0.4.0\",\"name\":\"kbench\",\"plugins\":["
         "{\"type\":\"bridge\",\"bridge\":\"kbp%s\",\"isGateway\":true,"
         "\"ipMasq\":true,\"hairpinMode\":true,\"ipam\":{\"type\":"
         "\"host-local\",\"dataDir\":\"%s/podman/ipam\",\"routes\":[{\"dst\":"
         "\"0.0.0.0/0\"}],\"ranges\":[[{\"subnet\":\"10.%d.%d.0/24\","
         "\"gateway\":\"10.%d.%d.1\"}]]}},"
         "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}},"
         "{\"type\":\"firewall\"},{\"type\":\"tuning\"}]}\nEOF\n",
         netdir, netdir, ns + 3, tmp, o - 50, o3, o - 50, o3) != 0) {
    snprintf(podman_err, sizeof podman_err,
             "cannot write the CNI configuration");
    return false;
  }
  char archive[400];
  snprintf(archive, sizeof archive, "%s/busybox.tar", tmp);
  if (sh("%s image export --data-dir %s --format docker-archive -o %s "
         "busybox:1.35.0 >/dev/null 2>&1",
         kube_bin, data, archive) != 0) {
    snprintf(podman_err, sizeof podman_err,
             "kube image export of busybox:1.35.0 failed");
    return false;
  }
  const char *load[] = {"load", "-i", archive, NULL};
  return podman(load) == 0 && podman(run_args) == 0;
}

static void podman_clear(void) {
  const char *rm[] = {"rm", "-f", "-a", "-t", "0", NULL};
  podman(rm);
}

/* ---- main --------------------------------------------------------------- */

static void json_num(const char *key, double v, bool have) {
  if (have)
    printf(",\"%s\":%.3f", key, v);
  else
    printf(",\"%s\":null", key);
}

int main(int argc, char **argv) {
  bool json = false;
  int n = 200, many = 100;
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                       {"pods", required_argument, NULL, 'p'},
                                       {"kubed", required_argument, NULL, 'k'},
                                       {"kube", required_argument, NULL, 'K'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
    switch (c) {
    case 'j':
      json = true;
      break;
    case 'n':
      n = atoi(optarg);
      break;
    case 'p':
      many = atoi(optarg);
      break;
    case 'k':
      kubed_bin = optarg;
      break;
    case 'K':
      kube_bin = optarg;
      break;
    default:
      fprintf(stderr, "usage: bench-node [--json] [-n SAMPLES] [--pods N] "
                      "[--kubed PATH] [--kube PATH]\n");
      return 2;
    }
  }
  if (n < 1 || many < 1 || many > 110) {
    fprintf(stderr, "bench-node: -n must be >= 1 and --pods 1..110\n");
    return 2;
  }
  if (geteuid() != 0 || access("/usr/lib/cni/bridge", X_OK) != 0 ||
      access("/bin/busybox", X_OK) != 0) {
    fprintf(stderr, "bench-node: needs root, containernetworking-plugins and "
                    "busybox-static\n");
    return 77;
  }
  if (setup() < 0 || start_kubed() < 0 || join_netns() < 0) {
    fprintf(stderr, "bench-node: cannot set up (see %s)\n", logpath);
    return 1;
  }
  char kubeconfig[400];
  snprintf(kubeconfig, sizeof kubeconfig, "%s/kubeconfig.yaml", data);
  for (int i = 0; i < 400 && access(kubeconfig, R_OK) != 0; i++)
    usleep(50000);
  client = kube_client_new_from_kubeconfig(kubeconfig, NULL, NULL);
  pods_kind = kube_kind_by_kind("v1", "Pod");
  bool ready = false;
  for (int i = 0; client && i < 400 && !(ready = node_ready()); i++)
    usleep(50000);
  if (!ready) {
    fprintf(stderr, "bench-node: the node did not get Ready (see %s)\n",
            logpath);
    return 1;
  }
  fprintf(stderr, "bench-node: node %s Ready; %d pods one after another\n",
          node, n);
  /* warm up: snapshots, page cache, the bridge */
  for (int i = 0; i < 3; i++) {
    char name[32];
    snprintf(name, sizeof name, "warm-%d", i);
    pod_to_running(name);
    delete_pod(name);
  }
  double *lat = calloc((size_t)n, sizeof *lat);
  int k = 0;
  for (int i = 0; lat && i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "lat-%d", i);
    double ms = pod_to_running(name);
    if (ms >= 0)
      lat[k++] = ms;
    delete_pod(name);
    /* keep the node small: at most ~30 pods still tearing down */
    for (int w = 0; w < 3000 && pod_count() > 30; w++)
      usleep(20000);
  }
  if (!wait_no_pods(120))
    fprintf(stderr, "bench-node: pods still terminating after 120 s\n");
  /* A p99 of fewer than 200 samples is noise: not reported (-n below
   * 200, or failures); the median is. */
  double p50 = pct(lat, k, 0.5), p99 = k >= 200 ? pct(lat, k, 0.99) : -1;
  /* many at once */
  fprintf(stderr, "bench-node: %d pods at once\n", many);
  struct many m = {.want = many, .running = calloc((size_t)many, sizeof(bool))};
  kube_object_t *list =
      kube_client_list(client, pods_kind, "default", NULL, NULL);
  char rv[32] = "";
  if (list && kube_object_resource_version(list))
    snprintf(rv, sizeof rv, "%s", kube_object_resource_version(list));
  kube_object_free(list);
  double t0 = now();
  for (int i = 0; i < many; i++) {
    char name[32];
    snprintf(name, sizeof name, "many-%d", i);
    kube_object_t *o = pod_object(name, "many");
    kube_object_free(
        kube_client_create(client, pods_kind, "default", o, NULL, NULL));
    kube_object_free(o);
  }
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = "bench=many",
                                   .resource_version = rv[0] ? rv : NULL,
                                   .timeout_seconds = 120};
  kube_client_watch(client, pods_kind, "default", &lo, count_running, &m, NULL);
  double all_s = now() - t0;
  usleep(500000); /* let the status writes settle before reading memory */
  long rss = proc_kb(kubed_pid, "status", "VmRSS");
  /* anonymous (heap, stacks) vs file-backed (program, libraries) */
  long rss_anon = proc_kb(kubed_pid, "status", "RssAnon");
  long rss_file = proc_kb(kubed_pid, "status", "RssFile");
  int nmon = 0, nconmon = 0;
  double mon_mb = sum_pss_mb(kubed_pid, NULL, NULL, &nmon);
  for (int i = 0; i < many; i++) {
    char name[32];
    snprintf(name, sizeof name, "many-%d", i);
    delete_pod(name);
  }
  if (!wait_no_pods(120))
    fprintf(stderr, "bench-node: pods still terminating after 120 s\n");
  fprintf(stderr, "bench-node: CNI ADD alone, %d times\n", n);
  double cni50 = -1, cni99 = cni_add_p99(n, &cni50);
  /* the peer */
  double *plat = calloc((size_t)n, sizeof *plat);
  int pk = 0, pok = 0;
  double pmany = -1, conmon_mb = -1;
  bool have_podman = podman_setup();
  if (have_podman) {
    fprintf(stderr, "bench-node: podman run -d, %d times, then %d\n", n, many);
    podman_clear();
    for (int i = 0; plat && i < n; i++) {
      double s = now();
      if (podman(run_args) == 0)
        plat[pk++] = (now() - s) * 1000;
      if (i % 20 == 19)
        podman_clear(); /* keep it as small as the node */
    }
    podman_clear();
    double s = now();
    pok = podman_at_once(run_args, many);
    pmany = now() - s;
    char needle[400];
    snprintf(needle, sizeof needle, "%s/podman", tmp);
    conmon_mb = sum_pss_mb(0, "conmon", needle, &nconmon);
    podman_clear();
    const char *rmi[] = {"rmi", "-a", "-f", NULL};
    podman(rmi);
  } else {
    fprintf(stderr, "bench-node: podman skipped: %s\n", podman_err);
  }
  double pp50 = pct(plat, pk, 0.5);
  double pp99 = pk >= 200 ? pct(plat, pk, 0.99) : -1;
  bool all_ran = m.seen == many, p_all = have_podman && pok == many;
  bool have_p = have_podman && pk > 0;

  printf("bench-node: %d samples, busybox:1.35.0 from the local store, no "
         "probes, wall time\n",
         k);
  printf("  libkube: kubed server (API, sqlite store, scheduler and node agent "
         "in one\n"
         "           process) in a network namespace of its own; timed from "
         "the POST of\n"
         "           the pod over HTTPS on loopback until a watch shows it "
         "Running with\n"
         "           its container started (CNI bridge network)\n");
  if (have_podman)
    printf("  podman:  `podman run -d` (podman %s, runc, overlay, cgroupfs, "
           "its own\n"
           "           CNI bridge network) in the same namespace; timed from "
           "the fork of the\n"
           "           CLI to its exit (container started); %d at once = %d "
           "CLIs started together\n",
           podman_version[0] ? podman_version : "?", many, many);
  else
    printf("  podman:  skipped (%s)\n", podman_err);
  printf("  %-46s %10s %10s %7s\n", "", "libkube", "podman", "ratio");
#define ROW(label, fmt, a, b, have_b)                                          \
  do {                                                                         \
    printf("  %-46s " fmt, label, a);                                          \
    if (have_b)                                                                \
      printf(" " fmt " %7.2f\n", b, (a) / (b));                                \
    else                                                                       \
      printf(" %10s %7s\n", "-", "-");                                         \
  } while (0)
  ROW("pod created -> Running, p50", "%7.1f ms", p50, pp50, have_p);
  if (p99 >= 0)
    ROW("pod created -> Running, p99", "%7.1f ms", p99, pp99,
        have_p && pp99 >= 0);
  else
    printf("  %-46s (fewer than 200 samples: not reported)\n",
           "pod created -> Running, p99");
  char many_lbl[96];
  snprintf(many_lbl, sizeof many_lbl, "%d pods created at once -> all Running",
           many);
  if (all_ran)
    ROW(many_lbl, "%8.2f s", all_s, pmany, p_all);
  else
    printf("  %-46s only %d of %d ran in 120 s\n", many_lbl, m.seen, many);
  snprintf(many_lbl, sizeof many_lbl, "kubed RSS with %d pods (API+store+agent)",
           many);
  printf("  %-46s %7.1f MB\n", many_lbl, rss / 1024.0);
  printf("  %-46s %7.1f MB\n", "  of which anonymous (heap, stacks)",
         rss_anon / 1024.0);
  printf("  %-46s %7.1f MB\n", "  of which files (program, libraries)",
         rss_file / 1024.0);
  char lbl[96];
  snprintf(lbl, sizeof lbl, "per-container monitors, Pss (%d / %d)", nmon,
           nconmon);
  ROW(lbl, "%7.1f MB", mon_mb, conmon_mb, have_podman && nconmon > 0);
  if (cni99 >= 0)
    printf("  %-46s %7.1f ms (p50 %.1f ms)\n",
           "CNI ADD alone (bridge+host-local+portmap), p99", cni99, cni50);
  else
    printf("  %-46s %7.1f ms (p99: fewer than 200 samples)\n",
           "CNI ADD alone (bridge+host-local+portmap), p50", cni50);
  if (json) {
    printf("{\"samples\":%d", k);
    json_num("pod_running_p50_ms", p50, k > 0);
    json_num("pod_running_p99_ms", p99, p99 >= 0);
    json_num("pods100_all_running_s", all_s, all_ran);
    printf(",\"pods100_running\":%d", m.seen);
    json_num("agent_rss_mb_100pods", rss / 1024.0, rss > 0);
    json_num("agent_rss_anon_mb_100pods", rss_anon / 1024.0, rss_anon > 0);
    json_num("agent_rss_file_mb_100pods", rss_file / 1024.0, rss_file > 0);
    json_num("monitors_pss_mb_100pods", mon_mb, nmon > 0);
    json_num("cni_add_p50_ms", cni50, cni50 >= 0);
    json_num("cni_add_p99_ms", cni99, cni99 >= 0);
    json_num("podman_run_p50_ms", pp50, have_p);
    json_num("podman_run_p99_ms", pp99, have_p && pp99 >= 0);
    json_num("podman_100_s", pmany, p_all);
    json_num("podman_conmon_pss_mb_100", conmon_mb, have_podman && nconmon > 0);
    json_num("ratio_pod_running_p50_vs_podman", pp50 > 0 ? p50 / pp50 : 0,
             have_p && k > 0);
    json_num("ratio_pod_running_p99_vs_podman", pp99 > 0 ? p99 / pp99 : 0,
             have_p && p99 >= 0 && pp99 > 0);
    json_num("ratio_pods100_vs_podman", pmany > 0 ? all_s / pmany : 0,
             p_all && all_ran);
    printf(",\"podman_skipped\":");
    if (have_podman)
      printf("null");
    else {
      putchar('"');
      for (const char *p = podman_err; *p; p++)
        if (*p == '"' || *p == '\\')
          printf("\\%c", *p);
        else if ((unsigned char)*p >= 0x20)
          putchar(*p);
      putchar('"');
    }
    printf("}\n");
  }
  kube_client_free(client);
  free(lat);
  free(plat);
  free(m.running);
  return 0;
}
