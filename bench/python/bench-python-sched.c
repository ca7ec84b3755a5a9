/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of bench-python's scheduler comparison: kube_scheduler_schedule
 * calls per second at N nodes (the cluster of bench-scheduler: 4000m CPU,
 * 32 GiB, four labels and one image per node; pods requesting 100m and
 * 500 MiB), on a fixed state (schedule only, nothing bound), the same
 * loop bench-python runs through libkube.Scheduler.schedule().  Also the
 * same through kube_scheduler_schedule_object() (JSON in C, no Python).
 * Prints one JSON line; asserts nothing.
 *   bench-python-sched NODES CALLS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libkube/libkube.h>

/* Wall time (monotonic), as bench-python times the Python side. */
static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, kube_error_t *err) {
  fprintf(stderr, "bench-python-sched: %s: %s\n", what,
          err && err->message ? err->message : "failed");
  exit(1);
}

static const char *zones[] = {"zone-a", "zone-b", "zone-c"};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench-python-sched NODES CALLS\n");
    return 2;
  }
  size_t n_nodes = strtoul(argv[1], NULL, 10), calls = strtoul(argv[2], 0, 10);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_t *s = kube_scheduler_new(NULL, &err);
  if (!s)
    die("new", &err);
  for (size_t i = 0; i < n_nodes; i++) {
    char name[32];
    snprintf(name, sizeof name, "node-%05zu", i);
    kube_sched_label_t labels[] = {
        {"kubernetes.io/hostname", name},
        {"topology.kubernetes.io/zone", zones[i % 3]},
        {"kubernetes.io/os", "linux"},
        {"kubernetes.io/arch", "amd64"}};
    kube_sched_image_t image = {"registry.k8s.io/pause:3.9", 700000};
    kube_sched_node_t node = {.name = name,
                              .allocatable = {.cpu_milli = 4000,
                                              .memory = 32LL << 30,
                                              .ephemeral_storage = 100LL << 30,
                                              .pods = 110},
                              .n_labels = 4,
                              .labels = labels,
                              .n_images = 1,
                              .images = &image};
    if (kube_scheduler_add_node(s, &node, &err) < 0)
      die("add node", &err);
  }
  kube_sched_label_t pod_labels[] = {{"app", "web"},
                                     {"pod-template-hash", "5d8f7c9b4"}};
  const char *image = "registry.k8s.io/pause:3.9";
  kube_sched_pod_t pod = {.namespace_ = "default",
                          .name = "pod-000000",
                          .requests = {.cpu_milli = 100, .memory = 500LL << 20},
                          .n_labels = 2,
                          .labels = pod_labels,
                          .n_images = 1,
                          .images = &image};
  double t0 = wall_now();
  for (size_t i = 0; i < calls; i++) {
    kube_sched_result_t r;
    if (kube_scheduler_schedule(s, &pod, &r, &err) < 0 || !r.node)
      die("schedule", &err);
    kube_sched_result_clear(&r);
  }
  double structs = calls / (wall_now() - t0);
  const char *json =
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
      "\"pod-000000\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\","
      "\"pod-template-hash\":\"5d8f7c9b4\"}},\"spec\":{\"containers\":[{"
      "\"name\":\"c\",\"image\":\"registry.k8s.io/pause:3.9\",\"resources\":"
      "{\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]}}";
  t0 = wall_now();
  for (size_t i = 0; i < calls; i++) {
    kube_sched_result_t r;
    kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
    if (!o || kube_scheduler_schedule_object(s, o, &r, &err) < 0 || !r.node)
      die("schedule object", &err);
    kube_sched_result_clear(&r);
    kube_object_free(o);
  }
  double objects = calls / (wall_now() - t0);
  printf("{\"nodes\": %zu, \"calls\": %zu, \"c_struct_calls_per_s\": %.0f, "
         "\"c_json_object_calls_per_s\": %.0f}\n",
         n_nodes, calls, structs, objects);
  kube_scheduler_free(s);
  return 0;
}
