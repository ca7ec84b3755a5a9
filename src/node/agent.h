/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the node agent (prefix nd_), shared by the agent's files:
 * agent.c (life cycle, jobs), node-status.c (Node and Lease), pod-sync.c
 * (the per-pod state machine), pod-status.c (status and its writes),
 * pod-spec.c (reading pod specs), sandbox.c, container.c, env.c,
 * volumes.c, dns.c, adopt.c, fs.c.
 *
 * Keys of the pod work queue are pod UIDs: every incarnation of a name
 * (delete and re-create) is a pod of its own, as in the kubelet's pod
 * workers.  An nd_pod lives from the first event that binds it here to the
 * end of its teardown; the loop owns it.  Blocking work runs in nd_job_t
 * jobs on the agent's workers, at most one per pod at a time (the pod's
 * sync is "pending" while its job runs); a job reads only what it was
 * given and writes only its own result fields, which its done callback
 * applies on the loop.
 */
#ifndef KUBE_NODE_AGENT_H
#define KUBE_NODE_AGENT_H

#include <pthread.h>
#include <time.h>

#include <json-c/json.h>

#include <libkube/image.h>
#include <libkube/net.h>
#include <libkube/node.h>
#include <libkube/runtime.h>

#include "api/api-private.h"
#include "core/util.h"
#include "node/eviction.h"

/* Annotations every runtime container of a pod carries (the adoption
 * after a restart reads them back). */
#define ND_ANN_POD_UID "io.kubernetes.pod.uid"
#define ND_ANN_POD_NAME "io.kubernetes.pod.name"
#define ND_ANN_POD_NS "io.kubernetes.pod.namespace"
#define ND_ANN_NAME "io.kubernetes.container.name"
#define ND_ANN_RESTARTS "io.kubernetes.container.restartCount"
#define ND_ANN_KIND "io.libkube.container.kind"
#define ND_ANN_IMAGE "io.libkube.image"
#define ND_ANN_IMAGE_ID "io.libkube.image.id"
#define ND_ANN_IMAGE_REF "io.libkube.image.ref"
#define ND_ANN_STOP_SIGNAL "io.libkube.stop-signal"
#define ND_ANN_ROOTFS "io.libkube.rootfs"

#define ND_RUNTIME_PREFIX "libkube://"

/* Static pods (the kubelet's kubetypes.ConfigSourceAnnotationKey, ...). */
#define ND_ANN_CONFIG_SOURCE "kubernetes.io/config.source"
#define ND_ANN_CONFIG_HASH "kubernetes.io/config.hash"
#define ND_ANN_CONFIG_MIRROR "kubernetes.io/config.mirror"

/* ---- configuration (resolved options) ---------------------------------- */

struct nd_config {
  char *data_dir, *node_name, *node_ip, *hostname;
  char *cgroup_parent, *runtime_root, *pod_cidr_flag;
  char *cni_bridge, *cni_conf_dir, *cni_bin_dir, *cni_cache_dir, *ipam_dir;
  char *service_cidr, *cluster_dns, *cluster_domain, *resolv_conf;
  char *pods_dir, *logs_dir, *seccomp_dir;
  char *manifest_dir; /* static pods; NULL: none */
  bool manifest_default;
  int image_gc_high, image_gc_low;
  int64_t image_gc_period_ms;
  char **labels;         /* "k=v" */
  char **unsafe_sysctls; /* allowed patterns */
  int max_pods;
  int64_t pod_pids_limit;
  unsigned workers;
  int kubelet_port;
  bool own_pod_informer, images_local_mirror, per_object_reads;
};

void nd_config_clear(struct nd_config *c);
int nd_config_init(struct nd_config *c, const kube_node_agent_options_t *o,
                   kube_error_t *err);

/* ---- containers --------------------------------------------------------- */

/* ND_EPHEMERAL: spec.ephemeralContainers (kubectl debug), started once
 * in the running pod, never restarted, outside phase and readiness. */
enum nd_kind { ND_INIT = 0, ND_SIDECAR, ND_APP, ND_EPHEMERAL };

enum nd_state { ND_NONE = 0, ND_CREATED, ND_RUNNING, ND_EXITED };

/* One runtime container (an instance of a pod's container). */
struct nd_instance {
  char *id; /* runtime id; NULL for a start that failed before create */
  int attempt;
  enum nd_state state;
  struct timespec created, started, finished;
  int exit_code, signal;
  bool oom;
  char *reason;  /* terminated reason: Completed, Error, OOMKilled,
                    StartError, ContainerStatusUnknown */
  char *message; /* terminated message */
  char *image, *image_id, *image_ref;
  char *log_path, *rootfs_dir, *stop_signal;
  struct nd_exit_watch *watch; /* exit watch (pidfd of the init) */
};

struct nd_ctr {
  char *name;
  enum nd_kind kind;
  struct nd_instance cur, prev;
  bool has_cur, has_prev;
  int restarts;
  /* Why it is not running (ContainerCreating, ErrImagePull,
   * ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError,
   * RunContainerError, PodInitializing) and the message. */
  char *waiting_reason, *waiting_message;
  /* restart back-off: the kubelet's, 10 s doubling to 300 s, keyed by the
   * container; reset after 10 min of running */
  int64_t backoff_ms, backoff_until_ms;
  /* image pull back-off */
  int64_t pull_backoff_ms, pull_backoff_until_ms;
  char *pull_error;
  /* CreateContainerConfigError / CreateContainerError: not before */
  int64_t create_retry_ms, create_backoff_ms;
  bool seen; /* still in the spec (sync bookkeeping) */
  /* probes (startup, liveness, readiness; NULL: none) */
  struct nd_prober *probers[3];
  /* stopping the current instance (hooks.c) */
  enum {
    ND_STOP_NONE = 0,
    ND_STOP_PRESTOP,      /* the preStop hook runs */
    ND_STOP_PRESTOP_DONE, /* ... and ended: the stop signal is next */
    ND_STOP_SIGNALED,     /* SIGKILL at stop_deadline_ms */
    ND_STOP_KILLED
  } stop;
  char *stop_id; /* the instance the stop is for */
  int64_t stop_deadline_ms;
  int64_t stop_grace_s;
  volatile int *hook_cancel; /* the running hook job's cancel flag */
  /* a kill the probes or postStart asked for (Killing event text) */
  char *kill_message;
  int64_t kill_grace_s;
  /* postStart: running for (or done for) this instance id */
  char *post_start_id;
  bool post_start_running;
};

/* ---- probes and lifecycle hooks ------------------------------------------ */

struct nd_pod;

enum nd_probe_type {
  ND_PROBE_STARTUP = 0,
  ND_PROBE_LIVENESS,
  ND_PROBE_READINESS,
  ND_PROBE__COUNT
};

/* kubelet's probe results; WARNING (a redirect not followed) counts as a
 * success; UNKNOWN from a run is an error (the result is thrown away). */
enum nd_probe_result {
  ND_PR_UNKNOWN = 0,
  ND_PR_SUCCESS,
  ND_PR_FAILURE,
  ND_PR_WARNING
};

enum nd_handler_kind {
  ND_H_NONE = 0,
  ND_H_EXEC,
  ND_H_HTTP,
  ND_H_TCP,
  ND_H_GRPC,
  ND_H_SLEEP
};

/* A probe's or a hook's action, read from the spec on the loop. */
struct nd_handler {
  enum nd_handler_kind kind;
  char **command; /* exec */
  size_t n_command;
  char *scheme, *host, *path; /* httpGet (host NULL: the pod's IP) */
  char **headers;             /* "Name", "value" pairs */
  size_t n_headers;
  int port;         /* httpGet, tcpSocket, grpc */
  char *service;    /* grpc */
  int64_t sleep_s;  /* sleep */
  char *port_error; /* a named port the container does not have */
};

struct nd_probe_spec {
  struct nd_handler h;
  int initial_delay_s, period_s, timeout_s;
  int success_threshold, failure_threshold;
  int64_t grace_s; /* terminationGracePeriodSeconds; -1: the pod's */
};

/* A probe's state for the current container instance (worker.go). */
struct nd_probe_state {
  enum nd_probe_result result; /* the kept result */
  enum nd_probe_result last;   /* the last outcome and its run length */
  int run;
  bool on_hold; /* liveness/startup failed: wait for a new instance */
};

/* What the state machine looks at (computed on the loop). */
struct nd_probe_view {
  bool terminal;     /* the pod finished: stop */
  bool has_instance; /* the container has a runtime instance */
  bool running;
  bool started; /* startup probe passed (or none) */
  bool deleting;
  int64_t running_for_ms;
};

enum nd_probe_step { ND_STEP_WAIT = 0, ND_STEP_RUN, ND_STEP_STOP };

/* probe-state.c (pure) */
void nd_handler_clear(struct nd_handler *h);
int nd_handler_copy(struct nd_handler *dst, const struct nd_handler *src);
/* obj: a probe or a lifecycle handler; ctr: the container (named ports). */
int nd_handler_parse(json_object *obj, json_object *ctr, struct nd_handler *h,
                     kube_error_t *err);
void nd_probe_spec_clear(struct nd_probe_spec *s);
int nd_probe_spec_parse(json_object *probe, json_object *ctr,
                        struct nd_probe_spec *s, kube_error_t *err);
const char *nd_probe_type_name(enum nd_probe_type t); /* "Liveness" */
void nd_probe_state_reset(struct nd_probe_state *s, enum nd_probe_type t);
/* Count one outcome; true when the kept result changed (or a
 * liveness/startup failure put the probe on hold). */
bool nd_probe_state_apply(struct nd_probe_state *s, enum nd_probe_type t,
                          const struct nd_probe_spec *sp,
                          enum nd_probe_result r);
/* Whether to probe now; *wait_ms: when to look again. */
enum nd_probe_step nd_probe_step(enum nd_probe_type t, struct nd_probe_state *s,
                                 const struct nd_probe_spec *sp,
                                 const struct nd_probe_view *v,
                                 int64_t *wait_ms);
/* Go's %v of a string slice ("[a b]"), or the strings joined (owned). */
char *nd_go_strv(char *const *v, size_t n, const char *sep, bool brackets);

/* probe-run.c (workers): run a handler. */
struct nd_outcome {
  enum nd_probe_result result;
  char *output; /* probe output / the error text (owned) */
  char *error;  /* exec: "command '...' exited with N: <stderr>" (owned) */
};
void nd_outcome_clear(struct nd_outcome *o);
/* host: the address to use when the handler names none; timeout_ms <= 0:
 * none; *cancel (may be NULL) set by the loop ends a wait early. */
void nd_handler_run(kube_runtime_t *rt, const char *ctr_id,
                    const struct nd_handler *h, const char *host,
                    int64_t timeout_ms, const volatile int *cancel,
                    struct nd_outcome *out);

/* probe.c (loop) */
struct nd_prober;
/* Create/keep the probers of the pod's containers per the spec. */
void nd_probes_sync(kube_node_agent_t *a, struct nd_pod *p, json_object *spec);
void nd_prober_free(struct nd_prober *pr);
/* The startup probe passed (or there is none) and the container runs. */
bool nd_ctr_started(const struct nd_ctr *c);
/* Running, started, and its readiness probe passed (or there is none). */
bool nd_ctr_ready(const struct nd_ctr *c);

/* hooks.c: stopping a container (preStop, stop signal, SIGKILL). */
/* Move the stop of c's current instance on: the Killing event (message
 * NULL: "Stopping container X"), preStop within grace_s, the stop signal,
 * SIGKILL once the grace period is over.  Returns the ms until it wants
 * to be called again (0: nothing pending). */
int64_t nd_ctr_stop(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                    int64_t grace_s, const char *message);
/* Run c's postStart hook (a job); the container counts as not started
 * until it is done; a failure kills it. */
void nd_post_start(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c);
/* A hook job's text of the handler failure (FailedPostStartHook). */
char *nd_hook_message(const struct nd_handler *h, const char *ctr,
                      const char *pod_desc, const struct nd_outcome *o);
/* The host probes and hooks reach the pod at (owned; NULL: none yet). */
char *nd_pod_probe_host(kube_node_agent_t *a, const struct nd_pod *p);

/* ---- pods --------------------------------------------------------------- */

enum nd_sandbox { ND_SB_NONE = 0, ND_SB_READY, ND_SB_FAILED };

enum nd_term {
  ND_TERM_NONE = 0,
  ND_TERM_STOPPING,  /* signals sent, waiting for exits */
  ND_TERM_STOPPED,   /* every container stopped */
  ND_TERM_TORN_DOWN, /* sandbox and files gone */
  ND_TERM_DONE,      /* final status written, object deleted */
};

struct nd_hostport {
  int fd;
  int port;
  char proto[8];
  char *host_ip;
};

struct nd_pod {
  char *uid, *ns, *name, *key; /* key: "ns/name" of the informer */
  char *dir;                   /* DATA/pods/<uid> */
  char *netns;                 /* dir/ns/net; NULL for hostNetwork */
  char *cgroup;                /* pod cgroup path */
  char *log_dir;               /* DATA/logs/pods/<ns>_<name>_<uid> */
  kube_object_t *last;         /* the last object seen (owned) */
  bool api_gone;               /* deleted from the API (or re-created) */
  bool host_network;
  /* sandbox */
  enum nd_sandbox sandbox;
  char *ips[2];
  size_t n_ips;
  struct nd_hostport *hostports;
  size_t n_hostports;
  char *sandbox_error; /* last FailedCreatePodSandBox message */
  int64_t sandbox_backoff_ms, sandbox_retry_ms;
  /* volumes: a digest of what was last written, to rewrite only changes */
  char *volumes_digest;
  char *mount_error; /* FailedMount message while a source is missing */
  int64_t mount_event_ms;
  char **refs; /* "configmap/NAME", "secret/NAME" the pod reads */
  size_t n_refs;
  /* per-object reads: "configmap/NS/NAME", "secret/NS/NAME" the pod holds
   * a watch of (sources.c) */
  char **src_keys;
  size_t n_src_keys;
  /* containers: init containers first, in spec order, then the others */
  struct nd_ctr *ctrs;
  size_t n_ctrs;
  /* life */
  time_t start_time; /* status.startTime */
  bool admitted, rejected;
  char *reject_reason, *reject_message;
  enum nd_term term;
  int64_t term_grace_s; /* the grace period of the pod's stop */
  bool job_running;
  bool adopted;
  /* start-path timing (monotonic us, debug log): first synced, the status
   * showing every container running sent */
  int64_t t_seen, t_running_sent;
  /* status writes */
  char *status_sent; /* JSON of the last status patch that succeeded */
  bool status_inflight, status_dirty;
  int64_t status_retry_ms;
  bool delete_sent;
  /* terminal: the phase the pod ended in (Succeeded/Failed) */
  bool finished;
  /* a static pod (static.c): its object is the manifest's, its status
   * goes to its mirror pod (mirror_uid: the one last written to) */
  bool is_static;
  kube_object_t *static_obj;
  char *mirror_uid;
};

/* ---- the agent ---------------------------------------------------------- */

struct nd_mailbox; /* events from worker threads, see agent.c */

struct kube_node_agent {
  kube_loop_t *loop;
  kube_transport_t tp;
  struct nd_config cfg;
  kube_informer_factory_t *factory;
  kube_informer_t *pods, *nodes, *configmaps, *secrets, *services;
  kube_writer_t *writer;
  kube_event_recorder_t *recorder;
  kube_controller_t *ctl;
  kube_workers_t *workers;
  /* probes and hooks: their waits (timeouts, a postStart with no
   * deadline) never hold up the pods' own jobs */
  kube_workers_t *probe_workers;
  kube_runtime_t *rt;   /* the loop thread's handle */
  pthread_key_t rt_key; /* each worker thread's handle */
  bool rt_key_ok;
  kube_image_store_t *images;
  kube_cni_t *cni;
  struct nd_netpol *netpol; /* NULL: policies not enforced here */
  struct nd_mailbox *mailbox;
  struct nd_pod **pods_v;
  size_t n_pods, cap_pods;
  /* per-object watches of configMaps and Secrets (sources.c) */
  struct nd_src **srcs;
  size_t n_srcs, cap_srcs;
  bool started, draining;
  void (*drain_done)(void *);
  void *drain_arg;
  kube_timer_t *drain_timer;
  /* readiness of the node (runtime, cgroups, network) */
  bool runtime_ok, network_ok;
  char *not_ready_message;
  char *pod_cidr; /* current (node spec or flag) */
  bool adopting;  /* the adoption job has not finished yet */
  /* node status and lease (node-status.c) */
  struct nd_node_state *node;
  /* static pods (static.c) */
  struct nd_static *statics;
  /* image GC (image-gc.c) */
  kube_timer_t *image_gc_timer;
  bool image_gc_running, image_gc_failed_before;
  /* stats */
  kube_node_agent_stats_t stats;
  /* resource usage samples and the summary (stats.c) */
  struct nd_stats *statsum;
  /* node-pressure eviction (eviction.c) */
  struct nd_ev_state *ev;
  /* routes, masquerade, service proxy (cluster-net.c); NULL: none */
  struct nd_net *net;
};

/* ---- agent.c: jobs ------------------------------------------------------ */

typedef struct nd_job nd_job_t;

struct nd_job_event {
  char *type, *reason, *message, *container; /* container: field path */
};

struct nd_job {
  kube_node_agent_t *a;
  char *uid;      /* the pod (NULL for agent jobs) */
  bool exclusive; /* the pod's one job (its sync waits for it) */
  bool probe;     /* runs on the probe workers (probes, hooks) */
  void (*work)(nd_job_t *j, kube_runtime_t *rt);
  void (*done)(nd_job_t *j); /* on the loop; the pod's sync ends after it */
  void (*free)(nd_job_t *j); /* releases the payload; may be NULL */
  void *data;
  int rc;
  kube_error_t err;
  struct nd_job_event *events;
  size_t n_events;
  /* timing (monotonic us): queued, started on a worker, the stages the
   * work marked (nd_job_mark), ended; logged at debug level when done */
  int64_t t_submit, t_start, t_end;
  const char *stage_name[8];
  int64_t stage_us[8];
  unsigned n_stages;
};

/* A job for pod `uid` (may be NULL): owned until nd_job_submit. */
nd_job_t *nd_job_new(kube_node_agent_t *a, const char *uid,
                     void (*work)(nd_job_t *, kube_runtime_t *),
                     void (*done)(nd_job_t *), void *data,
                     void (*free_data)(nd_job_t *));
/* From the worker: the stage `name` (a literal) ended now. */
void nd_job_mark(nd_job_t *j, const char *name);
/* Monotonic microseconds (stage timing). */
int64_t nd_now_us(void);

/* Queue on the workers (the job is stolen).  -1 with err (the job is
 * freed).  The pod's job_running flag is set until done ran. */
int nd_job_submit(nd_job_t *j, kube_error_t *err);
/* From the worker: an event recorded when the job is done. */
KUBE_PRINTF(5, 6)
void nd_job_event(nd_job_t *j, const char *type, const char *reason,
                  const char *container, const char *fmt, ...);
/* From a worker: record an event about pod uid now (through the loop). */
KUBE_PRINTF(6, 7)
void nd_post_event(kube_node_agent_t *a, const char *uid, const char *type,
                   const char *reason, const char *container, const char *fmt,
                   ...);

/* ---- agent.c: pods ------------------------------------------------------ */

struct nd_pod *nd_pod_find(kube_node_agent_t *a, const char *uid);
struct nd_pod *nd_pod_add(kube_node_agent_t *a, const char *uid, const char *ns,
                          const char *name);
void nd_pod_remove(kube_node_agent_t *a, struct nd_pod *p);
/* The pod's API object when it is still this incarnation, else NULL. */
const kube_object_t *nd_pod_object(kube_node_agent_t *a, struct nd_pod *p);
/* Sync the pod again (now / after ms). */
void nd_pod_enqueue(kube_node_agent_t *a, const struct nd_pod *p,
                    int64_t after_ms);
/* Record an event about the pod (container: the field path's container,
 * may be NULL). */
KUBE_PRINTF(6, 7)
void nd_pod_event(kube_node_agent_t *a, struct nd_pod *p, const char *type,
                  const char *reason, const char *container, const char *fmt,
                  ...);
struct nd_ctr *nd_pod_ctr(struct nd_pod *p, const char *name);
void nd_instance_clear(kube_node_agent_t *a, struct nd_instance *in);
void nd_ctr_clear(kube_node_agent_t *a, struct nd_ctr *c);
/* Clear an instance and delete what it left (runtime container, root file
 * system, log) on a worker. */
void nd_instance_discard(kube_node_agent_t *a, struct nd_instance *in);
/* Watch the instance's exit (its init's pidfd); the pod is synced when
 * it exits. */
void nd_watch_exit(kube_node_agent_t *a, struct nd_pod *p,
                   struct nd_instance *in, pid_t pid);
struct nd_exit_watch;
void nd_exit_watch_free(struct nd_exit_watch *w);
int64_t nd_now_ms(void); /* monotonic */
/* A worker thread's runtime handle (created on first use). */
kube_runtime_t *nd_worker_runtime(kube_node_agent_t *a, kube_error_t *err);

/* ---- pod-sync.c --------------------------------------------------------- */

int nd_sync_pod(kube_node_agent_t *a, struct nd_pod *p);
/* The informer saw pod obj (add/update/delete). */
void nd_pod_changed(kube_node_agent_t *a, const kube_object_t *obj,
                    bool deleted);

/* ---- pod-spec.c: reading pod objects ------------------------------------ */

json_object *nd_spec(const kube_object_t *pod);
/* The container spec of name (init or app). */
json_object *nd_spec_container(json_object *spec, const char *name,
                               enum nd_kind *kind);
const char *nd_restart_policy(json_object *spec); /* Always default */
int64_t nd_grace_seconds(const kube_object_t *pod);
const char *nd_qos_class(json_object *spec);
kube_qos_class_t nd_qos(json_object *spec);
bool nd_spec_bool(json_object *spec, const char *path);
/* The pod's pod-level resources for its cgroup. */
void nd_pod_resources(json_object *spec, kube_rt_resources_t *res);
/* A container's resources for its cgroup. */
void nd_container_resources(json_object *ctr, kube_rt_resources_t *res);
int64_t nd_cpu_shares(int64_t milli);
/* Pull policy of a container (default per tag). */
kube_image_pull_policy_t nd_pull_policy(json_object *ctr);
/* "ns_name(uid)" as the kubelet formats pods in messages (owned). */
char *nd_pod_desc(const struct nd_pod *p);

/* ---- pod-status.c ------------------------------------------------------- */

/* Compute and (when changed) write the pod's status. */
void nd_status_update(kube_node_agent_t *a, struct nd_pod *p);
/* The phase the pod is in now ("Pending", ...); static string. */
const char *nd_pod_phase(kube_node_agent_t *a, struct nd_pod *p,
                         json_object *spec);
/* The exited current instance waits for its restart (CrashLoopBackOff,
 * RunContainerError): the status shows it as lastState. */
bool nd_ctr_restarting(const struct nd_pod *p, json_object *spec,
                       const struct nd_ctr *c);
/* The instance lastState.terminated shows (the one `logs --previous`
 * reads), or NULL. */
const struct nd_instance *nd_ctr_last_terminated(const struct nd_pod *p,
                                                 json_object *spec,
                                                 const struct nd_ctr *c);
/* After the teardown: final status, then DELETE with a UID precondition
 * when the object is being deleted; calls nd_pod_enqueue when done. */
void nd_status_finish(kube_node_agent_t *a, struct nd_pod *p);

/* ---- sandbox.c ---------------------------------------------------------- */

int nd_sandbox_create(kube_node_agent_t *a, struct nd_pod *p,
                      const kube_object_t *pod, kube_error_t *err);
int nd_sandbox_teardown(kube_node_agent_t *a, struct nd_pod *p, bool remove_dir,
                        kube_error_t *err);
void nd_hostports_close(struct nd_pod *p);
/* Bind (TCP: and listen on) h->host_ip:h->port into h->fd. */
int nd_hostport_reserve(struct nd_hostport *h, kube_error_t *err);
/* The first sysctl of the pod the node does not allow, or NULL. */
const char *nd_forbidden_sysctl(kube_node_agent_t *a, json_object *spec);
/* Write pod.json (the pod's record for adoption). */
int nd_pod_record_write(const struct nd_pod *p, const char *state,
                        kube_error_t *err);

/* ---- container.c -------------------------------------------------------- */

/* Start these containers (names, in order) of pod p in one job. */
int nd_containers_start(kube_node_agent_t *a, struct nd_pod *p,
                        const kube_object_t *pod, char **names, size_t n,
                        kube_error_t *err);
/* Send sig to c's current instance (all: every process of its cgroup);
 * a job beside the pod's own. */
int nd_ctr_signal(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                  int sig, bool all, kube_error_t *err);
int nd_signal_parse(const char *s); /* "SIGTERM", "TERM", "15" -> 15 */
void nd_ctr_retry_later(kube_node_agent_t *a, struct nd_pod *p,
                        struct nd_ctr *c);
/* The capabilities this process holds (a container never gets more). */
uint64_t nd_own_caps(void);

/* ---- env.c -------------------------------------------------------------- */

struct nd_env {
  char **names, **values;
  size_t n;
};
void nd_env_clear(struct nd_env *e);
/* Set (replace) name=value. */
int nd_env_set(struct nd_env *e, const char *name, const char *value);
/* The container's environment as the kubelet makes it (service links,
 * envFrom, env with valueFrom and $(VAR) expansion).  -1 with err
 * (CreateContainerConfigError text) when a required source is missing;
 * *bad_names (may be NULL) gets envFrom keys skipped as invalid names
 * ("a, b"; owned). */
int nd_env_build(kube_node_agent_t *a, struct nd_pod *p,
                 const kube_object_t *pod, json_object *ctr, struct nd_env *out,
                 char **bad_names, kube_error_t *err);
/* Kubernetes' $(VAR) expansion of s against env (owned result). */
char *nd_env_expand(const char *s, const struct nd_env *env);
/* A fieldRef value of the pod (metadata.name, status.podIP, ...). */
char *nd_field_ref(kube_node_agent_t *a, struct nd_pod *p,
                   const kube_object_t *pod, const char *path,
                   kube_error_t *err);
/* A resourceFieldRef value (limits.cpu, requests.memory, ...). */
char *nd_resource_ref(kube_node_agent_t *a, json_object *spec,
                      const char *container, const char *resource,
                      const char *divisor, kube_error_t *err);
/* Service link variables of the services of ns (+ kubernetes). */
int nd_service_env(kube_node_agent_t *a, const char *ns, bool links,
                   struct nd_env *out);

/* ---- volumes.c ---------------------------------------------------------- */

/* The files of the pod's volumes, computed on the loop. */
typedef struct nd_volumes nd_volumes_t;
/* Compute every volume's content (configMaps, secrets, downward API from
 * the caches).  NULL with err naming the volume when a source is missing
 * (the FailedMount text).  p->refs is updated. */
nd_volumes_t *nd_volumes_plan(kube_node_agent_t *a, struct nd_pod *p,
                              const kube_object_t *pod, kube_error_t *err);
void nd_volumes_free(nd_volumes_t *v);
/* Note that the pod reads configMap/secret `name` ("configmap",
 * "secret"): a change of it syncs the pod. */
void nd_pod_ref(struct nd_pod *p, const char *kind, const char *name);

/* ---- sources.c: the configMaps and Secrets pods read ---- */

/* The object ns/name (borrowed, valid until its cache changes), or NULL
 * when absent (or not watched yet). */
const kube_object_t *nd_source_get(kube_node_agent_t *a, bool secret,
                                   const char *ns, const char *name);
/* Per-object reads: watch what the pod spec refers to (and stop watching
 * what it no longer does); false while one of these watches has not
 * listed yet (the pod syncs again once it has).  Shared reads: true. */
bool nd_sources_ready(kube_node_agent_t *a, struct nd_pod *p,
                      json_object *spec);
/* The pod goes: let go of its watches. */
void nd_sources_release(kube_node_agent_t *a, struct nd_pod *p);
/* ns/name changed: the pods reading it sync again. */
void nd_sources_changed(kube_node_agent_t *a, bool secret, const char *ns,
                        const char *name);
size_t nd_sources_watched(const kube_node_agent_t *a);
void nd_sources_free(kube_node_agent_t *a);
/* A digest of the plan (to write only when something changed). */
const char *nd_volumes_digest(const nd_volumes_t *v);
/* Worker: create/update the volume directories under pod_dir. */
int nd_volumes_write(const nd_volumes_t *v, const char *pod_dir,
                     kube_error_t *err);
/* Worker: unmount and remove every volume of the pod. */
int nd_volumes_remove(const char *pod_dir, kube_error_t *err);
/* The host path of a volume for mounts (owned), NULL when unknown. */
char *nd_volume_host_path(const kube_object_t *pod, const char *pod_dir,
                          const char *volume, bool *is_block_dev);

/* ---- dns.c -------------------------------------------------------------- */

char *nd_hosts_file(kube_node_agent_t *a, const kube_object_t *pod,
                    const char *pod_ip, bool host_network);
/* NULL with err for an invalid dnsConfig (the pod is rejected). */
char *nd_resolv_conf(kube_node_agent_t *a, const kube_object_t *pod,
                     kube_error_t *err);
/* The pod's hostname (spec.hostname or its name, truncated to 63). */
char *nd_pod_hostname(const kube_object_t *pod);

/* ---- adopt.c ------------------------------------------------------------ */

/* Start the adoption job: what the runtime and the pod directories hold. */
int nd_adopt_start(kube_node_agent_t *a, kube_error_t *err);

/* ---- node-status.c ------------------------------------------------------ */

struct nd_node_state;
int nd_node_init(kube_node_agent_t *a, kube_error_t *err);
void nd_node_start(kube_node_agent_t *a);
void nd_node_stop(kube_node_agent_t *a);
void nd_node_free(kube_node_agent_t *a);
/* Something that decides readiness changed: re-check soon. */
void nd_node_poke(kube_node_agent_t *a);
/* True while the node may run pods. */
bool nd_node_ready(const kube_node_agent_t *a);
/* An event about the Node (the kubelet's nodeRef). */
void nd_node_event(kube_node_agent_t *a, const char *type, const char *reason,
                   const char *msg);

/* ---- image-gc.c: the kubelet's image garbage collection ----------------- */

/* How much to free: the kubelet's rule (usage = 100 - available * 100 /
 * capacity; at or above high, free down to low).  0: nothing to do. */
int64_t nd_image_gc_amount(uint64_t capacity, uint64_t available, int high,
                           int low);
/* Check every image_gc_period_ms; high 100: never. */
int nd_image_gc_start(kube_node_agent_t *a, kube_error_t *err);
void nd_image_gc_free(kube_node_agent_t *a);

/* ---- netpol.c: NetworkPolicy enforced on this node's pods -------------- */

/* The datapath and the informers it reads (none for an agent that reads
 * per object, or without root; a kernel without BPF logs why). */
int nd_netpol_init(kube_node_agent_t *a, kube_error_t *err);
int nd_netpol_start(kube_node_agent_t *a, kube_error_t *err);
/* Re-derive the rules shortly (a pod got its network). */
void nd_netpol_poke(kube_node_agent_t *a);
/* A pod's sandbox is ready and its containers are about to start: when
 * its address is new, program it now (its veth, its isolation). */
void nd_netpol_pod_ready(kube_node_agent_t *a, const struct nd_pod *p);
/* Detach from every veth, free the maps. */
void nd_netpol_free(kube_node_agent_t *a);

/* ---- static.c: static pods and their mirror pods ----------------------- */

/* Read the manifest directory (and keep reading it); none configured: 0. */
int nd_static_start(kube_node_agent_t *a, kube_error_t *err);
void nd_static_free(kube_node_agent_t *a);
/* A mirror pod (the annotation) changed in the API. */
void nd_static_mirror_changed(kube_node_agent_t *a);
/* The static pod's current mirror pod (borrowed), or NULL. */
const kube_object_t *nd_static_mirror(kube_node_agent_t *a,
                                      const struct nd_pod *p);
/* The pod a manifest file (path, content) describes on node `node`:
 * named NAME-NODE, bound to it, UID and config.hash the hash of node,
 * path and content, defaulted and validated.  NULL with err (BadRequest,
 * Invalid) for what the kubelet refuses.  Owned. */
kube_object_t *nd_static_pod_parse(const char *node, const char *path,
                                   const char *data, size_t len,
                                   kube_error_t *err);

/* ---- stats.c: resource usage (the Summary API) ------------------------- */

struct nd_stats;
/* Sample now and every 10 s on a worker. */
int nd_stats_start(kube_node_agent_t *a, kube_error_t *err);
void nd_stats_stop(kube_node_agent_t *a); /* no more samples */
void nd_stats_free(kube_node_agent_t *a); /* after the workers are gone */

/* ---- fs.c --------------------------------------------------------------- */

/* Unmount everything mounted at or below path (deepest first), then
 * remove the tree.  Missing is fine. */
int nd_remove_tree(const char *path, kube_error_t *err);
/* Unmount what is mounted at or below path (deepest first). */
int nd_unmount_below(const char *path, kube_error_t *err);
/* 32 random hex digits (64 with long_id) into buf. */
void nd_random_hex(char *buf, size_t len);
/* FNV-1a of the strings (NULL-terminated list) as 8 hex digits. */
void nd_hash_hex(char out[9], const char *a, const char *b);

#endif /* KUBE_NODE_AGENT_H */
