/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A platform with its own node, in one process and without HTTP: an API
 * server on the memory store, the scheduler, the controllers and a node
 * agent that runs pods in real containers (root).  A second thread plays
 * the user through a synchronous client over the in-process transport:
 * it creates a pod, waits until it runs, reads its logs, deletes it.
 *
 *   cc -o platform-node node.c $(pkg-config --cflags --libs libkube) -pthread
 *   ./platform-node DATA_DIR NODE_NAME NODE_IP POD_CIDR [IMAGE]
 *
 * The image (busybox:1.35.0 by default) must be in DATA_DIR's image
 * store (`kube image import --data-dir DATA_DIR ...`).  Optional
 * environment: CNI_BRIDGE, CGROUP_PARENT, RUNTIME_ROOT (the agent's
 * defaults otherwise).
 */
#include <libkube/libkube.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static kube_loop_t *loop;
static kube_transport_t tp;
static const char *image = "busybox:1.35.0";

/* Poll (for brevity; kube_client_watch would do) until `field` of pod
 * `name` equals `want` (NULL: until the pod is gone). */
static int await_pod(kube_client_t *c, const char *name, const char *field,
                     const char *want, int seconds) {
  for (int i = 0; i < seconds * 10;
       i++, nanosleep(&(struct timespec){0, 100000000}, 0)) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *o = kube_client_get(c, kube_kind_by_kind("v1", "Pod"),
                                       "default", name, &err);
    const char *v = o ? kube_object_get_string(o, field) : NULL;
    bool done = want ? v && !strcmp(v, want)
                     : !o && err.reason == KUBE_REASON_NOT_FOUND;
    kube_object_free(o);
    kube_error_clear(&err);
    if (done)
      return 0;
  }
  return fprintf(stderr, "pod %s: %s never became %s\n", name, field,
                 want ? want : "gone"), 1;
}

static int collect(void *buf, int stream, const void *data, size_t len) {
  kube_strbuf_append_len(buf, data, len);
  return 0;
}

static void *user(void *srv) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kube_client_new_transport(loop, &tp, NULL, &err);
  kube_strbuf_t pod = KUBE_STRBUF_INIT, logs = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&pod,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
                     "{\"name\":\"hello\",\"namespace\":\"default\"},"
                     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
                     "\"%s\",\"command\":[\"sh\",\"-c\",\"echo hello from "
                     "the embedded node; exec sleep 3600\"]}]}}",
                     image);
  kube_object_t *o = c ? kube_object_from_json(pod.data, pod.len, &err) : NULL;
  kube_object_t *made = o ? kube_client_create(c, NULL, NULL, o, NULL, &err)
                          : NULL;
  int rc = !made;
  if (made)
    printf("Pod hello created\n");
  rc = rc || await_pod(c, "hello", "status.phase", "Running", 120);
  if (!rc) {
    printf("Pod hello: status.phase = Running\n");
    /* The log may lag the start by a moment: read until the line is in. */
    for (int i = 0; i < 100 && !strstr(logs.data ? logs.data : "", "\n");
         i++, nanosleep(&(struct timespec){0, 100000000}, 0)) {
      kube_strbuf_clear(&logs);
      kube_client_logs_options_t lo = {.struct_size = sizeof lo,
                                       .namespace_ = "default",
                                       .pod = "hello",
                                       .output = collect,
                                       .arg = &logs};
      if (kube_client_logs(c, &lo, &err) < 0)
        kube_error_clear(&err);
    }
    printf("Pod hello logs: %s", logs.data ? logs.data : "(none)\n");
    rc = !logs.data || !strstr(logs.data, "hello from the embedded node");
  }
  if (made) {
    kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                      .grace_period = 1};
    if (kube_client_delete(c, kube_kind_by_kind("v1", "Pod"), "default",
                           "hello", &wo, NULL, &err) < 0)
      rc = 1;
    else if (await_pod(c, "hello", "metadata.name", NULL, 60) == 0)
      printf("Pod hello deleted\n");
    else
      rc = 1;
  }
  if (kube_error_is_set(&err))
    fprintf(stderr, "platform-node: %s\n", err.message);
  kube_error_clear(&err);
  kube_object_free(made);
  kube_object_free(o);
  kube_strbuf_clear(&pod);
  kube_strbuf_clear(&logs);
  kube_client_free(c);
  kube_server_stop(srv);
  return (void *)(intptr_t)rc;
}

static pthread_t th;
static bool user_started;
static void start_user(void *srv) {
  user_started = pthread_create(&th, NULL, user, srv) == 0;
  if (!user_started)
    kube_server_stop(srv);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s DATA_DIR NODE_NAME NODE_IP POD_CIDR [IMAGE]\n",
            argv[0]);
    return 2;
  }
  if (argc > 5)
    image = argv[5];
  static const char *const no_listeners[] = {NULL};
  kube_node_agent_options_t node = {.struct_size = sizeof node,
                                    .node_name = argv[2],
                                    .node_ip = argv[3],
                                    .pod_cidr = argv[4],
                                    .cni_bridge = getenv("CNI_BRIDGE"),
                                    .cgroup_parent = getenv("CGROUP_PARENT"),
                                    .runtime_root = getenv("RUNTIME_ROOT")};
  kube_server_options_t o = {.struct_size = sizeof o,
                             .store = "memory",
                             .data_dir = argv[1],
                             .listen = no_listeners,
                             .no_registry = true,
                             .no_dns = true,
                             .no_dashboard = true,
                             .node = &node};
  kube_error_t err = KUBE_ERROR_INIT;
  void *rc = (void *)1;
  kube_log_set_level(KUBE_LOG_WARNING);
  kube_server_t *srv = kube_server_new(&o, &err);
  if (srv) {
    loop = kube_server_loop(srv);
    kube_server_transport(srv, &tp);
    if (kube_server_start(srv, &err) == 0 &&
        kube_loop_invoke(loop, start_user, srv, &err) == 0) {
      kube_server_run(srv, &err); /* until the user thread stops it */
      if (user_started)
        pthread_join(th, &rc);
    }
  }
  if (kube_error_is_set(&err))
    fprintf(stderr, "platform-node: %s\n", err.message);
  kube_server_free(srv);
  return (int)(intptr_t)rc;
}
