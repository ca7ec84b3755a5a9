/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privileged tests of the container runtime: real containers from a busybox
 * image (scripts/make-busybox-bundle.sh).  Needs root; skips (77) with the
 * reason when the kernel refuses namespaces or cgroups.
 *   test-runtime MAKE_BUNDLE_SCRIPT [TEST-NAME...]
 * Every test cleans up: containers are force-deleted by id, the state and
 * bundle dirs are removed, the cgroup parent is removed at the end.
 */
#include <pthread.h>

#include "rt-test.h"

/* ---- tests ----------------------------------------------------------------
 */

static int test_isolation(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh(
      "iso",
      "echo pid=$$; echo procs=$(ls -d /proc/[0-9]*) end; hostname; "
      "echo links=$(ls /sys/class/net | tr '\\n' ' '); "
      "grep -c . /proc/self/mountinfo; grep -q ' /sys/fs/cgroup/memory ' "
      "/proc/self/mountinfo && echo hostmounts || echo ownmounts");
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "iso", c, &out, &ex, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  CHECK(strstr(out, "pid=1\n"), "not pid 1");
  /* sh, the $( ) subshell and ls: nothing of the host */
  CHECK(strstr(out, "procs=/proc/1 "), "pid 1 missing from /proc");
  char *p = strstr(out, "procs=");
  int n = 0;
  for (char *e = strstr(p, " end");
       p && (p = strstr(p + 1, "/proc/")) && p < e;)
    n++;
  CHECK(n <= 3, "sees %d processes", n);
  CHECK(strstr(out, "kubetest\n"), "hostname");
  CHECK(strstr(out, "links=lo\n"), "host network visible");
  CHECK(strstr(out, "ownmounts"), "host mount table visible");
  CHECK(ex.exit_code == 0, "exit %d", ex.exit_code);
  free(out);
  return 0;
}

static int test_security(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh(
      "sec", "grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):' "
             "/proc/self/status; "
             "unshare -U true 2>&1; echo unshare=$?; "
             "mknod /dev/xda b 8 0 && { head -c 1 /dev/xda >/dev/null 2>&1 && "
             "echo dev-readable || echo dev-blocked; }; echo null-ok > "
             "/dev/null && echo null-ok");
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "sec", c, &out, &ex, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  char want[64];
  snprintf(want, sizeof want, "CapEff:\t%016llx\n",
           (unsigned long long)kube_caps_default());
  CHECK(strstr(out, want), "effective caps, want %s", want);
  snprintf(want, sizeof want, "CapBnd:\t%016llx\n",
           (unsigned long long)kube_caps_default());
  CHECK(strstr(out, want), "bounding caps");
  CHECK(strstr(out, "NoNewPrivs:\t1\n"), "no_new_privs");
  CHECK(strstr(out, "Seccomp:\t2\n"), "seccomp filter mode");
  CHECK(strstr(out, "Operation not permitted"),
        "unshare not blocked with EPERM");
  CHECK(!strstr(out, "unshare=0"), "unshare succeeded");
  CHECK(strstr(out, "null-ok\n"), "/dev/null unusable");
  if (strcmp(cg_mode, "v2") != 0)
    CHECK(strstr(out, "dev-blocked\n"), "a block device node is usable");
  free(out);
  return 0;
}

static int test_process_settings(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c =
      config_sh("proc", "id -u; id -g; id -G; pwd; echo foo=$FOO; ulimit -n; "
                        "cat /proc/self/oom_score_adj; "
                        "grep CapEff /proc/self/status");
  c->uid = 1000;
  c->gid = 1001;
  c->additional_gids = calloc(2, sizeof(gid_t));
  c->additional_gids[0] = 10;
  c->additional_gids[1] = 20;
  c->n_additional_gids = 2;
  free(c->cwd);
  c->cwd = strdup("/dev");
  c->env = realloc(c->env, (c->n_env + 2) * sizeof(char *));
  c->env[c->n_env++] = strdup("FOO=bar");
  c->env[c->n_env] = NULL;
  c->rlimits[0].soft = c->rlimits[0].hard = 321;
  c->has_oom_score_adj = true;
  c->oom_score_adj = 345;
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "proc", c, &out, &ex, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  CHECK(strncmp(out, "1000\n1001\n", 10) == 0, "uid/gid");
  CHECK(strstr(out, "1001 10 20\n") || strstr(out, "10 20 1001\n"), "groups");
  CHECK(strstr(out, "\n/dev\n"), "cwd");
  CHECK(strstr(out, "foo=bar\n"), "env");
  CHECK(strstr(out, "\n321\n"), "rlimit");
  CHECK(strstr(out, "\n345\n"), "oom_score_adj");
  CHECK(strstr(out, "CapEff:\t0000000000000000"),
        "a non-root user keeps capabilities");
  free(out);
  return 0;
}

static void *idle_thread(void *arg) {
  char c;
  while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
    ;
  return NULL;
}

/* The same user switch from a process with other threads (kubed has worker
 * threads): the child of the raw clone3 must not wait for them. */
static int test_threaded_caller(kube_runtime_t *rt) {
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  pthread_t th;
  CHECK(pthread_create(&th, NULL, idle_thread, &p[0]) == 0, "thread");
  int rc = test_process_settings(rt);
  close(p[1]);
  pthread_join(th, NULL);
  close(p[0]);
  return rc;
}

static int test_exit_codes(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("exit", "exit 42");
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "exit", c, &out, &ex, &err);
  kube_rt_config_free(c);
  free(out);
  CHECK_OK(rc, &err);
  CHECK(ex.exit_code == 42 && ex.signal == 0, "exit %d signal %d", ex.exit_code,
        ex.signal);
  CHECK(strcmp(ex.reason, "Error") == 0, "reason %s", ex.reason);
  return 0;
}

static int test_oom(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  /* tail keeps the (endless, newline-free) line in memory. */
  kube_rt_config_t *c = config_sh("oom", "tail /dev/zero; echo survived");
  c->resources.memory_limit = 32 << 20;
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "oom", c, &out, &ex, &err);
  kube_rt_config_free(c);
  free(out);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  exit %d signal %d reason %s\n", ex.exit_code, ex.signal,
          ex.reason);
  CHECK(ex.oom_killed, "not reported as OOM killed");
  CHECK(strcmp(ex.reason, "OOMKilled") == 0, "reason %s", ex.reason);
  CHECK(!cgroup_exists("oom"), "cgroup left behind");
  return 0;
}

static int test_pids_limit(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  /* The bomb runs in a subshell that dies when fork fails; init then
   * execs (no fork needed) so the container stays up to be inspected. */
  kube_rt_config_t *c = config_sh(
      "pids", "(i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done); "
              "echo bomb-stopped; exec sleep 30");
  c->resources.pids_limit = 16;
  char log[600];
  snprintf(log, sizeof log, "%s/pids.log", tmpdir);
  kube_rt_io_t io = {-1, -1, -1, log};
  int rc = kube_runtime_run(rt, "pids", c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  char *text = NULL;
  for (int i = 0; i < 1000; i++) { /* until the bomb has hit the wall */
    usleep(10000);
    free(text);
    text = slurp(log);
    if (strstr(text, "bomb-stopped"))
      break;
  }
  usleep(50000);
  kube_rt_stats_t st = {0};
  rc = kube_runtime_stats(rt, "pids", &st, &err);
  kube_rt_state_t cs;
  int rc2 = kube_runtime_state(rt, "pids", &cs, &err);
  pid_t pid = rc2 == 0 ? cs.pid : 0;
  kube_rt_status_t status = cs.status;
  kube_rt_state_clear(&cs);
  fprintf(stderr, "  pids.current=%llu\n", (unsigned long long)st.pids_current);
  force_delete(rt, "pids");
  CHECK_OK(rc, &err);
  CHECK(status == KUBE_RT_RUNNING, "container died: %s", text);
  CHECK(strstr(text, "can't fork"), "fork never failed: %s", text);
  CHECK(st.pids_current >= 14 && st.pids_current <= 16, "pids %llu, limit 16",
        (unsigned long long)st.pids_current);
  CHECK(pid > 0 && kill(pid, 0) < 0, "init still alive after delete");
  CHECK(!cgroup_exists("pids"), "cgroup left behind");
  CHECK(!state_exists("pids"), "state left behind");
  free(text);
  return 0;
}

/* A "cgroup" mount shows the container its own cgroup, read-only. */
static int test_cgroup_mount(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh(
      "cgmount",
      "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max "
      "2>/dev/null; echo 5 > /sys/fs/cgroup/pids/pids.max 2>/dev/null "
      "|| echo 5 > /sys/fs/cgroup/pids.max 2>/dev/null || echo ro");
  c->resources.pids_limit = 77;
  c->mounts = realloc(c->mounts, (c->n_mounts + 1) * sizeof *c->mounts);
  kube_rt_mount_t *m = &c->mounts[c->n_mounts++];
  memset(m, 0, sizeof *m);
  m->destination = strdup("/sys/fs/cgroup");
  m->type = strdup("cgroup");
  m->source = strdup("cgroup");
  m->options = strv("nosuid", "noexec", "nodev", "ro", NULL);
  m->n_options = 4;
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "cgmount", c, &out, &ex, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  if (strcmp(cg_mode, "v2") != 0 || strstr(out, "77"))
    CHECK(strstr(out, "77\n"), "own pids.max not visible");
  CHECK(strstr(out, "ro\n"), "cgroup mount writable");
  free(out);
  return 0;
}

static int test_cpu_limits(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("cpu", "true");
  c->resources.cpu_quota = 20000;
  c->resources.cpu_period = 100000;
  c->resources.cpu_shares = 256;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_create(rt, "cpu", c, &io, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  char path[256];
  char *q, *s;
  if (strcmp(cg_mode, "v2") == 0) {
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s/cpu/cpu.max", cg_parent);
    q = slurp(path);
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s/cpu/cpu.weight", cg_parent);
    s = slurp(path);
    force_delete(rt, "cpu");
    CHECK(strcmp(q, "20000 100000\n") == 0, "cpu.max %s", q);
    CHECK(strcmp(s, "10\n") == 0, "cpu.weight %s", s);
  } else {
    snprintf(path, sizeof path, "/sys/fs/cgroup/cpu/%s/cpu/cpu.cfs_quota_us",
             cg_parent);
    q = slurp(path);
    snprintf(path, sizeof path, "/sys/fs/cgroup/cpu/%s/cpu/cpu.shares",
             cg_parent);
    s = slurp(path);
    force_delete(rt, "cpu");
    CHECK(strcmp(q, "20000\n") == 0, "cfs_quota_us %s", q);
    CHECK(strcmp(s, "256\n") == 0, "shares %s", s);
  }
  free(q);
  free(s);
  CHECK(!cgroup_exists("cpu"), "cgroup left behind");
  return 0;
}

static int test_lifecycle(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("life", "echo started > /dev/null; sleep 30");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_create(rt, "life", c, &io, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt, "life", &st, &err), &err);
  CHECK(st.status == KUBE_RT_CREATED && st.pid > 0, "status %s",
        kube_rt_status_string(st.status));
  pid_t pid = st.pid;
  kube_rt_state_clear(&st);
  kube_rt_config_t *dup = config_sh("life", "true");
  rc = kube_runtime_create(rt, "life", dup, &io, &err);
  kube_rt_config_free(dup);
  CHECK(rc < 0 && err.reason == KUBE_REASON_ALREADY_EXISTS,
        "duplicate create not refused");
  kube_error_clear(&err);
  CHECK_OK(kube_runtime_start(rt, "life", &err), &err);
  CHECK_OK(kube_runtime_state(rt, "life", &st, &err), &err);
  CHECK(st.status == KUBE_RT_RUNNING, "status %s",
        kube_rt_status_string(st.status));
  kube_rt_state_clear(&st);
  /* pause / resume through the freezer */
  CHECK_OK(kube_runtime_pause(rt, "life", &err), &err);
  CHECK_OK(kube_runtime_state(rt, "life", &st, &err), &err);
  CHECK(st.status == KUBE_RT_PAUSED, "status %s after pause",
        kube_rt_status_string(st.status));
  kube_rt_state_clear(&st);
  CHECK_OK(kube_runtime_resume(rt, "life", &err), &err);
  kube_rt_stats_t stats;
  CHECK_OK(kube_runtime_stats(rt, "life", &stats, &err), &err);
  CHECK(stats.memory_usage_bytes > 0 && stats.pids_current >= 1,
        "stats mem %llu pids %llu",
        (unsigned long long)stats.memory_usage_bytes,
        (unsigned long long)stats.pids_current);
  CHECK(kube_runtime_delete(rt, "life", false, &err) < 0 &&
            err.reason == KUBE_REASON_CONFLICT,
        "delete of a running container without force");
  kube_error_clear(&err);
  CHECK_OK(kube_runtime_kill(rt, "life", SIGKILL, false, &err), &err);
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, "life", 5000, &ex, &err), &err);
  CHECK(ex.exit_code == 137 && ex.signal == SIGKILL, "exit %d", ex.exit_code);
  CHECK_OK(kube_runtime_state(rt, "life", &st, &err), &err);
  CHECK(st.status == KUBE_RT_STOPPED && st.exited && st.exit.exit_code == 137,
        "state after kill");
  kube_rt_state_clear(&st);
  CHECK_OK(kube_runtime_delete(rt, "life", false, &err), &err);
  CHECK(kill(pid, 0) < 0, "process left");
  CHECK(!cgroup_exists("life"), "cgroup left");
  CHECK(!state_exists("life"), "state left");
  CHECK(!host_mount_mentions(rootfs), "mount left on the host");
  CHECK(kube_runtime_state(rt, "life", &st, &err) < 0 &&
            err.reason == KUBE_REASON_NOT_FOUND,
        "state of a deleted container");
  kube_error_clear(&err);
  return 0;
}

static int test_join_netns(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *a = config_sh("neta", "sleep 30");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, "neta", a, &io, NULL, &err);
  kube_rt_config_free(a);
  CHECK_OK(rc, &err);
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt, "neta", &st, &err), &err);
  char nspath[64], want[64] = "";
  snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", (int)st.pid);
  kube_rt_state_clear(&st);
  ssize_t n = readlink(nspath, want, sizeof want - 1);
  if (n > 0)
    want[n] = 0;
  kube_rt_config_t *b = config_sh("netb", "readlink /proc/self/ns/net");
  for (size_t i = 0; i < b->n_namespaces; i++)
    if (b->namespaces[i].type == KUBE_NS_NETWORK)
      b->namespaces[i].path = strdup(nspath);
  char *out = NULL;
  kube_rt_exit_t ex;
  rc = run_capture(rt, "netb", b, &out, &ex, &err);
  kube_rt_config_free(b);
  force_delete(rt, "neta");
  CHECK_OK(rc, &err);
  fprintf(stderr, "  want %s got %s", want, out);
  CHECK(n > 0 && strncmp(out, want, strlen(want)) == 0,
        "network namespace not shared");
  free(out);
  return 0;
}

static int test_adopt(kube_runtime_t *rt_unused) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt1 = kube_runtime_new(state_root, &err);
  CHECK(rt1, "%s", err.message);
  kube_rt_config_t *c = config_sh("adopt", "sleep 1; exit 7");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt1, "adopt", c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  kube_runtime_free(rt1); /* the container keeps running */
  kube_runtime_t *rt2 = kube_runtime_new(state_root, &err);
  CHECK(rt2, "%s", err.message);
  char **ids = NULL;
  size_t n = 0;
  CHECK_OK(kube_runtime_list(rt2, &ids, &n, &err), &err);
  bool found = false;
  for (size_t i = 0; i < n; i++) {
    found |= strcmp(ids[i], "adopt") == 0;
    free(ids[i]);
  }
  free(ids);
  CHECK(found, "adopted container not listed");
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt2, "adopt", &st, &err), &err);
  CHECK(st.status == KUBE_RT_RUNNING, "status %s",
        kube_rt_status_string(st.status));
  kube_rt_state_clear(&st);
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt2, "adopt", 10000, &ex, &err), &err);
  CHECK(ex.exit_code == 7, "exit %d", ex.exit_code);
  CHECK_OK(kube_runtime_delete(rt2, "adopt", false, &err), &err);
  kube_runtime_free(rt2);
  CHECK(!cgroup_exists("adopt"), "cgroup left");
  return 0;
}

/* A field of <state>/<id>/state ("monitor_pid"), or -1. */
static long state_field(const char *id, const char *key) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/state", state_root, id);
  char *t = slurp(path);
  char want[64];
  snprintf(want, sizeof want, "\n%s=", key);
  char *p = strstr(t, want);
  long v = p ? strtol(p + strlen(want), NULL, 10) : -1;
  free(t);
  return v;
}

/* Pss of a process in kB (smaps_rollup), or -1. */
static long pss_kb(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/smaps_rollup", pid);
  char *t = slurp(path);
  char *p = strstr(t, "\nPss:");
  long v = p ? strtol(p + 5, NULL, 10) : -1;
  free(t);
  return v;
}

/* One container with a log and an attach socket kept by its monitor: the
 * monitor is the kube-monitor helper (not a fork of this process), or,
 * with KUBE_MONITOR_HELPER=none, the fork itself; either way the output
 * reaches the log and attach, and SIGKILL is recorded as exit 137. */
static int monitor_case(const char *id, bool helper) {
  kube_error_t err = KUBE_ERROR_INIT;
  setenv("KUBE_MONITOR_HELPER", helper ? "" : "none", 1);
  kube_runtime_t *rt = kube_runtime_new(state_root, &err);
  unsetenv("KUBE_MONITOR_HELPER");
  CHECK(rt, "%s", err.message);
  kube_rt_config_t *c =
      config_sh(id, "echo started; while read l; do echo got $l; done");
  char log[600];
  snprintf(log, sizeof log, "%s/%s.log", tmpdir, id);
  kube_rt_io_t io = {-1, -1, -1, log};
  io.open_stdin = true;
  int rc = kube_runtime_run(rt, id, c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  long mon = state_field(id, "monitor_pid");
  CHECK(mon > 0, "no monitor_pid in the state");
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/comm", mon);
  char *comm = slurp(path);
  long pss = pss_kb(mon);
  fprintf(stderr, "  %s: monitor %ld is %s  Pss %ld kB\n", id, mon,
          strtok(comm, "\n") ? comm : "?", pss);
  bool is_helper = strcmp(comm, "kube-monitor") == 0;
  free(comm);
  CHECK(is_helper == helper, "monitor is %s the helper", helper ? "not" : "");
  kube_rt_attach_t *a = NULL;
  kube_attach_options_t ao = {sizeof ao, true, true, true};
  CHECK_OK(kube_runtime_attach(rt, id, &ao, &a, &err), &err);
  CHECK_OK(kube_rt_attach_write(a, "ping\n", 5, &err), &err);
  char out[256] = "";
  size_t ol = 0;
  for (int i = 0; i < 500 && !strstr(out, "got ping\n"); i++) {
    int stream = 0;
    ssize_t n = kube_rt_attach_read(a, &stream, out + ol, sizeof out - ol - 1,
                                    10, &err);
    kube_error_clear(&err);
    if (n > 0)
      out[ol += (size_t)n] = '\0';
    if (n == 0)
      break;
  }
  kube_rt_attach_free(a);
  CHECK(strstr(out, "got ping\n"), "attach: no echo of stdin (got \"%s\")", out);
  CHECK_OK(kube_runtime_kill(rt, id, SIGKILL, false, &err), &err);
  kube_rt_exit_t ex;
  CHECK_OK(kube_runtime_wait(rt, id, 10000, &ex, &err), &err);
  CHECK(ex.exit_code == 137 && ex.signal == SIGKILL, "exit %d signal %d",
        ex.exit_code, ex.signal);
  CHECK(!strcmp(ex.reason, "Error"), "reason %s", ex.reason);
  CHECK_OK(kube_runtime_delete(rt, id, false, &err), &err);
  kube_runtime_free(rt);
  char *text = slurp(log);
  bool logged = strstr(text, "Z stdout F started\n") &&
                strstr(text, "Z stdout F got ping\n");
  free(text);
  CHECK(logged, "log lines missing");
  CHECK(!cgroup_exists(id), "cgroup left");
  return 0;
}

static int test_monitor_helper(kube_runtime_t *rt_unused) {
  if (monitor_case("mon-helper", true) < 0)
    return -1;
  return monitor_case("mon-fork", false);
}

static int test_logs(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c =
      config_sh("logs", "echo hello out; echo hello err >&2; printf tail");
  char log[600];
  snprintf(log, sizeof log, "%s/logs.log", tmpdir);
  kube_rt_io_t io = {-1, -1, -1, log};
  kube_rt_exit_t ex;
  int rc = kube_runtime_run(rt, "logs", c, &io, &ex, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  force_delete(rt, "logs");
  char *text = slurp(log);
  fprintf(stderr, "  log:\n%s", text);
  CHECK(strstr(text, "Z stdout F hello out\n"), "stdout line");
  CHECK(strstr(text, "Z stderr F hello err\n"), "stderr line");
  CHECK(strstr(text, "Z stdout F tail\n"), "unterminated last line");
  CHECK(text[0] >= '2' && text[4] == '-' && text[10] == 'T', "timestamp");
  free(text);
  return 0;
}

static int test_exec(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("exec", "sleep 30");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, "exec", c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  char path[600];
  snprintf(path, sizeof path, "%s/exec.out", tmpdir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  char *args[] = {"/bin/sh", "-c",
                  "hostname; echo init=$(tr '\\0' ' ' < /proc/1/cmdline); "
                  "grep NoNewPrivs /proc/self/status; exit 5",
                  NULL};
  kube_exec_options_t o = {
      .struct_size = sizeof o, .args = args, .io = {-1, fd, fd, NULL}};
  kube_rt_exit_t ex;
  rc = kube_runtime_exec(rt, "exec", &o, NULL, &ex, &err);
  close(fd);
  char *out = slurp(path);
  force_delete(rt, "exec");
  CHECK_OK(rc, &err);
  fprintf(stderr, "  exec output: %s", out);
  CHECK(ex.exit_code == 5, "exec exit %d", ex.exit_code);
  CHECK(strstr(out, "kubetest\n"), "exec not in the uts namespace");
  CHECK(strstr(out, "init=sleep 30\n"), "exec not in the pid namespace");
  CHECK(strstr(out, "NoNewPrivs:\t1"), "exec without no_new_privs");
  free(out);
  return 0;
}

static void on_exit_cb(const char *id, const kube_rt_exit_t *e, void *ud) {
  *(int *)ud = e->exit_code;
}

static int test_wait_async(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh("async", "sleep 0.2; exit 3");
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, "async", c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  int code = -1;
  rc = kube_runtime_wait_async(rt, "async", base_loop, on_exit_cb, &code, &err);
  if (rc == 0)
    event_base_dispatch(base);
  kube_loop_free(base_loop);
  force_delete(rt, "async");
  CHECK_OK(rc, &err);
  CHECK(code == 3, "async exit %d", code);
  return 0;
}

/* Each bad config fails with an error naming the field and leaves nothing. */
static int expect_bad(kube_runtime_t *rt, const char *id, kube_rt_config_t *c,
                      const char *field) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_create(rt, id, c, &io, &err);
  kube_rt_config_free(c);
  if (rc == 0)
    force_delete(rt, id);
  CHECK(rc < 0, "%s: accepted", field);
  fprintf(stderr, "  %s -> %s\n", field, err.message);
  CHECK(strstr(err.message, field), "error does not name %s", field);
  kube_error_clear(&err);
  CHECK(!state_exists(id), "state left");
  CHECK(!cgroup_exists(id), "cgroup left");
  return 0;
}

static int expect_bad_json(const char *json, const char *field) {
  kube_error_t err = KUBE_ERROR_INIT;
  char bundle[600];
  snprintf(bundle, sizeof bundle, "%s/bundle", tmpdir);
  kube_rt_config_t *c = kube_rt_config_parse(json, bundle, &err);
  kube_rt_config_free(c);
  CHECK(!c, "%s: accepted", field);
  fprintf(stderr, "  %s -> %s\n", field, err.message);
  CHECK(err.reason == KUBE_REASON_INVALID, "reason");
  CHECK(strstr(err.message, field), "error does not name %s", field);
  kube_error_clear(&err);
  return 0;
}

static int test_bad_configs(kube_runtime_t *rt) {
  kube_rt_config_t *c = config_sh("bad1", "true");
  free(c->root_path);
  c->root_path = strdup("/nonexistent/rootfs");
  if (expect_bad(rt, "bad1", c, "root.path"))
    return 1;
  c = config_sh("bad2", "true");
  free(c->mounts[0].type);
  c->mounts[0].type = strdup("nosuchfs");
  if (expect_bad(rt, "bad2", c, "mounts[0]"))
    return 1;
  c = config_sh("bad3", "true");
  c->args[0][1] = 'x'; /* "/xin/sh" */
  if (expect_bad(rt, "bad3", c, "process.args[0]"))
    return 1;
  c = config_sh("bad4", "true");
  c->resources.cpuset_cpus = strdup("999");
  if (expect_bad(rt, "bad4", c, "linux.resources.cpu.cpus"))
    return 1;
  char json[2048];
  const char *pre = "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
                    "\"process\":{\"args\":[\"/bin/true\"]}";
  snprintf(json, sizeof json,
           "%s,\"linux\":{\"namespaces\":[{\"type\":\"pidx\"}]}}", pre);
  if (expect_bad_json(json, "linux.namespaces[0].type"))
    return 1;
  snprintf(json, sizeof json,
           "%s,\"linux\":{\"resources\":{\"memory\":{\"limit\":-5}}}}", pre);
  if (expect_bad_json(json, "linux.resources.memory.limit"))
    return 1;
  snprintf(json, sizeof json,
           "%s,\"mounts\":[{\"destination\":\"/"
           "x\",\"type\":\"bind\",\"source\":\"/nonexistent\","
           "\"options\":[\"rbind\"]}]}",
           pre);
  if (expect_bad_json(json, "mounts[0].source"))
    return 1;
  snprintf(json, sizeof json,
           "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"missing\"},"
           "\"process\":{\"args\":[\"/bin/true\"]}}");
  if (expect_bad_json(json, "root.path"))
    return 1;
  snprintf(json, sizeof json,
           "%s,\"linux\":{\"resources\":{\"cpu\":{\"quota\":5}}}}", pre);
  if (expect_bad_json(json, "linux.resources.cpu.quota"))
    return 1;
  return 0;
}

static int test_userns(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = config_sh(
      "userns", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox; "
                "cat /proc/sys/net/ipv4/ip_unprivileged_port_start");
  c->namespaces =
      realloc(c->namespaces, (c->n_namespaces + 1) * sizeof *c->namespaces);
  c->namespaces[c->n_namespaces++] = (kube_rt_namespace_t){KUBE_NS_USER, NULL};
  c->uid_mappings = calloc(1, sizeof *c->uid_mappings);
  c->gid_mappings = calloc(1, sizeof *c->gid_mappings);
  c->uid_mappings[0] = c->gid_mappings[0] =
      (kube_rt_id_map_t){0, 200000, 65536};
  c->n_uid_mappings = c->n_gid_mappings = 1;
  c->sysctl_keys = calloc(2, sizeof(char *));
  c->sysctl_values = calloc(2, sizeof(char *));
  c->sysctl_keys[0] = strdup("net.ipv4.ip_unprivileged_port_start");
  c->sysctl_values[0] = strdup("80");
  c->n_sysctl = 1;
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "userns", c, &out, &ex, &err);
  kube_rt_config_free(c);
  if (rc < 0 && err.errnum == EINVAL && strstr(err.message, "clone3")) {
    fprintf(stderr, "  user namespaces refused by this kernel: skipped\n");
    kube_error_clear(&err);
    free(out);
    return 0;
  }
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  CHECK(strncmp(out, "0\n", 2) == 0, "not root inside");
  CHECK(strstr(out, "200000"), "uid map");
  CHECK(strstr(out, "\n65534\n"),
        "host root files should be unmapped (nobody)");
  CHECK(strstr(out, "\n80\n"), "sysctl not applied");
  free(out);
  return 0;
}

static int test_bind_mount(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  char src[600], file[700];
  snprintf(src, sizeof src, "%s/shared", tmpdir);
  mkdir(src, 0755);
  snprintf(file, sizeof file, "%s/hello.txt", src);
  FILE *f = fopen(file, "we");
  fputs("from-host\n", f);
  fclose(f);
  kube_rt_config_t *c = config_sh(
      "bind",
      "cat /data/hello.txt; echo x > /data/new 2>/dev/null && echo writable || "
      "echo readonly; echo y > /scratch/t && echo tmp-writable; "
      "echo z > /etc/z 2>/dev/null || echo root-readonly");
  c->mounts = realloc(c->mounts, (c->n_mounts + 3) * sizeof *c->mounts);
  kube_rt_mount_t *m = &c->mounts[c->n_mounts++];
  memset(m, 0, sizeof *m);
  m->destination = strdup("/data");
  m->type = strdup("bind");
  m->source = strdup(src);
  m->options = strv("rbind", "ro", "rprivate", NULL);
  m->n_options = 3;
  m = &c->mounts[c->n_mounts++];
  memset(m, 0, sizeof *m);
  m->destination = strdup("/scratch");
  m->type = strdup("tmpfs");
  m->source = strdup("tmpfs");
  m->options = strv("nosuid", "size=1m", NULL);
  m->n_options = 2;
  /* A hostile image: /evil points at a host directory; a mount below it
   * must land inside the rootfs, never on the host. */
  char host_dir[700], evil[700], host_probe[800];
  snprintf(host_dir, sizeof host_dir, "%s/host-only", tmpdir);
  mkdir(host_dir, 0755);
  snprintf(evil, sizeof evil, "%s/evil", rootfs);
  unlink(evil);
  if (symlink(host_dir, evil) < 0)
    CHECK(0, "symlink: %s", strerror(errno));
  char mk[2048]; /* the same path inside the rootfs, where it must resolve */
  snprintf(mk, sizeof mk, "mkdir -p '%s%s'", rootfs, host_dir);
  CHECK(system(mk) == 0, "mkdir");
  m = &c->mounts[c->n_mounts++];
  memset(m, 0, sizeof *m);
  m->destination = strdup("/evil/x");
  m->type = strdup("tmpfs");
  m->source = strdup("tmpfs");
  char *out = NULL;
  kube_rt_exit_t ex;
  int rc = run_capture(rt, "bind", c, &out, &ex, &err);
  kube_rt_config_free(c);
  unlink(evil);
  snprintf(host_probe, sizeof host_probe, "%s/x", host_dir);
  CHECK(access(host_probe, F_OK) != 0,
        "mount point created outside the rootfs");
  CHECK_OK(rc, &err);
  fprintf(stderr, "  output: %s", out);
  CHECK(strstr(out, "from-host\n"), "bind content");
  CHECK(strstr(out, "readonly\n"), "ro bind is writable");
  CHECK(strstr(out, "tmp-writable\n"), "tmpfs");
  CHECK(strstr(out, "root-readonly\n"), "read-only root");
  char leaked[700];
  snprintf(leaked, sizeof leaked, "%s/data", rootfs);
  CHECK(!host_mount_mentions(leaked), "mount leaked to the host");
  free(out);
  return 0;
}

/* A create that died half-way: the state names the cgroup; a forced
 * delete removes both. */
static int test_half_created(kube_runtime_t *rt) {
  kube_error_t err = KUBE_ERROR_INIT;
  char dir[700];
  snprintf(dir, sizeof dir, "%s/half", state_root);
  CHECK(mkdir(dir, 0700) == 0, "mkdir");
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct rt_state pre;
  memset(&pre, 0, sizeof pre);
  snprintf(pre.id, sizeof pre.id, "half");
  snprintf(pre.cgroup_path, sizeof pre.cgroup_path, "%s/half", cg_parent);
  CHECK_OK(rt_state_write(dfd, &pre, &err), &err);
  close(dfd);
  struct cg_layout layout;
  CHECK_OK(rt_cg_detect(&layout, &err), &err);
  struct cg_handle h;
  rt_cg_handle_init(&h, &layout, pre.cgroup_path);
  kube_rt_resources_t res = {-1, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0};
  CHECK_OK(rt_cg_ops_for(&layout)->create(&h, &res, &err), &err);
  rt_cg_handle_close(&h);
  CHECK(cgroup_exists("half"), "cgroup not made");
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt, "half", &st, &err), &err);
  CHECK(st.status == KUBE_RT_CREATING, "status %s",
        kube_rt_status_string(st.status));
  kube_rt_state_clear(&st);
  CHECK(kube_runtime_delete(rt, "half", false, &err) < 0 &&
            err.reason == KUBE_REASON_CONFLICT,
        "delete without force");
  kube_error_clear(&err);
  CHECK_OK(kube_runtime_delete(rt, "half", true, &err), &err);
  CHECK(!cgroup_exists("half"), "cgroup left");
  CHECK(!state_exists("half"), "state left");
  return 0;
}

/* The other cgroup modes, in a child with a private mount namespace: v1
 * (the cgroup2 mount removed) and v2 (cgroup2 mounted on /sys/fs/cgroup;
 * this machine's cgroup2 has no memory/cpu/pids controllers, so v2 runs
 * without limits).  Returns 77 from the child when the layout does not
 * allow the mode. */
static int mode_child(const char *mode) {
  if (enter_cgroup_mode(mode) < 0)
    return 77;
  kube_error_t err = KUBE_ERROR_INIT;
  char root[600];
  snprintf(root, sizeof root, "%s/state-%s", tmpdir, mode);
  kube_runtime_t *rt = kube_runtime_new(root, &err);
  CHECK(rt, "%s", err.message);
  CHECK(strcmp(kube_runtime_cgroup_mode(rt), mode) == 0, "detected %s",
        kube_runtime_cgroup_mode(rt));
  cg_mode = mode;
  /* device access is limited in every mode (v2: a BPF device program) */
  kube_rt_config_t *d =
      config_sh("dev", "mknod /dev/xda b 8 0 && "
                       "{ head -c 1 /dev/xda >/dev/null 2>&1 && "
                       "echo dev-readable || echo dev-blocked; }; "
                       "head -c 1 /dev/zero 2>/dev/null | wc -c; "
                       "head -c 1 /dev/full | wc -c");
  /* a config rule on top of the defaults: /dev/zero (c 1:5) denied */
  d->resources.device_rules = calloc(1, sizeof *d->resources.device_rules);
  d->resources.device_rules[0] =
      (kube_rt_device_rule_t){false, 'c', 1, 5, "rwm"};
  d->resources.n_device_rules = 1;
  char *dout = NULL;
  kube_rt_exit_t dex;
  int drc = run_capture(rt, "dev", d, &dout, &dex, &err);
  kube_rt_config_free(d);
  CHECK_OK(drc, &err);
  fprintf(stderr, "  %s devices: %s", mode, dout);
  CHECK(strstr(dout, "dev-blocked\n0\n1\n"), "device rules in %s", mode);
  free(dout);
  kube_rt_config_t *c = config_sh(mode, "sleep 30");
  bool v1 = strcmp(mode, "v1") == 0;
  if (v1) {
    c->resources.cpu_quota = 30000;
    c->resources.memory_limit = 64 << 20;
    c->resources.pids_limit = 32;
  }
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  int rc = kube_runtime_run(rt, mode, c, &io, NULL, &err);
  kube_rt_config_free(c);
  CHECK_OK(rc, &err);
  char path[256];
  if (v1) {
    snprintf(path, sizeof path,
             "/sys/fs/cgroup/memory/%s/v1/memory.limit_in_bytes", cg_parent);
    char *m = slurp(path);
    CHECK(strcmp(m, "67108864\n") == 0, "memory limit %s", m);
    free(m);
  } else {
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s/v2/cgroup.procs", cg_parent);
    char *procs = slurp(path);
    CHECK(procs[0] >= '1' && procs[0] <= '9', "not in the v2 cgroup");
    free(procs);
  }
  CHECK_OK(kube_runtime_pause(rt, mode, &err), &err);
  kube_rt_state_t st;
  CHECK_OK(kube_runtime_state(rt, mode, &st, &err), &err);
  CHECK(st.status == KUBE_RT_PAUSED, "not paused: %s",
        kube_rt_status_string(st.status));
  kube_rt_state_clear(&st);
  CHECK_OK(kube_runtime_resume(rt, mode, &err), &err);
  CHECK_OK(kube_runtime_delete(rt, mode, true, &err), &err);
  CHECK(!cgroup_exists(mode), "cgroup left");
  kube_runtime_free(rt);
  snprintf(path, sizeof path, "/sys/fs/cgroup/%s", cg_parent);
  rmdir(path);
  return 0;
}

static int test_cgroup_v1(kube_runtime_t *rt) {
  return run_in_mode("v1", mode_child);
}
static int test_cgroup_v2(kube_runtime_t *rt) {
  return run_in_mode("v2", mode_child);
}

/* ---- main
 * ---------------------------------------------------------------------- */

static const struct rt_test tests[] = {
    {"isolation", test_isolation},
    {"security", test_security},
    {"exit-codes", test_exit_codes},
    {"lifecycle", test_lifecycle},
    {"process", test_process_settings},
    {"threaded-caller", test_threaded_caller},
    {"oom", test_oom},
    {"pids-limit", test_pids_limit},
    {"cpu-limits", test_cpu_limits},
    {"cgroup-mount", test_cgroup_mount},
    {"join-netns", test_join_netns},
    {"adopt", test_adopt},
    {"logs", test_logs},
    {"monitor-helper", test_monitor_helper},
    {"exec", test_exec},
    {"wait-async", test_wait_async},
    {"bad-configs", test_bad_configs},
    {"userns", test_userns},
    {"bind-mount", test_bind_mount},
    {"half-created", test_half_created},
    {"cgroup-v1", test_cgroup_v1},
    {"cgroup-v2", test_cgroup_v2},
};

int main(int argc, char **argv) {
  return rt_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
