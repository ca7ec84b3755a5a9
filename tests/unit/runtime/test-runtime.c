/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the runtime that need no privileges: config parsing and
 * validation, JSON round trip, capabilities, seccomp compilation, cgroup
 * detection, state files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "runtime/internal.h"

static char bundle[256];

static int setup(void **state) {
  snprintf(bundle, sizeof bundle, "/tmp/kube-rt-unit-XXXXXX");
  if (!mkdtemp(bundle))
    return -1;
  char p[300];
  snprintf(p, sizeof p, "%s/rootfs", bundle);
  return mkdir(p, 0755);
}

static int teardown(void **state) {
  char p[300];
  snprintf(p, sizeof p, "%s/rootfs", bundle);
  rmdir(p);
  rmdir(bundle);
  return 0;
}

static const char *full_config =
    "{\"ociVersion\":\"1.0.2\","
    "\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"echo "
    "hi\"],\"env\":[\"PATH=/bin\",\"A=b\"],"
    "\"cwd\":\"/"
    "tmp\",\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6]},"
    "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":"
    "[\"CAP_KILL\"],"
    "\"permitted\":[\"CAP_KILL\"],\"ambient\":[]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":2048,\"soft\":1024}],"
    "\"noNewPrivileges\":true,\"oomScoreAdj\":500},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h1\","
    "\"mounts\":[{\"destination\":\"/"
    "proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/"
    "tmp\",\"options\":[\"rbind\",\"ro\",\"rprivate\"]}],"
    "\"linux\":{\"cgroupsPath\":\"/x/"
    "y\",\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},"
    "{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"},{\"type\":\"uts\"}],"
    "\"resources\":{\"memory\":{\"limit\":67108864},\"cpu\":{\"shares\":512,"
    "\"quota\":50000,"
    "\"period\":100000,\"cpus\":\"0\"},\"pids\":{\"limit\":64},"
    "\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,"
    "\"access\":\"rw\"}]},"
    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"maskedPaths\":[\"/proc/"
    "kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
    "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
    "\"names\":[\"mount\","
    "\"nosuchsyscall\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},{"
    "\"names\":[\"personality\"],"
    "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":8,\"op\":"
    "\"SCMP_CMP_NE\"}]}]}}}";

static void check_full(const kube_rt_config_t *c) {
  assert_non_null(c);
  assert_true(str_has_suffix(c->root_path, "/rootfs"));
  assert_true(c->root_readonly);
  assert_string_equal(c->hostname, "h1");
  assert_int_equal(c->n_args, 3);
  assert_string_equal(c->args[2], "echo hi");
  assert_null(c->args[3]);
  assert_int_equal(c->n_env, 2);
  assert_string_equal(c->cwd, "/tmp");
  assert_int_equal(c->uid, 1000);
  assert_int_equal(c->gid, 100);
  assert_int_equal(c->n_additional_gids, 2);
  assert_int_equal(c->caps.bounding, (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL));
  assert_int_equal(c->caps.effective, 1ULL << CAP_KILL);
  assert_int_equal(c->n_rlimits, 1);
  assert_int_equal(c->rlimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal(c->rlimits[0].hard, 2048);
  assert_true(c->no_new_privileges);
  assert_true(c->has_oom_score_adj);
  assert_int_equal(c->oom_score_adj, 500);
  assert_int_equal(c->n_mounts, 2);
  assert_string_equal(c->mounts[1].destination, "/data");
  assert_int_equal(c->mounts[1].n_options, 3);
  assert_int_equal(c->n_namespaces, 4);
  assert_int_equal(c->namespaces[2].type, KUBE_NS_NETWORK);
  assert_string_equal(c->namespaces[2].path, "/proc/self/ns/net");
  assert_string_equal(c->cgroups_path, "/x/y");
  assert_int_equal(c->resources.memory_limit, 67108864);
  assert_int_equal(c->resources.cpu_shares, 512);
  assert_int_equal(c->resources.cpu_quota, 50000);
  assert_int_equal(c->resources.cpu_period, 100000);
  assert_string_equal(c->resources.cpuset_cpus, "0");
  assert_int_equal(c->resources.pids_limit, 64);
  assert_int_equal(c->resources.n_device_rules, 1);
  assert_int_equal(c->resources.device_rules[0].major, 10);
  assert_string_equal(c->resources.device_rules[0].access, "rw");
  assert_int_equal(c->n_masked_paths, 1);
  assert_int_equal(c->n_sysctl, 1);
  assert_string_equal(c->sysctl_keys[0], "net.ipv4.ip_forward");
  assert_string_equal(c->sysctl_values[0], "1");
  assert_int_equal(c->n_readonly_paths, 1);
  assert_non_null(c->seccomp);
  assert_int_equal(c->seccomp->n_rules, 2);
  assert_int_equal(c->seccomp->rules[0].errno_ret, 1);
  assert_int_equal(c->seccomp->rules[1].n_args, 1);
  assert_int_equal(c->seccomp->rules[1].args[0].op, KUBE_SECCOMP_OP_NE);
}

static void test_parse_full(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = kube_rt_config_parse(full_config, bundle, &err);
  if (!c)
    fail_msg("%s", err.message);
  check_full(c);
  /* JSON round trip keeps everything we act on. */
  char *json = kube_rt_config_to_json(c, &err);
  assert_non_null(json);
  kube_rt_config_t *c2 = kube_rt_config_parse(json, bundle, &err);
  if (!c2)
    fail_msg("%s", err.message);
  check_full(c2);
  free(json);
  kube_rt_config_free(c2);
  kube_rt_config_free(c);
}

static void expect_invalid(const char *extra, const char *field) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
           "\"process\":{\"args\":[\"/bin/true\"]}%s}",
           extra);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = kube_rt_config_parse(json, bundle, &err);
  if (c)
    fail_msg("accepted: %s", extra);
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  if (!strstr(err.message, field))
    fail_msg("\"%s\" does not name %s", err.message, field);
  assert_int_equal(err.n_causes, 1);
  assert_string_equal(err.causes[0].field, field);
  kube_error_clear(&err);
}

static void test_parse_errors(void **state) {
  expect_invalid(
      ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"bogus\"}]}",
      "linux.namespaces[1].type");
  expect_invalid(
      ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}",
      "linux.namespaces[1].type");
  expect_invalid(",\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":"
                 "\"/nonexistent\"}]}",
                 "linux.namespaces[0].path");
  expect_invalid(",\"linux\":{\"resources\":{\"memory\":{\"limit\":-7}}}",
                 "linux.resources.memory.limit");
  expect_invalid(",\"linux\":{\"resources\":{\"memory\":{\"limit\":100}}}",
                 "linux.resources.memory.limit");
  expect_invalid(",\"linux\":{\"resources\":{\"cpu\":{\"shares\":1}}}",
                 "linux.resources.cpu.shares");
  expect_invalid(",\"linux\":{\"resources\":{\"cpu\":{\"period\":10}}}",
                 "linux.resources.cpu.period");
  expect_invalid(",\"linux\":{\"resources\":{\"pids\":{\"limit\":-3}}}",
                 "linux.resources.pids.limit");
  expect_invalid(",\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"a-b\"}}}",
                 "linux.resources.cpu.cpus");
  expect_invalid(
      ",\"mounts\":[{\"destination\":\"relative\",\"type\":\"tmpfs\"}]",
      "mounts[0].destination");
  expect_invalid(
      ",\"mounts\":[{\"destination\":\"/a/../b\",\"type\":\"tmpfs\"}]",
      "mounts[0].destination");
  expect_invalid(",\"mounts\":[{\"destination\":\"/"
                 "x\",\"type\":\"bind\",\"source\":\"/nope\"}]",
                 "mounts[0].source");
  expect_invalid(",\"mounts\":[{\"destination\":\"/x\"}]", "mounts[0].type");
  expect_invalid(",\"linux\":{\"cgroupsPath\":\"system.slice:kube:x\"}",
                 "linux.cgroupsPath");
  expect_invalid(
      ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}",
      "linux.seccomp.defaultAction");
  expect_invalid(",\"linux\":{\"sysctl\":{\"net..x\":\"1\"}}",
                 "linux.sysctl.net..x");
  expect_invalid(",\"linux\":{\"resources\":{\"devices\":[{\"type\":\"x\"}]}}",
                 "linux.resources.devices[0]");
  expect_invalid(",\"linux\":{\"sysctl\":{\"net.x\":1}}", "linux.sysctl.net.x");
  expect_invalid(",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":0,"
                 "\"size\":0}]}",
                 "linux.uidMappings");
  /* process-level */
  kube_error_t err = KUBE_ERROR_INIT;
  char json[1024];
  snprintf(json, sizeof json,
           "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[]}}");
  assert_null(kube_rt_config_parse(json, bundle, &err));
  assert_non_null(strstr(err.message, "process.args"));
  kube_error_clear(&err);
  snprintf(
      json, sizeof json,
      "{\"root\":{\"path\":\"nope\"},\"process\":{\"args\":[\"/bin/true\"]}}");
  assert_null(kube_rt_config_parse(json, bundle, &err));
  assert_non_null(strstr(err.message, "root.path"));
  kube_error_clear(&err);
  snprintf(json, sizeof json,
           "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"x\"],"
           "\"capabilities\":{\"bounding\":[\"CAP_FLY\"]}}}");
  assert_null(kube_rt_config_parse(json, bundle, &err));
  assert_non_null(strstr(err.message, "process.capabilities.bounding"));
  kube_error_clear(&err);
  snprintf(json, sizeof json,
           "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"x\"],"
           "\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"hard\":1,\"soft\":1}]}}");
  assert_null(kube_rt_config_parse(json, bundle, &err));
  assert_non_null(strstr(err.message, "process.rlimits[0].type"));
  kube_error_clear(&err);
  /* terminal, consoleSize, hooks and annotations round-trip */
  snprintf(json, sizeof json,
           "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"x\"],"
           "\"terminal\":true,\"consoleSize\":{\"height\":30,\"width\":90}},"
           "\"annotations\":{\"a\":\"b\"},\"hooks\":{\"poststop\":[{\"path\":"
           "\"/bin/true\",\"args\":[\"true\",\"x\"],\"timeout\":3}]}}");
  kube_rt_config_t *t = kube_rt_config_parse(json, bundle, &err);
  assert_non_null(t);
  assert_true(t->terminal);
  assert_int_equal(t->console_height, 30);
  assert_int_equal(t->console_width, 90);
  assert_int_equal(t->n_hooks[KUBE_HOOK_POSTSTOP], 1);
  assert_int_equal(t->hooks[KUBE_HOOK_POSTSTOP][0].timeout, 3);
  assert_string_equal(t->hooks[KUBE_HOOK_POSTSTOP][0].args[1], "x");
  assert_int_equal(t->n_annotations, 1);
  char *back = kube_rt_config_to_json(t, &err);
  assert_non_null(back);
  assert_non_null(strstr(back, "\"poststop\""));
  assert_non_null(strstr(back, "\"terminal\":true"));
  kube_rt_config_t *t2 = kube_rt_config_parse(back, bundle, &err);
  assert_non_null(t2);
  assert_int_equal(t2->n_hooks[KUBE_HOOK_POSTSTOP], 1);
  assert_int_equal(t2->console_width, 90);
  kube_rt_config_free(t2);
  free(back);
  kube_rt_config_free(t);
  snprintf(json, sizeof json,
           "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"x\"]},"
           "\"hooks\":{\"poststart\":[{\"path\":\"/x\",\"timeout\":-1}]}}");
  assert_null(kube_rt_config_parse(json, bundle, &err));
  assert_non_null(strstr(err.message, "hooks.poststart[0].timeout"));
  kube_error_clear(&err);
  assert_null(kube_rt_config_parse("{not json", bundle, &err));
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  kube_error_clear(&err);
}

static void test_default_config(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = kube_rt_config_new_default(&err);
  assert_non_null(c);
  assert_int_equal(c->caps.bounding, kube_caps_default());
  assert_true(c->no_new_privileges);
  assert_non_null(c->seccomp);
  assert_true(c->n_masked_paths > 5);
  assert_true(c->n_mounts >= 6);
  char *json = kube_rt_config_to_json(c, &err);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"CAP_NET_BIND_SERVICE\""));
  assert_non_null(strstr(json, "\"SCMP_ACT_ERRNO\""));
  assert_null(strstr(json, "CAP_SYS_ADMIN"));
  free(json);
  kube_rt_config_free(c);
  kube_rt_config_free(NULL);
}

static void test_caps(void **state) {
  assert_int_equal(kube_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
  assert_int_equal(kube_cap_from_name("sys_admin"), CAP_SYS_ADMIN);
  assert_int_equal(kube_cap_from_name("CAP_BPF"), 39);
  assert_int_equal(kube_cap_from_name("CAP_NOPE"), -1);
  uint64_t d = kube_caps_default();
  assert_true(d & (1ULL << CAP_NET_RAW));
  assert_false(d & (1ULL << CAP_SYS_ADMIN));
  assert_false(d & (1ULL << CAP_NET_ADMIN));
  int n = 0;
  for (int i = 0; i < 64; i++)
    n += (d >> i) & 1;
  assert_int_equal(n, 14); /* Docker's list */
}

static void test_seccomp_compile(void **state) {
  kube_seccomp_t *s = kube_seccomp_default_profile();
  assert_non_null(s);
  void *prog = NULL;
  size_t len = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(rt_seccomp_compile(s, &prog, &len, &err), 0);
  assert_non_null(prog);
  assert_true(len > 10 && len < 4096);
  free(prog);
  kube_seccomp_free(s);
  kube_seccomp_action_t a;
  assert_int_equal(rt_seccomp_action_parse("SCMP_ACT_KILL_PROCESS", &a), 0);
  assert_int_equal(a, KUBE_SECCOMP_KILL_PROCESS);
  assert_int_equal(rt_seccomp_action_parse("nope", &a), -1);
}

static void test_cgroup_detect(void **state) {
  struct cg_layout l;
  kube_error_t err = KUBE_ERROR_INIT;
  if (rt_cg_detect(&l, &err) < 0) {
    kube_error_clear(&err);
    skip();
  }
  const struct cgroup_ops *ops = rt_cg_ops_for(&l);
  assert_non_null(ops->create);
  if (l.mode == CG_MODE_V2)
    assert_string_equal(ops->name, "v2");
  else
    assert_true(l.n_v1 > 0);
  if (l.mode == CG_MODE_HYBRID)
    assert_true(l.unified[0] != 0);
}

static void test_state_files(void **state) {
  int dirfd = open(bundle, O_RDONLY | O_DIRECTORY);
  assert_true(dirfd >= 0);
  struct rt_state st = {0}, back;
  snprintf(st.id, sizeof st.id, "abc");
  st.pid = 1234;
  st.pid_start = 99;
  st.monitor_pid = 1233;
  st.created.tv_sec = 1700000000;
  st.created.tv_nsec = 5;
  snprintf(st.cgroup_path, sizeof st.cgroup_path, "libkube/abc");
  snprintf(st.bundle, sizeof st.bundle, "/b");
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(rt_state_write(dirfd, &st, &err), 0);
  assert_int_equal(rt_state_read(dirfd, &back, &err), 0);
  assert_string_equal(back.id, "abc");
  assert_int_equal(back.pid, 1234);
  assert_int_equal(back.pid_start, 99);
  assert_int_equal(back.created.tv_nsec, 5);
  assert_string_equal(back.cgroup_path, "libkube/abc");
  kube_rt_exit_t e = {.exit_code = 137, .signal = 9, .oom_killed = true}, e2;
  snprintf(e.reason, sizeof e.reason, "OOMKilled");
  assert_int_equal(rt_state_read_exit(dirfd, &e2), -1);
  assert_int_equal(rt_state_write_exit(dirfd, &e), 0);
  assert_int_equal(rt_state_read_exit(dirfd, &e2), 0);
  assert_int_equal(e2.exit_code, 137);
  assert_true(e2.oom_killed);
  assert_string_equal(e2.reason, "OOMKilled");
  unlinkat(dirfd, "state", 0);
  unlinkat(dirfd, "exit", 0);
  close(dirfd);
  assert_true(rt_proc_alive(getpid(), rt_proc_start_time(getpid())));
  assert_false(rt_proc_alive(getpid(), 1));
}

static void test_ids(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(rt_validate_id("abc-1_2.x", &err), 0);
  assert_int_equal(rt_validate_id("../etc", &err), -1);
  kube_error_clear(&err);
  assert_int_equal(rt_validate_id("", &err), -1);
  kube_error_clear(&err);
  assert_int_equal(rt_validate_id("a/b", &err), -1);
  kube_error_clear(&err);
  assert_string_equal(kube_rt_status_string(KUBE_RT_PAUSED), "paused");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_full),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_default_config),
      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_seccomp_compile),
      cmocka_unit_test(test_cgroup_detect),
      cmocka_unit_test(test_state_files),
      cmocka_unit_test(test_ids),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
