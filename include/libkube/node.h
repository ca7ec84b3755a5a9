/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube node: the node agent (what the kubelet is to Kubernetes).
 *
 * Sections:
 *  - Agent: registers its Node, keeps its Lease, and runs the pods bound
 *    to it: pinned sandbox namespaces, CNI, pod cgroups, volumes, init and
 *    app containers from OCI images, restarts with back-off, status,
 *    events, graceful termination, adoption of its containers after a
 *    restart.
 *  - Streaming: the kubelet's streaming server (container logs, exec,
 *    attach, port-forward) over a resolver the agent provides, reachable
 *    in-process from the API server and over the agent's own HTTPS port
 *    with the kubelet's paths.
 *  - Hollow nodes: many simulated nodes in one process (kubemark's hollow
 *    kubelets), for scale tests and `kube simulate`.
 *
 * Threading: every function runs on the loop given to the object that owns
 * it, and callbacks run there too.  Blocking work (runtime calls, image
 * pulls, CNI plugins, volume and log files, connects inside a pod's
 * network namespace) goes to worker threads that report back on that
 * loop; the loop never blocks.
 */
#ifndef LIBKUBE_NODE_H
#define LIBKUBE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/core.h>
#include <libkube/http.h>
#include <libkube/kit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Agent                                                                    */
/* ======================================================================== */

/* The node agent: one Node, its Lease in kube-node-lease, and the pods
 * whose spec.nodeName is that node.
 *
 * Node: registered at start (capacity and allocatable cpu, memory,
 * ephemeral-storage, pods; addresses InternalIP and Hostname; nodeInfo;
 * the kubelet's labels; daemonEndpoints) with the taint
 * node.kubernetes.io/not-ready:NoSchedule, which goes once the node is
 * Ready.  Conditions Ready, MemoryPressure, DiskPressure and PIDPressure
 * with the kubelet's reasons and messages; status written when it changes
 * and at least every 5 minutes; the Lease renewed every 10 s.  When the
 * node cannot run pods (not root, no cgroups, CNI plugins or configuration
 * missing) it stays registered and NotReady with the reason in the Ready
 * condition's message, and retries every 10 s: the agent never stops the
 * process it runs in.
 *
 * Pods: the shared pod informer (indexed by spec.nodeName) feeds a per-pod
 * work queue; an idempotent sync compares each pod with what runs and
 * takes the next step on a worker thread:
 *  - a sandbox: net, ipc and uts namespaces pinned under the pod's
 *    directory (no infra process), the network through CNI (the bridge
 *    network the agent writes for its pod CIDR into the CNI configuration
 *    directory, or the first configuration a user put there), hostPorts
 *    reserved on the node and mapped by the portmap plugin, the pod cgroup
 *    of its QoS class with the pod's limits, /etc/hosts, /etc/hostname
 *    and /etc/resolv.conf;
 *  - volumes: emptyDir (disk, or tmpfs with medium Memory and sizeLimit),
 *    hostPath (with its type checks), configMap, secret (tmpfs),
 *    downwardAPI, projected; items, defaultMode, fsGroup, subPath,
 *    readOnly; configMap and secret changes reach running pods through an
 *    atomic swap of the volume's ..data link, as the kubelet's;
 *  - init containers in order (restartPolicy Always ones are sidecars that
 *    keep running), then the containers, from images ensured per
 *    imagePullPolicy (imagePullSecrets as credentials), the image's
 *    configuration merged with the container as Kubernetes does, env with
 *    valueFrom, envFrom, $(VAR) expansion and service links, the
 *    securityContext and resources applied;
 *  - restarts per restartPolicy with the kubelet's back-off (10 s doubling
 *    to 300 s, CrashLoopBackOff), image pull back-off (ErrImagePull,
 *    ImagePullBackOff);
 *  - status (phase, conditions, container statuses, IPs, QoS class)
 *    written as a merge patch of pods/status when it changed; events with
 *    the kubelet's reasons and wording;
 *  - deletion: the image's STOPSIGNAL (or SIGTERM), the grace period,
 *    SIGKILL, the sandbox torn down (CNI DEL, namespaces, cgroup, volumes,
 *    root file systems, logs), then the pod object deleted with
 *    gracePeriodSeconds=0 and a UID precondition.
 * Containers outlive the agent: a new agent on the same data directory
 * and runtime root adopts them without restarting any, records the exits
 * that happened meanwhile, and stops the containers of pods deleted
 * meanwhile.
 *
 * On disk, under the data directory DATA:
 *   DATA/pods/<uid>/        pod.json, ns/ (pinned namespaces), etc-hosts,
 *                           hostname, resolv.conf, volumes/, containers/
 *   DATA/logs/pods/<ns>_<name>_<uid>/<container>/<restart>.log
 *   DATA/cni/net.d, DATA/cni/cache, DATA/cni/networks (host-local)
 *   DATA/images             the image store (<libkube/image.h>)
 *   DATA/seccomp/           seccompProfile Localhost profiles */
typedef struct kube_node_agent kube_node_agent_t;

/* Options.  Strings are copied by kube_node_agent_new.  NULL / 0 fields
 * take the defaults in brackets; defaults derived from the data directory
 * and the node name let several agents share one machine. */
typedef struct kube_node_agent_options {
  size_t struct_size; /* sizeof(kube_node_agent_options_t) */
  /* The state directory (required). */
  const char *data_dir;
  /* [the host name] */
  const char *node_name;
  /* InternalIP [the address of the interface holding the default route] */
  const char *node_ip;
  /* Parent of the pod cgroups [libkube-<hash>], where <hash> is 8 hex
   * digits of a hash of the data directory and the node name. */
  const char *cgroup_parent;
  /* Runtime state root [/run/libkube/node-<hash>] */
  const char *runtime_root;
  /* Pod CIDR used until the Node's spec.podCIDR says otherwise
   * [10.42.0.0/24]; written into spec.podCIDR at registration when the
   * Node has none. */
  const char *pod_cidr;
  /* Bridge of the agent's CNI network [kube-<6 hex of the hash>] */
  const char *cni_bridge;
  /* [DATA/cni/net.d] */
  const char *cni_conf_dir;
  /* Colon-separated [/usr/lib/cni:/opt/cni/bin] */
  const char *cni_bin_dir;
  /* Cluster settings (owned by `kubed server` with the networking work):
   * [10.96.0.0/12], [10.96.0.10] (comma-separated), [cluster.local]. */
  const char *service_cidr;
  const char *cluster_dns;
  const char *cluster_domain;
  /* The resolv.conf pods with dnsPolicy Default get, and whose search
   * domains ClusterFirst pods append [/etc/resolv.conf]. */
  const char *resolv_conf;
  /* Extra node labels, "key=value" (NULL-terminated; borrowed). */
  const char *const *labels;
  /* Unsafe sysctls pods may set (patterns "kernel.msg*" allowed; NULL-
   * terminated; borrowed). */
  const char *const *allowed_unsafe_sysctls;
  /* [110] */
  int max_pods;
  /* pids.max of each pod cgroup [unlimited]; -1 unlimited. */
  int64_t pod_pids_limit;
  /* Worker threads for runtime, image and CNI work [8]. */
  unsigned workers;
  /* daemonEndpoints.kubeletEndpoint.Port reported in the Node status
   * (the agent's streaming port; 0: none). */
  int kubelet_port;
  /* Watch only this node's pods (a spec.nodeName field selector, as a
   * kubelet in another process does) instead of the process's shared pod
   * informer (what an agent inside `kubed server` uses). */
  bool own_pod_informer;
  /* Read only what the Node authorizer lets a node (system:node:NAME)
   * read, as the kubelet does: its own Node (fieldSelector metadata.name),
   * its own pods (implies own_pod_informer), and each configMap and
   * Secret its pods refer to through a watch of that one object
   * (fieldSelector metadata.name=X in its namespace), kept while a pod
   * refers to it; a pod's containers start once those watches listed.
   * Off: the process's shared configmaps and secrets informers (one
   * cache, what an agent inside `kubed server` uses). */
  bool per_object_reads;
  /* The image store treats itself as a mirror of every registry (kubed's
   * own node, whose built-in registry serves the same store). */
  bool images_local_mirror;
  /* Node-pressure eviction, the kubelet's flags and syntax:
   * "memory.available<100Mi,nodefs.available<10%" (signals
   * memory.available, nodefs.available, nodefs.inodesFree,
   * imagefs.available, imagefs.inodesFree, pid.available; quantities or
   * percentages of the capacity).  eviction_hard NULL: the kubelet's
   * defaults memory.available<100Mi, nodefs.available<10%,
   * nodefs.inodesFree<5%, imagefs.available<15% (given: only those).
   * Soft thresholds need a grace period each ("memory.available=1m30s");
   * minimum reclaim "nodefs.available=500Mi"; the pressure transition
   * period [5m] is a Go duration. */
  const char *eviction_hard;
  const char *eviction_soft;
  const char *eviction_soft_grace_period;
  const char *eviction_minimum_reclaim;
  const char *eviction_pressure_transition_period;
  /* The kubelet's --pod-manifest-path: a directory of static pod
   * manifests (*.yaml, *.yml, *.json, one Pod each) the agent runs without
   * the API and mirrors into it (borrowed).  NULL: DATA/manifests
   * (created); "": none. */
  const char *pod_manifest_path;
  /* The kubelet's image GC: when the image store's file system is more
   * than image_gc_high_percent used, unused images go, least recently
   * used first, until it is below image_gc_low_percent [85, 80; 0: the
   * default, -1: 0 %; high 100: no image GC].  Checked every image_gc_period_ms
   * [5 min, the kubelet's ImageGCPeriod]. */
  int image_gc_high_percent;
  int image_gc_low_percent;
  int64_t image_gc_period_ms;
  /* The cluster network of kubed's nodes: routes in the node's network
   * namespace to every other node's pod CIDR via its InternalIP, the
   * masquerade rules for pod traffic leaving the cluster CIDR, and the
   * service proxy (eBPF socket load balancing of Services, node ports,
   * the unreachable route of the service CIDR), from the settings `kubed
   * server` publishes in ConfigMap kube-system/libkube-cluster (keys
   * serviceCIDR, serviceNodePortRange, clusterCIDR, podRoutes), read
   * through a watch of that one object.  Routes, rules and programs go
   * when the agent is freed (only what it added). */
  bool cluster_network;
  /* With cluster_network: the proxy's settings given at once (the node
   * inside `kubed server` takes the plan; service_cidr above) instead of
   * from the ConfigMap: the node port range ("30000-32767") and the
   * cluster CIDR.  NULL: from the ConfigMap. */
  const char *node_port_range;
  const char *cluster_cidr;
  /* With cluster_network: write LoadBalancer Services' status (ingress:
   * the node's address), what the node inside `kubed server` does; a
   * kubed agent may not. */
  bool load_balancer_status;
  /* With cluster_network: the service proxy's datapath (--proxy-mode):
   * "auto" (NULL): eBPF socket load balancing when its programs attach at
   * the cgroup v2 root, else nftables; "ebpf"; "nftables" (one table of
   * the node's, `ip libkube-<hash of node name and data dir>`, as
   * kube-proxy's nftables mode).  The mode chosen is logged and set as
   * the Node's annotation libkube.io/proxy-mode ("ebpf", "nftables", or
   * "none" when neither runs). */
  const char *proxy_mode;
} kube_node_agent_options_t;

/* Create the agent on `loop` (borrowed) over transport `tp` (copied; its
 * impl must outlive the agent), taking its informers from `informers`
 * (borrowed; must outlive the agent).  Opens the runtime, the image store
 * and the CNI configuration; nothing runs before kube_node_agent_start.
 * Owned: free with kube_node_agent_free.  NULL with err: BadRequest for
 * bad options (no data directory, a bad pod CIDR, node IP or name),
 * otherwise what failed (out-of-memory, an unreadable data directory).
 * An environment that cannot run pods is not an error here: the Node
 * reports it. */
kube_node_agent_t *kube_node_agent_new(kube_loop_t *loop,
                                       const kube_transport_t *tp,
                                       kube_informer_factory_t *informers,
                                       const kube_node_agent_options_t *opts,
                                       kube_error_t *err);
/* Register the Node, adopt the containers of the runtime root, start the
 * informers the agent needs and the pod workers.  -1 with err only when
 * the loop cannot take the work (out-of-memory). */
int kube_node_agent_start(kube_node_agent_t *a, kube_error_t *err);
/* Stop taking work: no new jobs start; `done(arg)` runs on the loop once
 * the jobs and writes in flight finished.  Containers keep running (a
 * restarted agent adopts them). */
void kube_node_agent_drain(kube_node_agent_t *a, void (*done)(void *arg),
                           void *arg);
/* Cancel what is left (timers, writes, watches), wait for the worker
 * threads, free.  Containers keep running.  Accepts NULL. */
void kube_node_agent_free(kube_node_agent_t *a);

/* The node's name (borrowed). */
const char *kube_node_agent_name(const kube_node_agent_t *a);
/* The node's InternalIP (borrowed; NULL when none was given and no
 * default route was found). */
const char *kube_node_agent_node_ip(const kube_node_agent_t *a);

typedef struct kube_node_agent_stats {
  size_t pods;               /* pods the agent tracks */
  size_t containers_running; /* container instances running */
  uint64_t syncs;            /* pod syncs finished */
  uint64_t jobs;             /* worker jobs finished */
  uint64_t status_writes;    /* pod status patches sent */
  uint64_t status_conflicts; /* of which answered Conflict and retried */
  bool ready;                /* the Node's Ready condition */
  size_t containers_collected; /* dead instances garbage-collected */
  size_t images_collected;     /* unused images the image GC removed */
} kube_node_agent_stats_t;

void kube_node_agent_get_stats(const kube_node_agent_t *a,
                               kube_node_agent_stats_t *out);

/* The kubelet's Summary API document (GET /stats/summary) of the last
 * sample, as JSON into *json_out (owned): "node" (nodeName, startTime,
 * cpu {time, usageNanoCores, usageCoreNanoSeconds}, memory {time,
 * availableBytes, usageBytes, workingSetBytes, rssBytes}) and "pods"
 * (podRef, startTime, containers [{name, startTime, cpu, memory}], cpu,
 * memory).  The agent reads the node and the cgroups of its running pods
 * and containers every 10 s on a worker; usageNanoCores is the rate
 * between the last two samples, so a pod's or container's first sample
 * has none.  ServiceUnavailable before the first sample. */
int kube_node_agent_stats_summary(const kube_node_agent_t *a, char **json_out,
                                  kube_error_t *err);


/* ======================================================================== */
/* Streaming: logs, exec, attach, port-forward                              */
/* ======================================================================== */

/* A streaming server: serves the pods of one node, knowing nothing about
 * pods itself.  For each request it asks the agent's resolver which
 * container (and log file, and network namespace) the request means, then
 * streams from the runtime:
 *
 *  - logs: the container's CRI log file as text (options follow, previous,
 *    tailLines, sinceSeconds, sinceTime, timestamps, limitBytes, as the
 *    kubelet reads them); follow waits for new lines with inotify, follows
 *    the file across rotations, and ends once the container stopped and
 *    everything it wrote was sent.
 *  - exec (query command=..., stdin, stdout, stderr, tty): a process in
 *    the container through kube_runtime_exec, over every protocol of
 *    <libkube/stream.h> (WebSocket v1..v5 channels, SPDY/3.1 v1..v5); the
 *    exit code goes back as the Status the clients expect; terminal
 *    resize.
 *  - attach (stdin, stdout, stderr, tty): the container's own stdio
 *    through kube_runtime_attach.
 *  - portforward (ports=...): each forwarded connection connects to
 *    localhost:PORT inside the pod's network namespace (SPDY
 *    portforward.k8s.io, WebSocket v4.channel.k8s.io, SPDY tunnelled in
 *    WebSocket); several ports and connections at once.
 *
 * Errors are answered as the kubelet answers them: exec, attach and
 * port-forward refusals before the upgrade as text/plain (clients print
 * "unable to upgrade connection: <text>"), log errors as a Kubernetes
 * Status (what kube-apiserver turns the kubelet's text into). */
typedef struct kube_node_stream kube_node_stream_t;

typedef enum kube_node_stream_op {
  KUBE_NODE_STREAM_LOGS = 1,
  KUBE_NODE_STREAM_EXEC,
  KUBE_NODE_STREAM_ATTACH,
  KUBE_NODE_STREAM_PORTFORWARD,
} kube_node_stream_op_t;

/* What a request asks for.  Strings are borrowed for the resolver call. */
typedef struct kube_node_stream_query {
  size_t struct_size; /* sizeof(kube_node_stream_query_t) */
  kube_node_stream_op_t op;
  const char *namespace_;
  const char *pod;
  /* The pod's UID when the request named one (kubelet paths
   * /exec/NS/POD/UID/CONTAINER); NULL otherwise.  A pod with another UID
   * is not the one asked for: NotFound. */
  const char *pod_uid;
  /* The container (NULL for port-forward). */
  const char *container;
  /* Logs: the previous instance of the container (kubectl logs -p). */
  bool previous;
} kube_node_stream_query_t;

/* The resolver's answer.  The resolver fills the fields its op needs with
 * malloc'ed strings; the server owns them afterwards and releases them
 * with kube_node_stream_target_clear.  Fields it does not know stay NULL. */
typedef struct kube_node_stream_target {
  /* The runtime container id of the container's current instance
   * (exec, attach).  It may be stopped: exec and attach then fail with
   * the kubelet's "container not found" answer. */
  char *container_id;
  /* The CRI log file of the current instance, and of the previous one
   * (NULL when it never restarted or that file is gone).  Logs use
   * previous_log_path when query->previous. */
  char *log_path;
  char *previous_log_path;
  /* The pod's network namespace (port-forward), e.g. the sandbox's
   * <dir>/net of kube_runtime_sandbox_pin. */
  char *netns_path;
  char *pod_uid;
} kube_node_stream_target_t;

/* Release the strings of *t and zero it.  Accepts NULL. */
void kube_node_stream_target_clear(kube_node_stream_target_t *t);

/* The agent maps a request to its container.  Runs on the loop and must
 * not block.  Return 0 with *out filled (zeroed on entry), or -1 with err:
 * the reason picks the HTTP status and the message is what the client
 * sees, so use the kubelet's wording:
 *   NotFound    "pod does not exist" (exec, attach, port-forward),
 *               "pod \"y\" does not exist" and
 *               "container \"x\" not found in pod \"y\"" (logs);
 *   BadRequest  (logs) "container \"x\" in pod \"y\" is waiting to start:
 *               ContainerCreating" (the waiting reason; for ErrImagePull
 *               "... is waiting to start: image can't be pulled", for
 *               ImagePullBackOff "... is waiting to start: trying and
 *               failing to pull image"), "previous terminated container
 *               \"x\" in pod \"y\" not found", "container \"x\" in pod \"y\"
 *               is terminated".
 * When the resolver succeeds without the field an op needs, the server
 * answers for it: exec/attach without container_id "container not found
 * (\"x\")"; logs without the path "previous terminated container \"x\" in
 * pod \"y\" not found" (previous) or "container \"x\" in pod \"y\" is
 * waiting to start - no logs yet"; port-forward without netns_path "pod
 * not found (\"y\")". */
typedef int (*kube_node_stream_resolve_fn)(void *arg,
                                           const kube_node_stream_query_t *q,
                                           kube_node_stream_target_t *out,
                                           kube_error_t *err);

typedef struct kube_node_stream_options {
  size_t struct_size; /* sizeof(kube_node_stream_options_t) */
  /* The loop (borrowed; must outlive the server).  Required. */
  kube_loop_t *loop;
  /* The runtime's state root the containers live in (copied; NULL: the
   * runtime's default /run/libkube/runtime).  The server opens runtime
   * handles of its own for its worker threads. */
  const char *runtime_root;
  /* Required. */
  kube_node_stream_resolve_fn resolve;
  void *resolve_arg;
  /* Worker threads for blocking work (0: 2). */
  unsigned threads;
  /* Close exec/attach/port-forward connections idle this long (the
   * kubelet's streamingConnectionIdleTimeout; 0: 4 hours, < 0: never).
   * Milliseconds. */
  int64_t idle_timeout_ms;
  /* Logs with follow: how often to check whether the container still
   * runs when no line arrives (0: 1000).  Milliseconds. */
  int follow_check_ms;
} kube_node_stream_options_t;

/* A streaming server.  Owned: free with kube_node_stream_free.  NULL with
 * err (BadRequest: no loop or resolver). */
kube_node_stream_t *kube_node_stream_new(const kube_node_stream_options_t *opts,
                                         kube_error_t *err);

/* Close every session and listener, wait for the worker threads, free.
 * Loop thread; not from a callback of this server.  Accepts NULL. */
void kube_node_stream_free(kube_node_stream_t *s);

/* Serve one request for a pod of this node: `subresource` "log", "exec",
 * "attach" or "portforward" (anything else: 404).  The options come from
 * the request's query (as the API server's pods/<sub> take them); the
 * container is `container` when not NULL, else the query's `container`.
 * `req` is stolen (answered, streamed or upgraded here); the other strings
 * are borrowed for the call.  `stream` is the kube_node_stream_t.
 *
 * The signature is the API server's kube_apiserver_node_fn, so an API
 * server in the same process serves the pods of this node directly:
 *   kube_apiserver_add_node(api, node_name, kube_node_stream_serve_pod,
 *                           stream, &err); */
void kube_node_stream_serve_pod(kube_http_request_t *req,
                                const char *subresource, const char *namespace_,
                                const char *pod, const char *container,
                                void *stream);

/* Sessions (exec, attach, port-forward connections, log streams) open. */
size_t kube_node_stream_sessions(const kube_node_stream_t *s);

/* The agent's own HTTPS server, for API servers in other processes. */
typedef struct kube_node_stream_listen_options {
  size_t struct_size; /* sizeof(kube_node_stream_listen_options_t) */
  /* PEM serving certificate and key (both required for TCP). */
  const char *tls_cert_file;
  const char *tls_key_file;
  /* PEM CA bundle: clients must present a certificate signed by it (the
   * API server's kubelet client certificate, as the kubelet's
   * --client-ca-file).  NULL: every client is served (tests only). */
  const char *tls_client_ca_file;
} kube_node_stream_listen_options_t;

/* Listen on spec ("tcp:ADDR:PORT", port 0 picks one; "unix:PATH" for
 * tests) with the kubelet's paths:
 *   /containerLogs/NS/POD/CONTAINER      (GET; the log options)
 *   /exec/NS/POD[/UID]/CONTAINER         (GET/POST upgrade; command=...)
 *   /attach/NS/POD[/UID]/CONTAINER       (GET/POST upgrade)
 *   /portForward/NS/POD[/UID]            (GET/POST upgrade; ports=...)
 *   /stats/summary                       (GET; with a summary function)
 *   /healthz                             ("ok", without a certificate)
 * Other paths: 404.  Without a verified client certificate (when a CA is
 * set): 401 "Unauthorized".  0 or -1 with err.  May be called more than
 * once; the listeners close with the server. */
int kube_node_stream_listen(kube_node_stream_t *s, const char *spec,
                            const kube_node_stream_listen_options_t *opts,
                            kube_error_t *err);
/* The port of the first TCP listener, or -1. */
int kube_node_stream_port(const kube_node_stream_t *s);

/* ---- the agent's pods ---- */

/* The resolver of an agent's streaming server: maps a request to the
 * agent's pods and containers as the kubelet does (the current instance
 * for exec and attach, the log files of the current and previous
 * instance, the pod's network namespace), with the kubelet's errors (see
 * kube_node_stream_resolve_fn).  `agent` is the kube_node_agent_t
 * (borrowed); it must outlive the streaming server.  Loop thread:
 *   kube_node_stream_options_t so = {
 *       .struct_size = sizeof so, .loop = loop,
 *       .runtime_root = kube_node_agent_runtime_root(agent),
 *       .resolve = kube_node_agent_stream_resolve, .resolve_arg = agent};
 */
int kube_node_agent_stream_resolve(void *agent,
                                   const kube_node_stream_query_t *q,
                                   kube_node_stream_target_t *out,
                                   kube_error_t *err);
/* The runtime state root the agent's containers live in (borrowed; lives
 * as long as the agent). */
const char *kube_node_agent_runtime_root(const kube_node_agent_t *a);
/* The kubelet's Summary API on the listeners: GET /stats/summary answers
 * fn's document (application/json; 503 with its message when it fails),
 * behind the same client certificate check.  fn runs on the loop and must
 * not block; kube_node_agent_stats_summary fits (arg: the agent).  NULL:
 * 404 again. */
typedef int (*kube_node_summary_fn)(void *arg, char **json_out,
                                    kube_error_t *err);
void kube_node_stream_set_summary(kube_node_stream_t *s,
                                  kube_node_summary_fn fn, void *arg);

/* ---- CRI log files (what the streaming server reads) ---- */

/* How to render a CRI log as text (PodLogOptions). */
typedef struct kube_node_log_options {
  size_t struct_size;  /* sizeof(kube_node_log_options_t) */
  bool follow;         /* wait for more */
  bool timestamps;     /* prefix each line with its RFC 3339 time */
  int64_t tail_lines;  /* the last N lines only; < 0: all */
  int64_t limit_bytes; /* stop after N bytes of output; <= 0: no limit */
  /* Lines older than this are skipped (all zero: none). */
  struct timespec since;
} kube_node_log_options_t;

/* Parse the log options of a query (follow, previous, timestamps,
 * tailLines, limitBytes, sinceSeconds, sinceTime) into *o and *previous
 * (may be NULL), validated as kube-apiserver validates PodLogOptions
 * (Invalid for negative or zero values, both since options).  `pod` names
 * the pod in the messages.  `param` returns the first value of a query
 * parameter or NULL (e.g. a wrapper around kube_http_request_query_param).
 * 0 or -1 with err. */
int kube_node_log_options_parse(const char *(*param)(void *arg,
                                                     const char *key),
                                void *arg, const char *pod,
                                kube_node_log_options_t *o, bool *previous,
                                kube_error_t *err);

/* ======================================================================== */
/* Hollow nodes                                                             */
/* ======================================================================== */

/* Hollow nodes, as kubemark's: node agents that run no container.  Each
 * registers a real Node (capacity from the options; the kubelet's labels;
 * conditions Ready, MemoryPressure, DiskPressure, PIDPressure with the
 * kubelet's reasons and messages) and renews its Lease in kube-node-lease
 * every quarter of lease_duration_seconds.  Ready is True once the Node
 * has a spec.podCIDR (before, False with the kubelet's "container runtime
 * network not ready" message: pods could get no address); its status is written again when the API's
 * copy differs from what the node reports (after the node lifecycle
 * controller marked it Unknown) and at least every 5 minutes.
 *
 * Pods bound to a hollow node are reported Running at once, as a kubelet
 * whose containers started: phase Running, conditions
 * PodReadyToStartContainers, Initialized, ContainersReady and Ready True,
 * podIP from the Node's spec.podCIDR (the node IPAM controller's, or
 * pod_cidr below), containerStatuses running, started and ready (init
 * containers terminated with reason Completed; sidecars running), events
 * Pulled, Created and Started with the kubelet's wording.  A pod being
 * deleted gets Killing events and is then deleted with
 * gracePeriodSeconds=0 and its UID as precondition, the kubelet's end of
 * the graceful deletion.  Probes are not run: containers are ready.
 *
 * All the nodes of a set share one loop, one writer and the process's
 * shared pod and node informers (the pod informer indexed by
 * spec.nodeName), so a set of 1,000 nodes costs a few MB and the writes
 * its heartbeats need (count / 10 s Lease patches).  Nodes have no
 * InternalIP and no kubelet port: pods/log, exec, attach and port-forward
 * answer the API server's "no preferred addresses found" instead of
 * connecting anywhere.  The credentials of the transport must allow
 * writing Nodes, Leases, pod status, pod deletes and Events for every node
 * of the set (the API server's own token; a system:node:NAME identity only
 * covers one node). */
typedef struct kube_node_hollow kube_node_hollow_t;

typedef struct kube_node_hollow_options {
  size_t struct_size; /* sizeof(kube_node_hollow_options_t) */
  /* Number of nodes [1]. */
  unsigned count;
  /* Node names are PREFIX<first_index + i> ["hollow-node-", 0]. */
  const char *name_prefix;
  unsigned first_index;
  /* Capacity (= allocatable) of each node, quantities ["4", "16Gi",
   * "100Gi"]; pods [110]. */
  const char *cpu;
  const char *memory;
  const char *ephemeral_storage;
  int max_pods;
  /* The same as one string, `kube simulate --node-size`'s syntax:
   * "cpu=8,memory=32Gi,pods=110,ephemeral-storage=100Gi" (any subset;
   * borrowed).  Overrides the four fields above. */
  const char *size;
  /* Extra node labels, "key=value" (NULL-terminated; copied). */
  const char *const *labels;
  /* A range to give each node a pod CIDR of /node_cidr_mask_size from
   * (node i: block first_index + i) when it registers, for clusters
   * without the node IPAM controller.  NULL: the Node's spec.podCIDR is
   * left to that controller, and pods wait for it. */
  const char *pod_cidr;
  int node_cidr_mask_size; /* [24] */
  /* The Leases' leaseDurationSeconds [40] (the kubelet's
   * --node-lease-duration-seconds); renewed every quarter of it, as the
   * kubelet renews (10 s by default). */
  int lease_duration_seconds;
} kube_node_hollow_options_t;

/* Create a set on `loop` (borrowed) over `tp` (copied; its impl must
 * outlive the set), taking the pod and node informers from `informers`
 * (borrowed; must outlive the set).  Nothing is written before
 * kube_node_hollow_start.  Owned: free with kube_node_hollow_free.  NULL
 * with err: BadRequest for bad options (a count of 0 or over 100,000, a
 * name that is no DNS-1123 subdomain, a quantity or CIDR that does not
 * parse, a pod CIDR too small for the nodes), else out-of-memory. */
kube_node_hollow_t *kube_node_hollow_new(kube_loop_t *loop,
                                         const kube_transport_t *tp,
                                         kube_informer_factory_t *informers,
                                         const kube_node_hollow_options_t *opts,
                                         kube_error_t *err);
/* Register the Nodes, start the heartbeats, the pod and node informers
 * (when not running) and the pod handling (once they synced).  -1 with err
 * on out-of-memory. */
int kube_node_hollow_start(kube_node_hollow_t *h, kube_error_t *err);
/* Stop taking work; `done(arg)` runs on the loop once the writes in
 * flight finished (or at once).  The Nodes stay registered. */
void kube_node_hollow_drain(kube_node_hollow_t *h, void (*done)(void *arg),
                            void *arg);
/* Cancel writes and timers and free.  Accepts NULL. */
void kube_node_hollow_free(kube_node_hollow_t *h);

/* The number of nodes and the name of node i (borrowed; NULL past the
 * end). */
size_t kube_node_hollow_count(const kube_node_hollow_t *h);
const char *kube_node_hollow_name(const kube_node_hollow_t *h, size_t i);

/* Simulate a node failure: a node made down stops renewing its Lease,
 * writing its status and handling its pods (those being deleted stay
 * Terminating), as a kubelet that died; made up again it reports Ready,
 * renews its Lease and finishes what its pods need.  NotFound for a name
 * not in the set. */
int kube_node_hollow_set_down(kube_node_hollow_t *h, const char *node,
                              bool down, kube_error_t *err);

typedef struct kube_node_hollow_stats {
  size_t nodes;            /* nodes in the set */
  size_t nodes_registered; /* whose Node exists */
  size_t pods;             /* pods bound to the set's nodes */
  size_t pods_running;     /* reported Running by the set */
  uint64_t lease_renewals; /* Lease writes that succeeded */
  uint64_t status_writes;  /* pod status patches that succeeded */
  uint64_t deletions;      /* pods whose deletion the set finished */
  uint64_t write_failures; /* writes answered with an error */
} kube_node_hollow_stats_t;

void kube_node_hollow_get_stats(const kube_node_hollow_t *h,
                                kube_node_hollow_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_NODE_H */
