/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The net module: CNI results of every version, the configuration directory
 * (which file is the network, .conf wrapped into a list, broken files), and
 * invocation against fake plugins (shell scripts in a temporary CNI_PATH
 * that log their environment and stdin): chaining with prevResult,
 * runtimeConfig only for declared capabilities, CNI_ARGS, the result cache
 * (DEL and CHECK with the configuration the ADD used, after it changed),
 * plugin errors, the undo of a failed ADD, timeouts, missing plugins; and
 * the node's bridge configuration list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <libkube/net.h>

static char dir[256], conf[300], bin[300], cache[300], logf[300];

static void write_file(const char *path, const char *text, int mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return strdup("");
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return strdup(buf);
}

/* A plugin that logs "COMMAND name id ifname args" and its stdin, and
 * answers ADD with an address. */
static const char *fake =
    "#!/bin/sh\n"
    "in=$(cat)\n"
    "me=$(basename $0)\n"
    "echo \"$CNI_COMMAND $me $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS "
    "$CNI_ARGS\" >> \"$FAKE_LOG\"\n"
    "printf '%s\\n' \"$in\" >> \"$FAKE_LOG.$me.$CNI_COMMAND\"\n"
    "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
    "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br0\"},"
    "{\"name\":\"eth0\",\"sandbox\":\"'$CNI_NETNS'\"}],\"ips\":[{\"address\":"
    "\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\",\"interface\":1}],\"routes\":"
    "[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{\"nameservers\":[\"10.96.0.10\"],"
    "\"search\":[\"svc.cluster.local\"]}}'\n";

static const char *failing =
    "#!/bin/sh\ncat >/dev/null\n"
    "echo \"$CNI_COMMAND failing\" >> \"$FAKE_LOG\"\n"
    "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
    "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"no luck\","
    "\"details\":\"try later\"}'\nexit 1\n";

static const char *slow = "#!/bin/sh\ncat >/dev/null\nsleep 5\n";

static int setup(void **state) {
  snprintf(dir, sizeof dir, "/tmp/test-net-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(conf, sizeof conf, "%s/net.d", dir);
  snprintf(bin, sizeof bin, "%s/bin", dir);
  snprintf(cache, sizeof cache, "%s/cache", dir);
  snprintf(logf, sizeof logf, "%s/log", dir);
  mkdir(conf, 0755);
  mkdir(bin, 0755);
  char p[400];
  const char *names[] = {"one", "two", "three"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", bin, names[i]);
    write_file(p, fake, 0755);
  }
  snprintf(p, sizeof p, "%s/failing", bin);
  write_file(p, failing, 0755);
  snprintf(p, sizeof p, "%s/slow", bin);
  write_file(p, slow, 0755);
  setenv("FAKE_LOG", logf, 1);
  return 0;
}

static int teardown(void **state) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void reset(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s/* %s %s.* %s", conf, logf, logf, cache);
  assert_int_equal(system(cmd), 0);
}

static kube_cni_t *cni(int timeout_ms) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_cni_options_t o = {.struct_size = sizeof o,
                          .conf_dir = conf,
                          .bin_dirs = bin,
                          .cache_dir = cache,
                          .timeout_ms = timeout_ms};
  kube_cni_t *c = kube_cni_new(&o, &err);
  assert_non_null(c);
  return c;
}

static void put_conf(const char *name, const char *text) {
  char p[400];
  snprintf(p, sizeof p, "%s/%s", conf, name);
  write_file(p, text, 0644);
}

static void test_result_versions(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_cni_result_t r;
  const char *v100 =
      "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"b\",\"mac\":"
      "\"aa\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}],\"ips\":[{\"address\":"
      "\"10.42.0.7/24\",\"gateway\":\"10.42.0.1\",\"interface\":1},{"
      "\"address\":\"fd00::7/64\",\"interface\":1}],\"routes\":[{\"dst\":"
      "\"0.0.0.0/0\",\"gw\":\"10.42.0.1\"}],\"dns\":{\"nameservers\":[\"1.1."
      "1.1\"],\"domain\":\"x\",\"search\":[\"a\",\"b\"]}}";
  assert_int_equal(kube_cni_result_parse(v100, strlen(v100), &r, &err), 0);
  assert_string_equal(r.cni_version, "1.0.0");
  assert_int_equal(r.n_interfaces, 2);
  assert_string_equal(r.interfaces[1].sandbox, "/n");
  assert_int_equal(r.n_ips, 2);
  assert_int_equal(r.ips[0].interface, 1);
  assert_false(r.ips[0].ipv6);
  assert_true(r.ips[1].ipv6);
  char ip[64];
  assert_string_equal(kube_cni_result_ip(&r, 0, ip, sizeof ip), "10.42.0.7");
  assert_string_equal(kube_cni_result_ip(&r, 1, ip, sizeof ip), "fd00::7");
  assert_null(kube_cni_result_ip(&r, 2, ip, sizeof ip));
  assert_string_equal(r.routes[0].gw, "10.42.0.1");
  assert_int_equal(r.n_dns_search, 2);
  assert_string_equal(r.dns_domain, "x");
  assert_non_null(strstr(r.json, "10.42.0.7"));
  kube_cni_result_clear(&r);
  /* 0.4.0 (ips carry "version") and the 0.2 ip4 form */
  const char *v040 = "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","
                     "\"address\":\"10.0.0.2/16\"}]}";
  assert_int_equal(kube_cni_result_parse(v040, strlen(v040), &r, &err), 0);
  assert_string_equal(kube_cni_result_ip(&r, 0, ip, sizeof ip), "10.0.0.2");
  assert_int_equal(r.ips[0].interface, -1);
  kube_cni_result_clear(&r);
  const char *v020 = "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.9.0.5/"
                     "24\",\"gateway\":\"10.9.0.1\",\"routes\":[{\"dst\":\"0.0."
                     "0.0/0\"}]}}";
  assert_int_equal(kube_cni_result_parse(v020, strlen(v020), &r, &err), 0);
  assert_string_equal(kube_cni_result_ip(&r, 0, ip, sizeof ip), "10.9.0.5");
  assert_int_equal(r.n_routes, 1);
  kube_cni_result_clear(&r);
  assert_int_equal(kube_cni_result_parse("[1]", 3, &r, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_cni_result_parse("{x", 2, &r, &err), -1);
  kube_error_clear(&err);
  kube_cni_result_clear(NULL);
}

static void test_conf_dir(void **state) {
  reset();
  kube_error_t err = KUBE_ERROR_INIT;
  kube_cni_t *c = cni(0);
  char *name = NULL;
  /* nothing there: not ready, and says where it looked */
  assert_int_equal(kube_cni_status(c, &name, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_SERVICE_UNAVAILABLE);
  assert_non_null(strstr(err.message, "no networks found in"));
  kube_error_clear(&err);
  /* the first file by name wins; a .conf is a list of one; broken files
   * earlier in the order are passed over */
  put_conf("30-b.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"b\","
                            "\"plugins\":[{\"type\":\"one\"}]}");
  put_conf("20-a.conf", "{\"cniVersion\":\"0.4.0\",\"name\":\"a\",\"type\":"
                        "\"two\"}");
  put_conf("10-broken.conflist", "{not json");
  put_conf("05-notes.txt", "ignored");
  assert_int_equal(kube_cni_status(c, &name, &err), 0);
  assert_string_equal(name, "a");
  free(name);
  /* a plugin that is not there: not ready, named */
  put_conf("01-x.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\","
                            "\"plugins\":[{\"type\":\"nope\"}]}");
  assert_int_equal(kube_cni_status(c, NULL, &err), -1);
  assert_non_null(strstr(err.message, "failed to find plugin \"nope\""));
  kube_error_clear(&err);
  put_conf("01-x.conflist", "{\"cniVersion\":\"9.9.9\",\"name\":\"x\","
                            "\"plugins\":[{\"type\":\"one\"}]}");
  assert_int_equal(kube_cni_status(c, &name, &err), 0); /* passed over */
  assert_string_equal(name, "a");
  free(name);
  kube_cni_free(c);
}

static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

static void test_add_del_check(void **state) {
  reset();
  kube_error_t err = KUBE_ERROR_INIT;
  put_conf("10-net.conflist",
           "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":["
           "{\"type\":\"one\",\"opt\":1},"
           "{\"type\":\"two\",\"capabilities\":{\"portMappings\":true}},"
           "{\"type\":\"three\",\"capabilities\":{\"bandwidth\":true}}]}");
  kube_cni_t *c = cni(0);
  kube_cni_port_mapping_t pm = {.host_port = 8080, .container_port = 80};
  kube_cni_attachment_t a = {.struct_size = sizeof a,
                             .container_id = "pod-1",
                             .netns = "/proc/1/ns/net",
                             .pod_namespace = "default",
                             .pod_name = "web",
                             .pod_uid = "u-1",
                             .port_mappings = &pm,
                             .n_port_mappings = 1};
  kube_cni_result_t r;
  if (kube_cni_add(c, &a, &r, &err) < 0)
    fail_msg("%s", err.message);
  char ip[64];
  assert_string_equal(kube_cni_result_ip(&r, 0, ip, sizeof ip), "10.1.2.3");
  kube_cni_result_clear(&r);
  char *log = slurp(logf);
  assert_non_null(strstr(log,
                         "ADD one pod-1 eth0 /proc/1/ns/net IgnoreUnknown=1;"
                         "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                         "K8S_POD_INFRA_CONTAINER_ID=pod-1;K8S_POD_UID=u-1"));
  /* order: one, two, three */
  assert_true(strstr(log, "ADD one") < strstr(log, "ADD two"));
  assert_true(strstr(log, "ADD two") < strstr(log, "ADD three"));
  free(log);
  char p[400];
  snprintf(p, sizeof p, "%s.one.ADD", logf);
  char *in1 = slurp(p);
  /* name and cniVersion injected, no prevResult for the first, the
   * plugin's own keys kept, no runtimeConfig without the capability */
  assert_non_null(strstr(in1, "\"name\":\"net\""));
  assert_non_null(strstr(in1, "\"cniVersion\":\"1.0.0\""));
  assert_non_null(strstr(in1, "\"opt\":1"));
  assert_null(strstr(in1, "prevResult"));
  assert_null(strstr(in1, "runtimeConfig"));
  free(in1);
  snprintf(p, sizeof p, "%s.two.ADD", logf);
  char *in2 = slurp(p);
  assert_non_null(strstr(in2, "\"prevResult\":{"));
  assert_non_null(strstr(in2,
                         "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
                         "8080,\"containerPort\":80,\"protocol\":\"tcp\","
                         "\"hostIP\":\"\"}]}"));
  free(in2);
  snprintf(p, sizeof p, "%s.three.ADD", logf);
  char *in3 = slurp(p);
  assert_null(strstr(in3, "runtimeConfig")); /* bandwidth not asked for */
  free(in3);
  /* the cache answers after the fact */
  assert_int_equal(kube_cni_cached_result(c, "pod-1", NULL, &r, &err), 0);
  assert_string_equal(kube_cni_result_ip(&r, 0, ip, sizeof ip), "10.1.2.3");
  kube_cni_result_clear(&r);
  char **ids;
  size_t n;
  assert_int_equal(kube_cni_cached_ids(c, &ids, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(ids[0], "pod-1");
  free(ids[0]);
  free(ids);
  assert_int_equal(kube_cni_check(c, &a, &err), 0);
  /* the configuration changes: DEL still runs what the ADD ran */
  put_conf("10-net.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"other\","
                              "\"plugins\":[{\"type\":\"failing\"}]}");
  a.n_port_mappings = 0;
  assert_int_equal(kube_cni_del(c, &a, &err), 0);
  log = slurp(logf);
  assert_true(strstr(log, "DEL three") < strstr(log, "DEL two"));
  assert_true(strstr(log, "DEL two") < strstr(log, "DEL one"));
  assert_null(strstr(log, "DEL failing"));
  assert_int_equal(count(log, "CHECK"), 3);
  free(log);
  snprintf(p, sizeof p, "%s.two.DEL", logf);
  char *d2 = slurp(p);
  assert_non_null(strstr(d2, "\"prevResult\":{"));  /* the cached result */
  assert_non_null(strstr(d2, "\"hostPort\":8080")); /* the ADD's mappings */
  free(d2);
  assert_int_equal(kube_cni_cached_result(c, "pod-1", NULL, &r, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  assert_int_equal(kube_cni_check(c, &a, &err), -1);
  kube_error_clear(&err);
  /* DEL again, nothing cached: the current configuration, idempotent */
  assert_int_equal(kube_cni_del(c, &a, &err), 0);
  log = slurp(logf);
  assert_non_null(strstr(log, "DEL failing"));
  free(log);
  kube_cni_free(c);
}

static void test_failures(void **state) {
  reset();
  kube_error_t err = KUBE_ERROR_INIT;
  put_conf("10-net.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"net\","
                              "\"plugins\":[{\"type\":\"one\"},{\"type\":"
                              "\"failing\"}]}");
  kube_cni_t *c = cni(0);
  kube_cni_attachment_t a = {.struct_size = sizeof a,
                             .container_id = "pod-2",
                             .netns = "/proc/1/ns/net"};
  assert_int_equal(kube_cni_add(c, &a, NULL, &err), -1);
  assert_string_equal(err.message,
                      "plugin type=\"failing\" name=\"net\" failed "
                      "(add): no luck: try later");
  kube_error_clear(&err);
  /* what ran was undone, nothing cached */
  char *log = slurp(logf);
  assert_non_null(strstr(log, "DEL failing"));
  assert_non_null(strstr(log, "DEL one"));
  free(log);
  kube_cni_result_t r;
  assert_int_equal(kube_cni_cached_result(c, "pod-2", NULL, &r, &err), -1);
  kube_error_clear(&err);
  /* bad attachments */
  kube_cni_attachment_t bad = {
      .struct_size = sizeof bad, .container_id = "../x", .netns = "/n"};
  assert_int_equal(kube_cni_add(c, &bad, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  bad.container_id = "ok";
  bad.netns = NULL;
  assert_int_equal(kube_cni_add(c, &bad, NULL, &err), -1);
  kube_error_clear(&err);
  /* a missing plugin */
  put_conf("10-net.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"net\","
                              "\"plugins\":[{\"type\":\"missing\"}]}");
  assert_int_equal(kube_cni_add(c, &a, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_SERVICE_UNAVAILABLE);
  assert_non_null(strstr(err.message, "failed to find plugin \"missing\""));
  kube_error_clear(&err);
  kube_cni_free(c);
  /* a plugin that hangs is killed */
  c = cni(200);
  put_conf("10-net.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"net\","
                              "\"plugins\":[{\"type\":\"slow\"}]}");
  assert_int_equal(kube_cni_add(c, &a, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_TIMEOUT);
  kube_error_clear(&err);
  kube_cni_free(c);
  kube_cni_options_t o = {.struct_size = sizeof o, .conf_dir = conf};
  assert_null(kube_cni_new(&o, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
}

static void test_bridge_conflist(void **state) {
  reset();
  kube_error_t err = KUBE_ERROR_INIT;
  kube_cni_bridge_options_t o = {.struct_size = sizeof o,
                                 .bridge = "kube-abc",
                                 .subnet = "10.42.3.0/24",
                                 .ipam_dir = "/var/x/networks"};
  char *text = kube_cni_bridge_conflist(&o, &err);
  assert_non_null(text);
  const char *wants[] = {"\"type\": \"bridge\"",
                         "\"bridge\": \"kube-abc\"",
                         "\"isGateway\": true",
                         "\"hairpinMode\": true",
                         "\"ipMasq\": false",
                         "\"type\": \"host-local\"",
                         "\"subnet\": \"10.42.3.0/24\"",
                         "\"dst\": \"0.0.0.0/0\"",
                         "\"dataDir\": \"/var/x/networks\"",
                         "\"type\": \"portmap\"",
                         "\"portMappings\": true",
                         "\"name\": \"libkube\"",
                         "\"cniVersion\": \"1.0.0\""};
  for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
    if (!strstr(text, wants[i]))
      fail_msg("missing %s in %s", wants[i], text);
  /* written once, then unchanged */
  char p[400];
  snprintf(p, sizeof p, "%s/10-libkube.conflist", conf);
  assert_int_equal(kube_cni_write_conf(p, text, &err), 1);
  assert_int_equal(kube_cni_write_conf(p, text, &err), 0);
  /* and it is a valid network for the loader */
  kube_cni_t *c = cni(0);
  char *name = NULL;
  kube_cni_status(c, &name, &err); /* bridge etc. may be absent here */
  kube_error_clear(&err);
  free(name);
  kube_cni_free(c);
  free(text);
  const char *bad_subnets[] = {"10.42.0.0", "10.42.0.0/33", "x/24",
                               "10.42.0.0/4", NULL};
  for (size_t i = 0; bad_subnets[i]; i++) {
    o.subnet = bad_subnets[i];
    assert_null(kube_cni_bridge_conflist(&o, &err));
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
  o.subnet = "10.42.0.0/24";
  o.bridge = "a-bridge-name-too-long";
  assert_null(kube_cni_bridge_conflist(&o, &err));
  kube_error_clear(&err);
  o.bridge = "bad/name";
  assert_null(kube_cni_bridge_conflist(&o, &err));
  kube_error_clear(&err);
}

/* Bad input to the route and masquerade calls: BadRequest before any
 * system call (no privileges needed). */
static void test_route_masquerade_input(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_net_gateway_route("10.1.0.0/33", "10.0.0.2", true, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_net_gateway_route("10.1.0.0/24", "nope", true, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "invalid gateway"));
  kube_error_clear(&err);
  assert_int_equal(kube_net_gateway_route("10.1.0.0/24", NULL, false, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_net_masquerade_sync("bad chain", "10.1.0.0/24",
                                            "10.0.0.0/16", NULL, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_net_masquerade_sync("KUBE-MASQ-X", "10.1.0.1/24",
                                            "10.0.0.0/16", NULL, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_net_masquerade_sync("KUBE-MASQ-X", "10.1.0.0/24",
                                            "10.0.0.0/16", "10.0.0.300", &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "10.0.0.300"));
  kube_error_clear(&err);
  assert_int_equal(kube_net_masquerade_remove("x;y", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
}

/* Bad input to the nftables mode: BadRequest before any netlink (no
 * privileges needed); nothing is made. */
static void test_nftlb_input(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  const char *bad_ips[] = {"10.0.0.1", "nope", NULL};
  struct {
    const char *table, *cidr;
    const char *const *ips;
    const char *says;
  } cases[] = {
      {NULL, "10.96.0.0/12", NULL, "invalid nftables table name"},
      {"1abc", "10.96.0.0/12", NULL, "invalid nftables table name"},
      {"libkube-x;y", "10.96.0.0/12", NULL, "invalid nftables table name"},
      {"libkube-x", NULL, NULL, "invalid service CIDR"},
      {"libkube-x", "10.96.0.0/40", NULL, "invalid service CIDR"},
      {"libkube-x", "10.96.0.0/12", bad_ips, "invalid node IP \"nope\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    kube_nftlb_options_t o = {.struct_size = sizeof o,
                              .table = cases[i].table,
                              .service_cidr = cases[i].cidr,
                              .node_ips = cases[i].ips};
    assert_null(kube_nftlb_new(&o, &err));
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    assert_non_null(strstr(err.message, cases[i].says));
    kube_error_clear(&err);
  }
  assert_int_equal(kube_net_service_route("10.96.0.0/33", NULL, true, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(
      kube_net_service_route("10.96.0.0/12", "10.0.0.300", true, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "invalid source address"));
  kube_error_clear(&err);
}

static void test_default_ipv4(void **state) {
  char ip[64];
  kube_error_t err = KUBE_ERROR_INIT;
  /* this machine has an address (or says clearly that it has none) */
  if (kube_net_default_ipv4(ip, sizeof ip, &err) == 0)
    assert_non_null(strchr(ip, '.'));
  else
    assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_result_versions),
      cmocka_unit_test(test_conf_dir),
      cmocka_unit_test(test_add_del_check),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_bridge_conflist),
      cmocka_unit_test(test_default_ipv4),
      cmocka_unit_test(test_route_masquerade_input),
      cmocka_unit_test(test_nftlb_input),
  };
  return cmocka_run_group_tests_name("net", tests, setup, teardown);
}
