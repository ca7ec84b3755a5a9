/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube container: docker-like single containers without a cluster, over
 * the node's runtime, image store and CNI plugins, but with their own
 * runtime root, cgroup parent, bridge and subnet, so the node agent never
 * sees them.  Shared by ctr-store.c (records and locks), ctr-setup.c (the
 * rootfs, network and runtime config of one start, and its teardown) and
 * cmd-container*.c (the verbs).
 *
 * Layout under DATA/containers/:
 *   <id>/container.json  the record (what run asked for, what start got)
 *   <id>/lock            flock'ed by whoever changes the container
 *   <id>/ctr.log         the CRI log the runtime's monitor writes
 *   <id>/fs/             the rootfs (overlay of the image, upper kept)
 *   <id>/ns/             pinned net/ipc/uts namespaces while running
 *   <id>/hosts, hostname, resolv.conf
 *   cni/net.d, cni/cache, cni/networks   the network's CNI state
 *   runtime/             the runtime root (unless --runtime-root)
 * A container's resources (mounts, netns, CNI attachment, cgroup, runtime
 * state) exist only while it runs: whoever sees it exit (the waiter
 * process `run`/`start` leave behind, or any later command) tears them
 * down under the lock, as podman's `container cleanup`.
 */
#ifndef KUBE_CLI_CTR_H
#define KUBE_CLI_CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libkube/image.h>
#include <libkube/runtime.h>

#include "cli.h"

/* cli_fail() for functions that return -1 on failure. */
#define ctr_fail(...) (cli_fail(__VA_ARGS__), -1)

/* Options shared by every `kube container` verb. */
struct ctr_env {
  const char *data_dir;      /* --data-dir / KUBE_DATA_DIR / default */
  const char *runtime_root;  /* --runtime-root; NULL: DATA/containers/runtime */
  const char *cgroup_parent; /* --cgroup-parent; NULL: kube-containers */
  const char *bridge;        /* --bridge; NULL: kube-ctr0 */
  const char *subnet;        /* --subnet; NULL: 10.89.0.0/16 */
  char *dir;                 /* DATA/containers (owned) */
  char *rt_root;             /* resolved runtime root (owned) */
  kube_runtime_t *rt;        /* opened on demand */
  kube_image_store_t *store; /* opened on demand */
  int create_errno;          /* why the runtime refused the last create */
};

struct ctr_port {
  char host_ip[64]; /* "" = every address */
  int host_port;
  int ctr_port;
  char proto[8]; /* "tcp", "udp" */
};

struct ctr_bind {
  char *src, *dst;
  bool ro;
};

struct ctr_rec {
  char id[65];
  char *name;
  char *image;    /* as given ("busybox") */
  char *image_id; /* sha256:... */
  char **argv;    /* the process (entrypoint + cmd merged) */
  size_t argc;
  char **env; /* "K=V", image's then -e */
  size_t n_env;
  char **entrypoint, **cmd; /* for inspect's Config */
  size_t n_entrypoint, n_cmd;
  char *cwd;
  char *user; /* as asked ("" = root) */
  char *stop_signal;
  bool tty, open_stdin, auto_remove;
  struct ctr_port *ports;
  size_t n_ports;
  struct ctr_bind *binds;
  size_t n_binds;
  char *hostname;
  char *cgroup_parent; /* the --cgroup-parent it was made with */
  struct timespec created, started, finished;
  /* "created", "running", "exited" as this record last saw it */
  char *status;
  int exit_code;
  bool oom_killed;
  char *error; /* why the last start failed */
  int restarts;
  /* network while running */
  char *ip, *gateway, *mac;
  int prefix_len;
};

/* ---- ctr-store.c ---- */

/* Fill e->dir and e->rt_root; 0, or -1 after printing the error. */
int ctr_env_init(struct ctr_env *e);
void ctr_env_clear(struct ctr_env *e);
/* The runtime / the store, opened once; NULL after printing the error. */
kube_runtime_t *ctr_runtime(struct ctr_env *e);
kube_image_store_t *ctr_store(struct ctr_env *e);

void ctr_rec_clear(struct ctr_rec *r);
/* DATA/containers/<id>/<file> into buf. */
const char *ctr_path(const struct ctr_env *e, const char *id, const char *file,
                     char *buf, size_t len);
int ctr_rec_load(const struct ctr_env *e, const char *id, struct ctr_rec *r);
int ctr_rec_save(const struct ctr_env *e, const struct ctr_rec *r);
/* The record as docker's inspect JSON object (owned string). */
char *ctr_rec_inspect_json(const struct ctr_env *e, const struct ctr_rec *r);
/* Every container id (owned array of owned strings). */
int ctr_list_ids(const struct ctr_env *e, char ***ids, size_t *n);
void ctr_strv_free(char **v, size_t n);
/* NAME, full id or a unique id prefix -> the id into id_out[65].  Prints
 * "Error: No such container: X" and returns -1 when none. */
int ctr_resolve(const struct ctr_env *e, const char *name_or_id,
                char id_out[65]);
/* Lock the container (flock, blocking); the fd, or -1. */
int ctr_lock(const struct ctr_env *e, const char *id);
/* The global lock (names, ports): the fd, or -1. */
int ctr_lock_all(const struct ctr_env *e);
void ctr_unlock(int fd);
/* A new random id (64 hex). */
void ctr_new_id(char id[65]);
bool ctr_name_taken(const struct ctr_env *e, const char *name);
/* A docker-style random name not in use ("eager_turing"). */
char *ctr_random_name(const struct ctr_env *e);
/* Parse "[IP:]HOST:CTR[/proto]" into p; -1 with a message in err. */
int ctr_port_parse(const char *s, struct ctr_port *p, char *err, size_t len);

/* ---- ctr-setup.c ---- */

/* Bring the container up: rootfs, namespaces, network, runtime config,
 * create (started at once unless `attach_first`, then the caller starts
 * it after attaching).  The record gets status "running", the network
 * and the start time.  On failure everything made is undone and the
 * error printed (one line); returns -1. */
int ctr_up(struct ctr_env *e, struct ctr_rec *r, bool attach_first);
/* docker's exit code for a failed ctr_up: 127 when the command is not
 * found, 126 when it cannot be run, else 125. */
int ctr_up_exit_code(const struct ctr_env *e);
/* Tear down what a stopped (or dying) container holds: runtime container
 * (its exit recorded into r first), CNI attachment, namespaces, rootfs
 * mount.  Idempotent; called with the container's lock held. */
void ctr_down(struct ctr_env *e, struct ctr_rec *r);
/* ctr_down, then remove the directory; the cgroup parent goes when no
 * container is left.  Lock held. */
void ctr_remove(struct ctr_env *e, struct ctr_rec *r);
/* If the record says running but the runtime says it exited, run
 * ctr_down and save.  Lock held.  Returns the runtime status. */
kube_rt_status_t ctr_refresh(struct ctr_env *e, struct ctr_rec *r);
/* Leave a process behind that waits for the container to exit and then
 * tears it down (and removes it with --rm), as conmon's exit command. */
void ctr_spawn_waiter(struct ctr_env *e, const char *id);
/* Load the record, refresh and tear down if it exited, remove it if it
 * asked for --rm: what the waiter and a foreground run do at the end. */
void ctr_finish(struct ctr_env *e, const char *id);

/* ---- cmd-container-logs.c ---- */

/* Print the container's log (tail < 0: all lines), following it while
 * the container runs when `follow`.  Exit code. */
int ctr_logs(struct ctr_env *e, const char *id, bool follow, int64_t tail,
             bool timestamps);

/* ---- cmd-container.c ---- */

int cmd_container(int argc, char **argv);
/* Completion: with nargs 0 the subcommands, else for the subcommands that
 * take NAME (as the second word) the container names.  Owned
 * NULL-terminated array of owned strings, or NULL. */
char **ctr_complete_words(const char *sub, int nargs);

#endif /* KUBE_CLI_CTR_H */
