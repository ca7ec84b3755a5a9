/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube runtime: Linux containers from an OCI runtime configuration.
 *
 * A container is described by a kube_rt_config_t, either parsed from
 * an OCI bundle (config.json + rootfs) or filled in by the caller.  A
 * kube_runtime_t is a handle on a state directory (default
 * /run/libkube/runtime); every container has a sub-directory there holding
 * its state, so containers outlive the process that made them and any other
 * runtime handle on the same directory can list, inspect, wait for, signal
 * and delete them.
 *
 * A container normally gets a small monitor process (a fork of the caller,
 * in its own session) that is the parent of the container's init, conmon's
 * role: it reaps the init and records the exit status (and OOM kills) in
 * the state directory before it exits, and when asked keeps the
 * container's stdio: stdout/stderr to a CRI log file rotated by size and
 * to attach clients, stdin from them, a terminal's pty master, resize and
 * log reopen requests (kube_runtime_attach() and friends reach it through
 * a socket in the state directory, from any process).  Two variants skip it:
 * kube_runtime_run() with exit_out (the caller waits, so it is the monitor) and
 * KUBE_RT_NO_MONITOR (runc's model: the init is left to the caller's subreaper,
 * e.g. conmon).
 *
 * cgroups: v1, v2 and hybrid (v1 controllers plus a cgroup2 mount) are
 * detected once per handle; limits go to the v1 hierarchies in v1 and
 * hybrid mode, to the unified one in v2 mode, and the cgroup is also made
 * in the unified hierarchy in hybrid mode.  The cgroup path is
 * linux.cgroupsPath relative to each hierarchy's root, "libkube/<id>" by
 * default; it is removed on delete.
 *
 * Threads: a kube_runtime_t may be used from one thread at a time; distinct
 * handles may be used concurrently.  Processes are made with fork() and
 * clone3(); the code that runs after clone3() in the new process makes only
 * system calls (no allocation), so a multi-threaded caller is safe.
 * The calls block (they wait for the container's init to be set up, a few
 * milliseconds); kube_runtime_wait_async() is the non-blocking wait.
 * Errors: every fallible function takes kube_error_t *err last; bad
 * configurations fail with KUBE_REASON_INVALID and a message that names the
 * field ("linux.resources.memory.limit: ..."), unknown containers with
 * KUBE_REASON_NOT_FOUND, duplicates with KUBE_REASON_ALREADY_EXISTS and
 * operations that do not fit the container's status with
 * KUBE_REASON_CONFLICT.
 */
#ifndef LIBKUBE_RUNTIME_H
#define LIBKUBE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Configuration (the OCI runtime spec as C structs)                         */
/* ------------------------------------------------------------------------ */

typedef enum kube_ns_type {
  KUBE_NS_PID = 0,
  KUBE_NS_NETWORK,
  KUBE_NS_MOUNT,
  KUBE_NS_IPC,
  KUBE_NS_UTS,
  KUBE_NS_USER,
  KUBE_NS_CGROUP,
  KUBE_NS__COUNT
} kube_ns_type_t;

typedef struct kube_rt_namespace {
  kube_ns_type_t type;
  char *path; /* join this namespace (e.g. "/run/netns/x"); NULL: new (owned) */
} kube_rt_namespace_t;

typedef struct kube_rt_mount {
  char *destination; /* absolute path inside the container (owned) */
  char *type;        /* "proc", "tmpfs", "bind", ...; NULL for bind (owned) */
  char *source;      /* (owned, may be NULL) */
  char **options;    /* OCI/mount(8) options: "ro", "nosuid", "rbind",
                        "rprivate", "mode=755", ... (owned) */
  size_t n_options;
} kube_rt_mount_t;

typedef struct kube_rt_id_map {
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
} kube_rt_id_map_t;

typedef struct kube_rt_rlimit {
  int resource; /* RLIMIT_NOFILE, ... */
  uint64_t soft;
  uint64_t hard;
} kube_rt_rlimit_t;

/* Seccomp actions (OCI names SCMP_ACT_*). */
typedef enum kube_seccomp_action {
  KUBE_SECCOMP_ALLOW = 0,
  KUBE_SECCOMP_ERRNO, /* fail with errno_ret (EPERM by default) */
  KUBE_SECCOMP_KILL,  /* SCMP_ACT_KILL (thread) */
  KUBE_SECCOMP_KILL_PROCESS,
  KUBE_SECCOMP_TRAP,
  KUBE_SECCOMP_LOG,
} kube_seccomp_action_t;

typedef enum kube_seccomp_op {
  KUBE_SECCOMP_OP_NE = 1,
  KUBE_SECCOMP_OP_LT,
  KUBE_SECCOMP_OP_LE,
  KUBE_SECCOMP_OP_EQ,
  KUBE_SECCOMP_OP_GE,
  KUBE_SECCOMP_OP_GT,
  KUBE_SECCOMP_OP_MASKED_EQ,
} kube_seccomp_op_t;

typedef struct kube_seccomp_arg {
  unsigned index;
  uint64_t value;
  uint64_t value_two;
  kube_seccomp_op_t op;
} kube_seccomp_arg_t;

typedef struct kube_seccomp_rule {
  char **names; /* syscall names (owned); unknown names are skipped */
  size_t n_names;
  kube_seccomp_action_t action;
  int errno_ret;            /* for KUBE_SECCOMP_ERRNO; 0 means EPERM */
  kube_seccomp_arg_t *args; /* owned */
  size_t n_args;
} kube_seccomp_rule_t;

typedef struct kube_seccomp {
  kube_seccomp_action_t default_action;
  int default_errno;          /* 0 means EPERM */
  kube_seccomp_rule_t *rules; /* owned */
  size_t n_rules;
} kube_seccomp_t;

/* One linux.resources.devices rule (device cgroup). */
typedef struct kube_rt_device_rule {
  bool allow;
  char type;      /* 'a', 'c' or 'b' */
  int64_t major;  /* -1: any */
  int64_t minor;  /* -1: any */
  char access[4]; /* subset of "rwm" */
} kube_rt_device_rule_t;

/* Resource limits; a value of -1 (or NULL) means "not set". */
typedef struct kube_rt_resources {
  int64_t memory_limit; /* bytes */
  int64_t memory_swap;  /* bytes (memory+swap), -1 unset */
  int64_t cpu_shares;   /* v1 shares (2..262144); mapped to weight on v2 */
  int64_t cpu_quota;    /* microseconds per period; -1 unset */
  int64_t cpu_period;   /* microseconds; -1 unset (100000) */
  int64_t pids_limit;   /* max tasks; -1 unset */
  char *cpuset_cpus;    /* "0-1" (owned) */
  char *cpuset_mems;    /* "0" (owned) */
  /* Device access: every container starts from "deny all" plus the
   * standard nodes (null, zero, full, random, urandom, tty, ptmx, pts);
   * these rules are applied after that, in order: a later rule wins
   * (owned).  Enforced by the devices controller on v1 and hybrid, by a
   * BPF device program on v2. */
  kube_rt_device_rule_t *device_rules;
  size_t n_device_rules;
} kube_rt_resources_t;

/* Capability sets as bit masks of CAP_* numbers (1ULL << CAP_CHOWN ...). */
typedef struct kube_rt_caps {
  uint64_t bounding, effective, inheritable, permitted, ambient;
} kube_rt_caps_t;

/* OCI hooks (config.json "hooks"), run as the runtime spec says: the
 * container's state JSON on stdin, killed after `timeout` seconds.
 * prestart and createRuntime run in the runtime's namespaces during create
 * (after the container's namespaces and mounts exist, before pivot_root);
 * createContainer in the container's namespaces at the same point (path
 * resolved on the host); startContainer in the container just before the
 * process execs (path resolved in the container); poststart after start,
 * poststop after delete (failures of these two are logged, not fatal). */
typedef enum kube_rt_hook_kind {
  KUBE_HOOK_PRESTART = 0,
  KUBE_HOOK_CREATE_RUNTIME,
  KUBE_HOOK_CREATE_CONTAINER,
  KUBE_HOOK_START_CONTAINER,
  KUBE_HOOK_POSTSTART,
  KUBE_HOOK_POSTSTOP,
  KUBE_HOOK__COUNT
} kube_rt_hook_kind_t;

typedef struct kube_rt_hook {
  char *path;  /* absolute path of the program (owned) */
  char **args; /* NULL-terminated argv incl. argv[0] (owned); NULL: {path} */
  size_t n_args;
  char **env; /* NULL-terminated "K=V" (owned); NULL: empty environment */
  size_t n_env;
  int timeout; /* seconds; 0: none */
} kube_rt_hook_t;

typedef struct kube_rt_config {
  size_t struct_size; /* sizeof(kube_rt_config_t) */

  /* root */
  char *root_path; /* absolute path of the rootfs (owned) */
  bool root_readonly;
  char *hostname; /* owned, may be NULL */

  /* process */
  char **args; /* NULL-terminated argv (owned) */
  size_t n_args;
  char **env; /* "K=V" (owned) */
  size_t n_env;
  char *cwd; /* owned; "/" when NULL */
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids; /* owned */
  size_t n_additional_gids;
  kube_rt_caps_t caps;
  bool no_new_privileges;
  kube_rt_rlimit_t *rlimits; /* owned */
  size_t n_rlimits;
  bool has_oom_score_adj;
  int oom_score_adj;

  /* linux */
  kube_rt_mount_t *mounts; /* in order (owned) */
  size_t n_mounts;
  kube_rt_namespace_t *namespaces; /* owned */
  size_t n_namespaces;
  kube_rt_id_map_t *uid_mappings, *gid_mappings; /* owned */
  size_t n_uid_mappings, n_gid_mappings;
  char **masked_paths; /* owned */
  size_t n_masked_paths;
  char **readonly_paths; /* owned */
  size_t n_readonly_paths;
  char *cgroups_path; /* "/libkube/<id>" by default (owned) */
  kube_rt_resources_t resources;
  kube_seccomp_t *seccomp; /* owned, NULL: no filter */
  char *bundle;            /* bundle directory, informational (owned) */
  /* linux.sysctl: namespaced keys only ("net.ipv4.ip_forward"), owned */
  char **sysctl_keys;
  char **sysctl_values;
  size_t n_sysctl;

  /* process.terminal: the process gets a pty as its controlling terminal
   * and stdio.  The pty master goes to io->console_socket, to
   * io->terminal_fd_out, or stays with the monitor (attach, logs). */
  bool terminal;
  unsigned console_height, console_width; /* process.consoleSize, 0: unset */
  /* hooks[kind] is an array of n_hooks[kind] (owned). */
  kube_rt_hook_t *hooks[KUBE_HOOK__COUNT];
  size_t n_hooks[KUBE_HOOK__COUNT];
  /* "annotations": kept with the container and returned by
   * kube_runtime_state() (owned; e.g. the pod uid and container name). */
  char **annotation_keys;
  char **annotation_values;
  size_t n_annotations;
} kube_rt_config_t;

/* A config with the defaults of `kube runtime spec` (Docker's defaults):
 * /bin/sh, rootfs "rootfs", pid/net/ipc/uts/mount namespaces, proc, /dev,
 * devpts, shm, mqueue, sysfs, Docker's capability list, masked and
 * read-only paths, no_new_privs, the default seccomp profile.  Owned: free
 * with kube_rt_config_free(). */
kube_rt_config_t *kube_rt_config_new_default(kube_error_t *err);
/* Parse an OCI config.json text.  Relative root.path is resolved against
 * bundle_dir (borrowed, may be NULL for the current directory).  Unknown
 * namespace types, bad mounts, bad limits fail with Invalid naming the
 * field.  Owned: free with kube_rt_config_free(). */
kube_rt_config_t *kube_rt_config_parse(const char *json, const char *bundle_dir,
                                       kube_error_t *err);
/* Read <bundle_dir>/config.json and parse it. */
kube_rt_config_t *kube_rt_config_load(const char *bundle_dir,
                                      kube_error_t *err);
/* The OCI config.json text for a config (owned, free()). */
char *kube_rt_config_to_json(const kube_rt_config_t *cfg, kube_error_t *err);
void kube_rt_config_free(kube_rt_config_t *cfg);
/* Set (replace) annotation key to value (both borrowed, copied). */
int kube_rt_config_annotate(kube_rt_config_t *cfg, const char *key,
                            const char *value, kube_error_t *err);
/* Join the namespaces pinned in sandbox_dir (see kube_runtime_sandbox_pin):
 * each pinned net/ipc/uts/user/cgroup/pid namespace replaces the config's
 * namespace of that type with a join by path, and the hostname (owned by
 * the sandbox's uts namespace) is dropped.  sandbox_dir is borrowed. */
int kube_rt_config_join_sandbox(kube_rt_config_t *cfg, const char *sandbox_dir,
                                kube_error_t *err);
/* Docker's default seccomp profile (blocks mount, reboot, kexec, bpf,
 * ptrace, keyctl, unshare, ... with EPERM).  Owned: kube_seccomp_free(). */
kube_seccomp_t *kube_seccomp_default_profile(void);
void kube_seccomp_free(kube_seccomp_t *s);
/* Docker's default capability bitmask. */
uint64_t kube_caps_default(void);
/* "CAP_CHOWN" -> 0 (also accepts "chown"); -1 when unknown. */
int kube_cap_from_name(const char *name);

/* ------------------------------------------------------------------------ */
/* Runtime and containers                                                    */
/* ------------------------------------------------------------------------ */

typedef struct kube_runtime kube_runtime_t;

typedef enum kube_rt_status {
  KUBE_RT_CREATING = 0,
  KUBE_RT_CREATED,
  KUBE_RT_RUNNING,
  KUBE_RT_PAUSED,
  KUBE_RT_STOPPED,
} kube_rt_status_t;

/* "creating", "created", "running", "paused", "stopped" (static). */
const char *kube_rt_status_string(kube_rt_status_t s);

/* How a container ended. */
typedef struct kube_rt_exit {
  int exit_code;   /* WEXITSTATUS, or 128 + signal */
  int signal;      /* terminating signal, 0 if it exited */
  bool oom_killed; /* the kernel OOM killer fired in its cgroup */
  char reason[32]; /* "Completed", "Error", "OOMKilled", "Unknown" */
  struct timespec finished_at;
} kube_rt_exit_t;

typedef struct kube_rt_state {
  char *id;     /* owned */
  char *bundle; /* owned, may be NULL */
  kube_rt_status_t status;
  pid_t pid; /* init pid in the caller's pid namespace; 0 when stopped */
  struct timespec created;
  bool exited; /* `exit` valid (status STOPPED and the exit was recorded) */
  kube_rt_exit_t exit;
  char *cgroup_path; /* owned */
  /* Since libkube 0.2 (adoption after a restart of the caller): */
  struct timespec started; /* when started (0 while created) */
  char *log_path;          /* the CRI log (owned, NULL without one) */
  bool terminal;           /* process.terminal */
  bool stdin_open;         /* created with io->open_stdin */
  bool attachable;        /* the monitor keeps the stdio: kube_runtime_attach */
  char **annotation_keys; /* the config's annotations (owned) */
  char **annotation_values;
  size_t n_annotations;
  bool stdin_once; /* created with io->stdin_once (and open_stdin) */
} kube_rt_state_t;

void kube_rt_state_clear(kube_rt_state_t *st);

/* Where a container's stdio goes.  Fds are borrowed (dup'ed into the
 * container); -1 means /dev/null.  When log_path is set, stdout and stderr
 * are written there instead as CRI log lines
 * ("<RFC3339Nano> stdout F <line>").
 *
 * The monitor keeps the container's stdio (conmon's job) when log_path,
 * open_stdin or attachable is set, or for a terminal without
 * console_socket / terminal_fd_out: output goes to the log (rotated by
 * size) and to every client of kube_runtime_attach(); stdin, when open,
 * comes from attach clients.  Fields after log_path are zero when unused. */
typedef struct kube_rt_io {
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  const char *log_path; /* borrowed */
  /* With cfg->terminal: connect to this AF_UNIX stream socket and send the
   * pty master over it (SCM_RIGHTS), as runc's --console-socket (borrowed).
   */
  const char *console_socket;
  /* With cfg->terminal: also receive the pty master here (owned by the
   * caller after a successful create: close it). */
  int *terminal_fd_out;
  bool open_stdin; /* stdin is a pipe the monitor feeds from attach */
  bool stdin_once; /* close stdin when the first attach with stdin ends */
  bool attachable; /* the monitor keeps stdout/stderr even without a log */
  int64_t
      log_max_size;  /* rotate the log above this size; 0: 10 MiB, <0: never */
  int log_max_files; /* files kept, the current one included; 0: 5 */
} kube_rt_io_t;

#define KUBE_RT_IO_NULL                                                        \
  { -1, -1, -1, NULL, NULL, NULL, false, false, false, 0, 0 }

/* Open a runtime on state_root (borrowed; NULL for /run/libkube/runtime),
 * creating the directory if needed.  Owned: kube_runtime_free(). */
kube_runtime_t *kube_runtime_new(const char *state_root, kube_error_t *err);
/* Release the handle.  Containers keep running; monitors of containers
 * this handle created that already exited are reaped. */
void kube_runtime_free(kube_runtime_t *rt);
/* The state directory of this runtime (borrowed, lives as long as rt).
 * <root>/<id>/state is a key=value text file with the init's "pid=". */
const char *kube_runtime_root(const kube_runtime_t *rt);
/* The cgroup mode detected: "v1", "v2" or "hybrid" (static). */
const char *kube_runtime_cgroup_mode(const kube_runtime_t *rt);

/* Create container `id`: namespaces, cgroup, rootfs and mounts are set up and
 * the init process waits before exec until kube_runtime_start().  cfg and io
 * are borrowed.  On failure nothing is left behind. */
int kube_runtime_create(kube_runtime_t *rt, const char *id,
                        const kube_rt_config_t *cfg, const kube_rt_io_t *io,
                        kube_error_t *err);
/* Flags of kube_runtime_create_ex(). */
#define KUBE_RT_START 0x1u /* exec at once (a detached run) */
/* No monitor process: the init stays the caller's child, to be reaped by
 * the caller or, once the caller exits, by its subreaper (conmon, a
 * containerd shim), as with runc and crun.  The exit status is then not
 * recorded (state reports "Unknown").  Ignored when the monitor must keep
 * the stdio (see kube_rt_io_t). */
#define KUBE_RT_NO_MONITOR 0x2u

/* kube_runtime_create() with flags (KUBE_RT_*). */
int kube_runtime_create_ex(kube_runtime_t *rt, const char *id,
                           const kube_rt_config_t *cfg, const kube_rt_io_t *io,
                           unsigned flags, kube_error_t *err);
/* Let a created container exec its process. */
int kube_runtime_start(kube_runtime_t *rt, const char *id, kube_error_t *err);
/* Create and start in one step (no wait-for-start round trip).  When
 * exit_out is not NULL, also wait for the container to exit and fill it;
 * then (unless io->log_path asks for a log copier) the calling process is
 * the container's monitor itself: the init is its child until the call
 * returns, so a SIGCHLD handler of the caller must not reap it. */
int kube_runtime_run(kube_runtime_t *rt, const char *id,
                     const kube_rt_config_t *cfg, const kube_rt_io_t *io,
                     kube_rt_exit_t *exit_out, kube_error_t *err);
/* Send sig to the init process, or with all=true to every process in the
 * container's cgroup. */
int kube_runtime_kill(kube_runtime_t *rt, const char *id, int sig, bool all,
                      kube_error_t *err);
/* Stop a running container the kubelet's way: send sig (0: SIGTERM, or the
 * image's STOPSIGNAL the caller passes) to the init, wait up to grace_ms
 * for it to exit, then SIGKILL everything in its cgroup and wait for the
 * exit to be recorded.  *out (may be NULL) gets the exit.  A container
 * already stopped is fine.  Blocks up to grace_ms plus a few ms: call it on
 * a worker thread. */
int kube_runtime_stop(kube_runtime_t *rt, const char *id, int sig, int grace_ms,
                      kube_rt_exit_t *out, kube_error_t *err);
/* Remove a stopped (or, with force, any) container: kills it if needed,
 * removes its cgroup and state. */
int kube_runtime_delete(kube_runtime_t *rt, const char *id, bool force,
                        kube_error_t *err);
/* Fill *out (cleared with kube_rt_state_clear()). */
int kube_runtime_state(kube_runtime_t *rt, const char *id, kube_rt_state_t *out,
                       kube_error_t *err);
/* The container ids (owned NULL-terminated array; free each and the array). */
int kube_runtime_list(kube_runtime_t *rt, char ***ids_out, size_t *n_out,
                      kube_error_t *err);
/* Block until the container exits (timeout_ms < 0: forever) and fill *out.
 * Works for containers other processes created.  Timeout: KUBE_REASON_TIMEOUT.
 */
int kube_runtime_wait(kube_runtime_t *rt, const char *id, int timeout_ms,
                      kube_rt_exit_t *out, kube_error_t *err);

/* Called once on the loop thread when the container exits; `exit` is
 * borrowed for the call; `id` is borrowed. */
typedef void (*kube_rt_exit_cb)(const char *id, const kube_rt_exit_t *exit,
                                void *userdata);
/* Watch for the exit on `loop` through a pidfd (no thread, no polling).
 * The watch frees itself after the callback. */
int kube_runtime_wait_async(kube_runtime_t *rt, const char *id,
                            kube_loop_t *loop, kube_rt_exit_cb cb,
                            void *userdata, kube_error_t *err);

/* Resource usage read from the container's cgroup. */
typedef struct kube_rt_stats {
  uint64_t cpu_usage_ns;
  uint64_t memory_usage_bytes;
  uint64_t memory_limit_bytes; /* 0 if unlimited */
  uint64_t pids_current;
  uint64_t oom_kills;
  /* usage minus inactive file pages (what the kubelet and cAdvisor call
   * the working set, and evict on) */
  uint64_t memory_working_set_bytes;
  struct timespec timestamp; /* CLOCK_REALTIME when read */
  /* anonymous and swap cache memory (v1 total_rss, v2 anon) */
  uint64_t memory_rss_bytes;
} kube_rt_stats_t;

int kube_runtime_stats(kube_runtime_t *rt, const char *id, kube_rt_stats_t *out,
                       kube_error_t *err);

/* Freeze / thaw every process of the container (freezer cgroup). */
int kube_runtime_pause(kube_runtime_t *rt, const char *id, kube_error_t *err);
int kube_runtime_resume(kube_runtime_t *rt, const char *id, kube_error_t *err);

/* A process to run inside a running container. */
typedef struct kube_exec_options {
  size_t struct_size;
  char **args;     /* NULL-terminated (borrowed) */
  char **env;      /* NULL-terminated, NULL: the container's env (borrowed) */
  const char *cwd; /* NULL: the container's cwd */
  bool set_user;   /* use uid/gid below instead of the container's user */
  uid_t uid;
  gid_t gid;
  kube_rt_io_t io; /* only the three fds are used */
  /* A pty as the process's controlling terminal and stdio (io fds are then
   * ignored); its master goes to console_socket (runc's protocol) and/or
   * *terminal_fd_out (owned by the caller: close it).  One is required. */
  bool terminal;
  unsigned short rows, cols;  /* initial window size; 0: leave */
  const char *console_socket; /* borrowed */
  int *terminal_fd_out;
} kube_exec_options_t;

/* Run a process in the container's namespaces, cgroup, capabilities and
 * seccomp filter.  With opts->terminal, pass pid_out and no exit_out, keep
 * the master read while the process runs, and reap the relay.  The process is
 * run through a small relay that is the caller's child (the exec'd process
 * itself lives in the container's pid namespace); the relay forwards nothing
 * but exits as the process exits (128 + signal when killed).  With exit_out,
 * wait and fill it; otherwise return at once with the relay's pid in *pid_out:
 * the caller reaps it with waitpid(). */
int kube_runtime_exec(kube_runtime_t *rt, const char *id,
                      const kube_exec_options_t *opts, pid_t *pid_out,
                      kube_rt_exit_t *exit_out, kube_error_t *err);

/* Set a terminal's window size (TIOCSWINSZ on a pty master, e.g. the one
 * an exec with a terminal returned). */
int kube_rt_terminal_resize(int pty_master, unsigned short rows,
                            unsigned short cols, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Attach: the stdio the monitor keeps (see kube_rt_io_t)             */
/* ------------------------------------------------------------------------ */

/* An attach session: a connection to the container's monitor, so it works
 * from any process, also after the one that created the container exited.
 * Output is what the container writes from the moment of attaching. */
typedef struct kube_rt_attach kube_rt_attach_t;

typedef struct kube_attach_options {
  size_t struct_size;
  bool stdin;  /* send stdin (the container must have been made open_stdin) */
  bool stdout; /* receive stdout (in terminal mode: the terminal's output) */
  bool stderr; /* receive stderr (nothing in terminal mode) */
} kube_attach_options_t;

#define KUBE_RT_STDOUT 1
#define KUBE_RT_STDERR 2

/* Attach to a running container.  Fails with Conflict when the container is
 * not running or its stdio is not kept by a monitor.  *out is owned: free
 * with kube_rt_attach_free(). */
int kube_runtime_attach(kube_runtime_t *rt, const char *id,
                        const kube_attach_options_t *opts,
                        kube_rt_attach_t **out, kube_error_t *err);
/* The connection's fd, to poll for POLLIN on a loop (borrowed). */
int kube_rt_attach_fd(const kube_rt_attach_t *a);
/* Whether the container has a terminal (output is all KUBE_RT_STDOUT). */
bool kube_rt_attach_terminal(const kube_rt_attach_t *a);
/* Read output into buf: the number of bytes and *stream (KUBE_RT_STDOUT or
 * KUBE_RT_STDERR); 0 once the container exited and all its output was
 * delivered; -1 on error, or with KUBE_REASON_TIMEOUT when nothing came in
 * timeout_ms (0: do not wait, < 0: wait forever). */
ssize_t kube_rt_attach_read(kube_rt_attach_t *a, int *stream, void *buf,
                            size_t len, int timeout_ms, kube_error_t *err);
/* Send stdin bytes (blocks while the container does not read them). */
int kube_rt_attach_write(kube_rt_attach_t *a, const void *buf, size_t len,
                         kube_error_t *err);
/* Close the container's stdin (in terminal mode: send EOF, ^D). */
int kube_rt_attach_close_stdin(kube_rt_attach_t *a, kube_error_t *err);
/* Resize the container's terminal. */
int kube_rt_attach_resize(kube_rt_attach_t *a, unsigned short rows,
                          unsigned short cols, kube_error_t *err);
void kube_rt_attach_free(kube_rt_attach_t *a);

/* One-shot requests to the monitor (they wait for it to act): resize the
 * terminal; close stdin; reopen the log file at its path (after the caller
 * renamed it, as the kubelet's ReopenContainerLog: no line is lost). */
int kube_runtime_resize(kube_runtime_t *rt, const char *id, unsigned short rows,
                        unsigned short cols, kube_error_t *err);
int kube_runtime_close_stdin(kube_runtime_t *rt, const char *id,
                             kube_error_t *err);
int kube_runtime_reopen_log(kube_runtime_t *rt, const char *id,
                            kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Pod sandboxes: pinned namespaces (CRI-O's pinns, no infra process)       */
/* ------------------------------------------------------------------------ */

typedef struct kube_sandbox_options {
  size_t struct_size;
  /* Bit mask of (1u << KUBE_NS_NETWORK | ...): net, ipc, uts and optionally
   * user and cgroup; 0 means net|ipc|uts. */
  unsigned namespaces;
  const char *hostname; /* set in the new uts namespace (borrowed) */
  /* Namespaced sysctls set inside ("net.ipv4.ip_unprivileged_port_start",
   * "kernel.shmmax", ...), borrowed arrays of n_sysctl strings. */
  char **sysctl_keys;
  char **sysctl_values;
  size_t n_sysctl;
  /* With a user namespace (borrowed). */
  const kube_rt_id_map_t *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  /* With a PID namespace (a pod's shareProcessNamespace): the cgroup,
   * relative like a pod cgroup and created, of its pause process (borrowed;
   * required then). */
  const char *pause_cgroup;
} kube_sandbox_options_t;

/* Make the namespaces and bind-mount them on <dir>/net, <dir>/ipc,
 * <dir>/uts (<dir>/user, <dir>/cgroup), creating dir.  The loopback
 * interface is brought up.  <dir>/net is the path to give CNI plugins and
 * containers (kube_rt_config_join_sandbox).  No process stays
 * behind, except with a PID namespace: its PID 1 is a pause process (the
 * kube-pause helper) in the other namespaces and opts->pause_cgroup, no
 * child of the caller, that reaps the namespace's orphans; <dir>/pid is the
 * namespace.  Unpinning kills it.  On failure nothing is left pinned. */
int kube_runtime_sandbox_pin(kube_runtime_t *rt, const char *dir,
                             const kube_sandbox_options_t *opts,
                             kube_error_t *err);
/* Unmount and remove every pinned namespace in dir, then dir itself when
 * empty.  Idempotent: a missing dir is fine. */
int kube_runtime_sandbox_unpin(kube_runtime_t *rt, const char *dir,
                               kube_error_t *err);
/* Bit mask of the namespaces pinned in dir (0 when none). */
unsigned kube_runtime_sandbox_pinned(const char *dir);
/* Whether the pause process of dir's PID namespace still runs (a PID
 * namespace whose PID 1 died takes no new process). */
bool kube_runtime_sandbox_pause_alive(const char *dir);
/* "net", "ipc", "uts", "user", "cgroup", "pid", "mnt": the file name of a
 * namespace in a sandbox dir and in /proc/<pid>/ns (static). */
const char *kube_ns_file_name(kube_ns_type_t t);

/* ------------------------------------------------------------------------ */
/* Pod cgroups                                                              */
/* ------------------------------------------------------------------------ */

typedef enum kube_qos_class {
  KUBE_QOS_GUARANTEED = 0,
  KUBE_QOS_BURSTABLE,
  KUBE_QOS_BESTEFFORT,
} kube_qos_class_t;

/* The kubelet's layout: "<parent>/pod<uid>" for guaranteed pods,
 * "<parent>/burstable/pod<uid>", "<parent>/besteffort/pod<uid>".  Owned
 * (free()); NULL on a bad uid or parent. */
char *kube_pod_cgroup_path(const char *parent, kube_qos_class_t qos,
                           const char *pod_uid);
/* Create the cgroup `path` (relative to each hierarchy's root, in every
 * hierarchy of the mode) with the limits in res (borrowed; -1 fields are
 * left alone).  Missing ancestors are made; a "besteffort" level gets the
 * minimum CPU weight, as the kubelet's.  Containers go below it:
 * cfg->cgroups_path = "<path>/<container id>".  Existing: limits updated. */
int kube_runtime_pod_cgroup_create(kube_runtime_t *rt, const char *path,
                                   const kube_rt_resources_t *res,
                                   kube_error_t *err);
/* Write new limits (set fields only) to an existing cgroup. */
int kube_runtime_pod_cgroup_update(kube_runtime_t *rt, const char *path,
                                   const kube_rt_resources_t *res,
                                   kube_error_t *err);
/* Kill every process left in the cgroup and below it (cgroup.kill, or
 * freeze + SIGKILL + thaw on v1), then remove it and its sub-cgroups,
 * retrying until they are empty or timeout_ms (< 0: 10 s) passed.  A
 * missing cgroup is fine. */
int kube_runtime_pod_cgroup_remove(kube_runtime_t *rt, const char *path,
                                   int timeout_ms, kube_error_t *err);
/* Usage of a cgroup and everything below it (a pod, a QoS level). */
int kube_runtime_pod_cgroup_stats(kube_runtime_t *rt, const char *path,
                                  kube_rt_stats_t *out, kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_RUNTIME_H */
