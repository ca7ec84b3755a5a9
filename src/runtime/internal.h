/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the runtime module, shared by its files only.
 *
 * Process model: the caller (P) forks a monitor (M, own session), M clones
 * the container init (C) into new namespaces.  P and C talk over a
 * SOCK_SEQPACKET pair (`sync`): M sends C's pid, C sends READY or ERROR.
 * M moves C into the cgroups, writes uid/gid maps and then lets C go by
 * writing one byte to a pipe.  M reaps C and writes <state>/exit.
 *
 * Code that runs in M or C after the clone must not allocate: C is made
 * with the raw clone3 system call, so libc's fork handlers did not run.
 * Everything C needs is prepared by P in a struct child_plan.
 */
#ifndef KUBE_RUNTIME_INTERNAL_H
#define KUBE_RUNTIME_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include <libkube/runtime.h>

#include "core/util.h"

#include <sys/syscall.h>

/* Credentials in a child made by a raw clone3: glibc's setresuid/setgroups
 * broadcast the change to every thread glibc believes the process has
 * (__nptl_setxid), and after a raw clone of a multi-threaded caller
 * (kubed's worker threads) those threads do not exist in the child, so the
 * wrapper waits forever.  The child has one thread: the raw system calls
 * are what it needs. */
/* linux.c: every signal back to its default disposition, none blocked
 * (children of the runtime start from a clean slate). */
void rt_reset_signals(void);

static inline int rt_sys_setresuid(uid_t r, uid_t e, uid_t s) {
  return (int)syscall(SYS_setresuid, r, e, s);
}
static inline int rt_sys_setresgid(gid_t r, gid_t e, gid_t s) {
  return (int)syscall(SYS_setresgid, r, e, s);
}
static inline int rt_sys_setgroups(size_t n, const gid_t *list) {
  return (int)syscall(SYS_setgroups, n, list);
}

#define RT_DEFAULT_ROOT "/run/libkube/runtime"
#define RT_MAX_V1 16

/* ---- cgroups ------------------------------------------------------------ */

typedef enum cg_mode { CG_MODE_V1 = 0, CG_MODE_V2, CG_MODE_HYBRID } cg_mode_t;

struct cg_v1_ctrl {
  char name[32];   /* "memory", "cpu,cpuacct" */
  char mount[128]; /* "/sys/fs/cgroup/memory" */
};

struct cg_layout {
  cg_mode_t mode;
  char unified[128]; /* cgroup2 mount ("" when none) */
  size_t n_v1;
  struct cg_v1_ctrl v1[RT_MAX_V1];
};

/* A container's cgroup, opened by P before the clone. */
struct cg_handle {
  const struct cg_layout *layout;
  char path[256];          /* relative to each hierarchy root, no leading / */
  int procs_fd[RT_MAX_V1]; /* v1 <ctrl>/<path>/cgroup.procs, -1 */
  int unified_fd;          /* directory fd of the v2 cgroup, -1 */
  int unified_procs_fd;    /* v2 cgroup.procs, -1 */
};

/* The backend for one mode (crun's libcrun_cgroup_manager, much smaller). */
struct cgroup_ops {
  const char *name;
  /* mkdir the cgroup and write the limits. */
  int (*create)(struct cg_handle *h, const kube_rt_resources_t *res,
                kube_error_t *err);
  /* Remove the cgroup (the processes must be gone). */
  int (*destroy)(const struct cg_layout *l, const char *path,
                 kube_error_t *err);
  int (*stats)(const struct cg_layout *l, const char *path,
               kube_rt_stats_t *out, kube_error_t *err);
  int (*freeze)(const struct cg_layout *l, const char *path, bool frozen,
                kube_error_t *err);
  /* Path of a cgroup.procs file that lists every process (owned). */
  char *(*procs_file)(const struct cg_layout *l, const char *path);
  /* Number of OOM kills so far; -1 if unknown.  Safe in M (no malloc). */
  long (*oom_kills)(const struct cg_layout *l, const char *path);
  /* The file oom_kills reads, into buf; false if none.  Safe in M. */
  bool (*oom_file)(const struct cg_layout *l, const char *path, char *buf,
                   size_t len);
  /* Whether the cgroup is frozen. */
  bool (*frozen)(const struct cg_layout *l, const char *path);
  /* mkdir a cgroup that holds cgroups, not processes (a pod, a QoS
   * level), with limits but no device rules. */
  int (*create_parent)(const struct cg_layout *l, const char *path,
                       const kube_rt_resources_t *res, kube_error_t *err);
  /* Write the set limits of res to an existing cgroup. */
  int (*update)(const struct cg_layout *l, const char *path,
                const kube_rt_resources_t *res, kube_error_t *err);
};

extern const struct cgroup_ops rt_cgroup_ops_v1;
extern const struct cgroup_ops rt_cgroup_ops_v2;
extern const struct cgroup_ops rt_cgroup_ops_hybrid;

int rt_cg_detect(struct cg_layout *l, kube_error_t *err);
const struct cgroup_ops *rt_cg_ops_for(const struct cg_layout *l);
void rt_cg_handle_init(struct cg_handle *h, const struct cg_layout *l,
                       const char *path);
void rt_cg_handle_close(struct cg_handle *h);
int rt_cg_handle_open(struct cg_handle *h, kube_error_t *err);
/* Child-safe: write pid into every hierarchy's cgroup.procs. */
int rt_cg_handle_enter(const struct cg_handle *h, pid_t pid);
/* Helpers shared by the backends. */
/* Attach the device-access BPF program (cgroup v2). */
int rt_cg_bpf_devices_attach(int cgroup_fd, const kube_rt_resources_t *res,
                             kube_error_t *err);
int rt_cg_write(const char *dir, const char *file, const char *value,
                kube_error_t *err);
int rt_cg_write_i64(const char *dir, const char *file, int64_t v,
                    kube_error_t *err);
int rt_cg_read(const char *dir, const char *file, char *buf, size_t len);
int rt_cg_mkdir_p(const char *root, const char *path, bool copy_cpuset,
                  kube_error_t *err);
int rt_cg_rmdir_retry(const char *dir);
long rt_cg_read_key(const char *dir, const char *file, const char *key);

/* ---- capabilities -------------------------------------------------------- */

extern const char *const rt_cap_names[];
int rt_cap_last(void);

/* ---- seccomp ---------------------------------------------------------------
 */

/* Compile a profile to BPF in P: *prog_out is owned (free()), *len_out is
 * the number of struct sock_filter entries. */
int rt_seccomp_compile(const kube_seccomp_t *s, void **prog_out,
                       size_t *len_out, kube_error_t *err);
int rt_seccomp_action_parse(const char *s, kube_seccomp_action_t *out);
const char *rt_seccomp_action_name(kube_seccomp_action_t a);

/* ---- the child plan --------------------------------------------------------
 */

/* One prepared mount step for C. */
struct plan_mount {
  char target[512]; /* absolute host path under rootfs */
  char dest[256];   /* path inside the container */
  const char *source;
  const char *type;
  unsigned long flags;       /* flags for the first mount(2) */
  unsigned long propagation; /* MS_PRIVATE|MS_REC ... or 0 */
  unsigned long remount; /* extra flags for a bind remount (MS_RDONLY ...) */
  const char *data;      /* fs options ("mode=755"), borrowed from plan */
  bool is_bind;
  bool source_is_dir;
  bool is_dev;     /* tmpfs on /dev: populate it */
  bool is_cgroup;  /* type cgroup/cgroup2: the container's own cgroups */
  char label[300]; /* "mounts[2] /dev/pts" for errors */
};

struct child_plan {
  const kube_rt_config_t *cfg;
  int clone_ns_flags; /* CLONE_NEW* given to clone3 */
  int unshare_flags;  /* new namespaces made after joining a user ns */
  bool new_user;
  bool new_mount;
  bool new_cgroupns;
  bool new_uts;
  bool new_net;
  int join_fd[KUBE_NS__COUNT]; /* opened namespace files to setns, -1 */
  char root[512];
  char *mount_data;          /* NUL-separated data strings (owned) */
  struct plan_mount *mounts; /* owned */
  size_t n_mounts;
  bool has_proc_mount;
  bool dev_is_tmpfs;
  void *seccomp_prog; /* owned */
  size_t seccomp_len;
  const char *exec_path; /* resolved lazily in C; PATH from env */
  const char *path_env;  /* borrowed from cfg->env */
  int fifo_fd;           /* exec.fifo opened O_RDWR, -1 for run */
  int sync_fd;           /* C's end of sync */
  int go_fd;             /* read end of the go pipe */
  int stdio[3];          /* fds C dup2s onto 0, 1, 2 (-1: /dev/null) */
  int log_pipe[2][2];    /* stdout/stderr pipes for the monitor, -1 */
  int state_dir_fd;
  const struct cg_layout *cg_layout; /* for "cgroup" mounts */
  char cg_path[256];
  /* libkube 0.2 */
  pid_t host_pid;      /* C's pid as P sees it, sent by M with "go" */
  int console_fd;      /* C sends the pty master here (console socket), -1 */
  int console_pair[2]; /* [0] M's end, [1] C's: the pty master for M, -1 */
  bool pty_to_parent;  /* also send the master to P on the sync socket */
  int stdin_pipe[2];   /* [0] C's stdin, [1] M writes, -1 */
  bool runtime_hooks;  /* C asks P to run prestart + createRuntime */
  char *hook_state[2]; /* open state JSON for createContainer and
                          startContainer, "...\"pid\":" (owned) */
  /* for M */
  int attach_fd; /* listening attach socket, -1 */
  bool stdin_once;
  bool monitor_tty; /* M gets the master on console_pair */
  int64_t log_max_size;
  int log_max_files;
};

/* Messages on the sync socket. */
enum sync_type {
  SYNC_PID = 1,
  SYNC_READY,
  SYNC_ERROR,
  SYNC_HOOKS,  /* C -> P: run prestart and createRuntime now */
  SYNC_RESUME, /* P -> C: they ran */
  SYNC_PTY,    /* C -> P: the pty master (SCM_RIGHTS) */
};
struct sync_msg {
  int type;
  int errnum;
  pid_t pid;
  char msg[500];
};

int rt_plan_prepare(struct child_plan *p, const kube_rt_config_t *cfg,
                    kube_error_t *err);
void rt_plan_free(struct child_plan *p);
/* The body of C; never returns. */
__attribute__((noreturn)) void rt_child_main(struct child_plan *p);
/* Report an error from C (or M) on the sync socket. */
void rt_child_report(int fd, int type, int errnum, pid_t pid, const char *fmt,
                     ...) KUBE_PRINTF(5, 6);
/* Mount setup in C; returns -1 with *where and errno set. */
int rt_child_setup_rootfs(struct child_plan *p, const char **what,
                          const char **where);
int rt_child_pivot_root(struct child_plan *p, const char **what,
                        const char **where);
int rt_child_mask_paths(struct child_plan *p, const char **what,
                        const char **where);
int rt_child_set_user(const kube_rt_config_t *cfg, const char **what);
int rt_child_load_seccomp(const struct child_plan *p);
__attribute__((noreturn)) void
rt_child_exec(const struct child_plan *p, char *const *args, char *const *env);
long rt_raw_clone3(uint64_t flags, int *pidfd, int cgroup_fd);

/* ---- state directory --------------------------------------------------------
 */

struct rt_state {
  char id[256];
  pid_t pid;
  unsigned long long pid_start;
  pid_t monitor_pid;
  unsigned long long monitor_start;
  char bundle[1024];
  char cgroup_path[256];
  struct timespec created;
  struct timespec started;
  char log_path[1024];
  bool terminal, stdin_open, stdin_once, attachable;
};

int rt_state_write(int dirfd, const struct rt_state *st, kube_error_t *err);
int rt_state_read(int dirfd, struct rt_state *st, kube_error_t *err);
/* Parse <state>/exit; 0 when present, -1 (no error) when absent. */
int rt_state_read_exit(int dirfd, kube_rt_exit_t *out);
/* Format the exit record (child-safe) into buf, return its length. */
int rt_state_format_exit(char *buf, size_t len, const kube_rt_exit_t *e);
unsigned long long rt_proc_start_time(pid_t pid);
bool rt_proc_alive(pid_t pid, unsigned long long start);
int rt_rm_rf_at(int dirfd, const char *name);

/* ---- the runtime object
 * ------------------------------------------------------- */

struct kube_runtime {
  char *root;
  int root_fd;
  struct cg_layout cg;
  const struct cgroup_ops *cgops;
  pid_t *children; /* monitors forked by this handle, to reap */
  size_t n_children;
  char monitor_helper[512]; /* kube-monitor to exec in M; "": none */
  char pause_helper[512];   /* kube-pause beside it; "": none */
};

/* The monitor loop (in M): copy logs, reap C, record the exit. Never
 * returns. */
__attribute__((noreturn)) void
rt_monitor_main(struct kube_runtime *rt, struct child_plan *p,
                const struct cg_handle *cg, const char *log_path, int sync_fd);
/* What M's stdio loop works with: plain values and fds, so that the
 * kube-monitor helper can take them from its command line. -1: no fd. */
struct rt_monitor_args {
  pid_t pid;  /* C, M's child */
  int pidfd;  /* C's */
  int dirfd;  /* the container's state directory */
  const char *log_path; /* CRI log, or NULL */
  int64_t log_max_size; /* 0: 10 MiB */
  int log_max_files;    /* 0: 5 */
  int out_fd, err_fd;   /* C's stdout/stderr pipes (read ends) */
  bool tty;             /* the pty master arrives on console_in */
  int stdin_fd;         /* pipe write end (the pty master in tty mode) */
  bool stdin_once;
  int console_in;
  int listen_fd;       /* the attach socket */
  char oom_file[512];  /* memory.events / memory.oom_control, or "" */
};
/* Find the kube-monitor helper for rt (at creation, not in M). */
void rt_monitor_find_helper(struct kube_runtime *rt);
/* M's stdio loop (monitor-io.c): logs, attach clients, exit. */
__attribute__((noreturn)) void rt_monitor_loop(const struct rt_monitor_args *a);
/* Write the exit record of a wait status (monitor-lib.c, no allocation). */
void rt_exit_record(int dirfd, int status, long oom_kills, kube_rt_exit_t *out);
int rt_write_atomic(int dirfd, const char *name, const char *data, size_t len);
/* "key N" in a flat-keyed file; -1 when missing (no allocation). */
long rt_file_read_key(const char *path, const char *key);
/* Close every fd from 3 up except those in keep (no allocation). */
void rt_close_except(const int *keep, size_t n);
/* PID 1 of a shared PID namespace: reap, exit on SIGINT/SIGTERM. */
__attribute__((noreturn)) void rt_pause_loop(void);
/* The pause of a sandbox dir (sandbox-pid.c): start it in the namespaces
 * pinned there and in `cgroup` (created), binding its PID namespace on
 * <dir>/pid; stop it and remove <dir>/pid; whether it runs. */
int rt_sandbox_pause_start(kube_runtime_t *rt, const char *dir,
                           const char *cgroup, kube_error_t *err);
void rt_sandbox_pause_stop(const char *dir);
bool rt_sandbox_pause_alive(const char *dir);
long rt_monitor_spawn(struct child_plan *p, const struct cg_handle *cg,
                      int sync_fd, int *pidfd_out, const char **what);
void rt_monitor_record_exit(struct kube_runtime *rt, const char *cgpath,
                            int dirfd, int status, kube_rt_exit_t *out);
void rt_forget_child(struct kube_runtime *rt, pid_t pid);
bool rt_is_child(struct kube_runtime *rt, pid_t pid);

/* mkdir every component of path with mode; existing ones are fine.  Only
 * plain syscalls: safe in the container child.  -1 with errno. */
int rt_mkdir_p(const char *path, mode_t mode);
int rt_validate_id(const char *id, kube_error_t *err);
int rt_open_container(kube_runtime_t *rt, const char *id, kube_error_t *err);
/* Read the state of container id (open + read + close). */
int rt_load_state(kube_runtime_t *rt, const char *id, struct rt_state *st,
                  kube_error_t *err);
/* A whole small file of dirfd (owned, free()); NULL with errno. */
char *rt_read_file_at(int dirfd, const char *name);
/* The value of key in an object, NULL when absent or null (borrowed). */
struct json_object *rt_json_get(struct json_object *o, const char *key);
int rt_ns_clone_flag(kube_ns_type_t t);
int rt_plan_prepare_mounts(struct child_plan *p, const kube_rt_config_t *cfg,
                           kube_error_t *err);
int rt_state_write_exit(int dirfd, const kube_rt_exit_t *e);
kube_rt_config_t *rt_config_parse_stored(const char *json, kube_error_t *err);
char *rt_config_to_json(const kube_rt_config_t *c, bool pretty,
                        kube_error_t *err);

/* ---- spec extensions, hooks (spec-hooks.c, hooks.c) ------------------ */

struct json_object;
const char *rt_hook_name(kube_rt_hook_kind_t k);
void rt_hooks_free(kube_rt_hook_t *h, size_t n);
void rt_spec_extra_free(kube_rt_config_t *c);
int rt_spec_parse_extra(struct json_object *root, kube_rt_config_t *c,
                        kube_error_t *err);
void rt_spec_extra_json(struct json_object *root, struct json_object *process,
                        const kube_rt_config_t *c);
int rt_hooks_parse(struct json_object *hooks,
                   kube_rt_hook_t *out[KUBE_HOOK__COUNT],
                   size_t n_out[KUBE_HOOK__COUNT], kube_error_t *err);
struct json_object *rt_hooks_json(kube_rt_hook_t *const h[KUBE_HOOK__COUNT],
                                  const size_t n[KUBE_HOOK__COUNT]);
int rt_annotations_parse(struct json_object *a, char ***keys, char ***values,
                         size_t *n, kube_error_t *err);
struct json_object *rt_annotations_json(char **keys, char **values, size_t n);

int rt_hook_run(const kube_rt_hook_t *h, const char *state, pid_t pid,
                char *msg, size_t msglen);
char *rt_hook_state_json(const char *id, const char *status, pid_t pid,
                         const char *bundle, char **ann_keys, char **ann_values,
                         size_t n_ann);
int rt_hooks_run_list(const kube_rt_hook_t *hooks, size_t n,
                      kube_rt_hook_kind_t kind, const char *state,
                      kube_error_t *err);

/* What <state>/meta.json keeps: hooks and annotations. */
struct rt_meta {
  kube_rt_hook_t *hooks[KUBE_HOOK__COUNT];
  size_t n_hooks[KUBE_HOOK__COUNT];
  char **ann_keys, **ann_values;
  size_t n_ann;
};
int rt_meta_write(int dirfd, const kube_rt_config_t *c, kube_error_t *err);
int rt_meta_read(int dirfd, struct rt_meta *m);
void rt_meta_clear(struct rt_meta *m);
void rt_meta_run_hooks(int dirfd, const char *id, const char *bundle,
                       kube_rt_hook_kind_t kind, const char *status, pid_t pid);

/* ---- terminals, fd passing, sockets (tty.c) ------------------------------ */

int rt_send_fd(int sock, int fd, const void *data, size_t len);
ssize_t rt_recv_fd(int sock, void *buf, size_t len, int *fd_out);
int rt_pty_open(unsigned rows, unsigned cols, int *master_out, int *slave_out);
int rt_pty_become_tty(int slave);
int rt_tty_resize(int fd, unsigned short rows, unsigned short cols);
int rt_unix_connect(const char *path, int type, kube_error_t *err);
int rt_unix_listen_at(int dirfd, const char *name, kube_error_t *err);

/* ---- the attach protocol (monitor.c <-> attach.c) ------------------------
 * SOCK_SEQPACKET at <state>/attach; one message = one type byte + data. */
enum {
  ATT_HELLO = 'H',  /* client: u8 flags (ATT_WANT_*) */
  ATT_STDIN = 'I',  /* client: stdin bytes */
  ATT_CLOSE = 'C',  /* client: close stdin */
  ATT_RESIZE = 'R', /* client: u16 rows, u16 cols */
  ATT_REOPEN = 'O', /* client: reopen the log */
  ATT_ACK = 'A',    /* monitor: i32 errno of a request or hello (0: done) */
  ATT_OUT = '1',    /* monitor: stdout bytes */
  ATT_ERR = '2',    /* monitor: stderr bytes */
};
#define ATT_WANT_STDOUT 1u
#define ATT_WANT_STDERR 2u
#define ATT_WANT_STDIN 4u
#define ATT_MAX_DATA 32768

/* ---- cgroup helpers for pods and kills (cgroup-pod.c) -------------------- */

/* Kill every process in path and below (cgroup.kill, or freeze + kill +
 * thaw), waiting up to timeout_ms for the cgroup to be empty. */
int rt_cg_kill_all(kube_runtime_t *rt, const char *path, int timeout_ms);
/* UTC "2006-01-02T15:04:05.000000000Z" without locks (monitor-safe). */
int rt_format_utc(char *buf, size_t len, const struct timespec *ts);

#endif /* KUBE_RUNTIME_INTERNAL_H */
